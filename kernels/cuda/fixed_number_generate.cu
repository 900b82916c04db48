/*
 * Fixed-number connectivity generated on the GPU (pynn_gpu.targets.cuda_fixed_number).
 * The includer defines PG_SCALAR, PG_DELAY_T and PG_POST_T, the types of the stored weights,
 * delays and postsynaptic indices, and PG_PARTNER_T, that of the partners a line draws (for
 * rows, PG_POST_T: the partners are the rows' postsynaptic neurons).
 *
 * Lines that are presynaptic neurons (FixedNumberPost, FixedTotalNumber) are the rows
 * themselves: draw_rows writes them in place (the host points _partner at the rows' post).
 * Over several processes a process keeps the synapses onto its own neurons only: draw_lines
 * writes every row's partners, count_onto counts those in the process's block
 * [_post_first, _post_end), the host turns the counts into row offsets and fill_onto writes
 * them with their weights and delays.
 * Lines that are postsynaptic neurons (FixedNumberPre) are columns: draw_lines writes the
 * presynaptic partners of each column (over several processes, of the process's own
 * columns: _n_drawn lines from _first_line, whose positions start at _first_position);
 * count_rows counts the synapses of each row; the host turns the counts into row offsets;
 * scatter_rows files each column position into its row (in whatever order the threads
 * come); sort_rows puts each row back into column order, which makes the result
 * independent of that order and equal to the host's stable regrouping; fill_rows writes
 * post, weight and delay of every synapse.
 * A weight or delay alike for every synapse is stored once, by the host, which leaves
 * _weight or _delay null. A synapse's values are those of its position in the
 * line-after-line layout of the whole projection, whichever process draws it.
 */
#include <stdint.h>
#include <math.h>
typedef PG_SCALAR scalar;
#define DEVICE_FN __device__ __forceinline__
/* @HEADERS@ */
PG_DEFINE_SORT(pg_fn_sort_positions, int64_t)

extern "C" {
__device__ pg_fixed_number _generator;  /* written by the host before each projection */
__device__ int64_t _n_synapses;         /* in the rows this process keeps */
__device__ int64_t _n_rows;             /* presynaptic neurons */
__device__ int64_t *_line_start;        /* first position of each line (n_lines + 1) */
__device__ int64_t _first_line;         /* the lines draw_lines draws: all, or over */
__device__ int64_t _n_drawn;            /* several processes a process's columns */
__device__ int64_t _first_position;     /* position of _partner[0] */
__device__ int64_t _post_first;         /* the postsynaptic neurons whose synapses a */
__device__ int64_t _post_end;           /* process keeps of rows drawn whole */
__device__ PG_PARTNER_T *_partner;      /* partners of the drawn lines, line after line */
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
    if (!_weight && !_delay) return;        /* both stored once */
    double weight;
    int32_t delay;
    pg_fn_values(&_generator, position, &weight, &delay);
    if (_weight) _weight[synapse] = (scalar) weight;
    if (_delay) _delay[synapse] = (PG_DELAY_T) delay;
}

__global__ void draw_rows(void)
{
    const int64_t line = thread_index();
    if (line >= _generator.n_lines) return;
    const int64_t first = _line_start[line], end = _line_start[line + 1];
    pg_fn_line(&_generator, line, end - first, _partner + first);
    for (int64_t c = first; c < end; ++c) write_values(c, c);
}

__global__ void draw_lines(void)
{
    const int64_t drawn = thread_index();
    if (drawn >= _n_drawn) return;
    const int64_t line = _first_line + drawn, first = _line_start[line];
    pg_fn_line(&_generator, line, _line_start[line + 1] - first,
               _partner + (first - _first_position));
}

DEVICE_FN int onto_this_process(int64_t post)
{
    return post >= _post_first && post < _post_end;
}

__global__ void count_onto(void)
{
    const int64_t pre = thread_index();
    if (pre >= _n_rows) return;
    unsigned long long n = 0;
    for (int64_t c = _line_start[pre]; c < _line_start[pre + 1]; ++c)
        n += onto_this_process((int64_t) _partner[c]);
    _counts[pre] = n;
}

__global__ void fill_onto(void)
{
    const int64_t pre = thread_index();
    if (pre >= _n_rows) return;
    int64_t synapse = _row_ptr[pre];
    for (int64_t c = _line_start[pre]; c < _line_start[pre + 1]; ++c) {
        if (!onto_this_process((int64_t) _partner[c])) continue;
        _post[synapse] = (PG_POST_T) _partner[c];
        write_values(synapse++, c);
    }
}

/* Positions k of the drawn columns (position _first_position + k of the layout). */
__global__ void count_rows(void)
{
    const int64_t k = thread_index();
    if (k < _n_synapses) atomicAdd(&_counts[_partner[k]], 1ULL);
}

__global__ void scatter_rows(void)
{
    const int64_t k = thread_index();
    if (k >= _n_synapses) return;
    const int64_t pre = (int64_t) _partner[k];
    _position[_row_ptr[pre] + (int64_t) atomicAdd(&_cursor[pre], 1ULL)] = _first_position + k;
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
