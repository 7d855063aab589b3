/* The plots in DIR/plots: accuracy by length, the norm and saturation curves per language, the
 * histogram of the heads; then every other .svg there is removed, so that a plot of a language
 * or analysis no longer in the probe does not linger. */
#include "report_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"
#include "satprobe/svg.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Points at which each a·√t + b curve is sampled over [0, steps]. */
#define FIT_SAMPLES 64

typedef struct plots {
    const report *r;
    char *dir;    /* DIR/plots */
    char **names; /* [n] the files written */
    size_t n, cap;
} plots;

static int put(plots *ps, sp_svg_plot *p, const char *name, sp_error *err)
{
    char *path = sp_path_join(ps->dir, name);
    int status = sp_svg_write(p, path, err);
    free(path);
    sp_svg_destroy(p);
    SP_GROW(ps->names, ps->cap, ps->n + 1);
    ps->names[ps->n++] = sp_strdup(name);
    return status;
}

static int accuracy(plots *ps, size_t lang, sp_error *err)
{
    const report *r = ps->r;
    const char *task = sp_report_plot_task(r, lang), *id = r->langs[lang].id;
    sp_strbuf name;
    sp_strbuf_init(&name);
    sp_strbuf_printf(&name, "%s: accuracy by length", id);
    sp_svg_plot *p = sp_svg_new(name.buf, "length", "accuracy");
    const char **labels = sp_malloc(r->nbins, sizeof *labels);
    for (size_t b = 0; b < r->nbins; b++) labels[b] = r->bins[b].label;
    sp_svg_x_categories(p, labels, r->nbins);
    free(labels);
    sp_svg_axis_range(p, SP_SVG_Y, 0, 1);
    double *v = sp_malloc(r->nseeds, sizeof *v);
    for (size_t m = 0; m < r->nmodels; m++)
        for (size_t k = 0; k < r->nmodes; k++) {
            sp_strbuf_clear(&name);
            if (r->nmodels > 1) sp_strbuf_printf(&name, "%s ", r->models[m].name);
            sp_strbuf_puts(&name, r->modes[k]);
            size_t s = sp_svg_series_add(p, SP_SVG_LINE_MARKERS, name.buf);
            for (size_t b = 0; b < r->nbins; b++) {
                report_stats st = sp_report_stats(
                    v, sp_report_seed_values(r, lang, m, task, r->modes[k], r->bins[b].split, v));
                sp_svg_point_err(p, s, (double)b, st.mean, st.sd);
            }
        }
    free(v);
    const report_construction *c = sp_report_construction_of(r, lang);
    if (c && c->claim) {
        sp_strbuf_clear(&name);
        sp_strbuf_printf(&name, "built (%s)", c->claim);
        size_t s = sp_svg_series_add(p, SP_SVG_MARKERS, name.buf);
        for (size_t b = 0; b < r->nbins; b++) {
            const report_acc *a =
                sp_report_acc_find(c->acc, c->nacc, task, c->claim, r->bins[b].split);
            sp_svg_point(p, s, (double)b, a ? a->value : NAN);
        }
    }
    const report_cell *first = sp_report_first_finished(r, lang);
    if (first && !strcmp(task, "recognize")) {
        size_t s = sp_svg_series_add(p, SP_SVG_FIT, "length-only baseline");
        for (size_t b = 0; b < r->nbins; b++) {
            const report_cbin *cb = sp_report_cbin_find(first, r->bins[b].split);
            sp_svg_point(p, s, (double)b, cb ? cb->length_only : NAN);
        }
    }
    sp_strbuf_clear(&name);
    sp_strbuf_printf(&name, "accuracy-%s.svg", id);
    int status = put(ps, p, name.buf, err);
    sp_strbuf_free(&name);
    return status;
}

/* ctx: {a, b} */
static double sqrt_curve(double t, void *ctx)
{
    const double *ab = ctx;
    return ab[0] * sqrt(t) + ab[1];
}

/* One line per (model, seed) of column `col` of a record; with fits, each cell's a·√t + b
 * dashed in its line's colour. */
static int curves(plots *ps, size_t lang, bool norms, sp_error *err)
{
    const report *r = ps->r;
    const char *id = r->langs[lang].id;
    sp_strbuf name;
    sp_strbuf_init(&name);
    sp_strbuf_printf(&name, "%s: %s", id, norms ? "parameter norm" : "saturation");
    sp_svg_plot *p =
        sp_svg_new(name.buf, "step", norms ? U_NORM : "saturation");
    if (!norms) sp_svg_axis_range(p, SP_SVG_Y, 0, 1);
    size_t first = SIZE_MAX;
    bool fits = false;
    for (size_t m = 0; m < r->nmodels; m++)
        for (size_t s = 0; s < r->nseeds; s++) {
            const report_cell *c = sp_report_cell(r, lang, m, s);
            if (!c->finished) continue;
            sp_strbuf_clear(&name);
            if (r->nmodels > 1) sp_strbuf_printf(&name, "%s ", r->models[m].name);
            sp_strbuf_printf(&name, "seed %lld", r->seeds[s]);
            size_t line = sp_svg_series_add(p, SP_SVG_LINE, name.buf);
            first = first == SIZE_MAX ? line : first;
            const report_table *t = norms ? &c->norms : &c->sat;
            for (size_t i = 0; i < t->nrows; i++)
                sp_svg_point(p, line, sp_report_field_num(t, i, 0), sp_report_field_num(t, i, 1));
            if (norms && c->has_fit && c->steps > 0) {
                size_t f = sp_svg_series_add_like(p, SP_SVG_FIT, NULL, line);
                double ab[2] = {c->sqrt_a, c->sqrt_b};
                sp_svg_function(p, f, sqrt_curve, ab, 0, (double)c->steps, FIT_SAMPLES);
                fits = true;
            }
        }
    /* one legend row stands for all the fits */
    if (fits) sp_svg_series_add_like(p, SP_SVG_FIT, "a" U_DOT U_SQRT "t + b fits", first);
    sp_strbuf_clear(&name);
    sp_strbuf_printf(&name, "%s-%s.svg", norms ? "norms" : "saturation", id);
    int status = put(ps, p, name.buf, err);
    sp_strbuf_free(&name);
    return status;
}

/* Bin edges 1, 1.5, then 2, 3, 5, 8, 13, ... (each the sum of the two before), until one
 * exceeds the largest value: about even steps on a log axis, and 1.5 is where a head stops
 * counting as argmax-like. Values below 1 go into the first bin. */
static int heads(plots *ps, sp_error *err)
{
    const report *r = ps->r;
    double max = 1, edges[96] = {1, 1.5, 2, 3};
    size_t nb = 3, total = 0;
    for (size_t i = 0; i < r->ncells; i++)
        for (size_t h = 0; r->cells[i].finished && h < r->cells[i].nheads; h++) {
            double x = r->cells[i].heads[h].mean_attended;
            if (isfinite(x) && x > max) max = x;
            total++;
        }
    if (!total) return SP_OK;
    while (edges[nb] <= max && nb + 2 < sizeof edges / sizeof *edges) {
        edges[nb + 1] = edges[nb] + edges[nb - 1];
        nb++;
    }
    double counts[95] = {0};
    for (size_t i = 0; i < r->ncells; i++)
        for (size_t h = 0; r->cells[i].finished && h < r->cells[i].nheads; h++) {
            double x = r->cells[i].heads[h].mean_attended;
            if (!isfinite(x)) continue;
            size_t b = 0;
            while (b + 1 < nb && x >= edges[b + 1]) b++;
            counts[b]++;
        }
    sp_svg_plot *p =
        sp_svg_new("attention heads: mean positions attended under 1000" U_DOT U_THETA,
                   "mean positions attended (weight > 1e-5)", "heads");
    sp_svg_axis_log(p, SP_SVG_X, true);
    size_t s = sp_svg_series_add(p, SP_SVG_BARS, NULL);
    sp_svg_bars(p, s, edges, counts, nb);
    return put(ps, p, "heads.svg", err);
}

static int make_dir(const char *path, sp_error *err)
{
    struct stat st;
    if (mkdir(path, 0777) == 0) return SP_OK;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return SP_OK;
    return sp_error_set(err, SP_EIO, path, 0, 0, "cannot create the directory: %s",
                        strerror(errno));
}

static bool written(const plots *ps, const char *name)
{
    for (size_t i = 0; i < ps->n; i++)
        if (!strcmp(ps->names[i], name)) return true;
    return false;
}

static int remove_stale(const plots *ps, sp_error *err)
{
    DIR *d = opendir(ps->dir);
    if (!d)
        return sp_error_set(err, SP_EIO, ps->dir, 0, 0, "cannot read the directory: %s",
                            strerror(errno));
    int status = SP_OK;
    struct dirent *e;
    while (!status && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 4, ".svg") || written(ps, e->d_name)) continue;
        char *path = sp_path_join(ps->dir, e->d_name);
        if (unlink(path) != 0 && errno != ENOENT)
            status = sp_error_set(err, SP_EIO, path, 0, 0, "cannot remove a stale plot: %s",
                                  strerror(errno));
        free(path);
    }
    closedir(d);
    return status;
}

int sp_report_write_plots(const report *r, sp_error *err)
{
    plots ps = {r, sp_path_join(r->dir, "plots"), NULL, 0, 0};
    int status = make_dir(ps.dir, err);
    for (size_t l = 0; l < r->nlangs && !status; l++) {
        status = accuracy(&ps, l, err);
        if (!status && (r->analysis & REPORT_NORMS)) status = curves(&ps, l, true, err);
        if (!status && (r->analysis & REPORT_SATURATION)) status = curves(&ps, l, false, err);
    }
    if (!status && (r->analysis & REPORT_HEADS)) status = heads(&ps, err);
    if (!status) status = remove_stale(&ps, err);
    for (size_t i = 0; i < ps.n; i++) free(ps.names[i]);
    free(ps.names);
    free(ps.dir);
    return status;
}
