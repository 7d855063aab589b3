/* Probe specs: the reader of probes/NAME.yaml, its defaults, glob expansion and line:col errors. */
#include "satprobe/probe.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"
#include "satprobe/sha256.h"
#include "satprobe/yaml.h"

#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Integers the trainer counts in uint64_t; the CLI takes the same bound. */
#define MAX_STEPS ((long)1 << 40)
#define MAX_BATCH 65536

static const char *const analysis_names[] = {"norms", "saturation", "heads"};

const char *sp_probe_analysis_name(sp_probe_analysis a)
{
    for (size_t i = 0; i < 3; i++)
        if (a == 1u << i) return analysis_names[i];
    SP_ASSERT(!"not a single analysis bit");
    return "";
}

static void free_strings(char **s, size_t n)
{
    for (size_t i = 0; i < n; i++) free(s[i]);
    free(s);
}

void sp_probe_destroy(sp_probe *p)
{
    if (!p) return;
    free(p->name);
    free_strings(p->languages, p->nlanguages);
    for (size_t i = 0; i < p->nmodels; i++) {
        free(p->models[i].name);
        sp_config_free(&p->models[i].config);
    }
    free(p->models);
    free(p->seeds);
    free(p->modes);
    free_strings(p->constructions, p->nconstructions);
    free(p);
}

/* ---- scalars ---- */

/* The value of an optional key; a null value counts as absent, so that `data:` with every
 * entry commented out means the defaults. */
static const sp_yaml_node *optional(const sp_yaml_node *map, const char *key)
{
    const sp_yaml_node *v = sp_yaml_get(map, key);
    return sp_yaml_is_null(v) ? NULL : v;
}

static int read_map(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what,
                    const char *const *keys, sp_error *err)
{
    if (sp_yaml_expect(doc, node, SP_YAML_MAP, what, err)) return SP_EINPUT;
    return sp_yaml_check_keys(doc, node, keys, what, err);
}

/* A name that becomes a directory: [A-Za-z0-9_-]+, so never "." or "..". */
static int read_name(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what, char **out,
                     sp_error *err)
{
    const char *s;
    if (sp_yaml_string(doc, node, what, &s, err)) return SP_EINPUT;
    size_t n = strlen(s);
    if (n == 0 || n > SP_PROBE_MAX_NAME)
        return sp_yaml_error(err, doc, node, "%s must have 1 to %d characters", what,
                             SP_PROBE_MAX_NAME);
    size_t bad = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
    if (bad < n)
        return sp_yaml_error_at(err, doc, node, bad,
                                "%s '%s' may only use letters, digits, '_' and '-'", what, s);
    *out = sp_strdup(s);
    return SP_OK;
}

static int read_int(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what, long lo,
                    long hi, uint64_t *out, sp_error *err)
{
    long v;
    if (sp_yaml_int(doc, node, what, lo, hi, &v, err)) return SP_EINPUT;
    *out = (uint64_t)v;
    return SP_OK;
}

/* [lo, hi] with 0 <= lo <= hi <= SP_LANG_MAX_LENGTH. */
static int read_range(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what,
                      sp_range *out, sp_error *err)
{
    if (node->type != SP_YAML_SEQ || node->n != 2)
        return sp_yaml_error(err, doc, node, "%s must be a list [lo, hi] of two lengths", what);
    if (sp_yaml_size(doc, node->items[0], what, 0, SP_LANG_MAX_LENGTH, &out->lo, err) ||
        sp_yaml_size(doc, node->items[1], what, 0, SP_LANG_MAX_LENGTH, &out->hi, err))
        return SP_EINPUT;
    if (out->lo > out->hi)
        return sp_yaml_error(err, doc, node, "%s [%zu, %zu] is inverted: lo must not exceed hi",
                             what, out->lo, out->hi);
    return SP_OK;
}

/* ---- paths ---- */

typedef struct path_list {
    char **items;
    size_t n, cap;
} path_list;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* base_dir/pattern with base_dir's glob metacharacters escaped, so that only the user's pattern
 * is a pattern; absolute patterns and a NULL or empty base are taken as written. */
static char *join_pattern(const char *base_dir, const char *pattern)
{
    if (!base_dir || !base_dir[0] || pattern[0] == '/') return sp_strdup(pattern);
    size_t nb = strlen(base_dir), np = strlen(pattern), used = 0;
    while (nb > 1 && base_dir[nb - 1] == '/') nb--; /* "dir/" gives dir/x, not dir//x */
    char *s = sp_malloc(2 * nb + np + 2, 1);
    for (size_t i = 0; i < nb; i++) {
        if (strchr("*?[\\", base_dir[i])) s[used++] = '\\';
        s[used++] = base_dir[i];
    }
    if (!used || s[used - 1] != '/') s[used++] = '/';
    memcpy(s + used, pattern, np + 1);
    return s;
}

/* Expand one entry into l; directories do not count as matches. */
static int expand(path_list *l, const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what,
                  const char *base_dir, sp_error *err)
{
    const char *s;
    if (sp_yaml_string(doc, node, what, &s, err)) return SP_EINPUT;
    if (!s[0]) return sp_yaml_error(err, doc, node, "%s: a path must not be empty", what);
    char *pattern = join_pattern(base_dir, s);
    glob_t g;
    int rc = glob(pattern, GLOB_MARK, NULL, &g);
    if (rc == GLOB_NOSPACE) sp_panic(__FILE__, __LINE__, "out of memory in glob()");
    size_t found = 0;
    if (rc == 0)
        for (size_t i = 0; i < g.gl_pathc; i++) {
            size_t n = strlen(g.gl_pathv[i]);
            if (n && g.gl_pathv[i][n - 1] == '/') continue;
            SP_GROW(l->items, l->cap, l->n + 1);
            l->items[l->n++] = sp_strdup(g.gl_pathv[i]);
            found++;
        }
    globfree(&g);
    free(pattern);
    if (found) return SP_OK;
    if (base_dir && base_dir[0] && s[0] != '/')
        return sp_yaml_error(err, doc, node, "%s: '%s' matches no file in %s", what, s, base_dir);
    return sp_yaml_error(err, doc, node, "%s: '%s' matches no file", what, s);
}

/* A list of paths or globs, expanded, sorted and de-duplicated. */
static int read_paths(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what,
                      const char *base_dir, bool nonempty, char ***out, size_t *nout, sp_error *err)
{
    if (sp_yaml_expect(doc, node, SP_YAML_SEQ, what, err)) return SP_EINPUT;
    if (nonempty && node->n == 0)
        return sp_yaml_error(err, doc, node, "%s must not be empty", what);
    path_list l = {0};
    for (size_t i = 0; i < node->n; i++)
        if (expand(&l, doc, node->items[i], what, base_dir, err)) {
            free_strings(l.items, l.n);
            return SP_EINPUT;
        }
    if (l.n) qsort(l.items, l.n, sizeof *l.items, cmp_str);
    size_t kept = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (kept && !strcmp(l.items[kept - 1], l.items[i]))
            free(l.items[i]);
        else
            l.items[kept++] = l.items[i];
    }
    *out = l.items;
    *nout = kept;
    return SP_OK;
}

/* ---- sections ---- */

static int read_data(sp_gen_options *o, const sp_yaml_doc *doc, const sp_yaml_node *map,
                     sp_error *err)
{
    static const char *const keys[] = {"task", "train", "test", "seed", NULL};
    static const char *const train_keys[] = {"size", "lengths", NULL};
    static const char *const test_keys[] = {"bins", "size", NULL};
    static const char *const tasks[] = {"recognize", "predict", "both"};
    if (read_map(doc, map, "data", keys, err)) return SP_EINPUT;
    const sp_yaml_node *v, *sec, *train_size = NULL, *test_size = NULL;
    int e;
    if ((v = optional(map, "task"))) {
        if (sp_yaml_enum(doc, v, "data.task", tasks, 3, &e, err)) return SP_EINPUT;
        o->task = (sp_gen_task)e;
    }
    if ((sec = optional(map, "train"))) {
        if (read_map(doc, sec, "data.train", train_keys, err)) return SP_EINPUT;
        if ((train_size = optional(sec, "size")) &&
            sp_yaml_size(doc, train_size, "data.train.size", 1, SP_GEN_MAX_STRINGS, &o->train, err))
            return SP_EINPUT;
        if ((v = optional(sec, "lengths")) &&
            read_range(doc, v, "data.train.lengths", &o->train_lengths, err))
            return SP_EINPUT;
    }
    if ((sec = optional(map, "test"))) {
        if (read_map(doc, sec, "data.test", test_keys, err)) return SP_EINPUT;
        if ((test_size = optional(sec, "size")) &&
            sp_yaml_size(doc, test_size, "data.test.size", 1, SP_GEN_MAX_STRINGS, &o->per_bin, err))
            return SP_EINPUT;
        if ((v = optional(sec, "bins"))) {
            if (sp_yaml_expect(doc, v, SP_YAML_SEQ, "data.test.bins", err)) return SP_EINPUT;
            if (v->n < 1 || v->n > SP_GEN_MAX_BINS)
                return sp_yaml_error(err, doc, v, "data.test.bins must list 1 to %d bins",
                                     SP_GEN_MAX_BINS);
            for (size_t i = 0; i < v->n; i++)
                if (read_range(doc, v->items[i], "data.test.bins entry", &o->bins[i], err))
                    return SP_EINPUT;
            o->nbins = v->n;
        }
    }
    if ((v = optional(map, "seed"))) {
        uint64_t seed;
        if (read_int(doc, v, "data.seed", 0, LONG_MAX, &seed, err)) return SP_EINPUT;
        o->seed = (unsigned long)seed;
    }
    /* the generator pairs every positive with a negative of the same length */
    if (o->task != SP_TASK_PREDICT) {
        if (o->train % 2)
            return sp_yaml_error(err, doc, train_size,
                                 "data.train.size must be even (as many negatives as "
                                 "positives) unless the task is predict, not %zu",
                                 o->train);
        if (o->per_bin % 2)
            return sp_yaml_error(err, doc, test_size,
                                 "data.test.size must be even (as many negatives as "
                                 "positives) unless the task is predict, not %zu",
                                 o->per_bin);
    }
    return SP_OK;
}

static int read_train(sp_train_options *o, const sp_yaml_doc *doc, const sp_yaml_node *map,
                      sp_error *err)
{
    static const char *const keys[] = {"steps", "batch", "optimizer", "lr", "weight_decay",
                                       "schedule", "warmup", "patience", "val_every", NULL};
    if (read_map(doc, map, "train", keys, err)) return SP_EINPUT;
    const sp_yaml_node *v;
    sp_error e2;
    if ((v = optional(map, "steps")) &&
        read_int(doc, v, "train.steps", 1, MAX_STEPS, &o->steps, err))
        return SP_EINPUT;
    if ((v = optional(map, "batch")) &&
        sp_yaml_size(doc, v, "train.batch", 1, MAX_BATCH, &o->batch, err))
        return SP_EINPUT;
    if ((v = optional(map, "warmup")) &&
        read_int(doc, v, "train.warmup", 0, MAX_STEPS, &o->optim.warmup, err))
        return SP_EINPUT;
    if ((v = optional(map, "patience")) &&
        read_int(doc, v, "train.patience", 0, MAX_STEPS, &o->patience, err))
        return SP_EINPUT;
    if ((v = optional(map, "val_every")) &&
        read_int(doc, v, "train.val_every", 1, MAX_STEPS, &o->val_every, err))
        return SP_EINPUT;
    const char *s;
    if ((v = optional(map, "optimizer"))) {
        if (sp_yaml_string(doc, v, "train.optimizer", &s, err)) return SP_EINPUT;
        if (sp_opt_kind_parse(s, &o->optim.kind, &e2))
            return sp_yaml_error(err, doc, v, "train.%s", e2.msg);
    }
    if ((v = optional(map, "schedule"))) {
        if (sp_yaml_string(doc, v, "train.schedule", &s, err)) return SP_EINPUT;
        if (sp_sched_kind_parse(s, &o->optim.schedule, &e2))
            return sp_yaml_error(err, doc, v, "train.%s", e2.msg);
    }
    if ((v = optional(map, "lr"))) {
        if (sp_yaml_number(doc, v, "train.lr", &o->optim.lr, err)) return SP_EINPUT;
        if (!(o->optim.lr > 0))
            return sp_yaml_error(err, doc, v, "train.lr must be > 0, not %g", o->optim.lr);
    }
    if ((v = optional(map, "weight_decay"))) {
        if (sp_yaml_number(doc, v, "train.weight_decay", &o->optim.weight_decay, err))
            return SP_EINPUT;
        if (!(o->optim.weight_decay >= 0))
            return sp_yaml_error(err, doc, v, "train.weight_decay must be >= 0, not %g",
                                 o->optim.weight_decay);
    }
    /* the cosine schedule ends at the last step, as `satprobe train` sets it */
    o->optim.total = o->steps;
    if (sp_optim_config_check(&o->optim, &e2)) {
        const sp_yaml_node *at =
            optional(map, "warmup") ? optional(map, "warmup") : optional(map, "schedule");
        return sp_yaml_error(err, doc, at ? at : map, "train: %s", e2.msg);
    }
    return SP_OK;
}

/* A model's `train` is read over the probe's, so it states only what differs. */
static int read_model(sp_probe_model *m, const sp_train_options *train, const sp_yaml_doc *doc,
                      const sp_yaml_node *map, sp_error *err)
{
    static const char *const keys[] = {"name", "config", "train", NULL};
    if (read_map(doc, map, "a model", keys, err)) return SP_EINPUT;
    const sp_yaml_node *v;
    if (sp_yaml_require(doc, map, "name", &v, err) ||
        read_name(doc, v, "model name", &m->name, err))
        return SP_EINPUT;
    m->train = *train;
    if ((v = optional(map, "train")) && read_train(&m->train, doc, v, err)) return SP_EINPUT;
    if (!(v = optional(map, "config"))) return SP_OK;
    if (sp_yaml_expect(doc, v, SP_YAML_MAP, "config", err)) return SP_EINPUT;
    const sp_yaml_node *a = sp_yaml_get(v, "alphabet");
    if (a)
        return sp_yaml_error(err, doc, a,
                             "a probe's model takes each language's alphabet; leave it out");
    if (!sp_config_from_yaml(&m->config, doc, v, err)) return SP_OK;
    /* sp_config_check's messages carry the position in the file name; put it where it belongs */
    return err->line ? SP_EINPUT : sp_yaml_error(err, doc, v, "%s", err->msg);
}

/* A model must have a head the data can train: next-symbol sets exist only with task predict or
 * both, labels only with recognize or both; and every string must fit in max_len. */
static int check_model(const sp_probe_model *m, const sp_gen_options *o, const sp_yaml_doc *doc,
                       const sp_yaml_node *map, sp_error *err)
{
    const sp_yaml_node *cfg = optional(map, "config"), *at = cfg ? cfg : map, *v;
    const sp_model_config *c = &m->config;
    if ((c->heads_out == SP_OUT_PREDICT && o->task == SP_TASK_RECOGNIZE) ||
        (c->heads_out == SP_OUT_RECOGNIZE && o->task == SP_TASK_PREDICT)) {
        if (cfg && (v = sp_yaml_get(cfg, "heads_out"))) at = v;
        return sp_yaml_error(err, doc, at,
                             "model '%s': heads_out %s cannot be trained on data.task %s", m->name,
                             sp_heads_out_name(c->heads_out), sp_gen_task_name(o->task));
    }
    size_t longest = o->train_lengths.hi;
    for (size_t i = 0; i < o->nbins; i++)
        if (o->bins[i].hi > longest) longest = o->bins[i].hi;
    if (longest > sp_config_max_string(c)) {
        if (cfg && (v = sp_yaml_get(cfg, "max_len"))) at = v;
        return sp_yaml_error(err, doc, at,
                             "model '%s': max_len %zu takes strings of up to %zu symbols, "
                             "but the data goes up to length %zu",
                             m->name, c->max_len, sp_config_max_string(c), longest);
    }
    return SP_OK;
}

static int read_models(sp_probe *p, const sp_yaml_doc *doc, const sp_yaml_node *node, sp_error *err)
{
    if (sp_yaml_expect(doc, node, SP_YAML_SEQ, "models", err)) return SP_EINPUT;
    if (node->n == 0) return sp_yaml_error(err, doc, node, "models must not be empty");
    p->models = sp_calloc(node->n, sizeof *p->models);
    p->nmodels = node->n;
    for (size_t i = 0; i < node->n; i++) sp_config_init(&p->models[i].config);
    for (size_t i = 0; i < node->n; i++) {
        if (read_model(&p->models[i], &p->train, doc, node->items[i], err)) return SP_EINPUT;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(p->models[j].name, p->models[i].name))
                return sp_yaml_error(err, doc, sp_yaml_get(node->items[i], "name"),
                                     "model name '%s' is used twice (first at line %d)",
                                     p->models[i].name, node->items[j]->line);
        if (check_model(&p->models[i], &p->data, doc, node->items[i], err)) return SP_EINPUT;
    }
    return SP_OK;
}

static int read_seeds(sp_probe *p, const sp_yaml_doc *doc, const sp_yaml_node *node, sp_error *err)
{
    if (sp_yaml_expect(doc, node, SP_YAML_SEQ, "seeds", err)) return SP_EINPUT;
    if (node->n == 0) return sp_yaml_error(err, doc, node, "seeds must not be empty");
    p->seeds = sp_malloc(node->n, sizeof *p->seeds);
    for (size_t i = 0; i < node->n; i++) {
        uint64_t s;
        if (read_int(doc, node->items[i], "a seed", 0, LONG_MAX, &s, err)) return SP_EINPUT;
        for (size_t j = 0; j < i; j++)
            if (p->seeds[j] == s)
                return sp_yaml_error(err, doc, node->items[i], "seed %lu is listed twice",
                                     (unsigned long)s);
        p->seeds[p->nseeds++] = (unsigned long)s;
    }
    return SP_OK;
}

static int read_modes(sp_probe *p, const sp_yaml_doc *doc, const sp_yaml_node *node, sp_error *err)
{
    if (sp_yaml_expect(doc, node, SP_YAML_SEQ, "modes", err)) return SP_EINPUT;
    if (node->n == 0) return sp_yaml_error(err, doc, node, "modes must not be empty");
    p->modes = sp_malloc(node->n, sizeof *p->modes);
    for (size_t i = 0; i < node->n; i++) {
        const char *s;
        sp_error e2;
        sp_mode *m = &p->modes[i];
        if (sp_yaml_string(doc, node->items[i], "a mode", &s, err)) return SP_EINPUT;
        if (sp_mode_parse(s, SP_TIE_TOLERANCE, m, &e2))
            return sp_yaml_error(err, doc, node->items[i], "%s", e2.msg);
        /* scaled:1000 and scaled:1e3 are the same mode */
        for (size_t j = 0; j < i; j++)
            if (p->modes[j].kind == m->kind && p->modes[j].scale == m->scale)
                return sp_yaml_error(err, doc, node->items[i], "mode '%s' is listed twice", s);
        p->nmodes = i + 1;
    }
    return SP_OK;
}

static int read_analysis(sp_probe *p, const sp_yaml_doc *doc, const sp_yaml_node *node,
                         sp_error *err)
{
    if (sp_yaml_expect(doc, node, SP_YAML_SEQ, "analysis", err)) return SP_EINPUT;
    p->analysis = 0;
    for (size_t i = 0; i < node->n; i++) {
        int a;
        if (sp_yaml_enum(doc, node->items[i], "an analysis", analysis_names, 3, &a, err))
            return SP_EINPUT;
        if (p->analysis & 1u << a)
            return sp_yaml_error(err, doc, node->items[i], "analysis '%s' is listed twice",
                                 analysis_names[a]);
        p->analysis |= 1u << a;
    }
    return SP_OK;
}

static int read_probe(sp_probe *p, const sp_yaml_doc *doc, const char *base_dir, sp_error *err)
{
    static const char *const keys[] = {"name", "languages", "data", "models", "train", "seeds",
                                       "modes", "constructions", "analysis", NULL};
    const sp_yaml_node *root = doc->root, *v;
    if (!root)
        return sp_error_set(err, SP_EINPUT, doc->file, 0, 0, "the file is empty: expected a probe");
    if (read_map(doc, root, "a probe", keys, err)) return SP_EINPUT;
    if (sp_yaml_require(doc, root, "name", &v, err) || read_name(doc, v, "name", &p->name, err))
        return SP_EINPUT;
    if (sp_yaml_require(doc, root, "languages", &v, err) ||
        read_paths(doc, v, "languages", base_dir, true, &p->languages, &p->nlanguages, err))
        return SP_EINPUT;
    if ((v = optional(root, "data")) && read_data(&p->data, doc, v, err)) return SP_EINPUT;
    if ((v = optional(root, "train")) && read_train(&p->train, doc, v, err)) return SP_EINPUT;
    if (sp_yaml_require(doc, root, "models", &v, err) || read_models(p, doc, v, err))
        return SP_EINPUT;
    if ((v = optional(root, "seeds"))) {
        if (read_seeds(p, doc, v, err)) return SP_EINPUT;
    } else {
        p->seeds = sp_malloc(1, sizeof *p->seeds);
        p->seeds[p->nseeds++] = 1;
    }
    if ((v = optional(root, "modes"))) {
        if (read_modes(p, doc, v, err)) return SP_EINPUT;
    } else {
        static const char *const defaults[] = {"soft", "saturated", "hard"};
        p->modes = sp_malloc(3, sizeof *p->modes);
        for (size_t i = 0; i < 3; i++)
            SP_ASSERT(!sp_mode_parse(defaults[i], SP_TIE_TOLERANCE, &p->modes[i], NULL));
        p->nmodes = 3;
    }
    if ((v = optional(root, "constructions")) &&
        read_paths(doc, v, "constructions", base_dir, false, &p->constructions, &p->nconstructions,
                   err))
        return SP_EINPUT;
    if ((v = optional(root, "analysis")) && read_analysis(p, doc, v, err)) return SP_EINPUT;
    return SP_OK;
}

int sp_probe_parse(const char *text, size_t len, const char *file, const char *base_dir,
                   sp_probe **out, sp_error *err)
{
    *out = NULL;
    sp_yaml_doc doc;
    int status = sp_yaml_parse(&doc, file, text, len, err);
    if (status) return status;
    sp_probe *p = sp_calloc(1, sizeof *p);
    sp_gen_options_default(&p->data);
    sp_train_options_default(&p->train);
    p->train.optim.total = p->train.steps;
    p->analysis = SP_ANALYSIS_ALL;
    sp_sha256 h;
    sp_sha256_init(&h);
    sp_sha256_update(&h, text, len);
    sp_sha256_final(&h, p->sha256);
    status = read_probe(p, &doc, base_dir, err);
    sp_yaml_free(&doc);
    if (status) {
        sp_probe_destroy(p);
        return status;
    }
    *out = p;
    return SP_OK;
}

int sp_probe_load(const char *path, const char *base_dir, sp_probe **out, sp_error *err)
{
    *out = NULL;
    char *text;
    size_t len;
    int status = sp_read_file(path, (size_t)64 << 20, &text, &len, err);
    if (status) return status;
    status = sp_probe_parse(text, len, path, base_dir, out, err);
    free(text);
    return status;
}
