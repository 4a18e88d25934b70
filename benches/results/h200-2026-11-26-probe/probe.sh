#!/usr/bin/env bash
# One-off: where bench --parallel's per-step time goes on the GPU, then serve vs llama-server.
set -uo pipefail
out=/tmp/p; mkdir -p $out; exec > >(tee -a $out/log.txt) 2>&1
w=$(ls -d /tmp/tmp.*/co 2>/dev/null | head -1); w=${w%/co}
if [ -z "$w" ]; then
w=$(mktemp -d); tar -xzf .device/payload.tar.gz -C $w
( $w/bundle/synth --preset tinyllama -o $w/t11.gguf -t 16 ) >/dev/null 2>&1 &
sp=$!
BUILD_DIR=$w/cb scripts/build-cuda-plugin.sh $w/ggml $w/co 90 16 > $out/cuda-build.txt 2>&1 || { tail -20 $out/cuda-build.txt; exit 1; }
wait $sp
fi
repo=$PWD
cp $w/co/libggml-cuda.so $w/bundle/; cp $w/co/libggml-cuda.so $w/llama/
ls -la $w/co/libggml-cuda.so
I=$w/bundle/inferno; B=$w/llama/llama-batched-bench; M=$w/t11.gguf
cd $w
j() { python3 -c 'import json,sys
for l in sys.stdin:
  l=l.strip()
  if l.startswith("{"): v=json.loads(l); print("   B=%s S_TG %.1f S_PP %.1f" % (v["pl"], v["speed_tg"], v["speed_pp"]))'; }
for rep in 1 2; do
for c in 256 16384; do
 for g in 0 1; do
  e=(); [ $g = 1 ] && e=(GGML_CUDA_DISABLE_GRAPHS=1)
  echo "== ctx $c graphs-disabled=$g inferno"; env "${e[@]}" $I bench -m $M -t 16 -r 3 --parallel 1 -p 128 -n 128 -c $c -b 2048 --gpu-layers 99 -o jsonl 2>/dev/null | j
  echo "== ctx $c graphs-disabled=$g llama"; env "${e[@]}" $B -m $M -t 16 -npl 1 -npp 128 -ntg 128 -c $c -b 2048 -ngl 99 --output-format jsonl 2>/dev/null | j
 done
done
done
echo "== llama -kvu ctx 16384"; $B -m $M -t 16 -npl 1,4 -npp 128 -ntg 128 -c 16384 -b 2048 -ngl 99 -kvu --output-format jsonl 2>/dev/null | j
echo "== plain tg128"; $I bench -m $M -t 16 -p 0 -n 128 -r 5 --gpu-layers 99 2>/dev/null
cd $repo
NGL=99 PYTHON=python3 CTX=512 PER_CLIENT=2 LOAD_ARGS=--raw RAW=$out/serve-raw INFERNO=$I timeout 400 benches/serve_vs_llama.sh $w/llama/llama-server $M 16 64 2 1,4,16,64 128 | tee $out/serve.md
