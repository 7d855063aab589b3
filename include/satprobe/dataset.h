/* Datasets: the generator behind `satprobe gen` (balanced recognition and next-symbol datasets
 * with length-generalisation splits, written atomically with a manifest) and a reader that loads
 * a split of either output format back for the trainer and the evaluator. The file formats and
 * the sampling rules are described in docs/datasets.md.
 *
 * Ownership: options and summaries are caller-owned structs. sp_dataset_load returns a dataset
 * the caller releases with sp_dataset_destroy; sp_dataset_splits returns an array of strings the
 * caller releases with sp_dataset_splits_free. The language passed to sp_gen_run stays the
 * caller's (the generator fills its count tables). */
#ifndef SATPROBE_DATASET_H
#define SATPROBE_DATASET_H

#include "satprobe/lang.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum sp_gen_task {
    SP_TASK_RECOGNIZE, /* labelled strings, as many negatives as positives at every length */
    SP_TASK_PREDICT,   /* positives only, each with its next-symbol sets */
    SP_TASK_BOTH,      /* recognize, and the positives carry their next-symbol sets */
} sp_gen_task;

typedef enum sp_gen_format { SP_FORMAT_JSONL, SP_FORMAT_FLARE } sp_gen_format;

typedef enum sp_gen_length_dist {
    SP_LENGTHS_UNIFORM, /* each length with strings equally likely */
    SP_LENGTHS_COUNT,   /* lengths weighted by their number of strings */
} sp_gen_length_dist;

typedef struct sp_range {
    size_t lo, hi; /* inclusive */
} sp_range;

#define SP_GEN_MAX_BINS 32
/* Largest --train and --per-bin: the de-duplication sets take 16 bytes per string. */
#define SP_GEN_MAX_STRINGS 100000000u

typedef struct sp_gen_options {
    sp_gen_task task;
    sp_gen_format format;
    size_t train;                     /* strings in the training split */
    sp_range train_lengths;
    size_t nbins;
    sp_range bins[SP_GEN_MAX_BINS];   /* test splits by length, pairwise disjoint */
    size_t per_bin;                   /* strings in each test split */
    unsigned long seed;
    double near_miss;                 /* fraction of the negatives that are near misses */
    sp_gen_length_dist length_dist;
    bool force;                       /* replace an existing output directory */
    bool progress;                    /* draw a progress bar when stderr is a terminal */
    FILE *log;                        /* warnings, one line each; NULL for none */
} sp_gen_options;

/* task both, format jsonl, train 10000, lengths 1:50, bins 1:50,51:100,101:150, per bin 2000,
 * seed 1, near misses 0.5, lengths uniform, no force, no progress, no log. */
void sp_gen_options_default(sp_gen_options *o);

/* "A:B" with A <= B, both decimal; errors name `what` ("--train-lengths"). */
int sp_gen_parse_range(const char *text, const char *what, sp_range *out, sp_error *err);
/* "A:B,C:D,...": at most SP_GEN_MAX_BINS ranges. Overlaps are checked by sp_gen_check_options. */
int sp_gen_parse_bins(const char *text, sp_range *bins, size_t *nbins, sp_error *err);
/* Checks that do not need the language: counts, the fraction, disjoint bins, length limits. */
int sp_gen_check_options(const sp_gen_options *o, sp_error *err);

const char *sp_gen_task_name(sp_gen_task t);
const char *sp_gen_format_name(sp_gen_format f);
const char *sp_gen_length_dist_name(sp_gen_length_dist d);

/* What a run produced. */
typedef struct sp_gen_summary {
    size_t splits;
    uint64_t strings;   /* lines written over all splits */
    size_t warnings;    /* warning lines (also in the manifest) */
} sp_gen_summary;

/* Generate every split into `dir`, atomically. `grammar_sha256` (64 hex digits, or NULL) is
 * recorded in the manifest. Errors: SP_EINPUT for options the language cannot satisfy (a range
 * without strings, an existing dir without force), SP_EIO for file-system failures, SP_ELIMIT
 * when the language cannot count that far, SP_ECHECK when a label or next-symbol set failed its
 * second check (a bug in the language layer). On error no directory is left behind. */
int sp_gen_run(sp_lang *lang, const char *grammar_sha256, const char *dir,
               const sp_gen_options *o, sp_gen_summary *summary, sp_error *err);

/* ---- reading back ------------------------------------------------------------------------ */

/* One split in memory. Example i is syms[start[i] .. start[i + 1]). Next-symbol rows: example i
 * owns rows start[i] + i + j for j = 0..len (the prefix of its first j symbols); row r's valid
 * next symbols are next[r * k .. r * k + k) and end[r] says whether the prefix is a member. */
typedef struct sp_dataset {
    char *split;      /* "train", "test-51-100", ... */
    char *task;       /* "recognize", "predict" or "both" */
    size_t k;
    char **symbols;   /* [k] the alphabet, from the manifest */
    size_t count;     /* examples */
    int *syms;        /* [start[count]] */
    size_t *start;    /* [count + 1] */
    bool *label;      /* [count] */
    int *edits;       /* [count] edits of a near miss; 0 for positives and random negatives */
    bool has_next;    /* next/end are filled (task predict or both) */
    bool *next;       /* [(start[count] + count) * k], all false for negatives */
    bool *end;        /* [start[count] + count] */
} sp_dataset;

/* Split names listed in dir/manifest.json, in order ("train" first). */
int sp_dataset_splits(const char *dir, char ***names, size_t *n, sp_error *err);
void sp_dataset_splits_free(char **names, size_t n);

/* Load one split of a dataset written by sp_gen_run in either format. Every line is validated
 * (symbols in the alphabet, lengths, labels, edits, next sets of the right shape, line counts
 * equal to the manifest's); errors carry file:line:col. */
int sp_dataset_load(const char *dir, const char *split, sp_dataset **out, sp_error *err);
void sp_dataset_destroy(sp_dataset *ds);

/* A new dataset holding examples from..to-1 of ds (from <= to <= count), named `split` (NULL:
 * ds's name); the caller destroys it. */
sp_dataset *sp_dataset_slice(const sp_dataset *ds, size_t from, size_t to, const char *split);

#endif
