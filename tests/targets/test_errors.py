"""
Bad input gets a clear error naming the parameter and its allowed range, before anything is
compiled or simulated, and data recorded before the error stay retrievable.
"""

import re
import warnings

import numpy as np
import pytest
from pyNN import errors
from pyNN.random import NumpyRNG, RandomDistribution


def _nothing_built(sim):
    return sim.simulator.state.engine.program is None


@pytest.mark.parametrize("name,value,message", [
    ("tau_m", 0.0, "tau_m must be > 0"),
    ("tau_m", -5.0, "tau_m must be > 0"),
    ("cm", -1.0, "cm must be > 0"),
    ("tau_syn_E", 0.0, "tau_syn_E must be > 0"),
    ("tau_syn_I", -2.0, "tau_syn_I must be > 0"),
    ("tau_refrac", -0.1, "tau_refrac must be >= 0"),
])
def test_invalid_neuron_parameters(sim, name, value, message):
    with pytest.raises(errors.InvalidParameterValueError, match=message):
        sim.Population(3, sim.IF_cond_exp(**{name: value}))
    cells = sim.Population(3, sim.IF_curr_exp())
    with pytest.raises(errors.InvalidParameterValueError, match=message):
        cells.set(**{name: np.array([1.0, value, 1.0])})
    assert cells.get(name, simplify=False)[1] != value, "a rejected set() must change nothing"
    assert _nothing_built(sim)


def test_negative_rate_and_unsorted_spike_times(sim):
    with pytest.raises(errors.InvalidParameterValueError, match="rate must be >= 0"):
        sim.Population(2, sim.SpikeSourcePoisson(rate=-1.0))
    with pytest.raises(errors.InvalidParameterValueError, match="sorted in increasing order"):
        sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 2.0]))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0, 2.0]))
    with pytest.raises(errors.InvalidParameterValueError, match="spike_times"):
        source.set(spike_times=[3.0, -1.0])
    assert _nothing_built(sim)


def test_unknown_parameter_names(sim):
    with pytest.raises(errors.NonExistentParameterError):
        sim.IF_curr_exp(tau_x=3.0)
    cells = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.NonExistentParameterError):
        cells.set(v_threshold=-50.0)
    with pytest.raises(errors.NonExistentParameterError):
        cells.get("foo")


@pytest.mark.parametrize("celltype,receptor,weight", [
    ("IF_curr_exp", "excitatory", -0.1),
    ("IF_curr_exp", "inhibitory", 0.1),
    ("IF_cond_exp", "excitatory", -0.1),
    ("IF_cond_exp", "inhibitory", -0.1),
])
def test_weight_sign_rules(sim, celltype, receptor, weight):
    pre = sim.Population(2, sim.SpikeSourcePoisson(rate=10.0))
    post = sim.Population(2, getattr(sim, celltype)())
    with pytest.raises(errors.ConnectionError, match="[Ww]eights must be"):
        sim.Projection(pre, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=weight),
                       receptor_type=receptor)
    assert _nothing_built(sim)


def test_delays_outside_timestep_to_max_delay(target):
    import pynn_gpu as sim
    sim.setup(timestep=0.1, max_delay=2.0, target=target)
    try:
        pre = sim.Population(2, sim.SpikeSourcePoisson(rate=10.0))
        post = sim.Population(2, sim.IF_curr_exp())
        for delay in (0.05, 2.5):
            with pytest.raises(errors.ConnectionError, match=r"delay must be in \[0.1, 2\]"):
                sim.Projection(pre, post, sim.AllToAllConnector(),
                               sim.StaticSynapse(weight=0.1, delay=delay))
        prj = sim.Projection(pre, post, sim.AllToAllConnector(),
                             sim.StaticSynapse(weight=0.1, delay=1.0))
        with pytest.raises(errors.ConnectionError, match="delay must be in"):
            prj.set(delay=3.0)
        assert np.all(prj.get("delay", format="array") == 1.0)
        assert _nothing_built(sim)
    finally:
        sim.end()


def test_a_delay_is_checked_on_the_step_grid_and_within_32_bit_steps(target):
    """A delay that rounds to max_delay is kept (NEST's rule); one of 2**31 steps or more
    is refused with max_delay "auto" too (its int32 step count wrapped round to a negative
    delay, delivered at once), whichever way it is given."""
    import pynn_gpu as sim
    sim.setup(timestep=0.1, max_delay=5.0, target=target)
    try:
        pre = sim.Population(2, sim.SpikeSourcePoisson(rate=10.0))
        post = sim.Population(2, sim.IF_curr_exp())
        prj = sim.Projection(pre, post, sim.AllToAllConnector(),
                             sim.StaticSynapse(weight=0.1, delay=5.04))
        assert np.allclose(prj.get("delay", format="array"), 5.0)
        with pytest.raises(errors.ConnectionError, match=r"\[0.1, 5\] ms .* got 5.06"):
            prj.set(delay=5.06)
    finally:
        sim.end()
    sim.setup(timestep=0.1, target=target)
    try:
        pre = sim.Population(2, sim.SpikeSourcePoisson(rate=10.0))
        post = sim.Population(2, sim.IF_curr_exp())
        huge = 3e8          # ms: 3e9 steps
        with pytest.raises(errors.ConnectionError, match="delay must be in"):
            sim.Projection(pre, post, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=0.1, delay=huge))
        prj = sim.Projection(pre, post, sim.AllToAllConnector(),
                             sim.StaticSynapse(weight=0.1, delay=1.0))
        with pytest.raises(errors.ConnectionError, match="delay must be in"):
            prj.set(delay=huge)
        with pytest.raises(errors.ConnectionError, match="delay must be in"):
            prj[0].delay = huge
        with pytest.raises(errors.ConnectionError, match="delay must be in"):
            sim.Projection(pre, post, sim.FixedProbabilityConnector(0.5, rng=sim.NativeRNG(1)),
                           sim.StaticSynapse(weight=0.1, delay=huge))
        assert np.all(prj.get("delay", format="array") == 1.0)
        assert sim.get_max_delay() == 1.0
    finally:
        sim.end()


def test_setup_arguments_are_checked():
    import pynn_gpu as sim
    with pytest.raises(errors.InvalidParameterValueError, match="precision"):
        sim.setup(precision="half")
    with pytest.raises(errors.InvalidParameterValueError, match="target"):
        sim.setup(target="tpu")
    with pytest.raises(errors.InvalidParameterValueError, match="timestep"):
        sim.setup(timestep=0.0)


@pytest.mark.parametrize("value", ["abc", "-2", "nan", "inf"])
def test_a_recording_budget_that_is_not_a_number_of_megabytes_is_refused(value, monkeypatch):
    import pynn_gpu as sim
    monkeypatch.setenv("PYNN_GPU_RECORD_BUFFER_MB", value)
    with pytest.raises(ValueError, match="PYNN_GPU_RECORD_BUFFER_MB must be a number of"):
        sim.setup(timestep=0.1, target="cpu")
    monkeypatch.setenv("PYNN_GPU_RECORD_BUFFER_MB", "0.5")
    sim.setup(timestep=0.1, target="cpu")
    assert sim.simulator.state.engine.record_budget == 2 ** 19
    sim.end()


def test_a_failed_first_build_can_be_corrected(sim, target):
    """A build that fails (a format the projection cannot have) changes nothing: once the
    cause is corrected, the network runs as one that never failed."""
    def network():
        source = sim.Population(10, sim.SpikeSourcePoisson(rate=50.0))
        cells = sim.Population(10, sim.IF_curr_exp())
        drawn = sim.RandomDistribution("uniform", (0.5, 1.5), rng=sim.NumpyRNG(seed=1))
        projection = sim.Projection(source, cells, sim.AllToAllConnector(),
                                    sim.StaticSynapse(weight=drawn, delay=1.0),
                                    connectivity_format="bitmask")
        cells.record("v")
        return cells, projection
    cells, projection = network()
    with pytest.raises(errors.ConnectionError, match="bitmask"):
        sim.run(10.0)
    projection.connectivity_format = "ragged"
    sim.run(10.0)
    v = cells.get_data().segments[0].analogsignals[0].magnitude
    sim.end()
    sim.setup(timestep=0.1, target=target)
    cells, projection = network()
    projection.connectivity_format = "ragged"
    sim.run(10.0)
    np.testing.assert_array_equal(cells.get_data().segments[0].analogsignals[0].magnitude, v)


def test_recorded_data_survive_a_failed_call(sim):
    cells = sim.Population(4, sim.IF_curr_exp(i_offset=1.0))
    cells.record(["spikes", "v"])
    sim.run(100.0)
    before = cells.get_data().segments[0]
    with pytest.raises(errors.InvalidParameterValueError):
        cells.set(cm=-1.0)
    with pytest.raises(errors.ConnectionError):
        sim.Projection(cells, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=-1.0),
                       receptor_type="excitatory")
    after = cells.get_data().segments[0]
    for a, b in zip(before.spiketrains, after.spiketrains):
        np.testing.assert_array_equal(a.magnitude, b.magnitude)
    sim.run(100.0)
    extended = cells.get_data().segments[0]
    assert extended.filter(name="v")[0].shape[0] == 2001
    assert len(extended.spiketrains[0]) > len(before.spiketrains[0])



@pytest.mark.parametrize("synapse", ["StaticSynapse", "TsodyksMarkramSynapse"])
@pytest.mark.parametrize("receptor_type", [None, "excitatory"])
def test_a_projection_onto_spike_sources_is_refused(sim, synapse, receptor_type):
    cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
    sources = sim.Population(3, sim.SpikeSourcePoisson(rate=10.0), label="noise")
    for post in (sources, sources[1:], sim.Assembly(cells, sources)):
        with pytest.raises(errors.ConnectionError,
                           match=r"onto noise \(SpikeSourcePoisson\): it has no receptors "
                                 r"\(spike sources"):
            sim.Projection(cells, post, sim.AllToAllConnector(),
                           getattr(sim, synapse)(weight=0.1, delay=1.0),
                           receptor_type=receptor_type)
    assert sim.simulator.state.projections == []
    assert _nothing_built(sim)
    sim.Projection(sources, cells, sim.AllToAllConnector(),      # the other way round: fine
                   getattr(sim, synapse)(weight=0.1, delay=1.0))


def test_recorded_data_and_network_survive_a_refused_drive_or_projection(sim):
    cells = sim.Population(3, sim.IF_curr_exp(i_offset=1.0), label="cells")
    sources = sim.Population(2, sim.SpikeSourcePoisson(rate=50.0), label="noise")
    sim.Projection(sources, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5))
    drive = sim.PoissonDrive(rate=1000.0, weight=0.1)
    drive.inject_into(cells)
    cells.record(["spikes", "v"])
    sim.run(20.0)
    before = cells.get_data().segments[0]
    network = (list(sim.simulator.state.projections), list(sim.simulator.state.current_sources))
    with pytest.raises(errors.ConnectionError, match="it has no receptors"):
        sim.Projection(cells, sources, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
    with pytest.raises(errors.ConnectionError, match="weight=-0.1 .*'excitatory' of cells"):
        sim.PoissonDrive(rate=1000.0, weight=-0.1).inject_into(cells)
    with pytest.raises(errors.ConnectionError, match="weight=-0.2 .*'excitatory' of cells"):
        drive.set_parameters(weight=-0.2)
    assert (sim.simulator.state.projections, sim.simulator.state.current_sources) == network
    assert drive.get_parameters()["weight"] == 0.1
    after = cells.get_data().segments[0]
    assert after.filter(name="v")[0].shape[0] == 201            # the 20 ms recorded
    np.testing.assert_array_equal(after.filter(name="v")[0].magnitude,
                                  before.filter(name="v")[0].magnitude)
    for a, b in zip(before.spiketrains, after.spiketrains):
        np.testing.assert_array_equal(a.magnitude, b.magnitude)
    sim.run(20.0)
    extended = cells.get_data().segments[0]
    assert sim.get_current_time() == pytest.approx(40.0)
    assert extended.filter(name="v")[0].shape[0] == 401
    np.testing.assert_array_equal(extended.filter(name="v")[0].magnitude[:201],
                                  before.filter(name="v")[0].magnitude)

def test_rejected_cross_parameter_set_changes_nothing(sim):
    cells = sim.Population(2, sim.EIF_cond_exp_isfa_ista())
    v_spike = cells.get("v_spike", simplify=False).copy()
    with pytest.raises(errors.InvalidParameterValueError, match="v_spike must be >= v_thresh"):
        cells.set(v_spike=-80.0)          # below v_thresh: refused by the model's derive()
    np.testing.assert_array_equal(cells.get("v_spike", simplify=False), v_spike)


@pytest.mark.parametrize("celltype,name,value", [
    ("IF_curr_exp", "v_thresh", np.nan), ("IF_curr_exp", "tau_refrac", np.inf),
    ("IF_curr_exp", "i_offset", -np.inf), ("IF_cond_exp", "tau_m", np.inf),
    ("IF_cond_exp", "e_rev_E", np.nan), ("Izhikevich", "d", np.inf),
    ("EIF_cond_exp_isfa_ista", "a", np.nan), ("SpikeSourcePoisson", "rate", np.inf),
])
def test_parameters_must_be_numbers(sim, celltype, name, value):
    """NaN, and infinity where it means nothing, are refused with the parameter's name."""
    with pytest.raises(errors.InvalidParameterValueError, match=f"{name} must be a finite"):
        sim.Population(2, getattr(sim, celltype)(**{name: value}))
    cells = sim.Population(2, getattr(sim, celltype)())
    with pytest.raises(errors.InvalidParameterValueError, match=name):
        cells.set(**{name: value})
    assert _nothing_built(sim)


@pytest.mark.parametrize("value,message", [
    (-1.0, r"g_leak must be such that tau_m = 1e3 \* 0.2 / g_leak is > 0 \(got g_leak = -1,"),
    (0.0, r"g_leak must be such that tau_m = .* is a finite number \(got g_leak = 0,"),
    (np.inf, r"g_leak must be such that tau_m = .* is > 0 \(got g_leak = inf,"),
    (np.nan, r"g_leak must be such that tau_m = .* is a finite number \(got g_leak = nan,"),
])
def test_a_translated_parameter_is_reported_under_the_name_given(cpu_sim, value, message):
    """IF_facets_hardware1's g_leak becomes tau_m = 1e3 * 0.2 / g_leak: a bad g_leak is
    reported as g_leak (the user gave no tau_m), with no numpy warning, at creation, in set()
    and drawn from a distribution."""
    sim = cpu_sim
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(errors.InvalidParameterValueError, match=message):
            sim.Population(2, sim.IF_facets_hardware1(g_leak=value))
        cells = sim.Population(3, sim.IF_facets_hardware1(g_leak=[20.0, 30.0, 40.0]))
        with pytest.raises(errors.InvalidParameterValueError, match=message):
            cells.set(g_leak=np.array([25.0, value, 25.0]))
        with pytest.raises(errors.InvalidParameterValueError, match=message):
            cells[1:].set(g_leak=[25.0, value])
    np.testing.assert_allclose(cells.get("g_leak", simplify=False), [20.0, 30.0, 40.0])
    below_zero = RandomDistribution("normal", (-10.0, 1.0), rng=NumpyRNG(seed=3))
    with pytest.raises(errors.InvalidParameterValueError,
                       match=r"g_leak must be .* > 0 \(got g_leak = -"):
        cells.set(g_leak=below_zero)
    with pytest.raises(errors.InvalidParameterValueError, match="tau_m must be > 0"):
        sim.Population(2, sim.IF_cond_exp(tau_m=-1.0))   # the same name: as before
    assert _nothing_built(sim)


def test_infinity_where_it_means_never(sim):
    """An infinite threshold is never reached; a source that starts at infinity (or later
    than any step count holds) never fires; a refractory period longer than the counter
    holds lasts for ever."""
    cells = sim.Population(1, sim.IF_curr_exp(v_thresh=np.inf, i_offset=2.0))
    # AdEx counts one step more (NEST's way): the longest period must not wrap round
    once = [sim.Population(1, sim.IF_curr_exp(i_offset=2.0, tau_refrac=1e300)),
            sim.Population(1, sim.EIF_cond_exp_isfa_ista(i_offset=2.0, tau_refrac=1e9)),
            sim.Population(1, sim.PointNeuron(sim.AdExp(i_offset=2.0, tau_refrac=1e9),
                                              AMPA=sim.ExpPSR()))]
    late = [sim.Population(1, sim.SpikeSourcePoisson(rate=500.0, start=np.inf)),
            sim.Population(1, sim.SpikeSourcePoisson(rate=500.0, start=1e20)),
            sim.Population(1, sim.SpikeSourceGamma(alpha=2, beta=500.0, start=1e20))]
    for population in [cells] + once + late:
        population.record("spikes")
    sim.run(100.0)
    counts = [len(p.get_data().segments[0].spiketrains[0]) for p in [cells] + once + late]
    assert counts == [0, 1, 1, 1, 0, 0, 0]


def test_a_dead_time_longer_than_its_counter_lasts_for_ever(sim):
    """SpikeSourcePoissonRefractory's dead count is an int32_t: 2**31 + 100 steps wrapped
    round to a negative count, and with rate * tau_refrac = 1000 the source fired in every
    step. Clipped, each neuron fires at most once."""
    dt = sim.get_time_step()
    tau_refrac = (2**31 + 100) * dt
    sources = sim.Population(200, sim.SpikeSourcePoissonRefractory(
        rate=1000.0 / tau_refrac, tau_refrac=tau_refrac))
    sources.record("spikes")
    sim.run(20.0)
    counts = [len(train) for train in sources.get_data().segments[0].spiketrains]
    assert max(counts) == 1 and sum(counts) > 50      # p = 1/101 per step: about 180


def test_initial_values_are_checked(sim):
    cells = sim.Population(3, sim.IF_curr_exp())
    with pytest.raises(errors.InvalidParameterValueError, match="initial value of v"):
        cells.initialize(v=np.nan)
    for refractory in (-1, 0.5, 2 ** 40):
        with pytest.raises(errors.InvalidParameterValueError,
                           match="refractory must be a whole number from 0"):
            cells.initialize(refractory=[0, refractory, 0])
    cells.initialize(refractory=[0, 5, 0])


def test_spike_times_must_be_finite(sim):
    for times in ([np.nan, 5.0], [5.0, np.inf]):
        with pytest.raises(errors.InvalidParameterValueError, match="spike_times must be"):
            sim.Population(1, sim.SpikeSourceArray(spike_times=times))


def test_synapse_values_must_be_finite(sim):
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    post = sim.Population(1, sim.IF_curr_exp())

    def stdp(weight=0.5, A_plus=0.01, w_max=1.0):
        return sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(A_plus=A_plus),
            weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=w_max),
            weight=weight, delay=1.0)
    for synapse, name in [(stdp(A_plus=np.nan), "A_plus"), (stdp(w_max=np.nan), "w_max"),
                          (stdp(weight=np.inf), "weight"),
                          (sim.StaticSynapse(weight=np.inf), "weight"),
                          (sim.TsodyksMarkramSynapse(tau_rec=np.inf), "tau_rec")]:
        with pytest.raises(errors.InvalidParameterValueError, match=f"{name} must be a finite"):
            sim.Projection(pre, post, sim.AllToAllConnector(), synapse)
    projection = sim.Projection(pre, post, sim.AllToAllConnector(), stdp())
    with pytest.raises(errors.InvalidParameterValueError, match="weight must be a finite"):
        projection.set(weight=np.inf)
    with pytest.raises(errors.InvalidParameterValueError, match="initial value of"):
        projection.initialize(**{next(iter(projection._syn_state)): np.nan})
    assert projection.get("weight", format="list") == [(0, 0, 0.5)]


@pytest.mark.parametrize("arguments,name", [
    (dict(timestep=np.inf), "timestep"), (dict(max_delay=np.nan), "max_delay"),
    (dict(min_delay=np.nan), "min_delay"), (dict(min_delay=1.0, max_delay=0.5), "min_delay"),
    (dict(rng_seed=2 ** 32), "2\\*\\*32 - 1"), (dict(rng_seed=True), "rng_seed"),
    (dict(rng_seed=-1), "rng_seed"), (dict(threads="x"), "threads"),
    (dict(threads=1.5), "threads"), (dict(max_delay=1e9), "32-bit step counts"),
    (dict(threads=2**32 + 1), "threads must be a whole number from 0 .* to 4096"),
    (dict(threads=10**9), "threads"), (dict(target="CPU"), "^target must be one of"),
])
def test_setup_refuses_what_it_cannot_use(arguments, name):
    import pynn_gpu as sim
    with pytest.raises(errors.InvalidParameterValueError, match=name):
        sim.setup(**{"timestep": 0.1, "target": "cpu", **arguments})
    sim.setup(timestep=0.1, target="cpu", rng_seed=np.int64(5), threads=np.int64(1))
    sim.end()


def test_environment_settings_are_checked_naming_the_variable(monkeypatch, emulate):
    """$PYNN_GPU_TARGET, $PYNN_GPU_DEVICE and $PYNN_GPU_NVCC: a bad value is refused naming
    the variable (a device index out of range or not a number ran on the C target without
    a word under "auto"; a missing nvcc was replaced by another one); blank is unset."""
    import pynn_gpu as sim
    from pynn_gpu.targets import resolve_target_name
    monkeypatch.setenv("PYNN_GPU_TARGET", "GPU")
    with pytest.raises(errors.InvalidParameterValueError, match=r"^\$PYNN_GPU_TARGET must"):
        sim.setup(timestep=0.1)
    monkeypatch.setenv("PYNN_GPU_TARGET", " ")
    emulate()                               # one CUDA device, emulated
    for value, message in (("abc", "must be the index of a CUDA device"),
                           ("-1", "must be the index of a CUDA device"),
                           ("1", "is 1, but there is 1 CUDA device here")):
        monkeypatch.setenv("PYNN_GPU_DEVICE", value)
        for target in ("auto", "cuda"):
            with pytest.raises(errors.InvalidParameterValueError,
                               match=rf"\$PYNN_GPU_DEVICE .*{message}"):
                resolve_target_name(target)
    for value in ("", "0"):
        monkeypatch.setenv("PYNN_GPU_DEVICE", value)
        assert resolve_target_name("auto") == "cuda"
    assert resolve_target_name("cpu") == "cpu"


def test_an_explicit_nvcc_that_is_not_there_is_refused(monkeypatch, tmp_path):
    from pynn_gpu.targets import cuda
    monkeypatch.setenv("PYNN_GPU_NVCC", str(tmp_path / "cuda-12.9" / "bin" / "nvcc"))
    with pytest.raises(errors.InvalidParameterValueError,
                       match=r"\$PYNN_GPU_NVCC is .*cuda-12.9.*not an executable file"):
        cuda.find_nvcc()
    monkeypatch.setenv("PYNN_GPU_NVCC", str(tmp_path))          # a directory
    with pytest.raises(errors.InvalidParameterValueError, match="not an executable file"):
        cuda.find_nvcc()
    monkeypatch.setenv("PYNN_GPU_NVCC", "  ")
    cuda.find_nvcc()        # unset: PATH or the toolkit's (None without one)


def test_the_largest_seed_serves_every_generator():
    """rng_seed up to 2**32 - 1: the seed of NativeRNG() and of the builders' own draws."""
    import pynn_gpu as sim
    sim.setup(timestep=0.1, target="cpu", rng_seed=2 ** 32 - 1)
    try:
        cells = sim.Population(20, sim.SpikeSourcePoisson(rate=500.0))
        targets = sim.Population(20, sim.IF_curr_exp())
        for rng in (sim.NativeRNG(), None):
            connector = sim.FixedProbabilityConnector(0.5, **({"rng": rng} if rng else {}))
            sim.Projection(cells, targets, connector, sim.StaticSynapse(weight=0.1))
        cells.record("spikes")
        sim.run(10.0)
        assert cells.get_data().segments[0].spiketrains[0].size > 0
    finally:
        sim.end()


def test_a_refused_sampling_interval_records_nothing(sim):
    cells = sim.Population(2, sim.IF_curr_exp())
    for interval in (0.05, -0.1, "a"):
        with pytest.raises(errors.InvalidParameterValueError, match="sampling_interval"):
            cells.record("v", sampling_interval=interval)
    assert not cells.recorder.recorded_ids("v")
    cells.record("v", sampling_interval=0.2)
    sim.run(1.0)
    assert cells.get_data().segments[0].analogsignals[0].shape == (6, 2)


def test_a_refused_population_leaves_nothing_behind(sim):
    """A Population refused for a bad parameter records nothing: reset(), runs and the
    data recorded before go on as if it had never been asked for."""
    cells = sim.Population(3, sim.IF_curr_exp(i_offset=1.0))
    cells.record("v")
    sim.run(5.0)
    with pytest.raises(errors.InvalidParameterValueError, match="tau_m"):
        sim.Population(2, sim.IF_curr_exp(tau_m=-1.0))
    sim.reset()
    sim.run(5.0)
    segments = cells.get_data().segments
    assert len(segments) == 2
    np.testing.assert_array_equal(segments[0].analogsignals[0].magnitude,
                                  segments[1].analogsignals[0].magnitude)


def test_reset_after_a_failed_rebuild(sim):
    """A rebuild that fails leaves the engine as it was: reset() and a corrected run()
    work, and the data recorded before are kept."""
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    cells.record("v")
    sim.run(2.0)
    source = sim.Population(10, sim.SpikeSourcePoisson(rate=50.0))
    drawn = sim.RandomDistribution("uniform", (0.5, 1.5), rng=sim.NumpyRNG(seed=1))
    projection = sim.Projection(source, cells, sim.AllToAllConnector(),
                                sim.StaticSynapse(weight=drawn, delay=1.0),
                                connectivity_format="bitmask")
    with pytest.raises(errors.ConnectionError, match="bitmask"):
        sim.run(2.0)
    sim.reset()
    projection.connectivity_format = "ragged"
    sim.run(2.0)
    segments = cells.get_data().segments
    assert [s.analogsignals[0].shape[0] for s in segments] == [21, 21]


def test_nothing_runs_without_setup():
    import pynn_gpu as sim
    sim.setup(timestep=0.1, target="cpu")
    sim.end()
    for action, call in (("run()", lambda: sim.run(1.0)),
                         ("run_until()", lambda: sim.run_until(1.0)),
                         ("Population()", lambda: sim.Population(2, sim.IF_curr_exp()))):
        with pytest.raises(RuntimeError, match=re.escape(f"{action} needs setup() first")):
            call()
