"""
Demo: the Vogels-Abbott balanced network (Brette et al. 2007, benchmarks 1 and 2):
4000 integrate-and-fire neurons (80 % excitatory), 2 % connectivity, delay 0.2 ms,
driven by 20 Poisson sources (100 Hz) for the first 50 ms, 1 s simulated on the
default target. COBA uses conductance-based synapses, CUBA current-based ones.

    python -m pynn_gpu.demo [--model COBA|CUBA] [--target auto|cpu|cuda] [--duration MS]
"""

import argparse
import time

from pyNN.random import NumpyRNG, RandomDistribution

import pynn_gpu as sim
from pynn_gpu.procedural import synapse_count

MODELS = {
    # v_rest (mV), excitatory and inhibitory weights (uS for COBA, nA for CUBA), cell type
    "COBA": dict(v_rest=-60.0, w_exc=0.004, w_inh=0.051, celltype="IF_cond_exp",
                 extra=dict(e_rev_E=0.0, e_rev_I=-80.0)),
    "CUBA": dict(v_rest=-49.0, w_exc=0.27e-3 * 60.0, w_inh=-4.5e-3 * 20.0,
                 celltype="IF_curr_exp", extra={}),
}


def vogels_abbott(model="COBA", n=4000, seed=98765, native_rng=False, connectivity="auto",
                  propagation="auto"):
    """Build the network in the current simulation; return (excitatory, inhibitory).
    native_rng: draw connectivity with pyNN.gpu's NativeRNG (fast, O(synapses)) instead of a
    seeded NumpyRNG (PyNN's own realisation, which scans all n^2 pairs). connectivity,
    propagation: the recurrent projections' Projection.connectivity_format and .propagation."""
    p = MODELS[model]
    celltype = getattr(sim, p["celltype"])(
        tau_m=20.0, cm=0.2, v_rest=p["v_rest"], v_reset=-60.0, v_thresh=-50.0,
        tau_refrac=5.0, tau_syn_E=5.0, tau_syn_I=10.0, **p["extra"])
    n_exc = int(round(n * 0.8))
    exc = sim.Population(n_exc, celltype, label="excitatory")
    inh = sim.Population(n - n_exc, celltype, label="inhibitory")
    rng = sim.NativeRNG(seed=seed) if native_rng else NumpyRNG(seed=seed)
    for population in (exc, inh):
        population.initialize(v=RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng))
    stimulus = sim.Population(20, sim.SpikeSourcePoisson(rate=100.0, duration=50.0),
                              label="stimulus")
    exc_syn = sim.StaticSynapse(weight=p["w_exc"], delay=0.2)
    inh_syn = sim.StaticSynapse(weight=p["w_inh"], delay=0.2)
    # an rng per projection: PyNN draws a projection's connections from a copy of its rng
    # (a NativeRNG gives each projection its own stream by itself), so one seeded NumpyRNG
    # shared by all four would wire them from the same numbers
    connection_rngs = iter([rng] * 6 if native_rng else
                           [NumpyRNG(seed=seed + k) for k in range(1, 7)])
    for post in (exc, inh):
        for pre, synapse, receptor in ((exc, exc_syn, "excitatory"),
                                       (inh, inh_syn, "inhibitory")):
            # the mean in-degree of the 4000-neuron network is kept when n changes
            projection = sim.Projection(pre, post, sim.FixedProbabilityConnector(
                0.02 * 4000 / n, rng=next(connection_rngs)), synapse, receptor_type=receptor,
                connectivity_format=connectivity)
            if not projection.is_procedural:
                projection.propagation = propagation
        sim.Projection(stimulus, post, sim.FixedProbabilityConnector(
            0.01, rng=next(connection_rngs)), sim.StaticSynapse(weight=0.1),
            receptor_type="excitatory")
    return exc, inh


def total_synapses(projections):
    """Synapses of the projections: of all processes in a run over several (each holds
    those onto its own cells), the expected number for procedural ones (the same in every
    process)."""
    state = sim.simulator.state
    stored = sum(synapse_count(p) for p in projections if not p.is_procedural)
    if state.num_processes > 1:
        stored = state.mpi_comm.allreduce(stored)
    return int(stored + sum(synapse_count(p) for p in projections if p.is_procedural))


def build_and_run(model="COBA", target=None, duration=1000.0, n=4000, threads=0,
                  precision="double", record_v=True, native_rng=False, connectivity="auto",
                  propagation="auto"):
    """Set up, build, run; return timings (s) and rates (Hz)."""
    sim.setup(timestep=0.1, min_delay=0.2, max_delay=1.0, target=target, threads=threads,
              precision=precision)
    t_start = time.perf_counter()
    exc, inh = vogels_abbott(model, n, native_rng=native_rng, connectivity=connectivity,
                             propagation=propagation)
    exc.record("spikes")
    inh.record("spikes")
    if record_v:
        exc[0:2].record("v")
    t_built = time.perf_counter()
    sim.run(0.1)        # the first run generates and compiles the code
    t_compiled = time.perf_counter()
    device_before = sim.simulator.state.engine.timings["run"]
    sim.run(duration - 0.1)
    t_done = time.perf_counter()
    device_s = sim.simulator.state.engine.timings["run"] - device_before
    rates = [p.mean_spike_count() * 1000.0 / duration for p in (exc, inh)]
    state = sim.simulator.state
    engine = state.engine
    synapses = total_synapses(state.projections)
    result = {
        "model": model, "target": state.target.name, "neurons": n,
        "processes": state.num_processes, "threads": state.threads,
        "synapses": synapses,
        "precision": precision, "propagation": propagation,
        "construction_s": round(t_built - t_start, 3),
        "build_s": round(t_compiled - t_built, 3),
        "codegen_s": round(engine.timings["codegen"], 3),
        "compile_s": round(engine.timings["compile"], 3),
        "simulation_s": round(t_done - t_compiled, 3),
        "realtime_factor": round((t_done - t_compiled) / (duration / 1000.0), 3),
        # the target's own time: the steps, without fetching and decoding the recordings
        "device_realtime_factor": round(device_s / (duration / 1000.0), 3),
        "rate_exc_hz": round(rates[0], 2), "rate_inh_hz": round(rates[1], 2),
    }
    if engine.exchange is not None:     # over several processes: the spike exchanges
        result["exchanges"] = engine.exchange.count
        result["exchange_s"] = round(engine.exchange.seconds, 3)
    sim.end()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--model", choices=sorted(MODELS), default="COBA")
    parser.add_argument("--target", default=None, help="auto, cpu or cuda")
    parser.add_argument("--duration", type=float, default=1000.0, help="simulated ms")
    args = parser.parse_args(argv)
    result = build_and_run(args.model, target=args.target, duration=args.duration)
    print(f"pyNN.gpu demo: Vogels-Abbott {result['model']} network on target {result['target']}")
    print(f"  {result['neurons']} neurons, {result['synapses']} synapses")
    print(f"  network construction : {result['construction_s']:.2f} s")
    print(f"  code generation + compilation : {result['build_s']:.2f} s")
    print(f"  simulation of {args.duration:g} ms : {result['simulation_s']:.2f} s")
    print(f"  excitatory rate      : {result['rate_exc_hz']:.2f} Hz")
    print(f"  inhibitory rate      : {result['rate_inh_hz']:.2f} Hz")


if __name__ == "__main__":
    main()
