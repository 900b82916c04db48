"""
Shared fixtures.

`sim` gives the backend set up on each available target: the same behavioural test runs on
the C target, on the CUDA target's kernels emulated on the host (tests/cuda_emulation.py),
both everywhere, and on CUDA where PyCUDA and a GPU answer (skipped otherwise).
Compiled code goes to a fresh cache directory per test session, so every test run
compiles its kernels instead of reusing a cache from an earlier run.
"""

import os
import tempfile

import pytest

_session_cache = tempfile.mkdtemp(prefix="pynn_gpu_test_cache_")
os.environ.setdefault("PYNN_GPU_CACHE_DIR", _session_cache)

import pynn_gpu  # noqa: E402
from cuda_emulation import install_emulator  # noqa: E402
from pynn_gpu.targets.cuda import CudaTarget  # noqa: E402


def _target_params():
    return [pytest.param("cpu"), pytest.param("emulated"),
            pytest.param("cuda", marks=pytest.mark.cuda)]


@pytest.fixture(params=_target_params())
def target(request, monkeypatch):
    """The target a test runs on: "cpu", or "cuda" (on a GPU, or, for the "emulated"
    parameter, the CUDA target's kernels on the host emulation of tests/cuda_emulation.py)."""
    if request.param == "emulated":
        install_emulator(monkeypatch)
        return "cuda"
    if request.param == "cuda" and not CudaTarget.is_available():
        pytest.skip("no CUDA device: " + CudaTarget.unavailable_reason())
    return request.param


@pytest.fixture
def sim(target):
    """pyNN.gpu, set up with dt = 0.1 ms on one target; ended after the test."""
    pynn_gpu.setup(timestep=0.1, target=target)
    yield pynn_gpu
    pynn_gpu.end()


@pytest.fixture
def cpu_sim():
    """pyNN.gpu on the C target only (tests of host-side behaviour)."""
    pynn_gpu.setup(timestep=0.1, target="cpu")
    yield pynn_gpu
    pynn_gpu.end()
