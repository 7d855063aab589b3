/* 64-bit string hashes and an open-addressing set of them: de-duplication without keeping strings. */
/* MADV_HUGEPAGE is a Linux extension, hidden by the strict POSIX level the build asks for. */
#define _DEFAULT_SOURCE
#include "gen_impl.h"
#include "satprobe/alloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Tables of a few MiB and more are probed at random: with 4 KiB pages nearly every probe also
 * misses the TLB. Asking for transparent huge pages (2 MiB, aligned) removes most of those
 * misses; where the kernel declines, this is an ordinary zeroed allocation. */
#define HUGE_PAGE ((size_t)2 << 20)

static uint64_t *table_new(size_t cap)
{
    size_t bytes = cap * sizeof(uint64_t);
    if (bytes < HUGE_PAGE) return sp_calloc(cap, sizeof(uint64_t));
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, bytes) != 0) sp_panic(__FILE__, __LINE__, "out of memory");
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    memset(p, 0, bytes);
    return p;
}

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

/* Four symbols (each below 2^16: alphabets have at most 1024) per multiply, so the chain of
 * dependent multiplications is a quarter of the string's length; the last block is padded with
 * zeros, which the length mixed in at the start keeps apart from real symbols 0. */
uint64_t sp_strhash(const int *s, size_t n)
{
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ ((uint64_t)n * UINT64_C(0xd6e8feb86659fd93));
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint64_t w = (uint64_t)(uint16_t)s[i] | (uint64_t)(uint16_t)s[i + 1] << 16 |
                     (uint64_t)(uint16_t)s[i + 2] << 32 | (uint64_t)(uint16_t)s[i + 3] << 48;
        h = (h + w) * UINT64_C(0x9e3779b97f4a7c15);
        h ^= h >> 29;
    }
    if (i < n) {
        uint64_t w = 0;
        for (unsigned sh = 0; i < n; i++, sh += 16) w |= (uint64_t)(uint16_t)s[i] << sh;
        h = (h + w) * UINT64_C(0x9e3779b97f4a7c15);
        h ^= h >> 29;
    }
    h = fmix64(h);
    return h ? h : 1;
}

void sp_strset_init(sp_strset *set, size_t expected)
{
    size_t cap = 16;
    while (3 * cap < 4 * expected) cap *= 2; /* load at most 3/4 when the estimate holds */
    set->slot = table_new(cap);
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
        uint64_t *slot = table_new(cap);
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
