/* Negatives: uniform random strings of a length, and near misses (a member with K ~ Geometric(1/2)
 * length-preserving edits). Membership is checked by the caller. */
#include "gen_impl.h"
#include "satprobe/rng.h"

#include <string.h>

void sp_symdraw_init(sp_symdraw *d, gsl_rng *r, size_t k)
{
    d->r = r;
    d->k = k;
    d->bits = 0;
    if (k >= 2 && (k & (k - 1)) == 0)
        while (((size_t)1 << d->bits) < k) d->bits++;
    d->buf = 0;
    d->avail = 0;
}

static int draw(sp_symdraw *d)
{
    if (d->k == 1) return 0;
    if (d->bits) { /* slice the bits of 64-bit draws */
        if (d->avail < d->bits) {
            d->buf = sp_rng_u64(d->r);
            d->avail = 64;
        }
        int s = (int)(d->buf & (((uint64_t)1 << d->bits) - 1));
        d->buf >>= d->bits;
        d->avail -= d->bits;
        return s;
    }
    return (int)sp_rng_below(d->r, d->k);
}

void sp_random_string(sp_symdraw *d, int *out, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = draw(d);
}

static size_t below(sp_symdraw *d, size_t m) { return (size_t)sp_rng_below(d->r, m); }

/* One edit that changes s; false if the drawn edit would leave s as it was. */
static bool edit_once(sp_symdraw *d, int *s, size_t n, int *tmp)
{
    size_t kind = below(d, 3);
    if (kind == 0 || n == 1) { /* substitution by a different symbol */
        size_t i = below(d, n);
        int a = (int)below(d, d->k - 1);
        s[i] = a >= s[i] ? a + 1 : a;
        return true;
    }
    if (kind == 1) { /* swap two adjacent symbols */
        size_t i = below(d, n - 1);
        if (s[i] == s[i + 1]) return false;
        int t = s[i];
        s[i] = s[i + 1];
        s[i + 1] = t;
        return true;
    }
    /* delete the symbol at i, insert a at position j of what is left */
    size_t i = below(d, n), j = below(d, n);
    int a = (int)below(d, d->k);
    memcpy(tmp, s, n * sizeof *s);
    memmove(s + i, s + i + 1, (n - 1 - i) * sizeof *s);
    memmove(s + j + 1, s + j, (n - 1 - j) * sizeof *s);
    s[j] = a;
    return memcmp(tmp, s, n * sizeof *s) != 0;
}

unsigned sp_near_miss_edit(sp_symdraw *d, int *s, size_t n, int *tmp)
{
    SP_ASSERT(d->k >= 2 && n >= 1);
    uint64_t u;
    do u = sp_rng_u64(d->r);
    while (u == 0);
    unsigned K = 1 + (unsigned)__builtin_ctzll(u); /* P(K = j) = 2^-j */
    for (unsigned e = 0; e < K; e++)
        while (!edit_once(d, s, n, tmp)) {
        }
    return K;
}
