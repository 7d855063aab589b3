/* The dyck kind: counts against known sequences and counts computed here independently,
 * membership and next symbols against a plain stack/counter check, uniform sampling, loader
 * errors with positions, size limits, and printed timings. */
#include "testutil.h"
#include "satprobe/alloc.h"
#include "satprobe/rng.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

__extension__ typedef unsigned __int128 u128;

#define U64_LIMIT ((u128)1 << 64)

/* ---- the languages under test and a hand-written model of each --------------------------- */

typedef struct spec {
    const char *zoo;           /* grammars/<zoo>.yaml, or NULL to load `yaml` */
    const char *yaml;
    size_t npairs;
    const char *pairs[4][2];   /* spellings: open, close */
    size_t bound;              /* 0 = none */
    bool shuffle;
} spec;

static const spec zoo[] = {
    {"dyck-1", NULL, 1, {{"(", ")"}}, 0, false},
    {"dyck-2", NULL, 2, {{"(", ")"}, {"[", "]"}}, 0, false},
    {"dyck-2-3", NULL, 2, {{"(", ")"}, {"[", "]"}}, 3, false},
    {"shuffle-2", NULL, 2, {{"(", ")"}, {"[", "]"}}, 0, true},
    {"shuffle-4", NULL, 4, {{"(", ")"}, {"[", "]"}, {"{", "}"}, {"<", ">"}}, 0, true},
};
#define NZOO (sizeof zoo / sizeof *zoo)

/* Variants the zoo does not cover: bounds on Dyck-1 and Shuffle, three pairs, multi-character
 * symbols, and an alphabet listed in a different order than the pairs. */
static const spec extra[] = {
    {NULL,
     "name: d1b2\ndescription: d\nclass: regular\nalphabet: [a, b]\nkind: dyck\n"
     "pairs: [[a, b]]\nmax_depth: 2\n",
     1, {{"a", "b"}}, 2, false},
    {NULL,
     "name: d3b2\ndescription: d\nclass: regular\nalphabet: [')', '(', ']', '[', '}', '{']\n"
     "kind: dyck\npairs: [['(', ')'], ['[', ']'], ['{', '}']]\nmax_depth: 2\n",
     3, {{"(", ")"}, {"[", "]"}, {"{", "}"}}, 2, false},
    {NULL,
     "name: tags\ndescription: d\nclass: context-free\nalphabet: ['<a>', '</a>', '<b>', '</b>']\n"
     "kind: dyck\npairs: [['<a>', '</a>'], ['<b>', '</b>']]\n",
     2, {{"<a>", "</a>"}, {"<b>", "</b>"}}, 0, false},
    {NULL,
     "name: s3b1\ndescription: d\nclass: regular\nalphabet: [a, A, b, B, c, C]\nkind: dyck\n"
     "pairs: [[a, A], [b, B], [c, C]]\nmax_depth: 1\nshuffle: true\n",
     3, {{"a", "A"}, {"b", "B"}, {"c", "C"}}, 1, true},
    {NULL,
     "name: s2b2\ndescription: d\nclass: regular\nalphabet: [a, A, b, B]\nkind: dyck\n"
     "pairs: [[a, A], [b, B]]\nmax_depth: 2\nshuffle: true\n",
     2, {{"a", "A"}, {"b", "B"}}, 2, true},
};
#define NEXTRA (sizeof extra / sizeof *extra)

static sp_lang *spec_load(const spec *sp)
{
    return sp->zoo ? tu_load_zoo(sp->zoo) : tu_load_text(sp->yaml);
}

/* Each symbol's pair and direction, found by spelling, not through the kind's own tables. */
typedef struct model {
    size_t npairs, bound;
    bool shuffle;
    int type[16];
    bool open[16];
} model;

static model model_make(const sp_lang *lang, const spec *sp)
{
    model md;
    memset(&md, 0, sizeof md);
    md.npairs = sp->npairs;
    md.bound = sp->bound;
    md.shuffle = sp->shuffle;
    size_t k = sp_lang_alphabet_size(lang);
    assert_int_equal(k, 2 * sp->npairs);
    for (size_t a = 0; a < k; a++) md.type[a] = -1;
    for (size_t i = 0; i < sp->npairs; i++)
        for (int j = 0; j < 2; j++) {
            const char *s = sp->pairs[i][j];
            int a = sp_lang_symbol_index(lang, s, strlen(s));
            assert_true(a >= 0);
            md.type[a] = (int)i;
            md.open[a] = j == 0;
        }
    for (size_t a = 0; a < k; a++) assert_true(md.type[a] >= 0);
    return md;
}

/* Whether s[0..n) can be continued to a member: nothing closes what is not open (nested: the
 * innermost open), no depth exceeds the bound. *balanced: everything opened is closed. */
static bool model_prefix(const model *md, const int *s, size_t n, bool *balanced)
{
    int stack[512];
    size_t depth = 0, cnt[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        int t = md->type[s[i]];
        if (md->shuffle) {
            if (md->open[s[i]]) {
                if (md->bound && cnt[t] == md->bound) return false;
                cnt[t]++;
            } else {
                if (cnt[t] == 0) return false;
                cnt[t]--;
            }
        } else {
            if (md->open[s[i]]) {
                if ((md->bound && depth == md->bound) || depth == 512) return false;
                stack[depth++] = t;
            } else {
                if (depth == 0 || stack[depth - 1] != t) return false;
                depth--;
            }
        }
    }
    *balanced = depth == 0 && cnt[0] + cnt[1] + cnt[2] + cnt[3] == 0;
    return true;
}

static bool model_member(const model *md, const int *s, size_t n)
{
    bool bal;
    return model_prefix(md, s, n, &bal) && bal;
}

/* ---- independent counts ------------------------------------------------------------------ */

/* Catalan numbers by Segner's recurrence C(i+1) = sum C(j) C(i-j), exact in 128 bits up to
 * C(66); cat[i] for i <= n. */
static void catalan_u128(u128 *cat, size_t n)
{
    cat[0] = 1;
    for (size_t i = 0; i < n; i++) {
        u128 s = 0;
        for (size_t j = 0; j <= i; j++) s += cat[j] * cat[i - j];
        cat[i + 1] = s;
    }
}

/* Catalan(i) for i <= 300 by Segner's recurrence in long double: relative error about
 * i * 2^-64, well below the 1e-15 the tests allow. */
static long double catalan_ld(size_t i)
{
    static long double cat[302];
    static bool ready;
    SP_ASSERT(i <= 300);
    if (!ready) {
        cat[0] = 1;
        for (size_t j = 0; j < 301; j++) {
            long double sum = 0;
            for (size_t l = 0; l <= j; l++) sum += cat[l] * cat[j - l];
            cat[j + 1] = sum;
        }
        ready = true;
    }
    return cat[i];
}

/* Catalan(i) from lgamma: (2i)! / (i! (i+1)!). */
static long double catalan_lgamma(size_t i)
{
    return expl(lgammal(2.0L * i + 1) - lgammal(i + 1.0L) - lgammal(i + 2.0L));
}

/* Strings of length n of depth-bounded Dyck-k by a forward transfer matrix over depths
 * 0..bound: from depth d, k opens lead to d+1 (if d < bound), one close to d-1. */
static long double transfer_count(size_t k, size_t bound, size_t n)
{
    long double v[64] = {1}, w[64];
    SP_ASSERT(bound < 63);
    for (size_t step = 0; step < n; step++) {
        memset(w, 0, sizeof w);
        for (size_t d = 0; d <= bound; d++) {
            if (d < bound) w[d + 1] += (long double)k * v[d];
            if (d > 0) w[d - 1] += v[d];
        }
        memcpy(v, w, sizeof v);
    }
    return v[0];
}

/* The same in 128-bit integers; *ok turns false (and stays false) once an entry passes 2^120,
 * where the arithmetic could wrap. */
static u128 transfer_count_u128(size_t k, size_t bound, size_t n, bool *ok)
{
    u128 v[64] = {1}, w[64];
    SP_ASSERT(bound < 63 && k < 256);
    *ok = true;
    for (size_t step = 0; step < n; step++) {
        memset(w, 0, sizeof w);
        for (size_t d = 0; d <= bound; d++) {
            if (v[d] >= (u128)1 << 110) *ok = false;
            if (d < bound) w[d + 1] += (u128)k * v[d];
            if (d > 0) w[d - 1] += v[d];
        }
        memcpy(v, w, sizeof v);
    }
    return v[0];
}

static void assert_close(long double got, long double want, long double tol, const char *what,
                         size_t n)
{
    long double rel = fabsl(got / want - 1);
    if (!(rel <= tol))
        fail_msg("%s at n=%zu: got %.21Lg, want %.21Lg (relative error %.3Lg)", what, n, got, want,
                 rel);
}

/* A count compared with an exact integer: equal when below 2^64, else relative tol. */
static void assert_count_exact(long double got, u128 want, long double tol, const char *what,
                               size_t n)
{
    if (want < U64_LIMIT) {
        if (got != (long double)(uint64_t)want)
            fail_msg("%s at n=%zu: got %.21Lg, want %llu", what, n, got,
                     (unsigned long long)want);
    } else {
        assert_close(got, (long double)want, tol, what, n);
    }
}

/* ---- known sequences --------------------------------------------------------------------- */

static void test_catalan(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("dyck-1");
    u128 cat[70];
    catalan_u128(cat, 66);
    size_t exact_upto = 0;
    for (size_t i = 0; i <= 66; i++) {
        assert_true(sp_lang_count(lang, 2 * i + 1) == 0);
        if (cat[i] < U64_LIMIT) {
            assert_true(sp_lang_count(lang, 2 * i) == (long double)(uint64_t)cat[i]);
            exact_upto = 2 * i;
        } else {
            assert_close(sp_lang_count(lang, 2 * i), (long double)cat[i], 1e-17L, "Catalan", 2 * i);
        }
    }
    assert_int_equal(exact_upto, 72); /* Catalan(36) is the last below 2^64 */
    long double c500 = sp_lang_count(lang, 500), ref = catalan_lgamma(250);
    printf("dyck-1: count(500) = %.20Lg, lgamma Catalan(250) = %.20Lg, ratio - 1 = %.3Lg\n", c500,
           ref, c500 / ref - 1);
    assert_close(c500, ref, 1e-15L, "Catalan vs lgamma", 500);
    for (size_t i = 0; i <= 250; i++)
        assert_close(sp_lang_count(lang, 2 * i), catalan_ld(i), 1e-15L, "Catalan", 2 * i);
    sp_lang_destroy(lang);
}

/* Dyck-k strings of length 2i: k^i Catalan(i); exact (128-bit) while both factors fit in
 * 64 bits, else against long double Catalan numbers. */
static void check_dyck_k(sp_lang *lang, unsigned k)
{
    u128 cat[70];
    catalan_u128(cat, 66);
    u128 pw = 1; /* k^i */
    for (size_t i = 0; i <= 250; i++) {
        assert_true(sp_lang_count(lang, 2 * i + 1) == 0);
        if (i <= 66 && cat[i] < U64_LIMIT && pw < U64_LIMIT)
            assert_count_exact(sp_lang_count(lang, 2 * i), cat[i] * pw, 1e-17L, "k^i Catalan(i)",
                               2 * i);
        else
            assert_close(sp_lang_count(lang, 2 * i), powl(k, (long double)i) * catalan_ld(i),
                         1e-15L, "k^i Catalan(i)", 2 * i);
        if (pw < U64_LIMIT) pw *= k;
    }
}

static void test_dyck_k(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("dyck-2");
    check_dyck_k(lang, 2);
    sp_lang_destroy(lang);
    lang = tu_load_text("name: d3\ndescription: d\nclass: context-free\n"
                        "alphabet: [a, A, b, B, c, C]\nkind: dyck\n"
                        "pairs: [[a, A], [b, B], [c, C]]\n");
    check_dyck_k(lang, 3);
    sp_lang_destroy(lang);
}

/* Depth-bounded Dyck-k against a forward transfer matrix, for the zoo's Dyck-(2,3) and others. */
static void test_bounded(void **state)
{
    (void)state;
    static const struct { size_t k, bound; } cases[] = {{2, 3}, {1, 1}, {1, 2}, {3, 5}, {2, 1},
                                                        {1, 40}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t k = cases[c].k, bound = cases[c].bound;
        sp_lang *lang;
        if (k == 2 && bound == 3) {
            lang = tu_load_zoo("dyck-2-3");
        } else {
            static const char *const syms = "aAbBcC";
            char yaml[512], alpha[64] = "", pairs[128] = "";
            for (size_t i = 0; i < k; i++) {
                char buf[32];
                snprintf(buf, sizeof buf, "%s%c, %c", i ? ", " : "", syms[2 * i], syms[2 * i + 1]);
                strcat(alpha, buf);
                snprintf(buf, sizeof buf, "%s[%c, %c]", i ? ", " : "", syms[2 * i],
                         syms[2 * i + 1]);
                strcat(pairs, buf);
            }
            snprintf(yaml, sizeof yaml,
                     "name: b\ndescription: d\nclass: regular\nalphabet: [%s]\nkind: dyck\n"
                     "pairs: [%s]\nmax_depth: %zu\n",
                     alpha, pairs, bound);
            lang = tu_load_text(yaml);
        }
        for (size_t n = 0; n <= 500; n++) {
            bool ok;
            u128 exact = transfer_count_u128(k, bound, n, &ok);
            if (ok)
                assert_count_exact(sp_lang_count(lang, n), exact, 1e-17L, "bounded Dyck", n);
            else if (n & 1)
                assert_true(sp_lang_count(lang, n) == 0);
            else
                assert_close(sp_lang_count(lang, n), transfer_count(k, bound, n), 1e-15L,
                             "bounded Dyck", n);
        }
        /* Hand-known values: depth 1 is (a A)^i times k^i; Dyck-1 of depth <= 2 has 2^(i-1). */
        if (bound == 1) assert_true(sp_lang_count(lang, 20) == powl(k, 10));
        if (k == 1 && bound == 2) assert_true(sp_lang_count(lang, 20) == 512);
        sp_lang_destroy(lang);
    }
}

/* Shuffle-2 by brute force over all 4^n strings, up to n = 12. */
static void test_shuffle_brute(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("shuffle-2");
    model md = model_make(lang, &zoo[3]);
    for (size_t n = 0; n <= 12; n++) {
        int s[12] = {0};
        size_t members = 0;
        do members += model_member(&md, s, n);
        while (n > 0 && tu_next_string(s, n, 4));
        assert_true(sp_lang_count(lang, n) == (long double)members);
    }
    assert_true(sp_lang_count(lang, 6) == 70);
    sp_lang_destroy(lang);
}

/* Shuffle-k by the sum over compositions n = m_1 + ... + m_k (each m_i even) of the multinomial
 * n! / (m_1! ... m_k!) times the product of E1(m_i), all in 128-bit integers. E1 is Dyck-1 with
 * the bound (transfer matrix) or Catalan. */
static u128 binom_u128(size_t n, size_t m)
{
    static u128 pas[64][64];
    static bool ready;
    if (!ready) {
        for (size_t i = 0; i < 64; i++) {
            pas[i][0] = 1;
            for (size_t j = 1; j <= i; j++) pas[i][j] = pas[i - 1][j - 1] + (j < i ? pas[i - 1][j] : 0);
        }
        ready = true;
    }
    return pas[n][m];
}

static u128 compositions(size_t k, size_t n, const u128 *e1)
{
    if (k == 1) return e1[n];
    u128 s = 0;
    for (size_t m = 0; m <= n; m += 2) s += binom_u128(n, m) * e1[m] * compositions(k - 1, n - m, e1);
    return s;
}

static void test_shuffle_compositions(void **state)
{
    (void)state;
    static const char *const alpha[] = {"", "", "a, A, b, B", "a, A, b, B, c, C",
                                        "a, A, b, B, c, C, d, D"};
    static const char *const pairs[] = {"", "", "[a, A], [b, B]", "[a, A], [b, B], [c, C]",
                                        "[a, A], [b, B], [c, C], [d, D]"};
    for (size_t k = 2; k <= 4; k++)
        for (size_t bound = 0; bound <= 2; bound += 2) {
            sp_lang *lang;
            if (k == 2 && bound == 0) lang = tu_load_zoo("shuffle-2");
            else if (k == 4 && bound == 0) lang = tu_load_zoo("shuffle-4");
            else {
                char yaml[512], depth[16] = "~";
                if (bound) snprintf(depth, sizeof depth, "%zu", bound);
                snprintf(yaml, sizeof yaml,
                         "name: s\ndescription: d\nclass: counter\nalphabet: [%s]\nkind: dyck\n"
                         "pairs: [%s]\nshuffle: true\nmax_depth: %s\n",
                         alpha[k], pairs[k], depth);
                lang = tu_load_text(yaml);
            }
            u128 e1[32], cat[32];
            catalan_u128(cat, 20);
            for (size_t m = 0; m <= 30; m++) {
                bool ok;
                e1[m] = bound ? transfer_count_u128(1, bound, m, &ok) : (m & 1 ? 0 : cat[m / 2]);
            }
            for (size_t n = 0; n <= 30; n++) {
                u128 want = (n & 1) ? 0 : compositions(k, n, e1);
                assert_count_exact(sp_lang_count(lang, n), want, 1e-17L, "shuffle compositions", n);
            }
            sp_lang_destroy(lang);
        }
}

/* Shuffle-2 has Catalan(i) Catalan(i+1) strings of length 2i (walks in the quarter plane,
 * Guy, Krattenthaler & Sagan 1992): a closed form to check length 500 against. */
static void test_shuffle2_closed_form(void **state)
{
    (void)state;
    sp_lang *lang = tu_load_zoo("shuffle-2");
    for (size_t i = 0; i <= 250; i++)
        assert_close(sp_lang_count(lang, 2 * i), catalan_ld(i) * catalan_ld(i + 1), 1e-15L,
                     "Catalan(i) Catalan(i+1)", 2 * i);
    sp_lang_destroy(lang);
    lang = tu_load_zoo("shuffle-4");
    long double c = sp_lang_count(lang, 500);
    printf("shuffle-4: count(500) = %.20Lg\n", c);
    assert_true(isfinite(c) && c > 1e400L);
    sp_lang_destroy(lang);
}

/* ---- membership, counts and next by enumeration ------------------------------------------ */

static void check_enumeration(const spec *sp)
{
    sp_lang *lang = spec_load(sp);
    model md = model_make(lang, sp);
    size_t k = sp_lang_alphabet_size(lang);
    bool valid[16], want_valid[16], can_end;
    int s[16];
    for (size_t n = 0; n <= 12; n++) {
        if (tu_pow_capped(k, n, (size_t)1 << 20) == SIZE_MAX) break;
        memset(s, 0, sizeof s);
        size_t members = 0;
        do {
            bool want = model_member(&md, s, n);
            if (sp_lang_accepts(lang, s, n) != want)
                fail_msg("%s: accepts disagrees at length %zu", sp_lang_name(lang), n);
            members += want;
            if (n <= 8) {
                bool bal;
                bool viable = model_prefix(&md, s, n, &bal);
                bool got = sp_lang_next(lang, s, n, valid, &can_end);
                assert_int_equal(got, viable);
                assert_int_equal(can_end, viable && bal);
                for (size_t a = 0; a < k; a++) {
                    s[n] = (int)a;
                    want_valid[a] = model_prefix(&md, s, n + 1, &bal);
                    if (valid[a] != want_valid[a])
                        fail_msg("%s: next disagrees on symbol %s at length %zu",
                                 sp_lang_name(lang), sp_lang_symbol(lang, (int)a), n);
                }
                s[n] = 0;
            }
        } while (n > 0 && tu_next_string(s, n, k));
        if (sp_lang_count(lang, n) != (long double)members)
            fail_msg("%s: count(%zu) = %.0Lf, but %zu members", sp_lang_name(lang), n,
                     sp_lang_count(lang, n), members);
    }
    sp_lang_destroy(lang);
}

static void test_enumerate_zoo(void **state)
{
    (void)state;
    for (size_t i = 0; i < NZOO; i++) check_enumeration(&zoo[i]);
}

static void test_enumerate_extra(void **state)
{
    (void)state;
    for (size_t i = 0; i < NEXTRA; i++) check_enumeration(&extra[i]);
}

/* A few hand-picked strings, as text. */
static void test_examples(void **state)
{
    (void)state;
    static const struct { const char *lang, *text; bool member; } cases[] = {
        {"dyck-2", "( [ ] ) [ ]", true},       {"dyck-2", "( [ ) ]", false},
        {"dyck-2", "( (", false},              {"dyck-2", ") (", false},
        {"dyck-2-3", "( [ ( ) ] )", true},     {"dyck-2-3", "( [ ( [ ] ) ] )", false},
        {"shuffle-2", "( [ ) ]", true},        {"shuffle-2", "] [", false},
        {"shuffle-4", "( { [ ) < } ] >", true}, {"shuffle-4", "( { [ ) < } ]", false},
        {"dyck-1", "", true},                  {"shuffle-4", "", true},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        sp_lang *lang = tu_load_zoo(cases[c].lang);
        int s[16];
        size_t n = tu_parse(lang, cases[c].text, s, 16);
        if (sp_lang_accepts(lang, s, n) != cases[c].member)
            fail_msg("%s: '%s' should %sbe a member", cases[c].lang, cases[c].text,
                     cases[c].member ? "" : "not ");
        sp_lang_destroy(lang);
    }
    /* next after "( [" in Dyck-2: both opens and only "]"; in Shuffle-2 both closes too. */
    sp_lang *lang = tu_load_zoo("dyck-2");
    int p[4];
    bool valid[4], can_end;
    size_t n = tu_parse(lang, "( [", p, 4);
    assert_true(sp_lang_next(lang, p, n, valid, &can_end));
    assert_true(valid[0] && !valid[1] && valid[2] && valid[3] && !can_end);
    sp_lang_destroy(lang);
    lang = tu_load_zoo("shuffle-2");
    assert_true(sp_lang_next(lang, p, n, valid, &can_end));
    assert_true(valid[0] && valid[1] && valid[2] && valid[3] && !can_end);
    sp_lang_destroy(lang);
    /* Dyck-(2,3) at depth 3: no open is valid. */
    lang = tu_load_zoo("dyck-2-3");
    n = tu_parse(lang, "( [ (", p, 4);
    assert_true(sp_lang_next(lang, p, n, valid, &can_end));
    assert_true(!valid[0] && valid[1] && !valid[2] && !valid[3] && !can_end);
    sp_lang_destroy(lang);
}

/* ---- sampling ---------------------------------------------------------------------------- */

static void test_chisq(void **state)
{
    (void)state;
    static const struct { const spec *sp; size_t n, members; } cases[] = {
        {&zoo[0], 10, 42}, {&zoo[1], 6, 40},   {&zoo[2], 6, 40},   {&zoo[2], 8, 208},
        {&zoo[3], 6, 70},  {&zoo[4], 4, 44},   {&extra[0], 12, 32}, {&extra[1], 4, 18},
        {&extra[3], 4, 21}, {&extra[4], 6, 68},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        sp_lang *lang = spec_load(cases[c].sp);
        size_t members;
        double p = tu_chisq_uniform(lang, cases[c].n, 200 * cases[c].members, 1000 + c, &members);
        printf("chi-square %s n=%zu: %zu members, p = %.4f\n", sp_lang_name(lang), cases[c].n,
               members, p);
        assert_int_equal(members, cases[c].members);
        assert_true(p > 0.001);
        sp_lang_destroy(lang);
    }
}

/* Beyond enumeration: the height of Dyck-1 samples at the middle of length n follows
 * P(d) = B(n/2, d)^2 / Catalan(n/2), B(m, d) = (d+1)/(m+1) C(m+1, (m-d)/2) paths from 0 to d
 * that stay >= 0. Chi-square over heights, rare heights pooled. */
static long double ballot(size_t m, size_t d)
{
    if (d > m || ((m - d) & 1)) return 0;
    size_t u = (m - d) / 2;
    return (d + 1.0L) / (m + 1.0L) *
           expl(lgammal(m + 2.0L) - lgammal(u + 1.0L) - lgammal(m + 1.0L - u + 1.0L));
}

static void midpoint_chisq(const char *yaml_or_zoo, bool is_zoo, size_t n, size_t draws,
                           unsigned long seed)
{
    sp_lang *lang = is_zoo ? tu_load_zoo(yaml_or_zoo) : tu_load_text(yaml_or_zoo);
    size_t half = n / 2;
    long double total = 0, prob[256];
    for (size_t d = 0; d <= half; d++) total += prob[d] = ballot(half, d) * ballot(half, d);
    size_t freq[256] = {0};
    int *s = sp_malloc(n, sizeof *s);
    gsl_rng *r = sp_rng_new(seed);
    sp_error err;
    for (size_t i = 0; i < draws; i++) {
        assert_int_equal(sp_lang_sample(lang, n, r, s, &err), SP_OK);
        size_t d = 0;
        for (size_t j = 0; j < half; j++) d += s[j] == 0 ? 1 : (size_t)-1;
        freq[d]++;
    }
    /* Pool heights whose expected count is below 5 into one bin. */
    double chi = 0, pooled_e = 0, pooled_o = 0;
    size_t bins = 0;
    for (size_t d = 0; d <= half; d++) {
        double e = (double)(prob[d] / total) * (double)draws;
        if (e < 5) {
            pooled_e += e;
            pooled_o += (double)freq[d];
            continue;
        }
        chi += ((double)freq[d] - e) * ((double)freq[d] - e) / e;
        bins++;
    }
    if (pooled_e > 0) {
        chi += (pooled_o - pooled_e) * (pooled_o - pooled_e) / pooled_e;
        bins++;
    }
    double p = gsl_cdf_chisq_Q(chi, (double)(bins - 1));
    printf("midpoint height chi-square, %s n=%zu: %zu bins, p = %.4f\n", sp_lang_name(lang), n,
           bins, p);
    assert_true(p > 0.001);
    gsl_rng_free(r);
    free(s);
    sp_lang_destroy(lang);
}

static void test_midpoint_height(void **state)
{
    (void)state;
    /* Unbounded: the exact integer walk. */
    midpoint_chisq("dyck-1", true, 100, 20000, 5);
    /* The same language through the depth-bounded table walk (the bound never bites). */
    midpoint_chisq("name: big\ndescription: d\nclass: counter\nalphabet: ['(', ')']\nkind: dyck\n"
                   "pairs: [['(', ')']]\nmax_depth: 60\n",
                   false, 100, 20000, 6);
}

static void test_long_samples(void **state)
{
    (void)state;
    for (size_t i = 0; i < NZOO; i++) {
        sp_lang *lang = spec_load(&zoo[i]);
        model md = model_make(lang, &zoo[i]);
        gsl_rng *r = sp_rng_new(77 + i);
        int *s = sp_malloc(500, sizeof *s);
        sp_error err;
        size_t kinds_seen[8] = {0};
        for (size_t t = 0; t < 50; t++) {
            assert_int_equal(sp_lang_sample(lang, 500, r, s, &err), SP_OK);
            assert_true(sp_lang_accepts(lang, s, 500));
            assert_true(model_member(&md, s, 500));
            for (size_t j = 0; j < 500; j++) kinds_seen[s[j]]++;
        }
        for (size_t a = 0; a < sp_lang_alphabet_size(lang); a++) assert_true(kinds_seen[a] > 0);
        /* No strings of odd length. */
        assert_int_equal(sp_lang_sample(lang, 499, r, s, &err), SP_EINPUT);
        free(s);
        gsl_rng_free(r);
        sp_lang_destroy(lang);
    }
}

/* Same seed, same samples; and the samples do not depend on how far the tables were built. */
static void test_determinism(void **state)
{
    (void)state;
    for (size_t i = 0; i < NZOO; i++) {
        sp_lang *a = spec_load(&zoo[i]), *b = spec_load(&zoo[i]);
        sp_error err;
        assert_int_equal(sp_lang_prepare(b, 2000, &err), SP_OK);
        gsl_rng *ra = sp_rng_new(42), *rb = sp_rng_new(42), *rc = sp_rng_new(43);
        int sa[50], sb[50], sc[50];
        bool differs = false;
        for (size_t t = 0; t < 20; t++) {
            assert_int_equal(sp_lang_sample(a, 50, ra, sa, &err), SP_OK);
            assert_int_equal(sp_lang_sample(b, 50, rb, sb, &err), SP_OK);
            assert_int_equal(sp_lang_sample(a, 50, rc, sc, &err), SP_OK);
            assert_memory_equal(sa, sb, sizeof sa);
            differs |= memcmp(sa, sc, sizeof sa) != 0;
        }
        assert_true(differs);
        gsl_rng_free(ra);
        gsl_rng_free(rb);
        gsl_rng_free(rc);
        sp_lang_destroy(a);
        sp_lang_destroy(b);
    }
}

/* ---- limits ------------------------------------------------------------------------------ */

static void test_limits(void **state)
{
    (void)state;
    sp_error err;
    sp_lang *lang = tu_load_zoo("shuffle-4");
    assert_true(sp_lang_count(lang, 100) > 0);
    assert_int_equal(sp_lang_prepare(lang, 5000, &err), SP_ELIMIT);
    assert_non_null(strstr(err.msg, "up to 4096"));
    /* A failed prepare keeps the tables that were there. */
    assert_true(sp_lang_count(lang, 4) == 44);
    sp_lang_destroy(lang);

    lang = tu_load_zoo("dyck-1");
    assert_int_equal(sp_lang_prepare(lang, 100000, &err), SP_ELIMIT);
    assert_non_null(strstr(err.msg, "exceeds the long double range"));
    assert_true(sp_lang_count(lang, 100000) == -1);
    assert_true(sp_lang_count(lang, 10) == 42);
    /* Dyck-1 fits up to about 16000. */
    long double c = sp_lang_count(lang, 16000);
    assert_true(isfinite(c) && c > 1e4800L);
    int *s = sp_malloc(16000, sizeof *s);
    gsl_rng *r = sp_rng_new(3);
    assert_int_equal(sp_lang_sample(lang, 16000, r, s, &err), SP_OK);
    assert_true(sp_lang_accepts(lang, s, 16000));
    sp_lang_destroy(lang);

    /* Depth-bounded: a large bound needs a large table. */
    lang = tu_load_text("name: b\ndescription: d\nclass: regular\nalphabet: ['(', ')']\n"
                        "kind: dyck\npairs: [['(', ')']]\nmax_depth: 100000\n");
    assert_int_equal(sp_lang_prepare(lang, 16000, &err), SP_ELIMIT);
    assert_non_null(strstr(err.msg, "max_depth 100000"));
    sp_lang_destroy(lang);

    /* A small bound is cheap at long lengths. */
    lang = tu_load_zoo("dyck-2-3");
    c = sp_lang_count(lang, 10000);
    assert_true(isfinite(c) && c > 0);
    assert_int_equal(sp_lang_sample(lang, 10000, r, s, &err), SP_OK);
    assert_true(sp_lang_accepts(lang, s, 10000));
    gsl_rng_free(r);
    free(s);
    sp_lang_destroy(lang);
}

/* ---- loader errors ----------------------------------------------------------------------- */

#define HEAD                                                                                  \
    "name: t\ndescription: d\nclass: context-free\nalphabet: ['(', ')', '[', ']']\nkind: dyck\n"

static void test_errors(void **state)
{
    (void)state;
    /* line 6 onwards is the kind's part; columns counted by hand */
    tu_expect_error(HEAD, 1, 1, "missing required key 'pairs'");
    tu_expect_error(HEAD "pairs: x\n", 6, 8, "pairs must be a list");
    tu_expect_error(HEAD "pairs: []\n", 6, 8, "pairs is empty");
    tu_expect_error(HEAD "pairs: [['(', ')'], '[']\n", 6, 21,
                    "pair 2 must be a list of two symbols [open, close], not a scalar");
    tu_expect_error(HEAD "pairs: [['(', ')', '['], [']']]\n", 6, 9,
                    "pair 1 must be a list of two symbols [open, close], not a list of 3 items");
    tu_expect_error(HEAD "pairs: [['(', ')'], [']']]\n", 6, 21, "not a list of 1 item");
    tu_expect_error(HEAD "pairs: [['(', ')'], {a: b}]\n", 6, 21, "not a mapping");
    tu_expect_error(HEAD "pairs: [['(', '('], ['[', ']']]\n", 6, 15,
                    "opens and closes with the same symbol '('");
    tu_expect_error(HEAD "pairs: [['(', 'x'], ['[', ']']]\n", 6, 15,
                    "symbol 'x' is not in the alphabet");
    tu_expect_error(HEAD "pairs: [['(', ')'], ['[', '(']]\n", 6, 27,
                    "symbol '(' appears in two pairs (first at 6:10)");
    tu_expect_error(HEAD "pairs: [['(', ')'], [')', ']']]\n", 6, 22,
                    "symbol ')' appears in two pairs (first at 6:15)");
    tu_expect_error(HEAD "pairs: [[['('], ')']]\n", 6, 10, "a symbol must be a string, not a list");
    tu_expect_error(HEAD "pairs: [['(', ')']]\n", 4, 22, "alphabet symbol '[' is not used by any pair");
    tu_expect_error(HEAD "pairs:\n  - ['(', ')']\n  - ['[', ']']\nmax_depth: 0\n", 9, 12,
                    "max_depth must be between 1 and 100000, not 0");
    tu_expect_error(HEAD "pairs: [['(', ')'], ['[', ']']]\nmax_depth: deep\n", 7, 12,
                    "max_depth must be an integer, not 'deep'");
    tu_expect_error(HEAD "pairs: [['(', ')'], ['[', ']']]\nmax_depth: 100001\n", 7, 12,
                    "between 1 and 100000");
    tu_expect_error(HEAD "pairs: [['(', ')'], ['[', ']']]\nmax_depth: [3]\n", 7, 12,
                    "max_depth must be an integer, not a list");
    tu_expect_error(HEAD "pairs: [['(', ')'], ['[', ']']]\nshuffle: maybe\n", 7, 10,
                    "shuffle must be true or false, not 'maybe'");
    tu_expect_error(HEAD "pairs: [['(', ')'], ['[', ']']]\ndepth: 3\n", 7, 1, "unknown key 'depth'");
    /* Too many pairs is reported before any symbol is looked at. */
    char big[4096] = HEAD "pairs: [";
    for (int i = 0; i < 65; i++) strcat(big, i ? ", ['(', ')']" : "['(', ')']");
    strcat(big, "]\n");
    tu_expect_error(big, 6, 8, "pairs lists 65 pairs; at most 64");

    /* Null and absent optional keys mean "no bound" and "nested". */
    sp_lang *lang = tu_load_text(HEAD "pairs: [['(', ')'], ['[', ']']]\nmax_depth: ~\nshuffle: ~\n");
    assert_true(sp_lang_count(lang, 6) == 40);
    assert_int_equal(sp_lang_get_kind(lang), SP_KIND_DYCK);
    sp_lang_destroy(lang);
}

/* Each fixture starts with "# expect: LINE:COL: SUBSTRING". */
static void test_fixtures(void **state)
{
    (void)state;
    static const char *const names[] = {"symbol-not-in-alphabet", "unused-symbol",
                                        "duplicate-pair-symbol", "bad-pair-shape",
                                        "bad-max-depth"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "tests/fixtures/bad/dyck-%s.yaml", names[i]);
        FILE *f = fopen(tu_src_path(rel), "rb");
        if (!f) fail_msg("cannot open %s", rel);
        char text[4096];
        size_t len = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[len] = '\0';
        int line, col, off;
        if (sscanf(text, "# expect: %d:%d: %n", &line, &col, &off) != 2)
            fail_msg("%s does not start with '# expect: LINE:COL: SUBSTRING'", rel);
        char needle[512];
        size_t nl = strcspn(text + off, "\n");
        snprintf(needle, sizeof needle, "%.*s", (int)nl, text + off);
        assert_true(nl > 0);
        tu_expect_error(text, line, col, needle);
    }
}

/* ---- timings (printed, not asserted) ----------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void test_timings(void **state)
{
    (void)state;
    for (size_t i = 0; i < NZOO; i++) {
        sp_lang *lang = spec_load(&zoo[i]);
        double t0 = now();
        long double sum = 0;
        for (size_t n = 0; n <= 500; n++) sum += sp_lang_count(lang, n);
        double t1 = now();
        assert_true(sum > 0 && isfinite(sum));
        printf("%-10s count 0..500: %8.3f ms", sp_lang_name(lang), 1e3 * (t1 - t0));
        gsl_rng *r = sp_rng_new(1);
        int s[500];
        sp_error err;
        static const size_t lens[2] = {50, 500}, reps[2] = {200000, 20000};
        for (size_t j = 0; j < 2; j++) {
            double t2 = now();
            for (size_t k = 0; k < reps[j]; k++)
                assert_int_equal(sp_lang_sample(lang, lens[j], r, s, &err), SP_OK);
            double t3 = now();
            printf("   samples/s at %zu: %9.0f", lens[j], (double)reps[j] / (t3 - t2));
        }
        printf("\n");
        gsl_rng_free(r);
        sp_lang_destroy(lang);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalan),
        cmocka_unit_test(test_dyck_k),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_shuffle_brute),
        cmocka_unit_test(test_shuffle_compositions),
        cmocka_unit_test(test_shuffle2_closed_form),
        cmocka_unit_test(test_enumerate_zoo),
        cmocka_unit_test(test_enumerate_extra),
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_chisq),
        cmocka_unit_test(test_midpoint_height),
        cmocka_unit_test(test_long_samples),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_timings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
