#!/usr/bin/env bash
# `--gpu-layers auto` against llama.cpp's own fitter (`llama-bench -fitt MARGIN`, which runs
# common_fit_params) on the synthetic 8B-class model, at several limits: the layers each
# chooses, what each allocates on the GPU, and tg/pp speed. Same payload as placement_gpu.sh.
# Usage: benches/placement_fit.sh PAYLOAD.tar.gz OUT_DIR [CUDA_ARCHS]
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
source "$here/scripts/gpu-common.sh"
gpu_begin "usage: placement_fit.sh PAYLOAD OUT_DIR [ARCHS]" "$@"
b8="$w/llama-8b-shape.gguf"
"$w/bundle/synth" --layers 32 --embd 4096 --ff 14336 --heads 32 --kv-heads 8 --vocab 128256 --ctx 8192 -o "$b8" -t "$cores" >"$out/synth.txt" 2>&1 &
spid=$!
gpu_plugin "$w" "$archs" "$out/cuda-build.txt" || exit 1
wait "$spid"
inf="$w/bundle/inferno" lb="$w/llama/llama-bench"
cd "$w" || exit 1
free=$(nvidia-smi --query-gpu=memory.free --format=csv,noheader,nounits | head -1)
for limit in 1536 2048 3072 4096 6144; do
  margin=$((free - limit))
  echo; echo "=== $limit MiB usable (margin $margin MiB)"
  "$inf" run -m "$b8" --gpu-margin "$margin" -c 512 --raw -p "Hello" -n 8 --temp 0 --json 2>/dev/null |
    python3 -c "import json,sys; j=json.load(sys.stdin); p=j['placement']; print('inferno: layers', j['gpu_layers_offloaded'], 'predicted', p['predicted_gpu_bytes'], 'allocated', p['allocated_gpu_bytes'])"
  "$lb" -v -m "$b8" -fitt "$margin" -fitc 512 -p 512 -n 64 -r 2 >"$out/lb-$limit.md" 2>"$out/lb-$limit.err"
  # llama-bench fits again for each test (pp512, then tg64): the fitter loads without
  # allocating (CUDA0 model buffer 0.00 MiB) to try layer counts, then loads what it chose.
  awk 'BEGIN {split("pp512 tg64", test)}
    /offloaded [0-9]+\/[0-9]+ layers/ {l = $0; sub(/.*offloaded/, "offloaded", l)}
    /CUDA0 model buffer size/ {real = ($(NF-1) + 0 > 0); if (real) printf "llama.cpp (%s): %s, model %s MiB", test[++n], l, $(NF-1)}
    real && /CUDA0 KV buffer size/ {printf ", KV %s MiB", $(NF-1)}
    real && /CUDA0 compute buffer size =/ {printf ", compute %s MiB\n", $(NF-1); real = 0}' "$out/lb-$limit.err"
  grep -iE 'fit' "$out/lb-$limit.err" | head -8
  tail -4 "$out/lb-$limit.md" | head -2
  "$inf" bench -m "$b8" --gpu-margin "$margin" -c 512 -p 512 -n 64 -r 2 -o md 2>&1 | sed -n 1,4p
done
