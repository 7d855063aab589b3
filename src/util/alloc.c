/* Checked allocation: every failure is fatal and names the caller's file and line. */
#include "satprobe/alloc.h"
#include "satprobe/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t checked_bytes(size_t n, size_t size, const char *file, int line)
{
    if (size && n > SIZE_MAX / size) sp_panic(file, line, "allocation size overflow (%zu x %zu)", n, size);
    size_t bytes = n * size;
    return bytes ? bytes : 1;
}

void *sp_malloc_at(size_t n, size_t size, const char *file, int line)
{
    size_t bytes = checked_bytes(n, size, file, line);
    void *p = malloc(bytes);
    if (!p) sp_panic(file, line, "out of memory (%zu bytes)", bytes);
    return p;
}

void *sp_calloc_at(size_t n, size_t size, const char *file, int line)
{
    size_t bytes = checked_bytes(n, size, file, line);
    void *p = calloc(1, bytes);
    if (!p) sp_panic(file, line, "out of memory (%zu bytes)", bytes);
    return p;
}

void *sp_realloc_at(void *old, size_t n, size_t size, const char *file, int line)
{
    size_t bytes = checked_bytes(n, size, file, line);
    void *p = realloc(old, bytes);
    if (!p) sp_panic(file, line, "out of memory (%zu bytes)", bytes);
    return p;
}

char *sp_strndup_at(const char *s, size_t len, const char *file, int line)
{
    char *p = sp_malloc_at(len + 1, 1, file, line);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *sp_strdup_at(const char *s, const char *file, int line)
{
    return sp_strndup_at(s, strlen(s), file, line);
}
