#!/usr/bin/env python3
"""Soak run for inferno (not part of `cargo test`: it takes minutes).

1. RUNS consecutive `inferno run` invocations (greedy, short): every one must exit 0 and print
   the same text; reports failures, wall time and the largest peak RSS of any run.
2. One long generation (TOKENS tokens, --ignore-eos) with the process's RSS sampled every
   0.25 s: after the first tokens, RSS may grow only by what the KV cache fills in (llama.cpp
   allocates the whole cache up front and its pages are touched as positions fill), so growth
   beyond the KV buffer size would be a leak.

Usage: benches/soak.py MODEL.gguf [RUNS] [TOKENS]   (INFERNO=path/to/inferno to override)
"""
import json
import os
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
inferno = os.environ.get("INFERNO", os.path.join(here, "..", "target", "release", "inferno"))
model = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 200
tokens = int(sys.argv[3]) if len(sys.argv) > 3 else 5000


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        return None
    return None


# 1. many short runs
first, failures, peak = None, 0, 0
start = time.time()
for i in range(runs):
    p = subprocess.Popen([inferno, "run", "-m", model, "--raw", "--temp", "0", "-n", "8", "-p", "The capital of France is"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.stdout.read(), p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    peak = max(peak, usage.ru_maxrss)
    if first is None:
        first = out
    if p.returncode != 0 or out != first or err:
        failures += 1
        print(f"run {i}: exit {p.returncode}, stdout {out!r}, stderr {err!r}", file=sys.stderr)
elapsed = time.time() - start
print(f"{runs} consecutive runs: {failures} failures, {elapsed:.1f} s ({elapsed / runs * 1e3:.0f} ms per run), "
      f"largest peak RSS {peak / 1024:.1f} MiB, every output identical: {failures == 0}")

# 2. one long generation with RSS sampled
ctx = 1 << (tokens + 64).bit_length()
p = subprocess.Popen([inferno, "run", "-m", model, "--raw", "-c", str(ctx), "-n", str(tokens), "--ignore-eos",
                      "--seed", "1", "--json", "-p", "Once upon a time"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
samples = []
t0 = time.time()
while p.poll() is None:
    r = rss_kib(p.pid)
    if r:
        samples.append((time.time() - t0, r))
    time.sleep(0.25)
out, err = p.communicate()
if p.returncode != 0:
    sys.exit(f"long generation failed ({p.returncode}): {err.decode()}")
report = json.loads(out)
kv = sum(b["bytes"] for b in report["memory"] if b["kind"] == "kv") / 1024
# RSS once generation runs (after load and prompt): the first sample after the ttft.
gen_start = (report["load_ms"] + report["ttft_ms"]) / 1e3
during = [r for t, r in samples if t > gen_start + 0.5] or [r for _, r in samples]
base, top, last = during[0], max(during), during[-1]
print(f"long generation: {report['gen_tokens']} tokens in {report['gen_ms'] / 1e3:.1f} s ({report['gen_tps']} t/s), "
      f"context {report['context_size']}, stop {report['stop_reason']}")
print(f"RSS during generation: first {base / 1024:.1f} MiB, max {top / 1024:.1f} MiB, last {last / 1024:.1f} MiB, "
      f"growth {(top - base) / 1024:.1f} MiB vs KV cache {kv / 1024:.1f} MiB ({len(samples)} samples)")
ok = failures == 0 and report["gen_tokens"] == tokens and (top - base) <= kv + 16 * 1024
print("soak:", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
