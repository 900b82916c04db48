"""
Synapse types with dynamics: TsodyksMarkramSynapse against an independent implementation
of the same event-driven equations (NEST's tsodyks_synapse), and the closed-form steady
state of a depressing synapse.

The postsynaptic cell is an IF_curr_delta neuron with a membrane time constant of 1e9 ms
and an unreachable threshold, so each arriving spike moves v by exactly its effective weight
(mV) and v stays put in between; the recorded jumps are the effective weights.
"""

import numpy as np
import pytest
from pyNN import errors

DT = 0.1


def reference_weights(times, weight, U, tau_rec, tau_facil, tau_psc=0.0, u=0.0, x=1.0):
    """Effective weights of successive spikes, written out from the model's equations,
    from the state (u, x) at t = 0 (NEST: the first spike's interval counts from 0)."""
    y, last = 0.0, 0.0
    result = []
    for t in times:
        h = t - last
        p_uu = np.exp(-h / tau_facil) if tau_facil > 0 else 0.0
        p_yy = np.exp(-h / tau_psc) if tau_psc > 0 else 0.0
        p_zz = np.exp(-h / tau_rec)
        p_xy = ((p_zz - 1) * tau_rec - (p_yy - 1) * tau_psc) / (tau_psc - tau_rec)
        z = 1 - x - y
        u *= p_uu
        x += p_xy * y + (1 - p_zz) * z
        y *= p_yy
        u += U * (1 - u)
        used = u * x
        x -= used
        y += used
        result.append(weight * used)
        last = t
    return np.array(result)


def _jumps(sim, spike_times, synapse, t_stop):
    cell = sim.Population(1, sim.IF_curr_delta(tau_m=1e9, v_thresh=1e6, v_rest=0.0,
                                               v_reset=0.0))
    cell.initialize(v=0.0)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=spike_times))
    projection = sim.Projection(source, cell, sim.OneToOneConnector(), synapse,
                                receptor_type="excitatory")
    cell.record("v")
    sim.run(t_stop)
    v = cell.get_data().segments[-1].filter(name="v")[0].magnitude[:, 0]
    jumps = np.diff(v)
    # between spikes v drifts by ~1e-10 mV per step (tau_m = 1e9 ms); spikes move it by >1e-3
    return jumps[np.abs(jumps) > 1e-6], projection, cell


@pytest.mark.parametrize("U,tau_rec,tau_facil", [(0.5, 100.0, 0.0), (0.1, 50.0, 200.0),
                                                 (0.9, 800.0, 0.0)])
def test_tsodyks_markram_effective_weights(sim, U, tau_rec, tau_facil):
    times = np.array([5.0, 15.0, 25.0, 35.0, 45.0, 100.0, 102.5, 300.0])
    synapse = sim.TsodyksMarkramSynapse(weight=2.0, delay=1.0, U=U, tau_rec=tau_rec,
                                        tau_facil=tau_facil)
    jumps, _, _ = _jumps(sim, times.tolist(), synapse, 320.0)
    expected = reference_weights(times, 2.0, U, tau_rec, tau_facil)
    assert len(jumps) == len(times)
    # each measured jump also holds one step of membrane decay, v * dt / tau_m < 1e-9 mV
    np.testing.assert_allclose(jumps, expected, rtol=0, atol=1e-8)


def test_depressing_synapse_reaches_the_closed_form_steady_state(sim):
    U, tau_rec, period = 0.5, 100.0, 20.0
    times = (np.arange(1, 41) * period).tolist()
    jumps, _, _ = _jumps(sim, times, sim.TsodyksMarkramSynapse(
        weight=1.0, U=U, tau_rec=tau_rec, tau_facil=0.0), 820.0)
    decay = np.exp(-period / tau_rec)
    x_steady = (1 - decay) / (1 - (1 - U) * decay)
    assert jumps[0] == pytest.approx(U)
    assert jumps[-1] == pytest.approx(U * x_steady, abs=1e-8)


def test_a_parameter_all_synapses_share_is_stored_once_until_it_differs(sim):
    """U, tau_rec and tau_facil the same for every synapse: one value each, not one per
    synapse; when one synapse's U changes between runs, the kernels are rebuilt with U per
    synapse and each synapse follows its own."""
    times = [5.0, 15.0, 25.0, 55.0, 65.0, 75.0]
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
    cells = sim.Population(2, sim.IF_curr_delta(tau_m=1e9, v_thresh=1e6, v_rest=0.0,
                                                v_reset=0.0))
    cells.initialize(v=0.0)
    projection = sim.Projection(source, cells, sim.AllToAllConnector(),
                                sim.TsodyksMarkramSynapse(weight=2.0, delay=1.0, U=0.5,
                                                          tau_rec=100.0, tau_facil=0.0),
                                receptor_type="excitatory")
    cells.record("v")
    sim.run(50.0)
    engine = sim.simulator.state.engine
    group = engine.graph.synapse_groups[0]
    assert group.shared_params == ("U", "tau_rec", "tau_facil")
    assert engine.arrays[f"{group.name}_U"].size == 1
    projection[1].U = 0.9                   # connection 1: the synapse onto cell 1
    sim.run(50.0)
    group = engine.graph.synapse_groups[0]
    assert group.shared_params == ("tau_rec", "tau_facil")
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    for cell, late_U in ((0, 0.5), (1, 0.9)):
        jumps = np.diff(v[:, cell])
        jumps = jumps[np.abs(jumps) > 1e-6]
        # the reference with U changing after the third spike: its u and x carry over
        u, x, last, expected = 0.0, 1.0, None, []
        for k, t in enumerate(times):
            U = 0.5 if k < 3 else late_U
            if last is not None:
                x = 1 - (1 - x) * np.exp(-(t - last) / 100.0)
            u = U                               # tau_facil = 0: u is U at every spike
            expected.append(2.0 * u * x)
            x -= u * x
            last = t
        np.testing.assert_allclose(jumps, expected, rtol=0, atol=1e-8)


def test_state_is_readable_resettable_and_initialisable(sim):
    synapse = sim.TsodyksMarkramSynapse(weight=1.0, U=0.3, tau_rec=100.0, tau_facil=100.0)
    first, projection, cell = _jumps(sim, [5.0, 10.0], synapse, 20.0)
    u = projection.get("u", format="list", with_address=False)
    carried = 0.3 * np.exp(-5.0 / 100.0)          # u left from the first spike
    assert u[0] == pytest.approx(carried + 0.3 * (1 - carried), rel=1e-12)
    assert projection.get("U", format="array")[0, 0] == 0.3
    sim.reset()
    sim.run(20.0)
    v = cell.get_data().segments[-1].filter(name="v")[0].magnitude[:, 0]
    second = np.diff(v)[np.abs(np.diff(v)) > 1e-6]
    np.testing.assert_allclose(first, second, rtol=1e-12)
    projection.initialize(u=0.0)
    with pytest.raises(errors.InvalidParameterValueError, match="U must be"):
        projection.set(U=1.5)
    with pytest.raises(errors.InvalidParameterValueError, match="tau_rec must be"):
        sim.Projection(projection.pre, cell, sim.OneToOneConnector(),
                       sim.TsodyksMarkramSynapse(tau_rec=0.0))


def test_an_initial_state_acts_at_the_first_spike(sim):
    """initialize(x=..., u=...) is the state at t = 0: the first spike finds it, decayed
    over the 5 ms since (it was overwritten with the resting state before)."""
    cell = sim.Population(1, sim.IF_curr_delta(tau_m=1e9, v_thresh=1e6, v_rest=0.0,
                                               v_reset=0.0))
    cell.initialize(v=0.0)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 15.0]))
    projection = sim.Projection(source, cell, sim.OneToOneConnector(), sim.TsodyksMarkramSynapse(
        weight=1.0, U=0.2, tau_rec=100.0, tau_facil=50.0), receptor_type="excitatory")
    projection.initialize(x=0.5, u=0.6)
    cell.record("v")
    sim.run(20.0)
    jumps = np.diff(cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0])
    np.testing.assert_allclose(jumps[np.abs(jumps) > 1e-6], reference_weights(
        [5.0, 15.0], 1.0, 0.2, 100.0, 50.0, u=0.6, x=0.5), rtol=1e-9)


def test_initial_state_takes_the_forms_set_takes(sim):
    """initialize() takes a (pre, post) array as set() does, or one value per synapse in
    connection order; each synapse gets its own value."""
    sources = sim.Population(3, sim.SpikeSourceArray(spike_times=[5.0]))
    cells = sim.Population(4, sim.IF_curr_exp())
    projection = sim.Projection(sources, cells, sim.FromListConnector(
        [(2, 0), (0, 1), (1, 3), (0, 3)]), sim.TsodyksMarkramSynapse(weight=0.1))
    by_pair = np.arange(12.0).reshape(3, 4) / 20.0
    projection.initialize(u=by_pair)
    u = projection.get("u", format="list")
    assert sorted(u) == sorted((i, j, by_pair[i, j]) for i, j in [(2, 0), (0, 1), (1, 3),
                                                                 (0, 3)])
    projection.initialize(x=[0.1, 0.2, 0.3, 0.4])
    assert projection.get("x", format="list", with_address=False) == [0.1, 0.2, 0.3, 0.4]
    # all or nothing: a bad value of one variable keeps the other's as it was
    with pytest.raises(errors.InvalidParameterValueError, match="initial value of u"):
        projection.initialize(x=0.9, u=[0.1, np.nan, 0.3, 0.4])
    assert projection.get("x", format="list", with_address=False) == [0.1, 0.2, 0.3, 0.4]


def test_time_constant_of_the_active_state_is_the_receptors(sim):
    """On IF_curr_exp the active pool decays with tau_syn_E, as in NEST's model."""
    times = np.array([5.0, 8.0, 11.0, 14.0])
    cell = sim.Population(1, sim.IF_curr_exp(tau_syn_E=3.0))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=times.tolist()))
    projection = sim.Projection(source, cell, sim.OneToOneConnector(),
                                sim.TsodyksMarkramSynapse(weight=1.0, U=0.4, tau_rec=30.0),
                                receptor_type="excitatory")
    sim.run(20.0)
    u, x, y = (projection.get(name, format="list", with_address=False)[0]
               for name in ("u", "x", "y"))
    used = reference_weights(times, 1.0, 0.4, 30.0, 0.0, tau_psc=3.0)
    assert u == pytest.approx(0.4)
    # resources: after the last spike, the active pool holds what the last spike used plus
    # what is left of the earlier ones
    assert y == pytest.approx(used[-1] + y_before_last(times, 0.4, 30.0, 3.0), rel=1e-9)
    assert 0 < x < 1


def y_before_last(times, U, tau_rec, tau_psc):
    u, x, y, last = 0.0, 1.0, 0.0, None
    for t in times[:-1]:
        h = np.inf if last is None else t - last
        p_yy, p_zz = np.exp(-h / tau_psc), np.exp(-h / tau_rec)
        p_xy = ((p_zz - 1) * tau_rec - (p_yy - 1) * tau_psc) / (tau_psc - tau_rec)
        z = 1 - x - y
        x += p_xy * y + (1 - p_zz) * z
        y *= p_yy
        u = U
        x, y = x - u * x, y + u * x
        last = t
    return y * np.exp(-(times[-1] - times[-2]) / tau_psc)


@pytest.mark.nvcc
@pytest.mark.parametrize("precision", ["double", "float"])
def test_generated_cuda_with_synapse_dynamics_compiles(precision, tmp_path):
    from nvcc_check import assert_nvcc_compiles, generated_cuda_source

    def network(sim):
        cells = sim.Population(4, sim.IF_curr_exp())
        source = sim.Population(3, sim.SpikeSourcePoisson(rate=50.0))
        for synapse in (sim.TsodyksMarkramSynapse(weight=0.5, tau_facil=20.0),
                        sim.StaticSynapse(weight=0.5),
                        sim.SimpleStochasticSynapse(weight=0.5, p=0.5),
                        sim.MultiQuantalSynapse(weight=0.5, n=3),
                        sim.StochasticTsodyksMarkramSynapse(weight=0.5)):
            sim.Projection(source, cells, sim.AllToAllConnector(), synapse)

    source = generated_cuda_source(network, precision)
    assert "tsodyks_markram synapses" in source
    for model in ("simple_stochastic", "multi_quantal", "stochastic_tsodyks_markram"):
        assert f"{model} synapses" in source
    assert_nvcc_compiles(source, tmp_path)


def test_cpu_and_cuda_give_the_same_synapse_dynamics(cuda_backend):
    """On a GPU, or on the host emulation of the CUDA target (tests/targets/conftest.py)."""
    import pynn_gpu

    def run(target):
        pynn_gpu.setup(timestep=0.1, target=target, rng_seed=7)
        try:
            cells = pynn_gpu.Population(5, pynn_gpu.IF_curr_exp(tau_syn_E=2.0))
            source = pynn_gpu.Population(8, pynn_gpu.SpikeSourcePoisson(rate=80.0))
            # no synapses: the CUDA target builds a group for it, the C target none, which
            # must not change the random numbers of the groups after it
            pynn_gpu.Projection(source, cells, pynn_gpu.FixedProbabilityConnector(
                0.0, rng=pynn_gpu.NativeRNG(seed=3)), pynn_gpu.StaticSynapse(weight=0.1))
            pynn_gpu.Projection(source, cells, pynn_gpu.AllToAllConnector(),
                                pynn_gpu.TsodyksMarkramSynapse(weight=0.25, U=0.3,
                                                               tau_rec=80.0, tau_facil=40.0))
            pynn_gpu.Projection(source, cells, pynn_gpu.AllToAllConnector(),
                                pynn_gpu.SimpleStochasticSynapse(weight=0.125, p=0.5))
            pynn_gpu.Projection(source, cells, pynn_gpu.AllToAllConnector(),
                                pynn_gpu.MultiQuantalSynapse(weight=0.0625, n=4, U=0.4))
            cells.record(["spikes", "v"])
            pynn_gpu.run(100.0)
            segment = cells.get_data().segments[0]
            return segment.filter(name="v")[0].magnitude.copy()
        finally:
            pynn_gpu.end()

    cpu, gpu = run("cpu"), run("cuda")
    assert np.ptp(cpu) > 1.0
    # weights are sums of powers of two but w_eff is not: the order of atomic additions
    # into one ring slot may change the last bit on a real GPU
    np.testing.assert_allclose(cpu, gpu, rtol=0, atol=1e-9)


def test_simple_stochastic_synapse_transmits_with_probability_p(sim):
    from scipy import stats
    n_cells, times = 200, (np.arange(1, 51) * 4.0).tolist()
    counts = {}
    for p in (0.0, 0.3, 1.0):
        cells = sim.Population(n_cells, sim.IF_curr_delta(tau_m=1e9, v_thresh=1e6,
                                                          v_rest=0.0, v_reset=0.0))
        cells.initialize(v=0.0)
        source = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
        sim.Projection(source, cells, sim.AllToAllConnector(),
                       sim.SimpleStochasticSynapse(weight=1.0, p=p), receptor_type="excitatory")
        cells.record("v")
        sim.run(210.0)
        v = cells.get_data().segments[-1].filter(name="v")[0].magnitude
        counts[p] = int(np.round(v[-1]).sum())      # each transmitted spike adds 1 mV
        sim.reset()
    total = n_cells * len(times)
    assert counts[0.0] == 0 and counts[1.0] == total
    assert stats.binomtest(counts[0.3], total, 0.3).pvalue > 1e-3


def _stochastic_jumps(connections, p=0.5):
    """v of IF_curr_delta cells (no leak, no threshold) fed by SimpleStochasticSynapses from
    a FromListConnector list (pre, post, weight): each transmitted spike adds its weight."""
    import pynn_gpu as sim
    sim.setup(timestep=0.1, target="cpu", rng_seed=5)
    try:
        times = (np.arange(1, 101) * 2.0).tolist()
        cells = sim.Population(4, sim.IF_curr_delta(tau_m=1e9, v_thresh=1e6, v_rest=0.0,
                                                    v_reset=0.0))
        cells.initialize(v=0.0)
        sources = sim.Population(3, sim.SpikeSourceArray(spike_times=times))
        sim.Projection(sources, cells, sim.FromListConnector(connections,
                                                             column_names=["weight"]),
                       sim.SimpleStochasticSynapse(p=p, delay=1.0), receptor_type="excitatory")
        cells.record("v")
        sim.run(205.0)
        return cells.get_data().segments[-1].filter(name="v")[0].magnitude.copy()
    finally:
        sim.end()


def test_a_synapse_draws_its_numbers_wherever_it_is_stored():
    """A stochastic synapse's random numbers are those of its neuron pair (and its ordinal
    among the pair's synapses), not of its place in the arrays: the same synapses created
    in another order transmit the same spikes."""
    connections = [(pre, post, 1.0 + pre) for pre in range(3) for post in range(4)]
    shuffled = [connections[i] for i in np.random.default_rng(1).permutation(len(connections))]
    np.testing.assert_array_equal(_stochastic_jumps(connections), _stochastic_jumps(shuffled))


def test_the_synapses_of_one_pair_draw_independently():
    """Two synapses between one pair (weights 1 and 2): with numbers of their own, each
    arrival transmits 0, 1, 2 or 3 mV in about equal shares (the same numbers would give
    only 0 or 3)."""
    v = _stochastic_jumps([(0, 0, 1.0), (0, 0, 2.0)])[:, 0]
    jumps = np.round(np.diff(v)).astype(int)
    assert set(jumps.tolist()) <= {0, 1, 2, 3}
    counts = np.bincount(jumps, minlength=4)     # 100 arrivals: about 25 of each of 1, 2, 3
    assert min(counts[1], counts[2], counts[3]) > 10


@pytest.mark.parametrize("synapse_class,n_sites", [("MultiQuantalSynapse", 5),
                                                   ("StochasticTsodyksMarkramSynapse", 1)])
def test_quantal_release_matches_its_expectation(sim, synapse_class, n_sites):
    """
    With tau_facil = 0, u = U at every spike and the expected number of available sites
    before spike k+1 is m' = m (1 - U)(1 - r) + n r, r = 1 - exp(-h / tau_rec), m_1 = n;
    the expected release at spike k is U m_k. 400 synapses x 20 spikes release a few
    thousand quanta: the 6 % tolerance is about 4.5 standard deviations.
    """
    U, tau_rec, period, n_spikes, n_cells = 0.3, 50.0, 10.0, 20, 400
    times = (np.arange(1, n_spikes + 1) * period).tolist()
    extra = {"n": n_sites} if synapse_class == "MultiQuantalSynapse" else {}
    synapse = getattr(sim, synapse_class)(weight=1.0, U=U, tau_rec=tau_rec, **extra)
    cells = sim.Population(n_cells, sim.IF_curr_delta(tau_m=1e9, v_thresh=1e6, v_rest=0.0,
                                                      v_reset=0.0))
    cells.initialize(v=0.0)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
    projection = sim.Projection(source, cells, sim.AllToAllConnector(), synapse,
                                receptor_type="excitatory")
    cells.record("v")
    sim.run(n_spikes * period + 10.0)
    released = np.round(cells.get_data().segments[0].filter(name="v")[0].magnitude[-1]).sum()
    r = 1 - np.exp(-period / tau_rec)
    m, expected = float(n_sites), 0.0
    for _ in range(n_spikes):
        expected += U * m
        m = m * (1 - U) * (1 - r) + n_sites * r
    assert released == pytest.approx(expected * n_cells, rel=0.06)
    available = np.array(projection.get("a", format="list", with_address=False))
    assert available.min() >= 0 and available.max() <= n_sites


def test_the_number_of_release_sites_is_bounded_by_the_draws_of_a_synapse(sim):
    """A spike draws up to 2n numbers, and a synapse has 2**16 per spike (the next ones are
    its multapse partner's: with n = 65536 two synapses of one pair released correlated
    counts): n > 2**15 is refused before anything is built, at creation and in set(); the
    largest n is accepted."""
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    cell = sim.Population(1, sim.IF_curr_exp())
    for n in (2**15 + 1, 2**31, 3e9):
        with pytest.raises(errors.InvalidParameterValueError,
                           match=r"^n must be in \[1, 32768\] \(got "):
            sim.Projection(source, cell, sim.OneToOneConnector(),
                           sim.MultiQuantalSynapse(n=n, weight=1.0))
    assert sim.simulator.state.projections == []
    projection = sim.Projection(source, cell, sim.OneToOneConnector(),
                                sim.MultiQuantalSynapse(n=2**15, weight=1.0))
    with pytest.raises(errors.InvalidParameterValueError,
                       match=r"^n must be in \[1, 32768\] \(got "):
        projection.set(n=2**15 + 1)
    assert projection.get("n", format="list", with_address=False) == [2**15]
    sim.run(2.0)
    released = projection.get("a", format="list", with_address=False)[0]
    assert 0 < 2**15 - released < 2**15      # U = 0.5 of 32768 available sites released
