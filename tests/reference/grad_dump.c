/* grad_dump: the gradient of one training batch, for tests/reference/train_step.py.
 *
 *   grad_dump MODEL.safetensors DATASET_DIR SPLIT OUT.safetensors [--loss recognize|predict|both]
 *             [--batch N] [--next-weight W] [--plan STEPS SEED PLAN.txt]
 *
 * Loads the model and the split, runs the first N strings (default 8) as one batch through
 * sp_model_forward in soft mode, takes the loss as src/train/trainer.c does (recognize: mean
 * BCE of the accept logits; predict: mean over the entries of the positives; both: L_rec +
 * W L_pred; the default follows the model's heads), runs sp_model_backward and writes every
 * gradient (named as its parameter) and a scalar "loss" into OUT.safetensors.
 *
 * With --plan, also writes the example indices of training steps 0..STEPS-1 of a run with
 * this batch size and seed on SPLIT (sp_batch_plan_get), one step per line, to PLAN.txt. */
#include "../../src/train/train_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/safetensors.h"

#include <stdlib.h>
#include <string.h>

static int usage(void)
{
    fputs("usage: grad_dump MODEL.safetensors DATASET_DIR SPLIT OUT.safetensors [--loss recognize|predict|both]\n"
          "                 [--batch N] [--next-weight W] [--plan STEPS SEED PLAN.txt]\n",
          stderr);
    return 2;
}

static int write_plan(const sp_dataset *ds, size_t batch, unsigned long seed, uint64_t steps, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    sp_batch_plan p;
    sp_batch_plan_init(&p, ds, batch, seed);
    for (uint64_t s = 0; s < steps; s++) {
        const size_t *idx = sp_batch_plan_get(&p, s);
        for (size_t b = 0; b < p.B; b++) fprintf(f, b ? " %zu" : "%zu", idx[b]);
        fputc('\n', f);
    }
    sp_batch_plan_free(&p);
    return fclose(f) ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) return usage();
    const char *model_path = argv[1], *dir = argv[2], *split = argv[3], *out = argv[4], *plan_path = NULL;
    size_t batch = 8;
    double next_weight = 1.0;
    unsigned long plan_seed = 1;
    uint64_t plan_steps = 0;
    int loss_kind = -1;
    for (int i = 5; i < argc; i++) {
        if (!strcmp(argv[i], "--loss") && i + 1 < argc) {
            const char *v = argv[++i];
            loss_kind = !strcmp(v, "recognize") ? SP_LOSS_RECOGNIZE
                        : !strcmp(v, "predict") ? SP_LOSS_PREDICT
                        : !strcmp(v, "both")    ? SP_LOSS_BOTH
                                                : -2;
            if (loss_kind == -2) return usage();
        } else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            batch = strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--next-weight") && i + 1 < argc) {
            next_weight = strtod(argv[++i], NULL);
        } else if (!strcmp(argv[i], "--plan") && i + 3 < argc) {
            plan_steps = strtoull(argv[++i], NULL, 10);
            plan_seed = strtoul(argv[++i], NULL, 10);
            plan_path = argv[++i];
        } else
            return usage();
    }
    if (batch == 0) return usage();

    sp_error err;
    sp_error_clear(&err);
    sp_model *m = NULL;
    sp_dataset *ds = NULL;
    if (sp_model_load(model_path, &m, &err) || sp_dataset_load(dir, split, &ds, &err)) {
        fprintf(stderr, "grad_dump: %s\n", err.msg);
        sp_model_destroy(m);
        return 1;
    }
    sp_blas_set_threads(1);
    const sp_model_config *c = sp_model_config_of(m);
    sp_loss_kind loss = loss_kind >= 0                    ? (sp_loss_kind)loss_kind
                        : c->heads_out == SP_OUT_PREDICT ? SP_LOSS_PREDICT
                        : c->heads_out == SP_OUT_BOTH    ? SP_LOSS_BOTH
                                                         : SP_LOSS_RECOGNIZE;
    int rc = 0;
    if (plan_path) rc = write_plan(ds, batch, plan_seed, plan_steps, plan_path);

    size_t B = batch < ds->count ? batch : ds->count, O = c->k + 1, maxn = 0;
    const int **strs = sp_malloc(B, sizeof *strs);
    const bool **nexts = sp_calloc(B, sizeof *nexts), **ends = sp_calloc(B, sizeof *ends);
    size_t *ns = sp_malloc(B, sizeof *ns);
    for (size_t b = 0; b < B; b++) {
        strs[b] = ds->syms + ds->start[b];
        ns[b] = ds->start[b + 1] - ds->start[b];
        maxn = ns[b] > maxn ? ns[b] : maxn;
        if (ds->has_next) {
            nexts[b] = ds->next + (ds->start[b] + b) * ds->k;
            ends[b] = ds->end + ds->start[b] + b;
        }
    }
    sp_mode soft = {SP_ATTN_SOFT, 1, 0};
    if (!rc && (sp_model_reserve(m, B, maxn, &err) || sp_model_forward(m, strs, ns, B, &soft, &err))) {
        fprintf(stderr, "grad_dump: %s\n", err.msg);
        rc = 1;
    }
    if (!rc && loss != SP_LOSS_RECOGNIZE && !ds->has_next) {
        fprintf(stderr, "grad_dump: the %s loss needs next-symbol sets\n", sp_loss_kind_name(loss));
        rc = 1;
    }
    if (!rc) {
        size_t T = sp_model_batch_T(m), n = sp_model_num_params(m);
        float *dlogits = sp_calloc(B, sizeof *dlogits), *dnext = sp_calloc(B * T * O, sizeof *dnext);
        float *grad = sp_calloc(n, sizeof *grad);
        double L = 0;
        if (loss != SP_LOSS_PREDICT) L += sp_loss_recognize(sp_model_logits(m), ds->label, B, 1.0, dlogits);
        if (loss != SP_LOSS_RECOGNIZE) {
            double w = loss == SP_LOSS_BOTH ? next_weight : 1.0;
            L += w * sp_loss_predict(sp_model_next_logits(m), T, c->k, ns, ds->label, nexts, ends, B, w, dnext);
        }
        sp_model_backward(m, loss != SP_LOSS_PREDICT ? dlogits : NULL, loss != SP_LOSS_RECOGNIZE ? dnext : NULL, grad);
        size_t nt = sp_model_num_tensors(m);
        sp_st_tensor *ts = sp_calloc(nt + 1, sizeof *ts);
        for (size_t i = 0; i < nt; i++) {
            const sp_model_tensor *t = sp_model_tensor_at(m, i);
            ts[i] = (sp_st_tensor){.name = t->name, .ndim = t->ndim, .shape = {t->shape[0], t->shape[1]},
                                   .data = grad + t->offset};
        }
        float lossf = (float)L;
        ts[nt] = (sp_st_tensor){.name = "loss", .ndim = 0, .data = &lossf};
        char bstr[32], lstr[40];
        snprintf(bstr, sizeof bstr, "%zu", B);
        snprintf(lstr, sizeof lstr, "%.17g", L);
        sp_st_meta meta[] = {{"loss_kind", sp_loss_kind_name(loss)}, {"batch", bstr}, {"loss", lstr}};
        if (sp_st_write(out, ts, nt + 1, meta, 3, &err)) {
            fprintf(stderr, "grad_dump: %s\n", err.msg);
            rc = 1;
        }
        free(ts);
        free(grad);
        free(dnext);
        free(dlogits);
    }
    free(strs);
    free(nexts);
    free(ends);
    free(ns);
    sp_dataset_destroy(ds);
    sp_model_destroy(m);
    return rc;
}
