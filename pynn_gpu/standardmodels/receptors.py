"""
Post-synaptic responses of PyNN's composable PointNeuron: CurrExp, CondExp, CondAlpha and
CondBeta (pyNN.standardmodels.receptors), and the code each one contributes to a composed
neuron model (point_neuron.py puts the pieces together).

A receptor named R (the keyword it has in `PointNeuron(..., R=...)`, also the Projection's
`receptor_type`) owns one variable x: the synaptic current isyn (nA, CurrExp) or the synaptic
conductance gsyn (uS, the others). An input of weight w arriving at t = 0 gives

    CurrExp, CondExp   x(t) = w exp(-t / tau_syn)
    CondAlpha          x(t) = w (t / tau_syn) exp(1 - t / tau_syn)        peak w at tau_syn
    CondBeta           x(t) = w N (exp(-t / tau_decay) - exp(-t / tau_rise))

where N makes the peak of the beta function equal to w, at
t_peak = ln(tau_decay / tau_rise) / (1 / tau_rise - 1 / tau_decay): the normalisation of
NEST's aeif_cond_beta_multisynapse (the only PyNN backend with CondBeta) and of NEURON's
Exp2Syn. tau_rise = tau_decay is the alpha function of that time constant.

Alpha and beta responses carry a second variable dx (not recordable): dx' = -dx / tau_rise,
x' = dx - x / tau_decay (tau_rise = tau_decay = tau_syn for alpha), and an input of weight
w adds w N to dx (N = e / tau_syn for alpha). All responses are linear, so they are advanced
exactly over any interval s by host-computed factors: for exponentials x(s) = x exp(-s/tau);
for alpha x(s) = (x + s dx) exp(-s/tau); for beta x(s) = Pd(s) x + Pgd(s) dx with
Pd(s) = exp(-s/tau_decay) and Pgd(s) = exp(-s/tau_decay) (1 - exp(-k s)) / k,
k = 1/tau_rise - 1/tau_decay (s exp(-s/tau_decay) at k = 0).

Native names: every parameter, state variable and derived constant of receptor R is named
`R_<name>` (`AMPA_tau_syn`, `AMPA_gsyn`, `AMPA_P_half`), and the kernel's input on it is
`in_R`. Locals of the generated code start with `_`, which no model name can.
"""

import numpy as np
from pyNN.standardmodels import receptors as pynn_receptors

from ..modeldef import POSITIVE, StateVar
from . import cond_membrane
from .neurons_common import as_float


class Response:
    """
    One named receptor of a composed neuron, as the code generator sees it.

    Within a step (or sub-step) of length h the membrane integrators need the receptor's
    variable at the start (`_R_0`), the middle (`_R_h`) and the end (`_R_1`); `step_values`
    declares them, `advance` moves the state to the end of the interval, `receive` adds the
    input that arrived in the step, and `current(V, at)` is the current (nA) the receptor
    drives into a membrane at potential V.
    """
    pynn_class = None
    conductance_based = True
    pynn_params = ()             # PyNN parameter names ('locations' is ignored: point neurons)
    variable = "gsyn"            # the recordable variable
    extra_state = ()             # state the PyNN model does not name
    derived_names = ()
    time_constant = "tau_syn"    # the PSC time constant synapse models may ask for
    constraints = {}

    def __init__(self, name):
        self.name = name

    def native(self, local):
        return f"{self.name}_{local}"

    @property
    def x(self):
        return self.native(self.variable)

    @property
    def params(self):
        return tuple(self.native(p) for p in self.pynn_params)

    @property
    def state(self):
        return tuple(StateVar(self.native(v)) for v in (self.variable,) + self.extra_state)

    @property
    def derived(self):
        return tuple(self.native(d) for d in self.derived_names)

    def native_constraints(self):
        return {self.native(p): c for p, c in self.constraints.items()}

    def local(self, at):
        return f"_{self.name}_{at}"

    def points(self):
        """The locals of the start, middle and end values."""
        return tuple(self.local(at) for at in (0, "h", 1))

    def current(self, v, at):
        if self.conductance_based:
            return f"{self.local(at)} * ({self.native('e_syn')} - {v})"
        return self.local(at)

    def step_values(self, h):
        raise NotImplementedError

    def conductance(self):
        """The receptor as the LIF membrane step sees it (cond_membrane.Conductance): its
        values at the start, middle and end of the step, a bound of |gsyn| over the step,
        and gsyn at any time into the step (for the sub-steps of a stiff step)."""
        raise NotImplementedError

    def advance(self):
        raise NotImplementedError

    def receive(self):
        raise NotImplementedError

    def derive(self, params, h):
        """Derived constants for intervals of length h (ms, array)."""
        raise NotImplementedError


class ExponentialResponse(Response):
    derived_names = ("P", "P_half")
    constraints = {"tau_syn": POSITIVE}

    def derive(self, params, h):
        tau = as_float(params, self.native("tau_syn"))
        return {self.native("P"): np.exp(-h / tau),
                self.native("P_half"): np.exp(-0.5 * h / tau)}

    def step_values(self, h):
        x, p, p_half = self.x, self.native("P"), self.native("P_half")
        return (f"const scalar {self.local(0)} = {x}, {self.local('h')} = {x} * {p_half}, "
                f"{self.local(1)} = {x} * {p};")

    def advance(self):
        return f"{self.x} = {self.local(1)};"

    def conductance(self):
        return cond_membrane.exponential(self.points(), self.x, self.native("tau_syn"))

    def receive(self):
        return f"{self.x} += in_{self.name};"


class CurrExp(ExponentialResponse):
    pynn_class = pynn_receptors.CurrExpPostSynapticResponse
    conductance_based = False
    pynn_params = ("tau_syn",)
    variable = "isyn"


class CondExp(ExponentialResponse):
    pynn_class = pynn_receptors.CondExpPostSynapticResponse
    pynn_params = ("e_syn", "tau_syn")


class CondAlpha(Response):
    pynn_class = pynn_receptors.CondAlphaPostSynapticResponse
    pynn_params = ("e_syn", "tau_syn")
    extra_state = ("dgsyn",)
    derived_names = ("P", "P_half", "jump")
    constraints = {"tau_syn": POSITIVE}

    def derive(self, params, h):
        tau = as_float(params, self.native("tau_syn"))
        return {self.native("P"): np.exp(-h / tau),
                self.native("P_half"): np.exp(-0.5 * h / tau),
                self.native("jump"): np.e / tau}

    def step_values(self, h):
        x, dx = self.x, self.native("dgsyn")
        return (f"const scalar {self.local(0)} = {x};\n"
                f"const scalar {self.local('h')} = ({x} + (scalar) 0.5 * {h} * {dx}) "
                f"* {self.native('P_half')};\n"
                f"const scalar {self.local(1)} = ({x} + {h} * {dx}) * {self.native('P')};")

    def advance(self):
        return f"{self.x} = {self.local(1)};\n{self.native('dgsyn')} *= {self.native('P')};"

    def conductance(self):
        return cond_membrane.alpha(self.points(), self.x, self.native("dgsyn"),
                                   self.native("tau_syn"))

    def receive(self):
        return f"{self.native('dgsyn')} += {self.native('jump')} * in_{self.name};"


def beta_peak_factor(tau_rise, tau_decay):
    """N such that N (exp(-t/tau_decay) - exp(-t/tau_rise)) peaks at 1 (e/tau if equal)."""
    tau_rise, tau_decay = np.broadcast_arrays(np.asarray(tau_rise, float),
                                              np.asarray(tau_decay, float))
    # t_peak = ln(tau_decay / tau_rise) / k = tau_decay ln(1 + x) / x, x = (tau_decay -
    # tau_rise) / tau_rise: log1p keeps its digits where the time constants are a few
    # rounding steps apart (0.3 and 0.1 * 3), and the ratio tends to 1 at equality
    x = (tau_decay - tau_rise) / tau_rise
    distinct = x != 0.0
    safe_x = np.where(distinct, x, 1.0)
    t_peak = tau_decay * np.where(distinct, np.log1p(safe_x) / safe_x, 1.0)
    return 1.0 / beta_rise_factor(tau_rise, tau_decay, t_peak)


def beta_rise_factor(tau_rise, tau_decay, s):
    """Pgd(s): x(s) for x = 0, dx = 1 at s = 0; (exp(-s/td) - exp(-s/tr)) / k without
    cancellation, and its limit s exp(-s/td) at tau_rise = tau_decay. The slower of the two
    exponentials is factored out (the formula is symmetric in them): with the faster one
    out, a decay much shorter than the rise overflowed to inf * 0."""
    k = (tau_decay - tau_rise) / (tau_rise * tau_decay)   # 1/tr - 1/td, without cancellation
    rate = np.abs(k)
    distinct = rate != 0.0
    safe_rate = np.where(distinct, rate, 1.0)
    shape = np.where(distinct, -np.expm1(-rate * s) / safe_rate, s)
    return np.exp(-s / np.maximum(tau_rise, tau_decay)) * shape


class CondBeta(Response):
    pynn_class = pynn_receptors.CondBetaPostSynapticResponse
    pynn_params = ("e_syn", "tau_rise", "tau_decay")
    extra_state = ("dgsyn",)
    derived_names = ("Pd", "Pd_half", "Pr", "Pgd", "Pgd_half", "jump")
    time_constant = "tau_decay"
    constraints = {"tau_rise": POSITIVE, "tau_decay": POSITIVE}

    def derive(self, params, h):
        tau_r = as_float(params, self.native("tau_rise"))
        tau_d = as_float(params, self.native("tau_decay"))
        return {self.native("Pd"): np.exp(-h / tau_d),
                self.native("Pd_half"): np.exp(-0.5 * h / tau_d),
                self.native("Pr"): np.exp(-h / tau_r),
                self.native("Pgd"): beta_rise_factor(tau_r, tau_d, h),
                self.native("Pgd_half"): beta_rise_factor(tau_r, tau_d, 0.5 * h),
                self.native("jump"): beta_peak_factor(tau_r, tau_d)}

    def step_values(self, h):
        x, dx, n = self.x, self.native("dgsyn"), self.native
        return (f"const scalar {self.local(0)} = {x};\n"
                f"const scalar {self.local('h')} = {n('Pd_half')} * {x} + {n('Pgd_half')} * {dx};\n"
                f"const scalar {self.local(1)} = {n('Pd')} * {x} + {n('Pgd')} * {dx};")

    def advance(self):
        return f"{self.x} = {self.local(1)};\n{self.native('dgsyn')} *= {self.native('Pr')};"

    def conductance(self):
        return cond_membrane.beta(self.points(), self.x,
                                  self.native("dgsyn"), self.native("tau_rise"),
                                  self.native("tau_decay"), self.native("jump"))

    def receive(self):
        return f"{self.native('dgsyn')} += {self.native('jump')} * in_{self.name};"


RESPONSES = (CurrExp, CondExp, CondAlpha, CondBeta)


def response_for(pynn_receptor, name):
    """The Response of a PyNN post-synaptic response object (any backend's subclass)."""
    for response in RESPONSES:
        if isinstance(pynn_receptor, response.pynn_class):
            return response(name)
    raise TypeError(f"receptor {name!r}: {type(pynn_receptor).__name__} is not a post-synaptic "
                    f"response pyNN.gpu knows ({', '.join(r.pynn_class.__name__ for r in RESPONSES)})")


# --- PyNN classes ---------------------------------------------------------------------------

class CurrExpPostSynapticResponse(pynn_receptors.CurrExpPostSynapticResponse):
    __doc__ = pynn_receptors.CurrExpPostSynapticResponse.__doc__
    recordable = ["isyn"]


class CondExpPostSynapticResponse(pynn_receptors.CondExpPostSynapticResponse):
    __doc__ = pynn_receptors.CondExpPostSynapticResponse.__doc__
    recordable = ["gsyn"]


class CondAlphaPostSynapticResponse(pynn_receptors.CondAlphaPostSynapticResponse):
    __doc__ = pynn_receptors.CondAlphaPostSynapticResponse.__doc__
    recordable = ["gsyn"]


class CondBetaPostSynapticResponse(pynn_receptors.CondBetaPostSynapticResponse):
    __doc__ = pynn_receptors.CondBetaPostSynapticResponse.__doc__
    recordable = ["gsyn"]


# the short names pyNN.nest and pyNN.brian2 give them
ExpPSR = CondExpPostSynapticResponse
AlphaPSR = CondAlphaPostSynapticResponse
BetaPSR = CondBetaPostSynapticResponse
