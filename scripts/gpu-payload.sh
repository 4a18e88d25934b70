#!/usr/bin/env bash
# Assemble what scripts/gpu-verify.sh needs on a GPU machine without Rust or internet, as one
# compressed archive: the relocatable bundle (scripts/package.sh), the vendored ggml sources
# (scripts/vendor-ggml.sh) and llama.cpp's reference binaries (for llama-bench with the same
# CUDA plugin). Usage: scripts/gpu-payload.sh LLAMA_CPP_BIN_DIR OUT.tar.gz
set -euo pipefail
llama="$(realpath "${1:?usage: gpu-payload.sh LLAMA_CPP_BIN_DIR OUT.tar.gz}")"
dest="$(realpath -m "${2:?out}")"
root="$(cd "$(dirname "$0")/.." && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
"$root/scripts/package.sh" "$stage/bundle"
"$root/scripts/vendor-ggml.sh" "$stage/ggml"
mkdir -p "$stage/llama"
cp -a "$llama"/. "$stage/llama/"
mkdir -p "$(dirname "$dest")"
tar -czf "$dest" -C "$stage" bundle ggml llama
echo "gpu-payload: $dest ($(du -h "$dest" | cut -f1))" >&2
