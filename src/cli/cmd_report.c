/* satprobe report: render a results directory's tables and plots again, without training. */
#include "cli.h"
#include "cli_model.h"
#include "satprobe/report.h"

#include <stdio.h>

static const char report_help[] =
    "usage: satprobe report DIR\n"
    "\n"
    "Render a results directory again from its cells, without training: summary.md, the CSV\n"
    "files and plots/*.svg. Cells that are not finished are listed in summary.md.\n";

int cmd_report(int argc, char **argv)
{
    const char *dir;
    int rc = cli_file_only("report", report_help, "results DIR", argc, argv, &dir);
    if (rc == -1) return CLI_OK;
    if (rc) return rc;
    sp_error err;
    sp_error_clear(&err);
    sp_report_info info;
    int status = sp_report_write(dir, &info, &err);
    if (status) return cli_status_error("report", &err, status);
    cli_print_results(dir);
    if (info.finished < info.cells)
        printf("%zu of %zu cells are finished; summary.md lists the others\n", info.finished, info.cells);
    return CLI_OK;
}
