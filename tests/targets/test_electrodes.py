"""
Electrodes: DCSource, ACSource, StepCurrentSource, NoisyCurrentSource.

The membrane of an IF_curr_exp cell is integrated exactly, and every source holds its
value for a whole step, so the response to any source has a closed form in double
precision (tolerance 1e-9 mV). With v_rest = 0 the injected current of each step can also
be read back from the membrane trace: I_k = (v_{k+1} - a v_k) / g with a = exp(-dt/tau_m),
g = tau_m/cm (1 - a); the noise statistics are checked on those values.

Statistical tolerances: means within 5 standard errors, variances by a chi-square test and
distributions by a KS test at p > 1e-4; with independent draws these fail about once in
10^4 runs, and the seeds are fixed.
"""

import numpy as np
import pytest
import quantities as pq
from pyNN import errors
from scipy import stats

from pynn_gpu import simulator

DT = 0.1
TAU_M, CM = 10.0, 1.0
A = np.exp(-DT / TAU_M)
G = TAU_M / CM * (1.0 - A)
LINEAR = dict(tau_m=TAU_M, cm=CM, v_rest=0.0, v_reset=0.0, v_thresh=1e6, tau_refrac=0.0)


def linear_cells(sim, n, label=None):
    """Cells whose membrane only integrates the injected current, from v = 0."""
    cells = sim.Population(n, sim.IF_curr_exp(**LINEAR), label=label)
    cells.initialize(v=0.0)
    cells.record("v")
    return cells


def traces(cells):
    signal = cells.get_data().segments[-1].filter(name="v")[0]
    return signal.times.rescale("ms").magnitude, np.asarray(signal.magnitude)


def currents_from_v(v):
    """The current each step injected, from the membrane trace (rows: times)."""
    return (v[1:] - A * v[:-1]) / G


def step_response(t, jumps):
    """v(t) for a current that jumps by dI at time T, for every (T, dI) in jumps."""
    v = np.zeros_like(t)
    for when, change in jumps:
        v += np.where(t > when, change * TAU_M / CM * (1 - np.exp(-(t - when) / TAU_M)), 0.0)
    return v


# --- closed-form responses ----------------------------------------------------------------

def test_dc_source_closed_form(sim):
    cells = linear_cells(sim, 2)
    sim.DCSource(amplitude=0.5, start=20.0, stop=60.0).inject_into(cells[1:])
    sim.run(100.0)
    t, v = traces(cells)
    np.testing.assert_array_equal(v[:, 0], 0.0)
    np.testing.assert_allclose(v[:, 1], step_response(t, [(20.0, 0.5), (60.0, -0.5)]),
                               rtol=0, atol=1e-9)


def test_step_current_source_closed_form(sim):
    times = [5.0, 12.3, 30.0, 31.0, 70.0]
    amplitudes = [0.4, -0.2, 1.0, 0.1, 0.0]
    cells = linear_cells(sim, 1)
    sim.StepCurrentSource(times=times, amplitudes=amplitudes).inject_into(cells)
    sim.run(90.0)
    t, v = traces(cells)
    jumps = list(zip(times, np.diff(np.concatenate(([0.0], amplitudes)))))
    np.testing.assert_allclose(v[:, 0], step_response(t, jumps), rtol=0, atol=1e-9)
    # no effect before the first time, an effect in the step that starts there
    assert np.all(v[t <= 5.0 + 1e-9, 0] == 0.0) and v[np.argmin(abs(t - 5.1)), 0] > 0


def ac_response(t, amplitude, offset, frequency, phase, start, stop):
    """Exact membrane response to the AC current sampled at the start of every step:
    u_k = g sum_{j<k} a^(k-1-j) I_j with I_j = offset + amplitude sin(theta j + phi),
    summed as geometric series."""
    k_start, k_stop = round(start / DT), round(stop / DT)
    k = np.rint(t / DT).astype(int) - k_start          # steps since start
    on = np.clip(k, 0, k_stop - k_start)               # steps the source has been on
    z = np.exp(1j * 2 * np.pi * frequency * DT / 1000.0)
    phi = np.deg2rad(phase)
    sine = np.imag(np.exp(1j * phi) * (z ** on - A ** on) / (z - A))
    u = G * (offset * (1 - A ** on) / (1 - A) + amplitude * sine)
    return u * A ** (k - on)                           # free decay after stop


@pytest.mark.parametrize("frequency, phase, offset", [(100.0, 0.0, 0.1), (37.0, 45.0, -0.2),
                                                      (0.0, 90.0, 0.0)])
def test_ac_source_closed_form(sim, frequency, phase, offset):
    parameters = dict(amplitude=0.5, offset=offset, frequency=frequency, phase=phase,
                      start=22.5, stop=122.5)
    cells = linear_cells(sim, 1)
    sim.ACSource(**parameters).inject_into(cells)
    sim.run(150.0)
    t, v = traces(cells)
    np.testing.assert_allclose(v[:, 0], ac_response(t, **parameters), rtol=0, atol=1e-9)
    assert np.all(v[t <= 22.5 + 1e-9, 0] == 0.0) and v[np.argmin(abs(t - 22.6)), 0] != 0.0


def test_ac_source_matches_continuous_sine_to_first_order(sim):
    """Sanity check of the convention (sin of 2 pi f (t - start) + phase, f in Hz): the
    sampled current converges to the continuous solution, with an error of order dt."""
    f, amplitude = 50.0, 1.0
    cells = linear_cells(sim, 1)
    sim.ACSource(amplitude=amplitude, frequency=f, start=0.0).inject_into(cells)
    sim.run(200.0)
    t, v = traces(cells)
    w = 2 * np.pi * f / 1000.0
    # forced solution of v' = -v/tau + I/cm with I = sin(w t), v(0) = 0
    gain = amplitude / CM / (1 / TAU_M ** 2 + w ** 2)
    exact = gain * (np.sin(w * t) / TAU_M - w * np.cos(w * t) + w * np.exp(-t / TAU_M))
    error = np.max(abs(v[:, 0] - exact))
    assert error < 2 * DT * amplitude / CM and error > 1e-6


# --- noise --------------------------------------------------------------------------------

def test_noisy_current_statistics(sim):
    n_cells, mean, stdev, noise_dt, start, stop = 200, 0.3, 0.2, 0.5, 10.0, 110.0
    cells = linear_cells(sim, n_cells)
    source = sim.NoisyCurrentSource(mean=mean, stdev=stdev, dt=noise_dt, start=start,
                                    stop=stop)
    source.inject_into(cells)
    sim.run(120.0)
    t, v = traces(cells)
    current = currents_from_v(v)                  # rows: steps 0 .. n-1
    steps = np.arange(current.shape[0])
    on = (steps >= round(start / DT)) & (steps < round(stop / DT))
    np.testing.assert_allclose(current[~on], 0.0, atol=1e-9)
    # constant over each noise interval of 5 steps, new values at every interval
    per = round(noise_dt / DT)
    blocks = current[on].reshape(-1, per, n_cells)
    np.testing.assert_allclose(blocks - blocks[:, :1, :], 0.0, atol=1e-9)
    values = blocks[:, 0, :]                      # intervals x cells
    assert np.all(np.diff(values, axis=0) != 0)
    n = values.size
    assert abs(values.mean() - mean) < 5 * stdev / np.sqrt(n)
    chi2 = (n - 1) * values.var(ddof=1) / stdev ** 2
    assert stats.chi2.sf(chi2, n - 1) > 1e-4 and stats.chi2.cdf(chi2, n - 1) > 1e-4
    assert stats.kstest((values.ravel() - mean) / stdev, "norm").pvalue > 1e-4
    # independent across cells: the population mean varies as stdev^2 / n_cells
    population_mean = values.mean(axis=1)
    m = population_mean.size
    chi2 = (m - 1) * population_mean.var(ddof=1) / (stdev ** 2 / n_cells)
    assert stats.chi2.sf(chi2, m - 1) > 1e-4 and stats.chi2.cdf(chi2, m - 1) > 1e-4
    # and across intervals: lag-1 correlation of each cell's sequence, pooled
    z = (values - mean) / stdev
    lag1 = np.mean(z[1:] * z[:-1])
    assert abs(lag1) < 5 / np.sqrt(z[1:].size)


def test_noise_independent_between_sources_and_populations(sim):
    first = linear_cells(sim, 1, "first")
    second = linear_cells(sim, 1, "second")
    both = first + second
    source = sim.NoisyCurrentSource(mean=0.0, stdev=1.0)
    source.inject_into(both)
    other = sim.NoisyCurrentSource(mean=0.0, stdev=1.0)
    other.inject_into(second)
    sim.run(200.0)
    a = currents_from_v(traces(first)[1])[:, 0]
    b_total = currents_from_v(traces(second)[1])[:, 0]
    assert np.std(a) > 0.5
    # the same source in two populations: independent noise
    assert abs(np.corrcoef(a, b_total)[0, 1]) < 5 / np.sqrt(a.size)
    # two independent unit sources add up to variance 2 in the second cell
    chi2 = (b_total.size - 1) * b_total.var(ddof=1) / 2.0
    assert stats.chi2.sf(chi2, b_total.size - 1) > 1e-4


def _noise_of(target, seed):
    import pynn_gpu as sim
    sim.setup(timestep=DT, target=target, rng_seed=seed)
    try:
        cells = linear_cells(sim, 3)
        sim.NoisyCurrentSource(mean=0.1, stdev=0.5, dt=0.3).inject_into(cells)
        sim.run(30.0)
        return currents_from_v(traces(cells)[1])
    finally:
        sim.end()


def test_noise_reproducible_with_seed(target):
    first, again, other = _noise_of(target, 11), _noise_of(target, 11), _noise_of(target, 12)
    np.testing.assert_array_equal(first, again)
    assert np.all(first != other)


def test_noisy_source_with_zero_stdev_is_its_mean(sim):
    cells = linear_cells(sim, 1)
    sim.NoisyCurrentSource(mean=0.25, stdev=0.0, start=10.0, stop=30.0).inject_into(cells)
    sim.run(50.0)
    t, v = traces(cells)
    np.testing.assert_allclose(v[:, 0], step_response(t, [(10.0, 0.25), (30.0, -0.25)]),
                               atol=1e-9)


# --- changes between runs -------------------------------------------------------------

def test_parameters_change_between_runs_without_recompiling(sim):
    cells = linear_cells(sim, 4)
    dc = sim.DCSource(amplitude=0.2)
    step = sim.StepCurrentSource(times=[5.0], amplitudes=[0.3])
    ac = sim.ACSource(amplitude=0.5, frequency=20.0)
    noise = sim.NoisyCurrentSource(mean=0.1, stdev=0.0)
    for i, source in enumerate((dc, step, ac, noise)):
        source.inject_into(cells[i:i + 1])
    sim.run(50.0)
    program = simulator.state.engine.program
    dc.amplitude = 0.5
    step.set_parameters(times=[60.0, 70.0, 80.0], amplitudes=[-0.1, 0.2, 0.0])
    ac.frequency = 50.0
    noise.set_parameters(mean=-0.4)
    sim.run(50.0)
    assert simulator.state.engine.program is program
    current = currents_from_v(traces(cells)[1])
    second = slice(500, 1000)
    np.testing.assert_allclose(current[second, 0], 0.5, atol=1e-9)
    expected_step = np.select([np.arange(500, 1000) >= s for s in (800, 700, 600)],
                              [0.0, 0.2, -0.1], 0.0)     # the new table replaces the old
    np.testing.assert_allclose(current[second, 1], expected_step, atol=1e-9)
    k = np.arange(500, 1000)
    np.testing.assert_allclose(current[second, 2],
                               0.5 * np.sin(2 * np.pi * 50.0 * k * DT / 1000.0), atol=1e-9)
    np.testing.assert_allclose(current[second, 3], -0.4, atol=1e-9)
    assert dc.amplitude.base_value == 0.5
    assert step.times.base_value.tolist() == [60.0, 70.0, 80.0]


def test_source_active_only_in_second_run(sim):
    """PyNN's issue 487: sources that start in a later run."""
    cells = linear_cells(sim, 2)
    sim.DCSource(amplitude=0.15, start=115.0, stop=145.0).inject_into(cells[0:1])
    sim.StepCurrentSource(times=[125.0, 175.0], amplitudes=[0.05, 0.1]).inject_into(cells[1:2])
    sim.run(100.0)
    sim.run(100.0)
    t, v = traces(cells)
    np.testing.assert_allclose(v[:, 0], step_response(t, [(115.0, 0.15), (145.0, -0.15)]),
                               atol=1e-9)
    np.testing.assert_allclose(v[:, 1], step_response(t, [(125.0, 0.05), (175.0, 0.05)]),
                               atol=1e-9)


# --- where current goes ---------------------------------------------------------------------

def test_injection_into_views_assemblies_and_single_cells(sim):
    a = linear_cells(sim, 6, "a")
    b = linear_cells(sim, 4, "b")
    sim.DCSource(amplitude=0.1).inject_into(a[[1, 3]])          # a view
    (a[4:5] + b).inject(sim.DCSource(amplitude=0.2))              # an assembly
    sim.DCSource(amplitude=0.4).inject_into([a[5], b[0]])         # single cells
    a[0].inject(sim.DCSource(amplitude=0.8))                      # one ID
    sim.run(10.0)
    current_a = currents_from_v(traces(a)[1])[-1]
    current_b = currents_from_v(traces(b)[1])[-1]
    np.testing.assert_allclose(current_a, [0.8, 0.1, 0.0, 0.1, 0.2, 0.4], atol=1e-9)
    np.testing.assert_allclose(current_b, [0.6, 0.2, 0.2, 0.2], atol=1e-9)


def test_no_injection_into_spike_sources(sim):
    """PyNN's TypeError, whichever way the current is injected."""
    sources = sim.Population(2, sim.SpikeSourcePoisson())
    for inject in (lambda: sim.DCSource().inject_into(sources),
                   lambda: sim.DCSource().inject_into([sources[0]]),
                   lambda: sources[1].inject(sim.DCSource()),
                   lambda: sources.inject(sim.DCSource())):
        with pytest.raises(TypeError, match="Can't inject current into a spike source"):
            inject()


# --- recording of the injected current ----------------------------------------------------------

def test_recorded_currents(sim):
    """PyNN's scenario issue_465_474: lengths, first and last times, when values change."""
    cells = linear_cells(sim, 4)
    start, stop = 50.0, 125.0
    sources = [sim.ACSource(start=start, stop=stop, amplitude=0.5, offset=0.1, frequency=100.0),
               sim.DCSource(amplitude=0.5, start=start, stop=stop),
               sim.NoisyCurrentSource(mean=0.5, stdev=0.05, start=start, stop=stop, dt=DT),
               sim.StepCurrentSource(times=[start, (start + stop) / 2, stop],
                                     amplitudes=[0.4, 0.6, 0.2])]
    for i, source in enumerate(sources):
        source.inject_into(cells[i:i + 1])
        source.record()
    sim.run(100.0)
    sim.run(100.0)
    _, v = traces(cells)
    injected = currents_from_v(v)
    k = int(start / DT)
    for i, source in enumerate(sources):
        times, amplitudes = source._get_data()
        assert len(times) == len(amplitudes) == 2001 == len(v)
        assert times[0] == 0.0 and np.isclose(times[-1], 200.0)
        assert amplitudes[k - 1] == 0 and amplitudes[k] != 0
        # what was recorded is what the cell received
        np.testing.assert_allclose(amplitudes[:-1], injected[:, i], atol=1e-9)
        signal = source.get_data()
        assert signal.units == pq.nA
        assert signal.sampling_period.rescale("ms").magnitude == pytest.approx(DT)
        assert signal.shape[0] == 2001
    assert sources[3]._get_data()[1][-1] == 0.2


def test_recording_the_first_target_of_noise_and_after_reset(sim):
    cells = linear_cells(sim, 3)
    noise = sim.NoisyCurrentSource(mean=0.0, stdev=1.0)
    noise.inject_into(cells[1:])
    sim.run(5.0)
    noise.record()
    sim.run(5.0)
    times, values = noise._get_data()
    assert len(times) == 101
    assert np.all(np.isnan(values[:50])) and not np.any(np.isnan(values[50:]))
    injected = currents_from_v(traces(cells)[1])
    np.testing.assert_allclose(values[50:100], injected[50:, 1], atol=1e-9)
    sim.reset()
    sim.run(3.0)
    times, values = noise._get_data()
    assert len(times) == 31 and not np.any(np.isnan(values))


# --- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, parameters, message", [
    ("StepCurrentSource", dict(times=[2.0, 1.0], amplitudes=[0.1, 0.2]), "times must be strictly"),
    ("StepCurrentSource", dict(times=[1.0, 1.0], amplitudes=[0.1, 0.2]), "times must be strictly"),
    ("StepCurrentSource", dict(times=[-1.0], amplitudes=[0.1]), "times must be finite and >= 0"),
    ("StepCurrentSource", dict(times=[1.0, 2.0], amplitudes=[0.1]), "same length"),
    ("StepCurrentSource", dict(times=[1.0], amplitudes=[np.nan]), "amplitudes must be finite"),
    ("ACSource", dict(frequency=-1.0), "frequency must be >= 0"),
    ("ACSource", dict(start=5.0, stop=1.0), "start must be <= stop"),
    ("DCSource", dict(start=-1.0), "start must be >= 0"),
    ("DCSource", dict(amplitude=np.inf), "amplitude must be a finite"),
    ("NoisyCurrentSource", dict(stdev=-0.1), "stdev must be >= 0"),
    ("NoisyCurrentSource", dict(dt=0.15), "dt must be a positive multiple of the timestep"),
    ("NoisyCurrentSource", dict(dt=0.0), "dt must be a positive multiple of the timestep"),
    ("NoisyCurrentSource", dict(dt=0.05), "dt must be a positive multiple of the timestep"),
])
def test_invalid_parameters(cpu_sim, cls, parameters, message):
    with pytest.raises(errors.InvalidParameterValueError, match=message):
        getattr(cpu_sim, cls)(**parameters)


def test_invalid_change_keeps_the_old_values(cpu_sim):
    cells = linear_cells(cpu_sim, 1)
    source = cpu_sim.NoisyCurrentSource(mean=0.2, stdev=0.0, start=1.0, stop=5.0)
    source.inject_into(cells)
    with pytest.raises(errors.InvalidParameterValueError, match="stdev"):
        source.stdev = -1.0
    with pytest.raises(errors.InvalidParameterValueError, match="start must be <= stop"):
        source.set_parameters(start=10.0)
    step = cpu_sim.StepCurrentSource(times=[1.0], amplitudes=[0.5])
    with pytest.raises(errors.InvalidParameterValueError, match="same length"):
        step.times = [1.0, 2.0]
    assert source.stdev.base_value == 0.0 and source.start.base_value == 1.0
    assert step.times.base_value.tolist() == [1.0]
    cpu_sim.run(10.0)
    current = currents_from_v(traces(cells)[1])[:, 0]
    np.testing.assert_allclose(current[10:50], 0.2, atol=1e-9)


def test_step_times_are_stored_on_the_grid_without_duplicates(cpu_sim):
    """As in PyNN's NEURON and Brian 2 backends: nearest step, the last of equal steps wins."""
    step = cpu_sim.StepCurrentSource(times=[0.41, 0.42, 0.86], amplitudes=[0.5, -0.5, 0.7])
    assert step.times.shape == step.amplitudes.shape == (2,)
    np.testing.assert_allclose(step.times.evaluate(), [0.4, 0.9], atol=1e-12)
    assert (step.amplitudes[0], step.amplitudes[1]) == (-0.5, 0.7)
    step.set_parameters(times=[0.04, 0.16], amplitudes=[0.1, 0.2])
    np.testing.assert_allclose(step.times.evaluate(), [0.0, 0.2], atol=1e-12)
    with pytest.raises(ValueError, match="strictly increasing"):
        cpu_sim.StepCurrentSource(times=[0.5, 0.4999, 0.8], amplitudes=[0.5, -0.5, 0.5])


def test_noise_dt_defaults_to_the_timestep():
    import pynn_gpu as sim
    sim.setup(timestep=0.25, target="cpu")
    try:
        assert sim.NoisyCurrentSource().dt.base_value == 0.25
    finally:
        sim.end()


def test_float_precision_runs_every_source(target):
    import pynn_gpu as sim
    sim.setup(timestep=DT, target=target, precision="float")
    try:
        cells = linear_cells(sim, 4)
        parameters = dict(amplitude=0.5, offset=0.1, frequency=37.0, phase=45.0, start=2.5,
                          stop=40.0)
        sim.ACSource(**parameters).inject_into(cells[0:1])
        sim.DCSource(amplitude=0.3, start=1.0).inject_into(cells[1:2])
        sim.StepCurrentSource(times=[1.0, 2.0], amplitudes=[0.1, 0.2]).inject_into(cells[2:3])
        sim.NoisyCurrentSource(mean=0.1, stdev=0.1).inject_into(cells[3:4])
        sim.run(50.0)
        t, v = traces(cells)
        np.testing.assert_allclose(v[:, 0], ac_response(t, **parameters), atol=1e-4)
        np.testing.assert_allclose(v[:, 1], step_response(t, [(1.0, 0.3)]), atol=1e-4)
        assert np.all(np.isfinite(v)) and np.std(v[:, 3]) > 0
    finally:
        sim.end()
