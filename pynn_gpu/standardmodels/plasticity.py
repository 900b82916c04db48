"""
Spike-timing-dependent plasticity: PyNN's STDPMechanism with its timing rules
(SpikePairRule, Vogels2011Rule) and weight dependences (additive, multiplicative, mixed,
Guetig).

A mechanism becomes one SynapseModelDef: its timing rule writes the `on_pre` and `on_post`
snippets, calling on the weight dependence for the two ways a weight moves (potentiate,
depress by a dimensionless amount). With the default dendritic_delay_fraction = 1 the
semantics are those of NEST's stdp_synapse, whose results PyNN's cross-simulator tests
expect:

* all spike pairs count (exponential traces: `kplus` of the presynaptic spikes, `kminus`
  of the postsynaptic spikes, both per synapse, with the steps at which the last of each
  met the synapse);
* the whole delay d is dendritic: a presynaptic spike meets the synapse when it is emitted,
  a postsynaptic one d later;
* a presynaptic spike first depresses the weight by the postsynaptic trace at that moment,
  then is transmitted with the new weight;
* a postsynaptic spike potentiates the weight by the presynaptic trace when it meets the
  synapse;
* a presynaptic and a postsynaptic spike that meet the synapse in the same step do not pair
  (each trace leaves out the other's spike of that step).

NEST applies the potentiation of a postsynaptic spike lazily, at the next presynaptic spike;
here it is applied when the spike meets the synapse. The weights transmitted are the same;
a weight read between spikes already holds the potentiation (as in Brian 2).

Any other fraction f splits each delay d (in steps) into a dendritic part round(f d), at most
d - 1, and an axonal part, at least one step: a presynaptic spike meets the synapse after
the axonal part (the engine's delivery kernel handles it before the neuron update, and the
rest of the delay follows), a postsynaptic one after the dendritic part. f = 0 is the
convention of pyNN.brian2 (the whole delay axonal, when d is at least one step).

As in NEST, the rules act on magnitudes: a synapse's weight and its bounds share the sign of
w_max, so plastic inhibitory synapses of current-based cells (negative weights) take a
negative w_max, and w_min between it and 0 ("potentiation" makes such a weight more
negative).
"""

import numpy as np

from pyNN import errors
from pyNN.standardmodels import build_translations, synapses

from ..modeldef import NON_NEGATIVE, POSITIVE, StateVar, SynapseModelDef
from .synapses import PORTABLE_MATH, _Synapse

# Traces and the steps at which the last presynaptic and postsynaptic spikes met the
# synapse (-1: none yet).
STDP_STATE = (StateVar("kplus"), StateVar("kminus"), StateVar("last_pre", "int64_t"),
              StateVar("last_post", "int64_t"))
STDP_INITIAL_STATE = {"kplus": 0.0, "kminus": 0.0, "last_pre": -1.0, "last_post": -1.0}

# x^mu for x >= 0 with the portable exp and log, so both targets agree to the bit; a
# negative x (a weight set outside [w_min, w_max]) counts as 0.
STDP_SUPPORT = PORTABLE_MATH + """
#ifndef PG_STDP_POWER
#define PG_STDP_POWER
DEVICE_FN double stdp_power(double x, double mu)
{
    if (x <= 0.0) return mu == 0.0 ? 1.0 : 0.0;
    return pg_exp(mu * pg_log(x));
}
#endif
"""


def _trace_now(name, trace, last, tau):
    """A trace where a spike of the other side meets the synapse: its spikes of earlier
    steps, not one of this step (the trace then holds it, exactly 1 more)."""
    return (f"const scalar {name} = {last} == _step ? {trace} - (scalar) 1\n"
            f"    : {trace} * (scalar) pg_exp(-(double) (_step - {last}) * DT_DOUBLE / {tau});\n")


def _spike_met(trace, last, tau):
    """This side's trace and step after one of its spikes met the synapse."""
    return (f"{trace} = {trace} * (scalar) pg_exp(-(double) (_step - {last}) * DT_DOUBLE / {tau})"
            f" + (scalar) 1;\n{last} = _step;\n")


def _trace_at_pre(tau):
    return _trace_now("k_minus", "kminus", "last_post", tau)


def _trace_at_post(tau):
    return _trace_now("k_plus", "kplus", "last_pre", tau)


def _clip_high():
    return "if (weight > w_high) weight = w_high;\n"


def _clip_low():
    return "if (weight < w_low) weight = w_low;\n"


# The snippets of every rule run between these two: on magnitudes (`weight`, within
# [w_low, w_high]), the sign of w_max taken off before and put back after.
_ON_MAGNITUDES = """/* the rule acts on magnitudes: weight and bounds have the sign of w_max */
const scalar _sign = w_max < 0 ? (scalar) -1 : (scalar) 1;
const scalar w_low = _sign * w_min, w_high = _sign * w_max;
weight *= _sign;
"""
_SIGN_BACK = "weight *= _sign;\n"


def dendritic_steps(delays, fraction):
    """The dendritic part of each delay (steps) with dendritic_delay_fraction < 1: the
    rounded fraction, leaving the axonal part at least one step; in the delays' type."""
    delays = np.asarray(delays)
    return np.minimum(np.rint(fraction * delays), delays - 1).astype(delays.dtype)


def check_signs(weights, w_min, w_max):
    """Weights and bounds of plastic synapses (arrays that broadcast together): the bounds on
    one side of 0 with |w_min| <= |w_max|, each weight on the side of its w_max (or 0)."""
    weights, w_min, w_max = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                                  for v in (weights, w_min, w_max)))
    sign = np.where(w_max < 0, -1.0, 1.0)
    bad_bounds = (sign * w_min < 0) | (sign * w_min > sign * w_max)
    if bad_bounds.any():
        i = np.flatnonzero(bad_bounds)[0]
        raise errors.InvalidParameterValueError(
            f"STDP weight bounds: need 0 <= w_min <= w_max, or w_max <= w_min <= 0 for "
            f"negative weights (got w_min={w_min.flat[i]:g}, w_max={w_max.flat[i]:g})")
    bad_weights = sign * weights < 0
    if bad_weights.any():
        i = np.flatnonzero(bad_weights)[0]
        raise errors.ConnectionError(
            f"STDPMechanism: a weight must have the sign of its w_max, as in NEST (got "
            f"weight={weights.flat[i]:g} with w_max={w_max.flat[i]:g}); negative weights "
            "(current-based inhibition) take a negative w_max")


# --- weight dependences ---------------------------------------------------------------------

class _WeightDependence:
    """C code that moves `weight` by a dimensionless amount (an amplitude times a trace),
    within [w_min, w_max]."""
    params = ("w_min", "w_max")
    constraints = {}
    code_name = ""

    def _check_bounds(self):
        w_min, w_max = (self.parameter_space[name].base_value for name in ("w_min", "w_max"))
        if isinstance(w_min, (int, float)) and isinstance(w_max, (int, float)):
            check_signs(0.0, w_min, w_max)

    def potentiate(self, amount):
        return f"weight += ({amount}) * w_high;\n" + _clip_high()

    def depress(self, amount):
        return f"weight -= ({amount}) * w_high;\n" + _clip_low()


class _MultiplicativeDepression:
    def depress(self, amount):
        return f"weight -= ({amount}) * (weight - w_low);\n" + _clip_low()


def _bounds_translations(*extra):
    return build_translations(("w_max", "w_max"), ("w_min", "w_min"), *extra)


class AdditiveWeightDependence(_WeightDependence, synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__ + """
    Potentiation adds A_plus * w_max * (presynaptic trace), depression subtracts
    A_minus * w_max * (postsynaptic trace) (NEST's stdp_synapse with mu_plus = mu_minus = 0).
    """
    translations = _bounds_translations()
    possible_models = {"stdp_pair", "stdp_vogels"}
    code_name = "additive"

    def __init__(self, w_min=0.0, w_max=1.0):
        synapses.AdditiveWeightDependence.__init__(self, w_min=w_min, w_max=w_max)
        self._check_bounds()


class MultiplicativeWeightDependence(_MultiplicativeDepression, _WeightDependence,
                                     synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__ + """
    Potentiation adds A_plus * (w_max - w) * trace, depression subtracts
    A_minus * (w - w_min) * trace (NEST's stdp_synapse with mu_plus = mu_minus = 1 when
    w_min = 0).
    """
    translations = _bounds_translations()
    possible_models = {"stdp_pair"}
    code_name = "multiplicative"

    def __init__(self, w_min=0.0, w_max=1.0):
        synapses.MultiplicativeWeightDependence.__init__(self, w_min=w_min, w_max=w_max)
        self._check_bounds()

    def potentiate(self, amount):
        return f"weight += ({amount}) * (w_high - weight);\n" + _clip_high()


class AdditivePotentiationMultiplicativeDepression(
        _MultiplicativeDepression, _WeightDependence,
        synapses.AdditivePotentiationMultiplicativeDepression):
    __doc__ = synapses.AdditivePotentiationMultiplicativeDepression.__doc__ + """
    Potentiation adds A_plus * w_max * trace, depression subtracts
    A_minus * (w - w_min) * trace.
    """
    translations = _bounds_translations()
    possible_models = {"stdp_pair"}
    code_name = "additive_multiplicative"

    def __init__(self, w_min=0.0, w_max=1.0):
        synapses.AdditivePotentiationMultiplicativeDepression.__init__(self, w_min=w_min,
                                                                       w_max=w_max)
        self._check_bounds()


class GutigWeightDependence(_WeightDependence, synapses.GutigWeightDependence):
    __doc__ = synapses.GutigWeightDependence.__doc__ + """
    With R = w_max - w_min, potentiation adds A_plus * R * ((w_max - w) / R)^mu_plus * trace
    and depression subtracts A_minus * R * ((w - w_min) / R)^mu_minus * trace (NEST's
    stdp_synapse when w_min = 0).
    """
    translations = _bounds_translations(("mu_plus", "mu_plus"), ("mu_minus", "mu_minus"))
    params = ("w_min", "w_max", "mu_plus", "mu_minus")
    constraints = {"mu_plus": NON_NEGATIVE, "mu_minus": NON_NEGATIVE}
    possible_models = {"stdp_pair"}
    code_name = "gutig"

    def __init__(self, w_min=0.0, w_max=1.0, mu_plus=0.5, mu_minus=0.5):
        synapses.GutigWeightDependence.__init__(self, w_min=w_min, w_max=w_max,
                                                mu_plus=mu_plus, mu_minus=mu_minus)
        self._check_bounds()

    # with w_min = w_max the weight stays there (R = 0; R * (x / R)^mu would be 0 / 0)
    def potentiate(self, amount):
        return ("if (w_high > w_low) {\n"
                f"    weight += ({amount}) * (w_high - w_low)\n"
                "        * (scalar) stdp_power((w_high - weight) / (w_high - w_low), mu_plus);\n"
                "}\n" + _clip_high())

    def depress(self, amount):
        return ("if (w_high > w_low) {\n"
                f"    weight -= ({amount}) * (w_high - w_low)\n"
                "        * (scalar) stdp_power((weight - w_low) / (w_high - w_low), mu_minus);\n"
                "}\n" + _clip_low())


# --- timing rules ---------------------------------------------------------------------------

class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = build_translations(
        ("tau_plus", "tau_plus"), ("tau_minus", "tau_minus"),
        ("A_plus", "A_plus"), ("A_minus", "A_minus"))
    possible_models = {"stdp_pair"}
    params = ("tau_plus", "tau_minus", "A_plus", "A_minus")
    constraints = {"tau_plus": POSITIVE, "tau_minus": POSITIVE}
    code_name = "spike_pair"

    def on_pre(self, weight_dependence):
        return (_trace_at_pre("tau_minus")
                + weight_dependence.depress("A_minus * k_minus")
                + _spike_met("kplus", "last_pre", "tau_plus"))

    def on_post(self, weight_dependence):
        return (_trace_at_post("tau_plus")
                + weight_dependence.potentiate("A_plus * k_plus")
                + _spike_met("kminus", "last_post", "tau_minus"))


class Vogels2011Rule(synapses.Vogels2011Rule):
    __doc__ = synapses.Vogels2011Rule.__doc__ + """
    In pyNN.gpu (as in NEST's vogels_sprekeler_synapse), with traces of time constant tau
    over all spikes: a presynaptic spike adds eta * (postsynaptic trace) and subtracts
    eta * alpha, alpha = 2 rho tau (rho in Hz, tau in ms: alpha = 2 * rho * tau / 1000, the
    target rate's share); a postsynaptic spike adds eta * (presynaptic trace). Weights stay
    within the AdditiveWeightDependence's [w_min, w_max]; eta is in weight units.
    pyNN.neuron (PyNN's other backend with this rule; its StdwaVogels2011 mechanism) pairs a
    spike with the last spike of the other kind only, and takes alpha = 2 * rho * tau with
    rho as given (per ms): PyNN's default rho = 3.0 is alpha = 120 there, 0.12 here.
    """
    translations = build_translations(("tau", "tau"), ("eta", "eta"), ("rho", "rho"))
    possible_models = {"stdp_vogels"}
    params = ("tau", "eta", "rho")
    constraints = {"tau": POSITIVE, "rho": NON_NEGATIVE}
    code_name = "vogels2011"

    def on_pre(self, weight_dependence):
        return (_trace_at_pre("tau")
                + "weight += eta * k_minus;\n" + _clip_high()
                + "weight -= eta * (scalar) 2 * rho * tau * (scalar) 1e-3;\n" + _clip_low()
                + _spike_met("kplus", "last_pre", "tau"))

    def on_post(self, weight_dependence):
        return (_trace_at_post("tau")
                + "weight += eta * k_plus;\n" + _clip_high()
                + _spike_met("kminus", "last_post", "tau"))


def _shown(lazy):
    """A parameter's value as given: a number, or the distribution or array it came from."""
    value = lazy.base_value
    return f"{value:g}" if isinstance(value, (int, float)) else repr(value)


TIMING_RULES = (SpikePairRule, Vogels2011Rule)
WEIGHT_DEPENDENCES = (AdditiveWeightDependence, MultiplicativeWeightDependence,
                      AdditivePotentiationMultiplicativeDepression, GutigWeightDependence)


def plasticity_model(timing, weight):
    """The SynapseModelDef of a timing rule combined with a weight dependence."""
    return SynapseModelDef(
        name=f"stdp_{timing.code_name}_{weight.code_name}",
        params=tuple(timing.params) + tuple(weight.params),
        state=STDP_STATE,
        on_pre=_ON_MAGNITUDES + timing.on_pre(weight) + _SIGN_BACK + "w_eff = weight;\n",
        on_post=_ON_MAGNITUDES + timing.on_post(weight) + _SIGN_BACK,
        support=STDP_SUPPORT,
        changes_weight=True,
        constraints={**timing.constraints, **weight.constraints},
    )


class STDPMechanism(_Synapse, synapses.STDPMechanism):
    __doc__ = synapses.STDPMechanism.__doc__ + """
    pyNN.gpu follows NEST's stdp_synapse with the default dendritic_delay_fraction = 1 (the
    whole delay dendritic), and takes any other fraction as well (0: the whole delay axonal,
    as in Brian 2); see pynn_gpu.standardmodels.plasticity. Timing rules: SpikePairRule with
    any weight dependence, Vogels2011Rule with AdditiveWeightDependence. PyNN's reset()
    returns the weights to those the script last set.
    """
    base_translations = build_translations(
        ("weight", "weight"),
        ("delay", "delay"),
        ("dendritic_delay_fraction", "dendritic_delay_fraction"),
    )
    initial_state = STDP_INITIAL_STATE

    def __init__(self, timing_dependence=None, weight_dependence=None,
                 voltage_dependence=None, dendritic_delay_fraction=1.0, weight=0.0, delay=None):
        if voltage_dependence is not None:
            raise NotImplementedError("STDPMechanism: voltage_dependence is not available in "
                                      "pyNN.gpu (PyNN defines no voltage-dependent rule)")
        if not isinstance(timing_dependence, TIMING_RULES):
            raise errors.InvalidParameterValueError(
                "STDPMechanism: timing_dependence must be one of "
                f"{', '.join(c.__name__ for c in TIMING_RULES)} from pyNN.gpu "
                f"(got {timing_dependence!r})")
        if not isinstance(weight_dependence, WEIGHT_DEPENDENCES):
            raise errors.InvalidParameterValueError(
                "STDPMechanism: weight_dependence must be one of "
                f"{', '.join(c.__name__ for c in WEIGHT_DEPENDENCES)} from pyNN.gpu "
                f"(got {weight_dependence!r})")
        if not timing_dependence.possible_models & weight_dependence.possible_models:
            raise errors.NoModelAvailableError(
                f"{type(timing_dependence).__name__} cannot be combined with "
                f"{type(weight_dependence).__name__} in pyNN.gpu: Vogels2011Rule takes "
                "AdditiveWeightDependence (its bounds)")
        if not (isinstance(dendritic_delay_fraction, (int, float))
                and 0 <= dendritic_delay_fraction <= 1):
            raise errors.InvalidParameterValueError(
                "STDPMechanism: dendritic_delay_fraction must be a number in [0, 1] (got "
                f"{dendritic_delay_fraction!r})")
        super().__init__(timing_dependence, weight_dependence, voltage_dependence,
                         dendritic_delay_fraction, weight, delay)
        self._model = plasticity_model(timing_dependence, weight_dependence)

    def _build_translations(self):
        # a copy: PyNN's version adds the components' entries to the class's own table
        self.translations = dict(self.base_translations)
        for component in (self.timing_dependence, self.weight_dependence):
            self.translations.update(component.translations)

    @property
    def model(self):
        return self._model

    def describe(self, template="stdpmechanism_default.txt", engine="default"):
        """A line saying what the mechanism is (PyNN 0.13 has no default template for it);
        with another template, or template=None for the context, PyNN's own."""
        if template != "stdpmechanism_default.txt":
            return super().describe(template=template, engine=engine)

        def component(part):
            values = ", ".join(f"{name}={_shown(part.parameter_space[name])}"
                               for name in part.get_parameter_names())
            return f"{type(part).__name__}({values})"

        return (f"STDPMechanism ({self.model.name}): timing {component(self.timing_dependence)}, "
                f"weight dependence {component(self.weight_dependence)}, "
                f"dendritic_delay_fraction={self.dendritic_delay_fraction:g}")

    @property
    def fixed_parameters(self):
        """Parameters the same for every synapse, which Projection.get answers."""
        return {"dendritic_delay_fraction": float(self.dendritic_delay_fraction)}

    @property
    def possible_models(self):
        return self.timing_dependence.possible_models & self.weight_dependence.possible_models

    @property
    def native_parameters(self):
        """Weight, delay and the components' parameters: what each synapse stores (the
        dendritic delay fraction is the mechanism's, the same for all)."""
        parameters = super().native_parameters
        parameters.pop("dendritic_delay_fraction")
        return parameters
