/* Shared helpers for the cmocka test executables: loading languages, enumerating strings,
 * chi-square uniformity of samplers, and expected-error checks. */
#ifndef SATPROBE_TESTUTIL_H
#define SATPROBE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "satprobe/lang.h"

/* Absolute path of a file under the source tree ("grammars/dyck-1.yaml"). Static buffer. */
const char *tu_src_path(const char *rel);

/* Load a language from grammars/NAME.yaml, from a path, or from YAML text; fail the test on error. */
sp_lang *tu_load_zoo(const char *name);
sp_lang *tu_load_path(const char *path);
sp_lang *tu_load_text(const char *yaml);

/* Loading `yaml` must fail with a message containing `needle` at line:col (col 0: any column). */
void tu_expect_error(const char *yaml, int line, int col, const char *needle);

/* Step s[0..n) to the next string over k symbols in lexicographic order; false after the last. */
bool tu_next_string(int *s, size_t n, size_t k);

/* k^n, or SIZE_MAX if it exceeds limit. */
size_t tu_pow_capped(size_t k, size_t n, size_t limit);

/* Parse "a b c" into syms (at most cap); fail the test on an unknown symbol. Returns the length. */
size_t tu_parse(const sp_lang *lang, const char *text, int *syms, size_t cap);

/* Chi-square goodness of fit of `draws` samples of length n against the uniform distribution
 * over all members of length n (found by enumerating every string of length n). Returns the
 * p-value (gsl_cdf_chisq_Q); *members receives the number of members. */
double tu_chisq_uniform(sp_lang *lang, size_t n, size_t draws, unsigned long seed, size_t *members);

/* A test group's scratch directory: tu_tmp_dir_make creates /tmp/sp-PREFIX-XXXXXX (0 on
 * success, as cmocka's group setup returns), tu_tmp_dir_remove deletes it and everything in it,
 * tu_tmp_dir names it, and tu_tmp_path(name) is DIR/name in one of 4 rotating static buffers
 * (so a few can be live at once). */
int tu_tmp_dir_make(const char *prefix);
int tu_tmp_dir_remove(void);
const char *tu_tmp_dir(void);
const char *tu_tmp_path(const char *name);

/* A probe parsed from yaml with the source tree as its base; a parse error fails the test. */
struct sp_probe;
struct sp_probe *tu_parse_probe(const char *yaml);

#endif
