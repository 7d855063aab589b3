/* Benchmark of the language layer over every zoo grammar: time to build the count table for
 * lengths 0..500, samples per second at lengths 50 and 500, and next() calls per second on
 * prefixes of sampled members. Each sampling figure is also given as a ratio to a reference run
 * in the same process: drawing uniformly random strings of the same length over the same
 * alphabet (no language structure at all), so the ratio says what the structure costs.
 *
 * usage: bench_lang [GRAMMAR_DIR] [SECONDS_PER_MEASUREMENT]   (defaults: the zoo, 0.2) */
#include "sp_config.h"
#include "satprobe/alloc.h"
#include "satprobe/lang.h"
#include "satprobe/rng.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Reference: uniformly random strings over k symbols, per second. */
static double reference_rate(size_t k, size_t n, double budget, gsl_rng *r, int *s)
{
    size_t done = 0;
    double t0 = now(), t;
    do {
        for (int rep = 0; rep < 64; rep++, done++)
            for (size_t i = 0; i < n; i++) s[i] = (int)sp_rng_below(r, k);
    } while ((t = now() - t0) < budget);
    return (double)done / t;
}

static double sample_rate(sp_lang *lang, size_t n, double budget, gsl_rng *r, int *s)
{
    size_t done = 0;
    double t0 = now(), t;
    do {
        for (int rep = 0; rep < 16; rep++, done++)
            if (sp_lang_sample(lang, n, r, s, NULL)) abort();
    } while ((t = now() - t0) < budget);
    return (double)done / t;
}

static double next_rate(sp_lang *lang, size_t n, double budget, gsl_rng *r, int *s)
{
    size_t k = sp_lang_alphabet_size(lang), done = 0;
    bool *valid = sp_calloc(k, sizeof *valid), can_end;
    double t0 = now(), t;
    do {
        if (sp_lang_sample(lang, n, r, s, NULL)) abort();
        for (size_t i = 0; i <= n; i++, done++) sp_lang_next(lang, s, i, valid, &can_end);
    } while ((t = now() - t0) < budget);
    free(valid);
    return (double)done / t;
}

/* The longest length <= want that has members, or 0. */
static size_t usable_length(sp_lang *lang, size_t want)
{
    for (size_t n = want; n > 0; n--)
        if (sp_lang_count(lang, n) > 0) return n;
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : SP_SOURCE_DIR "/grammars";
    double budget = argc > 2 ? atof(argv[2]) : 0.2;
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "bench_lang: cannot open %s\n", dir);
        return 2;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml")) continue;
        SP_GROW(names, cap, n + 1);
        names[n++] = sp_strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);

    int *s = sp_calloc(501, sizeof *s);
    gsl_rng *r = sp_rng_new(1);
    printf("%-16s %-8s %10s %9s %11s %8s %11s %8s %11s\n", "language", "kind", "count0-500",
           "at len", "samples/s", "x ref", "samples/s", "x ref", "next/s");
    printf("%-16s %-8s %10s %9s %11s %8s %11s %8s %11s\n", "", "", "ms", "", "(len~50)", "",
           "(len~500)", "", "(len~50)");
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        sp_lang *lang;
        sp_error err;
        if (sp_lang_load(path, &lang, &err)) {
            sp_error_print(&err, stderr);
            continue;
        }
        double t0 = now();
        if (sp_lang_prepare(lang, 500, &err)) {
            sp_error_print(&err, stderr);
            sp_lang_destroy(lang);
            continue;
        }
        double count_ms = 1e3 * (now() - t0);
        size_t k = sp_lang_alphabet_size(lang);
        size_t n50 = usable_length(lang, 50), n500 = usable_length(lang, 500);
        double s50 = sample_rate(lang, n50, budget, r, s);
        double ref50 = reference_rate(k, n50, budget, r, s);
        double s500 = sample_rate(lang, n500, budget, r, s);
        double ref500 = reference_rate(k, n500, budget, r, s);
        double nx = next_rate(lang, n50, budget, r, s);
        char lens[32];
        snprintf(lens, sizeof lens, "%zu/%zu", n50, n500);
        printf("%-16s %-8s %10.2f %9s %11.0f %8.2f %11.0f %8.2f %11.0f\n", sp_lang_name(lang),
               sp_lang_kind_name(sp_lang_get_kind(lang)), count_ms, lens, s50, ref50 / s50, s500,
               ref500 / s500, nx);
        sp_lang_destroy(lang);
    }
    printf("x ref: time per sample relative to drawing a uniformly random string of the same\n"
           "length over the same alphabet in this process (1.0 = no cost for the structure).\n");
    gsl_rng_free(r);
    free(s);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return 0;
}
