"""
Runs over several processes (MPI, through mpi4py).

Started by an MPI launcher (`mpiexec -n 4 python model.py gpu`), every process builds the
whole network description, as PyNN scripts expect, but simulates only its own share:

- each population is cut into contiguous blocks of whole 32-neuron words, one per process
  (`local_word_range`); a process updates only the neurons of its block and keeps only the
  synapses onto them. The connectors draw every synapse with the same generators in every
  process, so the network does not depend on the number of processes; FixedProbability's
  generator (AllToAll and OneToOne among them) makes only the process's chunks of 32
  postsynaptic neurons (= words), stored or regenerated per spike (procedural);
- after every `lag` steps (the shortest delay, in steps) the processes combine the spike
  bits of those steps (an MPI bitwise-or: each contributes the words of its own block) and
  every process (on the C target, or on its GPU) propagates them `lag` steps late, into
  ring slots `lag` steps earlier: a spike of step s with a delay of d steps still arrives
  in step s + d. The order of the additions into a neuron's input is the one of a single
  process, so the results are the same, bit for bit, whatever the number of processes. The
  last `lag` steps of a run are handled at its end: no spike is left in flight between runs;
- plastic synapses (dendritic_delay_fraction 1) learn from their postsynaptic spikes with
  the same lag, just before the propagation of that step, as in one process; those with an
  axonal part of the delay take the combined spikes when it ends (unlagged; the lag is no
  longer than that part) and learn unlagged;
- gap junctions: every process holds all junctions and couples its own neurons through
  them; the membrane potentials of coupled populations are shared after every step;
- recordings and connection lists are gathered by PyNN's own code (`get_data(gather=True)`,
  `Projection.get(..., gather=True)`, ...), from each process's local cells.

MPI is used only when a launcher started several processes: an MPI launcher's variables
are set or the script imported mpi4py itself.
"""

import contextlib
import os
import sys
import time

import numpy as np

_LAUNCHER_VARIABLES = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK",
                       "MPI_LOCALNRANKS", "SLURM_STEP_NUM_TASKS")


def world():
    """(communicator, rank, size) of the MPI job this process belongs to, or None when it
    runs alone (no MPI launcher, or mpi4py not installed)."""
    launched = any(name in os.environ for name in _LAUNCHER_VARIABLES)
    if not launched and "mpi4py.MPI" not in sys.modules:
        return None
    try:
        from mpi4py import MPI
    except ImportError:
        if launched and int(os.environ.get("PMI_SIZE", os.environ.get(
                "OMPI_COMM_WORLD_SIZE", "1"))) > 1:
            raise ImportError("pyNN.gpu was started by an MPI launcher with several processes "
                              "but mpi4py is not installed: pip install 'pynn-gpu[mpi]'")
        return None
    comm = MPI.COMM_WORLD
    return comm, comm.Get_rank(), comm.Get_size()


def abort_on_uncaught_errors(comm):
    """An error that ends one process ends the job (MPI_Abort), instead of leaving the
    other processes waiting in the next exchange for ever."""
    previous = sys.excepthook
    if getattr(previous, "aborts_mpi_job", False):
        return

    def hook(kind, value, traceback):
        previous(kind, value, traceback)
        sys.stderr.flush()
        comm.Abort(1)

    hook.aborts_mpi_job = True
    sys.excepthook = hook


class Agreement:
    """
    The outcome of a collective change (set() of a Population, PopulationView or
    Projection over several processes), agreed by every process before anything is kept.

    Each process checks only its own cells' or synapses' values (it may hold no other
    process's values at all: PyNN fills other processes' cells of a computed parameter with
    NaN), so a bad value found by one process is unknown to the others. Were each to go on
    by itself, the process that found it would raise and change nothing while the others
    kept their part, and a script that catches the error would go on with processes out of
    step (a later run() waits for ever). So each process calls the agreement once, with
    its error or None, after every check and before its first change: one exchange
    (allgather) tells every process whether any failed. If one did, every process leaves
    its values as they were and raises: the process that found the error its own, the
    others an error of the same class (where one can be made from a message, else
    InvalidParameterValueError) that names the process that found it.

    Only calls that every process makes may agree: a single cell's or a single connection's
    setter is made by the process holding it alone, and checks its values by itself.
    """

    def __init__(self, comm, outcome="every process left these values as they were"):
        self.comm = comm
        self.outcome = outcome      # what the others' errors say became of the change
        self.reached = False

    def __call__(self, error=None):
        """Raise the agreed error if this or any other process had one, else return."""
        if self.reached:
            raise RuntimeError("an agreement is reached only once")
        self.reached = True
        mine = None if error is None else (type(error).__module__, type(error).__qualname__,
                                           str(error))
        outcomes = self.comm.allgather(mine)
        if error is not None:
            raise error
        for rank, outcome in enumerate(outcomes):
            if outcome is not None:
                raise _error_like(*outcome, rank, len(outcomes), self.outcome)


def checked_alike(agree, check):
    """check()'s result, once the processes agree that none of their checks failed:
    `agree` (an Agreement, or None where no other process takes part) hears this process's
    error, or that it had none; every process raises if any failed."""
    try:
        result = check()
    except Exception as error:
        if agree is not None:
            agree(error)        # raises
        raise
    if agree is not None:
        agree()
    return result


def agreed(state, holder, change):
    """Make `change()`, a set() that every process makes, under an Agreement that the code
    checking the values reaches as holder._agreement. A process whose change never reached
    it (PyNN's set() does nothing in a process holding none of the cells) agrees at the
    end, with no error, so that no process waits for another."""
    agreement = holder._agreement = Agreement(state.mpi_comm)
    try:
        change()
    except Exception as error:
        if not agreement.reached:
            agreement(error)        # raises
        raise
    finally:
        holder._agreement = None
    if not agreement.reached:
        agreement()


def _error_like(module, qualname, message, rank, size, outcome):
    """An error of the class another process raised (by name), with its message, the
    process that found it and the `outcome`; InvalidParameterValueError where none can be
    made that way."""
    import importlib

    from pyNN import errors
    text = f"{message} (found by process {rank} of {size}; {outcome})"
    try:
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        if isinstance(cls, type) and issubclass(cls, Exception):
            error = cls(text)
            if str(error) == text:
                return error
    except Exception:       # not importable here, or not made from one message
        pass
    return errors.InvalidParameterValueError(text)


def local_word_range(n_words, rank, n_processes):
    """The 32-neuron words [first, end) of a population that process `rank` simulates."""
    return n_words * rank // n_processes, n_words * (rank + 1) // n_processes


def local_mask(size, rank, n_processes):
    """PyNN's _mask_local: True for the cells process `rank` simulates."""
    first, end = local_word_range((size + 31) // 32, rank, n_processes)
    mask = np.zeros(size, dtype=bool)
    mask[32 * first:min(32 * end, size)] = True
    return mask


@contextlib.contextmanager
def as_one_process(projection):
    """PyNN's generic code for a connector whose draws depend on the number of processes
    (FixedTotalNumberConnector splits its total by process) sees one process holding
    every cell: each process then builds the synapses one process would, and keeps those
    onto its own cells (Projection._keep_local_connections)."""
    state = projection._simulator.state
    held = {}       # id -> a Population or view holding its own local mask (and cells)
    for side in (projection.pre, projection.post):
        for cells in getattr(side, "populations", [side]):      # an Assembly's parts
            while cells is not None:
                held[id(cells)] = cells
                cells = getattr(cells, "parent", None)
    saved = [(cells, dict(cells.__dict__)) for cells in held.values()]
    processes = state.num_processes, state.mpi_rank
    state.num_processes, state.mpi_rank = 1, 0
    for cells in held.values():
        cells._mask_local = np.ones(cells.size, dtype=bool)
        if "local_cells" in cells.__dict__:         # a view keeps its own
            cells.local_cells = cells.all_cells
    try:
        yield
    finally:
        state.num_processes, state.mpi_rank = processes
        for cells, attributes in saved:
            for name in ("_mask_local", "local_cells"):
                if name in attributes:
                    setattr(cells, name, attributes[name])


def local_block(cells):
    """(first, end) of the cells this process simulates, when they are one block starting
    at a whole word (the local part of a Population), else None (a view's scattered cells)."""
    local = np.flatnonzero(cells._mask_local)
    if local.size == 0:
        return (0, 0)
    first, last = int(local[0]), int(local[-1])
    return (first, last + 1) if first % 32 == 0 and last - first + 1 == local.size else None


def default_threads(n_processes):
    """C-target threads of each process when setup() gives none: OMP_NUM_THREADS where it
    is set (the usual way to share a machine among the processes of a job), else the cores
    this process may run on, shared out (the processes of a job are taken to share one
    machine)."""
    requested = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if requested.isdigit() and int(requested) > 0:
        return int(requested)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:      # not on every system
        cores = os.cpu_count() or 1
    return max(1, cores // n_processes)


def populations_of(cells):
    """The Populations a Population, PopulationView or Assembly draws its cells from."""
    parts = cells.populations if hasattr(cells, "populations") else [cells]
    return [p.grandparent if hasattr(p, "grandparent") else p for p in parts]


def shortest_lag(projection, dt):
    """The longest lag a projection allows: its shortest delay in steps, or, for plastic
    synapses with an axonal part of the delay (dendritic_delay_fraction < 1), the shortest
    axonal part (they are handed the spikes when it ends, unlagged, so those spikes must
    have been exchanged by then). 2**16 for none."""
    fraction = getattr(projection.synapse_type, "dendritic_delay_fraction", 1.0)
    axonal = projection.synapse_type.model.learns_from_post and fraction < 1
    if projection.is_procedural or projection.awaiting_generation:
        # not generated here (yet): the generator's bound; an axonal part can be 1 step
        return 1 if axonal else projection._procedural.min_delay_steps(dt)
    delays = projection._delay_steps
    if not delays.size:
        return 2 ** 16
    if not axonal:
        return int(delays.min())
    from .standardmodels.plasticity import dendritic_steps
    return int((delays - dendritic_steps(delays, fraction)).min())


def local_rank():
    """This process's rank among the job's processes on its machine (the launcher's
    variable), or None: the GPU a process takes is local_rank % the machine's GPUs."""
    for name in ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "MV2_COMM_WORLD_LOCAL_RANK",
                 "SLURM_LOCALID", "PALS_LOCAL_RANKID"):
        if name in os.environ:
            return int(os.environ[name])
    return None


def exchange_lag(state):
    """Steps between spike exchanges over processes: the shortest delay of any process's
    synapses (see shortest_lag), no longer than setup's min_delay. (A run leaves no spike
    in flight, so it may change from one run to the next.) Every process calls it."""
    from mpi4py import MPI
    shortest = min((shortest_lag(p, state.dt) for p in state.projections
                    if not p.is_gap_junction), default=2 ** 16)
    # min_delay "auto" is each process's own shortest delay: the lag is agreed after it
    mine = max(1, min(shortest, int(round(state.min_delay / state.dt)), 2 ** 16))
    return state.mpi_comm.allreduce(mine, op=MPI.MIN)


def bind_exchange(state, exchange, graph, groups, arrays, lag, coupled):
    """At a build over several processes: each neuron group updates its share of words;
    the spikes of every population some projection starts from are combined over
    processes (the same groups in every process) every `lag` steps, into rings kept by
    step; the membrane potentials of the `coupled` populations (gap junctions) are shared
    after every step."""
    sources = sorted({state.populations.index(population)
                      for projection in state.projections if not projection.is_gap_junction
                      for population in populations_of(projection.pre)})
    received = {}
    for index, group in enumerate(groups):
        group.local_words = local_word_range(group.n_words, state.mpi_rank,
                                             state.num_processes)
        if index not in sources:
            continue
        group.exchanges_spikes = group.keeps_spike_history = True
        ring = np.zeros((graph.ring_length, group.n_words), dtype=np.uint32)
        previous = exchange.received.get(index)
        if previous is not None and previous.shape[1] == group.n_words:
            # spikes that plastic synapses with an axonal delay have yet to receive
            now, kept = state.step, min(previous.shape[0], graph.ring_length)
            for s in range(max(now - kept, 0), now):
                ring[s % graph.ring_length] = previous[s % previous.shape[0]]
        received[index] = ring
        arrays[f"{group.name}_received"] = ring
        arrays[f"{group.name}_delayed"] = np.zeros(group.n_words, dtype=np.uint32)
        arrays[f"{group.name}_delayed_count"] = np.zeros(2, dtype=np.int32)
        arrays[f"{group.name}_delayed_list"] = np.zeros(max(group.size, 1), dtype=np.int32)
    graph.exchange_lag = lag
    exchange.lag, exchange.groups, exchange.received = lag, sources, received
    exchange.voltages = {}
    for index in sorted(coupled):
        group = groups[index]
        word_lo, word_hi = group.local_words
        exchange.voltages[index] = (arrays[f"{group.name}_v"],
                                    slice(32 * word_lo, min(32 * word_hi, group.size)))
    # made once per build, not every step; other processes' entries stay zero
    size = sum(v.size for v, _ in exchange.voltages.values())
    exchange.voltage_buffers = (np.zeros(size), np.empty(size))
    exchange.every = graph.exchange_every = 1 if exchange.voltages else lag


class SpikeExchange:
    """
    The spike bits every process needs, combined over processes every `lag` steps.

    `history[g]` is the ring of neuron group g's own spike bits the update kernel writes
    (row step % ring_length), `received[g]` the combined bits of all processes (row
    step % ring_length), from which the propagation of step t takes the spikes of step
    t - lag, and plastic synapses with an axonal delay those of its end.
    """

    def __init__(self, comm):
        # (bind_exchange sets what a build decides)
        self.comm = comm
        self.lag = 0
        self.every = 0                  # steps between exchanges: lag (1 with gap junctions)
        self.groups = []                # neuron group indices whose spikes are propagated
        self.histories = {}             # index -> (ring_length, n_words) uint32
        self.received = {}              # index -> (ring_length, n_words) uint32
        # gap junctions: index -> (v of every neuron, this process's neurons as a slice);
        # the other processes' neurons' v is brought up to date after every step
        self.voltages = {}
        self.voltage_buffers = (np.zeros(0), np.zeros(0))   # sent (zero elsewhere), summed
        self.next_step = None           # first step not exchanged yet
        self.seconds = 0.0              # wall time spent exchanging (and waiting for others)
        self.count = 0                  # exchanges done

    def any(self, flag):
        """True in every process when `flag` is true in any."""
        from mpi4py import MPI
        return bool(self.comm.allreduce(bool(flag), op=MPI.LOR))

    @property
    def read_names(self):
        """Target arrays the exchange reads (CUDA pulls them before it) ..."""
        return ([f"ng{g}_spike_history" for g in self.groups]
                + [f"ng{g}_v" for g in self.voltages])

    @property
    def written_names(self):
        """... and writes (CUDA pushes them after it)."""
        return [f"ng{g}_received" for g in self.groups] + [f"ng{g}_v" for g in self.voltages]

    def start(self, first_step):
        self.next_step = first_step

    def __call__(self, end_step):
        """Combine the spikes of steps [next_step, end_step) of every process, and the
        membrane potentials that gap junctions read."""
        start = time.perf_counter()
        steps = np.arange(self.next_step, end_step)
        self.next_step = end_step
        if self.voltages:
            self._share_voltages()
        if self.groups and steps.size:
            self._combine_spikes(steps)
        self.seconds += time.perf_counter() - start
        self.count += 1

    def _share_voltages(self):
        """Each process's neurons' v to every process (a sum with zeros elsewhere: exact)."""
        from mpi4py import MPI
        local, combined = self.voltage_buffers
        offset = 0
        for v, mine in self.voltages.values():
            local[offset + mine.start:offset + mine.stop] = v[mine]
            offset += v.size
        self.comm.Allreduce(local, combined, op=MPI.SUM)
        offset = 0
        for v, _ in self.voltages.values():
            v[:] = combined[offset:offset + v.size]
            offset += v.size

    def _combine_spikes(self, steps):
        local = np.concatenate([self.histories[g][steps % self.histories[g].shape[0]].ravel()
                                for g in self.groups])
        combined = np.empty_like(local)
        from mpi4py import MPI
        self.comm.Allreduce(local, combined, op=MPI.BOR)
        offset = 0
        for g in self.groups:
            ring = self.received[g]
            size = steps.size * ring.shape[1]
            ring[steps % ring.shape[0]] = combined[offset:offset + size].reshape(steps.size, -1)
            offset += size
