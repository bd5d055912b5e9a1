/* model: loading the default model, every kind of damaged file, save/load round trip. */
#include "guard.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "formats/default_model.h"
#include "estimators/linear.h"
#include "estimators/blend.h"
#include "estimators/mlp.h"
#include "estimators/trees.h"
#include "estimators/normalize.h"
#include "model/model.h"
#include "base/err.h"
#include "base/files.h"
#include "base/numtext.h"

#include "tiny_model.h"
#include "formats/tabserve.h"
#include "estimators/estimators.h"
#define tiny tiny_model_json

static model *load_text(const char *text, char *err)
{
    guarded g = guard_copy(text, strlen(text));
    model *m = model_load_buffer(g.data, strlen(text), "t.json", err);
    guard_free(&g);
    return m;
}

/* Loads tiny with `from` replaced by `to`, expecting failure with `want` in the message. */
static void expect_error(const char *from, const char *to, const char *want)
{
    char text[4096], err[ERR_LEN] = "";
    const char *at = strstr(tiny, from);
    assert_non_null(at);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - tiny), tiny, to, at + strlen(from));
    model *m = load_text(text, err);
    if (m || !strstr(err, want)) fprintf(stderr, "for %s -> %s got: %s\n", from, to, err);
    assert_null(m);
    assert_non_null(strstr(err, want));
}

static void test_tiny_loads(void **state)
{
    (void)state;
    char err[ERR_LEN];
    model *m = load_text(tiny, err);
    assert_non_null(m);
    assert_int_equal(m->n_features, 3);
    assert_int_equal(m->features.f[1].offset, 1);
    assert_string_equal(m->output.label, "y");
    model_free(m);
}

static void test_default_model_loads(void **state)
{
    (void)state;
    char err[ERR_LEN];
    model *m = model_load_default(err);
    assert_non_null(m);
    assert_int_equal(m->schema.n_inputs, 5);
    assert_string_equal(m->schema.inputs[0].name, "Age");
    assert_string_equal(m->output.label, "Survived");
    assert_non_null(json_object_get(m->metadata, "cross_validation"));
    model_free(m);
}

static void test_truncated(void **state)
{
    (void)state;
    char err[ERR_LEN];
    for (size_t cut = 0; cut < strlen(tiny); cut += 7) {
        char *text = strndup(tiny, cut);
        model *m = load_text(text, err);
        assert_null(m);
        assert_non_null(strstr(err, "t.json"));
        free(text);
    }
    expect_error("\"label\":\"y\"}}", "\"label\":\"y\"}", "invalid JSON");
}

static void test_wrong_shapes(void **state)
{
    (void)state;
    expect_error("[[0.5],[1],[-1]]", "[[0.5],[1]]",
                 "$.network.layers[0].weights: has 2 rows, but its input is 3 wide");
    expect_error("[[0.5],[1],[-1]]", "[[0.5],[1,2],[-1]]",
                 "$.network.layers[0].weights[1]: expected 1 numbers, got 2");
    expect_error("\"bias\":[0.25]", "\"bias\":[0.25,1]", "weights[0]: expected 2 numbers, got 1");
    expect_error("\"activation\":\"sigmoid\"", "\"activation\":\"relu\"",
                 "the last layer must have 1 unit and a sigmoid");
}

static void test_bad_numbers(void **state)
{
    (void)state;
    /* JSON has no NaN literal: jansson refuses it, and a huge literal overflows */
    expect_error("[0.5]", "[NaN]", "invalid JSON");
    expect_error("[0.5]", "[1e999]", "invalid JSON");
    expect_error("[0.5]", "[1e300]", "$.network.layers[0].weights[0]: [0]: expected a finite 32-bit number");
    expect_error("[0.5]", "[\"0.5\"]", "expected a finite 32-bit number, got a string");
    expect_error("\"std\":2", "\"std\":0", "$.inputs[0].normalize: member \"std\" must be positive");
}

static void test_bad_schema(void **state)
{
    (void)state;
    expect_error(
        "\"sigmoid\"", "\"swish\"",
        "member \"activation\" is \"swish\", expected one of \"linear\", \"relu\", \"tanh\", \"sigmoid\"");
    expect_error("\"kind\":\"numeric\"", "\"kind\":\"text\"", "$.inputs[0]: member \"kind\" is \"text\"");
    expect_error("\"format_version\":1", "\"format_version\":9", "version 9 is not supported");
    expect_error("[\"a\",\"b\"]", "[\"a\",\"a\"]", "duplicate value \"a\"");
    expect_error("\"name\":\"c\"", "\"name\":\"x\"", "duplicate input name \"x\"");
    expect_error("\"name\":\"predict\"", "\"name\":\"score\"", "$.output.name: expected \"predict\"");
    expect_error("\"missing\":{\"rule\":\"required\"}", "\"missing\":{\"rule\":\"impute\",\"value\":\"z\"}",
                 "must be one of the vocabulary's values");
}

static void test_save_load_round_trip(void **state)
{
    (void)state;
    char err[ERR_LEN], path[] = "/tmp/tabserve-test-model-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    model *m = model_load_default(err);
    assert_non_null(m);
    assert_int_equal(model_save(m, path, err), 0);
    model *again = model_load_file(path, err);
    assert_non_null(again);
    assert_string_equal(m->hash, again->hash);
    /* the default model is a blend: its MLP's weights and its trees come back bit for bit */
    assert_string_equal(m->predictor->ops->kind, "blend");
    const blend *ba = (const blend *)m->predictor, *bb = (const blend *)again->predictor;
    assert_int_equal(ba->n_members, 2);
    assert_int_equal(bb->n_members, 2);
    assert_true(ba->members[0].weight == bb->members[0].weight &&
                ba->members[1].offset == bb->members[1].offset);
    const mlp *a = (const mlp *)ba->members[0].p, *b = (const mlp *)bb->members[0].p;
    assert_string_equal(ba->members[0].p->ops->kind, "mlp");
    assert_memory_equal(a->layers[1].w, b->layers[1].w,
                        (size_t)a->layers[1].n_in * a->layers[1].n_out * sizeof(float));
    const tree_ensemble *ta = (const tree_ensemble *)ba->members[1].p,
                        *tb = (const tree_ensemble *)bb->members[1].p;
    assert_string_equal(ba->members[1].p->ops->kind, "trees");
    assert_int_equal(ta->n_trees, tb->n_trees);
    for (size_t t = 0; t < ta->n_trees; t++) {
        int n = ta->trees[t].n_nodes;
        assert_int_equal(n, tb->trees[t].n_nodes);
        assert_memory_equal(ta->trees[t].threshold, tb->trees[t].threshold, (size_t)n * sizeof(float));
        assert_memory_equal(ta->trees[t].value, tb->trees[t].value, (size_t)n * sizeof(float));
        assert_memory_equal(ta->trees[t].feature, tb->trees[t].feature, (size_t)n * sizeof(int));
    }
    /* a changed weight no longer matches the stored content hash */
    char *text;
    size_t len;
    assert_int_equal(file_read_all(path, &text, &len, err), 0);
    char *bias = strstr(text, "\"bias\"");
    assert_non_null(bias);
    char *digit = strpbrk(bias, "123456789");
    *digit = *digit == '9' ? '8' : (char)(*digit + 1);
    model *tampered = model_load_buffer(text, len, "tampered.json", err);
    assert_null(tampered);
    assert_non_null(strstr(err, "content_hash"));
    free(text);
    unlink(path);
    model_free(again);
    model_free(m);
}

/* The normalize predictor: each norm on exact values, ONNX Runtime's rules for
 * a zero norm and a missing value, and its JSON read back to the same thing. */
static void test_normalize_predictor(void **state)
{
    (void)state;
    /* identity weights on 4 columns, 4 outputs: y is the normalized row */
    float w[16] = {0}, b[4] = {0};
    for (int j = 0; j < 4; j++) w[j * 4 + j] = 1;
    int cols[3] = {2, 0, 1}; /* column 3 passes unchanged */
    const float x[5][4] = {{-1, -2, -4, 7}, {3, -4, 0, 7}, {0, 0, 0, 7}, {NAN, 1, 2, 7}, {3, NAN, 1, 7}};
    struct {
        norm_kind k;
        float want[5][4];
    } cases[] = {
        {NORM_MAX,
         {{1, 2, 4, 7}, {1, -4.0f / 3, 0, 7}, {0, 0, 0, 7}, {NAN, NAN, NAN, 7}, {1, NAN, 1.0f / 3, 7}}},
        {NORM_L1,
         {{-1.0f / 7, -2.0f / 7, -4.0f / 7, 7},
          {3.0f / 7, -4.0f / 7, 0, 7},
          {0, 0, 0, 7},
          {NAN, NAN, NAN, 7},
          {NAN, NAN, NAN, 7}}},
        {NORM_L2,
         {{-1 / sqrtf(21), -2 / sqrtf(21), -4 / sqrtf(21), 7},
          {0.6f, -0.8f, 0, 7},
          {0, 0, 0, 7},
          {NAN, NAN, NAN, 7},
          {NAN, NAN, NAN, 7}}},
    };
    char err[ERR_LEN];
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        normalize *z = normalize_create(linear_create(4, 4, w, b), cases[c].k, cols, 3);
        assert_non_null(z);
        assert_int_equal(z->base.ops->prepare(&z->base, err), 0);
        float y[5][4], *scratch = malloc(z->base.ops->scratch_floats(&z->base, 5) * sizeof(float) + 1);
        z->base.ops->predict(&z->base, &x[0][0], 5, scratch, &y[0][0]);
        for (int r = 0; r < 5; r++)
            for (int j = 0; j < 4; j++) {
                if (isnan(cases[c].want[r][j]))
                    assert_true(isnan(y[r][j]));
                else
                    assert_float_equal(y[r][j], cases[c].want[r][j], 1e-6);
            }
        /* written and read back: the same kind, columns and hash */
        json_t *j = z->base.ops->to_json(&z->base, 1);
        reader rd = {"t.json", err};
        predictor *again = estimators_read(&rd, j, "$.predictor");
        assert_non_null(again);
        assert_string_equal(again->ops->kind, "normalize");
        fnv h1 = FNV_INIT, h2 = FNV_INIT;
        z->base.ops->hash(&z->base, &h1);
        again->ops->hash(again, &h2);
        assert_true(h1.h == h2.h);
        /* a bad norm name is refused with its place */
        json_object_set_new(j, "norm", json_string("L3"));
        assert_null(estimators_read(&rd, j, "$.predictor"));
        assert_non_null(strstr(err, "$.predictor.norm"));
        json_decref(j);
        predictor_free(again);
        predictor_free(&z->base);
        free(scratch);
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    char err[ERR_LEN];
    assert_null(model_load_file("/nonexistent/model.json", err));
    assert_non_null(strstr(err, "/nonexistent/model.json: No such file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_loads),
        cmocka_unit_test(test_default_model_loads),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_wrong_shapes),
        cmocka_unit_test(test_bad_numbers),
        cmocka_unit_test(test_bad_schema),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_normalize_predictor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
