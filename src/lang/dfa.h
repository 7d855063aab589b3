/* Deterministic finite automata: subset construction from an NFA, trimming and minimisation,
 * tables of the number of accepted strings by length, and exactly uniform sampling. */
#ifndef SATPROBE_DFA_H
#define SATPROBE_DFA_H

#include "regex.h"
#include "satprobe/error.h"

#include <gsl/gsl_rng.h>
#include <stdbool.h>
#include <stddef.h>

/* Caps that bound time and memory on any input. */
#define SP_DFA_MAX_STATES 100000
#define SP_DFA_MAX_CELLS ((size_t)1 << 22)    /* states * symbols of a transition table */
#define SP_DFA_MAX_WORK ((size_t)3000000)     /* elementary steps of one subset construction,
                                               * about 30 ms */
#define SP_DFA_MAX_TABLE ((size_t)1 << 23)    /* count-table entries (16 bytes each):
                                               * states * (lengths + 1) */

/* A DFA over symbols 0..k-1. Missing transitions (-1) go to an implicit rejecting sink.
 *
 * After sp_dfa_minimize the automaton is minimal and trimmed: every state is reachable from
 * start (state 0) and reaches an accepting state, so a string leads to a state exactly when it
 * is a prefix of some member. States are numbered in breadth-first order from the start, taking
 * symbols in order, which makes equal languages give identical automata.
 *
 * Count tables (sp_dfa_prepare): row m holds, for each state q, the number of strings of
 * length m that lead from q to acceptance, as cnt[m * n + q] * 2^scale[m]. Rows are rescaled
 * by powers of two (exactly) when they grow past 2^12000, so sampling works at every length
 * even where the counts themselves overflow long double. Every positive entry is a normal
 * number (prepare fails otherwise), so a state with strings always has a successor with some. */
typedef struct sp_dfa {
    size_t n, k;
    int start;
    int *delta;   /* [n * k]: delta[q * k + a] is the next state or -1 */
    bool *accept; /* [n] */

    /* Out-edges in symbol order, built by sp_dfa_minimize; used by counting and sampling. */
    size_t *eoff; /* [n + 1]: edges of q are eoff[q] .. eoff[q + 1] - 1 */
    int *esym;    /* [edges] */
    int *eto;     /* [edges] */

    size_t rows;       /* count-table rows filled: lengths 0 .. rows - 1 */
    long double *cnt;  /* [rows * n] */
    long *scale;       /* [rows] */
    long double *w;    /* [k] sampling scratch */
} sp_dfa;

typedef enum sp_dfa_build {
    SP_DFA_BUILT,
    SP_DFA_TOO_MANY_STATES, /* more than SP_DFA_MAX_STATES or SP_DFA_MAX_CELLS */
    SP_DFA_TOO_MUCH_WORK,   /* more than SP_DFA_MAX_WORK steps */
} sp_dfa_build;

/* n states over k symbols, every transition missing, no state accepting, start 0. The caller
 * owns the DFA and releases it with sp_dfa_free. n * k must be at most SP_DFA_MAX_CELLS. */
void sp_dfa_init(sp_dfa *d, size_t n, size_t k);
void sp_dfa_free(sp_dfa *d);

/* Subset construction. On SP_DFA_BUILT *out holds a DFA (not minimal) the caller frees;
 * otherwise nothing is left allocated. */
sp_dfa_build sp_dfa_from_nfa(const sp_nfa *nfa, sp_dfa *out);

/* Trim and minimise `in` (Valmari's partition refinement, O(m log n) for m transitions) into a
 * new DFA *out the caller frees. out->n == 0 when the language is empty. */
void sp_dfa_minimize(const sp_dfa *in, sp_dfa *out);

/* The state reached on s[0..len) from the start, or -1 (the sink). */
int sp_dfa_run(const sp_dfa *d, const int *s, size_t len);

/* States of the complete minimal DFA: the live states plus the sink if any transition is
 * missing. */
size_t sp_dfa_complete_states(const sp_dfa *d);

/* Fill count rows up to max_len (keeping the rows already there). SP_ELIMIT with err set (file
 * names the language) if the table would exceed SP_DFA_MAX_TABLE entries, or if counts at one
 * length span more than long double's range. Needs a minimised DFA with n > 0. */
int sp_dfa_prepare(sp_dfa *d, size_t max_len, const char *file, sp_error *err);

/* Number of accepted strings of length len (len < rows); +inf beyond long double's range. */
long double sp_dfa_count(const sp_dfa *d, size_t len);

/* A uniformly random accepted string of length len into out[0..len). Needs len < rows and a
 * positive count. Allocates nothing. */
void sp_dfa_sample(sp_dfa *d, size_t len, gsl_rng *r, int *out);

#endif
