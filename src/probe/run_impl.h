/* The probe runner's shared state: the languages and constructions as loaded, where each cell
 * lives, and the pieces run.c, run_cell.c, run_files.c and merge.c share. */
#ifndef SATPROBE_RUN_IMPL_H
#define SATPROBE_RUN_IMPL_H

#include "satprobe/construct.h"
#include "satprobe/eval.h"
#include "satprobe/json.h"
#include "satprobe/lang.h"
#include "satprobe/probe.h"
#include "satprobe/strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct run_lang {
    char *id;        /* the grammar file's name without .yaml */
    char *path;      /* as the probe expanded it */
    char sha[65];    /* of the grammar file's bytes */
    sp_lang *lang;
    char *data_dir;  /* out_dir/data/ID-HASH */
    char *data_rel;  /* data/ID-HASH */
} run_lang;

typedef struct run_cons {
    char *id;        /* the construction file's name without .yaml */
    char *path;
    sp_construction *c;
    long language;   /* index into the probe's languages, -1 when not among them */
} run_cons;

typedef struct run_ctx {
    const sp_probe *p;
    const char *out_dir;
    const char *source_dir;
    run_lang *langs;     /* [p->nlanguages] */
    run_cons *cons;      /* [p->nconstructions] */
    /* step callback of the cell being trained (progress) */
    void (*on_step)(void *ctx, uint64_t step);
    void *on_step_ctx;
} run_ctx;

/* Load the languages and constructions (SP_EINPUT with the file's error when one does not load,
 * or when two languages share an id). */
int run_ctx_init(run_ctx *c, const sp_probe *p, const char *out_dir, const char *source_dir,
                 sp_error *err);
void run_ctx_free(run_ctx *c);

/* out_dir/cells/LANG/MODEL/seed-S (newly allocated). */
char *run_cell_dir(const run_ctx *c, const sp_probe_cell *cell);
/* Whether a cell, or a construction, is finished: its result file exists. */
bool run_cell_done(const run_ctx *c, const sp_probe_cell *cell);
char *run_cons_file(const run_ctx *c, size_t j);

/* Generate language i's dataset into its data_dir unless it is there already. */
int run_dataset(run_ctx *c, size_t i, FILE *log, sp_error *err);

/* Train (or resume, or skip when trained.json exists) and evaluate one cell, writing its
 * directory; cell.json last. *trained_steps: optimizer steps this call took. */
int run_cell(run_ctx *c, const sp_probe_cell *cell, uint64_t *trained_steps, sp_error *err);
/* Evaluate construction j on its language's test splits into constructions/ID.json. */
int run_construction(run_ctx *c, size_t j, sp_error *err);
/* Steps a cell still has to train (0 when trained). */
uint64_t run_cell_remaining(const run_ctx *c, const sp_probe_cell *cell);

/* probe.yaml (a copy of probe_path) and probe.json; SP_EINPUT when out_dir holds another
 * probe's results and not force (with force they are removed first). */
int run_write_probe(const run_ctx *c, const char *probe_path, bool force, sp_error *err);
/* manifest.json: version, revision, the probe's hash and seeds, wall and cell times. */
int run_write_manifest(const char *out_dir, double wall_seconds, sp_error *err);

/* A language's test splits, loaded for evaluation. */
typedef struct run_testset {
    size_t nsplits;
    sp_dataset **splits;  /* [nsplits] test-LO-HI in the probe's bin order */
    const sp_range *ranges; /* [nsplits] the probe's bins */
    sp_evalset all;       /* every split, each a bin */
    sp_evalset first;     /* the first split alone (the head statistics) */
} run_testset;

int run_testset_load(const run_ctx *c, size_t lang, run_testset *t, sp_error *err);
void run_testset_free(run_testset *t);

/* Append the "bins" and "accuracy" members of cell.json (docs/results.md) to an open JSON object
 * for model m in the given modes, and "heads" (under scaled:1000 on the first split) when
 * `heads`; tasks are those both the model's heads and the data allow. */
/* Modes as a JSON list of strings, as --mode takes them ("scaled:1000"). */
void run_json_modes(sp_json_writer *w, const sp_mode *modes, size_t n);

int run_evaluate(sp_model *m, const run_testset *t, sp_gen_task task, const sp_mode *modes,
                 size_t nmodes, bool heads, sp_json_writer *w, sp_error *err);

#endif
