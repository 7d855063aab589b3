/* The dataset generator and reader: every property is checked on the files as read back, with
 * the language (and PCRE2 for regular languages) but none of the generator's own bookkeeping:
 * labels, per-length balance, no repeats, test strings not in train, manifest figures, next-symbol
 * sets, determinism, both formats, small languages, and bad input leaving nothing behind. */
#include "testutil.h"

#include "satprobe/alloc.h"
#include "satprobe/dataset.h"
#include "satprobe/fsutil.h"
#include "satprobe/json.h"
#include "satprobe/oracle.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[] = "/tmp/sp-test-dataset-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path_in(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 512, "%s/%s", base, name);
    return p;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Only `name` itself (no .name.tmp-* or .name.old-* beside it) may be in the base directory. */
static size_t leftovers(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -c -e '\\.tmp-' -e '\\.old-'", base);
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    if (fscanf(p, "%zu", &n) != 1) n = 999;
    pclose(p);
    return n;
}

/* Smaller than the defaults so that the suite stays fast (also under the sanitizers). */
static void small_options(sp_gen_options *o)
{
    sp_gen_options_default(o);
    o->train = 1200;
    o->train_lengths = (sp_range){1, 24};
    o->nbins = 3;
    o->bins[0] = (sp_range){1, 24};
    o->bins[1] = (sp_range){25, 40};
    o->bins[2] = (sp_range){41, 60};
    o->per_bin = 300;
    o->seed = 7;
}

static void generate(sp_lang *lang, const char *dir, const sp_gen_options *o, sp_gen_summary *sum)
{
    sp_error err;
    sp_error_clear(&err);
    if (sp_gen_run(lang, NULL, dir, o, sum, &err)) {
        sp_error_print(&err, stderr);
        fail_msg("generating %s failed", dir);
    }
}

static sp_dataset *load(const char *dir, const char *split)
{
    sp_dataset *ds = NULL;
    sp_error err;
    sp_error_clear(&err);
    if (sp_dataset_load(dir, split, &ds, &err)) {
        sp_error_print(&err, stderr);
        fail_msg("cannot read split %s of %s", split, dir);
    }
    return ds;
}

static sp_json_value *manifest(const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *text = sp_malloc(1 << 22, 1);
    size_t len = fread(text, 1, 1 << 22, f);
    fclose(f);
    sp_json_value *v = NULL;
    sp_error err;
    assert_int_equal(sp_json_parse(text, len, &v, &err), SP_OK);
    free(text);
    return v;
}

static const sp_json_value *split_entry(const sp_json_value *m, const char *name)
{
    const sp_json_value *splits = sp_json_get(m, "splits");
    for (size_t i = 0; i < splits->n; i++)
        if (!strcmp(sp_json_get(splits->items[i], "name")->str, name)) return splits->items[i];
    fail_msg("no split %s in the manifest", name);
    return NULL;
}

static long long num(const sp_json_value *obj, const char *key)
{
    const sp_json_value *v = sp_json_get(obj, key);
    if (!v || !v->is_int) fail_msg("manifest: %s is not an integer", key);
    return v->integer;
}

/* ---- comparing strings of a dataset, independently of the generator's hashes ---- */

static const sp_dataset *cmp_ds;

static int cmp_examples(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    size_t ni = cmp_ds->start[i + 1] - cmp_ds->start[i], nj = cmp_ds->start[j + 1] - cmp_ds->start[j];
    if (ni != nj) return ni < nj ? -1 : 1;
    return memcmp(cmp_ds->syms + cmp_ds->start[i], cmp_ds->syms + cmp_ds->start[j], ni * sizeof(int));
}

/* Example indices sorted by (length, symbols). */
static size_t *sorted(const sp_dataset *ds)
{
    size_t *idx = sp_malloc(ds->count ? ds->count : 1, sizeof *idx);
    for (size_t i = 0; i < ds->count; i++) idx[i] = i;
    cmp_ds = ds;
    qsort(idx, ds->count, sizeof *idx, cmp_examples);
    return idx;
}

static bool same_string(const sp_dataset *a, size_t i, const sp_dataset *b, size_t j)
{
    size_t n = a->start[i + 1] - a->start[i];
    return n == b->start[j + 1] - b->start[j] &&
           (n == 0 || !memcmp(a->syms + a->start[i], b->syms + b->start[j], n * sizeof(int)));
}

static void check_no_repeats(const sp_dataset *ds)
{
    size_t *idx = sorted(ds);
    for (size_t i = 1; i < ds->count; i++)
        if (same_string(ds, idx[i - 1], ds, idx[i])) fail_msg("%s repeats a string", ds->split);
    free(idx);
}

/* No example of test occurs in train (train sorted once, binary search per test string). */
static void check_disjoint(const sp_dataset *train, const sp_dataset *test)
{
    size_t *idx = sorted(train);
    for (size_t j = 0; j < test->count; j++) {
        size_t lo = 0, hi = train->count;
        size_t n = test->start[j + 1] - test->start[j];
        while (lo < hi) {
            size_t mid = (lo + hi) / 2, i = idx[mid], m = train->start[i + 1] - train->start[i];
            int c = m != n ? (m < n ? -1 : 1)
                           : memcmp(train->syms + train->start[i], test->syms + test->start[j], n * sizeof(int));
            if (c == 0) fail_msg("a string of %s is also in train", test->split);
            if (c < 0) lo = mid + 1;
            else hi = mid;
        }
    }
    free(idx);
}

/* Labels by the language and, for regular languages, by PCRE2 / the written DFA. */
static void check_labels(sp_lang *lang, const sp_dataset *ds)
{
    assert_int_equal(ds->k, sp_lang_alphabet_size(lang));
    for (size_t a = 0; a < ds->k; a++) assert_string_equal(ds->symbols[a], sp_lang_symbol(lang, (int)a));
    sp_oracle *oracle;
    sp_error err;
    assert_int_equal(sp_oracle_new(lang, &oracle, &err), SP_OK);
    for (size_t i = 0; i < ds->count; i++) {
        const int *s = ds->syms + ds->start[i];
        size_t n = ds->start[i + 1] - ds->start[i];
        if (sp_lang_accepts(lang, s, n) != ds->label[i]) fail_msg("%s: example %zu has the wrong label", ds->split, i);
        if (oracle && sp_oracle_accepts(oracle, s, n) != ds->label[i])
            fail_msg("%s: example %zu: the oracle disagrees with its label", ds->split, i);
        if (ds->label[i] && ds->edits[i]) fail_msg("%s: a positive with edits", ds->split);
    }
    sp_oracle_destroy(oracle);
}

/* Next-symbol rows of every positive equal sp_lang_next on each prefix. */
static void check_next(sp_lang *lang, const sp_dataset *ds)
{
    assert_true(ds->has_next);
    size_t k = ds->k;
    bool *valid = sp_malloc(k, sizeof *valid), can_end;
    for (size_t i = 0; i < ds->count; i++) {
        const int *s = ds->syms + ds->start[i];
        size_t n = ds->start[i + 1] - ds->start[i], row = ds->start[i] + i;
        for (size_t j = 0; j <= n; j++, row++) {
            if (!ds->label[i]) {
                for (size_t a = 0; a < k; a++) assert_false(ds->next[row * k + a]);
                continue;
            }
            sp_lang_next(lang, s, j, valid, &can_end);
            assert_int_equal(ds->end[row], can_end);
            for (size_t a = 0; a < k; a++)
                if (ds->next[row * k + a] != valid[a])
                    fail_msg("%s: example %zu prefix %zu: next symbol %zu differs", ds->split, i, j, a);
        }
    }
    free(valid);
}

/* Per length: as many negatives as positives; the manifest's per-length and per-split figures
 * and baselines equal the counts in the file. */
static void check_counts(sp_lang *lang, const sp_dataset *ds, const sp_json_value *entry, bool balanced)
{
    const sp_json_value *rows = sp_json_get(entry, "per_length");
    size_t lo = (size_t)sp_json_get(entry, "lengths")->items[0]->integer;
    size_t nl = rows->n, *pos = sp_calloc(nl, sizeof *pos), *near = sp_calloc(nl, sizeof *near),
           *rnd = sp_calloc(nl, sizeof *rnd);
    for (size_t i = 0; i < ds->count; i++) {
        size_t n = ds->start[i + 1] - ds->start[i];
        assert_true(n >= lo && n - lo < nl);
        if (ds->label[i]) pos[n - lo]++;
        else if (ds->edits[i]) near[n - lo]++;
        else rnd[n - lo]++;
    }
    size_t P = 0, N = 0, best = 0, NEAR = 0;
    for (size_t j = 0; j < nl; j++) {
        const sp_json_value *r = rows->items[j];
        size_t neg = near[j] + rnd[j];
        assert_int_equal(num(r, "length"), lo + j);
        assert_int_equal(num(r, "positives"), pos[j]);
        assert_int_equal(num(r, "near_miss"), near[j]);
        assert_int_equal(num(r, "random"), rnd[j]);
        assert_int_equal(num(r, "negatives"), neg);
        if (balanced && pos[j] != neg) fail_msg("%s: length %zu has %zu positives, %zu negatives", ds->split, lo + j, pos[j], neg);
        long double c = sp_lang_count(lang, lo + j);
        if (c < 1e15L) assert_int_equal(num(r, "members"), (long long)c);
        P += pos[j];
        N += neg;
        NEAR += near[j];
        best += pos[j] > neg ? pos[j] : neg;
    }
    assert_int_equal(num(entry, "strings"), ds->count);
    assert_int_equal(num(entry, "positives"), P);
    assert_int_equal(num(entry, "negatives"), N);
    assert_int_equal(num(entry, "near_miss"), NEAR);
    assert_int_equal(num(entry, "shortfall"), num(entry, "requested") - (long long)ds->count);
    const sp_json_value *b = sp_json_get(entry, "baselines");
    if (ds->count) {
        double majority = (double)(P > N ? P : N) / (double)ds->count;
        assert_true(sp_json_get(b, "majority_class")->number == majority);
        assert_true(sp_json_get(b, "best_length_only")->number == (double)best / (double)ds->count);
        if (balanced) assert_true(majority == 0.5);
    } else {
        assert_int_equal(sp_json_get(b, "majority_class")->type, SP_JSON_NULL);
    }
    free(pos);
    free(near);
    free(rnd);
}

/* Everything about one generated dataset. */
static void check_dataset(sp_lang *lang, const char *dir, const sp_gen_options *o)
{
    sp_json_value *m = manifest(dir);
    char **names;
    size_t nsplits;
    sp_error err;
    assert_int_equal(sp_dataset_splits(dir, &names, &nsplits, &err), SP_OK);
    assert_int_equal(nsplits, 1 + o->nbins);
    assert_string_equal(names[0], "train");
    sp_dataset *train = load(dir, "train");
    for (size_t i = 0; i < nsplits; i++) {
        sp_dataset *ds = i ? load(dir, names[i]) : train;
        check_labels(lang, ds);
        check_no_repeats(ds);
        check_counts(lang, ds, split_entry(m, names[i]), o->task != SP_TASK_PREDICT);
        if (o->task != SP_TASK_RECOGNIZE) check_next(lang, ds);
        else assert_false(ds->has_next);
        if (i) {
            check_disjoint(train, ds);
            sp_dataset_destroy(ds);
        }
    }
    sp_dataset_destroy(train);
    sp_dataset_splits_free(names, nsplits);
    sp_json_free(m);
}

static void test_properties(void **state)
{
    (void)state;
    static const char *const langs[] = {"dyck-2", "parity", "tomita-3", "boolean-3", "shuffle-2",
                                        "majority", "first"};
    for (size_t i = 0; i < sizeof langs / sizeof *langs; i++) {
        sp_lang *lang = tu_load_zoo(langs[i]);
        sp_gen_options o;
        small_options(&o);
        const char *dir = path_in(langs[i]);
        sp_gen_summary sum;
        generate(lang, dir, &o, &sum);
        assert_int_equal(sum.splits, 4);
        check_dataset(lang, dir, &o);
        sp_lang_destroy(lang);
    }
    /* Symbols that JSON must escape (a quote, a backslash) or pass through (UTF-8). */
    sp_lang *lang = tu_load_text("name: esc\ndescription: d\nclass: context-free\n"
                                 "alphabet: ['\"', '\\', '\u00e9', a]\nkind: dyck\n"
                                 "pairs: [['\"', '\\'], ['\u00e9', a]]\n");
    assert_string_equal(sp_lang_symbol(lang, 1), "\\");
    sp_gen_options o;
    small_options(&o);
    sp_gen_summary sum;
    for (int f = 0; f < 2; f++) {
        o.format = f ? SP_FORMAT_FLARE : SP_FORMAT_JSONL;
        const char *dir = path_in(f ? "esc-flare" : "esc-jsonl");
        generate(lang, dir, &o, &sum);
        check_dataset(lang, dir, &o);
    }
    sp_lang_destroy(lang);
    assert_int_equal(leftovers(), 0);
}

/* ---- determinism and formats ---- */

static bool same_file(const char *a, const char *b)
{
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return system(cmd) == 0;
}

static bool same_tree(const char *a, const char *b)
{
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "diff -r -q '%s' '%s' >/dev/null", a, b);
    return system(cmd) == 0;
}

static void test_determinism(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("dyck-1");
    sp_gen_options o;
    small_options(&o);
    sp_gen_summary sum;
    const char *a = path_in("det-a"), *b = path_in("det-b"), *c = path_in("det-c");
    generate(lang, a, &o, &sum);
    sp_lang_destroy(lang);
    lang = tu_load_zoo("dyck-1"); /* a fresh language object: no state carried over */
    generate(lang, b, &o, &sum);
    static const char *const files[] = {"manifest.json", "train.jsonl", "test-1-24.jsonl",
                                        "test-25-40.jsonl", "test-41-60.jsonl"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char pa[600], pb[600];
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        if (!same_file(pa, pb)) fail_msg("%s differs between two runs with the same seed", files[i]);
    }
    assert_true(same_tree(a, b));
    o.seed = 8;
    generate(lang, c, &o, &sum);
    char pa[600], pc[600];
    snprintf(pa, sizeof pa, "%s/train.jsonl", a);
    snprintf(pc, sizeof pc, "%s/train.jsonl", c);
    assert_false(same_file(pa, pc));
    sp_lang_destroy(lang);
}

static void same_examples(const sp_dataset *a, const sp_dataset *b)
{
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->has_next, b->has_next);
    for (size_t i = 0; i < a->count; i++) {
        assert_true(same_string(a, i, b, i));
        assert_int_equal(a->label[i], b->label[i]);
        assert_int_equal(a->edits[i], b->edits[i]);
    }
    if (a->has_next) {
        size_t rows = a->start[a->count] + a->count;
        assert_memory_equal(a->next, b->next, rows * a->k * sizeof *a->next);
        assert_memory_equal(a->end, b->end, rows * sizeof *a->end);
    }
}

/* The same run written as JSONL and as FLaRe reads back identically, and FLaRe's files have
 * the layout and line counts FLaRe's tools expect. */
static void test_flare_round_trip(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("dyck-2");
    sp_gen_options o;
    small_options(&o);
    sp_gen_summary sum;
    const char *j = path_in("rt-jsonl"), *f = path_in("rt-flare");
    generate(lang, j, &o, &sum);
    o.format = SP_FORMAT_FLARE;
    generate(lang, f, &o, &sum);
    check_dataset(lang, f, &o);
    static const char *const splits[] = {"train", "test-1-24", "test-25-40", "test-41-60"};
    for (size_t i = 0; i < 4; i++) {
        sp_dataset *a = load(j, splits[i]), *b = load(f, splits[i]);
        same_examples(a, b);
        sp_dataset_destroy(a);
        sp_dataset_destroy(b);
    }
    static const char *const files[] = {"main.tok", "labels.txt", "num-edits.txt", "next-symbols.jsonl",
                                        "datasets/test-25-40/main.tok", "datasets/test-41-60/next-symbols.jsonl"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s", f, files[i]);
        if (!exists(p)) fail_msg("FLaRe layout: %s is missing", files[i]);
    }
    /* labels.txt has a line per string; num-edits.txt one per negative. */
    sp_dataset *t = load(f, "train");
    char cmd[700];
    snprintf(cmd, sizeof cmd, "wc -l < '%s/labels.txt'; grep -c '^0$' '%s/labels.txt'; wc -l < '%s/num-edits.txt'", f, f, f);
    FILE *p = popen(cmd, "r");
    size_t lines_labels, zeros, lines_edits;
    assert_int_equal(fscanf(p, "%zu %zu %zu", &lines_labels, &zeros, &lines_edits), 3);
    pclose(p);
    assert_int_equal(lines_labels, t->count);
    assert_int_equal(lines_edits, zeros);
    sp_dataset_destroy(t);
    sp_lang_destroy(lang);
}

/* ---- tasks, length distributions, near misses ---- */

static void test_predict_task(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("boolean-3");
    sp_gen_options o;
    small_options(&o);
    o.task = SP_TASK_PREDICT;
    o.train = 501; /* odd is fine: positives only */
    sp_gen_summary sum;
    const char *dir = path_in("predict");
    generate(lang, dir, &o, &sum);
    check_dataset(lang, dir, &o);
    sp_dataset *ds = load(dir, "train");
    assert_int_equal(ds->count, 501);
    for (size_t i = 0; i < ds->count; i++) assert_true(ds->label[i]);
    o.format = SP_FORMAT_FLARE; /* positives only in FLaRe's files too */
    const char *flare = path_in("predict-flare");
    generate(lang, flare, &o, &sum);
    sp_dataset *fl = load(flare, "train");
    same_examples(ds, fl);
    sp_dataset_destroy(fl);
    sp_dataset_destroy(ds);
    o.format = SP_FORMAT_JSONL;
    o.task = SP_TASK_RECOGNIZE;
    o.train = 500;
    dir = path_in("recognize");
    generate(lang, dir, &o, &sum);
    check_dataset(lang, dir, &o);
    sp_lang_destroy(lang);
}

static void test_length_dist(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("dyck-1");
    sp_gen_options o;
    small_options(&o);
    o.train = 4000;
    o.train_lengths = (sp_range){14, 20};
    o.nbins = 0;
    sp_gen_summary sum;
    size_t at20[2];
    for (int d = 0; d < 2; d++) {
        o.length_dist = d ? SP_LENGTHS_COUNT : SP_LENGTHS_UNIFORM;
        const char *dir = path_in(d ? "dist-count" : "dist-uniform");
        generate(lang, dir, &o, &sum);
        sp_dataset *ds = load(dir, "train");
        at20[d] = 0;
        for (size_t i = 0; i < ds->count; i++) at20[d] += ds->label[i] && ds->start[i + 1] - ds->start[i] == 20;
        sp_dataset_destroy(ds);
    }
    /* 2000 positives over lengths 14..20 (429, 1430, 4862, 16796 strings): uniform gives each
     * length about 500 (length 14 is capped at 429, the rest shared); by count, 20 takes 71%. */
    assert_true(at20[0] > 440 && at20[0] < 640);
    assert_true(at20[1] > 1320 && at20[1] < 1520);
    sp_lang_destroy(lang);
}

/* A length where the split takes most members draws from a pool of all of them (collected by
 * sampling when there are at most a few hundred, else found by search); one where it takes few
 * uses rejection sampling. Either way every member must be equally likely to be included, which
 * 40 seeds' inclusion counts test. */
static void test_uniform_inclusion(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("dyck-1");
    sp_gen_options o;
    small_options(&o);
    o.nbins = 0;
    o.force = true;
    size_t runs = 40;
    static const size_t len[3] = {10, 10, 14}, pos[3] = {30, 8, 300}, members[3] = {42, 42, 429};
    size_t *count = sp_malloc(1 << 14, sizeof *count);
    for (int pass = 0; pass < 3; pass++) {
        o.train_lengths = (sp_range){len[pass], len[pass]};
        o.train = 2 * pos[pass];
        memset(count, 0, (1 << 14) * sizeof *count);
        for (size_t seed = 1; seed <= runs; seed++) {
            o.seed = seed;
            sp_gen_summary sum;
            const char *dir = path_in("incl");
            generate(lang, dir, &o, &sum);
            sp_dataset *ds = load(dir, "train");
            for (size_t i = 0; i < ds->count; i++) {
                if (!ds->label[i]) continue;
                size_t code = 0; /* the brackets as bits */
                for (size_t j = 0; j < len[pass]; j++) code = code * 2 + (size_t)ds->syms[ds->start[i] + j];
                count[code]++;
            }
            sp_dataset_destroy(ds);
        }
        /* Each member's count is Binomial(runs, p) on its own; together a chi-square with
         * members - 1 degrees of freedom (the counts add up to runs * positives). */
        double p = (double)pos[pass] / (double)members[pass], mean = (double)runs * p;
        double var = mean * (1 - p), x2 = 0;
        size_t seen = 0;
        for (size_t c = 0; c < (size_t)1 << len[pass]; c++) {
            if (!count[c]) continue;
            seen++;
            x2 += ((double)count[c] - mean) * ((double)count[c] - mean) / var;
        }
        double pvalue = gsl_cdf_chisq_Q(x2, (double)members[pass] - 1);
        if (pvalue < 1e-4)
            fail_msg("pass %d: inclusion counts far from uniform (chi-square %.1f, p = %.2g)", pass, x2, pvalue);
        assert_int_equal(seen, members[pass]);
    }
    free(count);
    sp_lang_destroy(lang);
}

static void test_near_misses(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("dyck-2");
    sp_gen_options o;
    small_options(&o);
    o.nbins = 0;
    o.train = 4000;
    o.train_lengths = (sp_range){20, 30};
    size_t near[2];
    for (int pass = 0; pass < 2; pass++) {
        o.near_miss = pass ? 1.0 : 0.0;
        sp_gen_summary sum;
        const char *dir = path_in(pass ? "near-all" : "near-none");
        generate(lang, dir, &o, &sum);
        sp_dataset *ds = load(dir, "train");
        size_t hist[5] = {0};
        near[pass] = 0;
        for (size_t i = 0; i < ds->count; i++) {
            if (ds->label[i] || !ds->edits[i]) continue;
            near[pass]++;
            hist[ds->edits[i] < 4 ? ds->edits[i] : 4]++;
        }
        if (pass) { /* K ~ Geometric(1/2) before rejection: about 1/2, 1/4, 1/8, ... */
            assert_true(hist[1] > hist[2] && hist[2] > hist[3] && hist[3] > 0);
            assert_true(hist[1] > near[pass] * 2 / 5);
        }
        sp_dataset_destroy(ds);
    }
    assert_int_equal(near[0], 0);
    assert_int_equal(near[1], 2000);
    sp_lang_destroy(lang);
}

/* ---- small languages ---- */

static bool has_warning(const sp_json_value *m, const char *needle)
{
    const sp_json_value *w = sp_json_get(m, "warnings");
    for (size_t i = 0; i < w->n; i++)
        if (strstr(w->items[i]->str, needle)) return true;
    return false;
}

static void test_small_languages(void **state)
{
    (void)state;
    sp_gen_options o;
    sp_gen_options_default(&o);
    o.train = 1000;
    o.per_bin = 100;
    sp_gen_summary sum;
    /* a^n b^n c^n: one string per length 3, 6, ..., 48; train takes them all (16), the
     * in-distribution test bin gets none, the others one per length. */
    sp_lang *lang = tu_load_zoo("anbncn");
    const char *dir = path_in("anbncn");
    generate(lang, dir, &o, &sum);
    check_dataset(lang, dir, &o);
    sp_json_value *m = manifest(dir);
    const sp_json_value *train = split_entry(m, "train");
    assert_int_equal(num(train, "strings"), 32);
    assert_int_equal(num(train, "shortfall"), 1000 - 32);
    assert_string_equal(sp_json_get(sp_json_get(train, "per_length")->items[2], "limited_by")->str, "members");
    assert_int_equal(num(split_entry(m, "test-1-50"), "strings"), 0);
    assert_string_equal(sp_json_get(sp_json_get(split_entry(m, "test-1-50"), "per_length")->items[2], "dropped")->str,
                        "train used every member of this length");
    assert_int_equal(num(split_entry(m, "test-51-100"), "strings"), 34);
    assert_true(has_warning(m, "train: 32 strings instead of 1000"));
    assert_true(has_warning(m, "test-1-50: 0 strings instead of 100"));
    sp_json_free(m);
    sp_lang_destroy(lang);
    /* (aa)*: a unary alphabet, so length alone decides membership: every length with a member
     * has no non-member; all are dropped and every split is empty. */
    lang = tu_load_zoo("aa-star");
    dir = path_in("aa-star");
    generate(lang, dir, &o, &sum);
    assert_int_equal(sum.strings, 0);
    check_dataset(lang, dir, &o);
    m = manifest(dir);
    assert_string_equal(sp_json_get(sp_json_get(split_entry(m, "train"), "per_length")->items[1], "dropped")->str,
                        "every string of this length is a member");
    assert_true(has_warning(m, "train: lengths 2, 4, 6"));
    assert_true(has_warning(m, "dropped: every string of this length is a member"));
    sp_json_free(m);
    sp_lang_destroy(lang);
}

/* ---- bad input and the output directory ---- */

static void expect_fail(sp_lang *lang, const char *dir, const sp_gen_options *o, int status, const char *needle)
{
    sp_gen_summary sum;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_gen_run(lang, NULL, dir, o, &sum, &err), status);
    if (!strstr(err.msg, needle)) fail_msg("message '%s' lacks '%s'", err.msg, needle);
    assert_int_equal(leftovers(), 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("dyck-1");
    sp_gen_options o;
    const char *dir = path_in("bad");
    small_options(&o);
    o.bins[1] = (sp_range){20, 30};
    expect_fail(lang, dir, &o, SP_EINPUT, "overlap");
    small_options(&o);
    o.bins[2] = (sp_range){61, 61};
    expect_fail(lang, dir, &o, SP_EINPUT, "no strings of lengths 61 to 61");
    small_options(&o);
    o.train = 999;
    expect_fail(lang, dir, &o, SP_EINPUT, "must be even");
    small_options(&o);
    o.train_lengths = (sp_range){9, 3};
    expect_fail(lang, dir, &o, SP_EINPUT, "inverted");
    small_options(&o);
    o.near_miss = 1.5;
    expect_fail(lang, dir, &o, SP_EINPUT, "--near-miss");
    assert_false(exists(dir));
    small_options(&o);
    expect_fail(lang, "/proc/satprobe-cannot-write-here", &o, SP_EIO, "cannot create a directory");
    expect_fail(lang, "/nonexistent-dir/sub/out", &o, SP_EIO, "cannot create a directory");

    sp_range r;
    size_t nb;
    sp_range bins[SP_GEN_MAX_BINS];
    sp_error err;
    assert_int_equal(sp_gen_parse_range("3:2", "--train-lengths", &r, &err), SP_EINPUT);
    assert_int_equal(sp_gen_parse_range("3", "--train-lengths", &r, &err), SP_EINPUT);
    assert_int_equal(sp_gen_parse_range("a:b", "--train-lengths", &r, &err), SP_EINPUT);
    assert_int_equal(sp_gen_parse_range("", "--train-lengths", &r, &err), SP_EINPUT);
    assert_int_equal(sp_gen_parse_range("2:5", "--train-lengths", &r, &err), SP_OK);
    assert_true(r.lo == 2 && r.hi == 5);
    assert_int_equal(sp_gen_parse_bins("1:5,6:9", bins, &nb, &err), SP_OK);
    assert_int_equal(nb, 2);
    assert_int_equal(sp_gen_parse_bins("1:5,", bins, &nb, &err), SP_EINPUT);
    assert_int_equal(sp_gen_parse_bins("1:5;6:9", bins, &nb, &err), SP_EINPUT);
    sp_lang_destroy(lang);
}

static void test_output_dir(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("parity");
    sp_gen_options o;
    small_options(&o);
    o.nbins = 1;
    sp_gen_summary sum;
    const char *dir = path_in("out");
    generate(lang, dir, &o, &sum);
    expect_fail(lang, dir, &o, SP_EINPUT, "already exists (use --force");
    /* --force replaces an earlier dataset... */
    o.force = true;
    o.seed = 99;
    generate(lang, dir, &o, &sum);
    sp_json_value *m = manifest(dir);
    assert_int_equal(num(m, "seed"), 99);
    sp_json_free(m);
    /* ... and an empty directory, but not a directory with other files, nor a file. */
    const char *empty = path_in("empty");
    assert_int_equal(mkdir(empty, 0777), 0);
    generate(lang, empty, &o, &sum);
    const char *other = path_in("other");
    assert_int_equal(mkdir(other, 0777), 0);
    char keep[600];
    snprintf(keep, sizeof keep, "%s/keep.txt", other);
    fclose(fopen(keep, "w"));
    expect_fail(lang, other, &o, SP_EINPUT, "neither empty nor a dataset");
    assert_true(exists(keep));
    expect_fail(lang, keep, &o, SP_EINPUT, "not a directory");
    /* Trailing slashes name the same directory. */
    char slash[600];
    snprintf(slash, sizeof slash, "%s//", dir);
    generate(lang, slash, &o, &sum);
    assert_int_equal(leftovers(), 0);
    sp_lang_destroy(lang);
}

/* The temporary directory itself: abort leaves nothing, commit moves it into place, a forced
 * commit replaces the old directory and deletes it. */
static void test_atomic_dir(void **state)
{
    (void)state;
    sp_outdir d;
    sp_error err;
    const char *target = path_in("atomic");
    for (int round = 0; round < 3; round++) {
        assert_int_equal(sp_outdir_begin(&d, target, round == 2, &err), SP_OK);
        assert_int_equal(sp_outdir_mkdir(&d, "sub", &err), SP_OK);
        sp_outfile f;
        char *p = sp_outdir_path(&d, "sub/manifest.json");
        assert_int_equal(sp_outfile_open(&f, p, &err), SP_OK);
        free(p);
        sp_strbuf_printf(&f.buf, "round %d\n", round);
        assert_int_equal(sp_outfile_close(&f, &err), SP_OK);
        p = sp_outdir_path(&d, "manifest.json");
        fclose(fopen(p, "w"));
        free(p);
        assert_int_equal(leftovers(), 1); /* the temporary directory, while open */
        if (round == 0) {
            sp_outdir_abort(&d);
            assert_false(exists(target));
        } else {
            assert_int_equal(sp_outdir_commit(&d, &err), SP_OK);
            char line[32] = "", path[600];
            snprintf(path, sizeof path, "%s/sub/manifest.json", target);
            FILE *in = fopen(path, "r");
            assert_non_null(fgets(line, sizeof line, in));
            fclose(in);
            char want[32];
            snprintf(want, sizeof want, "round %d\n", round);
            assert_string_equal(line, want);
        }
        assert_int_equal(leftovers(), 0);
    }
    /* Without force an existing target is refused before anything is created. */
    assert_int_equal(sp_outdir_begin(&d, target, false, &err), SP_EINPUT);
    assert_int_equal(leftovers(), 0);
    assert_int_equal(sp_outdir_begin(&d, "", false, &err), SP_EINPUT);
    assert_int_equal(sp_outdir_begin(&d, "/", true, &err), SP_EINPUT);
}

/* The reader rejects damaged files with file:line positions. */
static void test_reader_errors(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("dyck-1");
    sp_gen_options o;
    small_options(&o);
    o.nbins = 0;
    o.train = 20;
    sp_gen_summary sum;
    const char *dir = path_in("damaged");
    generate(lang, dir, &o, &sum);
    char path[600];
    snprintf(path, sizeof path, "%s/train.jsonl", dir);
    FILE *f = fopen(path, "a");
    fputs("{\"string\": \"( x\", \"length\": 2, \"label\": true, \"edits\": null}\n", f);
    fclose(f);
    sp_dataset *ds;
    sp_error err;
    assert_int_equal(sp_dataset_load(dir, "train", &ds, &err), SP_EINPUT);
    assert_int_equal(err.line, 21);
    assert_non_null(strstr(err.msg, "unknown or empty symbol"));
    assert_int_equal(sp_dataset_load(dir, "test-9-9", &ds, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "no split named"));
    assert_int_equal(sp_dataset_load(path_in("nothing-here"), "train", &ds, &err), SP_EIO);
    /* A line too few: the manifest's count no longer matches. */
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "sed -i '$d' '%s' && sed -i '$d' '%s'", path, path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(sp_dataset_load(dir, "train", &ds, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "19 strings but manifest.json says 20"));
    sp_lang_destroy(lang);
}

/* A slice holds the same examples, next-symbol rows included, as the part of the split it
 * copies; the whole split and empty slices too. */
static void test_slice(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("dyck-2");
    sp_gen_options o;
    small_options(&o);
    o.train = 200;
    sp_gen_summary sum;
    const char *dir = path_in("slice");
    generate(lang, dir, &o, &sum);
    sp_dataset *ds = load(dir, "train");
    assert_true(ds->has_next);
    size_t cuts[][2] = {{0, 200}, {0, 0}, {200, 200}, {17, 140}, {199, 200}};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        size_t from = cuts[c][0], to = cuts[c][1];
        sp_dataset *sl = sp_dataset_slice(ds, from, to, c == 3 ? "part" : NULL);
        assert_string_equal(sl->split, c == 3 ? "part" : "train");
        assert_int_equal(sl->count, to - from);
        assert_int_equal(sl->k, ds->k);
        for (size_t a = 0; a < ds->k; a++) assert_string_equal(sl->symbols[a], ds->symbols[a]);
        for (size_t i = 0; i < sl->count; i++) {
            assert_true(same_string(sl, i, ds, from + i));
            assert_int_equal(sl->label[i], ds->label[from + i]);
            assert_int_equal(sl->edits[i], ds->edits[from + i]);
            size_t n = sl->start[i + 1] - sl->start[i];
            for (size_t j = 0; j <= n; j++) {
                size_t r = sl->start[i] + i + j, q = ds->start[from + i] + from + i + j;
                assert_int_equal(sl->end[r], ds->end[q]);
                assert_memory_equal(sl->next + r * ds->k, ds->next + q * ds->k, ds->k * sizeof *ds->next);
            }
        }
        sp_dataset_destroy(sl);
    }
    sp_dataset_destroy(ds);
    sp_lang_destroy(lang);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_properties),       cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_flare_round_trip), cmocka_unit_test(test_predict_task),
        cmocka_unit_test(test_length_dist),      cmocka_unit_test(test_uniform_inclusion),
        cmocka_unit_test(test_near_misses),      cmocka_unit_test(test_small_languages),
        cmocka_unit_test(test_bad_input),        cmocka_unit_test(test_output_dir),
        cmocka_unit_test(test_atomic_dir),       cmocka_unit_test(test_reader_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
