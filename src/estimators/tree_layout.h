/* tree_layout — the private layouts of a prepared tree ensemble (trees.h),
 * shared by the three files that build and walk them: trees.c (prepare and
 * predict), tree_layout.c (building) and tree_walk.c (the kernels). Nothing
 * else reads them. */
#ifndef TABSERVE_TREE_LAYOUT_H
#define TABSERVE_TREE_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "estimators/trees.h"

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

/* The padded layout (trees.h), derived by prepare. A split node is 8 bytes,
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

struct complete_trees {
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
    tree_walkers walk;  /* the kernels for this machine (tree_walk.h) */
};

/* The layouts for e (checked and measured by prepare: max_depth, categorical),
 * in one block; NULL when e is too deep or its category sets too large for
 * them, or memory runs out: then the nodes are walked. The kernels are set by
 * the caller (tree_walkers_pick). */
complete_trees *tree_layout_build(const tree_ensemble *e);
void tree_layout_free(complete_trees *c);

#endif
