/* Private to src/nn: the model struct shared by model.c (layout, init, checkpoints), forward.c
 * (activations and the forward pass) and backward.c (activation gradients and the backward pass). */
#ifndef SATPROBE_MODEL_IMPL_H
#define SATPROBE_MODEL_IMPL_H

#include "satprobe/model.h"

/* Activations of one layer; pointers into the activation slab, each sized for the reserved
 * cap_B, cap_T and used as [B, T, ...] with the pass's own B and T as strides. What backward
 * reads where (forward.c keeps every one of these until the next pass):
 *   pre:  a1 = LN1(h), u1 = h + o (h1 is u1; the h1 buffer is unused), a2 = LN2(u1), u2 = h2
 *   post: a1 unused (q, k, v read h), h1 = LN1(u1), the FF reads h1, h2 = LN2(u2) in a2's buffer
 *   none: a1 and a2 unused, h1 is u1, h2 is u2
 * q and k hold the values attention may have rescaled by 2^-shift (layers.h). After a
 * readout-rows pass (compact), the last layer's z, o and everything after hold [B, ...]: row b
 * is sequence b's readout row. */
typedef struct sp_layer_acts {
    float *a1;               /* [B, T, D] attention input (LN(h) with pre-norm) */
    float *ln1_mean, *ln1_rstd; /* [B, T] */
    float *q, *k, *v;        /* [B, T, D] */
    float *att;              /* [sp_attention_len(B, T, NH)] weights, blocked (attention.c) */
    int shift[2];            /* exponents attention divided q and k by (0, 0 normally) */
    float *z;                /* [B, T, D] heads concatenated */
    float *o;                /* [B, T, D] output projection */
    float *u1;               /* [B, T, D] residual sum */
    float *h1;               /* [B, T, D] after attention (LN(u1) with post-norm) */
    float *a2;               /* [B, T, D] feed-forward input */
    float *ln2_mean, *ln2_rstd;
    float *f1, *f2;          /* [B, T, FF] before and after ReLU: one buffer, ReLU in place */
    float *f3;               /* [B, T, D] */
    float *u2;               /* [B, T, D] */
    float *h2;               /* [B, T, D] layer output */
} sp_layer_acts;

/* Gradients of the activations, in the same allocation as the activations, after them. One
 * layer's worth, reused by every layer on the way down (each layer zeroes what it adds into);
 * the names say which activation each is the gradient of. Aliases follow the activations'
 * (backward.c: du1 is dh1 without post-norm, and so on). */
typedef struct sp_grad_acts {
    float *dres[2];          /* [B, T, D] residual stream below and above the current layer */
    float *dhf;              /* [B, T, D] what the heads read (pre-norm: ln_f output) */
    float *da1;              /* [B, T, D] */
    float *dq, *dk, *dv;     /* [B, T, D] */
    float *dz;               /* [B, T, D] */
    float *du1, *dh1, *da2;  /* [B, T, D] */
    float *df1;              /* [B, T, FF] */
    float *du2;              /* [B, T, D] (f3's and o's gradients are du2's and du1's) */
} sp_grad_acts;

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
    float *attn_work;         /* [sp_attention_work_len(cap_T, D, NH)] attention scratch */
    sp_grad_acts g;           /* activation gradients (same allocation as acts) */

    float *rows;              /* [cap_B, D] scratch: one row per sequence */

    /* the last forward pass */
    size_t B, T;
    bool soft;                /* it ran in mode soft, so backward may follow */
    bool readout_only;        /* asked for by sp_model_set_readout_only */
    bool compact;             /* the last layer after attention ran on readout rows only */

    /* views of the gradient slab last given to sp_model_backward (its layer array is ours) */
    const float *grad_slab;
    sp_params grad;
    sp_layer_params grad_layer[SP_CONFIG_MAX_LAYERS];
};

#endif
