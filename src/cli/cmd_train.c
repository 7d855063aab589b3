/* satprobe train: train a transformer on a language or a dataset and record norm growth. */
#include "cli.h"
#include "cli_model.h"
#include "satprobe/alloc.h"
#include "satprobe/fsutil.h"
#include "satprobe/json.h"
#include "satprobe/rng.h"
#include "satprobe/sha256.h"
#include "satprobe/train.h"
#include "sp_config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char help[] =
    "usage: satprobe train (--lang GRAMMAR | --data DIR) [--config MODEL.yaml] [options] -o RUNDIR\n"
    "\n"
    "Train a transformer with soft attention and record what the norm of its parameters does.\n"
    "With --lang the default dataset of `satprobe gen` is generated into RUNDIR/data first.\n"
    "RUNDIR gets train.csv, norms.csv, saturation.csv, fit.json, model.safetensors (the last\n"
    "checkpoint), best.safetensors (the best validation loss), optim.safetensors and run.json;\n"
    "docs/training.md describes them.\n"
    "\n"
    "data and model:\n"
    "  --lang GRAMMAR        generate the data from a language\n"
    "  --data DIR            a dataset written by satprobe gen\n"
    "  --val-split NAME      validation split (default test-1-50, else the first test split)\n"
    "  --config FILE         model configuration (YAML, docs/model.md); the options below\n"
    "                        override it: --d-model N --layers N --heads N --d-ff N\n"
    "                        --norm pre|post|none --bias true|false --mask causal|none\n"
    "                        --readout cls|last|mean --pos LIST --heads-out recognize|predict|both\n"
    "                        --max-len N\n"
    "  --loss KIND           recognize, predict or both (default: what the model's heads do)\n"
    "  --next-weight W       weight of the next-symbol loss with --loss both (default 1)\n"
    "optimization:\n"
    "  --steps N             optimizer updates (default 1000)\n"
    "  --batch N             strings per update (default 32)\n"
    "  --optimizer NAME      sgd, adam or adamw (default adamw)\n"
    "  --lr X                learning rate (default 1e-3)\n"
    "  --momentum X          SGD momentum (default 0.9)\n"
    "  --beta1 X, --beta2 X, --eps X   Adam parameters (default 0.9, 0.999, 1e-8)\n"
    "  --weight-decay X      (default 0.01)\n"
    "  --clip X              clip the gradient norm to X (default 0: no clipping)\n"
    "  --schedule NAME       constant, warmup, invsqrt or cosine (default constant)\n"
    "  --warmup N            warm-up steps (default 0)\n"
    "run:\n"
    "  --seed S              initialisation, batch order and generated data (default 1)\n"
    "  --val-every N         validate, record saturation and checkpoint every N steps (default 100)\n"
    "  --patience N          stop after N validations without a better loss (default 0: never)\n"
    "  --norm-every N        record the norms every N steps (default 10)\n"
    "  --resume              continue RUNDIR from its last checkpoint\n"
    "  --force               write into an existing RUNDIR that holds a run\n"
    "  --threads N           threads (default 1; results do not depend on it)\n"
    "  -o, --output RUNDIR   the run directory\n"
    "  -h, --help            this help\n";

enum {
    O_LANG = 300, O_DATA, O_VAL, O_CONFIG, O_DMODEL, O_LAYERS, O_HEADS, O_DFF, O_NORM, O_BIAS, O_MASK, O_READOUT,
    O_POS, O_HEADS_OUT, O_MAXLEN, O_LOSS, O_NEXTW, O_STEPS, O_BATCH, O_OPT, O_LR, O_MOM, O_B1, O_B2, O_EPS, O_WD,
    O_CLIP, O_SCHED, O_WARMUP, O_SEED, O_VALEVERY, O_PATIENCE, O_NORMEVERY, O_RESUME, O_FORCE, O_THREADS,
};

static int parse_double(const char *opt, const char *arg, double *out)
{
    char *e;
    double v = strtod(arg, &e);
    if (e == arg || *e) return cli_usage_error("train", "%s needs a number, not '%s'", opt, arg);
    *out = v;
    return CLI_OK;
}

/* A model option as a one-key YAML document read over cfg, so that values get the config's checks. */
static int model_option(sp_model_config *cfg, const char *key, const char *value)
{
    char text[512];
    if (!strcmp(key, "pos")) snprintf(text, sizeof text, "pos: [%s]\n", value);
    else snprintf(text, sizeof text, "%s: %s\n", key, value);
    sp_yaml_doc doc;
    sp_error err;
    sp_error_clear(&err);
    int status = sp_yaml_parse(&doc, "option", text, strlen(text), &err);
    if (!status) {
        /* keep d_ff when d_model changes: the reader sets d_ff = 4 d_model when it is absent */
        size_t d_ff = cfg->d_ff;
        status = sp_config_from_yaml(cfg, &doc, doc.root, &err);
        if (strcmp(key, "d_ff")) cfg->d_ff = d_ff;
        sp_yaml_free(&doc);
    }
    if (status) return cli_usage_error("train", "--%s %s: %s", key, value, err.msg);
    return CLI_OK;
}

static bool exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int write_run_json(const char *dir, const char *source, const sp_model_config *cfg, const sp_train_options *o,
                          sp_error *err)
{
    sp_strbuf sb, c;
    sp_strbuf_init(&sb);
    sp_strbuf_init(&c);
    sp_config_to_json(cfg, &c);
    sp_json_writer w;
    sp_json_writer_init(&w, &sb, true);
    sp_json_object_begin(&w);
    sp_json_key(&w, "satprobe_version");
    sp_json_string(&w, SP_VERSION);
    sp_json_key(&w, "data");
    sp_json_string(&w, source);
    sp_json_key(&w, "config");
    sp_json_raw(&w, c.buf, c.len);
    sp_json_key(&w, "seed");
    sp_json_uint(&w, o->seed);
    sp_json_key(&w, "steps");
    sp_json_uint(&w, o->steps);
    sp_json_key(&w, "batch");
    sp_json_uint(&w, o->batch);
    sp_json_key(&w, "loss");
    sp_json_string(&w, sp_loss_kind_name(o->loss));
    sp_json_key(&w, "next_weight");
    sp_json_double(&w, o->next_weight);
    sp_json_key(&w, "optimizer");
    sp_json_object_begin_inline(&w);
    sp_json_key(&w, "kind");
    sp_json_string(&w, sp_opt_kind_name(o->optim.kind));
    sp_json_key(&w, "lr");
    sp_json_double(&w, o->optim.lr);
    sp_json_key(&w, "momentum");
    sp_json_double(&w, o->optim.momentum);
    sp_json_key(&w, "beta1");
    sp_json_double(&w, o->optim.beta1);
    sp_json_key(&w, "beta2");
    sp_json_double(&w, o->optim.beta2);
    sp_json_key(&w, "eps");
    sp_json_double(&w, o->optim.eps);
    sp_json_key(&w, "weight_decay");
    sp_json_double(&w, o->optim.weight_decay);
    sp_json_key(&w, "clip");
    sp_json_double(&w, o->optim.clip);
    sp_json_key(&w, "schedule");
    sp_json_string(&w, sp_sched_kind_name(o->optim.schedule));
    sp_json_key(&w, "warmup");
    sp_json_uint(&w, o->optim.warmup);
    sp_json_key(&w, "total");
    sp_json_uint(&w, o->optim.total);
    sp_json_object_end(&w);
    sp_json_key(&w, "val_every");
    sp_json_uint(&w, o->val_every);
    sp_json_key(&w, "patience");
    sp_json_uint(&w, o->patience);
    sp_json_key(&w, "norm_every");
    sp_json_uint(&w, o->norm_every);
    sp_json_object_end(&w);
    sp_strbuf_putc(&sb, '\n');
    char *path = sp_path_join(dir, "run.json");
    int status = sp_write_file_atomic(path, sb.buf, sb.len, err);
    free(path);
    sp_strbuf_free(&sb);
    sp_strbuf_free(&c);
    return status;
}

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"lang", required_argument, NULL, O_LANG},          {"data", required_argument, NULL, O_DATA},
        {"val-split", required_argument, NULL, O_VAL},      {"config", required_argument, NULL, O_CONFIG},
        {"d-model", required_argument, NULL, O_DMODEL},     {"layers", required_argument, NULL, O_LAYERS},
        {"heads", required_argument, NULL, O_HEADS},        {"d-ff", required_argument, NULL, O_DFF},
        {"norm", required_argument, NULL, O_NORM},          {"bias", required_argument, NULL, O_BIAS},
        {"mask", required_argument, NULL, O_MASK},          {"readout", required_argument, NULL, O_READOUT},
        {"pos", required_argument, NULL, O_POS},            {"heads-out", required_argument, NULL, O_HEADS_OUT},
        {"max-len", required_argument, NULL, O_MAXLEN},     {"loss", required_argument, NULL, O_LOSS},
        {"next-weight", required_argument, NULL, O_NEXTW},  {"steps", required_argument, NULL, O_STEPS},
        {"batch", required_argument, NULL, O_BATCH},        {"optimizer", required_argument, NULL, O_OPT},
        {"lr", required_argument, NULL, O_LR},              {"momentum", required_argument, NULL, O_MOM},
        {"beta1", required_argument, NULL, O_B1},           {"beta2", required_argument, NULL, O_B2},
        {"eps", required_argument, NULL, O_EPS},            {"weight-decay", required_argument, NULL, O_WD},
        {"clip", required_argument, NULL, O_CLIP},          {"schedule", required_argument, NULL, O_SCHED},
        {"warmup", required_argument, NULL, O_WARMUP},      {"seed", required_argument, NULL, O_SEED},
        {"val-every", required_argument, NULL, O_VALEVERY}, {"patience", required_argument, NULL, O_PATIENCE},
        {"norm-every", required_argument, NULL, O_NORMEVERY}, {"resume", no_argument, NULL, O_RESUME},
        {"force", no_argument, NULL, O_FORCE},              {"threads", required_argument, NULL, O_THREADS},
        {"output", required_argument, NULL, 'o'},           {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *lang_path = NULL, *data = NULL, *val_split = NULL, *config = NULL, *out = NULL;
    /* model options are applied after --config, in the order given */
    const char *mkeys[16], *mvals[16];
    size_t nm = 0;
    bool resume = false, force = false, loss_given = false;
    sp_train_options o;
    sp_train_options_default(&o);
    size_t v;
    int threads = 1, c;
    sp_error err;
    sp_error_clear(&err);
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        const char *key = NULL;
        switch (c) {
        case 'h': fputs(help, stdout); return CLI_OK;
        case 'o': out = optarg; break;
        case O_LANG: lang_path = optarg; break;
        case O_DATA: data = optarg; break;
        case O_VAL: val_split = optarg; break;
        case O_CONFIG: config = optarg; break;
        case O_DMODEL: key = "d_model"; break;
        case O_LAYERS: key = "layers"; break;
        case O_HEADS: key = "heads"; break;
        case O_DFF: key = "d_ff"; break;
        case O_NORM: key = "norm"; break;
        case O_BIAS: key = "bias"; break;
        case O_MASK: key = "mask"; break;
        case O_READOUT: key = "readout"; break;
        case O_POS: key = "pos"; break;
        case O_HEADS_OUT: key = "heads_out"; break;
        case O_MAXLEN: key = "max_len"; break;
        case O_LOSS:
            loss_given = true;
            if (!strcmp(optarg, "recognize")) o.loss = SP_LOSS_RECOGNIZE;
            else if (!strcmp(optarg, "predict")) o.loss = SP_LOSS_PREDICT;
            else if (!strcmp(optarg, "both")) o.loss = SP_LOSS_BOTH;
            else return cli_usage_error("train", "--loss must be recognize, predict or both, not '%s'", optarg);
            break;
        case O_NEXTW:
            if (parse_double("--next-weight", optarg, &o.next_weight)) return CLI_USAGE;
            if (!(o.next_weight >= 0)) return cli_usage_error("train", "--next-weight must be >= 0");
            break;
        case O_STEPS:
            if (cli_parse_size("train", "--steps", optarg, (size_t)1 << 40, &v)) return CLI_USAGE;
            o.steps = v;
            break;
        case O_BATCH:
            if (cli_parse_size("train", "--batch", optarg, 65536, &o.batch)) return CLI_USAGE;
            break;
        case O_OPT:
            if (sp_opt_kind_parse(optarg, &o.optim.kind, &err)) return cli_usage_error("train", "--optimizer: %s", err.msg);
            break;
        case O_LR:
            if (parse_double("--lr", optarg, &o.optim.lr)) return CLI_USAGE;
            break;
        case O_MOM:
            if (parse_double("--momentum", optarg, &o.optim.momentum)) return CLI_USAGE;
            break;
        case O_B1:
            if (parse_double("--beta1", optarg, &o.optim.beta1)) return CLI_USAGE;
            break;
        case O_B2:
            if (parse_double("--beta2", optarg, &o.optim.beta2)) return CLI_USAGE;
            break;
        case O_EPS:
            if (parse_double("--eps", optarg, &o.optim.eps)) return CLI_USAGE;
            break;
        case O_WD:
            if (parse_double("--weight-decay", optarg, &o.optim.weight_decay)) return CLI_USAGE;
            break;
        case O_CLIP:
            if (parse_double("--clip", optarg, &o.optim.clip)) return CLI_USAGE;
            break;
        case O_SCHED:
            if (sp_sched_kind_parse(optarg, &o.optim.schedule, &err))
                return cli_usage_error("train", "--schedule: %s", err.msg);
            break;
        case O_WARMUP:
            if (cli_parse_size("train", "--warmup", optarg, (size_t)1 << 40, &v)) return CLI_USAGE;
            o.optim.warmup = v;
            break;
        case O_SEED:
            if (cli_parse_ulong("train", "--seed", optarg, &o.seed)) return CLI_USAGE;
            break;
        case O_VALEVERY:
            if (cli_parse_size("train", "--val-every", optarg, (size_t)1 << 40, &v)) return CLI_USAGE;
            o.val_every = v;
            break;
        case O_PATIENCE:
            if (cli_parse_size("train", "--patience", optarg, (size_t)1 << 40, &v)) return CLI_USAGE;
            o.patience = v;
            break;
        case O_NORMEVERY:
            if (cli_parse_size("train", "--norm-every", optarg, (size_t)1 << 40, &v)) return CLI_USAGE;
            o.norm_every = v;
            break;
        case O_RESUME: resume = true; break;
        case O_FORCE: force = true; break;
        case O_THREADS:
            if (cli_parse_size("train", "--threads", optarg, 256, &v)) return CLI_USAGE;
            if (!v) return cli_usage_error("train", "--threads must be at least 1");
            threads = (int)v;
            break;
        default: fputs(help, stderr); return CLI_USAGE;
        }
        if (key) {
            if (nm == 16) return cli_usage_error("train", "too many model options");
            mkeys[nm] = key;
            mvals[nm++] = optarg;
        }
    }
    if (optind != argc) return cli_usage_error("train", "unexpected argument '%s' (see --help)", argv[optind]);
    if (!out) return cli_usage_error("train", "needs -o RUNDIR (see --help)");
    if (!lang_path == !data) return cli_usage_error("train", "needs exactly one of --lang GRAMMAR and --data DIR");
    if (o.steps == 0 || o.batch == 0 || o.val_every == 0 || o.norm_every == 0)
        return cli_usage_error("train", "--steps, --batch, --val-every and --norm-every must be at least 1");
    o.optim.total = o.steps;
    if (sp_optim_config_check(&o.optim, &err)) return cli_usage_error("train", "%s", err.msg);
    char *manifest = sp_path_join(out, "optim.safetensors");
    bool has_run = exists(manifest);
    free(manifest);
    if (resume && !has_run) return cli_usage_error("train", "--resume: %s holds no checkpoint (optim.safetensors)", out);
    if (!resume && !force && exists(out)) {
        return cli_usage_error("train", "%s exists; use --resume to continue it or --force to start over in it", out);
    }
    sp_blas_set_threads(threads);

    /* the model configuration */
    sp_model_config cfg;
    sp_config_init(&cfg);
    if (config && sp_config_load_yaml(&cfg, config, &err)) {
        cli_print_error("train", &err);
        sp_config_free(&cfg);
        return CLI_USAGE;
    }
    for (size_t i = 0; i < nm; i++)
        if (model_option(&cfg, mkeys[i], mvals[i])) {
            sp_config_free(&cfg);
            return CLI_USAGE;
        }
    if (!loss_given) o.loss = cfg.heads_out == SP_OUT_PREDICT ? SP_LOSS_PREDICT
                              : cfg.heads_out == SP_OUT_BOTH  ? SP_LOSS_BOTH
                                                              : SP_LOSS_RECOGNIZE;

    /* the data */
    int status = CLI_OK;
    char *data_dir = NULL;
    if (mkdir(out, 0777) && errno != EEXIST) {
        sp_config_free(&cfg);
        return cli_usage_error("train", "cannot create %s: %s", out, strerror(errno));
    }
    if (lang_path) {
        sp_lang *lang;
        if (cli_load(lang_path, &lang)) {
            sp_config_free(&cfg);
            return CLI_USAGE;
        }
        data_dir = sp_path_join(out, "data");
        char *mf = sp_path_join(data_dir, "manifest.json");
        bool have = exists(mf);
        free(mf);
        if (!have || !resume) {
            sp_gen_options g;
            sp_gen_options_default(&g);
            g.seed = o.seed;
            g.force = true;
            g.progress = true;
            g.log = stderr;
            char sha[65];
            sp_gen_summary gs;
            if (sp_sha256_file(lang_path, sha, &err) || sp_gen_run(lang, sha, data_dir, &g, &gs, &err)) {
                cli_print_error("train", &err);
                status = CLI_USAGE;
            }
        }
        sp_lang_destroy(lang);
    } else
        data_dir = sp_strdup(data);
    sp_dataset *train = NULL, *val = NULL;
    if (!status && sp_dataset_load(data_dir, "train", &train, &err)) {
        cli_print_error("train", &err);
        status = CLI_USAGE;
    }
    if (!status) {
        const char *vs = val_split;
        char **names = NULL;
        size_t n = 0;
        if (!vs) {
            if (sp_dataset_splits(data_dir, &names, &n, &err)) {
                cli_print_error("train", &err);
                status = CLI_USAGE;
            } else {
                for (size_t i = 0; i < n && !vs; i++)
                    if (!strcmp(names[i], "test-1-50")) vs = names[i];
                for (size_t i = 0; i < n && !vs; i++)
                    if (strcmp(names[i], "train")) vs = names[i];
                if (!vs && !status) {
                    cli_usage_error("train", "%s has no split besides train to validate on", data_dir);
                    status = CLI_USAGE;
                }
            }
        }
        if (!status && sp_dataset_load(data_dir, vs, &val, &err)) {
            cli_print_error("train", &err);
            status = CLI_USAGE;
        }
        sp_dataset_splits_free(names, n);
    }
    sp_model *m = NULL;
    if (!status) {
        sp_config_set_alphabet(&cfg, (const char *const *)train->symbols, train->k);
        if (sp_model_new(&cfg, &m, &err)) {
            cli_print_error("train", &err);
            status = CLI_USAGE;
        }
    }
    if (!status) {
        gsl_rng *r = sp_rng_new(o.seed);
        sp_model_init_random(m, r);
        gsl_rng_free(r);
        o.progress = true;
        o.log = stderr;
        if (write_run_json(out, lang_path ? lang_path : data, sp_model_config_of(m), &o, &err)) {
            cli_print_error("train", &err);
            status = CLI_USAGE;
        }
    }
    sp_train_summary s;
    if (!status) {
        fprintf(stderr, "training %zu parameters on %zu strings (validation: %s, %zu strings), seed %lu\n",
                sp_model_num_params(m), train->count, val->split, val->count, o.seed);
        int st = sp_train(m, train, val, &o, out, resume, &s, &err);
        if (st) {
            cli_print_error("train", &err);
            status = st == SP_ECHECK ? CLI_FAILED : CLI_USAGE;
        }
    }
    if (!status) {
        printf("run        %s\n", out);
        printf("steps      %llu%s (from %llu), %.1f s\n", (unsigned long long)s.steps,
               s.stopped_early ? " (stopped early)" : "", (unsigned long long)s.start_step, s.seconds);
        printf("loss       %.6f (last step)\n", s.last_loss);
        printf("validation loss %.6f, accuracy %.4f; best %.6f (accuracy %.4f) at step %llu\n", s.val_loss, s.val_acc,
               s.best_val_loss, s.best_val_acc, (unsigned long long)s.best_step);
        printf("norm       %.6g -> %.6g\n", s.norm_start, s.norm_end);
        if (s.has_fit) {
            printf("fit        norm = %.6g sqrt(t) + %.6g   (r2 %.4f)\n", s.fit_sqrt.a, s.fit_sqrt.b, s.fit_sqrt.r2);
            printf("           norm = %.6g t^%.4f        (r2 %.4f)\n", s.fit_power.a, s.fit_power.b, s.fit_power.r2);
        }
    }
    sp_model_destroy(m);
    sp_dataset_destroy(train);
    sp_dataset_destroy(val);
    free(data_dir);
    sp_config_free(&cfg);
    return status;
}
