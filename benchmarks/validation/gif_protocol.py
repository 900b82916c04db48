"""
The GIF_cond_exp protocol of the validation suite, for any PyNN backend, and its statistics
(numpy only: the reference side, make_gif_reference.py, runs where scipy is not installed).

GIF_cond_exp fires at random (escape noise), so a single neuron cannot be compared spike by
spike as in gallery.py. Instead N independent neurons with the same parameters get the same
input, and the distribution of what they do is compared:

* 0-100 ms nothing (the neurons sit at rest, where the firing intensity is ~1e-4 Hz);
* 100-500 ms a step current of STEPS[0] nA: the neurons fire together at first and
  desynchronise, the interval between spikes grows as eta and gamma build up (adaptation);
* 500-800 ms nothing: the kernels decay (gamma_3 and eta_3, 100 ms, to 5 %);
* 800-1200 ms a weaker step, STEPS[1] nA; then 100 ms of nothing.

Parameters (PARAMETERS): PyNN's defaults except a threshold sharpness delta_v of 2 mV
instead of 0.5 mV, so that the escape noise matters (with 0.5 mV the spike times are nearly
deterministic: the first spike jitters by about 1 ms), and kernel amplitudes that adapt
clearly but let the neuron fire 5-10 times per step (PyNN's default a_eta of 1 nA per kernel
stops the neuron after 2-3 spikes). The time constants of the kernels are PyNN's.

Statistics (statistics()), all from the spike times:

* psth: spike counts of all neurons in BIN_MS bins over the run;
* count_<phase>: spikes per neuron in each step (rate = mean / duration);
* latency_<phase>: time of each neuron's first spike after the step's onset;
* isi<k>_<phase>: the k-th interval (k = 1..N_ORDER) after the step's onset, per neuron
  (NaN where a neuron fired fewer than k + 1 spikes in the step);
* cv_<phase>: per neuron, std/mean of the intervals in the step's last ADAPTED_MS
  (NaN with fewer than MIN_ISIS intervals there).

The synaptic case (build_synaptic(), SYNAPTIC): the same neurons without step currents, each
driven through its conductance-based exponential synapses by its own excitatory and
inhibitory input, Bernoulli trains on the DT grid (Poisson-like) at SYN_RATES from
SYN_START to SYN_STOP, generated with numpy from (seed, neuron, kind) by input_trains() and
given to the simulator as SpikeSourceArrays, so that both simulators see the same input
spike for spike and any subset of the first n neurons is the same whatever n is. Its
statistics are statistics(..., SYNAPTIC) over one phase, "syn" (the whole input period), with
the CV taken over the phase's last SYNAPTIC["adapted_ms"], plus, from the first N_V neurons,
the mean membrane potential over the phase (vmean_syn, spikes and resets included).
"""

import numpy as np

DT = 0.1                       # ms
T_STOP = 1300.0                # ms
STEPS = (2.0, 1.5)             # nA
PHASES = {"step1": (100.0, 500.0), "step2": (800.0, 1200.0)}
BIN_MS = 10.0
N_ORDER = 6                    # intervals by order compared: 1st..6th after onset
ADAPTED_MS = 200.0             # the last part of each step, for the CV
MIN_ISIS = 3

PARAMETERS = dict(
    v_rest=-65.0, cm=1.0, tau_m=20.0, tau_refrac=4.0, tau_syn_E=5.0, tau_syn_I=5.0,
    e_rev_E=0.0, e_rev_I=-70.0, v_reset=-65.0, i_offset=0.0,
    delta_v=2.0,               # PyNN: 0.5
    v_t_star=-48.0, lambda0=1.0,
    tau_eta=[1.0, 10.0, 100.0], a_eta=[0.2, 0.2, 0.1],            # PyNN: a_eta 1, 1, 1
    tau_gamma=[1.0, 10.0, 100.0], a_gamma=[2.0, 2.0, 2.0],        # PyNN: a_gamma 1, 1, 1
)


# the synaptic case: input, weights (uS) and what statistics() compares
SYN_START, SYN_STOP = 100.0, 1100.0       # ms
SYN_RATES = {"excitatory": 800.0, "inhibitory": 200.0}          # Hz, per neuron
SYN_WEIGHTS = {"excitatory": 0.010, "inhibitory": 0.012}        # uS
SYN_DELAY = 1.0                           # ms
SYN_SEED = 11                             # of the input trains, the same for both simulators
N_V = 200                                 # neurons whose v is recorded
SYNAPTIC = {"phases": {"syn": (SYN_START, SYN_STOP)}, "t_stop": SYN_STOP + 100.0,
            "adapted_ms": 800.0}


def input_trains(n, kind, seed=SYN_SEED):
    """Spike times (ms) of the `kind` input of neurons 0..n-1: at each step of DT in
    [SYN_START, SYN_STOP) a spike with probability rate * DT (geometric gaps), on the 0.1 ms
    grid whatever DT is, so that the input does not depend on the simulator's step."""
    grid = 0.1
    p = SYN_RATES[kind] * grid / 1000.0
    first, last = int(round(SYN_START / grid)), int(round(SYN_STOP / grid))
    code = {"excitatory": 0, "inhibitory": 1}[kind]
    trains = []
    for i in range(n):
        rng = np.random.default_rng([seed, i, code])
        gaps = rng.geometric(p, size=int((last - first) * p * 1.5) + 100)
        steps = first - 1 + np.cumsum(gaps)
        assert steps[-1] >= last
        trains.append(np.round(steps[steps < last] * grid, 10))
    return trains


def build_synaptic(sim, n, parameters=None, record_v=True, seed=SYN_SEED):
    """The synaptic case for `n` neurons (after setup()); returns the population, which
    records spikes (and v of its first N_V neurons)."""
    from pyNN.parameters import Sequence
    cells = sim.Population(n, sim.GIF_cond_exp(**(parameters or PARAMETERS)), label="gif")
    for kind in ("excitatory", "inhibitory"):
        trains = input_trains(n, kind, seed)
        source = sim.Population(n, sim.SpikeSourceArray(
            spike_times=[Sequence(t) for t in trains]), label=kind[:3])
        sim.Projection(source, cells, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=SYN_WEIGHTS[kind], delay=SYN_DELAY),
                       receptor_type=kind)
    cells.record("spikes")
    if record_v:
        cells[:min(N_V, n)].record("v")
    return cells


def vmean(signal, times):
    """Per neuron, the mean of v (mV; times x neurons) over the synaptic phase."""
    start, stop = SYNAPTIC["phases"]["syn"]
    inside = (times > start + 1e-9) & (times <= stop + 1e-9)
    return np.asarray(signal)[inside].mean(axis=0)


def build(sim, n, parameters=None):
    """The protocol for `n` neurons in `sim` (after setup()); returns the population, which
    records spikes (pyNN.neuron's GIF_cond_exp cannot: see make_gif_reference.py)."""
    cells = sim.Population(n, sim.GIF_cond_exp(**(parameters or PARAMETERS)), label="gif")
    for amplitude, (start, stop) in zip(STEPS, PHASES.values()):
        sim.DCSource(amplitude=amplitude, start=start, stop=stop).inject_into(cells)
    cells.record("spikes")
    return cells


def to_steps(trains):
    """Spike times (ms, on the DT grid) -> integer step numbers, one array per neuron."""
    return [np.rint(np.asarray(t, dtype=float) / DT).astype(np.int64) for t in trains]


def statistics(step_trains, protocol=None):
    """The statistics above from spike times given as step numbers (to_steps()), one array
    per neuron; `protocol` (SYNAPTIC) replaces PHASES, T_STOP and ADAPTED_MS. Returns a dict
    of numpy arrays."""
    protocol = protocol or {}
    phases = protocol.get("phases", PHASES)
    adapted_ms = protocol.get("adapted_ms", ADAPTED_MS)
    trains = [np.asarray(t) * DT for t in step_trains]
    edges = np.arange(0.0, protocol.get("t_stop", T_STOP) + 0.5 * BIN_MS, BIN_MS)
    # bins hold (t0, t0 + BIN_MS]: a spike at the end of a step belongs to that step
    stats = {"psth": np.histogram(np.concatenate(trains) - 1e-6, edges)[0].astype(np.int64)
             if trains else np.zeros(len(edges) - 1, dtype=np.int64)}
    for phase, (start, stop) in phases.items():
        inside = [t[(t > start) & (t <= stop)] for t in trains]
        stats[f"count_{phase}"] = np.array([len(t) for t in inside], dtype=np.int64)
        stats[f"latency_{phase}"] = np.array([t[0] - start if len(t) else np.nan
                                              for t in inside])
        for k in range(1, N_ORDER + 1):
            stats[f"isi{k}_{phase}"] = np.array([t[k] - t[k - 1] if len(t) > k else np.nan
                                                 for t in inside])
        cvs = []
        for t in inside:
            isis = np.diff(t[t > stop - adapted_ms])
            cvs.append(isis.std() / isis.mean() if len(isis) >= MIN_ISIS else np.nan)
        stats[f"cv_{phase}"] = np.array(cvs)
    return stats


def summary(stats, protocol=None):
    """Readable means of statistics(): rates in Hz, intervals in ms."""
    out = {}
    for phase, (start, stop) in (protocol or {}).get("phases", PHASES).items():
        counts = stats[f"count_{phase}"]
        out[phase] = {
            "rate_hz": float(counts.mean() / (stop - start) * 1000.0),
            "latency_ms": float(np.nanmean(stats[f"latency_{phase}"])),
            "mean_isi_by_order_ms": [float(np.nanmean(stats[f"isi{k}_{phase}"]))
                                     for k in range(1, N_ORDER + 1)],
            "cv_isi_adapted": float(np.nanmean(stats[f"cv_{phase}"]))}
        if f"vmean_{phase}" in stats:
            out[phase]["vmean_mV"] = float(np.mean(stats[f"vmean_{phase}"]))
    return out
