/* Reductions and an exponential written so that the compiler vectorises them.
 *
 * A loop like `double s = 0; for (...) s += x[i];` stays scalar: C fixes the order of the
 * additions, and vectorising would change it. The reductions here keep SP_LANES partial sums,
 * lane l taking the elements i ≡ l (mod SP_LANES), and add the lanes in order at the end. The
 * order is still fixed, so results are deterministic, but it is not left-to-right: sums differ
 * from the naive loop in the last bits.
 *
 * sp_exp8_nonpos and sp_exp16_nonpos are e^x for x <= 0 on eight and sixteen lanes without a
 * call into libm, for the softmax (one body, the same results lane by lane):
 * Cody-Waite reduction x = n ln 2 + r with |r| <= ln 2 / 2, Cephes' polynomial for e^r, and 2^n
 * assembled in the exponent bits. Below -86 it returns 0: there 2^n p would approach the
 * subnormal range, where each multiplication costs a microcode assist (and masked keys, set to
 * -inf, would pay it on every row). A softmax weight of e^-86 ~ 4.5e-38 next to the row's
 * largest weight, 1, changes nothing in float. tests/test_model.c measures its error against
 * libm's expf over the whole range. */
#ifndef SP_NN_VECMATH_H
#define SP_NN_VECMATH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SP_LANES 8

/* Σ x[i] in double */
static inline double sp_sum_f64(const float *x, size_t n)
{
    double part[SP_LANES] = {0};
    size_t i = 0;
    for (; i + SP_LANES <= n; i += SP_LANES)
        for (size_t l = 0; l < SP_LANES; l++) part[l] += x[i + l];
    for (size_t l = 0; i + l < n; l++) part[l] += x[i + l];
    double s = 0;
    for (size_t l = 0; l < SP_LANES; l++) s += part[l];
    return s;
}

/* Σ (x[i] - m)² in double */
static inline double sp_sqdev_f64(const float *x, size_t n, double m)
{
    double part[SP_LANES] = {0};
    size_t i = 0;
    for (; i + SP_LANES <= n; i += SP_LANES)
        for (size_t l = 0; l < SP_LANES; l++) {
            double d = x[i + l] - m;
            part[l] += d * d;
        }
    for (size_t l = 0; i + l < n; l++) {
        double d = x[i + l] - m;
        part[l] += d * d;
    }
    double s = 0;
    for (size_t l = 0; l < SP_LANES; l++) s += part[l];
    return s;
}

/* Vectors of eight floats (or 32-bit integers), GCC's and clang's vector extension: two SSE
 * registers, or one AVX register when the build targets AVX. Arithmetic on them is IEEE
 * arithmetic lane by lane, so the results do not depend on which registers the compiler picks.
 * Loads and stores go through memcpy and need no alignment. */
typedef float v8sf __attribute__((vector_size(32)));
typedef int32_t v8si __attribute__((vector_size(32)));

static inline v8sf load8(const float *p)
{
    v8sf v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store8(float *p, v8sf v) { memcpy(p, &v, sizeof v); }

/* a where m is all ones, b where it is 0 (m from a vector comparison) */
static inline v8sf select8(v8si m, v8sf a, v8sf b) { return (v8sf)((m & (v8si)a) | (~m & (v8si)b)); }

/* Sixteen floats: one AVX-512 register, or two or four narrower ones. */
typedef float v16sf __attribute__((vector_size(64)));
typedef int32_t v16si __attribute__((vector_size(64)));

static inline v16sf load16(const float *p)
{
    v16sf v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store16(float *p, v16sf v) { memcpy(p, &v, sizeof v); }

static inline v16sf select16(v16si m, v16sf a, v16sf b) { return (v16sf)((m & (v16si)a) | (~m & (v16si)b)); }

/* e^x for x <= 0 in each lane; 0 for x < -86. One body for both widths. */
#define SP_EXP_NONPOS(name, vf, vi, select)                                                       \
    static inline vf name(vf x)                                                                   \
    {                                                                                             \
        const vf zero = {0}, lo = zero - 86.0f;                                                   \
        vi under = x < lo;                                                                        \
        vf xc = select(under, lo, x);                                                             \
        /* n = round(x log2 e) by adding 1.5 * 2^23, which leaves n in the low mantissa bits */   \
        const float shifter = 12582912.0f;                                                        \
        vf k = xc * 1.44269504088896341f + shifter;                                               \
        vf fn = k - shifter;                                                                      \
        vi n = (vi)k - 0x4B400000;                                                                \
        /* r = x - n ln 2 in two steps (ln 2 = 0.693359375 - 2.12194440e-4, the first exact) */   \
        vf r = (xc - fn * 0.693359375f) - fn * -2.12194440e-4f;                                   \
        vf p = 1.9875691500e-4f * r + 1.3981999507e-3f;                                           \
        p = p * r + 8.3334519073e-3f;                                                             \
        p = p * r + 4.1665795894e-2f;                                                             \
        p = p * r + 1.6666665459e-1f;                                                             \
        p = p * r + 5.0000001201e-1f;                                                             \
        p = p * r * r + r + 1.0f;                                                                 \
        vf scale = (vf)((n + 127) << 23);                                                         \
        return select(under, zero, p * scale);                                                    \
    }

SP_EXP_NONPOS(sp_exp8_nonpos, v8sf, v8si, select8)
SP_EXP_NONPOS(sp_exp16_nonpos, v16sf, v16si, select16)

/* The attention kernels' vectors (src/nn/attention.c), a query to a lane: sixteen floats where
 * the build targets AVX-512, eight otherwise. Their results do not depend on the choice. */
#ifdef __AVX512F__
#define SP_QL 16
typedef v16sf vqf;
typedef v16si vqi;
#define loadq load16
#define storeq store16
#define selectq select16
#define sp_expq_nonpos sp_exp16_nonpos
#else
#define SP_QL 8
typedef v8sf vqf;
typedef v8si vqi;
#define loadq load8
#define storeq store8
#define selectq select8
#define sp_expq_nonpos sp_exp8_nonpos
#endif

#endif
