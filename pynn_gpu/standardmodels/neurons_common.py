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


def substeps(model_key, dt, size):
    """(n_sub, h_sub) arrays of the given size for the model's MAX_SUBSTEP entry."""
    n_sub = max(1, int(np.ceil(dt / MAX_SUBSTEP[model_key] - 1e-9)))
    return np.full(size, n_sub, dtype=np.int64), np.full(size, dt / n_sub)


def require(condition, message):
    """Cross-parameter checks (a Constraint only sees one parameter at a time)."""
    if not np.all(condition):
        raise errors.InvalidParameterValueError(message)
