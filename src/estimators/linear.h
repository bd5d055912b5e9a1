/* linear — a linear model as a predictor: y = x @ w + b, no hidden layer.
 * Logistic regression is this with the output's sigmoid link; linear
 * regression with the identity. */
#ifndef TABSERVE_LINEAR_H
#define TABSERVE_LINEAR_H

#include "model/predictor.h"

/* A copy of w (n_features, n_outputs) and b (n_outputs,). NULL when memory runs out. */
predictor *linear_create(int n_features, int n_outputs, const float *w, const float *b);

/* Whether p is a linear model (explanations read its weights through to_json). */
int linear_is(const predictor *p);

#endif
