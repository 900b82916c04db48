"""
The check that connectivity generated on the CUDA device (FixedProbability, AllToAll,
OneToOne, fixed-number and distance-dependent generators) equals what the host generates, in
rows or (generate_matrix) as a dense matrix or bitmask, and that a run on it equals the C
target's, whose synapses the host generated.
"""

import numpy as np

import pynn_gpu as sim
from pynn_gpu import simulator
from pynn_gpu.targets import cuda_generation

from test_cuda_target import _recordings, assert_identical, simulate


def assert_device_builds_what_the_host_builds(generator, network, n_projections, monkeypatch,
                                              emulator, min_synapses=0, both_once=None):
    """`generator`: the module whose generate_rows the CUDA target calls; `network(sim)`
    builds n_projections generated projections (and any number of procedural ones, which
    nothing generates) and returns the recorded populations;
    `emulator`: the cuda_backend fixture's value (None on a GPU); `both_once`, if given:
    how many of the projections' rows store both their weight and their delay once. Returns
    the C target's recordings."""
    drawn_on_device, stored_once, scattering = [], [], []
    original = generator.generate_rows
    original_matrix = cuda_generation.generate_matrix

    def copied(target, arrays):
        copies = {}
        for name, resident in arrays.items():
            copies[name] = np.empty(resident.size, resident.dtype)
            if hasattr(resident, "allocation"):
                target._cuda.memcpy_dtoh(copies[name], resident.allocation)
            else:
                copies[name][:] = resident          # one weight and delay (bitmask, rows)
        return copies

    def keep_a_copy(target, spec, n_pre, n_post, dt, scalar_dtype, **options):
        counts, row_ptr, arrays = original(target, spec, n_pre, n_post, dt, scalar_dtype,
                                           **options)
        if scattering:      # rows drawn for a matrix: the matrix is checked
            return counts, row_ptr, arrays
        drawn_on_device.append((spec, row_ptr, copied(target, arrays)))
        # postsynaptic indices in two bytes for up to 65,536 neurons, else four
        assert arrays["post"].dtype == (np.uint16 if n_post <= 1 << 16 else np.int32)
        stored_once.append(len(options.get("once", ())) == 2)
        return counts, row_ptr, arrays

    def keep_a_matrix_copy(target, spec, fmt, n_pre, n_post, dt, scalar_dtype, **options):
        scattering.append(fmt)
        try:
            counts, arrays = original_matrix(target, spec, fmt, n_pre, n_post, dt,
                                             scalar_dtype, **options)
        finally:
            scattering.pop()
        drawn_on_device.append((spec, None, copied(target, arrays)))
        return counts, arrays
    monkeypatch.setattr(generator, "generate_rows", keep_a_copy)
    monkeypatch.setattr(cuda_generation, "generate_matrix", keep_a_matrix_copy)

    cpu = simulate("cpu", network, 60.0)
    sim.setup(timestep=0.1, target="cuda", rng_seed=4242)       # simulate()'s seed
    try:
        populations = network(sim)
        sim.run(60.0)
        assert all("_weights" not in p.__dict__
                   for p in simulator.state.projections)                # none on the host
        projections = [p for p in simulator.state.projections if not p.is_procedural]
        assert len(simulator.state.engine.device_generated) == len(projections) == n_projections
        gpu = _recordings(populations)
        assert len(drawn_on_device) == n_projections
        assert both_once is None or sum(stored_once) == both_once
        for projection, (spec, row_ptr, device) in zip(projections, drawn_on_device):
            assert spec is projection._procedural
            listed = spec.generate(projection.pre.size, projection.post.size, 0.1)
            # the device holds rows by presynaptic neuron; the host may list them otherwise
            rows = np.argsort(listed[0], kind="stable")
            pre, post, weights, delays = (values[rows] for values in listed)
            assert len(pre) >= min_synapses
            if row_ptr is None:
                _assert_matrix(device, projection, pre, post, weights, delays)
            else:
                np.testing.assert_array_equal(np.repeat(np.arange(projection.pre.size),
                                                        np.diff(row_ptr)), pre)
                np.testing.assert_array_equal(device["post"], post)
                for name, values in (("weight", weights), ("delay", delays)):
                    if device[name].size == 1 < len(post):      # stored once
                        assert np.all(values == device[name][0])
                    else:
                        np.testing.assert_array_equal(device[name], values)
            # and the projection's own view, generated on the host when asked for
            np.testing.assert_array_equal(projection._pre_index, listed[0])
            np.testing.assert_array_equal(projection._post_index, listed[1])
    finally:
        sim.end()
    # A neuron's inputs of one step are added in another order than the C target's (lanes
    # and warps run in reverse in the emulation, in any order on a GPU); with three or more
    # in one ring slot the sum can differ in its last bit (fixed-number rows drawn with
    # replacement repeat a target). So: equal spikes, samples within a few units in the
    # last place.
    assert_identical(cpu, gpu, rtol=1e-13)
    assert emulator is None or emulator.kernel_launches > 0
    return cpu


def _assert_matrix(device, projection, pre, post, weights, delays):
    """A dense matrix or bitmask from the device holds the host's synapses."""
    n_post = projection.post.size
    pairs = projection.pre.size * n_post
    index = pre * n_post + post
    if "mask" in device:
        bits = np.unpackbits(device["mask"].view(np.uint8), bitorder="little")[:pairs]
        np.testing.assert_array_equal(np.flatnonzero(bits), np.sort(index))
        assert np.all(weights == device["weight"][0]) and np.all(delays == device["delay"][0])
        return
    expected_weight, expected_delay = np.zeros(pairs), np.ones(pairs, np.int32)
    expected_weight[index], expected_delay[index] = weights, delays
    np.testing.assert_array_equal(device["dense_weight"], expected_weight)
    np.testing.assert_array_equal(device["dense_delay"], expected_delay)
