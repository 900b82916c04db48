"""
The STDP reference of the validation suite, from pyNN.neuron (PyNN's StdwaSA mechanism,
nmodl/stdwa_songabbott.mod), stored in benchmarks/validation/results/stdp_reference.npz;
stdp_validate.py and tests/validation/test_stdp_reference.py compare pyNN.gpu with it,
without NEURON.

    PATH=$PWD/.venv-neuron/bin:$PATH .venv-neuron/bin/python \
        benchmarks/validation/make_stdp_reference.py [--dt 0.1]
    PATH=$PWD/.venv-neuron/bin:$PATH .venv-neuron/bin/python \
        benchmarks/validation/make_stdp_reference.py --dependences multiplicative gutig gutig_wmax2 mixed

The first (AdditiveWeightDependence, PyNN's StdwaSA mechanism) writes stdp_reference.npz;
the second (MultiplicativeWeightDependence: StdwaSoft; GutigWeightDependence: StdwaGuetig;
stdp_protocol.DEPENDENCES) writes stdp_reference_dependences.npz, in the same format with
the dependence's name in the suffix (_multiplicative_f1, ...).

The protocol is stdp_protocol.py's (two groups of 43 synapses, dendritic_delay_fraction 1
and 0). The file holds, per group (suffix _f1, _f0), the presynaptic and postsynaptic spike
times (pre_times/pre_index, post_times/post_index) and the final weights, and `info` (JSON):
the command, versions, date, parameters and a summary of the analysis.
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

import stdp_protocol as P  # noqa: E402

OUT = os.path.join(HERE, "results", "stdp_reference.npz")
OUT_DEPENDENCES = os.path.join(HERE, "results", "stdp_reference_dependences.npz")
MECHANISMS = {"AdditiveWeightDependence": "StdwaSA", "MultiplicativeWeightDependence": "StdwaSoft",
              "GutigWeightDependence": "StdwaGuetig",
              "AdditivePotentiationMultiplicativeDepression": "StdwaGuetig"}


def run(dependences=("additive",)):
    """{(dependence, f): (pre trains, post trains, weights)} and the wall time."""
    import pyNN.neuron as sim
    sim.setup(timestep=P.DT, min_delay=P.DT)
    groups = {(d, f): P.build(sim, f, dependence=d) for d in dependences for f in P.FRACTIONS}
    started = time.perf_counter()
    sim.run(P.T_STOP)
    wall = time.perf_counter() - started
    results = {f: P.read(*group) for f, group in groups.items()}
    sim.end()
    return results, wall


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--dt", type=float, default=P.DT, help="time step (ms)")
    parser.add_argument("--dependences", nargs="+", default=["additive"],
                        choices=sorted(P.DEPENDENCES))
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    P.DT = args.dt
    if args.out is None:
        args.out = OUT if args.dependences == ["additive"] else OUT_DEPENDENCES

    import neo
    import neuron
    import pyNN
    results, wall = run(args.dependences)
    arrays, summary = {}, {}
    for (d, f), (pre, post, weights) in results.items():
        tag = P.tag(f, d)
        arrays[f"pre_times_{tag}"], arrays[f"pre_index_{tag}"] = P.flatten_trains(pre)
        arrays[f"post_times_{tag}"], arrays[f"post_index_{tag}"] = P.flatten_trains(post)
        arrays[f"weights_{tag}"] = weights
        a = P.analyse(pre, post, weights, f, d, convention="neuron")
        clean = a["coincident"] == 0
        summary[tag] = {
            "post_spikes_per_cell": sorted(set(a["post_spikes"].tolist())),
            "max_abs_dw_minus_analytic_clean":
                float(np.max(np.abs(a["dw"] - a["analytic"])[clean])),
            "synapses_with_coincident_pairs": int(np.count_nonzero(~clean)),
            "dw_minus_analytic_coincident": (a["dw"] - a["analytic"])[~clean].tolist(),
            "dt_syn_coincident": a["dt_syn"][~clean].tolist(),
        }
    info = {"simulator": "pyNN.neuron", "neuron": neuron.__version__, "PyNN": pyNN.__version__,
            "numpy": np.__version__, "neo": neo.__version__,
            "python": platform.python_version(), "method": "NEURON fixed step (secondorder 0)",
            "mechanism": ", ".join(MECHANISMS[P.DEPENDENCES[d][0]] for d in args.dependences)
            + " (allow_update_on_post = 0, as pyNN.neuron sets it)",
            "dt_ms": P.DT, "delay_ms": P.DELAY, "fractions": list(P.FRACTIONS),
            "deltas_ms": P.DELTAS.tolist(), "repeats": P.REPEATS, "period_ms": P.PERIOD,
            "timing": P.TIMING, "w0": P.W0,
            "cell": P.CELL, "drive_weight_nA": P.DRIVE_WEIGHT, "drive_delay_ms": P.DRIVE_DELAY,
            "t_stop_ms": P.T_STOP, "wall_s": round(wall, 2),
            "date": datetime.date.today().isoformat(),
            "command": "PATH=$PWD/.venv-neuron/bin:$PATH .venv-neuron/bin/python "
                       "benchmarks/validation/make_stdp_reference.py " + " ".join(sys.argv[1:]),
            "summary": summary}
    if args.dependences == ["additive"]:
        info["weight_dependence"] = P.WEIGHT_DEPENDENCE
    else:
        info["weight_dependences"] = {d: list(P.DEPENDENCES[d]) for d in args.dependences}
    np.savez_compressed(args.out, info=json.dumps(info), **arrays)
    print(json.dumps(info, indent=1))
    print(f"-> {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
