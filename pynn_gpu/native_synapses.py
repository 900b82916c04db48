"""
Native synapse types: synapse models of your own, written as a SynapseModelDef, used in
Projections like PyNN's standard synapse types (what `native_cell_type` is for neurons).

A model says what a synapse does when a presynaptic spike reaches it (`on_pre`) and, for
plasticity, when a postsynaptic one does (`on_post`); see pynn_gpu.modeldef.SynapseModelDef
for the names the snippets can use. Its parameters and state variables are stored per
synapse (a parameter with one value for a whole projection is stored once) and are read and
set with Projection.get / set / initialize under their own names::

    from pynn_gpu.modeldef import StateVar, SynapseModelDef
    # each transmitted spike strengthens the synapse by a_pre, each postsynaptic spike
    # reaching it by a_post, up to w_max
    hebb = SynapseModelDef(
        name="hebb", params=("a_pre", "a_post", "w_max"),
        state=(StateVar("n_post", "int32_t"),),
        on_pre="w_eff = weight;\\nweight = fmin(weight + a_pre, w_max);",
        on_post="weight = fmin(weight + a_post, w_max);\\nn_post += 1;",
        changes_weight=True)
    Hebb = sim.native_synapse_type(hebb, default_parameters=dict(a_pre=0.0, a_post=0.01,
                                                                 w_max=1.0))
    projection = sim.Projection(pre, post, sim.AllToAllConnector(), Hebb(weight=0.1))

A postsynaptic spike reaches the synapse after its whole delay (NEST's convention for STDP);
`dendritic_delay_fraction` splits the delay otherwise, as for STDPMechanism.
"""

from pyNN import errors
from pyNN.standardmodels import StandardSynapseType, build_translations

from .modeldef import SynapseModelDef
from .neuron_data import check_state_values
from .standardmodels.synapses import _Synapse


class NativeSynapseType(_Synapse, StandardSynapseType):
    """A synapse type that runs a SynapseModelDef, with its native parameter names."""
    model = None
    dendritic_delay_fraction = 1.0


def _initial_value(model, variable, value):
    """A state variable's initial value: a number, or a parameter's name (a str)."""
    if isinstance(value, str):
        if value not in model.params:
            raise errors.InvalidParameterValueError(
                f"native_synapse_type({model.name!r}): default_initial_values[{variable!r}] "
                f"names {value!r}, which is no parameter of the model; give a number or one "
                f"of: {', '.join(model.params) or '(the model has no parameters)'}")
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise errors.InvalidParameterValueError(
            f"native_synapse_type({model.name!r}): default_initial_values[{variable!r}] "
            f"must be a number or a parameter's name (got {value!r})") from None
    check_state_values(variable, number, model.state_ctype(variable))
    return number


def native_synapse_type(model, default_parameters=None, default_initial_values=None,
                        dendritic_delay_fraction=1.0, name=None):
    """
    A new synapse type class for a SynapseModelDef of your own.

    `default_parameters` must give a value to every parameter of the model (weight and
    delay default to 0 and the minimum delay); `default_initial_values` gives the state
    variables' initial values (0 where not given; a parameter's name to start from its
    value); `dendritic_delay_fraction` (for a model with `on_post`) the share of each delay
    a postsynaptic spike takes to reach the synapse.
    """
    if not isinstance(model, SynapseModelDef):
        raise errors.InvalidModelError(
            f"native_synapse_type() needs a SynapseModelDef (got {model!r})")
    if model.needs_tau_psc:
        raise errors.InvalidModelError(
            f"native_synapse_type({model.name!r}): needs_tau_psc is for the standard "
            "TsodyksMarkramSynapse only")
    defaults = dict(default_parameters or {})
    unknown = set(defaults) - set(model.params) - {"weight", "delay"}
    if unknown:
        raise errors.NonExistentParameterError(sorted(unknown)[0], model.name,
                                               ["weight", "delay", *model.params])
    missing = [p for p in model.params if p not in defaults]
    if missing:
        raise errors.InvalidParameterValueError(
            f"native_synapse_type({model.name!r}): default_parameters must give a value to "
            f"every parameter of the model; missing: {', '.join(missing)}")
    state_names = [v.name for v in model.state]
    initial = {v: 0.0 for v in state_names}
    for variable, value in (default_initial_values or {}).items():
        if variable not in initial:
            raise errors.NonExistentParameterError(variable, model.name, state_names)
        initial[variable] = _initial_value(model, variable, value)
    if not (isinstance(dendritic_delay_fraction, (int, float))
            and 0 <= dendritic_delay_fraction <= 1):
        raise errors.InvalidParameterValueError(
            f"dendritic_delay_fraction must be a number in [0, 1] (got "
            f"{dendritic_delay_fraction!r})")
    names = ["weight", "delay", *model.params, *state_names]
    return type(name or model.name, (NativeSynapseType,), {
        "__module__": __name__,
        "__doc__": f"pyNN.gpu native synapse model {model.name!r}",
        "model": model,
        "default_parameters": {"weight": 0.0, "delay": None,
                               **{k: float(v) for k, v in defaults.items()}},
        "translations": build_translations(*[(n, n) for n in names]),
        "initial_state": initial,
        "dendritic_delay_fraction": float(dendritic_delay_fraction),
    })
