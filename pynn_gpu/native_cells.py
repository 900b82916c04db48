"""
Native cell types: pyNN.gpu's own neuron models, used directly with their native names.

`native_cell_type(name)` is to pyNN.gpu what `pyNN.nest.native_cell_type("iaf_psc_exp")` is to
NEST: a cell type whose parameters and state variables are those of the backend model itself,
here a :class:`pynn_gpu.modeldef.NeuronModelDef`::

    import pyNN.gpu as sim
    sim.native_models()                  # ['eif_cond_alpha_isfa_ista', ..., 'if_curr_exp', ...]
    lif = sim.native_cell_type("if_curr_exp")
    cells = sim.Population(10, lif(tau_m=15.0))  # native names and units
    cells.record(["v", "isyn_exc"])              # every state variable can be recorded

The same function turns a model definition of your own into a cell type::

    model = NeuronModelDef(name="my_lif", params=("tau_m", "v_rest", "v_thresh", "v_reset"),
                           state=(StateVar("v"),), receptors=("exc", "inh"),
                           update="v += dt / tau_m * (v_rest - v) + in_exc + in_inh;",
                           threshold="v >= v_thresh", reset="v = v_reset;")
    MyLIF = sim.native_cell_type(model, default_parameters=dict(
        tau_m=20.0, v_rest=-65.0, v_thresh=-50.0, v_reset=-65.0),
        default_initial_values=dict(v=-65.0), units=dict(v="mV"))

A native type from a standard model takes its defaults, units, receptor types and the
rest from that standard type (translated to native values); with a model of your own they
are given as arguments. Receptors named "exc" and "inh" are the receptor types
"excitatory" and "inhibitory"; other receptors are receptor types under their own names.

Integer state variables (StateVar ctype int32_t or int64_t: counters, step numbers) are
recordable too. They are sampled in their own type, so exactly in either precision (float
precision's 24-bit mantissa, exact for whole numbers up to 2^24 only, does not touch them),
and given as float64 signals like every recording: exact for every int32_t value and for
int64_t values up to 2^53 in magnitude, rounded to the nearest double beyond. Their initial
values are whole numbers in the range of their type.
"""

import math
from copy import deepcopy

import numpy as np
import quantities as pq
from pyNN import errors
from pyNN.models import BaseCellType
from pyNN.parameters import Sequence

from .ctext import tokens
from .modeldef import NeuronModelDef

STANDARD_RECEPTORS = {"excitatory": "exc", "inhibitory": "inh"}


class NativeCellType(BaseCellType):
    """A cell type that is a pyNN.gpu model with its native parameter names."""
    model = None
    receptor_map = {}
    receptor_time_constants = {}
    units = {}

    @property
    def native_parameters(self):
        """The parameters as the backend stores them (here: unchanged, a copy)."""
        return deepcopy(self.parameter_space)

    def describe(self, template="modeltype_default.txt", engine="default"):
        if template is None:
            context = super().describe(template=None, engine=engine)
            context["model"] = self.model.name
            return context
        return super().describe(template=template, engine=engine)


def _standard_types():
    """Native model name -> the standard cell type that runs it (its namesake first)."""
    from . import standardmodels
    from .standardmodels import cells, sources
    found = {}
    for name in standardmodels.list_standard_models():
        cls = getattr(cells, name, None) or getattr(sources, name)
        model = cls.model.name
        if model not in found or name.lower() == model:
            found[model] = cls
    return found


def native_models():
    """Names of the native models of the standard cell types (for native_cell_type)."""
    return sorted(_standard_types())


def _receptors(model):
    """The receptor types of a model and the receptor each one names. "exc" and "inh" are
    "excitatory" and "inhibitory", the names PyNN users expect (a Projection's default is
    "excitatory"), next to any other receptors: ("AMPA", "exc") gives "AMPA", "excitatory"."""
    standard_name = {receptor: name for name, receptor in STANDARD_RECEPTORS.items()}
    receptor_map = {}
    for receptor in model.receptors:
        receptor_type = standard_name.get(receptor, receptor)
        if receptor_type in receptor_map:
            raise errors.InvalidModelError(
                f"model {model.name!r}: receptors {receptor_map[receptor_type]!r} and "
                f"{receptor!r} would both be the receptor type {receptor_type!r} (\"exc\" "
                "and \"inh\" are \"excitatory\" and \"inhibitory\"); rename one")
        receptor_map[receptor_type] = receptor
    return list(receptor_map), receptor_map


def _native_defaults(standard):
    """The standard type's default parameters, translated to native names and values."""
    parameters = standard().native_parameters
    parameters.shape = (1,)
    parameters.evaluate(simplify=True)
    defaults = {}
    for name, value in parameters.items():
        if isinstance(value, Sequence) or (isinstance(value, np.ndarray) and value.dtype == object):
            defaults[name] = value if isinstance(value, Sequence) else value[0]
        else:
            defaults[name] = float(np.asarray(value).reshape(-1)[0])
    return defaults


def _reads_i_inj(model):
    """Whether a snippet of the model reads the injected current: the identifier i_inj (the
    kernels give it to the update, the threshold and the reset alike)."""
    return any("i_inj" in tokens(code) for code in (model.update, model.threshold, model.reset))


def _whole_number(model, variable, value, ctype):
    """The initial value `value` of an integer state variable as an int, if it is a whole
    number in the range of its C type."""
    limits = np.iinfo(np.int32 if ctype == "int32_t" else np.int64)
    number = None
    if isinstance(value, (int, np.integer)):
        number = int(value)
    else:
        try:
            as_float = float(value)
        except (TypeError, ValueError):
            as_float = math.nan
        if math.isfinite(as_float) and as_float == int(as_float):
            number = int(as_float)
    if number is None or not limits.min <= number <= limits.max:
        raise errors.InvalidParameterValueError(
            f"native_cell_type({model.name!r}): default_initial_values[{variable!r}] must be "
            f"a whole number from {limits.min} to {limits.max}, as the state variable is an "
            f"{ctype} (got {value!r})")
    return number


def _checked_unit(model, variable, unit):
    """`unit` if the quantities package (which Neo's signals use) understands it."""
    try:
        pq.Quantity(1.0, unit)
    except (LookupError, ValueError, TypeError, SyntaxError):   # what quantities raises
        raise errors.InvalidParameterValueError(
            f"native_cell_type({model.name!r}): units[{variable!r}] = {unit!r} is not a unit "
            "the quantities package knows; give one such as 'mV', 'nA', 'uS', 'ms' or "
            "'dimensionless'") from None
    return unit


def _check_time_constants(model, receptor_time_constants):
    """Each key a receptor of the model, each value one of its parameters (a misspelt one
    would give TsodyksMarkramSynapse a time constant of 0)."""
    for receptor, parameter in receptor_time_constants.items():
        if receptor not in model.receptors:
            raise errors.InvalidParameterValueError(
                f"native_cell_type({model.name!r}): receptor_time_constants[{receptor!r}]: "
                f"{receptor!r} is not a receptor of the model ({', '.join(model.receptors)})")
        if parameter not in model.params:
            raise errors.InvalidParameterValueError(
                f"native_cell_type({model.name!r}): receptor_time_constants[{receptor!r}] = "
                f"{parameter!r} is not a parameter of the model ({', '.join(model.params)})")


def native_cell_type(model, default_parameters=None, default_initial_values=None, units=None,
                     conductance_based=None, injectable=None, receptor_time_constants=None,
                     name=None):
    """
    A new cell type class for a pyNN.gpu model, with the model's native names.

    `model`: the name of a native model (see `native_models()`), or a NeuronModelDef.
    For a NeuronModelDef, `default_parameters` must give a value to every parameter;
    `default_initial_values` (0 where not given; whole numbers for integer state
    variables), `units` of the state variables
    ("dimensionless" where not given), `conductance_based` (default False: weights of
    "inhibitory" connections are negative), `injectable` (default: the model's update,
    threshold or reset reads `i_inj`, the identifier itself, not in a comment, a literal or
    a longer name) and `receptor_time_constants` (receptor -> parameter holding its synaptic
    time constant, read by TsodyksMarkramSynapse) describe it. For a named native model
    they default to those of its standard cell type and may be overridden.
    """
    standard = None
    if isinstance(model, str):
        types = _standard_types()
        if model not in types:
            raise errors.InvalidModelError(
                f"{model!r} is not a pyNN.gpu model; available: {', '.join(sorted(types))}")
        standard = types[model]
        model = standard.model
    elif not isinstance(model, NeuronModelDef):
        raise errors.InvalidModelError(
            f"native_cell_type() needs a model name or a NeuronModelDef (got {model!r})")
    state_names = [s.name for s in model.state]             # every one recordable
    int_types = {s.name: s.ctype for s in model.state if s.ctype != "scalar"}
    receptor_types, receptor_map = _receptors(model)

    if standard is not None:
        defaults = _native_defaults(standard)
        initial = {k: v for k, v in standard.default_initial_values.items() if k in state_names}
        unit_table = {k: v for k, v in standard.units.items()}
        conductance = standard.conductance_based
        can_inject = standard.injectable
        time_constants = dict(getattr(standard, "receptor_time_constants", {}) or {})
    else:
        defaults, initial, unit_table = {}, {}, {}
        conductance, can_inject, time_constants = False, _reads_i_inj(model), {}
    if default_parameters is not None:
        unknown = set(default_parameters) - set(model.params) - set(defaults)
        if unknown:
            raise errors.NonExistentParameterError(sorted(unknown)[0], model.name,
                                                   list(model.params))
        defaults.update({k: float(v) if np.isscalar(v) else v
                         for k, v in default_parameters.items()})
    missing = [p for p in model.params if p not in defaults]
    if missing:
        raise errors.InvalidParameterValueError(
            f"native_cell_type({model.name!r}): default_parameters must give a value to every "
            f"parameter of the model; missing: {', '.join(missing)}")
    for variable in state_names:
        # a standard model's integer state (its countdowns) starts as its kernels expect
        if variable not in int_types:
            initial.setdefault(variable, 0.0)
        elif standard is None:
            initial.setdefault(variable, 0)
    if default_initial_values is not None:
        unknown = set(default_initial_values) - set(state_names)
        if unknown:
            raise errors.NonExistentParameterError(sorted(unknown)[0], model.name, state_names)
        initial.update({k: _whole_number(model, k, v, int_types[k]) if k in int_types
                        else float(v) for k, v in default_initial_values.items()})
    unknown = set(units or {}) - set(state_names)
    if unknown:
        raise errors.InvalidParameterValueError(
            f"native_cell_type({model.name!r}): units are given for the state variables "
            f"({', '.join(state_names)}); {sorted(unknown)[0]!r} is not one of them")
    unit_table.update({variable: _checked_unit(model, variable, unit)
                       for variable, unit in (units or {}).items()})
    for variable in state_names:
        unit_table.setdefault(variable, "dimensionless")
    if receptor_time_constants is not None:
        _check_time_constants(model, receptor_time_constants)
        time_constants.update(receptor_time_constants)
    elif standard is None:
        # the standard receptors' time constants under their standard names, where given
        time_constants = {r: p for r, p in (("exc", "tau_syn_E"), ("inh", "tau_syn_I"))
                          if r in model.receptors and p in model.params}

    return type(name or model.name, (NativeCellType,), {
        "__module__": __name__,
        "__doc__": f"pyNN.gpu native model {model.name!r}"
                   + (f" (the model of {standard.__name__})" if standard else ""),
        "model": model,
        "default_parameters": defaults,
        "default_initial_values": initial,
        "recordable": ["spikes"] + state_names,
        "units": unit_table,
        "receptor_types": receptor_types,
        "receptor_map": receptor_map,
        "receptor_time_constants": time_constants,
        "conductance_based": bool(conductance if conductance_based is None
                                  else conductance_based),
        "injectable": bool(can_inject if injectable is None else injectable),
    })
