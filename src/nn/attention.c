/* Multi-head attention, forward and backward, with direct loops per (sequence, head) rather
 * than matrix-product calls: heads are narrow (HS = C / NH is 4 to 32 in the usual sizes) and
 * sequences short, so a cblas_sgemm call per head spends most of its time packing and
 * dispatching. Every loop runs over the visible keys only (j <= i under the causal mask), and
 * its innermost loop runs along a contiguous row, so that it vectorises:
 *
 *   scores   S[i, j]  = Σ_c Q[i, c] Kᵀ[c, j]       along j, with Kᵀ gathered per head
 *   values   O[i, :]  = Σ_j W[i, j] V[j, :]        along the head's channels
 *   backward dW[i, j] = Σ_c dO[i, c] Vᵀ[c, j]      along j, with Vᵀ gathered per head
 *            dQ[i, :] = Σ_j dS[i, j] K[j, :]       along the channels
 *            dK[j, :] += dS[i, j] Q[i, :], dV[j, :] += W[i, j] dO[i, :]
 *
 * Sums over c and over j run in ascending order, in float (as a matrix product would). */
#include "satprobe/layers.h"
#include "satprobe/error.h"
#include "vecmath.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

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

/* Rows are processed in a scratch copy whose length is rounded up to whole lanes, so that the
 * vector loops over a row (mostly 10 to 100 keys) never fall into scalar tails: keys are
 * gathered into kt / vt with rows of round_up(n) entries, zero past n. */
static size_t round_up(size_t n) { return (n + SP_LANES - 1) / SP_LANES * SP_LANES; }

size_t sp_attention_work_len(size_t T, size_t C, size_t NH)
{
    return (C / NH + 2) * round_up(T);
}

/* Softmax of raw dot products buf[0..vis) in place, over v8 = round_up(vis) entries (those past
 * vis come out 0); lambda is the true score per raw unit. Eight entries at a time; the
 * normaliser is summed in float, in lanes j mod 8, then across the lanes. */
static void softmax_row(float *buf, size_t vis, size_t v8, double lambda)
{
    for (size_t j = vis; j < v8; j++) buf[j] = -INFINITY;
    v8sf m = load8(buf);
    for (size_t j = 8; j < v8; j += 8) {
        v8sf x = load8(buf + j);
        m = select8(x > m, x, m);
    }
    float mx = m[0];
    for (int l = 1; l < 8; l++) mx = m[l] > mx ? m[l] : mx;
    /* The argument lambda (s_j - max) in float: the difference of two floats is exact or
     * rounded relative to itself, so the argument carries a relative error of about 2^-23
     * and the weight e^x one of 2^-23 |x|, which matters only where e^x is far below the
     * row's largest weight, 1. A lambda beyond float range (scores rescaled by more than
     * 2^60 in a scaled:C pass) takes the product in double. */
    if (lambda < 0x1p60) {
        float lf = (float)lambda;
        for (size_t j = 0; j < v8; j += 8) store8(buf + j, (load8(buf + j) - mx) * lf);
    } else
        for (size_t j = 0; j < v8; j++) buf[j] = (float)(lambda * ((double)buf[j] - (double)mx));
    v8sf s = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t j = 0; j < v8; j += 8) {
        v8sf e = sp_exp8_nonpos(load8(buf + j));
        store8(buf + j, e);
        s += e;
    }
    float inv = 1.0f / sum8(s);
    for (size_t j = 0; j < v8; j += 8) store8(buf + j, load8(buf + j) * inv);
}

/* Weights of the max rules over row[0..n): 1/|M| (or 1 on the leftmost of M) on M = {j :
 * lambda (s_j - max) >= -tau}, 0 elsewhere. */
static void max_row(float *row, size_t n, double lambda, sp_attn_rule rule, double tau)
{
    float mx = sp_max_f32(row, n);
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

/* xt[c, j] (row stride n8) = x[j, c] (row stride C) for j < n, 0 for n <= j < n8: one head's keys
 * or values, transposed so that a query's scores (or a row's weight gradients) run along j. */
static void gather_transposed(float *xt, const float *x, size_t n, size_t n8, size_t C, size_t HS)
{
    for (size_t j = 0; j < n; j++)
        for (size_t c = 0; c < HS; c++) xt[c * n8 + j] = x[j * C + c];
    for (size_t c = 0; c < HS; c++)
        for (size_t j = n; j < n8; j++) xt[c * n8 + j] = 0.0f;
}

/* The inner kernels take HS as an argument, and are inlined into switches on HS (BY_HEAD_SIZE)
 * so that for the usual head sizes it is a constant: the loops over a head's channels then
 * unroll into whole vector registers. */
#define SP_INLINE static inline __attribute__((always_inline))

/* row[j] = Σ_c a[c] bt[c, j] for j < v8 (a multiple of 8), bt with row stride n8: eight keys at
 * a time, summed over c in one vector */
SP_INLINE void row_times(float *restrict row, const float *restrict a, const float *restrict bt,
                         size_t v8, size_t n8, size_t HS)
{
    for (size_t j = 0; j < v8; j += 8) {
        v8sf acc = {0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t c = 0; c < HS; c++) acc += a[c] * load8(bt + c * n8 + j);
        store8(row + j, acc);
    }
}

/* out[c] = s · Σ_j w[j] x[j, c] (x with row stride C), added into out or written over it. A
 * head's channels four at a time in registers (HS / 4 of them, up to 16; wider heads go in
 * chunks), plus a scalar loop for the HS % 4 left over. */
SP_INLINE void weighted_rows(float *restrict out, const float *restrict w, const float *restrict x,
                             size_t vis, size_t C, size_t HS, float s, sp_grad_write mode)
{
    enum { MAXV = 16 };
    size_t H4 = HS / 4 * 4;
    for (size_t c0 = 0; c0 < H4; c0 += 4 * MAXV) {
        size_t nv = (H4 - c0) / 4 < MAXV ? (H4 - c0) / 4 : MAXV;
        v4sf acc[MAXV];
#pragma GCC unroll 16
        for (size_t u = 0; u < MAXV; u++)
            if (u < nv) acc[u] = (v4sf){0, 0, 0, 0};
        for (size_t j = 0; j < vis; j++) {
            const float *xj = x + j * C + c0;
            float wj = w[j];
#pragma GCC unroll 16
            for (size_t u = 0; u < MAXV; u++)
                if (u < nv) acc[u] += wj * load4(xj + 4 * u);
        }
#pragma GCC unroll 16
        for (size_t u = 0; u < MAXV; u++)
            if (u < nv) {
                float *o = out + c0 + 4 * u;
                store4(o, mode == SP_GRAD_SET ? s * acc[u] : load4(o) + s * acc[u]);
            }
    }
    for (size_t c = H4; c < HS; c++) {
        float acc = 0;
        for (size_t j = 0; j < vis; j++) acc += w[j] * x[j * C + c];
        out[c] = mode == SP_GRAD_SET ? s * acc : out[c] + s * acc;
    }
}

/* x[j, :] += (w[j] s) · y for j < vis (x with row stride C, y a head's HS channels) */
SP_INLINE void spread_row(float *restrict x, const float *restrict w, const float *restrict y,
                          size_t vis, size_t C, size_t HS, float s)
{
    size_t H4 = HS / 4 * 4;
    for (size_t j = 0; j < vis; j++) {
        float wj = w[j] * s;
        float *xj = x + j * C;
        for (size_t c = 0; c < H4; c += 4) store4(xj + c, load4(xj + c) + wj * load4(y + c));
        for (size_t c = H4; c < HS; c++) xj[c] += wj * y[c];
    }
}

/* One head of one sequence: att rows ab [n, T] and out rows ob [n, HS] (stride C) from q and v
 * rows (stride C) and kt [HS, n8]; buf [round_up(n)] is scratch. */
SP_INLINE void head_forward(size_t HS, float *ab, float *ob, float *buf, const float *qb,
                            const float *kt, const float *vb, size_t n, size_t T, size_t C,
                            bool causal, double lambda, sp_attn_rule rule, double tau)
{
    size_t n8 = round_up(n);
    for (size_t i = 0; i < n; i++) {
        size_t vis = causal ? i + 1 : n, v8 = round_up(vis);
        row_times(buf, qb + i * C, kt, v8, n8, HS);
        if (rule == SP_RULE_SOFTMAX) softmax_row(buf, vis, v8, lambda);
        else max_row(buf, vis, lambda, rule, tau);
        float *row = ab + i * T;
        memcpy(row, buf, vis * sizeof *row);
        memset(row + vis, 0, (T - vis) * sizeof *row);
        weighted_rows(ob + i * C, buf, vb, vis, C, HS, 1.0f, SP_GRAD_SET);
    }
}

/* One head of one sequence, backward: dq (+)= and dk, dv += (rows of stride C) from the head's
 * weights ab [n, T], dout, q and k rows (stride C) and vt [HS, n8]; buf and wbuf
 * [round_up(n)] are scratch. */
SP_INLINE void head_backward(size_t HS, float *dq, float *dk, float *dv, float *buf, float *wbuf,
                             const float *vt, const float *ab, const float *dout, const float *q,
                             const float *k, size_t n, size_t T, size_t C, bool causal, float aq,
                             float ak, sp_grad_write mode)
{
    size_t n8 = round_up(n);
    for (size_t i = 0; i < n; i++) {
        const float *g = dout + i * C, *qi = q + i * C;
        size_t vis = causal ? i + 1 : n, v8 = round_up(vis);
        memcpy(wbuf, ab + i * T, vis * sizeof *wbuf);
        for (size_t j = vis; j < v8; j++) wbuf[j] = 0.0f;
        /* dW[i, :] = dO[i] · Vᵀ, then through the softmax of the row: ds_j = w_j (dw_j -
         * Σ_j' w_j' dw_j'); keys that are not visible have w = 0 and get ds = 0 */
        row_times(buf, g, vt, v8, n8, HS);
        v8sf d = {0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t j = 0; j < v8; j += 8) d += load8(wbuf + j) * load8(buf + j);
        float dot = sum8(d);
        for (size_t j = 0; j < v8; j += 8) store8(buf + j, load8(wbuf + j) * (load8(buf + j) - dot));
        /* dQ[i] (+)= aq Σ_j ds_j K[j];  dV[j] += w_j dO[i];  dK[j] += ak ds_j Q[i] */
        weighted_rows(dq + i * C, buf, k, vis, C, HS, aq, mode);
        spread_row(dv, wbuf, g, vis, C, HS, 1.0f);
        spread_row(dk, buf, qi, vis, C, HS, ak);
    }
}

/* f(HS, ...) with HS a constant for the common head sizes */
#define BY_HEAD_SIZE(HS, f, ...)                                                                  \
    do {                                                                                          \
        switch (HS) {                                                                             \
        case 1: f(1, __VA_ARGS__); break;                                                         \
        case 2: f(2, __VA_ARGS__); break;                                                         \
        case 4: f(4, __VA_ARGS__); break;                                                         \
        case 8: f(8, __VA_ARGS__); break;                                                         \
        case 16: f(16, __VA_ARGS__); break;                                                       \
        case 32: f(32, __VA_ARGS__); break;                                                       \
        case 64: f(64, __VA_ARGS__); break;                                                       \
        default: f(HS, __VA_ARGS__); break;                                                       \
        }                                                                                         \
    } while (0)

void sp_attention_forward(float *out, float *att, int shift[2], float *work, float *q, float *k,
                          const float *v, const size_t *lens, size_t B, size_t T, size_t C,
                          size_t NH, bool causal, sp_attn_rule rule, double tau)
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
    size_t T8 = round_up(T);
    float *kt = work, *buf = work + HS * T8; /* kt [HS, round_up(n)], buf [T8] */
    for (size_t b = 0; b < B; b++) {
        size_t n = lens[b];
        memset(out + (b * T + n) * C, 0, (T - n) * C * sizeof *out);
        for (size_t h = 0; h < NH; h++) {
            const float *qb = q + b * T * C + h * HS;
            const float *vb = v + b * T * C + h * HS;
            float *ob = out + b * T * C + h * HS;
            float *ab = att + (b * NH + h) * T * T;
            gather_transposed(kt, k + b * T * C + h * HS, n, round_up(n), C, HS);
            BY_HEAD_SIZE(HS, head_forward, ab, ob, buf, qb, kt, vb, n, T, C, causal, lambda, rule, tau);
            memset(ab + n * T, 0, (T - n) * T * sizeof *ab);
        }
    }
}

void sp_attention_backward(float *dq, float *dk, float *dv, float *work, const float *dout,
                           const float *att, const int shift[2], const float *q, const float *k,
                           const float *v, const size_t *lens, size_t B, size_t T, size_t C,
                           size_t NH, bool causal, sp_grad_write mode)
{
    SP_ASSERT(C % NH == 0);
    size_t HS = C / NH;
    /* s = q·k / sqrt(HS) with the saved q = q₀ 2^-eq, k = k₀ 2^-ek: ds/dq₀ = k₀ / sqrt(HS)
     * = k 2^ek / sqrt(HS), and likewise for k₀ (powers of two, so exact) */
    double inv = 1.0 / sqrt((double)HS);
    float aq = (float)ldexp(inv, shift[1]), ak = (float)ldexp(inv, shift[0]);
    size_t T8 = round_up(T);
    /* vt [HS, round_up(n)]; buf [T8] one query's weight gradients; wbuf [T8] its weights */
    float *vt = work, *buf = work + HS * T8, *wbuf = buf + T8;
    for (size_t b = 0; b < B; b++) {
        size_t n = lens[b];
        if (mode == SP_GRAD_SET) {
            /* dq is written whole below; dk and dv collect sums over the queries */
            memset(dk + b * T * C, 0, n * C * sizeof *dk);
            memset(dv + b * T * C, 0, n * C * sizeof *dv);
            size_t pad = (T - n) * C * sizeof(float);
            memset(dq + (b * T + n) * C, 0, pad);
            memset(dk + (b * T + n) * C, 0, pad);
            memset(dv + (b * T + n) * C, 0, pad);
        }
        for (size_t h = 0; h < NH; h++) {
            size_t off = b * T * C + h * HS;
            const float *ab = att + (b * NH + h) * T * T;
            gather_transposed(vt, v + off, n, round_up(n), C, HS);
            BY_HEAD_SIZE(HS, head_backward, dq + off, dk + off, dv + off, buf, wbuf, vt, ab, dout + off,
                         q + off, k + off, n, T, C, causal, aq, ak, mode);
        }
    }
}
