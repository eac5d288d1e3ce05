# cmkv -- a plain Makefile. Override CC, CFLAGS, PREFIX, DESTDIR as usual.

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
WERROR  ?=
CFLAGS  ?= -O2 -g
PKGS     = libmicrohttpd libcurl openssl
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wformat=2 $(WERROR)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Iinclude -Ibuild $(WARN) $(CFLAGS) \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -pthread -MMD -MP
LIBS     = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lgdbm -pthread

# Keep these lists alphabetical.
COMMON_SRC = src/log.c
INDEX_SRC  = src/delete.c src/http.c src/index_main.c src/key.c src/locks.c \
             src/opts.c src/pending.c src/placement.c src/put.c src/record.c src/store.c \
             src/stream.c src/volclient.c src/workers.c
VOLUME_SRC = src/nginxconf.c src/supervise.c src/volume_main.c
UNIT_TESTS = tests/unit/test_key tests/unit/test_opts tests/unit/test_placement \
             tests/unit/test_record

INDEX_OBJ  = $(patsubst src/%.c,build/%.o,$(COMMON_SRC) $(INDEX_SRC))
VOLUME_OBJ = $(patsubst src/%.c,build/%.o,$(COMMON_SRC) $(VOLUME_SRC)) \
             build/nginx_template.o
LIB_OBJ    = $(filter-out build/index_main.o,$(INDEX_OBJ))
UNIT_BIN   = $(patsubst tests/unit/%,build/tests/%,$(UNIT_TESTS))

.PHONY: all bench clean deps run test install uninstall

all: bin/mkv-index bin/mkv-volume

bin/mkv-index: $(INDEX_OBJ)
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

bin/mkv-volume: $(VOLUME_OBJ)
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

build/%.o: src/%.c
	@mkdir -p build
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The nginx template is compiled into mkv-volume as a C string, so the
# binary needs no data file at run time (MKV_VOLUME_TEMPLATE overrides it).
build/nginx_template.c: conf/nginx-volume.conf.in scripts/embed.sh
	@mkdir -p build
	sh scripts/embed.sh nginx_template $< > $@

build/nginx_template.o: build/nginx_template.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/tests/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p build/tests
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_OBJ) $(LIBS) -lcmocka

deps:
	@sh scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/cluster.sh

# Unit tests (cmocka), then integration tests against real nginx volumes
# and the real index; ends with "N passed, N failed".
test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@sh tests/run.sh $(UNIT_BIN)

# Speed and memory, as ratios to references measured in the same run.
bench: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/bench.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 bin/mkv-index bin/mkv-volume $(DESTDIR)$(PREFIX)/bin/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mkv-index $(DESTDIR)$(PREFIX)/bin/mkv-volume

clean:
	rm -rf bin build

-include $(wildcard build/*.d build/tests/*.d)
