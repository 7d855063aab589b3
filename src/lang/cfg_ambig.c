/* The cfg kind's ambiguity search: every derivation of each length up to a bound, looking for
 * a string with two derivations. */
#include "cfg.h"
#include "satprobe/alloc.h"
#include "satprobe/strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    /* The ambiguity search looks at lengths 0..SEARCH_MAX_LEN, in order, while the running
     * total of derivations stays within SEARCH_DERIVATIONS and the work within SEARCH_STEPS. */
    SEARCH_MAX_LEN = 20,
    SEARCH_DERIVATIONS = 250000,
};
#define SEARCH_STEPS ((uint64_t)1500000)

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
    cell *cells;              /* [ncells] the arena of list cells */
    size_t ncells, cells_cap;
    frame *frames;            /* [nframes] open choice points, innermost last */
    size_t nframes, frames_cap;
    int out[SEARCH_MAX_LEN];  /* the string of the current derivation, out[0..at) */
    size_t at;
    bool multi;
    unsigned bits;            /* bits per symbol in a key */
    size_t words;             /* uint64 words per key: a string's symbols, first symbol in the
                               * high bits of word 0, so key order is string order */
    uint64_t *keys, *tmp;     /* [nkeys * words] */
    size_t nkeys, keys_cap, tmp_cap;
    uint64_t steps;           /* derivation steps taken, over all lengths */
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
        s->frames[s->nframes++] =
            (frame){w, list, (uint32_t)s->ncells, (uint32_t)s->at, 0, s->multi};
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
            if (SP_CFG_TAB(c, choice, b) > 0 && sp_cfg_suffix_count(c, j, p + 1, m - choice) > 0)
                break;
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

int sp_cfg_check_ambiguity(sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *start_key,
                           sp_error *err)
{
    sp_cfg *c = lang->impl;
    search s;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.bits = 1;
    while (((size_t)1 << s.bits) < lang->k) s.bits++;
    search_result res = find_ambiguity(&s);
    int status = SP_OK;
    if (res == SEARCH_OVERFLOW) {
        /* More than LDBL_MAX (~1e4932) derivations of strings of length <= SEARCH_MAX_LEN,
         * but at most 1024^SEARCH_MAX_LEN strings: some string has two derivations. */
        status = sp_yaml_error(err, doc, start_key,
                               "ambiguous: the number of derivations of length %zu overflows "
                               "long double, far beyond the number of strings; write "
                               "'ambiguous: allow' to count and sample derivations",
                               s.n);
    } else if (res == SEARCH_WITNESS) {
        sp_strbuf sb;
        sp_strbuf_init(&sb);
        for (size_t i = 0; i < s.n; i++)
            sp_strbuf_printf(&sb, "%s%s", i ? " " : "", lang->symbols[s.out[i]]);
        status = sp_yaml_error(err, doc, start_key,
                               "ambiguous: '%s' has two derivations from '%s'; write "
                               "'ambiguous: allow' to count and sample derivations instead of "
                               "strings",
                               sb.buf, start_key->str);
        sp_strbuf_free(&sb);
    }
    free(s.cells);
    free(s.frames);
    free(s.keys);
    free(s.tmp);
    return status;
}
