/* Fixed-number connectivity drawn on the host (pynn_gpu.fixed_number): lines in parallel. */
#include <stdint.h>
#include <string.h>
#include <math.h>
#define DEVICE_FN static inline
#define PG_POST_T int64_t
/* @HEADERS@ */

/* Every line's partners into partner[start[line], start[line + 1]), and every synapse's
   weight and delay at the same positions. */
void fn_draw_lines(const pg_fixed_number *g, const int64_t *start, int64_t *partner,
                   double *weight, int32_t *delay)
{
    #pragma omp parallel for schedule(dynamic, 64)
    for (int64_t line = 0; line < g->n_lines; ++line) {
        pg_fn_line(g, line, start[line + 1] - start[line], partner + start[line]);
        for (int64_t c = start[line]; c < start[line + 1]; ++c)
            pg_fn_values(g, c, weight + c, delay + c);
    }
}
