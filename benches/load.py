"""HTTP load on an OpenAI-compatible server (inferno serve or llama-server): for each level of
concurrent streaming clients, a bounded number of requests; aggregate generated tokens/s, time
to first token and inter-token latency (p50/p95), all measured at the client. Localhost only.

    python benches/load.py http://127.0.0.1:8080 --levels 1,2,4,8,16 --per-client 2 --max-tokens 64 --label inferno

Each request streams a chat completion with `ignore_eos` so every answer has exactly
--max-tokens tokens; prompts share a system message and differ in the user's words (as chat
applications do), so both servers can reuse the shared prefix.
Prints one JSON line per level.
"""

import argparse
import json
import statistics
import threading
import time

import sys
import urllib.error
import urllib.request

p = argparse.ArgumentParser()
p.add_argument("url")
p.add_argument("--levels", default="1,2,4,8,16")
p.add_argument("--per-client", type=int, default=2)
p.add_argument("--max-tokens", type=int, default=64)
p.add_argument("--label", default="")
p.add_argument("--raw", action="store_true", help="raw /v1/completions (models without a chat template)")
a = p.parse_args()
assert a.url.startswith("http://127.0.0.1") or a.url.startswith("http://localhost"), "localhost only"

with urllib.request.urlopen(a.url + "/v1/models") as r:
    MODEL = json.load(r)["data"][0]["id"]
TOPICS = ["the sea", "a mountain", "a city at night", "an old library", "a robot", "a garden", "the desert", "a train"]


def one(i):
    # An explicit system message: servers that render a default one (llama-server's Jinja path
    # for Qwen) and servers that do not then see the same prompt.
    system = "You are a helpful assistant who writes stories."
    user = f"Story {i}: write a long story about {TOPICS[i % len(TOPICS)]}."
    body = {"model": MODEL, "max_tokens": a.max_tokens, "temperature": 0.8, "stream": True, "ignore_eos": True,
            "stream_options": {"include_usage": True}}
    if a.raw:
        body["prompt"], path = f"{system}\n\n{user}\n", "/v1/completions"
    else:
        body["messages"], path = [{"role": "system", "content": system}, {"role": "user", "content": user}], "/v1/chat/completions"
    start = time.perf_counter()
    stamps, generated = [], 0
    req = urllib.request.Request(a.url + path, data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                generated = chunk["usage"]["completion_tokens"]
            for c in chunk.get("choices", []):
                if c.get("delta", {}).get("content") or c.get("text"):
                    stamps.append(time.perf_counter())
    return start, stamps, generated


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None


# One numbering for the whole run: every request's words differ, across levels too. (Each level
# once started again at 0 and repeated the earlier levels' prompts word for word, which
# llama-server's RAM prompt cache answered with one token evaluated: that measured a cache of
# whole earlier prompts, not how new prompts join a running batch.)
counter = iter(range(10**9))
for level in [int(x) for x in a.levels.split(",")]:
    results, lock = [], threading.Lock()

    failures = []

    def worker():
        for _ in range(a.per_client):
            try:
                r = one(next(counter))
            except Exception as e:  # noqa: BLE001 - any failed request ends the run, with its reason
                body = ""
                if isinstance(e, urllib.error.HTTPError):
                    try:
                        body = e.read().decode(errors="replace")[:300]
                    except Exception:  # noqa: BLE001
                        pass
                with lock:
                    failures.append(f"{type(e).__name__}: {e} {body}".strip())
                return
            with lock:
                results.append(r)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(level)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if failures:
        sys.exit(f"load.py: {len(failures)} request(s) failed at {level} clients; first: {failures[0]}")
    tokens = sum(g for _, _, g in results)
    ttft = [(s[0] - st) * 1e3 for st, s, _ in results if s]
    itl = [(b - x) * 1e3 for _, s, _ in results for x, b in zip(s, s[1:])]
    print(json.dumps({"label": a.label, "clients": level, "requests": len(results), "tokens": tokens, "seconds": round(wall, 3),
                      "tok_per_s": round(tokens / wall, 2), "ttft_p50_ms": round(pct(ttft, .5), 1), "ttft_p95_ms": round(pct(ttft, .95), 1),
                      "itl_p50_ms": round(pct(itl, .5), 1), "itl_p95_ms": round(pct(itl, .95), 1)}), flush=True)
