/* The runner's files outside the cells: the languages and constructions loaded once, the
 * datasets (keyed by the grammar's bytes and the data options), probe.yaml, probe.json and
 * manifest.json (docs/results.md). */
/* realpath(3) */
#define _DEFAULT_SOURCE
#include "run_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"
#include "satprobe/sha256.h"
#include "sp_config.h"
#include "sp_revision.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* "grammars/dyck-1.yaml" -> "dyck-1" */
static char *stem(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 5 && !strcmp(b + n - 5, ".yaml")) n -= 5;
    else if (n > 4 && !strcmp(b + n - 4, ".yml")) n -= 4;
    char *s = sp_malloc(n + 1, 1);
    memcpy(s, b, n);
    s[n] = '\0';
    return s;
}

/* Every option that shapes the dataset, in a fixed text form: part of the cache key. */
static void data_key(const sp_gen_options *o, sp_strbuf *sb)
{
    sp_strbuf_printf(sb, "task %s format %s train %zu lengths %zu:%zu per_bin %zu seed %lu",
                     sp_gen_task_name(o->task), sp_gen_format_name(o->format), o->train,
                     o->train_lengths.lo, o->train_lengths.hi, o->per_bin, o->seed);
    sp_strbuf_printf(sb, " near_miss %.17g dist %s bins", o->near_miss,
                     sp_gen_length_dist_name(o->length_dist));
    for (size_t b = 0; b < o->nbins; b++) sp_strbuf_printf(sb, " %zu:%zu", o->bins[b].lo, o->bins[b].hi);
    sp_strbuf_puts(sb, "\n");
}

static int load_lang(run_ctx *c, size_t i, sp_error *err)
{
    run_lang *L = &c->langs[i];
    L->path = sp_strdup(c->p->languages[i]);
    L->id = stem(L->path);
    for (size_t j = 0; j < i; j++)
        if (!strcmp(c->langs[j].id, L->id))
            return sp_error_set(err, SP_EINPUT, L->path, 0, 0,
                                "the probe's languages %s and %s have the same name '%s'; the "
                                "results directory needs one per language",
                                c->langs[j].path, L->path, L->id);
    int status = sp_lang_load(L->path, &L->lang, err);
    if (!status) status = sp_sha256_file(L->path, L->sha, err);
    if (status) return status;
    sp_strbuf key;
    sp_strbuf_init(&key);
    sp_strbuf_printf(&key, "grammar %s\n", L->sha);
    data_key(&c->p->data, &key);
    char hex[65];
    sp_sha256_hex(key.buf, key.len, hex);
    sp_strbuf_clear(&key);
    sp_strbuf_printf(&key, "data/%s-%.16s", L->id, hex);
    L->data_rel = key.buf;
    L->data_dir = sp_path_join(c->out_dir, L->data_rel);
    return SP_OK;
}

static int load_cons(run_ctx *c, size_t j, sp_error *err)
{
    run_cons *rc = &c->cons[j];
    rc->path = sp_strdup(c->p->constructions[j]);
    rc->id = stem(rc->path);
    rc->language = -1;
    for (size_t k = 0; k < j; k++)
        if (!strcmp(c->cons[k].id, rc->id))
            return sp_error_set(err, SP_EINPUT, rc->path, 0, 0,
                                "the probe's constructions %s and %s have the same name '%s'",
                                c->cons[k].path, rc->path, rc->id);
    int status = sp_construction_load(rc->path, &rc->c, err);
    if (status) return status;
    char want[PATH_MAX], have[PATH_MAX];
    if (!realpath(rc->c->language, want)) return SP_OK;
    for (size_t i = 0; i < c->p->nlanguages; i++)
        if (realpath(c->langs[i].path, have) && !strcmp(want, have)) rc->language = (long)i;
    return SP_OK;
}

int run_ctx_init(run_ctx *c, const sp_probe *p, const char *out_dir, const char *source_dir,
                 sp_error *err)
{
    memset(c, 0, sizeof *c);
    c->p = p;
    c->out_dir = out_dir;
    c->source_dir = source_dir;
    c->langs = sp_calloc(p->nlanguages, sizeof *c->langs);
    c->cons = sp_calloc(p->nconstructions ? p->nconstructions : 1, sizeof *c->cons);
    int status = SP_OK;
    for (size_t i = 0; i < p->nlanguages && !status; i++) status = load_lang(c, i, err);
    for (size_t j = 0; j < p->nconstructions && !status; j++) status = load_cons(c, j, err);
    if (status) run_ctx_free(c);
    return status;
}

void run_ctx_free(run_ctx *c)
{
    if (c->langs)
        for (size_t i = 0; i < c->p->nlanguages; i++) {
            run_lang *L = &c->langs[i];
            free(L->id);
            free(L->path);
            sp_lang_destroy(L->lang);
            free(L->data_dir);
            free(L->data_rel);
        }
    if (c->cons)
        for (size_t j = 0; j < c->p->nconstructions; j++) {
            free(c->cons[j].id);
            free(c->cons[j].path);
            sp_construction_destroy(c->cons[j].c);
        }
    free(c->langs);
    free(c->cons);
    c->langs = NULL;
    c->cons = NULL;
}

int run_dataset(run_ctx *c, size_t i, FILE *log, sp_error *err)
{
    run_lang *L = &c->langs[i];
    char *mf = sp_path_join(L->data_dir, "manifest.json");
    bool have = sp_path_exists(mf);
    int status = SP_OK;
    if (!have) {
        char *parent = sp_path_join(c->out_dir, "data");
        status = sp_mkdirs(parent, err);
        free(parent);
        if (log) fprintf(log, "dataset %s: generating %s\n", L->id, L->data_rel);
        sp_gen_options g = c->p->data;
        g.force = false;
        g.progress = false;
        g.log = log;
        sp_gen_summary gs;
        if (!status) status = sp_gen_run(L->lang, L->sha, L->data_dir, &g, &gs, err);
        /* another shard writing into the same directory may have made it meanwhile */
        if (status && sp_path_exists(mf)) status = SP_OK;
    }
    free(mf);
    return status;
}

/* A path as probe.json shows it: relative to the source tree when inside it. */
static const char *shown(const run_ctx *c, const char *path)
{
    size_t n = c->source_dir ? strlen(c->source_dir) : 0;
    if (n && !strncmp(path, c->source_dir, n) && path[n] == '/') return path + n + 1;
    return path;
}

static void train_json(sp_json_writer *w, const sp_train_options *o)
{
    sp_json_object_begin_inline(w);
    sp_json_key(w, "steps");
    sp_json_uint(w, o->steps);
    sp_json_key(w, "batch");
    sp_json_uint(w, o->batch);
    sp_json_key(w, "optimizer");
    sp_json_string(w, sp_opt_kind_name(o->optim.kind));
    sp_json_key(w, "lr");
    sp_json_double(w, o->optim.lr);
    sp_json_key(w, "weight_decay");
    sp_json_double(w, o->optim.weight_decay);
    sp_json_key(w, "schedule");
    sp_json_string(w, sp_sched_kind_name(o->optim.schedule));
    sp_json_key(w, "warmup");
    sp_json_uint(w, o->optim.warmup);
    sp_json_key(w, "patience");
    sp_json_uint(w, o->patience);
    sp_json_key(w, "val_every");
    sp_json_uint(w, o->val_every);
    sp_json_object_end(w);
}

static void probe_json(const run_ctx *c, sp_strbuf *sb)
{
    const sp_probe *p = c->p;
    sp_json_writer w;
    sp_json_writer_init(&w, sb, true);
    sp_json_object_begin(&w);
    sp_json_key(&w, "name");
    sp_json_string(&w, p->name);
    char hex[65];
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", p->sha256[i]);
    sp_json_key(&w, "sha256");
    sp_json_string(&w, hex);
    sp_json_key(&w, "task");
    sp_json_string(&w, sp_gen_task_name(p->data.task));
    sp_json_key(&w, "train_size");
    sp_json_uint(&w, p->data.train);
    sp_json_key(&w, "train_lengths");
    sp_json_array_begin_inline(&w);
    sp_json_uint(&w, p->data.train_lengths.lo);
    sp_json_uint(&w, p->data.train_lengths.hi);
    sp_json_array_end(&w);
    sp_json_key(&w, "test_size");
    sp_json_uint(&w, p->data.per_bin);
    sp_json_key(&w, "data_seed");
    sp_json_uint(&w, p->data.seed);
    sp_json_key(&w, "bins");
    sp_json_array_begin(&w);
    for (size_t b = 0; b < p->data.nbins; b++) {
        char split[64];
        snprintf(split, sizeof split, "test-%zu-%zu", p->data.bins[b].lo, p->data.bins[b].hi);
        sp_json_object_begin_inline(&w);
        sp_json_key(&w, "split");
        sp_json_string(&w, split);
        sp_json_key(&w, "lo");
        sp_json_uint(&w, p->data.bins[b].lo);
        sp_json_key(&w, "hi");
        sp_json_uint(&w, p->data.bins[b].hi);
        sp_json_object_end(&w);
    }
    sp_json_array_end(&w);
    sp_json_key(&w, "languages");
    sp_json_array_begin(&w);
    for (size_t i = 0; i < p->nlanguages; i++) {
        const run_lang *L = &c->langs[i];
        sp_json_object_begin_inline(&w);
        sp_json_key(&w, "id");
        sp_json_string(&w, L->id);
        sp_json_key(&w, "path");
        sp_json_string(&w, shown(c, L->path));
        sp_json_key(&w, "name");
        sp_json_string(&w, sp_lang_name(L->lang));
        sp_json_key(&w, "kind");
        sp_json_string(&w, sp_lang_kind_name(sp_lang_get_kind(L->lang)));
        sp_json_key(&w, "class");
        sp_json_string(&w, sp_lang_class_name(sp_lang_get_class(L->lang)));
        sp_json_key(&w, "description");
        sp_json_string(&w, sp_lang_description(L->lang));
        sp_json_key(&w, "dataset");
        sp_json_string(&w, L->data_rel);
        sp_json_object_end(&w);
    }
    sp_json_array_end(&w);
    sp_json_key(&w, "models");
    sp_json_array_begin(&w);
    for (size_t i = 0; i < p->nmodels; i++) {
        sp_strbuf cfg;
        sp_strbuf_init(&cfg);
        sp_config_to_json(&p->models[i].config, &cfg);
        sp_json_object_begin(&w);
        sp_json_key(&w, "name");
        sp_json_string(&w, p->models[i].name);
        sp_json_key(&w, "config");
        sp_json_raw(&w, cfg.buf, cfg.len);
        sp_json_key(&w, "train");
        train_json(&w, &p->models[i].train);
        sp_json_object_end(&w);
        sp_strbuf_free(&cfg);
    }
    sp_json_array_end(&w);
    sp_json_key(&w, "seeds");
    sp_json_array_begin_inline(&w);
    for (size_t i = 0; i < p->nseeds; i++) sp_json_uint(&w, p->seeds[i]);
    sp_json_array_end(&w);
    sp_json_key(&w, "modes");
    run_json_modes(&w, p->modes, p->nmodes);
    sp_json_key(&w, "analysis");
    sp_json_array_begin_inline(&w);
    for (unsigned a = 1; a <= SP_ANALYSIS_HEADS; a <<= 1)
        if (p->analysis & a) sp_json_string(&w, sp_probe_analysis_name((sp_probe_analysis)a));
    sp_json_array_end(&w);
    sp_json_key(&w, "constructions");
    sp_json_array_begin(&w);
    for (size_t j = 0; j < p->nconstructions; j++) {
        const run_cons *rc = &c->cons[j];
        sp_json_object_begin_inline(&w);
        sp_json_key(&w, "id");
        sp_json_string(&w, rc->id);
        sp_json_key(&w, "path");
        sp_json_string(&w, shown(c, rc->path));
        sp_json_key(&w, "language");
        if (rc->language >= 0) sp_json_string(&w, c->langs[rc->language].id);
        else sp_json_null(&w);
        sp_json_key(&w, "claims");
        run_json_modes(&w, rc->c->claims, rc->c->nclaims);
        sp_json_object_end(&w);
    }
    sp_json_array_end(&w);
    sp_json_key(&w, "cells");
    sp_json_uint(&w, sp_probe_cell_count(p));
    sp_json_object_end(&w);
    sp_strbuf_putc(sb, '\n');
}

/* Whether dir holds anything besides . and .. */
static bool non_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return false;
    struct dirent *e;
    bool any = false;
    while (!any && (e = readdir(d))) any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return any;
}

int run_write_probe(const run_ctx *c, const char *probe_path, bool force, sp_error *err)
{
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    probe_json(c, &sb);
    char *path = sp_path_join(c->out_dir, "probe.json"), *old = NULL;
    size_t len = 0;
    int status = SP_OK;
    if (sp_path_exists(path)) {
        sp_error e;
        if (sp_read_file(path, (size_t)1 << 26, &old, &len, &e)) len = 0;
    }
    bool same = old && len == sb.len && !memcmp(old, sb.buf, len);
    if (!same && old && !force)
        status = sp_error_set(err, SP_EINPUT, c->out_dir, 0, 0,
                              "holds the results of another probe (or of this probe before it "
                              "changed); give another -o, or --force to replace them");
    else if (!same && old)
        sp_remove_tree(c->out_dir);
    else if (!same && non_empty(c->out_dir))
        /* never delete a directory that is not a probe's results, --force or not */
        status = sp_error_set(err, SP_EINPUT, c->out_dir, 0, 0,
                              "is not empty and holds no probe's results (no probe.json); give a "
                              "new or empty directory");
    if (!status) status = sp_mkdirs(c->out_dir, err);
    if (!status && !same) status = sp_write_file_atomic(path, sb.buf, sb.len, err);
    if (!status) {
        char *copy = sp_path_join(c->out_dir, "probe.yaml");
        status = sp_copy_file(probe_path, copy, err);
        free(copy);
    }
    free(old);
    free(path);
    sp_strbuf_free(&sb);
    return status;
}

/* Seconds of one cell from its cell.time.json (0 when absent). */
static double cell_seconds(const char *dir)
{
    char *path = sp_path_join(dir, "cell.time.json");
    sp_error e;
    sp_json_value *v;
    double s = 0;
    if (!sp_json_load(path, 4096, &v, &e)) {
        const sp_json_value *a = sp_json_get(v, "train_seconds"), *b = sp_json_get(v, "eval_seconds");
        if (a && a->type == SP_JSON_NUMBER) s += a->number;
        if (b && b->type == SP_JSON_NUMBER) s += b->number;
        sp_json_free(v);
    }
    free(path);
    return s;
}

int run_write_manifest(const char *out_dir, double wall_seconds, sp_error *err)
{
    char *ppath = sp_path_join(out_dir, "probe.json");
    sp_json_value *pj;
    int status = sp_json_load(ppath, (size_t)1 << 26, &pj, err);
    free(ppath);
    if (status) return status;
    const sp_json_value *langs = sp_json_get(pj, "languages"), *models = sp_json_get(pj, "models"),
                        *seeds = sp_json_get(pj, "seeds");
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_json_writer w;
    sp_json_writer_init(&w, &sb, true);
    sp_json_object_begin(&w);
    sp_json_key(&w, "satprobe_version");
    sp_json_string(&w, SP_VERSION);
    sp_json_key(&w, "git_revision");
    sp_json_string(&w, SP_REVISION);
    sp_json_key(&w, "probe");
    sp_json_string(&w, sp_json_get(pj, "name")->str);
    sp_json_key(&w, "probe_sha256");
    sp_json_string(&w, sp_json_get(pj, "sha256")->str);
    sp_json_key(&w, "data_seed");
    sp_json_uint(&w, (unsigned long long)sp_json_get(pj, "data_seed")->integer);
    sp_json_key(&w, "seeds");
    sp_json_array_begin_inline(&w);
    for (size_t i = 0; i < seeds->n; i++) sp_json_uint(&w, (unsigned long long)seeds->items[i]->integer);
    sp_json_array_end(&w);
    sp_json_key(&w, "wall_seconds");
    sp_json_double(&w, wall_seconds);
    /* every finished cell's own time, whichever run or shard did it */
    double total = 0;
    size_t finished = 0, cells = 0;
    sp_json_key(&w, "cells");
    sp_json_array_begin(&w);
    for (size_t l = 0; l < langs->n; l++)
        for (size_t m = 0; m < models->n; m++)
            for (size_t s = 0; s < seeds->n; s++) {
                sp_strbuf d;
                sp_strbuf_init(&d);
                sp_strbuf_printf(&d, "%s/cells/%s/%s/seed-%lld", out_dir,
                                 sp_json_get(langs->items[l], "id")->str,
                                 sp_json_get(models->items[m], "name")->str, seeds->items[s]->integer);
                char *cj = sp_path_join(d.buf, "cell.json");
                bool done = sp_path_exists(cj);
                double secs = cell_seconds(d.buf);
                cells++;
                finished += done;
                total += secs;
                sp_json_object_begin_inline(&w);
                sp_json_key(&w, "cell");
                sp_json_string(&w, d.buf + strlen(out_dir) + 1);
                sp_json_key(&w, "finished");
                sp_json_bool(&w, done);
                sp_json_key(&w, "seconds");
                sp_json_double(&w, secs);
                sp_json_object_end(&w);
                free(cj);
                sp_strbuf_free(&d);
            }
    sp_json_array_end(&w);
    sp_json_key(&w, "cell_seconds");
    sp_json_double(&w, total);
    sp_json_key(&w, "finished");
    sp_json_uint(&w, finished);
    sp_json_key(&w, "total");
    sp_json_uint(&w, cells);
    sp_json_object_end(&w);
    sp_strbuf_putc(&sb, '\n');
    char *path = sp_path_join(out_dir, "manifest.json");
    status = sp_write_file_atomic(path, sb.buf, sb.len, err);
    free(path);
    sp_strbuf_free(&sb);
    sp_json_free(pj);
    return status;
}
