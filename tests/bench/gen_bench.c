/* Benchmark of the dataset generator: wall time and strings per second of the default dataset
 * (10,000 training strings of lengths 1-50 and three test bins of 2,000: 1-50, 51-100, 101-150)
 * for six languages, and of 1,000,000 training strings of Dyck-2 (lengths 1-50, no test bins).
 * Each run writes a complete dataset (fsync included) into a temporary directory, then deletes it.
 * Wall time includes waiting for the disk; CPU time (user + system, of this process) does not.
 *
 * usage: gen_bench [TASK]   (recognize, predict or both; default: both, then recognize) */
#include "sp_config.h"
#include "satprobe/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int run(const char *name, sp_gen_task task, size_t train, bool bins, const char *tmp)
{
    char path[4096], out[4096];
    snprintf(path, sizeof path, "%s/grammars/%s.yaml", SP_SOURCE_DIR, name);
    snprintf(out, sizeof out, "%s/%s", tmp, name);
    sp_lang *lang;
    sp_error err;
    if (sp_lang_load(path, &lang, &err)) {
        sp_error_print(&err, stderr);
        return 1;
    }
    sp_gen_options o;
    sp_gen_options_default(&o);
    o.task = task;
    o.train = train;
    if (!bins) o.nbins = 0;
    o.force = true;
    sp_gen_summary sum;
    double t0 = now(), c0 = cpu();
    int status = sp_gen_run(lang, NULL, out, &o, &sum, &err);
    double t = now() - t0, c = cpu() - c0;
    sp_lang_destroy(lang);
    if (status) {
        sp_error_print(&err, stderr);
        return 1;
    }
    printf("%-10s %-10s %8zu %8llu %8.3f %11.0f %8.3f %11.0f\n", name, sp_gen_task_name(task), train,
           (unsigned long long)sum.strings, t, (double)sum.strings / t, c, (double)sum.strings / c);
    fflush(stdout);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    return system(cmd) != 0;
}

int main(int argc, char **argv)
{
    static const char *const langs[] = {"dyck-1", "shuffle-2", "anbncn", "tomita-3", "parity", "boolean-3"};
    sp_gen_task tasks[2] = {SP_TASK_BOTH, SP_TASK_RECOGNIZE};
    size_t ntasks = 2;
    if (argc > 1) {
        ntasks = 1;
        if (!strcmp(argv[1], "recognize")) tasks[0] = SP_TASK_RECOGNIZE;
        else if (!strcmp(argv[1], "predict")) tasks[0] = SP_TASK_PREDICT;
        else if (strcmp(argv[1], "both")) {
            fprintf(stderr, "usage: gen_bench [recognize|predict|both]\n");
            return 2;
        }
    }
    char tmp[] = "/tmp/satprobe-gen-bench-XXXXXX";
    if (!mkdtemp(tmp)) return 1;
    int bad = 0;
    printf("%-10s %-10s %8s %8s %8s %11s %8s %11s\n", "language", "task", "train", "strings", "wall s",
           "strings/s", "cpu s", "per cpu s");
    for (size_t t = 0; t < ntasks; t++) {
        for (size_t i = 0; i < sizeof langs / sizeof *langs; i++) bad |= run(langs[i], tasks[t], 10000, true, tmp);
        bad |= run("dyck-2", tasks[t], 1000000, false, tmp);
    }
    rmdir(tmp);
    return bad;
}
