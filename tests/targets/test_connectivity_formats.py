"""
Stored connectivity formats: ragged rows, dense matrices and bitmasks hold the same synapses
and give the same runs; the planner's choice; requests that cannot be met; bytes reported.
"""

import numpy as np
import pytest
from pyNN import errors

import pynn_gpu as sim
from pynn_gpu import planner

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
    assert bitmask["bytes"] == 4 * -(-1000 // 32) + 8 + 4              # bits, weight, delay
    assert dense["bytes"] == 50 * 50 * (8 + 4)                           # double + int32
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
