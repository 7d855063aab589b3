/* summary.md: the probe in one paragraph, then one accuracy table per task (the later sections
 * are report_growth.c's). Nothing in it depends on when or how fast the probe ran. */
#include "report_impl.h"
#include "satprobe/alloc.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static void put_num(sp_strbuf *sb, double v)
{
    char buf[40];
    sp_strbuf_append(sb, buf, sp_json_format_double(v, buf, sizeof buf));
}

static bool same_training(const report_model *a, const report_model *b)
{
    return a->steps == b->steps && a->batch == b->batch && !strcmp(a->optimizer, b->optimizer) &&
           a->lr == b->lr && a->weight_decay == b->weight_decay;
}

static void training(sp_strbuf *sb, const report_model *m)
{
    sp_strbuf_printf(sb, "%lld steps (batch %lld, %s, learning rate ", m->steps, m->batch,
                     m->optimizer);
    put_num(sb, m->lr);
    sp_strbuf_puts(sb, ", weight decay ");
    put_num(sb, m->weight_decay);
    sp_strbuf_puts(sb, ")");
}

/* "N" when lo == hi, else "LO to HI": sizes can differ where a language has fewer strings. */
static void range(sp_strbuf *sb, long long lo, long long hi)
{
    if (lo == hi) sp_strbuf_printf(sb, "%lld", lo);
    else sp_strbuf_printf(sb, "%lld to %lld", lo, hi);
}

static bool int_member(const sp_json_value *obj, const char *key, long long *out)
{
    const sp_json_value *v = sp_json_get(obj, key);
    if (!v || v->type != SP_JSON_NUMBER || !v->is_int) return false;
    *out = v->integer;
    return true;
}

/* The sizes probe.json asked for; without them (they are optional), those the finished cells
 * record, which may differ by language where a language has fewer strings. */
static void data_sizes(const report *r, sp_strbuf *sb)
{
    long long tlo = LLONG_MAX, thi = -1, blo = LLONG_MAX, bhi = -1;
    if (int_member(r->probe, "train_size", &tlo)) thi = tlo;
    if (int_member(r->probe, "test_size", &blo)) bhi = blo;
    for (size_t l = 0; l < r->nlangs && (thi < 0 || bhi < 0); l++) {
        const report_cell *c = sp_report_first_finished(r, l);
        if (!c) continue;
        long long t, v;
        if (!int_member(r->probe, "train_size", &t) && int_member(c->doc, "train_strings", &t) &&
            int_member(c->doc, "val_strings", &v)) {
            tlo = t + v < tlo ? t + v : tlo;
            thi = t + v > thi ? t + v : thi;
        }
        for (size_t b = 0; b < c->nbins && !int_member(r->probe, "test_size", &t); b++) {
            blo = c->bins[b].n < blo ? c->bins[b].n : blo;
            bhi = c->bins[b].n > bhi ? c->bins[b].n : bhi;
        }
    }
    sp_strbuf_printf(sb, "Data: task %s; ", r->task);
    if (thi >= 0) {
        range(sb, tlo, thi);
        sp_strbuf_puts(sb, " training strings");
    } else {
        sp_strbuf_puts(sb, "training strings");
    }
    sp_strbuf_printf(sb, " of lengths %lld" U_NDASH "%lld; test %s ", r->train_lo, r->train_hi,
                     plural(r->nbins, "bin", "bins"));
    for (size_t b = 0; b < r->nbins; b++)
        sp_strbuf_printf(sb, "%s%s",
                         b == 0              ? ""
                         : b + 1 == r->nbins ? " and "
                                             : ", ",
                         r->bins[b].label);
    if (bhi >= 0) {
        sp_strbuf_puts(sb, " of ");
        range(sb, blo, bhi);
        sp_strbuf_printf(sb, " strings%s", r->nbins > 1 ? " each" : "");
    }
    sp_strbuf_puts(sb, ". ");
}

static void intro(const report *r, sp_strbuf *sb)
{
    sp_strbuf_printf(sb, "# %s\n\n", r->name);
    sp_strbuf_printf(sb, "%zu %s " U_TIMES " %zu %s " U_TIMES " %zu %s = %zu %s. ", r->nlangs,
                     plural(r->nlangs, "language", "languages"), r->nmodels,
                     plural(r->nmodels, "model", "models"), r->nseeds,
                     plural(r->nseeds, "seed", "seeds"), r->ncells,
                     plural(r->ncells, "cell", "cells"));
    bool same = true;
    for (size_t m = 1; m < r->nmodels; m++)
        same = same && same_training(&r->models[0], &r->models[m]);
    if (same && r->nmodels) {
        sp_strbuf_puts(sb, r->nmodels == 1 ? "The model trains for " : "Each model trains for ");
        training(sb, &r->models[0]);
        sp_strbuf_puts(sb, ". ");
    } else {
        sp_strbuf_puts(sb, "Training: ");
        for (size_t m = 0; m < r->nmodels; m++) {
            sp_strbuf_printf(sb, "%s`%s` ", m ? "; " : "", r->models[m].name);
            training(sb, &r->models[m]);
        }
        sp_strbuf_puts(sb, ". ");
    }
    data_sizes(r, sb);
    sp_strbuf_puts(sb, "Modes: ");
    for (size_t i = 0; i < r->nmodes; i++) sp_strbuf_printf(sb, "%s%s", i ? ", " : "", r->modes[i]);
    sp_strbuf_puts(sb, ".\n\n");
    for (size_t i = 0; i < r->ncons; i++)
        if (!r->cons[i].language)
            sp_strbuf_printf(sb,
                             "`%s` (%s) is not evaluated: its language is not in this probe.\n\n",
                             r->cons[i].id, r->cons[i].path);
}

/* mean ± sd (best), or the one value; the values are those accuracy.csv holds. */
static void entry(sp_strbuf *sb, const double *v, size_t n)
{
    report_stats s = sp_report_stats(v, n);
    if (n == 0) sp_strbuf_puts(sb, " " REPORT_NONE " |");
    else if (n == 1) sp_strbuf_printf(sb, " %.3f |", s.mean);
    else sp_strbuf_printf(sb, " %.3f " U_PM " %.3f (%.3f) |", s.mean, s.sd, s.max);
}

static void built(const report *r, sp_strbuf *sb, size_t lang, const char *task, const char *split)
{
    const report_construction *c = sp_report_construction_of(r, lang);
    const report_acc *a =
        c && c->claim ? sp_report_acc_find(c->acc, c->nacc, task, c->claim, split) : NULL;
    if (a && a->n > 0) sp_strbuf_printf(sb, " %.3f %s |", a->value, c->claim);
    else sp_strbuf_puts(sb, " " REPORT_NONE " |");
}

static void put_opt(sp_strbuf *sb, double v)
{
    if (isfinite(v)) sp_strbuf_printf(sb, "%.3f", v);
    else sp_strbuf_puts(sb, REPORT_NONE);
}

static void baselines(const report *r, sp_strbuf *sb, size_t lang, const char *split)
{
    const report_cbin *b = sp_report_cbin_find(sp_report_first_finished(r, lang), split);
    sp_strbuf_putc(sb, ' ');
    put_opt(sb, b ? b->majority : NAN);
    sp_strbuf_puts(sb, " / ");
    put_opt(sb, b ? b->length_only : NAN);
    sp_strbuf_puts(sb, " |");
}

static void accuracy_table(const report *r, sp_strbuf *sb, const char *task)
{
    bool rec = !strcmp(task, "recognize");
    sp_strbuf_printf(sb, "## Accuracy: %s\n\n", task);
    sp_strbuf_puts(sb, "Each entry is the mean " U_PM " sample standard deviation over seeds, with"
                       " the best seed in brackets; a single seed shows its value alone. `built` is"
                       " the hand-built construction of that language, evaluated in the first mode"
                       " it claims (named)");
    sp_strbuf_puts(sb, rec ? "; `baselines` are always answering the majority label / the best"
                             " length-only rule.\n\n"
                           : ".\n\n");
    size_t cols = r->nmodes + 1 + rec;
    sp_strbuf_puts(sb, "| language | class | model |");
    for (size_t b = 0; b < r->nbins; b++) {
        for (size_t m = 0; m < r->nmodes; m++)
            sp_strbuf_printf(sb, " %s %s |", r->bins[b].label, r->modes[m]);
        sp_strbuf_printf(sb, " %s built |", r->bins[b].label);
        if (rec) sp_strbuf_printf(sb, " %s baselines |", r->bins[b].label);
    }
    sp_strbuf_puts(sb, "\n| --- | --- | --- |");
    for (size_t i = 0; i < r->nbins * cols; i++) sp_strbuf_puts(sb, " --- |");
    sp_strbuf_putc(sb, '\n');
    double *v = sp_malloc(r->nseeds, sizeof *v);
    for (size_t l = 0; l < r->nlangs; l++)
        for (size_t m = 0; m < r->nmodels; m++) {
            const char *cls = r->langs[l].cls;
            sp_strbuf_printf(sb, "| %s | %s | %s |", r->langs[l].id, cls ? cls : REPORT_NONE,
                             r->models[m].name);
            for (size_t b = 0; b < r->nbins; b++) {
                for (size_t k = 0; k < r->nmodes; k++)
                    entry(sb, v,
                          sp_report_seed_values(r, l, m, task, r->modes[k], r->bins[b].split, v));
                built(r, sb, l, task, r->bins[b].split);
                if (rec) baselines(r, sb, l, r->bins[b].split);
            }
            sp_strbuf_putc(sb, '\n');
        }
    free(v);
    sp_strbuf_putc(sb, '\n');
}

int sp_report_write_summary(const report *r, sp_error *err)
{
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    intro(r, &sb);
    bool rec = sp_report_has_task(r, SIZE_MAX, "recognize"),
         pred = sp_report_has_task(r, SIZE_MAX, "predict");
    /* before anything is evaluated the table still shows what is to come */
    if (!rec && !pred) {
        rec = strcmp(r->task, "predict") != 0;
        pred = !rec;
    }
    if (rec) accuracy_table(r, &sb, "recognize");
    if (pred) accuracy_table(r, &sb, "predict");
    sp_report_summary_growth(r, &sb);
    while (sb.len >= 2 && sb.buf[sb.len - 1] == '\n' && sb.buf[sb.len - 2] == '\n')
        sb.buf[--sb.len] = '\0';
    int status = sp_report_put(r, "summary.md", &sb, err);
    sp_strbuf_free(&sb);
    return status;
}
