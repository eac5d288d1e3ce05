# lib.sh -- shared by the integration tests: start real volumes (nginx via
# bin/mkv-volume) and the real bin/mkv-index on free loopback ports, check
# answers, count results, and stop everything on exit. Source it from bash.

PASS=0
FAIL=0
PIDS=""
WORK=$(mktemp -d /tmp/cmkv-test.XXXXXX)
PY=/usr/bin/python3
# BIN: where mkv-index and mkv-volume are (a sanitizer build may differ).
BIN=${MKV_BIN:-bin}

cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for p in $PIDS; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$p" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# ok NAME -- record a pass; bad NAME DETAIL -- record a failure.
ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "not ok - $1${2:+ ($2)}"; }

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

# start_volume DIR -- start bin/mkv-volume on a free port; sets VPORT and
# VPID, logs to DIR.log.
start_volume() {
    VPORT=$(free_port)
    "$BIN"/mkv-volume "$VPORT" "$1" >"$1.log" 2>&1 &
    VPID=$!
    PIDS="$PIDS $VPID"
    wait_http "http://127.0.0.1:$VPORT/" || { echo "volume on $VPORT did not start:"; cat "$1.log"; return 1; }
}

# start_index INDEXFILE VOLUME... -- start bin/mkv-index on a free port;
# sets IPORT, IPID and URL, logs to INDEXFILE.log.
start_index() {
    local db=$1
    shift
    IPORT=${IPORT_WANT:-$(free_port)}
    "$BIN"/mkv-index -v --port "$IPORT" --index "$db" "$@" >>"$db.log" 2>&1 &
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

finish() {
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ]
}
