"""
The C target on several threads gives the results of one thread, bit for bit: neuron
updates share out neurons, spike propagation shares out the postsynaptic neurons (each
thread walks every spike's row within its range, so every neuron's input is summed in the
same order as by one thread), and plastic synapses' postsynaptic spikes are applied column
by column.
"""

import numpy as np
import pytest

import pynn_gpu
from pynn_gpu import codegen


def _network(sim):
    rng = sim.NumpyRNG(seed=3)
    source = sim.Population(60, sim.SpikeSourcePoisson(rate=60.0))
    cells = sim.Population(90, sim.IF_cond_exp(tau_refrac=1.0))
    curr = sim.Population(50, sim.IF_curr_exp())
    sim.Projection(source, cells, sim.FixedProbabilityConnector(0.4, rng=rng),
                   sim.StaticSynapse(weight=0.004, delay=sim.RandomDistribution(
                       "uniform", (0.1, 2.0), rng=rng)))
    sim.Projection(source, cells, sim.FixedProbabilityConnector(0.3, rng=rng),
                   sim.TsodyksMarkramSynapse(weight=0.01, U=0.4, tau_rec=50.0))
    sim.Projection(source, cells, sim.AllToAllConnector(),
                   sim.SimpleStochasticSynapse(weight=0.003, p=0.3))
    sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.2, rng=rng),
                   sim.STDPMechanism(sim.SpikePairRule(A_plus=0.02, A_minus=0.025),
                                     sim.AdditiveWeightDependence(w_max=0.01),
                                     weight=0.004, delay=1.0))
    sim.Projection(source, curr, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.05),
                   connectivity_format="bitmask")
    sim.Projection(source, curr, sim.FixedProbabilityConnector(0.6, rng=rng),
                   sim.StaticSynapse(weight=sim.RandomDistribution("uniform", (-0.1, -0.01),
                                                                   rng=rng)),
                   connectivity_format="dense", receptor_type="inhibitory")
    for population in (cells, curr):
        population.record(["spikes", "v"])
    return cells, curr


def _run(threads):
    pynn_gpu.setup(timestep=0.1, target="cpu", threads=threads, rng_seed=21)
    try:
        populations = _network(pynn_gpu)
        pynn_gpu.run(150.0)
        source = codegen.generate(pynn_gpu.simulator.state.engine.graph, "c").source
        results = []
        for population in populations:
            segment = population.get_data().segments[0]
            results.append(([t.magnitude for t in segment.spiketrains],
                            segment.filter(name="v")[0].magnitude))
        return results, source
    finally:
        pynn_gpu.end()


def test_threads_share_out_propagation_and_give_one_thread_s_results(monkeypatch):
    monkeypatch.setattr(codegen, "PARALLEL_MIN_SYNAPSES", 0)     # every function partitioned
    one, source = _run(1)
    assert source.count("#pragma omp parallel\n") >= 4
    learning = source[source.index("static void learn_"):]
    assert "#pragma omp parallel for" in learning[:learning.index("\n}\n")]
    several, _ = _run(3)
    assert sum(len(t) for t in one[0][0]) > 50
    for (spikes_a, v_a), (spikes_b, v_b) in zip(one, several):
        for a, b in zip(spikes_a, spikes_b):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(v_a, v_b)


def test_small_or_unsorted_groups_stay_on_one_thread():
    from pynn_gpu.ir.graph import NeuronGroup, SynapseGroup
    from pynn_gpu.ir.merge import MergedGroup
    model = pynn_gpu.IF_curr_exp.model
    pre = NeuronGroup("ng0", "a", 2000, model, model.receptors, 0)
    post = NeuronGroup("ng1", "b", 2000, model, model.receptors, 1)

    def merged(n, rows_sorted):
        group = SynapseGroup("sg0", "p", pre, post, "exc", n, rows_sorted=rows_sorted)
        return MergedGroup("msg0", "synapse", [group], (), [], [0], 32)

    assert codegen.partitioned_propagation(merged(2 ** 21, True))
    assert not codegen.partitioned_propagation(merged(2 ** 21, False))
    assert not codegen.partitioned_propagation(merged(1000, True))


@pytest.mark.parametrize("shuffle", [False, True])
def test_rows_sorted_is_detected(shuffle):
    from pynn_gpu.synapse_building import _rows_sorted
    post = np.array([0, 3, 7, 1, 2, 2, 9, 0, 5], dtype=np.int32)
    row_ptr = np.array([0, 3, 7, 9])
    if shuffle:
        post[4], post[5] = 4, 3          # row 1 now 1, 4, 3, 9: unsorted
    assert _rows_sorted(post, row_ptr) is (not shuffle)


def _threads_of_a_run(**setup_arguments):
    """The OpenMP thread count a run left set (asked through the loaded library, which
    links OpenMP), and the processors OpenMP sees; None without OpenMP."""
    pynn_gpu.setup(timestep=0.1, target="cpu", **setup_arguments)
    try:
        pynn_gpu.Population(4, pynn_gpu.IF_curr_exp())
        pynn_gpu.run(1.0)
        library = pynn_gpu.simulator.state.engine.program.library
        if not hasattr(library, "omp_get_max_threads"):
            return None
        return library.omp_get_max_threads(), library.omp_get_num_procs()
    finally:
        pynn_gpu.end()


def test_threads_0_after_threads_1_uses_all_cores_again(monkeypatch):
    """OpenMP keeps a thread count for the whole process: threads=0 must set it back, to
    OMP_NUM_THREADS where that is set, else to all cores."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    if _threads_of_a_run(threads=1) is None:
        pytest.skip("the C compiler builds no OpenMP code here")
    assert _threads_of_a_run(threads=1)[0] == 1
    used, cores = _threads_of_a_run()
    if cores < 2:
        pytest.skip("one core: all cores and one thread are the same")
    assert used == cores
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert _threads_of_a_run()[0] == 1
    assert _threads_of_a_run(threads=2)[0] == 2      # setup's own count comes first


_EXPECTED_SYNAPSES = """
import numpy as np
import pynn_gpu as sim
sim.setup(timestep=0.1, target="cpu")
positions = np.random.default_rng(1).uniform(0, 100, (2, 3, 3000))
pre = sim.Population(3000, sim.SpikeSourcePoisson(rate=1.0))
post = sim.Population(3000, sim.IF_curr_exp())
pre.positions, post.positions = positions
projection = sim.Projection(pre, post, sim.DistanceDependentProbabilityConnector(
    "exp(-d/40)", rng=sim.NativeRNG(7)))
print(repr(projection._procedural.expected_synapses(3000, 3000)))
"""


def test_the_expected_synapses_of_a_distance_rule_do_not_depend_on_the_threads(tmp_path):
    """The planner reads them (a format's density threshold): an OpenMP reduction added
    the pairs' probabilities in an order of the thread count's (last bits differed)."""
    import os
    import subprocess
    import sys
    script = tmp_path / "expected.py"
    script.write_text(_EXPECTED_SYNAPSES)
    values = set()
    for threads in ("1", "2", "3"):
        result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                                env={**os.environ, "OMP_NUM_THREADS": threads}, check=True)
        values.add(result.stdout.strip())
    assert len(values) == 1


def test_setup_s_threads_govern_the_host_s_construction_loops_too():
    """The connectivity generators ran with OpenMP's default (every core) until the first
    run set the count: setup() sets it."""
    import ctypes
    try:
        openmp = ctypes.CDLL("libgomp.so.1")
    except OSError:
        pytest.skip("no GNU OpenMP runtime to ask")
    for threads in (1, 2):
        pynn_gpu.setup(timestep=0.1, target="cpu", threads=threads)
        try:
            assert openmp.omp_get_max_threads() == threads
        finally:
            pynn_gpu.end()
