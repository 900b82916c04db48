"""
GIF_cond_exp: generalised integrate-and-fire neuron with escape noise (Mensi et al. 2012,
Pozzorini et al. 2015), as NEST's gif_cond_exp.

    cm dv/dt = g_L (v_rest - v) + g_e (e_rev_E - v) + g_i (e_rev_I - v) - i_eta + i_offset + i_inj
    i_eta = sum_k eta_k,        eta_k decays with tau_eta[k] and jumps by a_eta[k] at a spike
    v_t = v_t_star + sum_k gamma_k,  gamma_k decays with tau_gamma[k], jumps by a_gamma[k]
    firing intensity lambda = lambda0 exp((v - v_t) / delta_v)

Per step, in NEST's order: v is integrated with i_eta held for the step (one RK4 step with the
exact conductance time course, split into sub-steps when dt (g_leak + g_total) / cm > 1, as
IF_cond_exp: cond_membrane.py), synaptic input is added, then, unless
refractory, a spike happens with probability 1 - exp(-lambda dt) (UNIFORM() from the
counter-based generator, so CPU and CUDA draw the same numbers). A spike starts round(tau_refrac
/ dt) refractory steps during which v is held at v_reset (v is not reset in the spike's own
step, and never if tau_refrac < dt/2, as in NEST). The kernels then decay and step i_eta and
v_t, whose values at the end of a step are those the next step uses (their initial values are
those of the first step).

PyNN gives tau_eta, a_eta, tau_gamma, a_gamma as ArrayParameters. pyNN.gpu has three
kernels of each kind, so each array becomes three scalar parameters (tau_eta0, tau_eta1,
tau_eta2, ...); shorter arrays are padded with kernels of zero amplitude, longer ones are
refused.
"""

from copy import deepcopy

import numpy as np
from pyNN import errors
from pyNN.parameters import ArrayParameter, ParameterSpace
from pyNN.standardmodels import cells

from ..modeldef import NON_NEGATIVE, POSITIVE, NeuronModelDef, StateVar
from .cond_membrane import COND_SUPPORT, exponential, indent, membrane_step
from .neurons_common import RECEPTORS, as_float, identity_translations, refractory_steps

N_KERNELS = 3
ARRAY_PARAMETERS = ("tau_eta", "a_eta", "tau_gamma", "a_gamma")
_PADDING = {"tau_eta": 1.0, "tau_gamma": 1.0, "a_eta": 0.0, "a_gamma": 0.0}
_SCALAR_PARAMS = ("v_rest", "cm", "tau_m", "tau_refrac", "tau_syn_E", "tau_syn_I", "e_rev_E",
                  "e_rev_I", "v_reset", "i_offset", "delta_v", "v_t_star", "lambda0")


def _split_names(name):
    return tuple(f"{name}{k}" for k in range(N_KERNELS))


_KERNEL_PARAMS = sum((_split_names(name) for name in ARRAY_PARAMETERS), ())

_GIF_DVDT = """
#include <math.h>   /* exp, expm1, fabs: nvcc declares them anyway, host compilers need this */
""" + COND_SUPPORT + """
#define _GIF_DVDT(V, GE, GI) \\
    ((g_leak * (v_rest - (V)) + (GE) * (e_rev_E - (V)) + (GI) * (e_rev_I - (V)) + _i_drive) / cm)
"""

_KERNEL_UPDATE = "\n".join(
    f"eta{k} = P_eta{k} * eta{k} + (_fired ? a_eta{k} : (scalar) 0);\n"
    f"gamma{k} = P_gamma{k} * gamma{k} + (_fired ? a_gamma{k} : (scalar) 0);"
    for k in range(N_KERNELS))

_GIF_UPDATE = """
int _fired = 0;
if (refractory == 0) {
    const scalar _i_drive = i_offset + i_inj - i_eta;
    const scalar _ge_0 = gsyn_exc, _ge_half = gsyn_exc * Pe_half, _ge_1 = gsyn_exc * Pe;
    const scalar _gi_0 = gsyn_inh, _gi_half = gsyn_inh * Pi_half, _gi_1 = gsyn_inh * Pi;
""" + indent(membrane_step(
    lambda v, at: f"_GIF_DVDT({v}, {('_ge_0', '_ge_half', '_ge_1')[at]}, "
                  f"{('_gi_0', '_gi_half', '_gi_1')[at]})",
    (exponential(("_ge_0", "_ge_half", "_ge_1"), "gsyn_exc", "tau_syn_E"),
     exponential(("_gi_0", "_gi_half", "_gi_1"), "gsyn_inh", "tau_syn_I")))) + """
}
gsyn_exc = Pe * gsyn_exc + in_exc;
gsyn_inh = Pi * gsyn_inh + in_inh;
if (refractory == 0) {
    /* escape noise: P(spike in this step) = 1 - exp(-lambda dt) */
    const scalar _lambda = rate0 * exp((v - v_t) * inv_delta_v);
    _fired = UNIFORM() < -expm1(-_lambda * dt);
} else {
    refractory -= 1;
    v = v_reset;
}
""" + _KERNEL_UPDATE + f"""
i_eta = {" + ".join(f"eta{k}" for k in range(N_KERNELS))};
v_t = v_t_star + {" + ".join(f"gamma{k}" for k in range(N_KERNELS))};
"""


def _derive(params, dt):
    derived = {"g_leak": as_float(params, "cm") / as_float(params, "tau_m"),
               "rate0": 1e-3 * as_float(params, "lambda0"),      # Hz -> 1/ms
               "inv_delta_v": 1.0 / as_float(params, "delta_v"),
               "refractory_steps": refractory_steps(params, dt)}
    for short, tau in (("e", "tau_syn_E"), ("i", "tau_syn_I")):
        derived[f"P{short}"] = np.exp(-dt / as_float(params, tau))
        derived[f"P{short}_half"] = np.exp(-0.5 * dt / as_float(params, tau))
    for kind in ("eta", "gamma"):
        for k in range(N_KERNELS):
            derived[f"P_{kind}{k}"] = np.exp(-dt / as_float(params, f"tau_{kind}{k}"))
    return derived


GIF_COND_EXP_MODEL = NeuronModelDef(
    name="gif_cond_exp",
    params=_SCALAR_PARAMS + _KERNEL_PARAMS,
    state=(StateVar("v"), StateVar("refractory", "int32_t"), StateVar("gsyn_exc"),
           StateVar("gsyn_inh"), StateVar("i_eta"), StateVar("v_t"))
    + tuple(StateVar(f"{kind}{k}") for kind in ("eta", "gamma") for k in range(N_KERNELS)),
    derived=("g_leak", "rate0", "inv_delta_v", "Pe", "Pe_half", "Pi", "Pi_half")
    + tuple(f"P_{kind}{k}" for kind in ("eta", "gamma") for k in range(N_KERNELS)),
    int_derived=("refractory_steps",),
    receptors=("exc", "inh"),
    support=_GIF_DVDT,
    update=_GIF_UPDATE,
    threshold="_fired",
    reset="refractory = (int32_t) refractory_steps;",
    uses_rng=True,
    derive=_derive,
    constraints=dict({"cm": POSITIVE, "tau_m": POSITIVE, "tau_syn_E": POSITIVE,
                      "tau_syn_I": POSITIVE, "tau_refrac": NON_NEGATIVE, "delta_v": POSITIVE,
                      "lambda0": NON_NEGATIVE},
                     **{name: POSITIVE for name in _KERNEL_PARAMS if name.startswith("tau")}),
)


# --- ArrayParameter <-> three scalars ------------------------------------------------------

def _components(value, name):
    """The N_KERNELS values of one ArrayParameter (or list), padded."""
    values = np.asarray(getattr(value, "value", value), dtype=float).ravel()
    if values.size > N_KERNELS:
        raise errors.InvalidParameterValueError(
            f"{name} has {values.size} elements: pyNN.gpu's GIF_cond_exp has at most "
            f"{N_KERNELS} spike-triggered kernels of each kind")
    return np.concatenate([values, np.full(N_KERNELS - values.size, _PADDING[name])])


def _component_getter(name, k):
    """f(x) -> element k of every ArrayParameter in x (a single one or an object array)."""
    def take(x):
        if isinstance(x, (ArrayParameter, list, tuple)):
            return _components(x, name)[k]
        items = np.asarray(x, dtype=object)
        return np.array([_components(item, name)[k] for item in items.ravel()],
                        dtype=float).reshape(items.shape)
    return take


def _evaluated(value):
    return value.evaluate(simplify=True) if hasattr(value, "evaluate") else value


class GIF_cond_exp(cells.GIF_cond_exp):
    __doc__ = cells.GIF_cond_exp.__doc__
    translations = identity_translations(cells.GIF_cond_exp)
    model = GIF_COND_EXP_MODEL
    receptor_map = RECEPTORS

    def translate(self, parameters, copy=True):
        native = super().translate(parameters, copy=copy)
        for kind in ("eta", "gamma"):
            names = [name for name in (f"tau_{kind}", f"a_{kind}") if name in native.keys()
                     and isinstance(native[name].base_value, ArrayParameter)]
            lengths = {name: native[name].base_value.value.size for name in names}
            if len(set(lengths.values())) > 1:
                raise errors.InvalidParameterValueError(
                    f"tau_{kind} and a_{kind} must have the same length (got {lengths})")
        split = {}
        for name in ARRAY_PARAMETERS:
            if name in native.keys():
                lazy = native[name]
                for k, native_name in enumerate(_split_names(name)):
                    component = deepcopy(lazy)
                    component.apply(_component_getter(name, k))
                    split[native_name] = component
        values = {name: native[name] for name in native.keys() if name not in ARRAY_PARAMETERS}
        values.update(split)
        return ParameterSpace(values, schema=None, shape=native.shape)

    def get_native_names(self, *names):
        result = []
        for name in super().get_native_names(*names):
            result.extend(_split_names(name) if name in ARRAY_PARAMETERS else [name])
        return result

    def reverse_translate(self, native_parameters):
        joined = {}
        for name in ARRAY_PARAMETERS:
            parts = _split_names(name)
            if all(part in native_parameters.keys() for part in parts):
                columns = [np.asarray(_evaluated(native_parameters[part]), dtype=float)
                           for part in parts]
                if all(c.ndim == 0 for c in columns):
                    joined[name] = ArrayParameter([float(c) for c in columns])
                else:
                    rows = np.column_stack([np.broadcast_to(c, native_parameters.shape)
                                            for c in columns])
                    joined[name] = np.array([ArrayParameter(row) for row in rows], dtype=object)
        others = {name: native_parameters[name] for name in native_parameters.keys()
                  if name not in _KERNEL_PARAMS}
        standard = super().reverse_translate(ParameterSpace(others, shape=native_parameters.shape))
        standard.update(**joined)
        return standard
