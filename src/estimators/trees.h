/* trees — an ensemble of binary decision trees as a predictor: each output is
 * base_score plus the leaf values its trees reach. A node splits on one feature
 * column: x < threshold goes left (strict, as XGBoost), NaN (missing) goes the
 * node's default way. A categorical node instead sends the categories of its
 * set right and every other value left (XGBoost's rule: the value is truncated
 * to an integer category; a negative one is not in any set). Nodes are stored
 * as arrays, children after their parent, so every walk ends. Filled from
 * format 2 files, from XGBoost and ONNX imports, and by tabserve's trainer.
 *
 * prepare() lays shallow ensembles out a second time for speed: every tree
 * padded to one depth D as a complete binary tree (a leaf above depth D
 * copied into all the leaves below it), so a walk is D steps of
 * idx = 2*idx + 1 + go_right with no branch, and many walks (rows, or trees
 * of one row) run interleaved; a categorical split whose categories are all
 * below 32 keeps its set in the node's 32 bits. Deeper ensembles, and sets
 * with larger categories, walk the nodes.
 *
 * The ONNX interpreter's TreeEnsemble keeps its trees here too, with the node
 * tests ONNX writes (tree.test): the same nodes and the same walk
 * (trees_leaf), never prepared, saved or explained — the readers that compile
 * trees write every split as x < threshold, the one test the kernels run. */
#ifndef TABSERVE_TREES_H
#define TABSERVE_TREES_H

#include <stdint.h>

#include "model/predictor.h"

typedef struct {
    int n_nodes;
    int output;                  /* the output this tree adds to */
    int *feature;                /* (n_nodes,) split column; -1 at a leaf */
    float *threshold;            /* (n_nodes,) x < threshold goes left */
    int *left, *right;           /* (n_nodes,) children, each > the node's index */
    unsigned char *default_left; /* (n_nodes,) NaN goes left */
    float *value;                /* (n_nodes,) a leaf's value */
    /* (n_nodes,) how much training data reached each node (XGBoost's cover: the
     * hessian sum), for path-dependent TreeSHAP; NULL when the source has none
     * (ONNX). Explanations only: not part of the content hash. */
    float *cover;
    double expected; /* derived by prepare when covered: the cover-weighted mean leaf value */
    /* categorical splits, NULL when the tree has none: node i's set is the bits
     * cat_words[cat_at[i] ..+ cat_len[i]] (cat_at[i] < 0: a numeric split) */
    int *cat_at, *cat_len;
    uint32_t *cat_words;
    int n_cat_words;
    /* (n_nodes,) each node's test, NULL when every one is TREES_LT; a
     * TREES_MEMBER node's set is members[cat_at[i] ..+ cat_len[i]] */
    unsigned char *test;
    float *members;
    /* room kept for this tree's node arrays in its ensemble's pool
     * (trees_reserve_nodes); pooled: its arrays lie there */
    char *slot;
    int slot_nodes, pooled;
} tree;

/* The padded layout and its kernels (tree_layout.h: private to trees.c,
 * tree_layout.c and tree_walk.c). */
typedef struct complete_trees complete_trees;

/* The most a prepared ensemble's kernels may use: any this machine has, or
 * AVX2, or portable C (set before prepare; tests compare the kernels). */
typedef enum { TREE_ISA_ANY, TREE_ISA_AVX2, TREE_ISA_PORTABLE } tree_isa;

typedef struct {
    predictor base;
    size_t n_trees;
    tree *trees;
    float *base_score;        /* (n_outputs,) */
    int max_depth;            /* derived by prepare */
    size_t n_nodes;           /* derived by prepare: all trees */
    int categorical;          /* derived by prepare: some node splits on categories */
    complete_trees *complete; /* derived by prepare, NULL when too deep or categorical; with its kernels */
    char *node_pool;          /* trees_reserve_nodes: room for the trees' node arrays */
    tree_isa isa_cap;         /* the most prepare may choose (tests compare the kernels); 0: any */
} tree_ensemble;

/* An ensemble of n_trees trees of n_nodes[i] nodes each (all leaves of value 0);
 * with n_nodes NULL, empty trees for trees_alloc_tree to fill. */
tree_ensemble *trees_create(int n_features, int n_outputs, size_t n_trees, const int *n_nodes);

/* p as a tree ensemble, or NULL when it is another estimator (a checked view:
 * explanations and the load-time probe read the trees themselves). */
const tree_ensemble *trees_of(const predictor *p);
/* Gives tr n nodes, all leaves of value 0, in its slot when it has one with
 * room (trees_reserve_nodes). Returns 0 or -1 (memory). */
int trees_alloc_tree(tree *tr, int n);
/* Keeps room for tree t's node arrays, up to n_nodes[t] nodes, in one block
 * for the ensemble (memory_large: for a large ensemble 2 MB pages, not a
 * fault per 4 KB, which was most of loading one on a virtual machine). Each
 * tree has its own slot: threads may fill different trees. 0 or -1 (memory:
 * trees_alloc_tree then takes malloc's). */
int trees_reserve_nodes(tree_ensemble *e, const size_t *n_nodes);

/* Makes node `node` of tr a categorical split sending the categories cats[0..n)
 * right (each 0 <= c < TREES_MAX_CATEGORY). Returns 0 or -1 (memory, range). */
#define TREES_MAX_CATEGORY (1 << 20)
int trees_set_categories(tree *tr, int node, const int *cats, int n);
/* Frees every tree's covers: a blend's trees are explained by interventional
 * values, never along covers, and a model file is mostly numbers to parse. */
void trees_drop_covers(tree_ensemble *e);

/* Whether category value v (a float column) is in node i's set. */
int trees_in_category_set(const tree *tr, int node, float v);

/* A node's test (tree.test): the value goes left when it holds. ONNX's node
 * modes; the threshold is the right-hand side. NaN goes the default way
 * whatever the test. */
enum { TREES_LT, TREES_LEQ, TREES_GTE, TREES_GT, TREES_EQ, TREES_NEQ, TREES_MEMBER };
int trees_test_holds(const tree *tr, int node, float v);

/* Whether value v goes to node i's left child: NaN by the default direction,
 * a node with a test by it, a categorical split by its set, else
 * v < threshold. */
static inline int trees_goes_left(const tree *tr, int node, float v)
{
    if (v != v) return tr->default_left[node]; /* NaN */
    if (tr->test && tr->test[node] != TREES_LT) return trees_test_holds(tr, node, v);
    if (tr->cat_at && tr->cat_at[node] >= 0) return !trees_in_category_set(tr, node, v);
    return v < tr->threshold[node];
}

/* The leaf a row (all the ensemble's features) reaches in tr: the plain walk,
 * of deep ensembles and of the ONNX interpreter alike. */
static inline int trees_leaf(const tree *tr, const float *row)
{
    int node = 0;
    while (tr->feature[node] >= 0)
        node = trees_goes_left(tr, node, row[tr->feature[node]]) ? tr->left[node] : tr->right[node];
    return node;
}

/* Limits on what the readers and importers accept (options can lower them). */
#define TREES_MAX_TREES 100000
#define TREES_MAX_NODES (1 << 22)
#define TREES_MAX_DEPTH 64

#endif
