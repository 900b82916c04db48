"""
The Vogels-Abbott network (benchmarks/vogels_abbott.py) in one process and over several
MPI processes on the C target, the configurations interleaved and repeated so that the
machine's noise falls on all alike: real-time factor, the time process 0 spent in spike
exchanges (MPI bitwise-or of the spike bits every min_delay, waiting for the slower
process included), and the rates, which must be the same in every configuration.

    python benchmarks/mpi_scaling.py                       # 1x1, 1x2 threads, 2x1 processes
    python benchmarks/mpi_scaling.py --n 20000 --configs 1x4 4x1 2x2
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(processes, threads, args):
    command = [sys.executable, str(HERE / "vogels_abbott.py"), "--json", "--threads",
               str(threads), "--n", str(args.n), "--duration", str(args.duration),
               "--model", args.model]
    if processes > 1:
        mpiexec = (shutil.which("mpiexec", path=str(Path(sys.executable).parent))
                   or shutil.which("mpiexec"))
        command = [mpiexec, "-n", str(processes), *command]
    env = dict(os.environ, PYNN_GPU_TARGET="cpu")
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--model", default="COBA", choices=["COBA", "CUBA"])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=1000.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--configs", nargs="+", default=["1x1", "1x2", "2x1"],
                        help="PROCESSESxTHREADS each")
    args = parser.parse_args()
    configs = [tuple(int(x) for x in c.split("x")) for c in args.configs]
    rows = {c: [] for c in configs}
    for _ in range(args.repeats):
        for processes, threads in configs:
            rows[(processes, threads)].append(run(processes, threads, args))
    print(f"{args.model}, {args.n} neurons, {args.duration:g} ms, C target, "
          f"{os.cpu_count()} cores; best of {args.repeats}")
    print(f"{'processes x threads':>20} {'RTF':>7} {'exchange s':>11} {'exchanges':>10} "
          f"{'exc Hz':>7} {'inh Hz':>7}")
    for (processes, threads), results in rows.items():
        best = min(results, key=lambda r: r["realtime_factor"])
        print(f"{processes:>10} x {threads:<7} {best['realtime_factor']:>7.3f} "
              f"{best.get('exchange_s', 0.0):>11.3f} {best.get('exchanges', 0):>10} "
              f"{best['rate_exc_hz']:>7.2f} {best['rate_inh_hz']:>7.2f}")
    rates = {(r["rate_exc_hz"], r["rate_inh_hz"]) for results in rows.values() for r in results}
    print("rates identical in every configuration:", len(rates) == 1)


if __name__ == "__main__":
    main()
