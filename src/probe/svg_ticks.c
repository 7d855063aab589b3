/* Axis ticks for the SVG plots: 1-2-5 steps on linear axes, decades (and 1-2-5 within
 * two decades) on log axes, minor log ticks, and the tick labels and their widths. */
#include "svg_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MINUS "\xe2\x88\x92"    /* U+2212: negatives typeset with a minus sign, not a hyphen */
#define TIMES "\xc3\x97"        /* U+00D7 */

/* ---- ticks ---------------------------------------------------------------------------------- */

static double pow10i(int k) { return pow(10.0, (double)k); }

/* m · 10^k as exactly as doubles allow: 3 · 2 / 10 is 0.6, while 3 · 0.2 is 0.6000000000000001. */
static double step_value(double i, int m, int k)
{
    return k >= 0 ? i * m * pow10i(k) : i * m / pow10i(-k);
}

static void ticks_linear(double lo, double hi, bool ext_lo, bool ext_hi, sp_svg_tickset *t)
{
    static const int mant[3] = {1, 2, 5};
    int k0 = (int)floor(log10(hi - lo)) - 2; /* steps of span/100 and finer: too many ticks */
    for (int k = k0; k < k0 + 8; k++) {
        for (int j = 0; j < 3; j++) {
            double step = step_value(1, mant[j], k);
            /* The epsilon keeps 0.6 / 0.2 = 2.9999999999999996 on tick 3. */
            double a = ext_lo ? floor(lo / step + 1e-9) : ceil(lo / step - 1e-9);
            double b = ext_hi ? ceil(hi / step - 1e-9) : floor(hi / step + 1e-9);
            if (b - a + 1 > 8) continue;
            SP_ASSERT(b >= a); /* the step before had more than 8 ticks: this one has 2 or more */
            t->n = 0;
            for (double i = a; i <= b; i++) t->v[t->n++] = step_value(i, mant[j], k);
            t->lo = ext_lo ? t->v[0] : lo;
            t->hi = ext_hi ? t->v[t->n - 1] : hi;
            t->step_exp = k;
            return;
        }
    }
    SP_ASSERT(!"no tick step found");
}

/* Ticks at 1, 2 and 5 × 10^e within [lo, hi], which spans at most two decades. */
static void ticks_125(double lo, double hi, sp_svg_tickset *t)
{
    static const int mant[3] = {1, 2, 5};
    t->n = 0;
    int e0 = (int)floor(log10(lo) + 1e-9), e1 = (int)floor(log10(hi) + 1e-9);
    for (int e = e0; e <= e1; e++) {
        for (size_t j = 0; j < 3 && t->n < SP_SVG_MAX_TICKS; j++) {
            double v = step_value(1, mant[j], e);
            if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) t->v[t->n++] = v;
        }
    }
}

static void ticks_log(double lo, double hi, bool ext_lo, bool ext_hi, sp_svg_tickset *t)
{
    double a = log10(lo), b = log10(hi);
    int ea = (int)(ext_lo ? floor(a + 1e-9) : ceil(a - 1e-9));
    int eb = (int)(ext_hi ? ceil(b - 1e-9) : floor(b + 1e-9));
    t->lo = ext_lo ? pow10i(ea) : lo;
    t->hi = ext_hi ? pow10i(eb) : hi;
    t->by_value = true;
    if (log10(t->hi) - log10(t->lo) <= 2 + 1e-9) {
        ticks_125(t->lo, t->hi, t);
    } else {
        /* Every d-th decade, d a round number, the first and last on multiples of d at
         * extended ends. Ranges stay within 1e±100, so d = 50 always suffices. */
        static const int nice[] = {1, 2, 3, 5, 10, 20, 25, 50};
        for (size_t i = 0; i < sizeof nice / sizeof nice[0]; i++) {
            int d = nice[i];
            int fa = ext_lo ? (int)floor((double)ea / d) * d : (int)ceil((double)ea / d) * d;
            int fb = ext_hi ? (int)ceil((double)eb / d) * d : (int)floor((double)eb / d) * d;
            if ((fb - fa) / d + 1 > 8) continue;
            t->n = 0;
            for (int e = fa; e <= fb; e += d) t->v[t->n++] = pow10i(e);
            t->lo = ext_lo ? pow10i(fa) : lo;
            t->hi = ext_hi ? pow10i(fb) : hi;
            break;
        }
    }
    if (t->n < 3) {
        /* Less than a decade between fixed ends: the axis is nearly linear there, and so are
         * its ticks. */
        t->by_value = false;
        ticks_linear(lo, hi, ext_lo, ext_hi, t);
        if (t->lo <= 0) ticks_linear(lo, hi, false, ext_hi, t); /* no 0 on a log axis */
    }
}

/* Labels as m×10^e when plain decimals would be long: beyond a million, below a thousandth. */
static bool wants_sci(const sp_svg_tickset *t)
{
    double big = fmax(fabs(t->lo), fabs(t->hi));
    if (t->log && t->by_value) return t->lo < 1e-3 * (1 - 1e-9) || t->hi > 1e4 * (1 + 1e-9);
    return big >= 1e6 || (big < 1e-3 && big > 0);
}

void sp_svg_ticks(double lo, double hi, bool log, bool extend_lo, bool extend_hi,
                  sp_svg_tickset *t)
{
    SP_ASSERT(isfinite(lo) && isfinite(hi) && lo < hi && (!log || lo > 0));
    memset(t, 0, sizeof *t);
    t->log = log;
    if (log) ticks_log(lo, hi, extend_lo, extend_hi, t);
    else ticks_linear(lo, hi, extend_lo, extend_hi, t);
    t->sci = wants_sci(t);
}

size_t sp_svg_minor_ticks(const sp_svg_tickset *t, double *v, size_t cap)
{
    if (!t->log || !t->by_value || t->n < 2 || t->v[1] > t->v[0] * 10.5) return 0;
    size_t n = 0, major = 0;
    int e0 = (int)floor(log10(t->lo) + 1e-9), e1 = (int)floor(log10(t->hi) + 1e-9);
    for (int e = e0; e <= e1; e++) {
        for (int m = 2; m <= 9 && n < cap; m++) {
            double x = step_value(1, m, e);
            if (x < t->lo || x > t->hi) continue;
            while (major < t->n && t->v[major] < x * (1 - 1e-9)) major++;
            if (major < t->n && t->v[major] <= x * (1 + 1e-9)) continue; /* labelled */
            v[n++] = x;
        }
    }
    return n;
}

/* m×10^e with `digits` digits in m; a mantissa that rounds up to 10 moves to the next power. */
static void fmt_sci(char *buf, size_t size, double v, int e, int digits, bool log)
{
    char m[32];
    double mant = v / pow10i(e);
    sp_svg_fmt_fixed(m, sizeof m, mant, digits, MINUS);
    if (strcmp(m, "10") == 0 || strcmp(m, MINUS "10") == 0) {
        e++;
        sp_svg_fmt_fixed(m, sizeof m, mant / 10, digits, MINUS);
    }
    char ex[32];
    sp_svg_fmt_fixed(ex, sizeof ex, e, 0, MINUS);
    if (log && strcmp(m, "1") == 0) snprintf(buf, size, "10^%s", ex);
    else snprintf(buf, size, "%s" TIMES "10^%s", m, ex);
}

void sp_svg_tick_label(const sp_svg_tickset *t, double v, char *buf, size_t size)
{
    if (!t->log && fabs(v) < 1e-12 * fmax(fabs(t->lo), fabs(t->hi))) v = 0; /* a rounded zero */
    int e = v == 0 ? 0 : (int)floor(log10(fabs(v)) + 1e-9);
    if (v == 0) {
        snprintf(buf, size, "0");
    } else if (t->sci) {
        int digits = t->by_value ? 0 : e - t->step_exp;
        fmt_sci(buf, size, v, e, digits < 0 ? 0 : digits, t->log && t->by_value);
    } else {
        sp_svg_fmt_fixed(buf, size, v, t->by_value ? -e : -t->step_exp, MINUS);
    }
}

/* Width of a tick label, its exponent (after '^') set smaller. */
static double label_width(const char *label, double fs)
{
    const char *caret = strchr(label, '^');
    if (!caret) return sp_svg_text_width(label, fs);
    return sp_svg_text_width(label, fs) - sp_svg_text_width(caret, fs) +
           sp_svg_text_width(caret + 1, FS_EXP);
}

double sp_svg_max_label_width(const sp_svg_tickset *t, double fs)
{
    double w = 0;
    char buf[64];
    for (size_t i = 0; i < t->n; i++) {
        sp_svg_tick_label(t, t->v[i], buf, sizeof buf);
        w = fmax(w, label_width(buf, fs));
    }
    return w;
}
