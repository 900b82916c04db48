"""
PyNN's composable PointNeuron: compositions that equal a monolithic model give its results
(same spikes, voltages to rounding), each receptor follows its closed-form time course and
takes only its own input, the recordables and parameters have PyNN's names, and bad
compositions, names and values are refused with PyNN's error classes.
"""

import numpy as np
import pytest
from pyNN import errors
from pyNN.parameters import Sequence

import pynn_gpu

DT = 0.1
# the composed arithmetic is the monolithic one, term for term; this leaves room for a last-bit
# difference should a compiler ever order them differently
V_TOLERANCE = 1e-9      # mV
G_TOLERANCE = 1e-12     # uS or nA


def _spike_times(n, start, period):
    return Sequence(start + period * np.arange(n))


def _drive(sim, cells, excitatory, inhibitory, current_based):
    """Excitatory and inhibitory spike trains with two delays, into every cell."""
    sources = sim.Population(2, sim.SpikeSourceArray(spike_times=[
        _spike_times(30, 5.0, 7.3), _spike_times(20, 8.0, 11.1)]))
    inhibitory_weight = -0.4 if current_based else 0.03
    excitatory_weight = 0.9 if current_based else 0.02
    sim.Projection(sources[0:1], cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=excitatory_weight, delay=1.0),
                   receptor_type=excitatory)
    sim.Projection(sources[1:2], cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=inhibitory_weight, delay=2.0),
                   receptor_type=inhibitory)


OFFSETS = [0.0, 0.6, 1.2, 2.0]      # nA: one cell below threshold, three firing


def _monolith_and_composed(sim):
    return [
        ("IF_curr_exp",
         sim.IF_curr_exp(tau_m=10.0, v_rest=-60.0, tau_syn_E=1.0, tau_syn_I=2.0,
                         tau_refrac=2.0, i_offset=OFFSETS),
         sim.PointNeuron(sim.LIF(tau_m=10.0, v_rest=-60.0, tau_refrac=2.0, i_offset=OFFSETS),
                         excitatory=sim.CurrExpPostSynapticResponse(tau_syn=1.0),
                         inhibitory=sim.CurrExpPostSynapticResponse(tau_syn=2.0)),
         {}),     # PyNN's IF_curr_exp records no synaptic currents
        ("IF_cond_exp",
         sim.IF_cond_exp(tau_syn_E=2.0, tau_syn_I=4.0, e_rev_I=-75.0, tau_refrac=2.0,
                         i_offset=OFFSETS),
         sim.PointNeuron(sim.LIF(tau_refrac=2.0, i_offset=OFFSETS),
                         excitatory=sim.CondExpPostSynapticResponse(tau_syn=2.0, e_syn=0.0),
                         inhibitory=sim.CondExpPostSynapticResponse(tau_syn=4.0, e_syn=-75.0)),
         {"gsyn_exc": "excitatory.gsyn", "gsyn_inh": "inhibitory.gsyn"}),
        ("IF_cond_alpha",
         sim.IF_cond_alpha(tau_syn_E=2.0, tau_syn_I=4.0, e_rev_I=-75.0, i_offset=OFFSETS),
         sim.PointNeuron(sim.LIF(i_offset=OFFSETS),
                         excitatory=sim.CondAlphaPostSynapticResponse(tau_syn=2.0, e_syn=0.0),
                         inhibitory=sim.CondAlphaPostSynapticResponse(tau_syn=4.0, e_syn=-75.0)),
         {"gsyn_exc": "excitatory.gsyn", "gsyn_inh": "inhibitory.gsyn"}),
        ("EIF_cond_exp_isfa_ista",
         sim.EIF_cond_exp_isfa_ista(tau_syn_E=2.0, tau_syn_I=4.0, e_rev_I=-75.0,
                                    tau_refrac=1.0, i_offset=OFFSETS),
         sim.PointNeuron(sim.AdExp(tau_refrac=1.0, i_offset=OFFSETS),
                         excitatory=sim.CondExpPostSynapticResponse(tau_syn=2.0, e_syn=0.0),
                         inhibitory=sim.CondExpPostSynapticResponse(tau_syn=4.0, e_syn=-75.0)),
         {"w": "w", "gsyn_exc": "excitatory.gsyn", "gsyn_inh": "inhibitory.gsyn"}),
        ("EIF_cond_alpha_isfa_ista",
         sim.EIF_cond_alpha_isfa_ista(tau_syn_E=2.0, tau_syn_I=4.0, e_rev_I=-75.0,
                                      i_offset=OFFSETS),
         sim.PointNeuron(sim.AdExp(i_offset=OFFSETS),
                         excitatory=sim.CondAlphaPostSynapticResponse(tau_syn=2.0, e_syn=0.0),
                         inhibitory=sim.CondAlphaPostSynapticResponse(tau_syn=4.0, e_syn=-75.0)),
         {"w": "w", "gsyn_exc": "excitatory.gsyn", "gsyn_inh": "inhibitory.gsyn"}),
    ]


@pytest.mark.parametrize("index, name", list(enumerate(
    ["IF_curr_exp", "IF_cond_exp", "IF_cond_alpha", "EIF_cond_exp_isfa_ista",
     "EIF_cond_alpha_isfa_ista"])))
def test_composition_equals_monolithic_model(sim, index, name):
    label, monolith, composed, variables = _monolith_and_composed(sim)[index]
    assert label == name
    cells = {}
    for key, celltype in (("monolith", monolith), ("composed", composed)):
        cells[key] = sim.Population(len(OFFSETS), celltype)
        _drive(sim, cells[key], "excitatory", "inhibitory",
               current_based=not celltype.conductance_based)
    cells["monolith"].record(["spikes", "v", *variables])
    cells["composed"].record(["spikes", "v", *variables.values()])
    sim.run(200.0)
    mono = cells["monolith"].get_data().segments[0]
    comp = cells["composed"].get_data().segments[0]
    spikes = [len(st) for st in mono.spiketrains]
    assert spikes[0] == 0 and spikes[-1] > 0, f"one cell silent, others firing: {spikes}"
    for a, b in zip(mono.spiketrains, comp.spiketrains):
        np.testing.assert_array_equal(a.magnitude, b.magnitude)
    np.testing.assert_allclose(comp.filter(name="v")[0].magnitude,
                               mono.filter(name="v")[0].magnitude, rtol=0, atol=V_TOLERANCE)
    for mono_name, comp_name in variables.items():
        traces = (mono.filter(name=mono_name)[0].magnitude,
                  comp.filter(name=comp_name)[0].magnitude)
        assert np.abs(traces[0]).max() > 0, f"{mono_name} should see input"
        np.testing.assert_allclose(traces[1], traces[0], rtol=1e-12, atol=G_TOLERANCE,
                                   err_msg=comp_name)


def _spike_into_each_receptor(sim, cells, arrivals, weights, delay, connector):
    """One spike into each named receptor of `cells`, arriving at arrivals[name] (ms)."""
    sources = sim.Population(len(arrivals), sim.SpikeSourceArray(
        spike_times=[Sequence([arrivals[name] - delay]) for name in arrivals]))
    for k, name in enumerate(arrivals):
        sim.Projection(sources[k:k + 1], cells, connector(),
                       sim.StaticSynapse(weight=weights[name], delay=delay), receptor_type=name)


def _beta(t, w, tau_rise, tau_decay):
    """Closed form of a beta conductance peaking at w; the alpha function if the taus agree."""
    t = np.clip(t, 0.0, None)
    if tau_rise == tau_decay:
        return w * (t / tau_decay) * np.exp(1.0 - t / tau_decay)
    t_peak = np.log(tau_decay / tau_rise) / (1.0 / tau_rise - 1.0 / tau_decay)
    peak = np.exp(-t_peak / tau_decay) - np.exp(-t_peak / tau_rise)
    return w / peak * (np.exp(-t / tau_decay) - np.exp(-t / tau_rise))


@pytest.mark.parametrize("neuron", ["LIF", "AdExp"])
def test_cond_beta_follows_closed_form(sim, neuron):
    # the last: the limit tau_rise -> tau_decay, compared with the alpha function below
    taus = [(0.2, 1.7), (2.0, 30.0), (3.0, 3.0), (5.0, 1.0), (1.0, 1.0 + 1e-9)]
    celltype = sim.PointNeuron(getattr(sim, neuron)(),
                               NMDA=sim.CondBetaPostSynapticResponse(e_syn=0.0))
    cells = sim.Population(len(taus), celltype)
    cells.set(**{"NMDA.tau_rise": [r for r, _ in taus], "NMDA.tau_decay": [d for _, d in taus]})
    weights = 0.001 * np.arange(1, len(taus) + 1)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    sim.Projection(source, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=weights[:, np.newaxis].T, delay=1.5),
                   receptor_type="NMDA")
    cells.record(["NMDA.gsyn", "v"])
    sim.run(100.0)
    segment = cells.get_data().segments[0]
    signal = segment.filter(name="NMDA.gsyn")[0]
    assert str(signal.units.dimensionality) == "uS"
    t = signal.times.magnitude
    arrival = 11.5     # spike at 10 ms, delay 1.5 ms: the conductance starts at 11.5 ms
    for k, (tau_rise, tau_decay) in enumerate(taus):
        if k < len(taus) - 1:
            expected, rtol = _beta(t - arrival, weights[k], tau_rise, tau_decay), 1e-9
        else:
            expected, rtol = _beta(t - arrival, weights[k], 1.0, 1.0), 1e-7
        expected = np.where(t >= arrival, expected, 0.0)
        np.testing.assert_allclose(signal.magnitude[:, k], expected, rtol=rtol, atol=1e-15,
                                   err_msg=f"tau_rise={tau_rise}, tau_decay={tau_decay}")
        # sampled on the grid the peak is at most w, and within the curvature of one step of it
        assert weights[k] * 0.97 < signal.magnitude[:, k].max() <= weights[k] * (1 + 1e-12)
    v = segment.filter(name="v")[0].magnitude
    soon_after = (t > arrival + 0.5) & (t < arrival + 5.0)
    assert np.all(v[soon_after] > v[0] + 1e-6), "an excitatory conductance depolarises"


# 200 uS: the stiff sub-steps, whose integration error (docs/numerics.md: up to about 1e-2
# mV) depends on which time constant the state variables decay with
@pytest.mark.parametrize("weight, tolerance", [(0.5, 1e-12), (200.0, 1e-3)])
def test_cond_beta_with_a_decay_faster_than_its_rise(sim, target, weight, tolerance):
    """The beta time course is symmetric in its time constants: tau_decay 1e-4 ms under a
    rise of 0.2 ms gives what the swapped pair gives (its factors overflowed to inf * 0:
    v was NaN from the first step)."""
    def trace(tau_rise, tau_decay):
        sim.setup(timestep=0.1, target=target)
        cell = sim.Population(1, sim.PointNeuron(sim.LIF(v_thresh=0.0), AMPA=(
            sim.CondBetaPostSynapticResponse(tau_rise=tau_rise, tau_decay=tau_decay,
                                             e_syn=0.0))))
        source = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0]))
        sim.Projection(source, cell, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=weight, delay=1.0), receptor_type="AMPA")
        cell.record("v")
        sim.run(20.0)
        return cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]

    fast_decay, fast_rise = trace(0.2, 1e-4), trace(1e-4, 0.2)
    assert np.all(np.isfinite(fast_decay)) and fast_rise.max() > fast_rise[0] + 0.1
    np.testing.assert_allclose(fast_decay, fast_rise, rtol=tolerance, atol=tolerance)


def test_named_receptors_take_their_own_input(sim):
    """Four receptors of three kinds, each driven once at its own time: every conductance is
    zero until its own input arrives and then follows its own time course."""
    celltype = sim.PointNeuron(
        sim.AdExp(tau_m=10.0, v_rest=-60.0),
        AMPA=sim.CondExpPostSynapticResponse(tau_syn=1.0, e_syn=0.0),
        NMDA=sim.CondBetaPostSynapticResponse(tau_rise=3.0, tau_decay=40.0, e_syn=0.0),
        GABAA=sim.CondAlphaPostSynapticResponse(tau_syn=1.5, e_syn=-70.0),
        GABAB=sim.CondAlphaPostSynapticResponse(tau_syn=15.0, e_syn=-90.0))
    assert celltype.receptor_types == ["AMPA", "GABAA", "GABAB", "NMDA"]
    cells = sim.Population(2, celltype, initial_values={"v": -60.0})
    arrivals = {"AMPA": 21.0, "GABAA": 51.0, "NMDA": 81.0, "GABAB": 141.0}
    weights = {"AMPA": 0.01, "GABAA": 0.1, "NMDA": 0.005, "GABAB": 0.02}
    _spike_into_each_receptor(sim, cells, arrivals, weights, 1.0, sim.AllToAllConnector)
    cells.record(["v"] + [f"{name}.gsyn" for name in arrivals])
    sim.run(200.0)
    segment = cells.get_data().segments[0]
    shapes = {"AMPA": lambda s: np.exp(-s / 1.0),
              "GABAA": lambda s: _beta(s, 1.0, 1.5, 1.5),
              "GABAB": lambda s: _beta(s, 1.0, 15.0, 15.0),
              "NMDA": lambda s: _beta(s, 1.0, 3.0, 40.0)}
    for name, arrival in arrivals.items():
        signal = segment.filter(name=f"{name}.gsyn")[0]
        t = signal.times.magnitude
        g = signal.magnitude
        assert np.all(g[t < arrival - 1e-9] == 0.0), f"{name} moved before its input"
        expected = np.where(t >= arrival - 1e-9, weights[name] * shapes[name](t - arrival), 0.0)
        np.testing.assert_allclose(g, np.repeat(expected[:, np.newaxis], 2, axis=1),
                                   rtol=1e-9, atol=1e-15, err_msg=name)
    v = segment.filter(name="v")[0].magnitude[:, 0]
    t = segment.filter(name="v")[0].times.magnitude
    assert v[(t > 21) & (t < 30)].max() > -59.0          # AMPA depolarises
    assert v[(t > 51) & (t < 60)].min() < -61.0          # GABAA hyperpolarises
    assert v[(t > 141) & (t < 190)].min() < -61.0        # GABAB hyperpolarises


def test_three_current_receptors_are_exact(sim):
    """LIF with three CurrExp receptors: v is the sum of the three exact PSPs."""
    tau_m, cm, v_rest = 10.0, 0.5, -60.0
    taus = {"fast": 0.5, "medium": 4.0, "slow": 10.0}      # 'slow' equals tau_m: the limit case
    weights = {"fast": 0.3, "medium": 0.2, "slow": -0.1}
    arrivals = {"fast": 12.0, "medium": 30.0, "slow": 45.0}
    celltype = sim.PointNeuron(
        sim.LIF(tau_m=tau_m, cm=cm, v_rest=v_rest, v_thresh=0.0),
        **{name: sim.CurrExpPostSynapticResponse(tau_syn=tau) for name, tau in taus.items()})
    cells = sim.Population(1, celltype, initial_values={"v": v_rest})
    _spike_into_each_receptor(sim, cells, arrivals, weights, 2.0, sim.OneToOneConnector)
    cells.record(["v"] + [f"{name}.isyn" for name in taus])
    sim.run(100.0)
    segment = cells.get_data().segments[0]
    t = segment.filter(name="v")[0].times.magnitude
    expected_v = np.full_like(t, v_rest)
    for name, tau in taus.items():
        s = np.clip(t - arrivals[name], 0.0, None)
        current = np.where(t >= arrivals[name], weights[name] * np.exp(-s / tau), 0.0)
        isyn = segment.filter(name=f"{name}.isyn")[0]
        assert str(isyn.units.dimensionality) == "nA"
        np.testing.assert_allclose(isyn.magnitude[:, 0], current, rtol=1e-12, atol=1e-15)
        if tau == tau_m:
            psp = weights[name] / cm * s * np.exp(-s / tau)
        else:
            psp = weights[name] / cm * (np.exp(-s / tau) - np.exp(-s / tau_m)) / (
                1.0 / tau_m - 1.0 / tau)
        expected_v += psp
    np.testing.assert_allclose(segment.filter(name="v")[0].magnitude[:, 0], expected_v,
                               rtol=0, atol=1e-11)


def test_recordables_units_and_initial_values(sim):
    celltype = sim.PointNeuron(sim.AdExp(),
                               AMPA=sim.AlphaPSR(tau_syn=2.0),
                               NMDA=sim.BetaPSR(),
                               GABA=sim.ExpPSR(e_syn=-80.0))
    assert celltype.recordable == ["spikes", "v", "w", "AMPA.gsyn", "GABA.gsyn", "NMDA.gsyn"]
    cells = sim.Population(3, celltype, initial_values={"AMPA.gsyn": 0.05, "v": -65.0})
    cells.initialize(**{"GABA.gsyn": [0.0, 0.1, 0.2]})
    cells.record(celltype.recordable)
    sim.run(10.0)
    segment = cells.get_data().segments[0]
    signals = {s.name: s for s in segment.analogsignals}
    assert set(signals) == {"v", "w", "AMPA.gsyn", "GABA.gsyn", "NMDA.gsyn"}
    units = {name: str(s.units.dimensionality) for name, s in signals.items()}
    assert units == {"v": "mV", "w": "nA", "AMPA.gsyn": "uS", "GABA.gsyn": "uS",
                     "NMDA.gsyn": "uS"}
    t = signals["v"].times.magnitude
    # with no input the conductances start where initialised and decay (alpha: its g part)
    np.testing.assert_allclose(signals["AMPA.gsyn"].magnitude[:, 1], 0.05 * np.exp(-t / 2.0),
                               rtol=1e-12)
    np.testing.assert_allclose(signals["GABA.gsyn"].magnitude[:, 2], 0.2 * np.exp(-t / 5.0),
                               rtol=1e-12)
    assert signals["v"].magnitude[0, 0] == -65.0
    assert np.all(signals["NMDA.gsyn"].magnitude == 0.0)
    assert signals["v"].magnitude[-1, 2] < signals["v"].magnitude[-1, 0], \
        "an inhibitory conductance initialised above zero hyperpolarises"


def test_get_set_between_runs_and_heterogeneous_values(sim):
    celltype = sim.PointNeuron(sim.LIF(tau_m=[10.0, 20.0, 30.0]),
                               AMPA=sim.CondExpPostSynapticResponse(tau_syn=2.0))
    cells = sim.Population(3, celltype)
    assert list(cells.get("tau_m")) == [10.0, 20.0, 30.0]
    assert cells.get("AMPA.tau_syn") == 2.0
    cells[1:].set(**{"AMPA.tau_syn": [4.0, 8.0]})
    assert list(cells.get("AMPA.tau_syn")) == [2.0, 4.0, 8.0]
    assert cells.get(["AMPA.e_syn", "v_thresh"]) == [0.0, -50.0]
    cells.record("AMPA.gsyn")
    cells.initialize(**{"AMPA.gsyn": 0.01})
    sim.run(20.0)
    cells.set(**{"AMPA.tau_syn": 1.0})
    sim.run(20.0)
    g = cells.get_data().segments[0].filter(name="AMPA.gsyn")[0].magnitude
    ratio = g[1:] / g[:-1]          # free decay: exp(-dt / tau_syn) from sample to sample
    np.testing.assert_allclose(ratio[:200], np.broadcast_to(np.exp(-DT / np.array([2.0, 4.0, 8.0])), (200, 3)), rtol=1e-12)
    np.testing.assert_allclose(ratio[200:], np.exp(-DT / 1.0), rtol=1e-12)


def test_describe_names_the_composition(sim):
    celltype = sim.PointNeuron(sim.LIF(), AMPA=sim.AlphaPSR(), GABAA=sim.ExpPSR(e_syn=-70.0))
    cells = sim.Population(2, celltype, label="composed")
    text = cells.describe()
    assert "PointNeuron(LIF, AMPA=CondAlphaPostSynapticResponse, " \
           "GABAA=CondExpPostSynapticResponse)" in text
    context = celltype.describe(template=None)
    assert context["default_parameters"]["GABAA.e_syn"] == 0.0
    assert context["parameters"]["GABAA.e_syn"].base_value == -70.0


# --- errors ---------------------------------------------------------------------------------

def test_unknown_receptor_names_are_refused(sim):
    cells = sim.Population(1, sim.PointNeuron(sim.LIF(), AMPA=sim.ExpPSR(), GABAA=sim.ExpPSR()))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    with pytest.raises(errors.ConnectionError, match="AMPA', 'GABAA"):
        sim.Projection(source, cells, sim.AllToAllConnector(), receptor_type="NMDA")
    with pytest.raises(errors.ConnectionError):
        sim.Projection(source, cells, sim.AllToAllConnector(), receptor_type="excitatory")
    with pytest.raises(errors.RecordingError):
        cells.record("NMDA.gsyn")
    with pytest.raises(errors.RecordingError):
        cells.record("AMPA.isyn")


@pytest.mark.parametrize("part, name, value, message", [
    ("AMPA", "tau_syn", 0.0, "AMPA.tau_syn must be > 0"),
    ("NMDA", "tau_rise", -1.0, "NMDA.tau_rise must be > 0"),
    ("NMDA", "tau_decay", 0.0, "NMDA.tau_decay must be > 0"),
    ("neuron", "tau_m", -5.0, "tau_m must be > 0"),
    ("neuron", "tau_w", 0.0, "tau_w must be > 0"),
    ("neuron", "tau_refrac", -0.1, "tau_refrac must be >= 0"),
])
def test_invalid_values_name_the_parameter_and_range(sim, part, name, value, message):
    def celltype(bad_part=None, **bad):
        def values(which):
            return bad if which == bad_part else {}
        return sim.PointNeuron(sim.AdExp(**values("neuron")), AMPA=sim.AlphaPSR(**values("AMPA")),
                               NMDA=sim.BetaPSR(**values("NMDA")))

    with pytest.raises(errors.InvalidParameterValueError, match=message):
        sim.Population(2, celltype(part, **{name: value}))
    cells = sim.Population(2, celltype())
    pynn_name = name if part == "neuron" else f"{part}.{name}"
    before = cells.get(pynn_name, simplify=False).copy()
    with pytest.raises(errors.InvalidParameterValueError, match=message):
        cells.set(**{pynn_name: [1.0, value]})
    np.testing.assert_array_equal(cells.get(pynn_name, simplify=False), before)


def test_bad_compositions_are_refused(sim):
    with pytest.raises(errors.InvalidModelError, match="cannot mix"):
        sim.PointNeuron(sim.LIF(), AMPA=sim.ExpPSR(), inh=sim.CurrExpPostSynapticResponse())
    with pytest.raises(errors.InvalidModelError, match="at least one receptor"):
        sim.PointNeuron(sim.LIF())
    with pytest.raises(errors.InvalidModelError, match="LIF or AdExp"):
        sim.PointNeuron(sim.IF_curr_exp(), AMPA=sim.ExpPSR())
    with pytest.raises(errors.InvalidModelError, match="cannot be used in generated code"):
        sim.PointNeuron(sim.LIF(), **{"int": sim.ExpPSR()})
    with pytest.raises(errors.InvalidModelError, match="also a variable of AdExp"):
        sim.PointNeuron(sim.AdExp(), a=sim.ExpPSR())
    with pytest.raises(errors.NonExistentParameterError):
        sim.Population(1, sim.PointNeuron(sim.LIF(), AMPA=sim.ExpPSR())).set(
            **{"AMPA.tau_rise": 1.0})
    with pytest.raises(errors.NonExistentParameterError):
        sim.Population(1, sim.PointNeuron(sim.LIF(), AMPA=sim.ExpPSR())).get("GABA.e_syn")


def test_compositions_share_code_and_differ_by_receptors(cpu_sim):
    sim = cpu_sim
    a = sim.PointNeuron(sim.LIF(tau_m=5.0), AMPA=sim.ExpPSR(), GABA=sim.ExpPSR())
    b = sim.PointNeuron(sim.LIF(tau_m=50.0), GABA=sim.ExpPSR(e_syn=-80.0), AMPA=sim.ExpPSR())
    c = sim.PointNeuron(sim.LIF(), AMPA=sim.AlphaPSR(), GABA=sim.ExpPSR())
    assert a.model.name == b.model.name and a.model.update == b.model.update
    assert c.model.name != a.model.name


# --- C and CUDA targets ----------------------------------------------------------------------

def _network_of_compositions(sim):
    """Every scheme: LIF exact, LIF with conductances, AdExp with every receptor kind."""
    sources = sim.Population(3, sim.SpikeSourceArray(spike_times=[
        _spike_times(25, 3.0, 3.1), _spike_times(15, 6.0, 5.3), _spike_times(10, 4.0, 8.7)]))
    compositions = {
        "lif_curr": (sim.PointNeuron(sim.LIF(tau_refrac=1.0, i_offset=[0.5, 1.5]),
                                     r1=sim.CurrExpPostSynapticResponse(tau_syn=1.0),
                                     r2=sim.CurrExpPostSynapticResponse(tau_syn=3.0),
                                     r3=sim.CurrExpPostSynapticResponse(tau_syn=6.0)),
                     (1.0, 0.5, -0.75)),
        "lif_cond": (sim.PointNeuron(sim.LIF(i_offset=[0.5, 1.5]), r1=sim.ExpPSR(),
                                     r2=sim.AlphaPSR(e_syn=-80.0),
                                     r3=sim.BetaPSR(tau_rise=1.0, tau_decay=9.0)),
                     (0.03125, 0.0625, 0.015625)),
        "adex_cond": (sim.PointNeuron(sim.AdExp(i_offset=[0.5, 1.5]), r1=sim.ExpPSR(),
                                      r2=sim.AlphaPSR(e_syn=-80.0),
                                      r3=sim.BetaPSR(tau_rise=1.0, tau_decay=9.0)),
                      (0.03125, 0.0625, 0.015625)),
        "adex_curr": (sim.PointNeuron(sim.AdExp(i_offset=[0.5, 1.5]),
                                      r1=sim.CurrExpPostSynapticResponse(tau_syn=1.0),
                                      r2=sim.CurrExpPostSynapticResponse(tau_syn=3.0),
                                      r3=sim.CurrExpPostSynapticResponse(tau_syn=6.0)),
                      (0.5, 0.25, -0.5)),
    }
    populations = {}
    for label, (celltype, weights) in compositions.items():
        cells = sim.Population(2, celltype, label=label)
        for k, (receptor, weight) in enumerate(zip(("r1", "r2", "r3"), weights)):
            sim.Projection(sources[k:k + 1], cells, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=weight, delay=1.0 + k),
                           receptor_type=receptor)
        cells.record(celltype.recordable)
        populations[label] = cells
    return populations


def _simulate(target):
    sim = pynn_gpu
    sim.setup(timestep=DT, target=target)
    try:
        populations = _network_of_compositions(sim)
        sim.run(80.0)
        result = {}
        for label, cells in populations.items():
            segment = cells.get_data().segments[0]
            result[label] = ([st.magnitude for st in segment.spiketrains],
                             {s.name: s.magnitude for s in segment.analogsignals})
        return result
    finally:
        sim.end()


def test_c_and_cuda_targets_agree(cuda_backend):
    cpu = _simulate("cpu")
    gpu = _simulate("cuda")
    for label, (spikes, signals) in cpu.items():
        assert sum(len(s) for s in spikes) > 0, f"{label} should fire"
        for a, b in zip(spikes, gpu[label][0]):
            np.testing.assert_array_equal(a, b, err_msg=label)
        for name, values in signals.items():
            # exp() of glibc and CUDA may differ in the last bit (AdExp): docs/numerics.md
            exact = cuda_backend is not None or label.startswith("lif")
            np.testing.assert_allclose(gpu[label][1][name], values, rtol=0 if exact else 1e-9,
                                       atol=0 if exact else 1e-9, err_msg=f"{name} of {label}")
