#!/usr/bin/env bash
# configure.sh BUILD_DIR [cmake args...]: configures farbound with ccache when present.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$1
shift
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$root" -B "$build" "${launcher[@]}" "$@" >/dev/null
