"""
What heterogeneous delays cost: one feed-forward network run side by side with every delay
equal and with delays drawn per synapse, so that the only difference is where in the ring
buffer each synaptic event lands.

N Poisson sources project onto N IF_curr_exp cells with a fixed probability (K synapses per
cell on average, stored rows, NativeRNG; the same source spikes in every variant, and
connections that differ only where drawn delays take numbers from the connector's stream).
Variants:
  * "constant-max": every delay is --max-delay (the same ring length as "heterogeneous");
  * "constant-min": every delay is one timestep (the shortest ring);
  * "heterogeneous": delays uniform in [timestep, --max-delay], a different slot per synapse.
Each variant is built, warmed up for 0.1 s, then timed for --duration, --repeats times in
turn with the others (the fastest run kept: the machines are shared); "ns per event" is the
timed run's wall time over its synaptic events (source spikes x out-degree), cell update
included, so variants are compared by their ratio to "constant-max".

    python benchmarks/delay_cost.py                                  # C target
    python benchmarks/delay_cost.py --target cuda --cells 100000 --in-degree 1000 --repeats 2
"""

import argparse
import json
import time

import pynn_gpu as sim

VARIANTS = ("constant-max", "constant-min", "heterogeneous")


def delay_of(variant, args):
    if variant == "constant-max":
        return args.max_delay
    if variant == "constant-min":
        return args.timestep
    return sim.RandomDistribution("uniform", (args.timestep, args.max_delay),
                                  rng=sim.NativeRNG(seed=3))


def run(args, variant):
    sim.setup(timestep=args.timestep, min_delay=args.timestep, max_delay=args.max_delay,
              target=args.target, precision=args.precision, rng_seed=1)
    try:
        sources = sim.Population(args.cells, sim.SpikeSourcePoisson(rate=args.rate))
        cells = sim.Population(args.cells, sim.IF_curr_exp())
        connector = sim.FixedProbabilityConnector(args.in_degree / args.cells,
                                                  rng=sim.NativeRNG(seed=2))
        projection = sim.Projection(sources, cells, connector,
                                    sim.StaticSynapse(weight=0.01, delay=delay_of(variant, args)),
                                    connectivity_format="ragged")
        projection.propagation = args.propagation
        sources.record("spikes")
        sim.run(100.0)
        start = time.perf_counter()
        sim.run(args.duration)
        elapsed = time.perf_counter() - start
        spikes = sum(len(t) for t in sources.get_data().segments[0].spiketrains)
        return {"synapses": len(projection), "source_spikes": int(spikes), "run_s": elapsed,
                "ring_length": sim.simulator.state.engine.graph.ring_length}
    finally:
        sim.end()


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--target", default="cpu")
    parser.add_argument("--precision", default="double")
    parser.add_argument("--propagation", default="auto")
    parser.add_argument("--cells", type=int, default=10000)
    parser.add_argument("--in-degree", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="source rate (Hz)")
    parser.add_argument("--timestep", type=float, default=0.1, help="ms")
    parser.add_argument("--max-delay", type=float, default=10.0, help="ms")
    parser.add_argument("--duration", type=float, default=1000.0, help="timed run (ms)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each variant")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    results = {}
    for _ in range(args.repeats):      # variants in turn, the fastest run of each kept
        for variant in VARIANTS:
            result = run(args, variant)
            if variant not in results or result["run_s"] < results[variant]["run_s"]:
                results[variant] = result
    spikes = {result["source_spikes"] for result in results.values()}
    assert len(spikes) == 1, "the sources do not depend on the delays"
    summary = {"target": args.target, "precision": args.precision,
               "propagation": args.propagation, "cells": args.cells,
               "source_spikes": spikes.pop(), "variants": {}}
    reference = results[VARIANTS[0]]["run_s"]
    for variant, result in results.items():
        # drawn delays take numbers from the connector's stream, so the connections differ
        # a little: the events are counted from each variant's mean out-degree
        events = summary["source_spikes"] * result["synapses"] / args.cells
        summary["variants"][variant] = {
            "synapses": result["synapses"], "ring_length": result["ring_length"],
            "run_s": round(result["run_s"], 3), "ratio": round(result["run_s"] / reference, 3),
            "ns_per_event": round(1e9 * result["run_s"] / max(events, 1), 2)}
    print(json.dumps(summary))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(summary, handle)


if __name__ == "__main__":
    main()
