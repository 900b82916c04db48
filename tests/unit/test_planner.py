"""Propagation strategy, group merging and block sizes: decisions made without a GPU."""

import numpy as np
import pytest
from pyNN import errors

from pynn_gpu import planner
from pynn_gpu.ir.graph import NetworkGraph, NeuronGroup, SynapseGroup
from pynn_gpu.ir.merge import merge_neuron_groups, merge_synapse_groups
from pynn_gpu.standardmodels.cells import IF_cond_exp, IF_curr_exp
from pynn_gpu.standardmodels.synapses import TsodyksMarkramSynapse
from pynn_gpu.targets.occupancy import (DeviceLimits, KernelResources, choose_block_size,
                                        occupancy, resident_blocks)

CURR = IF_curr_exp.model
COND = IF_cond_exp.model


def _group(name, size, model=CURR, key=0):
    return NeuronGroup(name=name, label=name, size=size, model=model,
                       receptors=model.receptors, rng_key=key)


def _synapses(name, pre, post, n, max_row, model=None, strategy="auto", pre_cells=0):
    extra = {} if model is None else {"model": model}
    return SynapseGroup(name=name, label=name, pre=pre, post=post, receptor="exc",
                        n_synapses=n, max_row=max_row, strategy=strategy,
                        pre_cells=pre_cells, **extra)


def test_groups_of_one_model_share_a_kernel_with_warp_aligned_ranges():
    graph = NetworkGraph(dt=0.1, precision="double", ring_length=3)
    graph.neuron_groups = [_group("ng0", 70), _group("ng1", 5, COND), _group("ng2", 33, key=2)]
    merged = merge_neuron_groups(graph)
    assert [[g.name for g in m.members] for m in merged] == [["ng0", "ng2"], ["ng1"]]
    curr = merged[0]
    assert curr.firsts == [0, 96] and curr.total_threads == 96 + 64
    row = dict(zip((f.name for f in curr.fields), curr.rows[1]))
    assert row["size"] == 33 and row["rng_key"] == 2 and row["first"] == 96
    assert row["v"] == "ng2_v" and row["in_exc"] == "ng2_in_exc"
    assert row["i_inj"] is None and row["rec_spikes"] is None   # null pointers: not used


def test_strategy_heuristic_and_override():
    pre, post = _group("ng0", 100), _group("ng1", 1000)
    one_to_one = _synapses("sg0", pre, post, n=100, max_row=1)
    long = _synapses("sg1", pre, post, n=100 * 500, max_row=560)
    assert planner.propagation_strategy(one_to_one) == "pre"
    assert planner.propagation_strategy(long) == "post"
    forced = _synapses("sg2", pre, post, n=100 * 500, max_row=560, strategy="pre")
    assert planner.propagation_strategy(forced) == "pre"
    short = _synapses("sg3", pre, post, n=100 * 10, max_row=20)
    assert planner.propagation_strategy(short) == "post"
    huge = _synapses("sg4", pre, post, n=100 * 1000, max_row=1000 * 1000)
    stp = _synapses("sg5", pre, post, n=100 * 500, max_row=560,
                    model=TsodyksMarkramSynapse.model)
    assert planner.propagation_strategy(stp) == "pre"      # per-neuron last-spike state
    # many presynaptic neurons: "post"'s fixed lanes would each walk many spikes a step
    big = _group("ng2", planner.BALANCED_FROM_PRE)
    assert planner.propagation_strategy(_synapses("sg6", big, post, n=big.size * 80,
                                                  max_row=120)) == "balanced"
    assert planner.propagation_strategy(_synapses("sg7", big, post, n=big.size,
                                                  max_row=1)) == "pre"
    assert planner.propagation_strategy(_synapses("sg8", big, post, n=big.size * 80,
                                                  max_row=120, strategy="post")) == "post"
    assert planner.propagation_strategy(_synapses(
        "sg9", big, post, n=big.size * 80, max_row=120,
        model=TsodyksMarkramSynapse.model)) == "pre"
    graph = NetworkGraph(dt=0.1, precision="double", ring_length=3,
                         neuron_groups=[pre, post],
                         synapse_groups=[one_to_one, long, forced, short, huge, stp])
    plan = planner.plan_propagation(graph)
    assert plan == {"sg0": planner.Propagation("pre", 1, 128),
                    "sg1": planner.Propagation("post", 576, planner.SPIKE_LANES),
                    "sg2": planner.Propagation("pre", 1, 128),
                    # short rows: more lanes, up to the presynaptic neurons
                    "sg3": planner.Propagation("post", 32, 64),
                    # rows longer than the widest: strided
                    "sg4": planner.Propagation("post", planner.POST_MAX_WIDTH,
                                               planner.SPIKE_LANES),
                    "sg5": planner.Propagation("pre", 1, 128)}
    # "pre" and "post" share the kernel of models without per-presynaptic state
    merged = merge_synapse_groups(graph, plan)
    assert [[g.name for g in m.members] for m in merged] == [
        ["sg0", "sg1", "sg2", "sg3", "sg4"], ["sg5"]]
    assert [m.strategy for m in merged] == ["rows", "pre"]
    assert merged[0].total_threads == 128 + 576 * 16 + 128 + 32 * 64 + 1024 * 16
    rows = [dict(zip((f.name for f in merged[0].fields), r)) for r in merged[0].rows]
    assert [(r["width"], r["lanes"]) for r in rows] == [
        (1, 128), (576, 16), (1, 128), (32, 64), (1024, 16)]


def test_balanced_plan_threads_and_kernels(monkeypatch):
    """"balanced": items per spike = the longest row in whole warps; a kernel's threads are
    the most work a step can bring, at most BALANCED_THREADS; at most BALANCED_MAX_GROUPS
    groups a kernel; never merged with "rows" groups."""
    monkeypatch.setattr(planner, "BALANCED_MAX_GROUPS", 2)
    monkeypatch.setattr(planner, "BALANCED_THREADS", 4096)
    pre, post = _group("ng0", 100), _group("ng1", 1000)
    groups = [_synapses("sg0", pre, post, n=100 * 500, max_row=560, strategy="balanced"),
              _synapses("sg1", pre, post, n=100, max_row=1, strategy="balanced"),
              _synapses("sg2", pre, post, n=100 * 500, max_row=560),
              _synapses("sg3", pre, post, n=30, max_row=3, strategy="balanced"),
              _synapses("sg4", pre, post, n=100 * 500, max_row=560, strategy="balanced"),
              _synapses("sg5", pre, post, n=100 * 500, max_row=560, strategy="pre")]
    groups[4].format = groups[5].format = "dense"
    graph = NetworkGraph(dt=0.1, precision="double", ring_length=3,
                         neuron_groups=[pre, post], synapse_groups=groups)
    plan = planner.plan_propagation(graph)
    assert plan["sg0"] == planner.Propagation("balanced", 576, 100)
    assert plan["sg1"] == plan["sg3"] == planner.Propagation("balanced", 32, 100)
    # a dense matrix: a position per postsynaptic neuron; "pre" means "post" there
    assert plan["sg4"] == planner.Propagation("balanced", 1024, 100, "dense")
    assert plan["sg5"] == planner.Propagation("post", 1024, planner.SPIKE_LANES, "dense")
    merged = merge_synapse_groups(graph, plan)
    assert [([g.name for g in m.members], m.strategy) for m in merged] == [
        (["sg0", "sg1"], "rows+balanced"), (["sg2"], "rows"), (["sg3"], "rows+balanced"),
        (["sg4"], "dense+balanced"), (["sg5"], "dense")]
    assert merged[0].total_threads == 4096                  # 576 x 100 + 32 x 100, capped
    assert merged[2].total_threads == 32 * 100
    rows = [dict(zip((f.name for f in merged[0].fields), r)) for r in merged[0].rows]
    assert [r["width"] for r in rows] == [576, 32]


def test_strategy_errors_name_the_choice():
    with pytest.raises(errors.InvalidParameterValueError, match="propagation must be one of"):
        planner.check_strategy("sideways", CURR)
    for strategy in ("post", "balanced"):
        with pytest.raises(errors.InvalidParameterValueError, match="tsodyks"):
            planner.check_strategy(strategy, TsodyksMarkramSynapse.model)


H200 = DeviceLimits(multiprocessors=132)


def test_occupancy_limited_by_registers():
    light = KernelResources(registers_per_thread=32)
    heavy = KernelResources(registers_per_thread=128)
    assert occupancy(256, light, H200) == 1.0
    # 128 registers x 32 lanes = 4096 per warp: 16 warps fit in 65536 registers
    assert resident_blocks(256, heavy, H200) == 2 and occupancy(256, heavy, H200) == 0.25
    assert resident_blocks(1024, KernelResources(registers_per_thread=255), H200) == 0


# (registers per thread, shared memory per block, threads per block) -> resident blocks per
# multiprocessor, as NVIDIA's occupancy calculator (cuda_occupancy.h, CUDA 13.0) gives them
# for compute capability 9.0 (65,536 registers, 233,472 bytes of shared memory per SM)
NVIDIA_SM90 = [((40, 0, 128), 12), ((40, 0, 544), 2), ((45, 0, 640), 2), ((45, 0, 672), 1),
               ((64, 49152, 256), 4), ((90, 0, 160), 4), ((90, 0, 224), 2),
               ((96, 0, 640), 1), ((96, 0, 672), 0), ((255, 0, 256), 1), ((255, 0, 288), 0),
               ((1, 0, 96), 21), ((32, 0, 1024), 2), ((128, 0, 256), 2)]


@pytest.mark.parametrize("case,blocks", NVIDIA_SM90)
def test_resident_blocks_as_nvidia_s_occupancy_calculator(case, blocks):
    """Registers are allocated within each of the 4 sub-partitions (whole-file division
    counted 40-register blocks of 544 threads as 3 where 2 fit, and launches of 672
    threads of 96 registers that the hardware refuses)."""
    registers, shared, block = case
    kernel = KernelResources(registers_per_thread=registers, shared_per_block=shared)
    assert resident_blocks(block, kernel, H200) == blocks


def test_block_size_spreads_small_kernels_and_fills_large_ones():
    kernel = KernelResources(registers_per_thread=32)
    # 77,169 threads: the largest full-occupancy block that still gives each SM a block
    assert choose_block_size(77169, kernel, H200) == 512
    # 4,000 threads cannot give 132 SMs a block at full occupancy: smallest such block
    assert choose_block_size(4000, kernel, H200) == 64
    # a register-heavy kernel: blocks whose registers fit
    heavy = KernelResources(registers_per_thread=200, max_threads_per_block=256)
    size = choose_block_size(10 ** 6, heavy, H200)
    assert size <= 256 and resident_blocks(size, heavy, H200) >= 1


@pytest.mark.parametrize("source,target", [(np.int64, np.int32), (np.int64, np.int64),
                                           (np.int32, np.int32), (np.float64, np.float64),
                                           (np.float64, np.float32), (np.float32, np.float64)])
def test_row_order_gather_equals_numpy(source, target):
    from pynn_gpu import hosttools
    rng = np.random.default_rng(3)
    values = (rng.random(300_000) * 1e6).astype(source)      # above the C path's threshold
    order = rng.permutation(values.size)
    result = hosttools.gather(values, order, target)
    assert result.dtype == np.dtype(target)
    np.testing.assert_array_equal(result, values[order].astype(target))


@pytest.mark.parametrize("shape", [(0, 5), (7, 0), (1, 1), (300, 41)])
def test_recorded_spike_words_decode_to_steps_and_neurons(shape):
    """The C decoder gives the set bits of every word (bit 31 included), by step then
    neuron; checked against a plain loop over the bits."""
    from pynn_gpu import hosttools
    rng = np.random.default_rng(5)
    words = np.where(rng.random(shape) < 0.2, rng.integers(0, 2**32, shape, dtype=np.uint64),
                     0).astype(np.uint32)
    if words.size:
        words.flat[-1] = 0x80000001
    expected = [(s, w * 32 + b) for s in range(shape[0]) for w in range(shape[1])
                for b in range(32) if (int(words[s, w]) >> b) & 1]
    steps, neurons = hosttools.spikes_from_words(words)
    assert steps.dtype == neurons.dtype == np.int64
    assert list(zip(steps.tolist(), neurons.tolist())) == expected


def test_distinct_count_counts_repeated_values_once():
    from pynn_gpu import hosttools
    assert hosttools.distinct_count(np.array([3, 1, 3, 0, 1], np.int64), 5) == 3
    assert hosttools.distinct_count(np.zeros(0, np.int64), 0) == 0
    values = np.random.default_rng(4).integers(0, 1000, 5000)
    assert hosttools.distinct_count(values, 1000) == len(np.unique(values))


def test_plastic_groups_of_one_model_share_a_learning_kernel():
    from pynn_gpu.ir.merge import merge_learning_groups
    from pynn_gpu.standardmodels.plasticity import (AdditiveWeightDependence, SpikePairRule,
                                                    plasticity_model)
    stdp = plasticity_model(SpikePairRule(), AdditiveWeightDependence())
    graph = NetworkGraph(dt=0.1, precision="double", ring_length=3)
    pre, post, other = _group("ng0", 100), _group("ng1", 10), _group("ng2", 40)
    graph.neuron_groups = [pre, post, other]
    graph.synapse_groups = [_synapses("sg0", pre, post, 30, 1, model=stdp),
                            _synapses("sg1", pre, other, 1000, 10, model=stdp),
                            _synapses("sg2", pre, post, 1000, 10)]              # static
    merged = merge_learning_groups(graph)
    assert len(merged) == 1 and [g.name for g in merged[0].members] == ["sg0", "sg1"]
    # a warp per 32 postsynaptic neurons: a thread per neuron, whole warps per group
    assert merged[0].firsts == [0, 32] and merged[0].total_threads == 32 + 64
    row = dict(zip((f.name for f in merged[0].fields), merged[0].rows[1]))
    assert row["post_history"] == "ng2_spike_history" and row["dendritic"] == "sg1_delay"


@pytest.mark.parametrize("precision,post,delay,once,expected", [
    ("double", 65536, 255, False, 11), ("float", 65536, 255, False, 7),
    ("double", 65537, 255, False, 13), ("double", 100, 256, False, 12),
    ("float", 100, 70000, False, 10), ("double", 100_000, 10, True, 4),
    ("float", 10, 10, True, 2)])
def test_ragged_bytes_per_synapse(precision, post, delay, once, expected):
    """Index, weight and delay as the engine stores them (ir.graph.index_type, delay_type)."""
    assert planner.ragged_bytes_per_synapse(precision, post, delay, once) == expected


def test_procedural_from_the_bytes_the_rows_would_take():
    """1 GiB of rows as they would be stored: 1.2e8 drawn synapses take 0.78 GiB in float
    (stored), 9e7 onto 100,000 neurons 1.09 GiB with four-byte indices (procedural), and
    3.5e8 of one weight onto 100,000 neurons 1.30 GiB (procedural)."""
    assert not planner.prefers_procedural(
        1.2e8, planner.ragged_bytes_per_synapse("float", 1000, 20))
    assert planner.prefers_procedural(
        1.2e8, planner.ragged_bytes_per_synapse("double", 1000, 20))
    assert planner.prefers_procedural(
        9e7, planner.ragged_bytes_per_synapse("double", 100_000, 20))
    assert planner.prefers_procedural(
        3.5e8, planner.ragged_bytes_per_synapse("double", 100_000, 20, values_once=True))


def test_the_strategy_of_a_view_counts_the_view_s_neurons():
    """Rows of 100 synapses from a 10-neuron view of 1,000 neurons are not "short" (the
    whole population made them 1 synapse on average: "pre", a thread walking each row), and
    a 50,000-neuron view of 200,000 neurons stays below "balanced"'s 100,000."""
    post = _group("ng1", 100)
    view_of_small = _synapses("sg0", _group("ng0", 1000), post, n=10 * 100, max_row=100,
                              pre_cells=10)
    assert planner.propagation_strategy(view_of_small) == "post"
    view_of_big = _synapses("sg1", _group("ng2", 200_000), post, n=150_000, max_row=12,
                            pre_cells=50_000)
    assert planner.propagation_strategy(view_of_big) == "post"
    whole = _synapses("sg2", _group("ng3", 200_000), post, n=600_000, max_row=12)
    assert planner.propagation_strategy(whole) == "balanced"
