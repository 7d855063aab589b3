/* The attention kernels (src/nn/attention.c) against a plain double-precision implementation of
 * the same formulas, for every head size from 1 to 40 (each code path: the constant head sizes
 * 1, 2, 4, 8, 16, 32, widths that are multiples of 8, of 4 and neither, heads wider than a pass's
 * channels) and narrow heads 2, 4 and 8 at a time, with and without the causal mask, sequences
 * shorter than T and of length 0, forward weights and outputs, and backward dq, dk, dv written
 * over and added, with and without queries that get no gradient. */
#include "testutil.h"

#include "satprobe/layers.h"
#include "satprobe/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { B = 3, T = 19 };
static const size_t lens[B] = {19, 11, 0};

typedef struct ref {
    double *att, *out, *dq, *dk, *dv; /* [B, NH, T, T] and [B, T, C] */
} ref;

/* softmax attention and its gradients, in double, straight from the definitions */
static void reference(ref *r, const float *q, const float *k, const float *v, const float *dout, size_t C,
                      size_t NH, bool causal)
{
    size_t HS = C / NH;
    double scale = 1.0 / sqrt((double)HS);
    double *w = calloc(T, sizeof *w), *dw = calloc(T, sizeof *dw);
    for (size_t b = 0; b < B; b++)
        for (size_t h = 0; h < NH; h++) {
            size_t n = lens[b];
            for (size_t i = 0; i < n; i++) {
                size_t vis = causal ? i + 1 : n;
                const float *qi = q + (b * T + i) * C + h * HS;
                double mx = -INFINITY;
                for (size_t j = 0; j < vis; j++) {
                    const float *kj = k + (b * T + j) * C + h * HS;
                    double s = 0;
                    for (size_t c = 0; c < HS; c++) s += (double)qi[c] * kj[c];
                    w[j] = s * scale;
                    mx = fmax(mx, w[j]);
                }
                double z = 0;
                for (size_t j = 0; j < vis; j++) z += (w[j] = exp(w[j] - mx));
                for (size_t j = 0; j < vis; j++) {
                    w[j] /= z;
                    r->att[((b * NH + h) * T + i) * T + j] = w[j];
                }
                const float *gi = dout + (b * T + i) * C + h * HS;
                double dot = 0;
                for (size_t j = 0; j < vis; j++) {
                    const float *vj = v + (b * T + j) * C + h * HS;
                    double g = 0;
                    for (size_t c = 0; c < HS; c++) {
                        r->out[(b * T + i) * C + h * HS + c] += w[j] * vj[c];
                        g += (double)gi[c] * vj[c];
                        r->dv[(b * T + j) * C + h * HS + c] += w[j] * gi[c];
                    }
                    dw[j] = g;
                    dot += w[j] * g;
                }
                for (size_t j = 0; j < vis; j++) {
                    double ds = w[j] * (dw[j] - dot) * scale;
                    const float *kj = k + (b * T + j) * C + h * HS;
                    for (size_t c = 0; c < HS; c++) {
                        r->dq[(b * T + i) * C + h * HS + c] += ds * kj[c];
                        r->dk[(b * T + j) * C + h * HS + c] += ds * qi[c];
                    }
                }
            }
        }
    free(w);
    free(dw);
}

/* |got - want| <= 2e-5 max|want| (+ 1e-30) over n entries */
static void close_to(const float *got, const double *want, size_t n, const char *what, size_t HS, int causal)
{
    double scale = 1e-30;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= 2e-5 * scale))
            fail_msg("%s, HS %zu, causal %d: entry %zu is %.9g, the reference %.9g (scale %.3g)", what, HS,
                     causal, i, (double)got[i], want[i], scale);
}

/* sp_attention_forward_last: each sequence's last block of queries as the whole pass gives it
 * (out and rows from sp_attention_forward), bit for bit; other rows untouched (a sentinel), and
 * padding rows 0 */
static void last_block_only(const float *out, const float *rows, float *q, float *k, const float *v, size_t C,
                            size_t NH, bool causal)
{
    size_t N = B * T * C, QL = 16;
    float *out2 = malloc(N * sizeof *out2), *att2 = malloc(sp_attention_len(B, T, NH) * sizeof *att2);
    float *work = malloc(sp_attention_work_len(T, C, NH) * sizeof *work), *row = malloc(T * sizeof *row);
    for (size_t i = 0; i < N; i++) out2[i] = 7.0f;
    for (size_t i = 0; i < sp_attention_len(B, T, NH); i++) att2[i] = 7.0f;
    int shift[2];
    sp_attention_forward_last(out2, att2, shift, work, q, k, v, lens, B, T, C, NH, causal, SP_RULE_SOFTMAX, 0);
    for (size_t b = 0; b < B; b++) {
        size_t n = lens[b];
        /* the last block starts at a multiple of 8 or 16 (the lanes): compare from there, and
         * expect the sentinel before the last multiple of 16 */
        size_t from = n ? (n - 1) / 8 * 8 : 0, kept = n ? (n - 1) / QL * QL : 0;
        for (size_t i = 0; i < T; i++) {
            const float *x = out + (b * T + i) * C, *y = out2 + (b * T + i) * C;
            for (size_t c = 0; c < C; c++) {
                if (i >= from || i >= n) assert_memory_equal(&x[c], &y[c], sizeof(float));
                if (i < kept && i + 8 < from) assert_true(y[c] == 7.0f);
            }
            if (i < from || i >= n) continue;
            for (size_t h = 0; h < NH; h++) {
                sp_attention_row(row, att2, T, NH, n, causal, b, h, i);
                assert_memory_equal(row, rows + ((b * NH + h) * T + i) * T, T * sizeof *row);
            }
        }
    }
    free(out2), free(att2), free(work), free(row);
}

static void test_against_reference(void **state)
{
    (void)state;
    gsl_rng *rng = sp_rng_new(5);
    /* head sizes 1 to 40 with 1 to 3 heads, then the narrow heads that go several at a time */
    static const size_t extra[][2] = {{1, 4}, {1, 8}, {2, 4}, {2, 8}, {4, 4}, {4, 8}, {8, 4}, {1, 6}, {4, 6}};
    size_t ncase = 40 + sizeof extra / sizeof extra[0];
    for (size_t ci = 0; ci < ncase; ci++)
        for (int causal = 0; causal < 2; causal++) {
            size_t HS = ci < 40 ? ci + 1 : extra[ci - 40][0];
            size_t NH = ci < 40 ? 1 + HS % 3 : extra[ci - 40][1], C = NH * HS, N = B * T * C;
            float *q = malloc(N * sizeof *q), *k = malloc(N * sizeof *k), *v = malloc(N * sizeof *v);
            float *dout = calloc(N, sizeof *dout), *out = malloc(N * sizeof *out);
            float *att = malloc(sp_attention_len(B, T, NH) * sizeof *att), *rows = malloc(B * NH * T * T * sizeof *rows);
            float *work = malloc(sp_attention_work_len(T, C, NH) * sizeof *work);
            float *dq = malloc(N * sizeof *dq), *dk = malloc(N * sizeof *dk), *dv = malloc(N * sizeof *dv);
            for (size_t b = 0; b < B; b++)
                for (size_t i = 0; i < T * C; i++) {
                    size_t at = b * T * C + i;
                    q[at] = (float)(4 * gsl_rng_uniform(rng) - 2);
                    k[at] = (float)(4 * gsl_rng_uniform(rng) - 2);
                    v[at] = (float)(2 * gsl_rng_uniform(rng) - 1);
                    if (i < lens[b] * C) dout[at] = (float)(2 * gsl_rng_uniform(rng) - 1); /* padding 0 */
                    /* half the cases: no gradient into the first 16 queries of sequence 0 (whole
                     * blocks of queries with nothing to pass back, which the kernel skips) */
                    if (b == 0 && ci % 2 && i < 16 * C) dout[at] = 0;
                }
            ref r = {calloc(B * NH * T * T, sizeof(double)), calloc(N, sizeof(double)),
                     calloc(N, sizeof(double)), calloc(N, sizeof(double)), calloc(N, sizeof(double))};
            reference(&r, q, k, v, dout, C, NH, causal);
            for (size_t i = 0; i < N; i++) out[i] = NAN;
            for (size_t i = 0; i < sp_attention_len(B, T, NH); i++) att[i] = NAN;
            int shift[2];
            sp_attention_forward(out, att, shift, work, q, k, v, lens, B, T, C, NH, causal,
                                 SP_RULE_SOFTMAX, 0);
            assert_true(shift[0] == 0 && shift[1] == 0);
            for (size_t b = 0; b < B; b++)
                for (size_t h = 0; h < NH; h++)
                    for (size_t i = 0; i < T; i++)
                        sp_attention_row(rows + ((b * NH + h) * T + i) * T, att, T, NH, lens[b], causal, b, h, i);
            close_to(rows, r.att, B * NH * T * T, "weights", HS, causal);
            close_to(out, r.out, N, "output", HS, causal);
            last_block_only(out, rows, q, k, v, C, NH, causal);
            /* overwritten (from NaN), then added onto 1 */
            for (size_t i = 0; i < N; i++) dq[i] = dk[i] = dv[i] = NAN;
            sp_attention_backward(dq, dk, dv, work, dout, att, shift, q, k, v, lens, B, T, C, NH, causal,
                                  SP_GRAD_SET);
            close_to(dq, r.dq, N, "dq", HS, causal);
            close_to(dk, r.dk, N, "dk", HS, causal);
            close_to(dv, r.dv, N, "dv", HS, causal);
            for (size_t i = 0; i < N; i++) {
                dq[i] = dk[i] = dv[i] = 1.0f;
                r.dq[i] += 1.0, r.dk[i] += 1.0, r.dv[i] += 1.0;
            }
            sp_attention_backward(dq, dk, dv, work, dout, att, shift, q, k, v, lens, B, T, C, NH, causal,
                                  SP_GRAD_ADD);
            close_to(dq, r.dq, N, "dq added", HS, causal);
            close_to(dk, r.dk, N, "dk added", HS, causal);
            close_to(dv, r.dv, N, "dv added", HS, causal);
            free(r.att), free(r.out), free(r.dq), free(r.dk), free(r.dv);
            free(q), free(k), free(v), free(dout), free(out), free(att), free(rows), free(work);
            free(dq), free(dk), free(dv);
        }
    gsl_rng_free(rng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
