"""
HH_cond_exp: the Traub & Miles (1991) Hodgkin-Huxley variant of NEST's hh_cond_exp_traub
(Brette et al. 2007, benchmark 3), with exponential synaptic conductances.

    cm dv/dt = g_leak (e_rev_leak - v) + gbar_Na m^3 h (e_rev_Na - v) + gbar_K n^4 (e_rev_K - v)
               + g_e (e_rev_E - v) + g_i (e_rev_I - v) + i_offset + i_inj
    dx/dt = alpha_x(V) (1 - x) - beta_x(V) x  for x in m, h, n,   V = v - v_offset

with NEST's rate functions (1/ms, V in mV):
    alpha_n = 0.032 (15 - V) / (exp((15 - V)/5) - 1),  beta_n = 0.5 exp((10 - V)/40),
    alpha_m = 0.32 (13 - V) / (exp((13 - V)/4) - 1),   beta_m = 0.28 (V - 40) / (exp((V-40)/5) - 1),
    alpha_h = 0.128 exp((17 - V)/18),                  beta_h = 4 / (1 + exp((40 - V)/5))

Scheme: n_sub classical RK4 steps on (v, m, h, n) per dt (h_sub <= MAX_SUBSTEP["hh"]), the
synaptic conductances following their exact time course inside every sub-step.

Spikes as in NEST: at the end of a step, a spike is emitted if v >= v_offset + 30 mV and v
fell during the step (the step after the peak), unless one was emitted in the last 2 ms
(NEST's t_ref; PyNN's HH_cond_exp has no refractory parameter). There is no reset.
m, h and n are recordable (as in pyNN.brian2 and pyNN.nest); there are no gap junctions.
"""

import numpy as np
from pyNN.standardmodels import cells

from ..modeldef import NON_NEGATIVE, POSITIVE, NeuronModelDef, StateVar
from .neurons_common import RECEPTORS, as_float, identity_translations, substeps

SPIKE_DEAD_TIME = 2.0     # ms, NEST hh_cond_exp_traub's default t_ref
SPIKE_HEIGHT = 30.0       # mV above v_offset

_HH_SUPPORT = """
#include <math.h>   /* exp, expm1, fabs: nvcc declares them anyway, host compilers need this */
/* x / (exp(x) - 1), with its limit 1 - x/2 near the removable singularity at x = 0 */
DEVICE_FN scalar hh_x_over_expm1(const scalar x)
{
    return fabs(x) < (scalar) 1e-6 ? (scalar) 1 - (scalar) 0.5 * x : x / expm1(x);
}

/* Right-hand side of (v, m, h, n) into DV, DM, DH, DN (mV/ms and 1/ms). */
#define _HH_RHS(V, M, H, N, GE, GI, DV, DM, DH, DN) do { \\
    const scalar _u = (V) - v_offset; \\
    const scalar _am = (scalar) 1.28 * hh_x_over_expm1(((scalar) 13 - _u) / (scalar) 4); \\
    const scalar _bm = (scalar) 1.4 * hh_x_over_expm1((_u - (scalar) 40) / (scalar) 5); \\
    const scalar _ah = (scalar) 0.128 * exp(((scalar) 17 - _u) / (scalar) 18); \\
    const scalar _bh = (scalar) 4 / ((scalar) 1 + exp(((scalar) 40 - _u) / (scalar) 5)); \\
    const scalar _an = (scalar) 0.16 * hh_x_over_expm1(((scalar) 15 - _u) / (scalar) 5); \\
    const scalar _bn = (scalar) 0.5 * exp(((scalar) 10 - _u) / (scalar) 40); \\
    const scalar _m3h = (M) * (M) * (M) * (H), _n4 = (N) * (N) * (N) * (N); \\
    DV = (g_leak * (e_rev_leak - (V)) + gbar_Na * _m3h * (e_rev_Na - (V)) \\
          + gbar_K * _n4 * (e_rev_K - (V)) + (GE) * (e_rev_E - (V)) + (GI) * (e_rev_I - (V)) \\
          + _i_drive) / cm; \\
    DM = _am - (_am + _bm) * (M); \\
    DH = _ah - (_ah + _bh) * (H); \\
    DN = _an - (_an + _bn) * (N); \\
} while (0)
"""

_HH_UPDATE = """
const scalar _i_drive = i_offset + i_inj;
const scalar _v_old = v;
scalar _ge = gsyn_exc, _gi = gsyn_inh;
for (int64_t _k = 0; _k < n_sub; ++_k) {
    const scalar _hh = (scalar) 0.5 * h_sub;
    const scalar _ge_half = _ge * Pe_half, _gi_half = _gi * Pi_half;
    const scalar _ge_end = _ge * Pe_sub, _gi_end = _gi * Pi_sub;
    scalar _dv1, _dm1, _dh1, _dn1, _dv2, _dm2, _dh2, _dn2;
    scalar _dv3, _dm3, _dh3, _dn3, _dv4, _dm4, _dh4, _dn4;
    _HH_RHS(v, m, h, n, _ge, _gi, _dv1, _dm1, _dh1, _dn1);
    _HH_RHS(v + _hh * _dv1, m + _hh * _dm1, h + _hh * _dh1, n + _hh * _dn1,
            _ge_half, _gi_half, _dv2, _dm2, _dh2, _dn2);
    _HH_RHS(v + _hh * _dv2, m + _hh * _dm2, h + _hh * _dh2, n + _hh * _dn2,
            _ge_half, _gi_half, _dv3, _dm3, _dh3, _dn3);
    _HH_RHS(v + h_sub * _dv3, m + h_sub * _dm3, h + h_sub * _dh3, n + h_sub * _dn3,
            _ge_end, _gi_end, _dv4, _dm4, _dh4, _dn4);
    const scalar _w6 = h_sub / (scalar) 6.0;
    v += _w6 * (_dv1 + (scalar) 2.0 * (_dv2 + _dv3) + _dv4);
    m += _w6 * (_dm1 + (scalar) 2.0 * (_dm2 + _dm3) + _dm4);
    h += _w6 * (_dh1 + (scalar) 2.0 * (_dh2 + _dh3) + _dh4);
    n += _w6 * (_dn1 + (scalar) 2.0 * (_dn2 + _dn3) + _dn4);
    _ge = _ge_end;
    _gi = _gi_end;
}
gsyn_exc = _ge + in_exc;
gsyn_inh = _gi + in_inh;
const int _may_fire = refractory == 0;
if (!_may_fire) {
    refractory -= 1;
}
"""


def _derive(params, dt):
    # the membrane's fastest rate: every channel open (m^3 h and n^4 are at most 1), 1/ms
    conductance = sum(as_float(params, g) for g in ("g_leak", "gbar_Na", "gbar_K"))
    n_sub, h_sub = substeps("hh", dt, np.size(params["cm"]),
                            conductance / as_float(params, "cm"))
    derived = {"h_sub": h_sub, "n_sub": n_sub,
               "refractory_steps": np.full(n_sub.shape, int(round(SPIKE_DEAD_TIME / dt)),
                                           dtype=np.int64)}
    for short, tau in (("e", "tau_syn_E"), ("i", "tau_syn_I")):
        tau = as_float(params, tau)
        derived[f"P{short}_sub"] = np.exp(-h_sub / tau)
        derived[f"P{short}_half"] = np.exp(-0.5 * h_sub / tau)
    return derived


HH_COND_EXP_MODEL = NeuronModelDef(
    name="hh_cond_exp",
    params=("gbar_Na", "gbar_K", "g_leak", "cm", "v_offset", "e_rev_Na", "e_rev_K",
            "e_rev_leak", "e_rev_E", "e_rev_I", "tau_syn_E", "tau_syn_I", "i_offset"),
    state=(StateVar("v"), StateVar("m"), StateVar("h"), StateVar("n"), StateVar("gsyn_exc"),
           StateVar("gsyn_inh"), StateVar("refractory", "int32_t")),
    derived=("h_sub", "Pe_sub", "Pe_half", "Pi_sub", "Pi_half"),
    int_derived=("n_sub", "refractory_steps"),
    receptors=("exc", "inh"),
    support=_HH_SUPPORT,
    update=_HH_UPDATE,
    threshold=f"_may_fire && v >= v_offset + (scalar) {SPIKE_HEIGHT} && _v_old > v",
    reset="refractory = (int32_t) refractory_steps;",
    derive=_derive,
    constraints={"cm": POSITIVE, "tau_syn_E": POSITIVE, "tau_syn_I": POSITIVE,
                 "gbar_Na": NON_NEGATIVE, "gbar_K": NON_NEGATIVE, "g_leak": NON_NEGATIVE},
)


class HH_cond_exp(cells.HH_cond_exp):
    __doc__ = cells.HH_cond_exp.__doc__
    translations = identity_translations(cells.HH_cond_exp)
    model = HH_COND_EXP_MODEL
    receptor_map = RECEPTORS
    receptor_types = ("excitatory", "inhibitory")        # no gap junctions
    recordable = ["spikes", "v", "gsyn_exc", "gsyn_inh", "m", "h", "n"]
