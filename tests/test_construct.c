/* Construction files: every compact form fills the tensor it should, and every mistake is an
 * error at its line:col. */
#include "testutil.h"

#include "satprobe/construct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], path[96];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/sp-construct-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(path, sizeof path, "%s/c.yaml", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return rmdir(dir);
}

/* A construction over majority's alphabet {0, 1}: d_model 2, one layer, no norm, no bias,
 * readout last; `weights` is spliced in (each line indented by two spaces). */
static const char *text(const char *weights, const char *extra_top)
{
    static char buf[8192];
    snprintf(buf, sizeof buf,
             "name: t\n"
             "description: a test\n"
             "language: %s\n"
             "claims: [saturated]\n"
             "%s"
             "config:\n"
             "  d_model: 2\n"
             "  layers: 1\n"
             "  heads: 1\n"
             "  d_ff: 3\n"
             "  norm: none\n"
             "  bias: false\n"
             "  readout: last\n"
             "  pos: none\n"
             "weights:\n"
             "%s",
             tu_src_path("grammars/majority.yaml"), extra_top, weights);
    return buf;
}

static const char *all_but(const char *skip)
{
    static const char *const lines[] = {
        "  embed.weight: {one_hot: [0, 1, ~, ~]}\n",
        "  layers.0.attn.q.weight: zero\n",
        "  layers.0.attn.k.weight: {fill: 0.5}\n",
        "  layers.0.attn.v.weight: identity\n",
        "  layers.0.attn.o.weight: {identity: -2}\n",
        "  layers.0.ff.w1.weight: {sparse: [[2, 1, 3.5], [0, 0, -1e-3]]}\n",
        "  layers.0.ff.w2.weight: [[1, 2, 3], [4, 5, 6]]\n",
        "  readout.weight: [[1, -1]]\n",
    };
    static char buf[4096];
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        if (!skip || !strstr(lines[i], skip)) strcat(buf, lines[i]);
    return buf;
}

static sp_construction *load(const char *yaml, sp_error *err)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    sp_construction *c = NULL;
    sp_error_clear(err);
    sp_construction_load(path, &c, err);
    return c;
}

static void expect_error(const char *yaml, int line, int col, const char *needle)
{
    sp_error err;
    sp_construction *c = load(yaml, &err);
    if (c) {
        sp_construction_destroy(c);
        fail_msg("loaded; expected '%s'", needle);
    }
    if (!strstr(err.msg, needle) || err.line != line || (col && err.col != col))
        fail_msg("got %d:%d: %s; want %d:%d: ...%s...", err.line, err.col, err.msg, line, col, needle);
    assert_string_equal(err.file, path);
}

static void test_forms(void **state)
{
    (void)state;
    sp_error err;
    sp_construction *c = load(text(all_but(NULL), "idea: counting\n"), &err);
    if (!c) fail_msg("%d:%d: %s", err.line, err.col, err.msg);
    assert_string_equal(c->name, "t");
    assert_string_equal(c->idea, "counting");
    assert_int_equal(c->nclaims, 1);
    assert_int_equal(c->claims[0].kind, SP_ATTN_SATURATED);
    const sp_model_config *cfg = sp_model_config_of(c->model);
    assert_int_equal(cfg->k, 2);
    assert_string_equal(cfg->alphabet[1], "1");
    const sp_params *p = sp_model_params(c->model);
    const float embed[8] = {1, 0, 0, 1, 0, 0, 0, 0};
    assert_memory_equal(p->embed, embed, sizeof embed);
    for (int i = 0; i < 4; i++) {
        assert_true(p->layer[0].qw[i] == 0.0f);
        assert_true(p->layer[0].kw[i] == 0.5f);
        assert_true(p->layer[0].vw[i] == (i % 3 == 0 ? 1.0f : 0.0f));
        assert_true(p->layer[0].ow[i] == (i % 3 == 0 ? -2.0f : 0.0f));
    }
    const float w1[6] = {-1e-3f, 0, 0, 0, 0, 3.5f};
    assert_memory_equal(p->layer[0].w1, w1, sizeof w1);
    const float w2[6] = {1, 2, 3, 4, 5, 6};
    assert_memory_equal(p->layer[0].w2, w2, sizeof w2);
    assert_true(p->readw[0] == 1.0f && p->readw[1] == -1.0f);
    assert_non_null(strstr(c->language, "grammars/majority.yaml"));
    sp_construction_destroy(c);
}

static void test_errors(void **state)
{
    (void)state;
    /* the weights start on line 15; all_but's lines follow in order */
    expect_error(text(all_but("attn.k"), ""), 15, 3, "tensor 'layers.0.attn.k.weight' is missing");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s  layers.0.attn.q.bias: [0, 0]\n", all_but(NULL));
    expect_error(text(buf, ""), 23, 3, "the config has no tensor 'layers.0.attn.q.bias'");
    snprintf(buf, sizeof buf, "%s  readout.weight: [[1, -1, 0]]\n", all_but("readout"));
    expect_error(text(buf, ""), 22, 20, "row 0 has 3 numbers, expected 2");
    snprintf(buf, sizeof buf, "%s  readout.weight: [[1, x]]\n", all_but("readout"));
    expect_error(text(buf, ""), 22, 24, "must be a finite number, not 'x'");
    snprintf(buf, sizeof buf, "%s  readout.weight: [[1, '2']]\n", all_but("readout"));
    expect_error(text(buf, ""), 22, 24, "a quoted string");
    snprintf(buf, sizeof buf, "%s  readout.weight: identity\n", all_but("readout"));
    expect_error(text(buf, ""), 22, 19, "identity needs a square matrix");
    snprintf(buf, sizeof buf, "%s  readout.weight: {sparse: [[0, 2, 1]]}\n", all_but("readout"));
    expect_error(text(buf, ""), 22, 33, "column must be between 0 and 1");
    snprintf(buf, sizeof buf, "%s  readout.weight: {one_hot: [0, 1]}\n", all_but("readout"));
    expect_error(text(buf, ""), 22, 29, "one_hot needs a list of 1 column indices");
    snprintf(buf, sizeof buf, "%s  readout.weight: {diagonal: 1}\n", all_but("readout"));
    expect_error(text(buf, ""), 22, 20, "unknown form 'diagonal'");
    snprintf(buf, sizeof buf, "%s  readout.weight: {fill: 1e39}\n", all_but("readout"));
    expect_error(text(buf, ""), 22, 26, "beyond float32 range");
    expect_error(text(all_but(NULL), "colour: blue\n"), 5, 1, "colour");
    char bad[8192];
    snprintf(bad, sizeof bad, "%s", text(all_but(NULL), ""));
    char *claims = strstr(bad, "[saturated]");
    memcpy(claims, "[satur8ed] ", 11);
    expect_error(bad, 4, 10, "unknown mode 'satur8ed'");
    snprintf(bad, sizeof bad, "%s", text(all_but(NULL), ""));
    char *lang = strstr(bad, "grammars/majority.yaml");
    memcpy(lang, "grammars/minority.yaml", 22);
    expect_error(bad, 3, 11, "cannot load the language");
    snprintf(bad, sizeof bad, "%s", text(all_but(NULL), ""));
    char *heads = strstr(bad, "heads: 1");
    memcpy(heads, "heads: 3", 8);
    expect_error(bad, 8, 10, "heads (3) must divide d_model (2)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_forms), cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
