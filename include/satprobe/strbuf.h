/* A growable byte string for building messages and output lines. */
#ifndef SATPROBE_STRBUF_H
#define SATPROBE_STRBUF_H

#include <stddef.h>

/* buf is always NUL-terminated once initialised; the struct owns buf. */
typedef struct sp_strbuf {
    char *buf;  /* [cap] */
    size_t len; /* bytes used, excluding the NUL */
    size_t cap;
} sp_strbuf;

void sp_strbuf_init(sp_strbuf *sb);
void sp_strbuf_free(sp_strbuf *sb);
void sp_strbuf_clear(sp_strbuf *sb);
void sp_strbuf_append(sp_strbuf *sb, const char *s, size_t len);
void sp_strbuf_puts(sp_strbuf *sb, const char *s);
void sp_strbuf_putc(sp_strbuf *sb, char c);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void sp_strbuf_printf(sp_strbuf *sb, const char *fmt, ...);

/* For writers that build long lines by hand: make room for `extra` more bytes and return where
 * they go; then report how many were written with sp_strbuf_advance (at most `extra`). */
char *sp_strbuf_grow(sp_strbuf *sb, size_t extra);
void sp_strbuf_advance(sp_strbuf *sb, size_t written);

#endif
