/* Errors as values: user mistakes come back as a status plus an sp_error with file:line:col. */
#ifndef SATPROBE_ERROR_H
#define SATPROBE_ERROR_H

#include <stdio.h>

/* Status codes returned by every fallible function. SP_OK is 0 so `if (status)` reads as "failed". */
typedef enum sp_status {
    SP_OK = 0,
    SP_EINPUT = 1, /* the user's input is wrong: bad YAML, bad regex, bad string, bad option */
    SP_EIO = 2,    /* reading or writing a file failed */
    SP_ELIMIT = 3, /* a size limit was hit (too many DFA states, too many configurations) */
    SP_ECHECK = 4, /* an internal cross-check disagreed (two routes to the same answer differ) */
} sp_status;

/* Where and what. line and col are 1-based; 0 means "not known" and is left out when printed. */
typedef struct sp_error {
    char file[512];
    int line;
    int col;
    char msg[1024];
} sp_error;

/* Clear an error record (empty file, no position, empty message). */
void sp_error_clear(sp_error *err);

/* Fill err and return status. err may be NULL, in which case only the status is returned. */
#if defined(__GNUC__)
__attribute__((format(printf, 6, 7)))
#endif
int sp_error_set(sp_error *err, sp_status status, const char *file, int line, int col,
                 const char *fmt, ...);

/* Write "file:line:col: msg" (parts that are unknown are left out) and a newline to f. */
void sp_error_print(const sp_error *err, FILE *f);

/* Broken invariants are bugs, not user errors: abort with file and line. */
#define SP_ASSERT(cond)                                                                  \
    do {                                                                                 \
        if (!(cond)) sp_panic(__FILE__, __LINE__, "assertion failed: %s", #cond);       \
    } while (0)

#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 3, 4)))
#endif
void sp_panic(const char *file, int line, const char *fmt, ...);

#endif
