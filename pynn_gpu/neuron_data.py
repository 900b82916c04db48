"""
Host-side arrays of one population: parameters, derived constants, state, initial values.

These arrays are what the targets read and write. They are updated in place (never
rebound) so that a target which shares memory with the host (the C target) sees every
change without a copy; a target with its own memory (CUDA) is told which arrays changed.
"""

import numpy as np
from pyNN import errors

from .standardmodels.cells import SPIKE_SOURCE_ARRAY_MODEL, spike_source_array_tables

INT_STATE = np.int32
INT_DERIVED = np.int64

# Parameters for which +infinity has a meaning (a threshold never reached, a source that
# never starts or never stops); every other parameter must be a finite number.
MAY_BE_INFINITE = frozenset({"v_thresh", "start", "duration"})
# Integer state that counts down to zero (steps of refractoriness left)
COUNTERS = frozenset({"refractory"})


class NeuronData:

    def __init__(self, model, size, scalar_dtype, dt, off_grid=False):
        self.model = model
        # SpikeSourceArray's spike_times are sequences, tabulated here; a parameter of that
        # name in a model of one's own is an ordinary number
        self.holds_spike_times = model is SPIKE_SOURCE_ARRAY_MODEL
        self.off_grid = off_grid    # spike sources emit in the step containing the time
        self.size = size
        self.scalar = np.dtype(scalar_dtype)
        self.dt = dt
        self.params = {}        # float64, PyNN units, as the user gave them
        self.kernel = {}        # everything the kernels read or write, by name
        self.initial = {}       # state at t = 0, restored by reset()
        self.tables = {}        # group-level arrays of any length
        self.changed = set()    # names of kernel arrays changed since the last push
        # each state variable in the C type the kernels declare it with
        dtypes = {"scalar": self.scalar, "int32_t": INT_STATE, "int64_t": np.int64}
        for var in model.state:
            dtype = dtypes[var.ctype]
            self.kernel[var.name] = np.zeros(size, dtype=dtype)
            self.initial[var.name] = np.zeros(size, dtype=dtype)

    # --- parameters ---------------------------------------------------------------------

    def set_parameters(self, values, mask=None, current_step=0, translations=None,
                       agree=None):
        """
        Validate then store native parameter values (dict name -> array or scalar).

        `translations` (a PyNN cell type's, optional): a native parameter computed from a
        standard parameter of another name is reported under the standard one.

        `agree` (a set() over several processes: a pynn_gpu.distributed.Agreement): called
        once every check, those of derive() among them, has passed or failed here; the
        values are kept only if no process failed.
        """
        index = slice(None) if mask is None else mask
        try:
            staged = self._staged(values, mask, translations)
        except Exception as error:
            if agree is not None:
                agree(error)        # raises
            raise
        previous = {name: self.params[name].copy() for name in staged if name in self.params}
        for name, array in staged.items():
            if name not in self.params:
                self.params[name] = (np.empty(self.size, dtype=object) if array.dtype == object
                                     else np.zeros(self.size))
            self.params[name][index] = array
        failure = None
        try:
            self.update_derived(current_step, changed=set(staged), cells=index)
        except Exception as error:      # a rule across parameters (checked in derive)
            failure = error
        if agree is not None:
            try:
                agree(failure)
            except Exception as error:
                failure = error
        if failure is not None:
            # leave everything as it was
            for name in staged:
                if name in previous:
                    self.params[name] = previous[name]
                else:
                    del self.params[name]
            if previous:
                self.update_derived(current_step)
            raise failure
        self._restart(index)

    def _staged(self, values, mask, translations):
        """The values to store, by name, once checked (InvalidParameterValueError ...)."""
        index = slice(None) if mask is None else mask
        staged = {}
        for name, value in values.items():
            if name == "spike_times" and self.holds_spike_times:
                staged[name] = self._checked_spike_times(value, index)
                continue
            if name in getattr(self.model, "sequence_params", ()):
                # a Sequence per neuron: the model's derive() checks and tabulates them
                staged[name] = np.atleast_1d(np.asarray(value, dtype=object))
                continue
            if name not in self.model.params:
                raise errors.NonExistentParameterError(name, self.model.name,
                                                       list(self.model.params))
            array = np.asarray(value, dtype=float)
            found = _violation(array, name, self.model.constraints.get(name))
            if found is not None:
                requirement, position = found
                raise errors.InvalidParameterValueError(
                    self._rejection(name, requirement, array, position, values, translations,
                                    mask))
            staged[name] = array
        return staged

    def _rejection(self, name, requirement, array, position, values, translations, mask):
        """The message for a value of native parameter `name` outside its range: under the
        standard parameter it was computed from, where that has another name."""
        value = np.atleast_1d(array)[position]
        label = getattr(self.model, "pynn_names", {}).get(name, name)
        origin = _standard_origin(translations, name)
        if origin is None:
            return f"{label} must be {requirement} (got {value:g})"
        standard, entry = origin
        forward = entry["forward_transform"]
        given = _reverse_value(entry["reverse_transform"],
                               self._native_at(values, position, mask))
        got = f"{standard} = {given:g}, " if given is not None else ""
        formula = f"{name} = {forward}" if isinstance(forward, str) else f"{name} (from it)"
        return (f"{standard} must be such that {formula} is {requirement} "
                f"(got {got}{name} = {value:g})")

    def _native_at(self, values, position, mask):
        """Every numeric native parameter's value at one position of those being set (the
        new value where one is given, else the stored one)."""
        namespace = {}
        index = slice(None) if mask is None else mask
        for name in self.model.params:
            if name in values:
                source = values[name]
            elif name in self.params:
                source = self.params[name][index]
            else:
                continue
            try:
                column = np.atleast_1d(np.asarray(source, dtype=float))
            except (TypeError, ValueError):
                continue
            namespace[name] = column[position] if column.size > position else column[0]
        return namespace

    def _checked_spike_times(self, value, index):
        sequences = np.atleast_1d(np.asarray(value, dtype=object))
        for seq in sequences:
            times = np.asarray(seq.value if hasattr(seq, "value") else seq, dtype=float)
            if times.size and (not np.all(np.isfinite(times)) or np.any(np.diff(times) < 0)
                               or times.min() < 0):
                raise errors.InvalidParameterValueError(
                    "spike_times must be finite, non-negative and sorted in increasing order "
                    f"(got {times.tolist()[:10]}{'...' if times.size > 10 else ''})")
        return sequences

    def _restart(self, index):
        """The model's restart_on_change state of the neurons whose parameters change."""
        for name in getattr(self.model, "restart_on_change", ()):
            self.kernel[name][index] = 0
            self.changed.add(name)

    def get_parameter(self, name):
        return self.params[name]

    # --- derived constants --------------------------------------------------------------

    def update_derived(self, current_step=0, changed=None, cells=slice(None)):
        """
        Recompute kernel copies of parameters and the derived constants: of everything, or,
        after a set(), of what depends on the `changed` parameters of the given `cells` only
        (where the model declares the inputs of its derive(); NeuronModelDef.derive_inputs).
        """
        model = self.model
        if self.holds_spike_times and "spike_times" in self.params:
            self._update_spike_tables(current_step)
        if any(name not in self.params for name in model.params):
            return  # still being constructed
        everything = changed is None or not self._derived_once()
        if everything:
            changed, cells = set(model.params), slice(None)
        for name in model.params:
            if name in changed:
                self._store_cells(name, self.params[name][cells].astype(self.scalar), cells)
        if model.derive is None:
            return
        inputs = model.derive_inputs
        if inputs is None:
            # inputs not declared: derive everything from every parameter
            derived = model.derive(self.params, self.dt)
            cells = slice(None)
        elif everything or not changed.isdisjoint(inputs):
            derived = model.derive({name: self.params[name][cells] for name in inputs},
                                   self.dt)
        else:
            return  # none of the inputs changed: the derived constants stay as they are
        for name in model.derived:
            self._store_cells(name, np.asarray(derived[name], dtype=self.scalar), cells)
        for name in model.int_derived:
            self._store_cells(name, np.asarray(derived[name], dtype=INT_DERIVED), cells)
        for name in model.tables:     # derive() may also build group-level tables
            if name in derived:
                self.tables[name] = np.asarray(derived[name], dtype=INT_DERIVED)
                self.changed.add(name)

    def _update_spike_tables(self, current_step):
        table, start, end = spike_source_array_tables(self.params["spike_times"], self.dt,
                                                      self.off_grid)
        self.tables["spike_steps"] = table
        self._store("spikes_end", end.astype(INT_DERIVED))
        self.initial["next_spike"][:] = start
        # the next spike of each neuron is the first one not yet in the past
        pending = np.array([s + np.searchsorted(table[s:e], current_step)
                            for s, e in zip(start, end)], dtype=INT_STATE)
        self._store("next_spike", pending)
        self.changed.add("spike_steps")

    def _derived_once(self):
        """Whether every parameter and derived constant has its kernel array yet."""
        model = self.model
        return all(name in self.kernel
                   for name in model.params + model.derived + model.int_derived)

    def _store_cells(self, name, values, cells):
        """Store the values of some cells (all of them: cells=slice(None))."""
        if isinstance(cells, slice) and cells == slice(None):
            self._store(name, values)
        else:
            self.kernel[name][cells] = values
            self.changed.add(name)

    def _store(self, name, values):
        if name in self.kernel and self.kernel[name].shape == (self.size,):
            self.kernel[name][:] = values
        else:
            self.kernel[name] = np.array(np.broadcast_to(values, (self.size,)))
        self.changed.add(name)

    # --- state ----------------------------------------------------------------------------

    def set_initial(self, name, values, mask=slice(None)):
        """Set initial and current values of a state variable for the masked neurons."""
        _check_initial(name, np.asarray(values, dtype=float), self.initial[name].dtype)
        self.initial[name][mask] = values
        self.kernel[name][mask] = values
        self.changed.add(name)

    def reset_state(self):
        for name, values in self.initial.items():
            self.kernel[name][:] = values
            self.changed.add(name)


def _violation(array, name, constraint):
    """(what is required, position of the first value that is not) for the values of
    native parameter `name`, or None where all are allowed."""
    values = np.atleast_1d(array)
    infinity_allowed = name in MAY_BE_INFINITE
    bad = np.isnan(values) | (values == -np.inf)
    if not infinity_allowed:
        bad |= np.isinf(values)
    if bad.any():
        return ("a finite number or inf" if infinity_allowed else "a finite number",
                int(np.flatnonzero(bad)[0]))
    if constraint is not None:
        bad = constraint.violated_by(values)
        if bad.any():
            return constraint.describe(), int(np.flatnonzero(bad)[0])
    return None


def _standard_origin(translations, native):
    """(standard name, translation entry) of the standard parameter of another name that
    native parameter `native` is computed from, or None."""
    for standard, entry in (translations or {}).items():
        if entry.get("translated_name") == native and standard != native:
            return standard, entry
    return None


def _reverse_value(reverse, namespace):
    """The standard value a native one came from (PyNN's reverse transform), or None where
    it cannot be computed."""
    try:
        with np.errstate(all="ignore"):
            if callable(reverse):
                value = reverse(**namespace)
            else:
                value = eval(reverse, {}, dict(namespace))
        return float(value)
    except Exception:
        return None


def check_finite(values, label, infinity_allowed=False):
    """InvalidParameterValueError unless every value is a number (and finite, unless
    +infinity is allowed)."""
    values = np.atleast_1d(values)
    bad = np.isnan(values) | (values == -np.inf)
    if not infinity_allowed:
        bad |= np.isinf(values)
    if bad.any():
        allowed = "a finite number or inf" if infinity_allowed else "a finite number"
        raise errors.InvalidParameterValueError(
            f"{label} must be {allowed} (got {values[bad][0]})")


def check_state_values(name, values, ctype):
    """check_initial for a state variable declared with `ctype` (a StateVar's): a synapse
    model's state, which the host keeps in float64 whatever its type on the target."""
    dtypes = {"scalar": np.float64, "int32_t": INT_STATE, "int64_t": np.int64}
    _check_initial(name, np.asarray(values, dtype=float), dtypes[ctype])


def _check_initial(name, values, dtype):
    """An initial value must be a finite number; for integer state (counters of steps) a
    whole number the state's type holds, not below zero for a countdown."""
    check_finite(values, f"initial value of {name}")
    if np.dtype(dtype).kind != "i":
        return
    limits = np.iinfo(dtype)
    low = 0 if name in COUNTERS else limits.min
    values = np.atleast_1d(values)
    bad = (values != np.rint(values)) | (values < low) | (values > limits.max)
    if bad.any():
        raise errors.InvalidParameterValueError(
            f"initial value of {name} must be a whole number from {low} to {limits.max} "
            f"(got {values[bad][0]})")
