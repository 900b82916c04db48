"""
Weight scaling in simulations, on every available target: the default leaves the weights
alone; the DC of "balanced" scaling restores the mean input (and the weights keep its
variance); the calibration run measures rates and leaves no trace; population rates of a
recurrent network are kept when its in-degrees shrink.
"""

import numpy as np
import pytest
from pyNN import errors
from pyNN.random import NumpyRNG, RandomDistribution

import pynn_gpu
from pynn_gpu import simulator

# --- default: off ---------------------------------------------------------------------------


def test_default_off_weights_exactly_as_given(sim):
    pre = sim.Population(200, sim.SpikeSourcePoisson(rate=20.0))
    post = sim.Population(30, sim.IF_curr_exp())
    weight = RandomDistribution("uniform", low=0.1, high=0.3, rng=NumpyRNG(seed=7))
    proj = sim.Projection(pre, post, sim.FixedProbabilityConnector(0.1, rng=NumpyRNG(seed=3)),
                          sim.StaticSynapse(weight=weight, delay=1.0))
    expected = np.asarray(NumpyRNG(seed=7).next(len(proj), "uniform",
                                                {"low": 0.1, "high": 0.3}))
    sim.run(50.0)
    got = np.array(proj.get("weight", format="list", with_address=False))
    assert np.array_equal(got, expected)                 # bit for bit
    assert proj.scaling is None and sim.scaling_report() == ""
    assert simulator.state.current_sources == []
    assert proj.in_degree.mean == pytest.approx(20.0)   # the in-degree is known all the same


# --- DC compensation: mean input restored, variance kept --------------------------------------

K0, W0, RATE = 400, 0.02, 20.0           # reference: 400 inputs of 0.02 nA at 20 Hz
CELL = dict(tau_m=20.0, cm=1.0, v_rest=-70.0, v_thresh=0.0, tau_syn_E=5.0, tau_refrac=0.1)


def _membrane(sim, k, policy):
    """Mean and temporal s.d. of v of 50 subthreshold cells with k Poisson inputs each."""
    sim.setup(timestep=0.1, target=sim.simulator.state.target.name)
    pre = sim.Population(2000, sim.SpikeSourcePoisson(rate=RATE), label="inputs")
    post = sim.Population(50, sim.IF_curr_exp(**CELL), label="cells")
    post.initialize(v=-70.0)
    proj = sim.Projection(pre, post, sim.FixedNumberPreConnector(k, rng=NumpyRNG(seed=11)),
                          sim.StaticSynapse(weight=W0, delay=1.0), receptor_type="excitatory")
    if policy is not None:
        sim.scale_weights(proj, policy, K0=K0, rates=RATE)
    post.record("v", sampling_interval=1.0)
    sim.run(2100.0)
    v = np.asarray(post.get_data().segments[0].filter(name="v")[0])[100:]   # after 100 ms
    return v.mean(), v.std(axis=0).mean()


def test_balanced_dc_restores_mean_input(sim):
    # mean depolarisation at K0: (tau_m / cm) K0 w0 nu tau_syn = 20 * 400*0.02*0.020*5 = 16 mV
    mean_ref, sd_ref = _membrane(sim, K0, None)
    assert mean_ref == pytest.approx(-70.0 + 16.0, abs=0.4)
    mean_bal, sd_bal = _membrane(sim, K0 // 4, "balanced")
    mean_avg, sd_avg = _membrane(sim, K0 // 4, "mean")
    mean_raw, _ = _membrane(sim, K0 // 4, None)
    # balanced: mean and fluctuations of the reference; the s.d. estimate from 50 cells over
    # 2 s (about 100 correlation times each) is good to a few per cent
    assert mean_bal == pytest.approx(mean_ref, abs=0.4)
    assert sd_bal == pytest.approx(sd_ref, rel=0.1)
    # mean: the mean input only; fluctuations grow by sqrt(K0 / K) = 2
    assert mean_avg == pytest.approx(mean_ref, abs=0.4)
    assert sd_avg / sd_ref == pytest.approx(2.0, rel=0.1)
    # unscaled: a quarter of the depolarisation
    assert mean_raw - -70.0 == pytest.approx(4.0, abs=0.4)


def test_balanced_dc_conductance_based(sim):
    """The conductance DC (at V_op) brings the mean back close to the reference."""
    def mean_v(k, policy):
        sim.setup(timestep=0.1, target=sim.simulator.state.target.name)
        pre = sim.Population(2000, sim.SpikeSourcePoisson(rate=RATE))
        post = sim.Population(20, sim.IF_cond_exp(tau_m=20.0, cm=1.0, v_rest=-70.0,
                                                   v_thresh=-40.0, e_rev_E=0.0,
                                                   tau_syn_E=5.0))
        post.initialize(v=-70.0)
        proj = sim.Projection(pre, post, sim.FixedNumberPreConnector(k, rng=NumpyRNG(seed=5)),
                              sim.StaticSynapse(weight=0.0004, delay=1.0),
                              receptor_type="excitatory")
        if policy:
            sim.scale_weights(proj, policy, K0=K0, rates=RATE, v_operating=-55.0)
        post.record("v", sampling_interval=1.0)
        sim.run(1100.0)
        return np.asarray(post.get_data().segments[0].filter(name="v")[0])[100:].mean()

    ref, bal, raw = mean_v(K0, None), mean_v(K0 // 4, "balanced"), mean_v(K0 // 4, None)
    # G0 = 400 * 0.0004 uS * 0.02 /ms * 5 ms = 0.016 uS, g_L = 0.05 uS -> v = -53 mV
    assert ref == pytest.approx(-70.0 * 0.05 / 0.066, abs=0.5)
    assert abs(bal - ref) < 0.1 * abs(raw - ref)        # DC at V_op = -55: within 10 %
    assert abs(bal - ref) < 1.0


@pytest.mark.parametrize("celltype, extra", [
    ("IF_curr_exp", {}), ("IF_cond_exp", {"e_rev_E": 0.0})], ids=["curr", "cond"])
def test_activity_brings_cells_to_the_target_fraction(sim, celltype, extra):
    """'activity': the mean input holds v at v_rest + f (v_thresh - v_rest)."""
    target = sim.simulator.state.target.name
    sim.setup(timestep=0.1, target=target)
    pre = sim.Population(2000, sim.SpikeSourcePoisson(rate=RATE), label="inputs")
    post = sim.Population(50, getattr(sim, celltype)(
        tau_m=20.0, cm=1.0, v_rest=-70.0, v_thresh=-50.0, tau_syn_E=5.0, **extra))
    post.initialize(v=-70.0)
    proj = sim.Projection(pre, post, sim.FixedNumberPreConnector(K0, rng=NumpyRNG(seed=11)),
                          sim.StaticSynapse(weight=0.001, delay=1.0), receptor_type="excitatory")
    sim.scale_weights(proj, "activity", rates=RATE, target_fraction=0.5)
    post.record(["v", "spikes"], sampling_interval=1.0)
    sim.run(1100.0)
    block = post.get_data()
    v = np.asarray(block.segments[0].filter(name="v")[0])[100:]
    # -60 mV; the s.e. of this mean is about 0.01 mV, and fluctuations (s.d. 0.5 mV) shift a
    # conductance-based membrane's mean only slightly (both within 0.01 mV observed)
    assert v.mean() == pytest.approx(-60.0, abs=0.3)
    assert sum(len(st) for st in block.segments[0].spiketrains) == 0


# --- calibration ----------------------------------------------------------------------------

def _feedforward(sim, target, rates):
    sim.setup(timestep=0.1, target=target)
    pre = sim.Population(300, sim.SpikeSourcePoisson(rate=15.0), label="inputs")
    post = sim.Population(40, sim.IF_curr_exp(tau_syn_E=2.0), label="cells")
    proj = sim.Projection(pre, post, sim.FixedNumberPreConnector(25, rng=NumpyRNG(seed=2)),
                          sim.StaticSynapse(weight=0.3, delay=1.0), receptor_type="excitatory")
    post.record(["spikes", "v"])
    (record,) = sim.scale_weights(proj, "balanced", K0=100, rates=rates)
    sim.run(200.0)
    block = post.get_data()
    return record, block, pre


def test_calibration_measures_rates_and_leaves_no_trace(sim):
    target = sim.simulator.state.target.name
    record, block, pre = _feedforward(sim, target, None)
    # 300 sources at 15 Hz for 200 ms (300 ms runs, 100 ms transient): s.e. 2.4 %
    assert record.rate_source == "calibration"
    assert record.rate == pytest.approx(15.0, rel=0.1)
    assert "calibrated in 1 run" in record.note         # spike sources: one run is enough
    # the user's data: one segment, from t = 0, nothing recorded for the sources
    assert len(block.segments) == 1
    v = block.segments[0].filter(name="v")[0]
    assert float(v.t_start) == 0.0 and v.shape[0] == 2001
    assert all(not ids for ids in pre.recorder.recorded.values())
    assert sim.get_current_time() == pytest.approx(200.0)
    spikes_calibrated = [np.asarray(st) for st in block.segments[0].spiketrains]
    v_calibrated = np.asarray(v)
    # the same network with that rate given: identical results
    _, block2, _ = _feedforward(sim, target, record.rate)
    assert len(block2.segments) == 1
    for a, b in zip(spikes_calibrated, block2.segments[0].spiketrains):
        np.testing.assert_array_equal(a, np.asarray(b))
    np.testing.assert_array_equal(v_calibrated, np.asarray(block2.segments[0].filter(name="v")[0]))
    assert sum(len(s) for s in spikes_calibrated) > 0
    pynn_gpu.end()


def test_calibration_after_reset_keeps_earlier_segments(cpu_sim):
    sim = cpu_sim
    pre = sim.Population(100, sim.SpikeSourcePoisson(rate=10.0), label="inputs")
    post = sim.Population(10, sim.IF_curr_exp(), label="cells")
    proj = sim.Projection(pre, post, sim.FixedNumberPreConnector(5, rng=NumpyRNG(seed=2)),
                          sim.StaticSynapse(weight=0.2), receptor_type="excitatory")
    pre.record("spikes")
    sim.run(100.0)
    with pytest.raises(Exception, match="t = 0"):
        sim.scale_weights(proj, "balanced", K0=20)             # calibration needs t = 0
    assert proj.scaling is None
    sim.reset()
    (record,) = sim.scale_weights(proj, "balanced", K0=20)
    assert record.rate == pytest.approx(10.0, rel=0.2)
    sim.run(100.0)
    block = pre.get_data()
    assert len(block.segments) == 2                              # the user's two segments
    assert all(float(st.t_stop) == 100.0 for st in block.segments[1].spiketrains)


def test_calibration_runs_leave_no_trace_in_a_recorded_current(cpu_sim):
    """The calibration runs keep the segment's number, so a recorded electrode added their
    currents to the trace of the user's next run (values past its end, here while the DC
    was on at 25-45 ms, which the user's run never reached)."""
    sim = cpu_sim
    pre = sim.Population(100, sim.SpikeSourcePoisson(rate=10.0), label="inputs")
    post = sim.Population(10, sim.IF_curr_exp(), label="cells")
    proj = sim.Projection(pre, post, sim.FixedNumberPreConnector(5, rng=NumpyRNG(seed=2)),
                          sim.StaticSynapse(weight=0.2), receptor_type="excitatory")
    dc = sim.DCSource(amplitude=0.5, start=5.0, stop=45.0)
    dc.inject_into(post)
    dc.record()
    sim.scale_weights(proj, "balanced", K0=20, calibration=dict(duration=50.0, transient=10.0))
    sim.run(20.0)
    trace = dc.get_data()
    current = np.asarray(trace).ravel()
    assert current.shape == (201,) and float(trace.t_stop) == pytest.approx(20.1)
    np.testing.assert_array_equal(current[:50], 0.0)
    np.testing.assert_array_equal(current[50:], 0.5)


def test_setup_level_balanced_with_calibration_on_run(cpu_sim):
    sim = cpu_sim
    sim.setup(timestep=0.1, target="cpu",
              weight_scaling=dict(policy="balanced", K0=100, calibration=dict(duration=200.0)))
    pre = sim.Population(300, sim.SpikeSourcePoisson(rate=15.0), label="inputs")
    post = sim.Population(40, sim.IF_curr_exp(tau_syn_E=2.0), label="cells")
    proj = sim.Projection(pre, post, sim.FixedNumberPreConnector(25, rng=NumpyRNG(seed=2)),
                          sim.StaticSynapse(weight=0.3, delay=1.0), receptor_type="excitatory")
    post.record("spikes")
    sim.run(100.0)
    assert proj.scaling.policy == "balanced" and proj.scaling.rate_source == "calibration"
    assert np.allclose(proj.get("weight", format="list", with_address=False), 0.6)
    assert len(post.get_data().segments) == 1 and sim.get_current_time() == pytest.approx(100.0)


# --- rates of a recurrent network ------------------------------------------------------------

N_E, N_I = 800, 200
KE0, KI0 = 200, 50                      # reference in-degrees (p = 0.25)
J, G = 0.1, -8.0                         # nA; inhibitory weight = G * J
EXT_K, EXT_RATE = 200, 20.0              # external inputs per neuron and their rate (Hz)


def _ei_network(sim, target, p, scaled):
    """Inhibition-dominated E/I network of IF_curr_exp cells with Poisson input."""
    sim.setup(timestep=0.1, target=target, rng_seed=21)
    cell = sim.IF_curr_exp(tau_m=20.0, cm=0.25, v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0,
                           tau_refrac=2.0, tau_syn_E=0.5, tau_syn_I=0.5)
    exc = sim.Population(N_E, cell, label="E")
    inh = sim.Population(N_I, cell, label="I")
    ext = sim.Population(1000, sim.SpikeSourcePoisson(rate=EXT_RATE), label="X")
    rng = NumpyRNG(seed=8)
    for pop in (exc, inh):
        pop.initialize(v=RandomDistribution("uniform", low=-65.0, high=-50.0, rng=rng))
        pop.record("spikes")
    projections = []
    for post in (exc, inh):
        for pre, w, receptor in ((exc, J, "excitatory"), (inh, G * J, "inhibitory")):
            # an rng per projection: PyNN draws each projection's matrix from a copy of its
            # rng, so one shared rng would wire all four from the same numbers
            connection_rng = NumpyRNG(seed=100 + len(projections))
            projections.append(sim.Projection(
                pre, post, sim.FixedProbabilityConnector(p, rng=connection_rng),
                sim.StaticSynapse(weight=w, delay=1.5), receptor_type=receptor,
                label=f"{pre.label}->{post.label}"))
        sim.Projection(ext, post, sim.FixedNumberPreConnector(EXT_K, rng=rng),
                       sim.StaticSynapse(weight=0.15, delay=1.5), receptor_type="excitatory")
    if scaled:
        sim.scale_weights(projections, "balanced",
                          K0={"E->E": KE0, "I->E": KI0, "E->I": KE0, "I->I": KI0},
                          rates=None if scaled == "calibrate" else scaled)
    sim.run(1100.0)
    rates = []
    for pop in (exc, inh):
        n = sum(int(np.count_nonzero(np.asarray(st) > 100.0))
                for st in pop.get_data().segments[0].spiketrains)
        rates.append(n / pop.size)                 # Hz over the last 1000 ms
    return np.array(rates)


def test_balanced_scaling_keeps_population_rates(sim):
    target = sim.simulator.state.target.name
    reference = _ei_network(sim, target, 0.25, None)
    assert np.all(reference > 1.0)
    reduced = _ei_network(sim, target, 0.0625, None)            # in-degrees / 4, weights as given
    calibrated = _ei_network(sim, target, 0.0625, "calibrate")
    given = _ei_network(sim, target, 0.0625, {"E": reference[0], "I": reference[1]})
    # Tolerance 10 %: the population rate over N cells and 1 s has a sampling s.e. of about
    # 1 / sqrt(rate * N * 1 s) (1 % for E, 2 % for I at 15 Hz), two networks with different
    # connectivity differ by a few per cent more, and the DC makes up only the mean of the
    # lost input (the scaled network's PSPs are twice as large; about 3 % observed).
    np.testing.assert_allclose(given, reference, rtol=0.1)
    np.testing.assert_allclose(calibrated, reference, rtol=0.1)
    # without the compensation, activity departs far beyond that
    assert np.all(np.abs(reduced - reference) > 0.5 * reference)


# --- CUDA target (on a GPU, or its host emulation) agrees with the C target --------------------

def test_cuda_matches_cpu_with_calibration_and_dc(cuda_backend):
    results = {}
    for target in ("cpu", "cuda"):
        record, block, _ = _feedforward(pynn_gpu, target, None)
        results[target] = (record, block)
        pynn_gpu.end()
    (rc, bc), (rg, bg) = results["cpu"], results["cuda"]
    assert (rc.rate, rc.dc, rc.factor) == (rg.rate, rg.dc, rg.factor)
    assert sum(len(st) for st in bc.segments[0].spiketrains) > 0
    for a, b in zip(bc.segments[0].spiketrains, bg.segments[0].spiketrains):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(bc.segments[0].filter(name="v")[0]),
                                  np.asarray(bg.segments[0].filter(name="v")[0]))


# --- projections whose synapses come from a generator ----------------------------------------

def _script_weights(sim, fmt):
    """The weights the script gives _generated's projections, read in a network of their
    own, which is then ended: the test goes on in a fresh one."""
    weights = _weights(_generated(sim, fmt))
    sim.end()
    sim.setup(timestep=0.1, target="cpu")
    return weights


def _generated(sim, fmt):
    """A procedural or stored FixedProbability projection and a FixedNumberPre one, with
    weights drawn from NativeRNGs: their synapses come from the generators."""
    drive = sim.Population(120, sim.SpikeSourcePoisson(rate=20.0), label="drive")
    cells = sim.Population(90, sim.IF_curr_exp(), label="cells")
    uniform = RandomDistribution("uniform", (0.1, 0.3), rng=sim.NativeRNG(seed=5))
    clipped = RandomDistribution("normal_clipped", (0.2, 0.05, 0.1, 0.3),
                                 rng=sim.NativeRNG(seed=6))
    return [
        sim.Projection(drive, cells, sim.FixedProbabilityConnector(
            0.2, rng=sim.NativeRNG(seed=3)), sim.StaticSynapse(weight=uniform, delay=1.0),
            connectivity_format=fmt, label="probability"),
        sim.Projection(drive, cells, sim.FixedNumberPreConnector(
            15, rng=sim.NativeRNG(seed=4)), sim.StaticSynapse(weight=clipped, delay=1.0),
            label="number")]


def _weights(projections):
    return [np.array(p.get("weight", format="list", with_address=False)) for p in projections]


def _mean_then_unscaled(sim, projections, unscaled, still_generated=False):
    """"mean" scales the script's weights (whatever scaling came before), and None gives
    them back exactly. `still_generated`: the scaling generated nothing on the host
    (checked before the weights are read, which generates them)."""
    records = sim.scale_weights(projections, "mean", K0=40)
    if still_generated:
        assert all(p.awaiting_generation for p in projections)
    for record, w0, w in zip(records, unscaled, _weights(projections)):
        assert record.factor == pytest.approx(40 / record.K)
        np.testing.assert_allclose(w, w0 * record.factor, rtol=1e-14)
    sim.scale_weights(projections, None)
    for w0, w in zip(unscaled, _weights(projections)):
        assert np.array_equal(w, w0)


@pytest.mark.parametrize("fmt", ["procedural", "ragged"])
def test_generated_projections_stay_generated_when_scaled(cpu_sim, fmt):
    """"mean" and "balanced" scale a generated projection's weight distribution: nothing is
    generated on the host, a procedural projection stays procedural, and the weights are
    the unscaled ones times the factor. Scaling again replaces the scaling (also after the
    host generated the synapses), and None brings back the unscaled weights bit for bit."""
    sim = cpu_sim
    unscaled = _script_weights(sim, fmt)
    projections = _generated(sim, fmt)
    records = sim.scale_weights(projections, "balanced", K0=50, rates=20.0)
    assert all(p.awaiting_generation for p in projections)
    assert [p.connectivity_format for p in projections] == [fmt, "auto"]
    # the means of the distributions: uniform (0.1, 0.3), and the normal (0.2, 0.05)
    # clipped symmetrically about its mean
    assert [r.w0_mean for r in records] == pytest.approx([0.2, 0.2], rel=1e-12)
    for record, w0, w in zip(records, unscaled, _weights(projections)):
        assert record.factor == pytest.approx(np.sqrt(50 / record.K))
        assert record.dc > 0
        np.testing.assert_allclose(w, w0 * record.factor, rtol=1e-14)
    sim.run(20.0)
    # from the unscaled weights, and nothing generated on the host by the scaling
    _mean_then_unscaled(sim, projections, unscaled, still_generated=True)
    sim.run(20.0)


def test_scaling_again_after_the_delays_were_set_starts_from_the_script_weights(cpu_sim):
    """set(delay) stores a generated projection's synapses, its weights unchanged: scaling
    again took the scaled weights for the script's (6 times them, and 2 times after
    None)."""
    sim = cpu_sim
    unscaled = _script_weights(sim, "ragged")
    projections = _generated(sim, "ragged")
    sim.scale_weights(projections, "mean", K0=60)
    for projection in projections:
        projection.set(delay=2.0)
    _mean_then_unscaled(sim, projections, unscaled)
    assert all(p.get("delay", format="list", with_address=False) == [2.0] * len(p)
               for p in projections)


def test_scaled_distributions_give_the_same_run_in_every_format():
    """A procedural and a stored projection scaled alike hold the same synapses and
    weights, so the runs are the same."""
    results = []
    for fmt in ("procedural", "ragged"):
        pynn_gpu.setup(timestep=0.1, target="cpu")
        try:
            projections = _generated(pynn_gpu, fmt)
            pynn_gpu.scale_weights(projections, "balanced", K0=60, rates=20.0)
            cells = projections[0].post
            cells.record("spikes")
            pynn_gpu.run(200.0)
            trains = cells.get_data().segments[0].spiketrains
            results.append([np.asarray(t.magnitude) for t in trains])
        finally:
            pynn_gpu.end()
    assert sum(len(t) for t in results[0]) > 50
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_activity_scaling_stores_generated_weights(cpu_sim):
    """"activity" sets a weight per postsynaptic cell: that is no scaled distribution, so
    the synapses are generated on the host and stored, the weights scaled there."""
    projection = _generated(cpu_sim, "procedural")[0]
    record = cpu_sim.scale_weights(projection, "activity", rates=20.0)[0]
    assert not projection.awaiting_generation
    assert projection.connectivity_format == "ragged"
    assert np.mean(_weights([projection])[0]) == pytest.approx(record.w_mean)


@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("policy, options", [("mean", dict(K0=50)),
                                             ("activity", dict(rates=20.0))])
def test_a_failed_scaling_restores_the_distributions(cpu_sim, monkeypatch, policy, options,
                                                     scaled):
    """When scaling fails part of the way (after the first projection's weights were
    scaled, or stored: "activity"), every projection gets its distribution back, its
    format, its scaling, and stays ungenerated; scaled as a distribution before or not."""
    from pynn_gpu import scaling
    projections = _generated(cpu_sim, "procedural")
    if scaled:
        cpu_sim.scale_weights(projections, "mean", K0=60)
    before = [p._procedural.weight for p in projections]
    state = _generated_state(projections)
    finish = scaling._finish
    calls = []

    def failing(job, spec):
        calls.append(job)
        if len(calls) == 2:
            raise RuntimeError("stop")
        return finish(job, spec)
    monkeypatch.setattr(scaling, "_finish", failing)
    with pytest.raises(RuntimeError):
        cpu_sim.scale_weights(projections, policy, **options)
    assert [p._procedural.weight for p in projections] == before
    assert _generated_state(projections) == state
    assert all((p.scaling is None) != scaled for p in projections)
    assert all(p.awaiting_generation for p in projections)
    assert [p.connectivity_format for p in projections] == ["procedural", "auto"]


@pytest.mark.parametrize("fmt", ["procedural", "ragged"])
@pytest.mark.parametrize("look", [False, True])
def test_activity_after_a_scaled_distribution_starts_from_the_script_weights(cpu_sim, fmt,
                                                                            look):
    """"activity" needs per-synapse weights: after "mean" scaled a generated projection's
    distribution, they are those of the unscaled distribution (the script's, bit for bit),
    not the scaled ones. So "activity" gives what it gives without the "mean" before, a
    later "mean" replaces it instead of compounding, and None brings back the script's
    weights. `look`: the host generated the scaled synapses in between."""
    sim = cpu_sim
    unscaled = _script_weights(sim, fmt)
    fresh = _generated(sim, fmt)
    sim.scale_weights(fresh, "activity", rates=20.0)
    direct = _weights(fresh)
    sim.end()
    sim.setup(timestep=0.1, target="cpu")
    projections = _generated(sim, fmt)
    sim.scale_weights(projections, "mean", K0=50)
    if look:
        for record, w0, w in zip([p.scaling for p in projections], unscaled,
                                 _weights(projections)):
            np.testing.assert_allclose(w, w0 * record.factor, rtol=1e-14)
    records = sim.scale_weights(projections, "activity", rates=20.0)
    for record, w0, w, expected in zip(records, unscaled, _weights(projections), direct):
        assert record.w0_mean == pytest.approx(np.mean(w0), rel=1e-12)
        assert np.array_equal(w, expected)
    _mean_then_unscaled(sim, projections, unscaled)


def _generated_state(projections):
    return [(p.connectivity_format, p.awaiting_generation, p._weight_distribution(),
             p.__dict__.get("_unscaled_distribution"), p.scaling) for p in projections]


@pytest.mark.parametrize("fmt", ["procedural", "ragged"])
@pytest.mark.parametrize("scaled", [False, True])
def test_a_refused_scaling_leaves_generated_projections_as_they_were(cpu_sim, fmt, scaled):
    """A refused "activity" scaling (no rate, or one projection's rate 0 Hz) of generated
    projections, scaled as distributions before or not, changes nothing: still generated
    (not even on the host), same format, distribution and weights; a later scaling starts
    from the script's weights."""
    sim = cpu_sim
    unscaled = _script_weights(sim, fmt)
    projections = _generated(sim, fmt)
    if scaled:
        sim.scale_weights(projections, "mean", K0=50)
    before = _generated_state(projections)
    for rates in (0.0, {"probability": 20.0, "number": 0.0}):
        with pytest.raises(errors.InvalidParameterValueError, match="0 Hz"):
            sim.scale_weights(projections, "activity", rates=rates)
        assert _generated_state(projections) == before
    # the same once the host has generated the synapses
    weights = _weights(projections)
    before = _generated_state(projections)
    with pytest.raises(errors.InvalidParameterValueError, match="0 Hz"):
        sim.scale_weights(projections, "activity", rates={"probability": 20.0, "number": 0.0})
    assert _generated_state(projections) == before
    for w, w_before in zip(_weights(projections), weights):
        assert np.array_equal(w, w_before)
    _mean_then_unscaled(sim, projections, unscaled)


@pytest.mark.parametrize("fmt", ["procedural", "ragged"])
def test_a_scaling_refused_after_calibration_restores_generated_projections(cpu_sim, fmt):
    """The calibration stores the weights of an "activity" scaling to measure the rates; a
    measured 0 Hz refuses the scaling then, and every projection is put back exactly:
    generated from its (scaled) distribution, in its format, its weights bit for bit; the
    network runs as before."""
    sim = cpu_sim
    unscaled = _script_weights(sim, fmt)
    projections = _generated(sim, fmt)
    sim.scale_weights(projections, "mean", K0=50)
    projections[0].pre.set(rate=0.0)            # silent: the calibration measures 0 Hz
    before = _generated_state(projections)
    with pytest.raises(errors.InvalidParameterValueError, match="0 Hz"):
        sim.scale_weights(projections, "activity",
                          calibration=dict(duration=20.0, transient=0.0))
    assert _generated_state(projections) == before
    assert sim.get_current_time() == 0.0
    for record, w0, w in zip([p.scaling for p in projections], unscaled,
                             _weights(projections)):
        np.testing.assert_allclose(w, w0 * record.factor, rtol=1e-14)
    sim.run(10.0)
    sim.scale_weights(projections, None)
    for w0, w in zip(unscaled, _weights(projections)):
        assert np.array_equal(w, w0)


@pytest.mark.parametrize("options, message", [
    (dict(calibration="fast"), "calibration must be a dict of settings"),
    (dict(calibration=5), "calibration must be a dict of settings"),
    (dict(v_operating=True), "v_operating must be a finite number of mV"),
])
def test_scale_weights_refuses_what_setup_refuses(cpu_sim, options, message):
    sim = cpu_sim
    pre = sim.Population(10, sim.SpikeSourcePoisson(rate=10.0))
    post = sim.Population(2, sim.IF_cond_exp())
    projection = sim.Projection(pre, post, sim.AllToAllConnector(), sim.StaticSynapse())
    with pytest.raises(errors.InvalidParameterValueError, match=message):
        sim.scale_weights(projection, "balanced", K0=20, rates=10.0, **options)
    with pytest.raises(errors.InvalidParameterValueError, match=message):
        sim.setup(timestep=0.1, target="cpu",
                  weight_scaling=dict(policy="balanced", K0=20, rates=10.0, **options))


def test_scale_weights_needs_the_network_it_scales():
    """After end() (a calibration run: AttributeError), or for a projection of a discarded
    network (calibrated on the new network's cells of the same ids)."""
    sim = pynn_gpu
    sim.setup(timestep=0.1, target="cpu")
    pre = sim.Population(10, sim.SpikeSourcePoisson(rate=10.0))
    projection = sim.Projection(pre, sim.Population(2, sim.IF_curr_exp()),
                                sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
    sim.end()
    with pytest.raises(RuntimeError, match=r"scale_weights\(\) needs setup\(\) first"):
        sim.scale_weights(projection, "balanced", K0=20)
    sim.setup(timestep=0.1, target="cpu")
    try:
        sim.Population(12, sim.SpikeSourcePoisson(rate=10.0))
        with pytest.raises(RuntimeError, match="belongs to a network that setup"):
            sim.scale_weights(projection, "balanced", K0=20)
    finally:
        sim.end()


def test_weights_scaled_beyond_the_bounds_of_a_plastic_projection_are_pointed_out(
        cpu_sim, caplog):
    """The rule would clip them at their first update, undoing the scaling."""
    sim = cpu_sim
    pre = sim.Population(10, sim.SpikeSourcePoisson(rate=10.0))
    post = sim.Population(2, sim.IF_curr_exp())
    stdp = sim.STDPMechanism(sim.SpikePairRule(),
                             sim.AdditiveWeightDependence(w_min=0.0, w_max=0.5), weight=0.2)
    projection = sim.Projection(pre, post, sim.AllToAllConnector(), stdp, label="learning")
    with caplog.at_level("WARNING", logger="PyNN"):
        sim.scale_weights(projection, "mean", K0=20)        # factor 2: 0.4, within
        assert "beyond its bounds" not in caplog.text
        sim.scale_weights(projection, "mean", K0=40)        # factor 4: 0.8
    assert "20 weights of the plastic projection 'learning' beyond its bounds" in caplog.text
