/* Model configuration: defaults, YAML and JSON readers, JSON writer, consistency checks. */
#include "satprobe/config.h"
#include "satprobe/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const norm_names[] = {"pre", "post", "none"};
static const char *const mask_names[] = {"causal", "none"};
static const char *const readout_names[] = {"cls", "last", "mean"};
static const char *const out_names[] = {"recognize", "predict", "both"};
static const char *const pos_names[] = {"none", "sinusoidal", "learned", "i", "i/n", "1/i", "cos(pi*i)"};

const char *sp_norm_name(sp_norm n) { return norm_names[n]; }
const char *sp_mask_name(sp_mask m) { return mask_names[m]; }
const char *sp_readout_name(sp_readout r) { return readout_names[r]; }
const char *sp_heads_out_name(sp_heads_out h) { return out_names[h]; }
const char *sp_pos_name(sp_pos_kind p) { return pos_names[p]; }

void sp_config_init(sp_model_config *c)
{
    memset(c, 0, sizeof *c);
    c->d_model = 64;
    c->layers = 2;
    c->heads = 4;
    c->d_ff = 256; /* 4 * d_model */
    c->norm = SP_NORM_PRE;
    c->bias = true;
    c->mask = SP_MASK_CAUSAL;
    c->readout = SP_READOUT_CLS;
    c->npos = 1;
    c->pos[0] = SP_POS_SINUSOIDAL;
    c->heads_out = SP_OUT_RECOGNIZE;
    c->max_len = 512;
    c->ln_eps = 1e-5;
}

void sp_config_free(sp_model_config *c)
{
    for (size_t i = 0; i < c->k; i++) free(c->alphabet[i]);
    free(c->alphabet);
    c->alphabet = NULL;
    c->k = 0;
}

void sp_config_set_alphabet(sp_model_config *c, const char *const *symbols, size_t k)
{
    for (size_t i = 0; i < c->k; i++) free(c->alphabet[i]);
    free(c->alphabet);
    c->alphabet = sp_malloc(k, sizeof *c->alphabet);
    for (size_t i = 0; i < k; i++) c->alphabet[i] = sp_strdup(symbols[i]);
    c->k = k;
}

void sp_config_copy(sp_model_config *dst, const sp_model_config *src)
{
    *dst = *src;
    dst->alphabet = NULL;
    dst->k = 0;
    sp_config_set_alphabet(dst, (const char *const *)src->alphabet, src->k);
}

size_t sp_config_features(const sp_model_config *c)
{
    size_t f = 0;
    for (size_t i = 0; i < c->npos; i++) f += c->pos[i] >= SP_POS_I;
    return f;
}

size_t sp_config_embed_width(const sp_model_config *c) { return c->d_model - sp_config_features(c); }

bool sp_config_has_pos(const sp_model_config *c, sp_pos_kind kind)
{
    for (size_t i = 0; i < c->npos; i++)
        if (c->pos[i] == kind) return true;
    return false;
}

size_t sp_config_seq_len(const sp_model_config *c, size_t n)
{
    return n + 1 + (c->readout == SP_READOUT_CLS);
}

size_t sp_config_max_string(const sp_model_config *c)
{
    size_t extra = 1 + (c->readout == SP_READOUT_CLS);
    return c->max_len >= extra ? c->max_len - extra : 0;
}

int sp_config_check(const sp_model_config *c, const char *where, sp_error *err)
{
#define BAD(...) sp_error_set(err, SP_EINPUT, where, 0, 0, __VA_ARGS__)
    if (c->d_model < 1 || c->d_model > SP_CONFIG_MAX_D)
        return BAD("d_model must be between 1 and %d, not %zu", SP_CONFIG_MAX_D, c->d_model);
    if (c->layers > SP_CONFIG_MAX_LAYERS)
        return BAD("layers must be at most %d, not %zu", SP_CONFIG_MAX_LAYERS, c->layers);
    if (c->heads < 1 || c->heads > SP_CONFIG_MAX_HEADS)
        return BAD("heads must be between 1 and %d, not %zu", SP_CONFIG_MAX_HEADS, c->heads);
    if (c->d_model % c->heads)
        return BAD("heads (%zu) must divide d_model (%zu)", c->heads, c->d_model);
    if (c->d_ff < 1 || c->d_ff > SP_CONFIG_MAX_FF)
        return BAD("d_ff must be between 1 and %d, not %zu", SP_CONFIG_MAX_FF, c->d_ff);
    if (c->max_len < 2 || c->max_len > SP_CONFIG_MAX_LEN)
        return BAD("max_len must be between 2 and %d, not %zu", SP_CONFIG_MAX_LEN, c->max_len);
    if (!(c->ln_eps >= 0 && c->ln_eps < 1)) return BAD("ln_eps must be in [0, 1), not %g", c->ln_eps);
    if (c->npos < 1 || c->npos > SP_CONFIG_MAX_POS)
        return BAD("pos must list 1 to %d encodings", SP_CONFIG_MAX_POS);
    for (size_t i = 0; i < c->npos; i++) {
        if (c->pos[i] == SP_POS_NONE && c->npos > 1) return BAD("pos 'none' cannot be combined with others");
        for (size_t j = 0; j < i; j++)
            if (c->pos[j] == c->pos[i]) return BAD("pos lists '%s' twice", pos_names[c->pos[i]]);
    }
    if (sp_config_features(c) >= c->d_model)
        return BAD("the %zu position features leave no embedding channel in d_model %zu",
                   sp_config_features(c), c->d_model);
    for (size_t i = 0; i < c->k; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->alphabet[i], c->alphabet[j]))
                return BAD("alphabet lists '%s' twice", c->alphabet[i]);
    return SP_OK;
#undef BAD
}

static int find_name(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return (int)i;
    return -1;
}

static void list_names(char *buf, size_t size, const char *const *names, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
}

/* ---- YAML ---- */

static int yaml_pos(sp_model_config *c, const sp_yaml_doc *doc, const sp_yaml_node *node, sp_error *err)
{
    const sp_yaml_node *one[1] = {node};
    const sp_yaml_node *const *items = one;
    size_t n = 1;
    if (node->type == SP_YAML_SEQ) {
        items = (const sp_yaml_node *const *)node->items;
        n = node->n;
    }
    if (n < 1 || n > SP_CONFIG_MAX_POS)
        return sp_yaml_error(err, doc, node, "pos must list 1 to %d encodings", SP_CONFIG_MAX_POS);
    for (size_t i = 0; i < n; i++) {
        int v;
        if (sp_yaml_enum(doc, items[i], "pos", pos_names, SP_POS_COUNT_, &v, err)) return SP_EINPUT;
        for (size_t j = 0; j < i; j++)
            if ((int)c->pos[j] == v) return sp_yaml_error(err, doc, items[i], "pos lists '%s' twice", pos_names[v]);
        if (n > 1 && v == SP_POS_NONE)
            return sp_yaml_error(err, doc, items[i], "pos 'none' cannot be combined with others");
        c->pos[i] = (sp_pos_kind)v;
    }
    c->npos = n;
    return SP_OK;
}

static int yaml_alphabet(sp_model_config *c, const sp_yaml_doc *doc, const sp_yaml_node *node, sp_error *err)
{
    if (sp_yaml_expect(doc, node, SP_YAML_SEQ, "alphabet", err)) return SP_EINPUT;
    if (node->n == 0) return sp_yaml_error(err, doc, node, "alphabet is empty");
    const char **syms = sp_malloc(node->n, sizeof *syms);
    for (size_t i = 0; i < node->n; i++)
        if (sp_yaml_string(doc, node->items[i], "alphabet symbol", &syms[i], err)) {
            free(syms);
            return SP_EINPUT;
        }
    sp_config_set_alphabet(c, syms, node->n);
    free(syms);
    return SP_OK;
}

int sp_config_from_yaml(sp_model_config *c, const sp_yaml_doc *doc, const sp_yaml_node *map, sp_error *err)
{
    static const char *const keys[] = {"alphabet", "d_model", "layers", "heads", "d_ff", "norm", "bias",
                                       "mask", "readout", "pos", "heads_out", "max_len", "ln_eps", NULL};
    if (sp_yaml_expect(doc, map, SP_YAML_MAP, "a model configuration", err)) return SP_EINPUT;
    if (sp_yaml_check_keys(doc, map, keys, "model configuration", err)) return SP_EINPUT;
    const sp_yaml_node *v;
    int e = 0;
    if ((v = sp_yaml_get(map, "alphabet")) && yaml_alphabet(c, doc, v, err)) return SP_EINPUT;
    if ((v = sp_yaml_get(map, "d_model")) && sp_yaml_size(doc, v, "d_model", 1, SP_CONFIG_MAX_D, &c->d_model, err))
        return SP_EINPUT;
    if ((v = sp_yaml_get(map, "layers")) && sp_yaml_size(doc, v, "layers", 0, SP_CONFIG_MAX_LAYERS, &c->layers, err))
        return SP_EINPUT;
    if ((v = sp_yaml_get(map, "heads")) && sp_yaml_size(doc, v, "heads", 1, SP_CONFIG_MAX_HEADS, &c->heads, err))
        return SP_EINPUT;
    if ((v = sp_yaml_get(map, "d_ff")) && sp_yaml_size(doc, v, "d_ff", 1, SP_CONFIG_MAX_FF, &c->d_ff, err))
        return SP_EINPUT;
    if ((v = sp_yaml_get(map, "max_len")) && sp_yaml_size(doc, v, "max_len", 2, SP_CONFIG_MAX_LEN, &c->max_len, err))
        return SP_EINPUT;
    if ((v = sp_yaml_get(map, "norm"))) {
        if (sp_yaml_enum(doc, v, "norm", norm_names, 3, &e, err)) return SP_EINPUT;
        c->norm = (sp_norm)e;
    }
    if ((v = sp_yaml_get(map, "mask"))) {
        if (sp_yaml_enum(doc, v, "mask", mask_names, 2, &e, err)) return SP_EINPUT;
        c->mask = (sp_mask)e;
    }
    if ((v = sp_yaml_get(map, "readout"))) {
        if (sp_yaml_enum(doc, v, "readout", readout_names, 3, &e, err)) return SP_EINPUT;
        c->readout = (sp_readout)e;
    }
    if ((v = sp_yaml_get(map, "heads_out"))) {
        if (sp_yaml_enum(doc, v, "heads_out", out_names, 3, &e, err)) return SP_EINPUT;
        c->heads_out = (sp_heads_out)e;
    }
    if ((v = sp_yaml_get(map, "bias")) && sp_yaml_bool(doc, v, "bias", &c->bias, err)) return SP_EINPUT;
    if ((v = sp_yaml_get(map, "pos")) && yaml_pos(c, doc, v, err)) return SP_EINPUT;
    if ((v = sp_yaml_get(map, "ln_eps"))) {
        if (sp_yaml_number(doc, v, "ln_eps", &c->ln_eps, err)) return SP_EINPUT;
        if (!(c->ln_eps >= 0 && c->ln_eps < 1))
            return sp_yaml_error(err, doc, v, "ln_eps must be in [0, 1), not %g", c->ln_eps);
    }
    if (!sp_yaml_get(map, "d_ff")) c->d_ff = 4 * c->d_model > SP_CONFIG_MAX_FF ? SP_CONFIG_MAX_FF : 4 * c->d_model;
    if (c->d_model % c->heads) {
        const sp_yaml_node *at = sp_yaml_get(map, "heads") ? sp_yaml_get(map, "heads") : map;
        return sp_yaml_error(err, doc, at, "heads (%zu) must divide d_model (%zu)", c->heads, c->d_model);
    }
    if (sp_config_features(c) >= c->d_model) {
        const sp_yaml_node *at = sp_yaml_get(map, "pos") ? sp_yaml_get(map, "pos") : map;
        return sp_yaml_error(err, doc, at, "the %zu position features leave no embedding channel in d_model %zu",
                             sp_config_features(c), c->d_model);
    }
    char where[600];
    snprintf(where, sizeof where, "%s:%d:%d", doc->file, map->line, map->col);
    return sp_config_check(c, where, err);
}

int sp_config_load_yaml(sp_model_config *c, const char *path, sp_error *err)
{
    sp_yaml_doc doc;
    if (sp_yaml_load_file(&doc, path, err)) return SP_EINPUT;
    int status;
    if (!doc.root) status = sp_error_set(err, SP_EINPUT, path, 0, 0, "the file is empty: expected a model configuration");
    else status = sp_config_from_yaml(c, &doc, doc.root, err);
    sp_yaml_free(&doc);
    return status;
}

/* ---- JSON ---- */

static int json_size(const sp_json_value *obj, const char *key, size_t lo, size_t hi, size_t *out,
                     const char *where, sp_error *err)
{
    const sp_json_value *v = sp_json_get(obj, key);
    if (!v) return sp_error_set(err, SP_EINPUT, where, 0, 0, "config has no \"%s\"", key);
    if (v->type != SP_JSON_NUMBER || !v->is_int || v->integer < (long long)lo || v->integer > (long long)hi)
        return sp_error_set(err, SP_EINPUT, where, 0, 0, "config \"%s\" must be an integer in [%zu, %zu]", key, lo, hi);
    *out = (size_t)v->integer;
    return SP_OK;
}

static int json_enum(const sp_json_value *obj, const char *key, const char *const *names, size_t n,
                     int *out, const char *where, sp_error *err)
{
    const sp_json_value *v = sp_json_get(obj, key);
    if (!v) return sp_error_set(err, SP_EINPUT, where, 0, 0, "config has no \"%s\"", key);
    int i = v->type == SP_JSON_STRING ? find_name(names, n, v->str) : -1;
    if (i < 0) {
        char list[256];
        list_names(list, sizeof list, names, n);
        return sp_error_set(err, SP_EINPUT, where, 0, 0, "config \"%s\" must be one of %s", key, list);
    }
    *out = i;
    return SP_OK;
}

int sp_config_from_json(sp_model_config *c, const sp_json_value *obj, const char *where, sp_error *err)
{
    static const char *const keys[] = {"alphabet", "d_model", "layers", "heads", "d_ff", "norm", "bias",
                                       "mask", "readout", "pos", "heads_out", "max_len", "ln_eps"};
    if (obj->type != SP_JSON_OBJECT) return sp_error_set(err, SP_EINPUT, where, 0, 0, "config is not a JSON object");
    for (size_t i = 0; i < obj->n; i++)
        if (find_name(keys, sizeof keys / sizeof *keys, obj->keys[i]) < 0)
            return sp_error_set(err, SP_EINPUT, where, 0, 0, "config has an unknown key \"%s\"", obj->keys[i]);
    const sp_json_value *a = sp_json_get(obj, "alphabet");
    if (!a || a->type != SP_JSON_ARRAY || a->n == 0)
        return sp_error_set(err, SP_EINPUT, where, 0, 0, "config \"alphabet\" must be a non-empty list of strings");
    const char **syms = sp_malloc(a->n, sizeof *syms);
    for (size_t i = 0; i < a->n; i++) {
        if (a->items[i]->type != SP_JSON_STRING || a->items[i]->len != strlen(a->items[i]->str) ||
            a->items[i]->len == 0) {
            free(syms);
            return sp_error_set(err, SP_EINPUT, where, 0, 0, "config \"alphabet\" entry %zu is not a symbol", i);
        }
        syms[i] = a->items[i]->str;
    }
    sp_config_set_alphabet(c, syms, a->n);
    free(syms);
    int e = 0;
    if (json_size(obj, "d_model", 1, SP_CONFIG_MAX_D, &c->d_model, where, err) ||
        json_size(obj, "layers", 0, SP_CONFIG_MAX_LAYERS, &c->layers, where, err) ||
        json_size(obj, "heads", 1, SP_CONFIG_MAX_HEADS, &c->heads, where, err) ||
        json_size(obj, "d_ff", 1, SP_CONFIG_MAX_FF, &c->d_ff, where, err) ||
        json_size(obj, "max_len", 2, SP_CONFIG_MAX_LEN, &c->max_len, where, err))
        return SP_EINPUT;
    if (json_enum(obj, "norm", norm_names, 3, &e, where, err)) return SP_EINPUT;
    c->norm = (sp_norm)e;
    if (json_enum(obj, "mask", mask_names, 2, &e, where, err)) return SP_EINPUT;
    c->mask = (sp_mask)e;
    if (json_enum(obj, "readout", readout_names, 3, &e, where, err)) return SP_EINPUT;
    c->readout = (sp_readout)e;
    if (json_enum(obj, "heads_out", out_names, 3, &e, where, err)) return SP_EINPUT;
    c->heads_out = (sp_heads_out)e;
    const sp_json_value *b = sp_json_get(obj, "bias");
    if (!b || b->type != SP_JSON_BOOL) return sp_error_set(err, SP_EINPUT, where, 0, 0, "config \"bias\" must be true or false");
    c->bias = b->boolean;
    const sp_json_value *eps = sp_json_get(obj, "ln_eps");
    if (!eps || eps->type != SP_JSON_NUMBER || !(eps->number >= 0 && eps->number < 1))
        return sp_error_set(err, SP_EINPUT, where, 0, 0, "config \"ln_eps\" must be a number in [0, 1)");
    c->ln_eps = eps->number;
    const sp_json_value *p = sp_json_get(obj, "pos");
    if (!p || p->type != SP_JSON_ARRAY || p->n < 1 || p->n > SP_CONFIG_MAX_POS)
        return sp_error_set(err, SP_EINPUT, where, 0, 0, "config \"pos\" must list 1 to %d encodings", SP_CONFIG_MAX_POS);
    for (size_t i = 0; i < p->n; i++) {
        int v = p->items[i]->type == SP_JSON_STRING ? find_name(pos_names, SP_POS_COUNT_, p->items[i]->str) : -1;
        if (v < 0) return sp_error_set(err, SP_EINPUT, where, 0, 0, "config \"pos\" entry %zu is not an encoding", i);
        c->pos[i] = (sp_pos_kind)v;
    }
    c->npos = p->n;
    return sp_config_check(c, where, err);
}

void sp_config_to_json(const sp_model_config *c, sp_strbuf *out)
{
    sp_json_writer w;
    sp_json_writer_init(&w, out, false);
    sp_json_object_begin(&w);
    sp_json_key(&w, "alphabet");
    sp_json_array_begin(&w);
    for (size_t i = 0; i < c->k; i++) sp_json_string(&w, c->alphabet[i]);
    sp_json_array_end(&w);
    sp_json_key(&w, "d_model");
    sp_json_uint(&w, c->d_model);
    sp_json_key(&w, "layers");
    sp_json_uint(&w, c->layers);
    sp_json_key(&w, "heads");
    sp_json_uint(&w, c->heads);
    sp_json_key(&w, "d_ff");
    sp_json_uint(&w, c->d_ff);
    sp_json_key(&w, "norm");
    sp_json_string(&w, norm_names[c->norm]);
    sp_json_key(&w, "bias");
    sp_json_bool(&w, c->bias);
    sp_json_key(&w, "mask");
    sp_json_string(&w, mask_names[c->mask]);
    sp_json_key(&w, "readout");
    sp_json_string(&w, readout_names[c->readout]);
    sp_json_key(&w, "pos");
    sp_json_array_begin(&w);
    for (size_t i = 0; i < c->npos; i++) sp_json_string(&w, pos_names[c->pos[i]]);
    sp_json_array_end(&w);
    sp_json_key(&w, "heads_out");
    sp_json_string(&w, out_names[c->heads_out]);
    sp_json_key(&w, "max_len");
    sp_json_uint(&w, c->max_len);
    sp_json_key(&w, "ln_eps");
    sp_json_double(&w, c->ln_eps);
    sp_json_object_end(&w);
}
