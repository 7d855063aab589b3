/* Second routes to membership and prefix viability: PCRE2 for regex: languages, the DFA as
 * written (with its own reachability) for dfa: languages. */
#include "satprobe/oracle.h"
#include "regular.h"
#include "satprobe/alloc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

/* pcre2_match's backtracking can explode on nested quantifiers; past this many steps the
 * oracle asks pcre2_dfa_match, PCRE2's automaton-based matcher, instead. */
#define ORACLE_MATCH_LIMIT 1000000

struct sp_oracle {
    const sp_lang *lang;
    const sp_regular *g;
    /* regex: */
    pcre2_code *whole;  /* the regex, anchored at both ends */
    pcre2_code *prefix; /* (?:regex\E)\z anchored at the start, for partial matching */
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    int *ws;            /* [nws] pcre2_dfa_match workspace */
    size_t nws;
    unsigned char *buf; /* [cap] the subject: one byte per symbol */
    size_t cap;
    /* dfa: */
    bool *coreach;      /* [written.n] the state reaches an accepting state */
};

/* Which written states reach an accepting state: a worklist search backwards along the written
 * transitions from the accepting states. Deliberately separate from the trimming in dfa.c. */
static bool *coreachable(const sp_dfa *w)
{
    size_t n = w->n, k = w->k;
    bool *co = sp_calloc(n, sizeof *co);
    /* Sources of the transitions into each state: src[roff[t] .. roff[t + 1]). */
    size_t *roff = sp_calloc(n + 1, sizeof *roff);
    for (size_t i = 0; i < n * k; i++)
        if (w->delta[i] >= 0) roff[w->delta[i] + 1]++;
    for (size_t q = 0; q < n; q++) roff[q + 1] += roff[q];
    size_t *src = sp_malloc(roff[n], sizeof *src), *fill = sp_malloc(n + 1, sizeof *fill);
    memcpy(fill, roff, (n + 1) * sizeof *fill);
    for (size_t i = 0; i < n * k; i++)
        if (w->delta[i] >= 0) src[fill[w->delta[i]]++] = i / k;
    size_t *work = sp_malloc(n, sizeof *work), m = 0;
    for (size_t q = 0; q < n; q++)
        if (w->accept[q]) {
            co[q] = true;
            work[m++] = q;
        }
    for (size_t h = 0; h < m; h++)
        for (size_t j = roff[work[h]]; j < roff[work[h] + 1]; j++)
            if (!co[src[j]]) {
                co[src[j]] = true;
                work[m++] = src[j];
            }
    free(work);
    free(roff);
    free(src);
    free(fill);
    return co;
}

int sp_oracle_new(const sp_lang *lang, sp_oracle **out, sp_error *err)
{
    *out = NULL;
    const sp_regular *g = sp_regular_of(lang);
    if (!g) return SP_OK;
    sp_oracle *o = sp_calloc(1, sizeof *o);
    o->lang = lang;
    o->g = g;
    if (!g->regex) {
        o->coreach = coreachable(&g->written);
        *out = o;
        return SP_OK;
    }
    int code;
    PCRE2_SIZE off;
    o->whole = pcre2_compile((PCRE2_SPTR)g->regex, g->regex_len,
                             PCRE2_ANCHORED | PCRE2_ENDANCHORED, &code, &off, NULL);
    /* PCRE2 refuses partial matching with PCRE2_ENDANCHORED, so the prefix pattern ends in \z
     * instead; the \E closes a \Q the regex may leave open. */
    char *wrapped = sp_malloc(g->regex_len + 16, 1);
    memcpy(wrapped, "(?:", 3);
    memcpy(wrapped + 3, g->regex, g->regex_len);
    memcpy(wrapped + 3 + g->regex_len, "\\E)\\z", 5);
    if (o->whole)
        o->prefix = pcre2_compile((PCRE2_SPTR)wrapped, g->regex_len + 8, PCRE2_ANCHORED, &code,
                                  &off, NULL);
    free(wrapped);
    if (!o->whole || !o->prefix) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
            strcpy((char *)msg, "unknown error");
        sp_oracle_destroy(o);
        return sp_error_set(err, SP_EINPUT, lang->file, 0, 0, "PCRE2 cannot compile the regex: %s",
                            (char *)msg);
    }
    o->md = pcre2_match_data_create(16, NULL);
    o->mctx = pcre2_match_context_create(NULL);
    if (!o->md || !o->mctx) sp_panic(__FILE__, __LINE__, "out of memory (PCRE2)");
    pcre2_set_match_limit(o->mctx, ORACLE_MATCH_LIMIT);
    o->nws = 1000;
    o->ws = sp_malloc(o->nws, sizeof *o->ws);
    *out = o;
    return SP_OK;
}

void sp_oracle_destroy(sp_oracle *o)
{
    if (!o) return;
    pcre2_code_free(o->whole);
    pcre2_code_free(o->prefix);
    pcre2_match_data_free(o->md);
    pcre2_match_context_free(o->mctx);
    free(o->ws);
    free(o->buf);
    free(o->coreach);
    free(o);
}

const char *sp_oracle_name(const sp_oracle *o) { return o->g->regex ? "PCRE2" : "written DFA"; }

static void to_bytes(sp_oracle *o, const int *s, size_t n)
{
    SP_GROW(o->buf, o->cap, n + 1);
    for (size_t i = 0; i < n; i++) {
        SP_ASSERT(s[i] >= 0 && (size_t)s[i] < o->lang->k);
        o->buf[i] = o->g->sym_byte[s[i]];
    }
}

/* Match the subject o->buf[0..n): 1 for a match, 0 for none, PCRE2_ERROR_PARTIAL for a partial
 * match (with PCRE2_PARTIAL_HARD). `code` is o->whole for membership, o->prefix for viability.
 *
 * When backtracking hits its limit, pcre2_dfa_match takes over, always on o->prefix: it reports
 * matches that stop short of the end even with PCRE2_ENDANCHORED, while the \z in o->prefix
 * is an assertion it honours; the match must still end at n. If both matchers give up the
 * answer is "no match", which a cross-check then reports as a mismatch. */
static int run(sp_oracle *o, pcre2_code *code, size_t n, uint32_t options)
{
    int rc = pcre2_match(code, o->buf, n, 0, options, o->md, o->mctx);
    if (rc >= 0) return 1;
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc == PCRE2_ERROR_PARTIAL) return rc;
    for (;;) {
        rc = pcre2_dfa_match(o->prefix, o->buf, n, 0, options, o->md, NULL, o->ws, o->nws);
        if (rc != PCRE2_ERROR_DFA_WSSIZE || o->nws >= ((size_t)1 << 24)) break;
        o->nws *= 4;
        o->ws = sp_realloc(o->ws, o->nws, sizeof *o->ws);
    }
    if (rc == PCRE2_ERROR_PARTIAL) return rc;
    /* rc == 0: more matches than the ovector holds; the first (longest) is still there. */
    return rc >= 0 && pcre2_get_ovector_pointer(o->md)[1] == n;
}

/* Run the written DFA; the state reached or -1. */
static int run_written(const sp_dfa *w, const int *s, size_t n)
{
    int q = w->start;
    for (size_t i = 0; i < n && q >= 0; i++) q = w->delta[(size_t)q * w->k + (size_t)s[i]];
    return q;
}

bool sp_oracle_accepts(sp_oracle *o, const int *s, size_t n)
{
    if (!o->g->regex) {
        int q = run_written(&o->g->written, s, n);
        return q >= 0 && o->g->written.accept[q];
    }
    to_bytes(o, s, n);
    return run(o, o->whole, n, 0) > 0;
}

bool sp_oracle_viable(sp_oracle *o, const int *p, size_t n)
{
    if (!o->g->regex) {
        int q = run_written(&o->g->written, p, n);
        return q >= 0 && o->coreach[q];
    }
    if (n == 0) {
        /* PCRE2 reports a partial match only after inspecting a character, so the empty prefix
         * is viable iff the empty string matches or some one-symbol prefix is viable. */
        if (sp_oracle_accepts(o, p, 0)) return true;
        for (size_t a = 0; a < o->lang->k; a++) {
            int s = (int)a;
            if (sp_oracle_viable(o, &s, 1)) return true;
        }
        return false;
    }
    to_bytes(o, p, n);
    return run(o, o->prefix, n, PCRE2_PARTIAL_HARD) != 0;
}
