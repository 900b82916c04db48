"""
Compiling the generated CUDA source of a network with nvcc, without a GPU: the network is
built on the C target (which needs no device), its graph rendered for CUDA and compiled for
sm_90. Tests skip where nvcc is missing.
"""

import subprocess

import pytest

import pynn_gpu
from pynn_gpu import codegen
from pynn_gpu.targets import cuda


def generated_cuda_source(build, precision="double"):
    """The CUDA source of the network `build(sim)` makes (skips without nvcc)."""
    if cuda.find_nvcc() is None:
        pytest.skip("nvcc not found")
    pynn_gpu.setup(timestep=0.1, target="cpu", precision=precision)
    try:
        build(pynn_gpu)
        pynn_gpu.run(1.0)
        return codegen.generate(pynn_gpu.simulator.state.engine.graph, "cuda").source
    finally:
        pynn_gpu.end()


def assert_nvcc_compiles(source, tmp_path):
    path = tmp_path / "simulation.cu"
    path.write_text(source)
    result = subprocess.run(cuda.nvcc_command(cuda.find_nvcc(), path, tmp_path / "out.cubin",
                                              arch="sm_90"),
                            capture_output=True, text=True)
    assert result.returncode == 0, f"nvcc failed:\n{result.stderr}"
