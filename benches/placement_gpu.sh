#!/usr/bin/env bash
# `--gpu-layers auto`, `--no-gpu` and several models in one server, on an NVIDIA GPU machine
# (CUDA toolkit, no Rust; a payload from scripts/gpu-payload.sh):
#   1. build libggml-cuda.so; synthetic TinyLlama-1.1B and an 8B-class model (Llama-3 shape);
#   2. auto with the whole card: the decision, what llama.cpp allocated, bench auto vs -ngl 99;
#   3. auto under a limit (a margin that leaves LIMIT MiB usable): layers chosen, allocated vs
#      predicted, bench auto between -ngl 0 and -ngl 99, and llama.cpp's own fitter
#      (llama-bench -fitt with the same margin) on the same model;
#   4. --no-gpu: nvidia-smi lists no memory for the process (and does for --gpu-layers 0);
#   5. serve with both models and --max-loaded 1: alternate requests, evictions in the log.
# Usage: benches/placement_gpu.sh PAYLOAD.tar.gz OUT_DIR [CUDA_ARCHS]
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
source "$here/scripts/gpu-common.sh"
gpu_begin "usage: placement_gpu.sh PAYLOAD OUT_DIR [ARCHS]" "$@"

step "CUDA plugin build + synthetic models"
synth="$w/bundle/synth"
t11="$w/tinyllama-1.1b.gguf" b8="$w/llama-8b-shape.gguf"
(
  "$synth" --preset tinyllama -o "$t11" -t "$cores"
  "$synth" --layers 32 --embd 4096 --ff 14336 --heads 32 --kv-heads 8 --vocab 128256 --ctx 8192 -o "$b8" -t "$cores"
) >"$out/synth.txt" 2>&1 &
synth_pid=$!
gpu_plugin "$w" "$archs" "$out/cuda-build.txt"
rc=$?
wait "$synth_pid"
cat "$out/synth.txt"
[[ $rc -eq 0 && -f "$b8" ]] || { echo "setup failed"; exit 1; }
inf="$w/bundle/inferno"
lb="$w/llama/llama-bench"
cd "$w" || exit 1
"$inf" info | tee "$out/info.txt"

step "2. auto with the whole card"
for m in "$t11" "$b8"; do
  n="$(basename "$m" .gguf)"
  "$inf" info -m "$m" | grep -E 'gpu-layers auto|CUDA0' | tee "$out/info-$n.txt"
  "$inf" run -m "$m" --raw -p "Hello" -n 16 --temp 0 --json >"$out/run-auto-$n.json" 2>"$out/run-auto-$n.err"
  cat "$out/run-auto-$n.err"
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); p=j['placement']; print('layers', j['gpu_layers_offloaded'], '/', j['n_layers'], 'predicted', p['predicted_gpu_bytes'], 'allocated', p['allocated_gpu_bytes'], 'ratio %.3f' % (p['allocated_gpu_bytes']/max(1,p['predicted_gpu_bytes'])))" "$out/run-auto-$n.json"
  "$inf" bench -m "$m" -p 512 -n 128 -r 3 -o md 2>&1 | tee "$out/bench-auto-$n.md"
  "$inf" bench -m "$m" --gpu-layers 99 -p 512 -n 128 -r 3 -o md 2>&1 | tee "$out/bench-99-$n.md"
done

step "3. auto under a limit"
free=$(nvidia-smi --query-gpu=memory.free --format=csv,noheader,nounits | head -1)
for limit in 3072 1536; do
  margin=$((free - limit))
  echo "free $free MiB, margin $margin MiB: $limit MiB usable"
  "$inf" run -m "$b8" --gpu-margin "$margin" --raw -p "Hello" -n 16 --temp 0 --json >"$out/run-limit$limit.json" 2>"$out/run-limit$limit.err"
  cat "$out/run-limit$limit.err"
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); p=j['placement']; print('layers', j['gpu_layers_offloaded'], '/', j['n_layers'], 'predicted', p['predicted_gpu_bytes'], 'allocated', p['allocated_gpu_bytes']); print([ (b['device'], b['kind'], b['bytes']) for b in j['memory']])" "$out/run-limit$limit.json"
  "$inf" bench -m "$b8" --gpu-margin "$margin" -p 512 -n 64 -r 2 -o md 2>&1 | tee "$out/bench-limit$limit.md"
  "$lb" -m "$b8" -fitt "$margin" -p 512 -n 64 -r 2 >"$out/llama-fit$limit.md" 2>"$out/llama-fit$limit.err"
  cat "$out/llama-fit$limit.md"; grep -iE 'fit|n_gpu_layers|offloaded' "$out/llama-fit$limit.err" | tail -15
done
"$inf" bench -m "$b8" --gpu-layers 0 -p 512 -n 64 -r 2 -o md 2>&1 | tee "$out/bench-0.md"

step "4. --no-gpu holds no GPU memory"
for flags in "--no-gpu" "--gpu-layers 0"; do
  # shellcheck disable=SC2086
  "$inf" run -m "$t11" $flags --raw -p "Once upon a time" -n 400 --ignore-eos -t "$cores" >/dev/null 2>"$out/nogpu.err" &
  pid=$!
  sleep 4
  echo "[$flags] pid $pid: $(nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader | grep -w "$pid" || echo 'not in nvidia-smi')"
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
done

step "5. serve with both models, --max-loaded 1"
"$inf" serve -m "$t11" -m "$b8" --max-loaded 1 --port 18090 >"$out/serve.out" 2>"$out/serve.err" &
spid=$!
for _ in $(seq 1 120); do grep -q 'ready:' "$out/serve.err" && break; sleep 0.5; done
for m in llama-8b-shape tinyllama-1.1b llama-8b-shape; do
  curl -s 127.0.0.1:18090/v1/completions -d "{\"model\":\"$m\",\"prompt\":\"Hello\",\"max_tokens\":8}" | head -c 200; echo
  curl -s 127.0.0.1:18090/v1/models | python3 -c 'import json,sys; print([(m["id"], m["state"], m["memory_bytes"]) for m in json.load(sys.stdin)["data"]])'
  nvidia-smi --query-gpu=memory.used --format=csv,noheader
done
kill -INT "$spid"; wait "$spid"
cat "$out/serve.err"
step "done"
