"""
GIF_cond_exp on pyNN.gpu against the committed pyNN.neuron reference of the validation suite
(benchmarks/validation/results/gif_reference.npz, made by make_gif_reference.py, which needs
NEURON; this test does not).

The neuron fires at random (escape noise), so the comparison is statistical
(gif_protocol.py, compare.compare_gif): N_GPU independent neurons on pyNN.gpu and the
reference's neurons get the same two step currents; spike counts, first-spike latencies, the
1st..6th interval after each step's onset, the CV of the adapted intervals and every 10 ms bin
of the PSTH must agree within a Bonferroni-corrected test at a family-wise level of 0.01. The
same protocol with a threshold sharpness delta_v twice as large must fail.

The synaptic case (gif_protocol.build_synaptic(), reference
benchmarks/validation/results/gif_synaptic_reference.npz): N_GPU neurons driven through their
excitatory and inhibitory conductance synapses by the same numpy-made input trains as the
reference's first N_GPU neurons; spike count, latency, intervals by order, CV, PSTH and the
mean v of the first gif_protocol.N_V neurons must agree in the same way, and a doubled
tau_syn_E must fail.
"""

import os
import sys

import numpy as np
import pytest

VALIDATION = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "validation")
sys.path.insert(0, os.path.abspath(VALIDATION))

import compare  # noqa: E402
import gif_protocol  # noqa: E402
import validate  # noqa: E402

import pynn_gpu  # noqa: E402

N_GPU = 2000
SEED = 7          # not validate.py's seed: the test draws its own realisation


@pytest.fixture(scope="module")
def reference():
    return validate.load_gif_reference()


@pytest.fixture(scope="module")
def synaptic_reference():
    return validate.load_gif_reference(validate.GIF_SYNAPTIC_REFERENCE)


def _statistics_at_reference_step(info, trains, *protocol):
    """gif_protocol.statistics of the stored spikes, at the reference's time step."""
    saved_dt = gif_protocol.DT
    try:
        gif_protocol.DT = info["dt_ms"]
        return gif_protocol.statistics(trains, *protocol)
    finally:
        gif_protocol.DT = saved_dt


def test_reference_file_is_consistent(reference):
    stats, info = reference
    assert info["simulator"] == "pyNN.neuron"
    assert info["neurons"] >= 5000
    assert info["dt_ms"] <= gif_protocol.DT
    assert info["parameters"] == {k: v for k, v in gif_protocol.PARAMETERS.items()}
    assert tuple(info["steps_nA"]) == gif_protocol.STEPS
    # the stored statistics are those of the stored spikes (at the reference's step)
    recomputed = _statistics_at_reference_step(info, validate.reference_gif_trains())
    for name, values in stats.items():
        np.testing.assert_allclose(recomputed[name], values, rtol=1e-12, err_msg=name)
    # the protocol is informative: several spikes per step, adaptation, some irregularity
    summary = info["summary"]["step1"]
    assert summary["rate_hz"] > 15.0
    isis = summary["mean_isi_by_order_ms"]
    assert isis[-1] > 1.2 * isis[0]
    assert 0.05 < summary["cv_isi_adapted"] < 0.5


# protocol -> (its reference fixture, a parameter whose doubling the comparison must see)
PROTOCOLS = {"step_current": ("reference", "delta_v"),
             "synaptic": ("synaptic_reference", "tau_syn_E")}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_gif_agrees_with_neuron(request, protocol):
    stats, _ = request.getfixturevalue(PROTOCOLS[protocol][0])
    gpu = validate.gpu_gif_statistics(pynn_gpu, N_GPU, SEED, target="cpu",
                                      synaptic=protocol == "synaptic")
    comparison = compare.compare_gif(gpu, stats)
    failed = [row for row in comparison["rows"] if not row["ok"]]
    assert not failed, failed
    assert not comparison["psth"]["failed_bins"], comparison["psth"]
    assert comparison["ok"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_gif_with_a_doubled_parameter_is_told_apart(request, protocol):
    reference_fixture, parameter = PROTOCOLS[protocol]
    stats, _ = request.getfixturevalue(reference_fixture)
    wrong = dict(gif_protocol.PARAMETERS,
                 **{parameter: 2.0 * gif_protocol.PARAMETERS[parameter]})
    gpu = validate.gpu_gif_statistics(pynn_gpu, N_GPU, SEED, target="cpu", parameters=wrong,
                                      synaptic=protocol == "synaptic")
    assert not compare.compare_gif(gpu, stats)["ok"]


def test_synaptic_reference_file_is_consistent(synaptic_reference):
    stats, info = synaptic_reference
    assert info["simulator"] == "pyNN.neuron" and info["synaptic"]
    assert info["neurons"] >= N_GPU
    assert info["dt_ms"] <= gif_protocol.DT
    assert info["parameters"] == gif_protocol.PARAMETERS
    assert info["input_rates_hz"] == gif_protocol.SYN_RATES
    assert info["weights_uS"] == gif_protocol.SYN_WEIGHTS
    assert info["delay_ms"] == gif_protocol.SYN_DELAY
    assert info["input_seed"] == gif_protocol.SYN_SEED
    assert len(stats["vmean_syn"]) == gif_protocol.N_V
    recomputed = _statistics_at_reference_step(
        info, validate.reference_gif_trains(validate.GIF_SYNAPTIC_REFERENCE),
        gif_protocol.SYNAPTIC)
    for name, values in recomputed.items():
        np.testing.assert_allclose(stats[name], values, rtol=1e-12, err_msg=name)
    # irregular firing at a moderate rate, driven by the synapses
    summary = info["summary"]["syn"]
    assert 5.0 < summary["rate_hz"] < 20.0
    assert 0.3 < summary["cv_isi_adapted"] < 1.0


def test_input_trains_do_not_depend_on_the_population_size():
    few = gif_protocol.input_trains(3, "excitatory")
    many = gif_protocol.input_trains(10, "excitatory")
    for a, b in zip(few, many):
        np.testing.assert_array_equal(a, b)
    rate = np.mean([len(t) for t in many]) / (gif_protocol.SYN_STOP - gif_protocol.SYN_START)
    assert abs(rate * 1000.0 - gif_protocol.SYN_RATES["excitatory"]) < 50.0
    assert all(np.all(np.diff(t) > 0) for t in many)
