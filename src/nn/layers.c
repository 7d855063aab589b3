/* Forward and backward kernels of the transformer's layers: linear maps through cblas_sgemm,
 * layer norm with double statistics, ReLU and residual sums (attention is in attention.c). */
#include "satprobe/layers.h"
#include "vecmath.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void sp_matmul_forward(float *out, const float *inp, const float *w, const float *bias, size_t N,
                       size_t C, size_t OC)
{
    if (N == 0 || OC == 0) return;
    /* the bias rows first and the product added onto them (beta 1): OpenBLAS would otherwise
     * clear out before adding the product, and the bias would be another pass over it */
    if (bias)
        for (size_t n = 0; n < N; n++) memcpy(out + n * OC, bias, OC * sizeof *out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)OC, (int)C, 1.0f, inp, (int)C,
                w, (int)C, bias ? 1.0f : 0.0f, out, (int)OC);
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
