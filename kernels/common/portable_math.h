#ifndef PG_PORTABLE_MATH_H
#define PG_PORTABLE_MATH_H
/*
 * Elementary functions that give the same bits on the C and CUDA targets.
 *
 * libm (C) and CUDA's math library round log, exp and sin differently in the last bit,
 * so random numbers built from them (Gaussian noise, gamma intervals) would differ
 * between targets. These versions use only +, -, *, /, sqrt, floor, frexp and ldexp, which
 * IEEE 754 defines exactly (both targets compile without contraction into fused
 * multiply-adds), with series whose truncation error is below 1e-16 relative.
 * They are for random-number transforms and phases, not for hot per-neuron dynamics.
 * DEVICE_FN is defined by the including template; philox.h must come first.
 */
#include <math.h>   /* fabs, floor, frexp, ldexp, sqrt (nvcc declares them anyway) */

#define PG_LN2_HI 6.93147180369123816490e-01   /* ln 2, upper bits: k * PG_LN2_HI is exact */
#define PG_LN2_LO 1.90821492927058770002e-10   /* ln 2 - PG_LN2_HI */

/* Natural logarithm of a finite x > 0. */
DEVICE_FN double pg_log(double x)
{
    int e;
    double m = frexp(x, &e);                  /* x = m * 2^e, m in [0.5, 1) */
    if (m < 0.70710678118654752440) {         /* m into [sqrt(1/2), sqrt(2)) */
        m *= 2.0;
        e -= 1;
    }
    /* log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172: s^2 < 0.0295, 12 terms */
    const double s = (m - 1.0) / (m + 1.0);
    const double s2 = s * s;
    double series = 1.0 / 25.0;
    series = 1.0 / 23.0 + s2 * series;
    series = 1.0 / 21.0 + s2 * series;
    series = 1.0 / 19.0 + s2 * series;
    series = 1.0 / 17.0 + s2 * series;
    series = 1.0 / 15.0 + s2 * series;
    series = 1.0 / 13.0 + s2 * series;
    series = 1.0 / 11.0 + s2 * series;
    series = 1.0 / 9.0 + s2 * series;
    series = 1.0 / 7.0 + s2 * series;
    series = 1.0 / 5.0 + s2 * series;
    series = 1.0 / 3.0 + s2 * series;
    const double log_m = 2.0 * s + 2.0 * s * s2 * series;
    return (double) e * PG_LN2_HI + ((double) e * PG_LN2_LO + log_m);
}

/* e^x; 0 below -745, +infinity above 709.7. */
DEVICE_FN double pg_exp(double x)
{
    if (x < -745.2) return 0.0;
    if (x > 709.7) return 1.0 / 0.0;
    const double k = floor(x * 1.44269504088896340736 + 0.5);   /* nearest integer to x/ln 2 */
    const double r = (x - k * PG_LN2_HI) - k * PG_LN2_LO;        /* |r| <= 0.3466 */
    /* Taylor series to r^14: the next term is below 3e-18 */
    double p = 1.0 / 87178291200.0;
    p = 1.0 / 6227020800.0 + r * p;
    p = 1.0 / 479001600.0 + r * p;
    p = 1.0 / 39916800.0 + r * p;
    p = 1.0 / 3628800.0 + r * p;
    p = 1.0 / 362880.0 + r * p;
    p = 1.0 / 40320.0 + r * p;
    p = 1.0 / 5040.0 + r * p;
    p = 1.0 / 720.0 + r * p;
    p = 1.0 / 120.0 + r * p;
    p = 1.0 / 24.0 + r * p;
    p = 1.0 / 6.0 + r * p;
    p = 0.5 + r * p;
    p = 1.0 + r * p;
    p = 1.0 + r * p;
    if (k > -1022.0 && k < 1024.0) {    /* a normal result: times 2^k built from its bits */
        union { int64_t i; double d; } scale;
        scale.i = ((int64_t) k + 1023) << 52;
        return p * scale.d;             /* exact, as ldexp */
    }
    return ldexp(p, (int) k);
}

/* sin(2 pi turns), for any finite number of turns. */
DEVICE_FN double pg_sin_turns(double turns)
{
    const double f = turns - floor(turns);             /* [0, 1) */
    const double q = floor(4.0 * f + 0.5);             /* nearest quarter turn, 0..4 */
    const double x = 6.28318530717958647693 * (f - 0.25 * q);   /* |x| <= pi/4 */
    const double x2 = x * x;
    /* Taylor series of sin to x^17 and cos to x^18: next terms below 1e-19 */
    double s = -1.0 / 355687428096000.0;
    s = 1.0 / 1307674368000.0 + x2 * s;
    s = -1.0 / 6227020800.0 + x2 * s;
    s = 1.0 / 39916800.0 + x2 * s;
    s = -1.0 / 362880.0 + x2 * s;
    s = 1.0 / 5040.0 + x2 * s;
    s = -1.0 / 120.0 + x2 * s;
    s = 1.0 / 6.0 + x2 * s;
    const double sin_x = x - x * x2 * s;
    double c = 1.0 / 6402373705728000.0;
    c = -1.0 / 20922789888000.0 + x2 * c;
    c = 1.0 / 87178291200.0 + x2 * c;
    c = -1.0 / 479001600.0 + x2 * c;
    c = 1.0 / 3628800.0 + x2 * c;
    c = -1.0 / 40320.0 + x2 * c;
    c = 1.0 / 720.0 + x2 * c;
    c = -1.0 / 24.0 + x2 * c;
    c = 0.5 + x2 * c;
    const double cos_x = 1.0 - x2 * c;
    /* sin(q pi/2 + x) */
    switch ((int) q & 3) {
    case 0: return sin_x;
    case 1: return cos_x;
    case 2: return -sin_x;
    default: return -cos_x;
    }
}

/* 1 - u for a uniform u in [0, 1), kept above 0 (float precision may round u up to 1). */
DEVICE_FN double pg_open_unit(double u)
{
    const double r = 1.0 - u;
    return r > 0.0 ? r : 2.3283064365386963e-10;
}

/* A standard normal number from two uniforms in [0, 1) (Box-Muller). */
DEVICE_FN double pg_box_muller(double u1, double u2)
{
    return sqrt(-2.0 * pg_log(pg_open_unit(u1))) * pg_sin_turns(u2 + 0.25);
}

/* The standard normal number of (seed, stream, neuron, counter): draws 0 and 1 of the
   Philox counter (neuron, counter, draw). */
DEVICE_FN double pg_normal(uint64_t seed, uint32_t stream, uint32_t neuron, int64_t counter)
{
    return pg_box_muller(philox_uniform(seed, stream, neuron, counter, 0u),
                         philox_uniform(seed, stream, neuron, counter, 1u));
}

/* A double stored as its IEEE bits in an int64 table (neuron-model tables are int64). */
DEVICE_FN double pg_double_bits(int64_t bits)
{
    union { int64_t i; double d; } value;
    value.i = bits;
    return value.d;
}

/* Hazard pdf(z) / sf(z) of the gamma distribution with shape a >= 1 and scale 1, at z > 0,
   from the regularised incomplete gamma function: its series below z = a + 1, its
   continued fraction (modified Lentz) above, as in Numerical Recipes' gser and gcf.
   lgamma_a = ln Gamma(a), computed by the host. For scale b the hazard is this over b. */
DEVICE_FN double pg_gamma_hazard(double z, double a, double lgamma_a)
{
    if (z < a + 1.0) {
        double term = 1.0 / a, sum = term;
        for (int n = 1; n < 1000 && term >= sum * 1e-17; ++n) {
            term *= z / (a + (double) n);
            sum += term;
        }
        const double scaled = pg_exp(-z + a * pg_log(z) - lgamma_a);   /* e^-z z^a / Gamma(a) */
        return scaled / (z * (1.0 - scaled * sum));
    }
    const double tiny = 1e-300;
    double b = z + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, cf = d;
    for (int i = 1; i < 1000; ++i) {
        const double an = -(double) i * ((double) i - a);
        b += 2.0;
        d = an * d + b;
        if (fabs(d) < tiny) d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        const double delta = d * c;
        cf *= delta;
        if (fabs(delta - 1.0) < 1e-16) break;
    }
    return 1.0 / (z * cf);     /* sf = e^-z z^a cf / Gamma(a) */
}

#endif /* PG_PORTABLE_MATH_H */
