/* JSON: a streaming writer into an sp_strbuf (escaping, C-locale numbers, nesting, pretty or
 * compact) and a small reader that builds a tree (for dataset lines and manifests).
 *
 * Ownership: the writer appends to a strbuf the caller owns and keeps no memory of its own.
 * sp_json_parse returns a tree the caller releases with sp_json_free; strings and keys inside
 * belong to the tree. */
#ifndef SATPROBE_JSON_H
#define SATPROBE_JSON_H

#include "satprobe/error.h"
#include "satprobe/strbuf.h"

#include <stdbool.h>
#include <stddef.h>

/* Deepest nesting the writer and the reader accept. */
#define SP_JSON_MAX_DEPTH 64

/* ---- writer ------------------------------------------------------------------------------ */

/* Values are separated by ", " and keys by ": " (the style of Python's json.dumps). In pretty
 * mode every member and element goes on its own line, indented by two spaces per level, except
 * inside containers opened with the _inline variants, which stay on one line. Misuse (a value
 * where a key is due, unbalanced ends, nesting beyond SP_JSON_MAX_DEPTH) aborts: it is a bug. */
typedef struct sp_json_writer {
    sp_strbuf *out;
    bool pretty;
    int depth;                          /* open containers */
    int inline_depth;                   /* depth at which the innermost inline container opened, 0 if none */
    bool is_object[SP_JSON_MAX_DEPTH + 1];
    size_t count[SP_JSON_MAX_DEPTH + 1]; /* members/elements written at each depth */
    bool key_pending;                   /* a key was written; its value is due */
} sp_json_writer;

void sp_json_writer_init(sp_json_writer *w, sp_strbuf *out, bool pretty);
void sp_json_object_begin(sp_json_writer *w);
void sp_json_object_begin_inline(sp_json_writer *w);
void sp_json_object_end(sp_json_writer *w);
void sp_json_array_begin(sp_json_writer *w);
void sp_json_array_begin_inline(sp_json_writer *w);
void sp_json_array_end(sp_json_writer *w);
/* The next member's key (inside an object). */
void sp_json_key(sp_json_writer *w, const char *key);
/* Strings: '"' and '\\' are escaped, control characters as \b \f \n \r \t or \u00XX; every other
 * byte, UTF-8 included, passes through unchanged. */
void sp_json_string(sp_json_writer *w, const char *s);
void sp_json_string_n(sp_json_writer *w, const char *s, size_t len);
void sp_json_int(sp_json_writer *w, long long v);
void sp_json_uint(sp_json_writer *w, unsigned long long v);
/* Shortest of %.15g/%.16g/%.17g that reads back exactly, C locale; NaN and infinities as null. */
void sp_json_double(sp_json_writer *w, double v);
void sp_json_bool(sp_json_writer *w, bool v);
void sp_json_null(sp_json_writer *w);
/* A value already encoded as JSON (a number formatted elsewhere, a pre-escaped string). */
void sp_json_raw(sp_json_writer *w, const char *json, size_t len);

/* Append s[0..len) escaped as in sp_json_string but without the quotes. */
void sp_json_escape(sp_strbuf *out, const char *s, size_t len);

/* Format v as sp_json_double does into buf (at least 32 bytes); returns the length. */
size_t sp_json_format_double(double v, char *buf, size_t size);

/* ---- reader ------------------------------------------------------------------------------ */

typedef enum sp_json_type {
    SP_JSON_NULL,
    SP_JSON_BOOL,
    SP_JSON_NUMBER,
    SP_JSON_STRING,
    SP_JSON_ARRAY,
    SP_JSON_OBJECT,
} sp_json_type;

typedef struct sp_json_value sp_json_value;
struct sp_json_value {
    sp_json_type type;
    bool boolean;          /* BOOL */
    double number;         /* NUMBER */
    bool is_int;           /* NUMBER written without fraction or exponent and within long long */
    long long integer;     /* NUMBER when is_int */
    char *str;             /* STRING: decoded, NUL-terminated (may hold NUL bytes; see len) */
    size_t len;            /* STRING: bytes in str */
    size_t n;              /* ARRAY: elements; OBJECT: members */
    sp_json_value **items; /* ARRAY, OBJECT: [n] values in document order */
    char **keys;           /* OBJECT: [n] decoded keys */
};

/* Parse exactly one JSON value (RFC 8259) from text[0..len), surrounding white space allowed.
 * Numbers are read in the C locale; \u escapes (surrogate pairs included) become UTF-8; raw
 * bytes >= 0x80 are kept as they are. On error returns SP_EINPUT with err->line and err->col
 * (1-based, in bytes) at the offending character and err->file empty; *out is NULL. */
int sp_json_parse(const char *text, size_t len, sp_json_value **out, sp_error *err);
void sp_json_free(sp_json_value *v);

/* Read the file at path (at most max bytes; sp_read_file's errors) and parse it as above; a
 * parse error carries the path as err->file. */
int sp_json_load(const char *path, size_t max, sp_json_value **out, sp_error *err);

/* Write a parsed value through the writer: integers as they were written, other numbers as
 * sp_json_double (so they read back the same), objects and arrays inline. */
void sp_json_write_value(sp_json_writer *w, const sp_json_value *v);

/* The value of key in an object (the first if repeated), or NULL. */
const sp_json_value *sp_json_get(const sp_json_value *obj, const char *key);

/* A human name for a type ("a string", "an object"). */
const char *sp_json_type_name(sp_json_type t);

#endif
