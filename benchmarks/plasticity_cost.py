"""
What plasticity costs: one recurrent network run twice side by side, with static synapses
and with STDP synapses whose amplitudes are 0 (so both runs fire alike, spike for spike, and
the difference is the cost of the rule: traces, weight updates, the postsynaptic-spike
kernel and, with a dendritic_delay_fraction below 1, the delivery kernel).

N IF_cond_exp cells, each driven by its own Poisson source, connected with a fixed
probability giving K synapses per cell on average (delay 1.5 ms); 0.1 s to build and warm
up, then the timed run.

    python benchmarks/plasticity_cost.py                       # C target, 5000 cells, K = 100
    python benchmarks/plasticity_cost.py --target cuda --cells 50000 --in-degree 1000
    python benchmarks/plasticity_cost.py --fraction 0          # axonal delays (delivery kernel)
"""

import argparse
import json
import time

import pynn_gpu as sim


def run(args, plastic):
    sim.setup(timestep=0.1, target=args.target, rng_seed=1, precision=args.precision)
    try:
        cells = sim.Population(args.cells, sim.IF_cond_exp(tau_refrac=2.0))
        noise = sim.Population(args.cells, sim.SpikeSourcePoisson(rate=30.0))
        sim.Projection(noise, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.05))
        weight = 0.02 / args.in_degree      # weak: the noise makes the cells fire
        if plastic:
            synapse = sim.STDPMechanism(sim.SpikePairRule(A_plus=0.0, A_minus=0.0),
                                        sim.AdditiveWeightDependence(w_max=1.0), weight=weight,
                                        delay=1.5, dendritic_delay_fraction=args.fraction)
        else:
            synapse = sim.StaticSynapse(weight=weight, delay=1.5)
        connector = sim.FixedProbabilityConnector(args.in_degree / args.cells,
                                                  rng=sim.NumpyRNG(seed=2))
        projection = sim.Projection(cells, cells, connector, synapse)
        cells.record("spikes")
        sim.run(100.0)
        start = time.perf_counter()
        sim.run(args.duration)
        elapsed = time.perf_counter() - start
        spikes = int(sum(len(t) for t in cells.get_data().segments[0].spiketrains))
        return {"synapses": len(projection), "run_s": elapsed, "spikes": spikes}
    finally:
        sim.end()


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--target", default="cpu")
    parser.add_argument("--precision", default="double")
    parser.add_argument("--cells", type=int, default=5000)
    parser.add_argument("--in-degree", type=int, default=100)
    parser.add_argument("--fraction", type=float, default=1.0,
                        help="dendritic_delay_fraction of the STDP synapses")
    parser.add_argument("--duration", type=float, default=1000.0, help="timed run (ms)")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    static, plastic = run(args, False), run(args, True)
    assert static["spikes"] == plastic["spikes"], "amplitudes 0: both runs fire alike"
    events = plastic["spikes"] * args.in_degree * 2          # presynaptic and postsynaptic
    result = {"target": args.target, "precision": args.precision, "cells": args.cells,
              "in_degree": args.in_degree, "fraction": args.fraction,
              "synapses": plastic["synapses"], "spikes": plastic["spikes"],
              "static_run_s": round(static["run_s"], 3), "stdp_run_s": round(plastic["run_s"], 3),
              "ratio": round(plastic["run_s"] / static["run_s"], 2),
              "ns_per_synapse_event": round(1e9 * (plastic["run_s"] - static["run_s"])
                                            / max(events, 1), 1)}
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle)


if __name__ == "__main__":
    main()
