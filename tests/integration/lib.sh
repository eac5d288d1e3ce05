# lib.sh -- shared by the integration tests: start real volumes (nginx via
# bin/mkv-volume) and the real bin/mkv-index on free loopback ports, check
# answers, count results, and stop everything on exit. Source it from bash.

PASS=0
FAIL=0
SKIP=0
PIDS=""
# WORK: where the daemons' data and logs go, removed on exit
# (LIB_WORK_TEMPLATE: another mktemp template; scripts/bench.sh's).
WORK=$(mktemp -d "${LIB_WORK_TEMPLATE:-/tmp/cmkv-test.XXXXXX}")
PY=/usr/bin/python3
# BIN: where mkv-index and mkv-volume are (a sanitizer build may differ).
BIN=${MKV_BIN:-bin}

# stop_all -- SIGTERM every daemon started here and wait for each, up to
# 10 s (a sanitizer's or valgrind's leak check at exit takes a while, and
# a kill -9 would lose its report); then kill -9 whatever is left.
stop_all() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for p in $PIDS; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$p" 2>/dev/null
    done
    PIDS=""
}

cleanup() {
    stop_all
    rm -rf "$WORK"
}
trap cleanup EXIT

# ok NAME -- record a pass; bad NAME DETAIL -- record a failure.
ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "not ok - $1${2:+ ($2)}"; }
# skip WHY -- record a check that cannot run here, and say why.
skip() { SKIP=$((SKIP + 1)); echo "skipped: $1"; }

# expect NAME WANT GOT -- pass when the two strings are equal.
expect() {
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "want '$2', got '$3'"; fi
}

# free_port -- a TCP port nothing listens on right now.
free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http URL -- until URL answers anything (bounded: 5 s).
wait_http() {
    for _ in $(seq 50); do
        curl -s -o /dev/null --max-time 1 "$1" && return 0
        sleep 0.1
    done
    return 1
}

# start_volume DIR [PORT] -- start bin/mkv-volume on PORT (default: a
# free port); sets VPORT and VPID, logs to DIR.log.
start_volume() {
    VPORT=${2:-$(free_port)}
    "$BIN"/mkv-volume "$VPORT" "$1" >"$1.log" 2>&1 &
    VPID=$!
    PIDS="$PIDS $VPID"
    wait_http "http://127.0.0.1:$VPORT/" || { echo "volume on $VPORT did not start:"; cat "$1.log"; return 1; }
}

# start_index INDEXFILE VOLUME... -- start bin/mkv-index on a free port;
# sets IPORT, IPID and URL, logs to INDEXFILE.log. MKV_INDEX_WRAPPER, if
# set, is a command line the index runs under (say valgrind ...); it must
# exec the index in its own process so that IPID gets the signals.
start_index() {
    local db=$1
    shift
    IPORT=${IPORT_WANT:-$(free_port)}
    # shellcheck disable=SC2086
    ${MKV_INDEX_WRAPPER:-} "$BIN"/mkv-index -v --port "$IPORT" --index "$db" "$@" >>"$db.log" 2>&1 &
    IPID=$!
    PIDS="$PIDS $IPID"
    URL="http://localhost:$IPORT"
    wait_http "$URL/" || { echo "index on $IPORT did not start:"; cat "$db.log"; return 1; }
}

# stop PID -- SIGTERM and wait for it to exit (bounded: 10 s); sets
# STOPPED to its exit status. (Not for $(...): a subshell cannot wait.)
stop() {
    kill "$1" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    wait "$1" 2>/dev/null
    STOPPED=$?
}

# code ARGS... -- the HTTP status curl gets for ARGS.
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$@"; }

# vpath KEY -- pymkv's on-volume path for a key (independent of the C
# code: Python's hashlib and base64).
vpath() {
    $PY -c 'import sys,hashlib,base64; k=sys.argv[1].encode(); d=hashlib.md5(k).digest(); print("/%02x/%02x/%s"%(d[0],d[1],base64.b64encode(k).decode()))' "$1"
}

# finish -- stop the daemons, count a failure for each of their logs
# (WORK/*.log, WORK/*.err) holding a sanitizer report -- ASan, LeakSanitizer
# at exit, UBSan -- and print the summary line.
# race_puts KEY SIZE -- six PUTs of one SIZE-byte random value to KEY at
# once; sets RACE_201 and RACE_409 to how many got each, and leaves the
# value in $WORK/race.
race_puts() {
    local i racers=""
    head -c "$2" /dev/urandom > "$WORK/race"
    for i in 1 2 3 4 5 6; do
        code -X PUT -T "$WORK/race" "$URL$1" > "$WORK/race.$i" &
        racers="$racers $!"
    done
    # shellcheck disable=SC2086
    wait $racers
    RACE_201=$(for i in 1 2 3 4 5 6; do cat "$WORK/race.$i"; echo; done | grep -c '^201$')
    RACE_409=$(for i in 1 2 3 4 5 6; do cat "$WORK/race.$i"; echo; done | grep -c '^409$')
}

finish() {
    local f
    stop_all
    for f in "$WORK"/*.log "$WORK"/*.err; do
        [ -f "$f" ] || continue
        grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" || continue
        bad "no sanitizer report in ${f##*/}"
        grep -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" | head -n 40 | sed 's/^/#   /'
    done
    if [ "$SKIP" -gt 0 ]; then
        echo "$PASS passed, $FAIL failed, $SKIP skipped"
    else
        echo "$PASS passed, $FAIL failed"
    fi
    [ "$FAIL" -eq 0 ]
}

# placed KEY REPLICAS SUBVOLUMES VOLUME... -- the volumes (with /svXX)
# that hold KEY, best first, computed independently with Python.
placed() {
    $PY - "$@" <<'PYEOF'
import hashlib, sys
key, n, sv, vols = sys.argv[1].encode(), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
scored = sorted(((hashlib.md5(v.encode() + key).digest(), i, v) for i, v in enumerate(vols)),
                key=lambda t: (bytes(255 - b for b in t[0]), t[1]))
out = []
for s, _, v in scored[:n]:
    out.append(v if sv == 1 else "%s/sv%02X" % (v, int.from_bytes(s[12:16], "big") % sv))
print(" ".join(out))
PYEOF
}

# vname [--nested] KEY -- the on-volume path a new write of KEY uses
# (the flat form), or with --nested the nested form pymkv wrote (pymkv's
# path, with empty segments as "-" and long ones cut at 254 + "-").
vname() {
    $PY tests/integration/vname.py "$@"
}

# agreement NAME INDEX ACKED VOLUME=DIR... -- the agreement check
# (agree.py): every live record's replicas hold the value that got 201,
# every acknowledged key is there (or gone, for a 204), and every file on
# a volume is named by a live or unlinked record. The index must not be
# held by a running server.
agreement() {
    local name=$1
    shift
    if $PY tests/integration/agree.py "$@" >"$WORK/agree.out" 2>&1; then
        ok "$name ($(tail -n 1 "$WORK/agree.out"))"
    else
        bad "$name" "$(head -n 5 "$WORK/agree.out" | tr '\n' ';')"
    fi
}
