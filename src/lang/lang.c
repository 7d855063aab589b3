/* The generic language layer: YAML loading of the common keys, dispatch to the kinds, argument
 * checks, on-demand count tables, and string parsing/printing. */
#include "lang_impl.h"
#include "satprobe/alloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const common_keys[] = {"name", "description", "source", "class", "alphabet",
                                          "kind", NULL};

static const char *const kind_names[] = {"regular", "dyck", "counter", "cfg"};
static const char *const class_names[] = {"regular", "counter", "context-free",
                                          "context-sensitive"};

const char *sp_lang_kind_name(sp_lang_kind kind) { return kind_names[kind]; }
const char *sp_lang_class_name(sp_lang_class cls) { return class_names[cls]; }

int sp_lang_check_keys(const sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *root,
                       const char *const *kind_keys, sp_error *err)
{
    const char *all[32];
    size_t n = 0;
    for (const char *const *k = common_keys; *k; k++) all[n++] = *k;
    for (const char *const *k = kind_keys; *k && n + 1 < sizeof all / sizeof *all; k++)
        all[n++] = *k;
    all[n] = NULL;
    char context[64];
    snprintf(context, sizeof context, "a %s language", kind_names[lang->kind]);
    return sp_yaml_check_keys(doc, root, all, context, err);
}

int sp_lang_symbol_at(const sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *node,
                      int *out, sp_error *err)
{
    const char *s;
    if (sp_yaml_string(doc, node, "a symbol", &s, err)) return SP_EINPUT;
    int i = sp_lang_symbol_index(lang, s, node->len);
    if (i < 0) return sp_yaml_error(err, doc, node, "symbol '%s' is not in the alphabet", s);
    *out = i;
    return SP_OK;
}

static int read_enum(const sp_yaml_doc *doc, const sp_yaml_node *root, const char *key,
                     const char *const *names, size_t count, int *out, sp_error *err)
{
    const sp_yaml_node *v;
    const char *s;
    if (sp_yaml_require(doc, root, key, &v, err) || sp_yaml_string(doc, v, key, &s, err))
        return SP_EINPUT;
    for (size_t i = 0; i < count; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return SP_OK;
        }
    char list[256] = "";
    for (size_t i = 0; i < count; i++) {
        strncat(list, names[i], sizeof list - strlen(list) - 1);
        if (i + 1 < count) strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    return sp_yaml_error(err, doc, v, "%s must be one of %s, not '%s'", key, list, s);
}

static int read_text(const sp_yaml_doc *doc, const sp_yaml_node *root, const char *key,
                     bool required, char **out, sp_error *err)
{
    const sp_yaml_node *v = sp_yaml_get(root, key);
    const char *s = "";
    if (required && sp_yaml_require(doc, root, key, &v, err)) return SP_EINPUT;
    if (v && !sp_yaml_is_null(v) && sp_yaml_string(doc, v, key, &s, err)) return SP_EINPUT;
    *out = sp_strdup(s);
    return SP_OK;
}

static int read_alphabet(sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *root,
                         sp_error *err)
{
    const sp_yaml_node *a;
    if (sp_yaml_require(doc, root, "alphabet", &a, err) ||
        sp_yaml_expect(doc, a, SP_YAML_SEQ, "alphabet", err))
        return SP_EINPUT;
    if (a->n == 0) return sp_yaml_error(err, doc, a, "the alphabet is empty");
    if (a->n > 1024) return sp_yaml_error(err, doc, a, "the alphabet has more than 1024 symbols");
    lang->symbols = sp_calloc(a->n, sizeof *lang->symbols);
    for (size_t i = 0; i < a->n; i++) {
        const sp_yaml_node *s = a->items[i];
        const char *text;
        if (sp_yaml_string(doc, s, "an alphabet symbol", &text, err)) return SP_EINPUT;
        if (s->len == 0) return sp_yaml_error(err, doc, s, "alphabet symbol %zu is empty", i + 1);
        for (size_t j = 0; j < s->len; j++)
            if (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r')
                return sp_yaml_error(err, doc, s,
                                     "alphabet symbol '%s' contains white space (symbols are "
                                     "separated by spaces in strings)",
                                     text);
        if (strcmp(text, "$") == 0)
            return sp_yaml_error(err, doc, s,
                                 "'$' cannot be a symbol: it marks the end of a string in "
                                 "next-symbol output");
        for (size_t j = 0; j < i; j++)
            if (strcmp(lang->symbols[j], text) == 0)
                return sp_yaml_error(err, doc, s, "duplicate alphabet symbol '%s' (also at %d:%d)",
                                     text, a->items[j]->line, a->items[j]->col);
        lang->symbols[i] = sp_strdup(text);
        lang->k = i + 1;
    }
    return SP_OK;
}

static int load_doc(sp_lang *lang, const sp_yaml_doc *doc, sp_error *err)
{
    const sp_yaml_node *root = doc->root;
    if (!root) return sp_error_set(err, SP_EINPUT, doc->file, 1, 1, "the file is empty");
    if (sp_yaml_expect(doc, root, SP_YAML_MAP, "a language file", err)) return SP_EINPUT;
    int kind = 0, cls = 0;
    if (read_enum(doc, root, "kind", kind_names, 4, &kind, err)) return SP_EINPUT;
    lang->kind = (sp_lang_kind)kind;
    if (read_text(doc, root, "name", true, &lang->name, err) ||
        read_text(doc, root, "description", true, &lang->description, err) ||
        read_text(doc, root, "source", false, &lang->source, err) ||
        read_enum(doc, root, "class", class_names, 4, &cls, err) ||
        read_alphabet(lang, doc, root, err))
        return SP_EINPUT;
    lang->cls = (sp_lang_class)cls;
    sp_error_clear(err);
    switch (lang->kind) {
    case SP_KIND_REGULAR: return sp_regular_load(lang, doc, root, err);
    case SP_KIND_DYCK: return sp_dyck_load(lang, doc, root, err);
    case SP_KIND_COUNTER: return sp_counter_load(lang, doc, root, err);
    case SP_KIND_CFG: return sp_cfg_load(lang, doc, root, err);
    }
    SP_ASSERT(!"unknown kind");
    return SP_EINPUT;
}

int sp_lang_load_buffer(const char *name, const char *text, size_t len, sp_lang **out,
                        sp_error *err)
{
    *out = NULL;
    sp_yaml_doc doc;
    if (sp_yaml_parse(&doc, name, text, len, err)) return SP_EINPUT;
    sp_lang *lang = sp_calloc(1, sizeof *lang);
    lang->file = sp_strdup(name);
    int status = load_doc(lang, &doc, err);
    sp_yaml_free(&doc);
    if (status) {
        sp_lang_destroy(lang);
        return status;
    }
    *out = lang;
    return SP_OK;
}

int sp_lang_load(const char *path, sp_lang **out, sp_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return sp_error_set(err, SP_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        SP_GROW(buf, cap, len + 4096);
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
        if (len > (16u << 20)) {
            fclose(f);
            free(buf);
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "file is larger than 16 MiB");
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return sp_error_set(err, SP_EIO, path, 0, 0, "read error");
    }
    int status = sp_lang_load_buffer(path, buf, len, out, err);
    free(buf);
    return status;
}

void sp_lang_destroy(sp_lang *lang)
{
    if (!lang) return;
    if (lang->ops && lang->impl) lang->ops->destroy(lang->impl);
    for (size_t i = 0; i < lang->k; i++) free(lang->symbols[i]);
    free(lang->symbols);
    free(lang->name);
    free(lang->description);
    free(lang->source);
    free(lang->file);
    free(lang);
}

const char *sp_lang_name(const sp_lang *lang) { return lang->name; }
const char *sp_lang_description(const sp_lang *lang) { return lang->description; }
const char *sp_lang_source(const sp_lang *lang) { return lang->source; }
const char *sp_lang_file(const sp_lang *lang) { return lang->file; }
sp_lang_kind sp_lang_get_kind(const sp_lang *lang) { return lang->kind; }
sp_lang_class sp_lang_get_class(const sp_lang *lang) { return lang->cls; }
bool sp_lang_counts_derivations(const sp_lang *lang) { return lang->derivations; }
size_t sp_lang_alphabet_size(const sp_lang *lang) { return lang->k; }

const char *sp_lang_symbol(const sp_lang *lang, int sym)
{
    SP_ASSERT(sym >= 0 && (size_t)sym < lang->k);
    return lang->symbols[sym];
}

int sp_lang_symbol_index(const sp_lang *lang, const char *s, size_t len)
{
    for (size_t i = 0; i < lang->k; i++)
        if (strlen(lang->symbols[i]) == len && memcmp(lang->symbols[i], s, len) == 0) return (int)i;
    return -1;
}

static void check_string(const sp_lang *lang, const int *s, size_t n)
{
    for (size_t i = 0; i < n; i++) SP_ASSERT(s[i] >= 0 && (size_t)s[i] < lang->k);
}

bool sp_lang_accepts(const sp_lang *lang, const int *s, size_t n)
{
    check_string(lang, s, n);
    return lang->ops->accepts(lang, s, n);
}

int sp_lang_prepare(sp_lang *lang, size_t max_len, sp_error *err)
{
    if (max_len > SP_LANG_MAX_LENGTH)
        return sp_error_set(err, SP_ELIMIT, lang->file, 0, 0,
                            "length %zu is beyond the supported maximum of %d", max_len,
                            SP_LANG_MAX_LENGTH);
    if (lang->has_tables && max_len <= lang->prepared) return SP_OK;
    size_t want = max_len;
    if (lang->has_tables && want < 2 * lang->prepared) want = 2 * lang->prepared;
    if (want < 64) want = 64;
    if (want > SP_LANG_MAX_LENGTH) want = SP_LANG_MAX_LENGTH;
    /* Growing by doubling keeps repeated requests cheap, but a kind's own limit (table size,
     * long double range) may lie between max_len and the doubled length: then build exactly
     * what was asked for. Kinds keep their earlier tables usable when prepare fails. */
    int status = lang->ops->prepare(lang, want, err);
    if (status && want > max_len) {
        want = max_len;
        status = lang->ops->prepare(lang, want, err);
    }
    if (status) return status;
    lang->prepared = want;
    lang->has_tables = true;
    return SP_OK;
}

long double sp_lang_count(sp_lang *lang, size_t n)
{
    if (sp_lang_prepare(lang, n, NULL)) return -1;
    return lang->ops->count(lang, n);
}

int sp_lang_sample(sp_lang *lang, size_t n, gsl_rng *r, int *out, sp_error *err)
{
    int status = sp_lang_prepare(lang, n, err);
    if (status) return status;
    if (!(lang->ops->count(lang, n) > 0))
        return sp_error_set(err, SP_EINPUT, lang->file, 0, 0, "%s has no strings of length %zu",
                            lang->name, n);
    lang->ops->sample(lang, n, r, out);
    return SP_OK;
}

bool sp_lang_next(const sp_lang *lang, const int *p, size_t n, bool *valid, bool *can_end)
{
    check_string(lang, p, n);
    for (size_t a = 0; a < lang->k; a++) valid[a] = false;
    *can_end = false;
    bool viable = lang->ops->next(lang, p, n, valid, can_end);
    if (!viable) {
        for (size_t a = 0; a < lang->k; a++) SP_ASSERT(!valid[a]);
        SP_ASSERT(!*can_end);
    }
    return viable;
}

int sp_lang_parse_string(const sp_lang *lang, const char *line, size_t len, int **buf, size_t *cap,
                         size_t *n, sp_error *err)
{
    *n = 0;
    if (len == 0) return SP_OK;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != ' ') continue;
        if (i == start)
            return sp_error_set(err, SP_EINPUT, "", 0, (int)i + 1,
                                i == len ? "trailing space" : "empty symbol (two spaces in a row, "
                                                              "or a leading space)");
        int sym = sp_lang_symbol_index(lang, line + start, i - start);
        if (sym < 0)
            return sp_error_set(err, SP_EINPUT, "", 0, (int)start + 1,
                                "'%.*s' is not a symbol of %s", (int)(i - start), line + start,
                                lang->name);
        SP_GROW(*buf, *cap, *n + 1);
        (*buf)[(*n)++] = sym;
        start = i + 1;
    }
    return SP_OK;
}

void sp_lang_write_string(const sp_lang *lang, FILE *f, const int *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i) fputc(' ', f);
        fputs(sp_lang_symbol(lang, s[i]), f);
    }
}

void sp_lang_format_count(long double c, char *buf, size_t size)
{
    if (c >= 0 && c < 0x1p64L && c == (long double)(uint64_t)c)
        snprintf(buf, size, "%" PRIu64, (uint64_t)c);
    else
        snprintf(buf, size, "%.17Lg", c);
}
