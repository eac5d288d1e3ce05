#!/bin/bash
# bench.sh -- `make bench`: cmkv's speed and memory as ratios to references
# measured in the same run, on a local cluster on loopback.
#
# Starts three volumes (bin/mkv-volume), the index (bin/mkv-index) and a
# stock nginx that answers 404 from its config alone, all on free ports
# with their data under one mktemp -d, and prints one table row per
# measure: cmkv's figure, the reference's, the ratio, the target and
# PASS/MISS. Targets are informational: the exit status is 0 unless
# something broke (a daemon that does not start, a wrong answer); then
# the daemons' logs are kept in build/bench-logs/.
#
#   1. fetch missing: wrk and hey on a missing key, index vs nginx 404
#   2. fetch present: the 302 with wrk; hey following it to the volume
#   3. thrasher (tests/bench/thrasher.c): PUT/GET/DELETE/GET rounds through
#      the index, at --replicas 1 and at --replicas 3, vs the same rounds
#      sent straight to one volume; the CPU a round costs the thrasher, the
#      index and the volumes' nginx; the index's threads under that load,
#      and its threads and descriptors after it; the rounds with --sync
#   4. a 256 MiB PUT through the index at --replicas 3 vs three direct PUTs
#      at once (one to each volume), the index's CPU in it vs the three
#      senders', the same with --md5sum=false, and its peak RSS meanwhile;
#      at --replicas 1 vs one direct PUT
#   5. scale: an index of 1,000,000 keys vs one of 1 key (fetch rate,
#      start-up time, memory, file size); the 1M-key file is cached in
#      build/bench-1m.db
#
# Each group of rows is one function (bench_fetch, bench_thrasher,
# bench_big_value, bench_scale KEYS), called in order at the end; a new
# row goes in its group's function, or in a new function called there.
# Volumes, free ports and stopping everything come from the integration
# tests' tests/integration/lib.sh; the index is started through
# scripts/bench/launch.py to time its start-up; scripts/bench/mkdb.py
# writes the large index; make builds build/thrasher.
#
# Environment: BENCH_SECONDS (default 10) for each wrk/hey run,
# BENCH_ROUNDS (10000) and BENCH_THREADS (16) for the thrasher,
# BENCH_BIG_MIB (256) for the big value, BENCH_KEYS (1000000) for scale;
# TMPDIR (/tmp) for where the data goes (TMPDIR=/dev/shm keeps the disk out
# of row 4); MKV_BIN (bin) for the binaries under test.
set -u
cd "$(dirname "$0")/.." || exit 1

SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-10000}
THREADS=${BENCH_THREADS:-16}
BIG_MIB=${BENCH_BIG_MIB:-256}
NKEYS=${BENCH_KEYS:-1000000}
HZ=$(getconf CLK_TCK)
PY=/usr/bin/python3
BIN=${MKV_BIN:-bin}
# The cached big index: bump DB_VERSION when its layout changes.
DB_VERSION=1

say() { echo "bench: $*" >&2; }
die() { say "$*"; BROKEN=1; exit 1; }

for v in "$SECS" "$ROUNDS" "$THREADS" "$BIG_MIB" "$NKEYS"; do
    case "$v" in ''|*[!0-9]*|0*) die "BENCH_* settings must be positive integers" ;; esac
done

# db_cache N -- where the N-key index is cached between runs.
db_cache() {
    if [ "$1" = 1000000 ]; then echo build/bench-1m.db; else echo "build/bench-$1-keys.db"; fi
}

# --- tools -------------------------------------------------------------

missing=""
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
command -v hey >/dev/null 2>&1 || missing="$missing hey"
# GNU time (its -f and -o) for the CPU of the thrasher and of curl.
[ -x /usr/bin/time ] || missing="$missing time"
if [ -n "$missing" ]; then
    cmd="apt-get install -y --no-install-recommends$missing"
    if [ "$(id -u)" -ne 0 ]; then
        say "missing:$missing"
        say "run as root: apt-get update && $cmd"
        exit 1
    fi
    say "installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get update -qq >&2 || ! $cmd >&2; then die "apt-get failed"; fi
fi
for t in curl nginx "$PY"; do
    command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] ||
        die "$t not found (make deps installs it)"
done
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
if [ ! -x "$BIN/mkv-index" ] || [ ! -x "$BIN/mkv-volume" ]; then
    die "no $BIN/mkv-index or $BIN/mkv-volume; run make all"
fi

[ -x build/thrasher ] || die "no build/thrasher; run make build/thrasher (make bench builds it)"

# --- processes -----------------------------------------------------------

# lib.sh makes WORK (here under TMPDIR), keeps PIDS and stops them
# (stop_all); it gives free_port, wait_http, start_volume and code.
LIB_WORK_TEMPLATE=${TMPDIR:-/tmp}/cmkv-bench.XXXXXX
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh
[ -d "$WORK" ] || die "mktemp failed"
VOL_LPIDS=""   # the volume launchers; their nginx are their descendants

# shellcheck disable=SC2317 # called from the trap
bench_cleanup() {
    trap - EXIT HUP INT PIPE TERM
    stop_all
    wait 2>/dev/null
    # Keep the daemons' logs when something broke.
    if [ "${BROKEN:-0}" -ne 0 ] && [ -d "$WORK" ]; then
        rm -rf build/bench-logs
        mkdir -p build/bench-logs && cp "$WORK"/*.log build/bench-logs/ 2>/dev/null &&
            echo "bench: logs kept in build/bench-logs/" >&2
    fi
    rm -rf "$WORK"
}
# A signal would end the shell without the EXIT trap: turn each into an
# exit (PIPE too, for `make bench | head`).
trap bench_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

# port_is_free PORT -- true if PORT can be bound on all interfaces.
port_is_free() {
    $PY -c 'import socket,sys; s=socket.socket(); s.bind(("",int(sys.argv[1])))' "$1" 2>/dev/null
}

now_ns() { date +%s%N; }

# forget PID... -- stop these (SIGTERM, then SIGKILL after 10 s) and drop
# them from PIDS.
forget() {
    for p in "$@"; do kill "$p" 2>/dev/null; done
    for p in "$@"; do
        stop "$p"
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    unlist "$@"
}

# unlist PID... -- drop these (already reaped) from PIDS.
unlist() {
    _rest=""
    for p in $PIDS; do
        case " $* " in *" $p "*) ;; *) _rest="$_rest $p" ;; esac
    done
    PIDS=$_rest
}

# bench_volume N PORT -- bin/mkv-volume on PORT with data in WORK/vN.
bench_volume() {
    start_volume "$WORK/v$1" "$2" >&2 || die "volume $1 on port $2 did not start"
    VOL_LPIDS="$VOL_LPIDS $VPID"
}

# start_timed_index NAME PORT DBFILE ARGS... -- bin/mkv-index (through
# scripts/bench/launch.py), logging to WORK/NAME.log; sets IPID to the
# index's pid, LPID to the launcher's, STARTUP_S to the seconds from exec
# until the port answered and READY_S until it was ready to list (the load
# runs start only then).
start_timed_index() {
    _name=$1 _port=$2 _db=$3
    shift 3
    _info=$WORK/$_name.started
    rm -f "$_info"
    $PY scripts/bench/launch.py "$_info" "$_port" "$BIN/mkv-index" --port "$_port" \
        --index "$_db" "$@" >"$WORK/$_name.log" 2>&1 &
    LPID=$!
    PIDS="$PIDS $LPID"
    for _ in $(seq 1500); do
        [ -f "$_info" ] && break
        kill -0 "$LPID" 2>/dev/null || break
        sleep 0.01
    done
    read -r IPID STARTUP_S READY_S <"$_info" 2>/dev/null || { IPID=""; STARTUP_S=-; }
    if [ -z "$IPID" ] || [ "$STARTUP_S" = - ]; then
        cat "$WORK/$_name.log" >&2
        die "index $_name on port $_port did not start"
    fi
    PIDS="$PIDS $IPID"
    [ "$READY_S" != - ] || broken "index $_name: listing still 503 after 60 s"
    STARTUP_S=$(awk -v s="$STARTUP_S" 'BEGIN { printf "%.3f", s }')
    READY_S=$(awk -v s="$READY_S" 'BEGIN { if (s == "-") print s; else printf "%.3f", s }')
}

# --- measuring -----------------------------------------------------------

BROKEN=0
DB_NOTES=""
ROWS=$WORK/rows
: >"$ROWS"

# broken WHAT -- a wrong answer or a failed tool: reported, exit 1 at end.
broken() { say "BROKEN: $*"; BROKEN=1; }

# cpu_ticks PID... -- user + system clock ticks the processes (all their
# threads) have used so far.
cpu_ticks() {
    for _p in "$@"; do
        # Fields after the ")" that closes the command name: utime, stime
        # are the 12th and 13th.
        sed 's/.*) //' "/proc/$_p/stat" 2>/dev/null
    done | awk '{ t += $12 + $13 } END { print t + 0 }'
}

# descendants PID... -- the pids of their children, grandchildren and so
# on (from the process table, not by name).
descendants() {
    _todo=$* _all=""
    while [ -n "$_todo" ]; do
        # shellcheck disable=SC2086
        _todo=$(ps -o pid= --ppid "$(echo $_todo | tr ' ' ,)" 2>/dev/null | tr -s ' \n' '  ')
        _all="$_all $_todo"
    done
    # shellcheck disable=SC2086
    echo $_all
}

# per_round TICKS ROUNDS -- clock ticks as microseconds per round.
per_round() {
    awk -v t="$1" -v n="$2" -v hz="$HZ" 'BEGIN { if (n + 0 == 0) print "-"; else printf "%.0f", t / hz * 1e6 / n }'
}

# threads_fds PID -- "THREADS/FDS": the process's threads and open
# descriptors right now.
threads_fds() {
    _t=$(awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
    _f=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    echo "${_t:-?}/$_f"
}

# run_wrk URL WANT PID... -- wrk -t2 -c100; sets RATE (requests/s) and
# CPU_US, the CPU time the server processes PID... spent per request, in
# microseconds: on a shared machine a steadier figure than RATE, which
# also depends on how the CPUs were split with wrk and everything else.
# WANT is "4xx" (every answer must count as an error to wrk) or "3xx"
# (none may).
run_wrk() {
    _out=$WORK/wrk.out _url=$1 _want=$2
    shift 2
    say "wrk -t2 -c100 -d${SECS}s $_url"
    _c0=$(cpu_ticks "$@")
    wrk -t2 -c100 -d"${SECS}s" "$_url" >"$_out" 2>&1 || { cat "$_out" >&2; broken "wrk $_url failed"; }
    _c1=$(cpu_ticks "$@")
    RATE=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$_out")
    _total=$(awk '/ requests in / { print $1 }' "$_out")
    _bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$_out")
    _sock=$(grep 'Socket errors:' "$_out")
    [ -n "$_sock" ] && say "  wrk: $_sock"
    [ -n "$RATE" ] || { RATE=0; broken "no rate from wrk $_url"; }
    case "$_want" in
    4xx) [ "${_bad:-0}" = "${_total:-x}" ] ||
             broken "wrk $_url: ${_bad:-0} of ${_total:-?} answers were 4xx/5xx, want all" ;;
    3xx) [ -z "$_bad" ] || broken "wrk $_url: $_bad answers were 4xx/5xx, want none" ;;
    esac
    CPU_US=$(awk -v a="$_c0" -v b="$_c1" -v n="${_total:-0}" -v hz="$HZ" \
        'BEGIN { if (n + 0 == 0) print "-"; else printf "%.1f", (b - a) / hz * 1e6 / n }')
    say "  $RATE requests/s, server CPU $CPU_US us/request"
}

# run_hey URL STATUS -- hey -c 100 -z SECS (following redirects, its
# default); sets RATE. Every final answer must be STATUS.
run_hey() {
    _out=$WORK/hey.out
    say "hey -c 100 -z ${SECS}s $1"
    hey -c 100 -z "${SECS}s" "$1" >"$_out" 2>&1 || { cat "$_out" >&2; broken "hey $1 failed"; }
    RATE=$(awk '/Requests\/sec:/ { printf "%.0f", $2 }' "$_out")
    [ -n "$RATE" ] || { RATE=0; broken "no rate from hey $1"; }
    _other=$(awk -v want="[$2]" '/^ *\[[0-9]+\]/ && $1 != want { n += $2 } END { print n + 0 }' "$_out")
    [ "$_other" -eq 0 ] || broken "hey $1: $_other answers were not $2"
    grep -q '^Error distribution' "$_out" &&
        { sed -n '/^Error distribution/,$p' "$_out" | head -5 >&2; broken "hey $1: transport errors"; }
    say "  $RATE requests/s"
}

# row NAME CMKV REF RATIO TARGET RESULT -- one line of the table.
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$ROWS"; }

# ratio A B -- A/B to two decimals ("-" if A is "-" or B is 0 or "-").
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || a == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

# judge VALUE OP LIMIT -- PASS if VALUE OP LIMIT holds (OP is >= or <=).
judge() {
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        if (v == "-") { print "MISS"; exit }
        ok = (op == ">=") ? (v + 0 >= l + 0) : (v + 0 <= l + 0)
        print ok ? "PASS" : "MISS" }'
}

# --- the cluster ---------------------------------------------------------

# start_reference -- stock nginx on NPORT, a fixed 404 from its config
# alone; sets NGINX_PID and NGINX_WORKERS.
start_reference() {
    mkdir -p "$WORK/ref"
    nginx_v=$("$NGINX" -V 2>&1)
    {
        echo "daemon off;"
        echo "worker_processes auto;"
        echo "pid $WORK/ref/nginx.pid;"
        echo "error_log stderr warn;"
        echo "events { worker_connections 4096; }"
        echo "http {"
        echo "    access_log off;"
        echo "    keepalive_requests 100000;"
        echo "    client_body_temp_path $WORK/ref/body;"
        for m in proxy fastcgi uwsgi scgi; do
            case "$nginx_v" in
            *"--without-http_${m}_module"*) ;;
            *) echo "    ${m}_temp_path $WORK/ref/$m;" ;;
            esac
        done
        echo "    server {"
        echo "        listen 127.0.0.1:$NPORT;"
        echo "        location / { return 404; }"
        echo "    }"
        echo "}"
    } >"$WORK/ref/nginx.conf"
    "$NGINX" -e stderr -p "$WORK/ref" -c "$WORK/ref/nginx.conf" >"$WORK/ref.log" 2>&1 &
    NGINX_PID=$!
    PIDS="$PIDS $NGINX_PID"
    wait_http "http://127.0.0.1:$NPORT/" ||
        { cat "$WORK/ref.log" >&2; die "reference nginx on port $NPORT did not start"; }
    NGINX_WORKERS=$(pgrep -P "$NGINX_PID" | tr '\n' ' ')
    [ -n "$NGINX_WORKERS" ] || die "reference nginx has no workers"
}

# start_cluster -- the three volumes, the reference nginx and the main
# index (MAIN_LPID, MAIN_IPID, URL), and the answers the rows rely on.
start_cluster() {
    # Volume 1 gets the port the cached index points at, when free, so
    # that its records name a live volume and the cache stays valid.
    V1=""
    _cache=$(db_cache "$NKEYS")
    if [ -f "$_cache.version" ]; then
        cached=$(sed -n 's/^volume=localhost:\([0-9]*\)$/\1/p' "$_cache.version")
        [ -n "$cached" ] && port_is_free "$cached" && V1=$cached
    fi
    [ -n "$V1" ] || V1=$(free_port)
    V2=$(free_port)
    V3=$(free_port)
    IPORT=$(free_port)
    NPORT=$(free_port)
    VOLS="localhost:$V1 localhost:$V2 localhost:$V3"

    LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
    say "data under $WORK (load average $LOAD0)"
    bench_volume 1 "$V1"
    bench_volume 2 "$V2"
    bench_volume 3 "$V3"
    start_reference

    # shellcheck disable=SC2086
    start_timed_index index "$IPORT" "$WORK/index.db" $VOLS
    MAIN_LPID=$LPID MAIN_IPID=$IPID
    URL=http://127.0.0.1:$IPORT

    # Sanity: the answers the load runs below rely on.
    MISSING=/bench/missing-key
    PRESENT=/bench/present-key
    [ "$(code "$URL$MISSING")" = 404 ] || broken "GET of a missing key is not 404"
    [ "$(code "http://127.0.0.1:$NPORT$MISSING")" = 404 ] || broken "reference nginx does not answer 404"
    [ "$(code -X PUT --data-binary bigswag "$URL$PRESENT")" = 201 ] || broken "PUT of the present key is not 201"
    [ "$(code "$URL$PRESENT")" = 302 ] || broken "GET of a present key is not 302"
    [ "$(curl -s -L --max-time 30 "$URL$PRESENT")" = bigswag ] || broken "GET -L of the present key is not its value"
}

# --- 1 and 2: fetches ------------------------------------------------------

bench_fetch() {
    say "1. fetch missing"
    run_wrk "$URL$MISSING" 4xx "$MAIN_IPID";           idx_wrk404=$RATE idx_cpu404=$CPU_US
    # shellcheck disable=SC2086
    run_wrk "http://127.0.0.1:$NPORT$MISSING" 4xx $NGINX_WORKERS; ngx_wrk404=$RATE ngx_cpu404=$CPU_US
    run_hey "$URL$MISSING" 404;                        idx_hey404=$RATE
    run_hey "http://127.0.0.1:$NPORT$MISSING" 404;     ngx_hey404=$RATE
    say "2. fetch present"
    run_wrk "$URL$PRESENT" 3xx "$MAIN_IPID";           idx_wrk302=$RATE idx_cpu302=$CPU_US
    run_hey "$URL$PRESENT" 200;                        idx_hey302=$RATE

    r=$(ratio "$idx_wrk404" "$ngx_wrk404")
    row "fetch missing, wrk (req/s)" "$idx_wrk404" "nginx 404 $ngx_wrk404" "$r" ">= 0.90" "$(judge "$r" '>=' 0.90)"
    r=$(ratio "$idx_hey404" "$ngx_hey404")
    row "fetch missing, hey (req/s)" "$idx_hey404" "nginx 404 $ngx_hey404" "$r" ">= 0.90" "$(judge "$r" '>=' 0.90)"
    row "fetch missing, server CPU (us/req)" "$idx_cpu404" "nginx 404 $ngx_cpu404" "$(ratio "$idx_cpu404" "$ngx_cpu404")" "-" "info"
    row "fetch present: 302, wrk (req/s)" "$idx_wrk302" "nginx 404 $ngx_wrk404" "$(ratio "$idx_wrk302" "$ngx_wrk404")" "-" "info"
    row "fetch present: 302, server CPU (us/req)" "$idx_cpu302" "nginx 404 $ngx_cpu404" "$(ratio "$idx_cpu302" "$ngx_cpu404")" "-" "info"
    row "fetch present: hey -> 302 -> 200 (req/s)" "$idx_hey302" "nginx 404 $ngx_hey404" "$(ratio "$idx_hey302" "$ngx_hey404")" "-" "info"
}

# --- 3: thrasher -----------------------------------------------------------

if "$BIN"/mkv-index --replicas 3 --help >/dev/null 2>&1; then
    REPL="--replicas 3"; repl_label="x3"
else
    REPL=""; repl_label="(replicas=1: --replicas not available yet)"
fi

# thrash IPID ARGS... -- run the thrasher with ARGS, under GNU time; sets
# TRATE and TERR, TCPU to "CLIENT/INDEX/NGINX": the CPU a round cost the
# thrasher, the index IPID ("-" for none: the direct run) and the three
# volumes' nginx (master and workers: the launchers' descendants), in
# microseconds, and TCPU_SUM to their total.
thrash() {
    _ipid=$1
    shift
    # shellcheck disable=SC2086
    _ngx=$(descendants $VOL_LPIDS)
    [ -n "$_ngx" ] || broken "no nginx under the volume launchers ($VOL_LPIDS)"
    _i0=0; [ "$_ipid" = - ] || _i0=$(cpu_ticks "$_ipid")
    # shellcheck disable=SC2086
    _n0=$(cpu_ticks $_ngx)
    /usr/bin/time -f '%U %S' -o "$WORK/thrasher.time" \
        build/thrasher -n "$ROUNDS" -c "$THREADS" "$@" >"$WORK/thrasher.out" 2>"$WORK/thrasher.err"
    _rc=$?
    # shellcheck disable=SC2086
    _n1=$(cpu_ticks $_ngx)
    _i1=0; [ "$_ipid" = - ] || _i1=$(cpu_ticks "$_ipid")
    cat "$WORK/thrasher.err" >&2
    TRATE=$(sed -n 's/.* rounds_per_s=\([0-9.]*\).*/\1/p' "$WORK/thrasher.out")
    TERR=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' "$WORK/thrasher.out")
    _rounds=$(sed -n 's/.* rounds=\([0-9]*\) .*/\1/p' "$WORK/thrasher.out")
    say "  $(cat "$WORK/thrasher.out")"
    if [ "$_rc" -ne 0 ] || [ -z "$TRATE" ]; then
        broken "thrasher $* failed (exit $_rc)"
        TRATE=${TRATE:-0}
    fi
    # GNU time's last line is "USER SYSTEM" (seconds); the one before it
    # says so if the thrasher exited non-zero.
    _ct=$(tail -n 1 "$WORK/thrasher.time" | awk -v hz="$HZ" 'NF == 2 { print ($1 + $2) * hz }')
    _c=$(per_round "${_ct:-0}" "${_rounds:-0}")
    _n=$(per_round "$((_n1 - _n0))" "${_rounds:-0}")
    _i=-
    [ "$_ipid" = - ] || _i=$(per_round "$((_i1 - _i0))" "${_rounds:-0}")
    TCPU="$_c/$_i/$_n"
    TCPU_SUM=$(awk -v c="$_c" -v i="$_i" -v n="$_n" 'BEGIN { if (c == "-" || n == "-") print "-"; else print c + i + n }')
    # shellcheck disable=SC2086
    say "  CPU per round (us): client/index/nginx $TCPU ($(echo $_ngx | wc -w) nginx processes)"
}
bench_thrasher() {
    say "3. thrasher: $ROUNDS rounds, $THREADS threads, through the index (x1, then ${REPL:-no x3}), straight to volume 1, with --sync"
    thrash "$MAIN_IPID" "$URL"
    thr_idx=$TRATE; thr_idx_err=${TERR:-?} cpu_idx=$TCPU sum_idx=$TCPU_SUM
    thrash - -d "http://127.0.0.1:$V1"
    thr_dir=$TRATE; thr_dir_err=${TERR:-?} cpu_dir=$TCPU sum_dir=$TCPU_SUM

    # The same rounds through an index at --replicas 3 on the same volumes.
    # Meanwhile its Threads: is sampled every 0.2 s: the event loops and a
    # few helpers (main, --sync's, libcurl's resolver) and no thread per
    # request or transfer. Its threads and descriptors when idle before the
    # load and 3 s after it show what the load left behind.
    thr3=- thr3_err=- cpu3=- sum3=- thr_max=- tf_idle=- tf_after=- loops=$(nproc) loops_from=nproc
    if [ -n "$REPL" ]; then
        T3PORT=$(free_port)
        # shellcheck disable=SC2086
        start_timed_index thr3 "$T3PORT" "$WORK/thr3.db" $REPL $VOLS
        T3_LPID=$LPID T3_IPID=$IPID
        # "serving on port ..., N event loops" (the rewrite's start-up line).
        logged=$(sed -n 's/.*serving on port .* \([0-9][0-9]*\) event loops*$/\1/p' "$WORK/thr3.log" | tail -n 1)
        [ -n "$logged" ] && loops=$logged loops_from=logged
        say "  --replicas 3 index: $loops event loops ($loops_from)"
        tf_idle=$(threads_fds "$T3_IPID")
        rm -f "$WORK/sampler.stop"
        while [ ! -f "$WORK/sampler.stop" ]; do
            awk '/^Threads:/ { print $2 }' "/proc/$T3_IPID/status" 2>/dev/null
            sleep 0.2
        done >"$WORK/threads.samples" &
        SAMPLER=$!
        PIDS="$PIDS $SAMPLER"
        thrash "$T3_IPID" "http://127.0.0.1:$T3PORT"
        thr3=$TRATE; thr3_err=${TERR:-?} cpu3=$TCPU sum3=$TCPU_SUM
        : >"$WORK/sampler.stop"
        wait "$SAMPLER"
        unlist "$SAMPLER"
        thr_max=$(sort -n "$WORK/threads.samples" | tail -n 1)
        say "  threads under load: at most ${thr_max:-?} in $(wc -l <"$WORK/threads.samples") samples"
        sleep 3
        tf_after=$(threads_fds "$T3_IPID")
        say "  threads/fds: $tf_idle idle before, $tf_after 3 s after"
        forget "$T3_LPID" "$T3_IPID"
    fi

    # The same workload against an index started with --sync (an fsync of the
    # index file before every write is answered): the price of surviving a
    # power loss, as a ratio to the default.
    SPORT=$(free_port)
    # shellcheck disable=SC2086
    start_timed_index sync "$SPORT" "$WORK/sync.db" --sync $VOLS
    SYNC_LPID=$LPID SYNC_IPID=$IPID
    thrash "$SYNC_IPID" "http://127.0.0.1:$SPORT"; thr_sync=$TRATE; thr_sync_err=${TERR:-?}
    forget "$SYNC_LPID" "$SYNC_IPID"

    r=$(ratio "$thr_idx" "$thr_dir")
    res=$(judge "$r" '>=' 0.60)
    [ "$thr_idx_err" = 0 ] && [ "$thr_dir_err" = 0 ] || res="FAIL (errors: $thr_idx_err index, $thr_dir_err direct)"
    row "thrasher (rounds/s)" "$thr_idx" "direct $thr_dir" "$r" ">= 0.60" "$res"
    # na: the result of the rows that need the --replicas 3 index.
    na=info
    [ -n "$REPL" ] || na="info (--replicas not available)"
    res=$na
    [ -z "$REPL" ] || [ "$thr3_err" = 0 ] || res="FAIL (errors: $thr3_err)"
    row "thrasher, --replicas 3 (rounds/s)" "$thr3" "direct $thr_dir" "$(ratio "$thr3" "$thr_dir")" "-" "$res"
    # The ratio of these two rows is of the totals: CPU a round costs in all.
    row "thrasher CPU per round, x1: client/index/nginx (us)" "$cpu_idx" "direct $cpu_dir" "$(ratio "$sum_idx" "$sum_dir")" "-" "info"
    row "thrasher CPU per round, x3: client/index/nginx (us)" "$cpu3" "direct $cpu_dir" "$(ratio "$sum3" "$sum_dir")" "-" "$na"
    lim=$((loops + 4))
    loops_label=loops
    [ "$loops_from" = logged ] || loops_label=nproc
    res=$(judge "$thr_max" '<=' "$lim")
    [ -n "$REPL" ] || res=$na
    row "index threads under load" "$thr_max" "$loops_label+4 $lim" "$(ratio "$thr_max" "$lim")" "<= $lim" "$res"
    row "index threads/fds after load" "$tf_after" "idle $tf_idle" "-" "-" "$na"
    res=info
    [ "$thr_sync_err" = 0 ] || res="FAIL (errors: $thr_sync_err)"
    row "thrasher with --sync (rounds/s)" "$thr_sync" "no --sync $thr_idx" "$(ratio "$thr_sync" "$thr_idx")" "-" "$res"
}

# --- 4: big value ----------------------------------------------------------

# put_time URL -- curl -T WORK/big to URL; sets PT to the seconds it
# took, or "-" unless the answer was 201.
put_time() {
    _r=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 300 -T "$WORK/big" "$1")
    PT=$(awk -v s="${_r#* }" 'BEGIN { printf "%.3f", s }')
    [ "${_r% *}" = 201 ] || { broken "PUT of $BIG_MIB MiB to $1: ${_r% *}"; PT="-"; }
}
# min A B -- the smaller of two times ("-" counts as failed).
min() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else print (a + 0 < b + 0) ? a : b }'; }

# put3_direct I -- the reference for the fan-out: WORK/big sent straight
# to /00/00/big-direct-3x-I on each of the three volumes at once (three
# curl -T, each under GNU time), then deleted. Sets PT to the seconds
# from before the first curl started until the last one ended ("-" unless
# all three answered 201) and PCPU to the three curls' CPU seconds, summed.
# That wall time includes starting the processes (about 8 ms here), which
# put_time's %{time_total} does not: a bias of ~2% in the index's favour at
# 256 MiB.
put3_direct() {
    _cpids=""
    _t0=$(now_ns)
    for _v in "$V1" "$V2" "$V3"; do
        /usr/bin/time -f '%U %S' -o "$WORK/put3-$_v.time" \
            curl -s -o /dev/null -w '%{http_code}' --max-time 300 -T "$WORK/big" \
            "http://127.0.0.1:$_v/00/00/big-direct-3x-$1" >"$WORK/put3-$_v.code" 2>&1 &
        _cpids="$_cpids $!"
    done
    PIDS="$PIDS $_cpids"
    # shellcheck disable=SC2086
    wait $_cpids
    _t1=$(now_ns)
    # shellcheck disable=SC2086
    unlist $_cpids
    PT=$(awk -v ns="$((_t1 - _t0))" 'BEGIN { printf "%.3f", ns / 1e9 }')
    PCPU=0
    for _v in "$V1" "$V2" "$V3"; do
        _c=$(cat "$WORK/put3-$_v.code" 2>/dev/null)
        [ "$_c" = 201 ] || { broken "PUT of $BIG_MIB MiB to volume port $_v (3 at once): ${_c:-no answer}"; PT="-"; }
        PCPU=$(tail -n 1 "$WORK/put3-$_v.time" | awk -v s="$PCPU" 'NF == 2 { s += $1 + $2 } END { printf "%.2f", s }')
        [ "$(code -X DELETE "http://127.0.0.1:$_v/00/00/big-direct-3x-$1")" = 204 ] ||
            broken "direct DELETE of the big value (3 at once, port $_v)"
    done
}

# through_index PORT KEY WHAT IPID -- put_time through the index IPID on
# PORT (PTICKS: the CPU ticks the index used meanwhile), then read the
# value back (size) and delete it.
through_index() {
    _c0=$(cpu_ticks "$4")
    put_time "http://127.0.0.1:$1$2"
    PTICKS=$(($(cpu_ticks "$4") - _c0))
    say "  through the index, $3: $PT s"
    _got=$(curl -s -L -o /dev/null -w '%{http_code} %{size_download}' --max-time 300 "http://127.0.0.1:$1$2")
    [ "$_got" = "200 $((BIG_MIB * 1024 * 1024))" ] || broken "GET -L of the big value ($3): $_got"
    [ "$(code -X DELETE "http://127.0.0.1:$1$2")" = 204 ] ||
        broken "DELETE of the big value through the index ($3)"
}

bench_big_value() {
    say "4. big value: $BIG_MIB MiB"
    say "  index replicas: ${REPL:-default} $repl_label"
    head -c "$((BIG_MIB * 1024 * 1024))" /dev/urandom >"$WORK/big" || die "cannot write $WORK/big"
    BPORT=$(free_port)
    # shellcheck disable=SC2086
    start_timed_index big "$BPORT" "$WORK/big.db" $REPL $VOLS
    BIG_LPID=$LPID BIG_IPID=$IPID
    hwm_idle=$(awk '/^VmHWM:/ { print $2 }' "/proc/$BIG_IPID/status")
    # With replicas, the same PUT at --replicas 1 too: the index's own cost
    # apart from the fan-out's.
    B1PORT=""
    if [ -n "$REPL" ]; then
        B1PORT=$(free_port)
        # shellcheck disable=SC2086
        start_timed_index big1 "$B1PORT" "$WORK/big1.db" --replicas 1 $VOLS
        BIG1_LPID=$LPID BIG1_IPID=$IPID
        # And without the value's MD5, which is one CPU's work at about
        # 650 MB/s here: what moving the bytes costs the index.
        BNPORT=$(free_port)
        # shellcheck disable=SC2086
        start_timed_index bignomd5 "$BNPORT" "$WORK/bign.db" $REPL --md5sum=false $VOLS
        BIGN_LPID=$LPID BIGN_IPID=$IPID
    fi

    # Twice each, alternating, best of two: one run is at the mercy of
    # writeback and of whatever else the machine is doing.
    t_dir=""; t_dir3=""; t_idx=""; t_idx1=""; t_idxn=""; idx_ticks=0; idxn_ticks=0; curl_cpu=0
    for i in 1 2; do
        put_time "http://127.0.0.1:$V1/00/00/big-direct-$i"
        say "  direct to volume 1: $PT s"
        t_dir=$(min "${t_dir:-$PT}" "$PT")
        [ "$(code -X DELETE "http://127.0.0.1:$V1/00/00/big-direct-$i")" = 204 ] ||
            broken "direct DELETE of the big value"
        if [ -n "$REPL" ]; then
            put3_direct "$i"
            say "  direct to the 3 volumes at once: $PT s, the curls' CPU $PCPU s"
            t_dir3=$(min "${t_dir3:-$PT}" "$PT")
            curl_cpu=$(awk -v a="$curl_cpu" -v b="$PCPU" 'BEGIN { print a + b }')
        fi
        through_index "$BPORT" "/big-$i" "$repl_label" "$BIG_IPID"
        t_idx=$(min "${t_idx:-$PT}" "$PT")
        idx_ticks=$((idx_ticks + PTICKS))
        if [ -n "$B1PORT" ]; then
            through_index "$B1PORT" "/big-$i" "x1" "$BIG1_IPID"
            t_idx1=$(min "${t_idx1:-$PT}" "$PT")
            through_index "$BNPORT" "/big-$i" "$repl_label --md5sum=false" "$BIGN_IPID"
            t_idxn=$(min "${t_idxn:-$PT}" "$PT")
            idxn_ticks=$((idxn_ticks + PTICKS))
        fi
    done
    hwm_peak=$(awk '/^VmHWM:/ { print $2 }' "/proc/$BIG_IPID/status")
    say "  index VmHWM ${hwm_idle} kB idle, ${hwm_peak} kB after"
    forget "$BIG_LPID" "$BIG_IPID"
    [ -n "$B1PORT" ] && forget "$BIG1_LPID" "$BIG1_IPID" && forget "$BIGN_LPID" "$BIGN_IPID"
    rm -f "$WORK/big"

    if [ -n "$REPL" ]; then
        r=$(ratio "$t_idx" "$t_dir3")
        row "$BIG_MIB MiB PUT x3, best of 2 (s)" "$t_idx" "3x direct $t_dir3" "$r" "<= 1.25" "$(judge "$r" '<=' 1.25)"
        # CPU seconds per PUT, the mean of the two rounds on either side.
        idx_cpu=$(awk -v t="$idx_ticks" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz / 2 }')
        snd_cpu=$(awk -v s="$curl_cpu" 'BEGIN { printf "%.2f", s / 2 }')
        r=$(ratio "$idx_cpu" "$snd_cpu")
        row "index CPU in that PUT vs the 3 curl senders (s)" "$idx_cpu" "3 curl $snd_cpu" "$r" "<= 1.5" "$(judge "$r" '<=' 1.5)"
        r=$(ratio "$t_idxn" "$t_dir3")
        row "$BIG_MIB MiB PUT x3, --md5sum=false, best of 2 (s)" "$t_idxn" "3x direct $t_dir3" "$r" "-" "info"
        idxn_cpu=$(awk -v t="$idxn_ticks" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz / 2 }')
        row "index CPU in it, --md5sum=false (s)" "$idxn_cpu" "3 curl $snd_cpu" "$(ratio "$idxn_cpu" "$snd_cpu")" "-" "info"
    else
        r=$(ratio "$t_idx" "$t_dir")
        row "$BIG_MIB MiB PUT $repl_label, best of 2 (s)" "$t_idx" "direct $t_dir" "$r" "<= 1.25" "$(judge "$r" '<=' 1.25)"
    fi
    peak_mib=$(awk -v k="$hwm_peak" 'BEGIN { printf "%.1f", k / 1024 }')
    idle_mib=$(awk -v k="$hwm_idle" 'BEGIN { printf "%.1f", k / 1024 }')
    row "index peak RSS in that PUT (MiB)" "$peak_mib" "idle $idle_mib" "$(ratio "$peak_mib" "$idle_mib")" "peak <= 32" "$(judge "$peak_mib" '<=' 32)"
    [ -n "$B1PORT" ] && row "$BIG_MIB MiB PUT x1, best of 2 (s)" "$t_idx1" "direct $t_dir" "$(ratio "$t_idx1" "$t_dir")" "-" "info"
}

# --- 5: scale --------------------------------------------------------------

# bench_scale N -- an index of N keys vs one of 1 key, started one at a
# time; the N-key file is built once with scripts/bench/mkdb.py and cached
# (db_cache N). Adds a line to DB_NOTES, which the table ends with.
bench_scale() {
    _nkeys=$1 _cache=$(db_cache "$1")
    say "5. scale: $_nkeys keys vs 1"
    VOL1=localhost:$V1
    want_version="version=$DB_VERSION
keys=$_nkeys
volume=$VOL1"
    if [ -f "$_cache" ] && [ "$(cat "$_cache.version" 2>/dev/null)" = "$want_version" ]; then
        db_note="$_nkeys-key index from the cache $_cache"
    else
        say "  building the $_nkeys-key index (cached as $_cache for next time)"
        rm -f "$_cache" "$_cache.version" "$_cache.tmp"
        took=$($PY scripts/bench/mkdb.py "$_cache.tmp" "$_nkeys" "$VOL1") || die "cannot build $_cache"
        mv "$_cache.tmp" "$_cache" && echo "$want_version" >"$_cache.version"
        db_note="$_nkeys-key index built in $took s with dbm.gnu (now cached as $_cache)"
    fi
    say "  $db_note"
    DB_NOTES="$DB_NOTES($db_note)
"
    # The index opens its file for writing: run it on copies, keep the cache.
    cp "$_cache" "$WORK/big-index.db"
    $PY scripts/bench/mkdb.py "$WORK/one-key.db" 1 "$VOL1" >/dev/null || die "cannot build the 1-key index"
    KEY=/k$(printf '%07d' $((_nkeys / 2)))

    SPORT=$(free_port)
    # shellcheck disable=SC2086
    start_timed_index one "$SPORT" "$WORK/one-key.db" $VOLS
    up_one=$STARTUP_S ready_one=$READY_S
    [ "$(code "http://127.0.0.1:$SPORT/k0000000")" = 302 ] || broken "1-key index: GET /k0000000 is not 302"
    run_wrk "http://127.0.0.1:$SPORT/k0000000" 3xx "$IPID"; one_wrk302=$RATE one_cpu302=$CPU_US
    rss_one=$(awk '/^VmHWM:/ { print $2 }' "/proc/$IPID/status")
    forget "$LPID" "$IPID"

    # shellcheck disable=SC2086
    start_timed_index many "$SPORT" "$WORK/big-index.db" $VOLS
    up_many=$STARTUP_S ready_many=$READY_S
    [ "$(code "http://127.0.0.1:$SPORT$KEY")" = 302 ] || broken "$_nkeys-key index: GET $KEY is not 302"
    run_wrk "http://127.0.0.1:$SPORT$KEY" 3xx "$IPID";      many_wrk302=$RATE many_cpu302=$CPU_US
    rss_many=$(awk '/^VmHWM:/ { print $2 }' "/proc/$IPID/status")
    forget "$LPID" "$IPID"
    say "  start-up: port answers after $up_one s with 1 key, $up_many s with $_nkeys"
    say "  ready to list after $ready_one s with 1 key, $ready_many s with $_nkeys"

    size_one=$(stat -c %s "$WORK/one-key.db")
    size_many=$(stat -c %s "$WORK/big-index.db")
    r=$(ratio "$many_wrk302" "$one_wrk302")
    row "fetch present, $_nkeys keys, wrk (req/s)" "$many_wrk302" "1 key $one_wrk302" "$r" ">= 0.90" "$(judge "$r" '>=' 0.90)"
    row "fetch present, $_nkeys keys, CPU (us/req)" "$many_cpu302" "1 key $one_cpu302" "$(ratio "$many_cpu302" "$one_cpu302")" "-" "info"
    row "start-up, $_nkeys keys (s)" "$up_many" "1 key $up_one" "$(ratio "$up_many" "$up_one")" "<= 1 s" "$(judge "$up_many" '<=' 1)"
    row "ready to list, $_nkeys keys (s)" "$ready_many" "1 key $ready_one" "$(ratio "$ready_many" "$ready_one")" "-" "info"
    row "index peak RSS, $_nkeys keys (MiB)" "$(awk -v k="$rss_many" 'BEGIN { printf "%.1f", k / 1024 }')" \
        "1 key $(awk -v k="$rss_one" 'BEGIN { printf "%.1f", k / 1024 }')" "$(ratio "$rss_many" "$rss_one")" "-" "info"
    row "index file, $_nkeys keys (MiB)" "$(awk -v b="$size_many" 'BEGIN { printf "%.1f", b / 1048576 }')" \
        "1 key $(awk -v b="$size_one" 'BEGIN { printf "%.2f", b / 1048576 }')" "$(ratio "$size_many" "$size_one")" "-" "info"
}

# --- the table ---------------------------------------------------------------

print_table() {
    echo
    # The tree the binaries were built in: the one above BIN (MKV_BIN may be
    # another checkout's).
    tree=$(git -C "$BIN/.." rev-parse --short HEAD 2>/dev/null || echo "?")
    [ -n "$(git -C "$BIN/.." status --porcelain -- src include 2>/dev/null)" ] && tree="$tree + uncommitted changes in src/include"
    echo "cmkv benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, wrk/hey ${SECS} s each, tree $tree"
    echo "binaries $BIN/; the index runs with its defaults (one event loop per CPU, 1 replica) but for the flags a row names; load average before: $LOAD0"
    awk -F '\t' '
        { for (i = 1; i <= 6; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
        END {
            split("measure cmkv reference ratio target result", head, " ")
            for (i = 1; i <= 6; i++) if (length(head[i]) > w[i]) w[i] = length(head[i])
            fmt = "%-" w[1] "s  %" w[2] "s  %-" w[3] "s  %" w[4] "s  %-" w[5] "s  %s\n"
            printf fmt, head[1], head[2], head[3], head[4], head[5], head[6]
            for (r = 1; r <= NR; r++)
                printf fmt, cell[r, 1], cell[r, 2], cell[r, 3], cell[r, 4], cell[r, 5], cell[r, 6]
        }' "$ROWS"
    printf '%s' "$DB_NOTES"
}

start_cluster
bench_fetch
bench_thrasher
bench_big_value
forget "$MAIN_LPID" "$MAIN_IPID" # one index at a time from here on
bench_scale "$NKEYS"
print_table
if [ "$BROKEN" -ne 0 ]; then
    echo "bench: something broke (see BROKEN above)"
    exit 1
fi
exit 0
