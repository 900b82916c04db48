/*
 * What the C translation of a distance expression (pynn_gpu.distance_expression) calls
 * besides the C library. Needs portable_math.h; DEVICE_FN comes from the includer.
 */
#ifndef PG_DD_HELPERS
#define PG_DD_HELPERS

/* Python's meaning of and, or, not and min/max on numbers (see distance_expression.py) */
DEVICE_FN double pg_dd_and(double a, double b) { return a != 0.0 ? b : a; }
DEVICE_FN double pg_dd_or(double a, double b) { return a != 0.0 ? a : b; }
DEVICE_FN double pg_dd_not(double a) { return a == 0.0 ? 1.0 : 0.0; }
DEVICE_FN double pg_dd_min(double a, double b) { return b < a ? b : a; }
DEVICE_FN double pg_dd_max(double a, double b) { return b > a ? b : a; }
DEVICE_FN double pg_dd_pow(double a, double b) { return pow(a, b); }

/* e^x and ln x with the same bits on every target (portable_math.h), for any x */
DEVICE_FN double pg_dd_exp(double x)
{
    return x != x ? x : pg_exp(x);
}

DEVICE_FN double pg_dd_log(double x)
{
    if (x != x || x < 0.0) return 0.0 / 0.0;
    if (x == 0.0) return -1.0 / 0.0;
    if (x > 1.7976931348623157e308) return x;
    return pg_log(x);
}

/* x^n for an integer n by repeated squaring: only multiplications, exact alike everywhere */
DEVICE_FN double pg_dd_powi(double x, int n)
{
    double result = 1.0, factor = x;
    for (int m = n < 0 ? -n : n; m > 0; m >>= 1) {
        if (m & 1) result *= factor;
        factor *= factor;
    }
    return n < 0 ? 1.0 / result : result;
}
#endif /* PG_DD_HELPERS */
