/* sp_report_write: probe.json read into the report's lists, then the cells, the constructions,
 * and every rendered file in turn. */
#include "report_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names become directory names under cells/ and file names under plots/. */
static int check_name(const char *s, const char *what, const char *path, sp_error *err)
{
    if (!*s || strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, ".."))
        return sp_error_set(err, SP_EINPUT, path, 0, 0, "%s '%s' cannot name a directory", what, s);
    return SP_OK;
}

static int read_bins(report *r, const sp_json_value *arr, const char *path, sp_error *err)
{
    int status = sp_report_check_objects(arr, "bins", path, err);
    r->bins = sp_calloc(arr->n, sizeof *r->bins);
    r->nbins = arr->n;
    for (size_t i = 0; i < arr->n && !status; i++) {
        report_bin *b = &r->bins[i];
        const sp_json_value *o = arr->items[i];
        status = sp_report_get_str(o, "split", false, path, &b->split, err);
        if (!status) status = sp_report_get_int(o, "lo", path, &b->lo, err);
        if (!status) status = sp_report_get_int(o, "hi", path, &b->hi, err);
        if (b->lo == b->hi) snprintf(b->label, sizeof b->label, "%lld", b->lo);
        else snprintf(b->label, sizeof b->label, "%lld" U_NDASH "%lld", b->lo, b->hi);
    }
    return status;
}

static int read_languages(report *r, const sp_json_value *arr, const char *path, sp_error *err)
{
    int status = sp_report_check_objects(arr, "languages", path, err);
    r->langs = sp_calloc(arr->n, sizeof *r->langs);
    r->nlangs = arr->n;
    for (size_t i = 0; i < arr->n && !status; i++) {
        report_lang *l = &r->langs[i];
        const sp_json_value *o = arr->items[i];
        status = sp_report_get_str(o, "id", false, path, &l->id, err);
        if (!status) status = check_name(l->id, "language id", path, err);
        if (!status) status = sp_report_get_str(o, "path", false, path, &l->path, err);
        /* a grammar need not state its class */
        const sp_json_value *c = sp_json_get(o, "class");
        l->cls = c && c->type == SP_JSON_STRING ? c->str : NULL;
    }
    return status;
}

static int read_models(report *r, const sp_json_value *arr, const char *path, sp_error *err)
{
    int status = sp_report_check_objects(arr, "models", path, err);
    r->models = sp_calloc(arr->n, sizeof *r->models);
    r->nmodels = arr->n;
    for (size_t i = 0; i < arr->n && !status; i++) {
        report_model *m = &r->models[i];
        const sp_json_value *o = arr->items[i], *t = sp_json_get(o, "train");
        status = sp_report_get_str(o, "name", false, path, &m->name, err);
        if (!status) status = check_name(m->name, "model name", path, err);
        if (!status && (!t || t->type != SP_JSON_OBJECT))
            status = sp_error_set(err, SP_EINPUT, path, 0, 0, "model '%s' has no \"train\" object",
                                  m->name);
        if (!status) status = sp_report_get_int(t, "steps", path, &m->steps, err);
        if (!status) status = sp_report_get_int(t, "batch", path, &m->batch, err);
        if (!status) status = sp_report_get_str(t, "optimizer", false, path, &m->optimizer, err);
        if (!status) status = sp_report_get_num(t, "lr", false, path, &m->lr, err);
        if (!status)
            status = sp_report_get_num(t, "weight_decay", false, path, &m->weight_decay, err);
    }
    return status;
}

static int read_strings(const sp_json_value *arr, const char *what, const char *path,
                        const char ***out, size_t *n, sp_error *err)
{
    *out = sp_calloc(arr->n, sizeof **out);
    *n = arr->n;
    for (size_t i = 0; i < arr->n; i++) {
        if (arr->items[i]->type != SP_JSON_STRING)
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "%s entry %zu must be a string, not %s",
                                what, i + 1, sp_json_type_name(arr->items[i]->type));
        (*out)[i] = arr->items[i]->str;
    }
    return SP_OK;
}

static int read_seeds(report *r, const sp_json_value *arr, const char *path, sp_error *err)
{
    r->seeds = sp_calloc(arr->n, sizeof *r->seeds);
    r->nseeds = arr->n;
    for (size_t i = 0; i < arr->n; i++) {
        const sp_json_value *v = arr->items[i];
        if (v->type != SP_JSON_NUMBER || !v->is_int || v->integer < 0)
            return sp_error_set(err, SP_EINPUT, path, 0, 0,
                                "seeds entry %zu must be a non-negative integer", i + 1);
        r->seeds[i] = v->integer;
    }
    return SP_OK;
}

static int read_analysis(report *r, const sp_json_value *arr, const char *path, sp_error *err)
{
    const char **names;
    size_t n;
    int status = read_strings(arr, "analysis", path, &names, &n, err);
    for (size_t i = 0; i < n && !status; i++) {
        if (!strcmp(names[i], "norms")) r->analysis |= REPORT_NORMS;
        else if (!strcmp(names[i], "saturation")) r->analysis |= REPORT_SATURATION;
        else if (!strcmp(names[i], "heads")) r->analysis |= REPORT_HEADS;
        else status = sp_error_set(err, SP_EINPUT, path, 0, 0, "unknown analysis '%s'", names[i]);
    }
    free(names);
    return status;
}

static int read_constructions(report *r, const sp_json_value *arr, const char *path, sp_error *err)
{
    int status = sp_report_check_objects(arr, "constructions", path, err);
    r->cons = sp_calloc(arr->n, sizeof *r->cons);
    r->ncons = arr->n;
    for (size_t i = 0; i < arr->n && !status; i++) {
        report_construction *c = &r->cons[i];
        const sp_json_value *o = arr->items[i], *claims;
        status = sp_report_get_str(o, "id", false, path, &c->id, err);
        if (!status) status = check_name(c->id, "construction id", path, err);
        if (!status) status = sp_report_get_str(o, "path", false, path, &c->path, err);
        if (!status) status = sp_report_get_str(o, "language", true, path, &c->language, err);
        if (!status) status = sp_report_get_array(o, "claims", false, path, &claims, err);
        if (!status && claims->n) {
            if (claims->items[0]->type != SP_JSON_STRING)
                status = sp_error_set(err, SP_EINPUT, path, 0, 0,
                                      "construction '%s': claims must be strings", c->id);
            else c->claim = claims->items[0]->str;
        }
        if (status || !c->language) continue;
        for (c->lang = 0; c->lang < r->nlangs && strcmp(r->langs[c->lang].id, c->language);
             c->lang++) {
        }
        if (c->lang == r->nlangs)
            status =
                sp_error_set(err, SP_EINPUT, path, 0, 0,
                             "construction '%s' is of language '%s', which the probe does not have",
                             c->id, c->language);
    }
    return status;
}

static int read_probe(report *r, sp_error *err)
{
    const char *path = r->probe_path;
    int status = sp_report_json_load(path, &r->probe, err);
    if (status) return status;
    const sp_json_value *p = r->probe, *a;
    if (p->type != SP_JSON_OBJECT)
        return sp_error_set(err, SP_EINPUT, path, 0, 0, "a probe must be an object, not %s",
                            sp_json_type_name(p->type));
    status = sp_report_get_str(p, "name", false, path, &r->name, err);
    if (!status) status = sp_report_get_str(p, "task", false, path, &r->task, err);
    if (!status) status = sp_report_get_array(p, "train_lengths", false, path, &a, err);
    if (!status) {
        if (a->n != 2 || a->items[0]->type != SP_JSON_NUMBER || !a->items[0]->is_int ||
            a->items[1]->type != SP_JSON_NUMBER || !a->items[1]->is_int)
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "\"train_lengths\" must be [lo, hi]");
        r->train_lo = a->items[0]->integer;
        r->train_hi = a->items[1]->integer;
    }
    if (!status) status = sp_report_get_array(p, "bins", false, path, &a, err);
    if (!status) status = read_bins(r, a, path, err);
    if (!status) status = sp_report_get_array(p, "languages", false, path, &a, err);
    if (!status) status = read_languages(r, a, path, err);
    if (!status) status = sp_report_get_array(p, "models", false, path, &a, err);
    if (!status) status = read_models(r, a, path, err);
    if (!status) status = sp_report_get_array(p, "seeds", false, path, &a, err);
    if (!status) status = read_seeds(r, a, path, err);
    if (!status) status = sp_report_get_array(p, "modes", false, path, &a, err);
    if (!status) status = read_strings(a, "modes", path, &r->modes, &r->nmodes, err);
    if (!status) status = sp_report_get_array(p, "analysis", false, path, &a, err);
    if (!status) status = read_analysis(r, a, path, err);
    if (!status) status = sp_report_get_array(p, "constructions", true, path, &a, err);
    if (!status && a) status = read_constructions(r, a, path, err);
    return status;
}

static void report_free(report *r)
{
    for (size_t i = 0; i < r->ncells; i++) sp_report_cell_free(&r->cells[i]);
    for (size_t i = 0; i < r->ncons; i++) {
        sp_json_free(r->cons[i].doc);
        free(r->cons[i].acc);
    }
    free(r->cells);
    free(r->cons);
    free(r->bins);
    free(r->langs);
    free(r->models);
    free(r->seeds);
    free(r->modes);
    sp_json_free(r->probe);
    free(r->probe_path);
    free(r->dir);
}

int sp_report_put(const report *r, const char *name, const sp_strbuf *sb, sp_error *err)
{
    char *path = sp_path_join(r->dir, name);
    int status = sp_write_file_atomic(path, sb->buf, sb->len, err);
    free(path);
    return status;
}

void sp_report_csv_str(sp_strbuf *sb, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        sp_strbuf_puts(sb, s);
        return;
    }
    sp_strbuf_putc(sb, '"');
    for (; *s; s++) {
        if (*s == '"') sp_strbuf_putc(sb, '"');
        sp_strbuf_putc(sb, *s);
    }
    sp_strbuf_putc(sb, '"');
}

void sp_report_csv_num(sp_strbuf *sb, double v)
{
    char buf[40];
    if (isfinite(v)) sp_strbuf_append(sb, buf, sp_json_format_double(v, buf, sizeof buf));
}

int sp_report_write(const char *dir, sp_report_info *info, sp_error *err)
{
    /* every number is read (strtod) and printed (%.3f) in the C locale, whatever the caller's;
     * uselocale changes this thread only */
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!c) sp_panic(__FILE__, __LINE__, "newlocale(\"C\") failed");
    locale_t old = uselocale(c);
    report r;
    memset(&r, 0, sizeof r);
    r.dir = sp_strdup(dir);
    r.probe_path = sp_path_join(dir, "probe.json");
    int status = read_probe(&r, err);
    if (!status) status = sp_report_read_cells(&r, err);
    if (!status) status = sp_report_read_constructions(&r, err);
    if (!status) status = sp_report_write_csvs(&r, err);
    if (!status) status = sp_report_write_summary(&r, err);
    if (!status) status = sp_report_write_plots(&r, err);
    if (!status && info) {
        info->cells = r.ncells;
        info->finished = r.nfinished;
        info->constructions = 0;
        for (size_t i = 0; i < r.ncons; i++) info->constructions += r.cons[i].doc != NULL;
    }
    report_free(&r);
    uselocale(old);
    freelocale(c);
    return status;
}
