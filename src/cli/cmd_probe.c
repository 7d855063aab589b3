/* satprobe probe: run a probe file into a results directory. */
#include "cli.h"
#include "cli_model.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"
#include "satprobe/model.h"
#include "satprobe/probe.h"
#include "sp_config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char probe_help[] =
    "usage: satprobe probe [FILE] [options]\n"
    "\n"
    "Run a probe: for every language, model and seed of FILE (default: probes/default.yaml of\n"
    "the source tree), generate the dataset, train, evaluate in every mode, and write the\n"
    "results directory: summary.md, accuracy.csv, norms.csv, saturation.csv, heads.csv,\n"
    "train.csv, plots/*.svg and manifest.json (docs/results.md). Finished cells are kept, so\n"
    "running the same command again resumes an interrupted probe where it stopped.\n"
    "\n"
    "options:\n"
    "  -o, --output DIR   the results directory (default results/NAME, NAME from the probe)\n"
    "  -j, --jobs N       cells run in parallel (default: the number of cores); the results do\n"
    "                     not depend on it\n"
    "  --shard I/N        run only shard I of N (cells whose number is I-1 modulo N); under a\n"
    "                     Slurm job array the shard comes from SLURM_ARRAY_TASK_ID and\n"
    "                     SLURM_ARRAY_TASK_COUNT. Merge the shards with satprobe merge\n"
    "  --base DIR         resolve the probe's relative grammar and construction paths against\n"
    "                     DIR (default: the source tree)\n"
    "  --force            DIR holds another probe's results: delete them and start over (a\n"
    "                     directory without a probe.json is never deleted)\n"
    "  -h, --help         this help\n";

enum { O_SHARD = 300, O_BASE, O_FORCE };

int cmd_probe(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"jobs", required_argument, NULL, 'j'},
        {"shard", required_argument, NULL, O_SHARD}, {"base", required_argument, NULL, O_BASE},
        {"force", no_argument, NULL, O_FORCE},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    sp_probe_run_options o;
    memset(&o, 0, sizeof o);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o.jobs = cores > 0 ? (size_t)cores : 1;
    const char *out = NULL, *base = SP_SOURCE_DIR;
    sp_error err;
    sp_error_clear(&err);
    int c;
    while ((c = getopt_long(argc, argv, "o:j:h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(probe_help, stdout); return CLI_OK;
        case 'o': out = optarg; break;
        case 'j':
            if (cli_parse_size("probe", "--jobs", optarg, 1024, &o.jobs)) return CLI_USAGE;
            if (!o.jobs) return cli_usage_error("probe", "--jobs must be at least 1");
            break;
        case O_SHARD:
            if (sp_shard_parse(optarg, &o.shard, &err)) return cli_usage_error("probe", "--shard: %s", err.msg);
            o.sharded = true;
            break;
        case O_BASE: base = optarg; break;
        case O_FORCE: o.force = true; break;
        default: fputs(probe_help, stderr); return CLI_USAGE;
        }
    }
    if (optind + 1 < argc) return cli_usage_error("probe", "takes one probe FILE, not %d (see --help)", argc - optind);
    char *deflt = sp_path_join(SP_SOURCE_DIR, "probes/default.yaml");
    const char *file = optind < argc ? argv[optind] : deflt;
    if (!o.sharded) {
        bool found;
        if (sp_shard_from_env(&o.shard, &found, &err)) {
            free(deflt);
            return cli_usage_error("probe", "%s", err.msg);
        }
        o.sharded = found;
    }
    sp_probe *p;
    if (sp_probe_load(file, base, &p, &err)) {
        free(deflt);
        return cli_status_error("probe", &err, SP_EINPUT);
    }
    char *out_dir = out ? sp_strdup(out) : sp_path_join("results", p->name);
    o.out_dir = out_dir;
    o.probe_path = file;
    o.source_dir = base;
    o.progress = isatty(2);
    o.log = stderr;
    sp_blas_set_threads(1);
    if (o.sharded)
        fprintf(stderr, "probe %s: shard %zu of %zu, into %s\n", p->name, o.shard.index, o.shard.count, out_dir);
    else
        fprintf(stderr, "probe %s: %zu cells, %zu at a time, into %s\n", p->name, sp_probe_cell_count(p), o.jobs,
                out_dir);
    sp_probe_run_summary s;
    int status = sp_probe_run(p, &o, &s, &err);
    int rc = CLI_OK;
    if (status) rc = cli_status_error("probe", &err, status);
    else {
        fprintf(stderr, "%zu cells in this run: %zu already finished, %zu run now (%.1f s)\n", s.in_shard, s.skipped,
                s.ran, s.seconds);
        if (s.reported) cli_print_results(out_dir);
        else
            printf("%zu of %zu cells finished in %s; the tables are written when all are (or with "
                   "satprobe merge)\n",
                   s.finished, s.cells, out_dir);
    }
    sp_probe_destroy(p);
    free(out_dir);
    free(deflt);
    return rc;
}
