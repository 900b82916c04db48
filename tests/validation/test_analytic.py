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


# --- stiff conductance-based steps -----------------------------------------------------------
#
# RK4 on v' = -(g_leak + g_syn) / cm v + ... is unstable for z = dt (g_leak + g_syn) / cm above
# about 2.785; a step with z > 1 is split into ceil(z) sub-steps (cond_membrane.py). Each case
# below has z well above 2.785 (before, it spiked or diverged) and stays below threshold in
# the exact solution, which scipy's solve_ivp gives (rtol 1e-10) from the same equations and
# input. Sub-steps with z <= 1 are as accurate as any RK4 step of that z (a relative error of
# up to 2e-3 per sub-step on the transient): the errors measured are 1e-3 to 5e-3 mV for
# exponential conductances and the leak, 6e-3 to 1.2e-2 mV for the alpha pulses (their
# time course, tau_syn = 0.3 ms, resolved by the sub-steps' points); the bound is 4 times
# the worst. Float precision measures the same (its rounding adds about 1e-5 mV).

STIFF_ATOL = 0.05        # mV, double and float; measured worst 1.19e-2 mV


def _exp_shape(tau):
    return lambda s: np.exp(-s / tau)


def _alpha_shape(tau):
    return lambda s: s / tau * np.exp(1.0 - s / tau)


def _beta_shape(tau_rise, tau_decay):
    """N (exp(-s/tau_decay) - exp(-s/tau_rise)) / (1/tau_rise - 1/tau_decay): peak 1."""
    k = 1.0 / tau_rise - 1.0 / tau_decay
    t_peak = np.log(tau_decay / tau_rise) / k
    def rise(s):
        return (np.exp(-s / tau_decay) - np.exp(-s / tau_rise)) / k
    return lambda s: rise(s) / rise(t_peak)


def _reference_v(times, v0, cm, tau_m, v_rest, i_drive, inputs):
    """v at `times` from solve_ivp; inputs: (e_rev, weight, arrival time, shape(s))."""
    from scipy.integrate import solve_ivp
    g_leak = cm / tau_m

    def dvdt(t, y):
        total = g_leak * (v_rest - y[0]) + i_drive
        for e_rev, w, t_in, shape in inputs:
            if t > t_in:
                total += w * shape(t - t_in) * (e_rev - y[0])
        return [total / cm]

    edges = sorted({times[0], times[-1]}
                   | {t for _, _, t, _ in inputs if times[0] < t < times[-1]})
    v, out = v0, np.empty(len(times))
    for start, stop in zip(edges[:-1], edges[1:]):
        inside = (times >= start) & (times <= stop)
        sol = solve_ivp(dvdt, (start, stop), [v], t_eval=times[inside], rtol=1e-10, atol=1e-10,
                        method="DOP853", max_step=0.01)
        out[inside] = sol.y[0]
        v = solve_ivp(dvdt, (start, stop), [v], rtol=1e-10, atol=1e-10, method="DOP853",
                      max_step=0.01).y[0, -1]
    return out


# name, dt, cell type (a function of sim), initial state, the reference's membrane and inputs
# ((receptor, e_rev, weight, spike time, shape)); spikes arrive at spike time + 1 ms
def _stiff_cases():
    lif = dict(cm=0.25, tau_m=20.0, v_rest=-65.0, v_thresh=-50.0, tau_refrac=2.0)
    membrane = dict(cm=0.25, tau_m=20.0, v_rest=-65.0, i_drive=0.0)
    return [
        # the report's case: dt = 1, one inhibitory input of 1 uS (z = 4.05), spiked at 8 ms
        ("IF_cond_exp inhibitory", 1.0,
         lambda sim: sim.IF_cond_exp(tau_syn_I=5.0, e_rev_I=-70.0, **lif), {},
         membrane, [("inhibitory", -70.0, 1.0, 5.0, _exp_shape(5.0))]),
        # leak alone: tau_m = 0.03 ms at dt = 0.1 (z = 3.3), spiked at 0.4 ms
        ("IF_cond_alpha short tau_m", 0.1,
         lambda sim: sim.IF_cond_alpha(cm=1.0, tau_m=0.03, v_rest=-65.0, v_thresh=-50.0,
                                       i_offset=0.1), {"v": -64.0},
         dict(cm=1.0, tau_m=0.03, v_rest=-65.0, i_drive=0.1), []),
        # alpha pulses (tau_syn 0.3 ms) with their peaks (2 and 1.5 uS, z = 8 and 6) between
        # the points of the step, where the bound |g| + |dg| / jump sees them
        ("IF_cond_alpha pulses", 1.0,
         lambda sim: sim.IF_cond_alpha(tau_syn_E=0.3, tau_syn_I=0.3, e_rev_E=0.0,
                                       **dict(lif, v_thresh=100.0)), {},
         membrane, [("excitatory", 0.0, 2.0, 5.0, _alpha_shape(0.3)),
                    ("inhibitory", -70.0, 1.5, 9.0, _alpha_shape(0.3))]),
        ("IF_cond_exp_gsfa_grr", 1.0,
         lambda sim: sim.IF_cond_exp_gsfa_grr(tau_syn_I=5.0, e_rev_I=-70.0, e_rev_E=0.0,
                                              **dict(lif, v_thresh=100.0)), {},
         membrane, [("inhibitory", -70.0, 1.0, 5.0, _exp_shape(5.0)),
                    ("excitatory", 0.0, 1.5, 12.0, _exp_shape(5.0))]),
        ("PointNeuron CondExp", 1.0,
         lambda sim: sim.PointNeuron(sim.LIF(**dict(lif, v_thresh=100.0)),
                                     GABA=sim.CondExpPostSynapticResponse(tau_syn=5.0,
                                                                          e_syn=-70.0)), {},
         membrane, [("GABA", -70.0, 1.0, 5.0, _exp_shape(5.0))]),
        ("PointNeuron CondAlpha", 1.0,
         lambda sim: sim.PointNeuron(sim.LIF(**dict(lif, v_thresh=100.0)),
                                     AMPA=sim.CondAlphaPostSynapticResponse(tau_syn=0.3,
                                                                            e_syn=0.0)), {},
         membrane, [("AMPA", 0.0, 2.0, 5.0, _alpha_shape(0.3))]),
        ("PointNeuron CondBeta", 1.0,
         lambda sim: sim.PointNeuron(sim.LIF(**dict(lif, v_thresh=100.0)),
                                     NMDA=sim.CondBetaPostSynapticResponse(
                                         tau_rise=0.2, tau_decay=0.6, e_syn=0.0)), {},
         membrane, [("NMDA", 0.0, 2.0, 5.0, _beta_shape(0.2, 0.6))]),
    ]


def _run_stiff(target, precision, case):
    import pynn_gpu as sim
    _name, dt, celltype, initial, membrane, inputs = case
    sim.setup(timestep=dt, target=target, precision=precision)
    try:
        cell = sim.Population(1, celltype(sim))
        if initial:
            cell.initialize(**initial)
        for receptor, _e, weight, t_spike, _shape in inputs:
            source = sim.Population(1, sim.SpikeSourceArray(spike_times=[t_spike]))
            sim.Projection(source, cell, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=weight, delay=1.0), receptor_type=receptor)
        cell.record(["v", "spikes"])
        sim.run(30.0)
        segment = cell.get_data().segments[0]
        signal = segment.filter(name="v")[0]
        times = signal.times.rescale("ms").magnitude
        v = signal.magnitude[:, 0]
        spikes = segment.spiketrains[0].magnitude
    finally:
        sim.end()
    expected = _reference_v(times, v[0], membrane["cm"], membrane["tau_m"], membrane["v_rest"],
                            membrane["i_drive"],
                            [(e, w, t + 1.0, shape) for _r, e, w, t, shape in inputs])
    return v, expected, spikes


@pytest.mark.parametrize("case", _stiff_cases(), ids=lambda case: case[0])
def test_stiff_conductance_step_matches_solve_ivp(target, case):
    v, expected, spikes = _run_stiff(target, "double", case)
    print(f"{case[0]}: max |v - v_ref| = {np.max(np.abs(v - expected)):.2e} mV")
    assert len(spikes) == 0
    np.testing.assert_allclose(v, expected, rtol=0, atol=STIFF_ATOL)


@pytest.mark.parametrize("case", [_stiff_cases()[i] for i in (0, 2, 6)],
                         ids=lambda case: case[0])
def test_stiff_conductance_step_float(target, case):
    v, expected, spikes = _run_stiff(target, "float", case)
    print(f"{case[0]} (float): max |v - v_ref| = {np.max(np.abs(v - expected)):.2e} mV")
    assert len(spikes) == 0
    np.testing.assert_allclose(v, expected, rtol=0, atol=STIFF_ATOL)


# --- the usual, non-stiff steps: one RK4 step, bit for bit as before -------------------------

def _single_rk4_step_trace(kind, params, dt, n_steps, arrivals):
    """v of a cell (IF_cond_exp or IF_cond_alpha) by the single RK4 step per dt the models
    took before the stiff steps were split (and take whenever z <= 1), operation for
    operation as in the generated C (Python floats are IEEE doubles). arrivals: {step k:
    (w_exc, w_inh)} added at the end of step k."""
    import math
    p = params
    g_leak = p["cm"] / p["tau_m"]
    def host_exp(x, tau):       # as derive() computes them (numpy's exp, on arrays)
        return float(np.exp(x / np.asarray([tau], dtype=float))[0])

    pe, pe_half = host_exp(-dt, p["tau_syn_E"]), host_exp(-0.5 * dt, p["tau_syn_E"])
    pi, pi_half = host_exp(-dt, p["tau_syn_I"]), host_exp(-0.5 * dt, p["tau_syn_I"])
    jump_e, jump_i = math.e / p["tau_syn_E"], math.e / p["tau_syn_I"]
    refractory_steps = int(round(p["tau_refrac"] / dt))

    def dvdt(v, ge, gi, i_drive):
        return (g_leak * (p["v_rest"] - v) + ge * (p["e_rev_E"] - v) + gi * (p["e_rev_I"] - v)
                + i_drive) / p["cm"]

    v, refractory = p["v_rest"], 0
    ge = gi = dge = dgi = 0.0
    trace, spikes = [v], []
    for k in range(n_steps):
        if refractory == 0:
            if kind == "exp":
                points_e = (ge, ge * pe_half, ge * pe)
                points_i = (gi, gi * pi_half, gi * pi)
            else:
                points_e = (ge, (ge + 0.5 * dt * dge) * pe_half, (ge + dt * dge) * pe)
                points_i = (gi, (gi + 0.5 * dt * dgi) * pi_half, (gi + dt * dgi) * pi)
            i_drive = p["i_offset"] + 0.0
            k1 = dvdt(v, points_e[0], points_i[0], i_drive)
            k2 = dvdt(v + 0.5 * dt * k1, points_e[1], points_i[1], i_drive)
            k3 = dvdt(v + 0.5 * dt * k2, points_e[1], points_i[1], i_drive)
            k4 = dvdt(v + dt * k3, points_e[2], points_i[2], i_drive)
            v += dt / 6.0 * (k1 + 2.0 * (k2 + k3) + k4)
        else:
            refractory -= 1
        w_exc, w_inh = arrivals.get(k, (0.0, 0.0))
        if kind == "exp":
            ge, gi = pe * ge + w_exc, pi * gi + w_inh
        else:
            ge, gi = (ge + dt * dge) * pe, (gi + dt * dgi) * pi
            dge, dgi = dge * pe + jump_e * w_exc, dgi * pi + jump_i * w_inh
        if v >= p["v_thresh"]:
            v, refractory = p["v_reset"], refractory_steps
            spikes.append(k)
        trace.append(v)
    return np.array(trace), spikes


@pytest.mark.parametrize("kind", ["exp", "alpha"])
def test_usual_steps_are_the_single_rk4_step_bit_for_bit(target, kind):
    """A driven cell with excitatory and inhibitory input, spiking and refractory, at
    dt = 0.1 ms (z about 0.01): the trace is the single-step formula's to the last bit."""
    import pynn_gpu as sim
    dt, n_steps = 0.1, 2000
    params = dict(cm=1.0, tau_m=20.0, v_rest=-65.0, v_thresh=-50.0, v_reset=-65.0,
                  tau_refrac=2.0, tau_syn_E=3.0, tau_syn_I=5.0, e_rev_E=0.0, e_rev_I=-80.0,
                  i_offset=0.6)
    rng = np.random.RandomState(3)
    exc_times = np.unique(np.round(np.sort(rng.uniform(1.0, 190.0, 80)), 1))
    inh_times = np.unique(np.round(np.sort(rng.uniform(1.0, 190.0, 30)), 1))
    w_exc, w_inh, delay = 0.02, 0.05, 1.0
    sim.setup(timestep=dt, target=target)
    try:
        celltype = sim.IF_cond_exp if kind == "exp" else sim.IF_cond_alpha
        cell = sim.Population(1, celltype(**params))
        for times, weight, receptor in ((exc_times, w_exc, "excitatory"),
                                        (inh_times, w_inh, "inhibitory")):
            source = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
            sim.Projection(source, cell, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=weight, delay=delay), receptor_type=receptor)
        cell.record(["v", "spikes"])
        sim.run(n_steps * dt)
        segment = cell.get_data().segments[0]
        v = segment.filter(name="v")[0].magnitude[:, 0]
        spikes = segment.spiketrains[0].magnitude
    finally:
        sim.end()
    # a spike at T with delay D is added at the end of the step that ends at T + D
    arrivals = {}
    for times, column in ((exc_times, 0), (inh_times, 1)):
        for t in times:
            k = int(round((t + delay) / dt)) - 1
            pair = list(arrivals.get(k, (0.0, 0.0)))
            pair[column] += w_exc if column == 0 else w_inh
            arrivals[k] = tuple(pair)
    expected, expected_spikes = _single_rk4_step_trace(kind, params, dt, n_steps, arrivals)
    assert len(expected_spikes) > 3
    np.testing.assert_allclose(spikes, (np.array(expected_spikes) + 1) * dt, atol=1e-9)
    np.testing.assert_array_equal(v, expected[:len(v)])
