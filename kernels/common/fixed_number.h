/*
 * Fixed-number connectivity (FixedNumberPost, FixedNumberPre, FixedTotalNumber) from the
 * counter-based generator.
 *
 * Connections are drawn along "lines": a line is a neuron choosing its partners on the other
 * side -- a presynaptic neuron choosing postsynaptic ones (FixedNumberPost, FixedTotalNumber)
 * or a postsynaptic neuron choosing presynaptic ones (FixedNumberPre). How many partners each
 * line gets is given by the host (n, or n drawn from the connector's distribution, or the
 * total split among the lines). The partners of line `l` are a pure function of
 * (seed, key, l), written in ascending order; the weight and delay of the synapse at position
 * `c` of the line-after-line layout are a pure function of (seed, key, c). So any number of
 * threads can draw any lines in any order, and the host, the C target and the CUDA target
 * build the same synapses.
 *
 * Streams: a line draws from counter (line, 0, draw); a synapse's values from counter
 * (c mod 2^32, c / 2^32 + 1, draw), which never meets a line's.
 * Needs philox.h, portable_math.h and procedural.h (pg_proc_value, pg_proc_delay_steps);
 * the includer defines DEVICE_FN and PG_POST_T, the type of the partner indices.
 */
#ifndef PG_FIXED_NUMBER_H
#define PG_FIXED_NUMBER_H

/* Layout mirrored by pynn_gpu.fixed_number._Generator. */
typedef struct {
    int64_t n_lines;        /* neurons that choose */
    int64_t n_choices;      /* neurons they choose from, before a line excludes itself */
    int64_t wk, dk;         /* weight and delay distributions (pg_proc_value) */
    double wa, wb, wl, wh, da, db, dl, dh, dt;
    uint64_t seed;
    uint32_t key;
    int skip_self;          /* line i never chooses partner i */
    int with_replacement;   /* a partner may be chosen more than once */
} pg_fixed_number;

/* Uniform integer in [0, bound), bound >= 1, without bias: the high half of a 32 x 32-bit
   product, rejecting the few low halves that would favour some values (Lemire 2019). */
DEVICE_FN uint32_t pg_fn_below(const pg_fixed_number *g, uint32_t line, uint32_t bound,
                               uint32_t *draw)
{
    const uint32_t threshold = (uint32_t) (0u - bound) % bound;  /* 2^32 mod bound */
    for (;;) {
        const uint64_t product = (uint64_t) philox_bits(g->seed, g->key, line, 0, (*draw)++)
                                 * bound;
        if ((uint32_t) product >= threshold) return (uint32_t) (product >> 32);
    }
}

/* In-place ascending heap sort (no recursion, no scratch memory: fit for a GPU thread). */
#define PG_DEFINE_HEAP_SORT(name, T)                                                    \
DEVICE_FN void name##_sift(T *a, int64_t root, int64_t n)                               \
{                                                                                       \
    for (int64_t child = 2 * root + 1; child < n; root = child, child = 2 * root + 1) { \
        if (child + 1 < n && a[child + 1] > a[child]) ++child;                          \
        if (!(a[child] > a[root])) return;                                              \
        const T larger = a[child]; a[child] = a[root]; a[root] = larger;                \
    }                                                                                   \
}                                                                                       \
DEVICE_FN void name(T *a, int64_t n)                                                    \
{                                                                                       \
    for (int64_t root = n / 2 - 1; root >= 0; --root) name##_sift(a, root, n);          \
    for (int64_t end = n - 1; end > 0; --end) {                                         \
        const T largest = a[0]; a[0] = a[end]; a[end] = largest;                        \
        name##_sift(a, 0, end);                                                         \
    }                                                                                   \
}

PG_DEFINE_HEAP_SORT(pg_fn_sort, PG_POST_T)

/* Keeps the first of each run of equal values (a sorted); returns how many remain. */
DEVICE_FN int64_t pg_fn_unique(PG_POST_T *a, int64_t n)
{
    int64_t kept = n > 0 ? 1 : 0;
    for (int64_t k = 1; k < n; ++k)
        if (a[k] != a[kept - 1]) a[kept++] = a[k];
    return kept;
}

/* r distinct values of [0, m), ascending, uniformly among all such sets. Sparse: draw r,
   drop repeats, draw the missing ones again, until none repeats (each round treats every
   value alike, so every set is equally likely). Dense (2r > m, where that would take many
   rounds): selection sampling, value v kept with probability (still needed)/(still left). */
DEVICE_FN void pg_fn_distinct(const pg_fixed_number *g, uint32_t line, int64_t r, int64_t m,
                              PG_POST_T *out, uint32_t *draw)
{
    if (2 * r > m) {
        int64_t chosen = 0;
        for (int64_t v = 0; v < m && chosen < r; ++v)
            if (pg_fn_below(g, line, (uint32_t) (m - v), draw) < (uint32_t) (r - chosen))
                out[chosen++] = (PG_POST_T) v;
        return;
    }
    int64_t have = 0;
    while (have < r) {
        for (int64_t k = have; k < r; ++k) out[k] = (PG_POST_T) pg_fn_below(g, line, (uint32_t) m, draw);
        pg_fn_sort(out, r);
        have = pg_fn_unique(out, r);
    }
}

/* Without replacement and count >= m (PyNN's rule): every value `full` times, plus the r
   values already at the front of out once more; spread in place from the back. */
DEVICE_FN void pg_fn_add_full_sets(PG_POST_T *out, int64_t r, int64_t full, int64_t m)
{
    int64_t write = full * m + r, read = r;
    for (int64_t v = m - 1; v >= 0; --v) {
        const int64_t extra = (read > 0 && out[read - 1] == (PG_POST_T) v) ? 1 : 0;
        read -= extra;
        for (int64_t t = 0; t < full + extra; ++t) out[--write] = (PG_POST_T) v;
    }
}

/* The `count` partners of a line, ascending, into out[0, count). */
DEVICE_FN void pg_fn_line(const pg_fixed_number *g, int64_t line, int64_t count, PG_POST_T *out)
{
    const int64_t m = g->n_choices - (g->skip_self ? 1 : 0);
    uint32_t draw = 0u;
    if (count <= 0 || m <= 0) return;      /* the host lets m <= 0 only with count 0 */
    if (g->with_replacement) {
        for (int64_t k = 0; k < count; ++k)
            out[k] = (PG_POST_T) pg_fn_below(g, (uint32_t) line, (uint32_t) m, &draw);
        pg_fn_sort(out, count);
    } else {
        const int64_t full = count / m, r = count % m;
        pg_fn_distinct(g, (uint32_t) line, r, m, out, &draw);
        if (full > 0) pg_fn_add_full_sets(out, r, full, m);
    }
    if (g->skip_self)       /* choices were 0 .. m-1 without the line itself: skip it */
        for (int64_t k = 0; k < count; ++k) out[k] += (PG_POST_T) (out[k] >= (PG_POST_T) line);
}

/* Weight and delay (in steps) of the synapse at position c of the line-after-line layout. */
DEVICE_FN void pg_fn_values(const pg_fixed_number *g, int64_t c, double *weight, int32_t *delay)
{
    const uint32_t low = (uint32_t) ((uint64_t) c & 0xFFFFFFFFu);
    const int64_t high = (int64_t) ((uint64_t) c >> 32) + 1;
    uint32_t draw = 0u;
    *weight = pg_proc_value(g->wk, g->wa, g->wb, g->wl, g->wh, g->seed, g->key, low, high, &draw);
    *delay = pg_proc_delay_steps(
        pg_proc_value(g->dk, g->da, g->db, g->dl, g->dh, g->seed, g->key, low, high, &draw), g->dt);
}

#endif /* PG_FIXED_NUMBER_H */
