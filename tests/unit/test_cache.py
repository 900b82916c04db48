"""The compile cache: same content compiles once, concurrent builders are safe."""

import os
import subprocess
import sys
import textwrap

import pytest

import pynn_gpu as sim
from pynn_gpu import cache


def _network():
    sim.setup(timestep=0.1, target="cpu")
    cells = sim.Population(5, sim.IF_curr_exp(i_offset=1.0))
    cells.record("spikes")
    sim.run(10.0)
    engine = sim.simulator.state.engine
    compiled = engine.timings["compile"]
    sim.end()
    return compiled


def test_building_the_same_network_again_compiles_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path))
    calls = []
    original = subprocess.run

    def counting_run(command, *args, **kwargs):
        # simulation libraries only (they define pg_run), not the host tools
        sources = [str(a) for a in command if str(a).endswith(".c")]
        if "-shared" in command and any("pg_run" in open(f).read() for f in sources):
            calls.append(command)
        return original(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", counting_run)
    _network()
    assert len(calls) == 1
    assert len([so for so in tmp_path.glob("*.so") if b"pg_run" in so.read_bytes()]) == 1
    _network()
    assert len(calls) == 1, "second build of the same network must hit the cache"


def test_concurrent_processes_share_the_cache(tmp_path):
    script = textwrap.dedent("""
        import pynn_gpu as sim
        sim.setup(timestep=0.1, target="cpu")
        cells = sim.Population(7, sim.IF_cond_exp(i_offset=1.0))
        cells.record("spikes")
        sim.run(100.0)
        print(sum(len(t) for t in cells.get_data().segments[0].spiketrains))
    """)
    env = dict(os.environ, PYNN_GPU_CACHE_DIR=str(tmp_path))
    processes = [subprocess.Popen([sys.executable, "-c", script], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert all(p.returncode == 0 for p in processes), [err for _, err in outputs]
    assert len({out for out, _ in outputs}) == 1
    assert len([so for so in tmp_path.glob("*.so") if b"pg_run" in so.read_bytes()]) == 1
    assert not list(tmp_path.glob(".*")), "no temporary files left behind"


def test_cache_directory_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "custom"))
    assert cache.cache_dir() == tmp_path / "custom"
    monkeypatch.delenv(cache.ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "pynn_gpu"


def test_text_the_compiler_reads_is_in_the_key():
    """Comments are left out of the key (labels in them must not defeat the cache), but a
    '/*' inside a line comment or a string literal starts no comment: the code after it
    is read by the compiler, and so must be in the key."""
    from pynn_gpu.codegen import GeneratedCode

    def key_text(source):
        return GeneratedCode("c", source, []).cache_text

    assert key_text("int a; /* label x */ int b; // label x\n") == \
        key_text("int a; /* label y */ int b; // label y\n")
    for opening in ('// see models/*.cpp\n', 'const char *s = "/*";', "char c = '/*';"):
        first = key_text(opening + "int v = 10; /* */")
        second = key_text(opening + "int v = 50; /* */")
        assert first != second, opening


def _ramp_spikes(threshold):
    from pynn_gpu.modeldef import NeuronModelDef, StateVar
    model = NeuronModelDef(name="ramp", params=("vt",), state=(StateVar("v"),),
                           update="v += 1.0;  // as in nest/models/*.cpp",
                           threshold=threshold, reset="v = 0.0;")
    sim.setup(timestep=0.1, target="cpu")
    cells = sim.Population(1, sim.native_cell_type(model, default_parameters=dict(vt=0.0))())
    cells.record("spikes")
    sim.run(10.0)
    spikes = cells.get_spike_counts()[cells[0]]
    sim.end()
    return spikes


def test_a_model_changed_after_a_comment_opening_in_a_snippet_is_compiled_anew(
        tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path))
    assert _ramp_spikes("v >= 10") == 10
    assert _ramp_spikes("v >= 50") == 2, "the first model's library was reused"


def _counting_build(calls, content=b"compiled code"):
    def build(output):
        calls.append(output)
        output.write_bytes(content)
    return build


def test_an_entry_cut_short_or_damaged_is_built_again(tmp_path, monkeypatch):
    """A loader maps a damaged library and crashes (a bus error on every later run); the
    hash beside each entry finds it first."""
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path))
    calls = []
    entry = cache.cached_build("k1", ".so", _counting_build(calls))
    assert cache.cached_build("k1", ".so", _counting_build(calls)) == entry and len(calls) == 1
    entry.write_bytes(b"compiled")                       # cut short
    assert cache.cached_build("k1", ".so", _counting_build(calls)).read_bytes() == \
        b"compiled code" and len(calls) == 2
    entry.write_bytes(b"compiled cod3")                  # same length, damaged
    cache.cached_build("k1", ".so", _counting_build(calls))
    assert entry.read_bytes() == b"compiled code" and len(calls) == 3
    entry.with_name(entry.name + ".sha256").unlink()     # an entry without its hash
    cache.cached_build("k1", ".so", _counting_build(calls))
    assert len(calls) == 4
    assert not list(tmp_path.glob(".*")), "no temporary files left behind"


def test_a_build_that_writes_nothing_is_refused_and_not_kept(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path))
    with pytest.raises(cache.EmptyBuild, match="wrote nothing"):
        cache.cached_build("k2", ".so", lambda output: None)
    assert list(tmp_path.iterdir()) == []


def test_the_cache_directory_names_its_origin_when_it_cannot_be_made(tmp_path, monkeypatch):
    occupied = tmp_path / "a_file"
    occupied.write_text("")
    monkeypatch.setenv(cache.ENV_VAR, str(occupied / "cache"))
    with pytest.raises(OSError, match=r"a_file/cache'.*\$PYNN_GPU_CACHE_DIR.*cannot be made"):
        cache.cache_dir()
    monkeypatch.setenv(cache.ENV_VAR, "~/pynn_gpu_cache_test")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "pynn_gpu_cache_test"
