/*
 * Philox-4x32-10 counter-based random numbers (Salmon et al., SC'11).
 *
 * A number depends only on (key, counter), never on the order in which threads ask for
 * it, so the C and CUDA targets draw the same numbers for the same neuron and step.
 * key     = (seed, group key); counter = (neuron, step low, step high, draw index).
 * Seeds are below 2^32 (setup's rng_seed, as NumpyRNG's and NativeRNG's), one key word, so
 * two seeds or two groups never share a stream.
 * A synapse's numbers (philox_pair_uniform) are keyed by what the synapse is, its
 * (presynaptic, postsynaptic) neuron pair, never by where it is stored.
 * DEVICE_FN is defined by the including template ("static inline" or "__device__").
 */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

DEVICE_FN uint32_t philox_mulhilo(uint32_t a, uint32_t b, uint32_t *hi)
{
    const uint64_t product = (uint64_t) a * (uint64_t) b;
    *hi = (uint32_t) (product >> 32);
    return (uint32_t) product;
}

/* The four output words of one block. */
DEVICE_FN void philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                             uint32_t k0, uint32_t k1, uint32_t out[4])
{
    for (int round = 0; round < 10; ++round) {
        uint32_t hi0, hi1;
        const uint32_t lo0 = philox_mulhilo(PHILOX_M0, c0, &hi0);
        const uint32_t lo1 = philox_mulhilo(PHILOX_M1, c2, &hi1);
        const uint32_t n0 = hi1 ^ c1 ^ k0;
        const uint32_t n2 = hi0 ^ c3 ^ k1;
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
        k0 += PHILOX_W0; k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

DEVICE_FN uint32_t philox4x32_10_first(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                       uint32_t k0, uint32_t k1)
{
    uint32_t out[4];
    philox4x32_10(c0, c1, c2, c3, k0, k1, out);
    return out[0];
}

/* 32 random bits. */
DEVICE_FN uint32_t philox_bits(uint64_t seed, uint32_t group_key, uint32_t neuron,
                               int64_t step, uint32_t draw)
{
    return philox4x32_10_first(
        neuron, (uint32_t) ((uint64_t) step & 0xFFFFFFFFu), (uint32_t) ((uint64_t) step >> 32),
        draw, (uint32_t) seed, group_key);
}

/* The four words of the block philox_bits takes its first word from (same counter layout). */
DEVICE_FN void philox_block(uint64_t seed, uint32_t group_key, uint32_t neuron, int64_t step,
                            uint32_t draw, uint32_t out[4])
{
    philox4x32_10(neuron, (uint32_t) ((uint64_t) step & 0xFFFFFFFFu),
                  (uint32_t) ((uint64_t) step >> 32), draw, (uint32_t) seed, group_key, out);
}

/* Uniform in [0, 1) with 32 random bits. */
DEVICE_FN double philox_uniform(uint64_t seed, uint32_t group_key, uint32_t neuron,
                                int64_t step, uint32_t draw)
{
    return (double) philox_bits(seed, group_key, neuron, step, draw)
        * 2.3283064365386963e-10;  /* 2^-32 */
}

/* Uniform in [0, 1) for a synapse of a synapse group: counter = (presynaptic neuron,
   postsynaptic neuron, step low, draw), so every target, connectivity format, propagation
   strategy and number of processes draws the same numbers for the same synapse. `draw`
   holds the synapse's ordinal among those of its pair (a multapse's) in its upper 16 bits.
   Steps beyond 2^32 go into the key, so streams of different such epochs differ too. */
DEVICE_FN double philox_pair_uniform(uint64_t seed, uint32_t group_key, uint32_t pre,
                                     uint32_t post, int64_t step, uint32_t draw)
{
    const uint32_t epoch = (uint32_t) ((uint64_t) step >> 32);
    return (double) philox4x32_10_first(
        pre, post, (uint32_t) ((uint64_t) step & 0xFFFFFFFFu), draw,
        (uint32_t) seed ^ (epoch * PHILOX_W0), group_key)
        * 2.3283064365386963e-10;  /* 2^-32 */
}
