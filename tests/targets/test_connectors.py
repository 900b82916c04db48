"""Every PyNN connector builds the connectivity it promises, quickly and vectorised."""

import numpy as np
import pytest
from pyNN import connectors as pynn_connectors
from pyNN import errors
from pyNN.random import NumpyRNG, RandomDistribution
from pyNN.space import Grid2D
from scipy import stats

from pynn_gpu import connectivity


def _pair(sim, n_pre=30, n_post=40, **kwargs):
    pre = sim.Population(n_pre, sim.IF_curr_exp(), **kwargs)
    post = sim.Population(n_post, sim.IF_curr_exp())
    return pre, post


def _matrix(projection):
    return ~np.isnan(projection.get("weight", format="array"))


def test_all_to_all_and_self_connections(cpu_sim):
    sim = cpu_sim
    p = sim.Population(10, sim.IF_curr_exp())
    full = sim.Projection(p, p, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
    assert len(full) == 100
    no_self = sim.Projection(p, p, sim.AllToAllConnector(allow_self_connections=False))
    assert len(no_self) == 90 and not _matrix(no_self).diagonal().any()
    # PyNN's creation order: by postsynaptic index, then presynaptic
    pairs = np.array(full.get([], format="list"))
    assert np.all(np.diff(pairs[:, 1] * 10 + pairs[:, 0]) > 0)


@pytest.mark.parametrize("connector", [
    lambda sim: sim.AllToAllConnector(allow_self_connections=False),
    lambda sim: sim.FixedProbabilityConnector(1.0, allow_self_connections=False,
                                              rng=sim.NativeRNG(1)),
    lambda sim: sim.FixedNumberPreConnector(9, allow_self_connections=False,
                                            rng=sim.NativeRNG(1)),
    lambda sim: sim.FixedNumberPostConnector(9, allow_self_connections=False,
                                             rng=sim.NativeRNG(1)),
    lambda sim: sim.DistanceDependentProbabilityConnector("1", allow_self_connections=False,
                                                          rng=sim.NativeRNG(1)),
])
def test_no_self_connections_through_a_view_of_every_cell(cpu_sim, connector):
    """P[:] equals P for PyNN (same cells), so it was taken for the Population itself by
    the generated connectors, which then saw two different objects and kept (i, i)."""
    sim = cpu_sim
    p = sim.Population(10, sim.IF_curr_exp())
    for pre, post in ((p[:], p), (p, p[0:10]), (p[np.arange(10)], p[:])):
        prj = sim.Projection(pre, post, connector(sim), sim.StaticSynapse(weight=0.1))
        assert len(prj) == 90 and not _matrix(prj).diagonal().any()


def test_distance_dependent_connections_use_the_positions_at_creation(cpu_sim):
    """PyNN connects when the Projection is made: moving a cell afterwards changes nothing,
    also where the generator draws the synapses later (it kept the positions array, which
    setting a cell's position changes in place)."""
    sim = cpu_sim
    from pyNN.space import Line
    pre = sim.Population(5, sim.SpikeSourcePoisson(rate=1.0), structure=Line(dx=1.0))
    post = sim.Population(5, sim.IF_curr_exp(), structure=Line(dx=1.0))
    prj = sim.Projection(pre, post, sim.DistanceDependentProbabilityConnector(
        "d < 0.5", rng=sim.NativeRNG(3)), sim.StaticSynapse(weight=0.1))
    pre[0].position = (100.0, 0.0, 0.0)
    post[1].position = (200.0, 0.0, 0.0)
    np.testing.assert_array_equal(_matrix(prj), np.eye(5, dtype=bool))


def test_one_to_one(cpu_sim):
    sim = cpu_sim
    pre, post = _pair(sim, 20, 20)
    prj = sim.Projection(pre, post, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.5))
    np.testing.assert_array_equal(_matrix(prj), np.eye(20, dtype=bool))
    # sizes that differ: the pairs (i, i) of the smaller side, as PyNN's connector makes
    uneven = sim.Projection(*_pair(sim, 3, 4), sim.OneToOneConnector())
    np.testing.assert_array_equal(_matrix(uneven), np.eye(3, 4, dtype=bool))


def test_fixed_probability_in_degree_is_binomial(cpu_sim):
    sim = cpu_sim
    n_pre, n_post, p = 400, 2000, 0.05
    pre, post = _pair(sim, n_pre, n_post)
    prj = sim.Projection(pre, post, sim.FixedProbabilityConnector(p, rng=NumpyRNG(seed=7)))
    in_degree = np.bincount(prj._post_index, minlength=n_post)
    # chi-square goodness of fit of the in-degree histogram against Binomial(n_pre, p)
    k = np.arange(in_degree.max() + 1)
    observed = np.bincount(in_degree)
    expected = stats.binom.pmf(k, n_pre, p) * n_post
    lumped_obs, lumped_exp = [], []
    acc_o = acc_e = 0.0
    for o, e in zip(observed, expected):
        acc_o, acc_e = acc_o + o, acc_e + e
        if acc_e >= 5:
            lumped_obs.append(acc_o)
            lumped_exp.append(acc_e)
            acc_o = acc_e = 0.0
    lumped_obs[-1] += acc_o + (n_post - sum(lumped_obs) - acc_o)
    lumped_exp[-1] += acc_e + (n_post - sum(lumped_exp) - acc_e)
    _, p_value = stats.chisquare(lumped_obs, lumped_exp)
    assert p_value > 0.001
    assert abs(in_degree.mean() - n_pre * p) < 4 * np.sqrt(n_pre * p * (1 - p) / n_post)


def test_fixed_probability_equals_pynn_host_implementation(cpu_sim, monkeypatch):
    """With a seeded NumpyRNG the vectorised builder draws exactly what PyNN's loop draws."""
    sim = cpu_sim
    pre, post = _pair(sim, 50, 70)
    synapse = sim.StaticSynapse(
        weight=RandomDistribution("normal", mu=0.5, sigma=0.1, rng=NumpyRNG(seed=3)),
        delay=RandomDistribution("uniform", low=0.1, high=2.0, rng=NumpyRNG(seed=4)))
    fast = sim.Projection(pre, post, sim.FixedProbabilityConnector(0.2, rng=NumpyRNG(seed=11)),
                          synapse)
    synapse = sim.StaticSynapse(
        weight=RandomDistribution("normal", mu=0.5, sigma=0.1, rng=NumpyRNG(seed=3)),
        delay=RandomDistribution("uniform", low=0.1, high=2.0, rng=NumpyRNG(seed=4)))
    monkeypatch.setattr(connectivity, "build_connections", lambda *a: None)
    from pynn_gpu import projections
    monkeypatch.setattr(projections, "build_connections", lambda *a: None)
    slow = sim.Projection(pre, post, sim.FixedProbabilityConnector(0.2, rng=NumpyRNG(seed=11)),
                          synapse)
    assert len(fast) > 500
    assert fast.get(["weight", "delay"], format="list") == slow.get(["weight", "delay"],
                                                                     format="list")


def test_fixed_number_connectors(cpu_sim):
    sim = cpu_sim
    pre, post = _pair(sim, 30, 40)
    rng = NumpyRNG(seed=5)
    fn_pre = sim.Projection(pre, post, sim.FixedNumberPreConnector(7, rng=rng))
    assert np.all(_matrix(fn_pre).sum(axis=0) == 7)
    fn_post = sim.Projection(pre, post, sim.FixedNumberPostConnector(9, rng=rng))
    assert np.all(_matrix(fn_post).sum(axis=1) == 9)
    total = sim.Projection(pre, post, sim.FixedTotalNumberConnector(333, rng=rng))
    assert len(total) == 333


def test_distance_and_index_based_connectors(cpu_sim):
    sim = cpu_sim
    pre = sim.Population(100, sim.IF_curr_exp(), structure=Grid2D())
    post = sim.Population(100, sim.IF_curr_exp(), structure=Grid2D())
    near = sim.Projection(pre, post, sim.DistanceDependentProbabilityConnector(
        "d < 1.5", rng=NumpyRNG(seed=1)), sim.StaticSynapse(weight="0.1 * d + 0.01"))
    distances = sim.Projection(pre, post, sim.AllToAllConnector()).get("weight", "array")
    assert len(near) > 100
    w = near.get("weight", format="list", with_address=True)
    d = pre.positions[:, [int(i) for i, j, _ in w]] - post.positions[:, [int(j) for i, j, _ in w]]
    np.testing.assert_allclose([x for _, _, x in w], 0.1 * np.sqrt((d ** 2).sum(axis=0)) + 0.01)
    assert distances.shape == (100, 100)
    diag = sim.Projection(pre, post, sim.IndexBasedProbabilityConnector(
        _SameIndex(), rng=NumpyRNG(seed=2)))
    np.testing.assert_array_equal(_matrix(diag), np.eye(100, dtype=bool))


def test_small_world_connector(cpu_sim):
    sim = cpu_sim
    grid = sim.Population(100, sim.IF_curr_exp(), structure=Grid2D())
    local = sim.Projection(grid, grid, sim.SmallWorldConnector(
        degree=1.5, rewiring=0.0, allow_self_connections=False, rng=NumpyRNG(seed=1)))
    # 8 neighbours inside the grid, fewer at the border
    assert len(local) == 8 * 64 + 5 * 32 + 3 * 4
    rewired = sim.Projection(grid, grid, sim.SmallWorldConnector(
        degree=1.5, rewiring=0.5, rng=NumpyRNG(seed=1)))
    moved = np.mean(_matrix(rewired) != _matrix(local))
    assert 0.01 < moved < 0.2


def test_csa_connector(cpu_sim):
    csa = pytest.importorskip("csa")
    sim = cpu_sim
    pre, post = _pair(sim, 50, 40)
    one_to_one = sim.Projection(pre, post, sim.CSAConnector(csa.cset(csa.oneToOne)),
                                sim.StaticSynapse(weight=0.1))
    np.testing.assert_array_equal(_matrix(one_to_one), np.eye(50, 40, dtype=bool))
    sampled = sim.Projection(pre, post, sim.CSAConnector(csa.cset(csa.random(0.2))))
    assert 0.1 < len(sampled) / 2000 < 0.3
    # PyNN's CSAConnector passes ids for value sets where indices belong: refused, as any
    # index outside a population would make the compiled code read and write beyond it
    with pytest.raises(errors.ConnectionError, match="postsynaptic index 50"):
        sim.Projection(pre, post, sim.CSAConnector(csa.cset(csa.oneToOne, 0.5, 1.0)))


class _SameIndex(pynn_connectors.IndexBasedExpression):
    def __call__(self, i, j):
        return (i == j).astype(float)


def test_list_file_array_and_clone_connectors(cpu_sim, tmp_path):
    sim = cpu_sim
    pre, post = _pair(sim, 5, 6)
    connections = [(0, 1, 0.1, 1.0), (4, 5, 0.2, 2.0), (2, 1, 0.3, 0.5)]
    listed = sim.Projection(pre, post, sim.FromListConnector(connections))
    assert sorted(listed.get(["weight", "delay"], format="list")) == sorted(
        [(0, 1, 0.1, 1.0), (4, 5, 0.2, 2.0), (2, 1, 0.3, 0.5)])
    filename = str(tmp_path / "connections.txt")
    listed.save("all", filename, format="list")
    from_file = sim.Projection(pre, post, sim.FromFileConnector(filename))
    assert sorted(from_file.get(["weight", "delay"], format="list")) == sorted(
        listed.get(["weight", "delay"], format="list"))
    mask = np.zeros((5, 6), dtype=bool)
    mask[[0, 3], [2, 4]] = True
    arrayed = sim.Projection(pre, post, sim.ArrayConnector(mask))
    np.testing.assert_array_equal(_matrix(arrayed), mask)
    clone = sim.Projection(pre, post, sim.CloneConnector(arrayed), sim.StaticSynapse(weight=1.0))
    np.testing.assert_array_equal(_matrix(clone), mask)


def test_views_and_assemblies_as_source_and_target(sim):
    a = sim.Population(10, sim.SpikeSourceArray(spike_times=[[1.0]] * 10))
    b = sim.Population(8, sim.IF_curr_exp(tau_syn_E=1.0, v_thresh=100.0))
    c = sim.Population(4, sim.IF_curr_exp(tau_syn_E=1.0, v_thresh=100.0))
    prj = sim.Projection(a[2:4] + a[7:8], b[[1, 5]] + c, sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=0.1, delay=1.0))
    assert len(prj) == 3 * 6
    (b + c).record("v")
    sim.run(5.0)
    v = (b + c).get_data().segments[0].filter(name="v")[0].magnitude[-1]
    moved = np.nonzero(v > -65.0)[0]
    np.testing.assert_array_equal(moved, [1, 5, 8, 9, 10, 11])
    # three inputs of 0.1 nA each: all receiving cells moved by the same amount
    assert np.allclose(v[moved], v[moved[0]])


def test_common_connectors_never_go_through_the_per_neuron_path(cpu_sim, monkeypatch):
    """AllToAll, OneToOne, FixedProbability and FromList build whole arrays at once."""
    from pynn_gpu.projections import Projection

    def forbidden(*args, **kwargs):
        raise AssertionError("per-postsynaptic-neuron path used")

    monkeypatch.setattr(Projection, "_convergent_connect", forbidden)
    sim = cpu_sim
    pre, post = _pair(sim, 2000, 2000)
    prj = sim.Projection(pre, post, sim.FixedProbabilityConnector(0.1, rng=NumpyRNG(seed=1)),
                         sim.StaticSynapse(weight=0.1, delay=0.5))
    assert len(prj) > 390_000
    sim.Projection(pre, post, sim.AllToAllConnector(allow_self_connections=False))
    sim.Projection(pre, post, sim.OneToOneConnector())
    sim.Projection(pre, post, sim.FromListConnector([(1, 2), (3, 4)]))


def test_a_from_list_column_of_an_int_parameter(cpu_sim):
    """MultiQuantalSynapse's n is an int in PyNN's schema: the list's whole numbers are
    taken (the list was read as floats, which the schema refused with a bare
    AssertionError), a fraction is refused by name."""
    sim = cpu_sim
    pre = sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0]))
    post = sim.Population(2, sim.IF_curr_exp())
    synapse = sim.MultiQuantalSynapse(U=0.5, tau_rec=100.0)
    prj = sim.Projection(pre, post, sim.FromListConnector(
        [(0, 0, 0.5, 1.0, 5), (1, 1, 0.25, 1.5, 7)], column_names=["weight", "delay", "n"]),
        synapse)
    assert prj.get(["weight", "delay", "n"], format="list") == [
        (0, 0, 0.5, 1.0, 5.0), (1, 1, 0.25, 1.5, 7.0)]
    with pytest.raises(errors.InvalidParameterValueError, match="n must be a whole number"):
        sim.Projection(pre, post, sim.FromListConnector([(0, 0, 2.5)], column_names=["n"]),
                       synapse)


@pytest.mark.parametrize("replacement", [False, True])
@pytest.mark.parametrize("kind", ["FixedNumberPreConnector", "FixedNumberPostConnector"])
def test_a_fixed_number_with_no_neuron_to_choose_from_is_refused(cpu_sim, kind, replacement):
    """One cell onto itself, itself excluded: PyNN's own code (a seeded NumpyRNG) divided by
    zero; the backend's builders refuse it by name."""
    sim = cpu_sim
    cell = sim.Population(1, sim.IF_curr_exp())
    for rng in (NumpyRNG(seed=1), sim.NativeRNG(1)):
        with pytest.raises(errors.ConnectionError, match="no neuron to choose from"):
            sim.Projection(cell, cell, getattr(sim, kind)(
                2, allow_self_connections=False, with_replacement=replacement, rng=rng))


def test_seeded_fixed_probability_reused_like_pynn():
    """PyNN draws each projection's connection matrix from a copy of the rng: one connector
    (or one rng) on several projections gives each the same draws. pyNN.mock runs PyNN's
    own connector code."""
    import pyNN.mock as mock

    import pynn_gpu

    def build(sim):
        sim.setup(timestep=0.1)
        rng = sim.NumpyRNG(seed=1)
        a, b = sim.Population(40, sim.IF_curr_exp()), sim.Population(30, sim.IF_curr_exp())
        c = sim.Population(10, sim.IF_curr_exp())
        connector = sim.FixedProbabilityConnector(0.2, rng=rng)
        static = sim.StaticSynapse(weight=0.1)
        projections = [sim.Projection(a, b, connector, static),
                       sim.Projection(a, c, connector, static),
                       sim.Projection(a, c, sim.FixedProbabilityConnector(0.2, rng=rng), static)]
        pairs = [sorted((int(x[0]), int(x[1])) for x in p.get(["weight"], format="list"))
                 for p in projections]
        sim.end()
        return pairs

    reference, ours = build(mock), build(pynn_gpu)
    assert ours == reference
    assert ours[1] == [(i, j) for i, j in ours[0] if j < 10]     # the same first columns
