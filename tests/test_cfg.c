/* The cfg kind: Earley membership and next symbols against hand-written predicates, counts
 * against known sequences and independent counts, uniform and deterministic sampling, the
 * ambiguity search with independently checked witnesses, and errors with exact positions. */
#include "testutil.h"

#include "satprobe/alloc.h"
#include "satprobe/rng.h"
#include "src/lang/earley.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- hand-written membership and next-symbol oracles ----------------------------------- */

/* A prefix oracle: whether p is a prefix of a member; valid[a] and *can_end as sp_lang_next. */
typedef bool (*member_fn)(const int *s, size_t n);
typedef bool (*next_fn)(const int *p, size_t n, bool *valid, bool *can_end);

/* palindromes: alphabet a b (0 1); w w^R, so even length and s[i] == s[n-1-i]. */
static bool pal_member(const int *s, size_t n)
{
    if (n % 2) return false;
    for (size_t i = 0; i < n / 2; i++)
        if (s[i] != s[n - 1 - i]) return false;
    return true;
}

/* Every string over {a, b} is a prefix of the palindrome p p^R. */
static bool pal_next(const int *p, size_t n, bool *valid, bool *can_end)
{
    valid[0] = valid[1] = true;
    *can_end = pal_member(p, n);
    return true;
}

/* marked-reversal: alphabet a b # (0 1 2); w # w^R. */
static bool mr_member(const int *s, size_t n)
{
    if (n % 2 == 0 || s[n / 2] != 2) return false;
    for (size_t i = 0; i < n / 2; i++)
        if (s[i] == 2 || s[i] != s[n - 1 - i]) return false;
    return true;
}

static bool mr_next(const int *p, size_t n, bool *valid, bool *can_end)
{
    size_t hash = SIZE_MAX;
    for (size_t i = 0; i < n; i++)
        if (p[i] == 2) {
            if (hash != SIZE_MAX) return false;
            hash = i;
        }
    if (hash == SIZE_MAX) {
        /* p is w: any of a, b, # continues it (p # p^R). */
        valid[0] = valid[1] = valid[2] = true;
        *can_end = false;
        return true;
    }
    /* p is w # r: r must be a prefix of w^R. */
    size_t r = n - hash - 1;
    if (r > hash) return false;
    for (size_t i = 0; i < r; i++)
        if (p[hash + 1 + i] != p[hash - 1 - i]) return false;
    valid[0] = valid[1] = valid[2] = false;
    if (r < hash) valid[p[hash - 1 - r]] = true;
    *can_end = r == hash;
    return true;
}

/* boolean-3: alphabet 0 1 ~ + > with arities 0 0 1 2 3. A counter of pending operands starts at
 * 1; each symbol needs it >= 1, takes one and adds its arity. */
static const int b3_arity[5] = {0, 0, 1, 2, 3};

static bool b3_member(const int *s, size_t n)
{
    long need = 1;
    for (size_t i = 0; i < n; i++) {
        if (need == 0) return false;
        need += b3_arity[s[i]] - 1;
    }
    return need == 0;
}

static bool b3_next(const int *p, size_t n, bool *valid, bool *can_end)
{
    long need = 1;
    for (size_t i = 0; i < n; i++) {
        if (need == 0) return false;
        need += b3_arity[p[i]] - 1;
    }
    for (int a = 0; a < 5; a++) valid[a] = need > 0;
    *can_end = need == 0;
    return true;
}

/* Every string up to length 12 (2^20 strings per length at most): accepts agrees with the
 * predicate and the number of members with count(n); next() agrees with the oracle on every
 * string up to length 8. */
static void check_zoo(const char *name, member_fn member, next_fn next)
{
    sp_lang *lang = tu_load_zoo(name);
    assert_int_equal(sp_lang_get_kind(lang), SP_KIND_CFG);
    assert_false(sp_lang_counts_derivations(lang));
    size_t k = sp_lang_alphabet_size(lang);
    int s[12];
    bool valid[8], want_valid[8];
    size_t longest = 0;
    for (size_t n = 0; n <= 12; n++) {
        if (tu_pow_capped(k, n, (size_t)1 << 20) == SIZE_MAX) continue;
        longest = n;
        memset(s, 0, sizeof s);
        size_t members = 0;
        do {
            bool want = member(s, n);
            if (sp_lang_accepts(lang, s, n) != want) fail_msg("%s: accepts disagrees at length %zu", name, n);
            members += want;
            if (n <= 8) {
                bool can_end, want_end = false;
                memset(want_valid, 0, sizeof want_valid);
                bool viable = sp_lang_next(lang, s, n, valid, &can_end);
                bool want_viable = next(s, n, want_valid, &want_end);
                if (!want_viable) {
                    memset(want_valid, 0, sizeof want_valid);
                    want_end = false;
                }
                assert_int_equal(viable, want_viable);
                assert_int_equal(can_end, want_end);
                assert_int_equal(can_end, want);
                for (size_t a = 0; a < k; a++) assert_int_equal(valid[a], want_valid[a]);
            }
        } while (n > 0 && tu_next_string(s, n, k));
        if ((long double)members != sp_lang_count(lang, n))
            fail_msg("%s: %zu members of length %zu, count says %Lg", name, members, n,
                     sp_lang_count(lang, n));
    }
    printf("# %s: membership and counts checked up to length %zu, next() up to 8\n", name,
           longest);
    sp_lang_destroy(lang);
}

static void test_palindromes_enumerated(void **state)
{
    (void)state;
    check_zoo("palindromes", pal_member, pal_next);
}

static void test_marked_reversal_enumerated(void **state)
{
    (void)state;
    check_zoo("marked-reversal", mr_member, mr_next);
}

static void test_boolean3_enumerated(void **state)
{
    (void)state;
    check_zoo("boolean-3", b3_member, b3_next);
}

/* ---- known sequences ------------------------------------------------------------------ */

static void test_known_counts(void **state)
{
    (void)state;
    sp_lang *pal = tu_load_zoo("palindromes"), *mr = tu_load_zoo("marked-reversal");
    for (size_t n = 0; n <= 500; n++) {
        assert_true(sp_lang_count(pal, n) == (n % 2 ? 0 : ldexpl(1, (int)(n / 2))));
        assert_true(sp_lang_count(mr, n) == (n % 2 ? ldexpl(1, (int)((n - 1) / 2)) : 0));
    }
    sp_lang_destroy(pal);
    sp_lang_destroy(mr);

    /* boolean-3 against a DP over the operand counter: ways[c] = prefixes of the current
     * length with c >= 1 operands pending (never 0 before the end). */
    enum { N = 500 };
    long double *ways = sp_calloc(2 * N + 3, sizeof *ways), *next = sp_calloc(2 * N + 3, sizeof *next);
    long double complete[N + 1] = {0};
    ways[1] = 1;
    for (size_t i = 0; i < N; i++) {
        memset(next, 0, (2 * N + 3) * sizeof *next);
        for (size_t c = 1; c <= 2 * i + 1; c++) {
            if (ways[c] == 0) continue;
            for (int a = 0; a < 5; a++) {
                size_t to = c - 1 + (size_t)b3_arity[a];
                if (to == 0) complete[i + 1] += ways[c];
                else next[to] += ways[c];
            }
        }
        long double *t = ways;
        ways = next;
        next = t;
    }
    sp_lang *b3 = tu_load_zoo("boolean-3");
    for (size_t n = 0; n <= N; n++) {
        long double got = sp_lang_count(b3, n), want = complete[n];
        if (want < 0x1p64L) assert_true(got == want);
        else if (fabsl(got / want - 1) > 1e-15L) fail_msg("boolean-3 count %zu: %Lg vs %Lg", n, got, want);
    }
    char buf[64];
    sp_lang_format_count(sp_lang_count(b3, 500), buf, sizeof buf);
    printf("# boolean-3 has %s strings of length 500\n", buf);
    sp_lang_destroy(b3);
    free(ways);
    free(next);
}

static const char dyck1_cfg[] = "name: dyck-1-cfg\n"
                                "description: Dyck-1 as a grammar.\n"
                                "class: context-free\n"
                                "alphabet: [\"(\", \")\"]\n"
                                "kind: cfg\n"
                                "rules:\n"
                                "  S: [\"( S ) S\", \"\"]\n";

static void test_dyck1_catalan(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_text(dyck1_cfg);
    for (size_t n = 0; n <= 500; n++) {
        long double got = sp_lang_count(lang, n);
        if (n % 2) {
            assert_true(got == 0);
            continue;
        }
        long double m = (long double)(n / 2);
        long double want = expl(lgammal(2 * m + 1) - lgammal(m + 1) - lgammal(m + 2));
        if (fabsl(got / want - 1) > 1e-15L) fail_msg("Catalan %Lg: %Lg vs %Lg", m, got, want);
    }
    /* Exact while below 2^64: C_35 = 3 116 285 494 907 301 262. */
    assert_true(sp_lang_count(lang, 70) == 3116285494907301262.0L);
    sp_lang_destroy(lang);
}

/* ---- an independent derivation counter for small test grammars ------------------------ */

/* Rules "X=rhs" over one-character symbols: upper case letters are nonterminals, anything else
 * a terminal; the first rule's left side is the start symbol. */
typedef struct tgram {
    const char *rules[12];
} tgram;

static bool t_nullable(const tgram *g, char a)
{
    /* Least fixed point; the grammars here are tiny. */
    bool null[26] = {false}, changed = true;
    while (changed) {
        changed = false;
        for (size_t r = 0; g->rules[r]; r++) {
            const char *rhs = g->rules[r] + 2;
            bool all = true;
            for (const char *p = rhs; *p && all; p++) all = *p >= 'A' && *p <= 'Z' && null[*p - 'A'];
            if (all && !null[g->rules[r][0] - 'A']) changed = null[g->rules[r][0] - 'A'] = true;
        }
    }
    return null[a - 'A'];
}

static long double t_count(const tgram *g, char a, const char *w, size_t i, size_t j);

/* Derivations of w[i..j) from the symbols rhs[0..]: the rest is counted first, so a
 * nonterminal is only asked for spans the rest leaves over (no left-recursion loops). */
static long double t_seq(const tgram *g, const char *rhs, const char *w, size_t i, size_t j)
{
    if (!*rhs) return i == j;
    if (!(*rhs >= 'A' && *rhs <= 'Z')) return i < j && w[i] == *rhs ? t_seq(g, rhs + 1, w, i + 1, j) : 0;
    long double sum = 0;
    for (size_t m = i; m <= j; m++) {
        if (m == i && !t_nullable(g, *rhs)) continue;
        long double rest = t_seq(g, rhs + 1, w, m, j);
        if (rest > 0) sum += rest * t_count(g, *rhs, w, i, m);
    }
    return sum;
}

static long double t_count(const tgram *g, char a, const char *w, size_t i, size_t j)
{
    if (i == j && !t_nullable(g, a)) return 0;
    long double sum = 0;
    for (size_t r = 0; g->rules[r]; r++)
        if (g->rules[r][0] == a) sum += t_seq(g, g->rules[r] + 2, w, i, j);
    return sum;
}

/* The same grammar as YAML (alphabet given), with `ambiguous: allow` if asked. */
static char *t_yaml(const tgram *g, const char *alphabet, bool allow)
{
    char *buf = sp_malloc(4096, 1);
    int used = snprintf(buf, 4096,
                        "name: t\ndescription: t\nclass: context-free\nalphabet: [%s]\nkind: cfg\n%s"
                        "rules:\n",
                        alphabet, allow ? "ambiguous: allow\n" : "");
    char seen[27] = "";
    for (size_t r = 0; g->rules[r]; r++) {
        char a = g->rules[r][0];
        if (strchr(seen, a)) continue;
        seen[strlen(seen)] = a;
        used += snprintf(buf + used, 4096 - (size_t)used, "  %c: [", a);
        bool first = true;
        for (size_t q = r; g->rules[q]; q++) {
            if (g->rules[q][0] != a) continue;
            used += snprintf(buf + used, 4096 - (size_t)used, "%s\"", first ? "" : ", ");
            for (const char *p = g->rules[q] + 2; *p; p++)
                used += snprintf(buf + used, 4096 - (size_t)used, "%s%c", p == g->rules[q] + 2 ? "" : " ", *p);
            used += snprintf(buf + used, 4096 - (size_t)used, "\"");
            first = false;
        }
        used += snprintf(buf + used, 4096 - (size_t)used, "]\n");
    }
    assert_true(used < 4096);
    return buf;
}

/* Loading g without `ambiguous: allow` fails at the start rule (line 7, column 3) with a
 * witness that the independent counter confirms has at least two derivations. */
static void expect_ambiguous(const tgram *g, const char *alphabet)
{
    char *yaml = t_yaml(g, alphabet, false);
    sp_lang *lang = NULL;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_lang_load_buffer("<test>", yaml, strlen(yaml), &lang, &err), SP_EINPUT);
    assert_null(lang);
    assert_int_equal(err.line, 7);
    assert_int_equal(err.col, 3);
    const char *open = strstr(err.msg, "ambiguous: '"), *close = strstr(err.msg, "' has two derivations");
    if (!open || !close) fail_msg("not an ambiguity error: %s", err.msg);
    char w[64];
    size_t n = 0;
    for (const char *p = open + strlen("ambiguous: '"); p < close; p++)
        if (*p != ' ') w[n++] = *p;
    w[n] = '\0';
    long double d = t_count(g, g->rules[0][0], w, 0, n);
    printf("# witness '%s' has %Lg derivations\n", w, d);
    assert_true(d >= 2);
    /* The search goes by length, so the witness is a shortest ambiguous string. */
    free(yaml);
}

/* With `ambiguous: allow`: counts are derivation counts (the independent counter summed over
 * every string of each length up to max_n), and accepts agrees with "has a derivation". */
static void check_derivation_counts(const tgram *g, const char *alphabet, const char *symbols,
                                    size_t max_n)
{
    char *yaml = t_yaml(g, alphabet, true);
    sp_lang *lang = tu_load_text(yaml);
    assert_true(sp_lang_counts_derivations(lang));
    size_t k = strlen(symbols);
    assert_int_equal(sp_lang_alphabet_size(lang), k);
    for (size_t n = 0; n <= max_n; n++) {
        int s[16] = {0};
        char w[17];
        long double total = 0;
        do {
            for (size_t i = 0; i < n; i++) w[i] = symbols[s[i]];
            w[n] = '\0';
            long double d = t_count(g, g->rules[0][0], w, 0, n);
            total += d;
            if (sp_lang_accepts(lang, s, n) != (d > 0)) fail_msg("accepts('%s') is wrong", w);
        } while (n > 0 && tu_next_string(s, n, k));
        if (total != sp_lang_count(lang, n))
            fail_msg("length %zu: %Lg derivations, count says %Lg", n, total, sp_lang_count(lang, n));
    }
    sp_lang_destroy(lang);
    free(yaml);
}

#define HEAD_AB "name: t\ndescription: t\nclass: context-free\nalphabet: [a, b]\nkind: cfg\n"

static const tgram g_expr = {{"E=E+E", "E=a", NULL}};
static const tgram g_concat = {{"S=SS", "S=a", NULL}};
static const tgram g_units = {{"S=A", "S=B", "A=a", "B=a", "B=b", NULL}};
static const tgram g_eps = {{"S=aA", "A=B", "A=C", "B=", "C=", NULL}};
static const tgram g_opt = {{"S=AB", "S=b", "A=aA", "A=", "B=Ab", "B=c", NULL}};
static const tgram g_nullmix = {{"S=AcBS", "S=", "A=a", "A=", "B=b", "B=", NULL}};
static const tgram g_dyck = {{"S=(S)S", "S=", NULL}};
static const tgram g_tt = {{"S=TT", "T=a", "T=aa", "T=", NULL}};

static void test_ambiguity_found(void **state)
{
    (void)state;
    expect_ambiguous(&g_expr, "a, \"+\"");
    expect_ambiguous(&g_concat, "a");
    expect_ambiguous(&g_units, "a, b");
    expect_ambiguous(&g_eps, "a");
    expect_ambiguous(&g_opt, "a, b, c");
    expect_ambiguous(&g_tt, "a");
    /* The search reaches length 10 on a grammar as big as boolean-3 (a second derivation of
     * ~^9 0 through X) and length 20 on one as small as palindromes. */
    tu_expect_error("name: t\ndescription: t\nclass: counter\n"
                    "alphabet: [\"0\", \"1\", \"~\", \"+\", \">\"]\nkind: cfg\nrules:\n"
                    "  E: [\"0\", \"1\", \"~ E\", \"+ E E\", \"> E E E\", X]\n"
                    "  X: [\"~ ~ ~ ~ ~ ~ ~ ~ ~ 0\"]\n",
                    7, 3, "ambiguous: '~ ~ ~ ~ ~ ~ ~ ~ ~ 0' has two derivations");
    tu_expect_error(HEAD_AB "rules:\n  S: [a S a, b S b, \"\", X]\n"
                    "  X: [a a a a a a a a a a a a a a a a a a a a]\n",
                    7, 3, "ambiguous: 'a a a a a a a a a a a a a a a a a a a a' has two");
    /* S -> S S | a | "" is worse than ambiguous: S => S S => S loops. */
    tu_expect_error("name: t\ndescription: t\nclass: context-free\nalphabet: [a]\nkind: cfg\n"
                    "rules:\n  S: [\"S S\", a, \"\"]\n",
                    7, 3, "infinite derivations: the cycle S -> S");
}

static void test_derivation_counts(void **state)
{
    (void)state;
    check_derivation_counts(&g_expr, "a, \"+\"", "a+", 9);
    check_derivation_counts(&g_concat, "a", "a", 12);
    check_derivation_counts(&g_units, "a, b", "ab", 3);
    check_derivation_counts(&g_eps, "a", "a", 4);
    check_derivation_counts(&g_opt, "a, b, c", "abc", 7);
    check_derivation_counts(&g_nullmix, "a, b, c", "abc", 7);
    check_derivation_counts(&g_dyck, "\"(\", \")\"", "()", 10);
    check_derivation_counts(&g_tt, "a", "a", 6);

    /* E -> E + E | a: the one string of length 2m+1 has Catalan(m) derivations (exact
     * integers by the convolution C(m) = sum C(i) C(m-1-i), all below 2^64 up to m = 35). */
    char *yaml = t_yaml(&g_expr, "a, \"+\"", true);
    sp_lang *lang = tu_load_text(yaml);
    uint64_t catalan[36] = {1};
    gsl_rng *r = sp_rng_new(7);
    int out[81];
    sp_error err;
    for (size_t m = 0; m <= 35; m++) {
        for (size_t i = 0; m > 0 && i < m; i++) catalan[m] += catalan[i] * catalan[m - 1 - i];
        assert_true(sp_lang_count(lang, 2 * m + 1) == (long double)catalan[m]);
        assert_true(sp_lang_count(lang, 2 * m) == 0);
        assert_int_equal(sp_lang_sample(lang, 2 * m + 1, r, out, &err), SP_OK);
        for (size_t i = 0; i <= 2 * m; i++) assert_int_equal(out[i], i % 2);
    }
    assert_true(catalan[35] == 3116285494907301262ULL);
    gsl_rng_free(r);
    sp_lang_destroy(lang);
    free(yaml);

    /* Sampling is uniform over derivations: S -> A | B, A -> a | b, B -> a draws 'a' with
     * probability 2/3. */
    yaml = t_yaml(&g_units, "a, b", true);
    lang = tu_load_text(yaml);
    r = sp_rng_new(11);
    size_t as = 0, draws = 30000;
    for (size_t i = 0; i < draws; i++) {
        assert_int_equal(sp_lang_sample(lang, 1, r, out, &err), SP_OK);
        as += out[0] == 0;
    }
    double p = (double)as / (double)draws;
    printf("# S -> A | B, A -> a | b, B -> a: 'a' drawn with frequency %.4f (2/3 expected)\n", p);
    assert_true(fabs(p - 2.0 / 3.0) < 0.02); /* 7 standard deviations */
    gsl_rng_free(r);
    sp_lang_destroy(lang);
    free(yaml);
}

static void test_zoo_unambiguous(void **state)
{
    (void)state;
    /* Loading checks ambiguity; tu_load_zoo fails the test if a grammar is rejected. */
    const char *zoo[] = {"boolean-3", "marked-reversal", "palindromes"};
    for (size_t i = 0; i < 3; i++) {
        double t0 = now();
        sp_lang *lang = tu_load_zoo(zoo[i]);
        printf("# %s: loaded (with the ambiguity search) in %.1f ms\n", zoo[i], (now() - t0) * 1e3);
        sp_lang_destroy(lang);
    }
    sp_lang_destroy(tu_load_text(dyck1_cfg));
}

/* ---- sampling ------------------------------------------------------------------------ */

static void test_uniform(void **state)
{
    (void)state;
    struct {
        const char *name;
        size_t n;
    } cases[] = {{"palindromes", 10}, {"palindromes", 14}, {"marked-reversal", 11},
                 {"marked-reversal", 13}, {"boolean-3", 4}, {"boolean-3", 5}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sp_lang *lang = tu_load_zoo(cases[i].name);
        size_t members;
        long double c = sp_lang_count(lang, cases[i].n);
        size_t draws = 100 * (size_t)c;
        double p = tu_chisq_uniform(lang, cases[i].n, draws, 1000 + i, &members);
        printf("# %s length %zu: %zu members, %zu draws, chi-square p = %.4f\n", cases[i].name,
               cases[i].n, members, draws, p);
        assert_true(members >= 10 && members <= 200);
        assert_true(p > 0.001);
        sp_lang_destroy(lang);
    }
}

static void check_long_samples(const char *name, member_fn member, size_t n)
{
    sp_lang *lang = tu_load_zoo(name);
    gsl_rng *r = sp_rng_new(3);
    int *out = sp_malloc(n, sizeof *out);
    sp_error err;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(sp_lang_sample(lang, n, r, out, &err), SP_OK);
        assert_true(member(out, n));
        assert_true(sp_lang_accepts(lang, out, n));
    }
    free(out);
    gsl_rng_free(r);
    sp_lang_destroy(lang);
}

static void test_long_samples(void **state)
{
    (void)state;
    check_long_samples("palindromes", pal_member, 500);
    check_long_samples("marked-reversal", mr_member, 501);
    check_long_samples("boolean-3", b3_member, 500);
}

static void test_deterministic(void **state)
{
    (void)state;
    const char *zoo[] = {"boolean-3", "marked-reversal", "palindromes"};
    for (size_t z = 0; z < 3; z++) {
        sp_lang *a = tu_load_zoo(zoo[z]), *b = tu_load_zoo(zoo[z]);
        gsl_rng *ra = sp_rng_new(42), *rb = sp_rng_new(42);
        int sa[51], sb[51];
        sp_error err;
        size_t n = sp_lang_count(a, 50) > 0 ? 50 : 51;
        bool differ = false;
        int first[51];
        for (int i = 0; i < 50; i++) {
            assert_int_equal(sp_lang_sample(a, n, ra, sa, &err), SP_OK);
            assert_int_equal(sp_lang_sample(b, n, rb, sb, &err), SP_OK);
            assert_memory_equal(sa, sb, n * sizeof *sa);
            if (i == 0) memcpy(first, sa, n * sizeof *sa);
            else differ = differ || memcmp(first, sa, n * sizeof *sa) != 0;
        }
        assert_true(differ); /* and the samples are not all the same string */
        gsl_rng_free(ra);
        gsl_rng_free(rb);
        sp_lang_destroy(a);
        sp_lang_destroy(b);
    }
}

/* Derivations as deep as the length: sampling uses an explicit stack, not the C stack. */
static void test_deep_samples(void **state)
{
    (void)state;
    static const char *const grammars[] = {
        "  S: [\"S a\", \"\"]\n",   /* left recursion: the pending suffixes pile up */
        "  S: [\"a S b\", \"\"]\n", /* centre embedding */
    };
    for (size_t g = 0; g < 2; g++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml,
                 "name: deep\ndescription: d\nclass: context-free\nalphabet: [a, b]\nkind: cfg\n"
                 "rules:\n%s",
                 grammars[g]);
        sp_lang *lang = tu_load_text(yaml);
        size_t n = SP_LANG_MAX_LENGTH;
        int *out = sp_malloc(n, sizeof *out);
        gsl_rng *r = sp_rng_new(5);
        sp_error err;
        assert_true(sp_lang_count(lang, n) == 1);
        assert_int_equal(sp_lang_sample(lang, n, r, out, &err), SP_OK);
        for (size_t i = 0; i < n; i++) assert_int_equal(out[i], g == 0 ? 0 : i >= n / 2);
        gsl_rng_free(r);
        free(out);
        sp_lang_destroy(lang);
    }
}

static void test_count_overflow(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("palindromes");
    sp_error err;
    sp_error_clear(&err);
    /* 2^(n/2) passes the long double range (about 2^16384) near n = 32768. */
    assert_int_equal(sp_lang_prepare(lang, 40000, &err), SP_ELIMIT);
    assert_non_null(strstr(err.msg, "overflow long double at length"));
    assert_true(sp_lang_count(lang, 40000) == -1);
    assert_true(sp_lang_count(lang, 100) == ldexpl(1, 50));
    sp_lang_destroy(lang);
}

/* ---- the incremental Earley API ------------------------------------------------------ */

/* boolean-3 as a hand-built grammar: E -> 0 | 1 | ~ E | + E E | > E E E. */
static void b3_grammar(sp_cfg_grammar *g)
{
    memset(g, 0, sizeof *g);
    static const int syms[] = {0, 1, 2, SP_CFG_NT(0), 3, SP_CFG_NT(0), SP_CFG_NT(0),
                               4, SP_CFG_NT(0), SP_CFG_NT(0), SP_CFG_NT(0)};
    static const size_t off[] = {0, 1, 2, 4, 7, 11};
    g->k = 5;
    g->nnt = 1;
    g->nalt = 5;
    g->start = 0;
    g->nt_alt = sp_malloc(2, sizeof *g->nt_alt);
    g->nt_alt[0] = 0;
    g->nt_alt[1] = 5;
    g->alt_lhs = sp_calloc(5, sizeof *g->alt_lhs);
    g->alt_off = sp_malloc(6, sizeof *g->alt_off);
    memcpy(g->alt_off, off, sizeof off);
    g->sym = sp_malloc(11, sizeof *g->sym);
    memcpy(g->sym, syms, sizeof syms);
    g->nullable = sp_calloc(1, sizeof *g->nullable);
    sp_cfg_grammar_index(g);
}

/* Depth-first over every prefix up to length 7, reusing sets through truncate. */
static void walk(sp_earley *e, int *p, size_t n, size_t *visited)
{
    bool valid[5], want_valid[5], want_end = false;
    bool viable = sp_earley_viable(e), want = b3_next(p, n, want_valid, &want_end);
    (*visited)++;
    assert_int_equal(viable, want);
    if (!viable) return;
    assert_int_equal(sp_earley_accepting(e), want_end);
    sp_earley_scannable(e, valid);
    for (int a = 0; a < 5; a++) assert_int_equal(valid[a], want_valid[a]);
    if (n == 7) return;
    for (int a = 0; a < 5; a++) {
        p[n] = a;
        assert_int_equal(sp_earley_feed(e, a), valid[a]);
        walk(e, p, n + 1, visited);
        sp_earley_truncate(e, n);
        assert_int_equal(sp_earley_length(e), n);
    }
}

static void test_earley_incremental(void **state)
{
    (void)state;
    sp_cfg_grammar g;
    b3_grammar(&g);
    sp_earley *e = sp_earley_new(&g);
    int p[8];
    size_t visited = 0;
    walk(e, p, 0, &visited);
    printf("# incremental Earley: %zu prefixes checked\n", visited);
    /* A dead prefix stays dead. */
    assert_false(sp_earley_feed(e, 0) && sp_earley_feed(e, 0));
    assert_false(sp_earley_feed(e, 3));
    assert_false(sp_earley_viable(e));
    sp_earley_destroy(e);
    int s[] = {4, 0, 2, 1, 3, 0, 1};
    assert_true(sp_earley_recognise(&g, s, 7));
    assert_false(sp_earley_recognise(&g, s, 6));
    sp_cfg_grammar_free(&g);
}

/* ---- errors ---------------------------------------------------------------------------- */

#define HEAD "name: t\ndescription: t\nclass: context-free\nalphabet: [a, b]\nkind: cfg\n"

static void test_errors(void **state)
{
    (void)state;
    tu_expect_error(HEAD "rules:\n  S: [a S b, \"a Q\"]\n", 7, 17, "undefined nonterminal 'Q'");
    tu_expect_error(HEAD "rules:\n  S: [a S b, a Q]\n", 7, 16, "undefined nonterminal 'Q'");
    tu_expect_error(HEAD "rules:\n  S: 'b X'\n", 7, 9, "undefined nonterminal 'X'");
    tu_expect_error(HEAD "rules:\n  S: [a S b, \"\", X]\n  X: [a X]\n", 8, 3,
                    "nonterminal 'X' is unproductive (derives no finite string)");
    tu_expect_error(HEAD "rules:\n  S: [a S b, \"\"]\n  T: [a]\n", 8, 3,
                    "nonterminal 'T' is unreachable from the start symbol 'S'");
    tu_expect_error(HEAD "rules:\n  S: [a S b, \"\"]\n  a: [b]\n", 8, 3,
                    "rule name 'a' is also an alphabet symbol");
    tu_expect_error(HEAD "rules:\n  S: [a S b]\n", 7, 3, "no strings");
    tu_expect_error(HEAD "rules:\n  S: [A]\n  A: [B, a]\n  B: [A, b]\n", 8, 3,
                    "infinite derivations: the cycle A -> B -> A");
    tu_expect_error(HEAD "rules:\n  S: [A B, a]\n  A: [\"\", a]\n  B: [S, b]\n", 7, 3,
                    "infinite derivations: the cycle S -> B -> S");
    tu_expect_error(HEAD "rules:\n  S: [S, a]\n", 7, 3, "infinite derivations: the cycle S -> S");
    tu_expect_error(HEAD "rules:\n  S: [A, B]\n  A: [a]\n  B: [a]\n", 7, 3,
                    "ambiguous: 'a' has two derivations");
    tu_expect_error(HEAD "start: T\nrules:\n  S: [a]\n", 6, 8, "start symbol 'T' is not a rule name");
    tu_expect_error(HEAD "start: a\nrules:\n  S: [a]\n", 6, 8, "start symbol 'a' is an alphabet symbol");
    tu_expect_error(HEAD "ambiguous: yes\nrules:\n  S: [a]\n", 6, 12, "ambiguous must be 'allow'");
    tu_expect_error(HEAD "rules:\n  S: [a]\ngrammar: x\n", 8, 1, "unknown key 'grammar'");
    tu_expect_error(HEAD "rules: [a]\n", 6, 8, "rules must be a mapping");
    tu_expect_error(HEAD "rules: {}\n", 6, 8, "rules is empty");
    tu_expect_error(HEAD "rules:\n  S:\n", 7, 5, "rule 'S' must be a list of alternatives");
    tu_expect_error(HEAD "rules:\n  S: []\n", 7, 6, "rule 'S' has no alternatives");
    tu_expect_error(HEAD "rules:\n  S: [a, [b]]\n", 7, 10, "an alternative of rule 'S' must be a string");
    tu_expect_error(HEAD "rules:\n  S:\n    - a\n    -\n", 9, 6, "an alternative of rule 'S'");
    tu_expect_error(HEAD "rules:\n  \"S T\": [a]\n", 7, 3, "contains white space");

    /* Start defaults to the first rule; `start:` picks another. */
    sp_lang *lang = tu_load_text(HEAD "start: T\nrules:\n  S: [a]\n  T: [b S, S]\n");
    int s[2] = {1, 0};
    assert_true(sp_lang_accepts(lang, s, 2));
    assert_true(sp_lang_accepts(lang, s + 1, 1));
    assert_false(sp_lang_accepts(lang, s, 1));
    assert_true(sp_lang_count(lang, 2) == 1);
    sp_lang_destroy(lang);
}

static void test_caps(void **state)
{
    (void)state;
    /* 1001 nonterminals. */
    size_t cap = 64 * 1024;
    char *y = sp_malloc(cap, 1);
    int used = snprintf(y, cap, HEAD "rules:\n");
    for (int i = 0; i <= 1000; i++) used += snprintf(y + used, cap - (size_t)used, "  N%d: [a]\n", i);
    tu_expect_error(y, 7 + 1000, 3, "at most 1000 nonterminals");
    /* 10001 alternatives. */
    used = snprintf(y, cap, HEAD "rules:\n  S: [");
    for (int i = 0; i <= 10000; i++) used += snprintf(y + used, cap - (size_t)used, "%sa", i ? "," : "");
    snprintf(y + used, cap - (size_t)used, "]\n");
    tu_expect_error(y, 7, 7 + 2 * 10000, "at most 10000");
    /* 65 symbols in one alternative. */
    used = snprintf(y, cap, HEAD "rules:\n  S: \"");
    for (int i = 0; i < 65; i++) used += snprintf(y + used, cap - (size_t)used, "%sa", i ? " " : "");
    snprintf(y + used, cap - (size_t)used, "\"\n");
    tu_expect_error(y, 7, 6 + 1 + 2 * 64, "more than 64 symbols");
    free(y);
}

/* Each fixture starts with "# expect: LINE:COL: SUBSTRING" (read by the CLI tests too). */
static void test_fixtures(void **state)
{
    (void)state;
    const char *names[] = {"undefined-nonterminal", "unproductive", "ambiguous", "no-strings"};
    for (size_t i = 0; i < 4; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "tests/fixtures/bad/cfg-%s.yaml", names[i]);
        const char *path = tu_src_path(rel);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char line[512];
        assert_non_null(fgets(line, sizeof line, f));
        fclose(f);
        int l, c, off = 0;
        assert_int_equal(sscanf(line, "# expect: %d:%d: %n", &l, &c, &off), 2);
        assert_true(off > 0);
        char *needle = line + off;
        needle[strcspn(needle, "\n")] = '\0';
        sp_lang *lang = NULL;
        sp_error err;
        sp_error_clear(&err);
        assert_int_equal(sp_lang_load(path, &lang, &err), SP_EINPUT);
        if (err.line != l || err.col != c || !strstr(err.msg, needle)) {
            sp_error_print(&err, stderr);
            fail_msg("%s: expected %d:%d: %s", rel, l, c, needle);
        }
        assert_string_equal(err.file, path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_palindromes_enumerated),
        cmocka_unit_test(test_marked_reversal_enumerated),
        cmocka_unit_test(test_boolean3_enumerated),
        cmocka_unit_test(test_known_counts),
        cmocka_unit_test(test_dyck1_catalan),
        cmocka_unit_test(test_ambiguity_found),
        cmocka_unit_test(test_derivation_counts),
        cmocka_unit_test(test_zoo_unambiguous),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_long_samples),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_deep_samples),
        cmocka_unit_test(test_count_overflow),
        cmocka_unit_test(test_earley_incremental),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
