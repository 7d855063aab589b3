/* Formal languages loaded from YAML. Whatever its kind, a language offers the same operations:
 * membership, the number of strings of each length, uniform sampling at a length, the valid next
 * symbols after a prefix, and its alphabet and metadata. Everything downstream uses only these.
 *
 * Strings are sequences of symbol indices (int, 0 <= s[i] < sp_lang_alphabet_size). As text,
 * symbols are separated by single spaces; the empty line is the empty string.
 *
 * Counts are long double. On x86-64 that is the 80-bit format with a 64-bit mantissa: every count
 * below 2^64 is exact (all partial sums of a count are at most the count itself), and larger
 * counts carry a relative error of at most about (number of additions) * 2^-64, i.e. below 1e-15
 * at length 500. The exponent range (to ~1e4932) holds every count we produce at length 500.
 *
 * Ownership: sp_lang_load returns a language the caller destroys with sp_lang_destroy. Strings
 * returned by the metadata getters belong to the language. A language is not safe to share
 * between threads: counting and sampling fill internal tables on demand, and membership and
 * next symbols may keep state between calls (even through a const sp_lang). */
#ifndef SATPROBE_LANG_H
#define SATPROBE_LANG_H

#include "satprobe/error.h"

#include <gsl/gsl_rng.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct sp_lang sp_lang;

typedef enum sp_lang_kind {
    SP_KIND_REGULAR,
    SP_KIND_DYCK,
    SP_KIND_COUNTER,
    SP_KIND_CFG,
} sp_lang_kind;

typedef enum sp_lang_class {
    SP_CLASS_REGULAR,
    SP_CLASS_COUNTER,
    SP_CLASS_CONTEXT_FREE,
    SP_CLASS_CONTEXT_SENSITIVE,
} sp_lang_class;

/* Longest string length counting and sampling support. */
#define SP_LANG_MAX_LENGTH 100000

/* Load a language from a YAML file / from a buffer (`name` is used in error messages). */
int sp_lang_load(const char *path, sp_lang **out, sp_error *err);
int sp_lang_load_buffer(const char *name, const char *text, size_t len, sp_lang **out,
                        sp_error *err);
void sp_lang_destroy(sp_lang *lang);

const char *sp_lang_name(const sp_lang *lang);
const char *sp_lang_description(const sp_lang *lang);
const char *sp_lang_source(const sp_lang *lang); /* literature reference; "" if none */
const char *sp_lang_file(const sp_lang *lang);
sp_lang_kind sp_lang_get_kind(const sp_lang *lang);
sp_lang_class sp_lang_get_class(const sp_lang *lang);
const char *sp_lang_kind_name(sp_lang_kind kind);
const char *sp_lang_class_name(sp_lang_class cls);

/* True when counts and samples are over derivations rather than strings (a CFG with
 * `ambiguous: allow`). */
bool sp_lang_counts_derivations(const sp_lang *lang);

size_t sp_lang_alphabet_size(const sp_lang *lang);
const char *sp_lang_symbol(const sp_lang *lang, int sym);
/* Index of the symbol spelled s[0..len), or -1. */
int sp_lang_symbol_index(const sp_lang *lang, const char *s, size_t len);

/* 1. Membership. */
bool sp_lang_accepts(const sp_lang *lang, const int *s, size_t n);

/* Make counting and sampling ready for every length up to max_len. Optional: count and sample
 * call it themselves; call it first to get the error when a language is too large to count. */
int sp_lang_prepare(sp_lang *lang, size_t max_len, sp_error *err);

/* 2. Number of strings of length n; -1 if the tables for n could not be built (see prepare). */
long double sp_lang_count(sp_lang *lang, size_t n);

/* 3. Write a uniformly random member of length n into out[0..n). Returns SP_OK, or SP_EINPUT
 * (with err set) when the language has no string of length n or n is too large. */
int sp_lang_sample(sp_lang *lang, size_t n, gsl_rng *r, int *out, sp_error *err);

/* 4. After prefix p[0..n): valid[a] (alphabet_size entries) says whether p·a is a prefix of some
 * member; *can_end whether p itself is a member. Returns whether p is a prefix of some member
 * (false means every valid[a] and *can_end are false). */
bool sp_lang_next(const sp_lang *lang, const int *p, size_t n, bool *valid, bool *can_end);

/* Split a line of space-separated symbols into *buf (grown as needed, capacity in *cap; the
 * caller frees *buf). The empty line is the empty string. Unknown symbols and double spaces are
 * errors whose column (1-based, in bytes) points at the offending text; file and line are left
 * for the caller to fill. */
int sp_lang_parse_string(const sp_lang *lang, const char *line, size_t len, int **buf, size_t *cap,
                         size_t *n, sp_error *err);

/* Write s[0..n) as space-separated symbols (no newline). */
void sp_lang_write_string(const sp_lang *lang, FILE *f, const int *s, size_t n);

/* Format a count as `count` prints it: the exact integer when below 2^64, otherwise %.17Lg. */
void sp_lang_format_count(long double c, char *buf, size_t size);

#endif
