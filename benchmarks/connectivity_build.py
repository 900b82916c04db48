"""
How fast large random connectivity is built on the host (issue: 100k neurons with 1,000
synapses each "in seconds, not minutes").

Times the Projection constructor (connectivity, weights, delays, checks) and the first
run() (graph, compressed rows, code generation, compilation, 1 ms of simulation) for
native-RNG connectors, and prints peak memory.

    python benchmarks/connectivity_build.py --n 100000 --k 1000

DistanceDependentProbability places the neurons on a 2:1 grid with unit spacing, on a torus
(periodic boundaries), and connects with probability exp(-d / L), L chosen so that the
expected in-degree, about 2 pi L^2, is k:

    python benchmarks/connectivity_build.py --n 20000 --k 1000 \
        --connectors DistanceDependentProbability

AllToAll and OneToOne (constant weight and delay, or with --native-values weights and delays
drawn from a NativeRNG) are generated projections too: nothing is built when they are
created; --format asks for a connectivity format instead of the planner's choice:

    python benchmarks/connectivity_build.py --n 10000 --connectors AllToAll OneToOne \
        --format bitmask

The "format" column is the one the network was built with, and "synapses" is counted by the
engine (expected for a procedural projection), so no synapse is generated on the host for
the report.
"""

import argparse
import math
import resource
import time

from pyNN.space import Grid2D, Space

import pynn_gpu as sim
from pynn_gpu.native_connectivity import NativeRNG


def measure(n, k, connector_name, target, fmt="auto", native_values=False):
    sim.setup(timestep=0.1, target=target)
    distance_dependent = connector_name == "DistanceDependentProbability"
    structure = Grid2D(aspect_ratio=2.0, dx=1.0, dy=1.0) if distance_dependent else None
    cells = sim.Population(n, sim.IF_curr_exp(), structure=structure, label="cells")
    rng = NativeRNG(seed=1)
    connector = {
        "FixedNumberPre": lambda: sim.FixedNumberPreConnector(k, rng=rng),
        "FixedNumberPost": lambda: sim.FixedNumberPostConnector(k, rng=rng),
        "FixedProbability": lambda: sim.FixedProbabilityConnector(k / n, rng=rng),
        "FixedTotalNumber": lambda: sim.FixedTotalNumberConnector(n * k, rng=rng),
        "AllToAll": lambda: sim.AllToAllConnector(),     # n x n synapses: k is ignored
        "OneToOne": lambda: sim.OneToOneConnector(),     # n synapses: k is ignored
        "DistanceDependentProbability": lambda: sim.DistanceDependentProbabilityConnector(
            f"exp(-d / {math.sqrt(k / (2 * math.pi)):.4f})", rng=rng),
    }[connector_name]()
    space = _torus(n) if distance_dependent else Space()
    if native_values:
        values = NativeRNG(seed=2)
        synapse = sim.StaticSynapse(
            weight=sim.RandomDistribution("uniform", low=0.005, high=0.015, rng=values),
            delay=sim.RandomDistribution("uniform", low=1.0, high=2.0, rng=values))
    else:
        synapse = sim.StaticSynapse(weight=0.01, delay=1.5)
    t0 = time.perf_counter()
    sim.Projection(cells, cells, connector, synapse, space=space, connectivity_format=fmt)
    t1 = time.perf_counter()
    sim.run(1.0)
    t2 = time.perf_counter()
    (row,) = sim.connectivity_report()
    sim.end()
    return row["synapses"], row["format"], t1 - t0, t2 - t1


def _torus(n):
    """The 2:1 grid of n neurons with periodic boundaries."""
    nx = math.sqrt(2.0 * n)
    return Space(axes="xy", periodic_boundaries=((0.0, round(nx)), (0.0, round(n / nx)), None))


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--target", default="cpu")
    parser.add_argument("--format", default="auto",
                        help="connectivity_format of the projection (default: the planner's)")
    parser.add_argument("--native-values", action="store_true",
                        help="weights and delays drawn from a NativeRNG, not constants")
    parser.add_argument("--connectors", nargs="*",
                        default=["FixedNumberPre", "FixedNumberPost", "FixedProbability",
                                 "FixedTotalNumber", "DistanceDependentProbability"])
    args = parser.parse_args()
    print(f"{'connector':28s} {'neurons':>8s} {'synapses':>12s} {'format':>10s} "
          f"{'connect s':>10s} {'first run s':>12s}")
    for name in args.connectors:
        n_syn, fmt, connect_s, run_s = measure(args.n, args.k, name, args.target,
                                               args.format, args.native_values)
        print(f"{name:28s} {args.n:8d} {n_syn:12d} {fmt:>10s} {connect_s:10.2f} "
              f"{run_s:12.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(f"peak resident memory: {peak:.1f} GiB")


if __name__ == "__main__":
    main()
