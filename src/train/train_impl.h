/* Private to src/train: the batch plan and the run's records. */
#ifndef SATPROBE_TRAIN_IMPL_H
#define SATPROBE_TRAIN_IMPL_H

#include "satprobe/strbuf.h"
#include "satprobe/train.h"

/* Batches of one epoch; step s uses batch s mod per_epoch of epoch s / per_epoch. */
typedef struct sp_batch_plan {
    const sp_dataset *ds;
    size_t B;              /* strings per batch (the dataset's size when smaller) */
    size_t per_epoch;      /* whole batches per epoch (a remainder is left out) */
    unsigned long seed;
    uint64_t epoch;        /* the epoch order holds, UINT64_MAX before the first */
    size_t *order;         /* [count] examples of the epoch, batch after batch */
    uint64_t *keys;        /* [count] sort scratch */
    size_t *batch_order;   /* [per_epoch] */
} sp_batch_plan;

void sp_batch_plan_init(sp_batch_plan *p, const sp_dataset *ds, size_t batch, unsigned long seed);
void sp_batch_plan_free(sp_batch_plan *p);
/* The B example indices of step `step` (0-based). */
const size_t *sp_batch_plan_get(sp_batch_plan *p, uint64_t step);

/* A CSV file kept in memory and rewritten atomically at every checkpoint. */
typedef struct sp_csv {
    char *path;
    sp_strbuf text;
} sp_csv;

/* Start with header (no newline); with resume, load path's rows whose first field is a step
 * <= upto (a header that differs is an error). */
int sp_csv_open(sp_csv *c, const char *dir, const char *name, const char *header, bool resume, uint64_t upto,
                sp_error *err);
int sp_csv_write(const sp_csv *c, sp_error *err);
void sp_csv_free(sp_csv *c);

#endif
