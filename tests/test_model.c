/* The transformer: forward values computed by hand, attention-mode semantics (exact ties,
 * leftmost argmax, masks, padding), input encodings, layer norm's saturated limit, config errors
 * at line:col, checkpoint round trips and every way a checkpoint can disagree with its config. */
#include "testutil.h"

#include "satprobe/alloc.h"
#include "satprobe/layers.h"
#include "satprobe/model.h"
#include "satprobe/rng.h"
#include "satprobe/safetensors.h"
#include "src/nn/vecmath.h" /* white box: the softmax's exponential */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const ab[] = {"a", "b"};

/* k = 2 symbols, D = 2, one layer, one head, no norm, no bias, readout last, no positions. */
static sp_model *tiny(sp_mask mask)
{
    sp_model_config c;
    sp_config_init(&c);
    sp_config_set_alphabet(&c, ab, 2);
    c.d_model = 2;
    c.layers = 1;
    c.heads = 1;
    c.d_ff = 1;
    c.norm = SP_NORM_NONE;
    c.bias = false;
    c.mask = mask;
    c.readout = SP_READOUT_LAST;
    c.npos = 1;
    c.pos[0] = SP_POS_NONE;
    sp_model *m;
    sp_error err;
    assert_int_equal(sp_model_new(&c, &m, &err), SP_OK);
    sp_config_free(&c);
    const sp_params *p = sp_model_params(m);
    /* a -> e1, b -> e2, BOS and CLS -> 0; V = O = identity; feed-forward 0; readout [1, -1] */
    p->embed[0] = 1;
    p->embed[3] = 1;
    p->layer[0].vw[0] = p->layer[0].vw[3] = 1;
    p->layer[0].ow[0] = p->layer[0].ow[3] = 1;
    p->readw[0] = 1;
    p->readw[1] = -1;
    return m;
}

static sp_mode mode_of(const char *text)
{
    sp_mode md;
    sp_error err;
    assert_int_equal(sp_mode_parse(text, SP_TIE_TOLERANCE, &md, &err), SP_OK);
    return md;
}

static float logit1(sp_model *m, const int *s, size_t n, const char *mode)
{
    sp_mode md = mode_of(mode);
    sp_error err;
    const int *strs[1] = {s};
    assert_int_equal(sp_model_forward(m, strs, &n, 1, &md, &err), SP_OK);
    return sp_model_logits(m)[0];
}

/* Uniform attention (all scores 0): at the last position of BOS a b a the head averages
 * (0 + e1 + e2 + e1) / 4 = (0.5, 0.25); the residual adds e1: r = (1.5, 0.25), logit 1.25.
 * Hard attention takes BOS (0): r = e1, logit 1. */
static void test_forward_uniform_by_hand(void **state)
{
    (void)state;
    sp_model *m = tiny(SP_MASK_CAUSAL);
    int s[] = {0, 1, 0};
    assert_true(fabsf(logit1(m, s, 3, "soft") - 1.25f) < 1e-6f);
    assert_true(fabsf(logit1(m, s, 3, "saturated") - 1.25f) < 1e-6f);
    assert_true(fabsf(logit1(m, s, 3, "hard") - 1.0f) < 1e-6f);
    /* scaled:2 doubles every weight: embeddings 2 e_i average to (1, 0.5), V and O make that
     * (4, 2), the residual adds 2 e1: r = (6, 2), and the readout 2 [1, -1] gives 8 */
    assert_true(fabsf(logit1(m, s, 3, "scaled:2") - 8.0f) < 1e-5f);
    sp_model_destroy(m);
}

/* Scores q.k / sqrt(2) with W_q = c I, W_k = I, c = sqrt(2) ln 3: the query e1 at t = 3 scores
 * ln 3 against the two a's and 0 against BOS and b, so softmax gives 1/8, 3/8, 1/8, 3/8 and the
 * head outputs (6/8, 1/8): logit 1 + 0.75 - 0.125 = 1.625. Saturated and hard both attend to a's
 * only: r = 2 e1, logit 2. */
static void test_forward_scores_by_hand(void **state)
{
    (void)state;
    sp_model *m = tiny(SP_MASK_CAUSAL);
    const sp_params *p = sp_model_params(m);
    float c = (float)(sqrt(2.0) * log(3.0));
    p->layer[0].qw[0] = p->layer[0].qw[3] = c;
    p->layer[0].kw[0] = p->layer[0].kw[3] = 1;
    int s[] = {0, 1, 0};
    assert_true(fabsf(logit1(m, s, 3, "soft") - 1.625f) < 1e-6f);
    float att[4];
    assert_int_equal(sp_model_batch_T(m), 4);
    sp_model_attention_row(m, 0, 0, 0, 3, att);
    const float want[4] = {0.125f, 0.375f, 0.125f, 0.375f};
    for (int j = 0; j < 4; j++) assert_true(fabsf(att[j] - want[j]) < 1e-6f);
    assert_true(fabsf(logit1(m, s, 3, "saturated") - 2.0f) < 1e-6f);
    sp_model_attention_row(m, 0, 0, 0, 3, att);
    assert_true(att[1] == 0.5f && att[3] == 0.5f && att[0] == 0.0f && att[2] == 0.0f);
    assert_true(fabsf(logit1(m, s, 3, "hard") - 2.0f) < 1e-6f);
    sp_model_attention_row(m, 0, 0, 0, 3, att);
    assert_true(att[1] == 1.0f && att[3] == 0.0f);
    sp_model_destroy(m);
}

/* Exact ties give exactly uniform weights over the visible positions; nothing beyond them. */
static void test_ties_and_masks(void **state)
{
    (void)state;
    for (int bidir = 0; bidir < 2; bidir++) {
        sp_model *m = tiny(bidir ? SP_MASK_NONE : SP_MASK_CAUSAL);
        int s1[] = {0, 1, 1, 0, 1}, s2[] = {1, 0};
        const int *strs[] = {s1, s2};
        size_t ns[] = {5, 2};
        const char *modes[] = {"soft", "saturated", "hard", "scaled:1000"};
        for (int mi = 0; mi < 4; mi++) {
            sp_mode md = mode_of(modes[mi]);
            sp_error err;
            assert_int_equal(sp_model_forward(m, strs, ns, 2, &md, &err), SP_OK);
            size_t T = sp_model_batch_T(m);
            assert_int_equal(T, 6);
            float att[6];
            for (size_t b = 0; b < 2; b++) {
                size_t n = ns[b] + 1;
                for (size_t i = 0; i < T; i++) {
                    sp_model_attention_row(m, 0, b, 0, i, att);
                    for (size_t j = 0; j < T; j++) {
                        float w = att[j];
                        size_t vis = i >= n ? 0 : bidir ? n : i + 1;
                        float want = j >= vis ? 0.0f : mi == 2 ? (j == 0 ? 1.0f : 0.0f) : (float)(1.0 / (double)vis);
                        if (w != want) fail_msg("%s mask %d: att[%zu][%zu][%zu] = %.9g, want %.9g", modes[mi], bidir, b, i, j, (double)w, (double)want);
                    }
                }
            }
        }
        sp_model_destroy(m);
    }
}

/* Scores within the tolerance of the maximum are ties; just outside they are not. */
static void test_tie_tolerance(void **state)
{
    (void)state;
    float out[3], att[16 * 3], row[3], *work = calloc(sp_attention_work_len(3, 1, 1), sizeof *work);
    assert_true(sp_attention_len(1, 3, 1) <= 16 * 3);
    int shift[2];
    /* one query (row 2 of a causal 3x3), HS = 1: q = 1, k = (0, 1, 1 - d) */
    for (int inside = 0; inside < 2; inside++) {
        double d = inside ? 0.5e-5 : 2e-5;
        float q[3] = {1, 1, 1}, k[3] = {0, 1, (float)(1 - d)}, v[3] = {0, 1, 3};
        size_t lens[1] = {3};
        sp_attention_forward(out, att, shift, work, q, k, v, lens, 1, 3, 1, 1, true, SP_RULE_UNIFORM_MAX, 1e-5);
        sp_attention_row(row, att, 3, 1, 3, true, 0, 0, 2);
        if (inside) assert_true(row[0] == 0 && row[1] == 0.5f && row[2] == 0.5f && out[2] == 2.0f);
        else assert_true(row[0] == 0 && row[1] == 1.0f && row[2] == 0 && out[2] == 1.0f);
        float q2[3] = {1, 1, 1}, k2[3] = {0, 1, (float)(1 - d)};
        sp_attention_forward(out, att, shift, work, q2, k2, v, lens, 1, 3, 1, 1, true, SP_RULE_LEFTMOST_MAX, 1e-5);
        sp_attention_row(row, att, 3, 1, 3, true, 0, 0, 2);
        assert_true(row[1] == 1.0f && row[2] == 0.0f);
    }
    free(work);
}

/* A string run in a padded batch gives what it gives alone. */
static void test_padding_invariance(void **state)
{
    (void)state;
    sp_model_config c;
    sp_config_init(&c);
    sp_config_set_alphabet(&c, ab, 2);
    c.d_model = 8;
    c.heads = 2;
    c.d_ff = 16;
    c.heads_out = SP_OUT_BOTH;
    c.npos = 2;
    c.pos[0] = SP_POS_SINUSOIDAL;
    c.pos[1] = SP_POS_I_N;
    for (int mask = 0; mask < 2; mask++)
        for (int ro = 0; ro < 3; ro++) {
            c.mask = (sp_mask)mask;
            c.readout = (sp_readout)ro;
            sp_model *m;
            sp_error err;
            assert_int_equal(sp_model_new(&c, &m, &err), SP_OK);
            gsl_rng *r = sp_rng_new(7);
            sp_model_init_random(m, r);
            gsl_rng_free(r);
            int s[3][9] = {{0, 1, 1, 0, 1, 0, 0, 1, 1}, {1}, {0, 0, 1, 1}};
            size_t ns[3] = {9, 1, 4};
            const int *strs[3] = {s[0], s[1], s[2]};
            sp_mode md = mode_of("soft");
            assert_int_equal(sp_model_forward(m, strs, ns, 3, &md, &err), SP_OK);
            float batch[3];
            memcpy(batch, sp_model_logits(m), sizeof batch);
            size_t T = sp_model_batch_T(m), O = 3;
            float nl[4 * 3];
            memcpy(nl, sp_model_next_logits(m) + 2 * T * O, sizeof nl); /* string 2, positions 0..3 */
            for (int b = 0; b < 3; b++) {
                assert_int_equal(sp_model_forward(m, &strs[b], &ns[b], 1, &md, &err), SP_OK);
                float alone = sp_model_logits(m)[0];
                assert_true(fabsf(alone - batch[b]) <= 1e-5f * (1 + fabsf(alone)));
                if (b == 2)
                    for (int i = 0; i < 12; i++)
                        assert_true(fabsf(sp_model_next_logits(m)[i] - nl[i]) <= 1e-5f * (1 + fabsf(nl[i])));
            }
            sp_model_destroy(m);
        }
    sp_config_free(&c);
}

/* The input: features i, i/n, 1/i, cos(pi i) after the embedding channels; sinusoids added. */
static void test_input_encodings(void **state)
{
    (void)state;
    sp_model_config c;
    sp_config_init(&c);
    sp_config_set_alphabet(&c, ab, 2);
    c.d_model = 7;
    c.heads = 1;
    c.d_ff = 2;
    c.layers = 0;
    c.npos = 5;
    sp_pos_kind pos[] = {SP_POS_SINUSOIDAL, SP_POS_I, SP_POS_I_N, SP_POS_INV_I, SP_POS_COS_PI};
    memcpy(c.pos, pos, sizeof pos);
    c.readout = SP_READOUT_CLS;
    sp_model *m;
    sp_error err;
    assert_int_equal(sp_model_new(&c, &m, &err), SP_OK);
    const sp_params *p = sp_model_params(m);
    for (size_t i = 0; i < 4 * 3; i++) p->embed[i] = (float)i; /* V = 4 rows of De = 3 */
    int s[] = {1, 0, 1};
    size_t n = 3;
    const int *strs[1] = {s};
    sp_mode md = mode_of("soft");
    assert_int_equal(sp_model_forward(m, strs, &n, 1, &md, &err), SP_OK);
    const float *h = sp_model_hidden(m, 0);
    int tok[5] = {2, 1, 0, 1, 3};
    for (size_t t = 0; t < 5; t++) {
        const float *x = h + t * 7;
        for (size_t i = 0; i < 3; i++) {
            double f = pow(10000.0, -(double)(i - i % 2) / 3.0);
            double want = tok[t] * 3 + (double)i + (i % 2 ? cos((double)t * f) : sin((double)t * f));
            assert_true(fabs(x[i] - want) < 1e-6);
        }
        double pp = (double)(t + 1);
        assert_true(x[3] == (float)pp);
        assert_true(x[4] == (float)(pp / 5.0));
        assert_true(x[5] == (float)(1.0 / pp));
        assert_true(x[6] == ((t + 1) % 2 ? -1.0f : 1.0f));
    }
    sp_model_destroy(m);
    sp_config_free(&c);
}

static void test_layernorm(void **state)
{
    (void)state;
    float x[6] = {1, 3, 2, 2, -4, 4}, w[2] = {1, 2}, b[2] = {0.5f, -0.5f}, y[6], mean[3], rstd[3];
    sp_layernorm_forward(y, mean, rstd, x, w, b, 3, 2, 0.0);
    /* [1, 3] -> [-1, 1]; [2, 2] has zero variance -> b; [-4, 4] -> [-1, 1] */
    assert_true(y[0] == -0.5f && y[1] == 1.5f);
    assert_true(y[2] == 0.5f && y[3] == -0.5f && rstd[1] == 0.0f);
    assert_true(y[4] == -0.5f && y[5] == 1.5f);
    sp_layernorm_forward(y, mean, rstd, x, w, b, 3, 2, 1e-5);
    double r = 1.0 / sqrt(1.0 + 1e-5);
    assert_true(fabs(y[0] - (0.5 - r)) < 1e-7 && fabs(y[1] - (2 * r - 0.5)) < 1e-7);
    assert_true(y[2] == 0.5f && y[3] == -0.5f);
}

/* scaled:C stays finite to C = 1e6 with layer norm; without it, deep models overflow clearly. */
static void test_scaled_range(void **state)
{
    (void)state;
    sp_model_config c;
    sp_config_init(&c);
    sp_config_set_alphabet(&c, ab, 2);
    c.d_model = 16;
    c.heads = 2;
    c.d_ff = 32;
    c.layers = 3;
    c.bias = false;
    sp_model *m;
    sp_error err;
    int s[] = {0, 1, 1, 0, 1, 0, 0};
    size_t n = 7;
    const int *strs[1] = {s};
    for (int norm = 0; norm < 3; norm++) {
        c.norm = (sp_norm)norm;
        assert_int_equal(sp_model_new(&c, &m, &err), SP_OK);
        gsl_rng *r = sp_rng_new(3);
        sp_model_init_random(m, r);
        gsl_rng_free(r);
        sp_mode md = mode_of("scaled:1e6");
        int st = sp_model_forward(m, strs, &n, 1, &md, &err);
        if (c.norm == SP_NORM_NONE) {
            assert_int_equal(st, SP_ELIMIT);
            assert_non_null(strstr(err.msg, "float32 range"));
        } else {
            assert_int_equal(st, SP_OK);
            assert_true(isfinite(sp_model_logits(m)[0]));
        }
        sp_model_destroy(m);
    }
    sp_config_free(&c);
}

/* ---- configs ---- */

static void expect_config_error(const char *yaml, int line, int col, const char *needle)
{
    sp_yaml_doc doc;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_yaml_parse(&doc, "<cfg>", yaml, strlen(yaml), &err), SP_OK);
    sp_model_config c;
    sp_config_init(&c);
    int st = sp_config_from_yaml(&c, &doc, doc.root, &err);
    sp_config_free(&c);
    sp_yaml_free(&doc);
    if (st == SP_OK) fail_msg("config loaded; expected '%s'", needle);
    if (!strstr(err.msg, needle) || (line && err.line != line) || (col && err.col != col))
        fail_msg("got %d:%d: %s; want %d:%d: ...%s...", err.line, err.col, err.msg, line, col, needle);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_config_error("d_model: 8\nheadz: 2\n", 2, 1, "headz");
    expect_config_error("d_model: 10\nheads: 4\n", 2, 8, "must divide");
    expect_config_error("norm: middle\n", 1, 7, "pre, post, none");
    expect_config_error("pos: [none, learned]\n", 1, 7, "cannot be combined");
    expect_config_error("pos: [sinusoidal, sinusoidal]\n", 1, 19, "twice");
    expect_config_error("d_model: 2\nheads: 1\npos: [i, 1/i]\n", 3, 6, "no embedding channel");
    expect_config_error("ln_eps: 2\n", 1, 9, "[0, 1)");
    expect_config_error("ln_eps: '0.1'\n", 1, 9, "number");
    expect_config_error("d_model: 0\n", 1, 10, "between 1");
    expect_config_error("bias: maybe\n", 1, 7, "bias");
    expect_config_error("- 1\n", 1, 1, "mapping");
}

static void test_config_json_round_trip(void **state)
{
    (void)state;
    sp_model_config c, d;
    sp_config_init(&c);
    const char *syms[] = {"(", ")", "\"q\""};
    sp_config_set_alphabet(&c, syms, 3);
    c.norm = SP_NORM_POST;
    c.bias = false;
    c.mask = SP_MASK_NONE;
    c.readout = SP_READOUT_MEAN;
    c.heads_out = SP_OUT_BOTH;
    c.npos = 3;
    c.pos[0] = SP_POS_LEARNED;
    c.pos[1] = SP_POS_COS_PI;
    c.pos[2] = SP_POS_INV_I;
    c.ln_eps = 1e-7;
    sp_strbuf a, b;
    sp_strbuf_init(&a);
    sp_strbuf_init(&b);
    sp_config_to_json(&c, &a);
    sp_json_value *v;
    sp_error err;
    assert_int_equal(sp_json_parse(a.buf, a.len, &v, &err), SP_OK);
    sp_config_init(&d);
    assert_int_equal(sp_config_from_json(&d, v, "x", &err), SP_OK);
    sp_config_to_json(&d, &b);
    assert_string_equal(a.buf, b.buf);
    sp_json_free(v);
    sp_strbuf_free(&a);
    sp_strbuf_free(&b);
    sp_config_free(&c);
    sp_config_free(&d);
}

/* ---- checkpoints ---- */

static int setup(void **state)
{
    (void)state;
    return tu_tmp_dir_make("model");
}

static int teardown(void **state)
{
    (void)state;
    return tu_tmp_dir_remove();
}

static sp_model *random_model(sp_norm norm, bool bias, sp_heads_out out, unsigned long seed)
{
    sp_model_config c;
    sp_config_init(&c);
    sp_config_set_alphabet(&c, ab, 2);
    c.d_model = 12;
    c.heads = 3;
    c.d_ff = 20;
    c.norm = norm;
    c.bias = bias;
    c.heads_out = out;
    c.max_len = 40;
    c.npos = 2;
    c.pos[0] = SP_POS_LEARNED;
    c.pos[1] = SP_POS_I_N;
    sp_model *m;
    sp_error err;
    assert_int_equal(sp_model_new(&c, &m, &err), SP_OK);
    sp_config_free(&c);
    gsl_rng *r = sp_rng_new(seed);
    sp_model_init_random(m, r);
    gsl_rng_free(r);
    return m;
}

static void test_checkpoint_round_trip(void **state)
{
    (void)state;
    for (int norm = 0; norm < 3; norm++)
        for (int bias = 0; bias < 2; bias++)
            for (int out = 0; out < 3; out++) {
                sp_model *m = random_model((sp_norm)norm, bias, (sp_heads_out)out, 11);
                sp_error err;
                assert_int_equal(sp_model_save(m, tu_tmp_path("m.safetensors"), &err), SP_OK);
                sp_model *l;
                if (sp_model_load(tu_tmp_path("m.safetensors"), &l, &err)) fail_msg("%s", err.msg);
                assert_int_equal(sp_model_num_params(l), sp_model_num_params(m));
                assert_memory_equal(sp_model_param_slab(l), sp_model_param_slab(m),
                                    sp_model_num_params(m) * sizeof(float));
                sp_strbuf a, b;
                sp_strbuf_init(&a);
                sp_strbuf_init(&b);
                sp_config_to_json(sp_model_config_of(m), &a);
                sp_config_to_json(sp_model_config_of(l), &b);
                assert_string_equal(a.buf, b.buf);
                sp_strbuf_free(&a);
                sp_strbuf_free(&b);
                /* names and shapes of docs/model.md */
                assert_non_null(sp_model_tensor_find(l, "layers.1.attn.o.weight"));
                assert_int_equal(bias != 0, sp_model_tensor_find(l, "layers.0.ff.w1.bias") != NULL);
                assert_int_equal(norm == SP_NORM_PRE, sp_model_tensor_find(l, "ln_f.weight") != NULL);
                assert_int_equal(norm != SP_NORM_NONE, sp_model_tensor_find(l, "layers.0.ln2.weight") != NULL);
                assert_int_equal(out != SP_OUT_RECOGNIZE, sp_model_tensor_find(l, "next.weight") != NULL);
                const sp_model_tensor *pw = sp_model_tensor_find(l, "pos.weight");
                assert_true(pw && pw->shape[0] == 40 && pw->shape[1] == 11);
                sp_model_destroy(l);
                sp_model_destroy(m);
            }
}

/* Write m's tensors with one change: drop `drop`, reshape `reshape`, add `extra`, or replace
 * the config string. */
static void write_variant(const sp_model *m, const char *path, const char *drop, const char *reshape,
                          const char *extra, const char *config, bool nan)
{
    size_t n = sp_model_num_tensors(m);
    sp_st_tensor *ts = sp_calloc(n + 1, sizeof *ts);
    size_t k = 0;
    float *slab = sp_model_param_slab((sp_model *)(uintptr_t)m);
    for (size_t i = 0; i < n; i++) {
        const sp_model_tensor *t = sp_model_tensor_at(m, i);
        if (drop && !strcmp(t->name, drop)) continue;
        ts[k].name = t->name;
        ts[k].ndim = t->ndim;
        ts[k].shape[0] = t->shape[0];
        ts[k].shape[1] = t->shape[1];
        if (reshape && !strcmp(t->name, reshape)) {
            ts[k].shape[0] = t->shape[1];
            ts[k].shape[1] = t->shape[0];
        }
        ts[k].data = slab + t->offset;
        k++;
    }
    float one = 1;
    if (extra) ts[k++] = (sp_st_tensor){.name = extra, .ndim = 1, .shape = {1}, .data = &one};
    float saved = slab[0];
    if (nan) slab[0] = NAN;
    sp_strbuf cfg;
    sp_strbuf_init(&cfg);
    sp_config_to_json(sp_model_config_of(m), &cfg);
    sp_st_meta meta[2] = {{"format", "pt"}, {"config", config ? config : cfg.buf}};
    sp_error err;
    assert_int_equal(sp_st_write(path, ts, k, meta, 2, &err), SP_OK);
    slab[0] = saved;
    sp_strbuf_free(&cfg);
    free(ts);
}

static void expect_load_error(const char *path, const char *needle)
{
    sp_model *l = NULL;
    sp_error err;
    sp_error_clear(&err);
    int st = sp_model_load(path, &l, &err);
    if (st == SP_OK) fail_msg("loaded; expected '%s'", needle);
    assert_null(l);
    if (!strstr(err.msg, needle)) fail_msg("got '%s', want '%s'", err.msg, needle);
    assert_string_equal(err.file, path);
}

static void test_checkpoint_rejections(void **state)
{
    (void)state;
    sp_model *m = random_model(SP_NORM_PRE, true, SP_OUT_RECOGNIZE, 5);
    const char *p = tu_tmp_path("bad.safetensors");
    write_variant(m, p, "layers.0.attn.k.bias", NULL, NULL, NULL, false);
    expect_load_error(p, "tensor \"layers.0.attn.k.bias\" is missing");
    write_variant(m, p, NULL, "layers.1.ff.w1.weight", NULL, NULL, false);
    expect_load_error(p, "tensor \"layers.1.ff.w1.weight\" has shape [12, 20], the config needs [20, 12]");
    write_variant(m, p, NULL, NULL, "layers.2.ln1.weight", NULL, false);
    expect_load_error(p, "\"layers.2.ln1.weight\" is not part of this model's config");
    write_variant(m, p, NULL, NULL, NULL, "{\"d_model\": 12", false);
    expect_load_error(p, "config is not valid JSON");
    write_variant(m, p, NULL, NULL, NULL, "{\"d_model\": 12}", false);
    expect_load_error(p, "alphabet");
    write_variant(m, p, NULL, NULL, NULL, NULL, true);
    expect_load_error(p, "NaN or infinity");
    /* a checkpoint without a config */
    float x = 1;
    sp_st_tensor t = {.name = "embed.weight", .ndim = 1, .shape = {1}, .data = &x};
    sp_error err;
    assert_int_equal(sp_st_write(p, &t, 1, NULL, 0, &err), SP_OK);
    expect_load_error(p, "no \"config\"");
    /* truncation: the safetensors reader's checks */
    assert_int_equal(sp_model_save(m, p, &err), SP_OK);
    assert_int_equal(truncate(p, 100), 0);
    expect_load_error(p, "");
    sp_model_destroy(m);
}

/* PyTorch's defaults: linear weights within 1/sqrt(fan_in), LN weights 1, embeddings N(0,1). */
static void test_init(void **state)
{
    (void)state;
    sp_model *m = random_model(SP_NORM_PRE, true, SP_OUT_BOTH, 9);
    const sp_params *p = sp_model_params(m);
    double bound = 1.0 / sqrt(12.0), bound2 = 1.0 / sqrt(20.0), mx = 0, mx2 = 0;
    for (size_t i = 0; i < 12 * 20; i++) mx = fmax(mx, fabs(p->layer[0].w1[i]));
    for (size_t i = 0; i < 12 * 20; i++) mx2 = fmax(mx2, fabs(p->layer[0].w2[i]));
    assert_true(mx <= bound && mx > 0.9 * bound);
    assert_true(mx2 <= bound2 && mx2 > 0.9 * bound2);
    for (size_t i = 0; i < 12; i++) assert_true(p->layer[1].ln2w[i] == 1.0f && p->layer[1].ln2b[i] == 0.0f);
    double s = 0, ss = 0;
    size_t n = 40 * 11;
    for (size_t i = 0; i < n; i++) {
        s += p->pos[i];
        ss += p->pos[i] * p->pos[i];
    }
    assert_true(fabs(s / n) < 0.2 && fabs(ss / n - 1) < 0.2);
    sp_model *m2 = random_model(SP_NORM_PRE, true, SP_OUT_BOTH, 9);
    assert_memory_equal(sp_model_param_slab(m), sp_model_param_slab(m2), sp_model_num_params(m) * sizeof(float));
    sp_model_destroy(m2);
    sp_model_destroy(m);
}

static void test_mode_parse(void **state)
{
    (void)state;
    sp_mode md;
    sp_error err;
    char buf[48];
    assert_int_equal(sp_mode_parse("scaled:1000", 0.5, &md, &err), SP_OK);
    assert_true(md.kind == SP_ATTN_SCALED && md.scale == 1000);
    sp_mode_format(&md, buf, sizeof buf);
    assert_string_equal(buf, "scaled:1000");
    assert_int_equal(sp_mode_parse("hard", 0.5, &md, &err), SP_OK);
    assert_true(md.kind == SP_ATTN_HARD && md.tau == 0.5);
    assert_int_equal(sp_mode_parse("scaled:", 0, &md, &err), SP_EINPUT);
    assert_int_equal(sp_mode_parse("scaled:-1", 0, &md, &err), SP_EINPUT);
    assert_int_equal(sp_mode_parse("scaled:1x", 0, &md, &err), SP_EINPUT);
    assert_int_equal(sp_mode_parse("argmax", 0, &md, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "soft, scaled:C, saturated, hard or limit"));
}

static void test_too_long(void **state)
{
    (void)state;
    sp_model *m = random_model(SP_NORM_PRE, true, SP_OUT_RECOGNIZE, 1);
    int s[40] = {0};
    size_t n = 39; /* T = 41 > max_len 40 */
    const int *strs[1] = {s};
    sp_mode md = mode_of("soft");
    sp_error err;
    assert_int_equal(sp_model_forward(m, strs, &n, 1, &md, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "longer than the model takes"));
    n = 38;
    assert_int_equal(sp_model_forward(m, strs, &n, 1, &md, &err), SP_OK);
    sp_model_destroy(m);
}

/* The softmax's exponential (src/nn/vecmath.h) against libm's expf: within 2 units in the last
 * place over [-86, 0] (sixteen floats at every 997th, and the ends), 1 at 0, 0 below -86; the
 * eight- and sixteen-lane versions give the same bits. */
static int32_t ulp_distance(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    return ia > ib ? ia - ib : ib - ia;
}

/* e^x by both widths, which must agree in every lane */
static float exp1(float x)
{
    v8sf v = {0};
    v16sf w = {0};
    v = sp_exp8_nonpos(v + x);
    w = sp_exp16_nonpos(w + x);
    for (int l = 0; l < 16; l++) assert_true(w[l] == v[0] && (l >= 8 || v[l] == v[0]));
    return v[0];
}

static void test_exp_nonpos(void **state)
{
    (void)state;
    assert_true(exp1(0.0f) == 1.0f);
    assert_true(exp1(-0.0f) == 1.0f);
    assert_true(exp1(-86.5f) == 0.0f && exp1(-1e30f) == 0.0f && exp1(-INFINITY) == 0.0f);
    int32_t worst = 0;
    float worst_x = 0;
    uint32_t lo, hi;
    float f = -86.0f;
    memcpy(&hi, &f, sizeof hi); /* negative floats: larger bits, larger magnitude */
    f = -0.0f;
    memcpy(&lo, &f, sizeof lo);
    size_t n = 0;
    for (uint32_t u = lo;; u = u + 997 > hi ? hi : u + 997) {
        float x[16];
        for (int l = 0; l < 16; l++) {
            uint32_t ul = u + (uint32_t)l <= hi ? u + (uint32_t)l : hi;
            memcpy(&x[l], &ul, sizeof x[l]);
        }
        v8sf e = sp_exp8_nonpos(load8(x)), e2 = sp_exp8_nonpos(load8(x + 8));
        v16sf e16 = sp_exp16_nonpos(load16(x));
        for (int l = 0; l < 16; l++) {
            float el = l < 8 ? e[l] : e2[l - 8];
            if (e16[l] != el) fail_msg("exp of %.9g: %.9g on 16 lanes, %.9g on 8", (double)x[l], (double)e16[l], (double)el);
            int32_t d = ulp_distance(el, expf(x[l]));
            if (d > worst) worst = d, worst_x = x[l];
        }
        n += 16;
        if (u == hi) break;
    }
    printf("exp over %zu points of [-86, 0]: worst %d ulp at x = %.9g\n", n, (int)worst, (double)worst_x);
    assert_true(n > 8000000);
    assert_true(worst <= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_uniform_by_hand),
        cmocka_unit_test(test_forward_scores_by_hand),
        cmocka_unit_test(test_ties_and_masks),
        cmocka_unit_test(test_tie_tolerance),
        cmocka_unit_test(test_padding_invariance),
        cmocka_unit_test(test_input_encodings),
        cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_exp_nonpos),
        cmocka_unit_test(test_scaled_range),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_json_round_trip),
        cmocka_unit_test(test_checkpoint_round_trip),
        cmocka_unit_test(test_checkpoint_rejections),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_mode_parse),
        cmocka_unit_test(test_too_long),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
