/* Training: mini-batches grouped by length, binary cross-entropy losses on the accept logit and
 * the next-symbol sets, an optimizer step, and what a run records in its directory (train.csv,
 * norms.csv, saturation.csv, fit.json, checkpoints model.safetensors, best.safetensors and
 * optim.safetensors). docs/training.md describes the files and the rules.
 *
 * Ownership: options and summaries are caller-owned structs; the model and the datasets stay
 * the caller's (the model's parameters are trained in place). */
#ifndef SATPROBE_TRAIN_H
#define SATPROBE_TRAIN_H

#include "satprobe/dataset.h"
#include "satprobe/fit.h"
#include "satprobe/model.h"
#include "satprobe/optim.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum sp_loss_kind { SP_LOSS_RECOGNIZE, SP_LOSS_PREDICT, SP_LOSS_BOTH } sp_loss_kind;

typedef struct sp_train_options {
    uint64_t steps;            /* optimizer updates in all (a resumed run continues to this) */
    size_t batch;              /* strings per step */
    sp_optim_config optim;
    unsigned long seed;        /* the batch order */
    sp_loss_kind loss;
    double next_weight;        /* both: L = L_recognize + next_weight * L_predict */
    uint64_t val_every;        /* validate, checkpoint and record saturation every so many steps */
    uint64_t patience;         /* stop after this many validations without a better loss; 0: never */
    uint64_t norm_every;       /* record norms every so many steps */
    size_t saturation_strings; /* validation strings the saturation level averages over */
    double saturation_scale;   /* C of the saturation level (1000) */
    bool progress;             /* progress bar on a terminal */
    FILE *log;                 /* one line per validation and the closing summary; NULL: none */
    /* Called after every optimizer step with the step just done (a sweep's own progress
     * display); NULL: none. */
    void (*on_step)(void *ctx, uint64_t step);
    void *on_step_ctx;
} sp_train_options;

/* 1000 steps, batch 32, AdamW defaults, seed 1, loss from the model's heads, next_weight 1,
 * validation every 100 steps, no early stopping, norms every 10 steps, saturation over 256
 * strings at C = 1000, no progress, no log, no step callback. */
void sp_train_options_default(sp_train_options *o);

const char *sp_loss_kind_name(sp_loss_kind k);

typedef struct sp_train_summary {
    uint64_t start_step;       /* 0, or the step a resumed run started from */
    uint64_t steps;            /* the last step done */
    bool stopped_early;
    double last_loss;          /* training loss of the last step */
    double best_val_loss;
    double best_val_acc;
    uint64_t best_step;
    double val_loss, val_acc;  /* at the last validation */
    double norm_start, norm_end;
    bool has_fit;
    sp_fit fit_sqrt, fit_power;
    double seconds;
} sp_train_summary;

/* Train m on `train`, validating on `val`, writing the run's files into `dir` (created when
 * missing; files are written atomically). With resume, the state of dir's last checkpoint is
 * loaded first (model.safetensors and optim.safetensors; the config must match m's) and the run
 * continues from its step, giving what an uninterrupted run gives. Errors: SP_EINPUT for options
 * or data that do not fit the model, SP_EIO for files, SP_ECHECK when a loss or gradient is not
 * finite (the message names the step and the tensor; the last checkpoint is kept). */
int sp_train(sp_model *m, const sp_dataset *train, const sp_dataset *val, const sp_train_options *o,
             const char *dir, bool resume, sp_train_summary *sum, sp_error *err);

/* ---- pieces, exposed for tests ----------------------------------------------------------- */

/* Binary cross-entropy with logits averaged over the batch: sum over b of softplus(z) - y z,
 * divided by B; adds dL/dz into dz[B] (scaled by `weight`). Returns the loss (unweighted). */
double sp_loss_recognize(const float *z, const bool *y, size_t B, double weight, float *dz);

/* Multi-label cross-entropy of the next-symbol logits z[B, T, O] against the sets of the
 * positives (items whose label is true): the mean over every (position 0..n, output) entry of
 * the positives; adds weight * dL/dz into dz (0 elsewhere). next[b] / end[b] point at item b's
 * rows as sp_dataset lays them out. Returns the loss (0 when the batch has no positive). */
double sp_loss_predict(const float *z, size_t T, size_t k, const size_t *ns, const bool *label,
                       const bool *const *next, const bool *const *end, size_t B, double weight, float *dz);

#endif
