#!/bin/sh
# fuzz.sh RUNS TARGET... -- run each libFuzzer target for RUNS executions
# from its seeds in tests/fuzz/corpus/NAME/ (read only; what the run
# finds goes to a scratch directory). Prints one line per target with its
# execution count and time, and "N passed, N failed"; a crash, a
# sanitizer report or a failed check keeps the input in build-fuzz/ and
# fails the run.
set -u
cd "$(dirname "$0")/.." || exit 1
runs=$1
shift
passed=0
failed=0
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

for t in "$@"; do
    name=${t##*/}
    seeds=tests/fuzz/corpus/$name
    scratch=$(mktemp -d)
    log=build-fuzz/$name.log
    # Keys reach 1024 bytes and more; let inputs grow past that.
    "$t" -runs="$runs" -max_len=4096 -print_final_stats=1 \
        -artifact_prefix="build-fuzz/$name-" "$scratch" "$seeds" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    rm -rf "$scratch"
    if [ "$rc" -eq 0 ] && [ "${execs:-0}" -ge "$runs" ]; then
        passed=$((passed + 1))
        echo "ok - $name: ${execs} executions in ${secs:-?} s"
    else
        failed=$((failed + 1))
        echo "not ok - $name: exit $rc after ${execs:-?} executions (log: $log)"
        grep -E 'ERROR|check failed|runtime error|refused|SUMMARY|Test unit written' "$log" | head -n 20 | sed 's/^/#   /'
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
