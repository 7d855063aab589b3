/* Losses of the two heads: binary cross-entropy on the accept logit, multi-label binary
 * cross-entropy on the next-symbol logits, each with its gradient. */
#include "satprobe/train.h"

#include <math.h>

/* log(1 + e^z) without overflow */
static double softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }
static double sigmoid(double z) { return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z)); }

double sp_loss_recognize(const float *z, const bool *y, size_t B, double weight, float *dz)
{
    double loss = 0;
    for (size_t b = 0; b < B; b++) {
        double x = z[b], t = y[b] ? 1.0 : 0.0;
        loss += softplus(x) - t * x;
        if (dz) dz[b] += (float)(weight * (sigmoid(x) - t) / (double)B);
    }
    return B ? loss / (double)B : 0.0;
}

double sp_loss_predict(const float *z, size_t T, size_t k, const size_t *ns, const bool *label,
                       const bool *const *next, const bool *const *end, size_t B, double weight, float *dz)
{
    size_t O = k + 1, count = 0;
    for (size_t b = 0; b < B; b++)
        if (label[b]) count += (ns[b] + 1) * O;
    if (count == 0) return 0.0;
    double loss = 0, inv = 1.0 / (double)count;
    for (size_t b = 0; b < B; b++) {
        if (!label[b]) continue;
        for (size_t t = 0; t <= ns[b]; t++) {
            const float *row = z + (b * T + t) * O;
            for (size_t a = 0; a < O; a++) {
                double x = row[a], y = (a < k ? next[b][t * k + a] : end[b][t]) ? 1.0 : 0.0;
                loss += softplus(x) - y * x;
                if (dz) dz[(b * T + t) * O + a] += (float)(weight * (sigmoid(x) - y) * inv);
            }
        }
    }
    return loss * inv;
}
