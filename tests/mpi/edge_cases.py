"""
Cases of runs over several processes that tests/mpi/test_mpi.py checks: each prints one
line "rank <r>: <case> <outcome>" per case, in every process.

    mpiexec -n 2 python tests/mpi/edge_cases.py
"""

import numpy as np
from mpi4py import MPI  # noqa: F401

import pyNN.gpu as sim
from case_report import attempt, report


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

# a delay shortened by set() between runs: the input arrives after the new delay, as in one
# process (the exchanges must become more frequent): 0.2 ms after the spike at 35 ms, so v
# first rises in the step that ends at 35.3 ms (it arrived 6 ms late before)
sim.setup(timestep=0.1)
source = sim.Population(1, sim.SpikeSourceArray(spike_times=[35.0]))
driven = sim.Population(64, sim.IF_curr_exp())
projection = sim.Projection(source, driven, sim.AllToAllConnector(),
                            sim.StaticSynapse(weight=5.0, delay=3.0))
driven.record("v")
sim.run(30.0)
projection.set(delay=0.2)
sim.run(20.0)
v = driven.get_data(gather=True).segments[0].filter(name="v")[0].magnitude
if sim.rank() == 0:
    first_rise = (v[1:, 0] > v[:-1, 0]).argmax() + 1
    report("set-shorter-delay", "ok" if abs(first_rise * 0.1 - 35.3) < 1e-9
           else f"ValueError: the input arrived at {first_rise * 0.1} ms")
else:
    report("set-shorter-delay", "ok")

# parameters: a process may hold none of a small population's cells (one word of 32 goes
# to one process), and values that are one number on one process but not on another
small = sim.Population(10, sim.IF_curr_exp(tau_m=12.0))
attempt("get-no-local-cells", lambda: small.get("tau_m"))
tau = [10.0 + 0.25 * i if i < 32 else 20.0 for i in range(64)]
mixed = sim.Population(64, sim.IF_curr_exp(tau_m=tau))


def gathered_on_the_root():
    """As PyNN gathers: every value on process 0 (the others keep their own)."""
    for population, expected in ((small, 12.0), (mixed, tau)):
        values = population.get("tau_m", gather=True)
        if sim.rank() == 0 and not (values == expected if isinstance(expected, float)
                                    else list(values) == expected):
            raise ValueError(f"get(gather=True) gave {values}")


attempt("get-gather", gathered_on_the_root)

# several synapses between one pair, on either process: gathered into one matrix with the
# rule asked for, as in one process (6 sources of 0.1 onto each of 64 cells: 38.4 in all)
multapses = sim.Projection(sim.Population(3, sim.IF_curr_exp()), mixed,
                           sim.FixedNumberPreConnector(6, with_replacement=True,
                                                       rng=sim.NumpyRNG(seed=1)),
                           sim.StaticSynapse(weight=0.1, delay=1.0))


def summed_matrix():
    total = np.nansum(multapses.get("weight", format="array", gather="all"))
    if abs(total - 38.4) > 1e-9:
        raise ValueError(f"the gathered weights add up to {total}")


attempt("get-array-gather", summed_matrix)


def saved_by_each_process():
    """save(gather=False): each process writes its own synapses to <name>.<rank>; together
    they are the 384 synapses (i, j, weight, delay) of the projection."""
    multapses.save("all", "saved.txt", gather=False)
    sim.simulator.state.mpi_comm.Barrier()
    rows = [np.loadtxt(f"saved.txt.{rank}", ndmin=2) for rank in range(sim.num_processes())]
    mine = rows[sim.rank()]
    if len(mine) != len(multapses) or not np.all(np.isin(mine[:, 1], multapses.post.id_to_index(
            multapses.post.local_cells))):
        raise ValueError(f"process {sim.rank()} saved {len(mine)} synapses")
    if sum(map(len, rows)) != 384 or not np.allclose(np.vstack(rows)[:, 2], 0.1):
        raise ValueError(f"the files hold {sum(map(len, rows))} synapses")


attempt("save-each-process", saved_by_each_process)

# initial synapse state over several processes: every form means what it means in one
# process (values of all synapses, each process taking its own), so the gathered state
# is the one given; the pairs are listed in connection order (by post, then pre)
pairs = [(i, j) for j in range(64) for i in range(3) if (i + j) % 2 == 0]
depressing = sim.Projection(sim.Population(3, sim.IF_curr_exp()), mixed,
                            sim.FromListConnector(pairs), sim.TsodyksMarkramSynapse(weight=0.1))


def initialised_as_in_one_process():
    by_pair = np.random.default_rng(3).uniform(size=(3, 64))
    depressing.initialize(u=np.arange(len(pairs)) / len(pairs), x=by_pair)
    u = depressing.get(["u", "x"], format="list", gather=True)
    if sim.rank() == 0:
        expected = {(i, j): (k / len(pairs), by_pair[i, j]) for k, (i, j) in enumerate(pairs)}
        got = {(int(i), int(j)): (a, b) for i, j, a, b in u}
        if got != expected:
            raise ValueError("the gathered initial state is not the one given")


attempt("initialize-as-one-process", initialised_as_in_one_process)
sim.end()

# min_delay "auto" is each process's own shortest delay: here 0.7 ms in process 1, which
# holds the 31 cells (one word), and dt in process 0, which holds none; the processes
# still exchange spikes at the same steps, and every spike arrives after its delay
sim.setup(timestep=0.1, min_delay="auto")
drivers = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 5.0], [2.0, 6.0]]))
receivers = sim.Population(31, sim.IF_curr_exp())
sim.Projection(drivers, receivers, sim.FromListConnector(
    [(i, j) for i in range(2) for j in range(31)]), sim.StaticSynapse(weight=5.0, delay=0.7))
receivers.record("v")


def ran_with_one_lag():
    sim.run(10.0)
    v = receivers.get_data(gather=True).segments[0].filter(name="v")[0].magnitude
    if sim.rank() == 0:
        first_rise = (v[1:, 0] > v[:-1, 0]).argmax() + 1
        if abs(first_rise * 0.1 - 1.8) > 1e-9:      # the spike at 1 ms, 0.7 ms later
            raise ValueError(f"the first input arrived at {first_rise * 0.1} ms")


attempt("auto-min-delay-per-process", ran_with_one_lag)
sim.end()


# a format that only one process's synapses cannot take (a pair given twice, all on the
# process holding the one cell): every process refuses the run (the others waited in the
# spike exchange for ever), and the network runs once the format is changed
sim.setup(timestep=0.1)
held = sim.Population(4, sim.IF_curr_exp(i_offset=1.0))
poisson = sim.Population(5, sim.SpikeSourcePoisson(rate=50.0))
twice = sim.Projection(poisson, held[3:4], sim.FromListConnector([(0, 0), (0, 0)]),
                       sim.StaticSynapse(weight=0.1, delay=1.0), connectivity_format="dense")
attempt("format-refused-by-one-process", lambda: sim.run(10.0))
twice.connectivity_format = "auto"
attempt("run-after-refused-format", lambda: sim.run(10.0))
sim.end()
