#!/usr/bin/env bash
# Verify inferno on an NVIDIA GPU machine that has the CUDA toolkit but no Rust, in one go:
#   1. unpack a payload made by scripts/gpu-payload.sh (the relocatable CPU bundle, the
#      vendored ggml sources, llama.cpp's reference llama-bench);
#   2. build libggml-cuda.so from those sources (scripts/build-cuda-plugin.sh) and drop it
#      beside both inferno and llama-bench;
#   3. generate the synthetic TinyLlama-1.1B-shaped Q4_K_M model (random weights);
#   4. inferno info; inferno bench and llama-bench alternating, all layers on the GPU and with
#      the GPU off; inferno run on the GPU.
# Logs and results go to OUT_DIR.
#
# Usage: scripts/gpu-verify.sh PAYLOAD.tar.gz OUT_DIR [CUDA_ARCHS]
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/gpu-common.sh"
gpu_begin "usage: gpu-verify.sh PAYLOAD OUT_DIR [ARCHS]" "$@"
lscpu | grep -E 'Model name|^CPU\(s\)|Core\(s\) per socket|Socket\(s\)' || true
nvcc --version 2>/dev/null | tail -1 || /usr/local/cuda/bin/nvcc --version | tail -1
ls "$w"

model="$w/tinyllama-1.1b-synthetic-q4_k_m.gguf"
step "synthetic TinyLlama-1.1B Q4_K_M (background) + CUDA plugin build"
( start=$SECONDS; "$w/bundle/synth" --preset tinyllama -o "$model" -t "$cores" && echo "synth: $((SECONDS - start)) s" ) >"$out/synth.txt" 2>&1 &
synth_pid=$!
gpu_plugin "$w" "$archs" "$out/cuda-build.txt"
rc=$?
wait "$synth_pid"
cat "$out/synth.txt"
[[ $rc -eq 0 && -f "$model" ]] || { echo "setup failed"; exit 1; }
ls -la "$w/bundle/libggml-cuda.so" "$model"

inferno="$w/bundle/inferno"
cd "$w" || exit 1   # an empty working directory: nothing to pick up from here
step "inferno info"
"$inferno" info | tee "$out/info.txt"
"$inferno" info --json >"$out/info.json"
"$inferno" info -m "$model" | tee "$out/info-model.txt"

step "inferno run on the GPU"
"$inferno" -v run -m "$model" --raw --temp 0 -n 64 -p "The capital of France is" --json \
  >"$out/run-gpu.json" 2>"$out/run-gpu.stderr.txt"
echo "rc=$?"; cat "$out/run-gpu.json"; grep -E 'offloaded|CUDA0|load_backend' "$out/run-gpu.stderr.txt" | head

bench_pair() { # name, inferno args, llama-bench args, environment for inferno, llama dir
  local name=$1 ia=$2 la=$3 ienv=${4:-} ldir=${5:-$w/llama} r
  for r in 1 2; do
    # shellcheck disable=SC2086
    env $ienv "$inferno" bench -m "$model" -p 512 -n 128 -r 5 $ia -o json >"$out/inferno-$name-$r.json" 2>"$out/inferno-$name-$r.err"
    echo "inferno $name round $r: rc=$?"
    # shellcheck disable=SC2086
    "$ldir/llama-bench" -m "$model" -p 512 -n 128 -r 5 $la -o json >"$out/llama-$name-$r.json" 2>"$out/llama-$name-$r.err"
    echo "llama-bench $name round $r: rc=$?"
  done
}
step "bench: all layers on the GPU"
bench_pair gpu "--gpu-layers 99 -t $cores" "-ngl 99 -t $cores"
step "bench: GPU off entirely, $cores CPU threads"
# gpu_enabled=false: no GPU backend at all, so llama-bench runs from a copy of its directory
# without the plugin. With a GPU backend loaded (even at -ngl 0 -nopo 1) llama.cpp keeps CPU
# weights unrepacked, which on AVX512 hosts is 1.3-1.5x faster at pp512 and slower at small
# batches (benches/results/h100-2026-11-27-cpu-repack/): a different setup, not a comparison.
cp -a "$w/llama" "$w/llama-cpu" && rm -f "$w/llama-cpu/libggml-cuda.so"
bench_pair cpu "--gpu-layers 0 -t $cores" "-ngl 0 -t $cores" INFERNO_GPU_ENABLED=false "$w/llama-cpu"
step "bench: weights on the CPU, batched work on the GPU (llama.cpp's -ngl 0)"
bench_pair ngl0 "--gpu-layers 0 -t $cores" "-ngl 0 -t $cores"
grep -h load_backend "$out"/llama-*.err | sort -u

step "summary"
python3 - "$out" <<'PY'
import json, glob, statistics as st, sys, os
out = sys.argv[1]
def samples(pattern, ours):
    res = {}
    for f in sorted(glob.glob(os.path.join(out, pattern))):
        try:
            data = json.load(open(f))
        except Exception as e:
            print("unreadable", f, e); continue
        rows = data["results"] if ours else data
        for r in rows:
            t = "pp512" if r["n_gen"] == 0 else "tg128"
            res.setdefault(t, []).extend(r["samples_ts"])
    return res
lines = ["| setup | test | inferno t/s | llama-bench t/s | ratio |", "| --- | --- | ---: | ---: | ---: |"]
speed = {}
for setup in ["gpu", "ngl0", "cpu"]:
    a, b = samples(f"inferno-{setup}-*.json", True), samples(f"llama-{setup}-*.json", False)
    for t in ["pp512", "tg128"]:
        if t in a and t in b:
            ma, mb = st.mean(a[t]), st.mean(b[t])
            speed[(setup, t)] = ma
            lines.append(f"| {setup} | {t} | {ma:.2f} ± {st.stdev(a[t]):.2f} | {mb:.2f} ± {st.stdev(b[t]):.2f} | {ma / mb:.3f} |")
print("\n".join(lines))
for t in ["pp512", "tg128"]:
    if ("gpu", t) in speed and ("cpu", t) in speed:
        print(f"GPU/CPU speedup {t}: {speed[('gpu', t)] / speed[('cpu', t)]:.1f}x")
open(os.path.join(out, "summary.md"), "w").write("\n".join(lines) + "\n")
PY

# The machine returns at most 8 files: keep the summary, the log, info and the run report,
# and everything raw in one archive.
step "pack raw logs"
(cd "$out" && tar czf raw-logs.tar.gz ./*.json ./*.err ./*.txt ./*.md 2>/dev/null &&
  find . -maxdepth 1 -type f ! -name raw-logs.tar.gz ! -name log.txt ! -name summary.md \
    ! -name info.txt ! -name run-gpu.json -delete)
ls -la "$out"
