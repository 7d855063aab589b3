/* The counter kind: deterministic real-time counter automata read from YAML, membership by
 * simulation, and next-symbol sets by a bounded search over configurations. */
#include "counter.h"
#include "satprobe/alloc.h"

#include <stdlib.h>
#include <string.h>

static const char *const counter_keys[] = {"counters", "states", "start", "transitions", "accept",
                                           NULL};
static const char *const trans_keys[] = {"from", "symbol", "to", "guard", "add", NULL};
static const char *const accept_keys[] = {"state", "counters", NULL};

static const struct {
    const char *word;
    unsigned set;
} sign_words[] = {
    {"zero", CTR_ZERO},
    {"positive", CTR_POS},
    {"negative", CTR_NEG},
    {"nonnegative", CTR_ZERO | CTR_POS},
    {"nonpositive", CTR_NEG | CTR_ZERO},
    {"any", CTR_ANY},
};

/* The loader checks that some string of length <= EMPTY_HORIZON is accepted. */
enum { EMPTY_HORIZON = 64 };

/* Search budgets, in work units (one unit per transition examined plus one per acceptance
 * entry consulted by the lower bound): a few tens of milliseconds at most. */
#define LOAD_BUDGET ((size_t)1 << 21)
#define NEXT_BUDGET ((size_t)1 << 21)
#define GREEDY_BUDGET_MAX ((size_t)1 << 16)
#define MEMO_MAX ((size_t)1 << 20)
/* Above this many distinct accepting states × (states + transitions), the lower bound uses the
 * distance to the nearest accepting state instead of one distance table per accepting state. */
#define DIST_BUDGET ((size_t)4 << 20)

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

static size_t set_find(const ctr_set *s, const int64_t *key)
{
    for (size_t i = hash64(key, s->w) & s->mask;; i = (i + 1) & s->mask) {
        uint32_t e = s->slots[i];
        if (e == UINT32_MAX) return SIZE_MAX;
        if (memcmp(s->keys + (size_t)e * s->w, key, s->w * sizeof *key) == 0) return e;
    }
}

static size_t set_add(ctr_set *s, const int64_t *key, bool *added)
{
    *added = false;
    size_t found = set_find(s, key);
    if (found != SIZE_MAX) return found;
    if (2 * (s->n + 1) > s->mask + 1) {
        set_alloc_slots(s, 2 * (s->mask + 1));
        for (size_t e = 0; e < s->n; e++) {
            size_t i = hash64(s->keys + e * s->w, s->w) & s->mask;
            while (s->slots[i] != UINT32_MAX) i = (i + 1) & s->mask;
            s->slots[i] = (uint32_t)e;
        }
    }
    SP_GROW(s->keys, s->cap, (s->n + 1) * s->w);
    memcpy(s->keys + s->n * s->w, key, s->w * sizeof *key);
    size_t i = hash64(key, s->w) & s->mask;
    while (s->slots[i] != UINT32_MAX) i = (i + 1) & s->mask;
    s->slots[i] = (uint32_t)s->n;
    *added = true;
    return s->n++;
}

/* ---- the automaton --------------------------------------------------------------------- */

/* Fewest steps for counter value v to enter sign set S when one step can raise it by at most
 * up and lower it by at most down. */
static int64_t steps_to(int64_t v, unsigned S, int64_t up, int64_t down)
{
    unsigned s = v < 0 ? CTR_NEG : v == 0 ? CTR_ZERO : CTR_POS;
    if (S & s) return 0;
    if (v > 0) { /* S has no positive values: the nearest target is 0 or -1 */
        int64_t d = (S & CTR_ZERO) ? v : v + 1;
        return down ? (d + down - 1) / down : CTR_INF;
    }
    if (v < 0) {
        int64_t d = (S & CTR_ZERO) ? -v : -v + 1;
        return up ? (d + up - 1) / up : CTR_INF;
    }
    if ((S & CTR_POS) && up) return 1;
    if ((S & CTR_NEG) && down) return 1;
    return CTR_INF;
}

int64_t sp_counter_lower_bound(const sp_counter *a, int q, const int64_t *c)
{
    int64_t best = CTR_INF;
    for (size_t e = 0; e < a->na; e++) {
        const ctr_accept *x = &a->acc[e];
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

/* The transition of state q on sym that applies at counter signs sig, or NULL. */
static const ctr_trans *find_trans(const sp_counter *a, int q, int sym, uint32_t sig)
{
    uint32_t lo = a->sfirst[q], hi = a->sfirst[q + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (a->trans[mid].sym < sym) lo = mid + 1;
        else hi = mid;
    }
    for (; lo < a->sfirst[q + 1] && a->trans[lo].sym == sym; lo++)
        if (ctr_holds(a->trans[lo].guard, sig)) return &a->trans[lo];
    return NULL;
}

static void apply64(const sp_counter *a, const ctr_trans *t, const int64_t *key, int64_t *out)
{
    out[0] = t->to;
    for (int i = 0; i < a->K; i++) out[1 + i] = key[1 + i] + t->add[i];
}

static bool counter_accepts(const sp_lang *lang, const int *s, size_t n)
{
    const sp_counter *a = lang->impl;
    int64_t key[CTR_MAX_COUNTERS + 1] = {a->start};
    for (size_t i = 0; i < n; i++) {
        const ctr_trans *t = find_trans(a, (int)key[0], s[i], ctr_sig64(key + 1, a->K));
        if (!t) return false;
        apply64(a, t, key, key);
    }
    return ctr_accepting(a, (int)key[0], ctr_sig64(key + 1, a->K));
}

/* ---- reachability of acceptance ---------------------------------------------------------- */

typedef enum { CTR_FOUND, CTR_NONE, CTR_BUDGET } ctr_verdict;

typedef struct ctr_kid {
    int64_t h;
    int64_t key[CTR_MAX_COUNTERS + 1];
} ctr_kid;

typedef struct ctr_frame {
    size_t begin, end, cursor; /* this configuration's children: kids[begin .. end) */
    int64_t depth;
} ctr_frame;

static bool is_accepting64(const sp_counter *a, const int64_t *key)
{
    return ctr_accepting(a, (int)key[0], ctr_sig64(key + 1, a->K));
}

/* Push a frame whose children are key's successors that can still reach acceptance within
 * H, nearest (by the lower bound) first. Returns 1 if a child is accepting, 0 otherwise. */
static int greedy_expand(sp_counter *a, const int64_t *key, int64_t depth, int64_t H,
                         size_t *nframes, size_t *nkids, size_t *work)
{
    ctr_frame *frames = a->frames;
    ctr_kid *kids = a->kids;
    size_t begin = *nkids;
    int q = (int)key[0];
    uint32_t sig = ctr_sig64(key + 1, a->K);
    for (uint32_t j = a->sfirst[q]; j < a->sfirst[q + 1]; j++) {
        const ctr_trans *t = &a->trans[j];
        ++*work;
        if (!ctr_holds(t->guard, sig)) continue;
        int64_t succ[CTR_MAX_COUNTERS + 1];
        apply64(a, t, key, succ);
        *work += a->na;
        int64_t h = sp_counter_lower_bound(a, t->to, succ + 1);
        if (h >= CTR_INF || depth + 1 + h > H) continue;
        if (h == 0 && is_accepting64(a, succ)) return 1;
        if (*nkids == a->kids_cap) {
            a->kids_cap = a->kids_cap ? 2 * a->kids_cap : 64;
            a->kids = kids = sp_realloc(kids, a->kids_cap, sizeof *kids);
        }
        ctr_kid *k = &kids[(*nkids)++];
        k->h = h;
        memcpy(k->key, succ, a->w * sizeof *succ);
    }
    for (size_t i = begin + 1; i < *nkids; i++) /* insertion sort: few children */
        for (size_t j = i; j > begin && kids[j].h < kids[j - 1].h; j--) {
            ctr_kid tmp = kids[j];
            kids[j] = kids[j - 1];
            kids[j - 1] = tmp;
        }
    if (*nframes == a->frames_cap) {
        a->frames_cap = a->frames_cap ? 2 * a->frames_cap : 64;
        a->frames = frames = sp_realloc(frames, a->frames_cap, sizeof *frames);
    }
    frames[(*nframes)++] = (ctr_frame){begin, *nkids, begin, depth};
    return 0;
}

/* Depth-first search that always tries the successor nearest to acceptance first. It finds
 * the witness at once for automata that finish by counting down, and is only a fast path:
 * failing here proves nothing. */
static bool greedy_search(sp_counter *a, const int64_t *start, int64_t H, size_t budget)
{
    ctr_set *seen = &a->seen;
    set_reset(seen);
    bool added;
    set_add(seen, start, &added);
    size_t nframes = 0, nkids = 0, work = 0;
    if (greedy_expand(a, start, 0, H, &nframes, &nkids, &work)) return true;
    while (nframes && work < budget) {
        ctr_frame *f = &((ctr_frame *)a->frames)[nframes - 1];
        if (f->cursor == f->end) {
            nkids = f->begin;
            nframes--;
            continue;
        }
        int64_t key[CTR_MAX_COUNTERS + 1];
        memcpy(key, ((ctr_kid *)a->kids)[f->cursor++].key, a->w * sizeof *key);
        int64_t depth = f->depth + 1;
        set_add(seen, key, &added);
        if (!added) continue;
        if (greedy_expand(a, key, depth, H, &nframes, &nkids, &work)) return true;
    }
    return false;
}

/* Breadth-first search over every configuration reachable from start within H steps that the
 * lower bound does not rule out: exact for "is acceptance reachable within H steps" unless the
 * budget runs out first. */
static ctr_verdict bfs_search(sp_counter *a, const int64_t *start, int64_t H, size_t budget)
{
    ctr_set *seen = &a->seen;
    set_reset(seen);
    if (is_accepting64(a, start)) return CTR_FOUND;
    if (sp_counter_lower_bound(a, (int)start[0], start + 1) > H) return CTR_NONE;
    bool added;
    size_t work = 0;
    set_add(seen, start, &added);
    SP_GROW(a->depth, a->depth_cap, seen->n);
    a->depth[0] = 0;
    for (size_t i = 0; i < seen->n; i++) {
        int64_t key[CTR_MAX_COUNTERS + 1];
        memcpy(key, seen->keys + i * a->w, a->w * sizeof *key);
        int32_t d = a->depth[i];
        int q = (int)key[0];
        uint32_t sig = ctr_sig64(key + 1, a->K);
        for (uint32_t j = a->sfirst[q]; j < a->sfirst[q + 1]; j++) {
            const ctr_trans *t = &a->trans[j];
            work++;
            if (!ctr_holds(t->guard, sig)) continue;
            int64_t succ[CTR_MAX_COUNTERS + 1];
            apply64(a, t, key, succ);
            work += a->na;
            int64_t h = sp_counter_lower_bound(a, t->to, succ + 1);
            if (h >= CTR_INF || d + 1 + h > H) continue;
            if (h == 0 && is_accepting64(a, succ)) return CTR_FOUND;
            size_t idx = set_add(seen, succ, &added);
            if (!added) continue;
            SP_GROW(a->depth, a->depth_cap, seen->n);
            a->depth[idx] = d + 1;
        }
        if (work > budget) return CTR_BUDGET;
    }
    return CTR_NONE;
}

/* The search horizon for next() from configuration key. A shortest accepting path whose total
 * counter movement (sum over steps and counters of |change|) is at most
 *     V = 2K * sum_i (|c_i| + 1)
 * never repeats a configuration, so between two steps that move a counter it spends at most
 * |Q| - 1 steps in states alone; it has at most V moving steps, hence length <= |Q| (V + 1).
 * V covers every continuation that counts the counters down to their target signs (|c_i|
 * units, +1 to cross zero), passes counts from one counter to another (2 units per moved unit,
 * once per counter) or raises a counter from zero to a sign and back. Continuations that must
 * first pump a counter further away from its target than that are beyond the horizon. */
static int64_t next_horizon(const sp_counter *a, const int64_t *key, int64_t *V)
{
    int64_t sum = 0;
    for (int i = 0; i < a->K; i++) {
        int64_t v = key[1 + i] < 0 ? -key[1 + i] : key[1 + i];
        if (v > ((int64_t)1 << 40)) v = (int64_t)1 << 40;
        sum += v + 1;
    }
    *V = 2 * a->K * sum;
    return (int64_t)a->nq * (*V + 1);
}

/* Whether an accepting configuration is reachable from key (within next_horizon). */
static bool viable(sp_counter *a, const int64_t *key)
{
    if (is_accepting64(a, key)) return true;
    size_t m = set_find(&a->memo, key);
    if (m != SIZE_MAX) return a->memo_val[m];
    int64_t V, H = next_horizon(a, key, &V);
    size_t g = (size_t)(4 * (V + a->nq) + 64);
    if (g > GREEDY_BUDGET_MAX) g = GREEDY_BUDGET_MAX;
    bool ok = greedy_search(a, key, H, g) || bfs_search(a, key, H, NEXT_BUDGET) == CTR_FOUND;
    if (a->memo.n == MEMO_MAX) set_reset(&a->memo);
    bool added;
    m = set_add(&a->memo, key, &added);
    SP_GROW(a->memo_val, a->memo_cap, a->memo.n);
    a->memo_val[m] = ok;
    return ok;
}

static bool counter_next(const sp_lang *lang, const int *p, size_t n, bool *valid, bool *can_end)
{
    sp_counter *a = lang->impl; /* mutable scratch; see sp_counter */
    int64_t key[CTR_MAX_COUNTERS + 1] = {a->start};
    for (size_t i = 0; i < n; i++) {
        const ctr_trans *t = find_trans(a, (int)key[0], p[i], ctr_sig64(key + 1, a->K));
        if (!t) return false;
        apply64(a, t, key, key);
    }
    uint32_t sig = ctr_sig64(key + 1, a->K);
    int q = (int)key[0];
    *can_end = ctr_accepting(a, q, sig);
    bool any = *can_end;
    for (uint32_t j = a->sfirst[q]; j < a->sfirst[q + 1]; j++) {
        const ctr_trans *t = &a->trans[j];
        if (!ctr_holds(t->guard, sig)) continue;
        int64_t succ[CTR_MAX_COUNTERS + 1];
        apply64(a, t, key, succ);
        if (viable(a, succ)) {
            valid[t->sym] = true;
            any = true;
        }
    }
    return any;
}

static void counter_destroy(void *impl)
{
    sp_counter *a = impl;
    if (!a) return;
    for (int i = 0; i < a->nq; i++) free(a->state_names[i]);
    free(a->state_names);
    free(a->trans);
    free(a->sfirst);
    free(a->in_first);
    free(a->in_list);
    free(a->acc);
    free(a->afirst);
    free(a->dist);
    sp_counter_tables_free(&a->tab);
    free(a->acc_idx);
    free(a->acc_cum);
    free(a->pw);
    free(a->pidx);
    free(a->psym);
    set_free(&a->memo);
    free(a->memo_val);
    set_free(&a->seen);
    free(a->depth);
    free(a->frames);
    free(a->kids);
    free(a);
}

static const sp_lang_ops counter_ops = {
    .accepts = counter_accepts,
    .prepare = sp_counter_prepare,
    .count = sp_counter_count,
    .sample = sp_counter_sample,
    .next = counter_next,
    .destroy = counter_destroy,
};

/* ---- loading --------------------------------------------------------------------------- */

/* A name and its index, sorted by name for lookups during loading. */
typedef struct name_ref {
    const char *s;
    size_t len;
    int idx;
} name_ref;

static int cmp_name_ref(const void *x, const void *y)
{
    const name_ref *a = x, *b = y;
    size_t m = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, m);
    if (c) return c;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

static int find_name(const name_ref *v, size_t n, const char *s, size_t len)
{
    size_t lo = 0, hi = n;
    name_ref key = {s, len, -1};
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cmp_name_ref(&v[mid], &key) < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo < n && v[lo].len == len && memcmp(v[lo].s, s, len) == 0) return v[lo].idx;
    return -1;
}

typedef struct loader {
    sp_lang *lang;
    const sp_yaml_doc *doc;
    sp_error *err;
    sp_counter *a;
    name_ref *states; /* [a->nq] sorted */
    name_ref *syms;   /* [lang->k] sorted */
    uint32_t *gen;    /* determinism check: [3^K] stamp of the group that claimed each sign vector */
} loader;

static int read_state_names(loader *ld, const sp_yaml_node *root)
{
    const sp_yaml_doc *doc = ld->doc;
    sp_counter *a = ld->a;
    const sp_yaml_node *v;
    if (sp_yaml_require(doc, root, "states", &v, ld->err) ||
        sp_yaml_expect(doc, v, SP_YAML_SEQ, "states", ld->err))
        return SP_EINPUT;
    if (v->n == 0) return sp_yaml_error(ld->err, doc, v, "states is empty; list at least one state");
    if (v->n > CTR_MAX_STATES)
        return sp_yaml_error(ld->err, doc, v, "%zu states is more than the limit of %d", v->n,
                             CTR_MAX_STATES);
    a->state_names = sp_calloc(v->n, sizeof *a->state_names);
    a->nq = (int)v->n;
    ld->states = sp_calloc(v->n, sizeof *ld->states);
    for (size_t i = 0; i < v->n; i++) {
        const char *s;
        if (sp_yaml_string(doc, v->items[i], "a state name", &s, ld->err)) return SP_EINPUT;
        if (v->items[i]->len == 0)
            return sp_yaml_error(ld->err, doc, v->items[i], "state name %zu is empty", i + 1);
        a->state_names[i] = sp_strdup(s);
        ld->states[i] = (name_ref){a->state_names[i], v->items[i]->len, (int)i};
    }
    qsort(ld->states, v->n, sizeof *ld->states, cmp_name_ref);
    /* Report the duplicate whose second occurrence comes first in the file. */
    size_t dup = SIZE_MAX, orig = 0;
    for (size_t i = 1; i < v->n; i++) {
        const name_ref *p = &ld->states[i - 1], *c = &ld->states[i];
        bool first_of_group = i == 1 || ld->states[i - 2].len != p->len ||
                              memcmp(ld->states[i - 2].s, p->s, p->len) != 0;
        if (first_of_group && p->len == c->len && memcmp(p->s, c->s, c->len) == 0 &&
            (size_t)c->idx < dup) {
            dup = (size_t)c->idx;
            orig = (size_t)p->idx;
        }
    }
    if (dup != SIZE_MAX)
        return sp_yaml_error(ld->err, doc, v->items[dup], "duplicate state name '%s' (also at %d:%d)",
                             a->state_names[dup], v->items[orig]->line, v->items[orig]->col);
    return SP_OK;
}

static int state_at(loader *ld, const sp_yaml_node *node, const char *what, int32_t *out)
{
    const char *s;
    if (sp_yaml_string(ld->doc, node, what, &s, ld->err)) return SP_EINPUT;
    int i = find_name(ld->states, (size_t)ld->a->nq, s, node->len);
    if (i < 0)
        return sp_yaml_error(ld->err, ld->doc, node, "unknown state '%s' (not listed in states)", s);
    *out = i;
    return SP_OK;
}

/* A list of K sign words into a packed mask. */
static int read_signs(loader *ld, const sp_yaml_node *v, const char *what, uint32_t *mask)
{
    int K = ld->a->K;
    if (sp_yaml_expect(ld->doc, v, SP_YAML_SEQ, what, ld->err)) return SP_EINPUT;
    if (v->n != (size_t)K)
        return sp_yaml_error(ld->err, ld->doc, v,
                             "%s has %zu sign%s, but the automaton has %d counter%s (one sign per "
                             "counter)",
                             what, v->n, v->n == 1 ? "" : "s", K, K == 1 ? "" : "s");
    *mask = 0;
    for (int i = 0; i < K; i++) {
        const sp_yaml_node *w = v->items[i];
        const char *s;
        if (sp_yaml_string(ld->doc, w, "a sign", &s, ld->err)) return SP_EINPUT;
        unsigned set = 0;
        for (size_t j = 0; j < sizeof sign_words / sizeof *sign_words && !set; j++)
            if (strcmp(s, sign_words[j].word) == 0) set = sign_words[j].set;
        if (!set)
            return sp_yaml_error(ld->err, ld->doc, w,
                                 "unknown sign '%s' in %s (expected zero, positive, negative, "
                                 "nonnegative, nonpositive or any)",
                                 s, what);
        *mask |= (uint32_t)set << (3 * i);
    }
    return SP_OK;
}

static uint32_t all_any(int K)
{
    uint32_t m = 0;
    for (int i = 0; i < K; i++) m |= (uint32_t)CTR_ANY << (3 * i);
    return m;
}

static int read_transition(loader *ld, const sp_yaml_node *v, ctr_trans *t)
{
    const sp_yaml_doc *doc = ld->doc;
    sp_error *err = ld->err;
    int K = ld->a->K;
    if (sp_yaml_expect(doc, v, SP_YAML_MAP, "a transition", err) ||
        sp_yaml_check_keys(doc, v, trans_keys, "a transition", err))
        return SP_EINPUT;
    const sp_yaml_node *from, *sym, *to;
    if (sp_yaml_require(doc, v, "from", &from, err) || state_at(ld, from, "from", &t->from) ||
        sp_yaml_require(doc, v, "symbol", &sym, err))
        return SP_EINPUT;
    const char *s;
    if (sp_yaml_string(doc, sym, "symbol", &s, err)) return SP_EINPUT;
    t->sym = find_name(ld->syms, ld->lang->k, s, sym->len);
    if (t->sym < 0) return sp_yaml_error(err, doc, sym, "symbol '%s' is not in the alphabet", s);
    if (sp_yaml_require(doc, v, "to", &to, err) || state_at(ld, to, "to", &t->to)) return SP_EINPUT;
    const sp_yaml_node *g = sp_yaml_get(v, "guard");
    t->guard = all_any(K);
    if (g && !sp_yaml_is_null(g) && read_signs(ld, g, "guard", &t->guard)) return SP_EINPUT;
    const sp_yaml_node *add = sp_yaml_get(v, "add");
    memset(t->add, 0, sizeof t->add);
    if (add && !sp_yaml_is_null(add)) {
        if (sp_yaml_expect(doc, add, SP_YAML_SEQ, "add", err)) return SP_EINPUT;
        if (add->n != (size_t)K)
            return sp_yaml_error(err, doc, add,
                                 "add has %zu number%s, but the automaton has %d counter%s (one "
                                 "increment per counter)",
                                 add->n, add->n == 1 ? "" : "s", K, K == 1 ? "" : "s");
        for (int i = 0; i < K; i++) {
            long x;
            if (sp_yaml_int(doc, add->items[i], "an increment in add", -CTR_MAX_ADD, CTR_MAX_ADD,
                            &x, err))
                return SP_EINPUT;
            t->add[i] = (int8_t)x;
        }
    }
    t->line = v->line;
    t->col = v->col;
    return SP_OK;
}

/* Sort key: file order is kept in `line`/`col`, which grow with the file position. */
static int cmp_trans(const void *x, const void *y)
{
    const ctr_trans *a = x, *b = y;
    if (a->from != b->from) return a->from < b->from ? -1 : 1;
    if (a->sym != b->sym) return a->sym < b->sym ? -1 : 1;
    if (a->line != b->line) return a->line < b->line ? -1 : 1;
    return (a->col > b->col) - (a->col < b->col);
}

/* Two guards can hold together iff, for every counter, their sign sets intersect. */
static bool guards_meet(uint32_t g1, uint32_t g2, int K)
{
    uint32_t x = g1 & g2;
    for (int i = 0; i < K; i++)
        if (!((x >> (3 * i)) & 7)) return false;
    return true;
}

static const char *sign_set_name(unsigned s)
{
    switch (s) {
    case CTR_NEG: return "negative";
    case CTR_ZERO: return "zero";
    case CTR_POS: return "positive";
    case CTR_ZERO | CTR_POS: return "zero or positive";
    case CTR_NEG | CTR_ZERO: return "zero or negative";
    case CTR_NEG | CTR_POS: return "nonzero";
    default: return "anything";
    }
}

static int nondeterminism_error(loader *ld, const ctr_trans *t1, const ctr_trans *t2,
                                const sp_yaml_node *node)
{
    const sp_counter *a = ld->a;
    uint32_t x = t1->guard & t2->guard;
    char when[512] = "";
    size_t used = 0;
    for (int i = 0; i < a->K; i++) {
        unsigned s = (x >> (3 * i)) & 7;
        if (s == CTR_ANY) continue;
        int w = snprintf(when + used, sizeof when - used, "%s counter %d is %s",
                         used ? " and" : " when", i + 1, sign_set_name(s));
        if (w > 0 && (size_t)w < sizeof when - used) used += (size_t)w;
    }
    if (!used) snprintf(when, sizeof when, " whatever the counters are");
    return sp_yaml_error(ld->err, ld->doc, node,
                         "nondeterministic: transitions at %d:%d and %d:%d both apply in state %s "
                         "on '%s'%s",
                         t1->line, t1->col, t2->line, t2->col, a->state_names[t1->from],
                         ld->lang->symbols[t1->sym], when);
}

/* Within one (state, symbol) group trans[b..e) (file order), the first transition whose guard
 * meets an earlier one's: *second is its position in the group, *first the earliest partner.
 * Pairwise for small groups; for large ones each guard claims the sign vectors it covers
 * (3^K of them at most, and a deterministic group covers each at most once), so the cost is
 * O(min(m^2, 3^K)) per group. */
static bool group_conflict(loader *ld, const ctr_trans *tr, size_t b, size_t e, size_t *first,
                           size_t *second, uint32_t stamp)
{
    int K = ld->a->K;
    size_t atoms = 1;
    for (int i = 0; i < K; i++) atoms *= 3;
    size_t m = e - b;
    if (m * m <= 2 * atoms) {
        for (size_t j = b + 1; j < e; j++)
            for (size_t i = b; i < j; i++)
                if (guards_meet(tr[i].guard, tr[j].guard, K)) {
                    *first = i;
                    *second = j;
                    return true;
                }
        return false;
    }
    for (size_t j = b; j < e; j++) {
        /* Enumerate the sign vectors of guard j in mixed radix. */
        int digit[CTR_MAX_COUNTERS] = {0}, opts[CTR_MAX_COUNTERS][3], nopt[CTR_MAX_COUNTERS];
        for (int i = 0; i < K; i++) {
            nopt[i] = 0;
            for (int s = 0; s < 3; s++)
                if ((tr[j].guard >> (3 * i + s)) & 1) opts[i][nopt[i]++] = s;
        }
        for (;;) {
            size_t atom = 0;
            for (int i = K; i-- > 0;) atom = atom * 3 + (size_t)opts[i][digit[i]];
            if (ld->gen[atom] == stamp) {
                for (size_t i = b; i < j; i++)
                    if (guards_meet(tr[i].guard, tr[j].guard, K)) {
                        *first = i;
                        *second = j;
                        return true;
                    }
                SP_ASSERT(!"claimed sign vector without a meeting guard");
            }
            ld->gen[atom] = stamp;
            int i = 0;
            while (i < K && ++digit[i] == nopt[i]) digit[i++] = 0;
            if (i == K) break;
        }
    }
    return false;
}

static int read_transitions(loader *ld, const sp_yaml_node *root)
{
    const sp_yaml_doc *doc = ld->doc;
    sp_counter *a = ld->a;
    const sp_yaml_node *v;
    if (sp_yaml_require(doc, root, "transitions", &v, ld->err) ||
        sp_yaml_expect(doc, v, SP_YAML_SEQ, "transitions", ld->err))
        return SP_EINPUT;
    if (v->n > CTR_MAX_TRANSITIONS)
        return sp_yaml_error(ld->err, doc, v, "%zu transitions is more than the limit of %d", v->n,
                             CTR_MAX_TRANSITIONS);
    a->nt = v->n;
    a->trans = sp_calloc(v->n, sizeof *a->trans);
    for (size_t i = 0; i < v->n; i++)
        if (read_transition(ld, v->items[i], &a->trans[i])) return SP_EINPUT;
    /* Every node has its own position, so sorting by position keeps file order within a
     * (state, symbol) group; positions lead back to the nodes for error reports. */
    qsort(a->trans, a->nt, sizeof *a->trans, cmp_trans);

    a->sfirst = sp_calloc((size_t)a->nq + 1, sizeof *a->sfirst);
    for (size_t j = 0; j < a->nt; j++) a->sfirst[a->trans[j].from + 1]++;
    for (int q = 0; q < a->nq; q++) a->sfirst[q + 1] += a->sfirst[q];

    size_t atoms = 1;
    for (int i = 0; i < a->K; i++) atoms *= 3;
    ld->gen = sp_calloc(atoms, sizeof *ld->gen);
    const ctr_trans *bad1 = NULL, *bad2 = NULL;
    uint32_t stamp = 0;
    for (size_t b = 0; b < a->nt;) {
        size_t e = b + 1;
        while (e < a->nt && a->trans[e].from == a->trans[b].from && a->trans[e].sym == a->trans[b].sym)
            e++;
        size_t i, j;
        if (group_conflict(ld, a->trans, b, e, &i, &j, ++stamp)) {
            const ctr_trans *t2 = &a->trans[j];
            if (!bad2 || t2->line < bad2->line || (t2->line == bad2->line && t2->col < bad2->col)) {
                bad1 = &a->trans[i];
                bad2 = t2;
            }
        }
        b = e;
    }
    if (bad2) {
        const sp_yaml_node *node = NULL;
        for (size_t i = 0; i < v->n && !node; i++)
            if (v->items[i]->line == bad2->line && v->items[i]->col == bad2->col) node = v->items[i];
        return nondeterminism_error(ld, bad1, bad2, node);
    }

    a->in_first = sp_calloc((size_t)a->nq + 1, sizeof *a->in_first);
    a->in_list = sp_calloc(a->nt ? a->nt : 1, sizeof *a->in_list);
    for (size_t j = 0; j < a->nt; j++) a->in_first[a->trans[j].to + 1]++;
    for (int q = 0; q < a->nq; q++) {
        size_t d = a->in_first[q + 1];
        if (d > a->max_in) a->max_in = d;
        a->in_first[q + 1] += a->in_first[q];
    }
    uint32_t *fill = sp_calloc((size_t)a->nq, sizeof *fill);
    for (size_t j = 0; j < a->nt; j++) {
        int q = a->trans[j].to;
        a->in_list[a->in_first[q] + fill[q]++] = (uint32_t)j;
    }
    free(fill);
    for (size_t j = 0; j < a->nt; j++)
        for (int i = 0; i < a->K; i++) {
            int64_t d = a->trans[j].add[i];
            if (d > a->up[i]) a->up[i] = d;
            if (-d > a->down[i]) a->down[i] = -d;
        }
    return SP_OK;
}

static int cmp_accept(const void *x, const void *y)
{
    const ctr_accept *a = x, *b = y;
    return (a->state > b->state) - (a->state < b->state);
}

/* Fewest transitions (guards ignored) from every state into any of the marked states. */
static void reverse_bfs(const sp_counter *a, const bool *target, int32_t *dist, int32_t *queue)
{
    size_t head = 0, tail = 0;
    for (int q = 0; q < a->nq; q++) {
        dist[q] = target[q] ? 0 : CTR_DIST_INF;
        if (target[q]) queue[tail++] = q;
    }
    while (head < tail) {
        int q = queue[head++];
        for (uint32_t j = a->in_first[q]; j < a->in_first[q + 1]; j++) {
            int p = a->trans[a->in_list[j]].from;
            if (dist[p] == CTR_DIST_INF) {
                dist[p] = dist[q] + 1;
                queue[tail++] = p;
            }
        }
    }
}

static int read_accept(loader *ld, const sp_yaml_node *root)
{
    const sp_yaml_doc *doc = ld->doc;
    sp_counter *a = ld->a;
    const sp_yaml_node *v;
    if (sp_yaml_require(doc, root, "accept", &v, ld->err) ||
        sp_yaml_expect(doc, v, SP_YAML_SEQ, "accept", ld->err))
        return SP_EINPUT;
    if (v->n == 0)
        return sp_yaml_error(ld->err, doc, v,
                             "accept is empty, so the language has no strings; list at least one "
                             "accepting state");
    if (v->n > CTR_MAX_ACCEPT)
        return sp_yaml_error(ld->err, doc, v, "%zu accept entries is more than the limit of %d",
                             v->n, CTR_MAX_ACCEPT);
    a->acc = sp_calloc(v->n, sizeof *a->acc);
    a->na = v->n;
    for (size_t i = 0; i < v->n; i++) {
        const sp_yaml_node *x = v->items[i], *st;
        if (sp_yaml_expect(doc, x, SP_YAML_MAP, "an accept entry", ld->err) ||
            sp_yaml_check_keys(doc, x, accept_keys, "an accept entry", ld->err) ||
            sp_yaml_require(doc, x, "state", &st, ld->err) ||
            state_at(ld, st, "accept", &a->acc[i].state))
            return SP_EINPUT;
        const sp_yaml_node *c = sp_yaml_get(x, "counters");
        a->acc[i].mask = all_any(a->K);
        if (c && !sp_yaml_is_null(c) && read_signs(ld, c, "counters", &a->acc[i].mask))
            return SP_EINPUT;
    }
    qsort(a->acc, a->na, sizeof *a->acc, cmp_accept);
    a->afirst = sp_calloc((size_t)a->nq + 1, sizeof *a->afirst);
    for (size_t e = 0; e < a->na; e++) a->afirst[a->acc[e].state + 1]++;
    for (int q = 0; q < a->nq; q++) a->afirst[q + 1] += a->afirst[q];

    /* State distances for the lower bound: one table per accepting state when affordable. */
    size_t distinct = 0;
    for (int q = 0; q < a->nq; q++) distinct += a->afirst[q + 1] > a->afirst[q];
    bool each = distinct * ((size_t)a->nq + a->nt) <= DIST_BUDGET;
    size_t tables = each ? distinct : 1;
    a->dist = sp_malloc(tables * (size_t)a->nq, sizeof *a->dist);
    bool *target = sp_calloc((size_t)a->nq, sizeof *target);
    int32_t *queue = sp_malloc((size_t)a->nq, sizeof *queue);
    if (!each) {
        for (size_t e = 0; e < a->na; e++) target[a->acc[e].state] = true;
        reverse_bfs(a, target, a->dist, queue);
        for (size_t e = 0; e < a->na; e++) a->acc[e].dist = a->dist;
    } else {
        size_t t = 0;
        for (int q = 0; q < a->nq; q++) {
            if (a->afirst[q + 1] == a->afirst[q]) continue;
            int32_t *d = a->dist + t++ * (size_t)a->nq;
            target[q] = true;
            reverse_bfs(a, target, d, queue);
            target[q] = false;
            for (uint32_t e = a->afirst[q]; e < a->afirst[q + 1]; e++) a->acc[e].dist = d;
        }
    }
    free(target);
    free(queue);
    return SP_OK;
}

static int load(loader *ld, const sp_yaml_node *root)
{
    const sp_yaml_doc *doc = ld->doc;
    sp_lang *lang = ld->lang;
    sp_counter *a = ld->a;
    if (sp_lang_check_keys(lang, doc, root, counter_keys, ld->err)) return SP_EINPUT;
    const sp_yaml_node *v;
    long K;
    if (sp_yaml_require(doc, root, "counters", &v, ld->err) ||
        sp_yaml_int(doc, v, "counters", 1, CTR_MAX_COUNTERS, &K, ld->err))
        return SP_EINPUT;
    a->K = (int)K;
    a->w = (size_t)K + 1;
    a->k = (int)lang->k;
    ld->syms = sp_calloc(lang->k, sizeof *ld->syms);
    for (size_t i = 0; i < lang->k; i++)
        ld->syms[i] = (name_ref){lang->symbols[i], strlen(lang->symbols[i]), (int)i};
    qsort(ld->syms, lang->k, sizeof *ld->syms, cmp_name_ref);

    if (read_state_names(ld, root)) return SP_EINPUT;
    const sp_yaml_node *st = sp_yaml_get(root, "start");
    a->start = 0;
    if (st && !sp_yaml_is_null(st) && state_at(ld, st, "start", &a->start)) return SP_EINPUT;
    if (read_transitions(ld, root) || read_accept(ld, root)) return SP_EINPUT;

    set_init(&a->memo, a->w);
    set_init(&a->seen, a->w);
    a->acc_len = SIZE_MAX;
    a->max_configs = CTR_MAX_CONFIGS;
    size_t in = a->max_in ? a->max_in : 1;
    a->pw = sp_malloc(in, sizeof *a->pw);
    a->pidx = sp_malloc(in, sizeof *a->pidx);
    a->psym = sp_malloc(in, sizeof *a->psym);

    /* Is some string of length <= EMPTY_HORIZON accepted? Exact unless the budget runs out. */
    int64_t start[CTR_MAX_COUNTERS + 1] = {a->start};
    if (is_accepting64(a, start) || greedy_search(a, start, EMPTY_HORIZON, GREEDY_BUDGET_MAX))
        return SP_OK;
    switch (bfs_search(a, start, EMPTY_HORIZON, LOAD_BUDGET)) {
    case CTR_FOUND: return SP_OK;
    case CTR_NONE:
        return sp_yaml_error(ld->err, doc, root,
                             "%s has no strings up to length %d: no string of that length drives "
                             "the automaton from its start state to an accepting configuration",
                             lang->name, EMPTY_HORIZON);
    case CTR_BUDGET: break;
    }
    return sp_error_set(ld->err, SP_ELIMIT, doc->file, root->line, root->col,
                        "cannot tell whether %s has any strings: searching the strings up to "
                        "length %d visited %zu configurations without finding a member; simplify "
                        "the automaton",
                        lang->name, EMPTY_HORIZON, a->seen.n);
}

int sp_counter_load(sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *root, sp_error *err)
{
    lang->ops = &counter_ops;
    sp_counter *a = sp_calloc(1, sizeof *a);
    lang->impl = a;
    loader ld = {.lang = lang, .doc = doc, .err = err, .a = a};
    int status = load(&ld, root);
    free(ld.states);
    free(ld.syms);
    free(ld.gen);
    return status;
}
