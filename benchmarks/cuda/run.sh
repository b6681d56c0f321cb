#!/usr/bin/env bash
# Builds and runs every CUDA kernel harness and PyTorch eager on the same GPU, and prints
# one table: per kernel and size, each version's best launch configuration (median time),
# its GB/s and share of the device's measured copy bandwidth, and PyTorch's time with the
# speed-up against it.
#
# Usage: benchmarks/cuda/run.sh [BUILD_DIR=build/cuda-bench]
#   TORCH_PYTHON=/path/to/python   a Python with CUDA PyTorch; otherwise the script makes a
#                                  virtual environment in BUILD_DIR/torch-venv and installs
#                                  torch from PyPI into it (needs the network once).
# Exit code: 0 when every version matched the CPU result, 1 otherwise, 2 for usage errors.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
[[ $# -le 1 ]] || { echo "usage: $0 [BUILD_DIR]" >&2; exit 2; }
build=${1:-$root/build/cuda-bench}
results=$(mktemp)
trap 'rm -f "$results"' EXIT

"$root/tools/configure.sh" "$build" -DCMAKE_BUILD_TYPE=Release -DFARBOUND_CUDA_BENCHMARKS=ON \
  -DFARBOUND_BUILD_EXAMPLES=OFF
cmake --build "$build" --target bench_cuda_smoothness_loss bench_cuda_neighbours -j"$(nproc)"

status=0
for harness in smoothness_loss neighbours; do
  "$build/benchmarks/cuda/bench_cuda_$harness" | tee -a "$results" || status=1
done

python=${TORCH_PYTHON:-}
if [[ -z $python ]]; then
  venv=$build/torch-venv
  if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    python3 -m venv "$venv" && "$venv/bin/pip" install --quiet torch || echo "run.sh: could not install torch from PyPI" >&2
  fi
  python=$venv/bin/python
fi
if "$python" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  "$python" "$root/benchmarks/cuda/torch_eager.py" | tee -a "$results" || true
else
  echo "run.sh: no CUDA PyTorch ($python); the PyTorch column stays empty" >&2
fi

# One row per (kernel, size, version): the fastest configuration, and PyTorch's time.
echo
grep '^DEVICE' "$results" | head -1
printf "%-16s %-14s %-8s %-12s %10s %8s %7s %10s %8s\n" kernel size version config us GB/s %copy torch_us speedup
awk '
  /^RESULT/ {
    for (i = 2; i <= NF; ++i) { split($i, kv, "="); f[kv[1]] = kv[2] }
    key = f["kernel"] " " f["size"]
    if (f["version"] == "torch") { torch[key] = f["us"]; next }
    row = key " " f["version"]
    if (!(row in best) || f["us"] + 0 < best[row] + 0) {
      best[row] = f["us"]; cfg[row] = f["config"]; gbs[row] = f["gbs"]; pct[row] = f["copy_pct"]
    }
  }
  END {
    for (row in best) {
      split(row, p, " "); key = p[1] " " p[2]
      t = (key in torch) ? torch[key] : "-"
      s = (t != "-") ? sprintf("%.1fx", t / best[row]) : "-"
      printf "%-16s %-14s %-8s %-12s %10s %8s %7s %10s %8s\n", p[1], p[2], p[3], cfg[row], best[row], gbs[row], pct[row], t, s
    }
  }' "$results" | sort -k1,1 -k2,2V -k3,3
grep '^MISMATCH' "$results" && status=1
exit $status
