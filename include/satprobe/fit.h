/* Fits of the parameter-norm curve: ‖θ_t‖ ≈ a·√t + b and ‖θ_t‖ ≈ a·t^p (a line in log-log
 * space), both by GSL's least squares (gsl_fit_linear), each with its r². docs/training.md
 * states the formulas. */
#ifndef SATPROBE_FIT_H
#define SATPROBE_FIT_H

#include "satprobe/error.h"

#include <stddef.h>

typedef struct sp_fit {
    double a, b;  /* sqrt: y = a sqrt(t) + b; power: y = a t^b (b is the exponent p) */
    double r2;    /* coefficient of determination of the fit, in the space it was fitted in */
    size_t n;     /* points used */
} sp_fit;

/* y = a sqrt(t) + b over the points with t >= 0 (points with a NaN or infinite t or y are left
 * out too). Needs at least 3 such points and t not all equal; SP_EINPUT otherwise, with *out
 * unchanged. r² = 1 − SS_res / SS_tot; 1 when all y are equal (SS_tot = 0: the fit is exact). */
int sp_fit_sqrt(const double *t, const double *y, size_t n, sp_fit *out, sp_error *err);
/* log y = log a + p log t over the points with t > 0 and y > 0 (and both finite); r² of that
 * line, in log space. Same requirements and errors as sp_fit_sqrt. */
int sp_fit_power(const double *t, const double *y, size_t n, sp_fit *out, sp_error *err);

#endif
