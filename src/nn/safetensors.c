/* safetensors checkpoints: the F32 writer (atomic, padded header) and the validating reader. */
#include "satprobe/safetensors.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"
#include "satprobe/json.h"
#include "satprobe/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sp_st_file {
    size_t n;
    sp_st_tensor *tensors; /* [n] in header order; names and data point into the fields below */
    char **names;          /* [n] */
    float *data;           /* [data bytes / 4] the whole data section, host order */
    size_t n_meta;
    sp_st_meta *meta;      /* [n_meta]; strings owned through meta_str */
    char **meta_str;       /* [2 * n_meta] key, value, key, value, ... */
};

/* ---- shared ------------------------------------------------------------------------------ */

/* Element count of a shape; false on overflow of count * 4 bytes. */
static bool shape_bytes(const size_t *shape, size_t ndim, size_t *bytes)
{
    size_t count = 1;
    for (size_t d = 0; d < ndim; d++) {
        if (shape[d] && count > SIZE_MAX / shape[d]) return false;
        count *= shape[d];
    }
    if (count > SIZE_MAX / 4) return false;
    *bytes = count * 4;
    return true;
}

static void put_u64le(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first name that occurs twice in names[0..n), or NULL. Sorts a copy of the pointers. */
static const char *first_duplicate(const char *const *names, size_t n)
{
    if (n < 2) return NULL;
    const char **sorted = sp_malloc(n, sizeof *sorted);
    memcpy(sorted, names, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_str);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (!strcmp(sorted[i - 1], sorted[i])) dup = sorted[i];
    free(sorted);
    return dup;
}

/* ---- writer ------------------------------------------------------------------------------ */

static int check_inputs(const char *path, const sp_st_tensor *tensors, size_t n,
                        const sp_st_meta *meta, size_t n_meta, sp_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const sp_st_tensor *t = &tensors[i];
        size_t bytes;
        if (!t->name || !*t->name)
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "tensor %zu has no name", i);
        if (!strcmp(t->name, "__metadata__"))
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "'__metadata__' is not a tensor name");
        if (t->ndim > SP_ST_MAX_DIMS)
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "tensor '%s' has %zu dimensions (at most %d)",
                                t->name, t->ndim, SP_ST_MAX_DIMS);
        if (!shape_bytes(t->shape, t->ndim, &bytes))
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "tensor '%s' is too large", t->name);
        if (bytes && !t->data)
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "tensor '%s' has no data", t->name);
    }
    for (size_t i = 0; i < n_meta; i++)
        if (!meta[i].key || !meta[i].value)
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "metadata entry %zu lacks a key or value", i);
    const char **names = sp_malloc(n > n_meta ? n : n_meta, sizeof *names);
    for (size_t i = 0; i < n; i++) names[i] = tensors[i].name;
    const char *dup = first_duplicate(names, n);
    int status = SP_OK;
    if (dup) status = sp_error_set(err, SP_EINPUT, path, 0, 0, "duplicate tensor name '%s'", dup);
    if (!status) {
        for (size_t i = 0; i < n_meta; i++) names[i] = meta[i].key;
        dup = first_duplicate(names, n_meta);
        if (dup) status = sp_error_set(err, SP_EINPUT, path, 0, 0, "duplicate metadata key '%s'", dup);
    }
    free(names);
    return status;
}

/* The JSON header, padded with spaces to a multiple of 8 bytes so that the data section starts
 * 8-byte aligned in the file. */
static void build_header(sp_strbuf *h, const sp_st_tensor *tensors, size_t n, const sp_st_meta *meta,
                         size_t n_meta)
{
    sp_json_writer w;
    sp_json_writer_init(&w, h, false);
    sp_json_object_begin(&w);
    if (n_meta) {
        sp_json_key(&w, "__metadata__");
        sp_json_object_begin(&w);
        for (size_t i = 0; i < n_meta; i++) {
            sp_json_key(&w, meta[i].key);
            sp_json_string(&w, meta[i].value);
        }
        sp_json_object_end(&w);
    }
    size_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        const sp_st_tensor *t = &tensors[i];
        size_t bytes;
        SP_ASSERT(shape_bytes(t->shape, t->ndim, &bytes));
        sp_json_key(&w, t->name);
        sp_json_object_begin(&w);
        sp_json_key(&w, "dtype");
        sp_json_string(&w, "F32");
        sp_json_key(&w, "shape");
        sp_json_array_begin(&w);
        for (size_t d = 0; d < t->ndim; d++) sp_json_uint(&w, t->shape[d]);
        sp_json_array_end(&w);
        sp_json_key(&w, "data_offsets");
        sp_json_array_begin(&w);
        sp_json_uint(&w, offset);
        sp_json_uint(&w, offset + bytes);
        sp_json_array_end(&w);
        sp_json_object_end(&w);
        offset += bytes;
    }
    sp_json_object_end(&w);
    while (h->len % 8) sp_strbuf_putc(h, ' ');
}

int sp_st_write(const char *path, const sp_st_tensor *tensors, size_t n, const sp_st_meta *meta,
                size_t n_meta, sp_error *err)
{
    int status = check_inputs(path, tensors, n, meta, n_meta, err);
    if (status) return status;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t bytes;
        SP_ASSERT(shape_bytes(tensors[i].shape, tensors[i].ndim, &bytes));
        if (bytes > SIZE_MAX - total)
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "the tensors are too large together");
        total += bytes;
    }
    sp_strbuf header;
    sp_strbuf_init(&header);
    build_header(&header, tensors, n, meta, n_meta);

    sp_outfile f;
    status = sp_outfile_open_atomic(&f, path, err);
    if (status) {
        sp_strbuf_free(&header);
        return status;
    }
    put_u64le((unsigned char *)sp_strbuf_grow(&f.buf, 8), header.len);
    sp_strbuf_advance(&f.buf, 8);
    sp_strbuf_append(&f.buf, header.buf, header.len);
    sp_strbuf_free(&header);
    for (size_t i = 0; i < n; i++) {
        size_t bytes;
        SP_ASSERT(shape_bytes(tensors[i].shape, tensors[i].ndim, &bytes));
        const float *x = tensors[i].data;
        for (size_t j = 0; j < bytes / 4; j++) {
            uint32_t u;
            memcpy(&u, &x[j], 4);
            unsigned char *p = (unsigned char *)sp_strbuf_grow(&f.buf, 4);
            p[0] = (unsigned char)u;
            p[1] = (unsigned char)(u >> 8);
            p[2] = (unsigned char)(u >> 16);
            p[3] = (unsigned char)(u >> 24);
            sp_strbuf_advance(&f.buf, 4);
            if ((j & 4095) == 4095) sp_outfile_flush_if_full(&f);
        }
        sp_outfile_flush_if_full(&f);
    }
    return sp_outfile_close(&f, err);
}

/* ---- reader ------------------------------------------------------------------------------ */

/* One validated header entry while the file is being built. */
typedef struct entry {
    size_t index; /* position among the tensors, in header order */
    uint64_t begin, end;
} entry;

static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* A JSON number that is a whole number >= 0, into *v. */
static bool get_count(const sp_json_value *v, uint64_t *out)
{
    if (v->type != SP_JSON_NUMBER || !v->is_int || v->integer < 0) return false;
    *out = (uint64_t)v->integer;
    return true;
}

static int read_metadata(const char *name, const sp_json_value *m, sp_st_file *f, sp_error *err)
{
    if (m->type != SP_JSON_OBJECT)
        return sp_error_set(err, SP_EINPUT, name, 0, 0, "__metadata__ is %s, not an object",
                            sp_json_type_name(m->type));
    const char *dup = first_duplicate((const char *const *)m->keys, m->n);
    if (dup) return sp_error_set(err, SP_EINPUT, name, 0, 0, "__metadata__: duplicate key '%s'", dup);
    for (size_t i = 0; i < m->n; i++) {
        const sp_json_value *v = m->items[i];
        if (v->type != SP_JSON_STRING)
            return sp_error_set(err, SP_EINPUT, name, 0, 0, "__metadata__: '%s' is %s, not a string",
                                m->keys[i], sp_json_type_name(v->type));
        if (strlen(v->str) != v->len)
            return sp_error_set(err, SP_EINPUT, name, 0, 0, "__metadata__: '%s' holds a NUL character",
                                m->keys[i]);
    }
    f->n_meta = m->n;
    f->meta = sp_malloc(m->n, sizeof *f->meta);
    f->meta_str = sp_malloc(2 * m->n, sizeof *f->meta_str);
    for (size_t i = 0; i < m->n; i++) {
        f->meta_str[2 * i] = sp_strdup(m->keys[i]);
        f->meta_str[2 * i + 1] = sp_strdup(m->items[i]->str);
        f->meta[i].key = f->meta_str[2 * i];
        f->meta[i].value = f->meta_str[2 * i + 1];
    }
    return SP_OK;
}

/* Check one tensor entry: exactly dtype, shape and data_offsets, consistent with each other. */
static int read_entry(const char *name, const char *key, const sp_json_value *v, sp_st_tensor *t,
                      entry *e, sp_error *err)
{
    if (v->type != SP_JSON_OBJECT)
        return sp_error_set(err, SP_EINPUT, name, 0, 0, "tensor '%s' is %s, not an object", key,
                            sp_json_type_name(v->type));
    const sp_json_value *dtype = sp_json_get(v, "dtype"), *shape = sp_json_get(v, "shape"),
                        *offs = sp_json_get(v, "data_offsets");
    if (!dtype || !shape || !offs)
        return sp_error_set(err, SP_EINPUT, name, 0, 0, "tensor '%s' lacks '%s'", key,
                            !dtype ? "dtype" : !shape ? "shape" : "data_offsets");
    if (v->n != 3) {
        for (size_t i = 0; i < v->n; i++)
            if (strcmp(v->keys[i], "dtype") && strcmp(v->keys[i], "shape") &&
                strcmp(v->keys[i], "data_offsets"))
                return sp_error_set(err, SP_EINPUT, name, 0, 0, "tensor '%s' has an unknown key '%s'",
                                    key, v->keys[i]);
        return sp_error_set(err, SP_EINPUT, name, 0, 0, "tensor '%s' repeats a key", key);
    }
    if (dtype->type != SP_JSON_STRING)
        return sp_error_set(err, SP_EINPUT, name, 0, 0, "tensor '%s': dtype is %s, not a string", key,
                            sp_json_type_name(dtype->type));
    if (strcmp(dtype->str, "F32") || dtype->len != 3)
        return sp_error_set(err, SP_EINPUT, name, 0, 0,
                            "tensor '%s': dtype '%s' is not supported (only F32)", key, dtype->str);
    if (shape->type != SP_JSON_ARRAY)
        return sp_error_set(err, SP_EINPUT, name, 0, 0, "tensor '%s': shape is %s, not an array", key,
                            sp_json_type_name(shape->type));
    if (shape->n > SP_ST_MAX_DIMS)
        return sp_error_set(err, SP_EINPUT, name, 0, 0, "tensor '%s': shape has %zu dimensions (at most %d)",
                            key, shape->n, SP_ST_MAX_DIMS);
    t->ndim = shape->n;
    for (size_t d = 0; d < shape->n; d++) {
        uint64_t s;
        if (!get_count(shape->items[d], &s) || s > SIZE_MAX)
            return sp_error_set(err, SP_EINPUT, name, 0, 0,
                                "tensor '%s': shape entry %zu is not a non-negative integer", key, d);
        t->shape[d] = (size_t)s;
    }
    if (offs->type != SP_JSON_ARRAY || offs->n != 2 || !get_count(offs->items[0], &e->begin) ||
        !get_count(offs->items[1], &e->end))
        return sp_error_set(err, SP_EINPUT, name, 0, 0,
                            "tensor '%s': data_offsets is not [begin, end] with non-negative integers", key);
    if (e->end < e->begin)
        return sp_error_set(err, SP_EINPUT, name, 0, 0,
                            "tensor '%s': data_offsets [%llu, %llu] end before they begin", key,
                            (unsigned long long)e->begin, (unsigned long long)e->end);
    size_t bytes;
    if (!shape_bytes(t->shape, t->ndim, &bytes))
        return sp_error_set(err, SP_EINPUT, name, 0, 0, "tensor '%s': shape is too large", key);
    if ((uint64_t)bytes != e->end - e->begin)
        return sp_error_set(err, SP_EINPUT, name, 0, 0,
                            "tensor '%s': shape needs %zu bytes but data_offsets [%llu, %llu] hold %llu",
                            key, bytes, (unsigned long long)e->begin, (unsigned long long)e->end,
                            (unsigned long long)(e->end - e->begin));
    return SP_OK;
}

/* The entries sorted by offset must tile [0, data_len) exactly. */
static int check_layout(const char *name, const sp_st_file *f, entry *es, size_t n, uint64_t data_len,
                        sp_error *err)
{
    qsort(es, n, sizeof *es, cmp_entry);
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const char *tn = f->tensors[es[i].index].name;
        if (es[i].begin > at)
            return sp_error_set(err, SP_EINPUT, name, 0, 0,
                                "gap in the data section: bytes [%llu, %llu) belong to no tensor (before '%s')",
                                (unsigned long long)at, (unsigned long long)es[i].begin, tn);
        if (es[i].begin < at)
            return sp_error_set(err, SP_EINPUT, name, 0, 0,
                                "tensor '%s': data_offsets [%llu, %llu] overlap '%s' (which ends at %llu)",
                                tn, (unsigned long long)es[i].begin, (unsigned long long)es[i].end,
                                f->tensors[es[i - 1].index].name, (unsigned long long)at);
        if (es[i].end > data_len)
            return sp_error_set(err, SP_EINPUT, name, 0, 0,
                                "tensor '%s': data_offsets end %llu is beyond the data section (%llu bytes)",
                                tn, (unsigned long long)es[i].end, (unsigned long long)data_len);
        at = es[i].end;
    }
    if (at != data_len)
        return sp_error_set(err, SP_EINPUT, name, 0, 0,
                            "%llu trailing bytes after the last tensor (data section is %llu bytes, tensors end at %llu)",
                            (unsigned long long)(data_len - at), (unsigned long long)data_len,
                            (unsigned long long)at);
    return SP_OK;
}

static int read_header(const char *name, const sp_json_value *root, sp_st_file *f, entry **entries,
                       sp_error *err)
{
    if (root->type != SP_JSON_OBJECT)
        return sp_error_set(err, SP_EINPUT, name, 0, 0, "header is %s, not a JSON object",
                            sp_json_type_name(root->type));
    const char *dup = first_duplicate((const char *const *)root->keys, root->n);
    if (dup) return sp_error_set(err, SP_EINPUT, name, 0, 0, "duplicate tensor name '%s'", dup);
    const sp_json_value *meta = sp_json_get(root, "__metadata__");
    if (meta) {
        int status = read_metadata(name, meta, f, err);
        if (status) return status;
    }
    size_t n = root->n - (meta ? 1 : 0);
    f->tensors = sp_calloc(n, sizeof *f->tensors);
    f->names = sp_calloc(n, sizeof *f->names);
    entry *es = sp_malloc(n, sizeof *es);
    *entries = es;
    for (size_t i = 0; i < root->n; i++) {
        const char *key = root->keys[i];
        if (!strcmp(key, "__metadata__")) continue;
        if (!*key) return sp_error_set(err, SP_EINPUT, name, 0, 0, "a tensor has an empty name");
        sp_st_tensor *t = &f->tensors[f->n];
        entry *e = &es[f->n];
        e->index = f->n;
        int status = read_entry(name, key, root->items[i], t, e, err);
        if (status) return status;
        f->names[f->n] = sp_strdup(key);
        t->name = f->names[f->n];
        f->n++;
    }
    return SP_OK;
}

int sp_st_read_buffer(const char *name, const void *bytes, size_t len, sp_st_file **out,
                      sp_error *err)
{
    *out = NULL;
    const unsigned char *b = bytes;
    if (len < 8)
        return sp_error_set(err, SP_EINPUT, name, 0, 0,
                            "truncated: %zu bytes, fewer than the 8 of the header length", len);
    uint64_t hlen = get_u64le(b);
    if (hlen > SP_ST_MAX_HEADER)
        return sp_error_set(err, SP_ELIMIT, name, 0, 0, "header length %llu exceeds the limit of %llu bytes",
                            (unsigned long long)hlen, (unsigned long long)SP_ST_MAX_HEADER);
    if (hlen > len - 8)
        return sp_error_set(err, SP_EINPUT, name, 0, 0,
                            "header length %llu goes beyond the end of the file (%zu bytes after the length)",
                            (unsigned long long)hlen, len - 8);
    if (hlen == 0 || b[8] != '{')
        return sp_error_set(err, SP_EINPUT, name, 0, 0, "header does not start with '{'");
    sp_json_value *root = NULL;
    sp_error jerr;
    sp_error_clear(&jerr);
    if (sp_json_parse((const char *)b + 8, (size_t)hlen, &root, &jerr))
        return sp_error_set(err, SP_EINPUT, name, 0, 0, "header is not valid JSON (line %d, column %d): %s",
                            jerr.line, jerr.col, jerr.msg);

    sp_st_file *f = sp_calloc(1, sizeof *f);
    entry *es = NULL;
    uint64_t data_len = len - 8 - hlen;
    int status = read_header(name, root, f, &es, err);
    sp_json_free(root);
    if (!status) status = check_layout(name, f, es, f->n, data_len, err);
    if (status) {
        free(es);
        sp_st_free(f);
        return status;
    }
    /* Little-endian bytes to host floats, one slab for the whole data section; offsets are
     * multiples of 4 because the tensors tile the section from 0 in 4-byte elements. */
    const unsigned char *d = b + 8 + hlen;
    size_t count = (size_t)data_len / 4;
    f->data = sp_malloc(count, sizeof *f->data);
    for (size_t i = 0; i < count; i++) {
        const unsigned char *p = d + 4 * i;
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        memcpy(&f->data[i], &u, 4);
    }
    for (size_t i = 0; i < f->n; i++) f->tensors[es[i].index].data = f->data + es[i].begin / 4;
    free(es);
    *out = f;
    return SP_OK;
}

int sp_st_read(const char *path, sp_st_file **out, sp_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sp_error_set(err, SP_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sp_error_set(err, SP_EIO, path, 0, 0, "not a regular file");
    }
    size_t len = (size_t)st.st_size;
    unsigned char *buf = sp_malloc(len, 1);
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != len) {
        free(buf);
        return sp_error_set(err, SP_EIO, path, 0, 0, "read error");
    }
    int status = sp_st_read_buffer(path, buf, len, out, err);
    free(buf);
    return status;
}

void sp_st_free(sp_st_file *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) free(f->names[i]);
    for (size_t i = 0; i < 2 * f->n_meta; i++) free(f->meta_str[i]);
    free(f->names);
    free(f->tensors);
    free(f->data);
    free(f->meta);
    free(f->meta_str);
    free(f);
}

size_t sp_st_count(const sp_st_file *f) { return f->n; }

const sp_st_tensor *sp_st_at(const sp_st_file *f, size_t i)
{
    SP_ASSERT(i < f->n);
    return &f->tensors[i];
}

const sp_st_tensor *sp_st_find(const sp_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

size_t sp_st_metadata_count(const sp_st_file *f) { return f->n_meta; }

sp_st_meta sp_st_metadata_at(const sp_st_file *f, size_t i)
{
    SP_ASSERT(i < f->n_meta);
    return f->meta[i];
}

const char *sp_st_metadata(const sp_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta[i].key, key)) return f->meta[i].value;
    return NULL;
}
