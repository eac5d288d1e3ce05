#!/bin/sh
# run.sh [UNIT...] [--asan BINDIR UNIT...] [--valgrind] -- run the cmocka
# unit tests given, then every tests/integration/test_*.sh, and end with
# one line "N passed, N failed" (", N skipped" when a test skipped).
# Exits non-zero if anything failed.
#
# --asan BINDIR UNIT...: then run the UNITs given after it and every
#   integration test again against BINDIR's mkv-index and mkv-volume, a
#   build with -fsanitize=address,undefined. Every sanitizer report (one
#   file per reporting process, leaks at exit included) is a failure.
# --valgrind: run the integration tests only, with every mkv-index they
#   start under valgrind's memcheck; each process with errors (definite
#   leaks included) is a failure.
cd "$(dirname "$0")/.." || exit 1
passed=0
failed=0
skipped=0
out=$(mktemp)
reports=$(mktemp -d)
trap 'rm -rf "$out" "$reports"' EXIT

# reported NAME -- count a failure for every sanitizer or valgrind report
# left in $reports since the last call, show it, and clear the directory.
reported() {
    for r in "$reports"/*; do
        [ -s "$r" ] || { rm -f "$r"; continue; }
        echo "not ok - $1 ran without a sanitizer or valgrind report (${r##*/}):"
        sed 's/^/#   /' "$r"
        failed=$((failed + 1))
        rm -f "$r"
    done
}

# units UNIT... -- run cmocka binaries, summing their counts.
units() {
    for t in "$@"; do
        "$t" >"$out" 2>&1
        rc=$?
        cat "$out"
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
        passed=$((passed + ${p:-0}))
        failed=$((failed + ${f:-0}))
        if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
            echo "$t: exited $rc"
            failed=$((failed + 1))
        fi
        reported "$t"
    done
}

# integration LABEL -- run every integration test, summing the counts of
# its last "N passed, N failed[, N skipped]" line.
integration() {
    for t in tests/integration/test_*.sh; do
        echo "== $1$t"
        bash "$t" >"$out" 2>&1
        rc=$?
        cat "$out"
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
        p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
        f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
        s=$(echo "$line" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
        passed=$((passed + ${p:-0}))
        failed=$((failed + ${f:-0}))
        skipped=$((skipped + ${s:-0}))
        if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
            echo "$t: exited $rc without reporting a failure"
            failed=$((failed + 1))
        fi
        reported "$1$t"
    done
}

plain=""
while [ $# -gt 0 ] && [ "$1" != --asan ] && [ "$1" != --valgrind ]; do
    plain="$plain $1"
    shift
done
if [ "${1:-}" != --valgrind ]; then
    # shellcheck disable=SC2086
    units $plain
    integration ""
fi

if [ "${1:-}" = --asan ]; then
    san_bin=$2
    shift 2
    # ASan's reports (leaks at exit too) go to files, one per process, so
    # none is lost with a log a test deletes; abort_on_error makes the
    # first one fatal. gcc's UBSan writes to stderr whatever log_path
    # says: lib.sh's finish finds those in the daemons' logs.
    export MKV_BIN="$san_bin" MKV_VOLUME_BIN="$san_bin/mkv-volume"
    export ASAN_OPTIONS="abort_on_error=1:halt_on_error=1:detect_leaks=1:log_path=$reports/asan"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
    units "$@"
    integration "asan: "
elif [ "${1:-}" = --valgrind ]; then
    # Only definite leaks count (libraries keep some memory reachable).
    export MKV_INDEX_WRAPPER="valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=99 --log-file=$reports/valgrind.%p"
    integration "valgrind: "
fi

if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
