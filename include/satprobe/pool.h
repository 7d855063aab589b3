/* A fixed team of threads for the loops that OpenBLAS does not run: attention, layer norm and the
 * element-wise layers. sp_blas_set_threads sets its size along with OpenBLAS's.
 *
 * A loop is cut into chunks that the threads take one after another as they finish the last,
 * so a core that runs slower (other load, interrupts) takes fewer of them instead of holding the
 * others up. The chunks shrink as the loop goes on (a share of what is left), and where each one
 * starts and ends depends only on the loop's length, its grain and the thread count, never on
 * timing; which thread takes which chunk does. The kernels that use the pool give the same bits
 * whatever the split: every output element is computed by one thread, in the same order as on
 * one thread, and a sum over rows goes whole to one thread. */
#ifndef SATPROBE_POOL_H
#define SATPROBE_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* The most threads the team has (threads beyond it are OpenBLAS's only). */
enum { SP_POOL_MAX = 16 };

/* A chunk of a loop, items [begin, end), run by thread `part` (< sp_pool_threads(): an index for
 * per-thread scratch; one thread may run several chunks of a loop, in any order). */
typedef void (*sp_pool_fn)(void *ctx, size_t part, size_t begin, size_t end);

/* Run loops on n threads from now on: the caller's and min(n, SP_POOL_MAX) - 1 workers, started
 * here (1, or less, stops them). Call it from one thread, between loops. */
void sp_pool_set_threads(int n);
/* The threads a loop may be split over (1 when there are no workers). */
size_t sp_pool_threads(void);
/* fn over [0, n), on p = sp_pool_parts(n, grain) threads, in the chunks of
 * sp_pool_chunks_init(.., n, grain, p): with p = 1 one call for all of it on this thread (none
 * when n = 0); returns when all are done. A call from inside a chunk runs serially, as one
 * chunk. */
void sp_pool_for(size_t n, size_t grain, sp_pool_fn fn, void *ctx);
/* The threads sp_pool_for(n, grain, ...) uses: min(sp_pool_threads(), n / grain), at least 1;
 * 1 from inside a job. */
size_t sp_pool_parts(size_t n, size_t grain);

/* The chunks of a loop over [0, n) on `threads` threads, taken by sp_pool_chunks_take. Each
 * starts at a multiple of grain (0 counts as 1) and holds a multiple of it but for the last: a
 * (2 threads)-th of what is left, rounded up, and no less than a (32 threads)-th of n. On one
 * thread there is one chunk. */
typedef struct sp_pool_chunks {
    atomic_size_t next; /* where the next chunk starts */
    size_t n, grain, least, share;
} sp_pool_chunks;

void sp_pool_chunks_init(sp_pool_chunks *q, size_t n, size_t grain, size_t threads);
/* The next chunk in [*begin, *end), or false when none is left; safe from any thread. */
bool sp_pool_chunks_take(sp_pool_chunks *q, size_t *begin, size_t *end);

/* fn(ctx, thread, p) once on each of p = min(threads, sp_pool_threads()) threads (thread 0 the
 * caller's), for work that is split by hand (with sp_pool_chunks, say); returns when all are
 * done. From inside a job (a chunk, say), or with p = 1, it runs fn(ctx, 0, 1) here. */
typedef void (*sp_pool_team_fn)(void *ctx, size_t thread, size_t threads);
void sp_pool_run(size_t threads, sp_pool_team_fn fn, void *ctx);

#endif
