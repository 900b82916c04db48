/* Fixed-number connectivity drawn on the host (pynn_gpu.fixed_number), in parallel. */
#include <stdint.h>
#include <string.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#define DEVICE_FN static inline
#define PG_PARTNER_T int64_t
/* @HEADERS@ */

/* Lines that are presynaptic neurons: line `pre` fills row positions [start[pre],
   start[pre + 1]) with its partners, their weights and delays. */
void fn_draw_rows(const pg_fixed_number *g, const int64_t *start, int64_t *pre_out,
                  int64_t *post_out, double *weight, int32_t *delay)
{
    #pragma omp parallel for schedule(dynamic, 64)
    for (int64_t pre = 0; pre < g->n_lines; ++pre) {
        pg_fn_line(g, pre, start[pre + 1] - start[pre], post_out + start[pre]);
        for (int64_t c = start[pre]; c < start[pre + 1]; ++c) {
            pre_out[c] = pre;
            pg_fn_values(g, c, weight + c, delay + c);
        }
    }
}

/* Lines that are postsynaptic neurons: the presynaptic partners of each column. */
void fn_draw_columns(const pg_fixed_number *g, const int64_t *start, int64_t *partner)
{
    #pragma omp parallel for schedule(dynamic, 64)
    for (int64_t post = 0; post < g->n_lines; ++post)
        pg_fn_line(g, post, start[post + 1] - start[post], partner + start[post]);
}

/* Columns into rows by presynaptic neuron, each row in column order (a stable counting
   sort); a synapse's weight and delay come from its column position. Each thread files the
   rows of its own range of presynaptic neurons, so none waits for another. */
void fn_regroup_columns(const pg_fixed_number *g, const int64_t *start, const int64_t *partner,
                        int64_t n_pre, int64_t *row_ptr, int64_t *cursor, int64_t *pre_out,
                        int64_t *post_out, double *weight, int32_t *delay)
{
    const int64_t n = start[g->n_lines];
    memset(row_ptr, 0, (size_t) (n_pre + 1) * sizeof *row_ptr);
    for (int64_t c = 0; c < n; ++c) ++row_ptr[partner[c] + 1];
    for (int64_t pre = 0; pre < n_pre; ++pre) row_ptr[pre + 1] += row_ptr[pre];
    memcpy(cursor, row_ptr, (size_t) n_pre * sizeof *cursor);
    #pragma omp parallel
    {
        int64_t threads = 1, thread = 0;
#ifdef _OPENMP
        threads = omp_get_num_threads();
        thread = omp_get_thread_num();
#endif
        const int64_t low = n_pre * thread / threads, high = n_pre * (thread + 1) / threads;
        for (int64_t post = 0; post < g->n_lines; ++post)
            for (int64_t c = start[post]; c < start[post + 1]; ++c) {
                const int64_t pre = partner[c];
                if (pre < low || pre >= high) continue;
                const int64_t s = cursor[pre]++;
                post_out[s] = post;
                pg_fn_values(g, c, weight + s, delay + s);
            }
        for (int64_t pre = low; pre < high; ++pre)
            for (int64_t s = row_ptr[pre]; s < row_ptr[pre + 1]; ++s) pre_out[s] = pre;
    }
}
