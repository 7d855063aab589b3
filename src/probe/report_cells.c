/* The cells (cell.json and the run's three CSV records) and the constructions' files, each
 * checked as it is read. */
#include "report_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool exists(const char *path, sp_error *err, int *status)
{
    struct stat st;
    *status = SP_OK;
    if (stat(path, &st) == 0) return true;
    if (errno != ENOENT)
        *status = sp_error_set(err, SP_EIO, path, 0, 0, "cannot stat: %s", strerror(errno));
    return false;
}

/* "accuracy": [{task, mode, split, n, correct}, ...] */
static int read_accuracy(const sp_json_value *doc, const char *path, report_acc **out, size_t *n,
                         sp_error *err)
{
    const sp_json_value *arr;
    int status = sp_report_get_array(doc, "accuracy", false, path, &arr, err);
    if (!status) status = sp_report_check_objects(arr, "accuracy", path, err);
    if (status) return status;
    *out = sp_calloc(arr->n, sizeof **out);
    *n = arr->n;
    for (size_t i = 0; i < arr->n && !status; i++) {
        report_acc *a = &(*out)[i];
        const sp_json_value *o = arr->items[i];
        status = sp_report_get_str(o, "task", false, path, &a->task, err);
        if (!status) status = sp_report_get_str(o, "mode", false, path, &a->mode, err);
        if (!status) status = sp_report_get_str(o, "split", false, path, &a->split, err);
        if (!status) status = sp_report_get_int(o, "n", path, &a->n, err);
        if (!status) status = sp_report_get_int(o, "correct", path, &a->correct, err);
        if (!status && a->correct > a->n)
            status = sp_error_set(err, SP_EINPUT, path, 0, 0,
                                  "accuracy entry %zu: correct (%lld) exceeds n (%lld)", i + 1,
                                  a->correct, a->n);
        a->value = a->n ? (double)a->correct / (double)a->n : NAN;
    }
    return status;
}

static int read_cell_bins(report_cell *c, const char *path, sp_error *err)
{
    const sp_json_value *arr;
    int status = sp_report_get_array(c->doc, "bins", false, path, &arr, err);
    if (!status) status = sp_report_check_objects(arr, "bins", path, err);
    if (status) return status;
    c->bins = sp_calloc(arr->n, sizeof *c->bins);
    c->nbins = arr->n;
    for (size_t i = 0; i < arr->n && !status; i++) {
        report_cbin *b = &c->bins[i];
        const sp_json_value *o = arr->items[i];
        status = sp_report_get_str(o, "split", false, path, &b->split, err);
        if (!status) status = sp_report_get_int(o, "lo", path, &b->lo, err);
        if (!status) status = sp_report_get_int(o, "hi", path, &b->hi, err);
        if (!status) status = sp_report_get_int(o, "n", path, &b->n, err);
        if (!status) status = sp_report_get_num(o, "majority_class", true, path, &b->majority, err);
        if (!status)
            status = sp_report_get_num(o, "best_length_only", true, path, &b->length_only, err);
    }
    return status;
}

static int read_heads(report_cell *c, const char *path, sp_error *err)
{
    const sp_json_value *arr;
    int status = sp_report_get_array(c->doc, "heads", true, path, &arr, err);
    if (status || !arr) return status;
    status = sp_report_check_objects(arr, "heads", path, err);
    c->has_heads = true;
    c->heads = sp_calloc(arr->n, sizeof *c->heads);
    c->nheads = arr->n;
    for (size_t i = 0; i < arr->n && !status; i++) {
        report_head *h = &c->heads[i];
        const sp_json_value *o = arr->items[i];
        status = sp_report_get_int(o, "layer", path, &h->layer, err);
        if (!status) status = sp_report_get_int(o, "head", path, &h->head, err);
        if (!status)
            status = sp_report_get_num(o, "mean_attended", false, path, &h->mean_attended, err);
        if (!status) status = sp_report_get_num(o, "frac_multi", false, path, &h->frac_multi, err);
        if (!status)
            status = sp_report_get_num(o, "mean_visible", false, path, &h->mean_visible, err);
        if (!status) status = sp_report_get_int(o, "queries", path, &h->queries, err);
        if (!status) status = sp_report_get_str(o, "label", false, path, &h->label, err);
    }
    return status;
}

static int read_fit(report_cell *c, const char *path, sp_error *err)
{
    const sp_json_value *fit = sp_json_get(c->doc, "fit");
    if (fit && fit->type == SP_JSON_NULL) return SP_OK;
    if (!fit || fit->type != SP_JSON_OBJECT)
        return sp_error_set(err, SP_EINPUT, path, 0, 0, "\"fit\" must be an object or null");
    const sp_json_value *s = sp_json_get(fit, "sqrt"), *p = sp_json_get(fit, "power");
    if (!s || s->type != SP_JSON_OBJECT || !p || p->type != SP_JSON_OBJECT)
        return sp_error_set(err, SP_EINPUT, path, 0, 0,
                            "\"fit\" must hold the objects \"sqrt\" and \"power\"");
    int status = sp_report_get_num(s, "a", false, path, &c->sqrt_a, err);
    if (!status) status = sp_report_get_num(s, "b", false, path, &c->sqrt_b, err);
    if (!status) status = sp_report_get_num(s, "r2", false, path, &c->sqrt_r2, err);
    if (!status) status = sp_report_get_num(p, "a", false, path, &c->power_a, err);
    if (!status) status = sp_report_get_num(p, "p", false, path, &c->power_p, err);
    if (!status) status = sp_report_get_num(p, "r2", false, path, &c->power_r2, err);
    c->has_fit = !status;
    return status;
}

/* The cell.json must be the cell's own: a file copied into the wrong directory would put
 * numbers under the wrong row. */
static int check_identity(const report *r, const report_cell *c, const char *path, sp_error *err)
{
    const char *lang, *model;
    long long seed;
    int status = sp_report_get_str(c->doc, "language", false, path, &lang, err);
    if (!status) status = sp_report_get_str(c->doc, "model", false, path, &model, err);
    if (!status) status = sp_report_get_int(c->doc, "seed", path, &seed, err);
    if (!status && (strcmp(lang, r->langs[c->lang].id) || strcmp(model, r->models[c->model].name) ||
                    seed != r->seeds[c->seed]))
        status = sp_error_set(err, SP_EINPUT, path, 0, 0,
                              "the cell is %s / %s / seed %lld, not the one of its directory", lang,
                              model, seed);
    return status;
}

static int read_cell_json(const report *r, report_cell *c, const char *path, sp_error *err)
{
    int status = sp_report_json_load(path, &c->doc, err);
    if (status) return status;
    if (c->doc->type != SP_JSON_OBJECT)
        return sp_error_set(err, SP_EINPUT, path, 0, 0, "a cell must be an object, not %s",
                            sp_json_type_name(c->doc->type));
    status = check_identity(r, c, path, err);
    const sp_json_value *why = sp_json_get(c->doc, "untrained");
    if (!status && why && why->type != SP_JSON_STRING)
        status = sp_error_set(err, SP_EINPUT, path, 0, 0, "\"untrained\" must be a string");
    if (!status && why) c->untrained = why->str;
    if (!status) status = sp_report_get_int(c->doc, "steps", path, &c->steps, err);
    if (!status) status = sp_report_get_num(c->doc, "norm_start", true, path, &c->norm_start, err);
    if (!status) status = sp_report_get_num(c->doc, "norm_end", true, path, &c->norm_end, err);
    if (!status) status = sp_report_get_num(c->doc, "saturation", true, path, &c->saturation, err);
    if (!status) status = read_fit(c, path, err);
    if (!status) status = read_cell_bins(c, path, err);
    if (!status) status = read_accuracy(c->doc, path, &c->acc, &c->nacc, err);
    if (!status) status = read_heads(c, path, err);
    return status;
}

static int read_table(report_table *t, const char *dir, const char *name, const char *columns,
                      size_t ncheck, sp_error *err)
{
    char *path = sp_path_join(dir, name);
    int status = sp_report_table_read(t, path, columns, err);
    free(path);
    for (size_t col = 0; col < ncheck && !status; col++)
        status = sp_report_table_numbers(t, col, err);
    return status;
}

/* The norm at the recorded step closest to steps / 2 (the earlier on a tie), and the growth
 * from there to the end. */
static void norm_half(report_cell *c)
{
    const report_table *t = &c->norms;
    double best = INFINITY;
    c->norm_half = c->late_growth = NAN;
    for (size_t i = 0; i < t->nrows; i++) {
        double d = fabs(2 * sp_report_field_num(t, i, 0) - (double)c->steps);
        if (d < best) {
            best = d;
            c->norm_half_text = sp_report_field(t, i, 1);
        }
    }
    if (!c->norm_half_text || !*c->norm_half_text) return;
    c->norm_half = strtod(c->norm_half_text, NULL);
    if (c->norm_half != 0 && isfinite(c->norm_end)) c->late_growth = c->norm_end / c->norm_half - 1;
}

static int read_cell(const report *r, report_cell *c, sp_error *err)
{
    char *path = sp_path_join(c->dir, "cell.json");
    int status;
    c->finished = exists(path, err, &status);
    if (c->finished) {
        status = read_cell_json(r, c, path, err);
        /* a cell without training data has no records */
        if (!status && !c->untrained)
            status = read_table(&c->train, c->dir, "train.csv",
                                "step,loss,train_acc,val_loss,val_acc,lr", 6, err);
        if (!status && !c->untrained)
            status = read_table(&c->norms, c->dir, "norms.csv", "step,norm,norm_no_embed", 3, err);
        if (!status && !c->untrained)
            status = read_table(&c->sat, c->dir, "saturation.csv",
                                "step,saturation,agree_saturated,agree_limit", 4, err);
        if (!status && !c->untrained) norm_half(c);
    }
    free(path);
    return status;
}

static char *cell_dir(const report *r, const report_cell *c)
{
    char seed[40], *cells = sp_path_join(r->dir, "cells");
    char *lang = sp_path_join(cells, r->langs[c->lang].id);
    char *model = sp_path_join(lang, r->models[c->model].name);
    snprintf(seed, sizeof seed, "seed-%lld", r->seeds[c->seed]);
    char *dir = sp_path_join(model, seed);
    free(cells);
    free(lang);
    free(model);
    return dir;
}

int sp_report_read_cells(report *r, sp_error *err)
{
    r->ncells = r->nlangs * r->nmodels * r->nseeds;
    r->cells = sp_calloc(r->ncells, sizeof *r->cells);
    int status = SP_OK;
    for (size_t i = 0; i < r->ncells && !status; i++) {
        report_cell *c = &r->cells[i];
        c->lang = i / (r->nmodels * r->nseeds);
        c->model = i / r->nseeds % r->nmodels;
        c->seed = i % r->nseeds;
        c->norm_start = c->norm_end = c->saturation = c->norm_half = c->late_growth = NAN;
        c->dir = cell_dir(r, c);
        status = read_cell(r, c, err);
        r->nfinished += c->finished;
    }
    return status;
}

int sp_report_read_constructions(report *r, sp_error *err)
{
    char *dir = sp_path_join(r->dir, "constructions");
    int status = SP_OK;
    for (size_t i = 0; i < r->ncons && !status; i++) {
        report_construction *c = &r->cons[i];
        if (!c->language) continue;
        char name[300];
        snprintf(name, sizeof name, "%s.json", c->id);
        char *path = sp_path_join(dir, name);
        if (exists(path, err, &status)) {
            status = sp_report_json_load(path, &c->doc, err);
            if (!status && c->doc->type != SP_JSON_OBJECT)
                status = sp_error_set(err, SP_EINPUT, path, 0, 0,
                                      "a construction's results must be an object");
            if (!status) status = read_accuracy(c->doc, path, &c->acc, &c->nacc, err);
        }
        free(path);
    }
    free(dir);
    return status;
}

void sp_report_cell_free(report_cell *c)
{
    free(c->dir);
    sp_json_free(c->doc);
    free(c->acc);
    free(c->bins);
    free(c->heads);
    sp_report_table_free(&c->train);
    sp_report_table_free(&c->norms);
    sp_report_table_free(&c->sat);
}
