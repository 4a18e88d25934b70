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
# Usage: benches/gpu_dashboard.sh pack DIR                     (here, on Debian 12: the pieces)
#        benches/gpu_dashboard.sh setup PAYLOAD.tar.gz        (there: plugin build + model)
#        benches/gpu_dashboard.sh part FILE                   (there: keep one piece)
#        benches/gpu_dashboard.sh shots OUT_DIR               (there: serve, load, screenshots)
# Carry the payload with chrome.part.00 on the first call, the other pieces on the next ones.
set -uo pipefail
work="${WORK:-/tmp/inferno-dash}"
mkdir -p "$work/parts"
case "${1:?usage: gpu_dashboard.sh pack DIR | setup PAYLOAD | part FILE | shots OUT_DIR}" in
pack)
  dir="$(realpath -m "${2:?dir}")"; t="$(mktemp -d)"; mkdir -p "$dir" "$t/root" "$t/c/lib" "$t/c/fonts" "$t/x/lib"
  (cd "$t" && apt-get download chromium-headless-shell chromium-common) || exit 1
  for d in "$t"/*.deb; do dpkg-deb -x "$d" "$t/root"; done
  cp "$t"/root/usr/lib/chromium/chromium-headless-shell "$t"/root/usr/lib/chromium/headless_*.pak "$t/c/"
  ldd "$t/c/chromium-headless-shell" | awk '/=>/ {print $3}' |
    grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux-x86-64)\.so' | xargs -I{} cp -L {} "$t/c/lib/"
  cp /usr/share/fonts/truetype/dejavu/DejaVuSans{,-Bold,Mono}.ttf "$t/c/fonts/"
  cp "$t"/root/usr/lib/chromium/{icudtl.dat,snapshot_blob.bin,v8_context_snapshot.bin} "$t/x/"
  cp -L /usr/lib/x86_64-linux-gnu/nss/*.so "$t/x/lib/"
  tar -C "$t/c" -cf - . | xz -T0 -6 | split -b 25000000 -d - "$dir/chrome.part."
  tar -C "$t/x" -cJf "$dir/chrome-extra.tar.xz" .
  rm -rf "$t"; ls -la "$dir"
  ;;
setup)
  tar -xzf "${2:?payload}" -C "$work"
  cores=$(nproc)
  "$work/bundle/synth" --preset tinyllama -o "$work/tinyllama-1.1b.gguf" -t "$cores" >"$work/synth.txt" 2>&1 &
  source "$(dirname "$0")/../scripts/gpu-common.sh"
  gpu_plugin "$work" 90 "$work/cuda-build.txt"
  rc=$?
  wait $! || rc=1
  tail -2 "$work/synth.txt"
  [[ $rc -eq 0 ]] || { echo "setup failed"; exit 1; }
  echo "setup done"
  ;;
part)
  cp "${2:?piece}" "$work/parts/" && ls -la "$work/parts"
  ;;
shots)
  out="$(realpath -m "${2:?out dir}")"; mkdir -p "$out"
  rm -rf "$work/chrome"; mkdir -p "$work/chrome"
  cat "$work"/parts/chrome.part.* | tar -xJ -C "$work/chrome" || exit 1
  # Whole archives beside the pieces (chromium-common's ICU and V8 data, NSS modules).
  for x in "$work"/parts/*.tar.xz; do [[ -f "$x" ]] && tar -xJf "$x" -C "$work/chrome"; done
  chrome="$work/chrome"
  cat >"$chrome/fonts.conf" <<EOF
<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>$chrome/fonts</dir><cachedir>$work/fontcache</cachedir></fontconfig>
EOF
  nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv | tee "$out/nvidia-smi.txt"
  "$work/bundle/inferno" serve -m "$work/tinyllama-1.1b.gguf" --gpu-layers 99 --parallel 8 -c 1024 \
    --port 8080 2>"$out/serve.log" &
  pid=$! clients=()
  trap 'kill "${clients[@]}" 2>/dev/null; kill $pid 2>/dev/null' EXIT
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
  end=$((SECONDS + 20))
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
  [[ -s "$out/dashboard-gpu.png" ]] || { echo "no screenshot: see $out/chrome.log"; exit 1; }
  ;;
esac
