"""
Stored connectivity formats: ragged rows, dense matrices and bitmasks hold the same synapses
and give the same runs; the planner's choice; requests that cannot be met; bytes reported;
rows whose weights or delays are all alike store them once.
"""

import numpy as np
import pytest
from pyNN import errors

import pynn_gpu as sim
from pynn_gpu import codegen, planner
from pynn_gpu.targets import cuda

from nvcc_check import assert_nvcc_compiles
from test_cuda_target import assert_identical, simulate


def _network(uniform_format, random_format):
    """An all-to-all projection with one weight and delay, and a dense random one with
    weights and delays per synapse (their sums are exact: powers of two)."""
    def build(sim):
        rng = np.random.default_rng(4)
        source = sim.Population(20, sim.SpikeSourcePoisson(rate=100.0), label="source")
        cells = sim.Population(50, sim.IF_curr_exp(v_thresh=-60.0), label="cells")
        sim.Projection(source, cells, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.5, delay=1.0),
                       connectivity_format=uniform_format)
        connections = [(i, j, rng.choice([0.0625, 0.125, 0.25]), 0.1 * rng.integers(1, 21))
                       for i in range(50) for j in range(50) if rng.random() < 0.6]
        sim.Projection(cells, cells, sim.FromListConnector(connections),
                       connectivity_format=random_format)
        cells.record(["spikes", "v"])
        return {"cells": cells}
    return build


def _formats(build):
    sim.setup(timestep=0.1, target="cpu")
    try:
        build(sim)
        sim.run(0.1)
        return [row["format"] for row in sim.connectivity_report()]
    finally:
        sim.end()


def test_auto_chooses_bitmask_and_dense_from_density_and_uniformity():
    assert _formats(_network("auto", "auto")) == ["bitmask", "dense"]
    assert _formats(_network("ragged", "ragged")) == ["ragged", "ragged"]


def test_every_format_gives_the_same_run():
    ragged = simulate("cpu", _network("ragged", "ragged"), 80.0)
    stored = simulate("cpu", _network("bitmask", "dense"), 80.0)
    assert_identical(ragged, stored)
    assert sum(len(s) for s in ragged["cells"][0]) > 50


@pytest.mark.parametrize("balanced", [False, True])
def test_cpu_and_cuda_agree_in_every_format(cuda_backend, balanced, monkeypatch):
    if balanced:        # every projection "balanced", over few threads that take turns
        monkeypatch.setattr(planner, "BALANCED_FROM_PRE", 1)
        monkeypatch.setattr(planner, "BALANCED_THREADS", 256)
    for formats in (("bitmask", "dense"), ("dense", "ragged")):
        cpu = simulate("cpu", _network(*formats), 60.0)
        gpu = simulate("cuda", _network(*formats), 60.0, runs=[20.0, 40.0])
        assert_identical(cpu, gpu)


def test_bytes_per_synapse_reported():
    sim.setup(timestep=0.1, target="cpu")
    try:
        _network("bitmask", "dense")(sim)
        sim.run(0.1)
        bitmask, dense = sim.connectivity_report()
    finally:
        sim.end()
    assert bitmask["synapses"] == 20 * 50
    # delays of at most 255 steps take a byte
    assert bitmask["bytes"] == 4 * -(-1000 // 32) + 8 + 1              # bits, weight, delay
    assert dense["bytes"] == 50 * 50 * (8 + 1)                           # double + uint8
    assert dense["bytes_per_synapse"] == pytest.approx(dense["bytes"] / dense["synapses"])


def test_setting_unequal_weights_moves_a_bitmask_to_another_format():
    sim.setup(timestep=0.1, target="cpu")
    try:
        source = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0, 6.0]))
        cells = sim.Population(4, sim.IF_curr_exp())
        prj = sim.Projection(source, cells, sim.AllToAllConnector(),
                             sim.StaticSynapse(weight=0.5, delay=1.0))
        cells.record("v")
        sim.run(5.0)
        assert sim.connectivity_report()[0]["format"] == "bitmask"
        prj.set(weight=np.array([0.5, 1.0, 2.0, 4.0]))
        sim.run(10.0)
        assert sim.connectivity_report()[0]["format"] == "dense"
        v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    finally:
        sim.end()
    rise = v[90] - v[70]          # after the second spike (at 7 ms + 1 ms delay)
    assert np.all(np.diff(rise) > 0)        # larger weights, larger responses


@pytest.mark.parametrize("fmt,connector,match", [
    ("bitmask", lambda: sim.AllToAllConnector(), "one weight and one delay"),
    ("dense", lambda: sim.FromListConnector([(0, 0, 0.1, 1.0), (0, 0, 0.2, 1.0)]),
     "at most one synapse per"),
])
def test_requests_that_cannot_be_met_say_why(fmt, connector, match):
    sim.setup(timestep=0.1, target="cpu")
    try:
        cells = sim.Population(3, sim.IF_curr_exp())
        weights = sim.RandomDistribution("uniform", (0.1, 0.2), rng=sim.NumpyRNG(seed=1))
        synapse = sim.StaticSynapse(weight=weights) if fmt == "bitmask" else None
        sim.Projection(cells, cells, connector(), synapse, connectivity_format=fmt,
                       label="p")
        with pytest.raises(errors.ConnectionError, match=match):
            sim.run(1.0)
    finally:
        sim.end()


def test_planner_thresholds():
    c = planner.Connectivity(n_pre=100, n_post=100, n_synapses=500, static=True,
                             one_per_pair=True, uniform=True)
    assert planner.stored_format("auto", c) == "ragged"             # 5 % dense
    dense = planner.Connectivity(100, 100, 6000, True, True, False)
    assert planner.stored_format("auto", dense) == "dense"
    assert planner.stored_format("ragged", dense) == "ragged"
    stp = planner.Connectivity(100, 100, 6000, False, True, True)
    assert planner.stored_format("auto", stp) == "ragged"


# --- a weight and a delay stored once -------------------------------------------------------

def _rows_of_one_weight(spoiled):
    """Sources onto cells and cells onto cells in rows of one weight and one delay each;
    with `spoiled`, a third projection of the same synapse model (onto cells of their own)
    has weights and delays per synapse, so no group of the model stores them once. The
    builder keeps the recurrent projection as `build.recurrent`."""
    def build(sim):
        rng = sim.NumpyRNG(seed=5)
        source = sim.Population(20, sim.SpikeSourcePoisson(rate=150.0), label="source")
        cells = sim.Population(50, sim.IF_curr_exp(v_thresh=-60.0), label="cells")
        sim.Projection(source, cells, sim.FixedProbabilityConnector(0.3, rng=rng),
                       sim.StaticSynapse(weight=0.5, delay=1.5), connectivity_format="ragged")
        recurrent = sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                                   sim.StaticSynapse(weight=0.25, delay=0.7),
                                   connectivity_format="ragged")
        if spoiled:
            others = sim.Population(5, sim.IF_curr_exp())
            rng = sim.NumpyRNG(seed=6)
            sim.Projection(source, others, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=sim.RandomDistribution("uniform", (0.1, 0.2),
                                                                           rng=rng),
                                             delay=sim.RandomDistribution("uniform", (0.1, 2.0),
                                                                          rng=rng)),
                           connectivity_format="ragged")
        cells.record(["spikes", "v"])
        build.recurrent = recurrent
        return {"cells": cells}
    return build


def _run_changing_weights(target, spoiled, new_weights, propagation="auto"):
    """Runs of 30 ms before and after `new_weights` (a number, or "unequal": powers of two,
    so that their sums are exact in any order) are set on the recurrent projection; the
    recordings, and each synapse group's shared values after each run."""
    build = _rows_of_one_weight(spoiled)
    sim.setup(timestep=0.1, target=target, rng_seed=3)
    try:
        populations = build(sim)
        for projection in sim.simulator.state.projections:
            projection.propagation = propagation
        sim.run(30.0)
        engine = sim.simulator.state.engine
        shared = [[g.shared_values for g in engine.graph.synapse_groups]]
        version = sim.simulator.state.structure_version
        if new_weights == "unequal":
            new_weights = np.random.default_rng(8).choice([0.125, 0.25, 0.5],
                                                          len(build.recurrent))
        build.recurrent.set(weight=new_weights)
        sim.run(30.0)
        shared.append([g.shared_values for g in engine.graph.synapse_groups])
        rebuilt = sim.simulator.state.structure_version != version
        cells = populations["cells"].get_data().segments[0]
        return {"spikes": [np.asarray(s) for s in cells.spiketrains],
                "v": cells.filter(name="v")[0].magnitude, "shared": shared,
                "rebuilt": rebuilt}
    finally:
        sim.end()


def test_rows_of_one_weight_and_one_delay_store_each_once(tmp_path):
    sim.setup(timestep=0.1, target="cpu")
    try:
        _rows_of_one_weight(spoiled=False)(sim)
        sim.run(0.1)
        engine = sim.simulator.state.engine
        report = sim.connectivity_report()
        for group, row in zip(engine.graph.synapse_groups, report):
            assert group.shared_values == ("weight", "delay")
            assert engine.arrays[f"{group.name}_weight"].size == 1
            assert engine.arrays[f"{group.name}_delay"].size == 1
            # row offsets, a postsynaptic index per synapse (two bytes for 50 neurons), one
            # weight, one delay (a byte)
            assert group.post_ctype == "uint16_t"
            assert row["bytes"] == 8 * (group.pre.size + 1) + 2 * row["synapses"] + 8 + 1
        source = codegen.generate(engine.graph, "cuda").source
        assert "weight[0]" in source and "_G.delay[0]) % RING_LENGTH" in source
    finally:
        sim.end()
    if cuda.find_nvcc() is not None:
        assert_nvcc_compiles(source, tmp_path)


@pytest.mark.parametrize("new_weights,rebuilt", [
    (0.125, False),                                         # still one: the value replaced
    ("unequal", True),
])
def test_a_weight_stored_once_runs_as_one_per_synapse(new_weights, rebuilt):
    shared = _run_changing_weights("cpu", False, new_weights)
    per_synapse = _run_changing_weights("cpu", True, new_weights)
    assert shared["shared"][0] == [("weight", "delay")] * 2
    assert per_synapse["shared"][0] == [()] * 3
    # unequal weights need them per synapse again: rebuilt, the delays still stored once
    assert shared["shared"][1] == [("delay",) if rebuilt else ("weight", "delay")] * 2
    assert shared["rebuilt"] == rebuilt
    np.testing.assert_array_equal(shared["v"], per_synapse["v"])
    for a, b in zip(shared["spikes"], per_synapse["spikes"]):
        np.testing.assert_array_equal(a, b)
    assert sum(len(s) for s in shared["spikes"]) > 20


@pytest.mark.parametrize("propagation", ["pre", "post", "balanced"])
def test_a_weight_stored_once_agrees_between_cpu_and_cuda(cuda_backend, propagation,
                                                           monkeypatch):
    monkeypatch.setattr(planner, "BALANCED_THREADS", 256)   # threads taking turns
    cpu = _run_changing_weights("cpu", False, "unequal")
    gpu = _run_changing_weights("cuda", False, "unequal", propagation)
    assert gpu["shared"] == cpu["shared"]
    np.testing.assert_array_equal(cpu["v"], gpu["v"])
    for a, b in zip(cpu["spikes"], gpu["spikes"]):
        np.testing.assert_array_equal(a, b)


def test_plastic_synapses_keep_a_weight_and_a_delay_per_synapse():
    sim.setup(timestep=0.1, target="cpu")
    try:
        cells = sim.Population(10, sim.IF_curr_exp())
        stdp = sim.STDPMechanism(sim.SpikePairRule(), sim.AdditiveWeightDependence(w_max=1.0),
                                 weight=0.5, delay=1.0)
        depressing = sim.TsodyksMarkramSynapse(weight=0.5, delay=1.0, U=0.5)
        for synapse in (stdp, depressing):
            sim.Projection(cells, cells, sim.AllToAllConnector(), synapse,
                           connectivity_format="ragged")
        sim.run(0.1)
        groups = sim.simulator.state.engine.graph.synapse_groups
    finally:
        sim.end()
    # STDP changes its weights and its kernels split each delay; Tsodyks-Markram's do not
    assert [g.shared_values for g in groups] == [(), ("weight", "delay")]


# --- delays stored in the narrowest type the ring allows ------------------------------------

def _delayed_spikes(delays):
    """A spike at 1 ms reaches cell j of "cells" after delays[j] (rows of a delay per
    synapse); onto "others", drawn delays up to the longest (generated by the NativeRNG: on
    CUDA, on the device) and a dense matrix of half the longest."""
    longest = max(delays)

    def build(sim):
        source = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]), label="source")
        cells = sim.Population(len(delays), sim.IF_curr_exp(tau_m=1e6, v_thresh=1e6),
                               label="cells")
        others = sim.Population(5, sim.IF_curr_exp(tau_m=1e6, v_thresh=1e6), label="others")
        sim.Projection(source, cells, sim.FromListConnector(
            [(0, j, 0.5, d) for j, d in enumerate(delays)]), connectivity_format="ragged")
        drawn = sim.RandomDistribution("uniform", (0.1, longest), rng=sim.NativeRNG(seed=2))
        sim.Projection(source, others, sim.FixedProbabilityConnector(0.7, rng=sim.NativeRNG(3)),
                       sim.StaticSynapse(weight=0.25, delay=drawn), connectivity_format="ragged")
        sim.Projection(source, others, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.125, delay=longest / 2),
                       connectivity_format="dense")
        for population in (cells, others):
            population.record("v")
        return {"cells": cells, "others": others}
    return build


@pytest.mark.parametrize("longest,ctype", [(25.5, "uint8_t"), (25.6, "uint16_t"),
                                           (6553.6, "int32_t")])
def test_delays_of_any_ring_arrive_on_their_step(cuda_backend, longest, ctype):
    """Delays up to 25.5 ms at dt = 0.1 ms are stored in a byte, up to 6553.5 ms in two, and
    longer ones in four; each arrives on its step on both targets."""
    delays = [0.1, 0.2, 1.0, round(longest / 3, 1), round(longest - 0.1, 1), longest]
    build = _delayed_spikes(delays)
    sim.setup(timestep=0.1, target="cpu")
    try:
        build(sim)
        sim.run(0.1)
        graph = sim.simulator.state.engine.graph
        assert (graph.ring_length, graph.delay_ctype) == (round(longest * 10) + 1, ctype)
        rows = sim.simulator.state.engine.arrays[f"{graph.synapse_groups[0].name}_delay"]
        assert rows.dtype == graph.delay_dtype
        np.testing.assert_array_equal(rows, np.round(np.array(delays) * 10))
    finally:
        sim.end()
    cpu = simulate("cpu", build, longest + 3.0)
    gpu = simulate("cuda", build, longest + 3.0)
    assert_identical(cpu, gpu)
    v = cpu["cells"][1]["v"]
    first_change = np.argmax(v != v[0], axis=0)
    # the same number of steps after each arrival step (1 ms + the delay)
    lag = first_change - np.round((1.0 + np.array(delays)) * 10)
    assert np.all(lag == lag[0]) and 0 < lag[0] <= 2


@pytest.mark.parametrize("size,ctype", [(65536, "uint16_t"), (65537, "int32_t")])
def test_postsynaptic_indices_of_any_population_size(cuda_backend, size, ctype):
    """Rows onto up to 65,536 neurons store their postsynaptic indices in two bytes, onto
    more in four; the last neuron gets its input on both targets (rows built on the host,
    and generated by the NativeRNG: on CUDA, on the device, by each generator: FixedProbability,
    fixed-number rows and columns, distance-dependent)."""
    last = size - 1

    def build(sim):
        source = sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0]), label="source")
        cells = sim.Population(size, sim.IF_curr_exp(tau_m=1e6, v_thresh=1e6), label="cells")
        sim.Projection(source, cells, sim.FromListConnector(
            [(0, 0, 0.5, 1.0), (0, 40000, 0.25, 2.0), (1, last, 0.125, 1.5)]),
            connectivity_format="ragged")
        sim.Projection(source, cells, sim.FixedProbabilityConnector(
            5.0 / size, rng=sim.NativeRNG(seed=4)),
            sim.StaticSynapse(weight=0.0625, delay=1.0), connectivity_format="ragged")
        rng = sim.NativeRNG(seed=5)
        drawn = sim.RandomDistribution("uniform", (0.5, 2.5), rng=rng)
        sim.Projection(source, cells, sim.FixedTotalNumberConnector(4, rng=rng),
                       sim.StaticSynapse(weight=0.03125, delay=2.0), connectivity_format="ragged")
        sim.Projection(source, cells, sim.FixedNumberPreConnector(1, rng=rng),
                       sim.StaticSynapse(weight=0.015625, delay=drawn),
                       connectivity_format="ragged")
        # on a line 1 apart: the last two neurons from source 0, the last one from source 1
        sim.Projection(source, cells, sim.DistanceDependentProbabilityConnector(
            f"d > {size - 3}", rng=rng), sim.StaticSynapse(weight=0.25, delay=drawn),
            connectivity_format="ragged")
        watched = cells[[0, 40000, last]]
        watched.record("v")
        return {"watched": watched}

    sim.setup(timestep=0.1, target="cpu")
    try:
        build(sim)
        sim.run(0.1)
        groups = sim.simulator.state.engine.graph.synapse_groups
        assert [g.post_ctype for g in groups] == [ctype] * 5
    finally:
        sim.end()
    cpu = simulate("cpu", build, 5.0)
    gpu = simulate("cuda", build, 5.0)
    assert_identical(cpu, gpu)
    v = cpu["watched"][1]["v"]
    assert np.all(v[-1] > v[0])         # every watched neuron, the last one too, got its input


# --- dense matrices and bitmasks of every generator, filled on the device ------------------

def _generated_matrices(sim):
    """Generated projections in dense and bitmask formats whose generators cannot fill a
    matrix themselves: the CUDA device scatters the rows it draws (FixedProbability's
    bitmask, fixed-number rows and columns, distance-dependent pairs)."""
    rng = sim.NativeRNG(seed=17)
    drawn = {"weight": sim.RandomDistribution("uniform", (0.05, 0.3), rng=rng),
             "delay": sim.RandomDistribution("uniform", (0.1, 2.0), rng=rng)}
    source = sim.Population(30, sim.SpikeSourcePoisson(rate=60.0), label="source")
    cells = sim.Population(40, sim.IF_curr_exp(v_thresh=-60.0), label="cells")
    projections = [
        (source, sim.FixedProbabilityConnector(0.3, rng=rng), 0.125, "bitmask"),
        (source, sim.FixedNumberPostConnector(12, rng=rng), drawn, "dense"),
        (cells, sim.FixedTotalNumberConnector(300, with_replacement=False,
                                              allow_self_connections=False, rng=rng),
         0.0625, "bitmask"),
        (source, sim.FixedNumberPreConnector(5, rng=rng), 0.0625, "bitmask"),
        (cells, sim.DistanceDependentProbabilityConnector("exp(-d / 8)", rng=rng), drawn,
         "dense"),
        (source, sim.DistanceDependentProbabilityConnector("d < 10", rng=rng), 0.125,
         "bitmask"),
    ]
    for pre, connector, values, fmt in projections:
        values = values if isinstance(values, dict) else {"weight": values, "delay": 1.0}
        sim.Projection(pre, cells, connector, sim.StaticSynapse(**values),
                       connectivity_format=fmt)
    cells.record(["spikes", "v"])
    return {"cells": cells}


def test_every_generator_s_matrices_are_filled_on_the_device(cuda_backend, monkeypatch):
    from device_generation import assert_device_builds_what_the_host_builds
    from pynn_gpu.targets import cuda_generation
    cpu = assert_device_builds_what_the_host_builds(
        cuda_generation, _generated_matrices, 6, monkeypatch, cuda_backend)
    assert sum(len(s) for s in cpu["cells"][0]) > 30
    sim.setup(timestep=0.1, target="cpu")
    try:
        _generated_matrices(sim)
        sim.run(0.1)
        assert [row["format"] for row in sim.connectivity_report()] == [
            "bitmask", "dense", "bitmask", "bitmask", "dense", "bitmask"]
    finally:
        sim.end()


@pytest.mark.parametrize("fmt", ["dense", "bitmask"])
def test_a_matrix_format_for_synapses_with_state_is_refused_when_asked(cpu_sim, fmt):
    """Known from the synapse type alone: refused at Projection() or by the setter, not at
    the next run()."""
    sim = cpu_sim
    pre, post = sim.Population(3, sim.IF_curr_exp()), sim.Population(3, sim.IF_curr_exp())
    stdp = sim.STDPMechanism(sim.SpikePairRule(), sim.AdditiveWeightDependence(w_max=0.1),
                             weight=0.01)
    for synapse in (sim.TsodyksMarkramSynapse(weight=0.1), stdp):
        with pytest.raises(errors.ConnectionError, match="static synapses only"):
            sim.Projection(pre, post, sim.AllToAllConnector(), synapse,
                           connectivity_format=fmt)
    projection = sim.Projection(pre, post, sim.AllToAllConnector(),
                                sim.TsodyksMarkramSynapse(weight=0.1))
    with pytest.raises(errors.ConnectionError, match="static synapses only"):
        projection.connectivity_format = fmt
    assert projection.connectivity_format == "auto"
    sim.run(1.0)


def test_values_a_bitmask_cannot_hold_are_refused_when_set(cpu_sim):
    """One weight and one delay: set() of differing ones raises at once and changes
    nothing (it was refused at the next run()); equal ones, or after a change of format,
    are taken."""
    sim = cpu_sim
    pre, post = sim.Population(3, sim.IF_curr_exp()), sim.Population(4, sim.IF_curr_exp())
    projection = sim.Projection(pre, post, sim.AllToAllConnector(),
                                sim.StaticSynapse(weight=0.1, delay=1.0),
                                connectivity_format="bitmask")
    for values in (dict(weight=np.linspace(0.1, 0.2, 12)), dict(delay=[1.0] * 11 + [2.0])):
        with pytest.raises(errors.ConnectionError, match="holds one (weight|delay)"):
            projection.set(**values)
    with pytest.raises(errors.ConnectionError, match="holds one weight"):
        projection[0].weight = 0.3
    assert set(projection.get("weight", format="list", with_address=False)) == {0.1}
    projection.set(weight=0.2, delay=1.5)
    sim.run(1.0)
    assert sim.connectivity_report()[0]["format"] == "bitmask"
    projection.connectivity_format = "ragged"
    projection.set(weight=np.linspace(0.1, 0.2, 12))
    sim.run(1.0)
