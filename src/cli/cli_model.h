/* Shared pieces of the model commands (eval, heads, saturation): loading a checkpoint or a
 * construction, and the strings to evaluate on from --data or --lang. */
#ifndef SATPROBE_CLI_MODEL_H
#define SATPROBE_CLI_MODEL_H

#include "satprobe/construct.h"
#include "satprobe/eval.h"
#include "satprobe/json.h"

#include <getopt.h>

/* Options every model command takes; codes of the long options start at CLI_OPT_BASE. */
enum {
    CLI_OPT_BASE = 1000,
    CLI_OPT_MODEL = CLI_OPT_BASE,
    CLI_OPT_DATA,
    CLI_OPT_SPLIT,
    CLI_OPT_LANG,
    CLI_OPT_EXHAUSTIVE,
    CLI_OPT_LENGTHS,
    CLI_OPT_PER_LENGTH,
    CLI_OPT_SEED,
    CLI_OPT_BATCH,
    CLI_OPT_THREADS,
    CLI_OPT_TASK,
    CLI_OPT_JSON,
    CLI_OPT_END_
};

#define CLI_MODEL_OPTIONS                                                           \
    {"model", required_argument, NULL, CLI_OPT_MODEL},                              \
        {"data", required_argument, NULL, CLI_OPT_DATA},                            \
        {"split", required_argument, NULL, CLI_OPT_SPLIT},                          \
        {"lang", required_argument, NULL, CLI_OPT_LANG},                            \
        {"exhaustive", required_argument, NULL, CLI_OPT_EXHAUSTIVE},                \
        {"lengths", required_argument, NULL, CLI_OPT_LENGTHS},                      \
        {"per-length", required_argument, NULL, CLI_OPT_PER_LENGTH},                \
        {"seed", required_argument, NULL, CLI_OPT_SEED},                            \
        {"batch", required_argument, NULL, CLI_OPT_BATCH},                          \
        {"threads", required_argument, NULL, CLI_OPT_THREADS},                      \
        {"task", required_argument, NULL, CLI_OPT_TASK},                            \
        {"json", no_argument, NULL, CLI_OPT_JSON}

/* Help text for those options. */
#define CLI_MODEL_HELP                                                                          \
    "  --model FILE        a checkpoint (.safetensors) or a construction (.yaml)\n"             \
    "  --data PATH         a dataset directory (its test splits) or one split's file\n"         \
    "  --split NAME        with a dataset directory: only this split (repeatable)\n"            \
    "  --lang GRAMMAR      strings of a language built in memory (default for a construction:\n" \
    "                      its language): every string to --exhaustive, and --per-length\n"     \
    "                      positives and near misses at each of --lengths\n"                    \
    "  --exhaustive N      enumerate every string of lengths 0..N (default 12; 'none' for no)\n" \
    "  --lengths L,...     sampled lengths (default 50,100,200,500; 'none' for none)\n"         \
    "  --per-length N      positives, and as many near misses, per length (default 1000)\n"     \
    "  --seed S            seed of the sampled strings (default 1)\n"                           \
    "  --task T            recognize or predict (default: what the model's heads do;\n"          \
    "                      recognize for heads_out both)\n"                                     \
    "  --batch N           strings per forward pass (default 64)\n"                             \
    "  --threads N         threads (default 1; results do not depend on it)\n"                  \
    "  --json              machine-readable output on stdout\n"

#define CLI_MAX_SPLITS 32

typedef struct cli_model_opts {
    const char *cmd;
    const char *model_path;
    const char *data;
    const char *lang_path;
    size_t nsplits;
    const char *splits[CLI_MAX_SPLITS];
    sp_evalset_lang_options lang_opts;
    bool task_given;
    sp_eval_task task;
    size_t batch;
    int threads;
    bool json;
} cli_model_opts;

void cli_model_opts_init(cli_model_opts *o, const char *cmd);
/* Handle one of the common options; returns CLI_OK or a usage status. */
int cli_model_opt(cli_model_opts *o, int code, const char *arg);

/* What the commands work on, loaded from the options. */
typedef struct cli_model_ctx {
    sp_model *model;             /* owned unless it belongs to `cons` */
    sp_construction *cons;
    sp_lang *lang;
    sp_dataset **splits;
    size_t nsplits;
    char *data_dir;
    sp_evalset es;
    sp_eval_task task;
    char data_desc[1024];        /* "grammars/x.yaml (every string to length 12; ...)" */
} cli_model_ctx;

/* Load the model and the strings (bins: --bins ranges for eval, or none). Prints errors;
 * returns CLI_OK or CLI_USAGE. */
int cli_model_load(const cli_model_opts *o, const sp_range *bins, size_t nbins, cli_model_ctx *ctx);
void cli_model_free(cli_model_ctx *ctx);

/* The arguments of heads and saturation: the common options and --scale C (0 < C <= 1e12,
 * default 1000). Returns CLI_OK, -1 when --help was printed (exit 0), or a usage status. */
int cli_scale_args(const char *cmd, const char *help, int argc, char **argv, cli_model_opts *mo, double *scale);

/* Open the JSON output of heads and saturation: {"model", "data", "scale", ... (pretty) into sb. */
void cli_scale_json_begin(sp_json_writer *w, sp_strbuf *sb, const cli_model_opts *mo, const cli_model_ctx *ctx,
                          double scale);

/* Print err (file:line:col: message, or "satprobe CMD: message" when it has no file). */
void cli_print_error(const char *cmd, const sp_error *err);
/* Print the error and return the exit status for it: CLI_FAILED for SP_ECHECK, else CLI_USAGE. */
int cli_status_error(const char *cmd, const sp_error *err, int status);
/* Where a results directory's summary, tables and plots are, on stdout. */
void cli_print_results(const char *dir);

#endif
