#!/usr/bin/env bash
# train.sh BIN_DIR: farbound-train on 2 MPI ranks gives the weights of one process bitwise.
# Each setting trains LeNet on 24 Fashion-MNIST images per class with the batch cut into 4
# shards, once as a plain process and once under mpirun -np 2 (each rank 2 shards); the
# model files, the checkpoints and the logs (but for their speed) must be the same bytes:
#   plain      cross-entropy, 2 epochs of 15 steps
#   smoothness the paper's loss (Nu = 1, K = 2: the fused cross-entropy + smoothness term)
#   pgd        PGD training with the smoothness loss on clean and adversarial anchors
# and --shards below the rank count is a usage error on every rank (exit 2), not a hang.
# Needs mpirun (or $MPIEXEC); as root, the caller sets OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM).
source "$(dirname "$0")/../support/tool_test.sh"
mpi=("${MPIEXEC:-mpirun}" -np 2 --oversubscribe)
common=(--model lenet --activation relu --num-train 24 --num-val 0 --batch-size 16 --threads 1)

check() {  # check NAME FLAGS...: one process and 2 ranks give the same files
  local name=$1
  shift
  for how in one two; do
    local launch=()
    [[ $how == two ]] && launch=("${mpi[@]}")
    "${launch[@]}" "$bin/farbound-train" "${common[@]}" --shards 4 "$@" --out "$name-$how.safetensors" \
      --checkpoint "$name-$how.ckpt" --log "$name-$how.jsonl" >"$name-$how.out" 2>&1 ||
      fail "$name, $how: exit $?: $(tail -3 "$name-$how.out")"
  done
  cmp -s "$name-one.safetensors" "$name-two.safetensors" || fail "$name: the 2-rank model differs from the 1-process model"
  cmp -s "$name-one.ckpt" "$name-two.ckpt" || fail "$name: the 2-rank checkpoint differs"
  local speed='s/"anchors_per_s":[^,}]*//'
  [[ -s $name-one.jsonl ]] || fail "$name: empty log"
  diff <(sed "$speed" "$name-one.jsonl") <(sed "$speed" "$name-two.jsonl") >/dev/null ||
    fail "$name: the logs differ: $(diff "$name-one.jsonl" "$name-two.jsonl" | head -4)"
  grep -q "2 MPI ranks, 4 shards" "$name-two.out" || fail "$name: no 2-rank header: $(head -2 "$name-two.out")"
  [[ $(grep -c "^saved" "$name-two.out") == 1 ]] || fail "$name: not rank 0 alone saved: $(cat "$name-two.out")"
}

check plain --num-epochs 2
check smoothness --num-epochs 1 --grad-reg-lambda 10 --num-unlabeled-per-labeled 1 --num-neighbor-per-anchor 2
check pgd --num-epochs 1 --adversarial pgd --adv-steps 2 --grad-reg-lambda 10 --num-neighbor-per-anchor 1

"${mpi[@]}" "$bin/farbound-train" "${common[@]}" --shards 1 --num-epochs 1 --out few.safetensors >few.out 2>&1
code=$?
[[ $code == 2 ]] || fail "--shards 1 on 2 ranks: exit $code, wanted 2: $(tail -3 few.out)"
grep -q "fewer than the 2 MPI ranks" few.out || fail "--shards 1 on 2 ranks: $(head -3 few.out)"
[[ ! -e few.safetensors ]] || fail "--shards 1 on 2 ranks wrote a model"

((failures == 0)) && echo "farbound-train on 2 ranks == 1 process: plain, smoothness, pgd"
exit $((failures > 0))
