/* Random draws on top of a caller-owned gsl_rng: 64-bit uniforms and weighted choices by exact counts. */
#ifndef SATPROBE_RNG_H
#define SATPROBE_RNG_H

#include "satprobe/error.h"

#include <gsl/gsl_rng.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 64 uniformly random bits. Uses gsl_rng_get twice for 32-bit generators (mt19937, the default)
 * and four 16-bit draws otherwise, so any GSL generator works. */
uint64_t sp_rng_u64(gsl_rng *r);

/* Uniform in [0, 1) with 64 random bits of mantissa (long double keeps all of them on x86-64). */
long double sp_rng_uniform_ld(gsl_rng *r);

/* Uniform integer in [0, n), n > 0, without modulo bias (one 32-bit draw when n <= 2^32 - 1
 * and the generator gives 32 bits, as mt19937 does). */
uint64_t sp_rng_below(gsl_rng *r, uint64_t n);

/* Index i with probability w[i] / total, where total is the sum of the k weights (all >= 0, total > 0).
 * Never returns an index whose weight is 0, even when rounding leaves the draw past the last
 * cumulative sum. */
size_t sp_rng_pick_ld(gsl_rng *r, const long double *w, size_t k, long double total);

/* Random bits taken a few at a time from 64-bit draws of r, for samplers whose decisions need
 * far fewer than 32 bits each. A caller keeps one on its stack for one sample; the bits left
 * over when it goes out of scope are dropped, which biases nothing (they are never looked at). */
typedef struct sp_bits {
    gsl_rng *r;
    uint64_t buf;   /* unused bits, lowest first */
    unsigned avail; /* how many */
} sp_bits;

static inline void sp_bits_init(sp_bits *b, gsl_rng *r)
{
    b->r = r;
    b->buf = 0;
    b->avail = 0;
}

/* w uniformly random bits, 1 <= w <= 32. A refill drops the w - 1 or fewer bits left. */
static inline uint64_t sp_bits_take(sp_bits *b, unsigned w)
{
    if (b->avail < w) {
        b->buf = sp_rng_u64(b->r);
        b->avail = 64;
    }
    uint64_t x = b->buf & ((UINT64_C(1) << w) - 1);
    b->buf >>= w;
    b->avail -= w;
    return x;
}

/* True with probability exactly p/q (0 <= p <= q, 0 < q < 2^40). A uniform U in [0, 1) is
 * compared with p/q 8 bits at a time: with R the next 8 bits, U < p/q for sure when
 * (R + 1) q <= 256 p, and for sure not when R q >= 256 p; otherwise (chance below 1/256) U's
 * remaining bits are compared with the remainder (256 p - R q)/q the same way. No division
 * and no rejection; 8 bits per decision instead of a 32-bit draw. p = 0 and p = q need no
 * special case (always false, always true), so callers may leave forced steps to it instead of
 * branching on them. */
static inline bool sp_bits_chance(sp_bits *b, uint64_t p, uint64_t q)
{
    SP_ASSERT(q > 0 && q < (UINT64_C(1) << 40) && p <= q);
    for (;;) {
        uint64_t P = p << 8, lo = sp_bits_take(b, 8) * q;
        bool sure = (lo + q <= P) | (lo >= P);
        if (__builtin_expect(sure, 1)) return lo < P;
        p = P - lo; /* 0 < p < q */
    }
}

/* Make a generator of GSL's default type (mt19937) seeded with `seed`. The caller frees it with
 * gsl_rng_free. */
gsl_rng *sp_rng_new(unsigned long seed);

#endif
