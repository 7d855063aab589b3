/* The generator: plan each split, draw its strings in a random order of (length, kind) slots,
 * check every label a second time, write them, then the manifest; all inside a temporary
 * directory that is renamed into place only when everything succeeded. */
#include "gen_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/progress.h"
#include "satprobe/rng.h"

#include <stdlib.h>
#include <string.h>

/* Draws of a (positive, K edits) pair before a length's near misses are given up. */
#define NEAR_TRIES 256
/* Draws before a random negative or a new positive is declared impossible (never reached when
 * the plan's caps hold; a guard against endless loops). */
#define REJECT_TRIES 10000000u

typedef struct gen_ctx {
    sp_lang *lang;
    sp_oracle *oracle;        /* second route for regex:/dfa: languages, else NULL */
    const sp_gen_options *o;
    gsl_rng *r;
    sp_symdraw draw;
    size_t k;
    int *s, *tmp, *work;      /* [maxlen + 2] scratch strings */
    bool *next, *end;         /* [(maxlen + 1) * k], [maxlen + 1] */
    sp_strset seen;           /* hashes of the current split's strings */
    sp_strset train_seen;     /* train's, kept while test splits overlapping train are drawn */
    const sp_strset *exclude; /* &train_seen for such splits, else NULL */
    gen_out out;
    sp_progress progress;
    uint64_t done;
    char **warn;
    size_t nwarn, warncap;
} gen_ctx;

/* Keep a warning for the manifest and print it (clearing the progress bar first). */
static void add_warning(void *ctx, const char *line)
{
    gen_ctx *c = ctx;
    SP_GROW(c->warn, c->warncap, c->nwarn + 1);
    c->warn[c->nwarn++] = sp_strdup(line);
    if (c->o->log) {
        sp_progress_finish(&c->progress);
        fprintf(c->o->log, "%s\n", line);
    }
}

/* ---- drawing one string of a slot ---- */

/* The second check of a label: PCRE2 (or the DFA as written) for regular languages; for other
 * kinds the membership test, which samples (positives) never went through. Negatives of those
 * kinds were labelled by that same test, so it is not run twice. */
static int check_label(gen_ctx *c, const int *s, size_t n, bool label, sp_error *err)
{
    bool member;
    if (c->oracle) member = sp_oracle_accepts(c->oracle, s, n);
    else if (label) member = sp_lang_accepts(c->lang, s, n);
    else return SP_OK;
    if (member == label) return SP_OK;
    return sp_error_set(err, SP_ECHECK, "", 0, 0,
                        "%s: a string of length %zu was generated as a %s but %s says otherwise",
                        sp_lang_name(c->lang), n, label ? "member" : "non-member",
                        c->oracle ? sp_oracle_name(c->oracle) : "the membership test");
}

/* Hash s and start fetching its slot, so that the work done before fresh() hides the wait. */
static uint64_t hash_ahead(gen_ctx *c, const int *s, size_t n)
{
    uint64_t h = sp_strhash(s, n);
    sp_strset_prefetch(&c->seen, h);
    return h;
}

/* Not in train (for splits overlapping it) and not yet in this split; recorded if so. */
static bool fresh(gen_ctx *c, uint64_t h)
{
    if (c->exclude && sp_strset_has(c->exclude, h)) return false;
    return sp_strset_add(&c->seen, h);
}

/* Positives are checked here, before the de-duplication probe whose cache miss overlaps it. */
static int draw_positive(gen_ctx *c, gen_length *L, sp_error *err)
{
    size_t n = L->n;
    if (L->pos_pool) {
        while (sp_pool_take(L->pos_pool, c->r, c->s))
            if (fresh(c, sp_strhash(c->s, n))) return check_label(c, c->s, n, true, err);
        sp_pool_destroy(L->pos_pool); /* only a hash collision can empty it early */
        L->pos_pool = NULL;
    }
    /* Taking every member of a length by rejection needs about `members` draws for the last
     * one, so the guard grows with the count. */
    uint64_t limit = REJECT_TRIES + 64 * (L->members < 0x1p40L ? (uint64_t)L->members : UINT64_C(1) << 40);
    for (uint64_t t = 0; t < limit; t++) {
        if (sp_lang_sample(c->lang, n, c->r, c->s, err)) return SP_ELIMIT;
        uint64_t h = hash_ahead(c, c->s, n);
        if (check_label(c, c->s, n, true, err)) return SP_ECHECK;
        if (fresh(c, h)) return SP_OK;
    }
    return sp_error_set(err, SP_ELIMIT, "", 0, 0, "no new member of length %zu after %llu draws", n,
                        (unsigned long long)limit);
}

static bool draw_near_miss(gen_ctx *c, gen_length *L, unsigned *edits, sp_error *err)
{
    size_t n = L->n;
    if (L->near_given_up || c->k < 2 || n == 0) return false;
    for (int t = 0; t < NEAR_TRIES; t++) {
        if (sp_lang_sample(c->lang, n, c->r, c->s, err)) return false;
        unsigned K = sp_near_miss_edit(&c->draw, c->s, n, c->tmp);
        uint64_t h = hash_ahead(c, c->s, n);
        if (sp_lang_accepts(c->lang, c->s, n) || !fresh(c, h)) continue;
        *edits = K;
        return true;
    }
    L->near_given_up = true;
    return false;
}

static int draw_random(gen_ctx *c, gen_length *L, sp_error *err)
{
    size_t n = L->n;
    if (L->neg_pool) {
        while (sp_pool_take(L->neg_pool, c->r, c->s))
            if (fresh(c, sp_strhash(c->s, n))) return SP_OK;
        sp_pool_destroy(L->neg_pool);
        L->neg_pool = NULL;
    }
    for (unsigned t = 0; t < REJECT_TRIES; t++) {
        sp_random_string(&c->draw, c->s, n);
        uint64_t h = hash_ahead(c, c->s, n);
        if (!sp_lang_accepts(c->lang, c->s, n) && fresh(c, h)) return SP_OK;
    }
    return sp_error_set(err, SP_ELIMIT, "", 0, 0, "no new non-member of length %zu after %u draws",
                        n, REJECT_TRIES);
}

/* Next-symbol sets of every prefix of the member s; each symbol of s must be allowed where it
 * stands and the whole string must be allowed to end. */
static int next_sets(gen_ctx *c, const int *s, size_t n, sp_error *err)
{
    size_t k = c->k;
    for (size_t i = 0; i <= n; i++) {
        sp_lang_next(c->lang, s, i, c->next + i * k, &c->end[i]);
        if (i < n ? !c->next[i * k + (size_t)s[i]] : !c->end[n])
            return sp_error_set(err, SP_ECHECK, "", 0, 0,
                                "%s: the next-symbol sets of a member of length %zu disagree with "
                                "the member at position %zu",
                                sp_lang_name(c->lang), n, i);
    }
    return SP_OK;
}

/* ---- one split ---- */

/* Fenwick tree over slot counts, for drawing (length, kind) slots without replacement. */
typedef struct fenwick {
    uint64_t *t; /* [m + 1], 1-based */
    size_t m, top;
} fenwick;

static void fen_add(fenwick *f, size_t i, int64_t d)
{
    for (i++; i <= f->m; i += i & (~i + 1)) f->t[i] += (uint64_t)d;
}

/* The slot index i with prefix(i) <= u < prefix(i + 1). */
static size_t fen_find(const fenwick *f, uint64_t u)
{
    size_t pos = 0;
    for (size_t step = f->top; step; step >>= 1)
        if (pos + step <= f->m && f->t[pos + step] <= u) {
            pos += step;
            u -= f->t[pos];
        }
    return pos;
}

static void make_pools(gen_ctx *c, gen_split *sp)
{
    for (size_t i = 0; i < sp->nlen; i++) {
        gen_length *L = &sp->len[i];
        uint64_t pos = L->want[CAT_POS], neg = L->want[CAT_NEAR] + L->want[CAT_RANDOM];
        /* Pools where this split (with train) takes more than half of what exists. */
        if (pos && L->members <= SP_POOL_MAX_MEMBERS && 2.0L * (pos + L->train_pos) > L->members) {
            if (L->members <= SP_POOL_COLLECT_MAX)
                L->pos_pool = sp_pool_collect(c->lang, L->n, (size_t)L->members, c->r, c->exclude, c->work);
            if (!L->pos_pool) L->pos_pool = sp_pool_members(c->lang, L->n, c->exclude, c->work);
        }
        long double total = L->members + L->nonmembers;
        if (L->want[CAT_RANDOM] && total <= SP_POOL_MAX_STRINGS &&
            (2.0L * (neg + L->train_neg) > L->nonmembers || L->nonmembers < 0.01L * total))
            L->neg_pool = sp_pool_nonmembers(c->lang, L->n, c->exclude, c->work);
    }
}

static int emit_slot(gen_ctx *c, gen_split *sp, gen_length *L, int cat, sp_error *err)
{
    size_t n = L->n;
    unsigned edits = 0;
    int status = SP_OK;
    if (cat == CAT_POS) status = draw_positive(c, L, err);
    else if (cat == CAT_NEAR && draw_near_miss(c, L, &edits, err)) status = SP_OK;
    else {
        if (cat == CAT_NEAR) L->near_fallback++;
        cat = CAT_RANDOM;
        status = draw_random(c, L, err);
    }
    if (status) return status;
    bool label = cat == CAT_POS; /* positives were checked by draw_positive */
    if (!label && check_label(c, c->s, n, false, err)) return SP_ECHECK;
    bool with_next = label && c->out.with_next;
    if (with_next && next_sets(c, c->s, n, err)) return SP_ECHECK;
    sp_out_line(&c->out, c->s, n, label, edits, with_next ? c->next : NULL,
                with_next ? c->end : NULL);
    L->got[cat]++;
    sp->total[cat]++;
    sp->lines++;
    sp_progress_update(&c->progress, ++c->done);
    return SP_OK;
}

static int run_split(gen_ctx *c, gen_split *sp, const gen_split *train, sp_outdir *dir, sp_error *err)
{
    sp_plan_split(sp, c->lang, train, c->o, c->r);
    make_pools(c, sp);
    size_t m = NCAT * sp->nlen;
    fenwick f = {sp_calloc(m + 1, sizeof(uint64_t)), m, 1};
    while (f.top * 2 <= m) f.top *= 2;
    uint64_t slots = 0;
    for (size_t i = 0; i < sp->nlen; i++)
        for (int cat = 0; cat < NCAT; cat++) {
            fen_add(&f, NCAT * i + (size_t)cat, (int64_t)sp->len[i].want[cat]);
            slots += sp->len[i].want[cat];
        }
    sp_strset_init(&c->seen, slots);
    int status = sp_out_open(&c->out, dir, sp, err);
    for (; !status && slots > 0; slots--) {
        size_t j = fen_find(&f, sp_rng_below(c->r, slots));
        gen_length *L = &sp->len[j / NCAT];
        int cat = (int)(j % NCAT);
        fen_add(&f, j, -1);
        status = emit_slot(c, sp, L, cat, err);
    }
    if (!status) status = sp_out_close(&c->out, err);
    else sp_out_discard(&c->out);
    free(f.t);
    for (size_t i = 0; i < sp->nlen; i++) {
        sp_pool_destroy(sp->len[i].pos_pool);
        sp_pool_destroy(sp->len[i].neg_pool);
        sp->len[i].pos_pool = sp->len[i].neg_pool = NULL;
    }
    return status;
}

/* ---- the run ---- */

static void split_init(gen_split *sp, const char *name, sp_range range, uint64_t requested)
{
    memset(sp, 0, sizeof *sp);
    snprintf(sp->name, sizeof sp->name, "%s", name);
    sp->range = range;
    sp->requested = requested;
    sp->nlen = range.hi - range.lo + 1;
    sp->len = sp_calloc(sp->nlen, sizeof *sp->len);
    for (size_t i = 0; i < sp->nlen; i++) sp->len[i].n = range.lo + i;
}

/* Errors that need the language but no output yet: too long to count, ranges without strings. */
static int check_language(sp_lang *lang, const gen_split *splits, size_t nsplits, size_t maxlen,
                          sp_error *err)
{
    if (sp_lang_counts_derivations(lang))
        return sp_error_set(err, SP_EINPUT, sp_lang_file(lang), 0, 0,
                            "%s counts derivations (ambiguous: allow), so its samples are not "
                            "uniform over strings; datasets need an unambiguous grammar",
                            sp_lang_name(lang));
    if (sp_lang_prepare(lang, maxlen, err)) return SP_ELIMIT;
    for (size_t i = 0; i < nsplits; i++) {
        bool any = false;
        for (size_t n = splits[i].range.lo; n <= splits[i].range.hi && !any; n++)
            any = sp_lang_count(lang, n) > 0;
        if (!any)
            return sp_error_set(err, SP_EINPUT, sp_lang_file(lang), 0, 0,
                                "%s has no strings of lengths %zu to %zu (%s)", sp_lang_name(lang),
                                splits[i].range.lo, splits[i].range.hi,
                                i == 0 ? "--train-lengths" : "--test-bins");
    }
    return SP_OK;
}

static bool overlaps(sp_range a, sp_range b) { return a.lo <= b.hi && b.lo <= a.hi; }

int sp_gen_run(sp_lang *lang, const char *grammar_sha256, const char *dir,
               const sp_gen_options *o, sp_gen_summary *summary, sp_error *err)
{
    memset(summary, 0, sizeof *summary);
    if (sp_gen_check_options(o, err)) return SP_EINPUT;
    size_t nsplits = 1 + o->nbins, maxlen = o->train_lengths.hi;
    gen_split *splits = sp_calloc(nsplits, sizeof *splits);
    split_init(&splits[0], "train", o->train_lengths, o->train);
    bool keep_train = false;
    for (size_t i = 0; i < o->nbins; i++) {
        char name[64];
        snprintf(name, sizeof name, "test-%zu-%zu", o->bins[i].lo, o->bins[i].hi);
        split_init(&splits[i + 1], name, o->bins[i], o->per_bin);
        if (o->bins[i].hi > maxlen) maxlen = o->bins[i].hi;
        keep_train |= overlaps(o->bins[i], o->train_lengths);
    }
    gen_ctx c;
    memset(&c, 0, sizeof c);
    c.lang = lang;
    c.o = o;
    c.k = sp_lang_alphabet_size(lang);
    sp_outdir out;
    memset(&out, 0, sizeof out);
    int status = check_language(lang, splits, nsplits, maxlen, err);
    if (!status) status = sp_oracle_new(lang, &c.oracle, err);
    if (!status) status = sp_outdir_begin(&out, dir, o->force, err);
    if (!status) {
        c.r = sp_rng_new(o->seed);
        sp_symdraw_init(&c.draw, c.r, c.k);
        c.s = sp_malloc(maxlen + 2, sizeof *c.s);
        c.tmp = sp_malloc(maxlen + 2, sizeof *c.tmp);
        c.work = sp_malloc(maxlen + 2, sizeof *c.work);
        c.next = sp_malloc((maxlen + 1) * c.k, sizeof *c.next);
        c.end = sp_malloc(maxlen + 1, sizeof *c.end);
        sp_out_init(&c.out, lang, o->format, o->task != SP_TASK_RECOGNIZE);
        uint64_t total = o->train + (uint64_t)o->nbins * o->per_bin;
        sp_progress_init(&c.progress, o->progress, "satprobe gen", total);
        for (size_t i = 0; i < nsplits && !status; i++) {
            c.exclude = i > 0 && overlaps(splits[i].range, o->train_lengths) ? &c.train_seen : NULL;
            status = run_split(&c, &splits[i], i ? &splits[0] : NULL, &out, err);
            if (i == 0 && keep_train) c.train_seen = c.seen;
            else sp_strset_free(&c.seen);
            memset(&c.seen, 0, sizeof c.seen);
            if (!status) sp_split_warnings(&splits[i], add_warning, &c);
        }
        sp_progress_finish(&c.progress);
        if (!status)
            status = sp_manifest_write(&out, lang, grammar_sha256, o, splits, nsplits, c.warn,
                                       c.nwarn, err);
        if (!status) status = sp_outdir_commit(&out, err);
        else sp_outdir_abort(&out);
        sp_out_free(&c.out);
        gsl_rng_free(c.r);
    }
    if (!status) {
        summary->splits = nsplits;
        for (size_t i = 0; i < nsplits; i++) summary->strings += splits[i].lines;
        summary->warnings = c.nwarn;
    }
    sp_strset_free(&c.seen);
    sp_strset_free(&c.train_seen);
    sp_oracle_destroy(c.oracle);
    free(c.s);
    free(c.tmp);
    free(c.work);
    free(c.next);
    free(c.end);
    for (size_t i = 0; i < c.nwarn; i++) free(c.warn[i]);
    free(c.warn);
    for (size_t i = 0; i < nsplits; i++) free(splits[i].len);
    free(splits);
    return status;
}
