/* The backward pass: gradients of the last soft forward pass through the heads, the layers in
 * reverse and the input encoding, added into a gradient slab laid out like the parameters. */
#include "model_impl.h"
#include "satprobe/layers.h"

#include <string.h>

/* ---- input ---- */

/* dembed[V, De] and dpos[max_len, De] (NULL without learned positions) += the first De channels
 * of dh0[B, T, D] at each sequence's own positions; sinusoids and features are constants. */
static void encoder_backward(float *dembed, float *dpos, const float *dh0, const int *tokens,
                             const size_t *lens, const sp_model_config *c, size_t B, size_t T)
{
    size_t D = c->d_model, De = sp_config_embed_width(c);
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < lens[b]; t++) {
            const float *dx = dh0 + (b * T + t) * D;
            float *de = dembed + (size_t)tokens[b * T + t] * De;
            for (size_t i = 0; i < De; i++) de[i] += dx[i];
            if (dpos)
                for (size_t i = 0; i < De; i++) dpos[t * De + i] += dx[i];
        }
}

/* ---- heads ---- */

/* dhf[B, T, D] and the heads' parameter gradients from dlogits[B] and dnext[B, T, O] (either may
 * be NULL). Only rows t < lens[b] of dnext are read. */
static void heads_backward(sp_model *m, float *dhf, const float *dlogits, const float *dnext, size_t B,
                           size_t T)
{
    const sp_model_config *c = &m->cfg;
    const sp_params *w = &m->p, *g = &m->grad;
    size_t D = c->d_model, O = c->k + 1;
    if (dlogits) {
        SP_ASSERT(w->readw);
        for (size_t b = 0; b < B; b++) {
            size_t n = m->lens[b];
            double dl = dlogits[b];
            if (g->readb) g->readb[0] = (float)(g->readb[0] + dl);
            if (c->readout == SP_READOUT_MEAN) {
                /* logit = readw · (1/n) Σ_t hf[t] + readb */
                for (size_t d = 0; d < D; d++) {
                    double s = 0;
                    for (size_t t = 0; t < n; t++) s += m->hf[(b * T + t) * D + d];
                    g->readw[d] = (float)(g->readw[d] + dl * (s / (double)n));
                    float dr = (float)(dl * w->readw[d] / (double)n);
                    for (size_t t = 0; t < n; t++) dhf[(b * T + t) * D + d] += dr;
                }
            } else {
                /* logit = readw · hf[n - 1] + readb (the CLS position, or the last symbol; row b
                 * when the forward kept readout rows only) */
                size_t row = m->compact ? b : b * T + n - 1;
                const float *r = m->hf + row * D;
                float *dr = dhf + row * D;
                for (size_t d = 0; d < D; d++) {
                    g->readw[d] = (float)(g->readw[d] + dl * r[d]);
                    dr[d] = (float)(dr[d] + dl * w->readw[d]);
                }
            }
        }
    }
    if (dnext) {
        SP_ASSERT(w->nextw);
        /* per sequence, so that padding rows of dnext are never read */
        for (size_t b = 0; b < B; b++)
            sp_matmul_backward(dhf + b * T * D, g->nextw, g->nextb, dnext + b * T * O, m->hf + b * T * D,
                               w->nextw, m->lens[b], D, O, SP_GRAD_ADD);
    }
}

/* ---- layers ---- */

/* Layer l: dh[B, T, D] = the gradient of its input, given dh2[B, T, D], that of its output.
 * Gradient buffers alias exactly where the activations do (model_impl.h): without post-norm
 * du2 is dh2 and du1 is dh1, without pre-norm da2 is dh1 and da1 is dh. The first writer of
 * each buffer overwrites it (SP_GRAD_SET) and later ones add, so nothing is zeroed. */
static void layer_backward(sp_model *m, size_t l, float *dh, const float *dh2, size_t B, size_t T)
{
    const sp_model_config *c = &m->cfg;
    const sp_layer_acts *a = &m->layer[l];
    const sp_layer_params *w = &m->p.layer[l], *g = &m->grad.layer[l];
    const sp_grad_acts *ga = &m->g;
    size_t D = c->d_model, FF = c->d_ff, BT = B * T, BTD = BT * D;
    bool pre = c->norm == SP_NORM_PRE, post = c->norm == SP_NORM_POST;
    const float *h = l ? m->layer[l - 1].h2 : m->h0; /* [B, T, D] the layer's input */
    const float *in1 = pre ? a->a1 : h;               /* what q, k, v read */
    const float *h1 = post ? a->h1 : a->u1;           /* after attention */
    const float *in2 = pre ? a->a2 : h1;              /* what the feed-forward reads */

    const sp_grad_write SET = SP_GRAD_SET, ADD = SP_GRAD_ADD;
    /* the last layer of a readout-rows pass: from the residual after attention up, one row per
     * sequence (forward.c); dh2 has those rows only */
    bool rows = m->compact && l + 1 == c->layers;
    size_t N2 = rows ? B : BT, N2D = N2 * D;
    const float *du2 = post ? ga->du2 : dh2;
    float *dh1 = ga->dh1;
    float *du1 = post ? ga->du1 : dh1;
    float *din2 = pre ? ga->da2 : dh1;
    float *din1 = pre ? ga->da1 : dh;

    /* post: h2 = LN2(u2) */
    if (post)
        sp_layernorm_backward(ga->du2, g->ln2w, g->ln2b, dh2, a->ln2_mean, a->ln2_rstd, a->u2, w->ln2w, N2, D,
                              SET);
    /* u2 = h1 + f3: both get du2, and f3's is read from du2 itself */
    sp_residual_backward(dh1, NULL, du2, N2D, SET);
    /* f3 = f2 W2ᵀ + b2, f2 = ReLU(f1), f1 = in2 W1ᵀ + b1: df1 through W2 and ReLU in one call
     * (f1's buffer holds f2 by now, which is > 0 exactly where f1 was) */
    sp_matmul_relu_backward(ga->df1, g->w2, g->b2, du2, a->f2, w->w2, N2, FF, D);
    sp_matmul_backward(din2, g->w1, g->b1, ga->df1, in2, w->w1, N2, D, FF, pre ? SET : ADD);
    /* pre: in2 = LN2(h1) */
    if (pre)
        sp_layernorm_backward(dh1, g->ln2w, g->ln2b, ga->da2, a->ln2_mean, a->ln2_rstd, h1, w->ln2w, N2, D,
                              ADD);
    /* post: h1 = LN1(u1) */
    if (post)
        sp_layernorm_backward(ga->du1, g->ln1w, g->ln1b, dh1, a->ln1_mean, a->ln1_rstd, a->u1, w->ln1w, N2, D,
                              SET);
    /* u1 = h + o, o = z Woᵀ + bo, z = attention(q, k, v) */
    if (rows) {
        /* h's and z's gradients are 0 but at the readout rows; z's rows of them go to scratch
         * first */
        memset(dh, 0, BTD * sizeof *dh);
        for (size_t b = 0; b < B; b++) memcpy(dh + (b * T + m->lens[b] - 1) * D, du1 + b * D, D * sizeof *dh);
        sp_matmul_backward(m->rows, g->ow, g->ob, du1, a->z, w->ow, N2, D, D, SET);
        memset(ga->dz, 0, BTD * sizeof *ga->dz);
        for (size_t b = 0; b < B; b++)
            memcpy(ga->dz + (b * T + m->lens[b] - 1) * D, m->rows + b * D, D * sizeof *ga->dz);
    } else {
        /* o's gradient is du1's, read in place like f3's */
        sp_residual_backward(dh, NULL, du1, BTD, SET);
        sp_matmul_backward(ga->dz, g->ow, g->ob, du1, a->z, w->ow, BT, D, D, SET);
    }
    sp_attention_backward(ga->dq, ga->dk, ga->dv, m->attn_work, ga->dz, a->att, a->shift, a->q, a->k, a->v,
                          m->lens, B, T, D, c->heads, c->mask == SP_MASK_CAUSAL, SET);
    /* q, k, v = in1 W{q,k,v}ᵀ + b{q,k,v} */
    sp_matmul_backward(din1, g->qw, g->qb, ga->dq, in1, w->qw, BT, D, D, pre ? SET : ADD);
    sp_matmul_backward(din1, g->kw, g->kb, ga->dk, in1, w->kw, BT, D, D, ADD);
    sp_matmul_backward(din1, g->vw, g->vb, ga->dv, in1, w->vw, BT, D, D, ADD);
    /* pre: in1 = LN1(h) */
    if (pre)
        sp_layernorm_backward(dh, g->ln1w, g->ln1b, ga->da1, a->ln1_mean, a->ln1_rstd, h, w->ln1w, BT, D,
                              ADD);
}

/* ---- the pass ---- */

void sp_model_backward(sp_model *m, const float *dlogits, const float *dnext, float *grad)
{
    const sp_model_config *c = &m->cfg;
    /* the max rules are not differentiable, and scaled and limit passes ran on other weights */
    SP_ASSERT(m->soft);
    if (grad != m->grad_slab) {
        m->grad.layer = m->grad_layer;
        sp_model_map_views(m, grad, &m->grad);
        m->grad_slab = grad;
    }
    size_t B = m->B, T = m->T, D = c->d_model, L = c->layers;
    const sp_grad_acts *ga = &m->g;
    const float *top = L ? m->layer[L - 1].h2 : m->h0; /* [B, T, D] the last layer's output */
    size_t cur = L % 2; /* dres[cur] holds the gradient of the stream above the current layer */
    float *dtop = ga->dres[cur];
    size_t NF = m->compact ? B : B * T; /* rows the heads read */
    if (c->norm == SP_NORM_PRE) {
        memset(ga->dhf, 0, NF * D * sizeof *ga->dhf);
        heads_backward(m, ga->dhf, dlogits, dnext, B, T);
        sp_layernorm_backward(dtop, m->grad.lnfw, m->grad.lnfb, ga->dhf, m->lnf_mean, m->lnf_rstd, top,
                              m->p.lnfw, NF, D, SP_GRAD_SET);
    } else {
        memset(dtop, 0, NF * D * sizeof *dtop);
        heads_backward(m, dtop, dlogits, dnext, B, T); /* hf is a copy of the last output */
    }
    for (size_t l = L; l-- > 0;) {
        layer_backward(m, l, ga->dres[1 - cur], ga->dres[cur], B, T);
        cur = 1 - cur;
    }
    SP_ASSERT(cur == 0);
    encoder_backward(m->grad.embed, m->grad.pos, ga->dres[0], m->tokens, m->lens, c, B, T);
}
