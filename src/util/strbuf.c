/* Growable strings: append bytes, formatted text, single characters. */
#include "satprobe/strbuf.h"
#include "satprobe/alloc.h"
#include "satprobe/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sp_strbuf_init(sp_strbuf *sb)
{
    sb->cap = 64;
    sb->buf = sp_malloc(sb->cap, 1);
    sb->buf[0] = '\0';
    sb->len = 0;
}

void sp_strbuf_free(sp_strbuf *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
}

void sp_strbuf_clear(sp_strbuf *sb)
{
    sb->len = 0;
    sb->buf[0] = '\0';
}

static void reserve(sp_strbuf *sb, size_t extra)
{
    SP_GROW(sb->buf, sb->cap, sb->len + extra + 1);
}

void sp_strbuf_append(sp_strbuf *sb, const char *s, size_t len)
{
    reserve(sb, len);
    memcpy(sb->buf + sb->len, s, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
}

void sp_strbuf_puts(sp_strbuf *sb, const char *s) { sp_strbuf_append(sb, s, strlen(s)); }

void sp_strbuf_putc(sp_strbuf *sb, char c) { sp_strbuf_append(sb, &c, 1); }

void sp_strbuf_printf(sp_strbuf *sb, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (need < 0) return;
    if ((size_t)need < sizeof small) {
        sp_strbuf_append(sb, small, (size_t)need);
        return;
    }
    reserve(sb, (size_t)need);
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, (size_t)need + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)need;
}

char *sp_strbuf_grow(sp_strbuf *sb, size_t extra)
{
    reserve(sb, extra);
    return sb->buf + sb->len;
}

void sp_strbuf_advance(sp_strbuf *sb, size_t written)
{
    SP_ASSERT(sb->len + written < sb->cap);
    sb->len += written;
    sb->buf[sb->len] = '\0';
}
