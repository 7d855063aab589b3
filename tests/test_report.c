/* The rendered files of a results directory: a synthetic probe (2 languages × 2 models × 2
 * seeds, a construction) written with known numbers, rendered, and each table checked against
 * values worked out by hand; renders byte-identical; missing cells listed; bad inputs named. */
#include "testutil.h"

#include "satprobe/report.h"
#include "satprobe/strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const LANGS[] = {"aa", "bb"};
static const char *const MODELS[] = {"m1", "m2"};
static const char *const MODES[] = {"soft", "saturated", "hard"};
static const char *const SPLITS[] = {"test-1-4", "test-5-5"};

/* JSON here is written with ' for " (write_json turns them back), so that it reads unescaped. */
static const char PROBE[] =
    "{'name': 't', 'sha256': '00', 'task': 'recognize', 'train_size': 100,\n"
    " 'train_lengths': [1, 4], 'test_size': 100,\n"
    " 'bins': [{'split': 'test-1-4', 'lo': 1, 'hi': 4}, {'split': 'test-5-5', 'lo': 5, 'hi': 5}],\n"
    " 'languages': [{'id': 'aa', 'path': 'grammars/aa.yaml', 'class': 'regular'},\n"
    "               {'id': 'bb', 'path': 'grammars/bb.yaml', 'class': 'context-free'}],\n"
    " 'models': [{'name': 'm1', 'config': {}, 'train': {'steps': 10, 'batch': 4,\n"
    "              'optimizer': 'adamw', 'lr': 0.001, 'weight_decay': 0.01}},\n"
    "            {'name': 'm2', 'config': {}, 'train': {'steps': 10, 'batch': 4,\n"
    "              'optimizer': 'adamw', 'lr': 0.001, 'weight_decay': 0.1}}],\n"
    " 'seeds': [1, 2], 'modes': ['soft', 'saturated', 'hard'],\n"
    " 'analysis': ['norms', 'saturation', 'heads'],\n"
    " 'constructions': [\n"
    "   {'id': 'aa-built', 'path': 'probes/constructions/aa.yaml', 'language': 'aa',\n"
    "    'claims': ['saturated']},\n"
    "   {'id': 'zz', 'path': 'probes/constructions/zz.yaml', 'language': null, 'claims': []}],\n"
    " 'cells': 8}\n";

static const char CONSTRUCTION[] =
    "{'construction': 'aa-built', 'language': 'aa', 'claims': ['saturated'], 'description': '',\n"
    " 'accuracy': [\n"
    "  {'task': 'recognize', 'mode': 'soft', 'split': 'test-1-4', 'n': 50, 'correct': 40},\n"
    "  {'task': 'recognize', 'mode': 'saturated', 'split': 'test-1-4', 'n': 50, 'correct': 50},\n"
    "  {'task': 'recognize', 'mode': 'saturated', 'split': 'test-5-5', 'n': 50, 'correct': 49}]}\n";

static const char FIT[] = " 'fit': {'sqrt': {'a': 0.5, 'b': 9, 'r2': 0.99},"
                          " 'power': {'a': 1.2, 'p': 0.4, 'r2': 0.98}}, 'saturation': 0.9,\n";

static const char BINS[] = " 'bins': [\n"
                           "  {'split': 'test-1-4', 'lo': 1, 'hi': 4, 'n': 100, 'positives': 50,\n"
                           "   'majority_class': 0.5, 'best_length_only': 0.6},\n"
                           "  {'split': 'test-5-5', 'lo': 5, 'hi': 5, 'n': 100, 'positives': 50,\n"
                           "   'majority_class': 0.5, 'best_length_only': 0.55}],\n";

static const char HEADS[] =
    " 'heads': [\n"
    "  {'layer': 0, 'head': 0, 'mean_attended': 1.02, 'frac_multi': 0.01, 'mean_visible': 3.5,\n"
    "   'queries': 100, 'label': 'argmax-like'},\n"
    "  {'layer': 0, 'head': 1, 'mean_attended': 3.2, 'frac_multi': 0.9, 'mean_visible': 3.5,\n"
    "   'queries': 100, 'label': 'mean-like'}]}\n";

static const char TRAIN_CSV[] = "step,loss,train_acc,val_loss,val_acc,lr\n"
                                "1,0.69,0.5,,,0.001\n"
                                "2,0.6,0.75,0.65,0.7,0.001\n";
/* m1 grows 25% over the second half, m2 1%. Steps 4 and 6 are equally close to 10 / 2: the
 * earlier counts. */
static const char NORMS_CSV[2][128] = {
    "step,norm,norm_no_embed,layer0\n0,10,9,5\n4,20,18,10\n6,22,19,11\n10,25,21,12\n",
    "step,norm,norm_no_embed,layer0\n0,10,9,5\n4,30,27,15\n6,30.1,27.1,15\n10,30.3,27.3,15\n"};
static const char SAT_CSV[] = "step,saturation,agree_saturated,agree_limit,saturation_layer0\n"
                              "0,0.5,0.8,0.7,0.4\n"
                              "10,0.9,1,1,0.8\n";

/* Correct answers out of n of cell (l, m, s) in mode k on bin b; one entry has n = 0. */
static long long n_of(int l, int m, int s, int k, int b)
{
    return l == 1 && m == 0 && s == 1 && k == 2 && b == 1 ? 0 : 100;
}
static long long correct_of(int l, int m, int s, int k, int b)
{
    return n_of(l, m, s, k, b) ? 60 + 10 * l + 5 * m + 7 * s + 3 * k - 20 * b : 0;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void write_json(const char *path, const char *text)
{
    char *json = strdup(text);
    for (char *p = json; *p; p++)
        if (*p == '\'') *p = '"';
    write_text(path, json);
    free(json);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *text = malloc((size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = '\0';
    fclose(f);
    return text;
}

static void mkdirs(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0777);
            *p = '/';
        }
    mkdir(buf, 0777);
}

static void write_cell(const char *dir, int l, int m, int s)
{
    char cell[512], path[1024];
    snprintf(cell, sizeof cell, "%s/cells/%s/%s/seed-%d", dir, LANGS[l], MODELS[m], s + 1);
    mkdirs(cell);
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_strbuf_printf(&sb, "{'language': '%s', 'model': '%s', 'seed': %d, 'steps': 10,\n", LANGS[l],
                     MODELS[m], s + 1);
    sp_strbuf_printf(&sb,
                     " 'train_strings': 90, 'val_strings': 10, 'norm_start': 10,"
                     " 'norm_end': %s,\n",
                     m ? "30.3" : "25");
    bool null_fit = l == 1 && m == 1 && s == 0;
    sp_strbuf_puts(&sb, null_fit ? " 'fit': null, 'saturation': null,\n" : FIT);
    sp_strbuf_puts(&sb, BINS);
    sp_strbuf_puts(&sb, " 'accuracy': [");
    for (int k = 0; k < 3; k++)
        for (int b = 0; b < 2; b++)
            sp_strbuf_printf(&sb,
                             "%s\n  {'task': 'recognize', 'mode': '%s', 'split': '%s',"
                             " 'n': %lld, 'correct': %lld}",
                             k || b ? "," : "", MODES[k], SPLITS[b], n_of(l, m, s, k, b),
                             correct_of(l, m, s, k, b));
    sp_strbuf_puts(&sb, "],\n");
    sp_strbuf_puts(&sb, HEADS);
    snprintf(path, sizeof path, "%s/cell.json", cell);
    write_json(path, sb.buf);
    sp_strbuf_free(&sb);
    snprintf(path, sizeof path, "%s/train.csv", cell);
    write_text(path, TRAIN_CSV);
    snprintf(path, sizeof path, "%s/norms.csv", cell);
    write_text(path, NORMS_CSV[m]);
    snprintf(path, sizeof path, "%s/saturation.csv", cell);
    write_text(path, SAT_CSV);
}

/* The probe's results directory DIR/name, every cell finished. */
static void make_results(char *dir, size_t size, const char *name)
{
    char path[1024];
    snprintf(dir, size, "%s/%s", tu_tmp_dir(), name);
    mkdirs(dir);
    snprintf(path, sizeof path, "%s/probe.json", dir);
    write_json(path, PROBE);
    for (int l = 0; l < 2; l++)
        for (int m = 0; m < 2; m++)
            for (int s = 0; s < 2; s++) write_cell(dir, l, m, s);
    snprintf(path, sizeof path, "%s/constructions", dir);
    mkdirs(path);
    snprintf(path, sizeof path, "%s/constructions/aa-built.json", dir);
    write_json(path, CONSTRUCTION);
}

static const char *in(const char *dir, const char *name)
{
    static char p[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static void render(const char *dir, sp_report_info *info)
{
    sp_error err;
    sp_error_clear(&err);
    if (sp_report_write(dir, info, &err)) {
        sp_error_print(&err, stderr);
        fail_msg("the report failed");
    }
}

static const char *const OUTPUTS[] = {"accuracy.csv",
                                      "norms.csv",
                                      "saturation.csv",
                                      "heads.csv",
                                      "train.csv",
                                      "baselines.csv",
                                      "fits.csv",
                                      "summary.md",
                                      "plots/accuracy-aa.svg",
                                      "plots/accuracy-bb.svg",
                                      "plots/norms-aa.svg",
                                      "plots/norms-bb.svg",
                                      "plots/saturation-aa.svg",
                                      "plots/saturation-bb.svg",
                                      "plots/heads.svg"};
#define NOUT (sizeof OUTPUTS / sizeof *OUTPUTS)

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void test_accuracy_csv(const char *dir)
{
    char *got = read_text(in(dir, "accuracy.csv"));
    sp_strbuf want;
    sp_strbuf_init(&want);
    sp_strbuf_puts(&want, "language,model,seed,mode,bin,n,correct,accuracy,task\n");
    for (int l = 0; l < 2; l++)
        for (int m = 0; m < 2; m++)
            for (int s = 0; s < 2; s++)
                for (int k = 0; k < 3; k++)
                    for (int b = 0; b < 2; b++) {
                        long long n = n_of(l, m, s, k, b), c = correct_of(l, m, s, k, b);
                        sp_strbuf_printf(&want, "%s,%s,%d,%s,%s,%lld,%lld,", LANGS[l], MODELS[m],
                                         s + 1, MODES[k], SPLITS[b], n, c);
                        /* shortest round-trip forms: 0.6, 0.67 */
                        if (n && c % 10 == 0) sp_strbuf_printf(&want, "0.%lld", c / 10);
                        else if (n) sp_strbuf_printf(&want, "0.%02lld", c);
                        sp_strbuf_puts(&want, ",recognize\n");
                    }
    sp_strbuf_puts(&want, "aa,construction:aa-built,,soft,test-1-4,50,40,0.8,recognize\n"
                          "aa,construction:aa-built,,saturated,test-1-4,50,50,1,recognize\n"
                          "aa,construction:aa-built,,saturated,test-5-5,50,49,0.98,recognize\n");
    assert_string_equal(got, want.buf);
    assert_non_null(strstr(got, "\naa,m1,1,soft,test-1-4,100,60,0.6,recognize\n"));
    assert_non_null(strstr(got, "\nbb,m1,2,hard,test-5-5,0,0,,recognize\n"));
    sp_strbuf_free(&want);
    free(got);
}

static void test_render(void **state)
{
    (void)state;
    char dir[256];
    make_results(dir, sizeof dir, "render");
    mkdirs(in(dir, "plots"));
    write_text(in(dir, "plots/old.svg"), "<svg/>");
    write_text(in(dir, "plots/notes.txt"), "kept");
    sp_report_info info;
    render(dir, &info);
    assert_int_equal(info.cells, 8);
    assert_int_equal(info.finished, 8);
    assert_int_equal(info.constructions, 1);

    char *first[NOUT];
    for (size_t i = 0; i < NOUT; i++) {
        first[i] = read_text(in(dir, OUTPUTS[i]));
        assert_true(strlen(first[i]) > 0);
        if (strstr(OUTPUTS[i], ".svg"))
            assert_true(!strncmp(first[i], "<?xml", 5) || !strncmp(first[i], "<svg", 4));
    }
    assert_int_equal(access(in(dir, "plots/old.svg"), F_OK), -1);
    assert_int_equal(access(in(dir, "plots/notes.txt"), F_OK), 0);

    test_accuracy_csv(dir);

    /* seeds 1 and 2 of aa / m1 / soft on 1–4: 0.60 and 0.67; mean 0.635, sd 0.07/√2 = 0.0495 */
    char *summary = read_text(in(dir, "summary.md"));
    assert_non_null(
        strstr(summary, "# t\n\n2 languages \xc3\x97 2 models \xc3\x97 2 seeds = 8 cells."));
    assert_non_null(strstr(summary, "\n| aa | regular | m1 | 0.635 \xc2\xb1 0.049 (0.670) |"));
    double a = 0.63, b = 0.70; /* aa / m1 / saturated on 1–4 */
    char want[128];
    snprintf(want, sizeof want, "| 0.635 \xc2\xb1 0.049 (0.670) | %.3f \xc2\xb1 %.3f (%.3f) | ",
             (a + b) / 2, fabs(a - b) / sqrt(2), b);
    assert_non_null(strstr(summary, want));
    /* built on 1–4 and the baselines follow the hard column */
    assert_non_null(strstr(summary, " | 1.000 saturated | 0.500 / 0.600 |"));
    /* bb / m1 / hard on bin 5 has one seed with n > 0: its value alone */
    assert_non_null(strstr(summary, "| 0.560 | "
                                    "\xe2\x80\x94"
                                    " | 0.500 / 0.550 |\n"));
    assert_non_null(strstr(summary, "`zz` (probes/constructions/zz.yaml) is not evaluated"));
    assert_non_null(strstr(summary, "## Norm growth and saturation"));
    assert_non_null(strstr(
        summary,
        "| aa | m1 | 10.00 \xe2\x86\x92 25.00 | 0.400 | 0.990 | +25.0% | 0.900 | 50.0% | 50.0% |"));
    assert_non_null(strstr(
        summary, "- `m1`: the norm grows 25.0% over the second half of training: still growing."));
    assert_non_null(
        strstr(summary,
               "- `m2`: the norm grows 1.0% over the second half of training: growth has stopped"));
    assert_null(strstr(summary, "## Missing cells"));

    /* norm_half at step 4 (the earlier of 4 and 6): 25 / 20 − 1 */
    char *fits = read_text(in(dir, "fits.csv"));
    assert_non_null(strstr(fits, "\naa,m1,1,10,10,20,25,0.25,0.5,9,0.99,1.2,0.4,0.98,0.9\n"));
    assert_non_null(strstr(fits, "\nbb,m2,1,10,10,30,30.3,"));
    assert_non_null(strstr(fits, ",,,,,,,\nbb,m2,2,"));
    assert_int_equal(count_lines(fits), 9);
    char *base = read_text(in(dir, "baselines.csv"));
    assert_string_equal(base, "language,bin,lo,hi,n,majority_class,best_length_only\n"
                              "aa,test-1-4,1,4,100,0.5,0.6\naa,test-5-5,5,5,100,0.5,0.55\n"
                              "bb,test-1-4,1,4,100,0.5,0.6\nbb,test-5-5,5,5,100,0.5,0.55\n");
    char *norms = read_text(in(dir, "norms.csv"));
    assert_true(!strncmp(
        norms, "language,model,seed,step,norm,norm_no_embed\naa,m1,1,0,10,9\naa,m1,1,4,20,18\n",
        74));
    assert_int_equal(count_lines(norms), 1 + 8 * 4);
    char *train = read_text(in(dir, "train.csv"));
    assert_non_null(
        strstr(train, "\nbb,m2,2,1,0.69,0.5,,,0.001\nbb,m2,2,2,0.6,0.75,0.65,0.7,0.001\n"));
    char *heads = read_text(in(dir, "heads.csv"));
    assert_non_null(strstr(heads, "\naa,m1,1,0,1,3.2,0.9,3.5,100,mean-like\n"));
    assert_int_equal(count_lines(heads), 1 + 8 * 2);

    /* a second render writes the same bytes */
    render(dir, &info);
    for (size_t i = 0; i < NOUT; i++) {
        char *again = read_text(in(dir, OUTPUTS[i]));
        if (strcmp(again, first[i])) fail_msg("%s differs between two renders", OUTPUTS[i]);
        free(again);
        free(first[i]);
    }
    free(summary);
    free(fits);
    free(base);
    free(norms);
    free(train);
    free(heads);
}

static void test_missing_cell(void **state)
{
    (void)state;
    char dir[256];
    make_results(dir, sizeof dir, "missing");
    assert_int_equal(unlink(in(dir, "cells/bb/m2/seed-2/cell.json")), 0);
    sp_report_info info;
    render(dir, &info);
    assert_int_equal(info.finished, 7);
    char *summary = read_text(in(dir, "summary.md"));
    assert_non_null(
        strstr(summary, "## Missing cells\n\n- bb / m2 / seed 2\n\n7 of 8 cells are finished;"));
    char *acc = read_text(in(dir, "accuracy.csv"));
    assert_null(strstr(acc, "bb,m2,2,"));
    assert_non_null(strstr(acc, "bb,m2,1,"));
    assert_int_equal(count_lines(acc), 1 + 7 * 6 + 3);
    for (size_t i = 0; i < NOUT; i++) assert_int_equal(access(in(dir, OUTPUTS[i]), F_OK), 0);
    free(summary);
    free(acc);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    char dir[256];
    sp_error err;
    make_results(dir, sizeof dir, "bad");
    const char *cell = in(dir, "cells/aa/m1/seed-1/cell.json");
    write_text(cell, "{\"language\": \"aa\",\n \"model\": }\n");
    sp_error_clear(&err);
    assert_int_equal(sp_report_write(dir, NULL, &err), SP_EINPUT);
    assert_string_equal(err.file, cell);
    assert_int_equal(err.line, 2);
    assert_true(err.col > 0);

    /* a cell.json of the wrong shape names the file too */
    write_text(cell,
               "{\"language\": \"aa\", \"model\": \"m1\", \"seed\": 1, \"steps\": \"ten\"}\n");
    sp_error_clear(&err);
    assert_int_equal(sp_report_write(dir, NULL, &err), SP_EINPUT);
    assert_string_equal(err.file, cell);
    assert_non_null(strstr(err.msg, "steps"));

    /* a finished cell's CSV that is not numbers: the field's line and column */
    make_results(dir, sizeof dir, "bad-csv");
    const char *norms = in(dir, "cells/bb/m1/seed-2/norms.csv");
    write_text(norms, "step,norm,norm_no_embed\n0,10,9\n4,2x,8\n");
    sp_error_clear(&err);
    assert_int_equal(sp_report_write(dir, NULL, &err), SP_EINPUT);
    assert_string_equal(err.file, norms);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.col, 3);
    unlink(norms);
    sp_error_clear(&err);
    assert_int_equal(sp_report_write(dir, NULL, &err), SP_EINPUT);
    assert_string_equal(err.file, norms);

    /* no probe.json at all */
    char empty[256];
    snprintf(empty, sizeof empty, "%s/empty", tu_tmp_dir());
    mkdirs(empty);
    sp_error_clear(&err);
    assert_int_equal(sp_report_write(empty, NULL, &err), SP_EINPUT);
    assert_string_equal(err.file, in(empty, "probe.json"));
}

static int setup(void **state)
{
    (void)state;
    return tu_tmp_dir_make("report");
}

static int teardown(void **state)
{
    (void)state;
    return tu_tmp_dir_remove();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_missing_cell),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
