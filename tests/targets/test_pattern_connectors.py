"""
AllToAllConnector and OneToOneConnector with constant values or NativeRNG-drawn ones, as
generated projections (pynn_gpu.pattern_connectors): nothing built when created; PyNN's
connectivity (every pair, or (i, i); allow_self_connections) in PyNN's creation order; the
weights and delays the generator draws; built on the CUDA device in every stored format the
planner picks, equal to the host's, and runs equal to the C target's. With NumpyRNG values
they are built by the host builders, as PyNN's own code builds them.
"""

import numpy as np
import pytest
from pyNN.random import NumpyRNG, RandomDistribution

import pynn_gpu as sim
from pynn_gpu import pattern_connectors, procedural, projections, synapse_building
from pynn_gpu.projections import Projection
from pynn_gpu.targets import cuda_generation

from device_generation import assert_device_builds_what_the_host_builds


def _native_values(seed=5):
    rng = sim.NativeRNG(seed=seed)
    return sim.StaticSynapse(
        weight=RandomDistribution("normal_clipped", mu=0.5, sigma=0.2, low=0.0, high=1.0,
                                  rng=rng),
        delay=RandomDistribution("uniform", low=0.1, high=2.0, rng=rng))


def _creation_order(n_pre, n_post, skip_self=False):
    """PyNN's AllToAll pairs: by post, then pre."""
    post, pre = np.divmod(np.arange(n_pre * n_post), n_pre)
    keep = ~(skip_self & (pre == post))
    return pre[keep], post[keep]


@pytest.mark.parametrize("allow_self", [True, False])
def test_all_to_all_is_generated_with_pynn_connectivity(cpu_sim, no_host_builder, allow_self):
    cells = sim.Population(12, sim.IF_curr_exp())
    other = sim.Population(7, sim.IF_curr_exp())
    recurrent = sim.Projection(cells, cells, sim.AllToAllConnector(
        allow_self_connections=allow_self), sim.StaticSynapse(weight=0.25, delay=1.5))
    forward = sim.Projection(cells, other, sim.AllToAllConnector(
        allow_self_connections=allow_self), _native_values())
    for prj in (recurrent, forward):
        assert isinstance(prj._procedural, pattern_connectors.AllToAllSpec)
        assert prj.awaiting_generation          # nothing built until asked for
    pre, post = _creation_order(12, 12, skip_self=not allow_self)
    np.testing.assert_array_equal(recurrent._pre_index, pre)
    np.testing.assert_array_equal(recurrent._post_index, post)
    assert set(recurrent.get("weight", format="list", with_address=False)) == {0.25}
    assert set(recurrent.get("delay", format="list", with_address=False)) == {1.5}
    # self-connections exist only within one population
    pre, post = _creation_order(12, 7)
    np.testing.assert_array_equal(forward._pre_index, pre)
    np.testing.assert_array_equal(forward._post_index, post)
    assert len(forward) == 84 and len(recurrent) == (144 if allow_self else 132)


def test_drawn_values_are_the_generators(cpu_sim, no_host_builder):
    """NativeRNG weights and delays: pair (i, j) gets what FixedProbability(1) with the
    same seed and stream draws for it; the values lie within their distributions."""
    cells = sim.Population(40, sim.IF_curr_exp())
    all_to_all = sim.Projection(cells, cells, sim.AllToAllConnector(), _native_values(seed=9))
    rng = sim.NativeRNG(seed=9)
    same = sim.Projection(cells, cells, sim.FixedProbabilityConnector(1.0, rng=rng),
                          _native_values(seed=9))
    assert same._procedural.key == all_to_all._procedural.key     # each rng's first stream
    for name in ("weight", "delay"):
        a2a, fp1 = (np.asarray(p.get(name, format="array")) for p in (all_to_all, same))
        np.testing.assert_array_equal(a2a, fp1)
    weights = np.asarray(all_to_all.get("weight", format="list", with_address=False))
    delays = np.asarray(all_to_all.get("delay", format="list", with_address=False))
    assert weights.min() >= 0.0 and weights.max() <= 1.0 and abs(weights.mean() - 0.5) < 0.03
    assert delays.min() >= 0.1 and delays.max() <= 2.0 and len(np.unique(delays)) > 10


def test_one_to_one_is_generated(cpu_sim, no_host_builder):
    pre = sim.Population(50, sim.IF_curr_exp())
    post = sim.Population(50, sim.IF_curr_exp())
    constant = sim.Projection(pre, post, sim.OneToOneConnector(),
                              sim.StaticSynapse(weight=0.5, delay=0.3))
    drawn = sim.Projection(pre, pre, sim.OneToOneConnector(), _native_values())
    for prj in (constant, drawn):
        assert isinstance(prj._procedural, pattern_connectors.OneToOneSpec)
        assert prj.awaiting_generation
        np.testing.assert_array_equal(prj._pre_index, np.arange(50))
        np.testing.assert_array_equal(prj._post_index, np.arange(50))   # (i, i) even for pre is post
    assert set(constant.get("weight", format="list", with_address=False)) == {0.5}
    weights = np.asarray(drawn.get("weight", format="list", with_address=False))
    assert len(np.unique(weights)) == 50 and weights.min() >= 0.0 and weights.max() <= 1.0


def test_numpy_rng_values_equal_pynns_own_connector(cpu_sim, monkeypatch):
    """Values from a seeded NumpyRNG: the host builder, drawing what PyNN's code draws."""
    cells = sim.Population(30, sim.IF_curr_exp())

    def synapse():
        return sim.StaticSynapse(
            weight=RandomDistribution("normal", mu=0.5, sigma=0.1, rng=NumpyRNG(seed=3)),
            delay=RandomDistribution("uniform", low=0.1, high=2.0, rng=NumpyRNG(seed=4)))
    fast = [sim.Projection(cells, cells, sim.AllToAllConnector(allow_self_connections=False),
                           synapse()),
            sim.Projection(cells, cells, sim.OneToOneConnector(), synapse())]
    assert all(p._procedural is None for p in fast)     # the host builder, not the generator
    monkeypatch.setattr(projections, "build_connections", lambda *a: None)   # PyNN's code
    slow = [sim.Projection(cells, cells, sim.AllToAllConnector(allow_self_connections=False),
                           synapse()),
            sim.Projection(cells, cells, sim.OneToOneConnector(), synapse())]
    for f, s in zip(fast, slow):
        assert len(f) > 0
        assert f.get(["weight", "delay"], format="list") == \
            s.get(["weight", "delay"], format="list")


def test_what_stays_on_the_host(cpu_sim):
    cells = sim.Population(10, sim.IF_curr_exp())
    connector = sim.AllToAllConnector()
    connector.allow_self_connections = "NoMutual"       # PyNN's constructor takes bools only
    no_mutual = sim.Projection(cells, cells, connector, sim.StaticSynapse(weight=0.1))
    assert no_mutual._procedural is None and len(no_mutual) == 45
    view = sim.Projection(cells[:5], cells, sim.AllToAllConnector(),
                          sim.StaticSynapse(weight=0.1))
    assert view._procedural is None and len(view) == 50


def test_all_to_all_can_be_procedural_one_to_one_cannot(cpu_sim):
    cells = sim.Population(10, sim.IF_curr_exp())
    prj = sim.Projection(cells, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1),
                         connectivity_format="procedural")
    assert prj.is_procedural and len(prj) == 100
    from pyNN import errors
    with pytest.raises(errors.ConnectionError, match="not a FixedProbabilityConnector or"):
        sim.Projection(cells, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.1),
                       connectivity_format="procedural")


def test_device_formats_rule():
    """Which stored formats each target fills itself (synapse_building.device_formats), and
    which matrices the CUDA generator fills directly rather than from rows (the others)."""
    fills_directly = cuda_generation.fills_directly
    value = procedural.ValueSpec("constant", 0.1)
    fp = procedural.ProceduralSpec(p=0.3, seed=1, key=0, skip_self=False, weight=value,
                                   delay=value)
    a2a = pattern_connectors.AllToAllSpec(p=1.0, seed=1, key=0, skip_self=True,
                                          weight=value, delay=value)
    one = pattern_connectors.OneToOneSpec(p=1.0, seed=1, key=0, skip_self=False,
                                          weight=value, delay=value)
    for spec in (fp, a2a, one):
        assert synapse_building.device_formats(spec) == ("ragged", "dense", "bitmask")
        assert fills_directly(spec, "dense")
    assert synapse_building.device_formats(fp, on_cuda=False) == ()
    assert synapse_building.device_formats(a2a, on_cuda=False) == ("bitmask",)
    assert synapse_building.device_formats(one, on_cuda=False) == ("bitmask",)
    assert not fills_directly(fp, "bitmask")
    assert fills_directly(a2a, "bitmask") and fills_directly(one, "bitmask")
    assert not one.regenerable and a2a.regenerable
    assert one.expected_synapses(9, 9) == 9 and a2a.expected_synapses(9, 9) == 72


# --- the C target's bitmask -----------------------------------------------------------------

@pytest.mark.parametrize("n_pre, n_post", [(12, 12), (45, 37), (37, 45), (1, 1)])
@pytest.mark.parametrize("kind", ["all, self", "all, no self", "one to one"])
def test_host_bitmask_holds_the_generated_pairs(n_pre, n_post, kind):
    value = procedural.ValueSpec("constant", 0.5)
    if kind == "one to one":
        n_post = n_pre
        spec = pattern_connectors.OneToOneSpec(p=1.0, seed=1, key=0, skip_self=False,
                                               weight=value, delay=value)
    else:
        spec = pattern_connectors.AllToAllSpec(p=1.0, seed=1, key=0, weight=value, delay=value,
                                               skip_self=kind.endswith("no self"))
    counts, mask = pattern_connectors.host_bitmask(spec, n_pre, n_post)
    pre, post, _, _ = spec.generate(n_pre, n_post, 0.1)
    bits = np.unpackbits(mask.view(np.uint8), bitorder="little")
    expected = np.zeros(bits.size, np.uint8)
    expected[pre * n_post + post] = 1
    np.testing.assert_array_equal(bits, expected)
    np.testing.assert_array_equal(counts, np.bincount(pre, minlength=n_pre))


def test_c_target_fills_a_bitmask_without_listing_the_synapses(monkeypatch):
    """A forced bitmask of a constant AllToAll or OneToOne is filled directly on the C target
    (the projections stay unlisted), and runs as the rows listed by the generator run."""
    results = {}
    for formats in (("bitmask", "ragged", "bitmask"), ("ragged", "ragged", "ragged")):
        sim.setup(timestep=0.1, target="cpu")
        try:
            cells = _network(formats)(sim)["cells"]
            sim.run(20.0)
            generated = sim.simulator.state.projections
            if formats[0] == "bitmask":
                assert [row["format"] for row in sim.connectivity_report()] == [
                    "bitmask", "bitmask", "ragged"]
                assert generated[0].awaiting_generation and generated[1].awaiting_generation
            block = cells.get_data()
            results[formats] = ([np.asarray(s) for s in block.segments[0].spiketrains],
                                np.asarray(block.segments[0].analogsignals[0]))
        finally:
            sim.end()
    (spikes, v), (spikes_rows, v_rows) = results.values()
    assert sum(len(s) for s in spikes) > 30
    assert all(np.array_equal(a, b) for a, b in zip(spikes, spikes_rows))
    np.testing.assert_array_equal(v, v_rows)


# --- on the CUDA device ----------------------------------------------------------------------

def _network(formats):
    """A drive into a recurrent AllToAll (self-connections off) and a OneToOne, in the given
    formats ("auto": the planner's choice)."""
    a2a_format, drawn_format, one_format = formats

    def build(sim):
        drive = sim.Population(30, sim.SpikeSourcePoisson(rate=80.0), label="drive")
        cells = sim.Population(30, sim.IF_curr_exp(v_thresh=-62.0), label="cells")
        sim.Projection(drive, cells, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=2.0, delay=0.5), connectivity_format=one_format)
        sim.Projection(cells, cells, sim.AllToAllConnector(allow_self_connections=False),
                       sim.StaticSynapse(weight=0.125, delay=1.0),
                       connectivity_format=a2a_format)
        sim.Projection(drive, cells, sim.AllToAllConnector(), _native_values(seed=11),
                       connectivity_format=drawn_format)
        cells.record(["spikes", "v"])
        return {"cells": cells}
    return build


@pytest.mark.parametrize("formats", [
    ("auto", "auto", "auto"),           # bitmask, dense, ragged
    ("ragged", "ragged", "dense"),
    ("dense", "procedural", "bitmask"),
])
def test_device_builds_what_the_host_builds(cuda_backend, monkeypatch, formats):
    n_generated = 3 - formats.count("procedural")
    cpu = assert_device_builds_what_the_host_builds(
        cuda_generation, _network(formats), n_generated, monkeypatch, cuda_backend,
        min_synapses=30)
    spikes = cpu["cells"][0]
    assert sum(len(s) for s in spikes) > 30


def test_auto_formats_and_nothing_on_the_host(emulate, monkeypatch):
    """The planner's formats for these projections, filled on the device."""
    emulate()
    monkeypatch.setattr(Projection, "_generate_on_host", _forbidden_on_host)
    sim.setup(timestep=0.1, target="cuda")
    try:
        _network(("auto", "auto", "auto"))(sim)
        sim.run(5.0)
        report = sim.connectivity_report()
    finally:
        sim.end()
    assert [row["format"] for row in report] == ["ragged", "bitmask", "dense"]
    assert [row["synapses"] for row in report] == [30, 30 * 29, 30 * 30]


def _forbidden_on_host(self):
    raise AssertionError("generated on the host during a CUDA run")


def test_weight_sign_checked_at_creation(cpu_sim):
    """PyNN's sign rule, as the host builder applies it, before anything is generated."""
    from pyNN import errors
    source = sim.Population(3, sim.SpikeSourcePoisson(rate=10.0))
    cells = sim.Population(3, sim.IF_curr_exp())
    either_sign = RandomDistribution("uniform", low=-0.1, high=0.1, rng=sim.NativeRNG(1))
    for connector in (sim.AllToAllConnector(), sim.OneToOneConnector()):
        with pytest.raises(errors.ConnectionError, match="[Ww]eights must be"):
            sim.Projection(source, cells, connector, sim.StaticSynapse(weight=either_sign))
        inhibitory = sim.Projection(source, cells, connector,
                                    sim.StaticSynapse(weight=-0.2), receptor_type="inhibitory")
        assert inhibitory.awaiting_generation
