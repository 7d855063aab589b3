/* libFuzzer target: arbitrary bytes into the safetensors reader; files that read are walked
 * (every tensor found by name, every float touched, every metadata key looked up). */
#include "satprobe/safetensors.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
