/* satprobe saturation: how close a model is to its saturated version, layer by layer. */
#include "cli.h"
#include "cli_model.h"
#include "satprobe/alloc.h"
#include "satprobe/json.h"

#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: satprobe saturation --model FILE (--data PATH | --lang GRAMMAR) [--scale C] [options]\n"
    "\n"
    "The saturation level: cosine similarity between the residual stream under the parameters\n"
    "and under C times them (default C = 1000), averaged over every position of every string,\n"
    "after each layer; the last row is what the output heads read (after the final layer norm).\n"
    "\n"
    "  --scale C           the scale (default 1000)\n" CLI_MODEL_HELP
    "  -h, --help          this help\n";

int cmd_saturation(int argc, char **argv)
{
    cli_model_opts mo;
    double scale;
    int args = cli_scale_args("saturation", help, argc, argv, &mo, &scale);
    if (args) return args < 0 ? CLI_OK : args;
    cli_model_ctx ctx;
    int status = cli_model_load(&mo, NULL, 0, &ctx);
    if (status) {
        cli_model_free(&ctx);
        return status;
    }
    size_t L = sp_model_config_of(ctx.model)->layers;
    double *lv = sp_calloc(L + 1, sizeof *lv);
    sp_error err;
    sp_error_clear(&err);
    if (sp_eval_saturation(ctx.model, &ctx.es, scale, mo.batch, ctx.task == SP_EVAL_PREDICT, lv, &err)) {
        cli_print_error("saturation", &err);
        free(lv);
        cli_model_free(&ctx);
        return CLI_USAGE;
    }
    if (mo.json) {
        sp_strbuf sb;
        sp_strbuf_init(&sb);
        sp_json_writer w;
        cli_scale_json_begin(&w, &sb, &mo, &ctx, scale);
        sp_json_key(&w, "layers");
        sp_json_array_begin_inline(&w);
        for (size_t l = 0; l < L; l++) sp_json_double(&w, lv[l]);
        sp_json_array_end(&w);
        sp_json_key(&w, "output");
        sp_json_double(&w, lv[L]);
        sp_json_object_end(&w);
        sp_strbuf_putc(&sb, '\n');
        fwrite(sb.buf, 1, sb.len, stdout);
        sp_strbuf_free(&sb);
    } else {
        printf("model  %s\ndata   %s\nscale  %g\n\n", mo.model_path, ctx.data_desc, scale);
        printf("after      cosine similarity\n");
        for (size_t l = 0; l < L; l++) printf("layer %-4zu %.6f\n", l + 1, lv[l]);
        printf("%-10s %.6f\n", "output", lv[L]);
    }
    free(lv);
    cli_model_free(&ctx);
    return CLI_OK;
}
