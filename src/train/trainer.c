/* The training loop: batches, losses, backward, optimizer step, validation, records and
 * checkpoints, early stopping, and exact resumption from the last checkpoint. */
#include "train_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/eval.h"
#include "satprobe/fsutil.h"
#include "satprobe/json.h"
#include "satprobe/progress.h"
#include "satprobe/safetensors.h"
#include "sp_config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void sp_train_options_default(sp_train_options *o)
{
    memset(o, 0, sizeof *o);
    o->steps = 1000;
    o->batch = 32;
    sp_optim_config_default(&o->optim);
    o->seed = 1;
    o->loss = SP_LOSS_RECOGNIZE;
    o->next_weight = 1.0;
    o->val_every = 100;
    o->patience = 0;
    o->norm_every = 10;
    o->saturation_strings = 256;
    o->saturation_scale = 1000;
}

const char *sp_loss_kind_name(sp_loss_kind k)
{
    static const char *const names[] = {"recognize", "predict", "both"};
    return names[k];
}

typedef struct trainer {
    sp_model *m;
    const sp_model_config *c;
    const sp_dataset *train, *val;
    const sp_train_options *o;
    const char *dir;
    size_t n;                /* parameters */
    float *grad;             /* [n] */
    sp_optim opt;
    sp_batch_plan plan;
    size_t B, maxn, T;       /* batch, longest string of either split, its sequence length */
    const int **strs;        /* [B] */
    size_t *ns;              /* [B] */
    bool *labels;            /* [B] */
    const bool **nexts, **ends; /* [B] */
    float *dlogits;          /* [B] */
    float *dnext;            /* [B, T, O] */
    size_t *idx;             /* [B] example indices of a validation batch */
    size_t dec_stride;       /* B * max(1, (maxn + 1) O): decisions of one batch */
    bool *decisions;         /* [2, dec_stride] soft decisions, then another mode's */
    double agree_sat, agree_lim; /* of the last validation */
    double *sat_levels;      /* [L + 1] */
    double *layer_sq;        /* [L + 1] squared norms per layer, scratch of record_norms */
    sp_evalset sat_set;      /* the first strings of val, for the saturation level */
    sp_csv train_csv, norms_csv, sat_csv;
    double *norm_t, *norm_y; /* the norm curve, for fit.json */
    size_t n_norm, cap_norm;
    double best_val_loss, best_val_acc, val_loss, val_acc;
    uint64_t best_step, bad;
} trainer;

/* ---- batches and losses ---- */

static void gather(trainer *tr, const sp_dataset *ds, const size_t *idx, size_t B)
{
    for (size_t b = 0; b < B; b++) {
        size_t i = idx[b];
        tr->strs[b] = ds->syms + ds->start[i];
        tr->ns[b] = ds->start[i + 1] - ds->start[i];
        tr->labels[b] = ds->label[i];
        tr->nexts[b] = ds->has_next ? ds->next + (ds->start[i] + i) * ds->k : NULL;
        tr->ends[b] = ds->has_next ? ds->end + ds->start[i] + i : NULL;
    }
}

/* Loss of the batch in tr's arrays after a soft forward; gradients into dlogits/dnext when grads. */
static double batch_loss(trainer *tr, size_t B, bool grads, double *acc_out)
{
    const sp_train_options *o = tr->o;
    size_t T = sp_model_batch_T(tr->m), O = tr->c->k + 1;
    double loss = 0;
    size_t correct = 0;
    if (grads) {
        memset(tr->dlogits, 0, B * sizeof *tr->dlogits);
        memset(tr->dnext, 0, B * T * O * sizeof *tr->dnext);
    }
    if (o->loss != SP_LOSS_PREDICT) {
        const float *z = sp_model_logits(tr->m);
        loss += sp_loss_recognize(z, tr->labels, B, 1.0, grads ? tr->dlogits : NULL);
        for (size_t b = 0; b < B; b++) correct += (z[b] > 0) == tr->labels[b];
    }
    if (o->loss != SP_LOSS_RECOGNIZE) {
        const float *z = sp_model_next_logits(tr->m);
        double w = o->loss == SP_LOSS_BOTH ? o->next_weight : 1.0;
        loss += w * sp_loss_predict(z, T, tr->c->k, tr->ns, tr->labels, tr->nexts, tr->ends, B, w,
                                    grads ? tr->dnext : NULL);
        if (o->loss == SP_LOSS_PREDICT) {
            size_t pos = 0;
            for (size_t b = 0; b < B; b++) {
                if (!tr->labels[b]) continue;
                pos++;
                bool ok = true;
                for (size_t t = 0; t <= tr->ns[b] && ok; t++)
                    for (size_t a = 0; a <= tr->c->k && ok; a++) {
                        bool want = a < tr->c->k ? tr->nexts[b][t * tr->c->k + a] : tr->ends[b][t];
                        ok = (z[(b * T + t) * O + a] > 0) == want;
                    }
                correct += ok;
            }
            *acc_out = pos ? (double)correct / (double)pos : 1.0;
            return loss;
        }
    }
    *acc_out = B ? (double)correct / (double)B : 1.0;
    return loss;
}

/* ---- norms ---- */

static double sumsq(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

static void record_norms(trainer *tr, uint64_t step)
{
    const float *p = sp_model_param_slab(tr->m);
    size_t L = tr->c->layers;
    double all = 0, embed = 0, *layer = tr->layer_sq;
    memset(layer, 0, (L + 1) * sizeof *layer);
    for (size_t i = 0; i < sp_model_num_tensors(tr->m); i++) {
        const sp_model_tensor *t = sp_model_tensor_at(tr->m, i);
        double s = sumsq(p + t->offset, t->size);
        all += s;
        if (!strcmp(t->name, "embed.weight") || !strcmp(t->name, "pos.weight")) embed += s;
        size_t l;
        if (sscanf(t->name, "layers.%zu.", &l) == 1 && l < L) layer[l] += s;
    }
    sp_strbuf *sb = &tr->norms_csv.text;
    /* the fit uses the value as written, so that a resumed run (which reads it back) fits the
     * same numbers */
    char norm[40];
    snprintf(norm, sizeof norm, "%.9g", sqrt(all));
    sp_strbuf_printf(sb, "%llu,%s,%.9g", (unsigned long long)step, norm, sqrt(all - embed));
    for (size_t l = 0; l < L; l++) sp_strbuf_printf(sb, ",%.9g", sqrt(layer[l]));
    sp_strbuf_putc(sb, '\n');
    SP_GROW(tr->norm_t, tr->cap_norm, tr->n_norm + 1);
    tr->norm_y = sp_realloc(tr->norm_y, tr->cap_norm, sizeof *tr->norm_y);
    tr->norm_t[tr->n_norm] = (double)step;
    tr->norm_y[tr->n_norm] = strtod(norm, NULL);
    tr->n_norm++;
}

/* ---- validation and saturation ---- */

/* Decisions of the last forward pass: the accept decision of each string, or each next-symbol
 * decision of each position (predict heads), in batch order. Returns how many. */
static size_t decisions(const trainer *tr, size_t B, bool *out)
{
    bool rec = tr->c->heads_out != SP_OUT_PREDICT;
    size_t O = tr->c->k + 1, T = sp_model_batch_T(tr->m), w = 0;
    for (size_t b = 0; b < B; b++) {
        size_t cnt = rec ? 1 : (tr->ns[b] + 1) * O;
        for (size_t j = 0; j < cnt; j++)
            out[w++] = (rec ? sp_model_logits(tr->m)[b] : sp_model_next_logits(tr->m)[(b * T + j / O) * O + j % O]) > 0;
    }
    return w;
}

/* Over the validation split: loss and accuracy (soft), and the fraction of decisions on which
 * saturated and limit attention agree with soft. */
static int validate(trainer *tr, sp_error *err)
{
    const sp_dataset *ds = tr->val;
    const sp_mode modes[3] = {{SP_ATTN_SOFT, 1, 0}, {SP_ATTN_SATURATED, 1, SP_TIE_TOLERANCE},
                              {SP_ATTN_LIMIT, 1, SP_TIE_TOLERANCE}};
    double loss = 0, acc = 0;
    uint64_t same[3] = {0}, total = 0;
    int status = SP_OK;
    for (size_t done = 0; done < ds->count && !status;) {
        size_t B = ds->count - done < tr->B ? ds->count - done : tr->B;
        for (size_t b = 0; b < B; b++) tr->idx[b] = done + b;
        gather(tr, ds, tr->idx, B);
        for (int mi = 0; mi < 3 && !status; mi++) {
            status = sp_model_forward(tr->m, tr->strs, tr->ns, B, &modes[mi], err);
            if (status) break;
            bool *d = tr->decisions + (mi ? tr->dec_stride : 0);
            size_t n = decisions(tr, B, d);
            if (mi == 0) {
                double a;
                loss += batch_loss(tr, B, false, &a) * (double)B;
                acc += a * (double)B;
                total += n;
            } else
                for (size_t i = 0; i < n; i++) same[mi] += d[i] == tr->decisions[i];
        }
        done += B;
    }
    tr->val_loss = ds->count ? loss / (double)ds->count : 0;
    tr->val_acc = ds->count ? acc / (double)ds->count : 0;
    tr->agree_sat = total ? (double)same[1] / (double)total : 1.0;
    tr->agree_lim = total ? (double)same[2] / (double)total : 1.0;
    return status;
}

static int record_saturation(trainer *tr, uint64_t step, sp_error *err)
{
    size_t L = tr->c->layers;
    double *lv = tr->sat_levels;
    int status = sp_eval_saturation(tr->m, &tr->sat_set, tr->o->saturation_scale, tr->B, false, lv, err);
    if (!status) {
        sp_strbuf *sb = &tr->sat_csv.text;
        sp_strbuf_printf(sb, "%llu,%.9g,%.9g,%.9g", (unsigned long long)step, lv[L], tr->agree_sat, tr->agree_lim);
        for (size_t l = 0; l < L; l++) sp_strbuf_printf(sb, ",%.9g", lv[l]);
        sp_strbuf_putc(sb, '\n');
    }
    return status;
}

/* ---- checkpoints ---- */

static int save_optim(trainer *tr, sp_error *err)
{
    char step[32], best[40], best_step[32], bad[32], best_acc[40];
    snprintf(step, sizeof step, "%llu", (unsigned long long)tr->opt.step);
    snprintf(best, sizeof best, "%.17g", tr->best_val_loss);
    snprintf(best_acc, sizeof best_acc, "%.17g", tr->best_val_acc);
    snprintf(best_step, sizeof best_step, "%llu", (unsigned long long)tr->best_step);
    snprintf(bad, sizeof bad, "%llu", (unsigned long long)tr->bad);
    sp_st_meta meta[] = {{"format", "pt"},
                         {"satprobe_version", SP_VERSION},
                         {"optimizer", sp_opt_kind_name(tr->opt.cfg.kind)},
                         {"step", step},
                         {"best_val_loss", best},
                         {"best_val_acc", best_acc},
                         {"best_step", best_step},
                         {"bad_validations", bad}};
    bool adam = tr->opt.cfg.kind != SP_OPT_SGD;
    /* the parameters too, so that this one file, written last, is the whole state a resumed
     * run needs: model.safetensors may already be a step ahead of it */
    sp_st_tensor ts[3] = {{.name = "m", .ndim = 1, .shape = {tr->n}, .data = tr->opt.m},
                          {.name = "v", .ndim = 1, .shape = {adam ? tr->n : 0}, .data = tr->opt.v},
                          {.name = "params", .ndim = 1, .shape = {tr->n}, .data = sp_model_param_slab(tr->m)}};
    char *path = sp_path_join(tr->dir, "optim.safetensors");
    int status = sp_st_write(path, ts, 3, meta, sizeof meta / sizeof *meta, err);
    free(path);
    return status;
}

static int checkpoint(trainer *tr, bool best, sp_error *err)
{
    char *path = sp_path_join(tr->dir, "model.safetensors");
    int status = sp_model_save(tr->m, path, err);
    free(path);
    if (!status && best) {
        path = sp_path_join(tr->dir, "best.safetensors");
        status = sp_model_save(tr->m, path, err);
        free(path);
    }
    if (!status) status = sp_csv_write(&tr->train_csv, err);
    if (!status) status = sp_csv_write(&tr->norms_csv, err);
    if (!status) status = sp_csv_write(&tr->sat_csv, err);
    /* the optimizer state (with the parameters) last: a run interrupted before it resumes from
     * the previous checkpoint, whatever of the files above it had already replaced */
    if (!status) status = save_optim(tr, err);
    return status;
}

static int meta_u64(const sp_st_file *f, const char *path, const char *key, uint64_t *out, sp_error *err)
{
    const char *v = sp_st_metadata(f, key);
    char *e;
    if (!v || !*v) return sp_error_set(err, SP_EINPUT, path, 0, 0, "no \"%s\" in __metadata__", key);
    errno = 0;
    *out = strtoull(v, &e, 10);
    if (*e || errno) return sp_error_set(err, SP_EINPUT, path, 0, 0, "__metadata__ \"%s\" is not a number", key);
    return SP_OK;
}

static int meta_double(const sp_st_file *f, const char *path, const char *key, double *out, sp_error *err)
{
    const char *v = sp_st_metadata(f, key);
    char *e;
    if (!v || !*v) return sp_error_set(err, SP_EINPUT, path, 0, 0, "no \"%s\" in __metadata__", key);
    *out = strtod(v, &e);
    if (*e) return sp_error_set(err, SP_EINPUT, path, 0, 0, "__metadata__ \"%s\" is not a number", key);
    return SP_OK;
}

static int load_state(trainer *tr, sp_error *err)
{
    char *mpath = sp_path_join(tr->dir, "model.safetensors"), *opath = sp_path_join(tr->dir, "optim.safetensors");
    sp_model *saved = NULL;
    sp_st_file *f = NULL;
    int status = sp_model_load(mpath, &saved, err);
    if (!status) {
        sp_strbuf a, b;
        sp_strbuf_init(&a);
        sp_strbuf_init(&b);
        sp_config_to_json(tr->c, &a);
        sp_config_to_json(sp_model_config_of(saved), &b);
        if (strcmp(a.buf, b.buf))
            status = sp_error_set(err, SP_EINPUT, mpath, 0, 0, "its model config differs from this run's: %s", b.buf);
        sp_strbuf_free(&a);
        sp_strbuf_free(&b);
    }
    if (!status) status = sp_st_read(opath, &f, err);
    if (!status) {
        const char *kind = sp_st_metadata(f, "optimizer");
        const sp_st_tensor *m = sp_st_find(f, "m"), *v = sp_st_find(f, "v"), *p = sp_st_find(f, "params");
        bool adam = tr->opt.cfg.kind != SP_OPT_SGD;
        if (!kind || strcmp(kind, sp_opt_kind_name(tr->opt.cfg.kind)))
            status = sp_error_set(err, SP_EINPUT, opath, 0, 0, "it holds the state of optimizer '%s', not '%s'",
                                  kind ? kind : "?", sp_opt_kind_name(tr->opt.cfg.kind));
        else if (!m || !v || m->ndim != 1 || m->shape[0] != tr->n || v->ndim != 1 || v->shape[0] != (adam ? tr->n : 0))
            status = sp_error_set(err, SP_EINPUT, opath, 0, 0, "its moment tensors do not fit the model");
        else if (!p || p->ndim != 1 || p->shape[0] != tr->n)
            status = sp_error_set(err, SP_EINPUT, opath, 0, 0, "it holds no parameters of this model's size");
        else {
            memcpy(sp_model_param_slab(tr->m), p->data, tr->n * sizeof(float));
            memcpy(tr->opt.m, m->data, tr->n * sizeof(float));
            if (adam) memcpy(tr->opt.v, v->data, tr->n * sizeof(float));
            status = meta_u64(f, opath, "step", &tr->opt.step, err);
            if (!status) status = meta_double(f, opath, "best_val_loss", &tr->best_val_loss, err);
            if (!status) status = meta_double(f, opath, "best_val_acc", &tr->best_val_acc, err);
            if (!status) status = meta_u64(f, opath, "best_step", &tr->best_step, err);
            if (!status) status = meta_u64(f, opath, "bad_validations", &tr->bad, err);
        }
    }
    sp_st_free(f);
    sp_model_destroy(saved);
    free(mpath);
    free(opath);
    return status;
}

/* The norm curve back from the resumed norms.csv. */
static void reload_norms(trainer *tr)
{
    const char *p = strchr(tr->norms_csv.text.buf, '\n') + 1;
    while (*p) {
        unsigned long long step;
        double y;
        if (sscanf(p, "%llu,%lf", &step, &y) == 2) {
            SP_GROW(tr->norm_t, tr->cap_norm, tr->n_norm + 1);
            tr->norm_y = sp_realloc(tr->norm_y, tr->cap_norm, sizeof *tr->norm_y);
            tr->norm_t[tr->n_norm] = (double)step;
            tr->norm_y[tr->n_norm] = y;
            tr->n_norm++;
        }
        p = strchr(p, '\n');
        if (!p) break;
        p++;
    }
}

static int write_fit(trainer *tr, sp_train_summary *s, sp_error *err)
{
    sp_error ferr;
    s->has_fit = sp_fit_sqrt(tr->norm_t, tr->norm_y, tr->n_norm, &s->fit_sqrt, &ferr) == SP_OK &&
                 sp_fit_power(tr->norm_t, tr->norm_y, tr->n_norm, &s->fit_power, &ferr) == SP_OK;
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_json_writer w;
    sp_json_writer_init(&w, &sb, true);
    sp_json_object_begin(&w);
    sp_json_key(&w, "points");
    sp_json_uint(&w, tr->n_norm);
    if (s->has_fit) {
        sp_json_key(&w, "sqrt");
        sp_json_object_begin_inline(&w);
        sp_json_key(&w, "formula");
        sp_json_string(&w, "norm = a * sqrt(t) + b");
        sp_json_key(&w, "a");
        sp_json_double(&w, s->fit_sqrt.a);
        sp_json_key(&w, "b");
        sp_json_double(&w, s->fit_sqrt.b);
        sp_json_key(&w, "r2");
        sp_json_double(&w, s->fit_sqrt.r2);
        sp_json_object_end(&w);
        sp_json_key(&w, "power");
        sp_json_object_begin_inline(&w);
        sp_json_key(&w, "formula");
        sp_json_string(&w, "norm = a * t^p");
        sp_json_key(&w, "a");
        sp_json_double(&w, s->fit_power.a);
        sp_json_key(&w, "p");
        sp_json_double(&w, s->fit_power.b);
        sp_json_key(&w, "r2");
        sp_json_double(&w, s->fit_power.r2);
        sp_json_object_end(&w);
    } else {
        sp_json_key(&w, "error");
        sp_json_string(&w, ferr.msg);
    }
    sp_json_object_end(&w);
    sp_strbuf_putc(&sb, '\n');
    char *path = sp_path_join(tr->dir, "fit.json");
    int status = sp_write_file_atomic(path, sb.buf, sb.len, err);
    free(path);
    sp_strbuf_free(&sb);
    return status;
}

/* ---- the loop ---- */

static int non_finite(trainer *tr, uint64_t step, double loss, sp_error *err)
{
    if (!isfinite(loss)) return sp_error_set(err, SP_ECHECK, NULL, 0, 0, "step %llu: the loss is %g",
                                             (unsigned long long)step, loss);
    for (size_t i = 0; i < sp_model_num_tensors(tr->m); i++) {
        const sp_model_tensor *t = sp_model_tensor_at(tr->m, i);
        for (size_t j = 0; j < t->size; j++)
            if (!isfinite(tr->grad[t->offset + j]))
                return sp_error_set(err, SP_ECHECK, NULL, 0, 0, "step %llu: the gradient of %s is %g",
                                    (unsigned long long)step, t->name, (double)tr->grad[t->offset + j]);
    }
    return sp_error_set(err, SP_ECHECK, NULL, 0, 0, "step %llu: the gradient norm is not finite",
                        (unsigned long long)step);
}

static size_t longest(const sp_dataset *ds)
{
    size_t m = 0;
    for (size_t i = 0; i < ds->count; i++) {
        size_t n = ds->start[i + 1] - ds->start[i];
        m = n > m ? n : m;
    }
    return m;
}

static int check_inputs(const trainer *tr, sp_error *err)
{
    const sp_train_options *o = tr->o;
    const sp_model_config *c = tr->c;
    if (tr->train->count == 0) return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "the training split is empty");
    if (tr->val->count == 0) return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "the validation split is empty");
    if (tr->train->k != c->k || tr->val->k != c->k)
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "the data has %zu symbols, the model %zu", tr->train->k, c->k);
    if (o->steps == 0 || o->batch == 0 || o->val_every == 0 || o->norm_every == 0)
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "steps, batch, val_every and norm_every must be at least 1");
    if (o->loss != SP_LOSS_PREDICT && c->heads_out == SP_OUT_PREDICT)
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "the %s loss needs an accept head (heads_out recognize or both)",
                            sp_loss_kind_name(o->loss));
    if (o->loss != SP_LOSS_RECOGNIZE && c->heads_out == SP_OUT_RECOGNIZE)
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "the %s loss needs a next-symbol head (heads_out predict or both)",
                            sp_loss_kind_name(o->loss));
    if (o->loss != SP_LOSS_RECOGNIZE && (!tr->train->has_next || !tr->val->has_next))
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0,
                            "the %s loss needs next-symbol sets in the data (gen --task predict or both)",
                            sp_loss_kind_name(o->loss));
    if (tr->maxn > sp_config_max_string(c))
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "the data has strings of length %zu; the model takes at most %zu",
                            tr->maxn, sp_config_max_string(c));
    return sp_optim_config_check(&o->optim, err);
}

static void trainer_free(trainer *tr)
{
    free(tr->grad);
    sp_optim_free(&tr->opt);
    sp_batch_plan_free(&tr->plan);
    free(tr->strs);
    free(tr->ns);
    free(tr->labels);
    free(tr->nexts);
    free(tr->ends);
    free(tr->dlogits);
    free(tr->dnext);
    free(tr->decisions);
    free(tr->idx);
    free(tr->sat_levels);
    free(tr->layer_sq);
    sp_evalset_free(&tr->sat_set);
    sp_csv_free(&tr->train_csv);
    sp_csv_free(&tr->norms_csv);
    sp_csv_free(&tr->sat_csv);
    free(tr->norm_t);
    free(tr->norm_y);
}

static int open_records(trainer *tr, bool resume, uint64_t upto, sp_error *err)
{
    size_t L = tr->c->layers;
    sp_strbuf h;
    sp_strbuf_init(&h);
    sp_strbuf_puts(&h, "step,norm,norm_no_embed");
    for (size_t l = 0; l < L; l++) sp_strbuf_printf(&h, ",layer%zu", l);
    int status = sp_csv_open(&tr->train_csv, tr->dir, "train.csv", "step,loss,train_acc,val_loss,val_acc,lr", resume,
                             upto, err);
    if (!status) status = sp_csv_open(&tr->norms_csv, tr->dir, "norms.csv", h.buf, resume, upto, err);
    sp_strbuf_clear(&h);
    sp_strbuf_puts(&h, "step,saturation,agree_saturated,agree_limit");
    for (size_t l = 0; l < L; l++) sp_strbuf_printf(&h, ",saturation_layer%zu", l);
    if (!status) status = sp_csv_open(&tr->sat_csv, tr->dir, "saturation.csv", h.buf, resume, upto, err);
    sp_strbuf_free(&h);
    return status;
}

/* Validation, saturation record, checkpoint and the early-stopping count after step `step`. */
static int after_validation(trainer *tr, uint64_t step, bool *stop, sp_error *err)
{
    int status = validate(tr, err);
    if (status) return status;
    sp_strbuf_printf(&tr->train_csv.text, "%.9g,%.9g,", tr->val_loss, tr->val_acc);
    bool best = tr->val_loss < tr->best_val_loss;
    if (best) {
        tr->best_val_loss = tr->val_loss;
        tr->best_val_acc = tr->val_acc;
        tr->best_step = step;
        tr->bad = 0;
    } else
        tr->bad++;
    *stop = tr->o->patience && tr->bad >= tr->o->patience;
    return SP_OK;
}

int sp_train(sp_model *m, const sp_dataset *train, const sp_dataset *val, const sp_train_options *o,
             const char *dir, bool resume, sp_train_summary *s, sp_error *err)
{
    memset(s, 0, sizeof *s);
    double t0 = sp_seconds();
    trainer tr;
    memset(&tr, 0, sizeof tr);
    tr.m = m;
    tr.c = sp_model_config_of(m);
    tr.train = train;
    tr.val = val;
    tr.o = o;
    tr.dir = dir;
    tr.n = sp_model_num_params(m);
    size_t lt = longest(train), lv = longest(val);
    tr.maxn = lt > lv ? lt : lv;
    int status = check_inputs(&tr, err);
    if (status) return status;
    if (mkdir(dir, 0777) && errno != EEXIST) return sp_error_set(err, SP_EIO, dir, 0, 0, "cannot create: %s", strerror(errno));

    size_t O = tr.c->k + 1;
    sp_batch_plan_init(&tr.plan, train, o->batch, o->seed);
    tr.B = tr.plan.B > o->batch ? tr.plan.B : o->batch;
    tr.T = sp_config_seq_len(tr.c, tr.maxn);
    tr.grad = sp_calloc(tr.n, sizeof *tr.grad);
    sp_optim_init(&tr.opt, &o->optim, tr.n);
    tr.strs = sp_malloc(tr.B, sizeof *tr.strs);
    tr.ns = sp_malloc(tr.B, sizeof *tr.ns);
    tr.labels = sp_malloc(tr.B, sizeof *tr.labels);
    tr.nexts = sp_calloc(tr.B, sizeof *tr.nexts);
    tr.ends = sp_calloc(tr.B, sizeof *tr.ends);
    tr.dlogits = sp_calloc(tr.B, sizeof *tr.dlogits);
    tr.dnext = sp_calloc(tr.B * tr.T * O, sizeof *tr.dnext);
    tr.idx = sp_malloc(tr.B, sizeof *tr.idx);
    tr.dec_stride = tr.B * (tr.c->heads_out == SP_OUT_PREDICT ? (tr.maxn + 1) * O : 1);
    tr.decisions = sp_malloc(2 * tr.dec_stride, sizeof *tr.decisions);
    tr.sat_levels = sp_calloc(tr.c->layers + 1, sizeof *tr.sat_levels);
    tr.layer_sq = sp_calloc(tr.c->layers + 1, sizeof *tr.layer_sq);
    tr.best_val_loss = INFINITY;
    /* the saturation level averages over the first strings of the validation split */
    sp_dataset sub = *val;
    sub.count = val->count < o->saturation_strings ? val->count : o->saturation_strings;
    const sp_dataset *subp = &sub;
    status = sp_evalset_from_dataset(&tr.sat_set, &subp, 1, NULL, 0, err);
    if (!status) status = sp_model_reserve(m, tr.B, tr.maxn, err);
    /* the loss reads the heads only: readout rows are enough where that is one row a string */
    bool readout_only = sp_model_readout_only(m);
    sp_model_set_readout_only(m, true);
    uint64_t start = 0;
    if (!status && resume) {
        status = load_state(&tr, err);
        start = tr.opt.step;
    }
    if (!status) status = open_records(&tr, resume, start, err);
    if (!status && resume) reload_norms(&tr);
    if (!status && !resume) {
        record_norms(&tr, 0);
        status = validate(&tr, err);
        if (!status) status = record_saturation(&tr, 0, err);
    }
    s->start_step = start;
    s->norm_start = tr.n_norm ? tr.norm_y[0] : 0;
    sp_mode soft = {SP_ATTN_SOFT, 1, 0};
    sp_progress bar;
    sp_progress_init(&bar, o->progress, "train", o->steps);
    double last_loss = NAN, tstep = sp_seconds();
    uint64_t step = start;
    bool stop = false;
    while (!status && step < o->steps && !stop) {
        const size_t *idx = sp_batch_plan_get(&tr.plan, step);
        size_t B = tr.plan.B;
        gather(&tr, train, idx, B);
        status = sp_model_forward(m, tr.strs, tr.ns, B, &soft, err);
        if (status) {
            /* activations beyond float range: the parameters have diverged */
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            status = sp_error_set(err, status == SP_ELIMIT ? SP_ECHECK : status, NULL, 0, 0, "step %llu: %.900s",
                                  (unsigned long long)step + 1, msg);
            break;
        }
        double acc, loss = batch_loss(&tr, B, true, &acc);
        memset(tr.grad, 0, tr.n * sizeof *tr.grad);
        sp_model_backward(m, o->loss != SP_LOSS_PREDICT ? tr.dlogits : NULL,
                          o->loss != SP_LOSS_RECOGNIZE ? tr.dnext : NULL, tr.grad);
        double gnorm = sp_grad_norm(tr.grad, tr.n);
        if (!isfinite(loss) || !isfinite(gnorm)) {
            status = non_finite(&tr, step + 1, loss, err);
            break;
        }
        double lr = sp_schedule_lr(&o->optim, tr.opt.step);
        sp_optim_step(&tr.opt, sp_model_param_slab(m), tr.grad);
        step++;
        last_loss = loss;
        sp_strbuf_printf(&tr.train_csv.text, "%llu,%.9g,%.9g,", (unsigned long long)step, loss, acc);
        if (step % o->norm_every == 0 || step == o->steps) record_norms(&tr, step);
        bool val_now = step % o->val_every == 0 || step == o->steps;
        if (val_now) status = after_validation(&tr, step, &stop, err);
        else sp_strbuf_puts(&tr.train_csv.text, ",,");
        sp_strbuf_printf(&tr.train_csv.text, "%.9g\n", lr);
        if (!status && val_now) status = record_saturation(&tr, step, err);
        if (!status && val_now) status = checkpoint(&tr, tr.best_step == step, err);
        if (!status && val_now && o->log)
            fprintf(o->log, "step %llu: loss %.4f, validation loss %.4f, accuracy %.4f, norm %.4g\n",
                    (unsigned long long)step, loss, tr.val_loss, tr.val_acc, tr.norm_y[tr.n_norm - 1]);
        if (stop && !status && o->log)
            fprintf(o->log, "stopping early: no better validation loss in %llu validations (best %.4f at step %llu)\n",
                    (unsigned long long)tr.bad, tr.best_val_loss, (unsigned long long)tr.best_step);
        if (o->on_step) o->on_step(o->on_step_ctx, step);
        if (bar.on) {
            char text[160];
            double rate = (double)(step - start) / (sp_seconds() - tstep);
            snprintf(text, sizeof text, "loss %.4f acc %.3f |θ| %.4g %.1f steps/s", loss, acc,
                     sqrt(sumsq(sp_model_param_slab(m), tr.n)), rate);
            sp_progress_update_text(&bar, step, text);
        }
    }
    sp_progress_finish(&bar);
    if (status == SP_ELIMIT) {
        /* a forward pass of validation or saturation left float range: the parameters diverged */
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        status = sp_error_set(err, SP_ECHECK, NULL, 0, 0, "after step %llu: %.900s", (unsigned long long)step, msg);
    }
    if (!status) status = write_fit(&tr, s, err);
    s->steps = step;
    s->stopped_early = stop;
    s->last_loss = last_loss;
    s->best_val_loss = tr.best_val_loss;
    s->best_val_acc = tr.best_val_acc;
    s->best_step = tr.best_step;
    s->val_loss = tr.val_loss;
    s->val_acc = tr.val_acc;
    s->norm_end = tr.n_norm ? tr.norm_y[tr.n_norm - 1] : 0;
    s->seconds = sp_seconds() - t0;
    sp_model_set_readout_only(m, readout_only);
    trainer_free(&tr);
    return status;
}
