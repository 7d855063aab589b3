/* safetensors checkpoints: F32 tensors with dotted names and string metadata, written atomically
 * and read back with every field of the header validated (docs/checkpoints.md).
 *
 * Ownership: sp_st_write only reads what it is given. sp_st_read and sp_st_read_buffer return an
 * sp_st_file the caller releases with sp_st_free; every tensor view, name, float array and
 * metadata string obtained from it belongs to the file and lives until sp_st_free. */
#ifndef SATPROBE_SAFETENSORS_H
#define SATPROBE_SAFETENSORS_H

#include "satprobe/error.h"

#include <stddef.h>
#include <stdint.h>

/* Most dimensions a tensor may have (the transformer needs at most 2). */
#define SP_ST_MAX_DIMS 4
/* Largest header the reader accepts, in bytes (the 8-byte length prefix not counted). */
#define SP_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

/* A tensor to write, or a view of one read back. data holds shape[0] * ... * shape[ndim-1]
 * floats in row-major order (one float when ndim is 0); when a dimension is 0 it holds none and
 * may be NULL on writing. */
typedef struct sp_st_tensor {
    const char *name;             /* dotted name, e.g. "layers.0.attn.q.weight" */
    size_t ndim;                  /* 0..SP_ST_MAX_DIMS */
    size_t shape[SP_ST_MAX_DIMS]; /* [ndim] */
    const float *data;            /* [product of shape], host byte order */
} sp_st_tensor;

/* One "__metadata__" entry: both strings (a JSON config goes in as a string). */
typedef struct sp_st_meta {
    const char *key;
    const char *value;
} sp_st_meta;

typedef struct sp_st_file sp_st_file;

/* Write tensors[0..n) (laid out in this order) and meta[0..n_meta) to path, atomically: a
 * temporary file beside it is renamed over path only when everything was written. Duplicate or
 * empty names, "__metadata__" as a tensor name, duplicate metadata keys, more than
 * SP_ST_MAX_DIMS dimensions or sizes that overflow are SP_EINPUT; write failures SP_EIO. */
int sp_st_write(const char *path, const sp_st_tensor *tensors, size_t n, const sp_st_meta *meta,
                size_t n_meta, sp_error *err);

/* Read and validate a whole file. Errors read "PATH: what is wrong" (SP_EIO when the file cannot
 * be read, SP_EINPUT or SP_ELIMIT when its contents are wrong); *out is NULL then. */
int sp_st_read(const char *path, sp_st_file **out, sp_error *err);

/* The same on bytes[0..len) in memory; `name` stands for the file in messages. */
int sp_st_read_buffer(const char *name, const void *bytes, size_t len, sp_st_file **out,
                      sp_error *err);

void sp_st_free(sp_st_file *f);

/* Tensors in the order of the header's entries. */
size_t sp_st_count(const sp_st_file *f);
const sp_st_tensor *sp_st_at(const sp_st_file *f, size_t i);
/* The tensor called name, or NULL. */
const sp_st_tensor *sp_st_find(const sp_st_file *f, const char *name);

/* Metadata entries in header order; the value of key, or NULL. */
size_t sp_st_metadata_count(const sp_st_file *f);
sp_st_meta sp_st_metadata_at(const sp_st_file *f, size_t i);
const char *sp_st_metadata(const sp_st_file *f, const char *key);

#endif
