"""Code generation: user text never reaches code outside comments; templates are strict."""

import copy
import re

import numpy as np
import pytest

import pynn_gpu as sim
from pynn_gpu import codegen
from pynn_gpu.ir.graph import comment_text
from pynn_gpu.modeldef import check_identifier

EVIL = 'x*/ int main(){return 1;} /* "\\n#define v 0'


def _build(label):
    sim.setup(timestep=0.1, target="cpu")
    cells = sim.Population(3, sim.IF_curr_exp(), label=label)
    source = sim.Population(2, sim.SpikeSourcePoisson(rate=5.0), label=label)
    sim.Projection(source, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1),
                   label=label)
    cells.record(["spikes", "v"])
    sim.DCSource(amplitude=0.1).inject_into(cells)
    sim.run(1.0)
    graph = sim.simulator.state.engine.graph
    sim.end()
    return graph


def _code_outside_comments(source):
    return re.sub(r"/\*.*?\*/", "", source, flags=re.S)


@pytest.mark.parametrize("target", ["c", "cuda"])
def test_labels_never_reach_generated_code(target):
    graph = _build(EVIL)
    source = codegen.generate(graph, target).source
    assert EVIL not in source
    outside = _code_outside_comments(source)
    for fragment in ("main(", "return 1", "#define v", "x*/", "x??"):
        assert fragment not in outside


@pytest.mark.parametrize("target", ["c", "cuda"])
def test_model_names_reach_comments_only_cleaned(target):
    """Model names are identifiers (checked when a model is defined); the templates clean
    them as comments all the same, so that no name can end a comment."""
    graph = _build("a")
    for group in graph.neuron_groups + graph.synapse_groups + graph.current_sources:
        model = copy.copy(group.model)
        object.__setattr__(model, "name", EVIL)     # past the check
        group.model = model
    outside = _code_outside_comments(codegen.generate(graph, target).source)
    for fragment in ("main(", "return 1", "#define v", "x*/", "x??"):
        assert fragment not in outside


def test_comment_text_is_safe_inside_block_comments():
    text = comment_text(EVIL * 3)
    assert "*/" not in text and "/*" not in text and "\n" not in text
    assert len(text) <= 80


@pytest.mark.parametrize("name", ["int", "t", "dt", "1abc", "a-b", "_hidden", "v m", "UNIFORM"])
def test_model_identifiers_are_checked(name):
    with pytest.raises(ValueError):
        check_identifier(name, "test")


def test_same_network_renders_the_same_source():
    first = codegen.generate(_build("a"), "c").source
    second = codegen.generate(_build("a"), "c").source
    assert first == second
    assert "typedef double scalar;" in first


def test_float_precision_uses_float_scalars():
    sim.setup(timestep=0.1, target="cpu", precision="float")
    cells = sim.Population(2, sim.IF_cond_alpha(i_offset=1.0))
    cells.record("v")
    sim.run(50.0)
    v = cells.get_data().segments[0].filter(name="v")[0]
    assert "typedef float scalar;" in codegen.generate(sim.simulator.state.engine.graph, "c").source
    assert cells._data.kernel["v"].dtype == np.float32
    sim.end()
    sim.setup(timestep=0.1, target="cpu", precision="double")
    cells = sim.Population(2, sim.IF_cond_alpha(i_offset=1.0))
    cells.record("v")
    sim.run(50.0)
    v64 = cells.get_data().segments[0].filter(name="v")[0]
    sim.end()
    np.testing.assert_allclose(v.magnitude, v64.magnitude, atol=1e-3)


def test_pair_ordinals_count_the_synapses_of_each_pair_in_row_order():
    from pynn_gpu.synapse_building import pair_ordinals
    pre = np.array([0, 0, 0, 1, 1, 2])
    post = np.array([3, 1, 3, 1, 1, 3])
    np.testing.assert_array_equal(pair_ordinals(pre, post, 4), [0, 0, 1, 0, 1, 0])
    assert pair_ordinals(pre[:0], post[:0], 4).dtype == np.uint16


def test_random_keys_depend_on_the_network_alone():
    """One key per (projection, presynaptic population, postsynaptic population), in
    creation order, whether the part holds synapses or not."""
    import pynn_gpu as sim
    from pynn_gpu.ir.graph import SYNAPSE_RNG_KEYS
    from pynn_gpu.synapse_building import RandomKeys
    sim.setup(timestep=0.1, target="cpu")
    try:
        a, b, c = (sim.Population(4, sim.IF_curr_exp()) for _ in range(3))
        first = sim.Projection(a, b, sim.OneToOneConnector(), sim.StaticSynapse())
        second = sim.Projection(a + b, c[1:3], sim.AllToAllConnector(), sim.StaticSynapse())
        keys = RandomKeys(sim.simulator.state.projections)
        assert keys.of(first, a, b) == SYNAPSE_RNG_KEYS
        assert [keys.of(second, pre, c) for pre in (a, b)] == [SYNAPSE_RNG_KEYS + 1,
                                                               SYNAPSE_RNG_KEYS + 2]
    finally:
        sim.end()
