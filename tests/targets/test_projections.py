"""Projection.get / set / save in PyNN's formats, and their effect on the simulation."""

import numpy as np
import pytest
from pyNN.random import NumpyRNG, RandomDistribution


@pytest.fixture
def network(sim):
    pre = sim.Population(4, sim.SpikeSourceArray(spike_times=[[2.0]] * 4))
    post = sim.Population(3, sim.IF_curr_exp(tau_syn_E=1.0, v_thresh=100.0))
    connections = [(0, 0, 0.1, 1.0), (1, 0, 0.2, 2.0), (3, 2, 0.3, 0.5), (2, 1, 0.4, 1.5)]
    prj = sim.Projection(pre, post, sim.FromListConnector(connections))
    return sim, pre, post, prj


def test_get_list_and_array_formats(network):
    sim, pre, post, prj = network
    listed = sorted(prj.get(["weight", "delay"], format="list"))
    assert listed == [(0, 0, 0.1, 1.0), (1, 0, 0.2, 2.0), (2, 1, 0.4, 1.5), (3, 2, 0.3, 0.5)]
    assert sorted(prj.get("weight", format="list", with_address=False)) == [0.1, 0.2, 0.3, 0.4]
    weights, delays = prj.get(["weight", "delay"], format="array")
    assert weights.shape == (4, 3)
    assert weights[1, 0] == 0.2 and np.isnan(weights[0, 1])
    assert delays[3, 2] == 0.5
    assert len(prj) == 4 and prj.size() == 4
    assert prj[0].weight in (0.1, 0.2, 0.3, 0.4)


def test_set_scalar_array_and_random_values(network):
    sim, pre, post, prj = network
    prj.set(weight=0.5)
    assert set(prj.get("weight", format="list", with_address=False)) == {0.5}
    matrix = np.arange(12, dtype=float).reshape(4, 3) / 10.0
    prj.set(weight=matrix)
    for i, j, w in prj.get("weight", format="list"):
        assert w == pytest.approx(matrix[int(i), int(j)])
    prj.set(delay=RandomDistribution("uniform", low=0.5, high=3.0, rng=NumpyRNG(seed=1)))
    delays = np.array(prj.get("delay", format="list", with_address=False))
    assert np.all((delays >= 0.5) & (delays <= 3.0)) and len(set(delays)) > 1
    # delays are whole timesteps
    np.testing.assert_allclose(delays / 0.1, np.round(delays / 0.1), atol=1e-9)


def test_weight_change_between_runs_changes_the_response(network):
    sim, pre, post, prj = network
    post.record("v")
    sim.run(10.0)
    prj.set(weight=0.0)
    pre.set(spike_times=[[12.0]] * 4)
    sim.run(10.0)
    v = post.get_data().segments[0].filter(name="v")[0].magnitude
    assert v[99, 0] > -65.0           # first spike volley had an effect
    assert np.all(np.diff(v[130:, 0]) <= 1e-12)  # after the change: only decay back to rest


def test_save_list_and_array(network, tmp_path):
    sim, pre, post, prj = network
    list_file = str(tmp_path / "weights.txt")
    prj.save("weight", list_file, format="list")
    saved = np.loadtxt(list_file)
    assert sorted(map(tuple, saved.tolist())) == sorted(
        (float(i), float(j), w) for i, j, w in prj.get("weight", format="list"))
    array_file = str(tmp_path / "weights_array.txt")
    prj.save("weight", array_file, format="array")
    # PyNN's array format writes 0 where there is no connection
    np.testing.assert_array_equal(np.loadtxt(array_file),
                                  np.nan_to_num(prj.get("weight", format="array")))


def test_multiple_synapses_between_one_pair(sim):
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    post = sim.Population(1, sim.IF_curr_exp())
    prj = sim.Projection(pre, post, sim.FromListConnector([(0, 0, 0.1, 1.0), (0, 0, 0.3, 1.0)]))
    assert prj.get("weight", format="array")[0, 0] == pytest.approx(0.4)
    assert prj.get("weight", format="array", multiple_synapses="max")[0, 0] == 0.3
    assert prj.get("weight", format="array", multiple_synapses="min")[0, 0] == 0.1


def test_first_and_last_of_multiple_synapses(sim):
    """"first" and "last" in creation order (the order get(format="list") shows: PyNN's
    FromListConnector connects by postsynaptic neuron, the list's order within each)."""
    a = sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0]))
    b = sim.Population(2, sim.IF_curr_exp())
    prj = sim.Projection(a, b, sim.FromListConnector(
        [(0, 1, 0.5, 1.0), (1, 0, 0.7, 1.0), (0, 1, 0.2, 1.0), (0, 1, 0.9, 1.0)]))
    assert [w for _, _, w in prj.get("weight", format="list")] == [0.7, 0.5, 0.2, 0.9]
    first = prj.get("weight", format="array", multiple_synapses="first")
    last = prj.get("weight", format="array", multiple_synapses="last")
    assert (first[0, 1], first[1, 0], last[0, 1], last[1, 0]) == (0.5, 0.7, 0.9, 0.7)


def test_a_saved_plastic_projection_loads_back(sim, tmp_path):
    """save("all") writes the STDP mechanism's fixed dendritic_delay_fraction as a column:
    FromFileConnector takes it back when it holds the mechanism's own value."""
    a = sim.Population(3, sim.IF_curr_exp())
    b = sim.Population(2, sim.IF_curr_exp())
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                             weight_dependence=sim.AdditiveWeightDependence(w_min=0.0,
                                                                            w_max=2.0),
                             weight=0.5, delay=1.0)
    prj = sim.Projection(a, b, sim.AllToAllConnector(), stdp)
    path = str(tmp_path / "stdp.txt")
    prj.save("all", path)
    loaded = sim.Projection(a, b, sim.FromFileConnector(path), stdp)
    assert loaded.get(["weight", "delay"], format="list") == \
        prj.get(["weight", "delay"], format="list")
    with pytest.raises(sim.errors.InvalidParameterValueError, match="is fixed"):
        loaded.set(dendritic_delay_fraction=0.5)


def test_one_to_one_between_populations_of_different_sizes(sim):
    """As PyNN's own OneToOneConnector: the pairs (i, i) of the smaller side."""
    a = sim.Population(5, sim.IF_curr_exp(i_offset=2.0))
    b = sim.Population(3, sim.IF_curr_exp())
    drawn = RandomDistribution("uniform", (0.1, 0.2), rng=sim.NativeRNG(seed=2))
    for synapse in (sim.StaticSynapse(weight=0.1), sim.StaticSynapse(weight=drawn)):
        for pre, post in ((a, b), (b, a)):
            prj = sim.Projection(pre, post, sim.OneToOneConnector(), synapse)
            pairs = [(i, j) for i, j, _ in prj.get("weight", format="list")]
            assert pairs == [(0, 0), (1, 1), (2, 2)]
    b.record("v")
    sim.run(3.0)


def test_population_view_parameters(sim):
    cells = sim.Population(6, sim.IF_curr_exp())
    cells[1:3].set(tau_m=12.0)
    cells[[0, 5]].set(i_offset=np.array([0.1, 0.2]))
    np.testing.assert_array_equal(cells.get("tau_m", simplify=False), [20, 12, 12, 20, 20, 20])
    np.testing.assert_array_equal(cells.get("i_offset", simplify=False),
                                  [0.1, 0, 0, 0, 0, 0.2])
    assert cells[1:3].get("tau_m") == 12.0
    cells[2:4].initialize(v=-55.0)
    cells.record("v")
    sim.run(0.1)
    v0 = cells.get_data().segments[0].filter(name="v")[0].magnitude[0]
    np.testing.assert_array_equal(v0, [-65, -65, -55, -55, -65, -65])


def test_connections_iterator_reads_and_writes_single_connections(sim):
    pre = sim.Population(4, sim.SpikeSourceArray())
    post = sim.Population(3, sim.IF_cond_exp())
    prj = sim.Projection(pre, post, sim.AllToAllConnector(),
                         sim.TsodyksMarkramSynapse(weight=0.05, delay=0.5, U=0.3))
    connections = list(prj.connections)
    assert len(connections) == len(prj) == 12
    third = connections[2]
    assert (third.presynaptic_index, third.postsynaptic_index) == (2, 0)
    assert third.presynaptic_cell == pre[2] and third.postsynaptic_cell == post[0]
    assert (third.weight, third.delay, third.U) == (0.05, 0.5, 0.3)
    third.U = 0.7
    third.weight = 0.2
    third.delay = 1.0
    listed = prj.get(["weight", "delay", "U"], format="list")
    assert listed[2] == (2, 0, 0.2, 1.0, 0.7)
    assert all(row[2:] == (0.05, 0.5, 0.3) for k, row in enumerate(listed) if k != 2)
    with pytest.raises(sim.errors.NonExistentParameterError):
        third.tau_foo = 1.0
    with pytest.raises(AttributeError):
        third.tau_foo


def test_distance_dependent_synapse_parameters(sim):
    """A string of d or a function of d is evaluated at each connection's distance."""
    cells = sim.Population(5, sim.IF_cond_exp(), structure=sim.space.Line(dx=1.0))
    prj = sim.Projection(cells, cells, sim.AllToAllConnector(allow_self_connections=False),
                         sim.StaticSynapse(weight=lambda d: 0.01 * d, delay="0.2+0.3*d"))
    i, j, w, d = np.array(prj.get(["weight", "delay"], format="list")).T
    assert len(i) == 20
    np.testing.assert_allclose(w, 0.01 * abs(i - j))
    np.testing.assert_allclose(d, 0.2 + 0.3 * abs(i - j), atol=1e-9)
    prj.set(weight=lambda d: 0.02 * d)
    np.testing.assert_allclose(prj.get("weight", format="list", with_address=False),
                               0.02 * abs(i - j))


def _input_in_flight_after_delays_shrink(keep_long_ring):
    """v of a cell whose input is still in flight (delay 3 ms) when, between two runs, every
    delay is set to 0.1 ms; with keep_long_ring, another projection keeps 3 ms delays (so the
    ring of input never gets shorter)."""
    import pynn_gpu as sim
    sim.setup(timestep=0.1, target="cpu")
    try:
        source = sim.Population(1, sim.SpikeSourceArray(spike_times=[0.5, 1.0, 1.5]))
        cell = sim.Population(1, sim.IF_curr_exp(tau_m=1e9, tau_syn_E=0.5))
        shrinking = sim.Projection(source, cell, sim.AllToAllConnector(),
                                   sim.StaticSynapse(weight=1.0, delay=3.0))
        if keep_long_ring:
            other = sim.Population(1, sim.SpikeSourceArray(spike_times=[]))
            sim.Projection(other, cell, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=1.0, delay=3.0))
        cell.record("v")
        sim.run(2.0)                # the three spikes' input arrives at 3.5, 4.0, 4.5 ms
        shrinking.set(delay=0.1)
        sim.run(5.0)
        return np.asarray(cell.get_data().segments[0].analogsignals[0]).ravel()
    finally:
        sim.end()


def test_input_in_flight_survives_shorter_delays():
    v = _input_in_flight_after_delays_shrink(keep_long_ring=False)
    np.testing.assert_array_equal(v, _input_in_flight_after_delays_shrink(keep_long_ring=True))
    assert v[-1] > v[0] + 1.0       # all three inputs arrived


def test_a_synapse_group_knows_the_presynaptic_cells_of_its_view(cpu_sim):
    """The planner's strategy reads them (planner.propagation_strategy)."""
    sim = cpu_sim
    sources = sim.Population(1000, sim.SpikeSourcePoisson(rate=5.0))
    cells = sim.Population(100, sim.IF_curr_exp())
    sim.Projection(sources[:10], cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
    sim.Projection(sources, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.1))
    sim.Projection(sources[5:8] + cells[0:4], cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.1))
    sim.run(0.1)
    groups = sim.simulator.state.engine.graph.synapse_groups
    assert sorted((g.pre.size, g.pre_cells) for g in groups) == [
        (100, 4), (1000, 3), (1000, 10), (1000, 1000)]
