/* Error records and the abort path for broken invariants. */
#include "satprobe/error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void sp_error_clear(sp_error *err)
{
    if (!err) return;
    err->file[0] = '\0';
    err->line = 0;
    err->col = 0;
    err->msg[0] = '\0';
}

int sp_error_set(sp_error *err, sp_status status, const char *file, int line, int col,
                 const char *fmt, ...)
{
    if (!err) return status;
    snprintf(err->file, sizeof err->file, "%s", file ? file : "");
    err->line = line;
    err->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return status;
}

void sp_error_print(const sp_error *err, FILE *f)
{
    if (err->file[0]) {
        fputs(err->file, f);
        if (err->line > 0) {
            fprintf(f, ":%d", err->line);
            if (err->col > 0) fprintf(f, ":%d", err->col);
        }
        fputs(": ", f);
    }
    fprintf(f, "%s\n", err->msg);
}

void sp_panic(const char *file, int line, const char *fmt, ...)
{
    fprintf(stderr, "satprobe: internal error at %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
