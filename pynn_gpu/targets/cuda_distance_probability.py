"""
Stored synapses of distance-dependent projections (see pynn_gpu.distance_probability), built
on the GPU by kernels/cuda/distance_probability_generate.cu. The positions go to the device,
the synapse counts of each (row, chunk of postsynaptic neurons) come back to be summed into
offsets; the synapses are decided into device memory and stay there. A script that asks for
them gets the same ones from the host's generator (distance_probability.generate).
"""

import functools

import numpy as np

from .._paths import kernels_dir
from ..codegen import GeneratedCode
from ..distance_probability import generator_struct, with_headers
from .cuda_generation import GenerationKernels, ctype_name, scalar_name

# threads to aim for: enough to fill a large GPU, few enough that the per-(row, chunk)
# counts stay small next to the synapses
THREADS = 1 << 20
SHORTEST_CHUNK = 32


@functools.lru_cache(maxsize=64)
def _source(scalar, delay, post, probability):
    text = (kernels_dir() / "cuda" / "distance_probability_generate.cu").read_text()
    return (f"#define PG_SCALAR {scalar}\n#define PG_DELAY_T {delay}\n"
            f"#define PG_POST_T {post}\n" + with_headers(text, probability))


def chunking(n_pre, n_post):
    """(postsynaptic neurons per chunk, chunks per row): about THREADS threads in all. Any
    chunking gives the same synapses."""
    n_chunks = max(1, min(-(-THREADS // max(n_pre, 1)), -(-n_post // SHORTEST_CHUNK)))
    chunk = max(1, -(-n_post // n_chunks))
    return chunk, max(1, -(-n_post // chunk))


def generate_rows(target, spec, n_pre, n_post, dt, scalar_dtype, delay_dtype=np.int32,
                  post_dtype=np.int32, once=(), post_range=None):
    """The rows of a distance-dependent projection generated on the device: what
    cuda_generation.generate_rows returns for the same arguments."""
    module = target.load_module(GeneratedCode("cuda", _source(
        scalar_name(scalar_dtype), ctype_name(delay_dtype), ctype_name(post_dtype),
        spec.probability), []))
    first, end = post_range or (0, n_post)
    chunk, n_chunks = chunking(n_pre, end - first)
    with target.activated():
        kernels = GenerationKernels(target._cuda, module)
        kernels.set_struct("_generator", generator_struct(spec, dt))
        kernels.set_int64(post_first=first, post_end=end, chunk=chunk, n_chunks=n_chunks)
        kernels.upload("_pre_xyz", spec.pre_xyz)
        kernels.upload("_post_xyz", spec.post_xyz)
        kernels.allocate("_offsets", n_pre * n_chunks * 8)
        kernels.launch("count_chunks", n_pre * n_chunks)
        per_chunk = kernels.download("_offsets", n_pre * n_chunks, np.int64)
        offsets = np.concatenate(([0], np.cumsum(per_chunk))).astype(np.int64)
        n = int(offsets[-1])
        kernels.upload("_offsets", offsets[:-1])
        counts = per_chunk.reshape(n_pre, n_chunks).sum(axis=1)
        row_ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        arrays = kernels.row_arrays(n, spec, dt, scalar_dtype, delay_dtype, post_dtype,
                                    once)
        kernels.launch("fill_chunks", n_pre * n_chunks)
        kernels.free_temporaries()
    return counts, row_ptr, arrays
