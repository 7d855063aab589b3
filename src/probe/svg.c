/* SVG plots: the plot object (series, points, bars, axis options), the axis ranges the data
 * need, and the layout of a document; svg_draw.c draws it (docs/plots.md). */
#include "svg_impl.h"
#include "satprobe/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Magnitudes beyond HUGE_VALUE count as infinite, so that every range, step and tick stays
 * finite; below TINY_VALUE they count as 0 where a flat range is opened up, and are not drawn
 * on a log axis, so that no step or tick goes subnormal. */
#define HUGE_VALUE 1e100
#define TINY_VALUE 1e-100

/* ---- the plot object ------------------------------------------------------------------------ */

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

bool sp_svg_bar_drawable(const sp_svg_plot *p, const point *pt)
{
    return drawable(&p->axis[0], pt->x) && drawable(&p->axis[0], pt->x1) && pt->x < pt->x1 &&
           drawable(&p->axis[1], pt->y);
}

bool sp_svg_point_drawable(const sp_svg_plot *p, const point *pt)
{
    return drawable(&p->axis[0], pt->x) && drawable(&p->axis[1], pt->y);
}

static void point_extent(const sp_svg_plot *p, const point *pt, extent *ex, extent *ey)
{
    const axis_opts *ay = &p->axis[1];
    if (!sp_svg_point_drawable(p, pt)) return;
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
            } else if (sp_svg_bar_drawable(p, pt)) {
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
    double tw = lg->hidden ? sp_svg_text_width("+9999 more", FS_LEGEND) : 0;
    for (size_t i = 0, shown = 0; i < p->ns && shown < lg->rows; i++) {
        if (!p->s[i].name) continue;
        tw = fmax(tw, sp_svg_text_width(p->s[i].name, FS_LEGEND));
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
        if (sp_svg_text_width(p->cats[i], 1) > sp_svg_text_width(widest, 1)) widest = p->cats[i];
    L->xevery = 1;
    double min_room = 2.3 * FS_MIN; /* two digits and an ellipsis */
    if (slot - 6 < min_room) L->xevery = (size_t)ceil((min_room + 6) / slot);
    L->xroom = slot * (double)L->xevery - 6;
    L->xfs = sp_svg_fit_text(widest, FS_TICK, L->xroom).fs; /* one size for all */
}

static void label_spacing(const sp_svg_plot *p, layout *L)
{
    if (p->ncats) {
        fit_categories(p, L);
    } else {
        double gap = L->xt.n > 1 ? (L->x1 - L->x0) / (double)(L->xt.n - 1) : 1e9;
        L->xevery = (size_t)ceil((sp_svg_max_label_width(&L->xt, FS_TICK) + 8) / gap);
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

int sp_svg_compute_layout(const sp_svg_plot *p, layout *L, sp_error *err)
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
    double ylabels = fmin(sp_svg_max_label_width(&L->yt, FS_TICK), 0.25 * L->w);
    L->x0 = 10 + (p->ylabel ? FS_AXIS + 10 : 0) + ylabels + TICK_LEN + 4;
    legend_size(p, L);
    double right = 16;
    if (L->lg.rows) right = LEGEND_GAP + L->lg.w + 10;
    else if (!p->ncats && L->xt.n)
        right = fmax(right, sp_svg_max_label_width(&L->xt, FS_TICK) / 2 + 6);
    L->x1 = L->w - right;
    /* Whole pixels, so that 1 px axis lines at .5 are sharp. */
    L->x0 = round(L->x0), L->x1 = round(L->x1), L->y0 = round(L->y0), L->y1 = round(L->y1);
    L->lg.x = L->x1 + LEGEND_GAP;
    L->lg.y = L->y0;
    label_spacing(p, L);
    return SP_OK;
}

