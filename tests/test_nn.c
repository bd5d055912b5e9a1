/* nn: the forward pass against hand-computed values; batch == row by row. */
#include "guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "formats/default_model.h"
#include "estimators/mlp.h"
#include "model/model.h"
#include "tiny_model.h"
#include "base/err.h"
#include "base/files.h"
#include "base/numtext.h"
#include "formats/tabserve.h"

static void test_dense_by_hand(void **state)
{
    (void)state;
    /* x (2, 3) @ w (3, 2) + b (2,) */
    const float x[] = {1, 2, 3, -1, 0, 1};
    const float w[] = {1, -1, 0.5f, 2, -2, 0};
    const float b[] = {0.5f, -3};
    float y[4];
    nn_kernels k = nn_kernels_pick();
    nn_dense(&k, y, x, w, b, 2, 3, 2, ACT_LINEAR);
    /* row 0: 1*1 + 2*0.5 + 3*-2 + 0.5 = -3.5 ; 1*-1 + 2*2 + 0 - 3 = 0 */
    assert_float_equal(y[0], -3.5, 1e-6);
    assert_float_equal(y[1], 0, 1e-6);
    /* row 1: -1 + 0 - 2 + 0.5 = -2.5 ; 1 + 0 + 0 - 3 = -2 */
    assert_float_equal(y[2], -2.5, 1e-6);
    assert_float_equal(y[3], -2, 1e-6);
    nn_dense(&k, y, x, w, b, 2, 3, 2, ACT_RELU);
    assert_float_equal(y[0], 0, 0);
    assert_float_equal(y[1], 0, 0);
    nn_dense(&k, y, x, w, b, 2, 3, 2, ACT_TANH);
    assert_float_equal(y[0], tanh(-3.5), 1e-6);
    nn_dense(&k, y, x, w, b, 2, 3, 2, ACT_SIGMOID);
    assert_float_equal(y[2], 1 / (1 + exp(2.5)), 1e-6);
}

static void test_tiny_model_forward(void **state)
{
    (void)state;
    char err[ERR_LEN];
    model *m = model_load_buffer(tiny_model_json, strlen(tiny_model_json), "tiny", err);
    assert_non_null(m);
    /* x = 3 -> (3 - 1) / 2 = 1; c = b -> (0, 1); z = 0.5 - 1 + 0.25 = -0.25 */
    float x[3] = {1, 0, 1}, scratch[64], p;
    model_predict(m, x, 1, scratch, &p);
    assert_float_equal(p, 1 / (1 + exp(0.25)), 1e-7);
    model_free(m);
}

static void test_sigmoid_extremes(void **state)
{
    (void)state;
    assert_float_equal(link_sigmoid(-1000), 0, 0);
    assert_float_equal(link_sigmoid(1000), 1, 0);
    assert_float_equal(link_sigmoid(0), 0.5, 0);
}

/* Random shapes that are not multiples of the tile: the blocked kernel must
 * agree with a plain triple loop. */
static void test_blocked_matches_naive(void **state)
{
    (void)state;
    int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {4, 32, 32}, {9, 10, 33}, {17, 128, 65}, {1024, 10, 128}};
    uint32_t seed = 7;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int n = shapes[s][0], n_in = shapes[s][1], n_out = shapes[s][2];
        float *x = malloc((size_t)n * n_in * 4), *w = malloc((size_t)n_in * n_out * 4);
        float *b = malloc((size_t)n_out * 4), *y = malloc((size_t)n * n_out * 4);
        for (int i = 0; i < n * n_in; i++)
            x[i] = (float)((seed = seed * 1103515245 + 12345) >> 16) / 65536.0f - 0.5f;
        for (int i = 0; i < n_in * n_out; i++)
            w[i] = (float)((seed = seed * 1103515245 + 12345) >> 16) / 65536.0f - 0.5f;
        for (int i = 0; i < n_out; i++) b[i] = (float)i / n_out;
        nn_kernels k = nn_kernels_pick();
        nn_dense(&k, y, x, w, b, n, n_in, n_out, ACT_LINEAR);
        for (int r = 0; r < n; r++)
            for (int j = 0; j < n_out; j++) {
                double want = b[j];
                for (int i = 0; i < n_in; i++) want += (double)x[r * n_in + i] * w[i * n_out + j];
                assert_float_equal(y[r * n_out + j], want, 1e-4);
            }
        free(x);
        free(w);
        free(b);
        free(y);
    }
}

static void test_batch_equals_rows(void **state)
{
    (void)state;
    char err[ERR_LEN];
    model *m = model_load_default(err);
    assert_non_null(m);
    enum { N = 37 };
    float *x = malloc((size_t)N * m->n_features * 4), p[N], q;
    float *scratch = malloc(model_scratch_floats(m, N) * 4);
    for (int i = 0; i < N * m->n_features; i++) x[i] = (float)((i * 7919) % 13) / 6.0f - 1;
    model_predict(m, x, N, scratch, p);
    for (int r = 0; r < N; r++) {
        model_predict(m, x + (size_t)r * m->n_features, 1, scratch, &q);
        assert_memory_equal(&p[r], &q, sizeof q); /* one summation order: the same bits */
        assert_true(q > 0 && q < 1);
    }
    free(x);
    free(scratch);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_by_hand),     cmocka_unit_test(test_tiny_model_forward),
        cmocka_unit_test(test_sigmoid_extremes),  cmocka_unit_test(test_blocked_matches_naive),
        cmocka_unit_test(test_batch_equals_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
