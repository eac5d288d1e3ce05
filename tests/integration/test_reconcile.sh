#!/bin/bash
# test_reconcile.sh -- no two keys share a path (pairs that collide in
# pymkv's nested form, stored in both orders; an old nested key kept
# readable), and `mkv-index reconcile`: unnamed files removed after the
# grace period, missing and (with --verify) corrupt replicas restored,
# --dry-run changing nothing, the exit status, and the index lock.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

for i in 1 2 3; do
    start_volume "$WORK/v$i" || exit 1
    eval "V$i=$VPORT VPID$i=$VPID"
done
VOLS="localhost:$V1 localhost:$V2 localhost:$V3"
VMAP="localhost:$V1=$WORK/v1 localhost:$V2=$WORK/v2 localhost:$V3=$WORK/v3"
: > "$WORK/acked"
# put KEY VALUE -- PUT; a 201 is recorded as acknowledged.
put() {
    local st
    st=$(code -X PUT -d "$2" "$URL$1")
    [ "$st" = 201 ] && printf '%s %s\n' "$($PY -c 'import sys, urllib.parse; print(urllib.parse.unquote_to_bytes(sys.argv[1]).hex())' "$1")" \
        "$(printf '%s' "$2" | md5sum | cut -c1-32)" >> "$WORK/acked"
    echo "$st"
}
# files -- every file on the volumes, with its size, sorted.
files() { (cd "$WORK" && find v1 v2 v3 -name .nginx -prune -o -type f -printf '%p %s\n' | sort); }
# on_disk KEY -- how many volumes hold KEY's file under the flat name.
on_disk() {
    local p n=0
    p=$(vname "$($PY -c 'import sys, urllib.parse; sys.stdout.buffer.write(urllib.parse.unquote_to_bytes(sys.argv[1]))' "$1")")
    for i in 1 2 3; do [ -f "$WORK/v$i$p" ] && n=$((n + 1)); done
    echo "$n"
}

# shellcheck disable=SC2086
start_index "$WORK/db" --replicas 2 $VOLS || exit 1

echo "# keys whose nested paths collide, stored in both orders"
# collide.py: "HEX1 HEX2 URL1 URL2", the first's nested path a directory
# of the second's; even pairs begin with a plain key, odd with a nesting one.
$PY tests/integration/collide.py 4 > "$WORK/pairs"
n=0
while read -r _ _ a b; do
    n=$((n + 1))
    expect "pair $n: the first key is stored" 201 "$(put "$a" "first $n")"
    expect "pair $n: then the second, below its nested path" 201 "$(put "$b" "second $n")"
    expect "pair $n: both read back" "first $n|second $n" "$(curl -s -L "$URL$a")|$(curl -s -L "$URL$b")"
    expect "pair $n: both delete" "204 204" "$(code -X DELETE "$URL$a") $(code -X DELETE "$URL$b")"
    expect "pair $n: the second stored first" 201 "$(put "$b" "second again $n")"
    expect "pair $n: then the first" 201 "$(put "$a" "first again $n")"
    expect "pair $n: both read back" "first again $n|second again $n" \
        "$(curl -s -L "$URL$a")|$(curl -s -L "$URL$b")"
    expect "pair $n: each on its 2 replicas under its own name" "2 2" "$(on_disk "$a") $(on_disk "$b")"
done < "$WORK/pairs"
# The deleted values are acknowledged as overwritten: keep the last.
$PY -c '
import sys
last = {}
for line in open(sys.argv[1]):
    k, v = line.split(); last[k] = v
open(sys.argv[1], "w").write("".join("%s %s\n" % kv for kv in last.items()))' "$WORK/acked"
stop "$IPID"
agreement "the index and the volumes agree after the pairs" "$WORK/db" "$WORK/acked" $VMAP

echo "# a key stored by pymkv in the nested form stays readable; a key it blocks says why"
# A pair of our own, as collide.py makes them: "/o1" and one below it.
read -r _ _ oa ob < <($PY - <<'PYEOF'
import hashlib, urllib.parse
a = b"/o1"
want = hashlib.md5(a).digest()[:2]
for c in range(1 << 24):
    b = a + b"\xff" + b"%d" % c
    if hashlib.md5(b).digest()[:2] == want:
        break
print(a.hex(), b.hex(), urllib.parse.quote(a, safe="/"), urllib.parse.quote(b, safe="/"))
PYEOF
)
nested=$($PY -c 'import sys, urllib.parse; sys.path.insert(0, "tests/integration"); from vname import vname; print(vname(urllib.parse.unquote_to_bytes(sys.argv[1]), nested=True))' "$ob")
# On a volume "/o1" would be written to, with a record as pymkv writes it.
# shellcheck disable=SC2086
ov=$(placed /o1 2 1 $VOLS | cut -d' ' -f1)
od=$(for i in 1 2 3; do eval "[ \"$ov\" = localhost:\$V$i ]" && echo "$WORK/v$i"; done)
mkdir -p "$od$(dirname "$nested")"
printf 'from pymkv' > "$od$nested"
$PY -c '
import dbm.gnu, sys, urllib.parse
db = dbm.gnu.open(sys.argv[1], "w"); db[urllib.parse.unquote_to_bytes(sys.argv[2])] = sys.argv[3].encode(); db.close()' \
    "$WORK/db" "$ob" "$ov"
# shellcheck disable=SC2086
start_index "$WORK/db" --replicas 2 $VOLS || exit 1
expect "the old key is served from its nested path" "from pymkv" "$(curl -s -L "$URL$ob")"
case "$(curl -s -o /dev/null -w '%{redirect_url}' "$URL$ob")" in
*"$nested") ok "the redirect names the nested path" ;;
*) bad "the redirect names the nested path" ;;
esac
got=$(curl -s -w ' %{http_code}' -X PUT -d blocked "$URL$oa")
case "$got" in
*"is a directory"*" 409") ok "a key whose path is the old key's directory answers 409 and says why" ;;
*) bad "a key whose path is the old key's directory answers 409 and says why" "$got" ;;
esac
expect "and the old key still reads back" "from pymkv" "$(curl -s -L "$URL$ob")"
stop "$IPID"
cp "$WORK/db" "$WORK/db.before"
# shellcheck disable=SC2086
"$BIN"/mkv-index rebuild --index "$WORK/db" --replicas 2 --md5sum=false $VOLS 2>"$WORK/rb.err"
expect "rebuild exits 0" 0 "$?"
$PY - "$WORK/db.before" "$WORK/db" > "$WORK/rb.diff" <<'PYEOF'
import dbm.gnu, re, sys
a, b = (dbm.gnu.open(p, "r") for p in sys.argv[1:3])
strip = lambda v: re.sub(rb"HASH[0-9a-f]{32}", b"", v)
for k in sorted(set(a.keys()) | set(b.keys())):
    if k not in a or k not in b or strip(a[k]) != strip(b[k]):
        print(k, a.get(k), b.get(k))
PYEOF
if [ ! -s "$WORK/rb.diff" ]; then ok "rebuild finds both name forms and writes the same records"; else bad "rebuild finds both name forms and writes the same records" "$(head -n 3 "$WORK/rb.diff")"; fi
cp "$WORK/db.before" "$WORK/db"
printf '%s -\n' "$(echo "$oa" | $PY -c 'import sys, urllib.parse; print(urllib.parse.unquote_to_bytes(sys.stdin.read().strip()).hex())')" >> "$WORK/acked"

echo "# reconcile"
# shellcheck disable=SC2086
start_index "$WORK/db" --replicas 2 $VOLS || exit 1
for i in $(seq 1 12); do put "/rc/$i" "value $i" >/dev/null; done
expect "a flat key for the rest" 201 "$(put "/rc/%3F%3F%3F" "flat value")"
# shellcheck disable=SC2086
"$BIN"/mkv-index reconcile --index "$WORK/db" $VOLS 2>"$WORK/rc0.err"
expect "reconcile refuses while the server holds the index" 1 "$?"
if grep -q 'in use' "$WORK/rc0.err"; then ok "and says to stop the server"; else bad "and says to stop the server" "$(cat "$WORK/rc0.err")"; fi
stop "$IPID"
agreement "the index and the volumes agree before the damage" "$WORK/db" "$WORK/acked" $VMAP

# where KEY -- "DIR PATH" of each replica (from the record, by Python).
where() {
    $PY - "$WORK/db" "$1" $VMAP <<'PYEOF'
import dbm.gnu, sys
sys.path.insert(0, "tests/integration")
from agree import parse
from vname import vname
db = dbm.gnu.open(sys.argv[1], "r"); k = sys.argv[2].encode()
_, flat, _, vols = parse(db[k])
m = dict(a.split("=", 1) for a in sys.argv[3:])
for v in vols: print(m[v], vname(k, nested=not flat))
PYEOF
}
where /rc/1 > "$WORK/w1"; where /rc/2 > "$WORK/w2"; where /rc/3 > "$WORK/w3"; where '/rc/???' > "$WORK/wf"
read -r d1 p1 < "$WORK/w1"             # /rc/1 loses a replica
read -r d2 p2 < "$WORK/w2"             # /rc/2 gets one corrupted (same size)
other=$(for i in 1 2 3; do grep -q "^$WORK/v$i " "$WORK/w3" || echo "$WORK/v$i"; done | head -n 1)
read -r d3 p3 < "$WORK/w3"             # /rc/3 gets a stale copy on another volume
read -r df pf < "$WORK/wf"
rm "$d1$p1"
printf 'VALUE 2' > "$d2$p2"
mkdir -p "$other$(dirname "$p3")"; cp "$d3$p3" "$other$p3"
touch -d '2 hours ago' "$other$p3"
nf=$($PY -c 'import sys; sys.path.insert(0, "tests/integration"); from vname import vname; print(vname(b"/rc/???", nested=True))')
mkdir -p "$df$(dirname "$nf")"; cp "$df$pf" "$df$nf"; touch -d '2 hours ago' "$df$nf" # the other name form
orphan=$(vname /rc/never-stored)
mkdir -p "$WORK/v1$(dirname "$orphan")"; printf 'late' > "$WORK/v1$orphan"
touch -d '2 hours ago' "$WORK/v1$orphan"
young=$(vname /rc/in-flight)
mkdir -p "$WORK/v2$(dirname "$young")"; printf 'in flight' > "$WORK/v2$young"
# a key's name in another key's directory
wrong="$(dirname "$(vname /rc/1)")/$(basename "$(vname /rc/4)")"
[ "$wrong" != "$(vname /rc/4)" ] || bad "the wrong-directory name is in another directory"
mkdir -p "$WORK/v3$(dirname "$wrong")"; printf 'misplaced' > "$WORK/v3$wrong"; touch -d '2 hours ago' "$WORK/v3$wrong"
files > "$WORK/files.before"

# shellcheck disable=SC2086
"$BIN"/mkv-index reconcile --index "$WORK/db" --dry-run --verify $VOLS 2>"$WORK/rc1.err"
expect "reconcile --dry-run exits 1 while something is wrong" 1 "$?"
files > "$WORK/files.after"
if cmp -s "$WORK/files.before" "$WORK/files.after"; then ok "and changes no file"; else bad "and changes no file" "$(diff "$WORK/files.before" "$WORK/files.after" | head -n 3)"; fi
for what in "$other$p3: its record names another copy; would be removed" \
            "$df$nf" "$WORK/v1$orphan: no record; would be removed" "$WORK/v3$wrong" \
            "would be copied" "with the wrong md5"; do
    w=${what#"$WORK"/}
    if grep -qF "${w#v?}" "$WORK/rc1.err"; then ok "--dry-run reports ${w:0:60}"; else bad "--dry-run reports ${w:0:60}" "$(tail -n 3 "$WORK/rc1.err")"; fi
done
expect "--dry-run's summary counts 4 unnamed files, 1 young, 1 missing, 1 corrupt" \
    "4 unnamed files to remove, 1 younger|1 replica missing, 1 with the wrong md5" \
    "$(grep -o '[0-9]* unnamed files to remove, [0-9]* younger' "$WORK/rc1.err")|$(grep -o '[0-9]* replicas* missing, [0-9]* with the wrong md5' "$WORK/rc1.err")"

# shellcheck disable=SC2086
"$BIN"/mkv-index reconcile --index "$WORK/db" $VOLS 2>"$WORK/rc2.err"
rc=$?
expect "reconcile without --verify exits 0 (the corrupt copy is not looked at)" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/#   /' "$WORK/rc2.err"
expect "it removed the 4 old unnamed files" "" \
    "$(for f in "$other$p3" "$df$nf" "$WORK/v1$orphan" "$WORK/v3$wrong"; do [ -e "$f" ] && echo "$f"; done)"
if [ -e "$WORK/v2$young" ]; then ok "it left the file younger than the grace period"; else bad "it left the file younger than the grace period"; fi
expect "it restored the missing replica" "value 1" "$(cat "$d1$p1" 2>/dev/null)"
expect "it kept the replicas the records name" \
    "$(grep -vF -e "${other#"$WORK"/}$p3 " -e "${df#"$WORK"/}$nf " -e "v1$orphan " -e "v3$wrong " "$WORK/files.before")" \
    "$(files | grep -vF "${d1#"$WORK"/}$p1 ")"

# shellcheck disable=SC2086
"$BIN"/mkv-index reconcile --index "$WORK/db" --verify --grace 0 $VOLS 2>"$WORK/rc3.err"
rc=$?
expect "reconcile --verify --grace 0 exits 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/#   /' "$WORK/rc3.err"
expect "it copied the good value over the corrupt replica" "value 2" "$(cat "$d2$p2")"
if [ ! -e "$WORK/v2$young" ]; then ok "and, with no grace, removed the young file"; else bad "and, with no grace, removed the young file"; fi
agreement "the index and the volumes agree after reconcile" "$WORK/db" "$WORK/acked" $VMAP
files > "$WORK/files.before"
# shellcheck disable=SC2086
"$BIN"/mkv-index reconcile --index "$WORK/db" --verify --grace 0 $VOLS 2>"$WORK/rc4.err"
expect "a second run exits 0" 0 "$?"
if grep -q 'the volumes agree with the index' "$WORK/rc4.err" && cmp -s "$WORK/files.before" <(files); then
    ok "finds nothing to do and changes nothing"
else
    bad "finds nothing to do and changes nothing" "$(tail -n 1 "$WORK/rc4.err")"
fi

echo "# reconcile when it cannot repair"
read -r d4 p4 < <(where /rc/4 | head -n 1)
where /rc/4 | while read -r d p; do rm "$d$p"; done
# shellcheck disable=SC2086
"$BIN"/mkv-index reconcile --index "$WORK/db" --grace 0 $VOLS 2>"$WORK/rc5.err"
expect "a key with no copy left: exit 1" 1 "$?"
if grep -q 'no good copy left' "$WORK/rc5.err"; then ok "and it says so"; else bad "and it says so" "$(tail -n 2 "$WORK/rc5.err")"; fi
stop "$VPID3"
# shellcheck disable=SC2086
"$BIN"/mkv-index reconcile --index "$WORK/db" --grace 0 --voltimeout 500 $VOLS 2>"$WORK/rc6.err"
expect "a volume down: exit 1" 1 "$?"
if grep -q "localhost:$V3 could not be read in full" "$WORK/rc6.err"; then ok "and its replicas are not judged missing"; else bad "and its replicas are not judged missing" "$(tail -n 2 "$WORK/rc6.err")"; fi
finish
