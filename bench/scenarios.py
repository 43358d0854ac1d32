#!/usr/bin/env python3
"""sparq's runtime scenarios (sync single stream, async multistream) for dense/sparse x fp32/INT8,
with ONNX Runtime fp32 on the same model in the same run.

    bench/scenarios.py [--sparsity 0.9 --pattern block4] [--batch 1] [--seq 128] [--threads 2]
                       [--time 10] [--models DIR] [--json FILE]

The model comes from ../shared/tools/bert_ref.py make base (cached like compare.py's). Variants,
one after the other, each for --time seconds: ONNX Runtime fp32 (ort_bench.js, sync), then
`sparq bench` with {fp32, int8 (--int8: dynamic activations)} x {dense (--sparse off), sparse
(--sparse auto)} x {--scenario sync, --scenario multistream (one single-threaded stream per
thread)}. The table gives median latency, throughput, and both as ratios to ONNX Runtime fp32.
A developer tool: CI never runs it.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

PRECISIONS = [("fp32", []), ("int8", ["--int8"])]
KERNELS = [("dense", ["--sparse", "off"]), ("sparse", ["--sparse", "auto"])]
SCENARIOS = ["sync", "multistream"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sparsity", type=float, default=0.9)
    p.add_argument("--pattern", default="block4")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--time", type=float, default=10)
    p.add_argument("--models", default=os.environ.get("SPARQ_BENCH_MODELS", os.path.expanduser("~/.cache/sparq-bench")))
    p.add_argument("--json")
    args = p.parse_args()
    if not os.access(compare.SPARQ, os.X_OK):
        sys.exit("scenarios.py: build first (make build)")
    compare.ensure_peers()
    path = compare.model_dir(argparse.Namespace(arch="base", sparsity=args.sparsity, pattern=args.pattern,
                                                models=args.models), onnx_int8=False)
    common = ["--batch", str(args.batch), "--seq", str(args.seq), "--threads", str(args.threads), "--time",
              str(args.time), "--json"]
    compare.log("ort fp32")
    ort = compare.run_json(["node", f"{compare.SHARED}/tools/ort_bench.js", "--model", f"{path}/model.onnx"] + common)
    rows = [("onnxruntime fp32", "sync", ort)]
    for precision, pflags in PRECISIONS:
        for kernels, kflags in KERNELS:
            for scenario in SCENARIOS:
                name = f"sparq {precision} {kernels}"
                compare.log(f"{name} {scenario}")
                rows.append((name, scenario, compare.run_json(
                    [compare.SPARQ, "bench", "--model", path, "--scenario", scenario] + pflags + kflags + common)))

    print(f"BERT-base {args.sparsity:.0%} {args.pattern}, batch {args.batch} x seq {args.seq}, {args.threads} threads, "
          f"{args.time:g} s per variant, one run")
    print(f"{'engine':<20} {'scenario':<12} {'streams':>7} {'median ms':>10} {'p90 ms':>8} {'seq/s':>8} "
          f"{'latency vs ORT':>15} {'seq/s vs ORT':>13}")
    ref_ms, ref_tput = ort["latency_ms"]["median"], ort["throughput_seq_per_s"]
    out = []
    for name, scenario, r in rows:
        median, tput = r["latency_ms"]["median"], r["throughput_seq_per_s"]
        streams = r.get("streams", 1)
        print(f"{name:<20} {scenario:<12} {streams:>7} {median:>10.3f} {r['latency_ms']['p90']:>8.3f} {tput:>8.2f} "
              f"{ref_ms / median:>14.2f}x {tput / ref_tput:>12.2f}x")
        out.append({"engine": name, "scenario": scenario, "streams": streams, "median_ms": median,
                    "throughput_seq_per_s": tput, "latency_speedup_vs_ort": ref_ms / median,
                    "throughput_vs_ort": tput / ref_tput, "raw": r})
    if args.json:
        json.dump({"model": path, "results": out}, open(args.json, "w"), indent=2)


if __name__ == "__main__":
    main()
