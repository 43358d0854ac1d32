#!/usr/bin/env python3
"""sparq's sparse kernels on pruned BERT-base models against ONNX Runtime fp32, one table.

    bench/sparse_table.py [--sparsities 0,0.5,0.7,0.8,0.9,0.95] [--patterns unstructured,block4]
                          [--shapes 1x16,1x128,1x384,8x128] [--threads 2] [--time 2] [--rounds 3]
                          [--int8-attention] [--json FILE]

For every sparsity x pattern, ../shared/tools/bert_ref.py makes the model (cached beside
compare.py's); then for every batch x seq shape these run back to back, each for --time seconds,
--rounds times (the order reversed every other round, so that a drifting host favours none):
ONNX Runtime fp32 (model.onnx), sparq fp32 with dense kernels (--sparse off) and with its
automatic choice (--sparse auto), and the same two with INT8 (--int8: weights rounded at load,
dynamic activations; with --int8-attention attention's two products run in INT8 too). The table
gives each variant's median over the rounds' medians, its speed-up over ONNX Runtime fp32 (the
median of the per-round ratios), auto / dense for each dtype as the median of the per-round
ratios with the lowest round's in brackets, and how many encoder layers auto runs sparse (fp32,
int8). Where auto runs no layer sparse it runs exactly the dense kernels, so it is not measured
again: its cell repeats dense's and its ratio reads "same". A developer tool: CI never runs it.
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

VARIANTS = [("ort", []), ("fp32 dense", ["--sparse", "off"]), ("fp32 auto", ["--sparse", "auto"]),
            ("int8 dense", ["--int8", "--sparse", "off"]), ("int8 auto", ["--int8", "--sparse", "auto"])]


def sparse_layers(path, flags):
    """(encoder Linear layers the automatic choice runs sparse, all encoder Linear layers)"""
    info = compare.run_json([compare.SPARQ, "inspect", "--model", path, "--json"] + flags)
    encoder = [l for l in info["linears"] if l["name"].startswith("encoder.")]
    return sum(l["format"] == "sparse" for l in encoder), len(encoder)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sparsities", default="0,0.5,0.7,0.8,0.9,0.95")
    p.add_argument("--patterns", default="unstructured,block4")
    p.add_argument("--shapes", default="1x16,1x128,1x384,8x128")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--time", type=float, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--models", default=os.environ.get("SPARQ_BENCH_MODELS", os.path.expanduser("~/.cache/sparq-bench")))
    p.add_argument("--int8-attention", action="store_true",
                   help="INT8 variants also run attention's products in INT8")
    p.add_argument("--json")
    args = p.parse_args()
    attention = ["--int8-attention"] if args.int8_attention else []
    variants = [(name, flags + attention if name.startswith("int8") else flags) for name, flags in VARIANTS]
    if not os.access(compare.SPARQ, os.X_OK):
        sys.exit("sparse_table.py: build first (make build)")
    compare.ensure_peers()
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    rows = []
    header = (f"{'sparsity':>8} {'pattern':<12} {'batch x seq':>11} {'ORT ms':>8} "
              f"{'fp32 dense':>16} {'fp32 auto':>16} {'int8 dense':>16} {'int8 auto':>16} {'auto/dense (lowest)':>23} "
              f"{'auto sparse':>11}")
    print(f"BERT-base, {args.threads} threads, {args.rounds} rounds of {args.time:g} s per variant; 'ms (x ORT)'; "
          "auto/dense: fp32, int8"
          + ("; INT8 attention" if args.int8_attention else ""))
    print(header)
    for sparsity in [float(s) for s in args.sparsities.split(",")]:
        for pattern in args.patterns.split(","):
            if sparsity == 0 and pattern != args.patterns.split(",")[0]:
                continue  # one dense model
            margs = argparse.Namespace(arch="base", sparsity=sparsity, pattern=pattern, models=args.models)
            path = compare.model_dir(margs, onnx_int8=False)
            # the layers auto runs sparse; where none, auto and dense run the same kernels
            chosen = {dtype: sparse_layers(path, flags) for dtype, flags in (("fp32", []), ("int8", ["--int8"]))}
            for batch, seq in shapes:
                common = ["--batch", str(batch), "--seq", str(seq), "--threads", str(args.threads), "--time",
                          str(args.time), "--json"]
                # auto with no sparse layer runs dense's kernels: measured once, as dense
                same = {dtype: chosen[dtype][0] == 0 for dtype in ("fp32", "int8")}
                measured = [(n, f) for n, f in variants if not (n.endswith("auto") and same[n.split()[0]])]
                rounds = {name: [] for name, _ in measured}
                for r in range(args.rounds):
                    for name, flags in (measured if r % 2 == 0 else measured[::-1]):
                        compare.log(f"{sparsity:.0%} {pattern} {batch}x{seq} round {r + 1}/{args.rounds}: {name}")
                        if name == "ort":
                            cmd = ["node", os.path.join(compare.SHARED, "tools", "ort_bench.js"), "--model",
                                   os.path.join(path, "model.onnx")] + common
                        else:
                            cmd = [compare.SPARQ, "bench", "--model", path] + flags + common
                        rounds[name].append(compare.run_json(cmd)["latency_ms"]["median"])
                for dtype in ("fp32", "int8"):
                    if same[dtype]:
                        rounds[f"{dtype} auto"] = rounds[f"{dtype} dense"]
                times = {name: statistics.median(t) for name, t in rounds.items()}

                def per_round(a, b):  # median and lowest of a / b over the rounds
                    ratios = [x / y for x, y in zip(rounds[a], rounds[b])]
                    return statistics.median(ratios), min(ratios)

                speedups = {n: per_round("ort", n)[0] for n, _ in VARIANTS[1:]}
                auto_vs_dense = {d: None if same[d] else per_round(f"{d} dense", f"{d} auto") for d in ("fp32", "int8")}
                cells = " ".join(f"{times[n]:>8.2f} ({speedups[n]:>4.1f}x)" for n, _ in VARIANTS[1:])
                ratio = ", ".join("same" if auto_vs_dense[d] is None else f"{auto_vs_dense[d][0]:.2f} ({auto_vs_dense[d][1]:.2f})"
                                  for d in ("fp32", "int8"))
                label = "-" if sparsity == 0 else pattern
                layers = f"{chosen['fp32'][0]}/{chosen['fp32'][1]}, {chosen['int8'][0]}/{chosen['int8'][1]}"
                print(f"{sparsity:>7.0%} {label:<12} {f'{batch}x{seq}':>11} {times['ort']:>8.2f} {cells} {ratio:>23} "
                      f"{layers:>11}", flush=True)
                rows.append({"sparsity": sparsity, "pattern": pattern, "batch": batch, "seq": seq,
                             "median_ms": times, "round_ms": rounds, "auto_sparse_layers": chosen,
                             "speedup_vs_ort_fp32": speedups,
                             "auto_vs_dense": {d: None if v is None else {"median": v[0], "lowest": v[1]}
                                               for d, v in auto_vs_dense.items()}})
    if args.json:
        json.dump({"threads": args.threads, "time": args.time, "rounds": args.rounds, "int8_attention": args.int8_attention, "rows": rows},
                  open(args.json, "w"), indent=2)


if __name__ == "__main__":
    main()
