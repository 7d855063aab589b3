/* Tests of the regular kind: the zoo against PCRE2 / the written DFA and hand-written predicates,
 * regex features against PCRE2, minimisation, counting, sampling, and every loader error. */
#include "testutil.h"

#include "src/lang/regular.h"
#include "satprobe/alloc.h"
#include "satprobe/oracle.h"
#include "satprobe/rng.h"
#include "satprobe/strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ---- */

/* A regular language over `alphabet` (YAML flow list) from a regex, written single-quoted so
 * that backslashes reach the regex unchanged. */
static sp_lang *load_regex(const char *alphabet, const char *regex)
{
    char yaml[8192], quoted[4096];
    size_t j = 0;
    for (size_t i = 0; regex[i] && j + 2 < sizeof quoted; i++) {
        if (regex[i] == '\'') quoted[j++] = '\'';
        quoted[j++] = regex[i];
    }
    quoted[j] = '\0';
    snprintf(yaml, sizeof yaml,
             "name: t\ndescription: d\nclass: regular\nalphabet: %s\nkind: regular\nregex: '%s'\n",
             alphabet, quoted);
    return tu_load_text(yaml);
}

static sp_oracle *oracle_of(const sp_lang *lang)
{
    sp_oracle *o = NULL;
    sp_error err;
    sp_error_clear(&err);
    if (sp_oracle_new(lang, &o, &err)) {
        sp_error_print(&err, stderr);
        fail_msg("no oracle for %s", sp_lang_name(lang));
    }
    assert_non_null(o);
    return o;
}

static void print_string(const sp_lang *lang, const int *s, size_t n)
{
    fprintf(stderr, "'");
    sp_lang_write_string(lang, stderr, s, n);
    fprintf(stderr, "'\n");
}

typedef bool (*predicate)(const int *s, size_t n);

/* Every string of length 0..max_len (lengths with more than 2^20 strings are skipped):
 * membership equals the oracle's (and pred's, if given), the number of members equals
 * sp_lang_count, and for lengths up to next_len next() agrees with the oracle's viability. */
static void check_language(sp_lang *lang, size_t max_len, size_t next_len, predicate pred)
{
    sp_oracle *o = oracle_of(lang);
    size_t k = sp_lang_alphabet_size(lang);
    int s[64];
    bool valid[1024], can_end;
    SP_ASSERT(max_len < 63 && k <= 1024);
    for (size_t n = 0; n <= max_len; n++) {
        if (tu_pow_capped(k, n, (size_t)1 << 20) == SIZE_MAX) break;
        memset(s, 0, sizeof s);
        size_t members = 0;
        do {
            bool mine = sp_lang_accepts(lang, s, n);
            if (mine != sp_oracle_accepts(o, s, n)) {
                print_string(lang, s, n);
                fail_msg("%s: accepts = %d but %s says %d", sp_lang_name(lang), mine,
                         sp_oracle_name(o), !mine);
            }
            if (pred && mine != pred(s, n)) {
                print_string(lang, s, n);
                fail_msg("%s: accepts = %d but the hand-written predicate says %d",
                         sp_lang_name(lang), mine, !mine);
            }
            members += mine;
            if (n <= next_len) {
                bool viable = sp_lang_next(lang, s, n, valid, &can_end);
                bool ok = viable == sp_oracle_viable(o, s, n) && can_end == mine;
                for (size_t a = 0; a < k && ok; a++) {
                    s[n] = (int)a;
                    ok = valid[a] == sp_oracle_viable(o, s, n + 1);
                }
                s[n] = 0;
                if (!ok) {
                    print_string(lang, s, n);
                    fail_msg("%s: next() disagrees with %s", sp_lang_name(lang),
                             sp_oracle_name(o));
                }
            }
        } while (n > 0 && tu_next_string(s, n, k));
        long double c = sp_lang_count(lang, n);
        if (c != (long double)members)
            fail_msg("%s: count(%zu) = %.0Lf but %zu strings are members", sp_lang_name(lang), n,
                     c, members);
    }
    sp_oracle_destroy(o);
}

/* ---- the zoo ---- */

/* Alphabets: ["0","1"] gives 0 -> 0, 1 -> 1; ["a","b"] gives a -> 0, b -> 1. */
static bool p_tomita1(const int *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != 1) return false;
    return true;
}
static bool p_tomita2(const int *s, size_t n)
{
    if (n % 2) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] != (i % 2 == 0)) return false;
    return true;
}
/* No odd-length maximal run of 1s directly followed by an odd-length maximal run of 0s. */
static bool p_tomita3(const int *s, size_t n)
{
    size_t i = 0, prev_ones = 0; /* length of the run of 1s just before, 0 if none */
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] == s[i]) j++;
        if (s[i] == 1) prev_ones = j - i;
        else {
            if (prev_ones % 2 == 1 && (j - i) % 2 == 1) return false;
            prev_ones = 0;
        }
        i = j;
    }
    return true;
}
static bool p_tomita4(const int *s, size_t n)
{
    for (size_t i = 0; i + 2 < n; i++)
        if (s[i] == 0 && s[i + 1] == 0 && s[i + 2] == 0) return false;
    return true;
}
static bool p_tomita5(const int *s, size_t n)
{
    size_t ones = 0;
    for (size_t i = 0; i < n; i++) ones += s[i];
    return ones % 2 == 0 && (n - ones) % 2 == 0;
}
static bool p_tomita6(const int *s, size_t n)
{
    long d = 0;
    for (size_t i = 0; i < n; i++) d += s[i] == 0 ? 1 : -1;
    return d % 3 == 0;
}
/* 0*1*0*1*: the runs follow the pattern 0,1,0,1 as a subsequence. */
static bool p_tomita7(const int *s, size_t n)
{
    static const int pat[4] = {0, 1, 0, 1};
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        while (j < 4 && pat[j] != s[i]) j++;
        if (j == 4) return false;
    }
    return true;
}
static bool p_parity(const int *s, size_t n)
{
    size_t ones = 0;
    for (size_t i = 0; i < n; i++) ones += s[i];
    return ones % 2 == 1;
}
static bool p_aa(const int *s, size_t n) { return (void)s, n % 2 == 0; }
static bool p_aaaa(const int *s, size_t n) { return (void)s, n % 4 == 0; }
static bool p_abab(const int *s, size_t n)
{
    if (n % 4) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] != (int)(i % 2)) return false;
    return true;
}
static bool dyck_depth(const int *s, size_t n, long max)
{
    long d = 0;
    for (size_t i = 0; i < n; i++) {
        d += s[i] == 0 ? 1 : -1;
        if (d < 0 || d > max) return false;
    }
    return d == 0;
}
static bool p_d2(const int *s, size_t n) { return dyck_depth(s, n, 2); }
static bool p_d4(const int *s, size_t n) { return dyck_depth(s, n, 4); }
static bool p_even_pairs(const int *s, size_t n)
{
    size_t pairs = 0;
    for (size_t i = 0; i + 1 < n; i++) pairs += s[i] != s[i + 1];
    return pairs % 2 == 0;
}
static bool p_first(const int *s, size_t n) { return n > 0 && s[0] == 1; }

typedef struct zoo_entry {
    const char *name;
    predicate pred;
    size_t states; /* states of the complete minimal DFA, the sink included */
    bool uses_dfa; /* written as dfa: */
} zoo_entry;

/* Minimal state counts worked out by hand: e.g. tomita-4 remembers 0, 1 or 2 trailing 0s plus
 * the sink; (abab)* is a 4-cycle plus the sink; D_n tracks depths 0..n plus the sink. */
static const zoo_entry zoo[] = {
    {"tomita-1", p_tomita1, 2, false},   {"tomita-2", p_tomita2, 3, false},
    {"tomita-3", p_tomita3, 5, true},    {"tomita-4", p_tomita4, 4, false},
    {"tomita-5", p_tomita5, 4, true},    {"tomita-6", p_tomita6, 3, true},
    {"tomita-7", p_tomita7, 5, false},   {"parity", p_parity, 2, false},
    {"aa-star", p_aa, 2, false},         {"aaaa-star", p_aaaa, 4, false},
    {"abab-star", p_abab, 5, false},     {"d2", p_d2, 4, false},
    {"d4", p_d4, 6, false},              {"even-pairs", p_even_pairs, 5, false},
    {"first", p_first, 3, false},
};
#define ZOO_SIZE (sizeof zoo / sizeof *zoo)

static void test_zoo_against_oracles(void **state)
{
    (void)state;
    for (size_t i = 0; i < ZOO_SIZE; i++) {
        sp_lang *lang = tu_load_zoo(zoo[i].name);
        assert_string_equal(sp_lang_name(lang), zoo[i].name);
        assert_int_equal(sp_lang_get_class(lang), SP_CLASS_REGULAR);
        assert_true(strlen(sp_lang_source(lang)) > 0);
        sp_oracle *o = oracle_of(lang);
        assert_string_equal(sp_oracle_name(o), zoo[i].uses_dfa ? "written DFA" : "PCRE2");
        sp_oracle_destroy(o);
        check_language(lang, 12, 8, zoo[i].pred);
        sp_lang_destroy(lang);
    }
}

static void test_zoo_minimal_states(void **state)
{
    (void)state;
    for (size_t i = 0; i < ZOO_SIZE; i++) {
        sp_lang *lang = tu_load_zoo(zoo[i].name);
        const sp_regular *g = sp_regular_of(lang);
        assert_non_null(g);
        if (sp_dfa_complete_states(&g->dfa) != zoo[i].states)
            fail_msg("%s: %zu states, expected %zu", zoo[i].name,
                     sp_dfa_complete_states(&g->dfa), zoo[i].states);
        sp_lang_destroy(lang);
    }
    /* (aa)*: two live states and no sink. */
    sp_lang *lang = tu_load_zoo("aa-star");
    assert_int_equal(sp_regular_of(lang)->dfa.n, 2);
    sp_lang_destroy(lang);
}

/* ---- regex features, one by one, against PCRE2 ---- */

typedef struct feature {
    const char *alphabet;
    const char *regex;
} feature;

static const feature features[] = {
    /* literals, alternation, groups */
    {"[a, b, c]", "abc"},
    {"[a, b, c]", "a|bc|"},
    {"[a, b, c]", "(a|bc)*"},
    {"[a, b, c]", "((a|b)(c|a))*"},
    {"[a, b, c]", "(a(b(c)*)*)*"},
    {"[a, b, c]", "(?:ab|c)+b"},
    {"[a, b, c]", "()a(|b)"},
    {"[a, b, c]", "(?|a|b)c"},
    {"[a, b, c]", "(?<n>a)b*|(?P<m>c)|(?'q'b)"},
    {"[a, b, c]", "a(?#a comment)b"},
    {"[a, b, c]", ""},
    /* classes, ranges, negation, wildcard */
    {"[a, b, c]", "[ab]c*"},
    {"[a, b, c]", "[a-b]+c?"},
    {"[a, b, c]", "[^a]*"},
    {"[a, b, c]", "[^ab]c?[^c]"},
    {"[a, b, c]", "[]a]b"},
    {"[a, b, c]", "[a-]*"},
    {"[a, b, c]", ".*b.*"},
    {"[a, b, c]", "a.{2}|c"},
    {"[a, b, c]", "[[:alpha:]]{2}c*"},
    {"[a, b, c]", "[[:^digit:]]a"},
    {"[a, b, c]", "[\\x61-\\x62]c"},
    /* quantifiers and their lazy forms */
    {"[a, b, c]", "a{3}"},
    {"[a, b, c]", "a{2,4}b?"},
    {"[a, b, c]", "(ab){2,}"},
    {"[a, b, c]", "(ab|c){0,2}c"},
    {"[a, b, c]", "a{0}b|c{1,1}"},
    {"[a, b, c]", "(a|b{1,2}){2,3}c"},
    {"[a, b, c]", "a*?b+?c??"},
    {"[a, b, c]", "(a|b){2,3}?c"},
    {"[a, b, c]", "a{1,2}?(b*?)*"},
    {"[a, b, c]", "(a*)*b"},
    {"[a, b, c]", "((a?)+)?c"},
    /* escapes */
    {"[a, b, c]", "\\x61b\\x{63}"},
    {"[a, b, c]", "\\o{141}\\o{142}|\\c!b"},
    {"[a, b, c]", "\\Qab\\E*c"},
    {"[a, b, c]", "c|\\Qa\\E+b"},
    {"[a, b, c]", "a*\\Qbc"},
    {"[\"(\", \")\", \".\"]", "\\(\\.*\\)"},
    {"[\"(\", \")\", \".\"]", "[().]\\)*"},
    {"[\"(\", \")\", \".\"]", "(\\(\\))*\\.?"},
    {"[\"\\\\\", \"*\", \"+\"]", "\\\\\\*+"},
    {"[\"\\\\\", \"*\", \"+\"]", "[\\\\*]+\\+"},
    {"[a, \"1\", \"-\"]", "\\d+"},
    {"[a, \"1\", \"-\"]", "\\D*1"},
    {"[a, \"1\", \"-\"]", "\\w\\W"},
    {"[a, \"1\", \"-\"]", "\\S{2}\\N"},
    {"[a, \"1\", \"-\"]", "[\\d-]*a"},
    {"[a, \"1\", \"-\"]", "\\-a|[\\w]-?"},
    {"[a, \"1\", \"-\"]", "[^\\d]+"},
    {"[a, \"1\", \"-\"]", "[[:digit:][:punct:]]*"},
    {"[a, \"1\", \"-\"]", "\\H\\V"},
    {"[a, \"1\", \"-\"]", "[%--]a"},
    /* binary */
    {"[\"0\", \"1\"]", "(0|1)*"},
    {"[\"0\", \"1\"]", "(00|11|(01|10)(00|11)*(01|10))*"},
    {"[\"0\", \"1\"]", "(0|1)*1(0|1){3}"},
};

static void test_regex_features(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof features / sizeof *features; i++) {
        sp_lang *lang = load_regex(features[i].alphabet, features[i].regex);
        size_t k = sp_lang_alphabet_size(lang);
        check_language(lang, k <= 2 ? 12 : 10, k <= 2 ? 8 : 6, NULL);
        sp_lang_destroy(lang);
    }
}

/* A few languages checked by explicit strings, in case PCRE2 and the DFA agree on a mistake. */
static void test_regex_spot_checks(void **state)
{
    (void)state;
    int s[16];
    sp_lang *lang = load_regex("[a, b, c]", "a{2,3}|[^a]c");
    assert_true(sp_lang_accepts(lang, s, tu_parse(lang, "a a", s, 16)));
    assert_true(sp_lang_accepts(lang, s, tu_parse(lang, "a a a", s, 16)));
    assert_false(sp_lang_accepts(lang, s, tu_parse(lang, "a", s, 16)));
    assert_false(sp_lang_accepts(lang, s, tu_parse(lang, "a a a a", s, 16)));
    assert_true(sp_lang_accepts(lang, s, tu_parse(lang, "b c", s, 16)));
    assert_true(sp_lang_accepts(lang, s, tu_parse(lang, "c c", s, 16)));
    assert_false(sp_lang_accepts(lang, s, tu_parse(lang, "a c", s, 16)));
    assert_false(sp_lang_accepts(lang, s, 0));
    sp_lang_destroy(lang);

    lang = load_regex("[a, b]", "");
    assert_true(sp_lang_accepts(lang, s, 0));
    assert_true(sp_lang_count(lang, 0) == 1 && sp_lang_count(lang, 1) == 0);
    sp_lang_destroy(lang);
}

/* ---- next() and the oracle's edge cases ---- */

static void test_next(void **state)
{
    (void)state;
    int s[16];
    bool valid[2], can_end;
    sp_lang *lang = load_regex("[a, b]", "ab|b");
    sp_oracle *o = oracle_of(lang);
    /* Empty prefix, empty string not a member: PCRE2 sees no partial match here by itself. */
    assert_true(sp_lang_next(lang, s, 0, valid, &can_end));
    assert_true(valid[0] && valid[1] && !can_end);
    assert_true(sp_oracle_viable(o, s, 0));
    size_t n = tu_parse(lang, "a", s, 16);
    assert_true(sp_lang_next(lang, s, n, valid, &can_end));
    assert_true(!valid[0] && valid[1] && !can_end);
    n = tu_parse(lang, "a b", s, 16);
    assert_true(sp_lang_next(lang, s, n, valid, &can_end));
    assert_true(!valid[0] && !valid[1] && can_end);
    assert_true(sp_oracle_viable(o, s, n));
    n = tu_parse(lang, "a a", s, 16);
    assert_false(sp_lang_next(lang, s, n, valid, &can_end));
    assert_false(sp_oracle_viable(o, s, n));
    sp_oracle_destroy(o);
    sp_lang_destroy(lang);

    /* A language containing only the empty string. */
    lang = load_regex("[a, b]", "(?:)");
    o = oracle_of(lang);
    assert_true(sp_lang_next(lang, s, 0, valid, &can_end));
    assert_true(!valid[0] && !valid[1] && can_end);
    assert_true(sp_oracle_viable(o, s, 0));
    s[0] = 0;
    assert_false(sp_oracle_viable(o, s, 1));
    sp_oracle_destroy(o);
    sp_lang_destroy(lang);
}

/* Where pcre2_match's backtracking gives up, the oracle must still answer right. */
static void test_oracle_backtracking_limit(void **state)
{
    (void)state;
    sp_lang *lang = load_regex("[a, b, c]", "(a|aa)*c|a*");
    sp_oracle *o = oracle_of(lang);
    int s[60];
    for (size_t i = 0; i < 60; i++) s[i] = 0;
    assert_true(sp_lang_accepts(lang, s, 60));
    assert_true(sp_oracle_accepts(o, s, 60));
    assert_true(sp_oracle_viable(o, s, 60));
    s[59] = 1; /* ...ab: neither alternative */
    assert_false(sp_oracle_accepts(o, s, 60));
    assert_false(sp_oracle_viable(o, s, 60));
    sp_oracle_destroy(o);
    sp_lang_destroy(lang);

    /* Here backtracking gives up on aaa111 and aaa1111, and pcre2_dfa_match finds a match of the
     * prefix aaa: not a match of the whole string. */
    lang = load_regex("[a, b, c, \"1\", \"-\"]", "(?:\\W|(?:|\\w|(.{1,}|\\w*?1+?)){2}|)+a");
    o = oracle_of(lang);
    for (size_t n = 6; n <= 7; n++) {
        size_t len = tu_parse(lang, n == 6 ? "a a a 1 1 1" : "a a a 1 1 1 1", s, 60);
        assert_false(sp_lang_accepts(lang, s, len));
        assert_false(sp_oracle_accepts(o, s, len));
        assert_true(sp_oracle_viable(o, s, len));
        s[len] = 0; /* ...a */
        assert_true(sp_lang_accepts(lang, s, len + 1));
        assert_true(sp_oracle_accepts(o, s, len + 1));
    }
    sp_oracle_destroy(o);
    sp_lang_destroy(lang);
}

/* ---- minimisation ---- */

/* Number of Myhill-Nerode classes among the useful states of d (reachable and co-reachable),
 * by naive Moore refinement: independent of dfa.c's Valmari implementation. */
static size_t moore_classes(const sp_dfa *d)
{
    size_t n = d->n, k = d->k;
    bool *reach = calloc(n, 1), *live = calloc(n, 1);
    reach[d->start] = true;
    for (bool more = true; more;) {
        more = false;
        for (size_t q = 0; q < n; q++)
            for (size_t a = 0; a < k && reach[q]; a++) {
                int t = d->delta[q * k + a];
                if (t >= 0 && !reach[t]) reach[t] = more = true;
            }
    }
    for (size_t q = 0; q < n; q++) live[q] = d->accept[q];
    for (bool more = true; more;) {
        more = false;
        for (size_t q = 0; q < n; q++)
            for (size_t a = 0; a < k && !live[q]; a++) {
                int t = d->delta[q * k + a];
                if (t >= 0 && live[t]) live[q] = more = true;
            }
    }
    /* cls[q]: class of q, -1 for useless states (they behave like the sink). */
    int *cls = malloc(n * sizeof *cls), *next = malloc(n * sizeof *next);
    for (size_t q = 0; q < n; q++) cls[q] = reach[q] && live[q] ? d->accept[q] : -1;
    size_t classes = 0;
    for (;;) {
        /* New class = index of the first state with the same (class, successor classes). */
        size_t count = 0;
        for (size_t q = 0; q < n; q++) {
            next[q] = -1;
            if (cls[q] < 0) continue;
            for (size_t p = 0; p < q && next[q] < 0; p++) {
                if (cls[p] != cls[q]) continue;
                bool same = true;
                for (size_t a = 0; a < k && same; a++) {
                    int tp = d->delta[p * k + a], tq = d->delta[q * k + a];
                    int cp = tp < 0 ? -1 : cls[tp], cq = tq < 0 ? -1 : cls[tq];
                    same = cp == cq;
                }
                if (same) next[q] = next[p];
            }
            if (next[q] < 0) next[q] = (int)count++;
        }
        memcpy(cls, next, n * sizeof *cls);
        if (count == classes) break;
        classes = count;
    }
    free(reach);
    free(live);
    free(cls);
    free(next);
    return classes;
}

static void test_minimize_random(void **state)
{
    (void)state;
    gsl_rng *r = sp_rng_new(12345);
    for (int trial = 0; trial < 3000; trial++) {
        size_t n = 1 + sp_rng_below(r, 14), k = 1 + sp_rng_below(r, 3);
        sp_dfa d, m;
        sp_dfa_init(&d, n, k);
        d.start = (int)sp_rng_below(r, n);
        for (size_t q = 0; q < n; q++) {
            d.accept[q] = sp_rng_below(r, 3) == 0;
            for (size_t a = 0; a < k; a++)
                d.delta[q * k + a] = sp_rng_below(r, 5) == 0 ? -1 : (int)sp_rng_below(r, n);
        }
        sp_dfa_minimize(&d, &m);
        size_t expect = moore_classes(&d);
        if (m.n != expect) fail_msg("trial %d: %zu states, Moore finds %zu", trial, m.n, expect);
        /* Same language on every string up to length 8. */
        int s[8];
        for (size_t len = 0; len <= 8; len++) {
            memset(s, 0, sizeof s);
            do {
                int a = sp_dfa_run(&d, s, len), b = sp_dfa_run(&m, s, len);
                if ((a >= 0 && d.accept[a]) != (b >= 0 && m.accept[b]))
                    fail_msg("trial %d: languages differ", trial);
            } while (len > 0 && tu_next_string(s, len, k));
        }
        /* Trimmed: every state reaches acceptance, so count tables agree with enumeration. */
        if (m.n > 0) {
            assert_int_equal(sp_dfa_prepare(&m, 8, "t", NULL), SP_OK);
            for (size_t len = 0; len <= 8; len++) {
                size_t members = 0;
                memset(s, 0, sizeof s);
                do {
                    int b = sp_dfa_run(&m, s, len);
                    members += b >= 0 && m.accept[b];
                } while (len > 0 && tu_next_string(s, len, k));
                assert_true(sp_dfa_count(&m, len) == (long double)members);
            }
        }
        sp_dfa_free(&d);
        sp_dfa_free(&m);
    }
    gsl_rng_free(r);
}

/* Equal languages give identical minimal DFAs (canonical numbering): tomita-5 as a regex. */
static void test_canonical_form(void **state)
{
    (void)state;
    sp_lang *a = tu_load_zoo("tomita-5");
    sp_lang *b = load_regex("[\"0\", \"1\"]", "(00|11|(01|10)(00|11)*(01|10))*");
    const sp_dfa *da = &sp_regular_of(a)->dfa, *db = &sp_regular_of(b)->dfa;
    assert_int_equal(da->n, db->n);
    assert_memory_equal(da->delta, db->delta, da->n * da->k * sizeof *da->delta);
    assert_memory_equal(da->accept, db->accept, da->n * sizeof *da->accept);
    /* The subset construction made more states than the minimum here. */
    assert_true(sp_regular_of(b)->subset_states > db->n);
    sp_lang_destroy(a);
    sp_lang_destroy(b);
}

/* ---- counts ---- */

static void test_counts(void **state)
{
    (void)state;
    sp_lang *all = load_regex("[\"0\", \"1\"]", "(0|1)*");
    for (size_t n = 0; n <= 500; n++) assert_true(sp_lang_count(all, n) == ldexpl(1.0L, (int)n));
    assert_true(sp_lang_count(all, 500) == 0x1p500L);
    sp_lang_destroy(all);

    sp_lang *parity = tu_load_zoo("parity");
    assert_true(sp_lang_count(parity, 0) == 0);
    for (size_t n = 1; n <= 500; n++)
        assert_true(sp_lang_count(parity, n) == ldexpl(1.0L, (int)n - 1));
    sp_lang_destroy(parity);

    /* Tomita-4 satisfies the tribonacci recurrence c(n) = c(n-1) + c(n-2) + c(n-3). */
    sp_lang *t4 = tu_load_zoo("tomita-4");
    for (size_t n = 3; n <= 70; n++) /* below 2^64: exact */
        assert_true(sp_lang_count(t4, n) ==
                    sp_lang_count(t4, n - 1) + sp_lang_count(t4, n - 2) + sp_lang_count(t4, n - 3));
    sp_lang_destroy(t4);

    /* d2 has 2^(n/2 - 1) strings at even n >= 2 (a block ab...ab inside each a..b, or (ab)s). */
    sp_lang *d2 = tu_load_zoo("d2");
    for (size_t n = 2; n <= 120; n += 2)
        assert_true(sp_lang_count(d2, n) == ldexpl(1.0L, (int)(n / 2 - 1)));
    assert_true(sp_lang_count(d2, 7) == 0);
    sp_lang_destroy(d2);
}

/* Beyond long double's range counts are infinite, but sampling still works. */
static void test_huge_lengths(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("parity");
    size_t n = 20000;
    assert_true(isinf(sp_lang_count(lang, n)));
    assert_true(sp_lang_count(lang, 16000) == ldexpl(1.0L, 15999));
    int *s = sp_malloc(n, sizeof *s);
    gsl_rng *r = sp_rng_new(3);
    sp_error err;
    size_t ones = 0;
    assert_int_equal(sp_lang_sample(lang, n, r, s, &err), SP_OK);
    assert_true(sp_lang_accepts(lang, s, n));
    for (size_t i = 0; i < n; i++) ones += s[i];
    /* Uniform over 2^19999 strings: about n/2 ones (6 standard deviations is 424). */
    assert_true(ones > n / 2 - 424 && ones < n / 2 + 424);
    gsl_rng_free(r);
    free(s);
    sp_lang_destroy(lang);

    /* Counts that differ by more than long double's range at one length: a chain of 2401
     * states into a state looping on 1024 symbols (1 string from the start at length 2401,
     * 2^24010 from the loop). prepare refuses rather than let the start's count underflow. */
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_strbuf_puts(&sb, "name: t\ndescription: d\nclass: regular\nalphabet: [");
    for (int i = 0; i < 1024; i++) sp_strbuf_printf(&sb, "%ss%d", i ? ", " : "", i);
    sp_strbuf_puts(&sb, "]\nkind: regular\ndfa:\n  start: c0\n  accept: [L0]\n  transitions:\n");
    for (int i = 0; i < 2401; i++)
        sp_strbuf_printf(&sb, "    c%d: {s0: %s%d}\n", i, i < 2400 ? "c" : "L",
                         i < 2400 ? i + 1 : 0);
    sp_strbuf_puts(&sb, "    L0: {");
    for (int i = 0; i < 1024; i++) sp_strbuf_printf(&sb, "%ss%d: L0", i ? ", " : "", i);
    sp_strbuf_puts(&sb, "}\n");
    lang = tu_load_text(sb.buf);
    sp_strbuf_free(&sb);
    assert_int_equal(sp_lang_prepare(lang, 3000, &err), SP_ELIMIT);
    assert_non_null(strstr(err.msg, "long double's range"));
    assert_true(sp_lang_count(lang, 2500) == -1);
    /* Shorter lengths still work (the rows before the failure are kept). */
    assert_true(sp_lang_count(lang, 2000) == 0);
    assert_true(sp_lang_count(lang, 1) == 0);
    sp_lang_destroy(lang);
}

/* ---- sampling ---- */

static void test_uniformity(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t len;
    } cases[] = {{"tomita-3", 7}, {"tomita-4", 5}, {"tomita-6", 7}, {"tomita-7", 6},
                 {"parity", 7},   {"d4", 12},      {"even-pairs", 6}, {"first", 6}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sp_lang *lang = tu_load_zoo(cases[i].name);
        size_t members;
        double p = tu_chisq_uniform(lang, cases[i].len, 40000, 1000 + i, &members);
        fprintf(stderr, "chi-square %-10s n=%zu members=%zu p=%.4f\n", cases[i].name,
                cases[i].len, members, p);
        assert_true(members >= 10 && members <= 200);
        assert_true(p > 0.001);
        sp_lang_destroy(lang);
    }
}

static void test_determinism(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("tomita-4");
    int a[40], b[40];
    sp_error err;
    gsl_rng *r1 = sp_rng_new(77), *r2 = sp_rng_new(77), *r3 = sp_rng_new(78);
    bool differ = false;
    for (int i = 0; i < 200; i++) {
        assert_int_equal(sp_lang_sample(lang, 40, r1, a, &err), SP_OK);
        assert_int_equal(sp_lang_sample(lang, 40, r2, b, &err), SP_OK);
        assert_memory_equal(a, b, sizeof a);
        assert_true(sp_lang_accepts(lang, a, 40));
        assert_int_equal(sp_lang_sample(lang, 40, r3, b, &err), SP_OK);
        differ |= memcmp(a, b, sizeof a) != 0;
    }
    assert_true(differ);
    /* No strings of length 3 in (aa)*: an error, not a crash. */
    sp_lang *aa = tu_load_zoo("aa-star");
    assert_int_equal(sp_lang_sample(aa, 3, r1, a, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "no strings of length 3"));
    gsl_rng_free(r1);
    gsl_rng_free(r2);
    gsl_rng_free(r3);
    sp_lang_destroy(aa);
    sp_lang_destroy(lang);
}

/* ---- timings (printed, not asserted) ---- */

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void test_timings(void **state)
{
    (void)state;
    for (size_t i = 0; i < ZOO_SIZE; i++) {
        double t0 = seconds();
        sp_lang *lang = tu_load_zoo(zoo[i].name);
        double t1 = seconds();
        long double total = 0;
        for (size_t n = 0; n <= 500; n++) total += sp_lang_count(lang, n);
        double t2 = seconds();
        assert_true(total > 0);
        /* Samples at length 50, or the next length with strings ((aaaa)* has none at 50). */
        size_t len = 50;
        while (len < 60 && !(sp_lang_count(lang, len) > 0)) len++;
        assert_true(sp_lang_count(lang, len) > 0);
        gsl_rng *r = sp_rng_new(1);
        int s[64];
        sp_error err;
        size_t draws = 100000;
        double t3 = seconds();
        for (size_t d = 0; d < draws; d++)
            assert_int_equal(sp_lang_sample(lang, len, r, s, &err), SP_OK);
        double rate = (double)draws / (seconds() - t3);
        assert_true(sp_lang_accepts(lang, s, len));
        gsl_rng_free(r);
        fprintf(stderr,
                "timing %-10s load %.3f ms, count 0..500 %.3f ms, samples/s at length %zu: %.0f\n",
                zoo[i].name, 1e3 * (t1 - t0), 1e3 * (t2 - t1), len, rate);
        sp_lang_destroy(lang);
    }
}

/* ---- errors ---- */

/* Header lines 1-5; the kind's keys start on line 6. */
#define HEAD "name: t\ndescription: d\nclass: regular\nalphabet: [a, b]\nkind: regular\n"

/* regex: '<re>' on line 6: the scalar's quote is at column 8, so offset o is column 9 + o. */
static void expect_regex_error(const char *re, int offset, const char *needle)
{
    sp_strbuf yaml;
    sp_strbuf_init(&yaml);
    sp_strbuf_printf(&yaml, HEAD "regex: '%s'\n", re);
    tu_expect_error(yaml.buf, 6, 9 + offset, needle);
    sp_strbuf_free(&yaml);
}

static void test_error_constructs(void **state)
{
    (void)state;
    expect_regex_error("(a)\\1", 3, "back-reference \\1 is not regular");
    expect_regex_error("a\\12", 1, "back-reference or octal escape \\12 is ambiguous");
    expect_regex_error("(?<n>a)\\k<n>", 7, "back-reference \\k<n>");
    expect_regex_error("(a)\\g{1}", 3, "back-reference \\g{1}");
    expect_regex_error("(a)\\g-1", 3, "back-reference \\g-1");
    expect_regex_error("(?P<n>a)(?P=n)", 8, "back-reference (?P=");
    expect_regex_error("a(?=b)", 1,
                       "look-ahead (?= is not regular; satprobe compiles regexes to DFAs");
    expect_regex_error("a(?!b)", 1, "look-ahead (?!");
    expect_regex_error("(?<=a)b", 0, "look-behind (?<=");
    expect_regex_error("(?<!a)b", 0, "look-behind (?<!");
    expect_regex_error("(*pla:a)a", 0, "look-ahead (*pla:");
    expect_regex_error("(?>ab)", 0, "atomic group (?>");
    expect_regex_error("a*+b", 1, "possessive quantifier *+");
    expect_regex_error("ba++", 2, "possessive quantifier ++");
    expect_regex_error("a?+", 1, "possessive quantifier ?+");
    expect_regex_error("ab{2}+", 2, "possessive quantifier {2}+");
    expect_regex_error("a(?R)?b", 1, "recursion (?R)");
    expect_regex_error("(a)(?1)", 3, "subroutine call (?1)");
    expect_regex_error("(?<n>a)(?&n)", 7, "subroutine call (?&");
    expect_regex_error("(a)\\g<1>", 3, "subroutine call \\g<1>");
    expect_regex_error("(a)?(?(1)a|b)", 4, "conditional group (?(");
    expect_regex_error("^ab", 0, "anchor ^ is not supported");
    expect_regex_error("ab$", 2, "anchoring is implied");
    expect_regex_error("\\Aab", 0, "anchor \\A");
    expect_regex_error("ab\\z", 2, "anchor \\z");
    expect_regex_error("ab\\Z", 2, "anchor \\Z");
    expect_regex_error("a\\bb", 1, "anchor \\b");
    expect_regex_error("a\\Bb", 1, "anchor \\B");
    expect_regex_error("(?i)ab", 0, "inline option (?i)");
    expect_regex_error("b(?i:a)", 1, "inline option (?i:");
    expect_regex_error("a\\Kb", 1, "\\K (match start reset)");
    expect_regex_error("a(?C1)b", 1, "callout (?C");
    expect_regex_error("(*ACCEPT)a", 0, "verb or option (*ACCEPT)");
    expect_regex_error("a\\p{L}", 1, "Unicode property \\p");
    expect_regex_error("a{,2}", 1, "write \\{ for a literal brace");
}

static void test_error_column_rule(void **state)
{
    (void)state;
    /* Plain scalar: no quote to skip. */
    tu_expect_error(HEAD "regex: a(?=b)\n", 6, 9, "look-ahead");
    /* Double-quoted: one more for the quote. */
    tu_expect_error(HEAD "regex: \"a(?=b)\"\n", 6, 10, "look-ahead");
    /* Indented in a flow mapping of its own line. */
    tu_expect_error(HEAD "regex:   'ab(?=b)'\n", 6, 13, "look-ahead");
}

static void test_error_pcre2(void **state)
{
    (void)state;
    /* PCRE2's own messages at PCRE2's offsets. */
    expect_regex_error("(ab", 3, "missing closing parenthesis");
    expect_regex_error("ab)", 2, "unmatched closing parenthesis");
    expect_regex_error("a{2,1}", 5, "numbers out of order in {} quantifier");
    expect_regex_error("[b-a]", 3, "range out of order in character class");
    expect_regex_error("[ab", 3, "missing terminating ] for character class");
    expect_regex_error("*a", 0, "quantifier does not follow a repeatable item");
    expect_regex_error("a\\", 2, "\\ at end of pattern");
    expect_regex_error("a\\i", 2, "unrecognized character follows \\");
    /* PCRE2 accepts it, satprobe does not: our message. */
    expect_regex_error("[[:a]", 1, "PCRE2 accepts it, satprobe does not");
}

static void test_error_alphabet(void **state)
{
    (void)state;
    expect_regex_error("abx", 2, "'x' is not in the alphabet");
    expect_regex_error("a|\\x63", 2, "'c' is not in the alphabet");
    expect_regex_error("a[^ab]", 1, "character class [^ab] matches no alphabet symbol");
    expect_regex_error("a\\s", 1, "escape \\s matches no alphabet symbol");
    expect_regex_error("a\\d", 1, "matches no alphabet symbol");
    /* Multi-character symbols cannot be used with a regex: error at the symbol. */
    tu_expect_error("name: t\ndescription: d\nclass: regular\nalphabet: [\"a\", \"bb\"]\n"
                    "kind: regular\nregex: a\n",
                    4, 17, "give a dfa: for multi-character symbols");
}

#define DFA_HEAD HEAD "dfa:\n"

static void test_error_dfa(void **state)
{
    (void)state;
    tu_expect_error(DFA_HEAD "  start: q0\n  accept: [q1]\n  transitions:\n    q0: {a: q1}\n", 8,
                    12, "unknown state 'q1' in accept");
    tu_expect_error(DFA_HEAD "  start: q0\n  accept: [q0]\n  transitions:\n    q0: {a: q9}\n", 10,
                    13, "unknown state 'q9' in transitions");
    tu_expect_error(DFA_HEAD "  start: s\n  accept: [q0]\n  transitions:\n    q0: {a: q0}\n", 7, 10,
                    "unknown state 's' in start");
    tu_expect_error(DFA_HEAD "  start: q0\n  accept: [q0]\n  transitions:\n    q0: {c: q0}\n", 10,
                    10, "symbol 'c' is not in the alphabet");
    tu_expect_error(DFA_HEAD "  start: q0\n  accept: [q0, q0]\n  transitions:\n"
                             "    q0: {a: q0}\n",
                    8, 16, "listed twice");
    tu_expect_error(DFA_HEAD "  start: q0\n  accept: [q0]\n  transitions:\n    q0: [a, q0]\n", 10,
                    9, "must be a mapping {symbol: state}");
    /* A state without moves may be written with an empty value. */
    sp_lang *lang = tu_load_text(DFA_HEAD "  start: q0\n  accept: [q1]\n  transitions:\n"
                                          "    q0: {a: q1}\n    q1:\n");
    assert_true(sp_lang_count(lang, 1) == 1 && sp_lang_count(lang, 2) == 0);
    sp_lang_destroy(lang);
}

static void test_error_empty_language(void **state)
{
    (void)state;
    tu_expect_error(DFA_HEAD "  start: q0\n  accept: []\n  transitions:\n    q0: {a: q0}\n", 7, 3,
                    "no strings");
    /* The accepting state exists but cannot be reached. */
    tu_expect_error(DFA_HEAD "  start: q0\n  accept: [q1]\n  transitions:\n    q0: {a: q0}\n"
                             "    q1: {b: q0}\n",
                    7, 3, "no strings");
}

static void test_error_shape(void **state)
{
    (void)state;
    tu_expect_error(HEAD "regex: a\ndfa: {start: q, accept: [q], transitions: {q: {}}}\n", 7, 1,
                    "give either regex: or dfa:, not both");
    tu_expect_error(HEAD, 1, 1, "needs a regex: or a dfa:");
    tu_expect_error(HEAD "regexp: a\n", 6, 1, "unknown key 'regexp'");
    tu_expect_error(HEAD "regex: [a]\n", 6, 8, "regex must be a string");
    tu_expect_error(HEAD "regex:\n", 6, 7, "regex: is empty");
    tu_expect_error(HEAD "dfa: ab\n", 6, 6, "dfa must be a mapping");
    tu_expect_error(DFA_HEAD "  accept: [q]\n  transitions: {q: {}}\n", 7, 3,
                    "missing required key 'start'");
    tu_expect_error(DFA_HEAD "  start: q\n  accept: [q]\n  transitions: {q: {}}\n  states: [q]\n",
                    10, 3, "unknown key 'states' in dfa:");
    tu_expect_error(DFA_HEAD "  start: q\n  accept: q\n  transitions: {q: {}}\n", 8, 11,
                    "accept must be a list");
    tu_expect_error("name: t\ndescription: d\nclass: counter\nalphabet: [a, b]\nkind: regular\n"
                    "regex: a\n",
                    3, 8, "class must be regular");
}

static void test_error_caps(void **state)
{
    (void)state;
    expect_regex_error("a{1001}", 1, "larger than the maximum of 1000");
    expect_regex_error("ba{2,5000}", 2, "larger than the maximum of 1000");
    expect_regex_error("((a|b){1000}){1000}", 0, "more than 250000 NFA states");
    expect_regex_error("(a|b)*a(a|b){20}", 0, "DFA");

    char *deep = sp_malloc(1000, 1);
    size_t j = 0;
    for (int i = 0; i < 201; i++) deep[j++] = '(';
    deep[j++] = 'a';
    for (int i = 0; i < 201; i++) deep[j++] = ')';
    deep[j] = '\0';
    expect_regex_error(deep, 200, "nested more than 200 deep");
    free(deep);

    char *long_re = sp_malloc(SP_REGEX_MAX_LENGTH + 2, 1);
    memset(long_re, 'a', SP_REGEX_MAX_LENGTH + 1);
    long_re[SP_REGEX_MAX_LENGTH + 1] = '\0';
    expect_regex_error(long_re, 0, "longer than 100000 characters");
    free(long_re);

    /* An explicit DFA over 1024 symbols with 4097 states passes the transition-table cap. */
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_strbuf_puts(&sb, "name: t\ndescription: d\nclass: regular\nalphabet: [");
    for (int i = 0; i < 1024; i++) sp_strbuf_printf(&sb, "%ss%d", i ? ", " : "", i);
    sp_strbuf_puts(&sb, "]\nkind: regular\ndfa:\n  start: q0\n  accept: [q0]\n  transitions:\n");
    for (int i = 0; i < 4097; i++) sp_strbuf_printf(&sb, "    q%d: {}\n", i);
    tu_expect_error(sb.buf, 10, 5, "state-symbol pairs");
    sp_strbuf_free(&sb);
}

/* ---- the fixture files for the CLI end-to-end test ---- */

static void test_fixtures(void **state)
{
    (void)state;
    static const char *const what[] = {
        "invalid-regex",     "backreference",          "lookahead",   "symbol-not-in-alphabet",
        "dfa-unknown-state", "empty-language",         "multichar-symbol-regex",
        "unknown-key",       "wrong-type",             "missing-field",
    };
    for (size_t i = 0; i < sizeof what / sizeof *what; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "tests/fixtures/bad/regular-%s.yaml", what[i]);
        const char *path = tu_src_path(rel);
        FILE *f = fopen(path, "r");
        if (!f) fail_msg("missing fixture %s", rel);
        char first[512];
        assert_non_null(fgets(first, sizeof first, f));
        fclose(f);
        int line, col, used = 0;
        if (sscanf(first, "# expect: %d:%d: %n", &line, &col, &used) != 2 || used == 0)
            fail_msg("%s: first line is not '# expect: LINE:COL: SUBSTRING'", rel);
        char *needle = first + used;
        needle[strcspn(needle, "\n")] = '\0';
        sp_lang *lang = NULL;
        sp_error err;
        sp_error_clear(&err);
        int status = sp_lang_load(path, &lang, &err);
        if (status == SP_OK) fail_msg("%s loaded", rel);
        if (err.line != line || err.col != col || !strstr(err.msg, needle)) {
            sp_error_print(&err, stderr);
            fail_msg("%s: expected %d:%d: %s", rel, line, col, needle);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zoo_against_oracles),
        cmocka_unit_test(test_zoo_minimal_states),
        cmocka_unit_test(test_regex_features),
        cmocka_unit_test(test_regex_spot_checks),
        cmocka_unit_test(test_next),
        cmocka_unit_test(test_oracle_backtracking_limit),
        cmocka_unit_test(test_minimize_random),
        cmocka_unit_test(test_canonical_form),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_huge_lengths),
        cmocka_unit_test(test_uniformity),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_timings),
        cmocka_unit_test(test_error_constructs),
        cmocka_unit_test(test_error_column_rule),
        cmocka_unit_test(test_error_pcre2),
        cmocka_unit_test(test_error_alphabet),
        cmocka_unit_test(test_error_dfa),
        cmocka_unit_test(test_error_empty_language),
        cmocka_unit_test(test_error_shape),
        cmocka_unit_test(test_error_caps),
        cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
