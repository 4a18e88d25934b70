#!/usr/bin/env bash
# Generation speed of `inferno run` against llama.cpp's llama-completion on the same model,
# prompt, thread count and greedy sampling, alternating the two programs.
#
# inferno's gen_tps is generated tokens over the wall time from the end of prompt evaluation to
# the last token (each token: one sampling step and one decode). llama-completion reports its
# decode time ("eval time", one decode fewer than tokens) and its sampling time separately, and
# a total; shown: decode only, decode + sampling per token, and (total - prompt eval) per token,
# the closest to inferno's definition.
#
# Usage: benches/run_vs_llama.sh LLAMA_BIN_DIR MODEL.gguf [THREADS] [N_TOKENS] [ROUNDS]
set -euo pipefail
bin_dir="${1:?usage: run_vs_llama.sh LLAMA_BIN_DIR MODEL [THREADS] [N] [ROUNDS]}"
model="$(realpath "${2:?model}")"
threads="${3:-2}" n="${4:-128}" rounds="${5:-5}"
here="$(cd "$(dirname "$0")/.." && pwd)"
inferno="${INFERNO:-$here/target/release/inferno}"
prompt="The capital of France is"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT

for r in $(seq "$rounds"); do
  "$inferno" run -m "$model" --raw --temp 0 -t "$threads" -n "$n" -p "$prompt" --json \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); print("inferno", d["gen_tokens"], d["gen_ms"])' >>"$work/results"
  # Run from an empty directory: ggml also loads CPU plugins from the working directory.
  (cd "$work" && "$bin_dir/llama-completion" -m "$model" -p "$prompt" -n "$n" -t "$threads" --temp 0 \
    -no-cnv </dev/null 2>"$work/err" >/dev/null)
  python3 - "$work/err" "$n" >>"$work/results" <<'PY'
import re, sys
log = open(sys.argv[1]).read()
ev = re.search(r"\beval time =\s*([\d.]+) ms /\s*(\d+) runs", log)
sm = re.search(r"sampling time =\s*([\d.]+) ms", log)
total = re.search(r"total time =\s*([\d.]+) ms", log)
prompt = re.search(r"prompt eval time =\s*([\d.]+) ms", log)
# sampling time covers the n generated tokens (-n)
print("llama", ev.group(2), ev.group(1), sm.group(1), sys.argv[2],
      float(total.group(1)) - float(prompt.group(1)))
PY
done

python3 - "$work/results" <<'PY'
import statistics as st, sys
inf, dec, both, wall = [], [], [], []
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == "inferno":
        inf.append(int(f[1]) / float(f[2]) * 1e3)
    else:
        n_eval, t_eval, t_samp, n_samp, t_gen = int(f[1]), float(f[2]), float(f[3]), int(f[4]), float(f[5])
        dec.append(n_eval / t_eval * 1e3)
        # per token: one decode + one sampling step
        both.append(1e3 / (t_eval / n_eval + t_samp / n_samp))
        # all of llama-completion's time after the prompt, per generated token
        wall.append(n_samp / t_gen * 1e3)
def show(name, xs):
    sd = st.stdev(xs) if len(xs) > 1 else 0.0
    print(f"{name:<38} {st.mean(xs):8.2f} ± {sd:5.2f} t/s   ({', '.join(f'{x:.1f}' for x in xs)})")
show("inferno run gen_tps", inf)
show("llama-completion decode only", dec)
show("llama-completion decode + sampling", both)
show("llama-completion total - prompt eval", wall)
print(f"ratio inferno / llama (decode + sampling): {st.mean(inf) / st.mean(both):.3f}")
print(f"ratio inferno / llama (total - prompt):    {st.mean(inf) / st.mean(wall):.3f}")
PY
