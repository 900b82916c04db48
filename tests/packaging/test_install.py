"""
`import pyNN.gpu` after a real installation, in a fresh virtual environment.

One venv (no system site-packages, so the outer environment's pynn_gpu is invisible) goes
through: `pip install .` -> reinstall PyNN -> `pip uninstall` + `pip install -e .` ->
reinstall PyNN, and after each step a separate interpreter checks that `pyNN.gpu` is the
`pynn_gpu` module object (submodules too), that `pyNN.utility.get_simulator` finds it, that
nothing was written into PyNN's directory at run time, and that a small network runs.
The project is installed from a copy of the checkout, so build/ and *.egg-info never appear
in the working tree. Dependencies come from the package index (pip's cache makes reruns quick).
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYNN_PIN = "pyNN==0.13.0"

# Run by the venv's interpreter as `python check.py gpu`, prints one JSON object.
CHECK_SCRIPT = textwrap.dedent('''
    import importlib.util, json, os, sys

    start = {name: name in sys.modules for name in ("numpy", "pyNN", "pynn_gpu")}
    pynn_dir = importlib.util.find_spec("pyNN").submodule_search_locations[0]

    def listing():
        return {os.path.relpath(os.path.join(d, f), pynn_dir)
                for d, _, files in os.walk(pynn_dir) for f in files}

    before = listing()
    drop_finder = os.environ.get("CHECK_WITHOUT_PTH") == "1"
    if drop_finder:                       # exercise the pyNN/gpu/__init__.py route
        for finder in list(sys.meta_path):
            if getattr(finder, "_pynn_gpu_alias_finder", False):
                sys.meta_path.remove(finder)

    from pyNN.utility import get_simulator
    sim, _ = get_simulator()              # importlib.import_module("pyNN.gpu")
    import pyNN
    import pyNN.gpu as direct
    import pyNN.gpu.simulator
    import pynn_gpu
    import pynn_gpu.simulator
    from pynn_gpu._paths import kernels_dir

    sim.setup(timestep=0.1, target="cpu")
    cells = sim.Population(2, sim.IF_curr_exp())
    cells.inject(sim.DCSource(amplitude=2.0, start=0.0, stop=50.0))
    cells.record("spikes")
    sim.run(50.0)
    n_spikes = sum(len(st) for st in cells.get_data().segments[0].spiketrains)
    sim.end()

    after = listing()
    print(json.dumps({
        "start": start,
        "same_module": sim is pynn_gpu and direct is pynn_gpu and pyNN.gpu is pynn_gpu
                       and sys.modules["pyNN.gpu"] is pynn_gpu,
        "same_submodule": sys.modules["pyNN.gpu.simulator"] is sys.modules["pynn_gpu.simulator"]
                          and pyNN.gpu.simulator is pynn_gpu.simulator,
        "spec_name": pynn_gpu.__spec__.name,
        "has_api": hasattr(sim, "setup") and hasattr(sim, "Population"),
        "pth_finder_active": "_pynn_gpu_shim" in sys.modules and not drop_finder,
        "pynn_gpu_file": pynn_gpu.__file__,
        "kernels": str(kernels_dir()),
        "kernels_ok": os.path.isdir(os.path.join(str(kernels_dir()), "c")),
        "n_spikes": n_spikes,
        "written_into_pyNN": sorted(after - before),
        "removed_from_pyNN": sorted(before - after),
    }))
''')


def _project_files(src):
    """Tracked and untracked-but-not-ignored files of the checkout (or everything, sans junk)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=src, check=True, capture_output=True).stdout
        return [f for f in out.decode().split("\0") if f and (src / f).is_file()]
    except (OSError, subprocess.CalledProcessError):
        junk = {".git", ".venv", "build", "dist", ".wheelhouse", "__pycache__", ".pytest_cache"}
        return [str(p.relative_to(src)) for p in src.rglob("*")
                if p.is_file() and not junk.intersection(p.relative_to(src).parts)]


class Venv:
    def __init__(self, root, env):
        self.root = root
        self.env = env
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, env=env)
        self.python = str(root / "bin" / "python")

    def run(self, *args, extra_env=None, **kwargs):
        env = dict(self.env, **(extra_env or {}))
        proc = subprocess.run([self.python, *args], env=env, capture_output=True, text=True,
                              **kwargs)
        if proc.returncode != 0:
            pytest.fail(f"{' '.join(args)} failed ({proc.returncode}):\n"
                        f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
        return proc.stdout

    def pip(self, *args):
        return self.run("-m", "pip", *args)

    def check(self, workdir, **extra_env):
        out = self.run(str(workdir / "check.py"), "gpu", cwd=str(workdir), extra_env=extra_env)
        return json.loads(out.strip().splitlines()[-1])


def _assert_alias_works(result, project, editable):
    assert result["start"] == {"numpy": False, "pyNN": False, "pynn_gpu": False}, \
        "the .pth must not import numpy, PyNN or pynn_gpu at interpreter start"
    assert result["same_module"], result
    assert result["same_submodule"], result
    assert result["spec_name"] == "pynn_gpu"
    assert result["has_api"]
    assert result["kernels_ok"], result["kernels"]
    assert result["n_spikes"] > 0
    assert result["written_into_pyNN"] == [], "files written into PyNN's directory at run time"
    assert result["removed_from_pyNN"] == []
    in_project = Path(result["pynn_gpu_file"]).resolve().is_relative_to(project.resolve())
    assert in_project == editable, result["pynn_gpu_file"]
    kernels_in_project = Path(result["kernels"]).resolve() == (project / "kernels").resolve()
    assert kernels_in_project == editable, result["kernels"]


@pytest.mark.slow
def test_install_editable_install_and_pynn_reinstall(tmp_path):
    project = tmp_path / "project"
    for rel in _project_files(REPO):
        dest = project / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, dest)
    (tmp_path / "check.py").write_text(CHECK_SCRIPT)

    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env.update(PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1",
               PYNN_GPU_CACHE_DIR=str(tmp_path / "cache"))
    venv = Venv(tmp_path / "venv", env)

    # 1. regular install: the .pth registers the alias
    venv.pip("install", str(project))
    result = venv.check(tmp_path)
    _assert_alias_works(result, project, editable=False)
    assert result["pth_finder_active"]
    # ... and pyNN/gpu/__init__.py alone (no .pth processing) gives the same
    _assert_alias_works(venv.check(tmp_path, CHECK_WITHOUT_PTH="1"), project, editable=False)

    # 2. PyNN reinstalled over it
    venv.pip("install", "--force-reinstall", "--no-deps", PYNN_PIN)
    _assert_alias_works(venv.check(tmp_path), project, editable=False)

    # 3. editable install instead
    venv.pip("uninstall", "--yes", "pynn-gpu")
    site = Path(venv.run("-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    leftovers = sorted(str(p.relative_to(site)) for p in site.rglob("*")
                       if "pynn_gpu" in p.name.lower() or p.parts[-2:] == ("pyNN", "gpu"))
    assert leftovers == [], "pip uninstall left files behind"
    venv.pip("install", "--no-deps", "-e", str(project))
    result = venv.check(tmp_path)
    _assert_alias_works(result, project, editable=True)
    assert not (site / "pyNN" / "gpu").exists(), "editable install must not touch PyNN's directory"

    # 4. PyNN reinstalled under the editable install
    venv.pip("install", "--force-reinstall", "--no-deps", PYNN_PIN)
    _assert_alias_works(venv.check(tmp_path), project, editable=True)
