#!/bin/bash
# test_listing.sh -- listing from the key list kept beside the index
# (INDEX.keys): paging through keys that are not UTF-8, a paged listing
# while keys are written, the list trusted after a clean stop and rebuilt
# after a kill -9, a deleted list or an index file written by another
# program; and a listing of a million keys with memory flat while PUTs go
# on beside it.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

start_volume "$WORK/v1" || exit 1
VOL=localhost:$VPORT
DB=$WORK/index.db
start_index "$DB" "$VOL" || exit 1

echo "# keys that are not valid UTF-8"
for k in a b c; do code -X PUT --data-binary "$k" "$URL/pg/%FF$k" >/dev/null; done
expect "encoding=url gives each key's exact bytes" \
    '{"next": "/pg/%FFb", "keys": ["/pg/%FFa"]}' "$(curl -s "$URL/pg/?list&limit=1&encoding=url")"
expect "paging with encoding=url visits each key once and ends" \
    "/pg/%FFa /pg/%FFb /pg/%FFc" "$($PY tests/integration/listing.py page "$URL" /pg/ 1 url | tr '\n' ' ' | sed 's/ $//')"
expect "the plain form adds next_url when next is not UTF-8" \
    '{"next": "/pg/\ufffdb", "next_url": "/pg/%FFb", "keys": ["/pg/\ufffda"]}' \
    "$(curl -s "$URL/pg/?list&limit=1")"
expect "paging the plain form by next_url ends too" 3 \
    "$($PY tests/integration/listing.py page "$URL" /pg/ 1 | wc -l)"
expect "encoding takes only url" 400 "$(code "$URL/pg/?list&encoding=base64")"

expect "/?health says listing is ok" ok \
    "$(curl -s "$URL/?health" | $PY -c 'import json,sys; print(json.load(sys.stdin)["listing"])')"

echo "# a paged listing while keys are PUT, DELETEd and UNLINKed"
# counted OUTPUT -- show listing.py's lines and count its results.
counted() {
    echo "$1"
    PASS=$((PASS + $(echo "$1" | grep -c '^ok')))
    FAIL=$((FAIL + $(echo "$1" | grep -c '^not ok')))
    echo "$1" | grep -qE '^(ok|not ok)' || bad "listing.py ran" "$1"
}
counted "$($PY tests/integration/listing.py model "$URL" 2>&1)"

# listed -- every live key, percent-encoded, one line each.
listed() { $PY tests/integration/listing.py page "$URL" / 1000 url | sort; }
want=$(listed)
nwant=$(echo "$want" | wc -l)

echo "# a clean stop: the list is trusted at the next start"
stop "$IPID"
: >"$DB.log"
start_index "$DB" "$VOL" || exit 1
expect "listing answers at once" 200 "$(code "$URL/?list&limit=1")"
expect "the same keys are listed ($nwant)" "$want" "$(listed)"
if grep -q "building the key list" "$DB.log"; then
    bad "no rebuild after a clean stop" "$(grep 'key list' "$DB.log")"
else ok "no rebuild after a clean stop"; fi

echo "# kill -9: the list is not trusted, and is rebuilt"
code -X PUT --data-binary x "$URL/after/kill" >/dev/null
want=$(listed)
kill -9 "$IPID"; wait "$IPID" 2>/dev/null
: >"$DB.log"
start_index "$DB" "$VOL" || exit 1
for _ in $(seq 100); do [ "$(code "$URL/?list&limit=1")" = 200 ] && break; sleep 0.1; done
grep -q "building the key list" "$DB.log" && ok "a crash makes it rebuild the list" ||
    bad "a crash makes it rebuild the list" "$(cat "$DB.log")"
expect "and the listing is right" "$want" "$(listed)"

echo "# the list deleted while stopped"
stop "$IPID"
rm -rf "$DB.keys"
: >"$DB.log"
start_index "$DB" "$VOL" || exit 1
for _ in $(seq 100); do [ "$(code "$URL/?list&limit=1")" = 200 ] && break; sleep 0.1; done
expect "a missing list is rebuilt and right" "$want" "$(listed)"

echo "# the list damaged while stopped"
stop "$IPID"
echo garbage >"$DB.keys/CURRENT"
: >"$DB.log"
start_index "$DB" "$VOL" || exit 1
for _ in $(seq 100); do [ "$(code "$URL/?list&limit=1")" = 200 ] && break; sleep 0.1; done
expect "a damaged list is removed, rebuilt, and right" "$want" "$(listed)"
grep -q "removing it, to build it again" "$DB.log" && ok "and the log says so" ||
    bad "and the log says so" "$(grep 'key list' "$DB.log")"

echo "# the index file written by another program while stopped"
stop "$IPID"
$PY -c 'import dbm.gnu,sys; d=dbm.gnu.open(sys.argv[1],"w"); d[b"/py/added"]=sys.argv[2].encode(); d.close()' "$DB" "$VOL"
: >"$DB.log"
start_index "$DB" "$VOL" || exit 1
for _ in $(seq 100); do [ "$(code "$URL/?list&limit=1")" = 200 ] && break; sleep 0.1; done
expect "a list older than the file is rebuilt: the new key is listed" \
    '{"next": "", "keys": ["/py/added"]}' "$(curl -s "$URL/py/?list")"
stop "$IPID"

echo "# the key list's disk fills up (its own 512 KiB tmpfs)"
KDB=$WORK/kfull.db
mkdir -p "$KDB.keys"
if mount -t tmpfs -o size=512k tmpfs "$KDB.keys" 2>/dev/null; then
    trap 'stop_all; umount -l "$KDB.keys" 2>/dev/null; cleanup' EXIT
    start_index "$KDB" "$VOL" || exit 1
    for _ in $(seq 100); do [ "$(code "$URL/?list&limit=1")" = 200 ] && break; sleep 0.1; done
    code -X PUT --data-binary x "$URL/kf/before" >/dev/null
    free=$(df -k --output=avail "$KDB.keys" | tail -n 1)
    head -c $((free * 1024)) /dev/zero >"$KDB.keys/filler" 2>/dev/null
    # Long keys, so 40 PUTs write more than the log's last page can hold.
    pad=$(printf '%0500d' 0) sts=""
    for i in $(seq 40); do sts="$sts $(code -X PUT --data-binary xxxxxxxxxxxxxxxx "$URL/kf/during$i-$pad")"; done
    expect "PUTs still succeed while the key list cannot be written" "" "$(echo $sts | tr ' ' '\n' | grep -v '^201$')"
    expect "GET still redirects" 302 "$(code "$URL/kf/during40-$pad")"
    expect "listing answers 503" 503 "$(code "$URL/kf/?list")"
    h=$(curl -s "$URL/?health")
    case $h in
    *'"listing": "the key list is stale ('*) ok "health says why listing stopped" ;;
    *) bad "health says why listing stopped" "$h" ;;
    esac
    expect "and the index itself stays healthy" 200 "$(code "$URL/?health")"
    rm -f "$KDB.keys/filler"
    for _ in $(seq 100); do [ "$(code "$URL/kf/?list")" = 200 ] && break; sleep 0.1; done
    expect "once there is room the list is rebuilt: every key is listed" 41 \
        "$(curl -s "$URL/kf/?list" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["keys"]))')"
    stop "$IPID"
    umount "$KDB.keys" 2>/dev/null || umount -l "$KDB.keys"
else
    skip "cannot mount a tmpfs here (needs root): the key list's disk-full checks"
fi

echo "# a million keys in one listing"
N=${LISTING_KEYS:-1000000}
build/mkindex "$WORK/big.db" "$N" "$VOL" || bad "mkindex wrote $N keys"
# A sanitizer build keeps freed memory aside (quarantine): keep that small
# here, or it would be counted as the listing's.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4" \
    start_index "$WORK/big.db" "$VOL" || exit 1
echo "# keys written while its list is first built: scans that writes disturbed are done again"
for i in $(seq 300); do echo "PUT /busy/$i"; done >"$WORK/busy.want"
$PY tests/integration/listing.py puts "$URL" /busy/ 300 >"$WORK/busy.got"
expect "every PUT during the rebuild succeeded" "$(cat "$WORK/busy.want")" "$(cat "$WORK/busy.got")"
for _ in $(seq 300); do [ "$(code "$URL/?list&limit=1")" = 200 ] && break; sleep 0.1; done
expect "the rebuilt list holds the file's keys and every key written meanwhile" $((N + 300)) \
    "$(curl -s "$URL/?list" | grep -o '"/' | wc -l)"
echo "# $(grep -o 'key list built in .*' "$WORK/big.db.log")"
counted "$($PY tests/integration/listing.py flat "$URL" "$IPID" "$N" 2>&1)"

finish
