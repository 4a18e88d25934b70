#!/usr/bin/env bash
# Serving, batching and speculative-decoding step costs on an NVIDIA GPU machine that has the
# CUDA toolkit but no Rust, in one go (a payload from scripts/gpu-payload.sh):
#   1. build libggml-cuda.so from the vendored sources, beside inferno and llama.cpp's tools;
#      meanwhile make synthetic models (random weights; speed depends on shape, not values):
#      TinyLlama-1.1B, and Qwen2.5-1.5B / 0.5B shapes (the CPU target/draft pair);
#   2. step costs: one batch of n tokens for the 1.5B and 0.5B shapes (`bench -p n -n 0`), and
#      one-token decode of each (`-n 128`), all layers on the GPU;
#   3. `inferno bench --parallel` against llama-batched-bench (benches/batched_parity.sh);
#   4. `inferno serve` against llama-server under the same load (benches/serve_vs_llama.sh).
# Logs and results go to OUT_DIR.
#
# Usage: benches/gpu_session.sh PAYLOAD.tar.gz OUT_DIR [CUDA_ARCHS]
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
source "$here/scripts/gpu-common.sh"
gpu_begin "usage: gpu_session.sh PAYLOAD OUT_DIR [ARCHS]" "$@"

step "CUDA plugin build + synthetic models"
synth="$w/bundle/synth"
t11="$w/tinyllama-1.1b.gguf" t15="$w/qwen15-shape.gguf" d05="$w/qwen05-shape.gguf"
(
  "$synth" --preset tinyllama -o "$t11" -t "$cores"
  "$synth" --layers 28 --embd 1536 --ff 8960 --heads 12 --kv-heads 2 --vocab 151936 --ctx 4096 -o "$t15" -t "$cores"
  "$synth" --layers 24 --embd 896 --ff 4864 --heads 14 --kv-heads 2 --vocab 151936 --ctx 4096 -o "$d05" -t "$cores"
) >"$out/synth.txt" 2>&1 &
synth_pid=$!
gpu_plugin "$w" "$archs" "$out/cuda-build.txt"
rc=$?
wait "$synth_pid"
cat "$out/synth.txt"
[[ $rc -eq 0 && -f "$d05" ]] || { echo "setup failed"; exit 1; }
inferno="$w/bundle/inferno"
export INFERNO="$inferno"
cd "$w" || exit 1   # an empty working directory: nothing to pick up from here
"$inferno" info | tee "$out/info.txt"

step "step costs (all layers on the GPU)"
for m in "$t15" "$d05"; do
  name="$(basename "$m" .gguf)"
  timeout 120 "$inferno" bench -m "$m" --gpu-layers 99 -p 1,2,3,4,5,6,8,9,12,16,17,24,32 -n 0 -r 10 -o jsonl >"$out/steps-$name.jsonl"
  timeout 120 "$inferno" bench -m "$m" --gpu-layers 99 -p 0 -n 128 -r 5 -o jsonl >>"$out/steps-$name.jsonl"
done
python3 - "$out" <<'PY'
import json, sys, glob, os
for f in sorted(glob.glob(sys.argv[1] + "/steps-*.jsonl")):
    print(os.path.basename(f))
    for line in open(f):
        v = json.loads(line)
        n = v["n_prompt"] or 1
        kind = f"batch of {v['n_prompt']}" if v["n_prompt"] else "decode 1 token"
        print(f"  {kind:>16}: {1000 * n / v['avg_ts']:.3f} ms")
PY

step "bench --parallel vs llama-batched-bench (TinyLlama shape)"
CTX=16384 timeout 300 "$here/benches/batched_parity.sh" "$w/llama/llama-batched-bench" "$t11" "$cores" 2 1,2,4,8,16,32,64 128 128 --gpu-layers 99 \
  | tee "$out/batched.md"

step "the dashboard's data on the GPU: /api/status and /metrics of a server with all layers offloaded"
"$inferno" serve -m "$t11" --gpu-layers 99 --parallel 4 -c 512 --port 18099 2>"$out/serve-status.log" &
spid=$!
for _ in $(seq 300); do curl -sf http://127.0.0.1:18099/health >/dev/null && break; sleep 0.2; done
curl -s http://127.0.0.1:18099/v1/completions -d '{"prompt": "Hello", "max_tokens": 64, "ignore_eos": true}' >/dev/null
curl -s http://127.0.0.1:18099/api/status >"$out/api-status.json"
curl -s http://127.0.0.1:18099/metrics >"$out/metrics.txt"
kill -INT $spid; wait $spid
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({k: d.get(k) for k in ('system', 'model')}, indent=1)[:3000])" "$out/api-status.json"

step "serve vs llama-server (TinyLlama shape, 64 slots of 512 tokens, 128 tokens per request)"
# The synthetic model has no chat template: raw completions for both servers (inferno refuses
# chat requests for such a model with 400; llama-server would fall back to ChatML).
NGL=99 PYTHON=python3 CTX=512 PER_CLIENT=2 LOAD_ARGS=--raw RAW="$out/serve-raw" timeout 420 \
  "$here/benches/serve_vs_llama.sh" "$w/llama/llama-server" "$t11" "$cores" 64 2 1,4,16,64 128 | tee "$out/serve.md"
step "done"
