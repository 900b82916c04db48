"""
Weight scaling on the Potjans & Diesmann (2014) microcircuit: run benchmarks/microcircuit.py
at several scales with and without `balanced` weight scaling, then tabulate and plot the
population rates against the full-scale references.

    python benchmarks/microcircuit_scaling.py run       # all runs (one process each), ~1 h on 2 cores
    python benchmarks/microcircuit_scaling.py report    # table + plot from the stored results

Results go to benchmarks/results/microcircuit/<name>.json; the report writes
benchmarks/results/microcircuit_scaling.md and .png (the plot needs matplotlib, which
pyNN.gpu itself does not need: pip install matplotlib).
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
RUNS = os.path.join(RESULTS, "microcircuit")
SCALES = [0.05, 0.1, 0.25, 0.5]

# name -> arguments of benchmarks/microcircuit.py
CONFIGS = {"reference": ["--scale", "0.25", "--k-scale", "1.0"]}
for _s in SCALES:
    CONFIGS[f"none_{_s}"] = ["--scale", str(_s)]
    CONFIGS[f"balanced_calibrated_{_s}"] = ["--scale", str(_s), "--scaling", "balanced"]
    CONFIGS[f"balanced_nest_{_s}"] = ["--scale", str(_s), "--scaling", "balanced",
                                      "--rates", "nest"]

# relative tolerance of a population rate against the reference (see the report text)
TOLERANCE = 0.25


def run(names, threads):
    os.makedirs(RUNS, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(HERE) + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    for name in names:
        out = os.path.join(RUNS, name + ".json")
        command = [sys.executable, os.path.join(HERE, "microcircuit.py"), *CONFIGS[name],
                   "--threads", str(threads), "--json", out]
        print(name, ":", " ".join(command[1:]), flush=True)
        subprocess.run(command, check=True, env=env)


def _load(name):
    with open(os.path.join(RUNS, name + ".json")) as f:
        return json.load(f)


def report(commit):
    sys.path.insert(0, HERE)
    from microcircuit import NEST_FULL_RATES, POPULATIONS
    ref = _load("reference")
    ref_rates = np.array(ref["rates_hz"])
    rows = {name: _load(name) for name in CONFIGS if name != "reference"
            and os.path.exists(os.path.join(RUNS, name + ".json"))}

    def cell(rate, reference):
        flag = "" if abs(rate - reference) <= TOLERANCE * reference else " ✗"
        return f"{rate:.2f}{flag}"

    lines = ["# Weight scaling on the Potjans & Diesmann (2014) microcircuit", ""]
    lines += [
        f"Commit: `{commit}`. Produced with",
        "",
        "```",
        "python benchmarks/microcircuit_scaling.py run",
        "python benchmarks/microcircuit_scaling.py report",
        "```",
        "",
        "(each run is `python benchmarks/microcircuit.py <arguments below>`; raw results in "
        "`benchmarks/results/microcircuit/*.json`). CPU target, double precision, dt = 0.1 ms, "
        "2 cores; population rates over 1 s after a 100 ms transient, seed 55.",
        "",
        "Model: `benchmarks/microcircuit.py` (8 populations with the published sizes, "
        "connection probabilities, 87.8 pA weights with g = -4 and L4e->L2/3e doubled, "
        "delays 1.5/0.75 ms with relative s.d. 0.5, IF_curr_exp). Scaling to a fraction s of "
        "the neurons and in-degrees (s = k) also scales the external in-degree K_ext (Poisson "
        "inputs at 8 Hz from a pool, connection probability 0.1), as in the NEST example's "
        "K_scaling. `balanced` = `pynn_gpu.scale_weights(projections, 'balanced', K0=<full-scale "
        "in-degrees>, rates=...)` on all 72 projections (64 recurrent, 8 external): "
        "w = w0 sqrt(K0/K) and a DC per population restoring the full-scale mean input; "
        "rates either measured by the feature's own calibration runs (10 runs of 300 ms) or "
        "the NEST reference implementation's full-scale rates (the published method).",
        "",
        "References: **NEST full** = full-scale rates of the NEST reference implementation "
        "(nest-simulator `pynest/examples/Potjans_2014`, `full_mean_rates`; cf. Potjans & "
        "Diesmann 2014, Fig. 6). **ref (k = 1)** = this implementation with the full in-degrees "
        "and unscaled weights (25 % of the neurons, "
        f"{ref['n_synapses'] / 1e6:.0f} M recurrent synapses; the largest full-in-degree "
        "network that fits this 24 GiB machine).",
        "",
    ]
    header = "| population | NEST full | ref (k = 1) | " + " | ".join(
        f"{what} {int(s * 100)} %" for s in SCALES
        for what in ("none", "bal. calib.", "bal. NEST")) + " |"
    lines += [header, "|" + "---|" * (3 + 3 * len(SCALES))]
    for i, pop in enumerate(POPULATIONS):
        cells = [pop, f"{NEST_FULL_RATES[i]:.2f}", f"{ref_rates[i]:.2f}"]
        for s in SCALES:
            for kind in ("none", "balanced_calibrated", "balanced_nest"):
                r = rows.get(f"{kind}_{s}")
                cells.append("n/a" if r is None else cell(r["rates_hz"][i], ref_rates[i]))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Rates in Hz; ✗ = more than "
              f"{int(TOLERANCE * 100)} % away from ref (k = 1).", ""]
    lines += ["| run | arguments | neurons | recurrent synapses | build s | scaling s | run s |",
              "|---|---|---|---|---|---|---|"]
    for name in ["reference"] + list(rows):
        r = ref if name == "reference" else rows[name]
        sec = r["seconds"]
        lines.append(f"| {name} | `{' '.join(CONFIGS[name])}` | {r['n_neurons']} | "
                     f"{r['n_synapses']} | {sec['build']:.0f} | {sec['scaling']:.0f} | "
                     f"{sec['run']:.0f} |")
    path = os.path.join(RESULTS, "microcircuit_scaling.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", path)
    plot(rows, ref_rates, NEST_FULL_RATES, POPULATIONS)


def plot(rows, ref_rates, nest_rates, populations):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 4, figsize=(14, 6.5), sharex=True)
    styles = {"none": ("unscaled weights", "tab:red", "x"),
              "balanced_calibrated": ("balanced, calibrated rates", "tab:blue", "o"),
              "balanced_nest": ("balanced, NEST full-scale rates", "tab:green", "s")}
    for i, (ax, pop) in enumerate(zip(axes.flat, populations)):
        ax.axhspan(ref_rates[i] * (1 - TOLERANCE), ref_rates[i] * (1 + TOLERANCE),
                   color="0.9", label=f"ref (k = 1) ± {int(TOLERANCE * 100)} %")
        ax.axhline(ref_rates[i], color="k", lw=1)
        ax.axhline(nest_rates[i], color="k", lw=1, ls="--", label="NEST full scale")
        for kind, (label, color, marker) in styles.items():
            xs = [s for s in SCALES if f"{kind}_{s}" in rows]
            ax.plot(xs, [rows[f"{kind}_{s}"]["rates_hz"][i] for s in xs], marker=marker,
                    color=color, label=label)
        ax.set_xscale("log")
        ax.set_xticks(SCALES)
        ax.set_xticklabels([f"{int(s * 100)}%" for s in SCALES])
        ax.set_title(pop)
        ax.set_ylim(bottom=0)
        if i % 4 == 0:
            ax.set_ylabel("rate (Hz)")
        if i >= 4:
            ax.set_xlabel("scale of neurons and in-degrees")
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Potjans & Diesmann microcircuit on pyNN.gpu (CPU): population rates vs. scale")
    fig.tight_layout()
    path = os.path.join(RESULTS, "microcircuit_scaling.png")
    fig.savefig(path, dpi=110)
    print("wrote", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", choices=["run", "report"])
    parser.add_argument("--only", nargs="*", default=None, help="run only these configs")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--commit", default=None)
    args = parser.parse_args()
    if args.stage == "run":
        run(args.only or list(CONFIGS), args.threads)
    else:
        commit = args.commit or subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
            cwd=HERE).stdout.strip()
        report(commit)


if __name__ == "__main__":
    main()
