/* Independent second routes to membership and prefix viability, used to cross-check a language's
 * own implementation: PCRE2 (compiled from the same regex) for `regex:` languages, the DFA exactly
 * as written (before minimisation) for `dfa:` languages. Other kinds have no oracle here. */
#ifndef SATPROBE_ORACLE_H
#define SATPROBE_ORACLE_H

#include "satprobe/lang.h"

typedef struct sp_oracle sp_oracle;

/* *out is NULL (and SP_OK is returned) when the language's kind has no oracle. The oracle keeps
 * a pointer to lang; destroy the oracle first. */
int sp_oracle_new(const sp_lang *lang, sp_oracle **out, sp_error *err);
void sp_oracle_destroy(sp_oracle *oracle);

/* "PCRE2" or "written DFA". */
const char *sp_oracle_name(const sp_oracle *oracle);

bool sp_oracle_accepts(sp_oracle *oracle, const int *s, size_t n);

/* Whether p[0..n) is a prefix of some member (PCRE2: a full or partial match). */
bool sp_oracle_viable(sp_oracle *oracle, const int *p, size_t n);

#endif
