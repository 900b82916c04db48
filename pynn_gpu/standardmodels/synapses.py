"""
Synapse types for pyNN.gpu.

A synapse type carries a SynapseModelDef: what happens, per synapse, when a presynaptic
spike arrives (see modeldef.SynapseModelDef). StaticSynapse does nothing but queue its
weight; TsodyksMarkramSynapse scales it by the depressing/facilitating resource use.
ElectricalSynapse (gap junctions) is not spike-driven: pynn_gpu.gap_junctions runs it.
"""

from pyNN import errors
from pyNN.standardmodels import build_translations, synapses

from .. import simulator
from .._paths import kernels_dir
from ..modeldef import (NON_NEGATIVE, POSITIVE, PROBABILITY, SYNAPSE_DRAWS_PER_EVENT,
                        Constraint, StateVar, SynapseModelDef)

PORTABLE_MATH = (kernels_dir() / "common" / "portable_math.h").read_text()

STATIC_MODEL = SynapseModelDef("static")

# Tsodyks, Uziel & Markram (2000), in the event-driven form of NEST's tsodyks_synapse:
# resources are recovered (x), active (y, decaying with the postsynaptic time constant) or
# inactive (z = 1 - x - y, recovering with tau_rec); u is the utilisation. Between two
# spikes h ms apart the three states evolve exactly; then a spike uses u * x.
TSODYKS_MARKRAM_MODEL = SynapseModelDef(
    name="tsodyks_markram",
    params=("U", "tau_rec", "tau_facil"),
    state=(StateVar("u"), StateVar("x"), StateVar("y")),
    support=PORTABLE_MATH,
    needs_last_spike=True,
    needs_tau_psc=True,
    constraints={"U": PROBABILITY, "tau_rec": POSITIVE, "tau_facil": NON_NEGATIVE},
    on_pre="""
const scalar Puu = tau_facil > 0 ? (scalar) pg_exp(-h / tau_facil) : (scalar) 0;
/* recovered resources gained from the active pool as it empties into the inactive one;
   in double in any precision: for time constants close together the difference cancels
   (in float, 1 % off for tau_rec 3.00001 and tau_psc 3) */
const double _Pyy = tau_psc > 0 ? pg_exp(-(double) h / (double) tau_psc) : 0.0;
const double _Pzz = pg_exp(-(double) h / (double) tau_rec);
double _Pxy;
if (fabs((double) tau_psc - (double) tau_rec) < 1e-9 * (double) tau_rec) {
    _Pxy = 1 - _Pzz * (1 + (double) h / (double) tau_rec);
} else {
    _Pxy = ((_Pzz - 1) * (double) tau_rec - (_Pyy - 1) * (double) tau_psc)
           / ((double) tau_psc - (double) tau_rec);
}
const scalar Pyy = (scalar) _Pyy, Pzz = (scalar) _Pzz, Pxy = (scalar) _Pxy;
const scalar z = 1 - x - y;
u = u * Puu;
x = x + Pxy * y + (1 - Pzz) * z;
y = y * Pyy;
u = u + U * (1 - u);
const scalar used = u * x;
x = x - used;
y = y + used;
w_eff = weight * used;
""",
)


# NEST's bernoulli_synapse: each spike is transmitted with probability p.
SIMPLE_STOCHASTIC_MODEL = SynapseModelDef(
    name="simple_stochastic",
    params=("p",),
    uses_rng=True,
    constraints={"p": PROBABILITY},
    on_pre="if (UNIFORM() >= p) w_eff = 0;",
)


# Fuhrmann et al. (2002), as NEST's quantal_stp_synapse: n release sites; between spikes
# each empty site refills with probability 1 - exp(-h / tau_rec); at a spike each available
# site releases with probability u, and the weight is multiplied by the number released.
# State: u, and a, the number of available sites (NEST's names).
_QUANTAL_RELEASE = """
const scalar refill = 1 - (scalar) pg_exp(-h / tau_rec);
const scalar u_decay = tau_facil > 0 ? (scalar) pg_exp(-h / tau_facil) : (scalar) 0;
u = U + u * (1 - U) * u_decay;
const int _sites = (int) n;     /* n <= 32768 (RELEASE_SITES), exact in float too */
for (int _empty = _sites - a; _empty > 0; --_empty) {
    if (UNIFORM() < refill) a += 1;
}
int _released = 0;
for (int _site = a; _site > 0; --_site) {
    if (UNIFORM() < u) _released += 1;
}
a -= _released;
w_eff = weight * (scalar) _released;
"""

# A spike draws at most 2n numbers (a refill draw per empty site, then a release draw per
# available one): n <= 2^15 keeps them within the synapse's own SYNAPSE_DRAWS_PER_EVENT
# (beyond, a multapse's synapses would share numbers)
RELEASE_SITES = Constraint(1.0, high=SYNAPSE_DRAWS_PER_EVENT // 2)

MULTI_QUANTAL_MODEL = SynapseModelDef(
    name="multi_quantal",
    params=("U", "n", "tau_rec", "tau_facil"),
    state=(StateVar("u"), StateVar("a", "int32_t")),
    support=PORTABLE_MATH,
    needs_last_spike=True,
    uses_rng=True,
    constraints={"U": PROBABILITY, "n": RELEASE_SITES, "tau_rec": POSITIVE,
                 "tau_facil": NON_NEGATIVE},
    on_pre=_QUANTAL_RELEASE,
)

# The stochastic Tsodyks-Markram synapse is the same with a single release site.
STOCHASTIC_TSODYKS_MARKRAM_MODEL = SynapseModelDef(
    name="stochastic_tsodyks_markram",
    params=("U", "tau_rec", "tau_facil"),
    state=(StateVar("u"), StateVar("a", "int32_t")),
    support=PORTABLE_MATH,
    needs_last_spike=True,
    uses_rng=True,
    constraints=MULTI_QUANTAL_MODEL.constraints,
    on_pre="const scalar n = 1;\n" + _QUANTAL_RELEASE,
)


class _Synapse:
    """What pyNN.gpu's synapse types share: no delay given means the minimum delay."""
    initial_state = {}

    def _get_minimum_delay(self):
        return simulator.state.default_delay


class StaticSynapse(_Synapse, synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(
        ("weight", "weight"),
        ("delay", "delay"),
    )
    model = STATIC_MODEL


class TsodyksMarkramSynapse(_Synapse, synapses.TsodyksMarkramSynapse):
    __doc__ = synapses.TsodyksMarkramSynapse.__doc__ + """
    pyNN.gpu follows NEST's tsodyks_synapse: the time constant of the active state is the
    postsynaptic receptor's synaptic time constant (tau_syn_E or tau_syn_I; 0 for models
    without one), x starts at 1 and y at 0.
    """
    translations = build_translations(
        ("weight", "weight"),
        ("delay", "delay"),
        ("U", "U"),
        ("tau_rec", "tau_rec"),
        ("tau_facil", "tau_facil"),
        # state variables, readable with Projection.get like parameters
        ("u", "u"),
        ("x", "x"),
        ("y", "y"),
    )
    model = TSODYKS_MARKRAM_MODEL
    initial_state = {"u": 0.0, "x": 1.0, "y": 0.0}


class SimpleStochasticSynapse(_Synapse, synapses.SimpleStochasticSynapse):
    __doc__ = synapses.SimpleStochasticSynapse.__doc__
    translations = build_translations(
        ("weight", "weight"),
        ("delay", "delay"),
        ("p", "p"),
    )
    model = SIMPLE_STOCHASTIC_MODEL


class MultiQuantalSynapse(_Synapse, synapses.MultiQuantalSynapse):
    __doc__ = """
    Stochastic release from n sites with short-term depression and facilitation
    (Fuhrmann et al. 2002), following NEST's quantal_stp_synapse: u starts at 0 (the first
    spike uses U) and all n sites start available.
    """
    translations = build_translations(
        ("weight", "weight"), ("delay", "delay"), ("U", "U"), ("n", "n"),
        ("tau_rec", "tau_rec"), ("tau_facil", "tau_facil"),
        ("u", "u"), ("a", "a"),
    )
    model = MULTI_QUANTAL_MODEL
    initial_state = {"u": 0.0, "a": "n"}


class StochasticTsodyksMarkramSynapse(_Synapse, synapses.StochasticTsodyksMarkramSynapse):
    __doc__ = synapses.StochasticTsodyksMarkramSynapse.__doc__ + """
    pyNN.gpu implements it as MultiQuantalSynapse with a single release site.
    """
    translations = build_translations(
        ("weight", "weight"), ("delay", "delay"), ("U", "U"),
        ("tau_rec", "tau_rec"), ("tau_facil", "tau_facil"),
        ("u", "u"), ("a", "a"),
    )
    model = STOCHASTIC_TSODYKS_MARKRAM_MODEL
    initial_state = {"u": 0.0, "a": 1.0}


# A gap junction has no spike-triggered action: the engine builds its own kernel for it
# (see pynn_gpu.gap_junctions). The model carries no parameters beyond the weight.
GAP_JUNCTION_MODEL = SynapseModelDef("gap_junction")


class ElectricalSynapse(synapses.ElectricalSynapse):
    __doc__ = synapses.ElectricalSynapse.__doc__ + """
    Each connection (pre, post, weight g in uS) is one bidirectional junction: the
    postsynaptic neuron receives g (v_pre - v_post) nA and the presynaptic neuron the
    opposite current, computed from the membrane potentials at the start of every step.
    Gap junctions act at once: they have no delay. See pynn_gpu.gap_junctions.
    """
    translations = build_translations(
        ("weight", "weight"),
    )
    model = GAP_JUNCTION_MODEL
    is_gap_junction = True
    initial_state = {}

    def __init__(self, **parameters):
        if "delay" in parameters:   # PyNN's ParameterSpace would keep it silently
            raise errors.NonExistentParameterError("delay", type(self).__name__, ["weight"])
        super().__init__(**parameters)

    # Projection.get("delay"), set(delay=...) and the like: PyNN's error, not a KeyError
    def _check_names(self, names):
        for name in names:
            if name not in self.translations:
                raise errors.NonExistentParameterError(name, type(self).__name__, ["weight"])

    def get_native_names(self, *names):
        self._check_names(names)
        return super().get_native_names(*names)

    def translate(self, parameters, copy=True):
        self._check_names(parameters.keys())
        return super().translate(parameters, copy)
