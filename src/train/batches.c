/* The batch order of training: a function of (seed, epoch) only, so that a resumed run needs
 * nothing but its step to continue exactly. Each epoch shuffles the examples, sorts windows of
 * 32 batches by length (little padding, still random), cuts them into batches and shuffles the
 * batches. */
#include "train_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/rng.h"

#include <stdlib.h>
#include <string.h>

#define WINDOW 32

void sp_batch_plan_init(sp_batch_plan *p, const sp_dataset *ds, size_t batch, unsigned long seed)
{
    memset(p, 0, sizeof *p);
    p->ds = ds;
    p->B = batch < ds->count ? batch : ds->count;
    p->per_epoch = ds->count / p->B;
    p->seed = seed;
    p->epoch = UINT64_MAX;
    p->order = sp_malloc(ds->count, sizeof *p->order);
    p->keys = sp_malloc(ds->count, sizeof *p->keys);
    p->batch_order = sp_malloc(p->per_epoch, sizeof *p->batch_order);
}

void sp_batch_plan_free(sp_batch_plan *p)
{
    free(p->order);
    free(p->keys);
    free(p->batch_order);
}

static int by_len(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b; /* (length << 32) | example: ties by example index */
    return *x < *y ? -1 : *x > *y;
}

static void shuffle(gsl_rng *r, size_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)sp_rng_below(r, i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static void build_epoch(sp_batch_plan *p, uint64_t epoch)
{
    const sp_dataset *ds = p->ds;
    /* one generator per epoch, seeded from (seed, epoch) by a 64-bit mix */
    uint64_t x = (uint64_t)p->seed * 0x9E3779B97F4A7C15ull + epoch + 1;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    gsl_rng *r = sp_rng_new((unsigned long)(x & 0xffffffffu) ^ (unsigned long)(x >> 32));
    size_t n = ds->count;
    for (size_t i = 0; i < n; i++) p->order[i] = i;
    shuffle(r, p->order, n);
    size_t w = WINDOW * p->B;
    for (size_t s = 0; s < n; s += w) {
        size_t e = s + w < n ? s + w : n;
        for (size_t i = s; i < e; i++) {
            size_t len = ds->start[p->order[i] + 1] - ds->start[p->order[i]];
            p->keys[i] = ((uint64_t)len << 32) | (uint64_t)p->order[i];
        }
        qsort(p->keys + s, e - s, sizeof *p->keys, by_len);
        for (size_t i = s; i < e; i++) p->order[i] = (size_t)(p->keys[i] & 0xffffffffu);
    }
    for (size_t i = 0; i < p->per_epoch; i++) p->batch_order[i] = i;
    shuffle(r, p->batch_order, p->per_epoch);
    gsl_rng_free(r);
    p->epoch = epoch;
}

const size_t *sp_batch_plan_get(sp_batch_plan *p, uint64_t step)
{
    uint64_t epoch = step / p->per_epoch;
    if (epoch != p->epoch) build_epoch(p, epoch);
    return p->order + p->batch_order[step % p->per_epoch] * p->B;
}
