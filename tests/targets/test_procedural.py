"""
Procedural connectivity: synapses regenerated from the counter-based generator, never stored.
The same synapses on the C target, the CUDA target and in the host's view of the projection,
with the statistics of a FixedProbabilityConnector and of the weight and delay distributions.
"""

import numpy as np
import pytest
from pyNN import errors
from pyNN.space import Line
from scipy import stats

import pynn_gpu as sim
from pynn_gpu import planner, procedural, simulator

from test_cuda_target import _recordings, assert_identical, simulate


def _random_synapse(rng, mu_w=0.5):
    return sim.StaticSynapse(
        weight=sim.RandomDistribution("normal_clipped", mu=mu_w, sigma=0.2, low=0.0,
                                      high=np.inf, rng=rng),
        delay=sim.RandomDistribution("normal_clipped", mu=1.5, sigma=0.75, low=0.1, high=10.0,
                                     rng=rng))


def test_statistics_of_a_large_procedural_projection():
    sim.setup(timestep=0.1, target="cpu")
    try:
        rng = sim.NativeRNG(seed=12)
        pre = sim.Population(400, sim.SpikeSourceArray())
        post = sim.Population(1000, sim.IF_curr_exp())
        p = 0.1
        prj = sim.Projection(pre, post, sim.FixedProbabilityConnector(p, rng=rng),
                             _random_synapse(rng), receptor_type="excitatory",
                             connectivity_format="procedural")
        assert prj.is_procedural and prj.connectivity_format == "procedural"
        assert "_weights" not in prj.__dict__       # nothing generated until asked for
        pairs = prj.get(["weight", "delay"], format="array")
        pre_idx, post_idx = prj._pre_index, prj._post_index
    finally:
        sim.end()
    # in-degrees: Binomial(400, p); chi-square over the central bins
    in_degree = np.bincount(post_idx, minlength=1000)
    edges = np.arange(25, 56, 3)
    observed = np.histogram(in_degree, bins=edges)[0]
    cdf = stats.binom.cdf(edges - 1, 400, p)
    expected = np.diff(cdf) * 1000
    observed = np.append(observed, 1000 - observed.sum())
    expected = np.append(expected, 1000 - expected.sum())
    assert stats.chisquare(observed, expected).pvalue > 1e-4
    # no pair twice, rows sorted
    assert len(np.unique(pre_idx * 1000 + post_idx)) == len(pre_idx)
    assert np.all(np.diff(pre_idx) >= 0)
    # weights: normal(0.5, 0.2) clipped to >= 0 (a 0.6 % tail redrawn); delays on the grid
    weights = pairs[0][~np.isnan(pairs[0])]
    truncated = stats.truncnorm(-0.5 / 0.2, np.inf, loc=0.5, scale=0.2)
    assert stats.kstest(weights, truncated.cdf).pvalue > 1e-4
    delays = pairs[1][~np.isnan(pairs[1])]
    assert delays.min() >= 0.1 - 1e-12 and delays.max() <= 10.0 + 1e-12
    assert np.allclose(delays * 10, np.rint(delays * 10))
    clipped = stats.truncnorm((0.1 - 1.5) / 0.75, (10.0 - 1.5) / 0.75, loc=1.5, scale=0.75)
    assert abs(delays.mean() - clipped.mean()) < 0.01      # 3 standard errors


def test_a_probability_of_zero_connects_nothing(target):
    """p = 0 regenerates no synapse (ln(1 - p) is -0.0, which the C literal must keep)."""
    sim.setup(timestep=0.1, target=target)
    try:
        source = sim.Population(37, sim.SpikeSourcePoisson(rate=50.0))
        cells = sim.Population(45, sim.IF_curr_exp())
        projection = sim.Projection(source, cells, sim.FixedProbabilityConnector(
            0.0, rng=sim.NativeRNG(seed=9)), sim.StaticSynapse(weight=0.3, delay=0.7),
            connectivity_format="procedural")
        cells.record("v")
        sim.run(50.0)
        assert len(projection) == 0
        v = cells.get_data().segments[0].filter(name="v")[0].magnitude
        np.testing.assert_array_equal(v, -65.0)
    finally:
        sim.end()


def test_double_literals_read_as_doubles():
    from pynn_gpu.codegen import c_double
    assert [c_double(v) for v in (-0.0, 1.0, 0.1, 1e-5)] == ["-0.0", "1.0", "0.1", "1e-05"]
    for value in (0.1, 1 / 3, 5e-324, 1.7976931348623157e308):
        assert float(c_double(value)) == value


def test_no_self_connections_and_all_to_all():
    sim.setup(timestep=0.1, target="cpu")
    try:
        rng = sim.NativeRNG(seed=5)
        cells = sim.Population(100, sim.IF_curr_exp())
        none_self = sim.Projection(
            cells, cells, sim.FixedProbabilityConnector(0.5, allow_self_connections=False,
                                                        rng=rng),
            sim.StaticSynapse(weight=0.1, delay=1.0), connectivity_format="procedural")
        full = sim.Projection(cells, cells, sim.FixedProbabilityConnector(1.0, rng=rng),
                              sim.StaticSynapse(weight=0.1, delay=1.0),
                              connectivity_format="procedural")
        assert not np.any(none_self._pre_index == none_self._post_index)
        assert len(full) == 100 * 100
    finally:
        sim.end()


def _network(fmt, delay=None):
    """Poisson input and recurrent connections, procedural or stored (the same synapses:
    a stored generated projection takes them from the same generator); delays uniform in
    [0.1, 3] ms, or all `delay`."""
    def build(sim):
        rng = sim.NativeRNG(seed=21)
        noise = sim.Population(60, sim.SpikeSourcePoisson(rate=40.0), label="noise")
        cells = sim.Population(150, sim.IF_curr_exp(v_thresh=-58.0), label="cells")
        inh = sim.Population(40, sim.IF_curr_exp(v_thresh=-58.0), label="inh")
        specs = [(noise, cells, 0.25, 0.5, "excitatory"), (cells, cells, 0.05, 0.25, "excitatory"),
                 (cells, inh, 0.2, 0.5, "excitatory"), (inh, cells, 0.3, -1.0, "inhibitory")]
        for pre, post, p, w, receptor in specs:
            delays = delay or sim.RandomDistribution("uniform", (0.1, 3.0), rng=rng)
            sim.Projection(pre, post, sim.FixedProbabilityConnector(
                p, rng=rng, allow_self_connections=False), sim.StaticSynapse(weight=w, delay=delays),
                receptor_type=receptor, connectivity_format=fmt)
        for population in (cells, inh):
            population.record(["spikes", "v"])
        return {"cells": cells, "inh": inh}
    return build


def test_procedural_and_stored_synapses_give_the_same_run():
    procedural = simulate("cpu", _network("procedural"), 100.0)
    stored = simulate("cpu", _network("ragged"), 100.0)
    assert_identical(procedural, stored)
    assert sum(len(s) for s in procedural["cells"][0]) > 20


@pytest.mark.parametrize("balanced", [False, True])
def test_cpu_and_cuda_regenerate_the_same_synapses(cuda_backend, balanced, monkeypatch):
    if balanced:        # every projection "balanced", over few threads that take turns
        monkeypatch.setattr(planner, "BALANCED_FROM_PRE", 1)
        monkeypatch.setattr(planner, "BALANCED_THREADS", 256)
    cpu = simulate("cpu", _network("procedural"), 60.0)
    gpu = simulate("cuda", _network("procedural"), 60.0, runs=[25.0, 35.0])
    assert_identical(cpu, gpu)


@pytest.mark.parametrize("fmt", ["procedural", "ragged"])
def test_delay_bounds_and_reset_generate_nothing(fmt):
    """get_min_delay, get_max_delay (setup's "auto": from the delays the generator can draw)
    and reset() leave a procedural projection, or one not generated yet, without synapses
    on the host."""
    sim.setup(timestep=0.1, min_delay="auto", max_delay="auto", target="cpu")
    try:
        cells = sim.Population(200, sim.IF_curr_exp())
        delay = sim.RandomDistribution("uniform", (0.5, 2.0), rng=sim.NativeRNG(seed=3))
        projection = sim.Projection(cells, cells, sim.FixedProbabilityConnector(
            0.1, rng=sim.NativeRNG(seed=2)), sim.StaticSynapse(weight=0.1, delay=delay),
            connectivity_format=fmt)
        assert sim.get_min_delay() == pytest.approx(0.5)
        assert sim.get_max_delay() == pytest.approx(2.0)
        assert projection.awaiting_generation
        sim.run(5.0)
        sim.reset()
        sim.run(5.0)
        # the C target generates stored formats on the host at the first build
        assert projection.awaiting_generation == (fmt == "procedural")
    finally:
        sim.end()


_GENERATED_CONNECTORS = {
    "FixedProbability": lambda rng: sim.FixedProbabilityConnector(0.2, rng=rng),
    "FixedNumberPost": lambda rng: sim.FixedNumberPostConnector(8, rng=rng),
    "FixedNumberPre": lambda rng: sim.FixedNumberPreConnector(8, rng=rng),
    "FixedTotalNumber": lambda rng: sim.FixedTotalNumberConnector(400, rng=rng),
    "DistanceDependent": lambda rng: sim.DistanceDependentProbabilityConnector(
        "exp(-d / 20)", rng=rng),
    "AllToAll": lambda rng: sim.AllToAllConnector(),
    "OneToOne": lambda rng: sim.OneToOneConnector(),
}


@pytest.mark.parametrize("name", sorted(_GENERATED_CONNECTORS))
def test_values_draw_from_their_distributions_rng(name):
    """As in PyNN, a drawn weight or delay comes from its distribution's rng, not the
    connector's: another weight seed gives the same pairs with other weights, the same seed
    the same weights; a weight and a delay may draw from two rngs (and are still
    generated)."""
    sim.setup(timestep=0.1, target="cpu")
    try:
        cells = sim.Population(60, sim.IF_curr_exp())

        def project(weight_seed, delay_seed, connector_seed=5):
            synapse = sim.StaticSynapse(
                weight=sim.RandomDistribution("uniform", (0.1, 0.5),
                                              rng=sim.NativeRNG(seed=weight_seed)),
                delay=sim.RandomDistribution("uniform", (0.1, 4.0),
                                             rng=sim.NativeRNG(seed=delay_seed)))
            projection = sim.Projection(
                cells, cells, _GENERATED_CONNECTORS[name](sim.NativeRNG(seed=connector_seed)),
                synapse)
            assert projection._procedural is not None       # from the generator
            return np.array(projection.get(["weight", "delay"], format="list"))

        first, again = project(7, 8), project(7, 8)
        other_weights, other_delays = project(9, 8), project(7, 9)
        np.testing.assert_array_equal(first, again)
        for other in (other_weights, other_delays):
            np.testing.assert_array_equal(first[:, :2], other[:, :2])    # the same pairs
        assert not np.array_equal(first[:, 2], other_weights[:, 2])
        np.testing.assert_array_equal(first[:, 3], other_weights[:, 3])
        np.testing.assert_array_equal(first[:, 2], other_delays[:, 2])
        assert not np.array_equal(first[:, 3], other_delays[:, 3])
        if name not in ("AllToAll", "OneToOne"):    # the connector's seed draws the pairs
            assert not np.array_equal(first[:, :2], project(7, 8, connector_seed=6)[:, :2])
    finally:
        sim.end()


@pytest.mark.parametrize("target", ["cpu", "emulated"])
def test_the_sign_rule_holds_for_generated_weights(target, emulate):
    """PyNN's sign rule for drawn weights, at creation as in PyNN: a distribution bounded on
    the wrong side is refused by its bounds; one unbounded there (normal) is drawn and
    checked on the host then, never procedural or on the device; a refused projection
    leaves the network as it was."""
    if target == "emulated":
        emulate()
    sim.setup(timestep=0.1, target="cpu" if target == "cpu" else "cuda")
    try:
        source = sim.Population(20, sim.SpikeSourcePoisson(rate=50.0))
        cells = sim.Population(20, sim.IF_curr_exp())

        def project(weight, fmt="auto"):
            return sim.Projection(source, cells, sim.FixedProbabilityConnector(
                0.5, rng=sim.NativeRNG(seed=1)), sim.StaticSynapse(weight=weight, delay=1.0),
                receptor_type="excitatory", connectivity_format=fmt)

        def normal(mu):
            return sim.RandomDistribution("normal", (mu, 1.0), rng=sim.NativeRNG(seed=2))
        below = sim.RandomDistribution("uniform", (-1.0, -0.5), rng=sim.NativeRNG(seed=2))
        with pytest.raises(errors.ConnectionError):
            project(below)
        with pytest.raises(errors.ConnectionError, match="procedural' is not possible"):
            project(normal(0.0), "procedural")
        with pytest.raises(errors.ConnectionError, match="all positive or all negative"):
            project(normal(0.0))
        assert sim.simulator.state.projections == []
        positive = project(normal(20.0))     # unbounded below, but every draw is positive
        assert not positive.awaiting_generation and positive.connectivity_format == "auto"
        weights = positive.get("weight", format="list", with_address=False)
        assert len(weights) > 100 and min(weights) > 0
        cells.record("v")
        sim.run(5.0)
        assert cells.get_data().segments[0].filter(name="v")[0].magnitude.max() > -65.0
    finally:
        sim.end()


def test_setting_weights_stores_the_synapses():
    sim.setup(timestep=0.1, target="cpu")
    try:
        rng = sim.NativeRNG(seed=3)
        source = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
        cells = sim.Population(64, sim.IF_curr_exp())
        prj = sim.Projection(source, cells, sim.FixedProbabilityConnector(1.0, rng=rng),
                             sim.StaticSynapse(weight=0.5, delay=1.0),
                             connectivity_format="procedural")
        cells.record("v")
        sim.run(5.0)
        prj.set(weight=2.0)
        assert not prj.is_procedural and prj.connectivity_format == "ragged"
        assert np.all(prj.get("weight", format="array") == 2.0)
        sim.run(5.0)
        v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    finally:
        sim.end()
    assert v[40, 0] > -65.0       # the first spike arrived with the generated weight


def test_auto_chooses_procedural_only_for_huge_projections(monkeypatch):
    from pynn_gpu import planner
    sim.setup(timestep=0.1, target="cpu")
    try:
        rng = sim.NativeRNG(seed=3)
        cells = sim.Population(200, sim.IF_curr_exp())
        small = sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                               sim.StaticSynapse(weight=0.1, delay=1.0))
        assert not small.is_procedural
        monkeypatch.setattr(planner, "PROCEDURAL_ABOVE_BYTES", 1000)
        large = sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                               sim.StaticSynapse(weight=0.1, delay=1.0))
        assert large.is_procedural
        seeded = sim.Projection(cells, cells, sim.FixedProbabilityConnector(
            0.1, rng=sim.NumpyRNG(seed=1)), sim.StaticSynapse(weight=0.1, delay=1.0))
        assert not seeded.is_procedural          # PyNN's own realisation was asked for
        # about 4,000 synapses: rows of one weight and one delay take 2 bytes per synapse,
        # of drawn weights 11
        monkeypatch.setattr(planner, "PROCEDURAL_ABOVE_BYTES", 32000)
        one_weight = sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                                    sim.StaticSynapse(weight=0.1, delay=1.0))
        drawn = sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                               sim.StaticSynapse(weight=sim.RandomDistribution(
                                   "uniform", (0.1, 0.2), rng=rng), delay=1.0))
        assert not one_weight.is_procedural and drawn.is_procedural
    finally:
        sim.end()


@pytest.mark.parametrize("connector,synapse,match", [
    (lambda rng: sim.OneToOneConnector(), lambda rng: sim.StaticSynapse(weight=0.1),
     "not a FixedProbabilityConnector"),
    (lambda rng: sim.AllToAllConnector(), lambda rng: sim.StaticSynapse(
        weight=sim.RandomDistribution("uniform", (0.1, 0.2), rng=sim.NumpyRNG(seed=1))),
     "draws from NumpyRNG, not a NativeRNG"),
    (lambda rng: sim.FixedProbabilityConnector(0.1, rng=sim.NumpyRNG(seed=1)),
     lambda rng: sim.StaticSynapse(weight=0.1), "rng is not a NativeRNG"),
    (lambda rng: sim.FixedProbabilityConnector(0.1, rng=rng),
     lambda rng: sim.StaticSynapse(weight=0.1, delay=sim.RandomDistribution(
         "normal", mu=1.0, sigma=0.2, rng=rng)), "delays must lie in"),
    (lambda rng: sim.FixedProbabilityConnector(0.1, rng=rng),
     lambda rng: sim.StaticSynapse(weight=sim.RandomDistribution(
         "gamma", k=2.0, theta=1.0, rng=rng)), "distribution 'gamma'"),
])
def test_errors_say_why_a_projection_cannot_be_procedural(connector, synapse, match):
    sim.setup(timestep=0.1, target="cpu")
    try:
        rng = sim.NativeRNG(seed=1)
        cells = sim.Population(10, sim.IF_curr_exp())
        with pytest.raises(errors.ConnectionError, match=match):
            sim.Projection(cells, cells, connector(rng), synapse(rng),
                           connectivity_format="procedural")
        with pytest.raises(errors.InvalidParameterValueError, match="connectivity_format"):
            sim.Projection(cells, cells, sim.AllToAllConnector(), connectivity_format="bits")
    finally:
        sim.end()


@pytest.mark.parametrize("delay", [None, 1.0])
def test_stored_rows_generated_on_the_cuda_target(emulate, delay):
    """A generated projection in ragged format: the CUDA target builds its rows itself (the
    host holds none until asked), and runs as the C target does with host-built rows. The
    one weight of each projection is stored once, and so is its one delay when it has one:
    the rows then hold the postsynaptic neurons only."""
    emulator = emulate()
    build = _network("ragged", delay)
    cpu = simulate("cpu", build, 60.0)
    sim.setup(timestep=0.1, target="cuda", rng_seed=4242)       # simulate()'s seed
    try:
        populations = build(sim)
        sim.run(60.0)
        projections = simulator.state.projections
        assert len(simulator.state.engine.device_generated) == len(projections)
        assert all("_weights" not in p.__dict__ for p in projections)
        from test_cuda_target import _recordings
        gpu = _recordings(populations)
        # asking for the synapses generates them on the host: the same ones
        assert len(projections[0]) > 0
        report = sim.connectivity_report()
        assert [row["synapses"] for row in report] == [len(p) for p in projections]
        engine = simulator.state.engine
        for group, row in zip(engine.graph.synapse_groups, report):
            one_delay = delay is not None
            assert group.shared_values == (("weight", "delay") if one_delay else ("weight",))
            assert engine.arrays[f"{group.name}_weight"].size == 1
            assert engine.arrays[f"{group.name}_delay"].size == (
                1 if one_delay else row["synapses"])
            # row offsets, postsynaptic neurons (two bytes each), the weight (double) once,
            # the delays (a byte each) once or per synapse
            assert group.post_ctype == "uint16_t"
            per_synapse = 2 if one_delay else 2 + 1
            assert row["bytes"] == (8 * (group.pre.size + 1) + per_synapse * row["synapses"]
                                    + 8 + (1 if one_delay else 0))
        sim.run(10.0)        # reading them does not rebuild
        assert len(simulator.state.engine.device_generated) == len(projections)
    finally:
        sim.end()
    assert_identical(cpu, gpu)
    assert emulator.kernel_launches > 0


@pytest.mark.parametrize("fmt", ["procedural", "ragged"])
def test_generated_delays_land_on_the_exact_step(fmt):
    """Delays that are not whole milliseconds: the ring must hold the longest one the
    generator can draw (0.7 ms = 7 steps here)."""
    sim.setup(timestep=0.1, target="cpu")
    try:
        source = sim.Population(1, sim.SpikeSourceArray(spike_times=[4.0]))
        cells = sim.Population(3, sim.IF_curr_exp(tau_syn_E=2.0, v_thresh=0.0))
        sim.Projection(source, cells, sim.FixedProbabilityConnector(1.0, rng=sim.NativeRNG(1)),
                       sim.StaticSynapse(weight=0.5, delay=0.7), connectivity_format=fmt)
        cells.record("v")
        sim.run(10.0)
        signal = cells.get_data().segments[0].filter(name="v")[0]
    finally:
        sim.end()
    times = np.round(signal.times.rescale("ms").magnitude, 6)
    v = signal.magnitude
    assert np.all(v[times <= 4.7] == -65.0)
    assert np.all(v[times == 4.8] > -65.0)
    from pynn_gpu.procedural import ProceduralSpec, ValueSpec
    spec = ProceduralSpec(p=0.5, seed=1, key=0, skip_self=False, weight=ValueSpec("constant", 1.0),
                          delay=ValueSpec("uniform", 0.1, 1.47, 0.1, 1.47))
    assert spec.max_delay_steps(0.1) == 15


@pytest.mark.parametrize("kind", ["fixed probability", "all to all, no self", "one to one"])
@pytest.mark.parametrize("post_range", [(0, 64), (32, 96), (64, 100), (0, 0)])
def test_a_range_of_postsynaptic_neurons_gets_the_same_synapses(kind, post_range):
    """Over several processes each generates the synapses onto its own neurons only (a
    block of whole chunks): the synapses of the full generation onto those neurons."""
    from pynn_gpu import pattern_connectors
    weight = procedural.ValueSpec("uniform", 0.1, 0.5, 0.1, 0.5)
    delay = procedural.ValueSpec("normal_clipped", 1.0, 0.3, 0.1, 3.0)
    if kind == "fixed probability":
        spec = procedural.ProceduralSpec(p=0.2, seed=3, key=9, skip_self=False, weight=weight,
                                         delay=delay)
    elif kind == "one to one":
        spec = pattern_connectors.OneToOneSpec(p=1.0, seed=3, key=9, skip_self=False,
                                               weight=weight, delay=delay)
    else:
        spec = pattern_connectors.AllToAllSpec(p=1.0, seed=3, key=9, skip_self=True,
                                               weight=weight, delay=delay)
    full = spec.generate(100, 100, 0.1)
    part = spec.generate(100, 100, 0.1, post_range)
    inside = (full[1] >= post_range[0]) & (full[1] < post_range[1])
    assert inside.any() == (post_range[1] > post_range[0])
    for values, expected in zip(part, full):
        np.testing.assert_array_equal(values, expected[inside])


@pytest.mark.parametrize("kind", ["fixed probability", "all to all, no self", "one to one"])
@pytest.mark.parametrize("post_range", [None, (32, 96), (0, 0)])
def test_counting_without_storing_gives_the_generated_counts(kind, post_range):
    """The per-neuron counts behind len() and in_degree of synapses not generated on the
    host are those of the generated synapses (onto the range's neurons only, if given)."""
    from pynn_gpu import pattern_connectors
    weight = procedural.ValueSpec("normal_clipped", 0.3, 0.1, 0.1, 0.5, seed=4, key=1)
    delay = procedural.ValueSpec("uniform", 0.1, 2.0, 0.1, 2.0, seed=4, key=2)
    spec_type, p, skip = {
        "fixed probability": (procedural.ProceduralSpec, 0.15, False),
        "all to all, no self": (pattern_connectors.AllToAllSpec, 1.0, True),
        "one to one": (pattern_connectors.OneToOneSpec, 1.0, False)}[kind]
    spec = spec_type(p=p, seed=3, key=9, skip_self=skip, weight=weight, delay=delay)
    n_pre, n_post = 150, 100
    _, post, _, _ = spec.generate(n_pre, n_post, 0.1, post_range)
    counts = spec.counts_onto(n_pre, n_post, 0.1, post_range)
    assert counts.shape == (n_post,)
    np.testing.assert_array_equal(counts, np.bincount(post, minlength=n_post))


def test_len_in_degree_and_describe_generate_nothing():
    """len(), size(), describe() and in_degree of a procedural projection count its
    synapses without generating them on the host (0.3e9 synapses would take gigabytes),
    and agree with the synapses generated afterwards."""
    sim.setup(timestep=0.1, target="cpu")
    try:
        cells = sim.Population(300, sim.IF_curr_exp())
        weight = sim.RandomDistribution("uniform", (0.1, 0.2), rng=sim.NativeRNG(seed=8))
        projection = sim.Projection(cells, cells, sim.FixedProbabilityConnector(
            0.2, allow_self_connections=False, rng=sim.NativeRNG(seed=2)),
            sim.StaticSynapse(weight=weight, delay=1.0), connectivity_format="procedural")
        n = len(projection)
        assert 0.17 * 300 * 299 < n < 0.23 * 300 * 299
        assert projection.size() == n
        assert f"{n}" in projection.describe()
        per_neuron = projection.in_degree.per_neuron
        assert projection.awaiting_generation
        weights = projection.get("weight", format="list")      # generated now
        assert not projection.awaiting_generation
        assert len(weights) == n == len(projection)
        np.testing.assert_array_equal(
            per_neuron, np.bincount(projection._post_index, minlength=300))
    finally:
        sim.end()


# --- the other generators count their synapses too ----------------------------------------

def _fixed_number(connector, n, replace, allow):
    return lambda rng: connector(n, with_replacement=replace, allow_self_connections=allow,
                                 rng=rng)


# connectors of a rng whose synapses come from a generator other than FixedProbability's
_OTHER_GENERATORS = {
    f"{name}, {'with' if replace else 'without'} replacement{'' if allow else ', no self'}":
        _fixed_number(connector, n, replace, allow)
    for name, connector, n in [("FixedNumberPost", sim.FixedNumberPostConnector, 40),
                               ("FixedNumberPre", sim.FixedNumberPreConnector, 30),
                               ("FixedTotalNumber", sim.FixedTotalNumberConnector, 5000)]
    for replace in (False, True) for allow in (True, False)}
# more partners than neurons: every neuron n // size times, then the remainder
_OTHER_GENERATORS["FixedNumberPost, more than the neurons"] = _fixed_number(
    sim.FixedNumberPostConnector, 230, False, False)
_OTHER_GENERATORS["DistanceDependentProbability"] = \
    lambda rng: sim.DistanceDependentProbabilityConnector("0.8 * exp(-d / 4)", rng=rng)
_OTHER_GENERATORS["DistanceDependentProbability, no self"] = \
    lambda rng: sim.DistanceDependentProbabilityConnector(
        "exp(-d / 4)", allow_self_connections=False, rng=rng)


def _generated_projection(label, pre, post, seed=7):
    connector = _OTHER_GENERATORS[label](sim.NativeRNG(seed=seed))
    weight = sim.RandomDistribution("uniform", (0.1, 0.3), rng=sim.NativeRNG(seed=seed + 1))
    projection = sim.Projection(pre, post, connector, sim.StaticSynapse(weight=weight,
                                                                        delay=1.0))
    assert not isinstance(projection._procedural, procedural.ProceduralSpec)
    assert projection.awaiting_generation
    return projection


def _cells_on_a_line(n):
    return sim.Population(n, sim.IF_curr_exp(), structure=Line())


@pytest.mark.parametrize("label", list(_OTHER_GENERATORS))
@pytest.mark.parametrize("post_range", [None, (32, 96), (64, 200), (0, 0)])
def test_other_generators_count_the_synapses_they_generate(cpu_sim, label, post_range):
    """FixedNumberPost/Pre, FixedTotalNumber and DistanceDependentProbability count, without
    storing any synapse, what they generate (onto the range's neurons only, if given: a
    process's block of them)."""
    cells = _cells_on_a_line(200)
    spec = _generated_projection(label, cells, cells)._procedural
    _, post, _, _ = spec.generate(200, 200, 0.1, post_range)
    counts = spec.counts_onto(200, 200, 0.1, post_range)
    assert counts.shape == (200,) and counts.dtype == np.int64
    np.testing.assert_array_equal(counts, np.bincount(post, minlength=200))
    assert counts.any() == (post_range != (0, 0))


@pytest.mark.parametrize("label", list(_OTHER_GENERATORS))
def test_len_and_in_degree_of_other_generators_generate_nothing(cpu_sim, label):
    """len(), size(), describe() and in_degree of a projection the CUDA target would build
    on the device count its synapses and leave it awaiting generation; the synapses
    generated afterwards are those of a projection nobody counted, bit for bit."""
    pre, post = _cells_on_a_line(150), _cells_on_a_line(200)
    counted = _generated_projection(label, pre, post)
    untouched = _generated_projection(label, pre, post)
    n = len(counted)
    assert counted.size() == n and f"{n}" in counted.describe()
    per_neuron = counted.in_degree.per_neuron
    assert counted.awaiting_generation and "_ungenerated_counts" in counted.__dict__
    assert n == int(per_neuron.sum()) > 0
    connections = counted.get(["weight", "delay"], format="list")      # generated now
    assert not counted.awaiting_generation
    assert connections == untouched.get(["weight", "delay"], format="list")
    np.testing.assert_array_equal(per_neuron, np.bincount(counted._post_index, minlength=200))
    assert len(counted) == n


def test_counts_of_a_scaled_generated_projection_are_kept(cpu_sim):
    """Weight scaling replaces the spec's weight, not its pairs: the counts stand."""
    cells = _cells_on_a_line(100)
    projection = _generated_projection("DistanceDependentProbability", cells, cells)
    n = len(projection)
    counts = projection._ungenerated_counts[1]
    sim.scale_weights([projection], "mean", K0=10)
    assert projection.scaling.factor != 1.0 and projection.awaiting_generation
    assert len(projection) == n and projection._ungenerated_counts[1] is counts


def _network_of_other_generators(count_first):
    def build(sim):
        drive = sim.Population(60, sim.SpikeSourcePoisson(rate=50.0), label="drive")
        cells = sim.Population(120, sim.IF_curr_exp(v_thresh=-58.0), label="cells",
                               structure=Line())
        weight = sim.RandomDistribution("uniform", (0.2, 0.6), rng=sim.NativeRNG(seed=3))
        connectors = [
            sim.FixedNumberPreConnector(10, rng=sim.NativeRNG(seed=4)),
            sim.FixedNumberPostConnector(12, rng=sim.NativeRNG(seed=5)),
            sim.FixedTotalNumberConnector(700, with_replacement=True, rng=sim.NativeRNG(seed=6))]
        projections = [sim.Projection(drive, cells, c, sim.StaticSynapse(weight=weight,
                                                                         delay=1.0))
                       for c in connectors]
        projections.append(sim.Projection(cells, cells, sim.DistanceDependentProbabilityConnector(
            "0.5 * exp(-d / 5)", allow_self_connections=False, rng=sim.NativeRNG(seed=8)),
            sim.StaticSynapse(weight=0.1, delay=1.5)))
        if count_first:
            for projection in projections:
                assert len(projection) == int(projection.in_degree.per_neuron.sum()) > 0
                assert projection.awaiting_generation
        cells.record(["spikes", "v"])
        return {"cells": cells}
    return build


@pytest.mark.parametrize("target", ["cpu", "cuda"])
def test_a_run_after_counting_is_the_run_without(emulate, target):
    """Counting a generated projection before the run changes nothing of the run; on the
    CUDA target its synapses are still built on the device, never on the host."""
    if target == "cuda":
        emulate()
    untouched = simulate(target, _network_of_other_generators(False), 30.0)
    sim.setup(timestep=0.1, target=target, rng_seed=4242)       # simulate()'s seed
    try:
        populations = _network_of_other_generators(True)(sim)
        sim.run(30.0)
        counted = _recordings(populations)
        projections = simulator.state.projections
        if target == "cuda":
            assert len(simulator.state.engine.device_generated) == len(projections)
            assert all(p.awaiting_generation for p in projections)
    finally:
        sim.end()
    assert_identical(untouched, counted)
    assert sum(len(s) for s in counted["cells"][0]) > 20


def test_scaled_generated_projections_are_still_built_on_the_cuda_target(emulate):
    """Weight scaling ("mean") scales the generators' weights: the CUDA target still builds
    the rows itself, and runs as the C target does."""
    emulate()

    def build(sim):
        populations = _network("ragged")(sim)
        sim.scale_weights(simulator.state.projections, "mean", K0=10)
        return populations
    cpu = simulate("cpu", build, 40.0)
    sim.setup(timestep=0.1, target="cuda", rng_seed=4242)       # simulate()'s seed
    try:
        populations = build(sim)
        sim.run(40.0)
        projections = simulator.state.projections
        assert len(simulator.state.engine.device_generated) == len(projections)
        assert all(p.scaling.factor != 1.0 and p.awaiting_generation for p in projections)
        gpu = _recordings(populations)
    finally:
        sim.end()
    assert_identical(cpu, gpu)
