/* Private to src/nn: batches of evaluation items, shared by accuracy and the analyses. */
#ifndef SATPROBE_EVAL_IMPL_H
#define SATPROBE_EVAL_IMPL_H

#include "satprobe/eval.h"

/* Walks an evaluation set in batches: enumerated items in order, then stored items by length. */
typedef struct sp_batcher {
    const sp_evalset *es;
    bool positives_only;   /* skip items labelled false */
    size_t B;              /* most items per batch (bounded by the attention buffers' size) */
    size_t maxn;           /* longest string */
    uint64_t pos;          /* next position in the walk */
    size_t *order;         /* [es->count] stored items by length */
    int *bufs;             /* [B, maxn + 1] enumerated strings */
    bool *nextbufs;        /* [B, maxn + 1, k] */
    bool *endbufs;         /* [B, maxn + 1] */
    sp_eval_item *items;   /* [B] the current batch */
    uint64_t *index;       /* [B] their indices in es */
    const int **strs;      /* [B] */
    size_t *ns;            /* [B] */
} sp_batcher;

void sp_batcher_init(sp_batcher *b, const sp_evalset *es, const sp_model *m, size_t batch, bool positives_only);
/* Fill the next batch; returns its size (0 at the end). */
size_t sp_batcher_next(sp_batcher *b);
void sp_batcher_free(sp_batcher *b);

#endif
