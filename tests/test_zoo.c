/* Every grammar file in grammars/: metadata, the required languages present, counts to length
 * 500, and the full brute-force cross-check (sp_check_lang) with no failure. */
#include "testutil.h"

#include "satprobe/check.h"
#include "satprobe/rng.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const required[] = {
    "tomita-1", "tomita-2", "tomita-3", "tomita-4", "tomita-5", "tomita-6", "tomita-7",
    "parity", "aa-star", "aaaa-star", "abab-star", "d2", "d4", "even-pairs", "first",
    "dyck-1", "dyck-2", "dyck-2-3", "shuffle-2", "shuffle-4", "anbn", "anbncn", "anbncndn",
    "majority", "boolean-3", "marked-reversal", "palindromes", NULL};

typedef struct zoo {
    size_t n;
    char names[128][64];
} zoo;

static zoo the_zoo;

static int cmp_name(const void *a, const void *b) { return strcmp(a, b); }

static int setup(void **state)
{
    (void)state;
    DIR *d = opendir(tu_src_path("grammars"));
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") || the_zoo.n == 128) continue;
        snprintf(the_zoo.names[the_zoo.n++], 64, "%.*s", (int)(len - 5), e->d_name);
    }
    closedir(d);
    qsort(the_zoo.names, the_zoo.n, sizeof the_zoo.names[0], cmp_name);
    return 0;
}

static void test_required_present(void **state)
{
    (void)state;
    for (const char *const *r = required; *r; r++) {
        bool found = false;
        for (size_t i = 0; i < the_zoo.n && !found; i++) found = !strcmp(the_zoo.names[i], *r);
        if (!found) fail_msg("grammars/%s.yaml is missing", *r);
    }
}

static void test_metadata(void **state)
{
    (void)state;
    for (size_t i = 0; i < the_zoo.n; i++) {
        sp_lang *lang = tu_load_zoo(the_zoo.names[i]);
        if (strcmp(sp_lang_name(lang), the_zoo.names[i]))
            fail_msg("grammars/%s.yaml says name: %s", the_zoo.names[i], sp_lang_name(lang));
        if (!*sp_lang_description(lang) || !*sp_lang_source(lang))
            fail_msg("%s needs a description and a source", the_zoo.names[i]);
        assert_false(sp_lang_counts_derivations(lang));
        sp_lang_destroy(lang);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Counts to 500 exist, are finite, and samples at 100 and 500 are members. */
static void test_counts_to_500(void **state)
{
    (void)state;
    int *s = malloc(501 * sizeof *s);
    gsl_rng *r = sp_rng_new(5);
    for (size_t i = 0; i < the_zoo.n; i++) {
        sp_lang *lang = tu_load_zoo(the_zoo.names[i]);
        double t0 = now();
        sp_error err;
        assert_int_equal(sp_lang_prepare(lang, 500, &err), SP_OK);
        long double total = 0;
        for (size_t n = 0; n <= 500; n++) {
            long double c = sp_lang_count(lang, n);
            assert_true(c >= 0 && isfinite((double)log10l(c + 1)));
            total += c;
        }
        printf("# %-16s counts 0..500 in %7.2f ms\n", the_zoo.names[i], 1e3 * (now() - t0));
        assert_true(total > 0);
        static const size_t lens[] = {100, 500};
        for (size_t j = 0; j < 2; j++) {
            if (!(sp_lang_count(lang, lens[j]) > 0)) continue;
            for (int d = 0; d < 5; d++) {
                assert_int_equal(sp_lang_sample(lang, lens[j], r, s, &err), SP_OK);
                if (!sp_lang_accepts(lang, s, lens[j]))
                    fail_msg("%s: a sample of length %zu is not a member", the_zoo.names[i], lens[j]);
            }
        }
        sp_lang_destroy(lang);
    }
    gsl_rng_free(r);
    free(s);
}

static void test_cross_check(void **state)
{
    (void)state;
    sp_check_options o;
    sp_check_options_default(&o);
    o.max_strings = (size_t)1 << 18; /* the kind tests go further; this keeps the zoo pass short */
    for (size_t i = 0; i < the_zoo.n; i++) {
        sp_lang *lang = tu_load_zoo(the_zoo.names[i]);
        sp_check_result res;
        sp_error err;
        assert_int_equal(sp_check_lang(lang, &o, stderr, &res, &err), SP_OK);
        printf("# %-16s %8zu checks to length %2zu, oracle %-12s chi-square p %.3f (n=%zu, %zu strings)\n",
               the_zoo.names[i], res.checks, res.enumerated_to, res.oracle ? res.oracle : "-",
               res.chisq_p, res.chisq_length, res.chisq_members);
        if (res.failures) fail_msg("%s: %zu checks failed", the_zoo.names[i], res.failures);
        if (sp_lang_get_kind(lang) == SP_KIND_REGULAR) assert_non_null(res.oracle);
        sp_lang_destroy(lang);
    }
}

static void test_determinism(void **state)
{
    (void)state;
    int a[64], b[64];
    for (size_t i = 0; i < the_zoo.n; i++) {
        sp_lang *lang = tu_load_zoo(the_zoo.names[i]);
        size_t n = 0;
        for (size_t len = 40; len > 0 && !n; len--)
            if (sp_lang_count(lang, len) > 0) n = len;
        gsl_rng *r1 = sp_rng_new(42), *r2 = sp_rng_new(42);
        sp_error err;
        for (int d = 0; d < 20; d++) {
            assert_int_equal(sp_lang_sample(lang, n, r1, a, &err), SP_OK);
            assert_int_equal(sp_lang_sample(lang, n, r2, b, &err), SP_OK);
            assert_memory_equal(a, b, n * sizeof *a);
        }
        gsl_rng_free(r1);
        gsl_rng_free(r2);
        sp_lang_destroy(lang);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_required_present),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_counts_to_500),
        cmocka_unit_test(test_cross_check),
        cmocka_unit_test(test_determinism),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
