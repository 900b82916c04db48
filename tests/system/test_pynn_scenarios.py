"""
PyNN's own cross-simulator system tests ("scenarios"), unchanged, on pyNN.gpu: on the C
target, and on the CUDA target's kernels emulated on the host (tests/cuda_emulation.py).

The scenarios come from the source distribution of the installed PyNN version
(test/system/scenarios/*.py), fetched with pip once into a cache directory, as
benchmarks/pynn_examples.py fetches PyNN's examples: `$PYNN_GPU_SDIST_DIR` if set, else
benchmarks/_work/ (shared with that script). Without network access and without a cached
copy, the whole module is skipped with the reason.

In PyNN each scenario is a function `test_x(sim)` marked with
`@run_with_simulators("nest", ...)`; PyNN's pytest run executes it once per simulator named.
Here the same functions run with pyNN.gpu in their place: every scenario PyNN runs for one
of its point-neuron simulators, NEST or Brian 2 (those it runs only for NEURON or Arbor
are multicompartment scenarios), except those listed in NOT_APPLICABLE with the reason.
"""

import functools
import importlib
import importlib.util
import itertools
import logging
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pyNN
import pytest
from pyNN.random import NumpyRNG

from cuda_emulation import install_emulator

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("PYNN_GPU_SDIST_DIR", ROOT / "benchmarks" / "_work"))
PACKAGE = "pynn_system_scenarios"
POINT_NEURON_SIMULATORS = {"nest", "brian2"}

# Scenarios PyNN runs for NEST that cannot apply to pyNN.gpu yet, with the reason; each is
# expected to fail with the given error (strict: a scenario that starts passing is reported).
NOT_APPLICABLE = {}


def scenarios_dir():
    """test/system/scenarios of the installed PyNN version's sdist, downloaded once."""
    version = pyNN.__version__
    target = CACHE / f"pynn-{version}" / "test" / "system" / "scenarios"
    if (target / "__init__.py").is_file():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    archives = list(CACHE.glob(f"[pP]y[nN][nN]-{version}.tar.gz"))
    if not archives:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                        ":all:", "--timeout", "30", "-d", str(CACHE), f"pyNN=={version}"],
                       check=True, capture_output=True, text=True, timeout=300)
        archives = list(CACHE.glob(f"[pP]y[nN][nN]-{version}.tar.gz"))
    with tarfile.open(archives[0]) as tar:
        members = [m for m in tar.getmembers() if "/test/system/" in m.name]
        tar.extractall(CACHE, members=members, filter="data")
    return target


def _load_package(directory):
    """Import the scenarios folder as a package of its own (it uses relative imports)."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    spec = importlib.util.spec_from_file_location(
        PACKAGE, directory / "__init__.py", submodule_search_locations=[str(directory)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    return package


def _simulators(function):
    """The simulator names a scenario is registered for (its @run_with_simulators)."""
    names = []
    for mark in getattr(function, "pytestmark", []):
        if mark.name == "parametrize" and mark.args[0] == "sim":
            names += [param.id for param in mark.args[1]]
    return names


@functools.lru_cache(maxsize=None)
def collect():
    """pytest params: one per scenario PyNN runs for NEST or Brian 2 (or one skip saying
    why there are none)."""
    try:
        directory = scenarios_dir()
    except (OSError, subprocess.SubprocessError, tarfile.TarError, IndexError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        reason = (f"PyNN {pyNN.__version__} source distribution could not be fetched into "
                  f"{CACHE}: {detail.strip().splitlines()[-1] if detail.strip() else error}")
        return (pytest.param(None, None, marks=pytest.mark.skip(reason=reason),
                             id="scenarios-unavailable"),)
    _load_package(directory)
    params = []
    for path in sorted(directory.glob("test_*.py")):
        module_name = path.stem
        try:
            module = importlib.import_module(f"{PACKAGE}.{module_name}")
        except Exception as error:     # reported as a failing case, not hidden
            params.append(pytest.param(module_name, error, id=f"{module_name}::import"))
            continue
        for name, function in sorted(vars(module).items()):
            if not (name.startswith("test") and callable(function)
                    and POINT_NEURON_SIMULATORS & set(_simulators(function))):
                continue
            key = f"{module_name}::{name}"
            marks = []
            if key in NOT_APPLICABLE:
                error_type, reason = NOT_APPLICABLE[key]
                marks = [pytest.mark.xfail(raises=error_type, reason=reason, strict=True)]
            params.append(pytest.param(module_name, name, marks=marks, id=key))
    return tuple(params)


@pytest.fixture(params=["cpu", "emulated"])
def isolated(request, tmp_path, monkeypatch):
    """Run in an empty directory on the C target or the emulated CUDA target; undo the
    scenario's logging setup. The random numbers a scenario leaves unseeded (NumpyRNG()
    without a seed, numpy's global generator) get fixed seeds: some scenarios test
    statistics at p < 0.01 (scenario3's STDP weights), which unseeded draws fail now and
    then whatever the simulator."""
    monkeypatch.chdir(tmp_path)
    if request.param == "emulated":
        install_emulator(monkeypatch)
    monkeypatch.setenv("PYNN_GPU_TARGET", "cpu" if request.param == "cpu" else "cuda")
    seeds = itertools.count(7301)
    unseeded_init = NumpyRNG.__init__

    def seeded_init(self, seed=None, parallel_safe=True):
        unseeded_init(self, next(seeds) if seed is None else seed, parallel_safe)
    monkeypatch.setattr(NumpyRNG, "__init__", seeded_init)
    np.random.seed(7300)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    pynn_logger = logging.getLogger("PyNN")
    pynn_level = pynn_logger.level
    yield
    import pynn_gpu
    pynn_gpu.end()
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    pynn_logger.setLevel(pynn_level)


@pytest.mark.parametrize("module_name, function_name", collect())
def test_scenario(module_name, function_name, isolated):
    import pynn_gpu
    if isinstance(function_name, Exception):
        raise function_name
    module = sys.modules[f"{PACKAGE}.{module_name}"]
    getattr(module, function_name)(pynn_gpu)


def test_every_point_neuron_scenario_is_collected():
    """The list above names real scenarios (a renamed one must not hide silently)."""
    collected = [p.id for p in collect()]
    if collected == ["scenarios-unavailable"]:
        pytest.skip("PyNN's source distribution is not available")
    assert len(collected) > 50
    for key in NOT_APPLICABLE:
        assert key in collected, f"{key} is not a scenario PyNN runs for NEST or Brian 2"
