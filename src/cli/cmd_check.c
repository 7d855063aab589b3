/* satprobe check: validate grammar files and cross-check each language by enumeration. */
#include "cli.h"
#include "satprobe/alloc.h"
#include "satprobe/check.h"
#include "satprobe/rng.h"

#include <getopt.h>
#include <stdlib.h>

static const char help[] =
    "usage: satprobe check [options] FILE...\n"
    "\n"
    "Load each grammar, then cross-check it: every string up to --max-length is enumerated and\n"
    "its membership compared with the counts, with the oracle (PCRE2 for regexes, the written\n"
    "DFA for dfa: languages) and with next(); next() is checked on every prefix up to\n"
    "--next-length; samples at lengths 0-20, 50 and 100 must be members; a chi-square test checks\n"
    "the sampler's uniformity at a length with 10-200 strings. Prints counts for lengths 0-20 and\n"
    "a few samples. Exit 0 only if every file loaded and every check passed (1: a check failed,\n"
    "2: a file did not load).\n"
    "\n"
    "  -L, --max-length N    enumerate strings up to this length (default 12)\n"
    "      --max-strings N   skip lengths with more strings than this (default 1048576)\n"
    "      --next-length N   check next() on all prefixes up to this length (default 8)\n"
    "  -s, --seed S          random seed (default 1)\n"
    "  -q, --quiet           print only one line per file\n"
    "  -h, --help            this help\n";

static void print_samples(sp_lang *lang, unsigned long seed)
{
    size_t n = 0;
    for (size_t len = 12; len > 0; len--)
        if (sp_lang_count(lang, len) > 0) {
            n = len;
            break;
        }
    int *s = sp_calloc(n ? n : 1, sizeof *s);
    gsl_rng *r = sp_rng_new(seed);
    printf("  samples at length %zu:", n);
    for (int i = 0; i < 3; i++) {
        SP_ASSERT(sp_lang_sample(lang, n, r, s, NULL) == SP_OK);
        printf(" '");
        sp_lang_write_string(lang, stdout, s, n);
        printf("'");
    }
    printf("\n");
    gsl_rng_free(r);
    free(s);
}

static int check_one(const char *path, const sp_check_options *o, bool quiet)
{
    sp_lang *lang;
    if (cli_load(path, &lang)) return CLI_USAGE;
    sp_check_result res;
    sp_error err;
    sp_error_clear(&err);
    if (!quiet)
        printf("%s (%s): %s, %s\n  %s\n", sp_lang_name(lang), path,
               sp_lang_kind_name(sp_lang_get_kind(lang)), sp_lang_class_name(sp_lang_get_class(lang)),
               sp_lang_description(lang));
    fflush(stdout);
    if (sp_check_lang(lang, o, stdout, &res, &err)) {
        sp_error_print(&err, stderr);
        sp_lang_destroy(lang);
        return CLI_USAGE;
    }
    if (!quiet) {
        printf("  counts 0-20%s:", sp_lang_counts_derivations(lang) ? " (derivations)" : "");
        for (size_t n = 0; n <= 20; n++) {
            char buf[64];
            sp_lang_format_count(sp_lang_count(lang, n), buf, sizeof buf);
            printf(" %s", buf);
        }
        printf("\n  enumerated every string to length %zu; oracle: %s\n", res.enumerated_to,
               res.oracle ? res.oracle : "none for this kind (self-consistency only)");
        if (res.chisq_p >= 0)
            printf("  uniformity: chi-square p = %.3f at length %zu (%zu strings)\n", res.chisq_p,
                   res.chisq_length, res.chisq_members);
        else
            printf("  uniformity: no length up to %zu has 10-200 strings; not tested\n", res.enumerated_to);
        print_samples(lang, o->seed);
    }
    printf("%s %s: %zu checks, %zu failed\n", res.failures ? "FAIL" : "ok", sp_lang_name(lang),
           res.checks, res.failures);
    sp_lang_destroy(lang);
    return res.failures ? CLI_FAILED : CLI_OK;
}

int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {{"max-length", required_argument, NULL, 'L'},
                                         {"max-strings", required_argument, NULL, 'M'},
                                         {"next-length", required_argument, NULL, 'x'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    sp_check_options o;
    sp_check_options_default(&o);
    bool quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "L:s:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'L':
            if (cli_parse_size("check", "--max-length", optarg, 64, &o.max_length)) return CLI_USAGE;
            break;
        case 'M':
            if (cli_parse_size("check", "--max-strings", optarg, (size_t)1 << 32, &o.max_strings)) return CLI_USAGE;
            break;
        case 'x':
            if (cli_parse_size("check", "--next-length", optarg, 64, &o.next_length)) return CLI_USAGE;
            break;
        case 's':
            if (cli_parse_ulong("check", "--seed", optarg, &o.seed)) return CLI_USAGE;
            break;
        case 'q': quiet = true; break;
        case 'h': fputs(help, stdout); return CLI_OK;
        default: fputs(help, stderr); return CLI_USAGE;
        }
    }
    if (optind == argc) return cli_usage_error("check", "needs at least one grammar FILE (see --help)");
    int status = CLI_OK;
    for (int i = optind; i < argc; i++) {
        int st = check_one(argv[i], &o, quiet);
        if (st > status) status = st;
    }
    return status;
}
