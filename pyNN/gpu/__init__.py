"""``import pyNN.gpu`` gives the ``pynn_gpu`` package itself (same module object).

Normally this file is never executed: a regular install registers the ``pyNN.gpu`` -> ``pynn_gpu``
import alias at interpreter start (``pynn_gpu-alias.pth``, see pynn_gpu/_shim.py). It is the
route for an editable install (``pip install -e .``, where setuptools' editable finder maps
``pyNN.gpu`` to this directory) and for environments that do not process .pth files
(e.g. ``pip install --target DIR`` plus ``PYTHONPATH=DIR``). It registers the same alias, so
that ``pyNN.gpu.<module>`` is ``pynn_gpu.<module>`` too, then replaces itself with ``pynn_gpu``.
"""

import sys

from pynn_gpu._shim import install as _install_alias

_install_alias()

import pynn_gpu as _pynn_gpu  # noqa: E402

sys.modules[__name__] = _pynn_gpu
