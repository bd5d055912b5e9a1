/* XGBoost JSON read in two threads (import/xgb_json.c, import/xgboost.c): a
 * model over the size that takes the threads gives the same document, the same
 * model and the same messages as one thread. The documents are made here: 400
 * complete trees of depth 4 on 4 features (~1.5 MB), in XGBoost 1.7's layout. */
#define _GNU_SOURCE /* memmem */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "formats/open.h"
#include "formats/xgb_json.h"

enum { TREES = 400, NODES = 31, FEATURES = 4 };

typedef struct {
    char *s;
    size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (size_t)n + 1;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
}

/* One node array: f(tree, node) for every node. */
static void array(text *t, const char *name, int tree, double (*f)(int, int), int integer)
{
    put(t, "\"%s\":[", name);
    for (int i = 0; i < NODES; i++) put(t, integer ? "%s%.0f" : "%s%.8E", i ? "," : "", f(tree, i));
    put(t, "],");
}

static int leaf(int i) { return i >= NODES / 2; }
static double left_of(int t, int i) { return (void)t, leaf(i) ? -1 : 2 * i + 1; }
static double right_of(int t, int i) { return (void)t, leaf(i) ? -1 : 2 * i + 2; }
static double feature_of(int t, int i) { return (double)((t + i) % FEATURES); }
static double condition(int t, int i)
{
    return leaf(i) ? ((t * 7 + i * 13) % 101 - 50) / 400.0 : ((t * 3 + i * 5) % 17) / 4.0 - 2;
}
static double default_left(int t, int i) { return (double)((t + i) % 2); }
static double zero(int t, int i) { return (void)t, (void)i, 0; }
static double hessian(int t, int i) { return 1000.0 / (1 + i) + t; }

/* The document; trees bad_a and bad_b (-1: none) get children that are not node indexes. */
static text document(int bad_a, int bad_b)
{
    text t = {malloc(1 << 16), 0, 1 << 16};
    put(&t,
        "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
        "\"gradient_booster\":{\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":\"1\","
        "\"num_trees\":\"%d\",\"size_leaf_vector\":\"0\"},\"tree_info\":[",
        TREES);
    for (int k = 0; k < TREES; k++) put(&t, "%s0", k ? "," : "");
    put(&t, "],\"trees\":[");
    for (int k = 0; k < TREES; k++) {
        put(&t, "%s{", k ? "," : "");
        array(&t, "base_weights", k, condition, 0);
        put(&t,
            "\"categories\":[],\"categories_nodes\":[],\"categories_segments\":[],\"categories_sizes\":[],");
        array(&t, "default_left", k, default_left, 1);
        put(&t, "\"id\":%d,", k);
        array(&t, "left_children", k, left_of, 1);
        array(&t, "loss_changes", k, zero, 0);
        array(&t, "parents", k, zero, 1);
        array(&t, "right_children", k, k == bad_a || k == bad_b ? hessian : right_of, 1);
        array(&t, "split_conditions", k, condition, 0);
        array(&t, "split_indices", k, feature_of, 1);
        array(&t, "split_type", k, zero, 1);
        array(&t, "sum_hessian", k, hessian, 0);
        put(&t,
            "\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"%d\",\"num_nodes\":\"%d\","
            "\"size_leaf_vector\":\"0\"}}",
            FEATURES, NODES);
    }
    put(&t,
        "]},\"name\":\"gbtree\"},\"learner_model_param\":{\"base_score\":\"5E-1\",\"boost_from_average\":"
        "\"1\","
        "\"num_class\":\"0\",\"num_feature\":\"%d\",\"num_target\":\"1\"},\"objective\":{\"name\":"
        "\"binary:logistic\",\"reg_loss_param\":{\"scale_pos_weight\":\"1\"}}},\"version\":[1,7,4]}",
        FEATURES);
    return t;
}

/* The same document as one thread must read it: a space after every comma
 * between trees, so no cut is found. */
static text spaced(const text *t)
{
    text out = {malloc(t->len * 2 + 1), 0, t->len * 2 + 1};
    for (size_t i = 0; i < t->len; i++) {
        out.s[out.len++] = t->s[i];
        if (i > 0 && t->s[i] == ',' && t->s[i - 1] == '}' && t->s[i + 1] == '{') out.s[out.len++] = ' ';
    }
    out.s[out.len] = 0;
    return out;
}

/* The document with each kept array as a jansson array of its numbers. */
static json_t *resolved(json_t *v, const xgb_arrays *a)
{
    if (xgb_is_kept(a, v)) {
        long n = xgb_count(a, v);
        double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
        assert_int_equal(xgb_numbers(a, v, d, (size_t)n, 0), 0);
        json_t *arr = json_array();
        for (long i = 0; i < n; i++) json_array_append_new(arr, isnan(d[i]) ? json_null() : json_real(d[i]));
        free(d);
        return arr;
    }
    json_t *out = json_is_object(v) ? json_object() : json_is_array(v) ? json_array() : json_deep_copy(v), *x;
    const char *k;
    size_t i;
    if (json_is_object(v)) json_object_foreach(v, k, x) json_object_set_new(out, k, resolved(x, a));
    if (json_is_array(v)) json_array_foreach(v, i, x) json_array_append_new(out, resolved(x, a));
    return out;
}

/* $.learner.gradient_booster.model.trees of a document */
static json_t *trees_of(json_t *doc)
{
    return json_object_get(
        json_object_get(json_object_get(json_object_get(doc, "learner"), "gradient_booster"), "model"),
        "trees");
}

static void test_two_threads_read_what_one_reads(void **state)
{
    (void)state;
    text doc = document(-1, -1), one = spaced(&doc);
    assert_true(doc.len > (1u << 20)); /* large enough for the threads */
    assert_non_null(memmem(doc.s, doc.len, "},{\"base_weights\":", 18));
    assert_null(memmem(one.s, one.len, "},{\"base_weights\":", 18));
    char err[ERR_LEN];
    int threads_a, threads_b;
    xgb_arrays *arrays_a, *arrays_b;
    json_t *a = xgb_json_load_threads(doc.s, doc.len, "m.json", err, &threads_a, &arrays_a),
           *b = xgb_json_load_threads(one.s, one.len, "m.json", err, &threads_b, &arrays_b);
    assert_non_null(a);
    assert_non_null(b);
    if (sysconf(_SC_NPROCESSORS_ONLN) > 1) assert_int_equal(threads_a, 2);
    assert_int_equal(threads_b, 1);
    json_t *ra = resolved(a, arrays_a), *rb = resolved(b, arrays_b);
    assert_true(json_equal(ra, rb));
    json_decref(ra);
    json_decref(rb);
    /* a kept array is the very value recorded: not an equal integer, not without its arrays */
    json_t *tree0 = json_array_get(trees_of(a), 0);
    json_t *left = json_object_get(tree0, "left_children");
    double d[NODES];
    assert_true(xgb_is_kept(arrays_a, left));
    assert_int_equal(xgb_count(arrays_a, left), NODES);
    assert_int_equal(xgb_numbers(arrays_a, left, d, NODES, 0), 0);
    assert_int_equal(d[0], 1); /* the root's left child */
    json_t *same = json_integer(json_integer_value(left));
    assert_false(xgb_is_kept(arrays_a, same));
    assert_int_equal(xgb_count(arrays_a, same), -1);
    assert_int_not_equal(xgb_numbers(arrays_a, same, d, NODES, 0), 0);
    json_decref(same);
    assert_false(xgb_is_kept(NULL, left));
    assert_int_not_equal(xgb_numbers(NULL, left, d, NODES, 0), 0);
    xgb_arrays_free(arrays_a);
    xgb_arrays_free(arrays_b);
    json_t *trees = trees_of(a);
    assert_int_equal(json_array_size(trees), TREES);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(trees, TREES - 1), "id")), TREES - 1);
    json_decref(a);
    json_decref(b);
    /* the models: the same content hash, and the same answer for a row */
    model *ma = model_open_buffer(doc.s, doc.len, "m.json", NULL, err);
    assert_non_null(ma);
    model *mb = model_open_buffer(one.s, one.len, "m.json", NULL, err);
    assert_non_null(mb);
    assert_string_equal(ma->hash, mb->hash);
    free(doc.s);
    free(one.s);
    model_free(ma);
    model_free(mb);
}

/* Two bad trees, one in each thread's share: the lower is reported, word for
 * word as one thread reports it; a syntax error after the cut is reported at
 * its byte, as one thread reports it. */
/* default_left as XGBoost 1.0 to 1.5 wrote it: true and false, read as 1 and 0
 * only where the caller takes them */
static void test_booleans_only_where_taken(void **state)
{
    (void)state;
    static const char doc[] = "{\"learner\":{\"gradient_booster\":{\"model\":{\"trees\":[{\"default_left\":"
                              "[true,false,1],\"left_children\":[1,false,-1]}]}}}}";
    char err[ERR_LEN];
    xgb_arrays *arrays;
    json_t *root = xgb_json_load(doc, sizeof doc - 1, "m.json", err, &arrays);
    assert_non_null(root);
    json_t *tree = json_array_get(trees_of(root), 0);
    double d[3];
    json_t *dl = json_object_get(tree, "default_left"), *lc = json_object_get(tree, "left_children");
    assert_int_equal(xgb_numbers(arrays, dl, d, 3, 1), 0);
    assert_true(d[0] == 1 && d[1] == 0 && d[2] == 1);
    assert_int_equal(xgb_numbers(arrays, dl, d, 3, 0), 1); /* 1 + the first boolean */
    assert_int_equal(xgb_numbers(arrays, lc, d, 3, 0), 2);
    xgb_arrays_free(arrays);
    json_decref(root);
}

static void test_messages_are_the_one_thread_messages(void **state)
{
    (void)state;
    char err[ERR_LEN], err_one[ERR_LEN];
    /* trees 3 and 6: read by different threads (k, k + 2, ...) */
    text both = document(6, 3), one = spaced(&both);
    assert_null(model_open_buffer(both.s, both.len, "m.json", NULL, err));
    assert_non_null(strstr(err, "trees[3]"));
    assert_null(model_open_buffer(one.s, one.len, "m.json", NULL, err_one));
    assert_string_equal(err, err_one);
    free(one.s);
    free(both.s);
    /* a stray byte in the last tree: the threads give up, one thread names the byte */
    text doc = document(-1, -1);
    char *last = strstr(doc.s, "\"id\":399,");
    assert_non_null(last);
    last[5] = '#';
    xgb_arrays *arrays = (xgb_arrays *)&arrays; /* set to NULL by the failure */
    assert_null(xgb_json_load(doc.s, doc.len, "m.json", err, &arrays));
    assert_null(arrays);
    char want[64];
    snprintf(want, sizeof want, "byte %zu: invalid JSON", (size_t)(last + 6 - doc.s)); /* the byte after it */
    assert_non_null(strstr(err, want));
    free(doc.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_threads_read_what_one_reads),
        cmocka_unit_test(test_messages_are_the_one_thread_messages),
        cmocka_unit_test(test_booleans_only_where_taken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
