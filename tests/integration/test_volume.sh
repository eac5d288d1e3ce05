#!/usr/bin/env bash
# test_volume.sh -- start a real mkv-volume (nginx) on a free port and check it over HTTP.
#
# Run from the repository root after `make bin/mkv-volume`. Covers PUT, GET,
# JSON listing and DELETE, restart after kill -9 of the nginx master, a busy
# port, an unusable PATH, and a clean SIGTERM shutdown. Prints one
# "ok - NAME" / "not ok - NAME" line per check and "N passed, N failed".
set -u

BIN=${MKV_VOLUME_BIN:-bin/mkv-volume} # override to test another build
PY=/usr/bin/python3
pass=0
fail=0
launchers=() # pids of every mkv-volume started here
masters=()   # pids of every nginx master seen, for cleanup

ok() { pass=$((pass + 1)); echo "ok - $1"; }
notok() { fail=$((fail + 1)); echo "not ok - $1${2:+ ($2)}"; }
# check NAME CONDITION... -- ok if the command succeeds.
check() { local name=$1; shift; if "$@"; then ok "$name"; else notok "$name"; fi; }

if [ ! -x "$BIN" ]; then
    echo "not ok - $BIN exists (run make bin/mkv-volume first)"
    echo "0 passed, 1 failed"
    exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/mkv-test-volume.XXXXXX")
mkdir -p "$T/tmp"
VOL=$T/vol
LOG=$T/launcher.log

cleanup() {
    local p
    for p in "${launchers[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for _ in $(seq 1 30); do
        local alive=0
        for p in "${launchers[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for p in "${launchers[@]}"; do kill -KILL "$p" 2>/dev/null; done
    # A launcher gone before its nginx: kill the groups we know of.
    for p in "${masters[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# code METHOD URL [curl args...] -- print the HTTP status (000 if none).
code() {
    local m=$1 u=$2; shift 2
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X "$m" "$@" "$u"
}

# wait_up URL SECONDS -- poll until URL answers at all; 0 if it did.
wait_up() {
    local end=$((SECONDS + $2))
    while [ "$SECONDS" -le "$end" ]; do
        [ "$(code GET "$1")" != 000 ] && return 0
        sleep 0.05
    done
    return 1
}

# master_of LAUNCHER -- pid of the nginx master that is LAUNCHER's child.
master_of() { pgrep -P "$1" -x nginx | head -n 1; }

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
TMPDIR="$T/tmp" "$BIN" "$PORT" "$VOL" 2>"$LOG" &
LPID=$!
launchers+=("$LPID")

if wait_up "$URL/" 5; then ok "volume answers on port $PORT"; else
    notok "volume answers on port $PORT"
    sed 's/^/# /' "$LOG"
fi
M1=$(master_of "$LPID")
[ -n "$M1" ] && masters+=("$M1")
check "nginx master runs as the launcher's child" test -n "$M1"

head -c 70000 /dev/urandom >"$T/blob"
check "PUT a new key answers 201" \
    test "$(code PUT "$URL/ab/cd/Zm9v" --data-binary @"$T/blob")" = 201
curl -s --max-time 2 -o "$T/got" "$URL/ab/cd/Zm9v"
check "GET returns the identical bytes" cmp -s "$T/blob" "$T/got"
curl -s --max-time 2 -o "$T/list" "$URL/ab/cd/"
check "GET of the directory lists the key as JSON" "$PY" -c '
import json, sys
entries = json.load(open(sys.argv[1]))
sys.exit(0 if any(e.get("name") == "Zm9v" for e in entries) else 1)' "$T/list"
check "listing of the volume root hides .nginx" "$PY" -c '
import json, sys, urllib.request
entries = json.load(urllib.request.urlopen(sys.argv[1] + "/", timeout=2))
names = [e["name"] for e in entries]
sys.exit(0 if "ab" in names and ".nginx" not in names else 1)' "$URL"
check "nginx's own files are not served" test "$(code GET "$URL/.nginx/nginx.pid")" = 403
check "nor can they be overwritten" test "$(code PUT "$URL/.nginx/nginx.pid" -d 1)" = 403
check "DELETE answers 204" test "$(code DELETE "$URL/ab/cd/Zm9v")" = 204
check "GET after DELETE answers 404" test "$(code GET "$URL/ab/cd/Zm9v")" = 404

confs=("$T"/tmp/mkv-volume-*.conf)
check "the rendered nginx config exists while running" test -f "${confs[0]}"
check "the config serves the resolved PATH" grep -q "root \"$(cd "$VOL" && pwd -P)\";" "${confs[0]}"

# kill -9 of the nginx master. A death in the first second of the first
# start counts as a startup error, so make sure nginx has run that long.
sleep 1
M1=$(master_of "$LPID")
# An upload under way when nginx dies leaves its temp file behind.
head -c 20000000 /dev/zero >"$T/upload"
curl -s -o /dev/null --limit-rate 2M -T "$T/upload" "$URL/ab/cd/dXBsb2Fk" &
UPLOADER=$!
for _ in $(seq 50); do
    [ -n "$(ls -A "$VOL/.nginx/body" 2>/dev/null)" ] && break
    sleep 0.1
done
check "an upload under way has a temp file in .nginx/body" test -n "$(ls -A "$VOL/.nginx/body" 2>/dev/null)"
if [ -n "$M1" ]; then
    kill -KILL "$M1"
    start=$(date +%s%N)
    M2=""
    served=""
    while [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 2000 ]; do
        M2=$(master_of "$LPID")
        # Orphaned old workers may still answer for a moment; only a new
        # master answering counts.
        if [ -n "$M2" ] && [ "$M2" != "$M1" ] &&
           [ "$(code GET "$URL/")" = 200 ]; then
            served=yes
            break
        fi
        sleep 0.05
    done
    [ -n "$M2" ] && masters+=("$M2")
    check "after kill -9 of the master a new nginx serves within 2 s" test -n "$served"
    check "no process of the killed nginx group is left" \
        test -z "$(pgrep -g "$M1")"
    check "the launcher logged the restart" \
        grep -q 'nginx exited (signal 9); restart #1 in 100 ms' "$LOG"
    check "the restarted nginx starts with no upload temp file left" \
        test -z "$(ls -A "$VOL/.nginx/body" 2>/dev/null)"
else
    notok "after kill -9 of the master a new nginx serves within 2 s" "no master found"
    notok "no process of the killed nginx group is left" "no master found"
    notok "the launcher logged the restart" "no master found"
fi
kill "$UPLOADER" 2>/dev/null
wait "$UPLOADER" 2>/dev/null

# A second launcher on the same port must fail fast with a clear message.
start=$(date +%s%N)
TMPDIR="$T/tmp" timeout 5 "$BIN" "$PORT" "$T/vol-second" 2>"$T/second.log"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "a second launcher on the same port exits non-zero" test "$rc" -ne 0 -a "$rc" -ne 124
check "it says the port is already in use" grep -q "port $PORT is already in use" "$T/second.log"
check "it fails within 1 s" test "$ms" -lt 1000

# A PATH under a regular file cannot be created.
touch "$T/plainfile"
TMPDIR="$T/tmp" timeout 5 "$BIN" "$(free_port)" "$T/plainfile/vol" 2>"$T/bad.log"
rc=$?
check "an unusable PATH exits non-zero" test "$rc" -ne 0 -a "$rc" -ne 124
check "it explains why" grep -q "cannot create $T/plainfile/vol" "$T/bad.log"

check "a bad port is a usage error (exit 2)" \
    bash -c '"$1" 70000 "$2" 2>/dev/null; test $? -eq 2' _ "$BIN" "$T/vol-x"

# SIGTERM: graceful stop, exit 0, port freed, nothing left behind.
M2=$(master_of "$LPID")
kill -TERM "$LPID"
rc=""
for _ in $(seq 1 80); do
    kill -0 "$LPID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$LPID" 2>/dev/null; then
    notok "SIGTERM stops the launcher within 8 s"
else
    wait "$LPID"
    rc=$?
    ok "SIGTERM stops the launcher within 8 s"
fi
check "the launcher exits 0 after SIGTERM" test "$rc" = 0
check "the port is free afterwards" "$PY" -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen()' "$PORT"
check "no nginx process of the volume remains" \
    test -z "$(pgrep -f -- "-p $VOL/.nginx/")${M2:+$(pgrep -g "$M2")}"
confs=("$T"/tmp/mkv-volume-*.conf)
check "the rendered config is removed" test ! -e "${confs[0]}"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
