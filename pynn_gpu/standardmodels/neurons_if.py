"""
Integrate-and-fire models beyond the four basic ones: IF_curr_delta and IF_cond_exp_gsfa_grr.

IF_curr_delta (NEST iaf_psc_delta)
    Linear membrane, integrated exactly: v <- v_rest + P33 (v - v_rest) + P30 I with
    P33 = exp(-dt/tau_m), P30 = tau_m/cm (1 - exp(-dt/tau_m)). A synaptic weight w is a jump
    of w mV at the end of the step it arrives in (pyNN.nest undoes its nA->pA scaling with
    receptor_scale = 1e-3 for the same result). Input arriving while refractory is discarded,
    as NEST does by default (refractory_input = false).

IF_cond_exp_gsfa_grr (NEST iaf_cond_exp_sfa_rr; Muller et al. 2007)
    IF_cond_exp plus two conductances that jump at each spike and decay exponentially: g_s
    (spike-frequency adaptation, reversal e_rev_sfa) and g_r (relative refractoriness,
    reversal e_rev_rr). g_r and g_s are in nS, as PyNN's units say; gsyn in uS.
    All four conductances are integrated exactly; the membrane, linear in v for given
    conductances, by one classical RK4 step per dt using their exact time course, split into
    ceil(z) sub-steps where z = dt (g_leak + g_total) / cm > 1 (the scheme of IF_cond_exp,
    cond_membrane.py). The conductances keep decaying during refractoriness.
"""

import numpy as np
from pyNN.standardmodels import cells

from ..modeldef import NON_NEGATIVE, POSITIVE, NeuronModelDef, StateVar
from .cond_membrane import COND_SUPPORT, exponential, indent, membrane_step
from .neurons_common import RECEPTORS, as_float, identity_translations, refractory_steps

# --- IF_curr_delta -------------------------------------------------------------------------


def _derive_curr_delta(params, dt):
    tau_m = as_float(params, "tau_m")
    return {
        "P33": np.exp(-dt / tau_m),
        "P30": -np.expm1(-dt / tau_m) * tau_m / as_float(params, "cm"),
        "refractory_steps": refractory_steps(params, dt),
    }


IF_CURR_DELTA_MODEL = NeuronModelDef(
    name="if_curr_delta",
    params=("v_rest", "cm", "tau_m", "tau_refrac", "i_offset", "v_reset", "v_thresh"),
    state=(StateVar("v"), StateVar("refractory", "int32_t")),
    derived=("P33", "P30"),
    int_derived=("refractory_steps",),
    receptors=("exc", "inh"),
    update="""
if (refractory == 0) {
    v = v_rest + P33 * (v - v_rest) + P30 * (i_offset + i_inj) + in_exc + in_inh;
} else {
    refractory -= 1;    /* the input of this step is dropped */
}
""",
    threshold="v >= v_thresh",
    reset="v = v_reset; refractory = (int32_t) refractory_steps;",
    derive=_derive_curr_delta,
    constraints={"tau_m": POSITIVE, "cm": POSITIVE, "tau_refrac": NON_NEGATIVE},
)


class IF_curr_delta(cells.IF_curr_delta):
    __doc__ = cells.IF_curr_delta.__doc__
    translations = identity_translations(cells.IF_curr_delta)
    model = IF_CURR_DELTA_MODEL
    receptor_map = RECEPTORS


# --- IF_cond_exp_gsfa_grr -----------------------------------------------------------------

# dv/dt (mV/ms) for given conductances: gsyn in uS, g_s and g_r in nS (hence 1e-3).
_GSFA_DVDT = COND_SUPPORT + """
#define _GSFA_DVDT(V, GE, GI, GS, GR) \\
    ((g_leak * (v_rest - (V)) + (GE) * (e_rev_E - (V)) + (GI) * (e_rev_I - (V)) \\
      + (scalar) 1e-3 * ((GS) * (e_rev_sfa - (V)) + (GR) * (e_rev_rr - (V))) + _i_drive) / cm)
"""


def _names(short):
    return (f"_g{short}_0", f"_g{short}_half", f"_g{short}_1")


# g_s and g_r in nS: 1e-3 converts their bounds to uS
_GSFA_STEP = membrane_step(
    lambda v, at: f"_GSFA_DVDT({v}, {', '.join(_names(short)[at] for short in 'eisr')})",
    (exponential(_names("e"), "gsyn_exc", "tau_syn_E"),
     exponential(_names("i"), "gsyn_inh", "tau_syn_I"),
     exponential(_names("s"), "g_s", "tau_sfa", scale="(scalar) 1e-3 * "),
     exponential(_names("r"), "g_r", "tau_rr", scale="(scalar) 1e-3 * ")))


def _derive_gsfa_grr(params, dt):
    derived = {"g_leak": as_float(params, "cm") / as_float(params, "tau_m"),
               "refractory_steps": refractory_steps(params, dt)}
    for short, tau in (("e", "tau_syn_E"), ("i", "tau_syn_I"), ("s", "tau_sfa"), ("r", "tau_rr")):
        derived[f"P{short}"] = np.exp(-dt / as_float(params, tau))
        derived[f"P{short}_half"] = np.exp(-0.5 * dt / as_float(params, tau))
    return derived


IF_COND_EXP_GSFA_GRR_MODEL = NeuronModelDef(
    name="if_cond_exp_gsfa_grr",
    params=("v_rest", "cm", "tau_m", "tau_refrac", "tau_syn_E", "tau_syn_I", "e_rev_E",
            "e_rev_I", "v_thresh", "v_reset", "i_offset", "tau_sfa", "e_rev_sfa", "q_sfa",
            "tau_rr", "e_rev_rr", "q_rr"),
    state=(StateVar("v"), StateVar("refractory", "int32_t"), StateVar("gsyn_exc"),
           StateVar("gsyn_inh"), StateVar("g_s"), StateVar("g_r")),
    derived=("g_leak", "Pe", "Pe_half", "Pi", "Pi_half", "Ps", "Ps_half", "Pr", "Pr_half"),
    int_derived=("refractory_steps",),
    receptors=("exc", "inh"),
    support=_GSFA_DVDT,
    update="""
if (refractory == 0) {
    const scalar _i_drive = i_offset + i_inj;
    const scalar _ge_0 = gsyn_exc, _ge_half = gsyn_exc * Pe_half, _ge_1 = gsyn_exc * Pe;
    const scalar _gi_0 = gsyn_inh, _gi_half = gsyn_inh * Pi_half, _gi_1 = gsyn_inh * Pi;
    const scalar _gs_0 = g_s, _gs_half = g_s * Ps_half, _gs_1 = g_s * Ps;
    const scalar _gr_0 = g_r, _gr_half = g_r * Pr_half, _gr_1 = g_r * Pr;
""" + indent(_GSFA_STEP) + """
} else {
    refractory -= 1;
}
gsyn_exc = Pe * gsyn_exc + in_exc;
gsyn_inh = Pi * gsyn_inh + in_inh;
g_s = Ps * g_s;
g_r = Pr * g_r;
""",
    threshold="v >= v_thresh",
    reset="v = v_reset; refractory = (int32_t) refractory_steps; g_s += q_sfa; g_r += q_rr;",
    derive=_derive_gsfa_grr,
    constraints={"tau_m": POSITIVE, "cm": POSITIVE, "tau_syn_E": POSITIVE,
                 "tau_syn_I": POSITIVE, "tau_refrac": NON_NEGATIVE, "tau_sfa": POSITIVE,
                 "tau_rr": POSITIVE, "q_sfa": NON_NEGATIVE, "q_rr": NON_NEGATIVE},
)


class IF_cond_exp_gsfa_grr(cells.IF_cond_exp_gsfa_grr):
    __doc__ = cells.IF_cond_exp_gsfa_grr.__doc__
    translations = identity_translations(cells.IF_cond_exp_gsfa_grr)
    model = IF_COND_EXP_GSFA_GRR_MODEL
    receptor_map = RECEPTORS
