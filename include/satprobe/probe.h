/* Probe specs (probes/NAME.yaml): which languages, models, training budget, seeds, attention modes
 * and analyses one sweep covers. docs/probes.md describes the format, its defaults and its errors.
 *
 * Ownership: sp_probe_parse and sp_probe_load return a probe the caller releases with
 * sp_probe_destroy; every string, array and model configuration inside belongs to the probe. */
#ifndef SATPROBE_PROBE_H
#define SATPROBE_PROBE_H

#include "satprobe/config.h"
#include "satprobe/dataset.h"
#include "satprobe/error.h"
#include "satprobe/model.h"
#include "satprobe/train.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest probe or model name; names become directory names under results/. */
#define SP_PROBE_MAX_NAME 64

/* The analyses a probe can ask for, as bits of sp_probe.analysis. */
typedef enum sp_probe_analysis {
    SP_ANALYSIS_NORMS = 1u << 0,      /* the norm curve and its fits */
    SP_ANALYSIS_SATURATION = 1u << 1, /* cosine similarity under theta and 1000 theta */
    SP_ANALYSIS_HEADS = 1u << 2,      /* positions per head above 1e-5 under 1000 theta */
} sp_probe_analysis;

#define SP_ANALYSIS_ALL (SP_ANALYSIS_NORMS | SP_ANALYSIS_SATURATION | SP_ANALYSIS_HEADS)

typedef struct sp_probe_model {
    char *name;
    /* Read by sp_config_from_yaml over the defaults and checked, with no alphabet (k = 0): the
     * alphabet is each language's, set with sp_config_set_alphabet on a copy at run time. */
    sp_model_config config;
    /* The probe's `train` with the model's own `train` keys read over it (seed still unset). */
    sp_train_options train;
} sp_probe_model;

typedef struct sp_probe {
    char *name;                 /* [A-Za-z0-9_-]+, at most SP_PROBE_MAX_NAME bytes */
    uint8_t sha256[32];         /* of the file's bytes exactly as read */
    size_t nlanguages;
    char **languages;           /* [nlanguages] grammar paths: globs expanded, sorted, unique */
    /* task, train, train_lengths, nbins, bins, per_bin and seed come from the file (over
     * sp_gen_options_default); the other fields are the generator's defaults. */
    sp_gen_options data;
    size_t nmodels;
    sp_probe_model *models;     /* [nmodels] in file order, names distinct */
    /* steps, batch, optim.kind, optim.lr, optim.weight_decay, optim.schedule, optim.warmup,
     * patience and val_every come from the file (over sp_train_options_default); optim.total
     * is steps. seed is the default: the runner sets it from `seeds`. */
    sp_train_options train;
    size_t nseeds;
    unsigned long *seeds;       /* [nseeds] in file order, distinct */
    size_t nmodes;
    sp_mode *modes;             /* [nmodes] in file order, distinct, tolerance SP_TIE_TOLERANCE */
    size_t nconstructions;
    char **constructions;       /* [nconstructions] construction paths, as languages */
    unsigned analysis;          /* sp_probe_analysis bits; 0 when `analysis: []` */
} sp_probe;

/* Parse a probe from text[0..len); `file` names it in error messages. Relative paths and globs
 * in languages and constructions are resolved against base_dir (NULL or "": the working
 * directory) and expanded with glob(3); each must match at least one file. The grammar and
 * construction files are not loaded here. Every mistake is SP_EINPUT with file:line:col at the
 * offending key or value; *out is then NULL. */
int sp_probe_parse(const char *text, size_t len, const char *file, const char *base_dir,
                   sp_probe **out, sp_error *err);

/* Read the file at path (SP_EIO when it cannot be read) and parse it as sp_probe_parse does. */
int sp_probe_load(const char *path, const char *base_dir, sp_probe **out, sp_error *err);

/* Release a probe and everything in it; NULL is allowed. */
void sp_probe_destroy(sp_probe *p);

/* "norms", "saturation" or "heads" for one bit. */
const char *sp_probe_analysis_name(sp_probe_analysis a);

/* ---- cells and shards (src/probe/cells.c) ---- */

/* One run of a probe: a language, a model and a seed, as indices into the probe's lists. */
typedef struct sp_probe_cell {
    size_t index; /* the cell's place in the probe's order, 0-based */
    size_t language, model, seed;
} sp_probe_cell;

/* nlanguages · nmodels · nseeds. */
size_t sp_probe_cell_count(const sp_probe *p);
/* Cell `index` (< sp_probe_cell_count): languages outermost, then models, seeds fastest. */
sp_probe_cell sp_probe_cell_at(const sp_probe *p, size_t index);

/* Shard `index` of `count` (1 <= index <= count <= SP_SHARD_MAX) takes the cells whose 0-based
 * index is index - 1 modulo count. */
#define SP_SHARD_MAX 100000
typedef struct sp_shard {
    size_t index, count;
} sp_shard;

/* "I/N", as --shard takes it. SP_EINPUT with a message that shows the form otherwise. */
int sp_shard_parse(const char *s, sp_shard *out, sp_error *err);
/* The shard of a Slurm array task, from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (and
 * SLURM_ARRAY_TASK_MIN and _STEP where set): task MIN + k·STEP is shard k + 1 of COUNT.
 * *found is false, and nothing else is set, when SLURM_ARRAY_TASK_ID is unset. SP_EINPUT when a
 * variable is not a number or the task is not in the array. */
int sp_shard_from_env(sp_shard *out, bool *found, sp_error *err);
/* Whether cell `cell_index` belongs to the shard. */
bool sp_shard_has(const sp_shard *s, size_t cell_index);

/* ---- running a probe (src/probe/run*.c; docs/results.md) ---- */

typedef struct sp_probe_run_options {
    const char *out_dir;     /* the results directory (created when missing) */
    const char *probe_path;  /* the probe file, copied to out_dir/probe.yaml */
    const char *source_dir;  /* relative paths in probe.json are relative to it; NULL: absolute */
    bool sharded;            /* run only the cells of `shard` */
    sp_shard shard;
    size_t jobs;             /* cells run in parallel (worker processes); 1: in this process */
    bool force;              /* out_dir holds another probe's results: replace them (a directory
                              * without probe.json is never deleted) */
    bool progress;           /* a progress bar on a terminal */
    FILE *log;               /* a line per cell started and finished; NULL: none */
} sp_probe_run_options;

typedef struct sp_probe_run_summary {
    size_t cells;            /* in the probe */
    size_t in_shard;         /* cells this run was responsible for */
    size_t skipped;          /* of those, finished before this run */
    size_t ran;              /* of those, trained or evaluated now */
    size_t finished;         /* cells of the whole probe with cell.json after the run */
    bool reported;           /* every cell is finished, so summary, CSVs and plots were written */
    double seconds;
} sp_probe_run_summary;

/* Run the probe's cells (those of the shard when sharded) into out_dir: datasets into data/
 * (kept between runs, keyed by content), each cell's training and evaluation into cells/, the
 * constructions into constructions/. Finished cells are skipped; a cell interrupted in training
 * resumes from its last checkpoint. When every cell of the probe is finished, the rendered files
 * are written (sp_report_write) with manifest.json. Errors: SP_EINPUT for a probe whose grammars
 * or constructions do not load, or an out_dir holding another probe's results without force (or
 * holding something that is not a probe's results); SP_EIO for files; otherwise the error of the
 * first cell that failed, its message starting with the cell (SP_ECHECK when training
 * diverged). */
int sp_probe_run(const sp_probe *p, const sp_probe_run_options *o, sp_probe_run_summary *s,
                 sp_error *err);

/* Combine result directories of one probe (shards, or partial runs) into out_dir: every
 * finished cell and construction is copied (a cell finished in two inputs must be the same
 * bytes), then the rendered files and manifest.json are written. Errors: SP_EINPUT when the
 * inputs hold different probes (their probe.json differ) or disagree on a cell. */
int sp_probe_merge(const char *const *dirs, size_t ndirs, const char *out_dir,
                   sp_probe_run_summary *s, sp_error *err);

#endif
