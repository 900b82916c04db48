"""
Stored synapses of generated projections (see pynn_gpu.procedural), built on the GPU.

A kernel counts the synapses of each presynaptic neuron (a thread per row, walking the same
generator the procedural kernels use); the host turns the n_pre counts into row offsets; a
second kernel writes the rows (post index, weight, delay; the post index only when the weight
and the delay are constants, then stored once) straight into device memory. The
synapses are never on the host: a script that asks for them (Projection.get, ...) gets the
same ones from the host's generator (procedural.generate), which walks the same code.

The same generator also fills the other stored formats in device memory (pynn_gpu.planner
says which one a projection gets): a dense matrix (a thread per row clears it, then writes
each synapse at its postsynaptic column), and, for the generators whose pairs follow a fixed
pattern (AllToAll, OneToOne; see pynn_gpu.pattern_connectors), a bitmask (a thread per
32-bit word, so no two threads share one) with the one weight and delay the host knows from
the spec. Every other generator's dense matrix or bitmask (FixedProbability's bitmask, the
fixed-number and distance-dependent connectors') is scattered from rows drawn on the device
first (matrix_from_rows, kernels/cuda/rows_to_matrix.cu), then freed.
"""

import functools

import numpy as np

from .._paths import kernels_dir
from ..codegen import GeneratedCode
from ..pattern_connectors import constant_values
from ..ir.graph import index_type
from ..procedural import ProceduralSpec, generator_struct
from .cuda import DeviceResident, _launcher

BLOCK = 128

_SOURCE = """/* Generating the stored synapses of a projection on the GPU (pyNN.gpu). */
#include <stdint.h>
#include <math.h>
typedef @SCALAR@ scalar;
#define DEVICE_FN __device__ __forceinline__
#define PG_POST_T @POST@
#define PG_WEIGHT_T scalar
#define PG_DELAY_T @DELAY@
@HEADERS@
extern "C" {
__device__ pg_generator _generator;     /* written by the host before each projection */
__device__ int64_t *_counts;            /* synapses of each presynaptic neuron */
__device__ int64_t *_row_ptr;           /* first synapse of each row */
__device__ PG_POST_T *_post;
__device__ scalar *_weight;
__device__ PG_DELAY_T *_delay;
__device__ uint32_t *_mask;

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

/* Row pre of an n_pre x n_post matrix: unconnected pairs weigh 0 with delay 1 (as the host
   fills them), then the synapses at their columns. */
__global__ void fill_dense(void)
{
    const int64_t pre = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
    if (pre >= _generator.n_pre) return;
    const int64_t row = pre * _generator.n_post;
    for (int64_t post = 0; post < _generator.n_post; ++post) {
        _weight[row + post] = (scalar) 0;
        _delay[row + post] = 1;
    }
    pg_row_at(&_generator, pre, row, 1, 0, _weight, _delay);
}

/* Word w of the bitmask: bit b is pair 32 w + b = pre * n_post + post. */
__global__ void fill_mask(void)
{
    const int64_t word = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
    const int64_t pairs = _generator.n_pre * _generator.n_post;
    if (word * 32 >= pairs) return;
    uint32_t bits = 0u;
    for (int b = 0; b < 32 && word * 32 + b < pairs; ++b) {
        const int64_t pair = word * 32 + b;
        if (pg_pattern_connects(&_generator, pair / _generator.n_post, pair % _generator.n_post))
            bits |= 1u << b;
    }
    _mask[word] = bits;
}
}
"""


@functools.lru_cache(maxsize=None)
def _source(scalar, delay, post="int32_t"):
    common = kernels_dir() / "common"
    headers = "\n".join((common / name).read_text()
                        for name in ("philox.h", "portable_math.h", "procedural.h"))
    return (_SOURCE.replace("@SCALAR@", scalar).replace("@DELAY@", delay)
            .replace("@POST@", post).replace("@HEADERS@", headers))


def _count_rows(kernels, spec, n_pre, n_post, dt, post_range=None):
    """The generator set up on the device, and the synapses of each presynaptic neuron
    (onto post_range's neurons only, if given: over several processes, the process's)."""
    kernels.set_struct("_generator", generator_struct(spec, n_pre, n_post, dt, post_range))
    kernels.allocate("_counts", max(n_pre, 1) * 8)
    kernels.launch("count_rows", n_pre)
    return kernels.download("_counts", max(n_pre, 1), np.int64)[:n_pre]


def generate_rows(target, spec, n_pre, n_post, dt, scalar_dtype, post_range=None,
                  once=(), delay_dtype=np.int32, post_dtype=np.int32):
    """Generate a projection's rows on the device (onto post_range's neurons only, if
    given: over several processes, the process's): (counts, row_ptr) on the host, and the
    post, weight and delay arrays (as `post_dtype`, the scalar and `delay_dtype`) as
    DeviceResident memory; those of `once` (constant in the spec: "weight", "delay") as
    one value each, on the host. Every device generator answers alike
    (cuda_fixed_number, cuda_distance_probability)."""
    module = _module(target, scalar_dtype, delay_dtype, post_dtype)
    with target.activated():
        kernels = GenerationKernels(target._cuda, module)
        counts = _count_rows(kernels, spec, n_pre, n_post, dt, post_range)
        row_ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        kernels.upload("_row_ptr", row_ptr)
        arrays = kernels.row_arrays(int(row_ptr[-1]), spec, dt, scalar_dtype, delay_dtype,
                                    post_dtype, once)
        kernels.launch("fill_rows", n_pre)
        kernels.free_temporaries()
    return counts, row_ptr, arrays


def fills_directly(spec, fmt):
    """Whether the generator itself fills a projection's dense matrix or bitmask (a thread
    per row, or per 32-bit word of pairs that follow a fixed pattern: AllToAll, OneToOne),
    rather than its rows being drawn first and then scattered (matrix_from_rows)."""
    return isinstance(spec, ProceduralSpec) and (fmt == "dense" or spec.connects_all)


def generate_matrix(target, spec, fmt, n_pre, n_post, dt, scalar_dtype, post_range=None,
                    delay_dtype=np.int32, rows=None):
    """Generate a projection as a dense matrix or a bitmask on the device: (counts on the
    host, the format's arrays, device-resident where they grow with the pairs), keyed as the
    engine names them. `rows`: the generate_rows of the projection's generator (this
    module's, cuda_fixed_number's or cuda_distance_probability's), for the matrices its
    generator does not fill directly."""
    if not fills_directly(spec, fmt):
        options = {} if post_range is None else {"post_range": post_range}
        return matrix_from_rows(target, rows, spec, fmt, n_pre, n_post, dt, scalar_dtype,
                                delay_dtype, **options)
    module = _module(target, scalar_dtype, delay_dtype)
    pairs = n_pre * n_post
    with target.activated():
        kernels = GenerationKernels(target._cuda, module)
        counts = _count_rows(kernels, spec, n_pre, n_post, dt, post_range)
        if fmt == "dense":
            device = kernels.synapse_arrays(pairs, scalar_dtype, ("weight", "delay"),
                                            delay_dtype)
            kernels.launch("fill_dense", n_pre)
            arrays = {"dense_weight": device["weight"], "dense_delay": device["delay"]}
        else:
            words = -(-pairs // 32)
            mask = kernels.resident("_mask", words, np.uint32)
            kernels.launch("fill_mask", words)
            arrays = {"mask": mask, **constant_values(spec, dt, scalar_dtype, delay_dtype)}
        kernels.free_temporaries()
    return counts, arrays


def matrix_from_rows(target, generate_rows, spec, fmt, n_pre, n_post, dt, scalar_dtype,
                     delay_dtype, **options):
    """A dense matrix or bitmask scattered on the device from the rows `generate_rows`
    draws there first (for a bitmask, which the planner gives only to projections of one
    weight and one delay, the postsynaptic indices only); the rows are freed after.
    Returns what generate_matrix returns."""
    post_dtype = index_type(n_post)[1]
    counts, row_ptr, rows = generate_rows(
        target, spec, n_pre, n_post, dt, scalar_dtype, delay_dtype=delay_dtype,
        post_dtype=post_dtype, once=("weight", "delay") if fmt == "bitmask" else (),
        **options)
    module = target.load_module(GeneratedCode("cuda", _matrix_source(
        scalar_name(scalar_dtype), ctype_name(delay_dtype), ctype_name(post_dtype)), []))
    pairs = n_pre * n_post
    with target.activated():
        kernels = GenerationKernels(target._cuda, module)
        kernels.set_int64(n_pre=n_pre, n_post=n_post)
        kernels.upload("_row_ptr", row_ptr)
        kernels.point("_post", rows["post"].allocation)
        if fmt == "dense":
            kernels.point("_weight", rows["weight"].allocation)
            kernels.point("_delay", rows["delay"].allocation)
            arrays = {"dense_weight": kernels.resident("_dense_weight", pairs, scalar_dtype),
                      "dense_delay": kernels.resident("_dense_delay", pairs, delay_dtype)}
            kernels.launch("clear_dense", pairs)
            kernels.launch("scatter_dense", n_pre)
        else:
            words = -(-pairs // 32)
            arrays = {"mask": kernels.resident("_mask", words, np.uint32),
                      "weight": rows["weight"], "delay": rows["delay"]}
            kernels.launch("clear_mask", words)
            kernels.launch("scatter_mask", n_pre)
        kernels.free_temporaries()
        for array in rows.values():
            if isinstance(array, DeviceResident):
                array.allocation.free()
    return counts, arrays


@functools.lru_cache(maxsize=None)
def _matrix_source(scalar, delay, post):
    text = (kernels_dir() / "cuda" / "rows_to_matrix.cu").read_text()
    return (f"#define PG_SCALAR {scalar}\n#define PG_DELAY_T {delay}\n"
            f"#define PG_POST_T {post}\n" + text)


def _module(target, scalar_dtype, delay_dtype, post_dtype=np.int32):
    return target.load_module(GeneratedCode("cuda", _source(
        scalar_name(scalar_dtype), ctype_name(delay_dtype), ctype_name(post_dtype)), []))


def scalar_name(dtype):
    return "double" if np.dtype(dtype) == np.float64 else "float"


def ctype_name(dtype):
    """The C name of an integer type (the stored delays' or postsynaptic indices')."""
    return {np.dtype(np.uint8): "uint8_t", np.dtype(np.uint16): "uint16_t",
            np.dtype(np.int32): "int32_t"}[np.dtype(dtype)]


class GenerationKernels:
    """A generation module's kernels and the temporary device arrays its globals point to
    (every generator on the device uses these steps)."""

    def __init__(self, cuda, module):
        self.cuda, self.module = cuda, module
        self.stream = cuda.Stream()
        self.temporaries = {}

    def set_global(self, name, values):
        self.cuda.memcpy_htod(self.module.get_global(name)[0], values)

    def set_int64(self, **values):
        """int64 globals of the module, each named by its keyword with a leading '_'."""
        for name, value in values.items():
            self.set_global(f"_{name}", np.array([value], np.int64))

    def set_struct(self, name, struct):
        """A ctypes structure into the module's global of that layout."""
        self.set_global(name, np.frombuffer(bytes(struct), dtype=np.uint8))

    def allocate(self, name, nbytes):
        if name in self.temporaries:        # replaced: the old array is not needed any more
            self.temporaries.pop(name).free()
        allocation = self.cuda.mem_alloc(max(nbytes, 1))
        self.temporaries[name] = allocation
        self.point(name, allocation)
        return allocation

    def upload(self, name, values):
        values = np.ascontiguousarray(values)
        self.cuda.memcpy_htod(self.allocate(name, values.nbytes), values)

    def download(self, name, size, dtype):
        values = np.empty(size, dtype)
        self.cuda.memcpy_dtoh(values, self.temporaries[name])
        return values

    def synapse_arrays(self, n, scalar_dtype, names=("post", "weight", "delay"),
                       delay_dtype=np.int32, post_dtype=np.int32):
        """post, weight and delay (or those of `names`) of n synapses in device memory that
        the projection keeps (DeviceResident), pointed to by the module's _post, _weight
        and _delay."""
        dtypes = {"post": post_dtype, "weight": scalar_dtype, "delay": delay_dtype}
        arrays = {name: self._resident(n, dtypes[name]) for name in names}
        for name, array in arrays.items():
            self.point(f"_{name}", array.allocation)
        return arrays

    def row_arrays(self, n, spec, dt, scalar_dtype, delay_dtype, post_dtype, once=()):
        """The arrays of n synapses in rows, as synapse_arrays gives them; those named in
        `once` (the weight, the delay: constant in the spec) as their one value, on the host
        (the module's pointer to it null: nothing is written there)."""
        names = ("post",) + tuple(name for name in ("weight", "delay") if name not in once)
        arrays = self.synapse_arrays(n, scalar_dtype, names, delay_dtype, post_dtype)
        if once:
            self.point_nowhere(*(f"_{name}" for name in once))
            values = constant_values(spec, dt, scalar_dtype, delay_dtype)
            arrays.update({name: values[name] for name in once})
        return arrays

    def resident(self, name, size, dtype):
        """Device memory the projection keeps (DeviceResident), pointed to by global `name`."""
        array = self._resident(size, dtype)
        self.point(name, array.allocation)
        return array

    def _resident(self, size, dtype):
        allocation = self.cuda.mem_alloc(max(size, 1) * np.dtype(dtype).itemsize)
        return DeviceResident(allocation, size, dtype)

    def point(self, name, allocation):
        """The module's pointer global `name` at a device allocation."""
        self.set_global(name, np.array([int(allocation)], np.uint64))

    def point_nowhere(self, *names):
        """Null pointers in these globals: the kernels write nothing there (a module is
        shared by projections, so a pointer left from the one before would be written)."""
        for name in names:
            self.set_global(name, np.zeros(1, np.uint64))

    def launch(self, name, threads):
        grid = (max(1, -(-threads // BLOCK)), 1)
        _launcher(self.module.get_function(name), grid, (BLOCK, 1, 1))(self.stream)
        self.stream.synchronize()

    def free_temporaries(self):
        for allocation in self.temporaries.values():
            allocation.free()
        self.temporaries.clear()
