"""
Weight scaling derived from connection densities: in-degrees, the formulas against values
computed by hand, the DC compensation, records, options and errors. Nothing here runs a
simulation (rates are given), so nothing is compiled.
"""

import logging
import math

import numpy as np
import pytest
from pyNN import errors
from pyNN.random import NumpyRNG, RandomDistribution

from pynn_gpu import scaling
from pynn_gpu.scaling import expected_in_degree


def _pair(sim, n_pre=100, n_post=40, celltype=None):
    pre = sim.Population(n_pre, sim.SpikeSourcePoisson(rate=10.0), label="pre")
    post = sim.Population(n_post, celltype or sim.IF_curr_exp(tau_syn_E=2.0, tau_syn_I=4.0),
                          label="post")
    return pre, post


def _dc_sources(sim):
    return [(s, p, i) for s, p, i in sim.simulator.state.current_sources]


# --- in-degrees -----------------------------------------------------------------------------

@pytest.mark.parametrize("connector, n_pre, n_post, shared, expected", [
    ("FixedProbabilityConnector(0.1)", 100, 40, 0, 10.0),                      # p N_pre
    ("FixedProbabilityConnector(0.1, allow_self_connections=False)", 50, 50, 50, 4.9),
    ("FixedProbabilityConnector(0.2, allow_self_connections='NoMutual')", 51, 51, 51, 5.0),
    ("FixedNumberPreConnector(7)", 100, 40, 0, 7.0),                           # n
    ("FixedNumberPostConnector(6)", 100, 40, 0, 15.0),                         # n N_pre / N_post
    ("FixedTotalNumberConnector(1000)", 100, 40, 0, 25.0),                     # total / N_post
    ("AllToAllConnector()", 100, 40, 0, 100.0),                                # N_pre
    ("AllToAllConnector(allow_self_connections=False)", 30, 30, 30, 29.0),
    ("OneToOneConnector()", 40, 40, 0, 1.0),
    ("OneToOneConnector()", 10, 40, 0, 0.25),                # the pairs of the smaller side
])
def test_expected_in_degree(connector, n_pre, n_post, shared, expected):
    from pyNN import connectors
    built = eval("connectors." + connector)
    assert expected_in_degree(built, n_pre, n_post, shared) == pytest.approx(expected)


def test_expected_in_degree_without_closed_form():
    from pyNN import connectors
    assert expected_in_degree(connectors.FromListConnector([(0, 0)]), 3, 3) is None
    n = RandomDistribution("uniform_int", low=1, high=4, rng=NumpyRNG(1))
    assert expected_in_degree(connectors.FixedNumberPreConnector(n), 3, 3) is None


def test_in_degree_of_projections(cpu_sim):
    sim = cpu_sim
    pre, post = _pair(sim)
    rng = NumpyRNG(seed=4)
    fp = sim.Projection(pre, post, sim.FixedProbabilityConnector(0.1, rng=rng))
    fn = sim.Projection(pre, post, sim.FixedNumberPreConnector(7, rng=rng))
    fl = sim.Projection(pre, post, sim.FromListConnector([(0, 1), (2, 1), (3, 5)]))
    assert fp.in_degree.mean == pytest.approx(10.0)             # from the density
    assert fp.in_degree.per_neuron.sum() == len(fp)             # counted in what was built
    assert fp.in_degree.per_neuron.shape == (40,)
    assert np.all(fn.in_degree.per_neuron == 7) and fn.in_degree.mean == 7.0
    mean, per_neuron = sim.in_degree(fl)                         # built: 3 synapses / 40 cells
    assert mean == pytest.approx(3 / 40) and per_neuron[1] == 2 and per_neuron[5] == 1
    # self-connections of a recurrent projection are left out of the density
    rec = sim.Projection(post, post, sim.FixedProbabilityConnector(
        0.5, allow_self_connections=False, rng=rng))
    assert rec.in_degree.mean == pytest.approx(0.5 * 39)
    assert scaling.reference_in_degrees([fp, fn]) == {fp.label: pytest.approx(10.0),
                                                      fn.label: 7.0}


# --- "mean" ---------------------------------------------------------------------------------

def test_mean_policy_heterogeneous_weights(cpu_sim):
    sim = cpu_sim
    pre, post = _pair(sim)
    weight = RandomDistribution("uniform", low=0.1, high=0.3, rng=NumpyRNG(seed=9))
    proj = sim.Projection(pre, post, sim.FixedNumberPreConnector(5, rng=NumpyRNG(seed=2)),
                          sim.StaticSynapse(weight=weight), receptor_type="excitatory")
    w0 = np.array(proj.get("weight", format="list", with_address=False))
    (record,) = sim.scale_weights(proj, "mean", K0=20.0)
    w = np.array(proj.get("weight", format="list", with_address=False))
    np.testing.assert_allclose(w, w0 * 4.0, rtol=1e-15)         # K0 / K = 20 / 5
    assert record is proj.scaling
    assert (record.policy, record.K, record.K0, record.factor, record.dc) == \
        ("mean", 5.0, 20.0, 4.0, 0.0)
    assert record.w_mean == pytest.approx(4.0 * w0.mean())
    assert _dc_sources(sim) == []                               # no DC for "mean"


# --- "balanced" -----------------------------------------------------------------------------

def test_balanced_current_exp_dc_by_hand(cpu_sim):
    sim = cpu_sim
    pre, post = _pair(sim)
    exc = sim.Projection(pre, post, sim.FixedNumberPreConnector(5, rng=NumpyRNG(seed=1)),
                         sim.StaticSynapse(weight=0.2), receptor_type="excitatory", label="e")
    inh = sim.Projection(pre, post, sim.FixedNumberPreConnector(4, rng=NumpyRNG(seed=2)),
                         sim.StaticSynapse(weight=-0.5), receptor_type="inhibitory", label="i")
    records = sim.scale_weights([exc, inh], "balanced", K0={"e": 20.0, "i": 16.0},
                                rates={"pre": 10.0})
    # exc: factor sqrt(20/5) = 2; DC = (20 - sqrt(20*5)) * 0.2 nA * 0.010 /ms * 2 ms = 0.04 nA
    # inh: factor sqrt(16/4) = 2; DC = (16 - 8) * -0.5 nA * 0.010 /ms * 4 ms = -0.16 nA
    assert records[0].factor == pytest.approx(2.0) and records[1].factor == pytest.approx(2.0)
    assert records[0].dc == pytest.approx(0.04) and records[1].dc == pytest.approx(-0.16)
    assert np.allclose(exc.get("weight", format="list", with_address=False), 0.4)
    assert np.allclose(inh.get("weight", format="list", with_address=False), -1.0)
    assert records[0].rate == 10.0 and records[0].rate_source == "given"
    # one DCSource for the post population, carrying the sum
    (source, population, indices) = _dc_sources(sim)[0]
    assert len(_dc_sources(sim)) == 1 and population is post and len(indices) == post.size
    assert source.amplitude.base_value == pytest.approx(0.04 - 0.16)
    assert records[0].dc_source is source and records[1].dc_source is source


def test_balanced_restores_mean_input_formula():
    # K w nu Q after scaling + DC == K0 w0 nu Q
    K0, K, w0, nu, Q = 1000.0, 37.0, 0.0878, 4.4, 0.5
    w = w0 * scaling.balanced_factor(K0, K)
    dc = scaling.balanced_dc(K0, K, w0, nu, Q)
    assert K * w * nu / 1000 * Q + dc == pytest.approx(K0 * w0 * nu / 1000 * Q)
    assert K * w ** 2 == pytest.approx(K0 * w0 ** 2)           # the variance term is kept


def test_balanced_alpha_and_conductance_by_hand(cpu_sim):
    sim = cpu_sim
    pre = sim.Population(10, sim.SpikeSourcePoisson(rate=5.0), label="pre")
    alpha = sim.Population(3, sim.IF_curr_alpha(tau_syn_E=2.0), label="alpha")
    cond = sim.Population(3, sim.IF_cond_exp(tau_syn_I=5.0, e_rev_I=-80.0, v_rest=-70.0,
                                             v_thresh=-50.0), label="cond")
    pa = sim.Projection(pre, alpha, sim.FixedNumberPreConnector(2, rng=NumpyRNG(seed=1)),
                        sim.StaticSynapse(weight=0.3), receptor_type="excitatory")
    pc = sim.Projection(pre, cond, sim.FixedNumberPreConnector(2, rng=NumpyRNG(seed=1)),
                        sim.StaticSynapse(weight=0.01), receptor_type="inhibitory")
    ra, rc = sim.scale_weights([pa, pc], "balanced", K0=8.0, rates=5.0)
    # alpha PSC carries e * tau_syn: DC = (8 - 4) * 0.3 * 0.005 * e * 2
    assert ra.dc == pytest.approx(4 * 0.3 * 0.005 * math.e * 2.0)
    assert ra.synapse == "current/alpha"
    # conductance at V_op = (v_rest + v_thresh) / 2 = -60 mV:
    # DC = (8 - 4) * 0.01 uS * 0.005 /ms * 5 ms * (-80 - -60) mV
    assert rc.v_operating == pytest.approx(-60.0)
    assert rc.dc == pytest.approx(4 * 0.01 * 0.005 * 5.0 * -20.0)
    assert rc.synapse == "conductance/exp"
    # an explicit operating voltage
    (rc2,) = sim.scale_weights(pc, "balanced", K0=8.0, rates=5.0, v_operating=-55.0)
    assert rc2.dc == pytest.approx(4 * 0.01 * 0.005 * 5.0 * -25.0)


def test_reapplying_replaces_and_none_restores(cpu_sim):
    sim = cpu_sim
    pre, post = _pair(sim)
    proj = sim.Projection(pre, post, sim.FixedNumberPreConnector(4, rng=NumpyRNG(seed=1)),
                          sim.StaticSynapse(weight=0.1))
    sim.scale_weights(proj, "mean", K0=8.0)
    sim.scale_weights(proj, "balanced", K0=16.0, rates=2.0)
    assert np.allclose(proj.get("weight", format="list", with_address=False), 0.2)  # not 0.4
    assert len(_dc_sources(sim)) == 1
    sim.scale_weights(proj, None)
    assert np.all(np.array(proj.get("weight", format="list", with_address=False)) == 0.1)
    assert _dc_sources(sim) == [] and proj.scaling.policy == "none"
    # other changes (delays) do not make the scaled weights the new starting point ...
    sim.scale_weights(proj, "mean", K0=8.0)
    proj.set(delay=2.0)
    sim.scale_weights(proj, "mean", K0=12.0)
    assert np.allclose(proj.get("weight", format="list", with_address=False), 0.3)
    # ... but weights set after a scaling do
    proj.set(weight=0.05)
    sim.scale_weights(proj, "mean", K0=8.0)
    assert np.allclose(proj.get("weight", format="list", with_address=False), 0.1)


def test_failed_scaling_changes_nothing(cpu_sim):
    sim = cpu_sim
    pre, post = _pair(sim)
    proj = sim.Projection(pre, post, sim.FixedNumberPreConnector(4, rng=NumpyRNG(seed=1)),
                          sim.StaticSynapse(weight=0.1))
    sim.scale_weights(proj, "balanced", K0=16.0, rates=2.0)
    before = proj.scaling
    with pytest.raises(errors.InvalidParameterValueError, match="0 Hz"):
        sim.scale_weights(proj, "activity", rates=0.0)
    assert proj.scaling is before
    assert np.allclose(proj.get("weight", format="list", with_address=False), 0.2)
    assert len(_dc_sources(sim)) == 1
    sim.scale_weights(proj, "mean", K0=8.0)                     # still from the script's 0.1
    assert np.allclose(proj.get("weight", format="list", with_address=False), 0.2)


# --- "activity" -----------------------------------------------------------------------------

def test_activity_current_by_hand(cpu_sim):
    sim = cpu_sim
    pre, post = _pair(sim, celltype=sim.IF_curr_exp(tau_m=20.0, cm=0.5, v_rest=-70.0,
                                                    v_thresh=-50.0, tau_syn_E=5.0,
                                                    tau_syn_I=10.0))
    weight = RandomDistribution("uniform", low=0.5, high=1.5, rng=NumpyRNG(seed=3))
    exc = sim.Projection(pre, post, sim.FixedNumberPreConnector(10, rng=NumpyRNG(seed=1)),
                         sim.StaticSynapse(weight=weight), receptor_type="excitatory")
    inh = sim.Projection(pre, post, sim.FixedNumberPreConnector(10, rng=NumpyRNG(seed=1)),
                         sim.StaticSynapse(weight=-1.0), receptor_type="inhibitory")
    w0 = np.array(exc.get("weight", format="list", with_address=False))
    re, ri = sim.scale_weights([exc, inh], "activity", rates=20.0, target_fraction=0.5)
    # v - v_rest = (tau_m / cm) K w nu tau_syn = 0.5 * 20 mV
    # => w = 10 mV * 0.5 nF / (20 ms * 10 * 0.020 /ms * 5 ms) = 0.25 nA
    w = np.array(exc.get("weight", format="list", with_address=False))
    assert w.mean() == pytest.approx(0.25)
    np.testing.assert_allclose(w / w.mean(), w0 / w0.mean())   # relative spread kept
    assert re.factor == pytest.approx(0.25 / w0.mean()) and re.target_fraction == 0.5
    # inhibitory: the same pull downwards, with tau_syn_I = 10 ms
    assert np.allclose(inh.get("weight", format="list", with_address=False), -0.125)
    assert ri.dc == 0.0 and _dc_sources(sim) == []


def test_activity_conductance_by_hand():
    # target v = -70 + 0.5 * 20 = -60 mV; G = g_L (V_t - v_rest) / (E - V_t)
    g_leak = 0.5 / 20.0
    G = g_leak * 10.0 / (0.0 - -60.0)
    w = scaling.activity_weight(10, 20.0, 5.0, 20.0, 0.5, -70.0, -50.0, 0.5, e_rev=0.0)
    assert w == pytest.approx(G / (10 * 0.020 * 5.0))
    # steady state of the membrane with that mean conductance is the target
    assert (g_leak * -70.0 + G * 0.0) / (g_leak + G) == pytest.approx(-60.0)
    wi = scaling.activity_weight(10, 20.0, 5.0, 20.0, 0.5, -70.0, -50.0, 0.5,
                                 inhibitory=True, e_rev=-90.0)
    Gi = g_leak * (-70.0 - -80.0) / (-80.0 - -90.0)
    assert wi == pytest.approx(Gi / (10 * 0.020 * 5.0)) and wi > 0
    with pytest.raises(errors.InvalidParameterValueError):       # beyond the reversal
        scaling.activity_weight(10, 20.0, 5.0, 20.0, 0.5, -70.0, -50.0, 0.5,
                                inhibitory=True, e_rev=-75.0)


# --- setup-level policy, records, logging, errors ----------------------------------------

def test_setup_level_policy_applied_explicitly(caplog):
    import pynn_gpu as sim
    sim.setup(timestep=0.1, target="cpu",
              weight_scaling=dict(policy="mean", K0={"scaled": 20.0}))
    try:
        pre, post = _pair(sim)
        a = sim.Projection(pre, post, sim.FixedNumberPreConnector(5, rng=NumpyRNG(seed=1)),
                           sim.StaticSynapse(weight=0.1), label="scaled")
        b = sim.Projection(pre, post, sim.FixedNumberPreConnector(5, rng=NumpyRNG(seed=1)),
                           sim.StaticSynapse(weight=0.1), label="other")
        assert a.scaling is None                                   # applied at run()
        with caplog.at_level(logging.INFO, logger="PyNN"):
            records = sim.apply_weight_scaling()
        assert [r.policy for r in records] == ["mean"]
        assert np.allclose(a.get("weight", format="list", with_address=False), 0.4)
        assert np.all(np.array(b.get("weight", format="list", with_address=False)) == 0.1)
        assert b.scaling.policy == "none" and "no K0" in b.scaling.note
        assert "policy=mean, K=5, K0=20, factor=4" in caplog.text
        assert "scaled: policy=mean" in sim.scaling_report()
        assert sim.apply_weight_scaling() == []                    # only once
    finally:
        sim.end()


@pytest.mark.parametrize("value", [
    "sideways", dict(K0=3.0), dict(policy="mean"), dict(policy="balanced", K0=-1.0),
    dict(policy="mean", K0=1.0, calibration=dict(length=3)),
    dict(policy="balanced", K0=1.0, calibration=dict(duration=50.0, transient=60.0)),
    dict(policy="activity", rates=-2.0), dict(policy="activity", target_fraction=0.0),
    dict(policy="mean", K0=1.0, colour="red"), 42,
])
def test_setup_rejects_bad_policies(value):
    import pynn_gpu as sim
    with pytest.raises(errors.InvalidParameterValueError):
        sim.setup(timestep=0.1, target="cpu", weight_scaling=value)


@pytest.mark.parametrize("value, name", [
    (dict(policy="mean", K0=[1, 2]), "K0"), (dict(policy="mean", K0=float("inf")), "K0"),
    (dict(policy="mean", K0={"x": "many"}), "K0"), (dict(policy="mean", K0="no-file"), "K0"),
    (dict(policy="activity", rates="10"), "rates"),
    (dict(policy="activity", rates=float("inf")), "rates"),
    (dict(policy="balanced", K0=10, rates=5, v_operating="x"), "v_operating"),
    (dict(policy="mean", K0=10, calibration=5), "calibration"),
    (dict(policy="activity", target_fraction=float("inf")), "target_fraction"),
    (dict(policy="activity", target_fraction=True), "target_fraction"),
    (dict(policy="activity", target_fraction="0.5"), "target_fraction"),
    (dict(policy="balanced", K0=10, calibration=dict(iterations="x")), "calibration iterations"),
    (dict(policy="balanced", K0=10, calibration=dict(iterations=2.5)), "calibration iterations"),
    (dict(policy="balanced", K0=10, calibration=dict(iterations=True)), "calibration iterations"),
    (dict(policy="balanced", K0=10, calibration=dict(iterations=0)), "calibration iterations"),
    (dict(policy="balanced", K0=10, calibration=dict(duration="x")), "calibration duration"),
    (dict(policy="balanced", K0=10, calibration=dict(duration=float("inf"))),
     "calibration duration"),
    (dict(policy="balanced", K0=10, calibration=dict(duration=50.0)), "calibration duration"),
    (dict(policy="balanced", K0=10, calibration=dict(transient=float("nan"))),
     "calibration transient"),
    (dict(policy="balanced", K0=10, calibration=dict(transient=-1.0)), "calibration transient"),
    (dict(policy="balanced", K0=10, calibration=dict(damping=True)), "calibration damping"),
    (dict(policy="balanced", K0=10, calibration=dict(damping=1.5)), "calibration damping"),
    (dict(policy="balanced", K0=10, calibration=dict(damping="x")), "calibration damping"),
])
def test_setup_names_the_bad_scaling_option(value, name):
    import pynn_gpu as sim
    with pytest.raises(errors.InvalidParameterValueError, match=f"weight scaling {name}"):
        sim.setup(timestep=0.1, target="cpu", weight_scaling=value)


@pytest.mark.parametrize("calibration", [
    dict(iterations=3), dict(iterations=3.0), dict(iterations=None), dict(damping=0.5),
    dict(damping=1), dict(duration=50.0, transient=0), dict(damping="average"),
])
def test_setup_accepts_good_calibration_settings(calibration):
    policy = scaling.make_policy(dict(policy="balanced", K0=10, calibration=calibration))
    assert policy.calibration_settings()["duration"] > 0


def test_projections_without_k0_are_left_ungenerated():
    """A setup-level policy with no K0 for a procedural projection leaves it procedural,
    its synapses never generated on the host (its in-degree has a closed form)."""
    import pynn_gpu as sim
    sim.setup(timestep=0.1, target="cpu", weight_scaling=dict(policy="mean",
                                                              K0={"other": 10}))
    try:
        a = sim.Population(200, sim.SpikeSourcePoisson(rate=10.0))
        b = sim.Population(200, sim.IF_curr_exp())
        proj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.2, rng=sim.NativeRNG(5)),
                              sim.StaticSynapse(weight=0.01, delay=1.0),
                              connectivity_format="procedural", label="ab")
        sim.run(1.0)
        assert proj.awaiting_generation and proj.connectivity_format == "procedural"
        assert proj.scaling.K == pytest.approx(40.0) and proj.scaling.note == "no K0 given"
    finally:
        sim.end()


def test_a_missing_or_bad_reference_is_an_error_when_explicit(cpu_sim):
    """No K0 for the projection, or a callable's K0 that is not a finite number > 0
    (checked when used)."""
    sim = cpu_sim
    pre, post = _pair(sim)
    proj = sim.Projection(pre, post, sim.FixedNumberPreConnector(5, rng=NumpyRNG(seed=1)),
                          label="x")
    with pytest.raises(errors.InvalidParameterValueError, match="no reference in-degree"):
        sim.scale_weights(proj, "mean", K0={"y": 3.0})
    with pytest.raises(errors.InvalidParameterValueError, match="K0 must be a finite"):
        sim.scale_weights(proj, "mean", K0=lambda p: float("nan"))
    assert proj.scaling is None


def test_k0_from_a_reference_file(cpu_sim, tmp_path):
    import json
    sim = cpu_sim
    pre, post = _pair(sim)
    proj = sim.Projection(pre, post, sim.FixedNumberPreConnector(5, rng=NumpyRNG(seed=1)),
                          sim.StaticSynapse(weight=0.1), label="x")
    path = tmp_path / "reference.json"
    path.write_text(json.dumps({"x": 45.0}))
    (record,) = sim.scale_weights(proj, "mean", K0=str(path))
    assert record.K0 == 45.0 and record.factor == pytest.approx(9.0)
    (record,) = sim.scale_weights(proj, "mean", K0=lambda p: 2.0 * p.in_degree.mean)
    assert record.factor == pytest.approx(2.0)
