"""
PointNeuron: PyNN's composable point neuron, a neuron (LIF or AdExp) with any number of named
post-synaptic receptors (CurrExpPostSynapticResponse, CondExpPostSynapticResponse,
CondAlphaPostSynapticResponse; AlphaPSR and ExpPSR are PyNN's aliases)::

    celltype = sim.PointNeuron(sim.AdExp(tau_m=10.0),
                               AMPA=sim.AlphaPSR(tau_syn=1.0, e_syn=0.0),
                               GABAA=sim.AlphaPSR(tau_syn=1.5, e_syn=-70.0))
    cells.record(["v", "AMPA.gsyn"]); cells.get("GABAA.e_syn")

Each composition becomes one NeuronModelDef, built here from code pieces, with the same
scheme as the fixed-receptor model it generalises, and with the same operations in the same
order, so that two receptors named "excitatory" and "inhibitory" give exactly the results of
that model:

* LIF + CurrExp: exact integration, as IF_curr_exp;
* LIF + CondExp / CondAlpha: RK4 with the exact conductance time course, as IF_cond_exp /
  IF_cond_alpha;
* AdExp + CondExp / CondAlpha: sub-stepped RK4 with the spike placed inside the sub-step,
  as EIF_cond_exp_isfa_ista / EIF_cond_alpha_isfa_ista (see neurons_adex.py).

Native names: receptor R's parameters are R_tau_syn, R_e_syn, its state R_isyn or R_gsyn
(and R_dgsyn for alpha); PyNN's names R.tau_syn, R.gsyn, ... map onto them.
Not available: CondBetaPostSynapticResponse, current-based receptors on AdExp, and mixing
current- and conductance-based receptors (PyNN forbids that too).
"""

import numpy as np
from pyNN import errors
from pyNN.parameters import ParameterSpace
from pyNN.standardmodels import cells, receptors

from ..modeldef import NON_NEGATIVE, POSITIVE, NeuronModelDef, StateVar
from . import neurons_adex
from .neurons_common import identity_translations, refractory_steps
from .propagators import curr_exp_matrix, propagators

E = np.e


# --- the components ------------------------------------------------------------------------

class LIF(cells.LIF):
    __doc__ = cells.LIF.__doc__
    translations = identity_translations(cells.LIF)


class AdExp(cells.AdExp):
    __doc__ = cells.AdExp.__doc__
    translations = identity_translations(cells.AdExp)


class CurrExpPostSynapticResponse(receptors.CurrExpPostSynapticResponse):
    __doc__ = receptors.CurrExpPostSynapticResponse.__doc__
    translations = identity_translations(receptors.CurrExpPostSynapticResponse)
    kind = "curr_exp"
    recordable = ["isyn"]


class CondExpPostSynapticResponse(receptors.CondExpPostSynapticResponse):
    __doc__ = receptors.CondExpPostSynapticResponse.__doc__
    translations = identity_translations(receptors.CondExpPostSynapticResponse)
    kind = "cond_exp"
    recordable = ["gsyn"]


class CondAlphaPostSynapticResponse(receptors.CondAlphaPostSynapticResponse):
    __doc__ = receptors.CondAlphaPostSynapticResponse.__doc__
    translations = identity_translations(receptors.CondAlphaPostSynapticResponse)
    kind = "cond_alpha"
    recordable = ["gsyn"]


class CondBetaPostSynapticResponse(receptors.CondBetaPostSynapticResponse):
    __doc__ = receptors.CondBetaPostSynapticResponse.__doc__

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("CondBetaPostSynapticResponse is not available in pyNN.gpu "
                                  "yet; use CondAlphaPostSynapticResponse (AlphaPSR) or "
                                  "CondExpPostSynapticResponse (ExpPSR)")


ExpPSR = CondExpPostSynapticResponse
AlphaPSR = CondAlphaPostSynapticResponse
BetaPSR = CondBetaPostSynapticResponse

_NEURONS = {LIF: "lif", AdExp: "adexp"}
_PSR_PARAMS = {"curr_exp": ("tau_syn",), "cond_exp": ("tau_syn", "e_syn"),
               "cond_alpha": ("tau_syn", "e_syn")}
_PSR_STATE = {"curr_exp": ("isyn",), "cond_exp": ("gsyn",), "cond_alpha": ("gsyn", "dgsyn")}
_PSR_RECORDABLE = {"curr_exp": "isyn", "cond_exp": "gsyn", "cond_alpha": "gsyn"}


# --- code pieces ---------------------------------------------------------------------------

def _sum(terms):
    return " + ".join(terms)


def _lif_curr_exp(rs):
    membrane = _sum(["v_rest + P22 * (v - v_rest)"] + [f"{r}_P21 * {r}_isyn" for r in rs]
                    + ["P20 * (i_offset + i_inj)"])
    return (f"if (refractory == 0) {{\n    v = {membrane};\n}} else {{\n    refractory -= 1;\n}}\n"
            + "".join(f"{r}_isyn = {r}_P11 * {r}_isyn + in_{r};\n" for r in rs))


def _cond_values(r, kind, h, p_half, p_end, g, dg):
    """(start, middle, end) of receptor r's conductance over a step of length h."""
    if kind == "cond_exp":
        return g, f"{g} * {p_half}", f"{g} * {p_end}"
    return (g, f"({g} + (scalar) 0.5 * {h} * {dg}) * {p_half}",
            f"({g} + {h} * {dg}) * {p_end}")


def _lif_cond(receptors_):
    rs = [r for r, _ in receptors_]
    lines = ["if (refractory == 0) {"]
    for r, kind in receptors_:
        start, half, end = _cond_values(r, kind, "dt", f"{r}_P_half", f"{r}_P", f"{r}_gsyn",
                                        f"{r}_dgsyn")
        lines.append(f"    const scalar _{r}_0 = {start}, _{r}_h = {half}, _{r}_1 = {end};")

    def dvdt(v, stage):
        terms = [f"g_leak * (v_rest - {v})"] + [f"_{r}_{stage} * ({r}_e_syn - {v})" for r in rs]
        return f"({_sum(terms + ['_i_drive'])}) / cm"
    lines += [
        "    const scalar _i_drive = i_offset + i_inj;",
        f"    const scalar _k1 = {dvdt('v', '0')};",
        "    const scalar _v2 = v + (scalar) 0.5 * dt * _k1;",
        f"    const scalar _k2 = {dvdt('_v2', 'h')};",
        "    const scalar _v3 = v + (scalar) 0.5 * dt * _k2;",
        f"    const scalar _k3 = {dvdt('_v3', 'h')};",
        "    const scalar _v4 = v + dt * _k3;",
        f"    const scalar _k4 = {dvdt('_v4', '1')};",
        "    v += dt / (scalar) 6.0 * (_k1 + (scalar) 2.0 * (_k2 + _k3) + _k4);",
        "} else {", "    refractory -= 1;", "}"]
    for r, kind in receptors_:
        if kind == "cond_exp":
            lines.append(f"{r}_gsyn = {r}_P * {r}_gsyn + in_{r};")
        else:
            lines.append(f"{r}_gsyn = ({r}_gsyn + dt * {r}_dgsyn) * {r}_P;")
            lines.append(f"{r}_dgsyn = {r}_dgsyn * {r}_P + {r}_jump * in_{r};")
    return "\n".join(lines) + "\n"


def _adex_rk4(h, rs, g0, gh, g1, indent):
    """One RK4 step of length h on (v, w); g0/gh/g1(r): conductance expressions."""
    def rhs(v, w, g, dv, dw):
        syn = "".join(f" + ({g(r)}) * ({r}_e_syn - _vc)" for r in rs)
        return [
            "{",
            f"    const scalar _vc = _clamped ? v_reset : (({v}) < v_spike ? ({v}) : v_spike);",
            f"    {dv} = _clamped ? (scalar) 0 : (g_leak * (v_rest - _vc) + spike_scale * "
            f"exp((_vc - v_thresh) * inv_delta_T){syn} - ({w}) + _i_drive) / cm;",
            f"    {dw} = (a_uS * (_vc - v_rest) - ({w})) / tau_w;",
            "}"]
    lines = ["{", "    scalar _dv1, _dw1, _dv2, _dw2, _dv3, _dw3, _dv4, _dw4;",
             f"    const scalar _half = (scalar) 0.5 * ({h});"]
    for block in (rhs("v", "w", g0, "_dv1", "_dw1"),
                  rhs("v + _half * _dv1", "w + _half * _dw1", gh, "_dv2", "_dw2"),
                  rhs("v + _half * _dv2", "w + _half * _dw2", gh, "_dv3", "_dw3"),
                  rhs(f"v + ({h}) * _dv3", f"w + ({h}) * _dw3", g1, "_dv4", "_dw4")):
        lines += ["    " + line for line in block]
    lines += [f"    v += ({h}) / (scalar) 6.0 * (_dv1 + (scalar) 2.0 * (_dv2 + _dv3) + _dv4);",
              f"    w += ({h}) / (scalar) 6.0 * (_dw1 + (scalar) 2.0 * (_dw2 + _dw3) + _dw4);",
              "}"]
    return "\n".join(indent + line for line in lines) + "\n"


def _adex_cond(receptors_):
    rs = [r for r, _ in receptors_]
    code = ("const scalar _i_drive = i_offset + i_inj;\nint _fired = 0;\n"
            "int _clamped = refractory > 0;\n")
    code += "".join(f"scalar _{r} = {r}_gsyn;\n" for r in rs)
    code += "".join(f"scalar _d{r} = {r}_dgsyn;\n" for r, kind in receptors_
                    if kind == "cond_alpha")
    code += "for (int64_t _k = 0; _k < n_sub; ++_k) {\n"
    for r, kind in receptors_:
        _, half, end = _cond_values(r, kind, "h_sub", f"{r}_P_half", f"{r}_P_sub", f"_{r}",
                                    f"_d{r}")
        code += f"    const scalar _{r}_half = {half};\n    const scalar _{r}_end = {end};\n"
    code += "    const scalar _v0 = v, _w0 = w;\n"
    code += _adex_rk4("h_sub", rs, lambda r: f"_{r}", lambda r: f"_{r}_half",
                      lambda r: f"_{r}_end", "    ")
    code += """    if (!_clamped && v >= v_peak) {
        const scalar _theta = (v > _v0 && _v0 < v_peak) ? (v_peak - _v0) / (v - _v0) : (scalar) 0;
        const scalar _mid = (scalar) 0.5 * ((scalar) 1 + _theta);
        w = _w0 + _theta * (w - _w0) + b;
        v = v_reset;
        _fired = 1;
        refractory = refractory_steps > 0 ? (int32_t) refractory_steps + 1 : 0;
        _clamped = refractory > 0;
"""
    code += _adex_rk4("((scalar) 1 - _theta) * h_sub", rs,
                      lambda r: f"_{r} + _theta * (_{r}_end - _{r})",
                      lambda r: f"_{r} + _mid * (_{r}_end - _{r})",
                      lambda r: f"_{r}_end", "        ")
    code += "    }\n"
    code += "".join(f"    _{r} = _{r}_end;\n" for r in rs)
    code += "".join(f"    _d{r} *= {r}_P_sub;\n" for r, kind in receptors_
                    if kind == "cond_alpha")
    code += "}\n"
    for r, kind in receptors_:
        if kind == "cond_exp":
            code += f"{r}_gsyn = _{r} + in_{r};\n"
        else:
            code += f"{r}_gsyn = _{r};\n{r}_dgsyn = _d{r} + {r}_jump * in_{r};\n"
    code += "if (refractory > 0) {\n    refractory -= 1;\n}\n"
    return code


# --- derived constants -----------------------------------------------------------------------

def _float(params, name):
    return np.asarray(params[name], dtype=float)


def _derive_lif_curr(rs):
    def derive(params, dt):
        derived = {"refractory_steps": refractory_steps(params, dt)}
        # in pairs, as IF_curr_exp computes (exc, inh): the same numbers for the same pair
        for first in range(0, len(rs), 2):
            pair = rs[first:first + 2] if first + 1 < len(rs) else [rs[first]] * 2
            p = propagators(curr_exp_matrix, {
                "tau_m": params["tau_m"], "cm": params["cm"],
                "tau_syn_E": params[f"{pair[0]}_tau_syn"],
                "tau_syn_I": params[f"{pair[1]}_tau_syn"]}, dt)
            for column, r in enumerate(pair):
                derived[f"{r}_P11"] = p[:, column, column]
                derived[f"{r}_P21"] = p[:, 2, column]
            if first == 0:
                derived["P22"], derived["P20"] = p[:, 2, 2], p[:, 2, 3]
        return derived
    return derive


def _derive_lif_cond(rs):
    def derive(params, dt):
        derived = {"g_leak": _float(params, "cm") / _float(params, "tau_m"),
                   "refractory_steps": refractory_steps(params, dt)}
        for r in rs:
            tau = _float(params, f"{r}_tau_syn")
            derived[f"{r}_P"] = np.exp(-dt / tau)
            derived[f"{r}_P_half"] = np.exp(-0.5 * dt / tau)
            derived[f"{r}_jump"] = E / tau
        return derived
    return derive


def _derive_adex(rs):
    def derive(params, dt):
        # the neuron's constants exactly as neurons_adex derives them; receptor constants
        # per receptor, over the same sub-step
        standard = dict(params)
        for name in ("tau_syn_E", "tau_syn_I"):
            standard[name] = np.ones_like(_float(params, "cm"))
        derived = {k: v for k, v in neurons_adex._derive(standard, dt).items()
                   if not k.startswith(("Pe_", "Pi_", "jump_"))}
        h_sub = derived["h_sub"]
        for r in rs:
            tau = _float(params, f"{r}_tau_syn")
            derived[f"{r}_P_sub"] = np.exp(-h_sub / tau)
            derived[f"{r}_P_half"] = np.exp(-0.5 * h_sub / tau)
            derived[f"{r}_jump"] = E / tau
        return derived
    return derive


# --- the model of one composition ------------------------------------------------------------

_MODELS = {}


def composed_model(neuron_kind, receptors_):
    """The NeuronModelDef of a neuron kind with receptors ((name, kind), ...) in order."""
    key = (neuron_kind, tuple(receptors_))
    if key in _MODELS:
        return _MODELS[key]
    rs = [r for r, _ in receptors_]
    kinds = {kind for _, kind in receptors_}
    neuron_params = tuple(cells.LIF.default_parameters if neuron_kind == "lif"
                          else cells.AdExp.default_parameters)
    params = neuron_params + tuple(f"{r}_{p}" for r, kind in receptors_
                                   for p in _PSR_PARAMS[kind])
    state = [StateVar("v")] + ([StateVar("w")] if neuron_kind == "adexp" else []) \
        + [StateVar("refractory", "int32_t")] \
        + [StateVar(f"{r}_{s}") for r, kind in receptors_ for s in _PSR_STATE[kind]]
    constraints = {"cm": POSITIVE, "tau_m": POSITIVE, "tau_refrac": NON_NEGATIVE,
                   **{f"{r}_tau_syn": POSITIVE for r in rs}}
    name = f"point_{neuron_kind}_" + "_".join(f"{r}_{kind}" for r, kind in receptors_)
    if neuron_kind == "lif" and kinds == {"curr_exp"}:
        model = NeuronModelDef(
            name=name, params=params, state=tuple(state),
            derived=("P22", "P20") + tuple(f"{r}_{p}" for r in rs for p in ("P11", "P21")),
            int_derived=("refractory_steps",), receptors=tuple(rs),
            update=_lif_curr_exp(rs), threshold="v >= v_thresh",
            reset="v = v_reset; refractory = (int32_t) refractory_steps;",
            derive=_derive_lif_curr(rs), constraints=constraints)
    elif neuron_kind == "lif":
        model = NeuronModelDef(
            name=name, params=params, state=tuple(state),
            derived=("g_leak",) + tuple(f"{r}_{p}" for r in rs for p in ("P", "P_half", "jump")),
            int_derived=("refractory_steps",), receptors=tuple(rs),
            update=_lif_cond(receptors_), threshold="v >= v_thresh",
            reset="v = v_reset; refractory = (int32_t) refractory_steps;",
            derive=_derive_lif_cond(rs), constraints=constraints)
    else:
        constraints.update({"tau_w": POSITIVE, "delta_T": NON_NEGATIVE})
        model = NeuronModelDef(
            name=name, params=params, state=tuple(state),
            derived=("g_leak", "a_uS", "spike_scale", "inv_delta_T", "v_peak", "h_sub")
            + tuple(f"{r}_{p}" for r in rs for p in ("P_sub", "P_half", "jump")),
            int_derived=("n_sub", "refractory_steps"), receptors=tuple(rs),
            support="#include <math.h>\n", update=_adex_cond(receptors_), threshold="_fired",
            derive=_derive_adex(rs), constraints=constraints)
    _MODELS[key] = model
    return model


class PointNeuron(cells.PointNeuron):
    __doc__ = __doc__

    def __init__(self, neuron, **post_synaptic_receptors):
        if type(neuron) not in _NEURONS:
            raise errors.InvalidModelError(
                f"PointNeuron in pyNN.gpu takes sim.LIF or sim.AdExp as its neuron "
                f"(got {type(neuron).__name__})")
        if not post_synaptic_receptors:
            raise errors.InvalidModelError("PointNeuron needs at least one receptor")
        for name, psr in post_synaptic_receptors.items():
            if not hasattr(type(psr), "kind"):
                raise errors.InvalidModelError(
                    f"receptor {name}: {type(psr).__name__} is not available in pyNN.gpu; use "
                    "CurrExpPostSynapticResponse, CondExpPostSynapticResponse (ExpPSR) or "
                    "CondAlphaPostSynapticResponse (AlphaPSR)")
        super().__init__(neuron, **post_synaptic_receptors)
        kinds = {psr.kind for psr in post_synaptic_receptors.values()}
        if "curr_exp" in kinds and len(kinds) > 1:
            raise errors.InvalidModelError(
                "PointNeuron: current- and conductance-based receptors cannot be mixed")
        neuron_kind = _NEURONS[type(neuron)]
        if neuron_kind == "adexp" and "curr_exp" in kinds:
            raise errors.InvalidModelError(
                "PointNeuron: AdExp takes conductance-based receptors (ExpPSR, AlphaPSR) in "
                "pyNN.gpu")
        order = [(r, post_synaptic_receptors[r].kind) for r in self.receptor_types]
        try:
            self.model = composed_model(neuron_kind, order)
        except ValueError as error:       # a receptor name that is no C identifier
            raise errors.InvalidModelError(str(error)) from None
        self.receptor_map = {r: r for r in self.receptor_types}
        self.receptor_time_constants = {r: f"{r}_tau_syn" for r in self.receptor_types}
        self.state_variable_map = {
            f"{r}.{s}": f"{r}_{s}" for r, kind in order for s in _PSR_STATE[kind]}

    # Flat names: "tau_m" and "AMPA.tau_syn" (PyNN) <-> "tau_m" and "AMPA_tau_syn" (native).

    def _psr_names(self):
        return [(f"{r}.{p}", f"{r}_{p}", r, p) for r in self.receptor_types
                for p in _PSR_PARAMS[self.post_synaptic_receptors[r].kind]]

    def get_parameter_names(self):
        return list(self.neuron.default_parameters) + [name for name, *_ in self._psr_names()]

    def has_parameter(self, name):
        return name in self.get_parameter_names()

    def get_schema(self):
        return {name: float for name in self.get_parameter_names()}

    def computed_parameters(self):
        return []

    def computed_parameters_include(self, parameter_names):
        return False

    def _native_name(self, name):
        if "." in name:
            receptor, parameter = name.split(".", 1)
            return f"{receptor}_{parameter}"
        return name

    def get_native_names(self, *names):
        return [self._native_name(n) for n in (names or self.get_parameter_names())]

    def translate(self, parameters, copy=True):
        native = {self._native_name(name): value for name, value in parameters.items()}
        return ParameterSpace(native, shape=parameters.shape)

    def reverse_translate(self, native_parameters):
        standard = {name: native_parameters[native] for name, native, *_ in self._psr_names()
                    if native in native_parameters.keys()}
        standard.update({name: native_parameters[name] for name in self.neuron.default_parameters
                         if name in native_parameters.keys()})
        return ParameterSpace(standard, schema=self.get_schema(), shape=native_parameters.shape)

    @property
    def native_parameters(self):
        values = dict(self.neuron.parameter_space.items())
        for name, native, receptor, parameter in self._psr_names():
            values[native] = self.post_synaptic_receptors[receptor].parameter_space[parameter]
        return ParameterSpace(values)
