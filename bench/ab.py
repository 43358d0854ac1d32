#!/usr/bin/env python3
"""Two sparq builds (or two sets of bench flags) on the same model, alternating, round by round.

    bench/ab.py A B [--rounds 10] [--time 1] -- BENCH FLAGS            # two binaries, same flags
    bench/ab.py A --rounds 10 -- FLAGS OF VARIANT A -- FLAGS OF VARIANT B  # one binary, two flag sets

Each round runs `sparq bench --json --time T` once for each side (in alternating order), so the
two see the same phases of a noisy host; prints each round's medians and ratio a/b, then the
median of the per-round ratios and their range. A developer tool for A/B-testing a change (build
the old commit in its own tree, e.g. with `git worktree add`); CI never runs it.
"""
import argparse
import json
import statistics
import subprocess
import sys


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit(__doc__)
    cut = argv.index("--")
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("a", help="sparq binary")
    p.add_argument("b", nargs="?", help="second sparq binary (else the flags after a second --)")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--time", default="1", help="seconds per bench run")
    p.add_argument("--stat", choices=["median", "min"], default="median",
                   help="latency statistic compared (min: less sensitive to a busy host's bursts)")
    args = p.parse_args(argv[:cut])
    rest = argv[cut + 1:]
    if args.b:
        sides = [(args.a, rest), (args.b, rest)]
    else:
        if "--" not in rest:
            sys.exit("ab.py: with one binary, give two flag sets separated by --")
        cut2 = rest.index("--")
        sides = [(args.a, rest[:cut2]), (args.a, rest[cut2 + 1:])]
    medians = [[], []]
    for r in range(args.rounds):
        for side in (0, 1) if r % 2 == 0 else (1, 0):
            binary, flags = sides[side]
            out = subprocess.run([binary, "bench", "--json", "--time", args.time] + flags,
                                 capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"ab.py: {binary} bench failed: {out.stderr.strip()}")
            medians[side].append(json.loads(out.stdout)["latency_ms"][args.stat])
        print(f"round {r}: a {medians[0][-1]:.2f} ms, b {medians[1][-1]:.2f} ms, "
              f"a/b {medians[0][-1] / medians[1][-1]:.3f}", flush=True)
    ratios = sorted(a / b for a, b in zip(*medians))
    print(f"{args.stat} latency, median over rounds: a {statistics.median(medians[0]):.2f} ms, b {statistics.median(medians[1]):.2f} ms; "
          f"a/b per round {ratios[0]:.3f}..{ratios[-1]:.3f}, median {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
