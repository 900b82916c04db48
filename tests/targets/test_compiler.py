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


def _fake_compiler(tmp_path, monkeypatch, body):
    """$CC: a script that answers --version and otherwise runs `body`."""
    script = tmp_path / "fake_cc"
    script.write_text(f'#!/bin/sh\ncase "$*" in *--version*) echo fake 1.0; exit 0;; esac\n'
                      f"{body}\n")
    script.chmod(0o755)
    monkeypatch.setenv("CC", str(script))
    monkeypatch.setenv("PYNN_GPU_CACHE_DIR", str(tmp_path / "cache"))


def _compile(text="int x;"):
    from pynn_gpu.codegen import GeneratedCode
    return cpu.CpuTarget().compile_library(GeneratedCode("c", text, []))


def test_a_failed_compilation_shows_the_first_errors_its_status_and_keeps_the_source(
        tmp_path, monkeypatch):
    """The first error is the one that matters (only the last 4,000 characters were shown,
    follow-on errors); the source the messages point to is kept."""
    _fake_compiler(tmp_path, monkeypatch, """
echo "simulation.c:1: error: unknown type name 'scalr'" >&2
i=0; while [ $i -lt 400 ]; do echo "follow-on error $i: expected ';'" >&2; i=$((i+1)); done
exit 1""")
    with pytest.raises(cpu.CompilationError) as failure:
        _compile("int the_source;")
    message = str(failure.value)
    assert message.startswith("C compilation failed (exit status 1): ")
    assert "unknown type name 'scalr'" in message and "follow-on error 399" in message
    assert "[...]" in message and "follow-on error 200:" not in message
    kept = message.rsplit("The source is kept in ", 1)[1]
    assert open(kept).read() == "int the_source;"
    assert f" {kept} " in message.splitlines()[0]      # in the command line too


def test_a_compiler_that_dies_silently_is_reported_with_its_status(tmp_path, monkeypatch):
    _fake_compiler(tmp_path, monkeypatch, "kill -9 $$")
    with pytest.raises(cpu.CompilationError,
                       match=r"stopped by signal 9\): .*fake_cc.*\n\(it printed nothing\)"):
        _compile()


def test_a_compiler_that_writes_nothing_is_refused(tmp_path, monkeypatch):
    from pynn_gpu.cache import EmptyBuild
    _fake_compiler(tmp_path, monkeypatch, "exit 0")
    with pytest.raises(EmptyBuild, match="wrote nothing"):
        _compile()
