/* Probe specs: a full file reads back exactly, omitted keys take their defaults, globs expand
 * against the source tree, and every mistake is an error at its line:col. */
#include "testutil.h"

#include "satprobe/probe.h"
#include "satprobe/sha256.h"
#include "sp_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Enough for the checks below to be valid on their own; tests add one section after it. */
#define HEAD "name: t\nlanguages: [grammars/dyck-1.yaml]\nmodels: [{name: m}]\n"


/* Parsing must fail at line:col with a message containing needle. */
static void expect_error(const char *yaml, int line, int col, const char *needle)
{
    sp_probe *p = (sp_probe *)1;
    sp_error err;
    sp_error_clear(&err);
    int status = sp_probe_parse(yaml, strlen(yaml), "<probe>", SP_SOURCE_DIR, &p, &err);
    assert_null(p);
    if (status != SP_EINPUT || err.line != line || err.col != col || !strstr(err.msg, needle)) {
        sp_error_print(&err, stderr);
        fail_msg("expected SP_EINPUT at %d:%d containing '%s', got status %d at %d:%d", line, col,
                 needle, status, err.line, err.col);
    }
    assert_string_equal(err.file, "<probe>");
}

static const char *src(const char *rel)
{
    static char buf[8][4096];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", SP_SOURCE_DIR, rel);
    return b;
}

static void test_full(void **state)
{
    (void)state;
    static const char yaml[] =
        "name: full-1\n"
        "languages: [grammars/tomita-2.yaml, grammars/dyck-1.yaml]\n"
        "data:\n"
        "  task: recognize\n"
        "  train: {size: 2000, lengths: [1, 50]}\n"
        "  test: {bins: [[1, 50], [51, 100], [101, 150]], size: 1000}\n"
        "  seed: 7\n"
        "models:\n"
        "  - name: small\n"
        "    config: {d_model: 32, layers: 2, heads: 4, d_ff: 64, norm: pre}\n"
        "  - name: wide_2\n"
        "    config:\n"
        "      d_model: 64\n"
        "      heads: 8\n"
        "      pos: [sinusoidal, i/n]\n"
        "train: {steps: 2000, batch: 16, optimizer: adam, lr: 3e-4, weight_decay: 0,\n"
        "        schedule: cosine, warmup: 100, patience: 5, val_every: 50}\n"
        "seeds: [3, 1, 2]\n"
        "modes: [soft, scaled:1000, saturated, hard, limit]\n"
        "constructions: [probes/constructions/dyck-1.yaml]\n"
        "analysis: [heads, norms]\n";
    sp_probe *p = tu_parse_probe(yaml);
    assert_string_equal(p->name, "full-1");
    assert_int_equal(p->nlanguages, 2);
    assert_string_equal(p->languages[0], src("grammars/dyck-1.yaml"));
    assert_string_equal(p->languages[1], src("grammars/tomita-2.yaml"));

    assert_int_equal(p->data.task, SP_TASK_RECOGNIZE);
    assert_int_equal(p->data.train, 2000);
    assert_int_equal(p->data.train_lengths.lo, 1);
    assert_int_equal(p->data.train_lengths.hi, 50);
    assert_int_equal(p->data.nbins, 3);
    assert_int_equal(p->data.bins[1].lo, 51);
    assert_int_equal(p->data.bins[2].hi, 150);
    assert_int_equal(p->data.per_bin, 1000);
    assert_int_equal(p->data.seed, 7);

    assert_int_equal(p->nmodels, 2);
    assert_string_equal(p->models[0].name, "small");
    const sp_model_config *c = &p->models[0].config;
    assert_int_equal(c->d_model, 32);
    assert_int_equal(c->layers, 2);
    assert_int_equal(c->heads, 4);
    assert_int_equal(c->d_ff, 64);
    assert_int_equal(c->norm, SP_NORM_PRE);
    assert_int_equal(c->k, 0);
    assert_null(c->alphabet);
    c = &p->models[1].config;
    assert_string_equal(p->models[1].name, "wide_2");
    assert_int_equal(c->d_model, 64);
    assert_int_equal(c->d_ff, 256); /* 4 d_model when not given, as in a model file */
    assert_int_equal(c->heads, 8);
    assert_int_equal(c->npos, 2);
    assert_int_equal(c->pos[1], SP_POS_I_N);

    assert_int_equal(p->train.steps, 2000);
    assert_int_equal(p->train.batch, 16);
    assert_int_equal(p->train.optim.kind, SP_OPT_ADAM);
    assert_true(p->train.optim.lr == 3e-4);
    assert_true(p->train.optim.weight_decay == 0);
    assert_int_equal(p->train.optim.schedule, SP_SCHED_COSINE);
    assert_int_equal(p->train.optim.warmup, 100);
    assert_int_equal(p->train.optim.total, 2000);
    assert_int_equal(p->train.patience, 5);
    assert_int_equal(p->train.val_every, 50);

    assert_int_equal(p->nseeds, 3);
    assert_int_equal(p->seeds[0], 3);
    assert_int_equal(p->seeds[2], 2);
    assert_int_equal(p->nmodes, 5);
    assert_int_equal(p->modes[0].kind, SP_ATTN_SOFT);
    assert_int_equal(p->modes[1].kind, SP_ATTN_SCALED);
    assert_true(p->modes[1].scale == 1000);
    assert_int_equal(p->modes[2].kind, SP_ATTN_SATURATED);
    assert_true(p->modes[2].tau == SP_TIE_TOLERANCE);
    assert_int_equal(p->modes[3].kind, SP_ATTN_HARD);
    assert_int_equal(p->modes[4].kind, SP_ATTN_LIMIT);
    assert_int_equal(p->nconstructions, 1);
    assert_string_equal(p->constructions[0], src("probes/constructions/dyck-1.yaml"));
    assert_int_equal(p->analysis, SP_ANALYSIS_HEADS | SP_ANALYSIS_NORMS);

    char hex[65], got[65];
    sp_sha256_hex(yaml, strlen(yaml), hex);
    for (size_t i = 0; i < 32; i++) snprintf(got + 2 * i, 3, "%02x", p->sha256[i]);
    assert_string_equal(got, hex);
    sp_probe_destroy(p);
}

static void test_defaults(void **state)
{
    (void)state;
    sp_probe *p = tu_parse_probe(HEAD);
    sp_gen_options g;
    sp_gen_options_default(&g);
    assert_int_equal(p->data.task, g.task);
    assert_int_equal(p->data.train, g.train);
    assert_int_equal(p->data.train_lengths.hi, g.train_lengths.hi);
    assert_int_equal(p->data.nbins, g.nbins);
    assert_memory_equal(p->data.bins, g.bins, g.nbins * sizeof *g.bins);
    assert_int_equal(p->data.per_bin, g.per_bin);
    assert_int_equal(p->data.seed, g.seed);
    sp_train_options t;
    sp_train_options_default(&t);
    assert_int_equal(p->train.steps, t.steps);
    assert_int_equal(p->train.batch, t.batch);
    assert_int_equal(p->train.optim.kind, t.optim.kind);
    assert_true(p->train.optim.lr == t.optim.lr);
    assert_true(p->train.optim.weight_decay == t.optim.weight_decay);
    assert_int_equal(p->train.optim.schedule, t.optim.schedule);
    assert_int_equal(p->train.patience, t.patience);
    assert_int_equal(p->train.val_every, t.val_every);
    assert_int_equal(p->train.optim.total, t.steps);
    sp_model_config c;
    sp_config_init(&c);
    assert_int_equal(p->models[0].config.d_model, c.d_model);
    assert_int_equal(p->models[0].config.d_ff, c.d_ff);
    assert_int_equal(p->nseeds, 1);
    assert_int_equal(p->seeds[0], 1);
    assert_int_equal(p->nmodes, 3);
    assert_int_equal(p->modes[0].kind, SP_ATTN_SOFT);
    assert_int_equal(p->modes[1].kind, SP_ATTN_SATURATED);
    assert_int_equal(p->modes[2].kind, SP_ATTN_HARD);
    assert_int_equal(p->nconstructions, 0);
    assert_int_equal(p->analysis, SP_ANALYSIS_ALL);
    sp_probe_destroy(p);

    /* null sections are the defaults; empty constructions and analysis lists are allowed */
    p = tu_parse_probe(HEAD "data:\ntrain: ~\nseeds:\nconstructions: []\nanalysis: []\n");
    assert_int_equal(p->data.train, g.train);
    assert_int_equal(p->nseeds, 1);
    assert_int_equal(p->analysis, 0);
    sp_probe_destroy(p);
}

static void test_globs(void **state)
{
    (void)state;
    sp_probe *p = tu_parse_probe(
        "name: g\n"
        "languages: [grammars/tomita-*.yaml, grammars/tomita-3.yaml, grammars/tomita-1.yaml]\n"
        "models: [{name: m}]\n"
        "constructions: [probes/constructions/*.yaml, probes/constructions/anbn.yaml]\n");
    assert_int_equal(p->nlanguages, 7);
    for (size_t i = 0; i < 7; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "grammars/tomita-%zu.yaml", i + 1);
        assert_string_equal(p->languages[i], src(rel));
    }
    assert_int_equal(p->nconstructions, 5);
    for (size_t i = 1; i < 5; i++)
        assert_true(strcmp(p->constructions[i - 1], p->constructions[i]) < 0);
    assert_string_equal(p->constructions[0], src("probes/constructions/anbn.yaml"));
    sp_probe_destroy(p);

    /* absolute paths ignore the base and meet the relative ones in the de-duplication */
    char yaml[8192];
    snprintf(yaml, sizeof yaml,
             "name: a\nlanguages: [%s, grammars/dyck-1.yaml]\nmodels: [{name: m}]\n",
             src("grammars/dyck-1.yaml"));
    p = tu_parse_probe(yaml);
    assert_int_equal(p->nlanguages, 1);
    sp_probe_destroy(p);

    /* a trailing slash on the base changes nothing */
    sp_error err;
    assert_int_equal(sp_probe_parse(HEAD, strlen(HEAD), "<probe>", tu_src_path(""), &p, &err),
                     SP_OK);
    assert_string_equal(p->languages[0], src("grammars/dyck-1.yaml"));
    sp_probe_destroy(p);

    /* directories are not matches; glob characters in the base directory are taken literally */
    char dir[] = "/tmp/sp-probe-[x]-XXXXXX", sub[64], file[64];
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/sub.yaml", dir);
    snprintf(file, sizeof file, "%s/f.yaml", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(sp_probe_parse(HEAD, strlen(HEAD), "<probe>", dir, &p, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "matches no file in /tmp/sp-probe-[x]-"));
    static const char any[] = "name: t\nlanguages: ['*.yaml']\nmodels: [{name: m}]\n";
    assert_int_equal(sp_probe_parse(any, strlen(any), "<probe>", dir, &p, &err), SP_OK);
    assert_int_equal(p->nlanguages, 1);
    assert_string_equal(p->languages[0], file);
    sp_probe_destroy(p);
    static const char subs[] = "name: t\nlanguages: ['s*']\nmodels: [{name: m}]\n";
    assert_int_equal(sp_probe_parse(subs, strlen(subs), "<probe>", dir, &p, &err), SP_EINPUT);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.col, 13);
    assert_null(p);
    unlink(file);
    rmdir(sub);
    rmdir(dir);
}

static void test_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/sp-probe-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/p.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(HEAD, f);
    fclose(f);
    sp_probe *p = NULL;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_probe_load(path, SP_SOURCE_DIR, &p, &err), SP_OK);
    unsigned char want[32];
    sp_sha256 h;
    sp_sha256_init(&h);
    sp_sha256_update(&h, HEAD, strlen(HEAD));
    sp_sha256_final(&h, want);
    assert_memory_equal(p->sha256, want, 32);
    sp_probe_destroy(p);

    /* errors name the file */
    f = fopen(path, "w");
    fputs(HEAD "seeds: [-1]\n", f);
    fclose(f);
    assert_int_equal(sp_probe_load(path, SP_SOURCE_DIR, &p, &err), SP_EINPUT);
    assert_null(p);
    assert_string_equal(err.file, path);
    assert_int_equal(err.line, 4);
    assert_int_equal(err.col, 9);
    unlink(path);
    assert_int_equal(sp_probe_load(path, SP_SOURCE_DIR, &p, &err), SP_EIO);
    assert_null(p);
    rmdir(dir);
    sp_probe_destroy(NULL);
}

static void test_bad_top(void **state)
{
    (void)state;
    expect_error(HEAD "colour: red\n", 4, 1,
                 "unknown key 'colour' in a probe (expected one of: name,");
    expect_error("languages: [grammars/dyck-1.yaml]\nmodels: [{name: m}]\n", 1, 1,
                 "missing required key 'name'");
    expect_error("name: t\nlanguages: [grammars/dyck-1.yaml]\n", 1, 1,
                 "missing required key 'models'");
    expect_error("name: t\nmodels: [{name: m}]\n", 1, 1, "missing required key 'languages'");
    expect_error("name: my probe\nlanguages: [grammars/dyck-1.yaml]\nmodels: [{name: m}]\n", 1, 9,
                 "may only use letters, digits");
    expect_error("name: ../x\nlanguages: [grammars/dyck-1.yaml]\nmodels: [{name: m}]\n", 1, 7,
                 "name '../x'");
    expect_error("name: [a]\nlanguages: [grammars/dyck-1.yaml]\nmodels: [{name: m}]\n", 1, 7,
                 "name must be a string");
    expect_error("name: t\nlanguages: []\nmodels: [{name: m}]\n", 2, 12,
                 "languages must not be empty");
    expect_error("name: t\nlanguages: grammars/dyck-1.yaml\nmodels: [{name: m}]\n", 2, 12,
                 "languages must be a list");
    expect_error(
        "name: t\nlanguages: [grammars/tomita-*.yaml, grammars/nope-*.yaml]\nmodels: [{name: m}]\n",
        2, 37, "'grammars/nope-*.yaml' matches no file");
    expect_error("name: t\nlanguages: ['']\nmodels: [{name: m}]\n", 2, 13, "must not be empty");
    expect_error(HEAD "constructions: [probes/constructions/none.yaml]\n", 4, 17,
                 "matches no file");
    expect_error("", 0, 0, "the file is empty");
    expect_error("- a\n", 1, 1, "a probe must be a mapping");
    expect_error(HEAD "seeds: 3\n", 4, 8, "seeds must be a list");
    expect_error(HEAD "seeds: []\n", 4, 8, "seeds must not be empty");
    expect_error(HEAD "seeds: [1, 2, 1]\n", 4, 15, "seed 1 is listed twice");
    expect_error(HEAD "seeds: [1, x]\n", 4, 12, "a seed must be an integer");
    expect_error(HEAD "modes: [soft, sharp]\n", 4, 15, "unknown mode 'sharp'");
    expect_error(HEAD "modes: [soft, scaled:0]\n", 4, 15, "scaled:C");
    expect_error(HEAD "modes: [scaled:1000, soft, scaled:1e3]\n", 4, 28,
                 "mode 'scaled:1e3' is listed twice");
    expect_error(HEAD "modes: []\n", 4, 8, "modes must not be empty");
    expect_error(HEAD "analysis: [norms, weights]\n", 4, 19,
                 "one of norms, saturation, heads, not 'weights'");
    expect_error(HEAD "analysis: [heads, heads]\n", 4, 19, "analysis 'heads' is listed twice");
}

static void test_bad_data(void **state)
{
    (void)state;
    expect_error(HEAD "data:\n  tsk: recognize\n", 5, 3,
                 "unknown key 'tsk' in data (expected one of: task,");
    expect_error(HEAD "data:\n  train: {size: 10, length: [1, 5]}\n", 5, 21,
                 "unknown key 'length' in data.train");
    expect_error(HEAD "data:\n  test: {size: 10, bin: []}\n", 5, 20,
                 "unknown key 'bin' in data.test");
    expect_error(HEAD "data: [1]\n", 4, 7, "data must be a mapping");
    expect_error(HEAD "data:\n  task: parse\n", 5, 9,
                 "data.task must be one of recognize, predict, both");
    expect_error(HEAD "data:\n  test:\n    bins: [[1, 50], [60, 51]]\n", 6, 21,
                 "data.test.bins entry [60, 51] is inverted");
    expect_error(HEAD "data:\n  train: {lengths: [5]}\n", 5, 20,
                 "data.train.lengths must be a list [lo, hi]");
    expect_error(HEAD "data:\n  train: {lengths: [-1, 5]}\n", 5, 21, "between 0 and");
    expect_error(HEAD "data:\n  train: {size: 0}\n", 5, 17, "data.train.size must be between 1");
    expect_error(HEAD "data:\n  train: {size: 11}\n", 5, 17, "data.train.size must be even");
    expect_error(HEAD "data:\n  test: {bins: []}\n", 5, 16, "data.test.bins must list 1 to");
    expect_error(HEAD "data:\n  seed: -3\n", 5, 9, "data.seed must be between 0");
    /* odd sizes are fine for next-symbol data, which has no negatives */
    sp_probe *p = tu_parse_probe(
        "name: t\nlanguages: [grammars/dyck-1.yaml]\n"
        "models: [{name: m, config: {heads_out: predict}}]\n"
        "data: {task: predict, train: {size: 11}, test: {size: 3, bins: [[0, 4], [2, 9]]}}\n");
    assert_int_equal(p->data.train, 11);
    assert_int_equal(p->data.nbins, 2); /* overlapping bins are allowed */
    sp_probe_destroy(p);
}

static void test_bad_train(void **state)
{
    (void)state;
    expect_error(HEAD "train:\n  step: 10\n", 5, 3,
                 "unknown key 'step' in train (expected one of: steps,");
    expect_error(HEAD "train: {steps: -5}\n", 4, 16, "train.steps must be between 1");
    expect_error(HEAD "train:\n  steps: many\n", 5, 10, "train.steps must be an integer");
    expect_error(HEAD "train:\n  lr: 0\n", 5, 7, "train.lr must be > 0, not 0");
    expect_error(HEAD "train:\n  lr: '1e-3'\n", 5, 7, "train.lr must be a number");
    expect_error(HEAD "train:\n  weight_decay: -0.1\n", 5, 17, "train.weight_decay must be >= 0");
    expect_error(HEAD "train:\n  optimizer: lion\n", 5, 14,
                 "train.optimizer must be one of sgd, adam, adamw");
    expect_error(HEAD "train:\n  schedule: linear\n", 5, 13,
                 "train.schedule must be one of constant");
    expect_error(HEAD "train: {batch: 0}\n", 4, 16, "train.batch must be between 1");
    expect_error(HEAD "train: {val_every: 0}\n", 4, 20, "train.val_every must be between 1");
    expect_error(HEAD "train:\n  steps: 100\n  schedule: cosine\n  warmup: 100\n", 7, 11,
                 "cosine schedule");
}

static void test_bad_models(void **state)
{
    (void)state;
    static const char head[] = "name: t\nlanguages: [grammars/dyck-1.yaml]\nmodels:\n";
    char yaml[4096];
#define MODELS(text) (snprintf(yaml, sizeof yaml, "%s%s", head, text), yaml)
    expect_error(MODELS("  - name: m\n    config:\n      d_model: 32\n      depth: 3\n"), 7, 7,
                 "unknown key 'depth' in model configuration");
    expect_error(MODELS("  - name: a\n  - name: b\n  - name: a\n"), 6, 11,
                 "model name 'a' is used twice (first at line 4)");
    expect_error(MODELS("  - name: m\n    size: 3\n"), 5, 5, "unknown key 'size' in a model");
    expect_error(MODELS("  - config: {}\n"), 4, 5, "missing required key 'name'");
    expect_error(MODELS("  - name: big model\n"), 4, 14, "model name 'big model' may only use");
    expect_error(MODELS("  - small\n"), 4, 5, "a model must be a mapping");
    expect_error(MODELS("  []\n"), 4, 3, "models must not be empty");
    expect_error(MODELS("  - name: m\n    config: {d_model: 30, heads: 4}\n"), 5, 34,
                 "heads (4) must divide d_model (30)");
    expect_error(MODELS("  - name: m\n    config: {d_model: 0}\n"), 5, 23,
                 "d_model must be between 1");
    expect_error(MODELS("  - name: m\n    config: {alphabet: [a, b]}\n"), 5, 24,
                 "each language's alphabet");
    expect_error(MODELS("  - name: m\n    config: 3\n"), 5, 13, "config must be a mapping");
    expect_error(MODELS("  - name: m\n    config: {max_len: 100}\n"), 5, 23,
                 "but the data goes up to length 150");
    expect_error(MODELS("  - name: m\n    config: {heads_out: predict}\ndata: {task: recognize}\n"),
                 5, 25, "heads_out predict cannot be trained on data.task recognize");
    expect_error(MODELS("  - name: m\ndata: {task: predict}\n"), 4, 5,
                 "heads_out recognize cannot be trained on data.task predict");
    expect_error(MODELS("  - name: m\n    train: {lr: 0}\n"), 5, 17, "train.lr must be > 0, not 0");
    expect_error(MODELS("  - name: m\n    train: {seeds: [1]}\n"), 5, 13, "unknown key 'seeds' in train");
    expect_error(MODELS("  - name: m\n    train: {steps: 10, schedule: cosine, warmup: 10}\n"), 5, 50,
                 "needs total steps (10) > warmup steps (10)");
#undef MODELS
}

/* A model's own train keys are read over the probe's; the other models keep the probe's. */
static void test_model_train(void **state)
{
    (void)state;
    sp_probe *p = tu_parse_probe("name: t\nlanguages: [grammars/dyck-1.yaml]\n"
                           "train: {steps: 300, lr: 2e-3, weight_decay: 0.5}\n"
                           "models:\n  - name: a\n  - name: b\n    train: {weight_decay: 0, steps: 50}\n");
    assert_int_equal(p->nmodels, 2);
    assert_int_equal(p->models[0].train.steps, 300);
    assert_true(p->models[0].train.optim.weight_decay == 0.5);
    assert_true(p->models[0].train.optim.lr == 2e-3);
    assert_int_equal(p->models[1].train.steps, 50);
    assert_int_equal(p->models[1].train.optim.total, 50);
    assert_true(p->models[1].train.optim.weight_decay == 0);
    assert_true(p->models[1].train.optim.lr == 2e-3);
    assert_int_equal(p->train.steps, 300);
    sp_probe_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),      cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_globs),     cmocka_unit_test(test_load),
        cmocka_unit_test(test_bad_top),   cmocka_unit_test(test_bad_data),
        cmocka_unit_test(test_bad_train), cmocka_unit_test(test_bad_models),
        cmocka_unit_test(test_model_train),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
