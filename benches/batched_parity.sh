#!/usr/bin/env bash
# inferno bench --parallel against llama.cpp's llama-batched-bench on the same model, threads,
# batch sizes and context, alternating the two programs round by round; the ratio of the
# prompt and generation speeds (aggregate tokens/s) per number of sequences.
#
# Usage: benches/batched_parity.sh LLAMA_BATCHED_BENCH MODEL.gguf [THREADS] [ROUNDS] [NPL] [PP] [TG] [extra args for both]
#   e.g. benches/batched_parity.sh ../shared/tools/llama.cpp/bin/llama-batched-bench test_models/qwen...gguf 2 4 1,2,4,8 128 32
# Environment: INFERNO (binary, default target/release/inferno), CTX (default 2048), BATCH (default 2048).
set -euo pipefail
tool="$(realpath "${1:?usage: batched_parity.sh LLAMA_BATCHED_BENCH MODEL [THREADS] [ROUNDS] [NPL] [PP] [TG]}")"
model="$(realpath "${2:?model}")"
threads="${3:-2}" rounds="${4:-3}" npl="${5:-1,2,4,8}" pp="${6:-128}" tg="${7:-32}"
shift $(($# < 7 ? $# : 7))
here="$(cd "$(dirname "$0")/.." && pwd)"
inferno="$(realpath "${INFERNO:-$here/target/release/inferno}")"
ctx="${CTX:-2048}" batch="${BATCH:-2048}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT

for r in $(seq "$rounds"); do
  "$inferno" bench -m "$model" -t "$threads" -r 1 --parallel "$npl" -p "$pp" -n "$tg" \
    -c "$ctx" -b "$batch" -o jsonl "$@" >"$work/inferno.$r.jsonl"
  # From an empty directory: ggml also loads CPU plugins from the working directory.
  (cd "$work" && "$tool" -m "$model" -t "$threads" -npl "$npl" -npp "$pp" -ntg "$tg" \
    -c "$ctx" -b "$batch" --output-format jsonl "$@" >"$work/llama.$r.jsonl" 2>"$work/llama.$r.err")
  echo "round $r/$rounds done" >&2
done
grep -h 'load_backend' "$work"/llama.*.err | sort -u >&2 || true
mkdir -p "${RAW:-$work/raw}" && cp "$work"/*.jsonl "${RAW:-$work/raw}/"

python3 - "$work" "$rounds" "$model" "$threads" <<'PY'
import json, statistics as st, sys, os
work, rounds, model, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ours, theirs = {}, {}
for r in range(1, rounds + 1):
    for name, into in ((f"inferno.{r}.jsonl", ours), (f"llama.{r}.jsonl", theirs)):
        for line in open(f"{work}/{name}"):
            line = line.strip()
            if not line.startswith("{"):
                continue
            v = json.loads(line)
            k = (v["pp"], v["tg"], v["pl"])
            into.setdefault(k, {"pp": [], "tg": []})
            into[k]["pp"].append(v["speed_pp"]); into[k]["tg"].append(v["speed_tg"])
sd = lambda x: st.stdev(x) if len(x) > 1 else 0.0
print(f"model {os.path.basename(model)}, {threads} threads, {rounds} rounds alternating")
print("| PP | TG | B | inferno S_PP | batched-bench S_PP | ratio | inferno S_TG | batched-bench S_TG | ratio |")
print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for k in sorted(ours):
    if k not in theirs:
        continue
    a, b = ours[k], theirs[k]
    print(f"| {k[0]} | {k[1]} | {k[2]} | {st.mean(a['pp']):.2f} ± {sd(a['pp']):.2f} | {st.mean(b['pp']):.2f} ± {sd(b['pp']):.2f} | {st.mean(a['pp'])/st.mean(b['pp']):.3f} "
          f"| {st.mean(a['tg']):.2f} ± {sd(a['tg']):.2f} | {st.mean(b['tg']):.2f} ± {sd(b['tg']):.2f} | {st.mean(a['tg'])/st.mean(b['tg']):.3f} |")
PY
