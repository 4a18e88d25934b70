#!/usr/bin/env bash
# Copy the ggml sources vendored by llama-cpp-sys-2 (from the cargo registry) into OUT_DIR:
# what scripts/build-cuda-plugin.sh needs (CMakeLists.txt, cmake/, include/, src/ without the
# other GPU backends), about 9 MB. Usage: scripts/vendor-ggml.sh OUT_DIR
set -euo pipefail
out="${1:?usage: vendor-ggml.sh OUT_DIR}"
root="$(cd "$(dirname "$0")/.." && pwd)"
version="$(sed -n '/^name = "llama-cpp-sys-2"$/{n;s/^version = "\(.*\)"$/\1/p}' "$root/Cargo.lock")"
src="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/llama-cpp-sys-2-"$version"/llama.cpp/ggml | head -n 1)"
[[ -d "$src" ]] || { echo "vendor-ggml: llama-cpp-sys-2 $version sources not found (cargo fetch first)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/src"
cp -r "$src/CMakeLists.txt" "$src/cmake" "$src/include" "$out/"
find "$src/src" -maxdepth 1 -type f -exec cp {} "$out/src/" \;
cp -r "$src/src/ggml-cpu" "$src/src/ggml-cuda" "$out/src/"
echo "vendor-ggml: llama-cpp-sys-2 $version ggml sources in $out ($(du -sh "$out" | cut -f1))" >&2
