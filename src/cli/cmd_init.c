/* satprobe init: a randomly initialised model for a language, written as a checkpoint. */
#include "cli.h"
#include "cli_model.h"
#include "satprobe/alloc.h"
#include "satprobe/rng.h"

#include <getopt.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char help[] =
    "usage: satprobe init --lang GRAMMAR [--config MODEL.yaml] [--seed S] -o FILE [--force]\n"
    "\n"
    "Write a randomly initialised model for the grammar's alphabet as a safetensors checkpoint:\n"
    "PyTorch's default initialisation (linear layers uniform in +-1/sqrt(fan_in), embeddings\n"
    "N(0, 1), layer norms 1 and 0), drawn from the seed. The configuration keys and defaults are\n"
    "in docs/model.md.\n"
    "\n"
    "  --lang GRAMMAR      the language (its alphabet is the vocabulary)\n"
    "  --config FILE       model configuration (YAML); default: docs/model.md's defaults\n"
    "  --seed S            random seed (default 1)\n"
    "  -o, --output FILE   where to write the checkpoint\n"
    "  --force             replace FILE if it exists\n"
    "  -h, --help          this help\n";

int cmd_init(int argc, char **argv)
{
    enum { OPT_LANG = 256, OPT_CONFIG, OPT_SEED, OPT_FORCE };
    static const struct option opts[] = {{"lang", required_argument, NULL, OPT_LANG},
                                         {"config", required_argument, NULL, OPT_CONFIG},
                                         {"seed", required_argument, NULL, OPT_SEED},
                                         {"output", required_argument, NULL, 'o'},
                                         {"force", no_argument, NULL, OPT_FORCE},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *lang_path = NULL, *config_path = NULL, *out = NULL;
    unsigned long seed = 1;
    bool force = false;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_LANG: lang_path = optarg; break;
        case OPT_CONFIG: config_path = optarg; break;
        case OPT_SEED:
            if (cli_parse_ulong("init", "--seed", optarg, &seed)) return CLI_USAGE;
            break;
        case 'o': out = optarg; break;
        case OPT_FORCE: force = true; break;
        case 'h': fputs(help, stdout); return CLI_OK;
        default: fputs(help, stderr); return CLI_USAGE;
        }
    }
    if (optind != argc) return cli_usage_error("init", "unexpected argument '%s' (see --help)", argv[optind]);
    if (!lang_path) return cli_usage_error("init", "needs --lang GRAMMAR (see --help)");
    if (!out) return cli_usage_error("init", "needs -o FILE (see --help)");
    struct stat st;
    if (!force && stat(out, &st) == 0)
        return cli_usage_error("init", "%s exists; use --force to replace it", out);
    sp_lang *lang;
    if (cli_load(lang_path, &lang)) return CLI_USAGE;
    sp_error err;
    sp_error_clear(&err);
    sp_model_config cfg;
    sp_config_init(&cfg);
    int status = config_path ? sp_config_load_yaml(&cfg, config_path, &err) : SP_OK;
    if (!status && cfg.k)
        status = sp_error_set(&err, SP_EINPUT, config_path, 0, 0,
                              "the alphabet comes from --lang; leave it out of the configuration");
    sp_model *m = NULL;
    if (!status) {
        size_t k = sp_lang_alphabet_size(lang);
        const char **syms = sp_malloc(k, sizeof *syms);
        for (size_t i = 0; i < k; i++) syms[i] = sp_lang_symbol(lang, (int)i);
        sp_config_set_alphabet(&cfg, syms, k);
        free(syms);
        status = sp_model_new(&cfg, &m, &err);
    }
    if (!status) {
        gsl_rng *r = sp_rng_new(seed);
        sp_model_init_random(m, r);
        gsl_rng_free(r);
        status = sp_model_save(m, out, &err);
    }
    if (status) cli_print_error("init", &err);
    else
        fprintf(stderr, "wrote %s: %zu parameters in %zu tensors, seed %lu\n", out, sp_model_num_params(m),
                sp_model_num_tensors(m), seed);
    sp_model_destroy(m);
    sp_config_free(&cfg);
    sp_lang_destroy(lang);
    return status ? CLI_USAGE : CLI_OK;
}
