#!/bin/bash
# test_api.sh -- the index's HTTP API against real nginx volumes: the
# README's curl session, every status code, big and odd values, restarts,
# pymkv index files, and failing volumes.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

start_volume "$WORK/v1" || exit 1; V1=$VPORT
start_volume "$WORK/v2" || exit 1; V2=$VPORT
start_volume "$WORK/v3" || exit 1; V3=$VPORT
VOLS="localhost:$V1 localhost:$V2 localhost:$V3"
# shellcheck disable=SC2086
start_index "$WORK/indexdb" $VOLS || exit 1

echo "# the README's curl session"
expect "put bigswag in wehave answers 201" 201 "$(code -X PUT -d bigswag "$URL/wehave")"
expect "get wehave follows the redirect to bigswag" bigswag "$(curl -s -L "$URL/wehave")"
expect "delete wehave answers 204" 204 "$(code -X DELETE "$URL/wehave")"
expect "get wehave after delete answers 404" 404 "$(code "$URL/wehave")"
printf 'a file\nwith lines\n' > "$WORK/file.txt"
expect "put a file with -T answers 201" 201 "$(code -X PUT -T "$WORK/file.txt" "$URL/file.txt")"
curl -s -L -o "$WORK/file.out" "$URL/file.txt"
if cmp -s "$WORK/file.txt" "$WORK/file.out"; then ok "get the file back byte for byte"; else bad "get the file back byte for byte"; fi

echo "# status codes"
curl -s -D "$WORK/h" -o "$WORK/b" "$URL/never-put"
expect "get of a missing key answers 404" 404 "$(awk 'NR==1{print $2}' "$WORK/h")"
expect "the 404 has an empty body" 0 "$(stat -c %s "$WORK/b")"
curl -s -X PUT -d v "$URL/here" >/dev/null
HERE=$($PY -c '
import hashlib,sys
vols=sys.argv[1].split(); k=b"/here"
print(max(vols, key=lambda v: hashlib.md5(v.encode()+k).digest()))' "$VOLS")
expect "head of a present key answers 302" 302 "$(code -I "$URL/here")"
expect "the redirect names pymkv's volume and path" "http://$HERE$(vpath /here)" \
    "$(curl -s -o /dev/null -w '%{redirect_url}' "$URL/here")"
expect "put of an existing key answers 409" 409 "$(code -X PUT -d other "$URL/here")"
expect "the existing value is kept after a 409" v "$(curl -s -L "$URL/here")"
expect "put with an empty body answers 411" 411 "$(code -X PUT -d '' "$URL/empty")"
expect "put with no body at all answers 411" 411 "$(code -X PUT "$URL/empty")"
expect "a chunked put with an empty body answers 411 too" 411 \
    "$(code -X PUT -H 'Transfer-Encoding: chunked' --data-binary @/dev/null "$URL/empty")"
expect "the refused put left no key" 404 "$(code "$URL/empty")"
expect "delete of a missing key answers 404" 404 "$(code -X DELETE "$URL/never-put")"
expect "post answers 405" 405 "$(code -X POST -d x "$URL/here")"
expect "patch answers 405" 405 "$(code -X PATCH "$URL/here")"
expect "a key with %00 answers 400" 400 "$(code "$URL/a%00b")"
expect "a malformed escape answers 400" 400 "$(code "$URL/a%zzb")"
LONG=$(head -c 1025 /dev/zero | tr '\0' k)
expect "a key over 1024 bytes answers 414" 414 "$(code -X PUT -d x "$URL/$LONG")"
expect "an unknown query operation answers 400" 400 "$(code "$URL/here?x=1")"
expect "a put with a query string answers 400, as a get of that target does" 400 \
    "$(code -X PUT -d q "$URL/q?x")"
expect "and stores nothing under the path alone" 404 "$(code "$URL/q")"
expect "a delete with a query string answers 400" 400 "$(code -X DELETE "$URL/here?x")"
expect "an absolute-form target is served as its path (RFC 9112)" \
    "http://$HERE$(vpath /here)" \
    "$(curl -s -o /dev/null -w '%{redirect_url}' --request-target "http://localhost:$IPORT/here" "$URL/")"
expect "the query string is not part of the key" '{"next": "", "keys": ["/here"]}' \
    "$(curl -s "$URL/here?list")"
if curl -sv "$URL/here" "$URL/here" 2>&1 | grep -q 'Re-using existing connection'; then
    ok "answers keep the connection open"
else
    bad "answers keep the connection open"
fi

echo "# placement: the file is on pymkv's volume and no other"
for k in alpha beta gamma delta epsilon; do
    curl -s -X PUT -d "$k" "$URL/$k" >/dev/null
done
misplaced=0
for k in alpha beta gamma delta epsilon; do
    want=$($PY -c '
import hashlib,sys
vols=sys.argv[1].split(); k=sys.argv[2].encode()
print(max(vols, key=lambda v: hashlib.md5(v.encode()+k).digest()))' "$VOLS" "/$k")
    p=$(vpath "/$k")
    for i in 1 2 3; do
        vp=$(eval echo "\$V$i")
        if [ "localhost:$vp" = "$want" ]; then
            [ -f "$WORK/v$i$p" ] || misplaced=$((misplaced + 1))
        else
            [ -e "$WORK/v$i$p" ] && misplaced=$((misplaced + 1))
        fi
    done
done
expect "five keys sit exactly where pymkv puts them" 0 "$misplaced"

echo "# big values"
head -c 16M /dev/urandom > "$WORK/big"
expect "put a 16 MiB random value answers 201" 201 "$(code -X PUT -T "$WORK/big" "$URL/big")"
curl -s -L -o "$WORK/big.out" "$URL/big"
if cmp -s "$WORK/big" "$WORK/big.out"; then ok "the 16 MiB value reads back byte for byte"; else bad "the 16 MiB value reads back byte for byte"; fi
expect "a chunked upload of 16 MiB answers 201" 201 \
    "$(code -X PUT -H 'Transfer-Encoding: chunked' -T - "$URL/bigchunked" < "$WORK/big")"
curl -s -L -o "$WORK/big.out2" "$URL/bigchunked"
if cmp -s "$WORK/big" "$WORK/big.out2"; then ok "the chunked value reads back byte for byte"; else bad "the chunked value reads back byte for byte"; fi

echo "# odd keys"
check_key() { # NAME ENCODED DECODED [PATH WHOSE]
    local want=${4:-$(vpath "$3")} whose=${5:-pymkv\'s path}
    expect "put $1 answers 201" 201 "$(code -X PUT -d "value of $1" "$URL$2")"
    expect "get $1 reads its value" "value of $1" "$(curl -s -L "$URL$2")"
    case "$(curl -s -o /dev/null -w '%{redirect_url}' "$URL$2")" in
    *"$want") ok "$1 is stored under $whose" ;;
    *) bad "$1 is stored under $whose" ;;
    esac
}
check_key "a key with spaces" "/with%20some%20spaces" "/with some spaces"
check_key "a UTF-8 key" "/caf%C3%A9/%E6%97%A5%E6%9C%AC" "/café/日本"
check_key "a key with nested slashes" "/a/b/c/d.txt" "/a/b/c/d.txt"
# pymkv would nest "Lz8/Pw==" a directory deep; new writes take the flat
# name (README, On disk), so no other key's path can lie below it.
check_key "a key whose base64 has a slash" "/%3F%3F%3F" "/???" "/27/6f/Lz8_Pw==" "the flat name"
check_key "a key with a plus" "/1+1=2" "/1+1=2"
expect "a key with dot-dot stays a key" 201 "$(code --path-as-is -X PUT -d x "$URL/../../etc/x")"
if [ -e "$WORK/etc/x" ] || [ -e /etc/x ]; then bad "dot-dot wrote outside a volume"; else ok "dot-dot wrote nothing outside a volume"; fi

echo "# racing writes of one key"
race_puts /raced 4M
expect "six racing puts of one key give exactly one 201" 1 "$RACE_201"
expect "and five 409s" 5 "$RACE_409"

echo "# a client that gives up mid-upload"
head -c 2M /dev/urandom > "$WORK/slow"
curl -s -o /dev/null --limit-rate 200k --max-time 1 -X PUT -T "$WORK/slow" "$URL/abandoned"
sleep 0.3
expect "an abandoned upload leaves no key" 404 "$(code "$URL/abandoned")"
p=$(vpath /abandoned)
if ls "$WORK"/v?"$p" >/dev/null 2>&1; then bad "an abandoned upload leaves no file"; else ok "an abandoned upload leaves no file"; fi

echo "# restart keeps the data"
stop "$IPID"
expect "SIGTERM stops the index with status 0" 0 "$STOPPED"
$PY -c '
import dbm.gnu,sys,hashlib
db=dbm.gnu.open(sys.argv[1],"r")
rec=db[b"/here"].decode()
# minikeyvalue layout: HASH + md5 of the value, then the volume
assert rec[:4] == "HASH" and rec[4:36] == hashlib.md5(b"v").hexdigest(), rec
assert rec[36:] in sys.argv[2].split(), rec
assert db[b"/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac"]
assert b"/wehave" not in db
' "$WORK/indexdb" "$VOLS" && ok "python's dbm.gnu reads our index" || bad "python's dbm.gnu reads our index"
# shellcheck disable=SC2086
start_index "$WORK/indexdb" $VOLS || exit 1
expect "a key put before the restart is still there" v "$(curl -s -L "$URL/here")"
curl -s -L -o "$WORK/big.out3" "$URL/big"
if cmp -s "$WORK/big" "$WORK/big.out3"; then ok "the big value survives the restart"; else bad "the big value survives the restart"; fi
# shellcheck disable=SC2086
"$BIN"/mkv-index --port "$(free_port)" --index "$WORK/indexdb" $VOLS 2>"$WORK/locked.err"
expect "a second index on the same file exits 1" 1 "$?"
if grep -q 'in use by another process' "$WORK/locked.err"; then ok "and says the index is in use"; else bad "and says the index is in use"; fi
# shellcheck disable=SC2086
"$BIN"/mkv-index --port "$IPORT" --index "$WORK/other.db" $VOLS 2>"$WORK/port.err"
expect "an index on a busy port exits 1" 1 "$?"
"$BIN"/mkv-index --index "$WORK/other.db" 2>/dev/null
expect "an index with no volumes exits 2" 2 "$?"
stop "$IPID"

echo "# an index written by pymkv (python's dbm.gnu) is served as-is"
printf 'from pymkv' > "$WORK/pyval"
mkdir -p "$WORK/v2$(dirname "$(vpath /from-pymkv)")"
cp "$WORK/pyval" "$WORK/v2$(vpath /from-pymkv)"
$PY -c '
import dbm.gnu,sys
db=dbm.gnu.open(sys.argv[1],"c"); db[b"/from-pymkv"]=sys.argv[2].encode(); db.close()
' "$WORK/pymkv.db" "localhost:$V2"
# shellcheck disable=SC2086
start_index "$WORK/pymkv.db" $VOLS || exit 1
expect "a key from a pymkv index reads back" "from pymkv" "$(curl -s -L "$URL/from-pymkv")"
expect "and can be deleted" 204 "$(code -X DELETE "$URL/from-pymkv")"
if [ -e "$WORK/v2$(vpath /from-pymkv)" ]; then bad "delete removed the file on the volume"; else ok "delete removed the file on the volume"; fi
stop "$IPID"

echo "# a dead volume"
DEAD=$(free_port)
start_index "$WORK/dead.db" "localhost:$DEAD" || exit 1
t0=$(date +%s%N)
expect "put to a dead volume answers 503" 503 "$(code -X PUT -d x "$URL/k")"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$ms" -lt 3000 ]; then ok "promptly (${ms} ms)"; else bad "promptly" "${ms} ms"; fi
expect "the failed put left no key" 404 "$(code "$URL/k")"
expect "nor a lock: a retry fails the same way, not with 409" 503 "$(code -X PUT -d x "$URL/k")"
stop "$IPID"
$PY -c '
import dbm.gnu,sys
db=dbm.gnu.open(sys.argv[1],"c"); db[b"/kept"]=sys.argv[2].encode(); db.close()
' "$WORK/dead2.db" "localhost:$DEAD"
start_index "$WORK/dead2.db" "localhost:$DEAD" || exit 1
expect "delete on a dead volume answers 503" 503 "$(code -X DELETE "$URL/kept")"
expect "and the key is kept" 302 "$(code "$URL/kept")"

finish
