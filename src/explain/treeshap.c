/* treeshap — Algorithm 2 of "Consistent Individualized Feature Attribution for
 * Tree Ensembles": a walk down every path of a tree that keeps, for the unique
 * features split on so far, the proportion of coalitions in which each path
 * element is reached, extended at each split and unwound when a feature
 * repeats. Written from the paper's pseudocode; the running weights are the
 * paper's (zero_fraction, one_fraction, pweight). */
#include "explain/treeshap.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int feature;
    double zero, one; /* share of the cold (data-weighted) and hot (this row's) ways through */
    double weight;    /* the permutation weight */
} path_elem;

int treeshap_possible(const tree_ensemble *e)
{
    for (size_t t = 0; t < e->n_trees; t++) {
        const tree *tr = &e->trees[t];
        if (!tr->cover) return 0;
        for (int i = 0; i < tr->n_nodes; i++) /* a zero cover would divide by zero on the cold path */
            if (!(tr->cover[i] > 0)) return 0;
    }
    return 1;
}

/* 1/n for the path lengths and positions the updates divide by: the walk is
 * all multiply-adds (divisions, 15+ cycles each, were most of its time) */
static const double inv[TREES_MAX_DEPTH + 3] = {
    0,        1.0 / 1,  1.0 / 2,  1.0 / 3,  1.0 / 4,  1.0 / 5,  1.0 / 6,  1.0 / 7,  1.0 / 8,  1.0 / 9,
    1.0 / 10, 1.0 / 11, 1.0 / 12, 1.0 / 13, 1.0 / 14, 1.0 / 15, 1.0 / 16, 1.0 / 17, 1.0 / 18, 1.0 / 19,
    1.0 / 20, 1.0 / 21, 1.0 / 22, 1.0 / 23, 1.0 / 24, 1.0 / 25, 1.0 / 26, 1.0 / 27, 1.0 / 28, 1.0 / 29,
    1.0 / 30, 1.0 / 31, 1.0 / 32, 1.0 / 33, 1.0 / 34, 1.0 / 35, 1.0 / 36, 1.0 / 37, 1.0 / 38, 1.0 / 39,
    1.0 / 40, 1.0 / 41, 1.0 / 42, 1.0 / 43, 1.0 / 44, 1.0 / 45, 1.0 / 46, 1.0 / 47, 1.0 / 48, 1.0 / 49,
    1.0 / 50, 1.0 / 51, 1.0 / 52, 1.0 / 53, 1.0 / 54, 1.0 / 55, 1.0 / 56, 1.0 / 57, 1.0 / 58, 1.0 / 59,
    1.0 / 60, 1.0 / 61, 1.0 / 62, 1.0 / 63, 1.0 / 64, 1.0 / 65, 1.0 / 66};

static void extend(path_elem *m, int depth, double zero, double one, int feature)
{
    m[depth] = (path_elem){feature, zero, one, depth == 0 ? 1.0 : 0.0};
    double d1 = inv[depth + 1];
    for (int i = depth - 1; i >= 0; i--) {
        m[i + 1].weight += one * m[i].weight * (i + 1) * d1;
        m[i].weight = zero * m[i].weight * (depth - i) * d1;
    }
}

/* (one is 0 or 1 on every path element: a row takes one way at each split) */
static void unwind(path_elem *m, int depth, int k)
{
    double one = m[k].one, zero = m[k].zero, next = m[depth].weight, d1 = depth + 1;
    if (one != 0) {
        for (int i = depth - 1; i >= 0; i--) {
            double w = m[i].weight;
            m[i].weight = next * d1 * inv[i + 1];
            next = w - m[i].weight * zero * (depth - i) * inv[depth + 1];
        }
    } else {
        double z = 1.0 / zero;
        for (int i = depth - 1; i >= 0; i--) m[i].weight = m[i].weight * d1 * z * inv[depth - i];
    }
    for (int i = k; i < depth; i++) {
        m[i].feature = m[i + 1].feature;
        m[i].zero = m[i + 1].zero;
        m[i].one = m[i + 1].one;
    }
}

/* The total permutation weight were element k unwound (without unwinding it). */
static double unwound_sum(const path_elem *m, int depth, int k)
{
    double one = m[k].one, zero = m[k].zero, next = m[depth].weight, total = 0, d1 = depth + 1;
    if (one != 0) {
        double zd = zero * inv[depth + 1];
        for (int i = depth - 1; i >= 0; i--) {
            double w = next * d1 * inv[i + 1];
            total += w;
            next = m[i].weight - w * zd * (depth - i);
        }
    } else {
        for (int i = depth - 1; i >= 0; i--) total += m[i].weight * d1 * inv[depth - i];
        total /= zero;
    }
    return total;
}

typedef struct {
    const tree *tr;
    const float *x;
    double *phi; /* this tree's output's row of phi */
} walk;

/* parent: the path so far (depth + 1 elements before the extension at this
 * node); each call copies it to its own segment, so siblings see the same. */
static void recurse(const walk *w, int node, const path_elem *parent, int depth, double zero, double one,
                    int feature)
{
    path_elem m[TREES_MAX_DEPTH + 2];
    memcpy(m, parent, (size_t)depth * sizeof *m);
    extend(m, depth, zero, one, feature);
    const tree *tr = w->tr;
    if (tr->feature[node] < 0) {
        for (int i = 1; i <= depth; i++)
            w->phi[m[i].feature] += unwound_sum(m, depth, i) * (m[i].one - m[i].zero) * tr->value[node];
        return;
    }
    int f = tr->feature[node];
    int hot = trees_goes_left(tr, node, w->x[f]) ? tr->left[node] : tr->right[node];
    int cold = hot == tr->left[node] ? tr->right[node] : tr->left[node];
    double in_zero = 1, in_one = 1;
    int k = 1;
    while (k <= depth && m[k].feature != f) k++;
    if (k <= depth) { /* the feature was split on above: its element is replaced */
        in_zero = m[k].zero;
        in_one = m[k].one;
        unwind(m, depth, k);
        depth--;
    }
    double cover = tr->cover[node];
    recurse(w, hot, m, depth + 1, in_zero * tr->cover[hot] / cover, in_one, f);
    recurse(w, cold, m, depth + 1, in_zero * tr->cover[cold] / cover, 0, f);
}

void treeshap_row(const tree_ensemble *e, const float *x, double *phi)
{
    int nf = e->base.n_features, k = e->base.n_outputs;
    memset(phi, 0, (size_t)k * (size_t)(nf + 1) * sizeof *phi);
    for (int o = 0; o < k; o++) phi[(size_t)o * (size_t)(nf + 1) + (size_t)nf] = e->base_score[o];
    for (size_t t = 0; t < e->n_trees; t++) {
        const tree *tr = &e->trees[t];
        double *row = phi + (size_t)tr->output * (size_t)(nf + 1);
        walk w = {tr, x, row};
        path_elem root[1];
        recurse(&w, 0, root, 0, 1, 1, -1);
        row[nf] += tr->expected;
    }
}

/* ---- tables ------------------------------------------------------------------ */

struct treeshap_tables {
    size_t n_leaves;
    size_t *first_leaf; /* (n_trees + 1,) each tree's leaves, in order */
    int max_nodes;
    int *leaf_tree, *leaf_node, *leaf_d; /* (n_leaves,) */
    size_t *feat_at, *path_at, *table_at;
    int *path_len;
    int *feats;                 /* the leaf's unique features, feat_at[L] ..+ d */
    int *path_node;             /* the leaf's path nodes, path_at[L] ..+ path_len */
    unsigned char *path_left;   /* 1: the leaf is to the node's left */
    unsigned char *path_unique; /* which of the leaf's unique features the node splits on */
    double *table;              /* (2^d, d) a leaf: contributions (times the leaf value) by pattern */
};

void treeshap_tables_free(treeshap_tables *t)
{
    if (!t) return;
    free(t->first_leaf);
    free(t->leaf_tree);
    free(t->leaf_node);
    free(t->leaf_d);
    free(t->feat_at);
    free(t->path_at);
    free(t->table_at);
    free(t->path_len);
    free(t->feats);
    free(t->path_node);
    free(t->path_left);
    free(t->path_unique);
    free(t->table);
    free(t);
}

/* the parent of each node (-1 for the root) */
static int *parents(const tree *tr)
{
    int *up = malloc((size_t)tr->n_nodes * sizeof *up);
    if (!up) return NULL;
    for (int i = 0; i < tr->n_nodes; i++) up[i] = -1;
    for (int i = 0; i < tr->n_nodes; i++)
        if (tr->feature[i] >= 0) up[tr->left[i]] = up[tr->right[i]] = i;
    return up;
}

treeshap_tables *treeshap_tables_build(const tree_ensemble *e)
{
    /* first pass: sizes */
    size_t n_leaves = 0, n_feats = 0, n_path = 0, n_table = 0;
    for (size_t t = 0; t < e->n_trees; t++) {
        const tree *tr = &e->trees[t];
        int *up = parents(tr);
        if (!up) return NULL;
        for (int i = 0; i < tr->n_nodes; i++) {
            if (tr->feature[i] >= 0) continue;
            int len = 0, d = 0, feats[TREES_MAX_DEPTH + 1];
            for (int c = i, n = up[c]; n >= 0; c = n, n = up[n]) {
                len++;
                int k = 0;
                while (k < d && feats[k] != tr->feature[n]) k++;
                if (k == d) feats[d++] = tr->feature[n];
            }
            n_leaves++;
            n_feats += (size_t)d;
            n_path += (size_t)len;
            n_table += ((size_t)1 << d) * (size_t)d;
            if (d > 20 || n_table * sizeof(double) > TREESHAP_TABLE_BYTES || tr->n_nodes > (1 << 16)) {
                free(up);
                return NULL;
            }
        }
        free(up);
    }
    treeshap_tables *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->n_leaves = n_leaves;
    size_t nl = n_leaves ? n_leaves : 1;
    t->first_leaf = malloc((e->n_trees + 1) * sizeof(size_t));
    t->leaf_tree = malloc(nl * sizeof(int));
    t->leaf_node = malloc(nl * sizeof(int));
    t->leaf_d = malloc(nl * sizeof(int));
    t->path_len = malloc(nl * sizeof(int));
    t->feat_at = malloc(nl * sizeof(size_t));
    t->path_at = malloc(nl * sizeof(size_t));
    t->table_at = malloc(nl * sizeof(size_t));
    t->feats = malloc((n_feats + 1) * sizeof(int));
    t->path_node = malloc((n_path + 1) * sizeof(int));
    t->path_left = malloc(n_path + 1);
    t->path_unique = malloc(n_path + 1);
    t->table = malloc((n_table + 1) * sizeof(double));
    if (!t->first_leaf || !t->leaf_tree || !t->leaf_node || !t->leaf_d || !t->path_len || !t->feat_at ||
        !t->path_at || !t->table_at || !t->feats || !t->path_node || !t->path_left || !t->path_unique ||
        !t->table) {
        treeshap_tables_free(t);
        return NULL;
    }
    /* second pass: each leaf's path, its unique features with their zero
     * fractions, and its contributions for every pattern */
    size_t L = 0, fa = 0, pa = 0, ta = 0;
    for (size_t tt = 0; tt < e->n_trees; tt++) {
        const tree *tr = &e->trees[tt];
        int *up = parents(tr);
        if (!up) {
            treeshap_tables_free(t);
            return NULL;
        }
        t->first_leaf[tt] = L;
        if (tr->n_nodes > t->max_nodes) t->max_nodes = tr->n_nodes;
        for (int i = 0; i < tr->n_nodes; i++) {
            if (tr->feature[i] >= 0) continue;
            int d = 0, len = 0;
            double zero[TREES_MAX_DEPTH + 1];
            t->leaf_tree[L] = (int)tt;
            t->leaf_node[L] = i;
            t->feat_at[L] = fa;
            t->path_at[L] = pa;
            for (int c = i, n = up[c]; n >= 0; c = n, n = up[n]) {
                int k = 0;
                while (k < d && t->feats[fa + (size_t)k] != tr->feature[n]) k++;
                if (k == d) {
                    t->feats[fa + (size_t)d] = tr->feature[n];
                    zero[d++] = 1;
                }
                zero[k] *= (double)tr->cover[c] / tr->cover[n];
                t->path_node[pa + (size_t)len] = n;
                t->path_left[pa + (size_t)len] = (unsigned char)(tr->left[n] == c);
                t->path_unique[pa + (size_t)len] = (unsigned char)k;
                len++;
            }
            t->leaf_d[L] = d;
            t->path_len[L] = len;
            t->table_at[L] = ta;
            for (size_t p = 0; p < ((size_t)1 << d); p++) {
                path_elem m[TREES_MAX_DEPTH + 2];
                extend(m, 0, 1, 1, -1);
                for (int k = 0; k < d; k++) extend(m, k + 1, zero[k], (double)(p >> k & 1), k);
                for (int k = 0; k < d; k++)
                    t->table[ta + p * (size_t)d + (size_t)k] =
                        unwound_sum(m, d, k + 1) * ((double)(p >> k & 1) - zero[k]) * tr->value[i];
            }
            ta += ((size_t)1 << d) * (size_t)d;
            fa += (size_t)d;
            pa += (size_t)len;
            L++;
        }
        free(up);
    }
    t->first_leaf[e->n_trees] = L;
    return t;
}

/* the row's way at a split: NaN by the default, a category set, else x < t */
static inline unsigned char row_goes_left(const tree *tr, int node, float v)
{
    if (v != v) return tr->default_left[node];
    if (tr->cat_at && tr->cat_at[node] >= 0) return (unsigned char)!trees_in_category_set(tr, node, v);
    return v < tr->threshold[node];
}

void treeshap_row_tables(const tree_ensemble *e, const treeshap_tables *t, const float *x, double *phi)
{
    int nf = e->base.n_features, k = e->base.n_outputs;
    unsigned char dir[t->max_nodes > 0 ? t->max_nodes : 1]; /* at most 64 KiB: see the build */
    memset(phi, 0, (size_t)k * (size_t)(nf + 1) * sizeof *phi);
    for (int o = 0; o < k; o++) phi[(size_t)o * (size_t)(nf + 1) + (size_t)nf] = e->base_score[o];
    for (size_t tt = 0; tt < e->n_trees; tt++) {
        const tree *tr = &e->trees[tt];
        double *row = phi + (size_t)tr->output * (size_t)(nf + 1);
        row[nf] += tr->expected;
        for (int n = 0; n < tr->n_nodes; n++) /* the row's way at every split, once */
            if (tr->feature[n] >= 0) dir[n] = row_goes_left(tr, n, x[tr->feature[n]]);
        for (size_t L = t->first_leaf[tt]; L < t->first_leaf[tt + 1]; L++) {
            int d = t->leaf_d[L];
            if (d == 0) continue;
            /* the pattern: a feature's bit is cleared where the row leaves the path */
            size_t pattern = ((size_t)1 << d) - 1;
            const int *pn = t->path_node + t->path_at[L];
            const unsigned char *pl = t->path_left + t->path_at[L], *pu = t->path_unique + t->path_at[L];
            for (int s = 0; s < t->path_len[L]; s++)
                if (dir[pn[s]] != pl[s]) pattern &= ~((size_t)1 << pu[s]);
            const double *c = t->table + t->table_at[L] + pattern * (size_t)d;
            const int *feats = t->feats + t->feat_at[L];
            for (int j = 0; j < d; j++) row[feats[j]] += c[j];
        }
    }
}
