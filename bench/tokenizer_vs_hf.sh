#!/usr/bin/env bash
# sparq's tokenizer against Hugging Face tokenizers (Node binding, ../shared/tools/tok_bench.js) on
# the same texts in the same run, and the share tokenization + post-processing take of an
# end-to-end text classification on a BERT-base-shaped model at seq 128, batch 1.
#
#   bench/tokenizer_vs_hf.sh [--input FILE] [--column N] [--threads T] [--rounds R] [--models DIR]
#
# Default input: SST-2 dev sentences (column 0, header skipped). The BERT-base model comes from
# ../shared/tools/bert_ref.py (cached like compare.py). A developer tool: CI never runs it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${SPARQ_SHARED:-$root/../shared}
input=$shared/data/sst2/dev.tsv column=0 threads=2 rounds=5
models=${SPARQ_BENCH_MODELS:-$HOME/.cache/sparq-bench}
while [ $# -gt 0 ]; do
  case "$1" in
    --input) input=$2; shift 2 ;;
    --column) column=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tokenizer_vs_hf.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
bench=$root/build/bench/tokenizer_bench
[ -x "$bench" ] || { echo "tokenizer_vs_hf.sh: build first (make build)" >&2; exit 1; }
[ -d "${SPARQ_PEERS_DIR:-$HOME/.cache/sparq-peers}/node_modules/tokenizers" ] || "$shared/tools/setup-peers.sh"
model=$models/bert-base
if [ ! -f "$model/model.safetensors" ]; then
  mkdir -p "$models"
  /usr/bin/python3 "$shared/tools/bert_ref.py" make base "$model" --onnx >&2
fi
tokenizer=$shared/models/tokenizers/bert-base-uncased
skip=--skip-header
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bench" bulk --tokenizer "$tokenizer" --input "$input" --column "$column" $skip --rounds "$rounds" --threads "$threads" --json > "$tmp/sparq.json"
RAYON_NUM_THREADS=$threads node "$shared/tools/tok_bench.js" --tokenizer "$tokenizer" --input "$input" --column "$column" \
  $skip --rounds "$rounds" --batch-threads "$threads" --json > "$tmp/hf.json"
"$bench" overhead --model "$model" --threads "$threads" --json > "$tmp/overhead.json"
/usr/bin/python3 - "$tmp" "$input" "$threads" <<'PY'
import json, sys
tmp, inp, threads = sys.argv[1], sys.argv[2], sys.argv[3]
s = json.load(open(f"{tmp}/sparq.json")); h = json.load(open(f"{tmp}/hf.json")); o = json.load(open(f"{tmp}/overhead.json"))
print(f"input {inp}: {s['texts']} texts; tokens: sparq {s['tokens']}, Hugging Face {h['tokens']}")
print()
print(f"{'tokenizer':<40} {'seconds':>9} {'tokens/s':>12} {'vs HF':>7}")
rows = [("sparq, 1 thread", s["one_thread"]), (f"sparq, {s['threads']} threads", s["all_threads"])]
hf_rows = [("HF tokenizers encode (1 in flight)", h["encode"]), (f"HF tokenizers encodeBatch ({threads} threads)", h["encode_batch"])]
for (name, r), (_, ref) in zip(rows, hf_rows):
    print(f"{name:<40} {r['seconds']:>9.4f} {r['tokens_per_s']:>12,.0f} {r['tokens_per_s'] / ref['tokens_per_s']:>6.1f}x")
for name, r in hf_rows:
    print(f"{name:<40} {r['seconds']:>9.4f} {r['tokens_per_s']:>12,.0f}")
print()
print(f"BERT-base text classification, {o['tokens']} tokens, batch 1: end to end {o['end_to_end_ms']:.2f} ms, "
      f"tokenization + post-processing {o['tokenize_and_postprocess_ms']:.3f} ms = {100 * o['share']:.2f}% of it")
PY
