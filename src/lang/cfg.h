/* Private to the cfg kind: the grammar and its count tables, shared by the loader and the
 * operations (cfg.c), counting and sampling (cfg_count.c) and the ambiguity search
 * (cfg_ambig.c). */
#ifndef SATPROBE_CFG_H
#define SATPROBE_CFG_H

#include "earley.h"
#include "lang_impl.h"

#include <stddef.h>
#include <stdint.h>

/* Limits of prepare, checked before any table is built, so that it fails at once on any grammar
 * the loader accepts (the loader and prepare are fuzzed). Filling the tables for lengths 0..L
 * takes (L + 1) * alternatives + rows * (L + 1) * (L + 2) / 2 multiply-adds, 5 to 15 ns each
 * (the limit: at most about 0.35 s, 0.5 s under sanitizers, measured), and (L + 1) * columns
 * long doubles. */
#define SP_CFG_MAX_WORK ((uint64_t)25000000)
#define SP_CFG_MAX_TABLE_BYTES ((size_t)256 << 20)

/* A pending piece of a derivation: nonterminal A (alt = -1 - A) deriving n symbols, or the
 * suffix of alternative alt from symbol pos deriving n symbols. */
typedef struct sp_cfg_task {
    int32_t alt; /* alternative index, or SP_CFG_NT(A) for nonterminal A */
    int32_t pos; /* symbol position in alt where the suffix starts; 0 for a nonterminal */
    int32_t n;   /* length of the string it derives */
} sp_cfg_task;

/* The Earley parse kept between next() and accepts() calls (defined in cfg.c). */
typedef struct sp_cfg_parse sp_cfg_parse;

/* Counting. Columns: N(A, n), the number of derivations of length-n strings from nonterminal A
 * (column A), and M(j, q, n), the same for the suffix of alternative j that starts at symbol
 * position q (column nnt + row). Rows exist only for suffixes that start with a nonterminal and
 * hold at least one more nonterminal; every other suffix count is read off them (a terminal run
 * shifts the length, a lone nonterminal followed by terminals is its N column): see
 * sp_cfg_suffix_count. Within one length, columns are computed in `order`, which puts every
 * column a column reads at the same length first; such reads happen only through unit and
 * nullable steps, so the order exists exactly when no nonterminal derives itself (checked at
 * load). */
typedef struct sp_cfg {
    sp_cfg_grammar g;   /* owned */
    size_t nrows;       /* suffixes with a stored column */
    int32_t *row_at;    /* [alt_off[nalt]]: row of the suffix starting at that symbol, or -1 */
    uint32_t *next_nt;  /* [nitems]: for item (j, p), the first position >= p of j holding a
                         * nonterminal, or len(j) */
    uint32_t *row_alt;  /* [nrows]: the alternative of each row's suffix */
    uint32_t *row_pos;  /* [nrows]: the position in it where the suffix starts */
    size_t ncols;       /* nnt + nrows */
    uint32_t *order;    /* [ncols] */
    long double *tab;   /* [tab_len * ncols], length-major: tab[n * ncols + column] */
    size_t tab_len;     /* lengths allocated in tab */
    size_t nbuilt;      /* lengths 0..nbuilt-1 are filled; the rest of tab is zero */
    uint64_t work;      /* table work done, in multiply-adds: charged to the ambiguity search */
    uint64_t max_work;  /* SP_CFG_MAX_WORK and SP_CFG_MAX_TABLE_BYTES; lowered only by tests */
    size_t max_table_bytes;
    sp_cfg_task *stack; /* [stack_cap] sampling scratch, kept between samples */
    size_t stack_cap;
    sp_cfg_parse *parse; /* owned; behind a pointer because next() and accepts() update it
                          * through a const sp_cfg (see cfg.c) */
} sp_cfg;

/* The count of column col at length n (col < ncols, n < tab_len). */
#define SP_CFG_TAB(c, n, col) ((c)->tab[(size_t)(n) * (c)->ncols + (col)])

/* Number of symbols in alternative j. */
static inline size_t sp_cfg_alt_len(const sp_cfg_grammar *g, size_t j)
{
    return g->alt_off[j + 1] - g->alt_off[j];
}

/* cfg_count.c. All functions here take a grammar already reduced by the loader (every
 * nonterminal productive and reachable, g.nullable and the dotted items filled). */

/* Lay out the rows: fill nrows, row_at, next_nt, row_alt, row_pos and ncols. */
void sp_cfg_make_rows(sp_cfg *c);

/* Fill c->order (after sp_cfg_make_rows). If no order exists, some nonterminal derives itself
 * through unit and nullable steps: an error naming the cycle, reported at the rule of its
 * nonterminal that comes first in the file (rule_key[A]: the YAML key of A's rule, [nnt]). */
int sp_cfg_order_columns(sp_cfg *c, const sp_yaml_doc *doc, const sp_yaml_node *const *rule_key,
                         sp_error *err);

/* Derivations of a string of length n from the suffix of alternative j starting at position p.
 * Reads tab at lengths <= n only; n < nbuilt, or n is the length being built and every column
 * it reads at length n has been computed. */
long double sp_cfg_suffix_count(const sp_cfg *c, size_t j, size_t p, size_t n);

/* Fill the tables up to length max_len (after sp_cfg_order_columns). SP_ELIMIT, with a message
 * naming `file` in err (err may be NULL), if a count overflows long double; the tables then stay
 * valid up to the length before. Does not check max_work and max_table_bytes (prepare does;
 * the ambiguity search has a smaller budget of its own), but never allocates more than
 * max_table_bytes for lengths that fit in it. */
int sp_cfg_extend_tables(sp_cfg *c, size_t max_len, const char *file, sp_error *err);

/* The prepare, count and sample operations of the cfg kind (see sp_lang_ops). Prepare fails
 * with SP_ELIMIT, before building anything, when the tables up to max_len would exceed max_work
 * or max_table_bytes; the tables already built stay valid. */
int sp_cfg_prepare(sp_lang *lang, size_t max_len, sp_error *err);
long double sp_cfg_count(const sp_lang *lang, size_t n);
void sp_cfg_sample(sp_lang *lang, size_t n, gsl_rng *r, int *out);

/* cfg_ambig.c. Search strings of lengths 0, 1, ... (up to a length and work budget, see
 * docs/kinds/cfg.md) for one with two derivations from the start symbol, after
 * sp_cfg_order_columns; extends the count tables as it goes. SP_OK if none is found, otherwise
 * an error at start_key (the YAML key of the start rule) giving the string, or the length whose
 * derivation count overflows long double. */
int sp_cfg_check_ambiguity(sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *start_key,
                           sp_error *err);

#endif
