/* tree_walk — the kernels that walk a tree ensemble's padded complete layout
 * (trees.h): portable C, AVX2 and AVX-512, one picked per machine. */
#ifndef TABSERVE_TREE_WALK_H
#define TABSERVE_TREE_WALK_H

#include "estimators/tree_layout.h"

/* Whether rows of an ensemble of n_trees trees of this depth are walked on
 * ranks (the packed and heap layouts): their binary searches (~100 ns a row)
 * pay off once a row walks many nodes. */
static inline int tree_walk_on_ranks(size_t n_trees, int depth) { return n_trees * (size_t)depth >= 512; }

/* The fastest kernels this machine runs for c, at most cap (the ensemble's
 * isa_cap: tests compare the kernels). */
tree_walkers tree_walkers_pick(const complete_trees *c, size_t n_trees, tree_isa cap);

#endif
