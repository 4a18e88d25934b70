#!/usr/bin/env python3
"""Prompt lookup replayed offline: how fast could other proposal rules or draft lengths be,
on the greedy text the target really produces, with verification costs measured on this
machine? Each rule is replayed step by step (propose from the text so far, keep the prefix that
matches the real continuation, add the target's own token), and its time is the sum of the
measured cost of each verification batch; speed-up = plain steps' time / that time.

    cargo run --release --example spec_tokens -- TARGET.gguf PROMPTS.jsonl > tokens.jsonl
    benches/lookup_sim.py tokens.jsonl COSTS.json

COSTS.json maps rows per verification (1 = a plain step) to milliseconds, e.g. from the
`verify N ms` lines of `RUST_LOG=speculative=debug inferno run --lookup --draft-fixed
--draft-max K` for K = 1..16. The oracle picks every step's length knowing the future: a
bound for any length policy with these proposals, not something a policy can reach. The
first output token comes from the prompt's evaluation; the replay counts it as one plain step
for every rule. A second table gives the acceptance of proposals by position and kind.
"""
import collections
import json
import sys

# llama.cpp's "lax" n-gram cache thresholds (common/ngram-cache.h), as src/engine/speculative/lookup.rs.
MIN_SAMPLES, MIN_PERCENT = [2, 2, 1, 1], [66, 50, 50, 50]


class NgramCache:
    """Counts of what followed each n-gram of 1..max_n tokens (llama-lookup's method)."""

    def __init__(self, max_n=4):
        self.max_n, self.counts, self.seen = max_n, collections.defaultdict(collections.Counter), 0

    def chain(self, h, k, detail=False):
        """Up to k proposals after h, each (token, certain): certain = from a longest n-gram
        whose every follower was that token; with `detail`, (token, n-gram length, one
        follower)."""
        for nxt in range(max(self.seen, 1), len(h)):
            for n in range(1, min(self.max_n, nxt) + 1):
                self.counts[tuple(h[nxt - n:nxt])][h[nxt]] += 1
        self.seen = len(h)
        text, out = list(h[-self.max_n:]), []
        while len(out) < k:
            got = None
            for n in range(min(self.max_n, len(text)), 0, -1):
                f = self.counts.get(tuple(text[-n:]))
                if not f:
                    continue
                total = sum(f.values())
                best, c = max(f.items(), key=lambda kv: (kv[1], -kv[0]))
                i = min(n - 1, 3)
                if total >= MIN_SAMPLES[i] and 100 * c >= MIN_PERCENT[i] * total:
                    got = (best, n, c == total) if detail else (best, n == self.max_n and c == total)
                    break
            if got is None:
                break
            out.append(got)
            text.append(got[0])
        return out


def latest_match(h, k, longest=6, shortest=2):
    """Prompt lookup decoding's rule: copy what followed the latest earlier occurrence of the
    longest suffix of h that occurred before."""
    for n in range(longest, shortest - 1, -1):
        suffix = h[-n:]
        for s in range(len(h) - n - 1, -1, -1):
            if h[s:s + n] == suffix:
                return [(t, False) for t in h[s + n:s + n + k]]
    return []


def replay(prompt, output, propose, choose, cost):
    """Seconds-equivalent (ms) of generating `output` with `propose(state, history)` → chain
    and `choose(state, chain)` → how many of it to verify; and the number of steps."""
    state, i, ms, steps = {"kept": 0.0, "checked": 0.0}, 0, 0.0, 0
    while i < len(output):
        chain = propose(state, list(prompt) + output[:i])
        k = choose(state, chain)
        accepted = 0
        while accepted < k and i + accepted < len(output) and chain[accepted][0] == output[i + accepted]:
            accepted += 1
        for j in range(min(accepted + 1, k)):  # what the leading certain proposals measured
            if not chain[j][1]:
                break
            state["kept"] = 0.8 * state["kept"] + (j < accepted)
            state["checked"] = 0.8 * state["checked"] + 1
        i += min(accepted + 1, len(output) - i)
        ms += cost[k + 1]
        steps += 1
    return ms, steps


def oracle(prompt, output, propose, cost):
    """The least time over every choice of length at every step (history is the real text
    whatever was chosen, so a dynamic programme over positions is exact)."""
    n, state = len(output), {}
    options = []
    for i in range(n):
        chain = propose(state, list(prompt) + output[:i])
        accepted = 0
        while accepted < len(chain) and i + accepted < n and chain[accepted][0] == output[i + accepted]:
            accepted += 1
        options.append((len(chain), accepted))
    best = [0.0] * (n + 1)
    for i in range(n - 1, -1, -1):
        length, accepted = options[i]
        best[i] = min(cost[k + 1] + best[min(n, i + min(accepted, k) + 1)] for k in range(length + 1))
    return best[0]


def certain_extension(cost, base=3, prior=0.9, weight=2.0):
    """Verify `base` proposals, more when the certain ones are expected to pay with their
    measured acceptance (the rule tried in inferno on 2026-11-27 and reverted)."""
    def choose(state, chain):
        k = min(len(chain), base)
        certain = next((j for j, (_, c) in enumerate(chain) if not c), len(chain))
        if certain <= k:
            return k
        p = (state["kept"] + weight * prior) / (state["checked"] + weight)
        best, reach, tokens = (0.0, k), 1.0, 1.0
        for j in range(1, certain + 1):
            reach *= min(p, 0.99)
            tokens += reach
            if j >= k and tokens / cost[j + 1] > best[0]:
                best = (tokens / cost[j + 1], j)
        return best[1]
    return choose


def acceptance_table(data):
    """How often a proposal is kept when those before it were, by position in the chain, the
    length of the n-gram that proposed it and whether that n-gram had one follower or several."""
    stat = collections.defaultdict(lambda: [0, 0])
    for d in data:
        cache, out = NgramCache(4), d["output"]
        for i in range(len(out)):
            h = list(d["prompt"]) + out[:i]
            for j, (t, n, one) in enumerate(cache.chain(h, 16, detail=True)):
                if i + j >= len(out):
                    break
                s = stat[(min(j + 1, 4), n, "one" if one else "several")]
                s[0] += t == out[i + j]
                s[1] += 1
                if t != out[i + j]:
                    break
    print("\n| position | n-gram | followers | kept | checked | rate |\n|---:|---:|---|---:|---:|---:|")
    for (pos, n, f), (kept, checked) in sorted(stat.items()):
        print(f"| {pos if pos < 4 else '4+'} | {n} | {f} | {kept} | {checked} | {kept / checked:.2f} |")


def main():
    data = [json.loads(line) for line in open(sys.argv[1])]
    cost = {int(k): v for k, v in json.load(open(sys.argv[2])).items()}
    most = max(cost) - 1

    def ngram(max_n):
        return lambda state, h: state.setdefault("cache", NgramCache(max_n)).chain(h, most)

    def fixed(k):
        return lambda state, chain: min(len(chain), k)

    rules = [
        ("n-gram cache (llama-lookup: max 4, 3 proposals)", ngram(4), fixed(3)),
        ("n-gram cache, 7 proposals", ngram(4), fixed(7)),
        ("n-gram cache, 15 proposals", ngram(4), fixed(15)),
        ("n-gram cache, max 3", ngram(3), fixed(3)),
        ("n-gram cache, max 6", ngram(6), fixed(3)),
        ("latest match 6..2, 3 proposals", lambda s, h: latest_match(h, most), fixed(3)),
        ("n-gram cache + certain extension", ngram(4), certain_extension(cost)),
    ]
    names = [d["name"] for d in data]
    print("| rule | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for label, propose, choose in rules:
        cells = []
        for d in data:
            ms, steps = replay(d["prompt"], d["output"], propose, choose, cost)
            cells.append("%.2f (%d)" % (cost[1] * len(d["output"]) / ms, steps))
        print(f"| {label} | " + " | ".join(cells) + " |")
    cells = ["%.2f" % (cost[1] * len(d["output"]) / oracle(d["prompt"], d["output"], ngram(4), cost)) for d in data]
    print("| oracle lengths, n-gram cache max 4 (a bound) | " + " | ".join(cells) + " |")
    acceptance_table(data)


if __name__ == "__main__":
    main()
