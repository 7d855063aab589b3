/* Private to src/lang: a context-free grammar in flat arrays, and an Earley recogniser over it
 * that is fed one symbol at a time (membership, prefix viability, next terminals). */
#ifndef SATPROBE_EARLEY_H
#define SATPROBE_EARLEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Symbols inside alternatives: a terminal is its alphabet index (>= 0); nonterminal A is -1 - A. */
#define SP_CFG_NT(a) (-1 - (int)(a))
#define SP_CFG_IS_NT(s) ((s) < 0)
#define SP_CFG_NT_INDEX(s) ((size_t)(-1 - (s)))
/* item_sym of an item whose dot is at the end of its alternative. */
#define SP_CFG_END INT32_MIN

/* A grammar. cfg.c fills the first block and owns every array; sp_cfg_grammar_index fills the
 * dotted items; sp_cfg_grammar_free releases all of it. The recogniser assumes a reduced grammar
 * (every nonterminal productive and reachable from start), which the cfg loader guarantees:
 * then every item in an Earley set extends to a member, so "set non-empty" means "viable". */
typedef struct sp_cfg_grammar {
    size_t k;         /* terminals are 0..k-1 */
    size_t nnt;       /* nonterminals are 0..nnt-1 */
    size_t nalt;      /* alternatives 0..nalt-1, grouped by left side in nonterminal order */
    size_t start;     /* start nonterminal */
    size_t *nt_alt;   /* [nnt + 1]: the alternatives of A are nt_alt[A] .. nt_alt[A + 1) */
    size_t *alt_lhs;  /* [nalt] */
    size_t *alt_off;  /* [nalt + 1]: alternative j is sym[alt_off[j] .. alt_off[j + 1]) */
    int *sym;         /* [alt_off[nalt]] */
    bool *nullable;   /* [nnt]: A derives the empty string */

    /* Alternative j with the dot before its symbol d (0 <= d <= len) is item alt_off[j] + j + d. */
    size_t nitems;
    int *item_sym;     /* [nitems]: symbol after the dot, SP_CFG_END at the end */
    uint32_t *item_alt; /* [nitems] */
} sp_cfg_grammar;

/* Fill nitems, item_sym and item_alt from the first block. */
void sp_cfg_grammar_index(sp_cfg_grammar *g);
void sp_cfg_grammar_free(sp_cfg_grammar *g);

/* An Earley parse of a growing prefix. It keeps a pointer to g (which must outlive it) and owns
 * its sets; one parser serves one thread. Sets are closed (predicted and completed, with the
 * Aycock-Horspool step over nullable nonterminals) as soon as they are made, so every query is
 * about the prefix fed so far. Time per fed symbol is O(|G| * length) for most grammars and
 * O(|G| * length^2) at worst; memory is O(|G| * length^2) at worst. */
typedef struct sp_earley sp_earley;

/* A parser positioned at the empty prefix. */
sp_earley *sp_earley_new(const sp_cfg_grammar *g);
void sp_earley_destroy(sp_earley *e);

/* Number of symbols fed since the empty prefix. */
size_t sp_earley_length(const sp_earley *e);

/* Extend the prefix by terminal a (0 <= a < k). Returns whether the prefix is still viable
 * (a prefix of some member); feeding a dead prefix keeps it dead. */
bool sp_earley_feed(sp_earley *e, int a);

/* Go back to the prefix of the first len symbols (len <= sp_earley_length). Cheap: the sets of
 * that prefix are kept, so a depth-first walk over prefixes reuses them. */
void sp_earley_truncate(sp_earley *e, size_t len);

/* Whether the current prefix is a prefix of some member. */
bool sp_earley_viable(const sp_earley *e);

/* Whether the current prefix is a member. */
bool sp_earley_accepting(const sp_earley *e);

/* valid[a] (k entries) = whether prefix . a is a prefix of some member. */
void sp_earley_scannable(const sp_earley *e, bool *valid);

/* One-shot membership of s[0..n). */
bool sp_earley_recognise(const sp_cfg_grammar *g, const int *s, size_t n);

#endif
