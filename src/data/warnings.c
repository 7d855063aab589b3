/* The warnings and notes of a split, from its plan and what was written: dropped lengths by
 * reason, near misses that ran out, full lengths, a shortfall. One line each, lengths listed as
 * ranges ("2-12, 14"). */
#include "gen_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Lengths of sp with f(L) true, as "2-12, 14, 16-20" (appended to b); returns how many. */
static size_t length_list(const gen_split *sp, bool (*f)(const gen_length *, const void *),
                          const void *arg, sp_strbuf *b)
{
    size_t count = 0;
    for (size_t i = 0; i < sp->nlen; i++) {
        if (!f(&sp->len[i], arg)) continue;
        size_t j = i;
        while (j + 1 < sp->nlen && f(&sp->len[j + 1], arg)) j++;
        if (count) sp_strbuf_puts(b, ", ");
        if (j == i) sp_strbuf_printf(b, "%zu", sp->len[i].n);
        else sp_strbuf_printf(b, "%zu-%zu", sp->len[i].n, sp->len[j].n);
        count += j - i + 1;
        i = j;
    }
    return count;
}

static bool dropped_for(const gen_length *L, const void *why)
{
    return L->dropped && !strcmp(L->dropped, why);
}

static bool fell_back(const gen_length *L, const void *arg) { return (void)arg, L->near_fallback > 0; }

static bool limited(const gen_length *L, const void *by)
{
    return L->limited_by && !strcmp(L->limited_by, by);
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void say(void (*emit)(void *, const char *), void *ctx, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    emit(ctx, line);
}

void sp_split_warnings(const gen_split *sp, void (*emit)(void *ctx, const char *line), void *ctx)
{
    sp_strbuf b;
    sp_strbuf_init(&b);
    const char *reasons[8];
    size_t nr = 0;
    for (size_t i = 0; i < sp->nlen; i++) {
        const char *why = sp->len[i].dropped;
        bool known = !why;
        for (size_t j = 0; j < nr && !known; j++) known = !strcmp(reasons[j], why);
        if (!known && nr < 8) reasons[nr++] = why;
    }
    for (size_t j = 0; j < nr; j++) {
        sp_strbuf_clear(&b);
        size_t m = length_list(sp, dropped_for, reasons[j], &b);
        say(emit, ctx, "warning: %s: length%s %s dropped: %s", sp->name, m > 1 ? "s" : "", b.buf,
            reasons[j]);
    }
    sp_strbuf_clear(&b);
    uint64_t fallback = 0;
    for (size_t i = 0; i < sp->nlen; i++) fallback += sp->len[i].near_fallback;
    size_t nfell = length_list(sp, fell_back, NULL, &b);
    if (nfell)
        say(emit, ctx, "warning: %s: near misses ran out at length%s %s; %llu random negative%s took "
            "their place", sp->name, nfell > 1 ? "s" : "", b.buf, (unsigned long long)fallback,
            fallback > 1 ? "s" : "");
    static const char *const by[] = {"members", "non-members"};
    static const char *const what[] = {"every member left", "as many non-members as allowed"};
    for (int j = 0; j < 2; j++) {
        sp_strbuf_clear(&b);
        size_t m = length_list(sp, limited, by[j], &b);
        if (m) say(emit, ctx, "note: %s: took %s at length%s %s", sp->name, what[j], m > 1 ? "s" : "", b.buf);
    }
    if (sp->lines < sp->requested)
        say(emit, ctx, "warning: %s: %llu strings instead of %llu: the language has too few usable "
            "strings of lengths %zu-%zu (all are taken; see manifest.json)", sp->name,
            (unsigned long long)sp->lines, (unsigned long long)sp->requested, sp->range.lo,
            sp->range.hi);
    sp_strbuf_free(&b);
}
