/* The counter kind: deterministic real-time counter automata read from YAML (with the
 * determinism and emptiness checks), and membership by simulation. */
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

/* Budget of the emptiness check (see sp_counter_reach): some tens of milliseconds at most. */
#define LOAD_BUDGET ((size_t)1 << 19)
/* Above this many distinct accepting states × (states + transitions), the lower bound uses the
 * distance to the nearest accepting state instead of one distance table per accepting state. */
#define DIST_BUDGET ((size_t)4 << 20)

static bool counter_accepts(const sp_lang *lang, const int *s, size_t n)
{
    const sp_counter *a = lang->impl;
    int64_t key[CTR_MAX_COUNTERS + 1] = {a->start};
    for (size_t i = 0; i < n; i++) {
        const ctr_trans *t = ctr_find_trans(a, (int)key[0], s[i], ctr_sig64(key + 1, a->K));
        if (!t) return false;
        ctr_apply64(a, t, key, key);
    }
    return ctr_accepting(a, (int)key[0], ctr_sig64(key + 1, a->K));
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
    free(a->bound);
    free(a->dist);
    sp_counter_tables_free(&a->tab);
    free(a->acc_idx);
    free(a->acc_cum);
    free(a->pw);
    free(a->pidx);
    free(a->psym);
    sp_counter_search_free(a);
    free(a);
}

static const sp_lang_ops counter_ops = {
    .accepts = counter_accepts,
    .prepare = sp_counter_prepare,
    .count = sp_counter_count,
    .sample = sp_counter_sample,
    .next = sp_counter_next,
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

    /* State distances for the lower bound: per accepting state when affordable, else to the
     * nearest accepting state; then per distinct mask, the least over its entries. */
    size_t distinct = 0;
    for (int q = 0; q < a->nq; q++) distinct += a->afirst[q + 1] > a->afirst[q];
    bool each = distinct * ((size_t)a->nq + a->nt) <= DIST_BUDGET;
    size_t nq = (size_t)a->nq;
    int32_t *per = sp_malloc((each ? distinct : 1) * nq, sizeof *per);
    const int32_t **of = sp_malloc(a->na, sizeof *of); /* entry -> its distance table */
    bool *target = sp_calloc(nq, sizeof *target);
    int32_t *queue = sp_malloc(nq, sizeof *queue);
    if (!each) {
        for (size_t e = 0; e < a->na; e++) target[a->acc[e].state] = true;
        reverse_bfs(a, target, per, queue);
        for (size_t e = 0; e < a->na; e++) of[e] = per;
    } else {
        size_t t = 0;
        for (int q = 0; q < a->nq; q++) {
            if (a->afirst[q + 1] == a->afirst[q]) continue;
            int32_t *d = per + t++ * nq;
            target[q] = true;
            reverse_bfs(a, target, d, queue);
            target[q] = false;
            for (uint32_t e = a->afirst[q]; e < a->afirst[q + 1]; e++) of[e] = d;
        }
    }
    a->bound = sp_calloc(a->na, sizeof *a->bound);
    a->dist = sp_malloc(a->na * nq, sizeof *a->dist);
    for (size_t e = 0; e < a->na; e++) {
        size_t b = 0;
        while (b < a->nbound && a->bound[b].mask != a->acc[e].mask) b++;
        int32_t *d = a->dist + b * nq;
        if (b == a->nbound) {
            a->nbound++;
            a->bound[b] = (ctr_bound){a->acc[e].mask, d};
            for (size_t q = 0; q < nq; q++) d[q] = CTR_DIST_INF;
        }
        for (size_t q = 0; q < nq; q++)
            if (of[e][q] < d[q]) d[q] = of[e][q];
    }
    free(per);
    free(of);
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

    sp_counter_search_init(a);
    a->acc_len = SIZE_MAX;
    a->max_configs = CTR_TABLE_BYTES / (36 + 4 * (size_t)a->K);
    a->max_layer = CTR_MAX_LAYER;
    a->max_work = CTR_MAX_WORK;
    size_t in = a->max_in ? a->max_in : 1;
    a->pw = sp_malloc(in, sizeof *a->pw);
    a->pidx = sp_malloc(in, sizeof *a->pidx);
    a->psym = sp_malloc(in, sizeof *a->psym);

    /* Is some string of length <= EMPTY_HORIZON accepted? Exact unless the budget runs out. */
    int64_t start[CTR_MAX_COUNTERS + 1] = {a->start};
    switch (sp_counter_reach(a, start, EMPTY_HORIZON, LOAD_BUDGET)) {
    case CTR_FOUND: return SP_OK;
    case CTR_NONE:
        return sp_yaml_error(ld->err, doc, root,
                             "%s has no strings up to length %d: no string that short drives the "
                             "automaton from its start state to an accepting configuration",
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
