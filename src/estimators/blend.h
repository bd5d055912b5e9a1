/* blend — a weighted sum of other predictors' margins, each reading its own
 * range of the feature columns: an MLP on standardized, one-hot columns and
 * trees on the raw values, say, averaged in logit space (the output's link
 * then gives the probability). */
#ifndef TABSERVE_BLEND_H
#define TABSERVE_BLEND_H

#include "model/predictor.h"

typedef struct {
    predictor *p;
    int offset; /* its first column */
    float weight;
} blend_member;

typedef struct {
    predictor base;
    int n_members;
    blend_member *members;
    int max_width; /* derived by prepare */
} blend;

/* A blend of n members (taking ownership of each p) over n_features columns;
 * all members must give n_outputs numbers. NULL when memory runs out. */
blend *blend_create(int n_features, int n_outputs, const blend_member *members, int n);

/* p as a blend, or NULL when it is another estimator (a checked view). */
const blend *blend_of(const predictor *p);

#endif
