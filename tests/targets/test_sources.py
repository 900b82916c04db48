"""
Random spike sources: SpikeSourcePoissonRefractory, SpikeSourceGamma, SpikeSourceInhGamma.

Each test compares what the kernels produced with the distribution the source defines on
the grid (see pynn_gpu/standardmodels/sources.py), not only with its continuous-time limit:
  * PoissonRefractory: intervals are exactly R + geometric(p) - 1 steps;
  * Gamma: intervals are gamma(alpha, beta) in continuous time, spikes reported at the end of
    their step, which adds rounding below one step to each interval;
  * InhGamma: a spike with probability hazard(age) dt per step, age counted in steps, so the
    interval distribution is computed exactly from the gamma hazard (scipy).
Intervals of one neuron (after its first spike) are independent, so means are checked within
5 standard errors and distributions by chi-square or KS tests at p > 1e-4; with the fixed
seeds the tests are deterministic, and correct kernels fail them about once in 10^4 seeds.
"""

import numpy as np
import pytest
from pyNN import errors
from pyNN.parameters import Sequence
from scipy import stats

DT = 0.1


def spike_trains(population):
    return [np.asarray(st.magnitude) for st in population.get_data().segments[-1].spiketrains]


def intervals(trains):
    """Inter-spike intervals of every train (the time before the first spike excluded)."""
    return np.concatenate([np.diff(t) for t in trains])


def assert_mean(samples, expected, what):
    error = 5 * samples.std(ddof=1) / np.sqrt(samples.size)
    assert abs(samples.mean() - expected) < error, \
        f"{what}: mean {samples.mean():.6g}, expected {expected:.6g} +- {error:.3g}"


def assert_fits(observed_steps, probabilities, what):
    """Chi-square test of integer samples against P(k) = probabilities[k], with classes
    merged until each expects at least 20 samples."""
    n = observed_steps.size
    counts = np.bincount(observed_steps, minlength=probabilities.size)[:probabilities.size]
    tail_observed = n - counts.sum()
    expected = n * probabilities
    tail_expected = n - expected.sum()
    classes_observed, classes_expected, acc_o, acc_e = [], [], 0, 0.0
    for o, e in zip(counts, expected):
        acc_o, acc_e = acc_o + o, acc_e + e
        if acc_e >= 20:
            classes_observed.append(acc_o)
            classes_expected.append(acc_e)
            acc_o, acc_e = 0, 0.0
    classes_observed[-1] += acc_o + tail_observed
    classes_expected[-1] += acc_e + tail_expected
    p = stats.chisquare(classes_observed, classes_expected).pvalue
    assert p > 1e-4, f"{what}: chi-square p = {p:.3g}"


# --- Poisson with dead time ---------------------------------------------------------------

@pytest.mark.parametrize("rate, tau_refrac", [(40.0, 5.0), (150.0, 2.0), (20.0, 0.0)])
def test_poisson_refractory_intervals(sim, rate, tau_refrac):
    cells = sim.Population(300, sim.SpikeSourcePoissonRefractory(rate=rate, tau_refrac=tau_refrac))
    cells.record("spikes")
    sim.run(4000.0)
    isi = intervals(spike_trains(cells))
    steps = np.rint(isi / DT).astype(int)
    refractory = round(tau_refrac / DT)
    dead = max(refractory - 1, 0)
    p = rate * DT / (1000.0 - rate * dead * DT)
    # the dead time is respected to the step, and reached
    assert steps.min() == max(refractory, 1)
    # the mean interval is exactly 1000/rate ms
    assert_mean(isi, 1000.0 / rate, "interval")
    # intervals are dead + geometric(p) steps
    k = np.arange(steps.max() + 1)
    geometric = np.where(k > dead, p * (1 - p) ** np.maximum(k - dead - 1, 0), 0.0)
    assert_fits(steps, geometric, "interval distribution")


def test_poisson_refractory_window_and_changes(sim):
    cells = sim.Population(200, sim.SpikeSourcePoissonRefractory(rate=50.0, tau_refrac=3.0,
                                                                  start=100.0, duration=400.0))
    cells.record("spikes")
    sim.run(600.0)
    first = np.concatenate(spike_trains(cells))
    assert first.min() > 100.0 and first.max() <= 500.0
    cells.set(rate=100.0, start=600.0, duration=1e10)
    sim.run(1000.0)
    second = np.concatenate(spike_trains(cells))
    second = second[second > 600.0]
    # a renewal process started afresh: the count over 1 s is about rate * 1 s per cell
    expected = 100.0 * 200 * 1.0
    assert abs(second.size - expected) < 5 * np.sqrt(expected)


def test_poisson_refractory_rejects_rate_above_inverse_dead_time(cpu_sim):
    with pytest.raises(errors.InvalidParameterValueError, match="rate \\* tau_refrac"):
        cpu_sim.Population(2, cpu_sim.SpikeSourcePoissonRefractory(rate=300.0, tau_refrac=5.0))
    with pytest.raises(errors.InvalidParameterValueError, match="tau_refrac"):
        cpu_sim.Population(2, cpu_sim.SpikeSourcePoissonRefractory(tau_refrac=-1.0))
    # the dead time as the grid has it: 2.46 ms is 25 steps of 0.1 ms, so 406 Hz (which
    # 2.46 ms alone would allow) cannot be had; 400 Hz can, as one spike every 25 steps
    with pytest.raises(errors.InvalidParameterValueError, match="makes 2.5 ms"):
        cpu_sim.Population(2, cpu_sim.SpikeSourcePoissonRefractory(rate=406.0,
                                                                   tau_refrac=2.46))
    cells = cpu_sim.Population(2, cpu_sim.SpikeSourcePoissonRefractory(rate=[300.0, 400.0],
                                                                       tau_refrac=2.46))
    with pytest.raises(errors.InvalidParameterValueError, match="got rate=500 Hz"):
        cells.set(rate=[300.0, 500.0])
    # a dead time below half a step is no dead time, but one spike per step is the most
    with pytest.raises(errors.InvalidParameterValueError, match="rate <= 10000 Hz"):
        cpu_sim.Population(2, cpu_sim.SpikeSourcePoissonRefractory(rate=12000.0,
                                                                   tau_refrac=0.0))


# --- gamma renewal process -------------------------------------------------------------------

@pytest.mark.parametrize("alpha, beta", [(1, 10.0), (2, 40.0), (2.5, 62.5), (5, 50.0),
                                         (12, 240.0)])
def test_gamma_intervals(sim, alpha, beta):
    cells = sim.Population(200, sim.SpikeSourceGamma(alpha=alpha, beta=beta))
    cells.record("spikes")
    sim.run(5000.0)
    isi = intervals(spike_trains(cells))
    mean = alpha / beta * 1000.0                   # ms
    assert_mean(isi, mean, "interval")
    # coefficient of variation 1/sqrt(alpha), plus the rounding of spikes to the grid
    # (two independent uniform errors per interval: variance dt^2/6)
    variance = alpha / beta ** 2 * 1e6 + DT ** 2 / 6
    kurtosis = 3 + 6 / alpha
    error = 5 * variance * np.sqrt((kurtosis - 1) / isi.size)
    assert abs(isi.var(ddof=1) - variance) < error
    # the shape: KS against the gamma distribution (grid rounding is far below KS resolution)
    assert stats.kstest(isi, stats.gamma(alpha, scale=mean / alpha).cdf).pvalue > 1e-4


def test_gamma_shape_is_any_positive_number(sim):
    """PyNN's default alpha is an int, which made PyNN cast every alpha to one."""
    cells = sim.Population(2, sim.SpikeSourceGamma(alpha=2.5, beta=125.0))
    assert cells.get("alpha") == 2.5
    cells.set(alpha=0.5)
    assert cells.get("alpha") == 0.5


def test_gamma_parameters_changed_between_runs_apply_at_once(sim):
    """The interval drawn with the old parameters (here some 200 s) is dropped: the
    process starts afresh with the new ones (100 Hz), as NEST's generator applies a new
    rate at once; a rejected change leaves the process running."""
    cells = sim.Population(100, sim.SpikeSourceGamma(alpha=2.0, beta=0.01))
    cells.record("spikes")
    sim.run(100.0)
    with pytest.raises(errors.InvalidParameterValueError):
        cells.set(alpha=-1.0)
    cells.set(beta=200.0)
    sim.run(1000.0)
    rates = [len(t) for t in spike_trains(cells)]
    assert 90.0 < np.mean(rates) < 110.0


def test_gamma_start_duration_and_zero_rate(sim):
    cells = sim.Population(100, sim.SpikeSourceGamma(alpha=3, beta=300.0, start=50.0,
                                                     duration=100.0))
    silent = sim.Population(10, sim.SpikeSourceGamma(alpha=2, beta=0.0))
    cells.record("spikes")
    silent.record("spikes")
    sim.run(300.0)
    spikes = np.concatenate(spike_trains(cells))
    assert spikes.min() > 50.0 and spikes.max() <= 150.0
    # a fresh start: the first interval is counted from `start`
    first = np.array([t[0] for t in spike_trains(cells)]) - 50.0
    assert_mean(first, 3 / 300.0 * 1000.0, "first spike after start")
    assert sum(len(t) for t in spike_trains(silent)) == 0


def test_gamma_rejects_bad_parameters(cpu_sim):
    with pytest.raises(errors.InvalidParameterValueError, match="alpha"):
        cpu_sim.Population(2, cpu_sim.SpikeSourceGamma(alpha=0))
    with pytest.raises(errors.InvalidParameterValueError, match="beta"):
        cpu_sim.Population(2, cpu_sim.SpikeSourceGamma(beta=-1.0))


# --- inhomogeneous gamma process -------------------------------------------------------------

def discrete_hazard_intervals(a, b, n_steps):
    """P(interval = k steps), k = 0 .. n_steps - 1, for a spike probability of
    hazard(k dt) dt in the k-th step after a spike (the kernels' rule)."""
    age = np.arange(n_steps) * DT / 1000.0                      # s
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = stats.gamma.pdf(age, a, scale=b) / stats.gamma.sf(age, a, scale=b)
    q = np.nan_to_num(hazard) * DT / 1000.0
    q[0] = 0.0
    survive = np.concatenate(([1.0], np.cumprod(1 - q)[:-1]))
    return q * survive


@pytest.mark.parametrize("a, b", [(3.0, 1 / 60.0), (1.0, 1 / 25.0), (7.5, 1 / 200.0)])
def test_inh_gamma_homogeneous_intervals(sim, a, b):
    cells = sim.Population(200, sim.SpikeSourceInhGamma(a=Sequence([a]), b=Sequence([b]),
                                                        tbins=Sequence([0.0])))
    cells.record("spikes")
    sim.run(4000.0)
    steps = np.rint(intervals(spike_trains(cells)) / DT).astype(int)
    probabilities = discrete_hazard_intervals(a, b, 40 * round(a * b * 1000 / DT))
    k = np.arange(probabilities.size)
    discrete_mean = (k * probabilities).sum()
    assert_mean(steps, discrete_mean, "interval in steps")
    assert_fits(steps, probabilities, "interval distribution")
    # the grid's rule is first order in dt: its mean interval is within 1 % of a b here
    assert abs(discrete_mean * DT / (a * b * 1000) - 1) < 0.01


def test_inh_gamma_follows_its_bins(sim):
    a = Sequence([2.0, 2.0, 4.0])
    b = Sequence([1 / 40.0, 1 / 120.0, 1 / 40.0])        # rates 20, 60, 10 Hz
    tbins = Sequence([100.0, 1100.0, 2100.0])
    cells = sim.Population(300, sim.SpikeSourceInhGamma(a=a, b=b, tbins=tbins))
    cells.record("spikes")
    sim.run(3100.0)
    spikes = np.concatenate(spike_trains(cells))
    assert spikes.min() > 100.0                          # nothing before tbins[0]
    for (begin, end), (shape, scale) in zip([(100.0, 1100.0), (1100.0, 2100.0),
                                             (2100.0, 3100.0)],
                                            [(2.0, 1 / 40.0), (2.0, 1 / 120.0), (4.0, 1 / 40.0)]):
        settled = begin + 300.0                          # after the transient of the change
        count = np.sum((spikes > settled) & (spikes <= end))
        probabilities = discrete_hazard_intervals(shape, scale, 20000)
        mean_steps = (np.arange(probabilities.size) * probabilities).sum()
        expected = 300 * (end - settled) / (mean_steps * DT)
        # renewal counts: variance ~ mean * CV^2 with CV^2 = 1/shape; 5 sigma
        assert abs(count - expected) < 5 * np.sqrt(expected / shape), (begin, count, expected)


def test_inh_gamma_unadapted_start(sim):
    """Before its first spike the hazard is 1/b: the first spike comes after an
    exponential time of mean b (geometric on the grid)."""
    b = 1 / 50.0
    cells = sim.Population(2000, sim.SpikeSourceInhGamma(a=Sequence([4.0]), b=Sequence([b]),
                                                         tbins=Sequence([0.0])))
    cells.record("spikes")
    sim.run(300.0)
    first = np.array([t[0] for t in spike_trains(cells) if t.size])
    p = DT / 1000.0 / b
    assert_mean(first, DT / p, "first spike")


def test_inh_gamma_parameters_per_neuron_and_between_runs(sim):
    cells = sim.Population(2, sim.SpikeSourceInhGamma(a=Sequence([1.0]), b=Sequence([0.01]),
                                                      tbins=Sequence([0.0])))
    cells[1:2].set(tbins=Sequence([0.0, 500.0]), a=Sequence([1.0, 1.0]),
                   b=Sequence([0.01, 1e3]))
    cells.record("spikes")
    sim.run(1000.0)
    trains = spike_trains(cells)
    assert np.sum(trains[1] > 500.0) <= 1 and np.sum(trains[1] <= 500.0) > 20
    assert np.sum(trains[0] > 500.0) > 20
    values = cells.get("tbins")
    assert list(values[1].value) == [0.0, 500.0] and list(values[0].value) == [0.0]
    cells.set(b=Sequence([1e3]), a=Sequence([1.0]), tbins=Sequence([0.0]))   # silence
    sim.run(1000.0)
    trains = spike_trains(cells)
    assert all(np.sum(t > 1000.0) <= 1 for t in trains)


@pytest.mark.parametrize("parameters, message", [
    (dict(a=Sequence([0.5]), b=Sequence([0.1]), tbins=Sequence([0.0])), "a must be >= 1"),
    (dict(a=Sequence([1.0]), b=Sequence([1e-6]), tbins=Sequence([0.0])), "b must be >="),
    (dict(a=Sequence([1.0, 2.0]), b=Sequence([0.1]), tbins=Sequence([0.0])), "same length"),
    (dict(a=Sequence([1.0, 2.0]), b=Sequence([0.1, 0.1]), tbins=Sequence([5.0, 1.0])),
     "tbins must be"),
    (dict(a=Sequence([1.0]), b=Sequence([0.1]), tbins=Sequence([-1.0])), "tbins must be"),
])
def test_inh_gamma_rejects_bad_parameters(cpu_sim, parameters, message):
    with pytest.raises(errors.InvalidParameterValueError, match=message):
        cpu_sim.Population(2, cpu_sim.SpikeSourceInhGamma(**parameters))


# --- common to all ----------------------------------------------------------------------------

def _spikes_with_seed(target, seed):
    import pynn_gpu as sim
    sim.setup(timestep=DT, target=target, rng_seed=seed)
    try:
        populations = [sim.Population(5, sim.SpikeSourcePoissonRefractory(rate=80.0,
                                                                           tau_refrac=2.0)),
                       sim.Population(5, sim.SpikeSourceGamma(alpha=3, beta=240.0)),
                       sim.Population(5, sim.SpikeSourceInhGamma(a=Sequence([2.0]),
                                                                 b=Sequence([0.025]),
                                                                 tbins=Sequence([0.0])))]
        for population in populations:
            population.record("spikes")
        sim.run(500.0)
        return [spike_trains(p) for p in populations]
    finally:
        sim.end()


def test_seeded_and_independent(target):
    first, again, other = (_spikes_with_seed(target, s) for s in (5, 5, 6))
    for a, b, c in zip(first, again, other):
        assert sum(t.size for t in a) > 20
        for x, y, z in zip(a, b, c):
            np.testing.assert_array_equal(x, y)
            assert not np.array_equal(x, z)
        assert not np.array_equal(a[0], a[1])          # neurons differ from each other


def test_sources_drive_neurons(sim):
    sources = sim.Population(20, sim.SpikeSourceGamma(alpha=2, beta=400.0))
    cells = sim.Population(5, sim.IF_curr_exp())
    sim.Projection(sources, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.0))
    cells.record("spikes")
    sim.run(200.0)
    assert sum(t.size for t in spike_trains(cells)) > 0


def test_a_window_opened_again_starts_afresh(sim):
    """A new window (set(start=..., duration=...)) starts without memory of the spikes of
    the last one, as the sources' documentation says: no dead time left over (the
    refractory source fires every 20 ms, here in its first step), and InhGamma
    unadapted (hazard 1/b = one spike per step: it fires in its first step). Before, the
    dead time and the adaptation ran on into the new window."""
    refractory = sim.Population(3, sim.SpikeSourcePoissonRefractory(
        rate=50.0, tau_refrac=20.0, start=10.0, duration=90.0))   # spikes at 10, 30, ... 90
    inh_gamma = sim.Population(20, sim.SpikeSourceInhGamma(
        a=Sequence([10.0]), b=Sequence([DT / 1000.0]), tbins=Sequence([0.0]), duration=10.0))
    for cells in (refractory, inh_gamma):
        cells.record("spikes")
    sim.run(100.0)
    refractory.set(start=101.0, duration=50.0)
    inh_gamma.set(start=100.5, duration=1.0)
    sim.run(10.0)
    for train in spike_trains(refractory):
        assert train[train > 100].tolist()[:1] == [pytest.approx(101.1)]
    for train in spike_trains(inh_gamma):
        assert train[train > 100].tolist()[:1] == [pytest.approx(100.6)]
    # a window whose start is already past when it is set starts afresh at once
    refractory.set(start=105.0)             # last spike at 101.1: dead until 121.1
    inh_gamma.set(start=109.0, duration=10.0)
    sim.run(5.0)
    for train in spike_trains(refractory):
        assert train[train > 110].tolist()[:1] == [pytest.approx(110.1)]
    for train in spike_trains(inh_gamma):
        assert train[train > 110].tolist()[:1] == [pytest.approx(110.1)]


@pytest.mark.parametrize("source", [
    dict(celltype="SpikeSourcePoisson", rate=5000.0),
    dict(celltype="SpikeSourcePoissonRefractory", rate=500.0),
    dict(celltype="SpikeSourceGamma", alpha=1.0, beta=5000.0),
])
def test_sources_that_never_stop_run_at_a_small_timestep(source):
    """duration=inf at dt = 1e-4 ms: the stop step, clipped in ms, overflowed int64 and
    came before the start, silencing every source."""
    import pynn_gpu as sim
    sim.setup(timestep=1e-4, target="cpu")
    try:
        parameters = dict(source)
        cells = sim.Population(5, getattr(sim, parameters.pop("celltype"))(**parameters))
        cells.record("spikes")
        current = sim.Population(1, sim.IF_curr_exp(tau_refrac=0.0, v_thresh=1e9))
        sim.DCSource(amplitude=1.0, stop=np.inf).inject_into(current)
        current.record("v")
        sim.run(2.0)
        assert sum(len(t) for t in spike_trains(cells)) > 0
        assert current.get_data().segments[0].filter(name="v")[0].magnitude[-1, 0] > -65.0
    finally:
        sim.end()


def test_inh_gamma_bins_beyond_any_simulation_are_never_reached(sim):
    """A bin starting at 1e300 ms overflowed int64 into a step before the first bin: the
    sources fired with its parameters from step 0."""
    cells = sim.Population(3, sim.SpikeSourceInhGamma(
        a=Sequence([1.0, 1.0]), b=Sequence([DT / 1000.0, 1000.0]), tbins=Sequence([0.0, 1e300])))
    cells.record("spikes")
    sim.run(10.0)
    assert [len(t) for t in spike_trains(cells)] == [100] * 3     # every step (b = dt)


def test_poisson_rate_above_one_spike_per_step_is_reported(cpu_sim, caplog):
    """A source fires at most once per step: a rate above 1/dt (10 kHz at 0.1 ms) is
    said, with the rate it gets; rates below it are not."""
    with caplog.at_level("WARNING", logger="PyNN"):
        sources = cpu_sim.Population(3, cpu_sim.SpikeSourcePoisson(rate=5000.0))
        assert "one spike per time step" not in caplog.text
        sources[1:2].set(rate=20000.0)
    assert "rate 20000 Hz is above one spike per time step" in caplog.text
    assert "fires at 10000 Hz" in caplog.text
    sources.record("spikes")
    cpu_sim.run(10.0)
    counts = sources.get_spike_counts()
    assert counts[sources[1]] == 100        # every step


def test_a_spike_source_array_holds_what_its_int32_positions_can_index(cpu_sim, monkeypatch):
    """At most 2**31 - 1 spike times in a population (next_spike is an int32_t): more are
    refused by name at creation and in set(), which then keeps the old times."""
    from pynn_gpu.standardmodels import cells
    sim = cpu_sim
    monkeypatch.setattr(cells, "MOST_SPIKE_TIMES", 5)
    too_many = [Sequence([1.0, 2.0, 3.0]), Sequence([3.0, 4.0, 5.0])]
    with pytest.raises(errors.InvalidParameterValueError, match="at most 5 spike times"):
        sim.Population(2, sim.SpikeSourceArray(spike_times=too_many))
    sources = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 2.0], [3.0]]))
    with pytest.raises(errors.InvalidParameterValueError, match="at most 5 spike times"):
        sources.set(spike_times=too_many)
    sources.record("spikes")
    sim.run(5.0)
    trains = sources.get_data().segments[0].spiketrains
    assert [list(train.magnitude) for train in trains] == [[1.0, 2.0], [3.0]]
