"""
The GIF_cond_exp reference of the validation suite, from pyNN.neuron (PyNN's gif.mod in
NEURON), stored in benchmarks/validation/results/gif_reference.npz; validate.py --gif and
tests/validation/test_gif_reference.py compare pyNN.gpu with it, without NEURON.

    PATH=$PWD/.venv-neuron/bin:$PATH nice -n 10 .venv-neuron/bin/python \
        benchmarks/validation/make_gif_reference.py [--neurons 10000] [--seed 1] [--dt 0.01]
        [--synaptic]

With --synaptic, the synaptic case of gif_protocol.py (build_synaptic(): input through the
excitatory and inhibitory synapses, the same SpikeSourceArray trains as pyNN.gpu gets) goes to
results/gif_synaptic_reference.npz, with the mean v of the first gif_protocol.N_V neurons
(vmean_syn) added to the statistics (run it with --neurons 3000).

(pyNN.neuron compiles PyNN's NMODL files with nrnivmodl, which it looks for on PATH, at its
first import.) The protocol and the statistics are gif_protocol.py's, with NEURON's default
fixed-step integration (backward Euler). The reference runs at dt = 0.01 ms, not at the
0.1 ms pyNN.gpu is compared at: at 0.1 ms NEURON's own step conventions (its spike draw uses
v at the start of the step, v is first-order accurate) delay the first spike by 0.2-0.3 ms
and lengthen the first intervals by about 0.15 ms, which 10,000 neurons resolve
(README.md, next to this file, has the numbers); at 0.01 ms they are ten times smaller.
About 400 s for 10,000 neurons.

Two things pyNN.neuron 0.13.0 does not do, done here:

* it records no spikes of GIF_cond_exp: gif.mod's net_event() is commented out, so the
  NetCon on the mechanism never fires. A NetCon on the mechanism's `isrefrac` (threshold
  0.5) records the time at which a spike is drawn (the WATCH on the random number fires,
  isrefrac becomes 1); v is reset and the kernels jump one step later, as gif.mod does.
* it does not seed the mechanism's random numbers (gif.mod calls scop_random(), one stream
  for all instances, as no Random object is given to setRNG()): here NEURON's MCellRan4
  generator is switched on and seeded with --seed, so that a run can be repeated.

The file holds the spike times as step numbers (spike_steps, with neuron: which neuron),
every statistic of gif_protocol.statistics() as an array, and `info` (JSON): the command,
versions, date, parameters, and the summary (rates, mean intervals by order, CV).
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gif_protocol  # noqa: E402

OUT = os.path.join(HERE, "results", "gif_reference.npz")
OUT_SYNAPTIC = os.path.join(HERE, "results", "gif_synaptic_reference.npz")


def run(n, seed, synaptic=False):
    import pyNN.neuron as sim
    from neuron import h
    sim.setup(timestep=gif_protocol.DT, min_delay=gif_protocol.DT)
    h.use_mcell_ran4(1)
    h.mcell_ran4_init(seed)
    cells = gif_protocol.build_synaptic(sim, n) if synaptic else gif_protocol.build(sim, n)
    recorders = []
    for cell in cells.all_cells:
        section = cell._cell
        detector = h.NetCon(section.gif_fun._ref_isrefrac, None, sec=section)
        detector.threshold = 0.5
        times = h.Vector()
        detector.record(times)
        recorders.append((detector, times))
    started = time.perf_counter()
    sim.run(gif_protocol.SYNAPTIC["t_stop"] if synaptic else gif_protocol.T_STOP)
    wall = time.perf_counter() - started
    trains = [np.array(times) for _, times in recorders]
    # pyNN.neuron's own spike recording, which stays empty (see above); checked so that a
    # later PyNN that records GIF spikes is noticed
    segment = cells.get_data().segments[0]
    recorded = sum(len(t) for t in segment.spiketrains)
    vmean = None
    if synaptic:
        v = segment.filter(name="v")[0]
        vmean = gif_protocol.vmean(v.magnitude, v.times.rescale("ms").magnitude)
    sim.end()
    return trains, recorded, wall, vmean


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--neurons", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dt", type=float, default=0.01,
                        help="time step (ms) of the reference")
    parser.add_argument("--synaptic", action="store_true",
                        help="the synaptic case (gif_protocol.build_synaptic)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    args.out = args.out or (OUT_SYNAPTIC if args.synaptic else OUT)
    protocol = gif_protocol.SYNAPTIC if args.synaptic else None
    gif_protocol.DT = args.dt

    import neo
    import neuron
    import pyNN
    trains, recorded_by_pynn, wall, vmean = run(args.neurons, args.seed, args.synaptic)
    steps = gif_protocol.to_steps(trains)
    off_grid = max((float(np.max(np.abs(t / gif_protocol.DT - s))) for t, s in
                    zip(trains, steps) if len(t)), default=0.0)
    assert off_grid < 1e-6, off_grid
    stats = gif_protocol.statistics(steps, protocol)
    if vmean is not None:
        stats["vmean_syn"] = vmean
    info = {"simulator": "pyNN.neuron", "neuron": neuron.__version__, "PyNN": pyNN.__version__,
            "numpy": np.__version__, "neo": neo.__version__,
            "python": platform.python_version(), "method": "NEURON fixed step (secondorder 0)",
            "dt_ms": gif_protocol.DT, "neurons": args.neurons, "seed": args.seed,
            "parameters": gif_protocol.PARAMETERS, "steps_nA": gif_protocol.STEPS,
            "phases_ms": gif_protocol.PHASES, "t_stop_ms": gif_protocol.T_STOP,
            "spikes_recorded_by_pynn_neuron": recorded_by_pynn,
            "wall_s": round(wall, 1), "date": datetime.date.today().isoformat(),
            "command": "nice -n 10 .venv-neuron/bin/python "
                       "benchmarks/validation/make_gif_reference.py " + " ".join(sys.argv[1:]),
            "summary": gif_protocol.summary(stats, protocol)}
    if args.synaptic:
        info.update(synaptic=True, t_stop_ms=gif_protocol.SYNAPTIC["t_stop"],
                    phases_ms=gif_protocol.SYNAPTIC["phases"], steps_nA=[],
                    input_rates_hz=gif_protocol.SYN_RATES,
                    weights_uS=gif_protocol.SYN_WEIGHTS, delay_ms=gif_protocol.SYN_DELAY,
                    input_seed=gif_protocol.SYN_SEED, v_recorded=gif_protocol.N_V)
    neuron_index = np.concatenate([np.full(len(s), i, dtype=np.int32)
                                   for i, s in enumerate(steps)])
    np.savez_compressed(args.out, info=json.dumps(info),
                        spike_steps=np.concatenate(steps).astype(np.int32),
                        neuron=neuron_index, **stats)
    print(json.dumps(info, indent=1))
    print(f"{len(neuron_index)} spikes -> {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
