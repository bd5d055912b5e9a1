/* trees — walking, checking and reading tree ensembles. */
#include "estimators/estimators.h"
#include "estimators/trees.h"

#include "estimators/tree_layout.h"
#include "estimators/tree_walk.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/files.h"
#include "base/jsonx.h"

#define MAX_TREES TREES_MAX_TREES
#define MAX_NODES TREES_MAX_NODES

void trees_drop_covers(tree_ensemble *e)
{
    for (size_t t = 0; t < e->n_trees; t++) {
        free(e->trees[t].cover);
        e->trees[t].cover = NULL;
        e->trees[t].expected = 0;
    }
}

int trees_in_category_set(const tree *tr, int node, float v)
{
    if (!(v >= 0.0f) || v >= (float)TREES_MAX_CATEGORY) return 0;
    unsigned c = (unsigned)v; /* truncated, as XGBoost turns a float into a category */
    unsigned word = c >> 5;
    if ((int)word >= tr->cat_len[node]) return 0;
    return (tr->cat_words[tr->cat_at[node] + (int)word] >> (c & 31)) & 1u;
}

int trees_test_holds(const tree *tr, int node, float v)
{
    float t = tr->threshold[node];
    switch (tr->test[node]) {
    case TREES_LEQ: return v <= t;
    case TREES_GTE: return v >= t;
    case TREES_GT: return v > t;
    case TREES_EQ: return v == t;
    case TREES_NEQ: return v != t;
    case TREES_MEMBER:
        for (int k = 0; k < tr->cat_len[node]; k++)
            if (v == tr->members[tr->cat_at[node] + k]) return 1;
        return 0;
    default: return v < t;
    }
}

/* Any ensemble: one walk at a time, node by node. */
static void walk_nodes(const tree_ensemble *e, const float *x, int n, float *y)
{
    int k = e->base.n_outputs;
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * e->base.n_features;
        float *yr = y + (size_t)r * k;
        for (size_t t = 0; t < e->n_trees; t++) {
            const tree *tr = &e->trees[t];
            yr[tr->output] += tr->value[trees_leaf(tr, xr)];
        }
    }
}

static void trees_predict(const predictor *p, const float *x, int n, float *scratch, float *y)
{
    (void)scratch;
    const tree_ensemble *e = (const tree_ensemble *)p;
    int k = p->n_outputs;
    for (int r = 0; r < n; r++)
        for (int j = 0; j < k; j++) y[(size_t)r * k + j] = e->base_score[j];
    if (!e->complete)
        walk_nodes(e, x, n, y);
    else if (n >= 8) /* enough rows to fill the vectors; else the trees do */
        e->complete->walk.rows(e->complete, e->n_trees, p->n_features, k, x, n, y);
    else if (n == 1 && e->complete->walk.one)
        e->complete->walk.one(e->complete, e->n_trees, p->n_features, k, x, n, y);
    else
        e->complete->walk.trees(e->complete, e->n_trees, p->n_features, k, x, n, y);
}

static size_t trees_scratch(const predictor *p, int n)
{
    (void)p;
    (void)n;
    return 0;
}

/* Structure checks, shared by the reader and by models built in memory; then
 * the padded layout when the ensemble is shallow enough. */
/* The root's cover-weighted mean leaf value, as XGBoost computes it (TreeSHAP's
 * bias): children come after their parent (checked first), so one pass from the
 * last node up, no recursion. Returns 0 when memory runs out. */
static double mean_value(const tree *tr)
{
    double *mean = malloc((size_t)tr->n_nodes * sizeof *mean);
    if (!mean) return 0;
    for (int i = tr->n_nodes - 1; i >= 0; i--) {
        int l = tr->left[i], r = tr->right[i];
        mean[i] = tr->feature[i] < 0 ? tr->value[i]
                  : tr->cover[i] > 0 ? (tr->cover[l] * mean[l] + tr->cover[r] * mean[r]) / tr->cover[i]
                                     : 0;
    }
    double root = mean[0];
    free(mean);
    return root;
}

static int trees_prepare(predictor *p, char *err)
{
    tree_ensemble *e = (tree_ensemble *)p;
    e->max_depth = 0;
    e->n_nodes = 0;
    e->categorical = 0;
    tree_layout_free(e->complete);
    e->complete = NULL;
    for (size_t t = 0; t < e->n_trees; t++) {
        tree *tr = &e->trees[t];
        if (tr->test) /* the interpreter's trees: see trees.h */
            return err_set(err,
                           "$.predictor.trees[%zu]: keeps ONNX's node tests, which only the ONNX "
                           "interpreter walks",
                           t);
        if (tr->output < 0 || tr->output >= p->n_outputs)
            return err_set(err, "$.predictor.trees[%zu].output: %d is not an output (0..%d)", t, tr->output,
                           p->n_outputs - 1);
        /* every node reached exactly once from the root (a tree, not a graph: a
         * shared child or an unreached node is a file's lie, refused here for
         * every reader); children after their parent, so every walk ends */
        int *depth = calloc((size_t)tr->n_nodes, sizeof *depth);
        unsigned char *parents = calloc((size_t)tr->n_nodes, 1);
        if (!depth || !parents) {
            free(depth);
            free(parents);
            return err_set(err, "out of memory");
        }
        for (int i = 0; i < tr->n_nodes; i++) {
            if (tr->feature[i] < 0) continue;
            const char *why = NULL;
            if (tr->feature[i] >= p->n_features)
                why = "splits on a feature column that does not exist";
            else if (!(tr->left[i] > i && tr->left[i] < tr->n_nodes && tr->right[i] > i &&
                       tr->right[i] < tr->n_nodes))
                why = "has a child that is not a later node of the tree";
            else if (isnan(tr->threshold[i]) && !(tr->cat_at && tr->cat_at[i] >= 0))
                why = "has a NaN threshold";
            else if (depth[i] + 1 > TREES_MAX_DEPTH)
                why = "is deeper than 64 levels";
            else if (tr->left[i] == tr->right[i])
                why = "has the same node as both children";
            else if (parents[tr->left[i]]++ || parents[tr->right[i]]++)
                why = "has a child that another node has too (a tree's nodes are reached once)";
            if (why) {
                free(depth);
                free(parents);
                return err_set(err, "$.predictor.trees[%zu]: node %d %s", t, i, why);
            }
            if (tr->cat_at && tr->cat_at[i] >= 0) e->categorical = 1;
            depth[tr->left[i]] = depth[tr->right[i]] = depth[i] + 1;
            if (depth[i] + 1 > e->max_depth) e->max_depth = depth[i] + 1;
        }
        free(depth);
        for (int i = 1; i < tr->n_nodes; i++)
            if (!parents[i]) {
                free(parents);
                return err_set(err, "$.predictor.trees[%zu]: node %d is not reached from the root", t, i);
            }
        free(parents);
        e->n_nodes += (size_t)tr->n_nodes;
        tr->expected = tr->cover ? mean_value(tr) : 0; /* after the structure checks */
    }
    e->complete = tree_layout_build(e); /* NULL: deep or categorical, or no memory: walk the nodes */
    if (e->complete) e->complete->walk = tree_walkers_pick(e->complete, e->n_trees, e->isa_cap);
    return 0;
}

int trees_set_categories(tree *tr, int node, const int *cats, int n)
{
    if (node < 0 || node >= tr->n_nodes) return -1;
    if (!tr->cat_at) {
        tr->cat_at = malloc((size_t)tr->n_nodes * sizeof *tr->cat_at);
        tr->cat_len = calloc((size_t)tr->n_nodes, sizeof *tr->cat_len);
        if (!tr->cat_at || !tr->cat_len) return -1;
        for (int i = 0; i < tr->n_nodes; i++) tr->cat_at[i] = -1;
    }
    int top = -1;
    for (int i = 0; i < n; i++) {
        if (cats[i] < 0 || cats[i] >= TREES_MAX_CATEGORY) return -1;
        if (cats[i] > top) top = cats[i];
    }
    int words = top / 32 + 1;
    uint32_t *grown = realloc(tr->cat_words, (size_t)(tr->n_cat_words + words) * sizeof *grown);
    if (!grown) return -1;
    tr->cat_words = grown;
    memset(grown + tr->n_cat_words, 0, (size_t)words * sizeof *grown);
    for (int i = 0; i < n; i++) grown[tr->n_cat_words + cats[i] / 32] |= 1u << (cats[i] % 32);
    tr->cat_at[node] = tr->n_cat_words;
    tr->cat_len[node] = words;
    tr->n_cat_words += words;
    return 0;
}

static json_t *int_array(const int *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_integer(v[i]));
    return a;
}

static json_t *float_array(const float *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_real(v[i]));
    return a;
}

/* {"nodes": [3, 7], "sets": [[0, 2], [5]]}: each categorical node's set */
static json_t *categories_to_json(const tree *tr)
{
    json_t *nodes = json_array(), *sets = json_array();
    for (int i = 0; i < tr->n_nodes; i++) {
        if (tr->cat_at[i] < 0) continue;
        json_t *set = json_array();
        for (int w = 0; w < tr->cat_len[i]; w++)
            for (int b = 0; b < 32; b++)
                if (tr->cat_words[tr->cat_at[i] + w] >> b & 1u)
                    json_array_append_new(set, json_integer(w * 32 + b));
        json_array_append_new(nodes, json_integer(i));
        json_array_append_new(sets, set);
    }
    return json_pack("{s:o,s:o}", "nodes", nodes, "sets", sets);
}

static json_t *trees_to_json(const predictor *p, int with_params)
{
    const tree_ensemble *e = (const tree_ensemble *)p;
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("trees"));
    json_object_set_new(o, "n_features", json_integer(p->n_features));
    json_object_set_new(o, "base_score", float_array(e->base_score, p->n_outputs));
    if (!with_params) {
        json_object_set_new(o, "trees", json_integer((json_int_t)e->n_trees));
        json_object_set_new(o, "max_depth", json_integer(e->max_depth));
        return o;
    }
    json_t *arr = json_array();
    for (size_t t = 0; t < e->n_trees; t++) {
        const tree *tr = &e->trees[t];
        json_t *to = json_object();
        int *dl = malloc(((size_t)tr->n_nodes + 1) * sizeof *dl);
        for (int i = 0; dl && i < tr->n_nodes; i++) dl[i] = tr->default_left[i];
        json_object_set_new(to, "output", json_integer(tr->output));
        json_object_set_new(to, "feature", int_array(tr->feature, tr->n_nodes));
        json_object_set_new(to, "threshold", float_array(tr->threshold, tr->n_nodes));
        json_object_set_new(to, "left", int_array(tr->left, tr->n_nodes));
        json_object_set_new(to, "right", int_array(tr->right, tr->n_nodes));
        if (dl) json_object_set_new(to, "default_left", int_array(dl, tr->n_nodes));
        json_object_set_new(to, "value", float_array(tr->value, tr->n_nodes));
        if (tr->cover) json_object_set_new(to, "cover", float_array(tr->cover, tr->n_nodes));
        if (tr->cat_at) json_object_set_new(to, "categories", categories_to_json(tr));
        free(dl);
        json_array_append_new(arr, to);
    }
    json_object_set_new(o, "trees", arr);
    return o;
}

static void trees_hash(const predictor *p, fnv *f)
{
    const tree_ensemble *e = (const tree_ensemble *)p;
    fnv_i64(f, p->n_features);
    fnv_i64(f, p->n_outputs);
    fnv_floats(f, e->base_score, (size_t)p->n_outputs);
    for (size_t t = 0; t < e->n_trees; t++) {
        const tree *tr = &e->trees[t];
        fnv_i64(f, tr->n_nodes);
        fnv_i64(f, tr->output);
        for (int i = 0; i < tr->n_nodes; i++) {
            fnv_i64(f, tr->feature[i]);
            fnv_i64(f, ((int64_t)tr->left[i] << 32) ^ (int64_t)tr->right[i] ^
                           ((int64_t)tr->default_left[i] << 62));
        }
        fnv_floats(f, tr->threshold, (size_t)tr->n_nodes);
        fnv_floats(f, tr->value, (size_t)tr->n_nodes);
        for (int i = 0; tr->cat_at && i < tr->n_nodes; i++) {
            if (tr->cat_at[i] < 0) continue;
            fnv_i64(f, i);
            for (int w = 0; w < tr->cat_len[i]; w++) fnv_i64(f, tr->cat_words[tr->cat_at[i] + w]);
        }
    }
}

static void trees_describe(const predictor *p, char *buf, size_t len)
{
    const tree_ensemble *e = (const tree_ensemble *)p;
    size_t nodes = 0;
    for (size_t t = 0; t < e->n_trees; t++) nodes += (size_t)e->trees[t].n_nodes;
    char walk[96];
    if (e->complete)
        snprintf(walk, sizeof walk, "%scomplete depth-%d layout, %s kernels",
                 e->categorical ? "categorical splits; " : "", e->complete->depth, e->complete->walk.isa);
    else
        snprintf(walk, sizeof walk, "%s", e->categorical ? "categorical splits; node walk" : "node walk");
    snprintf(buf, len, "trees %zu (max depth %d, %zu nodes; %s), %d features -> %d output%s", e->n_trees,
             e->max_depth, nodes, walk, p->n_features, p->n_outputs, p->n_outputs == 1 ? "" : "s");
}

static void tree_clear(tree *tr)
{
    if (!tr->pooled) {
        free(tr->feature);
        free(tr->threshold);
        free(tr->left);
        free(tr->right);
        free(tr->default_left);
        free(tr->value);
    }
    free(tr->cover);
    free(tr->cat_at);
    free(tr->cat_len);
    free(tr->cat_words);
    free(tr->test);
    free(tr->members);
}

static void trees_free(predictor *p)
{
    tree_ensemble *e = (tree_ensemble *)p;
    for (size_t t = 0; e->trees && t < e->n_trees; t++) tree_clear(&e->trees[t]);
    free(e->trees);
    free(e->base_score);
    tree_layout_free(e->complete);
    free(e->node_pool);
    free(e);
}

static int trees_takes_infinity(const predictor *p)
{
    (void)p;
    return 1;
}

static const predictor_ops trees_ops = {"trees",        trees_predict, trees_scratch,
                                        trees_prepare,  trees_to_json, trees_hash,
                                        trees_describe, trees_free,    trees_takes_infinity};

const tree_ensemble *trees_of(const predictor *p)
{
    return p && p->ops == &trees_ops ? (const tree_ensemble *)p : NULL;
}

/* A node's arrays: feature, threshold, left, right, value (4 bytes each) and
 * default_left; a tree's block rounded to 16 bytes. */
#define NODE_BYTES 21
static size_t tree_bytes(size_t n) { return (n * NODE_BYTES + 15) & ~(size_t)15; }

int trees_alloc_tree(tree *tr, int n)
{
    if (tr->slot && n > 0 && n <= tr->slot_nodes && !tr->pooled) {
        char *at = memset(tr->slot, 0, tree_bytes((size_t)n));
        tr->n_nodes = n;
        tr->pooled = 1;
        tr->feature = (int *)at;
        tr->threshold = (float *)(at + 4 * (size_t)n);
        tr->left = (int *)(at + 8 * (size_t)n);
        tr->right = (int *)(at + 12 * (size_t)n);
        tr->value = (float *)(at + 16 * (size_t)n);
        tr->default_left = (unsigned char *)(at + 20 * (size_t)n);
        for (int i = 0; i < n; i++) tr->feature[i] = -1;
        return 0;
    }
    tr->pooled = 0;
    tr->n_nodes = n;
    tr->feature = malloc((size_t)n * sizeof *tr->feature);
    tr->threshold = calloc((size_t)n, sizeof *tr->threshold);
    tr->left = calloc((size_t)n, sizeof *tr->left);
    tr->right = calloc((size_t)n, sizeof *tr->right);
    tr->default_left = calloc((size_t)n, 1);
    tr->value = calloc((size_t)n, sizeof *tr->value);
    if (!tr->feature || !tr->threshold || !tr->left || !tr->right || !tr->default_left || !tr->value)
        return -1;
    for (int i = 0; i < n; i++) tr->feature[i] = -1;
    return 0;
}

int trees_reserve_nodes(tree_ensemble *e, const size_t *n_nodes)
{
    size_t total = 0;
    for (size_t t = 0; t < e->n_trees; t++) {
        if (n_nodes[t] > INT_MAX || total > SIZE_MAX / 2 - tree_bytes(n_nodes[t])) return -1;
        total += tree_bytes(n_nodes[t]);
    }
    if (e->node_pool || !(e->node_pool = memory_large(total ? total : 1))) return -1;
    for (size_t t = 0, at = 0; t < e->n_trees; t++) {
        e->trees[t].slot = e->node_pool + at;
        e->trees[t].slot_nodes = (int)n_nodes[t];
        at += tree_bytes(n_nodes[t]);
    }
    return 0;
}

tree_ensemble *trees_create(int n_features, int n_outputs, size_t n_trees, const int *n_nodes)
{
    tree_ensemble *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->base.ops = &trees_ops;
    e->base.n_features = n_features;
    e->base.n_outputs = n_outputs;
    e->n_trees = n_trees;
    e->trees = calloc(n_trees ? n_trees : 1, sizeof *e->trees);
    e->base_score = calloc((size_t)n_outputs, sizeof *e->base_score);
    if (!e->trees || !e->base_score) goto fail;
    for (size_t t = 0; n_nodes && t < n_trees; t++)
        if (trees_alloc_tree(&e->trees[t], n_nodes[t]) != 0) goto fail;
    return e;
fail:
    trees_free(&e->base);
    return NULL;
}

static int read_categories(reader *r, tree *tr, json_t *obj, const char *path)
{
    char sub[200];
    snprintf(sub, sizeof sub, "%s.categories", path);
    if (!json_is_object(obj)) return read_fail(r, sub, "expected an object, got %s", json_type_name(obj));
    json_t *nodes = read_member(r, obj, sub, "nodes", JSON_ARRAY, "an array of node indexes");
    json_t *sets = nodes ? read_member(r, obj, sub, "sets", JSON_ARRAY, "an array (a set per node)") : NULL;
    if (!sets) return -1;
    if (json_array_size(nodes) != json_array_size(sets))
        return read_fail(r, sub, "\"nodes\" has %zu entries and \"sets\" %zu", json_array_size(nodes),
                         json_array_size(sets));
    for (size_t i = 0; i < json_array_size(nodes); i++) {
        json_t *node = json_array_get(nodes, i), *set = json_array_get(sets, i);
        if (!json_is_integer(node) || json_integer_value(node) < 0 || json_integer_value(node) >= tr->n_nodes)
            return read_fail(r, sub, "nodes[%zu] is not a node of the tree", i);
        size_t n = json_array_size(set);
        if (!json_is_array(set) || n > TREES_MAX_CATEGORY)
            return read_fail(r, sub, "sets[%zu] must be an array of categories", i);
        int *cats = malloc((n ? n : 1) * sizeof *cats);
        if (!cats) return read_fail(r, sub, "out of memory");
        char at[240];
        snprintf(at, sizeof at, "%s.sets[%zu]", sub, i);
        int rc = read_ints(r, set, at, cats, n, 0, TREES_MAX_CATEGORY - 1);
        if (rc == 0 && trees_set_categories(tr, (int)json_integer_value(node), cats, (int)n) != 0)
            rc = read_fail(r, at, "out of memory");
        free(cats);
        if (rc) return rc;
    }
    return 0;
}

static int read_tree(reader *r, tree *tr, json_t *obj, const char *path, int n_outputs)
{
    char sub[160];
    if (!json_is_object(obj)) return read_fail(r, path, "expected an object, got %s", json_type_name(obj));
    json_t *feature =
        read_member(r, obj, path, "feature", JSON_ARRAY, "an array (a column per node, -1 at leaves)");
    if (!feature) return -1;
    size_t n = json_array_size(feature);
    if (n == 0 || n > MAX_NODES) return read_fail(r, path, "expected 1 to %d nodes, got %zu", MAX_NODES, n);
    if (trees_alloc_tree(tr, (int)n) != 0) return read_fail(r, path, "out of memory");
    json_t *out = json_object_get(obj, "output");
    if (out && !json_is_integer(out)) return read_fail(r, path, "member \"output\" must be an integer");
    tr->output = out ? (int)json_integer_value(out) : 0;
    if (tr->output < 0 || tr->output >= n_outputs)
        return read_fail(r, path, "member \"output\" must be an output index, 0 to %d", n_outputs - 1);
    int *dl = malloc(n * sizeof *dl);
    if (!dl) return read_fail(r, path, "out of memory");
    static const char *const names[] = {"feature", "threshold", "left", "right", "default_left", "value"};
    int rc = 0;
    for (int k = 0; k < 6 && rc == 0; k++) {
        json_t *arr = read_member(r, obj, path, names[k], JSON_ARRAY, "an array (one entry per node)");
        snprintf(sub, sizeof sub, "%s.%s", path, names[k]);
        if (!arr)
            rc = -1;
        else if (k == 0)
            rc = read_ints(r, arr, sub, tr->feature, n, -1, MAX_NODES);
        else if (k == 1)
            rc = read_floats(r, arr, sub, tr->threshold, n);
        else if (k == 2)
            rc = read_ints(r, arr, sub, tr->left, n, 0, MAX_NODES);
        else if (k == 3)
            rc = read_ints(r, arr, sub, tr->right, n, 0, MAX_NODES);
        else if (k == 4)
            rc = read_ints(r, arr, sub, dl, n, 0, 1);
        else
            rc = read_floats(r, arr, sub, tr->value, n);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) tr->default_left[i] = (unsigned char)dl[i];
    free(dl);
    json_t *cats = json_object_get(obj, "categories");
    if (rc == 0 && cats) rc = read_categories(r, tr, cats, path);
    json_t *cover = json_object_get(obj, "cover");
    if (rc == 0 && cover) {
        snprintf(sub, sizeof sub, "%s.cover", path);
        if (!json_is_array(cover)) return read_fail(r, sub, "expected an array (one entry per node)");
        if (!(tr->cover = malloc(n * sizeof *tr->cover))) return read_fail(r, path, "out of memory");
        rc = read_floats(r, cover, sub, tr->cover, n);
        for (size_t i = 0; rc == 0 && i < n; i++)
            if (!(tr->cover[i] >= 0))
                rc = read_fail(r, sub, "entry %zu: a cover is a non-negative number", i);
    }
    return rc;
}

predictor *trees_read(reader *r, json_t *obj, const char *path)
{
    char sub[128];
    json_t *nf = read_member(r, obj, path, "n_features", JSON_INTEGER, "an integer");
    json_t *base =
        nf ? read_member(r, obj, path, "base_score", JSON_ARRAY, "an array (one per output)") : NULL;
    json_t *arr = base ? read_member(r, obj, path, "trees", JSON_ARRAY, "an array") : NULL;
    if (!arr) return NULL;
    json_int_t n_features = json_integer_value(nf);
    size_t n_outputs = json_array_size(base), n_trees = json_array_size(arr);
    if (n_features < 1 || n_features > (1 << 20) || n_outputs < 1 || n_outputs > 1024 ||
        n_trees > MAX_TREES) {
        read_fail(r, path, "expected 1 to %d features, 1 to 1024 outputs and at most %d trees", 1 << 20,
                  MAX_TREES);
        return NULL;
    }
    tree_ensemble *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->base.ops = &trees_ops;
    e->base.n_features = (int)n_features;
    e->base.n_outputs = (int)n_outputs;
    e->trees = calloc(n_trees ? n_trees : 1, sizeof *e->trees);
    e->base_score = calloc(n_outputs, sizeof *e->base_score);
    if (!e->trees || !e->base_score) {
        read_fail(r, path, "out of memory");
        goto fail;
    }
    snprintf(sub, sizeof sub, "%s.base_score", path);
    if (read_floats(r, base, sub, e->base_score, n_outputs) != 0) goto fail;
    for (size_t t = 0; t < n_trees; t++) {
        e->n_trees = t + 1; /* freed up to here on failure */
        snprintf(sub, sizeof sub, "%s.trees[%zu]", path, t);
        if (read_tree(r, &e->trees[t], json_array_get(arr, t), sub, (int)n_outputs) != 0) goto fail;
    }
    e->n_trees = n_trees;
    return &e->base;
fail:
    trees_free(&e->base);
    return NULL;
}
