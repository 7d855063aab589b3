/* SVG plots: line charts and histograms as standalone SVG 1.1 documents (docs/plots.md). */
#include "satprobe/svg.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Magnitudes beyond HUGE_VALUE count as infinite, so that every range, step and tick stays
 * finite; below TINY_VALUE they count as 0 where a flat range is opened up, and are not drawn
 * on a log axis, so that no step or tick goes subnormal. */
#define HUGE_VALUE 1e100
#define TINY_VALUE 1e-100

#define MINUS "\xe2\x88\x92"    /* U+2212: negatives typeset with a minus sign, not a hyphen */
#define TIMES "\xc3\x97"        /* U+00D7 */
#define ELLIPSIS "\xe2\x80\xa6" /* U+2026 */

/* Font sizes in px. */
#define FS_TITLE 16.0
#define FS_AXIS 13.0
#define FS_TICK 11.0
#define FS_EXP 8.0 /* exponents in tick labels */
#define FS_LEGEND 12.0
#define FS_MIN 8.0
#define BOLD 1.15 /* bold text is about this much wider */

#define TICK_LEN 5.0
#define LEGEND_PAD 8.0
#define LEGEND_ROW 18.0
#define LEGEND_SAMPLE 26.0
#define LEGEND_GAP 20.0 /* between the plot area and the legend box */

/* Okabe & Ito (2008), distinguishable with every common colour-vision deficiency; yellow last
 * because thin yellow lines are faint on white. */
static const char *const palette[8] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                       "#E69F00", "#56B4E9", "#000000", "#F0E442"};
#define NMARKERS 8
/* Dash patterns of lines, so that lines differ in grey too; NULL is solid. */
static const char *const dashes[5] = {NULL, "1.5 3", "9 3 2 3", "9 3 2 3 2 3", "14 4"};
#define FIT_DASH "5 4"

/* ---- text ----------------------------------------------------------------------------------- */

/* One code point of s: its length in bytes (>= 1) and its value; a malformed byte reads as
 * U+FFFD, so that any input comes out as well-formed UTF-8. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
    unsigned c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) len = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, v = c & 0x07, min = 0x10000;
    else len = 0, v = min = 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) len = 0; /* also stops at the terminating NUL */
        if (!len) break;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (!len || v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = v;
    return len;
}

static size_t utf8_count(const char *s)
{
    size_t n = 0;
    uint32_t cp;
    for (const unsigned char *u = (const unsigned char *)s; *u; u += utf8_next(u, &cp)) n++;
    return n;
}

/* Append one code point of s (len bytes, value cp) escaped for XML text and attribute values.
 * Control characters are not allowed in XML 1.0 (and SVG would collapse them to spaces). */
static void put_escaped_cp(sp_strbuf *sb, const char *s, size_t len, uint32_t cp)
{
    switch (cp) {
    case '&': sp_strbuf_puts(sb, "&amp;"); return;
    case '<': sp_strbuf_puts(sb, "&lt;"); return;
    case '>': sp_strbuf_puts(sb, "&gt;"); return;
    case '"': sp_strbuf_puts(sb, "&quot;"); return;
    case '\'': sp_strbuf_puts(sb, "&apos;"); return;
    default: break;
    }
    if (cp < 0x20 || cp == 0x7F) sp_strbuf_putc(sb, ' ');
    else if (cp == 0xFFFD || cp == 0xFFFE || cp == 0xFFFF) sp_strbuf_puts(sb, "\xef\xbf\xbd");
    else sp_strbuf_append(sb, s, len);
}

/* Append s escaped, at most maxchars code points: a longer text is cut to maxchars − 1 and an
 * ellipsis. */
static void put_text(sp_strbuf *sb, const char *s, size_t maxchars)
{
    size_t n = utf8_count(s), keep = n <= maxchars ? n : (maxchars ? maxchars - 1 : 0);
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < keep; i++) {
        uint32_t cp;
        size_t len = utf8_next(u, &cp);
        put_escaped_cp(sb, (const char *)u, len, cp);
        u += len;
    }
    if (keep < n) sp_strbuf_puts(sb, ELLIPSIS);
}

/* Text is measured by an estimate, as the viewer's font is unknown: the advance widths of
 * DejaVu Sans, in hundredths of an em, for printable ASCII. It is the widest of the fonts that
 * usually stand in for sans-serif (Helvetica and Arial are narrower), so estimates err towards
 * room to spare rather than overlap. */
static const unsigned char ascii_width[95] = {
    32, 40, 46, 84, 64, 95, 78, 28, 39, 39, 50, 84, 32, 36, 32, 34, /*  !"#$%&'()*+,-./ */
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 34, 34, 84, 84, 84, 53, /* 0-9 :;<=>? */
    100, 68, 69, 70, 77, 63, 58, 78, 75, 30, 30, 66, 56, 86, 75, 79, /* @A-O */
    60, 79, 69, 64, 61, 73, 68, 99, 69, 61, 69, 39, 34, 39, 84, 50, /* P-Z [\]^_ */
    50, 61, 64, 55, 64, 62, 35, 64, 63, 28, 28, 58, 28, 97, 63, 61, /* `a-o */
    64, 64, 41, 52, 39, 63, 59, 82, 59, 59, 53, 64, 34, 64, 84,     /* p-z {|}~ */
};

/* Width of one code point in em: other scripts as wide letters, CJK and beyond as a full em. */
static double cp_width(uint32_t cp)
{
    if (cp >= 32 && cp < 127) return ascii_width[cp - 32] / 100.0;
    return cp < 0x2E80 ? 0.7 : 1.0;
}

static double text_width(const char *s, double fs)
{
    double w = 0;
    for (const unsigned char *u = (const unsigned char *)s; *u;) {
        uint32_t cp;
        u += utf8_next(u, &cp);
        w += cp_width(cp);
    }
    return w * fs;
}

/* How many code points put_text keeps so that s fits in width at size fs (SIZE_MAX: all of it):
 * the longest prefix that fits with an ellipsis (1 em), and at least one character. */
static size_t cut_to(const char *s, double fs, double width)
{
    if (text_width(s, fs) <= width) return SIZE_MAX;
    double w = 1.0 * fs;
    size_t keep = 0;
    for (const unsigned char *u = (const unsigned char *)s; *u; keep++) {
        uint32_t cp;
        u += utf8_next(u, &cp);
        if ((w += cp_width(cp) * fs) > width) break;
    }
    return (keep ? keep : 1) + 1; /* put_text counts the ellipsis in */
}

/* A text fitted into a width: shrunk from fs down to FS_MIN at most, then cut (maxchars for
 * put_text). */
typedef struct fitted {
    double fs;
    size_t maxchars;
} fitted;

static fitted fit_text(const char *s, double fs, double width)
{
    double w = text_width(s, fs);
    fitted f = {fs, SIZE_MAX};
    if (w <= width) return f;
    f.fs = fmax(FS_MIN, fs * width / w);
    f.maxchars = cut_to(s, f.fs, width);
    return f;
}

/* ---- numbers -------------------------------------------------------------------------------- */

/* Numbers are printed through integers, which no locale changes, so the bytes are the same
 * everywhere. */

static double pow10i(int k) { return pow(10.0, (double)k); }

/* |v| with `decimals` digits after the point (0..12), trailing zeros dropped, and a minus
 * sign if v is negative and does not round to 0. |v| * 10^decimals must stay below 2^63. */
static void fmt_fixed(char *buf, size_t size, double v, int decimals, const char *minus)
{
    decimals = decimals < 0 ? 0 : decimals > 12 ? 12 : decimals;
    unsigned long long scale = 1;
    for (int i = 0; i < decimals; i++) scale *= 10;
    unsigned long long u = (unsigned long long)llround(fabs(v) * (double)scale);
    char frac[24] = "";
    if (decimals) {
        snprintf(frac, sizeof frac, "%0*llu", decimals, u % scale);
        for (size_t i = strlen(frac); i > 0 && frac[i - 1] == '0'; i--) frac[i - 1] = '\0';
    }
    snprintf(buf, size, "%s%llu%s%s", u && v < 0 ? minus : "", u / scale, frac[0] ? "." : "",
             frac);
}

/* A coordinate: two decimals at most ("12.5", "-3", "7.25"), clamped far outside any canvas
 * so that a value far beyond a fixed axis range still prints as a plain number. */
static void put_num(sp_strbuf *sb, double v)
{
    char buf[32];
    v = v < -1e6 ? -1e6 : v > 1e6 ? 1e6 : v;
    fmt_fixed(buf, sizeof buf, v, 2, "-");
    sp_strbuf_puts(sb, buf);
}

static void put_xy(sp_strbuf *sb, char cmd, double x, double y)
{
    sp_strbuf_putc(sb, cmd);
    put_num(sb, x);
    sp_strbuf_putc(sb, ' ');
    put_num(sb, y);
}

/* ---- ticks ---------------------------------------------------------------------------------- */

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

/* m×10^e with `digits` digits in m; a mantissa that rounds up to 10 moves to the next power. */
static void fmt_sci(char *buf, size_t size, double v, int e, int digits, bool log)
{
    char m[32];
    double mant = v / pow10i(e);
    fmt_fixed(m, sizeof m, mant, digits, MINUS);
    if (strcmp(m, "10") == 0 || strcmp(m, MINUS "10") == 0) {
        e++;
        fmt_fixed(m, sizeof m, mant / 10, digits, MINUS);
    }
    char ex[32];
    fmt_fixed(ex, sizeof ex, e, 0, MINUS);
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
        fmt_fixed(buf, size, v, t->by_value ? -e : -t->step_exp, MINUS);
    }
}

/* Width of a tick label, its exponent (after '^') set smaller. */
static double label_width(const char *label, double fs)
{
    const char *caret = strchr(label, '^');
    if (!caret) return text_width(label, fs);
    return text_width(label, fs) - text_width(caret, fs) + text_width(caret + 1, FS_EXP);
}

/* ---- the plot object ------------------------------------------------------------------------ */

typedef struct point {
    double x, y;
    double x1;  /* bars: the right edge (x is the left) */
    double err; /* half the error bar; NaN: none */
} point;

typedef struct data_series {
    char *name; /* NULL: not in the legend */
    sp_svg_kind kind;
    size_t style; /* colour palette[style % 8], marker style % 8, dashes (dash_of) */
    point *pt;    /* [n] */
    size_t n, cap;
} data_series;

typedef struct axis_opts {
    bool log;
    double lo, hi; /* fixed ends; NaN: from the data */
} axis_opts;

struct sp_svg_plot {
    char *title, *xlabel, *ylabel; /* NULL: not drawn */
    double width, height;
    axis_opts axis[2];
    char **cats; /* [ncats] category labels; ncats = 0: numeric x */
    size_t ncats;
    data_series *s; /* [ns] */
    size_t ns, cap;
    size_t next_style;
};

static char *dup_or_null(const char *s) { return s && *s ? sp_strdup(s) : NULL; }

sp_svg_plot *sp_svg_new(const char *title, const char *xlabel, const char *ylabel)
{
    sp_svg_plot *p = sp_calloc(1, sizeof *p);
    p->title = dup_or_null(title);
    p->xlabel = dup_or_null(xlabel);
    p->ylabel = dup_or_null(ylabel);
    p->width = 720;
    p->height = 440;
    for (int a = 0; a < 2; a++) p->axis[a] = (axis_opts){false, NAN, NAN};
    return p;
}

static void free_categories(sp_svg_plot *p)
{
    for (size_t i = 0; i < p->ncats; i++) free(p->cats[i]);
    free(p->cats);
    p->cats = NULL;
    p->ncats = 0;
}

void sp_svg_destroy(sp_svg_plot *p)
{
    if (!p) return;
    free(p->title);
    free(p->xlabel);
    free(p->ylabel);
    free_categories(p);
    for (size_t i = 0; i < p->ns; i++) {
        free(p->s[i].name);
        free(p->s[i].pt);
    }
    free(p->s);
    free(p);
}

static double clamp_size(double v) { return !(v >= 200) ? 200 : v > 4000 ? 4000 : v; }

void sp_svg_size(sp_svg_plot *p, double width, double height)
{
    p->width = clamp_size(width);
    p->height = clamp_size(height);
}

void sp_svg_axis_log(sp_svg_plot *p, sp_svg_axis axis, bool log)
{
    SP_ASSERT(axis == SP_SVG_X || axis == SP_SVG_Y);
    p->axis[axis].log = log;
}

void sp_svg_axis_range(sp_svg_plot *p, sp_svg_axis axis, double lo, double hi)
{
    SP_ASSERT(axis == SP_SVG_X || axis == SP_SVG_Y);
    p->axis[axis].lo = lo;
    p->axis[axis].hi = hi;
}

void sp_svg_x_categories(sp_svg_plot *p, const char *const *labels, size_t n)
{
    free_categories(p);
    if (n == 0) return;
    p->cats = sp_malloc(n, sizeof *p->cats);
    for (size_t i = 0; i < n; i++) p->cats[i] = sp_strdup(labels[i] ? labels[i] : "");
    p->ncats = n;
}

static size_t add_series(sp_svg_plot *p, sp_svg_kind kind, const char *name, size_t style)
{
    SP_ASSERT(kind >= SP_SVG_LINE_MARKERS && kind <= SP_SVG_BARS);
    SP_GROW(p->s, p->cap, p->ns + 1);
    p->s[p->ns] = (data_series){dup_or_null(name), kind, style, NULL, 0, 0};
    return p->ns++;
}

size_t sp_svg_series_add(sp_svg_plot *p, sp_svg_kind kind, const char *name)
{
    return add_series(p, kind, name, p->next_style++);
}

size_t sp_svg_series_add_like(sp_svg_plot *p, sp_svg_kind kind, const char *name, size_t of)
{
    SP_ASSERT(of < p->ns);
    return add_series(p, kind, name, p->s[of].style);
}

static void push(sp_svg_plot *p, size_t s, point pt)
{
    SP_ASSERT(s < p->ns);
    data_series *se = &p->s[s];
    SP_ASSERT((se->kind == SP_SVG_BARS) == !isnan(pt.x1));
    SP_GROW(se->pt, se->cap, se->n + 1);
    se->pt[se->n++] = pt;
}

void sp_svg_point_err(sp_svg_plot *p, size_t series, double x, double y, double err)
{
    push(p, series, (point){x, y, NAN, err > 0 ? err : NAN});
}

void sp_svg_point(sp_svg_plot *p, size_t series, double x, double y)
{
    sp_svg_point_err(p, series, x, y, NAN);
}

void sp_svg_points(sp_svg_plot *p, size_t series, const double *x, const double *y,
                   const double *err, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sp_svg_point_err(p, series, x ? x[i] : (double)i, y[i], err ? err[i] : NAN);
}

static int cmp_x(const void *a, const void *b)
{
    double u = ((const point *)a)->x, v = ((const point *)b)->x;
    return (u > v) - (u < v);
}

void sp_svg_function(sp_svg_plot *p, size_t series, double (*f)(double x, void *ctx), void *ctx,
                     double x0, double x1, size_t n)
{
    SP_ASSERT(series < p->ns && p->s[series].kind != SP_SVG_BARS);
    if (!(isfinite(x0) && isfinite(x1) && x0 < x1)) return;
    if (n < 2) n = 2;
    data_series *se = &p->s[series];
    size_t first = se->n;
    for (size_t i = 0; i < n; i++) {
        double x = i + 1 == n ? x1 : x0 + (x1 - x0) * (double)i / (double)(n - 1);
        sp_svg_point(p, series, x, f(x, ctx));
    }
    if (x0 > 0) {
        for (size_t i = 1; i + 1 < n; i++) {
            double x = x0 * pow(x1 / x0, (double)i / (double)(n - 1));
            sp_svg_point(p, series, x, f(x, ctx));
        }
    }
    /* One polyline in x order; the samples of the two spacings interleave. */
    qsort(se->pt + first, se->n - first, sizeof *se->pt, cmp_x);
}

void sp_svg_bars(sp_svg_plot *p, size_t series, const double *edges, const double *counts,
                 size_t nbins)
{
    for (size_t i = 0; i < nbins; i++) {
        /* A NaN right edge would read as "not a bar"; such a bin is never drawn anyway. */
        double x1 = isnan(edges[i + 1]) ? INFINITY : edges[i + 1];
        push(p, series, (point){edges[i], counts[i], x1, NAN});
    }
}

/* ---- ranges --------------------------------------------------------------------------------- */

static bool drawable(const axis_opts *a, double v)
{
    return isfinite(v) && fabs(v) <= HUGE_VALUE && (!a->log || v >= TINY_VALUE);
}

typedef struct extent {
    double lo, hi;
    bool any;
} extent;

static void extent_add(extent *e, double v)
{
    if (!e->any || v < e->lo) e->lo = v;
    if (!e->any || v > e->hi) e->hi = v;
    e->any = true;
}

static bool bar_drawable(const sp_svg_plot *p, const point *pt)
{
    return drawable(&p->axis[0], pt->x) && drawable(&p->axis[0], pt->x1) && pt->x < pt->x1 &&
           drawable(&p->axis[1], pt->y);
}

static bool point_drawable(const sp_svg_plot *p, const point *pt)
{
    return drawable(&p->axis[0], pt->x) && drawable(&p->axis[1], pt->y);
}

static void point_extent(const sp_svg_plot *p, const point *pt, extent *ex, extent *ey)
{
    const axis_opts *ay = &p->axis[1];
    if (!point_drawable(p, pt)) return;
    extent_add(ex, pt->x);
    extent_add(ey, pt->y);
    if (isnan(pt->err)) return;
    if (drawable(ay, pt->y + pt->err)) extent_add(ey, pt->y + pt->err);
    if (drawable(ay, pt->y - pt->err)) extent_add(ey, pt->y - pt->err);
}

static void data_extents(const sp_svg_plot *p, extent *ex, extent *ey)
{
    for (size_t i = 0; i < p->ns; i++) {
        const data_series *se = &p->s[i];
        for (size_t j = 0; j < se->n; j++) {
            const point *pt = &se->pt[j];
            if (se->kind != SP_SVG_BARS) {
                point_extent(p, pt, ex, ey);
            } else if (bar_drawable(p, pt)) {
                extent_add(ex, pt->x);
                extent_add(ex, pt->x1);
                extent_add(ey, pt->y);
                if (!p->axis[1].log) extent_add(ey, 0); /* bars stand on 0 */
            }
        }
    }
}

static bool wide_enough(double lo, double hi, bool log)
{
    if (log) return hi > lo * (1 + 1e-9);
    return hi - lo > 1e-9 * fmax(fabs(lo), fabs(hi)) && hi - lo > TINY_VALUE;
}

/* A distance from v that opens up a flat range around it: 1 around 0. */
static double room_around(double v, double frac)
{
    return fabs(v) < TINY_VALUE ? 1 : fabs(v) * frac;
}

/* Open up a range too narrow to draw (all values equal) at its free ends. */
static void widen(double *lo, double *hi, bool fixed_lo, bool fixed_hi, bool log)
{
    if (!fixed_lo && !fixed_hi) {
        double d = room_around(*lo, 0.1);
        if (log) *lo /= 2, *hi = *lo * 4;
        else *hi = *lo + d, *lo -= d;
    } else if (fixed_lo) {
        *hi = log ? *lo * 10 : *lo + room_around(*lo, 1);
    } else {
        *lo = log ? *hi / 10 : *hi - room_around(*hi, 1);
    }
}

static int axis_ticks(const axis_opts *a, extent e, const char *name, sp_svg_tickset *t,
                      sp_error *err)
{
    bool flo = !isnan(a->lo), fhi = !isnan(a->hi);
    bool bad_lo = flo && !drawable(a, a->lo), bad_hi = fhi && !drawable(a, a->hi);
    if (bad_lo || bad_hi)
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0,
                            "svg: the %s axis cannot start or end at %g%s", name,
                            bad_lo ? a->lo : a->hi, a->log ? " (it is logarithmic)" : "");
    if (!e.any) e = (extent){a->log ? 1 : 0, a->log ? 10 : 1, true};
    double lo = flo ? a->lo : e.lo, hi = fhi ? a->hi : e.hi;
    if (!wide_enough(lo, hi, a->log)) {
        if (flo && fhi)
            return sp_error_set(err, SP_EINPUT, NULL, 0, 0,
                                "svg: the %s axis range [%g, %g] is empty or too narrow", name,
                                a->lo, a->hi);
        widen(&lo, &hi, flo, fhi, a->log);
    }
    sp_svg_ticks(lo, hi, a->log, !flo, !fhi, t);
    return SP_OK;
}

/* ---- layout --------------------------------------------------------------------------------- */

typedef struct legend {
    size_t rows;     /* entries shown */
    size_t hidden;   /* named series that did not fit: one "+N more" row */
    double text_room; /* names wider than this (px) are cut */
    double x, y, w, h;
} legend;

typedef struct layout {
    double w, h;
    double x0, x1, y0, y1; /* the plot area: left, right, top, bottom (px) */
    sp_svg_tickset xt, yt;
    double xfs;   /* x tick label font size (categories may shrink) */
    double xroom; /* the width a category label may take; wider ones are cut */
    size_t xevery; /* label every xevery-th x tick (or category) */
    size_t yevery;
    legend lg;
    bool any; /* some value is drawn */
} layout;

static void tick_label(const sp_svg_tickset *t, size_t i, char *buf, size_t size)
{
    sp_svg_tick_label(t, t->v[i], buf, size);
}

static double max_label_width(const sp_svg_tickset *t, double fs)
{
    double w = 0;
    char buf[64];
    for (size_t i = 0; i < t->n; i++) {
        tick_label(t, i, buf, sizeof buf);
        w = fmax(w, label_width(buf, fs));
    }
    return w;
}

static size_t named_series(const sp_svg_plot *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->ns; i++) n += p->s[i].name != NULL;
    return n;
}

/* The legend's rows and width; its box is at most 30% of the document's width. */
static void legend_size(const sp_svg_plot *p, layout *L)
{
    legend *lg = &L->lg;
    size_t n = named_series(p);
    memset(lg, 0, sizeof *lg);
    if (n == 0) return;
    double fixed = 2 * LEGEND_PAD + LEGEND_SAMPLE + 6;
    lg->text_room = fmax(4 * FS_LEGEND, 0.3 * L->w - fixed);
    size_t fit = (size_t)fmax(1, (L->y1 - L->y0 - 2 * LEGEND_PAD) / LEGEND_ROW);
    lg->rows = n <= fit ? n : fit - 1;
    lg->hidden = n - lg->rows;
    double tw = lg->hidden ? text_width("+9999 more", FS_LEGEND) : 0;
    for (size_t i = 0, shown = 0; i < p->ns && shown < lg->rows; i++) {
        if (!p->s[i].name) continue;
        tw = fmax(tw, text_width(p->s[i].name, FS_LEGEND));
        shown++;
    }
    lg->w = fixed + fmin(tw, lg->text_room);
    lg->h = 2 * LEGEND_PAD + (double)(lg->rows + (lg->hidden > 0)) * LEGEND_ROW - 4;
}

/* Category labels shrink, then are cut, to fit their slot; if even a cut label does not fit,
 * only every k-th is shown. */
static void fit_categories(const sp_svg_plot *p, layout *L)
{
    double slot = (L->x1 - L->x0) / (double)p->ncats;
    const char *widest = "";
    for (size_t i = 0; i < p->ncats; i++)
        if (text_width(p->cats[i], 1) > text_width(widest, 1)) widest = p->cats[i];
    L->xevery = 1;
    double min_room = 2.3 * FS_MIN; /* two digits and an ellipsis */
    if (slot - 6 < min_room) L->xevery = (size_t)ceil((min_room + 6) / slot);
    L->xroom = slot * (double)L->xevery - 6;
    L->xfs = fit_text(widest, FS_TICK, L->xroom).fs; /* one size for all */
}

static void label_spacing(const sp_svg_plot *p, layout *L)
{
    if (p->ncats) {
        fit_categories(p, L);
    } else {
        double gap = L->xt.n > 1 ? (L->x1 - L->x0) / (double)(L->xt.n - 1) : 1e9;
        L->xevery = (size_t)ceil((max_label_width(&L->xt, FS_TICK) + 8) / gap);
        L->xfs = FS_TICK;
    }
    double ygap = L->yt.n > 1 ? (L->y1 - L->y0) / (double)(L->yt.n - 1) : 1e9;
    L->yevery = (size_t)ceil((FS_TICK + 3) / ygap);
    if (L->xevery < 1) L->xevery = 1;
    if (L->yevery < 1) L->yevery = 1;
}

/* Categories sit at 0, 1, ..., n − 1 with half a slot to spare at either end. */
static int x_ticks(const sp_svg_plot *p, extent ex, layout *L, sp_error *err)
{
    if (!p->ncats) return axis_ticks(&p->axis[0], ex, "x", &L->xt, err);
    memset(&L->xt, 0, sizeof L->xt);
    L->xt.lo = -0.5;
    L->xt.hi = (double)p->ncats - 0.5;
    return SP_OK;
}

static int compute_layout(const sp_svg_plot *p, layout *L, sp_error *err)
{
    memset(L, 0, sizeof *L);
    if (p->ncats && p->axis[0].log)
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0,
                            "svg: a categorical x axis cannot be logarithmic");
    extent ex = {0, 0, false}, ey = {0, 0, false};
    data_extents(p, &ex, &ey);
    L->any = ey.any;
    int status = x_ticks(p, ex, L, err);
    if (status || (status = axis_ticks(&p->axis[1], ey, "y", &L->yt, err))) return status;

    L->w = p->width;
    L->h = p->height;
    L->y0 = p->title ? 44 : 16;
    L->y1 = L->h - (TICK_LEN + 4 + FS_TICK + 8 + (p->xlabel ? FS_AXIS + 10 : 0));
    double ylabels = fmin(max_label_width(&L->yt, FS_TICK), 0.25 * L->w);
    L->x0 = 10 + (p->ylabel ? FS_AXIS + 10 : 0) + ylabels + TICK_LEN + 4;
    legend_size(p, L);
    double right = 16;
    if (L->lg.rows) right = LEGEND_GAP + L->lg.w + 10;
    else if (!p->ncats && L->xt.n) right = fmax(right, max_label_width(&L->xt, FS_TICK) / 2 + 6);
    L->x1 = L->w - right;
    /* Whole pixels, so that 1 px axis lines at .5 are sharp. */
    L->x0 = round(L->x0), L->x1 = round(L->x1), L->y0 = round(L->y0), L->y1 = round(L->y1);
    L->lg.x = L->x1 + LEGEND_GAP;
    L->lg.y = L->y0;
    label_spacing(p, L);
    return SP_OK;
}

static double map_value(const sp_svg_tickset *t, double v, double a, double b)
{
    double f = t->log ? (log10(v) - log10(t->lo)) / (log10(t->hi) - log10(t->lo))
                      : (v - t->lo) / (t->hi - t->lo);
    return a + f * (b - a);
}

static double px(const layout *L, double x) { return map_value(&L->xt, x, L->x0, L->x1); }
static double py(const layout *L, double y) { return map_value(&L->yt, y, L->y1, L->y0); }

static bool inside(const layout *L, double x, double y)
{
    return x >= L->x0 - 0.5 && x <= L->x1 + 0.5 && y >= L->y0 - 0.5 && y <= L->y1 + 0.5;
}

/* ---- drawing: frame ------------------------------------------------------------------------- */

static void attr_num(sp_strbuf *sb, const char *name, double v)
{
    sp_strbuf_printf(sb, " %s=\"", name);
    put_num(sb, v);
    sp_strbuf_putc(sb, '"');
}

static void put_line(sp_strbuf *sb, double xa, double ya, double xb, double yb)
{
    sp_strbuf_puts(sb, "<line");
    attr_num(sb, "x1", xa);
    attr_num(sb, "y1", ya);
    attr_num(sb, "x2", xb);
    attr_num(sb, "y2", yb);
    sp_strbuf_puts(sb, "/>\n");
}

static void put_rect(sp_strbuf *sb, double x, double y, double w, double h, const char *rest)
{
    sp_strbuf_puts(sb, "<rect");
    attr_num(sb, "x", x);
    attr_num(sb, "y", y);
    attr_num(sb, "width", w);
    attr_num(sb, "height", h);
    sp_strbuf_printf(sb, "%s/>\n", rest);
}

static void draw_header(sp_strbuf *sb, const sp_svg_plot *p, const layout *L)
{
    sp_strbuf_puts(sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\"");
    attr_num(sb, "width", L->w);
    attr_num(sb, "height", L->h);
    sp_strbuf_puts(sb, " viewBox=\"0 0 ");
    put_num(sb, L->w);
    sp_strbuf_putc(sb, ' ');
    put_num(sb, L->h);
    sp_strbuf_puts(sb, "\" font-family=\"sans-serif\">\n");
    if (p->title) {
        sp_strbuf_puts(sb, "<title>");
        put_text(sb, p->title, SIZE_MAX);
        sp_strbuf_puts(sb, "</title>\n");
    }
    put_rect(sb, 0, 0, L->w, L->h, " fill=\"#FFFFFF\"");
    /* Lines, bars and error bars are cut at the plot area; markers are drawn whole where their
     * centre is inside it. */
    sp_strbuf_puts(sb, "<defs><clipPath id=\"sp-plot-area\">\n");
    put_rect(sb, L->x0, L->y0, L->x1 - L->x0, L->y1 - L->y0, "");
    sp_strbuf_puts(sb, "</clipPath></defs>\n");
}

static void draw_grid(sp_strbuf *sb, const sp_svg_plot *p, const layout *L)
{
    sp_strbuf_puts(sb, "<g stroke=\"#E6E6E6\" stroke-width=\"1\""
                       " shape-rendering=\"crispEdges\">\n");
    for (size_t i = 0; i < L->yt.n; i++) {
        double y = round(py(L, L->yt.v[i])) + 0.5;
        if (y < L->y1) put_line(sb, L->x0, y, L->x1, y);
    }
    for (size_t i = 0; !p->ncats && i < L->xt.n; i++) {
        double x = round(px(L, L->xt.v[i])) + 0.5;
        if (x > L->x0 + 1) put_line(sb, x, L->y0, x, L->y1);
    }
    sp_strbuf_puts(sb, "</g>\n");
}

/* Unlabelled ticks at 2..9 × 10^e on a log axis whose labelled ticks are at most a decade
 * apart, so that values between decades can be read. Returns how many went to v. */
static size_t minor_ticks(const sp_svg_tickset *t, double *v, size_t cap)
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

static void draw_minor_ticks(sp_strbuf *sb, const layout *L)
{
    double v[128];
    size_t n = minor_ticks(&L->yt, v, 128);
    for (size_t i = 0; i < n; i++) {
        double y = round(py(L, v[i])) + 0.5;
        put_line(sb, L->x0 + 0.5 - 3, y, L->x0 + 0.5, y);
    }
    n = minor_ticks(&L->xt, v, 128);
    for (size_t i = 0; i < n; i++) {
        double x = round(px(L, v[i])) + 0.5;
        put_line(sb, x, L->y1 + 0.5, x, L->y1 + 3.5);
    }
}

static void draw_axes(sp_strbuf *sb, const sp_svg_plot *p, const layout *L)
{
    double xa = L->x0 + 0.5, yb = L->y1 + 0.5;
    sp_strbuf_puts(sb, "<g stroke=\"#000000\" stroke-width=\"1\""
                       " shape-rendering=\"crispEdges\">\n");
    put_line(sb, xa, L->y0, xa, yb);
    put_line(sb, L->x0, yb, L->x1, yb);
    for (size_t i = 0; i < L->yt.n; i++) {
        double y = round(py(L, L->yt.v[i])) + 0.5;
        put_line(sb, xa - TICK_LEN, y, xa, y);
    }
    size_t nx = p->ncats ? p->ncats : L->xt.n;
    for (size_t i = 0; i < nx; i++) {
        double x = round(px(L, p->ncats ? (double)i : L->xt.v[i])) + 0.5;
        put_line(sb, x, yb, x, yb + TICK_LEN);
    }
    draw_minor_ticks(sb, L);
    sp_strbuf_puts(sb, "</g>\n");
}

/* A tick label: the part after '^' is an exponent, raised and smaller. */
static void put_tick_text(sp_strbuf *sb, const char *label)
{
    const char *caret = strchr(label, '^');
    if (!caret) {
        put_text(sb, label, SIZE_MAX);
        return;
    }
    char base[64];
    snprintf(base, sizeof base, "%.*s", (int)(caret - label), label);
    put_text(sb, base, SIZE_MAX);
    sp_strbuf_printf(sb, "<tspan dy=\"-4\" font-size=\"%d\">", (int)FS_EXP);
    put_text(sb, caret + 1, SIZE_MAX);
    sp_strbuf_puts(sb, "</tspan>");
}

static void text_open(sp_strbuf *sb, double x, double y)
{
    sp_strbuf_puts(sb, "<text");
    attr_num(sb, "x", x);
    attr_num(sb, "y", y);
    sp_strbuf_putc(sb, '>');
}

static void draw_y_labels(sp_strbuf *sb, const layout *L)
{
    char buf[64];
    sp_strbuf_printf(sb, "<g font-size=\"%d\" text-anchor=\"end\" fill=\"#000000\">\n",
                     (int)FS_TICK);
    for (size_t i = 0; i < L->yt.n; i += L->yevery) {
        tick_label(&L->yt, i, buf, sizeof buf);
        text_open(sb, L->x0 - TICK_LEN - 3, round(py(L, L->yt.v[i])) + 0.35 * FS_TICK);
        put_tick_text(sb, buf);
        sp_strbuf_puts(sb, "</text>\n");
    }
    sp_strbuf_puts(sb, "</g>\n");
}

static void draw_x_labels(sp_strbuf *sb, const sp_svg_plot *p, const layout *L)
{
    char buf[64];
    sp_strbuf_puts(sb, "<g font-size=\"");
    put_num(sb, L->xfs);
    sp_strbuf_puts(sb, "\" text-anchor=\"middle\" fill=\"#000000\">\n");
    double y = L->y1 + TICK_LEN + 3 + 0.8 * L->xfs;
    size_t nx = p->ncats ? p->ncats : L->xt.n;
    for (size_t i = 0; i < nx; i += L->xevery) {
        text_open(sb, round(px(L, p->ncats ? (double)i : L->xt.v[i])) + 0.5, y);
        if (p->ncats) {
            put_text(sb, p->cats[i], cut_to(p->cats[i], L->xfs, L->xroom));
        } else {
            tick_label(&L->xt, i, buf, sizeof buf);
            put_tick_text(sb, buf);
        }
        sp_strbuf_puts(sb, "</text>\n");
    }
    sp_strbuf_puts(sb, "</g>\n");
}

/* A text of at most `width` px centred on x with its baseline at y, shrunk or cut to fit. */
static void put_fitted(sp_strbuf *sb, const char *s, double fs, double width, double x, double y,
                       const char *extra)
{
    fitted f = fit_text(s, fs, width);
    sp_strbuf_puts(sb, "<text");
    attr_num(sb, "x", x);
    attr_num(sb, "y", y);
    attr_num(sb, "font-size", f.fs);
    sp_strbuf_printf(sb, " text-anchor=\"middle\"%s>", extra);
    put_text(sb, s, f.maxchars);
    sp_strbuf_puts(sb, "</text>\n");
}

static void draw_titles(sp_strbuf *sb, const sp_svg_plot *p, const layout *L)
{
    double cx = (L->x0 + L->x1) / 2;
    if (p->xlabel) put_fitted(sb, p->xlabel, FS_AXIS, L->x1 - L->x0, cx, L->h - 12, "");
    if (p->ylabel) {
        /* Rotated a quarter turn: the glyphs lie left of the baseline x = 10 + ascent. */
        double x = 10 + 0.8 * FS_AXIS, cy = (L->y0 + L->y1) / 2;
        char rot[96], a[32], b[32];
        fmt_fixed(a, sizeof a, x, 2, "-");
        fmt_fixed(b, sizeof b, cy, 2, "-");
        snprintf(rot, sizeof rot, " transform=\"rotate(-90 %s %s)\"", a, b);
        put_fitted(sb, p->ylabel, FS_AXIS, L->y1 - L->y0, x, cy, rot);
    }
    if (p->title) {
        /* Centred over the plot area unless that would push it off the page. */
        double room = (L->w - 20) / BOLD; /* measured as regular text */
        fitted f = fit_text(p->title, FS_TITLE, room);
        double half = fmin(text_width(p->title, f.fs), room) * BOLD / 2;
        cx = fmax(10 + half, fmin(cx, L->w - 10 - half));
        put_fitted(sb, p->title, FS_TITLE, room, cx, 12 + 0.8 * FS_TITLE, " font-weight=\"bold\"");
    }
}

/* ---- drawing: data -------------------------------------------------------------------------- */

static const char *colour_of(const data_series *s) { return palette[s->style % 8]; }

static const char *dash_of(const data_series *s)
{
    switch (s->kind) {
    case SP_SVG_LINE: return dashes[s->style % 5];
    case SP_SVG_LINE_MARKERS: return dashes[(s->style / 8) % 5]; /* solid until colours repeat */
    case SP_SVG_FIT: return FIT_DASH;
    default: return NULL;
    }
}

static bool has_line(const data_series *s)
{
    return s->kind == SP_SVG_LINE || s->kind == SP_SVG_LINE_MARKERS || s->kind == SP_SVG_FIT;
}

static bool has_markers(const data_series *s)
{
    return s->kind == SP_SVG_LINE_MARKERS || s->kind == SP_SVG_MARKERS;
}

static void stroke_attrs(sp_strbuf *sb, const data_series *s)
{
    sp_strbuf_printf(sb, " fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"", colour_of(s),
                     s->kind == SP_SVG_LINE ? "1.8" : "1.6");
    const char *dash = dash_of(s);
    if (dash) sp_strbuf_printf(sb, " stroke-dasharray=\"%s\"", dash);
    sp_strbuf_puts(sb, " stroke-linejoin=\"round\"");
}

/* Overlapping histograms show through each other. */
static const char *bar_opacity(const sp_svg_plot *p)
{
    size_t nbars = 0;
    for (size_t i = 0; i < p->ns; i++) nbars += p->s[i].kind == SP_SVG_BARS;
    return nbars > 1 ? "0.55" : "0.85";
}

static void draw_bars(sp_strbuf *sb, const sp_svg_plot *p, const layout *L)
{
    const char *opacity = bar_opacity(p);
    double base = L->yt.log ? L->y1 : py(L, fmin(fmax(0, L->yt.lo), L->yt.hi));
    for (size_t i = 0; i < p->ns; i++) {
        const data_series *s = &p->s[i];
        if (s->kind != SP_SVG_BARS) continue;
        sp_strbuf_printf(sb, "<g class=\"bars\" fill=\"%s\" fill-opacity=\"%s\" stroke=\"#FFFFFF\""
                         " stroke-width=\"1\" clip-path=\"url(#sp-plot-area)\">\n",
                         colour_of(s), opacity);
        for (size_t j = 0; j < s->n; j++) {
            const point *pt = &s->pt[j];
            if (!bar_drawable(p, pt)) continue;
            double xa = px(L, pt->x), xb = px(L, pt->x1), y = py(L, pt->y);
            put_rect(sb, xa, fmin(y, base), xb - xa, fabs(base - y), "");
        }
        sp_strbuf_puts(sb, "</g>\n");
    }
}

static void error_bar(sp_strbuf *sb, const layout *L, const point *pt)
{
    double x = px(L, pt->x), top = py(L, pt->y + pt->err);
    /* On a log axis a bar reaching 0 or below runs off the bottom (and is cut there). */
    bool low_ok = !L->yt.log || pt->y - pt->err > 0;
    double bot = low_ok ? py(L, pt->y - pt->err) : L->y1 + 10;
    put_xy(sb, 'M', x, top);
    put_xy(sb, 'L', x, bot);
    put_xy(sb, 'M', x - 3, top);
    put_xy(sb, 'L', x + 3, top);
    if (low_ok) {
        put_xy(sb, 'M', x - 3, bot);
        put_xy(sb, 'L', x + 3, bot);
    }
}

static bool has_error_bar(const sp_svg_plot *p, const point *pt)
{
    return point_drawable(p, pt) && isfinite(pt->err);
}

static void draw_errors(sp_strbuf *sb, const sp_svg_plot *p, const layout *L, const data_series *s)
{
    size_t j = 0;
    while (j < s->n && !has_error_bar(p, &s->pt[j])) j++;
    if (j == s->n) return;
    sp_strbuf_printf(sb, "<path class=\"errors\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\""
                     " clip-path=\"url(#sp-plot-area)\" d=\"", colour_of(s));
    for (; j < s->n; j++)
        if (has_error_bar(p, &s->pt[j])) error_bar(sb, L, &s->pt[j]);
    sp_strbuf_puts(sb, "\"/>\n");
}

/* One path for the series, a subpath per run of drawable points, so that a value that cannot
 * be drawn leaves a gap. A run of one point is drawn as a dot (it has no length to stroke). */
static void draw_line(sp_strbuf *sb, const sp_svg_plot *p, const layout *L, const data_series *s)
{
    sp_strbuf dots;
    sp_strbuf_init(&dots);
    sp_strbuf_puts(sb, "<path class=\"line\"");
    stroke_attrs(sb, s);
    sp_strbuf_puts(sb, " clip-path=\"url(#sp-plot-area)\" d=\"");
    size_t run = 0;
    for (size_t j = 0; j <= s->n; j++) {
        bool ok = j < s->n && point_drawable(p, &s->pt[j]);
        if (!ok && run == 1 && !has_markers(s)) {
            const point *q = &s->pt[j - 1];
            sp_strbuf_puts(&dots, "<circle");
            attr_num(&dots, "cx", px(L, q->x));
            attr_num(&dots, "cy", py(L, q->y));
            sp_strbuf_printf(&dots, " r=\"2\" fill=\"%s\"/>\n", colour_of(s));
        }
        if (!ok) {
            run = 0;
            continue;
        }
        put_xy(sb, run ? 'L' : 'M', px(L, s->pt[j].x), py(L, s->pt[j].y));
        run++;
    }
    sp_strbuf_puts(sb, "\"/>\n");
    if (dots.len) {
        sp_strbuf_puts(sb, "<g clip-path=\"url(#sp-plot-area)\">\n");
        sp_strbuf_append(sb, dots.buf, dots.len);
        sp_strbuf_puts(sb, "</g>\n");
    }
    sp_strbuf_free(&dots);
}

/* Marker shapes 0-4 are filled, 5-7 (cross, plus, open circle) are stroked. */
static bool marker_filled(size_t shape) { return shape < 5; }

static void marker_circle(sp_strbuf *sb, double x, double y, double r)
{
    put_xy(sb, 'M', x - r, y);
    sp_strbuf_puts(sb, "a");
    put_num(sb, r);
    sp_strbuf_putc(sb, ' ');
    put_num(sb, r);
    sp_strbuf_puts(sb, " 0 1 0 ");
    put_num(sb, 2 * r);
    sp_strbuf_puts(sb, " 0a");
    put_num(sb, r);
    sp_strbuf_putc(sb, ' ');
    put_num(sb, r);
    sp_strbuf_puts(sb, " 0 1 0 ");
    put_num(sb, -2 * r);
    sp_strbuf_puts(sb, " 0Z");
}

/* A closed polygon through n offsets (dx, dy) from (x, y). */
static void marker_polygon(sp_strbuf *sb, double x, double y, const double (*d)[2], size_t n)
{
    for (size_t i = 0; i < n; i++) put_xy(sb, i ? 'L' : 'M', x + d[i][0], y + d[i][1]);
    sp_strbuf_putc(sb, 'Z');
}

static void marker_path(sp_strbuf *sb, size_t shape, double x, double y)
{
    static const double square[4][2] = {{-3.3, -3.3}, {3.3, -3.3}, {3.3, 3.3}, {-3.3, 3.3}};
    static const double up[3][2] = {{0, -4.6}, {4.2, 2.7}, {-4.2, 2.7}};
    static const double diamond[4][2] = {{0, -4.8}, {4.4, 0}, {0, 4.8}, {-4.4, 0}};
    static const double down[3][2] = {{0, 4.6}, {4.2, -2.7}, {-4.2, -2.7}};
    switch (shape) {
    case 0: marker_circle(sb, x, y, 3.8); break;
    case 1: marker_polygon(sb, x, y, square, 4); break;
    case 2: marker_polygon(sb, x, y, up, 3); break;
    case 3: marker_polygon(sb, x, y, diamond, 4); break;
    case 4: marker_polygon(sb, x, y, down, 3); break;
    case 5:
        put_xy(sb, 'M', x - 3.5, y - 3.5), put_xy(sb, 'L', x + 3.5, y + 3.5);
        put_xy(sb, 'M', x - 3.5, y + 3.5), put_xy(sb, 'L', x + 3.5, y - 3.5);
        break;
    case 6:
        put_xy(sb, 'M', x - 4.5, y), put_xy(sb, 'L', x + 4.5, y);
        put_xy(sb, 'M', x, y - 4.5), put_xy(sb, 'L', x, y + 4.5);
        break;
    default: marker_circle(sb, x, y, 3.4); break;
    }
}

static void marker_attrs(sp_strbuf *sb, const data_series *s)
{
    size_t shape = s->style % NMARKERS;
    /* A white rim keeps a filled marker visible over the lines of other series. */
    if (marker_filled(shape))
        sp_strbuf_printf(sb, " fill=\"%s\" stroke=\"#FFFFFF\" stroke-width=\"0.8\"", colour_of(s));
    else
        sp_strbuf_printf(sb, " fill=\"%s\" stroke=\"%s\" stroke-width=\"1.8\"",
                         shape == 7 ? "#FFFFFF" : "none", colour_of(s));
}

static void draw_markers(sp_strbuf *sb, const sp_svg_plot *p, const layout *L, const data_series *s)
{
    sp_strbuf_puts(sb, "<path class=\"markers\"");
    marker_attrs(sb, s);
    sp_strbuf_puts(sb, " d=\"");
    for (size_t j = 0; j < s->n; j++) {
        if (!point_drawable(p, &s->pt[j])) continue;
        double x = px(L, s->pt[j].x), y = py(L, s->pt[j].y);
        if (inside(L, x, y)) marker_path(sb, s->style % NMARKERS, x, y);
    }
    sp_strbuf_puts(sb, "\"/>\n");
}

/* Bars first, then error bars, lines and markers, so that no line hides a marker. */
static void draw_data(sp_strbuf *sb, const sp_svg_plot *p, const layout *L)
{
    draw_bars(sb, p, L);
    for (size_t i = 0; i < p->ns; i++)
        if (has_markers(&p->s[i])) draw_errors(sb, p, L, &p->s[i]);
    for (size_t i = 0; i < p->ns; i++)
        if (has_line(&p->s[i])) draw_line(sb, p, L, &p->s[i]);
    for (size_t i = 0; i < p->ns; i++)
        if (has_markers(&p->s[i])) draw_markers(sb, p, L, &p->s[i]);
    if (!L->any) {
        sp_strbuf_printf(sb, "<text text-anchor=\"middle\" font-size=\"%d\" fill=\"#777777\"",
                         (int)FS_AXIS);
        attr_num(sb, "x", (L->x0 + L->x1) / 2);
        attr_num(sb, "y", (L->y0 + L->y1) / 2);
        sp_strbuf_puts(sb, ">no data</text>\n");
    }
}

/* ---- drawing: legend ------------------------------------------------------------------------ */

static void legend_sample(sp_strbuf *sb, const sp_svg_plot *p, const data_series *s, double x,
                          double y)
{
    if (s->kind == SP_SVG_BARS) {
        char rest[96];
        snprintf(rest, sizeof rest, " fill=\"%s\" fill-opacity=\"%s\"", colour_of(s),
                 bar_opacity(p));
        put_rect(sb, x + 6, y - 5, LEGEND_SAMPLE - 12, 10, rest);
        return;
    }
    if (has_line(s)) {
        sp_strbuf_puts(sb, "<path");
        stroke_attrs(sb, s);
        sp_strbuf_puts(sb, " d=\"");
        put_xy(sb, 'M', x, y);
        put_xy(sb, 'L', x + LEGEND_SAMPLE, y);
        sp_strbuf_puts(sb, "\"/>\n");
    }
    if (has_markers(s)) {
        sp_strbuf_puts(sb, "<path");
        marker_attrs(sb, s);
        sp_strbuf_puts(sb, " d=\"");
        marker_path(sb, s->style % NMARKERS, x + LEGEND_SAMPLE / 2, y);
        sp_strbuf_puts(sb, "\"/>\n");
    }
}

static void legend_text(sp_strbuf *sb, const legend *lg, double y, const char *s, size_t maxch)
{
    text_open(sb, lg->x + LEGEND_PAD + LEGEND_SAMPLE + 6, y + 0.35 * FS_LEGEND);
    put_text(sb, s, maxch);
    sp_strbuf_puts(sb, "</text>\n");
}

static void draw_legend(sp_strbuf *sb, const sp_svg_plot *p, const layout *L)
{
    const legend *lg = &L->lg;
    if (!lg->rows) return;
    sp_strbuf_printf(sb, "<g class=\"legend\" font-size=\"%d\" fill=\"#000000\">\n",
                     (int)FS_LEGEND);
    put_rect(sb, lg->x + 0.5, lg->y + 0.5, lg->w, lg->h,
             " fill=\"#FFFFFF\" stroke=\"#BBBBBB\" stroke-width=\"1\"");
    double y = lg->y + LEGEND_PAD + LEGEND_ROW / 2 - 2;
    for (size_t i = 0, shown = 0; i < p->ns && shown < lg->rows; i++) {
        const data_series *s = &p->s[i];
        if (!s->name) continue;
        legend_sample(sb, p, s, lg->x + LEGEND_PAD, y);
        legend_text(sb, lg, y, s->name, cut_to(s->name, FS_LEGEND, lg->text_room));
        y += LEGEND_ROW;
        shown++;
    }
    if (lg->hidden) {
        char more[48];
        snprintf(more, sizeof more, "+%zu more", lg->hidden);
        legend_text(sb, lg, y, more, SIZE_MAX);
    }
    sp_strbuf_puts(sb, "</g>\n");
}

/* ---- render --------------------------------------------------------------------------------- */

int sp_svg_render(const sp_svg_plot *p, sp_strbuf *out, sp_error *err)
{
    layout L;
    int status = compute_layout(p, &L, err);
    if (status) return status;
    draw_header(out, p, &L);
    draw_grid(out, p, &L);
    draw_data(out, p, &L);
    draw_axes(out, p, &L);
    draw_y_labels(out, &L);
    draw_x_labels(out, p, &L);
    draw_titles(out, p, &L);
    draw_legend(out, p, &L);
    sp_strbuf_puts(out, "</svg>\n");
    return SP_OK;
}

int sp_svg_write(const sp_svg_plot *p, const char *path, sp_error *err)
{
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    int status = sp_svg_render(p, &sb, err);
    if (!status) status = sp_write_file_atomic(path, sb.buf, sb.len, err);
    sp_strbuf_free(&sb);
    return status;
}
