/* gbt — gradient-boosted trees by second-order boosting over histogram bins,
 * served by the tree predictor (estimators/trees.h).
 *
 *   inputs      numbers pass through (NaN kept: each split learns where missing
 *               values go); categories become their vocabulary index
 *   bins        per numeric column, up to max_bins - 2 cut points at quantiles
 *               of the rows (every distinct value when there are few; at most
 *               4M evenly spaced rows decide); bin(x) = how many cuts are <= x,
 *               so "bin <= b" is exactly the predictor's "x < cut[b]"; a
 *               category's bin is its index
 *   trees       grown level by level to max_depth: per node a histogram of
 *               gradient and hessian sums per (column, bin), the larger child's
 *               by subtraction; a numeric split tries missing values on both
 *               sides; a categorical split orders the node's categories by
 *               G/H and takes the best prefix (the rest go right)
 *   leaves      -G / (H + l2) * learning_rate, from the leaf's own rows
 *   split gain  GL^2/(HL + l2) + GR^2/(HR + l2) - G^2/(H + l2) with hessian sums
 *               (XGBoost's), or with row counts in place of H (count_split:
 *               scikit-learn's first-order criterion; min_child_weight then
 *               counts rows)
 *   stopping    log-loss (or squared error) on held-out rows, early_stopping
 *               rounds without improvement; the best prefix of trees is kept
 *
 * Deterministic: every sum runs in row order within one column, whichever
 * thread computes it, so the same data, options and seed give the same model
 * for any thread count. */
#ifndef TABSERVE_GBT_H
#define TABSERVE_GBT_H

#include <stddef.h>

#include "estimators/trees.h"

/* multiclass: softmax over n_classes margins, one tree per class and round
 * (y holds the class index) */
typedef enum { GBT_BINARY, GBT_REGRESSION, GBT_MULTICLASS } gbt_objective;

typedef struct {
    gbt_objective objective;
    int n_classes;           /* GBT_MULTICLASS: 3 or more */
    int trees;               /* at most this many */
    int max_depth;           /* levels of splits */
    double learning_rate;    /* shrinks every leaf */
    double min_child_weight; /* least hessian sum in a child */
    double l2;               /* lambda on leaf weights */
    double subsample;        /* rows drawn per tree (without replacement) */
    double colsample;        /* columns drawn per tree */
    int early_stopping;      /* rounds without held-out improvement; 0 = off */
    double val_fraction;     /* held-out share of the rows for early stopping */
    int max_bins;            /* bins per numeric column, the missing values' included (3..256) */
    int threads;             /* histogram threads; <= 0: all cores */
    int count_split;         /* splits scored by row counts instead of hessians (scikit-learn's
                                friedman_mse); leaves are Newton steps either way */
    int bag;                 /* ensembles averaged (1 = one): member k is fitted with seed
                                seed + k * GBT_BAG_SEED_STEP, its leaves scaled by 1/bag */
    unsigned long long seed;
    struct progress_s *progress; /* trees grown, on stderr once a second (NULL: silent) */
} gbt_options;
#define GBT_MAX_BAG       64
#define GBT_MAX_CLASSES   256
#define GBT_BAG_SEED_STEP 0x9e3779b97f4a7c15ull

void gbt_options_default(gbt_options *o);

/* Fits trees on x (n, n_features) row-major (NaN = missing) and y (n,): 0/1
 * labels for GBT_BINARY, class indexes for GBT_MULTICLASS. is_category[j]:
 * column j holds category indexes 0..n_categories[j]-1. Returns the ensemble
 * (margins: one output, or one per class; the caller's output link is
 * sigmoid, softmax or identity), base scores included; *rounds
 * gets the number of trees kept. NULL with err. */
tree_ensemble *gbt_fit(const float *x, const float *y, size_t n, int n_features, const int *is_category,
                       const int *n_categories, const gbt_options *o, int *rounds, char *err);

/* The same, taking x (malloc'd) to free as soon as it is binned: the float
 * matrix and the boosting buffers are never held at once. */
tree_ensemble *gbt_fit_owned(float *x, const float *y, size_t n, int n_features, const int *is_category,
                             const int *n_categories, const gbt_options *o, int *rounds, char *err);

/* For tests: the best split of one node's histogram, by brute force and by
 * the scan gbt_fit uses (the same answer is the test). */
typedef struct {
    double gain;
    int feature, bin; /* numeric: bins <= bin go left */
    int missing_left;
} gbt_split;

/* Gradient and hessian of each objective at margin f for label y. */
void gbt_grad(gbt_objective obj, double f, double y, double *g, double *h);

#endif
