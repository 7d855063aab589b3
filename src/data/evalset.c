/* Evaluation sets: dataset splits as length bins, or a language enumerated exhaustively to a
 * length and sampled (positives and near misses) at longer lengths, all in memory. */
#include "gen_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/eval.h"
#include "satprobe/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Most strings an exhaustive enumeration may have (it is streamed, but this bounds the time). */
#define MAX_EXHAUSTIVE ((uint64_t)1 << 26)

void sp_evalset_lang_defaults(sp_evalset_lang_options *o)
{
    memset(o, 0, sizeof *o);
    o->exhaustive = true;
    o->exhaustive_max = 12;
    static const size_t lens[] = {50, 100, 200, 500};
    o->nlengths = 4;
    memcpy(o->lengths, lens, sizeof lens);
    o->per_length = 1000;
    o->seed = 1;
}

void sp_evalset_free(sp_evalset *es)
{
    free(es->syms);
    free(es->start);
    free(es->label);
    free(es->bin);
    free(es->next);
    free(es->end);
    for (size_t i = 0; i < es->nbins; i++) free(es->bin_name[i]);
    free(es->bin_name);
    free(es->bin_range);
    memset(es, 0, sizeof *es);
}

/* ---- building ---- */

typedef struct builder {
    sp_evalset *es;
    size_t cap, sym_cap, row_cap;
} builder;

static void add_bin(sp_evalset *es, const char *name, size_t lo, size_t hi)
{
    es->bin_name = sp_realloc(es->bin_name, es->nbins + 1, sizeof *es->bin_name);
    es->bin_range = sp_realloc(es->bin_range, es->nbins + 1, sizeof *es->bin_range);
    es->bin_name[es->nbins] = sp_strdup(name);
    es->bin_range[es->nbins] = (sp_range){lo, hi};
    es->nbins++;
}

/* Append one item; returns its next-set rows ((n + 1) * k, zeroed) when the set has them. */
static bool *add_item(builder *b, const int *s, size_t n, bool label, size_t bin)
{
    sp_evalset *es = b->es;
    if (es->count + 2 > b->cap) {
        size_t c = b->cap ? 2 * b->cap : 256;
        es->start = sp_realloc(es->start, c + 1, sizeof *es->start);
        es->label = sp_realloc(es->label, c, sizeof *es->label);
        es->bin = sp_realloc(es->bin, c, sizeof *es->bin);
        b->cap = c;
    }
    if (es->count == 0) es->start[0] = 0;
    size_t at = es->start[es->count];
    SP_GROW(es->syms, b->sym_cap, at + n + 1);
    memcpy(es->syms + at, s, n * sizeof *s);
    es->start[es->count + 1] = at + n;
    es->label[es->count] = label;
    es->bin[es->count] = bin;
    bool *rows = NULL;
    if (es->has_next) {
        size_t r0 = at + es->count, need = r0 + n + 1;
        if (need > b->row_cap) {
            size_t c = b->row_cap ? b->row_cap : 1024;
            while (c < need) c *= 2;
            es->next = sp_realloc(es->next, c * es->k, sizeof *es->next);
            es->end = sp_realloc(es->end, c, sizeof *es->end);
            b->row_cap = c;
        }
        rows = es->next + r0 * es->k;
        memset(rows, 0, (n + 1) * es->k * sizeof *rows);
        memset(es->end + r0, 0, (n + 1) * sizeof *es->end);
    }
    es->count++;
    return rows;
}

static void finish(sp_evalset *es)
{
    if (!es->start) es->start = sp_calloc(1, sizeof *es->start);
    es->total = es->n_exhaustive + es->count;
}

int sp_evalset_from_dataset(sp_evalset *es, const sp_dataset *const *splits, size_t nsplits,
                            const sp_range *bins, size_t nbins, sp_error *err)
{
    memset(es, 0, sizeof *es);
    if (nsplits == 0) return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "no dataset split to evaluate on");
    es->k = splits[0]->k;
    es->has_next = true;
    for (size_t i = 0; i < nsplits; i++) {
        if (splits[i]->k != es->k)
            return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "split %s has another alphabet", splits[i]->split);
        es->has_next &= splits[i]->has_next;
    }
    for (size_t i = 0; i < nbins; i++) {
        char name[64];
        snprintf(name, sizeof name, "%zu-%zu", bins[i].lo, bins[i].hi);
        add_bin(es, name, bins[i].lo, bins[i].hi);
    }
    builder b = {es, 0, 0, 0};
    for (size_t s = 0; s < nsplits; s++) {
        const sp_dataset *ds = splits[s];
        size_t bin = s;
        if (nbins == 0) {
            size_t lo = SIZE_MAX, hi = 0;
            for (size_t i = 0; i < ds->count; i++) {
                size_t n = ds->start[i + 1] - ds->start[i];
                lo = n < lo ? n : lo;
                hi = n > hi ? n : hi;
            }
            add_bin(es, ds->split, ds->count ? lo : 0, hi);
        }
        for (size_t i = 0; i < ds->count; i++) {
            size_t n = ds->start[i + 1] - ds->start[i];
            if (nbins) {
                bin = SIZE_MAX;
                for (size_t j = 0; j < nbins; j++)
                    if (n >= bins[j].lo && n <= bins[j].hi) bin = j;
                if (bin == SIZE_MAX) continue;
            }
            bool *rows = add_item(&b, ds->syms + ds->start[i], n, ds->label[i], bin);
            if (rows) {
                size_t r0 = ds->start[i] + i, e0 = es->start[es->count - 1] + es->count - 1;
                memcpy(rows, ds->next + r0 * es->k, (n + 1) * es->k * sizeof *rows);
                memcpy(es->end + e0, ds->end + r0, (n + 1) * sizeof *es->end);
            }
        }
    }
    finish(es);
    return SP_OK;
}

static void fill_next(sp_lang *lang, const int *s, size_t n, bool *rows, bool *end)
{
    size_t k = sp_lang_alphabet_size(lang);
    for (size_t j = 0; j <= n; j++) sp_lang_next(lang, s, j, rows + j * k, &end[j]);
}

int sp_evalset_from_lang(sp_evalset *es, sp_lang *lang, const sp_evalset_lang_options *o, sp_error *err)
{
    memset(es, 0, sizeof *es);
    es->lang = lang;
    es->k = sp_lang_alphabet_size(lang);
    es->has_next = o->with_next;
    if (o->exhaustive) {
        uint64_t total = 0, p = 1;
        for (size_t n = 0; n <= o->exhaustive_max; n++) {
            total += p;
            if (total > MAX_EXHAUSTIVE || (n < o->exhaustive_max && p > MAX_EXHAUSTIVE / es->k))
                return sp_error_set(err, SP_ELIMIT, NULL, 0, 0,
                                    "every string of lengths 0..%zu over %zu symbols is more than %llu strings; "
                                    "lower the exhaustive length",
                                    o->exhaustive_max, es->k, (unsigned long long)MAX_EXHAUSTIVE);
            p *= es->k;
        }
        es->has_exhaustive = true;
        es->exhaustive_max = o->exhaustive_max;
        es->n_exhaustive = total;
        char name[64];
        snprintf(name, sizeof name, "0-%zu", o->exhaustive_max);
        add_bin(es, name, 0, o->exhaustive_max);
    }
    size_t maxlen = 0;
    for (size_t i = 0; i < o->nlengths; i++) maxlen = o->lengths[i] > maxlen ? o->lengths[i] : maxlen;
    int status = o->nlengths ? sp_lang_prepare(lang, maxlen + 64, err) : SP_OK;
    if (status) return status;
    gsl_rng *r = sp_rng_new(o->seed);
    sp_symdraw draw;
    sp_symdraw_init(&draw, r, es->k);
    int *s = sp_malloc(maxlen + 65, sizeof *s), *tmp = sp_malloc(maxlen + 65, sizeof *tmp);
    builder b = {es, 0, 0, 0};
    for (size_t li = 0; li < o->nlengths && !status; li++) {
        size_t want = o->lengths[li], n = want;
        while (n <= want + 64 && !(sp_lang_count(lang, n) > 0)) n++;
        if (n > want + 64) {
            status = sp_error_set(err, SP_EINPUT, NULL, 0, 0, "%s has no string of length %zu to %zu",
                                  sp_lang_name(lang), want, want + 64);
            break;
        }
        char name[64];
        if (n == want) snprintf(name, sizeof name, "%zu", n);
        else snprintf(name, sizeof name, "%zu (for %zu)", n, want);
        size_t bin = es->nbins;
        add_bin(es, name, n, n);
        for (size_t i = 0; i < o->per_length && !status; i++) {
            status = sp_lang_sample(lang, n, r, s, err);
            if (status) break;
            bool *rows = add_item(&b, s, n, true, bin);
            if (rows) fill_next(lang, s, n, rows, es->end + es->start[es->count - 1] + es->count - 1);
        }
        /* near misses: a fresh positive with K >= 1 edits, redrawn while it is still a member */
        for (size_t i = 0; i < o->per_length && !status && !o->positives_only && es->k >= 2 && n >= 1; i++) {
            size_t tries = 0;
            do {
                status = sp_lang_sample(lang, n, r, s, err);
                if (status) break;
                sp_near_miss_edit(&draw, s, n, tmp);
            } while (sp_lang_accepts(lang, s, n) && ++tries < 4096);
            if (status) break;
            if (tries >= 4096) {
                status = sp_error_set(err, SP_ELIMIT, NULL, 0, 0,
                                      "no near miss of length %zu found in 4096 tries", n);
                break;
            }
            bool *rows = add_item(&b, s, n, false, bin);
            (void)rows; /* negatives have no valid next symbols: rows stay 0 */
        }
    }
    free(s);
    free(tmp);
    gsl_rng_free(r);
    if (status) {
        sp_evalset_free(es);
        return status;
    }
    finish(es);
    return SP_OK;
}

/* ---- items ---- */

size_t sp_evalset_max_len(const sp_evalset *es)
{
    size_t m = es->has_exhaustive ? es->exhaustive_max : 0;
    for (size_t i = 0; i < es->count; i++) {
        size_t n = es->start[i + 1] - es->start[i];
        m = n > m ? n : m;
    }
    return m;
}

void sp_evalset_item(const sp_evalset *es, uint64_t i, int *buf, bool *nextbuf, bool *endbuf, sp_eval_item *it)
{
    SP_ASSERT(i < es->total);
    memset(it, 0, sizeof *it);
    if (i < es->n_exhaustive) {
        /* length n holds k^n strings; within it, index in base k, most significant symbol first */
        size_t n = 0;
        uint64_t p = 1;
        while (i >= p) {
            i -= p;
            p *= es->k;
            n++;
        }
        for (size_t j = n; j-- > 0;) {
            buf[j] = (int)(i % es->k);
            i /= es->k;
        }
        it->s = buf;
        it->n = n;
        it->label = sp_lang_accepts(es->lang, buf, n);
        it->bin = 0;
        if (es->has_next && nextbuf) {
            fill_next(es->lang, buf, n, nextbuf, endbuf);
            it->next = nextbuf;
            it->end = endbuf;
        }
        return;
    }
    i -= es->n_exhaustive;
    it->s = es->syms + es->start[i];
    it->n = es->start[i + 1] - es->start[i];
    it->label = es->label[i];
    it->bin = es->bin[i];
    if (es->has_next) {
        size_t r0 = es->start[i] + i;
        it->next = es->next + r0 * es->k;
        it->end = es->end + r0;
    }
}
