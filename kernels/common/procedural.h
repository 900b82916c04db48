/*
 * Procedural connectivity: the synapses of a random connector regenerated whenever they are
 * needed, from the counter-based generator, instead of being stored.
 *
 * The postsynaptic range is cut into chunks of PG_PROC_CHUNK neurons. The synapses of
 * presynaptic neuron `pre` in chunk `c` are a pure function of (seed, key, pre, c): every pair
 * is connected independently with probability p, found by geometric gaps (the gap to the next
 * connected neuron is floor(ln(1 - u) / ln(1 - p))). Each synapse then draws its weight, and
 * its delay, from (pre, c) of the value's own stream (wseed, wkey; dseed, dkey: the stream of
 * the NativeRNG the value's distribution draws from, as PyNN draws values from the
 * distribution's rng, not the connector's). So any number of threads can generate any
 * chunks, in any order, and the C target, the CUDA target and the host (Projection.get)
 * agree bit for bit.
 * Needs philox.h and portable_math.h; DEVICE_FN comes from the including template.
 */
#ifndef PG_PROCEDURAL_H
#define PG_PROCEDURAL_H

#define PG_PROC_CHUNK 32

/* value distributions (pynn_gpu.procedural.DISTRIBUTIONS) */
#define PG_CONSTANT 0
#define PG_UNIFORM 1
#define PG_NORMAL 2
#define PG_NORMAL_CLIPPED 3

/* A value of a distribution: a constant, uniform on [a, b), normal (mean a, sd b), or normal
   redrawn until it lies in [low, high]. Advances *draw past the numbers it used. */
DEVICE_FN double pg_proc_value(int64_t kind, double a, double b, double low, double high,
                               uint64_t seed, uint32_t key, uint32_t pre, int64_t chunk,
                               uint32_t *draw)
{
    if (kind == PG_CONSTANT) return a;
    if (kind == PG_UNIFORM) return a + (b - a) * philox_uniform(seed, key, pre, chunk, (*draw)++);
    double x = a;
    for (int attempt = 0; attempt < 1000; ++attempt) {
        const double u1 = philox_uniform(seed, key, pre, chunk, (*draw)++);
        const double u2 = philox_uniform(seed, key, pre, chunk, (*draw)++);
        x = a + b * pg_box_muller(u1, u2);
        if (kind == PG_NORMAL || (x >= low && x <= high)) return x;
    }
    return x < low ? low : high;    /* [low, high] holds almost no probability: give up */
}

/* The next connected neuron after `post` (start with lo - 1), or a value >= hi when the
   chunk has no more. log1m_p = ln(1 - p), computed by the host; p >= 1 connects all. */
DEVICE_FN int64_t pg_proc_next(int64_t post, int64_t hi, double log1m_p, int all,
                               uint64_t seed, uint32_t key, uint32_t pre, int64_t chunk,
                               uint32_t *draw)
{
    if (all) return post + 1;
    if (log1m_p == 0.0) return hi;     /* p = 0: nothing connects */
    const double u = philox_uniform(seed, key, pre, chunk, (*draw)++);
    const double gap = floor(pg_log(pg_open_unit(u)) / log1m_p);
    return gap < (double) (hi - post) ? post + 1 + (int64_t) gap : hi;
}

/* Delay in steps of a drawn delay in ms: nearest step, at least one. */
DEVICE_FN int pg_proc_delay_steps(double delay, double dt)
{
    const double steps = rint(delay / dt);
    return steps < 1.0 ? 1 : (int) steps;
}

#ifdef PG_WEIGHT_T
/* Generating a projection's synapses to store them (host and CUDA generation): the
   includer defines PG_POST_T, PG_WEIGHT_T and PG_DELAY_T, the types of the stored post
   indices, weights and delays (in steps). The struct's layout is mirrored by
   pynn_gpu.procedural._Generator. */
typedef struct {
    int64_t n_pre, n_post, wk, dk;
    double log1m_p, wa, wb, wl, wh, da, db, dl, dh, dt;
    uint64_t wseed, dseed;      /* the weight's and the delay's streams */
    uint32_t wkey, dkey;
    uint64_t seed;              /* the connections' stream */
    uint32_t key;
    int all, skip_self;
    int one_to_one;     /* row pre holds the pair (pre, pre) only (OneToOneConnector) */
    /* the postsynaptic neurons [post_lo, post_hi) whose synapses are wanted: all of them,
       or, over several processes, the process's own (post_lo a multiple of the chunk) */
    int64_t post_lo, post_hi;
} pg_generator;

/* Walk the synapses of one presynaptic neuron, chunk by chunk, as the procedural kernels
   do, and write what is asked for (the arrays given): synapse n onto `post` at position
   at + n (rows: post_out, and weight_out and delay_out unless the rows store that value
   once), or at position at + post when by_post (a dense matrix row: weight_out
   and delay_out only). Returns their number. A one-to-one generator walks the single
   chunk holding `pre` from `pre` on, so its synapse draws from (pre, that chunk). */
DEVICE_FN int64_t pg_row_at(const pg_generator *g, int64_t pre, int64_t at, int by_post,
                            PG_POST_T *post_out, PG_WEIGHT_T *weight_out, PG_DELAY_T *delay_out)
{
    int64_t first = g->one_to_one ? pre : g->post_lo;
    int64_t end = g->one_to_one ? pre + 1 : g->post_hi;
    if (first < g->post_lo) first = g->post_lo;
    if (end > g->post_hi) end = g->post_hi;
    int64_t n = 0;
    for (int64_t chunk = first / PG_PROC_CHUNK; chunk * PG_PROC_CHUNK < end; ++chunk) {
        const int64_t lo = chunk * PG_PROC_CHUNK > first ? chunk * PG_PROC_CHUNK : first;
        const int64_t hi = chunk * PG_PROC_CHUNK + PG_PROC_CHUNK < end ? chunk * PG_PROC_CHUNK + PG_PROC_CHUNK : end;
        uint32_t draw = 0u, wdraw = 0u, ddraw = 0u;
        for (int64_t post = pg_proc_next(lo - 1, hi, g->log1m_p, g->all, g->seed, g->key, (uint32_t) pre, chunk, &draw);
             post < hi;
             post = pg_proc_next(post, hi, g->log1m_p, g->all, g->seed, g->key, (uint32_t) pre, chunk, &draw)) {
            if (g->skip_self && post == pre) continue;
            const double w = pg_proc_value(g->wk, g->wa, g->wb, g->wl, g->wh, g->wseed, g->wkey, (uint32_t) pre, chunk, &wdraw);
            const double d = pg_proc_value(g->dk, g->da, g->db, g->dl, g->dh, g->dseed, g->dkey, (uint32_t) pre, chunk, &ddraw);
            const int64_t k = at + (by_post ? post : n);
            if (post_out) post_out[k] = (PG_POST_T) post;
            if (weight_out) weight_out[k] = (PG_WEIGHT_T) w;
            if (delay_out) delay_out[k] = (PG_DELAY_T) pg_proc_delay_steps(d, g->dt);
            ++n;
        }
    }
    return n;
}

/* The synapses of one presynaptic neuron into rows from position `at` (counted only without
   out arrays). */
DEVICE_FN int64_t pg_row(const pg_generator *g, int64_t pre, int64_t at, PG_POST_T *post_out,
                         PG_WEIGHT_T *weight_out, PG_DELAY_T *delay_out)
{
    return pg_row_at(g, pre, at, 0, post_out, weight_out, delay_out);
}

/* Whether the pair (pre, post) is connected, for the generators whose pairs follow a fixed
   pattern (every pair, or one-to-one; no random number decides them). */
DEVICE_FN int pg_pattern_connects(const pg_generator *g, int64_t pre, int64_t post)
{
    if (post < g->post_lo || post >= g->post_hi) return 0;     /* another process's */
    if (g->one_to_one) return post == pre;
    return !(g->skip_self && post == pre);
}
#endif /* PG_WEIGHT_T */

#endif /* PG_PROCEDURAL_H */
