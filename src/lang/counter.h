/* Private to the counter kind: the automaton, shared by its loader and membership (counter.c)
 * and its configuration-space algorithms: counting, sampling, next() (counter_count.c). */
#ifndef SATPROBE_COUNTER_H
#define SATPROBE_COUNTER_H

#include "lang_impl.h"

#include <stdint.h>

enum {
    CTR_MAX_COUNTERS = 8,
    CTR_MAX_STATES = 1000,
    CTR_MAX_TRANSITIONS = 100000,
    CTR_MAX_ACCEPT = 1000,
    CTR_MAX_ADD = 8,
};

/* Sign sets. A counter's sign is one bit; a guard or acceptance condition is, per counter, the
 * set of signs it allows. Counter i uses bits 3i..3i+2 of a packed 24-bit word, so a whole
 * configuration's signs are one word `sig` with exactly one bit per counter, and a condition
 * `mask` holds iff (mask & sig) == sig. */
enum { CTR_NEG = 1, CTR_ZERO = 2, CTR_POS = 4, CTR_ANY = 7 };

/* "No path": larger than any horizon or length we search. */
#define CTR_INF ((int64_t)1 << 60)

/* Limits of prepare(), so that any automaton fails fast with SP_ELIMIT instead of taking
 * seconds or gigabytes:
 *   - CTR_TABLE_BYTES bounds the tables: a configuration takes 4(K + 1) bytes of key, 16 of
 *     count and 8-16 of hash slots, so at most CTR_TABLE_BYTES / (36 + 4K) configurations;
 *   - CTR_MAX_LAYER bounds the configurations at one length (larger layers fall out of the
 *     caches, and every insertion then costs a cache miss);
 *   - CTR_MAX_WORK bounds the steps: one per transition examined, plus the number of
 *     acceptance masks per lower bound evaluated (once per new configuration). */
#define CTR_TABLE_BYTES ((size_t)160 << 20)
#define CTR_MAX_LAYER ((size_t)1 << 17)
#define CTR_MAX_WORK ((size_t)1 << 23)

typedef struct ctr_trans {
    int32_t from, sym, to;
    uint32_t guard;              /* packed sign sets the counters must be in */
    int8_t add[CTR_MAX_COUNTERS]; /* added to each counter, in [-8, 8] */
    int line, col;               /* where the transition was written */
} ctr_trans;

typedef struct ctr_accept {
    int32_t state;
    uint32_t mask; /* packed sign sets of an accepting configuration */
} ctr_accept;

/* One acceptance mask for the lower bound, with dist[q] = the fewest steps (guards ignored)
 * from q to a state accepting with this mask (or to any accepting state, a weaker bound, when
 * there are too many accepting states to afford one search each); CTR_DIST_INF if none. */
typedef struct ctr_bound {
    uint32_t mask;
    const int32_t *dist; /* [nq] */
} ctr_bound;

#define CTR_DIST_INF INT32_MAX

/* Forward count tables for lengths 0..L: layer t holds every configuration reached by some
 * string of length t from which acceptance is still possible within L - t steps (by the lower
 * bound), with F = the number of such strings. Keys are int32 [state, c_0 .. c_{K-1}]
 * (|c_i| <= 8L <= 800000). Configurations are numbered layer after layer and stored in
 * blocks of CTR_BLOCK, so that the tables grow without copying. */
enum { CTR_BLOCK_BITS = 14, CTR_BLOCK = 1 << CTR_BLOCK_BITS };

typedef struct ctr_tables {
    size_t L;
    size_t n;              /* configurations over all layers */
    size_t nblocks, bcap;
    int32_t **keys;        /* [nblocks] blocks of [CTR_BLOCK * w] */
    long double **F;       /* [nblocks] blocks of [CTR_BLOCK] */
    size_t *first;         /* [L + 2]: layer t is configurations first[t] .. first[t+1] - 1 */
    uint32_t **slots;      /* [L + 1] layer t's hash table, at most half full: indices relative
                            * to first[t], UINT32_MAX when empty */
    size_t *slot_mask;     /* [L + 1] its size - 1 (a power of two minus one) */
    long double *count;    /* [L + 1] strings of each length */
} ctr_tables;

/* A set of configurations with int64 counters, in insertion order (used by the searches and the
 * next() memo). Keys are [state, c_0 .. c_{K-1}] as int64. */
typedef struct ctr_set {
    size_t w;         /* int64 per key */
    size_t n;         /* keys stored */
    size_t cap;       /* int64 values allocated in keys */
    int64_t *keys;    /* [n * w] used */
    uint32_t *slots;  /* [mask + 1] key indices, UINT32_MAX when empty */
    size_t mask;
} ctr_set;

/* An entry of the search's open list: configuration seen.keys[node] at depth g. */
typedef struct ctr_open {
    int64_t f;      /* g + the lower bound */
    int64_t spread; /* tie-break: summed per-counter steps to the target */
    int32_t g;
    uint32_t node;
} ctr_open;

typedef struct sp_counter {
    int K;                /* counters, 1..8 */
    int nq;               /* states */
    int k;                /* alphabet size */
    int start;
    size_t w;             /* ints per configuration key: K + 1 */
    char **state_names;   /* [nq] */
    size_t nt;
    ctr_trans *trans;     /* [nt] sorted by (from, sym), file order within equal keys */
    uint32_t *sfirst;     /* [nq + 1] transitions from q: trans[sfirst[q] .. sfirst[q+1]) */
    uint32_t *in_first;   /* [nq + 1] transitions into q: in_list[in_first[q] .. in_first[q+1]) */
    uint32_t *in_list;    /* [nt] indices into trans */
    size_t max_in;        /* largest in-degree */
    size_t na;
    ctr_accept *acc;      /* [na] sorted by state */
    uint32_t *afirst;     /* [nq + 1] acceptance entries of q: acc[afirst[q] .. afirst[q+1]) */
    size_t nbound;
    ctr_bound *bound;     /* [nbound] the distinct acceptance masks */
    int32_t *dist;        /* [nbound * nq] their state distances */
    int64_t up[CTR_MAX_COUNTERS];   /* largest increase of counter i in one step (0: never) */
    int64_t down[CTR_MAX_COUNTERS]; /* largest decrease of counter i in one step (0: never) */

    ctr_tables tab;       /* count tables; tab.L == 0 and tab.keys == NULL before prepare */
    size_t max_configs;   /* CTR_TABLE_BYTES / (36 + 4K) */
    size_t max_layer;     /* CTR_MAX_LAYER */
    size_t max_work;      /* CTR_MAX_WORK (the limits are lowered only by tests) */

    /* Sampling scratch, sized by prepare so that sample never allocates. */
    size_t acc_len;       /* the length the accepting list below is for; SIZE_MAX: none */
    size_t *acc_idx;      /* [acc_cap] accepting configurations of layer acc_len */
    long double *acc_cum; /* [acc_cap] their cumulative counts */
    size_t acc_n;         /* entries used */
    size_t acc_cap;       /* the most accepting configurations in one layer */
    long double *pw;      /* [max_in] predecessor weights */
    size_t *pidx;         /* [max_in] predecessor configuration indices */
    int *psym;            /* [max_in] the symbol read to leave each predecessor */

    /* next() state: the search budget per configuration (NEXT_BUDGET / the most symbols
     * leaving one state), results of earlier searches (a pure function of the configuration,
     * so keeping them does not change any answer) and search scratch. next() takes a const
     * sp_lang, but lang->impl points to non-const memory; the language is documented as not
     * thread-safe, which is what makes this mutation sound. */
    size_t next_share;
    ctr_set memo;
    uint8_t *memo_val;    /* [memo.n] 1: viable */
    size_t memo_cap;
    ctr_set seen;         /* configurations the current search has reached */
    int32_t *depth;       /* [seen.n] the fewest steps found to each of them */
    size_t depth_cap;
    ctr_open *open;       /* [nopen] the search's open list (a binary heap) */
    size_t nopen, open_cap;
} sp_counter;

/* The packed sign word of counters c[0..K). */
static inline uint32_t ctr_sig64(const int64_t *c, int K)
{
    uint32_t s = 0;
    for (int i = 0; i < K; i++)
        s |= (uint32_t)(c[i] < 0 ? CTR_NEG : c[i] == 0 ? CTR_ZERO : CTR_POS) << (3 * i);
    return s;
}

static inline uint32_t ctr_sig32(const int32_t *c, int K)
{
    uint32_t s = 0;
    for (int i = 0; i < K; i++)
        s |= (uint32_t)(c[i] < 0 ? CTR_NEG : c[i] == 0 ? CTR_ZERO : CTR_POS) << (3 * i);
    return s;
}

static inline bool ctr_holds(uint32_t mask, uint32_t sig) { return (mask & sig) == sig; }

/* Whether state q with counter signs sig is accepting. */
static inline bool ctr_accepting(const sp_counter *a, int q, uint32_t sig)
{
    for (uint32_t e = a->afirst[q]; e < a->afirst[q + 1]; e++)
        if (ctr_holds(a->acc[e].mask, sig)) return true;
    return false;
}

/* The transition of state q on sym that applies at counter signs sig, or NULL. */
static inline const ctr_trans *ctr_find_trans(const sp_counter *a, int q, int sym, uint32_t sig)
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

/* The configuration [state, counters] reached from key by t (out may be key). */
static inline void ctr_apply64(const sp_counter *a, const ctr_trans *t, const int64_t *key,
                               int64_t *out)
{
    out[0] = t->to;
    for (int i = 0; i < a->K; i++) out[1 + i] = key[1 + i] + t->add[i];
}

static inline bool ctr_accepting64(const sp_counter *a, const int64_t *key)
{
    return ctr_accepting(a, (int)key[0], ctr_sig64(key + 1, a->K));
}

typedef enum ctr_verdict { CTR_FOUND, CTR_NONE, CTR_BUDGET } ctr_verdict;

/* Whether an accepting configuration is reachable from key ([state, counters]) within H
 * steps: an A* search, shortest continuations first, of at most `budget` work units (one per
 * transition examined and one per acceptance mask per lower bound). CTR_FOUND and CTR_NONE are
 * exact; CTR_BUDGET: undecided. Uses a->seen; afterwards a->seen.n is the number of
 * configurations reached. */
ctr_verdict sp_counter_reach(sp_counter *a, const int64_t *key, int64_t H, size_t budget);

/* The next() operation (see sp_lang_next). What is exact and what is not:
 *   - a prefix whose run blocks is not viable, and *can_end says whether p is a member: exact;
 *   - valid[a] is false when no transition on a applies after p: exact;
 *   - otherwise valid[a] comes from an A* search from the configuration c reached by p·a
 *     (sp_counter_reach), within H(c) >= 64 steps (next_horizon in counter_count.c) and
 *     NEXT_BUDGET / (the most symbols leaving one state) work units:
 *       found an accepting configuration: true, exact (some member extends p·a);
 *       exhausted every continuation of at most H(c) symbols: false, which is exact unless
 *         every completion of p·a is longer than H(c) (never for the automata the horizon
 *         is built for, which include the zoo's; undecidable in general);
 *       ran out of budget: true, an over-approximation (p·a may be dead).
 *     So the budget never makes a member's prefix dead, and a member p·a·w with
 *     |w| <= 64 always has valid[a] true.
 * The result is *can_end or some valid[a]. Each configuration's answer is a pure function of
 * it (the budget is a constant of the automaton), so next() is a pure function of the prefix
 * and remembering answers changes none. next(p) may mark a valid on a budget-undecided answer
 * while next(p·a) proves every continuation dead. Cost: running p, then at most NEXT_BUDGET
 * (2^15) work units in all, a few milliseconds. */
bool sp_counter_next(const sp_lang *lang, const int *p, size_t n, bool *valid, bool *can_end);

/* Set up (once the transitions are read) / release the search scratch and budget. */
void sp_counter_search_init(sp_counter *a);
void sp_counter_search_free(sp_counter *a);

/* A lower bound on the steps from configuration (q, c) to an accepting configuration, CTR_INF
 * when none is reachable at all. Consistent: it drops by at most 1 per step. Costs O(nbound K). */
int64_t sp_counter_lower_bound(const sp_counter *a, int q, const int64_t *c);

int sp_counter_prepare(sp_lang *lang, size_t max_len, sp_error *err);
long double sp_counter_count(const sp_lang *lang, size_t n);
void sp_counter_sample(sp_lang *lang, size_t n, gsl_rng *r, int *out);
void sp_counter_tables_free(ctr_tables *t);

#endif
