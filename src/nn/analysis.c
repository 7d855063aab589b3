/* Analyses of a model's attention under scaled parameters: per-head attended-position statistics
 * and the saturation level (cosine similarity of representations under θ and C·θ). */
#include "eval_impl.h"
#include "satprobe/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Weight above which a position counts as attended (Merrill et al. 2021). */
#define ATTENDED 1e-5f

const char *sp_head_label_name(sp_head_label l)
{
    static const char *const names[] = {"argmax-like", "mean-like", "intermediate"};
    return names[l];
}

static int check_set(const sp_model *m, const sp_evalset *es, sp_error *err)
{
    const sp_model_config *c = sp_model_config_of(m);
    if (es->k != c->k)
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "the data has %zu symbols, the model %zu", es->k, c->k);
    size_t maxn = sp_evalset_max_len(es);
    if (maxn > sp_config_max_string(c))
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "the data has strings of length %zu; the model takes at most %zu",
                            maxn, sp_config_max_string(c));
    return SP_OK;
}

int sp_eval_heads(sp_model *m, const sp_evalset *es, double scale, size_t batch, bool positives_only,
                  sp_head_stats *out, sp_error *err)
{
    const sp_model_config *c = sp_model_config_of(m);
    size_t L = c->layers, NH = c->heads;
    memset(out, 0, L * NH * sizeof *out);
    int status = check_set(m, es, err);
    if (status) return status;
    sp_mode mode = {SP_ATTN_SCALED, scale, 0};
    double *attended = sp_calloc(L * NH, sizeof *attended), *visible = sp_calloc(L * NH, sizeof *visible);
    uint64_t *multi = sp_calloc(L * NH, sizeof *multi), queries = 0;
    float *row = sp_calloc(sp_config_seq_len(c, sp_evalset_max_len(es)), sizeof *row);
    sp_batcher bt;
    sp_batcher_init(&bt, es, m, batch, positives_only);
    size_t B;
    while (!status && (B = sp_batcher_next(&bt)) > 0) {
        status = sp_model_forward(m, bt.strs, bt.ns, B, &mode, err);
        if (status) break;
        const size_t *lens = sp_model_batch_lens(m);
        for (size_t b = 0; b < B; b++) queries += lens[b];
        for (size_t l = 0; l < L; l++) {
            for (size_t h = 0; h < NH; h++)
                for (size_t b = 0; b < B; b++) {
                    size_t n = lens[b];
                    for (size_t i = 0; i < n; i++) {
                        size_t vis = c->mask == SP_MASK_CAUSAL ? i + 1 : n, cnt = 0;
                        sp_model_attention_row(m, l, b, h, i, row);
                        for (size_t j = 0; j < vis; j++) cnt += row[j] > ATTENDED;
                        attended[l * NH + h] += (double)cnt;
                        visible[l * NH + h] += (double)vis;
                        multi[l * NH + h] += cnt > 1;
                    }
                }
        }
    }
    sp_batcher_free(&bt);
    for (size_t i = 0; i < L * NH && !status; i++) {
        sp_head_stats *s = &out[i];
        s->queries = queries;
        if (!queries) continue;
        s->mean_attended = attended[i] / (double)queries;
        s->mean_visible = visible[i] / (double)queries;
        s->frac_multi = (double)multi[i] / (double)queries;
        s->label = s->mean_attended <= 1.5                      ? SP_HEAD_ARGMAX
                   : s->mean_attended >= 0.8 * s->mean_visible ? SP_HEAD_MEAN
                                                                : SP_HEAD_INTERMEDIATE;
    }
    free(attended);
    free(visible);
    free(multi);
    free(row);
    return status;
}

int sp_eval_saturation(sp_model *m, const sp_evalset *es, double scale, size_t batch, bool positives_only,
                       double *out, sp_error *err)
{
    const sp_model_config *c = sp_model_config_of(m);
    size_t L = c->layers, D = c->d_model;
    memset(out, 0, (L + 1) * sizeof *out);
    int status = check_set(m, es, err);
    if (status) return status;
    sp_batcher bt;
    sp_batcher_init(&bt, es, m, batch, positives_only);
    status = sp_model_reserve(m, bt.B, bt.maxn, err);
    size_t T = sp_config_seq_len(c, bt.maxn);
    bool readout_only = sp_model_readout_only(m); /* every position's representation is compared */
    sp_model_set_readout_only(m, false);
    float *keep = sp_malloc((L + 1) * bt.B * T * D, sizeof *keep);
    double *sum = sp_calloc(L + 1, sizeof *sum);
    uint64_t count = 0;
    sp_mode soft = {SP_ATTN_SOFT, 1.0, 0}, scaled = {SP_ATTN_SCALED, scale, 0};
    size_t B;
    while (!status && (B = sp_batcher_next(&bt)) > 0) {
        status = sp_model_forward(m, bt.strs, bt.ns, B, &soft, err);
        if (status) break;
        size_t Tb = sp_model_batch_T(m), chunk = B * Tb * D;
        for (size_t l = 0; l <= L; l++) memcpy(keep + l * chunk, sp_model_hidden(m, l + 1), chunk * sizeof *keep);
        status = sp_model_forward(m, bt.strs, bt.ns, B, &scaled, err);
        if (status) break;
        const size_t *lens = sp_model_batch_lens(m);
        for (size_t l = 0; l <= L; l++) {
            const float *x = keep + l * chunk, *y = sp_model_hidden(m, l + 1);
            for (size_t b = 0; b < B; b++)
                for (size_t t = 0; t < lens[b]; t++) {
                    const float *u = x + (b * Tb + t) * D, *v = y + (b * Tb + t) * D;
                    double uv = 0, uu = 0, vv = 0;
                    for (size_t d = 0; d < D; d++) {
                        uv += (double)u[d] * v[d];
                        uu += (double)u[d] * u[d];
                        vv += (double)v[d] * v[d];
                    }
                    /* two zero vectors are the same direction; one zero vector is not */
                    double cs = uu > 0 && vv > 0 ? uv / sqrt(uu * vv) : (uu == 0 && vv == 0 ? 1.0 : 0.0);
                    sum[l] += cs;
                }
        }
        for (size_t b = 0; b < B; b++) count += lens[b];
    }
    sp_batcher_free(&bt);
    for (size_t l = 0; l <= L && !status; l++) out[l] = count ? sum[l] / (double)count : 0.0;
    sp_model_set_readout_only(m, readout_only);
    free(keep);
    free(sum);
    return status;
}
