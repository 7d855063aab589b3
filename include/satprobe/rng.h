/* Random draws on top of a caller-owned gsl_rng: 64-bit uniforms and weighted choices by exact counts. */
#ifndef SATPROBE_RNG_H
#define SATPROBE_RNG_H

#include <gsl/gsl_rng.h>
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

/* Make a generator of GSL's default type (mt19937) seeded with `seed`. The caller frees it with
 * gsl_rng_free. */
gsl_rng *sp_rng_new(unsigned long seed);

#endif
