/* xgboost — an XGBoost model (Booster.save_model: JSON, or UBJSON read into the
 * same document by ubjson.c; XGBoost 1.0 to 3.x) as a tabserve model: inputs
 * f0.. (or the file's feature names), each passed through as one column (NaN
 * kept: trees route missing values themselves; a feature with categories stored
 * in the model, 3.1's "cats", takes their names and looks the code up), the trees as a tree ensemble
 * (gbtree, and dart under either booster name, each tree scaled by its
 * weight_drop), or the linear booster (gblinear) as a linear model; the
 * objective as an output and link, as XGBoost's own predict applies it.
 *
 * base_score is a prediction in the objective's own space, written as a
 * number, a number in a string ("5E-1"), or from 3.1 on an array in a string
 * ("[2.35E-1]", one value per class or target); it becomes the starting
 * margin through the objective's inverse link:
 *   logit     binary:logistic, reg:logistic                  (sigmoid)
 *   log       count:poisson, reg:gamma, reg:tweedie,
 *             survival:aft, survival:cox                      (exp)
 *   as it is  binary:logitraw (the margin), binary:hinge (1 where the margin
 *             is above 0), the reg:* errors (identity), rank:* (the margin),
 *             multi:softprob and multi:softmax (softmax: the probabilities;
 *             XGBoost's class is their argmax)
 * The whole model is used, as Booster.predict does, whatever best_iteration
 * says. A split sends x < threshold left (strict), NaN the default way; a
 * categorical split sends the categories of its set right. */
#define _POSIX_C_SOURCE 200809L
#include "formats/xgboost.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/jsonx.h"
#include "estimators/linear.h"
#include "estimators/trees.h"
#include "formats/xgb_json.h"
#include "model/builder.h"

typedef struct {
    const char *name;
    output_task task;
    output_link link;
    enum { BASE_AS_IS, BASE_LOGIT, BASE_LOG } base;
} objective;

static const objective objectives[] = {
    {"binary:logistic", TASK_BINARY, LINK_SIGMOID, BASE_LOGIT},
    {"binary:logitraw", TASK_REGRESSION, LINK_IDENTITY, BASE_AS_IS},
    {"binary:hinge", TASK_REGRESSION, LINK_STEP, BASE_AS_IS},
    {"reg:logistic", TASK_REGRESSION, LINK_SIGMOID, BASE_LOGIT},
    {"reg:squarederror", TASK_REGRESSION, LINK_IDENTITY, BASE_AS_IS},
    {"reg:linear", TASK_REGRESSION, LINK_IDENTITY, BASE_AS_IS}, /* the old name of squarederror */
    {"reg:squaredlogerror", TASK_REGRESSION, LINK_IDENTITY, BASE_AS_IS},
    {"reg:pseudohubererror", TASK_REGRESSION, LINK_IDENTITY, BASE_AS_IS},
    {"reg:absoluteerror", TASK_REGRESSION, LINK_IDENTITY, BASE_AS_IS},
    {"reg:quantileerror", TASK_REGRESSION, LINK_IDENTITY, BASE_AS_IS},
    {"reg:expectileerror", TASK_REGRESSION, LINK_IDENTITY, BASE_AS_IS},
    {"count:poisson", TASK_REGRESSION, LINK_EXP, BASE_LOG},
    {"reg:gamma", TASK_REGRESSION, LINK_EXP, BASE_LOG},
    {"reg:tweedie", TASK_REGRESSION, LINK_EXP, BASE_LOG},
    {"survival:aft", TASK_REGRESSION, LINK_EXP, BASE_LOG},
    {"survival:cox", TASK_REGRESSION, LINK_EXP, BASE_LOG},
    {"rank:pairwise", TASK_REGRESSION, LINK_IDENTITY, BASE_AS_IS},
    {"rank:ndcg", TASK_REGRESSION, LINK_IDENTITY, BASE_AS_IS},
    {"rank:map", TASK_REGRESSION, LINK_IDENTITY, BASE_AS_IS},
    {"multi:softprob", TASK_MULTICLASS, LINK_SOFTMAX, BASE_AS_IS},
    {"multi:softmax", TASK_MULTICLASS, LINK_SOFTMAX, BASE_AS_IS},
};
#define N_OBJECTIVES (sizeof objectives / sizeof *objectives)

int xgboost_is(const json_t *root)
{
    return json_is_object(root) && json_is_object(json_object_get(root, "learner"));
}

/* XGBoost writes its parameters as strings: "5E-1", "3". */
static int param_number(reader *r, json_t *obj, const char *path, const char *key, double *out)
{
    json_t *v = json_object_get(obj, key);
    char *end = NULL;
    if (json_is_string(v)) {
        *out = strtod(json_string_value(v), &end);
        if (end != json_string_value(v) && *end == 0 && isfinite(*out)) return 0;
    } else if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    return read_fail(r, path, "member \"%s\" must be a number written as a string, got %s", key,
                     v ? json_type_name(v) : "nothing");
}

/* base_score as XGBoost writes it: a number, a number in a string ("5E-1"),
 * or from 3.1 on a JSON array in a string ("[2.3538704E-1]", one value per
 * class or target). Up to cap values into out; their count, or -1 with err. */
static int base_scores(reader *r, json_t *param, double *out, int cap)
{
    const char *path = "$.learner.learner_model_param.base_score";
    json_t *v = json_object_get(param, "base_score");
    const char *text = json_string_value(v);
    if (json_is_number(v)) {
        out[0] = json_number_value(v);
        return isfinite(out[0]) ? 1 : read_fail(r, path, "must be finite");
    }
    if (!text)
        return read_fail(r, path, "expected a number in a string, got %s", v ? json_type_name(v) : "nothing");
    while (*text == ' ') text++;
    if (*text != '[') {
        char *end;
        out[0] = strtod(text, &end);
        if (end == text || *end || !isfinite(out[0]))
            return read_fail(r, path, "\"%.40s\" is not a number, nor an array of numbers", text);
        return 1;
    }
    json_error_t je;
    json_t *a = json_loads(text, 0, &je);
    int n = (int)json_array_size(a);
    if (!json_is_array(a) || n < 1 || n > cap) {
        json_decref(a);
        return read_fail(r, path, "\"%.40s\" is not an array of 1 to %d numbers", text, cap);
    }
    for (int i = 0; i < n; i++) {
        json_t *e = json_array_get(a, (size_t)i);
        out[i] = json_number_value(e);
        if (!json_is_number(e) || !isfinite(out[i])) {
            json_decref(a);
            return read_fail(r, path, "[%d] is not a finite number", i);
        }
    }
    json_decref(a);
    return n;
}

/* The node arrays come as jansson arrays or kept as numbers beside the
 * document (xgb_json.h: xgb_count, xgb_numbers): these read either, with the
 * same messages. */

/* The first n elements of a as doubles (with bools, true and false as 1 and 0);
 * err names the first non-number. */
static double *node_numbers_or_bools(reader *r, const xgb_arrays *x, const json_t *a, const char *path,
                                     size_t n, int bools)
{
    double *d = malloc((n ? n : 1) * sizeof *d);
    if (!d) {
        read_fail(r, path, "out of memory");
        return NULL;
    }
    int bad = xgb_numbers(x, a, d, n, bools);
    if (bad) {
        read_fail(r, path, "[%d]: expected a number", bad - 1);
        free(d);
        return NULL;
    }
    return d;
}

static double *node_numbers(reader *r, const xgb_arrays *x, const json_t *a, const char *path, size_t n)
{
    return node_numbers_or_bools(r, x, a, path, n, 0);
}

/* Integers lo..hi; with bools, true and false too (default_left, as XGBoost
 * 1.0 to 1.5 wrote it). */
static int ints_of(reader *r, const xgb_arrays *x, const json_t *a, const char *path, int *out, size_t n,
                   long lo, long hi, int bools)
{
    double *d = node_numbers_or_bools(r, x, a, path, n, bools);
    if (!d) return -1;
    for (size_t i = 0; i < n; i++) {
        if (d[i] != floor(d[i]) || isnan(d[i])) {
            free(d);
            return read_fail(r, path, "[%zu]: expected an integer", i);
        }
        if (d[i] < (double)lo || d[i] > (double)hi) {
            read_fail(r, path, "[%zu]: %.0f is outside %ld..%ld", i, d[i], lo, hi); /* %.0f: any size */
            free(d);
            return -1;
        }
        out[i] = (int)d[i];
    }
    free(d);
    return 0;
}

static int node_ints(reader *r, const xgb_arrays *x, const json_t *a, const char *path, int *out, size_t n,
                     long lo, long hi)
{
    return ints_of(r, x, a, path, out, n, lo, hi, 0);
}

/* n numbers (or null where XGBoost wrote NaN) into out. */
static int read_numbers_or_nan(reader *r, const xgb_arrays *x, const json_t *a, const char *path, float *out,
                               size_t n)
{
    double *d = node_numbers(r, x, a, path, n);
    if (!d) return -1;
    for (size_t i = 0; i < n; i++) out[i] = (float)d[i];
    free(d);
    return 0;
}

static json_t *tree_array(reader *r, const xgb_arrays *x, json_t *t, const char *path, const char *key,
                          size_t n)
{
    json_t *a = json_object_get(t, key);
    if (!a || xgb_count(x, a) < 0) {
        read_fail(r, path, "member \"%s\" must be an array (one entry per node)", key);
        return NULL;
    }
    if ((size_t)xgb_count(x, a) != n) {
        read_fail(r, path, "member \"%s\" has %ld entries for %zu nodes", key, xgb_count(x, a), n);
        return NULL;
    }
    return a;
}

/* The leaves of a vector-leaf tree (multi_strategy "multi_output_tree",
 * size_leaf_vector K > 1): each holds K values, one an output, read into K of
 * tabserve's trees of the same nodes. XGBoost 2.0 to
 * 3.1 keep a leaf's values in base_weights (K a node, the leaf's row); later
 * versions in leaf_weights (K a leaf), the leaf's place there in its
 * right_children entry. The stored values are what a row adds (the learning
 * rate is already in them, as XGBoost's predictor adds them). */
typedef struct {
    int k, size;     /* this output of size (0: a tree of one value a leaf) */
    double *values;  /* base_weights (n x size) or leaf_weights (n_leaves x size) */
    size_t n_leaves; /* leaf_weights' leaves; 0: base_weights */
} leaf_vector;

/* size_leaf_vector of tree t: 0 (one value a leaf), or K > 1; -1 when it is
 * not a count. */
static int leaf_vector_size(json_t *t)
{
    const char *s = json_string_value(json_object_get(json_object_get(t, "tree_param"), "size_leaf_vector"));
    if (!s) return 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 0 || v > OUTPUT_MAX_CLASSES) return -1;
    return v <= 1 ? 0 : (int)v;
}

/* A vector-leaf tree's leaf values (lv->values, n_leaves), checked against its n nodes. */
static int read_leaf_vectors(reader *r, const xgb_arrays *x, json_t *t, const char *path, size_t n,
                             leaf_vector *lv)
{
    char sub[200];
    json_t *leaf = json_object_get(t, "leaf_weights"), *base = json_object_get(t, "base_weights");
    json_t *a = leaf ? leaf : base;
    const char *name = leaf ? "leaf_weights" : "base_weights";
    long count = a ? xgb_count(x, a) : -1;
    snprintf(sub, sizeof sub, "%s.%s", path, name);
    if (count < 0) return read_fail(r, path, "has vector leaves but no base_weights or leaf_weights array");
    if (count % lv->size || (!leaf && (size_t)count != n * (size_t)lv->size))
        return read_fail(r, sub, "has %ld values: expected %s x %d", count, leaf ? "the leaves" : "the nodes",
                         lv->size);
    lv->n_leaves = leaf ? (size_t)count / (size_t)lv->size : 0;
    lv->values = node_numbers(r, x, a, sub, (size_t)count);
    return lv->values ? 0 : -1;
}

static int read_xgb_tree(reader *r, const xgb_arrays *x, json_t *t, const char *path, tree *tr,
                         int n_features, float weight, const leaf_vector *vec, const import_limits *lim)
{
    char sub[200];
    if (!json_is_object(t)) return read_fail(r, path, "expected an object, got %s", json_type_name(t));
    json_t *left = json_object_get(t, "left_children");
    if (!left || xgb_count(x, left) < 0)
        return read_fail(r, path, "member \"left_children\" must be an array (one entry per node)");
    size_t n = (size_t)xgb_count(x, left);
    if (n == 0 || n > (size_t)lim->max_nodes)
        return read_fail(r, path, "has %zu nodes; at most %ld are accepted (--max-nodes)", n, lim->max_nodes);
    json_t *right = tree_array(r, x, t, path, "right_children", n);
    json_t *index = right ? tree_array(r, x, t, path, "split_indices", n) : NULL;
    json_t *cond = index ? tree_array(r, x, t, path, "split_conditions", n) : NULL;
    json_t *dleft = cond ? tree_array(r, x, t, path, "default_left", n) : NULL;
    if (!dleft) return -1;
    int *l = malloc(n * sizeof *l), *rt = malloc(n * sizeof *rt), *f = malloc(n * sizeof *f);
    int *dl = malloc(n * sizeof *dl), *kind = calloc(n, sizeof *kind);
    float *c = malloc(n * sizeof *c);
    int rc = -1;
    if (!l || !rt || !f || !dl || !kind || !c) {
        read_fail(r, path, "out of memory");
        goto out;
    }
    snprintf(sub, sizeof sub, "%s.left_children", path);
    if (node_ints(r, x, left, sub, l, n, -1, (long)n - 1) != 0) goto out;
    snprintf(sub, sizeof sub, "%s.right_children", path);
    if (node_ints(r, x, right, sub, rt, n, -1, (long)n - 1) != 0) goto out;
    snprintf(sub, sizeof sub, "%s.split_indices", path);
    if (node_ints(r, x, index, sub, f, n, 0, n_features - 1) != 0) goto out;
    snprintf(sub, sizeof sub, "%s.default_left", path);
    if (ints_of(r, x, dleft, sub, dl, n, 0, 1, 1) != 0) goto out;
    snprintf(sub, sizeof sub, "%s.split_conditions", path);
    if (read_numbers_or_nan(r, x, cond, sub, c, n) != 0) goto out;
    json_t *type = json_object_get(t, "split_type");
    if (type) {
        snprintf(sub, sizeof sub, "%s.split_type", path);
        if (xgb_count(x, type) < 0 || (size_t)xgb_count(x, type) != n) {
            read_fail(r, sub, "expected %zu entries, got %ld", n, xgb_count(x, type));
            goto out;
        }
        if (node_ints(r, x, type, sub, kind, n, 0, 1) != 0) goto out;
    }
    if (trees_alloc_tree(tr, (int)n) != 0) {
        read_fail(r, path, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int leaf_index =
            vec->size && vec->n_leaves; /* the right child of a leaf: its place in leaf_weights */
        if ((l[i] < 0) != (rt[i] < 0) && !(leaf_index && l[i] < 0)) {
            read_fail(r, path, "node %zu has one child (left %d, right %d)", i, l[i], rt[i]);
            goto out;
        }
        if (l[i] < 0) { /* a leaf: its value is in split_conditions, or its vector's entry k */
            double v = c[i];
            if (vec->size && leaf_index && (rt[i] < 0 || (size_t)rt[i] >= vec->n_leaves)) {
                read_fail(r, path, "leaf %zu names leaf_weights row %d of %zu", i, rt[i], vec->n_leaves);
                goto out;
            }
            if (vec->size)
                v = vec->values[(leaf_index ? (size_t)rt[i] : i) * (size_t)vec->size + (size_t)vec->k];
            if (!isfinite(v)) {
                read_fail(r, path, "leaf %zu has a non-finite value", i);
                goto out;
            }
            tr->value[i] = (float)v * weight;
            continue;
        }
        tr->feature[i] = f[i];
        tr->left[i] = l[i];
        tr->right[i] = rt[i];
        tr->default_left[i] = (unsigned char)dl[i];
        tr->threshold[i] = kind[i] ? 0.0f : c[i];
        if (!kind[i] && isnan(c[i])) {
            read_fail(r, path, "node %zu is a numeric split with a NaN threshold", i);
            goto out;
        }
    }
    /* the hessian sums: TreeSHAP's covers (absent from a hand-made file: no TreeSHAP) */
    json_t *hess = json_object_get(t, "sum_hessian");
    if (hess && xgb_count(x, hess) == (long)n) {
        snprintf(sub, sizeof sub, "%s.sum_hessian", path);
        if (!(tr->cover = malloc(n * sizeof *tr->cover))) {
            read_fail(r, path, "out of memory");
            goto out;
        }
        if (read_numbers_or_nan(r, x, hess, sub, tr->cover, n) != 0) goto out;
        for (size_t i = 0; i < n; i++)
            if (!(tr->cover[i] >= 0)) {
                read_fail(r, sub, "[%zu]: a hessian sum is a non-negative number", i);
                goto out;
            }
    }
    rc = 0;
    /* categorical splits: node categories_nodes[j] has the set
     * categories[categories_segments[j] ..+ categories_sizes[j]] */
    json_t *cnodes = json_object_get(t, "categories_nodes");
    long nc = cnodes ? xgb_count(x, cnodes) : 0;
    for (size_t i = 0; i < n; i++)
        if (kind[i] && l[i] >= 0 && nc <= 0) {
            rc = read_fail(r, path, "node %zu is a categorical split but the tree lists no categories", i);
            goto out;
        }
    if (nc > 0) {
        json_t *seg = json_object_get(t, "categories_segments"),
               *size = json_object_get(t, "categories_sizes");
        json_t *cats = json_object_get(t, "categories");
        long total = cats ? xgb_count(x, cats) : -1;
        if (!seg || !size || xgb_count(x, seg) != nc || xgb_count(x, size) != nc || total < 0) {
            rc = read_fail(r, path,
                           "categories_nodes, categories_segments and categories_sizes differ in length");
            goto out;
        }
        snprintf(sub, sizeof sub, "%s.categories", path);
        double *dn = node_numbers(r, x, cnodes, sub, (size_t)nc),
               *ds = dn ? node_numbers(r, x, seg, sub, (size_t)nc) : NULL;
        double *dz = ds ? node_numbers(r, x, size, sub, (size_t)nc) : NULL;
        double *dc = dz ? node_numbers(r, x, cats, sub, (size_t)total) : NULL;
        int *set = dc ? malloc(((size_t)total + 1) * sizeof *set) : NULL;
        rc = set ? 0 : -1;
        for (long j = 0; rc == 0 && j < nc; j++) {
            double node = dn[j], at = ds[j], cnt = dz[j];
            if (node != floor(node) || at != floor(at) || cnt != floor(cnt) || node < 0 ||
                node >= (double)n || l[(size_t)node] < 0 || !kind[(size_t)node] || at < 0 || cnt < 0 ||
                at + cnt > (double)total) {
                rc = read_fail(r, path, "categories entry %ld does not describe a categorical split node", j);
                break;
            }
            for (long k = 0; k < (long)cnt && rc == 0; k++) {
                double v = dc[(size_t)at + (size_t)k];
                if (v != floor(v) || v < 0 || v >= TREES_MAX_CATEGORY)
                    rc = read_fail(r, sub, "[%lld]: category is not an integer from 0 to %d",
                                   (long long)at + k, TREES_MAX_CATEGORY - 1);
                else
                    set[k] = (int)v;
            }
            if (rc == 0 && trees_set_categories(tr, (int)node, set, (int)cnt) != 0)
                rc = read_fail(r, path, "out of memory");
        }
        free(dn);
        free(ds);
        free(dz);
        free(dc);
        free(set);
        if (rc) goto out;
        for (size_t i = 0; i < n; i++)
            if (kind[i] && l[i] >= 0 && (!tr->cat_at || tr->cat_at[i] < 0)) {
                rc = read_fail(r, path, "node %zu is a categorical split without a category set", i);
                goto out;
            }
    }
out:
    free(l);
    free(rt);
    free(f);
    free(dl);
    free(kind);
    free(c);
    return rc;
}

/* Inputs: the file's feature names, or f0, f1, ... (XGBoost's own default). */
static int read_inputs(reader *r, model_builder *mb, json_t *learner, int n_features)
{
    schema *s = model_builder_inputs(mb);
    json_t *names = json_object_get(learner, "feature_names");
    json_t *types = json_object_get(learner, "feature_types");
    size_t nn = json_array_size(names), nt = json_array_size(types);
    if ((nn && nn != (size_t)n_features) || (nt && nt != (size_t)n_features))
        return read_fail(r, "$.learner.feature_names", "%zu names and %zu types for %d features", nn, nt,
                         n_features);
    s->n_inputs = (size_t)n_features;
    if (!(s->inputs = calloc((size_t)n_features, sizeof *s->inputs)))
        return read_fail(r, "$", "out of memory");
    for (int j = 0; j < n_features; j++) {
        schema_input *in = &s->inputs[j];
        char name[32];
        snprintf(name, sizeof name, "f%d", j);
        const char *given = nn ? json_string_value(json_array_get(names, (size_t)j)) : name;
        if (!given || !*given || strlen(given) > READ_MAX_NAME)
            return read_fail(r, "$.learner.feature_names", "[%d] must be a name of 1 to %d bytes", j,
                             READ_MAX_NAME);
        const char *type = nt ? json_string_value(json_array_get(types, (size_t)j)) : "float";
        if (!type) return read_fail(r, "$.learner.feature_types", "[%d] must be a string", j);
        if (!(in->name = strdup(given))) return read_fail(r, "$", "out of memory");
        /* "c": a category code (XGBoost truncates it to an integer); the rest numbers */
        in->type = strcmp(type, "c") == 0 ? TYPE_INTEGER : TYPE_NUMBER;
        in->required = 0; /* missing values take each split's default direction */
        in->unknown = UNKNOWN_MISSING;
        feature_step pass = {STEP_PASSTHROUGH, 0, 0};
        if (features_add(model_builder_features(mb), (size_t)j, &pass, 1) != 0)
            return read_fail(r, "$", "out of memory");
    }
    for (int a = 0; a < n_features; a++)
        for (int b = 0; b < a; b++)
            if (strcmp(s->inputs[a].name, s->inputs[b].name) == 0)
                return read_fail(r, "$.learner.feature_names", "\"%.64s\" appears twice", s->inputs[a].name);
    return 0;
}

/* Categories stored in the model (from 3.1 on, "cats" beside the trees): per
 * feature, the training frame's categories in their order, a category's code
 * being its place in that list. feature_segments (n_features + 1 offsets) says
 * how many each feature has (0: numeric); enc holds them, strings as bytes
 * (offsets into values, as in Arrow) or integers (type and values). An input
 * with categories takes their names and the model sees the code, as a schema
 * file's vocab does. enc has one entry per feature (or, read the same, one per
 * categorical feature). An unknown name is refused, null is missing. */
static int read_categories(reader *r, model_builder *mb, const xgb_arrays *x, json_t *gm, int n_features)
{
    static const char path[] = "$.learner.gradient_booster.model.cats";
    json_t *cats = json_object_get(gm, "cats");
    if (!cats) return 0;
    if (!json_is_object(cats)) return read_fail(r, path, "expected an object, got %s", json_type_name(cats));
    json_t *segs = json_object_get(cats, "feature_segments"), *enc = json_object_get(cats, "enc");
    long n_segs = segs ? xgb_count(x, segs) : -1;
    if (n_segs <= 0) return 0; /* a model trained without categories */
    if (n_segs != n_features + 1)
        return read_fail(r, path, "feature_segments has %ld entries for %d features (expected %d)", n_segs,
                         n_features, n_features + 1);
    int *seg = malloc((size_t)n_segs * sizeof *seg);
    if (!seg) return read_fail(r, path, "out of memory");
    int rc = node_ints(r, x, segs, "$.learner.gradient_booster.model.cats.feature_segments", seg,
                       (size_t)n_segs, 0, SCHEMA_MAX_VOCAB * (long)n_features);
    int n_categorical = 0;
    for (int j = 0; rc == 0 && j < n_features; j++) {
        if (seg[0] != 0 || seg[j + 1] < seg[j])
            rc = read_fail(r, path, "feature_segments must start at 0 and never decrease (entry %d)", j + 1);
        else if (seg[j + 1] > seg[j])
            n_categorical++;
    }
    size_t n_enc = json_array_size(enc);
    if (rc == 0 && (!json_is_array(enc) || (n_enc != (size_t)n_features && n_enc != (size_t)n_categorical)))
        rc = read_fail(r, path, "enc must be an array of %d entries (one per feature), got %s of %zu",
                       n_features, json_type_name(enc), n_enc);
    schema *s = model_builder_inputs(mb);
    int seen = 0;
    for (int j = 0; rc == 0 && j < n_features; j++) {
        size_t k = (size_t)(seg[j + 1] - seg[j]);
        if (!k) continue;
        json_t *e = json_array_get(enc, n_enc == (size_t)n_features ? (size_t)j : (size_t)seen);
        seen++;
        char sub[96];
        snprintf(sub, sizeof sub, "%s.enc[%d]", path, n_enc == (size_t)n_features ? j : seen - 1);
        json_t *values = json_object_get(e, "values"), *offsets = json_object_get(e, "offsets");
        long n_values = values ? xgb_count(x, values) : -1;
        json_t *names = json_array();
        double *v = n_values >= 0 && names ? node_numbers(r, x, values, sub, (size_t)n_values) : NULL;
        if (!names || (n_values >= 0 && !v)) {
            if (!names) read_fail(r, sub, "out of memory");
            rc = -1;
        } else if (n_values < 0) {
            rc = read_fail(r, sub, "expected an object with \"values\" (and \"offsets\" for strings)");
        } else if (offsets) { /* strings: values[offsets[c] .. offsets[c + 1]) */
            long n_off = xgb_count(x, offsets);
            int *off = n_off == (long)k + 1 ? malloc((k + 1) * sizeof *off) : NULL;
            if (n_off != (long)k + 1)
                rc = read_fail(r, sub, "offsets has %ld entries for %zu categories", n_off, k);
            else if (!off)
                rc = read_fail(r, sub, "out of memory");
            else
                rc = node_ints(r, x, offsets, sub, off, k + 1, 0, n_values);
            for (size_t c = 0; rc == 0 && c < k; c++) {
                if (off[c + 1] < off[c] || off[c + 1] - off[c] > READ_MAX_NAME) {
                    rc = read_fail(r, sub, "category %zu: offsets %d..%d are not a name of at most %d bytes",
                                   c, off[c], off[c + 1], READ_MAX_NAME);
                    break;
                }
                char name[READ_MAX_NAME + 1];
                size_t len = 0;
                for (int b = off[c]; b < off[c + 1]; b++) {
                    if (v[b] < 1 || v[b] > 255 || v[b] != floor(v[b])) {
                        rc = read_fail(r, sub, "values[%d] is not a byte of a name", b);
                        break;
                    }
                    name[len++] = (char)(unsigned char)v[b];
                }
                name[len] = 0;
                if (rc == 0 && json_array_append_new(names, json_stringn(name, len)) != 0)
                    rc = read_fail(r, sub, "category %zu is not UTF-8", c);
            }
            free(off);
            if (rc == 0) s->inputs[j].type = TYPE_STRING;
        } else { /* integers, one value a category */
            if ((size_t)n_values != k)
                rc = read_fail(r, sub, "values has %ld entries for %zu categories", n_values, k);
            for (size_t c = 0; rc == 0 && c < k; c++) {
                if (v[c] != floor(v[c]) || fabs(v[c]) > 9007199254740992.0)
                    rc = read_fail(r, sub, "values[%zu] is not an integer category", c);
                else
                    json_array_append_new(names, json_integer((json_int_t)v[c]));
            }
            if (rc == 0) s->inputs[j].type = TYPE_INTEGER;
        }
        free(v);
        if (rc == 0) rc = schema_read_vocab(r, &s->inputs[j], names, sub);
        json_decref(names);
        /* a name the model never saw is refused (400 listing the names), never sent down the
         * missing-value way in silence; null is still missing */
        s->inputs[j].unknown = UNKNOWN_REJECT;
        /* the input's one step (read_inputs: pass through) now looks the code up */
        feature_steps *fs = model_builder_features(mb);
        for (size_t f = 0; rc == 0 && f < fs->n; f++)
            if (fs->f[f].input == (size_t)j) fs->f[f].steps[0].op = STEP_CATEGORY_INDEX;
    }
    free(seg);
    return rc;
}

/* ---- the trees, in two threads for large models ---------------------------------- */

/* Trees are independent: a large model's are read by two threads, thread k
 * taking trees k, k + 2, ...; each stops at its first bad tree, and the
 * message reported is the one of the lowest-numbered bad tree, as one thread
 * would have reported it. The document is only read (jansson lookups do not
 * write), and each tree is written by one thread. */
#define PARALLEL_TREES 64

typedef struct {
    reader *r;
    json_t *info, *weights, *trees;
    tree_ensemble *e;
    int n_features, n_outputs;
    const import_limits *lim;
    const xgb_arrays *arrays; /* where the document's node arrays lie (xgb_json.h) */
    size_t n_trees;
    const size_t *first; /* (n_trees + 1,) XGBoost tree t is tabserve's trees first[t] .. first[t + 1] */
    int n_threads;
    long bad[2];          /* per thread: the first bad tree, or -1 */
    char err[2][ERR_LEN]; /* its message */
} tree_job;

typedef struct {
    tree_job *job;
    int k;
} tree_part;

static int read_one_tree(tree_job *j, reader *r, size_t t)
{
    char path[96];
    snprintf(path, sizeof path, "$.learner.gradient_booster.model.trees[%zu]", t);
    json_t *cls = json_array_get(j->info, t);
    if (!json_is_integer(cls) || json_integer_value(cls) < 0 || json_integer_value(cls) >= j->n_outputs)
        return read_fail(r, "$.learner.gradient_booster.model.tree_info", "[%zu] is not a class from 0 to %d",
                         t, j->n_outputs - 1);
    float weight = 1.0f;
    if (j->weights) {
        json_t *w = json_array_get(j->weights, t);
        if (!json_is_number(w) || !isfinite(json_number_value(w)))
            return read_fail(r, "$.learner.gradient_booster.weight_drop", "[%zu] must be a number", t);
        weight = (float)json_number_value(w);
    }
    json_t *xt = json_array_get(j->trees, t);
    size_t first = j->first[t], count = j->first[t + 1] - first;
    leaf_vector vec = {0, count > 1 ? (int)count : 0, NULL, 0};
    long n_nodes = xgb_count(j->arrays, json_object_get(xt, "left_children")); /* bad: read_xgb_tree says */
    if (vec.size && n_nodes > 0 && read_leaf_vectors(r, j->arrays, xt, path, (size_t)n_nodes, &vec) != 0)
        return -1;
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < count; k++) { /* a vector-leaf tree: one of tabserve's an output */
        tree *tr = &j->e->trees[first + k];
        tr->output = vec.size ? (int)k : (int)json_integer_value(cls);
        vec.k = (int)k;
        rc = read_xgb_tree(r, j->arrays, xt, path, tr, j->n_features, weight, &vec, j->lim);
    }
    free(vec.values);
    return rc;
}

static void *read_tree_part(void *arg)
{
    tree_part *p = arg;
    tree_job *j = p->job;
    reader r = {j->r->file, j->err[p->k]};
    for (size_t t = (size_t)p->k; t < j->n_trees; t += (size_t)j->n_threads)
        if (read_one_tree(j, &r, t) != 0) {
            j->bad[p->k] = (long)t;
            break;
        }
    return NULL;
}

static int read_trees_parallel(tree_job *j)
{
    j->n_threads = j->n_trees >= PARALLEL_TREES && sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
    tree_part parts[2] = {{j, 0}, {j, 1}};
    pthread_t th;
    int started = j->n_threads == 2 && pthread_create(&th, NULL, read_tree_part, &parts[1]) == 0;
    if (!started) j->n_threads = 1;
    read_tree_part(&parts[0]);
    if (started) pthread_join(th, NULL);
    int k = j->bad[0] >= 0 && (j->bad[1] < 0 || j->bad[0] < j->bad[1]) ? 0 : j->bad[1] >= 0 ? 1 : -1;
    if (k < 0) return 0;
    err_set(j->r->err, "%s", j->err[k]);
    return -1;
}

/* The output (task, link, label, classes) and the metadata every XGBoost model gets. */
static int describe(reader *r, model_builder *mb, json_t *root, const objective *o, const char *obj_name,
                    const char *booster_name, int n_outputs)
{
    /* classes "0", "1", ...; several targets (num_target) "target_0", ...: a regression of
     * them, each through the objective's link (a schema file may name them) */
    int multi = o->task == TASK_MULTICLASS, targets = !multi && n_outputs > 1;
    output_spec *out = model_builder_output(mb);
    out->task = targets ? TASK_REGRESSION : o->task;
    out->link = o->link;
    out->label = strdup(strcmp(o->name, "binary:logitraw") == 0 ? "margin" : "label");
    if (multi || targets) {
        out->n_classes = (size_t)n_outputs;
        out->classes = calloc((size_t)n_outputs, sizeof *out->classes);
        for (int j = 0; out->classes && j < n_outputs; j++) {
            char num[24];
            snprintf(num, sizeof num, targets ? "target_%d" : "%d", j);
            out->classes[j] = strdup(num);
        }
    }
    json_t *meta = json_pack("{s:{s:s,s:s,s:s,s:s}}", "source", "format", "xgboost", "objective", obj_name,
                             "booster", booster_name, "file", r->file);
    json_t *version = json_object_get(root, "version");
    if (meta && json_is_array(version))
        json_object_set(json_object_get(meta, "source"), "xgboost_version", version);
    if (!out->label || !meta || model_builder_set_metadata(mb, meta) != 0 ||
        ((multi || targets) && !out->classes)) {
        read_fail(r, "$", "out of memory");
        return -1;
    }
    return 0;
}

/* The linear booster: margin = base + sum of w[f] x[f] over the present
 * features (a missing value adds nothing: imputed as 0) + bias; weights
 * are (n_features + 1) x n_outputs, feature by feature, the biases last. */
static model_builder *xgboost_linear(reader *r, json_t *root, json_t *learner, json_t *w_json,
                                     const objective *o, const char *obj_name, int n_features, int n_outputs,
                                     const double *margin)
{
    size_t k = (size_t)n_outputs, n = json_array_size(w_json);
    if (n != ((size_t)n_features + 1) * k) {
        read_fail(r, "$.learner.gradient_booster.model.weights", "%zu weights for %d features and %d outputs",
                  n, n_features, n_outputs);
        return NULL;
    }
    float *w = malloc(n * sizeof *w), b[OUTPUT_MAX_CLASSES];
    model_builder *mb = w ? model_builder_new() : NULL;
    if (!mb) {
        free(w);
        read_fail(r, "$", "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(w_json, i);
        w[i] = (float)json_number_value(v);
        if (!json_is_number(v) || !isfinite(w[i])) {
            read_fail(r, "$.learner.gradient_booster.model.weights", "[%zu] is not a finite number", i);
            goto fail;
        }
    }
    for (size_t j = 0; j < k; j++) b[j] = (float)((double)w[(size_t)n_features * k + j] + margin[j]);
    predictor *lin = linear_create(n_features, n_outputs, w, b);
    if (!lin) {
        read_fail(r, "$", "out of memory");
        goto fail;
    }
    model_builder_set_predictor(mb, lin);
    if (read_inputs(r, mb, learner, n_features) != 0) goto fail;
    feature_steps *fs = model_builder_features(mb);
    for (size_t i = 0; i < fs->n; i++) /* a missing value adds nothing */
        fs->f[i].steps[0] = (feature_step){STEP_IMPUTE, 0, 0};
    if (describe(r, mb, root, o, obj_name, "gblinear", n_outputs) != 0) goto fail;
    free(w);
    return mb;
fail:
    free(w);
    model_builder_free(mb);
    return NULL;
}

model_builder *xgboost_import(json_t *root, const xgb_arrays *arrays, reader *r, const import_limits *lim)
{
    json_t *learner = json_object_get(root, "learner");
    json_t *param = read_member(r, learner, "$.learner", "learner_model_param", JSON_OBJECT, "an object");
    json_t *obj = param ? read_member(r, learner, "$.learner", "objective", JSON_OBJECT, "an object") : NULL;
    json_t *booster =
        obj ? read_member(r, learner, "$.learner", "gradient_booster", JSON_OBJECT, "an object") : NULL;
    const char *obj_name = obj ? read_string(r, obj, "$.learner.objective", "name") : NULL;
    const char *booster_name =
        obj_name ? read_string(r, booster, "$.learner.gradient_booster", "name") : NULL;
    if (!booster_name) return NULL;
    const objective *o = NULL;
    for (size_t i = 0; i < N_OBJECTIVES; i++)
        if (strcmp(objectives[i].name, obj_name) == 0) o = &objectives[i];
    if (!o) {
        char known[600];
        size_t at = 0;
        for (size_t i = 0; i < N_OBJECTIVES && at < sizeof known; i++)
            at += (size_t)snprintf(known + at, sizeof known - at, "%s%s", i ? ", " : "", objectives[i].name);
        read_fail(r, "$.learner.objective.name",
                  "objective \"%.64s\" is not one tabserve knows (%s); export the model to ONNX instead",
                  obj_name, known);
        return NULL;
    }
    /* gbtree; dart (its trees scaled by their weight_drop), written as "dart" around a
     * gbtree, or from 3.x on as "gbtree" with the weight_drop beside; gblinear */
    json_t *gbtree = booster, *weights = NULL;
    int linear = strcmp(booster_name, "gblinear") == 0;
    if (strcmp(booster_name, "dart") == 0) {
        gbtree = read_member(r, booster, "$.learner.gradient_booster", "gbtree", JSON_OBJECT, "an object");
        weights = gbtree ? read_member(r, booster, "$.learner.gradient_booster", "weight_drop", JSON_ARRAY,
                                       "an array")
                         : NULL;
        if (!weights) return NULL;
    } else if (strcmp(booster_name, "gbtree") == 0) {
        weights = json_object_get(booster, "weight_drop");
        if (weights && !json_is_array(weights)) {
            read_fail(r, "$.learner.gradient_booster.weight_drop", "expected an array, got %s",
                      json_type_name(weights));
            return NULL;
        }
        if (weights && json_array_size(weights) == 0) weights = NULL;
    } else if (!linear) {
        read_fail(r, "$.learner.gradient_booster.name",
                  "booster \"%.64s\" is not supported; tabserve reads gbtree, dart and gblinear",
                  booster_name);
        return NULL;
    }
    json_t *gm = read_member(r, gbtree, "$.learner.gradient_booster", "model", JSON_OBJECT, "an object");
    json_t *trees = gm && !linear ? read_member(r, gm, "$.learner.gradient_booster.model", "trees",
                                                JSON_ARRAY, "an array")
                                  : NULL;
    json_t *info = trees ? read_member(r, gm, "$.learner.gradient_booster.model", "tree_info", JSON_ARRAY,
                                       "an array (the class of each tree)")
                         : NULL;
    json_t *lin_w = gm && linear ? read_member(r, gm, "$.learner.gradient_booster.model", "weights",
                                               JSON_ARRAY, "an array")
                                 : NULL;
    double num_feature, num_class = 0, num_target = 1;
    if ((!info && !lin_w) ||
        param_number(r, param, "$.learner.learner_model_param", "num_feature", &num_feature) != 0)
        return NULL;
    if (json_object_get(param, "num_class") &&
        param_number(r, param, "$.learner.learner_model_param", "num_class", &num_class) != 0)
        return NULL;
    if (json_object_get(param, "num_target") &&
        param_number(r, param, "$.learner.learner_model_param", "num_target", &num_target) != 0)
        return NULL;
    if (num_target < 1 || num_target > OUTPUT_MAX_CLASSES || num_target != floor(num_target)) {
        read_fail(r, "$.learner.learner_model_param.num_target", "%g is not a target count from 1 to %d",
                  num_target, OUTPUT_MAX_CLASSES);
        return NULL;
    }
    size_t n_trees = linear ? 0 : json_array_size(trees);
    if (n_trees > (size_t)lim->max_trees) {
        read_fail(r, "$.learner.gradient_booster.model.trees",
                  "%zu trees; at most %ld are accepted (--max-trees)", n_trees, lim->max_trees);
        return NULL;
    }
    if (!linear && (json_array_size(info) != n_trees || (weights && json_array_size(weights) != n_trees))) {
        read_fail(r, "$.learner.gradient_booster.model.tree_info", "has %zu entries for %zu trees",
                  json_array_size(weights && json_array_size(weights) != n_trees ? weights : info), n_trees);
        return NULL;
    }
    if (num_feature < 1 || num_feature > SCHEMA_MAX_INPUTS || num_feature != floor(num_feature)) {
        read_fail(r, "$.learner.learner_model_param.num_feature", "%g is not a feature count from 1 to %d",
                  num_feature, SCHEMA_MAX_INPUTS);
        return NULL;
    }
    int multi = o->task == TASK_MULTICLASS;
    if (multi ? (num_class < 2 || num_class > OUTPUT_MAX_CLASSES || num_class != floor(num_class) ||
                 num_target != 1)
              : num_class > 1) {
        read_fail(r, "$.learner.learner_model_param.num_class", "%g classes do not fit objective %s",
                  num_class, obj_name);
        return NULL;
    }
    /* several targets (num_target, one tree an output: multi_strategy one_output_per_tree) */
    int n_outputs = multi ? (int)num_class : (int)num_target, n_features = (int)num_feature;
    /* the starting margin of each output: base_score through the inverse link */
    double base[OUTPUT_MAX_CLASSES], margin[OUTPUT_MAX_CLASSES];
    int n_base = base_scores(r, param, base, OUTPUT_MAX_CLASSES);
    if (n_base < 0) return NULL;
    if (n_base != 1 && n_base != n_outputs) {
        read_fail(r, "$.learner.learner_model_param.base_score", "%d values for %d outputs", n_base,
                  n_outputs);
        return NULL;
    }
    for (int j = 0; j < n_outputs; j++) {
        double b = base[n_base == 1 ? 0 : j];
        if (o->base != BASE_AS_IS && (b <= 0 || (o->base == BASE_LOGIT && b >= 1))) {
            read_fail(r, "$.learner.learner_model_param.base_score", "%g is outside what objective %s allows",
                      b, obj_name);
            return NULL;
        }
        margin[j] = o->base == BASE_LOGIT ? -log(1.0 / b - 1.0) : o->base == BASE_LOG ? log(b) : b;
    }
    if (linear) return xgboost_linear(r, root, learner, lin_w, o, obj_name, n_features, n_outputs, margin);

    /* tabserve's trees of each XGBoost tree: one, or one an output for a vector-leaf tree */
    size_t *first = malloc((n_trees + 1) * sizeof *first);
    if (!first) return read_fail(r, "$", "out of memory"), NULL;
    first[0] = 0;
    for (size_t t = 0; t < n_trees; t++) {
        int size = leaf_vector_size(json_array_get(trees, t));
        if (size < 0 || (size && size != n_outputs)) {
            read_fail(r, "$.learner.gradient_booster.model.trees",
                      "[%zu]: size_leaf_vector is not 0, 1 or %d "
                      "(the model's outputs)",
                      t, n_outputs);
            free(first);
            return NULL;
        }
        first[t + 1] = first[t] + (size ? (size_t)size : 1);
    }
    if (first[n_trees] > (size_t)lim->max_trees) {
        read_fail(r, "$.learner.gradient_booster.model.trees",
                  "%zu trees of one output; at most %ld are accepted (--max-trees)", first[n_trees],
                  lim->max_trees);
        free(first);
        return NULL;
    }
    model_builder *mb = model_builder_new();
    tree_ensemble *e = mb ? trees_create(n_features, n_outputs, first[n_trees], NULL) : NULL;
    if (!mb) {
        free(first);
        return read_fail(r, "$", "out of memory"), NULL;
    }
    if (!e) {
        read_fail(r, "$", "out of memory");
        goto fail;
    }
    model_builder_set_predictor(mb, &e->base);
    for (int j = 0; j < n_outputs; j++) e->base_score[j] = (float)margin[j];
    if (read_inputs(r, mb, learner, n_features) != 0 || read_categories(r, mb, arrays, gm, n_features) != 0)
        goto fail;
    /* each tree's nodes: the room its arrays take, all in one block (else malloc's) */
    size_t *room = malloc((first[n_trees] ? first[n_trees] : 1) * sizeof *room);
    for (size_t t = 0; room && t < n_trees; t++) {
        json_t *tr = json_array_get(trees, t);
        long n = json_is_object(tr) ? xgb_count(arrays, json_object_get(tr, "left_children")) : -1;
        for (size_t k = first[t]; k < first[t + 1]; k++)
            room[k] = n > 0 && n <= lim->max_nodes ? (size_t)n : 0;
    }
    if (room) trees_reserve_nodes(e, room);
    free(room);
    tree_job job = {r,   info,   weights, trees, e, n_features, n_outputs,
                    lim, arrays, n_trees, first, 0, {-1, -1},   {{0}}};
    if (read_trees_parallel(&job) != 0) goto fail;
    if (describe(r, mb, root, o, obj_name, booster_name, n_outputs) != 0) goto fail;
    free(first);
    return mb; /* finished by model_open, after the schema file (if any) */
fail:
    free(first);
    model_builder_free(mb);
    return NULL;
}
