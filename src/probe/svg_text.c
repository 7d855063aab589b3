/* Text and numbers for the SVG plots: UTF-8 decoding, XML escaping, text width estimates,
 * fitting text into a width, and numbers printed through integers (locale-independent). */
#include "svg_impl.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026 */

/* ---- text ----------------------------------------------------------------------------------- */

/* One code point of s: its length in bytes (>= 1) and its value; a malformed byte reads as
 * U+FFFD, so that any input comes out as well-formed UTF-8. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
    unsigned c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) len = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, v = c & 0x07, min = 0x10000;
    else len = 0, v = min = 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) len = 0; /* also stops at the terminating NUL */
        if (!len) break;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (!len || v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = v;
    return len;
}

static size_t utf8_count(const char *s)
{
    size_t n = 0;
    uint32_t cp;
    for (const unsigned char *u = (const unsigned char *)s; *u; u += utf8_next(u, &cp)) n++;
    return n;
}

/* Append one code point of s (len bytes, value cp) escaped for XML text and attribute values.
 * Control characters are not allowed in XML 1.0 (and SVG would collapse them to spaces). */
static void put_escaped_cp(sp_strbuf *sb, const char *s, size_t len, uint32_t cp)
{
    switch (cp) {
    case '&': sp_strbuf_puts(sb, "&amp;"); return;
    case '<': sp_strbuf_puts(sb, "&lt;"); return;
    case '>': sp_strbuf_puts(sb, "&gt;"); return;
    case '"': sp_strbuf_puts(sb, "&quot;"); return;
    case '\'': sp_strbuf_puts(sb, "&apos;"); return;
    default: break;
    }
    if (cp < 0x20 || cp == 0x7F) sp_strbuf_putc(sb, ' ');
    else if (cp == 0xFFFD || cp == 0xFFFE || cp == 0xFFFF) sp_strbuf_puts(sb, "\xef\xbf\xbd");
    else sp_strbuf_append(sb, s, len);
}

void sp_svg_put_text(sp_strbuf *sb, const char *s, size_t maxchars)
{
    size_t n = utf8_count(s), keep = n <= maxchars ? n : (maxchars ? maxchars - 1 : 0);
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < keep; i++) {
        uint32_t cp;
        size_t len = utf8_next(u, &cp);
        put_escaped_cp(sb, (const char *)u, len, cp);
        u += len;
    }
    if (keep < n) sp_strbuf_puts(sb, ELLIPSIS);
}

/* Text is measured by an estimate, as the viewer's font is unknown: the advance widths of
 * DejaVu Sans, in hundredths of an em, for printable ASCII. It is the widest of the fonts that
 * usually stand in for sans-serif (Helvetica and Arial are narrower), so estimates err towards
 * room to spare rather than overlap. */
static const unsigned char ascii_width[95] = {
    32, 40, 46, 84, 64, 95, 78, 28, 39, 39, 50, 84, 32, 36, 32, 34, /*  !"#$%&'()*+,-./ */
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 34, 34, 84, 84, 84, 53, /* 0-9 :;<=>? */
    100, 68, 69, 70, 77, 63, 58, 78, 75, 30, 30, 66, 56, 86, 75, 79, /* @A-O */
    60, 79, 69, 64, 61, 73, 68, 99, 69, 61, 69, 39, 34, 39, 84, 50, /* P-Z [\]^_ */
    50, 61, 64, 55, 64, 62, 35, 64, 63, 28, 28, 58, 28, 97, 63, 61, /* `a-o */
    64, 64, 41, 52, 39, 63, 59, 82, 59, 59, 53, 64, 34, 64, 84,     /* p-z {|}~ */
};

/* Width of one code point in em: other scripts as wide letters, CJK and beyond as a full em. */
static double cp_width(uint32_t cp)
{
    if (cp >= 32 && cp < 127) return ascii_width[cp - 32] / 100.0;
    return cp < 0x2E80 ? 0.7 : 1.0;
}

double sp_svg_text_width(const char *s, double fs)
{
    double w = 0;
    for (const unsigned char *u = (const unsigned char *)s; *u;) {
        uint32_t cp;
        u += utf8_next(u, &cp);
        w += cp_width(cp);
    }
    return w * fs;
}

size_t sp_svg_cut_to(const char *s, double fs, double width)
{
    if (sp_svg_text_width(s, fs) <= width) return SIZE_MAX;
    double w = 1.0 * fs;
    size_t keep = 0;
    for (const unsigned char *u = (const unsigned char *)s; *u; keep++) {
        uint32_t cp;
        u += utf8_next(u, &cp);
        if ((w += cp_width(cp) * fs) > width) break;
    }
    return (keep ? keep : 1) + 1; /* sp_svg_put_text counts the ellipsis in */
}

fitted sp_svg_fit_text(const char *s, double fs, double width)
{
    double w = sp_svg_text_width(s, fs);
    fitted f = {fs, SIZE_MAX};
    if (w <= width) return f;
    f.fs = fmax(FS_MIN, fs * width / w);
    f.maxchars = sp_svg_cut_to(s, f.fs, width);
    return f;
}

/* ---- numbers -------------------------------------------------------------------------------- */

/* Numbers are printed through integers, which no locale changes, so the bytes are the same
 * everywhere. */

void sp_svg_fmt_fixed(char *buf, size_t size, double v, int decimals, const char *minus)
{
    decimals = decimals < 0 ? 0 : decimals > 12 ? 12 : decimals;
    unsigned long long scale = 1;
    for (int i = 0; i < decimals; i++) scale *= 10;
    unsigned long long u = (unsigned long long)llround(fabs(v) * (double)scale);
    char frac[24] = "";
    if (decimals) {
        snprintf(frac, sizeof frac, "%0*llu", decimals, u % scale);
        for (size_t i = strlen(frac); i > 0 && frac[i - 1] == '0'; i--) frac[i - 1] = '\0';
    }
    snprintf(buf, size, "%s%llu%s%s", u && v < 0 ? minus : "", u / scale, frac[0] ? "." : "",
             frac);
}

void sp_svg_put_num(sp_strbuf *sb, double v)
{
    char buf[32];
    v = v < -1e6 ? -1e6 : v > 1e6 ? 1e6 : v;
    sp_svg_fmt_fixed(buf, sizeof buf, v, 2, "-");
    sp_strbuf_puts(sb, buf);
}

void sp_svg_put_xy(sp_strbuf *sb, char cmd, double x, double y)
{
    sp_strbuf_putc(sb, cmd);
    sp_svg_put_num(sb, x);
    sp_strbuf_putc(sb, ' ');
    sp_svg_put_num(sb, y);
}
