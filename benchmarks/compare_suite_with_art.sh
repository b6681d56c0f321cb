#!/usr/bin/env bash
# farbound's robustness suite against the Adversarial Robustness Toolbox on identical weights
# and images (issue 12): installs PyTorch 2.x and ART from PyPI into a virtual environment
# (benchmarks/python_env.sh; the first time is slow), writes the model's PyTorch twin, runs
# suite_lenet (the standard suite, and APGD-CE, APGD-DLR and Square alone) on the first IMAGES
# Fashion-MNIST test images, then ART's APGD-CE, APGD-DLR and Square on the same images
# (benchmarks/suite_vs_art.py), and prints both sides per attack, the ensembles and the times.
# PARTS=ensemble runs only ART's cascade (its ensemble and time), not each attack alone.
#
# Usage: benchmarks/compare_suite_with_art.sh MODEL.safetensors [BUILD_DIR=build] [IMAGES=1000]
#          [EPS=0.1] [THREADS=2] [PARTS=all|ensemble]
# MODEL: a farbound LeNet model file (e.g. examples/demo.sh's build/demo/baseline.safetensors).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[[ $# -ge 1 ]] || { sed -n '10,12p' "$0" >&2; exit 2; }
model=$1
build=${2:-$root/build}
images=${3:-1000}
eps=${4:-0.1}
threads=${5:-2}
parts=${6:-all}
for tool in benchmarks/suite_lenet examples/farbound-export; do
  [[ -x $build/$tool ]] || { echo "compare_suite_with_art: build $build/$tool first" >&2; exit 2; }
done
[[ -f $model ]] || { echo "compare_suite_with_art: no model file $model" >&2; exit 2; }
python=$("$root/benchmarks/python_env.sh")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Both sides wait for work without spinning: on a shared machine a spinning thread holds the
# core its partner needs (docs/performance.md).
export OMP_WAIT_POLICY=passive
"$build/examples/farbound-export" --torch "$work/twin.py" "$model" >/dev/null
# Each attack alone on every image only when ART's run alone too (PARTS=all).
members=(); [[ $parts == all ]] && members=(--members)
"$build/benchmarks/suite_lenet" --model "$model" --images "$images" --eps "$eps" --threads "$threads" "${members[@]}" \
  --export "$work"
"$python" "$root/benchmarks/suite_vs_art.py" "$work" "$work/twin.py" "$model" "$threads" 256 "$parts"
