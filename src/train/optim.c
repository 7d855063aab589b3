/* SGD, Adam and AdamW as torch.optim does them (PyTorch 1.13, single-tensor code path), clipping
 * as torch.nn.utils.clip_grad_norm_, and the learning-rate schedules. */
#include "satprobe/optim.h"

#include "satprobe/alloc.h"
#include "satprobe/pool.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const opt_names[] = {"sgd", "adam", "adamw"};
static const char *const sched_names[] = {"constant", "warmup", "invsqrt", "cosine"};
#define N_OPT (sizeof opt_names / sizeof *opt_names)
#define N_SCHED (sizeof sched_names / sizeof *sched_names)

/* Added to the norm before dividing, as clip_grad_norm_ does. */
#define CLIP_EPS 1e-6

static const double pi = 3.14159265358979323846;

void sp_optim_config_default(sp_optim_config *c)
{
    memset(c, 0, sizeof *c);
    c->kind = SP_OPT_ADAMW;
    c->lr = 1e-3;
    c->momentum = 0.9;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->weight_decay = 0.01;
    c->clip = 0;
    c->schedule = SP_SCHED_CONSTANT;
    c->warmup = 0;
    c->total = 0;
}

static int parse_name(const char *s, const char *const *names, size_t n, const char *what,
                      int *out, sp_error *err)
{
    SP_ASSERT(s);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], s)) {
            *out = (int)i;
            return SP_OK;
        }
    char list[128];
    size_t used = 0;
    list[0] = '\0';
    for (size_t i = 0; i < n && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
    return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "%s must be one of %s, not '%s'", what, list, s);
}

int sp_opt_kind_parse(const char *s, sp_opt_kind *out, sp_error *err)
{
    int v = 0;
    if (parse_name(s, opt_names, N_OPT, "optimizer", &v, err)) return SP_EINPUT;
    *out = (sp_opt_kind)v;
    return SP_OK;
}

int sp_sched_kind_parse(const char *s, sp_sched_kind *out, sp_error *err)
{
    int v = 0;
    if (parse_name(s, sched_names, N_SCHED, "schedule", &v, err)) return SP_EINPUT;
    *out = (sp_sched_kind)v;
    return SP_OK;
}

const char *sp_opt_kind_name(sp_opt_kind k)
{
    SP_ASSERT((size_t)k < N_OPT);
    return opt_names[k];
}

const char *sp_sched_kind_name(sp_sched_kind k)
{
    SP_ASSERT((size_t)k < N_SCHED);
    return sched_names[k];
}

int sp_optim_config_check(const sp_optim_config *c, sp_error *err)
{
#define BAD(...) sp_error_set(err, SP_EINPUT, NULL, 0, 0, __VA_ARGS__)
    /* Written so that NaN fails every test. */
    if ((size_t)c->kind >= N_OPT) return BAD("unknown optimizer kind %d", (int)c->kind);
    if ((size_t)c->schedule >= N_SCHED) return BAD("unknown schedule kind %d", (int)c->schedule);
    if (!(c->lr > 0 && isfinite(c->lr))) return BAD("lr must be a finite number > 0, not %g", c->lr);
    if (!(c->momentum >= 0 && c->momentum < 1)) return BAD("momentum must be in [0, 1), not %g", c->momentum);
    if (!(c->beta1 >= 0 && c->beta1 < 1)) return BAD("beta1 must be in [0, 1), not %g", c->beta1);
    if (!(c->beta2 >= 0 && c->beta2 < 1)) return BAD("beta2 must be in [0, 1), not %g", c->beta2);
    if (!(c->eps > 0 && isfinite(c->eps))) return BAD("eps must be a finite number > 0, not %g", c->eps);
    if (!(c->weight_decay >= 0 && isfinite(c->weight_decay)))
        return BAD("weight_decay must be a finite number >= 0, not %g", c->weight_decay);
    if (!(c->clip >= 0 && isfinite(c->clip)))
        return BAD("clip must be a finite number >= 0 (0: no clipping), not %g", c->clip);
    if (c->schedule == SP_SCHED_COSINE && !(c->total > c->warmup))
        return BAD("the cosine schedule needs total steps (%llu) > warmup steps (%llu)",
                   (unsigned long long)c->total, (unsigned long long)c->warmup);
    return SP_OK;
#undef BAD
}

/* The factor f(t) of lr_t = lr · f(t); computed before multiplying by lr, as LambdaLR does. */
static double schedule_factor(const sp_optim_config *c, uint64_t t)
{
    double step = (double)t + 1; /* 1-based */
    switch (c->schedule) {
    case SP_SCHED_CONSTANT: return 1;
    case SP_SCHED_WARMUP: return c->warmup == 0 ? 1 : fmin(1, step / (double)c->warmup);
    case SP_SCHED_INVSQRT: {
        double w = c->warmup > 0 ? (double)c->warmup : 1;
        return sqrt(w / fmax(step, w));
    }
    case SP_SCHED_COSINE:
        if (t < c->warmup) return step / (double)c->warmup;
        if (t >= c->total) return 0;
        return 0.5 * (1 + cos(pi * (double)(t - c->warmup) / (double)(c->total - c->warmup)));
    }
    sp_panic(__FILE__, __LINE__, "unknown schedule %d", (int)c->schedule);
}

double sp_schedule_lr(const sp_optim_config *c, uint64_t t)
{
    return c->lr * schedule_factor(c, t);
}

void sp_optim_init(sp_optim *o, const sp_optim_config *c, size_t n)
{
    SP_ASSERT(sp_optim_config_check(c, NULL) == SP_OK);
    o->cfg = *c;
    o->n = n;
    o->m = sp_calloc(n, sizeof *o->m);
    o->v = c->kind == SP_OPT_SGD ? NULL : sp_calloc(n, sizeof *o->v);
    o->step = 0;
}

void sp_optim_free(sp_optim *o)
{
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
    o->n = 0;
}

double sp_grad_norm(const float *g, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * (double)g[i];
    return sqrt(s);
}

/* Every per-element operation below is one float32 operation in torch's kernels; the scalars
 * are Python floats (double) rounded to float where a kernel receives them. */

/* one update's arguments, for the chunks of its loop (sp_pool_for: elements are independent, so
 * the split changes no bit) */
typedef struct update_job {
    const sp_optim_config *c;
    bool first;
    float *m, *v, *p;
    const float *grads;
    double lr, t;
} update_job;

enum { GRAIN = 1 << 15 }; /* parameters a chunk should have at least */

/* torch.optim.SGD, dampening 0, not Nesterov. first: the momentum buffer does not exist yet and
 * is cloned from the gradient. */
static void sgd_part(void *ctx, size_t part, size_t i0, size_t i1)
{
    const update_job *J = ctx;
    const sp_optim_config *c = J->c;
    float *b = J->m, *p = J->p;
    const float *grads = J->grads;
    const float wd = (float)c->weight_decay, mu = (float)c->momentum, neg_lr = (float)-J->lr;
    for (size_t i = i0; i < i1; i++) {
        float g = grads[i];
        if (c->weight_decay != 0) g = g + wd * p[i];     /* d_p.add(p, alpha=wd) */
        if (c->momentum != 0) {
            b[i] = J->first ? g : b[i] * mu + g;         /* buf.mul_(mu).add_(d_p, alpha=1) */
            g = b[i];
        }
        p[i] = p[i] + neg_lr * g;                        /* p.add_(d_p, alpha=-lr) */
    }
}

/* torch.optim.Adam (L2 weight decay) and torch.optim.AdamW (decoupled), amsgrad off. t is the
 * step count after the increment (1 for the first update). */
static void adam_part(void *ctx, size_t part, size_t i0, size_t i1)
{
    const update_job *J = ctx;
    const sp_optim_config *c = J->c;
    float *m = J->m, *v = J->v, *p = J->p;
    const float *grads = J->grads;
    double lr = J->lr, t = J->t;
    const bool decoupled = c->kind == SP_OPT_ADAMW, l2 = !decoupled && c->weight_decay != 0;
    const double bc1 = 1 - pow(c->beta1, t), bc2 = 1 - pow(c->beta2, t);
    const float b1 = (float)c->beta1, omb1 = (float)(1 - c->beta1);
    const float b2 = (float)c->beta2, omb2 = (float)(1 - c->beta2);
    const float wd = (float)c->weight_decay, decay = (float)(1 - lr * c->weight_decay);
    const float neg_step = (float)-(lr / bc1), bc2_sqrt = (float)sqrt(bc2), eps = (float)c->eps;
    for (size_t i = i0; i < i1; i++) {
        float g = grads[i];
        if (decoupled) p[i] = p[i] * decay;              /* p.mul_(1 - lr * wd) */
        if (l2) g = g + wd * p[i];                       /* grad.add(p, alpha=wd) */
        m[i] = m[i] * b1;                                /* exp_avg.mul_(b1).add_(g, alpha=1-b1) */
        m[i] = m[i] + omb1 * g;
        v[i] = v[i] * b2;                                /* exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2) */
        v[i] = v[i] + omb2 * g * g;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;      /* (v.sqrt() / sqrt(bc2)).add_(eps) */
        p[i] = p[i] + neg_step * m[i] / denom;           /* p.addcdiv_(m, denom, value=-lr/bc1) */
    }
}

double sp_optim_step(sp_optim *o, float *params, float *grads)
{
    const sp_optim_config *c = &o->cfg;
    double lr = sp_schedule_lr(c, o->step);
    double norm = sp_grad_norm(grads, o->n);
    if (c->clip > 0) {
        double coef = c->clip / (norm + CLIP_EPS);
        if (coef < 1) {
            const float f = (float)coef;
            for (size_t i = 0; i < o->n; i++) grads[i] = grads[i] * f;
        }
    }
    update_job J = {.c = c, .first = o->step == 0, .m = o->m, .v = o->v, .p = params, .grads = grads, .lr = lr,
                    .t = (double)(o->step + 1)};
    sp_pool_for(o->n, GRAIN, c->kind == SP_OPT_SGD ? sgd_part : adam_part, &J);
    o->step++;
    return norm;
}
