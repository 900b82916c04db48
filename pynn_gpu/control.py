"""setup(), end(), run() and the state queries, built with PyNN's common factories."""

import logging
import math
import numbers

from pyNN import common, errors
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from . import distributed, hosttools, scaling, simulator
from .targets import make_target, resolve_target_name

logger = logging.getLogger("PyNN")

PRECISIONS = ("double", "float")
SPIKE_PRECISIONS = ("on_grid", "off_grid")
# setup(threads=...): beyond any machine's cores (the C call takes an int, and OpenMP
# allocates per thread: 10**9 threads ran the process out of memory)
MOST_THREADS = 4096


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    """
    Initialise (or reinitialise) pyNN.gpu; any existing network is discarded.

    Extra parameters understood by pyNN.gpu:
        target     "auto" (default, or $PYNN_GPU_TARGET), "cpu" or "cuda"
        precision  "double" (default) or "float"
        rng_seed   seed of the counter-based generator used by spike sources (int, 0 to
                   2**32 - 1)
        threads    CPU threads for the C target (0 = all available)
        spike_precision  "on_grid" (default) or "off_grid": with "off_grid", the spikes of
                   a SpikeSourceArray are recorded at the exact times given and emitted in
                   the step that contains them (t in (t_k, t_k + dt]); with "on_grid" a
                   spike time is rounded to the nearest step. Neurons spike on the grid
                   in both cases.
        weight_scaling  None (default: weights exactly as given), or a policy for every
                   projection, applied at the first run(): "mean" | "balanced" | "activity",
                   a dict(policy=..., K0=..., rates=..., ...) or a scaling.ScalingPolicy
                   (see pynn_gpu.scaling and the README section "Weight scaling")
    Other extra parameters of other backends (e.g. "filename", "label") are accepted
    and ignored, so that scripts written for them run unchanged.
    """
    max_delay = extra_params.get("max_delay", DEFAULT_MAX_DELAY)
    _check_times(timestep, min_delay, max_delay)
    precision = extra_params.get("precision", "double")
    if precision not in PRECISIONS:
        raise errors.InvalidParameterValueError(
            f"precision must be 'double' or 'float' (got {precision!r})")
    threads = extra_params.get("threads", 0)
    if threads is None:
        threads = 0
    if not _is_integer(threads) or not 0 <= threads <= MOST_THREADS:
        raise errors.InvalidParameterValueError(
            f"threads must be a whole number from 0 (all cores) to {MOST_THREADS} "
            f"(got {threads!r})")
    threads = int(threads)
    seed = extra_params.get("rng_seed", extra_params.get("rng_seeds_seed", 1234567))
    if not _is_integer(seed) or not 0 <= seed < 2 ** 32:
        # one key word of the counter-based generator (and what NumpyRNG takes): seeds
        # s and s + 2**32 would otherwise draw alike
        raise errors.InvalidParameterValueError(
            f"rng_seed must be a whole number from 0 to 2**32 - 1 (got {seed!r})")
    spike_precision = extra_params.get("spike_precision", "on_grid")
    if spike_precision not in SPIKE_PRECISIONS:
        raise errors.InvalidParameterValueError(
            f"spike_precision must be 'on_grid' or 'off_grid' (got {spike_precision!r})")
    weight_scaling = scaling.make_policy(extra_params.get("weight_scaling"))
    job = distributed.world()       # (communicator, rank, size) under an MPI launcher
    comm, mpi_rank, n_processes = job if job is not None else (None, 0, 1)
    requested = extra_params.get("target")     # None: $PYNN_GPU_TARGET, else "auto"
    if threads == 0:
        threads = distributed.default_threads(n_processes)
    if n_processes > 1:
        distributed.abort_on_uncaught_errors(comm)
    target_name = resolve_target_name(requested)

    common.setup(timestep, min_delay, **extra_params)
    state = simulator.state
    _write_files_asked_for(state)     # setup() again without end(): as end() would
    if state.target is not None:      # setup() again without end(): release the old one first
        state.target.close()
        state.target = None
    state.clear()
    state.mpi_comm, state.mpi_rank, state.num_processes = comm, mpi_rank, n_processes
    target = make_target(target_name)
    state.dt = float(timestep)
    state.min_delay = min_delay
    state.max_delay = max_delay
    state.precision = precision
    state.threads = threads
    hosttools.set_threads(threads)      # construction's parallel loops too, not only runs
    state.rng_seed = int(seed)
    state.spike_precision = spike_precision
    state.weight_scaling = weight_scaling
    state.set_target(target)
    return rank()


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_times(timestep, min_delay, max_delay):
    """timestep a finite number > 0; min_delay and max_delay "auto" or finite numbers with
    timestep <= min_delay <= max_delay (the checks PyNN's common setup makes, with its
    errors' names)."""
    if not (isinstance(timestep, numbers.Real) and math.isfinite(timestep) and timestep > 0):
        raise errors.InvalidParameterValueError(
            f"timestep must be a finite number > 0 ms (got {timestep!r})")
    for name, value in (("min_delay", min_delay), ("max_delay", max_delay)):
        if value == "auto":
            continue
        if not (isinstance(value, numbers.Real) and math.isfinite(value)
                and value >= timestep):
            raise errors.InvalidParameterValueError(
                f"{name} must be 'auto' or a finite number >= timestep {timestep} ms "
                f"(got {value!r})")
    if max_delay != "auto" and max_delay > simulator.MAX_DELAY_STEPS * timestep:
        raise errors.InvalidParameterValueError(
            f"max_delay must be at most {simulator.MAX_DELAY_STEPS} timesteps "
            f"({simulator.MAX_DELAY_STEPS * timestep:.10g} ms; delays are stored as 32-bit "
            f"step counts), got {max_delay!r}")
    if "auto" not in (min_delay, max_delay) and min_delay > max_delay:
        raise errors.InvalidParameterValueError(
            f"min_delay must be <= max_delay (got {min_delay} and {max_delay})")


def end(compatible_output=True):
    """Write any data requested with write_on_end, then release the target."""
    state = simulator.state
    _write_files_asked_for(state)
    if state.target is not None:
        state.target.close()
        state.target = None
        state.engine = None


def _write_files_asked_for(state):
    """The files record(..., to_file=...) asked for, written before the network goes."""
    for population, variables, filename in state.write_on_end:
        population.write_data(get_io(filename), variables)
    state.write_on_end = []


_run, _run_until = common.build_run(simulator)


def _check_time(name, value, allowed):
    """ValueError unless `value` is a finite number (PyNN's own ValueError for a time in
    the past is left to it): a run of NaN or infinite length has no last step."""
    try:
        finite = not isinstance(value, (str, bytes, bool)) and math.isfinite(float(value))
    except (TypeError, ValueError):
        finite = False
    if not finite:
        raise ValueError(f"{name} must be {allowed} (got {value!r})")


def run(simtime, callbacks=None):
    simulator.state.require_setup("run()")
    _check_time("simtime", simtime, "a finite number of ms >= 0")
    return _checked_run_until(simulator.state.t + simtime, callbacks)


def run_until(time_point, callbacks=None):
    simulator.state.require_setup("run_until()")
    _check_time("time_point", time_point,
                f"a finite number of ms >= the current time ({simulator.state.t:g} ms)")
    return _checked_run_until(time_point, callbacks)


def _checked_run_until(time_point, callbacks):
    state = simulator.state
    scaling.apply_weight_scaling()   # setup-level weight scaling, if any (no-op when off)
    if callbacks and time_point >= state.t:
        # PyNN's callback loop runs until the current time is within 1e-9 ms of time_point:
        # it is given the time the run ends at (a stop time a hair past a step, which is
        # taken for that step, would keep it waiting for ever)
        time_point = state.stop_time(time_point)
    return _run_until(time_point, callbacks)


run.__doc__, run_until.__doc__ = _run.__doc__, _run_until.__doc__
run_for = run

reset = common.build_reset(simulator)

initialize = common.initialize

get_current_time, get_time_step, get_min_delay, get_max_delay, \
    num_processes, rank = common.build_state_queries(simulator)


def connectivity_report():
    """
    How the target holds each projection's synapses, as built by the last run(): a list of
    dicts with the synapse group, the projection's label, the format (ragged, dense, bitmask,
    procedural; "gap junctions" for ElectricalSynapse projections), the synapse count and
    the bytes on the target (and per synapse).
    """
    engine = simulator.state.engine
    if engine is None or engine.graph is None:
        return []
    return engine.connectivity_report()
