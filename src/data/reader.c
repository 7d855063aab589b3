/* Reading a split back: manifest.json gives the alphabet, task, format and where each split's
 * files are; every line of those files is checked on the way in. */
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"
#include "satprobe/dataset.h"
#include "satprobe/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A file read line by line, with its name and line number for messages. */
typedef struct lines {
    FILE *f;
    char *path;
    char *buf;
    size_t cap, len;
    long lineno;
} lines;

static int lines_open(lines *l, const char *dir, const char *rel, sp_error *err)
{
    memset(l, 0, sizeof *l);
    l->path = sp_path_join(dir, rel);
    l->f = fopen(l->path, "rb");
    if (!l->f) return sp_error_set(err, SP_EIO, l->path, 0, 0, "cannot open: %s", strerror(errno));
    return SP_OK;
}

/* The next line, without its newline; false at the end of the file. */
static bool lines_next(lines *l)
{
    if (!l->f) return false;
    ssize_t got = getline(&l->buf, &l->cap, l->f);
    if (got < 0) return false;
    l->len = (size_t)got;
    if (l->len && l->buf[l->len - 1] == '\n') l->buf[--l->len] = '\0';
    l->lineno++;
    return true;
}

static void lines_close(lines *l)
{
    if (l->f) fclose(l->f);
    free(l->buf);
    free(l->path);
    memset(l, 0, sizeof *l);
}

static int bad(sp_error *err, const lines *l, int col, const char *what)
{
    return sp_error_set(err, SP_EINPUT, l->path, (int)l->lineno, col, "%s", what);
}

/* ---- the dataset being built ---- */

typedef struct builder {
    sp_dataset *ds;
    size_t cap_ex, cap_syms, cap_rows, rows;
    int *syms;    /* scratch: the symbols of the current line */
    size_t cap_line;
} builder;

static int symbol_index(const sp_dataset *ds, const char *s, size_t len)
{
    for (size_t a = 0; a < ds->k; a++)
        if (strlen(ds->symbols[a]) == len && memcmp(ds->symbols[a], s, len) == 0) return (int)a;
    return -1;
}

/* Split text[0..len) at single spaces into b->syms; *bad_col gets the 1-based column of an
 * unknown or empty symbol. */
static bool split_symbols(builder *b, const char *text, size_t len, size_t *n, int *bad_col)
{
    *n = 0;
    if (len == 0) return true;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != ' ') continue;
        int a = i > start ? symbol_index(b->ds, text + start, i - start) : -1;
        if (a < 0) {
            *bad_col = (int)start + 1;
            return false;
        }
        SP_GROW(b->syms, b->cap_line, *n + 1);
        b->syms[(*n)++] = a;
        start = i + 1;
    }
    return true;
}

/* Append an example; returns its next-symbol rows (all false) when the split has them. */
static bool *add_example(builder *b, size_t n, bool label, int edits)
{
    sp_dataset *ds = b->ds;
    if (ds->count + 2 > b->cap_ex) { /* start, label and edits grow together */
        size_t cap = 2 * b->cap_ex;
        while (cap < ds->count + 2) cap *= 2;
        ds->start = sp_realloc(ds->start, cap, sizeof *ds->start);
        ds->label = sp_realloc(ds->label, cap, sizeof *ds->label);
        ds->edits = sp_realloc(ds->edits, cap, sizeof *ds->edits);
        b->cap_ex = cap;
    }
    size_t at = ds->start[ds->count];
    if (n) {
        SP_GROW(ds->syms, b->cap_syms, at + n);
        memcpy(ds->syms + at, b->syms, n * sizeof *b->syms);
    }
    ds->label[ds->count] = label;
    ds->edits[ds->count] = edits;
    ds->start[++ds->count] = at + n;
    if (!ds->has_next) return NULL;
    size_t old = b->cap_rows, rows = b->rows + n + 1;
    SP_GROW(ds->end, b->cap_rows, rows);
    if (b->cap_rows != old) ds->next = sp_realloc(ds->next, b->cap_rows * ds->k, sizeof *ds->next);
    bool *row = ds->next + b->rows * ds->k;
    memset(row, 0, (n + 1) * ds->k * sizeof *row);
    memset(ds->end + b->rows, 0, (n + 1) * sizeof *ds->end);
    b->rows = rows;
    return row;
}

/* The end flags of the example just added. */
static bool *last_end(builder *b, size_t n) { return b->ds->end + b->rows - (n + 1); }

/* ---- JSONL ---- */

static int jsonl_next(builder *b, const sp_json_value *v, size_t n, bool *row, bool *end,
                      const lines *l, sp_error *err)
{
    const sp_json_value *next = sp_json_get(v, "next"), *ends = sp_json_get(v, "end");
    if (!next || next->type != SP_JSON_ARRAY || next->n != n + 1)
        return bad(err, l, 0, "\"next\" must be a list of length + 1 lists of symbols");
    if (!ends || ends->type != SP_JSON_ARRAY || ends->n != n + 1)
        return bad(err, l, 0, "\"end\" must be a list of length + 1 booleans");
    size_t k = b->ds->k;
    for (size_t i = 0; i <= n; i++) {
        const sp_json_value *set = next->items[i];
        if (set->type != SP_JSON_ARRAY) return bad(err, l, 0, "\"next\" must hold lists of symbols");
        for (size_t j = 0; j < set->n; j++) {
            int a = set->items[j]->type == SP_JSON_STRING
                        ? symbol_index(b->ds, set->items[j]->str, set->items[j]->len)
                        : -1;
            if (a < 0) return bad(err, l, 0, "\"next\" holds something that is not a symbol");
            row[i * k + (size_t)a] = true;
        }
        if (ends->items[i]->type != SP_JSON_BOOL) return bad(err, l, 0, "\"end\" must hold booleans");
        end[i] = ends->items[i]->boolean;
    }
    return SP_OK;
}

static int jsonl_line(builder *b, const lines *l, sp_error *err)
{
    sp_json_value *v;
    sp_error jerr;
    if (sp_json_parse(l->buf, l->len, &v, &jerr)) return bad(err, l, jerr.col, jerr.msg);
    int status = SP_OK;
    const sp_json_value *str = sp_json_get(v, "string"), *len = sp_json_get(v, "length"),
                        *label = sp_json_get(v, "label"), *edits = sp_json_get(v, "edits");
    size_t n = 0;
    int col = 0;
    if (v->type != SP_JSON_OBJECT) status = bad(err, l, 1, "expected an object");
    else if (!str || str->type != SP_JSON_STRING) status = bad(err, l, 0, "\"string\" must be a string");
    else if (!split_symbols(b, str->str, str->len, &n, &col))
        status = sp_error_set(err, SP_EINPUT, l->path, (int)l->lineno, 0,
                              "\"string\": unknown or empty symbol at byte %d", col);
    else if (!len || !len->is_int || len->integer != (long long)n)
        status = bad(err, l, 0, "\"length\" must be the number of symbols in \"string\"");
    else if (!label || label->type != SP_JSON_BOOL) status = bad(err, l, 0, "\"label\" must be true or false");
    else if (!edits || !(edits->type == SP_JSON_NULL || (edits->is_int && edits->integer >= 1 &&
                                                         edits->integer <= 1000000 && !label->boolean)))
        status = bad(err, l, 0, "\"edits\" must be null, or a positive count on a negative");
    if (!status) {
        bool *row = add_example(b, n, label->boolean, edits->is_int ? (int)edits->integer : 0);
        if (row && label->boolean) status = jsonl_next(b, v, n, row, last_end(b, n), l, err);
    }
    sp_json_free(v);
    return status;
}

/* ---- FLaRe ---- */

static int flare_next(builder *b, lines *nl, size_t n, bool *row, bool *end, sp_error *err)
{
    if (!lines_next(nl)) return bad(err, nl, 0, "fewer lines than positives in main.tok");
    sp_json_value *v;
    sp_error jerr;
    if (sp_json_parse(nl->buf, nl->len, &v, &jerr)) return bad(err, nl, jerr.col, jerr.msg);
    int status = SP_OK;
    size_t k = b->ds->k;
    if (v->type != SP_JSON_ARRAY || v->n != n + 1)
        status = bad(err, nl, 0, "expected a list of length + 1 objects {\"s\": ..., \"e\": ...}");
    for (size_t i = 0; !status && i <= n; i++) {
        const sp_json_value *s = sp_json_get(v->items[i], "s"), *e = sp_json_get(v->items[i], "e");
        size_t m;
        int col;
        if (!s || s->type != SP_JSON_STRING || !e || e->type != SP_JSON_BOOL)
            status = bad(err, nl, 0, "expected objects {\"s\": \"symbols\", \"e\": true or false}");
        else if (!split_symbols(b, s->str, s->len, &m, &col))
            status = bad(err, nl, 0, "\"s\" holds something that is not a symbol");
        else {
            for (size_t j = 0; j < m; j++) row[i * k + (size_t)b->syms[j]] = true;
            end[i] = e->boolean;
        }
    }
    sp_json_free(v);
    return status;
}

static int flare_line(builder *b, lines *main, lines *lab, lines *ed, lines *nl, sp_error *err)
{
    size_t n;
    int col;
    if (!split_symbols(b, main->buf, main->len, &n, &col))
        return bad(err, main, col, "unknown or empty symbol");
    if (!lines_next(lab)) return bad(err, lab, 0, "fewer labels than strings in main.tok");
    if (strcmp(lab->buf, "0") && strcmp(lab->buf, "1")) return bad(err, lab, 1, "a label is 0 or 1");
    bool label = lab->buf[0] == '1';
    int edits = 0;
    if (!label) {
        if (!lines_next(ed)) return bad(err, ed, 0, "fewer lines than negatives in labels.txt");
        char *end;
        long v = ed->len ? strtol(ed->buf, &end, 10) : 0;
        if (ed->len && (*end || v < 1 || v > 1000000))
            return bad(err, ed, 1, "expected a positive number of edits or an empty line");
        edits = (int)v;
    }
    bool *row = add_example(b, n, label, edits);
    if (row && label) return flare_next(b, nl, n, row, last_end(b, n), err);
    return SP_OK;
}

/* ---- manifest and entry points ---- */

static int read_manifest(const char *dir, sp_json_value **out, sp_error *err)
{
    char *path = sp_path_join(dir, "manifest.json");
    FILE *f = fopen(path, "rb");
    int status = SP_OK;
    if (!f) {
        status = sp_error_set(err, SP_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
        free(path);
        return status;
    }
    sp_strbuf text;
    sp_strbuf_init(&text);
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) sp_strbuf_append(&text, buf, got);
    fclose(f);
    if (sp_json_parse(text.buf, text.len, out, err)) {
        snprintf(err->file, sizeof err->file, "%s", path);
        status = SP_EINPUT;
    } else if ((*out)->type != SP_JSON_OBJECT || !sp_json_get(*out, "splits") ||
               sp_json_get(*out, "splits")->type != SP_JSON_ARRAY) {
        status = sp_error_set(err, SP_EINPUT, path, 0, 0, "not a dataset manifest (no \"splits\" list)");
        sp_json_free(*out);
        *out = NULL;
    }
    sp_strbuf_free(&text);
    free(path);
    return status;
}

int sp_dataset_splits(const char *dir, char ***names, size_t *n, sp_error *err)
{
    sp_json_value *m;
    *names = NULL;
    *n = 0;
    int status = read_manifest(dir, &m, err);
    if (status) return status;
    const sp_json_value *splits = sp_json_get(m, "splits");
    *names = sp_calloc(splits->n, sizeof **names);
    for (size_t i = 0; i < splits->n; i++) {
        const sp_json_value *name = sp_json_get(splits->items[i], "name");
        (*names)[(*n)++] = sp_strdup(name && name->type == SP_JSON_STRING ? name->str : "");
    }
    sp_json_free(m);
    return SP_OK;
}

void sp_dataset_splits_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* Alphabet, task, format and the split's entry from the manifest into ds. */
static int describe(const sp_json_value *m, const char *dir, const char *split, sp_dataset *ds,
                    const sp_json_value **entry, bool *flare, sp_error *err)
{
    const sp_json_value *alpha = sp_json_get(m, "alphabet"), *task = sp_json_get(m, "task"),
                        *format = sp_json_get(m, "format"), *splits = sp_json_get(m, "splits");
    char *path = sp_path_join(dir, "manifest.json");
    int status = SP_OK;
    if (!alpha || alpha->type != SP_JSON_ARRAY || alpha->n == 0 || !task ||
        task->type != SP_JSON_STRING || !format || format->type != SP_JSON_STRING)
        status = sp_error_set(err, SP_EINPUT, path, 0, 0, "needs \"alphabet\", \"task\" and \"format\"");
    *entry = NULL;
    for (size_t i = 0; !status && i < splits->n && !*entry; i++) {
        const sp_json_value *name = sp_json_get(splits->items[i], "name");
        if (name && name->type == SP_JSON_STRING && !strcmp(name->str, split)) *entry = splits->items[i];
    }
    if (!status && !*entry) status = sp_error_set(err, SP_EINPUT, path, 0, 0, "no split named '%s'", split);
    if (!status) {
        ds->k = alpha->n;
        ds->symbols = sp_calloc(ds->k, sizeof *ds->symbols);
        for (size_t a = 0; a < ds->k; a++)
            ds->symbols[a] = sp_strdup(alpha->items[a]->type == SP_JSON_STRING ? alpha->items[a]->str : "");
        ds->task = sp_strdup(task->str);
        ds->has_next = strcmp(task->str, "recognize") != 0;
        *flare = !strcmp(format->str, "flare");
        const sp_json_value *loc = sp_json_get(*entry, "location");
        if (!loc || loc->type != SP_JSON_STRING)
            status = sp_error_set(err, SP_EINPUT, path, 0, 0, "split '%s' has no \"location\"", split);
    }
    free(path);
    return status;
}

static int read_split(builder *b, const char *dir, const char *loc, bool flare, sp_error *err)
{
    lines f[4];
    memset(f, 0, sizeof f);
    int status;
    if (!flare) {
        status = lines_open(&f[0], dir, loc, err);
        while (!status && lines_next(&f[0])) status = jsonl_line(b, &f[0], err);
    } else {
        char *base = sp_path_join(dir, loc);
        status = lines_open(&f[0], base, "main.tok", err);
        if (!status) status = lines_open(&f[1], base, "labels.txt", err);
        if (!status) status = lines_open(&f[2], base, "num-edits.txt", err);
        if (!status && b->ds->has_next) status = lines_open(&f[3], base, "next-symbols.jsonl", err);
        free(base);
        while (!status && lines_next(&f[0])) status = flare_line(b, &f[0], &f[1], &f[2], &f[3], err);
        for (int i = 1; i < 4 && !status; i++)
            if (lines_next(&f[i])) status = bad(err, &f[i], 0, "more lines than main.tok calls for");
    }
    for (int i = 0; i < 4; i++) lines_close(&f[i]);
    return status;
}

int sp_dataset_load(const char *dir, const char *split, sp_dataset **out, sp_error *err)
{
    *out = NULL;
    sp_json_value *m;
    int status = read_manifest(dir, &m, err);
    if (status) return status;
    sp_dataset *ds = sp_calloc(1, sizeof *ds);
    ds->split = sp_strdup(split);
    ds->start = sp_calloc(1, sizeof *ds->start);
    builder b = {ds, 1, 0, 0, 0, NULL, 0};
    const sp_json_value *entry;
    bool flare;
    status = describe(m, dir, split, ds, &entry, &flare, err);
    if (!status) status = read_split(&b, dir, sp_json_get(entry, "location")->str, flare, err);
    const sp_json_value *count = entry ? sp_json_get(entry, "strings") : NULL;
    if (!status && (!count || !count->is_int || count->integer != (long long)ds->count))
        status = sp_error_set(err, SP_EINPUT, dir, 0, 0,
                              "split '%s' has %zu strings but manifest.json says %lld", split,
                              ds->count, count && count->is_int ? count->integer : -1LL);
    free(b.syms);
    sp_json_free(m);
    if (status) {
        sp_dataset_destroy(ds);
        return status;
    }
    *out = ds;
    return SP_OK;
}

void sp_dataset_destroy(sp_dataset *ds)
{
    if (!ds) return;
    for (size_t a = 0; a < ds->k; a++) free(ds->symbols[a]);
    free(ds->symbols);
    free(ds->split);
    free(ds->task);
    free(ds->syms);
    free(ds->start);
    free(ds->label);
    free(ds->edits);
    free(ds->next);
    free(ds->end);
    free(ds);
}
