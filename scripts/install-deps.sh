#!/usr/bin/env bash
# Install the system packages a build needs (Debian/Ubuntu): cmake and g++ build llama.cpp,
# clang/libclang let bindgen generate its Rust bindings. Only missing packages are installed.
set -euo pipefail
pkgs=(cmake clang libclang-dev g++ make)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "installing: ${missing[*]}" >&2
as_root=()
[[ $(id -u) -ne 0 ]] && as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
