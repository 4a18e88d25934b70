#!/usr/bin/env bash
# inferno bench against llama.cpp's llama-bench on the same model, threads and tests,
# alternating the two programs round by round, and the ratio inferno / llama-bench per test.
#
# Usage: benches/parity.sh LLAMA_BENCH MODEL.gguf [THREADS] [ROUNDS] [REPS] [extra args for both]
#   LLAMA_BENCH: path to llama-bench (e.g. ../shared/tools/llama.cpp/bin/llama-bench)
# Environment: INFERNO (binary, default target/release/inferno), TESTS (default "-p 512 -n 128").
set -euo pipefail
llama_bench="$(realpath "${1:?usage: parity.sh LLAMA_BENCH MODEL [THREADS] [ROUNDS] [REPS] [ARGS...]}")"
model="$(realpath "${2:?model}")"
threads="${3:-2}" rounds="${4:-3}" reps="${5:-5}"
shift $(($# < 5 ? $# : 5))
here="$(cd "$(dirname "$0")/.." && pwd)"
inferno="$(realpath "${INFERNO:-$here/target/release/inferno}")"
tests=${TESTS:--p 512 -n 128}
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT

for r in $(seq "$rounds"); do
  # shellcheck disable=SC2086 # $tests is a list of flags
  "$inferno" bench -m "$model" -t "$threads" -r "$reps" $tests -o json "$@" >"$work/inferno.$r.json"
  # From an empty directory: ggml also loads CPU plugins from the working directory.
  # shellcheck disable=SC2086
  (cd "$work" && "$llama_bench" -m "$model" -t "$threads" -r "$reps" $tests -o json "$@" \
    >"$work/llama.$r.json" 2>"$work/llama.$r.err")
  echo "round $r/$rounds done" >&2
done
grep -h 'load_backend' "$work"/llama.*.err | sort -u >&2 || true

python3 - "$work" "$rounds" "$model" "$threads" <<'PY'
import json, statistics as st, sys, os
work, rounds, model, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def test_name(p, g, d=0):
    n = f"pp{p}" if g == 0 else f"tg{g}" if p == 0 else f"pp{p}+tg{g}"
    return n + (f" @ d{d}" if d else "")
ours, theirs = {}, {}
for r in range(1, rounds + 1):
    for res in json.load(open(f"{work}/inferno.{r}.json"))["results"]:
        ours.setdefault(res["test"], []).extend(res["samples_ts"])
    for res in json.load(open(f"{work}/llama.{r}.json")):
        theirs.setdefault(test_name(res["n_prompt"], res["n_gen"], res.get("n_depth", 0)), []).extend(res["samples_ts"])
print(f"model {os.path.basename(model)}, {threads} threads, {rounds} rounds alternating")
print(f"| test | inferno t/s | llama-bench t/s | ratio |")
print(f"| --- | ---: | ---: | ---: |")
for t in ours:
    a, b = ours[t], theirs.get(t, [])
    if not b:
        continue
    sd = lambda x: st.stdev(x) if len(x) > 1 else 0.0
    print(f"| {t} | {st.mean(a):.2f} ± {sd(a):.2f} (n={len(a)}) | {st.mean(b):.2f} ± {sd(b):.2f} (n={len(b)}) | {st.mean(a)/st.mean(b):.3f} |")
PY
