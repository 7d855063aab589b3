/* Drawing the SVG plots: the frame (grid, axes, tick labels, titles), the data (bars, error
 * bars, lines, markers) and the legend, as a standalone SVG 1.1 document. */
#include "svg_impl.h"
#include "satprobe/fsutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Okabe & Ito (2008), distinguishable with every common colour-vision deficiency; yellow last
 * because thin yellow lines are faint on white. */
static const char *const palette[8] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                       "#E69F00", "#56B4E9", "#000000", "#F0E442"};
#define NMARKERS 8
/* Dash patterns of lines, so that lines differ in grey too; NULL is solid. */
static const char *const dashes[5] = {NULL, "1.5 3", "9 3 2 3", "9 3 2 3 2 3", "14 4"};
#define FIT_DASH "5 4"

/* Data values to px: x from x0 to x1, y from y1 (the bottom) up to y0. */
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
    sp_svg_put_num(sb, v);
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
    sp_svg_put_num(sb, L->w);
    sp_strbuf_putc(sb, ' ');
    sp_svg_put_num(sb, L->h);
    sp_strbuf_puts(sb, "\" font-family=\"sans-serif\">\n");
    if (p->title) {
        sp_strbuf_puts(sb, "<title>");
        sp_svg_put_text(sb, p->title, SIZE_MAX);
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

static void draw_minor_ticks(sp_strbuf *sb, const layout *L)
{
    double v[128];
    size_t n = sp_svg_minor_ticks(&L->yt, v, 128);
    for (size_t i = 0; i < n; i++) {
        double y = round(py(L, v[i])) + 0.5;
        put_line(sb, L->x0 + 0.5 - 3, y, L->x0 + 0.5, y);
    }
    n = sp_svg_minor_ticks(&L->xt, v, 128);
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
        sp_svg_put_text(sb, label, SIZE_MAX);
        return;
    }
    char base[64];
    snprintf(base, sizeof base, "%.*s", (int)(caret - label), label);
    sp_svg_put_text(sb, base, SIZE_MAX);
    sp_strbuf_printf(sb, "<tspan dy=\"-4\" font-size=\"%d\">", (int)FS_EXP);
    sp_svg_put_text(sb, caret + 1, SIZE_MAX);
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
        sp_svg_tick_label(&L->yt, L->yt.v[i], buf, sizeof buf);
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
    sp_svg_put_num(sb, L->xfs);
    sp_strbuf_puts(sb, "\" text-anchor=\"middle\" fill=\"#000000\">\n");
    double y = L->y1 + TICK_LEN + 3 + 0.8 * L->xfs;
    size_t nx = p->ncats ? p->ncats : L->xt.n;
    for (size_t i = 0; i < nx; i += L->xevery) {
        text_open(sb, round(px(L, p->ncats ? (double)i : L->xt.v[i])) + 0.5, y);
        if (p->ncats) {
            sp_svg_put_text(sb, p->cats[i], sp_svg_cut_to(p->cats[i], L->xfs, L->xroom));
        } else {
            sp_svg_tick_label(&L->xt, L->xt.v[i], buf, sizeof buf);
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
    fitted f = sp_svg_fit_text(s, fs, width);
    sp_strbuf_puts(sb, "<text");
    attr_num(sb, "x", x);
    attr_num(sb, "y", y);
    attr_num(sb, "font-size", f.fs);
    sp_strbuf_printf(sb, " text-anchor=\"middle\"%s>", extra);
    sp_svg_put_text(sb, s, f.maxchars);
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
        sp_svg_fmt_fixed(a, sizeof a, x, 2, "-");
        sp_svg_fmt_fixed(b, sizeof b, cy, 2, "-");
        snprintf(rot, sizeof rot, " transform=\"rotate(-90 %s %s)\"", a, b);
        put_fitted(sb, p->ylabel, FS_AXIS, L->y1 - L->y0, x, cy, rot);
    }
    if (p->title) {
        /* Centred over the plot area unless that would push it off the page. */
        double room = (L->w - 20) / BOLD; /* measured as regular text */
        fitted f = sp_svg_fit_text(p->title, FS_TITLE, room);
        double half = fmin(sp_svg_text_width(p->title, f.fs), room) * BOLD / 2;
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
            if (!sp_svg_bar_drawable(p, pt)) continue;
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
    sp_svg_put_xy(sb, 'M', x, top);
    sp_svg_put_xy(sb, 'L', x, bot);
    sp_svg_put_xy(sb, 'M', x - 3, top);
    sp_svg_put_xy(sb, 'L', x + 3, top);
    if (low_ok) {
        sp_svg_put_xy(sb, 'M', x - 3, bot);
        sp_svg_put_xy(sb, 'L', x + 3, bot);
    }
}

static bool has_error_bar(const sp_svg_plot *p, const point *pt)
{
    return sp_svg_point_drawable(p, pt) && isfinite(pt->err);
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
        bool ok = j < s->n && sp_svg_point_drawable(p, &s->pt[j]);
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
        sp_svg_put_xy(sb, run ? 'L' : 'M', px(L, s->pt[j].x), py(L, s->pt[j].y));
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
    sp_svg_put_xy(sb, 'M', x - r, y);
    sp_strbuf_puts(sb, "a");
    sp_svg_put_num(sb, r);
    sp_strbuf_putc(sb, ' ');
    sp_svg_put_num(sb, r);
    sp_strbuf_puts(sb, " 0 1 0 ");
    sp_svg_put_num(sb, 2 * r);
    sp_strbuf_puts(sb, " 0a");
    sp_svg_put_num(sb, r);
    sp_strbuf_putc(sb, ' ');
    sp_svg_put_num(sb, r);
    sp_strbuf_puts(sb, " 0 1 0 ");
    sp_svg_put_num(sb, -2 * r);
    sp_strbuf_puts(sb, " 0Z");
}

/* A closed polygon through n offsets (dx, dy) from (x, y). */
static void marker_polygon(sp_strbuf *sb, double x, double y, const double (*d)[2], size_t n)
{
    for (size_t i = 0; i < n; i++) sp_svg_put_xy(sb, i ? 'L' : 'M', x + d[i][0], y + d[i][1]);
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
        sp_svg_put_xy(sb, 'M', x - 3.5, y - 3.5), sp_svg_put_xy(sb, 'L', x + 3.5, y + 3.5);
        sp_svg_put_xy(sb, 'M', x - 3.5, y + 3.5), sp_svg_put_xy(sb, 'L', x + 3.5, y - 3.5);
        break;
    case 6:
        sp_svg_put_xy(sb, 'M', x - 4.5, y), sp_svg_put_xy(sb, 'L', x + 4.5, y);
        sp_svg_put_xy(sb, 'M', x, y - 4.5), sp_svg_put_xy(sb, 'L', x, y + 4.5);
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
        if (!sp_svg_point_drawable(p, &s->pt[j])) continue;
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
        sp_svg_put_xy(sb, 'M', x, y);
        sp_svg_put_xy(sb, 'L', x + LEGEND_SAMPLE, y);
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
    sp_svg_put_text(sb, s, maxch);
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
        legend_text(sb, lg, y, s->name, sp_svg_cut_to(s->name, FS_LEGEND, lg->text_room));
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
    int status = sp_svg_compute_layout(p, &L, err);
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
