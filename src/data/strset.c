/* 64-bit string hashes and an open-addressing set of them: de-duplication without keeping strings. */
#include "gen_impl.h"
#include "satprobe/alloc.h"

#include <stdlib.h>

/* The finaliser of MurmurHash3: every input bit affects every output bit. */
static uint64_t fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h;
}

uint64_t sp_strhash(const int *s, size_t n)
{
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ ((uint64_t)n * UINT64_C(0xd6e8feb86659fd93));
    for (size_t i = 0; i < n; i++) {
        h = (h + (uint64_t)(unsigned)s[i] + 1) * UINT64_C(0x9e3779b97f4a7c15);
        h ^= h >> 29;
    }
    h = fmix64(h);
    return h ? h : 1;
}

void sp_strset_init(sp_strset *set, size_t expected)
{
    size_t cap = 16;
    while (3 * cap < 4 * expected) cap *= 2; /* load at most 3/4 when the estimate holds */
    set->slot = sp_calloc(cap, sizeof *set->slot);
    set->cap = cap;
    set->n = 0;
}

void sp_strset_free(sp_strset *set)
{
    free(set->slot);
    set->slot = NULL;
    set->cap = set->n = 0;
}

bool sp_strset_has(const sp_strset *set, uint64_t h)
{
    size_t mask = set->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        if (set->slot[i] == h) return true;
        if (set->slot[i] == 0) return false;
    }
}

void sp_strset_prefetch(const sp_strset *set, uint64_t h)
{
    __builtin_prefetch(set->slot + ((size_t)h & (set->cap - 1)), 1);
}

static void insert(uint64_t *slot, size_t cap, uint64_t h)
{
    size_t mask = cap - 1, i = (size_t)h & mask;
    while (slot[i]) i = (i + 1) & mask;
    slot[i] = h;
}

bool sp_strset_add(sp_strset *set, uint64_t h)
{
    if (5 * (set->n + 1) > 4 * set->cap) { /* the estimate was low: double */
        size_t cap = 2 * set->cap;
        uint64_t *slot = sp_calloc(cap, sizeof *slot);
        for (size_t i = 0; i < set->cap; i++)
            if (set->slot[i]) insert(slot, cap, set->slot[i]);
        free(set->slot);
        set->slot = slot;
        set->cap = cap;
    }
    size_t mask = set->cap - 1, i = (size_t)h & mask;
    for (; set->slot[i]; i = (i + 1) & mask)
        if (set->slot[i] == h) return false;
    set->slot[i] = h;
    set->n++;
    return true;
}
