/* satprobe sample: uniformly random members of one length. */
#include "cli.h"
#include "satprobe/alloc.h"
#include "satprobe/rng.h"

#include <getopt.h>
#include <stdlib.h>

static const char help[] =
    "usage: satprobe sample FILE --length N [-n K] [--seed S]\n"
    "\n"
    "Print K strings drawn uniformly at random (with replacement) among the language's strings of\n"
    "length N, one per line, symbols separated by single spaces. The same seed always gives the\n"
    "same strings. The seed is echoed on standard error.\n"
    "\n"
    "  -l, --length N  length of the strings (required)\n"
    "  -n, --count K   how many (default 10)\n"
    "  -s, --seed S    random seed (default 1)\n"
    "  -h, --help      this help\n";

int cmd_sample(int argc, char **argv)
{
    static const struct option opts[] = {{"length", required_argument, NULL, 'l'},
                                         {"count", required_argument, NULL, 'n'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    size_t len = 0, count = 10;
    unsigned long seed = 1;
    bool have_len = false;
    int c;
    while ((c = getopt_long(argc, argv, "l:n:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (cli_parse_size("sample", "--length", optarg, SP_LANG_MAX_LENGTH, &len)) return CLI_USAGE;
            have_len = true;
            break;
        case 'n':
            if (cli_parse_size("sample", "-n", optarg, (size_t)1 << 40, &count)) return CLI_USAGE;
            break;
        case 's':
            if (cli_parse_ulong("sample", "--seed", optarg, &seed)) return CLI_USAGE;
            break;
        case 'h': fputs(help, stdout); return CLI_OK;
        default: fputs(help, stderr); return CLI_USAGE;
        }
    }
    if (optind + 1 != argc) return cli_usage_error("sample", "needs exactly one grammar FILE (see --help)");
    if (!have_len) return cli_usage_error("sample", "--length is required");
    sp_lang *lang;
    if (cli_load(argv[optind], &lang)) return CLI_USAGE;
    sp_error err;
    sp_error_clear(&err);
    int *s = sp_calloc(len ? len : 1, sizeof *s);
    gsl_rng *r = sp_rng_new(seed);
    int status = CLI_OK;
    if (sp_lang_prepare(lang, len, &err) != SP_OK) {
        sp_error_print(&err, stderr);
        status = CLI_USAGE;
    } else if (!(sp_lang_count(lang, len) > 0)) {
        fprintf(stderr, "satprobe sample: %s has no strings of length %zu\n", sp_lang_name(lang), len);
        status = CLI_USAGE;
    } else {
        char total[64];
        sp_lang_format_count(sp_lang_count(lang, len), total, sizeof total);
        fprintf(stderr, "satprobe sample: %s, length %zu (%s %s), seed %lu\n", sp_lang_name(lang), len,
                total, sp_lang_counts_derivations(lang) ? "derivations" : "strings", seed);
        for (size_t i = 0; i < count; i++) {
            SP_ASSERT(sp_lang_sample(lang, len, r, s, &err) == SP_OK);
            sp_lang_write_string(lang, stdout, s, len);
            putchar('\n');
        }
    }
    gsl_rng_free(r);
    free(s);
    sp_lang_destroy(lang);
    return status;
}
