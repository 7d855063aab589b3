/* A small YAML tree with source positions, built from libyaml events, and checked accessors that
 * turn every shape mistake (unknown key, wrong type, missing field) into a file:line:col error. */
#ifndef SATPROBE_YAML_H
#define SATPROBE_YAML_H

#include "satprobe/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum sp_yaml_type { SP_YAML_SCALAR, SP_YAML_SEQ, SP_YAML_MAP } sp_yaml_type;

typedef struct sp_yaml_node sp_yaml_node;
struct sp_yaml_node {
    sp_yaml_type type;
    int line, col;        /* 1-based position where the node starts */
    char *str;            /* SCALAR: the text, NUL-terminated (may contain NUL if len says so) */
    size_t len;           /* SCALAR: bytes in str */
    bool plain;           /* SCALAR: written without quotes (only plain scalars can be null) */
    char style;           /* SCALAR: how it was written: 0 plain, '\'' or '"' quoted, '|' or '>' block */
    size_t index;         /* byte offset in the source where the node starts */
    size_t n;             /* SEQ: items; MAP: key/value pairs */
    sp_yaml_node **items; /* SEQ: [n] items; MAP: [2n], key at 2i, value at 2i+1 */
};

/* A parsed document. The document owns every node; nodes live until sp_yaml_free. */
typedef struct sp_yaml_doc {
    char *file;         /* name used in error messages */
    char *text;         /* a copy of the source, [len] bytes, for positions inside scalars */
    size_t len;
    sp_yaml_node *root; /* NULL for an empty document */
} sp_yaml_doc;

/* Parse one YAML document from text[0..len). Aliases, anchors' reuse, several documents,
 * duplicate keys, non-scalar keys and nesting deeper than 64 are errors. On error nothing is
 * left allocated in doc. */
int sp_yaml_parse(sp_yaml_doc *doc, const char *file, const char *text, size_t len, sp_error *err);
void sp_yaml_free(sp_yaml_doc *doc);

/* Set err at node's position and return SP_EINPUT. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
int sp_yaml_error(sp_error *err, const sp_yaml_doc *doc, const sp_yaml_node *node, const char *fmt,
                  ...);

/* Position in the source of byte `offset` of a scalar's value, following quotes, '' and
 * backslash escapes, and block scalars' indentation, so that an error inside a regex or a rule
 * points at the character the user wrote. Falls back to the node's own position when the
 * offset is beyond the value. */
void sp_yaml_scalar_pos(const sp_yaml_doc *doc, const sp_yaml_node *node, size_t offset, int *line,
                        int *col);

/* Like sp_yaml_error, at byte `offset` of scalar node's value. */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
int sp_yaml_error_at(sp_error *err, const sp_yaml_doc *doc, const sp_yaml_node *node, size_t offset,
                     const char *fmt, ...);

/* A human name for a node's type ("a mapping", "a list", "a string"). */
const char *sp_yaml_type_name(const sp_yaml_node *node);

/* Value of `key` in a map, or NULL if absent. */
const sp_yaml_node *sp_yaml_get(const sp_yaml_node *map, const char *key);

/* Error at the first key of `map` that is not in the NULL-terminated `allowed` list. */
int sp_yaml_check_keys(const sp_yaml_doc *doc, const sp_yaml_node *map, const char *const *allowed,
                       const char *context, sp_error *err);

/* Error unless node has type t; `what` names the field in the message ("alphabet"). */
int sp_yaml_expect(const sp_yaml_doc *doc, const sp_yaml_node *node, sp_yaml_type t,
                   const char *what, sp_error *err);

/* The value of a required key; missing or null is an error at the map. */
int sp_yaml_require(const sp_yaml_doc *doc, const sp_yaml_node *map, const char *key,
                    const sp_yaml_node **out, sp_error *err);

/* A plain scalar "~", "null", "Null", "NULL" or empty. */
bool sp_yaml_is_null(const sp_yaml_node *node);

/* Typed reads; each is an error at the node if the node is not of that type. */
int sp_yaml_string(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what,
                   const char **out, sp_error *err);
int sp_yaml_int(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what, long lo,
                long hi, long *out, sp_error *err);
int sp_yaml_bool(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what, bool *out,
                 sp_error *err);
/* An integer in [lo, hi] (lo >= 0) as a size. */
int sp_yaml_size(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what, long lo,
                 long hi, size_t *out, sp_error *err);
/* A string that is one of names[0..n); *out is its index. Otherwise an error that lists them. */
int sp_yaml_enum(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what,
                 const char *const *names, size_t n, int *out, sp_error *err);
/* A finite number (YAML int or float syntax, C locale; .inf and .nan are errors). */
int sp_yaml_number(const sp_yaml_doc *doc, const sp_yaml_node *node, const char *what, double *out,
                   sp_error *err);

/* Read and parse a whole file (at most 64 MiB). */
int sp_yaml_load_file(sp_yaml_doc *doc, const char *path, sp_error *err);

#endif
