"""
Izhikevich (2003) quadratic integrate-and-fire neuron, as NEST's izhikevich:

    dv/dt = 0.04 v^2 + 5 v + 140 - u + I,     du/dt = a (b v - u)
    v >= 30 mV: v <- c, u <- u + d

v in mV, u in mV/ms, t in ms. I = 1000 (i_offset + i_inj): the model's currents are in pA
through an implicit 1 pF, so a current of x nA moves v at 1000 x mV/ms, as in pyNN.nest
(I_e in pA) and pyNN.brian2 (I / pF). A synaptic weight w is a jump of w mV at the end of the
step it arrives in (NEST adds it with the state update; pyNN.nest sets receptor_scale = 1e-3).

Scheme: n_sub classical RK4 steps on (v, u) per dt (h_sub <= MAX_SUBSTEP["izhikevich"]),
instead of NEST's forward Euler at dt (first order; its error is documented in
docs/numerics.md). The cut-off is tested after every sub-step and the reset applied there, so
the rest of the step continues from (c, u + d); the spike is reported at the end of the step.
No refractory period.
"""

import numpy as np
from pyNN.standardmodels import cells

from ..modeldef import NON_NEGATIVE, NeuronModelDef, StateVar
from .neurons_common import RECEPTORS, as_float, identity_translations, require, substeps

V_PEAK = 30.0   # mV

_IZH_SUPPORT = """
#define _IZH_RHS(V, U, DV, DU) do { \\
    DV = (scalar) 0.04 * (V) * (V) + (scalar) 5 * (V) + (scalar) 140 - (U) + _drive; \\
    DU = a * (b * (V) - (U)); \\
} while (0)

/* one RK4 step of length H on (v, u) */
#define _IZH_RK4(H) do { \\
    scalar _dv1, _du1, _dv2, _du2, _dv3, _du3, _dv4, _du4; \\
    const scalar _half = (scalar) 0.5 * (H); \\
    _IZH_RHS(v, u, _dv1, _du1); \\
    _IZH_RHS(v + _half * _dv1, u + _half * _du1, _dv2, _du2); \\
    _IZH_RHS(v + _half * _dv2, u + _half * _du2, _dv3, _du3); \\
    _IZH_RHS(v + (H) * _dv3, u + (H) * _du3, _dv4, _du4); \\
    v += (H) / (scalar) 6.0 * (_dv1 + (scalar) 2.0 * (_dv2 + _dv3) + _dv4); \\
    u += (H) / (scalar) 6.0 * (_du1 + (scalar) 2.0 * (_du2 + _du3) + _du4); \\
} while (0)
"""

# The cut-off is placed inside the sub-step by linear interpolation of v; the reset happens
# there and the rest of the sub-step is integrated from (c, u + d), so resets are not
# delayed to the end of a sub-step (that delay would accumulate from spike to spike).
_IZH_UPDATE = f"""
const scalar _drive = (scalar) 1000 * (i_offset + i_inj);   /* nA -> mV/ms through 1 pF */
int _fired = 0;
for (int64_t _k = 0; _k < n_sub; ++_k) {{
    const scalar _v0 = v, _u0 = u;
    _IZH_RK4(h_sub);
    if (v >= (scalar) {V_PEAK}) {{
        const scalar _theta = _v0 < (scalar) {V_PEAK}
            ? ((scalar) {V_PEAK} - _v0) / (v - _v0) : (scalar) 0;
        u = _u0 + _theta * (u - _u0) + d;
        v = c;
        _fired = 1;
        _IZH_RK4(((scalar) 1 - _theta) * h_sub);
    }}
}}
v += in_exc + in_inh;      /* weights are jumps in mV */
"""


def _derive(params, dt):
    require(as_float(params, "c") < V_PEAK,
            f"c (the reset potential) must be below the spike cut-off {V_PEAK:g} mV")
    # u's decay rate a (1/ms)
    n_sub, h_sub = substeps("izhikevich", dt, as_float(params, "c").size,
                            np.abs(as_float(params, "a")))
    return {"h_sub": h_sub, "n_sub": n_sub}


IZHIKEVICH_MODEL = NeuronModelDef(
    name="izhikevich",
    params=("a", "b", "c", "d", "i_offset"),
    state=(StateVar("v"), StateVar("u")),
    derived=("h_sub",),
    int_derived=("n_sub",),
    receptors=("exc", "inh"),
    support=_IZH_SUPPORT,
    update=_IZH_UPDATE,
    # a jump of input may also carry v over the cut-off at the end of the step
    threshold=f"_fired || v >= (scalar) {V_PEAK}",
    reset=f"if (v >= (scalar) {V_PEAK}) {{ v = c; u += d; }}",
    derive=_derive,
    constraints={"a": NON_NEGATIVE},
    capacitance=0.001,      # the implicit 1 pF (module docstring)
)


class Izhikevich(cells.Izhikevich):
    __doc__ = cells.Izhikevich.__doc__
    translations = identity_translations(cells.Izhikevich)
    model = IZHIKEVICH_MODEL
    receptor_map = RECEPTORS
