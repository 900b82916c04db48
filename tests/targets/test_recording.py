"""Recorded data come back as Neo objects exactly as PyNN specifies."""

import neo
import numpy as np
import pytest
import quantities as pq
from pyNN.utility import normalized_filename  # noqa: F401  (PyNN's own helper must import)


def _driven(sim, n=10, label="cells"):
    cells = sim.Population(n, sim.IF_cond_exp(i_offset=np.linspace(0.0, 2.0, n)), label=label)
    return cells


def test_neo_structure_of_spikes_and_signals(sim):
    cells = _driven(sim)
    cells.record("spikes")
    cells.record(["v", "gsyn_exc"], sampling_interval=1.0)
    cells.annotate(purpose="test")
    sim.run(100.0)
    block = cells.get_data()
    assert isinstance(block, neo.Block)
    assert block.name == "cells"
    assert block.annotations["simulator"] == "pyNN.gpu"
    assert block.annotations["size"] == 10 and block.annotations["dt"] == 0.1
    assert block.annotations["purpose"] == "test"
    segment, = block.segments
    assert len(segment.spiketrains) == 10
    train = segment.spiketrains[-1]
    assert train.units == pq.ms
    assert train.t_start == 0.0 * pq.ms and train.t_stop == 100.0 * pq.ms
    assert train.annotations["source_population"] == "cells"
    assert train.annotations["source_index"] == 9
    assert train.annotations["channel_id"] == int(cells[9])
    assert len(train) > 0 and len(segment.spiketrains[0]) == 0
    v = segment.filter(name="v")[0]
    assert isinstance(v, neo.AnalogSignal)
    assert v.units == pq.mV
    assert v.sampling_period == 1.0 * pq.ms
    assert v.t_start == 0.0 * pq.ms
    assert v.shape == (101, 10)            # t = 0, 1, ..., 100 ms
    assert v.magnitude[0, 0] == -65.0
    np.testing.assert_array_equal(v.array_annotations["channel_index"], np.arange(10))
    g = segment.filter(name="gsyn_exc")[0]
    assert g.units == pq.uS


def test_spike_times_in_signal_agree_with_threshold(sim):
    cell = sim.Population(1, sim.IF_curr_exp(i_offset=1.0, tau_refrac=5.0))
    cell.record(["spikes", "v"])
    sim.run(100.0)
    segment = cell.get_data().segments[0]
    times = segment.spiketrains[0].magnitude
    v = segment.filter(name="v")[0].magnitude[:, 0]
    # at each spike time the recorded v is the reset value
    for t in times:
        assert v[int(round(t / 0.1))] == -65.0


def test_spike_counts(sim):
    cells = _driven(sim)
    cells.record("spikes")
    sim.run(200.0)
    counts = cells.get_spike_counts()
    trains = cells.get_data().segments[0].spiketrains
    assert counts == {int(c): len(t) for c, t in zip(cells.all_cells, trains)}
    assert cells.mean_spike_count() == pytest.approx(np.mean([len(t) for t in trains]))


def test_views_and_assemblies_record(sim):
    a = _driven(sim, label="a")
    b = _driven(sim, label="b")
    a[2:5].record("spikes")
    (a + b).record("v")
    sim.run(50.0)
    a_segment = a.get_data().segments[0]
    assert [st.annotations["source_index"] for st in a_segment.spiketrains] == [2, 3, 4]
    blocks = (a + b).get_data()
    assert blocks.segments[0].filter(name="v")[0].shape[1] == 20
    view_data = a[[1, 3]].get_data("v").segments[0].filter(name="v")[0]
    assert view_data.shape == (501, 2)


def test_write_data_pickle_and_matlab_io(sim, tmp_path):
    cells = _driven(sim)
    cells.record(["spikes", "v"])
    sim.run(50.0)
    expected = cells.get_data().segments[0]
    for suffix, io_class in (("pkl", neo.io.PickleIO), ("mat", neo.io.NeoMatlabIO)):
        filename = str(tmp_path / f"cells.{suffix}")
        cells.write_data(filename)
        segment = io_class(filename).read_block().segments[0]
        assert len(segment.spiketrains) == 10
        np.testing.assert_array_equal(segment.spiketrains[9].magnitude,
                                      expected.spiketrains[9].magnitude)
        np.testing.assert_array_equal(segment.analogsignals[0].magnitude,
                                      expected.filter(name="v")[0].magnitude)


def test_assembly_get_data_leaves_the_populations_data_as_they_were(cpu_sim):
    """PyNN's Assembly.get_data merges its populations' blocks and shifts channel indices:
    the segments of earlier runs it gets are copies, not the recorded ones."""
    sim = cpu_sim
    first, second = _driven(sim, n=4, label="first"), _driven(sim, n=3, label="second")
    for population in (first, second):
        population.record(["spikes", "v"])
    sim.run(50.0)
    sim.reset()
    sim.run(50.0)
    assembly = sim.Assembly(first, second)
    for _ in range(2):
        merged = assembly.get_data().segments
        assert [len(seg.spiketrains) for seg in merged] == [7, 7]
        for seg in merged:
            v = seg.filter(name="v")[0]
            assert v.shape[1] == 7
            np.testing.assert_array_equal(v.array_annotations["channel_index"], np.arange(7))
    for population, n in ((first, 4), (second, 3)):
        for seg in population.get_data().segments:
            assert len(seg.spiketrains) == n
            v = seg.filter(name="v")[0]
            assert v.shape[1] == n
            np.testing.assert_array_equal(v.array_annotations["channel_index"], np.arange(n))


def test_a_views_data_leave_the_populations_earlier_segments_as_they_were(cpu_sim):
    """The segments of earlier runs, filtered for one view, keep every cell for the next:
    each view gets its own cells' values, whatever views asked before."""
    sim = cpu_sim
    cells = sim.Population(3, sim.IF_curr_exp(i_offset=[0.5, 1.0, 1.5]))
    cells.record("v")
    sim.run(1.0)
    sim.reset()
    sim.run(1.0)
    whole = cells.get_data().segments[0].filter(name="v")[0].magnitude.copy()
    cells[1:3].get_data()
    for k in range(3):
        v = cells[k:k + 1].get_data().segments[0].filter(name="v")[0]
        assert list(v.annotations["channel_ids"]) == [k]
        np.testing.assert_array_equal(v.magnitude[:, 0], whole[:, k])
    assert list(cells.get_data().segments[0].filter(name="v")[0].annotations[
        "channel_ids"]) == [0, 1, 2]


def test_a_view_gets_no_signal_of_a_variable_none_of_its_cells_recorded(cpu_sim):
    """In an earlier segment as in the current one (PyNN's code leaves such a signal out;
    the earlier segments' filter kept it, with no channel)."""
    sim = cpu_sim
    cells = sim.Population(3, sim.IF_curr_exp(i_offset=2.0))
    cells[[0, 1]].record("v")
    sim.run(1.0)
    view = cells[[2]]
    assert view.get_data().segments[0].filter(name="v") == []
    sim.reset()
    view.record("v")
    sim.run(1.0)
    first, second = view.get_data().segments
    assert first.filter(name="v") == []
    assert list(second.filter(name="v")[0].annotations["channel_ids"]) == [2]


def test_what_is_recorded_after_a_clear_is_kept_at_reset(cpu_sim):
    """get_data(clear=True) drops what was recorded so far, not what the runs after it
    record: reset() keeps that as a segment (PyNN's own recorder dropped it)."""
    sim = cpu_sim
    cells = sim.Population(2, sim.IF_cond_exp(i_offset=2.0))
    cells.record("v")
    sim.run(5.0)
    cells.get_data(clear=True)
    sim.run(4.0)
    after_clear = cells.get_data().segments[0].filter(name="v")[0].magnitude.copy()
    sim.reset()
    sim.run(2.0)
    segments = cells.get_data().segments
    assert len(segments) == 2
    kept = segments[0].filter(name="v")[0]
    assert float(kept.t_start) == 5.0
    np.testing.assert_array_equal(kept.magnitude, after_clear)
    # nothing recorded between a clear and the reset: no segment for it, as in PyNN
    cells.get_data(clear=True)
    sim.reset()
    sim.run(1.0)
    assert len(cells.get_data().segments) == 1


def _recorded(block):
    """(v, spike times) of every segment of a block, as arrays."""
    return [([sig.magnitude.copy() for sig in seg.analogsignals],
             [st.magnitude.copy() for st in seg.spiketrains]) for seg in block.segments]


def _assert_same(a, b):
    assert len(a) == len(b)
    for (signals_a, trains_a), (signals_b, trains_b) in zip(a, b):
        assert len(signals_a) == len(signals_b) and len(trains_a) == len(trains_b)
        for x, y in zip(signals_a + trains_a, signals_b + trains_b):
            np.testing.assert_array_equal(x, y)


def test_write_data_with_clear_clears_only_once_written(cpu_sim, tmp_path):
    """write_data(..., clear=True) to a file that cannot be written raises and keeps the
    data (of every segment), for populations, views and assemblies; a successful one
    writes them and then clears them, as PyNN does."""
    sim = cpu_sim
    cells, other = _driven(sim, label="a"), _driven(sim, n=3, label="b")
    for population in (cells, other):
        population.record(["spikes", "v"])
    sim.run(50.0)
    sim.reset()
    sim.run(50.0)
    expected = _recorded(cells.get_data())
    expected_other = _recorded(other.get_data())
    assert sum(len(st) for st in expected[1][1]) > 0
    (tmp_path / "file").write_text("")
    impossible = str(tmp_path / "file" / "cells.pkl")     # inside a file: no such folder
    assembly = sim.Assembly(cells, other)
    for writer in (cells, cells[2:5], assembly):
        with pytest.raises(OSError):
            writer.write_data(impossible, clear=True)
        _assert_same(_recorded(cells.get_data()), expected)
        _assert_same(_recorded(other.get_data()), expected_other)

    filename = str(tmp_path / "assembly.pkl")
    assembly.write_data(filename, clear=True)
    written = neo.io.PickleIO(filename).read_block()
    assert [len(seg.spiketrains) for seg in written.segments] == [13, 13]
    for population in (cells, other):
        emptied = population.get_data().segments
        assert len(emptied) == 1 and not emptied[0].analogsignals
        assert all(len(st) == 0 for st in emptied[0].spiketrains)
    sim.run(10.0)       # recording goes on from here
    expected = _recorded(cells.get_data())
    filename = str(tmp_path / "cells.pkl")
    cells.write_data(filename, clear=True)
    _assert_same(_recorded(neo.io.PickleIO(filename).read_block()), expected)
    assert not cells.get_data().segments[0].analogsignals
    sim.run(10.0)
    v = cells.get_data().segments[0].filter(name="v")[0]
    assert v.t_start == 60.0 * pq.ms and v.shape[0] == 101


def test_get_data_clear_starts_afresh(sim):
    cells = _driven(sim)
    cells.record(["spikes", "v"])
    sim.run(50.0)
    first = cells.get_data(clear=True).segments[0]
    sim.run(50.0)
    second = cells.get_data().segments[0]
    assert first.filter(name="v")[0].shape[0] == 501
    v2 = second.filter(name="v")[0]
    assert v2.t_start == 50.0 * pq.ms and v2.shape[0] == 501
    assert all(st.min() >= 50.0 * pq.ms for st in second.spiketrains if len(st))


def test_a_recording_started_during_a_segment_starts_at_its_time(sim):
    """v first recorded at 10 ms (spikes from the start): NaN before, then the values at
    10.0, 10.5, ... at their times; cells added at 10 ms get no values before either, and
    their spikes count from then on."""
    reference = _driven(sim, 4, label="reference")
    reference.record(["v", "spikes"], sampling_interval=0.5)
    cells = _driven(sim, 4)
    cells[:2].record("spikes")
    sim.run(10.0)
    cells.record("v", sampling_interval=0.5)
    cells[2:].record("spikes")
    sim.run(10.0)
    v = cells.get_data().segments[0].filter(name="v")[0]
    full = reference.get_data().segments[0].filter(name="v")[0]
    assert v.t_start == 0.0 * pq.ms and v.shape == full.shape == (41, 4)
    assert np.all(np.isnan(v.magnitude[:20]))
    np.testing.assert_array_equal(v.magnitude[20:], full.magnitude[20:])
    whole = [t.magnitude for t in reference.get_data().segments[0].spiketrains]
    trains = [t.magnitude for t in cells.get_data().segments[0].spiketrains]
    assert len(whole[3][whole[3] <= 10.0]) > 0          # spikes before it was added
    for cell in range(4):
        expected = whole[cell] if cell < 2 else whole[cell][whole[cell] > 10.0]
        np.testing.assert_array_equal(trains[cell], expected)
    assert cells.get_spike_counts()[cells[3]] == len(whole[3][whole[3] > 10.0])


def test_record_none_drops_the_segment_s_recordings(sim):
    """record(None), as a simulator that replaces its recording devices: what was recorded
    is gone; recording again later puts values at their times."""
    reference = _driven(sim, 3, label="reference")
    reference.record(["v", "spikes"])
    cells = _driven(sim, 3)
    cells.record(["v", "spikes"])
    sim.run(10.0)
    cells.record(None)
    sim.run(10.0)
    segment = cells.get_data().segments[0]
    assert not segment.analogsignals and all(len(t) == 0 for t in segment.spiketrains)
    cells.record(["v", "spikes"])
    sim.run(10.0)
    segment = cells.get_data().segments[0]
    v, = segment.analogsignals
    full = reference.get_data().segments[0].filter(name="v")[0]
    assert v.t_start == 10.0 * pq.ms and v.shape[0] == 201
    assert np.all(np.isnan(v.magnitude[:100]))
    np.testing.assert_array_equal(v.magnitude[100:], full.magnitude[200:])
    spikes = reference.get_data().segments[0].spiketrains
    for train, whole in zip(segment.spiketrains, spikes):
        np.testing.assert_array_equal(train.magnitude, whole.magnitude[whole.magnitude > 20.0])


def test_asking_for_some_variables_keeps_earlier_segments_whole(sim):
    """get_data(["v"]) after reset(): the earlier segment's v, and the cached segment
    itself untouched for the next get_data (PyNN 0.13's own filter lost both)."""
    cells = _driven(sim, 2)
    cells.record(["spikes", "v"])
    sim.run(10.0)
    sim.reset()
    sim.run(10.0)
    shape = [(len(s.spiketrains), len(s.analogsignals)) for s in cells.get_data().segments]
    assert shape == [(2, 1), (2, 1)]
    only_v = cells.get_data(["v"]).segments
    assert [(len(s.spiketrains), [a.name for a in s.analogsignals]) for s in only_v] == \
        [(0, ["v"]), (0, ["v"])]
    assert [(len(s.spiketrains), len(s.analogsignals))
            for s in cells.get_data().segments] == shape


def test_times_are_the_decimals_the_script_wrote(sim):
    """Step times are rounded to 12 decimals, so a source's recorded spikes and the current
    time equal the values written in the script (0.3, not 3 x 0.1 = 0.30000000000000004)."""
    times = [0.3, 0.7, 1.1, 2.3]
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
    source.record("spikes")
    for _ in range(3):
        sim.run(0.1)
    assert sim.get_current_time() == 0.3
    sim.run(3.0)
    assert source.get_data().segments[0].spiketrains[0].magnitude.tolist() == times


def test_a_run_of_no_time_gives_the_first_sample(sim):
    """run(0): one sample, the initial value (as NEST and Brian 2 give); a run after it goes
    on from there without a second first sample."""
    cells = _driven(sim, 3)
    cells.initialize(v=-60.0)
    cells.record("v")
    sim.run(0.0)
    v = cells.get_data().segments[0].filter(name="v")[0]
    assert v.shape == (1, 3) and np.all(v.magnitude == -60.0)
    sim.run(1.0)
    v = cells.get_data().segments[0].filter(name="v")[0]
    assert v.shape == (11, 3) and np.all(v.magnitude[0] == -60.0)
    assert np.all(v.magnitude[1] != -60.0)


def test_recording_an_unrecordable_variable_is_an_error(sim):
    from pyNN import errors
    cells = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.RecordingError):
        cells.record("gsyn_exc")


@pytest.mark.parametrize("precision", ["on_grid", "off_grid"])
def test_spike_source_array_times_on_and_off_the_grid(target, precision):
    """on_grid: nearest step; off_grid: exact times, emitted in the step containing them."""
    import pynn_gpu as sim
    sim.setup(timestep=0.05, spike_precision=precision, target=target)
    try:
        source = sim.Population(1, sim.SpikeSourceArray(
            spike_times=[0.075, 10.025, 12.34, 1000.025]))
        cell = sim.Population(1, sim.IF_curr_exp(tau_syn_E=1.0))
        sim.Projection(source, cell, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=0.5, delay=1.0), receptor_type="excitatory")
        source.record("spikes")
        cell.record("v")
        runs = []
        for _ in range(3):
            sim.run(10.0)
            runs.append(source.get_data("spikes", clear=True).segments[0]
                        .spiketrains[0].rescale("ms").magnitude.tolist())
        v = cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    finally:
        sim.end()
    if precision == "off_grid":
        assert runs == [[0.075], [10.025, 12.34], []]
        arrival = 0.1 + 1.0          # 0.075 lies in the step (0.05, 0.1]
    else:
        np.testing.assert_allclose(runs[0], [0.05, 10.0], atol=1e-12)   # round(1.5 - eps)
        np.testing.assert_allclose(runs[1], [12.35], atol=1e-12)
        assert runs[2] == []
        arrival = 0.05 + 1.0
    k = int(round(arrival / 0.05))
    assert v[k] == v[0] and v[k + 1] > v[0]      # the input arrives at spike + delay


@pytest.mark.parametrize("precision", ["on_grid", "off_grid"])
def test_spike_times_in_one_step_are_one_spike_recorded_once(precision, caplog):
    """A neuron emits at most one spike per step: times in one step are merged (said), and
    the recording holds the spikes the network received (off the grid, the first time)."""
    import pynn_gpu as sim

    def run(times):
        sim.setup(timestep=0.1, spike_precision=precision, target="cpu")
        try:
            source = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
            cell = sim.Population(1, sim.IF_curr_exp(tau_syn_E=5.0))
            sim.Projection(source, cell, sim.OneToOneConnector(),
                           sim.StaticSynapse(weight=1.0, delay=0.1))
            source.record("spikes")
            cell.record("v")
            sim.run(10.0)
            train = source.get_data().segments[0].spiketrains[0].magnitude
            return train, cell.get_data().segments[0].analogsignals[0].magnitude
        finally:
            sim.end()
    with caplog.at_level("WARNING", logger="PyNN"):
        merged, v_merged = run([1.01, 1.05, 3.0, 3.0])
    single, v_single = run([1.01, 3.0])
    assert "2 spike time(s) of a SpikeSourceArray fall in the same time step" in caplog.text
    np.testing.assert_array_equal(merged, single)
    np.testing.assert_array_equal(v_merged, v_single)
    assert len(merged) == 2


def test_unknown_spike_precision_is_an_error():
    import pynn_gpu as sim
    with pytest.raises(sim.errors.InvalidParameterValueError, match="spike_precision"):
        sim.setup(spike_precision="exact", target="cpu")


def _each_sample_is_its_times(signal, reference):
    """Every non-NaN sample of `signal` equals the every-step reference at its own time."""
    for t, value in zip(signal.times.rescale("ms").magnitude, signal.magnitude[:, 0]):
        if not np.isnan(value):
            assert value == reference.magnitude[int(round(t / 0.1)), 0], (t, value)


@pytest.mark.parametrize("start", ["clear", "record later"])
def test_samples_are_taken_on_the_recordings_own_grid(sim, start):
    """A recording that starts between two points of the sampling grid from t = 0 (after
    get_data(clear=True), or record() mid-run) is sampled from its start: each value is
    the one at the time its signal gives it."""
    reference = sim.Population(1, sim.IF_curr_exp(i_offset=0.3))
    reference.record("v")
    cells = sim.Population(1, sim.IF_curr_exp(i_offset=0.3))
    if start == "clear":
        cells.record("v", sampling_interval=1.0)
        sim.run(2.5)
        cells.get_data(clear=True)
    else:
        sim.run(2.5)
        cells.record("v", sampling_interval=1.0)
    sim.run(3.0)
    v = cells.get_data().segments[0].filter(name="v")[0]
    _each_sample_is_its_times(v, reference.get_data().segments[0].filter(name="v")[0])
    if start == "clear":
        np.testing.assert_allclose(v.times.magnitude, [2.5, 3.5, 4.5, 5.5])
        assert not np.isnan(v.magnitude).any()


def test_cells_added_to_a_sampled_variable_start_with_their_value(sim):
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    cells[0:1].record("v")
    sim.run(5.0)
    cells[1:2].record("v")
    sim.run(5.0)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    assert np.isnan(v[:50, 1]).all() and not np.isnan(v[50:, 1]).any()


def test_a_sampling_interval_given_with_spikes_is_not_the_signals(sim):
    """As in pyNN.nest: spikes have no sampling interval, so v is sampled every step."""
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    cells.record("spikes", sampling_interval=1.0)
    cells.record("v")
    sim.run(10.0)
    assert cells.get_data().segments[0].filter(name="v")[0].shape == (101, 2)


def test_off_grid_spikes_right_after_record_are_kept(target):
    import pynn_gpu
    pynn_gpu.setup(timestep=0.1, target=target, spike_precision="off_grid")
    try:
        source = pynn_gpu.Population(1, pynn_gpu.SpikeSourceArray(spike_times=[1.0, 5.03, 6.0]))
        pynn_gpu.run(5.0)
        source.record("spikes")
        pynn_gpu.run(5.0)
        times = source.get_data().segments[0].spiketrains[0].magnitude
    finally:
        pynn_gpu.end()
    np.testing.assert_array_equal(times, [5.03, 6.0])


def test_a_views_data_of_earlier_segments_are_its_cells(sim):
    cells = sim.Population(4, sim.IF_curr_exp(i_offset=1.0))
    cells.record(["spikes", "v"])
    sim.run(10.0)
    sim.reset()
    sim.run(10.0)
    whole = cells.get_data().segments
    for k, segment in enumerate(cells[1:3].get_data().segments):
        assert [int(t.annotations["channel_id"]) for t in segment.spiketrains] == [1, 2]
        v = segment.filter(name="v")[0]
        assert list(v.annotations["channel_ids"]) == [1, 2]
        np.testing.assert_array_equal(v.magnitude, whole[k].filter(name="v")[0].magnitude[:, 1:3])
    assert len(cells.get_data().segments[0].spiketrains) == 4     # the cache is untouched


def test_signals_of_runs_whose_recorded_cells_change(sim):
    """A signal gathered from many runs, with cells added to the recording between them,
    holds each cell's values in its own column (the every-step reference's) from the
    cell's start on, NaN before; a view's columns follow the view's order of cells."""
    drives = np.linspace(0.5, 2.0, 6)
    reference = sim.Population(6, sim.IF_curr_exp(i_offset=drives))
    reference.record("v")
    cells = sim.Population(6, sim.IF_curr_exp(i_offset=drives))
    starts = {}                 # cell index -> step of its first sample
    for added, duration in (([4, 1], 1.0), ([], 0.7), ([0, 5], 1.3), ([3], 0.4), ([], 1.6)):
        if added:
            cells[added].record("v")
            starts.update({k: int(round(sim.get_current_time() / 0.1)) for k in added})
        sim.run(duration)
    expected = reference.get_data().segments[0].filter(name="v")[0].magnitude
    v = cells.get_data().segments[0].filter(name="v")[0]
    assert len(v) == len(expected)
    for column, cell in enumerate(v.annotations["channel_ids"]):
        k = int(cell) - int(cells.first_id)
        assert np.isnan(v.magnitude[:starts[k], column]).all()
        np.testing.assert_array_equal(v.magnitude[starts[k]:, column], expected[starts[k]:, k])
    view = cells[[5, 2, 0, 4]]      # cell 2 never recorded: no column
    part = view.get_data().segments[0].filter(name="v")[0]
    wanted = [int(cells[k]) for k in (5, 0, 4)]
    assert sorted(int(c) for c in part.annotations["channel_ids"]) == sorted(wanted)
    for column, cell in enumerate(part.annotations["channel_ids"]):
        whole = list(v.annotations["channel_ids"]).index(cell)
        np.testing.assert_array_equal(part.magnitude[:, column], v.magnitude[:, whole])


def test_positions_of_a_chunks_cells():
    """The columns of a recording chunk that hold the wanted cells: any order, cells the
    chunk lacks left out, a cell listed twice found at its last place."""
    from pynn_gpu.recording import _positions_in
    chunk = np.array([7, 3, 9, 3, 5], dtype=np.int64)
    wanted = np.array([3, 4, 9, 1, 7, 10], dtype=np.int64)
    columns, positions = _positions_in(chunk, wanted)
    np.testing.assert_array_equal(columns, [0, 2, 4])
    np.testing.assert_array_equal(positions, [3, 2, 0])
    columns, positions = _positions_in(chunk[:0], wanted)
    assert columns.size == 0 and positions.size == 0
