/* Evaluation: the strings a model is scored on (a dataset's splits, or a language enumerated and
 * sampled in memory), accuracy per length bin in several attention modes, and the analyses of
 * docs/evaluation.md (attention-head statistics and the saturation level).
 *
 * Ownership: sp_evalset is a caller-owned struct (_from_* fill it, sp_evalset_free releases
 * it); it keeps a pointer to the language it was built from, which must outlive it. Results are
 * caller-owned structs released with their _free. */
#ifndef SATPROBE_EVAL_H
#define SATPROBE_EVAL_H

#include "satprobe/dataset.h"
#include "satprobe/lang.h"
#include "satprobe/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- what is evaluated ---------------------------------------------------------------- */

/* Items 0..n_exhaustive-1 are every string of lengths 0..exhaustive_max in length-then-
 * lexicographic order, labelled by the language (bin 0); the items after them are stored. */
typedef struct sp_evalset {
    sp_lang *lang;          /* labels and next sets of enumerated items; NULL if none */
    size_t k;
    bool has_exhaustive;
    size_t exhaustive_max;
    uint64_t n_exhaustive;
    size_t count;           /* stored items */
    int *syms;              /* [start[count]] */
    size_t *start;          /* [count + 1] */
    bool *label;            /* [count] */
    size_t *bin;            /* [count] */
    bool has_next;          /* next-symbol sets available (stored: next/end; enumerated: lang) */
    bool *next;             /* rows as in sp_dataset: item i owns rows start[i] + i + j */
    bool *end;
    size_t nbins;
    sp_range *bin_range;    /* [nbins] lengths covered */
    char **bin_name;        /* [nbins] "test-51-100", "0-12", "500", "51 (for 50)" */
    uint64_t total;         /* n_exhaustive + count */
} sp_evalset;

/* The strings of the given dataset splits. With nbins == 0 every split is a bin (named after it);
 * otherwise the bins are length ranges over all splits' strings (strings outside every bin are
 * left out). The splits are copied. */
int sp_evalset_from_dataset(sp_evalset *es, const sp_dataset *const *splits, size_t nsplits,
                            const sp_range *bins, size_t nbins, sp_error *err);

typedef struct sp_evalset_lang_options {
    bool exhaustive;        /* enumerate every string of lengths 0..exhaustive_max */
    size_t exhaustive_max;
    size_t nlengths;
    size_t lengths[SP_GEN_MAX_BINS]; /* sampled lengths */
    size_t per_length;      /* positives and as many near-miss negatives at each */
    bool positives_only;    /* the predict task: leave negatives out */
    bool with_next;         /* fill next-symbol sets */
    unsigned long seed;
} sp_evalset_lang_options;

/* Exhaustive 0..12, lengths 50, 100, 200, 500, 1000 per length, seed 1. */
void sp_evalset_lang_defaults(sp_evalset_lang_options *o);

/* Strings of a language built in memory (docs/evaluation.md). A listed length without strings is
 * replaced by the next longer one that has some (up to 64 further), and the bin is named so. */
int sp_evalset_from_lang(sp_evalset *es, sp_lang *lang, const sp_evalset_lang_options *o,
                         sp_error *err);
void sp_evalset_free(sp_evalset *es);

/* Item i. s points into the set or into buf (n ints the caller provides: at least the longest
 * enumerated length); next/end into the set or into nextbuf ((n + 1) * k) and endbuf (n + 1). */
typedef struct sp_eval_item {
    const int *s;
    size_t n;
    bool label;
    size_t bin;
    const bool *next;       /* [(n + 1) * k] or NULL */
    const bool *end;        /* [n + 1] or NULL */
} sp_eval_item;
void sp_evalset_item(const sp_evalset *es, uint64_t i, int *buf, bool *nextbuf, bool *endbuf,
                     sp_eval_item *it);
/* Longest string in the set. */
size_t sp_evalset_max_len(const sp_evalset *es);

/* ---- accuracy ------------------------------------------------------------------------- */

#define SP_EVAL_MAX_MODES 16

typedef enum sp_eval_task { SP_EVAL_RECOGNIZE, SP_EVAL_PREDICT } sp_eval_task;

/* Called after each forward pass with the batch's items (its[b] for b < B) and the mode's index;
 * the model's buffers hold that pass. */
typedef int (*sp_eval_hook)(void *ctx, const sp_model *m, size_t mode, const sp_eval_item *its,
                            const uint64_t *index, size_t B, sp_error *err);

typedef struct sp_eval_result {
    size_t nmodes, nbins;
    sp_mode modes[SP_EVAL_MAX_MODES];
    uint64_t *n;            /* [nbins] strings scored */
    uint64_t *positives;    /* [nbins] */
    uint64_t *correct;      /* [nmodes * nbins], mode-major */
} sp_eval_result;

/* Score every item of es in each mode: recognize by label (logit > 0 accepts), predict by
 * whole-string next-symbol correctness on positives (negatives are skipped). `batch` strings
 * per forward pass at most (fewer for long strings, to bound memory). progress: draw a bar on a
 * terminal. */
int sp_eval_run(sp_model *m, const sp_evalset *es, const sp_mode *modes, size_t nmodes,
                sp_eval_task task, size_t batch, bool progress, sp_eval_hook hook, void *ctx,
                sp_eval_result *res, sp_error *err);
void sp_eval_result_free(sp_eval_result *res);

/* ---- analyses ------------------------------------------------------------------------- */

typedef enum sp_head_label { SP_HEAD_ARGMAX, SP_HEAD_MEAN, SP_HEAD_INTERMEDIATE } sp_head_label;

typedef struct sp_head_stats {
    double mean_attended;   /* mean number of positions with weight > 1e-5 */
    double frac_multi;      /* fraction of queries attending to more than one position */
    double mean_visible;    /* mean number of visible positions */
    uint64_t queries;
    sp_head_label label;
} sp_head_stats;

const char *sp_head_label_name(sp_head_label l);

/* Per layer and head ([L * NH], layer-major) under scaled:scale, over every query position of
 * every item (the predict task's positives only when positives_only). */
int sp_eval_heads(sp_model *m, const sp_evalset *es, double scale, size_t batch, bool positives_only,
                  sp_head_stats *out, sp_error *err);

/* Mean cosine similarity over positions between the residual stream under θ and under scale·θ:
 * out[l] for l = 0..L (after layer l + 1; out[L] what the heads read). */
int sp_eval_saturation(sp_model *m, const sp_evalset *es, double scale, size_t batch,
                       bool positives_only, double *out, sp_error *err);

#endif
