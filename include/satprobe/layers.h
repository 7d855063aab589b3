/* Transformer layers as forward functions over flat float arrays, in llm.c's argument order:
 * outputs, state saved for the backward pass, inputs and weights, then dimensions. Matrix
 * products go through cblas_sgemm. Shapes use B batch, T positions, C channels in, OC channels
 * out, NH heads, HS = C / NH. Every function reads only the first lens[b] positions of sequence
 * b where lens is given, and leaves the other rows 0. */
#ifndef SATPROBE_LAYERS_H
#define SATPROBE_LAYERS_H

#include <stdbool.h>
#include <stddef.h>

/* out[N, OC] = inp[N, C] · w[OC, C]ᵀ + bias[OC] (bias may be NULL). */
void sp_matmul_forward(float *out, const float *inp, const float *w, const float *bias, size_t N,
                       size_t C, size_t OC);

/* out[N, C] = (inp - mean) * rstd * w + b over the C channels of each row, statistics in double;
 * mean and rstd [N] are saved. With eps = 0 a row of zero variance gets rstd 0 (its output is b):
 * the saturated limit of docs/model.md. b may be NULL. */
void sp_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, size_t N, size_t C, double eps);

/* out[N] = max(inp, 0); out and inp do not overlap. A NaN input gives 0 (the residual path that
 * produced it still carries it to the output). */
void sp_relu_forward(float *restrict out, const float *restrict inp, size_t N);

/* out[N] = a + b; out may equal a or b. */
void sp_residual_forward(float *out, const float *a, const float *b, size_t N);

/* How attention turns scores into weights (docs/model.md, "Attention modes"). */
typedef enum sp_attn_rule { SP_RULE_SOFTMAX, SP_RULE_UNIFORM_MAX, SP_RULE_LEFTMOST_MAX } sp_attn_rule;

/* Multi-head attention. q, k, v [B, T, C]; att [B, NH, T, T] gets the weights (row i over keys
 * j, 0 where j is not visible); out [B, T, C] the heads' outputs concatenated. Key j is visible
 * from query i when j < lens[b] and, if causal, j <= i. Scores are q·k / sqrt(HS); for the max
 * rules, M = {j : s_j >= max - tau}. q and k may be rescaled in place by powers of two (exact)
 * when their products would overflow float; the scores' scale is carried in double. */
void sp_attention_forward(float *out, float *att, float *q, float *k, const float *v,
                          const size_t *lens, size_t B, size_t T, size_t C, size_t NH, bool causal,
                          sp_attn_rule rule, double tau);

#endif
