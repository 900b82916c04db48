"""
Cost versus size: the Vogels-Abbott COBA network from 4,000 to 1,000,000 neurons (mean
in-degree kept at the 4,000-neuron network's: 64 excitatory and 16 inhibitory synapses per
neuron, so 8e7 synapses at 1e6 neurons), one fresh process per size, connectivity from the
NativeRNG. Prints one JSON line per size and writes them to --out; `plot` draws the
real-time factor and the construction time against the size.

    python benchmarks/vogels_abbott_scaling.py run --target cuda --out results.jsonl
    python benchmarks/vogels_abbott_scaling.py plot results.jsonl figure.png
"""

import argparse
import json
import os
import subprocess
import sys

SIZES = [4000, 16000, 64000, 256000, 1000000]
HERE = os.path.dirname(os.path.abspath(__file__))


def run(args):
    lines = []
    for n in args.sizes:
        command = [sys.executable, os.path.join(HERE, "vogels_abbott.py"), "--model", args.model,
                   "--target", args.target, "--n", str(n), "--duration", str(args.duration),
                   "--native-rng", "--connectivity", args.connectivity,
                   "--propagation", args.propagation, "--json"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
        if result.returncode != 0:
            print(f"n={n} failed:\n{result.stderr[-2000:]}", file=sys.stderr)
            break
        line = json.loads(result.stdout.strip().splitlines()[-1])
        line["connectivity"] = args.connectivity
        print(json.dumps(line), flush=True)
        lines.append(line)
    if args.out:
        with open(args.out, "a") as f:
            for line in lines:
                f.write(json.dumps(line) + "\n")


def plot(args):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with open(args.results) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    def kind(r):
        return (r["target"], r.get("connectivity", "auto"), r["precision"],
                r.get("propagation", "auto"))

    for key in sorted({kind(r) for r in rows}):
        chosen = sorted((r for r in rows if kind(r) == key), key=lambda r: r["neurons"])
        label = " ".join(key)
        n = [r["neurons"] for r in chosen]
        left.loglog(n, [r["realtime_factor"] for r in chosen], "o-", label=label)
        right.loglog(n, [r["construction_s"] + r["build_s"] for r in chosen], "o-", label=label)
    left.set(xlabel="neurons", ylabel="wall s per simulated s", title="simulation")
    right.set(xlabel="neurons", ylabel="s", title="construction + build")
    for axes in (left, right):
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle("Vogels-Abbott COBA, in-degree 80, dt 0.1 ms, 1 s")
    figure.tight_layout()
    figure.savefig(args.figure, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run")
    runner.add_argument("--target", default="cpu")
    runner.add_argument("--model", default="COBA")
    runner.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    runner.add_argument("--duration", type=float, default=1000.0)
    runner.add_argument("--connectivity", default="ragged", choices=["ragged", "procedural"])
    runner.add_argument("--propagation", default="auto", choices=["auto", "pre", "post", "balanced"])
    runner.add_argument("--timeout", type=float, default=600.0)
    runner.add_argument("--out", default=None)
    plotter = commands.add_parser("plot")
    plotter.add_argument("results")
    plotter.add_argument("figure")
    args = parser.parse_args()
    run(args) if args.command == "run" else plot(args)


if __name__ == "__main__":
    main()
