/* Training: the losses and their gradients, the batch order, learning Dyck-1 and a^n b^n,
 * exact resumption, the records a run writes, a non-finite gradient stopping the run, and
 * parameter-norm growth with and without weight decay. */
#include "testutil.h"

#include "satprobe/alloc.h"
#include "satprobe/dataset.h"
#include "satprobe/rng.h"
#include "satprobe/train.h"
#include "../src/train/train_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int setup(void **state)
{
    (void)state;
    return tu_tmp_dir_make("train");
}

static int teardown(void **state)
{
    (void)state;
    return tu_tmp_dir_remove();
}

/* ---- losses ---- */

static void test_loss_recognize(void **state)
{
    (void)state;
    float z[4] = {0.0f, 2.0f, -3.0f, 40.0f};
    bool y[4] = {true, false, false, true};
    float dz[4] = {0};
    double l = sp_loss_recognize(z, y, 4, 1.0, dz);
    double want = (log(2.0) + (2.0 + log1p(exp(-2.0))) + log1p(exp(-3.0)) + log1p(exp(-40.0))) / 4;
    assert_true(fabs(l - want) < 1e-12);
    /* dL/dz = (sigmoid(z) - y) / B, against central differences */
    for (int b = 0; b < 4; b++) {
        float zp[4], zm[4];
        memcpy(zp, z, sizeof z);
        memcpy(zm, z, sizeof z);
        zp[b] += 1e-3f;
        zm[b] -= 1e-3f;
        double fd = (sp_loss_recognize(zp, y, 4, 1, NULL) - sp_loss_recognize(zm, y, 4, 1, NULL)) / (zp[b] - zm[b]);
        assert_true(fabs(fd - dz[b]) < 1e-6);
    }
    /* weights scale the gradient, not the returned loss; gradients add */
    float dz2[4] = {1, 1, 1, 1};
    assert_true(fabs(sp_loss_recognize(z, y, 4, 0.5, dz2) - want) < 1e-12);
    for (int b = 0; b < 4; b++) assert_true(fabs(dz2[b] - (1 + 0.5 * dz[b])) < 1e-7);
}

static void test_loss_predict(void **state)
{
    (void)state;
    /* k = 2, O = 3, T = 4: string 0 of length 2 (positive), string 1 of length 1 (negative) */
    enum { T = 4, O = 3, B = 2 };
    float z[B * T * O];
    for (int i = 0; i < B * T * O; i++) z[i] = (float)((i * 7 % 11) - 5) * 0.3f;
    size_t ns[B] = {2, 1};
    bool label[B] = {true, false};
    bool next0[3 * 2] = {true, false, false, true, true, true}, end0[3] = {false, false, true};
    const bool *nexts[B] = {next0, NULL}, *ends[B] = {end0, NULL};
    float dz[B * T * O] = {0};
    double l = sp_loss_predict(z, T, 2, ns, label, nexts, ends, B, 1.0, dz);
    double want = 0;
    for (int t = 0; t < 3; t++)
        for (int a = 0; a < 3; a++) {
            double x = z[t * O + a], yy = a < 2 ? next0[t * 2 + a] : end0[t];
            want += log1p(exp(-fabs(x))) + (x > 0 ? x : 0) - yy * x;
        }
    want /= 9;
    assert_true(fabs(l - want) < 1e-12);
    for (int i = 0; i < B * T * O; i++) {
        bool used = i < 3 * O;
        if (!used) {
            assert_true(dz[i] == 0.0f);
            continue;
        }
        float zp[B * T * O], zm[B * T * O];
        memcpy(zp, z, sizeof z);
        memcpy(zm, z, sizeof z);
        zp[i] += 1e-3f;
        zm[i] -= 1e-3f;
        double fd = (sp_loss_predict(zp, T, 2, ns, label, nexts, ends, B, 1, NULL) -
                     sp_loss_predict(zm, T, 2, ns, label, nexts, ends, B, 1, NULL)) /
                    (zp[i] - zm[i]);
        assert_true(fabs(fd - dz[i]) < 1e-6);
    }
    /* no positive: no loss, no gradient */
    label[0] = false;
    memset(dz, 0, sizeof dz);
    assert_true(sp_loss_predict(z, T, 2, ns, label, nexts, ends, B, 1, dz) == 0.0);
    for (int i = 0; i < B * T * O; i++) assert_true(dz[i] == 0.0f);
}

/* ---- data ---- */

static sp_dataset *make_data_lengths(const char *grammar, const char *name, size_t train, size_t per_bin,
                                     const char *lengths, const char *bins, unsigned long seed, const char *split)
{
    sp_lang *lang = tu_load_zoo(grammar);
    sp_gen_options g;
    sp_gen_options_default(&g);
    g.train = train;
    g.per_bin = per_bin;
    g.seed = seed;
    sp_error err;
    assert_int_equal(sp_gen_parse_range(lengths, "x", &g.train_lengths, &err), SP_OK);
    assert_int_equal(sp_gen_parse_bins(bins, g.bins, &g.nbins, &err), SP_OK);
    const char *d = tu_tmp_path(name);
    sp_gen_summary s;
    if (access(d, F_OK) != 0 && sp_gen_run(lang, NULL, d, &g, &s, &err)) fail_msg("gen: %s", err.msg);
    sp_dataset *ds;
    if (sp_dataset_load(d, split, &ds, &err)) fail_msg("load: %s", err.msg);
    sp_lang_destroy(lang);
    return ds;
}

static sp_dataset *make_data(const char *grammar, const char *name, size_t train, size_t per_bin, const char *bins,
                             unsigned long seed, const char *split)
{
    return make_data_lengths(grammar, name, train, per_bin, "1:20", bins, seed, split);
}

static void test_batch_plan(void **state)
{
    (void)state;
    sp_dataset *ds = make_data("dyck-1", "dyck1-data", 1000, 200, "1:20", 3, "train");
    sp_batch_plan p, q;
    sp_batch_plan_init(&p, ds, 32, 7);
    sp_batch_plan_init(&q, ds, 32, 7);
    assert_int_equal(p.per_epoch, 1000 / 32);
    /* an epoch uses each example at most once; the same seed gives the same batches, asked in
     * any order; batches hold strings of similar lengths */
    for (uint64_t e = 0; e < 2; e++) {
        int *seen = sp_calloc(ds->count, sizeof *seen);
        double spread = 0;
        for (uint64_t s = 0; s < p.per_epoch; s++) {
            const size_t *a = sp_batch_plan_get(&p, e * p.per_epoch + s);
            size_t lo = SIZE_MAX, hi = 0;
            for (size_t b = 0; b < 32; b++) {
                assert_int_equal(seen[a[b]]++, 0);
                size_t n = ds->start[a[b] + 1] - ds->start[a[b]];
                lo = n < lo ? n : lo;
                hi = n > hi ? n : hi;
            }
            spread += (double)(hi - lo);
        }
        assert_true(spread / (double)p.per_epoch < 6); /* lengths 1..20 at random would spread ~17 */
        free(seen);
    }
    for (uint64_t s = 70; s-- > 0;) {
        const size_t *a = sp_batch_plan_get(&q, s);
        size_t keep[32];
        memcpy(keep, a, sizeof keep);
        assert_memory_equal(keep, sp_batch_plan_get(&p, s), sizeof keep);
    }
    /* another seed, another order */
    sp_batch_plan r;
    sp_batch_plan_init(&r, ds, 32, 8);
    size_t keep[32];
    memcpy(keep, sp_batch_plan_get(&r, 0), sizeof keep);
    assert_true(memcmp(keep, sp_batch_plan_get(&p, 0), sizeof keep) != 0);
    sp_batch_plan_free(&p);
    sp_batch_plan_free(&q);
    sp_batch_plan_free(&r);
    sp_dataset_destroy(ds);
}

/* ---- training runs ---- */

static sp_model *small_model(const sp_dataset *ds, size_t d, size_t layers, bool bias, sp_norm norm, unsigned long seed)
{
    sp_model_config c;
    sp_config_init(&c);
    sp_config_set_alphabet(&c, (const char *const *)ds->symbols, ds->k);
    c.d_model = d;
    c.layers = layers;
    c.heads = 2;
    c.d_ff = 2 * d;
    c.bias = bias;
    c.norm = norm;
    c.max_len = 64;
    c.npos = 1;
    c.pos[0] = SP_POS_LEARNED;
    sp_model *m;
    sp_error err;
    assert_int_equal(sp_model_new(&c, &m, &err), SP_OK);
    sp_config_free(&c);
    gsl_rng *r = sp_rng_new(seed);
    sp_model_init_random(m, r);
    gsl_rng_free(r);
    return m;
}

/* Dyck-1 validates on strings of the training lengths that training never saw. a^n b^n has only
 * 50 strings of lengths 1..100, all of them in the training split, so its validation split is a
 * second draw with another seed: the same 50 positives and fresh negatives (near misses and
 * random strings), i.e. whether the model rejects negatives it has not seen. */
static void learn(const char *grammar)
{
    char name[64], name2[64];
    snprintf(name, sizeof name, "%s-learn", grammar);
    snprintf(name2, sizeof name2, "%s-learn-val", grammar);
    bool few = !strcmp(grammar, "anbn");
    sp_dataset *tr = make_data_lengths(grammar, name, 2000, 400, few ? "1:100" : "1:20", few ? "101:120" : "1:20", 5,
                                       "train");
    sp_dataset *va = few ? make_data_lengths(grammar, name2, 2000, 400, "1:100", "101:120", 6, "train")
                         : make_data_lengths(grammar, name, 2000, 400, "1:20", "1:20", 5, "test-1-20");
    sp_model *m = small_model(tr, 32, 2, true, SP_NORM_PRE, 2);
    if (few) { /* positions to 101 and the relative position i/n */
        sp_model_destroy(m);
        sp_model_config c;
        sp_config_init(&c);
        sp_config_set_alphabet(&c, (const char *const *)tr->symbols, tr->k);
        c.d_model = 32;
        c.heads = 2;
        c.d_ff = 64;
        c.max_len = 128;
        c.npos = 2;
        c.pos[0] = SP_POS_LEARNED;
        c.pos[1] = SP_POS_I_N;
        sp_error e;
        assert_int_equal(sp_model_new(&c, &m, &e), SP_OK);
        sp_config_free(&c);
        gsl_rng *r = sp_rng_new(2);
        sp_model_init_random(m, r);
        gsl_rng_free(r);
    }
    sp_train_options o;
    sp_train_options_default(&o);
    o.steps = 1500;
    o.batch = 32;
    o.val_every = 250;
    o.optim.lr = 1e-3;
    o.optim.kind = SP_OPT_ADAMW;
    sp_train_summary s;
    sp_error err;
    snprintf(name, sizeof name, "%s-run", grammar);
    if (sp_train(m, tr, va, &o, tu_tmp_path(name), false, &s, &err)) fail_msg("train: %s", err.msg);
    printf("%s: %zu training strings; validation accuracy %.4f at the end, %.4f at the best loss (step %llu), "
           "%.1f s\n", grammar, tr->count, s.val_acc, s.best_val_acc, (unsigned long long)s.best_step, s.seconds);
    assert_true(s.val_acc >= 0.95 || s.best_val_acc >= 0.95);
    sp_model_destroy(m);
    sp_dataset_destroy(tr);
    sp_dataset_destroy(va);
}

static void test_learns_dyck1(void **state)
{
    (void)state;
    learn("dyck-1");
}

static void test_learns_anbn(void **state)
{
    (void)state;
    learn("anbn");
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = sp_malloc((size_t)n + 1, 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void same_file(const char *a, const char *b)
{
    size_t la, lb;
    unsigned char *x = slurp(a, &la), *y = slurp(b, &lb);
    if (la != lb || memcmp(x, y, la)) fail_msg("%s and %s differ", a, b);
    free(x);
    free(y);
}

/* Every file two run directories under the scratch directory hold is the same. */
static void same_run(const char *a, const char *b)
{
    static const char *const files[] = {"model.safetensors", "best.safetensors", "optim.safetensors", "train.csv",
                                        "norms.csv", "saturation.csv", "fit.json"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char x[160], y[160];
        snprintf(x, sizeof x, "%s/%s/%s", tu_tmp_dir(), a, files[i]);
        snprintf(y, sizeof y, "%s/%s/%s", tu_tmp_dir(), b, files[i]);
        same_file(x, y);
    }
}

/* 100 steps, then resume to 200, equals 200 steps at once: parameters, moments and records. */
static void test_resume_exact(void **state)
{
    (void)state;
    sp_dataset *tr = make_data("dyck-2", "dyck2-data", 600, 100, "1:20", 9, "train");
    sp_dataset *va = make_data("dyck-2", "dyck2-data", 600, 100, "1:20", 9, "test-1-20");
    sp_train_options o;
    sp_train_options_default(&o);
    o.steps = 200;
    o.batch = 16;
    o.val_every = 50;
    o.optim.kind = SP_OPT_ADAM;
    o.optim.clip = 1.0;
    sp_train_summary s;
    sp_error err;
    sp_model *a = small_model(tr, 16, 2, true, SP_NORM_PRE, 4);
    if (sp_train(a, tr, va, &o, tu_tmp_path("full"), false, &s, &err)) fail_msg("%s", err.msg);
    sp_model *b = small_model(tr, 16, 2, true, SP_NORM_PRE, 4);
    o.steps = 100;
    if (sp_train(b, tr, va, &o, tu_tmp_path("split"), false, &s, &err)) fail_msg("%s", err.msg);
    assert_int_equal(s.steps, 100);
    sp_model_destroy(b);
    b = small_model(tr, 16, 2, true, SP_NORM_PRE, 77); /* other weights: resume must replace them */
    o.steps = 200;
    if (sp_train(b, tr, va, &o, tu_tmp_path("split"), true, &s, &err)) fail_msg("%s", err.msg);
    assert_int_equal(s.start_step, 100);
    assert_memory_equal(sp_model_param_slab(a), sp_model_param_slab(b), sp_model_num_params(a) * sizeof(float));
    same_run("full", "split");
    sp_model_destroy(a);
    sp_model_destroy(b);
    sp_dataset_destroy(tr);
    sp_dataset_destroy(va);
}

static void copy_file(const char *from, const char *to)
{
    size_t n;
    unsigned char *b = slurp(from, &n);
    FILE *f = fopen(to, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f)) fail_msg("cannot write %s", to);
    free(b);
}

/* A run killed inside a checkpoint, after model.safetensors, best.safetensors and the records
 * of step 150 were written but before optim.safetensors (still step 100), resumes from step 100
 * and ends as the uninterrupted run does. */
static void test_resume_torn_checkpoint(void **state)
{
    (void)state;
    sp_dataset *tr = make_data("dyck-2", "dyck2-data", 600, 100, "1:20", 9, "train");
    sp_dataset *va = make_data("dyck-2", "dyck2-data", 600, 100, "1:20", 9, "test-1-20");
    sp_train_options o;
    sp_train_options_default(&o);
    o.batch = 16;
    o.val_every = 50;
    o.optim.kind = SP_OPT_ADAMW;
    sp_train_summary s;
    sp_error err;
    const char *names[] = {"torn-full", "torn", "torn-150"};
    uint64_t steps[] = {200, 100, 150};
    for (size_t i = 0; i < 3; i++) {
        sp_model *m = small_model(tr, 16, 2, true, SP_NORM_PRE, 4);
        o.steps = steps[i];
        if (sp_train(m, tr, va, &o, tu_tmp_path(names[i]), false, &s, &err)) fail_msg("%s", err.msg);
        sp_model_destroy(m);
    }
    static const char *const ahead[] = {"model.safetensors", "best.safetensors", "train.csv", "norms.csv",
                                        "saturation.csv"};
    for (size_t i = 0; i < sizeof ahead / sizeof *ahead; i++) {
        char x[160], y[160];
        snprintf(x, sizeof x, "%s/torn-150/%s", tu_tmp_dir(), ahead[i]);
        snprintf(y, sizeof y, "%s/torn/%s", tu_tmp_dir(), ahead[i]);
        copy_file(x, y);
    }
    sp_model *b = small_model(tr, 16, 2, true, SP_NORM_PRE, 77);
    o.steps = 200;
    if (sp_train(b, tr, va, &o, tu_tmp_path("torn"), true, &s, &err)) fail_msg("%s", err.msg);
    assert_int_equal(s.start_step, 100);
    same_run("torn-full", "torn");
    sp_model_destroy(b);
    sp_dataset_destroy(tr);
    sp_dataset_destroy(va);
}

static size_t count_lines(const char *path)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    size_t lines = 0;
    for (size_t i = 0; i < n; i++) lines += b[i] == '\n';
    free(b);
    return lines;
}

static void test_records(void **state)
{
    (void)state;
    sp_dataset *tr = make_data("dyck-2", "dyck2-data", 600, 100, "1:20", 9, "train");
    sp_dataset *va = make_data("dyck-2", "dyck2-data", 600, 100, "1:20", 9, "test-1-20");
    sp_model *m = small_model(tr, 16, 2, true, SP_NORM_POST, 4);
    sp_train_options o;
    sp_train_options_default(&o);
    o.steps = 95;
    o.val_every = 20;
    o.norm_every = 5;
    sp_train_summary s;
    sp_error err;
    if (sp_train(m, tr, va, &o, tu_tmp_path("rec"), false, &s, &err)) fail_msg("%s", err.msg);
    assert_int_equal(count_lines(tu_tmp_path("rec/train.csv")), 1 + 95);
    assert_int_equal(count_lines(tu_tmp_path("rec/norms.csv")), 1 + 1 + 19); /* step 0, 5..95 */
    assert_int_equal(count_lines(tu_tmp_path("rec/saturation.csv")), 1 + 1 + 5); /* 0, 20, 40, 60, 80, 95 */
    size_t n;
    unsigned char *t = slurp(tu_tmp_path("rec/norms.csv"), &n);
    assert_true(!strncmp((char *)t, "step,norm,norm_no_embed,layer0,layer1\n0,", 40));
    free(t);
    t = slurp(tu_tmp_path("rec/fit.json"), &n);
    assert_non_null(strstr((char *)t, "\"sqrt\""));
    assert_non_null(strstr((char *)t, "\"r2\""));
    free(t);
    sp_model_destroy(m);
    sp_dataset_destroy(tr);
    sp_dataset_destroy(va);
}

/* A learning rate that blows the weights up: the run stops with a message naming the step, and the
 * checkpoint of the last validation stays as it was. */
static void test_non_finite_stops(void **state)
{
    (void)state;
    sp_dataset *tr = make_data("dyck-2", "dyck2-data", 600, 100, "1:20", 9, "train");
    sp_dataset *va = make_data("dyck-2", "dyck2-data", 600, 100, "1:20", 9, "test-1-20");
    sp_model *m = small_model(tr, 16, 1, true, SP_NORM_NONE, 4);
    sp_train_options o;
    sp_train_options_default(&o);
    o.steps = 10;
    o.val_every = 5;
    o.optim.kind = SP_OPT_SGD;
    o.optim.momentum = 0;
    o.optim.lr = 1e-3;
    sp_train_summary s;
    sp_error err;
    if (sp_train(m, tr, va, &o, tu_tmp_path("nan"), false, &s, &err)) fail_msg("%s", err.msg);
    size_t n1, n2;
    unsigned char *before = slurp(tu_tmp_path("nan/model.safetensors"), &n1);
    o.steps = 400;
    o.optim.lr = 1e30;
    int st = sp_train(m, tr, va, &o, tu_tmp_path("nan"), true, &s, &err);
    assert_int_equal(st, SP_ECHECK);
    printf("stopped: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "step 1"));
    unsigned char *after = slurp(tu_tmp_path("nan/model.safetensors"), &n2);
    assert_true(n1 == n2 && !memcmp(before, after, n1));
    free(before);
    free(after);
    sp_model_destroy(m);
    sp_dataset_destroy(tr);
    sp_dataset_destroy(va);
}

/* Biasless pre-norm, AdamW: with weight decay 0 the norm grows; with 0.1 it grows much less. */
static void test_norm_growth(void **state)
{
    (void)state;
    sp_dataset *tr = make_data("dyck-2", "dyck2-data", 600, 100, "1:20", 9, "train");
    sp_dataset *va = make_data("dyck-2", "dyck2-data", 600, 100, "1:20", 9, "test-1-20");
    double growth[2];
    const double wd[2] = {0.0, 0.1};
    for (int i = 0; i < 2; i++) {
        sp_model *m = small_model(tr, 16, 2, false, SP_NORM_PRE, 4);
        sp_train_options o;
        sp_train_options_default(&o);
        o.steps = 600;
        o.val_every = 200;
        o.optim.kind = SP_OPT_ADAMW;
        o.optim.lr = 3e-3;
        o.optim.weight_decay = wd[i];
        sp_train_summary s;
        sp_error err;
        char name[32];
        snprintf(name, sizeof name, "norm-%d", i);
        if (sp_train(m, tr, va, &o, tu_tmp_path(name), false, &s, &err)) fail_msg("%s", err.msg);
        growth[i] = s.norm_end - s.norm_start;
        printf("weight decay %.1f: norm %.4f -> %.4f; sqrt fit a = %.4f, b = %.4f, r2 = %.4f; power p = %.4f, r2 = %.4f\n",
               wd[i], s.norm_start, s.norm_end, s.fit_sqrt.a, s.fit_sqrt.b, s.fit_sqrt.r2, s.fit_power.b,
               s.fit_power.r2);
        assert_true(s.has_fit);
        sp_model_destroy(m);
    }
    assert_true(growth[0] > 0);
    assert_true(growth[1] < 0.5 * growth[0]);
    sp_dataset_destroy(tr);
    sp_dataset_destroy(va);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_recognize), cmocka_unit_test(test_loss_predict),
        cmocka_unit_test(test_batch_plan),     cmocka_unit_test(test_resume_exact),
        cmocka_unit_test(test_resume_torn_checkpoint),
        cmocka_unit_test(test_records),        cmocka_unit_test(test_non_finite_stops),
        cmocka_unit_test(test_norm_growth),    cmocka_unit_test(test_learns_dyck1),
        cmocka_unit_test(test_learns_anbn),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
