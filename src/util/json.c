/* JSON writer: escaping, C-locale numbers, pretty or one-line layout. (The reader is json_read.c.) */
#include "satprobe/json.h"
#include "c_locale.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* glibc hands out a static object for "C", so nothing is allocated. */
locale_t sp_c_locale(void)
{
    static locale_t loc;
    if (!loc) loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!loc) sp_panic(__FILE__, __LINE__, "newlocale(\"C\") failed");
    return loc;
}

/* ---- writer ------------------------------------------------------------------------------ */

void sp_json_writer_init(sp_json_writer *w, sp_strbuf *out, bool pretty)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->pretty = pretty;
}

static bool one_line(const sp_json_writer *w) { return !w->pretty || w->inline_depth > 0; }

static void newline_indent(sp_json_writer *w, int depth)
{
    sp_strbuf_putc(w->out, '\n');
    for (int i = 0; i < depth; i++) sp_strbuf_append(w->out, "  ", 2);
}

/* Separator and layout before a member (key) or an array element. */
static void next_item(sp_json_writer *w)
{
    size_t *count = &w->count[w->depth];
    if (*count) sp_strbuf_putc(w->out, ',');
    if (!one_line(w)) newline_indent(w, w->depth);
    else if (*count) sp_strbuf_putc(w->out, ' ');
    (*count)++;
}

static void before_value(sp_json_writer *w)
{
    if (w->depth == 0) return;
    if (w->is_object[w->depth]) {
        SP_ASSERT(w->key_pending);
        w->key_pending = false;
        return;
    }
    next_item(w);
}

static void begin(sp_json_writer *w, bool object, bool inl)
{
    before_value(w);
    SP_ASSERT(w->depth < SP_JSON_MAX_DEPTH);
    sp_strbuf_putc(w->out, object ? '{' : '[');
    w->depth++;
    w->is_object[w->depth] = object;
    w->count[w->depth] = 0;
    if (inl && w->inline_depth == 0) w->inline_depth = w->depth;
}

static void end(sp_json_writer *w, bool object)
{
    SP_ASSERT(w->depth > 0 && w->is_object[w->depth] == object && !w->key_pending);
    if (!one_line(w) && w->count[w->depth]) newline_indent(w, w->depth - 1);
    sp_strbuf_putc(w->out, object ? '}' : ']');
    if (w->inline_depth == w->depth) w->inline_depth = 0;
    w->depth--;
}

void sp_json_object_begin(sp_json_writer *w) { begin(w, true, false); }
void sp_json_object_begin_inline(sp_json_writer *w) { begin(w, true, true); }
void sp_json_object_end(sp_json_writer *w) { end(w, true); }
void sp_json_array_begin(sp_json_writer *w) { begin(w, false, false); }
void sp_json_array_begin_inline(sp_json_writer *w) { begin(w, false, true); }
void sp_json_array_end(sp_json_writer *w) { end(w, false); }

void sp_json_escape(sp_strbuf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sp_strbuf_append(out, s + start, i - start);
        start = i + 1;
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        sp_strbuf_append(out, esc, n);
    }
    sp_strbuf_append(out, s + start, len - start);
}

void sp_json_key(sp_json_writer *w, const char *key)
{
    SP_ASSERT(w->depth > 0 && w->is_object[w->depth] && !w->key_pending);
    next_item(w);
    sp_strbuf_putc(w->out, '"');
    sp_json_escape(w->out, key, strlen(key));
    sp_strbuf_append(w->out, "\": ", 3);
    w->key_pending = true;
}

void sp_json_string_n(sp_json_writer *w, const char *s, size_t len)
{
    before_value(w);
    sp_strbuf_putc(w->out, '"');
    sp_json_escape(w->out, s, len);
    sp_strbuf_putc(w->out, '"');
}

void sp_json_string(sp_json_writer *w, const char *s) { sp_json_string_n(w, s, strlen(s)); }

void sp_json_raw(sp_json_writer *w, const char *json, size_t len)
{
    before_value(w);
    sp_strbuf_append(w->out, json, len);
}

void sp_json_int(sp_json_writer *w, long long v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", v);
    sp_json_raw(w, buf, (size_t)n);
}

void sp_json_uint(sp_json_writer *w, unsigned long long v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%llu", v);
    sp_json_raw(w, buf, (size_t)n);
}

size_t sp_json_format_double(double v, char *buf, size_t size)
{
    SP_ASSERT(size >= 32);
    if (!isfinite(v)) return (size_t)snprintf(buf, size, "null");
    locale_t old = uselocale(sp_c_locale());
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    uselocale(old);
    return (size_t)n;
}

void sp_json_double(sp_json_writer *w, double v)
{
    char buf[40];
    size_t n = sp_json_format_double(v, buf, sizeof buf);
    sp_json_raw(w, buf, n);
}

void sp_json_bool(sp_json_writer *w, bool v)
{
    if (v) sp_json_raw(w, "true", 4);
    else sp_json_raw(w, "false", 5);
}

void sp_json_null(sp_json_writer *w) { sp_json_raw(w, "null", 4); }

void sp_json_write_value(sp_json_writer *w, const sp_json_value *v)
{
    switch (v->type) {
    case SP_JSON_NULL: sp_json_null(w); break;
    case SP_JSON_BOOL: sp_json_bool(w, v->boolean); break;
    case SP_JSON_NUMBER:
        if (v->is_int) sp_json_int(w, v->integer);
        else sp_json_double(w, v->number);
        break;
    case SP_JSON_STRING: sp_json_string_n(w, v->str, v->len); break;
    case SP_JSON_ARRAY:
        sp_json_array_begin_inline(w);
        for (size_t i = 0; i < v->n; i++) sp_json_write_value(w, v->items[i]);
        sp_json_array_end(w);
        break;
    case SP_JSON_OBJECT:
        sp_json_object_begin_inline(w);
        for (size_t i = 0; i < v->n; i++) {
            sp_json_key(w, v->keys[i]);
            sp_json_write_value(w, v->items[i]);
        }
        sp_json_object_end(w);
        break;
    }
}
