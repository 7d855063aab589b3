/* Reductions and an exponential written so that the compiler vectorises them.
 *
 * A loop like `double s = 0; for (...) s += x[i];` stays scalar: C fixes the order of the
 * additions, and vectorising would change it. The reductions here keep SP_LANES partial sums,
 * lane l taking the elements i ≡ l (mod SP_LANES), and add the lanes in order at the end. The
 * order is still fixed, so results are deterministic, but it is not left-to-right: sums differ
 * from the naive loop in the last bits.
 *
 * sp_exp_nonpos is e^x for x <= 0 without a call into libm, so that a softmax row vectorises:
 * Cody-Waite reduction x = n ln 2 + r with |r| <= ln 2 / 2, Cephes' degree-7 polynomial for e^r,
 * and 2^n assembled in the exponent bits. Below -87 (where 2^n would be subnormal) it returns 0;
 * a softmax weight of e^-87 ~ 1.6e-38 next to the row's maximum weight of 1 changes nothing in
 * float. tests/test_model.c measures its error against libm's expf over the whole range. */
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

/* Σ a[i] b[i] in double */
static inline double sp_dot_f64(const float *a, const float *b, size_t n)
{
    double part[SP_LANES] = {0};
    size_t i = 0;
    for (; i + SP_LANES <= n; i += SP_LANES)
        for (size_t l = 0; l < SP_LANES; l++) part[l] += (double)a[i + l] * b[i + l];
    for (size_t l = 0; i + l < n; l++) part[l] += (double)a[i + l] * b[i + l];
    double s = 0;
    for (size_t l = 0; l < SP_LANES; l++) s += part[l];
    return s;
}

/* max x[i] over n >= 1 elements (no NaN: the caller's rows come from finite products) */
static inline float sp_max_f32(const float *x, size_t n)
{
    float part[SP_LANES];
    for (size_t l = 0; l < SP_LANES; l++) part[l] = x[0];
    size_t i = 0;
    for (; i + SP_LANES <= n; i += SP_LANES)
        for (size_t l = 0; l < SP_LANES; l++) part[l] = x[i + l] > part[l] ? x[i + l] : part[l];
    for (size_t l = 0; i + l < n; l++) part[l] = x[i + l] > part[l] ? x[i + l] : part[l];
    float m = part[0];
    for (size_t l = 1; l < SP_LANES; l++) m = part[l] > m ? part[l] : m;
    return m;
}

/* e^x for x <= 0; 0 for x < -87 */
static inline float sp_exp_nonpos(float x)
{
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    float xc = x < -87.0f ? -87.0f : x;
    /* n = round(x log2 e) by adding 1.5 * 2^23, which leaves n in the low mantissa bits; a float
     * to int conversion would do, but under -ftrapping-math it keeps the loop scalar */
    const float shifter = 12582912.0f;
    float k = xc * log2e + shifter;
    float fn = k - shifter;
    uint32_t kbits;
    memcpy(&kbits, &k, sizeof kbits);
    int32_t n = (int32_t)(kbits - 0x4B400000u);
    float r = (xc - fn * ln2_hi) - fn * ln2_lo;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)(n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x < -87.0f ? 0.0f : p * scale;
}

#endif
