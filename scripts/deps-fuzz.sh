#!/bin/sh
# deps-fuzz.sh -- what `make fuzz` needs on top of `make deps`: clang and
# its compiler runtime, which carries libFuzzer (libclang_rt.fuzzer).
set -eu
exec sh "$(dirname "$0")/deps.sh" clang libclang-rt-dev
