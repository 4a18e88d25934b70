#!/usr/bin/env bash
# Speculative decoding against llama.cpp's own tools, side by side in one run, alternating:
# plain greedy (inferno run, llama-completion), a draft model (inferno --draft-model,
# llama-speculative-simple) and prompt lookup (inferno --lookup, llama-lookup), on five prompts:
# code completion, three edits whose answer repeats their input, and prose where nothing repeats.
# Every tool sees the same prompt text (chat prompts written out in ChatML, Qwen's template,
# less the newline after the last `assistant`, which command substitution drops).
#
# Usage: benches/spec_vs_llama.sh LLAMA_BIN_DIR TARGET.gguf DRAFT.gguf|none [ROUNDS] [TOKENS] [THREADS]
# DRAFT none: prompt lookup only. NGL=99 puts every layer on the GPU (all tools).
# Prints one markdown table; raw per-run lines go to $RAW (default: a temporary directory).
set -euo pipefail
bin="$(realpath "${1:?usage: spec_vs_llama.sh LLAMA_BIN_DIR TARGET DRAFT|none [ROUNDS] [TOKENS] [THREADS]}")"
target="$(realpath "${2:?target model}")" draft="${3:?draft model or none}"
[[ "$draft" == none ]] || draft="$(realpath "$draft")"
rounds="${4:-3}" tokens="${5:-128}" threads="${6:-2}"
here="$(cd "$(dirname "$0")/.." && pwd)"
inferno="$(realpath "${INFERNO:-$here/target/release/inferno}")"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
raw="$(realpath -m "${RAW:-$work/raw}")"; mkdir -p "$raw"

chat() { printf '<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n' "$1"; }
# From inferno bench's own prompt set (src/bench/spec_prompts.json): code completion, two
# edits whose answer repeats the input, prose where nothing repeats; plus a short edit.
from_set() { python3 -c 'import json,sys; p={x["name"]: x for x in json.load(open(sys.argv[1]))}[sys.argv[2]]; print(p.get("raw") or p["chat"], end="")' "$here/src/bench/spec_prompts.json" "$1"; }
declare -A prompts
kinds=(code edit-short edit-rename edit-hints prose)
prompts[code]="$(from_set code-quicksort)"
prompts[edit-short]="$(chat 'Rename the variable `total` to `running_sum` in this function. Reply with the whole function only.

```python
def average(values):
    total = 0
    count = 0
    for v in values:
        if v is None:
            continue
        total += v
        count += 1
    if count == 0:
        return 0.0
    return total / count
```')"
prompts[edit-rename]="$(chat "$(from_set edit-rename)")"
prompts[edit-hints]="$(chat "$(from_set edit-hints)")"
prompts[prose]="$(chat "$(from_set prose-story)")"

common=(-n "$tokens" --temp 0 -t "$threads")
ngl_inferno=() ngl_llama=()
ngl_draft=()
if [[ -n "${NGL:-}" ]]; then ngl_inferno=(--gpu-layers "$NGL"); ngl_llama=(-ngl "$NGL"); ngl_draft=(-ngld "$NGL"); fi
# tokens/s of generation from each tool's own report.
inferno_tps() { "$inferno" run -m "$target" --raw "${common[@]}" "${ngl_inferno[@]}" -c 4096 --json -p "$1" "${@:2}" 2>/dev/null |
  python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["gen_tps"])'; }
completion_tps() { (cd "$work" && "$bin/llama-completion" -m "$target" "${common[@]}" "${ngl_llama[@]}" -c 4096 -no-cnv -p "$1" 2>&1 >/dev/null) |
  sed -n 's/.*common_perf_print: *eval time.*, *\([0-9.]*\) tokens per second.*/\1/p'; }
# The speculative tools print their summary partly on stdout: read both.
spec_tps() { (cd "$work" && "$bin/llama-speculative-simple" -m "$target" -md "$draft" --spec-type draft-simple "${common[@]}" "${ngl_llama[@]}" "${ngl_draft[@]}" -c 4096 --spec-draft-n-max 8 -p "$1" 2>&1) |
  sed -n 's/.*decoded *[0-9]* tokens in.*speed: *\([0-9.]*\) t\/s.*/\1/p' | tail -1; }
lookup_tps() { (cd "$work" && "$bin/llama-lookup" -m "$target" "${common[@]}" "${ngl_llama[@]}" -c 4096 -p "$1" 2>&1) |
  sed -n 's/.*decoded *[0-9]* tokens in.*speed: *\([0-9.]*\) t\/s.*/\1/p' | tail -1; }

for r in $(seq "$rounds"); do
  for kind in "${kinds[@]}"; do
    p="${prompts[$kind]}"
    echo "$kind inferno-plain $(inferno_tps "$p")" >>"$raw/runs.txt"
    echo "$kind llama-completion $(completion_tps "$p")" >>"$raw/runs.txt"
    if [[ "$draft" != none ]]; then
      echo "$kind inferno-draft $(inferno_tps "$p" --draft-model "$draft")" >>"$raw/runs.txt"
      echo "$kind llama-speculative-simple $(spec_tps "$p")" >>"$raw/runs.txt"
    fi
    echo "$kind inferno-lookup $(inferno_tps "$p" --lookup)" >>"$raw/runs.txt"
    echo "$kind llama-lookup $(lookup_tps "$p")" >>"$raw/runs.txt"
  done
  echo "round $r/$rounds done" >&2
done

python3 - "$raw/runs.txt" <<'PY'
import statistics as st, sys
runs = {}
for line in open(sys.argv[1]):
    kind, tool, *v = line.split()
    runs.setdefault((kind, tool), []).extend(float(x) for x in v[:1])
m = lambda k, t: st.mean(runs.get((k, t)) or [float("nan")])
print("| prompt | inferno plain | llama-completion | inferno --draft-model | llama-speculative-simple | inferno --lookup | llama-lookup | draft vs plain | lookup vs plain | draft vs llama | lookup vs llama |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for k in ("code", "edit-short", "edit-rename", "edit-hints", "prose"):
    p, c, d, s, l, ll = (m(k, t) for t in ("inferno-plain", "llama-completion", "inferno-draft", "llama-speculative-simple", "inferno-lookup", "llama-lookup"))
    print(f"| {k} | {p:.2f} | {c:.2f} | {d:.2f} | {s:.2f} | {l:.2f} | {ll:.2f} | {d/p:.2f}x | {l/p:.2f}x | {d/s:.2f}x | {l/ll:.2f}x |")
PY
