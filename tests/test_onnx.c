/* onnx: the ONNX reader on the graphs committed as fuzz seeds (made by
 * tests/oracles/make_onnx.py --seeds and make_ops.py; the three refused ones
 * are inputs fuzz_model found, kept as seeds): each is compiled or run as a
 * graph as expected, both readings of it agree on the probe rows, and a file
 * that cannot be served is refused with the node and what is wrong. Answers
 * against ONNX Runtime are test_import.py's (it has the oracles). */
#include "guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/files.h"
#include "formats/open.h"
#include "formats/probe.h"
#include "model/model.h"

#define SEEDS "fuzz/corpus/model/"

static const char *runs_as(const model *m)
{
    return json_string_value(json_object_get(json_object_get(m->metadata, "source"), "runs_as"));
}

static void test_each_seed_reads_one_way_and_both_ways_agree(void **state)
{
    (void)state;
    static const struct {
        const char *file, *runs_as;
        int n_inputs;
    } cases[] = {
        {"onnx-dense.onnx", "compiled", 2},        /* Gemm + activation layers: the MLP */
        {"onnx-embed.onnx", "compiled", 2},        /* an embedding table folded into the first layer */
        {"onnx-pipeline.onnx", "compiled", 3},     /* Imputer, Scaler, OneHotEncoder, a linear classifier */
        {"onnx-select.onnx", "compiled", 3},       /* ArrayFeatureExtractor before the estimator */
        {"onnx-trees.onnx", "compiled", 2},        /* TreeEnsembleClassifier */
        {"onnx-graph.onnx", "graph", 2},           /* Where on a computed condition: only as a graph */
        {"onnx-tree-ensemble.onnx", "graph", 4},   /* ai.onnx.ml 5 TreeEnsemble: the interpreter's */
        {"onnx-half-network.onnx", "graph", 4},    /* float16 input, weights and answer */
        {"onnx-float16-weights.onnx", "graph", 4}, /* float16 and bfloat16 weights cast up */
    };
    import_limits as_written = IMPORT_LIMITS_DEFAULT;
    as_written.onnx_graph = 1;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char path[256], err[ERR_LEN], why[512] = "";
        snprintf(path, sizeof path, SEEDS "%s", cases[k].file);
        model *m = model_open(path, NULL, NULL, err);
        if (!m) fail_msg("%s: %s", cases[k].file, err);
        if ((int)m->schema.n_inputs != cases[k].n_inputs)
            fail_msg("%s: %zu inputs", cases[k].file, m->schema.n_inputs);
        const char *how = runs_as(m);
        if (!how || strcmp(how, cases[k].runs_as) != 0)
            fail_msg("%s: runs as %s", cases[k].file, how ? how : "?");
        model *g = model_open(path, NULL, &as_written, err);
        if (!g) fail_msg("%s as a graph: %s", cases[k].file, err);
        if (probe_agree(m, g, why, sizeof why) != 1)
            fail_msg("%s: the two readings differ: %s", cases[k].file, why);
        model_free(g);
        model_free(m);
    }
}

/* fuzz_model's finding: a LinearClassifier whose post_transform is gone answers
 * decision scores, which were served as a binary probability (a 1.7 for "the
 * probability that label is 1"); they are served as the score they are */
static void test_decision_scores_are_not_probabilities(void **state)
{
    (void)state;
    char err[ERR_LEN];
    model *m = model_open(SEEDS "onnx-linear-scores.onnx", NULL, NULL, err);
    if (!m) fail_msg("%s", err);
    assert_int_equal(m->output.task, TASK_REGRESSION);
    assert_string_equal(m->output.label, "score of class 1");
    assert_null(m->output.positive);
    model_free(m);
}

static void test_files_that_cannot_be_served_are_refused_by_node(void **state)
{
    (void)state;
    static const struct {
        const char *file, *error;
    } cases[] = {
        {"onnx-tree-ensemble-two-targets.onnx",
         "node \"(unnamed)\" (TreeEnsemble): the answer has 2 columns, the targets of a regressor"},
        {"onnx-input-without-shape.onnx", "node \"(unnamed)\" (Unsqueeze): has no outputs"},
        {"onnx-empty-raw-int64.onnx", "initializer \"I\" holds 0 values for 3 elements, or is damaged"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char path[256], err[ERR_LEN] = "";
        snprintf(path, sizeof path, SEEDS "%s", cases[k].file);
        model *m = model_open(path, NULL, NULL, err);
        if (m || !strstr(err, cases[k].error) || !strstr(err, cases[k].file))
            fail_msg("%s: %s", cases[k].file, m ? "loaded" : err);
        model_free(m);
    }
}

/* Every prefix of a good file is refused (never a model from half a graph). */
static void test_truncated_files_are_refused(void **state)
{
    (void)state;
    char err[ERR_LEN];
    size_t len;
    char *buf;
    assert_int_equal(file_read_all(SEEDS "onnx-pipeline.onnx", &buf, &len, err), 0);
    for (size_t cut = 1; cut < len; cut += len / 97 + 1) {
        model *m = model_open_buffer(buf, cut, "cut.onnx", NULL, err);
        if (m) fail_msg("the first %zu of %zu bytes loaded", cut, len);
    }
    model *whole = model_open_buffer(buf, len, "whole.onnx", NULL, err);
    assert_non_null(whole);
    model_free(whole);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_seed_reads_one_way_and_both_ways_agree),
        cmocka_unit_test(test_decision_scores_are_not_probabilities),
        cmocka_unit_test(test_files_that_cannot_be_served_are_refused_by_node),
        cmocka_unit_test(test_truncated_files_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
