"""
The STDP-window protocol of the validation suite, for any PyNN backend, and its analysis
(numpy only: the reference side, make_stdp_reference.py, runs in NEURON's environment).

STDPMechanism(SpikePairRule, AdditiveWeightDependence) on independent pre -> post pairs. Each
synapse has its own presynaptic SpikeSourceArray and its own postsynaptic IF_curr_exp cell,
which a second SpikeSourceArray (the "drive", a strong fast input) makes fire at chosen
times; the plastic weights are small (W0 = 0.5 nA against a drive of DRIVE_WEIGHT nA), so
they cannot move the postsynaptic spikes. Synapse i of a group pairs one presynaptic with one
postsynaptic spike at a time difference DELTAS[i] *at the synapse*, REPEATS times, PERIOD ms
apart (much longer than tau: the repetitions are independent), and a last presynaptic spike
FLUSH_AFTER ms after the last pairing, far from any postsynaptic spike, applies pending
potentiation in simulators that apply it lazily at the next presynaptic spike (pyNN.neuron
does, as NEST does; pyNN.gpu applies it at once).

Time difference at the synapse. With a dendritic delay fraction f and delay d, a
presynaptic spike emitted at t_pre meets the synapse at t_pre + (1 - f) d and a
postsynaptic spike emitted at t_post at t_post + f d (pyNN.gpu and pyNN.neuron agree on
this), so

    dt_syn = t_post - t_pre + (2 f - 1) d.

Two groups, f = 1 (the default of PyNN, NEST and pyNN.gpu: the whole delay dendritic) and
f = 0 (the whole delay axonal), each with DELTAS of -50..50 ms in 2.5 ms steps and +-DT
(0 included: how simultaneous spikes pair is a convention, analysed apart).

analytic_dw() computes the additive rule's change from recorded spike times:

    dw = w_max * ( sum_{dt_syn > 0} A_plus  exp(-dt_syn / tau_plus)
                 - sum_{dt_syn < 0} A_minus exp( dt_syn / tau_minus) )

over all pairs of presynaptic and postsynaptic spikes of the synapse; pairs with dt_syn = 0
are counted apart (coincident()).

Other weight dependences (DEPENDENCES): the same groups with MultiplicativeWeightDependence
or GutigWeightDependence in place of the additive one. Their change depends on the weight at
each update, so it has no closed form: rule_weight() replays the updates spike by spike, in
either simulator's convention (pyNN.gpu's formula and order, or that of pyNN.neuron's
StdwaSoft / StdwaGuetig mechanisms, which differ; see rule_weight()).
"""

import numpy as np

DT = 0.1                               # ms
DELAY = 1.0                            # ms, plastic synapses
DRIVE_DELAY = 0.1                      # ms, drive -> postsynaptic cell
DRIVE_WEIGHT = 200.0                   # nA
LATENCY = 0.1                          # ms, drive spike -> postsynaptic spike (nominal)
CELL = dict(cm=1.0, tau_m=20.0, v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0,
            tau_syn_E=0.5, tau_syn_I=0.5, tau_refrac=5.0, i_offset=0.0)
TIMING = dict(tau_plus=20.0, tau_minus=20.0, A_plus=0.01, A_minus=0.012)
WEIGHT_DEPENDENCE = dict(w_min=0.0, w_max=1.0)     # nA
# name -> (PyNN class, parameters); "additive" is the original protocol (WEIGHT_DEPENDENCE).
# gutig_wmax2 has w_max - w_min = 2 nA, where pyNN.gpu's and pyNN.neuron's formulas differ.
DEPENDENCES = {
    "additive": ("AdditiveWeightDependence", WEIGHT_DEPENDENCE),
    "multiplicative": ("MultiplicativeWeightDependence", dict(w_min=0.0, w_max=1.0)),
    "gutig": ("GutigWeightDependence", dict(w_min=0.0, w_max=1.0, mu_plus=0.5, mu_minus=0.5)),
    "gutig_wmax2": ("GutigWeightDependence",
                    dict(w_min=0.0, w_max=2.0, mu_plus=0.5, mu_minus=0.5)),
    # additive potentiation, multiplicative depression (Gutig with mu_plus 0, mu_minus 1)
    "mixed": ("AdditivePotentiationMultiplicativeDepression", dict(w_min=0.0, w_max=1.0)),
}
W0 = 0.5                               # nA, initial plastic weight
# ms, at the synapse: -50..50 in 2.5 ms steps, and one step either side of 0
DELTAS = np.round(np.sort(np.append(np.arange(-50.0, 50.0 + 1e-9, 2.5), [-DT, DT])), 10)
FRACTIONS = (1.0, 0.0)                 # dendritic_delay_fraction of the two groups
REPEATS = 5
FIRST = 100.0                          # ms, first drive spike
PERIOD = 300.0                         # ms between repetitions
FLUSH_AFTER = 250.0                    # ms after the last drive spike
T_STOP = FIRST + (REPEATS - 1) * PERIOD + FLUSH_AFTER + 50.0


def on_grid(t):
    return np.round(np.asarray(t, dtype=float) / DT) * DT


def schedule(f):
    """Spike times of the sources of the group with fraction f: (pre, drive), each a list of
    arrays, one per synapse (on the DT grid)."""
    drive = on_grid(FIRST + PERIOD * np.arange(REPEATS))
    t_post = drive + DRIVE_DELAY + LATENCY
    pre, drives = [], []
    for delta in DELTAS:
        times = on_grid(t_post + (2 * f - 1) * DELAY - delta)
        flush = on_grid(drive[-1] + FLUSH_AFTER)
        pre.append(np.append(times, flush))
        drives.append(drive.copy())
    return pre, drives


def tag(f, dependence="additive"):
    """The suffix of a group's arrays in the reference files."""
    return f"f{f:g}" if dependence == "additive" else f"{dependence}_f{f:g}"


def build(sim, f, cell_type=None, dependence="additive", parameters=None):
    """One group (fraction f, weight dependence `dependence` of DEPENDENCES, its parameters
    replaced by `parameters` if given) in `sim` (after setup()): returns (pre, post,
    projection); the postsynaptic cells record spikes."""
    from pyNN.parameters import Sequence
    pre_times, drive_times = schedule(f)
    n = len(DELTAS)
    cls, default = DEPENDENCES[dependence]
    parameters = dict(default if parameters is None else parameters)
    cell_type = cell_type or sim.IF_curr_exp(**CELL)
    post = sim.Population(n, cell_type, label=f"post {tag(f, dependence)}")
    post.initialize(v=CELL["v_rest"])
    pre = sim.Population(n, sim.SpikeSourceArray(spike_times=[Sequence(t) for t in pre_times]),
                         label=f"pre {tag(f, dependence)}")
    drive = sim.Population(n, sim.SpikeSourceArray(spike_times=[Sequence(t) for t in drive_times]),
                           label=f"drive {tag(f, dependence)}")
    sim.Projection(drive, post, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=DRIVE_WEIGHT, delay=DRIVE_DELAY),
                   receptor_type="excitatory")
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(**TIMING),
                             weight_dependence=getattr(sim, cls)(**parameters),
                             dendritic_delay_fraction=f, weight=W0, delay=DELAY)
    projection = sim.Projection(pre, post, sim.OneToOneConnector(), stdp,
                                receptor_type="excitatory")
    post.record("spikes")
    pre.record("spikes")
    return pre, post, projection


def read(pre, post, projection):
    """(pre spike trains, post spike trains, final weights) of a group after the run, the
    weights in the order of DELTAS."""
    def trains(population):
        segment = population.get_data("spikes").segments[0]
        ordered = sorted(segment.spiketrains, key=lambda s: s.annotations["source_index"])
        return [np.asarray(s.magnitude, dtype=float) for s in ordered]
    weights = np.full(len(DELTAS), np.nan)
    for i, j, w in projection.get("weight", format="list"):
        assert int(i) == int(j)
        weights[int(i)] = w
    return trains(pre), trains(post), weights


def pair_differences(t_pre, t_post, f):
    """All dt_syn = (t_post + f d) - (t_pre + (1 - f) d) of one synapse, rounded to the
    grid's resolution (1e-6 ms)."""
    a = np.asarray(t_pre, dtype=float) + (1 - f) * DELAY
    b = np.asarray(t_post, dtype=float) + f * DELAY
    return np.round((b[None, :] - a[:, None]).ravel(), 6)


def analytic_dw(t_pre, t_post, f, timing=TIMING, w_max=WEIGHT_DEPENDENCE["w_max"]):
    """The additive rule's change of one synapse's weight from its spike times (pairs with
    dt_syn = 0 left out; no clipping)."""
    d = pair_differences(t_pre, t_post, f)
    plus = d[d > 0]
    minus = d[d < 0]
    return w_max * (timing["A_plus"] * np.exp(-plus / timing["tau_plus"]).sum()
                    - timing["A_minus"] * np.exp(minus / timing["tau_minus"]).sum())


def coincident(t_pre, t_post, f):
    """Number of pairs of one synapse that meet it in the same instant (dt_syn = 0)."""
    return int(np.count_nonzero(pair_differences(t_pre, t_post, f) == 0))


def nominal_dt(t_pre, t_post, f):
    """The time difference at the synapse of each pairing: for each postsynaptic spike the
    nearest presynaptic one (the median over repetitions)."""
    a = np.asarray(t_pre, dtype=float) + (1 - f) * DELAY
    b = np.asarray(t_post, dtype=float) + f * DELAY
    if not len(a) or not len(b):
        return np.nan
    d = b[:, None] - a[None, :]
    return float(np.median(d[np.arange(len(b)), np.argmin(np.abs(d), axis=1)]))


def rule_weight(t_pre, t_post, f, dependence, convention, timing=TIMING, parameters=None):
    """The final weight of one synapse, replaying its rule spike by spike from its spike
    times (events ordered by their time at the synapse; pairs with dt_syn = 0 not paired),
    all-to-all traces, from W0. `convention`:

    "gpu" (pyNN.gpu): each spike updates the weight at once, with R = w_max - w_min,
        post: w += A_plus  R ((w_max - w) / R)^mu_plus  K_pre,   clipped to w_max
        pre:  w -= A_minus R ((w - w_min) / R)^mu_minus K_post,  clipped to w_min
    with K_pre = sum exp(-dt / tau_plus) over earlier presynaptic spikes (K_post likewise);
    multiplicative: mu_plus = mu_minus = 1.

    "neuron" (pyNN.neuron's StdwaSoft / StdwaGuetig, allow_update_on_post = 0): the change is
    accumulated in deltaw and added to the weight at presynaptic spikes only, no clipping:
        post: deltaw += A_plus  (w_max - w)^mu_plus  K_pre
        pre:  deltaw -= A_minus (w - w_min)^mu_minus K_post;  w += deltaw;  deltaw = 0
    (StdwaSoft: mu = 1; it also sets w = 0 where w <= 0 before adding, irrelevant here;
    AdditivePotentiationMultiplicativeDepression is StdwaGuetig with mu_plus = 0, mu_minus = 1
    in pyNN.neuron, and these exponents in pyNN.gpu's formula). So
    (1) Gutig's factor is not normalised by R: it is R^(mu - 1) times pyNN.gpu's, and (2) the
    depression at a presynaptic spike is computed on the weight *before* the potentiation of
    the postsynaptic spikes since the previous presynaptic one is added.
    """
    cls, default = DEPENDENCES[dependence]
    p = dict(default if parameters is None else parameters)
    mu_plus, mu_minus = {"MultiplicativeWeightDependence": (1.0, 1.0),
                         "AdditivePotentiationMultiplicativeDepression": (0.0, 1.0)}.get(
        cls, (p.get("mu_plus"), p.get("mu_minus")))
    w_min, w_max = p["w_min"], p["w_max"]
    r = w_max - w_min
    a = np.asarray(t_pre, dtype=float) + (1 - f) * DELAY
    b = np.asarray(t_post, dtype=float) + f * DELAY
    events = sorted([(round(t, 6), 0) for t in a] + [(round(t, 6), 1) for t in b])
    w, pending = W0, 0.0
    pres, posts = [], []
    for t, is_post in events:
        if is_post:
            k = sum(np.exp(-(t - s) / timing["tau_plus"]) for s in pres if s < t)
            if convention == "gpu":
                w = min(w + timing["A_plus"] * r * ((w_max - w) / r) ** mu_plus * k, w_max)
            else:
                pending += timing["A_plus"] * (w_max - w) ** mu_plus * k
            posts.append(t)
        else:
            k = sum(np.exp(-(t - s) / timing["tau_minus"]) for s in posts if s < t)
            if convention == "gpu":
                w = max(w - timing["A_minus"] * r * ((w - w_min) / r) ** mu_minus * k, w_min)
            else:
                pending -= timing["A_minus"] * (w - w_min) ** mu_minus * k
                w, pending = w + pending, 0.0
            pres.append(t)
    return w


def analyse(trains_pre, trains_post, weights, f, dependence="additive", convention="gpu"):
    """Per synapse of a group: measured dw, analytic dw (additive: analytic_dw(); otherwise
    rule_weight() - W0 in the given convention), coincident pairs, post spike counts, the
    measured dt_syn."""
    if dependence == "additive":
        analytic = [analytic_dw(a, b, f) for a, b in zip(trains_pre, trains_post)]
    else:
        analytic = [rule_weight(a, b, f, dependence, convention) - W0
                    for a, b in zip(trains_pre, trains_post)]
    return dict(
        dw=np.asarray(weights, dtype=float) - W0,
        analytic=np.array(analytic),
        coincident=np.array([coincident(a, b, f) for a, b in zip(trains_pre, trains_post)]),
        post_spikes=np.array([len(b) for b in trains_post]),
        dt_syn=np.array([nominal_dt(a, b, f) for a, b in zip(trains_pre, trains_post)]),
    )


def flatten_trains(trains):
    """Spike trains -> (times, index) arrays, for storage."""
    times = np.concatenate([np.asarray(t, dtype=float) for t in trains]) if trains else np.zeros(0)
    index = np.concatenate([np.full(len(t), i, dtype=np.int32) for i, t in enumerate(trains)])
    return times, index


def unflatten_trains(times, index, n):
    return [np.asarray(times)[np.asarray(index) == i] for i in range(n)]
