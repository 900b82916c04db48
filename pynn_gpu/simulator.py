"""
The module-level state of a pyNN.gpu simulation: time, timestep, the objects of the
network, and the engine that builds and runs them.

Time is kept as an integer step count; t = step * dt, so that many runs add up exactly.
"""

import logging
import math

from pyNN import common

from .engine import Engine, step_time

name = "pyNN.gpu"
logger = logging.getLogger("PyNN")

# A stop time within this fraction of a step of a step boundary is on it (sums of
# durations such as 0.1 + 0.2 land a hair off); any other ends at the first boundary after
# it, so that a run always reaches its stop time (PyNN's callback loop waits for that).
ON_GRID = 1e-6

# Delays are stored as int32 step counts (and ring slots are counted in them)
MAX_DELAY_STEPS = 2**31 - 1


class ID(int, common.IDMixin):

    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)

    def set_parameters(self, **parameters):
        """PyNN's: the parameters of this cell (cell.tau_m = 20.0 among them). Only the
        process that holds the cell calls it, so its values are checked there alone (no
        agreement with other processes, which are not setting anything)."""
        if not self.local:
            return super().set_parameters(**parameters)     # NotLocalError
        view = self.as_view()
        view._set_by_one_process = True
        view.set(**parameters)


class State(common.control.BaseState):

    def __init__(self):
        super().__init__()
        self.mpi_comm = None        # MPI.COMM_WORLD in runs over several processes
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = 0.1
        self.precision = "double"
        self.rng_seed = 1234567
        self.spike_precision = "on_grid"
        self.threads = 0
        self.target = None
        self.engine = None
        self._min_delay = "auto"
        self._max_delay = "auto"
        self.clear()

    # --- network objects ----------------------------------------------------------------

    def clear(self):
        """Forget the whole network (setup() and end())."""
        if self.target is not None:
            self.target.close()
        self.recorders = set()
        self.populations = []
        self.projections = []
        self.current_sources = []     # (source, population, neuron indices)
        self.gap_capacitances = {}    # population index -> cm the gap-junction check saw
        self.id_counter = 0
        self.unseeded_rngs = 0        # NativeRNG() made without a seed (their order)
        self.structure_version = 0
        self.segment_counter = -1
        self.engine = Engine(self, self.target) if self.target is not None else None
        self.step = 0
        self._warned_off_grid = False
        self.reset()

    def structure_changed(self):
        self.structure_version += 1

    def check_current(self, populations, action):
        """A clear error for `action` on a Population made before setup() or end()
        discarded its network (its cell ids are those of the new network's cells)."""
        for population in populations:
            if not any(population is current for current in self.populations):
                raise RuntimeError(
                    f"{action}: the population {population.label!r} belongs to a network that "
                    "setup() or end() discarded; make it again after setup()")

    def require_setup(self, action):
        """A clear error for `action` before setup() or after end() (nothing to run on)."""
        if self.engine is None:
            raise RuntimeError(f"{action} needs setup() first: pyNN.gpu is not set up, "
                               "or end() was called")

    def set_target(self, target):
        self.target = target
        self.engine = Engine(self, target)

    # --- time ---------------------------------------------------------------------------

    @property
    def t(self):
        return step_time(self.step, self.dt)

    def run(self, simtime):
        self.run_until(self.t + simtime)

    def last_step(self, tstop):
        """The step a run to `tstop` ends at (ON_GRID); off the grid, that is said once."""
        last = tstop / self.dt
        if abs(last - round(last)) <= ON_GRID:
            return int(round(last))
        last = math.ceil(last)
        if not self._warned_off_grid:
            logger.warning("Stop time %g ms is not a multiple of the time step (%g ms): "
                           "the run ends at %g ms (said once)", tstop, self.dt,
                           last * self.dt)
            self._warned_off_grid = True
        return int(last)

    def stop_time(self, tstop):
        """The time a run to `tstop` ends at."""
        return step_time(self.last_step(tstop), self.dt)

    def run_until(self, tstop):
        n_steps = self.last_step(tstop) - self.step
        if n_steps >= 0:
            self.running = True
            self.engine.run(n_steps)
        self.running = True

    def reset(self):
        """Back to t = 0 with the initial values; recorded data start a new segment."""
        self.running = False
        self.t_start = 0
        self.step = 0
        # a projection made during this segment takes every spike from step 0 on in the
        # next (Projection.first_step), one whose delays changed has no spike sent with the
        # earlier ones: their synapse groups are built again
        rebuilt = any(p.first_step != 0 or p.delays_changed
                      for p in getattr(self, "projections", []))
        self.segment_counter += 1
        if rebuilt:
            self.structure_changed()
        for population in getattr(self, "populations", []):
            population._data.reset_state()
        for projection in getattr(self, "projections", []):
            projection._reset_synapse_state()
        for recorder in self.recorders:
            recorder._clear_current_segment()
        if self.engine is not None:
            self.engine.reset()

    # --- delays -------------------------------------------------------------------------

    def _delay_steps_range(self):
        """(shortest, longest) delay in steps of any connection, or None without any."""
        ranges = [b for b in (p.delay_steps_bounds(self.dt) for p in self.projections)
                  if b is not None]
        if not ranges:
            return None
        return min(b[0] for b in ranges), max(b[1] for b in ranges)

    @property
    def min_delay(self):
        """The shortest delay of any connection (dt without any), no longer than setup's
        min_delay where it is given (a shorter delay is accepted and delivered exactly:
        spikes are exchanged over processes at that lag)."""
        steps = self._delay_steps_range()
        shortest = max(steps[0], 1) * self.dt if steps else None
        if self._min_delay != "auto":
            return self._min_delay if shortest is None else min(self._min_delay, shortest)
        return self.dt if shortest is None else shortest

    @property
    def default_delay(self):
        """The delay of a connection made without one: min_delay, or dt with "auto"."""
        return self.dt if self._min_delay == "auto" else self._min_delay

    @min_delay.setter
    def min_delay(self, value):
        self._min_delay = value

    @property
    def max_delay(self):
        """setup's max_delay; with "auto", the longest delay of any connection, and never
        below min_delay."""
        if self._max_delay != "auto":
            return self._max_delay
        steps = self._delay_steps_range()
        longest = max(steps[1], 1) * self.dt if steps else self.dt
        return max(longest, self.min_delay)

    @max_delay.setter
    def max_delay(self, value):
        self._max_delay = value

    @property
    def max_delay_limit(self):
        """Largest delay (ms) a projection may have: setup's max_delay, or with 'auto' the
        longest that its int32 step count holds."""
        return MAX_DELAY_STEPS * self.dt if self._max_delay == "auto" else self._max_delay

    @property
    def max_delay_steps_limit(self):
        """max_delay_limit in steps: a delay that rounds to it is kept, as in NEST."""
        return int(min(round(self.max_delay_limit / self.dt), MAX_DELAY_STEPS))


state = State()
