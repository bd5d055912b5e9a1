/* tree_walk — the kernels that walk a tree ensemble's padded complete layout
 * (trees.h): portable C, AVX2 and AVX-512, one picked per machine. */
#ifndef TABSERVE_TREE_WALK_H
#define TABSERVE_TREE_WALK_H

#include "estimators/trees.h"

/* The fastest kernels this machine runs for c; TABSERVE_TREE_KERNEL=portable
 * or avx2 caps the choice. */
tree_walkers tree_walkers_pick(const complete_trees *c, size_t n_trees);

#endif
