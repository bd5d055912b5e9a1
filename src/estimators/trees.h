/* trees — an ensemble of binary decision trees as a predictor: each output is
 * base_score plus the leaf values its trees reach. A node splits on one feature
 * column: x < threshold goes left (strict, as XGBoost), NaN (missing) goes the
 * node's default way. Nodes are stored as arrays, children after their parent,
 * so every walk ends. The import and GBT issues fill it from XGBoost, ONNX and
 * tabserve's own trainer; here it reads and writes format 2. */
#ifndef TABSERVE_TREES_H
#define TABSERVE_TREES_H

#include "model/predictor.h"

typedef struct {
    int n_nodes;
    int output;                  /* the output this tree adds to */
    int *feature;                /* (n_nodes,) split column; -1 at a leaf */
    float *threshold;            /* (n_nodes,) x < threshold goes left */
    int *left, *right;           /* (n_nodes,) children, each > the node's index */
    unsigned char *default_left; /* (n_nodes,) NaN goes left */
    float *value;                /* (n_nodes,) a leaf's value */
} tree;

typedef struct {
    predictor base;
    size_t n_trees;
    tree *trees;
    float *base_score; /* (n_outputs,) */
    int max_depth;     /* derived by prepare */
} tree_ensemble;

/* An ensemble of n_trees trees of n_nodes[i] nodes each (all leaves of value 0). */
tree_ensemble *trees_create(int n_features, int n_outputs, size_t n_trees, const int *n_nodes);

#endif
