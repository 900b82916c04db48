/* Distance-dependent connectivity decided on the host (pynn_gpu.distance_probability), in
   parallel over rows. Every pair is decided once: the first pass keeps each row's connected
   neurons in a buffer of its own, the second puts the rows in place. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#define DEVICE_FN static inline
#define PG_POST_T int32_t
/* @HEADERS@ */
/* Below this much work (pairs or synapses) a loop stays on one thread: starting threads
   costs more than it saves, up to milliseconds when the cores are busy. */
#define HOST_PARALLEL_WORK 65536

/* The connected postsynaptic neurons of each row among [first, end) into rows[pre]
   (malloc'd), their number into counts[pre]. Returns 0, or -1 when memory ran out
   (dd_free_rows cleans up). */
int dd_draw_rows(const pg_distance_probability *g, const double *pre_xyz,
                 const double *post_xyz, int64_t first, int64_t end, int64_t *counts,
                 int32_t **rows)
{
    int failed = 0;
    #pragma omp parallel reduction(|:failed) if(g->n_pre * (end - first) >= HOST_PARALLEL_WORK)
    {
        /* a whole row fits in each thread's scratch row, then moves to a row of its size */
        int32_t *scratch = (int32_t *) malloc((size_t) (end > first ? end - first : 1)
                                              * sizeof *scratch);
        failed = scratch == NULL;
        #pragma omp for schedule(dynamic, 16)
        for (int64_t pre = 0; pre < g->n_pre; ++pre) {
            if (failed) continue;
            const int64_t n = pg_dd_decide(g, pre_xyz, post_xyz, pre, first, end, scratch);
            rows[pre] = (int32_t *) malloc((size_t) (n > 0 ? n : 1) * sizeof *scratch);
            if (rows[pre] == NULL) { failed = 1; continue; }
            memcpy(rows[pre], scratch, (size_t) n * sizeof *scratch);
            counts[pre] = n;
        }
        free(scratch);
    }
    return failed ? -1 : 0;
}

/* The synapses onto each postsynaptic neuron of [first, end) counted into post_counts,
   none stored (len() and in-degrees of a projection not generated on the host): each row
   is decided as dd_draw_rows decides it, into a scratch row of its thread. Returns 0, or
   -1 when a scratch row cannot be had. */
int dd_count_onto(const pg_distance_probability *g, const double *pre_xyz,
                  const double *post_xyz, int64_t first, int64_t end, int64_t *post_counts)
{
    int failed = 0;
    #pragma omp parallel reduction(|:failed) if(g->n_pre * (end - first) >= HOST_PARALLEL_WORK)
    {
        int32_t *scratch = (int32_t *) malloc((size_t) (end > first ? end - first : 1)
                                              * sizeof *scratch);
        failed = scratch == NULL;
        #pragma omp for schedule(dynamic, 16)
        for (int64_t pre = 0; pre < g->n_pre; ++pre) {
            if (failed) continue;
            const int64_t n = pg_dd_decide(g, pre_xyz, post_xyz, pre, first, end, scratch);
            for (int64_t k = 0; k < n; ++k) {
                #pragma omp atomic
                post_counts[scratch[k]]++;
            }
        }
        free(scratch);
    }
    return failed ? -1 : 0;
}

/* Rows in place from row_ptr (the running sum of the counts), with every synapse's weight
   and delay; the row buffers are freed. */
void dd_fill_rows(const pg_distance_probability *g, const int64_t *row_ptr, int32_t **rows,
                  int64_t *pre_out, int64_t *post_out, double *weight, int32_t *delay)
{
    #pragma omp parallel for schedule(dynamic, 16) if(row_ptr[g->n_pre] >= HOST_PARALLEL_WORK)
    for (int64_t pre = 0; pre < g->n_pre; ++pre) {
        for (int64_t s = row_ptr[pre]; s < row_ptr[pre + 1]; ++s) {
            const int64_t post = rows[pre][s - row_ptr[pre]];
            pre_out[s] = pre;
            post_out[s] = post;
            pg_dd_values(g, pre, post, weight + s, delay + s);
        }
        free(rows[pre]);
        rows[pre] = NULL;
    }
}

void dd_free_rows(int64_t n_rows, int32_t **rows)
{
    for (int64_t pre = 0; pre < n_rows; ++pre) {
        free(rows[pre]);
        rows[pre] = NULL;
    }
}

/* For each of the given rows, the sum of its connection probabilities (each clipped to
   [0, 1]) with every postsynaptic neuron: how many synapses to expect, without drawing any.
   One sum per row, each in one thread, so the caller's total does not depend on the number
   of threads (a parallel reduction would add in another order). */
void dd_expected_row_synapses(const pg_distance_probability *g, const double *pre_xyz,
                              const double *post_xyz, const int64_t *sample_rows,
                              int64_t n_rows, double *row_sums)
{
    #pragma omp parallel for if(n_rows * g->n_post >= HOST_PARALLEL_WORK)
    for (int64_t r = 0; r < n_rows; ++r) {
        const int64_t pre = sample_rows[r];
        double sum = 0.0;
        for (int64_t post = 0; post < g->n_post; ++post) {
            if (g->skip_self && pre == post) continue;
            const double p = pg_dd_pair_probability(g, pre_xyz, post_xyz, pre, post);
            sum += p > 1.0 ? 1.0 : (p > 0.0 ? p : 0.0);
        }
        row_sums[r] = sum;
    }
}

/* The distances of the given pairs (what the tests compare with Space.distances). */
void dd_distances(const pg_distance_probability *g, const double *pre_xyz,
                  const double *post_xyz, const int64_t *pre, const int64_t *post, int64_t n,
                  double *out)
{
    for (int64_t k = 0; k < n; ++k) out[k] = pg_dd_distance(g, pre_xyz, post_xyz, pre[k], post[k]);
}
