/* The transformer's configuration: one struct for training, evaluation, checkpoints and
 * hand-built constructions, read from YAML or JSON and written as JSON (docs/model.md).
 *
 * Ownership: sp_model_config is a caller-owned struct; _init fills it with defaults, the
 * readers fill it, _free releases its alphabet. _copy makes an independent deep copy. */
#ifndef SATPROBE_CONFIG_H
#define SATPROBE_CONFIG_H

#include "satprobe/error.h"
#include "satprobe/json.h"
#include "satprobe/strbuf.h"
#include "satprobe/yaml.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum sp_norm { SP_NORM_PRE, SP_NORM_POST, SP_NORM_NONE } sp_norm;
typedef enum sp_mask { SP_MASK_CAUSAL, SP_MASK_NONE } sp_mask;
typedef enum sp_readout { SP_READOUT_CLS, SP_READOUT_LAST, SP_READOUT_MEAN } sp_readout;
typedef enum sp_heads_out { SP_OUT_RECOGNIZE, SP_OUT_PREDICT, SP_OUT_BOTH } sp_heads_out;

/* Position encodings. The first three are added to the embedding; the rest are features
 * appended as channels (docs/model.md, "Input"). */
typedef enum sp_pos_kind {
    SP_POS_NONE,
    SP_POS_SINUSOIDAL,
    SP_POS_LEARNED,
    SP_POS_I,      /* p = t + 1 */
    SP_POS_I_N,    /* p / T */
    SP_POS_INV_I,  /* 1 / p */
    SP_POS_COS_PI, /* cos(pi p) = (-1)^p */
    SP_POS_COUNT_,
} sp_pos_kind;

#define SP_CONFIG_MAX_POS 8
#define SP_CONFIG_MAX_D 4096
#define SP_CONFIG_MAX_LAYERS 64
#define SP_CONFIG_MAX_HEADS 64
#define SP_CONFIG_MAX_FF 16384
#define SP_CONFIG_MAX_LEN 100000

typedef struct sp_model_config {
    size_t k;           /* alphabet size; the vocabulary has k + 2 tokens (BOS = k, CLS = k + 1) */
    char **alphabet;    /* [k] symbol spellings */
    size_t d_model;     /* D */
    size_t layers;      /* L */
    size_t heads;       /* NH, divides D */
    size_t d_ff;
    sp_norm norm;
    bool bias;
    sp_mask mask;
    sp_readout readout;
    size_t npos;
    sp_pos_kind pos[SP_CONFIG_MAX_POS]; /* [npos] in the order written */
    sp_heads_out heads_out;
    size_t max_len;     /* most positions of a sequence, BOS and CLS included */
    double ln_eps;
} sp_model_config;

/* Defaults of docs/model.md, with no alphabet. */
void sp_config_init(sp_model_config *c);
void sp_config_free(sp_model_config *c);
void sp_config_copy(sp_model_config *dst, const sp_model_config *src);

/* Replace the alphabet (copies the k spellings). */
void sp_config_set_alphabet(sp_model_config *c, const char *const *symbols, size_t k);

/* Read the keys of a YAML mapping over the defaults already in c; unknown keys and bad values
 * are errors at their line:col; d_ff defaults to 4 d_model when not given. The alphabet is optional here (filled from a language later),
 * the other checks (sp_config_check) run at the end. */
int sp_config_from_yaml(sp_model_config *c, const sp_yaml_doc *doc, const sp_yaml_node *map,
                        sp_error *err);
/* Read a YAML file holding only a configuration mapping. */
int sp_config_load_yaml(sp_model_config *c, const char *path, sp_error *err);

/* Read the JSON object stored in a checkpoint (every key written by sp_config_to_json must be
 * there, alphabet included); `where` names the source in messages. */
int sp_config_from_json(sp_model_config *c, const sp_json_value *obj, const char *where,
                        sp_error *err);

/* Append c as one-line JSON (every key, alphabet included). */
void sp_config_to_json(const sp_model_config *c, sp_strbuf *out);

/* Consistency: heads divide d_model, features leave at least one embedding channel, `none` not
 * combined with other encodings, limits. `where` names the source in messages. */
int sp_config_check(const sp_model_config *c, const char *where, sp_error *err);

/* Number of feature channels F and embedding width D - F. */
size_t sp_config_features(const sp_model_config *c);
size_t sp_config_embed_width(const sp_model_config *c);
bool sp_config_has_pos(const sp_model_config *c, sp_pos_kind kind);
/* Sequence length T for a string of n symbols (n + 1, or n + 2 with readout cls). */
size_t sp_config_seq_len(const sp_model_config *c, size_t n);
/* Longest string the model takes. */
size_t sp_config_max_string(const sp_model_config *c);

const char *sp_norm_name(sp_norm n);
const char *sp_mask_name(sp_mask m);
const char *sp_readout_name(sp_readout r);
const char *sp_heads_out_name(sp_heads_out h);
const char *sp_pos_name(sp_pos_kind p);

#endif
