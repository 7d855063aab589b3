/* summary.md after the accuracy tables: the norm, its fits and saturation per (language, model),
 * whether each model's norm still grows at the end of training, and the cells still missing. */
#include "report_impl.h"
#include "satprobe/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Growth of the norm over the second half of training below which it counts as stopped. */
#define GROWTH_STOPPED 0.02

/* What one (language, model) row shows: the finite values over its finished seeds. */
typedef struct row_values {
    double *start, *end, *p, *r2, *growth, *sat; /* [nseeds] each, the first n* of them used */
    size_t nstart, nend, np, nr2, ngrowth, nsat;
    size_t heads, argmax, mean;
} row_values;

static void add(double *v, size_t *n, double x)
{
    if (isfinite(x)) v[(*n)++] = x;
}

static void gather(const report *r, size_t lang, size_t model, row_values *rv)
{
    rv->nstart = rv->nend = rv->np = rv->nr2 = rv->ngrowth = rv->nsat = 0;
    rv->heads = rv->argmax = rv->mean = 0;
    for (size_t s = 0; s < r->nseeds; s++) {
        const report_cell *c = sp_report_cell(r, lang, model, s);
        if (!c->finished) continue;
        add(rv->start, &rv->nstart, c->norm_start);
        add(rv->end, &rv->nend, c->norm_end);
        if (c->has_fit) {
            add(rv->p, &rv->np, c->power_p);
            add(rv->r2, &rv->nr2, c->sqrt_r2);
        }
        add(rv->growth, &rv->ngrowth, c->late_growth);
        add(rv->sat, &rv->nsat, c->saturation);
        for (size_t h = 0; h < c->nheads; h++) {
            rv->heads++;
            /* "argmax-like" and "mean-like" (sp_head_label_name); the short forms too */
            rv->argmax += !strncmp(c->heads[h].label, "argmax", 6);
            rv->mean += !strncmp(c->heads[h].label, "mean", 4);
        }
    }
}

static double mean(const double *v, size_t n) { return sp_report_stats(v, n).mean; }

/* The mean with 3 decimals, or as a signed percentage. */
static void cell(sp_strbuf *sb, const double *v, size_t n, bool percent)
{
    if (!n) sp_strbuf_puts(sb, " " REPORT_NONE " |");
    else if (percent) sp_strbuf_printf(sb, " %+.1f%% |", 100 * mean(v, n));
    else sp_strbuf_printf(sb, " %.3f |", mean(v, n));
}

static void share(sp_strbuf *sb, size_t k, size_t total)
{
    if (total) sp_strbuf_printf(sb, " %.1f%% |", 100.0 * (double)k / (double)total);
    else sp_strbuf_puts(sb, " " REPORT_NONE " |");
}

static void norm_table(const report *r, sp_strbuf *sb)
{
    bool norms = r->analysis & REPORT_NORMS, sat = r->analysis & REPORT_SATURATION,
         heads = r->analysis & REPORT_HEADS;
    sp_strbuf_puts(sb,
                   "## Norm growth and saturation\n\nMeans over the seeds that have the value.");
    if (norms)
        sp_strbuf_puts(sb, " " U_NORM " is the parameter norm at the first and the last step, p the"
                           " exponent of the fit a" U_DOT "t^p, r" U_SQUARED
                           " that of the fit a" U_DOT U_SQRT
                           "t + b, and the growth over the second half is the norm at the end"
                           " over the norm at half the steps, minus one.");
    if (sat)
        sp_strbuf_puts(
            sb, " Saturation is the cosine similarity of the final representations under " U_THETA
                " and 1000" U_DOT U_THETA ".");
    if (heads)
        sp_strbuf_puts(sb,
                       " Heads are the share of all heads over the seeds labelled argmax-like or"
                       " mean-like.");
    sp_strbuf_puts(sb, "\n\n| language | model |");
    size_t cols = 0;
    if (norms) {
        sp_strbuf_puts(sb, " " U_NORM " start " U_ARROW " end | p of t^p | r" U_SQUARED
                           " of " U_SQRT "t fit | growth over the second half |");
        cols += 4;
    }
    if (sat) {
        sp_strbuf_puts(sb, " saturation |");
        cols++;
    }
    if (heads) {
        sp_strbuf_puts(sb, " argmax-like heads | mean-like heads |");
        cols += 2;
    }
    sp_strbuf_puts(sb, "\n| --- | --- |");
    for (size_t i = 0; i < cols; i++) sp_strbuf_puts(sb, " --- |");
    sp_strbuf_putc(sb, '\n');
    size_t S = r->nseeds;
    double *buf = sp_malloc(6 * (S ? S : 1), sizeof *buf);
    row_values rv = {.start = buf,
                     .end = buf + S,
                     .p = buf + 2 * S,
                     .r2 = buf + 3 * S,
                     .growth = buf + 4 * S,
                     .sat = buf + 5 * S};
    for (size_t l = 0; l < r->nlangs; l++)
        for (size_t m = 0; m < r->nmodels; m++) {
            gather(r, l, m, &rv);
            sp_strbuf_printf(sb, "| %s | %s |", r->langs[l].id, r->models[m].name);
            if (norms) {
                if (rv.nstart && rv.nend)
                    sp_strbuf_printf(sb, " %.2f " U_ARROW " %.2f |", mean(rv.start, rv.nstart),
                                     mean(rv.end, rv.nend));
                else sp_strbuf_puts(sb, " " REPORT_NONE " |");
                cell(sb, rv.p, rv.np, false);
                cell(sb, rv.r2, rv.nr2, false);
                cell(sb, rv.growth, rv.ngrowth, true);
            }
            if (sat) cell(sb, rv.sat, rv.nsat, false);
            if (heads) {
                share(sb, rv.argmax, rv.heads);
                share(sb, rv.mean, rv.heads);
            }
            sp_strbuf_putc(sb, '\n');
        }
    free(buf);
    sp_strbuf_putc(sb, '\n');
}

static void growth_stops(const report *r, sp_strbuf *sb)
{
    sp_strbuf_puts(sb, "## Where growth stops\n\nPer model, the growth of the norm over the second"
                       " half of training, averaged over its finished cells; under 2% counts as"
                       " stopped.\n\n");
    double *v = sp_malloc(r->ncells, sizeof *v);
    for (size_t m = 0; m < r->nmodels; m++) {
        size_t n = 0;
        for (size_t i = 0; i < r->ncells; i++)
            if (r->cells[i].model == m && r->cells[i].finished) add(v, &n, r->cells[i].late_growth);
        sp_strbuf_printf(sb, "- `%s`: ", r->models[m].name);
        if (!n) {
            sp_strbuf_puts(sb, "no finished cell has a norm curve yet.\n");
            continue;
        }
        double g = mean(v, n);
        sp_strbuf_printf(sb, "the norm %s %.1f%% over the second half of training: ",
                         g < 0 ? "shrinks" : "grows", 100 * fabs(g));
        sp_strbuf_puts(sb, fabs(g) < GROWTH_STOPPED ? "growth has stopped (under 2%).\n"
                           : g > 0                  ? "still growing.\n"
                                                    : "it is falling.\n");
    }
    free(v);
    sp_strbuf_putc(sb, '\n');
}

/* Cells that had nothing to train on, with the runner's reason. */
static void untrained(const report *r, sp_strbuf *sb)
{
    bool any = false;
    for (size_t i = 0; i < r->ncells; i++) {
        const report_cell *c = &r->cells[i];
        if (!c->finished || !c->untrained) continue;
        if (!any) sp_strbuf_puts(sb, "## Not trained\n\n");
        any = true;
        sp_strbuf_printf(sb, "- %s / %s / seed %lld: %s\n", r->langs[c->lang].id,
                         r->models[c->model].name, r->seeds[c->seed], c->untrained);
    }
    if (any) sp_strbuf_putc(sb, '\n');
}

static void missing(const report *r, sp_strbuf *sb)
{
    size_t cons = 0;
    for (size_t i = 0; i < r->ncons; i++) cons += r->cons[i].language && !r->cons[i].doc;
    if (r->nfinished == r->ncells && !cons) return;
    sp_strbuf_puts(sb, "## Missing cells\n\n");
    for (size_t i = 0; i < r->ncells; i++) {
        const report_cell *c = &r->cells[i];
        if (!c->finished)
            sp_strbuf_printf(sb, "- %s / %s / seed %lld\n", r->langs[c->lang].id,
                             r->models[c->model].name, r->seeds[c->seed]);
    }
    for (size_t i = 0; i < r->ncons; i++)
        if (r->cons[i].language && !r->cons[i].doc)
            sp_strbuf_printf(sb, "- construction `%s` (constructions/%s.json)\n", r->cons[i].id,
                             r->cons[i].id);
    sp_strbuf_printf(sb,
                     "\n%zu of %zu cells are finished; run the probe again (or merge its shards)"
                     " to fill them in.\n",
                     r->nfinished, r->ncells);
}

void sp_report_summary_growth(const report *r, sp_strbuf *sb)
{
    if (r->analysis) norm_table(r, sb);
    if (r->analysis & REPORT_NORMS) growth_stops(r, sb);
    untrained(r, sb);
    missing(r, sb);
}
