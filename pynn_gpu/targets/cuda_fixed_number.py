"""
Stored synapses of fixed-number projections (see pynn_gpu.fixed_number), built on the GPU
by kernels/cuda/fixed_number_generate.cu. Only the per-line partner counts (one number per
neuron, known before anything is drawn) and the per-row counts of a FixedNumberPre travel
between host and device; the synapses are drawn into device memory and stay there. A script
that asks for them gets the same ones from the host's generator (fixed_number.generate).
"""

import functools

import numpy as np

from .._paths import kernels_dir
from ..codegen import GeneratedCode
from ..fixed_number import generator_struct, with_headers
from ..ir.graph import index_type
from .cuda_generation import GenerationKernels, ctype_name, scalar_name


@functools.lru_cache(maxsize=None)
def _source(scalar, delay, post, partner):
    text = (kernels_dir() / "cuda" / "fixed_number_generate.cu").read_text()
    defines = {"PG_SCALAR": scalar, "PG_DELAY_T": delay, "PG_POST_T": post,
               "PG_PARTNER_T": partner}
    return "".join(f"#define {name} {value}\n" for name, value in defines.items()) + \
        with_headers(text)


def generate_rows(target, spec, n_pre, n_post, dt, scalar_dtype, delay_dtype=np.int32,
                  post_dtype=np.int32, values_once=False):
    """Generate a projection's rows on the device: (counts, row_ptr) on the host, and the
    post, weight and delay arrays (as `post_dtype`, the scalar and `delay_dtype`) as
    DeviceResident memory (with values_once, for a spec of constant_values: the weight and
    the delay as one value each, on the host)."""
    # the partners a line draws: the rows' own postsynaptic neurons, or a column's
    # presynaptic ones, kept until they are filed into rows
    partner_dtype = post_dtype if spec.lines_are_pre else index_type(n_pre)[1]
    module = target.load_module(GeneratedCode("cuda", _source(
        scalar_name(scalar_dtype), ctype_name(delay_dtype), ctype_name(post_dtype),
        ctype_name(partner_dtype)), []))
    with target.activated():
        kernels = GenerationKernels(target._cuda, module)
        kernels.set_struct("_generator", generator_struct(spec, dt))
        line_start = spec.starts
        n = int(line_start[-1])
        kernels.set_global("_n_synapses", np.array([n], np.int64))
        kernels.set_global("_n_rows", np.array([n_pre], np.int64))
        kernels.upload("_line_start", line_start)
        arrays = kernels.row_arrays(n, spec, dt, scalar_dtype, delay_dtype, post_dtype,
                                    values_once)
        if spec.lines_are_pre:
            kernels.point("_partner", arrays["post"].allocation)
            kernels.launch("draw_rows", len(spec.counts))
            counts, row_ptr = spec.counts, line_start
        else:
            counts, row_ptr = _regroup_columns(kernels, spec, n_pre, n, partner_dtype)
        kernels.free_temporaries()
    return counts, row_ptr, arrays


def _regroup_columns(kernels, spec, n_pre, n, partner_dtype):
    """FixedNumberPre: draw the columns, then file their synapses into rows by presynaptic
    neuron, each row in column order (see the kernel file)."""
    kernels.allocate("_partner", n * np.dtype(partner_dtype).itemsize)
    kernels.launch("draw_columns", len(spec.counts))
    kernels.upload("_counts", np.zeros(max(n_pre, 1), np.uint64))
    kernels.launch("count_rows", n)
    counts = kernels.download("_counts", max(n_pre, 1), np.int64)[:n_pre]
    row_ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    kernels.upload("_row_ptr", row_ptr)
    kernels.upload("_cursor", np.zeros(max(n_pre, 1), np.uint64))
    kernels.allocate("_position", n * 8)
    kernels.launch("scatter_rows", n)
    kernels.launch("sort_rows", n_pre)
    kernels.launch("fill_rows", n)
    return counts, row_ptr
