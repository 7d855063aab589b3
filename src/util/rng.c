/* 64-bit uniforms and weighted choices over a gsl_rng passed in by the caller. */
#include "satprobe/rng.h"
#include "satprobe/error.h"

uint64_t sp_rng_u64(gsl_rng *r)
{
    /* The generator's fields directly: gsl_rng_min/max/get are out-of-line calls, and this is
     * the innermost loop of every sampler. */
    const gsl_rng_type *t = r->type;
    if (t->min == 0 && t->max == 0xffffffffUL) {
        uint64_t hi = t->get(r->state), lo = t->get(r->state);
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

/* 128-bit products; __extension__ keeps -Wpedantic quiet about the GCC/Clang type. */
__extension__ typedef unsigned __int128 u128;

/* Lemire's multiply-shift: the high word of x * n is uniform on [0, n) once the products whose
 * low word falls below 2^w mod n are rejected (w = 32 or 64 bits of x); it divides only in that
 * rare case. Bounds below 2^32 on a 32-bit generator take one draw instead of two. */
uint64_t sp_rng_below(gsl_rng *r, uint64_t n)
{
    SP_ASSERT(n > 0);
    const gsl_rng_type *t = r->type;
    if (n <= 0xffffffffu && t->min == 0 && t->max == 0xffffffffUL) {
        uint64_t m = (uint64_t)t->get(r->state) * n;
        uint32_t low = (uint32_t)m;
        if (low < n) {
            uint32_t th = (uint32_t)(0u - (uint32_t)n) % (uint32_t)n;
            while (low < th) {
                m = (uint64_t)t->get(r->state) * n;
                low = (uint32_t)m;
            }
        }
        return m >> 32;
    }
    u128 m = (u128)sp_rng_u64(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t th = (0 - n) % n;
        while (low < th) {
            m = (u128)sp_rng_u64(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
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
