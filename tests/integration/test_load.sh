#!/bin/bash
# test_load.sh -- the index under load and at its limits, black-box over
# HTTP against real nginx volumes: the thrasher at --replicas 3 and 2;
# 1,500 uploads stalled mid-body and 10,000 idle keep-alive connections
# while other clients are served within 1 s; SIGTERM while a probe
# outlives the shutdown grace; 800 probing GETs with one replica stopped
# (SIGSTOP), and the threads, descriptors and memory that leaves; running
# out of descriptors reported as that; a client that hangs up mid-body;
# a replica that fails after the other succeeded.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

# The ASan build is 2-3 times slower: fewer thrasher rounds there. Its
# allocator keeps freed memory and its shadow resident, so the memory an
# index may keep after a load is larger there (30 MB otherwise).
case $BIN in
*asan*) ROUNDS=4000 RSS_MB=90 ;;
*) ROUNDS=6000 RSS_MB=30 ;;
esac
STALLED=1500   # uploads stalled mid-body
IDLE=10000     # idle keep-alive connections
BURST=800      # concurrent probing GETs with one replica stopped
LOWFD=64       # descriptor limit of the index in the out-of-descriptors case

# Processes stopped with SIGSTOP must never be left stopped: whatever
# happens, continue them before lib.sh's cleanup stops the daemons.
STOPPED_PIDS=""
trap 'kill -CONT $STOPPED_PIDS 2>/dev/null; cleanup' EXIT

# load.py CMD ARGS... -- the raw-socket clients and fake volumes below.
#   stall PORT N PREFIX DIR   N PUTs of PREFIX/I announcing 1000000 bytes,
#                             10 sent; writes DIR/stall.ready once all are
#                             open, holds them until DIR/stall.release,
#                             then prints "open=A answered=B closed=C".
#   idle PORT N DIR           N connections, one keep-alive GET each;
#                             writes DIR/idle.ready ("opened=N ok=A") when
#                             all are answered, holds them until
#                             DIR/idle.release, then prints "closed=C
#                             again=B": C closed by the index meanwhile, B
#                             answered a second GET on the same connection.
#   burst PORT N PATH [PID]   N GETs of PATH at once (Connection: close);
#                             prints "COUNT STATUS LOCATION" per distinct
#                             answer, then "maxthreads=T" (PID's thread
#                             count, sampled while the GETs run) and
#                             "seconds=S".
#   gets PORT PREFIX N        GET PREFIX/0 .. PREFIX/N-1, 16 keep-alive
#                             clients; prints "COUNT STATUS" per status.
#   files PREFIX N DIR...     how many of PREFIX/0 .. PREFIX/N-1 have a
#                             file (cmkv's on-volume name) in any DIR.
#   cut PORT KEY LENGTH SENT  a PUT announcing LENGTH bytes; SENT of them
#                             are sent, then the client hangs up.
#   mute PORT SECONDS MARK    a "volume" that accepts, reads and never
#                             answers; creates MARK once a request came.
#   fail500 PORT SECONDS FILE SEEN
#                             a "volume" that reads each request whole and
#                             answers 500; a PUT's answer waits (up to 2 s)
#                             until FILE exists, the copy another volume
#                             stores, and then creates SEEN.
#   late PORT SECONDS LOG     a "volume" that reads a PUT whole and stores
#                             it, but answers only 3 s later; appends
#                             "METHOD PATH" to LOG for every request.
cat >"$WORK/load.py" <<'EOF'
import base64, collections, concurrent.futures, hashlib, http.client, os
import resource, selectors, socket, sys, threading, time
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "integration"))
from vname import vname  # noqa: E402 (the tests run from the top of the tree)

def raise_nofile(want):
    """Raise RLIMIT_NOFILE to want (root may raise the hard limit too),
    else to the hard limit; returns the soft limit reached."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard >= want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
        return max(soft, want)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
        return want
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard

class Answer:
    """One HTTP/1.1 answer read from a non-blocking socket."""
    def __init__(self, sock):
        self.sock, self.buf, self.status, self.location = sock, b"", None, ""
        self.done = False
    def feed(self, data):
        self.buf += data
        if b"\r\n\r\n" not in self.buf:
            return
        head, body = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        length = 0
        for h in lines[1:]:
            name, _, value = h.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"location":
                self.location = value.strip().decode("latin-1")
        if len(body) >= length:
            parts = lines[0].split(b" ")
            self.status = parts[1].decode() if len(parts) > 1 else "garbage"
            self.done = True

def exchange(socks, reqs, timeout):
    """Send reqs[i] on socks[i] and read one answer on each; returns the
    status of each ("closed", "reset" or "timeout" when there is none) and
    the Location of each."""
    answers = [Answer(s) for s in socks]
    sel = selectors.DefaultSelector()
    for s, r, a in zip(socks, reqs, answers):
        try:
            s.setblocking(True)
            s.sendall(r)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, a)
        except OSError:
            a.status, a.done = "reset", True
    left = sum(1 for a in answers if not a.done)
    end = time.time() + timeout
    while left > 0 and time.time() < end:
        for key, _ in sel.select(0.2):
            a = key.data
            try:
                data = a.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data, a.status = None, "reset"
            if not data:
                a.status = a.status or "closed"
                a.done = True
            else:
                a.feed(data)
            if a.done:
                sel.unregister(a.sock)
                left -= 1
    for a in answers:
        if not a.done:
            a.status = "timeout"
    sel.close()
    return [a.status for a in answers], [a.location for a in answers]

def connect(port, n):
    """n connections to 127.0.0.1:port (fewer if the client runs out)."""
    socks = []
    try:
        for _ in range(n):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    except OSError as e:
        print("could not open connection %d: %s" % (len(socks) + 1, e), file=sys.stderr)
    return socks

def state(s):
    """open, answered (bytes waiting) or closed, without blocking."""
    s.setblocking(False)
    try:
        return "answered" if s.recv(1, socket.MSG_PEEK) else "closed"
    except BlockingIOError:
        return "open"
    except OSError:
        return "closed"

def wait_for(path, limit):
    end = time.time() + limit
    while not os.path.exists(path) and time.time() < end:
        time.sleep(0.02)


def threads_of(pid):
    try:
        with open("/proc/%s/status" % pid) as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "stall":
    port, n, prefix, d = int(args[0]), int(args[1]), args[2], args[3]
    raise_nofile(n + 100)
    socks = []
    for i in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"PUT %s/%d HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
                      % (prefix.encode(), i) + b"x" * 10)
            socks.append(s)
        except OSError as e:
            print("could not open upload %d: %s" % (i, e), file=sys.stderr)
            break
    with open(d + "/stall.ready", "w") as f:
        f.write("opened=%d\n" % len(socks))
    wait_for(d + "/stall.release", 120)
    c = collections.Counter(state(s) for s in socks)
    print("open=%d answered=%d closed=%d" % (c["open"], c["answered"], c["closed"]))
    for s in socks:
        s.close()
elif cmd == "idle":
    port, n, d = int(args[0]), int(args[1]), args[2]
    raise_nofile(n + 100)
    socks, ok = [], 0
    # In batches, so the index's listen queue never overflows.
    while len(socks) < n:
        batch = connect(port, min(500, n - len(socks)))
        if not batch:
            break
        got, _ = exchange(batch, [b"GET /idle/%d HTTP/1.1\r\nHost: x\r\n\r\n" % (len(socks) + i)
                                  for i in range(len(batch))], 10)
        ok += got.count("404")
        socks += batch
        if got.count("404") < len(batch):
            # The index is not keeping up (or closed some): what was
            # asked for cannot be had, and waiting longer proves nothing.
            print("batch at %d: %s" % (len(socks) - len(batch), dict(collections.Counter(got))),
                  file=sys.stderr)
            break
    with open(d + "/idle.ready", "w") as f:
        f.write("opened=%d ok=%d\n" % (len(socks), ok))
    wait_for(d + "/idle.release", 120)
    states = [state(s) for s in socks]
    live = [s for s, st in zip(socks, states) if st == "open"]
    got, _ = exchange(live, [b"GET /idle/again HTTP/1.1\r\nHost: x\r\n\r\n"] * len(live), 10)
    print("closed=%d again=%d" % (len(socks) - len(live), got.count("404")))
    for s in socks:
        s.close()
elif cmd == "burst":
    port, n, path = int(args[0]), int(args[1]), args[2]
    pid = args[3] if len(args) > 3 else None
    raise_nofile(n + 100)
    most, running = [0], [True]
    def sample():
        while running[0]:
            most[0] = max(most[0], threads_of(pid))
            time.sleep(0.01)
    sampler = threading.Thread(target=sample)
    if pid:
        sampler.start()
    t0 = time.time()
    socks = connect(port, n)
    got, where = exchange(socks, [b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                                  % path.encode()] * len(socks), 30)
    took = time.time() - t0
    running[0] = False
    if pid:
        sampler.join()
    got += ["unopened"] * (n - len(socks))
    where += [""] * (n - len(socks))
    for (st, loc), count in sorted(collections.Counter(zip(got, where)).items()):
        print(count, st, loc or "-")
    print("maxthreads=%d" % most[0])
    print("seconds=%.2f" % took)
    for s in socks:
        s.close()
elif cmd == "gets":
    port, prefix, n = int(args[0]), args[1], int(args[2])
    local = threading.local()
    def get(i):
        if not hasattr(local, "c"):
            local.c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            local.c.request("GET", "%s/%d" % (prefix, i))
            r = local.c.getresponse()
            r.read()
            return str(r.status)
        except Exception as e:
            local.c.close()
            del local.c
            return type(e).__name__
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        for st, count in sorted(collections.Counter(ex.map(get, range(n))).items()):
            print(count, st)
elif cmd == "files":
    prefix, n, dirs = args[0], int(args[1]), args[2:]
    print(sum(1 for i in range(n)
              if any(os.path.exists(d + vname(b"%s/%d" % (prefix.encode(), i))) for d in dirs)))
elif cmd == "cut":
    port, key, length, sent = int(args[0]), args[1], int(args[2]), int(args[3])
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (key.encode(), length))
    s.sendall(os.urandom(sent))
    time.sleep(0.3) # the index reads it and streams it on to the volumes
    s.close()
elif cmd == "mute":
    port, limit, mark = int(args[0]), float(args[1]), args[2]
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    s.settimeout(0.1)
    held, end = [], time.time() + limit
    while time.time() < end:
        try:
            c, _ = s.accept()
            c.setblocking(False)
            held.append(c)
        except socket.timeout:
            pass
        for c in held:
            try:
                if c.recv(65536) and not os.path.exists(mark):
                    open(mark, "w").close()
            except OSError:
                pass
elif cmd == "fail500":
    import http.server
    port, limit, watch, seen = int(args[0]), float(args[1]), args[2], args[3]
    class Failing(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def fail(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    self.rfile.read(size + 2)
                    if size == 0:
                        break
            else:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.command == "PUT":
                wait_for(watch, 2)
                if os.path.exists(watch):
                    open(seen, "w").close()
            body = b"failing volume\n"
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        do_GET = do_HEAD = do_PUT = do_DELETE = do_POST = fail
        def log_message(self, *a):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Failing)
    threading.Timer(limit, srv.shutdown).start()
    srv.serve_forever()
elif cmd == "late":
    import http.server
    port, limit, extra = int(args[0]), float(args[1]), args[2]
    class Volume(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def answer(self):
            with open(extra, "a") as f:
                f.write("%s %s\n" % (self.command, self.path))
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.command == "PUT":
                time.sleep(3)
            self.send_response(201 if self.command == "PUT" else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()
        do_GET = do_HEAD = do_PUT = do_DELETE = answer
        def log_message(self, *a):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Volume)
    threading.Timer(limit, srv.shutdown).start()
    srv.serve_forever()
EOF
# (Run in the background as $PY "$WORK/load.py" itself, so that $! is the
# Python process and lib.sh's stop_all stops it.)
load() { $PY "$WORK/load.py" "$@"; }

# timed NAME WANT CURLARGS... -- one curl request bounded by 1 s: passes
# when it answers WANT, and says how long it took.
timed() {
    local name=$1 want=$2 r
    shift 2
    r=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 1 "$@")
    if [ "${r% *}" = "$want" ]; then
        ok "$name answers $want within 1 s (${r#* } s)"
    else
        bad "$name answers $want within 1 s" "got ${r% *} after ${r#* } s"
    fi
}

# alive NAME -- the index process is still running and answers.
alive() {
    if ! kill -0 "$IPID" 2>/dev/null; then
        bad "$1" "the index died"
    elif [ "$(code --max-time 5 "$URL/alive-check")" != 404 ]; then
        bad "$1" "it runs but does not answer"
    else
        ok "$1"
    fi
}

# stray DIR... -- the value files on volumes (nginx's own .nginx is not
# one), relative to their volume.
stray() {
    local d
    for d in "$@"; do
        (cd "$d" && find . -path ./.nginx -prune -o -type f -print) | sed "s|^\.|${d##*/}|"
    done | sort
}

# pending PREFIX -- how many records under PREFIX are pending or unlinked
# (GET /PREFIX?unlinked), or what answered instead of a listing.
pending() {
    curl -s --max-time 5 "$URL$1?unlinked" | $PY -c '
import json, sys
raw = sys.stdin.read()
try:
    print(len(json.loads(raw)["keys"]))
except (ValueError, KeyError, TypeError):
    print("no listing: %r" % raw[:80])'
}

# copies KEY DIR... -- how many of the volume directories hold KEY's file.
copies() {
    local k=$1 d n=0 path
    shift
    path=$(vname "$k")
    for d in "$@"; do [ -e "$d$path" ] && n=$((n + 1)); done
    echo "$n"
}

# retire -- stop the index under test (lib.sh's stop: SIGTERM, 10 s);
# one that is still running then is killed, and says so, so that a hung
# index costs the run 10 s and not more.
retire() {
    stop "$IPID"
    if kill -0 "$IPID" 2>/dev/null; then
        echo "# the index did not exit within 10 s of SIGTERM: kill -9"
        kill -9 "$IPID"
        wait "$IPID" 2>/dev/null
    fi
}

# proc_status PID FIELD -- a field of /proc/PID/status (Threads, VmRSS).
proc_status() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# fds PID -- how many descriptors PID has open.
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }

# The idle-connection case needs 10,000 descriptors in the index and as
# many in its client (each process has its own limit), each with room to
# spare: the index keeps 1024 for itself and its volumes. Where we may
# (CAP_SYS_RESOURCE), raise the hard limit for every process started from
# here on. The soft limit is left alone: the index raises its own to the
# hard limit, and the Python clients theirs.
FD_ROOM=2000
hard=$(ulimit -Hn)
if [ "$hard" -lt $((IDLE + FD_ROOM)) ]; then
    ulimit -Hn $((IDLE + FD_ROOM)) 2>/dev/null
fi

start_volume "$WORK/v1" || exit 1; V1=$VPORT; VPID1=$VPID
start_volume "$WORK/v2" || exit 1; V2=$VPORT
start_volume "$WORK/v3" || exit 1; V3=$VPORT
VOLS="localhost:$V1 localhost:$V2 localhost:$V3"
VDIRS="$WORK/v1 $WORK/v2 $WORK/v3"

echo "# [${SECONDS}s] the thrasher: 16 clients doing PUT, GET, DELETE, GET of fresh keys"
if [ ! -x build/thrasher ]; then
    bad "the thrasher is built" "no build/thrasher: make build/thrasher"
else
    for r in 3 2; do
        # shellcheck disable=SC2086
        start_index "$WORK/thrash$r.db" --replicas "$r" $VOLS || exit 1
        build/thrasher -n "$ROUNDS" -c 16 "$URL" >"$WORK/thrash$r.out" 2>"$WORK/thrash$r.err"
        rc=$?
        sed 's/^/# /' "$WORK/thrash$r.out"
        head -n 5 "$WORK/thrash$r.err" | sed 's/^/#   /'
        errs=$(sed -n 's/.* rounds=\([0-9]*\) errors=\([0-9]*\) .*/\1 \2/p' "$WORK/thrash$r.out")
        if [ "$rc" = 0 ] && [ "$errs" = "$ROUNDS 0" ]; then
            ok "$ROUNDS thrasher rounds at --replicas $r, none failed"
        else
            bad "$ROUNDS thrasher rounds at --replicas $r, none failed" "exit $rc, rounds and errors: ${errs:-none}"
        fi
        alive "the index is still running and answering after them"
        # shellcheck disable=SC2086
        expect "and no value is left on any volume" "" "$(stray $VDIRS | head -n 3)"
        [ "$r" = 3 ] && retire
    done
    # The --replicas 2 index serves the next cases.
fi
if [ -z "${IPID:-}" ]; then
    # shellcheck disable=SC2086
    start_index "$WORK/thrash2.db" --replicas 2 $VOLS || exit 1
fi

echo "# [${SECONDS}s] a client that hangs up mid-body, at --replicas 2"
load cut "$IPORT" /cut/key 1000000 300000
sleep 1
expect "the cut-off put leaves no key" 404 "$(code "$URL/cut/key")"
expect "and no pending record" 0 "$(pending /cut/)"
# shellcheck disable=SC2086
expect "and no file on any volume" 0 "$(copies /cut/key $VDIRS)"
head -c 200000 /dev/urandom >"$WORK/cut.value"
expect "the same key can be put again" 201 "$(code -X PUT --data-binary @"$WORK/cut.value" "$URL/cut/key")"
expect "and a get of it answers 302" 302 "$(code "$URL/cut/key")"
curl -s -L --max-time 10 -o "$WORK/cut.got" "$URL/cut/key"
if cmp -s "$WORK/cut.value" "$WORK/cut.got"; then
    ok "and reads back the new value"
else
    bad "and reads back the new value" "$(wc -c <"$WORK/cut.got") bytes differ"
fi
expect "and then deletes" 204 "$(code -X DELETE "$URL/cut/key")"

echo "# [${SECONDS}s] $STALLED uploads stalled mid-body while other clients are served"
# shellcheck disable=SC2086
before=$(stray $VDIRS)
$PY "$WORK/load.py" stall "$IPORT" "$STALLED" /stall "$WORK" >"$WORK/stall.out" 2>"$WORK/stall.err" &
stall=$!
PIDS="$PIDS $stall"
for _ in $(seq 300); do [ -e "$WORK/stall.ready" ] && break; sleep 0.1; done
expect "$STALLED stalled uploads are open" "opened=$STALLED" "$(cat "$WORK/stall.ready" 2>/dev/null)"
sleep 0.5
timed "meanwhile a put" 201 -X PUT -d steady "$URL/stall-other/key"
timed "a get" 302 "$URL/stall-other/key"
timed "a delete" 204 -X DELETE "$URL/stall-other/key"
touch "$WORK/stall.release"
wait "$stall"
echo "# when released: $(cat "$WORK/stall.out") $(head -n 1 "$WORK/stall.err")"
# The index notices the hang-ups and cleans up: up to 5 s for that.
t0=$SECONDS
while :; do
    # shellcheck disable=SC2086
    left=$(load files /stall "$STALLED" $VDIRS)
    waiting=$(pending /stall/)
    [ "$left" = 0 ] && [ "$waiting" = 0 ] && break
    [ $((SECONDS - t0)) -ge 5 ] && break
    sleep 0.1
done
expect "no stalled key exists afterwards (all $STALLED get 404)" "$STALLED 404" "$(load gets "$IPORT" /stall "$STALLED")"
expect "no pending record of them is left" 0 "$waiting"
expect "no file of them is on any volume" 0 "$left"
# (The key put meanwhile is left out: its delete may have failed above.)
# shellcheck disable=SC2086
expect "nor any other new file" "$before" "$(stray $VDIRS | grep -vF "$(vname /stall-other/key)")"
alive "the index is still running and answering"
retire

echo "# [${SECONDS}s] $IDLE idle keep-alive connections while other clients are served"
hard=$(ulimit -Hn)
if [ "$hard" -lt $((IDLE + FD_ROOM)) ]; then
    IDLE=$((hard - FD_ROOM))
    echo "# the hard limit on descriptors here is $hard, and cannot be raised:" \
        "$IDLE connections, not 10000 (the index and the client need one each, and $FD_ROOM to spare)"
fi
# Started with a soft limit of 1024: the index must raise its own.
printf '#!/bin/bash\nulimit -Sn 1024 2>/dev/null\nexec "$@"\n' >"$WORK/softfd.sh"
chmod +x "$WORK/softfd.sh"
# shellcheck disable=SC2086
MKV_INDEX_WRAPPER="$WORK/softfd.sh ${MKV_INDEX_WRAPPER:-}" start_index "$WORK/idle.db" $VOLS || exit 1
expect "started with a soft limit of 1024 descriptors, the index raises it to the hard limit" \
    "$hard $hard" "$(awk '/^Max open files/ { print $4, $5 }' "/proc/$IPID/limits")"
$PY "$WORK/load.py" idle "$IPORT" "$IDLE" "$WORK" >"$WORK/idle.out" 2>"$WORK/idle.err" &
idle=$!
PIDS="$PIDS $idle"
for _ in $(seq 600); do [ -e "$WORK/idle.ready" ] && break; sleep 0.1; done
expect "$IDLE connections each had a keep-alive get answered" "opened=$IDLE ok=$IDLE" "$(cat "$WORK/idle.ready" 2>/dev/null)"
held=$(fds "$IPID")
if [ "$held" -ge "$IDLE" ]; then ok "the index holds them all open ($held descriptors)"; else bad "the index holds them all open" "$held descriptors"; fi
timed "meanwhile a put" 201 -X PUT -d idle "$URL/idle-other/key"
timed "a get" 302 "$URL/idle-other/key"
timed "a delete" 204 -X DELETE "$URL/idle-other/key"
sleep 2 # idle a while longer: none may be dropped (--client-timeout is 30 s)
touch "$WORK/idle.release"
wait "$idle"
expect "none of them was closed, and each answers a second get" "closed=0 again=$IDLE" "$(cat "$WORK/idle.out")"
head -n 2 "$WORK/idle.err" | sed 's/^/#   /'
alive "the index is still running and answering"
retire

echo "# [${SECONDS}s] out of descriptors: $LOWFD at most, 200 probing gets at once"
if [ -n "${MKV_INDEX_WRAPPER:-}" ]; then
    skip "the index runs under a wrapper ($MKV_INDEX_WRAPPER) that needs descriptors of its own"
else
    printf '#!/bin/bash\nulimit -n %s || exit 99\nexec "$@"\n' "$LOWFD" >"$WORK/lowfd.sh"
    chmod +x "$WORK/lowfd.sh"
    # shellcheck disable=SC2086
    MKV_INDEX_WRAPPER=$WORK/lowfd.sh start_index "$WORK/lowfd.db" --probe --replicas 2 \
        "localhost:$V2" "localhost:$V3" || exit 1
    expect "the index runs with a limit of $LOWFD descriptors" "$LOWFD $LOWFD" \
        "$(awk '/^Max open files/ { print $4, $5 }' "/proc/$IPID/limits")"
    expect "put a key" 201 "$(code -X PUT -d few "$URL/lowfd/key")"
    load burst "$IPORT" 200 /lowfd/key >"$WORK/lowfd.out"
    sed 's/^/# /' "$WORK/lowfd.out"
    others=$(awk '$1 ~ /^[0-9]+$/ && $2 != 302 && $2 != 503 { n += $1 } END { print n + 0 }' "$WORK/lowfd.out")
    n503=$(awk '$1 ~ /^[0-9]+$/ && $2 == 503 { n += $1 } END { print n + 0 }' "$WORK/lowfd.out")
    expect "every get answers 302 or 503" 0 "$others"
    if [ "$n503" = 0 ]; then
        echo "# no get answered 503: no out-of-descriptors line to look for"
    elif grep -qi 'out of file descriptors' "$WORK/lowfd.db.log"; then
        ok "the $n503 answers 503 are logged as the index out of file descriptors"
    else
        bad "the $n503 answers 503 are logged as the index out of file descriptors" \
            "$(grep -m 1 -iE 'descriptor|too many open' "$WORK/lowfd.db.log" || echo 'no such line')"
    fi
    # Both volumes are up and hold the key: any probe of one that failed
    # for another reason than descriptors blames it wrongly.
    blamed=$(grep -E 'probe of [^ ]+: ' "$WORK/lowfd.db.log" |
        grep -viE 'descriptor|too many open files' | head -n 1)
    expect "no healthy volume is blamed for it (no probe of one logged as failing)" "" "$blamed"
    for _ in $(seq 20); do [ "$(code "$URL/lowfd/key")" = 302 ] && break; sleep 0.1; done
    expect "once the gets are over a get answers 302 again" 302 "$(code "$URL/lowfd/key")"
    retire
fi

echo "# [${SECONDS}s] a stopped replica under $BURST probing gets at once"
# ASan keeps what is freed resident (its quarantine, 256 MB by default)
# to catch a use after free: for this index a small one, so that its
# memory after the load says what the program still holds.
asan_opts=${ASAN_OPTIONS:-}
case $BIN in *asan*) asan_opts="${asan_opts:+$asan_opts:}quarantine_size_mb=4" ;; esac
ASAN_OPTIONS=$asan_opts start_index "$WORK/stopped.db" --replicas 2 --probe --threads 2 \
    --voltimeout 1000 "localhost:$V1" "localhost:$V2" || exit 1
expect "put a key on both volumes" 201 "$(code -X PUT -d both "$URL/stopped/key")"
for _ in 1 2 3 4 5; do code "$URL/stopped/key" >/dev/null; done
sleep 0.5
idle_threads=$(proc_status "$IPID" Threads)
idle_fds=$(fds "$IPID")
idle_rss=$(proc_status "$IPID" VmRSS)
echo "# idle: $idle_threads threads, $idle_fds descriptors, $idle_rss kB resident"
master=$(ps -o pid= --ppid "$VPID1" | tr -d ' ' | head -n 1)
nginx=""
[ -n "$master" ] && nginx="$master $(ps -o pid= --ppid "$master" | tr -d ' ' | tr '\n' ' ')"
if [ -z "$master" ] || [ "$(wc -w <<<"$nginx")" -lt 2 ]; then
    bad "volume 1's nginx master and workers found" "children of $VPID1: '$nginx'"
else
    STOPPED_PIDS=$nginx
    # shellcheck disable=SC2086
    kill -STOP $nginx
    load burst "$IPORT" "$BURST" /stopped/key "$IPID" >"$WORK/burst.out"
    # shellcheck disable=SC2086
    kill -CONT $nginx
    STOPPED_PIDS=""
    sed 's/^/# /' "$WORK/burst.out"
    expect "every get answers 302 to the running volume" \
        "$BURST 302 http://localhost:$V2$(vname /stopped/key)" "$(grep -E '^[0-9]+ ' "$WORK/burst.out")"
    most=$(sed -n 's/^maxthreads=//p' "$WORK/burst.out")
    if [ "${most:-99}" -le 6 ]; then
        ok "meanwhile the index never ran more than --threads 2 + 4 threads ($most)"
    else
        bad "meanwhile the index never ran more than --threads 2 + 4 threads" "$most"
    fi
    sleep 3
    now_threads=$(proc_status "$IPID" Threads)
    now_fds=$(fds "$IPID")
    now_rss=$(proc_status "$IPID" VmRSS)
    echo "# 3 s after: $now_threads threads, $now_fds descriptors, $now_rss kB resident"
    if [ "$now_threads" -le $((idle_threads + 2)) ]; then
        ok "3 s later its threads are back to idle (at most $idle_threads + 2: $now_threads)"
    else
        bad "3 s later its threads are back to idle (at most $idle_threads + 2)" "$now_threads"
    fi
    if [ "$now_fds" -le $((idle_fds + 20)) ]; then
        ok "and its descriptors (at most $idle_fds + 20: $now_fds)"
    else
        bad "and its descriptors (at most $idle_fds + 20)" "$now_fds"
    fi
    if [ "$now_rss" -le $((idle_rss + RSS_MB * 1024)) ]; then
        ok "and its memory (at most $RSS_MB MB more than idle: $(( (now_rss - idle_rss) / 1024 )) MB)"
    else
        bad "and its memory (at most $RSS_MB MB more than idle)" "$(( (now_rss - idle_rss) / 1024 )) MB more"
    fi
    expect "the key reads back from either volume again" both "$(curl -s -L --max-time 5 "$URL/stopped/key")"
fi
retire

echo "# [${SECONDS}s] a replica that fails after the other succeeded"
FAKE=$(free_port)
$PY "$WORK/load.py" fail500 "$FAKE" 60 "$WORK/v3$(vname /failing/key)" "$WORK/failing.seen" &
PIDS="$PIDS $!"
for _ in $(seq 50); do [ "$(code "http://127.0.0.1:$FAKE/")" = 500 ] && break; sleep 0.1; done
before=$(stray "$WORK/v3")
start_index "$WORK/fail.db" --replicas 2 "localhost:$V3" "127.0.0.1:$FAKE" || exit 1
expect "a put with one replica answering 500 answers 502" 502 "$(code -X PUT -d doomed "$URL/failing/key")"
if [ -e "$WORK/failing.seen" ]; then
    ok "the other replica had stored its copy before the 500"
else
    bad "the other replica had stored its copy before the 500" "no copy appeared on it within 2 s"
fi
expect "and leaves no key" 404 "$(code "$URL/failing/key")"
expect "and no pending record" 0 "$(pending /failing/)"
for _ in $(seq 20); do [ "$(copies /failing/key "$WORK/v3")" = 0 ] && break; sleep 0.1; done
expect "and no copy on the volume that took it" 0 "$(copies /failing/key "$WORK/v3")"
expect "nor any other new file there" "$before" "$(stray "$WORK/v3")"
retire

echo "# [${SECONDS}s] a replica whose answer never comes after the whole body"
LATE=$(free_port)
$PY "$WORK/load.py" late "$LATE" 60 "$WORK/late.log" &
PIDS="$PIDS $!"
for _ in $(seq 50); do [ "$(code -X DELETE "http://127.0.0.1:$LATE/x")" = 204 ] && break; sleep 0.1; done
start_index "$WORK/late.db" --replicas 2 --stall-timeout 1000 "localhost:$V3" "127.0.0.1:$LATE" || exit 1
expect "a put whose replica stalls after the last byte answers 504" 504 "$(code -X PUT -d late "$URL/late/key")"
expect "and leaves no key" 404 "$(code "$URL/late/key")"
for _ in $(seq 40); do grep -q "^DELETE $(vname /late/key)\$" "$WORK/late.log" && break; sleep 0.1; done
if grep -q "^DELETE $(vname /late/key)\$" "$WORK/late.log"; then
    ok "the copy that replica may have stored is deleted"
else
    bad "the copy that replica may have stored is deleted" "$(cat "$WORK/late.log")"
fi
expect "and the other replica's copy is gone" 0 "$(copies /late/key "$WORK/v3")"
retire

echo "# [${SECONDS}s] SIGTERM while a probe outlives the shutdown grace"
MUTE=$(free_port)
$PY "$WORK/load.py" mute "$MUTE" 60 "$WORK/muted.asked" &
PIDS="$PIDS $!"
$PY -c '
import dbm.gnu, sys
db = dbm.gnu.open(sys.argv[1], "c"); db[b"/muted/key"] = sys.argv[2].encode(); db.close()' \
    "$WORK/mute.db" "127.0.0.1:$MUTE"
start_index "$WORK/mute.db" --probe --voltimeout 14000 "127.0.0.1:$MUTE" || exit 1
curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$URL/muted/key" >"$WORK/muted.code" &
client=$!
for _ in $(seq 50); do [ -e "$WORK/muted.asked" ] && break; sleep 0.1; done
if [ -e "$WORK/muted.asked" ]; then
    ok "the get is probing the volume"
else
    bad "the get is probing the volume" "no request reached it within 5 s"
fi
sleep 0.5
t0=$(date +%s%N)
kill "$IPID"
for _ in $(seq 200); do kill -0 "$IPID" 2>/dev/null || break; sleep 0.1; done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if kill -0 "$IPID" 2>/dev/null; then
    bad "the index exits within 15 s of SIGTERM" "still running after ${ms} ms"
    kill -9 "$IPID"
    wait "$IPID"
else
    wait "$IPID"
    expect "the index exits 0 after SIGTERM with a probe under way" 0 "$?"
    if [ "$ms" -le 15000 ]; then ok "within 15 s (${ms} ms)"; else bad "within 15 s" "${ms} ms"; fi
fi
wait "$client"
crc=$?
got=$(cat "$WORK/muted.code")
case "$got/$crc" in
503/0 | 000/52 | 000/56) ok "the get of the probed key answers 503 or is closed ($got, curl exit $crc)" ;;
*) bad "the get of the probed key answers 503 or is closed" "status $got, curl exit $crc" ;;
esac

echo "# [${SECONDS}s] done"
finish
