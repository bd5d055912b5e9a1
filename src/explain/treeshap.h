/* treeshap — path-dependent TreeSHAP (Lundberg, Erion and Lee, 2018; the
 * algorithm XGBoost's pred_contribs runs): the exact Shapley values of a tree
 * ensemble's margin for one row, the expectation over each tree taken along
 * the training data's paths, as the node covers record them. O(trees x leaves
 * x depth^2) a row. */
#ifndef TABSERVE_TREESHAP_H
#define TABSERVE_TREESHAP_H

#include "estimators/trees.h"

/* Whether every tree has covers, each node's above 0. */
int treeshap_possible(const tree_ensemble *e);

/* Row x (n_features,) -> phi (n_outputs, n_features + 1): each feature column's
 * contribution to each output's margin, and last the expected margin (the bias:
 * base_score plus each tree's cover-weighted mean). The row's margin is the sum. */
void treeshap_row(const tree_ensemble *e, const float *x, double *phi);

/* Tables for explaining many rows fast. Path-dependent TreeSHAP's
 * contribution of one leaf depends on the row only through which of the
 * leaf's path features the row agrees with (at every node of that feature on
 * the path, it goes the leaf's way): 2^d patterns for d unique features. Each
 * leaf's contributions are computed once per pattern; a row then costs a
 * look-up per leaf: O(trees x leaves x depth). Built when the tables fit in
 * TREESHAP_TABLE_BYTES; NULL otherwise (or when memory runs out). */
#define TREESHAP_TABLE_BYTES ((size_t)16 << 20) /* per model: made at load, shared by the workers */
typedef struct treeshap_tables treeshap_tables;
treeshap_tables *treeshap_tables_build(const tree_ensemble *e);
void treeshap_tables_free(treeshap_tables *t);
/* The same as treeshap_row, through the tables. */
void treeshap_row_tables(const tree_ensemble *e, const treeshap_tables *t, const float *x, double *phi);

#endif
