/* The cfg kind: context-free grammars. Loading reads the rules and checks the grammar (undefined,
 * unproductive, unreachable, then infinitely ambiguous and, up to a budget, ambiguous through
 * cfg_count.c and cfg_ambig.c); membership and next symbols use Earley parsing. */
#include "cfg.h"
#include "satprobe/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_NONTERMINALS = 1000,
    MAX_ALTERNATIVES = 10000,
    MAX_ALT_SYMBOLS = 64,
};

static const char *const cfg_keys[] = {"start", "rules", "ambiguous", NULL};

/* An Earley parser and the symbols fed to it, fed[0..sp_earley_length(e)); the last one may
 * have made the prefix dead, after which nothing more is fed. */
struct sp_cfg_parse {
    sp_earley *e;
    int *fed; /* [cap] */
    size_t cap;
};

static void cfg_destroy(void *impl)
{
    sp_cfg *c = impl;
    if (c->parse) {
        sp_earley_destroy(c->parse->e);
        free(c->parse->fed);
        free(c->parse);
    }
    sp_cfg_grammar_free(&c->g);
    free(c->row_at);
    free(c->next_nt);
    free(c->row_alt);
    free(c->row_pos);
    free(c->order);
    free(c->tab);
    free(c->stack);
    free(c);
}

/* ---- operations ------------------------------------------------------------------------- */

/* Parse p[0..n) with the kept parser: go back to the longest prefix shared with what it parsed
 * last (sp_earley_truncate keeps the sets of that prefix) and feed only the rest, so a walk
 * along a string costs one feed per step instead of a parse from scratch per call. Returns
 * whether p is viable.
 *
 * accepts() and next() get a const sp_lang, hence a const sp_cfg; the const covers the pointer
 * c->parse, not the parse it points to, which they update. That is sound because a language is
 * used by one thread at a time (lang.h), and the parse never changes an answer: after the
 * truncation the parser holds exactly the sets a fresh parse of the shared prefix makes, and
 * feeding the rest makes those of a fresh parse of p. */
static bool parse(const sp_cfg *c, const int *p, size_t n)
{
    sp_cfg_parse *ps = c->parse;
    size_t len = sp_earley_length(ps->e), common = 0;
    while (common < len && common < n && ps->fed[common] == p[common]) common++;
    sp_earley_truncate(ps->e, common);
    bool viable = sp_earley_viable(ps->e);
    for (size_t i = common; i < n && viable; i++) {
        SP_GROW(ps->fed, ps->cap, i + 1);
        ps->fed[i] = p[i];
        viable = sp_earley_feed(ps->e, p[i]);
    }
    return viable;
}

static bool cfg_accepts(const sp_lang *lang, const int *s, size_t n)
{
    const sp_cfg *c = lang->impl;
    return parse(c, s, n) && sp_earley_accepting(c->parse->e);
}

static bool cfg_next(const sp_lang *lang, const int *p, size_t n, bool *valid, bool *can_end)
{
    const sp_cfg *c = lang->impl;
    if (!parse(c, p, n)) return false;
    sp_earley_scannable(c->parse->e, valid);
    *can_end = sp_earley_accepting(c->parse->e);
    return true;
}

static const sp_lang_ops cfg_ops = {
    .accepts = cfg_accepts,
    .prepare = sp_cfg_prepare,
    .count = sp_cfg_count,
    .sample = sp_cfg_sample,
    .next = cfg_next,
    .destroy = cfg_destroy,
};

/* ---- loading ------------------------------------------------------------------------------ */

/* Name lookup while loading: alphabet symbols and rule names to their codes (a terminal's
 * index, or SP_CFG_NT(A)). Open addressing; the loader frees it. */
typedef struct names {
    const char **key;
    size_t *len;
    int *code;
    size_t cap;
} names;

static size_t name_hash(const char *s, size_t len, size_t cap)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 32)) & (cap - 1);
}

static bool names_find(const names *t, const char *s, size_t len, int *code)
{
    for (size_t h = name_hash(s, len, t->cap); t->key[h]; h = (h + 1) & (t->cap - 1))
        if (t->len[h] == len && memcmp(t->key[h], s, len) == 0) {
            *code = t->code[h];
            return true;
        }
    return false;
}

static void names_add(names *t, const char *s, size_t len, int code)
{
    size_t h = name_hash(s, len, t->cap);
    while (t->key[h]) h = (h + 1) & (t->cap - 1);
    t->key[h] = s;
    t->len[h] = len;
    t->code[h] = code;
}

typedef struct loader {
    sp_lang *lang;
    const sp_yaml_doc *doc;
    sp_cfg *c;
    sp_error *err;
    const sp_yaml_node **rule_key; /* [nnt] */
    names names;
} loader;

static bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

/* Read the rule names and count the alternatives. */
static int read_rule_names(loader *ld, const sp_yaml_node *rules, size_t *nalt)
{
    const sp_yaml_doc *doc = ld->doc;
    sp_lang *lang = ld->lang;
    sp_cfg_grammar *g = &ld->c->g;
    if (rules->n == 0) return sp_yaml_error(ld->err, doc, rules, "rules is empty: a grammar needs at least one rule");
    if (rules->n > MAX_NONTERMINALS)
        return sp_yaml_error(ld->err, doc, rules->items[2 * MAX_NONTERMINALS],
                             "too many rules: a grammar may have at most %d nonterminals",
                             MAX_NONTERMINALS);
    g->nnt = rules->n;
    ld->rule_key = sp_calloc(g->nnt, sizeof *ld->rule_key);
    size_t cap = 16;
    while (cap < 2 * (lang->k + g->nnt)) cap *= 2;
    ld->names.cap = cap;
    ld->names.key = sp_calloc(cap, sizeof *ld->names.key);
    ld->names.len = sp_calloc(cap, sizeof *ld->names.len);
    ld->names.code = sp_calloc(cap, sizeof *ld->names.code);
    for (size_t a = 0; a < lang->k; a++)
        names_add(&ld->names, lang->symbols[a], strlen(lang->symbols[a]), (int)a);
    *nalt = 0;
    for (size_t i = 0; i < g->nnt; i++) {
        const sp_yaml_node *key = rules->items[2 * i], *val = rules->items[2 * i + 1];
        const char *name;
        int code;
        ld->rule_key[i] = key;
        if (sp_yaml_string(doc, key, "a rule name", &name, ld->err)) return SP_EINPUT;
        if (key->len == 0) return sp_yaml_error(ld->err, doc, key, "a rule name is empty");
        for (size_t b = 0; b < key->len; b++)
            if (is_space(name[b]))
                return sp_yaml_error(ld->err, doc, key,
                                     "rule name '%s' contains white space (symbols in "
                                     "alternatives are separated by spaces)",
                                     name);
        if (names_find(&ld->names, name, key->len, &code))
            return sp_yaml_error(ld->err, doc, key,
                                 "rule name '%s' is also an alphabet symbol; nonterminals must "
                                 "differ from terminals",
                                 name);
        names_add(&ld->names, name, key->len, SP_CFG_NT(i));
        size_t here;
        if (val->type == SP_YAML_SEQ) here = val->n;
        else if (val->type == SP_YAML_SCALAR && !sp_yaml_is_null(val)) here = 1;
        else
            return sp_yaml_error(ld->err, doc, val,
                                 "rule '%s' must be a list of alternatives or a single "
                                 "alternative, not %s (write \"\" for the empty string)",
                                 name, sp_yaml_type_name(val));
        if (here == 0)
            return sp_yaml_error(ld->err, doc, val,
                                 "rule '%s' has no alternatives (write \"\" for the empty string)",
                                 name);
        if (*nalt + here > MAX_ALTERNATIVES)
            return sp_yaml_error(ld->err, doc,
                                 val->type == SP_YAML_SEQ ? val->items[MAX_ALTERNATIVES - *nalt]
                                                          : val,
                                 "too many alternatives: a grammar may have at most %d",
                                 MAX_ALTERNATIVES);
        *nalt += here;
    }
    return SP_OK;
}

/* Split one alternative into symbols and append them to the grammar. */
static int read_alternative(loader *ld, size_t lhs, const sp_yaml_node *node, size_t *syms_cap)
{
    const sp_yaml_doc *doc = ld->doc;
    sp_cfg_grammar *g = &ld->c->g;
    const char *text;
    if (node->type != SP_YAML_SCALAR || sp_yaml_is_null(node))
        return sp_yaml_error(ld->err, doc, node,
                             "an alternative of rule '%s' must be a string of space-separated "
                             "symbols, not %s (write \"\" for the empty string; quote a "
                             "symbol such as ~)",
                             ld->rule_key[lhs]->str, sp_yaml_type_name(node));
    if (sp_yaml_string(doc, node, "an alternative", &text, ld->err)) return SP_EINPUT;
    size_t j = g->nalt, count = 0, off = g->alt_off[j];
    for (size_t i = 0; i < node->len;) {
        if (is_space(text[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < node->len && !is_space(text[i])) i++;
        int code;
        if (count == MAX_ALT_SYMBOLS)
            return sp_yaml_error_at(ld->err, doc, node, start,
                                    "alternative has more than %d symbols", MAX_ALT_SYMBOLS);
        if (!names_find(&ld->names, text + start, i - start, &code))
            return sp_yaml_error_at(ld->err, doc, node, start,
                                "undefined nonterminal '%.*s' (neither a rule name nor an "
                                "alphabet symbol)",
                                (int)(i - start), text + start);
        SP_GROW(g->sym, *syms_cap, off + count + 1);
        g->sym[off + count++] = code;
    }
    g->alt_lhs[j] = lhs;
    g->alt_off[j + 1] = off + count;
    g->nalt++;
    return SP_OK;
}

static int read_rules(loader *ld, const sp_yaml_node *root)
{
    const sp_yaml_doc *doc = ld->doc;
    sp_cfg_grammar *g = &ld->c->g;
    const sp_yaml_node *rules;
    if (sp_yaml_require(doc, root, "rules", &rules, ld->err) ||
        sp_yaml_expect(doc, rules, SP_YAML_MAP, "rules", ld->err))
        return SP_EINPUT;
    size_t nalt = 0;
    if (read_rule_names(ld, rules, &nalt)) return SP_EINPUT;
    g->k = ld->lang->k;
    g->nt_alt = sp_malloc(g->nnt + 1, sizeof *g->nt_alt);
    g->alt_lhs = sp_malloc(nalt, sizeof *g->alt_lhs);
    g->alt_off = sp_malloc(nalt + 1, sizeof *g->alt_off);
    g->alt_off[0] = 0;
    size_t syms_cap = 0;
    for (size_t a = 0; a < g->nnt; a++) {
        const sp_yaml_node *val = rules->items[2 * a + 1];
        g->nt_alt[a] = g->nalt;
        if (val->type == SP_YAML_SEQ) {
            for (size_t i = 0; i < val->n; i++)
                if (read_alternative(ld, a, val->items[i], &syms_cap)) return SP_EINPUT;
        } else if (read_alternative(ld, a, val, &syms_cap)) {
            return SP_EINPUT;
        }
    }
    g->nt_alt[g->nnt] = g->nalt;
    SP_ASSERT(g->nalt == nalt);
    if (!g->sym) g->sym = sp_malloc(1, sizeof *g->sym);
    return SP_OK;
}

static int read_start(loader *ld, const sp_yaml_node *root)
{
    const sp_yaml_node *node = sp_yaml_get(root, "start");
    sp_cfg_grammar *g = &ld->c->g;
    g->start = 0;
    if (!node || sp_yaml_is_null(node)) return SP_OK;
    const char *s;
    int code;
    if (sp_yaml_string(ld->doc, node, "start", &s, ld->err)) return SP_EINPUT;
    if (!names_find(&ld->names, s, node->len, &code))
        return sp_yaml_error(ld->err, ld->doc, node, "start symbol '%s' is not a rule name", s);
    if (!SP_CFG_IS_NT(code))
        return sp_yaml_error(ld->err, ld->doc, node,
                             "start symbol '%s' is an alphabet symbol; it must be a rule name", s);
    g->start = SP_CFG_NT_INDEX(code);
    return SP_OK;
}

/* Least fixed point over the alternatives: A is marked once one of its alternatives has all its
 * nonterminals marked (and, for nullable, no terminal). Linear in the grammar size: each
 * alternative keeps the number of its nonterminal occurrences not yet marked. */
static void mark_derivable(const sp_cfg_grammar *g, bool need_no_terminals, bool *mark)
{
    size_t nsym = g->alt_off[g->nalt];
    size_t *pending = sp_calloc(g->nalt, sizeof *pending);
    size_t *uses_off = sp_calloc(g->nnt + 1, sizeof *uses_off);
    size_t *uses = sp_malloc(nsym ? nsym : 1, sizeof *uses);
    size_t *queue = sp_malloc(g->nnt, sizeof *queue);
    bool *blocked = sp_calloc(g->nalt, sizeof *blocked);
    size_t head = 0, tail = 0;
    for (size_t j = 0; j < g->nalt; j++)
        for (size_t i = g->alt_off[j]; i < g->alt_off[j + 1]; i++) {
            if (SP_CFG_IS_NT(g->sym[i])) {
                pending[j]++;
                uses_off[SP_CFG_NT_INDEX(g->sym[i]) + 1]++;
            } else if (need_no_terminals) {
                blocked[j] = true;
            }
        }
    for (size_t a = 0; a < g->nnt; a++) uses_off[a + 1] += uses_off[a];
    size_t *fill = sp_malloc(g->nnt + 1, sizeof *fill);
    memcpy(fill, uses_off, (g->nnt + 1) * sizeof *fill);
    for (size_t j = 0; j < g->nalt; j++)
        for (size_t i = g->alt_off[j]; i < g->alt_off[j + 1]; i++)
            if (SP_CFG_IS_NT(g->sym[i])) uses[fill[SP_CFG_NT_INDEX(g->sym[i])]++] = j;
    for (size_t a = 0; a < g->nnt; a++) mark[a] = false;
    for (size_t j = 0; j < g->nalt; j++)
        if (!blocked[j] && pending[j] == 0 && !mark[g->alt_lhs[j]]) {
            mark[g->alt_lhs[j]] = true;
            queue[tail++] = g->alt_lhs[j];
        }
    while (head < tail) {
        size_t b = queue[head++];
        for (size_t u = uses_off[b]; u < uses_off[b + 1]; u++) {
            size_t j = uses[u];
            if (--pending[j] == 0 && !blocked[j] && !mark[g->alt_lhs[j]]) {
                mark[g->alt_lhs[j]] = true;
                queue[tail++] = g->alt_lhs[j];
            }
        }
    }
    free(pending);
    free(uses_off);
    free(uses);
    free(queue);
    free(blocked);
    free(fill);
}

/* Every nonterminal must derive some string and be reachable from the start symbol. */
static int check_reduced(loader *ld)
{
    sp_cfg_grammar *g = &ld->c->g;
    bool *mark = sp_malloc(g->nnt, sizeof *mark);
    size_t *queue = sp_malloc(g->nnt, sizeof *queue), head = 0, tail = 0;
    int status = SP_OK;
    mark_derivable(g, false, mark);
    if (!mark[g->start]) {
        status = sp_yaml_error(ld->err, ld->doc, ld->rule_key[g->start],
                               "the language has no strings: the start symbol '%s' derives no "
                               "finite string",
                               ld->rule_key[g->start]->str);
        goto done;
    }
    for (size_t a = 0; a < g->nnt; a++)
        if (!mark[a]) {
            status = sp_yaml_error(ld->err, ld->doc, ld->rule_key[a],
                                   "nonterminal '%s' is unproductive (derives no finite string)",
                                   ld->rule_key[a]->str);
            goto done;
        }
    for (size_t a = 0; a < g->nnt; a++) mark[a] = false;
    mark[g->start] = true;
    queue[tail++] = g->start;
    while (head < tail) {
        size_t a = queue[head++];
        for (size_t i = g->alt_off[g->nt_alt[a]]; i < g->alt_off[g->nt_alt[a + 1]]; i++)
            if (SP_CFG_IS_NT(g->sym[i]) && !mark[SP_CFG_NT_INDEX(g->sym[i])]) {
                mark[SP_CFG_NT_INDEX(g->sym[i])] = true;
                queue[tail++] = SP_CFG_NT_INDEX(g->sym[i]);
            }
    }
    for (size_t a = 0; a < g->nnt; a++)
        if (!mark[a]) {
            status = sp_yaml_error(ld->err, ld->doc, ld->rule_key[a],
                                   "nonterminal '%s' is unreachable from the start symbol '%s'",
                                   ld->rule_key[a]->str, ld->rule_key[g->start]->str);
            goto done;
        }
    g->nullable = sp_malloc(g->nnt, sizeof *g->nullable);
    mark_derivable(g, true, g->nullable);
done:
    free(mark);
    free(queue);
    return status;
}

static int read_ambiguous(loader *ld, const sp_yaml_node *root, bool *allow)
{
    const sp_yaml_node *node = sp_yaml_get(root, "ambiguous");
    *allow = false;
    if (!node || sp_yaml_is_null(node)) return SP_OK;
    const char *s;
    if (sp_yaml_string(ld->doc, node, "ambiguous", &s, ld->err)) return SP_EINPUT;
    if (strcmp(s, "allow") == 0) *allow = true;
    else if (strcmp(s, "error") != 0)
        return sp_yaml_error(ld->err, ld->doc, node,
                             "ambiguous must be 'allow' (count and sample derivations) or "
                             "'error' (the default: reject an ambiguous grammar), not '%s'",
                             s);
    return SP_OK;
}

int sp_cfg_load(sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *root, sp_error *err)
{
    if (sp_lang_check_keys(lang, doc, root, cfg_keys, err)) return SP_EINPUT;
    sp_cfg *c = sp_calloc(1, sizeof *c);
    c->max_work = SP_CFG_MAX_WORK;
    c->max_table_bytes = SP_CFG_MAX_TABLE_BYTES;
    lang->ops = &cfg_ops;
    lang->impl = c;
    loader ld = {.lang = lang, .doc = doc, .c = c, .err = err};
    bool allow = false;
    int status = SP_EINPUT;
    if (read_rules(&ld, root) || read_start(&ld, root) || read_ambiguous(&ld, root, &allow) ||
        check_reduced(&ld))
        goto done;
    sp_cfg_grammar_index(&c->g);
    sp_cfg_make_rows(c);
    if (sp_cfg_order_columns(c, doc, ld.rule_key, err)) goto done;
    lang->derivations = allow;
    if (!allow && sp_cfg_check_ambiguity(lang, doc, ld.rule_key[c->g.start], err)) goto done;
    c->parse = sp_calloc(1, sizeof *c->parse);
    c->parse->e = sp_earley_new(&c->g);
    status = SP_OK;
done:
    free(ld.rule_key);
    free(ld.names.key);
    free(ld.names.len);
    free(ld.names.code);
    return status;
}
