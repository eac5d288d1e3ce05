#!/bin/bash
# test_crash.sh -- kill -9 in the middle of work. The index is killed
# during 8 parallel streams of PUTs, restarted on the same index file, and
# every key it acknowledged (201) must read back with exactly its value,
# while no key reads back a wrong or partial value. Then a volume's nginx
# master is killed under the running cluster, which must serve again
# within 2 s (the launcher's side of that, its logs and its process group,
# is tested in test_volume.sh).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

ROUNDS=3      # kill -9 of the index, this many times
WRITERS=8     # parallel PUT loops
PER_WRITER=200 # most PUTs one loop sends in a round (bounds the run)

start_volume "$WORK/v1" || exit 1; V1=$VPORT; VPID1=$VPID
start_volume "$WORK/v2" || exit 1; V2=$VPORT
start_volume "$WORK/v3" || exit 1; V3=$VPORT
VOLS="localhost:$V1 localhost:$V2 localhost:$V3"
mkdir -p "$WORK/vals"

# writer ROUND N -- PUT fresh keys with random values of 1-8 KB until
# $WORK/stop appears; one line per PUT in $WORK/w.ROUND.N.txt:
# "KEY STATUS SHA256".
writer() {
    local j=0 key f st sum
    while [ ! -e "$WORK/stop" ] && [ "$j" -lt "$PER_WRITER" ]; do
        j=$((j + 1))
        key="/crash/r$1/w$2/k$j"
        f="$WORK/vals/r$1-w$2-k$j"
        head -c $((1024 + RANDOM % 7168)) /dev/urandom >"$f"
        sum=$(sha256sum <"$f")
        st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X PUT \
            --data-binary @"$f" "$URL$key")
        echo "$key $st ${sum%% *}" >>"$WORK/w.$1.$2.txt"
    done
}

# acked -- how many PUTs of this round were answered 201 so far.
acked() { cat "$WORK"/w."$1".*.txt 2>/dev/null | grep -c ' 201 '; }

echo "# kill -9 of the index during parallel PUTs, $ROUNDS times"
for r in $(seq "$ROUNDS"); do
    # shellcheck disable=SC2086
    start_index "$WORK/indexdb" $VOLS || exit 1
    rm -f "$WORK/stop"
    writers=""
    for w in $(seq "$WRITERS"); do
        writer "$r" "$w" &
        writers="$writers $!"
    done
    # Let some PUTs complete (at least 20, at most 5 s), then a little
    # longer at random so the kill lands anywhere in a PUT.
    for _ in $(seq 100); do [ "$(acked "$r")" -ge 20 ] && break; sleep 0.05; done
    sleep "0.$((RANDOM % 5))"
    kill -9 "$IPID"
    wait "$IPID" 2>/dev/null
    touch "$WORK/stop"
    # shellcheck disable=SC2086
    wait $writers
    echo "# round $r: $(acked "$r") PUTs acknowledged before the kill," \
        "$(cat "$WORK"/w."$r".*.txt | grep -vc ' 201 ') not"
done

# Read the killed index's file as it was left (the index holds a lock
# on it once restarted).
$PY -c '
import dbm.gnu, sys
db = dbm.gnu.open(sys.argv[1], "r")
k = db.firstkey(); n = 0
while k is not None:
    db[k]; n += 1; k = db.nextkey(k)
print(n)' "$WORK/indexdb" >"$WORK/count" 2>&1
if [ "$(cat "$WORK/count")" -ge "$(cat "$WORK"/w.*.txt | grep -c ' 201 ')" ] 2>/dev/null; then
    ok "python's dbm.gnu reads every record of the killed index"
else
    bad "python's dbm.gnu reads every record of the killed index" "$(tail -n 1 "$WORK/count")"
fi
# shellcheck disable=SC2086
start_index "$WORK/indexdb" $VOLS || exit 1
ok "the index restarts on the file it was killed over"
# Every key written, fetched through the index (redirect followed), 8 at
# a time: "KEY STATUS SHA256 GOT" where GOT is "absent", the sha256 of
# what was read, or "broken ERROR".
cat "$WORK"/w.*.txt | $PY -c '
import concurrent.futures, hashlib, sys, urllib.error, urllib.parse, urllib.request
base = sys.argv[1]
def fetch(line):
    key, st, sha = line.split()
    try:
        with urllib.request.urlopen(base + urllib.parse.quote(key), timeout=10) as r:
            got = hashlib.sha256(r.read()).hexdigest()
    except urllib.error.HTTPError as e:
        got = "absent" if e.code == 404 else "broken %d" % e.code
    except Exception as e:
        got = "broken " + type(e).__name__
    return "%s %s %s %s" % (key, st, sha, got.replace(" ", "-"))
with concurrent.futures.ThreadPoolExecutor(8) as ex:
    for out in ex.map(fetch, sys.stdin.read().splitlines()):
        print(out)' "$URL" >"$WORK/fetched"
total=0
lost=0
wrong=0
absent=0
present=0
while read -r key st sum got; do
    total=$((total + 1))
    if [ "$st" = 201 ]; then
        if [ "$got" != "$sum" ]; then
            lost=$((lost + 1))
            echo "# acknowledged $key reads back: $got"
        fi
    elif [ "$got" = absent ]; then
        absent=$((absent + 1))
    elif [ "$got" = "$sum" ]; then
        present=$((present + 1)) # stored, but the answer was cut off
    else
        wrong=$((wrong + 1))
        echo "# unacknowledged $key ($st) reads back: $got"
    fi
done <"$WORK/fetched"
acks=$(cat "$WORK"/w.*.txt | grep -c ' 201 ')
echo "# $total PUTs: $acks acknowledged; of the rest $absent absent, $present stored whole"
if [ "$acks" -ge $((ROUNDS * 20)) ]; then ok "at least 20 PUTs a round were acknowledged ($acks)"; else bad "at least 20 PUTs a round were acknowledged" "$acks"; fi
expect "every acknowledged key reads back exactly its value" 0 "$lost"
expect "no key reads back a wrong or partial value" 0 "$wrong"
# A key whose PUT was cut off and left nothing in the index can be PUT
# again, whatever its interrupted upload left on a volume.
retry=$(cat "$WORK"/w.*.txt | awk '$2 != 201 { print $1 }' | while read -r k; do
    [ "$(code "$URL$k")" = 404 ] && { echo "$k"; break; }
done)
if [ -n "$retry" ]; then
    # (409 while the restarted index cleans up what the cut-off PUT left)
    for _ in $(seq 30); do
        st=$(code -X PUT -d again "$URL$retry")
        [ "$st" = 409 ] || break
        sleep 0.1
    done
    expect "an interrupted key can be put again" 201 "$st"
    expect "and reads back the new value" again "$(curl -s -L --max-time 5 "$URL$retry")"
fi

echo "# kill -9 of a volume's nginx master under the running cluster"
# A key that lives on volume 1 (pymkv's placement, computed here).
onv1=$($PY -c '
import hashlib, sys
vols = sys.argv[1].split()
for i in range(10000):
    k = ("/on-v1/%d" % i).encode()
    if max(vols, key=lambda v: hashlib.md5(v.encode() + k).digest()) == vols[0]:
        print(k.decode()); break' "$VOLS")
expect "put a key that lives on volume 1" 201 "$(code -X PUT -d before "$URL$onv1")"
sleep 1 # nginx dying in its first second counts as a failed start
master=$(pgrep -P "$VPID1" -x nginx | head -n 1)
if [ -z "$master" ]; then
    bad "volume 1's nginx master found" "no nginx child of $VPID1"
else
    kill -9 "$master"
    t0=$(date +%s%N)
    got=""
    while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 2000 ]; do
        now=$(pgrep -P "$VPID1" -x nginx | head -n 1)
        if [ -n "$now" ] && [ "$now" != "$master" ]; then
            got=$(curl -s -L --max-time 1 "$URL$onv1")
            [ "$got" = before ] && break
        fi
        sleep 0.05
    done
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    expect "the key on volume 1 reads back through the index again" before "$got"
    if [ "$ms" -lt 2000 ]; then ok "within 2 s (${ms} ms)"; else bad "within 2 s" "${ms} ms"; fi
    onv1b=$($PY -c '
import hashlib, sys
vols = sys.argv[1].split()
for i in range(10000):
    k = ("/on-v1-after/%d" % i).encode()
    if max(vols, key=lambda v: hashlib.md5(v.encode() + k).digest()) == vols[0]:
        print(k.decode()); break' "$VOLS")
    expect "a new put to volume 1 answers 201" 201 "$(code -X PUT -d after "$URL$onv1b")"
    expect "and reads back" after "$(curl -s -L --max-time 5 "$URL$onv1b")"
fi

echo "# SIGTERM while a PUT waits on a volume that never answers"
# A "volume" that accepts connections, reads, and never answers (it
# exits by itself after 30 s).
MUTE=$(free_port)
$PY -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); s.settimeout(0.5)
held, end = [], time.time() + 30
while time.time() < end:
    try:
        c, _ = s.accept(); c.settimeout(0.1); held.append(c)
    except socket.timeout:
        pass
    for c in held:
        try: c.recv(65536)
        except OSError: pass' "$MUTE" &
PIDS="$PIDS $!"
stop "$IPID"
start_index "$WORK/mute.db" --voltimeout 1000 "localhost:$MUTE" || exit 1
code -X PUT -d stuck "$URL/stuck" >/dev/null &
client=$!
sleep 0.5
t0=$(date +%s%N)
stop "$IPID"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect "the index exits 0 after SIGTERM with a PUT stalled on its volume" 0 "$STOPPED"
if grep -q 'Fatal error' "$WORK/mute.db.log"; then
    bad "and logs no fatal error" "$(grep -m 1 'Fatal error' "$WORK/mute.db.log")"
else
    ok "and logs no fatal error"
fi
if [ "$ms" -lt 10000 ]; then ok "within 10 s (${ms} ms)"; else bad "within 10 s" "${ms} ms"; fi
wait "$client"

finish
