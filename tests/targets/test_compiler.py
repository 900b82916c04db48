"""
The C compiler of the C target: $CC may hold arguments, and without a compiler setup()
says what is missing instead of a FileNotFoundError at the first run().
"""

import shutil

import pytest

import pynn_gpu as sim
from pynn_gpu.targets import cpu, resolve_target_name
from pynn_gpu.targets.cuda import CudaTarget


def test_a_missing_compiler_is_named_at_setup(monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/cc")
    with pytest.raises(cpu.CompilerNotFoundError, match=r"'/nonexistent/cc'.*\$CC"):
        sim.setup(timestep=0.1, target="cpu")


def test_auto_without_gpu_or_compiler_says_a_compiler_is_needed(monkeypatch, tmp_path):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))          # no cc, no gcc
    monkeypatch.setattr(CudaTarget, "is_available", classmethod(lambda cls: False))
    with pytest.raises(cpu.CompilerNotFoundError, match=r"neither cc nor gcc.*\$CC"):
        sim.setup(timestep=0.1)


def test_the_cuda_target_is_chosen_without_a_c_compiler(monkeypatch, tmp_path):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(CudaTarget, "is_available", classmethod(lambda cls: True))
    assert resolve_target_name("cuda") == "cuda"


def test_cc_is_split_as_the_shell_would():
    for value, command in [("ccache gcc", ("ccache", "gcc")), ("gcc -O0", ("gcc", "-O0")),
                           ("'/opt/my cc/gcc' -O1", ("/opt/my cc/gcc", "-O1"))]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("CC", value)
            assert cpu._compiler() == command


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_a_compiler_with_arguments_in_cc_runs(monkeypatch):
    monkeypatch.setenv("CC", "gcc -O0")
    sim.setup(timestep=0.1, target="cpu")
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    cells.record("spikes")
    sim.run(50.0)
    assert sum(cells.get_spike_counts().values()) > 0
    sim.end()
