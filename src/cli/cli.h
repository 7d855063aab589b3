/* Shared pieces of the satprobe commands: option values, loading languages, stdin lines. */
#ifndef SATPROBE_CLI_H
#define SATPROBE_CLI_H

#include "satprobe/lang.h"
#include "satprobe/strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit statuses: 0 success, 1 a check found a problem, 2 bad input or usage. */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

/* One command: its name, a one-line summary for `satprobe --help`, and its entry point
 * (argv[0] is the command name). */
typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command;

int cmd_langs(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_count(int argc, char **argv);
int cmd_accepts(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_next(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_heads(int argc, char **argv);
int cmd_saturation(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_merge(int argc, char **argv);

/* Print "satprobe CMD: message" to stderr and return CLI_USAGE. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int cli_usage_error(const char *cmd, const char *fmt, ...);

/* Parse a non-negative integer option value in [0, max]. */
int cli_parse_size(const char *cmd, const char *opt, const char *val, size_t max, size_t *out);
int cli_parse_ulong(const char *cmd, const char *opt, const char *val, unsigned long *out);

/* Load a language or print its error (file:line:col: message) and return CLI_USAGE. */
int cli_load(const char *path, sp_lang **out);

/* Read stdin lines as strings of lang, calling fn for each with its symbols; the output fn writes
 * goes to `out`, which is only printed when every line was valid. Returns an exit status. */
typedef void (*cli_line_fn)(sp_lang *lang, const int *s, size_t n, sp_strbuf *out, void *ctx);
int cli_each_line(const char *cmd, sp_lang *lang, FILE *in, cli_line_fn fn, void *ctx);

/* Parse the arguments of a command that takes one argument (`what` names it in the usage error:
 * "grammar FILE") and only --help: on success *path is the argument and CLI_OK is returned; -1
 * means --help was printed (exit 0); otherwise the usage error status. */
int cli_file_only(const char *cmd, const char *help, const char *what, int argc, char **argv,
                  const char **path);

/* True when `arg` is -h or --help. */
bool cli_is_help(const char *arg);

/* Directory of the language zoo: $SATPROBE_GRAMMARS, else the source tree's grammars/. */
const char *cli_zoo_dir(void);

#endif
