#!/usr/bin/env bash
# Build ggml's CUDA backend plugin, libggml-cuda.so, from the llama.cpp sources vendored by
# llama-cpp-sys-2 (the very sources the inferno bundle was built from), with cmake + nvcc
# alone: no Rust needed, so it can run on a GPU machine that has only the CUDA toolkit.
#
# Usage: scripts/build-cuda-plugin.sh GGML_SRC OUT_DIR [CUDA_ARCHS] [JOBS]
#   GGML_SRC    the vendored ggml directory (scripts/vendor-ggml.sh copies it out of the
#               cargo registry), holding CMakeLists.txt, cmake/, include/, src/
#   OUT_DIR     where libggml-cuda.so goes (e.g. the bundle directory)
#   CUDA_ARCHS  CMAKE_CUDA_ARCHITECTURES, e.g. 90 (H100/H200), "80;86;89;90" (default: 90)
set -euo pipefail
src="$(realpath "${1:?usage: build-cuda-plugin.sh GGML_SRC OUT_DIR [ARCHS] [JOBS]}")"
out="${2:?out dir}"
archs="${3:-90}"
jobs="${4:-$(nproc)}"
build="${BUILD_DIR:-$(mktemp -d)}"
command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
# A standalone ggml configure wants ggml.pc.in, which the vendored copy leaves out.
[[ -f "$src/ggml.pc.in" ]] || : >"$src/ggml.pc.in"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=ON -DGGML_CUDA=ON -DGGML_CPU=OFF -DGGML_NATIVE=OFF \
  -DGGML_BUILD_TESTS=OFF -DGGML_BUILD_EXAMPLES=OFF -DCMAKE_CUDA_ARCHITECTURES="$archs" >&2
cmake --build "$build" --target ggml-cuda -j "$jobs" >&2
plugin="$(find "$build" -name 'libggml-cuda.so' -type f | head -n 1)"
[[ -n "$plugin" ]] || { echo "build-cuda-plugin: libggml-cuda.so was not produced" >&2; exit 1; }
mkdir -p "$out"
cp "$plugin" "$out/"
echo "build-cuda-plugin: $out/libggml-cuda.so ($(du -h "$plugin" | cut -f1), archs $archs)" >&2
