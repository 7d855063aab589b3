/* Benchmark of evaluation: strings per second of a d_model 64, 2-layer, 4-head pre-norm model
 * (d_ff 256, sinusoidal positions, readout cls) on 10,000 random strings of lengths 1-100 over
 * four symbols, in every attention mode, through sp_eval_run with batches of 64 strings grouped
 * by length. Each mode's cost is printed relative to soft, measured in the same process; the
 * best of `reps` runs counts. OpenBLAS runs on one thread unless a thread count is given.
 *
 * usage: eval_bench [REPS] [THREADS]   (default 3 and 1) */
#include "satprobe/alloc.h"
#include "satprobe/eval.h"
#include "satprobe/model.h"
#include "satprobe/rng.h"

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

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 3, threads = argc > 2 ? atoi(argv[2]) : 1;
    if (reps < 1 || threads < 1) {
        fprintf(stderr, "usage: eval_bench [REPS] [THREADS]\n");
        return 2;
    }
    sp_blas_set_threads(threads);
    sp_model_config c;
    sp_config_init(&c);
    const char *syms[] = {"(", ")", "[", "]"};
    sp_config_set_alphabet(&c, syms, 4);
    c.d_model = 64;
    c.layers = 2;
    c.heads = 4;
    c.d_ff = 256;
    sp_model *m;
    sp_error err;
    if (sp_model_new(&c, &m, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    gsl_rng *r = sp_rng_new(1);
    sp_model_init_random(m, r);

    /* 10,000 strings, lengths uniform in 1..100, symbols uniform */
    enum { N = 10000, MAXLEN = 100 };
    sp_evalset es;
    memset(&es, 0, sizeof es);
    es.k = 4;
    es.count = N;
    es.start = sp_malloc(N + 1, sizeof *es.start);
    es.label = sp_calloc(N, sizeof *es.label);
    es.bin = sp_calloc(N, sizeof *es.bin);
    es.syms = sp_malloc((size_t)N * MAXLEN, sizeof *es.syms);
    es.start[0] = 0;
    for (size_t i = 0; i < N; i++) {
        size_t n = 1 + sp_rng_below(r, MAXLEN);
        for (size_t j = 0; j < n; j++) es.syms[es.start[i] + j] = (int)sp_rng_below(r, 4);
        es.start[i + 1] = es.start[i] + n;
        es.label[i] = sp_rng_below(r, 2);
    }
    es.nbins = 1;
    es.bin_range = sp_malloc(1, sizeof *es.bin_range);
    es.bin_range[0] = (sp_range){1, MAXLEN};
    es.bin_name = sp_malloc(1, sizeof *es.bin_name);
    es.bin_name[0] = sp_strdup("1-100");
    es.total = N;
    gsl_rng_free(r);

    const char *names[] = {"soft", "saturated", "hard", "limit", "scaled:1000"};
    enum { NM = sizeof names / sizeof *names };
    double best[NM];
    for (int mi = 0; mi < NM; mi++) best[mi] = 1e300;
    for (int rep = 0; rep < reps; rep++)
        for (int mi = 0; mi < NM; mi++) { /* interleaved, so drifts in machine load hit every mode */
            sp_mode md;
            sp_mode_parse(names[mi], SP_TIE_TOLERANCE, &md, &err);
            sp_eval_result res;
            double t0 = now();
            if (sp_eval_run(m, &es, &md, 1, SP_EVAL_RECOGNIZE, 64, false, NULL, NULL, &res, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            double t = now() - t0;
            sp_eval_result_free(&res);
            if (t < best[mi]) best[mi] = t;
        }
    printf("eval_bench: d_model 64, 2 layers, 4 heads, d_ff 256; %d strings of lengths 1-100; "
           "batch 64; %d OpenBLAS thread%s; best of %d\n",
           N, threads, threads == 1 ? "" : "s", reps);
    printf("%-12s %10s %12s %10s\n", "mode", "seconds", "strings/s", "x soft");
    for (int mi = 0; mi < NM; mi++)
        printf("%-12s %10.3f %12.0f %10.2f\n", names[mi], best[mi], N / best[mi], best[mi] / best[0]);
    sp_evalset_free(&es);
    sp_model_destroy(m);
    sp_config_free(&c);
    return 0;
}
