/* Placeholder until the regular kind lands. */
#include "satprobe/oracle.h"

int sp_oracle_new(const sp_lang *lang, sp_oracle **out, sp_error *err)
{
    (void)lang;
    (void)err;
    *out = NULL;
    return SP_OK;
}
void sp_oracle_destroy(sp_oracle *oracle) { (void)oracle; }
const char *sp_oracle_name(const sp_oracle *oracle) { (void)oracle; return ""; }
bool sp_oracle_accepts(sp_oracle *oracle, const int *s, size_t n) { (void)oracle; (void)s; (void)n; return false; }
bool sp_oracle_viable(sp_oracle *oracle, const int *p, size_t n) { (void)oracle; (void)p; (void)n; return false; }
