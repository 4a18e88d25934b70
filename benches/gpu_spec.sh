#!/usr/bin/env bash
# Speculative decoding on a GPU machine with the real Qwen2.5-Coder 1.5B / 0.5B pair, which is
# too big for one call to the device: the models travel in pieces over consecutive calls while
# the machine stays warm (its /tmp survives between calls).
#   setup PAYLOAD       unpack a payload (scripts/gpu-payload.sh) and build the CUDA plugin
#   part FILE           keep one piece (`split -b 58000000 -d MODEL NAME.gguf.part.`)
#   join SHA256SUMS     join the pieces into the models and check them against the sums
#   run OUT [ROUNDS]    benches/spec_vs_llama.sh with every layer on the GPU, `inferno bench
#                       --lookup` and `--draft-model`, and one generation with the policy's
#                       decisions logged
set -uo pipefail
work="${WORK:-/tmp/inferno-spec}"
here="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$work/parts"
case "${1:?usage: gpu_spec.sh setup PAYLOAD | part FILE | join SHA256SUMS | run OUT [ROUNDS]}" in
setup)
  tar -xzf "${2:?payload}" -C "$work" || exit 1
  source "$here/scripts/gpu-common.sh"
  gpu_plugin "$work" 90 "$work/cuda-build.txt" || exit 1
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  ;;
part)
  cp "${2:?piece}" "$work/parts/" && ls "$work/parts" | wc -l
  ;;
join)
  sums="$(realpath "${2:?sha256sums}")"
  cd "$work" || exit 1
  for name in $(awk '{sub(/^\*/, "", $2); print $2}' "$sums"); do
    cat parts/"$name".part.* >"$name" || exit 1
  done
  sha256sum -c "$sums" || exit 1
  ;;
run)
  out="$(realpath -m "${2:?out dir}")" rounds="${3:-3}"
  mkdir -p "$out"
  t="$work/qwen15.gguf" d="$work/qwen05.gguf" inf="$work/bundle/inferno"
  [[ -f "$t" && -f "$d" && -f "$work/bundle/libggml-cuda.so" ]] || { echo "setup, parts and join first"; exit 1; }
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/nvidia-smi.txt"
  cores=$(lscpu -p=core,socket | grep -v '^#' | sort -u | wc -l)
  # The policy's decisions for a draft model on this GPU (the first attempts, then plain steps).
  RUST_LOG=speculative=debug "$inf" run -m "$t" --gpu-layers 99 --draft-model "$d" --temp 0 -n 128 \
    --raw -p 'def quicksort(arr):' --json >"$out/draft-run.json" 2>"$out/draft-run.log"
  grep -c 'Draft:' "$out/draft-run.log"; grep 'policy:' "$out/draft-run.log" | tail -1
  NGL=99 RAW="$out/raw" INFERNO="$inf" "$here/benches/spec_vs_llama.sh" "$work/llama" "$t" "$d" "$rounds" 128 "$cores" \
    2>"$out/spec.err" | tee "$out/spec.md"
  for how in lookup draft; do
    flags=(--lookup); [[ $how == draft ]] && flags=(--draft-model "$d")
    "$inf" bench -m "$t" --gpu-layers 99 "${flags[@]}" -n 128 -r "$rounds" 2>>"$out/bench.err" | tee -a "$out/bench-spec.md"
  done
  ;;
esac
