"""Build hooks that setup.cfg cannot express. Metadata and dependencies live in setup.cfg.

A regular wheel (``pip install .``) gets three extra things from ``build_py`` below:

* ``pynn_gpu/_kernels/``: a copy of the top-level ``kernels/`` folder (the kernel templates),
  found at run time by ``pynn_gpu._paths.kernels_dir()``;
* ``_pynn_gpu_shim.py``: a copy of ``pynn_gpu/_shim.py`` as a top-level module, importable
  without importing the ``pynn_gpu`` package (and so without numpy or PyNN);
* ``pynn_gpu-alias.pth``: one line, run by ``site`` at interpreter start, that puts the
  ``pyNN.gpu`` -> ``pynn_gpu`` alias finder on ``sys.meta_path``. It works wherever PyNN is
  installed (same site-packages or not) and is not affected by reinstalling PyNN.

An editable install (``pip install -e .``) reads the kernels from the checkout, and
``editable_wheel`` below adds the same two shim files to the editable wheel (the shim module is a
copy: reinstall after editing pynn_gpu/_shim.py). Should a future setuptools stop calling the
(private) hook used for that, the default editable mode still works: setuptools' editable finder
resolves ``pyNN.gpu`` to ``pyNN/gpu/__init__.py``, which registers the same alias finder.

The wheel also carries ``pyNN/gpu/__init__.py`` (installed next to PyNN's files when both land in
the same site-packages) as a route for environments that do not process .pth files, e.g.
``pip install --target DIR`` used through ``PYTHONPATH``. Nothing is written into PyNN's
directory at run time.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py as _build_py
from setuptools.command.editable_wheel import editable_wheel as _editable_wheel

ROOT = Path(__file__).resolve().parent
KERNELS_SRC = ROOT / "kernels"
KERNELS_DEST = Path("pynn_gpu", "_kernels")  # keep in step with pynn_gpu/_paths.py
SHIM_SRC = ROOT / "pynn_gpu" / "_shim.py"
SHIM_MODULE = "_pynn_gpu_shim"
PTH_NAME = "pynn_gpu-alias.pth"
PTH_LINE = f"import {SHIM_MODULE}; {SHIM_MODULE}.install()\n"
_JUNK = shutil.ignore_patterns("__pycache__", "*.py[cod]", "*.so", "*.o")


class build_py(_build_py):
    """setuptools' build_py plus the kernels folder, the shim module and the .pth file."""

    def _extra_outputs(self):
        build_lib = Path(self.build_lib)
        outputs = [build_lib / f"{SHIM_MODULE}.py", build_lib / PTH_NAME]
        for path in sorted(KERNELS_SRC.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                outputs.append(build_lib / KERNELS_DEST / path.relative_to(KERNELS_SRC))
        return [str(p) for p in outputs]

    def run(self):
        super().run()
        if self.editable_mode:
            return
        build_lib = Path(self.build_lib)
        kernels_dest = build_lib / KERNELS_DEST
        if kernels_dest.exists():
            shutil.rmtree(kernels_dest)
        shutil.copytree(KERNELS_SRC, kernels_dest, ignore=_JUNK)
        self.copy_file(str(SHIM_SRC), str(build_lib / f"{SHIM_MODULE}.py"))
        (build_lib / PTH_NAME).write_text(PTH_LINE, encoding="utf-8")

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if not self.editable_mode:
            outputs = outputs + self._extra_outputs()
        return outputs


class _WithAliasFiles:
    """Wraps setuptools' editable strategy: also put the shim module and the .pth in the wheel."""

    def __init__(self, strategy):
        self.strategy = strategy

    def __enter__(self):
        self.strategy.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self.strategy.__exit__(*exc_info)

    def __call__(self, wheel, files, mapping):
        self.strategy(wheel, files, mapping)
        wheel.writestr(f"{SHIM_MODULE}.py", SHIM_SRC.read_bytes())
        wheel.writestr(PTH_NAME, PTH_LINE.encode("utf-8"))


class editable_wheel(_editable_wheel):
    """setuptools' editable_wheel plus the shim module and the .pth (same as a regular wheel)."""

    def _select_strategy(self, *args, **kwargs):
        return _WithAliasFiles(super()._select_strategy(*args, **kwargs))


setup(cmdclass={"build_py": build_py, "editable_wheel": editable_wheel})
