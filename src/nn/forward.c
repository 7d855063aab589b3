/* The forward pass: activation slab (with the backward pass's activation gradients), token
 * sequences, input encodings, layers and heads, with the attention mode applied in every head
 * (docs/model.md). */
#include "model_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/layers.h"
#include "satprobe/pool.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void sp_blas_set_threads(int n)
{
    /* the products split their rows over the pool themselves (layers.c) */
    openblas_set_num_threads(1);
    sp_pool_set_threads(n);
}

/* ---- modes ---- */

int sp_mode_parse(const char *text, double tau, sp_mode *out, sp_error *err)
{
    memset(out, 0, sizeof *out);
    out->tau = tau;
    out->scale = 1.0;
    if (!strcmp(text, "soft")) out->kind = SP_ATTN_SOFT;
    else if (!strcmp(text, "saturated")) out->kind = SP_ATTN_SATURATED;
    else if (!strcmp(text, "hard")) out->kind = SP_ATTN_HARD;
    else if (!strcmp(text, "limit")) out->kind = SP_ATTN_LIMIT;
    else if (!strncmp(text, "scaled:", 7)) {
        char *end;
        double c = strtod(text + 7, &end);
        if (end == text + 7 || *end || !(c > 0 && c <= 1e12))
            return sp_error_set(err, SP_EINPUT, NULL, 0, 0,
                                "mode '%s': C in scaled:C must be a number in (0, 1e12]", text);
        out->kind = SP_ATTN_SCALED;
        out->scale = c;
    } else
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0,
                            "unknown mode '%s' (soft, scaled:C, saturated, hard or limit)", text);
    return SP_OK;
}

void sp_mode_format(const sp_mode *m, char *buf, size_t size)
{
    switch (m->kind) {
    case SP_ATTN_SOFT: snprintf(buf, size, "soft"); break;
    case SP_ATTN_SCALED: snprintf(buf, size, "scaled:%g", m->scale); break;
    case SP_ATTN_SATURATED: snprintf(buf, size, "saturated"); break;
    case SP_ATTN_HARD: snprintf(buf, size, "hard"); break;
    case SP_ATTN_LIMIT: snprintf(buf, size, "limit"); break;
    }
}

/* ---- activations ---- */

int sp_model_reserve(sp_model *m, size_t B, size_t n, sp_error *err)
{
    const sp_model_config *c = &m->cfg;
    if (n > sp_config_max_string(c))
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0,
                            "a string of length %zu is longer than the model takes (max_len %zu allows %zu)",
                            n, c->max_len, sp_config_max_string(c));
    size_t T = sp_config_seq_len(c, n);
    if (B < 1) B = 1;
    if (B <= m->cap_B && T <= m->cap_T) return SP_OK;
    if (B < m->cap_B) B = m->cap_B;
    if (T < m->cap_T) T = m->cap_T;
    size_t D = c->d_model, FF = c->d_ff, NH = c->heads, O = c->k + 1, L = c->layers;
    size_t BT = B * T, BTD = BT * D;
    size_t per_layer = 11 * BTD + 4 * BT + BT * FF + sp_attention_len(B, T, NH);
    size_t De = sp_config_embed_width(c);
    size_t nacts = BTD /* h0 */ + L * per_layer + BTD + 2 * BT + B + BT * O + T * De +
                   sp_attention_work_len(T, D, NH) + B * D;
    /* activation gradients after the activations, in the same allocation (sp_model_destroy
     * frees acts): one layer's worth, shared by all layers (sp_grad_acts). Large allocations
     * arrive as untouched zero pages, so forward-only use costs address space, not memory. */
    size_t ngrads = 12 * BTD + BT * FF;
    size_t total = nacts + ngrads;
    free(m->acts);
    free(m->tokens);
    free(m->lens);
    m->soft = false; /* the last pass's activations are gone */
    m->acts = sp_calloc(total, sizeof(float));
    m->tokens = sp_calloc(BT, sizeof(int));
    m->lens = sp_calloc(B, sizeof(size_t));
    float *p = m->acts;
#define TAKE(field, count) (field = p, p += (count))
    TAKE(m->h0, BTD);
    for (size_t l = 0; l < L; l++) {
        sp_layer_acts *a = &m->layer[l];
        TAKE(a->a1, BTD);
        TAKE(a->ln1_mean, BT);
        TAKE(a->ln1_rstd, BT);
        TAKE(a->q, BTD);
        TAKE(a->k, BTD);
        TAKE(a->v, BTD);
        TAKE(a->att, sp_attention_len(B, T, NH));
        TAKE(a->z, BTD);
        TAKE(a->o, BTD);
        TAKE(a->u1, BTD);
        TAKE(a->h1, BTD);
        TAKE(a->a2, BTD);
        TAKE(a->ln2_mean, BT);
        TAKE(a->ln2_rstd, BT);
        TAKE(a->f1, BT * FF);
        /* ReLU runs in place: its backward needs only where f1 > 0, which its output keeps */
        a->f2 = a->f1;
        TAKE(a->f3, BTD);
        TAKE(a->u2, BTD);
        /* h2 is its own buffer only with post-norm; otherwise it is u2 (set in forward) */
        a->h2 = a->u2;
    }
    TAKE(m->hf, BTD);
    TAKE(m->lnf_mean, BT);
    TAKE(m->lnf_rstd, BT);
    TAKE(m->logits, B);
    TAKE(m->next_logits, BT * O);
    TAKE(m->sinus, T * De);
    TAKE(m->attn_work, sp_attention_work_len(T, D, NH));
    TAKE(m->rows, B * D);
    SP_ASSERT((size_t)(p - m->acts) <= nacts);
    sp_grad_acts *g = &m->g;
    TAKE(g->dres[0], BTD);
    TAKE(g->dres[1], BTD);
    TAKE(g->dhf, BTD);
    TAKE(g->da1, BTD);
    TAKE(g->dq, BTD);
    TAKE(g->dk, BTD);
    TAKE(g->dv, BTD);
    TAKE(g->dz, BTD);
    TAKE(g->du1, BTD);
    TAKE(g->dh1, BTD);
    TAKE(g->da2, BTD);
    TAKE(g->df1, BT * FF);
    TAKE(g->du2, BTD);
#undef TAKE
    /* S[t, i] of docs/model.md, computed once per reservation */
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < De; i++) {
            double freq = pow(10000.0, -(double)(i - i % 2) / (double)De);
            m->sinus[t * De + i] = (float)(i % 2 ? cos((double)t * freq) : sin((double)t * freq));
        }
    SP_ASSERT((size_t)(p - m->acts) <= total);
    m->cap_B = B;
    m->cap_T = T;
    return SP_OK;
}

/* ---- input ---- */

static float feature(sp_pos_kind kind, size_t t, size_t T)
{
    double p = (double)(t + 1);
    switch (kind) {
    case SP_POS_I: return (float)p;
    case SP_POS_I_N: return (float)(p / (double)T);
    case SP_POS_INV_I: return (float)(1.0 / p);
    case SP_POS_COS_PI: return (t + 1) % 2 ? -1.0f : 1.0f;
    default: SP_ASSERT(0);
    }
    return 0;
}

/* out[B, T, D]: embedding + sinusoid + learned position in the first De channels, features after. */
static void encoder_forward(float *out, const int *tokens, const size_t *lens, const float *embed,
                            const float *sinus, const float *pos, bool features, const sp_model_config *c,
                            size_t B, size_t T)
{
    size_t D = c->d_model, De = sp_config_embed_width(c);
    memset(out, 0, B * T * D * sizeof *out);
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < lens[b]; t++) {
            float *x = out + (b * T + t) * D;
            const float *e = embed + (size_t)tokens[b * T + t] * De;
            for (size_t i = 0; i < De; i++) x[i] = e[i];
            if (sinus)
                for (size_t i = 0; i < De; i++) x[i] += sinus[t * De + i];
            if (pos)
                for (size_t i = 0; i < De; i++) x[i] += pos[t * De + i];
            size_t f = De;
            for (size_t j = 0; j < c->npos && features; j++)
                if (c->pos[j] >= SP_POS_I) x[f++] = feature(c->pos[j], t, lens[b]);
        }
}

/* ---- heads ---- */

static void heads_forward(sp_model *m, const sp_params *w, bool limit, size_t B, size_t T)
{
    const sp_model_config *c = &m->cfg;
    size_t D = c->d_model, O = c->k + 1;
    if (w->readw)
        for (size_t b = 0; b < B; b++) {
            size_t n = m->lens[b];
            double acc = w->readb && !limit ? w->readb[0] : 0.0;
            if (c->readout == SP_READOUT_MEAN) {
                for (size_t d = 0; d < D; d++) {
                    double s = 0;
                    for (size_t t = 0; t < n; t++) s += m->hf[(b * T + t) * D + d];
                    acc += w->readw[d] * (s / (double)n);
                }
            } else {
                const float *r = m->hf + (m->compact ? b : b * T + n - 1) * D;
                for (size_t d = 0; d < D; d++) acc += (double)w->readw[d] * r[d];
            }
            m->logits[b] = (float)acc;
        }
    if (w->nextw) sp_matmul_forward(m->next_logits, m->hf, w->nextw, limit ? NULL : w->nextb, B * T, D, O);
}

/* The limit mode's residual sum: of h (degree dh in C) and br (degree db) only the terms of the
 * highest degree survive lim C -> infinity (after dividing by C^max). Returns that degree. */
static unsigned limit_sum(float *out, const float *h, unsigned dh, const float *br, unsigned db, size_t N)
{
    if (db > dh) memcpy(out, br, N * sizeof *out);
    else if (dh > db) memcpy(out, h, N * sizeof *out);
    else sp_residual_forward(out, h, br, N);
    return dh > db ? dh : db;
}

static bool all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return false;
    return true;
}

/* ---- the pass ---- */

int sp_model_forward(sp_model *m, const int *const *strs, const size_t *ns, size_t B,
                     const sp_mode *mode, sp_error *err)
{
    const sp_model_config *c = &m->cfg;
    size_t maxn = 0;
    for (size_t b = 0; b < B; b++) maxn = ns[b] > maxn ? ns[b] : maxn;
    int status = sp_model_reserve(m, B, maxn, err);
    if (status) return status;
    size_t T = sp_config_seq_len(c, maxn), D = c->d_model, FF = c->d_ff, NH = c->heads;
    size_t BT = B * T;
    int bos = (int)c->k, cls = (int)c->k + 1;
    memset(m->tokens, 0, BT * sizeof *m->tokens);
    for (size_t b = 0; b < B; b++) {
        int *tok = m->tokens + b * T;
        tok[0] = bos;
        for (size_t i = 0; i < ns[b]; i++) {
            SP_ASSERT(strs[b][i] >= 0 && (size_t)strs[b][i] < c->k);
            tok[1 + i] = strs[b][i];
        }
        if (c->readout == SP_READOUT_CLS) tok[1 + ns[b]] = cls;
        m->lens[b] = sp_config_seq_len(c, ns[b]);
    }
    m->B = B;
    m->T = T;
    m->soft = false;

    const sp_params *w = &m->p;
    if (mode->kind == SP_ATTN_SCALED) {
        float s = (float)mode->scale;
        for (size_t i = 0; i < m->nparams; i++) m->sparams[i] = m->params[i] * s;
        w = &m->sp;
    }
    bool argmax = mode->kind == SP_ATTN_SATURATED || mode->kind == SP_ATTN_HARD || mode->kind == SP_ATTN_LIMIT;
    bool limit = mode->kind == SP_ATTN_LIMIT;
    double eps = argmax ? 0.0 : c->ln_eps;
    sp_attn_rule rule = mode->kind == SP_ATTN_HARD ? SP_RULE_LEFTMOST_MAX
                        : argmax                   ? SP_RULE_UNIFORM_MAX
                                                   : SP_RULE_SOFTMAX;
    /* limit: every linear map's input has degree >= 1 in C, so its bias (degree 1) is of lower
     * order and vanishes; layer-norm biases have the same degree as its weights and stay */
#define LB(bias) (limit ? NULL : (bias))
    unsigned dh = 1; /* limit: degree in C of the residual stream (the embedding's) */

    encoder_forward(m->h0, m->tokens, m->lens, w->embed,
                    sp_config_has_pos(c, SP_POS_SINUSOIDAL) && !limit ? m->sinus : NULL, w->pos, !limit, c, B, T);
    const float *h = m->h0;
    /* readout rows only: the heads read one row per sequence, so after the last layer's
     * attention only those rows go on (row b of each buffer holds sequence b's) */
    m->compact = m->readout_only && c->layers > 0 && !w->nextw && c->readout != SP_READOUT_MEAN;
    for (size_t l = 0; l < c->layers; l++) {
        sp_layer_acts *a = &m->layer[l];
        const sp_layer_params *lp = &w->layer[l];
        const float *in1 = h;
        unsigned d1 = dh;
        bool rows = m->compact && l + 1 == c->layers;
        size_t N2 = rows ? B : BT, N2D = N2 * D; /* rows after attention */
        if (c->norm == SP_NORM_PRE) {
            sp_layernorm_forward(a->a1, a->ln1_mean, a->ln1_rstd, h, lp->ln1w, lp->ln1b, BT, D, eps);
            in1 = a->a1;
            d1 = 1;
        }
        sp_matmul_forward(a->q, in1, lp->qw, LB(lp->qb), BT, D, D);
        sp_matmul_forward(a->k, in1, lp->kw, LB(lp->kb), BT, D, D);
        sp_matmul_forward(a->v, in1, lp->vw, LB(lp->vb), BT, D, D);
        /* readout rows: the heads read the last row of each sequence, so attention computes the
         * last block of queries only */
        (rows ? sp_attention_forward_last : sp_attention_forward)(a->z, a->att, a->shift, m->attn_work, a->q, a->k,
                                                                  a->v, m->lens, B, T, D, NH,
                                                                  c->mask == SP_MASK_CAUSAL, rule, mode->tau);
        if (rows) {
            /* z's and h's readout rows: z's gathered in place (row b of them is at or after
             * row b), h's into scratch */
            for (size_t b = 0; b < B; b++) {
                size_t r = b * T + m->lens[b] - 1;
                memmove(a->z + b * D, a->z + r * D, D * sizeof *a->z);
                memcpy(m->rows + b * D, h + r * D, D * sizeof *m->rows);
            }
            h = m->rows;
        }
        sp_matmul_forward(a->o, a->z, lp->ow, LB(lp->ob), N2, D, D);
        if (limit) dh = limit_sum(a->u1, h, dh, a->o, d1 + 2, N2D);
        else sp_residual_forward(a->u1, h, a->o, N2D);
        const float *h1 = a->u1;
        if (c->norm == SP_NORM_POST) {
            sp_layernorm_forward(a->h1, a->ln1_mean, a->ln1_rstd, a->u1, lp->ln1w, lp->ln1b, N2, D, eps);
            h1 = a->h1;
            dh = 1;
        }
        const float *in2 = h1;
        unsigned d2 = dh;
        if (c->norm == SP_NORM_PRE) {
            sp_layernorm_forward(a->a2, a->ln2_mean, a->ln2_rstd, h1, lp->ln2w, lp->ln2b, N2, D, eps);
            in2 = a->a2;
            d2 = 1;
        }
        sp_matmul_forward(a->f1, in2, lp->w1, LB(lp->b1), N2, D, FF);
        sp_relu_forward(a->f2, N2 * FF); /* in place: f2 is f1 */
        sp_matmul_forward(a->f3, a->f2, lp->w2, LB(lp->b2), N2, FF, D);
        if (limit) dh = limit_sum(a->u2, h1, dh, a->f3, d2 + 2, N2D);
        else sp_residual_forward(a->u2, h1, a->f3, N2D);
        a->h2 = a->u2;
        if (c->norm == SP_NORM_POST) {
            /* the post-norm output reuses a2, which post-norm does not otherwise need */
            sp_layernorm_forward(a->a2, a->ln2_mean, a->ln2_rstd, a->u2, lp->ln2w, lp->ln2b, N2, D, eps);
            a->h2 = a->a2;
            dh = 1;
        }
        h = a->h2;
    }
#undef LB
    size_t NF = m->compact ? B : BT; /* rows the heads read */
    if (c->norm == SP_NORM_PRE) sp_layernorm_forward(m->hf, m->lnf_mean, m->lnf_rstd, h, w->lnfw, w->lnfb, NF, D, eps);
    else memcpy(m->hf, h, NF * D * sizeof *m->hf);
    heads_forward(m, w, limit, B, T);

    if (!all_finite(m->hf, NF * D) || (w->readw && !all_finite(m->logits, B))) {
        char name[48];
        sp_mode_format(mode, name, sizeof name);
        return sp_error_set(err, SP_ELIMIT, NULL, 0, 0,
                            "activations left float32 range under %s (norm: %s)%s", name,
                            sp_norm_name(c->norm),
                            c->norm == SP_NORM_NONE && mode->kind == SP_ATTN_SCALED
                                ? "; without layer norm they grow like C^(2L+1)"
                                : "");
    }
    m->soft = mode->kind == SP_ATTN_SOFT;
    return SP_OK;
}

size_t sp_model_batch_size(const sp_model *m) { return m->B; }
size_t sp_model_batch_T(const sp_model *m) { return m->T; }
const size_t *sp_model_batch_lens(const sp_model *m) { return m->lens; }
const float *sp_model_logits(const sp_model *m) { return m->logits; }
const float *sp_model_next_logits(const sp_model *m) { return m->next_logits; }
void sp_model_attention_row(const sp_model *m, size_t l, size_t b, size_t h, size_t i, float *row)
{
    SP_ASSERT(l < m->cfg.layers && b < m->B && h < m->cfg.heads);
    sp_attention_row(row, m->layer[l].att, m->T, m->cfg.heads, m->lens[b], m->cfg.mask == SP_MASK_CAUSAL, b,
                     h, i);
}
void sp_model_set_readout_only(sp_model *m, bool on) { m->readout_only = on; }
bool sp_model_readout_only(const sp_model *m) { return m->readout_only; }

const float *sp_model_hidden(const sp_model *m, size_t l)
{
    SP_ASSERT(l <= m->cfg.layers + 1);
    if (l == 0) return m->h0;
    if (l == m->cfg.layers + 1) return m->hf;
    return m->layer[l - 1].h2;
}
