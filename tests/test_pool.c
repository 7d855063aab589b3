/* The thread team (src/util/pool.c) and the kernels that split their loops over it. sp_pool_for
 * covers every index once, in the chunks pool.h documents, and runs nested calls serially; layer
 * norm, ReLU, residual sums, attention and the optimizers give the same bits on 2 and 3 threads
 * as on 1, and so do matrix products and a model's whole forward and backward pass with the
 * OpenBLAS kernels sp_blas_split_exact names (with others they agree within 1e-5). */
#include "testutil.h"

#include "satprobe/layers.h"
#include "satprobe/model.h"
#include "satprobe/optim.h"
#include "satprobe/pool.h"
#include "satprobe/rng.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { MAXN = 1000 };

typedef struct cover {
    int hits[MAXN];
    size_t part_of[MAXN];
    atomic_size_t calls;     /* chunks run */
    size_t begin[MAXN + 1];  /* the chunks, in the order they were counted */
    size_t end[MAXN + 1];
} cover;

static void mark(void *ctx, size_t part, size_t begin, size_t end)
{
    cover *c = ctx;
    size_t k = atomic_fetch_add(&c->calls, 1);
    c->begin[k] = begin;
    c->end[k] = end;
    for (size_t i = begin; i < end; i++) {
        c->hits[i]++;
        c->part_of[i] = part;
    }
}

static void count_inner(void *ctx, size_t part, size_t begin, size_t end)
{
    int *n = ctx;
    assert_int_equal(part, 0);
    *n += (int)(end - begin);
}

static void mark_nested(void *ctx, size_t part, size_t begin, size_t end)
{
    int inner = 0;
    sp_pool_for(10, 1, count_inner, &inner); /* serial: one chunk, on this thread */
    assert_int_equal(inner, 10);
    mark(ctx, part, begin, end);
}

static int by_begin(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* the chunks of sp_pool_chunks_init(n, grain, threads), taken one by one: they tile [0, n) in
 * order, each at a multiple of grain, with the sizes pool.h gives; returns how many */
static size_t chunks_of(size_t n, size_t grain, size_t threads, size_t *begins, size_t *ends)
{
    sp_pool_chunks q;
    sp_pool_chunks_init(&q, n, grain, threads);
    size_t g = grain ? grain : 1, k = 0, b, e, at = 0;
    size_t least = (n + 32 * threads - 1) / (32 * threads);
    least = (least + g - 1) / g * g;
    while (sp_pool_chunks_take(&q, &b, &e)) {
        assert_true(k < MAXN + 1);
        assert_int_equal(b, at);
        assert_true(e > b && e <= n);
        assert_int_equal(b % g, 0);
        if (threads == 1) {
            assert_int_equal(e, n);
        } else if (e < n) {
            size_t share = (n - b + 2 * threads - 1) / (2 * threads);
            share = (share + g - 1) / g * g;
            assert_int_equal(e - b, share > least ? share : (least ? least : 1));
        }
        begins[k] = b, ends[k] = e, k++;
        at = e;
    }
    assert_int_equal(at, n);
    assert_false(sp_pool_chunks_take(&q, &b, &e)); /* and stays empty */
    return k;
}

static void test_chunks(void **state)
{
    (void)state;
    static size_t b[MAXN + 1], e[MAXN + 1];
    static const size_t ns[] = {0, 1, 2, 3, 5, 16, 17, 64, 100, 347, 999, 1000};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t grain = 0; grain <= 64; grain += grain < 4 ? 1 : 20)
            for (size_t threads = 1; threads <= 4; threads++) chunks_of(ns[a], grain, threads, b, e);
    /* 347 tiles on two threads: a quarter of what is left each time, down to a sixty-fourth */
    size_t k = chunks_of(347, 1, 2, b, e);
    static const size_t want[] = {87, 65, 49, 37, 28, 21, 15, 12, 9, 6, 6, 6, 6};
    assert_int_equal(k, sizeof want / sizeof *want);
    for (size_t i = 0; i < k; i++) assert_int_equal(e[i] - b[i], want[i]);
}

static void test_cover(void **state)
{
    (void)state;
    static const size_t ns[] = {0, 1, 2, 3, 5, 16, 17, 100, 999, 1000};
    static const size_t grains[] = {0, 1, 3, 64};
    static size_t wb[MAXN + 1], we[MAXN + 1];
    for (int t = 1; t <= 4; t++) {
        sp_pool_set_threads(t);
        assert_int_equal(sp_pool_threads(), t);
        for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
            for (size_t g = 0; g < sizeof grains / sizeof *grains; g++)
                for (int nested = 0; nested < 2; nested++) {
                    size_t n = ns[a], grain = grains[g];
                    cover *c = calloc(1, sizeof *c);
                    sp_pool_for(n, grain, nested ? mark_nested : mark, c);
                    size_t p = sp_pool_parts(n, grain);
                    size_t want = (size_t)t;
                    if (grain > 1 && n / grain < want) want = n / grain;
                    if (want == 0) want = 1;
                    assert_int_equal(p, want);
                    for (size_t i = 0; i < n; i++) {
                        assert_int_equal(c->hits[i], 1);
                        assert_true(c->part_of[i] < p);
                    }
                    /* the chunks that ran are the queue's, whichever thread took them */
                    size_t k = atomic_load(&c->calls), wk = n > 0; /* none for n = 0 */
                    wb[0] = 0, we[0] = n;
                    if (p > 1) wk = chunks_of(n, grain, p, wb, we);
                    assert_int_equal(k, wk);
                    qsort(c->begin, k, sizeof *c->begin, by_begin);
                    qsort(c->end, k, sizeof *c->end, by_begin);
                    for (size_t i = 0; i < k; i++) {
                        assert_int_equal(c->begin[i], wb[i]);
                        assert_int_equal(c->end[i], we[i]);
                    }
                    free(c);
                }
    }
    sp_pool_set_threads(0); /* below 1: one thread */
    assert_int_equal(sp_pool_threads(), 1);
    sp_pool_set_threads(SP_POOL_MAX + 5);
    assert_int_equal(sp_pool_threads(), SP_POOL_MAX);
    sp_pool_set_threads(1);
}

/* sp_pool_run: each of its threads once, with the count; serial from inside */
typedef struct team {
    atomic_int runs[SP_POOL_MAX];
    atomic_int inner; /* runs of a nested call */
    size_t threads;
    bool nest;
} team;

static void inner_run(void *ctx, size_t thread, size_t threads)
{
    team *m = ctx;
    assert_int_equal(thread, 0);
    assert_int_equal(threads, 1);
    atomic_fetch_add(&m->inner, 1);
}

static void member(void *ctx, size_t thread, size_t threads)
{
    team *m = ctx;
    assert_true(thread < threads);
    assert_int_equal(threads, m->threads);
    atomic_fetch_add(&m->runs[thread], 1);
    if (m->nest) sp_pool_run(4, inner_run, m);
}

static void test_run(void **state)
{
    (void)state;
    for (int t = 1; t <= 4; t++) {
        sp_pool_set_threads(t);
        for (size_t want = 0; want <= 5; want++)
            for (int nest = 0; nest < 2; nest++) {
                team m = {.threads = want < 2 ? 1 : want < (size_t)t ? want : (size_t)t, .nest = nest};
                sp_pool_run(want, member, &m);
                for (size_t i = 0; i < SP_POOL_MAX; i++) assert_int_equal(m.runs[i], i < m.threads);
                assert_int_equal(m.inner, nest ? (int)m.threads : 0);
            }
    }
    sp_pool_set_threads(1);
}

static float *randoms(gsl_rng *r, size_t n, double lo, double hi)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * gsl_rng_uniform(r));
    return x;
}

static float *copy(const float *x, size_t n)
{
    float *y = malloc((n ? n : 1) * sizeof *y);
    memcpy(y, x, n * sizeof *y);
    return y;
}

/* the outputs of one kernel call, run afresh from the same inputs on each thread count */
typedef struct outs {
    float *a[10];
    size_t n[10];
    size_t count;
} outs;

static void outs_free(outs *o)
{
    for (size_t i = 0; i < o->count; i++) free(o->a[i]);
}

/* every output bit for bit, or with `close` (products where sp_blas_split_exact says no) within
 * 1e-5 of the largest magnitude */
static void compare(const outs *x, const outs *y, const char *what, int threads, bool close)
{
    assert_int_equal(x->count, y->count);
    for (size_t i = 0; i < x->count; i++) {
        double big = 0;
        for (size_t j = 0; j < x->n[i]; j++) big = fabs(x->a[i][j]) > big ? fabs(x->a[i][j]) : big;
        for (size_t j = 0; j < x->n[i]; j++) {
            bool same = close ? fabs((double)x->a[i][j] - y->a[i][j]) <= 1e-5 * big
                              : !memcmp(&x->a[i][j], &y->a[i][j], sizeof(float));
            if (!same)
                fail_msg("%s on %d threads: output %zu differs from 1 thread's at %zu (%.9g, not %.9g; %s kernels)",
                         what, threads, i, j, (double)y->a[i][j], (double)x->a[i][j], sp_blas_kernels());
        }
    }
}

static void same_bits(const outs *x, const outs *y, const char *what, int threads)
{
    compare(x, y, what, threads, false);
}

/* products: bit for bit where the kernels are known to allow it */
static void same_product(const outs *x, const outs *y, const char *what, int threads)
{
    compare(x, y, what, threads, !sp_blas_split_exact());
}

/* matrix products, forward and backward (dinp written over, added into, not asked for, and
 * through ReLU) */
static void matmul_outs(outs *o, size_t N, size_t C, size_t OC, unsigned long seed)
{
    gsl_rng *r = sp_rng_new(seed);
    float *inp = randoms(r, N * C, -1, 1), *w = randoms(r, OC * C, -1, 1), *bias = randoms(r, OC, -1, 1);
    float *dout = randoms(r, N * OC, -1, 1), *base = randoms(r, N * C, -1, 1);
    float *out = randoms(r, N * OC, -1, 1), *out0 = randoms(r, N * OC, -1, 1);
    float *dset = randoms(r, N * C, -1, 1), *dadd = copy(base, N * C);
    float *dw = randoms(r, OC * C, -1, 1), *db = randoms(r, OC, -1, 1);
    float *dw_only = randoms(r, OC * C, -1, 1); /* from a call without dinp */
    float *dpre = randoms(r, N * C, -1, 1), *relu = copy(inp, N * C); /* through ReLU */
    float *dw_relu = randoms(r, OC * C, -1, 1), *db_relu = randoms(r, OC, -1, 1);
    sp_relu_forward(relu, N * C);
    sp_matmul_forward(out, inp, w, bias, N, C, OC);
    sp_matmul_forward(out0, inp, w, NULL, N, C, OC);
    sp_matmul_backward(dset, dw, db, dout, inp, w, N, C, OC, SP_GRAD_SET);
    sp_matmul_backward(dadd, dw, db, dout, inp, w, N, C, OC, SP_GRAD_ADD);
    sp_matmul_backward(NULL, dw_only, NULL, dout, inp, w, N, C, OC, SP_GRAD_SET);
    sp_matmul_relu_backward(dpre, dw_relu, db_relu, dout, relu, w, N, C, OC);
    *o = (outs){.a = {out, out0, dset, dadd, dw, db, dw_only, dpre, dw_relu, db_relu},
                .n = {N * OC, N * OC, N * C, N * C, OC * C, OC, OC * C, N * C, OC * C, OC},
                .count = 10};
    free(inp), free(w), free(bias), free(dout), free(base), free(relu);
    gsl_rng_free(r);
}

static void test_matmul(void **state)
{
    (void)state;
    static const size_t shapes[][3] = {
        {1312, 32, 96}, {1312, 128, 32}, {1312, 32, 128}, {1000, 37, 53}, {333, 64, 256},
        {4096, 8, 8},   {70, 300, 90},   {17, 1, 40},     {5, 3, 2},      {2000, 256, 17},
        {1376, 32, 32}, {1376, 128, 32}, {1376, 32, 128},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        size_t N = shapes[s][0], C = shapes[s][1], OC = shapes[s][2];
        sp_blas_set_threads(1);
        outs one;
        matmul_outs(&one, N, C, OC, 10 + s);
        for (int t = 2; t <= 3; t++) {
            sp_blas_set_threads(t);
            outs more;
            matmul_outs(&more, N, C, OC, 10 + s);
            char what[64];
            snprintf(what, sizeof what, "matmul %zux%zux%zu", N, C, OC);
            same_product(&one, &more, what, t);
            outs_free(&more);
        }
        outs_free(&one);
    }
    sp_blas_set_threads(1);
}

/* layer norm (with and without bias, gradients written over and added into), ReLU and residual
 * sums, forward and backward */
static void layers_outs(outs *o, size_t N, size_t C, unsigned long seed)
{
    gsl_rng *r = sp_rng_new(seed);
    size_t NC = N * C;
    float *x = randoms(r, NC, -3, 3), *w = randoms(r, C, 0.5, 1.5), *b = randoms(r, C, -1, 1);
    float *g = randoms(r, NC, -1, 1), *y = randoms(r, NC, -1, 1), *y0 = randoms(r, NC, -1, 1);
    float *stats = randoms(r, 4 * N, 0, 1), *dx = randoms(r, NC, -1, 1), *params = randoms(r, 2 * C, -1, 1);
    float *relu = randoms(r, NC, -1, 1), *drelu = randoms(r, NC, -1, 1), *sum = randoms(r, NC, -1, 1);
    float *da = randoms(r, NC, -1, 1), *db = randoms(r, NC, -1, 1);
    sp_layernorm_forward(y, stats, stats + N, x, w, b, N, C, 1e-5);
    sp_layernorm_forward(y0, stats + 2 * N, stats + 3 * N, x, w, NULL, N, C, 0);
    sp_layernorm_backward(dx, params, params + C, g, stats, stats + N, x, w, N, C, SP_GRAD_SET);
    sp_layernorm_backward(dx, params, NULL, y, stats, stats + N, x, w, N, C, SP_GRAD_ADD);
    memcpy(relu, x, NC * sizeof *relu);
    sp_relu_forward(relu, NC);
    sp_relu_backward(drelu, g, x, NC, SP_GRAD_SET);
    sp_relu_backward(drelu, y, x, NC, SP_GRAD_ADD);
    sp_residual_forward(sum, x, g, NC);
    sp_residual_backward(da, db, g, NC, SP_GRAD_ADD);
    sp_residual_backward(x, sum, y, NC, SP_GRAD_SET);
    *o = (outs){.a = {y, y0, stats, dx, params, relu, drelu, da, db, x},
                .n = {NC, NC, 4 * N, NC, 2 * C, NC, NC, NC, NC, NC},
                .count = 10};
    free(sum); /* overwritten by the last call with what x holds too */
    free(w), free(b), free(g);
    gsl_rng_free(r);
}

static void test_layers(void **state)
{
    (void)state;
    static const size_t shapes[][2] = {{1312, 32}, {5000, 40}, {333, 256}, {100000, 1}, {7, 3}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        sp_blas_set_threads(1);
        outs one;
        layers_outs(&one, shapes[s][0], shapes[s][1], 40 + s);
        for (int t = 2; t <= 3; t++) {
            sp_blas_set_threads(t);
            outs more;
            layers_outs(&more, shapes[s][0], shapes[s][1], 40 + s);
            char what[64];
            snprintf(what, sizeof what, "layers %zux%zu", shapes[s][0], shapes[s][1]);
            same_bits(&one, &more, what, t);
            outs_free(&more);
        }
        outs_free(&one);
    }
    sp_blas_set_threads(1);
}

/* attention forward and backward over sequences of several lengths */
static void attention_outs(outs *o, size_t B, size_t T, size_t C, size_t NH, bool causal, unsigned long seed)
{
    gsl_rng *r = sp_rng_new(seed);
    size_t N = B * T * C;
    size_t *lens = malloc(B * sizeof *lens);
    for (size_t b = 0; b < B; b++) lens[b] = b % 4 == 3 ? 0 : T - (b * 7) % T;
    float *q = randoms(r, N, -2, 2), *k = randoms(r, N, -2, 2), *v = randoms(r, N, -1, 1);
    float *dout = randoms(r, N, -1, 1), *out = randoms(r, N, -1, 1);
    float *att = randoms(r, sp_attention_len(B, T, NH), 0, 1);
    float *work = randoms(r, sp_attention_work_len(T, C, NH), 0, 1);
    float *dq = randoms(r, N, -1, 1), *dk = randoms(r, N, -1, 1), *dv = randoms(r, N, -1, 1);
    int shift[2];
    sp_attention_forward(out, att, shift, work, q, k, v, lens, B, T, C, NH, causal, SP_RULE_SOFTMAX, 0);
    sp_attention_backward(dq, dk, dv, work, dout, att, shift, q, k, v, lens, B, T, C, NH, causal, SP_GRAD_SET);
    sp_attention_backward(dq, dk, dv, work, out, att, shift, q, k, v, lens, B, T, C, NH, causal, SP_GRAD_ADD);
    float *rows = malloc(B * NH * T * T * sizeof *rows);
    for (size_t b = 0; b < B; b++)
        for (size_t h = 0; h < NH; h++)
            for (size_t i = 0; i < T; i++)
                sp_attention_row(rows + ((b * NH + h) * T + i) * T, att, T, NH, lens[b], causal, b, h, i);
    *o = (outs){.a = {out, rows, dq, dk, dv}, .n = {N, B * NH * T * T, N, N, N}, .count = 5};
    free(lens), free(q), free(k), free(v), free(dout), free(att), free(work);
    gsl_rng_free(r);
}

static void test_attention(void **state)
{
    (void)state;
    static const size_t shapes[][3] = {{32, 43, 32}, {9, 66, 64}, {5, 19, 40}, {3, 130, 256}};
    static const size_t heads[] = {8, 4, 5, 8};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int causal = 0; causal < 2; causal++) {
            size_t B = shapes[s][0], T = shapes[s][1], C = shapes[s][2], NH = heads[s];
            sp_blas_set_threads(1);
            outs one;
            attention_outs(&one, B, T, C, NH, causal, 70 + s);
            for (int t = 2; t <= 3; t++) {
                sp_blas_set_threads(t);
                outs more;
                attention_outs(&more, B, T, C, NH, causal, 70 + s);
                char what[64];
                snprintf(what, sizeof what, "attention B %zu T %zu C %zu NH %zu causal %d", B, T, C, NH, causal);
                same_bits(&one, &more, what, t);
                outs_free(&more);
            }
            outs_free(&one);
        }
    sp_blas_set_threads(1);
}

/* a whole forward and backward pass: logits and every parameter gradient */
static void model_outs(outs *o, bool readout_only, unsigned long seed)
{
    sp_model_config cfg;
    sp_config_init(&cfg);
    static const char *const alphabet[] = {"a", "b", "c"};
    sp_config_set_alphabet(&cfg, alphabet, 3);
    cfg.d_model = 32;
    cfg.layers = 3;
    cfg.heads = 8;
    cfg.d_ff = 128;
    sp_error err;
    sp_model *m;
    assert_int_equal(sp_model_new(&cfg, &m, &err), 0);
    sp_model_set_readout_only(m, readout_only);
    gsl_rng *r = sp_rng_new(seed);
    sp_model_init_random(m, r);
    enum { B = 32, LEN = 41 };
    int *syms = malloc(B * LEN * sizeof *syms);
    const int *strs[B];
    size_t ns[B];
    for (size_t i = 0; i < B * LEN; i++) syms[i] = (int)gsl_rng_uniform_int(r, 3);
    for (size_t b = 0; b < B; b++) {
        strs[b] = syms + b * LEN;
        ns[b] = LEN - b % 9;
    }
    sp_mode soft = {SP_ATTN_SOFT, 1, 0};
    assert_int_equal(sp_model_forward(m, strs, ns, B, &soft, &err), 0);
    size_t n = sp_model_num_params(m);
    float *logits = copy(sp_model_logits(m), B), *dlogits = randoms(r, B, -1, 1);
    float *grad = calloc(n, sizeof *grad);
    sp_model_backward(m, dlogits, NULL, grad);
    *o = (outs){.a = {logits, grad}, .n = {B, n}, .count = 2};
    free(dlogits), free(syms);
    gsl_rng_free(r);
    sp_model_destroy(m);
    sp_config_free(&cfg);
}

static void test_model(void **state)
{
    (void)state;
    for (int rows = 0; rows < 2; rows++) {
        sp_blas_set_threads(1);
        outs one;
        model_outs(&one, rows, 90);
        for (int t = 2; t <= 3; t++) {
            sp_blas_set_threads(t);
            outs more;
            model_outs(&more, rows, 90);
            same_product(&one, &more, rows ? "model (readout rows)" : "model", t);
            outs_free(&more);
        }
        outs_free(&one);
    }
    sp_blas_set_threads(1);
}

/* optimizer steps (SGD with momentum and weight decay, Adam, AdamW) on 100,000 parameters */
static void optim_outs(outs *o, sp_opt_kind kind, unsigned long seed)
{
    enum { N = 100000 };
    gsl_rng *r = sp_rng_new(seed);
    float *p = randoms(r, N, -1, 1);
    sp_optim_config c;
    sp_optim_config_default(&c);
    c.kind = kind;
    c.weight_decay = 0.1;
    sp_optim opt;
    sp_optim_init(&opt, &c, N);
    for (int step = 0; step < 3; step++) {
        float *g = randoms(r, N, -1, 1);
        sp_optim_step(&opt, p, g);
        free(g);
    }
    *o = (outs){.a = {p, copy(opt.m, N), kind == SP_OPT_SGD ? randoms(r, 0, 0, 0) : copy(opt.v, N)},
                .n = {N, N, kind == SP_OPT_SGD ? 0 : N},
                .count = 3};
    sp_optim_free(&opt);
    gsl_rng_free(r);
}

static void test_optim(void **state)
{
    (void)state;
    static const sp_opt_kind kinds[] = {SP_OPT_SGD, SP_OPT_ADAM, SP_OPT_ADAMW};
    for (size_t i = 0; i < 3; i++) {
        sp_pool_set_threads(1);
        outs one;
        optim_outs(&one, kinds[i], 110 + i);
        for (int t = 2; t <= 3; t++) {
            sp_pool_set_threads(t);
            outs more;
            optim_outs(&more, kinds[i], 110 + i);
            same_bits(&one, &more, "optimizer", t);
            outs_free(&more);
        }
        outs_free(&one);
    }
    sp_pool_set_threads(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunks), cmocka_unit_test(test_cover), cmocka_unit_test(test_run),     cmocka_unit_test(test_matmul), cmocka_unit_test(test_layers),
        cmocka_unit_test(test_attention), cmocka_unit_test(test_model),  cmocka_unit_test(test_optim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
