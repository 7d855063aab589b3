/* sp_probe_merge: shards (or partial runs) of one probe into one results directory. Cells and
 * constructions are deterministic, so a cell finished in two inputs must be the same bytes; the
 * rendered files then equal a single run's. */
/* realpath(3) */
#define _DEFAULT_SOURCE
#include "run_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"
#include "satprobe/report.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int read_all(const char *path, char **text, size_t *len, sp_error *err)
{
    return sp_read_file(path, (size_t)1 << 40, text, len, err);
}

/* Every file under src copied to the same place under dst, but `skip` (NULL: none). Files
 * already in dst are replaced: they may be a half-finished run's. */
static int copy_tree(const char *src, const char *dst, const char *skip, sp_error *err)
{
    int status = sp_mkdirs(dst, err);
    DIR *d = status ? NULL : opendir(src);
    if (!status && !d) return sp_error_set(err, SP_EIO, src, 0, 0, "cannot open the directory");
    struct dirent *e;
    while (!status && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        /* a temporary file or directory of a write that never finished */
        if (e->d_name[0] == '.' || (skip && !strcmp(e->d_name, skip))) continue;
        char *from = sp_path_join(src, e->d_name), *to = sp_path_join(dst, e->d_name);
        struct stat st;
        if (lstat(from, &st) == 0 && S_ISDIR(st.st_mode)) status = copy_tree(from, to, NULL, err);
        else if (S_ISREG(st.st_mode)) status = sp_copy_file(from, to, err);
        free(from);
        free(to);
    }
    if (d) closedir(d);
    return status;
}

static bool same_dir(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    return realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb);
}

/* A finished unit (a cell directory whose `marker` exists, or a construction file) from each
 * input into out; the same unit in two inputs must have the same marker bytes. */
static int merge_unit(const char *const *dirs, size_t ndirs, const char *out_dir, const char *rel,
                      const char *marker, bool is_dir, bool *finished, sp_error *err)
{
    char *out_unit = sp_path_join(out_dir, rel);
    char *out_mark = is_dir ? sp_path_join(out_unit, marker) : sp_strdup(out_unit);
    char *have = NULL, *have_from = NULL;
    size_t have_len = 0;
    int status = SP_OK;
    if (sp_path_exists(out_mark)) {
        status = read_all(out_mark, &have, &have_len, err);
        have_from = sp_strdup(out_dir);
    }
    for (size_t i = 0; i < ndirs && !status; i++) {
        char *unit = sp_path_join(dirs[i], rel);
        char *mark = is_dir ? sp_path_join(unit, marker) : sp_strdup(unit);
        if (sp_path_exists(mark)) {
            char *text;
            size_t len;
            status = read_all(mark, &text, &len, err);
            if (!status && have && (len != have_len || memcmp(text, have, len)))
                status = sp_error_set(err, SP_EINPUT, mark, 0, 0,
                                      "differs from the same %s in %s: these are not results of "
                                      "one probe run with one build",
                                      is_dir ? "cell" : "construction", have_from);
            if (!status && !have) {
                have = text;
                have_len = len;
                have_from = sp_strdup(dirs[i]);
                text = NULL;
                if (!same_dir(dirs[i], out_dir)) {
                    if (is_dir) {
                        /* the marker last, so that an interrupted merge leaves the cell unfinished */
                        status = copy_tree(unit, out_unit, marker, err);
                        if (!status) status = sp_copy_file(mark, out_mark, err);
                    } else {
                        char *parent = sp_path_join(out_dir, "constructions");
                        status = sp_mkdirs(parent, err);
                        if (!status) status = sp_copy_file(mark, out_mark, err);
                        free(parent);
                    }
                }
            }
            free(text);
        }
        free(unit);
        free(mark);
    }
    *finished = have != NULL;
    free(have);
    free(have_from);
    free(out_unit);
    free(out_mark);
    return status;
}

static const char *str_of(const sp_json_value *obj, const char *key)
{
    const sp_json_value *v = obj ? sp_json_get(obj, key) : NULL;
    return v && v->type == SP_JSON_STRING ? v->str : NULL;
}

static int check_probe(const sp_json_value *pj, const char *path, sp_error *err)
{
    const char *arrays[] = {"languages", "models", "seeds", "constructions"};
    for (size_t i = 0; i < 4; i++) {
        const sp_json_value *v = sp_json_get(pj, arrays[i]);
        if (!v || v->type != SP_JSON_ARRAY)
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "no '%s' list: not a probe's probe.json",
                                arrays[i]);
    }
    const sp_json_value *s = sp_json_get(pj, "seeds");
    for (size_t i = 0; i < s->n; i++)
        if (!s->items[i]->is_int) return sp_error_set(err, SP_EINPUT, path, 0, 0, "a seed is not an integer");
    for (size_t i = 0; i < sp_json_get(pj, "languages")->n; i++)
        if (!str_of(sp_json_get(pj, "languages")->items[i], "id"))
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "a language without an id");
    for (size_t i = 0; i < sp_json_get(pj, "models")->n; i++)
        if (!str_of(sp_json_get(pj, "models")->items[i], "name"))
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "a model without a name");
    for (size_t i = 0; i < sp_json_get(pj, "constructions")->n; i++)
        if (!str_of(sp_json_get(pj, "constructions")->items[i], "id"))
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "a construction without an id");
    return SP_OK;
}

/* The inputs' probe.json must be the same bytes; out_dir's too when it has one. */
static int same_probe(const char *const *dirs, size_t ndirs, const char *out_dir, char **text,
                      size_t *len, sp_error *err)
{
    char *first = sp_path_join(dirs[0], "probe.json");
    int status = read_all(first, text, len, err);
    for (size_t i = 0; i <= ndirs && !status; i++) {
        const char *d = i < ndirs ? dirs[i] : out_dir;
        char *path = sp_path_join(d, "probe.json"), *other;
        size_t olen;
        if (i == ndirs && !sp_path_exists(path)) {
            free(path);
            break;
        }
        status = read_all(path, &other, &olen, err);
        if (!status) {
            if (olen != *len || memcmp(other, *text, olen))
                status = sp_error_set(err, SP_EINPUT, path, 0, 0,
                                      "is not the probe of %s: only results of one probe file merge",
                                      first);
            free(other);
        }
        free(path);
    }
    free(first);
    if (status) {
        free(*text);
        *text = NULL;
    }
    return status;
}

/* The merged run's wall time: the inputs' manifests summed. */
static double inputs_wall(const char *const *dirs, size_t ndirs)
{
    double sum = 0;
    for (size_t i = 0; i < ndirs; i++) {
        char *path = sp_path_join(dirs[i], "manifest.json");
        sp_error e;
        sp_json_value *v;
        if (!sp_json_load(path, (size_t)1 << 26, &v, &e)) {
            const sp_json_value *w = sp_json_get(v, "wall_seconds");
            if (w && w->type == SP_JSON_NUMBER) sum += w->number;
            sp_json_free(v);
        }
        free(path);
    }
    return sum;
}

int sp_probe_merge(const char *const *dirs, size_t ndirs, const char *out_dir,
                   sp_probe_run_summary *s, sp_error *err)
{
    memset(s, 0, sizeof *s);
    if (!ndirs) return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "nothing to merge");
    char *ptext;
    size_t plen;
    int status = same_probe(dirs, ndirs, out_dir, &ptext, &plen, err);
    if (status) return status;
    sp_json_value *pj = NULL;
    char *ppath = sp_path_join(dirs[0], "probe.json");
    if ((status = sp_json_parse(ptext, plen, &pj, err))) snprintf(err->file, sizeof err->file, "%s", ppath);
    if (!status) status = check_probe(pj, ppath, err);
    free(ppath);
    double wall = inputs_wall(dirs, ndirs);
    if (!status) status = sp_mkdirs(out_dir, err);
    if (!status && !same_dir(dirs[0], out_dir)) {
        char *to = sp_path_join(out_dir, "probe.json");
        status = sp_write_file_atomic(to, ptext, plen, err);
        free(to);
        char *from = sp_path_join(dirs[0], "probe.yaml");
        to = sp_path_join(out_dir, "probe.yaml");
        if (!status) status = sp_copy_file(from, to, err);
        free(from);
        free(to);
    }
    free(ptext);
    const sp_json_value *langs = status ? NULL : sp_json_get(pj, "languages");
    const sp_json_value *models = status ? NULL : sp_json_get(pj, "models");
    const sp_json_value *seeds = status ? NULL : sp_json_get(pj, "seeds");
    const sp_json_value *cons = status ? NULL : sp_json_get(pj, "constructions");
    bool all = true;
    for (size_t l = 0; langs && l < langs->n && !status; l++) {
        const char *data = str_of(langs->items[l], "dataset");
        for (size_t i = 0; data && i < ndirs && !status; i++) {
            char *from = sp_path_join(dirs[i], data), *to = sp_path_join(out_dir, data);
            char *mf = sp_path_join(from, "manifest.json"), *out_mf = sp_path_join(to, "manifest.json");
            if (sp_path_exists(mf) && !sp_path_exists(out_mf)) {
                /* the manifest last: a dataset without one is made again */
                status = copy_tree(from, to, "manifest.json", err);
                if (!status) status = sp_copy_file(mf, out_mf, err);
            }
            free(mf);
            free(out_mf);
            free(from);
            free(to);
        }
        for (size_t m = 0; m < models->n && !status; m++)
            for (size_t k = 0; k < seeds->n && !status; k++) {
                sp_strbuf rel;
                sp_strbuf_init(&rel);
                sp_strbuf_printf(&rel, "cells/%s/%s/seed-%lld", str_of(langs->items[l], "id"),
                                 str_of(models->items[m], "name"), seeds->items[k]->integer);
                bool done;
                status = merge_unit(dirs, ndirs, out_dir, rel.buf, "cell.json", true, &done, err);
                s->cells++;
                s->finished += done;
                all &= done;
                sp_strbuf_free(&rel);
            }
    }
    for (size_t j = 0; cons && j < cons->n && !status; j++) {
        const sp_json_value *lang = sp_json_get(cons->items[j], "language");
        if (!lang || lang->type != SP_JSON_STRING) continue;
        sp_strbuf rel;
        sp_strbuf_init(&rel);
        sp_strbuf_printf(&rel, "constructions/%s.json", str_of(cons->items[j], "id"));
        bool done;
        status = merge_unit(dirs, ndirs, out_dir, rel.buf, NULL, false, &done, err);
        all &= done;
        sp_strbuf_free(&rel);
    }
    sp_json_free(pj);
    if (!status) {
        sp_report_info info;
        status = sp_report_write(out_dir, &info, err);
        s->reported = !status && all;
    }
    if (!status) status = run_write_manifest(out_dir, wall, err);
    return status;
}
