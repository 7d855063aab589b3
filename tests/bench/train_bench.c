/* Training-step throughput of satprobe, for tests/bench/train_vs_torch (which runs the same
 * model in PyTorch next to it).
 *
 * usage: train_bench D_MODEL LAYERS HEADS D_FF LENGTH BATCH THREADS SECONDS [all-rows]
 *        train_bench --sgemm N THREADS
 *
 * The first form builds the default model of docs/model.md (pre-norm, bias, causal mask, readout
 * cls, sinusoidal positions, recognize head) over a 4-symbol alphabet with the given sizes, one
 * batch of BATCH random strings of exactly LENGTH symbols (T = LENGTH + 2 positions, BOS and
 * CLS) with random labels, and times training steps as src/train/trainer.c's loop does them:
 * sp_model_forward (soft), sp_loss_recognize, zeroed gradients, sp_model_backward, then
 * sp_optim_step with Adam (lr 1e-3, betas 0.9 / 0.999, eps 1e-8, no weight decay). Like the
 * trainer, it runs readout rows only (sp_model_set_readout_only: the last layer's positions that
 * the loss does not read stop after attention); `all-rows` computes every position. After a
 * few warm-up steps, each measurement runs steps until SECONDS have passed; the best of 3
 * measurements is printed as
 *
 *     steps/s R  params P  T T
 *
 * The second form measures cblas_sgemm (row-major C = A B, N x N x N, float) on THREADS
 * OpenBLAS threads and prints the best of several calls as "sgemm N THREADS GFLOP/s G" with
 * 2 N^3 floating-point operations per call. */
#include "satprobe/model.h"
#include "satprobe/optim.h"
#include "satprobe/train.h"

#include <cblas.h>
#include <gsl/gsl_rng.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int usage(void)
{
    fprintf(stderr, "usage: train_bench D_MODEL LAYERS HEADS D_FF LENGTH BATCH THREADS SECONDS [all-rows]\n"
                    "       train_bench --sgemm N THREADS\n");
    return 2;
}

static bool parse_size(const char *s, size_t *out)
{
    char *e;
    unsigned long long v = strtoull(s, &e, 10);
    if (!*s || *e || v == 0) return false;
    *out = (size_t)v;
    return true;
}

static int bench_sgemm(size_t n, int threads)
{
    openblas_set_num_threads(threads);
    float *a = malloc(n * n * sizeof *a), *b = malloc(n * n * sizeof *b), *c = malloc(n * n * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "train_bench: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n * n; i++) {
        a[i] = (float)((double)(i % 97) / 97.0 - 0.5);
        b[i] = (float)((double)(i % 89) / 89.0 - 0.5);
        c[i] = 0;
    }
    int N = (int)n;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, a, N, b, N, 0.0f, c, N);
    double best = 1e300, start = now();
    for (int rep = 0; rep < 5 || now() - start < 2.0; rep++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, a, N, b, N, 0.0f, c, N);
        double dt = now() - t0;
        if (dt < best) best = dt;
        if (rep >= 1000) break;
    }
    double flops = 2.0 * (double)n * (double)n * (double)n;
    printf("sgemm %zu %d GFLOP/s %.2f  (check %g)\n", n, threads, flops / best * 1e-9, (double)c[n + 1]);
    free(a);
    free(b);
    free(c);
    return 0;
}

typedef struct bench {
    sp_model *m;
    size_t n, B;
    const int **strs;
    size_t *ns;
    bool *labels;
    float *dlogits, *grad;
    sp_optim opt;
    sp_mode soft;
} bench;

static int step(bench *b, sp_error *err)
{
    int status = sp_model_forward(b->m, b->strs, b->ns, b->B, &b->soft, err);
    if (status) return status;
    memset(b->dlogits, 0, b->B * sizeof *b->dlogits);
    sp_loss_recognize(sp_model_logits(b->m), b->labels, b->B, 1.0, b->dlogits);
    memset(b->grad, 0, b->n * sizeof *b->grad);
    sp_model_backward(b->m, b->dlogits, NULL, b->grad);
    sp_optim_step(&b->opt, sp_model_param_slab(b->m), b->grad);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--sgemm")) {
        size_t n;
        int threads = atoi(argv[3]);
        if (!parse_size(argv[2], &n) || threads < 1) return usage();
        return bench_sgemm(n, threads);
    }
    if (argc != 9 && !(argc == 10 && !strcmp(argv[9], "all-rows"))) return usage();
    size_t D, L, NH, FF, len, B;
    if (!parse_size(argv[1], &D) || !parse_size(argv[2], &L) || !parse_size(argv[3], &NH) ||
        !parse_size(argv[4], &FF) || !parse_size(argv[5], &len) || !parse_size(argv[6], &B))
        return usage();
    int threads = atoi(argv[7]);
    double seconds = atof(argv[8]);
    if (threads < 1 || !(seconds > 0)) return usage();

    sp_model_config cfg;
    sp_config_init(&cfg);
    static const char *const alphabet[] = {"a", "b", "c", "d"};
    sp_config_set_alphabet(&cfg, alphabet, 4);
    cfg.d_model = D;
    cfg.layers = L;
    cfg.heads = NH;
    cfg.d_ff = FF;
    if (cfg.max_len < len + 2) cfg.max_len = len + 2;

    sp_error err;
    bench b = {0};
    b.B = B;
    b.soft = (sp_mode){SP_ATTN_SOFT, 1, 0};
    if (sp_model_new(&cfg, &b.m, &err) || sp_model_reserve(b.m, B, len, &err)) {
        sp_error_print(&err, stderr);
        sp_config_free(&cfg);
        return 1;
    }
    sp_model_set_readout_only(b.m, argc == 9);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 1);
    sp_model_init_random(b.m, r);
    b.n = sp_model_num_params(b.m);

    int *syms = malloc(B * len * sizeof *syms);
    b.strs = malloc(B * sizeof *b.strs);
    b.ns = malloc(B * sizeof *b.ns);
    b.labels = malloc(B * sizeof *b.labels);
    b.dlogits = malloc(B * sizeof *b.dlogits);
    b.grad = malloc(b.n * sizeof *b.grad);
    if (!syms || !b.strs || !b.ns || !b.labels || !b.dlogits || !b.grad) {
        fprintf(stderr, "train_bench: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < B * len; i++) syms[i] = (int)gsl_rng_uniform_int(r, 4);
    for (size_t i = 0; i < B; i++) {
        b.strs[i] = syms + i * len;
        b.ns[i] = len;
        b.labels[i] = gsl_rng_uniform_int(r, 2) == 1;
    }

    sp_optim_config oc;
    sp_optim_config_default(&oc);
    oc.kind = SP_OPT_ADAM;
    oc.weight_decay = 0;
    sp_optim_init(&b.opt, &oc, b.n);
    sp_blas_set_threads(threads);

    int status = 0;
    /* warm-up: 3 steps, or fewer when a step is slow (at least 1) */
    double w0 = now();
    for (int i = 0; i < 3 && !status; i++) {
        status = step(&b, &err);
        if (now() - w0 > seconds) break;
    }
    double best = 0;
    for (int rep = 0; rep < 3 && !status; rep++) {
        double t0 = now(), dt = 0;
        unsigned long steps = 0;
        while (!status && dt < seconds) {
            status = step(&b, &err);
            steps++;
            dt = now() - t0;
        }
        double rate = (double)steps / dt;
        if (rate > best) best = rate;
    }
    if (status) sp_error_print(&err, stderr);
    else printf("steps/s %.4f  params %zu  T %zu\n", best, b.n, sp_model_batch_T(b.m));

    sp_optim_free(&b.opt);
    free(syms);
    free(b.strs);
    free(b.ns);
    free(b.labels);
    free(b.dlogits);
    free(b.grad);
    gsl_rng_free(r);
    sp_model_destroy(b.m);
    sp_config_free(&cfg);
    return status ? 1 : 0;
}
