"""
How pyNN.gpu's results are compared with the reference (numpy and scipy only, so the tests
can use it without Brian 2). README.md (next to this file) explains the tolerances.

Networks: two simulators never share a realisation of the Poisson input (and chaos
amplifies any difference), so a network statistic is compared as a distribution over
realisations (seeds): the difference of the means must lie within

    t_(1 - ALPHA/2, df) * s_pooled * sqrt(1/n_gpu + 1/n_ref)  +  ALLOWANCE[statistic] * |mean_ref|

a two-sample t test at level ALPHA (pooled standard deviation over the realisations of
both simulators; with a single reference realisation, pyNN.gpu's spread stands for both)
plus an allowance for the one-step differences in event conventions between the
simulators (see README.md for how large they are).

Gallery: deterministic single neurons, compared spike by spike and sample by sample.
"""

import numpy as np
from scipy import stats as scipy_stats

ALPHA = 0.001
ALLOWANCE = {"rate": 0.05, "cv_isi": 0.05, "correlation": 0.25, "synchrony": 0.25}


def compare_statistic(gpu_values, ref_values, statistic):
    """Compare one statistic over realisations; returns a dict with the verdict `ok`.
    Realisations in which the statistic is undefined (NaN: a CV or correlation of a
    population that fell silent) are left out and counted."""
    gpu = np.asarray(gpu_values, dtype=float)
    ref = np.asarray(ref_values, dtype=float)
    undefined = {"undefined_gpu": int(np.isnan(gpu).sum()),
                 "undefined_ref": int(np.isnan(ref).sum())}
    gpu, ref = gpu[~np.isnan(gpu)], ref[~np.isnan(ref)]
    # pooled variance of the realisations; a single reference run adds nothing to it
    squares = sum(((x - x.mean()) ** 2).sum() for x in (gpu, ref))
    df = len(gpu) + len(ref) - 2
    pooled = np.sqrt(squares / df)
    sampling = scipy_stats.t.ppf(1.0 - ALPHA / 2.0, df) * pooled * np.sqrt(
        1.0 / len(gpu) + 1.0 / len(ref))
    tolerance = sampling + ALLOWANCE[statistic] * abs(ref.mean())
    difference = gpu.mean() - ref.mean()
    return {"gpu_mean": float(gpu.mean()), "gpu_sd": float(gpu.std(ddof=1)),
            "ref_mean": float(ref.mean()),
            "ref_sd": float(ref.std(ddof=1)) if len(ref) > 1 else float("nan"),
            "difference": float(difference), "tolerance": float(tolerance),
            "sampling_part": float(sampling), "n_gpu": len(gpu), "n_ref": len(ref),
            "ok": bool(abs(difference) <= tolerance), **undefined}


def compare_network(gpu_runs, ref_runs, statistics=("rate", "cv_isi", "correlation",
                                                      "synchrony")):
    """gpu_runs, ref_runs: lists of {population: {statistic: value}}, one per seed.
    Returns {population: {statistic: comparison}}."""
    result = {}
    for population in ref_runs[0]:
        result[population] = {
            name: compare_statistic([run[population][name] for run in gpu_runs],
                                    [run[population][name] for run in ref_runs], name)
            for name in statistics}
    return result


# --- gallery ---------------------------------------------------------------------------------

DT = 0.1                  # ms, pyNN.gpu's step in the gallery
SPIKE_SLACK = 0.01        # ms, integration error allowed on top of the grid (numerics.md)
SUBTHRESHOLD_TOL = 1e-4   # mV, before the step current (synaptic input only)
AWAY_BEFORE, AWAY_AFTER = 1.0, 0.5   # ms around spikes left out of the "away" difference


def max_lag(celltype, index):
    """Largest allowed lag (pyNN.gpu minus reference) of spike `index` (from 0).
    A spike is reported at the end of the step in which it happens, up to dt after the
    reference's crossing; a grid model resets there, so the rest of its trajectory is late
    by as much, and so on from spike to spike: (index + 1) dt. HH has no reset: it reports
    at the first step end after the action potential's peak at which v has fallen, 2 dt."""
    if celltype == "HH_cond_exp":
        return 2 * DT + SPIKE_SLACK
    return (index + 1) * DT + SPIKE_SLACK


def compare_gallery(celltype, gpu_v, gpu_spikes, ref_v, ref_spikes, step_on):
    """Compare one gallery protocol; v arrays sampled every DT from t = 0."""
    n = min(len(gpu_v), len(ref_v))
    gpu_v, ref_v = np.asarray(gpu_v[:n]), np.asarray(ref_v[:n])
    times = np.arange(n) * DT
    before_step = times < step_on
    subthreshold = float(np.max(np.abs(gpu_v[before_step] - ref_v[before_step])))
    away = np.ones(n, dtype=bool)
    for t in np.concatenate([gpu_spikes, ref_spikes]):
        away &= ~((times > t - AWAY_BEFORE) & (times < t + AWAY_AFTER))
    away_difference = float(np.max(np.abs(gpu_v[away] - ref_v[away])))
    same_count = len(gpu_spikes) == len(ref_spikes)
    lags = (np.asarray(gpu_spikes) - np.asarray(ref_spikes)) if same_count else np.array([])
    lags_ok = same_count and all(-SPIKE_SLACK <= lag <= max_lag(celltype, k)
                                 for k, lag in enumerate(lags))
    return {"spikes_gpu": len(gpu_spikes), "spikes_ref": len(ref_spikes),
            "lag_min": float(lags.min()) if len(lags) else float("nan"),
            "lag_max": float(lags.max()) if len(lags) else float("nan"),
            "lag_bound_last": max_lag(celltype, len(ref_spikes) - 1),
            "subthreshold_max_dv": subthreshold, "away_max_dv": away_difference,
            "ok": bool(same_count and lags_ok and subthreshold <= SUBTHRESHOLD_TOL)}


# --- GIF_cond_exp ----------------------------------------------------------------------------

GIF_FAMILY_ALPHA = 0.01   # chance that any of the GIF comparisons fails for identical models


def _welch(gpu, ref):
    """Difference of the means of two independent samples (NaNs left out) and its standard
    error (Welch)."""
    gpu, ref = gpu[~np.isnan(gpu)], ref[~np.isnan(ref)]
    if min(len(gpu), len(ref)) < 2:       # undefined: the comparison fails (NaN)
        return float("nan"), float("nan"), float("nan"), len(gpu), len(ref)
    se = np.sqrt(gpu.var(ddof=1) / len(gpu) + ref.var(ddof=1) / len(ref))
    return float(gpu.mean()), float(ref.mean()), float(se), len(gpu), len(ref)


def compare_gif(gpu_stats, ref_stats, psth_bins=True):
    """Compare gif_protocol.statistics() of pyNN.gpu and of the reference (independent
    neurons on both sides). Every comparison is a test of "same distribution"; a Bonferroni
    correction over all of them keeps the family-wise false-alarm rate at GIF_FAMILY_ALPHA:

    * per-neuron statistics (spike count per step, latency, k-th interval, CV): the
      difference of the means must be within z_(1 - a/2) standard errors (Welch; with
      hundreds of neurons per side the normal quantile is exact enough), a = alpha / m;
    * PSTH bins: the counts of both sides are sums over independent neurons of at most one
      spike per neuron and bin (the refractory period and the intervals are longer than a
      bin after the first spike), so their variance is at most their mean: the exact
      conditional test for two Poisson counts, k_gpu ~ Binomial(k_gpu + k_ref,
      N_gpu / (N_gpu + N_ref)), is valid and conservative. Two-sided p < a fails.

    With synaptic input (gif_protocol.build_synaptic()) neuron i gets the same input trains
    in both simulators, so the two samples are no longer independent of each other: the
    neurons of one side are still independent of each other (each has its own input and its
    own escape noise), and the escape noise differs between the simulators, but the input
    makes neuron i's statistics on both sides positively correlated. The difference of the
    means then varies less than for independent samples, so both tests above keep their
    level (they become conservative); what the shared input removes from the difference is
    the input's own sampling error, not the model's.

    Returns {"rows": [...], "psth": {...}, "ok": bool, "alpha_each": a}."""
    count = next(name for name in ref_stats if name.startswith("count_"))
    n_gpu = len(gpu_stats[count])
    n_ref = len(ref_stats[count])
    names = [name for name in ref_stats if name != "psth"]
    bins = np.flatnonzero(gpu_stats["psth"] + ref_stats["psth"]) if psth_bins else []
    m = len(names) + len(bins)
    a = GIF_FAMILY_ALPHA / m
    z = scipy_stats.norm.ppf(1.0 - a / 2.0)
    rows = []
    for name in names:
        gpu_mean, ref_mean, se, ng, nr = _welch(np.asarray(gpu_stats[name], dtype=float),
                                                np.asarray(ref_stats[name], dtype=float))
        difference = gpu_mean - ref_mean
        rows.append({"statistic": name, "gpu_mean": gpu_mean, "ref_mean": ref_mean,
                     "difference": difference, "se": se, "tolerance": float(z * se),
                     "n_gpu": ng, "n_ref": nr, "z": float(difference / se),
                     "ok": bool(abs(difference) <= z * se)})
    p_values = []
    share = n_gpu / (n_gpu + n_ref)
    for b in bins:
        k_gpu, k_ref = int(gpu_stats["psth"][b]), int(ref_stats["psth"][b])
        p_values.append(scipy_stats.binomtest(k_gpu, k_gpu + k_ref, share).pvalue)
    p_values = np.array(p_values)
    worst = int(np.argmin(p_values)) if len(p_values) else None
    psth = {"bins_tested": len(bins), "failed_bins": [int(bins[i]) for i in
                                                      np.flatnonzero(p_values < a)],
            "min_p": float(p_values[worst]) if worst is not None else float("nan"),
            "min_p_bin": int(bins[worst]) if worst is not None else None}
    ok = all(row["ok"] for row in rows) and not psth["failed_bins"]
    return {"rows": rows, "psth": psth, "ok": bool(ok), "alpha_each": a, "z": float(z),
            "n_gpu": n_gpu, "n_ref": n_ref}
