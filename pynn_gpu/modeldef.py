"""
Model definitions: what a neuron or current-source model looks like to the code generator.

A model is data, not code: lists of names plus short snippets in a small C subset
that both targets (C and CUDA) compile unchanged. The generated kernel loads every
name a snippet may use into a local variable of the same name, runs the snippet,
and stores the state variables back. A snippet runs to its end (no return or goto, no
break or continue outside a loop of its own: check_snippet), since the code after it must
run in every thread. A model's names are C identifiers that the generated code does not
use itself (pynn_gpu.modelcheck lists those), each used once; its name, a C identifier
too, tells it apart from other models in a network (one definition per name).

Names a snippet can use inside a neuron update:
    every parameter, derived constant and state variable of the model,
    `in_<receptor>`   input that arrives in this step on that receptor,
    `i_inj`           current injected by electrodes during this step (nA),
    `t`, `dt`         time at the start of the step (ms, a double) and the step (ms),
    `_step`           the step number (int64),
    `UNIFORM()`       a uniform random number in [0, 1) from the counter-based RNG,
    table names       group-level integer arrays (e.g. spike times of a source).
"""

from dataclasses import dataclass, field
from typing import Callable, Dict, Mapping, Tuple

import numpy as np

from pyNN import errors

from .modelcheck import (NEURON_NAMES, NEURON_PATTERN, SOURCE_NAMES,
                         SYNAPSE_NAMES, ModelDefinitionError, assigns, check_distinct,
                         check_draws_declared, check_expression, check_identifier,
                         check_name, check_snippet, check_text)


@dataclass(frozen=True)
class Constraint:
    """An allowed range for a parameter, checked before anything is built."""
    low: float = -np.inf
    low_inclusive: bool = True
    high: float = np.inf

    def violated_by(self, values: np.ndarray) -> np.ndarray:
        below = values < self.low if self.low_inclusive else values <= self.low
        return below | (values > self.high) | np.isnan(values)

    def describe(self) -> str:
        if np.isfinite(self.high):      # the range, bounds written in full: [1, 2147483647]
            opening = "[" if self.low_inclusive else "("
            return f"in {opening}{_bound(self.low)}, {_bound(self.high)}]"
        return (">= " if self.low_inclusive else "> ") + _bound(self.low)


def _bound(value: float) -> str:
    """A bound as it is read: whole numbers in full (2147483647, not 2.14748e+09)."""
    if np.isfinite(value) and value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return f"{value:g}"


POSITIVE = Constraint(0.0, low_inclusive=False)
NON_NEGATIVE = Constraint(0.0)
PROBABILITY = Constraint(0.0, high=1.0)
# UNIFORM() in a synapse event: a synapse's numbers for one spike are counted in 16 bits
# (the other 16 hold its ordinal among the synapses of its pair, kernels/common/philox.h);
# a 65,537th number would be the first of the pair's next synapse
SYNAPSE_DRAWS_PER_EVENT = 2**16


STATE_CTYPES = ("scalar", "int32_t", "int64_t")      # scalar: double or float


@dataclass(frozen=True)
class StateVar:
    name: str
    ctype: str = "scalar"          # one of STATE_CTYPES

    def __post_init__(self):
        if self.ctype not in STATE_CTYPES:
            raise ModelDefinitionError(
                f"state variable {self.name!r}: ctype must be one of "
                f"{', '.join(STATE_CTYPES)} (got {self.ctype!r})")


@dataclass(frozen=True)
class NeuronModelDef:
    """A neuron (or spike source) model as the code generator sees it."""
    name: str
    params: Tuple[str, ...]
    state: Tuple[StateVar, ...]
    derived: Tuple[str, ...] = ()
    int_derived: Tuple[str, ...] = ()
    receptors: Tuple[str, ...] = ()
    update: str = ""
    threshold: str = "0"
    reset: str = ""
    support: str = ""
    tables: Tuple[str, ...] = ()
    uses_rng: bool = False
    # derive(params: dict of arrays, dt) -> dict of derived arrays (float and int)
    derive: Callable[[Mapping[str, np.ndarray], float], Dict[str, np.ndarray]] = None
    # The parameters derive() reads, where the model declares them (None: it may read any).
    # A declaration also promises that derive() computes each cell from that cell's
    # parameters alone: a set() then derives again only when one of these changes, and only
    # for the cells it changes. derive() is given no other parameter, so one it reads but
    # that is not declared fails at once rather than going stale.
    derive_inputs: Tuple[str, ...] = None
    constraints: Mapping[str, Constraint] = field(default_factory=dict)
    # state set to 0 in a neuron whose parameters change between runs: a process that
    # draws ahead (a gamma source's next interval) then starts afresh with the new ones
    restart_on_change: Tuple[str, ...] = ()
    # nF through which injected current (i_inj, gap junctions) moves v in a model without a
    # cm parameter (Izhikevich's implicit 1 pF): what the gap-junction stability check
    # divides by; None where the model has cm, or where nothing is known
    capacitance: float = None

    def __post_init__(self):
        check_name(self.name, "model")
        for receptor in self.receptors:
            check_identifier(receptor, f"{self.name} receptor")
        check_distinct(self.receptors, f"{self.name} receptor")
        inputs = {f"in_{receptor}" for receptor in self.receptors}
        for name in self.all_names():
            check_identifier(name, f"{self.name} variable", NEURON_NAMES | inputs,
                             NEURON_PATTERN)
        check_distinct(self.all_names(), f"{self.name} variable")
        for part in ("update", "reset"):
            check_snippet(getattr(self, part), f"{self.name} {part}")
        check_expression(self.threshold, f"{self.name} threshold")
        check_text(self.support, f"{self.name} support")
        check_draws_declared(self.name, {part: getattr(self, part)
                                         for part in ("update", "threshold", "reset")},
                             self.uses_rng)
        if self.derive_inputs is not None:
            unknown = sorted(set(self.derive_inputs) - set(self.params))
            if unknown:
                raise ModelDefinitionError(f"{self.name}: derive_inputs {unknown} are not "
                                           "parameters of the model")
            if self.tables:
                raise ModelDefinitionError(f"{self.name}: a model with group-level tables "
                                           "cannot derive cell by cell (derive_inputs)")

    def all_names(self):
        return (tuple(self.params) + tuple(self.derived) + tuple(self.int_derived)
                + tuple(s.name for s in self.state) + tuple(self.tables))

    @property
    def state_names(self):
        return tuple(s.name for s in self.state)

    @property
    def code_identity(self):
        """Everything of the model that reaches the generated code (not derive or
        constraints, which act on the host)."""
        return (self.params, self.state, self.derived, self.int_derived, self.receptors,
                self.update, self.threshold, self.reset, self.support, self.tables,
                self.uses_rng)


@dataclass(frozen=True)
class CurrentSourceDef:
    """
    An electrode: `code` sets `amplitude_now` (nA) for the step from its parameters.

    Names the code can use: every parameter and table, `t`, `dt`, `_step` (int64), and
    when `per_target` is set, `_neuron` (the target neuron's index in its population)
    and, when `uses_rng` is also set, `NORMAL(n)`: a standard normal number that depends
    only on (seed, this source and population, `_neuron`, n), the same on every target,
    and `UNIFORM_AT(n, draw)`, a uniform double in [0, 1) keyed the same way plus `draw`
    (32 random bits, the first word of a Philox block; `UNIFORM_BLOCK_AT(n, draw, words)`
    fills uint32_t words[4] with the whole block, four independent 32-bit numbers).

    Without `per_target` the code runs once per step and its value goes to all targets.
    """
    name: str
    params: Tuple[str, ...]
    int_params: Tuple[str, ...]
    code: str
    constraints: Mapping[str, Constraint] = field(default_factory=dict)
    # parameters kept in double even in float precision (phases that grow with time)
    double_params: Tuple[str, ...] = ()
    tables: Tuple[str, ...] = ()        # scalar arrays of any length
    int_tables: Tuple[str, ...] = ()    # int64 arrays of any length
    per_target: bool = False
    uses_rng: bool = False
    support: str = ""                   # placed once before the kernels
    # add amplitude_now to a receptor's input of the step (set by the source) instead of
    # the injected current; needs per_target
    into_receptor: bool = False

    def __post_init__(self):
        check_name(self.name, "current source model")
        for name in self.all_names():
            check_identifier(name, f"{self.name} parameter", SOURCE_NAMES)
        check_distinct(self.all_names(), f"{self.name} parameter")
        check_snippet(self.code, f"{self.name} code")
        check_text(self.support, f"{self.name} support")
        check_draws_declared(self.name, {"code": self.code}, self.uses_rng)
        if (self.uses_rng or self.into_receptor) and not self.per_target:
            raise ValueError(f"{self.name}: random numbers and receptor input are per "
                             "target neuron, so uses_rng and into_receptor need per_target")

    def all_names(self):
        return (tuple(self.params) + tuple(self.int_params) + tuple(self.double_params)
                + tuple(self.tables) + tuple(self.int_tables))

    @property
    def code_identity(self):
        """Everything of the model that reaches the generated code (not constraints)."""
        return (self.params, self.int_params, self.code, self.double_params, self.tables,
                self.int_tables, self.per_target, self.uses_rng, self.support,
                self.into_receptor)


@dataclass(frozen=True)
class SynapseModelDef:
    """
    What a synapse does when a presynaptic spike reaches it, and, for plastic synapses,
    when a postsynaptic spike does.

    `on_pre` runs once per synapse and spike, before the input is queued: it may read the
    synapse's `weight`, its parameters and state, `h` (ms since the previous spike of the
    same presynaptic neuron; very large for the first one), `tau_psc` (the postsynaptic
    time constant of the receptor), `_step` (the step number, int64) and `DT` (the step,
    ms), update the state, and set `w_eff`, the amount queued (it starts as `weight`).

    `on_post` runs once per synapse for each spike of its postsynaptic neuron, when that
    spike reaches the synapse: `d` steps after it, d being the dendritic part of the
    synapse's delay (the whole delay by default, as in NEST: the synapse sees a presynaptic
    spike at once and a postsynaptic one after the delay). It may read and change what
    `on_pre` may, except `h`, `tau_psc` and `w_eff`. A plastic model keeps its own record of
    spike times in its state (time since the last spike of either side), so that the
    engine may hand presynaptic spikes to it after an axonal part of the delay
    (see SynapseGroup.dendritic_fraction).

    A model whose snippets change `weight` sets `changes_weight`: its weights then live on
    the target, and Projection.get reads them back from there.
    """
    name: str
    params: Tuple[str, ...] = ()
    state: Tuple[StateVar, ...] = ()
    on_pre: str = ""
    on_post: str = ""
    support: str = ""
    needs_last_spike: bool = False
    needs_tau_psc: bool = False
    uses_rng: bool = False      # UNIFORM(): keyed by (seed, synapse group, synapse, step);
                                # at most SYNAPSE_DRAWS_PER_EVENT of them per spike
    changes_weight: bool = False
    constraints: Mapping[str, Constraint] = field(default_factory=dict)

    def __post_init__(self):
        check_name(self.name, "synapse model")
        names = tuple(self.params) + tuple(s.name for s in self.state)
        for name in names:
            check_identifier(name, f"{self.name} synapse variable", SYNAPSE_NAMES)
        check_distinct(names, f"{self.name} synapse variable")
        for part in ("on_pre", "on_post"):
            check_snippet(getattr(self, part), f"{self.name} {part}")
            if not self.changes_weight and assigns(getattr(self, part), "weight"):
                raise ModelDefinitionError(
                    f"{self.name} {part} changes 'weight': a model that does says so with "
                    "changes_weight=True (its weights then live on the target)")
        check_text(self.support, f"{self.name} support")
        check_draws_declared(self.name, {"on_pre": self.on_pre}, self.uses_rng)
        check_draws_declared(self.name, {"on_post": self.on_post}, False,
                             "only on_pre may draw random numbers")
        if self.on_post and (self.uses_rng or self.needs_last_spike):
            raise ValueError(f"{self.name}: a model with on_post keeps its own spike times "
                             "(no needs_last_spike) and draws no random numbers")

    @property
    def code_identity(self):
        """Everything of the model that reaches the generated code (not constraints)."""
        return (self.params, self.state, self.on_pre, self.on_post, self.support,
                self.needs_last_spike, self.needs_tau_psc, self.uses_rng, self.changes_weight)

    @property
    def is_static(self):
        return not (self.params or self.state or self.on_pre or self.on_post)

    def state_ctype(self, name):
        """The C type of the state variable `name` on the target."""
        return next(v.ctype for v in self.state if v.name == name)

    @property
    def learns_from_post(self):
        """Whether postsynaptic spikes act on the synapses (on_post)."""
        return bool(self.on_post)


def check_one_definition_per_name(models):
    """Raise InvalidModelError if two different definitions of one kind of model share a
    name: the generated code keeps one model of each name (its support code, its kernels),
    so the second would silently run the first one's code."""
    seen = {}
    for model in models:
        kind = next(k for k in (NeuronModelDef, SynapseModelDef, CurrentSourceDef)
                    if isinstance(model, k))
        first = seen.setdefault((kind, model.name), model)
        if first.code_identity != model.code_identity:
            raise errors.InvalidModelError(
                f"two different {kind.__name__} definitions are both named {model.name!r}: "
                "give each model of a network its own name")
