/* The cfg kind's costs: printed timings of counting, sampling and next() (not asserted). */
#include "testutil.h"

#include "satprobe/alloc.h"
#include "satprobe/rng.h"

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
        cmocka_unit_test(test_timings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
