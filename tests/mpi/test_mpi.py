"""
Runs over several MPI processes (pynn_gpu.distributed): the same network run in one process
and under `mpiexec -n 2/3/4`, on the C target and on the CUDA target (its host emulation
here), gives the same spikes, membrane traces, conductances, connections and parameters, bit
for bit (the partition changes which process adds what, not the order of any addition).
Skipped where mpi4py or mpiexec is missing.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pynn_gpu import distributed

HERE = Path(__file__).resolve().parent
try:
    import mpi4py
    HAVE_MPI4PY = True
    # beside the interpreter (a virtual environment), beside mpi4py (pip install --target),
    # else on the PATH
    _BIN = [Path(sys.executable).parent, Path(mpi4py.__file__).resolve().parents[1] / "bin"]
except ImportError:
    HAVE_MPI4PY, _BIN = False, []
MPIEXEC = shutil.which("mpiexec", path=":".join(map(str, _BIN))) or shutil.which("mpiexec")

needs_mpi = pytest.mark.skipif(not (HAVE_MPI4PY and MPIEXEC),
                               reason="needs mpi4py and mpiexec (pip install 'pynn-gpu[mpi]')")


def run_script(arguments, processes, cwd, timeout=240):
    command = [sys.executable, *arguments]
    if processes > 1:
        command = [MPIEXEC, "-n", str(processes), *command]
    # a session of its own, so that a hung job's processes all go on a timeout
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"{' '.join(command)} did not end in {timeout} s:\n"
                    f"{stdout[-2000:]}{stderr[-2000:]}")
    assert process.returncode == 0, stdout[-3000:] + stderr[-3000:]
    return stdout


def network_results(tmp_path, processes, shortest_delay, target="cpu", propagation="auto"):
    output = tmp_path / f"network-{processes}-{shortest_delay}-{target}-{propagation}.npz"
    run_script([str(HERE / "network.py"), str(output), str(shortest_delay), target,
                propagation], processes, tmp_path)
    with np.load(output) as data:
        return {name: data[name] for name in data.files}


@pytest.fixture(scope="module")
def single_process(tmp_path_factory):
    path = tmp_path_factory.mktemp("single")
    return {delay: network_results(path, 1, delay) for delay in (0.5, 0.1)}


# --- the partition (no MPI needed) -----------------------------------------------------

@pytest.mark.parametrize("size", [1, 31, 32, 33, 250, 1000])
@pytest.mark.parametrize("processes", [1, 2, 3, 7])
def test_every_cell_belongs_to_exactly_one_process(size, processes):
    masks = np.array([distributed.local_mask(size, r, processes) for r in range(processes)])
    assert np.array_equal(masks.sum(axis=0), np.ones(size))
    for rank, mask in enumerate(masks):   # contiguous blocks of whole words, in rank order
        cells = np.flatnonzero(mask)
        if cells.size:
            assert cells[0] % 32 == 0 and np.array_equal(cells, np.arange(cells[0], cells[-1] + 1))
            assert all(not masks[earlier, cells[0]:].any() for earlier in range(rank))


def test_a_process_started_alone_runs_the_whole_network(monkeypatch):
    """Without a launcher's variables, and without mpi4py imported by the script, no MPI
    (importing mpi4py would start MPI in a plain run)."""
    for name in distributed._LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(sys.modules, "mpi4py.MPI", raising=False)
    assert distributed.world() is None
    assert "mpi4py.MPI" not in sys.modules


# --- the same network, one process and several -------------------------------------------

@needs_mpi
@pytest.mark.mpi
@pytest.mark.parametrize("processes, shortest_delay, target", [
    (2, 0.5, "cpu"), (3, 0.5, "cpu"), (4, 0.5, "cpu"), (3, 0.1, "cpu"),
    # the CUDA target's kernels on the host emulation of tests/targets/conftest.py
    (1, 0.5, "emulated-cuda"), (2, 0.5, "emulated-cuda"), (3, 0.1, "emulated-cuda"),
    (2, 0.1, "emulated-cuda-balanced"),
    pytest.param(2, 0.5, "cuda", marks=pytest.mark.cuda)])      # on a GPU
def test_several_processes_give_the_single_process_results(single_process, tmp_path, processes,
                                                           shortest_delay, target):
    """Compared with the C target in one process: the CUDA target's double-precision
    results equal the C target's (as tests/targets checks for one process), with the
    planner's propagation or "balanced"."""
    propagation = "auto"
    if target == "emulated-cuda-balanced":
        target, propagation = "emulated-cuda", "balanced"
    if target == "emulated-cuda" and shutil.which("g++") is None:
        pytest.skip("the CUDA emulation needs g++")
    if target == "cuda":
        from pynn_gpu.targets.cuda import CudaTarget
        if not CudaTarget.is_available():
            pytest.skip("no CUDA device: " + CudaTarget.unavailable_reason())
    expected = single_process[shortest_delay]
    result = network_results(tmp_path, processes, shortest_delay, target, propagation)
    assert int(expected["num_processes"]) == 1 and int(result["num_processes"]) == processes
    # an active network, so that a lost or late spike shows
    assert len(expected["excitatory_spikes"]) > 30 and len(expected["inhibitory_spikes"]) > 30
    assert int(expected["procedural_groups"]) == 1
    assert bool(result["procedural_never_generated"])
    # the generated projections' synapses, counted before the run, and stored after it
    assert bool(result["counted_never_generated"])
    assert np.array_equal(expected["counted_in_degrees"], expected["in_degrees_after_run"])
    # FixedProbability stored and procedural, AllToAll, distance-dependent, fixed-number rows
    # and columns
    assert int(expected["generated"]) == 6
    # The CUDA kernels add a neuron's inputs of one step in another order than the C target
    # (tests/targets/device_generation.py): sampled values may differ in their last bit
    rtol = 0.0 if target == "cpu" else 1e-13
    for name, values in expected.items():
        if name.endswith(("_v", "_gsyn_exc")):
            np.testing.assert_allclose(result[name], values, rtol=rtol, atol=0.0, err_msg=name)
        elif name != "num_processes":
            assert np.array_equal(result[name], values), name


@pytest.fixture(scope="module")
def scaled_single_process(tmp_path_factory):
    output = tmp_path_factory.mktemp("scaled") / "single.npz"
    run_script([str(HERE / "scaled_network.py"), str(output)], 1, output.parent)
    with np.load(output) as data:
        return {name: data[name] for name in data.files}


@needs_mpi
@pytest.mark.mpi
@pytest.mark.parametrize("processes", [2, 3])
def test_weight_scaling_over_several_processes(scaled_single_process, tmp_path, processes):
    """Balanced weight scaling with rates measured in calibration runs: in-degrees, means,
    rates and the DC from all processes' synapses and cells, the same to the last bit."""
    output = tmp_path / "scaled.npz"
    run_script([str(HERE / "scaled_network.py"), str(output)], processes, tmp_path)
    with np.load(output) as result:
        assert int(result["num_processes"]) == processes
        for name, values in scaled_single_process.items():
            if name != "num_processes":
                assert np.array_equal(result[name], values), name
    records = scaled_single_process["records"]      # K, factor, DC, rate, w0 mean, w mean
    assert np.all(records[:, 3] > 0) and np.all(records[:, 1] > 1)
    assert bool(scaled_single_process["still_procedural"])
    assert len(scaled_single_process["spikes"]) > 100


def case_outcomes(text):
    """{case: {(rank, outcome)}} from the lines "rank <r>: <case> <outcome>" of a script."""
    outcomes = {}
    for rank, case, outcome in re.findall(r"rank (\d+): (\S+) (ok|\w+Error)", text):
        outcomes.setdefault(case, set()).add((int(rank), outcome))
    return outcomes


@needs_mpi
@pytest.mark.mpi
def test_rebuilds_stay_collective(tmp_path):
    text = run_script([str(HERE / "edge_cases.py")], 2, tmp_path)
    outcomes = case_outcomes(text)
    expected = {"record-one-process": "ok", "uneven-chunks": "ok", "shorter-delay": "ok",
                "set-shorter-delay": "ok", "get-no-local-cells": "ok", "get-gather": "ok",
                "get-array-gather": "ok", "save-each-process": "ok",
                "initialize-as-one-process": "ok", "auto-min-delay-per-process": "ok",
                "format-refused-by-one-process": "ConnectionError",
                "run-after-refused-format": "ok"}
    for case, outcome in expected.items():
        assert outcomes.get(case) == {(0, outcome), (1, outcome)}, (case, text)


@needs_mpi
@pytest.mark.mpi
def test_set_and_get_stay_collective(tmp_path):
    """A bad value of a Population, PopulationView or Projection set() in one process's
    cells or synapses raises in every process and changes nothing anywhere (then a run
    goes on in both); a single cell's or connection's setter needs no other process; an
    Assembly's get() in a process holding none of its cells."""
    text = run_script([str(HERE / "set_agreement.py")], 2, tmp_path, timeout=90)
    outcomes = case_outcomes(text)
    for case in ("population-set", "view-set", "view-set-one-process", "projection-set-weight",
                 "projection-set-delay", "projection-set-delay-weights", "projection-initialize",
                 "run-after-refused-sets", "population-set-good", "single-cell-set",
                 "assembly-get"):
        assert outcomes.get(case) == {(0, "ok"), (1, "ok")}, (case, text)


@needs_mpi
@pytest.mark.mpi
def test_pynn_distrib_example_runs_with_gpu(tmp_path):
    """PyNN's own MPI example (examples/distrib_example.py), unchanged, in two processes."""
    sys.path.insert(0, str(HERE.parents[1] / "benchmarks"))
    try:
        import pynn_examples
    finally:
        sys.path.pop(0)
    script = pynn_examples.examples_dir() / "distrib_example.py"
    text = run_script([str(script), "gpu"], 2, script.parent)
    assert "This is node 0 (1 of 2)" in text and "This is node 1 (2 of 2)" in text
    assert "gathered (3, again): [0. 1. 2. 3. 4. 0. 1. 2. 3. 4. 5. 6. 7. 8. 9.]" in text


@needs_mpi
@pytest.mark.mpi
def test_an_error_in_one_process_ends_the_job(tmp_path):
    """Without it, the other processes would wait in the next spike exchange for ever."""
    script = tmp_path / "failing.py"
    script.write_text(
        "from mpi4py import MPI\n"
        "import pyNN.gpu as sim\n"
        "sim.setup()\n"
        "cells = sim.Population(64, sim.IF_curr_exp())\n"
        "if sim.rank() == 1:\n"
        "    raise ValueError('only in process 1')\n"
        "sim.run(10.0)\n")
    process = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(script)], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert process.returncode != 0
    assert "only in process 1" in process.stderr


@pytest.mark.nvcc
@pytest.mark.parametrize("precision", ["double", "float"])
def test_the_cuda_source_of_a_process_s_share_compiles_with_nvcc(tmp_path, precision):
    """The CUDA source of one process of three (its words, the lists of combined spikes,
    the lagged propagation), rendered from a network built on the C target and compiled
    for sm_90: no GPU needed."""
    import pynn_gpu
    from pynn_gpu import codegen
    from pynn_gpu.targets import cuda
    if cuda.find_nvcc() is None:
        pytest.skip("nvcc not found")
    sys.path.insert(0, str(HERE.parents[0] / "targets"))
    try:
        from nvcc_check import assert_nvcc_compiles
    finally:
        sys.path.pop(0)
    pynn_gpu.setup(timestep=0.1, target="cpu", precision=precision)
    try:
        sources = pynn_gpu.Population(50, pynn_gpu.SpikeSourcePoisson(rate=20.0))
        cells = pynn_gpu.Population(100, pynn_gpu.IF_cond_exp())
        pynn_gpu.Projection(sources, cells, pynn_gpu.FixedProbabilityConnector(0.3),
                            pynn_gpu.StaticSynapse(weight=0.01, delay=0.5))
        pynn_gpu.Projection(cells, cells, pynn_gpu.FixedProbabilityConnector(0.1),
                            pynn_gpu.TsodyksMarkramSynapse(weight=0.01, delay=1.0))
        pynn_gpu.Projection(sources, cells, pynn_gpu.FixedProbabilityConnector(0.1),
                            pynn_gpu.STDPMechanism(
                                timing_dependence=pynn_gpu.SpikePairRule(),
                                weight_dependence=pynn_gpu.AdditiveWeightDependence(),
                                weight=0.01, delay=0.5))
        pynn_gpu.Projection(sources, cells, pynn_gpu.FixedProbabilityConnector(0.1),
                            pynn_gpu.STDPMechanism(
                                timing_dependence=pynn_gpu.SpikePairRule(),
                                weight_dependence=pynn_gpu.AdditiveWeightDependence(),
                                weight=0.01, delay=1.0, dendritic_delay_fraction=0.5))
        cells.record("spikes")
        pynn_gpu.run(1.0)
        graph = pynn_gpu.simulator.state.engine.graph
    finally:
        pynn_gpu.end()
    graph.exchange_lag = 5
    for group in graph.neuron_groups:
        group.local_words = distributed.local_word_range(group.n_words, 1, 3)
        group.exchanges_spikes = group.keeps_spike_history = True
    source = codegen.generate(graph, "cuda").source
    assert "list_delayed_ng0" in source and "_current_step - EXCHANGE_LAG" in source
    assert "learn_" in source and "deliver_" in source
    assert_nvcc_compiles(source, tmp_path)
