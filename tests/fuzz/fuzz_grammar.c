/* libFuzzer target: arbitrary bytes into the grammar loader; grammars that load are also
 * counted, sampled and asked for next symbols at short lengths. */
#include "satprobe/lang.h"
#include "satprobe/rng.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sp_lang *lang = NULL;
    sp_error err;
    if (sp_lang_load_buffer("fuzz.yaml", (const char *)data, size, &lang, &err) != SP_OK) return 0;
    enum { N = 12 };
    if (sp_lang_prepare(lang, N, &err) == SP_OK) {
        int s[N];
        bool valid[1024], can_end;
        gsl_rng *r = sp_rng_new(1);
        for (size_t n = 0; n <= N; n++) {
            if (!(sp_lang_count(lang, n) > 0)) continue;
            if (sp_lang_sample(lang, n, r, s, &err) != SP_OK) abort();
            if (!sp_lang_accepts(lang, s, n)) abort();
            for (size_t i = 0; i <= n; i++) {
                if (!sp_lang_next(lang, s, i, valid, &can_end)) abort();
                if (i < n && !valid[s[i]]) abort();
            }
            if (!can_end) abort();
        }
        gsl_rng_free(r);
    }
    sp_lang_destroy(lang);
    return 0;
}
