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
 * with larger categories, walk the nodes. */
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
    /* room kept for this tree's node arrays in its ensemble's pool
     * (trees_reserve_nodes); pooled: its arrays lie there */
    char *slot;
    int slot_nodes, pooled;
} tree;

/* The padded layout (see above), derived by prepare. A split node is 8 bytes,
 * read in one load: the threshold, and the feature column with the NaN
 * direction in its top bit. */
typedef struct {
    float threshold;
    uint32_t feature; /* column | COMPLETE_NAN_RIGHT when a NaN goes right | COMPLETE_CATEGORY */
} complete_node;
#define COMPLETE_NAN_RIGHT 0x80000000u
/* a categorical split: the threshold's 32 bits are the set of categories
 * (0..31) that go right; any other value goes left */
#define COMPLETE_CATEGORY 0x40000000u
#define COMPLETE_COLUMN   0x3fffffffu
#define COMPLETE_TOP      5 /* levels: 31 nodes */
#define PACKED_CATEGORY   (1u << 14)

typedef struct {
    int depth;            /* D */
    size_t n_inner;       /* 2^D - 1 split nodes per tree */
    complete_node *nodes; /* (n_trees, n_inner) */
    /* the first COMPLETE_TOP levels again, as columns: (n_trees, 32) thresholds
     * and features, so a vector kernel keeps a tree's top in two registers and
     * looks nodes up with a permute instead of a gather */
    float *top_threshold;
    uint32_t *top_feature;
    float *leaf; /* (n_trees, 2^D) */
    int *output; /* (n_trees,) */
    /* Thresholds as ranks, for scoring one row: each feature's distinct
     * thresholds sorted (cut[cut_start[f] ..< cut_start[f + 1]]); a row's value
     * becomes its rank r = how many cuts are <= it, and x < cut k exactly when
     * r <= k. NULL when the packed layout below cannot be made. */
    float *cut;
    int *cut_start; /* (n_features + 1,) */
    /* The packed layout one row walks (tree_walk.c): a tree cut into blocks of
     * levels, each block one 64-byte line, so a walk touches one line per
     * block (3 at depth 8) instead of one per level. A split node is one
     * 32-bit word: column | NaN-right << 15 | k << 16. Every block but the
     * last holds up to 4 levels (15 nodes); the last holds up to 3 levels (7
     * nodes) and their 8 leaves as floats from word 8. The blocks of one
     * block-row lie side by side, in order. With several block-rows the
     * first one's block lies apart, the trees' side by side (a depth-8 tree
     * starts with a one-level block: 16 trees' roots share a line). */
    uint32_t *packed;     /* (n_trees, packed_stride): the block-rows below the first */
    size_t packed_stride; /* words a tree: 16 a block */
    uint32_t *packed_top; /* (n_trees, top_words): the first block-row, when there are several */
    int top_words;        /* 2^levels - 1 of the first block-row; 0: one block-row, in packed */
    /* Columns split on category sets (bit f), whose sets are all below 16: such a
     * node's word is column | PACKED_CATEGORY | NaN-right << 15 | set << 16, and
     * the column's "rank" is the row's category (truncated; 16 when negative or
     * above 15: in no set). A column split both ways leaves the layout NULL. */
    uint32_t category_features;
    /* The same split words in heap order (node h's children are 2h and 2h+1,
     * the root is 1, word 0 unused), 256 a tree, for depth <= 8: a tree's
     * words fit in 16 registers, and the many-rows kernel looks nodes up by
     * permutes instead of gathers. NULL without the packed layout, deeper, or
     * for ensembles too small to be walked on ranks (tree_walk_on_ranks). */
    uint32_t *heap;
    int n_block_rows;
    int block_levels[4]; /* levels of each block-row, from the root */
    int block_first[4];  /* the first block of each block-row, within a tree */
    int n_features;
    int has_categories; /* some node splits on a category set */
    void *pool;         /* the one block every array above lies in */
} complete_trees;

/* A walking kernel (tree_walk.c): adds the leaves of trees 0..n_trees-1 to y
 * (n, k) for rows x (n, nf), each to its tree's output, in tree order. */
typedef void (*tree_walk_fn)(const complete_trees *c, size_t n_trees, int nf, int k, const float *x, int n,
                             float *y);
typedef struct {
    tree_walk_fn rows;  /* many rows: trees outside, rows walk side by side */
    tree_walk_fn trees; /* few rows: rows outside, trees walk side by side */
    tree_walk_fn one;   /* one row of a large ensemble (NULL: trees) */
    const char *isa;    /* "avx512", "avx2" or "portable", for inspect */
} tree_walkers;

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
    complete_trees *complete; /* derived by prepare, NULL when too deep or categorical */
    tree_walkers walk;        /* derived by prepare: the kernels for this machine */
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

/* Whether value v goes to node i's left child: NaN by the default direction,
 * a categorical split by its set, else v < threshold. */
static inline int trees_goes_left(const tree *tr, int node, float v)
{
    if (v != v) return tr->default_left[node]; /* NaN */
    if (tr->cat_at && tr->cat_at[node] >= 0) return !trees_in_category_set(tr, node, v);
    return v < tr->threshold[node];
}

/* Limits on what the readers and importers accept (options can lower them). */
#define TREES_MAX_TREES 100000
#define TREES_MAX_NODES (1 << 22)
#define TREES_MAX_DEPTH 64

#endif
