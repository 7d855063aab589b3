/* DFAs: subset construction, trimming, Valmari minimisation, count tables and sampling. */
#include "dfa.h"
#include "satprobe/alloc.h"
#include "satprobe/rng.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void sp_dfa_init(sp_dfa *d, size_t n, size_t k)
{
    SP_ASSERT(k > 0 && (n == 0 || n <= SP_DFA_MAX_CELLS / k));
    memset(d, 0, sizeof *d);
    d->n = n;
    d->k = k;
    d->start = 0;
    d->delta = sp_malloc(n * k, sizeof *d->delta);
    for (size_t i = 0; i < n * k; i++) d->delta[i] = -1;
    d->accept = sp_calloc(n, sizeof *d->accept);
}

void sp_dfa_free(sp_dfa *d)
{
    free(d->delta);
    free(d->accept);
    free(d->eoff);
    free(d->esym);
    free(d->eto);
    free(d->cnt);
    free(d->scale);
    free(d->w);
    memset(d, 0, sizeof *d);
}

int sp_dfa_run(const sp_dfa *d, const int *s, size_t len)
{
    if (d->n == 0) return -1;
    int q = d->start;
    for (size_t i = 0; i < len && q >= 0; i++) q = d->delta[(size_t)q * d->k + (size_t)s[i]];
    return q;
}

size_t sp_dfa_complete_states(const sp_dfa *d)
{
    for (size_t i = 0; i < d->n * d->k; i++)
        if (d->delta[i] < 0) return d->n + 1;
    return d->n;
}

/* ---- Subset construction ---- */

/* DFA states are identified by the sorted list of the "important" NFA states in their epsilon
 * closure (those with a symbol move, and the accepting state): the rest do not affect what the
 * set accepts. Keys are stored back to back in `keys`, state d's at koff[d] .. koff[d + 1]. */
typedef struct subset {
    const sp_nfa *nfa;
    unsigned *mark; /* [nfa->n] generation stamps for closures */
    unsigned gen;
    int *stack;     /* [nfa->n] */
    int *found;     /* [nfa->n] important states of the current closure */
    size_t nfound;
    int *keys;
    size_t nkeys, kcap;
    size_t *koff;   /* [n + 1] */
    size_t kocap;
    int *table;     /* [tcap] open-addressing hash of keys to states, -1 empty */
    size_t tcap;
    int *delta;     /* [n * k] */
    size_t dcap;
    bool *accept;   /* [n] */
    size_t acap;
    size_t n;
    size_t work;
} subset;

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Epsilon closure of seeds[0..m) into s->found (sorted important states). */
static void closure(subset *s, const int *seeds, size_t m)
{
    const sp_nfa *nfa = s->nfa;
    if (++s->gen == 0) {
        memset(s->mark, 0, nfa->n * sizeof *s->mark);
        s->gen = 1;
    }
    size_t top = 0;
    s->nfound = 0;
    for (size_t i = 0; i < m; i++)
        if (s->mark[seeds[i]] != s->gen) {
            s->mark[seeds[i]] = s->gen;
            s->stack[top++] = seeds[i];
        }
    while (top > 0) {
        int q = s->stack[--top];
        const sp_nfa_state *st = &nfa->states[q];
        s->work++;
        if (st->set >= 0 || q == nfa->accept) s->found[s->nfound++] = q;
        if (st->set >= 0) continue;
        for (int j = 0; j < 2; j++) {
            int t = st->out[j];
            if (t >= 0 && s->mark[t] != s->gen) {
                s->mark[t] = s->gen;
                s->stack[top++] = t;
            }
        }
    }
    /* Closures are mostly small: insertion sort beats qsort's calls through a pointer there. */
    if (s->nfound > 32) {
        qsort(s->found, s->nfound, sizeof *s->found, cmp_int);
    } else {
        for (size_t i = 1; i < s->nfound; i++) {
            int x = s->found[i];
            size_t j = i;
            for (; j > 0 && s->found[j - 1] > x; j--) s->found[j] = s->found[j - 1];
            s->found[j] = x;
        }
    }
    s->work += s->nfound;
}

static uint64_t hash_key(const int *key, size_t m)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < m; i++) {
        h ^= (uint64_t)(unsigned)key[i];
        h *= 1099511628211u;
    }
    return h ^ (h >> 29);
}

static bool key_equal(const subset *s, int d, const int *key, size_t m)
{
    size_t a = s->koff[d], b = s->koff[d + 1];
    return b - a == m && memcmp(s->keys + a, key, m * sizeof *key) == 0;
}

static void table_insert(subset *s, int d)
{
    size_t a = s->koff[d], m = s->koff[d + 1] - a;
    size_t h = (size_t)hash_key(s->keys + a, m) & (s->tcap - 1);
    while (s->table[h] >= 0) h = (h + 1) & (s->tcap - 1);
    s->table[h] = d;
}

/* The DFA state for the closure in s->found: an existing one, a new one, or -1 when a cap is
 * hit. */
static int intern(subset *s)
{
    const int *key = s->found;
    size_t m = s->nfound;
    size_t h = (size_t)hash_key(key, m) & (s->tcap - 1);
    for (; s->table[h] >= 0; h = (h + 1) & (s->tcap - 1))
        if (key_equal(s, s->table[h], key, m)) return s->table[h];
    size_t k = s->nfa->k;
    if (s->n >= SP_DFA_MAX_STATES || s->n + 1 > SP_DFA_MAX_CELLS / k) return -1;
    int d = (int)s->n++;
    SP_GROW(s->keys, s->kcap, s->nkeys + m);
    memcpy(s->keys + s->nkeys, key, m * sizeof *key);
    s->nkeys += m;
    SP_GROW(s->koff, s->kocap, s->n + 1);
    s->koff[d + 1] = s->nkeys;
    size_t old = s->dcap;
    SP_GROW(s->delta, s->dcap, s->n * k);
    for (size_t i = old; i < s->dcap; i++) s->delta[i] = -1;
    SP_GROW(s->accept, s->acap, s->n);
    s->accept[d] = false;
    for (size_t i = 0; i < m; i++)
        if (key[i] == s->nfa->accept) s->accept[d] = true;
    if (2 * s->n > s->tcap) {
        free(s->table);
        s->tcap *= 2;
        s->table = sp_malloc(s->tcap, sizeof *s->table);
        for (size_t i = 0; i < s->tcap; i++) s->table[i] = -1;
        for (size_t i = 0; i < s->n; i++) table_insert(s, (int)i);
    } else {
        s->table[h] = d;
    }
    return d;
}

sp_dfa_build sp_dfa_from_nfa(const sp_nfa *nfa, sp_dfa *out)
{
    size_t k = nfa->k;
    subset s = {.nfa = nfa, .tcap = 64};
    s.mark = sp_calloc(nfa->n, sizeof *s.mark);
    s.stack = sp_malloc(nfa->n, sizeof *s.stack);
    s.found = sp_malloc(nfa->n, sizeof *s.found);
    s.table = sp_malloc(s.tcap, sizeof *s.table);
    for (size_t i = 0; i < s.tcap; i++) s.table[i] = -1;
    SP_GROW(s.koff, s.kocap, 1);
    s.koff[0] = 0;
    /* Moves of one DFA state: (symbol, target) pairs bucketed by symbol. */
    size_t *bucket = sp_calloc(k + 1, sizeof *bucket);
    int *pair_sym = NULL, *pair_to = NULL, *seeds = NULL;
    size_t pcap = 0, pcap2 = 0, scap = 0;
    sp_dfa_build status = SP_DFA_BUILT;

    closure(&s, &nfa->start, 1);
    int first = intern(&s);
    SP_ASSERT(first == 0);
    for (size_t d = 0; d < s.n; d++) {
        size_t np = 0;
        for (size_t i = s.koff[d]; i < s.koff[d + 1]; i++) {
            const sp_nfa_state *st = &nfa->states[s.keys[i]];
            if (st->set < 0) continue;
            const uint64_t *w = nfa->sets + (size_t)st->set * nfa->words;
            for (size_t j = 0; j < nfa->words; j++)
                for (uint64_t x = w[j]; x; x &= x - 1) {
                    SP_GROW(pair_sym, pcap, np + 1);
                    SP_GROW(pair_to, pcap2, np + 1);
                    pair_sym[np] = (int)(j * 64 + (size_t)__builtin_ctzll(x));
                    pair_to[np] = st->out[0];
                    np++;
                }
        }
        s.work += np;
        /* Counting sort of the pairs by symbol. */
        memset(bucket, 0, (k + 1) * sizeof *bucket);
        for (size_t i = 0; i < np; i++) bucket[pair_sym[i] + 1]++;
        for (size_t a = 0; a < k; a++) bucket[a + 1] += bucket[a];
        SP_GROW(seeds, scap, np);
        for (size_t i = 0; i < np; i++) seeds[bucket[pair_sym[i]]++] = pair_to[i];
        /* bucket[a] is now the end of symbol a's seeds; symbol a starts where a - 1 ended. */
        for (size_t a = 0, lo = 0; a < k; lo = bucket[a], a++) {
            if (bucket[a] == lo) continue;
            closure(&s, seeds + lo, bucket[a] - lo);
            int t = intern(&s);
            if (t < 0) {
                status = SP_DFA_TOO_MANY_STATES;
                goto done;
            }
            s.delta[d * k + a] = t;
        }
        if (s.work > SP_DFA_MAX_WORK) {
            status = SP_DFA_TOO_MUCH_WORK;
            goto done;
        }
    }
    memset(out, 0, sizeof *out);
    out->n = s.n;
    out->k = k;
    out->start = 0;
    out->delta = sp_realloc(s.delta, s.n * k, sizeof *s.delta);
    out->accept = sp_realloc(s.accept, s.n, sizeof *s.accept);
    s.delta = NULL;
    s.accept = NULL;
done:
    free(s.mark);
    free(s.stack);
    free(s.found);
    free(s.keys);
    free(s.koff);
    free(s.table);
    free(s.delta);
    free(s.accept);
    free(bucket);
    free(pair_sym);
    free(pair_to);
    free(seeds);
    return status;
}

/* ---- Minimisation ----
 * Valmari, "Fast brief practical DFA minimization", Information Processing Letters 112 (2012).
 * Two refinable partitions: blocks of states and "cords" of transitions. Every new block is
 * used once to split cords (by the transitions entering it), and every cord once to split
 * blocks (by the states its transitions leave). Works on partial DFAs once trimmed. */

typedef struct partition {
    size_t z; /* number of sets */
    int *E;   /* [n] elements, each set contiguous, marked elements first */
    int *L;   /* [n] position of each element in E */
    int *S;   /* [n] set of each element */
    int *F;   /* [n] first position of each set */
    int *P;   /* [n] one past the last position of each set */
} partition;

/* Marks shared by both partitions (only one has marks at a time). */
typedef struct marks {
    int *M; /* [max(sets) + 1] marked elements per set */
    int *W; /* [max(sets) + 1] sets with marks */
    size_t w;
} marks;

static void part_init(partition *p, size_t n)
{
    p->z = n > 0;
    p->E = sp_malloc(n, sizeof *p->E);
    p->L = sp_malloc(n, sizeof *p->L);
    p->S = sp_calloc(n, sizeof *p->S);
    p->F = sp_malloc(n + 1, sizeof *p->F);
    p->P = sp_malloc(n + 1, sizeof *p->P);
    for (size_t i = 0; i < n; i++) p->E[i] = p->L[i] = (int)i;
    if (n) {
        p->F[0] = 0;
        p->P[0] = (int)n;
    }
}

static void part_free(partition *p)
{
    free(p->E);
    free(p->L);
    free(p->S);
    free(p->F);
    free(p->P);
}

static void part_mark(partition *p, marks *m, int e)
{
    int s = p->S[e], i = p->L[e], j = p->F[s] + m->M[s];
    p->E[i] = p->E[j];
    p->L[p->E[i]] = i;
    p->E[j] = e;
    p->L[e] = j;
    if (!m->M[s]++) m->W[m->w++] = s;
}

/* Split every set with marks into its marked and unmarked parts; the smaller part gets the new
 * set index. */
static void part_split(partition *p, marks *m)
{
    while (m->w) {
        int s = m->W[--m->w], j = p->F[s] + m->M[s];
        if (j == p->P[s]) {
            m->M[s] = 0;
            continue;
        }
        int z = (int)p->z;
        if (m->M[s] <= p->P[s] - j) {
            p->F[z] = p->F[s];
            p->P[z] = p->F[s] = j;
        } else {
            p->P[z] = p->P[s];
            p->F[z] = p->P[s] = j;
        }
        for (int i = p->F[z]; i < p->P[z]; i++) p->S[p->E[i]] = z;
        m->M[s] = m->M[z] = 0;
        p->z++;
    }
}

/* Build eoff/esym/eto from delta. */
static void index_edges(sp_dfa *d)
{
    size_t e = 0;
    for (size_t i = 0; i < d->n * d->k; i++) e += d->delta[i] >= 0;
    d->eoff = sp_malloc(d->n + 1, sizeof *d->eoff);
    d->esym = sp_malloc(e, sizeof *d->esym);
    d->eto = sp_malloc(e, sizeof *d->eto);
    d->w = sp_malloc(d->k, sizeof *d->w);
    e = 0;
    for (size_t q = 0; q < d->n; q++) {
        d->eoff[q] = e;
        for (size_t a = 0; a < d->k; a++) {
            int t = d->delta[q * d->k + a];
            if (t < 0) continue;
            d->esym[e] = (int)a;
            d->eto[e] = t;
            e++;
        }
    }
    d->eoff[d->n] = e;
}

void sp_dfa_minimize(const sp_dfa *in, sp_dfa *out)
{
    size_t n = in->n, k = in->k;
    /* 1. Useful states: reachable from the start and reaching acceptance. */
    bool *reach = sp_calloc(n, sizeof *reach), *live = sp_calloc(n, sizeof *live);
    int *queue = sp_malloc(n, sizeof *queue);
    size_t head = 0, tail = 0, m = 0;
    if (n > 0) {
        reach[in->start] = true;
        queue[tail++] = in->start;
    }
    while (head < tail) {
        int q = queue[head++];
        for (size_t a = 0; a < k; a++) {
            int t = in->delta[(size_t)q * k + a];
            if (t >= 0 && !reach[t]) {
                reach[t] = true;
                queue[tail++] = t;
            }
            m += t >= 0;
        }
    }
    /* Reverse adjacency of the reachable part: rin[roff[t] ..] are the sources into t. */
    size_t *roff = sp_calloc(n + 1, sizeof *roff);
    int *rin = sp_malloc(m, sizeof *rin);
    for (size_t q = 0; q < n; q++)
        if (reach[q])
            for (size_t a = 0; a < k; a++)
                if (in->delta[q * k + a] >= 0) roff[in->delta[q * k + a] + 1]++;
    for (size_t q = 0; q < n; q++) roff[q + 1] += roff[q];
    size_t *fill = sp_malloc(n + 1, sizeof *fill);
    memcpy(fill, roff, (n + 1) * sizeof *fill);
    for (size_t q = 0; q < n; q++)
        if (reach[q])
            for (size_t a = 0; a < k; a++) {
                int t = in->delta[q * k + a];
                if (t >= 0) rin[fill[t]++] = (int)q;
            }
    head = tail = 0;
    for (size_t q = 0; q < n; q++)
        if (reach[q] && in->accept[q]) {
            live[q] = true;
            queue[tail++] = (int)q;
        }
    while (head < tail) {
        int t = queue[head++];
        for (size_t i = roff[t]; i < roff[t + 1]; i++)
            if (!live[rin[i]]) {
                live[rin[i]] = true;
                queue[tail++] = rin[i];
            }
    }
    free(roff);
    free(rin);
    free(fill);
    if (n == 0 || !live[in->start]) {
        free(reach);
        free(live);
        free(queue);
        memset(out, 0, sizeof *out);
        out->k = k;
        out->start = -1;
        return;
    }

    /* 2. Renumber the useful states 0..nn-1 and list their transitions (tail, label, head). */
    int *id = sp_malloc(n, sizeof *id);
    size_t nn = 0, mm = 0;
    for (size_t q = 0; q < n; q++) id[q] = reach[q] && live[q] ? (int)nn++ : -1;
    for (size_t q = 0; q < n; q++)
        if (id[q] >= 0)
            for (size_t a = 0; a < k; a++) {
                int t = in->delta[q * k + a];
                mm += t >= 0 && id[t] >= 0;
            }
    int *T = sp_malloc(mm, sizeof *T), *Lb = sp_malloc(mm, sizeof *Lb);
    int *H = sp_malloc(mm, sizeof *H);
    mm = 0;
    for (size_t q = 0; q < n; q++)
        if (id[q] >= 0)
            for (size_t a = 0; a < k; a++) {
                int t = in->delta[q * k + a];
                if (t < 0 || id[t] < 0) continue;
                T[mm] = id[q];
                Lb[mm] = (int)a;
                H[mm] = id[t];
                mm++;
            }
    free(reach);
    free(live);

    /* 3. Initial block partition: accepting against the rest. */
    size_t msize = (nn > mm ? nn : mm) + 1;
    marks mk = {sp_calloc(msize, sizeof(int)), sp_malloc(msize, sizeof(int)), 0};
    partition B, C;
    part_init(&B, nn);
    for (size_t q = 0; q < n; q++)
        if (id[q] >= 0 && in->accept[q]) part_mark(&B, &mk, id[q]);
    part_split(&B, &mk);

    /* 4. Initial cords: transitions grouped by label (counting sort). */
    part_init(&C, mm);
    if (mm) {
        size_t *cnt = sp_calloc(k + 1, sizeof *cnt);
        for (size_t t = 0; t < mm; t++) cnt[Lb[t] + 1]++;
        for (size_t a = 0; a < k; a++) cnt[a + 1] += cnt[a];
        size_t *pos = sp_malloc(k + 1, sizeof *pos);
        memcpy(pos, cnt, (k + 1) * sizeof *pos);
        for (size_t t = 0; t < mm; t++) {
            size_t i = pos[Lb[t]]++;
            C.E[i] = (int)t;
            C.L[t] = (int)i;
        }
        C.z = 0;
        for (size_t a = 0; a < k; a++) {
            if (cnt[a] == cnt[a + 1]) continue;
            C.F[C.z] = (int)cnt[a];
            C.P[C.z] = (int)cnt[a + 1];
            for (size_t i = cnt[a]; i < cnt[a + 1]; i++) C.S[C.E[i]] = (int)C.z;
            C.z++;
        }
        free(cnt);
        free(pos);
    }

    /* 5. Incoming transitions of each state: A[Fa[q] .. Fa[q + 1]). */
    int *Fa = sp_calloc(nn + 1, sizeof *Fa), *A = sp_malloc(mm, sizeof *A);
    for (size_t t = 0; t < mm; t++) Fa[H[t] + 1]++;
    for (size_t q = 0; q < nn; q++) Fa[q + 1] += Fa[q];
    int *fa = sp_malloc(nn + 1, sizeof *fa);
    memcpy(fa, Fa, (nn + 1) * sizeof *fa);
    for (size_t t = 0; t < mm; t++) A[fa[H[t]]++] = (int)t;
    free(fa);

    /* 6. Refine until stable. */
    size_t b = 1, c = 0;
    while (c < C.z) {
        for (int i = C.F[c]; i < C.P[c]; i++) part_mark(&B, &mk, T[C.E[i]]);
        part_split(&B, &mk);
        c++;
        while (b < B.z) {
            for (int i = B.F[b]; i < B.P[b]; i++)
                for (int j = Fa[B.E[i]]; j < Fa[B.E[i] + 1]; j++) part_mark(&C, &mk, A[j]);
            part_split(&C, &mk);
            b++;
        }
    }

    /* 7. Quotient automaton, then renumber breadth-first from the start. */
    size_t nb = B.z;
    int *qdelta = sp_malloc(nb * k, sizeof *qdelta);
    for (size_t i = 0; i < nb * k; i++) qdelta[i] = -1;
    bool *qacc = sp_calloc(nb, sizeof *qacc);
    for (size_t t = 0; t < mm; t++) qdelta[(size_t)B.S[T[t]] * k + (size_t)Lb[t]] = B.S[H[t]];
    for (size_t q = 0; q < n; q++)
        if (id[q] >= 0 && in->accept[q]) qacc[B.S[id[q]]] = true;
    int qstart = B.S[id[in->start]];
    int *order = sp_malloc(nb, sizeof *order);
    for (size_t i = 0; i < nb; i++) order[i] = -1;
    head = tail = 0;
    queue[tail++] = qstart;
    order[qstart] = 0;
    while (head < tail) {
        int q = queue[head++];
        for (size_t a = 0; a < k; a++) {
            int t = qdelta[(size_t)q * k + a];
            if (t >= 0 && order[t] < 0) {
                order[t] = (int)tail;
                queue[tail++] = t;
            }
        }
    }
    SP_ASSERT(tail == nb);
    sp_dfa_init(out, nb, k);
    for (size_t q = 0; q < nb; q++) {
        out->accept[order[q]] = qacc[q];
        for (size_t a = 0; a < k; a++) {
            int t = qdelta[q * k + a];
            out->delta[(size_t)order[q] * k + a] = t < 0 ? -1 : order[t];
        }
    }
    out->start = 0;
    index_edges(out);

    free(order);
    free(qdelta);
    free(qacc);
    free(Fa);
    free(A);
    free(T);
    free(Lb);
    free(H);
    free(id);
    free(queue);
    free(mk.M);
    free(mk.W);
    part_free(&B);
    part_free(&C);
}

/* ---- Counting and sampling ---- */

/* Rows are rescaled when their largest entry passes 2^RESCALE_AT; an entry grows by at most a
 * factor k <= 2^11 per row, far from long double's limit of 2^16384. */
#define RESCALE_AT 12000

int sp_dfa_prepare(sp_dfa *d, size_t max_len, const char *file, sp_error *err)
{
    SP_ASSERT(d->n > 0 && d->eoff);
    size_t rows = max_len + 1, n = d->n;
    if (rows <= d->rows) return SP_OK;
    if (rows > SP_DFA_MAX_TABLE / n)
        return sp_error_set(err, SP_ELIMIT, file, 0, 0,
                            "counting strings up to length %zu with a %zu-state DFA needs more "
                            "than %zu table entries; use shorter lengths",
                            max_len, n, (size_t)SP_DFA_MAX_TABLE);
    d->cnt = sp_realloc(d->cnt, rows * n, sizeof *d->cnt);
    d->scale = sp_realloc(d->scale, rows, sizeof *d->scale);
    for (size_t m = d->rows; m < rows; m++) {
        long double *row = d->cnt + m * n, top = 0;
        if (m == 0) {
            for (size_t q = 0; q < n; q++) row[q] = d->accept[q] ? 1 : 0;
            d->scale[0] = 0;
            continue;
        }
        const long double *prev = row - n;
        /* Sum in edge order: sp_dfa_sample adds the same weights in the same order. */
        for (size_t q = 0; q < n; q++) {
            long double acc = 0;
            for (size_t e = d->eoff[q]; e < d->eoff[q + 1]; e++) acc += prev[d->eto[e]];
            row[q] = acc;
            if (acc > top) top = acc;
        }
        d->scale[m] = d->scale[m - 1];
        if (top > 0x1p12000L) {
            for (size_t q = 0; q < n; q++) {
                long double x = ldexpl(row[q], -RESCALE_AT);
                /* A positive count must stay a normal number, or sampling could meet a state
                 * whose successors all read 0. Only counts that differ by a factor beyond
                 * 2^28000 within one length get here. */
                if (row[q] > 0 && x < LDBL_MIN) {
                    d->rows = m;
                    return sp_error_set(err, SP_ELIMIT, file, 0, 0,
                                        "counts of strings of length %zu differ by more than "
                                        "long double's range between states; use shorter "
                                        "lengths",
                                        m);
                }
                row[q] = x;
            }
            d->scale[m] += RESCALE_AT;
        }
    }
    d->rows = rows;
    return SP_OK;
}

long double sp_dfa_count(const sp_dfa *d, size_t len)
{
    SP_ASSERT(len < d->rows);
    long double c = d->cnt[len * d->n + (size_t)d->start];
    return d->scale[len] ? ldexpl(c, (int)d->scale[len]) : c;
}

void sp_dfa_sample(sp_dfa *d, size_t len, gsl_rng *r, int *out)
{
    SP_ASSERT(len < d->rows);
    size_t n = d->n;
    int q = d->start;
    for (size_t i = 0; i < len; i++) {
        /* Strings of the remaining length len - i from q split by their first symbol a into
         * those of length len - i - 1 from delta(q, a). */
        const long double *row = d->cnt + (len - i - 1) * n;
        size_t lo = d->eoff[q], deg = d->eoff[q + 1] - lo;
        long double total = 0;
        for (size_t j = 0; j < deg; j++) {
            d->w[j] = row[d->eto[lo + j]];
            total += d->w[j];
        }
        SP_ASSERT(total > 0);
        size_t j = sp_rng_pick_ld(r, d->w, deg, total);
        out[i] = d->esym[lo + j];
        q = d->eto[lo + j];
    }
    SP_ASSERT(d->accept[q]);
}
