/* Private to src/probe's report: the probe and its cells as read, shared by report.c (probe.json
 * and the entry point), report_input.c (JSON and CSV files), report_cells.c (cells and
 * constructions), report_stats.c (means and lookups), report_csv.c (the CSV tables),
 * report_summary.c and report_growth.c (summary.md) and report_plots.c (the SVG plots).
 *
 * Strings point into the JSON trees and CSV texts the report owns; sp_report_write releases
 * them all before it returns. */
#ifndef SATPROBE_REPORT_IMPL_H
#define SATPROBE_REPORT_IMPL_H

#include "satprobe/json.h"
#include "satprobe/report.h"
#include "satprobe/strbuf.h"

#include <stdbool.h>
#include <stddef.h>

/* sp_report's analysis bits (probe.json's "analysis" list). */
#define REPORT_NORMS 1u
#define REPORT_SATURATION 2u
#define REPORT_HEADS 4u

/* The missing value in tables: an em dash. */
#define REPORT_NONE "\xe2\x80\x94"
/* Other characters of the tables and plots, in UTF-8. */
#define U_NDASH "\xe2\x80\x93"
#define U_PM "\xc2\xb1"
#define U_TIMES "\xc3\x97"
#define U_DOT "\xc2\xb7"
#define U_SQUARED "\xc2\xb2"
#define U_SQRT "\xe2\x88\x9a"
#define U_ARROW "\xe2\x86\x92"
#define U_NORM "\xe2\x80\x96\xce\xb8\xe2\x80\x96" /* ‖θ‖ */
#define U_THETA "\xce\xb8"

/* A CSV file read whole. Fields are split in place on ',' (the trainer never quotes). */
typedef struct report_table {
    char *path;
    char *text;
    size_t ncols, nrows;
    char **field; /* [nrows * ncols]: row r, column c is field[r * ncols + c] */
    char **line;  /* [nrows] where each row starts (for error columns) */
} report_table;

typedef struct report_bin {
    const char *split;
    long long lo, hi;
    char label[48]; /* "LO–HI", or "LO" when LO == HI */
} report_bin;

typedef struct report_lang {
    const char *id, *path, *cls;
} report_lang;

typedef struct report_model {
    const char *name;
    long long steps, batch;
    const char *optimizer;
    double lr, weight_decay;
} report_model;

/* One entry of an "accuracy" list. */
typedef struct report_acc {
    const char *task, *mode, *split;
    long long n, correct;
    double value; /* correct / n; NaN when n = 0 */
} report_acc;

/* One entry of a cell's "bins": a test split with its baselines. */
typedef struct report_cbin {
    const char *split;
    long long lo, hi, n;
    double majority, length_only;
} report_cbin;

typedef struct report_head {
    long long layer, head, queries;
    double mean_attended, frac_multi, mean_visible;
    const char *label;
} report_head;

typedef struct report_cell {
    size_t lang, model, seed; /* indices into the probe's lists */
    char *dir;                /* DIR/cells/LANG/MODEL/seed-S */
    bool finished;            /* cell.json exists; nothing below is set otherwise */
    const char *untrained;    /* why the cell has no training data (no numbers then); NULL */
    sp_json_value *doc;
    long long steps;
    double norm_start, norm_end; /* NaN when null */
    bool has_fit;
    double sqrt_a, sqrt_b, sqrt_r2, power_a, power_p, power_r2;
    double saturation; /* NaN when null */
    report_acc *acc;
    size_t nacc;
    report_cbin *bins;
    size_t nbins;
    bool has_heads; /* heads is a list (possibly empty), not null */
    report_head *heads;
    size_t nheads;
    report_table train, norms, sat;
    const char
        *norm_half_text; /* norms.csv's norm at the step closest to steps / 2; NULL if none */
    double norm_half, late_growth; /* NaN where not known */
} report_cell;

typedef struct report_construction {
    const char *id, *path;
    const char *language; /* NULL: the probe has not its language, so it is not evaluated */
    size_t lang;          /* index of language, when there is one */
    const char *claim;    /* the first claimed mode, or NULL */
    sp_json_value *doc;   /* constructions/ID.json; NULL when it does not exist (yet) */
    report_acc *acc;
    size_t nacc;
} report_construction;

typedef struct report {
    char *dir;
    char *probe_path;
    sp_json_value *probe;
    const char *name, *task;
    long long train_lo, train_hi;
    report_bin *bins;
    size_t nbins;
    report_lang *langs;
    size_t nlangs;
    report_model *models;
    size_t nmodels;
    long long *seeds;
    size_t nseeds;
    const char **modes;
    size_t nmodes;
    unsigned analysis;
    report_construction *cons;
    size_t ncons;
    report_cell *cells; /* [ncells] in the probe's order: languages, models, seeds fastest */
    size_t ncells, nfinished;
} report;

/* ---- reading files (report_input.c) ---- */

/* Read and parse a JSON file. A file that does not exist is SP_EINPUT ("no such file") so that
 * the caller can tell it from one that cannot be read (SP_EIO); a parse error names the file
 * and its line:col. */
int sp_report_json_load(const char *path, sp_json_value **out, sp_error *err);

/* Typed members of an object; `path` names the file in errors. A nullable number that is null
 * reads as NaN; a nullable string that is null as NULL. */
int sp_report_get_str(const sp_json_value *obj, const char *key, bool nullable, const char *path,
                      const char **out, sp_error *err);
int sp_report_get_int(const sp_json_value *obj, const char *key, const char *path, long long *out,
                      sp_error *err);
int sp_report_get_num(const sp_json_value *obj, const char *key, bool nullable, const char *path,
                      double *out, sp_error *err);
/* An array member (type SP_JSON_ARRAY), or with nullable a null one (*out = NULL). */
int sp_report_get_array(const sp_json_value *obj, const char *key, bool nullable, const char *path,
                        const sp_json_value **out, sp_error *err);
/* Every element of arr must be an object; the message names `what` and the index. */
int sp_report_check_objects(const sp_json_value *arr, const char *what, const char *path,
                            sp_error *err);

/* Read a CSV file whose header starts with the comma-separated `columns`, each row with as many
 * fields as the header. A missing file is SP_EINPUT. */
int sp_report_table_read(report_table *t, const char *path, const char *columns, sp_error *err);
/* Every field of column c must be empty or a number (strtod, C locale, all of it). */
int sp_report_table_numbers(const report_table *t, size_t c, sp_error *err);
void sp_report_table_free(report_table *t);
static inline const char *sp_report_field(const report_table *t, size_t row, size_t col)
{
    return t->field[row * t->ncols + col];
}
/* A field as a number; NaN when empty. */
double sp_report_field_num(const report_table *t, size_t row, size_t col);

/* ---- cells and constructions (report_cells.c) ---- */

int sp_report_read_cells(report *r, sp_error *err);
int sp_report_read_constructions(report *r, sp_error *err);
void sp_report_cell_free(report_cell *c);

/* ---- means and lookups (report_stats.c) ---- */

typedef struct report_stats {
    size_t n;
    double mean, sd, max; /* sd: sample standard deviation, NaN when n < 2; all NaN when n = 0 */
} report_stats;

report_stats sp_report_stats(const double *v, size_t n);
/* The accuracy entry of (task, mode, split), or NULL. */
const report_acc *sp_report_acc_find(const report_acc *a, size_t n, const char *task,
                                     const char *mode, const char *split);
/* The accuracy values of (task, mode, split) over the finished seeds of (lang, model) that have
 * one with n > 0, into v[r->nseeds]; returns how many. */
size_t sp_report_seed_values(const report *r, size_t lang, size_t model, const char *task,
                             const char *mode, const char *split, double *v);
/* The cell of (lang, model, seed). */
const report_cell *sp_report_cell(const report *r, size_t lang, size_t model, size_t seed);
/* The first finished cell of a language, or NULL. */
const report_cell *sp_report_first_finished(const report *r, size_t lang);
/* The first construction of a language with its file read, or NULL. */
const report_construction *sp_report_construction_of(const report *r, size_t lang);
/* The baselines of a split in a cell, or NULL. */
const report_cbin *sp_report_cbin_find(const report_cell *c, const char *split);
/* Whether any finished cell (lang = SIZE_MAX: of any language) or evaluated construction has
 * an accuracy entry of this task. */
bool sp_report_has_task(const report *r, size_t lang, const char *task);
/* The task a language's plot shows: recognize when there is one, else predict. */
const char *sp_report_plot_task(const report *r, size_t lang);

/* ---- writing (report.c, report_csv.c, report_summary.c, report_growth.c, report_plots.c) ---- */

/* Write DIR/name atomically. */
int sp_report_put(const report *r, const char *name, const sp_strbuf *sb, sp_error *err);
/* s as one CSV field: quoted (with "" for ") when it holds a comma, quote or line break. */
void sp_report_csv_str(sp_strbuf *sb, const char *s);
/* v as sp_json_format_double writes it, or nothing when v is not finite. */
void sp_report_csv_num(sp_strbuf *sb, double v);

int sp_report_write_csvs(const report *r, sp_error *err);
int sp_report_write_summary(const report *r, sp_error *err);
/* The sections after the accuracy tables: norm growth, where it stops, missing cells. */
void sp_report_summary_growth(const report *r, sp_strbuf *sb);
int sp_report_write_plots(const report *r, sp_error *err);

#endif
