/* Multi-head attention, forward and backward, with direct loops per (sequence, head) rather
 * than matrix-product calls: heads are narrow (HS = C / NH is 4 to 32 in the usual sizes) and
 * sequences short, so a cblas_sgemm call per head spends most of its time packing and
 * dispatching. Every loop runs over the visible keys only (j <= i under the causal mask), with
 * its innermost loop along a contiguous row so that it vectorises, and every sum in registers:
 *
 *   scores   S[i, j]  = Σ_c Q[i, c] Kᵀ[c, j]     along j (8 keys a vector), Kᵀ gathered per head
 *   values   O[i, :]  = Σ_j W[i, j] V[j, :]      along the head's channels
 *   backward dW[i, j] = Σ_c dO[i, c] Vᵀ[c, j]    along j, Vᵀ gathered per head
 *            dQ[i, :] = Σ_j dS[i, j] K[j, :]     along the channels
 *            dK[j, :] = Σ_i dS[i, j] Q[i, :]     along the channels, down column j of dS
 *            dV[j, :] = Σ_i W[i, j] dO[i, :]     along the channels, down column j of W
 *
 * Sums are in float, split over a few partial sums (by c mod 4, or j mod U) that are added in a
 * fixed order: the results do not depend on the vector width the build targets. */
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
    return (C / NH + 1 + T) * round_up(T);
}

/* Softmax of the raw dot products in the rows of S [n, n8], row i over its first vis(i) entries
 * (i + 1 under the causal mask, else n), in place; entries past vis(i) come out 0 up to
 * round_up(vis(i)). lambda is the true score per raw unit. Eight entries at a time; each
 * normaliser is summed in float, in lanes j mod 8, then across the lanes. The work goes phase
 * by phase over all rows (maxima, exponentials, scaling) rather than row by row: a short row's
 * chain of dependent operations would otherwise leave the processor waiting. rinv [n] is
 * scratch. */
static void softmax_rows(float *S, float *rinv, size_t n, size_t n8, bool causal, double lambda)
{
    for (size_t i = 0; i < n; i++) {
        float *row = S + i * n8;
        size_t vis = causal ? i + 1 : n, v8 = round_up(vis);
        for (size_t j = vis; j < v8; j++) row[j] = -INFINITY;
        v8sf m = load8(row);
        for (size_t j = 8; j < v8; j += 8) {
            v8sf x = load8(row + j);
            m = select8(x > m, x, m);
        }
        float mx = m[0];
        for (int l = 1; l < 8; l++) mx = m[l] > mx ? m[l] : mx;
        /* The argument lambda (s_j - max) in float: the difference of two floats is exact or
         * rounded relative to itself, so the argument carries a relative error of about
         * 2^-23 and the weight e^x one of 2^-23 |x|, which matters only where e^x is far
         * below the row's largest weight, 1. A lambda beyond float range (scores rescaled by
         * more than 2^60 in a scaled:C pass) takes the product in double. */
        if (lambda < 0x1p60) {
            float lf = (float)lambda;
            for (size_t j = 0; j < v8; j += 8) store8(row + j, (load8(row + j) - mx) * lf);
        } else
            for (size_t j = 0; j < v8; j++) row[j] = (float)(lambda * ((double)row[j] - (double)mx));
    }
    for (size_t i = 0; i < n; i++) {
        float *row = S + i * n8;
        size_t v8 = round_up(causal ? i + 1 : n);
        v8sf sum = {0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t j = 0; j < v8; j += 8) {
            v8sf e = sp_exp8_nonpos(load8(row + j));
            store8(row + j, e);
            sum += e;
        }
        rinv[i] = 1.0f / sum8(sum);
    }
    for (size_t i = 0; i < n; i++) {
        float *row = S + i * n8, inv = rinv[i];
        size_t v8 = round_up(causal ? i + 1 : n);
        for (size_t j = 0; j < v8; j += 8) store8(row + j, load8(row + j) * inv);
    }
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
 * a time, the sum over c in four vectors (c mod 4) added at the end, so that the additions do
 * not wait on each other */
SP_INLINE void row_times(float *restrict row, const float *restrict a, const float *restrict bt,
                         size_t v8, size_t n8, size_t HS)
{
    size_t H4 = HS / 4 * 4;
    for (size_t j = 0; j < v8; j += 8) {
        const float *b = bt + j;
        v8sf s0 = {0, 0, 0, 0, 0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0;
        size_t c = 0;
        for (; c < H4; c += 4) {
            s0 += a[c] * load8(b + c * n8);
            s1 += a[c + 1] * load8(b + (c + 1) * n8);
            s2 += a[c + 2] * load8(b + (c + 2) * n8);
            s3 += a[c + 3] * load8(b + (c + 3) * n8);
        }
        for (; c < HS; c++) s0 += a[c] * load8(b + c * n8);
        store8(row + j, (s0 + s1) + (s2 + s3));
    }
}

/* out[c] = s · Σ_j w[j ws] x[j, c] (x with row stride C), added into out or written over it.
 * A head's channels L at a time (L = 8 when HS is a multiple of 8, else 4) in NV vector
 * registers (up to 8; wider heads go in chunks), plus a scalar loop for the HS % 4 left over.
 * With fewer than 8 channel vectors the keys are split U ways (j mod U, U NV <= 8 or U = 4)
 * so that enough independent sums are in flight. One body, written once for each vector
 * width. */
#define WEIGHTED_ROWS(name, vec, L, load, store)                                                    \
    SP_INLINE size_t name(float *restrict out, const float *restrict w, size_t ws,                  \
                          const float *restrict x, size_t vis, size_t C, size_t HS, float s,        \
                          sp_grad_write mode)                                                       \
    {                                                                                               \
        enum { MAXV = 8 };                                                                          \
        size_t HL = HS / L * L;                                                                     \
        for (size_t c0 = 0; c0 < HL; c0 += L * MAXV) {                                              \
            size_t nv = (HL - c0) / L < MAXV ? (HL - c0) / L : MAXV;                                \
            size_t U = nv >= 8 ? 1 : nv >= 4 ? 2 : 4;                                               \
            vec acc[4][MAXV];                                                                       \
            _Pragma("GCC unroll 4") for (size_t t = 0; t < 4; t++)                                  \
                _Pragma("GCC unroll 8") for (size_t u = 0; u < MAXV; u++) acc[t][u] = (vec){0};     \
            size_t j = 0;                                                                           \
            for (; j + U <= vis; j += U)                                                            \
                _Pragma("GCC unroll 4") for (size_t t = 0; t < 4; t++) if (t < U)                   \
                {                                                                                   \
                    const float *xj = x + (j + t) * C + c0;                                         \
                    float wj = w[(j + t) * ws];                                                     \
                    _Pragma("GCC unroll 8") for (size_t u = 0; u < MAXV; u++)                       \
                        if (u < nv) acc[t][u] += wj * load(xj + L * u);                             \
                }                                                                                   \
            for (; j < vis; j++) {                                                                  \
                const float *xj = x + j * C + c0;                                                   \
                float wj = w[j * ws];                                                               \
                _Pragma("GCC unroll 8") for (size_t u = 0; u < MAXV; u++)                           \
                    if (u < nv) acc[0][u] += wj * load(xj + L * u);                                 \
            }                                                                                       \
            _Pragma("GCC unroll 8") for (size_t u = 0; u < MAXV; u++) if (u < nv)                   \
            {                                                                                       \
                vec sum = acc[0][u];                                                                \
                if (U > 1) sum += acc[1][u];                                                        \
                if (U > 2) sum = (sum + acc[2][u]) + acc[3][u];                                     \
                float *o = out + c0 + L * u;                                                        \
                store(o, mode == SP_GRAD_SET ? s * sum : load(o) + s * sum);                        \
            }                                                                                       \
        }                                                                                           \
        return HL;                                                                                  \
    }

WEIGHTED_ROWS(weighted_rows8, v8sf, 8, load8, store8)
WEIGHTED_ROWS(weighted_rows4, v4sf, 4, load4, store4)

SP_INLINE void weighted_rows(float *restrict out, const float *restrict w, size_t ws,
                             const float *restrict x, size_t vis, size_t C, size_t HS, float s,
                             sp_grad_write mode)
{
    size_t done = HS % 8 == 0 ? weighted_rows8(out, w, ws, x, vis, C, HS, s, mode)
                              : weighted_rows4(out, w, ws, x, vis, C, HS, s, mode);
    for (size_t c = done; c < HS; c++) {
        float acc = 0;
        for (size_t j = 0; j < vis; j++) acc += w[j * ws] * x[j * C + c];
        out[c] = mode == SP_GRAD_SET ? s * acc : out[c] + s * acc;
    }
}

/* One head of one sequence: att rows ab [n, T] and out rows ob [n, HS] (stride C) from q and v
 * rows (stride C) and kt [HS, n8]; S [n, n8] and rinv [n] are scratch. */
SP_INLINE void head_forward(size_t HS, float *ab, float *ob, float *S, float *rinv, const float *qb,
                            const float *kt, const float *vb, size_t n, size_t T, size_t C,
                            bool causal, double lambda, sp_attn_rule rule, double tau)
{
    size_t n8 = round_up(n);
    for (size_t i = 0; i < n; i++)
        row_times(S + i * n8, qb + i * C, kt, round_up(causal ? i + 1 : n), n8, HS);
    if (rule == SP_RULE_SOFTMAX) softmax_rows(S, rinv, n, n8, causal, lambda);
    else
        for (size_t i = 0; i < n; i++) max_row(S + i * n8, causal ? i + 1 : n, lambda, rule, tau);
    for (size_t i = 0; i < n; i++) {
        size_t vis = causal ? i + 1 : n;
        float *row = ab + i * T;
        memcpy(row, S + i * n8, vis * sizeof *row);
        memset(row + vis, 0, (T - vis) * sizeof *row);
        weighted_rows(ob + i * C, S + i * n8, 1, vb, vis, C, HS, 1.0f, SP_GRAD_SET);
    }
}

/* One head of one sequence, backward: dq (+)=, dk (+)= and dv (+)= (rows of stride C) from the
 * head's weights ab [n, T], dout, q and k rows (stride C) and vt [HS, n8]; wbuf [n8] and
 * ds [n, n8] are scratch. Rows of dq from rows of ds; rows of dk and dv from columns of ds
 * and of the weights (the queries that see key j), each a sum in registers. */
SP_INLINE void head_backward(size_t HS, float *dq, float *dk, float *dv, float *ds, float *wbuf,
                             const float *vt, const float *ab, const float *dout, const float *q,
                             const float *k, size_t n, size_t T, size_t C, bool causal, float aq,
                             float ak, sp_grad_write mode)
{
    size_t n8 = round_up(n);
    for (size_t i = 0; i < n; i++) {
        size_t vis = causal ? i + 1 : n, v8 = round_up(vis);
        float *row = ds + i * n8;
        memcpy(wbuf, ab + i * T, vis * sizeof *wbuf);
        for (size_t j = vis; j < v8; j++) wbuf[j] = 0.0f;
        /* dW[i, :] = dO[i] · Vᵀ, then through the softmax of the row: ds_j = w_j (dw_j -
         * Σ_j' w_j' dw_j'); keys that are not visible have w = 0 and get ds = 0 */
        row_times(row, dout + i * C, vt, v8, n8, HS);
        v8sf d = {0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t j = 0; j < v8; j += 8) d += load8(wbuf + j) * load8(row + j);
        float dot = sum8(d);
        for (size_t j = 0; j < v8; j += 8) store8(row + j, load8(wbuf + j) * (load8(row + j) - dot));
        /* dQ[i] (+)= aq Σ_j ds[i, j] K[j] */
        weighted_rows(dq + i * C, row, 1, k, vis, C, HS, aq, mode);
    }
    for (size_t j = 0; j < n; j++) {
        size_t i0 = causal ? j : 0;
        /* dV[j] (+)= Σ_i W[i, j] dO[i];  dK[j] (+)= ak Σ_i ds[i, j] Q[i] */
        weighted_rows(dv + j * C, ab + i0 * T + j, T, dout + i0 * C, n - i0, C, HS, 1.0f, mode);
        weighted_rows(dk + j * C, ds + i0 * n8 + j, n8, q + i0 * C, n - i0, C, HS, ak, mode);
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
    /* kt [HS, round_up(n)]; rinv [T8]; S [n, round_up(n)] */
    float *kt = work, *rinv = work + HS * T8, *S = rinv + T8;
    for (size_t b = 0; b < B; b++) {
        size_t n = lens[b];
        memset(out + (b * T + n) * C, 0, (T - n) * C * sizeof *out);
        for (size_t h = 0; h < NH; h++) {
            const float *qb = q + b * T * C + h * HS;
            const float *vb = v + b * T * C + h * HS;
            float *ob = out + b * T * C + h * HS;
            float *ab = att + (b * NH + h) * T * T;
            gather_transposed(kt, k + b * T * C + h * HS, n, round_up(n), C, HS);
            BY_HEAD_SIZE(HS, head_forward, ab, ob, S, rinv, qb, kt, vb, n, T, C, causal, lambda, rule, tau);
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
    /* vt [HS, round_up(n)]; wbuf [T8] one query's weights; ds [n, round_up(n)] */
    float *vt = work, *wbuf = work + HS * T8, *ds = wbuf + T8;
    for (size_t b = 0; b < B; b++) {
        size_t n = lens[b];
        if (mode == SP_GRAD_SET) {
            size_t pad = (T - n) * C * sizeof(float);
            memset(dq + (b * T + n) * C, 0, pad);
            memset(dk + (b * T + n) * C, 0, pad);
            memset(dv + (b * T + n) * C, 0, pad);
        }
        for (size_t h = 0; h < NH; h++) {
            size_t off = b * T * C + h * HS;
            const float *ab = att + (b * NH + h) * T * T;
            gather_transposed(vt, v + off, n, round_up(n), C, HS);
            BY_HEAD_SIZE(HS, head_backward, dq + off, dk + off, dv + off, ds, wbuf, vt, ab, dout + off,
                         q + off, k + off, n, T, C, causal, aq, ak, mode);
        }
    }
}
