"""
The networks of the validation suite, written once for any PyNN backend: every function takes
the simulator module `sim` (pyNN.gpu or pyNN.brian2) as its first argument and builds the same
network in it. Nothing here depends on which simulator runs it.

* Vogels-Abbott COBA and CUBA (Brette et al. 2007, benchmarks 1 and 2), with the parameters of
  PyNN's examples/VAbenchmarks.py: 4000 neurons (80 % excitatory), 2 % connectivity, delay
  0.2 ms; COBA is kicked by 20 Poisson sources at 100 Hz for 50 ms, CUBA runs on its own
  (v_rest = -49 mV lies above threshold).
* Brunel (2000) sparse network, model A (identical excitatory and inhibitory neurons): 4 x
  `order` excitatory and `order` inhibitory neurons (1250 in all: the reference simulator
  needs minutes per run even so), each receiving exactly C_E = 0.1 N_E
  excitatory and C_I = 0.1 N_I inhibitory inputs (weights J and -g J) with delay D, and
  C_E external Poisson inputs of rate eta * nu_thr each. Their sum, a Poisson process of
  C_E eta nu_thr (10-20 kHz), is carried by EXTERNAL_SOURCES independent Poisson sources
  per neuron: one source could not carry it, since both simulators draw at most one spike
  per source and step (at 10 kHz and dt = 0.1 ms that is a spike in every step, a constant
  drive). With 20 sources a step holds a binomial count whose variance is within 10 % of
  the Poisson count's. The synapse is IF_curr_exp with a short tau_syn (0.5 ms), whose charge
  gives the voltage jump J of Brunel's delta synapse.

Seeds: one seed gives one realisation. Connectivity and initial membrane potentials come
from a seeded NumpyRNG, which pyNN.gpu sets out to replay as PyNN's own code draws it (for
the Vogels-Abbott networks it does not: see README.md); the Poisson inputs come from each
simulator's own generator and differ.
"""

import numpy as np
from pyNN.random import NumpyRNG, RandomDistribution

# Taken off every refractory period (ms). Brian 2 holds a neuron for one step less than
# pyNN.gpu and NEST after a spike (see README.md); validate.py --refractory-shift
# sets this to measure how much that step changes the statistics.
REFRACTORY_SHIFT = 0.0

# --- Vogels-Abbott ---------------------------------------------------------------------------

VA_DT = 0.1          # ms
VA_DELAY = 0.2       # ms
VA_T_STOP = 1000.0   # ms


def vogels_abbott_parameters(model):
    """Cell parameters and weights of benchmark `model` ("COBA" or "CUBA"), derived as in
    Brette et al. (2007): membrane area 20000 um^2, c_m = 1 uF/cm^2, g_leak = 5e-5 S/cm^2
    (so cm = 0.2 nF, tau_m = 20 ms); CUBA's current weights are the COBA-like conductances
    times the driving force at v_mean = -60 mV."""
    cell = dict(tau_m=20.0, cm=0.2, v_reset=-60.0, v_thresh=-50.0, tau_refrac=5.0,
                tau_syn_E=5.0, tau_syn_I=10.0)
    e_rev_exc, e_rev_inh, v_mean = 0.0, -80.0, -60.0
    if model == "COBA":
        cell.update(v_rest=-60.0, e_rev_E=e_rev_exc, e_rev_I=e_rev_inh)
        return "IF_cond_exp", cell, 4.0e-3, 51.0e-3                   # uS
    if model == "CUBA":
        cell.update(v_rest=-49.0)
        g_exc, g_inh = 0.27e-3, 4.5e-3                                # uS
        return ("IF_curr_exp", cell,
                g_exc * (e_rev_exc - v_mean), g_inh * (e_rev_inh - v_mean))   # nA
    raise ValueError(f"unknown Vogels-Abbott model {model!r}")


def vogels_abbott(sim, model, seed, n=4000):
    """Build benchmark `model` in `sim` (after setup()); return {"exc": ..., "inh": ...}."""
    celltype_name, cell, w_exc, w_inh = vogels_abbott_parameters(model)
    celltype = getattr(sim, celltype_name)(**dict(cell,
                                                  tau_refrac=cell["tau_refrac"] - REFRACTORY_SHIFT))
    n_exc = n * 4 // 5
    exc = sim.Population(n_exc, celltype, label="exc")
    inh = sim.Population(n - n_exc, celltype, label="inh")
    rng = NumpyRNG(seed=seed, parallel_safe=True)
    for population in (exc, inh):
        population.initialize(v=RandomDistribution("uniform", low=cell["v_reset"],
                                                   high=cell["v_thresh"], rng=rng))
    connector = sim.FixedProbabilityConnector(0.02, rng=rng)
    for pre, weight, receptor in ((exc, w_exc, "excitatory"), (inh, w_inh, "inhibitory")):
        synapse = sim.StaticSynapse(weight=weight, delay=VA_DELAY)
        for post in (exc, inh):
            sim.Projection(pre, post, connector, synapse, receptor_type=receptor)
    if model == "COBA":
        kick = sim.Population(20, sim.SpikeSourcePoisson(rate=100.0, duration=50.0),
                              label="kick")
        for post in (exc, inh):
            sim.Projection(kick, post, sim.FixedProbabilityConnector(0.01, rng=rng),
                           sim.StaticSynapse(weight=0.1, delay=VA_DELAY),
                           receptor_type="excitatory")
    return {"exc": exc, "inh": inh}


# --- Brunel (2000) ---------------------------------------------------------------------------

BRUNEL_DT = 0.1       # ms
BRUNEL_ORDER = 250    # 1000 excitatory + 250 inhibitory neurons
BRUNEL_CELL = dict(tau_m=20.0, cm=0.25, v_rest=-70.0, v_reset=-60.0, v_thresh=-50.0,
                   tau_refrac=2.0, tau_syn_E=0.5, tau_syn_I=0.5)
BRUNEL_J = 0.2        # mV, voltage jump of one excitatory input
BRUNEL_DELAY = 1.5    # ms
BRUNEL_EPSILON = 0.1
EXTERNAL_SOURCES = 20  # independent Poisson sources per neuron carrying its external input

# Relative inhibition g and external drive eta = nu_ext / nu_thr, points of Brunel (2000),
# Fig. 8. At this size (C_E = 100 instead of 1000) the regimes are less distinct than in the
# paper, and the slow oscillation (g = 4.5, eta = 0.9) is not found; the fast one is.
BRUNEL_REGIMES = {
    "AI": dict(g=8.0, eta=2.0),      # asynchronous, irregular: low correlation and synchrony
    "SI": dict(g=6.0, eta=4.0),      # synchronous irregular, fast oscillation
}


def brunel_rates(order=BRUNEL_ORDER, regime="AI"):
    """(C_E, nu_thr in Hz, rate of each neuron's merged external Poisson source in Hz)."""
    c_e = int(BRUNEL_EPSILON * 4 * order)
    theta = BRUNEL_CELL["v_thresh"] - BRUNEL_CELL["v_rest"]
    nu_thr = theta / (BRUNEL_J * c_e * BRUNEL_CELL["tau_m"]) * 1000.0
    return c_e, nu_thr, c_e * BRUNEL_REGIMES[regime]["eta"] * nu_thr


def brunel(sim, regime, seed, order=BRUNEL_ORDER):
    """Build Brunel's model A in regime `regime` (see BRUNEL_REGIMES) in `sim`;
    return {"exc": ..., "inh": ...}."""
    g = BRUNEL_REGIMES[regime]["g"]
    c_e, _, external_rate = brunel_rates(order, regime)
    c_i = int(BRUNEL_EPSILON * order)
    # an exponential current w e^(-t/tau_syn) deposits w tau_syn of charge: a jump of
    # w tau_syn / cm in v when tau_syn << tau_m (mV nF / ms = nA)
    w_exc = BRUNEL_J * BRUNEL_CELL["cm"] / BRUNEL_CELL["tau_syn_E"]
    celltype = sim.IF_curr_exp(**dict(BRUNEL_CELL,
                                      tau_refrac=BRUNEL_CELL["tau_refrac"] - REFRACTORY_SHIFT))
    exc = sim.Population(4 * order, celltype, label="exc")
    inh = sim.Population(order, celltype, label="inh")
    rng = NumpyRNG(seed=seed, parallel_safe=True)
    for population in (exc, inh):
        population.initialize(v=RandomDistribution("uniform", low=BRUNEL_CELL["v_rest"],
                                                   high=BRUNEL_CELL["v_thresh"], rng=rng))
    for pre, n_in, weight, receptor in ((exc, c_e, w_exc, "excitatory"),
                                        (inh, c_i, -g * w_exc, "inhibitory")):
        for post in (exc, inh):
            sim.Projection(pre, post,
                           sim.FixedNumberPreConnector(n_in, allow_self_connections=False,
                                                       rng=rng),
                           sim.StaticSynapse(weight=weight, delay=BRUNEL_DELAY),
                           receptor_type=receptor)
    for post in (exc, inh):
        # sources k * EXTERNAL_SOURCES ... (k + 1) * EXTERNAL_SOURCES - 1 drive neuron k
        external = sim.Population(post.size * EXTERNAL_SOURCES,
                                  sim.SpikeSourcePoisson(rate=external_rate / EXTERNAL_SOURCES),
                                  label=f"external_{post.label}")
        sources = np.arange(external.size)
        sim.Projection(external, post,
                       sim.FromListConnector(np.column_stack(
                           [sources, sources // EXTERNAL_SOURCES]).astype(float)),
                       sim.StaticSynapse(weight=w_exc, delay=BRUNEL_DELAY),
                       receptor_type="excitatory")
    return {"exc": exc, "inh": inh}


# --- the runs the suite compares ---------------------------------------------------------------

NETWORKS = {
    # name: (builder, builder arguments, dt, t_stop (ms), start of the analysis window (ms))
    "COBA": (vogels_abbott, ("COBA",), VA_DT, VA_T_STOP, 200.0),
    "CUBA": (vogels_abbott, ("CUBA",), VA_DT, VA_T_STOP, 200.0),
    "Brunel_AI": (brunel, ("AI",), BRUNEL_DT, 600.0, 100.0),
    "Brunel_SI": (brunel, ("SI",), BRUNEL_DT, 600.0, 100.0),
}


def run_network(sim, name, seed, setup_options=None):
    """Set up `sim`, build network `name` (of NETWORKS) from `seed`, run it, and return
    {population label: list of spike-time arrays (ms)} plus the run's analysis window."""
    builder, args, dt, t_stop, t_start = NETWORKS[name]
    sim.setup(timestep=dt, min_delay=dt, max_delay=5.0, **(setup_options or {}))
    populations = builder(sim, *args, seed=seed)
    for population in populations.values():
        population.record("spikes")
    sim.run(t_stop)
    spikes = {}
    for label, population in populations.items():
        trains = population.get_data().segments[0].spiketrains
        spikes[label] = [np.asarray(st.rescale("ms").magnitude, dtype=float) for st in trains]
    sim.end()
    return spikes, (t_start, t_stop)
