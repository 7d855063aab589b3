/* SHA-256 (FIPS 180-4): incremental hashing of byte streams and of whole files. */
#ifndef SATPROBE_SHA256_H
#define SATPROBE_SHA256_H

#include "satprobe/error.h"

#include <stddef.h>
#include <stdint.h>

/* The caller owns the context (on the stack is fine); nothing inside is heap-allocated. */
typedef struct sp_sha256 {
    uint32_t h[8];       /* chaining state */
    uint64_t bytes;      /* message bytes hashed so far */
    unsigned char block[64];
    size_t used;         /* bytes waiting in block */
} sp_sha256;

void sp_sha256_init(sp_sha256 *c);
void sp_sha256_update(sp_sha256 *c, const void *data, size_t len);
/* Pad, write the 32-byte digest to out; the context must be initialised again before reuse. */
void sp_sha256_final(sp_sha256 *c, unsigned char out[32]);

/* Digest of data[0..len) as 64 lowercase hex digits plus a NUL. */
void sp_sha256_hex(const void *data, size_t len, char hex[65]);

/* Hex digest of a file's bytes; SP_EIO with err set when it cannot be read. */
int sp_sha256_file(const char *path, char hex[65], sp_error *err);

#endif
