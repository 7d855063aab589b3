/* Attention's forward and backward (src/nn/attention.c) against a plain loop implementation of
 * the same formulas, timed in the same process.
 *
 * usage: attention_bench [B T C NH CAUSAL [SECONDS [THREADS]]]   (default: 32 43 32 8 1 1 1, size t)
 *
 * Both run on the same random q, k, v and output gradient: satprobe's sp_attention_forward and
 * sp_attention_backward, and a direct triple loop per (sequence, head, query) in float with
 * the attention weights kept as [B, NH, T, T], the obvious way to write it. After a warm-up,
 * each is timed over repeated calls until SECONDS have passed; the best of 3 is printed in
 * microseconds per forward + backward, with the ratio, as
 *
 *     attention B T C NH causal  satprobe U us  plain U us  ratio R
 *
 * satprobe's kernels split the sequences over THREADS threads (satprobe/pool.h); the plain loops
 * run on one. The plain version also checks satprobe's outputs and gradients (within 1e-4 of the
 * largest entry), so a fast but wrong kernel does not go unnoticed. */
#include "satprobe/layers.h"
#include "satprobe/pool.h"
#include "satprobe/progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct setup {
    size_t B, T, C, NH;
    bool causal;
    size_t *lens;
    float *q, *k, *v, *dout, *out, *att, *work, *dq, *dk, *dv;
    float *pout, *patt, *pdq, *pdk, *pdv, *prow;
} setup;

static void plain(setup *s)
{
    size_t B = s->B, T = s->T, C = s->C, NH = s->NH, HS = C / NH;
    float scale = 1.0f / sqrtf((float)HS);
    memset(s->pout, 0, B * T * C * sizeof(float));
    memset(s->pdq, 0, B * T * C * sizeof(float));
    memset(s->pdk, 0, B * T * C * sizeof(float));
    memset(s->pdv, 0, B * T * C * sizeof(float));
    float *dw = s->prow;
    for (size_t b = 0; b < B; b++)
        for (size_t h = 0; h < NH; h++)
            for (size_t i = 0; i < T; i++) {
                size_t vis = s->causal ? i + 1 : T;
                const float *qi = s->q + (b * T + i) * C + h * HS;
                float *w = s->patt + ((b * NH + h) * T + i) * T, mx = -INFINITY, z = 0;
                for (size_t j = 0; j < vis; j++) {
                    const float *kj = s->k + (b * T + j) * C + h * HS;
                    float d = 0;
                    for (size_t c = 0; c < HS; c++) d += qi[c] * kj[c];
                    w[j] = d * scale;
                    mx = fmaxf(mx, w[j]);
                }
                for (size_t j = 0; j < vis; j++) z += (w[j] = expf(w[j] - mx));
                for (size_t j = 0; j < vis; j++) w[j] /= z;
                float *oi = s->pout + (b * T + i) * C + h * HS;
                for (size_t j = 0; j < vis; j++)
                    for (size_t c = 0; c < HS; c++) oi[c] += w[j] * s->v[(b * T + j) * C + h * HS + c];
            }
    for (size_t b = 0; b < B; b++)
        for (size_t h = 0; h < NH; h++)
            for (size_t i = 0; i < T; i++) {
                size_t vis = s->causal ? i + 1 : T;
                const float *w = s->patt + ((b * NH + h) * T + i) * T;
                const float *gi = s->dout + (b * T + i) * C + h * HS, *qi = s->q + (b * T + i) * C + h * HS;
                float dot = 0;
                for (size_t j = 0; j < vis; j++) {
                    const float *vj = s->v + (b * T + j) * C + h * HS;
                    float g = 0;
                    for (size_t c = 0; c < HS; c++) {
                        g += gi[c] * vj[c];
                        s->pdv[(b * T + j) * C + h * HS + c] += w[j] * gi[c];
                    }
                    dw[j] = g;
                    dot += w[j] * g;
                }
                for (size_t j = 0; j < vis; j++) {
                    float ds = w[j] * (dw[j] - dot) * scale;
                    const float *kj = s->k + (b * T + j) * C + h * HS;
                    for (size_t c = 0; c < HS; c++) {
                        s->pdq[(b * T + i) * C + h * HS + c] += ds * kj[c];
                        s->pdk[(b * T + j) * C + h * HS + c] += ds * qi[c];
                    }
                }
            }
}

static void kernels(setup *s)
{
    int shift[2];
    sp_attention_forward(s->out, s->att, shift, s->work, s->q, s->k, s->v, s->lens, s->B, s->T, s->C, s->NH,
                         s->causal, SP_RULE_SOFTMAX, 0);
    sp_attention_backward(s->dq, s->dk, s->dv, s->work, s->dout, s->att, shift, s->q, s->k, s->v, s->lens,
                          s->B, s->T, s->C, s->NH, s->causal, SP_GRAD_SET);
}

/* microseconds per call of f, the best of 3 runs of `seconds` each */
static double time_us(void (*f)(setup *), setup *s, double seconds)
{
    f(s);
    double best = INFINITY;
    for (int r = 0; r < 3; r++) {
        double t0 = sp_seconds(), t;
        long n = 0;
        do {
            f(s);
            n++;
        } while ((t = sp_seconds() - t0) < seconds);
        if (t / (double)n < best) best = t / (double)n;
    }
    return best * 1e6;
}

static int check(const char *what, const float *got, const float *want, size_t n)
{
    float scale = 0;
    for (size_t i = 0; i < n; i++) scale = fmaxf(scale, fabsf(want[i]));
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-4f * scale)) {
            fprintf(stderr, "attention_bench: %s entry %zu is %g, the plain loops give %g\n", what, i,
                    (double)got[i], (double)want[i]);
            return 1;
        }
    return 0;
}

static float *floats(size_t n) { return calloc(n, sizeof(float)); }

int main(int argc, char **argv)
{
    if (argc != 1 && (argc < 6 || argc > 8)) {
        fprintf(stderr, "usage: attention_bench [B T C NH CAUSAL [SECONDS [THREADS]]]\n");
        return 2;
    }
    setup s = {.B = 32, .T = 43, .C = 32, .NH = 8, .causal = true};
    double seconds = 1;
    int threads = 1;
    if (argc > 1) {
        s.B = strtoul(argv[1], NULL, 10), s.T = strtoul(argv[2], NULL, 10), s.C = strtoul(argv[3], NULL, 10);
        s.NH = strtoul(argv[4], NULL, 10), s.causal = atoi(argv[5]) != 0;
        if (argc > 6) seconds = atof(argv[6]);
        if (argc > 7) threads = atoi(argv[7]);
    }
    if (!s.B || !s.T || !s.NH || !s.C || s.C % s.NH) {
        fprintf(stderr, "attention_bench: B, T, C and NH must be positive and NH must divide C\n");
        return 2;
    }
    if (threads < 1 || threads > SP_POOL_MAX) {
        fprintf(stderr, "attention_bench: THREADS must be 1 to %d\n", (int)SP_POOL_MAX);
        return 2;
    }
    sp_pool_set_threads(threads);
    size_t N = s.B * s.T * s.C;
    s.lens = calloc(s.B, sizeof *s.lens);
    for (size_t b = 0; b < s.B; b++) s.lens[b] = s.T;
    s.q = floats(N), s.k = floats(N), s.v = floats(N), s.dout = floats(N), s.out = floats(N);
    s.dq = floats(N), s.dk = floats(N), s.dv = floats(N);
    s.pout = floats(N), s.pdq = floats(N), s.pdk = floats(N), s.pdv = floats(N), s.prow = floats(s.T);
    s.att = floats(sp_attention_len(s.B, s.T, s.NH));
    s.patt = floats(s.B * s.NH * s.T * s.T);
    s.work = floats(sp_attention_work_len(s.T, s.C, s.NH));
    unsigned x = 12345;
    for (size_t i = 0; i < N; i++) {
        float *dst[] = {s.q, s.k, s.v, s.dout};
        for (int t = 0; t < 4; t++) {
            x = x * 1103515245u + 12345u;
            dst[t][i] = (float)((x >> 8) & 0xffff) / 32768.0f - 1.0f;
        }
    }
    kernels(&s);
    plain(&s);
    if (check("output", s.out, s.pout, N) || check("dq", s.dq, s.pdq, N) || check("dk", s.dk, s.pdk, N) ||
        check("dv", s.dv, s.pdv, N))
        return 1;
    double ours = time_us(kernels, &s, seconds), theirs = time_us(plain, &s, seconds);
    printf("attention %zu %zu %zu %zu %d  satprobe %.1f us  plain %.1f us  ratio %.2f\n", s.B, s.T, s.C, s.NH,
           (int)s.causal, ours, theirs, theirs / ours);
    return 0;
}
