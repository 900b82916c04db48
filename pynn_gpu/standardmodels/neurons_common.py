"""
Helpers shared by the neuron model definitions (cells.py and neurons_*.py).

Sub-stepping: the non-linear models advance their state by `n_sub` explicit steps of length
`h_sub = dt / n_sub` inside each simulation step. `n_sub` is the smallest count that keeps
`h_sub` at or below the model's entry in MAX_SUBSTEP (ms); the entries come from the error
measurements in docs/numerics.md. Changing an entry before a network is built changes the
scheme of the models built afterwards (the value enters through derive(), not the kernel text).
"""

import numpy as np
from pyNN import errors
from pyNN.standardmodels import build_translations

RECEPTORS = {"excitatory": "exc", "inhibitory": "inh"}

MAX_SUBSTEP = {
    "adex": 0.01,          # ms; EIF_cond_exp_isfa_ista, EIF_cond_alpha_isfa_ista
    "hh": 0.01,            # ms; HH_cond_exp
    "izhikevich": 0.01,    # ms; Izhikevich
}


def identity_translations(cls, exclude=()):
    """PyNN names and units are the native ones: translate every parameter to itself."""
    return build_translations(*[(name, name) for name in cls.default_parameters
                                if name not in exclude])


def as_float(params, name):
    return np.asarray(params[name], dtype=float)


# The refractory counter is an int32_t: a longer refractory period lasts for ever anyway
LONGEST_REFRACTORY_STEPS = np.iinfo(np.int32).max


def refractory_steps(params, dt, name="tau_refrac"):
    """Whole steps of refractoriness: round(tau_refrac / dt), as NEST's refractory counts
    (at most what the counter holds, 2**31 - 1 steps)."""
    steps = np.minimum(np.rint(as_float(params, name) / dt), LONGEST_REFRACTORY_STEPS)
    return steps.astype(np.int64)


# RK4 is stable for a decay rate r while h r < 2.79; sub-steps keep h r <= 2 for the rates
# a cell's parameters bound (fast time constants, large intrinsic conductances), up to this
# many sub-steps per step (the default parameters of every model stay well inside it). Rates
# that depend on the input (large synaptic conductances) or on the spike current are not
# bounded here (docs/numerics.md).
STABLE_STEP_RATE = 2.0
MOST_SUBSTEPS = 2**20


def substeps(model_key, dt, size, fastest_rate=None):
    """(n_sub, h_sub) arrays of the given size: the model's MAX_SUBSTEP entry, and per cell
    as many more as its `fastest_rate` (1/ms, an array; the fastest decay its parameters
    fix) needs for h_sub * rate <= STABLE_STEP_RATE."""
    n_sub = np.full(size, max(1, int(np.ceil(dt / MAX_SUBSTEP[model_key] - 1e-9))),
                    dtype=np.int64)
    if fastest_rate is not None:
        needed = np.ceil(dt * np.asarray(fastest_rate, dtype=float) / STABLE_STEP_RATE - 1e-9)
        n_sub = np.maximum(n_sub, np.minimum(needed, MOST_SUBSTEPS)).astype(np.int64)
    return n_sub, dt / n_sub


def require(condition, message):
    """Cross-parameter checks (a Constraint only sees one parameter at a time)."""
    if not np.all(condition):
        raise errors.InvalidParameterValueError(message)
