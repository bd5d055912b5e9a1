/* The model core: the input schema, each feature step, each predictor (linear
 * and trees by hand; the MLP in test_nn.c), the output spec, format 2 files and
 * their errors, and version 1 read into the same composition. */
#include "guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>

#include "base/err.h"
#include "base/files.h"
#include "base/scratch.h"
#include "estimators/linear.h"
#include "estimators/tree_layout.h"
#include "estimators/trees.h"
#include "model/encode.h"
#include "model/model.h"
#include "tiny_model.h"
#include "formats/tabserve.h"

static model *load(const char *text, char *err)
{
    guarded g = guard_copy(text, strlen(text));
    model *m = model_load_buffer(g.data, strlen(text), "m.json", err);
    guard_free(&g);
    return m;
}

/* Loads `text` with `from` replaced by `to`, expecting `want` in the error. */
static void expect_error(const char *text, const char *from, const char *to, const char *want)
{
    char buf[8192], err[ERR_LEN] = "";
    const char *at = strstr(text, from);
    if (!at) fail_msg("fixture lacks %s", from);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    model *m = load(buf, err);
    if (m || !strstr(err, want)) fprintf(stderr, "for %s -> %s got: %s\n", from, to, m ? "(loaded)" : err);
    assert_null(m);
    assert_non_null(strstr(err, want));
}

/* x: a number (impute 2, log1p, standardize 1/0.5) + its missing indicator;
 * n: an integer passed through (NaN kept); c: a|b|c one-hot, unknown -> zeros;
 * k: integer codes 10|20 as their category index, unknown -> missing, imputed 20;
 * f: a boolean. 2 + 1 + 3 + 1 + 1 = 8 columns -> linear -> sigmoid. */
static const char linear_v2[] =
    "{\"format\":\"tabserve-model\",\"format_version\":2,"
    "\"inputs\":[{\"name\":\"x\",\"type\":\"number\"},{\"name\":\"n\",\"type\":\"integer\"},"
    "{\"name\":\"c\",\"type\":\"string\",\"missing\":\"required\",\"vocabulary\":[\"a\",\"b\",\"c\"],"
    "\"unknown\":\"zeros\"},"
    "{\"name\":\"k\",\"type\":\"integer\",\"vocabulary\":[10,20],\"unknown\":\"missing\"},"
    "{\"name\":\"f\",\"type\":\"boolean\",\"missing\":\"required\"}],"
    "\"features\":["
    "{\"input\":\"x\",\"steps\":[{\"op\":\"impute\",\"value\":2},{\"op\":\"log1p\"},{\"op\":\"standardize\","
    "\"mean\":1,\"std\":0.5}]},"
    "{\"input\":\"x\",\"steps\":[{\"op\":\"missing_indicator\"}]},"
    "{\"input\":\"n\",\"steps\":[{\"op\":\"passthrough\"}]},"
    "{\"input\":\"c\",\"steps\":[{\"op\":\"one_hot\"}]},"
    "{\"input\":\"k\",\"steps\":[{\"op\":\"impute\",\"value\":20},{\"op\":\"category_index\"}]},"
    "{\"input\":\"f\",\"steps\":[{\"op\":\"passthrough\"}]}],"
    "\"predictor\":{\"kind\":\"linear\",\"weights\":[[1],[0.5],[0.25],[1],[-1],[2],[0.125],[-0.5]],\"bias\":["
    "-0.75]},"
    "\"output\":{\"name\":\"predict\",\"task\":\"binary\",\"link\":\"sigmoid\",\"label\":\"y\"}}";

static int encode(const model *m, const char *json, float *x, char *err)
{
    json_t *o = json_loads(json, 0, NULL);
    assert_non_null(o);
    int bad, rc = encode_json(m, o, "$", ENCODE_STRICT, x, &bad, err);
    json_decref(o);
    return rc;
}

static void test_schema_and_every_feature_step(void **state)
{
    (void)state;
    char err[ERR_LEN];
    model *m = load(linear_v2, err);
    if (!m) fail_msg("%s", err);
    assert_int_equal(m->n_features, 8);
    float x[8];
    assert_int_equal(encode(m, "{\"x\": 3, \"n\": 7, \"c\": \"b\", \"k\": 10, \"f\": true}", x, err), 0);
    assert_float_equal(x[0], (float)((log1p(3.0) - 1) / 0.5), 0); /* log1p then standardize, in double */
    assert_float_equal(x[1], 0, 0);                               /* x present */
    assert_float_equal(x[2], 7, 0);                               /* passthrough */
    assert_float_equal(x[3], 0, 0);                               /* one-hot b */
    assert_float_equal(x[4], 1, 0);
    assert_float_equal(x[5], 0, 0);
    assert_float_equal(x[6], 0, 0); /* category index of 10 */
    assert_float_equal(x[7], 1, 0); /* true */
    /* missing: x imputed (2) with the indicator set, n stays NaN, k imputed (index of 20) */
    assert_int_equal(encode(m, "{\"c\": \"a\", \"f\": false, \"x\": null}", x, err), 0);
    assert_float_equal(x[0], (float)((log1p(2.0) - 1) / 0.5), 0);
    assert_float_equal(x[1], 1, 0);
    assert_true(isnan(x[2]));
    assert_float_equal(x[3], 1, 0);
    assert_float_equal(x[6], 1, 0);
    assert_float_equal(x[7], 0, 0);
    /* log1p of a negative number is log1p(0); unknown c is all zeros; unknown k is missing -> imputed */
    assert_int_equal(encode(m, "{\"x\": -5, \"c\": \"zz\", \"k\": 30, \"f\": false}", x, err), 0);
    assert_float_equal(x[0], -2, 0);
    assert_float_equal(x[3] + x[4] + x[5], 0, 0);
    assert_float_equal(x[6], 1, 0);
    /* the schema's errors name the input */
    assert_int_equal(encode(m, "{\"n\": 1.5, \"c\": \"a\", \"f\": true}", x, err), -1);
    assert_string_equal(err, "$.n: expected an integer, got a fractional number");
    assert_int_equal(encode(m, "{\"c\": \"a\", \"f\": 1}", x, err), -1);
    assert_string_equal(err, "$.f: expected a boolean, got a number");
    assert_int_equal(encode(m, "{\"c\": \"a\"}", x, err), -1);
    assert_string_equal(err, "$.f: missing required field \"f\"");
    /* CSV text: booleans as true/false/1/0, integers parsed, empty = missing */
    const char *cells[] = {"", "4", "c", "20", "1"};
    size_t lens[] = {0, 1, 1, 2, 1};
    int bad;
    assert_int_equal(encode_text(m, cells, lens, x, &bad, err), 0);
    assert_float_equal(x[1], 1, 0);
    assert_float_equal(x[2], 4, 0);
    assert_float_equal(x[5], 1, 0);
    assert_float_equal(x[6], 1, 0);
    assert_float_equal(x[7], 1, 0);
    const char *yes[] = {"1", "4", "c", "20", "yes"};
    size_t yes_lens[] = {1, 1, 1, 2, 3};
    assert_int_equal(encode_text(m, yes, yes_lens, x, &bad, err), -1);
    assert_int_equal(bad, 4);
    assert_string_equal(err, "column f: \"yes\" is not a boolean (true, false, 1 or 0)");
    model_free(m);
}

static void test_linear_predictor_and_sigmoid_link(void **state)
{
    (void)state;
    char err[ERR_LEN];
    model *m = load(linear_v2, err);
    assert_non_null(m);
    float x[8] = {1, 0, 2, 0, 0, 1, 1, 1}, scratch[4], y;
    model_predict(m, x, 1, scratch, &y);
    /* z = 1 + 0.25*2 + 2*1 + 0.125*1 - 0.5*1 - 0.75 = 2.375 */
    assert_float_equal(y, 1 / (1 + exp(-2.375)), 1e-7);
    /* the same through a predictor built in memory */
    const float w[] = {1, 0.5f, 0.25f, 1, -1, 2, 0.125f, -0.5f}, b[] = {-0.75f};
    predictor *p = linear_create(8, 1, w, b);
    assert_int_equal(p->ops->prepare(p, err), 0);
    float z;
    p->ops->predict(p, x, 1, NULL, &z);
    assert_float_equal(z, 2.375, 1e-6);
    predictor_free(p);
    model_free(m);
}

/* Two trees over 2 columns, one output, base 0.5:
 *   tree 0: x0 < 1 ? (x1 < 0 ? 1 : 2) : 3; missing x0 goes right, missing x1 left
 *   tree 1: x1 < 5 ? -1 : 10; missing goes left */
static const char trees_v2[] =
    "{\"format\":\"tabserve-model\",\"format_version\":2,"
    "\"inputs\":[{\"name\":\"a\",\"type\":\"number\"},{\"name\":\"b\",\"type\":\"number\"}],"
    "\"features\":[{\"input\":\"a\",\"steps\":[{\"op\":\"passthrough\"}]},{\"input\":\"b\",\"steps\":[{"
    "\"op\":\"passthrough\"}]}],"
    "\"predictor\":{\"kind\":\"trees\",\"n_features\":2,\"base_score\":[0.5],\"trees\":["
    "{\"feature\":[0,1,-1,-1,-1],\"threshold\":[1,0,0,0,0],\"left\":[1,3,0,0,0],\"right\":[2,4,0,0,0],"
    "\"default_left\":[0,1,0,0,0],\"value\":[0,0,3,1,2]},"
    "{\"output\":0,\"feature\":[1,-1,-1],\"threshold\":[5,0,0],\"left\":[1,0,0],\"right\":[2,0,0],"
    "\"default_left\":[1,0,0],\"value\":[0,-1,10]}]},"
    "\"output\":{\"name\":\"predict\",\"task\":\"regression\",\"link\":\"identity\",\"label\":\"y\"}}";

static void test_trees_predictor(void **state)
{
    (void)state;
    char err[ERR_LEN];
    model *m = load(trees_v2, err);
    if (!m) fail_msg("%s", err);
    const float N = NAN;
    /* rows: (a, b) -> tree0 + tree1 + 0.5 */
    float x[][2] = {{0, -1}, {0, 0}, {1, 0}, {0.999f, 5}, {N, 4}, {0, N}, {N, N}};
    float want[] = {1 - 1 + 0.5f, 2 - 1 + 0.5f, 3 - 1 + 0.5f, 2 + 10 + 0.5f,
                    3 - 1 + 0.5f, 1 - 1 + 0.5f, 3 - 1 + 0.5f};
    float y[7];
    model_predict(m, &x[0][0], 7, NULL, y);
    for (int i = 0; i < 7; i++) assert_float_equal(y[i], want[i], 0);
    /* threshold equal to the value goes right: the split is strict */
    assert_float_equal(y[2], 2.5f, 0);
    /* through the JSON request path: missing a stays NaN and follows the default */
    assert_int_equal(encode(m, "{\"b\": 4}", x[0], err), 0);
    model_predict(m, x[0], 1, NULL, y);
    assert_float_equal(y[0], 2.5f, 0);
    /* save, reload: same hash and same answers */
    char path[] = "/tmp/tabserve-trees-XXXXXX";
    close(mkstemp(path));
    assert_int_equal(model_save(m, path, err), 0);
    model *again = model_load_file(path, err);
    if (!again) fail_msg("%s", err);
    assert_string_equal(again->hash, m->hash);
    json_t *d = model_describe(again);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "predictor"), "max_depth")), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "output"), "meaning")),
                        "predicted y");
    json_decref(d);
    unlink(path);
    model_free(again);
    model_free(m);
}

/* A random ensemble of `n_trees` trees up to `depth` deep over nf columns, with
 * thresholds from a small set (so that rows can hit them exactly). */
static tree_ensemble *random_ensemble(unsigned *seed, int nf, int n_trees, int depth, int n_outputs,
                                      int categorical, int fine)
{
    tree_ensemble *e = trees_create(nf, n_outputs, (size_t)n_trees, NULL);
    for (int t = 0; t < n_trees; t++) {
        tree *tr = &e->trees[t];
        int cap = (1 << (depth + 1)) - 1, n = 1;
        trees_alloc_tree(tr, cap);
        tr->output = t % n_outputs;
        static int level_of[1 << 13]; /* depth <= 12 */
        memset(level_of, 0, sizeof level_of);
        for (int i = 0; i < n && i < cap; i++) {
            /* split with probability 3/4 while there is room below */
            if (level_of[i] < depth && n + 2 <= cap && rand_r(seed) % 4) {
                tr->feature[i] = rand_r(seed) % nf;
                /* categorical 2: the first half of the columns always split on sets below 16 */
                int set_split =
                    categorical == 2 ? tr->feature[i] < nf / 2 : categorical && rand_r(seed) % 3 == 0;
                /* fine: thousands of distinct thresholds a column, on the rows' grid */
                tr->threshold[i] = fine ? (float)(rand_r(seed) % 2000) / 500.0f - 2
                                        : (float)(rand_r(seed) % 9) * 0.25f - 1.0f;
                tr->default_left[i] = (unsigned char)(rand_r(seed) % 2);
                if (set_split) { /* a set of categories below 32 (below 16: categorical 2) */
                    int set[8], k = 0;
                    for (int q = rand_r(seed) % 6 + 1; q > 0; q--)
                        set[k++] = rand_r(seed) % (categorical == 2 ? 16 : 32);
                    trees_set_categories(tr, i, set, k);
                }
                tr->left[i] = n;
                tr->right[i] = n + 1;
                level_of[n] = level_of[n + 1] = level_of[i] + 1;
                n += 2;
            } else {
                tr->value[i] = (float)(rand_r(seed) % 1000) / 997.0f - 0.5f;
            }
        }
        tr->n_nodes = n;
    }
    for (int j = 0; j < n_outputs; j++) e->base_score[j] = 0.125f * (float)j;
    return e;
}

/* Every walking kernel gives the same bits as the plain node walk: the padded
 * layout with the portable, AVX2 and AVX-512 kernels, for batches (rows side by
 * side), a few rows (trees side by side) and one row (ranks, for big ensembles),
 * on rows with missing values and values exactly at thresholds. */
static void test_tree_kernels_agree(void **state)
{
    (void)state;
    unsigned seed = 7;
    const tree_isa kernels[] = {TREE_ISA_PORTABLE, TREE_ISA_AVX2, TREE_ISA_ANY};
    /* columns, trees, depth, outputs, categorical splits, fine thresholds */
    int shapes[][6] = {{6, 40, 4, 1, 0},
                       {20, 300, 7, 1, 0},
                       {5, 70, 5, 3, 0},
                       {6, 60, 5, 1, 1},
                       {8, 300, 6, 2, 1},
                       /* ensembles that one row walks on the packed layout (n_trees x depth >= 512): every
                        * split of blocks of levels from depth 1 to 12, thousands of thresholds a column,
                        * several outputs; and one of more than 32 columns, which one row cannot walk there */
                       {12, 80, 8, 1, 0, 0},
                       {10, 100, 9, 1, 0, 0},
                       {7, 150, 4, 1, 0, 0},
                       {9, 60, 12, 2, 0, 0},
                       {6, 600, 1, 1, 0, 0},
                       {5, 200, 3, 2, 0, 0},
                       {12, 90, 8, 1, 0, 1},
                       {32, 70, 10, 3, 0, 1},
                       {40, 60, 9, 1, 0, 0},
                       /* category sets on the packed layout: columns split only on sets below 16 */
                       {8, 200, 6, 1, 2, 0},
                       {10, 120, 8, 2, 2, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int nf = shapes[s][0], k = shapes[s][3];
        tree_ensemble *e =
            random_ensemble(&seed, nf, shapes[s][1], shapes[s][2], k, shapes[s][4], shapes[s][5]);
        char err[ERR_LEN];
        assert_int_equal(e->base.ops->prepare(&e->base, err), 0);
        int n = 200;
        float *x = malloc((size_t)n * nf * sizeof *x), *want = malloc((size_t)n * k * sizeof *want),
              *got = malloc((size_t)n * k * sizeof *got);
        for (int i = 0; i < n * nf; i++) {
            int r = rand_r(&seed) % 10;
            x[i] = r == 0  ? NAN
                   : r < 5 ? (float)(rand_r(&seed) % 9) * 0.25f - 1.0f
                           : (float)(rand_r(&seed) % 2000) / 500.0f - 2;
        }
        if (shapes[s][4]) /* categories too: in and out of the sets, above 31, negative, fractional */
            for (int i = 0; i < n * nf; i += 2)
                if (x[i] == x[i])
                    x[i] = (float)(rand_r(&seed) % 44) - 4 + (rand_r(&seed) % 4 == 0 ? 0.5f : 0.0f);
        complete_trees *c = e->complete;
        assert_non_null(c);
        assert_int_equal(c->has_categories, shapes[s][4] != 0);
        /* sets reaching 16, or columns split both ways (categorical 1), walk the float layout */
        assert_int_equal(c->packed != NULL, nf <= 32 && shapes[s][4] != 1);
        e->complete = NULL; /* the reference: node by node */
        e->base.ops->predict(&e->base, x, n, NULL, want);
        e->complete = c;
        for (size_t kern = 0; kern < 3; kern++) {
            e->isa_cap = kernels[kern];
            assert_int_equal(e->base.ops->prepare(&e->base, err), 0);
            e->base.ops->predict(&e->base, x, n, NULL, got); /* batch */
            assert_memory_equal(got, want, (size_t)n * k * sizeof *got);
            for (int i = 0; i < n; i += 3) { /* one row, and three rows */
                e->base.ops->predict(&e->base, x + (size_t)i * nf, 1, NULL, got);
                assert_memory_equal(got, want + (size_t)i * k, (size_t)k * sizeof *got);
                if (i + 3 <= n) {
                    e->base.ops->predict(&e->base, x + (size_t)i * nf, 3, NULL, got);
                    assert_memory_equal(got, want + (size_t)i * k, 3 * (size_t)k * sizeof *got);
                }
            }
        }
        free(x);
        free(want);
        free(got);
        e->base.ops->free(&e->base);
    }
}

/* A stump split on column 0 at 2 with each of ONNX's tests (the interpreter's
 * trees keep them): where each value goes, NaN by the node's default way. */
static void test_node_tests_as_onnx_writes_them(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        unsigned char test, default_left;
        int left[6]; /* for 1, 2, 3, -inf, inf, NaN */
    } cases[] = {
        {"LT", TREES_LT, 0, {1, 0, 0, 1, 0, 0}},         {"LEQ", TREES_LEQ, 0, {1, 1, 0, 1, 0, 0}},
        {"GTE", TREES_GTE, 1, {0, 1, 1, 0, 1, 1}},       {"GT", TREES_GT, 0, {0, 0, 1, 0, 1, 0}},
        {"EQ", TREES_EQ, 0, {0, 1, 0, 0, 0, 0}},         {"NEQ", TREES_NEQ, 1, {1, 0, 1, 1, 1, 1}},
        {"MEMBER", TREES_MEMBER, 0, {1, 0, 1, 0, 0, 0}},
    };
    const float xs[6] = {1, 2, 3, -INFINITY, INFINITY, NAN};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        tree_ensemble *e = trees_create(1, 1, 1, (const int[]){3});
        assert_non_null(e);
        tree *tr = &e->trees[0];
        tr->feature[0] = 0, tr->threshold[0] = 2, tr->left[0] = 1, tr->right[0] = 2;
        tr->default_left[0] = cases[c].default_left;
        tr->test = calloc(3, 1);
        tr->test[0] = cases[c].test;
        if (cases[c].test == TREES_MEMBER) { /* the set {1, 3} */
            tr->members = malloc(2 * sizeof *tr->members);
            tr->cat_at = malloc(3 * sizeof *tr->cat_at);
            tr->cat_len = calloc(3, sizeof *tr->cat_len);
            tr->members[0] = 1, tr->members[1] = 3;
            tr->cat_at[0] = 0, tr->cat_len[0] = 2, tr->cat_at[1] = tr->cat_at[2] = -1;
        }
        for (int k = 0; k < 6; k++) {
            int leaf = trees_leaf(tr, &xs[k]);
            if (leaf != (cases[c].left[k] ? 1 : 2))
                fail_msg("%s: %g went to node %d", cases[c].name, (double)xs[k], leaf);
        }
        char err[ERR_LEN] = "";
        assert_int_equal(e->base.ops->prepare(&e->base, err), -1);
        assert_string_equal(err, "$.predictor.trees[0]: keeps ONNX's node tests, which only the ONNX "
                                 "interpreter walks");
        predictor_free(&e->base);
    }
}

static void test_trees_errors(void **state)
{
    (void)state;
    expect_error(trees_v2, "\"left\":[1,3,0,0,0]", "\"left\":[1,0,0,0,0]",
                 "$.predictor.trees[0]: node 1 has a child that is not a later node of the tree");
    expect_error(trees_v2, "\"feature\":[0,1,-1,-1,-1]", "\"feature\":[0,2,-1,-1,-1]",
                 "node 1 splits on a feature column that does not exist");
    expect_error(trees_v2, "\"default_left\":[1,0,0]", "\"default_left\":[1,2,0]",
                 "$.predictor.trees[1].default_left: [1]: 2 is outside 0..1");
    expect_error(trees_v2, "\"value\":[0,-1,10]", "\"value\":[0,-1]",
                 "$.predictor.trees[1].value: expected 3 numbers, got 2");
    expect_error(trees_v2, "\"output\":0", "\"output\":1",
                 "member \"output\" must be an output index, 0 to 0");
    expect_error(trees_v2, "\"n_features\":2", "\"n_features\":3",
                 "$.predictor: takes 3 features, but the feature steps write 2 columns");
}

static const char multiclass_v2[] =
    "{\"format\":\"tabserve-model\",\"format_version\":2,"
    "\"inputs\":[{\"name\":\"x\",\"type\":\"number\",\"missing\":\"required\"}],"
    "\"features\":[{\"input\":\"x\",\"steps\":[{\"op\":\"standardize\",\"mean\":0,\"std\":1}]}],"
    "\"predictor\":{\"kind\":\"linear\",\"weights\":[[1,0,-1]],\"bias\":[0,0,0]},"
    "\"output\":{\"name\":\"predict\",\"task\":\"multiclass\",\"link\":\"softmax\",\"label\":\"species\","
    "\"classes\":[\"setosa\",\"versicolor\",\"virginica\"]}}";

static void test_output_spec(void **state)
{
    (void)state;
    char err[ERR_LEN];
    model *m = load(multiclass_v2, err);
    if (!m) fail_msg("%s", err);
    assert_int_equal(m->n_outputs, 3);
    float x = 1, y[3];
    model_predict(m, &x, 1, NULL, y);
    double e = exp(1), z = e + 1 + 1 / e;
    assert_float_equal(y[0], e / z, 1e-7);
    assert_float_equal(y[1], 1 / z, 1e-7);
    assert_float_equal(y[2], 1 / e / z, 1e-7);
    char buf[512];
    const float p[3] = {0.25f, 0.5f, 0.25f};
    buf[output_row_json(&m->output, p, buf)] = 0;
    assert_string_equal(buf, "{\"setosa\": 0.25, \"versicolor\": 0.5, \"virginica\": 0.25}");
    buf[output_csv_header(&m->output, buf, sizeof buf)] = 0;
    assert_string_equal(buf, "predict_setosa,predict_versicolor,predict_virginica");
    buf[output_csv_row(&m->output, p, buf)] = 0;
    assert_string_equal(buf, "0.25,0.5,0.25");
    model_free(m);
    /* regression and binary write one number; the sigmoid never overflows */
    output_spec reg = {.task = TASK_REGRESSION, .link = LINK_IDENTITY, .label = "y"};
    float big[2] = {-1234.5f, 1e30f};
    output_link_apply(&reg, big, 2);
    buf[output_row_json(&reg, big, buf)] = 0;
    assert_string_equal(buf, "-1234.5");
    output_spec bin = {.task = TASK_BINARY, .link = LINK_SIGMOID, .label = "y"};
    float z2[3] = {-1000, 0, 1000};
    output_link_apply(&bin, z2, 3);
    assert_float_equal(z2[0], 0, 0);
    assert_float_equal(z2[1], 0.5, 0);
    assert_float_equal(z2[2], 1, 0);
    /* a schema file's positive class that is the model's first: 1 - p, and said so */
    output_spec neg = {
        .task = TASK_BINARY, .link = LINK_SIGMOID, .label = "Survived", .positive = "died", .complement = 1};
    float z3[1] = {0.6931472f}; /* sigmoid = 2/3 */
    output_link_apply(&neg, z3, 1);
    assert_float_equal(z3[0], 1.0 / 3, 1e-7);
    output_meaning(&neg, buf, sizeof buf);
    assert_string_equal(buf, "probability that Survived is died");
    /* count:poisson's log link */
    output_spec pois = {.task = TASK_REGRESSION, .link = LINK_EXP, .label = "n"};
    float z4[2] = {0, 0.6931472f};
    output_link_apply(&pois, z4, 2);
    assert_float_equal(z4[0], 1, 0);
    assert_float_equal(z4[1], 2, 1e-6);
    /* the spec is checked against the predictor */
    expect_error(multiclass_v2, "\"weights\":[[1,0,-1]],\"bias\":[0,0,0]",
                 "\"weights\":[[1,0]],\"bias\":[0,0]",
                 "$.output.classes: 3 classes, but the predictor gives 2 outputs");
    expect_error(multiclass_v2, "\"link\":\"softmax\"", "\"link\":\"exp\"",
                 "a multiclass output takes softmax, sigmoid or identity");
    expect_error(multiclass_v2, "\"virginica\"", "\"a,b\"", "$.output.classes: [2]: expected a label");
    expect_error(multiclass_v2, "\"virginica\"", "\"setosa\"", "duplicate class \"setosa\"");
    expect_error(linear_v2, "\"link\":\"sigmoid\"", "\"link\":\"softmax\"",
                 "softmax needs a multiclass output");
}

static void test_format_2_errors(void **state)
{
    (void)state;
    expect_error(linear_v2, "{\"op\":\"log1p\"}", "{\"op\":\"cube\"}",
                 "$.features[0].steps[1]: member \"op\" is \"cube\", expected one of \"impute\"");
    expect_error(linear_v2, "{\"input\":\"n\",", "{\"input\":\"m\",",
                 "$.features[2]: input \"m\" is not among $.inputs");
    expect_error(linear_v2, "[{\"op\":\"one_hot\"}]", "[{\"op\":\"one_hot\"},{\"op\":\"log1p\"}]",
                 "$.features[3].steps[0]: one_hot writes the columns, so it must be the last step");
    expect_error(linear_v2, "{\"input\":\"n\",\"steps\":[{\"op\":\"passthrough\"}]}",
                 "{\"input\":\"n\",\"steps\":[{\"op\":\"one_hot\"}]}",
                 "$.features[2].steps[0]: one_hot needs a categorical input, and \"n\" has no vocabulary");
    expect_error(linear_v2, "\"std\":0.5", "\"std\":0", "$.features[0].steps[2]: std must be positive");
    expect_error(linear_v2, "{\"op\":\"impute\",\"value\":20}", "{\"op\":\"impute\",\"value\":30}",
                 "$.features[4].steps[0]: member \"value\" must be one of the vocabulary's values");
    expect_error(linear_v2, "\"type\":\"boolean\"", "\"type\":\"bool\"",
                 "$.inputs[4]: member \"type\" is \"bool\"");
    expect_error(linear_v2, "{\"name\":\"n\",\"type\":\"integer\"}", "{\"name\":\"x\",\"type\":\"integer\"}",
                 "$.inputs[1]: duplicate input name \"x\"");
    expect_error(linear_v2, "\"vocabulary\":[\"a\",\"b\",\"c\"],", "",
                 "a string input needs a \"vocabulary\"");
    expect_error(multiclass_v2, "\"task\":\"multiclass\",\"link\":\"softmax\"",
                 "\"task\":\"binary\",\"link\":\"sigmoid\"",
                 "$.output: a binary output takes 1 predictor output, got 3");
    expect_error(linear_v2, "[[1],[0.5]", "[[1]",
                 "$.predictor: takes 7 features, but the feature steps write 8");
    expect_error(
        linear_v2, "\"kind\":\"linear\"", "\"kind\":\"svm\"",
        "$.predictor: member \"kind\" is \"svm\", expected one of \"mlp\", \"linear\", \"trees\", \"blend\"");
    expect_error(linear_v2, "\"format_version\":2", "\"format_version\":3", "version 3 is not supported");
    /* a saved file's content hash is checked */
    char err[ERR_LEN], path[] = "/tmp/tabserve-core-XXXXXX";
    close(mkstemp(path));
    model *m = load(linear_v2, err);
    assert_int_equal(model_save(m, path, err), 0);
    char *text;
    size_t len;
    assert_int_equal(file_read_all(path, &text, &len, err), 0);
    char *w = strstr(text, "0.125");
    assert_non_null(w);
    w[4] = '6';
    assert_null(model_load_buffer(text, len, "t.json", err));
    assert_non_null(strstr(err, "t.json: $.metadata.content_hash: does not match the content"));
    free(text);
    unlink(path);
    model_free(m);
}

/* The v1 tiny model and its format-2 rewrite are the same composition. */
static void test_v1_reads_as_the_composition(void **state)
{
    (void)state;
    char err[ERR_LEN], path[] = "/tmp/tabserve-v1-XXXXXX";
    model *v1 = load(tiny_model_json, err);
    if (!v1) fail_msg("%s", err);
    assert_string_equal(v1->predictor->ops->kind, "mlp");
    assert_int_equal(v1->output.task, TASK_BINARY);
    assert_int_equal(v1->output.link, LINK_SIGMOID);
    assert_int_equal(v1->features.n, 2);
    assert_int_equal(v1->features.f[0].steps[0].op, STEP_IMPUTE);
    assert_int_equal(v1->features.f[0].steps[1].op, STEP_STANDARDIZE);
    assert_int_equal(v1->features.f[1].steps[0].op, STEP_ONE_HOT);
    assert_true(v1->schema.inputs[1].required);
    close(mkstemp(path));
    assert_int_equal(model_save(v1, path, err), 0);
    model *v2 = model_load_file(path, err);
    if (!v2) fail_msg("%s", err);
    assert_string_equal(v1->hash, v2->hash);
    float x[3], a, b, scratch[16];
    assert_int_equal(encode(v2, "{\"x\": 3, \"c\": \"b\"}", x, err), 0);
    model_predict(v1, x, 1, scratch, &a);
    model_predict(v2, x, 1, scratch, &b);
    assert_float_equal(a, 1 / (1 + exp(0.25)), 1e-7);
    assert_memory_equal(&a, &b, sizeof a);
    unlink(path);
    model_free(v1);
    model_free(v2);
}

/* Whether this kernel never gives 2 MB pages (then a scratch reserves nothing). */
static int huge_pages_never(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    char line[128] = "";
    int never = f && fgets(line, sizeof line, f) && strstr(line, "[never]");
    if (f) fclose(f);
    return never;
}

/* A load's scratch: aligned blocks, a freed block reused by its size class,
 * and past the reserve malloc's blocks, freed by scratch_free or else by
 * scratch_destroy (the leak checkers of test-asan and test-valgrind see to
 * that). Under AddressSanitizer, or where the kernel never gives 2 MB pages,
 * every block is malloc's. */
static void test_scratch_reuses_and_spills(void **state)
{
    (void)state;
    scratch *s = scratch_create(2 << 20);
    assert_non_null(s);
#if defined(__SANITIZE_ADDRESS__)
    const int under_asan = 1;
#else
    const int under_asan = 0;
#endif
    const int reserved = !under_asan && !huge_pages_never();
    char *a = scratch_alloc(s, 100), *b = scratch_alloc(s, 100);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal((uintptr_t)a % 16, 0);
    assert_int_equal((uintptr_t)b % 16, 0);
    assert_true(a + 100 <= b || b + 100 <= a);
    memset(a, 1, 100);
    memset(b, 2, 100);
    if (reserved) {
        assert_int_equal(scratch_used(s), 256); /* two 128-byte blocks (100 and a 16-byte header) */
        scratch_free(s, a);
        char *c = scratch_alloc(s, 112); /* the same class: a's block again */
        assert_ptr_equal(c, a);
        char *d = scratch_alloc(s, 113); /* the next class (160 bytes, 1.25 x 128): fresh */
        assert_ptr_not_equal(d, a);
        assert_int_equal(scratch_used(s), 256 + 160);
        scratch_free(s, d);
        assert_ptr_equal(scratch_alloc(s, 144), d); /* 144 + 16: the same class */
        assert_int_equal(b[99], 2);                 /* untouched by the others */
    } else {
        assert_int_equal(scratch_used(s), 0);
        scratch_free(s, a); /* malloc's: freed now */
    }
    for (int i = 0; i < 64; i++) { /* 64 blocks of 112 KB, half of them freed: the 2 MB run out */
        char *big = scratch_alloc(s, 100000);
        assert_non_null(big);
        memset(big, i, 100000);
        if (i % 2) scratch_free(s, big);
    }
    assert_true(scratch_used(s) <= (reserved ? 2u << 20 : 0));
    scratch_free(s, NULL);
    scratch_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_and_every_feature_step),
        cmocka_unit_test(test_linear_predictor_and_sigmoid_link),
        cmocka_unit_test(test_trees_predictor),
        cmocka_unit_test(test_tree_kernels_agree),
        cmocka_unit_test(test_trees_errors),
        cmocka_unit_test(test_node_tests_as_onnx_writes_them),
        cmocka_unit_test(test_scratch_reuses_and_spills),
        cmocka_unit_test(test_output_spec),
        cmocka_unit_test(test_format_2_errors),
        cmocka_unit_test(test_v1_reads_as_the_composition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
