"""PoissonDrive: Poisson event counts per neuron and step, delivered into a receptor."""

import numpy as np
import pytest
from pyNN import errors
from scipy import stats

import pynn_gpu as sim

from test_cuda_target import assert_identical, simulate

DT = 0.1


def _counts(rate, steps, weight=0.5, seed=99):
    """Event counts of the first target of a drive, step by step (from its recording)."""
    sim.setup(timestep=DT, target="cpu", rng_seed=seed)
    try:
        cells = sim.Population(3, sim.IF_curr_exp())
        drive = sim.PoissonDrive(rate=rate, weight=weight)
        drive.inject_into(cells)
        drive.record()
        sim.run(steps * DT)
        currents = np.asarray(drive.get_data().magnitude).ravel()[:steps]
    finally:
        sim.end()
    counts = currents / weight
    assert np.allclose(counts, np.rint(counts))
    return np.rint(counts).astype(int)


@pytest.mark.parametrize("rate", [16000.0, 450000.0])   # means 1.6 and 45 per step
def test_counts_follow_the_poisson_distribution(rate):
    steps = 20000
    counts = _counts(rate, steps)
    mean = rate * DT * 1e-3
    # mean and variance within 5 standard errors
    assert abs(counts.mean() - mean) < 5 * np.sqrt(mean / steps)
    assert abs(counts.var() - mean) < 5 * mean * np.sqrt(2.0 / steps) * (1 + 1 / np.sqrt(mean))
    # chi-square against the Poisson pmf, bins with >= 20 expected counts, the rest pooled
    values = np.arange(counts.max() + 1)
    expected = stats.poisson.pmf(values, mean) * steps
    observed = np.bincount(counts, minlength=len(values)).astype(float)
    keep = expected >= 20
    observed = np.append(observed[keep], observed[~keep].sum())
    expected = np.append(expected[keep], steps - expected[keep].sum())
    assert stats.chisquare(observed, expected, ddof=0).pvalue > 1e-4


def test_mean_input_moves_the_membrane_as_predicted():
    """Subthreshold IF_curr_exp: <v> = v_rest + R * rate * weight * tau_syn."""
    sim.setup(timestep=DT, target="cpu", rng_seed=5)
    try:
        cells = sim.Population(50, sim.IF_curr_exp(tau_m=10.0, cm=0.25, tau_syn_E=0.5,
                                                   v_thresh=100.0, v_rest=-65.0))
        cells.initialize(v=-65.0)
        sim.PoissonDrive(rate=8000.0, weight=0.05, receptor_type="excitatory").inject_into(cells)
        cells.record("v")
        sim.run(1000.0)
        v = np.asarray(cells.get_data().segments[0].filter(name="v")[0].magnitude)
    finally:
        sim.end()
    predicted = -65.0 + (10.0 / 0.25) * 8.0 * 0.05 * 0.5      # 8 events/ms of 0.05 nA
    measured = v[1000:].mean()                                # after 100 ms
    assert abs(measured - predicted) < 0.05 * (predicted + 65.0)
    assert v[1000:].std() > 0.1                                # it is noise, not a DC


def test_inhibitory_receptor_and_window():
    sim.setup(timestep=DT, target="cpu")
    try:
        cells = sim.Population(20, sim.IF_cond_exp())
        drive = sim.PoissonDrive(rate=20000.0, weight=0.002, receptor_type="inhibitory",
                                 start=10.0, stop=20.0)
        drive.inject_into(cells)
        cells.record("gsyn_inh")
        sim.run(30.0)
        g = np.asarray(cells.get_data().segments[0].filter(name="gsyn_inh")[0].magnitude)
    finally:
        sim.end()
    assert np.all(g[:100] == 0.0)        # nothing before start
    assert g[101:201].mean() > 0.0       # input while on
    assert g[-1].max() < g[200].max() * np.exp(-5.0 / 5.0) + 1e-12   # decays after stop


def test_a_receptor_changed_between_runs_takes_the_events_from_then_on(target):
    """It was accepted and read back, and the events went on into the first receptor
    until something else made the target build the network again."""
    sim.setup(timestep=DT, target=target)
    try:
        cells = sim.Population(5, sim.IF_cond_exp())
        drive = sim.PoissonDrive(rate=20000.0, weight=0.001)
        drive.inject_into(cells)
        cells.record(["gsyn_exc", "gsyn_inh"])
        sim.run(10.0)
        drive.receptor_type = "inhibitory"
        sim.run(10.0)
        segment = cells.get_data().segments[0]
        g_exc, g_inh = (np.asarray(segment.filter(name=name)[0].magnitude)
                        for name in ("gsyn_exc", "gsyn_inh"))
    finally:
        sim.end()
    assert np.all(g_inh[:101] == 0.0) and np.all(g_exc[:101].max(axis=0) > 0.0)
    assert np.all(g_inh[-1] > 0.0)
    # from 10 ms on the excitatory conductance only decays (tau_syn_E 5 ms)
    np.testing.assert_allclose(g_exc[102:] / g_exc[101:-1], np.exp(-DT / 5.0), rtol=1e-9)


def test_errors():
    sim.setup(timestep=DT, target="cpu")
    try:
        cells = sim.Population(2, sim.IF_curr_exp())
        for rate in (-1.0, 1e30):
            with pytest.raises(errors.InvalidParameterValueError, match="rate must be from 0"):
                sim.PoissonDrive(rate=rate, weight=1.0)
        with pytest.raises(errors.ConnectionError, match="no receptor 'AMPA'"):
            sim.PoissonDrive(rate=1.0, weight=1.0, receptor_type="AMPA").inject_into(cells)
    finally:
        sim.end()



def test_a_model_with_the_receptor_takes_a_drive_without_reading_injected_current(target):
    """A drive adds into a receptor's input as spikes do: a model of one's own with that
    receptor and no i_inj (not injectable) takes it, and its v sums the recorded input
    (v(t + dt) = v(t) + in_AMPA); a DCSource into it is still refused, as are a drive into
    spike sources and one onto a receptor the model lacks."""
    from pynn_gpu.modeldef import NeuronModelDef, StateVar
    model = NeuronModelDef(name="drive_summer", params=(), state=(StateVar("v"),),
                           receptors=("AMPA",), update="v += in_AMPA;", threshold="v > 1e9",
                           reset="v = 0;")
    sim.setup(timestep=DT, target=target, rng_seed=3)
    try:
        summer = sim.native_cell_type(model)
        assert not summer.injectable
        cells = sim.Population(2, summer())
        drive = sim.PoissonDrive(rate=5000.0, weight=0.5, receptor_type="AMPA", start=1.0,
                                 stop=3.0)
        drive.inject_into(cells)
        drive.record()
        cells.record("v")
        with pytest.raises(TypeError, match="Can't inject current"):
            sim.DCSource(amplitude=1.0).inject_into(cells)
        with pytest.raises(errors.ConnectionError, match="no receptor 'NMDA'"):
            sim.PoissonDrive(rate=1.0, weight=1.0, receptor_type="NMDA").inject_into(cells)
        sources = sim.Population(1, sim.SpikeSourcePoisson(rate=10.0))
        with pytest.raises(errors.ConnectionError, match="through a receptor: it has none"):
            sim.PoissonDrive(rate=1.0, weight=1.0, receptor_type="AMPA").inject_into(sources)
        sim.run(4.0)
        v = np.asarray(cells.get_data().segments[0].filter(name="v")[0].magnitude)[:, 0]
        delivered = np.asarray(drive.get_data().magnitude).ravel()
    finally:
        sim.end()
    assert delivered[:10].sum() == 0 and delivered[30:].sum() == 0 and delivered.sum() > 1.0
    np.testing.assert_allclose(v, np.concatenate([[0.0], np.cumsum(delivered)[:-1]]))



def _accepted(make):
    try:
        make()
    except errors.ConnectionError:
        return False
    return True


@pytest.mark.parametrize("celltype", ["IF_curr_exp", "IF_curr_alpha", "Izhikevich",
                                      "IF_cond_exp", "EIF_cond_exp_isfa_ista"])
def test_drive_weight_signs_follow_the_projection_rule(celltype):
    """A drive and a Projection with the same weight onto the same receptor are accepted or
    refused alike (PyNN's rule: excitatory and conductance-based receptors take weights
    >= 0, current-based inhibitory ones weights <= 0)."""
    sim.setup(timestep=DT, target="cpu")
    try:
        source = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
        cells = sim.Population(1, getattr(sim, celltype)(), label="driven")
        conductance = cells.celltype.conductance_based
        for receptor in ("excitatory", "inhibitory"):
            for weight in (0.01, -0.01, 0.0):
                by_projection = _accepted(lambda: sim.Projection(
                    source, cells, sim.OneToOneConnector(),
                    sim.StaticSynapse(weight=weight, delay=1.0), receptor_type=receptor))
                drive = sim.PoissonDrive(rate=100.0, weight=weight, receptor_type=receptor)
                by_drive = _accepted(lambda: drive.inject_into(cells))
                assert by_drive == by_projection, (receptor, weight)
                allowed = (weight <= 0 if receptor == "inhibitory" and not conductance
                           else weight >= 0)
                assert by_drive == allowed, (receptor, weight)
                if not allowed:
                    with pytest.raises(errors.ConnectionError,
                                       match=f"weight={weight:g} .*'{receptor}' of driven"):
                        drive.inject_into(cells)
    finally:
        sim.end()


def test_a_refused_drive_is_not_injected_and_a_refused_weight_not_kept():
    sim.setup(timestep=DT, target="cpu")
    try:
        cells = sim.Population(2, sim.IF_cond_exp())
        other = sim.Population(2, sim.IF_curr_exp())
        refused = sim.PoissonDrive(rate=1000.0, weight=-0.01)
        with pytest.raises(errors.ConnectionError, match="weight=-0.01 .*'excitatory'"):
            refused.inject_into(sim.Assembly(other, cells))    # refused for all of it
        drive = sim.PoissonDrive(rate=1000.0, weight=-0.01, receptor_type="inhibitory")
        drive.inject_into(other)
        assert [s for s, _, _ in sim.simulator.state.current_sources] == [drive]
        # after injection: a new weight, or receptor, is checked as at injection
        with pytest.raises(errors.ConnectionError, match="weight=0.01 .*'inhibitory'"):
            drive.set_parameters(weight=0.01)
        with pytest.raises(errors.ConnectionError, match="weight=0.02 .*'inhibitory'"):
            drive.weight = 0.02
        with pytest.raises(errors.ConnectionError, match="weight=-0.01 .*'excitatory'"):
            drive.receptor_type = "excitatory"
        assert drive.get_parameters()["weight"] == -0.01
        assert drive.receptor_type == "inhibitory"
        drive.set_parameters(weight=-0.02)
        assert drive.get_parameters()["weight"] == -0.02
        cells.record("gsyn_exc")
        sim.run(20.0)
        assert np.all(cells.get_data().segments[0].filter(name="gsyn_exc")[0].magnitude == 0)
    finally:
        sim.end()

def _driven(sim):
    cells = sim.Population(40, sim.IF_curr_exp(v_thresh=-60.0), label="cells")
    sim.PoissonDrive(rate=16000.0, weight=0.0625).inject_into(cells)
    sim.PoissonDrive(rate=4000.0, weight=-0.125, receptor_type="inhibitory").inject_into(
        cells[::2])
    cells.record(["spikes", "v"])
    return {"cells": cells}


def test_cpu_and_cuda_deliver_the_same_events(cuda_backend):
    cpu = simulate("cpu", _driven, 50.0)
    gpu = simulate("cuda", _driven, 50.0, runs=[20.0, 30.0])
    assert_identical(cpu, gpu)
    assert sum(len(s) for s in cpu["cells"][0]) > 0


def _drive_trace(target, runs):
    """The recorded events of a drive into all of a population (the CUDA update kernel
    computes it), and of two drives into one receptor of another (their own kernel)."""
    sim.setup(timestep=DT, target=target, rng_seed=7)
    try:
        cells = sim.Population(40, sim.IF_curr_exp(v_thresh=-60.0))
        fused = sim.PoissonDrive(rate=16000.0, weight=0.0625)
        fused.inject_into(cells)
        fused.record()
        others = sim.Population(20, sim.IF_curr_exp(v_thresh=-60.0))
        for rate in (8000.0, 3000.0):
            sim.PoissonDrive(rate=rate, weight=0.125).inject_into(others)
        others.record("v")
        for duration in runs:
            sim.run(duration)
        trace = np.asarray(fused.get_data().magnitude).ravel()
        v = np.asarray(others.get_data().segments[-1].analogsignals[0].magnitude)
    finally:
        sim.end()
    return trace, v


def test_a_drive_computed_by_the_update_kernel_records_what_the_c_target_records(cuda_backend):
    cpu_trace, cpu_v = _drive_trace("cpu", [30.0])
    gpu_trace, gpu_v = _drive_trace("cuda", [10.0, 20.0])
    assert cpu_trace.size >= 300 and np.count_nonzero(cpu_trace) > 100
    np.testing.assert_array_equal(gpu_trace, cpu_trace)
    np.testing.assert_array_equal(gpu_v, cpu_v)


def test_drive_and_stochastic_synapses_draw_independent_numbers(sim):
    """Synapse groups and current-source injections draw from streams of their own: the
    first synapse group's transmissions and the first drive's events were the same numbers
    (correlation -1 at a lag of one step)."""
    n = 5
    times = np.round(np.arange(0.1, 100.05, 0.1), 1)
    sources = sim.Population(n, sim.SpikeSourceArray(spike_times=times))
    conductance = sim.Population(n, sim.IF_cond_exp(v_thresh=1e9, tau_syn_E=5.0))
    driven = sim.Population(n, sim.IF_curr_exp(v_thresh=1e9))
    sim.Projection(sources, conductance, sim.OneToOneConnector(),
                   sim.SimpleStochasticSynapse(p=0.5, weight=0.01, delay=0.1))
    drive = sim.PoissonDrive(rate=np.log(2) / 1e-4, weight=0.001)   # P(an event) = 0.5
    drive.inject_into(driven)
    drive.record()
    conductance.record("gsyn_exc")
    sim.run(100.0)
    g = conductance.get_data().segments[0].filter(name="gsyn_exc")[0].magnitude[:, 0]
    transmitted = (g[1:] - g[:-1] * np.exp(-0.1 / 5.0)) > 0.005
    events = drive._get_data()[1][:-1] > 0
    for lag in (0, 1, 2):
        a, b = transmitted[lag:], events[:len(events) - lag]
        assert abs(np.corrcoef(a, b)[0, 1]) < 0.2, lag
