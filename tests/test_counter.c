/* The counter kind: zoo languages against hand-written predicates and next-symbol oracles,
 * known count sequences, sampler uniformity and determinism, load errors, and timings. */
#include "testutil.h"

#include "satprobe/alloc.h"
#include "satprobe/rng.h"
#include "satprobe/strbuf.h"
#include "src/lang/counter.h" /* white box: lowering the configuration limit */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- hand-written languages -------------------------------------------------------------- */

/* Block lengths of s when s = 0^b[0] 1^b[1] ... (k-1)^b[k-1]; false if s is not of that form. */
static bool blocks(const int *s, size_t n, int k, size_t *b)
{
    for (int i = 0; i < k; i++) b[i] = 0;
    int cur = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < cur) return false;
        cur = s[i];
        b[cur]++;
    }
    return true;
}

/* a^n b^n ... with k blocks (k = 2, 3, 4), n >= 1: membership and next-symbol sets. A prefix
 * 0^b0 1^b1 ... is viable iff every later block is at most as long as the one before, and
 * every block before the last non-empty one is complete (equal to the first). */
static bool blocks_accept(const int *s, size_t n, int k)
{
    size_t b[4];
    if (!blocks(s, n, k, b) || b[0] == 0) return false;
    for (int i = 1; i < k; i++)
        if (b[i] != b[0]) return false;
    return true;
}

static bool blocks_next(const int *s, size_t n, int k, bool *valid, bool *can_end)
{
    size_t b[4];
    for (int a = 0; a < k; a++) valid[a] = false;
    *can_end = false;
    if (!blocks(s, n, k, b)) return false;
    int last = 0; /* the block being written */
    for (int i = 0; i < k; i++)
        if (b[i]) last = i;
    for (int i = 1; i < k; i++)
        if (b[i] > b[i - 1]) return false;
    for (int i = 1; i < last; i++)
        if (b[i] != b[0]) return false;
    /* Continue the current block, or start the next one once the current one is complete. */
    if (last == 0) valid[0] = true;
    else if (b[last] < b[0]) valid[last] = true;
    if (last + 1 < k && b[0] >= 1 && b[last] == b[0]) valid[last + 1] = true;
    *can_end = blocks_accept(s, n, k);
    return true;
}

static bool anbn_accept(const int *s, size_t n) { return blocks_accept(s, n, 2); }
static bool anbncn_accept(const int *s, size_t n) { return blocks_accept(s, n, 3); }
static bool anbncndn_accept(const int *s, size_t n) { return blocks_accept(s, n, 4); }
static bool anbn_next(const int *s, size_t n, bool *v, bool *e) { return blocks_next(s, n, 2, v, e); }
static bool anbncn_next(const int *s, size_t n, bool *v, bool *e) { return blocks_next(s, n, 3, v, e); }
static bool anbncndn_next(const int *s, size_t n, bool *v, bool *e)
{
    return blocks_next(s, n, 4, v, e);
}

/* Majority over ["0", "1"] (symbol 0 is "0"): more 1s than 0s; every prefix can be completed
 * by 1s, so both symbols are always valid. */
static bool majority_accept(const int *s, size_t n)
{
    long d = 0;
    for (size_t i = 0; i < n; i++) d += s[i] ? 1 : -1;
    return d > 0;
}

static bool majority_next(const int *s, size_t n, bool *valid, bool *can_end)
{
    valid[0] = valid[1] = true;
    *can_end = majority_accept(s, n);
    return true;
}

typedef struct zoo_lang {
    const char *name;
    size_t k;
    bool (*accept)(const int *s, size_t n);
    bool (*next)(const int *s, size_t n, bool *valid, bool *can_end);
} zoo_lang;

static const zoo_lang zoo[] = {
    {"anbn", 2, anbn_accept, anbn_next},
    {"anbncn", 3, anbncn_accept, anbncn_next},
    {"anbncndn", 4, anbncndn_accept, anbncndn_next},
    {"majority", 2, majority_accept, majority_next},
};
enum { NZOO = sizeof zoo / sizeof *zoo };

/* ---- zoo: enumeration, counts, next ------------------------------------------------------ */

static void test_zoo_metadata(void **state)
{
    (void)state;
    static const sp_lang_class cls[NZOO] = {SP_CLASS_CONTEXT_FREE, SP_CLASS_CONTEXT_SENSITIVE,
                                            SP_CLASS_CONTEXT_SENSITIVE, SP_CLASS_COUNTER};
    for (size_t z = 0; z < NZOO; z++) {
        sp_lang *lang = tu_load_zoo(zoo[z].name);
        assert_string_equal(sp_lang_name(lang), zoo[z].name);
        assert_int_equal(sp_lang_get_kind(lang), SP_KIND_COUNTER);
        assert_int_equal(sp_lang_get_class(lang), cls[z]);
        assert_int_equal(sp_lang_alphabet_size(lang), zoo[z].k);
        assert_true(strlen(sp_lang_description(lang)) > 20);
        assert_true(strlen(sp_lang_source(lang)) > 10);
        assert_false(sp_lang_counts_derivations(lang));
        sp_lang_destroy(lang);
    }
    sp_lang *m = tu_load_zoo("majority");
    assert_string_equal(sp_lang_symbol(m, 0), "0");
    assert_string_equal(sp_lang_symbol(m, 1), "1");
    sp_lang_destroy(m);
}

/* Every string up to length 12 (at most 2^20 per length): accepts() against the predicate,
 * the number of members against count(n); up to length 8 also next() against the oracle and
 * against next() of each extension. */
static void test_zoo_enumeration(void **state)
{
    (void)state;
    int s[16];
    bool valid[4], want[4], ext[4];
    for (size_t z = 0; z < NZOO; z++) {
        sp_lang *lang = tu_load_zoo(zoo[z].name);
        size_t k = zoo[z].k, checked_to = 0;
        for (size_t n = 0; n <= 12; n++) {
            if (tu_pow_capped(k, n, (size_t)1 << 20) == SIZE_MAX) break;
            memset(s, 0, sizeof s);
            size_t members = 0;
            do {
                bool in = sp_lang_accepts(lang, s, n);
                if (in != zoo[z].accept(s, n)) {
                    sp_lang_write_string(lang, stderr, s, n);
                    fail_msg("%s: accepts() is wrong on the string above", zoo[z].name);
                }
                members += in;
                if (n > 8) continue;
                bool can_end, want_end;
                bool viable = sp_lang_next(lang, s, n, valid, &can_end);
                bool want_viable = zoo[z].next(s, n, want, &want_end);
                bool bad = viable != want_viable || can_end != want_end;
                for (size_t a = 0; a < k; a++) bad = bad || valid[a] != want[a];
                for (size_t a = 0; a < k && !bad; a++) {
                    bool e;
                    s[n] = (int)a;
                    bad = sp_lang_next(lang, s, n + 1, ext, &e) != valid[a];
                    s[n] = 0;
                }
                if (bad) {
                    sp_lang_write_string(lang, stderr, s, n);
                    fail_msg("%s: next() is wrong after the prefix above", zoo[z].name);
                }
            } while (n > 0 && tu_next_string(s, n, k));
            if ((long double)members != sp_lang_count(lang, n))
                fail_msg("%s: %zu members of length %zu, count says %.0Lf", zoo[z].name, members,
                         n, sp_lang_count(lang, n));
            checked_to = n;
        }
        assert_true(checked_to >= 10);
        sp_lang_destroy(lang);
    }
}

/* Longer prefixes: next() after every prefix of a^n b^n c^n (and one symbol off it) agrees
 * with the oracle, which exercises the search at larger counter values. */
static void test_zoo_next_long(void **state)
{
    (void)state;
    int s[400];
    bool valid[4], want[4];
    for (size_t z = 0; z < 3; z++) {
        sp_lang *lang = tu_load_zoo(zoo[z].name);
        int k = (int)zoo[z].k;
        size_t n = 0;
        for (int b = 0; b < k; b++)
            for (int i = 0; i < 90; i++) s[n++] = b;
        for (size_t len = 0; len <= n; len++) {
            for (int alt = 0; alt < k; alt++) {
                int saved = s[len];
                if (len < n) s[len] = alt;
                size_t m = len < n ? len + 1 : len;
                bool e1, e2;
                bool v1 = sp_lang_next(lang, s, m, valid, &e1);
                bool v2 = zoo[z].next(s, m, want, &e2);
                bool bad = v1 != v2 || e1 != e2;
                for (int a = 0; a < k; a++) bad = bad || valid[a] != want[a];
                if (bad) fail_msg("%s: next() wrong after a prefix of length %zu", zoo[z].name, m);
                s[len] = saved;
            }
        }
        sp_lang_destroy(lang);
    }
}

/* ---- known sequences --------------------------------------------------------------------- */

/* log of sum_{k > n/2} C(n, k), from log C(n, k-1) = log C(n, k) + log(k / (n - k + 1))
 * (error ~1e-19 per step) and a sum scaled by the largest term. */
static long double log_majority(size_t n)
{
    size_t lo = n / 2 + 1;
    long double l = 0, *terms = sp_malloc(n + 1, sizeof *terms), m = 0;
    for (size_t k = n; k >= lo && k > 0; k--) {
        terms[k] = l;
        if (l > m) m = l;
        l += logl((long double)k / (long double)(n - k + 1));
    }
    long double s = 0;
    for (size_t k = lo; k <= n; k++) s += expl(terms[k] - m);
    free(terms);
    return m + logl(s);
}

static void test_majority_binomial(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("majority");
    /* Exact: Pascal's triangle in uint64 while the tail sum fits (n <= 64). */
    uint64_t row[70] = {1};
    for (size_t n = 0; n <= 64; n++) {
        if (n > 0)
            for (size_t k = n; k > 0; k--) row[k] += row[k - 1];
        uint64_t tail = 0;
        for (size_t k = n / 2 + 1; k <= n; k++) tail += row[k];
        if (sp_lang_count(lang, n) != (long double)tail)
            fail_msg("majority count at %zu: %.0Lf, want %llu", n, sp_lang_count(lang, n),
                     (unsigned long long)tail);
    }
    static const size_t big[] = {65, 100, 200, 333, 499, 500};
    for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
        long double c = sp_lang_count(lang, big[i]);
        long double want = expl(log_majority(big[i]));
        long double rel = fabsl(c - want) / want;
        printf("# majority(%zu) = %.20Lg, relative difference to log-space %.2Le\n", big[i], c,
               rel);
        if (!(rel < 1e-15L)) fail_msg("majority at %zu: relative error %Lg", big[i], rel);
    }
    sp_lang_destroy(lang);
}

static void test_block_counts(void **state)
{
    (void)state;
    for (size_t z = 0; z < 3; z++) {
        sp_lang *lang = tu_load_zoo(zoo[z].name);
        size_t k = zoo[z].k;
        for (size_t n = 0; n <= 500; n++) {
            long double want = (n > 0 && n % k == 0) ? 1 : 0;
            if (sp_lang_count(lang, n) != want)
                fail_msg("%s: count(%zu) = %.0Lf, want %.0Lf", zoo[z].name, n,
                         sp_lang_count(lang, n), want);
        }
        /* The one string of length 498 or 500 is a^n b^n ... */
        size_t n = 500 - 500 % k;
        int *s = sp_malloc(n, sizeof *s);
        gsl_rng *r = sp_rng_new(3);
        sp_error err;
        assert_int_equal(sp_lang_sample(lang, n, r, s, &err), SP_OK);
        for (size_t i = 0; i < n; i++) assert_int_equal(s[i], (int)(i / (n / k)));
        /* No string at a length that is not a multiple of k. */
        assert_int_equal(sp_lang_sample(lang, n + 1, r, s, &err), SP_EINPUT);
        assert_non_null(strstr(err.msg, "no strings of length"));
        gsl_rng_free(r);
        free(s);
        sp_lang_destroy(lang);
    }
}

static const char dyck1_yaml[] =
    "name: dyck-1-counter\n"
    "description: Dyck-1 as a one-counter automaton.\n"
    "class: context-free\n"
    "alphabet: [\"(\", \")\"]\n"
    "kind: counter\n"
    "counters: 1\n"
    "states: [q]\n"
    "transitions:\n"
    "  - {from: q, symbol: \"(\", to: q, guard: [nonnegative], add: [1]}\n"
    "  - {from: q, symbol: \")\", to: q, guard: [positive], add: [-1]}\n"
    "accept:\n"
    "  - {state: q, counters: [zero]}\n";

static void test_dyck1_catalan(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_text(dyck1_yaml);
    /* Catalan numbers by C(m+1) = sum C(i) C(m-i): every product is at most C(m+1), so uint64
     * is exact while C(m+1) < 2^64 (m + 1 <= 36). */
    uint64_t cat[40] = {1};
    for (size_t m = 0; m + 1 <= 36; m++) {
        cat[m + 1] = 0;
        for (size_t i = 0; i <= m; i++) cat[m + 1] += cat[i] * cat[m - i];
    }
    for (size_t n = 0; n <= 72; n++) {
        long double want = n % 2 ? 0 : (long double)cat[n / 2];
        if (sp_lang_count(lang, n) != want)
            fail_msg("Dyck-1 count(%zu) = %.0Lf, want %.0Lf", n, sp_lang_count(lang, n), want);
    }
    /* C(250) = binom(500, 250) / 251, through lgamma, at length 500. */
    long double want = expl(lgammal(501) - 2 * lgammal(251) - logl(251));
    long double rel = fabsl(sp_lang_count(lang, 500) - want) / want;
    printf("# Dyck-1 count(500) = %.20Lg, relative difference to lgamma %.2Le\n",
           sp_lang_count(lang, 500), rel);
    assert_true(rel < 1e-12L);
    int s[8];
    bool valid[2], can_end;
    assert_true(sp_lang_next(lang, s, 0, valid, &can_end));
    assert_true(valid[0] && !valid[1] && can_end);
    s[0] = 1;
    assert_false(sp_lang_next(lang, s, 1, valid, &can_end));
    sp_lang_destroy(lang);
}

/* "More 0s than 1s" through a negative acceptance sign has the same counts as majority. */
static void test_negative_signs(void **state)
{
    (void)state;
    sp_lang *minority = tu_load_text("name: minority\n"
                                     "description: More 0s than 1s.\n"
                                     "class: counter\n"
                                     "alphabet: [\"0\", \"1\"]\n"
                                     "kind: counter\n"
                                     "counters: 1\n"
                                     "states: [q]\n"
                                     "transitions:\n"
                                     "  - {from: q, symbol: \"1\", to: q, add: [1]}\n"
                                     "  - {from: q, symbol: \"0\", to: q, add: [-1]}\n"
                                     "accept:\n"
                                     "  - {state: q, counters: [negative]}\n");
    sp_lang *majority = tu_load_zoo("majority");
    for (size_t n = 0; n <= 300; n++) {
        long double a = sp_lang_count(minority, n), b = sp_lang_count(majority, n);
        if (n <= 64) assert_true(a == b); /* exact integers */
        else assert_true(fabsl(a - b) <= 1e-15L * b);
    }
    int s[3] = {0, 0, 1};
    assert_true(sp_lang_accepts(minority, s, 3));
    assert_false(sp_lang_accepts(majority, s, 3));
    sp_lang_destroy(minority);
    sp_lang_destroy(majority);
}

/* ---- a two-counter automaton: shuffle of two Dyck-1 languages ---------------------------- */

static const char shuffle_yaml[] =
    "name: shuffle-2-counter\n"
    "description: Two bracket pairs, each balanced on its own, crossings allowed.\n"
    "class: counter\n"
    "alphabet: [\"(\", \")\", \"[\", \"]\"]\n"
    "kind: counter\n"
    "counters: 2\n"
    "states: [q]\n"
    "start: q\n"
    "transitions:\n"
    "  - {from: q, symbol: \"(\", to: q, add: [1, 0]}\n"
    "  - {from: q, symbol: \")\", to: q, guard: [positive, any], add: [-1, 0]}\n"
    "  - {from: q, symbol: \"[\", to: q, add: [0, 1]}\n"
    "  - {from: q, symbol: \"]\", to: q, guard: [any, positive], add: [0, -1]}\n"
    "accept:\n"
    "  - {state: q, counters: [zero, zero]}\n";

/* Strings over {a, b, c} with as many a's as b's and at least as many b's as c's, in any
 * order: counter 1 = #a - #b goes negative as well as positive. */
static const char abc_yaml[] =
    "name: abc-counter\n"
    "description: '#a = #b >= #c, in any order.'\n"
    "class: counter\n"
    "alphabet: [a, b, c]\n"
    "kind: counter\n"
    "counters: 2\n"
    "states: [q]\n"
    "transitions:\n"
    "  - {from: q, symbol: a, to: q, add: [1, 0]}\n"
    "  - {from: q, symbol: b, to: q, add: [-1, 1]}\n"
    "  - {from: q, symbol: c, to: q, add: [0, -1]}\n"
    "accept:\n"
    "  - {state: q, counters: [zero, nonnegative]}\n";

static bool abc_accept(const int *s, size_t n)
{
    long c[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) c[s[i]]++;
    return c[0] == c[1] && c[1] >= c[2];
}

static void test_abc(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_text(abc_yaml);
    int s[12];
    bool valid[3], can_end;
    for (size_t n = 0; n <= 10; n++) {
        memset(s, 0, sizeof s);
        size_t members = 0;
        do {
            bool in = sp_lang_accepts(lang, s, n);
            assert_true(in == abc_accept(s, n));
            members += in;
            /* Every prefix extends to a member: add a's and b's. */
            assert_true(sp_lang_next(lang, s, n, valid, &can_end));
            assert_true(valid[0] && valid[1] && valid[2] && can_end == in);
        } while (n > 0 && tu_next_string(s, n, 3));
        assert_true((long double)members == sp_lang_count(lang, n));
    }
    sp_lang_destroy(lang);
}

/* next() against the definition: p·a is viable iff some extension of p·a by at most 5 symbols
 * is a member (enough for prefixes p up to length 4: p·a has at most 5 open brackets). */
static void test_shuffle_next_bruteforce(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_text(shuffle_yaml);
    int s[16];
    bool valid[4], can_end;
    for (size_t n = 0; n <= 4; n++) {
        memset(s, 0, sizeof s);
        do {
            bool viable = sp_lang_next(lang, s, n, valid, &can_end);
            assert_true(can_end == sp_lang_accepts(lang, s, n));
            for (int a = 0; a <= 4; a++) { /* a == 4: p itself */
                size_t m = a < 4 ? n + 1 : n;
                s[n] = a;
                bool found = false;
                for (size_t e = 0; e <= 5 && !found; e++) {
                    memset(s + m, 0, e * sizeof *s);
                    do found = sp_lang_accepts(lang, s, m + e);
                    while (!found && e > 0 && tu_next_string(s + m, e, 4));
                }
                if (found != (a < 4 ? valid[a] : viable)) {
                    sp_lang_write_string(lang, stderr, s, n);
                    fail_msg("shuffle: next() wrong after the prefix above (symbol %d)", a);
                }
                memset(s + n, 0, 8 * sizeof *s);
            }
        } while (n > 0 && tu_next_string(s, n, 4));
    }
    sp_lang_destroy(lang);
}

/* An automaton that must pump its counter away from the target first: a cycle c0..c5 on 'a'
 * adds 1 per round, 'b' leaves c0 for a chain d0..d6 that needs exactly 6 ('b' 6 times with a
 * positive counter), and 'c' ends with the counter zero. Its one member a^36 b^7 c (length 44)
 * is longer than |Q| (1 + 2 sum |c_i|) = 42 steps from the start, so next() needs the |Q|
 * allowance of its horizon. */
static char *pump_yaml(void)
{
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_strbuf_puts(&sb, "name: pump\ndescription: d\nclass: counter\nalphabet: [a, b, c]\n"
                        "kind: counter\ncounters: 1\n"
                        "states: [c0, c1, c2, c3, c4, c5, d0, d1, d2, d3, d4, d5, d6, f]\n"
                        "transitions:\n");
    for (int i = 0; i < 6; i++)
        sp_strbuf_printf(&sb, "  - {from: c%d, symbol: a, to: c%d, add: [%d]}\n", i, (i + 1) % 6,
                         i == 5);
    sp_strbuf_puts(&sb, "  - {from: c0, symbol: b, to: d0}\n");
    for (int i = 0; i < 6; i++)
        sp_strbuf_printf(&sb, "  - {from: d%d, symbol: b, to: d%d, guard: [positive], add: [-1]}\n",
                         i, i + 1);
    sp_strbuf_puts(&sb, "  - {from: d6, symbol: c, to: f, guard: [zero]}\n"
                        "accept:\n  - {state: f}\n");
    return sb.buf;
}

static void test_pump(void **state)
{
    (void)state;
    char *text = pump_yaml();
    sp_lang *lang = tu_load_text(text);
    free(text);
    int member[44], s[45];
    for (int i = 0; i < 44; i++) member[i] = i < 36 ? 0 : i < 43 ? 1 : 2;
    assert_true(sp_lang_accepts(lang, member, 44));
    for (size_t n = 0; n <= 100; n++) assert_true(sp_lang_count(lang, n) == (n == 44));
    bool valid[3], can_end;
    for (size_t n = 0; n <= 44; n++) {
        memcpy(s, member, n * sizeof *s);
        bool viable = sp_lang_next(lang, s, n, valid, &can_end);
        if (!viable || can_end != (n == 44)) fail_msg("pump: prefix of length %zu", n);
        for (int a = 0; a < 3; a++)
            if (valid[a] != (n < 44 && member[n] == a))
                fail_msg("pump: after %zu symbols, symbol %d valid = %d", n, a, valid[a]);
        /* The same prefix with its last symbol changed is dead or not a prefix. */
        if (n > 0) {
            s[n - 1] = (member[n - 1] + 1) % 3;
            assert_false(sp_lang_next(lang, s, n, valid, &can_end));
        }
    }
    sp_lang_destroy(lang);
}

/* Symbol index by spelling (the symbol must exist). */
static int sym(const sp_lang *lang, const char *name)
{
    int i = sp_lang_symbol_index(lang, name, strlen(name));
    assert_true(i >= 0);
    return i;
}

/* Sixteen vector pairs on eight counters, then a password: from every configuration the
 * shortest completion is short (undo a vector or two, then p0 .. p4), but the configurations
 * multiply by 33 per symbol, so a search that does not go shortest-first drowns. */
static void test_vectors_next(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_path(tu_src_path("tests/fixtures/counter-vectors.yaml"));
    size_t k = sp_lang_alphabet_size(lang);
    assert_int_equal(k, 37);
    int member[7] = {sym(lang, "x0"), sym(lang, "y0"), sym(lang, "p0"), sym(lang, "p1"),
                     sym(lang, "p2"), sym(lang, "p3"), sym(lang, "p4")};
    assert_true(sp_lang_accepts(lang, member, 7));
    bool valid[37], can_end;
    double worst = 0;
    for (size_t n = 0; n <= 7; n++) {
        double t0 = now();
        bool viable = sp_lang_next(lang, member, n, valid, &can_end);
        double dt = now() - t0;
        if (dt > worst) worst = dt;
        if (!viable || (n < 7 && !valid[member[n]]) || can_end != (n == 7))
            fail_msg("vectors: next() wrong after the first %zu symbols of a member", n);
    }
    printf("# vectors: slowest next() on a member's prefixes: %.2f ms\n", 1e3 * worst);
    /* After the empty prefix every x_i, y_i and p0 is valid; p1 .. p4 have no transition. */
    assert_true(sp_lang_next(lang, member, 0, valid, &can_end));
    for (size_t a = 0; a < k; a++) {
        const char *name = sp_lang_symbol(lang, (int)a);
        assert_int_equal(valid[a], name[0] != 'p' || strcmp(name, "p0") == 0);
    }
    assert_false(can_end);
    /* x0 p0 leaves counter vector v0 in the password chain, which never changes it: dead. */
    int dead[2] = {sym(lang, "x0"), sym(lang, "p0")};
    assert_false(sp_lang_next(lang, dead, 2, valid, &can_end));
    assert_true(sp_lang_next(lang, dead, 1, valid, &can_end));
    assert_false(valid[dead[1]]);
    int twice[3] = {sym(lang, "x3"), sym(lang, "x7"), sym(lang, "y12")};
    assert_true(sp_lang_next(lang, twice, 3, valid, &can_end));
    assert_true(valid[sym(lang, "p0")] == false && valid[sym(lang, "y3")]);

    /* The search itself: from each successor of the start it finds acceptance (a continuation
     * of at most 6 symbols) after a few dozen configurations, not after exhausting a budget. */
    sp_counter *a = lang->impl;
    size_t most = 0;
    for (uint32_t j = a->sfirst[a->start]; j < a->sfirst[a->start + 1]; j++) {
        int64_t key[CTR_MAX_COUNTERS + 1] = {a->trans[j].to};
        for (int i = 0; i < a->K; i++) key[1 + i] = a->trans[j].add[i];
        assert_int_equal(sp_counter_reach(a, key, 1000000, 4096), CTR_FOUND);
        if (a->seen.n > most) most = a->seen.n;
    }
    printf("# vectors: at most %zu configurations reached per search from the start\n", most);
    assert_true(most < 200);
    sp_lang_destroy(lang);
}

/* next() searches at least 64 steps ahead, whatever its horizon formula says: here a +1 per
 * 'a' and -8 per 'b', so after 'a' the shortest completion (7 a's and a b) is longer than
 * |Q| (V + 1) = 7. Every prefix of every member of length <= 36 must stay viable. */
static void test_next_min_horizon(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_text("name: eight\ndescription: '#a = 8 #b.'\nclass: counter\n"
                                 "alphabet: [a, b]\nkind: counter\ncounters: 1\nstates: [q]\n"
                                 "transitions:\n  - {from: q, symbol: a, to: q, add: [1]}\n"
                                 "  - {from: q, symbol: b, to: q, add: [-8]}\n"
                                 "accept:\n  - {state: q, counters: [zero]}\n");
    assert_true(sp_lang_count(lang, 9) == 9);
    gsl_rng *r = sp_rng_new(9);
    int s[36];
    bool valid[2], can_end;
    sp_error err;
    for (size_t n = 9; n <= 36; n += 9)
        for (int d = 0; d < 20; d++) {
            assert_int_equal(sp_lang_sample(lang, n, r, s, &err), SP_OK);
            for (size_t i = 0; i <= n; i++) {
                assert_true(sp_lang_next(lang, s, i, valid, &can_end));
                if (i < n) assert_true(valid[s[i]]);
            }
            assert_true(can_end);
        }
    gsl_rng_free(r);
    sp_lang_destroy(lang);
}

/* When the budget runs out the answer is "viable": after 'w' the automaton is in a trap whose
 * exit needs counter 8 negative while every step raises it, but seven free counters make the
 * space too large to search. next() says viable (an over-approximation), and fast. */
static void test_next_budget(void **state)
{
    (void)state;
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_strbuf_puts(&sb, "name: trap\ndescription: d\nclass: counter\n"
                        "alphabet: [u0, u1, u2, u3, u4, u5, u6, d0, d1, d2, d3, d4, d5, d6, w, z]\n"
                        "kind: counter\ncounters: 8\nstates: [q, t, f]\ntransitions:\n"
                        "  - {from: q, symbol: z, to: f}\n  - {from: q, symbol: w, to: t}\n"
                        "  - {from: t, symbol: z, to: f, guard: [any, any, any, any, any, any, "
                        "any, negative]}\n");
    for (int i = 0; i < 7; i++)
        for (int sign = 1; sign >= -1; sign -= 2) {
            sp_strbuf_printf(&sb, "  - {from: t, symbol: %c%d, to: t, add: [", sign > 0 ? 'u' : 'd',
                             i);
            for (int j = 0; j < 7; j++) sp_strbuf_printf(&sb, "%d, ", j == i ? sign : 0);
            sp_strbuf_puts(&sb, "1]}\n");
        }
    sp_strbuf_puts(&sb, "accept:\n  - {state: f}\n");
    sp_lang *lang = tu_load_text(sb.buf);
    sp_strbuf_free(&sb);
    int s[3] = {sym(lang, "w"), sym(lang, "u0"), sym(lang, "d3")};
    bool valid[16], can_end;
    for (size_t n = 0; n <= 3; n++) {
        double t0 = now();
        assert_true(sp_lang_next(lang, s, n, valid, &can_end));
        printf("# trap: next() after %zu symbols: %.2f ms\n", n, 1e3 * (now() - t0));
        assert_false(can_end);
    }
    assert_true(valid[sym(lang, "u5")] && valid[sym(lang, "d5")] && !valid[sym(lang, "w")]);
    assert_false(sp_lang_accepts(lang, s, 3));
    sp_lang_destroy(lang);
}

/* ---- sampling ---------------------------------------------------------------------------- */

static void test_uniformity(void **state)
{
    (void)state;
    size_t members;
    sp_lang *maj = tu_load_zoo("majority");
    double p = tu_chisq_uniform(maj, 8, 93 * 300, 11, &members);
    printf("# majority n=8: %zu members, chi-square p = %.3f\n", members, p);
    assert_int_equal(members, 93);
    assert_true(p > 0.001);
    p = tu_chisq_uniform(maj, 7, 64 * 300, 12, &members);
    printf("# majority n=7: %zu members, chi-square p = %.3f\n", members, p);
    assert_int_equal(members, 64);
    assert_true(p > 0.001);
    sp_lang_destroy(maj);

    sp_lang *sh = tu_load_text(shuffle_yaml);
    p = tu_chisq_uniform(sh, 6, 180 * 200, 13, &members);
    printf("# shuffle-2 n=6: %zu members, chi-square p = %.3f\n", members, p);
    assert_int_equal(members, 70);
    assert_true(p > 0.001);
    sp_lang_destroy(sh);

    sp_lang *abc = tu_load_text(abc_yaml);
    p = tu_chisq_uniform(abc, 6, 110 * 200, 15, &members);
    printf("# #a = #b >= #c, n=6: %zu members, chi-square p = %.3f\n", members, p);
    assert_int_equal(members, 110); /* 6!/(3!3!) + 6!/(2!2!2!) */
    assert_true(p > 0.001);
    sp_lang_destroy(abc);

    sp_lang *dyck = tu_load_text(dyck1_yaml);
    p = tu_chisq_uniform(dyck, 12, 132 * 300, 14, &members);
    printf("# Dyck-1 n=12: %zu members, chi-square p = %.3f\n", members, p);
    assert_int_equal(members, 132);
    assert_true(p > 0.001);
    sp_lang_destroy(dyck);
}

/* The sampler is not stuck on a fixed path: at length 500 (about 2^499 strings) 50 samples
 * of majority are distinct members, with 1s-minus-0s spread over several values. */
static void test_sample_long(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("majority");
    gsl_rng *r = sp_rng_new(21);
    int *s = sp_malloc(50 * 500, sizeof *s);
    sp_error err;
    bool diff_seen[501] = {false};
    size_t distinct_diffs = 0;
    for (size_t d = 0; d < 50; d++) {
        int *x = s + d * 500;
        assert_int_equal(sp_lang_sample(lang, 500, r, x, &err), SP_OK);
        assert_true(sp_lang_accepts(lang, x, 500));
        int diff = 0;
        for (size_t i = 0; i < 500; i++) diff += x[i] ? 1 : -1;
        if (!diff_seen[diff]) distinct_diffs++;
        diff_seen[diff] = true;
        for (size_t e = 0; e < d; e++) assert_memory_not_equal(x, s + e * 500, 500 * sizeof *x);
    }
    assert_true(distinct_diffs >= 5);
    free(s);
    gsl_rng_free(r);
    sp_lang_destroy(lang);
}

static void test_determinism(void **state)
{
    (void)state;
    static const char *const names[] = {"majority", "anbncn"};
    int a[64], b[64];
    for (size_t i = 0; i < 2; i++) {
        sp_lang *l1 = tu_load_zoo(names[i]), *l2 = tu_load_zoo(names[i]);
        gsl_rng *r1 = sp_rng_new(42), *r2 = sp_rng_new(42);
        sp_error err;
        /* The second language is prepared further first: tables of a different extent must
         * not change the samples. */
        assert_int_equal(sp_lang_prepare(l2, 1000, &err), SP_OK);
        for (int d = 0; d < 50; d++) {
            assert_int_equal(sp_lang_sample(l1, 48, r1, a, &err), SP_OK);
            assert_int_equal(sp_lang_sample(l2, 48, r2, b, &err), SP_OK);
            assert_memory_equal(a, b, sizeof a[0] * 48);
        }
        gsl_rng_free(r1);
        gsl_rng_free(r2);
        sp_lang_destroy(l1);
        sp_lang_destroy(l2);
    }
}

/* ---- load errors ------------------------------------------------------------------------- */

/* A two-counter header for error tests; transitions and accept follow at line 9. */
#define HEAD2                                                                                      \
    "name: t\n"                                                                                    \
    "description: d\n"                                                                             \
    "class: counter\n"                                                                             \
    "alphabet: [a, b]\n"                                                                           \
    "kind: counter\n"                                                                              \
    "counters: 2\n"                                                                                \
    "states: [qa, qb]\n"

#define ACC2 "accept:\n  - {state: qa, counters: [zero, zero]}\n"

static void test_errors_determinism(void **state)
{
    (void)state;
    tu_expect_error(HEAD2 "transitions:\n"
                          "  - {from: qa, symbol: a, to: qa, guard: [positive, any]}\n"
                          "  - {from: qa, symbol: b, to: qa}\n"
                          "  - {from: qa, symbol: a, to: qb, guard: [nonnegative, zero]}\n" ACC2,
                    11, 5,
                    "nondeterministic: transitions at 9:5 and 11:5 both apply in state qa on 'a' "
                    "when counter 1 is positive and counter 2 is zero");
    tu_expect_error(HEAD2 "transitions:\n"
                          "  - {from: qb, symbol: a, to: qa}\n"
                          "  - {from: qb, symbol: a, to: qb, add: [1, 1]}\n" ACC2,
                    10, 5,
                    "transitions at 9:5 and 10:5 both apply in state qb on 'a' whatever the "
                    "counters are");
    tu_expect_error(HEAD2 "transitions:\n"
                          "  - {from: qa, symbol: a, to: qa, guard: [nonpositive, any]}\n"
                          "  - {from: qa, symbol: a, to: qa, guard: [nonnegative, negative]}\n" ACC2,
                    10, 5, "when counter 1 is zero and counter 2 is negative");
    /* Disjoint guards are deterministic; the same guard on another symbol or state is fine. */
    sp_lang *ok = tu_load_text(HEAD2 "transitions:\n"
                                     "  - {from: qa, symbol: a, to: qa, guard: [positive, any]}\n"
                                     "  - {from: qa, symbol: a, to: qa, guard: [zero, any]}\n"
                                     "  - {from: qa, symbol: a, to: qb, guard: [negative, any]}\n"
                                     "  - {from: qb, symbol: a, to: qa, guard: [positive, any]}\n"
                                     "  - {from: qa, symbol: b, to: qa, guard: [positive, any]}\n" ACC2);
    sp_lang_destroy(ok);
}

static void test_errors_names(void **state)
{
    (void)state;
    tu_expect_error(HEAD2 "transitions:\n  - {from: qx, symbol: a, to: qa}\n" ACC2, 9, 12,
                    "unknown state 'qx' (not listed in states)");
    tu_expect_error(HEAD2 "transitions:\n  - {from: qa, symbol: a, to: \"q b\"}\n" ACC2, 9, 31,
                    "unknown state 'q b'");
    tu_expect_error(HEAD2 "start: qc\ntransitions: []\n" ACC2, 8, 8, "unknown state 'qc'");
    tu_expect_error(HEAD2 "transitions: []\naccept:\n  - {state: q}\n", 10, 13,
                    "unknown state 'q'");
    tu_expect_error(HEAD2 "transitions:\n  - {from: qa, symbol: ab, to: qa}\n" ACC2, 9, 24,
                    "symbol 'ab' is not in the alphabet");
    tu_expect_error("name: t\ndescription: d\nclass: counter\nalphabet: [a]\nkind: counter\n"
                    "counters: 1\nstates: [q, r, q]\ntransitions: []\n"
                    "accept:\n  - {state: q}\n",
                    7, 16, "duplicate state name 'q' (also at 7:10)");
    tu_expect_error(HEAD2 "transitions:\n  - {from: qa, symbol: a}\n" ACC2, 9, 5,
                    "missing required key 'to'");
    tu_expect_error(HEAD2 "transitions:\n  - {from: qa, symbol: a, to: qa, gaurd: [any, any]}\n" ACC2,
                    9, 35, "unknown key 'gaurd' in a transition");
    tu_expect_error(HEAD2 "transitions: []\naccept:\n  - {state: qa, count: [zero, zero]}\n", 10,
                    17, "unknown key 'count' in an accept entry");
    tu_expect_error(HEAD2 "transitions: []\nrules: []\n" ACC2, 9, 1,
                    "unknown key 'rules' in a counter language");
    tu_expect_error(HEAD2 "transitions:\n  - [qa, a, qa]\n" ACC2, 9, 5,
                    "a transition must be a mapping");
    tu_expect_error(HEAD2 "transitions:\n  - {from: [qa], symbol: a, to: qa}\n" ACC2, 9, 12,
                    "from must be a string");
    tu_expect_error(HEAD2 "transitions: []\n", 1, 1, "missing required key 'accept'");
    tu_expect_error(HEAD2 ACC2, 1, 1, "missing required key 'transitions'");
    tu_expect_error("name: t\ndescription: d\nclass: counter\nalphabet: [a]\nkind: counter\n"
                    "states: [q]\ntransitions: []\naccept:\n  - {state: q}\n",
                    1, 1, "missing required key 'counters'");
    tu_expect_error(HEAD2 "transitions: []\naccept: []\n", 9, 9,
                    "accept is empty, so the language has no strings");
    tu_expect_error("name: t\ndescription: d\nclass: counter\nalphabet: [a]\nkind: counter\n"
                    "counters: 1\nstates: []\ntransitions: []\naccept: []\n",
                    7, 9, "states is empty");
}

static void test_errors_shapes(void **state)
{
    (void)state;
    tu_expect_error(HEAD2 "transitions:\n  - {from: qa, symbol: a, to: qa, guard: [any]}\n" ACC2,
                    9, 42, "guard has 1 sign, but the automaton has 2 counters");
    tu_expect_error(HEAD2 "transitions:\n  - {from: qa, symbol: a, to: qa, add: [1, 2, 3]}\n" ACC2,
                    9, 40, "add has 3 numbers, but the automaton has 2 counters");
    tu_expect_error(HEAD2 "transitions: []\naccept:\n  - {state: qa, counters: [zero]}\n", 10,
                    27, "counters has 1 sign, but the automaton has 2 counters");
    tu_expect_error(HEAD2 "transitions:\n  - {from: qa, symbol: a, to: qa, guard: [zero, Zero]}\n" ACC2,
                    9, 49, "unknown sign 'Zero' in guard");
    tu_expect_error(HEAD2 "transitions: []\naccept:\n  - {state: qa, counters: [zero, nonzero]}\n",
                    10, 34, "unknown sign 'nonzero' in counters");
    tu_expect_error(HEAD2 "transitions:\n  - {from: qa, symbol: a, to: qa, add: [9, 0]}\n" ACC2, 9,
                    41, "an increment in add must be between -8 and 8, not 9");
    tu_expect_error(HEAD2 "transitions:\n  - {from: qa, symbol: a, to: qa, add: [0, x]}\n" ACC2, 9,
                    44, "an increment in add must be an integer, not 'x'");
    tu_expect_error(HEAD2 "transitions:\n  - {from: qa, symbol: a, to: qa, guard: any}\n" ACC2, 9,
                    42, "guard must be a list");
    tu_expect_error("name: t\ndescription: d\nclass: counter\nalphabet: [a]\nkind: counter\n"
                    "counters: 9\nstates: [q]\ntransitions: []\naccept:\n  - {state: q}\n",
                    6, 11, "counters must be between 1 and 8, not 9");
    tu_expect_error("name: t\ndescription: d\nclass: counter\nalphabet: [a]\nkind: counter\n"
                    "counters: 0\nstates: [q]\ntransitions: []\naccept:\n  - {state: q}\n",
                    6, 11, "counters must be between 1 and 8, not 0");
    /* Defaults: guard all any, add all 0, counters all any, start the first state. */
    sp_lang *lang = tu_load_text(HEAD2 "transitions:\n"
                                       "  - {from: qb, symbol: a, to: qa, add: ~}\n"
                                       "accept:\n  - {state: qa}\n");
    int s[2] = {0, 0};
    assert_false(sp_lang_accepts(lang, s, 1)); /* starts in qa, which has no transitions */
    assert_true(sp_lang_accepts(lang, s, 0));
    sp_lang_destroy(lang);
    lang = tu_load_text(HEAD2 "start: qb\ntransitions:\n"
                              "  - {from: qb, symbol: a, to: qa}\n"
                              "accept:\n  - {state: qa}\n");
    assert_true(sp_lang_accepts(lang, s, 1));
    assert_false(sp_lang_accepts(lang, s, 0));
    assert_true(sp_lang_count(lang, 1) == 1 && sp_lang_count(lang, 0) == 0);
    sp_lang_destroy(lang);
}

static void test_errors_empty(void **state)
{
    (void)state;
    /* The counter can never become negative. */
    tu_expect_error("name: never\ndescription: d\nclass: counter\nalphabet: [a]\nkind: counter\n"
                    "counters: 1\nstates: [q]\ntransitions:\n"
                    "  - {from: q, symbol: a, to: q, add: [1]}\n"
                    "accept:\n  - {state: q, counters: [negative]}\n",
                    1, 1, "never has no strings up to length 64");
    /* The accepting state is unreachable. */
    tu_expect_error("name: island\ndescription: d\nclass: counter\nalphabet: [a]\nkind: counter\n"
                    "counters: 1\nstates: [q, f]\ntransitions:\n"
                    "  - {from: f, symbol: a, to: q}\n"
                    "accept:\n  - {state: f}\n",
                    1, 1, "island has no strings up to length 64");
    /* The guards block the only way in: qb needs a negative counter that never comes. */
    tu_expect_error("name: blocked\ndescription: d\nclass: counter\nalphabet: [a, b]\n"
                    "kind: counter\ncounters: 1\nstates: [qa, qb]\ntransitions:\n"
                    "  - {from: qa, symbol: a, to: qa, add: [1]}\n"
                    "  - {from: qa, symbol: b, to: qa, guard: [positive], add: [-1]}\n"
                    "  - {from: qa, symbol: a, to: qb, guard: [negative]}\n"
                    "accept:\n  - {state: qb}\n",
                    11, 5, "nondeterministic");
    tu_expect_error("name: blocked\ndescription: d\nclass: counter\nalphabet: [a, b, c]\n"
                    "kind: counter\ncounters: 1\nstates: [qa, qb]\ntransitions:\n"
                    "  - {from: qa, symbol: a, to: qa, add: [1]}\n"
                    "  - {from: qa, symbol: b, to: qa, guard: [positive], add: [-1]}\n"
                    "  - {from: qa, symbol: c, to: qb, guard: [negative]}\n"
                    "accept:\n  - {state: qb}\n",
                    1, 1, "blocked has no strings up to length 64");
    /* Members exist, but only from length 65 on: 65 states in a chain. */
    char *text = sp_malloc(16384, 1);
    size_t n = (size_t)snprintf(text, 16384,
                                "name: far\ndescription: d\nclass: counter\nalphabet: [a]\n"
                                "kind: counter\ncounters: 1\nstates: [");
    for (int i = 0; i <= 65; i++) n += (size_t)snprintf(text + n, 16384 - n, "%sq%d", i ? ", " : "", i);
    n += (size_t)snprintf(text + n, 16384 - n, "]\ntransitions:\n");
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(text + n, 16384 - n, "  - {from: q%d, symbol: a, to: q%d}\n", i, i + 1);
    snprintf(text + n, 16384 - n, "accept:\n  - {state: q65}\n");
    tu_expect_error(text, 1, 1, "far has no strings up to length 64");
    /* ... while 64 states in a chain are fine. */
    char *q64 = strstr(text, "state: q65}");
    memcpy(q64, "state: q64}", 11);
    sp_lang *lang = tu_load_text(text);
    assert_true(sp_lang_count(lang, 64) == 1);
    assert_true(sp_lang_count(lang, 63) == 0);
    sp_lang_destroy(lang);
    free(text);
}

/* Text of an automaton with `nq` states, `k` symbols and a transition from every state on
 * every symbol (nq * k of them), counters: 1; the caller frees it. */
static char *big_automaton(int nq, int k, const char *accept)
{
    size_t cap = 256 + (size_t)nq * 16 + (size_t)k * 8 + (size_t)nq * (size_t)k * 64 + strlen(accept);
    size_t n = 0;
    char *t = sp_malloc(cap, 1);
    n += (size_t)snprintf(t + n, cap - n,
                          "name: big\ndescription: d\nclass: counter\nalphabet: [");
    for (int a = 0; a < k; a++) n += (size_t)snprintf(t + n, cap - n, "%ss%d", a ? ", " : "", a);
    n += (size_t)snprintf(t + n, cap - n, "]\nkind: counter\ncounters: 1\nstates: [");
    for (int q = 0; q < nq; q++) n += (size_t)snprintf(t + n, cap - n, "%sq%d", q ? ", " : "", q);
    n += (size_t)snprintf(t + n, cap - n, "]\ntransitions:\n");
    for (int q = 0; q < nq; q++)
        for (int a = 0; a < k; a++)
            n += (size_t)snprintf(t + n, cap - n, "- {from: q%d, symbol: s%d, to: q%d, add: [%d]}\n",
                                  q, a, (q + a + 1) % nq, a % 3 - 1);
    snprintf(t + n, cap - n, "%s", accept);
    return t;
}

static void test_errors_caps(void **state)
{
    (void)state;
    char *t = big_automaton(1001, 1, "accept:\n  - {state: q0}\n");
    tu_expect_error(t, 7, 9, "1001 states is more than the limit of 1000");
    free(t);
    /* 1000 states x 101 symbols = 101000 transitions. */
    t = big_automaton(1000, 101, "accept:\n  - {state: q0}\n");
    double t0 = now();
    tu_expect_error(t, 9, 1, "101000 transitions is more than the limit of 100000");
    printf("# rejecting 101000 transitions took %.1f ms (YAML parsing included)\n",
           1e3 * (now() - t0));
    free(t);
    /* The largest accepted size loads fast: 1000 states x 100 symbols, 1000 accept entries. */
    sp_strbuf acc;
    sp_strbuf_init(&acc);
    sp_strbuf_puts(&acc, "accept:\n");
    for (int q = 0; q < 1000; q++) sp_strbuf_printf(&acc, "  - {state: q%d, counters: [zero]}\n", q);
    t = big_automaton(1000, 100, acc.buf);
    t0 = now();
    sp_lang *lang = tu_load_text(t);
    double t1 = now();
    printf("# loading 1000 states, 100000 transitions, 1000 accept entries: %.1f ms (YAML "
           "parsing included)\n",
           1e3 * (t1 - t0));
    /* 40 times s0 (add -1) leaves the counter at -40; every symbol keeps acceptance (counter
     * zero, in any state) reachable. With 100 symbols per state each target gets 327 work
     * units, too few to find the 40-step completions, so this is the budget's "viable". */
    int s[41] = {0};
    bool valid[100], can_end;
    t0 = now();
    assert_true(sp_lang_next(lang, s, 40, valid, &can_end));
    printf("# first next() on it: %.2f ms\n", 1e3 * (now() - t0));
    assert_false(can_end);
    for (int a = 0; a < 100; a++) assert_true(valid[a]);
    assert_false(sp_lang_accepts(lang, s, 40));
    for (int i = 0; i < 40; i++) s[i] = 2; /* add +1 forty times ... */
    s[40] = 1;                             /* ... and 0 once */
    assert_false(sp_lang_accepts(lang, s, 40));
    for (int i = 0; i < 20; i++) s[i] = 0;
    assert_true(sp_lang_accepts(lang, s, 40));
    sp_lang_destroy(lang);
    free(t);
    sp_strbuf_puts(&acc, "  - {state: q1}\n");
    t = big_automaton(2, 1, acc.buf);
    tu_expect_error(t, 12, 3, "1001 accept entries is more than the limit of 1000");
    free(t);
    sp_strbuf_free(&acc);
}

/* Eight counters: one (state, symbol) group with all 3^8 = 6561 sign vectors as disjoint
 * guards loads (the check is linear, not quadratic); one more overlapping guard is reported
 * with both positions. */
static void test_errors_large_group(void **state)
{
    (void)state;
    static const char *const w[3] = {"negative", "zero", "positive"};
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_strbuf_puts(&sb, "name: g\ndescription: d\nclass: counter\nalphabet: [a]\nkind: counter\n"
                        "counters: 8\nstates: [q]\ntransitions:\n");
    for (int v = 0; v < 6561; v++) {
        sp_strbuf_puts(&sb, "  - {from: q, symbol: a, to: q, guard: [");
        for (int i = 0, x = v; i < 8; i++, x /= 3) sp_strbuf_printf(&sb, "%s%s", i ? ", " : "", w[x % 3]);
        sp_strbuf_printf(&sb, "], add: [%d, 0, 0, 0, 0, 0, 0, 0]}\n", v % 2 ? 1 : -1);
    }
    size_t keep = sb.len;
    sp_strbuf_puts(&sb, "accept:\n  - {state: q}\n");
    double t0 = now();
    sp_lang *lang = tu_load_text(sb.buf);
    printf("# 6561 disjoint guards in one group: loaded in %.1f ms\n", 1e3 * (now() - t0));
    assert_true(sp_lang_count(lang, 5) == 1);
    sp_lang_destroy(lang);
    sb.len = keep;
    sb.buf[keep] = '\0';
    sp_strbuf_puts(&sb, "  - {from: q, symbol: a, to: q, guard: [any, any, any, any, any, any, any, "
                        "nonpositive]}\naccept:\n  - {state: q}\n");
    /* The earliest partner is the first guard, all negative, so that is where both apply. */
    char want[400];
    int n = snprintf(want, sizeof want,
                     "nondeterministic: transitions at 9:5 and %d:5 both apply in state q on 'a' "
                     "when counter 1 is negative",
                     9 + 6561);
    for (int i = 2; i <= 8; i++)
        n += snprintf(want + n, sizeof want - (size_t)n, " and counter %d is negative", i);
    tu_expect_error(sb.buf, 9 + 6561, 5, want);
    sp_strbuf_free(&sb);
}

/* Limits that stop work instead of exhausting time or memory. */
static void test_limits(void **state)
{
    (void)state;
    /* Emptiness undecided within the search budget: seven free counters and an eighth that
     * must be negative to enter the accepting state but only grows. */
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_strbuf_puts(&sb, "name: wide\ndescription: d\nclass: counter\n"
                        "alphabet: [a0, a1, a2, a3, a4, a5, a6, b0, b1, b2, b3, b4, b5, b6, z]\n"
                        "kind: counter\ncounters: 8\nstates: [q, f]\ntransitions:\n");
    for (int i = 0; i < 7; i++)
        for (int sign = 1; sign >= -1; sign -= 2) {
            sp_strbuf_printf(&sb, "  - {from: q, symbol: %c%d, to: q, add: [", sign > 0 ? 'a' : 'b', i);
            for (int j = 0; j < 7; j++) sp_strbuf_printf(&sb, "%d, ", j == i ? sign : 0);
            sp_strbuf_puts(&sb, "1]}\n");
        }
    sp_strbuf_puts(&sb, "  - {from: q, symbol: z, to: f, guard: [any, any, any, any, any, any, "
                        "any, negative]}\naccept:\n  - {state: f}\n");
    sp_lang *lang = NULL;
    sp_error err;
    double t0 = now();
    int status = sp_lang_load_buffer("<wide>", sb.buf, sb.len, &lang, &err);
    printf("# undecidable-within-budget emptiness check gave up after %.1f ms\n",
           1e3 * (now() - t0));
    if (status != SP_ELIMIT || !strstr(err.msg, "cannot tell whether wide has any strings")) {
        sp_error_print(&err, stderr);
        fail_msg("expected SP_ELIMIT");
    }
    assert_null(lang);
    sp_strbuf_free(&sb);

    /* The configuration limit of prepare(), lowered so that the test stays small. */
    lang = tu_load_text(shuffle_yaml);
    ((sp_counter *)lang->impl)->max_configs = 20000;
    assert_int_equal(sp_lang_prepare(lang, 64, &err), SP_OK);
    long double c64 = sp_lang_count(lang, 64);
    assert_int_equal(sp_lang_prepare(lang, 200, &err), SP_ELIMIT);
    assert_non_null(strstr(err.msg, "needs more than 20000 configurations"));
    /* The tables for 0..64 survive the failed attempt. */
    assert_true(sp_lang_count(lang, 64) == c64);
    assert_true(sp_lang_count(lang, 300) == -1);
    /* The other two limits: configurations at one length, and steps. */
    sp_counter *a = lang->impl;
    a->max_configs = CTR_TABLE_BYTES;
    a->max_layer = 300;
    assert_int_equal(sp_lang_prepare(lang, 200, &err), SP_ELIMIT);
    assert_non_null(strstr(err.msg, "needs more than 300 configurations of its counter "
                                    "automaton at one length (the limit, reached at length"));
    a->max_layer = CTR_MAX_LAYER;
    a->max_work = 100000;
    assert_int_equal(sp_lang_prepare(lang, 200, &err), SP_ELIMIT);
    assert_non_null(strstr(err.msg, "needs more than 100000 steps"));
    a->max_work = CTR_MAX_WORK;
    assert_int_equal(sp_lang_prepare(lang, 200, &err), SP_OK);
    assert_true(sp_lang_count(lang, 64) == c64);
    sp_lang_destroy(lang);

    /* With the real limits: an automaton whose configurations multiply by up to 33 per symbol
     * fails fast (it once took a minute and 1.3 GB before giving up). */
    lang = tu_load_path(tu_src_path("tests/fixtures/counter-vectors.yaml"));
    t0 = now();
    status = sp_lang_prepare(lang, 12, &err);
    printf("# vectors: prepare(12) failed after %.1f ms: %s\n", 1e3 * (now() - t0), err.msg);
    assert_int_equal(status, SP_ELIMIT);
    /* Short lengths still count: the generic layer retries with exactly the length asked for. */
    assert_true(sp_lang_count(lang, 5) >= 0);
    sp_lang_destroy(lang);
}

/* All strings over {a, b}: 2^n strings of length n, which passes long double's range (about
 * 2^16384) at n = 16384. prepare fails there with SP_ELIMIT instead of storing inf, the tables
 * already built stay usable, and the longest countable length still samples uniformly. */
static void test_count_range(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_text("name: all\ndescription: d\nclass: regular\nalphabet: [a, b]\n"
                                 "kind: counter\ncounters: 1\nstates: [q]\ntransitions:\n"
                                 "  - {from: q, symbol: a, to: q}\n"
                                 "  - {from: q, symbol: b, to: q}\n"
                                 "accept:\n  - {state: q}\n");
    sp_error err;
    assert_true(sp_lang_count(lang, 64) == 0x1p64L);
    assert_int_equal(sp_lang_prepare(lang, 20000, &err), SP_ELIMIT);
    printf("# 2^n strings at 20000: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "length 16384 needs numbers beyond long double's range"));
    assert_non_null(strstr(err.msg, "lengths up to 16383 can be counted"));
    assert_true(sp_lang_count(lang, 20000) == -1);
    assert_true(sp_lang_count(lang, 64) == 0x1p64L);
    assert_int_equal(sp_lang_prepare(lang, 16384, &err), SP_ELIMIT);
    assert_int_equal(sp_lang_prepare(lang, 16383, &err), SP_OK);
    assert_true(sp_lang_count(lang, 16383) == ldexpl(1, 16383));
    /* Each symbol of a uniform sample is a fair coin: 16383 flips give 8191.5 +- 64 a's. */
    int *s = sp_malloc(16383, sizeof *s);
    gsl_rng *r = sp_rng_new(5);
    for (int d = 0; d < 3; d++) {
        assert_int_equal(sp_lang_sample(lang, 16383, r, s, &err), SP_OK);
        long na = 0;
        for (size_t i = 0; i < 16383; i++) na += s[i] == 0;
        printf("# sample of length 16383: %ld a's\n", na);
        assert_true(labs(2 * na - 16383) < 2 * 640); /* 10 standard deviations */
    }
    gsl_rng_free(r);
    free(s);
    sp_lang_destroy(lang);
}

/* Every fixture tests/fixtures/bad/counter-*.yaml fails with its "# expect: L:C: TEXT". */
static void test_fixtures(void **state)
{
    (void)state;
    static const char *const names[] = {"nondeterministic", "unknown-state", "bad-guard",
                                        "wrong-arity", "empty-language",
                                        "symbol-not-in-alphabet"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char rel[128], path[4096], line[512];
        snprintf(rel, sizeof rel, "tests/fixtures/bad/counter-%s.yaml", names[i]);
        snprintf(path, sizeof path, "%s", tu_src_path(rel));
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        assert_non_null(fgets(line, sizeof line, f));
        fclose(f);
        line[strcspn(line, "\n")] = '\0';
        int l, c, off = 0;
        if (sscanf(line, "# expect: %d:%d: %n", &l, &c, &off) != 2 || !off)
            fail_msg("%s: bad expect line", rel);
        sp_lang *lang = NULL;
        sp_error err;
        assert_int_equal(sp_lang_load(path, &lang, &err), SP_EINPUT);
        if (err.line != l || err.col != c || !strstr(err.msg, line + off) ||
            strcmp(err.file, path)) {
            sp_error_print(&err, stderr);
            fail_msg("%s: expected %d:%d: %s", rel, l, c, line + off);
        }
    }
}

/* ---- timings (printed, not asserted) ----------------------------------------------------- */

static void test_timings(void **state)
{
    (void)state;
    int *s = sp_malloc(512, sizeof *s);
    bool valid[8], can_end;
    sp_error err;
    for (size_t z = 0; z < NZOO; z++) {
        sp_lang *lang = tu_load_zoo(zoo[z].name);
        double t0 = now();
        long double total = 0;
        for (size_t n = 0; n <= 500; n++) total += sp_lang_count(lang, n);
        double tc = now() - t0;
        assert_true(total > 0);
        printf("# %-9s count 0..500: %7.2f ms", zoo[z].name, 1e3 * tc);
        gsl_rng *r = sp_rng_new(7);
        static const size_t lens[2] = {50, 500};
        for (int j = 0; j < 2; j++) {
            size_t n = lens[j];
            while (!(sp_lang_count(lang, n) > 0)) n--;
            size_t draws = j ? 20000 : 200000;
            t0 = now();
            for (size_t d = 0; d < draws; d++)
                assert_int_equal(sp_lang_sample(lang, n, r, s, &err), SP_OK);
            printf(", samples/s at %zu: %9.0f", n, (double)draws / (now() - t0));
        }
        /* next() after every prefix of sampled strings of length about 50. */
        size_t n = 50, calls = 0;
        while (!(sp_lang_count(lang, n) > 0)) n--;
        int *many = sp_malloc(2000 * n, sizeof *many);
        for (int d = 0; d < 2000; d++)
            assert_int_equal(sp_lang_sample(lang, n, r, many + (size_t)d * n, &err), SP_OK);
        t0 = now();
        for (int d = 0; d < 2000; d++)
            for (size_t i = 0; i <= n; i++, calls++)
                assert_true(sp_lang_next(lang, many + (size_t)d * n, i, valid, &can_end));
        double tn = now() - t0;
        free(many);
        printf(", next() calls/s: %9.0f\n", (double)calls / tn);
        gsl_rng_free(r);
        sp_lang_destroy(lang);
    }
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zoo_metadata),
        cmocka_unit_test(test_zoo_enumeration),
        cmocka_unit_test(test_zoo_next_long),
        cmocka_unit_test(test_majority_binomial),
        cmocka_unit_test(test_block_counts),
        cmocka_unit_test(test_dyck1_catalan),
        cmocka_unit_test(test_negative_signs),
        cmocka_unit_test(test_shuffle_next_bruteforce),
        cmocka_unit_test(test_abc),
        cmocka_unit_test(test_pump),
        cmocka_unit_test(test_vectors_next),
        cmocka_unit_test(test_next_min_horizon),
        cmocka_unit_test(test_next_budget),
        cmocka_unit_test(test_uniformity),
        cmocka_unit_test(test_sample_long),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_errors_determinism),
        cmocka_unit_test(test_errors_names),
        cmocka_unit_test(test_errors_shapes),
        cmocka_unit_test(test_errors_empty),
        cmocka_unit_test(test_errors_caps),
        cmocka_unit_test(test_errors_large_group),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_count_range),
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_timings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
