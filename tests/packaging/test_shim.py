"""The pyNN.gpu -> pynn_gpu import alias and the kernels location, in this interpreter.

install() is called explicitly (it is idempotent), so these tests exercise the alias finder
itself whether or not the project's .pth file was processed; test_install.py checks the wiring
of real installations.
"""

import importlib
import importlib.util
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import pynn_gpu
from pynn_gpu import _shim
from pynn_gpu._paths import kernels_dir

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def alias():
    return _shim.install()


def test_install_is_idempotent(alias):
    assert _shim.install() is alias
    assert sum(bool(getattr(f, "_pynn_gpu_alias_finder", False)) for f in sys.meta_path) == 1
    assert sys.meta_path.index(alias) < sys.meta_path.index(importlib.machinery.PathFinder)


def test_pyNN_gpu_is_pynn_gpu():
    import pyNN
    import pyNN.gpu as sim

    assert sim is pynn_gpu
    assert pyNN.gpu is pynn_gpu
    assert importlib.import_module("pyNN.gpu") is pynn_gpu
    assert sys.modules["pyNN.gpu"] is pynn_gpu
    assert pynn_gpu.__spec__.name == "pynn_gpu", "the alias must not replace the real spec"
    assert hasattr(sim, "setup") and hasattr(sim, "Population")


def test_submodules_are_the_same_objects():
    import pyNN.gpu.simulator
    import pyNN.gpu.standardmodels.cells
    import pynn_gpu.simulator
    import pynn_gpu.standardmodels.cells
    from pyNN.gpu import simulator

    assert pyNN.gpu.simulator is pynn_gpu.simulator is simulator
    assert sys.modules["pyNN.gpu.standardmodels.cells"] is pynn_gpu.standardmodels.cells
    assert pynn_gpu.simulator.__spec__.name == "pynn_gpu.simulator"
    assert pynn_gpu.simulator.__name__ == "pynn_gpu.simulator"


def test_missing_submodule_raises_module_not_found():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("pyNN.gpu.no_such_module")
    assert importlib.util.find_spec("pyNN.gpu.no_such_module") is None


def test_names_outside_the_alias_are_left_alone(alias):
    for name in ("pyNN", "pyNN.gpux", "pyNN.nest", "pynn_gpu", "numpy"):
        assert alias.find_spec(name) is None


def test_get_simulator_finds_gpu(monkeypatch):
    from pyNN.utility import get_simulator

    monkeypatch.setattr(sys, "argv", ["script.py", "gpu"])
    sim, args = get_simulator()
    assert sim is pynn_gpu
    assert args.simulator == "gpu"


def test_run_module_through_the_alias():
    # what `python -m pyNN.gpu.<module>` does
    namespace = runpy.run_module("pyNN.gpu._paths", run_name="not_main")
    assert namespace["kernels_dir"]() == kernels_dir()


def test_shim_module_imports_nothing_heavy():
    # import the file on its own, as the .pth does, without the pynn_gpu package
    path = Path(_shim.__file__)
    code = ("import importlib.util, sys; before = set(sys.modules); "
            f"spec = importlib.util.spec_from_file_location('_shim_alone', {str(path)!r}); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); m.install(); "
            "new = {n.split('.')[0] for n in set(sys.modules) - before}; "
            "assert not {'numpy', 'pyNN', 'pynn_gpu', 'jinja2'} & new, new")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_kernels_dir_has_the_templates():
    path = kernels_dir()
    assert path.is_dir()
    assert (path / "common").is_dir() and (path / "c").is_dir()
    assert any(path.glob("c/*.j2"))


def test_kernels_dir_is_the_checkout_when_running_from_it():
    if Path(pynn_gpu.__file__).resolve().parent.parent != REPO:
        pytest.skip("pynn_gpu is not running from this checkout")
    assert kernels_dir() == REPO / "kernels"
