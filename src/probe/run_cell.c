/* One cell of a probe: hold out validation strings from the training split, train (or resume,
 * or take the finished training as it is), evaluate, and write cell.json last. And one
 * construction, evaluated on its language's test splits. */
#include "run_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/progress.h"
#include "satprobe/fsutil.h"
#include "satprobe/rng.h"
#include "satprobe/train.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

/* Validation strings: the last tenth of the training split, at most this many. */
#define MAX_VALIDATION 1000

char *run_cell_dir(const run_ctx *c, const sp_probe_cell *cell)
{
    const sp_probe *p = c->p;
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_strbuf_printf(&sb, "%s/cells/%s/%s/seed-%lu", c->out_dir, c->langs[cell->language].id,
                     p->models[cell->model].name, p->seeds[cell->seed]);
    return sb.buf;
}

static bool file_in(const char *dir, const char *name)
{
    char *f = sp_path_join(dir, name);
    bool yes = sp_path_exists(f);
    free(f);
    return yes;
}

bool run_cell_done(const run_ctx *c, const sp_probe_cell *cell)
{
    char *dir = run_cell_dir(c, cell);
    bool yes = file_in(dir, "cell.json");
    free(dir);
    return yes;
}

char *run_cons_file(const run_ctx *c, size_t j)
{
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_strbuf_printf(&sb, "%s/constructions/%s.json", c->out_dir, c->cons[j].id);
    return sb.buf;
}

uint64_t run_cell_remaining(const run_ctx *c, const sp_probe_cell *cell)
{
    uint64_t steps = c->p->models[cell->model].train.steps;
    char *dir = run_cell_dir(c, cell);
    uint64_t done = 0;
    if (file_in(dir, "trained.json")) done = steps;
    else if (file_in(dir, "optim.safetensors")) {
        /* train.csv holds a row per step up to the last checkpoint */
        char *f = sp_path_join(dir, "train.csv"), *text;
        size_t len;
        sp_error e;
        if (!sp_read_file(f, (size_t)1 << 32, &text, &len, &e)) {
            for (size_t i = 0; i < len; i++) done += text[i] == '\n';
            done = done ? done - 1 : 0;
            free(text);
        }
        free(f);
    }
    free(dir);
    return done < steps ? steps - done : 0;
}

/* The loss follows the model's heads, restricted to what the data holds. */
static sp_loss_kind loss_for(sp_heads_out h, sp_gen_task task)
{
    if (h == SP_OUT_RECOGNIZE || task == SP_TASK_RECOGNIZE) return SP_LOSS_RECOGNIZE;
    if (h == SP_OUT_PREDICT || task == SP_TASK_PREDICT) return SP_LOSS_PREDICT;
    return SP_LOSS_BOTH;
}

static void fit_json(sp_json_writer *w, const char *key, const sp_fit *f, const char *exponent)
{
    sp_json_key(w, key);
    sp_json_object_begin_inline(w);
    sp_json_key(w, "a");
    sp_json_double(w, f->a);
    sp_json_key(w, exponent);
    sp_json_double(w, f->b);
    sp_json_key(w, "r2");
    sp_json_double(w, f->r2);
    sp_json_object_end(w);
}

/* trained.json: what cell.json takes from training; no times, so that it is reproducible. */
static int write_trained(const char *dir, const sp_train_summary *s, sp_error *err)
{
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_json_writer w;
    sp_json_writer_init(&w, &sb, true);
    sp_json_object_begin(&w);
    sp_json_key(&w, "steps");
    sp_json_uint(&w, s->steps);
    sp_json_key(&w, "stopped_early");
    sp_json_bool(&w, s->stopped_early);
    sp_json_key(&w, "best_step");
    sp_json_uint(&w, s->best_step);
    sp_json_key(&w, "norm_start");
    sp_json_double(&w, s->norm_start);
    sp_json_key(&w, "norm_end");
    sp_json_double(&w, s->norm_end);
    sp_json_key(&w, "fit");
    if (s->has_fit) {
        sp_json_object_begin_inline(&w);
        fit_json(&w, "sqrt", &s->fit_sqrt, "b");
        fit_json(&w, "power", &s->fit_power, "p");
        sp_json_object_end(&w);
    } else
        sp_json_null(&w);
    sp_json_object_end(&w);
    sp_strbuf_putc(&sb, '\n');
    char *path = sp_path_join(dir, "trained.json");
    int status = sp_write_file_atomic(path, sb.buf, sb.len, err);
    free(path);
    sp_strbuf_free(&sb);
    return status;
}

/* The last saturation level recorded: the second field of saturation.csv's last row. */
static int last_saturation(const char *dir, double *out, sp_error *err)
{
    char *path = sp_path_join(dir, "saturation.csv"), *text;
    size_t len;
    int status = sp_read_file(path, (size_t)1 << 30, &text, &len, err);
    if (!status) {
        size_t end = len;
        while (end && text[end - 1] == '\n') end--;
        size_t start = end;
        while (start && text[start - 1] != '\n') start--;
        const char *comma = memchr(text + start, ',', end - start);
        char *e = NULL;
        if (start && comma) *out = strtod(comma + 1, &e);
        if (!start || !comma || e == comma + 1)
            status = sp_error_set(err, SP_EINPUT, path, 0, 0, "no saturation level recorded");
        free(text);
    }
    free(path);
    return status;
}

static int write_time(const char *dir, double train_s, double eval_s, sp_error *err)
{
    char text[160];
    int n = snprintf(text, sizeof text, "{\"train_seconds\": %.3f, \"eval_seconds\": %.3f}\n",
                     train_s, eval_s);
    char *path = sp_path_join(dir, "cell.time.json");
    int status = sp_write_file_atomic(path, text, (size_t)n, err);
    free(path);
    return status;
}

/* cell.json of a cell without training data: no numbers, the reason instead. */
static void write_untrained(const run_ctx *c, const sp_probe_cell *cell, const char *why,
                            size_t ntrain, sp_strbuf *sb)
{
    sp_json_writer w;
    sp_json_writer_init(&w, sb, true);
    sp_json_object_begin(&w);
    sp_json_key(&w, "language");
    sp_json_string(&w, c->langs[cell->language].id);
    sp_json_key(&w, "model");
    sp_json_string(&w, c->p->models[cell->model].name);
    sp_json_key(&w, "seed");
    sp_json_uint(&w, c->p->seeds[cell->seed]);
    sp_json_key(&w, "untrained");
    sp_json_string(&w, why);
    sp_json_key(&w, "steps");
    sp_json_uint(&w, 0);
    static const char *const nulls[] = {"norm_start", "norm_end", "fit", "saturation", "heads"};
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++) {
        sp_json_key(&w, nulls[i]);
        sp_json_null(&w);
    }
    sp_json_key(&w, "train_strings");
    sp_json_uint(&w, ntrain);
    sp_json_key(&w, "val_strings");
    sp_json_uint(&w, 0);
    sp_json_key(&w, "bins");
    sp_json_array_begin_inline(&w);
    sp_json_array_end(&w);
    sp_json_key(&w, "accuracy");
    sp_json_array_begin_inline(&w);
    sp_json_array_end(&w);
    sp_json_object_end(&w);
    sp_strbuf_putc(sb, '\n');
}

/* Train the cell unless trained.json says it was; m holds the trained model after. A cell
 * without training strings gets `untrained` (its reason) and no model. */
static int train_cell(run_ctx *c, const sp_probe_cell *cell, const char *dir, sp_model **m,
                      uint64_t *trained, size_t *ntrain, size_t *nval, char *untrained,
                      size_t usize, sp_error *err)
{
    const sp_probe *p = c->p;
    const sp_probe_model *pm = &p->models[cell->model];
    sp_dataset *full = NULL, *train = NULL, *val = NULL;
    int status = sp_dataset_load(c->langs[cell->language].data_dir, "train", &full, err);
    if (status) return status;
    if (full->count < 2) {
        /* a language the task has no data for (a one-symbol alphabet has no non-member to pair
         * with a member): recorded as such, not an error that would stop the probe */
        snprintf(untrained, usize,
                 "the training split has %zu strings (%s/manifest.json says why): nothing to "
                 "train on",
                 full->count, c->langs[cell->language].data_rel);
        *ntrain = full->count;
        sp_dataset_destroy(full);
        return SP_OK;
    }
    size_t V = full->count / 10;
    V = V < 1 ? 1 : V > MAX_VALIDATION ? MAX_VALIDATION : V;
    train = sp_dataset_slice(full, 0, full->count - V, "train");
    val = sp_dataset_slice(full, full->count - V, full->count, "validation");
    *ntrain = train->count;
    *nval = val->count;
    sp_model_config cfg;
    sp_config_init(&cfg);
    sp_config_copy(&cfg, &pm->config);
    sp_config_set_alphabet(&cfg, (const char *const *)full->symbols, full->k);
    sp_dataset_destroy(full);
    char *model_path = sp_path_join(dir, "model.safetensors");
    if (file_in(dir, "trained.json")) {
        status = sp_model_load(model_path, m, err);
    } else {
        status = sp_model_new(&cfg, m, err);
        if (!status) {
            gsl_rng *r = sp_rng_new(p->seeds[cell->seed]);
            sp_model_init_random(*m, r);
            gsl_rng_free(r);
            sp_train_options o = pm->train;
            o.seed = p->seeds[cell->seed];
            o.loss = loss_for(cfg.heads_out, p->data.task);
            o.progress = false;
            o.log = NULL;
            o.on_step = c->on_step;
            o.on_step_ctx = c->on_step_ctx;
            sp_train_summary s;
            bool resume = file_in(dir, "optim.safetensors");
            status = sp_train(*m, train, val, &o, dir, resume, &s, err);
            if (!status) {
                *trained = s.steps - s.start_step;
                status = write_trained(dir, &s, err);
            }
        }
    }
    free(model_path);
    sp_config_free(&cfg);
    sp_dataset_destroy(train);
    sp_dataset_destroy(val);
    return status;
}

/* Temporary files of atomic writes a killed run left behind (".NAME.tmp-XXXXXX"): no one else
 * writes into a cell's directory while this run owns it. */
static void remove_leftovers(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            char *f = sp_path_join(dir, e->d_name);
            sp_remove_tree(f);
            free(f);
        }
    closedir(d);
}

int run_cell(run_ctx *c, const sp_probe_cell *cell, uint64_t *trained, sp_error *err)
{
    const sp_probe *p = c->p;
    *trained = 0;
    char *dir = run_cell_dir(c, cell);
    int status = sp_mkdirs(dir, err);
    if (!status) remove_leftovers(dir);
    sp_model *m = NULL;
    size_t ntrain = 0, nval = 0;
    double t0 = sp_seconds();
    char untrained[512] = "";
    if (!status)
        status = train_cell(c, cell, dir, &m, trained, &ntrain, &nval, untrained, sizeof untrained, err);
    double t1 = sp_seconds();
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    if (!status && *untrained) write_untrained(c, cell, untrained, ntrain, &sb);
    sp_json_value *tj = NULL;
    char *tpath = sp_path_join(dir, "trained.json");
    if (!status && !*untrained) status = sp_json_load(tpath, (size_t)1 << 26, &tj, err);
    free(tpath);
    double sat = 0;
    bool want_sat = p->analysis & SP_ANALYSIS_SATURATION;
    if (!status && !*untrained && want_sat) status = last_saturation(dir, &sat, err);
    run_testset t;
    bool have_t = false;
    if (!status && !*untrained) have_t = !(status = run_testset_load(c, cell->language, &t, err));
    if (!status && !*untrained) {
        sp_json_writer w;
        sp_json_writer_init(&w, &sb, true);
        sp_json_object_begin(&w);
        sp_json_key(&w, "language");
        sp_json_string(&w, c->langs[cell->language].id);
        sp_json_key(&w, "model");
        sp_json_string(&w, p->models[cell->model].name);
        sp_json_key(&w, "seed");
        sp_json_uint(&w, p->seeds[cell->seed]);
        for (size_t i = 0; i < tj->n; i++) {
            sp_json_key(&w, tj->keys[i]);
            sp_json_write_value(&w, tj->items[i]);
        }
        sp_json_key(&w, "train_strings");
        sp_json_uint(&w, ntrain);
        sp_json_key(&w, "val_strings");
        sp_json_uint(&w, nval);
        sp_json_key(&w, "saturation");
        if (want_sat) sp_json_double(&w, sat);
        else sp_json_null(&w);
        status = run_evaluate(m, &t, p->data.task, p->modes, p->nmodes,
                              p->analysis & SP_ANALYSIS_HEADS, &w, err);
        if (!status && !(p->analysis & SP_ANALYSIS_HEADS)) {
            sp_json_key(&w, "heads");
            sp_json_null(&w);
        }
        sp_json_object_end(&w);
        sp_strbuf_putc(&sb, '\n');
    }
    double t2 = sp_seconds();
    /* the time first: cell.json's presence means the cell is complete */
    if (!status) status = write_time(dir, t1 - t0, t2 - t1, err);
    if (!status) {
        char *path = sp_path_join(dir, "cell.json");
        status = sp_write_file_atomic(path, sb.buf, sb.len, err);
        free(path);
    }
    sp_strbuf_free(&sb);
    if (have_t) run_testset_free(&t);
    sp_json_free(tj);
    sp_model_destroy(m);
    free(dir);
    if (status) {
        /* say which cell, also when the message comes back from a worker process */
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        snprintf(err->msg, sizeof err->msg, "cell %s / %s / seed %lu: %.900s",
                 c->langs[cell->language].id, p->models[cell->model].name, p->seeds[cell->seed], msg);
    }
    return status;
}

int run_construction(run_ctx *c, size_t j, sp_error *err)
{
    const sp_probe *p = c->p;
    const run_cons *rc = &c->cons[j];
    SP_ASSERT(rc->language >= 0);
    /* the probe's modes, then the claims it does not list */
    sp_mode modes[SP_EVAL_MAX_MODES];
    size_t n = 0;
    for (size_t i = 0; i < p->nmodes + rc->c->nclaims; i++) {
        const sp_mode *m = i < p->nmodes ? &p->modes[i] : &rc->c->claims[i - p->nmodes];
        bool dup = false;
        for (size_t k = 0; k < n; k++) dup |= modes[k].kind == m->kind && modes[k].scale == m->scale;
        if (dup) continue;
        if (n == SP_EVAL_MAX_MODES)
            return sp_error_set(err, SP_EINPUT, rc->path, 0, 0,
                                "the probe's modes and the construction's claims make more than "
                                "%d modes",
                                SP_EVAL_MAX_MODES);
        modes[n++] = *m;
    }
    run_testset t;
    int status = run_testset_load(c, (size_t)rc->language, &t, err);
    if (status) return status;
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_json_writer w;
    sp_json_writer_init(&w, &sb, true);
    sp_json_object_begin(&w);
    sp_json_key(&w, "construction");
    sp_json_string(&w, rc->c->name);
    sp_json_key(&w, "language");
    sp_json_string(&w, c->langs[rc->language].id);
    sp_json_key(&w, "claims");
    run_json_modes(&w, rc->c->claims, rc->c->nclaims);
    sp_json_key(&w, "description");
    sp_json_string(&w, rc->c->description);
    status = run_evaluate(rc->c->model, &t, p->data.task, modes, n, false, &w, err);
    sp_json_object_end(&w);
    sp_strbuf_putc(&sb, '\n');
    if (!status) {
        char *dir = sp_path_join(c->out_dir, "constructions");
        status = sp_mkdirs(dir, err);
        free(dir);
    }
    if (!status) {
        char *path = run_cons_file(c, j);
        status = sp_write_file_atomic(path, sb.buf, sb.len, err);
        free(path);
    }
    sp_strbuf_free(&sb);
    run_testset_free(&t);
    return status;
}
