"""
PyNN's composable point neuron: a membrane (LIF or AdExp) with any number of named
post-synaptic receptors (CurrExp, CondExp, CondAlpha, CondBeta; see receptors.py)::

    celltype = sim.PointNeuron(sim.AdExp(tau_m=10.0, v_rest=-60.0),
                               AMPA=sim.CondAlphaPostSynapticResponse(tau_syn=1.0, e_syn=0.0),
                               NMDA=sim.CondBetaPostSynapticResponse(tau_rise=2.0, tau_decay=80.0),
                               GABAA=sim.CondExpPostSynapticResponse(tau_syn=5.0, e_syn=-70.0))

Every receptor name is a Projection `receptor_type` and records as "<name>.gsyn" (uS) or
"<name>.isyn" (nA); parameters are "tau_m", "AMPA.tau_syn", ... in get(), set() and
describe(). Current- and conductance-based receptors cannot be mixed in one cell type
(PyNN's rule); receptor names must be usable in C (letters, digits, '_').

Each composition becomes one NeuronModelDef, generated here from the receptors' pieces, so it
runs unchanged on both targets; populations with the same composition (membrane, receptor
names and kinds) share their code.

Membranes (PyNN units: mV, nF, ms, nA; a in nS):

    LIF     cm dv/dt = cm (v_rest - v) / tau_m + I_syn + i_offset + i_inj
    AdExp   cm dv/dt = g_L (v_rest - v) + g_L delta_T exp((v - v_thresh) / delta_T)
                       - w + I_syn + i_offset + i_inj,   g_L = cm / tau_m
            tau_w dw/dt = a (v - v_rest) - w

with I_syn the sum over the receptors of isyn (current-based) or gsyn (e_syn - v).

Integration schemes (errors and comparisons: docs/numerics.md):

* LIF with current-based receptors only: exact. The receptor currents and the membrane are
  one linear system, advanced by its matrix exponential (propagators.py,
  `curr_exp_receptors_matrix`), in NEST's order: the membrane first with the currents of the
  previous step, then the currents decay, then the input of this step is added. With
  receptors `excitatory` and `inhibitory` this is IF_curr_exp's arithmetic exactly.
* LIF with conductance-based receptors: the scheme of IF_cond_exp and IF_cond_alpha. The
  conductances follow their exact time course; the membrane, linear in v for given
  conductances, takes one classical RK4 step per dt with the conductances at the start, the
  middle and the end of the step, split into ceil(z) sub-steps (conductances from their
  closed forms) where z = dt (g_leak + g_total) / cm > 1 (cond_membrane.py); the input of
  the step is added at its end.
* AdExp with any receptors: the scheme of EIF_cond_exp_isfa_ista (neurons_adex.py): RK4 on
  (v, w) in sub-steps of at most MAX_SUBSTEP["adex"], every receptor following its exact time
  course inside each sub-step, the exponent capped at v_spike, the spike placed inside the
  sub-step by linear interpolation and the rest of the sub-step integrated from the reset.
* Refractoriness as in the monolithic models: v held at v_reset for round(tau_refrac / dt)
  steps (AdExp: plus the rest of the spike's step); the receptors keep evolving.
"""

import hashlib
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Mapping

from pyNN import descriptions, errors
from pyNN.parameters import ParameterSpace
from pyNN.standardmodels import cells

from ..modeldef import NON_NEGATIVE, POSITIVE, NeuronModelDef, StateVar, check_identifier
from .cond_membrane import COND_SUPPORT, indent, membrane_step
from .neurons_adex import adex_constants
from .neurons_common import as_float, identity_translations, refractory_steps
from .propagators import curr_exp_receptors_matrix, propagators
from .receptors import response_for


@dataclass(frozen=True)
class ComposedModelDef(NeuronModelDef):
    """A NeuronModelDef that also knows the PyNN name of each native name (for messages)."""
    pynn_names: Mapping[str, str] = field(default_factory=dict)


# --- the membranes ------------------------------------------------------------------------

class LIFMembrane:
    kind = "lif"
    pynn_class = cells.LIF
    params = ("v_rest", "cm", "tau_m", "tau_refrac", "i_offset", "v_reset", "v_thresh")
    state = (StateVar("v"), StateVar("refractory", "int32_t"))
    constraints = {"tau_m": POSITIVE, "cm": POSITIVE, "tau_refrac": NON_NEGATIVE}
    threshold = "v >= v_thresh"
    reset = "v = v_reset; refractory = (int32_t) refractory_steps;"


class AdExpMembrane:
    kind = "adexp"
    pynn_class = cells.AdExp
    params = ("cm", "tau_refrac", "v_spike", "v_reset", "v_rest", "tau_m", "i_offset", "a",
              "b", "delta_T", "tau_w", "v_thresh")
    state = (StateVar("v"), StateVar("w"), StateVar("refractory", "int32_t"))
    constraints = {"cm": POSITIVE, "tau_m": POSITIVE, "tau_w": POSITIVE,
                   "tau_refrac": NON_NEGATIVE, "delta_T": NON_NEGATIVE}
    threshold = "_fired"
    reset = ""


MEMBRANES = (LIFMembrane, AdExpMembrane)


def _lines(*parts):
    return "\n".join(part for part in parts if part)


def _indent(text, spaces=4):
    return "\n".join(" " * spaces + line if line else line for line in text.splitlines())


# --- LIF with current-based receptors: exact ----------------------------------------------

def _lif_exact(responses):
    n = len(responses)

    def matrix(tau_m, cm, **tau_syn):
        return curr_exp_receptors_matrix(tau_m, cm, *(tau_syn[f"tau_syn_{k}"] for k in range(n)))

    def derive(params, dt):
        columns = {"tau_m": params["tau_m"], "cm": params["cm"]}
        for k, r in enumerate(responses):
            columns[f"tau_syn_{k}"] = params[r.native("tau_syn")]
        p = propagators(matrix, columns, dt)
        derived = {"P22": p[:, n, n], "P20": p[:, n, n + 1],
                   "refractory_steps": refractory_steps(params, dt)}
        for k, r in enumerate(responses):
            derived[r.native("P11")] = p[:, k, k]
            derived[r.native("P21")] = p[:, n, k]
        return derived

    currents = "".join(f" + {r.native('P21')} * {r.x}" for r in responses)
    update = _lines(
        "if (refractory == 0) {",
        f"    v = v_rest + P22 * (v - v_rest){currents}",
        "        + P20 * (i_offset + i_inj);",
        "} else {",
        "    refractory -= 1;",
        "}",
        *[f"{r.x} = {r.native('P11')} * {r.x} + in_{r.name};" for r in responses])
    derived = ("P22", "P20") + tuple(name for r in responses
                                     for name in (r.native("P11"), r.native("P21")))
    # the propagators are costly (an expm per distinct cell): derived again only when these change
    inputs = ("tau_m", "cm", "tau_refrac") + tuple(r.native("tau_syn") for r in responses)
    return derived, ("refractory_steps",), update, derive, inputs


# --- LIF with conductance-based receptors: RK4 per step (cond_membrane.py) ---------------

def _lif_dvdt(responses, v, at):
    currents = "".join(f" + {r.current(f'({v})', at)}" for r in responses)
    return f"(g_leak * (v_rest - ({v})){currents} + _i_drive) / cm"


def _lif_rk4(responses):
    def derive(params, dt):
        derived = {"g_leak": as_float(params, "cm") / as_float(params, "tau_m"),
                   "refractory_steps": refractory_steps(params, dt)}
        for r in responses:
            derived.update(r.derive(params, dt))
        return derived

    points = (0, "h", 1)
    step = membrane_step(lambda v, at: _lif_dvdt(responses, v, points[at]),
                         [r.conductance() for r in responses])
    update = _lines(
        *[r.step_values("dt") for r in responses],
        "if (refractory == 0) {",
        "    const scalar _i_drive = i_offset + i_inj;",
        indent(step),
        "} else {",
        "    refractory -= 1;",
        "}",
        *[r.advance() for r in responses],
        *[r.receive() for r in responses])
    derived = ("g_leak",) + tuple(d for r in responses for d in r.derived)
    return derived, ("refractory_steps",), update, derive, None   # inputs not declared


# --- AdExp: RK4 sub-steps ------------------------------------------------------------------

def _adex_rhs(responses, v, w, at, k):
    """dv/dt and dw/dt into _dv<k>, _dw<k>; v is capped at v_spike, held while clamped."""
    currents = "".join(f" + {r.current('_vc', at)}" for r in responses)
    return _lines(
        "{",
        f"    const scalar _vc = _clamped ? v_reset : (({v}) < v_spike ? ({v}) : v_spike);",
        f"    _dv{k} = _clamped ? (scalar) 0 : (g_leak * (v_rest - _vc)",
        f"        + spike_scale * exp((_vc - v_thresh) * inv_delta_T){currents}",
        f"        - ({w}) + _i_drive) / cm;",
        f"    _dw{k} = (a_uS * (_vc - v_rest) - ({w})) / tau_w;",
        "}")


def _adex_rk4(responses, h, at_start, at_middle, at_end):
    """One classical RK4 step of length h on (v, w), receptors at the given points."""
    return _lines(
        "{",
        f"    const scalar _h = {h};",
        "    const scalar _half = (scalar) 0.5 * _h;",
        "    scalar _dv1, _dw1, _dv2, _dw2, _dv3, _dw3, _dv4, _dw4;",
        _indent(_adex_rhs(responses, "v", "w", at_start, 1)),
        _indent(_adex_rhs(responses, "v + _half * _dv1", "w + _half * _dw1", at_middle, 2)),
        _indent(_adex_rhs(responses, "v + _half * _dv2", "w + _half * _dw2", at_middle, 3)),
        _indent(_adex_rhs(responses, "v + _h * _dv3", "w + _h * _dw3", at_end, 4)),
        "    v += _h / (scalar) 6.0 * (_dv1 + (scalar) 2.0 * (_dv2 + _dv3) + _dv4);",
        "    w += _h / (scalar) 6.0 * (_dw1 + (scalar) 2.0 * (_dw2 + _dw3) + _dw4);",
        "}")


def _adex_substeps(responses):
    def derive(params, dt):
        derived = adex_constants(params, dt)
        for r in responses:
            derived.update(r.derive(params, derived["h_sub"]))
        return derived

    # After a spike inside the sub-step, the receptors are interpolated linearly between its
    # ends for the rest of it (start '_s', middle '_m'), as in neurons_adex.py.
    after_spike = [
        f"const scalar {r.local('s')} = {r.local(0)} + _theta * ({r.local(1)} - {r.local(0)}), "
        f"{r.local('m')} = {r.local(0)} + _mid * ({r.local(1)} - {r.local(0)});"
        for r in responses]
    substep = _lines(
        *[r.step_values("h_sub") for r in responses],
        "const scalar _v0 = v, _w0 = w;",
        _adex_rk4(responses, "h_sub", 0, "h", 1),
        "if (!_clamped && v >= v_peak) {",
        "    const scalar _theta = (v > _v0 && _v0 < v_peak) ? (v_peak - _v0) / (v - _v0) "
        ": (scalar) 0;",
        "    const scalar _mid = (scalar) 0.5 * ((scalar) 1 + _theta);",
        "    w = _w0 + _theta * (w - _w0) + b;",
        "    v = v_reset;",
        "    _fired = 1;",
        "    /* +1: the count goes down at the end of this step, as in NEST (but for the",
        "       longest count, which lasts for ever anyway) */",
        "    refractory = refractory_steps <= 0 ? 0",
        "               : refractory_steps < 2147483647 ? (int32_t) refractory_steps + 1",
        "               : 2147483647;",
        "    _clamped = refractory > 0;",
        _indent("\n".join(after_spike)),
        _indent(_adex_rk4(responses, "((scalar) 1 - _theta) * h_sub", "s", "m", 1)),
        "}",
        *[r.advance() for r in responses])
    update = _lines(
        "const scalar _i_drive = i_offset + i_inj;",
        "int _fired = 0;",
        "int _clamped = refractory > 0;",
        "for (int64_t _k = 0; _k < n_sub; ++_k) {",
        _indent(substep),
        "}",
        *[r.receive() for r in responses],
        "if (refractory > 0) {",
        "    refractory -= 1;",
        "}")
    derived = ("g_leak", "a_uS", "spike_scale", "inv_delta_T", "v_peak", "h_sub") + tuple(
        d for r in responses for d in r.derived)
    return derived, ("n_sub", "refractory_steps"), update, derive, None   # inputs not declared


# --- composition ---------------------------------------------------------------------------

def compose(membrane, responses):
    """The NeuronModelDef of one membrane with the given receptors (in this order)."""
    if membrane is AdExpMembrane:
        scheme = _adex_substeps
    elif any(r.conductance_based for r in responses):
        scheme = _lif_rk4
    else:
        scheme = _lif_exact
    derived, int_derived, update, derive, derive_inputs = scheme(responses)
    constraints = dict(membrane.constraints)
    pynn_names = {}
    for r in responses:
        constraints.update(r.native_constraints())
        pynn_names.update({r.native(p): f"{r.name}.{p}" for p in r.pynn_params})
    params = membrane.params + tuple(p for r in responses for p in r.params)
    state = membrane.state + tuple(s for r in responses for s in r.state)
    names = params + derived + int_derived + tuple(s.name for s in state)
    clashes = sorted({name for name in names if names.count(name) > 1})
    if clashes:
        raise errors.InvalidModelError(
            f"receptor names {[r.name for r in responses]} give clashing variable names "
            f"{clashes}; rename the receptors")
    signature = repr((membrane.kind, [(r.name, type(r).__name__) for r in responses]))
    digest = hashlib.sha1(signature.encode()).hexdigest()[:10]
    return ComposedModelDef(
        name=f"point_neuron_{membrane.kind}_{digest}",
        params=params, state=state, derived=derived, int_derived=int_derived,
        receptors=tuple(r.name for r in responses),
        update=update, threshold=membrane.threshold, reset=membrane.reset,
        support=COND_SUPPORT if scheme is _lif_rk4 else "", derive=derive,
        derive_inputs=derive_inputs, constraints=constraints,
        pynn_names=pynn_names)


# --- PyNN classes --------------------------------------------------------------------------

class LIF(cells.LIF):
    __doc__ = cells.LIF.__doc__
    translations = identity_translations(cells.LIF)


class AdExp(cells.AdExp):
    __doc__ = cells.AdExp.__doc__
    translations = identity_translations(cells.AdExp)


def _membrane_for(neuron):
    for membrane in MEMBRANES:
        if isinstance(neuron, membrane.pynn_class):
            return membrane
    raise errors.InvalidModelError(
        f"PointNeuron in pyNN.gpu takes LIF or AdExp as its neuron, not {type(neuron).__name__}")


def _flat_items(parameter_space):
    """(name, value) of a PointNeuron ParameterSpace, receptor sub-spaces as 'R.name'."""
    for name, value in parameter_space.items():
        if isinstance(value, ParameterSpace):
            for sub_name, sub_value in value.items():
                yield f"{name}.{sub_name}", sub_value
        else:
            yield name, value


class PointNeuron(cells.PointNeuron):
    """
    A LIF or AdExp membrane with named post-synaptic receptors, e.g.
    PointNeuron(LIF(tau_m=10.0), excitatory=CurrExpPostSynapticResponse(tau_syn=1.0),
    inhibitory=CurrExpPostSynapticResponse(tau_syn=2.0)). The integration schemes are in
    the docstring of pynn_gpu.standardmodels.point_neuron.
    """

    def __init__(self, neuron, **post_synaptic_receptors):
        membrane = _membrane_for(neuron)
        if not post_synaptic_receptors:
            raise errors.InvalidModelError("PointNeuron needs at least one receptor, "
                                           "e.g. PointNeuron(LIF(), excitatory=CurrExp...(...))")
        responses = []
        for name in sorted(post_synaptic_receptors):     # PyNN's order of receptor_types
            if name in membrane.params or name in ("v", "w", "spikes"):
                raise errors.InvalidModelError(
                    f"receptor name {name!r} is also a variable of {type(neuron).__name__}: "
                    "choose another name")
            try:
                check_identifier(name, "receptor")
            except ValueError as err:
                raise errors.InvalidModelError(str(err)) from None
            try:
                responses.append(response_for(post_synaptic_receptors[name], name))
            except TypeError as err:
                raise errors.InvalidModelError(str(err)) from None
        if len({r.conductance_based for r in responses}) > 1:
            raise errors.InvalidModelError(
                "PointNeuron cannot mix current-based and conductance-based receptors: "
                + ", ".join(f"{r.name} is {'conductance' if r.conductance_based else 'current'}"
                            "-based" for r in responses))
        super().__init__(neuron, **post_synaptic_receptors)
        self.model = compose(membrane, responses)
        self.receptor_map = {r.name: r.name for r in responses}
        self.receptor_time_constants = {r.name: r.native(r.time_constant) for r in responses}
        # PyNN names -> native names, of parameters and of state variables
        self._native_names = {name: name for name in membrane.params}
        self.variable_map = {s.name: s.name for s in membrane.state}
        for r in responses:
            self._native_names.update({f"{r.name}.{p}": r.native(p) for p in r.pynn_params})
            self.variable_map[f"{r.name}.{r.variable}"] = r.x

    # --- parameter names and translation ----------------------------------------------------

    @property
    def default_parameters(self):
        defaults = dict(self.neuron.default_parameters)
        for name, psr in self.post_synaptic_receptors.items():
            defaults.update({f"{name}.{p}": value for p, value in psr.default_parameters.items()
                             if p != "locations"})
        return defaults

    def get_parameter_names(self):
        return list(self._native_names)

    def has_parameter(self, name):
        return name in self._native_names

    def get_schema(self):
        return {name: float for name in self._native_names}

    def get_native_names(self, *names):
        for name in names:
            if name not in self._native_names:
                raise errors.NonExistentParameterError(name, "PointNeuron",
                                                       self.get_parameter_names())
        return [self._native_names[name] for name in (names or self._native_names)]

    def simple_parameters(self):
        return self.get_parameter_names()

    def scaled_parameters(self):
        return []

    def computed_parameters(self):
        return []

    def computed_parameters_include(self, parameter_names):
        return False

    @property
    def native_parameters(self):
        return self.translate(self.parameter_space)

    def translate(self, parameters, copy=True):
        """PyNN names (flat 'R.p' or receptor sub-spaces) -> native names; units are the same."""
        native = {}
        for name, value in _flat_items(parameters):
            if name.endswith(".locations"):
                continue        # where synapses sit on a morphology: nothing for a point neuron
            if name not in self._native_names:
                raise errors.NonExistentParameterError(name, "PointNeuron",
                                                       self.get_parameter_names())
            native[self._native_names[name]] = deepcopy(value) if copy else value
        return ParameterSpace(native, shape=parameters.shape)

    def reverse_translate(self, native_parameters):
        standard = {name: native_parameters[native]
                    for name, native in self._native_names.items()
                    if native in native_parameters.keys()}
        return ParameterSpace(standard, schema=self.get_schema(), shape=native_parameters.shape)

    # --- description --------------------------------------------------------------------------

    @property
    def composition(self):
        """E.g. 'PointNeuron(LIF, AMPA=CondAlphaPostSynapticResponse)'."""
        parts = [type(self.neuron).__name__] + [
            f"{name}={type(self.post_synaptic_receptors[name]).__name__}"
            for name in self.receptor_types]
        return f"PointNeuron({', '.join(parts)})"

    def __repr__(self):
        return self.composition

    def describe(self, template="modeltype_default.txt", engine="default"):
        context = {
            "name": self.composition,
            "default_parameters": self.default_parameters,
            "default_initial_values": self.default_initial_values,
            "parameters": dict(_flat_items(self.parameter_space)),
        }
        return descriptions.render(engine, template, context)
