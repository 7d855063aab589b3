/* Brute-force cross-checks: counts against enumeration, membership and prefix viability against
 * the oracle, next() against itself and against enumerated members, samples against membership,
 * and a chi-square test of the sampler's uniformity. */
#include "satprobe/check.h"
#include "satprobe/alloc.h"
#include "satprobe/oracle.h"
#include "satprobe/rng.h"

#include <gsl/gsl_cdf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_REPORTS = 20 };

void sp_check_options_default(sp_check_options *opts)
{
    opts->max_length = 12;
    opts->max_strings = (size_t)1 << 20;
    opts->next_length = 8;
    opts->samples = 200;
    opts->chisq_draws = 50;
    opts->seed = 1;
}

/* Shared state of one check run. */
typedef struct checker {
    sp_lang *lang;
    sp_oracle *oracle;
    FILE *log;
    sp_check_result *res;
    size_t k;
    size_t reports[6]; /* failures reported per kind, to cap the log */
    bool *valid;       /* [k] */
    bool *valid2;      /* [k] */
    int *buf;          /* [max_len + 2] scratch string */
} checker;

enum { R_COUNT, R_ORACLE, R_NEXT, R_SAMPLE, R_CHISQ, R_MEMBER };

static void fail_str(checker *c, int kind, const int *s, size_t n, const char *what)
{
    c->res->failures++;
    if (c->reports[kind]++ >= MAX_REPORTS) return;
    fprintf(c->log, "  FAIL %s: '", what);
    sp_lang_write_string(c->lang, c->log, s, n);
    fprintf(c->log, "'\n");
}

static bool next_string(int *s, size_t n, size_t k)
{
    for (size_t i = n; i-- > 0;) {
        if ((size_t)++s[i] < k) return true;
        s[i] = 0;
    }
    return false;
}

static size_t pow_capped(size_t k, size_t n, size_t limit)
{
    size_t p = 1;
    for (size_t i = 0; i < n; i++) {
        if (p > limit / k) return SIZE_MAX;
        p *= k;
    }
    return p;
}

/* next(p) must agree with accepts(p), with next on each extension p·a, and with the oracle. */
static void check_next(checker *c, int *s, size_t n)
{
    bool can_end;
    bool viable = sp_lang_next(c->lang, s, n, c->valid, &can_end);
    c->res->checks++;
    if (can_end != sp_lang_accepts(c->lang, s, n))
        fail_str(c, R_NEXT, s, n, "next() says may-end differently from accepts()");
    if (c->oracle) {
        c->res->checks++;
        if (viable != sp_oracle_viable(c->oracle, s, n))
            fail_str(c, R_NEXT, s, n, "prefix viability differs from the oracle");
    }
    bool any = can_end;
    for (size_t a = 0; a < c->k; a++) {
        any = any || c->valid[a];
        s[n] = (int)a;
        bool dummy;
        bool ext = sp_lang_next(c->lang, s, n + 1, c->valid2, &dummy);
        c->res->checks++;
        if (ext != c->valid[a])
            fail_str(c, R_NEXT, s, n + 1, "next(p) and next(p·a) disagree about p·a");
    }
    if (viable != any) fail_str(c, R_NEXT, s, n, "viable prefix with no continuation and no end");
}

/* Every prefix of a member must be viable and continue with the member's next symbol. */
static void check_member_prefixes(checker *c, const int *w, size_t n, size_t upto)
{
    for (size_t i = 0; i < n && i <= upto; i++) {
        bool can_end;
        sp_lang_next(c->lang, w, i, c->valid, &can_end);
        c->res->checks++;
        if (!c->valid[w[i]]) {
            fail_str(c, R_MEMBER, w, n, "next() rejects a continuation that leads to this member");
            return;
        }
    }
}

static void check_enumeration(checker *c, const sp_check_options *o)
{
    int *s = c->buf;
    for (size_t n = 0; n <= o->max_length; n++) {
        if (pow_capped(c->k, n, o->max_strings) == SIZE_MAX) break;
        memset(s, 0, (n + 1) * sizeof *s);
        size_t members = 0;
        do {
            bool in = sp_lang_accepts(c->lang, s, n);
            members += in;
            if (c->oracle) {
                c->res->checks++;
                if (in != sp_oracle_accepts(c->oracle, s, n))
                    fail_str(c, R_ORACLE, s, n, in ? "accepted, but the oracle rejects"
                                                    : "rejected, but the oracle accepts");
            }
            if (in) check_member_prefixes(c, s, n, o->next_length);
            if (n <= o->next_length) check_next(c, s, n);
        } while (n > 0 && next_string(s, n, c->k));
        long double want = sp_lang_count(c->lang, n);
        c->res->checks++;
        if ((long double)members != want) {
            c->res->failures++;
            if (c->reports[R_COUNT]++ < MAX_REPORTS) {
                char buf[64];
                sp_lang_format_count(want, buf, sizeof buf);
                fprintf(c->log, "  FAIL count at length %zu: %s, but enumeration finds %zu\n", n,
                        buf, members);
            }
        }
        c->res->enumerated_to = n;
    }
}

static void check_samples(checker *c, const sp_check_options *o, gsl_rng *r)
{
    static const size_t extra[] = {50, 100};
    for (size_t i = 0; i < 21 + 2; i++) {
        size_t n = i < 21 ? i : extra[i - 21];
        if (!(sp_lang_count(c->lang, n) > 0)) continue;
        for (size_t d = 0; d < o->samples; d++) {
            SP_ASSERT(sp_lang_sample(c->lang, n, r, c->buf, NULL) == SP_OK);
            c->res->checks++;
            bool ok = sp_lang_accepts(c->lang, c->buf, n) &&
                      (!c->oracle || sp_oracle_accepts(c->oracle, c->buf, n));
            if (!ok) fail_str(c, R_SAMPLE, c->buf, n, "sample is not a member");
        }
    }
}

/* Compare two strings of length n lexicographically. */
static int cmp_n(const int *a, const int *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
}

/* Chi-square at the longest enumerated length with 10..200 members. */
static void check_uniformity(checker *c, const sp_check_options *o, gsl_rng *r)
{
    size_t n = SIZE_MAX;
    for (size_t len = c->res->enumerated_to + 1; len-- > 0;) {
        long double cnt = sp_lang_count(c->lang, len);
        if (cnt >= 10 && cnt <= 200) {
            n = len;
            break;
        }
    }
    if (n == SIZE_MAX || n == 0) return;
    size_t m = (size_t)sp_lang_count(c->lang, n), found = 0;
    int *members = sp_malloc(m * n, sizeof *members);
    int *s = c->buf;
    memset(s, 0, n * sizeof *s);
    do {
        if (sp_lang_accepts(c->lang, s, n) && found < m) memcpy(members + n * found++, s, n * sizeof *s);
    } while (next_string(s, n, c->k));
    SP_ASSERT(found == m);
    size_t *freq = sp_calloc(m, sizeof *freq), draws = o->chisq_draws * m;
    for (size_t d = 0; d < draws; d++) {
        SP_ASSERT(sp_lang_sample(c->lang, n, r, s, NULL) == SP_OK);
        size_t lo = 0, hi = m;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (cmp_n(members + mid * n, s, n) < 0) lo = mid + 1;
            else hi = mid;
        }
        if (lo < m && cmp_n(members + lo * n, s, n) == 0) freq[lo]++;
    }
    double expect = (double)draws / (double)m, chi = 0;
    for (size_t i = 0; i < m; i++) chi += ((double)freq[i] - expect) * ((double)freq[i] - expect) / expect;
    c->res->chisq_p = gsl_cdf_chisq_Q(chi, (double)(m - 1));
    c->res->chisq_length = n;
    c->res->chisq_members = m;
    c->res->checks++;
    if (c->res->chisq_p < 1e-4) {
        c->res->failures++;
        fprintf(c->log, "  FAIL uniformity at length %zu: chi-square p = %.3g over %zu members\n", n,
                c->res->chisq_p, m);
    }
    free(freq);
    free(members);
}

int sp_check_lang(sp_lang *lang, const sp_check_options *opts, FILE *log, sp_check_result *res,
                  sp_error *err)
{
    memset(res, 0, sizeof *res);
    res->chisq_p = -1;
    size_t top = opts->max_length > 100 ? opts->max_length : 100;
    int status = sp_lang_prepare(lang, top, err);
    if (status) return status;
    checker c = {.lang = lang, .log = log, .res = res, .k = sp_lang_alphabet_size(lang)};
    status = sp_oracle_new(lang, &c.oracle, err);
    if (status) return status;
    res->oracle = c.oracle ? sp_oracle_name(c.oracle) : NULL;
    c.valid = sp_calloc(c.k, sizeof *c.valid);
    c.valid2 = sp_calloc(c.k, sizeof *c.valid2);
    c.buf = sp_calloc(top + 2, sizeof *c.buf);
    gsl_rng *r = sp_rng_new(opts->seed);

    check_enumeration(&c, opts);
    check_samples(&c, opts, r);
    check_uniformity(&c, opts, r);

    gsl_rng_free(r);
    free(c.buf);
    free(c.valid2);
    free(c.valid);
    sp_oracle_destroy(c.oracle);
    return SP_OK;
}
