"""Make ``pyNN.gpu`` (and ``pyNN.gpu.<anything>``) the very same modules as ``pynn_gpu[.<anything>]``.

PyNN finds a backend only by module path, ``pyNN.<name>``, and ``pyNN`` is a regular package that
belongs to another distribution. Rather than putting files into PyNN's directory, we register a
meta-path finder that answers for ``pyNN.gpu`` and everything below it by importing the matching
``pynn_gpu`` module and handing back that module object, so that::

    import pyNN.gpu as sim
    sim is sys.modules["pynn_gpu"]                                     # True
    sys.modules["pyNN.gpu.simulator"] is sys.modules["pynn_gpu.simulator"]  # True

How the finder gets registered (see setup.py and README.md):

* regular install: the wheel carries ``pynn_gpu-alias.pth`` and a copy of this file as the
  top-level module ``_pynn_gpu_shim``; the .pth line runs ``_pynn_gpu_shim.install()`` at
  interpreter start. This works wherever PyNN itself is installed and survives reinstalling PyNN.
* editable install, or the .pth not being processed: ``pyNN/gpu/__init__.py`` is found by the
  import system (setuptools' editable finder, or a plain file next to PyNN's), and it calls
  ``install()`` before anything below ``pyNN.gpu`` is imported.

This module must stay tiny and import nothing but ``sys`` at import time: it runs in every Python
process of the environment.
"""

import sys

ALIAS = "pyNN.gpu"
TARGET = "pynn_gpu"
_MARK = "_pynn_gpu_alias_finder"


def _real_name(fullname):
    """``pyNN.gpu.x.y`` -> ``pynn_gpu.x.y``; None for names outside ``pyNN.gpu``."""
    if fullname == ALIAS:
        return TARGET
    if fullname.startswith(ALIAS + "."):
        return TARGET + fullname[len(ALIAS):]
    return None


class AliasLoader:
    """Loads ``pyNN.gpu[.x]`` by importing ``pynn_gpu[.x]`` and returning that module object."""

    def __init__(self, real_name):
        self.real_name = real_name
        self._real_spec = None

    def create_module(self, spec):
        import importlib

        module = importlib.import_module(self.real_name)
        self._real_spec = module.__spec__
        return module

    def exec_module(self, module):
        # The import system has set module.__spec__ to our alias spec; the module is the real
        # pynn_gpu module, already executed, so only put its own spec back.
        if self._real_spec is not None:
            module.__spec__ = self._real_spec

    # Used by runpy (``python -m pyNN.gpu.<module>``) and by tools that read source.
    def _real_loader(self):
        import importlib.util

        return importlib.util.find_spec(self.real_name).loader

    def get_code(self, fullname):
        return self._real_loader().get_code(self.real_name)

    def get_source(self, fullname):
        return self._real_loader().get_source(self.real_name)

    def is_package(self, fullname):
        return self._real_loader().is_package(self.real_name)


class AliasFinder:
    """Meta-path finder for ``pyNN.gpu`` and its submodules."""

    _pynn_gpu_alias_finder = True

    def find_spec(self, fullname, path=None, target=None):
        real = _real_name(fullname)
        if real is None:
            return None
        import importlib.util
        from importlib.machinery import ModuleSpec

        try:
            real_spec = importlib.util.find_spec(real)
        except ModuleNotFoundError:
            return None
        if real_spec is None:
            return None
        is_package = real_spec.submodule_search_locations is not None
        spec = ModuleSpec(fullname, AliasLoader(real), origin=real_spec.origin,
                          is_package=is_package)
        spec.has_location = real_spec.has_location  # __file__ for `python -m pyNN.gpu.<module>`
        if is_package:
            spec.submodule_search_locations = list(real_spec.submodule_search_locations)
        return spec

    def invalidate_caches(self):
        pass

    def __repr__(self):
        return f"<{__name__}.AliasFinder {ALIAS} -> {TARGET}>"


def installed_finder():
    """The alias finder on sys.meta_path, or None."""
    for finder in sys.meta_path:
        if getattr(finder, _MARK, False):
            return finder
    return None


def install():
    """Put the alias finder first on sys.meta_path (once per process); return it."""
    finder = installed_finder()
    if finder is None:
        finder = AliasFinder()
        sys.meta_path.insert(0, finder)
    return finder
