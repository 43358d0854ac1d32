#!/usr/bin/env python3
"""sparq against ONNX Runtime on the same BERT model, shape and thread count, back to back.

    bench/compare.py [--arch base] [--seqs 128] [--batch 1] [--threads 2] [--time 10] [--rounds 1]
                     [--variants ort-fp32,sparq-fp32] [--sparsity S --pattern block4|unstructured]
                     [--models DIR] [--json FILE]

Variants:
  ort-fp32            ONNX Runtime on model.onnx (../shared/tools/ort_bench.js)
  ort-int8            ONNX Runtime on its dynamic-INT8 model.int8.onnx
  sparq-fp32          sparq bench on the model directory
  sparq-int8          sparq bench on the model quantized by `sparq quantize` (static activations,
                      calibrated on 100 SST-2 training sentences)
  sparq-int8-dynamic  sparq bench --int8 (weights rounded at load, dynamic activations)
  sparq-int8-attention  the same with --int8-attention (attention's two products in INT8 too)
  sparq-int8-static-attention  sparq-int8's model with --int8-attention

Models come from ../shared/tools/bert_ref.py make ARCH (with --onnx, --onnx-int8 and the sparsity
options) and are cached in --models (default ~/.cache/sparq-bench). Within a round every variant
runs once per sequence length, one after the other, each for --time seconds; the table gives
each variant's median latency, the speed-up over ONNX Runtime fp32 in the same round (ORT median
/ variant median; the median over the rounds, and under `rounds` the lowest and highest round)
and the compute rate against this machine's measured peak (fp32 or VNNI int8).
Needs Debian's python3-torch and the Node peers (../shared/tools/setup-peers.sh). A developer
tool: CI never runs it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.environ.get("SPARQ_SHARED", os.path.join(ROOT, "..", "shared"))
SPARQ = os.path.join(ROOT, "build", "sparq")
PEAK = os.path.join(ROOT, "build", "bench", "peak_flops")
VARIANTS = ["ort-fp32", "ort-int8", "sparq-fp32", "sparq-int8", "sparq-int8-dynamic",
            "sparq-int8-attention", "sparq-int8-static-attention"]
STATIC_INT8 = ("sparq-int8", "sparq-int8-static-attention")  # run the `sparq quantize` output


def log(message):
    print(message, file=sys.stderr, flush=True)


def run_json(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"compare.py: {' '.join(cmd)} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def ensure_peers():
    peers = os.environ.get("SPARQ_PEERS_DIR", os.path.expanduser("~/.cache/sparq-peers"))
    have_torch = subprocess.run(["/usr/bin/python3", "-c", "import torch, onnx"], capture_output=True).returncode == 0
    if not have_torch or not os.path.isdir(os.path.join(peers, "node_modules", "onnxruntime-node")):
        log("peers missing; running setup-peers.sh")
        subprocess.run([os.path.join(SHARED, "tools", "setup-peers.sh")], check=True)


def model_dir(args, onnx_int8=True):
    name = f"bert-{args.arch}"
    if args.sparsity:
        name += f"-s{int(round(args.sparsity * 100))}-{args.pattern}"
    path = os.path.join(args.models, name)
    if not os.path.exists(os.path.join(path, "model.onnx")) or (
            onnx_int8 and not os.path.exists(os.path.join(path, "model.int8.onnx"))):
        os.makedirs(args.models, exist_ok=True)
        cmd = ["/usr/bin/python3", os.path.join(SHARED, "tools", "bert_ref.py"), "make", args.arch, path, "--onnx"]
        if onnx_int8:
            cmd.append("--onnx-int8")
        if args.sparsity:
            cmd += ["--sparsity", str(args.sparsity), "--pattern", args.pattern]
        log(f"making {path}")
        subprocess.run(cmd, check=True, stdout=sys.stderr)
    return path


def quantized_dir(path, threads):
    out = path + "-int8"
    if not os.path.exists(os.path.join(out, "quantization.json")):
        log(f"quantizing {path} -> {out}")
        subprocess.run([SPARQ, "quantize", "--model", path, "--out", out, "--calib",
                        os.path.join(SHARED, "data", "sst2", "train.tsv"), "--samples", "100", "--threads",
                        str(threads)], check=True, stdout=sys.stderr)
    return out


def flops(config, batch, seq):
    h, i, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    tokens = batch * seq
    return layers * (2 * tokens * (4 * h * h + 2 * h * i) + 4 * tokens * seq * h)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", default="base")
    p.add_argument("--seqs", default="128")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--time", type=float, default=10)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--variants", default="ort-fp32,sparq-fp32")
    p.add_argument("--sparsity", type=float, default=0.0)
    p.add_argument("--pattern", default="block4", choices=["block4", "unstructured"])
    p.add_argument("--models", default=os.environ.get("SPARQ_BENCH_MODELS", os.path.expanduser("~/.cache/sparq-bench")))
    p.add_argument("--json")
    args = p.parse_args()
    variants = args.variants.split(",")
    for v in variants:
        if v not in VARIANTS:
            sys.exit(f"compare.py: unknown variant {v} ({', '.join(VARIANTS)})")
    if "ort-fp32" not in variants:
        variants.insert(0, "ort-fp32")  # the reference every ratio is against
    seqs = [int(s) for s in args.seqs.split(",")]
    for tool in (SPARQ, PEAK):
        if not os.access(tool, os.X_OK):
            sys.exit("compare.py: build first (make build)")
    ensure_peers()
    path = model_dir(args, onnx_int8="ort-int8" in variants)
    int8_path = quantized_dir(path, args.threads) if set(STATIC_INT8) & set(variants) else None
    config = json.load(open(os.path.join(path, "config.json")))
    peak = run_json([PEAK, "--threads", str(args.threads), "--json"])

    def command(variant, seq):
        common = ["--batch", str(args.batch), "--seq", str(seq), "--threads", str(args.threads), "--time",
                  str(args.time), "--json"]
        if variant.startswith("ort"):
            onnx = "model.onnx" if variant == "ort-fp32" else "model.int8.onnx"
            return ["node", os.path.join(SHARED, "tools", "ort_bench.js"), "--model", os.path.join(path, onnx)] + common
        directory = int8_path if variant in STATIC_INT8 else path
        load = {"sparq-int8-dynamic": ["--int8"], "sparq-int8-attention": ["--int8", "--int8-attention"],
                "sparq-int8-static-attention": ["--int8-attention"]}
        return [SPARQ, "bench", "--model", directory] + common + load.get(variant, [])

    results = {}  # (seq, variant) -> list of round results
    for r in range(args.rounds):
        for seq in seqs:
            for v in variants:
                log(f"round {r + 1}/{args.rounds}, seq {seq}: {v} ({args.time:g} s)")
                results.setdefault((seq, v), []).append(run_json(command(v, seq)))

    print(f"model {path}: {config['num_hidden_layers']} layers, hidden {config['hidden_size']}, intermediate "
          f"{config['intermediate_size']}" + (f", {args.sparsity:.0%} {args.pattern} sparsity" if args.sparsity else "")
          + f"; batch {args.batch}; {args.threads} threads; {args.rounds} round(s) of {args.time:g} s per variant")
    print(f"measured peak on {args.threads} threads: fp32 {peak['avx512_gflops_all_threads']:.0f} GFLOP/s, "
          f"int8 {peak['vnni_gops_all_threads']:.0f} GOP/s")
    print()
    print(f"{'seq':>4} {'variant':<27} {'median ms':>10} {'p90 ms':>8} {'seq/s':>8} {'vs ORT fp32':>12} {'G(FL)OP/s':>10} {'of peak':>8} {'rounds':>12}")
    summary = []
    for seq in seqs:
        work = flops(config, args.batch, seq)
        ref = [x["latency_ms"]["median"] for x in results[(seq, "ort-fp32")]]
        for v in variants:
            rows = results[(seq, v)]
            medians = [x["latency_ms"]["median"] for x in rows]
            ratios = [a / b for a, b in zip(ref, medians)]
            median = statistics.median(medians)
            rate = work / (median * 1e-3) / 1e9
            int8 = "int8" in v
            of_peak = rate / (peak["vnni_gops_all_threads"] if int8 and peak["vnni_gops_all_threads"] else peak["avx512_gflops_all_threads"])
            p90 = statistics.median(x["latency_ms"]["p90"] for x in rows)
            tput = statistics.median(x["throughput_seq_per_s"] for x in rows)
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if len(ratios) > 1 else ""
            print(f"{seq:>4} {v:<27} {median:>10.3f} {p90:>8.3f} {tput:>8.2f} {statistics.median(ratios):>11.2f}x "
                  f"{rate:>10.0f} {100 * of_peak:>7.1f}% {spread:>12}")
            summary.append({"seq": seq, "variant": v, "median_ms": median, "p90_ms": p90, "throughput_seq_per_s": tput,
                            "speedup_vs_ort_fp32": statistics.median(ratios), "speedup_per_round": ratios,
                            "rounds": rows})
        print()
    if args.json:
        json.dump({"model": path, "batch": args.batch, "threads": args.threads, "peak": peak, "results": summary},
                  open(args.json, "w"), indent=2)


if __name__ == "__main__":
    main()
