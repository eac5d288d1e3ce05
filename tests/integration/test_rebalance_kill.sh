#!/bin/bash
# test_rebalance_kill.sh -- `mkv-index rebalance` killed with SIGKILL at
# several moments (after a few, a third and two thirds of its copies),
# each time run again, then run to its end: the index and the volumes
# agree (agree.py), and reconcile finds nothing left to do.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

NKEYS=200
for i in 1 2 3 4; do
    start_volume "$WORK/v$i" || exit 1
    eval "V$i=$VPORT"
done
VOLS2="localhost:$V1 localhost:$V2"
VOLS4="localhost:$V1 localhost:$V2 localhost:$V3 localhost:$V4"
VMAP="localhost:$V1=$WORK/v1 localhost:$V2=$WORK/v2 localhost:$V3=$WORK/v3 localhost:$V4=$WORK/v4"

# shellcheck disable=SC2086
start_index "$WORK/db" $VOLS2 || exit 1
head -c 16384 /dev/urandom > "$WORK/value"
failed=0
for i in $(seq 1 $NKEYS); do
    k="/kill/$i"
    [ $((i % 10)) = 0 ] && k="/kill/$i%3F%3F" # some with a flat name
    if [ "$(printf '%s' "$i" | cat - "$WORK/value" | code -X PUT -T - "$URL$k")" = 201 ]; then
        echo "$i $k" >> "$WORK/stored"
    else
        failed=$((failed + 1))
    fi
done
# The acknowledged values, for agree.py: "HEXKEY MD5".
$PY - "$WORK/value" < "$WORK/stored" > "$WORK/acked" <<'PYEOF'
import hashlib, sys, urllib.parse
value = open(sys.argv[1], "rb").read()
for line in sys.stdin:
    i, k = line.split()
    print(urllib.parse.unquote_to_bytes(k).hex(), hashlib.md5(i.encode() + value).hexdigest())
PYEOF
expect "$NKEYS keys stored on 2 volumes" 0 "$failed"
stop "$IPID"

# new_copies -- files on the two new volumes (what the rebalance copied).
new_copies() { find "$WORK/v3" "$WORK/v4" -name .nginx -prune -o -type f -print | wc -l; }

# A move to 4 volumes x 2 replicas puts about NKEYS copies on the two new
# volumes; kill it once they hold AT files (bounded: 20 s), and run it
# again.
for at in 5 70 140; do
    # shellcheck disable=SC2086
    "$BIN"/mkv-index rebalance --index "$WORK/db" --replicas 2 $VOLS4 2>>"$WORK/rl.err" &
    RL=$!
    for _ in $(seq 2000); do
        [ "$(new_copies)" -ge "$at" ] && break
        kill -0 "$RL" 2>/dev/null || break
        sleep 0.01
    done
    kill -9 "$RL" 2>/dev/null
    wait "$RL" 2>/dev/null
    rc=$?
    if [ "$rc" = 137 ]; then
        ok "rebalance killed with SIGKILL after $at or more copies ($(new_copies) on the new volumes)"
    else
        bad "rebalance killed with SIGKILL after $at or more copies" "it ended first, exit $rc"
    fi
done
# shellcheck disable=SC2086
"$BIN"/mkv-index rebalance --index "$WORK/db" --replicas 2 $VOLS4 2>"$WORK/rl.last"
rc=$?
expect "the run after the kills exits 0" 0 "$rc"
[ "$rc" = 0 ] || tail -n 5 "$WORK/rl.last" | sed 's/^/#   /'
if [ ! -e "$WORK/db.stale" ]; then ok "and leaves no stale copy in its journal"; else bad "and leaves no stale copy in its journal" "$(wc -l < "$WORK/db.stale")"; fi
agreement "the index and the volumes agree" "$WORK/db" "$WORK/acked" $VMAP
# Every record names the two volumes placement gives.
# shellcheck disable=SC2086
$PY - "$WORK/db" $VOLS4 > "$WORK/placed.out" <<'PYEOF'
import dbm.gnu, hashlib, sys
sys.path.insert(0, "tests/integration")
from agree import parse
db, vols = dbm.gnu.open(sys.argv[1], "r"), sys.argv[2:]
bad = 0
k = db.firstkey()
while k is not None:
    want = [v for _, _, v in sorted(((hashlib.md5(v.encode() + k).digest(), i, v) for i, v in enumerate(vols)),
                                    key=lambda t: (bytes(255 - b for b in t[0]), t[1]))][:2]
    bad += parse(db[k])[3] != want
    k = db.nextkey(k)
print(bad)
PYEOF
expect "every record names its two placed volumes" 0 "$(cat "$WORK/placed.out")"
# shellcheck disable=SC2086
"$BIN"/mkv-index reconcile --index "$WORK/db" --verify --grace 0 $VOLS4 2>"$WORK/rc.err"
rc=$?
expect "reconcile --verify exits 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/#   /' "$WORK/rc.err" | tail -20
if grep -q '0 unnamed files removed.*0 replicas missing, 0 with the wrong md5' "$WORK/rc.err"; then
    ok "and finds nothing to remove or restore"
else
    bad "and finds nothing to remove or restore" "$(tail -n 1 "$WORK/rc.err")"
fi
finish
