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
