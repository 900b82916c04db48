"""
Vogels-Abbott benchmark networks (Brette et al. 2007, benchmarks 1 and 2) on pyNN.gpu,
built by pynn_gpu.demo.vogels_abbott: construction, build (codegen + compile) and
simulation time, real-time factor and rates, per target and size.

    python benchmarks/vogels_abbott.py --model COBA --target cpu
    python benchmarks/vogels_abbott.py --model CUBA --target cuda --n 100000
    mpiexec -n 2 python benchmarks/vogels_abbott.py --threads 1      # two processes
"""

import argparse
import json

import pynn_gpu as sim
from pynn_gpu.demo import MODELS, build_and_run


def main():
    parser = argparse.ArgumentParser(description="Vogels-Abbott benchmark on pyNN.gpu")
    parser.add_argument("--model", choices=sorted(MODELS), default="COBA")
    parser.add_argument("--target", default="cpu")
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=1000.0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--precision", default="double")
    parser.add_argument("--native-rng", action="store_true",
                        help="connectivity from NativeRNG (needed for large --n)")
    parser.add_argument("--connectivity", default="auto", choices=["auto", "ragged", "procedural"])
    parser.add_argument("--propagation", default="auto", choices=["auto", "pre", "post", "balanced"])
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    result = build_and_run(args.model, args.target, args.duration, args.n, args.threads,
                           args.precision, native_rng=args.native_rng,
                           connectivity=args.connectivity, propagation=args.propagation)
    if result["processes"] > 1 and sim.rank() != 0:
        return          # under mpiexec: process 0 reports
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:16s}: {value}")


if __name__ == "__main__":
    main()
