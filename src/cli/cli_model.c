/* Loading what the model commands need: the model (checkpoint or construction) and the strings. */
#include "cli.h"
#include "cli_model.h"
#include "satprobe/alloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void cli_model_opts_init(cli_model_opts *o, const char *cmd)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    sp_evalset_lang_defaults(&o->lang_opts);
    o->batch = 64;
    o->threads = 1;
}

void cli_print_error(const char *cmd, const sp_error *err)
{
    if (err->file[0]) sp_error_print(err, stderr);
    else fprintf(stderr, "satprobe %s: %s\n", cmd, err->msg);
}

int cli_status_error(const char *cmd, const sp_error *err, int status)
{
    cli_print_error(cmd, err);
    return status == SP_ECHECK ? CLI_FAILED : CLI_USAGE;
}

void cli_print_results(const char *dir)
{
    printf("results    %s\n", dir);
    printf("summary    %s/summary.md\n", dir);
    printf("tables     %s/accuracy.csv, norms.csv, saturation.csv, heads.csv, train.csv\n", dir);
    printf("plots      %s/plots/\n", dir);
}

static int parse_lengths(cli_model_opts *o, const char *arg)
{
    sp_evalset_lang_options *l = &o->lang_opts;
    l->nlengths = 0;
    if (!strcmp(arg, "none")) return CLI_OK;
    const char *p = arg;
    while (*p) {
        char *end;
        if (*p < '0' || *p > '9') return cli_usage_error(o->cmd, "--lengths takes lengths separated by commas, not '%s'", arg);
        unsigned long v = strtoul(p, &end, 10);
        if (v > SP_LANG_MAX_LENGTH) return cli_usage_error(o->cmd, "--lengths: %lu is too long", v);
        if (l->nlengths == SP_GEN_MAX_BINS) return cli_usage_error(o->cmd, "--lengths lists more than %d lengths", SP_GEN_MAX_BINS);
        l->lengths[l->nlengths++] = (size_t)v;
        if (*end == ',' && end[1]) end++;
        else if (*end) return cli_usage_error(o->cmd, "--lengths takes lengths separated by commas, not '%s'", arg);
        p = end;
    }
    if (!l->nlengths) return cli_usage_error(o->cmd, "--lengths is empty");
    return CLI_OK;
}

int cli_model_opt(cli_model_opts *o, int code, const char *arg)
{
    size_t v;
    switch (code) {
    case CLI_OPT_MODEL: o->model_path = arg; return CLI_OK;
    case CLI_OPT_DATA: o->data = arg; return CLI_OK;
    case CLI_OPT_LANG: o->lang_path = arg; return CLI_OK;
    case CLI_OPT_SPLIT:
        if (o->nsplits == CLI_MAX_SPLITS) return cli_usage_error(o->cmd, "at most %d --split", CLI_MAX_SPLITS);
        o->splits[o->nsplits++] = arg;
        return CLI_OK;
    case CLI_OPT_EXHAUSTIVE:
        if (!strcmp(arg, "none")) {
            o->lang_opts.exhaustive = false;
            return CLI_OK;
        }
        if (cli_parse_size(o->cmd, "--exhaustive", arg, 64, &v)) return CLI_USAGE;
        o->lang_opts.exhaustive = true;
        o->lang_opts.exhaustive_max = v;
        return CLI_OK;
    case CLI_OPT_LENGTHS: return parse_lengths(o, arg);
    case CLI_OPT_PER_LENGTH:
        return cli_parse_size(o->cmd, "--per-length", arg, 10000000, &o->lang_opts.per_length);
    case CLI_OPT_SEED: return cli_parse_ulong(o->cmd, "--seed", arg, &o->lang_opts.seed);
    case CLI_OPT_BATCH:
        if (cli_parse_size(o->cmd, "--batch", arg, 65536, &o->batch)) return CLI_USAGE;
        if (o->batch == 0) return cli_usage_error(o->cmd, "--batch must be at least 1");
        return CLI_OK;
    case CLI_OPT_THREADS:
        if (cli_parse_size(o->cmd, "--threads", arg, 256, &v)) return CLI_USAGE;
        if (v == 0) return cli_usage_error(o->cmd, "--threads must be at least 1");
        o->threads = (int)v;
        return CLI_OK;
    case CLI_OPT_TASK:
        o->task_given = true;
        if (!strcmp(arg, "recognize")) o->task = SP_EVAL_RECOGNIZE;
        else if (!strcmp(arg, "predict")) o->task = SP_EVAL_PREDICT;
        else return cli_usage_error(o->cmd, "--task must be recognize or predict, not '%s'", arg);
        return CLI_OK;
    case CLI_OPT_JSON: o->json = true; return CLI_OK;
    }
    return CLI_USAGE;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* Dataset directory and split named by --data PATH. */
static int resolve_data(const cli_model_opts *o, char **dir, char **split)
{
    char *p = sp_strdup(o->data);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
    *dir = NULL;
    *split = NULL;
    char *manifest = sp_malloc(n + 16, 1);
    snprintf(manifest, n + 16, "%s/manifest.json", p);
    struct stat st;
    bool has_manifest = stat(manifest, &st) == 0;
    free(manifest);
    if (is_dir(p) && has_manifest) {
        *dir = p;
        return CLI_OK;
    }
    char *slash = strrchr(p, '/');
    const char *base = slash ? slash + 1 : p;
    if (!is_dir(p) && ends_with(p, ".jsonl")) {
        *split = sp_strndup(base, strlen(base) - 6);
        *dir = slash ? sp_strndup(p, (size_t)(slash - p)) : sp_strdup(".");
        free(p);
        return CLI_OK;
    }
    if (is_dir(p) && slash) {
        /* FLaRe: DIR/datasets/NAME */
        *slash = '\0';
        char *slash2 = strrchr(p, '/');
        const char *parent = slash2 ? slash2 + 1 : p;
        if (!strcmp(parent, "datasets")) {
            *split = sp_strdup(base);
            *dir = slash2 ? sp_strndup(p, (size_t)(slash2 - p)) : sp_strdup(".");
            free(p);
            return CLI_OK;
        }
    }
    free(p);
    return cli_usage_error(o->cmd, "--data %s is not a dataset directory (no manifest.json), a split's .jsonl file "
                           "or a FLaRe split directory DIR/datasets/NAME", o->data);
}

static bool same_alphabet(const sp_model_config *c, const char *const *syms, size_t k)
{
    if (c->k != k) return false;
    for (size_t i = 0; i < k; i++)
        if (strcmp(c->alphabet[i], syms[i])) return false;
    return true;
}

static int alphabet_error(const char *cmd, const sp_model_config *c, const char *what)
{
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    for (size_t i = 0; i < c->k; i++) sp_strbuf_printf(&sb, "%s\"%s\"", i ? ", " : "", c->alphabet[i]);
    cli_usage_error(cmd, "%s has another alphabet than the model's [%s]", what, sb.buf);
    sp_strbuf_free(&sb);
    return CLI_USAGE;
}

static int load_data(const cli_model_opts *o, const sp_range *bins, size_t nbins, cli_model_ctx *ctx)
{
    const sp_model_config *c = sp_model_config_of(ctx->model);
    sp_error err;
    sp_error_clear(&err);
    char *dir, *split;
    if (resolve_data(o, &dir, &split)) return CLI_USAGE;
    ctx->data_dir = dir;
    char **names = NULL;
    size_t n = 0;
    int status = CLI_OK;
    if (split) {
        names = sp_malloc(1, sizeof *names);
        names[0] = split;
        n = 1;
    } else if (o->nsplits) {
        names = sp_malloc(o->nsplits, sizeof *names);
        for (size_t i = 0; i < o->nsplits; i++) names[i] = sp_strdup(o->splits[i]);
        n = o->nsplits;
    } else {
        char **all;
        size_t na;
        if (sp_dataset_splits(dir, &all, &na, &err)) {
            cli_print_error(o->cmd, &err);
            return CLI_USAGE;
        }
        names = sp_malloc(na ? na : 1, sizeof *names);
        for (size_t i = 0; i < na; i++)
            if (strcmp(all[i], "train")) names[n++] = sp_strdup(all[i]);
        if (n == 0 && na) names[n++] = sp_strdup(all[0]);
        sp_dataset_splits_free(all, na);
    }
    ctx->splits = sp_calloc(n ? n : 1, sizeof *ctx->splits);
    for (size_t i = 0; i < n && !status; i++) {
        if (sp_dataset_load(dir, names[i], &ctx->splits[i], &err)) {
            cli_print_error(o->cmd, &err);
            status = CLI_USAGE;
            break;
        }
        ctx->nsplits++;
        if (!same_alphabet(c, (const char *const *)ctx->splits[i]->symbols, ctx->splits[i]->k)) status = alphabet_error(o->cmd, c, o->data);
    }
    size_t used = 0;
    used += (size_t)snprintf(ctx->data_desc, sizeof ctx->data_desc, "%s (", o->data);
    for (size_t i = 0; i < n && used < sizeof ctx->data_desc; i++)
        used += (size_t)snprintf(ctx->data_desc + used, sizeof ctx->data_desc - used, "%s%s", i ? ", " : "", names[i]);
    if (used < sizeof ctx->data_desc) snprintf(ctx->data_desc + used, sizeof ctx->data_desc - used, ")");
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (status) return status;
    if (sp_evalset_from_dataset(&ctx->es, (const sp_dataset *const *)ctx->splits, ctx->nsplits, bins, nbins, &err)) {
        cli_print_error(o->cmd, &err);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static void describe_lang(const cli_model_opts *o, const char *path, cli_model_ctx *ctx)
{
    const sp_evalset_lang_options *l = &o->lang_opts;
    size_t used = (size_t)snprintf(ctx->data_desc, sizeof ctx->data_desc, "%s (", path);
#define PUT(...)                                                                                     \
    do {                                                                                             \
        if (used < sizeof ctx->data_desc)                                                            \
            used += (size_t)snprintf(ctx->data_desc + used, sizeof ctx->data_desc - used, __VA_ARGS__); \
    } while (0)
    if (l->exhaustive) PUT("every string of length 0-%zu", l->exhaustive_max);
    if (l->nlengths) {
        PUT("%s%zu positives%s at length", l->exhaustive ? "; " : "", l->per_length,
            ctx->task == SP_EVAL_PREDICT ? "" : " and as many near misses");
        for (size_t i = 0; i < l->nlengths; i++) PUT("%s %zu", i ? "," : "", l->lengths[i]);
        PUT(", seed %lu", l->seed);
    }
    PUT(")");
#undef PUT
}

int cli_model_load(const cli_model_opts *o, const sp_range *bins, size_t nbins, cli_model_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    sp_error err;
    sp_error_clear(&err);
    if (!o->model_path) return cli_usage_error(o->cmd, "needs --model FILE (see --help)");
    if (o->data && o->lang_path) return cli_usage_error(o->cmd, "give --data or --lang, not both");
    sp_blas_set_threads(o->threads);
    if (sp_construction_path(o->model_path)) {
        if (sp_construction_load(o->model_path, &ctx->cons, &err)) {
            cli_print_error(o->cmd, &err);
            return CLI_USAGE;
        }
        ctx->model = ctx->cons->model;
    } else if (sp_model_load(o->model_path, &ctx->model, &err)) {
        cli_print_error(o->cmd, &err);
        return CLI_USAGE;
    }
    const sp_model_config *c = sp_model_config_of(ctx->model);
    ctx->task = o->task_given ? o->task : c->heads_out == SP_OUT_PREDICT ? SP_EVAL_PREDICT : SP_EVAL_RECOGNIZE;
    if (ctx->task == SP_EVAL_PREDICT && c->heads_out == SP_OUT_RECOGNIZE)
        return cli_usage_error(o->cmd, "--task predict needs a model with a next-symbol head (heads_out predict or both)");
    if (ctx->task == SP_EVAL_RECOGNIZE && c->heads_out == SP_OUT_PREDICT)
        return cli_usage_error(o->cmd, "--task recognize needs a model with an accept head (heads_out recognize or both)");
    if (o->data) return load_data(o, bins, nbins, ctx);
    const char *lang_path = o->lang_path ? o->lang_path : ctx->cons ? ctx->cons->language : NULL;
    if (!lang_path) return cli_usage_error(o->cmd, "needs --data PATH or --lang GRAMMAR (see --help)");
    if (cli_load(lang_path, &ctx->lang)) return CLI_USAGE;
    size_t k = sp_lang_alphabet_size(ctx->lang);
    const char **syms = sp_malloc(k, sizeof *syms);
    for (size_t i = 0; i < k; i++) syms[i] = sp_lang_symbol(ctx->lang, (int)i);
    bool same = same_alphabet(c, syms, k);
    free(syms);
    if (!same) return alphabet_error(o->cmd, c, lang_path);
    if (nbins) return cli_usage_error(o->cmd, "--bins goes with --data; --lang strings are binned by length group");
    sp_evalset_lang_options lo = o->lang_opts;
    lo.positives_only = ctx->task == SP_EVAL_PREDICT;
    lo.with_next = ctx->task == SP_EVAL_PREDICT;
    if (!lo.exhaustive && !lo.nlengths) return cli_usage_error(o->cmd, "--exhaustive none and --lengths none leave no strings");
    if (sp_evalset_from_lang(&ctx->es, ctx->lang, &lo, &err)) {
        cli_print_error(o->cmd, &err);
        return CLI_USAGE;
    }
    describe_lang(o, lang_path, ctx);
    return CLI_OK;
}

void cli_model_free(cli_model_ctx *ctx)
{
    sp_evalset_free(&ctx->es);
    if (ctx->cons) sp_construction_destroy(ctx->cons);
    else sp_model_destroy(ctx->model);
    sp_lang_destroy(ctx->lang);
    for (size_t i = 0; i < ctx->nsplits; i++) sp_dataset_destroy(ctx->splits[i]);
    free(ctx->splits);
    free(ctx->data_dir);
    memset(ctx, 0, sizeof *ctx);
}

int cli_scale_args(const char *cmd, const char *help, int argc, char **argv, cli_model_opts *mo, double *scale)
{
    enum { OPT_SCALE = CLI_OPT_END_ };
    static const struct option opts[] = {CLI_MODEL_OPTIONS,
                                         {"scale", required_argument, NULL, OPT_SCALE},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    cli_model_opts_init(mo, cmd);
    *scale = 1000;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return -1;
        } else if (c == OPT_SCALE) {
            char *end;
            double v = strtod(optarg, &end);
            if (end == optarg || *end || !(v > 0 && v <= 1e12))
                return cli_usage_error(cmd, "--scale needs a number in (0, 1e12], not '%s'", optarg);
            *scale = v;
        } else if (c >= CLI_OPT_BASE && c < CLI_OPT_END_) {
            if (cli_model_opt(mo, c, optarg)) return CLI_USAGE;
        } else {
            fputs(help, stderr);
            return CLI_USAGE;
        }
    }
    if (optind != argc) return cli_usage_error(cmd, "unexpected argument '%s' (see --help)", argv[optind]);
    return CLI_OK;
}

void cli_scale_json_begin(sp_json_writer *w, sp_strbuf *sb, const cli_model_opts *mo, const cli_model_ctx *ctx,
                          double scale)
{
    sp_json_writer_init(w, sb, true);
    sp_json_object_begin(w);
    sp_json_key(w, "model");
    sp_json_string(w, mo->model_path);
    sp_json_key(w, "data");
    sp_json_string(w, ctx->data_desc);
    sp_json_key(w, "scale");
    sp_json_double(w, scale);
}
