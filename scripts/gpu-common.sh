# Sourced by the scripts that run on the GPU machine (CUDA toolkit, no Rust; a payload from
# scripts/gpu-payload.sh): the argument preamble, the machine's facts and the CUDA plugin, once.
# The plugin is built from the payload's own ggml sources, so it matches the bundle's ggml.

gpu_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

step() { echo; echo "=== $(date -u +%H:%M:%S) $*"; }

# gpu_begin USAGE PAYLOAD OUT [ARCHS]: sets payload, out, archs (default 90), w (a fresh work
# directory with the payload unpacked) and cores (physical); everything printed from here on
# also goes to OUT/log.txt.
gpu_begin() {
  [[ $# -ge 3 && -f "$2" ]] || { echo "$1" >&2; exit 2; }
  payload="$(realpath "$2")"
  out="$(realpath -m "$3")"
  archs="${4:-90}"
  mkdir -p "$out"
  exec > >(tee -a "$out/log.txt") 2>&1
  w="$(mktemp -d)"
  cores=$(lscpu -p=core,socket | grep -v '^#' | sort -u | wc -l)
  step "machine"
  nvidia-smi --query-gpu=index,name,memory.total,memory.free,driver_version --format=csv || true
  echo "physical cores: $cores"
  tar -xzf "$payload" -C "$w"
}

# gpu_plugin W ARCHS LOG: build libggml-cuda.so from W/ggml in its own directory and put it
# beside W/bundle/inferno and W/llama's tools, each by a rename (a program starting meanwhile,
# such as synth making models, sees no plugin or a whole one: ggml loads what it finds).
# On failure, the log's tail and status 1. A build is kept in $GPU_PLUGIN_CACHE (default
# /tmp/inferno-cuda-plugin, outside the repository copy) under a hash of what makes it: the
# ggml sources (less the ggml.pc.in the build script adds), the build script, nvcc's version
# and the architectures. The next script on the same warm machine reuses it instead of
# spending four more minutes of device time.
gpu_plugin() {
  local w="$1" archs="$2" log="$3" start=$SECONDS rc key cache
  key=$( (cd "$w/ggml" && find . -type f ! -name ggml.pc.in -print0 | sort -z | xargs -0 sha256sum
          sha256sum < "$gpu_repo/scripts/build-cuda-plugin.sh"
          nvcc --version 2>/dev/null || /usr/local/cuda/bin/nvcc --version 2>/dev/null
          echo "$archs") | sha256sum | cut -c1-16)
  cache="${GPU_PLUGIN_CACHE:-/tmp/inferno-cuda-plugin}/$key"
  if [[ -f "$cache/libggml-cuda.so" ]]; then
    mkdir -p "$w/cuda-out" && cp "$cache/libggml-cuda.so" "$w/cuda-out/" ||
      { echo "cuda plugin: could not copy $cache/libggml-cuda.so"; return 1; }
    echo "cuda plugin: reused $cache (built by an earlier script on this machine)" | tee "$log"
  else
    BUILD_DIR="$w/cuda-build" "$gpu_repo/scripts/build-cuda-plugin.sh" "$w/ggml" "$w/cuda-out" "$archs" "$(nproc)" >"$log" 2>&1
    rc=$?
    echo "cuda plugin build: rc=$rc, $((SECONDS - start)) s"
    if [[ $rc -ne 0 || ! -f "$w/cuda-out/libggml-cuda.so" ]]; then
      echo "CUDA plugin build failed ($log):"
      tail -40 "$log"
      return 1
    fi
    mkdir -p "$cache" && cp "$w/cuda-out/libggml-cuda.so" "$cache/.tmp" && mv "$cache/.tmp" "$cache/libggml-cuda.so"
  fi
  local dir
  for dir in "$w/bundle" "$w/llama"; do
    cp "$w/cuda-out/libggml-cuda.so" "$dir/.cuda-plugin.tmp" && mv "$dir/.cuda-plugin.tmp" "$dir/libggml-cuda.so" || return 1
  done
}
