"""
How fast large random connectivity is built on the host (issue: 100k neurons with 1,000
synapses each "in seconds, not minutes").

Times the Projection constructor (connectivity, weights, delays, checks) and the first
run() (graph, compressed rows, code generation, compilation, 1 ms of simulation) for
native-RNG connectors, and prints peak memory.

    python benchmarks/connectivity_build.py --n 100000 --k 1000
"""

import argparse
import resource
import time

import pynn_gpu as sim
from pynn_gpu.native_connectivity import NativeRNG


def measure(n, k, connector_name, target):
    sim.setup(timestep=0.1, target=target)
    cells = sim.Population(n, sim.IF_curr_exp(), label="cells")
    rng = NativeRNG(seed=1)
    connector = {
        "FixedNumberPre": lambda: sim.FixedNumberPreConnector(k, rng=rng),
        "FixedNumberPost": lambda: sim.FixedNumberPostConnector(k, rng=rng),
        "FixedProbability": lambda: sim.FixedProbabilityConnector(k / n, rng=rng),
        "FixedTotalNumber": lambda: sim.FixedTotalNumberConnector(n * k, rng=rng),
        "AllToAll": lambda: sim.AllToAllConnector(),     # n x n synapses: k is ignored
    }[connector_name]()
    t0 = time.perf_counter()
    projection = sim.Projection(cells, cells, connector,
                                sim.StaticSynapse(weight=0.01, delay=1.5))
    t1 = time.perf_counter()
    sim.run(1.0)
    t2 = time.perf_counter()
    n_synapses = len(projection)
    sim.end()
    return n_synapses, t1 - t0, t2 - t1


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--target", default="cpu")
    parser.add_argument("--connectors", nargs="*",
                        default=["FixedNumberPre", "FixedNumberPost", "FixedProbability",
                                 "FixedTotalNumber"])
    args = parser.parse_args()
    print(f"{'connector':18s} {'neurons':>8s} {'synapses':>12s} {'connect s':>10s} "
          f"{'first run s':>12s}")
    for name in args.connectors:
        n_syn, connect_s, run_s = measure(args.n, args.k, name, args.target)
        print(f"{name:18s} {args.n:8d} {n_syn:12d} {connect_s:10.2f} {run_s:12.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(f"peak resident memory: {peak:.1f} GiB")


if __name__ == "__main__":
    main()
