/* The thread team of pool.h. A loop is announced by bumping a generation counter; each worker
 * runs its part and counts itself off, and the caller, after its own part, waits for the count
 * to reach zero. Between loops a worker polls the counter for a couple of milliseconds, yielding
 * the core at every poll (OpenBLAS's threads share these cores and poll the same way), and then
 * sleeps on a condition variable: the passes of a training step follow one another closely,
 * and waking a sleeping thread costs tens of microseconds. */
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
/* the current loop, written before gen is bumped and read after */
static bool stopping;
static sp_pool_fn job_fn;
static void *job_ctx;
static size_t job_n, job_parts;
static _Thread_local bool inside; /* this thread runs a part (or is a worker) */

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
        size_t n = job_n, parts = job_parts;
        if (id < parts) job_fn(job_ctx, id, n * id / parts, n * (id + 1) / parts);
        atomic_fetch_sub_explicit(&pending, 1, memory_order_acq_rel);
    }
}

/* every worker runs the loop set up in job_* (or stops), and the caller waits for them after
 * its own part */
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
    size_t p = nthreads;
    if (grain > 1 && n / grain < p) p = n / grain;
    return p ? p : 1;
}

void sp_pool_for(size_t n, size_t grain, sp_pool_fn fn, void *ctx)
{
    size_t parts = sp_pool_parts(n, grain);
    if (parts == 1 || inside) {
        bool was = inside;
        inside = true;
        fn(ctx, 0, 0, n);
        inside = was;
        return;
    }
    job_fn = fn;
    job_ctx = ctx;
    job_n = n;
    job_parts = parts;
    announce();
    inside = true;
    fn(ctx, 0, 0, n / parts);
    inside = false;
    wait_workers();
}
