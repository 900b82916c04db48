"""
Connectors with the backend's own generator have the right statistics.

Each test uses a chi-square or exact check; the significance threshold (p > 1e-3) keeps the
chance of a false alarm per assertion at 0.1 % while any systematic bias (a missing
neuron, a skewed choice) shows up as p ~ 0 at these sample sizes.
"""

import numpy as np
import pytest
from pyNN.random import NumpyRNG
from scipy import stats

from pynn_gpu.native_connectivity import NativeRNG
from pynn_gpu.projections import Projection

P_MIN = 1e-3


def _uniform_usage(indices, size):
    counts = np.bincount(indices, minlength=size)
    return stats.chisquare(counts).pvalue


def _binomial_fit(degrees, n, p):
    """Chi-square of a degree histogram against Binomial(n, p), bins with >= 5 expected."""
    k = np.arange(n + 1)
    expected = stats.binom.pmf(k, n, p) * len(degrees)
    observed = np.bincount(degrees, minlength=n + 1)
    edges = [0]
    acc = 0.0
    for i, e in enumerate(expected):
        acc += e
        if acc >= 5:
            edges.append(i + 1)
            acc = 0.0
    edges[-1] = n + 1
    obs = np.add.reduceat(observed, edges[:-1])
    exp = np.add.reduceat(expected, edges[:-1])
    return stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue


@pytest.fixture
def no_pynn_loop(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("PyNN's per-neuron connector path was used")
    monkeypatch.setattr(Projection, "_convergent_connect", forbidden)


def test_fixed_probability(cpu_sim, no_pynn_loop):
    sim = cpu_sim
    pre, post = sim.Population(500, sim.IF_curr_exp()), sim.Population(3000, sim.IF_curr_exp())
    prj = sim.Projection(pre, post, sim.FixedProbabilityConnector(0.04, rng=NativeRNG(seed=3)))
    assert len(np.unique(prj._pre_index * 3000 + prj._post_index)) == len(prj)
    mean, sd = 500 * 3000 * 0.04, np.sqrt(500 * 3000 * 0.04 * 0.96)
    assert abs(len(prj) - mean) < 4 * sd
    assert _binomial_fit(np.bincount(prj._post_index, minlength=3000), 500, 0.04) > P_MIN
    assert _binomial_fit(np.bincount(prj._pre_index, minlength=500), 3000, 0.04) > P_MIN


def test_fixed_number_pre_and_post(cpu_sim, no_pynn_loop):
    sim = cpu_sim
    cells = sim.Population(1000, sim.IF_curr_exp())
    rng = NativeRNG(seed=5)
    fnp = sim.Projection(cells, cells, sim.FixedNumberPreConnector(
        40, allow_self_connections=False, rng=rng))
    assert np.all(np.bincount(fnp._post_index, minlength=1000) == 40)
    assert not np.any(fnp._pre_index == fnp._post_index)
    assert len(np.unique(fnp._pre_index * 1000 + fnp._post_index)) == len(fnp)
    assert _uniform_usage(fnp._pre_index, 1000) > P_MIN
    fnpost = sim.Projection(cells, cells, sim.FixedNumberPostConnector(25, rng=rng))
    assert np.all(np.bincount(fnpost._pre_index, minlength=1000) == 25)
    assert len(np.unique(fnpost._pre_index * 1000 + fnpost._post_index)) == len(fnpost)
    assert _uniform_usage(fnpost._post_index, 1000) > P_MIN
    dense = sim.Projection(cells[:50], cells[:60], sim.FixedNumberPreConnector(45, rng=rng))
    assert np.all(np.bincount(dense._post_index, minlength=60) == 45)
    assert len(np.unique(dense._pre_index * 60 + dense._post_index)) == len(dense)


@pytest.mark.parametrize("rng", [NativeRNG(seed=3), NumpyRNG()], ids=["native", "unseeded"])
def test_no_mutual_keeps_the_fixed_numbers(cpu_sim, rng):
    """allow_self_connections='NoMutual' leaves the counts of the fixed-number connectors
    as PyNN's own code does (it treats the rule as allowing every pair there)."""
    sim = cpu_sim
    cells = sim.Population(40, sim.IF_curr_exp())
    for connector, column, expected in [
            (sim.FixedNumberPreConnector(5, allow_self_connections="NoMutual", rng=rng), 1, 5),
            (sim.FixedNumberPostConnector(5, allow_self_connections="NoMutual", rng=rng), 0, 5)]:
        pairs = np.array(sim.Projection(cells, cells, connector).get("weight", format="list"))
        assert np.all(np.bincount(pairs[:, column].astype(int), minlength=40) == expected)
    total = sim.Projection(cells, cells, sim.FixedTotalNumberConnector(
        200, allow_self_connections="NoMutual", rng=rng))
    assert len(total) == 200


def test_fixed_total_number(cpu_sim, no_pynn_loop):
    sim = cpu_sim
    pre, post = sim.Population(200, sim.IF_curr_exp()), sim.Population(300, sim.IF_curr_exp())
    rng = NativeRNG(seed=9)
    with_replacement = sim.Projection(pre, post, sim.FixedTotalNumberConnector(30000, rng=rng))
    assert len(with_replacement) == 30000
    assert _uniform_usage(with_replacement._pre_index, 200) > P_MIN
    assert _uniform_usage(with_replacement._post_index, 300) > P_MIN
    distinct = sim.Projection(pre, post, sim.FixedTotalNumberConnector(
        20000, with_replacement=False, rng=rng))
    assert len(np.unique(distinct._pre_index * 300 + distinct._post_index)) == 20000


def test_fixed_numbers_without_self_connections_keep_their_counts(cpu_sim, no_pynn_loop):
    """Self-connections are excluded as the pairs are drawn (when pre is post), so the host
    builders give the counts asked for, as the generated projections do; views that merely
    overlap keep their pairs of one neuron (PyNN excludes only when pre is post)."""
    sim = cpu_sim
    cells = sim.Population(20, sim.IF_curr_exp())
    drawn = sim.RandomDistribution("uniform", (0.1, 0.2), rng=NumpyRNG(seed=1))
    for rng in (NativeRNG(seed=3), NumpyRNG()):
        for replacement in (True, False):
            connector = sim.FixedTotalNumberConnector(200, allow_self_connections=False,
                                                      with_replacement=replacement, rng=rng)
            # drawn NumpyRNG weights: built on the host, not by the generator
            total = sim.Projection(cells, cells, connector, sim.StaticSynapse(weight=drawn))
            assert total._procedural is None and len(total) == 200
            assert not np.any(total._pre_index == total._post_index)
            assert _uniform_usage(total._post_index, 20) > P_MIN
        views = sim.Projection(cells[0:10], cells[5:15], sim.FixedNumberPreConnector(
            9, allow_self_connections=False, rng=rng))
        assert np.all(np.bincount(views._post_index, minlength=10) == 9)


def test_same_seed_same_network_and_unseeded_numpy_rng_is_native(cpu_sim, no_pynn_loop):
    sim = cpu_sim
    a, b = sim.Population(300, sim.IF_curr_exp()), sim.Population(300, sim.IF_curr_exp())

    def build(rng):
        prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.1, rng=rng))
        return prj._pre_index * 300 + prj._post_index

    np.testing.assert_array_equal(build(NativeRNG(seed=1)), build(NativeRNG(seed=1)))
    assert not np.array_equal(build(NativeRNG(seed=1)), build(NativeRNG(seed=2)))
    assert len(build(NumpyRNG())) > 0          # unseeded: nothing to reproduce, so native
    assert len(build(None)) > 0


def _pairs(projection):
    return set(zip(projection._pre_index.tolist(), projection._post_index.tolist()))


def test_unseeded_native_rngs_draw_numbers_of_their_own(cpu_sim):
    """Each NativeRNG() of a network has a seed of its own (the first setup's rng_seed, the
    later ones derived from it and their order): two projections given one each were wired
    alike, pair for pair. The script still builds the same network every time."""
    sim = cpu_sim

    def network():
        sim.setup(timestep=0.1, target="cpu", rng_seed=1234)
        a, b = sim.Population(300, sim.IF_curr_exp()), sim.Population(300, sim.IF_curr_exp())
        return [sim.Projection(a, b, connector(rng=sim.NativeRNG())) for connector in (
            lambda rng: sim.FixedProbabilityConnector(0.1, rng=rng),
            lambda rng: sim.FixedProbabilityConnector(0.1, rng=rng),
            lambda rng: sim.FixedNumberPostConnector(20, rng=rng),
            lambda rng: sim.FixedNumberPostConnector(20, rng=rng))]

    first = [_pairs(p) for p in network()]
    assert first == [_pairs(p) for p in network()]
    for one, other in (first[:2], first[2:]):
        # independent draws share about a tenth (a fifteenth) of their pairs, not all
        assert len(one & other) < 0.2 * len(one)
    a, b = sim.Population(300, sim.IF_curr_exp()), sim.Population(300, sim.IF_curr_exp())
    seeded = sim.Projection(a, b, sim.FixedProbabilityConnector(0.1, rng=NativeRNG(1234)))
    assert _pairs(seeded) == first[0]       # the first unseeded rng: rng_seed itself


@pytest.mark.parametrize("connector", ["FixedProbability", "FixedNumberPost", "AllToAll"])
def test_weights_and_delays_of_rngs_of_one_seed_are_independent(cpu_sim, connector):
    """The connections, the weights and the delays draw from key ranges of their own: with
    one seed for all three rngs, weights repeated the connector's numbers (uniform weights
    of mean 0.42, KS p ~ 1e-112) and delays the weights' (correlation 0.9998)."""
    sim = cpu_sim
    a, b = sim.Population(300, sim.IF_curr_exp()), sim.Population(200, sim.IF_curr_exp())
    rule = {"FixedProbability": lambda: sim.FixedProbabilityConnector(0.1, rng=NativeRNG(5)),
            "FixedNumberPost": lambda: sim.FixedNumberPostConnector(30, rng=NativeRNG(5)),
            "AllToAll": sim.AllToAllConnector}[connector]()
    from pyNN.random import RandomDistribution
    projection = sim.Projection(a, b, rule, sim.StaticSynapse(
        weight=RandomDistribution("uniform", (0.0, 1.0), rng=NativeRNG(5)),
        delay=RandomDistribution("uniform", (1.0, 2.0), rng=NativeRNG(5))))
    weights = np.array(projection.get("weight", format="list", with_address=False))
    delays = np.array(projection.get("delay", format="list", with_address=False))
    assert stats.kstest(weights, "uniform").pvalue > 1e-4
    assert stats.pearsonr(weights, delays).pvalue > 1e-4

