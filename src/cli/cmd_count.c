/* satprobe count: the number of strings of each length, as TSV. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>

static const char help[] =
    "usage: satprobe count FILE [--max-length N] [--min-length M]\n"
    "\n"
    "Print one line per length from M to N: length<TAB>count. Counts below 2^64 are exact\n"
    "integers; larger ones are printed in scientific notation with 17 significant digits\n"
    "(long double: relative error below 1e-15 at length 500).\n"
    "\n"
    "  -N, --max-length N  longest length (default 20, at most 100000)\n"
    "  -m, --min-length M  shortest length (default 0)\n"
    "  -h, --help          this help\n";

int cmd_count(int argc, char **argv)
{
    static const struct option opts[] = {{"max-length", required_argument, NULL, 'N'},
                                         {"min-length", required_argument, NULL, 'm'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    size_t max_len = 20, min_len = 0;
    int c;
    while ((c = getopt_long(argc, argv, "N:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'N':
            if (cli_parse_size("count", "--max-length", optarg, SP_LANG_MAX_LENGTH, &max_len)) return CLI_USAGE;
            break;
        case 'm':
            if (cli_parse_size("count", "--min-length", optarg, SP_LANG_MAX_LENGTH, &min_len)) return CLI_USAGE;
            break;
        case 'h': fputs(help, stdout); return CLI_OK;
        default: fputs(help, stderr); return CLI_USAGE;
        }
    }
    if (optind + 1 != argc) return cli_usage_error("count", "needs exactly one grammar FILE (see --help)");
    if (min_len > max_len) return cli_usage_error("count", "--min-length %zu is above --max-length %zu", min_len, max_len);
    sp_lang *lang;
    if (cli_load(argv[optind], &lang)) return CLI_USAGE;
    sp_error err;
    sp_error_clear(&err);
    if (sp_lang_prepare(lang, max_len, &err)) {
        sp_error_print(&err, stderr);
        sp_lang_destroy(lang);
        return CLI_USAGE;
    }
    if (sp_lang_counts_derivations(lang))
        fprintf(stderr, "satprobe count: %s is ambiguous (ambiguous: allow): these are counts of derivations\n",
                sp_lang_name(lang));
    for (size_t n = min_len; n <= max_len; n++) {
        char buf[64];
        sp_lang_format_count(sp_lang_count(lang, n), buf, sizeof buf);
        printf("%zu\t%s\n", n, buf);
    }
    sp_lang_destroy(lang);
    return CLI_OK;
}
