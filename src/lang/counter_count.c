/* Counting and uniform sampling for the counter kind: forward counts over configurations, layer
 * by layer, and sampling by walking back through the layers. */
#include "counter.h"
#include "satprobe/alloc.h"
#include "satprobe/rng.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash32(const int32_t *k, size_t w)
{
    uint64_t h = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < w; i++) {
        h ^= (uint32_t)k[i];
        h *= 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    return h;
}

void sp_counter_tables_free(ctr_tables *t)
{
    free(t->keys);
    free(t->F);
    free(t->first);
    free(t->slots);
    free(t->slot_off);
    free(t->slot_mask);
    free(t->count);
    memset(t, 0, sizeof *t);
}

/* Absolute index of configuration `key` in layer `layer`, or SIZE_MAX if it is not there. */
static size_t layer_find(const ctr_tables *t, size_t w, size_t layer, const int32_t *key)
{
    const uint32_t *slots = t->slots + t->slot_off[layer];
    size_t mask = t->slot_mask[layer], base = t->first[layer];
    for (size_t i = hash32(key, w) & mask;; i = (i + 1) & mask) {
        uint32_t e = slots[i];
        if (e == UINT32_MAX) return SIZE_MAX;
        if (memcmp(t->keys + (base + e) * w, key, w * sizeof *key) == 0) return base + e;
    }
}

/* The hash table of the layer being built: indices relative to the layer's first
 * configuration `base`, at most half full. */
typedef struct builder {
    uint32_t *slots; /* [mask + 1] */
    size_t mask;
    size_t base;
} builder;

static void builder_reset(builder *b, size_t expect, size_t base)
{
    size_t size = 16;
    while (size < 2 * expect) size *= 2;
    free(b->slots);
    b->slots = sp_malloc(size, sizeof *b->slots);
    memset(b->slots, 0xff, size * sizeof *b->slots);
    b->mask = size - 1;
    b->base = base;
}

static void builder_insert(builder *b, const ctr_tables *t, size_t w, size_t idx)
{
    size_t i = hash32(t->keys + idx * w, w) & b->mask;
    while (b->slots[i] != UINT32_MAX) i = (i + 1) & b->mask;
    b->slots[i] = (uint32_t)(idx - b->base);
}

/* Add F to configuration `key` of the layer being built, appending it if new. Returns false
 * when the configuration limit is reached. */
static bool builder_add(builder *b, ctr_tables *t, size_t w, const int32_t *key, long double F,
                        size_t limit)
{
    for (size_t i = hash32(key, w) & b->mask;; i = (i + 1) & b->mask) {
        uint32_t e = b->slots[i];
        if (e == UINT32_MAX) break;
        size_t j = b->base + e;
        if (memcmp(t->keys + j * w, key, w * sizeof *key) == 0) {
            t->F[j] += F;
            return true;
        }
    }
    if (t->n == limit) return false;
    if (t->n == t->kcap) {
        t->kcap = t->kcap ? 2 * t->kcap : 1024;
        if (t->kcap > limit) t->kcap = limit;
        t->keys = sp_realloc(t->keys, t->kcap * w, sizeof *t->keys);
        t->F = sp_realloc(t->F, t->kcap, sizeof *t->F);
    }
    size_t j = t->n++;
    memcpy(t->keys + j * w, key, w * sizeof *key);
    t->F[j] = F;
    if (2 * (j - b->base + 1) > b->mask + 1) {
        builder_reset(b, j - b->base + 1, b->base);
        for (size_t x = b->base; x <= j; x++) builder_insert(b, t, w, x);
    } else {
        builder_insert(b, t, w, j);
    }
    return true;
}

/* Forward counts F_t(config) = number of strings of length t leading from the start to config,
 * for t = 0..L, keeping only configurations whose lower bound to acceptance fits in the L - t
 * steps left: such configurations lie on no accepting path of length <= L, so every count(n),
 * n <= L, and every backward sampling step is unaffected. count(n) = sum of F_n over accepting
 * configurations. Time O(sum over layers of |layer| * transitions per state), memory
 * O(configurations). */
int sp_counter_prepare(sp_lang *lang, size_t L, sp_error *err)
{
    sp_counter *a = lang->impl;
    size_t w = a->w;
    int K = a->K;
    ctr_tables t;
    memset(&t, 0, sizeof t);
    t.L = L;
    t.first = sp_calloc(L + 2, sizeof *t.first);
    t.slot_off = sp_calloc(L + 1, sizeof *t.slot_off);
    t.slot_mask = sp_calloc(L + 1, sizeof *t.slot_mask);
    t.count = sp_calloc(L + 1, sizeof *t.count);
    builder b = {0};
    builder_reset(&b, 1, 0);
    int64_t start64[CTR_MAX_COUNTERS + 1] = {a->start};
    int32_t key[CTR_MAX_COUNTERS + 1] = {a->start};
    if (sp_counter_lower_bound(a, a->start, start64 + 1) <= (int64_t)L)
        builder_add(&b, &t, w, key, 1, a->max_configs);

    for (size_t layer = 0;; layer++) {
        size_t lo = t.first[layer], hi = t.n;
        t.first[layer + 1] = hi;
        SP_GROW(t.slots, t.scap, t.nslots + b.mask + 1);
        memcpy(t.slots + t.nslots, b.slots, (b.mask + 1) * sizeof *b.slots);
        t.slot_off[layer] = t.nslots;
        t.slot_mask[layer] = b.mask;
        t.nslots += b.mask + 1;
        long double c = 0;
        for (size_t j = lo; j < hi; j++) {
            const int32_t *k = t.keys + j * w;
            if (ctr_accepting(a, k[0], ctr_sig32(k + 1, K))) c += t.F[j];
        }
        t.count[layer] = c;
        if (layer == L) break;

        int64_t left = (int64_t)(L - layer - 1);
        builder_reset(&b, hi - lo, hi);
        for (size_t j = lo; j < hi; j++) {
            memcpy(key, t.keys + j * w, w * sizeof *key);
            long double F = t.F[j];
            int q = key[0];
            uint32_t sig = ctr_sig32(key + 1, K);
            for (uint32_t x = a->sfirst[q]; x < a->sfirst[q + 1]; x++) {
                const ctr_trans *tr = &a->trans[x];
                if (!ctr_holds(tr->guard, sig)) continue;
                int32_t succ[CTR_MAX_COUNTERS + 1];
                int64_t succ64[CTR_MAX_COUNTERS];
                succ[0] = tr->to;
                for (int i = 0; i < K; i++) {
                    succ[1 + i] = key[1 + i] + tr->add[i]; /* |value| <= 8 L: fits */
                    succ64[i] = succ[1 + i];
                }
                if (sp_counter_lower_bound(a, tr->to, succ64) > left) continue;
                if (!builder_add(&b, &t, w, succ, F, a->max_configs)) {
                    free(b.slots);
                    sp_counter_tables_free(&t);
                    return sp_error_set(err, SP_ELIMIT, lang->file, 0, 0,
                                        "counting %s up to length %zu needs more than %zu "
                                        "configurations of its counter automaton (the limit); "
                                        "ask for shorter strings",
                                        lang->name, L, a->max_configs);
                }
            }
        }
    }
    free(b.slots);
    sp_counter_tables_free(&a->tab);
    a->tab = t;
    a->acc_len = SIZE_MAX;
    return SP_OK;
}

long double sp_counter_count(const sp_lang *lang, size_t n)
{
    const sp_counter *a = lang->impl;
    return a->tab.count[n];
}

/* Pick the final accepting configuration with probability F_n / count(n), then step back:
 * from configuration c at layer t choose the predecessor p (with the transition p -> c) with
 * probability F_{t-1}(p) / F_t(c). Each string is one path, so the product of these
 * probabilities is 1 / count(n). Time O(n * in-degree) per sample after the first at n. */
void sp_counter_sample(sp_lang *lang, size_t n, gsl_rng *r, int *out)
{
    sp_counter *a = lang->impl;
    const ctr_tables *t = &a->tab;
    size_t w = a->w;
    int K = a->K;
    if (a->acc_len != n) {
        a->acc_n = 0;
        long double cum = 0;
        for (size_t j = t->first[n]; j < t->first[n + 1]; j++) {
            const int32_t *k = t->keys + j * w;
            if (!ctr_accepting(a, k[0], ctr_sig32(k + 1, K))) continue;
            if (a->acc_n == a->acc_cap) {
                a->acc_cap = a->acc_cap ? 2 * a->acc_cap : 64;
                a->acc_idx = sp_realloc(a->acc_idx, a->acc_cap, sizeof *a->acc_idx);
                a->acc_cum = sp_realloc(a->acc_cum, a->acc_cap, sizeof *a->acc_cum);
            }
            cum += t->F[j];
            a->acc_idx[a->acc_n] = j;
            a->acc_cum[a->acc_n++] = cum;
        }
        a->acc_len = n;
    }
    SP_ASSERT(a->acc_n > 0);
    long double u = sp_rng_uniform_ld(r) * a->acc_cum[a->acc_n - 1];
    size_t lo = 0, hi = a->acc_n - 1; /* first cumulative sum above u; the last if rounding */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->acc_cum[mid] > u) hi = mid;
        else lo = mid + 1;
    }
    size_t j = a->acc_idx[lo];
    for (size_t layer = n; layer > 0; layer--) {
        const int32_t *k = t->keys + j * w;
        int q = k[0];
        size_t m = 0;
        long double sum = 0;
        for (uint32_t x = a->in_first[q]; x < a->in_first[q + 1]; x++) {
            const ctr_trans *tr = &a->trans[a->in_list[x]];
            int32_t pred[CTR_MAX_COUNTERS + 1];
            pred[0] = tr->from;
            for (int i = 0; i < K; i++) pred[1 + i] = k[1 + i] - tr->add[i];
            if (!ctr_holds(tr->guard, ctr_sig32(pred + 1, K))) continue;
            size_t p = layer_find(t, w, layer - 1, pred);
            if (p == SIZE_MAX) continue;
            a->pw[m] = t->F[p];
            a->pidx[m] = p;
            a->psym[m] = tr->sym;
            sum += t->F[p];
            m++;
        }
        SP_ASSERT(m > 0);
        size_t c = sp_rng_pick_ld(r, a->pw, m, sum);
        out[layer - 1] = a->psym[c];
        j = a->pidx[c];
    }
    SP_ASSERT(j == t->first[0]);
}
