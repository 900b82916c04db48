"""
Stored synapses of generated projections (see pynn_gpu.procedural), built on the GPU.

A kernel counts the synapses of each presynaptic neuron (a thread per row, walking the same
generator the procedural kernels use); the host turns the n_pre counts into row offsets; a
second kernel writes the rows (post index, weight, delay) straight into device memory. The
synapses are never on the host: a script that asks for them (Projection.get, ...) gets the
same ones from the host's generator (procedural.generate), which walks the same code.
"""

import functools

import numpy as np

from .._paths import kernels_dir
from ..codegen import GeneratedCode
from ..procedural import generator_struct
from .cuda import DeviceResident, _launcher

BLOCK = 128

_SOURCE = """/* Generating the stored synapses of a projection on the GPU (pyNN.gpu). */
#include <stdint.h>
#include <math.h>
typedef @SCALAR@ scalar;
#define DEVICE_FN __device__ __forceinline__
#define PG_POST_T int32_t
#define PG_WEIGHT_T scalar
@HEADERS@
extern "C" {
__device__ pg_generator _generator;     /* written by the host before each projection */
__device__ int64_t *_counts;            /* synapses of each presynaptic neuron */
__device__ int64_t *_row_ptr;           /* first synapse of each row */
__device__ int32_t *_post;
__device__ scalar *_weight;
__device__ int32_t *_delay;

__global__ void count_rows(void)
{
    const int64_t pre = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
    if (pre >= _generator.n_pre) return;
    _counts[pre] = pg_row(&_generator, pre, 0, 0, 0, 0);
}

__global__ void fill_rows(void)
{
    const int64_t pre = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
    if (pre >= _generator.n_pre) return;
    pg_row(&_generator, pre, _row_ptr[pre], _post, _weight, _delay);
}
}
"""


@functools.lru_cache(maxsize=None)
def _source(scalar):
    common = kernels_dir() / "common"
    headers = "\n".join((common / name).read_text()
                        for name in ("philox.h", "portable_math.h", "procedural.h"))
    return _SOURCE.replace("@SCALAR@", scalar).replace("@HEADERS@", headers)


def generate_rows(target, spec, n_pre, n_post, dt, scalar_dtype):
    """Generate a projection's rows on the device: (counts, row_ptr) on the host, and the
    post, weight and delay arrays as DeviceResident memory."""
    scalar = "double" if np.dtype(scalar_dtype) == np.float64 else "float"
    module = target.load_module(GeneratedCode("cuda", _source(scalar), []))
    cuda = target._cuda
    grid = (max(1, -(-n_pre // BLOCK)), 1)
    with target.activated():
        stream = cuda.Stream()
        generator = generator_struct(spec, n_pre, n_post, dt)
        cuda.memcpy_htod(module.get_global("_generator")[0],
                         np.frombuffer(bytes(generator), dtype=np.uint8))
        counts_device = cuda.mem_alloc(max(n_pre, 1) * 8)
        _set_pointer(cuda, module, "_counts", counts_device)
        _launcher(module.get_function("count_rows"), grid, (BLOCK, 1, 1))(stream)
        stream.synchronize()
        counts = np.zeros(max(n_pre, 1), np.int64)
        cuda.memcpy_dtoh(counts, counts_device)
        counts_device.free()
        counts = counts[:n_pre]
        row_ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        n = int(row_ptr[-1])
        rows_device = cuda.mem_alloc(row_ptr.nbytes)
        cuda.memcpy_htod(rows_device, row_ptr)
        arrays = {"post": DeviceResident(cuda.mem_alloc(max(n, 1) * 4), n, np.int32),
                  "weight": DeviceResident(cuda.mem_alloc(max(n, 1) * np.dtype(scalar_dtype)
                                                          .itemsize), n, scalar_dtype),
                  "delay": DeviceResident(cuda.mem_alloc(max(n, 1) * 4), n, np.int32)}
        _set_pointer(cuda, module, "_row_ptr", rows_device)
        for name, array in arrays.items():
            _set_pointer(cuda, module, f"_{name}", array.allocation)
        _launcher(module.get_function("fill_rows"), grid, (BLOCK, 1, 1))(stream)
        stream.synchronize()
        rows_device.free()
    return counts, row_ptr, arrays


def _set_pointer(cuda, module, name, allocation):
    cuda.memcpy_htod(module.get_global(name)[0], np.array([int(allocation)], np.uint64))
