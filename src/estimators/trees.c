/* trees — walking, checking and reading tree ensembles. */
#include "estimators/trees.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/jsonx.h"

#define MAX_TREES 100000
#define MAX_NODES (1 << 22)

static void trees_predict(const predictor *p, const float *x, int n, float *scratch, float *y)
{
    (void)scratch;
    const tree_ensemble *e = (const tree_ensemble *)p;
    int k = p->n_outputs;
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * p->n_features;
        float *yr = y + (size_t)r * k;
        for (int j = 0; j < k; j++) yr[j] = e->base_score[j];
        for (size_t t = 0; t < e->n_trees; t++) {
            const tree *tr = &e->trees[t];
            int node = 0;
            while (tr->feature[node] >= 0) {
                float v = xr[tr->feature[node]];
                int left = isnan(v) ? tr->default_left[node] : v < tr->threshold[node];
                node = left ? tr->left[node] : tr->right[node];
            }
            yr[tr->output] += tr->value[node];
        }
    }
}

static size_t trees_scratch(const predictor *p, int n)
{
    (void)p;
    (void)n;
    return 0;
}

/* Structure checks, shared by the reader and by models built in memory. */
static int trees_prepare(predictor *p, char *err)
{
    tree_ensemble *e = (tree_ensemble *)p;
    e->max_depth = 0;
    for (size_t t = 0; t < e->n_trees; t++) {
        const tree *tr = &e->trees[t];
        if (tr->output < 0 || tr->output >= p->n_outputs)
            return err_set(err, "$.predictor.trees[%zu].output: %d is not an output (0..%d)", t, tr->output,
                           p->n_outputs - 1);
        int *depth = calloc((size_t)tr->n_nodes, sizeof *depth);
        if (!depth) return err_set(err, "out of memory");
        for (int i = 0; i < tr->n_nodes; i++) {
            if (tr->feature[i] < 0) continue;
            const char *why = NULL;
            if (tr->feature[i] >= p->n_features)
                why = "splits on a feature column that does not exist";
            else if (!(tr->left[i] > i && tr->left[i] < tr->n_nodes && tr->right[i] > i &&
                       tr->right[i] < tr->n_nodes))
                why = "has a child that is not a later node of the tree";
            else if (isnan(tr->threshold[i]))
                why = "has a NaN threshold";
            if (why) {
                free(depth);
                return err_set(err, "$.predictor.trees[%zu]: node %d %s", t, i, why);
            }
            depth[tr->left[i]] = depth[tr->right[i]] = depth[i] + 1;
            if (depth[i] + 1 > e->max_depth) e->max_depth = depth[i] + 1;
        }
        free(depth);
    }
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
    }
}

static void trees_describe(const predictor *p, char *buf, size_t len)
{
    const tree_ensemble *e = (const tree_ensemble *)p;
    size_t nodes = 0;
    for (size_t t = 0; t < e->n_trees; t++) nodes += (size_t)e->trees[t].n_nodes;
    snprintf(buf, len, "trees %zu (max depth %d, %zu nodes), %d features -> %d output%s", e->n_trees,
             e->max_depth, nodes, p->n_features, p->n_outputs, p->n_outputs == 1 ? "" : "s");
}

static void tree_clear(tree *tr)
{
    free(tr->feature);
    free(tr->threshold);
    free(tr->left);
    free(tr->right);
    free(tr->default_left);
    free(tr->value);
}

static void trees_free(predictor *p)
{
    tree_ensemble *e = (tree_ensemble *)p;
    for (size_t t = 0; e->trees && t < e->n_trees; t++) tree_clear(&e->trees[t]);
    free(e->trees);
    free(e->base_score);
    free(e);
}

static const predictor_ops trees_ops = {"trees",       trees_predict, trees_scratch,  trees_prepare,
                                        trees_to_json, trees_hash,    trees_describe, trees_free};

static int tree_alloc(tree *tr, int n)
{
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
    for (size_t t = 0; t < n_trees; t++)
        if (tree_alloc(&e->trees[t], n_nodes[t]) != 0) goto fail;
    return e;
fail:
    trees_free(&e->base);
    return NULL;
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
    if (tree_alloc(tr, (int)n) != 0) return read_fail(r, path, "out of memory");
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
