# cmkv -- a plain Makefile. Override CC, CFLAGS, PREFIX, DESTDIR as usual.

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
WERROR  ?=
CFLAGS  ?= -O2 -g
# Where objects and binaries go; a sanitizer build uses other dirs.
BUILD   ?= build
BIN     ?= bin
PKGS     = libmicrohttpd libcurl openssl
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wformat=2 $(WERROR)
# Headers sit in include/, in the same folders as their sources in src/.
INC_DIRS = $(sort $(dir $(wildcard include/*/*.h include/*/*/*.h)))
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(addprefix -I,$(INC_DIRS)) -I$(BUILD) $(WARN) $(CFLAGS) \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -pthread -MMD -MP
LIBS     = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lgdbm -lleveldb -pthread

# Keep these lists alphabetical.
COMMON_SRC = src/common/buf.c src/common/log.c src/common/mkv.c \
             src/common/volspace.c
INDEX_SRC  = src/index/api/delete.c src/index/api/get.c \
             src/index/api/health.c src/index/api/list.c src/index/bio.c \
             src/index/http.c src/index/index_main.c src/index/key.c \
             src/index/loop.c src/index/metrics.c src/index/opts.c \
             src/index/query.c src/index/req.c src/index/route.c \
             src/index/s3/checksum.c src/index/s3/creds.c src/index/s3/s3.c \
             src/index/s3/s3auth.c src/index/s3/s3list.c \
             src/index/s3/s3meta.c src/index/s3/s3multi.c \
             src/index/s3/s3obj.c src/index/s3/s3xml.c src/index/s3/sigv4.c \
             src/index/server.c src/index/write/cleanup.c \
             src/index/write/copy.c src/index/write/erase.c \
             src/index/write/locks.c src/index/write/put.c \
             src/index/write/relay.c src/maint/autoindex.c src/maint/maint.c \
             src/maint/progress.c src/maint/rebalance.c src/maint/rebuild.c \
             src/maint/reconcile.c src/maint/volwalk.c src/store/gdbmdir.c src/store/gdbmfix.c \
             src/store/keylist.c src/store/record.c src/store/space.c src/store/store.c \
             src/volio/placement.c src/volio/ring.c src/volio/stream.c \
             src/volio/volclient.c
VOLUME_SRC = src/volume/conffile.c src/volume/nginxbin.c \
             src/volume/nginxconf.c src/volume/supervise.c \
             src/volume/voldir.c src/volume/volume_main.c
UNIT_TESTS = tests/unit/test_autoindex tests/unit/test_checksum \
             tests/unit/test_creds tests/unit/test_gdbmdir tests/unit/test_gdbmfix \
             tests/unit/test_key tests/unit/test_keylist \
             tests/unit/test_nginxconf tests/unit/test_opts \
             tests/unit/test_placement tests/unit/test_query \
             tests/unit/test_record tests/unit/test_req tests/unit/test_ring \
             tests/unit/test_s3xml \
             tests/unit/test_sigv4 tests/unit/test_supervise \
             tests/unit/test_volspace
# The unit tests of mkv-volume's modules, linked with those instead of the
# index's.
VOLUME_TESTS = tests/unit/test_nginxconf tests/unit/test_supervise

INDEX_OBJ  = $(patsubst src/%.c,$(BUILD)/%.o,$(COMMON_SRC) $(INDEX_SRC))
VOLUME_OBJ = $(patsubst src/%.c,$(BUILD)/%.o,$(COMMON_SRC) $(VOLUME_SRC)) \
             $(BUILD)/nginx_template.o
LIB_OBJ    = $(filter-out $(BUILD)/index/index_main.o,$(INDEX_OBJ))
VOLUME_LIB_OBJ = $(filter-out $(BUILD)/volume/volume_main.o,$(VOLUME_OBJ))
UNIT_BIN   = $(patsubst tests/unit/%,$(BUILD)/tests/%,$(UNIT_TESTS))

# `make test` runs everything twice: as built, then built with ASan and
# UBSan into build-asan/ and bin-asan/.
ASAN_CFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN_UNIT   = $(patsubst tests/unit/%,build-asan/tests/%,$(UNIT_TESTS))

# Every tests/fuzz/fuzz_NAME.c is a libFuzzer target, linked with the
# index's objects (main excepted); seeds in tests/fuzz/corpus/fuzz_NAME/.
FUZZ_CC     = clang
FUZZ_CFLAGS = -O1 -g -fno-omit-frame-pointer \
              -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_RUNS  ?= 1000000
FUZZ_SRC    = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN    = $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

.PHONY: all asan bench check-valgrind clean deps fuzz fuzz-bin run test install uninstall

all: $(BIN)/mkv-index $(BIN)/mkv-volume

$(BIN)/mkv-index: $(INDEX_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(BIN)/mkv-volume: $(VOLUME_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The nginx template is compiled into mkv-volume as a C string, so the
# binary needs no data file at run time (MKV_VOLUME_TEMPLATE overrides it).
$(BUILD)/nginx_template.c: conf/nginx-volume.conf.in scripts/embed.sh
	@mkdir -p $(BUILD)
	sh scripts/embed.sh nginx_template $< > $@

$(BUILD)/nginx_template.o: $(BUILD)/nginx_template.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_OBJ) $(LIBS) -lcmocka

$(patsubst tests/unit/%,$(BUILD)/tests/%,$(VOLUME_TESTS)): $(BUILD)/tests/%: \
    tests/unit/%.c $(VOLUME_LIB_OBJ)
	@mkdir -p $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -o $@ $< $(VOLUME_LIB_OBJ) $(LIBS) -lcmocka

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_OBJ)
	@mkdir -p $(BUILD)/fuzz
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB_OBJ) $(LIBS)

# The load generator test_load.sh and scripts/bench.sh drive the index with
# (make test and make bench build it).
$(BUILD)/thrasher: tests/bench/thrasher.c
	@mkdir -p $(BUILD)
	$(CC) -O2 -Wall -Wextra -o $@ $< $(shell pkg-config --cflags --libs libcurl) -pthread

# Writes big index files fast, for test_listing.sh and scripts/bench.sh.
$(BUILD)/mkindex: tests/bench/mkindex.c
	@mkdir -p $(BUILD)
	$(CC) -O2 -Wall -Wextra -o $@ $< -lgdbm

deps:
	@sh scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/cluster.sh

# The include-cycle check, unit tests (cmocka), then integration tests
# against real nginx volumes and the real index; ends with "N passed, N failed".
test: deps
	@python3 scripts/check-includes.py
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(BUILD)/thrasher $(BUILD)/mkindex
	@$(MAKE) --no-print-directory asan
	@sh tests/run.sh $(UNIT_BIN) --asan bin-asan $(ASAN_UNIT)

# Both daemons and the unit tests with AddressSanitizer and UBSan.
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan BIN=bin-asan \
	    CFLAGS="$(ASAN_CFLAGS)" all $(ASAN_UNIT)

# The integration tests with every mkv-index under valgrind's memcheck
# (too slow for `make test`).
check-valgrind: deps
	@sh scripts/deps.sh valgrind
	@$(MAKE) --no-print-directory all
	@sh tests/run.sh --valgrind

# Each libFuzzer target for FUZZ_RUNS executions (clang; installs it).
fuzz:
	@sh scripts/deps-fuzz.sh
	@$(MAKE) --no-print-directory BUILD=build-fuzz BIN=build-fuzz/bin \
	    CC=$(FUZZ_CC) CFLAGS="$(FUZZ_CFLAGS)" fuzz-bin
	@sh scripts/fuzz.sh $(FUZZ_RUNS) $(patsubst tests/fuzz/%.c,build-fuzz/fuzz/%,$(FUZZ_SRC))

fuzz-bin: $(FUZZ_BIN)

# Speed and memory, as ratios to references measured in the same run.
bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/thrasher $(BUILD)/mkindex
	@bash scripts/bench.sh
	@bash scripts/bench-scale.sh

# Installed: the binaries, the nginx template (for reference and as a base
# for MKV_VOLUME_TEMPLATE; mkv-volume has its own copy compiled in), the
# man pages uncompressed (man reads them so; packagers compress), and the
# systemd units with @BINDIR@ set. `make uninstall` removes exactly these.
INST_BIN  = $(DESTDIR)$(PREFIX)/bin
INST_DATA = $(DESTDIR)$(PREFIX)/share/cmkv
INST_MAN1 = $(DESTDIR)$(PREFIX)/share/man/man1
INST_UNIT = $(DESTDIR)$(PREFIX)/lib/systemd/system
MAN1      = mkv-index.1 mkv-volume.1
UNITS     = mkv-index.service mkv-volume@.service

install: all
	install -d "$(INST_BIN)" "$(INST_DATA)" "$(INST_MAN1)" "$(INST_UNIT)"
	install -m 0755 $(BIN)/mkv-index $(BIN)/mkv-volume "$(INST_BIN)/"
	install -m 0644 conf/nginx-volume.conf.in "$(INST_DATA)/"
	install -m 0644 $(addprefix conf/,$(MAN1)) "$(INST_MAN1)/"
	for u in $(UNITS); do \
	    sed 's|@BINDIR@|$(PREFIX)/bin|g' "conf/$$u" > "$(INST_UNIT)/$$u" && \
	    chmod 0644 "$(INST_UNIT)/$$u" || exit 1; \
	done

uninstall:
	rm -f "$(INST_BIN)/mkv-index" "$(INST_BIN)/mkv-volume"
	rm -f "$(INST_DATA)/nginx-volume.conf.in"
	rmdir "$(INST_DATA)" 2>/dev/null || true
	for f in $(MAN1); do rm -f "$(INST_MAN1)/$$f"; done
	for u in $(UNITS); do rm -f "$(INST_UNIT)/$$u"; done

clean:
	rm -rf bin bin-asan build build-asan build-fuzz

-include $(INDEX_OBJ:.o=.d) $(VOLUME_OBJ:.o=.d) $(wildcard $(BUILD)/fuzz/*.d $(BUILD)/tests/*.d)
