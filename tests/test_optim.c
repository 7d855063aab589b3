/* Optimizers, clipping and schedules: schedules and SGD against hand-computed values, Adam and
 * AdamW against an independent double-precision implementation, clipping, config checks. */
#include "testutil.h"

#include "satprobe/alloc.h"
#include "satprobe/optim.h"
#include "satprobe/rng.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEAR(got, want, tol)                                                                    \
    do {                                                                                        \
        double got_ = (got), want_ = (want);                                                    \
        if (!(fabs(got_ - want_) <= (tol)))                                                     \
            fail_msg("%s = %.17g, want %.17g (tolerance %g)", #got, got_, want_, (double)(tol)); \
    } while (0)

/* Floats compared bit for bit (values chosen to be exact in binary). */
#define SAME(got, want)                                                                         \
    do {                                                                                        \
        float got_ = (got), want_ = (want);                                                     \
        if (memcmp(&got_, &want_, sizeof got_))                                                 \
            fail_msg("%s = %.9g, want exactly %.9g", #got, (double)got_, (double)want_);        \
    } while (0)

static sp_optim_config config(sp_opt_kind kind, double lr)
{
    sp_optim_config c;
    sp_optim_config_default(&c);
    c.kind = kind;
    c.lr = lr;
    c.weight_decay = 0;
    return c;
}

/* ---- configuration ---- */

static void test_defaults(void **state)
{
    (void)state;
    sp_optim_config c;
    memset(&c, 0xff, sizeof c);
    sp_optim_config_default(&c);
    assert_int_equal(c.kind, SP_OPT_ADAMW);
    assert_true(c.lr == 1e-3 && c.beta1 == 0.9 && c.beta2 == 0.999 && c.eps == 1e-8);
    assert_true(c.weight_decay == 0.01 && c.momentum == 0.9 && c.clip == 0);
    assert_int_equal(c.schedule, SP_SCHED_CONSTANT);
    assert_true(c.warmup == 0 && c.total == 0);
    sp_error err;
    assert_int_equal(sp_optim_config_check(&c, &err), SP_OK);
}

static void test_names(void **state)
{
    (void)state;
    sp_error err;
    const char *opt[] = {"sgd", "adam", "adamw"};
    for (int i = 0; i < 3; i++) {
        sp_opt_kind k = (sp_opt_kind)99;
        assert_int_equal(sp_opt_kind_parse(opt[i], &k, &err), SP_OK);
        assert_int_equal(k, i);
        assert_string_equal(sp_opt_kind_name(k), opt[i]);
    }
    const char *sched[] = {"constant", "warmup", "invsqrt", "cosine"};
    for (int i = 0; i < 4; i++) {
        sp_sched_kind k = (sp_sched_kind)99;
        assert_int_equal(sp_sched_kind_parse(sched[i], &k, &err), SP_OK);
        assert_int_equal(k, i);
        assert_string_equal(sp_sched_kind_name(k), sched[i]);
    }
    const char *bad_opt[] = {"Adam", "", "sgd ", "adamax", "rmsprop"};
    for (size_t i = 0; i < sizeof bad_opt / sizeof *bad_opt; i++) {
        sp_opt_kind k = SP_OPT_SGD;
        sp_error_clear(&err);
        assert_int_equal(sp_opt_kind_parse(bad_opt[i], &k, &err), SP_EINPUT);
        assert_int_equal(k, SP_OPT_SGD);
        char want[128];
        snprintf(want, sizeof want, "optimizer must be one of sgd, adam, adamw, not '%s'", bad_opt[i]);
        assert_string_equal(err.msg, want);
    }
    sp_sched_kind s = SP_SCHED_COSINE;
    assert_int_equal(sp_sched_kind_parse("linear", &s, &err), SP_EINPUT);
    assert_int_equal(s, SP_SCHED_COSINE);
    assert_string_equal(err.msg, "schedule must be one of constant, warmup, invsqrt, cosine, not 'linear'");
    /* A NULL error record is allowed: only the status comes back. */
    assert_int_equal(sp_sched_kind_parse("cos", &s, NULL), SP_EINPUT);
}

typedef struct {
    const char *field;
    double value;
    const char *needle; /* NULL: must pass */
} check_case;

static void set_field(sp_optim_config *c, const char *field, double value)
{
    if (!strcmp(field, "lr")) c->lr = value;
    else if (!strcmp(field, "momentum")) c->momentum = value;
    else if (!strcmp(field, "beta1")) c->beta1 = value;
    else if (!strcmp(field, "beta2")) c->beta2 = value;
    else if (!strcmp(field, "eps")) c->eps = value;
    else if (!strcmp(field, "weight_decay")) c->weight_decay = value;
    else if (!strcmp(field, "clip")) c->clip = value;
    else fail_msg("no field %s", field);
}

static void test_check(void **state)
{
    (void)state;
    const check_case cases[] = {
        {"lr", 0, "lr must be a finite number > 0, not 0"},
        {"lr", -1e-3, "lr must be a finite number > 0, not -0.001"},
        {"lr", NAN, "lr must be a finite number > 0, not nan"},
        {"lr", INFINITY, "lr must be a finite number > 0, not inf"},
        {"lr", 1e-12, NULL},
        {"momentum", 0, NULL},
        {"momentum", 0.999, NULL},
        {"momentum", 1, "momentum must be in [0, 1), not 1"},
        {"momentum", -0.5, "momentum must be in [0, 1), not -0.5"},
        {"momentum", NAN, "momentum must be in [0, 1), not nan"},
        {"beta1", 0, NULL},
        {"beta1", 1, "beta1 must be in [0, 1), not 1"},
        {"beta1", -0.1, "beta1 must be in [0, 1), not -0.1"},
        {"beta2", 0, NULL},
        {"beta2", 1, "beta2 must be in [0, 1), not 1"},
        {"beta2", 1.5, "beta2 must be in [0, 1), not 1.5"},
        {"eps", 0, "eps must be a finite number > 0, not 0"},
        {"eps", -1e-8, "eps must be a finite number > 0, not -1e-08"},
        {"eps", 1e-30, NULL},
        {"weight_decay", 0, NULL},
        {"weight_decay", -0.01, "weight_decay must be a finite number >= 0, not -0.01"},
        {"weight_decay", INFINITY, "weight_decay must be a finite number >= 0, not inf"},
        {"clip", 0, NULL},
        {"clip", 1, NULL},
        {"clip", -1, "clip must be a finite number >= 0 (0: no clipping), not -1"},
        {"clip", NAN, "clip must be a finite number >= 0 (0: no clipping), not nan"},
        {"clip", INFINITY, "clip must be a finite number >= 0 (0: no clipping), not inf"},
        {"eps", INFINITY, "eps must be a finite number > 0, not inf"},
        {"beta1", NAN, "beta1 must be in [0, 1), not nan"},
        {"beta2", -1e-9, "beta2 must be in [0, 1), not -1e-09"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sp_optim_config c;
        sp_optim_config_default(&c);
        set_field(&c, cases[i].field, cases[i].value);
        sp_error err;
        sp_error_clear(&err);
        int st = sp_optim_config_check(&c, &err);
        if (!cases[i].needle) {
            if (st != SP_OK) fail_msg("%s = %g rejected: %s", cases[i].field, cases[i].value, err.msg);
            continue;
        }
        if (st != SP_EINPUT) fail_msg("%s = %g accepted", cases[i].field, cases[i].value);
        assert_string_equal(err.msg, cases[i].needle);
    }

    sp_optim_config c;
    sp_optim_config_default(&c);
    sp_error err;
    c.schedule = SP_SCHED_COSINE;
    c.warmup = 10;
    c.total = 10;
    assert_int_equal(sp_optim_config_check(&c, &err), SP_EINPUT);
    assert_string_equal(err.msg, "the cosine schedule needs total steps (10) > warmup steps (10)");
    c.total = 0;
    c.warmup = 0;
    assert_int_equal(sp_optim_config_check(&c, &err), SP_EINPUT);
    c.total = 11;
    c.warmup = 10;
    assert_int_equal(sp_optim_config_check(&c, &err), SP_OK);
    /* total is a cosine setting only. */
    c.schedule = SP_SCHED_WARMUP;
    c.total = 0;
    assert_int_equal(sp_optim_config_check(&c, &err), SP_OK);
    c.kind = (sp_opt_kind)7;
    assert_int_equal(sp_optim_config_check(&c, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "unknown optimizer"));
    c.kind = SP_OPT_SGD;
    c.schedule = (sp_sched_kind)7;
    assert_int_equal(sp_optim_config_check(&c, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "unknown schedule"));
}

/* ---- schedules ---- */

static sp_optim_config sched(sp_sched_kind kind, uint64_t warmup, uint64_t total)
{
    sp_optim_config c = config(SP_OPT_SGD, 0.2);
    c.schedule = kind;
    c.warmup = warmup;
    c.total = total;
    return c;
}

#define LR(c, t, want) NEAR(sp_schedule_lr(&(c), (t)), (want), 1e-15)

static void test_schedule_constant(void **state)
{
    (void)state;
    sp_optim_config c = sched(SP_SCHED_CONSTANT, 5, 0);
    LR(c, 0, 0.2);
    LR(c, 4, 0.2);
    LR(c, 5, 0.2);
    LR(c, 1000000000, 0.2);
}

static void test_schedule_warmup(void **state)
{
    (void)state;
    sp_optim_config c = sched(SP_SCHED_WARMUP, 4, 0);
    LR(c, 0, 0.05);
    LR(c, 1, 0.1);
    LR(c, 2, 0.15);
    LR(c, 3, 0.2); /* warmup − 1: the last warm-up step reaches lr */
    LR(c, 4, 0.2);
    LR(c, 100, 0.2);
    c.warmup = 1;
    LR(c, 0, 0.2);
    c.warmup = 0;
    LR(c, 0, 0.2);
    LR(c, 7, 0.2);
}

static void test_schedule_invsqrt(void **state)
{
    (void)state;
    sp_optim_config c = sched(SP_SCHED_INVSQRT, 4, 0);
    LR(c, 0, 0.2);
    LR(c, 3, 0.2);                   /* warmup − 1 */
    LR(c, 4, 0.2 * sqrt(4.0 / 5.0)); /* warmup: 0.178885... */
    LR(c, 4, 0.17888543819998318);
    LR(c, 15, 0.1);                  /* step 16: sqrt(4/16) = 1/2 */
    LR(c, 99, 0.04);                 /* step 100: sqrt(4/100) = 1/5 */
    LR(c, 399, 0.02);
    c.warmup = 0;                    /* W = 1: ∝ 1/√(t+1) from the start */
    LR(c, 0, 0.2);
    LR(c, 3, 0.1);
    LR(c, 8, 0.2 / 3);
    c.warmup = 1;
    LR(c, 3, 0.1);
}

static void test_schedule_cosine(void **state)
{
    (void)state;
    sp_optim_config c = sched(SP_SCHED_COSINE, 2, 6);
    LR(c, 0, 0.1);
    LR(c, 1, 0.2);                  /* warmup − 1 */
    LR(c, 2, 0.2);                  /* warmup: cos 0 */
    LR(c, 3, 0.1 * (1 + sqrt(0.5))); /* cos(π/4) */
    LR(c, 3, 0.17071067811865476);
    LR(c, 4, 0.1);                  /* cos(π/2) */
    LR(c, 5, 0.029289321881345254); /* cos(3π/4): total − 1 */
    LR(c, 6, 0);                    /* total */
    LR(c, 7, 0);
    LR(c, 1000000, 0);
    c = sched(SP_SCHED_COSINE, 0, 4);
    LR(c, 0, 0.2);
    LR(c, 1, 0.1 * (1 + sqrt(0.5)));
    LR(c, 2, 0.1);
    LR(c, 3, 0.1 * (1 - sqrt(0.5)));
    LR(c, 4, 0);
    c = sched(SP_SCHED_COSINE, 3, 4); /* one cosine step at full lr, then 0 */
    LR(c, 0, 0.2 / 3);
    LR(c, 2, 0.2);
    LR(c, 3, 0.2);
    LR(c, 4, 0);
}

/* ---- SGD ---- */

static void test_sgd_plain(void **state)
{
    (void)state;
    sp_optim_config c = config(SP_OPT_SGD, 0.5);
    c.momentum = 0;
    sp_optim o;
    sp_optim_init(&o, &c, 2);
    assert_null(o.v);
    float p[2] = {1, -2};
    float g[3][2] = {{0.5f, 1}, {0.25f, -4}, {-1, 0}};
    sp_optim_step(&o, p, g[0]);
    SAME(p[0], 0.75f);
    SAME(p[1], -2.5f);
    sp_optim_step(&o, p, g[1]);
    SAME(p[0], 0.625f);
    SAME(p[1], -0.5f);
    sp_optim_step(&o, p, g[2]);
    SAME(p[0], 1.125f);
    SAME(p[1], -0.5f);
    assert_int_equal(o.step, 3);
    sp_optim_free(&o);
}

/* b = g at the first step (not (1 − μ) g), then b = μ b + g. */
static void test_sgd_momentum(void **state)
{
    (void)state;
    sp_optim_config c = config(SP_OPT_SGD, 0.5);
    c.momentum = 0.5;
    sp_optim o;
    sp_optim_init(&o, &c, 2);
    float p[2] = {1, -2};
    float g[3][2] = {{0.5f, 1}, {0.25f, -4}, {-1, 0}};
    sp_optim_step(&o, p, g[0]); /* b = (0.5, 1) */
    SAME(o.m[0], 0.5f);
    SAME(p[0], 0.75f);
    SAME(p[1], -2.5f);
    sp_optim_step(&o, p, g[1]); /* b = (0.5, -3.5) */
    SAME(o.m[0], 0.5f);
    SAME(o.m[1], -3.5f);
    SAME(p[0], 0.5f);
    SAME(p[1], -0.75f);
    sp_optim_step(&o, p, g[2]); /* b = (-0.75, -1.75) */
    SAME(o.m[0], -0.75f);
    SAME(o.m[1], -1.75f);
    SAME(p[0], 0.875f);
    SAME(p[1], 0.125f);
    sp_optim_free(&o);
}

/* L2 weight decay enters the gradient (and so the momentum), not the caller's gradient buffer. */
static void test_sgd_weight_decay(void **state)
{
    (void)state;
    sp_optim_config c = config(SP_OPT_SGD, 0.5);
    c.momentum = 0.5;
    c.weight_decay = 0.5;
    sp_optim o;
    sp_optim_init(&o, &c, 1);
    float p[1] = {1};
    float g[3] = {0.5f, 0.25f, -1};
    sp_optim_step(&o, p, &g[0]); /* g' = 0.5 + 0.5 = 1, b = 1, p = 0.5 */
    SAME(g[0], 0.5f);
    SAME(o.m[0], 1.0f);
    SAME(p[0], 0.5f);
    sp_optim_step(&o, p, &g[1]); /* g' = 0.25 + 0.25 = 0.5, b = 0.5 + 0.5 = 1, p = 0 */
    SAME(p[0], 0.0f);
    sp_optim_step(&o, p, &g[2]); /* g' = -1 + 0 = -1, b = 0.5 - 1 = -0.5, p = 0.25 */
    SAME(o.m[0], -0.5f);
    SAME(p[0], 0.25f);
    sp_optim_free(&o);

    c.momentum = 0;
    sp_optim_init(&o, &c, 1);
    p[0] = 1;
    float g1 = 0.5f;
    sp_optim_step(&o, p, &g1); /* p = 1 - 0.5 (0.5 + 0.5) */
    SAME(p[0], 0.5f);
    sp_optim_step(&o, p, &g1); /* p = 0.5 - 0.5 (0.5 + 0.25) */
    SAME(p[0], 0.125f);
    sp_optim_free(&o);
}

/* The t-th update uses lr_t, t = 0 first. */
static void test_step_uses_schedule(void **state)
{
    (void)state;
    sp_optim_config c = config(SP_OPT_SGD, 1);
    c.momentum = 0;
    c.schedule = SP_SCHED_WARMUP;
    c.warmup = 4;
    sp_optim o;
    sp_optim_init(&o, &c, 1);
    float p = 0, g = 1;
    const float want[] = {-0.25f, -0.75f, -1.5f, -2.5f, -3.5f, -4.5f};
    for (int t = 0; t < 6; t++) {
        assert_int_equal(o.step, t);
        sp_optim_step(&o, &p, &g);
        SAME(p, want[t]);
    }
    sp_optim_free(&o);

    c.schedule = SP_SCHED_COSINE;
    c.warmup = 0;
    c.total = 2;
    sp_optim_init(&o, &c, 1);
    p = 0;
    sp_optim_step(&o, &p, &g); /* lr 1 */
    sp_optim_step(&o, &p, &g); /* lr 0.5 */
    sp_optim_step(&o, &p, &g); /* lr 0 */
    SAME(p, -1.5f);
    sp_optim_free(&o);
}

/* ---- Adam, AdamW ---- */

/* First step: m̂ = g, v̂ = g², so p moves by −lr g / (|g| + eps) ≈ −lr sign(g). */
static void test_adam_first_step(void **state)
{
    (void)state;
    const float g[] = {2, -2, 1e-3f, -1e3f, 0.37f, -1e-5f, 0};
    const size_t n = sizeof g / sizeof *g;
    sp_optim_config c = config(SP_OPT_ADAM, 0.1);
    sp_optim o;
    sp_optim_init(&o, &c, n);
    float p[sizeof g / sizeof *g] = {0}, gg[sizeof g / sizeof *g];
    memcpy(gg, g, sizeof g);
    sp_optim_step(&o, p, gg);
    for (size_t i = 0; i < n; i++) {
        double ag = fabs((double)g[i]), want = -0.1 * (double)g[i] / (ag + 1e-8);
        NEAR(p[i], want, 3e-7 * 0.1); /* a few float32 roundings */
        /* ≈ −lr sign(g), off by the relative eps / |g| */
        if (ag >= 1e-3) NEAR(p[i], g[i] > 0 ? -0.1 : 0.1, 0.1 * (1e-8 / ag + 3e-7));
    }
    SAME(p[6], 0.0f); /* g = 0: no move */
    NEAR(p[5], -0.1 * -1e-5 / (1e-5 + 1e-8), 3e-8); /* eps is felt: 0.0999000999 */
    sp_optim_free(&o);

    /* L2 decay: g' = g + wd p can flip the direction. p = 2, g = −0.5, wd = 0.5: g' = 0.5. */
    c.weight_decay = 0.5;
    sp_optim_init(&o, &c, 1);
    float p1 = 2, g1 = -0.5f;
    sp_optim_step(&o, &p1, &g1);
    NEAR(p1, 1.9, 1e-7);
    SAME(g1, -0.5f);
    sp_optim_free(&o);
}

/* AdamW decays p by (1 − lr wd) first, then takes Adam's step on the raw gradient. */
static void test_adamw_first_step(void **state)
{
    (void)state;
    sp_optim_config c = config(SP_OPT_ADAMW, 0.1);
    c.weight_decay = 0.5;
    sp_optim o;
    sp_optim_init(&o, &c, 3);
    float p[3] = {2, 2, -4}, g[3] = {-0.5f, 3, 0};
    sp_optim_step(&o, p, g);
    NEAR(p[0], 2 * 0.95 + 0.1, 1e-6); /* 2.0 */
    NEAR(p[1], 2 * 0.95 - 0.1, 1e-6); /* 1.8 */
    NEAR(p[2], -4 * 0.95, 1e-6);      /* decay only */
    SAME(g[0], -0.5f);
    sp_optim_free(&o);
}

/* The textbook algorithm (Kingma & Ba; Loshchilov & Hutter for AdamW) in double, with its own
 * schedule, clipping and bias corrections. */
typedef struct {
    sp_opt_kind kind;
    double lr, b1, b2, eps, wd, clip;
    uint64_t warmup, total; /* cosine schedule; total 0: constant */
} ref_cfg;

static const double ref_pi = 3.14159265358979323846;

static double ref_lr(const ref_cfg *r, uint64_t t)
{
    if (!r->total) return r->lr;
    if (t + 1 <= r->warmup) return r->lr * (double)(t + 1) / (double)r->warmup;
    if (t >= r->total) return 0;
    double frac = (double)(t - r->warmup) / (double)(r->total - r->warmup);
    return r->lr * (cos(frac * ref_pi) + 1) / 2;
}

static void ref_step(const ref_cfg *r, uint64_t t, size_t n, double *p, double *m, double *v,
                     const float *grads)
{
    double sq = 0;
    for (size_t i = 0; i < n; i++) sq += (double)grads[i] * grads[i];
    double scale = 1;
    if (r->clip > 0 && sqrt(sq) + 1e-6 > r->clip) scale = r->clip / (sqrt(sq) + 1e-6);
    double lr = ref_lr(r, t);
    double k = (double)(t + 1);
    for (size_t i = 0; i < n; i++) {
        double g = grads[i] * scale;
        if (r->kind == SP_OPT_ADAMW) p[i] -= lr * r->wd * p[i];
        else g += r->wd * p[i];
        m[i] = r->b1 * m[i] + (1 - r->b1) * g;
        v[i] = r->b2 * v[i] + (1 - r->b2) * g * g;
        double mhat = m[i] / (1 - pow(r->b1, k)), vhat = v[i] / (1 - pow(r->b2, k));
        p[i] -= lr * mhat / (sqrt(vhat) + r->eps);
    }
}

/* Float32 against double: p is rounded to float at every step (0.5 ulp, 6e-8 relative, a few
 * times a step), and the moments decay by the float-rounded betas while the bias corrections
 * use the exact ones (as in torch). So each parameter is held to 2e-6 · max(|p|, 1) and the
 * whole slab to 1e-6 in norm. Real mistakes are far larger: eps in the wrong place moves the
 * small-gradient parameters by ~lr (1e-2) a step; decaying after the update instead of before
 * is off by lr · wd · Δp (≥ 1e-6) every step. */
static void adam_vs_reference(const ref_cfg *r, unsigned long seed)
{
    const size_t n = 2000, steps = 20;
    gsl_rng *rng = sp_rng_new(seed);
    float *p = sp_malloc(n, sizeof *p), *g = sp_malloc(n, sizeof *g);
    double *pd = sp_malloc(n, sizeof *pd), *md = sp_calloc(n, sizeof *md), *vd = sp_calloc(n, sizeof *vd);
    double *scale = sp_malloc(n, sizeof *scale);
    for (size_t i = 0; i < n; i++) {
        p[i] = (float)gsl_ran_gaussian(rng, 1);
        pd[i] = p[i];
        /* Gradient scales from 1e-9 (far below eps, where eps dominates) to 10. */
        scale[i] = pow(10, -9 + 10 * gsl_rng_uniform(rng));
    }
    sp_optim_config c = config(r->kind, r->lr);
    c.beta1 = r->b1;
    c.beta2 = r->b2;
    c.eps = r->eps;
    c.weight_decay = r->wd;
    c.clip = r->clip;
    if (r->total) {
        c.schedule = SP_SCHED_COSINE;
        c.warmup = r->warmup;
        c.total = r->total;
    }
    sp_optim o;
    sp_optim_init(&o, &c, n);
    double worst = 0, worst_norm = 0;
    for (uint64_t t = 0; t < steps; t++) {
        for (size_t i = 0; i < n; i++) g[i] = (float)(scale[i] * gsl_ran_gaussian(rng, 1));
        ref_step(r, t, n, pd, md, vd, g);
        sp_optim_step(&o, p, g);
        double d2 = 0, r2 = 0;
        for (size_t i = 0; i < n; i++) {
            double err = fabs(p[i] - pd[i]) / fmax(fabs(pd[i]), 1);
            if (err > worst) worst = err;
            if (!(err <= 2e-6))
                fail_msg("%s seed %lu step %llu p[%zu] = %.9g, reference %.12g (relative error %.3g)",
                         sp_opt_kind_name(r->kind), seed, (unsigned long long)t, i, (double)p[i], pd[i], err);
            d2 += (p[i] - pd[i]) * (p[i] - pd[i]);
            r2 += pd[i] * pd[i];
        }
        double rel = sqrt(d2 / r2);
        if (rel > worst_norm) worst_norm = rel;
        if (!(rel <= 1e-6))
            fail_msg("%s seed %lu step %llu: |p - reference| / |reference| = %.3g",
                     sp_opt_kind_name(r->kind), seed, (unsigned long long)t, rel);
    }
    fprintf(stderr, "%-5s wd %-4g clip %-2g cosine %2llu/%-2llu seed %lu: largest difference %.2g per parameter, %.2g in norm\n",
            sp_opt_kind_name(r->kind), r->wd, r->clip, (unsigned long long)r->warmup,
            (unsigned long long)r->total, seed, worst, worst_norm);
    sp_optim_free(&o);
    free(p);
    free(g);
    free(pd);
    free(md);
    free(vd);
    free(scale);
    gsl_rng_free(rng);
}

static void test_adam_reference(void **state)
{
    (void)state;
    const ref_cfg cases[] = {
        {SP_OPT_ADAM, 1e-2, 0.9, 0.999, 1e-8, 0, 0, 0, 0},
        {SP_OPT_ADAM, 1e-2, 0.9, 0.999, 1e-8, 0.1, 0, 0, 0},
        {SP_OPT_ADAM, 3e-3, 0.8, 0.95, 1e-6, 0.01, 0, 5, 20},
        {SP_OPT_ADAMW, 1e-2, 0.9, 0.999, 1e-8, 0.01, 0, 0, 0},
        {SP_OPT_ADAMW, 1e-2, 0.9, 0.98, 1e-8, 0.3, 0, 4, 25},
        {SP_OPT_ADAMW, 1e-3, 0.0, 0.0, 1e-8, 0.1, 0, 0, 0},
        /* Clipping on every step (gradient norms are ~100) and then some. */
        {SP_OPT_ADAMW, 1e-2, 0.9, 0.999, 1e-8, 0.01, 1.0, 3, 20},
        {SP_OPT_ADAM, 1e-2, 0.9, 0.999, 1e-8, 0, 50.0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) adam_vs_reference(&cases[i], 1000 + i);
}

/* ---- clipping ---- */

static void test_grad_norm(void **state)
{
    (void)state;
    const float g[] = {3, -4};
    NEAR(sp_grad_norm(g, 2), 5, 0);
    NEAR(sp_grad_norm(g, 0), 0, 0);
    /* Accumulated in double: 1e6 terms of 0.01 after 1e8 would vanish in a float sum. */
    size_t n = 1000001;
    float *big = sp_malloc(n, sizeof *big);
    big[0] = 1e4f;
    for (size_t i = 1; i < n; i++) big[i] = 0.1f;
    double want = sqrt(1e8 + 1e6 * (double)0.1f * (double)0.1f);
    NEAR(sp_grad_norm(big, n), want, 1e-9 * want);
    free(big);
}

static void test_clip(void **state)
{
    (void)state;
    const size_t n = 1000;
    gsl_rng *rng = sp_rng_new(7);
    float *g0 = sp_malloc(n, sizeof *g0), *g = sp_malloc(n, sizeof *g), *p = sp_calloc(n, sizeof *p);
    for (size_t i = 0; i < n; i++) g0[i] = (float)gsl_ran_gaussian(rng, 2);
    double total = sp_grad_norm(g0, n);

    /* SGD at lr 1 from p = 0: p ends at minus the clipped gradient. */
    sp_optim_config c = config(SP_OPT_SGD, 1);
    c.momentum = 0;
    c.clip = total / 3;
    sp_optim o;
    sp_optim_init(&o, &c, n);
    memcpy(g, g0, n * sizeof *g);
    double got = sp_optim_step(&o, p, g);
    NEAR(got, total, 0); /* the norm before clipping */
    double coef = c.clip / (total + 1e-6);
    NEAR(sp_grad_norm(g, n), c.clip * total / (total + 1e-6), 1e-6 * c.clip);
    for (size_t i = 0; i < n; i++) {
        NEAR(g[i], g0[i] * coef, 1e-6 * fabs(g0[i]));
        SAME(p[i], -g[i]);
    }
    sp_optim_free(&o);

    /* Norm below the threshold: gradients untouched, bit for bit. */
    c.clip = 2 * total;
    sp_optim_init(&o, &c, n);
    memcpy(g, g0, n * sizeof *g);
    NEAR(sp_optim_step(&o, p, g), total, 0);
    assert_memory_equal(g, g0, n * sizeof *g);
    sp_optim_free(&o);

    /* clip 0: no clipping at any norm. */
    c.clip = 0;
    sp_optim_init(&o, &c, n);
    for (size_t i = 0; i < n; i++) g0[i] *= 1e4f;
    memcpy(g, g0, n * sizeof *g);
    NEAR(sp_optim_step(&o, p, g), sp_grad_norm(g0, n), 0);
    assert_memory_equal(g, g0, n * sizeof *g);
    sp_optim_free(&o);

    /* clip = norm exactly still scales, by norm / (norm + 1e-6): 0.999001 for a norm of 1e-3. */
    float small[2] = {6e-4f, 8e-4f}, small0[2] = {6e-4f, 8e-4f}, ps[2] = {0, 0};
    double tn = sp_grad_norm(small, 2);
    c.clip = tn;
    sp_optim_init(&o, &c, 2);
    NEAR(sp_optim_step(&o, ps, small), tn, 0);
    for (int i = 0; i < 2; i++) NEAR(small[i], small0[i] * tn / (tn + 1e-6), 1e-7 * small0[i]);
    assert_true(small[1] < small0[1] * 0.9995f);
    sp_optim_free(&o);

    free(g0);
    free(g);
    free(p);
    gsl_rng_free(rng);
}

/* ---- state, and gradients gone bad ---- */

static void test_init_free(void **state)
{
    (void)state;
    sp_optim_config c = config(SP_OPT_ADAM, 1e-3);
    sp_optim o;
    sp_optim_init(&o, &c, 100);
    assert_int_equal(o.n, 100);
    assert_int_equal(o.step, 0);
    assert_true(o.cfg.kind == SP_OPT_ADAM && o.cfg.lr == 1e-3);
    assert_non_null(o.m);
    assert_non_null(o.v);
    for (size_t i = 0; i < 100; i++) assert_true(o.m[i] == 0 && o.v[i] == 0);
    sp_optim_free(&o);
    assert_null(o.m);
    assert_null(o.v);
    /* An empty slab is allowed. */
    sp_optim_init(&o, &c, 0);
    float x = 0;
    NEAR(sp_optim_step(&o, &x, &x), 0, 0);
    assert_int_equal(o.step, 1);
    sp_optim_free(&o);
}

static void test_nan_gradients(void **state)
{
    (void)state;
    const sp_opt_kind kinds[] = {SP_OPT_SGD, SP_OPT_ADAM, SP_OPT_ADAMW};
    for (int k = 0; k < 3; k++)
        for (int clip = 0; clip < 2; clip++) {
            sp_optim_config c = config(kinds[k], 1e-2);
            c.weight_decay = 0.1;
            c.clip = clip ? 1.0 : 0;
            sp_optim o;
            sp_optim_init(&o, &c, 3);
            float p[3] = {1, 2, 3};
            float g[3] = {NAN, 1, -1};
            assert_true(isnan(sp_optim_step(&o, p, g)));
            assert_true(isnan(p[0]));
            float h[3] = {INFINITY, 1, -1};
            assert_true(isinf(sp_optim_step(&o, p, h)));
            assert_int_equal(o.step, 2);
            sp_optim_free(&o);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_schedule_constant),
        cmocka_unit_test(test_schedule_warmup),
        cmocka_unit_test(test_schedule_invsqrt),
        cmocka_unit_test(test_schedule_cosine),
        cmocka_unit_test(test_sgd_plain),
        cmocka_unit_test(test_sgd_momentum),
        cmocka_unit_test(test_sgd_weight_decay),
        cmocka_unit_test(test_step_uses_schedule),
        cmocka_unit_test(test_adam_first_step),
        cmocka_unit_test(test_adamw_first_step),
        cmocka_unit_test(test_adam_reference),
        cmocka_unit_test(test_grad_norm),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_init_free),
        cmocka_unit_test(test_nan_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
