"""
The Potjans & Diesmann (2014) cortical microcircuit as a PyNN script, at any scale, with the
optional weight scaling of pyNN.gpu.

Model (Potjans & Diesmann 2014, Cereb Cortex 24:785; parameters as in the NEST example
pynest/examples/Potjans_2014):
  * 8 populations L2/3e, L2/3i, L4e, L4i, L5e, L5i, L6e, L6i of IF_curr_exp neurons,
    77,169 neurons at full scale; tau_m 10 ms, cm 250 pF, tau_syn 0.5 ms, t_ref 2 ms,
    v_rest = v_reset = -65 mV, v_thresh = -50 mV.
  * Full-scale synapse numbers from the connection probabilities C (Table 5 of the paper),
    K_total = ln(1 - C) / ln(1 - 1 / (N_pre N_post)); in-degree K = K_total / N_post.
    Built here with FixedProbabilityConnector(p), p = K / N_pre at the simulated scale
    (the Bernoulli equivalent of the paper's multapse-allowing fixed total number, which
    keeps the same mean in-degree and builds in a few vectorised numpy operations); where
    p would exceed 1 (few neurons, many synapses), FixedNumberPreConnector(round(K)) with
    multapses.
  * Weights: 87.81 pA (0.15 mV PSP), normal with 10 % relative s.d., sign-preserving
    clipping; inhibitory g = -4; L4e -> L2/3e doubled. Delays: normal, 1.5 ms (exc) and
    0.75 ms (inh), relative s.d. 0.5, clipped below at dt.
  * External (cortico-cortical) drive, --drive pool (default): K_ext * k Poisson inputs at
    8 Hz per neuron, drawn with probability --ext-p (0.1) from one pool of SpikeSourcePoisson
    (pyNN.gpu's SpikeSourcePoisson emits at most one spike per 0.1 ms step, so one source per
    neuron at 8 * K_ext = 12-23 kHz is not possible; inputs shared through the pool are the
    price). The external in-degree is scaled with --k-scale, as in the NEST example, and the
    external projections are scaled like the recurrent ones.
    --drive dc: the DC equivalent I = K_ext * 8 Hz * 87.81 pA * tau_syn instead (the NEST
    example's DC option). With a noiseless drive, "balanced" downscaling turns the silent
    state into a fixed point (the DC replaces the mean recurrent inhibition, which a silent
    network does not produce), and downscaled networks fall silent: use the pool.
  * Initial membrane potentials: the population-specific normal distributions of the NEST
    example's 'optimized' initial conditions.

--scale scales the neuron numbers, --k-scale the in-degrees (default: same as --scale).
--scaling balanced rescales the weights of all projections (recurrent and external) with
pyNN.gpu.scale_weights against the in-degrees of the reference configuration
(--reference-k-scale times the full-scale in-degrees, default 1): w = w0 sqrt(K0/K), plus a
DC per population restoring the reference mean input,
with presynaptic rates from --rates (calibrate: measured by pyNN.gpu in short calibration
runs; nest: the NEST example's full-scale rates; or a JSON file {population: Hz}).

    python benchmarks/microcircuit.py --scale 0.1 --scaling balanced             # calibrated
    python benchmarks/microcircuit.py --scale 0.1 --scaling balanced --rates nest
    python benchmarks/microcircuit_scaling.py run && ... report   # the whole comparison
"""

import argparse
import json
import logging
import math
import sys
import time

import numpy as np
from pyNN.random import NumpyRNG, RandomDistribution

import pynn_gpu as sim

POPULATIONS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
N_FULL = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
# connection probabilities, [target, source] in POPULATIONS order (Potjans & Diesmann 2014)
CONN_PROBS = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443],
])
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
BG_RATE = 8.0                       # Hz
V0_MEAN = np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43])
V0_SD = np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48])
# full-scale rates of the NEST 3 reference implementation (network_params.py,
# 'full_mean_rates'); the NEST 2 example lists 0.971 2.868 4.746 5.396 8.142 9.078 0.991 7.523
NEST_FULL_RATES = np.array([0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829])

NEURON = dict(tau_m=10.0, cm=0.25, v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0,
              tau_refrac=2.0, tau_syn_E=0.5, tau_syn_I=0.5)
PSP_E = 0.15                        # mV
G = -4.0
W_REL_SD = 0.1
DELAY_E, DELAY_I, DELAY_REL_SD = 1.5, 0.75, 0.5
DT = 0.1


def psc_from_psp(psp, tau_m=10.0, tau_s=0.5, cm=0.25):
    """Current amplitude (nA) of an exponential PSC whose PSP peaks at `psp` mV."""
    t_peak = math.log(tau_m / tau_s) * tau_m * tau_s / (tau_m - tau_s)
    shape = tau_m * tau_s / (tau_m - tau_s) * (math.exp(-t_peak / tau_m)
                                                 - math.exp(-t_peak / tau_s))
    return psp * cm / shape


def full_in_degrees():
    """K[target, source] of the full-scale model: synapse numbers / N_target."""
    prod = np.outer(N_FULL, N_FULL).astype(float)
    with np.errstate(divide="ignore"):
        total = np.log(1.0 - CONN_PROBS) / np.log((prod - 1.0) / prod)
    return total / N_FULL[:, None]


def build(scale, k_scale, seed, drive="pool", ext_p=0.1):
    w_e = psc_from_psp(PSP_E)
    sizes = np.maximum(np.rint(N_FULL * scale).astype(int), 1)
    K_full = full_in_degrees()
    rng_par = NumpyRNG(seed=seed + 1)
    pops = []
    for i, name in enumerate(POPULATIONS):
        i_ext = K_EXT[i] * BG_RATE * 1e-3 * w_e * NEURON["tau_syn_E"] if drive == "dc" else 0.0
        pop = sim.Population(int(sizes[i]), sim.IF_curr_exp(i_offset=i_ext, **NEURON),
                             label=name)
        pop.initialize(v=RandomDistribution("normal", mu=V0_MEAN[i], sigma=V0_SD[i],
                                            rng=rng_par))
        pop.record("spikes")
        pops.append(pop)
    projections = []
    for t, target in enumerate(pops):
        for s, source in enumerate(pops):
            K = K_full[t, s] * k_scale
            if K == 0:
                continue
            p = K / source.size
            # an rng per projection: PyNN draws each projection's connections from a copy of
            # its rng, so one rng shared by all would wire them from the same numbers
            rng_conn = NumpyRNG(seed=seed + 1000 + len(projections))
            if p <= 1:
                connector = sim.FixedProbabilityConnector(p, rng=rng_conn)
            else:   # more synapses than source neurons (small --scale, large --k-scale)
                connector = sim.FixedNumberPreConnector(int(round(K)), with_replacement=True,
                                                        rng=rng_conn)
            excitatory = s % 2 == 0
            w = w_e * (2.0 if (s, t) == (2, 0) else 1.0) * (1.0 if excitatory else G)
            projections.append(sim.Projection(
                source, target, connector,
                _synapse(w, excitatory, rng_par),
                receptor_type="excitatory" if excitatory else "inhibitory",
                label=f"{source.label}->{target.label}"))
    external = []
    if drive == "pool":
        # K_ext * k_scale Poisson inputs at 8 Hz per neuron, drawn with probability ext_p
        # from one pool of sources, as in the NEST example's K_scaling of the external input
        n_pool = int(math.ceil(K_EXT.max() * k_scale / ext_p))
        pool = sim.Population(n_pool, sim.SpikeSourcePoisson(rate=BG_RATE), label="ext")
        for t, target in enumerate(pops):
            external.append(sim.Projection(
                pool, target, sim.FixedProbabilityConnector(
                    K_EXT[t] * k_scale / n_pool, rng=NumpyRNG(seed=seed + 2000 + t)),
                sim.StaticSynapse(weight=w_e, delay=DELAY_E),
                receptor_type="excitatory", label=f"ext->{target.label}"))
    return pops, projections, external


def _synapse(w, excitatory, rng):
    weight = RandomDistribution("normal_clipped", mu=w, sigma=abs(w) * W_REL_SD,
                                low=0.0 if excitatory else -np.inf,
                                high=np.inf if excitatory else 0.0, rng=rng)
    d = DELAY_E if excitatory else DELAY_I
    return sim.StaticSynapse(weight=weight, delay=RandomDistribution(
        "normal_clipped", mu=d, sigma=d * DELAY_REL_SD, low=DT, high=np.inf, rng=rng))


def population_rates(pops, start, stop):
    rates, cvs = [], []
    for pop in pops:
        trains = pop.get_data("spikes").segments[-1].spiketrains
        counts, cv = [], []
        for st in trains:
            times = np.asarray(st.magnitude)
            times = times[(times > start) & (times <= stop)]
            counts.append(len(times))
            if len(times) > 2:
                isi = np.diff(times)
                cv.append(isi.std() / isi.mean())
        rates.append(float(np.mean(counts) / ((stop - start) / 1000.0)))
        cvs.append(float(np.mean(cv)) if cv else float("nan"))
    return rates, cvs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1, help="fraction of the neurons")
    parser.add_argument("--k-scale", type=float, default=None,
                        help="fraction of the in-degrees (default: --scale)")
    parser.add_argument("--scaling", choices=["none", "mean", "balanced"], default="none")
    parser.add_argument("--reference-k-scale", type=float, default=1.0,
                        help="K0 = this fraction of the full-scale in-degrees")
    parser.add_argument("--rates", default="calibrate",
                        help="presynaptic rates for balanced: calibrate | nest | FILE.json")
    parser.add_argument("--calibration-ms", type=float, default=300.0)
    parser.add_argument("--calibration-iterations", type=int, default=None,
                        help="default: pyNN.gpu's (10 for a recurrent network)")
    parser.add_argument("--drive", choices=["pool", "dc"], default="pool",
                        help="external input: Poisson pool (k-scaled) or DC equivalent")
    parser.add_argument("--ext-p", type=float, default=0.1,
                        help="pool: connection probability from the external pool")
    parser.add_argument("--calibration-damping", default="average")
    parser.add_argument("--duration", type=float, default=1000.0, help="ms after transient")
    parser.add_argument("--transient", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=55)
    parser.add_argument("--target", default="cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    k_scale = args.scale if args.k_scale is None else args.k_scale
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)

    t0 = time.perf_counter()
    sim.setup(timestep=DT, target=args.target, threads=args.threads, rng_seed=args.seed)
    pops, recurrent, external = build(args.scale, k_scale, args.seed, args.drive, args.ext_p)
    projections = recurrent + external
    t_build = time.perf_counter()
    scaling_info = None
    if args.scaling != "none":
        K_full = full_in_degrees()
        K0 = {f"{POPULATIONS[s]}->{POPULATIONS[t]}": K_full[t, s] * args.reference_k_scale
              for t in range(8) for s in range(8) if K_full[t, s] > 0}
        K0.update({f"ext->{POPULATIONS[t]}": K_EXT[t] * args.reference_k_scale
                   for t in range(8)})
        rates = None
        if args.rates == "nest":
            rates = dict(zip(POPULATIONS, NEST_FULL_RATES.tolist()), ext=BG_RATE)
        elif args.rates != "calibrate":
            with open(args.rates) as f:
                rates = json.load(f)
        calibration = dict(duration=args.calibration_ms, transient=100.0,
                           iterations=args.calibration_iterations,
                           damping=args.calibration_damping if args.calibration_damping
                           == "average" else float(args.calibration_damping))
        sim.scale_weights(projections, args.scaling, K0=K0, rates=rates,
                          calibration=calibration)
        dc = {}
        for p in projections:
            dc[p.post.label] = dc.get(p.post.label, 0.0) + p.scaling.dc
        scaling_info = {"dc_nA": dc, "factor": {p.label: p.scaling.factor for p in projections},
                        "rates_used": {p.pre.label: p.scaling.rate for p in projections}}
        if args.verbose:
            print(sim.scaling_report())
    t_scaled = time.perf_counter()
    sim.run(args.transient + args.duration)
    t_run = time.perf_counter()
    rates, cvs = population_rates(pops, args.transient, args.transient + args.duration)
    n_syn = int(sum(len(p) for p in recurrent))
    result = {
        "command": "python benchmarks/microcircuit.py " + " ".join(sys.argv[1:] if argv is None
                                                                   else argv),
        "scale": args.scale, "k_scale": k_scale, "scaling": args.scaling,
        "reference_k_scale": args.reference_k_scale if args.scaling != "none" else None,
        "rates_source": args.rates if args.scaling == "balanced" else None,
        "seed": args.seed, "target": args.target, "drive": args.drive,
        "ext_p": args.ext_p if args.drive == "pool" else None,
        "n_neurons": int(sum(p.size for p in pops)), "n_synapses": n_syn,
        "populations": POPULATIONS, "rates_hz": rates, "cv_isi": cvs,
        "n_per_population": [p.size for p in pops],
        "duration_ms": args.duration, "transient_ms": args.transient,
        "scaling_info": scaling_info,
        "seconds": {"build": t_build - t0, "scaling": t_scaled - t_build,
                    "run": t_run - t_scaled},
    }
    sim.end()
    print(" ".join(f"{n}={r:.3f}" for n, r in zip(POPULATIONS, rates)),
          f"| N={result['n_neurons']} syn={n_syn} build={t_build - t0:.1f}s "
          f"scaling={t_scaled - t_build:.1f}s run={t_run - t_scaled:.1f}s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
