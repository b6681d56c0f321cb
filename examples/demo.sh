#!/usr/bin/env bash
# The farbound demo on a fresh Debian 12 machine: installs missing packages, builds Release,
# then trains LeNet on Fashion-MNIST twice -- plain cross-entropy and the data-sparsity
# framework -- prints their test accuracy and robustness, and draws the 2-D boundary picture.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/release"
out="${FARBOUND_DEMO_OUT:-$root/build/demo}"
threads=$(nproc)

"$root/tools/install-deps.sh"
"$root/tools/configure.sh" "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$threads" --target farbound-train farbound-eval farbound-toy2d
mkdir -p "$out"

common=(--dataset fashion-mnist --model lenet --activation relu --num-epochs 6 --batch-size 64 --lr 1e-3
        --threads "$threads" --seed 27432)

echo "== Baseline: LeNet (ReLU), cross-entropy only"
"$build/examples/farbound-train" "${common[@]}" --out "$out/baseline.safetensors" --log "$out/baseline.jsonl"

echo
echo "== Data-sparsity framework: unlabelled cloud + neighbours + smoothness loss"
"$build/examples/farbound-train" "${common[@]}" --grad-reg-lambda 1e4 --num-unlabeled-per-labeled 1 \
  --unlabeled-noise-std 0.05 --num-neighbor-per-anchor 1 --neighbor-noise-std 0.005 \
  --out "$out/gr.safetensors" --log "$out/gr.jsonl"

echo
echo "== Robustness of both: FGSM and PGD-20 (L-inf) accuracy, DeepFool rho, max softmax on noise"
"$build/examples/farbound-eval" --model "baseline=$out/baseline.safetensors" --model "framework=$out/gr.safetensors" \
  --eps 0 0.05 0.1 0.2 --num-test 1000 --deepfool-max-iter 23 --threads "$threads" --out-dir "$out/eval"

echo
echo "== The boundary in the plane: two moons, plain vs the framework (farbound-toy2d, ~2 s)"
"$build/examples/farbound-toy2d" --dataset moons --show-cloud --out "$out/toy2d-moons"
