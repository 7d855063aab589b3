/* The backward pass: every parameter gradient against central finite differences in every
 * combination of norm, bias, mask, readout, heads and position encoding; backward adds into
 * the gradient; a batch's gradient is the sum of its strings'; attention's rescaling of q and k
 * is exact in backward. */
#include "testutil.h"

#include "satprobe/layers.h"
#include "satprobe/model.h"
#include "satprobe/rng.h"
/* white box, for the ReLU pre-activations f1 only: finite differences are kept off ReLU kinks */
#include "src/nn/model_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ab[] = {"a", "b"};

enum { NB = 3, MAXN = 5 };
static const size_t batch_ns[NB] = {3, 0, 5}; /* different lengths, the empty string included */

/* One configuration of the grid. pos: 0 [none], 1 [learned], 2 [sinusoidal, i/n, 1/i]. */
typedef struct grid_point {
    sp_norm norm;
    bool bias;
    sp_mask mask;
    sp_readout readout;
    sp_heads_out out;
    int pos;
} grid_point;

static const char *const norm_names[] = {"pre", "post", "none"};
static const char *const readout_names[] = {"cls", "last", "mean"};
static const char *const out_names[] = {"recognize", "predict", "both"};
static const char *const pos_names[] = {"[none]", "[learned]", "[sinusoidal, i/n, 1/i]"};

static grid_point grid_at(size_t i)
{
    grid_point g;
    g.pos = (int)(i % 3);
    i /= 3;
    g.out = (sp_heads_out)(i % 3);
    i /= 3;
    g.readout = (sp_readout)(i % 3);
    i /= 3;
    g.mask = (sp_mask)(i % 2);
    i /= 2;
    g.bias = i % 2 == 0;
    i /= 2;
    g.norm = (sp_norm)i;
    return g;
}

static void grid_name(const grid_point *g, char *buf, size_t size)
{
    snprintf(buf, size, "norm %s, bias %s, mask %s, readout %s, heads_out %s, pos %s", norm_names[g->norm],
             g->bias ? "true" : "false", g->mask == SP_MASK_CAUSAL ? "causal" : "none", readout_names[g->readout],
             out_names[g->out], pos_names[g->pos]);
}

/* A small random model of that configuration: D 4..8, 1-2 layers, 1-2 heads, FF 3..6, eps 1e-5
 * or 0.25 (so that a backward that ignored eps would show). PyTorch's initialisation, then layer
 * norms moved off their identity start and q, k doubled, so that no gradient is trivially
 * 0 or 1 and attention is far from uniform. */
static sp_model *grid_model(const grid_point *g, gsl_rng *r)
{
    sp_model_config c;
    sp_config_init(&c);
    sp_config_set_alphabet(&c, ab, 2);
    c.d_model = 4 + gsl_rng_uniform_int(r, 5);
    c.heads = c.d_model % 2 == 0 && gsl_rng_uniform_int(r, 2) ? 2 : 1;
    c.layers = 1 + gsl_rng_uniform_int(r, 2);
    c.d_ff = 3 + gsl_rng_uniform_int(r, 4);
    c.norm = g->norm;
    c.bias = g->bias;
    c.mask = g->mask;
    c.readout = g->readout;
    c.heads_out = g->out;
    c.max_len = 9; /* two rows of pos.weight beyond the longest sequence: their gradient is 0 */
    c.ln_eps = gsl_rng_uniform_int(r, 2) ? 1e-5 : 0.25;
    static const sp_pos_kind pos[3][3] = {
        {SP_POS_NONE}, {SP_POS_LEARNED}, {SP_POS_SINUSOIDAL, SP_POS_I_N, SP_POS_INV_I}};
    c.npos = g->pos == 2 ? 3 : 1;
    for (size_t i = 0; i < c.npos; i++) c.pos[i] = pos[g->pos][i];
    sp_model *m;
    sp_error err;
    assert_int_equal(sp_model_new(&c, &m, &err), SP_OK);
    sp_config_free(&c);
    sp_model_init_random(m, r);
    float *p = sp_model_param_slab(m);
    for (size_t t = 0; t < sp_model_num_tensors(m); t++) {
        const sp_model_tensor *tn = sp_model_tensor_at(m, t);
        float *x = p + tn->offset;
        bool ln = strstr(tn->name, "ln1.") || strstr(tn->name, "ln2.") || strstr(tn->name, "ln_f.");
        bool qk = strstr(tn->name, "attn.q.weight") || strstr(tn->name, "attn.k.weight");
        for (size_t i = 0; i < tn->size; i++) {
            if (ln) x[i] += (float)(gsl_rng_uniform(r) - 0.5);
            if (qk) x[i] *= 2.0f;
        }
    }
    /* a third of the grid (and of the finite-difference checks) runs readout rows only, which
     * changes the pass where the only head is the accept logit at one position */
    sp_model_set_readout_only(m, g->pos == 2);
    return m;
}

/* The batch and the loss L = Σ_b cl_b logit_b + Σ_{b,t,o} cn_{b,t,o} next_{b,t,o} with fixed
 * random coefficients, over each string's positions 0..n (no CLS, no padding). */
typedef struct fd_batch {
    int syms[NB][MAXN];
    const int *strs[NB];
    size_t ns[NB], B, T, O;
    float *cl;  /* [B] or NULL */
    float *cn;  /* [B, T, O] or NULL */
} fd_batch;

static void batch_init(fd_batch *fb, sp_model *m, gsl_rng *r)
{
    const sp_model_config *c = sp_model_config_of(m);
    memset(fb, 0, sizeof *fb);
    fb->B = NB;
    for (size_t b = 0; b < NB; b++) {
        fb->ns[b] = batch_ns[b];
        for (size_t i = 0; i < MAXN; i++) fb->syms[b][i] = (int)gsl_rng_uniform_int(r, c->k);
        fb->strs[b] = fb->syms[b];
    }
    fb->T = sp_config_seq_len(c, MAXN);
    fb->O = c->k + 1;
    if (c->heads_out != SP_OUT_PREDICT) {
        fb->cl = calloc(NB, sizeof *fb->cl);
        for (size_t b = 0; b < NB; b++) fb->cl[b] = (float)(2 * gsl_rng_uniform(r) - 1);
    }
    if (c->heads_out != SP_OUT_RECOGNIZE) {
        fb->cn = calloc(NB * fb->T * fb->O, sizeof *fb->cn);
        for (size_t b = 0; b < NB; b++)
            for (size_t t = 0; t <= fb->ns[b]; t++)
                for (size_t o = 0; o < fb->O; o++) fb->cn[(b * fb->T + t) * fb->O + o] = (float)(2 * gsl_rng_uniform(r) - 1);
    }
}

static void batch_free(fd_batch *fb)
{
    free(fb->cl);
    free(fb->cn);
}

static void forward_soft(sp_model *m, const fd_batch *fb)
{
    sp_mode md;
    sp_error err;
    assert_int_equal(sp_mode_parse("soft", SP_TIE_TOLERANCE, &md, &err), SP_OK);
    assert_int_equal(sp_model_forward(m, fb->strs, fb->ns, fb->B, &md, &err), SP_OK);
    assert_int_equal(sp_model_batch_T(m), fb->T);
}

/* L of the current parameters, summed in double from the float outputs. */
static double loss(sp_model *m, const fd_batch *fb)
{
    forward_soft(m, fb);
    double L = 0;
    if (fb->cl)
        for (size_t b = 0; b < fb->B; b++) L += (double)fb->cl[b] * sp_model_logits(m)[b];
    if (fb->cn) {
        const float *next = sp_model_next_logits(m);
        for (size_t i = 0; i < fb->B * fb->T * fb->O; i++) L += (double)fb->cn[i] * next[i];
    }
    return L;
}

/* Signs of every ReLU input the pass uses (rows of real positions), [L, B, T, FF]. */
static void relu_signs(const sp_model *m, unsigned char *out)
{
    const sp_model_config *c = &m->cfg;
    size_t B = m->B, T = m->T, FF = c->d_ff;
    memset(out, 0, c->layers * B * T * FF);
    for (size_t l = 0; l < c->layers; l++)
        for (size_t b = 0; b < B; b++)
            for (size_t i = 0; i < m->lens[b] * FF; i++)
                out[((l * B + b) * T) * FF + i] = m->layer[l].f1[(b * T) * FF + i] > 0.0f;
}

/* ---- finite differences over the grid ---- */

/* Every entry θ_i of every tensor gets fd = (L(θ_i + h) - L(θ_i - h)) / (2h), h = STEP (the
 * steps actually taken after rounding to float), and passes when |fd - an| <= RTOL max(|fd|,
 * |an|) + ATOL. Parameters and gradients are O(1), and float forward passes put noise of about
 * 1e-7 on L, so h = 3e-3 keeps both the noise (~3e-5) and the truncation error h² L''' / 6 well
 * inside the tolerance. Each tensor as a whole must also pass ‖fd - an‖ <= TRTOL ‖an‖ +
 * TATOL √n over its n checked entries: the noise averages out there, so a gradient off by a
 * constant factor of 1% fails even though each entry is within RTOL. An entry whose
 * perturbation changes the sign of any ReLU input (at θ + h or θ - h against θ) is skipped:
 * there L is not smooth and the difference quotient mixes the two sides of the kink.
 * (attn.k.bias has gradient 0: a bias on every key adds q·b_k to all of a query's scores, which
 * softmax ignores.) */
#define STEP 3e-3
#define RTOL 1e-2
#define ATOL 1e-3
#define TRTOL 3e-3
#define TATOL 3e-4

typedef struct fd_stats {
    size_t checked, skipped, failed; /* entries */
    size_t tensors, tensors_failed;
    double worst_rel;    /* largest |fd - an| / max(|fd|, |an|) over entries with max >= 1e-2 */
    double worst_ratio;  /* largest |fd - an| / tolerance */
    double worst_tratio; /* largest ‖fd - an‖ / tolerance of a tensor */
    double e2, a2;       /* Σ (fd - an)², Σ an² of the current tensor */
} fd_stats;

static void stats_add(fd_stats *s, double fd, double an, double tol)
{
    double err = fabs(fd - an), big = fmax(fabs(fd), fabs(an));
    s->checked++;
    if (big >= 1e-2 && err / big > s->worst_rel) s->worst_rel = err / big;
    if (err / tol > s->worst_ratio) s->worst_ratio = err / tol;
    if (err > tol) s->failed++;
    s->e2 += err * err;
    s->a2 += an * an;
}

/* The whole-tensor criterion over the entries added since e2 and a2 were 0; true if it holds. */
static bool stats_tensor(fd_stats *s)
{
    if (!s->checked) return true; /* every entry sat at a kink */
    double tol = TRTOL * sqrt(s->a2) + TATOL * sqrt((double)s->checked), err = sqrt(s->e2);
    s->tensors++;
    s->worst_tratio = fmax(s->worst_tratio, err / tol);
    s->tensors_failed += err > tol;
    return err <= tol;
}

static void stats_merge(fd_stats *into, const fd_stats *s)
{
    into->checked += s->checked;
    into->skipped += s->skipped;
    into->failed += s->failed;
    into->tensors += s->tensors;
    into->tensors_failed += s->tensors_failed;
    into->worst_tratio = fmax(into->worst_tratio, s->worst_tratio);
    into->worst_rel = fmax(into->worst_rel, s->worst_rel);
    into->worst_ratio = fmax(into->worst_ratio, s->worst_ratio);
}

/* Tensor kinds for the report: the tensor name without "layers.N." */
static const char *kind_of(const char *name)
{
    if (!strncmp(name, "layers.", 7)) {
        const char *dot = strchr(name + 7, '.');
        return dot ? dot + 1 : name;
    }
    return name;
}

enum { MAX_KINDS = 40 };
typedef struct fd_report {
    fd_stats group[3][3]; /* [heads_out][readout] within one norm */
    char kind[MAX_KINDS][64];
    fd_stats by_kind[MAX_KINDS];
    size_t nkinds;
    size_t printed;       /* failures printed so far */
} fd_report;

static fd_stats *kind_stats(fd_report *rep, const char *name)
{
    const char *k = kind_of(name);
    for (size_t i = 0; i < rep->nkinds; i++)
        if (!strcmp(rep->kind[i], k)) return &rep->by_kind[i];
    assert_true(rep->nkinds < MAX_KINDS);
    snprintf(rep->kind[rep->nkinds], sizeof rep->kind[0], "%s", k);
    return &rep->by_kind[rep->nkinds++];
}

/* Every tensor of the grid point's model; stats into rep. */
static void check_point(size_t gi, fd_report *rep)
{
    grid_point g = grid_at(gi);
    unsigned long seed = 1000 + gi;
    gsl_rng *r = sp_rng_new(seed);
    sp_model *m = grid_model(&g, r);
    fd_batch fb;
    batch_init(&fb, m, r);
    const sp_model_config *c = sp_model_config_of(m);
    size_t np = sp_model_num_params(m);
    float *grad = calloc(np, sizeof *grad);
    forward_soft(m, &fb);
    sp_model_backward(m, fb.cl, fb.cn, grad);
    size_t nsign = c->layers * fb.B * fb.T * c->d_ff;
    unsigned char *s0 = malloc(nsign + 1), *s1 = malloc(nsign + 1);
    relu_signs(m, s0);

    float *p = sp_model_param_slab(m);
    fd_stats *group = &rep->group[g.out][g.readout];
    for (size_t t = 0; t < sp_model_num_tensors(m); t++) {
        const sp_model_tensor *tn = sp_model_tensor_at(m, t);
        fd_stats st = {0};
        for (size_t i = tn->offset; i < tn->offset + tn->size; i++) {
            float x = p[i];
            float xp = (float)(x + STEP), xm = (float)(x - STEP);
            p[i] = xp;
            double Lp = loss(m, &fb);
            relu_signs(m, s1);
            bool kink = memcmp(s0, s1, nsign) != 0;
            p[i] = xm;
            double Lm = loss(m, &fb);
            relu_signs(m, s1);
            kink = kink || memcmp(s0, s1, nsign) != 0;
            p[i] = x;
            if (kink) {
                st.skipped++;
                continue;
            }
            double fd = (Lp - Lm) / ((double)xp - (double)xm), an = grad[i];
            double tol = RTOL * fmax(fabs(fd), fabs(an)) + ATOL;
            size_t before = st.failed;
            stats_add(&st, fd, an, tol);
            if (st.failed > before && rep->printed++ < 12) {
                char name[160];
                grid_name(&g, name, sizeof name);
                print_message("FAIL %s [%zu] (seed %lu; %s; D %zu, L %zu, NH %zu, FF %zu, eps %g): "
                              "finite difference %.6g, backward %.6g\n",
                              tn->name, i - tn->offset, seed, name, c->d_model, c->layers, c->heads,
                              c->d_ff, c->ln_eps, fd, an);
            }
        }
        if (!stats_tensor(&st) && rep->printed++ < 12) {
            char name[160];
            grid_name(&g, name, sizeof name);
            print_message("FAIL %s as a whole (seed %lu; %s): |fd - an| = %.3g, |an| = %.3g over %zu entries\n",
                          tn->name, seed, name, sqrt(st.e2), sqrt(st.a2), st.checked);
        }
        stats_merge(group, &st);
        stats_merge(kind_stats(rep, tn->name), &st);
    }
    free(s0);
    free(s1);
    free(grad);
    batch_free(&fb);
    sp_model_destroy(m);
    gsl_rng_free(r);
}

/* The 108 grid points of one norm (bias × mask × readout × heads_out × pos), with a report of
 * the worst errors by readout and heads_out, and by tensor. */
static void check_norm(sp_norm norm)
{
    fd_report *rep = calloc(1, sizeof *rep);
    for (size_t gi = (size_t)norm * 108; gi < (size_t)(norm + 1) * 108; gi++) check_point(gi, rep);
    fd_stats all = {0};
    print_message("norm %s: worst relative error (|fd| or |an| >= 1e-2), worst error / tolerance of an "
                  "entry and of a tensor\n",
                  norm_names[norm]);
    for (int o = 0; o < 3; o++)
        for (int ro = 0; ro < 3; ro++) {
            const fd_stats *s = &rep->group[o][ro];
            print_message("  heads_out %-9s readout %-4s  %5zu checked, %3zu near ReLU kinks skipped, "
                          "worst rel %.2e, worst err/tol %.3f, tensor %.3f\n",
                          out_names[o], readout_names[ro], s->checked, s->skipped, s->worst_rel, s->worst_ratio,
                          s->worst_tratio);
            stats_merge(&all, s);
        }
    for (size_t k = 0; k < rep->nkinds; k++) {
        const fd_stats *s = &rep->by_kind[k];
        print_message("  %-16s %5zu checked, worst rel %.2e, worst err/tol %.3f, tensor %.3f\n", rep->kind[k],
                      s->checked, s->worst_rel, s->worst_ratio, s->worst_tratio);
    }
    if (all.failed || all.tensors_failed)
        fail_msg("norm %s: %zu of %zu gradient entries and %zu of %zu tensors disagree with finite differences",
                 norm_names[norm], all.failed, all.checked, all.tensors_failed, all.tensors);
    /* most entries must have been checked, not skipped */
    assert_true(all.skipped * 10 < all.checked);
    free(rep);
}

static void test_fd_pre(void **state)
{
    (void)state;
    check_norm(SP_NORM_PRE);
}

static void test_fd_post(void **state)
{
    (void)state;
    check_norm(SP_NORM_POST);
}

static void test_fd_none(void **state)
{
    (void)state;
    check_norm(SP_NORM_NONE);
}

/* ---- exact properties ---- */

/* Backward adds: twice into the same slab is twice once, and it leaves the forward's results
 * as they were. Padding rows of dnext are never read. */
static void test_backward_adds(void **state)
{
    (void)state;
    for (int norm = 0; norm < 3; norm++) {
        grid_point g = {(sp_norm)norm, true, SP_MASK_CAUSAL, SP_READOUT_MEAN, SP_OUT_BOTH, 2};
        gsl_rng *r = sp_rng_new(7 + (unsigned long)norm);
        sp_model *m = grid_model(&g, r);
        fd_batch fb;
        batch_init(&fb, m, r);
        size_t np = sp_model_num_params(m);
        float *g1 = calloc(np, sizeof *g1), *g2 = calloc(np, sizeof *g2), *g3 = calloc(np, sizeof *g3);
        double L = loss(m, &fb);
        sp_model_backward(m, fb.cl, fb.cn, g1);
        sp_model_backward(m, fb.cl, fb.cn, g2);
        sp_model_backward(m, fb.cl, fb.cn, g2);
        /* not bit for bit: an entry sums several terms, and the second call adds them one by
         * one onto the first call's total */
        double nz = 0, scale = 0;
        for (size_t i = 0; i < np; i++) scale = fmax(scale, fabs(g1[i]));
        for (size_t i = 0; i < np; i++) {
            if (fabs(g2[i] - 2.0 * g1[i]) > 1e-6 * scale)
                fail_msg("norm %s: entry %zu: %.9g after two calls, %.9g after one", norm_names[norm], i,
                         (double)g2[i], (double)g1[i]);
            nz += g1[i] != 0.0f;
        }
        assert_true(nz > (double)np / 4); /* the loss reaches most parameters */
        double L2 = 0;
        for (size_t b = 0; b < fb.B; b++) L2 += (double)fb.cl[b] * sp_model_logits(m)[b];
        const float *next = sp_model_next_logits(m);
        for (size_t i = 0; i < fb.B * fb.T * fb.O; i++) L2 += (double)fb.cn[i] * next[i];
        assert_true(L2 == L);
        /* garbage in padding rows of dnext changes nothing */
        const size_t *lens = sp_model_batch_lens(m);
        for (size_t b = 0; b < fb.B; b++)
            for (size_t t = lens[b]; t < fb.T; t++)
                for (size_t o = 0; o < fb.O; o++) fb.cn[(b * fb.T + t) * fb.O + o] = 1e3f;
        sp_model_backward(m, fb.cl, fb.cn, g3);
        assert_memory_equal(g1, g3, np * sizeof *g1);
        free(g1);
        free(g2);
        free(g3);
        batch_free(&fb);
        sp_model_destroy(m);
        gsl_rng_free(r);
    }
}

/* Each layer's SP_GRAD_SET gives the same bits as SP_GRAD_ADD onto zeros, and does not read
 * what it overwrites (the buffer starts full of NaN). Parameter gradients add in both. */
static void fill(float *x, size_t n, gsl_rng *r)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)(2 * gsl_rng_uniform(r) - 1);
}

static void assert_set_is_add(const float *set, const float *add, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!(set[i] == add[i]))
            fail_msg("%s: entry %zu: %.9g overwritten, %.9g added onto 0", what, i, (double)set[i],
                     (double)add[i]);
}

/* ReLU in place (as the model runs it), entry by entry against its definition, bits included
 * (NaN and -0 give +0, subnormals and infinities of either sign); and its backward masks the same
 * entries whether it reads the input or the output. */
static void test_relu_in_place(void **state)
{
    (void)state;
    enum { N = 4099 };
    static float x[N], out[N], dout[N], d_in[N], d_out[N];
    gsl_rng *r = sp_rng_new(11);
    for (size_t i = 0; i < N; i++) {
        x[i] = (float)(gsl_rng_uniform(r) * 2 - 1);
        dout[i] = (float)(gsl_rng_uniform(r) * 2 - 1);
    }
    const float special[] = {NAN, -0.0f, 0.0f, 1e-40f, -1e-40f, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) x[i * 577] = special[i];
    memcpy(out, x, sizeof x);
    sp_relu_forward(out, N);
    for (size_t i = 0; i < N; i++) {
        float want = isgreater(x[i], 0.0f) ? x[i] : 0.0f;
        assert_memory_equal(&out[i], &want, sizeof want);
    }
    sp_relu_backward(d_in, dout, x, N, SP_GRAD_SET);
    sp_relu_backward(d_out, dout, out, N, SP_GRAD_SET);
    assert_memory_equal(d_in, d_out, sizeof d_in);
    gsl_rng_free(r);
}

/* A linear map after ReLU, back through both in one call: the same bits as its backward into a
 * buffer and then ReLU's, on one thread and on three (the mask goes chunk by chunk there). */
static void test_matmul_relu_backward(void **state)
{
    (void)state;
    enum { N = 1000, C = 48, OC = 40 };
    gsl_rng *r = sp_rng_new(12);
    float *inp = malloc(N * C * sizeof *inp), *w = malloc(OC * C * sizeof *w), *dout = malloc(N * OC * sizeof *dout);
    float *got = malloc(N * C * sizeof *got), *tmp = malloc(N * C * sizeof *tmp), *want = malloc(N * C * sizeof *want);
    fill(inp, N * C, r);
    fill(w, OC * C, r);
    fill(dout, N * OC, r);
    inp[7] = -0.0f, inp[8] = 0.0f, inp[9] = NAN;
    sp_relu_forward(inp, N * C);
    for (int threads = 1; threads <= 3; threads += 2) {
        sp_blas_set_threads(threads);
        float dw1[OC * C] = {0}, dw2[OC * C] = {0}, db1[OC] = {0}, db2[OC] = {0};
        for (size_t i = 0; i < N * C; i++) got[i] = NAN;
        sp_matmul_relu_backward(got, dw1, db1, dout, inp, w, N, C, OC);
        sp_matmul_backward(tmp, dw2, db2, dout, inp, w, N, C, OC, SP_GRAD_SET);
        sp_relu_backward(want, tmp, inp, N * C, SP_GRAD_SET);
        assert_memory_equal(got, want, N * C * sizeof *got);
        assert_memory_equal(dw1, dw2, sizeof dw1);
        assert_memory_equal(db1, db2, sizeof db1);
        size_t zeros = 0;
        for (size_t i = 0; i < N * C; i++) zeros += got[i] == 0.0f;
        assert_true(zeros > N * C / 3); /* the mask took away about half */
    }
    sp_blas_set_threads(1);
    free(inp), free(w), free(dout), free(got), free(tmp), free(want);
    gsl_rng_free(r);
}

static void test_backward_set(void **state)
{
    (void)state;
    enum { B = 2, T = 5, C = 8, OC = 6, NH = 2, N = B * T };
    size_t lens[B] = {5, 3};
    gsl_rng *r = sp_rng_new(11);
    float inp[N * C], w[OC * C], dout[N * OC], dc[N * C], set[N * C], add[N * C];
    float dw1[OC * C], dw2[OC * C], db1[OC], db2[OC];
    fill(inp, N * C, r);
    fill(w, OC * C, r);
    fill(dout, N * OC, r);
    fill(dc, N * C, r);

    for (size_t i = 0; i < N * C; i++) set[i] = NAN, add[i] = 0;
    memset(dw1, 0, sizeof dw1), memset(dw2, 0, sizeof dw2), memset(db1, 0, sizeof db1), memset(db2, 0, sizeof db2);
    sp_matmul_backward(set, dw1, db1, dout, inp, w, N, C, OC, SP_GRAD_SET);
    sp_matmul_backward(add, dw2, db2, dout, inp, w, N, C, OC, SP_GRAD_ADD);
    assert_set_is_add(set, add, N * C, "matmul dinp");
    assert_memory_equal(dw1, dw2, sizeof dw1);
    assert_memory_equal(db1, db2, sizeof db1);

    float mean[N], rstd[N], y[N * C], lw[C], lb[C], ldw1[C] = {0}, ldw2[C] = {0}, ldb1[C] = {0},
                                                     ldb2[C] = {0};
    fill(lw, C, r);
    fill(lb, C, r);
    sp_layernorm_forward(y, mean, rstd, inp, lw, lb, N, C, 1e-5);
    for (size_t i = 0; i < N * C; i++) set[i] = NAN, add[i] = 0;
    sp_layernorm_backward(set, ldw1, ldb1, dc, mean, rstd, inp, lw, N, C, SP_GRAD_SET);
    sp_layernorm_backward(add, ldw2, ldb2, dc, mean, rstd, inp, lw, N, C, SP_GRAD_ADD);
    assert_set_is_add(set, add, N * C, "layer norm dinp");
    assert_memory_equal(ldw1, ldw2, sizeof ldw1);
    assert_memory_equal(ldb1, ldb2, sizeof ldb1);

    for (size_t i = 0; i < N * C; i++) set[i] = NAN, add[i] = 0;
    sp_relu_backward(set, dc, inp, N * C, SP_GRAD_SET);
    sp_relu_backward(add, dc, inp, N * C, SP_GRAD_ADD);
    assert_set_is_add(set, add, N * C, "relu dinp");

    float set2[N * C], add2[N * C];
    for (size_t i = 0; i < N * C; i++) set[i] = set2[i] = NAN, add[i] = add2[i] = 0;
    sp_residual_backward(set, set2, dc, N * C, SP_GRAD_SET);
    sp_residual_backward(add, add2, dc, N * C, SP_GRAD_ADD);
    assert_set_is_add(set, add, N * C, "residual da");
    assert_set_is_add(set2, add2, N * C, "residual db");

    for (int causal = 0; causal < 2; causal++) {
        float q[N * C], k[N * C], v[N * C], out[N * C], att[B * NH * (T + 15) * T];
        float *datt = calloc(sp_attention_work_len(T, C, NH), sizeof *datt);
        assert_true(sp_attention_len(B, T, NH) <= B * NH * (T + 15) * T);
        fill(q, N * C, r);
        fill(k, N * C, r);
        fill(v, N * C, r);
        int shift[2];
        sp_attention_forward(out, att, shift, datt, q, k, v, lens, B, T, C, NH, causal, SP_RULE_SOFTMAX, 0);
        float sq[N * C], sk[N * C], sv[N * C], aq[N * C] = {0}, ak[N * C] = {0}, av[N * C] = {0};
        for (size_t i = 0; i < N * C; i++) sq[i] = sk[i] = sv[i] = NAN;
        float dz[N * C];
        memcpy(dz, dc, sizeof dz);
        for (size_t i = lens[1] * C; i < T * C; i++) dz[T * C + i] = 0; /* padding */
        sp_attention_backward(sq, sk, sv, datt, dz, att, shift, q, k, v, lens, B, T, C, NH, causal,
                              SP_GRAD_SET);
        sp_attention_backward(aq, ak, av, datt, dz, att, shift, q, k, v, lens, B, T, C, NH, causal,
                              SP_GRAD_ADD);
        assert_set_is_add(sq, aq, N * C, "attention dq");
        assert_set_is_add(sk, ak, N * C, "attention dk");
        assert_set_is_add(sv, av, N * C, "attention dv");
        free(datt);
    }
    gsl_rng_free(r);
}

/* A batch's gradient is the sum of its strings' gradients (each run alone, with its own T, so
 * padding must contribute nothing), up to float rounding. */
static void test_batch_is_sum(void **state)
{
    (void)state;
    for (size_t gi = 0; gi < 324; gi += 7) {
        grid_point g = grid_at(gi);
        gsl_rng *r = sp_rng_new(50 + gi);
        sp_model *m = grid_model(&g, r);
        fd_batch fb;
        batch_init(&fb, m, r);
        size_t np = sp_model_num_params(m);
        float *gb = calloc(np, sizeof *gb), *gs = calloc(np, sizeof *gs);
        forward_soft(m, &fb);
        sp_model_backward(m, fb.cl, fb.cn, gb);
        for (size_t b = 0; b < fb.B; b++) {
            fd_batch one = fb;
            one.B = 1;
            one.strs[0] = fb.strs[b];
            one.ns[0] = fb.ns[b];
            one.T = sp_config_seq_len(sp_model_config_of(m), fb.ns[b]);
            float cl = fb.cl ? fb.cl[b] : 0.0f, cn[(MAXN + 2) * 3] = {0};
            if (fb.cn)
                for (size_t t = 0; t < one.T; t++)
                    for (size_t o = 0; o < fb.O; o++) cn[t * fb.O + o] = fb.cn[(b * fb.T + t) * fb.O + o];
            forward_soft(m, &one);
            sp_model_backward(m, fb.cl ? &cl : NULL, fb.cn ? cn : NULL, gs);
        }
        double scale = 0;
        for (size_t i = 0; i < np; i++) scale = fmax(scale, fabs(gb[i]));
        for (size_t i = 0; i < np; i++)
            if (fabs(gb[i] - gs[i]) > 1e-5 * scale) {
                char name[160];
                grid_name(&g, name, sizeof name);
                fail_msg("%s: entry %zu: batch %.9g, sum over strings %.9g", name, i, (double)gb[i], (double)gs[i]);
            }
        free(gb);
        free(gs);
        batch_free(&fb);
        sp_model_destroy(m);
        gsl_rng_free(r);
    }
}

/* Readout rows only gives the logits and gradients of the full pass, up to float rounding, and
 * the heads' input rows; with any other head it changes nothing. */
static void test_readout_rows(void **state)
{
    (void)state;
    size_t compact = 0;
    for (size_t gi = 0; gi < 324; gi++) {
        grid_point g = grid_at(gi);
        gsl_rng *r = sp_rng_new(70 + gi);
        sp_model *m = grid_model(&g, r);
        fd_batch fb;
        batch_init(&fb, m, r);
        const sp_model_config *c = sp_model_config_of(m);
        size_t np = sp_model_num_params(m), D = c->d_model, L = c->layers;
        float *g1 = calloc(np, sizeof *g1), *g2 = calloc(np, sizeof *g2);
        float *hf = malloc(fb.B * fb.T * D * sizeof *hf), logits[NB] = {0};
        sp_model_set_readout_only(m, false);
        forward_soft(m, &fb);
        memcpy(hf, sp_model_hidden(m, L + 1), fb.B * fb.T * D * sizeof *hf);
        if (fb.cl) memcpy(logits, sp_model_logits(m), fb.B * sizeof *logits);
        sp_model_backward(m, fb.cl, fb.cn, g1);
        sp_model_set_readout_only(m, true);
        forward_soft(m, &fb);
        sp_model_backward(m, fb.cl, fb.cn, g2);
        bool rows = g.out == SP_OUT_RECOGNIZE && g.readout != SP_READOUT_MEAN;
        compact += rows;
        char name[160];
        grid_name(&g, name, sizeof name);
        for (size_t b = 0; fb.cl && b < fb.B; b++)
            if (fabsf(sp_model_logits(m)[b] - logits[b]) > 1e-5f * (1 + fabsf(logits[b])))
                fail_msg("%s: logit %zu: %.9g with readout rows, %.9g without", name, b,
                         (double)sp_model_logits(m)[b], (double)logits[b]);
        const size_t *lens = sp_model_batch_lens(m);
        for (size_t b = 0; rows && b < fb.B; b++)
            for (size_t d = 0; d < D; d++) {
                float got = sp_model_hidden(m, L + 1)[b * D + d], want = hf[(b * fb.T + lens[b] - 1) * D + d];
                if (fabsf(got - want) > 1e-5f * (1 + fabsf(want)))
                    fail_msg("%s: heads' input %zu[%zu]: %.9g, the full pass %.9g", name, b, d, (double)got,
                             (double)want);
            }
        double scale = 0;
        for (size_t i = 0; i < np; i++) scale = fmax(scale, fabs(g1[i]));
        for (size_t i = 0; i < np; i++)
            if (fabs(g1[i] - g2[i]) > 1e-5 * scale)
                fail_msg("%s: gradient entry %zu: %.9g with readout rows, %.9g without", name, i,
                         (double)g2[i], (double)g1[i]);
        free(g1), free(g2), free(hf);
        batch_free(&fb);
        sp_model_destroy(m);
        gsl_rng_free(r);
    }
    assert_int_equal(compact, 324 / 9 * 2);
}

/* q·2^60 with k·2^-60 has the same scores as q with k, but forward rescales q (by 2^-10, to
 * stay below 2^50): backward must still give the gradients with respect to the q and k it was
 * given, exactly 2^-60 and 2^60 times the unscaled ones, and the same dv. */
static void test_attention_rescaled(void **state)
{
    (void)state;
    enum { B = 2, T = 4, C = 4, NH = 2 };
    size_t lens[B] = {4, 3};
    gsl_rng *r = sp_rng_new(3);
    float q[B * T * C], k[B * T * C], v[B * T * C], q2[B * T * C], k2[B * T * C], dout[B * T * C];
    for (size_t i = 0; i < B * T * C; i++) {
        q[i] = (float)(2 * gsl_rng_uniform(r) - 1);
        k[i] = (float)(2 * gsl_rng_uniform(r) - 1);
        v[i] = (float)(2 * gsl_rng_uniform(r) - 1);
        dout[i] = (float)(2 * gsl_rng_uniform(r) - 1);
        q2[i] = ldexpf(q[i], 60);
        k2[i] = ldexpf(k[i], -60);
    }
    for (size_t b = 0; b < B; b++)
        for (size_t i = lens[b] * C; i < T * C; i++) dout[b * T * C + i] = 0; /* padding */
    for (int causal = 0; causal < 2; causal++) {
        float out[B * T * C], out2[B * T * C], att[B * NH * (T + 15) * T] = {0}, att2[B * NH * (T + 15) * T] = {0};
        float *datt = calloc(sp_attention_work_len(T, C, NH), sizeof *datt);
        assert_true(sp_attention_len(B, T, NH) <= B * NH * (T + 15) * T);
        float qa[B * T * C], ka[B * T * C], qb[B * T * C], kb[B * T * C];
        memcpy(qa, q, sizeof q);
        memcpy(ka, k, sizeof k);
        memcpy(qb, q2, sizeof q2);
        memcpy(kb, k2, sizeof k2);
        int s1[2], s2[2];
        sp_attention_forward(out, att, s1, datt, qa, ka, v, lens, B, T, C, NH, causal, SP_RULE_SOFTMAX, 0);
        sp_attention_forward(out2, att2, s2, datt, qb, kb, v, lens, B, T, C, NH, causal, SP_RULE_SOFTMAX, 0);
        assert_true(s1[0] == 0 && s1[1] == 0 && s2[0] > 0 && s2[1] == 0);
        assert_memory_equal(att, att2, sizeof att);
        float dq[B * T * C] = {0}, dk[B * T * C] = {0}, dv[B * T * C] = {0};
        float dq2[B * T * C] = {0}, dk2[B * T * C] = {0}, dv2[B * T * C] = {0};
        sp_attention_backward(dq, dk, dv, datt, dout, att, s1, qa, ka, v, lens, B, T, C, NH, causal,
                              SP_GRAD_ADD);
        sp_attention_backward(dq2, dk2, dv2, datt, dout, att2, s2, qb, kb, v, lens, B, T, C, NH, causal,
                              SP_GRAD_ADD);
        double nz = 0;
        for (size_t i = 0; i < B * T * C; i++) {
            assert_true(dq2[i] == ldexpf(dq[i], -60));
            assert_true(dk2[i] == ldexpf(dk[i], 60));
            assert_true(dv2[i] == dv[i]);
            nz += dq[i] != 0 && dk[i] != 0 && dv[i] != 0;
        }
        assert_true(nz > 0);
        /* rows of padding stay untouched */
        for (size_t i = lens[1] * C; i < T * C; i++) assert_true(dq[T * C + i] == 0 && dk[T * C + i] == 0 && dv[T * C + i] == 0);
        free(datt);
    }
    gsl_rng_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attention_rescaled),
        cmocka_unit_test(test_backward_adds),
        cmocka_unit_test(test_backward_set),
        cmocka_unit_test(test_relu_in_place),
        cmocka_unit_test(test_matmul_relu_backward),
        cmocka_unit_test(test_batch_is_sum),
        cmocka_unit_test(test_readout_rows),
        cmocka_unit_test(test_fd_pre),
        cmocka_unit_test(test_fd_post),
        cmocka_unit_test(test_fd_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
