#!/usr/bin/env bash
# Issue 4's robustness check on Fashion-MNIST with LeNet/sigmoid: for each seed, a baseline
# (cross-entropy only) and the data-sparsity framework (unlabelled cloud + neighbours +
# smoothness loss), the same split, initialisation and schedule; then farbound-eval's FGSM
# and PGD-20 (L-inf) accuracy over all 10 000 test images and over the points every model
# classifies correctly, one row per model and seed.
#
# Usage: examples/experiments/fashion_mnist_robustness.sh [OUT_DIR=build/robustness] [LAMBDA=2e4] [SEEDS...]
# (build farbound-train and farbound-eval in build/release first; on 2 cores about 1 min of
# training per seed, then 6 min of evaluation for three seeds)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/build/release/examples"
out=${1:-$root/build/robustness}
lambda=${2:-2e4}
shift $(( $# > 2 ? 2 : $# ))
seeds=("$@")
[[ ${#seeds[@]} -gt 0 ]] || seeds=(27432 30416 48563)
mkdir -p "$out"

# 1 000 training images per class (10 000), 10 epochs: constant lr for 9, cosine to 0 in the last.
common=(--dataset fashion-mnist --model lenet --activation sigmoid --num-train 1000 --num-val 200
        --num-epochs 10 --linear-epoch 9 --batch-size 64 --lr 1e-3 --threads "$(nproc)")
framework=(--grad-reg-lambda "$lambda" --num-unlabeled-per-labeled 1 --unlabeled-noise-std 0.05
           --num-neighbor-per-anchor 1 --neighbor-noise-std 0.005)

models=()
for seed in "${seeds[@]}"; do
  "$bin/farbound-train" "${common[@]}" --seed "$seed" --out "$out/baseline-$seed.safetensors" --log "$out/baseline-$seed.jsonl"
  "$bin/farbound-train" "${common[@]}" "${framework[@]}" --seed "$seed" --out "$out/framework-$seed.safetensors" \
    --log "$out/framework-$seed.jsonl"
  models+=(--model "baseline-$seed=$out/baseline-$seed.safetensors" --model "framework-$seed=$out/framework-$seed.safetensors")
done
"$bin/farbound-eval" "${models[@]}" --attack fgsm --attack pgd --eps 0,0.05,0.1 --points both \
  --deepfool-max-iter 0 --ood none --threads "$(nproc)" --out-dir "$out/eval"
