/* The hand-built constructions in probes/constructions/ recognize their languages exactly in
 * every mode they claim (saturated at least): every string of lengths 0..12, and 1,000
 * positives and 1,000 near misses at each of lengths 50, 100, 200, 500 (the next longer length
 * where a listed one has no string). What soft and hard attention do on the same strings is
 * printed. Suite slow: Shuffle-2's 22 million strings take about a minute per mode. */
#include "testutil.h"

#include "satprobe/construct.h"
#include "satprobe/eval.h"

#include <stdio.h>
#include <string.h>

static void check(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "probes/constructions/%s.yaml", name);
    sp_construction *c;
    sp_error err;
    sp_error_clear(&err);
    if (sp_construction_load(tu_src_path(rel), &c, &err)) fail_msg("%s:%d:%d: %s", err.file, err.line, err.col, err.msg);
    sp_lang *lang = tu_load_path(c->language);
    sp_evalset_lang_options o;
    sp_evalset_lang_defaults(&o);
    sp_evalset es;
    assert_int_equal(sp_evalset_from_lang(&es, lang, &o, &err), SP_OK);
    const char *names[] = {"saturated", "hard", "soft"};
    sp_mode modes[3];
    for (int i = 0; i < 3; i++) assert_int_equal(sp_mode_parse(names[i], SP_TIE_TOLERANCE, &modes[i], &err), SP_OK);
    sp_eval_result r;
    assert_int_equal(sp_eval_run(c->model, &es, modes, 3, SP_EVAL_RECOGNIZE, 256, false, NULL, NULL, &r, &err), SP_OK);
    printf("%s (claims", name);
    for (size_t i = 0; i < c->nclaims; i++) {
        char m[48];
        sp_mode_format(&c->claims[i], m, sizeof m);
        printf(" %s", m);
    }
    printf(")\n  %-14s %9s %9s %10s %10s %10s\n", "bin", "strings", "positives", "saturated", "hard", "soft");
    bool claimed_sat = false;
    for (size_t i = 0; i < c->nclaims; i++) claimed_sat |= c->claims[i].kind == SP_ATTN_SATURATED;
    assert_true(claimed_sat);
    for (size_t b = 0; b < r.nbins; b++) {
        printf("  %-14s %9llu %9llu", es.bin_name[b], (unsigned long long)r.n[b], (unsigned long long)r.positives[b]);
        for (int mi = 0; mi < 3; mi++) printf(" %9.4f%%", 100.0 * (double)r.correct[mi * r.nbins + b] / (double)r.n[b]);
        printf("\n");
        if (b > 0) assert_int_equal(r.n[b], 2000);
        for (size_t i = 0; i < c->nclaims; i++)
            for (int mi = 0; mi < 3; mi++)
                if (modes[mi].kind == c->claims[i].kind && r.correct[mi * r.nbins + b] != r.n[b])
                    fail_msg("%s claims %s but gets %llu of %llu in bin %s", name, names[mi],
                             (unsigned long long)r.correct[mi * r.nbins + b], (unsigned long long)r.n[b], es.bin_name[b]);
    }
    fflush(stdout);
    sp_eval_result_free(&r);
    sp_evalset_free(&es);
    sp_lang_destroy(lang);
    sp_construction_destroy(c);
}

static void test_majority(void **state) { (void)state; check("majority"); }
static void test_dyck1(void **state) { (void)state; check("dyck-1"); }
static void test_anbn(void **state) { (void)state; check("anbn"); }
static void test_anbncn(void **state) { (void)state; check("anbncn"); }
static void test_shuffle2(void **state) { (void)state; check("shuffle-2"); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_majority), cmocka_unit_test(test_dyck1),    cmocka_unit_test(test_anbn),
        cmocka_unit_test(test_anbncn),   cmocka_unit_test(test_shuffle2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
