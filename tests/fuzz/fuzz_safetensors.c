/* libFuzzer target: arbitrary bytes into the safetensors reader; files that read are walked
 * (every tensor found by name, every float touched, every metadata key looked up). The same
 * bytes go through the model loader (config from the metadata, tensors checked against it), and
 * a model that loads runs one forward pass. */
#include "satprobe/model.h"
#include "satprobe/safetensors.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void model(const uint8_t *data, size_t size)
{
    sp_model *m = NULL;
    sp_error err;
    if (sp_model_load_buffer("fuzz.safetensors", data, size, &m, &err) != SP_OK) {
        if (m) abort();
        return;
    }
    const sp_model_config *c = sp_model_config_of(m);
    /* a small forward pass only: the config may ask for a large model */
    if (sp_model_num_params(m) <= 100000 && c->layers <= 4 && c->max_len >= 5) {
        int s[3] = {0, (int)(c->k - 1), 0};
        const int *strs[1] = {s};
        size_t n = 3;
        sp_mode md = {SP_ATTN_SOFT, 1, 0};
        if (sp_model_forward(m, strs, &n, 1, &md, &err) != SP_OK && err.msg[0] == 0) abort();
    }
    sp_model_destroy(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    model(data, size);
    sp_st_file *f = NULL;
    sp_error err;
    if (sp_st_read_buffer("fuzz.safetensors", data, size, &f, &err) != SP_OK) {
        if (f) abort();
        return 0;
    }
    volatile float sink = 0;
    for (size_t i = 0; i < sp_st_count(f); i++) {
        const sp_st_tensor *t = sp_st_at(f, i);
        if (sp_st_find(f, t->name) != t || t->ndim > SP_ST_MAX_DIMS || !t->data) abort();
        size_t count = 1;
        for (size_t d = 0; d < t->ndim; d++) count *= t->shape[d];
        for (size_t j = 0; j < count; j++) sink += t->data[j];
    }
    for (size_t i = 0; i < sp_st_metadata_count(f); i++) {
        sp_st_meta m = sp_st_metadata_at(f, i);
        if (!sp_st_metadata(f, m.key)) abort();
    }
    (void)sink;
    sp_st_free(f);
    return 0;
}
