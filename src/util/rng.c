/* 64-bit uniforms and weighted choices over a gsl_rng passed in by the caller. */
#include "satprobe/rng.h"
#include "satprobe/error.h"

uint64_t sp_rng_u64(gsl_rng *r)
{
    if (gsl_rng_min(r) == 0 && gsl_rng_max(r) == 0xffffffffUL) {
        uint64_t hi = gsl_rng_get(r), lo = gsl_rng_get(r);
        return (hi << 32) | lo;
    }
    uint64_t x = 0;
    for (int i = 0; i < 4; i++) x = (x << 16) | (uint64_t)gsl_rng_uniform_int(r, 65536);
    return x;
}

long double sp_rng_uniform_ld(gsl_rng *r)
{
    return (long double)sp_rng_u64(r) * 0x1p-64L;
}

uint64_t sp_rng_below(gsl_rng *r, uint64_t n)
{
    SP_ASSERT(n > 0);
    /* Reject the top partial block so that every residue is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = sp_rng_u64(r);
    while (x >= limit);
    return x % n;
}

size_t sp_rng_pick_ld(gsl_rng *r, const long double *w, size_t k, long double total)
{
    SP_ASSERT(k > 0 && total > 0);
    long double u = sp_rng_uniform_ld(r) * total, acc = 0;
    size_t last = k;
    for (size_t i = 0; i < k; i++) {
        if (w[i] <= 0) continue;
        acc += w[i];
        last = i;
        if (u < acc) return i;
    }
    SP_ASSERT(last < k);
    return last;
}

gsl_rng *sp_rng_new(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r) sp_panic(__FILE__, __LINE__, "out of memory (gsl_rng_alloc)");
    gsl_rng_set(r, seed);
    return r;
}
