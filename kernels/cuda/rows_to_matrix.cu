/*
 * Rows of a generated projection, drawn on the GPU by any generator, turned into a dense
 * matrix or a bitmask there (pynn_gpu.targets.cuda_generation.matrix_from_rows): for the
 * generators that cannot decide a pair on its own (FixedProbability skips along a row,
 * fixed-number connectors draw whole lines) and for those that could but whose rows come
 * out in one pass anyway (distance-dependent). The planner asks for these formats only
 * when no pair is connected twice, so no two synapses write the same entry.
 * The includer defines PG_SCALAR, PG_DELAY_T and PG_POST_T, the types of the stored
 * weights, delays and postsynaptic indices.
 */
#include <stdint.h>
typedef PG_SCALAR scalar;

extern "C" {
__device__ int64_t _n_pre;
__device__ int64_t _n_post;
__device__ int64_t *_row_ptr;           /* first synapse of each row */
__device__ PG_POST_T *_post;            /* the rows' postsynaptic neurons */
__device__ scalar *_weight;             /* the rows' values (dense only) */
__device__ PG_DELAY_T *_delay;
__device__ scalar *_dense_weight;       /* n_pre x n_post */
__device__ PG_DELAY_T *_dense_delay;
__device__ uint32_t *_mask;             /* bit b of word w: pair 32 w + b */

__device__ __forceinline__ int64_t thread_index(void)
{
    return (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
}

/* Unconnected pairs weigh 0 with delay 1, as the host fills them (a thread per pair). */
__global__ void clear_dense(void)
{
    const int64_t pair = thread_index();
    if (pair >= _n_pre * _n_post) return;
    _dense_weight[pair] = (scalar) 0;
    _dense_delay[pair] = 1;
}

__global__ void clear_mask(void)
{
    const int64_t word = thread_index();
    if (word * 32 < _n_pre * _n_post) _mask[word] = 0u;
}

/* A thread per row writes its synapses at their columns. */
__global__ void scatter_dense(void)
{
    const int64_t pre = thread_index();
    if (pre >= _n_pre) return;
    for (int64_t s = _row_ptr[pre]; s < _row_ptr[pre + 1]; ++s) {
        const int64_t pair = pre * _n_post + (int64_t) _post[s];
        _dense_weight[pair] = _weight[s];
        _dense_delay[pair] = _delay[s];
    }
}

/* A thread per row sets its synapses' bits (rows share words, hence atomicOr). */
__global__ void scatter_mask(void)
{
    const int64_t pre = thread_index();
    if (pre >= _n_pre) return;
    for (int64_t s = _row_ptr[pre]; s < _row_ptr[pre + 1]; ++s) {
        const int64_t pair = pre * _n_post + (int64_t) _post[s];
        atomicOr(&_mask[pair >> 5], 1u << (pair & 31));
    }
}
}
