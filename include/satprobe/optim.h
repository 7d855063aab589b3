/* Optimizers over flat parameter slabs (SGD with momentum, Adam, AdamW, with PyTorch's update
 * rules), gradient clipping by global norm, and learning-rate schedules (constant, linear
 * warm-up, inverse square root as in T5, cosine). docs/training.md states every formula.
 *
 * Ownership: sp_optim is a caller-owned struct; _init allocates its moment buffers (once), _free
 * releases them. The parameter and gradient slabs stay the caller's. */
#ifndef SATPROBE_OPTIM_H
#define SATPROBE_OPTIM_H

#include "satprobe/error.h"

#include <stddef.h>
#include <stdint.h>

typedef enum sp_opt_kind { SP_OPT_SGD, SP_OPT_ADAM, SP_OPT_ADAMW } sp_opt_kind;
typedef enum sp_sched_kind { SP_SCHED_CONSTANT, SP_SCHED_WARMUP, SP_SCHED_INVSQRT, SP_SCHED_COSINE } sp_sched_kind;

typedef struct sp_optim_config {
    sp_opt_kind kind;
    double lr;            /* base learning rate */
    double momentum;      /* SGD */
    double beta1, beta2;  /* Adam, AdamW */
    double eps;           /* Adam, AdamW */
    double weight_decay;  /* SGD and Adam: L2 added to the gradient; AdamW: decoupled */
    double clip;          /* clip the global gradient norm to this; 0 for no clipping */
    sp_sched_kind schedule;
    uint64_t warmup;      /* warm-up steps (warmup, invsqrt, cosine) */
    uint64_t total;       /* total steps (cosine) */
} sp_optim_config;

/* AdamW, lr 1e-3, betas 0.9 / 0.999, eps 1e-8, weight decay 0.01, momentum 0.9 (for SGD), no
 * clipping, constant schedule, warm-up 0, total 0. */
void sp_optim_config_default(sp_optim_config *c);

/* Parse names: "sgd" "adam" "adamw"; "constant" "warmup" "invsqrt" "cosine" (exact, lower case).
 * SP_EINPUT with a message listing the names otherwise; *out is then unchanged. */
int sp_opt_kind_parse(const char *s, sp_opt_kind *out, sp_error *err);
int sp_sched_kind_parse(const char *s, sp_sched_kind *out, sp_error *err);
/* Static strings, the names the parsers take. */
const char *sp_opt_kind_name(sp_opt_kind k);
const char *sp_sched_kind_name(sp_sched_kind k);

/* Checks: lr > 0, 0 <= momentum < 1, 0 <= betas < 1, eps > 0, weight_decay >= 0, clip >= 0
 * (lr, eps, weight_decay and clip finite), cosine needs total > warmup. SP_EINPUT with a message
 * naming the setting otherwise. Settings the chosen optimizer does not use are checked too. */
int sp_optim_config_check(const sp_optim_config *c, sp_error *err);

/* The learning rate of step t (t = 0 for the first update): lr · f(t), f by the schedule:
 *   constant  1
 *   warmup    min(1, (t + 1) / warmup); 1 when warmup = 0
 *   invsqrt   sqrt(W / max(t + 1, W)), W = max(warmup, 1)
 *   cosine    (t + 1) / warmup for t < warmup, then 0.5 (1 + cos(π (t − warmup) / (total − warmup)))
 *             for t < total, 0 from t = total on. */
double sp_schedule_lr(const sp_optim_config *c, uint64_t t);

typedef struct sp_optim {
    sp_optim_config cfg;
    size_t n;
    float *m;      /* [n] SGD momentum buffer or Adam first moment */
    float *v;      /* [n] Adam second moment (NULL for SGD) */
    uint64_t step; /* updates done */
} sp_optim;

/* c must pass sp_optim_config_check (a broken invariant otherwise: abort). Moments start at 0,
 * step at 0. */
void sp_optim_init(sp_optim *o, const sp_optim_config *c, size_t n);
void sp_optim_free(sp_optim *o);

/* Global L2 norm of g[0..n), accumulated in double. */
double sp_grad_norm(const float *g, size_t n);

/* One update of params[0..n) from grads[0..n) at step o->step (then o->step++): clip grads in
 * place when cfg.clip > 0, then apply the optimizer with the scheduled learning rate. Returns
 * the gradient norm before clipping. No allocation. grads are changed only by clipping (weight
 * decay does not write into them). NaN or infinite gradients are not checked: they propagate
 * into the moments and parameters, and the returned norm shows them. */
double sp_optim_step(sp_optim *o, float *params, float *grads);

#endif
