/* Unit tests of the gradient-boosted trees trainer (train/gbt.c): the objectives'
 * gradients, the root split against a brute-force search, missing values and
 * categories routed as learned, determinism across runs and thread counts. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "train/gbt.h"

static gbt_options one_split(void)
{
    gbt_options o;
    gbt_options_default(&o);
    o.trees = 1;
    o.max_depth = 1;
    o.learning_rate = 1;
    o.min_child_weight = 0;
    o.subsample = 1;
    o.colsample = 1;
    o.early_stopping = 0;
    o.threads = 1;
    return o;
}

static float predict_row(const tree_ensemble *e, const float *x)
{
    float y;
    e->base.ops->predict(&e->base, x, 1, NULL, &y);
    return y;
}

static void test_gradients(void **state)
{
    (void)state;
    double g, h;
    gbt_grad(GBT_BINARY, 0, 1, &g, &h);
    assert_float_equal(g, -0.5, 1e-7);
    assert_float_equal(h, 0.25, 1e-7);
    gbt_grad(GBT_BINARY, log(3.0), 0, &g, &h); /* p = 0.75 */
    assert_float_equal(g, 0.75, 1e-7);
    assert_float_equal(h, 0.1875, 1e-7);
    gbt_grad(GBT_REGRESSION, 2, 0.5, &g, &h);
    assert_float_equal(g, 1.5, 0);
    assert_float_equal(h, 1, 0);
}

static double score(double G, double H, double l2) { return G * G / (H + l2); }

/* The root split of one tree, against every threshold between distinct values
 * of every column with missing values sent either way: same column, same
 * threshold, same missing direction, and leaves -G/(H + l2). */
static void test_root_split_is_the_best(void **state)
{
    (void)state;
    unsigned seed = 3;
    enum { N = 80, F = 3 };
    for (int trial = 0; trial < 20; trial++) {
        float x[N * F], y[N];
        for (int r = 0; r < N; r++) {
            for (int f = 0; f < F; f++)
                x[r * F + f] = rand_r(&seed) % 7 == 0 ? NAN : (float)(rand_r(&seed) % 12) - 3;
            y[r] = (float)(rand_r(&seed) % 3 == 0 || x[r * F + trial % F] > 2);
        }
        int is_cat[F] = {0}, n_cat[F] = {0}, rounds;
        gbt_options o = one_split();
        char err[ERR_LEN];
        tree_ensemble *e = gbt_fit(x, y, N, F, is_cat, n_cat, &o, &rounds, err);
        if (!e) fail_msg("%s", err);
        /* brute force at the starting margin */
        double mean = 0;
        for (int r = 0; r < N; r++) mean += y[r] / N;
        double base = (float)log(mean / (1 - mean)), G = 0, H = 0, g[N], h[N];
        for (int r = 0; r < N; r++) {
            gbt_grad(GBT_BINARY, base, y[r], &g[r], &h[r]);
            G += g[r];
            H += h[r];
        }
        double best = 0;
        int bf = -1, bml = 0;
        float bt = 0;
        for (int f = 0; f < F; f++)
            for (int t = -2; t <= 8; t++) /* x < t: the cuts are the distinct values */
                for (int ml = 0; ml < 2; ml++) {
                    double gl = 0, hl = 0;
                    int nl = 0, nr = 0;
                    for (int r = 0; r < N; r++) {
                        float v = x[r * F + f];
                        int left = isnan(v) ? ml : v < (float)t;
                        if (left)
                            gl += g[r], hl += h[r], nl++;
                        else
                            nr++;
                    }
                    if (!nl || !nr) continue;
                    double gain = score(gl, hl, o.l2) + score(G - gl, H - hl, o.l2) - score(G, H, o.l2);
                    if (gain > best + 1e-9) best = gain, bf = f, bt = (float)t, bml = ml;
                }
        assert_int_equal(e->trees[0].feature[0], bf);
        assert_float_equal(e->trees[0].threshold[0], bt, 0);
        /* the missing direction only matters when the node has missing values */
        int any_nan = 0;
        for (int r = 0; r < N; r++) any_nan |= isnan(x[r * F + bf]);
        if (any_nan) assert_int_equal(e->trees[0].default_left[0], bml);
        e->base.ops->free(&e->base);
    }
}

/* Missing values go where their labels say, not where imputation would put them. */
static void test_missing_values_route_by_learned_direction(void **state)
{
    (void)state;
    enum { N = 200 };
    float x[N], y[N];
    for (int r = 0; r < N; r++) {
        if (r % 4 == 0) {
            x[r] = NAN;
            y[r] = 1; /* missing: positive, like the large values */
        } else {
            x[r] = (float)(r % 10);
            y[r] = x[r] >= 5;
        }
    }
    int is_cat[1] = {0}, n_cat[1] = {0}, rounds;
    gbt_options o = one_split();
    o.trees = 20;
    o.max_depth = 2;
    o.learning_rate = 0.3;
    char err[ERR_LEN];
    tree_ensemble *e = gbt_fit(x, y, N, 1, is_cat, n_cat, &o, &rounds, err);
    if (!e) fail_msg("%s", err);
    char why[ERR_LEN];
    assert_int_equal(e->base.ops->prepare(&e->base, why), 0);
    float nan_row[1] = {NAN}, low[1] = {1}, high[1] = {8};
    assert_true(predict_row(e, nan_row) > 0.5); /* margins: positive */
    assert_true(predict_row(e, low) < 0);
    assert_true(predict_row(e, high) > 0);
    e->base.ops->free(&e->base);
}

/* Three classes by x's third (0..2, 3..5, 6..8): one tree per class and
 * round, tree t adds to output t mod 3; the first round's trees are Newton
 * steps from the class shares, exactly; the classes are told apart. */
static void test_multiclass_softmax(void **state)
{
    (void)state;
    enum { N = 90 };
    float x[N], y[N];
    for (int r = 0; r < N; r++) {
        x[r] = (float)(r % 9);
        y[r] = (float)((r % 9) / 3);
    }
    int is_cat[1] = {0}, n_cat[1] = {0}, rounds;
    gbt_options o = one_split();
    o.objective = GBT_MULTICLASS;
    o.n_classes = 3;
    o.trees = 10;
    o.max_depth = 2;
    o.l2 = 0;
    o.learning_rate = 0.5;
    char err[ERR_LEN];
    tree_ensemble *e = gbt_fit(x, y, N, 1, is_cat, n_cat, &o, &rounds, err);
    if (!e) fail_msg("%s", err);
    assert_int_equal(rounds, 10);
    assert_int_equal(e->base.n_outputs, 3);
    assert_int_equal((int)e->n_trees, 30);
    for (int t = 0; t < 30; t++) assert_int_equal(e->trees[t].output, t % 3);
    for (int c = 0; c < 3; c++) assert_float_equal(e->base_score[c], (float)log(1.0 / 3), 1e-6);
    /* round one, class 0, rows of class 0: g = 1/3 - 1, h = 2/9 each; leaf = -G/H * 0.5 = 1.5 */
    char why[ERR_LEN];
    assert_int_equal(e->base.ops->prepare(&e->base, why), 0);
    for (int v = 0; v < 9; v++) {
        float row[1] = {(float)v}, out[3];
        e->base.ops->predict(&e->base, row, 1, NULL, out);
        int best = out[0] > out[1] ? (out[0] > out[2] ? 0 : 2) : (out[1] > out[2] ? 1 : 2);
        assert_int_equal(best, v / 3);
    }
    float first = e->trees[0].value[0]; /* a root split: find the leaf of x = 0 */
    for (int i = 0; e->trees[0].feature[i] >= 0;) {
        i = 0 < e->trees[0].threshold[i] ? e->trees[0].left[i] : e->trees[0].right[i];
        first = e->trees[0].value[i];
        if (e->trees[0].feature[i] < 0) break;
    }
    assert_float_equal(first, 1.5f, 1e-5);
    e->base.ops->free(&e->base);
}

/* Categories {1, 3} positive, {0, 2} negative: one split separates them. */
static void test_categorical_partition(void **state)
{
    (void)state;
    enum { N = 400 };
    float x[N], y[N];
    for (int r = 0; r < N; r++) {
        x[r] = (float)(r % 4);
        y[r] = r % 4 == 1 || r % 4 == 3;
    }
    int is_cat[1] = {1}, n_cat[1] = {4}, rounds;
    gbt_options o = one_split();
    char err[ERR_LEN];
    tree_ensemble *e = gbt_fit(x, y, N, 1, is_cat, n_cat, &o, &rounds, err);
    if (!e) fail_msg("%s", err);
    char why[ERR_LEN];
    assert_int_equal(e->base.ops->prepare(&e->base, why), 0);
    const tree *t = &e->trees[0];
    assert_non_null(t->cat_at);
    assert_true(t->cat_at[0] >= 0);
    /* 1 and 3 on one side, 0 and 2 on the other */
    assert_int_equal(trees_in_category_set(t, 0, 1), trees_in_category_set(t, 0, 3));
    assert_int_equal(trees_in_category_set(t, 0, 0), trees_in_category_set(t, 0, 2));
    assert_int_not_equal(trees_in_category_set(t, 0, 1), trees_in_category_set(t, 0, 0));
    for (int c = 0; c < 4; c++) {
        float row[1] = {(float)c};
        assert_true((predict_row(e, row) > 0) == (c == 1 || c == 3));
    }
    e->base.ops->free(&e->base);
}

static int same_ensemble(const tree_ensemble *a, const tree_ensemble *b)
{
    if (a->n_trees != b->n_trees || a->base_score[0] != b->base_score[0]) return 0;
    for (size_t t = 0; t < a->n_trees; t++) {
        const tree *x = &a->trees[t], *y = &b->trees[t];
        if (x->n_nodes != y->n_nodes) return 0;
        size_t n = (size_t)x->n_nodes;
        if (memcmp(x->feature, y->feature, n * sizeof *x->feature) ||
            memcmp(x->threshold, y->threshold, n * sizeof *x->threshold) ||
            memcmp(x->value, y->value, n * sizeof *x->value) || memcmp(x->default_left, y->default_left, n))
            return 0;
    }
    return 1;
}

/* The same model from the same data and options, whatever the thread count
 * (large enough that the threads run: 20000 rows x 12 columns). */
static void test_deterministic_across_runs_and_threads(void **state)
{
    (void)state;
    enum { N = 20000, F = 12 };
    float *x = malloc(sizeof(float) * N * F), *y = malloc(sizeof(float) * N);
    unsigned seed = 11;
    for (int r = 0; r < N; r++) {
        double z = 0;
        for (int f = 0; f < F; f++) {
            float v = (float)(rand_r(&seed) % 1000) / 100.0f - 5;
            x[r * F + f] = rand_r(&seed) % 20 == 0 ? NAN : v;
            z += (f % 3 == 0 ? 1 : -0.5) * (isnan(x[r * F + f]) ? 0 : v);
        }
        y[r] = z + (double)(rand_r(&seed) % 100) / 25.0 > 2;
    }
    int is_cat[F] = {0}, n_cat[F] = {0}, rounds[3];
    gbt_options o;
    gbt_options_default(&o);
    o.trees = 15;
    o.max_depth = 4;
    o.subsample = 0.7;
    o.colsample = 0.8;
    char err[ERR_LEN];
    tree_ensemble *e[3];
    int threads[3] = {1, 1, 2};
    for (int k = 0; k < 3; k++) {
        o.threads = threads[k];
        e[k] = gbt_fit(x, y, N, F, is_cat, n_cat, &o, &rounds[k], err);
        if (!e[k]) fail_msg("%s", err);
    }
    assert_true(same_ensemble(e[0], e[1]));
    assert_true(same_ensemble(e[0], e[2]));
    o.seed = 2; /* and the seed matters */
    o.threads = 1;
    tree_ensemble *other = gbt_fit(x, y, N, F, is_cat, n_cat, &o, &rounds[0], err);
    assert_false(same_ensemble(e[0], other));
    other->base.ops->free(&other->base);
    for (int k = 0; k < 3; k++) e[k]->base.ops->free(&e[k]->base);
    free(x);
    free(y);
}

/* A bag is the mean of its members: each fitted alone from its own seed. */
static void test_bag_is_the_mean_of_its_members(void **state)
{
    (void)state;
    enum { N = 3000, F = 4, BAG = 3 };
    float *x = malloc(sizeof(float) * N * F), *y = malloc(sizeof(float) * N);
    unsigned seed = 5;
    for (int r = 0; r < N; r++) {
        for (int f = 0; f < F; f++)
            x[r * F + f] = rand_r(&seed) % 9 == 0 ? NAN : (float)(rand_r(&seed) % 200) / 20;
        y[r] = (isnan(x[r * F]) ? 3 : x[r * F]) + x[r * F + 1] * 0.5f + (float)(rand_r(&seed) % 100) / 20 > 8;
    }
    int is_cat[F] = {0}, n_cat[F] = {0}, rounds, total = 0;
    gbt_options o;
    gbt_options_default(&o);
    o.trees = 20;
    o.threads = 1;
    o.early_stopping = 5; /* each member holds out its own rows */
    char err[ERR_LEN];
    tree_ensemble *member[BAG];
    for (int k = 0; k < BAG; k++) {
        gbt_options one = o;
        one.seed = o.seed + GBT_BAG_SEED_STEP * (unsigned long long)k;
        if (!(member[k] = gbt_fit(x, y, N, F, is_cat, n_cat, &one, &rounds, err))) fail_msg("%s", err);
        total += rounds;
    }
    o.bag = BAG;
    tree_ensemble *bag = gbt_fit(x, y, N, F, is_cat, n_cat, &o, &rounds, err);
    if (!bag) fail_msg("%s", err);
    assert_int_equal(rounds, total);
    assert_int_equal(bag->n_trees, (size_t)total);
    assert_false(same_ensemble(member[0], member[1])); /* the members differ */
    for (int r = 0; r < 200; r++) {
        double mean = 0;
        for (int k = 0; k < BAG; k++) mean += predict_row(member[k], x + r * F) / BAG;
        assert_float_equal(predict_row(bag, x + r * F), mean, 1e-5);
    }
    o.bag = GBT_MAX_BAG + 1; /* out of range: refused, not clamped */
    assert_null(gbt_fit(x, y, N, F, is_cat, n_cat, &o, &rounds, err));
    assert_non_null(strstr(err, "bag"));
    for (int k = 0; k < BAG; k++) member[k]->base.ops->free(&member[k]->base);
    bag->base.ops->free(&bag->base);
    free(x);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_root_split_is_the_best),
        cmocka_unit_test(test_missing_values_route_by_learned_direction),
        cmocka_unit_test(test_multiclass_softmax),
        cmocka_unit_test(test_categorical_partition),
        cmocka_unit_test(test_deterministic_across_runs_and_threads),
        cmocka_unit_test(test_bag_is_the_mean_of_its_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
