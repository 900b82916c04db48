"""
STDPMechanism against an independent implementation of NEST's stdp_synapse algorithm.

The reference below is written from NEST's event-driven description, not from pyNN.gpu's
code: at each presynaptic spike it first applies the potentiation of every postsynaptic
spike that reached the synapse since the previous presynaptic spike (a postsynaptic spike
reaches it `delay` after it happened, up to and including the presynaptic spike's own
time), each with the presynaptic trace at that moment; then the depression by the
postsynaptic trace of the spikes that reached it strictly before; then it transmits the
weight. pyNN.gpu applies the potentiation when the postsynaptic spike arrives, so a weight
read after a run also holds the potentiation of the spikes that arrived after the last
presynaptic one: the reference adds those at the end.

The postsynaptic neuron is an IF_curr_delta cell made to fire by a strong input from a
spike source, so its spike times do not depend on the plastic weights; the reference takes
the spike times pyNN.gpu recorded. Tolerance: 1e-12 relative in double precision (the same
operations in a different order of rounding; exp is computed alike to ~1e-16).
"""

import math

import numpy as np
import pytest
from pyNN import errors
from pyNN.parameters import Sequence

DT = 0.1
RULE = {"tau_plus": 16.8, "tau_minus": 33.7, "A_plus": 0.08, "A_minus": 0.06}


# --- the reference ------------------------------------------------------------------------

def additive(w, amount, lo, hi, **_):
    return w + amount * hi


def bounded(kind):
    """Weight dependences as (potentiate, depress) of (w, amount, w_min, w_max, ...)."""
    def clip_high(f):
        return lambda w, a, lo, hi, **p: min(f(w, a, lo, hi, **p), hi)

    def clip_low(f):
        return lambda w, a, lo, hi, **p: max(f(w, a, lo, hi, **p), lo)

    add_up = lambda w, a, lo, hi, **p: w + a * hi                      # noqa: E731
    add_down = lambda w, a, lo, hi, **p: w - a * hi                    # noqa: E731
    mult_up = lambda w, a, lo, hi, **p: w + a * (hi - w)               # noqa: E731
    mult_down = lambda w, a, lo, hi, **p: w - a * (w - lo)             # noqa: E731
    gutig_up = lambda w, a, lo, hi, mu_plus, **p: (                    # noqa: E731
        w + a * (hi - lo) * ((hi - w) / (hi - lo)) ** mu_plus)
    gutig_down = lambda w, a, lo, hi, mu_minus, **p: (                 # noqa: E731
        w - a * (hi - lo) * ((w - lo) / (hi - lo)) ** mu_minus)
    up, down = {"AdditiveWeightDependence": (add_up, add_down),
                "MultiplicativeWeightDependence": (mult_up, mult_down),
                "AdditivePotentiationMultiplicativeDepression": (add_up, mult_down),
                "GutigWeightDependence": (gutig_up, gutig_down)}[kind]
    return clip_high(up), clip_low(down)


def nest_stdp(pre, post, delay, w0, end, rule, bounds, kind, extra=None):
    """(transmitted weights, final weight) for presynaptic and postsynaptic spike steps,
    `delay` in steps; spikes reach the synapse up to step `end - 1`."""
    extra = extra or {}
    potentiate, depress = bounded(kind)
    lo, hi = bounds
    tau_plus, tau_minus = rule["tau_plus"], rule["tau_minus"]
    w, kplus, last, sent = w0, 0.0, None, []
    for p in pre:
        for q in post:
            arrival = q + delay
            if (last is None or arrival > last) and arrival <= p and last is not None:
                k = kplus * math.exp(-(arrival - last) * DT / tau_plus)
                w = potentiate(w, rule["A_plus"] * k, lo, hi, **extra)
        k_minus = sum(math.exp(-(p - q - delay) * DT / tau_minus) for q in post if q + delay < p)
        w = depress(w, rule["A_minus"] * k_minus, lo, hi, **extra)
        sent.append(w)
        kplus = (kplus * math.exp(-(p - last) * DT / tau_plus) if last is not None else 0.0) + 1
        last = p
    for q in post:      # arrived after the last presynaptic spike, within the run
        arrival = q + delay
        if last is not None and last < arrival <= end - 1:
            k = kplus * math.exp(-(arrival - last) * DT / tau_plus)
            w = potentiate(w, rule["A_plus"] * k, lo, hi, **extra)
    return np.array(sent), w


# --- the network --------------------------------------------------------------------------

def _grid_times(rng, n, t_stop):
    steps = np.sort(rng.choice(np.arange(5, int(t_stop / DT) - 5), size=n, replace=False))
    return steps * DT


def _steps(times):
    """Spike times (end of the spike's step) to step numbers."""
    return [int(round(t / DT)) - 1 for t in times]


def driven_cell_with_plastic_inputs(sim, synapse, delays, t_stop, seed=3, n_pre_spikes=40,
                                    n_post_spikes=25, columns=None):
    """One IF_curr_delta neuron fired by a driver; one presynaptic source per delay onto it
    through `synapse` (`columns`: more per-connection values, name -> one per source).
    Returns (projection, pre spike steps per source, post spike steps, recorded v)."""
    rng = np.random.default_rng(seed)
    driver_times = _grid_times(rng, n_post_spikes, t_stop - 5)
    pre_times = [_grid_times(rng, n_pre_spikes, t_stop) for _ in delays]
    # make some presynaptic spikes meet a postsynaptic one in the same step (ties)
    for times, delay in zip(pre_times, delays):
        times[:3] = np.round(driver_times[4:7] + DT + delay, 1)
        times.sort()
    cell = sim.Population(1, sim.IF_curr_delta(tau_m=1e9, v_rest=0.0, v_reset=0.0,
                                               v_thresh=20.0, tau_refrac=0.1))
    cell.initialize(v=0.0)
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=driver_times))
    sources = sim.Population(len(delays), sim.SpikeSourceArray(
        spike_times=[Sequence(t) for t in pre_times]))
    sim.Projection(driver, cell, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=50.0, delay=DT))
    columns = dict(columns or {})
    rows = [(i, 0, d, *(values[i] for values in columns.values()))
            for i, d in enumerate(delays)]
    projection = sim.Projection(
        sources, cell, sim.FromListConnector(rows, column_names=["delay", *columns]), synapse)
    cell.record(["spikes", "v"])
    sim.run(t_stop)
    segment = cell.get_data().segments[-1]
    post = _steps(segment.spiketrains[0].magnitude)
    v = segment.filter(name="v")[0].magnitude[:, 0]
    return projection, [_steps(t) for t in pre_times], post, v


DELAYS = [0.1, 0.5, 1.0, 2.3]
KINDS = ["AdditiveWeightDependence", "MultiplicativeWeightDependence",
         "AdditivePotentiationMultiplicativeDepression", "GutigWeightDependence"]


@pytest.mark.parametrize("kind", KINDS)
def test_weights_follow_nest_stdp_synapse(sim, kind):
    t_stop, w0, bounds = 300.0, 0.25, (0.02, 0.5)
    extra = {"mu_plus": 0.7, "mu_minus": 0.3} if kind == "GutigWeightDependence" else {}
    dependence = getattr(sim, kind)(w_min=bounds[0], w_max=bounds[1], **extra)
    synapse = sim.STDPMechanism(sim.SpikePairRule(**RULE), dependence, weight=w0)
    projection, pre, post, v = driven_cell_with_plastic_inputs(sim, synapse, DELAYS, t_stop)
    assert len(post) == 25      # exactly the driver's spikes
    final = projection.get("weight", format="list", with_address=False)
    n_steps = int(round(t_stop / DT))
    expected_arrivals = np.zeros(n_steps + 1)
    for i, delay in enumerate(DELAYS):
        d = int(round(delay / DT))
        sent, w_end = nest_stdp(pre[i], post, d, w0, n_steps, RULE, bounds, kind, extra)
        assert np.ptp(sent) > 0.01          # the weight moved
        np.testing.assert_allclose(final[i], w_end, rtol=1e-12)
        for p, w in zip(pre[i], sent):
            if p + d <= n_steps - 1:
                expected_arrivals[p + d] += w
    # the transmitted weights: v jumps by them (tau_m = 1e9 ms: it drifts by ~1e-10 mV per
    # step in between), except where the cell spiked (reset) or was refractory (input dropped)
    jumps = np.diff(v)          # jumps[s]: the change during step s
    clean = np.ones(n_steps, bool)
    for q in post:
        clean[q:q + 2] = False
    np.testing.assert_allclose(jumps[clean], expected_arrivals[:n_steps][clean], rtol=0,
                               atol=1e-8)
    assert np.count_nonzero(expected_arrivals[:n_steps][clean]) > 100


@pytest.mark.parametrize("kind", KINDS)
def test_equal_bounds_hold_the_weight_there(sim, kind):
    """w_min = w_max pins the weight in every weight dependence (the bound check accepts
    it); Gutig's R * ((w_max - w) / R)^mu was 0 / 0 and made the weight NaN."""
    for bound in (0.3, 0.0):
        synapse = sim.STDPMechanism(sim.SpikePairRule(**RULE),
                                    getattr(sim, kind)(w_min=bound, w_max=bound), weight=bound)
        projection, pre, post, v = driven_cell_with_plastic_inputs(sim, synapse, [1.0], 100.0,
                                                                   n_pre_spikes=10,
                                                                   n_post_spikes=10)
        assert projection.get("weight", format="list", with_address=False) == [bound]
        assert np.isfinite(v).all()


def test_parameters_that_differ_between_synapses_are_each_synapse_s_own(sim):
    """A_plus, tau_minus and w_max per connection (FromListConnector columns): each synapse
    follows the reference with its own values."""
    t_stop, w0 = 300.0, 0.25
    columns = {"A_plus": [0.02, 0.05, 0.08, 0.11], "tau_minus": [10.0, 20.0, 30.0, 40.0],
               "w_max": [0.4, 0.5, 0.6, 0.7]}
    synapse = sim.STDPMechanism(sim.SpikePairRule(**RULE),
                                sim.MultiplicativeWeightDependence(w_min=0.02, w_max=0.5),
                                weight=w0)
    projection, pre, post, v = driven_cell_with_plastic_inputs(sim, synapse, DELAYS, t_stop,
                                                               columns=columns)
    group = sim.simulator.state.engine.graph.synapse_groups[-1]
    assert set(group.shared_params) == {"tau_plus", "A_minus", "w_min"}
    final = projection.get("weight", format="list", with_address=False)
    for i, delay in enumerate(DELAYS):
        rule = dict(RULE, A_plus=columns["A_plus"][i], tau_minus=columns["tau_minus"][i])
        _, w_end = nest_stdp(pre[i], post, int(round(delay / DT)), w0, int(t_stop / DT), rule,
                             (0.02, columns["w_max"][i]), "MultiplicativeWeightDependence")
        np.testing.assert_allclose(final[i], w_end, rtol=1e-12)
    assert len(set(np.round(final, 9))) == 4


def pair_stdp(pre, post, axonal, dendritic, w0, end, rule, bounds, kind, extra=None):
    """The same rule written as events at the synapse, for any split of the delay: a
    presynaptic spike of step p meets it at p + axonal, a postsynaptic one of step q at
    q + dendritic; in a step, presynaptic events come first when the axonal part is not 0
    (pyNN.gpu hands them over before the neuron update), postsynaptic ones first when it is
    (NEST's order); spikes meeting the synapse in the same step do not pair.
    Returns (transmitted weights, final weight)."""
    extra = extra or {}
    potentiate, depress = bounded(kind)
    lo, hi = bounds
    first = 0 if axonal else 1
    events = sorted([(p + axonal, first, "pre") for p in pre]
                    + [(q + dendritic, 1 - first, "post") for q in post])
    met = {"pre": [], "post": []}
    w, sent = w0, []
    for step, _, side in events:
        if step > end - 1:
            continue
        if side == "pre":
            k = sum(math.exp(-(step - b) * DT / rule["tau_minus"]) for b in met["post"] if b < step)
            w = depress(w, rule["A_minus"] * k, lo, hi, **extra)
            sent.append(w)
        else:
            k = sum(math.exp(-(step - a) * DT / rule["tau_plus"]) for a in met["pre"] if a < step)
            w = potentiate(w, rule["A_plus"] * k, lo, hi, **extra)
        met[side].append(step)
    return np.array(sent), w


@pytest.mark.parametrize("fraction", [0.0, 0.5])
@pytest.mark.parametrize("kind", ["AdditiveWeightDependence", "GutigWeightDependence"])
def test_any_dendritic_delay_fraction_splits_the_delay(sim, fraction, kind):
    """dendritic_delay_fraction f < 1: the postsynaptic spike meets the synapse after
    round(f d) steps (at most d - 1), the presynaptic one after the rest; the transmitted
    input still arrives d steps after the presynaptic spike."""
    t_stop, w0, bounds = 300.0, 0.25, (0.02, 0.5)
    extra = {"mu_plus": 0.7, "mu_minus": 0.3} if kind == "GutigWeightDependence" else {}
    synapse = sim.STDPMechanism(sim.SpikePairRule(**RULE),
                                getattr(sim, kind)(w_min=bounds[0], w_max=bounds[1], **extra),
                                weight=w0, dendritic_delay_fraction=fraction)
    projection, pre, post, v = driven_cell_with_plastic_inputs(sim, synapse, DELAYS, t_stop)
    final = projection.get("weight", format="list", with_address=False)
    assert projection.get("dendritic_delay_fraction", format="list",
                          with_address=False) == [fraction] * len(DELAYS)
    assert projection[0].dendritic_delay_fraction == fraction     # as get() reads it
    n_steps = int(round(t_stop / DT))
    expected_arrivals = np.zeros(n_steps + 100)
    for i, delay in enumerate(DELAYS):
        d = int(round(delay / DT))
        dendritic = min(int(np.rint(fraction * d)), d - 1)
        sent, w_end = pair_stdp(pre[i], post, d - dendritic, dendritic, w0, n_steps, RULE,
                                bounds, kind, extra)
        assert np.ptp(sent) > 0.01
        np.testing.assert_allclose(final[i], w_end, rtol=1e-12)
        arrivals = [p + d for p in pre[i] if p + (d - dendritic) <= n_steps - 1]
        for step, w in zip(arrivals, sent):
            expected_arrivals[step] += w
    jumps = np.diff(v)
    clean = np.ones(n_steps, bool)
    for q in post:
        clean[q:q + 2] = False
    np.testing.assert_allclose(jumps[clean], expected_arrivals[:n_steps][clean], rtol=0,
                               atol=1e-8)


def test_the_event_reference_is_nest_s_algorithm_for_a_dendritic_delay():
    """The two references agree where both apply (the whole delay dendritic)."""
    rng = np.random.default_rng(9)
    pre = sorted(rng.choice(3000, 60, replace=False).tolist())
    post = sorted(rng.choice(3000, 40, replace=False).tolist())
    for kind in KINDS:
        extra = {"mu_plus": 0.7, "mu_minus": 0.3} if kind == "GutigWeightDependence" else {}
        lazy = nest_stdp(pre, post, 7, 0.25, 3000, RULE, (0.02, 0.5), kind, extra)
        events = pair_stdp(pre, post, 0, 7, 0.25, 3000, RULE, (0.02, 0.5), kind, extra)
        np.testing.assert_allclose(lazy[0], events[0], rtol=1e-12)
        np.testing.assert_allclose(lazy[1], events[1], rtol=1e-12)


def test_vogels2011_rule_follows_nest_vogels_sprekeler_synapse(sim):
    tau, eta, rho, w0, bounds, t_stop = 20.0, 0.01, 10.0, 0.3, (0.0, 0.6), 300.0
    synapse = sim.STDPMechanism(sim.Vogels2011Rule(tau=tau, eta=eta, rho=rho),
                                sim.AdditiveWeightDependence(w_min=bounds[0], w_max=bounds[1]),
                                weight=w0)
    projection, pre, post, v = driven_cell_with_plastic_inputs(sim, synapse, DELAYS, t_stop)
    final = projection.get("weight", format="list", with_address=False)
    alpha = 2 * rho * tau / 1000.0
    n_steps = int(round(t_stop / DT))
    for i, delay in enumerate(DELAYS):
        d = int(round(delay / DT))
        w, kplus, last = w0, 0.0, None
        for p in pre[i]:
            for q in post:
                arrival = q + d
                if last is not None and last < arrival <= p:
                    w = min(w + eta * kplus * math.exp(-(arrival - last) * DT / tau), bounds[1])
            k_minus = sum(math.exp(-(p - q - d) * DT / tau) for q in post if q + d < p)
            w = min(w + eta * k_minus, bounds[1])
            w = max(w - eta * alpha, bounds[0])
            kplus = (kplus * math.exp(-(p - last) * DT / tau) if last is not None else 0) + 1
            last = p
        for q in post:
            if last < q + d <= n_steps - 1:
                w = min(w + eta * kplus * math.exp(-(q + d - last) * DT / tau), bounds[1])
        np.testing.assert_allclose(final[i], w, rtol=1e-12)
        assert abs(final[i] - w0) > 1e-3


# --- PyNN behaviour around the weights ----------------------------------------------------

def _stdp(sim, **kwargs):
    return sim.STDPMechanism(sim.SpikePairRule(**RULE),
                             sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0), **kwargs)


def _poisson_network(sim, weight=0.01):
    """20 Poisson sources onto 4 conductance-based cells, which other sources make fire,
    through plastic synapses (w_max = 0.02 uS)."""
    pre = sim.Population(20, sim.SpikeSourcePoisson(rate=40.0))
    post = sim.Population(4, sim.IF_cond_exp())
    drive = sim.Population(4, sim.SpikeSourcePoisson(rate=30.0))
    sim.Projection(drive, post, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.1))
    return sim.Projection(pre, post, sim.AllToAllConnector(),
                          sim.STDPMechanism(sim.SpikePairRule(**RULE),
                                            sim.AdditiveWeightDependence(w_min=0.0, w_max=0.02),
                                            weight=weight, delay=1.5))


def test_reset_returns_weights_to_those_last_set(sim):
    projection = _poisson_network(sim)
    sim.run(200.0)
    learnt = projection.get("weight", format="array")
    assert np.abs(learnt - 0.01).max() > 1e-3
    sim.reset()
    np.testing.assert_array_equal(projection.get("weight", format="array"), 0.01)
    projection.set(weight=0.005)
    sim.run(100.0)
    sim.reset()
    np.testing.assert_array_equal(projection.get("weight", format="array"), 0.005)


def test_weights_set_between_runs_are_kept_and_learning_goes_on(sim):
    projection = _poisson_network(sim)
    sim.run(100.0)
    projection.set(weight=0.015)            # after learning, before the next run
    np.testing.assert_array_equal(projection.get("weight", format="array"), 0.015)
    sim.run(100.0)
    after = projection.get("weight", format="array")
    assert np.abs(after - 0.015).max() > 1e-3


def test_a_run_in_pieces_learns_what_one_run_learns(target):
    import pynn_gpu

    def learn(pieces):
        pynn_gpu.setup(timestep=0.1, target=target, rng_seed=11)
        try:
            projection = _poisson_network(pynn_gpu)
            for _ in range(pieces):
                pynn_gpu.run(240.0 / pieces)
                projection.get("weight", format="array")     # a read between pieces
            return projection.get("weight", format="array")
        finally:
            pynn_gpu.end()

    np.testing.assert_array_equal(learn(1), learn(4))


def test_parameters_are_readable_and_checked(sim):
    pre = sim.Population(3, sim.SpikeSourcePoisson(rate=10.0))
    post = sim.Population(2, sim.IF_cond_exp())
    projection = sim.Projection(pre, post, sim.AllToAllConnector(), _stdp(sim, weight=0.1))
    a_plus, tau_minus, w_max = projection.get(["A_plus", "tau_minus", "w_max"], format="array")
    assert np.all(a_plus == RULE["A_plus"]) and np.all(tau_minus == RULE["tau_minus"])
    assert np.all(w_max == 1.0)
    with pytest.raises(errors.InvalidParameterValueError, match="tau_plus must be > 0"):
        projection.set(tau_plus=-1.0)
    with pytest.raises(errors.InvalidParameterValueError, match="fixed when the STDPMechanism"):
        projection.set(dendritic_delay_fraction=0.5)


def test_describe_says_what_the_mechanism_is(cpu_sim):
    sim = cpu_sim
    mechanism = sim.STDPMechanism(sim.SpikePairRule(tau_plus=15.0),
                                  sim.GutigWeightDependence(w_max=0.5), weight=0.1,
                                  dendritic_delay_fraction=0.5)
    text = mechanism.describe()
    for part in ("SpikePairRule(", "tau_plus=15", "GutigWeightDependence(", "w_max=0.5",
                 "mu_plus=0.5", "dendritic_delay_fraction=0.5"):
        assert part in text
    assert mechanism.describe(template=None)["dendritic_delay_fraction"] == 0.5


def test_unsupported_combinations_say_why(cpu_sim):
    sim = cpu_sim
    with pytest.raises(errors.InvalidParameterValueError, match="dendritic_delay_fraction"):
        sim.STDPMechanism(sim.SpikePairRule(), sim.AdditiveWeightDependence(),
                          dendritic_delay_fraction=1.5)
    with pytest.raises(errors.NoModelAvailableError, match="Vogels2011Rule"):
        sim.STDPMechanism(sim.Vogels2011Rule(), sim.MultiplicativeWeightDependence())
    with pytest.raises(errors.InvalidParameterValueError, match="STDP weight bounds"):
        sim.AdditiveWeightDependence(w_min=1.0, w_max=0.5)
    with pytest.raises(errors.InvalidParameterValueError, match="timing_dependence"):
        sim.STDPMechanism(None, sim.AdditiveWeightDependence())


@pytest.mark.parametrize("propagation", ["auto", "balanced"])
def test_cpu_and_cuda_learn_the_same_weights(cuda_backend, propagation):
    """On a GPU, or on the host emulation of the CUDA target (tests/targets/conftest.py)."""
    import pynn_gpu

    def learn(target):
        pynn_gpu.setup(timestep=0.1, target=target, rng_seed=5)
        try:
            projection = _poisson_network(pynn_gpu)
            inhibitory = pynn_gpu.Projection(
                projection.pre, projection.post, pynn_gpu.FixedProbabilityConnector(0.5),
                pynn_gpu.STDPMechanism(pynn_gpu.Vogels2011Rule(eta=0.001, rho=5.0),
                                       pynn_gpu.AdditiveWeightDependence(w_max=0.05),
                                       weight=0.02, delay=0.7),
                receptor_type="inhibitory")
            projection.propagation = inhibitory.propagation = propagation
            axonal = pynn_gpu.Projection(
                projection.pre, projection.post, pynn_gpu.FixedProbabilityConnector(0.7),
                pynn_gpu.STDPMechanism(pynn_gpu.SpikePairRule(**RULE),
                                       pynn_gpu.MultiplicativeWeightDependence(w_max=0.02),
                                       weight=0.01, delay=1.2, dendritic_delay_fraction=0.0))
            projection.post.record("spikes")
            pynn_gpu.run(150.0)
            return (projection.get("weight", format="array"),
                    inhibitory.get("weight", format="array"),
                    axonal.get("weight", format="array"),
                    projection.post.get_data().segments[0].spiketrains)
        finally:
            pynn_gpu.end()

    cpu, gpu = learn("cpu"), learn("cuda")
    for a, b in zip(cpu[:3], gpu[:3]):
        assert np.nanmax(np.abs(a - np.nanmean(a))) > 1e-3
        # one thread per synapse event on both targets; only input sums may differ in order
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
    for a, b in zip(cpu[3], gpu[3]):
        np.testing.assert_array_equal(a.magnitude, b.magnitude)


@pytest.mark.parametrize("precision", ["double", "float"])
def test_generated_cuda_source_of_every_rule_compiles(tmp_path, precision):
    """nvcc (no GPU needed) compiles one kernel per plastic model, where nvcc exists."""
    from nvcc_check import assert_nvcc_compiles, generated_cuda_source

    def network(sim):
        cells = sim.Population(4, sim.IF_cond_exp())
        source = sim.Population(3, sim.SpikeSourcePoisson(rate=50.0))
        for kind in KINDS:
            sim.Projection(source, cells, sim.AllToAllConnector(),
                           sim.STDPMechanism(sim.SpikePairRule(), getattr(sim, kind)(),
                                             weight=0.5))
        sim.Projection(source, cells, sim.AllToAllConnector(),
                       sim.STDPMechanism(sim.Vogels2011Rule(), sim.AdditiveWeightDependence(),
                                         weight=0.5), receptor_type="inhibitory")
        sim.Projection(source, cells, sim.AllToAllConnector(),
                       sim.STDPMechanism(sim.SpikePairRule(), sim.AdditiveWeightDependence(),
                                         weight=0.5, delay=0.5, dendritic_delay_fraction=0.25))

    source = generated_cuda_source(network, precision)
    assert source.count("//@launch learn_") == 5     # one kernel per model
    assert source.count("//@launch deliver_") == 1   # the axonal one
    assert_nvcc_compiles(source, tmp_path)


def test_single_precision_follows_the_reference_within_float_rounding(target):
    """Float: each of the ~100 updates of a weight rounds to 6e-8 relative; 1e-5 covers
    their sum with room (the traces round alike)."""
    import pynn_gpu
    pynn_gpu.setup(timestep=0.1, target=target, precision="float")
    try:
        bounds, w0 = (0.02, 0.5), 0.25
        synapse = pynn_gpu.STDPMechanism(
            pynn_gpu.SpikePairRule(**RULE), pynn_gpu.GutigWeightDependence(
                w_min=bounds[0], w_max=bounds[1], mu_plus=0.7, mu_minus=0.3), weight=w0)
        projection, pre, post, v = driven_cell_with_plastic_inputs(pynn_gpu, synapse, DELAYS,
                                                                   300.0)
        final = projection.get("weight", format="list", with_address=False)
    finally:
        pynn_gpu.end()
    for i, delay in enumerate(DELAYS):
        _, w_end = nest_stdp(pre[i], post, int(round(delay / DT)), w0, 3000, RULE, bounds,
                             "GutigWeightDependence", {"mu_plus": 0.7, "mu_minus": 0.3})
        np.testing.assert_allclose(final[i], w_end, rtol=1e-5)


def test_weights_and_bounds_must_share_a_sign_before_anything_is_built(cpu_sim):
    sim = cpu_sim
    pre = sim.Population(2, sim.SpikeSourcePoisson(rate=10.0))
    post = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.ConnectionError, match="sign of its w_max"):
        sim.Projection(pre, post, sim.AllToAllConnector(), _stdp(sim, weight=-0.5),
                       receptor_type="inhibitory")
    with pytest.raises(errors.InvalidParameterValueError, match="STDP weight bounds"):
        sim.AdditiveWeightDependence(w_min=-1.0, w_max=0.5)
    projection = sim.Projection(pre, post, sim.AllToAllConnector(), _stdp(sim, weight=0.5))
    with pytest.raises(errors.InvalidParameterValueError, match="STDP weight bounds"):
        projection.set(w_max=0.25, w_min=0.5)
    np.testing.assert_array_equal(projection.get("w_min", format="array"), 0.0)   # unchanged
    engine = sim.simulator.state.engine
    assert engine is None or engine.program is None      # nothing built


def test_negative_weights_learn_as_nest_has_them_mirrored(cpu_sim):
    """NEST's convention: the rule acts on magnitudes, a negative synapse with bounds
    [w_max, w_min] <= 0 learns the mirror image of the positive one."""
    sim = cpu_sim
    weights = {}
    for sign, receptor, celltype in ((1, "excitatory", sim.IF_curr_exp),
                                     (-1, "inhibitory", sim.IF_curr_exp)):
        sim.setup(timestep=0.1, target="cpu", rng_seed=17)
        pre = sim.Population(6, sim.SpikeSourcePoisson(rate=50.0))
        post = sim.Population(2, celltype())
        drive = sim.Population(2, sim.SpikeSourcePoisson(rate=40.0))
        sim.Projection(drive, post, sim.OneToOneConnector(), sim.StaticSynapse(weight=10.0))
        synapse = sim.STDPMechanism(
            sim.SpikePairRule(**RULE),
            sim.GutigWeightDependence(w_min=sign * 1e-7, w_max=sign * 5e-7, mu_plus=0.5),
            weight=sign * 3e-7, delay=1.0)
        # tiny weights: the learning synapses do not change when the cells fire
        projection = sim.Projection(pre, post, sim.AllToAllConnector(), synapse,
                                    receptor_type=receptor)
        sim.run(300.0)
        weights[sign] = projection.get("weight", format="array")
    assert np.abs(weights[1] - 3e-7).max() > 1e-8
    np.testing.assert_allclose(weights[-1], -weights[1], rtol=1e-12)


def test_save_all_writes_the_learnt_weights(sim, tmp_path):
    projection = _poisson_network(sim)
    sim.run(100.0)
    path = tmp_path / "connections.txt"
    projection.save("all", str(path))
    header = path.read_text().splitlines()[0]
    assert "dendritic_delay_fraction" in header and "A_plus" in header
    table = np.loadtxt(path)
    learnt = projection.get("weight", format="list")
    np.testing.assert_array_equal(table[:, 2], [w for _, _, w in learnt])
    np.testing.assert_array_equal(table[:, 4], 1.0)


@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_a_projection_created_between_runs_gets_no_earlier_spikes(sim, fraction):
    """Spikes emitted before a plastic projection exists never reach it, though its source
    keeps them for another plastic projection whose delay is axonal: a spike at 9.9 ms,
    the projection created at 10 ms with a 3 ms delay; only the spike at 15 ms arrives
    (at 18 ms)."""
    def stdp(weight):
        return sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=30.0, A_plus=0.05,
                                                A_minus=0.06),
            weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.02),
            weight=weight, delay=3.0, dendritic_delay_fraction=fraction)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[9.9, 15.0]))
    old, new = (sim.Population(1, sim.IF_cond_exp()) for _ in range(2))
    sim.Projection(source, old, sim.AllToAllConnector(), stdp(0.01), receptor_type="excitatory")
    new.record("gsyn_exc")
    sim.run(10.0)
    sim.Projection(source, new, sim.AllToAllConnector(), stdp(0.01), receptor_type="excitatory")
    sim.run(20.0)
    g = new.get_data().segments[0].filter(name="gsyn_exc")[0].magnitude[:, 0]
    rises = np.flatnonzero(np.diff(g) > 0) + 1
    assert np.allclose(rises * 0.1, [18.0])


def _fixed_stdp(sim, delay, fraction, A_plus=0.0):
    return sim.STDPMechanism(
        sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=A_plus, A_minus=0.0),
        sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0), weight=0.25, delay=delay,
        dendritic_delay_fraction=fraction)


def _two_integrators_and_a_source(sim, times):
    """Two cells whose v sums their inputs (never firing), and a source of `times`."""
    cells = sim.Population(2, sim.IF_curr_delta(tau_m=1e9, v_rest=0.0, v_reset=0.0,
                                                v_thresh=1e6))
    cells.initialize(v=0.0)
    return cells, sim.Population(1, sim.SpikeSourceArray(spike_times=times))


@pytest.mark.parametrize("fraction", [0.0, 0.5])
def test_spikes_in_flight_keep_the_delay_they_were_sent_with(sim, fraction):
    """Delays changed between runs (longer, then shorter at the first step allowed, then
    longer): a spike sent before a change meets its synapse once, with the delay it was
    sent with, as through a static synapse; a plastic synapse read the histories at the
    new delay, meeting spikes twice or never (and, at a second change, spikes sent before
    the first again). Weights that do not learn: the inputs equal the static synapse's."""
    times = [round(t, 1) for t in np.arange(1.0, 39.0, 0.7)]
    cells, source = _two_integrators_and_a_source(sim, times)
    plastic = sim.Projection(source, cells[0:1], sim.AllToAllConnector(),
                             _fixed_stdp(sim, 1.0, fraction))
    static = sim.Projection(source, cells[1:2], sim.AllToAllConnector(),
                            sim.StaticSynapse(weight=0.25, delay=1.0))
    cells.record("v")
    # from 11 ms the spikes sent before 10 ms (1 ms delays) have arrived; from 19 ms those
    # sent from 10 to 11 ms (8 ms)
    for duration, delay in ((10.0, 8.0), (1.0, 0.5), (8.0, 3.0)):
        sim.run(duration)
        for projection in (plastic, static):
            projection.set(delay=delay)
    sim.run(25.0)       # the last spike, at 38.8 ms, arrives at 41.8 ms
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    np.testing.assert_array_equal(v[:, 0], v[:, 1])
    assert v[-1, 0] == pytest.approx(0.25 * len(times))


def test_postsynaptic_spikes_in_flight_keep_the_delay_they_were_sent_with(sim, target):
    """The whole delay dendritic (the default): a postsynaptic spike of 9 ms meets the
    synapse once, with the delay in force when it happened, longer or shorter afterwards:
    the weight is that of a network whose delay never changed (it potentiated twice, or
    never)."""
    def final_weight(first, then):
        cell = sim.Population(1, sim.IF_curr_delta(tau_m=1e9, v_rest=0.0, v_reset=0.0,
                                                   v_thresh=20.0, tau_refrac=0.1))
        cell.initialize(v=0.0)
        driver = sim.Population(1, sim.SpikeSourceArray(spike_times=[8.9]))
        sim.Projection(driver, cell, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=50.0, delay=0.1))
        source = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.0]))
        projection = sim.Projection(source, cell, sim.AllToAllConnector(),
                                    _fixed_stdp(sim, first, 1.0, A_plus=0.01))
        cell.record("spikes")
        sim.run(10.0)
        projection.set(delay=then)
        sim.run(30.0)
        assert cell.get_spike_counts()[cell[0]] == 1            # at 9.0 ms
        return projection.get("weight", format="list", with_address=False)[0]

    for first, then in ((1.0, 8.0), (8.0, 1.0)):
        sim.setup(timestep=0.1, target=target)
        changed = final_weight(first, then)
        sim.setup(timestep=0.1, target=target)
        assert changed == final_weight(first, first) > 0.25


def test_delays_change_again_once_the_spikes_sent_before_have_arrived(cpu_sim):
    sim = cpu_sim
    cells = sim.Population(1, sim.IF_curr_exp())
    projection = sim.Projection(cells, cells, sim.AllToAllConnector(),
                                _fixed_stdp(sim, 2.0, 0.0))
    sim.run(10.0)
    projection.set(delay=5.0)
    sim.run(1.0)
    with pytest.raises(errors.InvalidParameterValueError,
                       match="changed at 10 ms; spikes sent before then may meet its synapses "
                             "until 12 ms"):
        projection.set(delay=3.0)
    assert projection.get("delay", format="list", with_address=False) == [5.0]
    sim.run(1.0)
    projection.set(delay=3.0)
    sim.reset()
    projection.set(delay=4.0)       # nothing sent yet
    sim.run(1.0)
    assert projection.get("delay", format="list", with_address=False) == [4.0]
    made_late = sim.Projection(cells, cells, sim.AllToAllConnector(),
                               _fixed_stdp(sim, 2.0, 0.0))
    made_late.set(delay=3.0)        # no spike has passed through it yet: no change to keep
    sim.run(1.0)
    made_late.set(delay=5.0)


def test_after_reset_a_projection_whose_delays_changed_runs_as_one_made_with_them(sim):
    """The groups that kept the earlier delays are built again: the next segment is the run
    of a network made with the new delays (from step 0, no spike sent before a change)."""
    cells, source = _two_integrators_and_a_source(
        sim, [round(t, 1) for t in np.arange(0.5, 19.0, 0.7)])
    changed = sim.Projection(source, cells[0:1], sim.AllToAllConnector(),
                             _fixed_stdp(sim, 1.0, 0.0))
    sim.Projection(source, cells[1:2], sim.AllToAllConnector(), _fixed_stdp(sim, 6.0, 0.0))
    cells.record("v")
    sim.run(10.0)
    changed.set(delay=6.0)
    sim.run(15.0)               # past the spikes in flight (until 11 ms)
    sim.reset()
    sim.run(25.0)
    v = cells.get_data().segments[1].filter(name="v")[0].magnitude
    np.testing.assert_array_equal(v[:, 0], v[:, 1])
