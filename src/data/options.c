/* Generator options: defaults, parsing of length ranges and bins, checks, names. */
#include "satprobe/dataset.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void sp_gen_options_default(sp_gen_options *o)
{
    memset(o, 0, sizeof *o);
    o->task = SP_TASK_BOTH;
    o->format = SP_FORMAT_JSONL;
    o->train = 10000;
    o->train_lengths = (sp_range){1, 50};
    o->nbins = 3;
    o->bins[0] = (sp_range){1, 50};
    o->bins[1] = (sp_range){51, 100};
    o->bins[2] = (sp_range){101, 150};
    o->per_bin = 2000;
    o->seed = 1;
    o->near_miss = 0.5;
    o->length_dist = SP_LENGTHS_UNIFORM;
}

/* A decimal number at *p (digits only); advances *p. */
static int read_len(const char **p, const char *text, const char *what, size_t *out, sp_error *err)
{
    if (!isdigit((unsigned char)**p))
        return sp_error_set(err, SP_EINPUT, "", 0, 0, "%s: expected A:B with whole numbers, not '%s'",
                            what, text);
    errno = 0;
    char *end;
    unsigned long long v = strtoull(*p, &end, 10);
    if (errno == ERANGE || v > SP_LANG_MAX_LENGTH)
        return sp_error_set(err, SP_EINPUT, "", 0, 0, "%s: lengths go up to %d, not '%s'", what,
                            SP_LANG_MAX_LENGTH, text);
    *p = end;
    *out = (size_t)v;
    return SP_OK;
}

static int parse_one(const char **p, const char *text, const char *what, sp_range *out, sp_error *err)
{
    if (read_len(p, text, what, &out->lo, err)) return SP_EINPUT;
    if (**p != ':')
        return sp_error_set(err, SP_EINPUT, "", 0, 0, "%s: expected A:B, not '%s'", what, text);
    (*p)++;
    if (read_len(p, text, what, &out->hi, err)) return SP_EINPUT;
    if (out->lo > out->hi)
        return sp_error_set(err, SP_EINPUT, "", 0, 0,
                            "%s: the range %zu:%zu is inverted (the first length must not exceed "
                            "the second)",
                            what, out->lo, out->hi);
    return SP_OK;
}

int sp_gen_parse_range(const char *text, const char *what, sp_range *out, sp_error *err)
{
    const char *p = text;
    if (parse_one(&p, text, what, out, err)) return SP_EINPUT;
    if (*p) return sp_error_set(err, SP_EINPUT, "", 0, 0, "%s: expected A:B, not '%s'", what, text);
    return SP_OK;
}

int sp_gen_parse_bins(const char *text, sp_range *bins, size_t *nbins, sp_error *err)
{
    const char *p = text;
    *nbins = 0;
    for (;;) {
        if (*nbins == SP_GEN_MAX_BINS)
            return sp_error_set(err, SP_EINPUT, "", 0, 0, "--test-bins: at most %d bins",
                                SP_GEN_MAX_BINS);
        if (parse_one(&p, text, "--test-bins", &bins[*nbins], err)) return SP_EINPUT;
        (*nbins)++;
        if (!*p) return SP_OK;
        if (*p != ',')
            return sp_error_set(err, SP_EINPUT, "", 0, 0,
                                "--test-bins: expected A:B,C:D,... not '%s'", text);
        p++;
    }
}

int sp_gen_check_options(const sp_gen_options *o, sp_error *err)
{
    bool pairs = o->task != SP_TASK_PREDICT;
    if (o->train < 1 || o->train > SP_GEN_MAX_STRINGS || o->per_bin > SP_GEN_MAX_STRINGS ||
        o->per_bin < 1)
        return sp_error_set(err, SP_EINPUT, "", 0, 0, "--train and --per-bin must be between 1 and %u",
                            SP_GEN_MAX_STRINGS);
    if (pairs && (o->train % 2 || o->per_bin % 2))
        return sp_error_set(err, SP_EINPUT, "", 0, 0,
                            "--train and --per-bin must be even: every length has as many "
                            "negatives as positives (or use --task predict)");
    if (!(o->near_miss >= 0 && o->near_miss <= 1))
        return sp_error_set(err, SP_EINPUT, "", 0, 0, "--near-miss must be between 0 and 1");
    if (o->nbins > SP_GEN_MAX_BINS)
        return sp_error_set(err, SP_EINPUT, "", 0, 0, "at most %d test bins", SP_GEN_MAX_BINS);
    const sp_range *all[SP_GEN_MAX_BINS + 1];
    all[0] = &o->train_lengths;
    for (size_t i = 0; i < o->nbins; i++) all[i + 1] = &o->bins[i];
    for (size_t i = 0; i <= o->nbins; i++)
        if (all[i]->lo > all[i]->hi || all[i]->hi > SP_LANG_MAX_LENGTH)
            return sp_error_set(err, SP_EINPUT, "", 0, 0, "the length range %zu:%zu is %s", all[i]->lo,
                                all[i]->hi, all[i]->lo > all[i]->hi ? "inverted" : "too long");
    for (size_t i = 0; i < o->nbins; i++)
        for (size_t j = i + 1; j < o->nbins; j++)
            if (o->bins[i].lo <= o->bins[j].hi && o->bins[j].lo <= o->bins[i].hi)
                return sp_error_set(err, SP_EINPUT, "", 0, 0,
                                    "--test-bins: %zu:%zu and %zu:%zu overlap (test bins must be "
                                    "disjoint)",
                                    o->bins[i].lo, o->bins[i].hi, o->bins[j].lo, o->bins[j].hi);
    return SP_OK;
}

const char *sp_gen_task_name(sp_gen_task t)
{
    static const char *const names[] = {"recognize", "predict", "both"};
    return names[t];
}

const char *sp_gen_format_name(sp_gen_format f) { return f == SP_FORMAT_JSONL ? "jsonl" : "flare"; }

const char *sp_gen_length_dist_name(sp_gen_length_dist d)
{
    return d == SP_LENGTHS_UNIFORM ? "uniform" : "count";
}
