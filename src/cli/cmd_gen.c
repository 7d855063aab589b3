/* satprobe gen: write a balanced dataset with length-generalisation splits for one language. */
#include "cli.h"
#include "satprobe/dataset.h"
#include "satprobe/sha256.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help[] =
    "usage: satprobe gen GRAMMAR.yaml -o DIR [options]\n"
    "\n"
    "Write a dataset for the language into DIR: a training split, test splits by length, and\n"
    "manifest.json (what exists, what was written, the seed, the grammar's SHA-256, warnings).\n"
    "DIR appears only when everything is written (a temporary directory next to it is renamed).\n"
    "\n"
    "Positives: a length among those with strings, then a string uniformly at random among the\n"
    "strings of that length. Negatives: at every length exactly as many as positives, a fraction\n"
    "near misses (a positive with K >= 1 random edits that keep the length, K ~ Geometric(1/2)),\n"
    "the rest uniform random strings of that length; members are rejected. No split repeats a\n"
    "string, no test string occurs in train, and every label is checked a second time (PCRE2 or\n"
    "the written DFA for regular languages, the membership test otherwise). A length without\n"
    "non-members is dropped; a language with too few strings gives all it has. Both are warned\n"
    "about on standard error and recorded in the manifest. Same grammar, options and seed:\n"
    "byte-identical files. See docs/datasets.md for the formats.\n"
    "\n"
    "  -o, --output DIR         the dataset directory to create (required)\n"
    "      --task T             recognize: labelled strings; predict: positives only, with\n"
    "                           next-symbol sets; both: labelled, positives with next-symbol\n"
    "                           sets (default both)\n"
    "      --train N            strings in the training split (default 10000; even unless\n"
    "                           --task predict)\n"
    "      --train-lengths A:B  lengths of the training strings (default 1:50)\n"
    "      --test-bins LIST     test splits A:B,C:D,... by length, disjoint\n"
    "                           (default 1:50,51:100,101:150)\n"
    "      --per-bin N          strings in each test split (default 2000)\n"
    "      --seed S             random seed (default 1)\n"
    "      --format F           jsonl: DIR/train.jsonl and DIR/test-A-B.jsonl, one JSON object a\n"
    "                           line; flare: FLaRe's layout, main.tok, labels.txt, num-edits.txt\n"
    "                           (and next-symbols.jsonl) in DIR for train and in\n"
    "                           DIR/datasets/test-A-B/ for the tests (default jsonl)\n"
    "      --near-miss F        fraction of the negatives that are near misses (default 0.5)\n"
    "      --length-dist D      uniform: every length with strings equally likely; count:\n"
    "                           lengths weighted by their number of strings (default uniform)\n"
    "      --force              replace DIR if it exists (only an empty directory or an earlier\n"
    "                           dataset, i.e. one holding manifest.json)\n"
    "  -h, --help               this help\n"
    "\n"
    "Exit status: 0 written; 1 a label failed its second check (a bug: nothing is written);\n"
    "2 bad input (options, grammar, unwritable or existing DIR): nothing is written.\n";

static int parse_enum(const char *opt, const char *val, const char *const *names, int count, int *out)
{
    for (int i = 0; i < count; i++)
        if (!strcmp(val, names[i])) {
            *out = i;
            return CLI_OK;
        }
    char list[128] = "";
    for (int i = 0; i < count; i++) {
        strcat(list, names[i]);
        if (i + 1 < count) strcat(list, ", ");
    }
    return cli_usage_error("gen", "%s must be one of %s, not '%s'", opt, list, val);
}

static int parse_fraction(const char *val, double *out)
{
    char *end;
    double v = val && *val ? strtod(val, &end) : -1;
    if (!val || !*val || *end || !(v >= 0 && v <= 1))
        return cli_usage_error("gen", "--near-miss needs a number between 0 and 1, not '%s'", val ? val : "");
    *out = v;
    return CLI_OK;
}

enum { O_TASK = 256, O_TRAIN, O_TRAIN_LENGTHS, O_BINS, O_PER_BIN, O_SEED, O_FORMAT, O_NEAR, O_DIST, O_FORCE };

static int parse_options(int argc, char **argv, sp_gen_options *o, const char **dir)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},       {"task", required_argument, NULL, O_TASK},
        {"train", required_argument, NULL, O_TRAIN},    {"train-lengths", required_argument, NULL, O_TRAIN_LENGTHS},
        {"test-bins", required_argument, NULL, O_BINS}, {"per-bin", required_argument, NULL, O_PER_BIN},
        {"seed", required_argument, NULL, O_SEED},      {"format", required_argument, NULL, O_FORMAT},
        {"near-miss", required_argument, NULL, O_NEAR}, {"length-dist", required_argument, NULL, O_DIST},
        {"force", no_argument, NULL, O_FORCE},          {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    static const char *const tasks[] = {"recognize", "predict", "both"};
    static const char *const formats[] = {"jsonl", "flare"};
    static const char *const dists[] = {"uniform", "count"};
    sp_error err;
    sp_error_clear(&err);
    int c, v;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        int bad = CLI_OK;
        switch (c) {
        case 'o': *dir = optarg; break;
        case O_TASK:
            if (!(bad = parse_enum("--task", optarg, tasks, 3, &v))) o->task = (sp_gen_task)v;
            break;
        case O_FORMAT:
            if (!(bad = parse_enum("--format", optarg, formats, 2, &v))) o->format = (sp_gen_format)v;
            break;
        case O_DIST:
            if (!(bad = parse_enum("--length-dist", optarg, dists, 2, &v))) o->length_dist = (sp_gen_length_dist)v;
            break;
        case O_TRAIN: bad = cli_parse_size("gen", "--train", optarg, SP_GEN_MAX_STRINGS, &o->train); break;
        case O_PER_BIN: bad = cli_parse_size("gen", "--per-bin", optarg, SP_GEN_MAX_STRINGS, &o->per_bin); break;
        case O_SEED: bad = cli_parse_ulong("gen", "--seed", optarg, &o->seed); break;
        case O_NEAR: bad = parse_fraction(optarg, &o->near_miss); break;
        case O_TRAIN_LENGTHS:
            if (sp_gen_parse_range(optarg, "--train-lengths", &o->train_lengths, &err))
                bad = cli_usage_error("gen", "%s", err.msg);
            break;
        case O_BINS:
            if (sp_gen_parse_bins(optarg, o->bins, &o->nbins, &err)) bad = cli_usage_error("gen", "%s", err.msg);
            break;
        case O_FORCE: o->force = true; break;
        case 'h': fputs(help, stdout); return -1;
        default: fputs(help, stderr); return CLI_USAGE;
        }
        if (bad) return CLI_USAGE;
    }
    if (optind + 1 != argc) return cli_usage_error("gen", "needs exactly one grammar file (see --help)");
    if (!*dir) return cli_usage_error("gen", "-o DIR is required: the dataset directory to create");
    if (sp_gen_check_options(o, &err)) return cli_usage_error("gen", "%s", err.msg);
    return CLI_OK;
}

int cmd_gen(int argc, char **argv)
{
    sp_gen_options o;
    sp_gen_options_default(&o);
    const char *dir = NULL;
    int status = parse_options(argc, argv, &o, &dir);
    if (status) return status < 0 ? CLI_OK : status;
    const char *path = argv[optind];
    char sha[65];
    sp_error err;
    sp_error_clear(&err);
    if (sp_sha256_file(path, sha, &err)) {
        sp_error_print(&err, stderr);
        return CLI_USAGE;
    }
    sp_lang *lang;
    if (cli_load(path, &lang)) return CLI_USAGE;
    o.progress = true;
    o.log = stderr;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sp_gen_summary sum;
    status = sp_gen_run(lang, sha, dir, &o, &sum, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (status) {
        if (!err.file[0]) fputs("satprobe gen: ", stderr);
        sp_error_print(&err, stderr);
    } else {
        double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        fprintf(stderr, "satprobe gen: %s, seed %lu: %llu strings in %zu splits written to %s (%.2f s)\n",
                sp_lang_name(lang), o.seed, (unsigned long long)sum.strings, sum.splits, dir, secs);
    }
    sp_lang_destroy(lang);
    if (status == SP_ECHECK) return CLI_FAILED;
    return status ? CLI_USAGE : CLI_OK;
}
