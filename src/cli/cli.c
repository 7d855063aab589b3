/* Helpers shared by the commands: number options, loading with errors, reading strings. */
#include "cli.h"
#include "sp_config.h"
#include "satprobe/alloc.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    fprintf(stderr, "satprobe %s: ", cmd);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_USAGE;
}

int cli_parse_ulong(const char *cmd, const char *opt, const char *val, unsigned long *out)
{
    char *end;
    errno = 0;
    if (!val || !*val || *val == '-' || *val == '+')
        return cli_usage_error(cmd, "%s needs a non-negative integer", opt);
    unsigned long v = strtoul(val, &end, 10);
    if (*end || errno == ERANGE)
        return cli_usage_error(cmd, "%s needs a non-negative integer, not '%s'", opt, val);
    *out = v;
    return CLI_OK;
}

int cli_parse_size(const char *cmd, const char *opt, const char *val, size_t max, size_t *out)
{
    unsigned long v = 0;
    if (cli_parse_ulong(cmd, opt, val, &v)) return CLI_USAGE;
    if (v > max) return cli_usage_error(cmd, "%s must be at most %zu, not %lu", opt, max, v);
    *out = (size_t)v;
    return CLI_OK;
}

int cli_load(const char *path, sp_lang **out)
{
    sp_error err;
    sp_error_clear(&err);
    if (sp_lang_load(path, out, &err) == SP_OK) return CLI_OK;
    sp_error_print(&err, stderr);
    return CLI_USAGE;
}

int cli_each_line(const char *cmd, sp_lang *lang, FILE *in, cli_line_fn fn, void *ctx)
{
    char *line = NULL;
    size_t lcap = 0, scap = 0, n;
    int *syms = NULL;
    ssize_t got;
    int status = CLI_OK;
    sp_strbuf out;
    sp_strbuf_init(&out);
    for (long lineno = 1; (got = getline(&line, &lcap, in)) >= 0; lineno++) {
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n') len--;
        if (len && line[len - 1] == '\r') len--;
        sp_error err;
        sp_error_clear(&err);
        if (sp_lang_parse_string(lang, line, len, &syms, &scap, &n, &err)) {
            fprintf(stderr, "<stdin>:%ld:%d: %s\n", lineno, err.col, err.msg);
            status = CLI_USAGE;
            break;
        }
        fn(lang, syms, n, &out, ctx);
    }
    if (status == CLI_OK && ferror(in)) {
        fprintf(stderr, "satprobe %s: error reading standard input\n", cmd);
        status = CLI_USAGE;
    }
    if (status == CLI_OK) fwrite(out.buf, 1, out.len, stdout);
    sp_strbuf_free(&out);
    free(syms);
    free(line);
    return status;
}

int cli_file_only(const char *cmd, const char *help, const char *what, int argc, char **argv,
                  const char **path)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return -1;
        }
        fputs(help, stderr);
        return CLI_USAGE;
    }
    if (optind + 1 != argc) return cli_usage_error(cmd, "needs exactly one %s (see --help)", what);
    *path = argv[optind];
    return CLI_OK;
}

bool cli_is_help(const char *arg) { return !strcmp(arg, "-h") || !strcmp(arg, "--help"); }

const char *cli_zoo_dir(void)
{
    const char *env = getenv("SATPROBE_GRAMMARS");
    if (env && *env) return env;
    return SP_SOURCE_DIR "/grammars";
}
