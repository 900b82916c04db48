"""
Single precision (setup(precision="float")) against closed-form solutions, on every target.

Tolerances for float: the state is stored in 32-bit floats (about 7 significant digits, so
a potential near -65 mV is held to ~4e-6 mV), and every step rounds again; over the few
hundred steps of these responses the errors add up to a few 1e-5 mV. We allow 1e-4 mV on
membrane traces (double: 1e-9 mV) and, for spike times, one step plus 1e-3 ms (a crossing
that float rounding moves across a step boundary).
"""

import numpy as np
import pytest

import pynn_gpu

from test_analytic import _isi, _psp_alpha, _psp_exp

DT = 0.1
FLOAT_V_ATOL = 1e-4       # mV
FLOAT_SPIKE_SLACK = 1e-3  # ms beyond one step


@pytest.fixture
def float_sim(target):
    pynn_gpu.setup(timestep=DT, target=target, precision="float")
    yield pynn_gpu
    pynn_gpu.end()


@pytest.mark.parametrize("celltype,closed_form", [("IF_curr_exp", _psp_exp),
                                                  ("IF_curr_alpha", _psp_alpha)])
def test_float_postsynaptic_potential(float_sim, celltype, closed_form):
    sim = float_sim
    tau_m, cm, tau_s, v_rest, weight, delay = 20.0, 0.25, 3.0, -65.0, 0.8, 1.5
    cell = sim.Population(1, getattr(sim, celltype)(tau_m=tau_m, cm=cm, v_rest=v_rest,
                                                    v_thresh=0.0, tau_syn_E=tau_s))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    sim.Projection(source, cell, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=weight, delay=delay), receptor_type="excitatory")
    cell.record("v")
    sim.run(80.0)
    signal = cell.get_data().segments[0].filter(name="v")[0]
    times = signal.times.rescale("ms").magnitude
    expected = v_rest + closed_form(times - (10.0 + delay), weight, cm, tau_m, tau_s)
    error = np.abs(signal.magnitude[:, 0] - expected).max()
    assert error < FLOAT_V_ATOL
    assert error > 1e-9       # float arithmetic really ran (double: ~1e-13 mV)


@pytest.mark.parametrize("celltype", ["IF_curr_exp", "IF_cond_exp"])
def test_float_interspike_interval(float_sim, celltype):
    sim = float_sim
    params = dict(tau_m=15.0, cm=0.5, v_rest=-70.0, v_reset=-65.0, v_thresh=-52.0,
                  tau_refrac=2.0)
    currents = np.array([0.7, 1.6, 3.0])
    cells = sim.Population(len(currents), getattr(sim, celltype)(i_offset=currents, **params))
    cells.initialize(v=params["v_reset"])
    cells.record("spikes")
    sim.run(200.0)
    for current, train in zip(currents, cells.get_data().segments[0].spiketrains):
        t_cross = _isi(params["tau_m"], params["cm"], params["v_rest"], params["v_reset"],
                       params["v_thresh"], current)
        times = np.asarray(train.magnitude)
        assert len(times) > 3
        assert -FLOAT_SPIKE_SLACK <= times[0] - t_cross < DT + FLOAT_SPIKE_SLACK
        expected_isi = np.ceil((t_cross - 1e-9) / DT) * DT + params["tau_refrac"]
        assert np.all(np.abs(np.diff(times) - expected_isi) <= DT + FLOAT_SPIKE_SLACK)


def test_float_exponential_decay_of_dc_response(float_sim):
    sim = float_sim
    cell = sim.Population(1, sim.IF_curr_exp(v_thresh=100.0, tau_m=10.0, cm=1.0))
    sim.DCSource(amplitude=0.5, start=20.0, stop=60.0).inject_into(cell)
    cell.record("v")
    sim.run(100.0)
    signal = cell.get_data().segments[0].filter(name="v")[0]
    t = signal.times.rescale("ms").magnitude
    on = np.clip(t - 20.0, 0, 40.0)
    charged = -65.0 + 5.0 * (1 - np.exp(-on / 10.0))
    expected = np.where(t > 60.0, -65.0 + 5.0 * (1 - np.exp(-4.0)) * np.exp(-(t - 60.0) / 10.0),
                        charged)
    np.testing.assert_allclose(signal.magnitude[:, 0], expected, atol=FLOAT_V_ATOL)


def test_float_gamma_intervals_of_seconds_keep_their_length(target):
    """A float time to the next spike, counted down by dt each step, lost about 1 % per step
    on intervals of 65-131 s (0.1015625 ms a step instead of 0.1): the first spike of a
    nearly regular 100 s process came 946 ms early. The next spike is now a whole step and
    an offset within it, so float and double draw the same intervals."""
    trains = {}
    for precision in ("double", "float"):
        pynn_gpu.setup(timestep=DT, target=target, precision=precision, rng_seed=7)
        try:
            source = pynn_gpu.Population(1, pynn_gpu.SpikeSourceGamma(alpha=1e6, beta=1e4))
            source.record("spikes")
            pynn_gpu.run_until(250_000.0)
            trains[precision] = source.get_data().segments[0].spiketrains[0].magnitude
        finally:
            pynn_gpu.end()
    assert len(trains["double"]) == 2            # 100 s intervals, CV 1e-3
    np.testing.assert_allclose(trains["float"], trains["double"], atol=DT + FLOAT_SPIKE_SLACK)


def test_a_model_reads_the_time_in_double_in_float_precision(target):
    """`t` of a model of one's own: a float t is off by up to half its last digit (after
    2^24 steps several steps shared one t); in double it is step * dt exactly."""
    from pynn_gpu.modeldef import NeuronModelDef, StateVar
    model = NeuronModelDef(
        name="time_reader", params=(), state=(StateVar("off", "int64_t"),),
        update="if (t != (double) _step * DT_DOUBLE) off += 1;", threshold="0")
    pynn_gpu.setup(timestep=DT, target=target, precision="float")
    try:
        cells = pynn_gpu.Population(1, pynn_gpu.native_cell_type(model)())
        cells.record("off")
        pynn_gpu.run(200.0)
        off = cells.get_data().segments[0].filter(name="off")[0].magnitude
        assert off[-1, 0] == 0
    finally:
        pynn_gpu.end()


def test_float_tsodyks_markram_with_close_time_constants(target):
    """tau_rec 3.00001 ms against the receptor's 3 ms: the recovery factor's difference of
    exponentials cancelled in float (the steady jumps were 0.6 % low); it is computed in
    double now, so float holds the double jumps to its own digits."""
    jumps = {}
    for precision in ("double", "float"):
        pynn_gpu.setup(timestep=DT, target=target, precision=precision)
        try:
            source = pynn_gpu.Population(1, pynn_gpu.SpikeSourceArray(
                spike_times=np.arange(10.0, 200.0, 10.0)))
            cell = pynn_gpu.Population(1, pynn_gpu.native_cell_type("if_curr_exp")(
                tau_syn_E=3.0, v_thresh=1e9))
            pynn_gpu.Projection(source, cell, pynn_gpu.OneToOneConnector(),
                                pynn_gpu.TsodyksMarkramSynapse(U=0.5, tau_rec=3.00001,
                                                               weight=1.0, delay=0.1),
                                receptor_type="excitatory")
            cell.record("isyn_exc")
            pynn_gpu.run(200.0)
            current = cell.get_data().segments[0].filter(name="isyn_exc")[0].magnitude[:, 0]
            jumps[precision] = np.diff(current)[np.diff(current) > 0.01]
        finally:
            pynn_gpu.end()
    assert len(jumps["double"]) == 19
    np.testing.assert_allclose(jumps["float"], jumps["double"], rtol=1e-6)
