"""
Weight scaling derived from connection densities (opt-in; off by default).

When a network is scaled up or down, the in-degree K of its projections changes, and with
fixed weights the input each neuron receives changes with it. This module derives K from
each projection's connector and rescales the weights from a reference in-degree K0:

    "mean"      w = w0 * K0 / K                 keeps the mean input
    "balanced"  w = w0 * sqrt(K0 / K)           keeps the input variance, plus a DC current
                I_DC = (K0 - sqrt(K0 K)) * <w0> * nu * Q        into every post-synaptic neuron,
                which restores the mean input of the reference (van Albada, Helias &
                Diesmann 2015)
    "activity"  w such that the mean input of the projection holds the post-synaptic neuron
                at a chosen fraction of the way from rest to threshold

with nu the presynaptic rate (Hz in the API, 1/ms in the formulas) and Q the charge of one
unit-weight post-synaptic current (ms): tau_syn for exponential, e * tau_syn for alpha
synapses. Weights are in PyNN's native units (nA for current-, uS for conductance-based
synapses). For conductance-based synapses the mean current is taken at an operating
voltage V_op (default: halfway between v_rest and v_thresh): I = G * (E_rev - V_op).

Rates are given by the user (`rates=`) or measured in short calibration runs of the network
that this module performs itself (then the simulation is back at t = 0, with the user's
recording requests and data untouched).

The rescaled weights are written into the projection's weight array, so the generated code
is the same as for unscaled weights (no per-step cost); the DC compensation is one DCSource
per post-synaptic cell set. A projection whose synapses come from a generator (procedural,
or built on the device) stays so under "mean" and "balanced": one factor scales all its
weights, so its weight distribution is scaled instead (pynn_gpu.procedural.ValueSpec.scaled),
and <w0> is the mean of that distribution. What was applied is logged at INFO level, kept as
`projection.scaling` (a ScalingRecord), and listed by `scaling_report()`.

References
----------
van Albada SJ, Helias M, Diesmann M (2015) Scalability of asynchronous networks is limited by
    one-to-one mapping between effective connectivity and correlations. PLoS Comput Biol
    11(9): e1004490. doi:10.1371/journal.pcbi.1004490
Potjans TC, Diesmann M (2014) The cell-type specific cortical microcircuit: relating structure
    and activity in a full-scale spiking network model. Cereb Cortex 24(3): 785-806.
"""

import hashlib
import json
import logging
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from pyNN import connectors, errors

from . import distributed, procedural, simulator
from .standardmodels.electrodes import CurrentTrace

logger = logging.getLogger("PyNN")

POLICIES = ("mean", "balanced", "activity")

CALIBRATION_DEFAULTS = {
    "duration": 300.0,     # ms simulated per calibration run
    "transient": 100.0,    # ms at the start of each run left out of the rate estimate
    "iterations": None,    # runs; None: 1 if every rate to measure is a spike source's, else 10
    "damping": "average",  # "average": the estimate after run n is the average of the
                           # measurements weighted by run number (step 2 / (n + 1));
                           # a number d: new estimate = old + d * (measured - old)
}


# --- in-degrees -------------------------------------------------------------------------

class InDegree(NamedTuple):
    """In-degree of a projection: `mean` from the connector's density where it has a
    closed form (else from the built connections), `per_neuron` counted in the built
    connections (one entry per post-synaptic cell of the projection)."""
    mean: float
    per_neuron: np.ndarray


def expected_in_degree(connector, n_pre, n_post, n_shared=0):
    """
    Mean in-degree implied by a connector's density, or None without a closed form.

        FixedProbabilityConnector(p)     p * N_pre   (p * (N_pre - n_shared / N_post) without
                                                      self-connections; p * (N - 1) / 2 with
                                                      'NoMutual')
        AllToAllConnector                N_pre       (same corrections with p = 1)
        FixedNumberPreConnector(n)       n
        FixedNumberPostConnector(n)      n * N_pre / N_post
        FixedTotalNumberConnector(n)     n / N_post
        OneToOneConnector                min(N_pre, N_post) / N_post

    `n_shared` is the number of cells that are both pre- and post-synaptic (self-connections
    excluded with allow_self_connections=False remove that many pairs). Also usable without
    building anything, e.g. to get K0 of a reference configuration.
    """
    if n_post <= 0:
        return 0.0
    kind = type(connector)
    if kind in (connectors.FixedProbabilityConnector, connectors.AllToAllConnector):
        p = connector.p_connect if kind is connectors.FixedProbabilityConnector else 1.0
        rule = connector.allow_self_connections
        if rule == "NoMutual":
            return p * (n_pre - 1) / 2.0
        if rule is False:
            return p * (n_pre - n_shared / n_post)
        return p * n_pre
    if kind is connectors.OneToOneConnector:
        return min(n_pre, n_post) / n_post     # the pairs (i, i) of the smaller side
    if kind in (connectors.FixedNumberPreConnector, connectors.FixedNumberPostConnector,
                connectors.FixedTotalNumberConnector):
        n = connector.n
        if not isinstance(n, numbers.Integral):
            return None               # n drawn from a distribution: count what was built
        if kind is connectors.FixedNumberPreConnector:
            return float(n)
        if kind is connectors.FixedNumberPostConnector:
            return n * n_pre / n_post
        return n / n_post
    return None


def mean_in_degree(projection):
    """The mean of in_degree(projection), from the connector's density where it has a
    closed form: then without generating a procedural or generated projection's
    synapses on the host."""
    n_pre, n_post = projection.pre.size, projection.post.size
    shared = len(np.intersect1d(projection._pre_ids, projection._post_ids, assume_unique=True))
    mean = expected_in_degree(projection._connector, n_pre, n_post, shared)
    return float(mean) if mean is not None else in_degree(projection).mean


def in_degree(projection):
    """(mean, per_neuron) in-degree of a pyNN.gpu Projection; see InDegree. (Over several
    MPI processes, of all processes' synapses: every process calls it.)"""
    n_pre, n_post = projection.pre.size, projection.post.size
    per_neuron = _all_processes(projection._post_counts())
    shared = len(np.intersect1d(projection._pre_ids, projection._post_ids, assume_unique=True))
    mean = expected_in_degree(projection._connector, n_pre, n_post, shared)
    if mean is None:
        mean = int(per_neuron.sum()) / n_post if n_post else 0.0
    return InDegree(float(mean), per_neuron)


# --- over several MPI processes: the sums and means of all processes' synapses --------------

def _all_processes(value):
    """A count or array summed over the processes of a run over several (each holds the
    synapses onto its own neurons); as it is in one process."""
    state = simulator.state
    return state.mpi_comm.allreduce(value) if state.num_processes > 1 else value


def _mean(weights):
    """The mean of a projection's weights (0 for none). Over several processes, of all
    processes' weights, put together in process order: that is the single process's order
    (connections by postsynaptic neuron, each process a block of them), so the mean is the
    same to the last bit."""
    state = simulator.state
    if state.num_processes > 1:
        weights = np.concatenate(state.mpi_comm.allgather(np.asarray(weights, dtype=float)))
    return float(np.mean(weights)) if len(weights) else 0.0


def _synapse_total(projection):
    return int(_all_processes(len(projection)))


def reference_in_degrees(projections):
    """{label: mean in-degree} of built projections: a reference configuration for K0
    (e.g. saved with json and passed as K0=<file> when the network is rebuilt at another
    scale)."""
    return {p.label: in_degree(p).mean for p in _as_list(projections)}


# --- what is asked for, and what was applied ---------------------------------------------

@dataclass
class ScalingPolicy:
    """
    A weight-scaling request.

    policy           "mean", "balanced" or "activity"
    K0               reference in-degree (mean and balanced): a number; a mapping from
                     projection label (or Projection) to number; a callable(projection);
                     or the name of a JSON file holding such a mapping
    rates            presynaptic rates in Hz (balanced and activity): a number; a mapping
                     whose keys are projections, projection labels, presynaptic populations
                     or their labels; or a callable(projection). Missing rates are measured
                     in calibration runs.
    target_fraction  activity: the mean input brings v to v_rest + f * (v_thresh - v_rest)
                     (excitatory; inhibitory projections pull it down by the same amount)
    v_operating      conductance-based synapses: voltage (mV) at which a conductance is
                     turned into a current for the DC (balanced) and the target (activity
                     uses its own target voltage); default (v_rest + v_thresh) / 2
    calibration      dict overriding CALIBRATION_DEFAULTS
    """
    policy: str
    K0: object = None
    rates: object = None
    target_fraction: float = 0.8
    v_operating: object = None
    calibration: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.policy not in POLICIES:
            raise errors.InvalidParameterValueError(
                f"weight scaling policy must be one of {', '.join(POLICIES)} "
                f"(got {self.policy!r})")
        if self.policy in ("mean", "balanced") and self.K0 is None:
            raise errors.InvalidParameterValueError(
                f"weight scaling policy {self.policy!r} needs a reference in-degree K0 "
                "(a number, a mapping label -> K0, a callable or a JSON file name)")
        if isinstance(self.K0, str):
            self.K0 = _reference_in_degrees(self.K0)
        _check_table("K0", self.K0, positive=True)
        _check_table("rates", self.rates, positive=False)
        if self.v_operating is not None and not _is_number(self.v_operating):
            raise errors.InvalidParameterValueError(
                f"weight scaling v_operating must be a finite number of mV or None "
                f"(got {self.v_operating!r})")
        if self.calibration is None:
            self.calibration = {}
        if not isinstance(self.calibration, Mapping):
            raise errors.InvalidParameterValueError(
                f"weight scaling calibration must be a dict of settings "
                f"(got {self.calibration!r})")
        if not (_is_number(self.target_fraction) and self.target_fraction > 0):
            raise errors.InvalidParameterValueError(
                f"weight scaling target_fraction must be a finite number > 0 "
                f"(got {self.target_fraction!r})")
        unknown = set(self.calibration) - set(CALIBRATION_DEFAULTS)
        if unknown:
            raise errors.InvalidParameterValueError(
                f"unknown calibration setting(s) {sorted(unknown)}; "
                f"known: {sorted(CALIBRATION_DEFAULTS)}")
        _check_calibration(self.calibration_settings())

    def calibration_settings(self):
        return dict(CALIBRATION_DEFAULTS, **self.calibration)


def _is_number(value):
    """A finite real number (not a bool)."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def _check_calibration(settings):
    """The calibration settings (CALIBRATION_DEFAULTS with the user's): finite numbers in
    their ranges, so that a bad one is refused by setup(), not by the calibration run."""
    def refuse(name, allowed):
        raise errors.InvalidParameterValueError(
            f"weight scaling calibration {name} must be {allowed} (got {settings[name]!r})")
    duration, transient = settings["duration"], settings["transient"]
    if not (_is_number(transient) and transient >= 0):
        refuse("transient", "a finite number of ms >= 0")
    if not (_is_number(duration) and duration > transient):
        refuse("duration", f"a finite number of ms > transient ({transient:g} ms)")
    iterations = settings["iterations"]
    if iterations is not None and not (_is_number(iterations) and iterations >= 1
                                       and float(iterations).is_integer()):
        refuse("iterations", "None or a whole number >= 1")
    damping = settings["damping"]
    if damping != "average" and not (_is_number(damping) and 0 < damping <= 1):
        refuse("damping", '"average" or a number d with 0 < d <= 1')


def _reference_in_degrees(path):
    """K0 given as the name of a JSON file holding a mapping label -> K0."""
    try:
        with open(path) as f:
            return {str(k): v for k, v in json.load(f).items()}
    except (OSError, ValueError, AttributeError) as error:
        raise errors.InvalidParameterValueError(
            f"weight scaling K0 {path!r}: not a JSON file holding a mapping label -> K0 "
            f"({error})") from None


def _check_table(name, table, positive):
    """K0 or rates: None, a finite number (> 0 for K0, >= 0 for rates), a mapping of such
    numbers, or a callable (its results are checked when used)."""
    values = list(table.values()) if isinstance(table, Mapping) else [table]
    if table is None or (callable(table) and not isinstance(table, Mapping)):
        return
    for value in values:
        if not (isinstance(value, numbers.Real) and not isinstance(value, bool)
                and math.isfinite(value) and (value > 0 if positive else value >= 0)):
            raise errors.InvalidParameterValueError(
                f"weight scaling {name} must be a finite number {'> 0' if positive else '>= 0'}"
                f", a mapping of such numbers or a callable (got {value!r})")


@dataclass
class ScalingRecord:
    """What was applied to one projection (projection.scaling)."""
    policy: str                   # "mean", "balanced", "activity" or "none"
    K: float                      # mean in-degree of the projection
    K0: object = None             # reference in-degree (None for "activity" and "none")
    factor: float = 1.0           # effective / original weights (activity: ratio of means)
    dc: float = 0.0               # nA added to every post-synaptic cell for this projection
    rate: object = None           # presynaptic rate used (Hz)
    rate_source: object = None    # "given", "calibration" or None
    w0_mean: float = 0.0          # mean of the original weights (nA or uS)
    w_mean: float = 0.0           # mean of the effective weights
    synapse: str = ""             # e.g. "current/exp", "conductance/alpha"
    v_operating: object = None    # mV, conductance-based DC only
    target_fraction: object = None
    dc_source: object = field(default=None, repr=False)  # the shared DCSource, if any
    note: str = ""

    def summary(self, label=""):
        parts = [f"policy={self.policy}", f"K={self.K:.4g}"]
        if self.K0 is not None:
            parts.append(f"K0={self.K0:.4g}")
        parts.append(f"factor={self.factor:.6g}")
        if self.policy in ("balanced", "activity"):
            parts.append(f"rate={_fmt(self.rate)} Hz ({self.rate_source})")
        if self.policy == "balanced":
            parts.append(f"DC={self.dc:.6g} nA")
        if self.v_operating is not None:
            parts.append(f"V_op={self.v_operating:.4g} mV")
        if self.note:
            parts.append(self.note)
        return (f"{label}: " if label else "") + ", ".join(parts)


def _fmt(value):
    return "-" if value is None else f"{value:.4g}"


def make_policy(value):
    """setup(weight_scaling=...) -> ScalingPolicy or None (off)."""
    if value is None or value is False:
        return None
    if isinstance(value, ScalingPolicy):
        return value
    if isinstance(value, str):
        return ScalingPolicy(value)
    if isinstance(value, Mapping):
        settings = dict(value)
        if "policy" not in settings:
            raise errors.InvalidParameterValueError(
                "weight_scaling needs a 'policy' entry (" + ", ".join(POLICIES) + ")")
        try:
            return ScalingPolicy(**settings)
        except TypeError as exc:
            raise errors.InvalidParameterValueError(f"weight_scaling: {exc}") from None
    raise errors.InvalidParameterValueError(
        "weight_scaling must be None, a policy name, a dict or a ScalingPolicy "
        f"(got {value!r})")


# --- public entry points -----------------------------------------------------------------

def scale_weights(projections, policy="balanced", K0=None, rates=None, target_fraction=0.8,
                  v_operating=None, calibration=None):
    """
    Rescale the weights of one or more projections from their in-degrees; see the module
    documentation for the formulas and ScalingPolicy for the arguments. `policy` may also be
    a ScalingPolicy, or None to undo an earlier scaling (the original weights come back, the
    DC goes, and a setup-level policy leaves the projection alone from then on).

    Scaling always starts from the weights the script gave: applying it again replaces the
    earlier scaling instead of compounding it (unless the weights were set since, in which
    case the new weights are the starting point).

    Calibration runs (for rates not given) need the simulation at t = 0: call this after
    building the network and before run(), or right after reset().
    Returns the ScalingRecords, one per projection.
    """
    simulator.state.require_setup("scale_weights()")
    projections = _as_list(projections)
    simulator.state.check_current([population for p in projections for side in (p.pre, p.post)
                                   for population in distributed.populations_of(side)],
                                  "scale_weights()")
    if policy is None or policy == "none":
        records = [_unscale(p) for p in projections]
        _update_dc_sources()
        return records
    if isinstance(policy, ScalingPolicy):
        spec = policy
    else:
        spec = ScalingPolicy(policy, K0=K0, rates=rates, target_fraction=target_fraction,
                             v_operating=v_operating, calibration=calibration)
    return _apply(projections, spec, strict=True)


def apply_weight_scaling():
    """
    Apply the setup-level policy (setup(weight_scaling=...)) to every projection that has no
    scaling yet. run() calls this before simulating; call it yourself to inspect the
    effective weights before the first run. Returns the new ScalingRecords.
    """
    state = simulator.state
    spec = getattr(state, "weight_scaling", None)
    if spec is None:
        return []
    pending = [p for p in state.projections if getattr(p, "scaling", None) is None]
    if not pending:
        return []
    return _apply(pending, spec, strict=False)


def scaling_report(projections=None):
    """One line per scaled projection (all of the current network by default)."""
    if projections is None:
        projections = simulator.state.projections
    lines = []
    for p in _as_list(projections):
        record = getattr(p, "scaling", None)
        if record is not None:
            lines.append(record.summary(p.label))
    return "\n".join(lines)


# --- the formulas --------------------------------------------------------------------------

@dataclass
class _Synapse:
    """What the formulas need about the post-synaptic side, per post-synaptic cell."""
    conductance: bool
    shape: str               # "exp" or "alpha"
    charge: np.ndarray       # ms: integral of a unit-weight PSC/PSG (tau_syn or e * tau_syn)
    tau_m: np.ndarray
    cm: np.ndarray
    v_rest: np.ndarray
    v_thresh: np.ndarray
    e_rev: object            # array or None (current-based)

    @property
    def label(self):
        return ("conductance/" if self.conductance else "current/") + self.shape


def mean_factor(K0, K):
    """"mean": w = w0 * K0 / K."""
    return K0 / K


def balanced_factor(K0, K):
    """"balanced": w = w0 * sqrt(K0 / K)."""
    return math.sqrt(K0 / K)


def balanced_dc(K0, K, w0_mean, rate_hz, charge, drive=1.0):
    """
    DC (nA) restoring the mean input of the reference after "balanced" scaling:
        (K0 * w0 - K * w) * nu * Q * drive,   w = w0 sqrt(K0/K)
      = (K0 - sqrt(K0 K)) * w0 * nu * Q * drive
    w0 in nA (current-based, drive = 1) or uS (conductance-based, drive = E_rev - V_op in mV),
    nu = rate_hz / 1000 per ms, Q in ms.
    """
    return (K0 - math.sqrt(K0 * K)) * w0_mean * (rate_hz / 1000.0) * charge * drive


def activity_weight(K, rate_hz, charge, tau_m, cm, v_rest, v_thresh, fraction,
                    inhibitory=False, e_rev=None):
    """
    Weight (nA or uS) whose mean input brings v to v_rest +/- fraction * (v_thresh - v_rest).

    Current-based: mean current I = K w nu Q; steady state v - v_rest = I * tau_m / cm, so
        w = +/- fraction (v_thresh - v_rest) cm / (tau_m K nu Q)
    Conductance-based: mean conductance G = K w nu Q; steady state
        v = (g_L v_rest + G E_rev) / (g_L + G), g_L = cm / tau_m, so for the target V_t
        G = g_L (V_t - v_rest) / (E_rev - V_t),   w = G / (K nu Q)
    Arguments may be arrays (one value per post-synaptic cell).
    """
    nu = rate_hz / 1000.0
    distance = fraction * (np.asarray(v_thresh, float) - np.asarray(v_rest, float))
    if e_rev is None:
        w = distance * np.asarray(cm, float) / (np.asarray(tau_m, float) * K * nu * charge)
        return -w if inhibitory else w
    g_leak = np.asarray(cm, float) / np.asarray(tau_m, float)
    target = np.asarray(v_rest, float) + (-distance if inhibitory else distance)
    gap = np.asarray(e_rev, float) - target
    if np.any(gap * (-1 if inhibitory else 1) <= 0):
        raise errors.InvalidParameterValueError(
            "activity scaling: the target voltage is beyond the reversal potential "
            f"({'e_rev_I' if inhibitory else 'e_rev_E'}); lower target_fraction")
    G = g_leak * (target - np.asarray(v_rest, float)) / gap
    return G / (K * nu * charge)


# --- applying -------------------------------------------------------------------------------

@dataclass(eq=False)
class _Job:
    projection: object
    K: float
    K0: object
    w0: object          # the original weights: an array, or the distribution (a ValueSpec)
    synapse: object     # of a projection whose weights are generated (see _distribution)
    rate: object
    rate_source: object
    note: str = ""

    @property
    def generated(self):
        return not isinstance(self.w0, np.ndarray)


def _apply(projections, spec, strict):
    """Scale: a refused scaling (or one that fails part of the way) leaves every projection
    exactly as it was, its weights, distribution and format, generated or not."""
    state = simulator.state
    saved = [(p, _snapshot(p)) for p in projections]
    try:
        jobs = []
        for p in projections:
            job = _make_job(p, spec, strict)
            if job is not None:
                jobs.append(job)
        scaled = {id(j.projection) for j in jobs}
        for p, snapshot in saved:       # only these may have their weights written
            if id(p) in scaled:
                _keep_contents(snapshot)
        for j in jobs:      # what can be refused without the weights, before any is generated
            _check_given_rate(j, spec)
        for j in jobs:
            j.w0 = _distribution(j.projection, spec) or _original_weights(j.projection)
        missing = [j for j in jobs if _needs_rate(j, spec) and j.rate is None]
        if missing:
            if state.step != 0:
                raise errors.InvalidParameterValueError(
                    "weight scaling needs presynaptic rates for "
                    + ", ".join(str(j.projection.label) for j in missing)
                    + ": give them (rates=...) or let the calibration run measure them, which "
                    "needs the simulation at t = 0 (scale before run(), or after reset())")
            _calibrate(jobs, spec)
        records = [_finish(j, spec) for j in jobs]
    except BaseException:
        for p, snapshot in reversed(saved):
            _restore(p, snapshot)
        _update_dc_sources()
        raise
    if not jobs:
        return []
    _update_dc_sources()
    for j, record in zip(jobs, records):
        logger.info("pyNN.gpu weight scaling: %s", record.summary(j.projection.label))
    return records


def _make_job(projection, spec, strict):
    if getattr(projection, "is_gap_junction", False):
        # conductances between membranes, not spike input: the rules above do not apply
        if strict:
            raise errors.InvalidParameterValueError(
                f"gap junction weights are not scaled (projection {projection.label!r})")
        projection.scaling = ScalingRecord("none", mean_in_degree(projection),
                                           note="gap junctions are not scaled")
        return None
    K0 = None
    if spec.policy in ("mean", "balanced"):
        K0 = _lookup(spec.K0, projection, by_pre=False, name="K0")
        if K0 is None:      # left as given: nothing generated or stored to find that out
            if strict:
                raise errors.InvalidParameterValueError(
                    f"no reference in-degree K0 for projection {projection.label!r}")
            logger.info("pyNN.gpu weight scaling: no K0 for %s, weights left as given",
                        projection.label)
            projection.scaling = ScalingRecord("none", mean_in_degree(projection),
                                               note="no K0 given")
            return None
        K0 = _checked_number("K0", K0, projection, positive=True)
    K = mean_in_degree(projection)
    rate = _lookup(spec.rates, projection, by_pre=True, name="rates")
    if rate is not None:
        rate = _checked_number("rates", rate, projection)
    synapse = _synapse_info(projection) if spec.policy != "mean" else None
    # the original weights (w0) come once every job has passed its checks (_apply)
    return _Job(projection, K, K0, None, synapse, rate, "given" if rate is not None else None)


def _checked_number(name, value, projection, positive=False):
    """A K0 or rate found for a projection: a finite number, > 0 (K0) or >= 0 (rates)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and (number > 0 if positive else number >= 0)):
        raise errors.InvalidParameterValueError(
            f"weight scaling {name} must be a finite number {'> 0' if positive else '>= 0'}"
            f" (got {value!r} for projection {projection.label!r})")
    return number


def _check_given_rate(job, spec):
    """Refuse an "activity" scaling that no weight can achieve at the rate given (0 Hz, or
    a target beyond the reversal potential), before any weight is generated or changed."""
    if spec.policy == "activity" and job.rate is not None and _needs_rate(job, spec):
        _activity_target(job, spec, job.rate)


def _needs_rate(job, spec):
    if _synapse_total(job.projection) == 0 or job.K == 0:
        return False
    if spec.policy == "activity":
        return True
    return spec.policy == "balanced" and job.K0 != job.K


def _distribution(projection, spec):
    """The distribution, before any scaling, that a projection's weights are generated from,
    when scaling can scale it instead of the weights: one factor for every weight ("mean",
    "balanced") of a projection that does not learn (its weights live on the target), whose
    weights come from a generator and were not set since. Else None."""
    if spec.policy == "activity" or projection.synapse_type.model.changes_weight:
        return None
    current = projection._weight_distribution()
    if current is None:
        return None
    return projection.__dict__.get("_unscaled_distribution") or current


def _store_weights(projection, weights, unscaled=None):
    """Weights into a projection: an array into its weight array, or a distribution (with
    the unscaled one it came from) to generate them from."""
    if isinstance(weights, np.ndarray):
        projection._store_checked({"weight": weights}, np.arange(len(projection)))
        projection.__dict__.pop("_unscaled_distribution", None)     # stored from now on
        return
    projection._generate_weights_from(weights)
    projection._unscaled_distribution = unscaled


# what scaling can change of a projection (besides _version): its synapses generated on
# the host or not, its generator (the weight distribution), format and scaling state
_SCALING_STATE = ("_procedural", "_format", "_unscaled_distribution", "_generated_version",
                  "_initial_weights", "scaling", "_scaling_origin")


def _state_keys(projection):
    return type(projection)._GENERATED | set(_SCALING_STATE)


def _snapshot(projection):
    """What _restore puts back: the projection's scaling state and the arrays it holds
    (references: none are copied or generated for this); _keep_contents adds copies of
    the arrays scaling writes into, for the projections it scales."""
    held = {k: projection.__dict__[k] for k in _state_keys(projection)
            if k in projection.__dict__}
    return held, {}, projection._version


def _keep_contents(snapshot):
    held, contents, _ = snapshot
    contents.update({k: held[k].copy() for k in ("_weights", "_initial_weights") if k in held})


def _restore(projection, snapshot):
    """The projection exactly as at _snapshot: generated (or awaiting generation) from the
    same distribution, in the same format, with the same weights bit for bit."""
    held, contents, version = snapshot
    now = projection.__dict__
    changed = projection._version != version or set(held) != (_state_keys(projection) & set(now))
    changed = changed or any(not _same(now[k], value) for k, value in held.items())
    for k in _state_keys(projection):
        now.pop(k, None)
    now.update(held)
    for k, values in contents.items():
        if not np.array_equal(now[k], values):
            now[k][...] = values
            changed = True
    if changed:     # the target takes everything from the host again
        latest = max(projection._version, version) + 1
        if held.get("_generated_version") == version:
            now["_generated_version"] = latest      # still as generated
        projection._version = latest
        simulator.state.structure_changed()


def _same(a, b):
    return a is b or (isinstance(a, str) and a == b)


def _scaled(job, factor):
    """The job's original weights times factor (> 0): an array, or a scaled distribution."""
    return job.w0.scaled(factor) if job.generated else job.w0 * factor


def _mean_weight(weights):
    """The mean of weights: of an array (over all processes), or of a distribution."""
    return weights.mean if isinstance(weights, procedural.ValueSpec) else _mean(weights)


def _original_weights(projection):
    """The weights to scale from: the script's, unless they were set since the last
    scaling (then the current ones). Weights still generated from a distribution that
    scaling scaled: those the unscaled distribution gives the same synapses."""
    unscaled = projection.__dict__.get("_unscaled_distribution")
    if unscaled is not None and _weights_still_generated(projection):
        return projection._weights_generated_from(unscaled)
    saved = getattr(projection, "_scaling_origin", None)
    if saved is not None:
        w0, version, digest = saved
        if w0.shape == projection._weights.shape and (
                version == projection._version or digest == _digest(projection._weights)):
            return w0
    return projection._weights.copy()


def _weights_still_generated(projection):
    """Whether a projection's weights are those its distribution gives: generated and not
    set since (its delays or parameters may have been, which stores them)."""
    if projection._weight_distribution() is not None:
        return True
    spec, stored = projection.__dict__.get("_procedural"), projection.__dict__.get("_weights")
    return (spec is not None and stored is not None
            and np.array_equal(stored, projection._weights_generated_from(spec.weight)))


def _digest(weights):
    return hashlib.blake2b(np.ascontiguousarray(weights).tobytes(), digest_size=16).digest()


def _remember(projection, w0):
    """Keep the original weights and a fingerprint of the ones just applied."""
    projection._scaling_origin = None if w0 is None else (
        w0, projection._version, _digest(projection._weights))


def _compute(job, spec, rate, mode=None):
    """(effective weights, DC nA, factor, V_op) for a job at a presynaptic rate (Hz)."""
    policy = mode or spec.policy
    w0 = job.w0
    w0_mean = _mean_weight(w0)
    if _synapse_total(job.projection) == 0 or job.K == 0:
        return _scaled(job, 1.0), 0.0, 1.0, None
    if policy == "original":
        return _scaled(job, 1.0), 0.0, 1.0, None
    if policy == "mean":
        factor = mean_factor(job.K0, job.K)
        return _scaled(job, factor), 0.0, factor, None
    syn = job.synapse
    if policy == "balanced":
        factor = balanced_factor(job.K0, job.K)
        v_op = None
        if syn.conductance:
            v_op = _operating_voltage(syn, spec)
            drive = float(np.mean(syn.charge * (syn.e_rev - v_op)))
            charge = 1.0
            v_op = float(np.mean(v_op))
        else:
            drive, charge = 1.0, float(np.mean(syn.charge))
        dc = balanced_dc(job.K0, job.K, w0_mean, rate or 0.0, charge, drive)
        return _scaled(job, factor), dc, factor, v_op
    # activity
    target = _activity_target(job, spec, rate)
    target_per_synapse = np.broadcast_to(target, syn.charge.shape)[job.projection._post_index]
    if w0_mean != 0:
        w = w0 / w0_mean * target_per_synapse      # keeps the relative spread of the weights
    else:
        w = np.array(target_per_synapse, dtype=float)
    factor = _mean(w) / w0_mean if w0_mean != 0 else float("nan")
    return w, 0.0, factor, None


def _activity_target(job, spec, rate):
    """The "activity" weight per post-synaptic cell at a presynaptic rate (Hz), or
    InvalidParameterValueError where none can reach the target."""
    if not rate or rate <= 0:
        raise errors.InvalidParameterValueError(
            f"activity scaling of {job.projection.label!r}: the presynaptic rate is 0 Hz, "
            "so no weight can reach the target")
    syn = job.synapse
    inhibitory = job.projection.receptor_type == "inhibitory"
    return activity_weight(job.K, rate, syn.charge, syn.tau_m, syn.cm, syn.v_rest,
                           syn.v_thresh, spec.target_fraction, inhibitory,
                           syn.e_rev if syn.conductance else None)


def _operating_voltage(syn, spec):
    if spec.v_operating is None:
        return 0.5 * (syn.v_rest + syn.v_thresh)
    return np.full(syn.v_rest.shape, float(spec.v_operating))


def _set(job, spec, rate, rate_source, mode=None):
    """Write one job's weights and its (temporary or final) record."""
    w, dc, factor, v_op = _compute(job, spec, rate, mode)
    p = job.projection
    _store_weights(p, w, job.w0 if job.generated else None)
    policy = spec.policy
    record = ScalingRecord(
        policy=policy, K=job.K, K0=job.K0, factor=float(factor), dc=float(dc),
        rate=rate if policy != "mean" else None,
        rate_source=rate_source if policy != "mean" else None,
        w0_mean=_mean_weight(job.w0), w_mean=_mean_weight(w),
        synapse=job.synapse.label if job.synapse is not None else "",
        v_operating=v_op,
        target_fraction=spec.target_fraction if policy == "activity" else None)
    if mode not in (None, spec.policy):
        record.note = f"calibration stage ({mode} weights)"
    else:
        record.note = job.note
    if job.generated:
        record.note = "; ".join(filter(None, (
            record.note, "weight distribution scaled (means of the distributions)")))
    p.scaling = record
    _remember(p, None if job.generated else job.w0)
    return record


def _finish(job, spec):
    record = _set(job, spec, job.rate, job.rate_source)
    _warn_beyond_bounds(job.projection)
    return record


def _warn_beyond_bounds(projection):
    """Say so where scaling put weights of a plastic projection beyond its weight bounds
    (w_min, w_max): the rule clips them at their first update, undoing the scaling. The
    bounds are the script's to choose (they also set the step of additive rules)."""
    if not projection.synapse_type.model.changes_weight:
        return      # (plastic synapses are stored: reading them generates nothing)
    params = projection._syn_params
    if "w_max" not in params:
        return
    magnitude = np.abs(projection._weights)
    beyond = (magnitude > np.abs(params["w_max"])) | (magnitude < np.abs(params["w_min"]))
    if beyond.any():
        logger.warning(
            "pyNN.gpu weight scaling put %d of the %d weights of the plastic projection %r "
            "beyond its bounds w_min, w_max, which the rule clips them to at their first "
            "update; scale w_min and w_max too (Projection.set) to keep the scaling",
            int(beyond.sum()), beyond.size, projection.label)


def _unscale(projection):
    unscaled = projection.__dict__.get("_unscaled_distribution")
    if unscaled is not None and projection._weight_distribution() is not None:
        w0 = unscaled
        _store_weights(projection, unscaled, None)
    else:
        w0 = _original_weights(projection)
        _store_weights(projection, w0)
    _remember(projection, None)
    mean = _mean_weight(w0)
    record = ScalingRecord("none", in_degree(projection).mean, w0_mean=mean, w_mean=mean,
                           note="scaling switched off for this projection")
    projection.scaling = record
    logger.info("pyNN.gpu weight scaling: %s", record.summary(projection.label))
    return record


# --- calibration ----------------------------------------------------------------------------

def _calibrate(jobs, spec):
    """
    Measure the presynaptic rates that were not given, in short runs of the whole network
    from t = 0, and leave the network at t = 0 with the user's recording state as before.

    Rates of spike sources do not depend on the weights: one run measures them. Otherwise
    the rates wanted are those of the scaled network itself (a fixed point: the DC depends
    on the rates, the rates on the DC). "balanced": the first run uses "mean"-scaled weights
    (the reference's mean input, no DC); each later run uses the balanced weights with the
    DC of the current estimate. "activity": the first run uses the script's weights, later
    ones the derived weights. Strongly recurrent networks respond very steeply to the DC
    (a too-inhibitory DC silences them), so plain iteration oscillates; the default
    "average" damping makes the estimate the run-number-weighted average of the
    measurements (a Robbins-Monro type scheme), which settles. The last relative change is
    logged and noted in the ScalingRecords.
    """
    state = simulator.state
    settings = spec.calibration_settings()
    duration, transient = float(settings["duration"]), float(settings["transient"])
    unknown = [j for j in jobs if _needs_rate(j, spec) and j.rate is None]
    populations = _parent_populations([j.projection._pre_ids for j in unknown])
    iterations = settings["iterations"]
    if iterations is None:
        sources_only = all(pop.celltype.model.receptors == () for pop in populations)
        iterations = 1 if sources_only else 10
    iterations, damping = int(iterations), settings["damping"]
    saved = [_save_recorder(pop.recorder) for pop in populations]
    traces = _set_traces_aside()
    segment = state.segment_counter
    first_mode = "mean" if spec.policy == "balanced" else "original"
    estimates, change = {}, float("nan")
    try:
        for pop in populations:
            pop.recorder.record(["spikes"], pop.all_cells)
        for iteration in range(iterations):
            for j in jobs:
                if iteration == 0 and j in unknown:
                    _set(j, spec, None, None, mode=first_mode)
                elif j in unknown:
                    _set(j, spec, estimates[id(j)], "calibration")
                else:
                    _set(j, spec, j.rate, j.rate_source)
            _update_dc_sources()
            state.run(duration)
            counts = _spike_counts(populations, transient)
            state.reset()
            state.segment_counter = segment
            window = (duration - transient) / 1000.0
            step = 2.0 / (iteration + 2) if damping == "average" else float(damping)
            changes = []
            for j in unknown:
                measured = _mean_rate(counts, j.projection._pre_ids, window)
                old = estimates.get(id(j))
                if old is None:
                    estimates[id(j)] = measured
                else:
                    estimates[id(j)] = old + step * (measured - old)
                    changes.append(abs(measured - old) / max(old, 0.5))
            change = max(changes) if changes else float("nan")
            rates = {pop.label: per_cell.sum() / (size * window)
                     for pop, (size, per_cell) in zip(populations, counts.values())}
            logger.info("pyNN.gpu weight scaling: calibration run %d/%d (%g ms), measured %s%s",
                        iteration + 1, iterations, duration,
                        ", ".join(f"{label} {rate:.3g} Hz" for label, rate in rates.items()),
                        "" if np.isnan(change) else
                        f"; largest change against the estimate {100 * change:.0f} %")
    finally:
        for pop, snapshot in zip(populations, saved):
            _restore_recorder(pop.recorder, snapshot)
        _restore_traces(traces)
        state.segment_counter = segment
        state.structure_changed()
    for j in unknown:
        j.rate = estimates[id(j)]
        j.rate_source = "calibration"
        j.note = f"calibrated in {iterations} run(s) of {duration:g} ms" + (
            "" if np.isnan(change) else f", last change {100 * change:.0f} %")


def _save_recorder(recorder):
    return {
        "recorded": {variable: set(ids) for variable, ids in recorder.recorded.items()},
        "sampling_interval": recorder.sampling_interval,
        "spike_chunks": list(recorder._spike_chunks),
        "sample_chunks": {k: list(v) for k, v in recorder._sample_chunks.items()},
        "sampled": dict(recorder._sampled),     # arrays replaced, never changed in place
        "spikes_from": dict(recorder._spikes_from),
        "clear_flag": recorder.clear_flag,
    }


def _restore_recorder(recorder, snapshot):
    recorder.recorded.clear()
    for variable, ids in snapshot["recorded"].items():
        recorder.recorded[variable] = ids
    recorder.sampling_interval = snapshot["sampling_interval"]
    recorder._spike_chunks = snapshot["spike_chunks"]
    recorder._sample_chunks = snapshot["sample_chunks"]
    recorder._sampled = snapshot["sampled"]
    recorder._spikes_from = snapshot["spikes_from"]
    recorder.clear_flag = snapshot["clear_flag"]


def _set_traces_aside():
    """Give every current source an empty trace for the calibration runs (they would add
    to the segment's trace, which keeps its number), and return the sources' own."""
    saved = {}
    for source, _, _ in simulator.state.current_sources:
        if id(source) not in saved:
            saved[id(source)] = (source, source._trace)
            object.__setattr__(source, "_trace", CurrentTrace())
    return list(saved.values())


def _restore_traces(saved):
    for source, trace in saved:
        object.__setattr__(source, "_trace", trace)


def _parent_populations(id_arrays):
    ids = np.unique(np.concatenate(id_arrays)) if id_arrays else np.zeros(0, np.int64)
    found = []
    for population in simulator.state.populations:
        first = int(population.first_id)
        if np.any((ids >= first) & (ids < first + population.size)):
            found.append(population)
    return found


def _spike_counts(populations, transient):
    counts = {}
    for population in populations:
        indices, times = population.recorder._all_spikes()
        keep = times > transient
        # each process records its own cells
        counts[int(population.first_id)] = (population.size, _all_processes(np.bincount(
            indices[keep], minlength=population.size)))
    return counts


def _mean_rate(counts, ids, window_s):
    total = 0
    for first, (size, per_cell) in counts.items():
        inside = (ids >= first) & (ids < first + size)
        total += int(per_cell[ids[inside] - first].sum())
    return total / (len(ids) * window_s) if len(ids) else 0.0


# --- DC compensation ------------------------------------------------------------------------

def _cells_key(cells):
    ids = np.ascontiguousarray(np.asarray(cells.all_cells, dtype=np.int64))
    return hashlib.sha1(ids.tobytes()).hexdigest()


def _update_dc_sources():
    """One DCSource per post-synaptic cell set, carrying the sum of the DCs of the
    "balanced" projections onto it; removed when no such projection is left."""
    from .standardmodels.electrodes import DCSource
    state = simulator.state
    registry = state.__dict__.setdefault("_scaling_dc_sources", {})
    live = {id(source) for source, _, _ in state.current_sources}
    for key in [k for k, s in registry.items() if id(s) not in live]:
        del registry[key]              # setup() discarded it
    totals, cells = {}, {}
    for p in state.projections:
        record = getattr(p, "scaling", None)
        if record is not None and record.policy == "balanced":
            key = _cells_key(p.post)
            totals[key] = totals.get(key, 0.0) + record.dc
            cells[key] = p.post
    for key, total in totals.items():
        source = registry.get(key)
        if source is None:
            source = DCSource(amplitude=total, start=0.0)
            source.inject_into(cells[key])
            registry[key] = source
        elif float(source._native["amplitude"]) != total:
            source.set_parameters(amplitude=total)
    for key in [k for k in registry if k not in totals]:
        source = registry.pop(key)
        state.current_sources = [entry for entry in state.current_sources
                                 if entry[0] is not source]
        state.structure_changed()
    for p in state.projections:
        record = getattr(p, "scaling", None)
        if record is not None:
            record.dc_source = registry.get(_cells_key(p.post)) \
                if record.policy == "balanced" else None


# --- helpers ----------------------------------------------------------------------------------

def _as_list(projections):
    if isinstance(projections, (list, tuple, set)):
        return list(projections)
    return [projections]


def _lookup(table, projection, by_pre, name):
    """A value for a projection from a number, a callable or a mapping (option `name`)."""
    if table is None:
        return None
    if isinstance(table, numbers.Real):
        return float(table)
    if callable(table) and not isinstance(table, Mapping):
        return table(projection)
    if not isinstance(table, Mapping):
        raise errors.InvalidParameterValueError(
            f"weight scaling {name} must be a number, a mapping or a callable "
            f"(got {table!r})")
    keys = [projection, projection.label]
    if by_pre:
        pre = projection.pre
        keys += [pre, getattr(pre, "label", None)]
        parent = getattr(pre, "grandparent", None)
        if parent is not None:
            keys += [parent, parent.label]
    for key in keys:
        if key is None:
            continue
        for candidate, value in table.items():
            if candidate is key or (isinstance(key, str) and isinstance(candidate, str)
                                    and candidate == key):
                return value
    return None


_CELL_PARAMETERS = ("tau_m", "cm", "v_rest", "v_thresh")


def _synapse_info(projection):
    receptor = projection.receptor_type
    if receptor not in ("excitatory", "inhibitory"):
        raise errors.InvalidParameterValueError(
            f"weight scaling knows excitatory and inhibitory receptors (got {receptor!r})")
    suffix = "E" if receptor == "excitatory" else "I"
    ids = projection._post_ids
    kinds = set()
    values = {}
    names = _CELL_PARAMETERS + (f"tau_syn_{suffix}",)
    for population in simulator.state.populations:
        first = int(population.first_id)
        inside = (ids >= first) & (ids < first + population.size)
        if not inside.any():
            continue
        celltype = population.celltype
        conductance = bool(getattr(celltype, "conductance_based", False))
        shape = "alpha" if "alpha" in type(celltype).__name__.lower() else "exp"
        kinds.add((conductance, shape))
        wanted = names + ((f"e_rev_{suffix}",) if conductance else ())
        known = celltype.get_parameter_names()
        lacking = [n for n in wanted if n not in known]
        if lacking:
            raise errors.InvalidParameterValueError(
                f"weight scaling needs the parameters {', '.join(lacking)} of "
                f"{type(celltype).__name__} ({population.label})")
        for name in wanted:
            column = values.setdefault(name, np.full(len(ids), np.nan))
            data = np.broadcast_to(population.parameter_values(name), (population.size,))
            column[inside] = data[ids[inside] - first]
    if len(kinds) != 1:
        raise errors.InvalidParameterValueError(
            f"weight scaling of {projection.label!r}: the post-synaptic cells mix synapse kinds")
    conductance, shape = kinds.pop()
    tau = values[f"tau_syn_{suffix}"]
    return _Synapse(conductance=conductance, shape=shape,
                    charge=tau * (math.e if shape == "alpha" else 1.0),
                    tau_m=values["tau_m"], cm=values["cm"], v_rest=values["v_rest"],
                    v_thresh=values["v_thresh"],
                    e_rev=values.get(f"e_rev_{suffix}") if conductance else None)


__all__ = ["InDegree", "ScalingPolicy", "ScalingRecord", "apply_weight_scaling",
           "expected_in_degree", "in_degree", "make_policy", "reference_in_degrees",
           "scale_weights", "scaling_report", "mean_factor", "balanced_factor", "balanced_dc",
           "activity_weight"]
