"""
Random spike sources beyond SpikeSourcePoisson: PyNN's SpikeSourcePoissonRefractory,
SpikeSourceGamma and SpikeSourceInhGamma, as neuron models whose kernel draws from the
counter-based generator (UNIFORM(): the same numbers on the C and CUDA targets, for any
split of the work). Spikes are on the grid: a spike emitted in step k is recorded at
(k + 1) dt, as for every source of pyNN.gpu. Each source runs for start <= t < start +
duration and starts afresh (no memory of earlier spikes) at `start`.

SpikeSourcePoissonRefractory (rate in Hz, tau_refrac in ms)
    A Poisson process with dead time, whose mean rate is `rate` (NEST's convention:
    intervals are tau_refrac plus an exponential interval of mean 1/rate - tau_refrac).
    On the grid, with R = round(tau_refrac / dt): after a spike no spike for R - 1 steps,
    then a spike with probability p in every step, p chosen so that the mean interval
    R - 1 + 1/p steps is exactly 1000 / (rate dt). Intervals are never shorter than
    R steps. rate * R dt must be <= 1000 (a mean interval of at least the dead time as
    the grid has it, and of at least one step, R counted as 1 for tau_refrac < dt / 2).

SpikeSourceGamma (alpha, beta in Hz)
    A gamma renewal process: intervals gamma-distributed with shape alpha and rate beta,
    mean alpha / beta seconds (coefficient of variation 1 / sqrt(alpha)); alpha may be any
    positive number. The intervals are drawn in continuous time (Marsaglia & Tsang's
    method, on the portable normal numbers of kernels/common/portable_math.h), each spike
    is emitted in the step that contains it, so the rate is exact; spikes that would fall
    in the same step count once (rare unless intervals shorter than dt are likely).

SpikeSourceInhGamma (a, b in s, tbins in ms: a Sequence per neuron)
    The inhomogeneous gamma process of Muller et al. (2007), by thinning as in their
    reference implementation: from tbins[i] on, the hazard is that of a gamma distribution
    with shape a[i] and scale b[i] s, evaluated at the time since the neuron's last spike
    (before its first spike the process is "unadapted": hazard 1/b). On the grid: a
    candidate with probability max(1/b) dt in every step, kept with probability
    hazard / max(1/b), so a spike with probability hazard * dt per step (first order in
    dt); the time since the last spike is counted in whole steps. No spikes before
    tbins[0]. Needs a >= 1 (the hazard is then bounded by 1/b) and b >= dt.
"""

import math
import textwrap
from dataclasses import dataclass
from typing import Tuple

import numpy as np
from pyNN import errors
from pyNN.standardmodels import build_translations, cells

from ..modeldef import NON_NEGATIVE, POSITIVE, NeuronModelDef, StateVar
from .electrodes import PORTABLE_MATH
from .neurons_common import LONGEST_REFRACTORY_STEPS
from .steps import time_steps

def _identity_translations(cls):
    return build_translations(*[(name, name) for name in cls.default_parameters])


def _as_float(params, name):
    return np.asarray(params[name], dtype=float)


def _window_steps(params, dt):
    """First step of the source and the first step after it."""
    start = _as_float(params, "start")
    return {"start_step": time_steps(start, dt),
            "stop_step": time_steps(start + _as_float(params, "duration"), dt)}


def _require(condition, message):
    """Checks across parameters (a Constraint sees one parameter at a time)."""
    if not np.all(condition):
        raise errors.InvalidParameterValueError(message)


_WINDOW_CONSTRAINTS = {"start": NON_NEGATIVE, "duration": NON_NEGATIVE}


# --- Poisson with dead time ---------------------------------------------------------------

def _derive_poisson_refractory(params, dt):
    rate = _as_float(params, "rate")
    tau_refrac = _as_float(params, "tau_refrac")
    # the shortest interval on the grid: round(tau_refrac / dt) steps, and at least one
    shortest = np.maximum(np.rint(tau_refrac / dt), 1.0) * dt
    too_fast = rate * shortest > 1000.0 * (1 + 1e-9)
    if np.any(too_fast):
        k = np.flatnonzero(too_fast)[0]
        r, t, s = (np.broadcast_to(a, too_fast.shape).flat[k]
                   for a in (rate, tau_refrac, shortest))
        raise errors.InvalidParameterValueError(
            "rate * tau_refrac must be <= 1000, with tau_refrac as the grid has it (whole "
            f"steps of {dt:g} ms, at least one): the mean interval 1000/rate ms cannot be "
            f"shorter than the dead time; got rate={r:g} Hz, tau_refrac={t:g} ms, which "
            f"the grid makes {s:g} ms (rate <= {1000.0 / s:g} Hz)")
    # the dead count is an int32_t: a longer dead time lasts for ever anyway
    dead_steps = np.clip(np.rint(tau_refrac / dt) - 1, 0, LONGEST_REFRACTORY_STEPS)
    dead_steps = dead_steps.astype(np.int64)
    # mean interval in steps: dead_steps + 1/p = 1000 / (rate dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_spike = np.where(rate > 0, rate * dt / (1000.0 - rate * dead_steps * dt), 0.0)
    return {"p_spike": np.clip(p_spike, 0.0, 1.0), "dead_steps": dead_steps,
            **_window_steps(params, dt)}


SPIKE_SOURCE_POISSON_REFRACTORY_MODEL = NeuronModelDef(
    name="spike_source_poisson_refractory",
    params=("rate", "tau_refrac", "start", "duration"),
    # dead: steps left without spikes; window_start: the start_step of the window the state
    # belongs to (a window opened again, in the future or the past, starts afresh)
    state=(StateVar("dead", "int32_t"), StateVar("window_start", "int64_t")),
    derived=("p_spike",),
    int_derived=("dead_steps", "start_step", "stop_step"),
    update="""
int _emit = 0;
if (_step >= start_step && window_start != start_step) {
    window_start = start_step;          /* afresh: no dead time from a spike before start */
    dead = 0;
}
if (dead > 0) {
    dead -= 1;
} else if (_step >= start_step && _step < stop_step && UNIFORM() < p_spike) {
    _emit = 1;
    dead = (int32_t) dead_steps;
}
""",
    threshold="_emit",
    derive=_derive_poisson_refractory,
    uses_rng=True,
    constraints={"rate": NON_NEGATIVE, "tau_refrac": NON_NEGATIVE, **_WINDOW_CONSTRAINTS},
)


# --- gamma renewal process -----------------------------------------------------------------

def _derive_gamma(params, dt):
    alpha = _as_float(params, "alpha")
    beta = _as_float(params, "beta")
    # alpha < 1: draw gamma(alpha + 1) and multiply by U^(1/alpha) (Marsaglia & Tsang)
    shape = np.where(alpha < 1.0, alpha + 1.0, alpha)
    mt_d = shape - 1.0 / 3.0
    with np.errstate(divide="ignore"):
        isi_scale = np.where(beta > 0, 1000.0 / np.where(beta > 0, beta, 1.0), 0.0)
    return {"isi_scale": isi_scale, "mt_d": mt_d, "mt_c": 1.0 / np.sqrt(9.0 * mt_d),
            "boost_exponent": np.where(alpha < 1.0, 1.0 / alpha, 0.0),
            **_window_steps(params, dt)}


# One gamma(alpha) variate _g per pass of the loop: Marsaglia & Tsang (2000), "A simple
# method for generating gamma variables"; acceptance above 95 % for every shape.
_GAMMA_VARIATE = """
double _g;
for (;;) {
    double _x, _v;
    do {
        const double _u1 = UNIFORM();
        const double _u2 = UNIFORM();
        _x = pg_box_muller(_u1, _u2);
        _v = 1.0 + (double) mt_c * _x;
    } while (_v <= 0.0);
    _v = _v * _v * _v;
    const double _u = pg_open_unit(UNIFORM());     /* (0, 1] */
    if (_u < 1.0 - 0.0331 * (_x * _x) * (_x * _x)
        || pg_log(_u) < 0.5 * _x * _x + (double) mt_d * (1.0 - _v + pg_log(_v))) {
        _g = (double) mt_d * _v;
        break;
    }
}
if (boost_exponent > (scalar) 0) {
    _g *= pg_exp(pg_log(pg_open_unit(UNIFORM())) * (double) boost_exponent);
}
"""

SPIKE_SOURCE_GAMMA_MODEL = NeuronModelDef(
    name="spike_source_gamma",
    params=("alpha", "beta", "start", "duration"),
    # the next spike: in step next_step, at offset (ms) from its start; whole steps and the
    # offset apart, so a float offset keeps its digits (a float time to the next spike,
    # counted down by dt per step, lost some 1 % per step on intervals of seconds)
    state=(StateVar("started", "int32_t"), StateVar("next_step", "int64_t"),
           StateVar("offset")),
    derived=("isi_scale", "mt_d", "mt_c", "boost_exponent"),
    int_derived=("start_step", "stop_step"),
    support=PORTABLE_MATH,
    update="""
int _emit = 0;
if (_step >= start_step && _step < stop_step && isi_scale > (scalar) 0) {
    /* the process starts afresh in its first active step: its first interval is counted
       from the start of that step, with no spike there */
    int _fresh = (started == 0);
    started = 1;
    if (_fresh) {
        next_step = _step;
        offset = (scalar) 0;
    }
    /* a spike in this step if an interval ends in it (several count as one); the next
       interval is drawn at once; bounded work per step (a step left behind is caught up
       in the next ones) */
    for (int _n = 0; (_fresh || next_step <= _step) && _n < 64; ++_n) {
        _emit |= !_fresh;
        _fresh = 0;
""" + textwrap.indent(_GAMMA_VARIATE.strip(), " " * 8) + """
        const double _end = (double) offset + (double) isi_scale * _g;   /* ms after next_step */
        const double _whole = floor(_end / DT_DOUBLE);
        if (_whole < 4.0e18) {
            next_step += (int64_t) _whole;
            offset = (scalar) (_end - _whole * DT_DOUBLE);
        } else {
            next_step = INT64_MAX;      /* an interval longer than any run: never */
        }
    }
}
""",
    threshold="_emit",
    derive=_derive_gamma,
    restart_on_change=("started",),     # the drawn interval belongs to the old parameters
    uses_rng=True,
    constraints={"alpha": POSITIVE, "beta": NON_NEGATIVE, **_WINDOW_CONSTRAINTS},
)


# --- inhomogeneous gamma process ------------------------------------------------------------

@dataclass(frozen=True)
class _SequenceModelDef(NeuronModelDef):
    """A model with parameters holding a Sequence per neuron: NeuronData keeps them as
    they are and derive() turns them into tables."""
    sequence_params: Tuple[str, ...] = ()


def _sequences(params, name):
    return [np.asarray(seq.value if hasattr(seq, "value") else seq, dtype=float).ravel()
            for seq in params[name]]


def _double_bits(values):
    """Doubles as int64 bit patterns, for an int64 table (read with pg_double_bits)."""
    return np.ascontiguousarray(values, dtype=np.float64).view(np.int64)


def _derive_inh_gamma(params, dt):
    a_bins, b_bins, t_bins = (_sequences(params, name) for name in ("a", "b", "tbins"))
    for a, b, t in zip(a_bins, b_bins, t_bins):
        _require(a.size == b.size == t.size and t.size > 0,
                 "a, b and tbins must have the same length, at least 1 "
                 f"(got {a.size}, {b.size}, {t.size})")
        _require(np.all(np.isfinite(t)) and np.all(t >= 0) and np.all(np.diff(t) > 0),
                 f"tbins must be >= 0 ms and strictly increasing (got {t.tolist()[:10]})")
        _require(np.all(np.isfinite(a)) and np.all(a >= 1.0),
                 f"a must be >= 1 (the thinning method needs a bounded hazard; got {a.min():g})")
        _require(np.all(np.isfinite(b)) and np.all(b >= dt / 1000.0),
                 f"b must be >= the timestep {dt / 1000.0:g} s (got {b.min():g})")
    counts = np.array([t.size for t in t_bins], dtype=np.int64)
    end = np.cumsum(counts)
    a_all, b_all = np.concatenate(a_bins), np.concatenate(b_bins)
    rate_max = np.array([np.max(1.0 / b) for b in b_bins])          # Hz
    return {
        "bin_steps": time_steps(np.concatenate(t_bins), dt),
        "bin_shape": _double_bits(a_all),
        "bin_scale": _double_bits(b_all),
        "bin_lgamma": _double_bits([math.lgamma(a) for a in a_all]),
        "bins_begin": end - counts, "bins_end": end,
        "rate_max": rate_max, "p_candidate": rate_max * dt / 1000.0,
        **_window_steps(params, dt),
    }


SPIKE_SOURCE_INH_GAMMA_MODEL = _SequenceModelDef(
    name="spike_source_inh_gamma",
    params=("start", "duration"),
    sequence_params=("a", "b", "tbins"),
    # since_spike: steps since the last spike (saturating); spiked: 0 until the first one;
    # window_start: the start_step of the window the state belongs to
    state=(StateVar("since_spike", "int32_t"), StateVar("spiked", "int32_t"),
           StateVar("window_start", "int64_t")),
    derived=("rate_max", "p_candidate"),
    int_derived=("bins_begin", "bins_end", "start_step", "stop_step"),
    tables=("bin_steps", "bin_shape", "bin_scale", "bin_lgamma"),
    support=PORTABLE_MATH,
    update="""
int _emit = 0;
if (_step >= start_step && window_start != start_step) {
    window_start = start_step;          /* afresh: unadapted, as before a first spike */
    spiked = 0;
}
if (since_spike < 2147483647) since_spike += 1;
if (_step >= start_step && _step < stop_step && UNIFORM() < p_candidate) {
    /* the bin of this step: the last one that starts at or before it */
    int64_t _lo = bins_begin, _hi = bins_end;
    while (_lo < _hi) {
        const int64_t _mid = _lo + (_hi - _lo) / 2;
        if (bin_steps[_mid] <= _step) _lo = _mid + 1; else _hi = _mid;
    }
    if (_lo > bins_begin) {
        const double _a = pg_double_bits(bin_shape[_lo - 1]);
        const double _b = pg_double_bits(bin_scale[_lo - 1]);
        const double _age = (double) since_spike * (double) dt / 1000.0;    /* s */
        const double _hazard = spiked
            ? pg_gamma_hazard(_age / _b, _a, pg_double_bits(bin_lgamma[_lo - 1])) / _b
            : 1.0 / _b;
        /* thinning: keep the candidate with probability hazard / rate_max */
        if ((double) UNIFORM() * (double) rate_max < _hazard) {
            _emit = 1;
            spiked = 1;
            since_spike = 0;
        }
    }
}
""",
    threshold="_emit",
    derive=_derive_inh_gamma,
    uses_rng=True,
    constraints=_WINDOW_CONSTRAINTS,
)


# --- PyNN classes --------------------------------------------------------------------------

class SpikeSourcePoissonRefractory(cells.SpikeSourcePoissonRefractory):
    __doc__ = cells.SpikeSourcePoissonRefractory.__doc__
    translations = _identity_translations(cells.SpikeSourcePoissonRefractory)
    model = SPIKE_SOURCE_POISSON_REFRACTORY_MODEL
    receptor_map = {}


class SpikeSourceGamma(cells.SpikeSourceGamma):
    __doc__ = cells.SpikeSourceGamma.__doc__
    # PyNN's default alpha is the int 2, which makes PyNN cast every alpha to an int
    default_parameters = dict(cells.SpikeSourceGamma.default_parameters, alpha=2.0)
    translations = _identity_translations(cells.SpikeSourceGamma)
    model = SPIKE_SOURCE_GAMMA_MODEL
    receptor_map = {}


class SpikeSourceInhGamma(cells.SpikeSourceInhGamma):
    __doc__ = cells.SpikeSourceInhGamma.__doc__
    translations = _identity_translations(cells.SpikeSourceInhGamma)
    model = SPIKE_SOURCE_INH_GAMMA_MODEL
    receptor_map = {}
