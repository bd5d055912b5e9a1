/* explain: each method against a brute-force reference written independently
 * of it — Shapley values as the average, over every ordering of the players,
 * of each one's marginal contribution (k! orderings, not the subset formula
 * the code uses), with the value of a coalition computed directly:
 *   trees         the path-dependent expectation: at a split on a feature in
 *                 the coalition follow the row, else average the children by
 *                 cover (the definition TreeSHAP computes in polynomial time)
 *   interventional the mean margin over the background rows with the
 *                 coalition's inputs taken from the row
 *   linear        coefficient x (value - background mean), summed per input
 * and base + sum of contributions = margin, for every method. */
#include "guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "explain/explain.h"
#include "explain/treeshap.h"
#include "formats/open.h"
#include "formats/default_model.h"
#include "model/encode.h"

/* ---- Shapley values by orderings ---- */

typedef double (*coalition_value)(const void *ctx, unsigned set);

/* phi[i] = mean over the k! orderings of v(before + i) - v(before) */
static void shapley_by_orderings(int k, coalition_value v, const void *ctx, double *phi)
{
    int order[16];
    for (int i = 0; i < k; i++) order[i] = i, phi[i] = 0;
    long count = 0;
    for (;;) {
        unsigned set = 0;
        double before = v(ctx, 0);
        for (int j = 0; j < k; j++) {
            set |= 1u << order[j];
            double after = v(ctx, set);
            phi[order[j]] += after - before;
            before = after;
        }
        count++;
        /* the next permutation, in lexicographic order */
        int i = k - 2;
        while (i >= 0 && order[i] > order[i + 1]) i--;
        if (i < 0) break;
        int j = k - 1;
        while (order[j] < order[i]) j--;
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
        for (int a = i + 1, b = k - 1; a < b; a++, b--) t = order[a], order[a] = order[b], order[b] = t;
    }
    for (int i = 0; i < k; i++) phi[i] /= (double)count;
}

/* ---- trees: a hand-made ensemble with a missing value and a categorical split ---- */

typedef struct {
    const tree_ensemble *e;
    const float *x;
} tree_ctx;

static double path_expectation(const tree *tr, int node, const float *x, unsigned set)
{
    if (tr->feature[node] < 0) return tr->value[node];
    int f = tr->feature[node];
    if (set >> f & 1)
        return path_expectation(tr, trees_goes_left(tr, node, x[f]) ? tr->left[node] : tr->right[node], x,
                                set);
    int l = tr->left[node], r = tr->right[node];
    return (tr->cover[l] * path_expectation(tr, l, x, set) + tr->cover[r] * path_expectation(tr, r, x, set)) /
           tr->cover[node];
}

static double trees_value(const void *ctx, unsigned set)
{
    const tree_ctx *c = ctx;
    double v = c->e->base_score[0];
    for (size_t t = 0; t < c->e->n_trees; t++) v += path_expectation(&c->e->trees[t], 0, c->x, set);
    return v;
}

static void set_node(tree *tr, int i, int feature, float threshold, int left, int right, int default_left,
                     float cover)
{
    tr->feature[i] = feature;
    tr->threshold[i] = threshold;
    tr->left[i] = left;
    tr->right[i] = right;
    tr->default_left[i] = (unsigned char)default_left;
    tr->cover[i] = cover;
}

static void set_leaf(tree *tr, int i, float value, float cover)
{
    tr->feature[i] = -1;
    tr->value[i] = value;
    tr->cover[i] = cover;
}

static tree_ensemble *hand_made_trees(void)
{
    int nodes[3] = {7, 5, 3};
    tree_ensemble *e = trees_create(4, 1, 3, nodes);
    assert_non_null(e);
    e->base_score[0] = 0.3f;
    for (int t = 0; t < 3; t++) assert_non_null(e->trees[t].cover = malloc(7 * sizeof(float)));
    tree *a = &e->trees[0]; /* feature 0 twice on one path, 1 below */
    set_node(a, 0, 0, 0.5f, 1, 2, 1, 100);
    set_node(a, 1, 1, 2.0f, 3, 4, 0, 60);
    set_node(a, 2, 0, 3.0f, 5, 6, 1, 40);
    set_leaf(a, 3, -1.0f, 20);
    set_leaf(a, 4, 0.5f, 40);
    set_leaf(a, 5, 1.5f, 30);
    set_leaf(a, 6, 2.5f, 10);
    tree *b = &e->trees[1]; /* a categorical split on feature 2, then feature 3 */
    set_node(b, 0, 2, 0, 1, 2, 0, 90);
    int cats[2] = {1, 3};
    assert_int_equal(trees_set_categories(b, 0, cats, 2), 0);
    set_node(b, 1, 3, -1.0f, 3, 4, 1, 50);
    set_leaf(b, 2, 0.75f, 40);
    set_leaf(b, 3, -0.25f, 15);
    set_leaf(b, 4, 0.125f, 35);
    tree *c = &e->trees[2]; /* one split on feature 1 */
    set_node(c, 0, 1, 0.0f, 1, 2, 1, 10);
    set_leaf(c, 1, -0.5f, 3);
    set_leaf(c, 2, 0.5f, 7);
    char err[ERR_LEN];
    assert_int_equal(e->base.ops->prepare(&e->base, err), 0);
    return e;
}

static void test_treeshap_is_the_path_dependent_shapley_value(void **state)
{
    (void)state;
    tree_ensemble *e = hand_made_trees();
    assert_true(treeshap_possible(e));
    treeshap_tables *tables = treeshap_tables_build(e); /* the per-leaf patterns must agree too */
    assert_non_null(tables);
    const float rows[][4] = {{0.2f, 3.0f, 1.0f, 0.0f},
                             {NAN, 1.0f, 2.0f, -3.0f},  /* a missing value: the default way */
                             {4.0f, NAN, 3.0f, NAN},    /* category 3 goes right */
                             {0.5f, 2.0f, NAN, -1.0f}}; /* thresholds hit exactly: x < t is strict */
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
        double phi[5], want[4], y[1] = {0};
        treeshap_row(e, rows[r], phi);
        tree_ctx ctx = {e, rows[r]};
        shapley_by_orderings(4, trees_value, &ctx, want);
        for (int f = 0; f < 4; f++) assert_true(fabs(phi[f] - want[f]) < 1e-9);
        double fast[5];
        treeshap_row_tables(e, tables, rows[r], fast);
        for (int f = 0; f <= 4; f++)
            if (fabs(fast[f] - phi[f]) >= 1e-9)
                fail_msg("row %zu feature %d: tables %.9g, recursion %.9g", r, f, fast[f], phi[f]);
        assert_true(fabs(phi[4] - trees_value(&ctx, 0)) < 1e-9); /* the bias: the expectation */
        float margin[1] = {0}, scratch[64];
        e->base.ops->predict(&e->base, rows[r], 1, scratch, margin);
        for (int f = 0; f <= 4; f++) y[0] += phi[f];
        assert_true(fabs(y[0] - margin[0]) < 1e-6); /* base + contributions = margin */
    }
    treeshap_tables_free(tables);
    e->trees[1].cover[1] = 0; /* a split no training row reached: no TreeSHAP */
    assert_false(treeshap_possible(e));
    predictor_free(&e->base);
}

/* ---- interventional, on the default model (an MLP) ---- */

typedef struct {
    const model *m;
    const float *x;
    const int *input_of;
} mix_ctx;

static double mix_value(const void *ctx, unsigned set)
{
    const mix_ctx *c = ctx;
    const model *m = c->m;
    float row[64], y[4], scratch[4096];
    double sum = 0;
    assert_true(m->n_features <= 64 && model_scratch_floats(m, 1) < 4096);
    for (int b = 0; b < m->n_background; b++) {
        for (int col = 0; col < m->n_features; col++)
            row[col] = (set >> c->input_of[col] & 1) ? c->x[col] : m->background[b * m->n_features + col];
        memset(y, 0, sizeof y);
        m->predictor->ops->predict(m->predictor, row, 1, scratch, y);
        sum += y[0];
    }
    return sum / m->n_background;
}

static void input_columns(const model *m, int *input_of)
{
    for (size_t f = 0; f < m->features.n; f++)
        for (int c = 0; c < m->features.f[f].width; c++)
            input_of[m->features.f[f].offset + c] = (int)m->features.f[f].input;
}

/* explain_row's values for row x of a 5-input model against the orderings over
 * the brute-force game; base + contributions = margin = v(all). Returns the margin. */
static double interventional_way_is_exact(const model *m, explain_way way, const float *x,
                                          const int *input_of)
{
    char err[ERR_LEN];
    double margin, base, contrib[5], want[5];
    assert_int_equal(explain_row_way(m, way, x, &margin, &base, contrib, err), 0);
    mix_ctx ctx = {m, x, input_of};
    shapley_by_orderings(5, mix_value, &ctx, want);
    double sum = base;
    for (int i = 0; i < 5; i++) {
        assert_true(fabs(contrib[i] - want[i]) < 1e-5); /* false for NaN too */
        sum += contrib[i];
    }
    assert_true(fabs(sum - margin) < 1e-5);
    assert_true(fabs(base - mix_value(&ctx, 0)) < 1e-5);
    assert_true(fabs(margin - mix_value(&ctx, 31)) < 1e-5);
    return margin;
}

static double interventional_is_exact(const model *m, const float *x, const int *input_of)
{
    return interventional_way_is_exact(m, EXPLAIN_WAY_FASTEST, x, input_of);
}

static void test_interventional_on_the_default_model(void **state)
{
    (void)state;
    char err[ERR_LEN];
    model *m = model_load_default(err);
    assert_non_null(m);
    assert_int_equal(m->n_background, 24);
    explain_method method;
    assert_int_equal(explain_method_of(m, &method, err), 0);
    assert_int_equal(method, EXPLAIN_INTERVENTIONAL);
    const char *bodies[] = {
        "{\"Age\": 22, \"Fare\": 7.25, \"Embarked\": \"S\", \"Sex\": \"male\", \"Pclass\": 3}",
        "{\"Sex\": \"female\", \"Pclass\": 1, \"Fare\": 71.2833}",
        "{\"Age\": 80, \"Fare\": 500, \"Sex\": \"male\", \"Pclass\": 2}"};
    int input_of[64];
    input_columns(m, input_of);
    for (size_t r = 0; r < sizeof bodies / sizeof *bodies; r++) {
        json_t *j = json_loads(bodies[r], 0, NULL);
        float x[64];
        int bad;
        assert_int_equal(encode_json(m, j, "$", ENCODE_STRICT, x, &bad, err), 0);
        json_decref(j);
        double margin = interventional_is_exact(m, x, input_of);
        float y, scratch[4096];
        model_predict(m, x, 1, scratch, &y);
        assert_true(fabs(1 / (1 + exp(-margin)) - y) < 1e-5); /* the margin is the prediction's logit */
    }
    model_free(m);
}

/* ---- linear: coefficient x centred feature ---- */

static const char linear_model[] =
    "{\"format\": \"tabserve-model\", \"format_version\": 2,"
    " \"inputs\": [{\"name\": \"x\", \"type\": \"number\", \"missing\": \"allowed\"},"
    "  {\"name\": \"c\", \"type\": \"string\", \"missing\": \"required\", \"vocabulary\": [\"a\", \"b\", "
    "\"z\"]}],"
    " \"features\": [{\"input\": \"x\", \"steps\": [{\"op\": \"impute\", \"value\": 1}]},"
    "  {\"input\": \"x\", \"steps\": [{\"op\": \"missing_indicator\"}]},"
    "  {\"input\": \"c\", \"steps\": [{\"op\": \"one_hot\"}]}],"
    " \"predictor\": {\"kind\": \"linear\", \"weights\": [[2], [-1], [0.5], [1.5], [-3]], \"bias\": [0.25]},"
    " \"output\": {\"name\": \"predict\", \"task\": \"binary\", \"link\": \"sigmoid\", \"label\": \"y\"},"
    " \"metadata\": {\"background\": [{\"x\": 3, \"c\": \"a\"}, {\"x\": null, \"c\": \"b\"}, {\"x\": -1, "
    "\"c\": \"a\"},"
    "  {\"x\": 5, \"c\": \"z\"}]}}";

static void test_linear_is_coefficient_times_centred_feature(void **state)
{
    (void)state;
    char err[ERR_LEN];
    model *m = model_open_buffer(linear_model, sizeof linear_model - 1, "linear", NULL, err);
    assert_non_null(m);
    explain_method method;
    assert_int_equal(explain_method_of(m, &method, err), 0);
    assert_int_equal(method, EXPLAIN_LINEAR);
    /* background columns: x (imputed 1), missing, a, b, z; their means */
    const double mean[5] = {(3 + 1 - 1 + 5) / 4.0, 0.25, 0.5, 0.25, 0.25}, w[5] = {2, -1, 0.5, 1.5, -3};
    json_t *j = json_loads("{\"x\": null, \"c\": \"z\"}", 0, NULL);
    float x[5];
    int bad;
    assert_int_equal(encode_json(m, j, "$", ENCODE_STRICT, x, &bad, err), 0);
    json_decref(j);
    double margin, base, contrib[2];
    assert_int_equal(explain_row(m, x, &margin, &base, contrib, err), 0);
    double want_x = w[0] * (x[0] - mean[0]) + w[1] * (x[1] - mean[1]);
    double want_c = w[2] * (x[2] - mean[2]) + w[3] * (x[3] - mean[3]) + w[4] * (x[4] - mean[4]);
    assert_true(fabs(contrib[0] - want_x) < 1e-5);
    assert_true(fabs(contrib[1] - want_c) < 1e-5);
    assert_true(fabs(base + contrib[0] + contrib[1] - margin) < 1e-5);
    assert_true(fabs(margin - (0.25 + 2 * 1 - 1 * 1 - 3 * 1)) < 1e-6);
    model_free(m);
}

static void test_refusals_say_why(void **state)
{
    (void)state;
    char err[ERR_LEN];
    /* a linear model without a background is centred on 0; an MLP without one is refused */
    model *m = model_open_buffer(linear_model, sizeof linear_model - 1, "linear", NULL, err);
    assert_non_null(m);
    json_object_del(m->metadata, "background");
    assert_int_equal(model_encode_background(m, err), 0);
    explain_method method;
    assert_int_equal(explain_method_of(m, &method, err), 0); /* linear: centred on 0 */
    model_free(m);
    model *d = model_load_default(err);
    json_object_del(d->metadata, "background");
    assert_int_equal(model_encode_background(d, err), 0);
    assert_int_equal(explain_method_of(d, &method, err), -1);
    assert_non_null(strstr(err, "no background sample"));
    model_free(d);
}

/* 13 numeric inputs into a one-layer MLP (not linear: a tanh), one background
 * row (x0 = 1, the rest imputed 0): past exact enumeration, the values are
 * sampled. For the row of ones, x0 is where the background already is (0
 * exactly), and the 12 others are symmetric: each is exactly
 * (tanh(1.3) - tanh(0.1)) / 12. Each estimate lies within 4 standard errors of
 * that, the sum is exact (base + contributions = margin), and the same row
 * gives the same values. */
static void test_more_than_twelve_inputs_sampled(void **state)
{
    (void)state;
    char text[8192], err[ERR_LEN];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "{\"format\": \"tabserve-model\", \"format_version\": 2, \"inputs\": [");
    for (int i = 0; i < 13; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "%s{\"name\": \"x%d\", \"type\": \"number\", \"missing\": \"allowed\"}",
                              i ? ", " : "", i);
    n += (size_t)snprintf(text + n, sizeof text - n, "], \"features\": [");
    for (int i = 0; i < 13; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "%s{\"input\": \"x%d\", \"steps\": [{\"op\": \"impute\", \"value\": 0}]}",
                              i ? ", " : "", i);
    n += (size_t)snprintf(
        text + n, sizeof text - n,
        "], \"predictor\": {\"kind\": \"mlp\", \"layers\": [{\"activation\": \"tanh\", \"weights\": [");
    for (int i = 0; i < 13; i++) n += (size_t)snprintf(text + n, sizeof text - n, "%s[0.1]", i ? ", " : "");
    n += (size_t)snprintf(
        text + n, sizeof text - n,
        "], \"bias\": [0]}]}, \"output\": {\"name\": \"predict\", \"task\": \"regression\", "
        "\"link\": \"identity\", \"label\": \"y\"}, \"metadata\": {\"background\": [{\"x0\": 1}]}}");
    model *m = model_open_buffer(text, n, "wide", NULL, err);
    if (!m) fail_msg("%s", err);
    explain_method method;
    assert_int_equal(explain_method_of(m, &method, err), 0);
    assert_int_equal(method, EXPLAIN_SAMPLED);
    assert_string_equal(explain_method_name(method), "interventional_sampled");
    explainer *ex = explainer_create_way(m, EXPLAIN_WAY_FASTEST, 256, err);
    assert_non_null(ex);
    assert_int_equal(explainer_samples(ex), 256);
    float x[13];
    for (int i = 0; i < 13; i++) x[i] = 1;
    double margin, base, contrib[13], se[13], again[13];
    assert_int_equal(explainer_row_se(ex, x, &margin, &base, contrib, se, err), 0);
    assert_int_equal(explainer_row(ex, x, &margin, &base, again, err), 0);
    double want = (tanh(1.3) - tanh(0.1)) / 12, sum = base;
    assert_float_equal(margin, tanh(1.3), 1e-6);
    assert_float_equal(base, tanh(0.1), 1e-6);
    assert_true(contrib[0] == 0 && se[0] == 0);
    for (int i = 0; i < 13; i++) {
        assert_true(contrib[i] == again[i]);
        sum += contrib[i];
        if (i == 0) continue;
        assert_true(se[i] > 0 && se[i] < want / 4);
        assert_true(fabs(contrib[i] - want) <= 4 * se[i]);
    }
    assert_float_equal(sum, margin, 1e-9);
    /* one row answered as JSON: the errors and the number of samples beside the values */
    char *buf = malloc(explain_json_max(m));
    float y = (float)margin;
    size_t len = explain_json(m, method, &y, &margin, &base, contrib, se, explainer_samples(ex), buf);
    buf[len] = 0;
    assert_non_null(strstr(buf, "\"standard_errors\": {\"x0\": 0, \"x1\": "));
    assert_non_null(strstr(buf, "\"samples\": 256, \"method\": \"interventional_sampled\"}"));
    free(buf);
    explainer_free(ex);
    model_free(m);
}

/* The sampled estimate against the exact values where both can be had (the
 * default model: 5 inputs, a blend of an MLP ensemble and trees; its 24
 * background rows explained as rows): each contribution's exact value lies
 * within 2 of its standard errors in at least 90% of them (a normal estimate
 * would be within 2 in 95%) and within 4 in all; base + contributions =
 * margin exactly, as the exact method's. */
static void test_sampled_against_exact(void **state)
{
    (void)state;
    char err[ERR_LEN];
    model *m = model_load_default(err);
    assert_non_null(m);
    explainer *ex = explainer_create_way(m, EXPLAIN_WAY_SAMPLE, 96, err), *exact = explainer_create(m, err);
    assert_non_null(ex);
    assert_non_null(exact);
    assert_int_equal(explainer_method(ex), EXPLAIN_SAMPLED);
    int within2 = 0, total = 0;
    for (int r = 0; r < m->n_background; r++) {
        const float *x = m->background + (size_t)r * (size_t)m->n_features;
        double margin, base, contrib[5], se[5], em, eb, want[5];
        assert_int_equal(explainer_row_se(ex, x, &margin, &base, contrib, se, err), 0);
        assert_int_equal(explainer_row(exact, x, &em, &eb, want, err), 0);
        assert_float_equal(margin, em, 1e-5);
        assert_float_equal(base, eb, 1e-5);
        double sum = base;
        for (int i = 0; i < 5; i++) {
            sum += contrib[i];
            if (want[i] == 0 && se[i] == 0) continue; /* the row is the background there */
            total++;
            within2 += fabs(contrib[i] - want[i]) <= 2 * se[i];
            assert_true(fabs(contrib[i] - want[i]) <= 4 * se[i] + 1e-9);
        }
        assert_float_equal(sum, margin, 1e-5);
    }
    assert_true(total > 60);
    assert_true(within2 >= 0.9 * total);
    explainer_free(ex);
    explainer_free(exact);
    model_free(m);
}

/* ---- interventional, leaf by leaf: trees without covers, and a blend ---- */

/* A model text: k number inputs (passthrough), `trees` random trees of depth
 * <= 3 on them without covers (on a grid of thresholds the rows also take),
 * alone or blended (0.3 x a linear model + 0.7 x the trees), and a background. */
static size_t random_tree_model(char *text, size_t cap, int k, int trees, int blended, unsigned *seed)
{
    static const float grid[] = {-1, -0.5f, 0, 0.5f, 1};
    size_t n =
        (size_t)snprintf(text, cap, "{\"format\": \"tabserve-model\", \"format_version\": 2, \"inputs\": [");
    for (int i = 0; i < k; i++)
        n += (size_t)snprintf(text + n, cap - n,
                              "%s{\"name\": \"x%d\", \"type\": \"number\", \"missing\": \"allowed\"}",
                              i ? ", " : "", i);
    n += (size_t)snprintf(text + n, cap - n, "], \"features\": [");
    for (int i = 0; i < k; i++)
        n += (size_t)snprintf(text + n, cap - n,
                              "%s{\"input\": \"x%d\", \"steps\": [{\"op\": \"passthrough\"}]}", i ? ", " : "",
                              i);
    n += (size_t)snprintf(text + n, cap - n, "], \"predictor\": ");
    if (blended) {
        n += (size_t)snprintf(
            text + n, cap - n,
            "{\"kind\": \"blend\", \"n_features\": %d, \"n_outputs\": 1, \"members\": ["
            "{\"offset\": 0, \"weight\": 0.3, \"predictor\": {\"kind\": \"linear\", \"weights\": [",
            k);
        for (int i = 0; i < k; i++)
            n += (size_t)snprintf(text + n, cap - n, "%s[%g]", i ? ", " : "", 0.25 * (i % 3) - 0.2);
        n += (size_t)snprintf(text + n, cap - n,
                              "], \"bias\": [0.1]}}, {\"offset\": 0, \"weight\": 0.7, \"predictor\": ");
    }
    n += (size_t)snprintf(text + n, cap - n,
                          "{\"kind\": \"trees\", \"n_features\": %d, \"base_score\": [0.2], \"trees\": [", k);
    for (int t = 0; t < trees; t++) {
        int feature[15], left[15], right[15], dl[15], level[15] = {0}, nodes = 1;
        float thr[15], value[15];
        for (int i = 0; i < nodes; i++) {
            if (level[i] < 3 && rand_r(seed) % 5) {
                feature[i] = rand_r(seed) % k;
                thr[i] = grid[rand_r(seed) % 5];
                dl[i] = rand_r(seed) % 2;
                left[i] = nodes;
                right[i] = nodes + 1;
                level[nodes] = level[nodes + 1] = level[i] + 1;
                nodes += 2;
                value[i] = 0;
            } else {
                feature[i] = -1;
                thr[i] = 0;
                left[i] = right[i] = dl[i] = 0;
                value[i] = (float)(rand_r(seed) % 200) / 100.0f - 1;
            }
        }
        const char *names[] = {"feature", "threshold", "left", "right", "default_left", "value"};
        n += (size_t)snprintf(text + n, cap - n, "%s{\"output\": 0", t ? ", " : "");
        for (int a = 0; a < 6; a++) {
            n += (size_t)snprintf(text + n, cap - n, ", \"%s\": [", names[a]);
            for (int i = 0; i < nodes; i++) {
                double v = a == 0   ? feature[i]
                           : a == 1 ? thr[i]
                           : a == 2 ? left[i]
                           : a == 3 ? right[i]
                           : a == 4 ? dl[i]
                                    : value[i];
                n += (size_t)snprintf(text + n, cap - n, "%s%g", i ? ", " : "", v);
            }
            n += (size_t)snprintf(text + n, cap - n, "]");
        }
        n += (size_t)snprintf(text + n, cap - n, "}");
    }
    n += (size_t)snprintf(text + n, cap - n,
                          "]}%s, \"output\": {\"name\": \"predict\", \"task\": \"regression\", "
                          "\"link\": \"identity\", \"label\": \"y\"}, \"metadata\": {\"background\": [",
                          blended ? "}]}" : "");
    for (int b = 0; b < 6; b++) {
        n += (size_t)snprintf(text + n, cap - n, "%s{", b ? ", " : "");
        for (int i = 0; i < k; i++) {
            int r = rand_r(seed) % 7;
            if (r == 6 && !blended)
                n += (size_t)snprintf(text + n, cap - n, "%s\"x%d\": null", i ? ", " : "", i);
            else
                n += (size_t)snprintf(text + n, cap - n, "%s\"x%d\": %g", i ? ", " : "", i,
                                      r < 5 ? grid[r] : 0.25);
        }
        n += (size_t)snprintf(text + n, cap - n, "}");
    }
    n += (size_t)snprintf(text + n, cap - n, "]}}");
    assert_true(n < cap);
    return n;
}

static void test_interventional_trees_leaf_by_leaf(void **state)
{
    (void)state;
    static char text[1 << 17];
    char err[ERR_LEN];
    unsigned seed = 11;
    static const float values[] = {-1, -0.5f, 0, 0.5f, 1, 0.25f, -0.75f};
    /* against the orderings over the brute-force game: trees alone (no covers) and in a blend,
     * by each way explain.c has for them (coalition tables in vectors or not, walks per
     * background row, enumeration) */
    static const explain_way ways[] = {EXPLAIN_WAY_FASTEST, EXPLAIN_WAY_PORTABLE, EXPLAIN_WAY_WALK,
                                       EXPLAIN_WAY_ENUMERATE};
    for (int run = 0; run < 8; run++) {
        int blended = run % 2;
        explain_way way = ways[run / 2];
        size_t n = random_tree_model(text, sizeof text, 5, 12, blended, &seed);
        model *m = model_open_buffer(text, n, "random-trees", NULL, err);
        if (!m) fail_msg("%s", err);
        explain_method method;
        assert_int_equal(explain_method_of(m, &method, err), 0);
        assert_int_equal(method, EXPLAIN_INTERVENTIONAL);
        int input_of[64];
        input_columns(m, input_of);
        for (int r = 0; r < 20; r++) {
            float x[5];
            /* missing values for the trees alone (the blend's linear member has no imputer) */
            for (int i = 0; i < 5; i++)
                x[i] = !blended && rand_r(&seed) % 8 == 0 ? NAN : values[rand_r(&seed) % 7];
            interventional_way_is_exact(m, way, x, input_of);
        }
        model_free(m);
    }
    /* a file's "tree" that shares a child between two nodes and leaves a node unreached
     * (fuzz_model found one) is no tree: refused at load, naming the node (an explanation
     * would walk its paths once per parent, exponentially many in a deep one) */
    static const char shared_child[] =
        "{\"format\": \"tabserve-model\", \"format_version\": 2, \"inputs\": ["
        "{\"name\": \"x0\", \"type\": \"number\", \"missing\": \"allowed\"},"
        "{\"name\": \"x1\", \"type\": \"number\", \"missing\": \"allowed\"},"
        "{\"name\": \"x2\", \"type\": \"number\", \"missing\": \"allowed\"},"
        "{\"name\": \"x3\", \"type\": \"number\", \"missing\": \"allowed\"},"
        "{\"name\": \"x4\", \"type\": \"number\", \"missing\": \"allowed\"}], \"features\": ["
        "{\"input\": \"x0\", \"steps\": [{\"op\": \"passthrough\"}]},"
        "{\"input\": \"x1\", \"steps\": [{\"op\": \"passthrough\"}]},"
        "{\"input\": \"x2\", \"steps\": [{\"op\": \"passthrough\"}]},"
        "{\"input\": \"x3\", \"steps\": [{\"op\": \"passthrough\"}]},"
        "{\"input\": \"x4\", \"steps\": [{\"op\": \"passthrough\"}]}],"
        "\"predictor\": {\"kind\": \"trees\", \"n_features\": 5, \"base_score\": [0.2], \"trees\": ["
        "{\"feature\": [0, 1, -1, 2, -1, -1, -1], \"threshold\": [0, 0.5, 0, -0.5, 0, 0, 0],"
        " \"left\": [1, 3, 0, 5, 0, 0, 0], \"right\": [2, 5, 0, 6, 0, 0, 0],"
        " \"default_left\": [0, 1, 0, 0, 0, 1, 0], \"value\": [0, 0, 3, 0, 1, 2, -2]},"
        "{\"feature\": [3, 4, -1, -1, -1], \"threshold\": [0, 0.5, 0, 0, 0], \"left\": [1, 3, 0, 0, 0],"
        " \"right\": [2, 4, 0, 0, 0], \"default_left\": [1, 0, 0, 0, 0], \"value\": [0, 0, -1, 0.5, 4]}]},"
        "\"output\": {\"name\": \"predict\", \"task\": \"regression\", \"link\": \"identity\", \"label\": "
        "\"y\"},"
        "\"metadata\": {\"background\": [{\"x0\": -1, \"x1\": 1, \"x2\": 0, \"x3\": 1, \"x4\": 0},"
        "{\"x0\": 1, \"x1\": 0, \"x2\": -1, \"x3\": -1, \"x4\": 1}, {\"x0\": -0.5, \"x1\": null, \"x2\": 1,"
        " \"x3\": 0.5, \"x4\": null}]}}";
    assert_null(model_open_buffer(shared_child, strlen(shared_child), "shared-child", NULL, err));
    assert_string_equal(err,
                        "shared-child: $.predictor.trees[0]: node 3 has a child that another node has too "
                        "(a tree's nodes are reached once)");
    /* more inputs than coalitions can be enumerated for: still exact, leaf by leaf —
     * additive, and an input no tree splits on gets nothing */
    size_t n = random_tree_model(text, sizeof text, 20, 30, 0, &seed);
    model *m = model_open_buffer(text, n, "wide-trees", NULL, err);
    if (!m) fail_msg("%s", err);
    explain_method method;
    assert_int_equal(explain_method_of(m, &method, err), 0);
    int used[20] = {0};
    const tree_ensemble *e = (const tree_ensemble *)m->predictor;
    for (size_t t = 0; t < e->n_trees; t++)
        for (int i = 0; i < e->trees[t].n_nodes; i++)
            if (e->trees[t].feature[i] >= 0) used[e->trees[t].feature[i]] = 1;
    float x[20];
    for (int i = 0; i < 20; i++) x[i] = values[rand_r(&seed) % 7];
    double margin, base, contrib[20], sum;
    assert_int_equal(explain_row(m, x, &margin, &base, contrib, err), 0);
    sum = base;
    for (int i = 0; i < 20; i++) {
        sum += contrib[i];
        if (!used[i]) assert_true(contrib[i] == 0);
    }
    assert_true(fabs(sum - margin) < 1e-5);
    float y, scratch[4096];
    model_predict(m, x, 1, scratch, &y);
    assert_true(fabs(margin - y) < 1e-5);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_treeshap_is_the_path_dependent_shapley_value),
        cmocka_unit_test(test_interventional_on_the_default_model),
        cmocka_unit_test(test_linear_is_coefficient_times_centred_feature),
        cmocka_unit_test(test_refusals_say_why),
        cmocka_unit_test(test_more_than_twelve_inputs_sampled),
        cmocka_unit_test(test_sampled_against_exact),
        cmocka_unit_test(test_interventional_trees_leaf_by_leaf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
