/* Shared helpers for the test executables. */
#include "testutil.h"

#include "sp_config.h"
#include "satprobe/alloc.h"
#include "satprobe/probe.h"
#include "satprobe/rng.h"

#include <gsl/gsl_cdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tu_src_path(const char *rel)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", SP_SOURCE_DIR, rel);
    return buf;
}

sp_lang *tu_load_path(const char *path)
{
    sp_lang *lang = NULL;
    sp_error err;
    sp_error_clear(&err);
    if (sp_lang_load(path, &lang, &err)) {
        sp_error_print(&err, stderr);
        fail_msg("could not load %s", path);
    }
    return lang;
}

sp_lang *tu_load_zoo(const char *name)
{
    char rel[512];
    snprintf(rel, sizeof rel, "grammars/%s.yaml", name);
    return tu_load_path(tu_src_path(rel));
}

sp_lang *tu_load_text(const char *yaml)
{
    sp_lang *lang = NULL;
    sp_error err;
    sp_error_clear(&err);
    if (sp_lang_load_buffer("<test>", yaml, strlen(yaml), &lang, &err)) {
        sp_error_print(&err, stderr);
        fail_msg("could not load the test grammar");
    }
    return lang;
}

void tu_expect_error(const char *yaml, int line, int col, const char *needle)
{
    sp_lang *lang = NULL;
    sp_error err;
    sp_error_clear(&err);
    int status = sp_lang_load_buffer("<test>", yaml, strlen(yaml), &lang, &err);
    if (status == SP_OK) {
        sp_lang_destroy(lang);
        fail_msg("expected an error containing '%s', but the grammar loaded", needle);
    }
    assert_null(lang);
    if (!strstr(err.msg, needle) || err.line != line || (col && err.col != col)) {
        sp_error_print(&err, stderr);
        fail_msg("expected an error at %d:%d containing '%s'", line, col, needle);
    }
}

bool tu_next_string(int *s, size_t n, size_t k)
{
    for (size_t i = n; i-- > 0;) {
        if ((size_t)++s[i] < k) return true;
        s[i] = 0;
    }
    return false;
}

size_t tu_pow_capped(size_t k, size_t n, size_t limit)
{
    size_t p = 1;
    for (size_t i = 0; i < n; i++) {
        if (p > limit / k) return SIZE_MAX;
        p *= k;
    }
    return p;
}

size_t tu_parse(const sp_lang *lang, const char *text, int *syms, size_t cap)
{
    int *buf = NULL;
    size_t bcap = 0, n = 0;
    sp_error err;
    sp_error_clear(&err);
    if (sp_lang_parse_string(lang, text, strlen(text), &buf, &bcap, &n, &err)) {
        sp_error_print(&err, stderr);
        fail_msg("cannot parse '%s'", text);
    }
    assert_true(n <= cap);
    if (n) memcpy(syms, buf, n * sizeof *syms);
    free(buf);
    return n;
}

/* Members of length n in lexicographic order, each n ints, concatenated. */
static int *enumerate_members(sp_lang *lang, size_t n, size_t *count)
{
    size_t k = sp_lang_alphabet_size(lang);
    size_t total = tu_pow_capped(k, n, (size_t)1 << 24);
    assert_true(total != SIZE_MAX);
    int *s = sp_calloc(n ? n : 1, sizeof *s);
    int *out = NULL;
    size_t cap = 0, m = 0;
    do {
        if (sp_lang_accepts(lang, s, n)) {
            SP_GROW(out, cap, (m + 1) * (n ? n : 1));
            if (n) memcpy(out + m * n, s, n * sizeof *s);
            m++;
        }
    } while (n > 0 && tu_next_string(s, n, k));
    free(s);
    *count = m;
    return out;
}

/* Compare two strings of length n symbol by symbol (lexicographic order). */
static int cmp_n(const int *a, const int *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
}

/* Index of s among the m sorted members, or SIZE_MAX. */
static size_t find_member(const int *members, size_t m, size_t n, const int *s)
{
    size_t lo = 0, hi = m;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cmp_n(members + mid * n, s, n) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo < m && cmp_n(members + lo * n, s, n) == 0 ? lo : SIZE_MAX;
}

double tu_chisq_uniform(sp_lang *lang, size_t n, size_t draws, unsigned long seed, size_t *members)
{
    size_t m;
    int *all = enumerate_members(lang, n, &m);
    *members = m;
    assert_true(m >= 2);
    assert_true((long double)m == sp_lang_count(lang, n));
    size_t *freq = sp_calloc(m, sizeof *freq);
    int *s = sp_calloc(n ? n : 1, sizeof *s);
    gsl_rng *r = sp_rng_new(seed);
    sp_error err;
    for (size_t d = 0; d < draws; d++) {
        assert_int_equal(sp_lang_sample(lang, n, r, s, &err), SP_OK);
        size_t idx = find_member(all, m, n, s);
        if (idx == SIZE_MAX) fail_msg("sample %zu of length %zu is not a member", d, n);
        freq[idx]++;
    }
    double expect = (double)draws / (double)m, chi = 0;
    for (size_t i = 0; i < m; i++) {
        double d = (double)freq[i] - expect;
        chi += d * d / expect;
    }
    gsl_rng_free(r);
    free(s);
    free(freq);
    free(all);
    return gsl_cdf_chisq_Q(chi, (double)(m - 1));
}

static char tmp_dir[96];

int tu_tmp_dir_make(const char *prefix)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/sp-%s-XXXXXX", prefix);
    return mkdtemp(tmp_dir) ? 0 : -1;
}

int tu_tmp_dir_remove(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    return system(cmd);
}

const char *tu_tmp_dir(void) { return tmp_dir; }

const char *tu_tmp_path(const char *name)
{
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", tmp_dir, name);
    return p[k];
}

struct sp_probe *tu_parse_probe(const char *yaml)
{
    sp_probe *p = NULL;
    sp_error err;
    sp_error_clear(&err);
    if (sp_probe_parse(yaml, strlen(yaml), "<probe>", SP_SOURCE_DIR, &p, &err)) {
        sp_error_print(&err, stderr);
        fail_msg("the probe did not parse");
    }
    return p;
}
