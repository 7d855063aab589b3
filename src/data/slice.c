/* A copy of a run of consecutive examples of a split: a sweep holds out the tail of the training
 * split for validation, so that the test splits choose nothing. */
#include "satprobe/alloc.h"
#include "satprobe/dataset.h"
#include "satprobe/error.h"

#include <string.h>

static char *dup_or_null(const char *s)
{
    return s ? sp_strdup(s) : NULL;
}

sp_dataset *sp_dataset_slice(const sp_dataset *ds, size_t from, size_t to, const char *split)
{
    SP_ASSERT(from <= to && to <= ds->count);
    size_t n = to - from, s0 = ds->start[from], nsyms = ds->start[to] - s0;
    sp_dataset *out = sp_calloc(1, sizeof *out);
    out->split = sp_strdup(split ? split : ds->split);
    out->task = dup_or_null(ds->task);
    out->k = ds->k;
    out->symbols = sp_malloc(ds->k ? ds->k : 1, sizeof *out->symbols);
    for (size_t a = 0; a < ds->k; a++) out->symbols[a] = sp_strdup(ds->symbols[a]);
    out->count = n;
    out->syms = sp_malloc(nsyms ? nsyms : 1, sizeof *out->syms);
    memcpy(out->syms, ds->syms + s0, nsyms * sizeof *out->syms);
    out->start = sp_malloc(n + 1, sizeof *out->start);
    for (size_t i = 0; i <= n; i++) out->start[i] = ds->start[from + i] - s0;
    out->label = sp_malloc(n ? n : 1, sizeof *out->label);
    memcpy(out->label, ds->label + from, n * sizeof *out->label);
    out->edits = sp_malloc(n ? n : 1, sizeof *out->edits);
    memcpy(out->edits, ds->edits + from, n * sizeof *out->edits);
    out->has_next = ds->has_next;
    if (ds->has_next) {
        /* example i owns rows start[i] + i + j, j = 0..len: the slice's rows are contiguous */
        size_t r0 = s0 + from, rows = nsyms + n;
        out->end = sp_malloc(rows ? rows : 1, sizeof *out->end);
        memcpy(out->end, ds->end + r0, rows * sizeof *out->end);
        out->next = sp_malloc(rows * ds->k > 0 ? rows * ds->k : 1, sizeof *out->next);
        memcpy(out->next, ds->next + r0 * ds->k, rows * ds->k * sizeof *out->next);
    }
    return out;
}
