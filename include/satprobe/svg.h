/* SVG plots for papers: line charts (with markers, error bars, fitted curves, log axes,
 * categorical x) and histograms, written as standalone SVG 1.1 documents. docs/plots.md shows
 * what they look like.
 *
 * Ownership: a plot is a heap object (sp_svg_new, sp_svg_destroy) that copies everything it is
 * given (titles, names, labels, values); nothing the caller passes in is kept after the call.
 * sp_svg_render appends to a strbuf the caller owns. Misuse (a series index that does not exist,
 * points added to bars) aborts: it is a bug. Values that cannot be drawn (NaN, infinities,
 * magnitudes above 1e100, and on a log axis values below 1e-100, 0 and negatives) are not
 * errors: they are left out of the drawing and of the axis ranges, and a line has a gap where
 * they were. The output depends only on the calls made, never on the locale or the machine:
 * two renders of the same plot are the same bytes. */
#ifndef SATPROBE_SVG_H
#define SATPROBE_SVG_H

#include "satprobe/error.h"
#include "satprobe/strbuf.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct sp_svg_plot sp_svg_plot;

typedef enum sp_svg_axis { SP_SVG_X = 0, SP_SVG_Y = 1 } sp_svg_axis;

/* How a series is drawn. Each series that is not added "like" another takes the next style:
 * a colour of the Okabe–Ito palette (8 colours), and a marker shape (markers), a dash pattern
 * (lines) or both, chosen so that series still differ when printed in grey. */
typedef enum sp_svg_kind {
    SP_SVG_LINE_MARKERS, /* points with markers joined by solid lines; optional error bars */
    SP_SVG_LINE,         /* a polyline without markers (a norm or saturation curve) */
    SP_SVG_FIT,          /* a dashed line without markers (a fitted curve) */
    SP_SVG_MARKERS,      /* markers only (a scatter); optional error bars */
    SP_SVG_BARS,         /* histogram bars between bin edges, from 0 up to the count */
} sp_svg_kind;

/* An empty plot, 720 × 440 px. Any text may be NULL (not drawn) and is UTF-8; it is escaped
 * for XML, and text too wide for its place is shrunk or cut with an ellipsis. */
sp_svg_plot *sp_svg_new(const char *title, const char *xlabel, const char *ylabel);
void sp_svg_destroy(sp_svg_plot *p);

/* The document's size in px (each clamped to 200..4000). */
void sp_svg_size(sp_svg_plot *p, double width, double height);

/* A logarithmic axis (base 10, ticks at decades). Off by default. */
void sp_svg_axis_log(sp_svg_plot *p, sp_svg_axis axis, bool log);

/* Fix an end of an axis; NAN leaves that end to the data (the default for both). A data end
 * is rounded out to the next tick, a fixed end is kept exactly ([0, 1] for accuracies). A range
 * that is empty, or not positive on a log axis, is an error when the plot is rendered. */
void sp_svg_axis_range(sp_svg_plot *p, sp_svg_axis axis, double lo, double hi);

/* A categorical x axis: category i (0-based) is drawn at x = i and labelled labels[i]. Points
 * then give the category index as their x. Replaces earlier categories; n = 0 goes back to a
 * numeric axis. */
void sp_svg_x_categories(sp_svg_plot *p, const char *const *labels, size_t n);

/* A new series, drawn in the next style; returns its index (0, 1, ... in order of addition).
 * A NULL or empty name leaves the series out of the legend. */
size_t sp_svg_series_add(sp_svg_plot *p, sp_svg_kind kind, const char *name);
/* A series in the colour of series `of` (a fitted curve beside its data); it takes no style of
 * its own, so the series after it get the colours they would have had without it. A FIT series
 * keeps its dashes; other kinds take the marker and dashes of `of` as well. */
size_t sp_svg_series_add_like(sp_svg_plot *p, sp_svg_kind kind, const char *name, size_t of);

/* Append a point (x, y) to a series that is not SP_SVG_BARS. On a categorical axis x is the
 * category index. */
void sp_svg_point(sp_svg_plot *p, size_t series, double x, double y);
/* A point with an error bar from y − err to y + err (mean ± sd), drawn by SP_SVG_LINE_MARKERS
 * and SP_SVG_MARKERS; err NaN or <= 0: no bar. */
void sp_svg_point_err(sp_svg_plot *p, size_t series, double x, double y, double err);
/* n points; x NULL means x = 0, 1, ..., n − 1 (the categories in order); err may be NULL. */
void sp_svg_points(sp_svg_plot *p, size_t series, const double *x, const double *y,
                   const double *err, size_t n);
/* Sample y = f(x, ctx) at n >= 2 points evenly spaced in [x0, x1] and, when 0 < x0 < x1, n more
 * evenly spaced in log x, so that the curve is smooth on a linear and on a log axis alike. The
 * samples are taken now; f and ctx are not kept. */
void sp_svg_function(sp_svg_plot *p, size_t series, double (*f)(double x, void *ctx), void *ctx,
                     double x0, double x1, size_t n);

/* Append bins to an SP_SVG_BARS series: bin i spans [edges[i], edges[i + 1]] and has height
 * counts[i]; edges has nbins + 1 entries. A bin with an edge or count that is not finite, or
 * with edges not increasing, is left out. */
void sp_svg_bars(sp_svg_plot *p, size_t series, const double *edges, const double *counts,
                 size_t nbins);

/* Append the whole document to out. SP_EINPUT for an axis range that cannot be drawn (empty,
 * not positive on a log axis, or a log axis with categories); out is unchanged then. */
int sp_svg_render(const sp_svg_plot *p, sp_strbuf *out, sp_error *err);

/* Render and write to path atomically (sp_write_file_atomic): the file appears whole or not at
 * all, and a failed write leaves no temporary file behind. SP_EIO if it cannot be written. */
int sp_svg_write(const sp_svg_plot *p, const char *path, sp_error *err);

/* ---- axis ticks (used by the renderer; public so that they can be tested) ------------------ */

#define SP_SVG_MAX_TICKS 32

typedef struct sp_svg_tickset {
    double lo, hi;                 /* the axis range: the data range rounded out at extended ends */
    double v[SP_SVG_MAX_TICKS];    /* [n] tick values, increasing, all within [lo, hi] */
    size_t n;
    bool log;                      /* positions are proportional to log10 of the values */
    bool by_value;                 /* log ticks at 1, 2, 5 × 10^k: each label takes the digits its
                                      own value needs (else the step's digits) */
    bool sci;                      /* labels as m×10^e (very large or very small values) */
    int step_exp;                  /* linear steps are m·10^step_exp with m in {1, 2, 5} */
} sp_svg_tickset;

/* Ticks for the range [lo, hi] (lo < hi, both finite, and positive if log). Linear: steps of
 * 1, 2 or 5 × 10^k, the finest that gives at most 8 ticks (4 to 8 when both ends are
 * extended). Log: decades, every d-th (d = 2, 3, 5, 10, 20, 25, 50) when there are more than
 * 8, with 2 and 5 × 10^k between them when the range spans at most two decades, linear steps
 * when fixed ends give fewer than 3 such ticks. An extended end moves out to the next tick; a
 * fixed end stays where it is. */
void sp_svg_ticks(double lo, double hi, bool log, bool extend_lo, bool extend_hi,
                  sp_svg_tickset *t);

/* The label of tick value v as UTF-8 plain text (a minus sign for negatives, no trailing zeros;
 * "2.5×10^6" for very large or small values, the exponent after '^'), into buf. */
void sp_svg_tick_label(const sp_svg_tickset *t, double v, char *buf, size_t size);

#endif
