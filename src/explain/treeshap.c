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

static void extend(path_elem *m, int depth, double zero, double one, int feature)
{
    m[depth] = (path_elem){feature, zero, one, depth == 0 ? 1.0 : 0.0};
    for (int i = depth - 1; i >= 0; i--) {
        m[i + 1].weight += one * m[i].weight * (i + 1) / (double)(depth + 1);
        m[i].weight = zero * m[i].weight * (depth - i) / (double)(depth + 1);
    }
}

static void unwind(path_elem *m, int depth, int k)
{
    double one = m[k].one, zero = m[k].zero, next = m[depth].weight;
    for (int i = depth - 1; i >= 0; i--) {
        if (one != 0) {
            double w = m[i].weight;
            m[i].weight = next * (depth + 1) / ((i + 1) * one);
            next = w - m[i].weight * zero * (depth - i) / (double)(depth + 1);
        } else {
            m[i].weight = m[i].weight * (depth + 1) / (zero * (depth - i));
        }
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
    double one = m[k].one, zero = m[k].zero, next = m[depth].weight, total = 0;
    for (int i = depth - 1; i >= 0; i--) {
        if (one != 0) {
            double w = next * (depth + 1) / ((i + 1) * one);
            total += w;
            next = m[i].weight - w * zero * (depth - i) / (double)(depth + 1);
        } else {
            total += m[i].weight / zero / ((depth - i) / (double)(depth + 1));
        }
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

/* A node's cover-weighted mean leaf value, as XGBoost computes it. */
static double mean_value(const tree *tr, int node)
{
    if (tr->feature[node] < 0) return tr->value[node];
    int l = tr->left[node], r = tr->right[node];
    return (tr->cover[l] * mean_value(tr, l) + tr->cover[r] * mean_value(tr, r)) / tr->cover[node];
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
        row[nf] += mean_value(tr, 0);
    }
}
