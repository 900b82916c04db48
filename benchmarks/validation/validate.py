"""
The validation suite's runner: runs the networks (networks.py), the single-neuron gallery
(gallery.py) and the GIF_cond_exp protocol (gif_protocol.py) on pyNN.gpu, compares them
with the committed references in results/ (pyNN.brian2; pyNN.neuron for GIF_cond_exp;
compare.py), writes what pyNN.gpu gave and the verdicts to results/pynn_gpu.json and prints
the tables of README.md.

    python benchmarks/validation/validate.py [--seeds 1 2 ... 10] [--target cpu] [--threads 1]
                                             [--networks NAME ...] [--no-gallery]
                                             [--no-gif] [--gif-neurons 10000] [--gif-seed 1]
                                             [--gif-synaptic-neurons 5000]

Exit status 1 if any comparison fails. Neither Brian 2 nor NEURON is needed.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import compare  # noqa: E402
import gallery  # noqa: E402
import gif_protocol  # noqa: E402
import networks  # noqa: E402
from networks import run_network  # noqa: E402
from spike_statistics import STATISTICS, summarise_run  # noqa: E402

RESULTS = os.path.join(HERE, "results")
REFERENCE_NETWORKS = os.path.join(RESULTS, "reference_networks.json")
GALLERY_DIR = os.path.join(RESULTS, "gallery")
GIF_REFERENCE = os.path.join(RESULTS, "gif_reference.npz")
GIF_SYNAPTIC_REFERENCE = os.path.join(RESULTS, "gif_synaptic_reference.npz")


def load_reference_networks():
    with open(REFERENCE_NETWORKS) as f:
        return json.load(f)


def reference_runs(reference, name):
    return [run["statistics"] for run in reference["networks"][name]["runs"].values()]


def gpu_network_runs(sim, name, seeds, target, threads=1):
    """pyNN.gpu's statistics of network `name`, one dict per seed (the seed also seeds
    pyNN.gpu's Poisson generator), and the wall-clock time of each run. One thread by
    default: on a shared machine, threads that wait for each other at every step are slow."""
    runs, walls = [], []
    for seed in seeds:
        started = time.perf_counter()
        spikes, window = run_network(sim, name, seed,
                                     setup_options=dict(target=target, rng_seed=seed,
                                                        threads=threads))
        walls.append(round(time.perf_counter() - started, 1))
        runs.append(summarise_run(spikes, window))
    return runs, walls


def load_gallery_reference(celltype):
    data = np.load(os.path.join(GALLERY_DIR, f"{celltype}.npz"))
    return {"v": data["trace_v"], "spikes": data["spikes"],
            "info": json.loads(str(data["info"]))}


def gpu_gallery_runs(sim, celltypes, target):
    """pyNN.gpu's v trace and spike times for each gallery protocol, all in one network
    (the cells are independent) so that one compilation serves them all."""
    sim.setup(timestep=compare.DT, target=target)
    cells = {name: gallery.build(sim, name) for name in celltypes}
    sim.run(gallery.T_STOP)
    result = {}
    for name, cell in cells.items():
        segment = cell.get_data().segments[0]
        result[name] = {
            "v": np.asarray(segment.filter(name="v")[0].magnitude)[:, 0],
            "spikes": np.asarray(segment.spiketrains[0].rescale("ms").magnitude)}
    sim.end()
    return result


def compare_gallery(sim, target):
    references = {os.path.basename(p)[:-4]: load_gallery_reference(os.path.basename(p)[:-4])
                  for p in sorted(glob.glob(os.path.join(GALLERY_DIR, "*.npz")))}
    runs = gpu_gallery_runs(sim, list(references), target)
    return {name: compare.compare_gallery(name, runs[name]["v"], runs[name]["spikes"],
                                          ref["v"], ref["spikes"], gallery.STEP[0])
            for name, ref in references.items()}


def load_gif_reference(path=GIF_REFERENCE):
    """The reference's statistics (gif_protocol.statistics()) and its info dict."""
    data = np.load(path)
    stats = {name: data[name] for name in data.files
             if name not in ("info", "spike_steps", "neuron")}
    return stats, json.loads(str(data["info"]))


def reference_gif_trains(path=GIF_REFERENCE):
    """The reference's spike trains as step numbers, one array per neuron."""
    data = np.load(path)
    n = json.loads(str(data["info"]))["neurons"]
    steps, neuron = data["spike_steps"], data["neuron"]
    return [np.sort(steps[neuron == i]) for i in range(n)]


def gpu_gif_statistics(sim, n, seed, target, parameters=None, threads=1, synaptic=False):
    """gif_protocol's statistics of `n` pyNN.gpu neurons (rng_seed `seed`) at dt = 0.1 ms;
    with `synaptic`, of its synaptic case (build_synaptic(), the mean v of the first N_V
    neurons as vmean_syn)."""
    sim.setup(timestep=gif_protocol.DT, target=target, rng_seed=seed, threads=threads)
    if synaptic:
        cells = gif_protocol.build_synaptic(sim, n, parameters)
        sim.run(gif_protocol.SYNAPTIC["t_stop"])
    else:
        cells = gif_protocol.build(sim, n, parameters)
        sim.run(gif_protocol.T_STOP)
    segment = cells.get_data().segments[0]
    trains = [s.rescale("ms").magnitude for s in segment.spiketrains]
    stats = gif_protocol.statistics(gif_protocol.to_steps(trains),
                                    gif_protocol.SYNAPTIC if synaptic else None)
    if synaptic:
        v = segment.filter(name="v")[0]
        stats["vmean_syn"] = gif_protocol.vmean(v.magnitude, v.times.rescale("ms").magnitude)
    sim.end()
    return stats


def compare_gif(sim, target, n, seed, parameters=None, synaptic=False):
    reference, info = load_gif_reference(GIF_SYNAPTIC_REFERENCE if synaptic
                                         else GIF_REFERENCE)
    result = compare.compare_gif(gpu_gif_statistics(sim, n, seed, target, parameters,
                                                    synaptic=synaptic), reference)
    result["reference_info"] = {k: v for k, v in info.items() if k != "summary"}
    result["seed"] = seed
    return result


# --- tables ----------------------------------------------------------------------------------

def _fmt(x):
    return f"{x:.4g}"


def network_table(comparisons):
    lines = ["| network | population | statistic | pyNN.gpu mean ± sd (n) "
             "| pyNN.brian2 mean ± sd (n) | difference | tolerance (sampling part) | ok |",
             "| --- | --- | --- | --- | --- | ---: | ---: | --- |"]
    for network, populations in comparisons.items():
        for population, by_statistic in populations.items():
            for name, c in by_statistic.items():
                lines.append(
                    f"| {network} | {population} | {name} "
                    f"| {_fmt(c['gpu_mean'])} ± {_fmt(c['gpu_sd'])} ({c['n_gpu']}) "
                    f"| {_fmt(c['ref_mean'])} ± {_fmt(c['ref_sd'])} ({c['n_ref']}) "
                    f"| {_fmt(c['difference'])} | {_fmt(c['tolerance'])} "
                    f"({_fmt(c['sampling_part'])}) | {'yes' if c['ok'] else '**no**'} |")
    return "\n".join(lines)


def gallery_table(comparisons):
    lines = ["| cell type | spikes pyNN.gpu / ref. | lag min..max (ms) "
             "| lag bound, last spike (ms) | max abs dv before the step (mV) "
             "| max abs dv away from spikes (mV) | ok |",
             "| --- | --- | --- | ---: | ---: | ---: | --- |"]
    for name, c in comparisons.items():
        lines.append(f"| {name} | {c['spikes_gpu']} / {c['spikes_ref']} "
                     f"| {c['lag_min']:.3f}..{c['lag_max']:.3f} | {c['lag_bound_last']:.2f} "
                     f"| {c['subthreshold_max_dv']:.1e} | {c['away_max_dv']:.2g} "
                     f"| {'yes' if c['ok'] else '**no**'} |")
    return "\n".join(lines)


def gif_table(comparison):
    lines = ["| statistic | pyNN.gpu mean (n) | pyNN.neuron mean (n) | difference "
             "| tolerance | z | ok |",
             "| --- | --- | --- | ---: | ---: | ---: | --- |"]
    for c in comparison["rows"]:
        lines.append(f"| {c['statistic']} | {_fmt(c['gpu_mean'])} ({c['n_gpu']}) "
                     f"| {_fmt(c['ref_mean'])} ({c['n_ref']}) | {_fmt(c['difference'])} "
                     f"| {_fmt(c['tolerance'])} | {c['z']:+.2f} "
                     f"| {'yes' if c['ok'] else '**no**'} |")
    p = comparison["psth"]
    lines.append(f"\nPSTH ({gif_protocol.BIN_MS:g} ms bins): {p['bins_tested']} bins with spikes "
                 f"tested, smallest p = {p['min_p']:.2g} (bin {p['min_p_bin']}), failed bins: "
                 f"{p['failed_bins'] or 'none'}. Each test at level "
                 f"{comparison['alpha_each']:.2g} (z = {comparison['z']:.2f}), family-wise "
                 f"{compare.GIF_FAMILY_ALPHA}.")
    return "\n".join(lines)


def shift_table(base_path, shifted_path):
    """Relative change of each statistic's mean when pyNN.gpu's refractory periods are one
    step shorter (Brian 2's convention), from two results files of this script."""
    with open(base_path) as f:
        base = json.load(f)["networks"]
    with open(shifted_path) as f:
        shifted = json.load(f)["networks"]
    lines = ["| network | population | " + " | ".join(STATISTICS) + " |",
             "| --- | --- |" + " ---: |" * len(STATISTICS)]
    for name in base:
        if name not in shifted:
            continue
        for population in base[name]["runs"][0]:
            changes = []
            for statistic in STATISTICS:
                before = np.nanmean([run[population][statistic]
                                     for run in base[name]["runs"]])
                after = np.nanmean([run[population][statistic]
                                    for run in shifted[name]["runs"]])
                changes.append(f"{100.0 * (after - before) / abs(before):+.1f} %")
            lines.append(f"| {name} | {population} | " + " | ".join(changes) + " |")
    return "\n".join(lines)


def _commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 11)))
    parser.add_argument("--target", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="threads of the C target")
    parser.add_argument("--networks", nargs="*", default=None,
                        help="network names (default: all in the reference file)")
    parser.add_argument("--no-gallery", action="store_true")
    parser.add_argument("--no-gif", action="store_true")
    parser.add_argument("--gif-only", action="store_true",
                        help="only the GIF_cond_exp comparison (results/pynn_gpu.json is left "
                             "as it is)")
    parser.add_argument("--gif-neurons", type=int, default=10000)
    parser.add_argument("--gif-seed", type=int, default=1,
                        help="pyNN.gpu's rng_seed for the GIF protocol")
    parser.add_argument("--gif-synaptic-neurons", type=int, default=5000,
                        help="neurons of the GIF protocol's synaptic case (0: not run)")
    parser.add_argument("--shift-table", metavar="SHIFT",
                        help="only print the changes made by --refractory-shift SHIFT, from the "
                             "results files of both runs")
    parser.add_argument("--reuse", action="store_true",
                        help="take pyNN.gpu's network runs from the results file of an earlier "
                             "call with the same seeds instead of running them again")
    parser.add_argument("--refractory-shift", type=float, default=0.0,
                        help="ms taken off every refractory period of the networks (to "
                             "measure the effect of Brian 2's one step shorter one)")
    args = parser.parse_args()
    networks.REFRACTORY_SHIFT = args.refractory_shift
    if args.shift_table:
        shifted = f"pynn_gpu_refractory_shift_{args.shift_table}.json"
        print(shift_table(os.path.join(RESULTS, "pynn_gpu.json"),
                          os.path.join(RESULTS, shifted)))
        return 0

    import pyNN
    import pynn_gpu as sim

    reference = load_reference_networks()
    names = args.networks if args.networks is not None else list(networks.NETWORKS)
    if args.gif_only:
        names, args.no_gallery, args.no_gif = [], True, False
    output = {"command": "python benchmarks/validation/validate.py " + " ".join(sys.argv[1:]),
              "date": datetime.date.today().isoformat(), "commit": _commit(),
              "target": args.target, "refractory_shift_ms": args.refractory_shift,
              "versions": {"PyNN": pyNN.__version__, "numpy": np.__version__,
                           "python": platform.python_version()},
              "reference_versions": reference["versions"],
              "networks": {}, "gallery": {}, "gif": {}, "gif_synaptic": {}}
    suffix = f"_refractory_shift_{args.refractory_shift:g}" if args.refractory_shift else ""
    path = os.path.join(RESULTS, f"pynn_gpu{suffix}.json")
    earlier = {}
    if args.reuse and os.path.exists(path):
        with open(path) as f:
            earlier = json.load(f)["networks"]
    comparisons = {}
    for name in names:
        if earlier.get(name, {}).get("seeds") == args.seeds:
            runs, walls = earlier[name]["runs"], earlier[name]["wall_s"]
        else:
            runs, walls = gpu_network_runs(sim, name, args.seeds, args.target, args.threads)
            print(f"{name}: ran in {sum(walls):.0f} s", file=sys.stderr, flush=True)
        output["networks"][name] = {"seeds": args.seeds, "runs": runs, "wall_s": walls}
        if name in reference["networks"]:
            comparisons[name] = compare.compare_network(runs, reference_runs(reference, name))
            output["networks"][name]["comparison"] = comparisons[name]
    if not args.no_gallery:
        output["gallery"] = compare_gallery(sim, args.target)
    if not args.no_gif:
        output["gif"] = compare_gif(sim, args.target, args.gif_neurons, args.gif_seed)
        if args.gif_synaptic_neurons:
            output["gif_synaptic"] = compare_gif(sim, args.target, args.gif_synaptic_neurons,
                                                 args.gif_seed, synaptic=True)

    if not args.gif_only:
        with open(path, "w") as f:
            json.dump({k: v for k, v in output.items() if k not in ("gif", "gif_synaptic")},
                      f, indent=1,
                      sort_keys=True)
    if output["gif"]:
        # its own file: the GIF comparison is made and committed separately
        with open(os.path.join(RESULTS, f"pynn_gpu_gif{suffix}.json"), "w") as f:
            json.dump({k: v for k, v in output.items()
                       if k not in ("networks", "gallery", "gif_synaptic")},
                      f, indent=1, sort_keys=True)
    if output["gif_synaptic"]:
        with open(os.path.join(RESULTS, f"pynn_gpu_gif_synaptic{suffix}.json"), "w") as f:
            json.dump({k: v for k, v in output.items() if k not in ("networks", "gallery", "gif")},
                      f, indent=1, sort_keys=True)
    print(f"Command: `{output['command']}` (commit {output['commit']}, {output['date']}, "
          f"target {args.target})\n")
    if comparisons:
        print(network_table(comparisons) + "\n")
    if output["gallery"]:
        print(gallery_table(output["gallery"]) + "\n")
    if output["gif"]:
        print(gif_table(output["gif"]))
    if output["gif_synaptic"]:
        print("\nSynaptic input:\n\n" + gif_table(output["gif_synaptic"]))
    failed = [f"{n}/{p}/{s}" for n, c in comparisons.items() for p, by in c.items()
              for s, v in by.items() if not v["ok"]]
    failed += [name for name, c in output["gallery"].items() if not c["ok"]]
    if output["gif"] and not output["gif"]["ok"]:
        failed.append("GIF_cond_exp")
    if output["gif_synaptic"] and not output["gif_synaptic"]["ok"]:
        failed.append("GIF_cond_exp, synaptic input")
    if failed:
        print("\nFAILED: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
