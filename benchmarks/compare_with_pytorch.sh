#!/usr/bin/env bash
# farbound against PyTorch, side by side: each benchmark and its PyTorch twin under every
# interpreter in TORCH_PYTHONS run alternately, ROUNDS times, on the same thread count, and the
# script prints every rate, the median rate of each side, the median of the per-round ratios to
# each PyTorch and to the faster PyTorch of each round (a shared machine drifts; ratios taken
# seconds apart do not).
#
#   training step of the framework (issue 4): train_throughput vs train_throughput_torch.py,
#     LeNet/sigmoid, K = Nu = 1, at batch 1 and batch 64, anchors/s
#   PGD-20 L-inf on LeNet (issue 5): pgd_lenet vs pgd_lenet_torch.py on the same exported
#     weights and images, images/s
#   ResNet9 forward + backward at batch 32 (issue 11): resnet9_step vs resnet9_step_torch.py,
#     images/s
#   PGD-10 adversarial training step on LeNet at batch 64 (issue 13, mode advtrain, not in the
#     default list): adversarial_step vs adversarial_step_torch.py, images/s
# On 2 or more threads each farbound rate comes with the round trip of a cache line between the
# first two CPUs just before and after it (benchmarks/core_round_trip): a shared machine that
# moved its vCPUs apart explains a slow round. The summary then also gives the median ratio
# over the rounds with both round trips under 200 ns (the vCPUs on one core complex) and over
# the others.
#
# Usage: benchmarks/compare_with_pytorch.sh [BUILD_DIR=build/release] [ROUNDS=3] [THREADS=2]
#          [WHAT=train,pgd,resnet9]   (WHAT may also name advtrain)
# TORCH_PYTHONS (space-separated interpreters) defaults to Debian's python3 with python3-torch
# 1.13 (FARBOUND_EXTRA_PACKAGES=python3-torch tools/install-deps.sh) and the venv with PyTorch
# 2.x from PyPI that benchmarks/python_env.sh makes on first use (a download; offline, set
# TORCH_PYTHONS=/usr/bin/python3). Each interpreter must import torch.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
rounds=${2:-3}
threads=${3:-2}
what=${4:-train,pgd,resnet9}
if [[ -z ${TORCH_PYTHONS:-} ]]; then
  venv_python=$("$root/benchmarks/python_env.sh") || {
    echo "compare_with_pytorch: benchmarks/python_env.sh could not make the PyTorch 2.x venv; set TORCH_PYTHONS" >&2
    exit 2
  }
  TORCH_PYTHONS="/usr/bin/python3 $venv_python"
fi
read -r -a torch_pythons <<<"$TORCH_PYTHONS"
wanted() { [[ ,$what, == *,$1,* ]]; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for pair in train:train_throughput pgd:pgd_lenet resnet9:resnet9_step advtrain:adversarial_step; do
  b=${pair#*:}
  ! wanted "${pair%%:*}" || [[ -x $build/benchmarks/$b ]] || { echo "compare_with_pytorch: build $build/benchmarks/$b first" >&2; exit 2; }
done
for torch_python in "${torch_pythons[@]}"; do
  "$torch_python" -c 'import torch' 2>/dev/null || { echo "compare_with_pytorch: $torch_python cannot import torch" >&2; exit 2; }
done

# The rate in a benchmark's summary line: "median N anchors/s" or "<side>: median ... -> N images/s".
anchors_per_s() { sed -n 's/.*median \([0-9.]*\) anchors\/s.*/\1/p'; }
images_per_s() { sed -n "s/.*$1: median .* -> \\([0-9.]*\\) images\\/s.*/\\1/p"; }
# Median of the numbers on stdin.
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# The two first CPUs' cache-line round trip in ns (benchmarks/core_round_trip), where there are
# two threads and the build has it: about 50 ns with a shared machine's two vCPUs on one core
# complex, about 330 on two, where farbound's small parallel loops run up to 3x slower.
round_trip() {
  ((threads > 1)) && [[ -x $build/benchmarks/core_round_trip ]] || return 0
  "$build/benchmarks/core_round_trip" 2>/dev/null | sed -n 's/.*: \([0-9]*\) ns$/\1/p' || true
}

torch_version() { "$1" -c 'import torch; print(torch.__version__)'; }

# compare NAME OURS THEIRS: OURS prints farbound's rate; THEIRS prints PyTorch's under the
# interpreter in $torch_python, which compare sets to each of TORCH_PYTHONS in turn.
compare() {
  local name=$1 ours=$2 theirs=$3 a b best line i before after phase
  rm -f "$work"/rate.* "$work"/ratio.*
  for ((r = 1; r <= rounds; ++r)); do
    phase=
    before=$(round_trip)
    a=$($ours) && [[ -n $a ]] || { echo "compare_with_pytorch: $name: farbound's benchmark failed or printed no rate" >&2; exit 1; }
    echo "$a" >>"$work/rate.ours"
    line="  $name round $r: farbound $a" best=0
    if [[ -n $before ]]; then
      after=$(round_trip)
      line+=" (core round trip $before / $after ns before / after)"
      # A round is "near" when both round trips read one core complex (under 200 ns).
      if [[ -n $after ]]; then ((before < 200 && after < 200)) && phase=near || phase=far; fi
    fi
    for i in "${!torch_pythons[@]}"; do
      torch_python=${torch_pythons[i]}
      b=$($theirs) && [[ -n $b ]] || { echo "compare_with_pytorch: $name: $torch_python failed or printed no rate" >&2; exit 1; }
      line+=", PyTorch ${versions[i]} $b"
      echo "$b" >>"$work/rate.$i"
      awk -v a="$a" -v b="$b" 'BEGIN {print a / b}' >>"$work/ratio.$i"
      best=$(awk -v b="$b" -v best="$best" 'BEGIN {print (b > best) ? b : best}')
    done
    echo "$line"
    awk -v a="$a" -v b="$best" 'BEGIN {print a / b}' >>"$work/ratio.faster"
    [[ -z $phase ]] || tail -n 1 "$work/ratio.faster" >>"$work/ratio.faster.$phase"
  done
  line="$name: farbound median $(median <"$work/rate.ours")"
  for i in "${!torch_pythons[@]}"; do
    line+=$(printf ', PyTorch %s median %s (ratio %.2fx)' "${versions[i]}" "$(median <"$work/rate.$i")" "$(median <"$work/ratio.$i")")
  done
  printf '%s; median ratio to the faster PyTorch %.2fx (%d rounds, %d threads)\n' "$line" "$(median <"$work/ratio.faster")" \
    "$rounds" "$threads"
  for phase in near far; do
    [[ -s $work/ratio.faster.$phase ]] || continue
    printf '  rounds with the vCPUs %s: median ratio to the faster PyTorch %.2fx (%d rounds)\n' \
      "$([[ $phase == near ]] && echo 'on one core complex' || echo 'on two core complexes at either end')" \
      "$(median <"$work/ratio.faster.$phase")" "$(wc -l <"$work/ratio.faster.$phase")"
  done
}

echo "== $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
versions=()
for torch_python in "${torch_pythons[@]}"; do
  versions+=("$(torch_version "$torch_python")")
  echo "== PyTorch ${versions[-1]} from $torch_python"
done
if wanted train; then
  for batch in 1 64; do
    ours_train() { "$build/benchmarks/train_throughput" "$batch" "$threads" | anchors_per_s; }
    torch_train() { "$torch_python" "$root/benchmarks/train_throughput_torch.py" "$batch" "$threads" | anchors_per_s; }
    compare "training step, batch $batch, anchors/s" ours_train torch_train
  done
fi

if wanted pgd; then
  "$build/benchmarks/pgd_lenet" --threads "$threads" --runs 1 --export "$work/pgd" >/dev/null
  # pgd_lenet trains the model (deterministically) before it attacks: every call attacks the
  # weights the export holds.
  ours_pgd() { "$build/benchmarks/pgd_lenet" --threads "$threads" --runs 3 | images_per_s farbound; }
  torch_pgd() { "$torch_python" "$root/benchmarks/pgd_lenet_torch.py" "$work/pgd" --threads "$threads" --runs 3 | images_per_s PyTorch; }
  compare "PGD-20 L-inf on LeNet, images/s" ours_pgd torch_pgd
fi

if wanted resnet9; then
  result_images_per_s() { sed -n 's/^RESULT .* images_per_s=\([0-9.]*\).*/\1/p'; }
  ours_resnet9() { "$build/benchmarks/resnet9_step" "$threads" 3 2 | result_images_per_s; }
  torch_resnet9() { "$torch_python" "$root/benchmarks/resnet9_step_torch.py" "$threads" 3 2 | result_images_per_s; }
  compare "ResNet9 forward+backward, batch 32, images/s" ours_resnet9 torch_resnet9
fi

if wanted advtrain; then
  step_images_per_s() { sed -n 's/^RESULT .* images_per_s=\([0-9.]*\).*/\1/p'; }
  # Both sides wait for work without spinning, as farbound-train does (examples/support/flags.hpp):
  # on a shared machine a spinning OpenMP thread holds the core its partner needs, and both
  # sides' 2-thread steps then took 2-30x as long as their 1-thread steps (docs/performance.md).
  ours_advtrain() { OMP_WAIT_POLICY=passive "$build/benchmarks/adversarial_step" "$threads" 3 4 | step_images_per_s; }
  torch_advtrain() {
    OMP_WAIT_POLICY=passive "$torch_python" "$root/benchmarks/adversarial_step_torch.py" "$threads" 3 4 | step_images_per_s
  }
  compare "PGD-10 adversarial training step, LeNet batch 64, images/s" ours_advtrain torch_advtrain
fi
echo "== load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
