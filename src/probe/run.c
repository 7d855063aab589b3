/* sp_probe_run: which cells this run owes, the datasets they need, the cells themselves (in this
 * process, or in worker processes with --jobs), the constructions, then the rendered files once
 * every cell of the probe is finished. */
#include "run_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"
#include "satprobe/progress.h"
#include "satprobe/report.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* What a worker tells the parent: a step done, or the cell's end with its error. Smaller than
 * PIPE_BUF, so that writes from several workers never interleave. */
typedef struct worker_msg {
    int kind;          /* MSG_STEP or MSG_END */
    int status;
    size_t todo;       /* index into the run's list of cells */
    uint64_t step;
    sp_error err;
} worker_msg;
enum { MSG_STEP, MSG_END };
_Static_assert(sizeof(worker_msg) <= PIPE_BUF, "a message must be written atomically");

typedef struct runner {
    run_ctx *c;
    const sp_probe_run_options *o;
    sp_probe_cell *todo;   /* cells of this run not yet finished */
    size_t ntodo;
    uint64_t *remaining;   /* [ntodo] steps each still has to train */
    uint64_t *seen;        /* [ntodo] of those, done so far */
    uint64_t total, done;  /* steps over all cells of the run */
    size_t cells_done;
    sp_progress bar;
    /* the cell being trained in this process, for the step callback and the bar */
    size_t current;
    char current_name[256];
    uint64_t current_step;
    size_t running;        /* worker processes at work (--jobs) */
    bool *is_running;      /* [ntodo] a worker has the cell */
    uint64_t *step_of;     /* [ntodo] the last step a worker reported */
    int pipe_fd;           /* a worker's end of the pipe, or -1 */
} runner;

static void cell_name(const runner *r, const sp_probe_cell *cell, char *buf, size_t size)
{
    const sp_probe *p = r->c->p;
    snprintf(buf, size, "%s / %s / seed %lu", r->c->langs[cell->language].id,
             p->models[cell->model].name, p->seeds[cell->seed]);
}

/* The bar counts steps over every cell of the run (its time left is the run's); the text says
 * which cell is at which step, or how many workers are at work. */
static void show(runner *r)
{
    if (!r->bar.on) return;
    char text[400];
    if (r->running) {
        int n = snprintf(text, sizeof text, "%zu of %zu cells done; at work:", r->cells_done, r->ntodo);
        size_t shown = 0;
        for (size_t i = 0; i < r->ntodo && n > 0 && (size_t)n < sizeof text; i++)
            if (r->is_running[i] && ++shown > 2) {
                /* a line a terminal can hold */
                n += snprintf(text + n, sizeof text - (size_t)n, " and %zu more", r->running - 2);
                break;
            } else if (r->is_running[i]) {
                const sp_probe *p = r->c->p;
                const sp_probe_cell *c = &r->todo[i];
                n += snprintf(text + n, sizeof text - (size_t)n, " %s/%s/%lu step %llu",
                              r->c->langs[c->language].id, p->models[c->model].name, p->seeds[c->seed],
                              (unsigned long long)r->step_of[i]);
            }
    } else
        snprintf(text, sizeof text, "cell %zu of %zu: %s, step %llu of %llu", r->cells_done + 1, r->ntodo,
                 r->current_name, (unsigned long long)r->current_step,
                 (unsigned long long)r->c->p->models[r->todo[r->current].model].train.steps);
    sp_progress_update_text(&r->bar, r->done, text);
}

/* A step of cell `i` (the absolute step number): count what is new. */
static void note_step(runner *r, size_t i, uint64_t step)
{
    if (i == r->current) r->current_step = step;
    if (r->step_of) r->step_of[i] = step;
    uint64_t start = r->c->p->models[r->todo[i].model].train.steps - r->remaining[i];
    uint64_t seen = step > start ? step - start : 0;
    if (seen > r->remaining[i]) seen = r->remaining[i];
    if (seen > r->seen[i]) {
        r->done += seen - r->seen[i];
        r->seen[i] = seen;
    }
    show(r);
}

static void on_step(void *ctx, uint64_t step)
{
    runner *r = ctx;
    if (r->pipe_fd < 0) {
        note_step(r, r->current, step);
        return;
    }
    /* every 8th step is plenty for a display */
    if (step % 8) return;
    worker_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.kind = MSG_STEP;
    msg.todo = r->current;
    msg.step = step;
    ssize_t n = write(r->pipe_fd, &msg, sizeof msg);
    (void)n;
}

/* "[3/12 done] dyck-1 / small / seed 1: running" or "...: finished in 12.3 s" (secs >= 0). */
static void log_line(runner *r, const char *name, double secs)
{
    if (!r->o->log) return;
    /* the bar and the line share stderr: clear the bar first */
    sp_progress_finish(&r->bar);
    if (secs < 0) fprintf(r->o->log, "[%zu/%zu done] %s: running\n", r->cells_done, r->ntodo, name);
    else
        fprintf(r->o->log, "[%zu/%zu done] %s: finished in %.1f s\n", r->cells_done, r->ntodo, name,
                secs);
    fflush(r->o->log);
    show(r);
}

static int cell_in_process(runner *r, size_t i, sp_error *err)
{
    char name[256];
    cell_name(r, &r->todo[i], name, sizeof name);
    r->current = i;
    snprintf(r->current_name, sizeof r->current_name, "%s", name);
    r->current_step = 0;
    log_line(r, name, -1);
    double t0 = sp_seconds();
    uint64_t steps;
    int status = run_cell(r->c, &r->todo[i], &steps, err);
    if (status) return status;
    r->done += r->remaining[i] - r->seen[i];
    r->seen[i] = r->remaining[i];
    r->cells_done++;
    log_line(r, name, sp_seconds() - t0);
    return SP_OK;
}

/* A worker process: one cell, its steps and its end reported through the pipe. */
static void worker(runner *r, size_t i, int fd)
{
    r->pipe_fd = fd;
    r->current = i;
    r->bar.on = false;
    worker_msg msg;
    memset(&msg, 0, sizeof msg);
    uint64_t steps;
    sp_error_clear(&msg.err);
    msg.status = run_cell(r->c, &r->todo[i], &steps, &msg.err);
    msg.kind = MSG_END;
    msg.todo = i;
    ssize_t n = write(fd, &msg, sizeof msg);
    _exit(n == (ssize_t)sizeof msg && !msg.status ? 0 : 1);
}

typedef struct slot {
    pid_t pid;
    size_t todo;
    double start;
    bool ended;   /* its MSG_END arrived */
    int status;
    sp_error err;
} slot;

/* Read what the workers wrote (waiting up to timeout_ms for the first message). */
static void drain(runner *r, int fd, slot *slots, size_t nslots, int timeout_ms)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    while (poll(&pfd, 1, timeout_ms) > 0 && (pfd.revents & POLLIN)) {
        worker_msg msg;
        ssize_t n = read(fd, &msg, sizeof msg);
        if (n != (ssize_t)sizeof msg) break;
        if (msg.kind == MSG_STEP) note_step(r, msg.todo, msg.step);
        else
            for (size_t k = 0; k < nslots; k++)
                if (slots[k].pid && slots[k].todo == msg.todo) {
                    slots[k].ended = true;
                    slots[k].status = msg.status;
                    slots[k].err = msg.err;
                }
        timeout_ms = 0;
    }
}

static int cells_in_workers(runner *r, size_t jobs, sp_error *err)
{
    int fds[2];
    if (pipe(fds)) return sp_error_set(err, SP_EIO, NULL, 0, 0, "pipe: %s", strerror(errno));
    slot *slots = sp_calloc(jobs, sizeof *slots);
    r->is_running = sp_calloc(r->ntodo, sizeof *r->is_running);
    r->step_of = sp_calloc(r->ntodo, sizeof *r->step_of);
    size_t next = 0, running = 0;
    int status = SP_OK;
    while ((next < r->ntodo && !status) || running) {
        for (size_t k = 0; k < jobs && next < r->ntodo && !status; k++) {
            if (slots[k].pid) continue;
            char name[256];
            cell_name(r, &r->todo[next], name, sizeof name);
            log_line(r, name, -1);
            fflush(NULL); /* nothing buffered may be written twice */
            pid_t pid = fork();
            if (pid < 0) {
                status = sp_error_set(err, SP_EIO, NULL, 0, 0, "fork: %s", strerror(errno));
                break;
            }
            if (pid == 0) {
                close(fds[0]);
                worker(r, next, fds[1]);
            }
            r->is_running[next] = true;
            slots[k] = (slot){.pid = pid, .todo = next++, .start = sp_seconds()};
            r->running = ++running;
        }
        drain(r, fds[0], slots, jobs, 200);
        int ws;
        pid_t pid;
        while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
            drain(r, fds[0], slots, jobs, 0);
            for (size_t k = 0; k < jobs; k++) {
                slot *s = &slots[k];
                if (s->pid != pid) continue;
                char name[256];
                cell_name(r, &r->todo[s->todo], name, sizeof name);
                bool ok = WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && s->ended && !s->status;
                if (ok) {
                    size_t i = s->todo;
                    r->done += r->remaining[i] - r->seen[i];
                    r->seen[i] = r->remaining[i];
                    r->cells_done++;
                    log_line(r, name, sp_seconds() - s->start);
                } else if (!status) {
                    if (s->ended && s->status) {
                        *err = s->err;
                        status = s->status;
                    } else
                        status = sp_error_set(err, SP_EIO, NULL, 0, 0, "cell %s: the worker %s %d",
                                              name, WIFSIGNALED(ws) ? "died of signal" : "exited with",
                                              WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
                }
                r->is_running[s->todo] = false;
                memset(s, 0, sizeof *s);
                r->running = --running;
            }
        }
    }
    close(fds[0]);
    close(fds[1]);
    free(slots);
    free(r->is_running);
    free(r->step_of);
    r->is_running = NULL;
    r->step_of = NULL;
    return status;
}

/* Construction j belongs to the shard of its language's first cell. */
static bool cons_mine(const run_ctx *c, const sp_probe_run_options *o, size_t j)
{
    if (c->cons[j].language < 0) return false;
    size_t first = (size_t)c->cons[j].language * c->p->nmodels * c->p->nseeds;
    return !o->sharded || sp_shard_has(&o->shard, first);
}

static bool cons_done(const run_ctx *c, size_t j)
{
    char *f = run_cons_file(c, j);
    bool yes = sp_path_exists(f);
    free(f);
    return yes;
}

static int run_all(runner *r, sp_probe_run_summary *s, sp_error *err)
{
    run_ctx *c = r->c;
    const sp_probe *p = c->p;
    size_t N = sp_probe_cell_count(p);
    /* the datasets the pending cells and constructions need, made here before any worker */
    bool *need = sp_calloc(p->nlanguages, sizeof *need);
    for (size_t i = 0; i < r->ntodo; i++) need[r->todo[i].language] = true;
    for (size_t j = 0; j < p->nconstructions; j++)
        if (cons_mine(c, r->o, j) && !cons_done(c, j)) need[c->cons[j].language] = true;
    int status = SP_OK;
    for (size_t i = 0; i < p->nlanguages && !status; i++)
        if (need[i]) status = run_dataset(c, i, r->o->log, err);
    free(need);
    if (status) return status;
    for (size_t i = 0; i < r->ntodo; i++) r->total += r->remaining[i] = run_cell_remaining(c, &r->todo[i]);
    sp_progress_init(&r->bar, r->o->progress, "probe", r->total ? r->total : 1);
    c->on_step = on_step;
    c->on_step_ctx = r;
    size_t jobs = r->o->jobs ? r->o->jobs : 1;
    if (jobs > r->ntodo) jobs = r->ntodo;
    if (jobs > 1) status = cells_in_workers(r, jobs, err);
    else
        for (size_t i = 0; i < r->ntodo && !status; i++) status = cell_in_process(r, i, err);
    sp_progress_finish(&r->bar);
    s->ran = r->cells_done;
    for (size_t j = 0; j < p->nconstructions && !status; j++)
        if (cons_mine(c, r->o, j) && !cons_done(c, j)) {
            if (r->o->log) fprintf(r->o->log, "construction %s on %s\n", c->cons[j].id,
                                   c->langs[c->cons[j].language].id);
            status = run_construction(c, j, err);
        }
    if (status) return status;
    for (size_t i = 0; i < N; i++) {
        sp_probe_cell cell = sp_probe_cell_at(p, i);
        s->finished += run_cell_done(c, &cell);
    }
    bool all = s->finished == N;
    for (size_t j = 0; j < p->nconstructions; j++)
        if (c->cons[j].language >= 0 && !cons_done(c, j)) all = false;
    if (all) {
        sp_report_info info;
        status = sp_report_write(c->out_dir, &info, err);
        s->reported = !status;
    }
    return status;
}

int sp_probe_run(const sp_probe *p, const sp_probe_run_options *o, sp_probe_run_summary *s,
                 sp_error *err)
{
    memset(s, 0, sizeof *s);
    double t0 = sp_seconds();
    run_ctx c;
    int status = run_ctx_init(&c, p, o->out_dir, o->source_dir, err);
    if (status) return status;
    status = run_write_probe(&c, o->probe_path, o->force, err);
    bool ours = !status; /* out_dir now holds this probe: the manifest may be written */
    runner r;
    memset(&r, 0, sizeof r);
    r.c = &c;
    r.o = o;
    r.pipe_fd = -1;
    size_t N = sp_probe_cell_count(p);
    s->cells = N;
    r.todo = sp_malloc(N ? N : 1, sizeof *r.todo);
    r.remaining = sp_calloc(N ? N : 1, sizeof *r.remaining);
    r.seen = sp_calloc(N ? N : 1, sizeof *r.seen);
    for (size_t i = 0; i < N && !status; i++) {
        if (o->sharded && !sp_shard_has(&o->shard, i)) continue;
        s->in_shard++;
        sp_probe_cell cell = sp_probe_cell_at(p, i);
        if (run_cell_done(&c, &cell)) s->skipped++;
        else r.todo[r.ntodo++] = cell;
    }
    if (!status) status = run_all(&r, s, err);
    s->seconds = sp_seconds() - t0;
    /* the manifest also records an interrupted or partial run */
    sp_error e2;
    if (ours && run_write_manifest(o->out_dir, s->seconds, &e2) && !status) {
        *err = e2;
        status = SP_EIO;
    }
    free(r.todo);
    free(r.remaining);
    free(r.seen);
    run_ctx_free(&c);
    return status;
}
