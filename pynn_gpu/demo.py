"""
Demo: a Vogels-Abbott style balanced network (conductance-based, 4000 neurons, 2 %
connectivity), driven by Poisson input for 50 ms, simulated for 1 s on the default target.

    python -m pynn_gpu.demo [--target auto|cpu|cuda] [--duration MS]
"""

import argparse
import time

import pynn_gpu as sim
from pyNN.random import NumpyRNG, RandomDistribution


def build_and_run(target="auto", duration=1000.0, n=4000, seed=98765):
    sim.setup(timestep=0.1, min_delay=0.2, max_delay=1.0, target=target)
    t0 = time.perf_counter()
    cell = sim.IF_cond_exp(tau_m=20.0, tau_syn_E=5.0, tau_syn_I=10.0, v_rest=-60.0,
                           v_reset=-60.0, v_thresh=-50.0, cm=0.2, tau_refrac=5.0,
                           e_rev_E=0.0, e_rev_I=-80.0)
    n_exc = n * 4 // 5
    exc = sim.Population(n_exc, cell, label="excitatory")
    inh = sim.Population(n - n_exc, cell, label="inhibitory")
    rng = NumpyRNG(seed=seed)
    for population in (exc, inh):
        population.initialize(v=RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng))
    stimulus = sim.Population(20, sim.SpikeSourcePoisson(rate=100.0, duration=50.0))
    connector = sim.FixedProbabilityConnector(0.02, rng=rng)
    exc_syn = sim.StaticSynapse(weight=0.004, delay=0.2)
    inh_syn = sim.StaticSynapse(weight=0.051, delay=0.2)
    for post in (exc, inh):
        sim.Projection(exc, post, connector, exc_syn, receptor_type="excitatory")
        sim.Projection(inh, post, connector, inh_syn, receptor_type="inhibitory")
        sim.Projection(stimulus, post, sim.FixedProbabilityConnector(0.01, rng=rng),
                       sim.StaticSynapse(weight=0.1), receptor_type="excitatory")
    exc.record("spikes")
    inh.record("spikes")
    exc[0:2].record("v")
    t1 = time.perf_counter()
    sim.run(duration)
    t2 = time.perf_counter()
    rates = [p.mean_spike_count() * 1000.0 / duration for p in (exc, inh)]
    target_used = sim.simulator.state.target.name
    timings = sim.simulator.state.engine.timings
    sim.end()
    return {"target": target_used, "construction_s": t1 - t0, "run_s": t2 - t1,
            "compile_s": timings["compile"], "rate_exc_hz": rates[0], "rate_inh_hz": rates[1]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--target", default=None, help="auto, cpu or cuda")
    parser.add_argument("--duration", type=float, default=1000.0, help="simulated ms")
    args = parser.parse_args(argv)
    result = build_and_run(target=args.target, duration=args.duration)
    print(f"pyNN.gpu demo on target {result['target']}")
    print(f"  network construction : {result['construction_s']:.2f} s")
    print(f"  run (incl. build)    : {result['run_s']:.2f} s "
          f"(of which compilation {result['compile_s']:.2f} s)")
    print(f"  excitatory rate      : {result['rate_exc_hz']:.2f} Hz")
    print(f"  inhibitory rate      : {result['rate_inh_hz']:.2f} Hz")


if __name__ == "__main__":
    main()
