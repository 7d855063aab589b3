/* Forward and backward kernels of the transformer's layers: linear maps through cblas_sgemm,
 * layer norm with double statistics, ReLU, residual sums, and attention with softmax or
 * argmax-set weights (backward for softmax only). */
#include "satprobe/layers.h"
#include "satprobe/error.h"
#include "vecmath.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

void sp_matmul_forward(float *out, const float *inp, const float *w, const float *bias, size_t N,
                       size_t C, size_t OC)
{
    if (N == 0 || OC == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)OC, (int)C, 1.0f, inp, (int)C,
                w, (int)C, 0.0f, out, (int)OC);
    if (bias)
        for (size_t n = 0; n < N; n++) {
            float *row = out + n * OC;
            for (size_t o = 0; o < OC; o++) row[o] += bias[o];
        }
}

void sp_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                        const float *w, size_t N, size_t C, size_t OC, sp_grad_write mode)
{
    if (N == 0) return;
    if (OC == 0) {
        if (dinp && mode == SP_GRAD_SET) memset(dinp, 0, N * C * sizeof *dinp);
        return;
    }
    /* dinp[N, C] (+)= dout[N, OC] · w[OC, C] */
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)C, (int)OC, 1.0f, dout,
                    (int)OC, w, (int)C, mode == SP_GRAD_SET ? 0.0f : 1.0f, dinp, (int)C);
    /* dw[OC, C] += dout[N, OC]ᵀ · inp[N, C] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)OC, (int)C, (int)N, 1.0f, dout, (int)OC,
                inp, (int)C, 1.0f, dw, (int)C);
    if (dbias) {
        /* dbias[o] += Σ_n dout[n, o], summed in double over n in ascending order; the rows are
         * walked in order, a block of columns at a time, so that dout is read contiguously. */
        enum { BLOCK = 256 };
        double acc[BLOCK];
        for (size_t o0 = 0; o0 < OC; o0 += BLOCK) {
            size_t nb = OC - o0 < BLOCK ? OC - o0 : BLOCK;
            for (size_t j = 0; j < nb; j++) acc[j] = 0;
            for (size_t n = 0; n < N; n++) {
                const float *row = dout + n * OC + o0;
                for (size_t j = 0; j < nb; j++) acc[j] += row[j];
            }
            for (size_t j = 0; j < nb; j++) dbias[o0 + j] = (float)(dbias[o0 + j] + acc[j]);
        }
    }
}

void sp_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, size_t N, size_t C, double eps)
{
    for (size_t n = 0; n < N; n++) {
        const float *x = inp + n * C;
        double m = sp_sum_f64(x, C) / (double)C;
        double v = sp_sqdev_f64(x, C, m) / (double)C;
        double r = v + eps > 0 ? 1.0 / sqrt(v + eps) : 0.0;
        float *y = out + n * C;
        if (b)
            for (size_t c = 0; c < C; c++) y[c] = (float)((x[c] - m) * r * w[c] + b[c]);
        else
            for (size_t c = 0; c < C; c++) y[c] = (float)((x[c] - m) * r * w[c]);
        mean[n] = (float)m;
        rstd[n] = (float)r;
    }
}

void sp_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *mean,
                           const float *rstd, const float *inp, const float *w, size_t N, size_t C,
                           sp_grad_write mode)
{
    for (size_t n = 0; n < N; n++) {
        const float *x = inp + n * C, *g = dout + n * C;
        double m = mean[n], r = rstd[n];
        /* dinp = r (g w - mean(g w) - x̂ mean(g w x̂)): the last term comes through the variance,
         * and holds with eps because x̂ and r both carry it */
        double pm[SP_LANES] = {0}, pxm[SP_LANES] = {0};
        size_t c0 = 0;
        for (; c0 + SP_LANES <= C; c0 += SP_LANES)
            for (size_t l = 0; l < SP_LANES; l++) {
                double xh = (x[c0 + l] - m) * r, gw = (double)g[c0 + l] * w[c0 + l];
                pm[l] += gw;
                pxm[l] += gw * xh;
            }
        for (size_t l = 0; c0 + l < C; l++) {
            double xh = (x[c0 + l] - m) * r, gw = (double)g[c0 + l] * w[c0 + l];
            pm[l] += gw;
            pxm[l] += gw * xh;
        }
        double gm = 0, gxm = 0;
        for (size_t l = 0; l < SP_LANES; l++) {
            gm += pm[l];
            gxm += pxm[l];
        }
        gm /= (double)C;
        gxm /= (double)C;
        float *dx = dinp + n * C;
        if (mode == SP_GRAD_SET)
            for (size_t c = 0; c < C; c++)
                dx[c] = (float)(r * ((double)g[c] * w[c] - gm - (x[c] - m) * r * gxm));
        else
            for (size_t c = 0; c < C; c++)
                dx[c] = (float)(dx[c] + r * ((double)g[c] * w[c] - gm - (x[c] - m) * r * gxm));
        for (size_t c = 0; c < C; c++) dw[c] = (float)(dw[c] + g[c] * ((x[c] - m) * r));
        if (db)
            for (size_t c = 0; c < C; c++) db[c] += g[c];
    }
}

void sp_relu_forward(float *restrict out, const float *restrict inp, size_t N)
{
    /* written so that the compiler turns it into a vector compare-and-mask: signs are random, and
     * a mispredicted branch per element would cost more than the layer's matrix product */
    for (size_t i = 0; i < N; i++) {
        float x = inp[i];
        out[i] = x > 0.0f ? x : 0.0f;
    }
}

void sp_relu_backward(float *restrict dinp, const float *restrict dout, const float *restrict inp,
                      size_t N, sp_grad_write mode)
{
    /* both operands loaded unconditionally, so the select vectorises (as in the forward) */
    if (mode == SP_GRAD_SET)
        for (size_t i = 0; i < N; i++) {
            float d = dout[i];
            dinp[i] = inp[i] > 0.0f ? d : 0.0f;
        }
    else
        for (size_t i = 0; i < N; i++) {
            float d = dout[i];
            dinp[i] += inp[i] > 0.0f ? d : 0.0f;
        }
}

void sp_residual_forward(float *out, const float *a, const float *b, size_t N)
{
    for (size_t i = 0; i < N; i++) out[i] = a[i] + b[i];
}

void sp_residual_backward(float *da, float *db, const float *dout, size_t N, sp_grad_write mode)
{
    if (mode == SP_GRAD_SET) {
        memcpy(da, dout, N * sizeof *da);
        memcpy(db, dout, N * sizeof *db);
        return;
    }
    for (size_t i = 0; i < N; i++) {
        da[i] += dout[i];
        db[i] += dout[i];
    }
}

/* Largest |x| over the first lens[b] rows of each sequence. On the bits of |x| (non-negative
 * floats order as their bit patterns), so the loop is an integer max the compiler vectorises. */
static float max_abs(const float *x, const size_t *lens, size_t B, size_t T, size_t C)
{
    uint32_t m = 0;
    for (size_t b = 0; b < B; b++) {
        const float *xb = x + b * T * C;
        size_t n = lens[b] * C;
        for (size_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &xb[i], sizeof u);
            u &= 0x7fffffffu;
            m = u > m ? u : m;
        }
    }
    float f;
    memcpy(&f, &m, sizeof f);
    return f;
}

/* Power of two that brings max down to at most 2^50 (1 when it already is). */
static int shrink_exponent(float max)
{
    int e = max > 0 && isfinite(max) ? ilogbf(max) : 0;
    return e > 50 ? e - 50 : 0;
}

static void scale_rows(float *x, const size_t *lens, size_t B, size_t T, size_t C, int e)
{
    for (size_t b = 0; b < B; b++)
        for (size_t i = 0; i < lens[b] * C; i++) x[b * T * C + i] = ldexpf(x[b * T * C + i], -e);
}

/* Turn row[0..n) of raw dot products into weights; lambda is the true score per raw unit. */
static void weigh_row(float *row, size_t n, double lambda, sp_attn_rule rule, double tau)
{
    float mx = sp_max_f32(row, n);
    if (rule == SP_RULE_SOFTMAX) {
        /* the argument in double: with a large lambda (scaled:C) the float difference alone
         * would round; the exponential then in float */
        for (size_t j = 0; j < n; j++)
            row[j] = sp_exp_nonpos((float)(lambda * ((double)row[j] - (double)mx)));
        double sum = sp_sum_f64(row, n);
        float inv = (float)(1.0 / sum);
        for (size_t j = 0; j < n; j++) row[j] *= inv;
        return;
    }
    size_t count = 0, first = n;
    for (size_t j = 0; j < n; j++) {
        bool in = lambda * ((double)row[j] - (double)mx) >= -tau;
        if (in && first == n) first = j;
        count += in;
        row[j] = in ? 1.0f : 0.0f;
    }
    if (rule == SP_RULE_LEFTMOST_MAX) {
        memset(row, 0, n * sizeof *row);
        row[first] = 1.0f;
    } else {
        float w = (float)(1.0 / (double)count);
        for (size_t j = 0; j < n; j++) row[j] *= w;
    }
}

void sp_attention_forward(float *out, float *att, int shift[2], float *q, float *k, const float *v,
                          const size_t *lens, size_t B, size_t T, size_t C, size_t NH, bool causal,
                          sp_attn_rule rule, double tau)
{
    SP_ASSERT(C % NH == 0);
    size_t HS = C / NH;
    int eq = shrink_exponent(max_abs(q, lens, B, T, C));
    int ek = shrink_exponent(max_abs(k, lens, B, T, C));
    if (eq) scale_rows(q, lens, B, T, C, eq);
    if (ek) scale_rows(k, lens, B, T, C, ek);
    shift[0] = eq;
    shift[1] = ek;
    double lambda = ldexp(1.0, eq + ek) / sqrt((double)HS);
    for (size_t b = 0; b < B; b++) {
        size_t n = lens[b];
        memset(out + (b * T + n) * C, 0, (T - n) * C * sizeof *out);
        if (n == 0) {
            memset(att + b * NH * T * T, 0, NH * T * T * sizeof *att);
            continue;
        }
        for (size_t h = 0; h < NH; h++) {
            const float *qb = q + b * T * C + h * HS;
            const float *kb = k + b * T * C + h * HS;
            const float *vb = v + b * T * C + h * HS;
            float *ab = att + (b * NH + h) * T * T;
            /* ab[n, n] (row stride T) = qb[n, HS] · kb[n, HS]ᵀ, both with row stride C */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)HS, 1.0f, qb,
                        (int)C, kb, (int)C, 0.0f, ab, (int)T);
            for (size_t i = 0; i < n; i++) {
                float *row = ab + i * T;
                size_t vis = causal ? i + 1 : n;
                weigh_row(row, vis, lambda, rule, tau);
                memset(row + vis, 0, (T - vis) * sizeof *row);
            }
            memset(ab + n * T, 0, (T - n) * T * sizeof *ab);
            /* out[n, HS] (stride C) = ab[n, n] · vb[n, HS] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)HS, (int)n, 1.0f, ab,
                        (int)T, vb, (int)C, 0.0f, out + b * T * C + h * HS, (int)C);
        }
    }
}

void sp_attention_backward(float *dq, float *dk, float *dv, float *datt, const float *dout,
                           const float *att, const int shift[2], const float *q, const float *k,
                           const float *v, const size_t *lens, size_t B, size_t T, size_t C,
                           size_t NH, bool causal, sp_grad_write mode)
{
    SP_ASSERT(C % NH == 0);
    size_t HS = C / NH;
    float beta = mode == SP_GRAD_SET ? 0.0f : 1.0f;
    /* s = q·k / sqrt(HS) with the saved q = q₀ 2^-eq, k = k₀ 2^-ek: ds/dq₀ = k₀ / sqrt(HS)
     * = k 2^ek / sqrt(HS), and likewise for k₀ (powers of two, so exact) */
    double inv = 1.0 / sqrt((double)HS);
    float aq = (float)ldexp(inv, shift[1]), ak = (float)ldexp(inv, shift[0]);
    for (size_t b = 0; b < B; b++) {
        size_t n = lens[b];
        if (mode == SP_GRAD_SET) {
            size_t pad = (T - n) * C * sizeof(float);
            memset(dq + (b * T + n) * C, 0, pad);
            memset(dk + (b * T + n) * C, 0, pad);
            memset(dv + (b * T + n) * C, 0, pad);
        }
        if (n == 0) continue;
        for (size_t h = 0; h < NH; h++) {
            size_t off = b * T * C + h * HS;
            const float *ab = att + (b * NH + h) * T * T;
            /* dv[n, HS] (stride C) (+)= ab[n, n]ᵀ · dout[n, HS] */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)HS, (int)n, 1.0f, ab,
                        (int)T, dout + off, (int)C, beta, dv + off, (int)C);
            /* datt[n, n] (stride T) = dout[n, HS] · v[n, HS]ᵀ: the gradient of the weights */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)HS, 1.0f,
                        dout + off, (int)C, v + off, (int)C, 0.0f, datt, (int)T);
            /* through the softmax of each row: ds_j = w_j (dw_j - Σ_j' w_j' dw_j'); keys that
             * are not visible have w = 0 and get ds = 0 */
            for (size_t i = 0; i < n; i++) {
                const float *wr = ab + i * T;
                float *row = datt + i * T;
                size_t vis = causal ? i + 1 : n;
                double dot = sp_dot_f64(wr, row, vis);
                for (size_t j = 0; j < vis; j++) row[j] = (float)(wr[j] * ((double)row[j] - dot));
                for (size_t j = vis; j < n; j++) row[j] = 0.0f;
            }
            /* dq[n, HS] (+)= aq · ds[n, n] · k[n, HS];  dk[n, HS] (+)= ak · ds[n, n]ᵀ · q[n, HS] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)HS, (int)n, aq, datt,
                        (int)T, k + off, (int)C, beta, dq + off, (int)C);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)HS, (int)n, ak, datt,
                        (int)T, q + off, (int)C, beta, dk + off, (int)C);
        }
    }
}
