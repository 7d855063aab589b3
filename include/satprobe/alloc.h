/* Checked allocation: running out of memory aborts with file and line instead of returning NULL. */
#ifndef SATPROBE_ALLOC_H
#define SATPROBE_ALLOC_H

#include <stddef.h>

/* The caller owns every returned block and releases it with free(). Zero-size requests
 * return a unique non-NULL pointer. n * size overflow aborts. */
void *sp_malloc_at(size_t n, size_t size, const char *file, int line);
void *sp_calloc_at(size_t n, size_t size, const char *file, int line);
void *sp_realloc_at(void *p, size_t n, size_t size, const char *file, int line);
char *sp_strdup_at(const char *s, const char *file, int line);
char *sp_strndup_at(const char *s, size_t len, const char *file, int line);

#define sp_malloc(n, size) sp_malloc_at((n), (size), __FILE__, __LINE__)
#define sp_calloc(n, size) sp_calloc_at((n), (size), __FILE__, __LINE__)
#define sp_realloc(p, n, size) sp_realloc_at((p), (n), (size), __FILE__, __LINE__)
#define sp_strdup(s) sp_strdup_at((s), __FILE__, __LINE__)
#define sp_strndup(s, len) sp_strndup_at((s), (len), __FILE__, __LINE__)

/* Grow *buf (of *cap elements of size `size`) so that it holds at least `need` elements. */
#define SP_GROW(buf, cap, need)                                                          \
    do {                                                                                 \
        if ((need) > (cap)) {                                                            \
            size_t sp_grow_new_ = (cap) ? (cap) : 8;                                     \
            while (sp_grow_new_ < (need)) sp_grow_new_ *= 2;                             \
            (buf) = sp_realloc((buf), sp_grow_new_, sizeof *(buf));                      \
            (cap) = sp_grow_new_;                                                        \
        }                                                                                \
    } while (0)

#endif
