/* satprobe merge: put the results directories of a probe's shards together. */
#include "cli.h"
#include "cli_model.h"
#include "satprobe/probe.h"

#include <getopt.h>
#include <stdio.h>

static const char merge_help[] =
    "usage: satprobe merge -o OUT DIR...\n"
    "\n"
    "Combine the results directories of one probe (the shards of --shard, or partial runs) into\n"
    "OUT: every finished cell is copied (a cell finished in two inputs must be identical), then\n"
    "summary.md, the CSV files, the plots and manifest.json are written. OUT may be one of the\n"
    "inputs. The result equals the probe run on one machine.\n"
    "\n"
    "  -o, --output OUT   the merged directory\n"
    "  -h, --help         this help\n";

int cmd_merge(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(merge_help, stdout);
            return CLI_OK;
        }
        if (c == 'o') out = optarg;
        else {
            fputs(merge_help, stderr);
            return CLI_USAGE;
        }
    }
    if (!out) return cli_usage_error("merge", "needs -o OUT (see --help)");
    if (optind == argc) return cli_usage_error("merge", "needs at least one results DIR to merge");
    sp_error err;
    sp_error_clear(&err);
    sp_probe_run_summary s;
    int status = sp_probe_merge((const char *const *)argv + optind, (size_t)(argc - optind), out, &s, &err);
    if (status) return cli_status_error("merge", &err, status);
    cli_print_results(out);
    printf("%zu of %zu cells finished%s\n", s.finished, s.cells,
           s.finished < s.cells ? "; summary.md lists the others" : "");
    return CLI_OK;
}
