/* Regexes in a PCRE2 subset, parsed and compiled to a Thompson NFA over an alphabet of one-byte
 * symbols. Whole-string matching is implied, so anchors are errors, and so is every construct
 * that is not regular or whose meaning depends on backtracking order. */
#ifndef SATPROBE_REGEX_H
#define SATPROBE_REGEX_H

#include <stddef.h>
#include <stdint.h>

/* Limits that keep compilation bounded on any input (the loader is fuzzed). */
#define SP_REGEX_MAX_LENGTH 100000  /* bytes of regex text */
#define SP_REGEX_MAX_REPEAT 1000    /* largest m or n in {m,n} */
#define SP_REGEX_MAX_DEPTH 200      /* nested groups */
#define SP_REGEX_MAX_NFA 250000     /* NFA states after expanding counted repetitions */

/* What kind of problem a regex has. SYNTAX means our parser could not read it: the caller asks
 * PCRE2 for its own message, and reports ours only when PCRE2 accepts the regex. The others are
 * reported as they are. */
typedef enum sp_regex_fault {
    SP_REGEX_OK,
    SP_REGEX_SYNTAX,      /* malformed, as far as this parser can tell */
    SP_REGEX_UNSUPPORTED, /* a named construct that is not regular or not supported */
    SP_REGEX_ALPHABET,    /* a literal not in the alphabet, or a class matching no symbol of it */
    SP_REGEX_LIMIT,       /* one of the caps above */
} sp_regex_fault;

typedef struct sp_regex_error {
    sp_regex_fault fault;
    size_t offset; /* byte offset in the regex text where the problem starts */
    char msg[512];
} sp_regex_error;

/* A Thompson NFA. A state with set >= 0 moves on any symbol of that set to out[0]; a state with
 * set == -1 has epsilon moves to out[0] and out[1] (-1 where absent). Every state reaches
 * `accept`, and every set holds at least one symbol. */
typedef struct sp_nfa_state {
    int out[2];
    int set;
} sp_nfa_state;

typedef struct sp_nfa {
    size_t n;              /* states */
    size_t k;              /* alphabet size */
    int start, accept;
    sp_nfa_state *states;  /* [n] */
    size_t words;          /* 64-bit words per symbol set: (k + 63) / 64 */
    size_t nsets;
    uint64_t *sets;        /* [nsets * words]; bit a of set i: symbol a is in it */
} sp_nfa;

/* Compile re[0..len) (no NUL needed) into *nfa. byte_sym[b] is the symbol index spelled by byte
 * b, or -1; k symbols. On error returns nonzero with *e filled and nothing left allocated; on
 * success the caller frees the NFA with sp_nfa_free. */
int sp_regex_compile(const char *re, size_t len, const int byte_sym[256], size_t k, sp_nfa *nfa,
                     sp_regex_error *e);
void sp_nfa_free(sp_nfa *nfa);

/* Whether symbol a is in set `set` of nfa. */
static inline int sp_nfa_has(const sp_nfa *nfa, int set, size_t a)
{
    return (int)((nfa->sets[(size_t)set * nfa->words + a / 64] >> (a % 64)) & 1u);
}

#endif
