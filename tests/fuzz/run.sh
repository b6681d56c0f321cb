#!/usr/bin/env bash
# run.sh SECONDS [NAME...]: builds every tests/fuzz/fuzz_*.cpp (or only fuzz_NAME.cpp for
# the NAMEs given) as a libFuzzer target with AddressSanitizer and UBSan into build/fuzz/,
# then runs each for SECONDS. Any finding (crash, sanitizer report, uncaught exception,
# timeout, a single allocation over 512 MB) fails the script; the input that caused it is
# written to build/fuzz/artifacts/. Seeds come from tests/fuzz/seeds/NAME/ when present;
# the corpus grows in build/fuzz/corpus/NAME/ and is kept between runs.
set -euo pipefail
seconds=${1:?usage: tests/fuzz/run.sh SECONDS [NAME...]}
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/build/fuzz"
cxx=${FARBOUND_FUZZ_CXX:-clang++}
mkdir -p "$out/artifacts" "$out/corpus"

flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -fno-omit-frame-pointer -fopenmp -I"$root/include" -I/usr/include/eigen3)

if [[ $# -gt 0 ]]; then
  sources=()
  for name in "$@"; do sources+=("$root/tests/fuzz/fuzz_$name.cpp"); done
else
  sources=("$root"/tests/fuzz/fuzz_*.cpp)
fi

for src in "${sources[@]}"; do
  target=$(basename "$src" .cpp)
  name=${target#fuzz_}
  echo "== $target: build"
  "$cxx" "${flags[@]}" "$src" -o "$out/$target" -lz

  corpus=("$out/corpus/$name")
  mkdir -p "${corpus[0]}"
  [[ -d "$root/tests/fuzz/seeds/$name" ]] && corpus+=("$root/tests/fuzz/seeds/$name")
  echo "== $target: ${seconds}s"
  # Leak checking stays on; UBSan findings abort (-fno-sanitize-recover) and so count.
  if ! "$out/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
      -max_len=16384 -print_final_stats=1 -artifact_prefix="$out/artifacts/$name-" "${corpus[@]}" \
      >"$out/$target.log" 2>&1; then
    tail -n 60 "$out/$target.log"
    echo "== $target: FINDING (log: $out/$target.log, input in $out/artifacts/)" >&2
    exit 1
  fi
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^Done ' "$out/$target.log" || true
  echo "== $target: no finding in ${seconds}s"
done
