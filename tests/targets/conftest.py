"""
The CUDA target on a GPU, or emulated on the host (tests/cuda_emulation.py).

`cuda_backend` gives "gpu" (PyCUDA and a device; marked `cuda`, skipped without one) and
"emulated": the host emulation, which checks the generated CUDA source and the CUDA
target's host code against the C target on any machine.
"""

import pytest

from cuda_emulation import install_emulator
from pynn_gpu.targets import cuda as cuda_target


@pytest.fixture(params=["emulated", pytest.param("gpu", marks=pytest.mark.cuda)])
def cuda_backend(request, monkeypatch):
    """None on a GPU, the Emulator when emulated."""
    if request.param == "emulated":
        return install_emulator(monkeypatch)
    if not cuda_target.CudaTarget.is_available():
        pytest.skip("no CUDA device: " + cuda_target.CudaTarget.unavailable_reason())
    return None


@pytest.fixture
def emulate(monkeypatch):
    """emulate(with_capture=True) installs the host emulation and returns its Emulator."""
    return lambda with_capture=True: install_emulator(monkeypatch, with_capture)


@pytest.fixture
def no_host_builder(monkeypatch):
    """Fails a test whose projection is built by numpy or PyNN instead of the generator."""
    from pynn_gpu import connectivity, projections

    def forbidden(*args, **kwargs):
        raise AssertionError("built on the host by numpy or PyNN, not by the generator")
    monkeypatch.setattr(projections, "build_connections", forbidden)
    monkeypatch.setattr(connectivity, "build_native", forbidden)
    monkeypatch.setattr(projections.Projection, "_convergent_connect", forbidden)
