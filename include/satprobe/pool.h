/* A fixed team of threads for the loops that OpenBLAS does not run: attention, layer norm and the
 * element-wise layers. sp_blas_set_threads sets its size along with OpenBLAS's.
 *
 * A loop is split into contiguous ranges, one per thread, and the caller's thread runs the first.
 * The kernels that use it give the same bits whatever the split: every output element is computed
 * by one thread, in the same order as on one thread, and sums over rows go by columns. */
#ifndef SATPROBE_POOL_H
#define SATPROBE_POOL_H

#include <stddef.h>

/* The most parts a loop is split into (threads beyond it are OpenBLAS's only). */
enum { SP_POOL_MAX = 16 };

/* Part `part` of a loop: items [begin, end). */
typedef void (*sp_pool_fn)(void *ctx, size_t part, size_t begin, size_t end);

/* Run loops on n threads from now on: the caller's and min(n, SP_POOL_MAX) - 1 workers, started
 * here (1, or less, stops them). Call it from one thread, between loops. */
void sp_pool_set_threads(int n);
/* The threads a loop may be split over (1 when there are no workers). */
size_t sp_pool_threads(void);
/* fn over [0, n): split into p = min(sp_pool_threads(), n / grain) parts, at least 1, part i
 * taking [n i / p, n (i + 1) / p); returns when all are done. A call from inside a part runs
 * serially, as one part. */
void sp_pool_for(size_t n, size_t grain, sp_pool_fn fn, void *ctx);
/* The number of parts sp_pool_for(n, grain, ...) splits into. */
size_t sp_pool_parts(size_t n, size_t grain);

#endif
