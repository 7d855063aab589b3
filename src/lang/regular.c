/* The regular kind: a regex (compiled by satprobe, checked by PCRE2) or an explicit DFA, turned
 * into a minimal DFA that answers membership, next symbols, counts and samples. */
#include "regular.h"
#include "satprobe/alloc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const regular_keys[] = {"regex", "dfa", NULL};
static const char *const dfa_keys[] = {"start", "accept", "transitions", NULL};

static bool regular_accepts(const sp_lang *lang, const int *s, size_t n)
{
    const sp_regular *g = lang->impl;
    int q = sp_dfa_run(&g->dfa, s, n);
    return q >= 0 && g->dfa.accept[q];
}

static int regular_prepare(sp_lang *lang, size_t max_len, sp_error *err)
{
    sp_regular *g = lang->impl;
    return sp_dfa_prepare(&g->dfa, max_len, lang->file, err);
}

static long double regular_count(const sp_lang *lang, size_t n)
{
    const sp_regular *g = lang->impl;
    return sp_dfa_count(&g->dfa, n);
}

static void regular_sample(sp_lang *lang, size_t n, gsl_rng *r, int *out)
{
    sp_regular *g = lang->impl;
    sp_dfa_sample(&g->dfa, n, r, out);
}

/* Every state of the trimmed DFA reaches acceptance, so a defined move is a viable one. */
static bool regular_next(const sp_lang *lang, const int *p, size_t n, bool *valid, bool *can_end)
{
    const sp_regular *g = lang->impl;
    int q = sp_dfa_run(&g->dfa, p, n);
    if (q < 0) return false;
    for (size_t a = 0; a < g->dfa.k; a++) valid[a] = g->dfa.delta[(size_t)q * g->dfa.k + a] >= 0;
    *can_end = g->dfa.accept[q];
    return true;
}

static void regular_destroy(void *impl)
{
    sp_regular *g = impl;
    sp_dfa_free(&g->dfa);
    sp_dfa_free(&g->written);
    free(g->regex);
    free(g->sym_byte);
    free(g);
}

static const sp_lang_ops regular_ops = {
    .accepts = regular_accepts,
    .prepare = regular_prepare,
    .count = regular_count,
    .sample = regular_sample,
    .next = regular_next,
    .destroy = regular_destroy,
};

const sp_regular *sp_regular_of(const sp_lang *lang)
{
    return lang->ops == &regular_ops ? lang->impl : NULL;
}

/* ---- regex: ---- */

/* Error at byte `offset` of the regex scalar, with a hint when the offending byte is the line
 * break a literal block scalar keeps at its end. */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static int regex_error(sp_error *err, const sp_yaml_doc *doc, const sp_yaml_node *re, size_t offset,
                       const char *fmt, ...);

static int regex_error(sp_error *err, const sp_yaml_doc *doc, const sp_yaml_node *re, size_t offset,
                       const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bool kept_break = re->style == '|' && offset + 1 == re->len && re->str[offset] == '\n';
    return sp_yaml_error_at(err, doc, re, offset, "%s%s", msg,
                            kept_break ? " (a literal block scalar '|' keeps its final line break: "
                                         "write '|-')"
                                       : "");
}

/* Compile with PCRE2 as the oracle will (whole-string match, bytes). On failure fill err with
 * PCRE2's own message at its offset. */
static int pcre2_check(const sp_yaml_doc *doc, const sp_yaml_node *re, sp_error *err)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re->str, re->len,
                                  PCRE2_ANCHORED | PCRE2_ENDANCHORED, &code, &off, NULL);
    if (c) {
        pcre2_code_free(c);
        return SP_OK;
    }
    PCRE2_UCHAR msg[256];
    if (pcre2_get_error_message(code, msg, sizeof msg) < 0) strcpy((char *)msg, "unknown error");
    return regex_error(err, doc, re, off, "invalid regex: %s (PCRE2 error %d)", (char *)msg, code);
}

static int load_regex(sp_lang *lang, sp_regular *g, const sp_yaml_doc *doc,
                      const sp_yaml_node *root, const sp_yaml_node *re, sp_error *err)
{
    const char *text;
    if (sp_yaml_is_null(re))
        return sp_yaml_error(err, doc, re,
                             "regex: is empty; write regex: \"\" for the language of the empty "
                             "string only");
    if (sp_yaml_string(doc, re, "regex", &text, err)) return SP_EINPUT;

    /* A regex matches characters, so every symbol must be one byte. */
    const sp_yaml_node *alpha = sp_yaml_get(root, "alphabet");
    int byte_sym[256];
    for (int b = 0; b < 256; b++) byte_sym[b] = -1;
    for (size_t i = 0; i < lang->k; i++) {
        size_t len = strlen(lang->symbols[i]);
        if (len != 1)
            return sp_yaml_error(err, doc, alpha->items[i],
                                 "alphabet symbol '%s' is %zu bytes long, but a regex: matches "
                                 "single characters; give a dfa: for multi-character symbols",
                                 lang->symbols[i], len);
        byte_sym[(unsigned char)lang->symbols[i][0]] = (int)i;
    }

    sp_nfa nfa;
    sp_regex_error e;
    if (sp_regex_compile(text, re->len, byte_sym, lang->k, &nfa, &e)) {
        /* Where our parser cannot read the regex, PCRE2's message is the authority. */
        if (e.fault == SP_REGEX_SYNTAX && pcre2_check(doc, re, err)) return SP_EINPUT;
        if (e.fault == SP_REGEX_SYNTAX)
            return regex_error(err, doc, re, e.offset,
                               "unsupported regex syntax: %s (PCRE2 accepts it, satprobe does "
                               "not)",
                               e.msg);
        return regex_error(err, doc, re, e.offset, "%s", e.msg);
    }
    if (pcre2_check(doc, re, err)) {
        sp_nfa_free(&nfa);
        return SP_EINPUT;
    }
    sp_dfa d;
    sp_dfa_build b = sp_dfa_from_nfa(&nfa, &d);
    sp_nfa_free(&nfa);
    if (b == SP_DFA_TOO_MANY_STATES)
        return regex_error(err, doc, re, 0,
                           "the regex needs more than %d DFA states (or more than %zu "
                           "transitions); simplify it",
                           SP_DFA_MAX_STATES, (size_t)SP_DFA_MAX_CELLS);
    if (b == SP_DFA_TOO_MUCH_WORK)
        return regex_error(err, doc, re, 0,
                           "the regex is too complex to compile to a DFA within %zu steps; "
                           "simplify it",
                           (size_t)SP_DFA_MAX_WORK);
    g->subset_states = d.n;
    sp_dfa_minimize(&d, &g->dfa);
    sp_dfa_free(&d);
    g->regex = sp_strndup(text, re->len);
    g->regex_len = re->len;
    g->sym_byte = sp_malloc(lang->k, 1);
    for (size_t i = 0; i < lang->k; i++) g->sym_byte[i] = (unsigned char)lang->symbols[i][0];
    if (g->dfa.n == 0)
        return sp_yaml_error(err, doc, re, "the regex matches no strings over the alphabet");
    return SP_OK;
}

/* ---- dfa: ---- */

/* State names to indices: open addressing over the transitions: keys. */
typedef struct names {
    const sp_yaml_node *const *keys; /* the map's items; key i at keys[2 * i] */
    int *slot;                       /* [cap] state index or -1 */
    size_t cap;
} names;

static size_t name_hash(const char *s, size_t len)
{
    size_t h = 5381;
    for (size_t i = 0; i < len; i++) h = h * 33 + (unsigned char)s[i];
    return h;
}

static int names_find(const names *t, const char *s, size_t len)
{
    for (size_t h = name_hash(s, len) & (t->cap - 1);; h = (h + 1) & (t->cap - 1)) {
        int i = t->slot[h];
        if (i < 0) return -1;
        const sp_yaml_node *k = t->keys[2 * (size_t)i];
        if (k->len == len && memcmp(k->str, s, len) == 0) return i;
    }
}

/* The state named by scalar `node` (error at node if it is not a state). */
static int state_at(const names *t, const sp_yaml_doc *doc, const sp_yaml_node *node,
                    const char *what, int *out, sp_error *err)
{
    const char *s;
    if (sp_yaml_string(doc, node, what, &s, err)) return SP_EINPUT;
    *out = names_find(t, s, node->len);
    if (*out < 0)
        return sp_yaml_error(err, doc, node,
                             "unknown state '%s' in %s (the states are the keys of "
                             "transitions:)",
                             s, what);
    return SP_OK;
}

static int load_dfa(sp_lang *lang, sp_regular *g, const sp_yaml_doc *doc, const sp_yaml_node *dn,
                    sp_error *err)
{
    const sp_yaml_node *start, *accept, *trans;
    if (sp_yaml_expect(doc, dn, SP_YAML_MAP, "dfa", err) ||
        sp_yaml_check_keys(doc, dn, dfa_keys, "dfa:", err) ||
        sp_yaml_require(doc, dn, "start", &start, err) ||
        sp_yaml_require(doc, dn, "accept", &accept, err) ||
        sp_yaml_expect(doc, accept, SP_YAML_SEQ, "accept", err) ||
        sp_yaml_require(doc, dn, "transitions", &trans, err) ||
        sp_yaml_expect(doc, trans, SP_YAML_MAP, "transitions", err))
        return SP_EINPUT;
    size_t n = trans->n, k = lang->k;
    if (n > SP_DFA_MAX_STATES)
        return sp_yaml_error(err, doc, trans, "the DFA has %zu states; at most %d are supported",
                             n, SP_DFA_MAX_STATES);
    if (n > 0 && n > SP_DFA_MAX_CELLS / k)
        return sp_yaml_error(err, doc, trans,
                             "the DFA has %zu states over %zu symbols; at most %zu state-symbol "
                             "pairs are supported",
                             n, k, (size_t)SP_DFA_MAX_CELLS);

    names t = {.keys = (const sp_yaml_node *const *)trans->items, .cap = 16};
    while (t.cap < 2 * n) t.cap *= 2;
    t.slot = sp_malloc(t.cap, sizeof *t.slot);
    for (size_t i = 0; i < t.cap; i++) t.slot[i] = -1;
    int status = SP_OK;
    for (size_t i = 0; i < n && !status; i++) {
        const sp_yaml_node *key = trans->items[2 * i];
        const char *s;
        status = sp_yaml_string(doc, key, "a state name", &s, err);
        if (status) break;
        /* YAML already rejects duplicate keys. */
        size_t h = name_hash(s, key->len) & (t.cap - 1);
        while (t.slot[h] >= 0) h = (h + 1) & (t.cap - 1);
        t.slot[h] = (int)i;
    }

    sp_dfa *w = &g->written;
    sp_dfa_init(w, n, k);
    /* In the order of the file: start, accept, then the moves. */
    if (!status) status = state_at(&t, doc, start, "start", &w->start, err);
    for (size_t i = 0; i < accept->n && !status; i++) {
        int q;
        status = state_at(&t, doc, accept->items[i], "accept", &q, err);
        if (!status && w->accept[q])
            status = sp_yaml_error(err, doc, accept->items[i],
                                   "state '%s' is listed twice in accept", accept->items[i]->str);
        if (!status) w->accept[q] = true;
    }
    for (size_t i = 0; i < n && !status; i++) {
        const sp_yaml_node *moves = trans->items[2 * i + 1];
        if (sp_yaml_is_null(moves)) continue; /* a state without moves */
        if (moves->type != SP_YAML_MAP) {
            status = sp_yaml_error(err, doc, moves,
                                   "the moves of state '%s' must be a mapping {symbol: state}, "
                                   "not %s",
                                   trans->items[2 * i]->str, sp_yaml_type_name(moves));
            break;
        }
        for (size_t j = 0; j < moves->n && !status; j++) {
            int a, q;
            status = sp_lang_symbol_at(lang, doc, moves->items[2 * j], &a, err);
            if (!status)
                status = state_at(&t, doc, moves->items[2 * j + 1], "transitions", &q, err);
            if (!status) w->delta[i * k + (size_t)a] = q;
        }
    }
    free(t.slot);
    if (status) return status;
    sp_dfa_minimize(w, &g->dfa);
    if (g->dfa.n == 0)
        return sp_yaml_error(err, doc, dn,
                             "the DFA has no strings: no accepting state is reachable from the "
                             "start state '%s'",
                             start->str);
    return SP_OK;
}

int sp_regular_load(sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *root, sp_error *err)
{
    if (sp_lang_check_keys(lang, doc, root, regular_keys, err)) return SP_EINPUT;
    const sp_yaml_node *re = sp_yaml_get(root, "regex"), *dn = sp_yaml_get(root, "dfa");
    if (re && dn) {
        /* Point at whichever of the two keys comes second. */
        const sp_yaml_node *second = NULL;
        for (size_t i = 0, seen = 0; i < root->n && !second; i++) {
            const char *key = root->items[2 * i]->str;
            if (strcmp(key, "regex") == 0 || strcmp(key, "dfa") == 0)
                if (seen++) second = root->items[2 * i];
        }
        return sp_yaml_error(err, doc, second, "give either regex: or dfa:, not both");
    }
    if (!re && !dn)
        return sp_yaml_error(err, doc, root,
                             "a regular language needs a regex: or a dfa: (exactly one of them)");
    if (lang->cls != SP_CLASS_REGULAR)
        return sp_yaml_error(err, doc, sp_yaml_get(root, "class"),
                             "class must be regular for kind: regular (finite automata recognize "
                             "regular languages), not %s",
                             sp_lang_class_name(lang->cls));
    lang->ops = &regular_ops;
    sp_regular *g = sp_calloc(1, sizeof *g);
    lang->impl = g;
    return re ? load_regex(lang, g, doc, root, re, err) : load_dfa(lang, g, doc, dn, err);
}
