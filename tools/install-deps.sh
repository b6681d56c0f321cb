#!/usr/bin/env bash
# Installs the Debian packages farbound needs that are missing (sudo when not root).
# Used by examples/demo.sh and tests/run.sh; does nothing when everything is present.
set -euo pipefail

packages=(cmake g++ make libeigen3-dev libxsimd-dev libomp-dev zlib1g-dev catch2 libbenchmark-dev
          nlohmann-json3-dev libcli11-dev libstb-dev dataset-fashion-mnist clang ccache doxygen
          libopenmpi-dev openmpi-bin)
# Extra packages can be asked for, e.g. FARBOUND_EXTRA_PACKAGES="python3-torch".
if [[ -n "${FARBOUND_EXTRA_PACKAGES:-}" ]]; then
  read -r -a extra <<<"$FARBOUND_EXTRA_PACKAGES"
  packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
