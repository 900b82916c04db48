"""
How busy the CUDA propagation kernel of the full-scale microcircuit is, from the plan
alone (no GPU, no network built): the planner's threads per step for the 64 projections
(rows of mean length K/N_pre, the longest taken 5 standard deviations above), and how many
of them have a spike to work on at given firing rates (a lane is busy when its group has
a spike for it: min(lanes, expected spikes per step)). With `--propagation balanced`, the
threads of the "balanced" kernels and the work items a step brings on average (a spike
brings its group's width, its longest row rounded up to a warp).

    python benchmarks/microcircuit_plan.py [--spike-lanes N] [--post-threads M]
    python benchmarks/microcircuit_plan.py --propagation balanced [--balanced-threads T]
"""

import argparse
import json
import os
import sys

import numpy as np

from pynn_gpu import planner
from pynn_gpu.ir.graph import NetworkGraph, NeuronGroup, SynapseGroup
from pynn_gpu.ir.merge import merge_synapse_groups
from pynn_gpu.standardmodels.cells import IF_curr_exp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from microcircuit import CONN_PROBS, N_FULL  # noqa: E402

# rates (Hz) measured at full scale (benchmarks/README.md), L2/3e ... L6i
RATES = np.array([1.09, 3.09, 4.39, 5.78, 6.99, 8.42, 0.86, 7.66])


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--spike-lanes", type=int, default=planner.SPIKE_LANES)
    parser.add_argument("--post-threads", type=int, default=planner.POST_THREADS)
    parser.add_argument("--propagation", choices=["auto", "balanced"], default="auto")
    parser.add_argument("--balanced-threads", type=int, default=planner.BALANCED_THREADS)
    args = parser.parse_args()
    planner.SPIKE_LANES, planner.POST_THREADS = args.spike_lanes, args.post_threads
    planner.BALANCED_THREADS = args.balanced_threads
    model = IF_curr_exp.model
    groups = [NeuronGroup(f"ng{i}", "", int(n), model, model.receptors, i)
              for i, n in enumerate(N_FULL)]
    graph = NetworkGraph(dt=0.1, precision="double", ring_length=20, neuron_groups=groups)
    pairs = np.outer(N_FULL, N_FULL).astype(float)
    totals = np.log(1.0 - CONN_PROBS) / np.log((pairs - 1.0) / pairs)   # [post, pre]
    for post in range(len(N_FULL)):
        for pre in range(len(N_FULL)):
            if int(totals[post, pre]) == 0:
                continue
            mean_row = totals[post, pre] / N_FULL[pre]
            graph.synapse_groups.append(SynapseGroup(
                f"sg{len(graph.synapse_groups)}", "", groups[pre], groups[post], "exc",
                int(totals[post, pre]), max_row=int(mean_row + 5 * np.sqrt(mean_row) + 1),
                strategy=args.propagation))
    plan = planner.plan_propagation(graph)
    spikes = N_FULL * RATES * 1e-4
    if args.propagation == "balanced":
        kernels = merge_synapse_groups(graph, plan)
        items = sum(spikes[int(g.pre.name[2:])] * plan[g.name].width
                    for g in graph.synapse_groups)
        threads = sum(m.total_threads for m in kernels)
        print(json.dumps({"propagation": "balanced", "balanced_threads": args.balanced_threads,
                          "groups": len(plan), "kernels": len(kernels), "threads": threads,
                          "warps": threads // 32,
                          "spikes_per_step": round(float(spikes.sum()), 1),
                          "items_per_step": int(items),
                          "items_per_thread": round(float(items / threads), 2)}))
        return
    threads = sum(p.threads for p in plan.values())
    busy = sum(min(plan[g.name].lanes, spikes[int(g.pre.name[2:])]) * plan[g.name].width
               for g in graph.synapse_groups)
    print(json.dumps({"spike_lanes": args.spike_lanes, "post_threads": args.post_threads,
                      "groups": len(plan), "threads": threads, "warps": threads // 32,
                      "spikes_per_step": round(float(spikes.sum()), 1),
                      "busy_fraction": round(float(busy / threads), 3)}))


if __name__ == "__main__":
    main()
