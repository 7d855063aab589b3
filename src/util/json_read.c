/* JSON reader: recursive descent over a byte buffer into a tree of sp_json_value (RFC 8259). */
#include "satprobe/json.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"
#include "c_locale.h"

#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *p, *end, *start;
    sp_error *err;
    int depth;
} parser;

/* Error at the current position: line and column (1-based, bytes) counted from the start. */
static int fail(parser *ps, const char *what)
{
    int line = 1, col = 1;
    for (const char *q = ps->start; q < ps->p && q < ps->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return sp_error_set(ps->err, SP_EINPUT, "", line, col, "%s", what);
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static sp_json_value *new_value(sp_json_type t)
{
    sp_json_value *v = sp_calloc(1, sizeof *v);
    v->type = t;
    return v;
}

static bool literal(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return false;
    ps->p += n;
    return true;
}

static int hex4(parser *ps, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++, ps->p++) {
        if (ps->p >= ps->end) return fail(ps, "unfinished \\u escape");
        char c = *ps->p;
        unsigned d;
        if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
        else return fail(ps, "bad hex digit in \\u escape");
        v = v * 16 + d;
    }
    *out = v;
    return SP_OK;
}

static void put_utf8(sp_strbuf *sb, unsigned cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | cp >> 12);
        b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | cp >> 18);
        b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    sp_strbuf_append(sb, b, n);
}

static int escape(parser *ps, sp_strbuf *sb)
{
    if (ps->p >= ps->end) return fail(ps, "unfinished escape");
    char c = *ps->p++;
    switch (c) {
    case '"': sp_strbuf_putc(sb, '"'); return SP_OK;
    case '\\': sp_strbuf_putc(sb, '\\'); return SP_OK;
    case '/': sp_strbuf_putc(sb, '/'); return SP_OK;
    case 'b': sp_strbuf_putc(sb, '\b'); return SP_OK;
    case 'f': sp_strbuf_putc(sb, '\f'); return SP_OK;
    case 'n': sp_strbuf_putc(sb, '\n'); return SP_OK;
    case 'r': sp_strbuf_putc(sb, '\r'); return SP_OK;
    case 't': sp_strbuf_putc(sb, '\t'); return SP_OK;
    case 'u': break;
    default: ps->p--; return fail(ps, "unknown escape");
    }
    unsigned cp = 0;
    if (hex4(ps, &cp)) return SP_EINPUT;
    if (cp >= 0xdc00 && cp <= 0xdfff) return fail(ps, "lone low surrogate in \\u escape");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        unsigned lo = 0;
        if (!literal(ps, "\\u")) return fail(ps, "high surrogate without its low half");
        if (hex4(ps, &lo)) return SP_EINPUT;
        if (lo < 0xdc00 || lo > 0xdfff) return fail(ps, "high surrogate without its low half");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    put_utf8(sb, cp);
    return SP_OK;
}

/* A string token at ps->p (which is '"'); the decoded text goes to sb (cleared first). */
static int string_token(parser *ps, sp_strbuf *sb)
{
    sp_strbuf_clear(sb);
    ps->p++;
    for (;;) {
        const char *run = ps->p;
        while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' && (unsigned char)*ps->p >= 0x20)
            ps->p++;
        sp_strbuf_append(sb, run, (size_t)(ps->p - run));
        if (ps->p >= ps->end) return fail(ps, "unterminated string");
        char c = *ps->p;
        if (c == '"') {
            ps->p++;
            return SP_OK;
        }
        if (c != '\\') return fail(ps, "control character in a string (escape it)");
        ps->p++;
        if (escape(ps, sb)) return SP_EINPUT;
    }
}

static bool digit(parser *ps) { return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9'; }

static int number(parser *ps, sp_json_value **out)
{
    const char *s = ps->p;
    bool integral = true;
    if (ps->p < ps->end && *ps->p == '-') ps->p++;
    if (!digit(ps)) return fail(ps, "expected a value");
    if (*ps->p == '0') ps->p++;
    else
        while (digit(ps)) ps->p++;
    if (ps->p < ps->end && *ps->p == '.') {
        integral = false;
        ps->p++;
        if (!digit(ps)) return fail(ps, "expected a digit after the decimal point");
        while (digit(ps)) ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        integral = false;
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
        if (!digit(ps)) return fail(ps, "expected a digit in the exponent");
        while (digit(ps)) ps->p++;
    }
    char buf[128];
    size_t n = (size_t)(ps->p - s);
    if (n >= sizeof buf) return fail(ps, "number too long");
    memcpy(buf, s, n);
    buf[n] = '\0';
    sp_json_value *v = new_value(SP_JSON_NUMBER);
    locale_t old = uselocale(sp_c_locale());
    v->number = strtod(buf, NULL);
    if (integral) {
        errno = 0;
        long long i = strtoll(buf, NULL, 10);
        if (errno != ERANGE) {
            v->is_int = true;
            v->integer = i;
        }
    }
    uselocale(old);
    *out = v;
    return SP_OK;
}

static int value(parser *ps, sp_strbuf *sb, sp_json_value **out);

static int container(parser *ps, sp_strbuf *sb, bool object, sp_json_value *v)
{
    char close = object ? '}' : ']';
    size_t cap = 0, kcap = 0;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return SP_OK;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(ps);
        if (object) {
            if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected a key (a string)");
            if (string_token(ps, sb)) return SP_EINPUT;
            key = sp_strndup(sb->buf, sb->len);
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                return fail(ps, "expected ':' after a key");
            }
            ps->p++;
        }
        sp_json_value *item;
        if (value(ps, sb, &item)) {
            free(key);
            return SP_EINPUT;
        }
        SP_GROW(v->items, cap, v->n + 1);
        if (object) {
            SP_GROW(v->keys, kcap, v->n + 1);
            v->keys[v->n] = key;
        }
        v->items[v->n++] = item;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return SP_OK;
        }
        return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int value(parser *ps, sp_strbuf *sb, sp_json_value **out)
{
    *out = NULL;
    skip_ws(ps);
    if (ps->p >= ps->end) return fail(ps, "expected a value");
    char c = *ps->p;
    if (c == '{' || c == '[') {
        if (ps->depth >= SP_JSON_MAX_DEPTH) return fail(ps, "nested too deeply");
        ps->depth++;
        sp_json_value *v = new_value(c == '{' ? SP_JSON_OBJECT : SP_JSON_ARRAY);
        int status = container(ps, sb, c == '{', v);
        ps->depth--;
        if (status) {
            sp_json_free(v);
            return status;
        }
        *out = v;
        return SP_OK;
    }
    if (c == '"') {
        if (string_token(ps, sb)) return SP_EINPUT;
        sp_json_value *v = new_value(SP_JSON_STRING);
        v->str = sp_strndup(sb->buf, sb->len);
        v->len = sb->len;
        *out = v;
        return SP_OK;
    }
    if (literal(ps, "true") || literal(ps, "false")) {
        *out = new_value(SP_JSON_BOOL);
        (*out)->boolean = c == 't';
        return SP_OK;
    }
    if (literal(ps, "null")) {
        *out = new_value(SP_JSON_NULL);
        return SP_OK;
    }
    return number(ps, out);
}

int sp_json_parse(const char *text, size_t len, sp_json_value **out, sp_error *err)
{
    parser ps = {text, text + len, text, err, 0};
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    int status = value(&ps, &sb, out);
    sp_strbuf_free(&sb);
    if (status == SP_OK) {
        skip_ws(&ps);
        if (ps.p < ps.end) {
            sp_json_free(*out);
            *out = NULL;
            status = fail(&ps, "unexpected text after the value");
        }
    }
    return status;
}

void sp_json_free(sp_json_value *v)
{
    if (!v) return;
    for (size_t i = 0; i < v->n; i++) {
        sp_json_free(v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

const sp_json_value *sp_json_get(const sp_json_value *obj, const char *key)
{
    if (!obj || obj->type != SP_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
    return NULL;
}

const char *sp_json_type_name(sp_json_type t)
{
    static const char *const names[] = {"null", "a boolean", "a number", "a string", "an array",
                                        "an object"};
    return names[t];
}

int sp_json_load(const char *path, size_t max, sp_json_value **out, sp_error *err)
{
    char *text;
    size_t len;
    *out = NULL;
    int status = sp_read_file(path, max, &text, &len, err);
    if (status) return status;
    status = sp_json_parse(text, len, out, err);
    free(text);
    if (status && err) snprintf(err->file, sizeof err->file, "%s", path);
    return status;
}
