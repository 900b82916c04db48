"""
Run PyNN's own example scripts, unchanged, with pyNN.gpu as the simulator.

The scripts come from the PyNN source distribution of the installed PyNN version, fetched
with pip into $PYNN_GPU_SDIST_DIR, else benchmarks/_work/ (once; tests/system uses the same
copy for PyNN's system test scenarios). Each example is run in a subprocess as
`python <example>.py gpu [args...]`, exactly as a user would; its exit status, wall time
and the lines it prints about rates and timings are collected.

    python benchmarks/pynn_examples.py                      # Vogels-Abbott COBA and CUBA
    python benchmarks/pynn_examples.py --all                # every example taking a simulator name
    python benchmarks/pynn_examples.py VAbenchmarks.py:COBA small_network.py
"""

import argparse
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pyNN

WORK = Path(os.environ.get("PYNN_GPU_SDIST_DIR", Path(__file__).resolve().parent / "_work"))
DEFAULT = ["VAbenchmarks.py:COBA", "VAbenchmarks.py:CUBA"]
REPORTED = re.compile(r"(rate|time)\s*:", re.IGNORECASE)


def examples_dir() -> Path:
    """PyNN's examples/ folder for the installed version, downloaded once."""
    target = WORK / f"pynn-{pyNN.__version__}" / "examples"
    if target.is_dir():
        return target
    WORK.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                    "-d", str(WORK), f"pyNN=={pyNN.__version__}"], check=True)
    archive = next(WORK.glob(f"[pP]y[nN][nN]-{pyNN.__version__}.tar.gz"))
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if "/examples/" in m.name]
        tar.extractall(WORK, members=members, filter="data")
    return target


def takes_simulator_argument(script: Path) -> bool:
    text = script.read_text(errors="replace")
    return "get_simulator(" in text or "get_script_args(" in text


def run_example(spec: str, timeout: float):
    name, _, extra = spec.partition(":")
    script = examples_dir() / name
    command = [sys.executable, script.name, "gpu", *[a for a in extra.split(",") if a]]
    start = time.perf_counter()
    try:
        result = subprocess.run(command, cwd=script.parent, capture_output=True, text=True,
                                timeout=timeout)
        status, output = result.returncode, result.stdout + result.stderr
    except subprocess.TimeoutExpired as expired:
        status, output = "timeout", str(expired.stdout or "")
    elapsed = time.perf_counter() - start
    reported = [line.strip() for line in output.splitlines() if REPORTED.search(line)]
    error = "" if status == 0 else output.strip().splitlines()[-1] if output.strip() else ""
    return {"example": spec, "status": status, "wall_s": round(elapsed, 2),
            "reported": reported, "error": error}


def main():
    parser = argparse.ArgumentParser(description="run PyNN's examples with pyNN.gpu")
    parser.add_argument("examples", nargs="*", help="NAME.py[:ARG1,ARG2]")
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    specs = args.examples or DEFAULT
    if args.all:
        specs = [p.name for p in sorted(examples_dir().glob("*.py"))
                 if takes_simulator_argument(p)]
    failures = 0
    for spec in specs:
        outcome = run_example(spec, args.timeout)
        ok = outcome["status"] == 0
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {outcome['example']:40s} {outcome['wall_s']:8.2f} s "
              f"{outcome['error']}")
        for line in outcome["reported"]:
            print(f"       {line}")
    print(f"{len(specs) - failures} passed, {failures} failed")


if __name__ == "__main__":
    main()
