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
        for (int i = 0; i < tr->n_nodes; i++)
            if (tr->feature[i] >= 0 && !(tr->cover[i] > 0)) return 0;
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
