#!/bin/bash
# test_outcomes.sh -- a timeout is an unknown outcome: a PUT or DELETE
# whose volume stops answering (SIGSTOP) mid-request may still be carried
# out later; the index must end up agreeing with the volumes either way.
# Also a WRITING record left by a crash is cleaned at start-up.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

# Processes stopped with SIGSTOP must never be left stopped.
STOPPED=""
trap 'kill -CONT $STOPPED 2>/dev/null; cleanup' EXIT

# nginx_of VPID -- the nginx master and workers of a volume launcher.
nginx_of() {
    local m
    m=$(ps -o pid= --ppid "$1" | tr -d ' ' | head -n 1)
    [ -n "$m" ] && echo "$m $(ps -o pid= --ppid "$m" | tr -d ' ' | tr '\n' ' ')"
}
freeze() { STOPPED=$(nginx_of "$1"); kill -STOP $STOPPED; }
thaw() { kill -CONT $STOPPED; STOPPED=""; }

# pending -- the index's count of keys waiting for a clean-up.
pending() { curl -s "$URL/?metrics" | awk '$1 == "cmkv_cleanups_pending" { print $2 }'; }

# settled SECONDS -- until no clean-up is pending (bounded); true if so.
settled() {
    for _ in $(seq $(( $1 * 10 ))); do [ "$(pending)" = 0 ] && return 0; sleep 0.1; done
    return 1
}

# agree KEY -- the agreement check: the key has no record (GET 404, not
# listed) and no file on any volume.
agree() {
    local f
    expect "$1: GET answers 404" 404 "$(code "$URL$1")"
    expect "$1: no listing shows it" '{"next": "", "keys": []}{"next": "", "keys": []}' \
        "$(curl -s "$URL$1?list" | tr -d '\n'; curl -s "$URL$1?unlinked" | tr -d '\n')"
    f=$(for v in "$WORK"/v1 "$WORK"/v2; do [ -e "$v$(vname "$1")" ] && echo "$v"; done)
    expect "$1: no file is left on a volume" "" "$f"
}

start_volume "$WORK/v1" || exit 1
V1=$VPORT
start_volume "$WORK/v2" || exit 1
V2=$VPORT VPID2=$VPID
start_index "$WORK/db" --replicas 2 --voltimeout 1000 --stall-timeout 1000 \
    "localhost:$V1" "localhost:$V2" || exit 1

echo "# a PUT whose second volume stops answering"
freeze "$VPID2"
expect "the PUT answers 504" 504 "$(code -X PUT -d late "$URL/orph/put")"
expect "GET answers 404 at once" 404 "$(code "$URL/orph/put")"
expect "the key waits for a clean-up" 1 "$(pending)"
expect "meanwhile a new PUT of it answers 409" 409 "$(code -X PUT -d new "$URL/orph/put")"
thaw
if settled 15; then ok "the clean-up ends once the volume answers again"; else bad "the clean-up ends once the volume answers again" "pending: $(pending)"; fi
agree /orph/put
expect "then the key can be PUT again" 201 "$(code -X PUT -d again "$URL/orph/put")"
expect "and reads back" again "$(curl -s -L "$URL/orph/put")"

echo "# a DELETE whose second volume stops answering"
expect "a PUT answers 201" 201 "$(code -X PUT -d gone "$URL/orph/del")"
freeze "$VPID2"
expect "the DELETE answers 504" 504 "$(code -X DELETE "$URL/orph/del")"
expect "GET answers 404 at once, as the client asked" 404 "$(code "$URL/orph/del")"
thaw
if settled 15; then ok "the clean-up ends once the volume answers again"; else bad "the clean-up ends once the volume answers again" "pending: $(pending)"; fi
agree /orph/del
stop "$IPID"

echo "# a write cut short by a crash is cleaned at start-up"
curl -s -X PUT -d crashed "http://127.0.0.1:$V1$(vname /orph/crash)" >/dev/null
$PY -c '
import dbm.gnu, sys
db = dbm.gnu.open(sys.argv[1], "w"); db[b"/orph/crash"] = b"WRITING" + sys.argv[2].encode(); db.close()' \
    "$WORK/db" "localhost:$V1"
test -e "$WORK/v1$(vname /orph/crash)" && ok "the file of the cut-short write is on the volume" ||
    bad "the file of the cut-short write is on the volume"
start_index "$WORK/db" --replicas 2 "localhost:$V1" "localhost:$V2" || exit 1
if settled 15 && [ ! -e "$WORK/v1$(vname /orph/crash)" ]; then
    ok "the restarted index removed it"
else
    bad "the restarted index removed it" "pending: $(pending)"
fi
agree /orph/crash
stop "$IPID"
# The whole index against the whole volumes: what got 201 is there, what
# got 204 is not, and no file is left that no record names.
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
printf '%s %s\n%s -\n' "$(hex /orph/put)" "$(printf again | md5sum | cut -c1-32)" \
    "$(hex /orph/del)" > "$WORK/acked"
agreement "the index and the volumes agree" "$WORK/db" "$WORK/acked" \
    "localhost:$V1=$WORK/v1" "localhost:$V2=$WORK/v2"
finish
