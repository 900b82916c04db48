"""
Gap junctions (ElectricalSynapse): the analytic relaxation of two coupled passive neurons and
the first-order error of the explicit coupling, a spiking neuron depolarising a silent one,
weights changed between runs, CPU and CUDA agreement, and the errors for what cannot be
coupled. See pynn_gpu.gap_junctions for the semantics and the scheme.
"""

import logging

import numpy as np
import pytest
from pyNN import errors

import pynn_gpu
from pynn_gpu import simulator
from pynn_gpu.modeldef import NeuronModelDef, StateVar

from test_cuda_target import assert_identical, simulate, total_spikes

TAU_M, CM, G, V_REST = 20.0, 0.5, 0.005, -65.0
V0 = (-50.0, -70.0)
PASSIVE = dict(tau_m=TAU_M, cm=CM, v_rest=V_REST, v_thresh=1000.0, i_offset=0.0)


def passive_pair(target, dt, t_stop, connect=lambda sim, cells: (cells[0:1], cells[1:2])):
    """v of two passive IF_curr_exp neurons, started at V0 and coupled by one junction of G."""
    sim = pynn_gpu
    sim.setup(timestep=dt, target=target)
    try:
        cells = sim.Population(2, sim.IF_curr_exp(**PASSIVE))
        cells.initialize(v=np.array(V0))
        pre, post = connect(sim, cells)
        sim.Projection(pre, post, sim.AllToAllConnector(), sim.ElectricalSynapse(weight=G))
        cells.record("v")
        sim.run(t_stop)
        return cells.get_data().segments[0].filter(name="v")[0].magnitude.copy()
    finally:
        sim.end()


def explicit_step_factor(dt):
    """Per step, the factor by which the explicit scheme shrinks the difference of the two
    potentials (exact membrane propagators, gap current held over the step)."""
    decay = np.exp(-dt / TAU_M)
    return decay - 2 * G * TAU_M / CM * (1 - decay)


@pytest.mark.parametrize("dt", [0.1, 0.05])
def test_passive_pair_relaxes_with_the_analytic_rate(target, dt):
    t_stop = 40.0
    v = passive_pair(target, dt, t_stop)
    t = np.arange(len(v)) * dt
    mean, difference = v.mean(axis=1), v[:, 0] - v[:, 1]
    mean0, difference0 = np.mean(V0), V0[0] - V0[1]
    # the junction's currents cancel in the sum: the mean relaxes with tau_m alone, exactly
    np.testing.assert_allclose(mean, V_REST + (mean0 - V_REST) * np.exp(-t / TAU_M),
                               rtol=0, atol=1e-9)
    # the difference follows the scheme documented in pynn_gpu.gap_junctions ...
    steps = np.arange(len(v))
    np.testing.assert_allclose(difference, difference0 * explicit_step_factor(dt) ** steps,
                               rtol=1e-9)
    # ... and the closed form exp(-(1/tau_m + 2 g/cm) t) to first order in dt
    exact = difference0 * np.exp(-(1 / TAU_M + 2 * G / CM) * t)
    relative_error = np.abs(difference / exact - 1)
    bound = t * dt * (2 * G / CM) * (1 / (2 * TAU_M) + G / CM)
    assert np.all(relative_error <= 1.05 * bound + 1e-12)
    assert relative_error[-1] >= 0.9 * bound[-1]     # the leading-order error, not less


def test_passive_pair_error_is_first_order(target):
    """Halving dt halves the coupling error."""
    errors_at = []
    for dt in (0.1, 0.05):
        v = passive_pair(target, dt, 20.0)
        difference = v[-1, 0] - v[-1, 1]
        exact = (V0[0] - V0[1]) * np.exp(-(1 / TAU_M + 2 * G / CM) * 20.0)
        errors_at.append(abs(difference - exact))
    assert errors_at[0] / errors_at[1] == pytest.approx(2.0, rel=0.02)


def test_each_connection_couples_both_ways(target):
    forward = passive_pair(target, 0.1, 10.0)
    backward = passive_pair(target, 0.1, 10.0, lambda sim, cells: (cells[1:2], cells[0:1]))
    np.testing.assert_array_equal(forward, backward)
    # listing the pair in both directions is two junctions: twice the coupling
    both = passive_pair(target, 0.1, 10.0, lambda sim, cells: (cells, cells))
    double = both[:, 0] - both[:, 1]
    decay = np.exp(-0.1 / TAU_M)
    factor = decay - 4 * G * TAU_M / CM * (1 - decay)
    np.testing.assert_allclose(double, (V0[0] - V0[1]) * factor ** np.arange(len(both)),
                               rtol=1e-9)


def spiking_and_silent(sim, g):
    """Neuron 0 fires regularly (i_offset), neuron 1 gets no input but the junction."""
    cells = sim.Population(2, sim.IF_curr_exp(tau_m=10.0, cm=0.25, v_rest=-65.0,
                                              v_reset=-60.0, v_thresh=-55.0, tau_refrac=2.0,
                                              i_offset=np.array([0.5, 0.0])), label="cells")
    sim.Projection(cells[0:1], cells[1:2], sim.AllToAllConnector(),
                   sim.ElectricalSynapse(weight=g))
    cells.record(["spikes", "v"])
    return {"cells": cells}


def test_spiking_neuron_depolarises_a_silent_one(target):
    uncoupled = simulate(target, lambda sim: spiking_and_silent(sim, 0.0), 200.0)
    coupled = simulate(target, lambda sim: spiking_and_silent(sim, 0.02), 200.0)
    v_alone, v_coupled = uncoupled["cells"][1]["v"], coupled["cells"][1]["v"]
    spikes_alone, spikes_coupled = uncoupled["cells"][0], coupled["cells"][0]
    assert np.all(v_alone[:, 1] == -65.0)
    assert len(spikes_coupled[1]) == 0, "the silent neuron stays below threshold"
    # it sits above rest by a few mV and follows the spiking neuron's potential, low-pass
    # filtered (delayed by about a millisecond)
    assert v_coupled[1000:, 1].mean() > -65.0 + 2.0
    driver, follower = v_coupled[1000:, 0], v_coupled[1000:, 1]
    lags = range(0, 50, 2)
    correlation = [np.corrcoef(driver[:len(driver) - lag], follower[lag:])[0, 1] for lag in lags]
    assert max(correlation) > 0.7
    # and draws current from it: the driving neuron fires less often
    assert 0 < len(spikes_coupled[0]) < len(spikes_alone[0])


def test_weights_changed_between_runs(target):
    sim = pynn_gpu
    sim.setup(timestep=0.1, target=target)
    try:
        cells = sim.Population(2, sim.IF_curr_exp(**PASSIVE))
        cells.initialize(v=np.array(V0))
        junctions = sim.Projection(cells[0:1], cells[1:2], sim.AllToAllConnector(),
                                   sim.ElectricalSynapse(weight=G))
        cells.record("v")
        sim.run(10.0)
        assert junctions.get("weight", format="list") == [(0, 0, G)]
        junctions.set(weight=0.0)
        sim.run(10.0)
        v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    finally:
        sim.end()
    difference = v[:, 0] - v[:, 1]
    coupled = explicit_step_factor(0.1)
    np.testing.assert_allclose(difference[100] / difference[99], coupled, rtol=1e-9)
    # uncoupled, the difference decays with tau_m alone
    np.testing.assert_allclose(difference[150] / difference[149], np.exp(-0.1 / TAU_M),
                               rtol=1e-9)


# --- CPU and CUDA ---------------------------------------------------------------------------

def coupled_populations(sim):
    """Pairs within an IF_curr_exp population and one-to-one junctions onto IF_cond_exp
    neurons that also get a DC current, spiking and silent neurons mixed; two gap projections
    of different populations (one merged kernel on CUDA). No neuron gets more than two
    currents in a step, so their sum is exact in any order (atomics on a GPU)."""
    drive = np.array([0.0, 0.6, 0.3, 0.0, 1.0, 0.0, 0.45, 0.2])
    curr = sim.Population(8, sim.IF_curr_exp(tau_m=10.0, cm=0.25, i_offset=drive,
                                             tau_refrac=2.0), label="curr")
    cond = sim.Population(8, sim.IF_cond_exp(tau_m=15.0, cm=0.5), label="cond")
    pairs = [(i, i + 1, 0.004 + 0.001 * i) for i in range(0, 8, 2)]
    sim.Projection(curr, curr, sim.FromListConnector(pairs, column_names=["weight"]),
                   sim.ElectricalSynapse())
    one_to_one = [(i, i, 0.002 + 0.001 * i) for i in range(8)]
    sim.Projection(curr, cond, sim.FromListConnector(one_to_one, column_names=["weight"]),
                   sim.ElectricalSynapse())
    sim.DCSource(amplitude=0.3, start=20.0, stop=60.0).inject_into(cond[::3])
    for population in (curr, cond):
        population.record(["spikes", "v"])
    return {"curr": curr, "cond": cond}


def test_cpu_and_cuda_identical(cuda_backend):
    cpu = simulate("cpu", coupled_populations, 100.0)
    assert total_spikes(cpu, "curr") > 0
    assert_identical(cpu, simulate("cuda", coupled_populations, 100.0, runs=[40.0, 60.0]))


def test_cuda_one_kernel_for_all_gap_projections(cuda_backend):
    sim = pynn_gpu
    sim.setup(timestep=0.1, target="cuda")
    try:
        coupled_populations(sim)
        sim.run(1.0)
        names = list(simulator.state.engine.program.block_sizes)
    finally:
        sim.end()
    assert [n for n in names if n.startswith("couple_")] == ["couple_mgj0"]
    # after the current sources, before any neuron update
    assert names.index("couple_mgj0") > max(i for i, n in enumerate(names)
                                             if n.startswith("inject_"))
    assert names.index("couple_mgj0") < min(i for i, n in enumerate(names)
                                             if n.startswith("update_"))


# --- errors ---------------------------------------------------------------------------------

def test_spike_sources_cannot_be_coupled(cpu_sim):
    sim = cpu_sim
    cells = sim.Population(2, sim.IF_curr_exp())
    for source in (sim.Population(2, sim.SpikeSourcePoisson(rate=10.0)),
                   sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0]))):
        for pre, post in ((source, cells), (cells, source)):
            with pytest.raises(errors.ConnectionError, match="spike source"):
                sim.Projection(pre, post, sim.OneToOneConnector(),
                               sim.ElectricalSynapse(weight=0.01))


def test_cells_without_membrane_potential_or_current_input_cannot_be_coupled(cpu_sim):
    sim = cpu_sim
    model = NeuronModelDef(name="test_counter", params=("tau",), state=(StateVar("x"),),
                           receptors=("AMPA",), update="x += dt / tau * (i_inj - x) + in_AMPA;")
    counter = sim.native_cell_type(model, default_parameters=dict(tau=10.0))
    counters, cells = sim.Population(2, counter()), sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.ConnectionError, match="no membrane potential v"):
        sim.Projection(cells, counters, sim.OneToOneConnector(),
                       sim.ElectricalSynapse(weight=0.01))
    deaf = NeuronModelDef(name="test_deaf", params=("tau",), state=(StateVar("v"),),
                          receptors=("AMPA",), update="v += -dt / tau * v + in_AMPA;")
    deaf_cells = sim.Population(2, sim.native_cell_type(deaf, default_parameters=dict(tau=10.0))())
    with pytest.raises(errors.ConnectionError, match="cannot receive current"):
        sim.Projection(deaf_cells, cells, sim.OneToOneConnector(),
                       sim.ElectricalSynapse(weight=0.01))


def test_gap_junctions_have_no_delay(cpu_sim):
    sim = cpu_sim
    cells = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.NonExistentParameterError):
        sim.ElectricalSynapse(weight=0.01, delay=1.0)
    with pytest.raises(errors.ConnectionError, match="delay is not a parameter"):
        sim.Projection(cells, cells, sim.FromListConnector([(0, 1, 0.01, 1.0)]),
                       sim.ElectricalSynapse())
    junctions = sim.Projection(cells, cells, sim.FromListConnector([(0, 1, 0.01)],
                                                                   column_names=["weight"]),
                               sim.ElectricalSynapse())
    with pytest.raises(errors.NonExistentParameterError):
        junctions.get("delay", format="list")
    with pytest.raises(errors.NonExistentParameterError, match="delay"):
        junctions.set(delay=0.5)
    with pytest.raises(errors.ConnectionError, match="no delay"):
        junctions[0].delay = 0.5


def test_weights_must_be_conductances(cpu_sim):
    sim = cpu_sim
    cells = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.InvalidParameterValueError, match="must be >= 0"):
        sim.Projection(cells, cells, sim.AllToAllConnector(), sim.ElectricalSynapse(weight=-0.1))
    junctions = sim.Projection(cells, cells, sim.AllToAllConnector(),
                               sim.ElectricalSynapse(weight=0.1), receptor_type="inhibitory")
    with pytest.raises(errors.InvalidParameterValueError, match="must be >= 0"):
        junctions.set(weight=np.array([0.1, -0.2, 0.1, 0.1]))
    with pytest.raises(errors.ConnectionError, match="procedural"):
        sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.5, rng=sim.NativeRNG(1)),
                       sim.ElectricalSynapse(weight=0.1), connectivity_format="procedural")


def test_unstable_coupling_is_reported(cpu_sim, caplog):
    sim = cpu_sim
    cells = sim.Population(3, sim.IF_curr_exp(cm=0.1, v_thresh=1000.0))
    sim.Projection(cells[0:1], cells[1:3], sim.AllToAllConnector(),
                   sim.ElectricalSynapse(weight=0.6))
    with caplog.at_level(logging.WARNING, logger="PyNN"):
        sim.run(1.0)
    assert "reaches 1.2" in caplog.text     # neuron 0: dt (0.6 + 0.6) / 0.1


def test_a_neuron_coupled_to_itself_adds_nothing_to_the_stability_check(cpu_sim, caplog):
    """AllToAll with self-connections: each neuron's own junction carries no current, so
    the summed conductance is 0.6, not 1.2 (a false warning)."""
    sim = cpu_sim
    cells = sim.Population(2, sim.IF_curr_exp(cm=0.1, v_thresh=1000.0))
    sim.Projection(cells, cells, sim.AllToAllConnector(), sim.ElectricalSynapse(weight=0.3))
    with caplog.at_level(logging.WARNING, logger="PyNN"):
        sim.run(1.0)
    assert "reaches" not in caplog.text


def test_unstable_coupling_is_reported_without_cm_and_after_set(cpu_sim, caplog):
    """Izhikevich has no cm: its currents act through an implicit 1 pF, which the check
    divides by; and a cm set() between runs is checked again before the next run."""
    sim = cpu_sim
    izhikevich = sim.Population(2, sim.Izhikevich(), label="izhikevich")
    sim.Projection(izhikevich[0:1], izhikevich[1:2], sim.AllToAllConnector(),
                   sim.ElectricalSynapse(weight=0.02))
    cells = sim.Population(2, sim.IF_curr_exp(cm=1.0, v_thresh=1000.0), label="lif")
    sim.Projection(cells[0:1], cells[1:2], sim.AllToAllConnector(),
                   sim.ElectricalSynapse(weight=0.02))
    with caplog.at_level(logging.WARNING, logger="PyNN"):
        sim.run(1.0)
    assert "onto izhikevich" in caplog.text and "reaches 2" in caplog.text  # 0.1 0.02 / 0.001
    assert "onto lif" not in caplog.text       # 0.1 0.02 / 1.0
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="PyNN"):
        sim.run(1.0)        # nothing changed: nothing new to report
        assert caplog.text == ""
        cells.set(cm=0.001)
        sim.run(1.0)
    assert "onto lif" in caplog.text and "reaches 2" in caplog.text


def test_weight_scaling_leaves_gap_junctions_alone(cpu_sim):
    sim = cpu_sim
    cells = sim.Population(4, sim.IF_curr_exp())
    junctions = sim.Projection(cells, cells, sim.AllToAllConnector(),
                               sim.ElectricalSynapse(weight=0.01))
    with pytest.raises(errors.InvalidParameterValueError, match="not scaled"):
        sim.scale_weights(junctions, policy="mean", K0=2)
    assert np.all(junctions.get("weight", format="array") == 0.01)


def test_setup_level_weight_scaling_skips_gap_junctions():
    sim = pynn_gpu
    sim.setup(timestep=0.1, target="cpu", weight_scaling={"policy": "mean", "K0": 2})
    try:
        cells = sim.Population(4, sim.IF_curr_exp())
        junctions = sim.Projection(cells, cells, sim.AllToAllConnector(),
                                   sim.ElectricalSynapse(weight=0.01))
        sim.run(1.0)
        assert junctions.scaling.policy == "none" and junctions.scaling.K == 4
        assert np.all(junctions.get("weight", format="array") == 0.01)
    finally:
        sim.end()


def test_gap_junctions_have_their_own_storage_and_are_reported(cpu_sim):
    """A connectivity_format other than "auto" would be silently ignored: it is refused;
    connectivity_report() lists the gap junctions with the bytes of their arrays."""
    sim = cpu_sim
    cells = sim.Population(4, sim.IF_curr_exp())
    with pytest.raises(errors.ConnectionError, match="connectivity_format must be 'auto'"):
        sim.Projection(cells, cells, sim.OneToOneConnector(),
                       sim.ElectricalSynapse(weight=0.01), connectivity_format="dense")
    gaps = sim.Projection(cells, cells, sim.FromListConnector([(0, 1), (2, 3)]),
                          sim.ElectricalSynapse(weight=0.01), label="gaps")
    with pytest.raises(errors.ConnectionError, match="connectivity_format must be 'auto'"):
        gaps.connectivity_format = "ragged"
    assert gaps.connectivity_format == "auto"
    sim.run(1.0)
    (row,) = sim.connectivity_report()
    assert row["label"] == "gaps" and row["format"] == "gap junctions"
    assert row["synapses"] == 2 and row["bytes"] > 0
