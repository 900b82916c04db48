/*
 * Host-side helpers for network construction, compiled once through the same cache as
 * the simulation code. Plain loops over arrays that numpy can only do with sorts.
 */
#include <stdint.h>
#include <stdlib.h>

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
