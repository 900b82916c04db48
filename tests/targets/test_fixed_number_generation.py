"""
FixedNumberPost, FixedNumberPre and FixedTotalNumber drawn by the counter-based generator
(pynn_gpu.fixed_number): the same synapses on the host (Projection.get), the C target and the
CUDA target; PyNN's rules for allow_self_connections and with_replacement; exact degrees on the
fixed side; and the degrees on the free side distributed as they must be.

Statistical checks are chi-square tests at alpha = 1e-3 on networks drawn from fixed seeds, so
they are deterministic: a correct generator passes them (p is printed in the assertion), while
a bias (a neuron chosen too rarely, a skewed split) gives p ~ 0 at these sample sizes.
"""

import itertools

import numpy as np
import pytest
from pyNN import errors
from scipy import stats

import pynn_gpu as sim
from pynn_gpu import fixed_number

from device_generation import assert_device_builds_what_the_host_builds

ALPHA = 1e-3


def _chi_square_pvalue(observed_values, pmf, support):
    """Chi-square of observed integer values against a discrete distribution, adjacent
    values pooled until each bin expects at least 5."""
    counts = np.bincount(observed_values - support[0], minlength=len(support))
    if len(counts) > len(support):
        raise AssertionError("values outside the support")
    expected = pmf(support) * len(observed_values)
    bins_observed, bins_expected, acc_o, acc_e = [], [], 0, 0.0
    for o, e in zip(counts, expected):
        acc_o, acc_e = acc_o + o, acc_e + e
        if acc_e >= 5:
            bins_observed.append(acc_o)
            bins_expected.append(acc_e)
            acc_o, acc_e = 0, 0.0
    bins_observed[-1] += acc_o
    bins_expected[-1] += acc_e
    bins_expected = np.array(bins_expected) * sum(bins_observed) / sum(bins_expected)
    return stats.chisquare(bins_observed, bins_expected).pvalue


def _no_favourites(degrees):
    """p of a chi-square test that every neuron is chosen equally often (the pooled degree
    histogram cannot see which neurons are chosen too often; this can). Binomial degrees
    vary less than this test allows for, so it errs on the side of passing a fair draw."""
    return stats.chisquare(degrees).pvalue


def _project(cells_pre, cells_post, connector, weight=0.1, delay=1.0):
    prj = sim.Projection(cells_pre, cells_post, connector,
                         sim.StaticSynapse(weight=weight, delay=delay))
    assert isinstance(prj._procedural, fixed_number.FixedNumberSpec)
    assert prj.awaiting_generation          # nothing drawn until needed
    return prj


# --- exact rules ---------------------------------------------------------------------------

@pytest.mark.parametrize("with_replacement", [False, True])
def test_fixed_number_post_degrees_and_self_connections(cpu_sim, no_host_builder,
                                                        with_replacement):
    cells = sim.Population(500, sim.IF_curr_exp())
    prj = _project(cells, cells, sim.FixedNumberPostConnector(
        40, allow_self_connections=False, with_replacement=with_replacement,
        rng=sim.NativeRNG(seed=2)))
    pre, post = prj._pre_index, prj._post_index
    assert np.all(np.bincount(pre, minlength=500) == 40)
    assert not np.any(pre == post)
    assert np.all(np.diff(pre) >= 0)
    assert np.all((np.diff(post) >= 0) | (np.diff(pre) > 0))        # rows sorted by post
    pairs = pre * 500 + post
    if with_replacement:
        assert len(np.unique(pairs)) < len(pairs)    # 1.6 repeats per row expected
    else:
        assert len(np.unique(pairs)) == len(pairs)


@pytest.mark.parametrize("with_replacement", [False, True])
def test_fixed_number_pre_degrees_and_self_connections(cpu_sim, no_host_builder,
                                                       with_replacement):
    cells = sim.Population(400, sim.IF_curr_exp())
    prj = _project(cells, cells, sim.FixedNumberPreConnector(
        150, allow_self_connections=False, with_replacement=with_replacement,
        rng=sim.NativeRNG(seed=3)))
    pre, post = prj._pre_index, prj._post_index
    assert np.all(np.bincount(post, minlength=400) == 150)
    assert not np.any(pre == post)
    assert np.all(np.diff(pre) >= 0)
    pairs = pre * 400 + post
    assert (len(np.unique(pairs)) < len(pairs)) == with_replacement


@pytest.mark.parametrize("with_replacement", [False, True])
def test_fixed_total_number_is_exact(cpu_sim, no_host_builder, with_replacement):
    cells = sim.Population(300, sim.IF_curr_exp())
    prj = _project(cells, cells, sim.FixedTotalNumberConnector(
        20000, allow_self_connections=False, with_replacement=with_replacement,
        rng=sim.NativeRNG(seed=4)))
    pre, post = prj._pre_index, prj._post_index
    assert len(pre) == 20000
    assert not np.any(pre == post)
    pairs = pre * 300 + post
    assert (len(np.unique(pairs)) < len(pairs)) == with_replacement


def test_more_partners_than_neurons_takes_every_one_first(cpu_sim, no_host_builder):
    """PyNN: without replacement, n > size connects every neuron n // size times, and
    n % size of them (distinct) once more."""
    a, b = sim.Population(30, sim.IF_curr_exp()), sim.Population(20, sim.IF_curr_exp())
    prj = _project(a, b, sim.FixedNumberPostConnector(47, rng=sim.NativeRNG(seed=5)))
    multiplicity = np.zeros((30, 20), int)
    np.add.at(multiplicity, (prj._pre_index, prj._post_index), 1)
    assert np.all((multiplicity == 2) | (multiplicity == 3))
    assert np.all((multiplicity == 3).sum(axis=1) == 7)
    cells = sim.Population(10, sim.IF_curr_exp())
    own = _project(cells, cells, sim.FixedNumberPreConnector(
        20, allow_self_connections=False, rng=sim.NativeRNG(seed=5)))
    multiplicity = np.zeros((10, 10), int)
    np.add.at(multiplicity, (own._pre_index, own._post_index), 1)
    assert np.all(np.diag(multiplicity) == 0)
    assert np.all((multiplicity.sum(axis=0) == 20))
    assert set(np.unique(multiplicity[~np.eye(10, dtype=bool)])) == {2, 3}


def test_more_partners_than_neurons_in_the_numpy_builder(cpu_sim):
    """The same rule where numpy builds the projection (here: from a PopulationView)."""
    a, b = sim.Population(30, sim.IF_curr_exp()), sim.Population(20, sim.IF_curr_exp())
    prj = sim.Projection(a[:25], b, sim.FixedNumberPostConnector(47, rng=sim.NativeRNG(5)))
    assert prj._procedural is None
    multiplicity = np.zeros((25, 20), int)
    np.add.at(multiplicity, (prj._pre_index, prj._post_index), 1)
    assert np.all((multiplicity == 2) | (multiplicity == 3))
    assert np.all((multiplicity == 3).sum(axis=1) == 7)


def test_n_from_a_distribution(cpu_sim, no_host_builder):
    """n drawn once per choosing neuron from its distribution, as PyNN does."""
    cells = sim.Population(200, sim.IF_curr_exp())

    def n():
        return sim.RandomDistribution("binomial", n=60, p=0.5, rng=sim.NativeRNG(seed=8))
    connector = sim.FixedNumberPreConnector(n(), rng=sim.NativeRNG(seed=6))
    # PyNN's constructor draws 100 numbers to check them; the projection draws the next 200
    reference = n()
    reference.next(100)
    expected = np.asarray(reference.next(200), dtype=int)
    prj = _project(cells, cells, connector)
    np.testing.assert_array_equal(np.bincount(prj._post_index, minlength=200), expected)


def test_same_seed_same_synapses_and_other_seed_others(cpu_sim, no_host_builder):
    cells = sim.Population(200, sim.IF_curr_exp())

    def build(seed):
        prj = _project(cells, cells, sim.FixedNumberPreConnector(20, rng=sim.NativeRNG(seed)))
        return prj._pre_index * 200 + prj._post_index
    np.testing.assert_array_equal(build(1), build(1))
    assert not np.array_equal(build(1), build(2))


def test_errors_and_what_is_built_otherwise(cpu_sim):
    cells = sim.Population(20, sim.IF_curr_exp())
    single = sim.Population(1, sim.IF_curr_exp())
    with pytest.raises(errors.ConnectionError, match="no neuron to choose from"):
        sim.Projection(single, single, sim.FixedNumberPostConnector(
            1, allow_self_connections=False, rng=sim.NativeRNG(seed=1)))
    with pytest.raises(errors.ConnectionError, match="distinct connections"):
        sim.Projection(cells, cells, sim.FixedTotalNumberConnector(
            401, with_replacement=False, rng=sim.NativeRNG(seed=1)))
    with pytest.raises(errors.ConnectionError, match="not a FixedProbabilityConnector"):
        sim.Projection(cells, cells, sim.FixedNumberPostConnector(3, rng=sim.NativeRNG(1)),
                       connectivity_format="procedural")
    prj = sim.Projection(cells, cells, sim.FixedNumberPostConnector(3, rng=sim.NativeRNG(1)))
    with pytest.raises(errors.ConnectionError, match="FixedProbabilityConnector"):
        prj.connectivity_format = "procedural"
    # not from the generator: a view, 'NoMutual', a seeded NumpyRNG (PyNN's own network)
    for pre, connector in [
            (cells[:10], sim.FixedNumberPostConnector(3, rng=sim.NativeRNG(1))),
            (cells, sim.FixedNumberPreConnector(3, allow_self_connections="NoMutual",
                                                rng=sim.NativeRNG(1))),
            (cells, sim.FixedNumberPreConnector(3, rng=sim.NumpyRNG(seed=1)))]:
        prj = sim.Projection(pre, cells, connector)
        assert prj._procedural is None and len(prj) > 0


# --- statistics of the free side -------------------------------------------------------------

def test_in_degrees_of_fixed_number_post(cpu_sim, no_host_builder):
    """Each of 2000 presynaptic neurons picks 50 distinct of 1000 others: the in-degree of
    a postsynaptic neuron is Binomial(1999, 50/999); with replacement, Binomial(2000 * 50,
    1/1000)."""
    cells = sim.Population(2000, sim.IF_curr_exp())
    targets = sim.Population(1000, sim.IF_curr_exp())
    rng = sim.NativeRNG(seed=11)
    own = _project(cells, cells, sim.FixedNumberPostConnector(
        50, allow_self_connections=False, rng=rng))
    in_degree = np.bincount(own._post_index, minlength=2000)
    p = _chi_square_pvalue(in_degree, stats.binom(1999, 50 / 1999).pmf, np.arange(2000))
    assert p > ALPHA, p
    assert _no_favourites(in_degree) > ALPHA
    drawn = _project(cells, targets, sim.FixedNumberPostConnector(
        50, with_replacement=True, rng=rng))
    in_degree = np.bincount(drawn._post_index, minlength=1000)
    p = _chi_square_pvalue(in_degree, stats.binom(100000, 1 / 1000).pmf, np.arange(100001))
    assert p > ALPHA, p


def test_out_degrees_of_fixed_number_pre(cpu_sim, no_host_builder):
    """Each of 3000 postsynaptic neurons picks 300 of 500 presynaptic ones (dense: selection
    sampling) or 20 (sparse: redrawing repeats): out-degrees Binomial(3000, n/500)."""
    pre, post = sim.Population(500, sim.IF_curr_exp()), sim.Population(3000, sim.IF_curr_exp())
    rng = sim.NativeRNG(seed=12)
    for n in (300, 20):
        prj = _project(pre, post, sim.FixedNumberPreConnector(n, rng=rng))
        out_degree = np.bincount(prj._pre_index, minlength=500)
        p = _chi_square_pvalue(out_degree, stats.binom(3000, n / 500).pmf, np.arange(3001))
        assert p > ALPHA, (n, p)
        assert _no_favourites(out_degree) > ALPHA


def test_every_set_of_partners_is_equally_likely(cpu_sim, no_host_builder):
    """Of 6 neurons, every set of 3 (sparse path) and of 4 (dense path) is drawn equally
    often by 20000 choosing neurons."""
    choosers, six = sim.Population(20000, sim.IF_curr_exp()), sim.Population(6, sim.IF_curr_exp())
    for n in (3, 4):
        prj = _project(choosers, six, sim.FixedNumberPostConnector(n, rng=sim.NativeRNG(13)))
        rows = prj._post_index.reshape(20000, n)
        subsets = {s: i for i, s in enumerate(itertools.combinations(range(6), n))}
        observed = np.bincount([subsets[tuple(r)] for r in rows], minlength=len(subsets))
        p = stats.chisquare(observed).pvalue
        assert p > ALPHA, (n, p)


@pytest.mark.parametrize("with_replacement", [True, False])
def test_degrees_of_fixed_total_number(cpu_sim, no_host_builder, with_replacement):
    """60000 of the 400 x 500 pairs: a presynaptic neuron's out-degree is Binomial(60000,
    1/400) with replacement, Hypergeometric(200000 pairs, 500 its own, 60000 drawn)
    without; in-degrees likewise."""
    pre, post = sim.Population(400, sim.IF_curr_exp()), sim.Population(500, sim.IF_curr_exp())
    prj = _project(pre, post, sim.FixedTotalNumberConnector(
        60000, with_replacement=with_replacement, rng=sim.NativeRNG(seed=14)))
    for indices, size, other in ((prj._pre_index, 400, 500), (prj._post_index, 500, 400)):
        degree = np.bincount(indices, minlength=size)
        law = (stats.binom(60000, 1 / size) if with_replacement
               else stats.hypergeom(200000, other, 60000))
        p = _chi_square_pvalue(degree, law.pmf, np.arange(other + 1 if not with_replacement
                                                          else 60001))
        assert p > ALPHA, p


def test_random_weights_and_delays_follow_their_distributions(cpu_sim, no_host_builder):
    cells = sim.Population(1000, sim.IF_curr_exp())
    rng = sim.NativeRNG(seed=15)
    prj = _project(cells, cells, sim.FixedNumberPreConnector(50, rng=rng),
                   weight=sim.RandomDistribution("uniform", (0.2, 0.6), rng=rng),
                   delay=sim.RandomDistribution("normal_clipped", mu=1.5, sigma=0.5, low=0.5,
                                                high=3.0, rng=rng))
    weights = prj.get("weight", format="list", with_address=False)
    assert stats.kstest(weights, stats.uniform(0.2, 0.4).cdf).pvalue > ALPHA
    delays = np.asarray(prj.get("delay", format="list", with_address=False))
    assert delays.min() >= 0.5 - 1e-12 and delays.max() <= 3.0 + 1e-12
    assert np.allclose(delays * 10, np.rint(delays * 10))


# --- the same synapses everywhere ------------------------------------------------------------

def _network(sim):
    rng = sim.NativeRNG(seed=21)
    noise = sim.Population(60, sim.SpikeSourcePoisson(rate=40.0), label="noise")
    cells = sim.Population(150, sim.IF_curr_exp(v_thresh=-58.0), label="cells")
    inh = sim.Population(40, sim.IF_curr_exp(v_thresh=-58.0), label="inh")
    delay = sim.RandomDistribution("uniform", (0.1, 3.0), rng=rng)
    weight = sim.RandomDistribution("normal_clipped", mu=0.4, sigma=0.2, low=0.0, high=2.0,
                                    rng=rng)
    sim.Projection(noise, cells, sim.FixedNumberPreConnector(12, rng=rng),
                   sim.StaticSynapse(weight=weight, delay=delay), receptor_type="excitatory")
    sim.Projection(cells, cells, sim.FixedNumberPostConnector(
        8, allow_self_connections=False, rng=rng),
        sim.StaticSynapse(weight=0.25, delay=delay), receptor_type="excitatory")
    sim.Projection(cells, inh, sim.FixedTotalNumberConnector(1200, rng=rng),
                   sim.StaticSynapse(weight=weight, delay=1.0), receptor_type="excitatory")
    # one weight and one delay: stored once, the rows hold postsynaptic indices only
    sim.Projection(inh, cells, sim.FixedNumberPreConnector(
        6, with_replacement=True, rng=rng),
        sim.StaticSynapse(weight=-1.0, delay=2.0), receptor_type="inhibitory")
    sim.Projection(cells, cells, sim.FixedTotalNumberConnector(
        900, with_replacement=False, allow_self_connections=False, rng=rng),
        sim.StaticSynapse(weight=0.1, delay=1.5), receptor_type="excitatory")
    for population in (cells, inh):
        population.record(["spikes", "v"])
    return {"cells": cells, "inh": inh}


def test_cuda_builds_on_the_device_what_the_host_and_c_target_build(cuda_backend, monkeypatch):
    """The CUDA target draws the rows itself (the host holds none until asked); they equal
    the host's, and the run equals the C target's, whose rows the host drew."""
    from pynn_gpu.targets import cuda_fixed_number
    cpu = assert_device_builds_what_the_host_builds(
        cuda_fixed_number, _network, 5, monkeypatch, cuda_backend, both_once=2)
    assert sum(len(s) for s in cpu["cells"][0]) > 20


def test_long_rows_of_few_neurons_with_replacement(cpu_sim, no_host_builder):
    """5000 draws among 6 neurons per row: long rows full of repeats, still sorted, each
    neuron chosen equally often."""
    choosers, six = sim.Population(40, sim.IF_curr_exp()), sim.Population(6, sim.IF_curr_exp())
    prj = _project(choosers, six, sim.FixedNumberPostConnector(
        5000, with_replacement=True, rng=sim.NativeRNG(seed=16)))
    rows = prj._post_index.reshape(40, 5000)
    assert np.all(np.diff(rows, axis=1) >= 0)
    assert stats.chisquare(np.bincount(prj._post_index, minlength=6)).pvalue > ALPHA


def test_a_seeded_numpy_rng_gives_pynn_s_own_network(cpu_sim):
    """A seeded NumpyRNG asks for PyNN's realisation, draw for draw: each presynaptic neuron
    takes the first n of a permutation of the others (replayed here)."""
    cells = sim.Population(60, sim.IF_curr_exp())
    prj = sim.Projection(cells, cells, sim.FixedNumberPostConnector(
        7, allow_self_connections=False, rng=sim.NumpyRNG(seed=17)))
    assert prj._procedural is None
    replay = sim.NumpyRNG(seed=17)
    expected = set()
    for pre in range(60):
        others = np.array([i for i in range(60) if i != pre])
        expected |= {(pre, int(post)) for post in replay.permutation(others)[:7]}
    assert set(zip(prj._pre_index.tolist(), prj._post_index.tolist())) == expected


# --- over several processes: the synapses onto a block of postsynaptic neurons -------------

def _block_specs(sim):
    """Rows drawn whole (FixedNumberPost with drawn values, FixedTotalNumber with one weight
    and delay) and columns (FixedNumberPre), onto 150 neurons."""
    rng = sim.NativeRNG(seed=31)
    drawn = sim.StaticSynapse(
        weight=sim.RandomDistribution("uniform", (0.1, 0.5), rng=rng),
        delay=sim.RandomDistribution("uniform", (0.2, 2.0), rng=rng))
    sources = sim.Population(70, sim.SpikeSourcePoisson(rate=10.0))
    cells = sim.Population(150, sim.IF_curr_exp())
    connectors = [(sim.FixedNumberPostConnector(20, rng=rng), drawn),
                  (sim.FixedTotalNumberConnector(900, with_replacement=False, rng=rng),
                   sim.StaticSynapse(weight=0.25, delay=1.5)),
                  (sim.FixedNumberPreConnector(9, rng=rng), drawn)]
    return [sim.Projection(sources, cells, connector, synapse)._procedural
            for connector, synapse in connectors]


BLOCKS = [(32, 96), (0, 32), (128, 150), (64, 64)]


def test_a_block_of_postsynaptic_neurons_gets_the_synapses_onto_it(cpu_sim, no_host_builder):
    """What a process generates over several processes (its block of postsynaptic neurons):
    exactly the synapses onto the block of the whole projection, in the same order, with
    the same values."""
    for spec in _block_specs(cpu_sim):
        whole = spec.generate(70, 150, 0.1)
        for first, end in BLOCKS:
            block = spec.generate(70, 150, 0.1, (first, end))
            onto = (whole[1] >= first) & (whole[1] < end)
            assert (len(block[0]) > 0) == (end > first)
            for part, values in zip(block, whole):
                np.testing.assert_array_equal(part, values[onto])


def test_the_device_draws_a_block_as_the_host_does(cuda_backend):
    from pynn_gpu.targets import cuda_fixed_number
    sim.setup(timestep=0.1, target="cuda")
    try:
        specs = _block_specs(sim)
        target = sim.simulator.state.engine.target
        for spec, block in itertools.product(specs, BLOCKS):
            counts, row_ptr, arrays = cuda_fixed_number.generate_rows(
                target, spec, 70, 150, 0.1, np.float64, delay_dtype=np.uint8,
                post_dtype=np.uint16, once=("weight", "delay") if spec.constant_values else (),
                post_range=block)
            pre, post, weights, delays = spec.generate(70, 150, 0.1, block)
            np.testing.assert_array_equal(np.repeat(np.arange(70), counts), pre)
            np.testing.assert_array_equal(np.diff(row_ptr), counts)
            device = {}
            for name, array in arrays.items():
                device[name] = np.empty(array.size, array.dtype)
                if hasattr(array, "allocation"):
                    target._cuda.memcpy_dtoh(device[name], array.allocation)
                    array.allocation.free()
                else:
                    device[name][:] = array
            np.testing.assert_array_equal(device["post"], post)
            if spec.constant_values:
                assert device["weight"].size == 1 and np.all(weights == device["weight"][0])
            else:
                np.testing.assert_array_equal(device["weight"], weights)
                np.testing.assert_array_equal(device["delay"], delays)
    finally:
        sim.end()
