#!/bin/bash
# test_ops.sh -- what an operator relies on: GET /?health with a volume
# down, GET /?metrics counts that move, the access log and its reopening
# on SIGHUP, and a PUT in flight finishing across SIGTERM.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

start_volume "$WORK/v1" || exit 1; V1=$VPORT; V1PID=$VPID
start_volume "$WORK/v2" || exit 1; V2=$VPORT; V2PID=$VPID
start_index "$WORK/indexdb" --access-log "$WORK/access.log" "localhost:$V1" "localhost:$V2" || exit 1

echo "# health"
# health_summary -- /?health's JSON, the numbers taken out: healthy, the
# index's state up to its first ':', then each volume, up or not, and
# whether its free space was given.
health_summary() {
    curl -s "$URL/?health" | $PY -c '
import json, sys
h = json.load(sys.stdin)
print(h["healthy"], h["index"].split(":")[0],
      " ".join("%s=%s%s" % (v["volume"], v["up"], "+free" if isinstance(v.get("free"), int) else "")
               for v in h["volumes"]))'
}
expect "health answers 200 with every volume up" 200 "$(code "$URL/?health")"
expect "and says so in JSON, with the index's state and each volume's free space" \
    "True ok localhost:$V1=True+free localhost:$V2=True+free" "$(health_summary)"
case $(curl -s "$URL/?health" | $PY -c 'import json,sys; print(json.load(sys.stdin)["index"])') in
"ok: "*" free, 64 MiB required") ok "the index's state says how much room it has and needs" ;;
*) bad "the index's state says how much room it has and needs" "$(curl -s "$URL/?health")" ;;
esac
kill "$V2PID"; wait "$V2PID" 2>/dev/null
expect "with a volume down health answers 503" 503 "$(code "$URL/?health")"
expect "and names the volume that is down" \
    "False ok localhost:$V1=True+free localhost:$V2=False" "$(health_summary)"

echo "# metrics"
metric() { curl -s "$URL/?metrics" | grep "^$1 " | awk '{print $2}'; }
before=$(metric 'cmkv_requests_total{method="GET",code="404"}')
curl -s -o /dev/null "$URL/absent1"; curl -s -o /dev/null "$URL/absent2"
expect "requests by method and status count up" $(( ${before:-0} + 2 )) \
    "$(metric 'cmkv_requests_total{method="GET",code="404"}')"
# a key placed on the live volume
K=$(for i in $(seq 1 50); do
    [ "$(placed "/m$i" 1 1 "localhost:$V1" "localhost:$V2")" = "localhost:$V1" ] && { echo "/m$i"; break; }
done)
inb=$(metric cmkv_received_bytes_total)
expect "a put to the live volume answers 201" 201 "$(code -X PUT -d 0123456789 "$URL$K")"
expect "bytes in count the body" $(( ${inb:-0} + 10 )) "$(metric cmkv_received_bytes_total)"
expect "the key count moves" 1 "$(metric cmkv_keys)"
errs=$(metric "cmkv_volume_errors_total{volume=\"localhost:$V2\"}")
D=$(for i in $(seq 1 50); do
    [ "$(placed "/d$i" 1 1 "localhost:$V1" "localhost:$V2")" = "localhost:$V2" ] && { echo "/d$i"; break; }
done)
expect "a put to the dead volume answers 503" 503 "$(code -X PUT -d x "$URL$D")"
if [ "$(metric "cmkv_volume_errors_total{volume=\"localhost:$V2\"}")" -gt "${errs:-0}" ]; then
    ok "volume errors count up for the dead volume"
else
    bad "volume errors count up for the dead volume"
fi
scrape=$(curl -s "$URL/?metrics")
answered=$(echo "$scrape" | grep '^cmkv_requests_total' | awk '{ n += $2 } END { print n }')
expect "the latency histogram counts every request answered" "$answered" \
    "$(echo "$scrape" | grep '^cmkv_request_duration_seconds_count' | awk '{print $2}')"
expect "its +Inf bucket holds them all" "$answered" \
    "$(echo "$scrape" | grep '^cmkv_request_duration_seconds_bucket{le="+Inf"}' | awk '{print $2}')"
expect "metrics are Prometheus text" "text/plain; version=0.0.4; charset=utf-8" \
    "$(curl -s -o /dev/null -w '%{content_type}' "$URL/?metrics")"
expect "one request is in flight: the metrics request itself" 1 "$(metric cmkv_requests_in_flight)"

echo "# access log"
if grep -qE "^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} \+0000\] \"PUT $K HTTP/1\.1\" 201 0 [0-9]+$" "$WORK/access.log"; then
    ok "the access log has the PUT in Common Log Format with its duration"
else
    bad "the access log has the PUT in Common Log Format" "$(tail -n 3 "$WORK/access.log")"
fi
mv "$WORK/access.log" "$WORK/access.log.1"
kill -HUP "$IPID"
sleep 0.3
curl -s -o /dev/null "$URL/after-rotation"
if grep -q '"GET /after-rotation ' "$WORK/access.log" 2>/dev/null; then
    ok "after SIGHUP the log is reopened at its path"
else
    bad "after SIGHUP the log is reopened at its path"
fi
if grep -q after-rotation "$WORK/access.log.1"; then bad "the old file got no new line"; else ok "the old file got no new line"; fi
expect "the index survived SIGHUP" 404 "$(code "$URL/still-here")"

echo "# graceful shutdown with a PUT in flight"
head -c 8M /dev/urandom > "$WORK/slow"
G=$(for i in $(seq 1 50); do
    [ "$(placed "/g$i" 1 1 "localhost:$V1" "localhost:$V2")" = "localhost:$V1" ] && { echo "/g$i"; break; }
done)
curl -s -o /dev/null -w '%{http_code}' --limit-rate 4M -X PUT -T "$WORK/slow" "$URL$G" > "$WORK/slow.code" &
client=$!
sleep 0.5
stop "$IPID"
wait "$client"
expect "the index exits 0 on SIGTERM" 0 "$STOPPED"
expect "the PUT under way still got its 201" 201 "$(cat "$WORK/slow.code")"
start_index "$WORK/indexdb" "localhost:$V1" "localhost:$V2" || exit 1
curl -s -L -o "$WORK/slow.out" "$URL$G"
if cmp -s "$WORK/slow" "$WORK/slow.out"; then ok "and its value is there after a restart"; else bad "and its value is there after a restart"; fi

finish
