#!/usr/bin/env bash
# Several GPUs and RPC, inferno against llama.cpp's own tools from the same sources, on a
# two-GPU machine (CUDA toolkit, no Rust; a payload from scripts/gpu-payload.sh):
#   one GPU (--split-mode none), --split-mode layer and row across both, and RPC with one
#   worker per GPU on localhost (`inferno rpc-worker` / llama.cpp's `ggml-rpc-server`) and a
#   client that sees no local GPU; pp512 / tg128 for a synthetic TinyLlama-1.1B and an
#   8B-class model, alternating inferno and llama-bench per configuration.
# Usage: benches/multi_gpu.sh PAYLOAD.tar.gz OUT_DIR [CUDA_ARCHS] [REPS]
set -uo pipefail
reps="${4:-3}"
here="$(cd "$(dirname "$0")/.." && pwd)"
source "$here/scripts/gpu-common.sh"
gpu_begin "usage: multi_gpu.sh PAYLOAD OUT_DIR [ARCHS] [REPS]" "$@"
nvidia-smi topo -m 2>/dev/null | head -5
t11="$w/tinyllama-1.1b.gguf" b8="$w/llama-8b-shape.gguf"
(
  "$w/bundle/synth" --preset tinyllama -o "$t11" -t "$cores"
  "$w/bundle/synth" --layers 32 --embd 4096 --ff 14336 --heads 32 --kv-heads 8 --vocab 128256 --ctx 8192 -o "$b8" -t "$cores"
) >"$out/synth.txt" 2>&1 &
spid=$!
gpu_plugin "$w" "$archs" "$out/cuda-build.txt" || exit 1
wait "$spid"
inf="$w/bundle/inferno" lb="$w/llama/llama-bench"
cd "$w" || exit 1
"$inf" info | sed -n '/Devices/,/^$/p'
ls "$w/bundle" | grep -E 'rpc|cuda'

bench_pair() { # label, inferno args..., --, llama-bench args...
  local label="$1"; shift
  local ia=() la=() seen=0
  for a in "$@"; do
    if [[ "$a" == "--" ]]; then seen=1; continue; fi
    if ((seen)); then la+=("$a"); else ia+=("$a"); fi
  done
  echo "--- $label"
  "$inf" bench "${ia[@]}" -p 512 -n 128 -r "$reps" -o jsonl 2>"$out/err-inf-$label.txt" | tee "$out/inf-$label.jsonl" |
    python3 -c 'import json,sys; [print("inferno ", r.get("test") or ("pp%d" % r["n_prompt"] if r["n_prompt"] else "tg%d" % r["n_gen"]), round(r["avg_ts"],2), "+-", round(r["stddev_ts"],2)) for r in map(json.loads, sys.stdin)]' || tail -3 "$out/err-inf-$label.txt"
  "$lb" "${la[@]}" -p 512 -n 128 -r "$reps" -o jsonl 2>"$out/err-llama-$label.txt" | tee "$out/llama-$label.jsonl" |
    python3 -c 'import json,sys; [print("llama   ", "pp%d" % r["n_prompt"] if r["n_prompt"] else "tg%d" % r["n_gen"], round(r["avg_ts"],2), "+-", round(r["stddev_ts"],2)) for r in map(json.loads, sys.stdin)]' || tail -3 "$out/err-llama-$label.txt"
}

for m in "$t11" "$b8"; do
  n="$(basename "$m" .gguf)"
  step "$n: one GPU"
  bench_pair "$n-one" -m "$m" --gpu-layers 99 --split-mode none -- -m "$m" -ngl 99 -sm none
  step "$n: --split-mode layer"
  bench_pair "$n-layer" -m "$m" --gpu-layers 99 --split-mode layer -- -m "$m" -ngl 99 -sm layer
  step "$n: --split-mode row"
  bench_pair "$n-row" -m "$m" --gpu-layers 99 --split-mode row -- -m "$m" -ngl 99 -sm row
  step "$n: --tensor-split 3,1"
  bench_pair "$n-ts31" -m "$m" --gpu-layers 99 --tensor-split 3,1 -- -m "$m" -ngl 99 -ts 3/1
done

step "RPC: one worker per GPU"
CUDA_VISIBLE_DEVICES=0 "$inf" rpc-worker --port 50060 >"$out/w0.txt" 2>&1 &
p0=$!
CUDA_VISIBLE_DEVICES=1 "$inf" rpc-worker --port 50061 >"$out/w1.txt" 2>&1 &
p1=$!
CUDA_VISIBLE_DEVICES=0 "$w/llama/ggml-rpc-server" -p 50070 >"$out/l0.txt" 2>&1 &
q0=$!
CUDA_VISIBLE_DEVICES=1 "$w/llama/ggml-rpc-server" -p 50071 >"$out/l1.txt" 2>&1 &
q1=$!
sleep 6
cat "$out/w0.txt" "$out/l0.txt" | head -20
CUDA_VISIBLE_DEVICES= "$inf" info --rpc 127.0.0.1:50060,127.0.0.1:50061 | sed -n '/Devices/,/^$/p'
for m in "$t11" "$b8"; do
  n="$(basename "$m" .gguf)"
  step "$n: RPC"
  CUDA_VISIBLE_DEVICES= bench_pair "$n-rpc" -m "$m" --gpu-layers 99 --rpc 127.0.0.1:50060,127.0.0.1:50061 -- -m "$m" -ngl 99 --rpc 127.0.0.1:50070,127.0.0.1:50071
done
step "errors"
"$inf" run -m "$t11" --tensor-split 1,1,1 -p hi; echo "exit $?"
"$inf" run -m "$t11" --main-gpu 5 --split-mode none -p hi; echo "exit $?"
CUDA_VISIBLE_DEVICES= "$inf" run -m "$b8" --rpc 127.0.0.1:50060 --gpu-layers 99 --raw -n 3000 --ignore-eos -p "Once" >/dev/null 2>"$out/kill.txt" &
c=$!
sleep 8; kill -9 "$p0"; t0=$SECONDS; wait "$c"; echo "client exit $? after $((SECONDS - t0)) s: $(tail -1 "$out/kill.txt")"
kill "$p1" "$q0" "$q1" 2>/dev/null
step done
