/* The cfg kind: context-free grammars. Loading reduces and checks the grammar (undefined,
 * unproductive, unreachable, infinitely ambiguous, and, up to a budget, ambiguous); counting and
 * sampling go over derivations split by length; membership and next symbols use Earley parsing. */
#include "cfg.h"
#include "satprobe/alloc.h"
#include "satprobe/rng.h"
#include "satprobe/strbuf.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_NONTERMINALS = 1000,
    MAX_ALTERNATIVES = 10000,
    MAX_ALT_SYMBOLS = 64,
    /* The ambiguity search looks at lengths 0..SEARCH_MAX_LEN, in order, while the running
     * total of derivations stays within SEARCH_DERIVATIONS and the work within SEARCH_STEPS. */
    SEARCH_MAX_LEN = 20,
    SEARCH_DERIVATIONS = 250000,
};
#define SEARCH_STEPS ((uint64_t)1500000)

static const char *const cfg_keys[] = {"start", "rules", "ambiguous", NULL};

static void cfg_destroy(void *impl)
{
    sp_cfg *c = impl;
    sp_cfg_grammar_free(&c->g);
    free(c->row_at);
    free(c->next_nt);
    free(c->row_alt);
    free(c->row_pos);
    free(c->order);
    free(c->tab);
    free(c->stack);
    free(c);
}

/* ---- operations ------------------------------------------------------------------------- */

static bool cfg_accepts(const sp_lang *lang, const int *s, size_t n)
{
    const sp_cfg *c = lang->impl;
    return sp_earley_recognise(&c->g, s, n);
}

/* A parser per call keeps next() safe to call from several threads on one language. */
static bool cfg_next(const sp_lang *lang, const int *p, size_t n, bool *valid, bool *can_end)
{
    const sp_cfg *c = lang->impl;
    sp_earley *e = sp_earley_new(&c->g);
    bool viable = true;
    for (size_t i = 0; i < n && viable; i++) viable = sp_earley_feed(e, p[i]);
    if (viable) {
        sp_earley_scannable(e, valid);
        *can_end = sp_earley_accepting(e);
    }
    sp_earley_destroy(e);
    return viable;
}

static const sp_lang_ops cfg_ops = {
    .accepts = cfg_accepts,
    .prepare = sp_cfg_prepare,
    .count = sp_cfg_count,
    .sample = sp_cfg_sample,
    .next = cfg_next,
    .destroy = cfg_destroy,
};

/* ---- ambiguity search ------------------------------------------------------------------- */

/* Derivations of one length are enumerated depth first, leftmost symbol first. The pending
 * symbols form a linked list whose cells live in an arena that is cut back on backtracking
 * (cells made after a choice point are only reachable from states after it). Choices with a
 * zero count are never taken, so every branch ends in a derivation and the work is
 * proportional to the derivations enumerated. Each derivation's string is packed into an
 * integer key; sorting the keys of one length puts equal strings side by side. A string met
 * twice, or met through a nullable nonterminal with two or more derivations of the empty
 * string, has two derivations. (Sorting beats a hash set here: the keys are written and
 * sorted in sequential passes, where a hash set misses the cache on every string.) */

#define NIL UINT32_MAX

typedef struct cell {
    sp_cfg_task w;
    uint32_t next;
} cell;

typedef struct frame {
    sp_cfg_task w;  /* the choice point: a nonterminal (choose an alternative) or a suffix
                     * starting with a nonterminal (choose its length) */
    uint32_t rest;  /* what follows it */
    uint32_t mark;  /* arena size when it was made */
    uint32_t at;    /* output length when it was made */
    uint32_t next_choice;
    bool multi;     /* a zero-length nonterminal with >= 2 derivations was passed */
} frame;

typedef struct search {
    sp_cfg *c;
    size_t n;                 /* the length being searched */
    cell *cells;
    size_t ncells, cells_cap;
    frame *frames;
    size_t nframes, frames_cap;
    int out[SEARCH_MAX_LEN];  /* the string of the current derivation, out[0..at) */
    size_t at;
    bool multi;
    unsigned bits;            /* bits per symbol in a key */
    size_t words;             /* uint64 words per key: a string's symbols, first symbol in the
                               * high bits of word 0, so key order is string order */
    uint64_t *keys, *tmp;     /* [nkeys * words] */
    size_t nkeys, keys_cap, tmp_cap;
    uint64_t steps;
    bool found;               /* out[0..n) has two derivations */
} search;

static uint32_t cons(search *s, int32_t alt, size_t pos, size_t n, uint32_t next)
{
    SP_ASSERT(s->ncells < NIL);
    SP_GROW(s->cells, s->cells_cap, s->ncells + 1);
    s->cells[s->ncells] = (cell){{alt, (int32_t)pos, (int32_t)n}, next};
    return (uint32_t)s->ncells++;
}

/* A complete derivation: keep its string's key. */
static void record(search *s)
{
    SP_ASSERT(s->at == s->n);
    if (s->multi) {
        s->found = true;
        return;
    }
    SP_ASSERT((s->nkeys + 1) * s->words <= s->keys_cap);
    uint64_t *key = s->keys + s->nkeys++ * s->words;
    for (size_t w = 0; w < s->words; w++) key[w] = 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t bit = i * s->bits; /* from the top of the key */
        size_t w = bit / 64, off = 64 - bit % 64;
        uint64_t v = (uint64_t)s->out[i];
        if (off >= s->bits) {
            key[w] |= v << (off - s->bits);
        } else {
            key[w] |= v >> (s->bits - off);
            key[w + 1] |= v << (64 - (s->bits - off));
        }
    }
}

/* The inverse of the packing in record. */
static void unpack(search *s, const uint64_t *key)
{
    uint64_t mask = ((uint64_t)1 << s->bits) - 1;
    for (size_t i = 0; i < s->n; i++) {
        size_t bit = i * s->bits, w = bit / 64, off = 64 - bit % 64;
        uint64_t v;
        if (off >= s->bits) v = key[w] >> (off - s->bits);
        else v = key[w] << (s->bits - off) | key[w + 1] >> (64 - (s->bits - off));
        s->out[i] = (int)(v & mask);
    }
}

/* LSD radix sort of the keys by bytes (passes where every key has the same byte are skipped);
 * returns whichever of keys and tmp holds the sorted result. */
static uint64_t *sort_keys(search *s)
{
    size_t w = s->words, nk = s->nkeys;
    if (nk * w > s->tmp_cap) {
        free(s->tmp);
        s->tmp_cap = s->keys_cap;
        s->tmp = sp_malloc(s->tmp_cap, sizeof *s->tmp);
    }
    uint64_t *a = s->keys, *b = s->tmp;
    for (size_t word = w; word-- > 0;)
        for (unsigned shift = 0; shift < 64; shift += 8) {
            size_t count[256] = {0};
            for (size_t i = 0; i < nk; i++) count[(a[i * w + word] >> shift) & 255]++;
            if (count[(a[word] >> shift) & 255] == nk) continue;
            size_t pos = 0;
            for (size_t v = 0; v < 256; v++) {
                size_t here = count[v];
                count[v] = pos;
                pos += here;
            }
            if (w == 1) {
                for (size_t i = 0; i < nk; i++) b[count[(a[i] >> shift) & 255]++] = a[i];
            } else {
                for (size_t i = 0; i < nk; i++)
                    memcpy(b + count[(a[i * w + word] >> shift) & 255]++ * w, a + i * w,
                           w * sizeof *a);
            }
            uint64_t *t = a;
            a = b;
            b = t;
        }
    return a;
}

/* Follow the list until the derivation ends (recorded) or a choice is needed (a frame). */
static void advance(search *s, uint32_t list)
{
    const sp_cfg *c = s->c;
    const sp_cfg_grammar *g = &c->g;
    for (;;) {
        s->steps++;
        if (list == NIL) {
            record(s);
            return;
        }
        sp_cfg_task w = s->cells[list].w;
        list = s->cells[list].next;
        if (w.alt < 0) {
            size_t a = SP_CFG_NT_INDEX(w.alt);
            if (w.n == 0) {
                if (SP_CFG_TAB(c, 0, a) >= 2) s->multi = true;
                continue;
            }
            if (g->nt_alt[a + 1] - g->nt_alt[a] == 1) {
                /* No choice to make (unit chains are common). */
                list = cons(s, (int32_t)g->nt_alt[a], 0, (size_t)w.n, list);
                continue;
            }
        } else {
            size_t j = (size_t)w.alt, p = (size_t)w.pos, m = (size_t)w.n;
            size_t len = sp_cfg_alt_len(g, j);
            const int *sym = g->sym + g->alt_off[j];
            while (p < len && !SP_CFG_IS_NT(sym[p])) {
                s->out[s->at++] = sym[p++];
                m--;
            }
            if (p == len) continue;
            if (c->row_at[g->alt_off[j] + p] < 0) {
                size_t tail = len - p - 1;
                if (tail) list = cons(s, (int32_t)j, p + 1, tail, list);
                list = cons(s, SP_CFG_NT(SP_CFG_NT_INDEX(sym[p])), 0, m - tail, list);
                continue;
            }
            w.pos = (int32_t)p;
            w.n = (int32_t)m;
        }
        SP_GROW(s->frames, s->frames_cap, s->nframes + 1);
        s->frames[s->nframes++] = (frame){w, list, (uint32_t)s->ncells, (uint32_t)s->at, 0, s->multi};
        return;
    }
}

/* Take the next choice of the innermost frame, or drop the frame if it has none left. */
static void step(search *s)
{
    const sp_cfg *c = s->c;
    const sp_cfg_grammar *g = &c->g;
    frame *f = &s->frames[s->nframes - 1];
    size_t m = (size_t)f->w.n, choice = f->next_choice, j = 0, p = 0, b = 0, last;
    if (f->w.alt < 0) {
        size_t a = SP_CFG_NT_INDEX(f->w.alt);
        last = g->nt_alt[a + 1] - g->nt_alt[a];
        for (; choice < last; choice++, s->steps++)
            if (sp_cfg_suffix_count(c, g->nt_alt[a] + choice, 0, m) > 0) break;
    } else {
        j = (size_t)f->w.alt;
        p = (size_t)f->w.pos;
        b = SP_CFG_NT_INDEX(g->sym[g->alt_off[j] + p]);
        last = m + 1;
        for (; choice < last; choice++, s->steps++)
            if (SP_CFG_TAB(c, choice, b) > 0 && sp_cfg_suffix_count(c, j, p + 1, m - choice) > 0) break;
    }
    if (choice == last) {
        s->nframes--;
        return;
    }
    f->next_choice = (uint32_t)choice + 1;
    s->ncells = f->mark;
    s->at = f->at;
    s->multi = f->multi;
    uint32_t list;
    if (f->w.alt < 0) {
        list = cons(s, (int32_t)(g->nt_alt[SP_CFG_NT_INDEX(f->w.alt)] + choice), 0, m, f->rest);
    } else {
        list = cons(s, (int32_t)j, p + 1, m - choice, f->rest);
        list = cons(s, SP_CFG_NT(b), 0, choice, list);
    }
    advance(s, list);
}

typedef enum search_result {
    SEARCH_DONE,     /* no ambiguity up to the budget */
    SEARCH_WITNESS,  /* s->out[0..s->n) has two derivations */
    SEARCH_OVERFLOW, /* counts at length s->n overflow long double */
} search_result;

/* Search lengths 0, 1, ... for a string with two derivations. */
static search_result find_ambiguity(search *s)
{
    sp_cfg *c = s->c;
    long double total = 0;
    for (size_t n = 0; n <= SEARCH_MAX_LEN; n++) {
        if (c->work + s->steps + c->nrows * (n + 1) + c->g.nalt > SEARCH_STEPS) return SEARCH_DONE;
        if (sp_cfg_extend_tables(c, n, "", NULL)) {
            s->n = n;
            return SEARCH_OVERFLOW;
        }
        long double d = SP_CFG_TAB(c, n, c->g.start);
        total += d;
        if (total > SEARCH_DERIVATIONS) return SEARCH_DONE;
        if (d > 0) {
            s->n = n;
            s->ncells = s->nframes = s->nkeys = s->at = 0;
            s->multi = false;
            s->words = n * s->bits / 64 + 1;
            /* d <= SEARCH_DERIVATIONS: the keys array holds every derivation's key. The old
             * keys are not needed, so grow without copying. */
            if ((size_t)d * s->words > s->keys_cap) {
                free(s->keys);
                s->keys_cap = 2 * (size_t)d * s->words;
                s->keys = sp_malloc(s->keys_cap, sizeof *s->keys);
            }
            advance(s, cons(s, SP_CFG_NT(c->g.start), 0, n, NIL));
            while (s->nframes && !s->found && s->steps + c->work <= SEARCH_STEPS) step(s);
            if (s->found) return SEARCH_WITNESS;
            if (s->nframes) return SEARCH_DONE; /* out of steps */
            /* Every derivation was enumerated once. */
            SP_ASSERT((long double)s->nkeys == d);
            const uint64_t *keys = sort_keys(s);
            for (size_t i = 1; i < s->nkeys; i++)
                if (memcmp(keys + (i - 1) * s->words, keys + i * s->words,
                           s->words * sizeof *keys) == 0) {
                    unpack(s, keys + i * s->words);
                    return SEARCH_WITNESS;
                }
        }
    }
    return SEARCH_DONE;
}

/* ---- loading ------------------------------------------------------------------------------ */

/* Name lookup while loading: alphabet symbols and rule names to their codes (a terminal's
 * index, or SP_CFG_NT(A)). Open addressing; the loader frees it. */
typedef struct names {
    const char **key;
    size_t *len;
    int *code;
    size_t cap;
} names;

static size_t name_hash(const char *s, size_t len, size_t cap)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 32)) & (cap - 1);
}

static bool names_find(const names *t, const char *s, size_t len, int *code)
{
    for (size_t h = name_hash(s, len, t->cap); t->key[h]; h = (h + 1) & (t->cap - 1))
        if (t->len[h] == len && memcmp(t->key[h], s, len) == 0) {
            *code = t->code[h];
            return true;
        }
    return false;
}

static void names_add(names *t, const char *s, size_t len, int code)
{
    size_t h = name_hash(s, len, t->cap);
    while (t->key[h]) h = (h + 1) & (t->cap - 1);
    t->key[h] = s;
    t->len[h] = len;
    t->code[h] = code;
}

typedef struct loader {
    sp_lang *lang;
    const sp_yaml_doc *doc;
    sp_cfg *c;
    sp_error *err;
    const sp_yaml_node **rule_key; /* [nnt] */
    names names;
} loader;

static bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

/* Column of byte `offset` of scalar node: quoted scalars start one column after their quote. */
static int scalar_col(const sp_yaml_node *node, size_t offset)
{
    return node->col + (int)offset + (node->plain ? 0 : 1);
}

/* Read the rule names and count the alternatives. */
static int read_rule_names(loader *ld, const sp_yaml_node *rules, size_t *nalt)
{
    const sp_yaml_doc *doc = ld->doc;
    sp_lang *lang = ld->lang;
    sp_cfg_grammar *g = &ld->c->g;
    if (rules->n == 0) return sp_yaml_error(ld->err, doc, rules, "rules is empty: a grammar needs at least one rule");
    if (rules->n > MAX_NONTERMINALS)
        return sp_yaml_error(ld->err, doc, rules->items[2 * MAX_NONTERMINALS],
                             "too many rules: a grammar may have at most %d nonterminals",
                             MAX_NONTERMINALS);
    g->nnt = rules->n;
    ld->rule_key = sp_calloc(g->nnt, sizeof *ld->rule_key);
    size_t cap = 16;
    while (cap < 2 * (lang->k + g->nnt)) cap *= 2;
    ld->names.cap = cap;
    ld->names.key = sp_calloc(cap, sizeof *ld->names.key);
    ld->names.len = sp_calloc(cap, sizeof *ld->names.len);
    ld->names.code = sp_calloc(cap, sizeof *ld->names.code);
    for (size_t a = 0; a < lang->k; a++)
        names_add(&ld->names, lang->symbols[a], strlen(lang->symbols[a]), (int)a);
    *nalt = 0;
    for (size_t i = 0; i < g->nnt; i++) {
        const sp_yaml_node *key = rules->items[2 * i], *val = rules->items[2 * i + 1];
        const char *name;
        int code;
        ld->rule_key[i] = key;
        if (sp_yaml_string(doc, key, "a rule name", &name, ld->err)) return SP_EINPUT;
        if (key->len == 0) return sp_yaml_error(ld->err, doc, key, "a rule name is empty");
        for (size_t b = 0; b < key->len; b++)
            if (is_space(name[b]))
                return sp_yaml_error(ld->err, doc, key,
                                     "rule name '%s' contains white space (symbols in "
                                     "alternatives are separated by spaces)",
                                     name);
        if (names_find(&ld->names, name, key->len, &code))
            return sp_yaml_error(ld->err, doc, key,
                                 "rule name '%s' is also an alphabet symbol; nonterminals must "
                                 "differ from terminals",
                                 name);
        names_add(&ld->names, name, key->len, SP_CFG_NT(i));
        size_t here;
        if (val->type == SP_YAML_SEQ) here = val->n;
        else if (val->type == SP_YAML_SCALAR && !sp_yaml_is_null(val)) here = 1;
        else
            return sp_yaml_error(ld->err, doc, val,
                                 "rule '%s' must be a list of alternatives or a single "
                                 "alternative, not %s (write \"\" for the empty string)",
                                 name, sp_yaml_type_name(val));
        if (here == 0)
            return sp_yaml_error(ld->err, doc, val,
                                 "rule '%s' has no alternatives (write \"\" for the empty string)",
                                 name);
        if (*nalt + here > MAX_ALTERNATIVES)
            return sp_yaml_error(ld->err, doc,
                                 val->type == SP_YAML_SEQ ? val->items[MAX_ALTERNATIVES - *nalt]
                                                          : val,
                                 "too many alternatives: a grammar may have at most %d",
                                 MAX_ALTERNATIVES);
        *nalt += here;
    }
    return SP_OK;
}

/* Split one alternative into symbols and append them to the grammar. */
static int read_alternative(loader *ld, size_t lhs, const sp_yaml_node *node, size_t *syms_cap)
{
    const sp_yaml_doc *doc = ld->doc;
    sp_cfg_grammar *g = &ld->c->g;
    const char *text;
    if (node->type != SP_YAML_SCALAR || sp_yaml_is_null(node))
        return sp_yaml_error(ld->err, doc, node,
                             "an alternative of rule '%s' must be a string of space-separated "
                             "symbols, not %s (write \"\" for the empty string; quote a "
                             "symbol such as ~)",
                             ld->rule_key[lhs]->str, sp_yaml_type_name(node));
    if (sp_yaml_string(doc, node, "an alternative", &text, ld->err)) return SP_EINPUT;
    size_t j = g->nalt, count = 0, off = g->alt_off[j];
    for (size_t i = 0; i < node->len;) {
        if (is_space(text[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < node->len && !is_space(text[i])) i++;
        int code;
        if (count == MAX_ALT_SYMBOLS)
            return sp_error_set(ld->err, SP_EINPUT, doc->file, node->line,
                                scalar_col(node, start),
                                "alternative has more than %d symbols", MAX_ALT_SYMBOLS);
        if (!names_find(&ld->names, text + start, i - start, &code))
            return sp_error_set(ld->err, SP_EINPUT, doc->file, node->line,
                                scalar_col(node, start),
                                "undefined nonterminal '%.*s' (neither a rule name nor an "
                                "alphabet symbol)",
                                (int)(i - start), text + start);
        SP_GROW(g->sym, *syms_cap, off + count + 1);
        g->sym[off + count++] = code;
    }
    g->alt_lhs[j] = lhs;
    g->alt_off[j + 1] = off + count;
    g->nalt++;
    return SP_OK;
}

static int read_rules(loader *ld, const sp_yaml_node *root)
{
    const sp_yaml_doc *doc = ld->doc;
    sp_cfg_grammar *g = &ld->c->g;
    const sp_yaml_node *rules;
    if (sp_yaml_require(doc, root, "rules", &rules, ld->err) ||
        sp_yaml_expect(doc, rules, SP_YAML_MAP, "rules", ld->err))
        return SP_EINPUT;
    size_t nalt = 0;
    if (read_rule_names(ld, rules, &nalt)) return SP_EINPUT;
    g->k = ld->lang->k;
    g->nt_alt = sp_malloc(g->nnt + 1, sizeof *g->nt_alt);
    g->alt_lhs = sp_malloc(nalt, sizeof *g->alt_lhs);
    g->alt_off = sp_malloc(nalt + 1, sizeof *g->alt_off);
    g->alt_off[0] = 0;
    size_t syms_cap = 0;
    for (size_t a = 0; a < g->nnt; a++) {
        const sp_yaml_node *val = rules->items[2 * a + 1];
        g->nt_alt[a] = g->nalt;
        if (val->type == SP_YAML_SEQ) {
            for (size_t i = 0; i < val->n; i++)
                if (read_alternative(ld, a, val->items[i], &syms_cap)) return SP_EINPUT;
        } else if (read_alternative(ld, a, val, &syms_cap)) {
            return SP_EINPUT;
        }
    }
    g->nt_alt[g->nnt] = g->nalt;
    SP_ASSERT(g->nalt == nalt);
    if (!g->sym) g->sym = sp_malloc(1, sizeof *g->sym);
    return SP_OK;
}

static int read_start(loader *ld, const sp_yaml_node *root)
{
    const sp_yaml_node *node = sp_yaml_get(root, "start");
    sp_cfg_grammar *g = &ld->c->g;
    g->start = 0;
    if (!node || sp_yaml_is_null(node)) return SP_OK;
    const char *s;
    int code;
    if (sp_yaml_string(ld->doc, node, "start", &s, ld->err)) return SP_EINPUT;
    if (!names_find(&ld->names, s, node->len, &code))
        return sp_yaml_error(ld->err, ld->doc, node, "start symbol '%s' is not a rule name", s);
    if (!SP_CFG_IS_NT(code))
        return sp_yaml_error(ld->err, ld->doc, node,
                             "start symbol '%s' is an alphabet symbol; it must be a rule name", s);
    g->start = SP_CFG_NT_INDEX(code);
    return SP_OK;
}

/* Least fixed point over the alternatives: A is marked once one of its alternatives has all its
 * nonterminals marked (and, for nullable, no terminal). Linear in the grammar size: each
 * alternative keeps the number of its nonterminal occurrences not yet marked. */
static void mark_derivable(const sp_cfg_grammar *g, bool need_no_terminals, bool *mark)
{
    size_t nsym = g->alt_off[g->nalt];
    size_t *pending = sp_calloc(g->nalt, sizeof *pending);
    size_t *uses_off = sp_calloc(g->nnt + 1, sizeof *uses_off);
    size_t *uses = sp_malloc(nsym ? nsym : 1, sizeof *uses);
    size_t *queue = sp_malloc(g->nnt, sizeof *queue);
    bool *blocked = sp_calloc(g->nalt, sizeof *blocked);
    size_t head = 0, tail = 0;
    for (size_t j = 0; j < g->nalt; j++)
        for (size_t i = g->alt_off[j]; i < g->alt_off[j + 1]; i++) {
            if (SP_CFG_IS_NT(g->sym[i])) {
                pending[j]++;
                uses_off[SP_CFG_NT_INDEX(g->sym[i]) + 1]++;
            } else if (need_no_terminals) {
                blocked[j] = true;
            }
        }
    for (size_t a = 0; a < g->nnt; a++) uses_off[a + 1] += uses_off[a];
    size_t *fill = sp_malloc(g->nnt + 1, sizeof *fill);
    memcpy(fill, uses_off, (g->nnt + 1) * sizeof *fill);
    for (size_t j = 0; j < g->nalt; j++)
        for (size_t i = g->alt_off[j]; i < g->alt_off[j + 1]; i++)
            if (SP_CFG_IS_NT(g->sym[i])) uses[fill[SP_CFG_NT_INDEX(g->sym[i])]++] = j;
    for (size_t a = 0; a < g->nnt; a++) mark[a] = false;
    for (size_t j = 0; j < g->nalt; j++)
        if (!blocked[j] && pending[j] == 0 && !mark[g->alt_lhs[j]]) {
            mark[g->alt_lhs[j]] = true;
            queue[tail++] = g->alt_lhs[j];
        }
    while (head < tail) {
        size_t b = queue[head++];
        for (size_t u = uses_off[b]; u < uses_off[b + 1]; u++) {
            size_t j = uses[u];
            if (--pending[j] == 0 && !blocked[j] && !mark[g->alt_lhs[j]]) {
                mark[g->alt_lhs[j]] = true;
                queue[tail++] = g->alt_lhs[j];
            }
        }
    }
    free(pending);
    free(uses_off);
    free(uses);
    free(queue);
    free(blocked);
    free(fill);
}

/* Every nonterminal must derive some string and be reachable from the start symbol. */
static int check_reduced(loader *ld)
{
    sp_cfg_grammar *g = &ld->c->g;
    bool *mark = sp_malloc(g->nnt, sizeof *mark);
    size_t *queue = sp_malloc(g->nnt, sizeof *queue), head = 0, tail = 0;
    int status = SP_OK;
    mark_derivable(g, false, mark);
    if (!mark[g->start]) {
        status = sp_yaml_error(ld->err, ld->doc, ld->rule_key[g->start],
                               "the language has no strings: the start symbol '%s' derives no "
                               "finite string",
                               ld->rule_key[g->start]->str);
        goto done;
    }
    for (size_t a = 0; a < g->nnt; a++)
        if (!mark[a]) {
            status = sp_yaml_error(ld->err, ld->doc, ld->rule_key[a],
                                   "nonterminal '%s' is unproductive (derives no finite string)",
                                   ld->rule_key[a]->str);
            goto done;
        }
    for (size_t a = 0; a < g->nnt; a++) mark[a] = false;
    mark[g->start] = true;
    queue[tail++] = g->start;
    while (head < tail) {
        size_t a = queue[head++];
        for (size_t i = g->alt_off[g->nt_alt[a]]; i < g->alt_off[g->nt_alt[a + 1]]; i++)
            if (SP_CFG_IS_NT(g->sym[i]) && !mark[SP_CFG_NT_INDEX(g->sym[i])]) {
                mark[SP_CFG_NT_INDEX(g->sym[i])] = true;
                queue[tail++] = SP_CFG_NT_INDEX(g->sym[i]);
            }
    }
    for (size_t a = 0; a < g->nnt; a++)
        if (!mark[a]) {
            status = sp_yaml_error(ld->err, ld->doc, ld->rule_key[a],
                                   "nonterminal '%s' is unreachable from the start symbol '%s'",
                                   ld->rule_key[a]->str, ld->rule_key[g->start]->str);
            goto done;
        }
    g->nullable = sp_malloc(g->nnt, sizeof *g->nullable);
    mark_derivable(g, true, g->nullable);
done:
    free(mark);
    free(queue);
    return status;
}

static int read_ambiguous(loader *ld, const sp_yaml_node *root, bool *allow)
{
    const sp_yaml_node *node = sp_yaml_get(root, "ambiguous");
    *allow = false;
    if (!node || sp_yaml_is_null(node)) return SP_OK;
    const char *s;
    if (sp_yaml_string(ld->doc, node, "ambiguous", &s, ld->err)) return SP_EINPUT;
    if (strcmp(s, "allow") == 0) *allow = true;
    else if (strcmp(s, "error") != 0)
        return sp_yaml_error(ld->err, ld->doc, node,
                             "ambiguous must be 'allow' (count and sample derivations) or "
                             "'error' (the default: reject an ambiguous grammar), not '%s'",
                             s);
    return SP_OK;
}

static int check_ambiguity(loader *ld)
{
    sp_cfg *c = ld->c;
    search s;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.bits = 1;
    while (((size_t)1 << s.bits) < ld->lang->k) s.bits++;
    search_result res = find_ambiguity(&s);
    int status = SP_OK;
    if (res == SEARCH_OVERFLOW) {
        /* More than LDBL_MAX (~1e4932) derivations of strings of length <= SEARCH_MAX_LEN,
         * but at most 1024^SEARCH_MAX_LEN strings: some string has two derivations. */
        status = sp_yaml_error(ld->err, ld->doc, ld->rule_key[c->g.start],
                               "ambiguous: the number of derivations of length %zu overflows "
                               "long double, far beyond the number of strings; write "
                               "'ambiguous: allow' to count and sample derivations",
                               s.n);
    } else if (res == SEARCH_WITNESS) {
        sp_strbuf sb;
        sp_strbuf_init(&sb);
        for (size_t i = 0; i < s.n; i++)
            sp_strbuf_printf(&sb, "%s%s", i ? " " : "", ld->lang->symbols[s.out[i]]);
        status = sp_yaml_error(ld->err, ld->doc, ld->rule_key[c->g.start],
                               "ambiguous: '%s' has two derivations from '%s'; write "
                               "'ambiguous: allow' to count and sample derivations instead of "
                               "strings",
                               sb.buf, ld->rule_key[c->g.start]->str);
        sp_strbuf_free(&sb);
    }
    free(s.cells);
    free(s.frames);
    free(s.keys);
    free(s.tmp);
    return status;
}

int sp_cfg_load(sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *root, sp_error *err)
{
    if (sp_lang_check_keys(lang, doc, root, cfg_keys, err)) return SP_EINPUT;
    sp_cfg *c = sp_calloc(1, sizeof *c);
    lang->ops = &cfg_ops;
    lang->impl = c;
    loader ld = {.lang = lang, .doc = doc, .c = c, .err = err};
    bool allow = false;
    int status = SP_EINPUT;
    if (read_rules(&ld, root) || read_start(&ld, root) || read_ambiguous(&ld, root, &allow) ||
        check_reduced(&ld))
        goto done;
    sp_cfg_grammar_index(&c->g);
    sp_cfg_make_rows(c);
    if (sp_cfg_order_columns(c, doc, ld.rule_key, err)) goto done;
    lang->derivations = allow;
    if (!allow && check_ambiguity(&ld)) goto done;
    status = SP_OK;
done:
    free(ld.rule_key);
    free(ld.names.key);
    free(ld.names.len);
    free(ld.names.code);
    return status;
}
