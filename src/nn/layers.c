/* Forward and backward kernels of the transformer's layers: linear maps through cblas_sgemm,
 * layer norm with double statistics, ReLU and residual sums (attention is in attention.c).
 *
 * The loops outside cblas_sgemm go through the pool: element-wise ones split by elements, layer
 * norm by rows; sums over rows (bias and layer-norm parameter gradients) go to one thread while
 * the others start on the rest of the backward, so that each sum is still taken in row order
 * and the split changes no bit. */
#include "satprobe/layers.h"
#include "satprobe/pool.h"
#include "vecmath.h"

#include <cblas.h>
#include <math.h>
#include <string.h>
#include <strings.h>

/* floats a chunk should have at least: below that a second thread costs more than it saves */
enum { GRAIN = 1 << 15 };

/* rows or columns per chunk for a loop over n of them, each `width` floats long */
static size_t grain_of(size_t width, size_t at_least)
{
    size_t g = (GRAIN + width - 1) / (width ? width : 1);
    return g > at_least ? g : at_least;
}

/* the arguments of an element-wise or bias-rows call, for its chunks: out (and out2) from a
 * (and b), rows of C floats */
typedef struct layer_job {
    float *out, *out2;
    const float *a, *b;
    size_t C;
    sp_grad_write mode;
} layer_job;

/* the arguments of a layer-norm call: the forward writes mean and rstd, the backward reads them */
typedef struct norm_job {
    float *out, *dw, *db, *mean_out, *rstd_out;
    const float *inp, *dout, *w, *b, *mean, *rstd;
    size_t C, N;
    double eps;
    sp_grad_write mode;
} norm_job;

static void bias_rows_part(void *ctx, size_t part, size_t n0, size_t n1)
{
    const layer_job *J = ctx;
    for (size_t n = n0; n < n1; n++) memcpy(J->out + n * J->C, J->a, J->C * sizeof *J->out);
}

/* dbias[o] += Σ_n dout[n, o] over dout[N, OC]: summed in double over n in ascending order;
 * the rows are walked in order, a block of columns at a time, so that dout is read
 * contiguously */
static void bias_sum(float *dbias, const float *dout, size_t N, size_t OC)
{
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

const char *sp_blas_kernels(void) { return openblas_get_corename(); }

bool sp_blas_split_exact(void)
{
    const char *k = openblas_get_corename();
    return k && (!strcasecmp(k, "haswell") || !strcasecmp(k, "zen"));
}

/* C[M, N] = op(A)[M, K] op(B)[K, N] + beta C (row-major, alpha 1), the rows of C split over the
 * pool, each chunk one single-threaded cblas_sgemm call. This beats OpenBLAS's own threads on
 * every size here (docs/training.md), and the split can keep the bits: OpenBLAS's Haswell
 * kernels (which Zen uses too) round every row of a call alike but for its last rows when their
 * number is not a multiple of 24, so chunks that start at multiples of 24 rows give what one
 * call gives (tests/test_pool.c). Its SkylakeX kernels pick other code for small products by
 * their size, so a chunk may round unlike the whole (sp_blas_split_exact). */
typedef struct gemm_job {
    bool ta, tb; /* op = transpose */
    size_t M, N, K, lda, ldb, ldc;
    const float *A, *B;
    float beta;
    float *C;
} gemm_job;

enum { TILE = 24, GEMM_GRAIN = 1 << 20 /* multiply-adds a chunk should have at least */ };

/* rows [t0 TILE, t1 TILE) of C, cut at M */
static void gemm_rows(const gemm_job *J, size_t t0, size_t t1)
{
    size_t m0 = t0 * TILE, m1 = t1 * TILE < J->M ? t1 * TILE : J->M;
    if (m0 >= m1) return;
    const float *A = J->ta ? J->A + m0 : J->A + m0 * J->lda;
    cblas_sgemm(CblasRowMajor, J->ta ? CblasTrans : CblasNoTrans, J->tb ? CblasTrans : CblasNoTrans,
                (int)(m1 - m0), (int)J->N, (int)J->K, 1.0f, A, (int)J->lda, J->B, (int)J->ldb, J->beta,
                J->C + m0 * J->ldc, (int)J->ldc);
}

static size_t gemm_tiles(const gemm_job *J) { return (J->M + TILE - 1) / TILE; }

static size_t gemm_grain(const gemm_job *J)
{
    size_t per_tile = TILE * J->N * J->K;
    return (GEMM_GRAIN + per_tile - 1) / (per_tile ? per_tile : 1);
}

static void gemm_part(void *ctx, size_t part, size_t t0, size_t t1)
{
    (void)part;
    gemm_rows(ctx, t0, t1);
}

static gemm_job gemm_of(bool ta, bool tb, size_t M, size_t N, size_t K, const float *A, size_t lda,
                        const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    return (gemm_job){.ta = ta, .tb = tb, .M = M, .N = N, .K = K, .lda = lda, .ldb = ldb, .ldc = ldc,
                      .A = A, .B = B, .beta = beta, .C = C};
}

void sp_matmul_forward(float *out, const float *inp, const float *w, const float *bias, size_t N,
                       size_t C, size_t OC)
{
    if (N == 0 || OC == 0) return;
    /* the bias rows first and the product added onto them (beta 1): OpenBLAS would otherwise
     * clear out before adding the product, and the bias would be another pass over it */
    if (bias) sp_pool_for(N, grain_of(OC, 1), bias_rows_part, &(layer_job){.out = out, .a = bias, .C = OC});
    gemm_job J = gemm_of(false, true, N, OC, C, inp, C, w, C, bias ? 1.0f : 0.0f, out, OC);
    sp_pool_for(gemm_tiles(&J), gemm_grain(&J), gemm_part, &J);
}

/* The backward as one job. dw's rows go one part per thread, each one call: a call multiplies
 * all N rows of dout and inp, and more calls would pack them again. The first thread sums dbias
 * before its part of dw: the sum runs at the speed of memory, and the others multiply
 * meanwhile. dinp's rows then go in chunks that the threads take as they
 * finish, which evens out the rest: dbias, dw's uneven parts (its rows are few, and split at
 * multiples of 24) and cores that run at different speeds. */
typedef struct backward_job {
    gemm_job dw, dx;   /* dx.C NULL: no dinp */
    size_t dw_threads;
    const float *relu; /* ReLU's output [N, C] that dinp goes back through, or NULL */
    float *dbias;      /* or NULL */
    sp_pool_chunks dx_chunks;
} backward_job;

/* d[i] = 0 where relu's output y[i] is not > 0: ReLU's backward, in place */
static void relu_mask(float *restrict d, const float *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = d[i];
        d[i] = y[i] > 0.0f ? v : 0.0f;
    }
}

static void backward_team(void *ctx, size_t thread, size_t threads)
{
    backward_job *J = ctx;
    size_t p = J->dw_threads < threads ? J->dw_threads : threads, tiles = gemm_tiles(&J->dw), b, e;
    /* dw's operands: dout [N = K, OC = M] */
    if (thread == 0 && J->dbias) bias_sum(J->dbias, J->dw.A, J->dw.K, J->dw.M);
    if (thread < p) gemm_rows(&J->dw, tiles * thread / p, tiles * (thread + 1) / p);
    if (!J->dx.C) return;
    while (sp_pool_chunks_take(&J->dx_chunks, &b, &e)) {
        gemm_rows(&J->dx, b, e);
        /* while the chunk's rows are still in cache */
        size_t m0 = b * TILE, m1 = e * TILE < J->dx.M ? e * TILE : J->dx.M, C = J->dx.N;
        if (J->relu && m0 < m1) relu_mask(J->dx.C + m0 * C, J->relu + m0 * C, (m1 - m0) * C);
    }
}

static void matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                            const float *w, size_t N, size_t C, size_t OC, sp_grad_write mode, bool relu)
{
    if (N == 0) return;
    if (OC == 0) {
        if (dinp && mode == SP_GRAD_SET) memset(dinp, 0, N * C * sizeof *dinp);
        return;
    }
    backward_job J = {
        /* dw[OC, C] += dout[N, OC]ᵀ · inp[N, C] */
        .dw = gemm_of(true, false, OC, C, N, dout, OC, inp, C, 1.0f, dw, C),
        /* dinp[N, C] (+)= dout[N, OC] · w[OC, C] */
        .dx = gemm_of(false, false, N, C, OC, dout, OC, w, C, mode == SP_GRAD_SET ? 0.0f : 1.0f, dinp, C),
        .relu = relu ? inp : NULL,
        .dbias = dbias,
    };
    J.dw_threads = sp_pool_parts(gemm_tiles(&J.dw), gemm_grain(&J.dw));
    size_t dx_threads = dinp ? sp_pool_parts(gemm_tiles(&J.dx), gemm_grain(&J.dx)) : 1;
    sp_pool_chunks_init(&J.dx_chunks, gemm_tiles(&J.dx), gemm_grain(&J.dx), dx_threads);
    sp_pool_run(J.dw_threads > dx_threads ? J.dw_threads : dx_threads, backward_team, &J);
}

void sp_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                        const float *w, size_t N, size_t C, size_t OC, sp_grad_write mode)
{
    matmul_backward(dinp, dw, dbias, dout, inp, w, N, C, OC, mode, false);
}

void sp_matmul_relu_backward(float *dpre, float *dw, float *dbias, const float *dout, const float *inp,
                             const float *w, size_t N, size_t C, size_t OC)
{
    matmul_backward(dpre, dw, dbias, dout, inp, w, N, C, OC, SP_GRAD_SET, true);
}

static void layernorm_part(void *ctx, size_t part, size_t n0, size_t n1)
{
    const norm_job *J = ctx;
    const float *w = J->w, *b = J->b;
    size_t C = J->C;
    for (size_t n = n0; n < n1; n++) {
        const float *x = J->inp + n * C;
        double m = sp_sum_f64(x, C) / (double)C;
        double v = sp_sqdev_f64(x, C, m) / (double)C;
        double r = v + J->eps > 0 ? 1.0 / sqrt(v + J->eps) : 0.0;
        float *y = J->out + n * C;
        if (b)
            for (size_t c = 0; c < C; c++) y[c] = (float)((x[c] - m) * r * w[c] + b[c]);
        else
            for (size_t c = 0; c < C; c++) y[c] = (float)((x[c] - m) * r * w[c]);
        J->mean_out[n] = (float)m;
        J->rstd_out[n] = (float)r;
    }
}

void sp_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, size_t N, size_t C, double eps)
{
    norm_job J = {.out = out, .mean_out = mean, .rstd_out = rstd, .inp = inp, .w = w, .b = b, .C = C, .eps = eps};
    sp_pool_for(N, grain_of(C, 1), layernorm_part, &J);
}

/* row n's terms of dw and db: dw += dout x̂, db += dout */
static void params_row(const norm_job *J, size_t n)
{
    size_t C = J->C;
    const float *x = J->inp + n * C, *g = J->dout + n * C;
    double m = J->mean[n], r = J->rstd[n];
    for (size_t c = 0; c < C; c++) J->dw[c] = (float)(J->dw[c] + g[c] * ((x[c] - m) * r));
    if (J->db)
        for (size_t c = 0; c < C; c++) J->db[c] += g[c];
}

/* rows [n0, n1) of the layer norm's input gradient; with `params`, dw and db too (one thread
 * only: they are sums over all rows) */
static void layernorm_rows(const norm_job *J, size_t n0, size_t n1, bool params)
{
    const float *dout = J->dout, *inp = J->inp, *w = J->w;
    float *dinp = J->out;
    size_t C = J->C;
    for (size_t n = n0; n < n1; n++) {
        const float *x = inp + n * C, *g = dout + n * C;
        double m = J->mean[n], r = J->rstd[n];
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
        if (J->mode == SP_GRAD_SET)
            for (size_t c = 0; c < C; c++)
                dx[c] = (float)(r * ((double)g[c] * w[c] - gm - (x[c] - m) * r * gxm));
        else
            for (size_t c = 0; c < C; c++)
                dx[c] = (float)(dx[c] + r * ((double)g[c] * w[c] - gm - (x[c] - m) * r * gxm));
        if (params) params_row(J, n);
    }
}

/* dw and db over every row, in order */
static void layernorm_params(const norm_job *J)
{
    for (size_t n = 0; n < J->N; n++) params_row(J, n);
}

/* The backward on two threads or more, as one job: the first thread sums dw and db (at the
 * speed of memory) while the others start on the rows, and then the threads take chunks of the
 * rows as they finish. */
typedef struct norm_team {
    norm_job *J;
    sp_pool_chunks rows;
} norm_team;

static void layernorm_team(void *ctx, size_t thread, size_t threads)
{
    (void)threads;
    norm_team *T = ctx;
    size_t b, e;
    if (thread == 0) layernorm_params(T->J);
    while (sp_pool_chunks_take(&T->rows, &b, &e)) layernorm_rows(T->J, b, e, false);
}

void sp_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *mean,
                           const float *rstd, const float *inp, const float *w, size_t N, size_t C,
                           sp_grad_write mode)
{
    norm_job J = {.out = dinp, .dw = dw, .db = db, .dout = dout, .inp = inp, .w = w, .mean = mean, .rstd = rstd,
                  .C = C, .N = N, .mode = mode};
    size_t threads = sp_pool_parts(N, grain_of(C, 1));
    if (threads == 1) {
        layernorm_rows(&J, 0, N, true);
        return;
    }
    norm_team team = {.J = &J};
    sp_pool_chunks_init(&team.rows, N, grain_of(C, 1), threads);
    sp_pool_run(threads, layernorm_team, &team);
}

static void relu_part(void *ctx, size_t part, size_t i0, size_t i1)
{
    float *x = ((const layer_job *)ctx)->out;
    /* written so that the compiler turns it into a vector compare-and-mask: signs are random, and
     * a mispredicted branch per element would cost more than the layer's matrix product */
    for (size_t i = i0; i < i1; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void sp_relu_forward(float *x, size_t N)
{
    sp_pool_for(N, GRAIN, relu_part, &(layer_job){.out = x});
}

static void relu_backward_part(void *ctx, size_t part, size_t i0, size_t i1)
{
    const layer_job *J = ctx;
    float *restrict dinp = J->out;
    const float *restrict dout = J->a, *restrict inp = J->b;
    /* both operands loaded unconditionally, so the select vectorises (as in the forward) */
    if (J->mode == SP_GRAD_SET)
        for (size_t i = i0; i < i1; i++) {
            float d = dout[i];
            dinp[i] = inp[i] > 0.0f ? d : 0.0f;
        }
    else
        for (size_t i = i0; i < i1; i++) {
            float d = dout[i];
            dinp[i] += inp[i] > 0.0f ? d : 0.0f;
        }
}

void sp_relu_backward(float *restrict dinp, const float *restrict dout, const float *restrict inp,
                      size_t N, sp_grad_write mode)
{
    sp_pool_for(N, GRAIN, relu_backward_part, &(layer_job){.out = dinp, .a = dout, .b = inp, .mode = mode});
}

static void residual_part(void *ctx, size_t part, size_t i0, size_t i1)
{
    const layer_job *J = ctx;
    for (size_t i = i0; i < i1; i++) J->out[i] = J->a[i] + J->b[i];
}

void sp_residual_forward(float *out, const float *a, const float *b, size_t N)
{
    sp_pool_for(N, GRAIN, residual_part, &(layer_job){.out = out, .a = a, .b = b});
}

static void residual_backward_part(void *ctx, size_t part, size_t i0, size_t i1)
{
    const layer_job *J = ctx;
    float *da = J->out, *db = J->out2;
    const float *dout = J->a;
    if (J->mode == SP_GRAD_SET) {
        memcpy(da + i0, dout + i0, (i1 - i0) * sizeof *da);
        if (db) memcpy(db + i0, dout + i0, (i1 - i0) * sizeof *db);
        return;
    }
    for (size_t i = i0; i < i1; i++) da[i] += dout[i];
    if (db)
        for (size_t i = i0; i < i1; i++) db[i] += dout[i];
}

void sp_residual_backward(float *da, float *db, const float *dout, size_t N, sp_grad_write mode)
{
    sp_pool_for(N, GRAIN, residual_backward_part, &(layer_job){.out = da, .out2 = db, .a = dout, .mode = mode});
}
