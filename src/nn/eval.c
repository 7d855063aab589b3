/* Accuracy of a model on an evaluation set in several attention modes, batch by batch, with the
 * strings grouped by length to limit padding. */
#include "eval_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/layers.h"
#include "satprobe/progress.h"

#include <stdlib.h>
#include <string.h>

/* Floats of attention weights one batch may hold (128 MiB). */
#define ATT_BUDGET ((size_t)32 << 20)

typedef struct keyed {
    size_t len, index;
} keyed;

static int by_length(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

void sp_batcher_init(sp_batcher *b, const sp_evalset *es, const sp_model *m, size_t batch, bool positives_only)
{
    memset(b, 0, sizeof *b);
    b->es = es;
    b->positives_only = positives_only;
    const sp_model_config *c = sp_model_config_of(m);
    size_t maxn = sp_evalset_max_len(es), T = sp_config_seq_len(c, maxn);
    size_t per = (c->layers ? c->layers : 1) * sp_attention_len(1, T, c->heads);
    size_t fit = ATT_BUDGET / per;
    b->B = batch < 1 ? 1 : batch;
    if (fit < b->B) b->B = fit < 1 ? 1 : fit;
    b->maxn = maxn;
    /* stored items in order of length (stable); enumerated ones already are */
    keyed *keys = sp_malloc(es->count, sizeof *keys);
    for (size_t i = 0; i < es->count; i++) keys[i] = (keyed){es->start[i + 1] - es->start[i], i};
    qsort(keys, es->count, sizeof *keys, by_length);
    b->order = sp_malloc(es->count, sizeof *b->order);
    for (size_t i = 0; i < es->count; i++) b->order[i] = keys[i].index;
    free(keys);
    size_t k = es->k;
    b->bufs = sp_malloc(b->B * (maxn + 1), sizeof *b->bufs);
    b->nextbufs = sp_malloc(b->B * (maxn + 1) * k, sizeof *b->nextbufs);
    b->endbufs = sp_malloc(b->B * (maxn + 1), sizeof *b->endbufs);
    b->items = sp_malloc(b->B, sizeof *b->items);
    b->index = sp_malloc(b->B, sizeof *b->index);
    b->strs = sp_malloc(b->B, sizeof *b->strs);
    b->ns = sp_malloc(b->B, sizeof *b->ns);
}

void sp_batcher_free(sp_batcher *b)
{
    free(b->order);
    free(b->bufs);
    free(b->nextbufs);
    free(b->endbufs);
    free(b->items);
    free(b->index);
    free(b->strs);
    free(b->ns);
}

size_t sp_batcher_next(sp_batcher *b)
{
    const sp_evalset *es = b->es;
    size_t n = 0, k = es->k;
    while (n < b->B && b->pos < es->total) {
        uint64_t i = b->pos < es->n_exhaustive ? b->pos : es->n_exhaustive + b->order[b->pos - es->n_exhaustive];
        b->pos++;
        sp_eval_item *it = &b->items[n];
        sp_evalset_item(es, i, b->bufs + n * (b->maxn + 1), b->nextbufs + n * (b->maxn + 1) * k,
                        b->endbufs + n * (b->maxn + 1), it);
        if (b->positives_only && !it->label) continue;
        b->index[n] = i;
        b->strs[n] = it->s;
        b->ns[n] = it->n;
        n++;
    }
    return n;
}

/* Whole-string next-symbol correctness of batch row b. */
static bool predict_correct(const sp_model *m, size_t b, const sp_eval_item *it, size_t k)
{
    const float *lg = sp_model_next_logits(m) + b * sp_model_batch_T(m) * (k + 1);
    for (size_t t = 0; t <= it->n; t++) {
        const float *row = lg + t * (k + 1);
        for (size_t a = 0; a < k; a++)
            if ((row[a] > 0) != it->next[t * k + a]) return false;
        if ((row[k] > 0) != it->end[t]) return false;
    }
    return true;
}

void sp_eval_result_free(sp_eval_result *res)
{
    free(res->n);
    free(res->positives);
    free(res->correct);
    memset(res, 0, sizeof *res);
}

int sp_eval_run(sp_model *m, const sp_evalset *es, const sp_mode *modes, size_t nmodes, sp_eval_task task,
                size_t batch, bool progress, sp_eval_hook hook, void *ctx, sp_eval_result *res, sp_error *err)
{
    memset(res, 0, sizeof *res);
    const sp_model_config *c = sp_model_config_of(m);
    if (nmodes < 1 || nmodes > SP_EVAL_MAX_MODES)
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "between 1 and %d modes", SP_EVAL_MAX_MODES);
    if (es->k != c->k)
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "the data has %zu symbols, the model %zu", es->k, c->k);
    if (task == SP_EVAL_RECOGNIZE && c->heads_out == SP_OUT_PREDICT)
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "the model has no accept/reject head (heads_out: predict)");
    if (task == SP_EVAL_PREDICT && c->heads_out == SP_OUT_RECOGNIZE)
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "the model has no next-symbol head (heads_out: recognize)");
    if (task == SP_EVAL_PREDICT && !es->has_next)
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "the data has no next-symbol sets (generate it with --task predict or both)");
    size_t maxn = sp_evalset_max_len(es);
    if (maxn > sp_config_max_string(c))
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0,
                            "the data has strings of length %zu; the model takes at most %zu (max_len %zu)", maxn,
                            sp_config_max_string(c), c->max_len);
    res->nmodes = nmodes;
    res->nbins = es->nbins;
    memcpy(res->modes, modes, nmodes * sizeof *modes);
    res->n = sp_calloc(es->nbins, sizeof *res->n);
    res->positives = sp_calloc(es->nbins, sizeof *res->positives);
    res->correct = sp_calloc(nmodes * es->nbins, sizeof *res->correct);

    sp_batcher bt;
    sp_batcher_init(&bt, es, m, batch, task == SP_EVAL_PREDICT);
    int status = sp_model_reserve(m, bt.B, maxn, err);
    sp_progress bar;
    sp_progress_init(&bar, progress, "eval", es->total);
    size_t B;
    while (!status && (B = sp_batcher_next(&bt)) > 0) {
        for (size_t b = 0; b < B; b++) {
            res->n[bt.items[b].bin]++;
            res->positives[bt.items[b].bin] += bt.items[b].label;
        }
        for (size_t mi = 0; mi < nmodes && !status; mi++) {
            status = sp_model_forward(m, bt.strs, bt.ns, B, &modes[mi], err);
            if (status) break;
            const float *logits = sp_model_logits(m);
            for (size_t b = 0; b < B; b++) {
                const sp_eval_item *it = &bt.items[b];
                bool ok = task == SP_EVAL_RECOGNIZE ? (logits[b] > 0) == it->label : predict_correct(m, b, it, es->k);
                res->correct[mi * es->nbins + it->bin] += ok;
            }
            if (hook) status = hook(ctx, m, mi, bt.items, bt.index, B, err);
        }
        sp_progress_update(&bar, bt.pos);
    }
    sp_progress_finish(&bar);
    sp_batcher_free(&bt);
    if (status) sp_eval_result_free(res);
    return status;
}
