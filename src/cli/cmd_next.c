/* satprobe next: the valid next symbols after each prefix read from stdin. */
#include "cli.h"
#include "satprobe/alloc.h"

#include <stdlib.h>

static const char help[] =
    "usage: satprobe next FILE < prefixes\n"
    "\n"
    "Read prefixes from standard input like 'accepts' does, and print for each the symbols that\n"
    "can continue it towards a member of the language, space-separated in alphabet order, then\n"
    "'$' if the prefix itself is a member. A prefix that no member starts with gives an empty\n"
    "line.\n"
    "\n"
    "  -h, --help  this help\n";

static void next_line(sp_lang *lang, const int *s, size_t n, sp_strbuf *out, void *ctx)
{
    bool *valid = ctx, can_end;
    sp_lang_next(lang, s, n, valid, &can_end);
    bool first = true;
    for (size_t a = 0; a < sp_lang_alphabet_size(lang); a++) {
        if (!valid[a]) continue;
        if (!first) sp_strbuf_putc(out, ' ');
        sp_strbuf_puts(out, sp_lang_symbol(lang, (int)a));
        first = false;
    }
    if (can_end) sp_strbuf_puts(out, first ? "$" : " $");
    sp_strbuf_putc(out, '\n');
}

int cmd_next(int argc, char **argv)
{
    const char *path;
    int st = cli_file_only("next", help, "grammar FILE", argc, argv, &path);
    if (st) return st < 0 ? CLI_OK : st;
    sp_lang *lang;
    if (cli_load(path, &lang)) return CLI_USAGE;
    bool *valid = sp_calloc(sp_lang_alphabet_size(lang), sizeof *valid);
    int status = cli_each_line("next", lang, stdin, next_line, valid);
    free(valid);
    sp_lang_destroy(lang);
    return status;
}
