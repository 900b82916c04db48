"""
Synapse models of one's own (native_synapse_type): a SynapseModelDef with presynaptic and
postsynaptic actions runs on both targets, with PyNN's projection interface.

The model counts: each presynaptic spike is transmitted with the current weight, then adds
a_pre to it; each postsynaptic spike that reaches the synapse adds a_post and counts itself.
The final weight is then known exactly from the spike counts.
"""

import numpy as np
import pytest
from pyNN import errors

from pynn_gpu.modeldef import StateVar, SynapseModelDef

HEBB = SynapseModelDef(
    name="counting_hebb", params=("a_pre", "a_post", "w_max"),
    state=(StateVar("n_post", "int32_t"),),
    on_pre="w_eff = weight;\nweight = fmin(weight + a_pre, w_max);",
    on_post="weight = fmin(weight + a_post, w_max);\nn_post += 1;",
    changes_weight=True)


def _network(sim, fraction=1.0):
    Hebb = sim.native_synapse_type(HEBB, default_parameters=dict(a_pre=0.0, a_post=0.0,
                                                                 w_max=1e9),
                                   dendritic_delay_fraction=fraction)
    pre = sim.Population(3, sim.SpikeSourceArray(spike_times=[[5.0, 15.0, 25.0],
                                                              [10.0], [12.0, 40.0]]))
    post = sim.Population(2, sim.IF_curr_exp(v_thresh=-64.0, tau_refrac=0.1))
    driver = sim.Population(2, sim.SpikeSourceArray(spike_times=[[8.0, 30.0], [20.0]]))
    sim.Projection(driver, post, sim.OneToOneConnector(), sim.StaticSynapse(weight=20.0))
    projection = sim.Projection(pre, post, sim.AllToAllConnector(),
                                Hebb(weight=0.125, delay=2.0, a_pre=0.25, a_post=0.5))
    post.record("spikes")
    return projection, post


@pytest.mark.parametrize("fraction", [1.0, 0.0])
def test_a_model_of_one_s_own_learns_from_both_sides(sim, fraction):
    projection, post = _network(sim, fraction)
    sim.run(60.0)
    # postsynaptic spikes reach the synapses after the dendritic part of the 2 ms delay
    # (all of it, or none: the axonal part is the rest); those late in the run do not
    dendritic = 2.0 if fraction == 1.0 else 0.0
    spikes = [int(np.sum(t.magnitude + dendritic <= 60.0 + 1e-9))
              for t in post.get_data().segments[0].spiketrains]
    assert all(n >= 1 for n in spikes)
    pre_counts = {0: 3, 1: 1, 2: 2}
    weights = projection.get("weight", format="array")
    counted = projection.get("n_post", format="array")
    for i in range(3):
        for j in range(2):
            assert counted[i, j] == spikes[j]
            assert weights[i, j] == 0.125 + 0.25 * pre_counts[i] + 0.5 * spikes[j]
    assert projection.get("a_post", format="array")[0, 0] == 0.5


def test_cpu_and_cuda_run_it_alike(cuda_backend):
    import pynn_gpu

    def run(target):
        pynn_gpu.setup(timestep=0.1, target=target)
        try:
            projection, post = _network(pynn_gpu, 0.5)
            pynn_gpu.run(60.0)
            return projection.get("weight", format="array")
        finally:
            pynn_gpu.end()

    np.testing.assert_array_equal(run("cpu"), run("cuda"))


def test_definitions_are_checked(cpu_sim):
    sim = cpu_sim
    with pytest.raises(errors.InvalidParameterValueError, match="missing: a_post, w_max"):
        sim.native_synapse_type(HEBB, default_parameters=dict(a_pre=0.0))
    with pytest.raises(errors.NonExistentParameterError):
        sim.native_synapse_type(HEBB, default_parameters=dict(a_pre=0.0, a_post=0.0,
                                                              w_max=1.0, gain=2.0))
    with pytest.raises(errors.InvalidModelError):
        sim.native_synapse_type("stdp")
    with pytest.raises(errors.InvalidParameterValueError, match="'a_prime', which is no "
                                                               "parameter of the model"):
        sim.native_synapse_type(HEBB, default_parameters=dict(a_pre=0.0, a_post=0.0, w_max=1.0),
                                default_initial_values=dict(n_post="a_prime"))
    with pytest.raises(errors.InvalidParameterValueError, match="a number or a parameter"):
        sim.native_synapse_type(HEBB, default_parameters=dict(a_pre=0.0, a_post=0.0, w_max=1.0),
                                default_initial_values=dict(n_post=None))


def test_integer_state_starts_from_whole_numbers_it_holds(cpu_sim):
    """As for a neuron's integer state: 2.5 or 2**31 in an int32_t were truncated or wrapped
    round on the target, while get() reported them."""
    sim = cpu_sim
    defaults = dict(a_pre=0.0, a_post=0.0, w_max=1.0)
    with pytest.raises(errors.InvalidParameterValueError,
                       match="n_post must be a whole number from -2147483648 to 2147483647"):
        sim.native_synapse_type(HEBB, default_parameters=defaults,
                                default_initial_values=dict(n_post=2.5))
    hebb = sim.native_synapse_type(HEBB, default_parameters=dict(defaults, a_pre=2.5),
                                   default_initial_values=dict(n_post="a_pre"))
    pre = sim.Population(3, sim.SpikeSourceArray(spike_times=[1.0]))
    post = sim.Population(1, sim.IF_curr_exp())
    with pytest.raises(errors.InvalidParameterValueError, match="got 2.5"):
        sim.Projection(pre, post, sim.AllToAllConnector(), hebb())
    projection = sim.Projection(pre, post, sim.AllToAllConnector(), hebb(a_pre=2.0))
    for bad in ([2.5, 0, 0], [2**31, 0, 0], [-1.5, 0, 0]):
        with pytest.raises(errors.InvalidParameterValueError, match="n_post must be a whole"):
            projection.initialize(n_post=bad)
    projection.initialize(n_post=[-2**31, 7, 2**31 - 1])
    assert projection.get("n_post", format="list", with_address=False) == \
        [-2**31, 7, 2**31 - 1]
    with pytest.raises(errors.NonExistentParameterError,
                       match=r"n_post \(a state variable: .*initialize\(n_post=...\)\) "
                             r"\(valid parameters for counting_hebb are"):
        projection.set(n_post=3)


def test_procedural_set_sets_parameters(cpu_sim):
    sim = cpu_sim
    cells = sim.Population(4, sim.IF_curr_exp())
    sim.set(cells, tau_m=12.0)
    assert np.all(cells.get("tau_m") == 12.0)
    with pytest.raises(AttributeError):
        sim.set(cells[0], tau_m=10.0)
