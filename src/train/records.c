/* The run's CSV records: kept in memory, rewritten atomically at each checkpoint, and cut back
 * to the checkpoint's step when a run resumes. */
#include "train_impl.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"

#include <stdlib.h>
#include <string.h>

int sp_csv_open(sp_csv *c, const char *dir, const char *name, const char *header, bool resume, uint64_t upto,
                sp_error *err)
{
    c->path = sp_path_join(dir, name);
    sp_strbuf_init(&c->text);
    sp_strbuf_puts(&c->text, header);
    sp_strbuf_putc(&c->text, '\n');
    if (!resume) return SP_OK;
    char *old;
    size_t len;
    int status = sp_read_file(c->path, (size_t)1 << 30, &old, &len, err);
    if (status) return status;
    size_t hl = strlen(header);
    if (len < hl + 1 || memcmp(old, header, hl) || old[hl] != '\n') {
        free(old);
        return sp_error_set(err, SP_EINPUT, c->path, 1, 1, "not a record of this kind (the header differs)");
    }
    char *p = old + hl + 1, *end = old + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) break; /* a line cut short: everything after the checkpoint is redone anyway */
        char *e;
        unsigned long long step = strtoull(p, &e, 10);
        if (e == p || *e != ',') {
            free(old);
            return sp_error_set(err, SP_EINPUT, c->path, 0, 0, "a row does not start with a step");
        }
        if (step <= upto) sp_strbuf_append(&c->text, p, (size_t)(nl - p) + 1);
        p = nl + 1;
    }
    free(old);
    return SP_OK;
}

int sp_csv_write(const sp_csv *c, sp_error *err)
{
    return sp_write_file_atomic(c->path, c->text.buf, c->text.len, err);
}

void sp_csv_free(sp_csv *c)
{
    free(c->path);
    sp_strbuf_free(&c->text);
    c->path = NULL;
}
