#!/usr/bin/env bash
# sparq against ONNX Runtime, back to back, on the same BERT model, shape and thread count.
#
#   bench/compare_ort.sh [--arch base] [--seq 128] [--batch 1] [--threads 2] [--time 10] [--rounds 1]
#                        [--models DIR] [--json FILE]
#
# Makes the model once with ../shared/tools/bert_ref.py (fp32 safetensors + ONNX export; needs
# Debian's python3-torch) and runs `sparq bench` and ../shared/tools/ort_bench.js alternately,
# `--rounds` times, each for `--time` seconds. Prints both medians, the ratio (ORT median / sparq
# median: above 1 means sparq is faster) and the efficiency of each against this machine's
# measured fp32 FMA peak. Peers come from ../shared/tools/setup-peers.sh (run it once as root).
# A developer tool: CI never runs it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${SPARQ_SHARED:-$root/../shared}
arch=base seq=128 batch=1 threads=2 time=10 rounds=1 json_out=""
models=${SPARQ_BENCH_MODELS:-$HOME/.cache/sparq-bench}
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=$2; shift 2 ;;
    --seq) seq=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --time) time=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --json) json_out=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare_ort.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

sparq=$root/build/sparq
peak=$root/build/bench/peak_flops
[ -x "$sparq" ] && [ -x "$peak" ] || { echo "compare_ort.sh: build first (make build)" >&2; exit 1; }
if ! /usr/bin/python3 -c 'import torch, onnx' 2>/dev/null || [ ! -d "${SPARQ_PEERS_DIR:-$HOME/.cache/sparq-peers}/node_modules/onnxruntime-node" ]; then
  echo "compare_ort.sh: peers missing; running $shared/tools/setup-peers.sh" >&2
  "$shared/tools/setup-peers.sh"
fi

model=$models/bert-$arch
if [ ! -f "$model/model.onnx" ] || [ ! -f "$model/model.safetensors" ]; then
  mkdir -p "$models"
  echo "making $model (bert_ref.py make $arch --onnx)" >&2
  /usr/bin/python3 "$shared/tools/bert_ref.py" make "$arch" "$model" --onnx >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$peak" --threads "$threads" --json > "$tmp/peak.json"
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds: sparq ($time s)" >&2
  "$sparq" bench --model "$model" --batch "$batch" --seq "$seq" --threads "$threads" --time "$time" --json > "$tmp/sparq.$r.json"
  echo "round $r/$rounds: onnxruntime ($time s)" >&2
  node "$shared/tools/ort_bench.js" --model "$model/model.onnx" --batch "$batch" --seq "$seq" \
    --threads "$threads" --time "$time" --json > "$tmp/ort.$r.json"
done

/usr/bin/python3 - "$tmp" "$rounds" "$model" "$batch" "$seq" "$threads" "${json_out}" <<'PY'
import json, sys, statistics
tmp, rounds, model, batch, seq, threads, json_out = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
peak = json.load(open(f"{tmp}/peak.json"))
cfg = json.load(open(f"{model}/config.json"))
H, I, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
T = batch * seq
flops = L * (2 * T * (4 * H * H + 2 * H * I) + 4 * T * seq * H)
peak_all = peak["avx512_gflops_all_threads"] or peak["avx2_gflops_per_core"] * threads
rows = []
for r in range(1, rounds + 1):
    s = json.load(open(f"{tmp}/sparq.{r}.json"))
    o = json.load(open(f"{tmp}/ort.{r}.json"))
    rows.append((s, o))
print(f"model {model}: {L} layers, hidden {H}, intermediate {I}; batch {batch} x seq {seq}; {threads} threads")
print(f"measured fp32 peak: {peak['avx512_gflops_per_core']:.1f} GFLOP/s per core, {peak_all:.1f} on {threads} threads; "
      f"one inference = {flops / 1e9:.2f} GFLOP")
print()
print(f"{'round':>5} {'engine':<12} {'runs':>5} {'median ms':>10} {'mean ms':>9} {'p90 ms':>8} {'seq/s':>8} {'GFLOP/s':>8} {'of peak':>8}")
ratios = []
for i, (s, o) in enumerate(rows, 1):
    for name, d in (("sparq", s), ("onnxruntime", o)):
        lat = d["latency_ms"]
        g = flops / (lat["median"] * 1e-3) / 1e9
        print(f"{i:>5} {name:<12} {d['count']:>5} {lat['median']:>10.3f} {lat['mean']:>9.3f} {lat['p90']:>8.3f} "
              f"{d['throughput_seq_per_s']:>8.2f} {g:>8.1f} {100 * g / peak_all:>7.1f}%")
    ratios.append(o["latency_ms"]["median"] / s["latency_ms"]["median"])
print()
print("speed-up of sparq over ONNX Runtime (ORT median / sparq median): " +
      ", ".join(f"{x:.3f}x" for x in ratios) + (f"; median {statistics.median(ratios):.3f}x" if len(ratios) > 1 else ""))
if json_out:
    json.dump({"model": model, "batch": batch, "seq": seq, "threads": threads, "peak": peak, "gflop_per_inference": flops / 1e9,
               "rounds": [{"sparq": s, "onnxruntime": o, "speedup": o["latency_ms"]["median"] / s["latency_ms"]["median"]} for s, o in rows],
               "speedup_median": statistics.median(ratios)}, open(json_out, "w"), indent=2)
PY
