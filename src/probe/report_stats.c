/* Means over seeds and the lookups the tables and plots share. */
#include "report_impl.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

report_stats sp_report_stats(const double *v, size_t n)
{
    report_stats s = {n, NAN, NAN, NAN};
    if (n == 0) return s;
    double sum = 0;
    s.max = v[0];
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
        if (v[i] > s.max) s.max = v[i];
    }
    s.mean = sum / (double)n;
    if (n < 2) return s;
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (v[i] - s.mean) * (v[i] - s.mean);
    s.sd = sqrt(ss / (double)(n - 1));
    return s;
}

const report_acc *sp_report_acc_find(const report_acc *a, size_t n, const char *task,
                                     const char *mode, const char *split)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(a[i].task, task) && !strcmp(a[i].mode, mode) && !strcmp(a[i].split, split))
            return &a[i];
    return NULL;
}

const report_cell *sp_report_cell(const report *r, size_t lang, size_t model, size_t seed)
{
    return &r->cells[(lang * r->nmodels + model) * r->nseeds + seed];
}

size_t sp_report_seed_values(const report *r, size_t lang, size_t model, const char *task,
                             const char *mode, const char *split, double *v)
{
    size_t n = 0;
    for (size_t s = 0; s < r->nseeds; s++) {
        const report_cell *c = sp_report_cell(r, lang, model, s);
        if (!c->finished) continue;
        const report_acc *a = sp_report_acc_find(c->acc, c->nacc, task, mode, split);
        if (a && a->n > 0) v[n++] = a->value;
    }
    return n;
}

const report_cell *sp_report_first_finished(const report *r, size_t lang)
{
    for (size_t i = 0; i < r->ncells; i++)
        if (r->cells[i].lang == lang && r->cells[i].finished) return &r->cells[i];
    return NULL;
}

const report_construction *sp_report_construction_of(const report *r, size_t lang)
{
    for (size_t i = 0; i < r->ncons; i++)
        if (r->cons[i].language && r->cons[i].lang == lang && r->cons[i].doc) return &r->cons[i];
    return NULL;
}

const report_cbin *sp_report_cbin_find(const report_cell *c, const char *split)
{
    for (size_t i = 0; c && i < c->nbins; i++)
        if (!strcmp(c->bins[i].split, split)) return &c->bins[i];
    return NULL;
}

static bool has_task(const report_acc *a, size_t n, const char *task)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(a[i].task, task)) return true;
    return false;
}

bool sp_report_has_task(const report *r, size_t lang, const char *task)
{
    for (size_t i = 0; i < r->ncells; i++) {
        const report_cell *c = &r->cells[i];
        if (c->finished && (lang == SIZE_MAX || c->lang == lang) && has_task(c->acc, c->nacc, task))
            return true;
    }
    for (size_t i = 0; i < r->ncons; i++) {
        const report_construction *c = &r->cons[i];
        if (c->doc && (lang == SIZE_MAX || c->lang == lang) && has_task(c->acc, c->nacc, task))
            return true;
    }
    return false;
}

const char *sp_report_plot_task(const report *r, size_t lang)
{
    if (sp_report_has_task(r, lang, "recognize")) return "recognize";
    if (sp_report_has_task(r, lang, "predict")) return "predict";
    /* nothing evaluated yet: the task the probe's data asks for first */
    return strcmp(r->task, "predict") ? "recognize" : "predict";
}
