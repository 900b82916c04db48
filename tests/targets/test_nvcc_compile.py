"""
The generated CUDA source compiles with nvcc, for every standard model and feature, in both
precisions. Needs nvcc, not a GPU: the networks are built and run on the C target and the
CUDA source is generated from the same graph.
"""

import inspect
import re
import subprocess

import pytest

import pynn_gpu
from pynn_gpu import codegen, simulator
from pynn_gpu.standardmodels import electrodes, list_standard_models
from pynn_gpu.targets import cuda
from nvcc_check import generated_cuda_source

pytestmark = [
    pytest.mark.nvcc,
    pytest.mark.skipif(cuda.find_nvcc() is None, reason="nvcc not found"),
]

SOURCE_TYPES = ("SpikeSourceArray", "SpikeSourcePoisson", "SpikeSourcePoissonRefractory",
                "SpikeSourceGamma", "SpikeSourceInhGamma")


def _electrode_classes():
    return [cls for _, cls in inspect.getmembers(electrodes, inspect.isclass)
            if cls.__module__ == electrodes.__name__ and hasattr(cls, "model")]


def _compositions(sim):
    """PointNeuron compositions: one per integration scheme, every receptor kind."""
    curr = sim.CurrExpPostSynapticResponse
    return {
        "PointNeuron_lif_curr": sim.PointNeuron(sim.LIF(), excitatory=curr(), inhibitory=curr(),
                                                slow=curr(tau_syn=20.0)),
        "PointNeuron_lif_cond": sim.PointNeuron(sim.LIF(), AMPA=sim.ExpPSR(), NMDA=sim.BetaPSR(),
                                                GABAA=sim.AlphaPSR(e_syn=-70.0)),
        "PointNeuron_adexp_cond": sim.PointNeuron(sim.AdExp(), AMPA=sim.ExpPSR(),
                                                  NMDA=sim.BetaPSR(),
                                                  GABAA=sim.AlphaPSR(e_syn=-70.0)),
        "PointNeuron_adexp_curr": sim.PointNeuron(sim.AdExp(), excitatory=curr(),
                                                  inhibitory=curr()),
    }


def _build_everything(sim):
    """One population of every standard cell type, driven through every receptor by both
    spike source types with heterogeneous delays, every electrode, every recordable."""
    rng = sim.NumpyRNG(seed=7)
    array = sim.Population(3, sim.SpikeSourceArray(spike_times=[[0.3, 1.0], [0.5], []]))
    poisson = sim.Population(40, sim.SpikeSourcePoisson(rate=800.0))
    populations = {"SpikeSourceArray": array, "SpikeSourcePoisson": poisson}
    for name in list_standard_models():
        if name not in SOURCE_TYPES[:2]:
            populations[name] = sim.Population(40, getattr(sim, name)())
    for name, celltype in _compositions(sim).items():
        populations[name] = sim.Population(40, celltype)
    for name, population in populations.items():
        celltype = population.celltype
        recordable = [v for v in celltype.recordable if v == "spikes"
                      or getattr(celltype, "variable_map", {}).get(v, v)
                      in celltype.model.state_names]
        population.record(recordable, sampling_interval=0.2 if name.endswith("alpha") else None)
        if name in SOURCE_TYPES:
            continue
        current_based = not population.celltype.conductance_based
        for receptor in population.celltype.receptor_types:
            sign = -1 if receptor == "inhibitory" and current_based else 1
            for source in (array, poisson):
                delays = sim.RandomDistribution("uniform", (0.1, 1.5), rng=rng)
                projection = sim.Projection(
                    source, population, sim.FixedProbabilityConnector(0.5, rng=rng),
                    sim.StaticSynapse(weight=sign * 0.01, delay=delays),
                    receptor_type=receptor)
                if source is poisson:       # as rows: the strategies apply to rows
                    projection.connectivity_format = "ragged"
                    projection.propagation = "balanced"
        for cls in _electrode_classes():
            cls().inject_into(population[::2])
    sim.StepCurrentSource(times=[0.2, 0.5], amplitudes=[0.1, 0.0]).inject_into(
        populations["IF_curr_exp"])
    populations.update(_random_sources(sim))
    _generated_input(sim, populations["IF_curr_exp"])
    _gap_junctions(sim, populations)
    return populations


def _gap_junctions(sim, populations):
    """Gap junctions within one population and between populations of different models."""
    sim.Projection(populations["IF_curr_exp"], populations["IF_curr_exp"],
                   sim.FixedProbabilityConnector(0.1, rng=sim.NumpyRNG(seed=3)),
                   sim.ElectricalSynapse(weight=0.001))
    sim.Projection(populations["HH_cond_exp"], populations["EIF_cond_exp_isfa_ista"],
                   sim.OneToOneConnector(), sim.ElectricalSynapse(weight=0.002))


def _generated_input(sim, target):
    """PoissonDrives (one into all of `target`, computed by its update kernel; one into a
    part, with a kernel of its own) and procedural projections into `target`."""
    sim.PoissonDrive(rate=5000.0, weight=0.01).inject_into(target)
    sim.PoissonDrive(rate=2000.0, weight=-0.02, receptor_type="inhibitory").inject_into(
        target[::2])
    rng = sim.NativeRNG(seed=9)
    noise = sim.Population(30, sim.SpikeSourcePoisson(rate=100.0))
    for p in (0.3, 1.0):
        sim.Projection(noise, target, sim.FixedProbabilityConnector(p, rng=rng),
                       sim.StaticSynapse(weight=sim.RandomDistribution(
                           "normal_clipped", mu=0.01, sigma=0.002, low=0.0, high=1.0, rng=rng),
                           delay=sim.RandomDistribution("uniform", (0.1, 2.0), rng=rng)),
                       connectivity_format="procedural")
    for fmt in ("dense", "bitmask"):
        sim.Projection(noise, target, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.01, delay=1.0), connectivity_format=fmt)


def _random_sources(sim):
    """The spike sources of sources.py, recorded and projecting onto a cell population."""
    from pyNN.parameters import Sequence
    sources = {
        "SpikeSourcePoissonRefractory": sim.SpikeSourcePoissonRefractory(rate=500.0,
                                                                         tau_refrac=1.0),
        "SpikeSourceGamma": sim.SpikeSourceGamma(alpha=3, beta=900.0),
        "SpikeSourceInhGamma": sim.SpikeSourceInhGamma(a=Sequence([2.0, 4.0]),
                                                       b=Sequence([0.01, 0.005]),
                                                       tbins=Sequence([0.0, 0.5])),
    }
    target = sim.Population(10, sim.IF_curr_exp())
    populations = {}
    for name, celltype in sources.items():
        population = sim.Population(20, celltype)
        population.record("spikes")
        sim.Projection(population, target, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.01, delay=0.5))
        populations[name] = population
    return populations


def _cuda_source(precision):
    sim = pynn_gpu
    sim.setup(timestep=0.1, target="cpu", precision=precision)
    try:
        _build_everything(sim)
        sim.run(1.0)
        return codegen.generate(simulator.state.engine.graph, "cuda")
    finally:
        sim.end()


@pytest.mark.parametrize("precision", ["double", "float"])
def test_every_model_compiles(precision, tmp_path):
    code = _cuda_source(precision)
    graph_models = set(re.findall(r"\d+ x (\w+)", code.source))
    assert {"if_curr_exp", "if_curr_alpha", "if_cond_exp", "if_cond_alpha",
            "spike_source_poisson", "spike_source_array", "if_curr_delta",
            "if_cond_exp_gsfa_grr", "eif_cond_exp_isfa_ista", "eif_cond_alpha_isfa_ista",
            "hh_cond_exp", "izhikevich", "gif_cond_exp"} <= graph_models
    assert {getattr(pynn_gpu, name).model.name for name in list_standard_models()} \
        <= graph_models
    assert {celltype.model.name for celltype in _compositions(pynn_gpu).values()} \
        <= graph_models
    assert {"spike_source_poisson_refractory", "spike_source_gamma",
            "spike_source_inh_gamma"} <= graph_models
    electrode_models = set(re.findall(r"Current sources [^(]*\(\d+ x (\w+)\)", code.source))
    assert {"dc_source", "ac_source", "step_current_source",
            "noisy_current_source", "poisson_drive"} <= electrode_models
    assert "{   /* poisson_drive into receptor exc */" in code.source     # fused
    assert "procedural: position j of a spike's work regenerates" in code.source
    assert "dense connectivity: position j" in code.source
    assert 'strategy "balanced"' in code.source
    assert "bitmask connectivity: position j" in code.source
    kernels = re.findall(r"^//@launch (\w+) \d+$", code.source, re.M)
    assert any(k.startswith("inject_") for k in kernels)
    assert any(k.startswith("propagate_") for k in kernels)
    assert any(k.startswith("sample_") for k in kernels)
    assert [k for k in kernels if k.startswith("couple_")] == ["couple_mgj0"]
    # the last kernel of a step ends it: no launch of its own for the clock
    assert "advance_step" not in kernels
    entry = re.search(r"__global__ void %s\(void\)\n\{\n[^}]*\}" % kernels[-1], code.source)
    assert "end_step();" in entry.group(0)
    assert code.source.count("end_step();") == 1
    assert f"typedef {precision} scalar;" in code.source

    source = tmp_path / "simulation.cu"
    source.write_text(code.source)
    cubin = tmp_path / "simulation.cubin"
    result = subprocess.run(cuda.nvcc_command(cuda.find_nvcc(), source, cubin, arch="sm_90"),
                            capture_output=True, text=True)
    assert result.returncode == 0, f"nvcc failed:\n{result.stderr}"
    binary = cubin.read_bytes()
    for kernel in kernels:     # extern "C": the symbol names are the kernel names
        assert kernel.encode() in binary, kernel


def _many_projections(n_populations):
    def build(sim):
        populations = [sim.Population(4, sim.IF_curr_exp()) for _ in range(n_populations)]
        for pre in populations:
            for post in populations:
                sim.Projection(pre, post, sim.FixedProbabilityConnector(0.5),
                               sim.StaticSynapse(weight=0.1, delay=1.0))
    return build


@pytest.mark.parametrize("n_populations,memory", [(4, "__constant__"), (25, "__device__")])
def test_pointers_and_tables_of_hundreds_of_projections_compile(n_populations, memory,
                                                                 tmp_path):
    """Array pointers and struct tables stay in the 64 KiB of __constant__ memory while
    they fit; 625 projections need more (about 85 KB), so they go to global memory."""
    source = generated_cuda_source(_many_projections(n_populations))
    assert f"{memory} struct" in source and f"{memory} int32_t *" in source
    path = tmp_path / "simulation.cu"
    path.write_text(source)
    result = subprocess.run(cuda.nvcc_command(cuda.find_nvcc(), path, tmp_path / "out.cubin",
                                              arch="sm_90"), capture_output=True, text=True)
    assert result.returncode == 0, f"nvcc failed:\n{result.stderr}"


def test_nvcc_command_keeps_double_results_exact():
    command = cuda.nvcc_command("nvcc", "a.cu", "a.cubin", arch="sm_90")
    assert "--fmad=false" in command
    assert not any("fast-math" in part or "fast_math" in part for part in command)
    assert command[:2] == ["nvcc", "-arch=sm_90"] and "-cubin" in command


def test_launch_plan_threads():
    """Neuron kernels get whole warps (the spike ballot needs all lanes), per group."""
    sim = pynn_gpu
    sim.setup(timestep=0.1, target="cpu")
    try:
        sim.Population(33, sim.IF_curr_exp())
        sim.Population(5, sim.IF_curr_exp())
        sim.run(0.1)
        code = codegen.generate(simulator.state.engine.graph, "cuda")
    finally:
        sim.end()
    plan = re.findall(r"^//@launch (\w+) (\d+)$", code.source, re.M)
    assert plan == [("update_mng0", str(64 + 32))]
    assert code.tables[0].firsts == [0, 64]


def test_a_network_without_kernels_still_advances_its_clock():
    sim = pynn_gpu
    sim.setup(timestep=0.1, target="cpu")
    try:
        sim.run(0.1)
        code = codegen.generate(simulator.state.engine.graph, "cuda")
    finally:
        sim.end()
    assert re.findall(r"^//@launch (\w+) (\d+)$", code.source, re.M) == [("advance_step", "1")]


def _cubin(tmp_path, name, source_text):
    """nvcc's cubin of `source_text` (sm_90), after checking that it compiled."""
    source = tmp_path / f"{name}.cu"
    source.write_text(source_text)
    cubin = tmp_path / f"{name}.cubin"
    result = subprocess.run(cuda.nvcc_command(cuda.find_nvcc(), source, cubin, arch="sm_90"),
                            capture_output=True, text=True)
    assert result.returncode == 0, f"nvcc failed:\n{result.stderr}"
    return cubin.read_bytes()


# the precisions, the delay types of rings of up to 256 slots, 65,536, and more, and the
# postsynaptic index types of populations of up to 65,536 neurons and more
GENERATION_TYPES = [("double", "uint8_t", "uint16_t"), ("float", "uint16_t", "int32_t"),
                    ("double", "int32_t", "uint16_t")]


@pytest.mark.parametrize("scalar,delay,post", GENERATION_TYPES)
def test_connectivity_generation_kernels_compile(tmp_path, scalar, delay, post):
    """The kernels that build generated projections' rows, dense matrices and bitmasks on
    the GPU."""
    from pynn_gpu.targets import cuda_generation
    binary = _cubin(tmp_path, "generation", cuda_generation._source(scalar, delay, post))
    for kernel in (b"count_rows", b"fill_rows", b"fill_dense", b"fill_mask"):
        assert kernel in binary, kernel


@pytest.mark.parametrize("scalar,delay,post", GENERATION_TYPES)
def test_rows_to_matrix_kernels_compile(tmp_path, scalar, delay, post):
    """The kernels that scatter rows drawn on the GPU into a dense matrix or a bitmask."""
    from pynn_gpu.targets import cuda_generation
    binary = _cubin(tmp_path, "rows_to_matrix",
                    cuda_generation._matrix_source(scalar, delay, post))
    for kernel in (b"clear_dense", b"clear_mask", b"scatter_dense", b"scatter_mask"):
        assert kernel in binary, kernel


@pytest.mark.parametrize("scalar,delay,post", GENERATION_TYPES)
def test_fixed_number_generation_kernels_compile(tmp_path, scalar, delay, post):
    """The kernels that draw fixed-number projections' rows on the GPU (here with columns'
    presynaptic partners of another type than the postsynaptic indices)."""
    from pynn_gpu.targets import cuda_fixed_number
    partner = "int32_t" if post == "uint16_t" else "uint16_t"
    binary = _cubin(tmp_path, "fixed_number",
                    cuda_fixed_number._source(scalar, delay, post, partner))
    for kernel in (b"draw_rows", b"draw_lines", b"count_onto", b"fill_onto", b"count_rows",
                   b"scatter_rows", b"sort_rows", b"fill_rows"):
        assert kernel in binary, kernel


@pytest.mark.parametrize("scalar,delay,post", GENERATION_TYPES)
def test_distance_probability_generation_kernels_compile(tmp_path, scalar, delay, post):
    """The kernels that decide distance-dependent projections' rows on the GPU, with an
    expression using every helper the translator may call."""
    from pynn_gpu import distance_expression
    from pynn_gpu.targets import cuda_distance_probability
    probability = distance_expression.translate(
        "exp(-d/3) * (d < 5 and not d > 4 or d == 1) + log(d + 1) ** 2 / 9 + "
        "min(sqrt(d), 0.1) * pow(d, 0.3) + (0.1 if cos(d) > sin(d) else tan(d)) + "
        "max(floor(d), ceil(d), fabs(d))")
    source = tmp_path / "distance.cu"
    source.write_text(cuda_distance_probability._source(scalar, delay, post,
                                                                probability))
    cubin = tmp_path / "distance.cubin"
    result = subprocess.run(cuda.nvcc_command(cuda.find_nvcc(), source, cubin, arch="sm_90"),
                            capture_output=True, text=True)
    assert result.returncode == 0, f"nvcc failed:\n{result.stderr}"
    for kernel in (b"count_chunks", b"fill_chunks"):
        assert kernel in cubin.read_bytes()


def _update_registers(precision, fuse, tmp_path, monkeypatch):
    """Registers per thread of the update kernel of 200 IF_curr_exp neurons with a
    PoissonDrive, with the drive computed by that kernel (fuse) or by its own."""
    if not fuse:
        monkeypatch.setattr(codegen, "fused_drives", lambda graph: {})
    sim = pynn_gpu
    sim.setup(timestep=0.1, target="cpu", precision=precision)
    try:
        cells = sim.Population(200, sim.IF_curr_exp())
        sim.PoissonDrive(rate=16000.0, weight=0.05).inject_into(cells)
        sim.run(0.2)
        code = codegen.generate(simulator.state.engine.graph, "cuda")
    finally:
        sim.end()
        monkeypatch.undo()
    source = tmp_path / f"drive_{fuse}.cu"
    source.write_text(code.source)
    command = cuda.nvcc_command(cuda.find_nvcc(), source, tmp_path / "drive.cubin") + [
        "-Xptxas", "-v"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    entries = dict(re.findall(r"Compiling entry function '(\w+)'[^\n]*\n(?:[^\n]*\n)*?"
                              r"[^\n]*Used (\d+) registers", result.stderr))
    return int(entries["update_mng0"]), "inject_mcs0" in entries


@pytest.mark.parametrize("precision", ["double", "float"])
def test_a_fused_drive_keeps_the_update_kernel_s_occupancy(precision, tmp_path, monkeypatch):
    """The drive's random numbers are drawn before the neuron's state is loaded, so the
    update kernel needs few more registers and keeps at least half the thread slots of a
    multiprocessor. (With the drive after the loads: 96 registers instead of 55 in double,
    a third of the slots, and a microcircuit step a tenth slower on an H200.)"""
    from pynn_gpu.targets.occupancy import (DeviceLimits, KernelResources, choose_block_size,
                                            occupancy)
    fused, fused_has_inject = _update_registers(precision, True, tmp_path, monkeypatch)
    alone, alone_has_inject = _update_registers(precision, False, tmp_path, monkeypatch)
    assert not fused_has_inject and alone_has_inject
    h200, kernel = DeviceLimits(), KernelResources(fused)
    assert occupancy(choose_block_size(77169, kernel, h200), kernel, h200) >= 0.5, (fused, alone)


@pytest.mark.parametrize("precision", ["double", "float"])
def test_a_balanced_kernel_of_the_most_groups_keeps_its_occupancy(precision, tmp_path):
    """A "balanced" propagation kernel of BALANCED_MAX_GROUPS groups (8 populations all
    connected, as in the microcircuit): every thread adds up the groups' work in batches,
    so it needs few registers (all groups at once took 180: a sixth of the thread slots)."""
    from pynn_gpu import planner
    from pynn_gpu.targets.occupancy import DeviceLimits, KernelResources, occupancy

    def network(sim):
        populations = [sim.Population(40, sim.IF_curr_exp()) for _ in range(8)]
        rng = sim.NumpyRNG(seed=1)
        for pre in populations:
            for post in populations:
                sim.Projection(pre, post, sim.FixedProbabilityConnector(0.2, rng=rng),
                               sim.StaticSynapse(weight=0.1, delay=sim.RandomDistribution(
                                   "uniform", (0.1, 2.0), rng=rng)),
                               connectivity_format="ragged").propagation = "balanced"

    source = generated_cuda_source(network, precision)
    assert planner.BALANCED_MAX_GROUPS == 64
    assert source.count('strategy "balanced"') == 1
    path = tmp_path / "balanced.cu"
    path.write_text(source)
    command = cuda.nvcc_command(cuda.find_nvcc(), path, tmp_path / "balanced.cubin") + [
        "-Xptxas", "-v"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    entry = re.search(r"Compiling entry function 'propagate_msg0'.*?Used (\d+) registers",
                      result.stderr, re.S)
    registers = int(entry.group(1))
    kernel = KernelResources(registers)
    assert occupancy(1024, kernel, DeviceLimits()) >= 0.5, registers
