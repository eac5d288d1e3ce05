#!/bin/bash
# test_parity.sh -- minikeyvalue's features on real nginx volumes:
# replicas, subvolumes, md5 headers, UNLINK, --protect, --fallback,
# --probe, listing, long keys, rebuild and rebalance.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

VP=()
for i in 1 2 3 4 5; do
    start_volume "$WORK/v$i" || exit 1
    VP[$i]=$VPORT
    eval "VPID$i=$VPID"
done
VOLS5="localhost:${VP[1]} localhost:${VP[2]} localhost:${VP[3]} localhost:${VP[4]} localhost:${VP[5]}"
VOLS3="localhost:${VP[1]} localhost:${VP[2]} localhost:${VP[3]}"
dir_of() { # VOLUME -> its data directory
    for i in 1 2 3 4 5; do [ "$1" = "localhost:${VP[$i]}" ] && echo "$WORK/v$i"; done
}
# where KEY -- every volume directory holding KEY's file, sorted
where() {
    local p found=""
    p=$(vname "$1")
    for i in 1 2 3 4 5; do
        for f in "$WORK/v$i$p" "$WORK"/v$i/sv??"$p"; do
            [ -f "$f" ] && found="$found ${f%"$p"}"
        done
    done
    echo "$found" | tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' '
}
# want KEY REPLICAS SUBVOLUMES VOLS... -- the directories placement names
want() {
    local v out=""
    for v in $(placed "$@"); do
        out="$out $(dir_of "${v%%/*}")${v#"${v%%/*}"}"
    done
    echo "$out" | tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' '
}

# shellcheck disable=SC2086
start_index "$WORK/r3.db" --replicas 3 $VOLS5 || exit 1

echo "# replicas"
misplaced=0
for k in one two three four five six seven eight; do
    curl -s -X PUT -d "value $k" "$URL/$k" >/dev/null
    # shellcheck disable=SC2086
    [ "$(where "/$k")" = "$(want "/$k" 3 1 $VOLS5)" ] || misplaced=$((misplaced + 1))
done
expect "eight keys sit on exactly their three placed volumes" 0 "$misplaced"
curl -s -D "$WORK/h" -o /dev/null "$URL/one"
# shellcheck disable=SC2086
expect "Key-Volumes names the replicas in placement order" \
    "$(placed /one 3 1 $VOLS5 | tr ' ' ',')" \
    "$(sed -n 's/^Key-Volumes: \(.*\)\r$/\1/p' "$WORK/h")"
md5=$(printf 'value one' | md5sum | cut -c1-32)
expect "Content-Md5 is the value's md5" "$md5" "$(sed -n 's/^Content-Md5: \(.*\)\r$/\1/p' "$WORK/h")"
expect "ETag is the quoted md5" "\"$md5\"" "$(sed -n 's/^ETag: \(.*\)\r$/\1/p' "$WORK/h")"
loc=$(sed -n 's/^Location: http:\/\/\([^/]*\)\/.*\r$/\1/p' "$WORK/h")
case " $(placed /one 3 1 $VOLS5) " in
*" $loc "*) ok "GET redirects to one of the replicas" ;;
*) bad "GET redirects to one of the replicas" "$loc" ;;
esac
expect "each replica serves the value" "value one value one value one" \
    "$(for v in $(placed /one 3 1 $VOLS5); do curl -s "http://$v$(vname /one)"; echo; done | tr '\n' ' ' | sed 's/ $//')"

echo "# every put records its value's md5"
md5pids=""
for i in $(seq 1 40); do
    head -c $((RANDOM % 200000 + 1)) /dev/urandom > "$WORK/md5.$i"
    curl -s -o /dev/null -X PUT -T "$WORK/md5.$i" "$URL/md5/$i" &
    md5pids="$md5pids $!"
done
# shellcheck disable=SC2086
wait $md5pids
wrong=0
for i in $(seq 1 40); do
    want=$(md5sum < "$WORK/md5.$i" | cut -c1-32)
    got=$(curl -s -I "$URL/md5/$i" | sed -n 's/^Content-Md5: \(.*\)\r$/\1/p')
    [ "$want" = "$got" ] || wrong=$((wrong + 1))
done
expect "forty parallel puts each record their value's exact md5" 0 "$wrong"

echo "# racing puts"
race_puts /raced 2M
expect "racing puts of one key over three replicas give exactly one 201" 1 "$RACE_201"
curl -s -L -o "$WORK/race.out" "$URL/raced"
if cmp -s "$WORK/race" "$WORK/race.out"; then ok "the winner's value reads back"; else bad "the winner's value reads back"; fi

echo "# unlink, delete, protect"
expect "UNLINK a live key answers 204" 204 "$(code -X UNLINK "$URL/two")"
expect "GET after UNLINK answers 404" 404 "$(code "$URL/two")"
expect "a second UNLINK answers 404" 404 "$(code -X UNLINK "$URL/two")"
expect "the unlinked key is listed by ?unlinked" '{"next": "", "keys": ["/two"]}' "$(curl -s "$URL/?unlinked")"
expect "its files are still on the volumes" 3 "$(where /two | wc -w)"
expect "PUT of an unlinked key answers 201" 201 "$(code -X PUT -d again "$URL/two")"
expect "and GET reads the new value" again "$(curl -s -L "$URL/two")"
expect "DELETE answers 204" 204 "$(code -X DELETE "$URL/three")"
expect "every replica's file is gone" "" "$(where /three)"
curl -s -X UNLINK "$URL/four"
expect "DELETE of an unlinked key answers 204" 204 "$(code -X DELETE "$URL/four")"
# A PUT over an unlinked key that fails (its client hangs up mid-body,
# once the volumes are being written) leaves the key unlinked; and while
# a PUT is under way, ?unlinked does not list it.
curl -s -X PUT -d six "$URL/six" >/dev/null
curl -s -X UNLINK "$URL/six" >/dev/null
$PY -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"PUT /six HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"6" * 200000)
time.sleep(float(sys.argv[2]))
s.close()' "$IPORT" 1.5 &
CUTTER=$!
sleep 0.7
expect "while a PUT over an unlinked key is under way, GET answers 404" 404 "$(code "$URL/six")"
wait "$CUTTER"
sleep 0.5
expect "once that PUT failed the key is still unlinked" '{"next": "", "keys": ["/six"]}' "$(curl -s "$URL/?unlinked")"
expect "and DELETE of it still answers 204" 204 "$(code -X DELETE "$URL/six")"
$PY -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"PUT /inflight HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"8" * 200000)
time.sleep(1.5)
s.close()' "$IPORT" &
CUTTER=$!
sleep 0.7
expect "a new key being written is not listed as unlinked" '{"next": "", "keys": []}' \
    "$(curl -s "$URL/inflight?unlinked")"
expect "nor as live" '{"next": "", "keys": []}' "$(curl -s "$URL/inflight?list")"
wait "$CUTTER"
stop "$IPID"
# shellcheck disable=SC2086
start_index "$WORK/r3.db" --replicas 3 --protect $VOLS5 || exit 1
expect "with --protect, DELETE of a live key answers 403" 403 "$(code -X DELETE "$URL/five")"
expect "and the key is kept" "value five" "$(curl -s -L "$URL/five")"
expect "after UNLINK, DELETE answers 204" 204 "$(code -X UNLINK "$URL/five" >/dev/null; code -X DELETE "$URL/five")"

echo "# listing"
for k in /list/a /list/b /list/c /list/b/x /lisp /other; do
    curl -s -X PUT -d x "$URL$k" >/dev/null
done
expect "?list gives the keys under a prefix in order" \
    '{"next": "", "keys": ["/list/a", "/list/b", "/list/b/x", "/list/c"]}' "$(curl -s "$URL/list/?list")"
expect "limit stops early and next names the first key left" \
    '{"next": "/list/b/x", "keys": ["/list/a", "/list/b"]}' "$(curl -s "$URL/list/?list&limit=2")"
expect "start resumes there, inclusive" \
    '{"next": "", "keys": ["/list/b/x", "/list/c"]}' "$(curl -s "$URL/list/?list&start=/list/b/x")"
expect "the listing is JSON" "application/json" \
    "$(curl -s -o /dev/null -w '%{content_type}' "$URL/list/?list")"
expect "an unknown query operation answers 400" 400 "$(code "$URL/list/?lost")"
expect "a malformed limit answers 400" 400 "$(code "$URL/list/?list&limit=x")"

echo "# long and awkward keys"
K1000="/$(head -c 999 /dev/zero | tr '\0' L)"
expect "a 1000-byte key can be put" 201 "$(code -X PUT -d long "$URL$K1000")"
expect "and read back" long "$(curl -s -L "$URL$K1000")"
expect "a 1025-byte key answers 414" 414 "$(code -X PUT -d x "$URL/$(head -c 1024 /dev/zero | tr '\0' L)")"
longest=$(find "$WORK"/v? -name '.nginx' -prune -o -print | awk -F/ '{ for (i = 1; i <= NF; i++) if (length($i) > m) m = length($i) } END { print m }')
if [ "$longest" -le 255 ]; then ok "no name on disk is over 255 bytes ($longest)"; else bad "no name on disk is over 255 bytes" "$longest"; fi
# base64 "L2E/" ends in '/'; "/\xff\xff\xff" has "//" in base64 ("L///").
expect "a key whose base64 ends in '/' can be put" 201 "$(code -X PUT -d q "$URL/a%3F")"
expect "and read back" q "$(curl -s -L "$URL/a%3F")"
expect "a key whose base64 has '//' can be put" 201 "$(code -X PUT -d ff "$URL/%FF%FF%FF")"
expect "and read back" ff "$(curl -s -L "$URL/%FF%FF%FF")"
expect "a key that only differs in those slashes is another key" 201 "$(code -X PUT -d fe "$URL/%FF%FF%FE")"
expect "and does not disturb the first" ff "$(curl -s -L "$URL/%FF%FF%FF")"
# "/" and 1023 bytes 0xFF: a base64 name of nearly all '/', so its file
# sits about 1366 directories deep (rebuild below must walk it).
KFF="/$(printf '%%FF%.0s' $(seq 1023))"
expect "a 1024-byte key of 0xFF bytes can be put" 201 "$(code -X PUT -d deep "$URL$KFF")"
expect "and read back" deep "$(curl -s -L "$URL$KFF")"

echo "# rebuild"
curl -s -X DELETE "$URL/two" >/dev/null # keep only live keys for the comparison
# shellcheck disable=SC2086
"$BIN"/mkv-index rebuild --index "$WORK/r3.db" --replicas 3 $VOLS5 2>"$WORK/rb.err"
expect "rebuild refuses while the server holds the index" 1 "$?"
if grep -q 'in use' "$WORK/rb.err"; then ok "and says so"; else bad "and says so" "$(cat "$WORK/rb.err")"; fi
stop "$IPID"
cp "$WORK/r3.db" "$WORK/r3.orig"
# shellcheck disable=SC2086
"$BIN"/mkv-index rebuild --index "$WORK/r3.db" --replicas 3 $VOLS5 2>"$WORK/rb.err"
expect "rebuild exits 0" 0 "$?"
$PY - "$WORK/r3.orig" "$WORK/r3.db" > "$WORK/rb.diff" <<'PYEOF'
import dbm.gnu, sys
a, b = (dbm.gnu.open(p, "r") for p in sys.argv[1:3])
ka, kb = set(a.keys()), set(b.keys())
for k in sorted(ka ^ kb): print("only in", "server" if k in ka else "rebuild", k)
for k in sorted(ka & kb):
    if a[k] != b[k]: print("differs", k, a[k], b[k])
print("compared", len(ka), len(kb))
PYEOF
if [ "$(grep -vc '^compared' "$WORK/rb.diff")" -eq 0 ]; then
    ok "rebuild reproduces the server's records exactly ($(tail -n 1 "$WORK/rb.diff"))"
else
    bad "rebuild reproduces the server's records exactly" "$(head -n 5 "$WORK/rb.diff")"
fi

echo "# rebuild holds the index for its whole run"
# A volume that accepts and never answers keeps the rebuild busy.
MUTE=$(free_port)
$PY -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); held = []
while True: held.append(s.accept()[0])' "$MUTE" &
MUTE_PID=$!
sleep 0.3
cp "$WORK/r3.db" "$WORK/r3.before"
"$BIN"/mkv-index rebuild --index "$WORK/r3.db" --voltimeout 3000 "localhost:${VP[1]}" "127.0.0.1:$MUTE" 2>"$WORK/rb2.err" &
RB_PID=$!
sleep 1
timeout 10 "$BIN"/mkv-index --port "$(free_port)" --index "$WORK/r3.db" "localhost:${VP[1]}" 2>"$WORK/beside.err"
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then ok "a server started beside a rebuild refuses the index (exit $rc)"; else bad "a server started beside a rebuild refuses the index" "exit $rc"; fi
if grep -q 'in use' "$WORK/beside.err"; then ok "and says it is in use"; else bad "and says it is in use" "$(head -n 3 "$WORK/beside.err")"; fi
wait "$RB_PID"
expect "the rebuild that could not read a volume exits 1" 1 "$?"
if cmp -s "$WORK/r3.db" "$WORK/r3.before"; then ok "and leaves the index as it was"; else bad "and leaves the index as it was"; fi
kill "$MUTE_PID"; wait "$MUTE_PID" 2>/dev/null

echo "# rebalance: 5 volumes x 3 replicas -> 3 x 2 -> 5 x 3"
# shellcheck disable=SC2086
start_index "$WORK/r3.db" --replicas 3 $VOLS5 || exit 1
for i in $(seq 1 40); do curl -s -X PUT -d "bal $i" "$URL/bal/$i" >/dev/null; done
stop "$IPID"
check_balanced() { # REPLICAS VOLS...
    local n=$1 bad_place=0 bad_read=0 i
    shift
    for i in $(seq 1 40); do
        [ "$(where "/bal/$i")" = "$(want "/bal/$i" "$n" 1 "$@")" ] || bad_place=$((bad_place + 1))
        [ "$(curl -s -L "$URL/bal/$i")" = "bal $i" ] || bad_read=$((bad_read + 1))
    done
    expect "every key reads back ($n replicas over $# volumes)" 0 "$bad_read"
    expect "every key sits exactly where placement says" 0 "$bad_place"
}
# shellcheck disable=SC2086
"$BIN"/mkv-index rebalance --index "$WORK/r3.db" --replicas 2 $VOLS3 2>"$WORK/rl.err"
expect "rebalance to 3 volumes x 2 exits 0" 0 "$?"
# shellcheck disable=SC2086
start_index "$WORK/r3.db" --replicas 2 $VOLS3 || exit 1
# shellcheck disable=SC2086
check_balanced 2 $VOLS3
stop "$IPID"
# shellcheck disable=SC2086
"$BIN"/mkv-index rebalance --index "$WORK/r3.db" --replicas 3 $VOLS5 2>"$WORK/rl.err"
rc=$?
expect "rebalance back to 5 volumes x 3 exits 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/#   /' "$WORK/rl.err"
# shellcheck disable=SC2086
start_index "$WORK/r3.db" --replicas 3 $VOLS5 || exit 1
# shellcheck disable=SC2086
check_balanced 3 $VOLS5
stop "$IPID"

echo "# an interrupted rebalance is finished by the next run"
# Volume 4 is down during a move to 3 x 2: its copies can be neither read
# nor deleted. Then it comes back on its port with its data.
stop "$VPID4"
# shellcheck disable=SC2086
"$BIN"/mkv-index rebalance --index "$WORK/r3.db" --replicas 2 $VOLS3 2>"$WORK/rl3.err"
expect "a rebalance with a volume down exits 1" 1 "$?"
if [ -s "$WORK/r3.db.stale" ]; then ok "and leaves the copies it could not delete in its journal"; else bad "and leaves the copies it could not delete in its journal"; fi
"$BIN"/mkv-volume "${VP[4]}" "$WORK/v4" >>"$WORK/v4.log" 2>&1 &
PIDS="$PIDS $!"
wait_http "http://127.0.0.1:${VP[4]}/" || bad "volume 4 comes back"
# shellcheck disable=SC2086
"$BIN"/mkv-index rebalance --index "$WORK/r3.db" --replicas 2 $VOLS3 2>"$WORK/rl4.err"
expect "once it answers again, the next run exits 0" 0 "$?"
if [ ! -e "$WORK/r3.db.stale" ]; then ok "and empties the journal"; else bad "and empties the journal" "$(wc -l <"$WORK/r3.db.stale") left"; fi
# shellcheck disable=SC2086
start_index "$WORK/r3.db" --replicas 2 $VOLS3 || exit 1
# shellcheck disable=SC2086
check_balanced 2 $VOLS3
stop "$IPID"

echo "# subvolumes, md5sum off, fallback"
# shellcheck disable=SC2086
start_index "$WORK/sv.db" --subvolumes 4 --replicas 2 --md5sum=false --fallback "localhost:${VP[5]}" $VOLS3 || exit 1
curl -s -X PUT -d sub "$URL/subkey" >/dev/null
# shellcheck disable=SC2086
expect "with --subvolumes the files sit in the placed /svXX directories" \
    "$(want /subkey 2 4 $VOLS3)" "$(where /subkey)"
expect "the value reads back through the subvolume" sub "$(curl -s -L "$URL/subkey")"
if curl -s -D - -o /dev/null "$URL/subkey" | grep -qi '^Content-Md5'; then
    bad "with --md5sum=false there is no Content-Md5"
else
    ok "with --md5sum=false there is no Content-Md5"
fi
expect "GET of an absent key redirects to the fallback" "http://localhost:${VP[5]}/nothere" \
    "$(curl -s -o /dev/null -w '%{redirect_url}' "$URL/nothere")"
stop "$IPID"

echo "# a failed replica leaves nothing behind"
DEAD=$(free_port)
VOLSD="localhost:${VP[1]} localhost:${VP[2]} localhost:$DEAD"
# shellcheck disable=SC2086
start_index "$WORK/dead.db" --replicas 3 $VOLSD || exit 1
expect "PUT with a dead replica answers 503" 503 "$(code -X PUT -d x "$URL/doomed")"
expect "no live record remains" 404 "$(code "$URL/doomed")"
expect "no pending record remains" '{"next": "", "keys": []}' "$(curl -s "$URL/?unlinked")"
expect "no copy is left on the live replicas" "" "$(where /doomed)"
stop "$IPID"

echo "# probing skips a dead replica"
# shellcheck disable=SC2086
start_index "$WORK/probe.db" --replicas 2 --probe $VOLS3 || exit 1
curl -s -X PUT -d probed "$URL/probed" >/dev/null
read -r first second <<<"$(placed /probed 2 1 $VOLS3)"
deadpid=$(eval echo "\$VPID$(dir_of "$first" | sed 's/.*v//')")
kill "$deadpid"; wait "$deadpid" 2>/dev/null
ok_reads=0
for _ in 1 2 3 4 5 6; do
    [ "$(curl -s -o /dev/null -w '%{redirect_url}' "$URL/probed")" = "http://$second$(vname /probed)" ] && ok_reads=$((ok_reads + 1))
done
expect "every GET goes to the live replica" 6 "$ok_reads"
expect "and the value reads back" probed "$(curl -s -L "$URL/probed")"

finish
