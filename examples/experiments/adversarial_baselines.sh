#!/usr/bin/env bash
# Issue 13's table: the data-sparsity framework next to the field's strongest baselines on
# Fashion-MNIST, LeNet/ReLU, eps 0.1 in [0, 1] pixel units, three seeds. Six variants per
# seed, each trained by farbound-train from the same split, initialisation and schedule:
#   plain       cross-entropy only
#   smoothness  the framework: Nu = 1 unlabelled copy (sigma_u 0.05), K = 1 neighbour
#               (sigma_n 0.005), lambda LAMBDA
#   fgsm        FGSM training, eps 0.1, CE = (CE(x) + 0.3 CE(x_adv)) / 1.3 (the reference's)
#   pgd         PGD training: PGD-STEPS L-inf, eps 0.1, random start, CE = (CE(x) + CE(x_adv)) / 2
#               (Madry et al.'s adversarial-only CE, --clean-weight 0, stays below 80 % clean
#               on LeNet's 6 and 16 channels; docs/results.md)
#   trades      TRADES, beta 6, STEPS sign steps of the KL
#   pgd+smooth  PGD training and the smoothness loss on clean and adversarial anchors
# then farbound-eval: clean accuracy and PGD-20 robust accuracy at eps 0.1 over all test
# images, mean +- s.e. over the seeds (results.csv / the printed table).
#
# Usage: examples/experiments/adversarial_baselines.sh [OUT_DIR=build/adversarial] [EPOCHS=10]
#          [NUM_TRAIN=2000] [STEPS=7] [LAMBDA=2e4] [SEEDS...]
# (build farbound-train and farbound-eval in build/release first.)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${FARBOUND_BIN:-$root/build/release/examples}
out=${1:-$root/build/adversarial}
epochs=${2:-10}
num_train=${3:-2000}
steps=${4:-7}
lambda=${5:-2e4}
shift $(( $# > 5 ? 5 : $# ))
seeds=("$@")
[[ ${#seeds[@]} -gt 0 ]] || seeds=(27432 30416 48563)
mkdir -p "$out"

common=(--dataset fashion-mnist --model lenet --activation relu --num-train "$num_train" --num-val 100
        --num-epochs "$epochs" --linear-epoch $((epochs - 1)) --batch-size 64 --lr 1e-3 --threads "$(nproc)")
smooth=(--grad-reg-lambda "$lambda" --num-unlabeled-per-labeled 1 --unlabeled-noise-std 0.05
        --num-neighbor-per-anchor 1 --neighbor-noise-std 0.005)
pgd=(--adversarial pgd --epsilon 0.1 --adv-steps "$steps" --clean-weight 1 --adv-ratio 1)
declare -A variant=(
  [plain]=""
  [smoothness]="${smooth[*]}"
  [fgsm]="--adversarial fgsm --epsilon 0.1"
  [pgd]="${pgd[*]}"
  [trades]="--adversarial trades --epsilon 0.1 --adv-steps $steps --trades-beta 6"
  [pgd+smooth]="${pgd[*]} --grad-reg-lambda $lambda --num-neighbor-per-anchor 1 --neighbor-noise-std 0.005"
)

models=()
for name in plain smoothness fgsm pgd trades pgd+smooth; do
  for seed in "${seeds[@]}"; do
    file="$out/$name-$seed.safetensors"
    [[ -f $file ]] || { read -ra extra <<<"${variant[$name]}"
                        /usr/bin/time -f "$name seed $seed: %e s" "$bin/farbound-train" "${common[@]}" "${extra[@]}" \
                          --seed "$seed" --out "$file" --log "$out/$name-$seed.jsonl" >/dev/null; }
    models+=(--model "$name=$file")
  done
done
"$bin/farbound-eval" "${models[@]}" --attack pgd --pgd-steps 20 --eps 0.1 --points all --deepfool-max-iter 0 \
  --ood none --threads "$(nproc)" --out-dir "$out/eval"
