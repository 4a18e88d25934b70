#!/usr/bin/env bash
# Screenshots of the dashboard on a GPU machine (no Rust, no internet, no browser there):
# builds the CUDA plugin from a payload (scripts/gpu-payload.sh), makes the synthetic
# TinyLlama-1.1B, serves it with every layer on the GPU, drives streaming requests, and takes
# screenshots with Debian's chromium-headless-shell carried in pieces: chrome.part.* (split
# from one .tar.xz of the package's files, the libraries `ldd` lists but glibc's, in lib/, and
# DejaVu fonts in fonts/) and whole *.tar.xz archives added on top (chromium-common's
# icudtl.dat and V8 snapshots, NSS's modules in lib/). Work stays in $WORK between calls, so the
# plugin build and the browser's pieces can come on separate calls to a warm machine.
#
# Usage: benches/gpu_dashboard.sh setup PAYLOAD.tar.gz        (plugin build + model)
#        benches/gpu_dashboard.sh part FILE                   (keep one piece of the browser)
#        benches/gpu_dashboard.sh shots OUT_DIR               (serve, load, screenshots)
set -uo pipefail
work="${WORK:-/tmp/inferno-dash}"
mkdir -p "$work/parts"
case "${1:?usage: gpu_dashboard.sh setup PAYLOAD | part FILE | shots OUT_DIR}" in
setup)
  tar -xzf "${2:?payload}" -C "$work"
  cores=$(nproc)
  "$work/bundle/synth" --preset tinyllama -o "$work/tinyllama-1.1b.gguf" -t "$cores" >"$work/synth.txt" 2>&1 &
  here="$(cd "$(dirname "$0")/.." && pwd)"
  BUILD_DIR="$work/cuda-build" "$here/scripts/build-cuda-plugin.sh" "$work/ggml" "$work/cuda-out" 90 "$cores" >"$work/cuda-build.txt" 2>&1
  rc=$?
  wait
  tail -3 "$work/cuda-build.txt"; tail -2 "$work/synth.txt"
  cp "$work/cuda-out/libggml-cuda.so" "$work/bundle/" && cp "$work/cuda-out/libggml-cuda.so" "$work/llama/" &&
    echo "setup done (plugin rc=$rc)"
  ;;
part)
  cp "${2:?piece}" "$work/parts/" && ls -la "$work/parts"
  ;;
shots)
  out="$(realpath -m "${2:?out dir}")"; mkdir -p "$out"
  if [[ ! -x "$work/chrome/chromium-headless-shell" ]]; then
    mkdir -p "$work/chrome"
    cat "$work"/parts/chrome.part.* | tar -xJ -C "$work/chrome" || exit 1
    # Whole archives beside the pieces (chromium-common's ICU and V8 data, NSS modules).
    for x in "$work"/parts/*.tar.xz; do [[ -f "$x" ]] && tar -xJf "$x" -C "$work/chrome"; done
  fi
  chrome="$work/chrome"
  cat >"$chrome/fonts.conf" <<EOF
<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>$chrome/fonts</dir><cachedir>$work/fontcache</cachedir></fontconfig>
EOF
  nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv | tee "$out/nvidia-smi.txt"
  "$work/bundle/inferno" serve -m "$work/tinyllama-1.1b.gguf" --gpu-layers 99 --parallel 8 -c 1024 \
    --port 8080 2>"$out/serve.log" &
  pid=$!
  ready=
  for _ in $(seq 300); do curl -sf http://127.0.0.1:8080/health >/dev/null && ready=1 && break; sleep 0.2; done
  [[ -n "$ready" ]] || { echo "server did not get ready"; tail -20 "$out/serve.log"; kill $pid; exit 1; }
  shot() {
    FONTCONFIG_FILE="$chrome/fonts.conf" LD_LIBRARY_PATH="$chrome/lib" \
      "$chrome/chromium-headless-shell" --no-sandbox --disable-gpu --hide-scrollbars \
      --window-size=1280,"$2" --virtual-time-budget=3000 --screenshot="$out/$1" \
      http://127.0.0.1:8080/ 2>>"$out/chrome.log"
  }
  shot dashboard-gpu-idle.png 1400
  # Streaming requests for about 20 s (8 clients, 256 tokens each, again and again), so the
  # charts have a history; the screenshot is taken while they run.
  end=$((SECONDS + 20)) clients=()
  for _ in $(seq 8); do
    (while ((SECONDS < end)); do
      curl -sN http://127.0.0.1:8080/v1/completions -H 'content-type: application/json' \
        -d '{"prompt":"Once upon a time","max_tokens":256,"ignore_eos":true,"stream":true}' >/dev/null
    done) &
    clients+=($!)
  done
  sleep 15
  shot dashboard-gpu.png 1400
  nvidia-smi --query-gpu=memory.used --format=csv | tee -a "$out/nvidia-smi.txt"
  wait "${clients[@]}"
  curl -s http://127.0.0.1:8080/api/status >"$out/status.json"
  kill -INT $pid; wait $pid
  tail -5 "$out/serve.log"; ls -la "$out"
  ;;
esac
