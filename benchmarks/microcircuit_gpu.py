"""
The Potjans & Diesmann (2014) cortical microcircuit at full scale, timed the way GPU
simulators report it: network construction, build (code generation + compilation), and the
real-time factor (wall-clock seconds per simulated second), with the spikes of every neuron
recorded.

Model as in benchmarks/microcircuit.py (77,169 IF_curr_exp neurons at --scale 1, about 3e8
synapses, dt 0.1 ms, normal weights and delays), with these choices for speed:
  * connectivity drawn with pyNN.gpu's NativeRNG (fast builders; statistics as PyNN's);
  * cortico-cortical input (--drive poisson, default) as a PoissonDrive per population:
    K_ext independent 8 Hz Poisson inputs per neuron, events of the excitatory weight into
    the excitatory receptor (what NEST's example does with one poisson_generator per
    population and GeNN's with a Poisson current source); --drive dc: the DC equivalent.

Timing: construction = setup() to the last Projection; build = the first run()'s code
generation and compilation (the engine's timers); the real-time factor is measured on a
second run() of --duration after a first one of --transient (which includes the build).

    python benchmarks/microcircuit_gpu.py --target cuda --scale 1.0 --json out.json
    mpiexec -n 2 python benchmarks/microcircuit_gpu.py --target cpu --scale 0.1   # 2 processes
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
from pyNN.random import RandomDistribution

import pynn_gpu as sim
from pynn_gpu import planner, simulator
from pynn_gpu.demo import total_synapses

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from microcircuit import (BG_RATE, DELAY_E, DELAY_I, DELAY_REL_SD, DT,  # noqa: E402
                          G, K_EXT, N_FULL, NEURON, POPULATIONS, PSP_E, V0_MEAN, V0_SD,
                          W_REL_SD, full_in_degrees, psc_from_psp)


MAX_DELAY = 10.0    # ms: delays are normal, clipped to [dt, MAX_DELAY] (beyond it: p < 1e-29)


def build(scale, seed, drive, propagation="auto", connectivity="auto"):
    w_e = psc_from_psp(PSP_E)
    sizes = np.maximum(np.rint(N_FULL * scale).astype(int), 1)
    K_full = full_in_degrees()
    rng = sim.NativeRNG(seed=seed)
    pops = []
    for i, name in enumerate(POPULATIONS):
        i_ext = K_EXT[i] * BG_RATE * 1e-3 * w_e * NEURON["tau_syn_E"] if drive == "dc" else 0.0
        pop = sim.Population(int(sizes[i]), sim.IF_curr_exp(i_offset=i_ext, **NEURON),
                             label=name)
        pop.initialize(v=RandomDistribution("normal", mu=V0_MEAN[i], sigma=V0_SD[i], rng=rng))
        pop.record("spikes")
        if drive == "poisson":
            sim.PoissonDrive(rate=K_EXT[i] * BG_RATE, weight=w_e).inject_into(pop)
        pops.append(pop)
    projections = []
    for t, target in enumerate(pops):
        for s, source in enumerate(pops):
            K = K_full[t, s] * scale       # in-degrees scale with the neurons
            if K == 0:
                continue
            excitatory = s % 2 == 0
            w = w_e * (2.0 if (s, t) == (2, 0) else 1.0) * (1.0 if excitatory else G)
            d = DELAY_E if excitatory else DELAY_I
            synapse = sim.StaticSynapse(
                weight=RandomDistribution("normal_clipped", mu=w, sigma=abs(w) * W_REL_SD,
                                          low=0.0 if excitatory else -np.inf,
                                          high=np.inf if excitatory else 0.0, rng=rng),
                delay=RandomDistribution("normal_clipped", mu=d, sigma=d * DELAY_REL_SD,
                                         low=DT, high=MAX_DELAY, rng=rng))
            projection = sim.Projection(
                source, target, sim.FixedProbabilityConnector(min(K / source.size, 1.0),
                                                              rng=rng),
                synapse, receptor_type="excitatory" if excitatory else "inhibitory",
                label=f"{source.label}->{target.label}", connectivity_format=connectivity)
            if not projection.is_procedural:
                projection.propagation = propagation
            projections.append(projection)
    return pops, projections


def rates(pops, start, stop):
    result = []
    for pop in pops:
        trains = pop.get_data("spikes").segments[-1].spiketrains
        n = sum(int(np.count_nonzero((np.asarray(st) > start) & (np.asarray(st) <= stop)))
                for st in trains)
        result.append(n / pop.size / ((stop - start) / 1000.0))
    return result


def _gpu_description():
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version",
                               "--format=csv,noheader"], capture_output=True, text=True,
                              timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return platform.processor() or platform.machine()


def _commit():
    if os.environ.get("PYNN_GPU_COMMIT"):     # a copied tree may carry a stale .git
        return os.environ["PYNN_GPU_COMMIT"]
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=os.path.dirname(__file__)).stdout.strip()
    except OSError:
        return ""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--drive", choices=["poisson", "dc"], default="poisson")
    parser.add_argument("--transient", type=float, default=100.0, help="ms, first run")
    parser.add_argument("--duration", type=float, default=1000.0, help="ms, timed run")
    parser.add_argument("--target", default="cuda")
    parser.add_argument("--precision", default="double", choices=["double", "float"])
    parser.add_argument("--propagation", default="auto", choices=["auto", "pre", "post", "balanced"])
    parser.add_argument("--connectivity", default="ragged",
                        choices=["auto", "ragged", "procedural"])
    parser.add_argument("--seed", type=int, default=55)
    parser.add_argument("--profile-steps", type=int, default=0,
                        help="afterwards, time each kernel over this many steps (CUDA)")
    parser.add_argument("--spike-lanes", type=int, default=planner.SPIKE_LANES,
                        help="planner: least spike lanes per propagated group (CUDA)")
    parser.add_argument("--post-threads", type=int, default=planner.POST_THREADS,
                        help="planner: threads per 'post' group that lanes x width aims at")
    parser.add_argument("--balanced-threads", type=int, default=planner.BALANCED_THREADS,
                        help="planner: most threads of a 'balanced' kernel")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    # propagation plan knobs (see pynn_gpu.planner), for trying other plans on a GPU
    planner.SPIKE_LANES, planner.POST_THREADS = args.spike_lanes, args.post_threads
    planner.BALANCED_THREADS = args.balanced_threads

    t0 = time.perf_counter()
    sim.setup(timestep=DT, target=args.target, precision=args.precision, rng_seed=args.seed,
              max_delay=MAX_DELAY)
    pops, projections = build(args.scale, args.seed, args.drive, args.propagation,
                              args.connectivity)
    t_constructed = time.perf_counter()
    sim.run(args.transient)
    t_first = time.perf_counter()
    engine = simulator.state.engine
    device_before = engine.timings["run"]
    sim.run(args.duration)
    t_second = time.perf_counter()
    device_s = engine.timings["run"] - device_before
    program = engine.program
    spike_rates = rates(pops, args.transient, args.transient + args.duration)
    profile = engine.profile(args.profile_steps) if args.profile_steps else {}
    result = {
        "command": "python benchmarks/microcircuit_gpu.py " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "commit": _commit(), "device": _gpu_description(), "target": args.target,
        "precision": args.precision, "drive": args.drive, "scale": args.scale,
        "propagation": args.propagation, "connectivity": args.connectivity,
        "spike_lanes": args.spike_lanes, "post_threads": args.post_threads,
        "balanced_threads": args.balanced_threads,
        "neurons": int(sum(p.size for p in pops)),
        "synapses": total_synapses(projections),
        "processes": simulator.state.num_processes,
        "construction_s": t_constructed - t0,
        "codegen_s": engine.timings["codegen"], "compile_s": engine.timings["compile"],
        "first_run_s": t_first - t_constructed,
        "simulation_s": t_second - t_first,
        "realtime_factor": (t_second - t_first) / (args.duration / 1000.0),
        # the target's share: the kernels of every step, without fetching and converting
        # the recorded spikes after the run
        "device_s": device_s,
        "device_realtime_factor": device_s / (args.duration / 1000.0),
        "kernels": dict(getattr(program, "block_sizes", {})),
        "rates_hz": dict(zip(POPULATIONS, spike_rates)),
        "kernel_us_per_step": profile,
    }
    if engine.exchange is not None:     # over several MPI processes (process 0 reports)
        result["exchanges"] = engine.exchange.count
        result["exchange_s"] = engine.exchange.seconds
    rank = sim.rank()
    sim.end()
    if rank != 0:
        return result
    print(f"{result['neurons']} neurons, {result['synapses']:.3g} synapses, {args.target} "
          f"{args.precision}: construction {result['construction_s']:.1f} s, codegen "
          f"{result['codegen_s']:.2f} s, compile {result['compile_s']:.2f} s, first run "
          f"{result['first_run_s']:.1f} s, {args.duration:g} ms in "
          f"{result['simulation_s']:.2f} s: real-time factor {result['realtime_factor']:.3f} "
          f"(target alone {result['device_realtime_factor']:.3f})")
    print("rates (Hz): " + " ".join(f"{n}={r:.2f}" for n, r in result["rates_hz"].items()))
    if profile:
        print("us per step: " + " ".join(f"{k}={v:.1f}" for k, v in profile.items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
