"""
Current sources (electrodes) for pyNN.gpu.

An electrode is injected into any set of cells; the engine compiles one small kernel per
(electrode, target population) that adds `amplitude_now` to the injected current of its
neurons in every step. Parameters live in small arrays (one element, or a table for
StepCurrentSource), so changing them between runs takes effect in the next run without
recompiling. Every value is in PyNN's units (nA, ms, Hz, degrees).

Timing, the same for every source and as in PyNN's NEURON and Brian 2 backends: the
current of step k (from t_k = k dt to t_k + dt) is the source's value at t_k, held for the
step. A change at time T (rounded to the nearest step) acts from the step that starts at T:
the membrane potential recorded at T does not see it yet, the one at T + dt does. Sources
are on for start <= t_k < stop.

* ACSource: offset + amplitude * sin(2 pi frequency (t_k - start) + phase), the phase
  measured from `start` (PyNN's convention); zero outside [start, stop).
* StepCurrentSource: amplitudes[i] from times[i] on; zero before times[0]. The times are
  stored rounded to the nearest step (source.times shows them so); two times that round to
  the same step: the later one and its amplitude are kept.
* NoisyCurrentSource: mean + stdev * N(0, 1), a new value every `dt` (a multiple of the
  timestep) counted from `start`, drawn independently for every target neuron and every
  injection (inject_into, per population): Box-Muller on the Philox numbers keyed by
  (seed, injection, neuron, interval), with log and sine of portable_math.h, so the C and
  CUDA targets inject the same noise. The noise of a step is the same after reset().

Recording (`source.record()`, then `get_data()`): the value of every step, written on the
target during the run and fetched once per run. For NoisyCurrentSource that is the current
of the first target neuron (the lowest index in the first population it was injected into).
The samples are at 0, dt, ..., t_end: sample k is the current of step k; the last sample
repeats the one before, since the step starting at t_end has not been simulated. Steps run
before record() was called are NaN. A reset() starts a new trace.
"""

import numpy as np
from pyNN import errors
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import build_translations, electrodes

from .. import distributed, simulator
from .._paths import kernels_dir
from ..modeldef import CurrentSourceDef
from .steps import NEVER_STEP, time_steps

# Portable log/sin/normal numbers: the same bits on both targets (include-guarded).
PORTABLE_MATH = (kernels_dir() / "common" / "portable_math.h").read_text()


DC_SOURCE_MODEL = CurrentSourceDef(
    name="dc_source",
    params=("amplitude",),
    int_params=("start_step", "stop_step"),
    # on during the steps that start at or after `start` and before `stop`
    code="amplitude_now = (_step >= start_step && _step < stop_step) ? amplitude : (scalar) 0;",
)

AC_SOURCE_MODEL = CurrentSourceDef(
    name="ac_source",
    params=("amplitude", "offset"),
    int_params=("start_step", "stop_step"),
    # in double even in float precision: the phase of step n is n * turns_per_step
    double_params=("turns_per_step", "phase_turns"),
    code="""
if (_step >= start_step && _step < stop_step) {
    const double _turns = turns_per_step * (double) (_step - start_step) + phase_turns;
    amplitude_now = offset + amplitude * (scalar) pg_sin_turns(_turns);
}
""",
    support=PORTABLE_MATH,
)

STEP_SOURCE_MODEL = CurrentSourceDef(
    name="step_current_source",
    params=(),
    int_params=("n_changes",),
    tables=("amplitudes",),
    int_tables=("change_steps",),
    # no state: a binary search finds the last change at or before this step, so runs,
    # resets and new tables need no bookkeeping on the target
    code="""
int64_t _lo = 0, _hi = n_changes;
while (_lo < _hi) {
    const int64_t _mid = _lo + (_hi - _lo) / 2;
    if (change_steps[_mid] <= _step) _lo = _mid + 1; else _hi = _mid;
}
if (_lo > 0) amplitude_now = amplitudes[_lo - 1];
""",
)

NOISY_SOURCE_MODEL = CurrentSourceDef(
    name="noisy_current_source",
    params=("mean", "stdev"),
    int_params=("start_step", "stop_step", "steps_per_value"),
    per_target=True,
    uses_rng=True,
    # the value of interval n is a pure function of n: nothing to carry between steps
    code="""
if (_step >= start_step && _step < stop_step) {
    amplitude_now = mean + stdev * NORMAL((_step - start_step) / steps_per_value);
}
""",
    support=PORTABLE_MATH,
)


class CurrentTrace:
    """The current a source injected, one value per step, for the latest segment."""

    def __init__(self):
        self.segment = None
        self.dt = None
        self.chunks = []        # (first step, values)

    def add(self, segment, dt, first_step, values):
        if segment != self.segment:
            self.segment, self.chunks = segment, []
        self.dt = dt
        self.chunks.append((int(first_step), np.asarray(values, dtype=float)))

    def arrays(self):
        """(times in ms, currents in nA), sampled at 0, dt, ..., end of the last run."""
        if not self.chunks:
            return np.zeros(0), np.zeros(0)
        n_steps = max(first + len(values) for first, values in self.chunks)
        currents = np.full(n_steps + 1, np.nan)
        for first, values in self.chunks:
            currents[first:first + len(values)] = values
        currents[n_steps] = currents[n_steps - 1]
        return np.arange(n_steps + 1) * self.dt, currents


class _CurrentSource:
    """What every pyNN.gpu electrode shares: targets, native parameters, change tracking,
    recording."""

    def __init__(self, **parameters):
        object.__setattr__(self, "_native", {})
        object.__setattr__(self, "_changed", True)
        object.__setattr__(self, "_recording", False)
        object.__setattr__(self, "_trace", CurrentTrace())
        super().__init__(**parameters)
        parameter_space = ParameterSpace(self.default_parameters, self.get_schema(), shape=(1,))
        parameter_space.update(**parameters)
        self.set_native_parameters(self.translate(parameter_space))

    def inject_into(self, cells):
        # a source that adds into a receptor's input (PoissonDrive) needs the receptor, not
        # a model that reads i_inj
        for population, indices in _by_population(cells, not self.model.into_receptor):
            simulator.state.current_sources.append((self, population, indices))
        simulator.state.structure_changed()

    def set_native_parameters(self, parameters):
        """Validate the new values together with the unchanged ones, then store them."""
        parameters.evaluate(simplify=True)
        staged = dict(self._native)
        for name, value in parameters.items():
            staged[name] = _plain(value)
        if all(name in staged for name in self.get_native_names()):
            self._validate(staged, simulator.state.dt)
            self._normalise(staged, simulator.state.dt)
        self._native.clear()
        self._native.update(staged)
        object.__setattr__(self, "_changed", True)

    def get_native_parameters(self):
        # tables as arrays (as pyNN.nest gives them): source.times[0], len(...) work
        return ParameterSpace({name: value.copy() if isinstance(value, np.ndarray) else value
                               for name, value in self._native.items()})

    # --- recording ----------------------------------------------------------------------

    def record(self):
        """Record the injected current from the next run on (see the module docstring)."""
        object.__setattr__(self, "_recording", True)
        object.__setattr__(self, "_changed", True)

    def _get_data(self):
        return self._trace.arrays()

    def store_trace(self, segment, dt, first_step, values):
        """Called by the engine after each run with the values of that run's steps."""
        self._trace.add(segment, dt, first_step, values)

    # --- what each source type defines ------------------------------------------------

    def _validate(self, p, dt):
        """Raise InvalidParameterValueError if the native parameters `p` are not usable."""
        raise NotImplementedError

    def _normalise(self, p, dt):
        """Bring valid native parameters `p` into the form they are stored in (in place)."""

    def kernel_arrays(self, dt, scalar):
        """The arrays the kernel reads, by parameter or table name."""
        raise NotImplementedError

    @staticmethod
    def _steps(time, dt):
        return np.int64(time_steps(float(time), dt))


# --- validation helpers ----------------------------------------------------------------------

def _plain(value):
    """Native values as the kernels' arrays are built from them: floats or float arrays."""
    if isinstance(value, Sequence):
        return np.asarray(value.value, dtype=float)
    value = np.asarray(value, dtype=float)
    return float(value) if value.size == 1 else value


def _require(condition, message):
    if not condition:
        raise errors.InvalidParameterValueError(message)


def _check_finite(p, *names):
    for name in names:
        _require(np.all(np.isfinite(p[name])), f"{name} must be a finite number (got {p[name]})")


def _check_window(p):
    """start and stop: 0 <= start <= stop (ms)."""
    for name in ("start", "stop"):
        _require(p[name] >= 0, f"{name} must be >= 0 ms (got {p[name]})")
    _require(p["start"] <= p["stop"],
             f"start must be <= stop (got start={p['start']} ms, stop={p['stop']} ms)")


def _window_arrays(p, dt):
    return {"start_step": np.array([_CurrentSource._steps(p["start"], dt)], dtype=np.int64),
            "stop_step": np.array([_CurrentSource._steps(p["stop"], dt)], dtype=np.int64)}


# --- the standard sources ----------------------------------------------------------------

class DCSource(_CurrentSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = build_translations(
        ("amplitude", "amplitude"),
        ("start", "start"),
        ("stop", "stop"),
    )
    model = DC_SOURCE_MODEL

    def _validate(self, p, dt):
        _check_finite(p, "amplitude")
        _check_window(p)

    def kernel_arrays(self, dt, scalar):
        return {"amplitude": np.array([self._native["amplitude"]], dtype=scalar),
                **_window_arrays(self._native, dt)}


class ACSource(_CurrentSource, electrodes.ACSource):
    __doc__ = electrodes.ACSource.__doc__
    translations = build_translations(
        ("amplitude", "amplitude"),
        ("start", "start"),
        ("stop", "stop"),
        ("frequency", "frequency"),
        ("offset", "offset"),
        ("phase", "phase"),
    )
    model = AC_SOURCE_MODEL

    def _validate(self, p, dt):
        _check_finite(p, "amplitude", "offset", "phase", "frequency")
        _require(p["frequency"] >= 0, f"frequency must be >= 0 Hz (got {p['frequency']})")
        _check_window(p)

    def kernel_arrays(self, dt, scalar):
        p = self._native
        return {"amplitude": np.array([p["amplitude"]], dtype=scalar),
                "offset": np.array([p["offset"]], dtype=scalar),
                "turns_per_step": np.array([p["frequency"] * dt / 1000.0]),
                "phase_turns": np.array([p["phase"] / 360.0]),
                **_window_arrays(p, dt)}


class StepCurrentSource(_CurrentSource, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = build_translations(
        ("amplitudes", "amplitudes"),
        ("times", "times"),
    )
    model = STEP_SOURCE_MODEL

    def _validate(self, p, dt):
        times = np.atleast_1d(p["times"])
        amplitudes = np.atleast_1d(p["amplitudes"])
        _require(times.size == amplitudes.size,
                 f"times and amplitudes must have the same length "
                 f"(got {times.size} times, {amplitudes.size} amplitudes)")
        _require(np.all(np.isfinite(times)) and np.all(times >= 0),
                 f"times must be finite and >= 0 ms (got {times.tolist()[:10]})")
        _require(np.all(np.diff(times) > 0),
                 f"times must be strictly increasing (got {times.tolist()[:10]})")
        _require(np.all(np.isfinite(amplitudes)),
                 f"amplitudes must be finite numbers (got {amplitudes.tolist()[:10]})")

    def _normalise(self, p, dt):
        """Times to the nearest step (as PyNN's NEURON and Brian 2 backends do); of several
        times that land on the same step, the last one and its amplitude are kept."""
        times = np.atleast_1d(np.asarray(p["times"], dtype=float))
        amplitudes = np.atleast_1d(np.asarray(p["amplitudes"], dtype=float))
        steps = time_steps(times, dt)
        last = np.append(steps[1:] != steps[:-1], True) if steps.size else np.zeros(0, bool)
        p["times"] = np.where(steps < NEVER_STEP, steps * dt, times)[last]
        p["amplitudes"] = amplitudes[last]

    def kernel_arrays(self, dt, scalar):
        times = np.atleast_1d(self._native["times"])
        amplitudes = np.atleast_1d(self._native["amplitudes"])
        steps = time_steps(times, dt)
        # an empty table still needs an array to point to
        return {"n_changes": np.array([steps.size], dtype=np.int64),
                "amplitudes": amplitudes.astype(scalar) if steps.size else np.zeros(1, scalar),
                "change_steps": steps if steps.size else np.zeros(1, np.int64)}


class NoisyCurrentSource(_CurrentSource, electrodes.NoisyCurrentSource):
    __doc__ = electrodes.NoisyCurrentSource.__doc__
    translations = build_translations(
        ("mean", "mean"),
        ("start", "start"),
        ("stop", "stop"),
        ("stdev", "stdev"),
        ("dt", "dt"),
    )
    model = NOISY_SOURCE_MODEL

    def __init__(self, **parameters):
        # PyNN: "If not specified, the simulation time step will be used."
        parameters.setdefault("dt", simulator.state.dt)
        super().__init__(**parameters)

    def _validate(self, p, dt):
        _check_finite(p, "mean", "stdev", "dt")
        _require(p["stdev"] >= 0, f"stdev must be >= 0 nA (got {p['stdev']})")
        _steps_per_value(p["dt"], dt)
        _check_window(p)

    def kernel_arrays(self, dt, scalar):
        p = self._native
        return {"mean": np.array([p["mean"]], dtype=scalar),
                "stdev": np.array([p["stdev"]], dtype=scalar),
                "steps_per_value": np.array([_steps_per_value(p["dt"], dt)], dtype=np.int64),
                **_window_arrays(p, dt)}


def _steps_per_value(noise_dt, dt):
    """The noise interval in steps; it must be a positive multiple of the timestep."""
    ratio = noise_dt / dt
    steps = np.rint(ratio)
    _require(steps >= 1 and abs(ratio - steps) <= 1e-9 * steps,
             f"dt must be a positive multiple of the timestep {dt} ms (got {noise_dt})")
    return int(steps)


def _by_population(cells, needs_current=True):
    """Split a Population, PopulationView, Assembly or list of IDs by parent population.
    Where the source injects current (`needs_current`), TypeError for cell types that do not
    read it (spike sources among them), as PyNN; else (a drive into a receptor)
    ConnectionError for spike sources."""
    if hasattr(cells, "all_cells"):
        simulator.state.check_current(distributed.populations_of(cells), "inject_into()")
        ids = np.asarray(cells.all_cells, dtype=np.int64)
    else:
        cells = list(cells)
        parents = {id(c.parent): c.parent for c in cells if hasattr(c, "parent")}
        simulator.state.check_current(parents.values(), "inject_into()")
        ids = np.asarray([int(c) for c in cells], dtype=np.int64)
    groups = []
    for population in simulator.state.populations:
        first = int(population.first_id)
        inside = (ids >= first) & (ids < first + population.size)
        if inside.any():
            if needs_current and not population.celltype.injectable:
                # PyNN's error (Population.inject, and the other backends' inject_into)
                raise TypeError(f"Can't inject current into a spike source or a cell type "
                                f"that does not read it ({population.label})")
            if not needs_current and population.celltype.model.receptors == ():
                raise errors.ConnectionError(
                    f"cannot drive {population.label} through a receptor: it has none "
                    "(spike sources and models defined without any)")
            groups.append((population, np.unique(ids[inside] - first)))
    return groups
