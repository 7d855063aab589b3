/* Pools: all candidates of one length, enumerated, for lengths where a split takes most of them
 * (rejection sampling would then spend its time on repeats). */
#include "gen_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/rng.h"

#include <stdlib.h>
#include <string.h>

static sp_pool *pool_new(size_t n)
{
    sp_pool *p = sp_calloc(1, sizeof *p);
    p->n = n;
    return p;
}

static void pool_add(sp_pool *p, const int *s)
{
    SP_GROW(p->data, p->cap, (p->count + 1) * (p->n ? p->n : 1));
    for (size_t i = 0; i < p->n; i++) p->data[p->count * p->n + i] = (uint16_t)s[i];
    p->count++;
}

static bool excluded(const sp_strset *exclude, const int *s, size_t n)
{
    return exclude && sp_strset_has(exclude, sp_strhash(s, n));
}

sp_pool *sp_pool_members(const sp_lang *lang, size_t n, const sp_strset *exclude, int *work)
{
    size_t k = sp_lang_alphabet_size(lang);
    /* Search steps allowed: generous for languages whose viable prefixes mostly complete, small
     * enough (a few tenths of a second) that a hopeless search gives up quickly. */
    size_t budget = 32 * (size_t)SP_POOL_MAX_MEMBERS, steps = 0, found = 0;
    bool *valid = sp_malloc((n + 1) * k, sizeof *valid);
    size_t *cur = sp_malloc(n + 1, sizeof *cur);
    sp_pool *p = pool_new(n);
    bool end, ok = true;
    if (n == 0) {
        if (sp_lang_accepts(lang, work, 0) && !excluded(exclude, work, 0)) pool_add(p, work);
        goto done;
    }
    sp_lang_next(lang, work, 0, valid, &end);
    cur[0] = 0;
    size_t d = 0; /* work[0..d) is a viable prefix; cur[d] is the next symbol to try after it */
    for (;;) {
        while (cur[d] < k && !valid[d * k + cur[d]]) cur[d]++;
        if (cur[d] == k) {
            if (d == 0) break;
            cur[--d]++;
            continue;
        }
        work[d] = (int)cur[d];
        if (++steps > budget) {
            ok = false;
            break;
        }
        if (d + 1 == n) {
            if (sp_lang_accepts(lang, work, n)) {
                if (++found > SP_POOL_MAX_MEMBERS) {
                    ok = false;
                    break;
                }
                if (!excluded(exclude, work, n)) pool_add(p, work);
            }
            cur[d]++;
        } else {
            d++;
            sp_lang_next(lang, work, d, valid + d * k, &end);
            cur[d] = 0;
        }
    }
done:
    free(valid);
    free(cur);
    if (!ok) {
        sp_pool_destroy(p);
        return NULL;
    }
    return p;
}

sp_pool *sp_pool_collect(sp_lang *lang, size_t n, size_t members, gsl_rng *r,
                          const sp_strset *exclude, int *work)
{
    /* Coupon collecting: members * H(members) draws expected; give up at 16 times that. */
    double expect = 1;
    for (size_t i = 1; i <= members; i++) expect += (double)members / (double)i;
    size_t limit = (size_t)(16 * expect), found = 0;
    sp_strset seen;
    sp_strset_init(&seen, members);
    sp_pool *p = pool_new(n);
    for (size_t t = 0; t < limit && found < members; t++) {
        if (sp_lang_sample(lang, n, r, work, NULL)) break;
        uint64_t h = sp_strhash(work, n);
        if (!sp_strset_add(&seen, h)) continue;
        found++;
        if (!exclude || !sp_strset_has(exclude, h)) pool_add(p, work);
    }
    sp_strset_free(&seen);
    if (found < members) {
        sp_pool_destroy(p);
        return NULL;
    }
    return p;
}

sp_pool *sp_pool_nonmembers(const sp_lang *lang, size_t n, const sp_strset *exclude, int *work)
{
    size_t k = sp_lang_alphabet_size(lang);
    sp_pool *p = pool_new(n);
    memset(work, 0, (n ? n : 1) * sizeof *work);
    for (;;) {
        if (!sp_lang_accepts(lang, work, n) && !excluded(exclude, work, n)) pool_add(p, work);
        size_t i = n;
        while (i > 0 && (size_t)work[i - 1] + 1 == k) work[--i] = 0;
        if (i == 0) break;
        work[i - 1]++;
    }
    return p;
}

bool sp_pool_take(sp_pool *p, gsl_rng *r, int *out)
{
    if (p->count == 0) return false;
    size_t i = (size_t)sp_rng_below(r, p->count), n = p->n;
    for (size_t j = 0; j < n; j++) out[j] = p->data[i * n + j];
    p->count--;
    memmove(p->data + i * n, p->data + p->count * n, n * sizeof *p->data);
    return true;
}

void sp_pool_destroy(sp_pool *p)
{
    if (!p) return;
    free(p->data);
    free(p);
}
