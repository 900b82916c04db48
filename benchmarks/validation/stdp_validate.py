"""
STDPMechanism on pyNN.gpu against the committed pyNN.neuron reference
(benchmarks/validation/results/stdp_reference.npz, made by make_stdp_reference.py):
stdp_protocol.py's STDP window, run here on pyNN.gpu, and three comparisons per synapse:

* pyNN.gpu's weight change against the analytic window of pyNN.gpu's own spike times;
* pyNN.neuron's weight change against the analytic window of its own spike times;
* the two final weights against each other (and the spike times against each other).

    .venv/bin/python benchmarks/validation/stdp_validate.py [--target cpu] [--precision double]
    .venv/bin/python benchmarks/validation/stdp_validate.py --dependence gutig   # or ...

--dependence (stdp_protocol.DEPENDENCES) runs MultiplicativeWeightDependence or
GutigWeightDependence against results/stdp_reference_dependences.npz. Their changes are
compared with stdp_protocol.rule_weight(), which replays each simulator's own rule: pyNN.gpu
against convention "gpu", pyNN.neuron against "neuron"; the two weights are compared
against each other after taking off the difference of the two conventions on pyNN.neuron's
spikes (formula_difference: 3e-10 nA for multiplicative and gutig, from the order in which
pyNN.neuron applies pending potentiation; 2.5e-2 nA for gutig_wmax2, whose formulas differ;
README.md next to this file).

Synapses whose pairs include one with dt_syn = 0 (a presynaptic and a postsynaptic spike
meeting the synapse at the same instant) are reported apart: how such a pair counts is a
convention on which the two simulators differ (README.md next to this file).
Writes results/pynn_gpu_stdp.json; exits 1 when a comparison fails.
"""

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import stdp_protocol as P  # noqa: E402

RESULTS = os.path.join(HERE, "results")
STDP_REFERENCE = os.path.join(RESULTS, "stdp_reference.npz")
STDP_REFERENCE_DEPENDENCES = os.path.join(RESULTS, "stdp_reference_dependences.npz")

# Tolerances (nA, against w_max = 1 nA and a window of amplitude A w_max = 0.01-0.012 nA per
# pair, 5 pairs per synapse): each simulator against the analytic window of its own spike
# times: double-precision round-off of ~10 weight updates and exps (observed: <= 3e-12);
# in single precision ~1e-6 (weights of 0.5 rounded to 6e-8, ~10 updates).
TOL_ANALYTIC = {"double": 1e-10, "float": 1e-6}
# between the simulators: the same spike times (checked to 1e-6 ms) give the same analytic
# window, so the two weights differ by the sum of the two errors above.
TOL_CROSS = {"double": 1e-10, "float": 1e-6}
TIME_TOL = 1e-6   # ms: spike times agree to round-off (NEURON accumulates t += dt)


def load_reference(path=None, dependence="additive"):
    """{f: (pre trains, post trains, weights)} of one weight dependence and the info dict."""
    if path is None:
        path = STDP_REFERENCE if dependence == "additive" else STDP_REFERENCE_DEPENDENCES
    with np.load(path) as data:
        info = json.loads(str(data["info"]))
        groups = {}
        n = len(info["deltas_ms"])
        for f in info["fractions"]:
            tag = P.tag(f, dependence)
            groups[f] = tuple(P.unflatten_trains(data[f"{side}_times_{tag}"],
                                                 data[f"{side}_index_{tag}"], n)
                              for side in ("pre", "post")) + (np.array(data[f"weights_{tag}"]),)
    return groups, info


def gpu_run(sim, target="cpu", precision="double", timing=None, dependence="additive",
            parameters=None):
    """The protocol on pyNN.gpu: {f: (pre trains, post trains, weights)}. `timing` replaces
    the SpikePairRule parameters, `parameters` those of the weight dependence (to check that a
    wrong rule is told apart)."""
    saved = dict(P.TIMING)
    if timing is not None:
        P.TIMING.clear()
        P.TIMING.update(timing)
    try:
        sim.setup(timestep=P.DT, min_delay=P.DT, target=target, precision=precision)
        groups = {f: P.build(sim, f, dependence=dependence, parameters=parameters)
                  for f in P.FRACTIONS}
    finally:
        P.TIMING.clear()
        P.TIMING.update(saved)
    sim.run(P.T_STOP)
    results = {f: P.read(*group) for f, group in groups.items()}
    sim.end()
    return results


def _max_time_difference(a, b):
    if any(len(x) != len(y) for x, y in zip(a, b)):
        return np.inf
    return max((float(np.max(np.abs(x - y))) for x, y in zip(a, b) if len(x)), default=0.0)


def compare(gpu, reference, precision="double", dependence="additive"):
    """Per group: the rows of the comparison and whether each check passed. For a weight
    dependence other than the additive one, "analytic" is each simulator's own rule
    (stdp_protocol.rule_weight()), and gpu_vs_neuron compares the two weights after taking
    off formula_difference, the difference of the two rules on pyNN.neuron's spikes."""
    tol_a, tol_c = TOL_ANALYTIC[precision], TOL_CROSS[precision]
    out = {"ok": True, "dependence": dependence, "tolerance_analytic_nA": tol_a,
           "tolerance_cross_nA": tol_c, "groups": {}}
    for f in P.FRACTIONS:
        g_pre, g_post, g_w = gpu[f]
        r_pre, r_post, r_w = reference[f]
        g = P.analyse(g_pre, g_post, g_w, f, dependence, convention="gpu")
        r = P.analyse(r_pre, r_post, r_w, f, dependence, convention="neuron")
        clean = (g["coincident"] == 0) & (r["coincident"] == 0)
        err_g = np.abs(g["dw"] - g["analytic"])[clean]
        err_r = np.abs(r["dw"] - r["analytic"])[clean]
        if dependence == "additive":
            formula = np.zeros(len(P.DELTAS))
        else:
            formula = (P.analyse(r_pre, r_post, r_w, f, dependence, convention="gpu")["analytic"]
                       - r["analytic"])
        err_c = np.abs(g_w - r_w - formula)[clean]
        dt_pre = _max_time_difference(g_pre, r_pre)
        dt_post = _max_time_difference(g_post, r_post)
        checks = {
            "one_post_spike_per_pairing": bool(np.all(g["post_spikes"] == P.REPEATS)
                                               and np.all(r["post_spikes"] == P.REPEATS)),
            "spike_times_agree": dt_pre <= TIME_TOL and dt_post <= TIME_TOL,
            "gpu_vs_analytic": float(err_g.max()) <= tol_a,
            "neuron_vs_analytic": float(err_r.max()) <= tol_a,
            "gpu_vs_neuron": float(err_c.max()) <= tol_c,
        }
        rows = [{"dt_syn_ms": float(r["dt_syn"][i]), "delta_ms": float(P.DELTAS[i]),
                 "coincident_pairs": int(g["coincident"][i]),
                 "dw_gpu": float(g["dw"][i]), "dw_neuron": float(r["dw"][i]),
                 "dw_analytic_gpu": float(g["analytic"][i]),
                 "dw_analytic_neuron": float(r["analytic"][i]),
                 "formula_difference": float(formula[i])} for i in range(len(P.DELTAS))]
        out["groups"][f"{f:g}"] = {
            "checks": checks, "rows": rows,
            "max_spike_time_difference_ms": {"pre": dt_pre, "post": dt_post},
            "max_abs_gpu_minus_analytic": float(err_g.max()),
            "max_abs_neuron_minus_analytic": float(err_r.max()),
            "max_abs_gpu_minus_neuron": float(err_c.max()),
            "max_abs_formula_difference": float(np.abs(formula)[clean].max()),
            "max_abs_gpu_minus_neuron_raw": float(np.abs(g_w - r_w)[clean].max()),
            "clean_synapses": int(clean.sum()),
            "coincident": [{"delta_ms": float(P.DELTAS[i]), "pairs": int(r["coincident"][i]),
                            "gpu_minus_analytic": float(g["dw"][i] - g["analytic"][i]),
                            "neuron_minus_analytic": float(r["dw"][i] - r["analytic"][i])}
                           for i in np.flatnonzero(~clean)],
        }
        out["ok"] &= all(checks.values())
    return out


def table(result):
    lines = []
    for f, group in result["groups"].items():
        lines.append(f"dendritic_delay_fraction = {f}: {group['clean_synapses']} synapses "
                     "without coincident pairs")
        lines.append("  max |dw_gpu - analytic(gpu spikes)|       "
                     f"{group['max_abs_gpu_minus_analytic']:.2e} nA")
        lines.append("  max |dw_neuron - analytic(neuron spikes)| "
                     f"{group['max_abs_neuron_minus_analytic']:.2e} nA")
        lines.append(f"  max |w_gpu - w_neuron|                    "
                     f"{group['max_abs_gpu_minus_neuron_raw']:.2e} nA")
        if result["dependence"] != "additive":
            lines.append(f"  max |formula difference| (neuron spikes)  "
                         f"{group['max_abs_formula_difference']:.2e} nA")
            lines.append(f"  max |w_gpu - w_neuron - formula diff.|    "
                         f"{group['max_abs_gpu_minus_neuron']:.2e} nA")
        times = group["max_spike_time_difference_ms"]
        lines.append(f"  max spike time difference: pre {times['pre']:.1e} ms, "
                     f"post {times['post']:.1e} ms")
        for c in group["coincident"]:
            lines.append(f"  delta {c['delta_ms']:g} ms ({c['pairs']} coincident pairs): "
                         f"dw - analytic(no pairing): gpu {c['gpu_minus_analytic']:+.4f}, "
                         f"neuron {c['neuron_minus_analytic']:+.4f} nA")
        lines.append("  checks: " + ", ".join(f"{k} {'ok' if v else 'FAILED'}"
                                             for k, v in group["checks"].items()))
    lines.append("  dt_syn (ms)   dw_gpu      dw_neuron   analytic   (f = 1)")
    for row in result["groups"]["1"]["rows"][::4]:
        lines.append(f"  {row['dt_syn_ms']:+8.2f}   {row['dw_gpu']:+.6f}  {row['dw_neuron']:+.6f}"
                     f"  {row['dw_analytic_gpu']:+.6f}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--target", default="cpu")
    parser.add_argument("--precision", default="double", choices=("double", "float"))
    parser.add_argument("--dependence", default="additive", choices=sorted(P.DEPENDENCES))
    args = parser.parse_args()
    import pynn_gpu
    reference, info = load_reference(dependence=args.dependence)
    result = compare(gpu_run(pynn_gpu, args.target, args.precision, dependence=args.dependence),
                     reference, args.precision, args.dependence)
    result.update(target=args.target, precision=args.precision,
                  reference={k: info[k] for k in ("neuron", "PyNN", "dt_ms", "date")})
    suffix = ("" if args.dependence == "additive" else f"_{args.dependence}") + (
        "" if args.precision == "double" else "_float")
    with open(os.path.join(RESULTS, f"pynn_gpu_stdp{suffix}.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(table(result))
    print("OK" if result["ok"] else "FAILED")
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
