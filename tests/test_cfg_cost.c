/* The cfg kind's costs: the work and memory limits of prepare, the parser kept between next()
 * and accepts() calls (checked against fresh parses), and printed timings of counting, sampling
 * and next() (not asserted). */
#include "testutil.h"

#include "satprobe/alloc.h"
#include "satprobe/rng.h"
#include "satprobe/strbuf.h"
#include "src/lang/cfg.h" /* white box: the table limits, and the grammar for fresh parses */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* S -> S^64 (alts - 1 times) | a, derivations allowed: 63 rows per wide alternative. */
static char *wide_yaml(size_t alts)
{
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_strbuf_puts(&sb, "name: wide\ndescription: d\nclass: context-free\nalphabet: [a]\n"
                        "kind: cfg\nambiguous: allow\nrules:\n  S: [");
    for (size_t j = 0; j + 1 < alts; j++) {
        sp_strbuf_putc(&sb, '\'');
        for (int i = 0; i < 64; i++) sp_strbuf_puts(&sb, i ? " S" : "S");
        sp_strbuf_puts(&sb, "', ");
    }
    sp_strbuf_puts(&sb, "a]\n");
    return sb.buf; /* the caller frees it */
}

/* What prepare charges for lengths 0..len (the formula in cfg.h). */
static uint64_t work_to(const sp_cfg *c, size_t len)
{
    uint64_t l = len + 1;
    return l * c->g.nalt + c->nrows * (l * (l + 1) / 2);
}

static void expect_limit(sp_lang *lang, size_t len, const char *what, const char *longest)
{
    sp_error err;
    sp_error_clear(&err);
    double t0 = now();
    int status = sp_lang_prepare(lang, len, &err);
    double t = now() - t0;
    if (status != SP_ELIMIT || !strstr(err.msg, what) || !strstr(err.msg, longest)) {
        sp_error_print(&err, stderr);
        fail_msg("prepare(%zu): expected SP_ELIMIT with '%s' and '%s'", len, what, longest);
    }
    printf("# prepare(%zu) refused in %.2f ms: %s\n", len, t * 1e3, err.msg);
}

/* 9999 alternatives of 64 S (1.3 MB of YAML, 630,000 columns): prepare(12) is refused at once
 * rather than filling 0.7 GB of tables for seconds (the generic layer first asks for 64). */
static void test_prepare_limits_wide(void **state)
{
    (void)state;
    char *yaml = wide_yaml(10000);
    double t0 = now();
    sp_lang *lang = tu_load_text(yaml);
    printf("# %zu bytes of grammar loaded in %.0f ms\n", strlen(yaml), (now() - t0) * 1e3);
    free(yaml);
    expect_limit(lang, 12, "multiply-adds", "lengths up to 7 can be counted");
    sp_lang_destroy(lang);
}

/* The same shape, smaller, with the limits lowered: each is exact, a refusal keeps the tables,
 * and the work charged is the work predicted. */
static void test_prepare_limits_lowered(void **state)
{
    (void)state;
    char *yaml = wide_yaml(100);
    sp_lang *lang = tu_load_text(yaml);
    free(yaml);
    sp_cfg *c = lang->impl;
    assert_int_equal(c->nrows, 99 * 63);
    c->max_work = work_to(c, 20);
    sp_error err;
    assert_int_equal(sp_lang_prepare(lang, 20, &err), SP_OK);
    assert_int_equal(c->nbuilt, 21);
    assert_true(c->work == work_to(c, 20));
    expect_limit(lang, 21, "multiply-adds", "lengths up to 20 can be counted");
    assert_true(sp_lang_count(lang, 1) == 1 && sp_lang_count(lang, 20) == 0);
    assert_true(sp_lang_count(lang, 21) == -1);

    c->max_work = SP_CFG_MAX_WORK;
    c->max_table_bytes = 31 * c->ncols * sizeof *c->tab;
    assert_int_equal(sp_lang_prepare(lang, 30, &err), SP_OK);
    assert_true(c->tab_len <= 31);
    expect_limit(lang, 31, "MiB", "lengths up to 30 can be counted");
    c->max_table_bytes = 0;
    expect_limit(lang, 31, "MiB", "no length can be counted");
    assert_true(sp_lang_count(lang, 30) == 0 && sp_lang_count(lang, 1) == 1);
    sp_lang_destroy(lang);
}

/* ---- the parser kept between calls --------------------------------------------------- */

/* A fresh parse of p[0..n): its viability, valid symbols and whether p is a member. */
static bool fresh_parse(const sp_lang *lang, const int *p, size_t n, bool *valid, bool *member)
{
    const sp_cfg *c = lang->impl;
    sp_earley *e = sp_earley_new(&c->g);
    bool viable = true;
    for (size_t i = 0; i < n && viable; i++) viable = sp_earley_feed(e, p[i]);
    memset(valid, 0, c->g.k * sizeof *valid);
    *member = false;
    if (viable) {
        sp_earley_scannable(e, valid);
        *member = sp_earley_accepting(e);
    }
    sp_earley_destroy(e);
    return viable;
}

/* A random walk over prefixes, checking next() and accepts() against fresh parses: mostly one
 * valid symbol on; sometimes back to a shorter prefix and any symbol on, which usually leaves
 * the last prefix at a symbol it had (so the kept parse must be cut back, not extended) and
 * can make a prefix dead (and then a longer prefix of it); sometimes accepts() on a prefix
 * of the current one. */
static void check_reuse(sp_lang *lang, unsigned long seed)
{
    enum { MAX = 80, STEPS = 3000 };
    size_t k = sp_lang_alphabet_size(lang), n = 0, dead = 0, diverged = 0;
    gsl_rng *r = sp_rng_new(seed);
    int p[MAX];
    bool valid[8] = {false}, want_valid[8], can_end, member;
    for (int step = 0; step < STEPS; step++) {
        uint64_t op = sp_rng_below(r, 10);
        int options = 0;
        for (size_t b = 0; b < k; b++) options += valid[b];
        if (op < 3 || (options == 0 && op < 7)) {
            size_t back = (size_t)sp_rng_below(r, n + 1);
            if (back < n) {
                int a = (int)sp_rng_below(r, k);
                diverged += a != p[back];
                p[back++] = a;
            }
            n = back;
        } else if (n < MAX) {
            int a = (int)sp_rng_below(r, k);
            if (options > 0)
                for (int pick = (int)sp_rng_below(r, (uint64_t)options);; a = (a + 1) % (int)k)
                    if (valid[a] && pick-- == 0) break;
            p[n++] = a;
        }
        bool viable = sp_lang_next(lang, p, n, valid, &can_end);
        assert_int_equal(viable, fresh_parse(lang, p, n, want_valid, &member));
        assert_int_equal(can_end, member);
        for (size_t a = 0; a < k; a++) assert_int_equal(valid[a], want_valid[a]);
        dead += !viable;
        if (op == 9) {
            size_t m = (size_t)sp_rng_below(r, n + 1);
            fresh_parse(lang, p, m, want_valid, &member);
            assert_int_equal(sp_lang_accepts(lang, p, m), member);
        }
    }
    printf("# %s: %d next() calls agree with fresh parses (%zu dead prefixes, %zu cut back to a "
           "different symbol)\n",
           sp_lang_name(lang), STEPS, dead, diverged);
    gsl_rng_free(r);
}

static void test_parser_reuse(void **state)
{
    (void)state;
    const char *zoo[] = {"boolean-3", "marked-reversal", "palindromes"};
    for (size_t z = 0; z < 3; z++) {
        sp_lang *lang = tu_load_zoo(zoo[z]);
        check_reuse(lang, 100 + z);
        sp_lang_destroy(lang);
    }
    /* Nullable nonterminals (the Aycock-Horspool step) and an ambiguous grammar. */
    sp_lang *lang = tu_load_text("name: nullable\ndescription: d\nclass: context-free\n"
                                 "alphabet: [a, b, c]\nkind: cfg\nambiguous: allow\nrules:\n"
                                 "  S: [\"A c B S\", \"\", \"S S b\"]\n  A: [a, \"\"]\n"
                                 "  B: [b, \"\"]\n");
    check_reuse(lang, 7);
    sp_lang_destroy(lang);
}

/* ---- timings ------------------------------------------------------------------------- */

/* A member of length n, or n + 1 when there is none of length n (parity). */
static size_t sample_member(sp_lang *lang, size_t n, gsl_rng *r, int *out)
{
    sp_error err;
    if (!(sp_lang_count(lang, n) > 0)) n++;
    assert_int_equal(sp_lang_sample(lang, n, r, out, &err), SP_OK);
    return n;
}

/* next() calls per second: on one prefix of length 50 again and again, on the prefixes of
 * length 50 of 16 different members in turn, and on every prefix of a member of length 500
 * from the shortest up (as a generator walking along a string asks). */
static void time_next(sp_lang *lang, gsl_rng *r, double rate[3])
{
    enum { MEMBERS = 16 };
    int *s = sp_malloc(MEMBERS * 501, sizeof *s);
    for (size_t i = 0; i < MEMBERS; i++) sample_member(lang, 100, r, s + i * 501);
    bool valid[8], can_end;
    for (int mode = 0; mode < 2; mode++) {
        size_t calls = 0;
        double t0 = now();
        while (now() - t0 < 0.2) {
            for (size_t j = 0; j < 32; j++) {
                const int *p = s + (mode ? j % MEMBERS : 0) * 501;
                assert_true(sp_lang_next(lang, p, 50, valid, &can_end));
            }
            calls += 32;
        }
        rate[mode] = (double)calls / (now() - t0);
    }
    size_t n = sample_member(lang, 500, r, s), calls = 0;
    double t0 = now();
    while (now() - t0 < 0.2) {
        for (size_t i = 0; i <= n; i++) {
            assert_true(sp_lang_next(lang, s, i, valid, &can_end));
            assert_true(i == n ? can_end : valid[s[i]]);
        }
        calls += n + 1;
    }
    rate[2] = (double)calls / (now() - t0);
    free(s);
}

static void test_timings(void **state)
{
    (void)state;
    const char *zoo[] = {"boolean-3", "marked-reversal", "palindromes"};
    for (size_t z = 0; z < 3; z++) {
        sp_lang *lang = tu_load_zoo(zoo[z]);
        double t0 = now();
        long double sum = 0;
        for (size_t n = 0; n <= 500; n++) sum += sp_lang_count(lang, n);
        double tc = now() - t0;
        assert_true(sum > 0);
        gsl_rng *r = sp_rng_new(9);
        int out[501];
        sp_error err;
        double rate[2];
        size_t lens[2] = {50, 500};
        for (int i = 0; i < 2; i++) {
            size_t n = sp_lang_count(lang, lens[i]) > 0 ? lens[i] : lens[i] + 1;
            size_t draws = 0;
            double t1 = now();
            while (now() - t1 < 0.2) {
                for (int j = 0; j < 100; j++)
                    assert_int_equal(sp_lang_sample(lang, n, r, out, &err), SP_OK);
                draws += 100;
            }
            rate[i] = (double)draws / (now() - t1);
        }
        double nrate[3];
        time_next(lang, r, nrate);
        printf("# %s: count 0..500 in %.2f ms; samples/s %.0f at 50, %.0f at 500\n", zoo[z],
               tc * 1e3, rate[0], rate[1]);
        printf("# %s: next() calls/s at prefix length 50: %.0f (one prefix), %.0f (16 in turn); "
               "over all prefixes of a length-500 member: %.0f\n",
               zoo[z], nrate[0], nrate[1], nrate[2]);
        gsl_rng_free(r);
        sp_lang_destroy(lang);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepare_limits_wide),
        cmocka_unit_test(test_prepare_limits_lowered),
        cmocka_unit_test(test_parser_reuse),
        cmocka_unit_test(test_timings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
