/* satprobe: dispatch `satprobe <command> [options]` to one file per command. */
#include "cli.h"
#include "satprobe/layers.h"
#include "sp_config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static const cli_command commands[] = {
    {"langs", "table of the language zoo: kind, class, number of strings at lengths 10/50/100", cmd_langs},
    {"check", "validate languages and cross-check them against oracles by enumeration", cmd_check},
    {"count", "number of strings of each length, as TSV", cmd_count},
    {"accepts", "membership of strings read from stdin (1 or 0 per line)", cmd_accepts},
    {"sample", "uniformly random strings of a given length", cmd_sample},
    {"next", "valid next symbols after prefixes read from stdin", cmd_next},
    {"gen", "write a balanced dataset with test splits by length", cmd_gen},
    {"init", "write a randomly initialised model for a language", cmd_init},
    {"train", "train a model, recording parameter-norm growth and saturation", cmd_train},
    {"eval", "accuracy per length bin in soft, scaled, saturated and hard attention", cmd_eval},
    {"heads", "per attention head: positions attended under scaled parameters", cmd_heads},
    {"saturation", "cosine similarity of representations under theta and C*theta", cmd_saturation},
    {"probe", "run a probe file: train and evaluate every cell, write tables and plots", cmd_probe},
    {"report", "render a results directory's tables and plots again, without training", cmd_report},
    {"merge", "combine the results directories of a probe's shards", cmd_merge},
};
enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *f)
{
    fprintf(f,
            "usage: satprobe <command> [options]\n"
            "\n"
            "Which formal languages can transformers recognise, soft, saturated and hard?\n"
            "\n"
            "commands:\n");
    for (int i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n"
            "Run 'satprobe <command> --help' for a command's options.\n"
            "Strings are written as symbols separated by single spaces; the empty line is the\n"
            "empty string. Exit status: 0 success, 1 a check failed, 2 bad input or usage.\n"
            "  -h, --help     this help\n"
            "  -V, --version  print the version\n");
}

int main(int argc, char **argv)
{
    /* Numbers are parsed and printed in the C locale whatever the environment says. */
    setlocale(LC_ALL, "C");
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (cli_is_help(cmd) || !strcmp(cmd, "help")) {
        if (!strcmp(cmd, "help") && argc > 2) {
            for (int i = 0; i < NCOMMANDS; i++)
                if (!strcmp(argv[2], commands[i].name)) {
                    char *args[] = {argv[2], "--help", NULL};
                    return commands[i].run(2, args);
                }
            fprintf(stderr, "satprobe: no command '%s'\n", argv[2]);
            return CLI_USAGE;
        }
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("satprobe %s\nOpenBLAS kernels: %s (%s)\n", SP_VERSION, sp_blas_kernels(),
               sp_blas_split_exact() ? "results do not depend on --threads"
                                     : "--threads above 1 may change the last bits of results");
        return CLI_OK;
    }
    for (int i = 0; i < NCOMMANDS; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "satprobe: '%s' is not a command; run 'satprobe --help' for the list\n", cmd);
    return CLI_USAGE;
}
