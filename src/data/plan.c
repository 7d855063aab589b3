/* Planning a split: per length the strings that exist and remain, the lengths dropped and why,
 * the most positives each length can take, then the quotas. */
#include "gen_impl.h"
#include "satprobe/alloc.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>

/* Below this fraction of non-members among all strings of a length (that is too long to
 * enumerate), rejection sampling would need more than 10^4 draws per negative: drop it. */
#define RARE_NONMEMBERS 1e-4L

static uint64_t saturate(long double x)
{
    if (!(x > 0)) return 0;
    if (x >= (long double)SP_AVAIL_MANY) return SP_AVAIL_MANY;
    return (uint64_t)x;
}

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* Counts, what train left, drop reasons and caps of one length. */
static void measure(gen_length *L, sp_lang *lang, const gen_split *train, bool negatives)
{
    size_t k = sp_lang_alphabet_size(lang), n = L->n;
    long double total = powl((long double)k, (long double)n);
    L->members = sp_lang_count(lang, n);
    L->nonmembers = isinf(total) ? total : total - L->members;
    if (train && n >= train->range.lo && n <= train->range.hi) {
        const gen_length *T = &train->len[n - train->range.lo];
        L->train_pos = T->got[CAT_POS];
        L->train_neg = T->got[CAT_NEAR] + T->got[CAT_RANDOM];
    }
    uint64_t tpos = L->train_pos, tneg = L->train_neg;
    uint64_t members = saturate(L->members), non = saturate(L->nonmembers);
    L->avail_pos = members - min64(members, tpos);
    L->avail_neg = non - min64(non, tneg);
    L->cap = 0;
    if (members == 0) return;
    uint64_t neg_cap = SP_AVAIL_MANY;
    if (negatives) {
        bool enumerable = total <= (long double)SP_POOL_MAX_STRINGS;
        /* Without enumeration, negatives come from rejection sampling; using at most half of
         * the non-members keeps every draw's acceptance above half the non-member fraction. */
        neg_cap = enumerable ? L->avail_neg : non / 2 - min64(non / 2, tneg);
        if (non == 0) L->dropped = "every string of this length is a member";
        else if (!enumerable && !isinf(total) && L->nonmembers / total < RARE_NONMEMBERS)
            L->dropped = "non-members are rarer than 1 in 10000 strings of this length";
        else if (neg_cap == 0) L->dropped = "train used the non-members of this length";
    }
    if (!L->dropped && L->avail_pos == 0) L->dropped = "train used every member of this length";
    if (!L->dropped) L->cap = min64(L->avail_pos, neg_cap);
    L->limited_by = L->avail_pos <= neg_cap ? "members" : "non-members";
}

/* Multinomial draws of P positives over the lengths with room, cut at the caps; the excess is
 * drawn again among the lengths still below their cap, until none is left or all are full. */
static void assign(gen_split *sp, uint64_t P, sp_gen_length_dist dist, gsl_rng *r)
{
    size_t m = sp->nlen;
    double *w = sp_malloc(m, sizeof *w);
    unsigned *x = sp_malloc(m, sizeof *x);
    size_t *idx = sp_malloc(m, sizeof *idx);
    long double most = 0;
    for (size_t i = 0; i < m; i++)
        if (sp->len[i].cap > 0 && sp->len[i].members > most) most = sp->len[i].members;
    uint64_t left = P;
    while (left > 0) {
        size_t a = 0;
        double sum = 0;
        for (size_t i = 0; i < m; i++) {
            const gen_length *L = &sp->len[i];
            if (L->want[CAT_POS] >= L->cap) continue;
            idx[a] = i;
            w[a] = dist == SP_LENGTHS_COUNT ? (double)(L->members / most) : 1.0;
            sum += w[a++];
        }
        if (a == 0) break;
        if (!(sum > 0)) /* only lengths too rare to register as doubles are left */
            for (size_t j = 0; j < a; j++) w[j] = 1.0;
        SP_ASSERT(left <= UINT32_MAX);
        gsl_ran_multinomial(r, a, (unsigned)left, w, x);
        uint64_t excess = 0;
        for (size_t j = 0; j < a; j++) {
            gen_length *L = &sp->len[idx[j]];
            uint64_t take = min64(x[j], L->cap - L->want[CAT_POS]);
            L->want[CAT_POS] += take;
            excess += x[j] - take;
        }
        left = excess;
    }
    free(w);
    free(x);
    free(idx);
}

void sp_plan_split(gen_split *sp, sp_lang *lang, const gen_split *train, const sp_gen_options *o,
                   gsl_rng *r)
{
    bool negatives = o->task != SP_TASK_PREDICT;
    for (size_t i = 0; i < sp->nlen; i++) measure(&sp->len[i], lang, train, negatives);
    uint64_t P = negatives ? sp->requested / 2 : sp->requested;
    assign(sp, P, o->length_dist, r);
    for (size_t i = 0; i < sp->nlen; i++) {
        gen_length *L = &sp->len[i];
        uint64_t q = L->want[CAT_POS];
        if (q == 0 || q < L->cap) L->limited_by = NULL;
        if (negatives && q > 0) {
            /* Randomised rounding: E[near] = near_miss * q exactly. */
            double x = o->near_miss * (double)q, fl = floor(x);
            uint64_t near = (uint64_t)fl + (gsl_rng_uniform(r) < x - fl ? 1 : 0);
            L->want[CAT_NEAR] = near;
            L->want[CAT_RANDOM] = q - near;
        }
    }
}
