/* Transformer layers as forward functions over flat float arrays, each with its backward below
 * it, in llm.c's argument order. Forward: outputs, state saved for the backward pass, inputs and
 * weights, then dimensions. Backward: the gradients it produces, then dout (the gradient of the
 * forward's output), then what the forward saved and read, in the forward's order, then
 * dimensions. Backward functions ADD into every parameter gradient they produce (zeroing is the
 * caller's step); the gradients of their inputs they add into or overwrite, as the caller's
 * sp_grad_write says (overwriting is for the first writer, so that no buffer needs zeroing
 * first; both give the same bits). A NULL gradient is not computed. Linear maps go through
 * cblas_sgemm; attention (src/nn/attention.c) through its own vector loops. Every function
 * splits its loop over the thread pool (satprobe/pool.h) in a way that changes no bit (for the
 * products, with the kernels sp_blas_split_exact names). Shapes use N rows,
 * B batch, T positions, C channels in, OC channels out, NH heads, HS = C / NH. Every
 * function reads only the first lens[b] positions of sequence b where lens is given, and leaves
 * the other rows 0. Rows of dout that are 0 (padding) contribute nothing to any gradient. */
#ifndef SATPROBE_LAYERS_H
#define SATPROBE_LAYERS_H

#include <stdbool.h>
#include <stddef.h>

/* How a backward function writes the gradient of an input: add into it, or overwrite it. */
typedef enum sp_grad_write { SP_GRAD_ADD, SP_GRAD_SET } sp_grad_write;

/* The OpenBLAS kernels in use ("Haswell", "Zen", "SkylakeX", ...), and whether a matrix
 * product split over threads gives the same bits as on one (layers.c): true for the kernels it
 * has been checked on, Haswell's and Zen's (which are Haswell's). With others a product on
 * several threads may differ from one thread's in the last bits, the same from run to run. */
const char *sp_blas_kernels(void);
bool sp_blas_split_exact(void);

/* out[N, OC] = inp[N, C] · w[OC, C]ᵀ + bias[OC] (bias may be NULL). */
void sp_matmul_forward(float *out, const float *inp, const float *w, const float *bias, size_t N,
                       size_t C, size_t OC);
/* dinp[N, C] (+)= dout[N, OC] · w[OC, C]; dw[OC, C] += doutᵀ · inp[N, C]; dbias[OC] += Σ_n dout
 * (accumulated in double). dinp and dbias may be NULL. */
void sp_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                        const float *w, size_t N, size_t C, size_t OC, sp_grad_write mode);
/* The same for a linear map whose input inp = relu(pre) is ReLU's output, back through ReLU:
 * dpre[N, C] = dout · w where inp > 0, else 0 (written over), bit for bit what
 * sp_matmul_backward into a buffer and then sp_relu_backward (SP_GRAD_SET) from it give. The
 * mask goes over each chunk of rows as soon as the product has written it, while the rows are
 * in cache, and needs no second buffer. */
void sp_matmul_relu_backward(float *dpre, float *dw, float *dbias, const float *dout, const float *inp,
                             const float *w, size_t N, size_t C, size_t OC);

/* out[N, C] = (inp - mean) * rstd * w + b over the C channels of each row, statistics in double;
 * mean and rstd [N] are saved. With eps = 0 a row of zero variance gets rstd 0 (its output is b):
 * the saturated limit of docs/model.md. b may be NULL. */
void sp_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, size_t N, size_t C, double eps);
/* From the saved mean and rstd [N] (rstd carries eps): with x̂ = (inp - mean) * rstd and
 * g = dout * w, dinp[N, C] (+)= rstd * (g - mean_c(g) - x̂ * mean_c(g * x̂)), exact for any eps;
 * dw[C] += Σ_n dout * x̂, db[C] += Σ_n dout (db may be NULL). Row sums in double. */
void sp_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *mean,
                           const float *rstd, const float *inp, const float *w, size_t N, size_t C,
                           sp_grad_write mode);

/* x[N] = max(x, 0), in place (the model keeps only the output: its backward needs the signs,
 * which the output keeps). A NaN gives 0 (the residual path that produced it still carries it to
 * the output), -0 gives +0. */
void sp_relu_forward(float *x, size_t N);
/* dinp[N] (+)= dout where inp > 0, 0 elsewhere (the derivative at the kink inp = 0 is taken as
 * 0). inp may be the forward's input or its output: each is > 0 exactly where the other is. */
void sp_relu_backward(float *restrict dinp, const float *restrict dout, const float *restrict inp,
                      size_t N, sp_grad_write mode);

/* out[N] = a + b; out may equal a or b. */
void sp_residual_forward(float *out, const float *a, const float *b, size_t N);
/* da[N] (+)= dout and db[N] (+)= dout (db may be NULL: a caller that only reads that gradient
 * can read dout); neither may overlap dout. */
void sp_residual_backward(float *da, float *db, const float *dout, size_t N, sp_grad_write mode);

/* How attention turns scores into weights (docs/model.md, "Attention modes"). */
typedef enum sp_attn_rule { SP_RULE_SOFTMAX, SP_RULE_UNIFORM_MAX, SP_RULE_LEFTMOST_MAX } sp_attn_rule;

/* Floats of scratch that attention needs for sequences of T positions (src/nn/attention.c),
 * for up to SP_POOL_MAX threads (satprobe/pool.h): the sequences are split over the pool. */
size_t sp_attention_work_len(size_t T, size_t C, size_t NH);
/* Floats of the weights sp_attention_forward keeps for B sequences of T positions. */
size_t sp_attention_len(size_t B, size_t T, size_t NH);
/* row [T] = the weights of query i over the keys in head h of sequence b (of n positions) in
 * att, as sp_attention_forward left them; 0 where a key is not visible or i >= n. */
void sp_attention_row(float *row, const float *att, size_t T, size_t NH, size_t n, bool causal, size_t b,
                      size_t h, size_t i);

/* Multi-head attention. q, k, v [B, T, C]; att [sp_attention_len(B, T, NH)] gets the weights, in
 * blocks of 8 or 16 queries (sp_attention_row reads a row); out [B, T, C] the heads' outputs
 * concatenated. Key j is visible from query i when j < lens[b] and, if causal, j <= i. Scores are q·k / sqrt(HS); for the max
 * rules, M = {j : s_j >= max - tau}. q and k may be rescaled in place by powers of two (exact)
 * when their products would overflow float; the scores' scale is carried in double, and
 * shift[2] saves the exponents: q and k now hold q·2^-shift[0] and k·2^-shift[1] (0 and 0 in
 * any soft pass of ordinary magnitudes). work [sp_attention_work_len(T, C, NH)] is scratch. */
void sp_attention_forward(float *out, float *att, int shift[2], float *work, float *q, float *k,
                          const float *v, const size_t *lens, size_t B, size_t T, size_t C,
                          size_t NH, bool causal, sp_attn_rule rule, double tau);
/* The same for each sequence's last block of queries only (the one holding query lens[b] - 1),
 * for a pass that reads one output row per sequence, its last: those rows and that block's
 * weights are what sp_attention_forward gives them, other rows of out and weights of att are
 * left as they were. sp_attention_backward after it needs output gradients that are zero
 * outside the last block (it then reads no other weights). */
void sp_attention_forward_last(float *out, float *att, int shift[2], float *work, float *q, float *k,
                               const float *v, const size_t *lens, size_t B, size_t T, size_t C,
                               size_t NH, bool causal, sp_attn_rule rule, double tau);
/* Backward of SP_RULE_SOFTMAX attention (the max rules are piecewise constant in q and k and have
 * no useful gradient): from dout [B, T, C] and the forward's att, shift, q, k, v, dq, dk, dv
 * [B, T, C] (+)= the gradients with respect to the forward's q, k and v as they were before any
 * rescaling. work [sp_attention_work_len(T, C, NH)] is scratch. Rows at or beyond lens[b] are left as they
 * are (SP_GRAD_ADD) or set to 0 (SP_GRAD_SET). */
void sp_attention_backward(float *dq, float *dk, float *dv, float *work, const float *dout,
                           const float *att, const int shift[2], const float *q, const float *k,
                           const float *v, const size_t *lens, size_t B, size_t T, size_t C,
                           size_t NH, bool causal, sp_grad_write mode);

#endif
