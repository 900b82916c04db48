"""
Single-neuron responses against closed-form solutions.

Tolerances:
* Spike times are on the grid, so a threshold crossing at time T is reported at the end of
  the step that contains it: reported - T lies in [0, dt). We allow exactly that.
* The current-based models are integrated exactly, so membrane traces must match the closed
  form to rounding error (1e-9 mV in double precision).
* The conductance-based models use RK4 (local error O(dt^5)); without synaptic input their
  equation is linear, and we allow 1e-6 mV.
"""

import numpy as np
import pytest

DT = 0.1


def _isi(tau_m, cm, v_rest, v_reset, v_thresh, i_offset):
    """Time to go from v_reset to v_thresh under constant current (closed form)."""
    v_inf = v_rest + i_offset * tau_m / cm
    return tau_m * np.log((v_inf - v_reset) / (v_inf - v_thresh))


@pytest.mark.parametrize("celltype", ["IF_curr_exp", "IF_curr_alpha", "IF_cond_exp",
                                      "IF_cond_alpha"])
def test_lif_constant_current_interspike_interval(sim, celltype):
    params = dict(tau_m=15.0, cm=0.5, v_rest=-70.0, v_reset=-65.0, v_thresh=-52.0,
                  tau_refrac=2.0)
    currents = np.array([0.7, 1.0, 1.6, 3.0])
    cells = sim.Population(len(currents), getattr(sim, celltype)(i_offset=currents, **params))
    cells.initialize(v=params["v_reset"])
    cells.record("spikes")
    sim.run(300.0)
    trains = cells.get_data().segments[0].spiketrains
    for current, train in zip(currents, trains):
        t_cross = _isi(params["tau_m"], params["cm"], params["v_rest"], params["v_reset"],
                       params["v_thresh"], current)
        times = np.asarray(train.magnitude)
        assert len(times) > 3
        # first spike: starts from v_reset at t = 0
        assert 0.0 <= times[0] - t_cross < DT + 1e-9
        # later spikes: refractory period, then the same crossing from v_reset
        expected_isi = np.ceil((t_cross - 1e-9) / DT) * DT + params["tau_refrac"]
        np.testing.assert_allclose(np.diff(times), expected_isi, atol=1e-6)


def _psp_exp(t, w, cm, tau_m, tau_s):
    return np.where(t > 0, w / cm * tau_m * tau_s / (tau_m - tau_s)
                    * (np.exp(-t / tau_m) - np.exp(-t / tau_s)), 0.0)


def _psp_alpha(t, w, cm, tau_m, tau_s):
    a, b = 1.0 / tau_s, 1.0 / tau_m
    c = a - b
    k = w * np.e * a / cm
    return np.where(t > 0, k * (np.exp(-b * t) - np.exp(-a * t) * (1 + c * t)) / c ** 2, 0.0)


@pytest.mark.parametrize("celltype,closed_form,weight,receptor", [
    ("IF_curr_exp", _psp_exp, 0.8, "excitatory"),
    ("IF_curr_exp", _psp_exp, -0.5, "inhibitory"),
    ("IF_curr_alpha", _psp_alpha, 0.8, "excitatory"),
    ("IF_curr_alpha", _psp_alpha, -0.5, "inhibitory"),
])
def test_postsynaptic_potential_matches_closed_form(sim, celltype, closed_form, weight, receptor):
    tau_m, cm, tau_s, v_rest = 20.0, 0.25, 3.0, -65.0
    tau_key = "tau_syn_E" if receptor == "excitatory" else "tau_syn_I"
    cell = sim.Population(1, getattr(sim, celltype)(
        tau_m=tau_m, cm=cm, v_rest=v_rest, v_thresh=0.0, **{tau_key: tau_s}))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    delay = 1.5
    sim.Projection(source, cell, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=weight, delay=delay), receptor_type=receptor)
    cell.record("v")
    sim.run(80.0)
    signal = cell.get_data().segments[0].filter(name="v")[0]
    times = signal.times.rescale("ms").magnitude
    v = signal.magnitude[:, 0]
    expected = v_rest + closed_form(times - (10.0 + delay), weight, cm, tau_m, tau_s)
    np.testing.assert_allclose(v, expected, rtol=0, atol=1e-9)
    assert abs(v.max() - v_rest if weight > 0 else v.min() - v_rest) > 0.1


def test_delays_land_on_the_exact_step(sim):
    delays = np.array([0.1, 0.3, 1.0, 2.7, 5.0])
    cells = sim.Population(len(delays), sim.IF_curr_exp(tau_syn_E=2.0, v_thresh=0.0))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[4.0]))
    connections = [(0, i, 0.5, d) for i, d in enumerate(delays)]
    sim.Projection(source, cells, sim.FromListConnector(connections, column_names=["weight", "delay"]))
    cells.record("v")
    sim.run(15.0)
    signal = cells.get_data().segments[0].filter(name="v")[0]
    times = np.round(signal.times.rescale("ms").magnitude, 6)
    for column, delay in enumerate(delays):
        arrival = round(4.0 + delay, 6)
        v = signal.magnitude[:, column]
        assert np.all(v[times <= arrival] == -65.0), f"delay {delay}: input came early"
        assert v[times == round(arrival + DT, 6)][0] > -65.0, f"delay {delay}: input late"


def test_dc_source_switches_on_and_off_at_its_times(sim):
    cell = sim.Population(1, sim.IF_curr_exp(v_thresh=100.0, tau_m=10.0, cm=1.0))
    source = sim.DCSource(amplitude=0.5, start=20.0, stop=60.0)
    source.inject_into(cell)
    cell.record("v")
    sim.run(100.0)
    signal = cell.get_data().segments[0].filter(name="v")[0]
    t = signal.times.rescale("ms").magnitude
    v = signal.magnitude[:, 0]
    on = np.clip(t - 20.0, 0, 40.0)
    expected = -65.0 + 0.5 * 10.0 * (1 - np.exp(-on / 10.0))
    expected = np.where(t > 60.0, -65.0 + (expected[np.argmin(abs(t - 60.0))] + 65.0)
                        * np.exp(-(t - 60.0) / 10.0), expected)
    np.testing.assert_allclose(v, expected, atol=1e-9)
