"""
Cases of runs over several processes that tests/mpi/test_mpi.py checks: each prints one
line "rank <r>: <case> <outcome>" per case, in every process.

    mpiexec -n 2 python tests/mpi/edge_cases.py
"""

from mpi4py import MPI  # noqa: F401

import pyNN.gpu as sim


def report(case, outcome):
    print(f"rank {sim.rank()}: {case} {outcome}", flush=True)


def attempt(case, action):
    try:
        action()
    except Exception as error:      # the outcome is the error's type and message
        report(case, f"{type(error).__name__}: {error}")
    else:
        report(case, "ok")


sim.setup(timestep=0.1, min_delay=1.0)
cells = sim.Population(64, sim.IF_curr_exp(i_offset=1.0))
sources = sim.Population(64, sim.SpikeSourcePoisson(rate=50.0))
sim.Projection(sources, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.0, delay=1.0))
sim.run(10.0)

# a recording that only process 0's cells take up: every process rebuilds, none waits
cells[0:2].record("spikes")
attempt("record-one-process", lambda: sim.run(10.0))

# recording buffers that force each process to cut runs into chunks of its own length:
# the processes still exchange at the same steps, and the spikes are those of one call
cells.record("spikes")
sim.reset()
sim.run(30.0)
unchunked = cells.get_spike_counts()
sim.reset()
sim.simulator.state.engine.record_budget = 64 if sim.rank() == 0 else 200
sim.run(30.0)
report("uneven-chunks", "ok" if cells.get_spike_counts() == unchunked and sum(unchunked.values())
       else "ValueError: the spike counts differ")
sim.simulator.state.engine.record_budget = 2 ** 29

# a shorter delay, made after a run: the exchanges become more frequent from the next run
sim.Projection(sources, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.0, delay=0.5))
attempt("shorter-delay", lambda: sim.run(10.0))
sim.end()

