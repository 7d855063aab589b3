/* Norm-curve fits by ordinary least squares (gsl_fit_linear) on transformed coordinates:
 * (√t, y) for a·√t + b, (ln t, ln y) for a·t^p. */
#include "satprobe/fit.h"

#include "satprobe/alloc.h"

#include <gsl/gsl_fit.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

typedef enum { FIT_SQRT, FIT_POWER } fit_kind;

/* Fit z = c0 + c1 x over the points the kind keeps; x, z are filled here ([n] each). */
static int fit_line(fit_kind kind, const double *t, const double *y, size_t n, sp_fit *out,
                    sp_error *err)
{
    const char *what = kind == FIT_SQRT ? "a·√t + b fit" : "a·t^p fit";
    const char *which = kind == FIT_SQRT ? "finite points with t >= 0" : "finite points with t > 0 and y > 0";
    double *x = sp_malloc(n ? n : 1, sizeof *x), *z = sp_malloc(n ? n : 1, sizeof *z);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(t[i]) || !isfinite(y[i])) continue;
        if (kind == FIT_SQRT && t[i] >= 0) {
            x[k] = sqrt(t[i]);
            z[k++] = y[i];
        } else if (kind == FIT_POWER && t[i] > 0 && y[i] > 0) {
            x[k] = log(t[i]);
            z[k++] = log(y[i]);
        }
    }
    int status = SP_OK;
    bool spread = false;
    for (size_t i = 1; i < k && !spread; i++) spread = x[i] != x[0];
    if (k < 3) {
        status = sp_error_set(err, SP_EINPUT, NULL, 0, 0, "the %s needs at least 3 %s, got %zu of %zu",
                              what, which, k, n);
    } else if (!spread) {
        status = sp_error_set(err, SP_EINPUT, NULL, 0, 0,
                              "the %s needs at least two different t, but all %zu %s have t = %g",
                              what, k, which, kind == FIT_SQRT ? x[0] * x[0] : exp(x[0]));
    } else {
        double c0, c1, cov00, cov01, cov11, ss_res;
        gsl_fit_linear(x, 1, z, 1, k, &c0, &c1, &cov00, &cov01, &cov11, &ss_res);
        double mean = 0, ss_tot = 0;
        for (size_t i = 0; i < k; i++) mean += z[i];
        mean /= (double)k;
        for (size_t i = 0; i < k; i++) ss_tot += (z[i] - mean) * (z[i] - mean);
        /* All z equal: SS_tot = 0 and r² = 1 by definition (the line z = mean is exact). Rounding
         * may leave ss_tot tiny instead of 0, but then ss_res is exactly 0 (GSL's running mean
         * of equal values is exact), so the ratio gives 1 as well. */
        out->r2 = ss_tot > 0 ? 1 - ss_res / ss_tot : 1;
        out->a = kind == FIT_SQRT ? c1 : exp(c0);
        out->b = kind == FIT_SQRT ? c0 : c1;
        out->n = k;
    }
    free(x);
    free(z);
    return status;
}

int sp_fit_sqrt(const double *t, const double *y, size_t n, sp_fit *out, sp_error *err)
{
    return fit_line(FIT_SQRT, t, y, n, out, err);
}

int sp_fit_power(const double *t, const double *y, size_t n, sp_fit *out, sp_error *err)
{
    return fit_line(FIT_POWER, t, y, n, out, err);
}
