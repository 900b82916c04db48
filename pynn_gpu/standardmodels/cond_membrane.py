"""
The membrane step of the conductance-based LIF models: IF_cond_exp, IF_cond_alpha,
IF_facets_hardware1, IF_cond_exp_gsfa_grr, GIF_cond_exp and PointNeuron(LIF, Cond*
receptors). One generator writes it for all of them.

For given conductances the membrane is linear in v,

    cm dv/dt = g_leak (v_rest - v) + sum_k g_k(t) (e_k - v) + I,

and the conductances follow their exact time course, so v is advanced by the classical RK4
scheme with the conductances at the start, the middle and the end of the step. RK4 on
v' = -lambda v is stable only for z = lambda dt <= 2.785, lambda = (g_leak + sum_k g_k) / cm;
beyond that it returns wrong values (and spurious spikes) without any sign. Each step
therefore bounds z from the conductances it already holds:

    z = dt (g_leak + sum_k G_k) / cm,   G_k >= |g_k(s)| for every s in the step

(exponential: G = |g(0)|; alpha and beta: G = |g(0)| + |dg(0)| / N, N the factor an input
gives dg, since the response to dg alone, dg Pgd(s), peaks at dg / N; alpha: 1/N = tau / e).
The check compares dt (g_leak + sum_k G_k) with cm, with no division. If z <= 1 (every usual
case: dt = 0.1 ms, tau_m = 20 ms gives 0.005 plus the synaptic part), v takes the single RK4
step of length dt it always took, with the same arithmetic. Otherwise the step is split into
n = ceil(z) RK4 sub-steps of h = dt / n (z <= 1 in each: stable, and as accurate as a normal
step of that z), the conductances at the sub-step points computed from their closed forms
(pg_exp, the same bits on both targets). n is capped at MAX_SUBSTEPS (z up to 2.785 times it
stays stable).
"""

import math
from dataclasses import dataclass
from typing import Callable, Sequence

from .._paths import kernels_dir

MAX_SUBSTEPS = 1 << 20

# pg_exp (portable_math.h, include-guarded): the same bits on both targets. _COND_RISE:
# (1 - exp(-U)) / U * S without cancellation (U = k S; S for U = 0), the rise of a beta
# response over S before its decay factor; series below |U| = 1e-3 (next term U^4/120).
COND_SUPPORT = (kernels_dir() / "common" / "portable_math.h").read_text() + """
#ifndef _COND_SUBSTEP_SUPPORT
#define _COND_SUBSTEP_SUPPORT
#define _COND_RISE(S, U) (fabs(U) < 1e-3 \\
    ? (S) * (1.0 - (U) * (0.5 - (U) * (1.0 / 6.0 - (U) * (1.0 / 24.0)))) \\
    : (S) * ((1.0 - pg_exp(-(U))) / (U)))
#define _COND_ABS(X) ((X) < (scalar) 0 ? -(X) : (X))
#endif
"""


@dataclass(frozen=True)
class Conductance:
    """
    One conductance as the membrane step sees it.

    names: the C locals dv/dt reads for its value at the start, middle and end of the step
        (the model declares them for the step of length dt; the sub-steps redeclare them);
    bound: C expression of an upper bound of |g(s)| over the step, in the units of g_leak;
    at: function of a C expression S (double, ms from the start of the step) giving the
        C expression of g at S (scalar).
    """
    names: Sequence[str]
    bound: str
    at: Callable[[str], str]


def _decay(s, tau):
    return f"(scalar) pg_exp(-({s}) / (double) {tau})"


def exponential(names, g, tau, scale=""):
    """g(s) = g exp(-s / tau); `scale` ('(scalar) 1e-3 * ') converts g to g_leak's units."""
    return Conductance(names, f"{scale}_COND_ABS({g})", lambda s: f"{g} * {_decay(s, tau)}")


def alpha(names, g, dg, tau):
    """g(s) = (g + s dg) exp(-s / tau); dg tau / e bounds s dg exp(-s / tau)."""
    return Conductance(names,
                       f"(_COND_ABS({g}) + _COND_ABS({dg}) * {tau} * (scalar) {1 / math.e!r})",
                       lambda s: f"({g} + (scalar) ({s}) * {dg}) * {_decay(s, tau)}")


def beta(names, g, dg, tau_rise, tau_decay, jump):
    """g(s) = exp(-s / tau_decay) (g + dg (1 - exp(-k s)) / k), k = 1/tau_rise - 1/tau_decay;
    dg / jump bounds the second term (jump: the peak normalisation). With k < 0 (a decay
    faster than the rise) the second term is exp(-s / tau_rise) dg (1 - exp(k s)) / (-k),
    the same value, whose exponentials cannot overflow."""
    k = (f"(((double) {tau_decay} - (double) {tau_rise})"
         f" / ((double) {tau_rise} * (double) {tau_decay}))")

    def at(s):
        rise = f"{_decay(s, tau_decay)} * ({g} + (scalar) _COND_RISE({s}, {k} * ({s})) * {dg})"
        fall = (f"{_decay(s, tau_decay)} * {g} + {_decay(s, tau_rise)}"
                f" * (scalar) _COND_RISE({s}, -{k} * ({s})) * {dg}")
        return f"({k} >= 0.0 ? {rise} : {fall})"
    return Conductance(names, f"(_COND_ABS({g}) + _COND_ABS({dg}) / {jump})", at)


def _rk4(dvdt, h):
    return "\n".join((
        f"const scalar _k1 = {dvdt('v', 0)};",
        f"const scalar _k2 = {dvdt(f'v + (scalar) 0.5 * {h} * _k1', 1)};",
        f"const scalar _k3 = {dvdt(f'v + (scalar) 0.5 * {h} * _k2', 1)};",
        f"const scalar _k4 = {dvdt(f'v + {h} * _k3', 2)};",
        f"v += {h} / (scalar) 6.0 * (_k1 + (scalar) 2.0 * (_k2 + _k3) + _k4);"))


def indent(text, spaces=4):
    return "\n".join(" " * spaces + line if line else line for line in text.splitlines())


def membrane_step(dvdt, conductances, g_leak="g_leak", cm="cm"):
    """
    C code that advances v over one step of length dt (module docstring), to be placed
    where the model's locals for the step (the conductances' `names`, the drive dv/dt
    reads) are declared. dvdt(V, point) is the C expression of dv/dt at potential V with
    the conductances at point 0 (start), 1 (middle) or 2 (end), read from their `names`.
    """
    bounds = " + ".join(c.bound for c in conductances)
    substep_values = "\n".join(
        f"const scalar {c.names[0]} = {c.at('_s0')}, {c.names[1]} = {c.at('_s1')}, "
        f"{c.names[2]} = {c.at('_s2')};" for c in conductances)
    return "\n".join((
        f"const scalar _zcm = dt * ({g_leak} + {bounds});    /* z cm */",
        f"if (!(_zcm > {cm})) {{",
        indent(_rk4(dvdt, "dt"), 4),
        "} else {",
        f"    /* stiff step: ceil(z) RK4 sub-steps (at most {MAX_SUBSTEPS}), each with z <= 1 */",
        f"    const scalar _z = _zcm / {cm};",
        f"    int32_t _n = _z < (scalar) {MAX_SUBSTEPS} ? (int32_t) _z : {MAX_SUBSTEPS};",
        "    if ((scalar) _n < _z && _n < " + str(MAX_SUBSTEPS) + ") {",
        "        _n += 1;",
        "    }",
        "    const double _hd = (double) dt / (double) _n;",
        "    const scalar _h = (scalar) _hd;",
        "    for (int32_t _j = 0; _j < _n; ++_j) {",
        "        const double _s0 = (double) _j * _hd, _s1 = _s0 + 0.5 * _hd, "
        "_s2 = (double) (_j + 1) * _hd;",
        indent(substep_values, 8),
        indent(_rk4(dvdt, "_h"), 8),
        "    }",
        "}"))
