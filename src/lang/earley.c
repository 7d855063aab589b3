/* Earley recognition over a flat context-free grammar, fed one symbol at a time. */
#include "earley.h"
#include "satprobe/alloc.h"
#include "satprobe/error.h"

#include <stdlib.h>
#include <string.h>

void sp_cfg_grammar_index(sp_cfg_grammar *g)
{
    g->nitems = g->alt_off[g->nalt] + g->nalt;
    g->item_sym = sp_malloc(g->nitems, sizeof *g->item_sym);
    g->item_alt = sp_malloc(g->nitems, sizeof *g->item_alt);
    for (size_t j = 0; j < g->nalt; j++) {
        size_t base = g->alt_off[j] + j, len = g->alt_off[j + 1] - g->alt_off[j];
        for (size_t d = 0; d <= len; d++) {
            g->item_sym[base + d] = d < len ? g->sym[g->alt_off[j] + d] : SP_CFG_END;
            g->item_alt[base + d] = (uint32_t)j;
        }
    }
}

void sp_cfg_grammar_free(sp_cfg_grammar *g)
{
    free(g->nt_alt);
    free(g->alt_lhs);
    free(g->alt_off);
    free(g->sym);
    free(g->nullable);
    free(g->item_sym);
    free(g->item_alt);
    memset(g, 0, sizeof *g);
}

/* Dotted item `item` (see sp_cfg_grammar) started at input position `origin`. */
typedef struct eitem {
    uint32_t item;
    uint32_t origin;
} eitem;

/* An item of a closed set whose dot is before nonterminal nt; idx is its index in items. */
typedef struct waiter {
    size_t idx;
    size_t nt;
} waiter;

struct sp_earley {
    const sp_cfg_grammar *g;
    size_t len;           /* symbols fed; sets 0..len exist and are closed */
    eitem *items;         /* [nitems] every set, concatenated */
    size_t nitems, items_cap;
    size_t *set_start;    /* [len + 2]: set i is items[set_start[i] .. set_start[i + 1]) */
    size_t sets_cap;
    /* Per set i, wait[wait_start[i] .. wait_start[i + 1]) lists its items whose dot is before a
     * nonterminal, sorted by that nonterminal: what completing a nonterminal started at i needs. */
    waiter *wait;
    size_t nwait, wait_cap;
    size_t *wait_start;   /* [len + 2] */
    /* Duplicate check for the set being built: open addressing over (item << 32 | origin);
     * a slot is in use iff hstamp[slot] == stamp, so starting a new set clears it in O(1). */
    uint64_t *hkey;       /* [hcap] */
    uint32_t *hstamp;     /* [hcap] */
    size_t hcap;
    uint32_t stamp;
    uint32_t *predicted;  /* [nnt]: stamp of the set in which A's alternatives were last added */
};

static size_t hash_slot(uint64_t key, size_t cap)
{
    key ^= key >> 29;
    key *= 0xbf58476d1ce4e5b9ULL;
    key ^= key >> 32;
    return (size_t)key & (cap - 1);
}

static void hash_insert(sp_earley *e, uint64_t key)
{
    size_t h = hash_slot(key, e->hcap);
    while (e->hstamp[h] == e->stamp) h = (h + 1) & (e->hcap - 1);
    e->hstamp[h] = e->stamp;
    e->hkey[h] = key;
}

/* Double the table and re-enter the items of the set being built (set e->len). */
static void hash_grow(sp_earley *e)
{
    free(e->hkey);
    free(e->hstamp);
    e->hcap *= 2;
    e->hkey = sp_malloc(e->hcap, sizeof *e->hkey);
    e->hstamp = sp_calloc(e->hcap, sizeof *e->hstamp);
    for (size_t x = e->set_start[e->len]; x < e->nitems; x++)
        hash_insert(e, (uint64_t)e->items[x].item << 32 | e->items[x].origin);
}

/* Start a new set: a fresh stamp empties the duplicate table and the predicted marks. */
static void next_stamp(sp_earley *e)
{
    if (++e->stamp == 0) {
        memset(e->hstamp, 0, e->hcap * sizeof *e->hstamp);
        memset(e->predicted, 0, e->g->nnt * sizeof *e->predicted);
        e->stamp = 1;
    }
}

/* Add (item, origin) to the set being built unless it is there already. */
static void add(sp_earley *e, uint32_t item, uint32_t origin)
{
    uint64_t key = (uint64_t)item << 32 | origin;
    if (2 * (e->nitems - e->set_start[e->len] + 1) > e->hcap) hash_grow(e);
    size_t h = hash_slot(key, e->hcap);
    while (e->hstamp[h] == e->stamp) {
        if (e->hkey[h] == key) return;
        h = (h + 1) & (e->hcap - 1);
    }
    e->hstamp[h] = e->stamp;
    e->hkey[h] = key;
    SP_GROW(e->items, e->items_cap, e->nitems + 1);
    e->items[e->nitems++] = (eitem){item, origin};
}

static int waiter_cmp(const void *pa, const void *pb)
{
    const waiter *a = pa, *b = pb;
    if (a->nt != b->nt) return a->nt < b->nt ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* First index in set i's waiters whose nonterminal is >= nt. */
static size_t waiters_from(const sp_earley *e, size_t i, size_t nt)
{
    size_t lo = e->wait_start[i], hi = e->wait_start[i + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->wait[mid].nt < nt) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Predict and complete the set being built (set e->len, whose scanned items are in place),
 * then index its waiting items. Completion of an item started in this same set is skipped:
 * it can only complete a nullable nonterminal, and the predictor already stepped every item
 * waiting on a nullable nonterminal over it (Aycock and Horspool 2002). */
static void close_set(sp_earley *e)
{
    const sp_cfg_grammar *g = e->g;
    size_t i = e->len;
    for (size_t x = e->set_start[i]; x < e->nitems; x++) {
        eitem it = e->items[x]; /* a copy: add() may move the array */
        int s = g->item_sym[it.item];
        if (s == SP_CFG_END) {
            if (it.origin == i) continue;
            size_t a = g->alt_lhs[g->item_alt[it.item]];
            size_t end = e->wait_start[it.origin + 1];
            for (size_t w = waiters_from(e, it.origin, a); w < end && e->wait[w].nt == a; w++) {
                eitem parent = e->items[e->wait[w].idx];
                add(e, parent.item + 1, parent.origin);
            }
        } else if (SP_CFG_IS_NT(s)) {
            size_t b = SP_CFG_NT_INDEX(s);
            if (e->predicted[b] != e->stamp) {
                e->predicted[b] = e->stamp;
                for (size_t j = g->nt_alt[b]; j < g->nt_alt[b + 1]; j++)
                    add(e, (uint32_t)(g->alt_off[j] + j), (uint32_t)i);
            }
            if (g->nullable[b]) add(e, it.item + 1, it.origin);
        }
    }
    SP_ASSERT(i + 2 <= e->sets_cap);
    e->set_start[i + 1] = e->nitems;
    size_t first = e->nwait;
    for (size_t x = e->set_start[i]; x < e->nitems; x++) {
        int s = g->item_sym[e->items[x].item];
        if (s == SP_CFG_END || !SP_CFG_IS_NT(s)) continue;
        SP_GROW(e->wait, e->wait_cap, e->nwait + 1);
        e->wait[e->nwait++] = (waiter){x, SP_CFG_NT_INDEX(s)};
    }
    if (e->nwait - first > 1) qsort(e->wait + first, e->nwait - first, sizeof *e->wait, waiter_cmp);
    e->wait_start[i + 1] = e->nwait;
}

sp_earley *sp_earley_new(const sp_cfg_grammar *g)
{
    sp_earley *e = sp_calloc(1, sizeof *e);
    e->g = g;
    e->hcap = 64;
    e->hkey = sp_malloc(e->hcap, sizeof *e->hkey);
    e->hstamp = sp_calloc(e->hcap, sizeof *e->hstamp);
    e->predicted = sp_calloc(g->nnt, sizeof *e->predicted);
    e->sets_cap = 16;
    e->set_start = sp_malloc(e->sets_cap, sizeof *e->set_start);
    e->wait_start = sp_malloc(e->sets_cap, sizeof *e->wait_start);
    e->set_start[0] = 0;
    e->wait_start[0] = 0;
    next_stamp(e);
    e->predicted[g->start] = e->stamp;
    for (size_t j = g->nt_alt[g->start]; j < g->nt_alt[g->start + 1]; j++)
        add(e, (uint32_t)(g->alt_off[j] + j), 0);
    close_set(e);
    return e;
}

void sp_earley_destroy(sp_earley *e)
{
    if (!e) return;
    free(e->items);
    free(e->set_start);
    free(e->wait);
    free(e->wait_start);
    free(e->hkey);
    free(e->hstamp);
    free(e->predicted);
    free(e);
}

size_t sp_earley_length(const sp_earley *e) { return e->len; }

bool sp_earley_viable(const sp_earley *e)
{
    return e->set_start[e->len + 1] > e->set_start[e->len];
}

bool sp_earley_feed(sp_earley *e, int a)
{
    SP_ASSERT(a >= 0 && (size_t)a < e->g->k);
    size_t from = e->set_start[e->len], to = e->set_start[e->len + 1];
    SP_ASSERT(e->len + 1 < UINT32_MAX);
    e->len++;
    /* set_start and wait_start need len + 2 entries; they grow together. */
    if (e->len + 2 > e->sets_cap) {
        SP_GROW(e->set_start, e->sets_cap, e->len + 2);
        e->wait_start = sp_realloc(e->wait_start, e->sets_cap, sizeof *e->wait_start);
    }
    next_stamp(e);
    for (size_t x = from; x < to; x++)
        if (e->g->item_sym[e->items[x].item] == a) add(e, e->items[x].item + 1, e->items[x].origin);
    close_set(e);
    return sp_earley_viable(e);
}

void sp_earley_truncate(sp_earley *e, size_t len)
{
    SP_ASSERT(len <= e->len);
    e->len = len;
    e->nitems = e->set_start[len + 1];
    e->nwait = e->wait_start[len + 1];
}

bool sp_earley_accepting(const sp_earley *e)
{
    const sp_cfg_grammar *g = e->g;
    for (size_t x = e->set_start[e->len]; x < e->set_start[e->len + 1]; x++) {
        eitem it = e->items[x];
        if (it.origin == 0 && g->item_sym[it.item] == SP_CFG_END &&
            g->alt_lhs[g->item_alt[it.item]] == g->start)
            return true;
    }
    return false;
}

void sp_earley_scannable(const sp_earley *e, bool *valid)
{
    const sp_cfg_grammar *g = e->g;
    for (size_t a = 0; a < g->k; a++) valid[a] = false;
    for (size_t x = e->set_start[e->len]; x < e->set_start[e->len + 1]; x++) {
        int s = g->item_sym[e->items[x].item];
        if (s >= 0) valid[s] = true;
    }
}

bool sp_earley_recognise(const sp_cfg_grammar *g, const int *s, size_t n)
{
    sp_earley *e = sp_earley_new(g);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) ok = sp_earley_feed(e, s[i]);
    ok = ok && sp_earley_accepting(e);
    sp_earley_destroy(e);
    return ok;
}
