/* The model's parameter layout (named tensors in one slab), initialisation and checkpoints. */
#include "model_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/json.h"
#include "satprobe/safetensors.h"
#include "sp_config.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- layout ---- */

typedef struct layout {
    sp_model_tensor *t;
    size_t n, cap, total;
} layout;

static void add(layout *l, const char *name, size_t rows, size_t cols)
{
    SP_GROW(l->t, l->cap, l->n + 1);
    sp_model_tensor *t = &l->t[l->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = cols ? 2 : 1;
    t->shape[0] = rows;
    t->shape[1] = cols;
    t->size = rows * (cols ? cols : 1);
    t->offset = l->total;
    l->total += t->size;
}

/* Every tensor of docs/model.md, in checkpoint order. */
static void build_layout(const sp_model_config *c, layout *l)
{
    size_t D = c->d_model, De = sp_config_embed_width(c), V = c->k + 2, O = c->k + 1, FF = c->d_ff;
    bool norm = c->norm != SP_NORM_NONE;
    char name[64];
    add(l, "embed.weight", V, De);
    if (sp_config_has_pos(c, SP_POS_LEARNED)) add(l, "pos.weight", c->max_len, De);
    for (size_t i = 0; i < c->layers; i++) {
#define T1(suffix, n)                                                \
    do {                                                             \
        snprintf(name, sizeof name, "layers.%zu.%s", i, suffix);     \
        add(l, name, n, 0);                                          \
    } while (0)
#define T2(suffix, r, cc)                                            \
    do {                                                             \
        snprintf(name, sizeof name, "layers.%zu.%s", i, suffix);     \
        add(l, name, r, cc);                                         \
    } while (0)
        if (norm) T1("ln1.weight", D);
        if (norm && c->bias) T1("ln1.bias", D);
        static const char *const proj[] = {"q", "k", "v", "o"};
        for (int j = 0; j < 4; j++) {
            char s[32];
            snprintf(s, sizeof s, "attn.%s.weight", proj[j]);
            T2(s, D, D);
            if (c->bias) {
                snprintf(s, sizeof s, "attn.%s.bias", proj[j]);
                T1(s, D);
            }
        }
        if (norm) T1("ln2.weight", D);
        if (norm && c->bias) T1("ln2.bias", D);
        T2("ff.w1.weight", FF, D);
        if (c->bias) T1("ff.w1.bias", FF);
        T2("ff.w2.weight", D, FF);
        if (c->bias) T1("ff.w2.bias", D);
#undef T1
#undef T2
    }
    if (c->norm == SP_NORM_PRE) {
        add(l, "ln_f.weight", D, 0);
        if (c->bias) add(l, "ln_f.bias", D, 0);
    }
    if (c->heads_out != SP_OUT_PREDICT) {
        add(l, "readout.weight", 1, D);
        if (c->bias) add(l, "readout.bias", 1, 0);
    }
    if (c->heads_out != SP_OUT_RECOGNIZE) {
        add(l, "next.weight", O, D);
        if (c->bias) add(l, "next.bias", O, 0);
    }
}

const sp_model_tensor *sp_model_tensor_find(const sp_model *m, const char *name)
{
    for (size_t i = 0; i < m->ntensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

static float *view(const sp_model *m, float *slab, const char *name)
{
    const sp_model_tensor *t = sp_model_tensor_find(m, name);
    return t ? slab + t->offset : NULL;
}

void sp_model_map_views(const sp_model *m, float *slab, sp_params *p)
{
    sp_layer_params *layer = p->layer;
    memset(p, 0, sizeof *p);
    p->layer = layer;
    p->embed = view(m, slab, "embed.weight");
    p->pos = view(m, slab, "pos.weight");
    for (size_t i = 0; i < m->cfg.layers; i++) {
        sp_layer_params *lp = &p->layer[i];
        char name[64];
#define V(field, suffix)                                                 \
    do {                                                                 \
        snprintf(name, sizeof name, "layers.%zu.%s", i, suffix);         \
        lp->field = view(m, slab, name);                                 \
    } while (0)
        V(ln1w, "ln1.weight");
        V(ln1b, "ln1.bias");
        V(qw, "attn.q.weight");
        V(qb, "attn.q.bias");
        V(kw, "attn.k.weight");
        V(kb, "attn.k.bias");
        V(vw, "attn.v.weight");
        V(vb, "attn.v.bias");
        V(ow, "attn.o.weight");
        V(ob, "attn.o.bias");
        V(ln2w, "ln2.weight");
        V(ln2b, "ln2.bias");
        V(w1, "ff.w1.weight");
        V(b1, "ff.w1.bias");
        V(w2, "ff.w2.weight");
        V(b2, "ff.w2.bias");
#undef V
    }
    p->lnfw = view(m, slab, "ln_f.weight");
    p->lnfb = view(m, slab, "ln_f.bias");
    p->readw = view(m, slab, "readout.weight");
    p->readb = view(m, slab, "readout.bias");
    p->nextw = view(m, slab, "next.weight");
    p->nextb = view(m, slab, "next.bias");
}

int sp_model_new(const sp_model_config *cfg, sp_model **out, sp_error *err)
{
    *out = NULL;
    if (cfg->k == 0) return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "the model has no alphabet");
    if (sp_config_check(cfg, "model config", err)) return SP_EINPUT;
    sp_model *m = sp_calloc(1, sizeof *m);
    sp_config_copy(&m->cfg, cfg);
    layout l = {0};
    build_layout(cfg, &l);
    m->tensors = l.t;
    m->ntensors = l.n;
    m->nparams = l.total;
    m->params = sp_calloc(m->nparams, sizeof *m->params);
    m->sparams = sp_calloc(m->nparams, sizeof *m->sparams);
    m->p.layer = sp_calloc(cfg->layers, sizeof *m->p.layer);
    m->sp.layer = sp_calloc(cfg->layers, sizeof *m->sp.layer);
    sp_model_map_views(m, m->params, &m->p);
    sp_model_map_views(m, m->sparams, &m->sp);
    m->layer = sp_calloc(cfg->layers, sizeof *m->layer);
    *out = m;
    return SP_OK;
}

void sp_model_destroy(sp_model *m)
{
    if (!m) return;
    sp_config_free(&m->cfg);
    free(m->tensors);
    free(m->params);
    free(m->sparams);
    free(m->p.layer);
    free(m->sp.layer);
    free(m->layer);
    free(m->acts);
    free(m->tokens);
    free(m->lens);
    free(m);
}

const sp_model_config *sp_model_config_of(const sp_model *m) { return &m->cfg; }
size_t sp_model_num_params(const sp_model *m) { return m->nparams; }
float *sp_model_param_slab(sp_model *m) { return m->params; }
const sp_params *sp_model_params(const sp_model *m) { return &m->p; }
size_t sp_model_num_tensors(const sp_model *m) { return m->ntensors; }
const sp_model_tensor *sp_model_tensor_at(const sp_model *m, size_t i) { return &m->tensors[i]; }

/* ---- initialisation ---- */

static bool is_layernorm(const char *name)
{
    return strstr(name, "ln1.") || strstr(name, "ln2.") || !strncmp(name, "ln_f.", 5);
}

void sp_model_init_random(sp_model *m, gsl_rng *r)
{
    for (size_t i = 0; i < m->ntensors; i++) {
        const sp_model_tensor *t = &m->tensors[i];
        float *x = m->params + t->offset;
        const char *dot = strrchr(t->name, '.');
        bool is_bias = dot && !strcmp(dot, ".bias");
        if (is_layernorm(t->name)) {
            for (size_t j = 0; j < t->size; j++) x[j] = is_bias ? 0.0f : 1.0f;
        } else if (!strcmp(t->name, "embed.weight") || !strcmp(t->name, "pos.weight")) {
            for (size_t j = 0; j < t->size; j++) x[j] = (float)gsl_ran_gaussian(r, 1.0);
        } else {
            /* a linear map's fan_in is the weight's column count; its bias shares it */
            size_t fan_in = is_bias ? m->tensors[i - 1].shape[1] : t->shape[1];
            double bound = 1.0 / sqrt((double)fan_in);
            for (size_t j = 0; j < t->size; j++) x[j] = (float)(bound * (2.0 * gsl_rng_uniform(r) - 1.0));
        }
    }
}

/* ---- checkpoints ---- */

int sp_model_save(const sp_model *m, const char *path, sp_error *err)
{
    sp_st_tensor *ts = sp_malloc(m->ntensors, sizeof *ts);
    for (size_t i = 0; i < m->ntensors; i++) {
        const sp_model_tensor *t = &m->tensors[i];
        ts[i].name = t->name;
        ts[i].ndim = t->ndim;
        ts[i].shape[0] = t->shape[0];
        ts[i].shape[1] = t->shape[1];
        ts[i].data = m->params + t->offset;
    }
    sp_strbuf cfg;
    sp_strbuf_init(&cfg);
    sp_config_to_json(&m->cfg, &cfg);
    sp_st_meta meta[] = {{"format", "pt"}, {"satprobe_version", SP_VERSION}, {"config", cfg.buf}};
    int status = sp_st_write(path, ts, m->ntensors, meta, 3, err);
    sp_strbuf_free(&cfg);
    free(ts);
    return status;
}

static int check_tensors(const sp_model *m, const sp_st_file *f, const char *path, sp_error *err)
{
    for (size_t i = 0; i < sp_st_count(f); i++) {
        const sp_st_tensor *s = sp_st_at(f, i);
        const sp_model_tensor *t = sp_model_tensor_find(m, s->name);
        if (!t)
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "tensor \"%s\" is not part of this model's config",
                                s->name);
        bool same = s->ndim == t->ndim && s->shape[0] == t->shape[0] && (t->ndim == 1 || s->shape[1] == t->shape[1]);
        if (!same) {
            char got[96] = "[";
            for (size_t d = 0; d < s->ndim; d++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zu", d ? ", " : "", s->shape[d]);
            strcat(got, "]");
            if (t->ndim == 2)
                return sp_error_set(err, SP_EINPUT, path, 0, 0, "tensor \"%s\" has shape %s, the config needs [%zu, %zu]",
                                    s->name, got, t->shape[0], t->shape[1]);
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "tensor \"%s\" has shape %s, the config needs [%zu]",
                                s->name, got, t->shape[0]);
        }
    }
    for (size_t i = 0; i < m->ntensors; i++)
        if (!sp_st_find(f, m->tensors[i].name))
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "tensor \"%s\" is missing", m->tensors[i].name);
    return SP_OK;
}

static int load_file(const char *path, sp_st_file *f, sp_model **out, sp_error *err);

int sp_model_load(const char *path, sp_model **out, sp_error *err)
{
    *out = NULL;
    sp_st_file *f;
    int status = sp_st_read(path, &f, err);
    if (status) return status;
    return load_file(path, f, out, err);
}

int sp_model_load_buffer(const char *name, const void *bytes, size_t len, sp_model **out, sp_error *err)
{
    *out = NULL;
    sp_st_file *f;
    int status = sp_st_read_buffer(name, bytes, len, &f, err);
    if (status) return status;
    return load_file(name, f, out, err);
}

/* The model in f (which this releases), checked against its config. */
static int load_file(const char *path, sp_st_file *f, sp_model **out, sp_error *err)
{
    int status;
    const char *cfg_text = sp_st_metadata(f, "config");
    if (!cfg_text) {
        sp_st_free(f);
        return sp_error_set(err, SP_EINPUT, path, 0, 0, "no \"config\" in __metadata__: not a satprobe model");
    }
    sp_json_value *json;
    if (sp_json_parse(cfg_text, strlen(cfg_text), &json, err)) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        sp_st_free(f);
        return sp_error_set(err, SP_EINPUT, path, 0, 0, "__metadata__ config is not valid JSON: %s", msg);
    }
    sp_model_config cfg;
    sp_config_init(&cfg);
    status = sp_config_from_json(&cfg, json, path, err);
    sp_json_free(json);
    if (status) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        snprintf(err->msg, sizeof err->msg, "__metadata__ config: %.1000s", msg);
    }
    sp_model *m = NULL;
    if (!status) status = sp_model_new(&cfg, &m, err);
    sp_config_free(&cfg);
    if (!status) status = check_tensors(m, f, path, err);
    if (!status) {
        for (size_t i = 0; i < m->ntensors; i++) {
            const sp_st_tensor *s = sp_st_find(f, m->tensors[i].name);
            memcpy(m->params + m->tensors[i].offset, s->data, m->tensors[i].size * sizeof(float));
        }
        for (size_t i = 0; i < m->nparams; i++)
            if (!isfinite(m->params[i])) {
                size_t t = 0;
                while (t + 1 < m->ntensors && m->tensors[t + 1].offset <= i) t++;
                status = sp_error_set(err, SP_EINPUT, path, 0, 0, "tensor \"%s\" holds a NaN or infinity",
                                      m->tensors[t].name);
                break;
            }
    }
    sp_st_free(f);
    if (status) {
        sp_model_destroy(m);
        return status;
    }
    *out = m;
    return SP_OK;
}
