/*
 * Distance-dependent connectivity generated on the GPU
 * (pynn_gpu.targets.cuda_distance_probability). The includer defines PG_SCALAR, PG_DELAY_T
 * and PG_POST_T, the types of the stored weights, delays and postsynaptic indices.
 *
 * A thread takes one row and one chunk of postsynaptic neurons (consecutive threads take
 * consecutive rows of one chunk, so a warp reads the same postsynaptic positions).
 * count_chunks writes how many synapses each (row, chunk) has; the host turns these counts,
 * in row-major order, into the first position of each (row, chunk); fill_chunks decides the
 * same pairs again and writes post, weight and delay there. Rows come out ordered by
 * postsynaptic neuron, as the host builds them. A weight or delay alike for every synapse
 * is stored once, by the host, which leaves _weight or _delay null.
 */
#include <stdint.h>
#include <math.h>
typedef PG_SCALAR scalar;
#define DEVICE_FN __device__ __forceinline__
/* @HEADERS@ */

extern "C" {
__device__ pg_distance_probability _generator;   /* written by the host per projection */
__device__ int64_t _post_first;         /* the postsynaptic neurons decided: all, or over */
__device__ int64_t _post_end;           /* several processes this process's block */
__device__ int64_t _chunk;              /* postsynaptic neurons per chunk */
__device__ int64_t _n_chunks;           /* chunks per row */
__device__ double *_pre_xyz;            /* 3 x n_pre positions */
__device__ double *_post_xyz;           /* 3 x n_post positions, as the space sees them */
__device__ int64_t *_offsets;           /* per (row, chunk): count, then first position */
__device__ PG_POST_T *_post;
__device__ scalar *_weight;
__device__ PG_DELAY_T *_delay;

/* This thread's row and chunk, and where its (row, chunk) entry is; 0 when it has none. */
DEVICE_FN int my_chunk(int64_t *pre, int64_t *first, int64_t *end, int64_t *entry)
{
    const int64_t t = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= _generator.n_pre * _n_chunks) return 0;
    *pre = t % _generator.n_pre;
    const int64_t chunk = t / _generator.n_pre;
    *first = _post_first + chunk * _chunk;
    *end = *first + _chunk < _post_end ? *first + _chunk : _post_end;
    *entry = *pre * _n_chunks + chunk;
    return 1;
}

__global__ void count_chunks(void)
{
    int64_t pre, first, end, entry;
    if (my_chunk(&pre, &first, &end, &entry))
        _offsets[entry] = pg_dd_decide(&_generator, _pre_xyz, _post_xyz, pre, first, end, 0);
}

__global__ void fill_chunks(void)
{
    int64_t pre, first, end, entry;
    if (!my_chunk(&pre, &first, &end, &entry)) return;
    const int64_t at = _offsets[entry];
    const int64_t n = pg_dd_decide(&_generator, _pre_xyz, _post_xyz, pre, first, end,
                                   _post + at);
    if (!_weight && !_delay) return;        /* both stored once */
    for (int64_t s = at; s < at + n; ++s) {
        double weight;
        int32_t delay;
        pg_dd_values(&_generator, pre, _post[s], &weight, &delay);
        if (_weight) _weight[s] = (scalar) weight;
        if (_delay) _delay[s] = (PG_DELAY_T) delay;
    }
}
}
