"""
Adaptive exponential integrate-and-fire models (Brette & Gerstner 2005):
EIF_cond_exp_isfa_ista (NEST aeif_cond_exp) and EIF_cond_alpha_isfa_ista (NEST aeif_cond_alpha).

    cm dv/dt = g_L (v_rest - v) + g_L delta_T exp((v - v_thresh) / delta_T)
               + g_e (e_rev_E - v) + g_i (e_rev_I - v) - w + i_offset + i_inj
    tau_w dw/dt = a (v - v_rest) - w,        g_L = cm / tau_m

Units: v mV, w nA, conductances uS, a nS (hence 1e-3), cm nF, currents nA.

Scheme: n_sub classical RK4 steps on (v, w) per dt (h_sub <= MAX_SUBSTEP["adex"]), with the
synaptic conductances following their exact time course inside every sub-step. As in NEST:
* the right-hand side sees v capped at v_spike, so an RK4 stage that overshoots the spike
  cannot overflow exp();
* the spike is detected after each sub-step (v >= v_spike; v >= v_thresh when delta_T = 0)
  and placed inside it by linear interpolation of v; v is reset and w += b there, and the
  rest of the sub-step and of the step continue from the reset state;
* refractoriness holds v at v_reset (dv/dt = 0) for the rest of the spike's step and then
  round(tau_refrac / dt) whole steps, while w keeps evolving with v = v_reset.
Spikes are reported at the end of the step in which they happen (one per step at most).
"""

import numpy as np
from pyNN.standardmodels import cells

from ..modeldef import NON_NEGATIVE, POSITIVE, NeuronModelDef, StateVar
from .neurons_common import (RECEPTORS, as_float, identity_translations, refractory_steps,
                             require, substeps)

_PARAMS = ("cm", "tau_refrac", "v_spike", "v_reset", "v_rest", "tau_m", "i_offset", "a", "b",
           "delta_T", "tau_w", "v_thresh", "e_rev_E", "tau_syn_E", "e_rev_I", "tau_syn_I")

# NEST's bound on the exponent of the spike current at v_spike (room for 1e20 on top). In
# float precision exp() overflows above about 88: the spike current is then +inf just below
# v_spike, which still makes the spike (v becomes >= v_peak), only sooner.
_MAX_EXPONENT = float(np.log(np.finfo(float).max / 1e20))

# Right-hand side for (v, w), into DV and DW. `_clamped` (refractory) holds v at v_reset.
# One RK4 step of length H on (v, w): conductances GE0/GI0 at its start, GEH/GIH in its middle,
# GE1/GI1 at its end.
_ADEX_SUPPORT = """
#include <math.h>   /* exp, expm1, fabs: nvcc declares them anyway, host compilers need this */
#define _ADEX_RHS(V, W, GE, GI, DV, DW) do { \\
    const scalar _vc = _clamped ? v_reset : ((V) < v_spike ? (V) : v_spike); \\
    DV = _clamped ? (scalar) 0 : \\
        (g_leak * (v_rest - _vc) + spike_scale * exp((_vc - v_thresh) * inv_delta_T) \\
         + (GE) * (e_rev_E - _vc) + (GI) * (e_rev_I - _vc) - (W) + _i_drive) / cm; \\
    DW = (a_uS * (_vc - v_rest) - (W)) / tau_w; \\
} while (0)

#define _ADEX_RK4(H, GE0, GI0, GEH, GIH, GE1, GI1) do { \\
    scalar _dv1, _dw1, _dv2, _dw2, _dv3, _dw3, _dv4, _dw4; \\
    const scalar _half = (scalar) 0.5 * (H); \\
    _ADEX_RHS(v, w, GE0, GI0, _dv1, _dw1); \\
    _ADEX_RHS(v + _half * _dv1, w + _half * _dw1, GEH, GIH, _dv2, _dw2); \\
    _ADEX_RHS(v + _half * _dv2, w + _half * _dw2, GEH, GIH, _dv3, _dw3); \\
    _ADEX_RHS(v + (H) * _dv3, w + (H) * _dw3, GE1, GI1, _dv4, _dw4); \\
    v += (H) / (scalar) 6.0 * (_dv1 + (scalar) 2.0 * (_dv2 + _dv3) + _dv4); \\
    w += (H) / (scalar) 6.0 * (_dw1 + (scalar) 2.0 * (_dw2 + _dw3) + _dw4); \\
} while (0)
"""

# One sub-step: _ge/_gi at its start, _ge_half/_gi_half in its middle, _ge_end/_gi_end at its
# end. A spike is placed inside the sub-step by linear interpolation of v; the reset happens
# there and the rest of the sub-step is integrated from the reset state (resetting at the end
# of the sub-step instead would delay every reset by h_sub/2 on average, an error that
# accumulates from spike to spike). For that rest, the conductances are interpolated linearly
# between the ends of the sub-step (error O((h_sub / tau_syn)^2) relative).
_SUBSTEP = """
    const scalar _v0 = v, _w0 = w;
    _ADEX_RK4(h_sub, _ge, _gi, _ge_half, _gi_half, _ge_end, _gi_end);
    if (!_clamped && v >= v_peak) {
        const scalar _theta = (v > _v0 && _v0 < v_peak) ? (v_peak - _v0) / (v - _v0) : (scalar) 0;
        const scalar _mid = (scalar) 0.5 * ((scalar) 1 + _theta);
        w = _w0 + _theta * (w - _w0) + b;
        v = v_reset;
        _fired = 1;
        /* +1: the count goes down at the end of this step, as in NEST (but for the
           longest count, which lasts for ever anyway) */
        refractory = refractory_steps <= 0 ? 0
                   : refractory_steps < 2147483647 ? (int32_t) refractory_steps + 1
                   : 2147483647;
        _clamped = refractory > 0;
        _ADEX_RK4(((scalar) 1 - _theta) * h_sub,
                  _ge + _theta * (_ge_end - _ge), _gi + _theta * (_gi_end - _gi),
                  _ge + _mid * (_ge_end - _ge), _gi + _mid * (_gi_end - _gi), _ge_end, _gi_end);
    }
"""

_STEP_START = """
const scalar _i_drive = i_offset + i_inj;
int _fired = 0;
int _clamped = refractory > 0;
"""

_STEP_END = """
if (refractory > 0) {
    refractory -= 1;
}
"""


def adex_constants(params, dt):
    """The membrane's derived constants (and checks across its parameters); the composed
    PointNeuron(AdExp, ...) uses them too."""
    cm, tau_m = as_float(params, "cm"), as_float(params, "tau_m")
    delta_t = as_float(params, "delta_T")
    v_spike, v_thresh = as_float(params, "v_spike"), as_float(params, "v_thresh")
    require(v_spike >= v_thresh, "v_spike must be >= v_thresh (NEST: V_peak >= V_th)")
    require(as_float(params, "v_reset") < v_spike, "v_reset must be below v_spike")
    exponent = np.where(delta_t > 0, (v_spike - v_thresh) / np.where(delta_t > 0, delta_t, 1), 0)
    require(exponent <= _MAX_EXPONENT,
            f"(v_spike - v_thresh) / delta_T must be <= {_MAX_EXPONENT:.0f}: exp() of the spike "
            "current would overflow; raise delta_T or lower v_spike")
    # the leak's and the adaptation's decay rates (1/ms)
    fastest = np.maximum(1.0 / tau_m, 1.0 / as_float(params, "tau_w"))
    n_sub, h_sub = substeps("adex", dt, cm.size, fastest)
    g_leak = cm / tau_m
    derived = {
        "g_leak": g_leak,
        "a_uS": 1e-3 * as_float(params, "a"),
        # delta_T = 0 is the plain IF limit: no spike current, threshold at v_thresh (NEST)
        "spike_scale": g_leak * delta_t,
        "inv_delta_T": np.where(delta_t > 0, 1.0 / np.where(delta_t > 0, delta_t, 1), 0.0),
        "v_peak": np.where(delta_t > 0, v_spike, v_thresh),
        "h_sub": h_sub, "n_sub": n_sub,
        "refractory_steps": refractory_steps(params, dt),
    }
    return derived


def _derive(params, dt):
    derived = adex_constants(params, dt)
    h_sub = derived["h_sub"]
    for short, tau in (("e", "tau_syn_E"), ("i", "tau_syn_I")):
        tau = as_float(params, tau)
        derived[f"P{short}_sub"] = np.exp(-h_sub / tau)
        derived[f"P{short}_half"] = np.exp(-0.5 * h_sub / tau)
        derived[f"jump_{short}"] = np.e / tau
    return derived


_CONSTRAINTS = {"cm": POSITIVE, "tau_m": POSITIVE, "tau_w": POSITIVE, "tau_syn_E": POSITIVE,
                "tau_syn_I": POSITIVE, "tau_refrac": NON_NEGATIVE, "delta_T": NON_NEGATIVE}
_DERIVED = ("g_leak", "a_uS", "spike_scale", "inv_delta_T", "v_peak", "h_sub",
            "Pe_sub", "Pe_half", "Pi_sub", "Pi_half")
_STATE = (StateVar("v"), StateVar("w"), StateVar("refractory", "int32_t"),
          StateVar("gsyn_exc"), StateVar("gsyn_inh"))

EIF_COND_EXP_MODEL = NeuronModelDef(
    name="eif_cond_exp_isfa_ista",
    params=_PARAMS,
    state=_STATE,
    derived=_DERIVED,
    int_derived=("n_sub", "refractory_steps"),
    receptors=("exc", "inh"),
    support=_ADEX_SUPPORT,
    update=_STEP_START + """
scalar _ge = gsyn_exc, _gi = gsyn_inh;
for (int64_t _k = 0; _k < n_sub; ++_k) {
    const scalar _ge_half = _ge * Pe_half, _gi_half = _gi * Pi_half;
    const scalar _ge_end = _ge * Pe_sub, _gi_end = _gi * Pi_sub;
""" + _SUBSTEP + """
    _ge = _ge_end;
    _gi = _gi_end;
}
gsyn_exc = _ge + in_exc;
gsyn_inh = _gi + in_inh;
""" + _STEP_END,
    threshold="_fired",
    derive=_derive,
    constraints=_CONSTRAINTS,
)

# Alpha conductance inside a sub-step of length s: g(s) = (g0 + dg0 s) exp(-s/tau),
# dg(s) = dg0 exp(-s/tau); an input x makes dg jump by e/tau x, so g peaks at x after tau.
EIF_COND_ALPHA_MODEL = NeuronModelDef(
    name="eif_cond_alpha_isfa_ista",
    params=_PARAMS,
    state=_STATE + (StateVar("dgsyn_exc"), StateVar("dgsyn_inh")),
    derived=_DERIVED + ("jump_e", "jump_i"),
    int_derived=("n_sub", "refractory_steps"),
    receptors=("exc", "inh"),
    support=_ADEX_SUPPORT,
    update=_STEP_START + """
scalar _ge = gsyn_exc, _gi = gsyn_inh, _dge = dgsyn_exc, _dgi = dgsyn_inh;
for (int64_t _k = 0; _k < n_sub; ++_k) {
    const scalar _ge_half = (_ge + (scalar) 0.5 * h_sub * _dge) * Pe_half;
    const scalar _gi_half = (_gi + (scalar) 0.5 * h_sub * _dgi) * Pi_half;
    const scalar _ge_end = (_ge + h_sub * _dge) * Pe_sub;
    const scalar _gi_end = (_gi + h_sub * _dgi) * Pi_sub;
""" + _SUBSTEP + """
    _ge = _ge_end;
    _gi = _gi_end;
    _dge *= Pe_sub;
    _dgi *= Pi_sub;
}
gsyn_exc = _ge;
gsyn_inh = _gi;
dgsyn_exc = _dge + jump_e * in_exc;
dgsyn_inh = _dgi + jump_i * in_inh;
""" + _STEP_END,
    threshold="_fired",
    derive=_derive,
    constraints=_CONSTRAINTS,
)


class EIF_cond_exp_isfa_ista(cells.EIF_cond_exp_isfa_ista):
    __doc__ = cells.EIF_cond_exp_isfa_ista.__doc__
    translations = identity_translations(cells.EIF_cond_exp_isfa_ista)
    model = EIF_COND_EXP_MODEL
    receptor_map = RECEPTORS


class EIF_cond_alpha_isfa_ista(cells.EIF_cond_alpha_isfa_ista):
    __doc__ = cells.EIF_cond_alpha_isfa_ista.__doc__
    translations = identity_translations(cells.EIF_cond_alpha_isfa_ista)
    model = EIF_COND_ALPHA_MODEL
    receptor_map = RECEPTORS
