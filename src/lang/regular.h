/* Private to src/lang (and the tests): the regular kind's state, which the oracle reads. */
#ifndef SATPROBE_REGULAR_H
#define SATPROBE_REGULAR_H

#include "dfa.h"
#include "lang_impl.h"

typedef struct sp_regular {
    sp_dfa dfa;              /* minimal and trimmed: membership, next, counts, samples */
    char *regex;             /* regex: text as written (regex_len bytes + NUL); NULL for dfa: */
    size_t regex_len;
    unsigned char *sym_byte; /* [k] regex: the byte that spells each symbol; NULL for dfa: */
    sp_dfa written;          /* dfa: the automaton exactly as written; n == 0 for regex: */
    size_t subset_states;    /* regex: DFA states before minimisation */
} sp_regular;

/* The regular kind's state of lang, or NULL when lang is of another kind. */
const sp_regular *sp_regular_of(const sp_lang *lang);

#endif
