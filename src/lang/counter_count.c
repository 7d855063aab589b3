/* The counter kind over its configuration space: the lower bound to acceptance, the bounded
 * reachability search behind next(), forward counts layer by layer, and sampling backwards. */
#include "counter.h"
#include "satprobe/alloc.h"
#include "satprobe/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Work units (see search) of one next() call, for all the symbols together: a few
 * milliseconds at most. */
#define NEXT_BUDGET ((size_t)1 << 15)
/* next() searches at least this far (the length the count tables always cover). */
#define NEXT_MIN_HORIZON 64
/* Configurations whose viability next() remembers (then it starts over). */
#define MEMO_MAX ((size_t)1 << 18)

/* ---- configuration sets ---------------------------------------------------------------- */

static uint64_t hash64(const int64_t *k, size_t w)
{
    uint64_t h = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < w; i++) {
        h ^= (uint64_t)k[i];
        h *= 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    return h;
}

static void set_alloc_slots(ctr_set *s, size_t size)
{
    free(s->slots);
    s->slots = sp_malloc(size, sizeof *s->slots);
    memset(s->slots, 0xff, size * sizeof *s->slots);
    s->mask = size - 1;
}

static void set_init(ctr_set *s, size_t w)
{
    memset(s, 0, sizeof *s);
    s->w = w;
    set_alloc_slots(s, 64);
}

static void set_free(ctr_set *s)
{
    free(s->keys);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

/* Empty the set. A table grown by one large search is shrunk again so that the next small
 * search does not pay for clearing it. */
static void set_reset(ctr_set *s)
{
    s->n = 0;
    if (s->mask + 1 > 4096) set_alloc_slots(s, 4096);
    else memset(s->slots, 0xff, (s->mask + 1) * sizeof *s->slots);
}

static bool keys_equal64(const int64_t *x, const int64_t *y, size_t w)
{
    for (size_t i = 0; i < w; i++)
        if (x[i] != y[i]) return false;
    return true;
}

/* The index of key, or SIZE_MAX; *slot: where the search for it ended. */
static size_t set_probe(const ctr_set *s, const int64_t *key, size_t *slot)
{
    for (size_t i = hash64(key, s->w) & s->mask;; i = (i + 1) & s->mask) {
        uint32_t e = s->slots[i];
        *slot = i;
        if (e == UINT32_MAX) return SIZE_MAX;
        if (keys_equal64(s->keys + (size_t)e * s->w, key, s->w)) return e;
    }
}

static size_t set_find(const ctr_set *s, const int64_t *key)
{
    size_t slot;
    return set_probe(s, key, &slot);
}

static size_t set_add(ctr_set *s, const int64_t *key, bool *added)
{
    *added = false;
    size_t i, found = set_probe(s, key, &i);
    if (found != SIZE_MAX) return found;
    if (2 * (s->n + 1) > s->mask + 1) {
        set_alloc_slots(s, 2 * (s->mask + 1));
        for (size_t e = 0; e < s->n; e++) {
            size_t j = hash64(s->keys + e * s->w, s->w) & s->mask;
            while (s->slots[j] != UINT32_MAX) j = (j + 1) & s->mask;
            s->slots[j] = (uint32_t)e;
        }
        set_probe(s, key, &i);
    }
    SP_GROW(s->keys, s->cap, (s->n + 1) * s->w);
    memcpy(s->keys + s->n * s->w, key, s->w * sizeof *key);
    s->slots[i] = (uint32_t)s->n;
    *added = true;
    return s->n++;
}


void sp_counter_search_init(sp_counter *a)
{
    set_init(&a->memo, a->w);
    set_init(&a->seen, a->w);
    size_t most = 1; /* the most symbols with a transition from one state */
    for (int q = 0; q < a->nq; q++) {
        size_t syms = 0;
        for (uint32_t j = a->sfirst[q]; j < a->sfirst[q + 1]; j++)
            syms += j == a->sfirst[q] || a->trans[j].sym != a->trans[j - 1].sym;
        if (syms > most) most = syms;
    }
    a->next_share = NEXT_BUDGET / most;
}

void sp_counter_search_free(sp_counter *a)
{
    set_free(&a->memo);
    free(a->memo_val);
    set_free(&a->seen);
    free(a->depth);
    free(a->open);
}

/* ---- lower bound ----------------------------------------------------------------------- */

/* Fewest steps for counter value v to enter sign set S when one step can raise it by at most
 * up and lower it by at most down. */
static int64_t steps_to(int64_t v, unsigned S, int64_t up, int64_t down)
{
    unsigned s = v < 0 ? CTR_NEG : v == 0 ? CTR_ZERO : CTR_POS;
    if (S & s) return 0;
    if (v > 0) { /* S has no positive values: the nearest target is 0 or -1 */
        int64_t d = (S & CTR_ZERO) ? v : v + 1;
        return down == 1 ? d : down ? (d + down - 1) / down : CTR_INF;
    }
    if (v < 0) {
        int64_t d = (S & CTR_ZERO) ? -v : -v + 1;
        return up == 1 ? d : up ? (d + up - 1) / up : CTR_INF;
    }
    if ((S & CTR_POS) && up) return 1;
    if ((S & CTR_NEG) && down) return 1;
    return CTR_INF;
}

int64_t sp_counter_lower_bound(const sp_counter *a, int q, const int64_t *c)
{
    int64_t best = CTR_INF;
    for (size_t e = 0; e < a->nbound; e++) {
        const ctr_bound *x = &a->bound[e];
        if (x->dist[q] == CTR_DIST_INF) continue;
        int64_t need = x->dist[q];
        for (int i = 0; i < a->K && need < best; i++) {
            int64_t s = steps_to(c[i], (x->mask >> (3 * i)) & 7, a->up[i], a->down[i]);
            if (s > need) need = s;
        }
        if (need < best) best = need;
        if (best == 0) break;
    }
    return best;
}

/* ---- reachability of acceptance ---------------------------------------------------------- */

/* The lower bound of sp_counter_lower_bound for key ([state, counters]), and in *spread the
 * sum of the per-counter steps for the mask that attains it: among configurations equally
 * far by the bound, the one with less left to do on its counters is tried first. */
static int64_t bound_spread(const sp_counter *a, const int64_t *key, int64_t *spread)
{
    int64_t best = CTR_INF, best_sum = CTR_INF;
    int q = (int)key[0];
    for (size_t e = 0; e < a->nbound; e++) {
        const ctr_bound *x = &a->bound[e];
        if (x->dist[q] == CTR_DIST_INF) continue;
        int64_t need = x->dist[q], sum = 0;
        for (int i = 0; i < a->K && need < CTR_INF; i++) {
            int64_t s = steps_to(key[1 + i], (x->mask >> (3 * i)) & 7, a->up[i], a->down[i]);
            if (s > need) need = s;
            sum += s < CTR_INF ? s : 0;
        }
        if (need < best || (need == best && sum < best_sum)) {
            best = need;
            best_sum = sum;
        }
    }
    *spread = best_sum;
    return best;
}

/* The open list of the search: a binary heap, least f first, then the deepest, then the
 * least spread, then the oldest node, so the order is fully determined. */
static bool open_before(const ctr_open *x, const ctr_open *y)
{
    if (x->f != y->f) return x->f < y->f;
    if (x->g != y->g) return x->g > y->g;
    if (x->spread != y->spread) return x->spread < y->spread;
    return x->node < y->node;
}

static void open_push(sp_counter *a, ctr_open e)
{
    SP_GROW(a->open, a->open_cap, a->nopen + 1);
    size_t i = a->nopen++;
    while (i > 0 && open_before(&e, &a->open[(i - 1) / 2])) {
        a->open[i] = a->open[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    a->open[i] = e;
}

static ctr_open open_pop(sp_counter *a)
{
    ctr_open top = a->open[0], last = a->open[--a->nopen];
    size_t i = 0, n = a->nopen;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && open_before(&a->open[c + 1], &a->open[c])) c++;
        if (!open_before(&a->open[c], &last)) break;
        a->open[i] = a->open[c];
        i = c;
    }
    if (n) a->open[i] = last;
    return top;
}

/* A* search from start for an accepting configuration within H steps: configurations in
 * order of f = depth + lower bound (the bound is consistent, so a configuration is expanded at
 * its least depth and the shortest continuations are found first), pruning those with f > H.
 * It stops at the first accepting configuration generated. CTR_NONE is exact: no string of at
 * most H symbols leads from start to acceptance. *work counts one unit per transition examined
 * and nbound per lower bound; past `budget` the answer is CTR_BUDGET. */
static ctr_verdict search(sp_counter *a, const int64_t *start, int64_t H, size_t budget,
                          size_t *work)
{
    ctr_set *seen = &a->seen;
    size_t w = a->w;
    set_reset(seen);
    a->nopen = 0;
    *work = a->nbound;
    if (ctr_accepting64(a, start)) return CTR_FOUND;
    if (*work > budget) return CTR_BUDGET;
    int64_t s0, h0 = bound_spread(a, start, &s0);
    if (h0 > H) return CTR_NONE;
    bool added;
    set_add(seen, start, &added);
    SP_GROW(a->depth, a->depth_cap, 1);
    a->depth[0] = 0;
    open_push(a, (ctr_open){h0, s0, 0, 0});
    while (a->nopen) {
        ctr_open e = open_pop(a);
        if (e.g != a->depth[e.node]) continue; /* reached again by a shorter path */
        int64_t key[CTR_MAX_COUNTERS + 1];
        memcpy(key, seen->keys + (size_t)e.node * w, w * sizeof *key);
        int q = (int)key[0];
        uint32_t sig = ctr_sig64(key + 1, a->K);
        for (uint32_t j = a->sfirst[q]; j < a->sfirst[q + 1]; j++) {
            const ctr_trans *t = &a->trans[j];
            if (++*work > budget) return CTR_BUDGET;
            if (!ctr_holds(t->guard, sig)) continue;
            int64_t succ[CTR_MAX_COUNTERS + 1];
            ctr_apply64(a, t, key, succ);
            *work += a->nbound;
            int64_t s, h = bound_spread(a, succ, &s);
            if (h > H - e.g - 1) continue; /* also h == CTR_INF */
            if (h == 0 && ctr_accepting64(a, succ)) return CTR_FOUND;
            size_t idx = set_add(seen, succ, &added);
            if (!added && a->depth[idx] <= e.g + 1) continue;
            SP_GROW(a->depth, a->depth_cap, seen->n);
            a->depth[idx] = e.g + 1;
            open_push(a, (ctr_open){e.g + 1 + h, s, e.g + 1, (uint32_t)idx});
        }
    }
    return CTR_NONE;
}

ctr_verdict sp_counter_reach(sp_counter *a, const int64_t *key, int64_t H, size_t budget)
{
    size_t work;
    return search(a, key, H, budget, &work);
}

/* The search horizon for next() from configuration key ([state, c_0 .. c_{K-1}]): at least
 * NEXT_MIN_HORIZON, so that a completion of at most that many symbols is never missed (the
 * search finds it or runs out of budget, and both answer viable), and beyond that H =
 * |Q| (V + 1) with
 *     V = 2K (sum_i (|c_i| + 1) + |Q|).
 *
 * Claim: if some accepting continuation has total counter movement (the sum over its steps
 * and counters of |change|) at most V, then one of length <= H exists. Proof: take the
 * shortest continuation with movement <= V; cutting out a cycle of configurations never adds
 * movement, so it repeats no configuration. Between two steps that move a counter the counters
 * are fixed, so it visits at most |Q| - 1 further configurations there; and it has at most V
 * moving steps.
 *
 * V is enough for every automaton whose counters change by at most 1 per step and which,
 * from the configurations it can reach, finishes by counting each counter to its target sign
 * (|c_i| units, +1 to cross zero), passing counts on from counter to counter (2 units per unit
 * and counter: down in one, up in the next), and pumping a counter up to |Q| units away from
 * its target and back (one cycle of states per unit). All the zoo languages are of this kind.
 * It is not enough for automata that must pump further (say |Q|^2 units): two-counter
 * reachability is undecidable in general, and the search then answers "not viable" for a
 * configuration whose every continuation is longer than H. */
static int64_t next_horizon(const sp_counter *a, const int64_t *key)
{
    int64_t sum = a->nq;
    for (int i = 0; i < a->K; i++) {
        int64_t v = key[1 + i] < 0 ? -key[1 + i] : key[1 + i];
        if (v > ((int64_t)1 << 40)) v = (int64_t)1 << 40;
        sum += v + 1;
    }
    int64_t V = 2 * a->K * sum, H = (int64_t)a->nq * (V + 1);
    return H > NEXT_MIN_HORIZON ? H : NEXT_MIN_HORIZON;
}

/* Whether key can still reach acceptance, as next() reports it: a search of a->next_share
 * units within next_horizon, "viable" when that is not enough to decide. The share is a
 * constant of the automaton, so the answer is a pure function of the configuration, which is
 * what makes remembering it sound. */
static bool viable(sp_counter *a, const int64_t *key)
{
    if (ctr_accepting64(a, key)) return true;
    size_t m = set_find(&a->memo, key);
    if (m != SIZE_MAX) return a->memo_val[m];
    size_t work;
    bool ok = search(a, key, next_horizon(a, key), a->next_share, &work) != CTR_NONE;
    if (a->memo.n == MEMO_MAX) set_reset(&a->memo);
    bool added;
    m = set_add(&a->memo, key, &added);
    SP_GROW(a->memo_val, a->memo_cap, a->memo.n);
    a->memo_val[m] = ok;
    return ok;
}

/* At most one transition per symbol applies, so one call searches at most
 * (symbols) * next_share <= NEXT_BUDGET units. */
bool sp_counter_next(const sp_lang *lang, const int *p, size_t n, bool *valid, bool *can_end)
{
    sp_counter *a = lang->impl; /* mutable scratch; see sp_counter */
    int64_t key[CTR_MAX_COUNTERS + 1] = {a->start};
    for (size_t i = 0; i < n; i++) {
        const ctr_trans *t = ctr_find_trans(a, (int)key[0], p[i], ctr_sig64(key + 1, a->K));
        if (!t) return false;
        ctr_apply64(a, t, key, key);
    }
    uint32_t sig = ctr_sig64(key + 1, a->K);
    int q = (int)key[0];
    *can_end = ctr_accepting(a, q, sig);
    bool any = *can_end;
    for (uint32_t j = a->sfirst[q]; j < a->sfirst[q + 1]; j++) {
        const ctr_trans *t = &a->trans[j];
        if (!ctr_holds(t->guard, sig)) continue;
        int64_t succ[CTR_MAX_COUNTERS + 1];
        ctr_apply64(a, t, key, succ);
        if (viable(a, succ)) {
            valid[t->sym] = true;
            any = true;
        }
    }
    return any;
}

/* ---- counting and sampling ------------------------------------------------------------- */

static uint64_t hash32(const int32_t *k, size_t w)
{
    uint64_t h = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < w; i++) {
        h ^= (uint32_t)k[i];
        h *= 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    return h;
}

static bool keys_equal32(const int32_t *x, const int32_t *y, size_t w)
{
    for (size_t i = 0; i < w; i++)
        if (x[i] != y[i]) return false;
    return true;
}

/* Key and count of configuration j. */
static inline int32_t *tab_key(const ctr_tables *t, size_t w, size_t j)
{
    return t->keys[j >> CTR_BLOCK_BITS] + (j & (CTR_BLOCK - 1)) * w;
}

static inline long double *tab_F(const ctr_tables *t, size_t j)
{
    return t->F[j >> CTR_BLOCK_BITS] + (j & (CTR_BLOCK - 1));
}

void sp_counter_tables_free(ctr_tables *t)
{
    for (size_t b = 0; b < t->nblocks; b++) {
        free(t->keys[b]);
        free(t->F[b]);
    }
    free(t->keys);
    free(t->F);
    if (t->slots)
        for (size_t l = 0; l <= t->L; l++) free(t->slots[l]);
    free(t->slots);
    free(t->first);
    free(t->slot_mask);
    free(t->count);
    memset(t, 0, sizeof *t);
}

/* Absolute index of configuration `key` in layer `layer`, or SIZE_MAX if it is not there. */
static size_t layer_find(const ctr_tables *t, size_t w, size_t layer, const int32_t *key)
{
    const uint32_t *slots = t->slots[layer];
    size_t mask = t->slot_mask[layer], base = t->first[layer];
    for (size_t i = hash32(key, w) & mask;; i = (i + 1) & mask) {
        uint32_t e = slots[i];
        if (e == UINT32_MAX) return SIZE_MAX;
        if (keys_equal32(tab_key(t, w, base + e), key, w)) return base + e;
    }
}

/* Give layer `layer` (configurations first[layer] .. n - 1) a hash table of at least twice
 * `expect` slots, replacing the one it has. */
static void layer_rehash(ctr_tables *t, size_t w, size_t layer, size_t expect)
{
    size_t size = 16;
    while (size < 2 * expect) size *= 2;
    free(t->slots[layer]);
    uint32_t *slots = t->slots[layer] = sp_malloc(size, sizeof *slots);
    memset(slots, 0xff, size * sizeof *slots);
    t->slot_mask[layer] = size - 1;
    for (size_t j = t->first[layer]; j < t->n; j++) {
        size_t i = hash32(tab_key(t, w, j), w) & (size - 1);
        while (slots[i] != UINT32_MAX) i = (i + 1) & (size - 1);
        slots[i] = (uint32_t)(j - t->first[layer]);
    }
}

/* Append `key` with count F to the last layer, `layer`, which does not hold it yet. */
static void layer_append(ctr_tables *t, size_t w, size_t layer, const int32_t *key, long double F)
{
    size_t j = t->n;
    if ((j & (CTR_BLOCK - 1)) == 0) {
        SP_GROW(t->keys, t->bcap, t->nblocks + 1);
        t->F = sp_realloc(t->F, t->bcap, sizeof *t->F);
        t->keys[t->nblocks] = sp_malloc((size_t)CTR_BLOCK * w, sizeof **t->keys);
        t->F[t->nblocks] = sp_malloc(CTR_BLOCK, sizeof **t->F);
        t->nblocks++;
    }
    memcpy(tab_key(t, w, j), key, w * sizeof *key);
    *tab_F(t, j) = F;
    t->n++;
    size_t size = t->slot_mask[layer] + 1, used = t->n - t->first[layer];
    if (2 * used > size) {
        layer_rehash(t, w, layer, used);
        return;
    }
    uint32_t *slots = t->slots[layer];
    size_t i = hash32(key, w) & (size - 1);
    while (slots[i] != UINT32_MAX) i = (i + 1) & (size - 1);
    slots[i] = (uint32_t)(used - 1);
}

/* Forward counts F_t(config) = number of strings of length t leading from the start to config,
 * for t = 0..L, keeping only configurations whose lower bound to acceptance fits in the L - t
 * steps left: such configurations lie on no accepting path of length <= L, so every count(n),
 * n <= L, and every backward sampling step is unaffected. count(n) = sum of F_n over accepting
 * configurations. Time O(sum over layers of |layer| * transitions per state), memory
 * O(configurations), both capped (see CTR_TABLE_BYTES in counter.h). */
int sp_counter_prepare(sp_lang *lang, size_t L, sp_error *err)
{
    sp_counter *a = lang->impl;
    size_t w = a->w;
    int K = a->K;
    ctr_tables t;
    memset(&t, 0, sizeof t);
    t.L = L;
    t.first = sp_calloc(L + 2, sizeof *t.first);
    t.slots = sp_calloc(L + 1, sizeof *t.slots);
    t.slot_mask = sp_calloc(L + 1, sizeof *t.slot_mask);
    t.count = sp_calloc(L + 1, sizeof *t.count);
    size_t acc_max = 1;                  /* most accepting configurations in one layer */
    size_t work = 0, hcost = a->nbound;  /* steps (see CTR_MAX_WORK) */
    const char *limit = NULL;            /* the limit that stopped the tables */
    size_t limit_value = 0, layer = 0;
    int64_t start64[CTR_MAX_COUNTERS + 1] = {a->start};
    int32_t key[CTR_MAX_COUNTERS + 1] = {a->start};
    layer_rehash(&t, w, 0, 1);
    if (sp_counter_lower_bound(a, a->start, start64 + 1) <= (int64_t)L)
        layer_append(&t, w, 0, key, 1);

    for (;; layer++) {
        size_t lo = t.first[layer], hi = t.n;
        t.first[layer + 1] = hi;
        /* Every weight sampling reads is some F or a partial sum of an accepting layer's F
         * (at most count(t)), so finite F and counts keep sampling exact. */
        long double c = 0;
        bool finite = true;
        size_t nacc = 0;
        for (size_t j = lo; j < hi; j++) {
            const int32_t *k = tab_key(&t, w, j);
            long double F = *tab_F(&t, j);
            finite = finite && isfinite(F);
            if (ctr_accepting(a, k[0], ctr_sig32(k + 1, K))) {
                c += F;
                nacc++;
            }
        }
        if (!finite || !isfinite(c)) {
            sp_counter_tables_free(&t);
            return sp_error_set(err, SP_ELIMIT, lang->file, 0, 0,
                                "%s: counting strings of length %zu needs numbers beyond long "
                                "double's range (about 1.19e4932); lengths up to %zu can be "
                                "counted",
                                lang->name, layer, layer - 1);
        }
        t.count[layer] = c;
        if (nacc > acc_max) acc_max = nacc;
        if (layer == L) break;

        int64_t left = (int64_t)(L - layer - 1);
        layer_rehash(&t, w, layer + 1, hi - lo);
        for (size_t j = lo; j < hi && !limit; j++) {
            memcpy(key, tab_key(&t, w, j), w * sizeof *key);
            long double F = *tab_F(&t, j);
            int q = key[0];
            uint32_t sig = ctr_sig32(key + 1, K);
            for (uint32_t x = a->sfirst[q]; x < a->sfirst[q + 1]; x++) {
                const ctr_trans *tr = &a->trans[x];
                if (++work > a->max_work) {
                    limit = "steps";
                    limit_value = a->max_work;
                    break;
                }
                if (!ctr_holds(tr->guard, sig)) continue;
                int32_t succ[CTR_MAX_COUNTERS + 1];
                int64_t succ64[CTR_MAX_COUNTERS];
                succ[0] = tr->to;
                for (int i = 0; i < K; i++) {
                    succ[1 + i] = key[1 + i] + tr->add[i]; /* |value| <= 8 L: fits */
                    succ64[i] = succ[1 + i];
                }
                size_t found = layer_find(&t, w, layer + 1, succ);
                if (found != SIZE_MAX) {
                    *tab_F(&t, found) += F;
                    continue;
                }
                work += hcost;
                if (sp_counter_lower_bound(a, tr->to, succ64) > left) continue;
                if (t.n == a->max_configs) {
                    limit = "configurations of its counter automaton";
                    limit_value = a->max_configs;
                    break;
                }
                if (t.n - hi == a->max_layer) {
                    limit = "configurations of its counter automaton at one length";
                    limit_value = a->max_layer;
                    break;
                }
                layer_append(&t, w, layer + 1, succ, F);
            }
        }
        if (limit) {
            sp_counter_tables_free(&t);
            return sp_error_set(err, SP_ELIMIT, lang->file, 0, 0,
                                "counting %s up to length %zu needs more than %zu %s (the limit, "
                                "reached at length %zu); ask for shorter strings",
                                lang->name, L, limit_value, limit, layer + 1);
        }
    }
    sp_counter_tables_free(&a->tab);
    a->tab = t;
    /* Sampling scratch for the accepting configurations of one layer, so that sample never
     * allocates. */
    a->acc_idx = sp_realloc(a->acc_idx, acc_max, sizeof *a->acc_idx);
    a->acc_cum = sp_realloc(a->acc_cum, acc_max, sizeof *a->acc_cum);
    a->acc_cap = acc_max;
    a->acc_len = SIZE_MAX;
    return SP_OK;
}

long double sp_counter_count(const sp_lang *lang, size_t n)
{
    const sp_counter *a = lang->impl;
    return a->tab.count[n];
}

/* Pick the final accepting configuration with probability F_n / count(n), then step back:
 * from configuration c at layer t choose the predecessor p (with the transition p -> c) with
 * probability F_{t-1}(p) / F_t(c). Each string is one path, so the product of these
 * probabilities is 1 / count(n). Time O(n * in-degree) per sample after the first at n (which
 * lists layer n's accepting configurations into scratch sized by prepare); no allocation. */
void sp_counter_sample(sp_lang *lang, size_t n, gsl_rng *r, int *out)
{
    sp_counter *a = lang->impl;
    const ctr_tables *t = &a->tab;
    size_t w = a->w;
    int K = a->K;
    if (a->acc_len != n) {
        a->acc_n = 0;
        long double cum = 0;
        for (size_t j = t->first[n]; j < t->first[n + 1]; j++) {
            const int32_t *k = tab_key(t, w, j);
            if (!ctr_accepting(a, k[0], ctr_sig32(k + 1, K))) continue;
            SP_ASSERT(a->acc_n < a->acc_cap);
            cum += *tab_F(t, j);
            a->acc_idx[a->acc_n] = j;
            a->acc_cum[a->acc_n++] = cum;
        }
        a->acc_len = n;
    }
    SP_ASSERT(a->acc_n > 0);
    long double u = sp_rng_uniform_ld(r) * a->acc_cum[a->acc_n - 1];
    size_t lo = 0, hi = a->acc_n - 1; /* first cumulative sum above u; the last if rounding */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->acc_cum[mid] > u) hi = mid;
        else lo = mid + 1;
    }
    size_t j = a->acc_idx[lo];
    for (size_t layer = n; layer > 0; layer--) {
        const int32_t *k = tab_key(t, w, j);
        int q = k[0];
        size_t m = 0;
        long double sum = 0;
        for (uint32_t x = a->in_first[q]; x < a->in_first[q + 1]; x++) {
            const ctr_trans *tr = &a->trans[a->in_list[x]];
            int32_t pred[CTR_MAX_COUNTERS + 1];
            pred[0] = tr->from;
            for (int i = 0; i < K; i++) pred[1 + i] = k[1 + i] - tr->add[i];
            if (!ctr_holds(tr->guard, ctr_sig32(pred + 1, K))) continue;
            size_t p = layer_find(t, w, layer - 1, pred);
            if (p == SIZE_MAX) continue;
            a->pw[m] = *tab_F(t, p);
            a->pidx[m] = p;
            a->psym[m] = tr->sym;
            sum += a->pw[m];
            m++;
        }
        SP_ASSERT(m > 0);
        size_t c = sp_rng_pick_ld(r, a->pw, m, sum);
        out[layer - 1] = a->psym[c];
        j = a->pidx[c];
    }
    SP_ASSERT(j == t->first[0]);
}
