/* nn — the forward pass: dense layers over row-major float matrices.
 * Kernels are pure, output first, with their shapes in a comment; none allocates.
 * The batch kernel is compiled for several x86-64 levels and picked at run time. */
#ifndef TABSERVE_NN_H
#define TABSERVE_NN_H

#include "model.h"

/* x (n, n_in) @ w (n_in, n_out) + b (n_out,) -> y (n, n_out), then act in place. */
void nn_dense(float *y, const float *x, const float *w, const float *b, int n, int n_in, int n_out,
              activation act);

/* Floats of scratch nn_forward needs for n rows. */
size_t nn_scratch_floats(const model *m, int n);

/* x (n, n_features) -> p (n,) probabilities. scratch: nn_scratch_floats(m, n). */
void nn_forward(const model *m, const float *x, int n, float *scratch, float *p);

float nn_sigmoid(float z);

#endif
