"""
Vogels-Abbott benchmark networks (Brette et al. 2007, benchmarks 1 and 2) on pyNN.gpu.

4000 integrate-and-fire neurons (80 % excitatory), 2 % connectivity, delay 0.2 ms,
driven by 20 Poisson sources (100 Hz) during the first 50 ms, 1 s simulated with
dt = 0.1 ms. COBA: conductance-based synapses (IF_cond_exp); CUBA: current-based
(IF_curr_exp). Prints construction, build (codegen + compile), simulation time and rates.

    python benchmarks/vogels_abbott.py --model COBA --target cpu
    python benchmarks/vogels_abbott.py --model CUBA --target cuda --n 100000
"""

import argparse
import json
import time

from pyNN.random import NumpyRNG, RandomDistribution

import pynn_gpu as sim

PARAMETERS = {
    "COBA": dict(v_rest=-60.0, w_exc=0.004, w_inh=0.051, celltype="IF_cond_exp",
                 extra=dict(e_rev_E=0.0, e_rev_I=-80.0)),
    "CUBA": dict(v_rest=-49.0, w_exc=0.27e-3 * 60.0, w_inh=-4.5e-3 * 20.0, celltype="IF_curr_exp",
                 extra={}),
}


def run(model="COBA", target="cpu", n=4000, duration=1000.0, threads=0, precision="double",
        seed=98765, record_v=True):
    p = PARAMETERS[model]
    sim.setup(timestep=0.1, min_delay=0.2, max_delay=1.0, target=target, threads=threads,
              precision=precision)
    t_start = time.perf_counter()
    celltype = getattr(sim, p["celltype"])(
        tau_m=20.0, cm=0.2, v_rest=p["v_rest"], v_reset=-60.0, v_thresh=-50.0,
        tau_refrac=5.0, tau_syn_E=5.0, tau_syn_I=10.0, **p["extra"])
    n_exc = int(round(n * 0.8))
    exc = sim.Population(n_exc, celltype, label="excitatory")
    inh = sim.Population(n - n_exc, celltype, label="inhibitory")
    rng = NumpyRNG(seed=seed)
    uniform = RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng)
    exc.initialize(v=uniform)
    inh.initialize(v=uniform)
    stimulus = sim.Population(20, sim.SpikeSourcePoisson(rate=100.0, duration=50.0))
    # keep the mean in-degree of the 4000-neuron network when n changes
    p_connect = 0.02 * 4000 / n
    connector = sim.FixedProbabilityConnector(p_connect, rng=rng)
    exc_syn = sim.StaticSynapse(weight=p["w_exc"], delay=0.2)
    inh_syn = sim.StaticSynapse(weight=p["w_inh"], delay=0.2)
    for post in (exc, inh):
        sim.Projection(exc, post, connector, exc_syn, receptor_type="excitatory")
        sim.Projection(inh, post, connector, inh_syn, receptor_type="inhibitory")
        sim.Projection(stimulus, post, sim.FixedProbabilityConnector(0.01, rng=rng),
                       sim.StaticSynapse(weight=0.1), receptor_type="excitatory")
    exc.record("spikes")
    inh.record("spikes")
    if record_v:
        exc[0:2].record("v")
    t_built = time.perf_counter()
    sim.run(0.1)        # first run: code generation and compilation
    t_compiled = time.perf_counter()
    sim.run(duration - 0.1)
    t_done = time.perf_counter()
    rates = [pop.mean_spike_count() * 1000.0 / duration for pop in (exc, inh)]
    n_synapses = sum(len(prj) for prj in sim.simulator.state.projections)
    target_name = sim.simulator.state.target.name
    sim.end()
    return {
        "model": model, "target": target_name, "neurons": n, "synapses": n_synapses,
        "precision": precision, "threads": threads,
        "construction_s": round(t_built - t_start, 3),
        "build_s": round(t_compiled - t_built, 3),
        "simulation_s": round(t_done - t_compiled, 3),
        "realtime_factor": round((t_done - t_compiled) / (duration / 1000.0), 3),
        "rate_exc_hz": round(rates[0], 2), "rate_inh_hz": round(rates[1], 2),
    }


def main():
    parser = argparse.ArgumentParser(description="Vogels-Abbott benchmark on pyNN.gpu")
    parser.add_argument("--model", choices=sorted(PARAMETERS), default="COBA")
    parser.add_argument("--target", default="cpu")
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=1000.0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--precision", default="double")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    result = run(args.model, args.target, args.n, args.duration, args.threads, args.precision)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:16s}: {value}")


if __name__ == "__main__":
    main()
