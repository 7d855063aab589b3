/* Construction files: a config and every tensor written by hand, in dense or compact forms. */
#include "satprobe/construct.h"
#include "satprobe/alloc.h"
#include "satprobe/lang.h"
#include "satprobe/yaml.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool sp_construction_path(const char *path)
{
    size_t n = strlen(path);
    return (n > 5 && !strcmp(path + n - 5, ".yaml")) || (n > 4 && !strcmp(path + n - 4, ".yml"));
}

void sp_construction_destroy(sp_construction *c)
{
    if (!c) return;
    free(c->name);
    free(c->description);
    free(c->idea);
    free(c->language);
    sp_model_destroy(c->model);
    free(c);
}

static int number(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *tensor, float *out,
                  sp_error *err)
{
    double v;
    if (sp_yaml_number(doc, node, tensor, &v, err)) return SP_EINPUT;
    if (fabs(v) > 3.0e38) return sp_yaml_error(err, doc, node, "%s: %g is beyond float32 range", tensor, v);
    *out = (float)v;
    return SP_OK;
}

static int index_in(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *tensor, const char *what,
                    size_t n, size_t *out, sp_error *err)
{
    long v;
    char label[160];
    snprintf(label, sizeof label, "%s: %s", tensor, what);
    if (sp_yaml_int(doc, node, label, 0, (long)n - 1, &v, err)) return SP_EINPUT;
    *out = (size_t)v;
    return SP_OK;
}

/* Fill x (the tensor t, already zero) from node in one of the forms of docs/constructions.md. */
static int fill_tensor(float *x, const sp_model_tensor *t, const sp_yaml_doc *doc, const sp_yaml_node *node,
                       sp_error *err)
{
    const char *name = t->name;
    size_t rows = t->shape[0], cols = t->ndim == 2 ? t->shape[1] : 1;
    if (node->type == SP_YAML_SCALAR) {
        if (node->plain && !strcmp(node->str, "zero")) return SP_OK;
        if (node->plain && !strcmp(node->str, "identity")) {
            if (t->ndim != 2 || rows != cols)
                return sp_yaml_error(err, doc, node, "%s: identity needs a square matrix", name);
            for (size_t i = 0; i < rows; i++) x[i * cols + i] = 1.0f;
            return SP_OK;
        }
        return sp_yaml_error(err, doc, node,
                             "%s: expected a list, zero, identity, or a mapping with identity, fill, one_hot or sparse",
                             name);
    }
    if (node->type == SP_YAML_SEQ) {
        if (t->ndim == 1) {
            if (node->n != rows)
                return sp_yaml_error(err, doc, node, "%s: expected %zu numbers, got %zu", name, rows, node->n);
            for (size_t i = 0; i < rows; i++)
                if (number(doc, node->items[i], name, &x[i], err)) return SP_EINPUT;
            return SP_OK;
        }
        if (node->n != rows)
            return sp_yaml_error(err, doc, node, "%s: expected %zu rows of %zu, got %zu rows", name, rows, cols, node->n);
        for (size_t i = 0; i < rows; i++) {
            const sp_yaml_node *row = node->items[i];
            if (row->type != SP_YAML_SEQ)
                return sp_yaml_error(err, doc, row, "%s: row %zu must be a list of %zu numbers", name, i, cols);
            if (row->n != cols)
                return sp_yaml_error(err, doc, row, "%s: row %zu has %zu numbers, expected %zu", name, i, row->n, cols);
            for (size_t j = 0; j < cols; j++)
                if (number(doc, row->items[j], name, &x[i * cols + j], err)) return SP_EINPUT;
        }
        return SP_OK;
    }
    if (node->n != 1)
        return sp_yaml_error(err, doc, node, "%s: a compact form is a mapping with exactly one key", name);
    const sp_yaml_node *key = node->items[0], *val = node->items[1];
    const char *form = key->str;
    if (!strcmp(form, "identity")) {
        if (t->ndim != 2 || rows != cols)
            return sp_yaml_error(err, doc, key, "%s: identity needs a square matrix", name);
        float s = 0;
        if (number(doc, val, name, &s, err)) return SP_EINPUT;
        for (size_t i = 0; i < rows; i++) x[i * cols + i] = s;
        return SP_OK;
    }
    if (!strcmp(form, "fill")) {
        float s = 0;
        if (number(doc, val, name, &s, err)) return SP_EINPUT;
        for (size_t i = 0; i < t->size; i++) x[i] = s;
        return SP_OK;
    }
    if (!strcmp(form, "one_hot")) {
        if (t->ndim != 2) return sp_yaml_error(err, doc, key, "%s: one_hot needs a matrix", name);
        if (val->type != SP_YAML_SEQ || val->n != rows)
            return sp_yaml_error(err, doc, val, "%s: one_hot needs a list of %zu column indices (one per row)", name,
                                 rows);
        for (size_t i = 0; i < rows; i++) {
            if (sp_yaml_is_null(val->items[i])) continue;
            size_t j;
            if (index_in(doc, val->items[i], name, "column index", cols, &j, err)) return SP_EINPUT;
            x[i * cols + j] = 1.0f;
        }
        return SP_OK;
    }
    if (!strcmp(form, "sparse")) {
        if (val->type != SP_YAML_SEQ)
            return sp_yaml_error(err, doc, val, "%s: sparse needs a list of entries", name);
        size_t want = t->ndim == 2 ? 3 : 2;
        for (size_t e = 0; e < val->n; e++) {
            const sp_yaml_node *it = val->items[e];
            if (it->type != SP_YAML_SEQ || it->n != want)
                return sp_yaml_error(err, doc, it, "%s: a sparse entry is %s", name,
                                     want == 3 ? "[row, column, value]" : "[index, value]");
            size_t i, j = 0;
            if (index_in(doc, it->items[0], name, want == 3 ? "row" : "index", rows, &i, err)) return SP_EINPUT;
            if (want == 3 && index_in(doc, it->items[1], name, "column", cols, &j, err)) return SP_EINPUT;
            if (number(doc, it->items[want - 1], name, &x[i * cols + j], err)) return SP_EINPUT;
        }
        return SP_OK;
    }
    return sp_yaml_error(err, doc, key, "%s: unknown form '%s' (identity, fill, one_hot or sparse)", name, form);
}

/* dir/rel, or rel itself when it is absolute. */
static char *resolve(const char *file, const char *rel)
{
    if (rel[0] == '/') return sp_strdup(rel);
    const char *slash = strrchr(file, '/');
    if (!slash) return sp_strdup(rel);
    size_t d = (size_t)(slash - file) + 1, n = strlen(rel);
    char *p = sp_malloc(d + n + 1, 1);
    memcpy(p, file, d);
    memcpy(p + d, rel, n + 1);
    return p;
}

static int load_claims(sp_construction *c, const sp_yaml_doc *doc, const sp_yaml_node *node, sp_error *err)
{
    if (sp_yaml_expect(doc, node, SP_YAML_SEQ, "claims", err)) return SP_EINPUT;
    if (node->n > SP_CONSTRUCT_MAX_CLAIMS)
        return sp_yaml_error(err, doc, node, "claims lists more than %d modes", SP_CONSTRUCT_MAX_CLAIMS);
    for (size_t i = 0; i < node->n; i++) {
        const char *s;
        if (sp_yaml_string(doc, node->items[i], "a claimed mode", &s, err)) return SP_EINPUT;
        sp_error e2;
        if (sp_mode_parse(s, SP_TIE_TOLERANCE, &c->claims[i], &e2))
            return sp_yaml_error(err, doc, node->items[i], "%s", e2.msg);
    }
    c->nclaims = node->n;
    return SP_OK;
}

static int load_weights(sp_model *m, const sp_yaml_doc *doc, const sp_yaml_node *map, sp_error *err)
{
    if (sp_yaml_expect(doc, map, SP_YAML_MAP, "weights", err)) return SP_EINPUT;
    float *slab = sp_model_param_slab(m);
    for (size_t i = 0; i < map->n; i++) {
        const sp_yaml_node *key = map->items[2 * i];
        const sp_model_tensor *t = sp_model_tensor_find(m, key->str);
        if (!t)
            return sp_yaml_error(err, doc, key, "the config has no tensor '%s' (docs/model.md lists them)", key->str);
        if (fill_tensor(slab + t->offset, t, doc, map->items[2 * i + 1], err)) return SP_EINPUT;
    }
    for (size_t i = 0; i < sp_model_num_tensors(m); i++) {
        const char *name = sp_model_tensor_at(m, i)->name;
        if (!sp_yaml_get(map, name)) return sp_yaml_error(err, doc, map, "weights: tensor '%s' is missing", name);
    }
    return SP_OK;
}

static int load_doc(sp_construction *c, const char *path, const sp_yaml_doc *doc, sp_error *err)
{
    static const char *const keys[] = {"name", "description", "idea", "language", "claims", "config", "weights", NULL};
    const sp_yaml_node *root = doc->root, *v;
    if (!root) return sp_error_set(err, SP_EINPUT, path, 0, 0, "the file is empty: expected a construction");
    if (sp_yaml_expect(doc, root, SP_YAML_MAP, "a construction", err) ||
        sp_yaml_check_keys(doc, root, keys, "construction", err))
        return SP_EINPUT;
    const char *s;
    if (sp_yaml_require(doc, root, "name", &v, err) || sp_yaml_string(doc, v, "name", &s, err)) return SP_EINPUT;
    c->name = sp_strdup(s);
    if (sp_yaml_require(doc, root, "description", &v, err) || sp_yaml_string(doc, v, "description", &s, err))
        return SP_EINPUT;
    c->description = sp_strdup(s);
    s = "";
    if ((v = sp_yaml_get(root, "idea")) && sp_yaml_string(doc, v, "idea", &s, err)) return SP_EINPUT;
    c->idea = sp_strdup(s);
    const sp_yaml_node *lang_node;
    if (sp_yaml_require(doc, root, "language", &lang_node, err) ||
        sp_yaml_string(doc, lang_node, "language", &s, err))
        return SP_EINPUT;
    c->language = resolve(path, s);
    if (sp_yaml_require(doc, root, "claims", &v, err) || load_claims(c, doc, v, err)) return SP_EINPUT;

    sp_lang *lang;
    sp_error lerr;
    if (sp_lang_load(c->language, &lang, &lerr)) {
        char msg[sizeof lerr.msg + 600];
        snprintf(msg, sizeof msg, "%s%s%s", lerr.file, lerr.file[0] ? ": " : "", lerr.msg);
        return sp_yaml_error(err, doc, lang_node, "cannot load the language: %s", msg);
    }
    size_t k = sp_lang_alphabet_size(lang);
    const char **syms = sp_malloc(k, sizeof *syms);
    for (size_t i = 0; i < k; i++) syms[i] = sp_lang_symbol(lang, (int)i);
    sp_model_config cfg;
    sp_config_init(&cfg);
    sp_config_set_alphabet(&cfg, syms, k);
    free(syms);
    sp_lang_destroy(lang);
    int status = sp_yaml_require(doc, root, "config", &v, err);
    if (!status) {
        if (sp_yaml_get(v, "alphabet"))
            status = sp_yaml_error(err, doc, sp_yaml_get(v, "alphabet"),
                                   "a construction's alphabet is its language's; leave it out");
        else status = sp_config_from_yaml(&cfg, doc, v, err);
    }
    if (!status) status = sp_model_new(&cfg, &c->model, err);
    sp_config_free(&cfg);
    if (status) return status;
    if (sp_yaml_require(doc, root, "weights", &v, err)) return SP_EINPUT;
    return load_weights(c->model, doc, v, err);
}

int sp_construction_load(const char *path, sp_construction **out, sp_error *err)
{
    *out = NULL;
    sp_yaml_doc doc;
    int status = sp_yaml_load_file(&doc, path, err);
    if (status) return status;
    sp_construction *c = sp_calloc(1, sizeof *c);
    status = load_doc(c, path, &doc, err);
    sp_yaml_free(&doc);
    if (status) {
        sp_construction_destroy(c);
        return status;
    }
    *out = c;
    return SP_OK;
}
