/* satprobe eval: accuracy per length bin of a model in several attention modes. */
#include "cli.h"
#include "cli_model.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"
#include "satprobe/json.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: satprobe eval --model FILE (--data PATH | --lang GRAMMAR) [--mode MODE]... [options]\n"
    "\n"
    "Accuracy of a model per length bin in each attention mode: soft (softmax), scaled:C (every\n"
    "parameter times C, then softmax), saturated (uniform over the best-scoring positions),\n"
    "hard (the leftmost best-scoring position) and limit (the limit of scaled:C as C grows,\n"
    "computed exactly). A recognize model is scored on accept/reject (logit > 0 accepts), a\n"
    "predict model on whole-string next-symbol correctness (positives).\n"
    "See docs/evaluation.md and docs/model.md.\n"
    "\n"
    "  --mode MODE            soft, scaled:C, saturated, hard or limit; repeat for several\n"
    "                         (default: soft, saturated, hard)\n"
    "  --tie-tolerance T      scores within T of the maximum tie (saturated, hard, limit;\n"
    "                         default 1e-5)\n"
    "  --bins A:B,...         length bins of the table with --data (default: one per split)\n"
    "  --predictions OUT      write each string's logits in every mode (JSONL)\n"
    "  --attention OUT        write the attention weights of the first strings (JSONL)\n"
    "  --attention-count N    how many strings --attention covers (default 4)\n"
    "  --attention-string S   with --attention: dump these strings instead (repeatable; symbols\n"
    "                         separated by spaces, \"\" for the empty string)\n" CLI_MODEL_HELP
    "  -h, --help             this help\n";

enum { OPT_MODE = CLI_OPT_END_, OPT_TAU, OPT_BINS, OPT_PRED, OPT_ATT, OPT_ATT_COUNT, OPT_ATT_STRING };

#define MAX_ATT_STRINGS 64

typedef struct eval_out {
    const sp_model_config *cfg;
    size_t nmodes;
    char mode_names[SP_EVAL_MAX_MODES][48];
    const sp_evalset *es;
    sp_outfile pred;
    bool pred_on;
    float *saved;        /* [nmodes, B] accept logits of the batch */
    float *saved_next;   /* [nmodes, B, T, O] */
    size_t cap_B, cap_T;
    sp_outfile att;
    bool att_on;
    uint64_t att_left;   /* strings the attention dump still takes (counted on the first mode) */
    uint64_t att_batch;  /* of this batch */
} eval_out;

static void put_string(sp_strbuf *sb, const sp_model_config *c, const int *s, size_t n)
{
    sp_strbuf out;
    sp_strbuf_init(&out);
    for (size_t i = 0; i < n; i++) {
        if (i) sp_strbuf_putc(&out, ' ');
        sp_strbuf_puts(&out, c->alphabet[s[i]]);
    }
    sp_json_writer w;
    sp_json_writer_init(&w, sb, false);
    sp_json_string_n(&w, out.buf, out.len);
    sp_strbuf_free(&out);
}

/* %.9g: a float32 read back exactly. */
static void put_float(sp_strbuf *sb, float x) { sp_strbuf_printf(sb, "%.9g", (double)x); }

static void write_predictions(eval_out *o, const sp_model *m, const sp_eval_item *its, size_t B)
{
    const sp_model_config *c = o->cfg;
    size_t T = sp_model_batch_T(m), O = c->k + 1;
    sp_strbuf *sb = &o->pred.buf;
    for (size_t b = 0; b < B; b++) {
        const sp_eval_item *it = &its[b];
        sp_strbuf_puts(sb, "{\"string\": ");
        put_string(sb, c, it->s, it->n);
        sp_strbuf_printf(sb, ", \"label\": %s, \"length\": %zu, \"bin\": ", it->label ? "true" : "false", it->n);
        sp_json_writer w;
        sp_json_writer_init(&w, sb, false);
        sp_json_string(&w, o->es->bin_name[it->bin]);
        if (c->heads_out != SP_OUT_PREDICT) {
            sp_strbuf_puts(sb, ", \"logit\": {");
            for (size_t mi = 0; mi < o->nmodes; mi++) {
                sp_strbuf_printf(sb, "%s\"%s\": ", mi ? ", " : "", o->mode_names[mi]);
                put_float(sb, o->saved[mi * o->cap_B + b]);
            }
            sp_strbuf_putc(sb, '}');
        }
        if (c->heads_out != SP_OUT_RECOGNIZE) {
            sp_strbuf_puts(sb, ", \"next_logits\": {");
            for (size_t mi = 0; mi < o->nmodes; mi++) {
                sp_strbuf_printf(sb, "%s\"%s\": [", mi ? ", " : "", o->mode_names[mi]);
                const float *lg = o->saved_next + (mi * o->cap_B + b) * T * O;
                for (size_t t = 0; t <= it->n; t++) {
                    sp_strbuf_puts(sb, t ? ", [" : "[");
                    for (size_t a = 0; a < O; a++) {
                        if (a) sp_strbuf_puts(sb, ", ");
                        put_float(sb, lg[t * O + a]);
                    }
                    sp_strbuf_putc(sb, ']');
                }
                sp_strbuf_putc(sb, ']');
            }
            sp_strbuf_putc(sb, '}');
        }
        sp_strbuf_puts(sb, "}\n");
        sp_outfile_flush_if_full(&o->pred);
    }
}

static void write_attention(eval_out *o, const sp_model *m, size_t mode, const sp_eval_item *its, size_t B)
{
    const sp_model_config *c = o->cfg;
    size_t T = sp_model_batch_T(m), NH = c->heads;
    const size_t *lens = sp_model_batch_lens(m);
    sp_strbuf *sb = &o->att.buf;
    float *row = sp_calloc(T, sizeof *row);
    for (size_t b = 0; b < B && b < o->att_batch; b++) {
        size_t n = lens[b];
        for (size_t l = 0; l < c->layers; l++)
            for (size_t h = 0; h < NH; h++) {
                sp_strbuf_puts(sb, "{\"string\": ");
                put_string(sb, c, its[b].s, its[b].n);
                sp_strbuf_printf(sb, ", \"mode\": \"%s\", \"layer\": %zu, \"head\": %zu, \"tokens\": [\"<bos>\"",
                                 o->mode_names[mode], l, h);
                sp_json_writer w;
                for (size_t i = 0; i < its[b].n; i++) {
                    sp_strbuf_puts(sb, ", ");
                    sp_json_writer_init(&w, sb, false);
                    sp_json_string(&w, c->alphabet[its[b].s[i]]);
                }
                if (c->readout == SP_READOUT_CLS) sp_strbuf_puts(sb, ", \"<cls>\"");
                sp_strbuf_puts(sb, "], \"weights\": [");
                for (size_t i = 0; i < n; i++) {
                    sp_strbuf_puts(sb, i ? ", [" : "[");
                    sp_model_attention_row(m, l, b, h, i, row);
                    for (size_t j = 0; j < n; j++) {
                        if (j) sp_strbuf_puts(sb, ", ");
                        put_float(sb, row[j]);
                    }
                    sp_strbuf_putc(sb, ']');
                }
                sp_strbuf_puts(sb, "]}\n");
                sp_outfile_flush_if_full(&o->att);
            }
    }
    free(row);
}

/* Symbols of text (separated by single spaces) in the model's alphabet. */
static int parse_with_alphabet(const sp_model_config *c, const char *text, int *out, size_t cap, size_t *n)
{
    *n = 0;
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, ' ');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        size_t i = 0;
        while (i < c->k && !(strlen(c->alphabet[i]) == len && !strncmp(c->alphabet[i], p, len))) i++;
        if (i == c->k || *n == cap)
            return cli_usage_error("eval", "--attention-string '%s': %s at column %zu", text,
                                   *n == cap ? "too long" : "not a symbol of the model's alphabet", (size_t)(p - text) + 1);
        out[(*n)++] = (int)i;
        p += len;
        if (*p == ' ') p++;
    }
    return CLI_OK;
}

/* --attention-string: the chosen strings through every mode, into the attention file. */
static int dump_chosen(eval_out *o, sp_model *m, const sp_mode *modes, const char *const *texts, size_t nt,
                       sp_error *err)
{
    const sp_model_config *c = sp_model_config_of(m);
    size_t cap = sp_config_max_string(c);
    int *buf = sp_malloc(nt * (cap + 1), sizeof *buf);
    const int **strs = sp_malloc(nt, sizeof *strs);
    size_t *ns = sp_malloc(nt, sizeof *ns);
    sp_eval_item *its = sp_calloc(nt, sizeof *its);
    int status = SP_OK;
    for (size_t i = 0; i < nt && !status; i++) {
        if (parse_with_alphabet(c, texts[i], buf + i * (cap + 1), cap, &ns[i])) status = SP_EINPUT;
        strs[i] = buf + i * (cap + 1);
        its[i].s = strs[i];
        its[i].n = ns[i];
    }
    if (status) err->msg[0] = '\0';
    o->att_batch = nt;
    for (size_t mi = 0; mi < o->nmodes && !status; mi++) {
        status = sp_model_forward(m, strs, ns, nt, &modes[mi], err);
        if (!status) write_attention(o, m, mi, its, nt);
    }
    free(buf);
    free(strs);
    free(ns);
    free(its);
    return status;
}

static int hook(void *ctx, const sp_model *m, size_t mode, const sp_eval_item *its, const uint64_t *index, size_t B,
                sp_error *err)
{
    (void)index;
    (void)err;
    eval_out *o = ctx;
    size_t T = sp_model_batch_T(m), O = o->cfg->k + 1;
    if (mode == 0 && o->att_on) {
        o->att_batch = o->att_left < B ? o->att_left : B;
        o->att_left -= o->att_batch;
    }
    if (o->att_on && o->att_batch) write_attention(o, m, mode, its, B);
    if (!o->pred_on) return SP_OK;
    if (B > o->cap_B || T > o->cap_T) {
        SP_ASSERT(mode == 0);
        o->cap_B = B > o->cap_B ? B : o->cap_B;
        o->cap_T = T > o->cap_T ? T : o->cap_T;
        free(o->saved);
        free(o->saved_next);
        o->saved = sp_malloc(o->nmodes * o->cap_B, sizeof *o->saved);
        o->saved_next = sp_malloc(o->nmodes * o->cap_B * o->cap_T * O, sizeof *o->saved_next);
    }
    if (o->cfg->heads_out != SP_OUT_PREDICT) memcpy(o->saved + mode * o->cap_B, sp_model_logits(m), B * sizeof(float));
    if (o->cfg->heads_out != SP_OUT_RECOGNIZE)
        memcpy(o->saved_next + mode * o->cap_B * T * O, sp_model_next_logits(m), B * T * O * sizeof(float));
    if (mode + 1 == o->nmodes) write_predictions(o, m, its, B);
    return SP_OK;
}

/* Accuracy as a percentage with two decimals, never rounded up to 100.00 unless exact. */
static void format_pct(char *buf, size_t size, uint64_t correct, uint64_t n)
{
    if (n == 0) {
        snprintf(buf, size, "-");
        return;
    }
    uint64_t hundredths = correct * 10000 / n; /* floor */
    snprintf(buf, size, "%llu.%02llu%%", (unsigned long long)(hundredths / 100), (unsigned long long)(hundredths % 100));
}

static void print_table(const cli_model_opts *mo, const cli_model_ctx *ctx, const eval_out *o,
                        const sp_eval_result *r, double tau)
{
    printf("model  %s", mo->model_path);
    if (ctx->cons) printf(" (construction %s, claims", ctx->cons->name);
    for (size_t i = 0; ctx->cons && i < ctx->cons->nclaims; i++) {
        char name[48];
        sp_mode_format(&ctx->cons->claims[i], name, sizeof name);
        printf(" %s", name);
    }
    printf("%s\n", ctx->cons ? ")" : "");
    printf("data   %s\n", ctx->data_desc);
    printf("task   %s; tie tolerance %g\n\n", ctx->task == SP_EVAL_RECOGNIZE ? "recognize" : "predict", tau);
    size_t w = 4;
    for (size_t b = 0; b < r->nbins; b++) w = strlen(ctx->es.bin_name[b]) > w ? strlen(ctx->es.bin_name[b]) : w;
    printf("%-*s  %9s  %9s", (int)w, "bin", "strings", "positives");
    for (size_t mi = 0; mi < r->nmodes; mi++) printf("  %12s", o->mode_names[mi]);
    printf("\n");
    for (size_t b = 0; b < r->nbins; b++) {
        printf("%-*s  %9llu  %9llu", (int)w, ctx->es.bin_name[b], (unsigned long long)r->n[b],
               (unsigned long long)r->positives[b]);
        for (size_t mi = 0; mi < r->nmodes; mi++) {
            char pct[32];
            format_pct(pct, sizeof pct, r->correct[mi * r->nbins + b], r->n[b]);
            printf("  %12s", pct);
        }
        printf("\n");
    }
}

static void print_json(const cli_model_opts *mo, const cli_model_ctx *ctx, const eval_out *o,
                       const sp_eval_result *r, double tau)
{
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_json_writer w;
    sp_json_writer_init(&w, &sb, true);
    sp_json_object_begin(&w);
    sp_json_key(&w, "model");
    sp_json_string(&w, mo->model_path);
    if (ctx->cons) {
        sp_json_key(&w, "construction");
        sp_json_string(&w, ctx->cons->name);
    }
    sp_json_key(&w, "data");
    sp_json_string(&w, ctx->data_desc);
    sp_json_key(&w, "task");
    sp_json_string(&w, ctx->task == SP_EVAL_RECOGNIZE ? "recognize" : "predict");
    sp_json_key(&w, "seed");
    sp_json_uint(&w, mo->lang_opts.seed);
    sp_json_key(&w, "tie_tolerance");
    sp_json_double(&w, tau);
    sp_json_key(&w, "modes");
    sp_json_array_begin_inline(&w);
    for (size_t mi = 0; mi < r->nmodes; mi++) sp_json_string(&w, o->mode_names[mi]);
    sp_json_array_end(&w);
    sp_json_key(&w, "bins");
    sp_json_array_begin(&w);
    for (size_t b = 0; b < r->nbins; b++) {
        sp_json_object_begin_inline(&w);
        sp_json_key(&w, "name");
        sp_json_string(&w, ctx->es.bin_name[b]);
        sp_json_key(&w, "lo");
        sp_json_uint(&w, ctx->es.bin_range[b].lo);
        sp_json_key(&w, "hi");
        sp_json_uint(&w, ctx->es.bin_range[b].hi);
        sp_json_key(&w, "n");
        sp_json_uint(&w, r->n[b]);
        sp_json_key(&w, "positives");
        sp_json_uint(&w, r->positives[b]);
        sp_json_key(&w, "correct");
        sp_json_object_begin_inline(&w);
        for (size_t mi = 0; mi < r->nmodes; mi++) {
            sp_json_key(&w, o->mode_names[mi]);
            sp_json_uint(&w, r->correct[mi * r->nbins + b]);
        }
        sp_json_object_end(&w);
        sp_json_key(&w, "accuracy");
        sp_json_object_begin_inline(&w);
        for (size_t mi = 0; mi < r->nmodes; mi++) {
            sp_json_key(&w, o->mode_names[mi]);
            if (r->n[b]) sp_json_double(&w, (double)r->correct[mi * r->nbins + b] / (double)r->n[b]);
            else sp_json_null(&w);
        }
        sp_json_object_end(&w);
        sp_json_object_end(&w);
    }
    sp_json_array_end(&w);
    sp_json_object_end(&w);
    sp_strbuf_putc(&sb, '\n');
    fwrite(sb.buf, 1, sb.len, stdout);
    sp_strbuf_free(&sb);
}

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {CLI_MODEL_OPTIONS,
                                         {"mode", required_argument, NULL, OPT_MODE},
                                         {"tie-tolerance", required_argument, NULL, OPT_TAU},
                                         {"bins", required_argument, NULL, OPT_BINS},
                                         {"predictions", required_argument, NULL, OPT_PRED},
                                         {"attention", required_argument, NULL, OPT_ATT},
                                         {"attention-count", required_argument, NULL, OPT_ATT_COUNT},
                                         {"attention-string", required_argument, NULL, OPT_ATT_STRING},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    cli_model_opts mo;
    cli_model_opts_init(&mo, "eval");
    const char *mode_text[SP_EVAL_MAX_MODES];
    size_t nmodes = 0, nbins = 0, att_count = 4;
    double tau = SP_TIE_TOLERANCE;
    sp_range bins[SP_GEN_MAX_BINS];
    const char *pred_path = NULL, *att_path = NULL, *att_strings[MAX_ATT_STRINGS];
    size_t n_att_strings = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(help, stdout); return CLI_OK;
        case OPT_MODE:
            if (nmodes == SP_EVAL_MAX_MODES) return cli_usage_error("eval", "at most %d --mode", SP_EVAL_MAX_MODES);
            mode_text[nmodes++] = optarg;
            break;
        case OPT_TAU: {
            char *end;
            tau = strtod(optarg, &end);
            if (end == optarg || *end || !(tau >= 0 && tau < 1e30))
                return cli_usage_error("eval", "--tie-tolerance needs a non-negative number, not '%s'", optarg);
            break;
        }
        case OPT_BINS: {
            sp_error err;
            if (sp_gen_parse_bins(optarg, bins, &nbins, &err)) return cli_usage_error("eval", "--bins: %s", err.msg);
            break;
        }
        case OPT_PRED: pred_path = optarg; break;
        case OPT_ATT: att_path = optarg; break;
        case OPT_ATT_STRING:
            if (n_att_strings == MAX_ATT_STRINGS)
                return cli_usage_error("eval", "at most %d --attention-string", MAX_ATT_STRINGS);
            att_strings[n_att_strings++] = optarg;
            break;
        case OPT_ATT_COUNT:
            if (cli_parse_size("eval", "--attention-count", optarg, 100000, &att_count)) return CLI_USAGE;
            break;
        default:
            if (c >= CLI_OPT_BASE && c < CLI_OPT_END_) {
                if (cli_model_opt(&mo, c, optarg)) return CLI_USAGE;
                break;
            }
            fputs(help, stderr);
            return CLI_USAGE;
        }
    }
    if (optind != argc) return cli_usage_error("eval", "unexpected argument '%s' (see --help)", argv[optind]);
    if (n_att_strings && !att_path) return cli_usage_error("eval", "--attention-string needs --attention OUT");
    static const char *const default_modes[] = {"soft", "saturated", "hard"};
    if (nmodes == 0)
        for (; nmodes < 3; nmodes++) mode_text[nmodes] = default_modes[nmodes];
    sp_mode modes[SP_EVAL_MAX_MODES];
    eval_out out;
    memset(&out, 0, sizeof out);
    out.nmodes = nmodes;
    for (size_t i = 0; i < nmodes; i++) {
        sp_error err;
        if (sp_mode_parse(mode_text[i], tau, &modes[i], &err)) return cli_usage_error("eval", "--mode: %s", err.msg);
        sp_mode_format(&modes[i], out.mode_names[i], sizeof out.mode_names[i]);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(out.mode_names[i], out.mode_names[j]))
                return cli_usage_error("eval", "--mode %s is given twice", out.mode_names[i]);
    }
    cli_model_ctx ctx;
    int status = cli_model_load(&mo, bins, nbins, &ctx);
    if (status) {
        cli_model_free(&ctx);
        return status;
    }
    out.cfg = sp_model_config_of(ctx.model);
    out.es = &ctx.es;
    out.att_left = n_att_strings ? 0 : att_count;
    sp_error err;
    sp_error_clear(&err);
    if (pred_path) {
        if (sp_outfile_open_atomic(&out.pred, pred_path, &err)) goto fail;
        out.pred_on = true;
    }
    if (att_path) {
        if (sp_outfile_open_atomic(&out.att, att_path, &err)) goto fail;
        out.att_on = true;
    }
    sp_eval_result r;
    if (sp_eval_run(ctx.model, &ctx.es, modes, nmodes, ctx.task, mo.batch, isatty(2), hook, &out, &r, &err))
        goto fail;
    if (out.pred_on) {
        out.pred_on = false;
        if (sp_outfile_close(&out.pred, &err)) goto fail_result;
    }
    if (out.att_on) {
        if (n_att_strings) {
            int st = dump_chosen(&out, ctx.model, modes, att_strings, n_att_strings, &err);
            if (st && !err.msg[0]) { /* the message is printed already */
                sp_eval_result_free(&r);
                sp_outfile_discard(&out.att);
                free(out.saved);
                free(out.saved_next);
                cli_model_free(&ctx);
                return CLI_USAGE;
            }
            if (st) goto fail_result;
        }
        out.att_on = false;
        if (sp_outfile_close(&out.att, &err)) goto fail_result;
    }
    if (mo.json) print_json(&mo, &ctx, &out, &r, tau);
    else print_table(&mo, &ctx, &out, &r, tau);
    sp_eval_result_free(&r);
    free(out.saved);
    free(out.saved_next);
    cli_model_free(&ctx);
    return CLI_OK;
fail_result:
    sp_eval_result_free(&r);
fail:
    cli_print_error("eval", &err);
    if (out.pred_on) sp_outfile_discard(&out.pred);
    if (out.att_on) sp_outfile_discard(&out.att);
    free(out.saved);
    free(out.saved_next);
    cli_model_free(&ctx);
    return CLI_USAGE;
}
