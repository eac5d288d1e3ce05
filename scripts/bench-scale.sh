#!/bin/bash
# bench-scale.sh -- the 100-million-key row of `make bench`: an index of
# BENCH_SCALE_KEYS (default 100000000) records written by build/mkindex
# (cached in build/bench/), against a 1-key index started the same way.
# Measures: time to the first 302 and until ?list answers 200, private
# memory (RssAnon) per key, a 10,000-key prefix listing, the RSS while one
# listing streams every key, and GET-present and thrasher rates as ratios
# to the 1-key index (the thrasher three times on each, alternating,
# medians). The big file is read once into the page cache first.
# BENCH_SCALE_KEYS=0 skips it.
#
# The first run builds the file and, on the index's first start, its key
# list (INDEX.keys); both are kept, and the index is always stopped
# cleanly so the list stays trusted. Building is slow at this size: 100M
# keys took 28 min on a tmpfs here (BENCH_SCALE_TMPDIR=/dev/shm; each
# GDBM bucket split rewrites its whole directory, 16 MiB at this size),
# and the key list's first build 6 min more. The file is 12 GB, the list
# 1.8 GB.
set -u
cd "$(dirname "$0")/.." || exit 1
N=${BENCH_SCALE_KEYS:-100000000}
SECS=${BENCH_SECONDS:-10}
[ "$N" -gt 0 ] || { echo "bench-scale: skipped (BENCH_SCALE_KEYS=0)"; exit 0; }
. tests/integration/lib.sh
CACHE=build/bench
mkdir -p "$CACHE"
say() { echo "bench-scale: $*" >&2; }

start_volume "$WORK/v1" || exit 1
VOL=127.0.0.1:$VPORT
DB=$CACHE/index-$N.db
if [ ! -f "$DB" ]; then
    # Written where BENCH_SCALE_TMPDIR says (a tmpfs is much faster than
    # this VM's disk), then moved into the cache.
    tmp=${BENCH_SCALE_TMPDIR:-$CACHE}/index-$N.db.tmp
    say "writing $N keys into $tmp, then $DB (cached for next time)"
    t0=$(date +%s)
    build/mkindex "$tmp" "$N" "$VOL" && mv "$tmp" "$DB" ||
        { rm -f "$tmp"; say "mkindex failed"; exit 1; }
    say "written in $(( $(date +%s) - t0 )) s"
fi
build/mkindex "$WORK/one.db" 1 "$VOL" || exit 1
KEY=$($PY -c 'import sys; n=int(sys.argv[1]); print("/bench/%016x" % (((n // 2) * 0x9E3779B97F4A7C15) % 2**64))' "$N")
ONE=/bench/0000000000000000

# started DB -- start the index on DB; sets UP_S (exec to first 302 of
# KEY) and LIST_S (exec to ?list answering 200), polling every 5 ms.
started() {
    local t0 t up="" db=$1 key=$2
    IPORT=$(free_port)
    t0=$(date +%s%N)
    "$BIN"/mkv-index --port "$IPORT" --index "$db" "$VOL" >>"$WORK/index.log" 2>&1 &
    IPID=$!
    PIDS="$PIDS $IPID"
    URL=http://127.0.0.1:$IPORT
    for _ in $(seq 720000); do
        t=$(date +%s%N)
        if [ -z "$up" ] && [ "$(code "$URL$key")" = 302 ]; then up=$(( t - t0 )); fi
        if [ -n "$up" ] && [ "$(code "$URL/?list&limit=1")" = 200 ]; then break; fi
        kill -0 "$IPID" 2>/dev/null || { cat "$WORK/index.log" >&2; exit 1; }
        sleep 0.005
    done
    UP_S=$(awk -v n="$up" 'BEGIN { printf "%.3f", n / 1e9 }')
    LIST_S=$(awk -v n="$(( $(date +%s%N) - t0 ))" 'BEGIN { printf "%.3f", n / 1e9 }')
}
anon_kb() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
wrk_rate() {
    wrk -t2 -c100 -d"${SECS}s" "$1" 2>&1 | awk '/^Requests\/sec:/ { print $2 }'
}
thrash_rate() {
    build/thrasher -n "${BENCH_ROUNDS:-10000}" -c 16 "$1" | sed -n 's/.*rounds_per_s=//p'
}

if [ ! -d "$DB.keys" ]; then
    say "first start on $DB: building its key list (once; kept beside it)"
    started "$DB" "$KEY"
    say "key list ready $LIST_S s after start"
    stop "$IPID"
fi

started "$WORK/one.db" "$ONE"
one_wrk=$(wrk_rate "$URL$ONE")
ONE_URL=$URL ONE_PID=$IPID # kept up for the thrasher, below

# Read the file once, so that its pages are in the page cache as on a
# server that has been running (this VM's host takes idle page cache
# back, and fresh keys land in buckets all over the file).
t0=$(date +%s)
cat "$DB" >/dev/null
say "index file read into the page cache in $(( $(date +%s) - t0 )) s"
started "$DB" "$KEY"
up=$UP_S listed=$LIST_S
sleep 1
anon=$(anon_kb "$IPID")
t0=$(date +%s%N)
n10k=$(curl -s "$URL/bench/?list&limit=10000" | grep -o '"/bench/' | wc -l)
t10k=$(awk -v n="$(( $(date +%s%N) - t0 ))" 'BEGIN { printf "%.3f", n / 1e9 }')
[ "$n10k" = 10001 ] || say "BROKEN: the 10,000-key listing had $((n10k - 1)) keys"
rss0=$(rss_kb "$IPID") anon0=$(anon_kb "$IPID")
curl -s "$URL/?list" -o /dev/null &
cpid=$!
rssmax=$rss0 anonmax=$anon0
while kill -0 "$cpid" 2>/dev/null; do
    r=$(rss_kb "$IPID"); a=$(anon_kb "$IPID")
    [ "$r" -gt "$rssmax" ] && rssmax=$r
    [ "$a" -gt "$anonmax" ] && anonmax=$a
    sleep 0.2
done
tfull=$(( ($(date +%s%N) - t0) / 1000000 ))
many_wrk=$(wrk_rate "$URL$KEY")
# The thrasher's rate moves by a third from one run to the next here:
# three runs on each index, alternating, and the median of each.
t1="" tn=""
for _ in 1 2 3; do
    t1="$t1 $(thrash_rate "$ONE_URL")"
    tn="$tn $(thrash_rate "$URL")"
done
median() { echo "$@" | tr ' ' '\n' | grep . | sort -g | sed -n 2p; }
one_thr=$(median $t1) many_thr=$(median $tn)
say "thrasher rounds/s, 1 key:$t1; $N keys:$tn"
anon_end=$(anon_kb "$IPID")
stop "$IPID"
stop "$ONE_PID"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
judge() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == "<=") ? v <= t : v >= t; print ok ? "met" : "MISSED" }'; }
per_key=$(awk -v k="$anon" -v n="$N" 'BEGIN { printf "%.3f", k * 1024 / n }')
per_key_end=$(awk -v k="$anon_end" -v n="$N" 'BEGIN { printf "%.3f", k * 1024 / n }')
grow=$(awk -v a="$rssmax" -v b="$rss0" 'BEGIN { printf "%.1f", (a - b) / 1024 }')
agrow=$(awk -v a="$anonmax" -v b="$anon0" 'BEGIN { printf "%.1f", (a - b) / 1024 }')
rw=$(ratio "$many_wrk" "$one_wrk") rt=$(ratio "$many_thr" "$one_thr")
echo
echo "cmkv scale bench, $(date -u +%Y-%m-%dT%H:%MZ), $N keys ($DB, $(du -sh "$DB" | cut -f1) + key list $(du -sh "$DB.keys" | cut -f1)), tree $(git rev-parse --short HEAD)"
printf '%-52s %14s %14s %s\n' measure "$N keys" reference result
printf '%-52s %14s %14s %s\n' "first 302 after start (s)" "$up" "<= 1" "$(judge "$up" '<=' 1)"
printf '%-52s %14s %14s %s\n' "?list answers 200 after start (s)" "$listed" "<= 1" "$(judge "$listed" '<=' 1)"
printf '%-52s %14s %14s %s\n' "private memory (RssAnon) per key (bytes)" "$per_key" "<= 16" "$(judge "$per_key" '<=' 16)"
printf '%-52s %14s %14s %s\n' "the same after the listing and the load below" "$per_key_end" "<= 16" "$(judge "$per_key_end" '<=' 16)"
printf '%-52s %14s %14s %s\n' "10,000-key prefix listing (s)" "$t10k" "-" info
printf '%-52s %14s %14s %s\n' "full listing: RSS growth (MiB)" "$grow" "<= 64" "$(judge "$grow" '<=' 64)"
printf '%-52s %14s %14s %s\n' "full listing: RssAnon growth (MiB)" "$agrow" "-" info
printf '%-52s %14s %14s %s\n' "full listing of every key (ms)" "$tfull" "-" info
printf '%-52s %14s %14s %s\n' "GET present, wrk req/s (ratio to 1-key $one_wrk)" "$many_wrk" "$rw >= 0.9" "$(judge "$rw" '>=' 0.9)"
printf '%-52s %14s %14s %s\n' "thrasher rounds/s, median of 3 (ratio to 1-key $one_thr)" "$many_thr" "$rt >= 0.9" "$(judge "$rt" '>=' 0.9)"
stop_all
