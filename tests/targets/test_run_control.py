"""run / run_until / run_for / reset, continuation across runs, and changes between runs."""

import numpy as np
import pytest
from pyNN.random import NumpyRNG, RandomDistribution
from pyNN.recording import get_io


def _network(sim, seed=42):
    """A small recurrent network with Poisson drive, heterogeneous delays and weights."""
    rng = NumpyRNG(seed=seed)
    cells = sim.Population(60, sim.IF_cond_exp(tau_refrac=2.0), label="cells")
    cells.initialize(v=RandomDistribution("uniform", low=-65.0, high=-55.0, rng=rng))
    drive = sim.Population(20, sim.SpikeSourcePoisson(rate=80.0), label="drive")
    sim.Projection(drive, cells, sim.FixedProbabilityConnector(0.3, rng=rng),
                   sim.StaticSynapse(weight=0.02, delay=RandomDistribution(
                       "uniform", low=0.1, high=3.0, rng=NumpyRNG(seed=seed + 1))),
                   receptor_type="excitatory")
    sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                   sim.StaticSynapse(weight=0.005, delay=1.0), receptor_type="inhibitory")
    cells.record(["spikes", "v", "gsyn_exc"])
    return cells


def _spike_times(segment):
    return [np.asarray(st.magnitude) for st in segment.spiketrains]


def test_several_runs_equal_one_long_run(sim, target):
    cells = _network(sim)
    sim.run(200.0)
    long_run = cells.get_data().segments[0]
    sim.end()

    sim.setup(timestep=0.1, target=target)
    cells = _network(sim)
    sim.run(50.0)
    sim.run_until(120.0)
    sim.run_for(30.0)
    sim.run(50.0)
    assert sim.get_current_time() == pytest.approx(200.0)
    pieces = cells.get_data().segments[0]
    assert sum(len(t) for t in _spike_times(long_run)) > 20
    for a, b in zip(_spike_times(long_run), _spike_times(pieces)):
        np.testing.assert_array_equal(a, b)
    for name in ("v", "gsyn_exc"):
        np.testing.assert_array_equal(long_run.filter(name=name)[0].magnitude,
                                      pieces.filter(name=name)[0].magnitude)


def test_reset_repeats_the_simulation_in_a_new_segment(sim):
    cells = _network(sim)
    sim.run(100.0)
    sim.reset()
    assert sim.get_current_time() == 0.0
    sim.run(100.0)
    block = cells.get_data()
    assert len(block.segments) == 2
    first, second = block.segments
    assert sum(len(t) for t in _spike_times(first)) > 5
    for a, b in zip(_spike_times(first), _spike_times(second)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.filter(name="v")[0].magnitude,
                                  second.filter(name="v")[0].magnitude)


def test_set_and_initialize_between_runs_take_effect_without_recompiling(sim):
    cell = sim.Population(1, sim.IF_curr_exp(i_offset=0.0, v_thresh=100.0))
    cell.record("v")
    sim.run(10.0)
    engine = sim.simulator.state.engine
    compile_time = engine.timings["compile"]
    program = engine.program
    cell.set(i_offset=1.0, tau_m=10.0)
    cell.initialize(v=-70.0)
    sim.run(50.0)
    assert engine.program is program, "parameter change must not rebuild"
    assert engine.timings["compile"] == compile_time
    v = cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    # 50 ms after the change, v approaches v_rest + R I = -65 + 10 mV from -70 mV
    expected = -55.0 + (-70.0 + 55.0) * np.exp(-50.0 / 10.0)
    assert v[-1] == pytest.approx(expected, abs=1e-9)
    assert v[100] == pytest.approx(-65.0)   # before the change nothing moved


def test_reset_restores_initial_values_set_by_initialize(sim):
    cells = sim.Population(3, sim.IF_curr_exp(i_offset=0.5, v_thresh=100.0))
    cells.initialize(v=[-70.0, -60.0, -50.0])
    cells.record("v")
    sim.run(20.0)
    sim.reset()
    sim.run(20.0)
    first, second = cells.get_data().segments
    np.testing.assert_array_equal(first.filter(name="v")[0].magnitude[0], [-70.0, -60.0, -50.0])
    np.testing.assert_array_equal(first.filter(name="v")[0].magnitude,
                                  second.filter(name="v")[0].magnitude)


def test_one_run_is_one_call_into_the_target(sim, monkeypatch):
    cells = _network(sim)
    sim.run(1.0)
    program = sim.simulator.state.engine.program
    calls = []
    original = program.run
    monkeypatch.setattr(program, "run", lambda *a: (calls.append(a), original(*a)))
    pulls = []
    original_pull = program.pull
    monkeypatch.setattr(program, "pull", lambda names: (pulls.append(list(names)),
                                                        original_pull(names)))
    listed = []
    original_list = program.recorded_spikes
    monkeypatch.setattr(program, "recorded_spikes", lambda name, words, n: (
        listed.append(name), original_list(name, words, n))[1])
    sim.run(500.0)
    assert len(calls) == 1 and calls[0][1] == 5000
    # recordings are fetched once per run: the samples in one go, the spikes of each
    # recording population in one more
    assert len([p for p in pulls if not any(n.endswith("_rec_spikes") for n in p)]) == 1
    recording = [g for g in sim.simulator.state.engine.graph.neuron_groups if g.record_spikes]
    assert sorted(listed) == sorted(f"{g.name}_rec_spikes" for g in recording) and listed
    assert cells.get_data().segments[0].spiketrains


def test_state_queries(sim):
    assert sim.get_time_step() == 0.1
    assert sim.get_min_delay() == 0.1
    assert sim.num_processes() == 1 and sim.rank() == 0
    sim.end()
    sim.setup(timestep=0.05, min_delay=0.1, max_delay=4.0, target="cpu")
    assert sim.get_time_step() == 0.05
    assert sim.get_min_delay() == 0.1
    assert sim.get_max_delay() == 4.0


@pytest.mark.parametrize("call,name", [("run", "simtime"), ("run_until", "time_point")])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_run_of_no_finite_length_is_refused_and_changes_nothing(cpu_sim, call, name, value):
    sim = cpu_sim
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    cells.record(["v", "spikes"])
    sim.run(30.0)
    before = cells.get_data().segments[0]
    allowed = ">= 0" if call == "run" else r">= the current time \(30 ms\)"
    with pytest.raises(ValueError, match=f"{name} must be a finite number of ms {allowed}"):
        getattr(sim, call)(value)
    assert sim.get_current_time() == pytest.approx(30.0)
    after = cells.get_data().segments[0]
    np.testing.assert_array_equal(after.filter(name="v")[0].magnitude,
                                  before.filter(name="v")[0].magnitude)
    for a, b in zip(before.spiketrains, after.spiketrains):
        np.testing.assert_array_equal(a.magnitude, b.magnitude)
    sim.run(10.0)
    assert sim.get_current_time() == pytest.approx(40.0)
    assert cells.get_data().segments[0].filter(name="v")[0].shape[0] == 401


def test_a_stop_time_off_the_step_grid_ends_at_the_next_step(sim, caplog):
    """A run always reaches its stop time: off the grid it ends at the next step (said once),
    so PyNN's callback loop, which waits for the stop time, returns, even for callbacks
    less than half a step apart; sums of durations a hair off the grid stay on it."""
    sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    called = []

    def every_four_hundredths(t):
        called.append(t)
        return t + 0.04
    with caplog.at_level("WARNING", logger="PyNN"):
        sim.run(10.04, callbacks=[lambda t: t + 5.0])
        assert sim.get_current_time() == pytest.approx(10.1)
        sim.run(0.5, callbacks=[every_four_hundredths])
    assert sim.get_current_time() == pytest.approx(10.6) and len(called) == 6
    assert caplog.text.count("not a multiple of the time step") == 1
    for _ in range(3):
        sim.run(0.1)        # 10.6 + 0.1 + 0.1 + 0.1 in floating point
    assert sim.simulator.state.step == 109
    sim.run(0.05)
    assert sim.simulator.state.step == 110


def test_callbacks_end_at_a_stop_time_a_hair_past_a_step(cpu_sim):
    """A stop time within ON_GRID of a step boundary ends on it; PyNN's callback loop, which
    waits until the time is within 1e-9 ms of the stop time, is given that step's time
    (it called the callbacks for ever at 10.0 ms)."""
    sim = cpu_sim
    sim.Population(1, sim.IF_curr_exp())
    called = []

    def every_ms(t):
        called.append(t)
        if len(called) > 50:
            raise RuntimeError("the callback loop does not end")
        return t + 1.0
    assert sim.run_until(10.00000005, callbacks=[every_ms]) == 10.0
    assert called == [float(k) for k in range(11)]
    assert sim.run(5.00000005, callbacks=[every_ms]) == 15.0


def test_auto_min_delay_is_the_shortest_connection_delay(cpu_sim):
    sim = cpu_sim
    sim.setup(timestep=0.1, min_delay="auto", target="cpu")
    a, b = sim.Population(3, sim.IF_cond_exp()), sim.Population(4, sim.IF_cond_exp())
    assert sim.get_min_delay() == 0.1                  # no connection yet: the timestep
    sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(delay=0.5))
    assert sim.get_min_delay() == pytest.approx(0.5)
    sim.Projection(b, a, sim.AllToAllConnector(), sim.StaticSynapse(delay=0.3))
    assert sim.get_min_delay() == pytest.approx(0.3)
    # a connection made without a delay gets the timestep, and is then the shortest
    default = sim.Projection(a, a, sim.OneToOneConnector(), sim.StaticSynapse())
    assert set(default.get("delay", format="list", with_address=False)) == {0.1}
    assert sim.get_min_delay() == pytest.approx(0.1)
    sim.setup(timestep=0.1, min_delay=0.2, target="cpu")
    a = sim.Population(2, sim.IF_cond_exp())
    assert sim.get_min_delay() == 0.2 and sim.get_max_delay() == 0.2
    explicit = sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse(delay=1.0))
    fallback = sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse())
    assert sim.get_min_delay() == 0.2 and sim.get_max_delay() == 1.0
    assert set(fallback.get("delay", format="list", with_address=False)) == {0.2}
    assert explicit.get("delay", format="array")[0, 0] == 1.0


def test_an_explicit_min_delay_is_an_upper_bound_of_what_get_min_delay_reports(cpu_sim):
    """A delay shorter than setup's min_delay is accepted (and delivered exactly);
    get_min_delay() then reports it, and get_max_delay() ("auto") is never below it."""
    sim = cpu_sim
    sim.setup(timestep=0.1, min_delay=1.0, target="cpu")
    assert sim.get_min_delay() == 1.0 and sim.get_max_delay() == 1.0
    a = sim.Population(2, sim.IF_cond_exp())
    sim.Projection(a, a, sim.OneToOneConnector(), sim.StaticSynapse(delay=0.5))
    assert sim.get_min_delay() == pytest.approx(0.5)
    assert sim.get_max_delay() == pytest.approx(0.5)


def test_objects_of_a_discarded_network_are_refused(cpu_sim, tmp_path):
    """setup() discards the network, and the new one's cells reuse its cell ids: a current
    injected into an old population went into a new one, and a projection from one made
    every later run() fail."""
    sim = cpu_sim
    old = sim.Population(3, sim.IF_curr_exp(), label="old")
    old.record("v", to_file=str(tmp_path / "old.pkl"))
    sim.run(1.0)
    sim.setup(timestep=0.1, target="cpu")
    # the file asked for is written when the network goes, as end() would
    (segment,) = get_io(str(tmp_path / "old.pkl")).read_block().segments
    assert segment.filter(name="v")[0].shape == (11, 3)
    new = sim.Population(3, sim.IF_curr_exp(), label="new")
    new.record("v")
    for refused in (lambda: sim.DCSource(amplitude=0.5).inject_into(old),
                    lambda: sim.DCSource(amplitude=0.5).inject_into(old[0:2]),
                    lambda: sim.DCSource(amplitude=0.5).inject_into([old[1]]),
                    lambda: old[0].inject(sim.DCSource(amplitude=0.5)),
                    lambda: sim.Projection(old, new, sim.OneToOneConnector()),
                    lambda: sim.Projection(new, old[1:], sim.OneToOneConnector()),
                    lambda: sim.Projection(new + old, new, sim.AllToAllConnector())):
        with pytest.raises(RuntimeError, match="'old' belongs to a network that setup"):
            refused()
    sim.run(10.0)
    v = new.get_data().segments[0].filter(name="v")[0].magnitude
    np.testing.assert_array_equal(v, -65.0)          # nothing reached the new cells


def test_input_in_flight_survives_a_rebuild_that_grows_the_ring_buffer(sim, target):
    def network():
        cell = sim.Population(1, sim.IF_curr_exp(tau_syn_E=1.0, v_thresh=100.0))
        early = sim.Population(1, sim.SpikeSourceArray(spike_times=[9.5]))
        late = sim.Population(1, sim.SpikeSourceArray(spike_times=[30.0]))
        sim.Projection(early, cell, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.0,
                                                                              delay=1.0))
        cell.record("v")
        return cell, late

    cell, late = network()
    sim.Projection(late, cell, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.0, delay=5.0))
    sim.run(40.0)
    reference = cell.get_data().segments[0].filter(name="v")[0].magnitude
    sim.end()

    sim.setup(timestep=0.1, target=target)
    cell, late = network()
    sim.run(10.0)          # the early spike is now in the ring buffer, due at 10.5 ms
    sim.Projection(late, cell, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.0, delay=5.0))
    sim.run(30.0)          # rebuild with a longer ring buffer
    rebuilt = cell.get_data().segments[0].filter(name="v")[0].magnitude
    assert reference[106, 0] > -65.0
    np.testing.assert_array_equal(reference, rebuilt)


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_after_reset_a_projection_made_during_a_run_takes_the_spikes_from_the_start(
        sim, fraction):
    """After reset() every projection carries the spikes from t = 0 (README), also a plastic
    one made after a run, whose synapses read the spike histories: the second segment is the
    run of a network that had it from the start. (The groups kept the step they were made
    at: the spike at 5 ms never reached them with fraction 0, and the postsynaptic spikes
    before 10 ms taught them nothing with fraction 1.)"""
    def network():
        source = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 30.0]))
        cell = sim.Population(1, sim.IF_curr_exp(i_offset=3.0))     # spikes from 5.8 ms
        cell.record("v")
        return source, cell

    def plastic(source, cell):
        return sim.Projection(source, cell, sim.OneToOneConnector(), sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.01,
                                                A_minus=0.012),
            weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=5.0),
            weight=2.0, delay=2.0, dendritic_delay_fraction=fraction))

    from_start = plastic(*network())
    late_source, late_cell = network()
    sim.run(10.0)
    late = plastic(late_source, late_cell)
    sim.run(30.0)
    sim.reset()
    from_start.set(weight=2.0)      # as the late projection: the weight given at creation
    sim.run(40.0)
    traces = [p.post.get_data().segments[1].filter(name="v")[0].magnitude[:, 0]
              for p in (from_start, late)]
    np.testing.assert_array_equal(traces[0], traces[1])
    assert late.get("weight", format="array")[0, 0] == \
        from_start.get("weight", format="array")[0, 0] != 2.0


def test_initialize_after_a_run_changes_only_the_given_cells(sim):
    cells = sim.Population(4, sim.IF_curr_exp(i_offset=0.5, v_thresh=100.0))
    cells.record("v")
    sim.run(10.0)
    cells[1:2].initialize(v=-80.0)
    sim.run(0.1)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    assert v[-1, 1] < -79.0                      # the initialised cell jumped
    np.testing.assert_allclose(v[-1, [0, 2, 3]], v[-2, [0, 2, 3]], atol=0.1)  # others went on
    assert v[-2, 0] > -65.0 + 1.0


def test_long_runs_are_recorded_in_chunks_with_the_same_result(sim, target, monkeypatch):
    from pynn_gpu.engine import Engine
    calls = []
    original = Engine._bind_run_buffers
    monkeypatch.setattr(Engine, "_bind_run_buffers",
                        lambda self, n: (calls.append(n), original(self, n)))

    def run(budget):
        sim.setup(timestep=0.1, target=target)
        cells = _network(sim)
        sim.simulator.state.engine.record_budget = budget
        calls.clear()
        sim.run(123.4)
        segment = cells.get_data().segments[0]
        result = (_spike_times(segment), segment.filter(name="v")[0].magnitude.copy())
        sim.end()
        return result, [n for n in calls if n > 0]     # n = 0: binding at build time

    (whole_spikes, whole_v), whole_calls = run(2 ** 30)
    (chunk_spikes, chunk_v), chunk_calls = run(4000)   # a few dozen steps per chunk
    assert whole_calls == [1234]
    assert len(chunk_calls) > 10 and sum(chunk_calls) == 1234
    for a, b in zip(whole_spikes, chunk_spikes):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole_v, chunk_v)


def _changing_runs(sim, check):
    """Runs of several lengths (recording buffers of other sizes), with new spike times
    and current steps between them (tables of other lengths), a parameter change, cells
    added to a recording (a rebuild) and get_data(); `check` is called after each run."""
    source = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 3.0], [2.0]]))
    cells = sim.Population(4, sim.IF_curr_exp(i_offset=[0.0, 0.2, 0.4, 0.6]))
    sim.Projection(source, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=2.0, delay=0.5))
    step = sim.StepCurrentSource(times=[1.0], amplitudes=[0.5])
    step.inject_into(cells[2:])
    cells.record("spikes")
    cells[0:2].record("v")
    for change in ("", "", "tables", "parameter", "recording", "get_data", ""):
        if change == "tables":
            source[0].spike_times = [5.0, 5.5, 6.0]
            step.set_parameters(times=[5.0, 6.0, 7.0], amplitudes=[0.2, 0.8, 0.1])
        elif change == "parameter":
            cells.set(tau_m=12.0)
        elif change == "recording":
            cells[2:].record("v")
        elif change == "get_data":
            cells.get_data()
        sim.run(1.0 if change else 2.5)
        check()
    segment = cells.get_data().segments[0]
    return ([np.asarray(train.magnitude) for train in segment.spiketrains],
            segment.filter(name="v")[0].magnitude.copy())


def test_runs_bind_only_replaced_arrays_with_the_results_of_binding_all(target,
                                                                       monkeypatch):
    """Between runs the program rebinds only the arrays the engine replaced: after each
    run the target uses exactly the engine's arrays, and the results equal those of
    binding every array before every run."""
    import pynn_gpu
    from pynn_gpu.targets.base import Program

    def uses_the_engines_arrays():
        engine = pynn_gpu.simulator.state.engine
        program, arrays = engine.program, engine.arrays
        if target == "cpu":
            assert list(program._table) == [arrays[name].ctypes.data
                                            for name in program.array_names]
        else:
            assert all(program._host[name] is arrays[name] for name in program.array_names)

    def simulate():
        pynn_gpu.setup(timestep=0.1, target=target)
        try:
            return _changing_runs(pynn_gpu, uses_the_engines_arrays)
        finally:
            pynn_gpu.end()

    spikes, v = simulate()
    monkeypatch.setattr(Program, "_replaced",
                        lambda self, arrays, bound: list(self.array_names))
    all_spikes, all_v = simulate()
    assert sum(len(train) for train in spikes) > 0
    for a, b in zip(spikes, all_spikes):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(v, all_v)
