/* Private to src/probe's SVG plots: the plot object and its layout, shared by svg.c (the plot
 * object, data ranges, layout), svg_draw.c (drawing and rendering), svg_ticks.c (ticks and
 * their labels) and svg_text.c (text and numbers). */
#ifndef SATPROBE_SVG_IMPL_H
#define SATPROBE_SVG_IMPL_H

#include "satprobe/svg.h"

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

/* ---- text and numbers (svg_text.c) ---- */

/* A text fitted into a width: shrunk from fs down to FS_MIN at most, then cut (maxchars for
 * sp_svg_put_text). */
typedef struct fitted {
    double fs;
    size_t maxchars;
} fitted;

/* Append s escaped, at most maxchars code points: a longer text is cut to maxchars − 1 and an
 * ellipsis. */
void sp_svg_put_text(sp_strbuf *sb, const char *s, size_t maxchars);
/* The estimated width in px of s at font size fs (the advance widths of DejaVu Sans). */
double sp_svg_text_width(const char *s, double fs);
/* How many code points sp_svg_put_text keeps so that s fits in width at size fs (SIZE_MAX: all
 * of it): the longest prefix that fits with an ellipsis (1 em), and at least one character. */
size_t sp_svg_cut_to(const char *s, double fs, double width);
fitted sp_svg_fit_text(const char *s, double fs, double width);

/* |v| with `decimals` digits after the point (0..12), trailing zeros dropped, and a minus
 * sign if v is negative and does not round to 0. |v| * 10^decimals must stay below 2^63. */
void sp_svg_fmt_fixed(char *buf, size_t size, double v, int decimals, const char *minus);
/* A coordinate: two decimals at most ("12.5", "-3", "7.25"), clamped far outside any canvas
 * so that a value far beyond a fixed axis range still prints as a plain number. */
void sp_svg_put_num(sp_strbuf *sb, double v);
/* A path command and its point: "M12.5 3". */
void sp_svg_put_xy(sp_strbuf *sb, char cmd, double x, double y);

/* ---- ticks (svg_ticks.c) ---- */

/* Unlabelled ticks at 2..9 × 10^e on a log axis whose labelled ticks are at most a decade
 * apart, so that values between decades can be read. Returns how many went to v. */
size_t sp_svg_minor_ticks(const sp_svg_tickset *t, double *v, size_t cap);
/* The width in px of t's widest tick label at font size fs (exponents set smaller). */
double sp_svg_max_label_width(const sp_svg_tickset *t, double fs);

/* ---- the plot object and its layout (svg.c) ---- */

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

/* Whether a point (a bar: both edges and the count) can be drawn on p's axes. */
bool sp_svg_point_drawable(const sp_svg_plot *p, const point *pt);
bool sp_svg_bar_drawable(const sp_svg_plot *p, const point *pt);
/* The axis ranges and ticks, the plot area, the legend's size and the spacing of tick labels
 * of p's document, into L. SP_EINPUT for an axis that cannot be drawn (sp_svg_render). */
int sp_svg_compute_layout(const sp_svg_plot *p, layout *L, sp_error *err);

#endif
