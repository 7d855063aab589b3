/* satprobe heads: per attention head, how many positions it attends to under scaled parameters. */
#include "cli.h"
#include "cli_model.h"
#include "satprobe/alloc.h"
#include "satprobe/json.h"

#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: satprobe heads --model FILE (--data PATH | --lang GRAMMAR) [--scale C] [options]\n"
    "\n"
    "Under scaled:C (every parameter times C, default 1000), for each layer and head over every\n"
    "query position: the mean number of positions with attention weight > 1e-5, the fraction of\n"
    "queries attending to more than one position, the mean number of visible positions, and a\n"
    "label: argmax-like (mean <= 1.5), mean-like (mean >= 0.8 x mean visible) or intermediate.\n"
    "\n"
    "  --scale C           the scale (default 1000)\n" CLI_MODEL_HELP
    "  -h, --help          this help\n";


int cmd_heads(int argc, char **argv)
{
    cli_model_opts mo;
    double scale;
    int args = cli_scale_args("heads", help, argc, argv, &mo, &scale);
    if (args) return args < 0 ? CLI_OK : args;
    cli_model_ctx ctx;
    int status = cli_model_load(&mo, NULL, 0, &ctx);
    if (status) {
        cli_model_free(&ctx);
        return status;
    }
    const sp_model_config *cfg = sp_model_config_of(ctx.model);
    size_t L = cfg->layers, NH = cfg->heads;
    sp_head_stats *st = sp_calloc(L * NH + 1, sizeof *st);
    sp_error err;
    sp_error_clear(&err);
    if (sp_eval_heads(ctx.model, &ctx.es, scale, mo.batch, ctx.task == SP_EVAL_PREDICT, st, &err)) {
        cli_print_error("heads", &err);
        free(st);
        cli_model_free(&ctx);
        return CLI_USAGE;
    }
    if (mo.json) {
        sp_strbuf sb;
        sp_strbuf_init(&sb);
        sp_json_writer w;
        cli_scale_json_begin(&w, &sb, &mo, &ctx, scale);
        sp_json_key(&w, "heads");
        sp_json_array_begin(&w);
        for (size_t i = 0; i < L * NH; i++) {
            sp_json_object_begin_inline(&w);
            sp_json_key(&w, "layer");
            sp_json_uint(&w, i / NH);
            sp_json_key(&w, "head");
            sp_json_uint(&w, i % NH);
            sp_json_key(&w, "mean_attended");
            sp_json_double(&w, st[i].mean_attended);
            sp_json_key(&w, "frac_multi");
            sp_json_double(&w, st[i].frac_multi);
            sp_json_key(&w, "mean_visible");
            sp_json_double(&w, st[i].mean_visible);
            sp_json_key(&w, "queries");
            sp_json_uint(&w, st[i].queries);
            sp_json_key(&w, "label");
            sp_json_string(&w, sp_head_label_name(st[i].label));
            sp_json_object_end(&w);
        }
        sp_json_array_end(&w);
        sp_json_object_end(&w);
        sp_strbuf_putc(&sb, '\n');
        fwrite(sb.buf, 1, sb.len, stdout);
        sp_strbuf_free(&sb);
    } else {
        printf("model  %s\ndata   %s\nscale  %g\n\n", mo.model_path, ctx.data_desc, scale);
        printf("layer  head  mean attended  attends to >1  mean visible  label\n");
        for (size_t i = 0; i < L * NH; i++)
            printf("%5zu  %4zu  %13.3f  %13.3f  %12.3f  %s\n", i / NH, i % NH, st[i].mean_attended, st[i].frac_multi,
                   st[i].mean_visible, sp_head_label_name(st[i].label));
    }
    free(st);
    cli_model_free(&ctx);
    return CLI_OK;
}
