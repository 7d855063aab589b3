/* The transformer of docs/model.md: parameters in one slab with named views, activations in one
 * slab sized once for the largest batch, a forward pass whose attention runs soft, scaled,
 * saturated or hard, and safetensors checkpoints.
 *
 * Dimension letters: B batch, T positions, D d_model, NH heads, HS = D / NH, FF = d_ff,
 * V = k + 2 tokens, O = k + 1 next-symbol outputs.
 *
 * Ownership: sp_model_new and sp_model_load return a model the caller releases with
 * sp_model_destroy. Every pointer a getter returns belongs to the model; buffers of the forward
 * pass stay valid until the next forward call or sp_model_reserve. A model is not safe to share
 * between threads. */
#ifndef SATPROBE_MODEL_H
#define SATPROBE_MODEL_H

#include "satprobe/config.h"
#include "satprobe/error.h"

#include <gsl/gsl_rng.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- attention modes ------------------------------------------------------------------- */

/* soft: softmax; scaled: every parameter times C, then softmax; saturated: uniform over the
 * best-scoring positions; hard: the leftmost of them; limit: lim C -> infinity of f(x; C theta)
 * itself (saturated attention, and every sum keeps only its terms of highest degree in C). */
typedef enum sp_attn_kind {
    SP_ATTN_SOFT,
    SP_ATTN_SCALED,
    SP_ATTN_SATURATED,
    SP_ATTN_HARD,
    SP_ATTN_LIMIT,
} sp_attn_kind;

#define SP_TIE_TOLERANCE 1e-5

typedef struct sp_mode {
    sp_attn_kind kind;
    double scale; /* SCALED: C > 0 */
    double tau;   /* SATURATED, HARD, LIMIT: absolute tie tolerance on scores */
} sp_mode;

/* "soft", "scaled:C" (0 < C <= 1e12), "saturated", "hard" or "limit"; tau is set to `tau`. */
int sp_mode_parse(const char *text, double tau, sp_mode *out, sp_error *err);
/* "soft", "scaled:1000", "saturated", "hard", "limit" (C printed with %g). */
void sp_mode_format(const sp_mode *m, char *buf, size_t size);

/* ---- parameters ------------------------------------------------------------------------ */

/* Views into a parameter slab (or a gradient slab of the same layout); NULL where the config
 * has no such tensor. Shapes as in docs/model.md, with De = D - features. */
typedef struct sp_layer_params {
    float *ln1w, *ln1b; /* [D] */
    float *qw, *qb;     /* [D, D], [D] */
    float *kw, *kb;
    float *vw, *vb;
    float *ow, *ob;
    float *ln2w, *ln2b; /* [D] */
    float *w1, *b1;     /* [FF, D], [FF] */
    float *w2, *b2;     /* [D, FF], [D] */
} sp_layer_params;

typedef struct sp_params {
    float *embed;             /* [V, De] */
    float *pos;               /* [max_len, De] */
    sp_layer_params *layer;   /* [L] */
    float *lnfw, *lnfb;       /* [D] */
    float *readw, *readb;     /* [1, D], [1] */
    float *nextw, *nextb;     /* [O, D], [O] */
} sp_params;

/* One named tensor of the model, in checkpoint order. */
typedef struct sp_model_tensor {
    char name[64];
    size_t ndim;      /* 1 or 2 */
    size_t shape[2];
    size_t offset;    /* in floats from the slab's start */
    size_t size;      /* floats */
} sp_model_tensor;

typedef struct sp_model sp_model;

/* A model with every parameter 0 (LN weights included). Checks the config. */
int sp_model_new(const sp_model_config *cfg, sp_model **out, sp_error *err);
void sp_model_destroy(sp_model *m);

/* PyTorch's default initialisation (docs/model.md), drawn from r in tensor order. */
void sp_model_init_random(sp_model *m, gsl_rng *r);

const sp_model_config *sp_model_config_of(const sp_model *m);
size_t sp_model_num_params(const sp_model *m);
float *sp_model_param_slab(sp_model *m);               /* [num_params] */
const sp_params *sp_model_params(const sp_model *m);
size_t sp_model_num_tensors(const sp_model *m);
const sp_model_tensor *sp_model_tensor_at(const sp_model *m, size_t i);
/* The tensor called name, or NULL. */
const sp_model_tensor *sp_model_tensor_find(const sp_model *m, const char *name);
/* Map a slab of num_params floats onto views of this model's layout (gradients, moments). */
void sp_model_map_views(const sp_model *m, float *slab, sp_params *views);

/* ---- checkpoints ----------------------------------------------------------------------- */

/* Write model.safetensors (docs/checkpoints.md): every tensor, metadata format=pt,
 * satprobe_version and config as a JSON string. Atomic. */
int sp_model_save(const sp_model *m, const char *path, sp_error *err);
/* Read a checkpoint: the config from its metadata, then every tensor checked against it by name,
 * shape and count. Errors name the file and the tensor. */
int sp_model_load(const char *path, sp_model **out, sp_error *err);
/* The same from bytes[0..len) in memory; `name` stands for the file in messages. */
int sp_model_load_buffer(const char *name, const void *bytes, size_t len, sp_model **out,
                         sp_error *err);

/* ---- forward --------------------------------------------------------------------------- */

/* Size the activation slab for batches of up to B strings of up to n symbols each (allocated
 * once; a later call with larger sizes reallocates). n must not exceed sp_config_max_string. */
int sp_model_reserve(sp_model *m, size_t B, size_t n, sp_error *err);

/* Run strs[b][0..ns[b]) for b < B (every symbol < k; B and every ns within the reservation;
 * reserves itself when they are not). The batch's T is max over b of the sequence length.
 * Errors: SP_EINPUT for a string longer than the model takes, SP_ELIMIT when activations leave
 * float range (scaled modes of models without layer norm). */
int sp_model_forward(sp_model *m, const int *const *strs, const size_t *ns, size_t B,
                     const sp_mode *mode, sp_error *err);

/* Results of the last forward pass. */
size_t sp_model_batch_size(const sp_model *m);        /* B */
size_t sp_model_batch_T(const sp_model *m);           /* T */
const size_t *sp_model_batch_lens(const sp_model *m); /* [B] sequence lengths */
const float *sp_model_logits(const sp_model *m);      /* [B] accept logits (recognize, both) */
const float *sp_model_next_logits(const sp_model *m); /* [B, T, O] (predict, both) */
/* Attention weights of layer l, head h, sequence b, query i: row [T] over the keys (0 where
 * not visible, and for i at or beyond the sequence's length). */
void sp_model_attention_row(const sp_model *m, size_t l, size_t b, size_t h, size_t i, float *row);
/* Residual stream: l = 0 the input, l = 1..L after layer l, L + 1 what the heads read (after
 * ln_f with pre-norm, else the same as L). [B, T, D]; for l = L and L + 1 after a readout-rows
 * pass (below), [B, D]: the readout row of each sequence. */
const float *sp_model_hidden(const sp_model *m, size_t l);

/* Readout rows only (off by default): when the model's only head is the accept logit read at one
 * position (readout cls or last), later forward passes stop computing the other positions after
 * the last layer's attention (its output projection, feed-forward, norms and ln_f), which the
 * logit does not depend on, and backward passes follow. Logits and gradients are those of a
 * full pass up to float rounding. */
void sp_model_set_readout_only(sp_model *m, bool on);
bool sp_model_readout_only(const sp_model *m);

/* ---- backward ------------------------------------------------------------------------ */

/* Gradients of the last forward pass, which must have run in mode soft: given dL/dlogit
 * dlogits[B] (NULL when the loss does not use the accept logit, or the model has none) and
 * dL/dnext dnext[B, T, O] (NULL likewise; rows of padding and of a CLS position must be 0),
 * ADD dL/dθ into grad[num_params] (laid out like the parameter slab; map it with
 * sp_model_map_views). The activation-gradient buffers are sized by sp_model_reserve; nothing
 * is allocated. */
void sp_model_backward(sp_model *m, const float *dlogits, const float *dnext, float *grad);

/* Threads for the passes (1 by default from the CLI): the pool's (satprobe/pool.h), over which
 * the matrix products split their rows too, each chunk a single-threaded OpenBLAS call, so
 * OpenBLAS itself is set to one thread. Results do not depend on n (layers.c says when). */
void sp_blas_set_threads(int n);

#endif
