#!/usr/bin/env python3
"""Two inferno builds side by side on the speculative bench prompts (src/bench/spec_prompts.json),
alternating per prompt, to see whether a policy change helps: mean generation tokens/s and the
target steps of each run. Chat prompts are written out in ChatML (Qwen's template).

usage: benches/spec_ab.py BIN_A,BIN_B PROMPT[,PROMPT...] ROUNDS MODEL [INFERNO RUN FLAGS...]
e.g.   benches/spec_ab.py /tmp/old,target/release/inferno edit-rename,code-fib 2 \\
           test_models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf --lookup
Swap the order of the builds in a second run: the second of a pair can run slower.
"""
import json
import statistics as st
import subprocess
import sys

bins = sys.argv[1].split(",")
names = sys.argv[2].split(",")
rounds = int(sys.argv[3])
model = sys.argv[4]
extra = sys.argv[5:]
prompts = {p["name"]: p for p in json.load(open("src/bench/spec_prompts.json"))}


def text(p):
    return p.get("raw") or "<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n" % p["chat"]


res = {}
for _ in range(rounds):
    for n in names:
        for b in bins:
            cmd = [b, "run", "-m", model, "-n", "128", "--temp", "0", "-t", "2", "-c", "4096",
                   "--json", "--raw", "-p", text(prompts[n])] + extra
            r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
            steps = (r.get("speculative") or {}).get("steps")
            res.setdefault((n, b), []).append((r["gen_tps"], steps))
            print(n, b, r["gen_tps"], steps, flush=True)
for n in names:
    cells = ["%.2f (steps %s)" % (st.mean(v[0] for v in res[(n, b)]),
                                  "/".join(str(v[1]) for v in res[(n, b)])) for b in bins]
    print(" | ".join([n] + cells))
