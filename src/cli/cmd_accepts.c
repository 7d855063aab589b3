/* satprobe accepts: membership of each string read from stdin. */
#include "cli.h"


static const char help[] =
    "usage: satprobe accepts FILE < strings\n"
    "\n"
    "Read strings from standard input, one per line, symbols separated by single spaces (the\n"
    "empty line is the empty string), and print 1 if the language contains the string, else 0.\n"
    "A line with an unknown symbol is an error (<stdin>:line:col, exit 2) and nothing is printed.\n"
    "\n"
    "  -h, --help  this help\n";

static void accept_line(sp_lang *lang, const int *s, size_t n, sp_strbuf *out, void *ctx)
{
    (void)ctx;
    sp_strbuf_puts(out, sp_lang_accepts(lang, s, n) ? "1\n" : "0\n");
}

int cmd_accepts(int argc, char **argv)
{
    const char *path;
    int st = cli_file_only("accepts", help, "grammar FILE", argc, argv, &path);
    if (st) return st < 0 ? CLI_OK : st;
    sp_lang *lang;
    if (cli_load(path, &lang)) return CLI_USAGE;
    int status = cli_each_line("accepts", lang, stdin, accept_line, NULL);
    sp_lang_destroy(lang);
    return status;
}
