/*
 * Host-side helpers for network construction, compiled once through the same cache as
 * the simulation code. Plain loops over arrays that numpy can only do with sorts.
 */
#include <stdint.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/*
 * The threads of the host's parallel loops, setup's `threads` (0: every core). OpenMP keeps
 * the count for the calling thread, for every library of the process (the connectivity
 * generators too, which would otherwise take OpenMP's default until the first run).
 */
void set_host_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n > 0 ? n : omp_get_num_procs());
#else
    (void) n;
#endif
}

/*
 * Stable counting sort: order[i] lists the positions of keys in increasing key order,
 * positions of equal keys in their original order. keys must lie in [0, n_keys).
 * `start` is workspace of n_keys + 1 entries. O(n + n_keys).
 */
void stable_order(const int64_t *keys, int64_t n, int64_t n_keys, int64_t *start,
                  int64_t *order)
{
    for (int64_t k = 0; k <= n_keys; ++k) start[k] = 0;
    for (int64_t i = 0; i < n; ++i) start[keys[i] + 1] += 1;
    for (int64_t k = 0; k < n_keys; ++k) start[k + 1] += start[k];
    for (int64_t i = 0; i < n; ++i) order[start[keys[i]]++] = i;
}

/*
 * out[i] = values[order[i]], converted to the output type: the gathers that put synapse
 * arrays into row order, in one pass each and in parallel (random reads dominate).
 */
#define GATHER(NAME, IN, OUT)                                                              \
void NAME(const IN *values, const int64_t *order, int64_t n, OUT *out)                    \
{                                                                                          \
    _Pragma("omp parallel for schedule(static)")                                           \
    for (int64_t i = 0; i < n; ++i) out[i] = (OUT) values[order[i]];                      \
}
GATHER(gather_i64_i32, int64_t, int32_t)
GATHER(gather_i64_i64, int64_t, int64_t)
GATHER(gather_i32_i32, int32_t, int32_t)
GATHER(gather_f64_f64, double, double)
GATHER(gather_f64_f32, double, float)

/* words below which spikes_from_words stays on one thread */
#define PARALLEL_WORDS (1 << 16)

/*
 * Recorded spike bits, (n_steps x n_words) words, to (step, neuron) pairs in step order,
 * then neuron order. Spikes are sparse: a first pass counts each step's set bits (which
 * gives every step's place in the output), a second unpacks only the non-zero words; both
 * passes run over steps in parallel. `start` has n_steps + 1 entries; call with
 * steps == NULL to fill only `start` (start[n_steps] is then the number of spikes).
 */
void spikes_from_words(const uint32_t *words, int64_t n_steps, int64_t n_words,
                       int64_t *start, int64_t *steps, int64_t *neurons)
{
    /* threads only for many words: starting them takes microseconds, and milliseconds
       when the cores are busy, while a run's words of one population are often few */
    const int parallel = n_steps > 1 && n_steps * n_words >= PARALLEL_WORDS;
    if (steps == NULL) {
        start[0] = 0;
        _Pragma("omp parallel for schedule(static) if(parallel)")
        for (int64_t s = 0; s < n_steps; ++s) {
            int64_t bits = 0;
            const uint32_t *row = words + s * n_words;
            for (int64_t w = 0; w < n_words; ++w)
                if (row[w]) bits += __builtin_popcount(row[w]);   /* most words are 0 */
            start[s + 1] = bits;
        }
        for (int64_t s = 0; s < n_steps; ++s) start[s + 1] += start[s];
        return;
    }
    _Pragma("omp parallel for schedule(static) if(parallel)")
    for (int64_t s = 0; s < n_steps; ++s) {
        int64_t out = start[s];
        const uint32_t *row = words + s * n_words;
        for (int64_t w = 0; w < n_words; ++w) {
            uint32_t word = row[w];
            while (word) {
                steps[out] = s;
                neurons[out++] = w * 32 + __builtin_ctz(word);
                word &= word - 1;       /* clear the lowest set bit */
            }
        }
    }
}
