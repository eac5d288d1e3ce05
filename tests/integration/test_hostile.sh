#!/bin/bash
# test_hostile.sh -- hostile and malformed HTTP against a real cluster:
# every case gets a precise status (or a closed connection where HTTP
# allows no answer), never a hang or a crash, and afterwards the index
# still serves normal keys. Raw requests go over loopback sockets only.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

start_volume "$WORK/v1" || exit 1; V1=$VPORT
start_volume "$WORK/v2" || exit 1; V2=$VPORT
start_volume "$WORK/v3" || exit 1; V3=$VPORT
VOLS="localhost:$V1 localhost:$V2 localhost:$V3"
# shellcheck disable=SC2086
start_index "$WORK/indexdb" $VOLS || exit 1

# raw.py PORT [TIMEOUT] -- send stdin's bytes as they are, then print the
# status code of the answer, "closed" (closed with no answer), "reset",
# or "timeout" (no answer within TIMEOUT seconds, default 3: a hang).
cat >"$WORK/raw.py" <<'EOF'
import socket, sys
port, timeout = int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
req = sys.stdin.buffer.read()
s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
try:
    s.sendall(req)
except (BrokenPipeError, ConnectionResetError):
    pass  # an early answer may still be readable
buf = b""
try:
    while b"\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            break
        buf += d
except socket.timeout:
    print("timeout"); sys.exit(0)
except ConnectionResetError:
    if not buf:
        print("reset"); sys.exit(0)
if not buf:
    print("closed")
elif buf.startswith(b"HTTP/1.") and len(buf.split(b" ")) > 1:
    print(buf.split(b" ")[1].decode())
else:
    print("garbage")
EOF
# raw [TIMEOUT] -- raw.py against the index under test.
raw() { $PY "$WORK/raw.py" "$IPORT" "$@"; }

# expect_in NAME GOT WANT... -- pass when GOT is one of the WANTs.
expect_in() {
    local name=$1 got=$2 w
    shift 2
    for w in "$@"; do [ "$got" = "$w" ] && { ok "$name"; return; }; done
    bad "$name" "want one of '$*', got '$got'"
}

# alive NAME -- the index process is still running.
alive() {
    if kill -0 "$IPID" 2>/dev/null; then ok "$1"; else bad "$1" "the index died"; fi
}

echo "# keys too long"
k1025=$(head -c 1024 /dev/zero | tr '\0' k)
expect "get of a 1025-byte key answers 414" 414 "$(code "$URL/$k1025")"
expect "put of a 1025-byte key answers 414" 414 "$(code -X PUT -d x "$URL/$k1025")"
expect "delete of a 1025-byte key answers 414" 414 "$(code -X DELETE "$URL/$k1025")"
k1024=$(head -c 1023 /dev/zero | tr '\0' k)
expect "a 1024-byte key is still a key (404, not 414)" 404 "$(code "$URL/$k1024")"
got=$($PY -c 'import sys; sys.stdout.buffer.write(b"GET /" + b"k" * 200000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")' | raw)
expect_in "a 200 KB request line answers 414 (or 400/431, or a close)" "$got" 414 400 431 closed reset

echo "# NUL bytes"
expect "get with %00 answers 400" 400 "$(code "$URL/a%00b")"
expect "put with %00 answers 400" 400 "$(code -X PUT -d x "$URL/a%00b")"
expect "delete with %00 answers 400" 400 "$(code -X DELETE "$URL/a%00b")"
expect "the refused put left no key /a" 404 "$(code "$URL/a")"
got=$(printf 'PUT /rawnul\0tail HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc' | raw)
expect "a raw NUL byte in the path answers 400" 400 "$got"
expect "and does not store the key cut short at the NUL" 404 "$(code "$URL/rawnul")"

echo "# Content-Length"
for cl in abc -5 0x5 '5, 5' 1e3 '+5'; do
    got=$(printf 'PUT /badcl HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\nhello' "$cl" | raw)
    expect "Content-Length '$cl' answers 400" 400 "$got"
done
expect "no bad Content-Length stored a key" 404 "$(code "$URL/badcl")"
got=$(printf 'PUT /dupcl HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 3\r\n\r\nhello' | raw)
expect "two Content-Length headers that disagree answer 400" 400 "$got"
expect "and store nothing" 404 "$(code "$URL/dupcl")"
got=$(printf 'PUT /tecl HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' | raw)
if [ "$got" = 400 ]; then
    ok "chunked with a Content-Length too is refused (400) or read as chunked"
elif [ "$got" = 201 ] && [ "$(curl -s -L "$URL/tecl")" = hello ]; then
    ok "chunked with a Content-Length too is refused (400) or read as chunked"
else
    bad "chunked with a Content-Length too is refused (400) or read as chunked" "got $got, value '$(curl -s -L "$URL/tecl")'"
fi
got=$(printf 'PUT /tegzip HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nhello' | raw)
expect_in "a Transfer-Encoding other than chunked answers 400 or 501" "$got" 400 501
got=$(printf 'PUT /hugecl HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\nhello' | raw)
expect_in "a Content-Length past 2^64 answers 413 or 400" "$got" 413 400
# A body announced as 2^63-1 bytes, then the client hangs up.
printf 'PUT /hangup HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775807\r\n\r\nhello' | raw 0.5 >/dev/null
sleep 0.3
expect "a client that announces 2^63-1 bytes and hangs up leaves no key" 404 "$(code "$URL/hangup")"
alive "the index survived the Content-Length cases"

echo "# garbage"
expect "a garbage request line answers 400" 400 "$(printf 'HELLO THERE\r\n\r\n' | raw)"
expect "a request line with no version answers 400" 400 "$(printf 'GET /\r\n\r\n' | raw)"
expect "an absolute-form target is served as its path (RFC 9112): 404 for an absent key" 404 "$(printf 'GET http://evil.example/x HTTP/1.1\r\nHost: x\r\n\r\n' | raw)"
expect_in "an unknown HTTP version answers 505 or 400" "$(printf 'GET /x HTTP/9.9\r\nHost: x\r\n\r\n' | raw)" 505 400
got=$(head -c 4096 /dev/urandom | raw)
expect_in "4 KB of random bytes get 400 or a close" "$got" 400 closed reset
got=$($PY -c 'import sys; sys.stdout.buffer.write(b"GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 102400 + b"\r\n\r\n")' | raw)
expect_in "a 100 KB header answers 431 or 400, or closes" "$got" 431 400 closed reset
got=$($PY -c 'import sys; sys.stdout.buffer.write(b"GET /x HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"a" * 48) for i in range(2000)) + b"\r\n")' | raw)
expect_in "2000 headers (100 KB) answer 431 or 400, or close" "$got" 431 400 closed reset
alive "the index survived the garbage"

echo "# slowloris: 300 half-open connections held while a client is served"
# slow.py PORT N MODE SECONDS URL -- open N connections to the index and
# send each a partial request (MODE line: half a request line; MODE body:
# a PUT's headers and 10 of 100000 body bytes); hold them; meanwhile time
# one request with curl (ARGS after the URL); print "CODE SECONDS".
cat >"$WORK/slow.py" <<'EOF'
import socket, subprocess, sys, time
port, n, mode, hold, url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5]
socks = []
try:
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        if mode == "line":
            s.sendall(b"GET /slowloris")
        else:
            s.sendall(b"PUT /slowbody%d HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" % i + b"x" * 10)
        socks.append(s)
except OSError as e:
    print("000 could-not-open-%d:%s" % (len(socks), e)); sys.exit(0)
time.sleep(0.3)
t0 = time.time()
r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", str(hold)] + sys.argv[6:] + [url],
                   capture_output=True, text=True)
print(r.stdout, "%.3f" % (time.time() - t0))
for s in socks:
    s.close()
EOF
curl -s -X PUT -d steady "$URL/steady" >/dev/null
read -r c t <<<"$($PY "$WORK/slow.py" "$IPORT" 300 line 3 "$URL/steady")"
expect "with 300 half-open connections a GET still answers 302" 302 "$c"
if awk -v t="$t" 'BEGIN { exit !(t < 1.0) }'; then ok "within 1 s (${t} s)"; else bad "within 1 s" "${t} s"; fi
read -r c t <<<"$($PY "$WORK/slow.py" "$IPORT" 300 line 3 "$URL/slowloris-put" -X PUT -d v)"
expect "with 300 half-open connections a PUT still answers 201" 201 "$c"
if awk -v t="$t" 'BEGIN { exit !(t < 1.0) }'; then ok "within 1 s (${t} s)"; else bad "within 1 s" "${t} s"; fi
# Uploads that stall mid-body: more of them than --workers (64).
read -r c t <<<"$($PY "$WORK/slow.py" "$IPORT" 70 body 3 "$URL/slowbody-put" -X PUT -d v)"
expect "with 70 uploads stalled mid-body a PUT still answers 201" 201 "$c"
if awk -v t="$t" 'BEGIN { exit !(t < 2.0) }'; then ok "within 2 s (${t} s)"; else bad "within 2 s" "${t} s"; fi
alive "the index survived the slow clients"

echo "# path tricks stay inside the key namespace"
mkdir -p "$WORK/canary"
touch "$WORK/marker"
sleep 0.05 # mtime granularity: files made from here on are newer
# Each as sent on the wire (curl --path-as-is), and the value to read back.
TRICKS=(
    "/../../canary/x"
    "/a/../b"
    "/./././dot"
    "//double//slash"
    "/%2F%2Fescaped"
    "/%2e%2e/%2e%2e/canary/y"
    "/..%2F..%2Fcanary%2Fz"
    "/%5C..%5C..%5Ccanary%5Cw"
    "/.."
    "/canary"
)
i=0
for t in "${TRICKS[@]}"; do
    i=$((i + 1))
    expect "put $t answers 201" 201 "$(code --path-as-is -X PUT -d "trick $i" "$URL$t")"
done
i=0
for t in "${TRICKS[@]}"; do
    i=$((i + 1))
    expect "$t reads back its own value" "trick $i" "$(curl -s -L --path-as-is --max-time 5 "$URL$t")"
done
expect "a %2F in a key is the same key as a /" 409 "$(code -X PUT -d other "$URL/%2e%2e%2F%2e%2e/canary/y")"
if [ -z "$(find "$WORK/canary" -mindepth 1 | head -n 1)" ]; then
    ok "nothing was written to the canary directory beside the volumes"
else
    bad "nothing was written to the canary directory beside the volumes" "$(find "$WORK/canary" -mindepth 1 | head -n 3)"
fi
strays=$(find "$WORK" -newer "$WORK/marker" -type f ! -path "$WORK/v[123]/*" ! -name '*.log' \
    ! -name 'indexdb*' | head -n 5)
expect "no file appeared outside the volume directories" "" "$strays"
for f in /canary /tmp/canary /x /b /dot; do
    [ -e "$f" ] && [ "$f" -nt "$WORK/marker" ] && strays="$strays $f"
done
expect "nor outside the test's directory" "" "$strays"
badnames=$(cd "$WORK" && find v1 v2 v3 -type f -newer marker ! -path '*/.nginx/*' |
    sed 's|^v[123]||' | grep -Ev '^/[0-9a-f]{2}/[0-9a-f]{2}/[A-Za-z0-9+=/-]+$' | head -n 3)
expect "every file is at /xx/yy/NAME inside a volume" "" "$badnames"

echo "# afterwards, the same index"
alive "the index that took all of the above is still running"
expect "a normal key still reads back" steady "$(curl -s -L --max-time 5 "$URL/steady")"
expect "a normal put still answers 201" 201 "$(code -X PUT -d fine "$URL/after-all-that")"
expect "and reads back" fine "$(curl -s -L --max-time 5 "$URL/after-all-that")"
expect "a normal delete still answers 204" 204 "$(code -X DELETE "$URL/after-all-that")"
stop "$IPID"
expect "and SIGTERM still stops it with status 0" 0 "$STOPPED"

echo "# --max-size: a value too big is refused before it is read"
# shellcheck disable=SC2086
start_index "$WORK/maxdb" --max-size 1048576 $VOLS
if kill -0 "$IPID" 2>/dev/null && [ "$(code "$URL/x")" = 404 ]; then
    ok "the index takes --max-size 1048576"
    t0=$(date +%s%N)
    got=$(printf 'PUT /maxhuge HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775807\r\n\r\nhello' | raw)
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    expect "a Content-Length over --max-size answers 413" 413 "$got"
    if [ "$ms" -lt 1000 ]; then ok "at once, without reading the body (${ms} ms)"; else bad "at once, without reading the body" "${ms} ms"; fi
    head -c 1048577 /dev/urandom >"$WORK/over"
    expect "a body one byte over --max-size answers 413" 413 "$(code -X PUT -T "$WORK/over" "$URL/maxover")"
    expect "a chunked body over --max-size answers 413" 413 \
        "$(code -X PUT -H 'Transfer-Encoding: chunked' -T - "$URL/maxchunked" <"$WORK/over")"
    expect "neither left a key" "404 404" "$(code "$URL/maxover") $(code "$URL/maxchunked")"
    head -c 1048576 /dev/urandom >"$WORK/exact"
    expect "a body of exactly --max-size answers 201" 201 "$(code -X PUT -T "$WORK/exact" "$URL/maxexact")"
else
    bad "the index takes --max-size 1048576" "$(grep -m 1 'mkv-index' "$WORK/maxdb.log")"
fi

finish
