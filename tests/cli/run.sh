#!/usr/bin/env bash
# run.sh BIN_DIR: each farbound tool (farbound-train, -eval, -toy2d, -oracle, -boundary in BIN_DIR)
# against a table of bad inputs. Every case asserts the exit code (2: usage, 1: runtime;
# docs/cli.md), that stderr names the offending flag, value or file, and that the tool wrote
# nothing (it runs in an empty directory that must stay empty). A few good runs on a tiny
# generated MNIST-format data set (20 training and 10 test images) check what the bad ones
# are compared against. Takes a few seconds: every bad case fails before any work.
source "$(dirname "$0")/../support/tool_test.sh"
cases=0

# expect CODE NEEDLE TOOL ARGS...: TOOL ARGS run in the empty directory run/ must exit with
# CODE, print NEEDLE (a fixed string) on stderr, and leave run/ empty.
expect() {
  local code=$1 needle=$2 tool=$3
  shift 3
  cases=$((cases + 1))
  rm -rf run && mkdir run
  (cd run && timeout 60 "$bin/$tool" "$@" >../stdout 2>../stderr)
  local rc=$?
  local what="$tool $*"
  [[ $rc == "$code" ]] || fail "$what: exit code $rc, expected $code; stderr: $(head -c 300 stderr)"
  grep -qF -- "$needle" stderr || fail "$what: stderr does not contain '$needle': $(head -c 300 stderr)"
  [[ -z "$(ls -A run)" ]] || fail "$what: wrote $(ls -A run | tr '\n' ' ')"
}

# ---- A tiny MNIST-format data set: 2 training and 1 test image per class, random pixels.
idx() {  # idx FILE MAGIC COUNT [ROWS COLS]: an IDX header, then the items
  local file=$1 magic=$2 count=$3
  shift 3
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' 0 0 8 "$magic")" >"$file"
  for v in "$count" "$@"; do
    printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((v >> 24 & 255)) $((v >> 16 & 255)) $((v >> 8 & 255)) $((v & 255)))" >>"$file"
  done
}
mkdir mnist
for part in train:20 t10k:10; do
  name=${part%:*} n=${part#*:}
  idx "mnist/$name-images-idx3-ubyte" 3 "$n" 28 28
  head -c $((n * 784)) /dev/urandom >>"mnist/$name-images-idx3-ubyte"
  idx "mnist/$name-labels-idx1-ubyte" 1 "$n"
  for ((i = 0; i < n; ++i)); do printf "$(printf '\\x%02x' $((i % 10)))" >>"mnist/$name-labels-idx1-ubyte"; done
done
data=(--dataset mnist --data-dir ../mnist)
tiny=(--model mlp --hidden 8 --num-epochs 2 --batch-size 4 --val-fraction 0.5)

# ---- Good runs: a model and a checkpoint to evaluate and resume; --num-val 0 logs no
# validation numbers.
(cd "$work" && "$bin/farbound-train" --dataset mnist --data-dir mnist "${tiny[@]}" --out model.safetensors \
   --checkpoint checkpoint.safetensors --log log.jsonl >train.out 2>&1) || fail "tiny training: $(tail -3 train.out)"
(cd "$work" && "$bin/farbound-train" --dataset mnist --data-dir mnist "${tiny[@]}" --num-val 0 --out none.safetensors \
   --log none.jsonl >none.out 2>&1) || fail "--num-val 0: $(tail -3 none.out)"
grep -q '"val_acc"' log.jsonl || fail "the validation accuracy is missing from log.jsonl"
! grep -q '"val_acc"' none.jsonl || fail "--num-val 0 logged a validation accuracy"
rm -rf evaluated
"$bin/farbound-eval" --dataset mnist --data-dir mnist --model model.safetensors --num-test 10 --attack fgsm --eps 0,0.1 \
  --deepfool-max-iter 0 --ood none --out-dir evaluated >eval.out 2>&1 || fail "tiny evaluation: $(tail -3 eval.out)"
[[ -f evaluated/results.csv && -f evaluated/results.json ]] || fail "farbound-eval wrote no results"
[[ -z "$(ls -A | grep staging)" ]] || fail "farbound-eval left its staging directory"

# Bad files: a model with a NaN weight (the last 4 bytes of the file are the last float
# parameter), config files that are not one object of integers read as integers.
cp model.safetensors nan.safetensors
printf '\x00\x00\xc0\x7f' | dd of=nan.safetensors bs=1 seek=$(($(stat -c %s nan.safetensors) - 4)) conv=notrunc 2>/dev/null
echo '{"num_epochs": 4294967297}' >wrap.json
echo '{"batch_size": 1.9}' >fraction.json
printf '{"num_epochs": 2}\0garbage' >nul.json
echo '{"num_epochs": 2} {"num_epochs": 3}' >two.json
echo '{"epochs": 2}' >unknown.json
echo '{"seed": -1}' >seed.json

# ---- farbound-train: one case per flag, and the issue's cases.
t=farbound-train
expect 2 "--seed: -1 is outside [0, 2^64 - 1]" $t --seed -1
expect 2 "--momentum: 2 is outside [0, 1)" $t --optimizer sgd --momentum 2
expect 2 "--momentum has no effect without --optimizer sgd" $t --momentum 0.5
expect 2 "--num-epochs: 1.9 is not a whole number" $t --num-epochs 1.9
expect 2 "--num-epochs: 4294967297 is outside" $t --num-epochs 4294967297
expect 2 "--lr: 'abc' is not a number" $t --lr abc
expect 2 "--lr: 1e400 is outside" $t --lr 1e400
expect 2 "--grad-reg-lambda > 0 needs --num-neighbor-per-anchor >= 1" $t --jacobian --grad-reg-lambda 1
expect 2 "--jacobian needs --grad-reg-lambda > 0" $t --jacobian
expect 2 "--num-neighbor-per-anchor > 0 needs --grad-reg-lambda > 0" $t --num-neighbor-per-anchor 1
expect 2 "--num-neighbor-per-anchor: 1001 is outside" $t --num-neighbor-per-anchor 1001
expect 2 "--num-unlabeled-per-labeled > 0 needs --grad-reg-lambda > 0" $t --num-unlabeled-per-labeled 1
expect 2 "--unlabeled-noise-std has no effect without --num-unlabeled-per-labeled >= 1" $t --unlabeled-noise-std 0.1
expect 2 "--neighbor-noise-std: -1 is outside" $t --neighbor-noise-std -1
expect 2 "--neighbor-noise-std >= 1e-6" $t --grad-reg-lambda 1 --num-neighbor-per-anchor 1 --neighbor-noise-std 0
expect 2 "--epsilon: 1e39 is outside [0, 1000]" $t --adversarial fgsm --epsilon 1e39
expect 2 "--epsilon has no effect without --adversarial" $t --epsilon 0.2
expect 2 "--adv-ratio: -1 is outside" $t --adversarial fgsm --adv-ratio -1
expect 2 "--adversarial: madry not in" $t --adversarial madry
expect 2 "--adv-steps has no effect without --adversarial pgd or trades" $t --adversarial fgsm --adv-steps 3
expect 2 "--trades-beta has no effect without --adversarial trades" $t --adversarial pgd --trades-beta 3
expect 2 "--adv-steps: 0 is outside" $t --adversarial pgd --adv-steps 0
expect 2 "--clean-weight + --adv-ratio must be > 0" $t --adversarial pgd --clean-weight 0 --adv-ratio 0
expect 2 "--adversarial trades needs --adv-norm linf" $t --adversarial trades --adv-norm l2
expect 2 "--inject-noise: -2 is outside" $t --inject-noise -2
expect 2 "--inject-noise needs --grad-reg-lambda > 0" $t --inject-noise 2
expect 2 "--inject-noise 50 is beyond the model's 5 layers (allowed: [-1, 4])" $t "${data[@]}" "${tiny[@]}" --grad-reg-lambda 1 \
  --num-neighbor-per-anchor 1 --inject-noise 50
expect 2 "--optimizer: rmsprop not in" $t --optimizer rmsprop
expect 2 "--weight-decay: -1 is outside" $t --weight-decay -1
expect 2 "--linear-epoch must be < --num-epochs" $t --linear-epoch 5 --num-epochs 5
expect 2 "--batch-size: 0 is outside" $t --batch-size 0
expect 2 "--checkpoint-every: 0 is outside" $t --checkpoint-every 0
expect 2 "--shards must be <= --batch-size (64), got 65" $t --shards 65
expect 2 "--shards: 0 is outside" $t --shards 0
expect 2 "--num-train: -2 is outside [1, 10000000] (or -1: all)" $t --num-train -2
expect 2 "--num-train: 0 is outside" $t --num-train 0
expect 2 "--num-val: -5 is outside" $t --num-val -5
expect 2 "--num-train 5: class 0 has 1 training" $t "${data[@]}" "${tiny[@]}" --num-train 5
expect 2 "--val-fraction: 0.95 is outside [0, 0.9]" $t --val-fraction 0.95
expect 2 "--hidden: 0 is outside" $t --model mlp --hidden 0
expect 2 "ModelSpec: the MLP has" $t "${data[@]}" --model mlp --hidden 30000,30000
expect 2 "--model: vgg not in" $t --model vgg
expect 2 "--activation: swish not in" $t --activation swish
expect 2 "--dataset: imagenet not in" $t --dataset imagenet
expect 2 "--dataset mnist needs --data-dir" $t --dataset mnist
expect 1 "no-such-dir" $t --dataset mnist --data-dir ../no-such-dir
expect 2 "--threads: -1 is outside" $t --threads -1
expect 2 "--threads 5000 capped to 256" $t --threads 5000 --jacobian --grad-reg-lambda 1
expect 2 "--out /no-such-dir/m.safetensors: directory /no-such-dir does not exist" $t --out /no-such-dir/m.safetensors
expect 2 "--out ..: is a directory" $t --out ..
expect 2 "--checkpoint ../model.safetensors/c: directory ../model.safetensors does not exist" $t \
  --checkpoint ../model.safetensors/c
expect 2 "--log ../mnist: is a directory" $t --log ../mnist
expect 2 "--config ../wrap.json: --num-epochs must be an integer in [1, 1000000], got 4294967297" $t --config ../wrap.json
expect 2 "--config ../fraction.json: --batch-size must be an integer" $t --config ../fraction.json
expect 2 "--config ../nul.json: NUL byte at offset 17" $t --config ../nul.json
expect 2 "--config ../two.json: not valid JSON" $t --config ../two.json
expect 2 "--config ../unknown.json: unknown key 'epochs'" $t --config ../unknown.json
expect 2 "--config ../seed.json: --seed must be an integer in [0, 2^64 - 1], got -1" $t --config ../seed.json
expect 2 "--config ../missing.json: cannot open" $t --config ../missing.json
expect 1 "missing.safetensors" $t "${data[@]}" "${tiny[@]}" --resume ../missing.safetensors
expect 2 "--resume ../checkpoint.safetensors: the checkpoint's farbound.model_spec has activation \"sigmoid\", this run has \"relu\"" \
  $t "${data[@]}" "${tiny[@]}" --activation relu --resume ../checkpoint.safetensors
expect 2 "farbound.data_selection has num_train -1, this run has 1" $t "${data[@]}" "${tiny[@]}" --num-train 1 \
  --resume ../checkpoint.safetensors
expect 2 "the checkpoint was written with --lr 0.001, this run has 0.002" $t "${data[@]}" "${tiny[@]}" --lr 0.002 \
  --resume ../checkpoint.safetensors

# ---- farbound-eval.
e=(farbound-eval --model ../model.safetensors "${data[@]}" --num-test 10)
expect 2 "--eps: 1e39 is outside [0, 100]" "${e[@]}" --eps 1e39
expect 2 "--eps: 1e30 is outside" "${e[@]}" --eps 0,1e30
expect 2 "--eps: -0.1 is outside" "${e[@]}" --eps -0.1
expect 2 "--num-test: -2 is outside" "${e[@]}" --num-test -2
expect 2 "--ood mnist needs --ood-dir" "${e[@]}" --ood mnist
expect 2 "--ood-dir has no effect without --ood" "${e[@]}" --ood-dir ../mnist
expect 2 "--bins: 2147483648 is outside" "${e[@]}" --bins 2147483648
expect 2 "--bins has no effect without --ood" "${e[@]}" --ood none --bins 5
expect 2 "--pgd-steps has no effect without --attack pgd" "${e[@]}" --attack fgsm --pgd-steps 3
expect 2 "--pgd-steps: 0 is outside" "${e[@]}" --pgd-steps 0
expect 2 "--pgd-restarts: 0 is outside" "${e[@]}" --pgd-restarts 0
expect 2 "--deepfool-max-iter: -1 is outside" "${e[@]}" --deepfool-max-iter -1
expect 2 "--attack: cw not in" "${e[@]}" --attack cw
expect 2 "--points: some not in" "${e[@]}" --points some
expect 2 "--seed: -1 is outside" "${e[@]}" --seed -1
expect 2 "--batch-size: 0 is outside" "${e[@]}" --batch-size 0
expect 2 "--threads: -3 is outside" "${e[@]}" --threads -3
expect 2 "--out-dir ../model.safetensors" "${e[@]}" --out-dir ../model.safetensors
expect 2 "--out-dir ../model.safetensors/sub" "${e[@]}" --out-dir ../model.safetensors/sub
expect 2 "--dataset: unknown data set 'imagenet'" farbound-eval --model ../model.safetensors --dataset imagenet
expect 1 "missing.safetensors" farbound-eval --model ../missing.safetensors "${data[@]}"
expect 2 "--model is required" farbound-eval "${data[@]}"
# A model file with NaN weights is refused (a bad file: exit 1) unless asked for.
expect 1 "non-finite" "${e[@]}" --model ../nan.safetensors
expect 2 "--sanity-points" "${e[@]}" --sanity-points 10
expect 2 "--suite-norm" "${e[@]}" --suite-norm l2

# ---- farbound-toy2d.
y=farbound-toy2d
expect 2 "--seed: -1 is outside" $y --seed -1
expect 2 "--points: 3 is outside [4, 100000]" $y --points 3
expect 2 "--width: 100 is outside" $y --width 100
expect 2 "--height: 9000 is outside" $y --height 9000
expect 2 "--hidden: 0 is outside" $y --hidden 0
expect 2 "ModelSpec: the MLP has" $y --hidden 4000,4000,4000,4000,4000,4000,4000,4000,4000,4000,4000,4000
expect 2 "--activation: swish not in" $y --activation swish
expect 2 "--epochs: 0 is outside" $y --epochs 0
expect 2 "--batch-size 300 exceeds the 200 training points (--points)" $y --batch-size 300
expect 2 "--lr: 0 is outside" $y --lr 0
expect 2 "--lambda: 0 is outside" $y --lambda 0
expect 2 "--sigma-u: -1 is outside" $y --sigma-u -1
expect 2 "--sigma-n: 0 is outside" $y --sigma-n 0
expect 2 "--nu: -1 is outside" $y --nu -1
expect 2 "--neighbours: 0 is outside" $y -k 0
expect 2 "--resolution: 8 is outside" $y --resolution 8
expect 2 "--threads: -1 is outside" $y --threads -1
expect 2 "--out /no-such-dir/x.png" $y --out /no-such-dir/x
expect 2 "--show-cloud has no effect with --nu 0" $y --show-cloud --nu 0
expect 2 "--dataset: spiral not in" $y --dataset spiral

# ---- farbound-oracle.
o=farbound-oracle
expect 2 "--batch-size 32 exceeds the 20 training points (--train)" $o --train 20 --batch-size 32
expect 2 "--relevant: 0 is outside" $o --relevant 0
expect 2 "--extra: 1001 is outside" $o --extra 1001
expect 2 "--train: 9 is outside" $o --train 9
expect 2 "--test: 1.5 is not a whole number" $o --test 1.5
expect 2 "--margin: -1 is outside" $o --margin -1
expect 2 "--spurious: nan is outside" $o --spurious nan
expect 2 "--hidden: 0 is outside" $o --hidden 0
expect 2 "--epochs: 0 is outside" $o --epochs 0
expect 2 "--lambda: 0 is outside" $o --lambda 0
expect 2 "--sigma-u: -1 is outside" $o --sigma-u -1
expect 2 "--sigma-n: 0 is outside" $o --sigma-n 0
expect 2 "--draws: 0 is outside" $o --draws 0
expect 2 "--invisible-radius: -1 is outside" $o --invisible-radius -1
expect 2 "--delta2: 0 is outside" $o --delta2 1,0
expect 2 "--seed: -1 is outside" $o --seed -1
expect 2 "--svg /no-such-dir/eta.svg: directory /no-such-dir does not exist" $o --svg /no-such-dir/eta.svg
expect 2 "--threads: -1 is outside" $o --threads -1
expect 2 "over the limit 67108864" $o --train 10000000 --extra 1000

# ---- farbound-sweep (built with MPI only): the grid file is checked before any run.
if [[ -x $bin/farbound-sweep ]]; then
  w=farbound-sweep
  echo '{"base": {"sed": 1}}' >typo.json
  echo '{"base": {"seed": 1}}' >seeded.json
  echo '{"axes": {"lr": []}}' >empty-axis.json
  echo '{"axes": {"method": {"a/b": {}}}}' >slash.json
  echo '{"seeds": [1, 1]}' >seeds.json
  echo '{"evaluation": {"attacks": ["cw"]}}' >attack.json
  echo '{"evaluation": {"epsilons": [2]}}' >eps.json
  echo '{"grid": 1}' >grid-key.json
  expect 2 "typo.json: base: unknown setting 'sed'" $w ../typo.json --out out
  expect 2 "the seed comes from \"seeds\"" $w ../seeded.json --out out
  expect 2 "axes.lr has no values" $w ../empty-axis.json --out out
  expect 2 "'a/b' cannot be part of a run's folder name" $w ../slash.json --out out
  expect 2 "seeds: 1 is not a new non-negative integer" $w ../seeds.json --out out
  expect 2 "evaluation.attacks: 'cw'" $w ../attack.json --out out
  expect 2 "evaluation.epsilons: 2 is outside (0, 1]" $w ../eps.json --out out
  expect 2 "unknown key 'grid'" $w ../grid-key.json --out out
  expect 2 "no-such.json: cannot open" $w ../no-such.json --out out
  expect 2 "--threads: -1 is outside" $w ../typo.json --out out --threads -1
  expect 2 "--out is required" $w ../typo.json
fi

# ---- farbound-boundary: a good run on the tiny set (every output written), then bad inputs.
b=farbound-boundary
rm -rf bounded
"$bin/$b" --dataset mnist --data-dir mnist --model model.safetensors --images 0 1 --num-test 10 --side 8 --random-rays 1 \
  --cw-steps 2 --fab-steps 2 --out-dir bounded >boundary.out 2>&1 || fail "tiny boundary run: $(tail -3 boundary.out)"
for f in sheet.png sheet.svg metrics.md metrics.json minimal_distance.svg thickness.svg margin.svg rays_model.svg; do
  [[ -s bounded/$f ]] || fail "farbound-boundary wrote no $f"
done
expect 1 "/no-such-model.safetensors" $b "${data[@]}" --model /no-such-model.safetensors --num-test 5
expect 2 "--plane: bogus not in" $b "${data[@]}" --model ../model.safetensors --plane bogus
expect 2 "--num-test: 0 is outside" $b "${data[@]}" --model ../model.safetensors --num-test 0
expect 2 "--radius: -1 is outside" $b "${data[@]}" --model ../model.safetensors --radius -1
expect 2 "--side: 1 is outside" $b "${data[@]}" --model ../model.safetensors --side 1
expect 2 "the test set has 10 images" $b "${data[@]}" --model ../model.safetensors --images 10 --num-test 5
expect 2 "--out-dir" $b "${data[@]}" --model ../model.safetensors --out-dir /proc/boundary
expect 2 "--model is required" $b "${data[@]}"

echo "$cases cases, $failures failure(s)"
[[ $failures == 0 ]]
