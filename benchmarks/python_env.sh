#!/usr/bin/env bash
# Makes (once) a Python virtual environment with the current PyTorch 2.x and the peers that the
# comparisons use (Adversarial Robustness Toolbox, safetensors), from PyPI, and prints the path of
# its interpreter. Debian's python3 (PyTorch 1.13) stays untouched: the comparisons run both.
#   benchmarks/python_env.sh [DIR]     DIR defaults to $FARBOUND_VENV or ~/.cache/farbound/venv
# PyTorch's own CPU-only index is tried first (a small download); where it cannot be reached, PyPI's
# wheel is used, which also pulls NVIDIA's CUDA libraries (a few GB) although only the CPU is used.
set -euo pipefail

dir=${1:-${FARBOUND_VENV:-$HOME/.cache/farbound/venv}}
python=$dir/bin/python
if [[ -x $python ]] && "$python" -c 'import torch, art, safetensors, art.attacks.evasion' 2>/dev/null; then
  echo "$python"
  exit 0
fi

command -v python3 >/dev/null || { echo "python_env: python3 is missing" >&2; exit 1; }
python3 -m venv "$dir" >&2 || {
  echo "python_env: 'python3 -m venv' failed (Debian: apt-get install python3-venv)" >&2
  exit 1
}
pip=("$dir/bin/pip" install --quiet --disable-pip-version-check)
if timeout 15 curl -sfI https://download.pytorch.org/whl/cpu/torch/ >/dev/null 2>&1; then
  "${pip[@]}" --index-url https://download.pytorch.org/whl/cpu torch >&2
else
  echo "python_env: PyTorch's CPU index is unreachable; installing PyPI's torch wheel (with CUDA libraries)" >&2
  "${pip[@]}" torch >&2
fi
# ART imports packaging and tqdm without declaring them.
"${pip[@]}" numpy adversarial-robustness-toolbox safetensors packaging tqdm >&2
echo "$python"
