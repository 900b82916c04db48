"""
set() and get() over several processes that tests/mpi/test_mpi.py checks: each case prints
one line "rank <r>: <case> <outcome>" in every process ("ok" where it behaves as in one
process).

A set() whose bad value falls in one process's cells or synapses raises in every process
and changes nothing anywhere; a single cell's or connection's setter, used by the process
holding it alone, needs no other process; Assembly.get in a process holding none of its
cells.

    mpiexec -n 2 python tests/mpi/set_agreement.py
"""

import numpy as np
from mpi4py import MPI
from pyNN import errors

import pyNN.gpu as sim
from case_report import attempt

comm = MPI.COMM_WORLD


def everywhere(values):
    """Values gathered on process 0, given to every process."""
    return comm.bcast(values if sim.rank() == 0 else None, root=0)


def refused_everywhere(call, kind, read):
    """`call` raises `kind` in every process, and what `read` gathers is unchanged."""
    before = read()
    try:
        call()
    except kind:
        pass
    else:
        raise ValueError("no error")
    after = read()
    if not np.array_equal(after, before):
        raise ValueError(f"the values changed: {before} -> {after}")


sim.setup(timestep=0.1, min_delay=1.0)
# 100 cells: 0-63 in process 0, 64-99 in process 1 (of 2)
cells = sim.Population(100, sim.IF_curr_exp(tau_m=20.0, i_offset=1.0))
sources = sim.Population(10, sim.SpikeSourcePoisson(rate=50.0))
projection = sim.Projection(sources, cells, sim.AllToAllConnector(),
                            sim.StaticSynapse(weight=0.01, delay=1.0))
last = sim.num_processes() - 1      # the process holding cell 90


def tau_m():
    return everywhere(cells.get("tau_m", gather=True, simplify=False))


def weights():
    return everywhere(projection.get("weight", format="array", gather=True))


def delays():
    return everywhere(projection.get("delay", format="array", gather=True))


tau = np.full(100, 15.0)
tau[90] = -1.0
attempt("population-set", lambda: refused_everywhere(
    lambda: cells.set(tau_m=tau), errors.InvalidParameterValueError, tau_m))
attempt("view-set", lambda: refused_everywhere(
    lambda: cells[[5, 90]].set(tau_m=np.array([10.0, -1.0])), errors.InvalidParameterValueError,
    tau_m))
# every cell of the view in one process: the others have nothing to set
attempt("view-set-one-process", lambda: refused_everywhere(
    lambda: cells[[70, 90]].set(tau_m=np.array([10.0, -1.0])),
    errors.InvalidParameterValueError, tau_m))
w = np.full((10, 100), 0.02)
w[:, 90] = np.nan
attempt("projection-set-weight", lambda: refused_everywhere(
    lambda: projection.set(weight=w), errors.InvalidParameterValueError, weights))
d = np.full((10, 100), 2.0)
d[:, 90] = 0.01     # shorter than a step
attempt("projection-set-delay", lambda: refused_everywhere(
    lambda: projection.set(delay=d, weight=0.05), errors.ConnectionError, delays))
attempt("projection-set-delay-weights", lambda: refused_everywhere(
    lambda: projection.set(delay=d, weight=0.05), errors.ConnectionError, weights))
depressing = sim.Projection(sources, cells, sim.AllToAllConnector(),
                            sim.TsodyksMarkramSynapse(weight=0.01, delay=1.0))


def initial_u():
    return everywhere(depressing.get("u", format="array", gather=True))


u = np.full((10, 100), 0.5)
u[:, 90] = np.nan
attempt("projection-initialize", lambda: refused_everywhere(
    lambda: depressing.initialize(x=0.5, u=u), errors.InvalidParameterValueError, initial_u))
attempt("run-after-refused-sets", lambda: sim.run(5.0))

# a good set still changes every process's part
def good_set():
    cells.set(tau_m=15.0)
    if not np.all(tau_m() == 15.0):
        raise ValueError("tau_m was not set in every process")


attempt("population-set-good", good_set)


# a single cell's and a single connection's setters: in the process holding them only
def single_cell():
    if sim.rank() == last:
        cells[90].tau_m = 7.0
        try:
            cells[90].tau_m = -1.0
        except errors.InvalidParameterValueError:
            pass
        else:
            raise ValueError("no error for the single cell")
        projection[0].weight = 0.5
        try:
            projection[0].delay = 0.01
        except errors.ConnectionError:
            pass
        else:
            raise ValueError("no error for the single connection")
    values = tau_m()
    if values[90] != 7.0 or np.any(np.delete(values, 90) != 15.0):
        raise ValueError(f"tau_m is {values}")
    sim.run(5.0)


attempt("single-cell-set", single_cell)

# an Assembly whose cells are all in the last process (one word of 32 each)
a = sim.Population(20, sim.IF_curr_exp(tau_m=12.0))
b = sim.Population(10, sim.IF_curr_exp(tau_m=15.0))
assembly = a + b
expected = [12.0] * 20 + [15.0] * 10


def assembly_get():
    local = assembly.get("tau_m", simplify=False)
    if list(local) != (expected if sim.rank() == last else []):
        raise ValueError(f"get() gave {local}")
    simplified = assembly.get(["tau_m"])[0]
    if sim.rank() != last and np.size(simplified):
        raise ValueError(f"get() gave {simplified}")
    gathered = assembly.get("tau_m", gather=True)
    if list(gathered) != expected:
        raise ValueError(f"get(gather=True) gave {gathered}")
    if assembly.get("tau_m", gather=True, simplify=True) is None:
        raise ValueError("nothing gathered")
    same = (a + sim.Population(5, sim.IF_curr_exp(tau_m=12.0))).get("tau_m", gather=True)
    if same != 12.0:
        raise ValueError(f"get(gather=True) of one value gave {same}")


attempt("assembly-get", assembly_get)
sim.end()
