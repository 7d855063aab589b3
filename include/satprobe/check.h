/* Cross-checks of a language's own operations against each other and against its oracle, by
 * brute-force enumeration of short strings. Used by `satprobe check`. */
#ifndef SATPROBE_CHECK_H
#define SATPROBE_CHECK_H

#include "satprobe/lang.h"

#include <stdio.h>

typedef struct sp_check_options {
    size_t max_length;      /* enumerate all strings up to this length ... */
    size_t max_strings;     /* ... but at most this many per length (longer lengths are skipped) */
    size_t next_length;     /* check next() on every string up to this length */
    size_t samples;         /* samples drawn per length 0..20 and at 50, 100 (membership checked) */
    size_t chisq_draws;     /* draws per member for the chi-square test */
    unsigned long seed;
} sp_check_options;

/* 12, 2^20, 8, 200, 50, 1. */
void sp_check_options_default(sp_check_options *opts);

/* What was checked and what failed. Each failed check adds one line to `log`. */
typedef struct sp_check_result {
    size_t checks;          /* individual comparisons made */
    size_t failures;        /* comparisons that disagreed */
    size_t enumerated_to;   /* longest length fully enumerated */
    const char *oracle;     /* name of the oracle used, or NULL */
    double chisq_p;         /* p-value of the uniformity test, or -1 if no length qualified */
    size_t chisq_length;    /* the length it was run at */
    size_t chisq_members;   /* members at that length */
} sp_check_result;

/* Run every check; failures are described on `log` (one line each, at most 20 per kind of check).
 * Returns SP_OK when the checks could run (res->failures says whether they passed), or an error
 * when the language could not be prepared (too large to count). */
int sp_check_lang(sp_lang *lang, const sp_check_options *opts, FILE *log, sp_check_result *res,
                  sp_error *err);

#endif
