"""
Every point-neuron model PyNN 0.13 defines: it builds, runs, records what it declares with
PyNN's units, and behaves as known.

Known behaviour:
* IF_curr_delta: a weight w is a jump of w mV, then exponential decay (closed form, exact).
* Izhikevich: with u = b v at rest, the rest state loses stability where the trace of the
  Jacobian vanishes, v = (a - 5) / 0.08, i.e. at I = 3.7975 for a = 0.02, b = 0.2 (below the
  saddle-node at I = (5 - b)^2 / 0.16 - 140 = 4): a neuron at rest below that current never
  fires, one above the saddle-node does, the more the stronger the current; tonic spiking
  with spike-frequency adaptation for the regular-spiking parameters (Izhikevich 2003).
* GIF_cond_exp: with v held (no input, no kernels, no reset) spikes are Bernoulli trials with
  p = 1 - exp(-lambda0 exp((v - v_t_star) / delta_v) dt); the spike-triggered current and the
  threshold move by a_eta, a_gamma at a spike and decay with tau_eta, tau_gamma (exact).
* IF_cond_exp_gsfa_grr: g_s and g_r jump by q_sfa and q_rr (nS) at each spike and decay
  exponentially (exact); the spikes adapt.
* IF_facets_hardware1 is IF_cond_exp with PyNN's fixed values (identical traces).
* AdEx and HH against pyNN.brian2 (reference files made by
  benchmarks/validation/make_reference.py): see test_agrees_with_brian2 for the tolerances.
"""

import glob
import json
import os

import numpy as np
import pytest
from pyNN import errors
from pyNN.parameters import ArrayParameter

import pynn_gpu

DT = 0.1
NEW_MODELS = ["IF_curr_delta", "IF_cond_exp_gsfa_grr", "EIF_cond_exp_isfa_ista",
              "EIF_cond_alpha_isfa_ista", "HH_cond_exp", "Izhikevich", "GIF_cond_exp",
              "IF_facets_hardware1"]
PYNN_POINT_NEURONS = NEW_MODELS + ["IF_curr_exp", "IF_curr_alpha", "IF_cond_exp",
                                   "IF_cond_alpha"]
REFERENCE_DIR = os.path.join(os.path.dirname(__file__), "reference")


@pytest.fixture
def sim():
    """The C target (these are model tests; CPU/CUDA agreement is in tests/targets)."""
    pynn_gpu.setup(timestep=DT, target="cpu", rng_seed=12345)
    yield pynn_gpu
    pynn_gpu.end()


def _signal(population, name):
    return population.get_data().segments[0].filter(name=name)[0]


def _spikes(population):
    return [np.asarray(st.magnitude) for st in population.get_data().segments[0].spiketrains]


# --- every model: build, run, record -----------------------------------------------------------

@pytest.fixture(scope="module")
def all_models():
    """One network with three cells of every new model, every recordable recorded, driven by
    a current and by excitatory and inhibitory spikes: one compilation for all."""
    sim = pynn_gpu
    sim.setup(timestep=DT, target="cpu", rng_seed=7)
    try:
        source = sim.Population(1, sim.SpikeSourceArray(spike_times=[[2.0, 5.0, 9.0]]))
        populations, descriptions = {}, {}
        for name in NEW_MODELS:
            cells = sim.Population(3, getattr(sim, name)(), label=name)
            current_based = not cells.celltype.conductance_based
            for receptor, weight in (("excitatory", 0.5 if current_based else 0.01),
                                     ("inhibitory", -0.2 if current_based else 0.02)):
                sim.Projection(source, cells, sim.AllToAllConnector(),
                               sim.StaticSynapse(weight=weight, delay=1.0),
                               receptor_type=receptor)
            if name != "IF_facets_hardware1":          # it has no current input parameter
                cells.set(i_offset=[0.0, 0.5, 2.0] if name != "Izhikevich" else
                          [0.0, 0.01, 0.02])
            cells.record(cells.celltype.recordable)
            populations[name] = cells
            descriptions[name] = cells.describe()
        sim.run(20.0)
        data = {name: (p.celltype, p.get_data().segments[0]) for name, p in populations.items()}
        return data, descriptions
    finally:
        sim.end()


@pytest.mark.parametrize("name", NEW_MODELS)
def test_model_records_every_recordable_with_units(all_models, name):
    data, descriptions = all_models
    celltype, segment = data[name]
    assert name in descriptions[name]
    recorded = {signal.name: signal for signal in segment.analogsignals}
    expected = set(celltype.recordable) - {"spikes"}
    assert set(recorded) == expected
    for variable, signal in recorded.items():
        assert signal.shape == (201, 3), variable
        assert signal.sampling_period.rescale("ms").magnitude == pytest.approx(DT)
        unit = celltype.units[variable]
        assert signal.dimensionality.string == (unit if unit else "dimensionless"), variable
        assert np.all(np.isfinite(signal.magnitude)), variable
    assert len(segment.spiketrains) == 3
    v = recorded["v"].magnitude
    assert np.ptp(v[:, 0]) > 0.01, "the synaptic input should move v"


def test_list_standard_models_has_every_pynn_point_neuron():
    names = pynn_gpu.list_standard_models()
    assert set(PYNN_POINT_NEURONS) <= set(names)
    for name in PYNN_POINT_NEURONS:
        celltype = getattr(pynn_gpu, name)
        assert celltype.model is getattr(pynn_gpu.standardmodels.cells, name).model


# --- IF_curr_delta ----------------------------------------------------------------------------

def test_if_curr_delta_psp_is_a_jump_then_exponential_decay(sim):
    tau_m, v_rest = 12.0, -60.0
    cells = sim.Population(2, sim.IF_curr_delta(tau_m=tau_m, v_rest=v_rest, v_thresh=0.0))
    cells.initialize(v=v_rest)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[[10.0]]))
    sim.Projection(source, cells[0:1], sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=1.5, delay=2.0), receptor_type="excitatory")
    sim.Projection(source, cells[1:2], sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=-0.75, delay=2.0), receptor_type="inhibitory")
    cells.record("v")
    sim.run(60.0)
    signal = _signal(cells, "v")
    t = signal.times.rescale("ms").magnitude
    for column, weight in enumerate((1.5, -0.75)):
        expected = v_rest + np.where(t >= 12.0 - 1e-9, weight * np.exp(-(t - 12.0) / tau_m), 0.0)
        np.testing.assert_allclose(signal.magnitude[:, column], expected, rtol=0, atol=1e-9)


def test_if_curr_delta_drops_input_while_refractory(sim):
    cells = sim.Population(1, sim.IF_curr_delta(tau_refrac=5.0, v_thresh=-60.0, v_reset=-70.0))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[[10.0, 12.0, 20.0]]))
    sim.Projection(source, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=6.0, delay=1.0))
    cells.record(["v", "spikes"])
    sim.run(30.0)
    # the first input crosses threshold at once (spike at its arrival); the second arrives
    # while refractory and is lost; the third makes a plain jump from the relaxing v
    np.testing.assert_allclose(_spikes(cells)[0], [11.0])
    v = _signal(cells, "v").magnitude[:, 0]
    assert np.all(v[111:161] == -70.0)
    assert v[210] == pytest.approx(-65.0 + np.exp(-DT / 20.0) * (v[209] + 65.0) + 6.0, abs=1e-12)


# --- Izhikevich -------------------------------------------------------------------------------

def test_izhikevich_rheobase_and_adaptation(sim):
    a, b = 0.02, 0.2
    v_hopf = (a - 5.0) / 0.08                       # trace of the Jacobian 0.08 v + 5 - a = 0
    i_hopf = -(0.04 * v_hopf ** 2 + (5.0 - b) * v_hopf + 140.0)     # 3.7975
    i_saddle_node = (5.0 - b) ** 2 / 0.16 - 140.0                    # 4
    drive = np.array([0.9 * i_hopf, 0.99 * i_hopf, 1.05 * i_saddle_node,
                      1.5 * i_saddle_node, 2.5 * i_saddle_node])      # the last: I = 10
    # start at the rest state where there is one (the lower root of the v-nullcline with u = b v)
    disc = np.clip((5.0 - b) ** 2 - 0.16 * (140.0 + drive), 0.0, None)
    v_rest = np.where(drive < i_hopf, (-(5.0 - b) - np.sqrt(disc)) / 0.08, -70.0)
    cells = sim.Population(len(drive), sim.Izhikevich(a=a, b=b, c=-65.0, d=8.0,
                                                      i_offset=drive / 1000.0))   # nA
    cells.initialize(v=v_rest, u=b * v_rest)
    cells.record("spikes")
    sim.run(1000.0)
    counts = [len(s) for s in _spikes(cells)]
    assert counts[:2] == [0, 0], "a stable rest state below the Hopf point: no spike"
    assert 0 < counts[2] < counts[3] < counts[4], counts
    isi = np.diff(_spikes(cells)[4])
    assert isi[0] < 0.5 * isi[-1], "regular spiking adapts"
    assert abs(isi[-1] - isi[-2]) <= 0.1 + 1e-9, "to tonic firing"


def test_izhikevich_weight_is_a_jump_in_mv(sim):
    cells = sim.Population(1, sim.Izhikevich())        # starts at its rest state (-70, -14)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[[5.0]]))
    sim.Projection(source, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=3.0,
                                                                              delay=1.0))
    cells.record("v")
    sim.run(10.0)
    v = _signal(cells, "v").magnitude[:, 0]
    np.testing.assert_allclose(v[:60], -70.0, atol=1e-9)
    assert v[60] == pytest.approx(-67.0, abs=1e-9)
    assert v[61] < v[60]                                # and back towards rest


# --- GIF_cond_exp -----------------------------------------------------------------------------

def _gif_held(**extra):
    """GIF parameters that hold v at v_rest: no kernels, no input, no reset."""
    params = dict(tau_eta=[1.0, 10.0, 100.0], a_eta=[0.0, 0.0, 0.0],
                  tau_gamma=[1.0, 10.0, 100.0], a_gamma=[0.0, 0.0, 0.0],
                  v_t_star=-50.0, delta_v=2.0, tau_refrac=0.0)
    params.update(extra)
    return params


def test_gif_escape_noise_statistics(sim):
    n, t_stop = 600, 1000.0
    excess = np.repeat([0.0, 2.0 * np.log(3.0)], n // 2)       # v - v_t_star: lambda x1, x3
    lambda0 = 20.0
    cells = sim.Population(n, sim.GIF_cond_exp(**_gif_held(lambda0=lambda0, v_rest=-50.0 + excess,
                                                            v_reset=-50.0 + excess)))
    cells.initialize(v=-50.0 + excess, v_t=-50.0)
    cells.record("spikes")
    sim.run(t_stop)
    counts = np.array([len(s) for s in _spikes(cells)])
    trials = n // 2 * int(t_stop / DT)
    for group, factor in ((slice(0, n // 2), 1.0), (slice(n // 2, n), 3.0)):
        p = -np.expm1(-lambda0 * factor * 1e-3 * DT)
        expected, sd = trials * p, np.sqrt(trials * p * (1 - p))
        assert abs(counts[group].sum() - expected) < 4 * sd, (counts[group].sum(), expected)


def test_gif_refractoriness_gives_shifted_geometric_intervals(sim):
    lambda0, tau_refrac = 1000.0, 2.0
    cells = sim.Population(200, sim.GIF_cond_exp(**_gif_held(lambda0=lambda0, v_rest=-50.0,
                                                             v_reset=-50.0,
                                                             tau_refrac=tau_refrac)))
    cells.initialize(v=-50.0, v_t=-50.0)
    cells.record("spikes")
    sim.run(500.0)
    isi = np.concatenate([np.diff(s) for s in _spikes(cells)])
    steps = np.round(isi / DT).astype(int)
    r = int(round(tau_refrac / DT))
    p = -np.expm1(-lambda0 * 1e-3 * DT)
    assert steps.min() == r + 1
    assert abs(steps.mean() - (r + 1 / p)) < 4 * np.sqrt((1 - p) / p ** 2 / len(steps))


def test_gif_spike_triggered_current_and_threshold(sim):
    a_eta, tau_eta = [0.2, 0.1, 0.05], [2.0, 10.0, 50.0]
    a_gamma, tau_gamma = [3.0, 2.0, 1.0], [5.0, 20.0, 80.0]
    cells = sim.Population(1, sim.GIF_cond_exp(
        lambda0=1e12, v_t_star=-70.0, delta_v=0.5, tau_refrac=200.0, v_rest=-65.0,
        tau_eta=tau_eta, a_eta=a_eta, tau_gamma=tau_gamma, a_gamma=a_gamma))
    cells.initialize(v_t=-70.0)
    cells.record(["spikes", "i_eta", "v_t", "v"])
    sim.run(100.0)
    assert list(_spikes(cells)[0]) == [DT]          # certain at once, then refractory
    t = np.arange(1001) * DT
    since = np.clip(t - DT, 0, None)
    i_eta = _signal(cells, "i_eta").magnitude[:, 0]
    v_t = _signal(cells, "v_t").magnitude[:, 0]
    expected_eta = sum(a * np.exp(-since / tau) for a, tau in zip(a_eta, tau_eta))
    expected_vt = -70.0 + sum(a * np.exp(-since / tau) for a, tau in zip(a_gamma, tau_gamma))
    np.testing.assert_allclose(i_eta[1:], expected_eta[1:], rtol=1e-12)
    np.testing.assert_allclose(v_t[1:], expected_vt[1:], rtol=1e-12)
    v = _signal(cells, "v").magnitude[:, 0]
    assert np.all(v[2:1001] == -65.0)               # held at v_reset while refractory


def test_gif_array_parameters_round_trip(sim):
    cells = sim.Population(2, sim.GIF_cond_exp(tau_eta=[3.0, 30.0, 300.0]))
    got = cells.get("tau_eta")
    np.testing.assert_allclose(got.value, [3.0, 30.0, 300.0])
    cells.set(a_gamma=ArrayParameter([0.5, 0.25, 0.0]))
    np.testing.assert_allclose(cells.get("a_gamma").value, [0.5, 0.25, 0.0])
    assert cells._data.params["a_gamma1"][0] == 0.25
    two = sim.Population(1, sim.GIF_cond_exp(tau_eta=[5.0, 50.0], a_eta=[0.1, 0.2]))
    np.testing.assert_allclose(two.get("tau_eta").value, [5.0, 50.0, 1.0])
    np.testing.assert_allclose(two.get("a_eta").value, [0.1, 0.2, 0.0])   # padded: inert


# --- IF_cond_exp_gsfa_grr -----------------------------------------------------------------------

def test_gsfa_grr_conductances_jump_at_spikes_and_decay(sim):
    p = dict(tau_sfa=80.0, q_sfa=20.0, tau_rr=3.0, q_rr=500.0, tau_refrac=1.0)
    cells = sim.Population(1, sim.IF_cond_exp_gsfa_grr(i_offset=1.5, **p))
    cells.record(["spikes", "g_s", "g_r", "v"])
    sim.run(300.0)
    spikes = _spikes(cells)[0]
    assert len(spikes) > 4
    isi = np.diff(spikes)
    assert isi[0] < isi[-1], "spike-frequency adaptation"
    g_s, g_r = (_signal(cells, name).magnitude[:, 0] for name in ("g_s", "g_r"))
    steps = np.round(spikes / DT).astype(int)
    for k in steps:
        assert g_s[k] == pytest.approx(g_s[k - 1] * np.exp(-DT / 80.0) + 20.0, rel=1e-12)
        assert g_r[k] == pytest.approx(g_r[k - 1] * np.exp(-DT / 3.0) + 500.0, rel=1e-12)
    between = np.arange(steps[0] + 1, steps[1])
    np.testing.assert_allclose(g_s[between], g_s[steps[0]] * np.exp(-(between - steps[0]) * DT
                                                                    / 80.0), rtol=1e-10)


# --- IF_facets_hardware1 ------------------------------------------------------------------------

def test_facets_hardware1_is_if_cond_exp_with_fixed_values(sim):
    facets = sim.Population(1, sim.IF_facets_hardware1(g_leak=25.0, v_thresh=-57.0))
    plain = sim.Population(1, sim.IF_cond_exp(cm=0.2, tau_m=0.2 / 0.025, tau_refrac=1.0,
                                              e_rev_E=0.0, v_thresh=-57.0, v_reset=-80.0,
                                              e_rev_I=-80.0, tau_syn_E=30.0, tau_syn_I=30.0))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[np.arange(5.0, 60.0, 2.0)]))
    for cells in (facets, plain):
        sim.Projection(source, cells, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.004, delay=1.0))
        cells.record(["v", "spikes", "gsyn_exc"])
    sim.run(80.0)
    assert len(_spikes(facets)[0]) > 0
    np.testing.assert_array_equal(_spikes(facets)[0], _spikes(plain)[0])
    np.testing.assert_allclose(_signal(facets, "v").magnitude, _signal(plain, "v").magnitude,
                               rtol=0, atol=1e-12)
    assert facets.get("g_leak") == pytest.approx(25.0)


# --- AdEx details -------------------------------------------------------------------------------

def test_adex_without_exponential_is_an_adaptive_if(sim):
    """delta_T = 0: no spike current, spikes at v_thresh (NEST)."""
    cells = sim.Population(1, sim.EIF_cond_exp_isfa_ista(delta_T=0.0, a=0.0, b=0.0,
                                                         tau_refrac=0.0, i_offset=1.0))
    cells.record(["v", "spikes"])
    sim.run(50.0)
    v = _signal(cells, "v").magnitude[:, 0]
    assert len(_spikes(cells)[0]) > 0 and v.max() < -50.4 + 1.0


def test_adex_refractory_holds_v_and_w_keeps_evolving(sim):
    cells = sim.Population(1, sim.EIF_cond_exp_isfa_ista(tau_refrac=5.0, i_offset=1.5,
                                                         a=40.0, b=0.1))
    cells.record(["v", "w", "spikes"])
    sim.run(60.0)
    first = _spikes(cells)[0][0]
    k = int(round(first / DT))
    v = _signal(cells, "v").magnitude[:, 0]
    w = _signal(cells, "w").magnitude[:, 0]
    assert np.all(v[k:k + 51] == -70.6)             # rest of the step + 50 steps
    assert v[k + 52] > -70.6
    assert w[k + 50] != w[k + 1]                    # w relaxes towards a (v_reset - v_rest)


# --- parameter errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,params,message", [
    ("IF_curr_delta", dict(tau_m=0.0), "tau_m must be > 0"),
    ("IF_curr_delta", dict(tau_refrac=-1.0), "tau_refrac must be >= 0"),
    ("IF_cond_exp_gsfa_grr", dict(tau_sfa=-1.0), "tau_sfa must be > 0"),
    ("IF_cond_exp_gsfa_grr", dict(q_rr=-1.0), "q_rr must be >= 0"),
    ("EIF_cond_exp_isfa_ista", dict(tau_w=0.0), "tau_w must be > 0"),
    ("EIF_cond_exp_isfa_ista", dict(delta_T=-1.0), "delta_T must be >= 0"),
    ("EIF_cond_exp_isfa_ista", dict(v_spike=-60.0), "v_spike must be >= v_thresh"),
    ("EIF_cond_alpha_isfa_ista", dict(v_reset=-30.0), "v_reset must be below v_spike"),
    ("EIF_cond_alpha_isfa_ista", dict(delta_T=0.01, v_spike=0.0), "delta_T"),
    ("HH_cond_exp", dict(cm=-0.2), "cm must be > 0"),
    ("HH_cond_exp", dict(gbar_Na=-1.0), "gbar_Na must be >= 0"),
    ("Izhikevich", dict(a=-0.02), "a must be >= 0"),
    ("Izhikevich", dict(c=35.0), "c .* must be below"),
    ("GIF_cond_exp", dict(delta_v=0.0), "delta_v must be > 0"),
    ("GIF_cond_exp", dict(lambda0=-1.0), "lambda0 must be >= 0"),
    ("GIF_cond_exp", dict(tau_eta=[1.0, -2.0, 3.0]), "tau_eta1 must be > 0"),
    ("GIF_cond_exp", dict(tau_gamma=[1.0, 2.0, 3.0, 4.0], a_gamma=[1.0, 1.0, 1.0, 1.0]),
     "at most 3"),
    ("GIF_cond_exp", dict(tau_eta=[1.0, 2.0]), "same length"),
    ("IF_facets_hardware1", dict(tau_syn_E=0.0), "tau_syn_E must be > 0"),
])
def test_parameter_errors(sim, name, params, message):
    with pytest.raises(errors.InvalidParameterValueError, match=message):
        sim.Population(2, getattr(sim, name)(**params))


@pytest.mark.parametrize("name,param,value", [
    ("IF_curr_delta", "cm", 0.0), ("EIF_cond_alpha_isfa_ista", "tau_syn_E", 0.0),
    ("HH_cond_exp", "tau_syn_I", -1.0), ("GIF_cond_exp", "tau_m", -1.0),
    ("IF_cond_exp_gsfa_grr", "tau_rr", 0.0),
])
def test_rejected_set_changes_nothing(sim, name, param, value):
    cells = sim.Population(3, getattr(sim, name)())
    before = cells.get(param, simplify=False).copy()
    with pytest.raises(errors.InvalidParameterValueError):
        cells.set(**{param: np.array([1.0, value, 1.0])})
    np.testing.assert_array_equal(cells.get(param, simplify=False), before)


# --- AdEx and HH against pyNN.brian2 ------------------------------------------------------------

def _reference_files():
    return sorted(glob.glob(os.path.join(REFERENCE_DIR, "*.npz")))


def run_protocol(protocol, dt=DT):
    """The protocol of a reference file on pyNN.gpu: (spike times, {variable: trace})."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_reference", os.path.join(
        os.path.dirname(__file__), "..", "..", "benchmarks", "validation", "make_reference.py"))
    make_reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_reference)
    sim = pynn_gpu
    sim.setup(timestep=dt, target="cpu")
    try:
        cell = make_reference.build(sim, protocol)
        cell.record(["spikes"] + protocol["record"], sampling_interval=DT)
        sim.run(protocol["t_stop"])
        segment = cell.get_data().segments[0]
        return (np.asarray(segment.spiketrains[0].magnitude),
                {s.name: np.asarray(s.magnitude)[:, 0] for s in segment.analogsignals})
    finally:
        sim.end()


def compare_with_reference(path, dt=DT):
    """Differences between pyNN.gpu and the reference of one file."""
    reference = np.load(path)
    protocol = json.loads(str(reference["protocol"]))
    spikes, traces = run_protocol(protocol, dt)
    hh = protocol["celltype"] == "HH_cond_exp"
    ref_spikes = reference["ap_peaks"] if hh else reference["spikes"]
    n = min(len(traces["v"]), len(reference["trace_v"]))
    t = np.arange(n) * DT
    away = np.ones(n, dtype=bool)
    for s in np.concatenate([spikes, ref_spikes]):
        away &= ~((t > s - 1.0) & (t < s + 0.5))
    result = {"protocol": protocol, "spikes": spikes, "reference": ref_spikes, "state": {}}
    for name, values in traces.items():
        error = np.abs(values[:n] - reference[f"trace_{name}"][:n])
        result["state"][name] = float(error[away].max())
    return result


# Tolerances (justification in docs/numerics.md):
# * spikes: pyNN.gpu reports a spike at the end of its step, so against Brian 2's time (at
#   1 us) it is late by [0, dt); allowed besides: 0.01 ms of integration error (measured
#   0.002 ms). HH: NEST's detection fires at the first step end after the peak with v lower
#   than at the step's start: [0, 2 dt) after the peak. With tau_refrac > 0 NEST's (and
#   pyNN.gpu's) refractoriness ends on the grid, up to dt after Brian 2's, and the lag can
#   add up from spike to spike: spike k (from 0) may be (k + 1) dt late.
# * state, away from spikes (1 ms before to 0.5 ms after): a few times the largest measured
#   difference. For AdEx v that difference (0.057 mV after 17 fast spikes) is the reference's:
#   Brian 2 resets at the end of its 1 us step, and shrinking pyNN.gpu's sub-step leaves it
#   at 0.049 mV. Conductances are exact in both (the reference script lands inputs at
#   t_spike + delay, as pyNN.gpu and NEST do).
STATE_TOLERANCE = {"EIF": {"v": 0.1, "w": 1e-4, "gsyn_exc": 1e-9, "gsyn_inh": 1e-9},
                   "HH": {"v": 0.02, "m": 5e-4, "h": 1e-4, "n": 1e-4, "gsyn_exc": 1e-9,
                          "gsyn_inh": 1e-9}}


@pytest.mark.parametrize("path", _reference_files(), ids=lambda p: os.path.basename(p)[:-4])
def test_agrees_with_brian2(path):
    result = compare_with_reference(path)
    protocol, spikes, reference = result["protocol"], result["spikes"], result["reference"]
    assert len(reference) > 0
    assert len(spikes) == len(reference)
    late = spikes - reference
    if protocol["celltype"] == "HH_cond_exp":
        assert np.all(late > -0.01) and np.all(late < 2 * DT + 0.01), late
    elif protocol["params"].get("tau_refrac", 0.0) > 0:
        assert np.all(late > -0.01) and np.all(late < DT * np.arange(1, len(late) + 1)), late
        return      # the states are shifted in time by the refractory semantics
    else:
        assert np.all(late > -0.01) and np.all(late < DT + 0.01), late
    tolerances = STATE_TOLERANCE[protocol["celltype"][:3].upper().rstrip("_")]
    assert set(tolerances) == set(result["state"])
    for name, tolerance in tolerances.items():
        assert result["state"][name] < tolerance, (name, result["state"][name])


def test_reference_files_cover_adex_and_hh():
    names = {os.path.basename(p) for p in _reference_files()}
    for prefix in ("adex_exp_", "adex_alpha_", "hh_"):
        assert any(name.startswith(prefix) for name in names), prefix


def main():
    """Print the comparison table of docs/numerics.md."""
    print("| protocol | spikes (Brian 2 / pyNN.gpu) | spike lag min..max (ms) | "
          "max abs state difference away from spikes |")
    print("|---|---|---|---|")
    for path in _reference_files():
        result = compare_with_reference(path)
        late = result["spikes"] - result["reference"] if len(result["spikes"]) == len(
            result["reference"]) else np.array([np.nan])
        state = ", ".join(f"{k} {v:.1e}" for k, v in sorted(result["state"].items()))
        print(f"| {os.path.basename(path)[:-4]} | {len(result['reference'])} / "
              f"{len(result['spikes'])} | {late.min():.3f}..{late.max():.3f} | {state} |")


if __name__ == "__main__":
    main()
