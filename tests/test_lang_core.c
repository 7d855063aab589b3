/* The generic language layer: common keys and their errors, string parsing and printing, count
 * formatting, argument handling of count/sample. */
#include "testutil.h"

#include "satprobe/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD "name: t\ndescription: d\nclass: context-free\n"

static void test_common_errors(void **state)
{
    (void)state;
    tu_expect_error("description: d\nclass: regular\nalphabet: [a]\nkind: regular\nregex: a\n", 1, 1,
                    "missing required key 'name'");
    tu_expect_error(HEAD "alphabet: [a, 'b c']\nkind: dyck\n", 4, 15, "contains white space");
    tu_expect_error(HEAD "alphabet: [a, $]\nkind: dyck\n", 4, 15, "'$' cannot be a symbol");
    tu_expect_error(HEAD "alphabet: [a, [b]]\nkind: dyck\n", 4, 15, "must be a string");
    tu_expect_error(HEAD "alphabet: {a: b}\nkind: dyck\n", 4, 11, "alphabet must be a list");
    tu_expect_error(HEAD "alphabet: [a]\nkind: [dyck]\n", 5, 7, "kind must be a string");
    tu_expect_error("- a\n- b\n", 1, 1, "a language file must be a mapping");
    tu_expect_error(HEAD "alphabet: [a, b, a]\nkind: dyck\n", 4, 18, "duplicate alphabet symbol 'a' (also at 4:12)");
    /* Errors inside scalars point at the character written, whatever the quoting. */
    tu_expect_error("name: t\ndescription: d\nclass: regular\nalphabet: [a, b, \"'\"]\nkind: regular\n"
                    "regex: 'a''b''x'\n", 6, 15, "'x' is not in the alphabet");
    tu_expect_error("name: t\ndescription: d\nclass: regular\nalphabet: [a, b]\nkind: regular\n"
                    "regex: |-\n  abax\n", 7, 6, "'x' is not in the alphabet");
    tu_expect_error("name: t\ndescription: d\nclass: regular\nalphabet: [a, b]\nkind: regular\n"
                    "regex: |\n  ab\n", 7, 5, "write '|-'");
    tu_expect_error("name: t\ndescription: d\nclass: context-free\nalphabet: [a, b]\nkind: cfg\n"
                    "rules:\n  S: [\"a\\tS b\", \"b X\"]\n", 7, 20, "undefined nonterminal 'X'");
    tu_expect_error("name: [x]\ndescription: d\nclass: regular\nalphabet: [a]\nkind: regular\n", 1, 7,
                    "name must be a string");
}

static const char *dyck_yaml = HEAD "alphabet: ['(', ')', '[', ']']\nkind: dyck\n"
                                    "pairs: [['(', ')'], ['[', ']']]\nsource: test\n";

static void test_metadata(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_text(dyck_yaml);
    assert_string_equal(sp_lang_name(lang), "t");
    assert_string_equal(sp_lang_description(lang), "d");
    assert_string_equal(sp_lang_source(lang), "test");
    assert_string_equal(sp_lang_file(lang), "<test>");
    assert_int_equal(sp_lang_get_kind(lang), SP_KIND_DYCK);
    assert_int_equal(sp_lang_get_class(lang), SP_CLASS_CONTEXT_FREE);
    assert_string_equal(sp_lang_class_name(SP_CLASS_CONTEXT_SENSITIVE), "context-sensitive");
    assert_string_equal(sp_lang_kind_name(SP_KIND_CFG), "cfg");
    assert_int_equal(sp_lang_alphabet_size(lang), 4);
    assert_string_equal(sp_lang_symbol(lang, 2), "[");
    assert_int_equal(sp_lang_symbol_index(lang, "]", 1), 3);
    assert_int_equal(sp_lang_symbol_index(lang, "]]", 2), -1);
    sp_lang_destroy(lang);
}

static void test_parse_and_write(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_text(dyck_yaml);
    int *buf = NULL;
    size_t cap = 0, n;
    sp_error err;
    assert_int_equal(sp_lang_parse_string(lang, "( [ ] )", 7, &buf, &cap, &n, &err), SP_OK);
    assert_int_equal(n, 4);
    assert_int_equal(buf[0], 0);
    assert_int_equal(buf[1], 2);
    assert_int_equal(sp_lang_parse_string(lang, "", 0, &buf, &cap, &n, &err), SP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sp_lang_parse_string(lang, "( x", 3, &buf, &cap, &n, &err), SP_EINPUT);
    assert_int_equal(err.col, 3);
    assert_non_null(strstr(err.msg, "'x' is not a symbol of t"));
    assert_int_equal(sp_lang_parse_string(lang, "(  )", 4, &buf, &cap, &n, &err), SP_EINPUT);
    assert_int_equal(err.col, 3);
    assert_int_equal(sp_lang_parse_string(lang, "( ", 2, &buf, &cap, &n, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "trailing space"));
    assert_int_equal(sp_lang_parse_string(lang, " (", 2, &buf, &cap, &n, &err), SP_EINPUT);
    assert_int_equal(err.col, 1);

    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    int s[] = {0, 2, 3, 1};
    sp_lang_write_string(lang, f, s, 4);
    fclose(f);
    assert_string_equal(text, "( [ ] )");
    free(text);
    free(buf);
    sp_lang_destroy(lang);
}

static void test_format_count(void **state)
{
    (void)state;
    char buf[64];
    sp_lang_format_count(0, buf, sizeof buf);
    assert_string_equal(buf, "0");
    sp_lang_format_count(18446744073709551615.0L, buf, sizeof buf);
    assert_string_equal(buf, "18446744073709551615");
    sp_lang_format_count(0x1p64L, buf, sizeof buf);
    assert_string_equal(buf, "1.8446744073709552e+19");
    sp_lang_format_count(1e57L, buf, sizeof buf);
    assert_string_equal(buf, "1e+57");
}

static void test_sample_errors(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_text(dyck_yaml);
    int s[8];
    sp_error err;
    gsl_rng *r = sp_rng_new(1);
    assert_int_equal(sp_lang_sample(lang, 3, r, s, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "no strings of length 3"));
    assert_int_equal(sp_lang_prepare(lang, SP_LANG_MAX_LENGTH + 1, &err), SP_ELIMIT);
    assert_true(sp_lang_count(lang, SP_LANG_MAX_LENGTH + 1) < 0);
    assert_true(sp_lang_count(lang, 2) == 2);
    gsl_rng_free(r);
    sp_lang_destroy(lang);
}

/* A kind limit between the asked length and the doubled one must not refuse the asked length:
 * Shuffle-Dyck tables stop at 4096, so 2200 after 2100 (doubled: 4200) still works. */
static void test_prepare_near_a_limit(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("shuffle-2");
    sp_error err;
    assert_true(sp_lang_count(lang, 2100) > 0);
    assert_true(sp_lang_count(lang, 2200) > 0);
    assert_int_equal(sp_lang_prepare(lang, 5000, &err), SP_ELIMIT);
    assert_true(sp_lang_count(lang, 2000) > 0);
    sp_lang_destroy(lang);
}

static void test_rng(void **state)
{
    (void)state;
    gsl_rng *r = sp_rng_new(3);
    size_t freq[7] = {0};
    for (int i = 0; i < 70000; i++) freq[sp_rng_below(r, 7)]++;
    for (int i = 0; i < 7; i++) assert_true(freq[i] > 9500 && freq[i] < 10500);
    long double w[4] = {0, 1, 0, 3};
    size_t pick[4] = {0};
    for (int i = 0; i < 40000; i++) pick[sp_rng_pick_ld(r, w, 4, 4)]++;
    assert_int_equal(pick[0], 0);
    assert_int_equal(pick[2], 0);
    assert_true(pick[1] > 9400 && pick[1] < 10600);
    /* A total larger than the weights' sum (rounding) still never picks a zero weight. */
    for (int i = 0; i < 1000; i++) assert_int_equal(sp_rng_pick_ld(r, w, 3, 5), 1);
    for (int i = 0; i < 1000; i++) {
        long double u = sp_rng_uniform_ld(r);
        assert_true(u >= 0 && u < 1);
    }
    /* Bounds n = 3/4 of 2^32 (or 2^64), where a third of the values would get two of the 4
     * draws in 4 without the rejection step: reducing modulo n doubles those below n / 3,
     * multiply-shift doubles the multiples of 3. Both the 32-bit and the 64-bit path. */
    uint64_t bounds[2] = {UINT64_C(3) << 30, UINT64_C(3) << 62};
    for (int b = 0; b < 2; b++) {
        size_t low = 0, third = 0;
        for (int i = 0; i < 60000; i++) {
            uint64_t x = sp_rng_below(r, bounds[b]);
            assert_true(x < bounds[b]);
            low += x < bounds[b] / 3;
            third += x % 3 == 0;
        }
        assert_true(low > 19000 && low < 21000);
        assert_true(third > 19000 && third < 21000);
    }
    /* A generator with fewer than 32 bits per draw goes through the general path. */
    gsl_rng *small = gsl_rng_alloc(gsl_rng_ranlxs0);
    size_t f5[5] = {0};
    for (int i = 0; i < 50000; i++) f5[sp_rng_below(small, 5)]++;
    for (int i = 0; i < 5; i++) assert_true(f5[i] > 9500 && f5[i] < 10500);
    gsl_rng_free(small);
    gsl_rng *a = sp_rng_new(9), *b = sp_rng_new(9);
    for (int i = 0; i < 100; i++) assert_true(sp_rng_u64(a) == sp_rng_u64(b));
    gsl_rng_free(a);
    gsl_rng_free(b);
    gsl_rng_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_errors),   cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_parse_and_write), cmocka_unit_test(test_format_count),
        cmocka_unit_test(test_sample_errors),   cmocka_unit_test(test_prepare_near_a_limit),
        cmocka_unit_test(test_rng),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
