/* The report's input files: JSON documents with typed members, and CSV records split in place. */
#include "report_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Records and documents of one run stay far below this; a bigger file is not one of ours. */
#define MAX_FILE ((size_t)1 << 30)

/* A missing file is the user's to fix (a wrong directory, a cell not run), not an I/O fault. */
static int read_whole(const char *path, char **text, size_t *len, sp_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return sp_error_set(err, SP_EINPUT, path, 0, 0, "no such file");
    return sp_read_file(path, MAX_FILE, text, len, err);
}

int sp_report_json_load(const char *path, sp_json_value **out, sp_error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return sp_error_set(err, SP_EINPUT, path, 0, 0, "no such file");
    return sp_json_load(path, MAX_FILE, out, err);
}

static int bad_type(const char *key, const char *want, const sp_json_value *v, const char *path,
                    sp_error *err)
{
    if (!v) return sp_error_set(err, SP_EINPUT, path, 0, 0, "missing key \"%s\"", key);
    return sp_error_set(err, SP_EINPUT, path, 0, 0, "\"%s\" must be %s, not %s", key, want,
                        sp_json_type_name(v->type));
}

int sp_report_get_str(const sp_json_value *obj, const char *key, bool nullable, const char *path,
                      const char **out, sp_error *err)
{
    const sp_json_value *v = sp_json_get(obj, key);
    *out = NULL;
    if (v && nullable && v->type == SP_JSON_NULL) return SP_OK;
    if (!v || v->type != SP_JSON_STRING || strlen(v->str) != v->len)
        return bad_type(key, nullable ? "a string or null" : "a string", v, path, err);
    *out = v->str;
    return SP_OK;
}

int sp_report_get_int(const sp_json_value *obj, const char *key, const char *path, long long *out,
                      sp_error *err)
{
    const sp_json_value *v = sp_json_get(obj, key);
    if (!v || v->type != SP_JSON_NUMBER || !v->is_int || v->integer < 0)
        return bad_type(key, "a non-negative integer", v, path, err);
    *out = v->integer;
    return SP_OK;
}

int sp_report_get_num(const sp_json_value *obj, const char *key, bool nullable, const char *path,
                      double *out, sp_error *err)
{
    const sp_json_value *v = sp_json_get(obj, key);
    *out = NAN;
    if (v && nullable && v->type == SP_JSON_NULL) return SP_OK;
    if (!v || v->type != SP_JSON_NUMBER)
        return bad_type(key, nullable ? "a number or null" : "a number", v, path, err);
    *out = v->number;
    return SP_OK;
}

int sp_report_get_array(const sp_json_value *obj, const char *key, bool nullable, const char *path,
                        const sp_json_value **out, sp_error *err)
{
    const sp_json_value *v = sp_json_get(obj, key);
    *out = NULL;
    if (v && nullable && v->type == SP_JSON_NULL) return SP_OK;
    if (!v || v->type != SP_JSON_ARRAY)
        return bad_type(key, nullable ? "a list or null" : "a list", v, path, err);
    *out = v;
    return SP_OK;
}

int sp_report_check_objects(const sp_json_value *arr, const char *what, const char *path,
                            sp_error *err)
{
    for (size_t i = 0; i < arr->n; i++)
        if (arr->items[i]->type != SP_JSON_OBJECT)
            return sp_error_set(err, SP_EINPUT, path, 0, 0,
                                "%s entry %zu must be an object, not %s", what, i + 1,
                                sp_json_type_name(arr->items[i]->type));
    return SP_OK;
}

/* ---- CSV ---- */

/* Split [p, end) on ',' in place into at most `max` fields; returns how many there were. */
static size_t split(char *p, char *end, char **out, size_t max)
{
    size_t n = 0;
    for (;;) {
        char *c = memchr(p, ',', (size_t)(end - p));
        if (n < max) out[n] = p;
        n++;
        if (!c) break;
        *c = '\0';
        p = c + 1;
    }
    *end = '\0';
    return n;
}

static int parse_table(report_table *t, const char *columns, sp_error *err)
{
    char *p = t->text, *end = t->text + strlen(t->text);
    char *nl = memchr(p, '\n', (size_t)(end - p));
    char *hend = nl ? nl : end;
    if (hend > p && hend[-1] == '\r') hend--;
    size_t want = strlen(columns);
    if ((size_t)(hend - p) < want || memcmp(p, columns, want) ||
        (p[want] != ',' && p + want != hend))
        return sp_error_set(err, SP_EINPUT, t->path, 1, 1, "the header must start with %s",
                            columns);
    t->ncols = 1;
    for (char *q = p; q < hend; q++) t->ncols += *q == ',';
    size_t cap_rows = 0;
    p = nl ? nl + 1 : end;
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        if (e > p && e[-1] == '\r') e--;
        if (t->nrows == cap_rows) {
            cap_rows = cap_rows ? 2 * cap_rows : 64;
            t->line = sp_realloc(t->line, cap_rows, sizeof *t->line);
            t->field = sp_realloc(t->field, cap_rows * t->ncols, sizeof *t->field);
        }
        t->line[t->nrows] = p;
        char *next = nl ? nl + 1 : end;
        size_t n = split(p, e, t->field + t->nrows * t->ncols, t->ncols);
        if (n != t->ncols)
            return sp_error_set(err, SP_EINPUT, t->path, (int)t->nrows + 2, 1,
                                "%zu fields where the header has %zu", n, t->ncols);
        t->nrows++;
        p = next;
    }
    return SP_OK;
}

int sp_report_table_read(report_table *t, const char *path, const char *columns, sp_error *err)
{
    memset(t, 0, sizeof *t);
    t->path = sp_strdup(path);
    size_t len;
    int status = read_whole(path, &t->text, &len, err);
    if (!status && strlen(t->text) != len)
        status = sp_error_set(err, SP_EINPUT, path, 0, 0, "the file holds a NUL byte");
    if (!status) status = parse_table(t, columns, err);
    if (status) sp_report_table_free(t);
    return status;
}

int sp_report_table_numbers(const report_table *t, size_t c, sp_error *err)
{
    for (size_t r = 0; r < t->nrows; r++) {
        const char *f = sp_report_field(t, r, c);
        char *e;
        if (!*f) continue;
        strtod(f, &e);
        if (*e || e == f)
            return sp_error_set(err, SP_EINPUT, t->path, (int)r + 2, (int)(f - t->line[r]) + 1,
                                "'%s' is not a number", f);
    }
    return SP_OK;
}

double sp_report_field_num(const report_table *t, size_t row, size_t col)
{
    const char *f = sp_report_field(t, row, col);
    return *f ? strtod(f, NULL) : NAN;
}

void sp_report_table_free(report_table *t)
{
    free(t->path);
    free(t->text);
    free(t->field);
    free(t->line);
    memset(t, 0, sizeof *t);
}
