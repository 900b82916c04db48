"""
The check that connectivity generated on the CUDA device (FixedProbability, fixed-number and
distance-dependent generators) equals what the host generates, and that a run on it equals
the C target's, whose rows the host generated.
"""

import numpy as np

import pynn_gpu as sim
from pynn_gpu import simulator

from test_cuda_target import _recordings, assert_identical, simulate


def assert_device_builds_what_the_host_builds(generator, network, n_projections, monkeypatch,
                                              emulator, min_synapses=0):
    """`generator`: the module whose generate_rows the CUDA target calls; `network(sim)`
    builds n_projections generated projections and returns the recorded populations;
    `emulator`: the cuda_backend fixture's value (None on a GPU). Returns the C target's
    recordings."""
    drawn_on_device = []
    original = generator.generate_rows

    def keep_a_copy(target, spec, n_pre, n_post, dt, scalar_dtype):
        counts, row_ptr, arrays = original(target, spec, n_pre, n_post, dt, scalar_dtype)
        copies = {}
        for name, resident in arrays.items():
            copies[name] = np.empty(resident.size, resident.dtype)
            target._cuda.memcpy_dtoh(copies[name], resident.allocation)
        drawn_on_device.append((spec, row_ptr, copies))
        return counts, row_ptr, arrays
    monkeypatch.setattr(generator, "generate_rows", keep_a_copy)

    cpu = simulate("cpu", network, 60.0)
    sim.setup(timestep=0.1, target="cuda", rng_seed=4242)       # simulate()'s seed
    try:
        populations = network(sim)
        sim.run(60.0)
        projections = simulator.state.projections
        assert len(simulator.state.engine.device_generated) == len(projections) == n_projections
        assert all("_weights" not in p.__dict__ for p in projections)   # none on the host
        gpu = _recordings(populations)
        assert len(drawn_on_device) == n_projections
        for projection, (spec, row_ptr, device) in zip(projections, drawn_on_device):
            assert spec is projection._procedural
            pre, post, weights, delays = spec.generate(projection.pre.size,
                                                       projection.post.size, 0.1)
            assert len(pre) >= min_synapses
            np.testing.assert_array_equal(np.repeat(np.arange(projection.pre.size),
                                                    np.diff(row_ptr)), pre)
            np.testing.assert_array_equal(device["post"], post)
            np.testing.assert_array_equal(device["weight"], weights)
            np.testing.assert_array_equal(device["delay"], delays)
            # and the projection's own view, generated on the host when asked for
            np.testing.assert_array_equal(projection._pre_index, pre)
            np.testing.assert_array_equal(projection._post_index, post)
    finally:
        sim.end()
    assert_identical(cpu, gpu)
    assert emulator is None or emulator.kernel_launches > 0
    return cpu
