#!/usr/bin/env bash
# inferno serve against llama.cpp's llama-server under the same HTTP load (benches/load.py):
# same model, threads, slots and context per slot (llama-server's -c is the total it splits
# across -np slots, so it gets slots x per-slot), one server at a time, alternating rounds.
#
# Usage: benches/serve_vs_llama.sh LLAMA_SERVER MODEL.gguf [THREADS] [SLOTS] [ROUNDS] [LEVELS] [MAX_TOKENS]
# Environment: INFERNO (default target/release/inferno), CTX per slot (default 2048),
#   PYTHON (default .venv/bin/python), RAW (directory for the raw JSON lines),
#   NGL (GPU layers for both servers, e.g. 99; default: each program's own),
#   PER_CLIENT (requests per client and level, default 2), LOAD_ARGS (more load.py flags, e.g.
#   --raw for a model without a chat template).
set -euo pipefail
llama_server="$(realpath "${1:?usage: serve_vs_llama.sh LLAMA_SERVER MODEL [THREADS] [SLOTS] [ROUNDS] [LEVELS] [MAX_TOKENS]}")"
model="$(realpath "${2:?model}")"
threads="${3:-2}" slots="${4:-8}" rounds="${5:-2}" levels="${6:-1,2,4,8,16}" max_tokens="${7:-64}"
here="$(cd "$(dirname "$0")/.." && pwd)"
inferno="$(realpath "${INFERNO:-$here/target/release/inferno}")"
python="${PYTHON:-$here/.venv/bin/python}"
ctx="${CTX:-2048}" port=18080 per_client="${PER_CLIENT:-2}"
ngl_inferno=() ngl_llama=()
if [[ -n "${NGL:-}" ]]; then ngl_inferno=(--gpu-layers "$NGL"); ngl_llama=(-ngl "$NGL"); fi
work="$(mktemp -d)"; trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
raw="$(realpath -m "${RAW:-$work/raw}")"; mkdir -p "$raw"
pid=

wait_health() {
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "server did not get ready" >&2; return 1
}

for r in $(seq "$rounds"); do
  "$inferno" serve -m "$model" -t "$threads" --parallel "$slots" -c "$ctx" --port "$port" "${ngl_inferno[@]}" 2>"$raw/inferno.$r.log" &
  pid=$!; wait_health
  "$python" "$here/benches/load.py" "http://127.0.0.1:$port" --levels "$levels" --per-client "$per_client" --max-tokens "$max_tokens" ${LOAD_ARGS:-} --label inferno >"$raw/inferno.$r.jsonl"
  kill -INT $pid; wait $pid || true
  (cd "$work" && exec "$llama_server" -m "$model" -t "$threads" -np "$slots" -c $((slots * ctx)) --port "$port" "${ngl_llama[@]}" 2>"$raw/llama.$r.log") &
  pid=$!; wait_health
  "$python" "$here/benches/load.py" "http://127.0.0.1:$port" --levels "$levels" --per-client "$per_client" --max-tokens "$max_tokens" ${LOAD_ARGS:-} --label llama-server >"$raw/llama.$r.jsonl"
  kill -INT $pid; wait $pid || true
  echo "round $r/$rounds done" >&2
done

python3 - "$raw" "$rounds" <<'PY'
import json, statistics as st, sys
raw, rounds = sys.argv[1], int(sys.argv[2])
rows = {}
for who in ("inferno", "llama"):
    for r in range(1, rounds + 1):
        for line in open(f"{raw}/{who}.{r}.jsonl"):
            v = json.loads(line)
            rows.setdefault((v["clients"], who), []).append(v)
print("| clients | inferno tok/s | llama-server tok/s | ratio | TTFT p50/p95 ms (inferno) | (llama-server) | ITL p50/p95 ms (inferno) | (llama-server) |")
print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for c in sorted({k[0] for k in rows}):
    a, b = rows[(c, "inferno")], rows[(c, "llama")]
    m = lambda xs, k: st.mean(x[k] for x in xs)
    print(f"| {c} | {m(a,'tok_per_s'):.1f} | {m(b,'tok_per_s'):.1f} | {m(a,'tok_per_s')/m(b,'tok_per_s'):.3f} "
          f"| {m(a,'ttft_p50_ms'):.0f} / {m(a,'ttft_p95_ms'):.0f} | {m(b,'ttft_p50_ms'):.0f} / {m(b,'ttft_p95_ms'):.0f} "
          f"| {m(a,'itl_p50_ms'):.1f} / {m(a,'itl_p95_ms'):.1f} | {m(b,'itl_p50_ms'):.1f} / {m(b,'itl_p95_ms'):.1f} |")
PY
