/* tree_layout — a shallow tree ensemble laid out a second time for its
 * kernels (tree_layout.h): padded complete trees, their tops as columns, the
 * thresholds as ranks, the packed blocks and the heap-ordered words. */
#include "estimators/tree_layout.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/files.h"
#include "estimators/tree_walk.h"

/* the padded layout is used up to this depth and this many bytes */
#define COMPLETE_MAX_DEPTH 12
#define COMPLETE_MAX_BYTES ((size_t)256 << 20)

void tree_layout_free(complete_trees *c)
{
    if (!c) return;
    free(c->pool);
    free(c);
}

/* Copies node `node` of tr into slot `idx` of the complete tree at `level`:
 * a split keeps its feature, threshold and NaN direction; a leaf above the
 * last level becomes splits whose every leaf holds its value. */
static void complete_fill(complete_trees *c, size_t t, const tree *tr, int node, int node_is_real, size_t idx,
                          int level)
{
    if (level == c->depth) {
        c->leaf[t * (c->n_inner + 1) + (idx - c->n_inner)] = tr->value[node];
        return;
    }
    int split = node_is_real && tr->feature[node] >= 0;
    complete_node *nd = &c->nodes[t * c->n_inner + idx];
    nd->threshold = split ? tr->threshold[node] : 0.0f;
    nd->feature = split ? (uint32_t)tr->feature[node] | (tr->default_left[node] ? 0 : COMPLETE_NAN_RIGHT) : 0;
    if (split && tr->cat_at && tr->cat_at[node] >= 0) { /* the set's one word, as the threshold's bits */
        uint32_t set = tr->cat_len[node] ? tr->cat_words[tr->cat_at[node]] : 0;
        memcpy(&nd->threshold, &set, sizeof set);
        nd->feature |= COMPLETE_CATEGORY;
    }
    complete_fill(c, t, tr, split ? tr->left[node] : node, split, 2 * idx + 1, level + 1);
    complete_fill(c, t, tr, split ? tr->right[node] : node, split, 2 * idx + 2, level + 1);
}

/* A float's bits, ordered as the floats are (negatives flipped): thresholds
 * are never NaN here. */
static uint32_t sortable(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    if (v == 0) u = 0; /* -0 and +0 are one threshold */
    return u >> 31 ? ~u : u | 0x80000000u;
}

typedef struct {
    uint64_t key; /* feature << 32 | sortable(threshold) */
    uint32_t node;
} cut_entry;

/* LSD radix sort by key, 11 bits a pass over the bits in use (37 with 32
 * features): counts of 2048 stay in the first-level cache. */
#define SORT_BITS 11
static void sort_cuts(cut_entry *a, size_t n, cut_entry *tmp)
{
    uint64_t all = 0;
    for (size_t i = 0; i < n; i++) all |= a[i].key;
    size_t count[(1 << SORT_BITS) + 1];
    for (int shift = 0; shift < 64 && all >> shift; shift += SORT_BITS) {
        const uint64_t mask = (1u << SORT_BITS) - 1;
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++) count[((a[i].key >> shift) & mask) + 1]++;
        for (size_t d = 0; d < mask + 1; d++) count[d + 1] += count[d];
        for (size_t i = 0; i < n; i++) tmp[count[(a[i].key >> shift) & mask]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
    }
}

/* The packed layout's block-rows for depth D (trees.h): the last holds up to
 * 3 levels and the leaves, the ones above up to 4 levels each. When there are
 * several, the first row's one block a tree goes to packed_top, the trees'
 * blocks side by side. */
static void packed_shape(complete_trees *c)
{
    int bottom = c->depth < 3 ? c->depth : 3, rest = c->depth - bottom, above = (rest + 3) / 4;
    int start = 0, blocks = 0;
    c->n_block_rows = above + 1;
    for (int j = 0; j <= above; j++) {
        c->block_levels[j] = j == above ? bottom : j == 0 ? rest - 4 * (above - 1) : 4;
        c->block_first[j] = blocks;
        if (j > 0 || above == 0) blocks += 1 << start; /* one block under each node of the level above */
        start += c->block_levels[j];
    }
    c->packed_stride = 16 * (size_t)blocks;
    c->top_words = above ? (1 << c->block_levels[0]) - 1 : 0;
}

/* Where slot idx of complete tree t (a split node when idx < n_inner, else
 * leaf idx - n_inner) lies in the packed layout. */
static uint32_t *packed_slot(const complete_trees *c, size_t t, size_t idx)
{
    int level = 0;
    while (((size_t)2 << level) - 1 <= idx) level++;
    if (c->top_words && level < c->block_levels[0]) return &c->packed_top[t * (size_t)c->top_words + idx];
    size_t p = idx - (((size_t)1 << level) - 1); /* position within the level */
    int j = 0, start = 0;
    while (j + 1 < c->n_block_rows && start + c->block_levels[j] <= level) start += c->block_levels[j++];
    int e = level - start; /* level within the block */
    size_t block = (size_t)c->block_first[j] + (p >> e), q = p & (((size_t)1 << e) - 1);
    return &c->packed[t * c->packed_stride + 16 * block +
                      (level == c->depth ? 8 + q : ((size_t)1 << e) - 1 + q)];
}

/* The rank form of the split nodes (trees.h): per feature, its distinct
 * thresholds sorted; each real split's threshold as its index there, packed
 * with its column and NaN direction; padding splits (all leaves below them
 * equal) are word 0; a category split keeps its set (trees.h). Leaves c->cut
 * and c->packed NULL when the model has more than 32 features (the kernel
 * keeps a row's ranks in two registers), a feature more than 65536
 * thresholds, a set with a category above 15, or a column split both by
 * threshold and by set, or memory runs out: one row then walks the float
 * layout. */
static void rank_build(complete_trees *c, const tree_ensemble *e)
{
    int nf = e->base.n_features;
    size_t n_nodes = e->n_trees * c->n_inner, n_cuts = 0;
    /* the cuts, and after them room for the sort's second copy */
    cut_entry *cuts = memory_large(2 * (n_nodes ? n_nodes : 1) * sizeof *cuts);
    if (!cuts || !c->packed) goto fail; /* (no packed layout for more than 32 features) */
    /* the real splits of the complete layout: walk each tree again */
    for (size_t t = 0; t < e->n_trees; t++) {
        const tree *tr = &e->trees[t];
        int stack_node[2 * TREES_MAX_DEPTH + 2];
        size_t stack_idx[2 * TREES_MAX_DEPTH + 2];
        int top = 0;
        stack_node[top] = 0;
        stack_idx[top++] = 0;
        while (top) {
            int node = stack_node[--top];
            size_t idx = stack_idx[top];
            if (tr->feature[node] < 0 || idx >= c->n_inner) continue;
            size_t at = t * c->n_inner + idx;
            complete_node nd = c->nodes[at];
            if (nd.feature & COMPLETE_CATEGORY) { /* its set, when all below 16, in the word's top half */
                uint32_t set;
                memcpy(&set, &nd.threshold, sizeof set);
                if (set >> 16) goto fail;
                c->category_features |= 1u << tr->feature[node];
                *packed_slot(c, t, idx) = (uint32_t)tr->feature[node] | PACKED_CATEGORY |
                                          (nd.feature & COMPLETE_NAN_RIGHT ? 1u << 15 : 0) | set << 16;
            } else {
                cuts[n_cuts++] = (cut_entry){
                    (uint64_t)tr->feature[node] << 32 | sortable(tr->threshold[node]), (uint32_t)at};
            }
            stack_node[top] = tr->left[node];
            stack_idx[top++] = 2 * idx + 1;
            stack_node[top] = tr->right[node];
            stack_idx[top++] = 2 * idx + 2;
        }
    }
    sort_cuts(cuts, n_cuts, cuts + n_cuts);
    /* distinct thresholds per feature, in order; each node gets its index */
    size_t total = 0;
    int f_prev = -1;
    uint32_t k = 0;
    for (size_t i = 0; i < n_cuts; i++) {
        int f = (int)(cuts[i].key >> 32);
        int fresh = i == 0 || cuts[i].key != cuts[i - 1].key;
        if (f != f_prev) {
            for (int g = f_prev + 1; g <= f; g++) c->cut_start[g] = (int)total;
            f_prev = f;
            k = 0;
        } else if (fresh) {
            k++;
        }
        if (fresh) c->cut[total++] = c->nodes[cuts[i].node].threshold;
        if (k > 65535 || c->category_features >> f & 1) goto fail; /* a column split both ways */
        uint32_t nan_right = c->nodes[cuts[i].node].feature >> 31;
        *packed_slot(c, cuts[i].node / c->n_inner, cuts[i].node % c->n_inner) =
            (uint32_t)f | nan_right << 15 | k << 16;
    }
    for (int g = f_prev + 1; g <= nf; g++) c->cut_start[g] = (int)total;
    for (size_t t = 0; t < e->n_trees; t++)
        for (size_t j = 0; j <= c->n_inner; j++)
            memcpy(packed_slot(c, t, c->n_inner + j), &c->leaf[t * (c->n_inner + 1) + j], sizeof(float));
    c->n_features = nf;
    free(cuts);
    return;
fail: /* the arrays stay in the pool, unused */
    free(cuts);
    c->packed_top = NULL;
    c->cut = NULL;
    c->cut_start = NULL;
    c->category_features = 0;
    c->packed = NULL;
}

/* The packed words again in heap order (trees.h), when the trees are at most
 * 8 deep; else, or out of memory, c->heap stays NULL. */
static void heap_build(complete_trees *c, size_t n_trees)
{
    if (!c->packed || !c->heap) {
        c->heap = NULL;
        return;
    }
    for (size_t t = 0; t < n_trees; t++) {
        uint32_t *h = c->heap + t * 256;
        memset(h, 0, 256 * sizeof *h);
        for (size_t idx = 0; idx < c->n_inner; idx++) h[idx + 1] = *packed_slot(c, t, idx);
    }
}

complete_trees *tree_layout_build(const tree_ensemble *e)
{
    int depth = e->max_depth;
    if (depth > COMPLETE_MAX_DEPTH) return NULL;
    for (size_t t = 0; e->categorical && t < e->n_trees; t++) /* sets of categories below 32 only */
        for (int i = 0; e->trees[t].cat_at && i < e->trees[t].n_nodes; i++)
            if (e->trees[t].cat_at[i] >= 0 && e->trees[t].cat_len[i] > 1) return NULL;
    size_t n_inner = ((size_t)1 << depth) - 1;
    if (e->n_trees * (n_inner * 9 + (n_inner + 1) * 4) > COMPLETE_MAX_BYTES) return NULL;
    complete_trees *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->depth = depth;
    c->n_inner = n_inner;
    packed_shape(c);
    size_t nt = e->n_trees ? e->n_trees : 1, nf = (size_t)e->base.n_features;
    int ranks = nf <= 32; /* the one-row kernel keeps a row's ranks in two registers */
    int heap = ranks && depth <= 8 && tree_walk_on_ranks(e->n_trees, depth); /* else no kernel reads it */
    /* every array in one block, each on its own cache lines (a packed block is a line) */
    size_t sizes[] = {nt * (n_inner ? n_inner : 1) * sizeof *c->nodes,
                      nt * (n_inner + 1) * sizeof *c->leaf,
                      nt * sizeof *c->output,
                      nt * 32 * sizeof *c->top_threshold,
                      nt * 32 * sizeof *c->top_feature,
                      ranks ? (nt * c->packed_stride + 16) * sizeof *c->packed : 0,
                      ranks ? (nt * (size_t)c->top_words + 1) * sizeof *c->packed_top : 0,
                      ranks ? nt * (n_inner ? n_inner : 1) * sizeof *c->cut : 0,
                      ranks ? (nf + 1) * sizeof *c->cut_start : 0,
                      heap ? nt * 256 * sizeof *c->heap : 0};
    enum { N_ARRAYS = sizeof sizes / sizeof *sizes };
    size_t total = 64;
    for (int i = 0; i < N_ARRAYS; i++) total += (sizes[i] + 63) & ~(size_t)63;
    if (!(c->pool = memory_large(total))) {
        free(c);
        return NULL;
    }
    char *at = (char *)(((uintptr_t)c->pool + 63) & ~(uintptr_t)63);
    void *array[N_ARRAYS];
    for (int i = 0; i < N_ARRAYS; i++) {
        array[i] = sizes[i] ? at : NULL;
        at += (sizes[i] + 63) & ~(size_t)63;
    }
    c->nodes = array[0];
    c->leaf = array[1];
    c->output = array[2];
    c->top_threshold = memset(array[3], 0, sizes[3]);
    c->top_feature = memset(array[4], 0, sizes[4]);
    c->packed = ranks ? memset(array[5], 0, sizes[5]) : NULL;
    c->packed_top = ranks ? memset(array[6], 0, sizes[6]) : NULL;
    c->cut = array[7];
    c->cut_start = ranks ? memset(array[8], 0, sizes[8]) : NULL;
    c->heap = array[9];
    for (size_t t = 0; t < e->n_trees; t++) {
        c->output[t] = e->trees[t].output;
        complete_fill(c, t, &e->trees[t], 0, 1, 0, 0);
        for (size_t i = 0; i < 31 && i < n_inner; i++) {
            c->top_threshold[t * 32 + i] = c->nodes[t * n_inner + i].threshold;
            c->top_feature[t * 32 + i] = c->nodes[t * n_inner + i].feature;
        }
    }
    c->has_categories = e->categorical;
    rank_build(c, e);
    heap_build(c, e->n_trees);
    return c;
}
