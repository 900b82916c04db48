"""
Summary statistics of a network's spike trains, the same for every simulator (numpy only).

For a population and an analysis window [t_start, t_stop):

* rate: mean over all neurons of (spikes in the window) / (window length), in Hz;
* cv_isi: mean over neurons with at least MIN_ISIS inter-spike intervals in the window of
  std(ISI) / mean(ISI) (1 for a Poisson process, near 0 for clock-like firing);
* correlation: mean Pearson correlation of the spike counts in BIN_MS bins over all pairs
  of the first N_CORRELATED neurons that fire in the window (neurons of a population are
  statistically equivalent, so the first ones are as good a sample as any);
* synchrony: Golomb's chi^2 for spike counts in BIN_MS bins, the variance of the population
  mean count over the mean of the single-neuron count variances: about 1/N for N
  independent neurons, 1 for a fully synchronous population.
"""

import numpy as np

MIN_ISIS = 5
N_CORRELATED = 200
BIN_MS = 5.0

STATISTICS = ("rate", "cv_isi", "correlation", "synchrony")


def _counts(trains, t_start, t_stop):
    edges = np.arange(t_start, t_stop + 0.5 * BIN_MS, BIN_MS)
    return np.array([np.histogram(train, edges)[0] for train in trains], dtype=float)


def summarise(trains, t_start, t_stop):
    """The statistics of STATISTICS for one population (a list of spike-time arrays in ms)."""
    trains = [np.asarray(t)[(np.asarray(t) >= t_start) & (np.asarray(t) < t_stop)]
              for t in trains]
    duration_s = (t_stop - t_start) / 1000.0
    rate = float(np.mean([len(t) for t in trains]) / duration_s)

    cvs = [np.std(np.diff(t)) / np.mean(np.diff(t)) for t in trains if len(t) > MIN_ISIS]
    cv_isi = float(np.mean(cvs)) if cvs else float("nan")

    firing = [t for t in trains if len(t) > 0][:N_CORRELATED]
    correlation = float("nan")
    if len(firing) >= 2:
        counts = _counts(firing, t_start, t_stop)
        counts = counts[counts.std(axis=1) > 0]
        if len(counts) >= 2:
            matrix = np.corrcoef(counts)
            correlation = float(matrix[np.triu_indices(len(counts), k=1)].mean())

    all_counts = _counts(trains, t_start, t_stop)
    single = all_counts.var(axis=1).sum()
    synchrony = (float(all_counts.mean(axis=0).var() / (single / len(trains)))
                 if single > 0 else float("nan"))
    return {"rate": rate, "cv_isi": cv_isi, "correlation": correlation,
            "synchrony": synchrony, "neurons_with_cv": len(cvs)}


def summarise_run(spikes, window):
    """{population: statistics} of one run, as returned by networks.run_network."""
    return {label: summarise(trains, *window) for label, trains in spikes.items()}
