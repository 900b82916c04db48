"""
pyNN.gpu against the committed pyNN.brian2 reference of the validation suite
(benchmarks/validation; reference made by make_network_reference.py and
make_gallery_reference.py, which need Brian 2; this test does not).

* The single-neuron gallery: every cell type with a reference, driven by the same step current
  and SpikeSourceArray input, must fire as many spikes as Brian 2 at dt = 0.001 ms, each late
  by no more than the grid allows, with v equal to 1e-4 mV while only synaptic input drives it.
* The Brunel network in its AI regime (1250 neurons, 600 ms): rates, CV of the ISIs, spike-count
  correlations and synchrony over three realisations must agree with Brian 2's five within
  the suite's tolerances; the same network with weaker inhibition must not (the comparison
  can tell networks apart).
* The summary statistics themselves, on spike trains whose answer is known.

The full comparison (Vogels-Abbott, Brunel in two regimes, ten realisations each) is
benchmarks/validation/validate.py; its results are in benchmarks/validation/results/.
"""

import json
import os
import sys

import numpy as np
import pytest

VALIDATION = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "validation")
sys.path.insert(0, os.path.abspath(VALIDATION))

import compare  # noqa: E402
import gallery  # noqa: E402
import networks  # noqa: E402
import validate  # noqa: E402
from spike_statistics import summarise, summarise_run  # noqa: E402

import pynn_gpu  # noqa: E402

BRUNEL = "Brunel_AI"
GPU_SEEDS = (11, 12, 13)


# --- the statistics ---------------------------------------------------------------------------

def test_statistics_of_known_spike_trains():
    rng = np.random.default_rng(3)
    poisson = [np.sort(rng.uniform(0.0, 10000.0, rng.poisson(200))) for _ in range(100)]
    s = summarise(poisson, 0.0, 10000.0)
    assert s["rate"] == pytest.approx(20.0, rel=0.05)
    assert s["cv_isi"] == pytest.approx(1.0, abs=0.05)
    assert abs(s["correlation"]) < 0.01
    assert s["synchrony"] == pytest.approx(1.0 / 100, rel=0.3)

    clock = [np.arange(5.0 + i * 0.01, 10000.0, 50.0) for i in range(100)]  # same 5 ms bins
    s = summarise(clock, 0.0, 10000.0)
    assert s["rate"] == pytest.approx(20.0, rel=1e-3)
    assert s["cv_isi"] < 1e-9
    assert s["correlation"] == pytest.approx(1.0)
    assert s["synchrony"] == pytest.approx(1.0)


def test_network_comparison_flags_a_shifted_mean():
    rng = np.random.default_rng(5)
    ref = [{"p": {"rate": 10.0 + rng.normal(0, 0.2)}} for _ in range(5)]
    same = [{"p": {"rate": 10.0 + rng.normal(0, 0.2)}} for _ in range(5)]
    shifted = [{"p": {"rate": 12.0 + rng.normal(0, 0.2)}} for _ in range(5)]
    assert compare.compare_network(same, ref, ("rate",))["p"]["rate"]["ok"]
    assert not compare.compare_network(shifted, ref, ("rate",))["p"]["rate"]["ok"]


# --- the gallery -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gallery_comparison():
    return validate.compare_gallery(pynn_gpu, target="cpu")


def test_gallery_has_a_reference_for_every_cell_type_brian2_can_run():
    names = {name[:-4] for name in os.listdir(validate.GALLERY_DIR) if name.endswith(".npz")}
    point_neurons = {name for name in pynn_gpu.list_standard_models()
                     if not name.startswith("SpikeSource")}
    assert names == point_neurons - set(gallery.NOT_IN_REFERENCE)
    assert names == set(gallery.GALLERY)


@pytest.mark.parametrize("celltype", sorted(gallery.GALLERY))
def test_gallery_agrees_with_brian2(gallery_comparison, celltype):
    c = gallery_comparison[celltype]
    assert c["spikes_ref"] >= 3, "the protocol should make the neuron fire"
    assert c["spikes_gpu"] == c["spikes_ref"]
    assert c["subthreshold_max_dv"] <= compare.SUBTHRESHOLD_TOL
    assert c["ok"], c


# --- a network ----------------------------------------------------------------------------------

def _gpu_runs(name, seeds):
    runs, _ = validate.gpu_network_runs(pynn_gpu, name, seeds, target="cpu")
    return runs


def test_brunel_network_agrees_with_brian2():
    reference = validate.reference_runs(validate.load_reference_networks(), BRUNEL)
    assert len(reference) >= 3
    comparison = compare.compare_network(_gpu_runs(BRUNEL, GPU_SEEDS), reference)
    failed = {(p, s): c for p, by in comparison.items() for s, c in by.items() if not c["ok"]}
    assert not failed, json.dumps({str(k): v for k, v in failed.items()}, indent=1)


def test_brunel_network_with_weaker_inhibition_is_told_apart(monkeypatch):
    monkeypatch.setitem(networks.BRUNEL_REGIMES, "AI", dict(networks.BRUNEL_REGIMES["AI"],
                                                             g=6.0))
    reference = validate.reference_runs(validate.load_reference_networks(), BRUNEL)
    comparison = compare.compare_network(_gpu_runs(BRUNEL, GPU_SEEDS[:2]), reference)
    assert not all(c["ok"] for by in comparison.values() for c in by.values())
