/* Writing examples: one JSON object a line (JSONL), or FLaRe's files (main.tok, labels.txt,
 * num-edits.txt, next-symbols.jsonl). Lines are built straight into large output buffers. */
#include "gen_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sp_out_init(gen_out *out, const sp_lang *lang, sp_gen_format format, bool with_next)
{
    memset(out, 0, sizeof *out);
    out->format = format;
    out->with_next = with_next;
    out->k = sp_lang_alphabet_size(lang);
    out->esc = sp_calloc(out->k, sizeof *out->esc);
    out->sym = sp_calloc(out->k, sizeof *out->sym);
    out->esc_len = sp_calloc(out->k, sizeof *out->esc_len);
    out->sym_len = sp_calloc(out->k, sizeof *out->sym_len);
    out->order = sp_calloc(out->k, sizeof *out->order);
    size_t *at = sp_calloc(out->k, sizeof *at);
    sp_strbuf text;
    sp_strbuf_init(&text);
    for (size_t a = 0; a < out->k; a++) {
        out->sym[a] = sp_lang_symbol(lang, (int)a);
        out->sym_len[a] = strlen(out->sym[a]);
        at[a] = text.len;
        sp_json_escape(&text, out->sym[a], out->sym_len[a]);
        out->esc_len[a] = text.len - at[a];
        if (out->esc_len[a] > out->max_len) out->max_len = out->esc_len[a];
        sp_strbuf_putc(&text, '\0');
        /* insertion sort by spelling (alphabets are small) */
        size_t j = a;
        for (; j > 0 && strcmp(out->sym[out->order[j - 1]], out->sym[a]) > 0; j--)
            out->order[j] = out->order[j - 1];
        out->order[j] = (int)a;
    }
    out->esc_text = text.buf; /* the strbuf's bytes now belong to out */
    for (size_t a = 0; a < out->k; a++) out->esc[a] = out->esc_text + at[a];
    if (out->max_len < SP_OUT_SHORT) { /* escaping never shortens: sym_len <= esc_len */
        out->esc_short = sp_calloc(out->k, SP_OUT_SHORT);
        out->sym_short = sp_calloc(out->k, SP_OUT_SHORT);
        for (size_t a = 0; a < out->k; a++) {
            memcpy(out->esc_short + a * SP_OUT_SHORT, out->esc[a], out->esc_len[a]);
            out->esc_short[a * SP_OUT_SHORT + out->esc_len[a]] = ' ';
            memcpy(out->sym_short + a * SP_OUT_SHORT, out->sym[a], out->sym_len[a]);
            out->sym_short[a * SP_OUT_SHORT + out->sym_len[a]] = ' ';
        }
    }
    free(at);
    for (int i = 0; i < NOUT; i++) out->file[i].fd = -1;
}

void sp_out_free(gen_out *out)
{
    free(out->esc_text);
    free(out->esc);
    free(out->esc_len);
    free(out->sym_len);
    free(out->sym);
    free(out->order);
    free(out->esc_short);
    free(out->sym_short);
}

void sp_out_location(sp_gen_format format, const char *split, char *buf, size_t size)
{
    if (format == SP_FORMAT_JSONL) snprintf(buf, size, "%s.jsonl", split);
    else if (!strcmp(split, "train")) snprintf(buf, size, ".");
    else snprintf(buf, size, "datasets/%s", split);
}

static int open_in(sp_outdir *dir, const char *loc, const char *file, sp_outfile *f, sp_error *err)
{
    char rel[512];
    snprintf(rel, sizeof rel, "%s/%s", loc, file);
    char *path = sp_outdir_path(dir, rel);
    int status = sp_outfile_open(f, path, err);
    free(path);
    return status;
}

int sp_out_open(gen_out *out, sp_outdir *dir, const gen_split *sp, sp_error *err)
{
    char loc[256];
    sp_out_location(out->format, sp->name, loc, sizeof loc);
    if (out->format == SP_FORMAT_JSONL) {
        char *path = sp_outdir_path(dir, loc);
        int status = sp_outfile_open(&out->file[OUT_MAIN], path, err);
        free(path);
        return status;
    }
    if (strcmp(loc, ".")) {
        if (!out->made_datasets && sp_outdir_mkdir(dir, "datasets", err)) return SP_EIO;
        out->made_datasets = true;
        if (sp_outdir_mkdir(dir, loc, err)) return SP_EIO;
    }
    if (open_in(dir, loc, "main.tok", &out->file[OUT_MAIN], err) ||
        open_in(dir, loc, "labels.txt", &out->file[OUT_LABELS], err) ||
        open_in(dir, loc, "num-edits.txt", &out->file[OUT_EDITS], err) ||
        (out->with_next && open_in(dir, loc, "next-symbols.jsonl", &out->file[OUT_NEXT], err))) {
        sp_out_discard(out);
        return SP_EIO;
    }
    return SP_OK;
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUT(p, lit) put((p), (lit), sizeof(lit) - 1)

static char *put_uint(char *p, unsigned long long v)
{
    char digits[24];
    size_t n = 0;
    do digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    while (n) *p++ = digits[--n];
    return p;
}

/* The symbols separated by spaces. With `padded` (see gen_out), SP_OUT_SHORT bytes are copied
 * per symbol, so the caller's buffer needs SP_OUT_SHORT bytes of room past the text. */
static char *put_symbols(char *p, const char *const *text, const size_t *len, const char *padded,
                         const int *s, size_t n)
{
    if (padded && n) {
        for (size_t i = 0; i < n; i++) {
            memcpy(p, padded + (size_t)s[i] * SP_OUT_SHORT, SP_OUT_SHORT);
            p += len[s[i]] + 1;
        }
        return p - 1; /* no space after the last symbol */
    }
    for (size_t i = 0; i < n; i++) {
        if (i) *p++ = ' ';
        p = put(p, text[s[i]], len[s[i]]);
    }
    return p;
}

/* Room for the JSON text of all next-symbol sets and end flags of a string of length n. */
static size_t next_bound(const gen_out *out, size_t n)
{
    return (n + 1) * (out->k * (out->max_len + 4) + 16);
}

static void jsonl_line(gen_out *out, const int *s, size_t n, bool label, unsigned edits,
                       const bool *next, const bool *end)
{
    sp_strbuf *b = &out->file[OUT_MAIN].buf;
    size_t k = out->k;
    size_t bound = 160 + n * (out->max_len + 1) + (next ? next_bound(out, n) : 0);
    char *start = sp_strbuf_grow(b, bound), *p = start;
    p = PUT(p, "{\"string\": \"");
    p = put_symbols(p, out->esc, out->esc_len, out->esc_short, s, n);
    p = PUT(p, "\", \"length\": ");
    p = put_uint(p, n);
    p = label ? PUT(p, ", \"label\": true, \"edits\": ") : PUT(p, ", \"label\": false, \"edits\": ");
    p = edits ? put_uint(p, edits) : PUT(p, "null");
    if (out->with_next && !next) p = PUT(p, ", \"next\": null, \"end\": null");
    if (out->with_next && next) {
        p = PUT(p, ", \"next\": [");
        for (size_t i = 0; i <= n; i++) {
            p = i ? PUT(p, ", [") : PUT(p, "[");
            bool first = true;
            for (size_t a = 0; a < k; a++) {
                if (!next[i * k + a]) continue;
                p = first ? PUT(p, "\"") : PUT(p, ", \"");
                p = put(p, out->esc[a], out->esc_len[a]);
                *p++ = '"';
                first = false;
            }
            *p++ = ']';
        }
        p = PUT(p, "], \"end\": [");
        for (size_t i = 0; i <= n; i++) {
            if (i) p = PUT(p, ", ");
            p = end[i] ? PUT(p, "true") : PUT(p, "false");
        }
        *p++ = ']';
    }
    p = PUT(p, "}\n");
    sp_strbuf_advance(b, (size_t)(p - start));
    sp_outfile_flush_if_full(&out->file[OUT_MAIN]);
}

/* FLaRe: next-symbols.jsonl holds, per positive, [{"s": "a b", "e": false}, ...] with the
 * symbols of each set sorted by spelling, as FLaRe's generator writes them. */
static void flare_line(gen_out *out, const int *s, size_t n, bool label, unsigned edits,
                       const bool *next, const bool *end)
{
    sp_strbuf *main = &out->file[OUT_MAIN].buf;
    char *start = sp_strbuf_grow(main, n * (out->max_len + 1) + 1 + SP_OUT_SHORT), *p = start;
    p = put_symbols(p, out->sym, out->sym_len, out->sym_short, s, n);
    *p++ = '\n';
    sp_strbuf_advance(main, (size_t)(p - start));
    sp_strbuf_append(&out->file[OUT_LABELS].buf, label ? "1\n" : "0\n", 2);
    if (!label) { /* one line per negative: K, or empty for a random string */
        sp_strbuf *edit = &out->file[OUT_EDITS].buf;
        start = p = sp_strbuf_grow(edit, 24);
        if (edits) p = put_uint(p, edits);
        *p++ = '\n';
        sp_strbuf_advance(edit, (size_t)(p - start));
    }
    if (out->with_next && next) {
        sp_strbuf *b = &out->file[OUT_NEXT].buf;
        size_t k = out->k;
        start = p = sp_strbuf_grow(b, next_bound(out, n) + 16);
        *p++ = '[';
        for (size_t i = 0; i <= n; i++) {
            p = i ? PUT(p, ", {\"s\": \"") : PUT(p, "{\"s\": \"");
            bool first = true;
            for (size_t j = 0; j < k; j++) {
                int a = out->order[j];
                if (!next[i * k + (size_t)a]) continue;
                if (!first) *p++ = ' ';
                p = put(p, out->esc[a], out->esc_len[a]);
                first = false;
            }
            p = end[i] ? PUT(p, "\", \"e\": true}") : PUT(p, "\", \"e\": false}");
        }
        p = PUT(p, "]\n");
        sp_strbuf_advance(b, (size_t)(p - start));
    }
    for (int i = 0; i < NOUT; i++)
        if (out->file[i].fd >= 0) sp_outfile_flush_if_full(&out->file[i]);
}

void sp_out_line(gen_out *out, const int *s, size_t n, bool label, unsigned edits,
                 const bool *next, const bool *end)
{
    if (out->format == SP_FORMAT_JSONL) jsonl_line(out, s, n, label, edits, next, end);
    else flare_line(out, s, n, label, edits, next, end);
}

int sp_out_close(gen_out *out, sp_error *err)
{
    int status = SP_OK;
    sp_error mine;
    for (int i = 0; i < NOUT; i++) {
        if (out->file[i].fd < 0) continue;
        if (sp_outfile_close(&out->file[i], status ? &mine : err)) status = SP_EIO;
    }
    return status;
}

void sp_out_discard(gen_out *out)
{
    for (int i = 0; i < NOUT; i++)
        if (out->file[i].fd >= 0) sp_outfile_discard(&out->file[i]);
}
