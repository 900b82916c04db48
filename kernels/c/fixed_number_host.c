/* Fixed-number connectivity drawn on the host (pynn_gpu.fixed_number), in parallel. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
/* Below this much work (pairs or synapses) a loop stays on one thread: starting threads
   costs more than it saves, up to milliseconds when the cores are busy. */
#define HOST_PARALLEL_WORK 65536
#define DEVICE_FN static inline
#define PG_PARTNER_T int64_t
/* @HEADERS@ */

/* Lines that are presynaptic neurons: line `pre` fills row positions [start[pre],
   start[pre + 1]) with its partners, their weights and delays. */
void fn_draw_rows(const pg_fixed_number *g, const int64_t *start, int64_t *pre_out,
                  int64_t *post_out, double *weight, int32_t *delay)
{
    #pragma omp parallel for schedule(dynamic, 64) if(start[g->n_lines] >= HOST_PARALLEL_WORK)
    for (int64_t pre = 0; pre < g->n_lines; ++pre) {
        pg_fn_line(g, pre, start[pre + 1] - start[pre], post_out + start[pre]);
        for (int64_t c = start[pre]; c < start[pre + 1]; ++c) {
            pre_out[c] = pre;
            pg_fn_values(g, c, weight + c, delay + c);
        }
    }
}

/* Lines that are presynaptic neurons, keeping the synapses onto postsynaptic neurons
   [first, end) only (over several processes, a process's own): each line is drawn whole
   (its partners are a function of the line alone) and its kept synapses go to kept[pre]
   (malloc'd: their postsynaptic neurons, then their positions in the layout), their
   number to counts[pre]. Returns 0, or -1 when memory ran out (fn_free_rows cleans up). */
int fn_keep_rows_onto(const pg_fixed_number *g, const int64_t *start, int64_t first,
                      int64_t end, int64_t longest, int64_t *counts, int64_t **kept)
{
    int failed = 0;
    #pragma omp parallel reduction(|:failed) if(start[g->n_lines] >= HOST_PARALLEL_WORK)
    {
        int64_t *line = (int64_t *) malloc((size_t) (longest > 0 ? longest : 1) * sizeof *line);
        failed = line == NULL;
        #pragma omp for schedule(dynamic, 64)
        for (int64_t pre = 0; pre < g->n_lines; ++pre) {
            if (failed) continue;
            const int64_t n = start[pre + 1] - start[pre];
            pg_fn_line(g, pre, n, line);
            int64_t m = 0;
            for (int64_t k = 0; k < n; ++k) m += line[k] >= first && line[k] < end;
            kept[pre] = (int64_t *) malloc((size_t) (m > 0 ? 2 * m : 1) * sizeof *line);
            if (kept[pre] == NULL) { failed = 1; continue; }
            for (int64_t k = 0, j = 0; k < n; ++k)
                if (line[k] >= first && line[k] < end) {
                    kept[pre][j] = line[k];
                    kept[pre][m + j++] = start[pre] + k;
                }
            counts[pre] = m;
        }
        free(line);
    }
    return failed ? -1 : 0;
}

/* Lines that are presynaptic neurons: the synapses onto each postsynaptic neuron of
   [first, end) counted into post_counts, none stored (len() and in-degrees of a projection
   not generated on the host). Each line is drawn whole, as fn_keep_rows_onto draws it, into
   a buffer of its thread. Returns 0, or -1 when a buffer cannot be had. */
int fn_count_rows_onto(const pg_fixed_number *g, const int64_t *start, int64_t first,
                       int64_t end, int64_t longest, int64_t *post_counts)
{
    int failed = 0;
    #pragma omp parallel reduction(|:failed) if(start[g->n_lines] >= HOST_PARALLEL_WORK)
    {
        int64_t *line = (int64_t *) malloc((size_t) (longest > 0 ? longest : 1) * sizeof *line);
        failed = line == NULL;
        #pragma omp for schedule(dynamic, 64)
        for (int64_t pre = 0; pre < g->n_lines; ++pre) {
            if (failed) continue;
            const int64_t n = start[pre + 1] - start[pre];
            pg_fn_line(g, pre, n, line);
            for (int64_t k = 0; k < n; ++k)
                if (line[k] >= first && line[k] < end) {
                    #pragma omp atomic
                    post_counts[line[k]]++;
                }
        }
        free(line);
    }
    return failed ? -1 : 0;
}

/* The kept synapses in place from row_ptr (the running sum of the counts), with their
   weights and delays; the buffers are freed. */
void fn_fill_rows_onto(const pg_fixed_number *g, const int64_t *row_ptr, int64_t **kept,
                       int64_t *pre_out, int64_t *post_out, double *weight, int32_t *delay)
{
    #pragma omp parallel for schedule(dynamic, 64) if(row_ptr[g->n_lines] >= HOST_PARALLEL_WORK)
    for (int64_t pre = 0; pre < g->n_lines; ++pre) {
        const int64_t m = row_ptr[pre + 1] - row_ptr[pre];
        for (int64_t j = 0; j < m; ++j) {
            const int64_t s = row_ptr[pre] + j;
            pre_out[s] = pre;
            post_out[s] = kept[pre][j];
            pg_fn_values(g, kept[pre][m + j], weight + s, delay + s);
        }
        free(kept[pre]);
        kept[pre] = NULL;
    }
}

void fn_free_rows(int64_t n_rows, int64_t **kept)
{
    for (int64_t pre = 0; pre < n_rows; ++pre) {
        free(kept[pre]);
        kept[pre] = NULL;
    }
}

/* Lines that are postsynaptic neurons: the presynaptic partners of columns [first, end),
   from partner[0] on (position start[first] of the layout). */
void fn_draw_columns(const pg_fixed_number *g, const int64_t *start, int64_t first,
                     int64_t end, int64_t *partner)
{
    #pragma omp parallel for schedule(dynamic, 64) if(start[end] - start[first] >= HOST_PARALLEL_WORK)
    for (int64_t post = first; post < end; ++post)
        pg_fn_line(g, post, start[post + 1] - start[post], partner + (start[post] - start[first]));
}

/* Columns [first, end) (partner[k]: position start[first] + k) into rows by presynaptic
   neuron, each row in column order (a stable counting sort); a synapse's weight and delay
   come from its column position. Each thread files the
   rows of its own range of presynaptic neurons, so none waits for another. */
void fn_regroup_columns(const pg_fixed_number *g, const int64_t *start, int64_t first,
                        int64_t end, const int64_t *partner, int64_t n_pre, int64_t *row_ptr,
                        int64_t *cursor, int64_t *pre_out, int64_t *post_out, double *weight,
                        int32_t *delay)
{
    const int64_t n = start[end] - start[first];
    memset(row_ptr, 0, (size_t) (n_pre + 1) * sizeof *row_ptr);
    for (int64_t k = 0; k < n; ++k) ++row_ptr[partner[k] + 1];
    for (int64_t pre = 0; pre < n_pre; ++pre) row_ptr[pre + 1] += row_ptr[pre];
    memcpy(cursor, row_ptr, (size_t) n_pre * sizeof *cursor);
    #pragma omp parallel if(n >= HOST_PARALLEL_WORK)
    {
        int64_t threads = 1, thread = 0;
#ifdef _OPENMP
        threads = omp_get_num_threads();
        thread = omp_get_thread_num();
#endif
        const int64_t low = n_pre * thread / threads, high = n_pre * (thread + 1) / threads;
        for (int64_t post = first; post < end; ++post)
            for (int64_t c = start[post]; c < start[post + 1]; ++c) {
                const int64_t pre = partner[c - start[first]];
                if (pre < low || pre >= high) continue;
                const int64_t s = cursor[pre]++;
                post_out[s] = post;
                pg_fn_values(g, c, weight + s, delay + s);
            }
        for (int64_t pre = low; pre < high; ++pre)
            for (int64_t s = row_ptr[pre]; s < row_ptr[pre + 1]; ++s) pre_out[s] = pre;
    }
}
