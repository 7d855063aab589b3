/* The thread team of pool.h. A job (one function for every thread) is announced by bumping a
 * generation counter; each worker runs it and counts itself off, and the caller, after its own
 * run, waits for the count to reach zero. A loop is such a job: every thread takes chunks from
 * one shared cursor until none is left. Between jobs a worker polls the counter for a couple of
 * milliseconds, yielding the core at every poll (OpenBLAS's threads share these cores and poll
 * the same way), and then sleeps on a condition variable: the passes of a training step follow
 * one another closely, and waking a sleeping thread costs tens of microseconds. */
#include "satprobe/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

enum { POLL_NS = 2000000 }; /* how long a worker polls before it sleeps */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_t workers[SP_POOL_MAX];
static size_t nthreads = 1;   /* the caller's and the workers */
static atomic_uint gen;       /* bumped for every loop, and to stop the workers */
static atomic_size_t pending; /* workers yet to finish the current loop */
static unsigned start_gen;    /* gen when the workers were started */
/* the current job, written before gen is bumped and read after */
static bool stopping;
static sp_pool_team_fn job_fn;
static void *job_ctx;
static size_t job_threads;
static _Thread_local bool inside; /* this thread runs a job (or is a worker) */

static int64_t nanoseconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* the first generation after `seen` */
static unsigned next_gen(unsigned seen)
{
    int64_t t0 = nanoseconds();
    for (unsigned i = 1;; i++) {
        unsigned g = atomic_load_explicit(&gen, memory_order_acquire);
        if (g != seen) return g;
        if (i % 64 == 0 && nanoseconds() - t0 > POLL_NS) break;
        sched_yield();
    }
    pthread_mutex_lock(&mu);
    unsigned g;
    while ((g = atomic_load_explicit(&gen, memory_order_acquire)) == seen) pthread_cond_wait(&wake, &mu);
    pthread_mutex_unlock(&mu);
    return g;
}

static void *worker(void *arg)
{
    size_t id = (size_t)(uintptr_t)arg;
    unsigned seen = start_gen;
    inside = true;
    for (;;) {
        seen = next_gen(seen);
        if (stopping) return NULL;
        if (id < job_threads) job_fn(job_ctx, id, job_threads);
        atomic_fetch_sub_explicit(&pending, 1, memory_order_acq_rel);
    }
}

/* every worker runs the job set up in job_* (or stops), and the caller waits for them after
 * its own run */
static void announce(void)
{
    atomic_store_explicit(&pending, nthreads - 1, memory_order_relaxed);
    pthread_mutex_lock(&mu);
    atomic_fetch_add_explicit(&gen, 1, memory_order_release);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&mu);
}

static void wait_workers(void)
{
    while (atomic_load_explicit(&pending, memory_order_acquire)) sched_yield();
}

void sp_pool_set_threads(int n)
{
    size_t want = n < 1 ? 1 : (size_t)n > SP_POOL_MAX ? SP_POOL_MAX : (size_t)n;
    if (want == nthreads) return;
    if (nthreads > 1) {
        stopping = true;
        announce();
        for (size_t i = 1; i < nthreads; i++) pthread_join(workers[i], NULL);
        stopping = false;
    }
    nthreads = 1;
    start_gen = atomic_load_explicit(&gen, memory_order_relaxed);
    size_t started = 1;
    /* a thread that cannot be started leaves the loops to fewer */
    while (started < want && !pthread_create(&workers[started], NULL, worker, (void *)(uintptr_t)started))
        started++;
    nthreads = started;
}

size_t sp_pool_threads(void) { return nthreads; }

size_t sp_pool_parts(size_t n, size_t grain)
{
    size_t p = inside ? 1 : nthreads;
    if (grain > 1 && n / grain < p) p = n / grain;
    return p ? p : 1;
}

void sp_pool_run(size_t threads, sp_pool_team_fn fn, void *ctx)
{
    size_t p = threads < nthreads ? threads : nthreads;
    if (p <= 1 || inside) {
        bool was = inside;
        inside = true;
        fn(ctx, 0, 1);
        inside = was;
        return;
    }
    job_fn = fn;
    job_ctx = ctx;
    job_threads = p;
    announce();
    inside = true;
    fn(ctx, 0, p);
    inside = false;
    wait_workers();
}

static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

void sp_pool_chunks_init(sp_pool_chunks *q, size_t n, size_t grain, size_t threads)
{
    q->n = n;
    q->grain = grain ? grain : 1;
    q->share = 2 * (threads ? threads : 1);
    q->least = threads > 1 ? round_up((n + 16 * q->share - 1) / (16 * q->share), q->grain) : n;
    if (q->least == 0) q->least = 1;
    atomic_init(&q->next, 0);
}

bool sp_pool_chunks_take(sp_pool_chunks *q, size_t *begin, size_t *end)
{
    size_t s = atomic_load_explicit(&q->next, memory_order_relaxed), e;
    do {
        if (s >= q->n) return false;
        size_t size = round_up((q->n - s + q->share - 1) / q->share, q->grain);
        e = s + (size > q->least ? size : q->least);
        if (e > q->n) e = q->n;
    } while (!atomic_compare_exchange_weak_explicit(&q->next, &s, e, memory_order_relaxed, memory_order_relaxed));
    *begin = s;
    *end = e;
    return true;
}

/* a loop of sp_pool_for, as a job */
typedef struct loop {
    sp_pool_chunks chunks;
    sp_pool_fn fn;
    void *ctx;
} loop;

static void loop_team(void *ctx, size_t thread, size_t threads)
{
    (void)threads;
    loop *L = ctx;
    size_t b, e;
    while (sp_pool_chunks_take(&L->chunks, &b, &e)) L->fn(L->ctx, thread, b, e);
}

/* on one thread the queue holds one chunk, [0, n), and sp_pool_run runs it here */
void sp_pool_for(size_t n, size_t grain, sp_pool_fn fn, void *ctx)
{
    size_t parts = sp_pool_parts(n, grain);
    loop L = {.fn = fn, .ctx = ctx};
    sp_pool_chunks_init(&L.chunks, n, grain, parts);
    sp_pool_run(parts, loop_team, &L);
}
