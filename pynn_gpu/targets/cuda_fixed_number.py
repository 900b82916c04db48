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
                  post_dtype=np.int32, once=(), post_range=None):
    """The rows of a fixed-number projection generated on the device: what
    cuda_generation.generate_rows returns for the same arguments."""
    # the partners a line draws: the rows' own postsynaptic neurons, or a column's
    # presynaptic ones, kept until they are filed into rows
    partner_dtype = post_dtype if spec.lines_are_pre else index_type(n_pre)[1]
    module = target.load_module(GeneratedCode("cuda", _source(
        scalar_name(scalar_dtype), ctype_name(delay_dtype), ctype_name(post_dtype),
        ctype_name(partner_dtype)), []))
    values = (spec, dt, scalar_dtype, delay_dtype, post_dtype, once)
    with target.activated():
        kernels = GenerationKernels(target._cuda, module)
        kernels.set_struct("_generator", generator_struct(spec, dt))
        kernels.set_int64(n_rows=n_pre)
        kernels.upload("_line_start", spec.starts)
        if not spec.lines_are_pre:
            counts, row_ptr, arrays = _regroup_columns(kernels, spec, n_pre, post_range,
                                                       partner_dtype, values)
        elif post_range is None:
            counts, row_ptr, arrays = _rows_in_place(kernels, spec, values)
        else:
            counts, row_ptr, arrays = _rows_onto(kernels, spec, n_pre, post_range,
                                                 partner_dtype, values)
        kernels.free_temporaries()
    return counts, row_ptr, arrays


def _draw_lines(kernels, spec, first_line, end_line, partner_dtype):
    """The partners of lines [first_line, end_line) into a temporary _partner."""
    starts = spec.starts
    kernels.set_int64(first_line=first_line, n_drawn=end_line - first_line,
         first_position=int(starts[first_line]))
    n = int(starts[end_line] - starts[first_line])
    kernels.allocate("_partner", n * np.dtype(partner_dtype).itemsize)
    kernels.launch("draw_lines", end_line - first_line)
    return n


def _rows_in_place(kernels, spec, values):
    """FixedNumberPost, FixedTotalNumber: each row drawn straight into place."""
    n = int(spec.starts[-1])
    kernels.set_int64(n_synapses=n)
    arrays = kernels.row_arrays(n, *values)
    kernels.point("_partner", arrays["post"].allocation)
    kernels.launch("draw_rows", len(spec.counts))
    return spec.counts, spec.starts, arrays


def _rows_onto(kernels, spec, n_pre, post_range, partner_dtype, values):
    """FixedNumberPost, FixedTotalNumber over several processes: every row drawn whole, the
    synapses onto this process's neurons kept."""
    _draw_lines(kernels, spec, 0, len(spec.counts), partner_dtype)
    kernels.set_int64(post_first=post_range[0], post_end=post_range[1])
    counts = _row_counts(kernels, "count_onto", n_pre, n_pre)
    row_ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    kernels.upload("_row_ptr", row_ptr)
    kernels.set_int64(n_synapses=int(row_ptr[-1]))
    arrays = kernels.row_arrays(int(row_ptr[-1]), *values)
    kernels.launch("fill_onto", n_pre)
    return counts, row_ptr, arrays


def _row_counts(kernels, kernel, threads, n_pre):
    kernels.upload("_counts", np.zeros(max(n_pre, 1), np.uint64))
    kernels.launch(kernel, threads)
    return kernels.download("_counts", max(n_pre, 1), np.int64)[:n_pre]


def _regroup_columns(kernels, spec, n_pre, post_range, partner_dtype, values):
    """FixedNumberPre: draw the columns (those of post_range's neurons, if given), then file
    their synapses into rows by presynaptic neuron, each row in column order (see the
    kernel file)."""
    first, end = post_range or (0, len(spec.counts))
    n = _draw_lines(kernels, spec, first, end, partner_dtype)
    kernels.set_int64(n_synapses=n)
    counts = _row_counts(kernels, "count_rows", n, n_pre)
    row_ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    kernels.upload("_row_ptr", row_ptr)
    kernels.upload("_cursor", np.zeros(max(n_pre, 1), np.uint64))
    kernels.allocate("_position", n * 8)
    kernels.launch("scatter_rows", n)
    kernels.launch("sort_rows", n_pre)
    arrays = kernels.row_arrays(n, *values)
    kernels.launch("fill_rows", n)
    return counts, row_ptr, arrays
