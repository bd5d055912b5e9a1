/* treeshap — path-dependent TreeSHAP (Lundberg, Erion and Lee, 2018; the
 * algorithm XGBoost's pred_contribs runs): the exact Shapley values of a tree
 * ensemble's margin for one row, the expectation over each tree taken along
 * the training data's paths, as the node covers record them. O(trees x leaves
 * x depth^2) a row. */
#ifndef TABSERVE_TREESHAP_H
#define TABSERVE_TREESHAP_H

#include "estimators/trees.h"

/* Whether every tree has covers (a node's cover > 0 wherever a row can reach it). */
int treeshap_possible(const tree_ensemble *e);

/* Row x (n_features,) -> phi (n_outputs, n_features + 1): each feature column's
 * contribution to each output's margin, and last the expected margin (the bias:
 * base_score plus each tree's cover-weighted mean). The row's margin is the sum. */
void treeshap_row(const tree_ensemble *e, const float *x, double *phi);

#endif
