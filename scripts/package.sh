#!/usr/bin/env bash
# Build inferno with run-time backend plugins (llama-cpp-2's `dynamic-backends` feature) and
# assemble a relocatable bundle in dist/inferno-linux-x86_64/:
#   inferno, synth                   binaries with RPATH $ORIGIN
#   libllama*.so*, libggml*.so*      shared libraries, copied as real files
#   libggml-cpu-<variant>.so         CPU backends; the best one for the CPU is picked at run time
# Drop libggml-cuda.so (scripts/build-cuda-plugin.sh) beside the binary, or point
# INFERNO_BACKENDS_DIR at its directory, to run on an NVIDIA GPU.
#
# The build is portable (no -C target-cpu=native: ggml refuses GGML_NATIVE with plugins, and
# the variants cover the instruction sets). Usage: scripts/package.sh [OUT_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/dist/inferno-linux-x86_64}"
target="$root/target/dyn"

cd "$root"
RUSTFLAGS="${PORTABLE_RUSTFLAGS:-}" CARGO_TARGET_DIR="$target" \
  cargo build --release --locked --features dynamic-backends --bin inferno --example synth

# llama-cpp-sys-2's build directory: the one holding the plugins it built.
backends="$(ls -d "$target"/release/build/llama-cpp-sys-2-*/out/backends | head -n 1)"
libs="$(dirname "$backends")/lib"
[[ -d "$backends" && -d "$libs" ]] || { echo "package: llama.cpp build output not found" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
cp "$target/release/inferno" "$target/release/examples/synth" "$out/"
# One real file per library, under the name the binary asks for (its SONAME, e.g.
# libllama.so.0); -L copies what a symlink points to.
for f in "$libs"/*.so.*; do
  soname="$(readelf -d "$f" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
  [[ -n "$soname" && ! -e "$out/$soname" ]] && cp -L "$f" "$out/$soname"
done
cp -L "$backends"/libggml-*.so "$out/"
# The sapphirerapids variant enables ggml's AMX kernels, which die with SIGILL on the
# Sapphire Rapids VMs we test on (llama.cpp's own build of that variant does too); without
# it such CPUs get the zen4 variant (AVX-512 VNNI/BF16), as fast for generation.
rm -f "$out/libggml-cpu-sapphirerapids.so"
strip --strip-unneeded "$out"/*.so* "$out/inferno" "$out/synth" 2>/dev/null || true

# The bundle must resolve every library from its own directory.
if command -v readelf >/dev/null; then
  readelf -d "$out/inferno" | grep -q 'R.*PATH.*\$ORIGIN' || { echo "package: inferno lacks RPATH \$ORIGIN" >&2; exit 1; }
fi
missing="$(cd / && ldd "$out/inferno" "$out/synth" | grep "not found" || true)"
[[ -z "$missing" ]] || { echo "package: unresolved libraries:"$'\n'"$missing" >&2; exit 1; }
echo "package: $(du -sh "$out" | cut -f1) in $out" >&2
ls -1 "$out" >&2
