/* Evaluating a trained model or a construction on a language's test splits: accuracy per
 * (task, mode, split), the splits' trivial baselines, and the head statistics. */
#include "run_impl.h"
#include "satprobe/alloc.h"

#include <stdlib.h>
#include <string.h>

/* Evaluation batch: long strings get fewer per pass (sp_eval_run bounds the memory). */
#define EVAL_BATCH 64
/* The scale of the head statistics, as in `satprobe heads` and docs/evaluation.md. */
#define HEADS_SCALE 1000.0

int run_testset_load(const run_ctx *c, size_t lang, run_testset *t, sp_error *err)
{
    const sp_probe *p = c->p;
    memset(t, 0, sizeof *t);
    t->splits = sp_calloc(p->data.nbins, sizeof *t->splits);
    t->ranges = p->data.bins;
    int status = SP_OK;
    for (size_t b = 0; b < p->data.nbins && !status; b++) {
        char name[64];
        snprintf(name, sizeof name, "test-%zu-%zu", p->data.bins[b].lo, p->data.bins[b].hi);
        status = sp_dataset_load(c->langs[lang].data_dir, name, &t->splits[b], err);
        if (!status) t->nsplits++;
    }
    if (!status)
        status = sp_evalset_from_dataset(&t->all, (const sp_dataset *const *)t->splits, t->nsplits,
                                         NULL, 0, err);
    if (!status)
        status = sp_evalset_from_dataset(&t->first, (const sp_dataset *const *)t->splits, 1, NULL,
                                         0, err);
    if (status) run_testset_free(t);
    return status;
}

void run_testset_free(run_testset *t)
{
    for (size_t i = 0; i < t->nsplits; i++) sp_dataset_destroy(t->splits[i]);
    free(t->splits);
    sp_evalset_free(&t->all);
    sp_evalset_free(&t->first);
    memset(t, 0, sizeof *t);
}

/* The two baselines of docs/datasets.md, from the split's own labels and lengths. */
static void write_bin(sp_json_writer *w, const sp_dataset *ds, const sp_range *r)
{
    size_t n = ds->count, pos = 0;
    for (size_t i = 0; i < n; i++) pos += ds->label[i];
    /* positives and negatives per length, for the best rule that sees only the length */
    size_t span = r->hi - r->lo + 1, best = 0;
    size_t *lp = sp_calloc(span, sizeof *lp), *ln = sp_calloc(span, sizeof *ln);
    for (size_t i = 0; i < n; i++) {
        size_t len = ds->start[i + 1] - ds->start[i];
        SP_ASSERT(len >= r->lo && len <= r->hi);
        if (ds->label[i]) lp[len - r->lo]++;
        else ln[len - r->lo]++;
    }
    for (size_t i = 0; i < span; i++) best += lp[i] > ln[i] ? lp[i] : ln[i];
    free(lp);
    free(ln);
    sp_json_object_begin_inline(w);
    sp_json_key(w, "split");
    sp_json_string(w, ds->split);
    sp_json_key(w, "lo");
    sp_json_uint(w, r->lo);
    sp_json_key(w, "hi");
    sp_json_uint(w, r->hi);
    sp_json_key(w, "n");
    sp_json_uint(w, n);
    sp_json_key(w, "positives");
    sp_json_uint(w, pos);
    sp_json_key(w, "majority_class");
    if (n) sp_json_double(w, (double)(pos > n - pos ? pos : n - pos) / (double)n);
    else sp_json_null(w);
    sp_json_key(w, "best_length_only");
    if (n) sp_json_double(w, (double)best / (double)n);
    else sp_json_null(w);
    sp_json_object_end(w);
}

void run_json_modes(sp_json_writer *w, const sp_mode *modes, size_t n)
{
    sp_json_array_begin_inline(w);
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        sp_mode_format(&modes[i], buf, sizeof buf);
        sp_json_string(w, buf);
    }
    sp_json_array_end(w);
}

static void write_accuracy(sp_json_writer *w, const char *task, const sp_eval_result *r,
                           const run_testset *t)
{
    for (size_t m = 0; m < r->nmodes; m++)
        for (size_t b = 0; b < r->nbins; b++) {
            char mode[64];
            sp_mode_format(&r->modes[m], mode, sizeof mode);
            sp_json_object_begin_inline(w);
            sp_json_key(w, "task");
            sp_json_string(w, task);
            sp_json_key(w, "mode");
            sp_json_string(w, mode);
            sp_json_key(w, "split");
            sp_json_string(w, t->splits[b]->split);
            sp_json_key(w, "n");
            sp_json_uint(w, r->n[b]);
            sp_json_key(w, "correct");
            sp_json_uint(w, r->correct[m * r->nbins + b]);
            sp_json_object_end(w);
        }
}

static int write_heads(sp_json_writer *w, sp_model *m, const run_testset *t, bool positives_only,
                       sp_error *err)
{
    const sp_model_config *cfg = sp_model_config_of(m);
    size_t L = cfg->layers, NH = cfg->heads;
    sp_head_stats *hs = sp_calloc(L * NH > 0 ? L * NH : 1, sizeof *hs);
    int status = sp_eval_heads(m, &t->first, HEADS_SCALE, EVAL_BATCH, positives_only, hs, err);
    if (!status) {
        sp_json_key(w, "heads");
        sp_json_array_begin(w);
        for (size_t l = 0; l < L; l++)
            for (size_t h = 0; h < NH; h++) {
                const sp_head_stats *s = &hs[l * NH + h];
                sp_json_object_begin_inline(w);
                sp_json_key(w, "layer");
                sp_json_uint(w, l);
                sp_json_key(w, "head");
                sp_json_uint(w, h);
                sp_json_key(w, "mean_attended");
                sp_json_double(w, s->mean_attended);
                sp_json_key(w, "frac_multi");
                sp_json_double(w, s->frac_multi);
                sp_json_key(w, "mean_visible");
                sp_json_double(w, s->mean_visible);
                sp_json_key(w, "queries");
                sp_json_uint(w, s->queries);
                sp_json_key(w, "label");
                sp_json_string(w, sp_head_label_name(s->label));
                sp_json_object_end(w);
            }
        sp_json_array_end(w);
    }
    free(hs);
    return status;
}

int run_evaluate(sp_model *m, const run_testset *t, sp_gen_task task, const sp_mode *modes,
                 size_t nmodes, bool heads, sp_json_writer *w, sp_error *err)
{
    const sp_model_config *cfg = sp_model_config_of(m);
    bool rec = cfg->heads_out != SP_OUT_PREDICT && task != SP_TASK_PREDICT;
    bool pred = cfg->heads_out != SP_OUT_RECOGNIZE && task != SP_TASK_RECOGNIZE;
    sp_json_key(w, "bins");
    sp_json_array_begin(w);
    for (size_t b = 0; b < t->nsplits; b++) write_bin(w, t->splits[b], &t->ranges[b]);
    sp_json_array_end(w);
    sp_json_key(w, "accuracy");
    sp_json_array_begin(w);
    int status = SP_OK;
    for (int k = 0; k < 2 && !status; k++) {
        if (!(k == 0 ? rec : pred)) continue;
        sp_eval_result r;
        status = sp_eval_run(m, &t->all, modes, nmodes, k == 0 ? SP_EVAL_RECOGNIZE : SP_EVAL_PREDICT,
                             EVAL_BATCH, false, NULL, NULL, &r, err);
        if (status) break;
        write_accuracy(w, k == 0 ? "recognize" : "predict", &r, t);
        sp_eval_result_free(&r);
    }
    sp_json_array_end(w);
    if (!status && heads) status = write_heads(w, m, t, !rec, err);
    return status;
}
