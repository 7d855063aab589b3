/* Multi-head attention, forward and backward, in direct loops rather than matrix-product calls:
 * heads are narrow (HS = C / NH is 4 to 32 in the usual sizes) and sequences short, so a
 * cblas_sgemm call per head spends most of its time packing and dispatching.
 *
 * Queries go QL at a time, one to a vector lane (QL = SP_QL, 16 where the build targets AVX-512,
 * else 8): block bi holds queries QL bi .. QL bi + QL - 1, and every quantity of a query (its
 * score for key j, its weight, its output channel c) is one lane of a vector, so nothing needs a
 * sum across lanes until the keys' gradients. Per block, over the keys it sees (j < QL (bi + 1)
 * under the causal mask, else j < n), one key at a time:
 *
 *   scores   S[j, :]  = Σ_c K[j, c] Qᵀ[c, :]     (K[j, c] broadcast; sum over c mod 4)
 *   weights  W[j, :]  = softmax over j, lane by lane, or the max rules
 *   values   Oᵀ[c, :] = Σ_j V[j, c] W[j, :]      (in key order)
 *   backward dW[j, :] = Σ_c V[j, c] dOᵀ[c, :]    (sum over c mod 4)
 *            dS[j, :] = W[j, :] (dW[j, :] - Σ_j' W[j', :] dW[j', :])
 *            dQᵀ[c, :] = Σ_j K[j, c] dS[j, :]    (in key order)
 *   and per key, over the queries that see it:
 *            dK[j, c] = Σ_i dS[i, j] Q[i, c]    (eight partial sums, i mod 8, each in query
 *            dV[j, c] = Σ_i W[i, j] dO[i, c]     order, then added in a fixed tree)
 *
 * Queries and output gradients go into lanes, and outputs and query gradients back into rows,
 * QL channels at a time through an in-register transpose. While a block computes, the next
 * block's rows of weights are prefetched: at length 128 and beyond the weights (a T x T block
 * per sequence and head) no longer fit in the caches between the forward and the backward.
 *
 * The weights stay in this layout (sp_attention_row reads a row of them). Sums are in float, in
 * the fixed orders above, none of which depends on QL: the results do not depend on the vector
 * width the build targets. (Blocks also pass over keys a query does not see, with weight 0,
 * and a sum that is exactly zero may come out as +0 with one width and -0 with another.) */
#include "satprobe/layers.h"
#include "satprobe/error.h"
#include "satprobe/pool.h"
#include "vecmath.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Largest |x| over the first lens[b] rows of each sequence. On the bits of |x| (non-negative
 * floats order as their bit patterns), eight integers at a time. */
static float max_abs(const float *x, const size_t *lens, size_t B, size_t T, size_t C)
{
    const v8si none = {0}, magnitude = none + 0x7fffffff;
    v8si m8 = none;
    uint32_t m = 0;
    for (size_t b = 0; b < B; b++) {
        const float *xb = x + b * T * C;
        size_t n = lens[b] * C, i = 0;
        for (; i + 8 <= n; i += 8) {
            v8si u;
            memcpy(&u, xb + i, sizeof u);
            u &= magnitude;
            v8si more = u > m8;
            m8 = (more & u) | (~more & m8);
        }
        for (; i < n; i++) {
            uint32_t u;
            memcpy(&u, &xb[i], sizeof u);
            u &= 0x7fffffffu;
            m = u > m ? u : m;
        }
    }
    for (int l = 0; l < 8; l++) m = (uint32_t)m8[l] > m ? (uint32_t)m8[l] : m;
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

enum { QL = SP_QL }; /* queries per block */

static size_t round_up(size_t n) { return (n + QL - 1) / QL * QL; }

/* One (sequence, head)'s weights: round_up(T) / QL blocks of T keys of QL lanes. */
static size_t head_len(size_t T) { return round_up(T) * T; }

size_t sp_attention_len(size_t B, size_t T, size_t NH) { return B * NH * head_len(T); }

/* the keys block bi of a sequence of n positions sees: 0 .. keys - 1 */
static size_t block_keys(size_t bi, size_t n, bool causal)
{
    size_t end = (bi + 1) * QL;
    return causal && end < n ? end : n;
}

void sp_attention_row(float *row, const float *att, size_t T, size_t NH, size_t n, bool causal, size_t b,
                      size_t h, size_t i)
{
    const float *blk = att + (b * NH + h) * head_len(T) + i / QL * QL * T;
    size_t vis = i >= n ? 0 : causal ? i + 1 : n;
    for (size_t j = 0; j < T; j++) row[j] = j < vis ? blk[j * QL + i % QL] : 0.0f;
}

/* The kernels take the head size HS and the number of heads HG they do at once as arguments, and
 * are inlined into a switch (BY_SHAPE) that makes both constants for the usual shapes: the loops
 * over channels and heads then unroll and their sums stay in registers. Narrow heads go several
 * at a time (HG HS up to QL channels), so that enough independent sums are in flight; each head's
 * arithmetic is the same whatever HG is. */
#define SP_INLINE static inline __attribute__((always_inline))
#define UNROLL8 _Pragma("GCC unroll 8")
#define UNROLL16 _Pragma("GCC unroll 16")

enum { MAXG = 8 }; /* heads at once, at most */

/* HG for heads of HS channels, NH of them: the most of 8, 4, 2 that divides NH with HG HS <= QL,
 * for the head sizes BY_SHAPE has constants for; else 1 */
static size_t group_of(size_t HS, size_t NH)
{
    if (HS != 1 && HS != 2 && HS != 4 && HS != 8) return 1;
    for (size_t g = MAXG; g > 1; g /= 2)
        if (NH % g == 0 && g * HS <= QL) return g;
    return 1;
}

/* the scratch of one thread (sp_pool_for passes its index as `part`): qt, dot, ds and live of
 * the backward */
static size_t part_work_len(size_t T, size_t C, size_t NH)
{
    size_t HS = C / NH, HG = group_of(HS, NH);
    return 2 * HG * HS * round_up(T) + HG * head_len(T) + round_up(T) / QL;
}

size_t sp_attention_work_len(size_t T, size_t C, size_t NH) { return SP_POOL_MAX * part_work_len(T, C, NH); }

static const vqf ZEROQ = {0};

/* Transposes x in registers, as a QL x QL matrix whose rows are the vectors: lane b of x[a]
 * becomes lane a of x[b]. Rounds for bit values QL / 2 .. 1; in round b, rows i and i + b (bit b
 * of i clear) exchange the lanes whose index has bit b set in the first and clear in the second,
 * which swaps that bit of the row and the lane index wherever the two differ. */
#define T_LO(b, j) (((j) & (b)) ? SP_QL + (j) - (b) : (j))
#define T_HI(b, j) (((j) & (b)) ? SP_QL + (j) : (j) + (b))
#if SP_QL == 16
#define T_IDX(M, b)                                                                               \
    M(b, 0), M(b, 1), M(b, 2), M(b, 3), M(b, 4), M(b, 5), M(b, 6), M(b, 7), M(b, 8), M(b, 9),    \
        M(b, 10), M(b, 11), M(b, 12), M(b, 13), M(b, 14), M(b, 15)
#else
#define T_IDX(M, b) M(b, 0), M(b, 1), M(b, 2), M(b, 3), M(b, 4), M(b, 5), M(b, 6), M(b, 7)
#endif
#define T_ROUND(x, b)                                                                             \
    UNROLL16 for (size_t i = 0; i < QL; i++) if (!(i & (b)))                                      \
    {                                                                                             \
        vqf lo = __builtin_shufflevector(x[i], x[i + (b)], T_IDX(T_LO, b));                       \
        vqf hi = __builtin_shufflevector(x[i], x[i + (b)], T_IDX(T_HI, b));                       \
        x[i] = lo, x[i + (b)] = hi;                                                               \
    }
SP_INLINE void transpose_q(vqf x[QL])
{
#if SP_QL == 16
    T_ROUND(x, 8);
#endif
    T_ROUND(x, 4);
    T_ROUND(x, 2);
    T_ROUND(x, 1);
}
#undef T_ROUND
#undef T_IDX
#undef T_HI
#undef T_LO

/* xt[bi, c, l] = x[(QL bi + l) C + c] for c < W, QL bi + l < n, else 0: W channels of rows of
 * stride C, a query to a lane; QL channels at a time through transpose_q, the rest one by one */
SP_INLINE void gather_lanes(float *restrict xt, const float *restrict x, size_t n, size_t C, size_t W)
{
    size_t nb = (n + QL - 1) / QL;
    for (size_t bi = 0; bi < nb; bi++) {
        float *blk = xt + bi * W * QL;
        const float *xb = x + bi * QL * C;
        size_t nl = n - bi * QL < QL ? n - bi * QL : QL, c0 = 0;
        for (; c0 + QL <= W; c0 += QL) {
            vqf r[QL];
            UNROLL16 for (size_t l = 0; l < QL; l++) r[l] = l < nl ? loadq(xb + l * C + c0) : ZEROQ;
            transpose_q(r);
            UNROLL16 for (size_t c = 0; c < QL; c++) storeq(blk + (c0 + c) * QL, r[c]);
        }
        for (size_t l = 0; l < QL; l++)
            for (size_t c = c0; c < W; c++) blk[c * QL + l] = l < nl ? xb[l * C + c] : 0.0f;
    }
}

/* rows[l C + c] (+)= s acc[c][l] for c < G (at most QL) and lanes l < nl: a whole vector per row
 * through transpose_q where G = QL */
SP_INLINE void scatter_lanes(float *rows, size_t C, const vqf *acc, size_t G, size_t nl, float s,
                             sp_grad_write mode)
{
    if (G == QL) {
        vqf t[QL];
        UNROLL16 for (size_t g = 0; g < QL; g++) t[g] = acc[g];
        transpose_q(t);
        for (size_t l = 0; l < nl; l++) {
            vqf o = s * t[l];
            storeq(rows + l * C, mode == SP_GRAD_SET ? o : loadq(rows + l * C) + o);
        }
        return;
    }
    float tmp[QL][QL];
    UNROLL16 for (size_t g = 0; g < QL; g++) if (g < G) storeq(tmp[g], acc[g]);
    for (size_t l = 0; l < nl; l++)
        for (size_t g = 0; g < G; g++) {
            float *o = rows + l * C + g;
            *o = mode == SP_GRAD_SET ? s * tmp[g][l] : *o + s * tmp[g][l];
        }
}

/* out[i] = the sum of a[i]'s lanes, for eight vectors at once: ((l0 + l4) + (l2 + l6)) + ((l1 +
 * l5) + (l3 + l7)) for every one of them */
SP_INLINE v8sf hsum8x8(const v8sf a[8])
{
#define PAIRS(x, y, i0, i1, i2, i3, i4, i5, i6, i7, k0, k1, k2, k3, k4, k5, k6, k7)                    \
    (__builtin_shufflevector(x, y, i0, i1, i2, i3, i4, i5, i6, i7) +                                \
     __builtin_shufflevector(x, y, k0, k1, k2, k3, k4, k5, k6, k7))
    v8sf b0 = PAIRS(a[0], a[1], 0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15);
    v8sf b1 = PAIRS(a[2], a[3], 0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15);
    v8sf b2 = PAIRS(a[4], a[5], 0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15);
    v8sf b3 = PAIRS(a[6], a[7], 0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15);
    v8sf c0 = PAIRS(b0, b1, 0, 1, 8, 9, 4, 5, 12, 13, 2, 3, 10, 11, 6, 7, 14, 15);
    v8sf c1 = PAIRS(b2, b3, 0, 1, 8, 9, 4, 5, 12, 13, 2, 3, 10, 11, 6, 7, 14, 15);
    return PAIRS(c0, c1, 0, 4, 2, 6, 8, 12, 10, 14, 1, 5, 3, 7, 9, 13, 11, 15);
#undef PAIRS
}

static const v8sf ZERO8 = {0};

/* A vector of QL lanes as its lanes 0..7 and (where QL is 16) 8..15: the keys' gradients sum
 * over queries i in eight partial sums by i mod 8, adding a block's first half, then its second,
 * in query order whatever QL is. Each half is multiplied as an 8-lane vector, which rounds as
 * the 16-lane product would, lane by lane, and needs no lane extraction per product. */
typedef struct halves {
    v8sf lo, hi;
} halves;

static inline halves halves_of(vqf x)
{
#if SP_QL == 16
    return (halves){__builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7),
                    __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15)};
#else
    return (halves){x, ZERO8};
#endif
}

/* acc + s x over the block's queries, first half then second (x: QL floats) */
static inline v8sf add_products(v8sf acc, halves s, const float *x)
{
    acc += s.lo * load8(x);
#if SP_QL == 16
    acc += s.hi * load8(x + 8);
#endif
    return acc;
}

/* Σ_c x[c] yt[c] lane by lane over c < HS, x[c] broadcast: partial sums by c mod 4 (each
 * starting from its first product), added in pairs */
SP_INLINE vqf dot_lanes(size_t HS, const float *restrict x, const float *restrict yt)
{
    vqf p0 = x[0] * loadq(yt), p1 = ZEROQ, p2 = ZEROQ, p3 = ZEROQ;
    if (HS > 1) p1 = x[1] * loadq(yt + QL);
    if (HS > 2) p2 = x[2] * loadq(yt + 2 * QL);
    if (HS > 3) p3 = x[3] * loadq(yt + 3 * QL);
    size_t c = 4;
    for (; c + 4 <= HS; c += 4) {
        p0 += x[c] * loadq(yt + c * QL);
        p1 += x[c + 1] * loadq(yt + (c + 1) * QL);
        p2 += x[c + 2] * loadq(yt + (c + 2) * QL);
        p3 += x[c + 3] * loadq(yt + (c + 3) * QL);
    }
    if (c < HS) p0 += x[c] * loadq(yt + c * QL);
    if (c + 1 < HS) p1 += x[c + 1] * loadq(yt + (c + 1) * QL);
    if (c + 2 < HS) p2 += x[c + 2] * loadq(yt + (c + 2) * QL);
    return HS == 1 ? p0 : HS == 2 ? p0 + p1 : HS == 3 ? (p0 + p1) + p2 : (p0 + p1) + (p2 + p3);
}

static inline vqf maxq(vqf a, vqf b) { return selectq(b > a, b, a); }

/* The softmax of one lane set over j < nk, in place, left unnormalised: returns 1 / the lanes'
 * sums. For lambda beyond float range (scores rescaled by more than 2^60 in a scaled:C pass): the
 * argument lambda (s_j - max) in double. */
static vqf softmax_wide(float *blk, size_t nk, vqf m, double lambda)
{
    vqf sum = ZEROQ;
    for (size_t j = 0; j < nk; j++) {
        vqf x;
        for (int l = 0; l < QL; l++) x[l] = (float)(lambda * ((double)blk[j * QL + l] - (double)m[l]));
        vqf e = sp_expq_nonpos(x);
        storeq(blk + j * QL, e);
        sum += e;
    }
    return (ZEROQ + 1.0f) / sum;
}

/* The max rules, lane by lane over j < nk: 1/|M| (or 1 on the leftmost of M) on M = {j :
 * lambda (s_j - max) >= -tau}, 0 elsewhere. */
static void max_rule(float *blk, size_t nk, vqf m, double lambda, sp_attn_rule rule, double tau)
{
    for (size_t l = 0; l < QL; l++) {
        size_t count = 0, first = nk;
        for (size_t j = 0; j < nk; j++) {
            float *w = blk + j * QL + l;
            bool in = lambda * ((double)*w - (double)m[l]) >= -tau;
            if (in && first == nk) first = j;
            count += in;
            *w = in ? 1.0f : 0.0f;
        }
        float wv = (float)(1.0 / (double)count);
        for (size_t j = 0; j < nk; j++) {
            float *w = blk + j * QL + l;
            *w = rule == SP_RULE_LEFTMOST_MAX ? (j == first ? 1.0f : 0.0f) : *w * wv;
        }
    }
}

/* out rows (stride C, nl of them) (+)= s Σ_j x[j, c] P_g[j] for the group's HG HS channels c
 * (g = c / HS the channel's head), QL channels a pass: P_g [nk, QL] at pg + g HL, x rows of
 * stride C. In the pass over a head's first channel P_g is first rewritten in place: times
 * scale[g] (the softmax's 1 / sum) where scale is given, or w_g (P_g - shift[g]) (dS from dW,
 * w_g at wts + g HL) where shift is. */
SP_INLINE void channel_pass(size_t HS, size_t HG, float *restrict out, size_t C, size_t nl, float *restrict pg,
                            const float *restrict x, size_t nk, size_t HL, const vqf *scale, const vqf *shift,
                            const float *restrict wts, float s, sp_grad_write mode)
{
    for (size_t c0 = 0; c0 < HG * HS; c0 += QL) {
        size_t G = HG * HS - c0 < QL ? HG * HS - c0 : QL;
        vqf acc[QL];
        UNROLL16 for (size_t u = 0; u < QL; u++) acc[u] = ZEROQ;
        for (size_t j = 0; j < nk; j++) {
            vqf p[MAXG];
            UNROLL8 for (size_t g = 0; g < MAXG; g++) if (g < HG && g * HS < c0 + G && (g + 1) * HS > c0)
            {
                float *pp = pg + g * HL + j * QL;
                p[g] = loadq(pp);
                if (g * HS >= c0 && (scale || shift)) {
                    p[g] = shift ? loadq(wts + g * HL + j * QL) * (p[g] - shift[g]) : p[g] * scale[g];
                    storeq(pp, p[g]);
                }
            }
            const float *xj = x + j * C + c0;
            UNROLL16 for (size_t u = 0; u < QL; u++) if (u < G) acc[u] += xj[u] * p[(c0 + u) / HS];
        }
        scatter_lanes(out + c0, C, acc, G, nl, s, mode);
    }
}

/* One block of queries, HG heads: weights of head g into hb + g HL (already at the block), the
 * outputs (HG HS channels) into out rows (stride C, nl of them), from qt [HG HS, QL] and k, v
 * rows (stride C, at the group's first channel), over keys j < nk.
 *
 *   S[j] = Σ_c K[j, c] Qᵀ[c], -inf for the lanes of queries before j (the causal diagonal);
 *   W[j] = e^(lambda (S[j] - max)) / Σ_j e^... (the exponent formed in float: the difference of
 *   two floats is exact or rounded relative to itself, so the argument carries a relative error
 *   of about 2^-23 and the weight e^x one of 2^-23 |x|, which matters only where e^x is far
 *   below the largest weight, 1; each sum in float in key order), or the max rules;
 *   Oᵀ[c] = Σ_j V[j, c] W[j], QL channels a pass. */
SP_INLINE void block_forward(size_t HS, size_t HG, float *restrict hb, float *restrict out,
                             const float *restrict qt, const float *restrict k, const float *restrict v,
                             size_t nk, size_t i0, size_t nl, size_t HL, size_t C, bool causal,
                             double lambda, sp_attn_rule rule, double tau, const float *pf, size_t npf)
{
    static const int32_t lanes[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    vqi lane;
    memcpy(&lane, lanes, sizeof lane);
    const vqf ninf = ZEROQ - INFINITY;
    /* two running maxima per head, even and odd keys (a max has no order) */
    vqf m0[MAXG], m1[MAXG], r[MAXG];
    UNROLL8 for (size_t g = 0; g < MAXG; g++) m0[g] = m1[g] = ninf, r[g] = ZEROQ + 1.0f;
    for (size_t j = 0; j < nk; j++) {
        vqi hide = lane < (int32_t)(j - i0);
        UNROLL8 for (size_t g = 0; g < MAXG; g++) if (g < HG)
        {
            if (j < npf) __builtin_prefetch(pf + g * HL + j * QL, 1, 3);
            vqf s = dot_lanes(HS, k + j * C + g * HS, qt + g * HS * QL);
            if (causal && j > i0) s = selectq(hide, ninf, s);
            storeq(hb + g * HL + j * QL, s);
            if (j % 2) m1[g] = maxq(m1[g], s);
            else m0[g] = maxq(m0[g], s);
        }
    }
    for (size_t j = nk; j < npf; j++)
        UNROLL8 for (size_t g = 0; g < MAXG; g++) if (g < HG) __builtin_prefetch(pf + g * HL + j * QL, 1, 3);
    UNROLL8 for (size_t g = 0; g < MAXG; g++) m0[g] = maxq(m0[g], m1[g]);
    if (rule == SP_RULE_SOFTMAX && lambda < 0x1p60) {
        float lf = (float)lambda;
        vqf sum[MAXG];
        UNROLL8 for (size_t g = 0; g < MAXG; g++) sum[g] = ZEROQ;
        for (size_t j = 0; j < nk; j++)
            UNROLL8 for (size_t g = 0; g < MAXG; g++) if (g < HG)
            {
                float *w = hb + g * HL + j * QL;
                vqf e = sp_expq_nonpos((loadq(w) - m0[g]) * lf);
                storeq(w, e);
                sum[g] += e;
            }
        UNROLL8 for (size_t g = 0; g < MAXG; g++) r[g] = (ZEROQ + 1.0f) / sum[g];
    } else
        for (size_t g = 0; g < HG; g++) {
            if (rule == SP_RULE_SOFTMAX) r[g] = softmax_wide(hb + g * HL, nk, m0[g], lambda);
            else max_rule(hb + g * HL, nk, m0[g], lambda, rule, tau);
        }
    channel_pass(HS, HG, out, C, nl, hb, v, nk, HL, rule == SP_RULE_SOFTMAX ? r : NULL, NULL, NULL, 1.0f,
                 SP_GRAD_SET);
}

/* One group of HG heads of one sequence forward, from query block `first` on: weights into hb
 * [HG HL], outputs into ob (rows of stride C); qt [HG HS round_up(n)] scratch. */
SP_INLINE void group_forward(size_t HS, size_t HG, float *hb, float *ob, float *qt, const float *qb,
                             const float *kb, const float *vb, size_t n, size_t T, size_t C, bool causal,
                             double lambda, sp_attn_rule rule, double tau, size_t first)
{
    size_t W = HG * HS, HL = head_len(T);
    gather_lanes(qt + first * W * QL, qb + first * QL * C, n - first * QL, C, W);
    for (size_t bi = first; bi * QL < n; bi++) {
        size_t i0 = bi * QL, nk = block_keys(bi, n, causal), nl = n - i0 < QL ? n - i0 : QL;
        /* the next block's rows of weights are asked for while this one's scores are formed: the
         * weights outgrow the caches at longer lengths, and their first store would wait */
        size_t npf = (bi + 1) * QL < n ? block_keys(bi + 1, n, causal) : 0;
        block_forward(HS, HG, hb + i0 * T, ob + i0 * C, qt + bi * W * QL, kb, vb, nk, i0, nl, HL, C, causal,
                      lambda, rule, tau, hb + i0 * T + QL * T, npf);
    }
}

/* One block backward, HG heads: dS of head g into ds + g HL (at the block) from its weights at
 * hb + g HL, dOᵀ dot [HG HS, QL] and v rows; then the block's dq rows (+)= aq dQ.
 *
 *   dW[j] = Σ_c V[j, c] dOᵀ[c];  dS[j] = W[j] (dW[j] - Σ_j' W[j'] dW[j']) (the sum in key
 *   order);  dQᵀ[c] = Σ_j K[j, c] dS[j], QL channels a pass. */
SP_INLINE void block_backward(size_t HS, size_t HG, float *restrict dq, float *restrict ds,
                              const float *restrict hb, const float *restrict dot, const float *restrict v,
                              const float *restrict k, size_t nk, size_t HL, size_t C, size_t nl, float aq,
                              sp_grad_write mode, const float *pf, size_t npf)
{
    vqf wdw[MAXG];
    UNROLL8 for (size_t g = 0; g < MAXG; g++) wdw[g] = ZEROQ;
    for (size_t j = nk; j < npf; j++)
        UNROLL8 for (size_t g = 0; g < MAXG; g++) if (g < HG) __builtin_prefetch(pf + g * HL + j * QL, 0, 3);
    for (size_t j = 0; j < nk; j++)
        UNROLL8 for (size_t g = 0; g < MAXG; g++) if (g < HG)
        {
            if (j < npf) __builtin_prefetch(pf + g * HL + j * QL, 0, 3);
            vqf w = loadq(hb + g * HL + j * QL), dw = dot_lanes(HS, v + j * C + g * HS, dot + g * HS * QL);
            storeq(ds + g * HL + j * QL, dw);
            wdw[g] += w * dw;
        }
    channel_pass(HS, HG, dq, C, nl, ds, k, nk, HL, NULL, wdw, hb, aq, mode);
}

/* out[c] (+)= s a[c] for c < G */
SP_INLINE void put_sums(float *out, const float *a, size_t G, float s, sp_grad_write mode)
{
    UNROLL16 for (size_t g = 0; g < 16; g++) if (g < G) out[g] = mode == SP_GRAD_SET ? s * a[g] : out[g] + s * a[g];
}

/* Key j's gradients for HG heads: dk[j] (+)= ak Σ_i dS[i, j] Q[i] and dv[j] (+)= Σ_i W[i, j] dO[i]
 * over the blocks b0 .. nb - 1 that see it, from hb (weights), ds, and qt and dot (the blocks'
 * [HG HS, QL] queries and output gradients); sixteen channels a pass, their sums through
 * hsum8x8. */
SP_INLINE void key_backward(size_t HS, size_t HG, float *dk, float *dv, const float *hb, const float *ds,
                            const float *live, const float *qt, const float *dot, size_t j, size_t b0,
                            size_t nb, size_t T, size_t HL, float ak, sp_grad_write mode)
{
    size_t W = HG * HS;
    for (int which = 0; which < 2; which++) {
        const float *src = which ? hb : ds, *xt = which ? dot : qt;
        float *out = which ? dv : dk;
        for (size_t c0 = 0; c0 < W; c0 += 16) {
            size_t G = W - c0 < 16 ? W - c0 : 16;
            v8sf a[16];
            UNROLL16 for (size_t u = 0; u < 16; u++) a[u] = ZERO8;
            for (size_t bi = b0; bi < nb; bi++) {
                if (!live[bi]) continue;
                halves sv[MAXG];
                UNROLL8 for (size_t g = 0; g < MAXG; g++) if (g < HG && g * HS < c0 + G && (g + 1) * HS > c0)
                    sv[g] = halves_of(loadq(src + g * HL + bi * QL * T + j * QL));
                const float *xb = xt + (bi * W + c0) * QL;
                UNROLL16 for (size_t u = 0; u < 16; u++) if (u < G)
                    a[u] = add_products(a[u], sv[(c0 + u) / HS], xb + u * QL);
            }
            float sums[16];
            store8(sums, hsum8x8(a));
            if (G > 8) store8(sums + 8, hsum8x8(a + 8));
            put_sums(out + c0, sums, G, which ? 1.0f : ak, mode);
        }
    }
}

/* One group of HG heads of one sequence backward. qt, dot [HG HS round_up(n)], ds [HG HL] and
 * live [round_up(n) / QL] scratch. A block of queries whose output gradients are all zero (the
 * positions a loss does not read) has dS = 0: it is skipped, and adds nothing to any key. */
SP_INLINE void group_backward(size_t HS, size_t HG, float *dq, float *dk, float *dv, float *qt, float *dot,
                              float *ds, float *live, const float *hb, const float *dout, const float *q,
                              const float *k, const float *v, size_t n, size_t T, size_t C, bool causal,
                              float aq, float ak, sp_grad_write mode)
{
    size_t W = HG * HS, HL = head_len(T);
    gather_lanes(qt, q, n, C, W);
    gather_lanes(dot, dout, n, C, W);
    size_t nb = (n + QL - 1) / QL;
    for (size_t bi = 0; bi < nb; bi++) {
        size_t i0 = bi * QL, nk = block_keys(bi, n, causal), nl = n - i0 < QL ? n - i0 : QL;
        vqi nonzero = {0};
        for (size_t i = 0; i < W * QL; i += QL) nonzero |= loadq(dot + bi * W * QL + i) != ZEROQ;
        bool any = false;
        for (size_t l = 0; l < QL; l++) any |= nonzero[l] != 0;
        live[bi] = any;
        if (any) {
            /* the next block's weights, while this one's are read (as in the forward) */
            size_t npf = bi + 1 < nb ? block_keys(bi + 1, n, causal) : 0;
            block_backward(HS, HG, dq + i0 * C, ds + i0 * T, hb + i0 * T, dot + bi * W * QL, v, k, nk, HL, C,
                           nl, aq, mode, hb + i0 * T + QL * T, npf);
        }
        else if (mode == SP_GRAD_SET)
            for (size_t i = 0; i < nl; i++) memset(dq + (i0 + i) * C, 0, W * sizeof *dq);
    }
    for (size_t j = 0; j < n; j++)
        key_backward(HS, HG, dk + j * C, dv + j * C, hb, ds, live, qt, dot, j, causal ? j / QL : 0, nb, T, HL,
                     ak, mode);
}

/* f(HS, HG, ...) with HS and HG constants for the shapes group_of picks (HG > 1 only for HS 1,
 * 2, 4, 8) and the common wider heads */
#define BY_SHAPE(HS, HG, f, ...)                                                                  \
    do {                                                                                          \
        switch ((HS) * 16 + (HG)) {                                                               \
        case 1 * 16 + 1: f(1, 1, __VA_ARGS__); break;                                             \
        case 1 * 16 + 2: f(1, 2, __VA_ARGS__); break;                                             \
        case 1 * 16 + 4: f(1, 4, __VA_ARGS__); break;                                             \
        case 1 * 16 + 8: f(1, 8, __VA_ARGS__); break;                                             \
        case 2 * 16 + 1: f(2, 1, __VA_ARGS__); break;                                             \
        case 2 * 16 + 2: f(2, 2, __VA_ARGS__); break;                                             \
        case 2 * 16 + 4: f(2, 4, __VA_ARGS__); break;                                             \
        case 2 * 16 + 8: f(2, 8, __VA_ARGS__); break;                                             \
        case 4 * 16 + 1: f(4, 1, __VA_ARGS__); break;                                             \
        case 4 * 16 + 2: f(4, 2, __VA_ARGS__); break;                                             \
        case 4 * 16 + 4: f(4, 4, __VA_ARGS__); break;                                             \
        case 8 * 16 + 1: f(8, 1, __VA_ARGS__); break;                                             \
        case 8 * 16 + 2: f(8, 2, __VA_ARGS__); break;                                             \
        case 16 * 16 + 1: f(16, 1, __VA_ARGS__); break;                                           \
        case 32 * 16 + 1: f(32, 1, __VA_ARGS__); break;                                           \
        case 64 * 16 + 1: f(64, 1, __VA_ARGS__); break;                                           \
        default: SP_ASSERT((HG) == 1); f(HS, 1, __VA_ARGS__); break;                              \
        }                                                                                         \
    } while (0)

/* what a chunk of the sequences needs (sp_pool_for passes one pointer) */
typedef struct attn_job {
    float *out, *att, *work; /* att: the weights the forward writes */
    const float *weights;    /* and the backward reads */
    float *dq, *dk, *dv;
    const float *q, *k, *v, *dout;
    const size_t *lens;
    size_t T, C, NH, HS, HG, work_len;
    bool causal, last; /* last: the last block of queries only (sp_attention_forward_last) */
    sp_attn_rule rule;
    double lambda, tau;
    float aq, ak;
    sp_grad_write mode;
} attn_job;

/* sequences [b0, b1) forward */
static void forward_part(void *ctx, size_t part, size_t b0, size_t b1)
{
    const attn_job *J = ctx;
    size_t T = J->T, C = J->C, NH = J->NH, HS = J->HS, HG = J->HG;
    float *qt = J->work + part * J->work_len; /* [HG HS, round_up(n)] */
    for (size_t b = b0; b < b1; b++) {
        size_t n = J->lens[b];
        memset(J->out + (b * T + n) * C, 0, (T - n) * C * sizeof *J->out);
        size_t first = J->last && n ? (n - 1) / QL : 0;
        for (size_t h = 0; h < NH; h += HG) {
            size_t off = b * T * C + h * HS;
            float *hb = J->att + (b * NH + h) * head_len(T);
            BY_SHAPE(HS, HG, group_forward, hb, J->out + off, qt, J->q + off, J->k + off, J->v + off, n, T, C,
                     J->causal, J->lambda, J->rule, J->tau, first);
        }
    }
}

static void attention_forward(float *out, float *att, int shift[2], float *work, float *q, float *k,
                              const float *v, const size_t *lens, size_t B, size_t T, size_t C, size_t NH,
                              bool causal, sp_attn_rule rule, double tau, bool last)
{
    SP_ASSERT(C % NH == 0);
    size_t HS = C / NH, HG = group_of(HS, NH);
    int eq = shrink_exponent(max_abs(q, lens, B, T, C));
    int ek = shrink_exponent(max_abs(k, lens, B, T, C));
    if (eq) scale_rows(q, lens, B, T, C, eq);
    if (ek) scale_rows(k, lens, B, T, C, ek);
    shift[0] = eq;
    shift[1] = ek;
    attn_job J = {.out = out, .att = att, .work = work, .q = q, .k = k, .v = v, .lens = lens, .T = T, .C = C,
                  .NH = NH, .HS = HS, .HG = HG, .work_len = part_work_len(T, C, NH), .causal = causal,
                  .last = last, .rule = rule, .lambda = ldexp(1.0, eq + ek) / sqrt((double)HS), .tau = tau};
    /* sequences are independent: a chunk's outputs do not depend on the split */
    sp_pool_for(B, 1, forward_part, &J);
}

void sp_attention_forward(float *out, float *att, int shift[2], float *work, float *q, float *k,
                          const float *v, const size_t *lens, size_t B, size_t T, size_t C,
                          size_t NH, bool causal, sp_attn_rule rule, double tau)
{
    attention_forward(out, att, shift, work, q, k, v, lens, B, T, C, NH, causal, rule, tau, false);
}

void sp_attention_forward_last(float *out, float *att, int shift[2], float *work, float *q, float *k,
                               const float *v, const size_t *lens, size_t B, size_t T, size_t C,
                               size_t NH, bool causal, sp_attn_rule rule, double tau)
{
    attention_forward(out, att, shift, work, q, k, v, lens, B, T, C, NH, causal, rule, tau, true);
}

/* sequences [b0, b1) backward */
static void backward_part(void *ctx, size_t part, size_t b0, size_t b1)
{
    const attn_job *J = ctx;
    size_t T = J->T, C = J->C, NH = J->NH, HS = J->HS, HG = J->HG;
    size_t W = HG * HS, T8 = round_up(T);
    /* qt, dot [W, T8]: the group's queries and output gradients a lane each; ds [HG head_len(T)];
     * live [T8 / QL] */
    float *qt = J->work + part * J->work_len, *dot = qt + W * T8, *ds = dot + W * T8,
          *live = ds + HG * head_len(T);
    for (size_t b = b0; b < b1; b++) {
        size_t n = J->lens[b];
        if (J->mode == SP_GRAD_SET) {
            size_t pad = (T - n) * C * sizeof(float);
            memset(J->dq + (b * T + n) * C, 0, pad);
            memset(J->dk + (b * T + n) * C, 0, pad);
            memset(J->dv + (b * T + n) * C, 0, pad);
        }
        for (size_t h = 0; h < NH; h += HG) {
            size_t off = b * T * C + h * HS;
            const float *hb = J->weights + (b * NH + h) * head_len(T);
            BY_SHAPE(HS, HG, group_backward, J->dq + off, J->dk + off, J->dv + off, qt, dot, ds, live, hb,
                     J->dout + off, J->q + off, J->k + off, J->v + off, n, T, C, J->causal, J->aq, J->ak,
                     J->mode);
        }
    }
}

void sp_attention_backward(float *dq, float *dk, float *dv, float *work, const float *dout,
                           const float *att, const int shift[2], const float *q, const float *k,
                           const float *v, const size_t *lens, size_t B, size_t T, size_t C,
                           size_t NH, bool causal, sp_grad_write mode)
{
    SP_ASSERT(C % NH == 0);
    size_t HS = C / NH, HG = group_of(HS, NH);
    /* s = q·k / sqrt(HS) with the saved q = q₀ 2^-eq, k = k₀ 2^-ek: ds/dq₀ = k₀ / sqrt(HS)
     * = k 2^ek / sqrt(HS), and likewise for k₀ (powers of two, so exact) */
    double inv = 1.0 / sqrt((double)HS);
    attn_job J = {.weights = att, .work = work, .dq = dq, .dk = dk, .dv = dv, .q = q, .k = k, .v = v,
                  .dout = dout, .lens = lens, .T = T, .C = C, .NH = NH, .HS = HS, .HG = HG,
                  .work_len = part_work_len(T, C, NH), .causal = causal,
                  .aq = (float)ldexp(inv, shift[1]), .ak = (float)ldexp(inv, shift[0]), .mode = mode};
    /* a sequence's gradients come from its own rows only: the split does not change them */
    sp_pool_for(B, 1, backward_part, &J);
}
