"""
DistanceDependentProbabilityConnector with a NativeRNG, decided by the counter-based
generator (pynn_gpu.distance_probability): the same synapses on the host (Projection.get),
the C target and the CUDA target; distances as pyNN.space.Space measures them; PyNN's rules
for allow_self_connections; the connection frequency at each distance what the expression
says; and PyNN's own code for everything the generator does not take.

Statistical checks are chi-square tests at alpha = 1e-3 on networks drawn from fixed seeds,
so they are deterministic: a correct generator passes them, while a wrong distance or a
biased draw gives p ~ 0 at these sample sizes.
"""

import numpy as np
import pytest
from pyNN.random import NumpyRNG
from pyNN.space import Cuboid, Grid2D, RandomStructure, Space
from scipy import stats

import pynn_gpu as sim
from pynn_gpu import distance_probability
from pynn_gpu.projections import Projection

from device_generation import assert_device_builds_what_the_host_builds

ALPHA = 1e-3


@pytest.fixture
def no_pynn_builder(monkeypatch):
    """Fails a test whose projection is built by PyNN's code instead of the generator."""
    def forbidden(*args, **kwargs):
        raise AssertionError("built on the host by PyNN, not by the generator")
    monkeypatch.setattr(Projection, "_convergent_connect", forbidden)


def _project(pre, post, expression, space=Space(), weight=0.1, delay=1.0, **kwargs):
    kwargs.setdefault("rng", sim.NativeRNG(seed=3))
    prj = sim.Projection(pre, post,
                         sim.DistanceDependentProbabilityConnector(expression, **kwargs),
                         sim.StaticSynapse(weight=weight, delay=delay), space=space)
    assert isinstance(prj._procedural, distance_probability.DistanceProbabilitySpec)
    assert prj.awaiting_generation          # nothing decided until needed
    return prj


def _random_cells(n, seed):
    structure = RandomStructure(Cuboid(10.0, 8.0, 6.0), rng=NumpyRNG(seed=seed))
    return sim.Population(n, sim.IF_curr_exp(), structure=structure)


# --- distances -------------------------------------------------------------------------------

@pytest.mark.parametrize("space", [
    Space(),
    Space(axes="xy"),
    Space(axes="z"),
    Space(periodic_boundaries=((-5.0, 5.0), (0.0, 8.0), None)),
    Space(axes="yz", periodic_boundaries=((0.0, 1.0), (-4.0, 4.0), (-3.0, 3.0))),
    Space(scale_factor=0.7, offset=np.array([0.5, -1.0, 2.0])),
    Space(axes="xz", scale_factor=1.3, offset=0.25,
          periodic_boundaries=((-5.0, 5.0), None, (-3.0, 3.0))),
], ids=["xyz", "xy", "z", "periodic", "periodic-yz", "scaled", "everything"])
def test_distances_are_those_of_pyNN_space(cpu_sim, space):
    pre, post = _random_cells(70, 1), _random_cells(50, 2)
    prj = _project(pre, post, "exp(-d)", space=space)
    i, j = np.meshgrid(np.arange(70), np.arange(50), indexing="ij")
    generated = prj._procedural.distances(i.ravel(), j.ravel())
    expected = space.distances(pre.positions.T, post.positions.T)
    np.testing.assert_array_equal(generated, expected)
    assert np.ptp(generated) > 0


# --- rules -----------------------------------------------------------------------------------

@pytest.mark.parametrize("allow", [True, False])
def test_self_connections(cpu_sim, no_pynn_builder, allow):
    cells = sim.Population(400, sim.IF_curr_exp(), structure=Grid2D(dx=1.0, dy=1.0))
    prj = _project(cells, cells, "d < 1.5", allow_self_connections=allow)
    pre, post = prj._pre_index, prj._post_index
    # p is 0 or 1: the grid neighbours within 1.5 (8 inside, fewer at the edges), and itself
    distances = Space().distances(cells.positions.T, cells.positions.T).reshape(400, 400)
    expected = distances < 1.5
    if not allow:
        np.fill_diagonal(expected, False)
    matrix = np.zeros((400, 400), bool)
    matrix[pre, post] = True
    np.testing.assert_array_equal(matrix, expected)
    assert np.any(pre == post) == allow
    assert np.all(np.diff(pre) >= 0) and np.all((np.diff(post) > 0) | (np.diff(pre) > 0))


def test_same_seed_same_synapses_and_other_seed_others(cpu_sim, no_pynn_builder):
    cells = _random_cells(300, 3)

    def build(seed):
        prj = _project(cells, cells, "0.6 * exp(-d / 3)", rng=sim.NativeRNG(seed))
        return prj._pre_index * 300 + prj._post_index
    np.testing.assert_array_equal(build(1), build(1))
    assert not np.array_equal(build(1), build(2))


def test_a_block_of_postsynaptic_neurons_gets_the_synapses_onto_it(cpu_sim, no_pynn_builder):
    """What a process generates over several processes (its block of postsynaptic neurons):
    exactly the synapses onto the block of the whole projection, with the same values."""
    cells = _random_cells(300, 5)
    delay = sim.RandomDistribution("uniform", (0.5, 2.0), rng=sim.NativeRNG(seed=4))
    spec = _project(cells, cells, "0.6 * exp(-d / 3)", delay=delay)._procedural
    whole = spec.generate(300, 300, 0.1)
    sizes = []
    for first, end in [(64, 200), (0, 32), (288, 300), (96, 96)]:
        block = spec.generate(300, 300, 0.1, (first, end))
        onto = (whole[1] >= first) & (whole[1] < end)
        for part, values in zip(block, whole):
            np.testing.assert_array_equal(part, values[onto])
        sizes.append(len(block[0]))
    assert sizes[0] > 1000 and sizes[-1] == 0


def test_connections_at_each_distance_follow_the_expression(cpu_sim, no_pynn_builder):
    """On a periodic 60 x 60 grid, the pairs at each distance are connected with the
    probability the expression gives: chi-square over distance bins of the connected
    count against sum(p), with variance sum(p (1 - p)) (one degree of freedom per bin)."""
    cells = sim.Population(3600, sim.IF_curr_exp(), structure=Grid2D(dx=1.0, dy=1.0))
    space = Space(axes="xy", periodic_boundaries=((0, 60.0), (0, 60.0), None))
    expression = "0.9 * exp(-d / 4) + 0.05 * (d < 20)"
    prj = _project(cells, cells, expression, space=space, allow_self_connections=False)
    d = space.distances(cells.positions.T, cells.positions.T).reshape(3600, 3600)
    p = np.minimum(0.9 * np.exp(-d / 4) + 0.05 * (d < 20), 1.0)
    np.fill_diagonal(p, 0.0)
    bins = np.minimum((d / 1.5).astype(int), 30)
    expected = np.bincount(bins.ravel(), weights=p.ravel())
    variance = np.bincount(bins.ravel(), weights=(p * (1 - p)).ravel())
    observed = np.bincount(bins[prj._pre_index, prj._post_index], minlength=len(expected))
    used = variance > 5
    statistic = np.sum((observed[used] - expected[used]) ** 2 / variance[used])
    pvalue = stats.chi2.sf(statistic, used.sum())
    assert used.sum() > 15
    assert pvalue > ALPHA, pvalue
    # in-degrees: all neurons alike on a torus, Poisson-binomial around sum(p) of a column
    in_degree = np.bincount(prj._post_index, minlength=3600)
    mean, var = p[:, 0].sum(), (p[:, 0] * (1 - p[:, 0])).sum()
    z = (in_degree.mean() - mean) / np.sqrt(var / 3600)
    assert abs(z) < stats.norm.isf(ALPHA / 2), z


def test_random_weights_and_delays_follow_their_distributions(cpu_sim, no_pynn_builder):
    cells = _random_cells(800, 4)
    rng = sim.NativeRNG(seed=15)
    prj = _project(cells, cells, "exp(-d / 2)",
                   weight=sim.RandomDistribution("uniform", (0.2, 0.6), rng=rng),
                   delay=sim.RandomDistribution("normal_clipped", mu=1.5, sigma=0.5, low=0.5,
                                                high=3.0, rng=rng))
    weights = prj.get("weight", format="list", with_address=False)
    assert len(weights) > 10000
    assert stats.kstest(weights, stats.uniform(0.2, 0.4).cdf).pvalue > ALPHA
    delays = np.asarray(prj.get("delay", format="list", with_address=False))
    assert delays.min() >= 0.5 - 1e-12 and delays.max() <= 3.0 + 1e-12
    assert np.allclose(delays * 10, np.rint(delays * 10))


# --- what PyNN's code builds ------------------------------------------------------------------

def test_a_seeded_numpy_rng_gives_pynn_s_own_network(cpu_sim):
    """A seeded NumpyRNG asks for PyNN's realisation: one uniform per pair, drawn column
    by column (replayed here)."""
    cells = _random_cells(150, 5)
    prj = sim.Projection(cells, cells, sim.DistanceDependentProbabilityConnector(
        "exp(-d / 3)", allow_self_connections=False, rng=NumpyRNG(seed=17)))
    assert prj._procedural is None
    d = Space().distances(cells.positions.T, cells.positions.T).reshape(150, 150)
    replay = NumpyRNG(seed=17)
    expected = set()
    for post in range(150):
        u = replay.next(150, "uniform", {"low": 0.0, "high": 1.0})
        expected |= {(int(pre), post) for pre in np.flatnonzero(u < np.exp(-d[:, post] / 3))
                     if pre != post}
    assert set(zip(prj._pre_index.tolist(), prj._post_index.tolist())) == expected


@pytest.mark.parametrize("expression, connected", [
    ("arctan(d) < 1.2", lambda d: np.arctan(d) < 1.2),  # functions it does not know
    ("tanh(d / 2) < 0.9", lambda d: np.tanh(d / 2) < 0.9),
    # an integer no double holds (PyNN's code takes it: 0 * it is 0)
    ("d < 2.5 + 0 * 1" + "0" * 400, lambda d: d < 2.5),
])
def test_expressions_the_translator_refuses_are_built_by_pynn(cpu_sim, expression, connected):
    cells = sim.Population(144, sim.IF_curr_exp(), structure=Grid2D(dx=0.7, dy=1.1))
    prj = sim.Projection(cells, cells, sim.DistanceDependentProbabilityConnector(
        expression, rng=sim.NativeRNG(seed=4)), sim.StaticSynapse(weight=0.2))
    assert prj._procedural is None
    d = Space().distances(cells.positions.T, cells.positions.T).reshape(144, 144)
    matrix = np.zeros((144, 144), bool)
    matrix[prj._pre_index, prj._post_index] = True
    np.testing.assert_array_equal(matrix, connected(d))


def test_distance_dependent_weights_are_built_by_pynn(cpu_sim):
    """Weights that depend on the distance are not the generator's: PyNN's code computes
    them, with the generator's rng still giving a network of the right density."""
    cells = sim.Population(100, sim.IF_curr_exp(), structure=Grid2D(dx=1.0, dy=1.0))
    for weight in ("0.1 * d + 0.01", lambda d: 0.1 * d + 0.01):
        prj = sim.Projection(cells, cells, sim.DistanceDependentProbabilityConnector(
            "d < 2.5", rng=sim.NativeRNG(seed=4)), sim.StaticSynapse(weight=weight))
        assert prj._procedural is None
        d = Space().distances(cells.positions.T, cells.positions.T).reshape(100, 100)
        assert len(prj) == int((d < 2.5).sum())
        np.testing.assert_allclose(prj._weights,
                                   0.1 * d[prj._pre_index, prj._post_index] + 0.01)


def test_generated_source_holds_no_user_text(emulate, cpu_sim):
    """The expression and the projection's label never reach the generated code: only the
    translator's C does."""
    from pynn_gpu.targets import cuda_distance_probability
    cells = _random_cells(50, 6)
    expression = "0.5*(d<100) + 0.0 * exp(-d/123.25)"
    prj = sim.Projection(cells, cells, sim.DistanceDependentProbabilityConnector(
        expression, rng=sim.NativeRNG(seed=4)), sim.StaticSynapse(weight=0.2),
        label="*/ label_marker_xyz /*")
    spec = prj._procedural
    c_source = distance_probability.with_headers(
        (distance_probability.kernels_dir() / "c" / "distance_probability_host.c").read_text(),
        spec.probability)
    cuda_source = cuda_distance_probability._source("double", "uint8_t", "uint16_t",
                                                    spec.probability)
    for source in (c_source, cuda_source):
        assert expression not in source and "label_marker_xyz" not in source
        assert f"return {spec.probability};" in source
    assert spec.probability == ("(((0.5) * ((double) (d < (100.0)))) + "
                                "((0.0) * pg_dd_exp(((-d) / (123.25)))))")


# --- the same synapses everywhere ------------------------------------------------------------

def _network(sim):
    rng = sim.NativeRNG(seed=21)
    structure = Grid2D(dx=1.0, dy=1.0, fill_order="random", rng=NumpyRNG(seed=2))
    noise = sim.Population(64, sim.SpikeSourcePoisson(rate=40.0), label="noise",
                           structure=Grid2D(dx=2.0, dy=2.0))
    cells = sim.Population(144, sim.IF_curr_exp(v_thresh=-58.0), label="cells",
                           structure=structure)
    inh = sim.Population(36, sim.IF_curr_exp(v_thresh=-58.0), label="inh",
                         structure=Grid2D(dx=2.0, dy=2.0))
    delay = sim.RandomDistribution("uniform", (0.1, 3.0), rng=rng)
    weight = sim.RandomDistribution("normal_clipped", mu=0.4, sigma=0.2, low=0.0, high=2.0,
                                    rng=rng)
    torus = Space(axes="xy", periodic_boundaries=((0, 12.0), (0, 12.0), None))
    sim.Projection(noise, cells, sim.DistanceDependentProbabilityConnector(
        "exp(-d / 3)", rng=rng), sim.StaticSynapse(weight=weight, delay=delay),
        receptor_type="excitatory")
    sim.Projection(cells, cells, sim.DistanceDependentProbabilityConnector(
        "0.5 * (d < 3) + 0.1 * exp(-d**2 / 20)", allow_self_connections=False, rng=rng),
        sim.StaticSynapse(weight=0.25, delay=delay), receptor_type="excitatory", space=torus)
    sim.Projection(cells, inh, sim.DistanceDependentProbabilityConnector(
        "0.8 if d < 4 else 0.05", rng=rng), sim.StaticSynapse(weight=weight, delay=1.0),
        receptor_type="excitatory", space=Space(scale_factor=1.5, offset=-0.5))
    # one weight and one delay: stored once, the rows hold postsynaptic indices only (as
    # rows: at this density "auto" would take a bitmask, which the host fills)
    sim.Projection(inh, cells, sim.DistanceDependentProbabilityConnector(
        "np.exp(-d / 5) * 0.6", rng=rng), sim.StaticSynapse(weight=-1.0, delay=1.2),
        receptor_type="inhibitory", connectivity_format="ragged")
    for population in (cells, inh):
        population.record(["spikes", "v"])
    return {"cells": cells, "inh": inh}


def test_cuda_builds_on_the_device_what_the_host_and_c_target_build(cuda_backend, monkeypatch):
    """The CUDA target decides the pairs itself (the host holds no synapse until asked);
    its rows equal the host's, and the run equals the C target's, whose rows the host
    built."""
    from pynn_gpu.targets import cuda_distance_probability
    # several chunks per row, so the chunked walk is checked against the host's row walk
    monkeypatch.setattr(cuda_distance_probability, "THREADS", 700)
    cpu = assert_device_builds_what_the_host_builds(
        cuda_distance_probability, _network, 4, monkeypatch, cuda_backend, min_synapses=101,
        both_once=1)
    assert sum(len(s) for s in cpu["cells"][0]) > 20
