/* The dyck kind: Dyck-k (optionally depth-bounded) and Shuffle-Dyck-k over YAML `pairs:`. */
#include "lang_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_PAIRS = 64,             /* bracket types; also keeps stack entries in a byte */
    LOCAL_STACK = 1024,         /* accepts/next keep shorter stacks on the C stack */
    SHUFFLE_MAX_LENGTH = 4096,  /* the Pascal table grows as len^2 / 8 */
};
/* Cells of a depth-bounded completion table (16 bytes each: 128 MiB at most). */
#define TABLE_MAX_CELLS ((size_t)1 << 23)

static const char *const dyck_keys[] = {"pairs", "max_depth", "shuffle", NULL};

/* Dyck paths whose up-steps come in `types` kinds, optionally with heights <= bound.
 * D(m, d) = number of ways to finish at height 0 from height d in m steps:
 *   D(0, d) = [d = 0];  D(m, d) = (d < bound ? types * D(m-1, d+1) : 0) + (d > 0 ? D(m-1, d-1) : 0).
 * Without a bound, D(m, d) = types^u * (d+1)/(m+1) * C(m+1, u) with u = (m-d)/2 up-steps left,
 * so the walk needs no table: the chance of a down-step is D(m-1,d-1)/D(m,d) =
 * d(m+1-u) / (m(d+1)) exactly, drawn with integers. */
typedef struct paths {
    unsigned types;
    size_t bound;      /* maximum height; 0 = unbounded */
    size_t len;        /* tables cover lengths 0..len */
    size_t dmax;       /* bounded: largest stored height, min(bound, len/2) */
    size_t h;          /* bounded: stored heights per row, dmax/2 + 1 (only d = m mod 2 is non-zero) */
    long double *fin;  /* bounded: [(len+1) * h], fin[m*h + d/2] = D(m, d) for d <= min(m, len-m,
                        * dmax), the only cells a walk from height 0 of length <= len reads;
                        * the rest are 0 */
    long double *count; /* [len+1] D(n, 0), the number of paths of length n */
} paths;

/* Everything prepare builds for lengths 0..len, kept together so that a failed prepare leaves
 * the previous tables untouched. */
typedef struct tables {
    size_t len;
    paths walk;         /* Dyck mode: types = k; shuffle: one Dyck-1 word per pair (types = 1) */
    long double *binom; /* shuffle: [(len/2+1)(len/2+2)/2] C(n, m) for even n, even m: row n/2
                         * starts at (n/2)(n/2+1)/2, entry m/2 */
    long double *shuf;  /* shuffle: [k * (len+1)], shuf[(j-1)*(len+1) + n] = S_j(n), the number of
                         * shuffles of j balanced pair types of total length n */
    /* sampling scratch, so that sampling does not allocate */
    int *stack;         /* [len] Dyck: pair index of each open bracket; shuffle: free positions */
    unsigned char *stackb; /* [len + 2] Dyck, unbounded: sentinel and pair of each open bracket */
    int *sel;           /* [len] shuffle: positions taken by the current pair */
    int *word;          /* [len] shuffle: the Dyck-1 word (1 = open) of the current pair */
    long double *w;     /* [len/2+1] shuffle: weights of the current pair's word length */
} tables;

typedef struct dyck {
    size_t npairs;              /* k */
    size_t bound;               /* max_depth; 0 = none. Shuffle: bound on each type's own depth */
    bool shuffle;
    int open_sym[MAX_PAIRS];    /* [npairs] symbol index of each pair's opening bracket */
    int close_sym[MAX_PAIRS];   /* [npairs] and of its closing bracket */
    int *pair_of;               /* [alphabet size] pair of each symbol (every symbol has one) */
    bool *is_open;              /* [alphabet size] */
    tables t;                   /* t.len == 0 and NULL tables until the first prepare */
} dyck;

/* ---- paths: counts and uniform walks ------------------------------------------------------ */

static void paths_free(paths *p)
{
    free(p->fin);
    free(p->count);
    p->fin = p->count = NULL;
}

static long double fin_at(const paths *p, size_t m, size_t d)
{
    if (d > m || ((m ^ d) & 1) || d > p->dmax || m + d > p->len) return 0;
    return p->fin[m * p->h + d / 2];
}

static bool mul_fits(uint64_t a, uint64_t b) { return b == 0 || a <= UINT64_MAX / b; }

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* count[2i] = types^i * Catalan(i), exact while it fits in 64 bits; beyond, long double with
 * two roundings per step. */
static void unbounded_counts(long double *count, size_t len, unsigned types)
{
    uint64_t cat = 1, pw = 1; /* Catalan(i) and types^i while exact */
    bool cat_exact = true, pw_exact = true;
    long double catl = 1, pwl = 1;
    for (size_t i = 0; 2 * i <= len; i++) {
        if (cat_exact && pw_exact && mul_fits(cat, pw)) count[2 * i] = (long double)(cat * pw);
        else count[2 * i] = catl * pwl;
        if (2 * i + 1 <= len) count[2 * i + 1] = 0;
        /* Catalan(i+1) = Catalan(i) * (4i+2) / (i+2); dividing by the gcd first keeps the
         * product from overflowing while the result still fits. */
        uint64_t num = 4 * (uint64_t)i + 2, den = (uint64_t)i + 2;
        if (cat_exact) {
            uint64_t g = gcd_u64(cat, den), a = cat / g, b = den / g;
            SP_ASSERT(num % b == 0); /* gcd(a, b) = 1 and b | a * num */
            uint64_t c = num / b;
            if (mul_fits(a, c)) {
                cat = a * c;
                catl = (long double)cat;
            } else {
                cat_exact = false;
                catl = (long double)a * (long double)c;
            }
        } else {
            catl = catl * (long double)num / (long double)den;
        }
        if (pw_exact && mul_fits(pw, types)) pw *= types;
        else pw_exact = false;
        pwl *= (long double)types;
    }
}

/* Fill p for lengths 0..len. The caller checked the table size. */
static void paths_build(paths *p, unsigned types, size_t bound, size_t len)
{
    p->types = types;
    p->bound = bound;
    p->len = len;
    p->count = sp_calloc(len + 1, sizeof *p->count);
    p->fin = NULL;
    if (!bound) {
        p->dmax = p->h = 0;
        unbounded_counts(p->count, len, types);
        return;
    }
    p->dmax = bound < len / 2 ? bound : len / 2;
    p->h = p->dmax / 2 + 1;
    p->fin = sp_calloc((len + 1) * p->h, sizeof *p->fin);
    p->fin[0] = 1;
    for (size_t m = 1; m <= len; m++) {
        size_t top = m < len - m ? m : len - m;
        if (top > p->dmax) top = p->dmax;
        for (size_t d = m & 1; d <= top; d += 2) {
            long double v = 0;
            if (d < bound) v += (long double)types * fin_at(p, m - 1, d + 1);
            if (d > 0) v += fin_at(p, m - 1, d - 1);
            p->fin[m * p->h + d / 2] = v;
        }
    }
    for (size_t n = 0; n <= len; n++) p->count[n] = fin_at(p, n, 0);
}

/* Table cells paths_build would allocate for a bound at length len. */
static size_t paths_cells(size_t bound, size_t len)
{
    if (!bound) return 0;
    size_t dmax = bound < len / 2 ? bound : len / 2;
    return (len + 1) * (dmax / 2 + 1);
}

/* Write a uniformly random path of even length n <= p->len from height 0 back to 0 into
 * up[0..n) (1 = up-step, 0 = down-step); the kind of each up-step is the caller's choice. */
static void paths_walk(const paths *p, size_t n, sp_bits *b, int *up)
{
    size_t d = 0;
    for (size_t i = 0; i < n; i++) {
        size_t m = n - i; /* steps left, this one included; m = d (mod 2), m >= d */
        bool open;
        if (d == 0) open = true;
        else if (d == m || (p->bound && d == p->bound)) open = false;
        else if (!p->bound) {
            uint64_t u = (m - d) / 2; /* m <= SP_LANG_MAX_LENGTH: q < 2^40 */
            open = !sp_bits_chance(b, (uint64_t)d * (m + 1 - u), (uint64_t)m * (d + 1));
        } else {
            long double w[2] = {(long double)p->types * fin_at(p, m - 1, d + 1),
                                fin_at(p, m - 1, d - 1)};
            open = sp_rng_pick_ld(b->r, w, 2, w[0] + w[1]) == 0;
        }
        up[i] = open;
        if (open) d++;
        else d--;
    }
    SP_ASSERT(d == 0);
}

/* ---- tables ------------------------------------------------------------------------------ */

static void tables_free(tables *t)
{
    paths_free(&t->walk);
    free(t->binom);
    free(t->shuf);
    free(t->stack);
    free(t->stackb);
    free(t->sel);
    free(t->word);
    free(t->w);
    memset(t, 0, sizeof *t);
}

/* S_1 = E1 (Dyck-1 words, with the bound), S_j(n) = sum over even m of C(n,m) E1(m) S_{j-1}(n-m):
 * the last pair's word takes m of the n positions. Odd lengths have no strings. */
static void shuffle_build(tables *t, size_t npairs)
{
    size_t len = t->len, half = len / 2;
    t->binom = sp_calloc((half + 1) * (half + 2) / 2, sizeof *t->binom);
    long double *row = sp_calloc(len + 1, sizeof *row); /* Pascal row n, rolled in place */
    row[0] = 1;
    for (size_t n = 0; n <= len; n++) {
        if (n > 0)
            for (size_t m = n; m > 0; m--) row[m] += row[m - 1];
        if (n & 1) continue;
        long double *dst = t->binom + (n / 2) * (n / 2 + 1) / 2;
        for (size_t m = 0; m <= n; m += 2) dst[m / 2] = row[m];
    }
    free(row);

    const long double *e1 = t->walk.count;
    t->shuf = sp_calloc(npairs * (len + 1), sizeof *t->shuf);
    memcpy(t->shuf, e1, (len + 1) * sizeof *e1);
    for (size_t j = 2; j <= npairs; j++) {
        const long double *prev = t->shuf + (j - 2) * (len + 1);
        long double *cur = t->shuf + (j - 1) * (len + 1);
        for (size_t n = 0; n <= len; n += 2) {
            const long double *b = t->binom + (n / 2) * (n / 2 + 1) / 2;
            long double s = 0;
            for (size_t m = 0; m <= n; m += 2) s += b[m / 2] * e1[m] * prev[n - m];
            cur[n] = s;
        }
    }
}

static int dyck_prepare(sp_lang *lang, size_t max_len, sp_error *err)
{
    dyck *dk = lang->impl;
    if (dk->shuffle && max_len > SHUFFLE_MAX_LENGTH)
        return sp_error_set(err, SP_ELIMIT, lang->file, 0, 0,
                            "%s: Shuffle-Dyck counting supports lengths up to %d, not %zu",
                            lang->name, SHUFFLE_MAX_LENGTH, max_len);
    size_t cells = paths_cells(dk->bound, max_len);
    if (cells > TABLE_MAX_CELLS)
        return sp_error_set(err, SP_ELIMIT, lang->file, 0, 0,
                            "%s: counting up to length %zu with max_depth %zu needs a table of %zu "
                            "cells (the limit is %zu); ask for shorter strings or a smaller "
                            "max_depth",
                            lang->name, max_len, dk->bound, cells, TABLE_MAX_CELLS);
    tables t;
    memset(&t, 0, sizeof t);
    t.len = max_len;
    paths_build(&t.walk, dk->shuffle ? 1u : (unsigned)dk->npairs, dk->bound, max_len);
    if (dk->shuffle) shuffle_build(&t, dk->npairs);
    const long double *count = dk->shuffle ? t.shuf + (dk->npairs - 1) * (max_len + 1)
                                           : t.walk.count;
    /* Every table entry a walk reads is at most some count(n) with n <= len, so checking the
     * counts is enough. */
    for (size_t n = 0; n <= max_len; n++)
        if (!isfinite(count[n])) {
            tables_free(&t);
            return sp_error_set(err, SP_ELIMIT, lang->file, 0, 0,
                                "%s: the number of strings of length %zu exceeds the long double "
                                "range; ask for shorter strings",
                                lang->name, n);
        }
    t.stack = sp_malloc(max_len, sizeof *t.stack);
    t.stackb = sp_malloc(max_len + 2, 1);
    t.sel = sp_malloc(max_len, sizeof *t.sel);
    t.word = sp_malloc(max_len, sizeof *t.word);
    t.w = sp_malloc(max_len / 2 + 1, sizeof *t.w);
    tables_free(&dk->t);
    dk->t = t;
    return SP_OK;
}

static long double dyck_count(const sp_lang *lang, size_t n)
{
    const dyck *dk = lang->impl;
    SP_ASSERT(n <= dk->t.len);
    if (dk->shuffle) return dk->t.shuf[(dk->npairs - 1) * (dk->t.len + 1) + n];
    return dk->t.walk.count[n];
}

/* ---- sampling ---------------------------------------------------------------------------- */

/* Unbounded Dyck-k with k a power of two: the walk and the bracket kinds in one pass. Every step
 * draws its coin (forced steps too: p = 0 at height 0, p = q when the steps left only close) and
 * writes the drawn kind above the top of the stack; both are kept only when the step opens. So
 * the only data-dependent branches are the rare ones inside the bit source. */
static void sample_unbounded_pow2(dyck *dk, size_t n, unsigned w, sp_bits *b, int *out)
{
    unsigned char *stack = dk->t.stackb; /* [n + 2]: stack[1..d] the open pairs */
    const int *open_sym = dk->open_sym, *close_sym = dk->close_sym;
    uint64_t kinds = 0; /* bits for the kinds of opening brackets, kept apart from the coins */
    unsigned kinds_avail = 0;
    size_t d = 0;
    stack[0] = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t m = n - i, u = (m - d) / 2; /* m <= SP_LANG_MAX_LENGTH: q < 2^40 */
        size_t open = !sp_bits_chance(b, d * (m + 1 - u), m * (d + 1));
        if (kinds_avail < w) {
            kinds = sp_rng_u64(b->r);
            kinds_avail = 64;
        }
        unsigned pr = (unsigned)(kinds & ((UINT64_C(1) << w) - 1));
        unsigned used = w * (unsigned)open;
        kinds >>= used;
        kinds_avail -= used;
        unsigned top = stack[d];
        stack[d + 1] = (unsigned char)pr;
        out[i] = open ? open_sym[pr] : close_sym[top];
        d = d + 2 * open - 1;
    }
    SP_ASSERT(d == 0);
}

static void dyck_sample_nested(dyck *dk, size_t n, gsl_rng *r, int *out)
{
    tables *t = &dk->t;
    sp_bits b;
    sp_bits_init(&b, r);
    /* A power-of-two number of pairs takes its bits straight from the buffer. */
    unsigned w = 0;
    while (((size_t)1 << w) < dk->npairs) w++;
    bool pow2 = ((size_t)1 << w) == dk->npairs;
    if (pow2 && !dk->bound) {
        sample_unbounded_pow2(dk, n, w, &b, out);
        return;
    }
    paths_walk(&t->walk, n, &b, out);
    size_t depth = 0;
    for (size_t i = 0; i < n; i++) {
        if (out[i]) {
            int pr = dk->npairs == 1 ? 0
                     : pow2        ? (int)sp_bits_take(&b, w)
                                   : (int)sp_rng_below(r, dk->npairs);
            t->stack[depth++] = pr;
            out[i] = dk->open_sym[pr];
        } else {
            out[i] = dk->close_sym[t->stack[--depth]];
        }
    }
}

/* Pairs k..2 in turn take a word length m (weight C(nrem,m) E1(m) S_{j-1}(nrem-m)), a uniform
 * m-subset of the free positions, and a uniform Dyck-1 word on it; pair 1 takes the rest. */
static void dyck_sample_shuffle(dyck *dk, size_t n, gsl_rng *r, int *out)
{
    tables *t = &dk->t;
    const long double *e1 = t->walk.count;
    int *pos = t->stack; /* free positions, increasing */
    for (size_t i = 0; i < n; i++) pos[i] = (int)i;
    size_t nrem = n;
    sp_bits bits;
    sp_bits_init(&bits, r);
    for (size_t j = dk->npairs; j >= 1; j--) {
        size_t m = nrem;
        if (j > 1) {
            const long double *b = t->binom + (nrem / 2) * (nrem / 2 + 1) / 2;
            const long double *prev = t->shuf + (j - 2) * (t->len + 1);
            long double total = 0;
            for (size_t h = 0; 2 * h <= nrem; h++) {
                t->w[h] = b[h] * e1[2 * h] * prev[nrem - 2 * h];
                total += t->w[h];
            }
            m = 2 * sp_rng_pick_ld(r, t->w, nrem / 2 + 1, total);
        }
        /* Selection sampling: position i of the remaining `left` is taken with probability
         * need/left, which makes every m-subset equally likely. */
        size_t kept = 0, taken = 0;
        for (size_t i = 0; i < nrem; i++) {
            size_t need = m - taken, left = nrem - i;
            bool take = need > 0 && sp_bits_chance(&bits, need, left);
            if (take) t->sel[taken++] = pos[i];
            else pos[kept++] = pos[i];
        }
        SP_ASSERT(taken == m);
        paths_walk(&t->walk, m, &bits, t->word);
        for (size_t i = 0; i < m; i++)
            out[t->sel[i]] = t->word[i] ? dk->open_sym[j - 1] : dk->close_sym[j - 1];
        nrem = kept;
    }
    SP_ASSERT(nrem == 0);
}

static void dyck_sample(sp_lang *lang, size_t n, gsl_rng *r, int *out)
{
    dyck *dk = lang->impl;
    if (dk->shuffle) dyck_sample_shuffle(dk, n, r, out);
    else dyck_sample_nested(dk, n, r, out);
}

/* ---- membership and next symbols --------------------------------------------------------- */

/* Read s[0..n) as a prefix of a member. Nested: a close must match the innermost open;
 * *depth and *top (innermost open pair, -1 at depth 0) describe the end state. Shuffle:
 * depth[i] per pair, no close below 0. Either way no depth may exceed the bound. Returns
 * whether s is such a prefix. */
static bool scan_nested(const dyck *dk, const int *s, size_t n, size_t *depth, int *top)
{
    /* stack[0] is a sentinel no pair matches; the open pairs sit at stack[1..d]. The loop has no
     * data-dependent branch but its exit: every symbol writes its pair above the top (kept only
     * when it opens), and a close must find its own pair on top. Members and non-members
     * alternate at random in a dataset, so branches on the symbols would mispredict often. */
    unsigned char local[LOCAL_STACK];
    size_t need = (dk->bound && dk->bound < n ? dk->bound : n) + 2;
    unsigned char *stack = need <= LOCAL_STACK ? local : sp_malloc(need, 1);
    size_t bound = dk->bound ? dk->bound : SIZE_MAX;
    const int *pair_of = dk->pair_of;
    const bool *is_open = dk->is_open;
    stack[0] = 0xff;
    size_t d = 0;
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        size_t open = is_open[s[i]];
        unsigned char pr = (unsigned char)pair_of[s[i]];
        size_t bad = (open & (d == bound)) | ((open ^ 1) & (stack[d] != pr));
        if (bad) {
            ok = false;
            break;
        }
        stack[d + 1] = pr;
        d = d + 2 * open - 1;
    }
    *depth = d;
    *top = ok && d > 0 ? stack[d] : -1;
    if (stack != local) free(stack);
    return ok;
}

static bool scan_shuffle(const dyck *dk, const int *s, size_t n, size_t *depth)
{
    memset(depth, 0, dk->npairs * sizeof *depth);
    for (size_t i = 0; i < n; i++) {
        size_t pr = (size_t)dk->pair_of[s[i]];
        if (dk->is_open[s[i]]) {
            if (dk->bound && depth[pr] == dk->bound) return false;
            depth[pr]++;
        } else {
            if (depth[pr] == 0) return false;
            depth[pr]--;
        }
    }
    return true;
}

static bool dyck_accepts(const sp_lang *lang, const int *s, size_t n)
{
    const dyck *dk = lang->impl;
    if (n & 1) return false;
    if (dk->shuffle) {
        size_t depth[MAX_PAIRS];
        if (!scan_shuffle(dk, s, n, depth)) return false;
        for (size_t i = 0; i < dk->npairs; i++)
            if (depth[i]) return false;
        return true;
    }
    size_t d;
    int top;
    return scan_nested(dk, s, n, &d, &top) && d == 0;
}

static bool dyck_next(const sp_lang *lang, const int *p, size_t n, bool *valid, bool *can_end)
{
    const dyck *dk = lang->impl;
    if (dk->shuffle) {
        size_t depth[MAX_PAIRS];
        if (!scan_shuffle(dk, p, n, depth)) return false;
        bool balanced = true;
        for (size_t i = 0; i < dk->npairs; i++) {
            valid[dk->open_sym[i]] = !dk->bound || depth[i] < dk->bound;
            valid[dk->close_sym[i]] = depth[i] > 0;
            if (depth[i]) balanced = false;
        }
        *can_end = balanced;
        return true;
    }
    size_t d;
    int top;
    if (!scan_nested(dk, p, n, &d, &top)) return false;
    if (!dk->bound || d < dk->bound)
        for (size_t i = 0; i < dk->npairs; i++) valid[dk->open_sym[i]] = true;
    if (top >= 0) valid[dk->close_sym[top]] = true;
    *can_end = d == 0;
    return true;
}

static void dyck_destroy(void *impl)
{
    dyck *dk = impl;
    tables_free(&dk->t);
    free(dk->pair_of);
    free(dk->is_open);
    free(dk);
}

static const sp_lang_ops dyck_ops = {
    .accepts = dyck_accepts,
    .prepare = dyck_prepare,
    .count = dyck_count,
    .sample = dyck_sample,
    .next = dyck_next,
    .destroy = dyck_destroy,
};

/* ---- loading ----------------------------------------------------------------------------- */

/* pairs: a list of [open, close]; every alphabet symbol in exactly one pair position. */
static int read_pairs(sp_lang *lang, dyck *dk, const sp_yaml_doc *doc, const sp_yaml_node *root,
                      sp_error *err)
{
    const sp_yaml_node *pairs;
    if (sp_yaml_require(doc, root, "pairs", &pairs, err) ||
        sp_yaml_expect(doc, pairs, SP_YAML_SEQ, "pairs", err))
        return SP_EINPUT;
    if (pairs->n == 0)
        return sp_yaml_error(err, doc, pairs, "pairs is empty; give at least one [open, close] "
                                              "pair");
    if (pairs->n > MAX_PAIRS)
        return sp_yaml_error(err, doc, pairs, "pairs lists %zu pairs; at most %d are supported",
                             pairs->n, MAX_PAIRS);
    /* Where each symbol was first used, to point at both uses of a duplicate. */
    const sp_yaml_node **used = sp_calloc(lang->k, sizeof *used);
    int status = SP_OK;
    for (size_t i = 0; i < pairs->n && status == SP_OK; i++) {
        const sp_yaml_node *p = pairs->items[i];
        if (p->type != SP_YAML_SEQ || p->n != 2) {
            char what[64];
            if (p->type == SP_YAML_SEQ)
                snprintf(what, sizeof what, "a list of %zu item%s", p->n, p->n == 1 ? "" : "s");
            else
                snprintf(what, sizeof what, "%s", sp_yaml_type_name(p));
            status = sp_yaml_error(err, doc, p,
                                   "pair %zu must be a list of two symbols [open, close], not %s",
                                   i + 1, what);
            break;
        }
        int sym[2];
        for (size_t j = 0; j < 2 && status == SP_OK; j++)
            status = sp_lang_symbol_at(lang, doc, p->items[j], &sym[j], err);
        if (status) break;
        if (sym[0] == sym[1]) {
            status = sp_yaml_error(err, doc, p->items[1],
                                   "pair %zu opens and closes with the same symbol '%s'; a pair "
                                   "needs two distinct symbols",
                                   i + 1, lang->symbols[sym[0]]);
            break;
        }
        for (size_t j = 0; j < 2 && status == SP_OK; j++) {
            const sp_yaml_node *first = used[sym[j]];
            if (first)
                status = sp_yaml_error(err, doc, p->items[j],
                                       "symbol '%s' appears in two pairs (first at %d:%d); each "
                                       "symbol belongs to exactly one pair",
                                       lang->symbols[sym[j]], first->line, first->col);
            used[sym[j]] = p->items[j];
            dk->pair_of[sym[j]] = (int)i;
            dk->is_open[sym[j]] = j == 0;
        }
        if (status) break;
        dk->open_sym[i] = sym[0];
        dk->close_sym[i] = sym[1];
        dk->npairs = i + 1;
    }
    if (status == SP_OK) {
        const sp_yaml_node *alpha = sp_yaml_get(root, "alphabet");
        for (size_t a = 0; a < lang->k; a++)
            if (!used[a]) {
                status = sp_yaml_error(err, doc, alpha->items[a],
                                       "alphabet symbol '%s' is not used by any pair; every "
                                       "symbol must open or close exactly one pair",
                                       lang->symbols[a]);
                break;
            }
    }
    free(used);
    return status;
}

int sp_dyck_load(sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *root, sp_error *err)
{
    if (sp_lang_check_keys(lang, doc, root, dyck_keys, err)) return SP_EINPUT;
    dyck *dk = sp_calloc(1, sizeof *dk);
    dk->pair_of = sp_calloc(lang->k, sizeof *dk->pair_of);
    dk->is_open = sp_calloc(lang->k, sizeof *dk->is_open);
    lang->ops = &dyck_ops;
    lang->impl = dk;
    if (read_pairs(lang, dk, doc, root, err)) return SP_EINPUT;

    const sp_yaml_node *v = sp_yaml_get(root, "max_depth");
    if (v && !sp_yaml_is_null(v)) {
        long b;
        if (sp_yaml_int(doc, v, "max_depth", 1, SP_LANG_MAX_LENGTH, &b, err)) return SP_EINPUT;
        dk->bound = (size_t)b;
    }
    v = sp_yaml_get(root, "shuffle");
    if (v && !sp_yaml_is_null(v) && sp_yaml_bool(doc, v, "shuffle", &dk->shuffle, err))
        return SP_EINPUT;
    /* Never empty: the empty string is always a member, whatever the pairs and the bound. */
    return SP_OK;
}
