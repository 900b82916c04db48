/*
 * Fixed-number connectivity generated on the GPU (pynn_gpu.targets.cuda_fixed_number).
 * The includer defines PG_SCALAR, PG_DELAY_T and PG_POST_T, the types of the stored weights,
 * delays and postsynaptic indices, and PG_PARTNER_T, that of the partners a line draws (for
 * rows, PG_POST_T: the partners are the rows' postsynaptic neurons).
 *
 * Lines that are presynaptic neurons (FixedNumberPost, FixedTotalNumber) are the rows
 * themselves: draw_rows writes them in place (the host points _partner at the rows' post).
 * Lines that are postsynaptic neurons (FixedNumberPre) are columns: draw_columns writes each
 * column's presynaptic partners; count_rows counts the synapses of each row; the host turns
 * the counts into row offsets; scatter_rows files each column position into its row (in
 * whatever order the threads come); sort_rows puts each row back into column order, which
 * makes the result independent of that order and equal to the host's stable regrouping;
 * fill_rows writes post, weight and delay of every synapse. Rows of one weight and one delay
 * (stored once, by the host) get their postsynaptic indices only: the host leaves _weight
 * null.
 */
#include <stdint.h>
#include <math.h>
typedef PG_SCALAR scalar;
#define DEVICE_FN __device__ __forceinline__
/* @HEADERS@ */
PG_DEFINE_SORT(pg_fn_sort_positions, int64_t)

extern "C" {
__device__ pg_fixed_number _generator;  /* written by the host before each projection */
__device__ int64_t _n_synapses;
__device__ int64_t _n_rows;             /* presynaptic neurons */
__device__ int64_t *_line_start;        /* first position of each line (n_lines + 1) */
__device__ PG_PARTNER_T *_partner;      /* partners of each line, line after line */
__device__ unsigned long long *_counts; /* synapses of each row */
__device__ unsigned long long *_cursor; /* synapses filed into each row so far */
__device__ int64_t *_row_ptr;           /* first synapse of each row */
__device__ int64_t *_position;          /* column position of each synapse, row after row */
__device__ PG_POST_T *_post;
__device__ scalar *_weight;
__device__ PG_DELAY_T *_delay;

DEVICE_FN int64_t thread_index(void)
{
    return (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
}

DEVICE_FN void write_values(int64_t synapse, int64_t position)
{
    if (!_weight) return;           /* stored once */
    double weight;
    int32_t delay;
    pg_fn_values(&_generator, position, &weight, &delay);
    _weight[synapse] = (scalar) weight;
    _delay[synapse] = (PG_DELAY_T) delay;
}

__global__ void draw_rows(void)
{
    const int64_t line = thread_index();
    if (line >= _generator.n_lines) return;
    const int64_t first = _line_start[line], end = _line_start[line + 1];
    pg_fn_line(&_generator, line, end - first, _partner + first);
    for (int64_t c = first; c < end; ++c) write_values(c, c);
}

__global__ void draw_columns(void)
{
    const int64_t line = thread_index();
    if (line >= _generator.n_lines) return;
    const int64_t first = _line_start[line];
    pg_fn_line(&_generator, line, _line_start[line + 1] - first, _partner + first);
}

__global__ void count_rows(void)
{
    const int64_t c = thread_index();
    if (c < _n_synapses) atomicAdd(&_counts[_partner[c]], 1ULL);
}

__global__ void scatter_rows(void)
{
    const int64_t c = thread_index();
    if (c >= _n_synapses) return;
    const int64_t pre = (int64_t) _partner[c];
    _position[_row_ptr[pre] + (int64_t) atomicAdd(&_cursor[pre], 1ULL)] = c;
}

__global__ void sort_rows(void)
{
    const int64_t pre = thread_index();
    if (pre < _n_rows) pg_fn_sort_positions(_position + _row_ptr[pre], _row_ptr[pre + 1] - _row_ptr[pre]);
}

/* The column holding position c: the last line whose start is <= c. */
DEVICE_FN int64_t column_of(int64_t c)
{
    int64_t low = 0, high = _generator.n_lines;     /* _line_start[low] <= c < _line_start[high] */
    while (high - low > 1) {
        const int64_t middle = low + (high - low) / 2;
        if (_line_start[middle] <= c) low = middle; else high = middle;
    }
    return low;
}

__global__ void fill_rows(void)
{
    const int64_t synapse = thread_index();
    if (synapse >= _n_synapses) return;
    const int64_t c = _position[synapse];
    _post[synapse] = (PG_POST_T) column_of(c);
    write_values(synapse, c);
}
}
