#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs missing packages, builds
# Release and runs ctest, then builds the tests with -fsanitize=address,undefined and runs
# them again. FARBOUND_FUZZ_SECONDS=N also runs every fuzz target for N seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

"$root/tools/install-deps.sh"

echo "== Release build"
"$root/tools/configure.sh" "$root/build/release" -DCMAKE_BUILD_TYPE=Release
cmake --build "$root/build/release" -j "$jobs"

echo "== Release tests"
ctest --test-dir "$root/build/release" --output-on-failure -j "$jobs"

echo "== Sanitizer build (address, undefined), for the baseline instruction set"
# Line tables only (-g1): enough for the sanitizers' stack traces, cheaper to compile than -g.
# Without -march=native (FARBOUND_NATIVE=OFF) the kernels take their portable paths (SSE2 on
# x86-64): what a user's default compiler flags give, and code the Release build above, with
# its native AVX2 or AVX-512 paths, does not run.
"$root/tools/configure.sh" "$root/build/asan" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DFARBOUND_SANITIZE=ON -DFARBOUND_NATIVE=OFF -DFARBOUND_BUILD_EXAMPLES=OFF -DFARBOUND_BUILD_BENCHMARKS=OFF \
  -DFARBOUND_CUDA=OFF
cmake --build "$root/build/asan" -j "$jobs"

if [[ -n "${FARBOUND_FUZZ_SECONDS:-}" ]]; then
  echo "== Fuzzing, ${FARBOUND_FUZZ_SECONDS}s per target"
  "$root/tests/fuzz/run.sh" "$FARBOUND_FUZZ_SECONDS"
fi

echo "== Sanitizer tests"
# Leak checking is off: OpenMP's runtime keeps its thread pool alive at exit.
ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/build/asan" --output-on-failure -j "$jobs" -L unit
