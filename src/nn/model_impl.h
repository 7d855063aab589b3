/* Private to src/nn: the model struct shared by model.c (layout, init, checkpoints) and
 * forward.c (activations and the forward pass). */
#ifndef SATPROBE_MODEL_IMPL_H
#define SATPROBE_MODEL_IMPL_H

#include "satprobe/model.h"

/* Activations of one layer; pointers into the activation slab, [B, T, ...] with the reserved
 * B and T as strides. Aliases (a1 = input when there is no pre-norm, h1 = u1 without
 * post-norm, ...) point at the same memory. */
typedef struct sp_layer_acts {
    float *a1;               /* [B, T, D] attention input (LN(h) with pre-norm) */
    float *ln1_mean, *ln1_rstd; /* [B, T] */
    float *q, *k, *v;        /* [B, T, D] */
    float *att;              /* [B, NH, T, T] */
    float *z;                /* [B, T, D] heads concatenated */
    float *o;                /* [B, T, D] output projection */
    float *u1;               /* [B, T, D] residual sum */
    float *h1;               /* [B, T, D] after attention (LN(u1) with post-norm) */
    float *a2;               /* [B, T, D] feed-forward input */
    float *ln2_mean, *ln2_rstd;
    float *f1, *f2;          /* [B, T, FF] before and after ReLU */
    float *f3;               /* [B, T, D] */
    float *u2;               /* [B, T, D] */
    float *h2;               /* [B, T, D] layer output */
} sp_layer_acts;

struct sp_model {
    sp_model_config cfg;
    size_t ntensors;
    sp_model_tensor *tensors; /* [ntensors] */
    size_t nparams;
    float *params;            /* [nparams] */
    sp_params p;
    float *sparams;           /* [nparams] C * params for scaled modes */
    sp_params sp;

    /* activations, for batches of up to cap_B sequences of up to cap_T positions */
    size_t cap_B, cap_T;
    float *acts;
    int *tokens;              /* [cap_B, cap_T] */
    size_t *lens;             /* [cap_B] sequence lengths */
    float *h0;                /* [B, T, D] */
    sp_layer_acts *layer;     /* [L] */
    float *hf;                /* [B, T, D] what the heads read (ln_f output with pre-norm) */
    float *lnf_mean, *lnf_rstd;
    float *logits;            /* [B] */
    float *next_logits;       /* [B, T, O] */
    float *sinus;             /* [cap_T, De] sinusoidal encodings */

    /* the last forward pass */
    size_t B, T;
};

#endif
