#!/usr/bin/env bash
# Install what a build and the tests need (Debian/Ubuntu): cmake and g++ build llama.cpp,
# clang/libclang let bindgen generate its Rust bindings, curl is a test client; and a Python
# virtual environment (.venv) with the real clients the server tests use (tests/clients/);
# Debian's headless Chromium and its driver for the dashboard's browser test.
# Only what is missing is installed; a second run does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(cmake clang libclang-dev g++ make curl chromium chromium-driver)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "installing: ${missing[*]}" >&2
  as_root=()
  [[ $(id -u) -ne 0 ]] && as_root=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python="${PYTHON:-python3}"
req=tests/clients/requirements.txt
stamp=.venv/.requirements
if [[ ! -x .venv/bin/python ]] || ! cmp -s "$req" "$stamp"; then
  echo "setting up .venv with the test clients ($req)" >&2
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
fi
