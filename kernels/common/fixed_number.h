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
 * `c` of the line-after-line layout are a pure function of c and of the value's own stream
 * (wseed, wkey; dseed, dkey: the stream of the NativeRNG its distribution draws from). So any
 * number of threads can draw any lines in any order, and the host, the C target and the CUDA
 * target build the same synapses.
 *
 * Counters: a line draws from (line, 0, draw) of the partners' stream; a synapse's weight and
 * delay from (c mod 2^32, c / 2^32 + 1, draw) of their own streams.
 * Needs philox.h, portable_math.h and procedural.h (pg_proc_value, pg_proc_delay_steps);
 * the includer defines DEVICE_FN and PG_PARTNER_T, the type of the partner indices (the
 * draws stay below n_choices, so any type that holds n_choices - 1 will do).
 */
#ifndef PG_FIXED_NUMBER_H
#define PG_FIXED_NUMBER_H

/* Layout mirrored by pynn_gpu.fixed_number._Generator. */
typedef struct {
    int64_t n_lines;        /* neurons that choose */
    int64_t n_choices;      /* neurons they choose from, before a line excludes itself */
    int64_t wk, dk;         /* weight and delay distributions (pg_proc_value) */
    double wa, wb, wl, wh, da, db, dl, dh, dt;
    uint64_t wseed, dseed;  /* the weight's and the delay's streams */
    uint32_t wkey, dkey;
    uint64_t seed;          /* the partners' stream */
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

/* In-place ascending sort without recursion or heap memory (fit for a GPU thread): quicksort
   on a small explicit stack, the larger part deferred so the stack stays shallow, insertion
   sort for short ranges, and heap sort for a range that splits badly too often (so it is
   n log n at worst). Sorting plain numbers, any correct sort gives the same result. */
#define PG_SORT_SHORT 16
#define PG_SORT_STACK 64
#define PG_DEFINE_SORT(name, T)                                                         \
DEVICE_FN void name##_insertion(T *a, int64_t n)                                        \
{                                                                                       \
    for (int64_t i = 1; i < n; ++i) {                                                   \
        const T v = a[i];                                                               \
        int64_t j = i;                                                                  \
        for (; j > 0 && a[j - 1] > v; --j) a[j] = a[j - 1];                             \
        a[j] = v;                                                                       \
    }                                                                                   \
}                                                                                       \
DEVICE_FN void name##_sift(T *a, int64_t root, int64_t n)                               \
{                                                                                       \
    for (int64_t child = 2 * root + 1; child < n; root = child, child = 2 * root + 1) { \
        if (child + 1 < n && a[child + 1] > a[child]) ++child;                          \
        if (!(a[child] > a[root])) return;                                              \
        const T larger = a[child]; a[child] = a[root]; a[root] = larger;                \
    }                                                                                   \
}                                                                                       \
DEVICE_FN void name##_heap(T *a, int64_t n)                                             \
{                                                                                       \
    for (int64_t root = n / 2 - 1; root >= 0; --root) name##_sift(a, root, n);          \
    for (int64_t end = n - 1; end > 0; --end) {                                         \
        const T largest = a[0]; a[0] = a[end]; a[end] = largest;                        \
        name##_sift(a, 0, end);                                                         \
    }                                                                                   \
}                                                                                       \
/* Splits a[0, n) around the median of three; returns the first index of the upper part */ \
DEVICE_FN int64_t name##_partition(T *a, int64_t n)                                     \
{                                                                                       \
    T x = a[0], y = a[n / 2], z = a[n - 1];                                             \
    const T pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y)); \
    int64_t i = -1, j = n;                                                              \
    for (;;) {                                                                          \
        do ++i; while (a[i] < pivot);                                                   \
        do --j; while (a[j] > pivot);                                                   \
        if (i >= j) return j + 1;                                                       \
        const T t = a[i]; a[i] = a[j]; a[j] = t;                                        \
    }                                                                                   \
}                                                                                       \
DEVICE_FN void name(T *a, int64_t n)                                                    \
{                                                                                       \
    int64_t start[PG_SORT_STACK], size[PG_SORT_STACK];                                  \
    int splits_left[PG_SORT_STACK], top = 1;                                            \
    start[0] = 0; size[0] = n; splits_left[0] = 0;                                      \
    for (int64_t m = n; m > 1; m >>= 1) splits_left[0] += 2;      /* 2 log2 n */        \
    while (top > 0) {                                                                   \
        --top;                                                                          \
        T *range = a + start[top];                                                      \
        int64_t length = size[top];                                                     \
        int splits = splits_left[top];                                                  \
        while (length > PG_SORT_SHORT) {                                                \
            if (splits-- <= 0 || top >= PG_SORT_STACK - 1) {                            \
                name##_heap(range, length); length = 0; break;                          \
            }                                                                           \
            const int64_t lower = name##_partition(range, length);                      \
            const int64_t upper = length - lower;                                       \
            splits_left[top] = splits;       /* defer the larger part, go on with the smaller */\
            if (lower < upper) {                                                        \
                start[top] = (range - a) + lower; size[top++] = upper; length = lower;  \
            } else {                                                                    \
                start[top] = range - a; size[top++] = lower; range += lower; length = upper;\
            }                                                                           \
        }                                                                               \
        name##_insertion(range, length);                                                \
    }                                                                                   \
}

PG_DEFINE_SORT(pg_fn_sort, PG_PARTNER_T)

/* Missing values that are inserted one by one rather than drawn as a batch and sorted */
#define PG_FN_FEW_MISSING 16

/* Keeps the first of each run of equal values (a sorted); returns how many remain. */
DEVICE_FN int64_t pg_fn_unique(PG_PARTNER_T *a, int64_t n)
{
    int64_t kept = n > 0 ? 1 : 0;
    for (int64_t k = 1; k < n; ++k)
        if (a[k] != a[kept - 1]) a[kept++] = a[k];
    return kept;
}

/* Adds one value of [0, m) not yet among the `have` ascending values of a, keeping them
   ascending (values already there are drawn again). */
DEVICE_FN void pg_fn_insert_new(const pg_fixed_number *g, uint32_t line, int64_t m,
                                PG_PARTNER_T *a, int64_t have, uint32_t *draw)
{
    for (;;) {
        const PG_PARTNER_T v = (PG_PARTNER_T) pg_fn_below(g, line, (uint32_t) m, draw);
        int64_t low = 0, high = have;           /* first position whose value is >= v */
        while (low < high) {
            const int64_t middle = low + (high - low) / 2;
            if (a[middle] < v) low = middle + 1; else high = middle;
        }
        if (low < have && a[low] == v) continue;
        for (int64_t k = have; k > low; --k) a[k] = a[k - 1];
        a[low] = v;
        return;
    }
}

/* r distinct values of [0, m), ascending, uniformly among all such sets. Sparse: draw r,
   sort, drop repeats, and draw the missing ones again (in one more batch while many are
   missing, else one by one into place) -- every step treats every value alike, so every set
   is equally likely. Dense (2r > m, where repeats would be many): selection sampling, value
   v kept with probability (still needed)/(still left). */
DEVICE_FN void pg_fn_distinct(const pg_fixed_number *g, uint32_t line, int64_t r, int64_t m,
                              PG_PARTNER_T *out, uint32_t *draw)
{
    if (2 * r > m) {
        int64_t chosen = 0;
        for (int64_t v = 0; v < m && chosen < r; ++v)
            if (pg_fn_below(g, line, (uint32_t) (m - v), draw) < (uint32_t) (r - chosen))
                out[chosen++] = (PG_PARTNER_T) v;
        return;
    }
    int64_t have = 0;
    while (r - have > PG_FN_FEW_MISSING) {
        for (int64_t k = have; k < r; ++k) out[k] = (PG_PARTNER_T) pg_fn_below(g, line, (uint32_t) m, draw);
        pg_fn_sort(out, r);
        have = pg_fn_unique(out, r);
    }
    for (; have < r; ++have) pg_fn_insert_new(g, line, m, out, have, draw);
}

/* Without replacement and count >= m (PyNN's rule): every value `full` times, plus the r
   values already at the front of out once more; spread in place from the back. */
DEVICE_FN void pg_fn_add_full_sets(PG_PARTNER_T *out, int64_t r, int64_t full, int64_t m)
{
    int64_t write = full * m + r, read = r;
    for (int64_t v = m - 1; v >= 0; --v) {
        const int64_t extra = (read > 0 && out[read - 1] == (PG_PARTNER_T) v) ? 1 : 0;
        read -= extra;
        for (int64_t t = 0; t < full + extra; ++t) out[--write] = (PG_PARTNER_T) v;
    }
}

/* The `count` partners of a line, ascending, into out[0, count). */
DEVICE_FN void pg_fn_line(const pg_fixed_number *g, int64_t line, int64_t count, PG_PARTNER_T *out)
{
    const int64_t m = g->n_choices - (g->skip_self ? 1 : 0);
    uint32_t draw = 0u;
    if (count <= 0 || m <= 0) return;      /* the host lets m <= 0 only with count 0 */
    if (g->with_replacement) {
        for (int64_t k = 0; k < count; ++k)
            out[k] = (PG_PARTNER_T) pg_fn_below(g, (uint32_t) line, (uint32_t) m, &draw);
        pg_fn_sort(out, count);
    } else {
        const int64_t full = count / m, r = count % m;
        pg_fn_distinct(g, (uint32_t) line, r, m, out, &draw);
        if (full > 0) pg_fn_add_full_sets(out, r, full, m);
    }
    if (g->skip_self)       /* choices were 0 .. m-1 without the line itself: skip it */
        for (int64_t k = 0; k < count; ++k) out[k] += (PG_PARTNER_T) (out[k] >= (PG_PARTNER_T) line);
}

/* Weight and delay (in steps) of the synapse at position c of the line-after-line layout. */
DEVICE_FN void pg_fn_values(const pg_fixed_number *g, int64_t c, double *weight, int32_t *delay)
{
    const uint32_t low = (uint32_t) ((uint64_t) c & 0xFFFFFFFFu);
    const int64_t high = (int64_t) ((uint64_t) c >> 32) + 1;
    uint32_t wdraw = 0u, ddraw = 0u;
    *weight = pg_proc_value(g->wk, g->wa, g->wb, g->wl, g->wh, g->wseed, g->wkey, low, high, &wdraw);
    *delay = pg_proc_delay_steps(
        pg_proc_value(g->dk, g->da, g->db, g->dl, g->dh, g->dseed, g->dkey, low, high, &ddraw), g->dt);
}

#endif /* PG_FIXED_NUMBER_H */
