"""
Parameters everywhere PyNN allows them: get/set with numbers, arrays, RandomDistribution,
lazy arrays and functions of the index, on populations, views and assemblies; heterogeneous
values in the simulation; describe(); native cell types (native_cell_type).
"""

import numpy as np
import pytest
from pyNN import errors
from pyNN.parameters import LazyArray, Sequence
from pyNN.random import NumpyRNG, RandomDistribution

from pynn_gpu.modeldef import CurrentSourceDef, NeuronModelDef, StateVar, SynapseModelDef


def test_cell_parameters_of_every_kind_at_creation(cpu_sim):
    sim = cpu_sim
    rng = NumpyRNG(seed=11)
    expected_tau = RandomDistribution("uniform", low=10.0, high=20.0,
                                      rng=NumpyRNG(seed=11)).next(6)
    cells = sim.Population(6, sim.IF_cond_exp(
        tau_m=RandomDistribution("uniform", low=10.0, high=20.0, rng=rng),
        cm=lambda i: 0.5 + 0.1 * i,
        v_rest=np.linspace(-70.0, -60.0, 6),
        v_thresh=LazyArray(np.full(6, -52.0)),
        e_rev_I=-75.0))
    tau_m, cm, v_rest, v_thresh, e_rev_i = cells.get(
        ["tau_m", "cm", "v_rest", "v_thresh", "e_rev_I"])
    np.testing.assert_allclose(tau_m, expected_tau)
    np.testing.assert_allclose(cm, 0.5 + 0.1 * np.arange(6))
    np.testing.assert_allclose(v_rest, np.linspace(-70.0, -60.0, 6))
    assert v_thresh == -52.0 and e_rev_i == -75.0      # homogeneous: one number
    np.testing.assert_array_equal(cells.get("e_rev_I", simplify=False), np.full(6, -75.0))


def test_set_with_every_kind_of_value_on_populations_views_and_assemblies(cpu_sim):
    sim = cpu_sim
    cells = sim.Population(5, sim.IF_curr_exp())
    cells.set(tau_m=12.0)
    assert cells.get("tau_m") == 12.0
    cells.set(tau_m=np.arange(5.0) + 10.0)
    np.testing.assert_array_equal(cells.get("tau_m"), np.arange(5.0) + 10.0)
    cells.set(tau_m=LazyArray(np.arange(5.0)) * 2 + 30.0)          # lazy arithmetic
    np.testing.assert_array_equal(cells.get("tau_m"), np.arange(5.0) * 2 + 30.0)
    cells.set(tau_m=lambda i: 40.0 + i)
    np.testing.assert_array_equal(cells.get("tau_m"), 40.0 + np.arange(5.0))
    cells[1:3].set(cm=RandomDistribution("normal", mu=1.0, sigma=0.1, rng=NumpyRNG(seed=2)))
    cm = cells.get("cm")
    np.testing.assert_allclose(cm[1:3], RandomDistribution(
        "normal", mu=1.0, sigma=0.1, rng=NumpyRNG(seed=2)).next(2))
    assert cm[0] == cm[3] == cm[4] == 1.0
    cells[0].tau_m = 11.0                                           # through the ID
    assert cells[0].tau_m == 11.0 and cells.get("tau_m")[0] == 11.0
    others = sim.Population(3, sim.IF_curr_exp(tau_m=25.0))
    both = cells + others
    np.testing.assert_array_equal(both.get("tau_m")[-3:], [25.0] * 3)
    both.set(v_thresh=-48.0)
    assert both.get("v_thresh") == -48.0 and others.get("v_thresh") == -48.0
    with pytest.raises(errors.NonExistentParameterError):
        cells.set(tau_mem=10.0)
    with pytest.raises(errors.NonExistentParameterError):
        cells.get("tau_mem")


def test_sequence_parameters_from_a_function_of_the_cell_index(sim):
    """PyNN: a function of the index may return a "single value" such as spike times."""
    sources = sim.Population(3, sim.SpikeSourceArray(spike_times=lambda i: Sequence([2.0 + i,
                                                                                     5.0])))
    assert [s.value.tolist() for s in sources.get("spike_times")] == [[2, 5], [3, 5], [4, 5]]
    sources[1:].set(spike_times=lambda i: Sequence([7.0 + i]))
    sources.record("spikes")
    sim.run(10.0)
    trains = sources.get_data().segments[0].spiketrains
    assert [t.magnitude.tolist() for t in trains] == [[2.0, 5.0], [7.0], [8.0]]


def test_initial_values_of_every_kind(cpu_sim):
    sim = cpu_sim
    cells = sim.Population(4, sim.IF_cond_exp(), initial_values={"v": lambda i: -70.0 + i})
    cells.record("v")
    cells[2:].initialize(v=RandomDistribution("uniform", low=-60.0, high=-59.0,
                                              rng=NumpyRNG(seed=3)))
    cells.initialize(gsyn_exc=np.array([0.0, 0.01, 0.0, 0.0]))
    sim.run(0.1)
    first = cells.get_data().segments[0].filter(name="v")[0].magnitude[0]
    assert first[0] == -70.0 and first[1] == -69.0
    assert np.all((first[2:] >= -60.0) & (first[2:] <= -59.0)) and first[2] != first[3]


def test_initial_values_read_back_are_the_ones_used(sim):
    """initial_values after initialize(RandomDistribution) hold the values drawn once (not
    new draws at each look), and ID.set_initial_value reaches the simulation."""
    cells = sim.Population(3, sim.IF_curr_exp())
    cells.record("v")
    cells.initialize(v=RandomDistribution("uniform", (-70.0, -60.0), rng=NumpyRNG(seed=1)))
    cells[2].set_initial_value("v", -50.0)
    reported = cells.initial_values["v"].evaluate()
    np.testing.assert_array_equal(cells.initial_values["v"].evaluate(), reported)
    np.testing.assert_array_equal(cells[0:2].initial_values["v"].evaluate(), reported[:2])
    assert reported[2] == -50.0 and cells[2].get_initial_value("v") == -50.0
    sim.run(0.1)
    first = cells.get_data().segments[0].filter(name="v")[0].magnitude[0]
    np.testing.assert_array_equal(first, reported)


def test_heterogeneous_parameters_act_per_neuron(sim):
    """Per-neuron values reach the kernels: f-I curve of a current sweep, and
    per-neuron thresholds in a population that shares one compiled group."""
    currents = np.array([0.0, 0.5, 1.0, 2.0])
    cells = sim.Population(4, sim.IF_curr_exp(i_offset=currents, tau_refrac=2.0))
    same = sim.Population(4, sim.IF_curr_exp(i_offset=2.0, tau_refrac=2.0,
                                             v_thresh=[-50.0, -40.0, -30.0, -20.0]))
    cells.record("spikes")
    same.record("spikes")
    sim.run(200.0)
    counts = [len(st) for st in cells.get_data().segments[0].spiketrains]
    assert counts[0] == 0 and counts[1] < counts[2] < counts[3]
    # analytic period: tau_refrac + tau_m ln(R I / (R I - theta)), R = tau_m / cm
    tau_m, theta = 20.0, 15.0
    for current, count in zip(currents[2:], counts[2:]):
        period = 2.0 + tau_m * np.log(tau_m * current / (tau_m * current - theta))
        assert abs(count - 200.0 / period) <= 1.5
    later = [len(st) for st in same.get_data().segments[0].spiketrains]
    assert later[0] > later[1] > later[2] > later[3] == 0


def test_describe_cells_populations_and_projections(cpu_sim):
    sim = cpu_sim
    cells = sim.Population(3, sim.IF_cond_exp(tau_m=12.5), label="cortex")
    prj = sim.Projection(cells, cells, sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=0.01), label="recurrent")
    text = cells.describe()
    assert "cortex" in text and "IF_cond_exp" in text and "3" in text
    context = cells.describe(template=None)
    assert context["celltype"]["name"] == "IF_cond_exp" and context["size"] == 3
    assert context["celltype"]["parameters"]["tau_m"].base_value == 12.5
    assert "recurrent" in prj.describe() and "AllToAllConnector" in prj.describe()
    assert prj.describe(template=None)["size"] == 9
    assert "cortex" in (cells + cells[0:1]).describe()


# --- native cell types --------------------------------------------------------------------

def test_native_models_cover_every_standard_model(cpu_sim):
    sim = cpu_sim
    standard = {getattr(sim, name).model.name for name in sim.list_standard_models()}
    assert set(sim.native_models()) == standard
    for name in sim.native_models():
        celltype = sim.native_cell_type(name)
        assert celltype.model.name == name
        population = sim.Population(2, celltype())
        assert set(population.celltype.get_parameter_names()) >= set(celltype.model.params)


def test_native_gif_has_the_translated_defaults(cpu_sim):
    defaults = cpu_sim.native_cell_type("gif_cond_exp").default_parameters
    assert (defaults["tau_eta0"], defaults["tau_eta1"], defaults["tau_eta2"]) == (1.0, 10.0, 100.0)
    assert "tau_eta" not in defaults


def test_native_type_runs_like_its_standard_type_and_records_internal_state(sim):
    lif = sim.native_cell_type("if_curr_exp")
    assert lif.__name__ == "if_curr_exp" and "isyn_exc" in lif.recordable
    assert lif.receptor_types == ["excitatory", "inhibitory"]
    offsets = np.array([0.0, 1.0, 2.0])
    native = sim.Population(3, lif(tau_m=15.0, i_offset=offsets))
    standard = sim.Population(3, sim.IF_curr_exp(tau_m=15.0, i_offset=offsets))
    source = sim.Population(1, sim.native_cell_type("spike_source_array")(
        spike_times=Sequence([5.0, 7.0])))
    for target in (native, standard):
        sim.Projection(source, target, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=1.0, delay=1.0), receptor_type="excitatory")
    native.record(["v", "isyn_exc", "spikes"])
    standard.record(["v", "spikes"])
    sim.run(40.0)
    a, b = native.get_data().segments[0], standard.get_data().segments[0]
    np.testing.assert_array_equal(a.filter(name="v")[0].magnitude, b.filter(name="v")[0].magnitude)
    assert [len(s) for s in a.spiketrains] == [len(s) for s in b.spiketrains]
    isyn = a.filter(name="isyn_exc")[0]
    assert isyn.units.dimensionality.string == "nA"
    assert isyn.magnitude[59, 0] == 0.0 and isyn.magnitude[60, 0] == pytest.approx(1.0)
    assert isyn.magnitude[61, 0] == pytest.approx(np.exp(-0.1 / 5.0))   # decays with tau_syn_E
    assert native.get("tau_m") == 15.0
    native.set(tau_m=RandomDistribution("uniform", low=10.0, high=11.0, rng=NumpyRNG(seed=5)))
    assert np.all((native.get("tau_m") >= 10.0) & (native.get("tau_m") <= 11.0))
    assert native.celltype.describe(template=None)["model"] == "if_curr_exp"


def test_native_type_from_a_model_definition(sim):
    model = NeuronModelDef(
        name="test_leaky_counter", params=("tau", "v_rest", "v_thresh", "v_reset"),
        state=(StateVar("v"),), receptors=("AMPA", "GABA"),
        update="v += dt / tau * (v_rest - v) + in_AMPA + in_GABA;",
        threshold="v >= v_thresh", reset="v = v_reset;")
    counter = sim.native_cell_type(
        model, default_parameters=dict(tau=20.0, v_rest=-65.0, v_thresh=-50.0, v_reset=-65.0),
        default_initial_values=dict(v=-65.0), units=dict(v="mV"))
    assert counter.receptor_types == ["AMPA", "GABA"] and not counter.injectable
    cells = sim.Population(2, counter(v_thresh=-60.0))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 6.0, 7.0]))
    sim.Projection(source, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=2.0, delay=1.0), receptor_type="AMPA")
    sim.Projection(source, cells[1:], sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=-3.0, delay=1.0), receptor_type="GABA")
    cells.record(["v", "spikes"])
    sim.run(20.0)
    segment = cells.get_data().segments[0]
    v = segment.filter(name="v")[0]
    assert v.units.dimensionality.string == "mV"
    assert v.magnitude[60, 0] == pytest.approx(-63.0) and v.magnitude[60, 1] == pytest.approx(-66.0)
    # cell 0 gets +2 mV per spike: the third one (8.0 ms) crosses -60 mV; cell 1 never fires
    assert segment.spiketrains[0].magnitude.tolist() == [8.0]
    assert len(segment.spiketrains[1]) == 0
    with pytest.raises(errors.NonExistentParameterError):
        counter(tau_m=3.0)


def test_exc_and_inh_are_excitatory_and_inhibitory_next_to_other_receptors(cpu_sim):
    """As the README says: a receptor named exc is the receptor type "excitatory" (the
    name PyNN users connect to) whatever other receptors the model has."""
    sim = cpu_sim
    model = NeuronModelDef(
        name="test_mixed_receptors", params=("tau",), state=(StateVar("v"),),
        receptors=("AMPA", "exc"), update="v += -v * dt / tau + in_AMPA + 10 * in_exc;",
        threshold="v > 1e9", reset="v = 0;")
    mixed = sim.native_cell_type(model, default_parameters=dict(tau=1e9))
    assert mixed.receptor_types == ["AMPA", "excitatory"]
    cells = sim.Population(1, mixed())
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    sim.Projection(source, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=1.0, delay=1.0), receptor_type="excitatory")
    cells.record("v")
    sim.run(5.0)
    assert cells.get_data().segments[0].filter(name="v")[0].magnitude[-1, 0] == \
        pytest.approx(10.0)
    clash = NeuronModelDef(name="test_clash", params=(), state=(StateVar("v"),),
                           receptors=("exc", "excitatory"))
    with pytest.raises(errors.InvalidModelError, match="both be the receptor type"):
        sim.native_cell_type(clash)


def test_native_cell_type_errors(cpu_sim):
    sim = cpu_sim
    with pytest.raises(errors.InvalidModelError, match="if_curr_exp"):
        sim.native_cell_type("iaf_psc_exp")
    model = NeuronModelDef(name="half_defined", params=("a", "b"), state=(StateVar("v"),))
    with pytest.raises(errors.InvalidParameterValueError, match="missing: b"):
        sim.native_cell_type(model, default_parameters=dict(a=1.0))
    with pytest.raises(errors.NonExistentParameterError):
        sim.native_cell_type(model, default_parameters=dict(a=1.0, b=2.0),
                             default_initial_values=dict(w=0.0))


@pytest.mark.parametrize("snippets", [
    dict(update="if (v > 0) return; v += 1;"),
    dict(reset="v = 0; goto done;"),
    dict(threshold="v > 1 && ({ return 1; 0; })"),
])
def test_a_snippet_that_leaves_early_is_refused(snippets):
    """A snippet runs inside a kernel whose threads must all reach the code after it (the
    spike ballot of a warp on CUDA): no return or goto (comments and names aside)."""
    with pytest.raises(ValueError, match="may not contain '(return|goto)'"):
        NeuronModelDef(name="early", params=(), state=(StateVar("v"),), **snippets)
    NeuronModelDef(name="fine", params=(), state=(StateVar("v"), StateVar("returned")),
                   update="/* return to rest */ returned += 1; // goto: none",
                   threshold="v > 1", reset="v = 0;")
    with pytest.raises(ValueError, match="on_post may not contain 'return'"):
        SynapseModelDef(name="early_synapse", state=(StateVar("x"),), on_pre="x += 1;",
                        on_post="if (x > 2) return; x = 0;")
    with pytest.raises(ValueError, match="code may not contain 'return'"):
        CurrentSourceDef(name="early_source", params=("a",), int_params=(),
                         code="amplitude_now = a; return;")


def test_a_constant_all_neurons_share_is_stored_once_until_it_differs(sim):
    """i_offset the same for every neuron: one value, read by all; a new common value needs
    no rebuild; a value that differs between neurons rebuilds the kernels with an array.
    v against the exact solution of the membrane equation with a constant current."""
    cells = sim.Population(3, sim.IF_curr_exp(i_offset=0.0, tau_m=20.0, cm=1.0,
                                              v_rest=-65.0, v_thresh=-40.0))
    cells.record("v")
    sim.run(10.0)
    engine = sim.simulator.state.engine
    group = engine.graph.neuron_groups[0]
    assert "i_offset" in group.shared and "tau_m" in group.shared
    assert engine.arrays[f"{group.name}_i_offset"].size == 1
    program = engine.program
    cells.set(i_offset=0.5)
    sim.run(10.0)
    assert engine.program is program            # same kernels, new value
    cells[1:2].set(i_offset=1.0)
    sim.run(10.0)
    assert engine.program is not program
    assert "i_offset" not in engine.graph.neuron_groups[0].shared
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    v20 = -65.0 + 10.0 * (1 - np.exp(-0.5))          # R I = 20 MOhm x 0.5 nA for 10 ms
    np.testing.assert_allclose(v[200], [v20] * 3, rtol=1e-9)
    np.testing.assert_allclose(v[300, 0], -65.0 + 10.0 * (1 - np.exp(-1.0)), rtol=1e-9)
    np.testing.assert_allclose(v[300, 1], -45.0 + (v20 + 45.0) * np.exp(-0.5), rtol=1e-9)


def test_populations_of_one_model_share_what_all_of_them_share(sim):
    """A constant is stored once only when it is uniform in every population of the model,
    so that populations of one model keep one kernel."""
    from pynn_gpu.ir.merge import merge_neuron_groups
    uniform = sim.Population(5, sim.IF_curr_exp(v_thresh=-50.0))
    varied = sim.Population(5, sim.IF_curr_exp(v_thresh=[-50.0, -51.0, -52.0, -53.0, -54.0]))
    sim.run(1.0)
    graph = sim.simulator.state.engine.graph
    first, second = graph.neuron_groups[:2]
    assert first.shared == second.shared and "v_thresh" not in first.shared
    assert "tau_m" in first.shared
    assert len(merge_neuron_groups(graph)) == 1
    assert uniform.get("v_thresh") == -50.0 and varied.get("v_thresh")[4] == -54.0


def _stepper(name="stepper", step="1", support="", state=(StateVar("v"),), update=None):
    """A model whose v grows by `step` each time step, and never spikes."""
    return NeuronModelDef(name=name, params=("vt",), state=state,
                          update=update or f"v += {step};", threshold="v >= vt",
                          reset="v = 0;", support=support)


def _final_v(population):
    return population.get_data().segments[0].filter(name="v")[0].magnitude[-1]


def test_a_model_s_int64_state_holds_int64_values_in_float_precision(target):
    """An int64_t state variable has an int64 array (in float precision the scalar arrays
    are 4 bytes a value: the kernels would read past them); the model's other state is
    recorded as before."""
    import pynn_gpu as sim
    big = 4_000_000_000                 # beyond int32_t and float's exact integers
    model = _stepper(name="int64_counter", state=(StateVar("v"), StateVar("count", "int64_t")),
                     update=f"count += {big}LL; v = (scalar) (count / {big}LL);")
    sim.setup(timestep=0.1, target=target, precision="float")
    try:
        cells = sim.Population(40, sim.native_cell_type(model,
                                                        default_parameters=dict(vt=1e6))())
        cells.record("v")
        sim.run(1.0)
        sim.simulator.state.engine.sync_to_host()
        count = cells._data.kernel["count"]
        assert count.dtype == np.int64
        np.testing.assert_array_equal(count, np.full(40, 10 * big))
        np.testing.assert_array_equal(_final_v(cells), np.full(40, 10.0))
    finally:
        sim.end()


@pytest.mark.parametrize("precision", ["double", "float"])
def test_integer_state_of_a_model_is_recordable_and_has_initial_values(target, precision):
    """int32_t and int64_t state variables are recorded like the others, exactly (beyond
    float's 2^24 too), start from default_initial_values and return to them on reset."""
    import pynn_gpu as sim
    model = NeuronModelDef(
        name="int_counter", params=("tau",),
        state=(StateVar("v"), StateVar("n", "int32_t"), StateVar("big", "int64_t")),
        receptors=("exc",), update="v += -v * dt / tau + in_exc; n += 1; big += 3000000000LL;",
        threshold="v > 1e9", reset="v = 0;")
    n0, big0 = 2**24 + 1, 2**40 + 1
    sim.setup(timestep=0.1, target=target, precision=precision)
    try:
        counter = sim.native_cell_type(model, default_parameters=dict(tau=10.0),
                                       default_initial_values=dict(n=n0, big=float(big0)))
        assert counter.recordable == ["spikes", "v", "n", "big"]
        assert counter.default_initial_values == dict(v=0.0, n=n0, big=big0)
        assert counter.units["n"] == counter.units["big"] == "dimensionless"
        assert sim.native_cell_type(model, default_parameters=dict(tau=10.0),
                                    name="int_counter_2").default_initial_values["n"] == 0
        cells = sim.Population(3, counter())
        cells.record(["n", "big"])
        sim.run(1.0)
        sim.reset()
        sim.run(1.0)
        steps = np.arange(11)
        for segment in cells.get_data().segments:
            n = segment.filter(name="n")[0]
            big = segment.filter(name="big")[0]
            assert n.units.dimensionality.string == "dimensionless"
            np.testing.assert_array_equal(n.magnitude, np.repeat((n0 + steps)[:, None], 3, 1))
            np.testing.assert_array_equal(
                big.magnitude, np.repeat((big0 + 3_000_000_000 * steps)[:, None], 3, 1))
    finally:
        sim.end()


def test_initial_values_of_integer_state_are_whole_numbers_in_range(cpu_sim):
    model = NeuronModelDef(name="int_state", params=(), receptors=("exc",),
                           state=(StateVar("n", "int32_t"), StateVar("big", "int64_t")))
    for given in (dict(n=2.5), dict(n=2**31), dict(n=-2**31 - 1), dict(n=float("nan")),
                  dict(n="three")):
        with pytest.raises(errors.InvalidParameterValueError,
                           match=r"default_initial_values\['n'\] must be a whole number from "
                                 r"-2147483648 to 2147483647, as the state variable is an "
                                 r"int32_t \(got "):
            cpu_sim.native_cell_type(model, default_initial_values=given)
    with pytest.raises(errors.InvalidParameterValueError, match=r"\['big'\] .* to "
                                                                "9223372036854775807"):
        cpu_sim.native_cell_type(model, default_initial_values=dict(big=2**63))
    celltype = cpu_sim.native_cell_type(
        model, default_initial_values=dict(n=-2**31, big=2**63 - 1))
    assert celltype.default_initial_values == dict(n=-2**31, big=2**63 - 1)


def test_two_models_of_one_name_must_be_the_same_model(cpu_sim, monkeypatch):
    """The generated code keeps one model of each name: a second, different definition under
    that name would run the first one's code. Refused before anything is compiled."""
    sim = cpu_sim
    one = _stepper(support="static double increment(void) { return 1.0; }", step="increment()")
    two = _stepper(support="static double increment(void) { return 2.0; }", step="increment()")
    engine_compiles = []
    monkeypatch.setattr(sim.simulator.state.engine.target, "compile",
                        lambda code: engine_compiles.append(code))
    sim.Population(1, sim.native_cell_type(one, default_parameters=dict(vt=100.0))())
    sim.Population(1, sim.native_cell_type(two, default_parameters=dict(vt=100.0))())
    with pytest.raises(errors.InvalidModelError, match="both named 'stepper'"):
        sim.run(1.0)
    assert engine_compiles == []


def test_equal_definitions_of_one_name_are_one_model(cpu_sim):
    sim = cpu_sim
    cells = [sim.Population(1, sim.native_cell_type(_stepper(step="0.5"),
                                                    default_parameters=dict(vt=100.0))())
             for _ in range(2)]
    for population in cells:
        population.record("v")
    sim.run(1.0)
    assert [_final_v(p)[0] for p in cells] == [5.0, 5.0]


def test_synapse_models_of_one_name_must_be_the_same(cpu_sim):
    sim = cpu_sim

    def transmitting(factor):
        return SynapseModelDef(name="scaled", params=("a",),
                               on_pre=f"w_eff = {factor} * weight + 0 * a;")

    cells = sim.Population(2, sim.IF_curr_exp())
    for factor in (1, 2):
        synapse_type = sim.native_synapse_type(transmitting(factor), default_parameters=dict(a=0.0))
        sim.Projection(cells, cells, sim.AllToAllConnector(), synapse_type(weight=0.1))
    with pytest.raises(errors.InvalidModelError, match="SynapseModelDef definitions are both "
                                                       "named 'scaled'"):
        sim.run(1.0)


def test_a_parameter_named_spike_times_is_an_ordinary_number_in_a_model_of_one_s_own(sim):
    """Only SpikeSourceArray's spike_times are sequences of times; the name is free in
    other models (it was taken for SpikeSourceArray's and refused by numpy)."""
    model = NeuronModelDef(name="late_kick", params=("spike_times",), state=(StateVar("v"),),
                           update="v += (t >= spike_times) ? 1.0 : 0.0;", threshold="0",
                           reset="")
    kick = sim.native_cell_type(model, default_parameters=dict(spike_times=5.0))
    cells = sim.Population(2, kick(spike_times=[5.0, 8.0]))
    cells.record("v")
    sim.run(10.0)
    # v at 9.9 ms (the last sample) counts the steps from t = 5.0 and 8.0 ms on
    np.testing.assert_array_equal(_final_v(cells), [50.0, 20.0])
    assert cells.get("spike_times").tolist() == [5.0, 8.0]


def test_loops_inside_a_snippet_may_break(sim):
    """break and continue are refused only outside a loop of the snippet (pynn_gpu.modelcheck)."""
    model = _stepper(name="loop_stepper",
                     update="for (int k = 0; k < 10; ++k) { if (k == 3) break; v += 1; }")
    cells = sim.Population(40, sim.native_cell_type(model, default_parameters=dict(vt=1e6))())
    cells.record("v")
    sim.run(1.0)
    np.testing.assert_array_equal(_final_v(cells), np.full(40, 30.0))


def test_line_comments_may_end_every_snippet(sim):
    """A '//' comment ends with its line: the templates start a new line after each snippet
    (the threshold is no longer followed by ') {' on its line, which the comment swallowed)."""
    model = NeuronModelDef(
        name="commented_stepper", params=("vt",), state=(StateVar("v"),),
        update="v += 1;  // one a step", threshold="v >= vt  // fire above vt",
        reset="v = 0;  // back to rest", support="// nothing here")
    cells = sim.Population(3, sim.native_cell_type(model, default_parameters=dict(vt=5.0))())
    cells.record("spikes")
    sim.run(2.0)
    # v is 5 after the fifth step (t = 0.4 ms): a spike at 0.5 ms, and every 5 steps after
    for train in cells.get_data().segments[0].spiketrains:
        np.testing.assert_allclose(train.magnitude, [0.5, 1.0, 1.5, 2.0])


def test_the_c_target_knows_the_math_functions_cuda_has_and_no_trigraphs(sim):
    """The C target compiles C99 with GNU extensions, as CUDA's C++ is: j0 and exp10 are
    declared (C99 took them for functions returning int: 0 and 1 instead of 0.2239 and
    100), and a comment ending in '??/' is no line splice (it swallowed the next line)."""
    model = NeuronModelDef(
        name="gnu_math", params=("a",), state=(StateVar("v"), StateVar("w")),
        update="v = j0(a);  // Bessel??/\nw = exp10(a);", threshold="0", reset="")
    cells = sim.Population(2, sim.native_cell_type(model, default_parameters=dict(a=0.0))(
        a=[0.0, 2.0]))
    cells.record(["v", "w"])
    sim.run(0.2)
    segment = cells.get_data().segments[0]
    np.testing.assert_allclose(segment.filter(name="v")[0].magnitude[-1], [1.0, 0.22389078],
                               rtol=1e-7)
    np.testing.assert_allclose(segment.filter(name="w")[0].magnitude[-1], [1.0, 100.0],
                               rtol=1e-12)


def test_a_function_the_c_target_does_not_know_is_a_compilation_error(cpu_sim):
    """Called undeclared, it was taken for a function returning int: the library then
    failed to load ('undefined symbol'), or gave wrong numbers for a function it had."""
    from pynn_gpu.targets.cpu import CompilationError
    sim = cpu_sim
    model = NeuronModelDef(name="misspelt", params=("a",), state=(StateVar("v"),),
                           update="v = sqrtt(a);", threshold="0", reset="")
    sim.Population(1, sim.native_cell_type(model, default_parameters=dict(a=4.0))())
    with pytest.raises(CompilationError, match="implicit declaration of function .sqrtt"):
        sim.run(0.1)


def test_a_model_is_injectable_when_a_snippet_reads_the_identifier_i_inj(sim):
    """The default `injectable`: i_inj read by the update, the threshold or the reset (the
    kernels give it to all three); a longer name, a comment or a literal that holds the
    letters i_inj is no reading of it."""
    def model(name, **snippets):
        snippets = {"update": "v += 1;", "threshold": "v > 1e9", "reset": "v = 0;",
                    **snippets}
        return NeuronModelDef(name=name, params=("vt", "multi_inj"), state=(StateVar("v"),),
                              receptors=("exc",), **snippets)

    def celltype(definition):
        return sim.native_cell_type(definition, default_parameters=dict(vt=1.0, multi_inj=0.0))

    for k, snippets in enumerate((
            dict(update="v += multi_inj;  /* no i_inj here */ // nor i_inj"),
            dict(update='(void) "i_inj"; v += 1;'), dict(reset="v = 0; // i_inj"))):
        never = celltype(model(f"never_injected{k}", **snippets))
        assert not never.injectable
        with pytest.raises(TypeError, match="Can't inject current"):
            sim.DCSource(amplitude=5.0).inject_into(sim.Population(1, never()))
    for k, snippets in enumerate((dict(update="v += i_inj;"), dict(reset="v = i_inj;"))):
        assert celltype(model(f"injected{k}", **snippets)).injectable
    # read in the threshold only: it fires in each step with 2 nA > vt injected
    cells = sim.Population(2, celltype(model("fired_by_current", threshold="i_inj > vt"))())
    assert cells.celltype.injectable
    sim.DCSource(amplitude=2.0, start=1.0, stop=2.0).inject_into(cells[0:1])
    cells.record("spikes")
    sim.run(3.0)
    trains = cells.get_data().segments[0].spiketrains
    np.testing.assert_allclose(trains[0].magnitude, np.arange(11, 21) * 0.1)
    assert len(trains[1]) == 0


def test_a_model_without_receptors_that_reads_i_inj_takes_current(sim):
    """Injected current needs no receptor (a DCSource was refused as if into a spike
    source); synapses and drives, which do, are refused naming the population."""
    model = NeuronModelDef(name="integrator", params=("cm",), state=(StateVar("v"),),
                           update="v += i_inj * dt / cm;")
    cells = sim.Population(1, sim.native_cell_type(model, default_parameters=dict(cm=2.0))(),
                           label="integrators")
    sim.DCSource(amplitude=1.0, start=0.0, stop=2.0).inject_into(cells)
    cells.record("v")
    sim.run(3.0)
    assert _final_v(cells)[0] == pytest.approx(1.0)     # 1 nA for 2 ms into 2 nF
    with pytest.raises(errors.ConnectionError, match="integrators through a receptor"):
        sim.PoissonDrive(rate=10.0, weight=0.1).inject_into(cells)
    with pytest.raises(errors.ConnectionError, match="integrators .*it has no receptors"):
        sim.Projection(cells, cells, sim.AllToAllConnector(), sim.StaticSynapse())


def test_units_of_a_model_s_variables_are_checked_when_the_type_is_made(cpu_sim):
    sim = cpu_sim
    with pytest.raises(errors.InvalidParameterValueError, match=r"units\['v'\] = 'bogus_unit'"):
        sim.native_cell_type(_stepper(), default_parameters=dict(vt=1.0),
                             units=dict(v="bogus_unit"))
    with pytest.raises(errors.InvalidParameterValueError, match="units"):
        sim.native_cell_type(_stepper(), default_parameters=dict(vt=1.0), units=dict(v="m V"))
    celltype = sim.native_cell_type(_stepper(), default_parameters=dict(vt=1.0),
                                    units=dict(v="uS"))
    assert celltype.units["v"] == "uS"


def test_units_and_receptor_time_constants_name_what_the_model_has(cpu_sim):
    """A misspelt name would be ignored (units) or give TsodyksMarkramSynapse a time
    constant of 0 (receptor_time_constants): both are refused when the type is made."""
    sim = cpu_sim
    with pytest.raises(errors.InvalidParameterValueError, match="'vv' is not one of them"):
        sim.native_cell_type(_stepper(), default_parameters=dict(vt=1.0),
                             units=dict(v="mV", vv="mV"))
    model = NeuronModelDef(name="with_receptor", params=("vt", "tau_a"), state=(StateVar("v"),),
                           receptors=("AMPA",), update="v += in_AMPA;", threshold="v >= vt",
                           reset="v = 0;")
    defaults = dict(vt=1.0, tau_a=2.0)
    with pytest.raises(errors.InvalidParameterValueError, match="'tau_b' is not a parameter"):
        sim.native_cell_type(model, default_parameters=defaults,
                             receptor_time_constants=dict(AMPA="tau_b"))
    with pytest.raises(errors.InvalidParameterValueError, match="'NMDA' is not a receptor"):
        sim.native_cell_type(model, default_parameters=defaults,
                             receptor_time_constants=dict(NMDA="tau_a"))
    celltype = sim.native_cell_type(model, default_parameters=defaults,
                                    receptor_time_constants=dict(AMPA="tau_a"))
    assert celltype.receptor_time_constants == {"AMPA": "tau_a"}
