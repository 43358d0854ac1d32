#!/usr/bin/env python3
"""sparq's sparse kernels on pruned BERT-base models against ONNX Runtime fp32, one table.

    bench/sparse_table.py [--sparsities 0,0.5,0.7,0.8,0.9,0.95] [--patterns unstructured,block4]
                          [--shapes 1x16,1x128,1x384,8x128] [--threads 2] [--time 2] [--rounds 3]
                          [--turns 10] [--int8-attention] [--json FILE]

For every sparsity x pattern, ../shared/tools/bert_ref.py makes the model (cached beside
compare.py's); then for every batch x seq shape these run back to back, --rounds times (the
order reversed every other round, so that a drifting host favours none): ONNX Runtime fp32
(model.onnx) for --time seconds, then for fp32 and for INT8 (--int8: weights rounded at load,
dynamic activations; with --int8-attention attention's two products run in INT8 too) one
`sparq bench --compare dense,sparse` process that measures sparq's dense kernels (--sparse off)
and its automatic choice (--sparse auto) in --turns alternating turns, --time seconds each in
all. The table gives each variant's median over the rounds' medians and its speed-up over ONNX
Runtime fp32 (the median of the per-round ratios); auto / dense for each dtype is the median
over the rounds of the in-process ratio (itself the median of its turns' ratios, so a host that
slows for a second slows both alike), with the lowest round's in brackets; and how many encoder
layers auto runs sparse (fp32, int8). Where auto runs no layer sparse it runs exactly the dense
kernels, so it is not measured again: its cell repeats dense's and its ratio reads "same". A
developer tool: CI never runs it.
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

VARIANTS = ["ort", "fp32 dense", "fp32 auto", "int8 dense", "int8 auto"]


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
    p.add_argument("--turns", type=int, default=10, help="turns of dense and auto within one sparq process")
    p.add_argument("--models", default=os.environ.get("SPARQ_BENCH_MODELS", os.path.expanduser("~/.cache/sparq-bench")))
    p.add_argument("--int8-attention", action="store_true",
                   help="INT8 variants also run attention's products in INT8")
    p.add_argument("--json")
    args = p.parse_args()
    attention = ["--int8-attention"] if args.int8_attention else []
    dtype_flags = {"fp32": [], "int8": ["--int8"] + attention}
    if not os.access(compare.SPARQ, os.X_OK):
        sys.exit("sparse_table.py: build first (make build)")
    compare.ensure_peers()
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    rows = []
    header = (f"{'sparsity':>8} {'pattern':<12} {'batch x seq':>11} {'ORT ms':>8} "
              f"{'fp32 dense':>16} {'fp32 auto':>16} {'int8 dense':>16} {'int8 auto':>16} {'auto/dense (lowest)':>23} "
              f"{'auto sparse':>11}")
    print(f"BERT-base, {args.threads} threads, {args.rounds} rounds of {args.time:g} s per variant "
          f"(sparq's dense and auto in {args.turns} turns in one process); 'ms (x ORT)'; auto/dense: fp32, int8"
          + ("; INT8 attention" if args.int8_attention else ""))
    print(header)
    for sparsity in [float(s) for s in args.sparsities.split(",")]:
        for pattern in args.patterns.split(","):
            if sparsity == 0 and pattern != args.patterns.split(",")[0]:
                continue  # one dense model
            margs = argparse.Namespace(arch="base", sparsity=sparsity, pattern=pattern, models=args.models)
            path = compare.model_dir(margs, onnx_int8=False)
            # the layers auto runs sparse; where none, auto and dense run the same kernels
            chosen = {dtype: sparse_layers(path, flags) for dtype, flags in dtype_flags.items()}
            for batch, seq in shapes:
                common = ["--batch", str(batch), "--seq", str(seq), "--threads", str(args.threads), "--json"]
                # auto with no sparse layer runs dense's kernels: measured once, as dense
                same = {dtype: chosen[dtype][0] == 0 for dtype in ("fp32", "int8")}
                rounds = {name: [] for name in VARIANTS}
                in_process = {dtype: [] for dtype in ("fp32", "int8")}  # dense / auto per round
                steps = ["ort", "fp32", "int8"]
                for r in range(args.rounds):
                    for step in (steps if r % 2 == 0 else steps[::-1]):
                        compare.log(f"{sparsity:.0%} {pattern} {batch}x{seq} round {r + 1}/{args.rounds}: {step}")
                        if step == "ort":
                            cmd = ["node", os.path.join(compare.SHARED, "tools", "ort_bench.js"), "--model",
                                   os.path.join(path, "model.onnx"), "--time", str(args.time)] + common
                            rounds["ort"].append(compare.run_json(cmd)["latency_ms"]["median"])
                            continue
                        cmd = [compare.SPARQ, "bench", "--model", path] + dtype_flags[step] + common
                        if same[step]:
                            out = compare.run_json(cmd + ["--sparse", "off", "--time", str(args.time)])
                            rounds[f"{step} dense"].append(out["latency_ms"]["median"])
                            continue
                        out = compare.run_json(cmd + ["--compare", f"{step}-dense,{step}-sparse",
                                                      "--rounds", str(args.turns), "--time", str(args.time)])
                        dense, auto = out["results"]
                        rounds[f"{step} dense"].append(dense["latency_ms"]["median"])
                        rounds[f"{step} auto"].append(auto["latency_ms"]["median"])
                        in_process[step].append(auto["speedup"])
                for dtype in ("fp32", "int8"):
                    if same[dtype]:
                        rounds[f"{dtype} auto"] = rounds[f"{dtype} dense"]
                times = {name: statistics.median(t) for name, t in rounds.items()}
                speedups = {n: statistics.median(o / x for o, x in zip(rounds["ort"], rounds[n])) for n in VARIANTS[1:]}
                auto_vs_dense = {d: None if same[d] else (statistics.median(in_process[d]), min(in_process[d]))
                                 for d in ("fp32", "int8")}
                cells = " ".join(f"{times[n]:>8.2f} ({speedups[n]:>4.1f}x)" for n in VARIANTS[1:])
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
        json.dump({"threads": args.threads, "time": args.time, "rounds": args.rounds, "turns": args.turns,
                   "int8_attention": args.int8_attention, "rows": rows},
                  open(args.json, "w"), indent=2)


if __name__ == "__main__":
    main()
