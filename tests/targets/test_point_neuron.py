"""
PointNeuron (PyNN's composable neuron): with two receptors named "excitatory" and
"inhibitory" it is exactly the fixed model it generalises (same scheme, same operations);
with more receptors, each one has its own time constant and reversal potential, and its
parameters and variables are reached under PyNN's dotted names.
"""

import numpy as np
import pytest
from pyNN import errors
from pyNN.random import NumpyRNG, RandomDistribution

DRIVE = dict(i_offset=np.array([0.0, 0.6, 1.2, 2.0]))


def _drive(sim, cells, conductance):
    """Excitatory and inhibitory Poisson-like input (fixed spike times) into `cells`."""
    rng = np.random.default_rng(3)
    times = [np.sort(rng.uniform(1.0, 190.0, 40)).round(1) for _ in range(6)]
    sources = sim.Population(6, sim.SpikeSourceArray(spike_times=times))
    w_exc, w_inh = (0.01, 0.02) if conductance else (0.8, -0.6)
    sim.Projection(sources[:4], cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w_exc, delay=1.0), receptor_type="excitatory")
    sim.Projection(sources[4:], cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w_inh, delay=1.5), receptor_type="inhibitory")


CASES = {
    "IF_curr_exp": ("LIF", "CurrExpPostSynapticResponse", dict(tau_syn_E=2.0, tau_syn_I=8.0)),
    "IF_cond_exp": ("LIF", "CondExpPostSynapticResponse",
                    dict(tau_syn_E=2.0, tau_syn_I=8.0, e_rev_E=0.0, e_rev_I=-75.0)),
    "IF_cond_alpha": ("LIF", "CondAlphaPostSynapticResponse",
                      dict(tau_syn_E=2.0, tau_syn_I=8.0, e_rev_E=0.0, e_rev_I=-75.0)),
    "EIF_cond_exp_isfa_ista": ("AdExp", "CondExpPostSynapticResponse",
                               dict(tau_syn_E=2.0, tau_syn_I=8.0, e_rev_E=0.0, e_rev_I=-75.0)),
    "EIF_cond_alpha_isfa_ista": ("AdExp", "CondAlphaPostSynapticResponse",
                                 dict(tau_syn_E=2.0, tau_syn_I=8.0, e_rev_E=0.0,
                                      e_rev_I=-75.0)),
}


@pytest.mark.parametrize("standard", list(CASES))
def test_two_receptors_equal_the_fixed_model(sim, standard):
    neuron, psr, synaptic = CASES[standard]
    psr_class = getattr(sim, psr)
    receptor = {
        "excitatory": psr_class(tau_syn=synaptic["tau_syn_E"],
                                **({"e_syn": synaptic["e_rev_E"]} if "e_rev_E" in synaptic
                                   else {})),
        "inhibitory": psr_class(tau_syn=synaptic["tau_syn_I"],
                                **({"e_syn": synaptic["e_rev_I"]} if "e_rev_I" in synaptic
                                   else {})),
    }
    composed = sim.Population(4, sim.PointNeuron(getattr(sim, neuron)(**DRIVE), **receptor))
    fixed = sim.Population(4, getattr(sim, standard)(**DRIVE, **synaptic))
    assert composed.celltype.receptor_types == ["excitatory", "inhibitory"]
    variable = "isyn" if "curr" in standard else "gsyn"
    for cells in (composed, fixed):
        _drive(sim, cells, cells.celltype.conductance_based)
        cells.record(["spikes", "v"])
    composed.record(f"excitatory.{variable}")
    if variable == "gsyn":
        fixed.record("gsyn_exc")
    sim.run(200.0)
    a, b = composed.get_data().segments[0], fixed.get_data().segments[0]
    np.testing.assert_array_equal(a.filter(name="v")[0].magnitude,
                                  b.filter(name="v")[0].magnitude)
    assert [s.magnitude.tolist() for s in a.spiketrains] == \
        [s.magnitude.tolist() for s in b.spiketrains]
    assert sum(len(s) for s in a.spiketrains) > 5
    trace = a.filter(name=f"excitatory.{variable}")[0]
    assert trace.units.dimensionality.string == ("nA" if variable == "isyn" else "uS")
    if variable == "gsyn":
        np.testing.assert_array_equal(trace.magnitude, b.filter(name="gsyn_exc")[0].magnitude)


def test_many_receptors_with_their_own_time_constants(sim):
    celltype = sim.PointNeuron(
        sim.LIF(tau_m=10.0, v_rest=-60.0, v_thresh=0.0),
        AMPA=sim.CurrExpPostSynapticResponse(tau_syn=1.0),
        NMDA=sim.CurrExpPostSynapticResponse(tau_syn=20.0),
        GABAA=sim.CurrExpPostSynapticResponse(tau_syn=1.5))
    cells = sim.Population(2, celltype, initial_values={"v": -60.0})
    assert celltype.receptor_types == ["AMPA", "GABAA", "NMDA"]
    assert cells.get("GABAA.tau_syn") == 1.5 and cells.get("tau_m") == 10.0
    cells[1:].set(**{"NMDA.tau_syn": 10.0})
    np.testing.assert_array_equal(cells.get("NMDA.tau_syn"), [20.0, 10.0])
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    for receptor, weight in (("AMPA", 0.5), ("NMDA", 0.25), ("GABAA", -0.4)):
        sim.Projection(source, cells, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=weight, delay=1.0), receptor_type=receptor)
    cells.record(["v", "AMPA.isyn", "NMDA.isyn", "GABAA.isyn"])
    sim.run(30.0)
    segment = cells.get_data().segments[0]
    t = np.arange(0, 301) * 0.1
    after = t >= 11.0 - 1e-9
    for receptor, weight, taus in (("AMPA", 0.5, (1.0, 1.0)), ("NMDA", 0.25, (20.0, 10.0)),
                                   ("GABAA", -0.4, (1.5, 1.5))):
        trace = segment.filter(name=f"{receptor}.isyn")[0].magnitude
        for cell, tau in enumerate(taus):
            expected = np.where(after, weight * np.exp(-(t - 11.0) / tau), 0.0)
            np.testing.assert_allclose(trace[:, cell], expected, atol=1e-12, err_msg=receptor)
    v = segment.filter(name="v")[0].magnitude
    assert v[110, 0] == -60.0 and v[115, 0] != -60.0


def test_initialize_record_and_describe_conductance_receptors(sim):
    celltype = sim.PointNeuron(sim.AdExp(tau_m=10.0, v_rest=-60.0),
                               AMPA=sim.AlphaPSR(tau_syn=1.0, e_syn=0.0),
                               GABAA=sim.ExpPSR(tau_syn=1.5, e_syn=-70.0))
    cells = sim.Population(3, celltype, initial_values={"v": -60.0})
    assert cells.get("GABAA.e_syn") == -70.0 and cells.celltype.conductance_based
    cells.initialize(**{"GABAA.gsyn": RandomDistribution("uniform", low=0.01, high=0.02,
                                                         rng=NumpyRNG(seed=1))})
    cells.record(["v", "w", "GABAA.gsyn"])
    sim.run(5.0)
    g = cells.get_data().segments[0].filter(name="GABAA.gsyn")[0].magnitude
    assert np.all((g[0] >= 0.01) & (g[0] <= 0.02))
    np.testing.assert_allclose(g[10], g[0] * np.exp(-1.0 / 1.5), rtol=1e-12)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    assert np.all(v[10] < -60.0)            # pulled towards e_syn = -70 mV
    assert "PointNeuron" in cells.describe()


def test_point_neuron_errors(cpu_sim):
    sim = cpu_sim
    with pytest.raises(errors.InvalidModelError, match="cannot be mixed"):
        sim.PointNeuron(sim.LIF(), AMPA=sim.CurrExpPostSynapticResponse(),
                        GABAA=sim.ExpPSR())
    with pytest.raises(errors.InvalidModelError, match="AdExp takes conductance-based"):
        sim.PointNeuron(sim.AdExp(), AMPA=sim.CurrExpPostSynapticResponse())
    with pytest.raises(NotImplementedError, match="CondBetaPostSynapticResponse"):
        sim.BetaPSR()
    with pytest.raises(errors.InvalidModelError, match="LIF or sim.AdExp"):
        sim.PointNeuron(sim.IF_curr_exp(), AMPA=sim.ExpPSR())
    cells = sim.Population(1, sim.PointNeuron(sim.LIF(), AMPA=sim.ExpPSR()))
    with pytest.raises(errors.NonExistentParameterError):
        cells.get("NMDA.tau_syn")
    with pytest.raises(errors.InvalidParameterValueError, match="tau_syn must be > 0"):
        cells.set(**{"AMPA.tau_syn": -1.0})
