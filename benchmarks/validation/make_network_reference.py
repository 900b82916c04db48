"""
Reference statistics of the validation networks (networks.py) from pyNN.brian2, stored in
benchmarks/validation/results/reference_networks.json; validate.py and
tests/validation/test_networks.py compare pyNN.gpu with them, without Brian 2.

Brian 2 needs numpy < 2.3, so this runs in its own virtual environment:

    python3 -m venv .venv-brian2
    .venv-brian2/bin/pip install "numpy<2.3" brian2 "PyNN==0.13.*" neo cython
    nice -n 10 .venv-brian2/bin/python benchmarks/validation/make_network_reference.py \\
        [--seeds 1 2 3] [NETWORK ...]

Each run (network, seed) is stored as soon as it ends, with its wall-clock time and date;
runs already in the file are skipped, so an interrupted generation resumes where it stopped.
The file records the versions and, per run, the command that made it. pyNN.brian2 runs
the networks with its own integration methods at the networks' time step (0.1 ms), as a
user would, with Brian 2's Cython code generation.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from networks import NETWORKS, run_network  # noqa: E402
from spike_statistics import summarise_run  # noqa: E402

OUT = os.path.join(HERE, "results", "reference_networks.json")


def versions():
    import brian2
    import neo
    import pyNN
    return {"brian2": brian2.__version__, "PyNN": pyNN.__version__, "numpy": np.__version__,
            "neo": neo.__version__, "python": platform.python_version(),
            "codegen_target": "cython"}


def _connect_in_one_go(projection_class):
    """Replace pyNN.brian2's Projection._convergent_connect by one that makes the same
    connections with the same parameters, but sets the parameters of all the new synapses
    of a target in one assignment instead of one Python-level assignment per synapse (which
    takes most of an hour for the 2.5 million synapses of the Brunel network). Only what the
    validation networks use: presynaptic and postsynaptic Populations, static synapses."""
    import brian2
    from pyNN.core import is_listlike

    def convergent_connect(self, presynaptic_indices, postsynaptic_index,
                           location_selector=None, **connection_parameters):
        assert location_selector is None
        connection_parameters.pop("dendritic_delay_fraction", None)
        synapses = self._brian2_synapses[0][0]
        i = np.asarray(presynaptic_indices)
        if i.size == 0:
            return
        first = len(synapses)
        synapses.connect(i=i, j=int(postsynaptic_index))
        self._n_connections += i.size
        new = slice(first, first + i.size)
        for name, value in connection_parameters.items():
            if name == "delay":        # rounded to the nearest step, as pyNN.brian2 does
                step = self._simulator.state.dt * brian2.ms
                value = np.round(value / step) * step
            if not is_listlike(value):
                value = np.full(i.size, 1.0) * value
            getattr(synapses, name)[new] = value

    projection_class._convergent_connect = convergent_connect


def run_one(name, seed):
    """Run network `name` from `seed` on pyNN.brian2; print its statistics as JSON."""
    import brian2
    import pyNN.brian2 as sim
    brian2.prefs.codegen.target = "cython"
    _connect_in_one_go(sim.Projection)
    started = time.perf_counter()
    spikes, window = run_network(sim, name, seed)
    print(json.dumps({"window_ms": list(window), "statistics": summarise_run(spikes, window),
                      "wall_s": round(time.perf_counter() - started, 1)}))


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("networks", nargs="*", default=list(NETWORKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--one", nargs=2, metavar=("NETWORK", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return run_one(args.one[0], int(args.one[1]))

    store = {"networks": {}}
    if os.path.exists(OUT):
        with open(OUT) as f:
            store = json.load(f)
    command = ("nice -n 10 .venv-brian2/bin/python "
               "benchmarks/validation/make_network_reference.py " + " ".join(sys.argv[1:]))
    store["versions"] = versions()
    for name in args.networks:
        entry = store["networks"].setdefault(name, {"runs": {}})
        for seed in args.seeds:
            if str(seed) in entry["runs"]:
                continue
            # every run in a fresh process: Brian 2 numbers its objects per process, and
            # other numbers would change the generated code and recompile it
            child = subprocess.run([sys.executable, __file__, "--one", name, str(seed)],
                                   capture_output=True, text=True, check=True)
            run = json.loads(child.stdout.strip().splitlines()[-1])
            entry["window_ms"] = run.pop("window_ms")
            entry["runs"][str(seed)] = dict(run, date=datetime.date.today().isoformat(),
                                            command=command)
            _store_entry(name, entry, store["versions"])
            print(name, seed, json.dumps(entry["runs"][str(seed)]), flush=True)


def _store_entry(name, entry, versions):
    """Write one network's entry into OUT, re-reading the file first so that runs stored
    meanwhile by another invocation (for other networks) are kept."""
    store = {"networks": {}}
    if os.path.exists(OUT):
        with open(OUT) as f:
            store = json.load(f)
    store.update(versions=versions, simulator="pyNN.brian2")
    store["networks"][name] = entry
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(store, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
