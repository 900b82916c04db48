"""Where the package's non-Python files live at run time.

The kernel templates are kept in the top-level ``kernels/`` folder of the source tree, which is
the only copy anyone edits. A regular wheel (``pip install .``) ships a copy of that folder as
``pynn_gpu/_kernels`` (copied by ``build_py`` in setup.py). A source checkout or an editable
install (``pip install -e .``) runs from the source tree and uses ``kernels/`` directly, so edits
to the templates take effect without reinstalling.
"""

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent

#: Name of the kernels folder inside an installed package (see setup.py).
INSTALLED_KERNELS = "_kernels"


def kernels_dir() -> Path:
    """The directory holding the kernel templates (``common/``, ``c/``, ``cuda/``).

    Regular install: ``<site-packages>/pynn_gpu/_kernels`` (only a built wheel has it).
    Source checkout / editable install: ``<checkout>/kernels``.
    """
    installed = _PACKAGE_DIR / INSTALLED_KERNELS
    if installed.is_dir():
        return installed
    checkout = _PACKAGE_DIR.parent / "kernels"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"pynn_gpu: kernel templates not found (looked for {installed} and {checkout}); "
        "the installation is incomplete"
    )
