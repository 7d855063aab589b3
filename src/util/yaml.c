/* YAML to a positioned tree (libyaml event API) and checked accessors over that tree. */
#include "satprobe/yaml.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"
#include "c_locale.h"

#include <math.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum { MAX_DEPTH = 64 };

static void node_free(sp_yaml_node *node)
{
    if (!node) return;
    size_t k = node->type == SP_YAML_MAP ? 2 * node->n : node->n;
    for (size_t i = 0; i < k; i++) node_free(node->items[i]);
    free(node->items);
    free(node->str);
    free(node);
}

void sp_yaml_free(sp_yaml_doc *doc)
{
    node_free(doc->root);
    free(doc->file);
    free(doc->text);
    doc->root = NULL;
    doc->file = NULL;
    doc->text = NULL;
}

int sp_yaml_error(sp_error *err, const sp_yaml_doc *doc, const sp_yaml_node *node, const char *fmt,
                  ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sp_error_set(err, SP_EINPUT, doc->file, node ? node->line : 0, node ? node->col : 0,
                        "%s", msg);
}

/* An open sequence or mapping and the key waiting for its value (maps only). */
typedef struct frame {
    sp_yaml_node *node;
    size_t cap;           /* allocated entries in node->items */
    sp_yaml_node *key;    /* MAP: key read, value not yet */
} frame;

static sp_yaml_node *node_new(sp_yaml_type t, const yaml_mark_t *mark)
{
    sp_yaml_node *n = sp_calloc(1, sizeof *n);
    n->type = t;
    n->line = (int)mark->line + 1;
    n->col = (int)mark->column + 1;
    n->index = mark->index;
    return n;
}

static int key_error(sp_error *err, const sp_yaml_doc *doc, const sp_yaml_node *map,
                     const sp_yaml_node *key)
{
    if (key->type != SP_YAML_SCALAR)
        return sp_yaml_error(err, doc, key, "mapping keys must be plain strings, not %s",
                             sp_yaml_type_name(key));
    for (size_t i = 0; i < map->n; i++) {
        const sp_yaml_node *k = map->items[2 * i];
        if (k->len == key->len && memcmp(k->str, key->str, key->len) == 0)
            return sp_yaml_error(err, doc, key, "duplicate key '%s' (first at line %d)", key->str,
                                 k->line);
    }
    return SP_OK;
}

/* Attach child to the innermost open container, or make it the root. On error the child is
 * freed (it belongs to no tree yet). */
static int attach(sp_yaml_doc *doc, frame *stack, int depth, sp_yaml_node *child, sp_error *err)
{
    if (depth == 0) {
        doc->root = child;
        return SP_OK;
    }
    frame *f = &stack[depth - 1];
    sp_yaml_node *p = f->node;
    if (p->type == SP_YAML_SEQ) {
        SP_GROW(p->items, f->cap, p->n + 1);
        p->items[p->n++] = child;
        return SP_OK;
    }
    if (!f->key) {
        if (key_error(err, doc, p, child)) {
            node_free(child);
            return SP_EINPUT;
        }
        f->key = child;
        return SP_OK;
    }
    SP_GROW(p->items, f->cap, 2 * p->n + 2);
    p->items[2 * p->n] = f->key;
    p->items[2 * p->n + 1] = child;
    p->n++;
    f->key = NULL;
    return SP_OK;
}

int sp_yaml_parse(sp_yaml_doc *doc, const char *file, const char *text, size_t len, sp_error *err)
{
    doc->file = sp_strdup(file);
    doc->text = sp_strndup(text, len);
    doc->len = len;
    doc->root = NULL;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) sp_panic(__FILE__, __LINE__, "out of memory (libyaml)");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

    frame stack[MAX_DEPTH + 1];
    int depth = 0, docs = 0, status = SP_OK;
    bool done = false;
    while (!done && status == SP_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            const yaml_mark_t *m = &parser.problem_mark;
            status = sp_error_set(err, SP_EINPUT, file, (int)m->line + 1, (int)m->column + 1,
                                  "malformed YAML: %s%s%s",
                                  parser.problem ? parser.problem : "syntax error",
                                  parser.context ? " " : "", parser.context ? parser.context : "");
            break;
        }
        const yaml_mark_t *mark = &ev.start_mark;
        sp_yaml_node *n = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                status = sp_error_set(err, SP_EINPUT, file, (int)mark->line + 1,
                                      (int)mark->column + 1, "only one YAML document is allowed");
            break;
        case YAML_ALIAS_EVENT:
            status = sp_error_set(err, SP_EINPUT, file, (int)mark->line + 1, (int)mark->column + 1,
                                  "YAML aliases (*name) are not supported; write the value out");
            break;
        case YAML_SCALAR_EVENT:
            n = node_new(SP_YAML_SCALAR, mark);
            n->str = sp_strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
            n->len = ev.data.scalar.length;
            n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            switch (ev.data.scalar.style) {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE: n->style = '\''; break;
            case YAML_DOUBLE_QUOTED_SCALAR_STYLE: n->style = '"'; break;
            case YAML_LITERAL_SCALAR_STYLE: n->style = '|'; break;
            case YAML_FOLDED_SCALAR_STYLE: n->style = '>'; break;
            default: n->style = 0; break;
            }
            status = attach(doc, stack, depth, n, err);
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (depth == MAX_DEPTH) {
                status = sp_error_set(err, SP_EINPUT, file, (int)mark->line + 1,
                                      (int)mark->column + 1, "nesting deeper than %d levels",
                                      MAX_DEPTH);
                break;
            }
            n = node_new(ev.type == YAML_SEQUENCE_START_EVENT ? SP_YAML_SEQ : SP_YAML_MAP, mark);
            status = attach(doc, stack, depth, n, err);
            if (status == SP_OK) {
                stack[depth].node = n;
                stack[depth].cap = 0;
                stack[depth].key = NULL;
                depth++;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    /* A key still waiting for its value belongs to no node yet. */
    for (int i = 0; i < depth; i++)
        if (stack[i].node->type == SP_YAML_MAP) node_free(stack[i].key);
    if (status != SP_OK) sp_yaml_free(doc);
    return status;
}

/* Source bytes a double-quoted escape starting at p[0] == '\\' takes, and value bytes it makes. */
static void escape_size(const char *p, size_t avail, size_t *src, size_t *val)
{
    *src = 2;
    *val = 1;
    if (avail < 2) return;
    switch (p[1]) {
    case 'x': *src = 4; break;
    case 'u': *src = 6; *val = 3; break; /* UTF-8 of a BMP code point: at most 3 bytes */
    case 'U': *src = 10; *val = 4; break;
    case 'N': case '_': *val = 2; break;
    case 'L': case 'P': *val = 3; break;
    case '\n': *val = 0; break; /* line continuation */
    default: break;
    }
    if (*src > avail) *src = avail;
}

void sp_yaml_scalar_pos(const sp_yaml_doc *doc, const sp_yaml_node *node, size_t offset, int *line,
                        int *col)
{
    *line = node->line;
    *col = node->col;
    if (node->type != SP_YAML_SCALAR || offset > node->len || node->index >= doc->len) return;
    const char *t = doc->text;
    size_t i = node->index, v = 0;
    int ln = node->line, cl = node->col;
    /* Step over one source byte, keeping line and column (columns count characters). */
#define ADVANCE()                                                                              \
    do {                                                                                       \
        if (t[i] == '\n') {                                                                    \
            ln++;                                                                              \
            cl = 1;                                                                            \
        } else if (((unsigned char)t[i] & 0xC0) != 0x80) {                                     \
            cl++;                                                                              \
        }                                                                                      \
        i++;                                                                                   \
    } while (0)
    if (node->style == '|' || node->style == '>') {
        /* Skip the indicator line; then each content line loses its indentation. */
        while (i < doc->len && t[i] != '\n') ADVANCE();
        if (i < doc->len) ADVANCE();
        size_t indent = 0;
        while (i + indent < doc->len && t[i + indent] == ' ') indent++;
        for (;;) {
            for (size_t k = 0; k < indent && i < doc->len && t[i] == ' '; k++) ADVANCE();
            while (i < doc->len && t[i] != '\n' && v < offset) {
                ADVANCE();
                v++;
            }
            if (v >= offset || i >= doc->len) break;
            ADVANCE(); /* the line break is one value byte (a newline or a folding space) */
            v++;
        }
    } else {
        char q = node->style;
        if (q) ADVANCE(); /* the opening quote */
        while (v < offset && i < doc->len) {
            size_t src = 1, val = 1;
            if (q == '\'' && t[i] == '\'' && i + 1 < doc->len && t[i + 1] == '\'') src = 2;
            else if (q == '"' && t[i] == '\\') escape_size(t + i, doc->len - i, &src, &val);
            else if (t[i] == '\n') {
                /* Folding: the break and the next line's indentation become one space. */
                ADVANCE();
                while (i < doc->len && (t[i] == ' ' || t[i] == '\t')) ADVANCE();
                v++;
                continue;
            }
            for (size_t k = 0; k < src && i < doc->len; k++) ADVANCE();
            v += val;
        }
    }
#undef ADVANCE
    *line = ln;
    *col = cl;
}

int sp_yaml_error_at(sp_error *err, const sp_yaml_doc *doc, const sp_yaml_node *node, size_t offset,
                     const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line, col;
    sp_yaml_scalar_pos(doc, node, offset, &line, &col);
    return sp_error_set(err, SP_EINPUT, doc->file, line, col, "%s", msg);
}

const char *sp_yaml_type_name(const sp_yaml_node *node)
{
    if (!node) return "nothing";
    switch (node->type) {
    case SP_YAML_MAP: return "a mapping";
    case SP_YAML_SEQ: return "a list";
    default: return sp_yaml_is_null(node) ? "null" : "a scalar";
    }
}

bool sp_yaml_is_null(const sp_yaml_node *node)
{
    if (!node) return true;
    if (node->type != SP_YAML_SCALAR || !node->plain) return false;
    return node->len == 0 || strcmp(node->str, "~") == 0 || strcmp(node->str, "null") == 0 ||
           strcmp(node->str, "Null") == 0 || strcmp(node->str, "NULL") == 0;
}

const sp_yaml_node *sp_yaml_get(const sp_yaml_node *map, const char *key)
{
    if (!map || map->type != SP_YAML_MAP) return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i < map->n; i++) {
        const sp_yaml_node *k = map->items[2 * i];
        if (k->len == klen && memcmp(k->str, key, klen) == 0) return map->items[2 * i + 1];
    }
    return NULL;
}

int sp_yaml_check_keys(const sp_yaml_doc *doc, const sp_yaml_node *map, const char *const *allowed,
                       const char *context, sp_error *err)
{
    for (size_t i = 0; i < map->n; i++) {
        const sp_yaml_node *k = map->items[2 * i];
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(k->str, *a) == 0;
        if (ok) continue;
        char list[512] = "";
        size_t used = 0;
        for (const char *const *a = allowed; *a; a++) {
            int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", *a);
            if (w < 0 || (size_t)w >= sizeof list - used) break;
            used += (size_t)w;
        }
        return sp_yaml_error(err, doc, k, "unknown key '%s' in %s (expected one of: %s)", k->str,
                             context, list);
    }
    return SP_OK;
}

int sp_yaml_expect(const sp_yaml_doc *doc, const sp_yaml_node *node, sp_yaml_type t,
                   const char *what, sp_error *err)
{
    if (node->type == t && !(t == SP_YAML_SCALAR && sp_yaml_is_null(node))) return SP_OK;
    static const char *const names[] = {"a scalar", "a list", "a mapping"};
    return sp_yaml_error(err, doc, node, "%s must be %s, not %s", what, names[t],
                         sp_yaml_type_name(node));
}

int sp_yaml_require(const sp_yaml_doc *doc, const sp_yaml_node *map, const char *key,
                    const sp_yaml_node **out, sp_error *err)
{
    const sp_yaml_node *v = sp_yaml_get(map, key);
    if (!v) return sp_yaml_error(err, doc, map, "missing required key '%s'", key);
    if (sp_yaml_is_null(v)) return sp_yaml_error(err, doc, v, "'%s' must not be empty", key);
    *out = v;
    return SP_OK;
}

int sp_yaml_string(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what,
                   const char **out, sp_error *err)
{
    if (node->type != SP_YAML_SCALAR)
        return sp_yaml_error(err, doc, node, "%s must be a string, not %s", what,
                             sp_yaml_type_name(node));
    if (strlen(node->str) != node->len)
        return sp_yaml_error(err, doc, node, "%s contains a NUL byte", what);
    *out = node->str;
    return SP_OK;
}

int sp_yaml_int(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what, long lo,
                long hi, long *out, sp_error *err)
{
    if (node->type != SP_YAML_SCALAR || sp_yaml_is_null(node))
        return sp_yaml_error(err, doc, node, "%s must be an integer, not %s", what,
                             sp_yaml_type_name(node));
    char *end;
    errno = 0;
    long v = strtol(node->str, &end, 10);
    if (node->len == 0 || *end != '\0' || errno == ERANGE || end != node->str + node->len)
        return sp_yaml_error(err, doc, node, "%s must be an integer, not '%s'", what, node->str);
    if (v < lo || v > hi)
        return sp_yaml_error(err, doc, node, "%s must be between %ld and %ld, not %ld", what, lo,
                             hi, v);
    *out = v;
    return SP_OK;
}

int sp_yaml_size(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what, long lo,
                 long hi, size_t *out, sp_error *err)
{
    SP_ASSERT(lo >= 0);
    long v;
    if (sp_yaml_int(doc, node, what, lo, hi, &v, err)) return SP_EINPUT;
    *out = (size_t)v;
    return SP_OK;
}

int sp_yaml_enum(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what,
                 const char *const *names, size_t n, int *out, sp_error *err)
{
    const char *s;
    if (sp_yaml_string(doc, node, what, &s, err)) return SP_EINPUT;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = (int)i;
            return SP_OK;
        }
    /* the list of names, cut short (never overrun) if it outgrows the buffer */
    char list[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used + 1 < sizeof list; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0) break;
        used = used + (size_t)w < sizeof list ? used + (size_t)w : sizeof list - 1;
    }
    return sp_yaml_error(err, doc, node, "%s must be one of %s, not '%s'", what, list, s);
}

int sp_yaml_bool(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what, bool *out,
                 sp_error *err)
{
    if (node->type == SP_YAML_SCALAR && node->plain) {
        if (!strcmp(node->str, "true") || !strcmp(node->str, "True") || !strcmp(node->str, "TRUE")) {
            *out = true;
            return SP_OK;
        }
        if (!strcmp(node->str, "false") || !strcmp(node->str, "False") ||
            !strcmp(node->str, "FALSE")) {
            *out = false;
            return SP_OK;
        }
    }
    return sp_yaml_error(err, doc, node, "%s must be true or false, not %s%s%s", what,
                         node->type == SP_YAML_SCALAR ? "'" : "",
                         node->type == SP_YAML_SCALAR ? node->str : sp_yaml_type_name(node),
                         node->type == SP_YAML_SCALAR ? "'" : "");
}

int sp_yaml_number(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what, double *out,
                   sp_error *err)
{
    if (node->type != SP_YAML_SCALAR || sp_yaml_is_null(node) || !node->plain)
        return sp_yaml_error(err, doc, node, "%s must be a number, not %s", what,
                             node->type == SP_YAML_SCALAR && !sp_yaml_is_null(node)
                                 ? "a quoted string"
                                 : sp_yaml_type_name(node));
    char *end;
    errno = 0;
    locale_t old = uselocale(sp_c_locale());
    double v = strtod(node->str, &end);
    uselocale(old);
    if (node->len == 0 || end != node->str + node->len || !isfinite(v) ||
        strpbrk(node->str, "xXnNiI"))
        return sp_yaml_error(err, doc, node, "%s must be a finite number, not '%s'", what, node->str);
    *out = v;
    return SP_OK;
}

int sp_yaml_load_file(sp_yaml_doc *doc, const char *path, sp_error *err)
{
    char *text;
    size_t len;
    int status = sp_read_file(path, (size_t)64 << 20, &text, &len, err);
    if (status) return status;
    status = sp_yaml_parse(doc, path, text, len, err);
    free(text);
    return status;
}
