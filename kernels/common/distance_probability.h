/*
 * Distance-dependent connectivity (DistanceDependentProbabilityConnector) from the
 * counter-based generator.
 *
 * Pair (pre i, post j) is connected when a uniform number keyed by (seed, key, i) with
 * counter j is below p = pg_dd_probability(d), d being the distance of the two neurons as
 * pyNN.space.Space measures it. The uniform is word j % 4 of the Philox block (i, j / 4,
 * draw 0): one block serves four pairs. The synapse's weight and delay draw from counter
 * (i, j) of their own streams (wseed, wkey; dseed, dkey: the stream of the NativeRNG the
 * value's distribution draws from). So every pair is a pure function of the streams and
 * (i, j): any thread can decide any range of pairs, and the host (Projection.get), the C
 * target and the CUDA target build the same synapses.
 *
 * The includer defines DEVICE_FN and PG_POST_T (the type of the postsynaptic indices
 * pg_dd_decide writes) and includes philox.h, portable_math.h, procedural.h
 * (pg_proc_value, pg_proc_delay_steps), distance_math.h, and then the generated
 * probability function `double pg_dd_probability(double d)` (pynn_gpu.distance_expression).
 */
#ifndef PG_DISTANCE_PROBABILITY_H
#define PG_DISTANCE_PROBABILITY_H

/* Layout mirrored by pynn_gpu.distance_probability._Generator. */
typedef struct {
    int64_t n_pre, n_post;
    int64_t wk, dk;             /* weight and delay distributions (pg_proc_value) */
    double wa, wb, wl, wh, da, db, dl, dh, dt;
    double period[3];           /* periodic boundary: the length of the axis */
    uint64_t wseed, dseed;      /* the weight's and the delay's streams */
    uint32_t wkey, dkey;
    uint64_t seed;              /* the decisions' stream */
    uint32_t key;
    int skip_self;              /* pre and post are one population: no pair (i, i) */
    int axes[3];                /* 1 for each axis the distance uses (Space.axes) */
    int periodic[3];            /* 1 for each axis with periodic boundaries */
} pg_distance_probability;

/* Space.distances: positions are 3 x n arrays (x row, y row, z row); the postsynaptic ones
   already scaled and offset as the space sees them. The same operations in the same order
   as numpy's, so the distances are equal bit for bit. */
DEVICE_FN double pg_dd_distance(const pg_distance_probability *g, const double *pre_xyz,
                                const double *post_xyz, int64_t pre, int64_t post)
{
    double sum = 0.0;
    for (int axis = 0; axis < 3; ++axis) {
        if (!g->axes[axis]) continue;
        double difference = pre_xyz[axis * g->n_pre + pre] - post_xyz[axis * g->n_post + post];
        if (g->periodic[axis]) {        /* the nearer image */
            const double direct = fabs(difference), around = g->period[axis] - direct;
            difference = around < direct ? around : direct;
        }
        sum += difference * difference;
    }
    return sqrt(sum);
}

/* The connection probability of a pair (not clipped: PyNN's values above 1 count as 1). */
DEVICE_FN double pg_dd_pair_probability(const pg_distance_probability *g,
                                        const double *pre_xyz, const double *post_xyz,
                                        int64_t pre, int64_t post)
{
    return pg_dd_probability(pg_dd_distance(g, pre_xyz, post_xyz, pre, post));
}

/* Decides the pairs (pre, first) .. (pre, end - 1); writes the connected postsynaptic
   neurons into out (when given, in ascending order) and returns how many there are.
   Probabilities of 1 or more always connect and those of 0 or less (or NaN) never do, as
   with PyNN's `uniform < p`. */
DEVICE_FN int64_t pg_dd_decide(const pg_distance_probability *g, const double *pre_xyz,
                               const double *post_xyz, int64_t pre, int64_t first,
                               int64_t end, PG_POST_T *out)
{
    uint32_t words[4];
    int64_t n = 0;
    for (int64_t post = first; post < end; ++post) {
        if (post == first || (post & 3) == 0)
            philox_block(g->seed, g->key, (uint32_t) pre, post >> 2, 0u, words);
        if (g->skip_self && pre == post) continue;
        const double p = pg_dd_pair_probability(g, pre_xyz, post_xyz, pre, post);
        if (!(p > 0.0)) continue;
        if (p < 1.0 && (double) words[post & 3] * 2.3283064365386963e-10 >= p) continue;
        if (out) out[n] = (PG_POST_T) post;
        ++n;
    }
    return n;
}

/* Weight and delay (in steps) of the synapse pre -> post. */
DEVICE_FN void pg_dd_values(const pg_distance_probability *g, int64_t pre, int64_t post,
                            double *weight, int32_t *delay)
{
    uint32_t wdraw = 0u, ddraw = 0u;
    *weight = pg_proc_value(g->wk, g->wa, g->wb, g->wl, g->wh, g->wseed, g->wkey,
                            (uint32_t) pre, post, &wdraw);
    *delay = pg_proc_delay_steps(
        pg_proc_value(g->dk, g->da, g->db, g->dl, g->dh, g->dseed, g->dkey, (uint32_t) pre,
                      post, &ddraw), g->dt);
}

#endif /* PG_DISTANCE_PROBABILITY_H */
