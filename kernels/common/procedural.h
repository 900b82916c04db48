/*
 * Procedural connectivity: the synapses of a random connector regenerated whenever they are
 * needed, from the counter-based generator, instead of being stored.
 *
 * The postsynaptic range is cut into chunks of PG_PROC_CHUNK neurons. The synapses of
 * presynaptic neuron `pre` in chunk `c` are a pure function of (seed, key, pre, c): every pair
 * is connected independently with probability p, found by geometric gaps (the gap to the next
 * connected neuron is floor(ln(1 - u) / ln(1 - p))), and each synapse then draws its weight
 * and its delay from the same stream. So any number of threads can generate any chunks, in
 * any order, and the C target, the CUDA target and the host (Projection.get) agree bit for bit.
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

#endif /* PG_PROCEDURAL_H */
