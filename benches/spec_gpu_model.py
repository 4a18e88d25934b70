"""Expected speculative speed-ups from measured step costs (`inferno bench -p n -n 0` per batch
size n, `-n 128` for one-token decode; benches/gpu_session.sh writes them) and acceptance
rates measured on the CPU (greedy acceptance depends on the models and the text, not the
hardware). For k proposals with per-token acceptance a, a step yields (1 - a^(k+1)) / (1 - a)
tokens and costs: draft model, its catch-up (a batch of 2) + (k - 1) draft decodes + the
target's verification of k + 1; prompt lookup, the verification alone. Prints the best k and
its speed-up over plain decoding for each acceptance rate.

    python benches/spec_gpu_model.py TARGET_STEPS.jsonl DRAFT_STEPS.jsonl [a1,a2,...]
"""
import json
import sys


def costs(path):
    batch, decode = {}, None
    for line in open(path):
        v = json.loads(line)
        if v["n_prompt"]:
            batch[v["n_prompt"]] = v["n_prompt"] / v["avg_ts"]
        else:
            decode = 1 / v["avg_ts"]
    return batch, decode


target, plain = costs(sys.argv[1])
draft, draft_decode = costs(sys.argv[2])
rates = [float(x) for x in (sys.argv[3] if len(sys.argv) > 3 else "0.6,0.8,0.9,0.95").split(",")]
verify = lambda n: target[min((m for m in target if m >= n), default=max(target))]
print(f"plain decode {plain * 1e3:.3f} ms/token; draft decode {draft_decode * 1e3:.3f} ms; "
      f"verify " + ", ".join(f"{n}: {t * 1e3:.2f}" for n, t in sorted(target.items())) + " ms")
print("| acceptance | draft model: best k | speed-up | prompt lookup: best k | speed-up |")
print("| ---: | ---: | ---: | ---: | ---: |")
for a in rates:
    best = {"draft": (1.0, 0), "lookup": (1.0, 0)}
    for k in range(1, 17):
        tokens = (1 - a ** (k + 1)) / (1 - a)
        for how, secs in (("draft", draft[2] + (k - 1) * draft_decode + verify(k + 1)), ("lookup", verify(k + 1))):
            gain = tokens * plain / secs
            if gain > best[how][0]:
                best[how] = (gain, k)
    d, l = best["draft"], best["lookup"]
    print(f"| {a:.2f} | {d[1] or '-'} | {d[0]:.2f}x | {l[1] or '-'} | {l[0]:.2f}x |")
