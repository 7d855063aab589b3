/* Norm-curve fits: exact recovery from noiseless data, hand-computed small cases, noisy data,
 * which points are used, and the error cases. */
#include "testutil.h"

#include "satprobe/fit.h"
#include "satprobe/rng.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <string.h>

#define NEAR(got, want, tol)                                                                    \
    do {                                                                                        \
        double got_ = (got), want_ = (want);                                                    \
        if (!(fabs(got_ - want_) <= (tol)))                                                     \
            fail_msg("%s = %.17g, want %.17g (tolerance %g)", #got, got_, want_, (double)(tol)); \
    } while (0)

static sp_fit fit_ok(int (*fit)(const double *, const double *, size_t, sp_fit *, sp_error *),
                     const double *t, const double *y, size_t n)
{
    sp_fit f;
    sp_error err;
    sp_error_clear(&err);
    if (fit(t, y, n, &f, &err)) fail_msg("fit failed: %s", err.msg);
    return f;
}

static void test_sqrt_exact(void **state)
{
    (void)state;
    double t[201], y[201];
    for (int i = 0; i <= 200; i++) {
        t[i] = 5.0 * i; /* includes t = 0 */
        y[i] = 3.5 * sqrt(t[i]) + 1.25;
    }
    sp_fit f = fit_ok(sp_fit_sqrt, t, y, 201);
    NEAR(f.a, 3.5, 1e-12);
    NEAR(f.b, 1.25, 1e-10);
    NEAR(f.r2, 1, 1e-12);
    assert_int_equal(f.n, 201);
    /* A falling curve and a negative offset. */
    for (int i = 0; i <= 200; i++) y[i] = -0.02 * sqrt(t[i]) - 7;
    f = fit_ok(sp_fit_sqrt, t, y, 201);
    NEAR(f.a, -0.02, 1e-12);
    NEAR(f.b, -7, 1e-10);
    NEAR(f.r2, 1, 1e-12);
}

static void test_power_exact(void **state)
{
    (void)state;
    double t[60], y[60];
    for (int i = 0; i < 60; i++) {
        t[i] = pow(10, 0.1 * i); /* 1 .. 10^5.9, evenly spaced in log t */
        y[i] = 0.7 * pow(t[i], 0.45);
    }
    sp_fit f = fit_ok(sp_fit_power, t, y, 60);
    NEAR(f.a, 0.7, 1e-12);
    NEAR(f.b, 0.45, 1e-13);
    NEAR(f.r2, 1, 1e-12);
    assert_int_equal(f.n, 60);
    /* √t growth is p = 1/2; a decaying norm has p < 0. */
    for (int i = 0; i < 60; i++) y[i] = 12 * pow(t[i], -1.5);
    f = fit_ok(sp_fit_power, t, y, 60);
    NEAR(f.a, 12, 1e-10);
    NEAR(f.b, -1.5, 1e-13);
    NEAR(f.r2, 1, 1e-12);
}

/* x = √t = 0, 1, 2, 3, y = 0, 1, 1, 3: Sxx = 5, Sxy = 4.5, so a = 0.9, b = 1.25 − 0.9 · 1.5 = −0.1;
 * SS_tot = 4.75, SS_res = SS_tot − a Sxy = 0.7, r² = 4.05 / 4.75. */
static void test_sqrt_by_hand(void **state)
{
    (void)state;
    const double t[] = {0, 1, 4, 9}, y[] = {0, 1, 1, 3};
    sp_fit f = fit_ok(sp_fit_sqrt, t, y, 4);
    NEAR(f.a, 0.9, 1e-15);
    NEAR(f.b, -0.1, 1e-15);
    NEAR(f.r2, 4.05 / 4.75, 1e-15);
    NEAR(f.r2, 0.85263157894736842, 1e-15);
    assert_int_equal(f.n, 4);
}

/* ln t = 0, 1, 2, ln y = 0, 1, 3: p = Sxz / Sxx = 3 / 2, ln a = 4/3 − 3/2 = −1/6;
 * SS_tot = 42/9, SS_res = 42/9 − 1.5 · 3 = 1/6, r² = 27/28 (in log space, not in y). */
static void test_power_by_hand(void **state)
{
    (void)state;
    const double e = exp(1);
    const double t[] = {1, e, e * e}, y[] = {1, e, e * e * e};
    sp_fit f = fit_ok(sp_fit_power, t, y, 3);
    NEAR(f.b, 1.5, 1e-14);
    NEAR(f.a, exp(-1.0 / 6), 1e-14);
    NEAR(f.r2, 27.0 / 28, 1e-14);
    assert_int_equal(f.n, 3);
}

static void test_noisy(void **state)
{
    (void)state;
    const unsigned long seed = 20240611;
    gsl_rng *r = sp_rng_new(seed);
    double t[500], y[500];
    for (int i = 0; i < 500; i++) {
        t[i] = 10.0 * (i + 1);
        y[i] = 2 * sqrt(t[i]) + 1 + gsl_ran_gaussian(r, 0.5);
    }
    sp_fit f = fit_ok(sp_fit_sqrt, t, y, 500);
    if (!(f.r2 < 1 && f.r2 > 0.99)) fail_msg("seed %lu: r² = %.17g", seed, f.r2);
    if (!(fabs(f.a - 2) < 0.01 && fabs(f.b - 1) < 0.2))
        fail_msg("seed %lu: a = %g, b = %g", seed, f.a, f.b);
    /* Multiplicative noise for the power law: additive in log space. */
    for (int i = 0; i < 500; i++) y[i] = 0.3 * pow(t[i], 0.6) * exp(gsl_ran_gaussian(r, 0.05));
    f = fit_ok(sp_fit_power, t, y, 500);
    if (!(f.r2 < 1 && f.r2 > 0.95)) fail_msg("seed %lu: r² = %.17g", seed, f.r2);
    if (!(fabs(f.b - 0.6) < 0.02 && fabs(f.a / 0.3 - 1) < 0.1))
        fail_msg("seed %lu: a = %g, p = %g", seed, f.a, f.b);
    /* Pure noise around a constant explains almost nothing. */
    for (int i = 0; i < 500; i++) y[i] = 5 + gsl_ran_gaussian(r, 1);
    f = fit_ok(sp_fit_sqrt, t, y, 500);
    if (!(f.r2 >= 0 && f.r2 < 0.05)) fail_msg("seed %lu: r² = %.17g for noise", seed, f.r2);
    gsl_rng_free(r);
}

/* Points a fit cannot use are left out, and the rest fit as if alone. */
static void test_points_used(void **state)
{
    (void)state;
    const double t[] = {-1, 0, 1, 4, NAN, 9, 16, INFINITY, 25};
    double y[9];
    for (int i = 0; i < 9; i++) y[i] = 2 * sqrt(fabs(t[i])) + 3;
    y[0] = 1e9; /* t < 0 */
    y[4] = 1e9;
    sp_fit f = fit_ok(sp_fit_sqrt, t, y, 9);
    assert_int_equal(f.n, 6);
    NEAR(f.a, 2, 1e-13);
    NEAR(f.b, 3, 1e-13);
    NEAR(f.r2, 1, 1e-13);
    double y2[9];
    memcpy(y2, y, sizeof y);
    y2[2] = NAN; /* a NaN y is left out too */
    f = fit_ok(sp_fit_sqrt, t, y2, 9);
    assert_int_equal(f.n, 5);
    NEAR(f.a, 2, 1e-13);

    /* Power: t = 0, t < 0, y = 0 and y < 0 are all left out. */
    const double tp[] = {0, -2, 1, 2, 3, 4, 5, 6};
    double yp[8];
    for (int i = 0; i < 8; i++) yp[i] = 4 * pow(fabs(tp[i]), 2);
    yp[3] = 0;
    yp[4] = -36;
    f = fit_ok(sp_fit_power, tp, yp, 8);
    assert_int_equal(f.n, 4);
    NEAR(f.a, 4, 1e-12);
    NEAR(f.b, 2, 1e-13);
    NEAR(f.r2, 1, 1e-13);
}

/* SS_tot = 0: every y equal; the fit y = b is exact and r² is defined as 1. */
static void test_flat(void **state)
{
    (void)state;
    const double t[] = {0, 1, 2, 3, 10}, y[] = {0.1, 0.1, 0.1, 0.1, 0.1};
    sp_fit f = fit_ok(sp_fit_sqrt, t, y, 5);
    NEAR(f.a, 0, 1e-15);
    NEAR(f.b, 0.1, 1e-15);
    assert_true(f.r2 == 1);
    /* 0.1 three times: the mean comes out 0.1 + 1.4e-17, SS_tot a tiny positive number. */
    f = fit_ok(sp_fit_sqrt, t, y, 3);
    NEAR(f.a, 0, 1e-15);
    assert_true(f.r2 == 1);
    const double tp[] = {1, 2, 3, 10};
    f = fit_ok(sp_fit_power, tp, y, 4);
    NEAR(f.b, 0, 1e-15);
    NEAR(f.a, 0.1, 1e-15);
    assert_true(f.r2 == 1);
}

static void expect_fail(int (*fit)(const double *, const double *, size_t, sp_fit *, sp_error *),
                        const double *t, const double *y, size_t n, const char *want)
{
    sp_fit f = {42, 43, 44, 45};
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(fit(t, y, n, &f, &err), SP_EINPUT);
    if (strcmp(err.msg, want)) fail_msg("got '%s', want '%s'", err.msg, want);
    /* *out is left as it was. */
    assert_true(f.a == 42 && f.b == 43 && f.r2 == 44 && f.n == 45);
}

static void test_errors(void **state)
{
    (void)state;
    const double t[] = {1, 4, 9, 16}, y[] = {1, 2, 3, 4};
    expect_fail(sp_fit_sqrt, t, y, 2, "the a·√t + b fit needs at least 3 finite points with t >= 0, got 2 of 2");
    expect_fail(sp_fit_sqrt, NULL, NULL, 0, "the a·√t + b fit needs at least 3 finite points with t >= 0, got 0 of 0");
    expect_fail(sp_fit_power, t, y, 2,
                "the a·t^p fit needs at least 3 finite points with t > 0 and y > 0, got 2 of 2");
    const double tneg[] = {-1, -4, 9, 16}, yneg[] = {1, -2, 0, 4};
    expect_fail(sp_fit_sqrt, tneg, y, 4, "the a·√t + b fit needs at least 3 finite points with t >= 0, got 2 of 4");
    expect_fail(sp_fit_power, t, yneg, 4,
                "the a·t^p fit needs at least 3 finite points with t > 0 and y > 0, got 2 of 4");
    const double same[] = {4, 4, 4, 4};
    expect_fail(sp_fit_sqrt, same, y, 4,
                "the a·√t + b fit needs at least two different t, but all 4 finite points with t >= 0 have t = 4");
    expect_fail(sp_fit_power, same, y, 4,
                "the a·t^p fit needs at least two different t, but all 4 finite points with t > 0 and y > 0 have t = 4");
    /* Different t only among the points left out still fails. */
    const double mixed[] = {-3, 9, 9, 9};
    expect_fail(sp_fit_sqrt, mixed, y, 4,
                "the a·√t + b fit needs at least two different t, but all 3 finite points with t >= 0 have t = 9");
    /* Three points are enough. */
    sp_fit f = fit_ok(sp_fit_sqrt, t, y, 3);
    assert_int_equal(f.n, 3);
    NEAR(f.a, 1, 1e-15);
    NEAR(f.b, 0, 1e-15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqrt_exact),
        cmocka_unit_test(test_power_exact),
        cmocka_unit_test(test_sqrt_by_hand),
        cmocka_unit_test(test_power_by_hand),
        cmocka_unit_test(test_noisy),
        cmocka_unit_test(test_points_used),
        cmocka_unit_test(test_flat),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
