/* normalize — another predictor behind a row normalization of some of its
 * columns (ONNX's Normalizer, scikit-learn's Normalizer): each row's chosen
 * columns are divided by their MAX, L1 or L2 norm, then the inner predictor
 * runs on the row. The other columns pass unchanged. */
#ifndef TABSERVE_NORMALIZE_H
#define TABSERVE_NORMALIZE_H

#include "model/predictor.h"

typedef enum { NORM_MAX, NORM_L1, NORM_L2 } norm_kind;

typedef struct {
    predictor base;
    predictor *inner;
    norm_kind norm;
    int n_columns;
    int *columns; /* (n_columns,) feature columns normalized together */
} normalize;

/* "MAX", "L1", "L2" -> the kind; -1 for anything else. */
int normalize_kind(const char *name);

/* inner behind a normalization of columns[0..n) (taking ownership of inner;
 * columns is copied). NULL when memory runs out. */
normalize *normalize_create(predictor *inner, norm_kind norm, const int *columns, int n);

#endif
