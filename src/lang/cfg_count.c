/* The cfg kind's derivation counts: the column layout and its order within a length (which
 * exists exactly when no nonterminal derives itself), count tables by length, and uniform
 * sampling of derivations. */
#include "cfg.h"
#include "satprobe/alloc.h"
#include "satprobe/rng.h"
#include "satprobe/strbuf.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- column layout ---------------------------------------------------------------------- */

/* Lay out the rows and next_nt (see sp_cfg). */
void sp_cfg_make_rows(sp_cfg *c)
{
    const sp_cfg_grammar *g = &c->g;
    size_t nsym = g->alt_off[g->nalt];
    c->row_at = sp_malloc(nsym ? nsym : 1, sizeof *c->row_at);
    c->next_nt = sp_malloc(g->nitems, sizeof *c->next_nt);
    c->nrows = 0;
    for (size_t j = 0; j < g->nalt; j++) {
        size_t len = sp_cfg_alt_len(g, j), base = g->alt_off[j];
        size_t after = 0; /* nonterminals after p */
        c->next_nt[base + j + len] = (uint32_t)len;
        for (size_t p = len; p-- > 0;) {
            bool nt = SP_CFG_IS_NT(g->sym[base + p]);
            c->next_nt[base + j + p] = nt ? (uint32_t)p : c->next_nt[base + j + p + 1];
            c->row_at[base + p] = nt && after > 0 ? (int32_t)c->nrows++ : -1;
            after += nt;
        }
    }
    c->row_alt = sp_malloc(c->nrows ? c->nrows : 1, sizeof *c->row_alt);
    c->row_pos = sp_malloc(c->nrows ? c->nrows : 1, sizeof *c->row_pos);
    for (size_t j = 0; j < g->nalt; j++)
        for (size_t p = 0; p < sp_cfg_alt_len(g, j); p++) {
            int32_t r = c->row_at[g->alt_off[j] + p];
            if (r >= 0) {
                c->row_alt[r] = (uint32_t)j;
                c->row_pos[r] = (uint32_t)p;
            }
        }
    c->ncols = g->nnt + c->nrows;
}

/* The column sp_cfg_suffix_count(j, p, n) reads at length n itself, or SIZE_MAX if it reads
 * only shorter lengths (or none). */
static size_t head_column(const sp_cfg *c, size_t j, size_t p)
{
    const sp_cfg_grammar *g = &c->g;
    size_t len = sp_cfg_alt_len(g, j), q = c->next_nt[g->alt_off[j] + j + p];
    if (q != p || q == len) return SIZE_MAX;
    int32_t row = c->row_at[g->alt_off[j] + q];
    if (row >= 0) return g->nnt + (size_t)row;
    return q + 1 == len ? SP_CFG_NT_INDEX(g->sym[g->alt_off[j] + q]) : SIZE_MAX;
}

/* Whether the suffix of alternative j from p derives the empty string. */
static bool suffix_nullable(const sp_cfg_grammar *g, size_t j, size_t p)
{
    for (size_t i = g->alt_off[j] + p; i < g->alt_off[j + 1]; i++)
        if (!SP_CFG_IS_NT(g->sym[i]) || !g->nullable[SP_CFG_NT_INDEX(g->sym[i])]) return false;
    return true;
}

/* Order the columns so that each comes after the columns it reads at the same length (Kahn's
 * algorithm). Those reads follow unit and nullable steps A => alpha B beta with alpha and beta
 * nullable, so a cycle among them is a nonterminal deriving itself: then some strings have
 * infinitely many derivations, and the error names the cycle. */
int sp_cfg_order_columns(sp_cfg *c, const sp_yaml_doc *doc, const sp_yaml_node *const *rule_key,
                         sp_error *err)
{
    const sp_cfg_grammar *g = &c->g;
    size_t ncols = c->ncols, nedges = 0, cap = 0, cap2 = 0;
    /* Edge e: column from[e] reads column to[e]. Edges are made in order of from, so the
     * edges of x are from_off[x] .. from_off[x + 1). */
    size_t *from = NULL, *to = NULL, *from_off = sp_malloc(ncols + 1, sizeof *from_off);
    for (size_t col = 0; col < ncols; col++) {
        size_t deps[2] = {SIZE_MAX, SIZE_MAX}, ndeps = 0;
        from_off[col] = nedges;
        if (col < g->nnt) {
            for (size_t j = g->nt_alt[col]; j < g->nt_alt[col + 1]; j++) {
                size_t h = head_column(c, j, 0);
                if (h == SIZE_MAX) continue;
                SP_GROW(from, cap, nedges + 1);
                SP_GROW(to, cap2, nedges + 1);
                from[nedges] = col;
                to[nedges++] = h;
            }
            continue;
        }
        size_t r = col - g->nnt, j = c->row_alt[r], q = c->row_pos[r];
        size_t b = SP_CFG_NT_INDEX(g->sym[g->alt_off[j] + q]);
        if (suffix_nullable(g, j, q + 1)) deps[ndeps++] = b;
        if (g->nullable[b] && head_column(c, j, q + 1) != SIZE_MAX)
            deps[ndeps++] = head_column(c, j, q + 1);
        for (size_t d = 0; d < ndeps; d++) {
            SP_GROW(from, cap, nedges + 1);
            SP_GROW(to, cap2, nedges + 1);
            from[nedges] = col;
            to[nedges++] = deps[d];
        }
    }
    from_off[ncols] = nedges;
    /* readers[readers_off[y] ..] are the edges into y; out[x] counts x's unplaced reads. */
    size_t *readers_off = sp_calloc(ncols + 1, sizeof *readers_off);
    size_t *readers = sp_malloc(nedges ? nedges : 1, sizeof *readers);
    size_t *out = sp_calloc(ncols, sizeof *out);
    size_t *fill = sp_malloc(ncols + 1, sizeof *fill);
    for (size_t e = 0; e < nedges; e++) {
        readers_off[to[e] + 1]++;
        out[from[e]]++;
    }
    for (size_t x = 0; x < ncols; x++) readers_off[x + 1] += readers_off[x];
    memcpy(fill, readers_off, (ncols + 1) * sizeof *fill);
    for (size_t e = 0; e < nedges; e++) readers[fill[to[e]]++] = from[e];
    c->order = sp_malloc(ncols, sizeof *c->order);
    size_t placed = 0;
    for (size_t x = 0; x < ncols; x++)
        if (out[x] == 0) c->order[placed++] = (uint32_t)x;
    for (size_t i = 0; i < placed; i++) {
        size_t y = c->order[i];
        for (size_t e = readers_off[y]; e < readers_off[y + 1]; e++)
            if (--out[readers[e]] == 0) c->order[placed++] = (uint32_t)readers[e];
    }
    int status = SP_OK;
    if (placed < ncols) {
        /* Every unplaced column reads an unplaced column: walk reads until one repeats. */
        size_t *seen = sp_malloc(ncols, sizeof *seen), *path = sp_malloc(ncols + 1, sizeof *path);
        for (size_t x = 0; x < ncols; x++) seen[x] = SIZE_MAX;
        size_t x = 0, len = 0;
        while (out[x] == 0) x++;
        while (seen[x] == SIZE_MAX) {
            seen[x] = len;
            path[len++] = x;
            size_t e = from_off[x];
            while (e < from_off[x + 1] && out[to[e]] == 0) e++;
            SP_ASSERT(e < from_off[x + 1]);
            x = to[e];
        }
        /* path[seen[x] .. len) is the cycle; name its nonterminals, starting at the first rule. */
        size_t first = SIZE_MAX, at = 0;
        for (size_t i = seen[x]; i < len; i++)
            if (path[i] < g->nnt && (first == SIZE_MAX || path[i] < first)) {
                first = path[i];
                at = i;
            }
        SP_ASSERT(first != SIZE_MAX);
        sp_strbuf sb;
        sp_strbuf_init(&sb);
        size_t cyc = len - seen[x];
        for (size_t i = 0; i <= cyc; i++) {
            size_t node = path[seen[x] + (at - seen[x] + i) % cyc];
            if (node >= g->nnt) continue;
            sp_strbuf_printf(&sb, "%s%s", sb.len ? " -> " : "", rule_key[node]->str);
        }
        status = sp_yaml_error(err, doc, rule_key[first],
                               "infinite derivations: the cycle %s derives '%s' from itself "
                               "through unit and nullable steps, so some strings have "
                               "infinitely many derivations",
                               sb.buf, rule_key[first]->str);
        sp_strbuf_free(&sb);
        free(seen);
        free(path);
    }
    free(from);
    free(to);
    free(from_off);
    free(readers_off);
    free(readers);
    free(out);
    free(fill);
    return status;
}

/* ---- counting --------------------------------------------------------------------------- */

/* Derivations of a string of length n from the suffix of alternative j starting at position p.
 * Reads tab at lengths <= n only; n < nbuilt, or n is the length being built and every column
 * this reads at length n has been computed (the column order guarantees it). */
long double sp_cfg_suffix_count(const sp_cfg *c, size_t j, size_t p, size_t n)
{
    const sp_cfg_grammar *g = &c->g;
    size_t len = sp_cfg_alt_len(g, j);
    size_t q = c->next_nt[g->alt_off[j] + j + p];
    if (n < q - p) return 0;
    n -= q - p;
    if (q == len) return n == 0;
    int32_t row = c->row_at[g->alt_off[j] + q];
    if (row >= 0) return SP_CFG_TAB(c, n, g->nnt + (size_t)row);
    size_t tail = len - q - 1;
    if (n < tail) return 0;
    return SP_CFG_TAB(c, n - tail, SP_CFG_NT_INDEX(g->sym[g->alt_off[j] + q]));
}

/* The value of column col at length n. The sampler repeats these sums term by term in the same
 * order, so its running totals end exactly at the stored value. */
static long double column_value(sp_cfg *c, size_t col, size_t n)
{
    const sp_cfg_grammar *g = &c->g;
    long double sum = 0;
    if (col < g->nnt) {
        for (size_t j = g->nt_alt[col]; j < g->nt_alt[col + 1]; j++)
            sum += sp_cfg_suffix_count(c, j, 0, n);
        c->work += g->nt_alt[col + 1] - g->nt_alt[col];
        return sum;
    }
    size_t r = col - g->nnt, j = c->row_alt[r], q = c->row_pos[r];
    size_t b = SP_CFG_NT_INDEX(g->sym[g->alt_off[j] + q]);
    for (size_t s = 0; s <= n; s++) {
        long double nb = SP_CFG_TAB(c, s, b);
        if (nb > 0) sum += nb * sp_cfg_suffix_count(c, j, q + 1, n - s);
    }
    c->work += n + 1;
    return sum;
}

/* Fill the tables up to length max_len. SP_ELIMIT (with err) if a count overflows long double;
 * the tables then stay valid up to the length before. */
int sp_cfg_extend_tables(sp_cfg *c, size_t max_len, const char *file, sp_error *err)
{
    if (max_len + 1 > c->tab_len) {
        /* Double to keep extension cheap, but not past the size prepare checked. */
        size_t len = 2 * c->tab_len;
        if (len > c->max_table_bytes / sizeof *c->tab / c->ncols) len = max_len + 1;
        if (len < max_len + 1) len = max_len + 1;
        c->tab = sp_realloc(c->tab, len * c->ncols, sizeof *c->tab);
        memset(c->tab + c->tab_len * c->ncols, 0, (len - c->tab_len) * c->ncols * sizeof *c->tab);
        c->tab_len = len;
    }
    for (size_t n = c->nbuilt; n <= max_len; n++) {
        for (size_t i = 0; i < c->ncols; i++) {
            long double v = column_value(c, c->order[i], n);
            if (!isfinite(v)) {
                /* Later reads at this length multiply by exact zeros; an infinity would make
                 * them NaN, so leave the length all zero. */
                memset(&SP_CFG_TAB(c, n, 0), 0, c->ncols * sizeof *c->tab);
                if (n == 0)
                    return sp_error_set(err, SP_ELIMIT, file, 0, 0,
                                        "derivation counts overflow long double at length 0");
                return sp_error_set(err, SP_ELIMIT, file, 0, 0,
                                    "derivation counts overflow long double at length %zu; "
                                    "lengths up to %zu can be counted",
                                    n, n - 1);
            }
            SP_CFG_TAB(c, n, c->order[i]) = v;
        }
        c->nbuilt = n + 1;
    }
    return SP_OK;
}

/* Multiply-adds to fill the tables for lengths 0..len from scratch: what column_value charges
 * to c->work (len <= SP_LANG_MAX_LENGTH, so no overflow: at most 640,000 rows * 5e9). */
static uint64_t table_work(const sp_cfg *c, size_t len)
{
    uint64_t l = (uint64_t)len + 1;
    return l * c->g.nalt + (uint64_t)c->nrows * (l * (l + 1) / 2);
}

static size_t table_bytes(const sp_cfg *c, size_t len)
{
    return (len + 1) * c->ncols * sizeof *c->tab;
}

static bool within_limits(const sp_cfg *c, size_t len)
{
    return table_work(c, len) <= c->max_work && table_bytes(c, len) <= c->max_table_bytes;
}

int sp_cfg_prepare(sp_lang *lang, size_t max_len, sp_error *err)
{
    sp_cfg *c = lang->impl;
    if (max_len < c->nbuilt) return SP_OK;
    SP_ASSERT(max_len <= SP_LANG_MAX_LENGTH);
    if (!within_limits(c, max_len)) {
        /* Both costs grow with the length: the longest length within the limits, if any, is
         * lo - 1 once lo is the first length beyond them. */
        size_t lo = 0, hi = max_len;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (within_limits(c, mid)) lo = mid + 1;
            else hi = mid;
        }
        char longest[64] = "no length can be counted";
        if (lo > 0) snprintf(longest, sizeof longest, "lengths up to %zu can be counted", lo - 1);
        return sp_error_set(err, SP_ELIMIT, lang->file, 0, 0,
                            "count tables up to length %zu would take %" PRIu64
                            " multiply-adds and %.2f MiB (%zu alternatives, %zu columns per "
                            "length); the limits are %" PRIu64 " multiply-adds and %.2f MiB, so "
                            "%s",
                            max_len, table_work(c, max_len),
                            (double)table_bytes(c, max_len) / (1 << 20), c->g.nalt, c->ncols,
                            c->max_work, (double)c->max_table_bytes / (1 << 20), longest);
    }
    return sp_cfg_extend_tables(c, max_len, lang->file, err);
}

long double sp_cfg_count(const sp_lang *lang, size_t n)
{
    const sp_cfg *c = lang->impl;
    return SP_CFG_TAB(c, n, c->g.start);
}

/* ---- sampling --------------------------------------------------------------------------- */

static void push(sp_cfg *c, size_t *top, int32_t alt, size_t pos, size_t n)
{
    SP_GROW(c->stack, c->stack_cap, *top + 1);
    c->stack[(*top)++] = (sp_cfg_task){alt, (int32_t)pos, (int32_t)n};
}

/* Top-down over an explicit stack (depth is not bounded by the C stack): a nonterminal picks an
 * alternative with probability proportional to its derivation count at that length, a suffix
 * splits its length between its first nonterminal and the rest proportionally to the product of
 * their counts. Each derivation of length n is then drawn with probability 1/N(start, n).
 * Nonterminals of length 0 are not expanded: they add no symbols. */
void sp_cfg_sample(sp_lang *lang, size_t n, gsl_rng *r, int *out)
{
    sp_cfg *c = lang->impl;
    const sp_cfg_grammar *g = &c->g;
    size_t top = 0, at = 0;
    push(c, &top, SP_CFG_NT(g->start), 0, n);
    while (top) {
        sp_cfg_task w = c->stack[--top];
        size_t m = (size_t)w.n;
        if (w.alt < 0) {
            size_t a = SP_CFG_NT_INDEX(w.alt);
            if (m == 0) continue;
            long double u = sp_rng_uniform_ld(r) * SP_CFG_TAB(c, m, a), acc = 0;
            size_t pick = SIZE_MAX;
            for (size_t j = g->nt_alt[a]; j < g->nt_alt[a + 1]; j++) {
                long double v = sp_cfg_suffix_count(c, j, 0, m);
                if (!(v > 0)) continue;
                acc += v;
                pick = j;
                if (u < acc) break;
            }
            SP_ASSERT(pick != SIZE_MAX);
            push(c, &top, (int32_t)pick, 0, m);
            continue;
        }
        size_t j = (size_t)w.alt, p = (size_t)w.pos, len = sp_cfg_alt_len(g, j);
        const int *sym = g->sym + g->alt_off[j];
        while (p < len && !SP_CFG_IS_NT(sym[p])) {
            SP_ASSERT(m > 0 && at < n);
            out[at++] = sym[p++];
            m--;
        }
        if (p == len) {
            SP_ASSERT(m == 0);
            continue;
        }
        size_t b = SP_CFG_NT_INDEX(sym[p]), s;
        int32_t row = c->row_at[g->alt_off[j] + p];
        if (row < 0) {
            /* Only terminals follow: the nonterminal's length is forced. */
            s = m - (len - p - 1);
        } else {
            long double u = sp_rng_uniform_ld(r) * SP_CFG_TAB(c, m, g->nnt + (size_t)row);
            long double acc = 0;
            s = SIZE_MAX;
            for (size_t t = 0; t <= m; t++) {
                long double nb = SP_CFG_TAB(c, t, b);
                if (!(nb > 0)) continue;
                long double v = nb * sp_cfg_suffix_count(c, j, p + 1, m - t);
                if (!(v > 0)) continue;
                acc += v;
                s = t;
                if (u < acc) break;
            }
            SP_ASSERT(s != SIZE_MAX);
        }
        if (p + 1 < len) push(c, &top, (int32_t)j, p + 1, m - s);
        push(c, &top, SP_CFG_NT(b), 0, s);
    }
    SP_ASSERT(at == n);
}
