"""
Standard cell types: PyNN's parameter names translated (one to one, PyNN units throughout)
and the model definition the code generator turns into kernels.

Integration schemes
-------------------
* IF_curr_exp, IF_curr_alpha: exact integration (propagator matrices, see propagators.py),
  with NEST's order of operations: membrane first with the synaptic currents of the previous
  step, then the currents decay, then the input arriving in this step is added.
* IF_cond_exp, IF_cond_alpha (and IF_facets_hardware1): the conductances are integrated
  exactly; the membrane equation, linear in v for given conductances, by the classical
  4th-order Runge-Kutta scheme using the exact conductance time course inside the step: one
  step per dt, or, where z = dt (g_leak + g_syn) / cm > 1 (RK4 is unstable beyond 2.785),
  ceil(z) sub-steps with the conductances from their closed forms (cond_membrane.py).
* Refractoriness clamps v at v_reset for round(tau_refrac / dt) steps; synapses keep going.

The other cell types live in neurons_*.py (one module per family, each with its scheme in its
docstring; measured errors in docs/numerics.md) and are imported here, so that this module
lists every standard cell type of pyNN.gpu.
"""

import logging
import math

import numpy as np
from pyNN import errors
from pyNN.standardmodels import build_translations, cells

from ..modeldef import NON_NEGATIVE, POSITIVE, NeuronModelDef, StateVar
from .cond_membrane import COND_SUPPORT, alpha, exponential, indent, membrane_step
from .neurons_adex import EIF_cond_alpha_isfa_ista, EIF_cond_exp_isfa_ista  # noqa: F401
from .neurons_common import RECEPTORS as _RECEPTORS
from .neurons_common import identity_translations as _identity_translations
from .neurons_common import refractory_steps as _refractory_steps
from .neurons_gif import GIF_cond_exp  # noqa: F401
from .neurons_hh import HH_cond_exp  # noqa: F401
from .neurons_if import IF_cond_exp_gsfa_grr, IF_curr_delta  # noqa: F401
from .neurons_izhikevich import Izhikevich  # noqa: F401
from .propagators import curr_alpha_matrix, curr_exp_matrix, propagators
from .steps import time_steps, whole_steps

logger = logging.getLogger("PyNN")

E = math.e


_IF_CONSTRAINTS = {
    "tau_m": POSITIVE, "cm": POSITIVE, "tau_syn_E": POSITIVE, "tau_syn_I": POSITIVE,
    "tau_refrac": NON_NEGATIVE,
}

_IF_STATE = (StateVar("v"), StateVar("refractory", "int32_t"))


# --- current-based, exponential synapses ---------------------------------------------------

# the parameters the propagators depend on; with tau_refrac, all that derive() reads
_PROPAGATOR_INPUTS = ("tau_m", "cm", "tau_syn_E", "tau_syn_I")


def _derive_curr_exp(params, dt):
    p = propagators(curr_exp_matrix, {k: params[k] for k in _PROPAGATOR_INPUTS}, dt)
    return {
        "P11e": p[:, 0, 0], "P11i": p[:, 1, 1],
        "P21e": p[:, 2, 0], "P21i": p[:, 2, 1], "P22": p[:, 2, 2], "P20": p[:, 2, 3],
        "refractory_steps": _refractory_steps(params, dt),
    }


IF_CURR_EXP_MODEL = NeuronModelDef(
    name="if_curr_exp",
    params=("v_rest", "cm", "tau_m", "tau_refrac", "tau_syn_E", "tau_syn_I", "i_offset",
            "v_reset", "v_thresh"),
    state=_IF_STATE + (StateVar("isyn_exc"), StateVar("isyn_inh")),
    derived=("P11e", "P11i", "P21e", "P21i", "P22", "P20"),
    int_derived=("refractory_steps",),
    receptors=("exc", "inh"),
    update="""
if (refractory == 0) {
    v = v_rest + P22 * (v - v_rest) + P21e * isyn_exc + P21i * isyn_inh
        + P20 * (i_offset + i_inj);
} else {
    refractory -= 1;
}
isyn_exc = P11e * isyn_exc + in_exc;
isyn_inh = P11i * isyn_inh + in_inh;
""",
    threshold="v >= v_thresh",
    reset="v = v_reset; refractory = (int32_t) refractory_steps;",
    derive=_derive_curr_exp,
    derive_inputs=_PROPAGATOR_INPUTS + ("tau_refrac",),
    constraints=_IF_CONSTRAINTS,
)


# --- current-based, alpha synapses ---------------------------------------------------------

def _derive_curr_alpha(params, dt):
    p = propagators(curr_alpha_matrix, {k: params[k] for k in _PROPAGATOR_INPUTS}, dt)
    return {
        "Pdd_e": p[:, 0, 0], "PId_e": p[:, 1, 0], "PII_e": p[:, 1, 1],
        "Pdd_i": p[:, 2, 2], "PId_i": p[:, 3, 2], "PII_i": p[:, 3, 3],
        "Pyd_e": p[:, 4, 0], "PyI_e": p[:, 4, 1], "Pyd_i": p[:, 4, 2], "PyI_i": p[:, 4, 3],
        "Pyy": p[:, 4, 4], "Pyu": p[:, 4, 5],
        "jump_e": E / np.asarray(params["tau_syn_E"], dtype=float),
        "jump_i": E / np.asarray(params["tau_syn_I"], dtype=float),
        "refractory_steps": _refractory_steps(params, dt),
    }


IF_CURR_ALPHA_MODEL = NeuronModelDef(
    name="if_curr_alpha",
    params=IF_CURR_EXP_MODEL.params,
    state=_IF_STATE + (StateVar("isyn_exc"), StateVar("isyn_inh"),
                       StateVar("disyn_exc"), StateVar("disyn_inh")),
    derived=("Pdd_e", "PId_e", "PII_e", "Pdd_i", "PId_i", "PII_i",
             "Pyd_e", "PyI_e", "Pyd_i", "PyI_i", "Pyy", "Pyu", "jump_e", "jump_i"),
    int_derived=("refractory_steps",),
    receptors=("exc", "inh"),
    update="""
if (refractory == 0) {
    v = v_rest + Pyy * (v - v_rest) + Pyd_e * disyn_exc + PyI_e * isyn_exc
        + Pyd_i * disyn_inh + PyI_i * isyn_inh + Pyu * (i_offset + i_inj);
} else {
    refractory -= 1;
}
isyn_exc = PId_e * disyn_exc + PII_e * isyn_exc;
disyn_exc = Pdd_e * disyn_exc + jump_e * in_exc;
isyn_inh = PId_i * disyn_inh + PII_i * isyn_inh;
disyn_inh = Pdd_i * disyn_inh + jump_i * in_inh;
""",
    threshold="v >= v_thresh",
    reset="v = v_reset; refractory = (int32_t) refractory_steps;",
    derive=_derive_curr_alpha,
    derive_inputs=_PROPAGATOR_INPUTS + ("tau_refrac",),
    constraints=_IF_CONSTRAINTS,
)


# --- conductance-based ---------------------------------------------------------------------

_COND_PARAMS = ("v_rest", "cm", "tau_m", "tau_refrac", "tau_syn_E", "tau_syn_I",
                "e_rev_E", "e_rev_I", "v_thresh", "v_reset", "i_offset")

# dv/dt for given conductances; the locals it names are loaded by the kernel template.
_COND_DVDT = COND_SUPPORT + """
#define _COND_DVDT(V, GE, GI) \\
    ((g_leak * (v_rest - (V)) + (GE) * (e_rev_E - (V)) + (GI) * (e_rev_I - (V)) + _i_drive) / cm)
"""

_GE, _GI = ("ge0", "ge_half", "ge_end"), ("gi0", "gi_half", "gi_end")


def _cond_step(excitatory, inhibitory):
    """The membrane step (cond_membrane.py) with the excitatory and inhibitory conductances."""
    step = membrane_step(
        lambda v, at: f"_COND_DVDT({v}, {excitatory.names[at]}, {inhibitory.names[at]})",
        (excitatory, inhibitory))
    return "    const scalar _i_drive = i_offset + i_inj;\n" + indent(step) + "\n"


def _derive_cond(params, dt):
    tau_e = np.asarray(params["tau_syn_E"], dtype=float)
    tau_i = np.asarray(params["tau_syn_I"], dtype=float)
    return {
        "g_leak": np.asarray(params["cm"], dtype=float) / np.asarray(params["tau_m"], float),
        "Pe": np.exp(-dt / tau_e), "Pe_half": np.exp(-0.5 * dt / tau_e),
        "Pi": np.exp(-dt / tau_i), "Pi_half": np.exp(-0.5 * dt / tau_i),
        "jump_e": E / tau_e, "jump_i": E / tau_i,
        "refractory_steps": _refractory_steps(params, dt),
    }


IF_COND_EXP_MODEL = NeuronModelDef(
    name="if_cond_exp",
    params=_COND_PARAMS,
    state=_IF_STATE + (StateVar("gsyn_exc"), StateVar("gsyn_inh")),
    derived=("g_leak", "Pe", "Pe_half", "Pi", "Pi_half"),
    int_derived=("refractory_steps",),
    receptors=("exc", "inh"),
    support=_COND_DVDT,
    update="""
if (refractory == 0) {
    const scalar ge0 = gsyn_exc, ge_half = gsyn_exc * Pe_half, ge_end = gsyn_exc * Pe;
    const scalar gi0 = gsyn_inh, gi_half = gsyn_inh * Pi_half, gi_end = gsyn_inh * Pi;
""" + _cond_step(exponential(_GE, "gsyn_exc", "tau_syn_E"),
                  exponential(_GI, "gsyn_inh", "tau_syn_I")) + """
} else {
    refractory -= 1;
}
gsyn_exc = Pe * gsyn_exc + in_exc;
gsyn_inh = Pi * gsyn_inh + in_inh;
""",
    threshold="v >= v_thresh",
    reset="v = v_reset; refractory = (int32_t) refractory_steps;",
    derive=_derive_cond,
    constraints=_IF_CONSTRAINTS,
)


IF_COND_ALPHA_MODEL = NeuronModelDef(
    name="if_cond_alpha",
    params=_COND_PARAMS,
    state=_IF_STATE + (StateVar("gsyn_exc"), StateVar("gsyn_inh"),
                       StateVar("dgsyn_exc"), StateVar("dgsyn_inh")),
    derived=("g_leak", "Pe", "Pe_half", "Pi", "Pi_half", "jump_e", "jump_i"),
    int_derived=("refractory_steps",),
    receptors=("exc", "inh"),
    support=_COND_DVDT,
    # Alpha conductance: g(s) = (g0 + dg0 s) exp(-s / tau), dg(s) = dg0 exp(-s / tau).
    update="""
if (refractory == 0) {
    const scalar ge0 = gsyn_exc, gi0 = gsyn_inh;
    const scalar ge_half = (gsyn_exc + (scalar) 0.5 * dt * dgsyn_exc) * Pe_half;
    const scalar gi_half = (gsyn_inh + (scalar) 0.5 * dt * dgsyn_inh) * Pi_half;
    const scalar ge_end = (gsyn_exc + dt * dgsyn_exc) * Pe;
    const scalar gi_end = (gsyn_inh + dt * dgsyn_inh) * Pi;
""" + _cond_step(alpha(_GE, "gsyn_exc", "dgsyn_exc", "tau_syn_E"),
                  alpha(_GI, "gsyn_inh", "dgsyn_inh", "tau_syn_I")) + """
} else {
    refractory -= 1;
}
gsyn_exc = (gsyn_exc + dt * dgsyn_exc) * Pe;
dgsyn_exc = dgsyn_exc * Pe + jump_e * in_exc;
gsyn_inh = (gsyn_inh + dt * dgsyn_inh) * Pi;
dgsyn_inh = dgsyn_inh * Pi + jump_i * in_inh;
""",
    threshold="v >= v_thresh",
    reset="v = v_reset; refractory = (int32_t) refractory_steps;",
    derive=_derive_cond,
    constraints=_IF_CONSTRAINTS,
)


# --- spike sources -------------------------------------------------------------------------

def _derive_poisson(params, dt):
    start = np.asarray(params["start"], dtype=float)
    rate = np.asarray(params["rate"], dtype=float)
    if np.any(rate * dt / 1000.0 > 1.0):
        # at most one spike per step: such a source fires in every step, at 1/dt
        logger.warning("SpikeSourcePoisson rate %g Hz is above one spike per time step "
                       "(%g Hz at dt = %g ms): a source emits at most one spike per step, so "
                       "it fires at %g Hz", float(np.max(rate)), 1000.0 / dt, dt,
                       1000.0 / dt)
    return {
        "p_spike": rate * dt / 1000.0,
        "start_step": time_steps(start, dt),
        "stop_step": time_steps(start + params["duration"], dt),
    }


# One spike at most per step: p = rate * dt is the expected count per step, exact in mean.
SPIKE_SOURCE_POISSON_MODEL = NeuronModelDef(
    name="spike_source_poisson",
    params=("rate", "start", "duration"),
    state=(),
    derived=("p_spike",),
    int_derived=("start_step", "stop_step"),
    threshold="_step >= start_step && _step < stop_step && UNIFORM() < p_spike",
    derive=_derive_poisson,
    uses_rng=True,
    constraints={"rate": NON_NEGATIVE, "start": NON_NEGATIVE, "duration": NON_NEGATIVE},
)


def spike_emission_steps(times, dt, off_grid=False):
    """
    The step in which a spike source emits a spike at time t. On the grid (default), the
    step that ends at t rounded to the nearest step (round(t/dt) - 1), so that it is
    recorded at that time and delivered at it + delay, as in NEST; off the grid
    (setup(spike_precision="off_grid")), the step that contains t, t in (t_k, t_k + dt].
    Spikes at t < dt are emitted in the first step.
    """
    times = np.asarray(times, dtype=float)
    if off_grid:
        steps = whole_steps(np.ceil(times / dt * (1 - 1e-12) - 1e-9))
    else:
        steps = time_steps(times, dt)
    return np.maximum(steps - 1, 0)


# the table's positions are int32_t (next_spike): a population holds at most this many times
MOST_SPIKE_TIMES = 2**31 - 1


def spike_source_array_tables(spike_times, dt, off_grid=False):
    """Flatten per-neuron spike times into one sorted table of emission steps."""
    steps = [spike_emission_steps(seq.value if hasattr(seq, "value") else seq, dt, off_grid)
             for seq in spike_times]
    merged = sum(int(np.count_nonzero(np.diff(s) == 0)) for s in steps)
    if merged:
        logger.warning("%d spike time(s) of a SpikeSourceArray fall in the same time step "
                       "(%g ms) as an earlier one of the same neuron: a neuron emits at most "
                       "one spike per step, so they are merged into it", merged, dt)
    counts = np.array([len(s) for s in steps], dtype=np.int64)
    end = np.cumsum(counts)
    if len(end) and end[-1] > MOST_SPIKE_TIMES:
        raise errors.InvalidParameterValueError(
            f"spike_times: a SpikeSourceArray population holds at most {MOST_SPIKE_TIMES} "
            f"spike times in all (got {int(end[-1])}); split its neurons into populations")
    table = np.concatenate(steps) if len(steps) else np.zeros(0, np.int64)
    return table.astype(np.int64), (end - counts), end


SPIKE_SOURCE_ARRAY_MODEL = NeuronModelDef(
    name="spike_source_array",
    params=(),
    state=(StateVar("next_spike", "int32_t"),),
    int_derived=("spikes_end",),
    tables=("spike_steps",),
    update="""
int _emit = 0;
while (next_spike < spikes_end && spike_steps[next_spike] <= _step) {
    _emit |= (spike_steps[next_spike] == _step);
    next_spike += 1;
}
""",
    threshold="_emit",
)


# --- PyNN classes --------------------------------------------------------------------------


class IF_curr_exp(cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    translations = _identity_translations(cells.IF_curr_exp)
    model = IF_CURR_EXP_MODEL
    receptor_map = _RECEPTORS


class IF_curr_alpha(cells.IF_curr_alpha):
    __doc__ = cells.IF_curr_alpha.__doc__
    translations = _identity_translations(cells.IF_curr_alpha)
    model = IF_CURR_ALPHA_MODEL
    receptor_map = _RECEPTORS


class IF_cond_exp(cells.IF_cond_exp):
    __doc__ = cells.IF_cond_exp.__doc__
    translations = _identity_translations(cells.IF_cond_exp)
    model = IF_COND_EXP_MODEL
    receptor_map = _RECEPTORS


class IF_cond_alpha(cells.IF_cond_alpha):
    __doc__ = cells.IF_cond_alpha.__doc__
    translations = _identity_translations(cells.IF_cond_alpha)
    model = IF_COND_ALPHA_MODEL
    receptor_map = _RECEPTORS


class IF_facets_hardware1(cells.IF_facets_hardware1):
    """
    IF_cond_exp with the values PyNN's IF_facets_hardware1 says a software simulation may
    assume (cm = 0.2 nF, tau_refrac = 1.0 ms, e_rev_E = 0 mV, no offset current), as
    pyNN.nest does (iaf_cond_exp with C_m = 200 pF, t_ref = 1 ms, E_ex = 0 mV). The leak
    conductance g_leak (nS) gives tau_m = cm / g_leak.
    """
    FIXED = {"cm": 0.2, "tau_refrac": 1.0, "e_rev_E": 0.0, "i_offset": 0.0}
    translations = build_translations(
        ("g_leak", "tau_m", "1e3 * 0.2 / g_leak", "1e3 * 0.2 / tau_m"),
        *[(name, name) for name in cells.IF_facets_hardware1.default_parameters
          if name != "g_leak"])
    model = IF_COND_EXP_MODEL
    receptor_map = _RECEPTORS

    def translate(self, parameters, copy=True):
        native = super().translate(parameters, copy=copy)
        native.update(**self.FIXED)
        return native


class SpikeSourcePoisson(cells.SpikeSourcePoisson):
    __doc__ = cells.SpikeSourcePoisson.__doc__
    translations = _identity_translations(cells.SpikeSourcePoisson)
    model = SPIKE_SOURCE_POISSON_MODEL
    receptor_map = {}


class SpikeSourceArray(cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    translations = _identity_translations(cells.SpikeSourceArray)
    model = SPIKE_SOURCE_ARRAY_MODEL
    receptor_map = {}
