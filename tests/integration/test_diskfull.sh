#!/bin/bash
# test_diskfull.sh -- disk space is a state, not an accident. The index's
# disk fills up (a small tmpfs): writes answer 507 with a reason while
# reads go on, health says why, writes come back by themselves once
# there is room, and every acknowledged key survives restarts, several
# times over. With the reserve turned off GDBM itself meets ENOSPC, and
# with RLIMIT_FSIZE EFBIG (no mount needed): the write fails and is
# undone, the index recovers in process once it can, nothing acknowledged
# is lost and the file opens every time. A volume's full disk answers 507
# and shows in health. A flood of unusable records logs a few lines, not
# one per request.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

MOUNTS=""
umount_all() {
    local m
    for m in $MOUNTS; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
    MOUNTS=""
}
trap 'stop_all; umount_all; cleanup' EXIT

# small_fs DIR SIZE [index] -- a tmpfs of SIZE on DIR; fails where
# mounting is not permitted (not root, no CAP_SYS_ADMIN). For an index
# there, its log (DIR/indexdb.log) is kept outside, as DIR.log, so no
# line is lost to the full disk.
small_fs() {
    mkdir -p "$1"
    mount -t tmpfs -o "size=$2" tmpfs "$1" 2>/dev/null || return 1
    MOUNTS="$1 $MOUNTS"
    [ "${3:-}" = index ] && ln -s "$1.log" "$1/indexdb.log"
    return 0
}

# The client side, in Python for keep-alive speed.
cat >"$WORK/client.py" <<'PYEOF'
import base64, hashlib, http.client, os, sys
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "integration"))
from vname import vname as vname_bytes  # noqa: E402 (run from the top of the tree)

def conn(port):
    return http.client.HTTPConnection("localhost", int(port), timeout=20)

def request(c, port, method, path, body=None):
    """(status, body, connection), reconnecting once if the index closed it."""
    for attempt in (0, 1):
        try:
            c.request(method, path, body=body)
            r = c.getresponse()
            data = r.read()
            if r.will_close:
                c.close()
                c = conn(port)
            return r.status, data, c
        except (http.client.HTTPException, OSError):
            c.close()
            c = conn(port)
            if attempt:
                return 0, b"", c

def puts(port, prefix, first, count, size, out, stop):
    """PUT PREFIX%06d for count keys; 'KEY STATUS' lines in out; with stop,
    end at the first answer other than 201 and put its body in reason.OUT
    (beside out)."""
    c = conn(port)
    with open(out, "a") as f:
        for i in range(first, first + count):
            key = "%s%06d" % (prefix, i)
            st, data, c = request(c, port, "PUT", key, os.urandom(size))
            f.write("%s %d\n" % (key, st))
            if stop and st != 201:
                d, b = os.path.split(out)
                open(os.path.join(d, "reason." + b), "wb").write(data)
                break

def check(port, keysfile):
    """GET (no redirect) every key acknowledged (201) in keysfile: how many
    answered each status, as 'STATUS:COUNT ...'."""
    c = conn(port)
    seen = {}
    for line in open(keysfile):
        key, st = line.split()
        if st != "201":
            continue
        got, _, c = request(c, port, "GET", key)
        seen[got] = seen.get(got, 0) + 1
    print(" ".join("%d:%d" % kv for kv in sorted(seen.items())) or "none")

def vname(key):
    return vname_bytes(key.encode())

def files(voldir, *keysfiles):
    """'same' when the volume holds a file for exactly the acknowledged keys
    of keysfiles, else what differs."""
    want = set()
    for kf in keysfiles:
        for line in open(kf):
            key, st = line.split()
            if st == "201":
                want.add(vname(key))
    have = set()
    for root, dirs, names in os.walk(voldir):
        if ".nginx" in dirs:
            dirs.remove(".nginx")
        for n in names:
            have.add(os.path.join(root, n)[len(voldir):])
    if want == have:
        print("same")
    else:
        print("missing %d, extra %d: %s" % (len(want - have), len(have - want),
              sorted(have - want)[:2] + sorted(want - have)[:2]))

def flood(port, path, seconds):
    """GET path over and over on 4 connections for seconds: the count."""
    import threading, time
    end = time.time() + float(seconds)
    counts = []
    def run():
        c, n = conn(port), 0
        while time.time() < end:
            _, _, c = request(c, port, "GET", path)
            n += 1
        counts.append(n)
    ts = [threading.Thread(target=run) for _ in range(4)]
    for t in ts: t.start()
    for t in ts: t.join()
    print(sum(counts))

cmd = sys.argv[1]
if cmd == "puts":
    puts(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]),
         sys.argv[7], len(sys.argv) > 8)
elif cmd == "check":
    check(sys.argv[2], sys.argv[3])
elif cmd == "files":
    files(sys.argv[2], *sys.argv[3:])
elif cmd == "flood":
    flood(sys.argv[2], sys.argv[3], sys.argv[4])
PYEOF
client() { $PY "$WORK/client.py" "$@"; }

# leave DIR KIB -- fill DIR's filesystem with DIR/filler until KIB KiB
# are left free.
leave() {
    local free
    rm -f "$1/filler"
    free=$(df -k --output=avail "$1" | tail -n 1)
    [ "$free" -gt "$2" ] && head -c $(((free - $2) * 1024)) /dev/zero >"$1/filler"
}

# acked FILE... -- how many keys were acknowledged.
acked() { cat "$@" | grep -c ' 201$'; }

# keys OUT FILE... -- the key lists FILE... in one file OUT (for check).
keys() {
    local out=$1
    shift
    cat "$@" >"$out"
}

# put_again URL LIST -- PUT until it is stored (up to 10 s); record the
# answer in LIST and print it.
put_again() {
    local st
    st=$(until_ok 201 code -X PUT -d again "$URL$1")
    echo "$1 $st" >>"$2"
    echo "$st"
}

# until_ok WHAT CMD... -- poll CMD (up to 10 s) until it prints WHAT.
until_ok() {
    local want=$1 got=""
    shift
    for _ in $(seq 100); do
        got=$("$@")
        [ "$got" = "$want" ] && break
        sleep 0.1
    done
    echo "$got"
}

# health_index -- the "index" field of /?health.
health_index() {
    curl -s --max-time 10 "$URL/?health" | $PY -c 'import json,sys; print(json.load(sys.stdin)["index"])'
}

# leftovers DIR -- files gdbm_recover could have left beside the index.
leftovers() { (cd "$1" && ls | grep -E '^indexdb\.[A-Za-z0-9]{6}$' | wc -l); }

start_volume "$WORK/v1" || exit 1
VOL="localhost:$VPORT"
VPORT1=$VPORT

echo "# the index's disk fills up (1 MiB tmpfs, --min-free 64K)"
if small_fs "$WORK/ifs" 1m index; then
    start_index "$WORK/ifs/indexdb" --min-free 64K "$VOL" || exit 1
    for cycle in 1 2 3; do
        leave "$WORK/ifs" 110
        client puts "$IPORT" "/c$cycle/$(printf 'k%.0s' $(seq 290))" 0 3000 40 \
            "$WORK/p$cycle" stop
        expect "cycle $cycle: the write that would fill the index's disk answers 507" \
            507 "$(tail -n 1 "$WORK/p$cycle" | cut -d' ' -f2)"
        if grep -q '^index read-only: .* free, 64 KiB required$' "$WORK/reason.p$cycle"; then
            ok "cycle $cycle: with a one-line reason"
        else
            bad "cycle $cycle: with a one-line reason" "$(cat "$WORK/reason.p$cycle")"
        fi
        [ "$(acked "$WORK/p$cycle")" -gt 20 ] && ok "cycle $cycle: writes went on until then" ||
            bad "cycle $cycle: writes went on until then" "$(acked "$WORK/p$cycle") acknowledged"
        keys "$WORK/all" "$WORK"/p?
        expect "cycle $cycle: every key stored still redirects" "302:$(acked "$WORK/all")" \
            "$(client check "$IPORT" "$WORK/all")"
        expect "cycle $cycle: an absent key is still 404" 404 "$(code "$URL/absent$cycle")"
        expect "cycle $cycle: listing still works" 200 "$(code "$URL/c$cycle?list&limit=1")"
        expect "cycle $cycle: health answers 503" 503 "$(code "$URL/?health")"
        case $(health_index) in
        "read-only: "*" free, 64 KiB required") ok "cycle $cycle: and says the index is read-only and why" ;;
        *) bad "cycle $cycle: and says the index is read-only and why" "$(health_index)" ;;
        esac
        if [ "$cycle" = 1 ]; then
            first=$(head -n 1 "$WORK/p1" | cut -d' ' -f1)
            expect "a DELETE is refused too while read-only" 507 "$(code -X DELETE "$URL$first")"
            expect "and the key stays" 302 "$(code "$URL$first")"
        fi
        rm -f "$WORK/ifs/filler"
        expect "cycle $cycle: once there is room, writes resume without a restart" 201 \
            "$(put_again "/again$cycle" "$WORK/p$cycle")"
        expect "cycle $cycle: and health is 200 again" 200 "$(code "$URL/?health")"
        stop "$IPID"
        expect "cycle $cycle: the index stops cleanly" 0 "$STOPPED"
        start_index "$WORK/ifs/indexdb" --min-free 64K "$VOL" || { bad "cycle $cycle: the index file opens again"; break; }
        ok "cycle $cycle: the index file opens again"
        keys "$WORK/all" "$WORK"/p?
        expect "cycle $cycle: every acknowledged key is there after the restart" \
            "302:$(acked "$WORK/all")" "$(client check "$IPORT" "$WORK/all")"
    done
    expect "the volume holds a file for exactly the acknowledged keys" same \
        "$(client files "$WORK/v1" "$WORK"/p?)"
    if grep -q 'recover' "$WORK/ifs.log"; then
        bad "GDBM never failed: the reserve kept it from ENOSPC" "$(grep -m 2 recover "$WORK/ifs.log")"
    else
        ok "GDBM never failed: the reserve kept it from ENOSPC"
    fi
    stop "$IPID"
else
    skip "cannot mount a tmpfs here (needs root): the index disk-full checks"
fi

echo "# with the reserve off (--min-free 0) GDBM meets ENOSPC itself"
if small_fs "$WORK/ifs0" 1m index; then
    start_index "$WORK/ifs0/indexdb" --min-free 0 "$VOL" || exit 1
    for cycle in 1 2; do
        leave "$WORK/ifs0" 24
        client puts "$IPORT" "/z$cycle/$(printf 'k%.0s' $(seq 290))" 0 3000 40 \
            "$WORK/z$cycle" stop
        expect "cycle $cycle: the write GDBM could not finish answers 507" 507 \
            "$(tail -n 1 "$WORK/z$cycle" | cut -d' ' -f2)"
        keys "$WORK/all" "$WORK"/z?
        expect "cycle $cycle: reads keep working meanwhile: every key stored redirects" \
            "302:$(acked "$WORK/all")" "$(client check "$IPORT" "$WORK/all")"
        expect "cycle $cycle: an absent key is still 404" 404 "$(code "$URL/zabsent$cycle")"
        expect "cycle $cycle: writes are refused meanwhile" 507 "$(code -X PUT -d x "$URL/zrefused$cycle")"
        case $(health_index) in
        "broken: "*"No space left on device"*) ok "cycle $cycle: health says the index waits to be rebuilt, and why" ;;
        *) bad "cycle $cycle: health says the index waits to be rebuilt, and why" "$(health_index)" ;;
        esac
        rm -f "$WORK/ifs0/filler"
        expect "cycle $cycle: once there is room the index recovers by itself: reads" \
            "302:$(acked "$WORK/all")" "$(until_ok "302:$(acked "$WORK/all")" client check "$IPORT" "$WORK/all")"
        expect "cycle $cycle: and writes" 201 "$(put_again "/zagain$cycle" "$WORK/z$cycle")"
        expect "cycle $cycle: the failed write was undone (no record left)" 404 \
            "$(code "$URL$(tail -n 2 "$WORK/z$cycle" | head -n 1 | cut -d' ' -f1)")"
        expect "cycle $cycle: no partial copy is left beside the index" 0 "$(leftovers "$WORK/ifs0")"
        stop "$IPID"
        start_index "$WORK/ifs0/indexdb" --min-free 0 "$VOL" || { bad "cycle $cycle: the index file opens again"; break; }
        ok "cycle $cycle: the index file opens again"
        keys "$WORK/all" "$WORK"/z?
        expect "cycle $cycle: every acknowledged key is there after the restart" \
            "302:$(acked "$WORK/all")" "$(client check "$IPORT" "$WORK/all")"
    done
    if grep -q 'index: recovered in' "$WORK/ifs0.log"; then
        ok "the log says the index was recovered"
    else
        bad "the log says the index was recovered"
    fi
    stop "$IPID"
else
    skip "cannot mount a tmpfs here (needs root): the ENOSPC recovery checks"
fi

echo "# a file size limit (RLIMIT_FSIZE): no mount needed"
if command -v prlimit >/dev/null 2>&1; then
    mkdir -p "$WORK/rl"
    start_index "$WORK/rl/indexdb" --min-free 32K "$VOL" || exit 1
    client puts "$IPORT" /r/a 0 50 40 "$WORK/r1"
    size=$(stat -c %s "$WORK/rl/indexdb")
    prlimit --pid "$IPID" --fsize=$((size + 64 * 1024)):unlimited
    client puts "$IPORT" /r/b 0 3000 40 "$WORK/r1" stop
    expect "under a file size limit the write that would pass it answers 507" 507 \
        "$(tail -n 1 "$WORK/r1" | cut -d' ' -f2)"
    if grep -q '^index read-only: the file size limit leaves .*, 32 KiB required$' "$WORK/reason.r1"; then
        ok "with the limit as the reason"
    else
        bad "with the limit as the reason" "$(cat "$WORK/reason.r1")"
    fi
    expect "stored keys still redirect" "302:$(acked "$WORK/r1")" "$(client check "$IPORT" "$WORK/r1")"
    expect "an absent key is still 404" 404 "$(code "$URL/r/absent")"
    expect "health answers 503" 503 "$(code "$URL/?health")"
    case $(health_index) in
    "read-only: the file size limit leaves "*) ok "and names the limit" ;;
    *) bad "and names the limit" "$(health_index)" ;;
    esac
    prlimit --pid "$IPID" --fsize=unlimited:unlimited
    expect "with the limit lifted writes resume" 201 "$(put_again /r/again "$WORK/r1")"
    stop "$IPID"
    start_index "$WORK/rl/indexdb" --min-free 32K "$VOL" || exit 1
    expect "every acknowledged key is there after a restart" "302:$(acked "$WORK/r1")" \
        "$(client check "$IPORT" "$WORK/r1")"
    stop "$IPID"

    echo "# ... and with the reserve off GDBM meets EFBIG itself"
    mkdir -p "$WORK/rl0"
    start_index "$WORK/rl0/indexdb" --min-free 0 "$VOL" || exit 1
    client puts "$IPORT" /e/a 0 50 40 "$WORK/e1"
    size=$(stat -c %s "$WORK/rl0/indexdb")
    prlimit --pid "$IPID" --fsize=$((size + 8 * 1024)):unlimited
    client puts "$IPORT" /e/b 0 3000 40 "$WORK/e1" stop
    expect "the write GDBM could not finish answers 507" 507 "$(tail -n 1 "$WORK/e1" | cut -d' ' -f2)"
    expect "reads keep working meanwhile: every key stored redirects" "302:$(acked "$WORK/e1")" \
        "$(client check "$IPORT" "$WORK/e1")"
    expect "an absent key is still 404" 404 "$(code "$URL/e/absent")"
    expect "health answers 503 meanwhile" 503 "$(code "$URL/?health")"
    case $(health_index) in
    "broken: "*"File too large"*) ok "and says the index waits to be rebuilt, and why" ;;
    *) bad "and says the index waits to be rebuilt, and why" "$(health_index)" ;;
    esac
    prlimit --pid "$IPID" --fsize=unlimited:unlimited
    expect "with the limit lifted the index recovers by itself: reads" "302:$(acked "$WORK/e1")" \
        "$(until_ok "302:$(acked "$WORK/e1")" client check "$IPORT" "$WORK/e1")"
    expect "and writes" 201 "$(put_again /e/again "$WORK/e1")"
    expect "the failed write was undone (no record left)" 404 \
        "$(code "$URL$(tail -n 2 "$WORK/e1" | head -n 1 | cut -d' ' -f1)")"
    until_ok 200 code "$URL/e/?list&limit=1" >/dev/null
    expect "the listing agrees: every acknowledged key, and not the failed one" \
        "$(acked "$WORK/e1")" \
        "$(curl -s "$URL/e/?list" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["keys"]))')"
    expect "no partial copy is left beside the index" 0 "$(leftovers "$WORK/rl0")"
    stop "$IPID"
    start_index "$WORK/rl0/indexdb" --min-free 0 "$VOL" || exit 1
    ok "the index file opens again"
    expect "every acknowledged key is there after a restart" "302:$(acked "$WORK/e1")" \
        "$(client check "$IPORT" "$WORK/e1")"
    stop "$IPID"
    expect "the volume holds a file for exactly the acknowledged keys" same \
        "$(client files "$WORK/v1" "$WORK"/p? "$WORK"/z? "$WORK/r1" "$WORK/e1" 2>/dev/null)"
else
    skip "prlimit is not installed: the file size limit checks"
fi

echo "# a volume's disk fills up (1 MiB tmpfs)"
if small_fs "$WORK/vfs" 1m; then
    start_volume "$WORK/vfs" || exit 1
    FULL="localhost:$VPORT"
    start_index "$WORK/vfull-indexdb" "$FULL" || exit 1
    client puts "$IPORT" /big/ 0 10 300000 "$WORK/b1" stop
    expect "a PUT to a full volume answers 507" 507 "$(tail -n 1 "$WORK/b1" | cut -d' ' -f2)"
    if grep -q "^volume $FULL is out of space: .* free, .* needed$" "$WORK/reason.b1"; then
        ok "naming the volume"
    else
        bad "naming the volume" "$(cat "$WORK/reason.b1")"
    fi
    refused=$(tail -n 1 "$WORK/b1" | cut -d' ' -f1)
    expect "the refused key is absent" 404 "$(code "$URL$refused")"
    expect "and has no record, not even an unlinked one" '{"next": "", "keys": []}' \
        "$(curl -s "$URL/big/?unlinked")"
    expect "the volume holds exactly the acknowledged values" same "$(client files "$WORK/vfs" "$WORK/b1")"
    expect "and no upload left behind" "" "$(find "$WORK/vfs/.nginx" -path '*/body/*' -type f)"
    expect "health answers 503" 503 "$(code "$URL/?health")"
    expect "and names the full volume" "True True" "$(curl -s "$URL/?health" | $PY -c '
import json, sys
v = json.load(sys.stdin)["volumes"][0]
print(v["up"], v.get("full", False))')"
    expect "a DELETE makes room" 204 "$(code -X DELETE "$URL$(head -n 1 "$WORK/b1" | cut -d' ' -f1)")"
    expect "then health is 200 again" 200 "$(until_ok 200 code "$URL/?health")"
    expect "and a PUT is stored" 201 "$(code -X PUT -d small "$URL/big/small")"
    stop "$IPID"
else
    skip "cannot mount a tmpfs here (needs root): the volume disk-full checks"
fi

echo "# a flood of unusable records logs a few lines, not one a request"
mkdir -p "$WORK/bad"
$PY -c '
import dbm.gnu, sys
db = dbm.gnu.open(sys.argv[1], "c")
for i in range(50):
    db[b"/bad%d" % i] = b"not a record"
db.close()' "$WORK/bad/indexdb"
start_index "$WORK/bad/indexdb" "$VOL" || exit 1
expect "an unusable record answers 500" 500 "$(code "$URL/bad1")"
t0=$(date +%s)
if command -v wrk >/dev/null 2>&1; then
    sent=$(wrk -t 2 -c 16 -d 3s "$URL/bad1" 2>&1 | sed -n 's/.*Non-2xx or 3xx responses: *//p')
else
    sent=$(client flood "$IPORT" /bad1 3)
fi
secs=$(($(date +%s) - t0 + 1))
lines=$(grep -c 'GET /bad1: record' "$WORK/bad/indexdb.log")
[ "${sent:-0}" -ge 500 ] && ok "the flood sent many requests (${sent:-0})" ||
    bad "the flood sent many requests" "${sent:-0}"
[ "$lines" -ge 1 ] && [ "$lines" -le $((secs + 2)) ] &&
    ok "and they logged $lines lines, at most one a second" ||
    bad "and they logged at most one line a second" "$lines lines in $secs s"
expect "a line says how many were left out" 1 \
    "$(grep 'GET /bad1: record' "$WORK/bad/indexdb.log" | grep -c -m 1 'more like this not logged')"

finish
