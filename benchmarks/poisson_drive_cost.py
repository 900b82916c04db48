"""
What a PoissonDrive costs: 20,000 IF_curr_exp cells that never fire, each driven by its own
PoissonDrive (16 kHz in all: 1.6 events per cell and step), run for 1 s after 10 ms.
Run it on two commits to compare drive algorithms:

    python benchmarks/poisson_drive_cost.py [--cells N] [--rate HZ] [--target cpu|cuda]
"""

import argparse
import json
import time

import pynn_gpu as sim


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--cells", type=int, default=20000)
    parser.add_argument("--rate", type=float, default=16000.0)
    parser.add_argument("--target", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    sim.setup(timestep=0.1, target=args.target, threads=args.threads)
    try:
        cells = sim.Population(args.cells, sim.IF_curr_exp(v_thresh=1e6))
        sim.PoissonDrive(rate=args.rate, weight=0.001).inject_into(cells)
        sim.run(10.0)
        start = time.perf_counter()
        sim.run(1000.0)
        elapsed = time.perf_counter() - start
    finally:
        sim.end()
    print(json.dumps({"target": args.target, "cells": args.cells, "rate_hz": args.rate,
                      "threads": args.threads, "run_s": round(elapsed, 3)}))


if __name__ == "__main__":
    main()
