/* encode: JSON and text inputs to feature vectors; missing, unknown, mistyped values. */
#include "guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>

#include "formats/default_model.h"
#include "model/encode.h"
#include "base/err.h"
#include "base/files.h"
#include "base/jsonx.h"
#include "base/numtext.h"

static model *m; /* the default Titanic model: Age, Fare, Sex, Embarked, Pclass */

static int setup(void **state)
{
    (void)state;
    char err[ERR_LEN];
    m = model_load_default(err);
    return m ? 0 : -1;
}
static int teardown(void **state)
{
    (void)state;
    model_free(m);
    return 0;
}

static int encode(const char *json, float *x, int *bad, char *err)
{
    json_error_t jerr;
    json_t *obj = json_loads(json, 0, &jerr);
    assert_non_null(obj);
    int rc = encode_json(m, obj, "$", ENCODE_STRICT, x, bad, err);
    json_decref(obj);
    return rc;
}

/* The k-th feature that reads input `name`, and a step of it. */
static const feature *feature_of(const char *name, int k)
{
    for (size_t i = 0; i < m->features.n; i++)
        if (strcmp(m->schema.inputs[m->features.f[i].input].name, name) == 0 && k-- == 0)
            return &m->features.f[i];
    fail();
    return NULL;
}
static const feature_step *step_of(const feature *f, step_op op)
{
    for (int k = 0; k < f->n_steps; k++)
        if (f->steps[k].op == op) return &f->steps[k];
    fail();
    return NULL;
}

static void test_seed_passenger(void **state)
{
    (void)state;
    float x[64];
    int bad;
    char err[ERR_LEN];
    assert_int_equal(
        encode("{\"Age\": 22, \"Fare\": 7.25, \"Embarked\": \"S\", \"Sex\": \"male\", \"Pclass\": 3}", x,
               &bad, err),
        0);
    const feature *age = feature_of("Age", 0), *fare = feature_of("Fare", 0), *sex = feature_of("Sex", 0),
                  *pc = feature_of("Pclass", 0);
    const feature_step *age_z = step_of(age, STEP_STANDARDIZE), *fare_z = step_of(fare, STEP_STANDARDIZE);
    assert_float_equal(x[age->offset], (22 - age_z->a) / age_z->b, 1e-5);
    assert_float_equal(x[feature_of("Age", 1)->offset], 0, 0); /* not missing */
    assert_float_equal(x[fare->offset], (log1p(7.25) - fare_z->a) / fare_z->b, 1e-5);
    assert_float_equal(x[sex->offset], 0, 0);     /* female */
    assert_float_equal(x[sex->offset + 1], 1, 0); /* male */
    assert_float_equal(x[pc->offset + 2], 1, 0);
}

static void test_missing_and_null_impute(void **state)
{
    (void)state;
    float x1[64], x2[64];
    int bad;
    char err[ERR_LEN];
    assert_int_equal(encode("{\"Fare\": 7.25, \"Sex\": \"male\", \"Pclass\": 3}", x1, &bad, err), 0);
    assert_int_equal(
        encode("{\"Age\": null, \"Fare\": 7.25, \"Embarked\": null, \"Sex\": \"male\", \"Pclass\": 3}", x2,
               &bad, err),
        0);
    assert_memory_equal(x1, x2, (size_t)m->n_features * sizeof(float));
    const feature *age = feature_of("Age", 0), *emb = feature_of("Embarked", 0);
    const feature_step *age_z = step_of(age, STEP_STANDARDIZE);
    assert_float_equal(x1[age->offset], (step_of(age, STEP_IMPUTE)->a - age_z->a) / age_z->b, 1e-5);
    assert_float_equal(x1[feature_of("Age", 1)->offset], 1, 0); /* missing indicator */
    assert_float_equal(x1[emb->offset + (int)step_of(emb, STEP_IMPUTE)->a], 1, 0);
}

static void test_errors_name_the_field(void **state)
{
    (void)state;
    float x[64];
    int bad;
    char err[ERR_LEN];
    struct {
        const char *json, *field, *msg;
    } cases[] = {
        {"{\"Age\": \"old\", \"Fare\": 1, \"Sex\": \"male\", \"Pclass\": 3}", "Age",
         "$.Age: expected a number, got a string"},
        {"{\"Age\": \"22\", \"Fare\": 1, \"Sex\": \"male\", \"Pclass\": 3}", "Age",
         "expected a number, got a string"},
        {"{\"Age\": true, \"Fare\": 1, \"Sex\": \"male\", \"Pclass\": 3}", "Age", "got a boolean"},
        {"{\"Age\": 1, \"Fare\": 1, \"Sex\": \"robot\", \"Pclass\": 3}", "Sex",
         "$.Sex: unknown category \"robot\"; accepted values: \"female\", \"male\""},
        {"{\"Age\": 1, \"Fare\": 1, \"Sex\": \"male\", \"Pclass\": 4}", "Pclass",
         "unknown category 4; accepted values: 1, 2, 3"},
        {"{\"Age\": 1, \"Fare\": 1, \"Sex\": \"male\", \"Pclass\": 2.5}", "Pclass",
         "expected an integer (one of the categories), got a fractional number"},
        {"{\"Age\": 1, \"Fare\": 1, \"Sex\": \"male\", \"Pclass\": \"3\"}", "Pclass", "got a string"},
        {"{\"Age\": 1, \"Fare\": 1, \"Pclass\": 3}", "Sex", "$.Sex: missing required field \"Sex\""},
        {"{\"Age\": 1, \"Fare\": 1, \"Sex\": null, \"Pclass\": 3}", "Sex", "missing required field"},
        {"{\"Age\": 1, \"Fare\": 1, \"Sex\": \"male\", \"Pclass\": 3, \"Embarked\": 1}", "Embarked",
         "expected a string"},
        /* a bare Infinity token as the exchange rewrites it: the blend's MLP has no answer */
        {"{\"Age\": 1, \"Fare\": -" JSON_INFINITY_TEXT ", \"Sex\": \"male\", \"Pclass\": 3}", "Fare",
         "$.Fare: this model has no answer for an infinity (its blend predictor computes with the value; "
         "trees "
         "and linear models take one): send a finite number"},
        {"{\"Age\": 1e300, \"Fare\": 1, \"Sex\": \"male\", \"Pclass\": 3}", "Age",
         "$.Age: 1e+300 is out of range: the model's feature steps turn it into a number beyond 32-bit "
         "float"},
        {"{\"Age\": 1, \"Fare\": 1, \"Sex\": \"male\", \"Pclass\": " JSON_INFINITY_TEXT "}", "Pclass",
         "$.Pclass: expected an integer (one of the categories), got an infinity"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(encode(cases[i].json, x, &bad, err), -1);
        if (!strstr(err, cases[i].msg)) fprintf(stderr, "case %zu: %s\n", i, err);
        assert_non_null(strstr(err, cases[i].msg));
        assert_true(bad >= 0);
        assert_string_equal(m->schema.inputs[bad].name, cases[i].field);
    }
    assert_int_equal(encode("[1, 2]", x, &bad, err), -1);
    assert_int_equal(bad, -1);
    assert_non_null(strstr(err, "expected an object"));
}

static void test_integer_category_accepts_3_0(void **state)
{
    (void)state;
    float a[64], b[64];
    int bad;
    char err[ERR_LEN];
    assert_int_equal(encode("{\"Age\": 1, \"Fare\": 1, \"Sex\": \"male\", \"Pclass\": 3}", a, &bad, err), 0);
    assert_int_equal(encode("{\"Age\": 1, \"Fare\": 1, \"Sex\": \"male\", \"Pclass\": 3.0}", b, &bad, err),
                     0);
    assert_memory_equal(a, b, (size_t)m->n_features * sizeof(float));
}

static void test_text_matches_json(void **state)
{
    (void)state;
    float a[64], b[64];
    int bad;
    char err[ERR_LEN];
    assert_int_equal(
        encode("{\"Age\": 22, \"Fare\": 7.25, \"Embarked\": \"S\", \"Sex\": \"male\", \"Pclass\": 3}", a,
               &bad, err),
        0);
    const char *vals[] = {"22", "7.25", "male", "S", "3"}; /* model order: Age, Fare, Sex, Embarked, Pclass */
    size_t lens[] = {2, 4, 4, 1, 1};
    assert_int_equal(encode_text(m, vals, lens, b, &bad, err), 0);
    assert_memory_equal(a, b, (size_t)m->n_features * sizeof(float));
    const char *bad_vals[] = {"22", "cheap", "male", "S", "3"};
    size_t bad_lens[] = {2, 5, 4, 1, 1};
    assert_int_equal(encode_text(m, bad_vals, bad_lens, b, &bad, err), -1);
    assert_string_equal(err, "column Fare: \"cheap\" is not a finite number");
    const char *inf_vals[] = {"inf", "1", "male", "S", "3"};
    size_t inf_lens[] = {3, 1, 4, 1, 1};
    assert_int_equal(encode_text(m, inf_vals, inf_lens, b, &bad, err), -1);
    assert_int_equal(bad, 0);
    const char *miss_vals[] = {"22", "1", "", "S", "3"};
    size_t miss_lens[] = {2, 1, 0, 1, 1};
    assert_int_equal(encode_text(m, miss_vals, miss_lens, b, &bad, err), -1);
    assert_string_equal(err, "column Sex: missing required value");
}

/* The request fast path either declines (jansson then answers) or encodes
 * exactly what jansson + encode_json encode, bit for bit. */
static void test_fast_path_matches_jansson(void **state)
{
    (void)state;
    const char *taken[] = {
        "{\"Age\": 22, \"Fare\": 7.25, \"Embarked\": \"S\", \"Sex\": \"male\", \"Pclass\": 3}",
        " \r\n\t{\"Pclass\":1,\"Sex\":\"female\",\"Age\":null,\"Fare\":512.3292}\n",
        "{\"Age\": -0, \"Fare\": 0.0, \"Sex\": \"male\", \"Pclass\": 3.0, \"Embarked\": null}",
        "{\"Age\": 2.5e1, \"Fare\": 1E-400, \"Sex\": \"male\", \"Pclass\": 2}",
        "{\"Age\": 123456789012345678, \"Fare\": -7.25e+2, \"Sex\": \"male\", \"Pclass\": 2}",
        "{\"Fare\": 7.25, \"Sex\": \"male\", \"Pclass\": 3}", /* Age, Embarked imputed */
    };
    for (size_t i = 0; i < sizeof taken / sizeof *taken; i++) {
        float fast[64], slow[64];
        int bad;
        char err[ERR_LEN];
        memset(fast, 0xa5, sizeof fast); /* anything not written would show */
        assert_int_equal(encode_json_fast(m, taken[i], strlen(taken[i]), fast), 0);
        assert_int_equal(encode(taken[i], slow, &bad, err), 0);
        assert_memory_equal(fast, slow, (size_t)m->n_features * sizeof(float));
    }
    const char *declined[] = {
        "",
        "[{\"Age\": 22, \"Fare\": 7.25, \"Sex\": \"male\", \"Pclass\": 3}]", /* batches go to jansson */
        "{\"Age\": 22, \"Age\": 23, \"Fare\": 7.25, \"Sex\": \"male\", \"Pclass\": 3}", /* duplicate */
        "{\"Name\": \"x\", \"Fare\": 7.25, \"Sex\": \"male\", \"Pclass\": 3}",          /* other member */
        "{\"Fare\": 7.25, \"Sex\": \"m\\u0061le\", \"Pclass\": 3}",                     /* escape */
        "{\"Fare\": 7.25, \"Sex\": \"m\xc3\xa4le\", \"Pclass\": 3}",                    /* non-ASCII */
        "{\"Fare\": 07.25, \"Sex\": \"male\", \"Pclass\": 3}",                          /* leading zero */
        "{\"Fare\": .5, \"Sex\": \"male\", \"Pclass\": 3}",
        "{\"Fare\": 1., \"Sex\": \"male\", \"Pclass\": 3}",
        "{\"Fare\": +1, \"Sex\": \"male\", \"Pclass\": 3}",
        "{\"Fare\": 1e, \"Sex\": \"male\", \"Pclass\": 3}",
        "{\"Fare\": 1e999, \"Sex\": \"male\", \"Pclass\": 3}",               /* overflow */
        "{\"Fare\": 1234567890123456789, \"Sex\": \"male\", \"Pclass\": 3}", /* 19 digits */
        "{\"Fare\": NaN, \"Sex\": \"male\", \"Pclass\": 3}",
        "{\"Fare\": 1, \"Sex\": \"male\", \"Pclass\": 3} x", /* trailing text */
        "{\"Fare\": 1, \"Sex\": \"male\", \"Pclass\": 3,}",
        "{\"Fare\": 1 \"Sex\": \"male\", \"Pclass\": 3}",
        "{\"Fare\": 1, \"Sex\": \"male\", \"Pclass\": 3",
        "{\"Fare\": 1, \"Sex\": \"robot\", \"Pclass\": 3}", /* errors: jansson's words */
        "{\"Fare\": 1, \"Sex\": \"male\", \"Pclass\": 2.5}",
        "{\"Fare\": \"1\", \"Sex\": \"male\", \"Pclass\": 3}",
        "{\"Fare\": true, \"Sex\": \"male\", \"Pclass\": 3}",
        "{\"Fare\": 1, \"Pclass\": 3}", /* missing required */
        "{\"Fare\": nul, \"Sex\": \"male\", \"Pclass\": 3}",
        "{\"Fare\": {}, \"Sex\": \"male\", \"Pclass\": 3}",
    };
    for (size_t i = 0; i < sizeof declined / sizeof *declined; i++) {
        float x[64];
        if (encode_json_fast(m, declined[i], strlen(declined[i]), x) != -1)
            fprintf(stderr, "taken, should be declined: %s\n", declined[i]);
        assert_int_equal(encode_json_fast(m, declined[i], strlen(declined[i]), x), -1);
    }
    /* the length bounds the text: every prefix of a request, placed flush
     * against a PROT_NONE page, is declined without reading past its end */
    const char *seed =
        "{\"Fare\": 7.25, \"Sex\": \"male\", \"Pclass\": 3, \"Age\": null, \"Embarked\": \"S\"}";
    float x[64];
    for (size_t n = 0; n < strlen(seed); n++) {
        guarded g = guard_copy(seed, n);
        assert_int_equal(encode_json_fast(m, g.data, n, x), -1);
        guard_free(&g);
    }
    guarded g = guard_copy(seed, strlen(seed));
    assert_int_equal(encode_json_fast(m, g.data, strlen(seed), x), 0);
    guard_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_passenger),        cmocka_unit_test(test_missing_and_null_impute),
        cmocka_unit_test(test_errors_name_the_field), cmocka_unit_test(test_integer_category_accepts_3_0),
        cmocka_unit_test(test_text_matches_json),     cmocka_unit_test(test_fast_path_matches_jansson),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
