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
total=0
lost=0
wrong=0
absent=0
present=0
# fetch KEY -- GET KEY through the index; print "absent", or the sha256 of the
# value when the redirect reads back 200, or "broken STATUS".
fetch() {
    local st
    st=$(curl -s -L -o "$WORK/got" -w '%{http_code}' --max-time 10 "$URL$1")
    case "$st" in
    404) echo absent ;;
    200) sha256sum <"$WORK/got" | cut -c1-64 ;;
    *) echo "broken $st" ;;
    esac
}
while read -r key st sum; do
    total=$((total + 1))
    got=$(fetch "$key")
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
done < <(cat "$WORK"/w.*.txt)
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
    expect "an interrupted key can be put again" 201 "$(code -X PUT -d again "$URL$retry")"
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

finish
