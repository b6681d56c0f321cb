#!/usr/bin/env bash
# Data-parallel farbound-train (issue 17): the time per training step on 1 process, 1 process
# with 2 threads, and 2 MPI ranks x 1 thread (and, for the cost of the shard cut, 1 process
# with the batch in one shard), on one fixed setting: LeNet/ReLU on 500
# Fashion-MNIST images per class (5000), batch 64 cut into 8 shards, 2 epochs; the second
# epoch is timed (the first pays for the first step's allocations). ROUNDS runs of each, in
# turn; prints every round's ms per step and the median. Every 8-shard run's model must be
# the same bytes, which the script checks too. SETTING smoothness adds the paper's loss (Nu = 1,
# K = 2: 3x the rows per anchor, twice the anchors).
#
# Usage: benchmarks/train_ranks.sh [BUILD_DIR=build] [ROUNDS=3] [SETTING=plain|smoothness]
# Needs farbound-train built with MPI; as root, set OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
rounds=${2:-3}
setting=${3:-plain}
train=$build/examples/farbound-train
[[ -x $train ]] || { echo "no $train: cmake --build $build --target farbound-train" >&2; exit 2; }
flags=(--model lenet --activation relu --num-train 500 --num-val 0 --batch-size 64 --num-epochs 2)
case $setting in
  plain) ;;
  smoothness) flags+=(--grad-reg-lambda 10 --num-unlabeled-per-labeled 1 --num-neighbor-per-anchor 2) ;;
  *) echo "SETTING must be plain or smoothness, got $setting" >&2; exit 2 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

declare -A times
configs=("1x1" "1x2" "2x1" "1x1-one-shard")
for ((r = 1; r <= rounds; ++r)); do
  for c in "${configs[@]}"; do
    ranks=${c%%x*} threads=${c#*x} threads=${threads%%-*} shards=(--shards 8)
    [[ $c == *one-shard ]] && shards=(--shards 1)
    launch=()
    ((ranks > 1)) && launch=(mpirun -np "$ranks" --oversubscribe)
    "${launch[@]}" "$train" "${flags[@]}" "${shards[@]}" --threads "$threads" --out "$work/$c.safetensors" --log "$work/$c.jsonl" \
      >"$work/$c.out" 2>&1 || { echo "$c failed: $(tail -3 "$work/$c.out")" >&2; exit 1; }
    # ms per step of the second epoch: its anchors / (anchors per second) / steps.
    ms=$(python3 -c "import json,math,sys; l=[json.loads(x) for x in open(sys.argv[1])][1]; a=int(sys.argv[2]); \
print(f'{1000*a/l[\"anchors_per_s\"]/math.ceil(a/64):.2f}')" "$work/$c.jsonl" "$([[ $setting == plain ]] && echo 5000 || echo 10000)")
    times[$c]="${times[$c]:-} $ms"
    [[ $c == *one-shard ]] || cmp -s "$work/1x1.safetensors" "$work/$c.safetensors" || { echo "$c: the model differs from 1x1's" >&2; exit 1; }
    rm -f "$work/$c.jsonl"
  done
done
echo "setting $setting, $rounds rounds, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ranks x threads | ms per step (each round) | median"
for c in "${configs[@]}"; do
  med=$(tr ' ' '\n' <<<"${times[$c]}" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$c |${times[$c]} | $med"
done
echo "bytes per step: each rank != 0 sends its shards' subtree sums (8 shards on 2 ranks: one gradient, 4 x 61706 = 246824 bytes), rank 0 broadcasts the sum (246824 bytes)"
