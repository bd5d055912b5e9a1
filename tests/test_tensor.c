/* tensor: one Open Inference Protocol input tensor read element by element —
 * datatype names, shapes, JSON data flat and nested, the binary extension's
 * bytes, and each integer type's range. Named cases in tables. */
#include "guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "serve/tensor.h"

static void test_datatype_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        tensor_dtype want;
    } cases[] = {
        {"BOOL", DT_BOOL},        {"UINT8", DT_UINT8},      {"UINT64", DT_UINT64}, {"INT8", DT_INT8},
        {"INT32", DT_INT32},      {"INT64", DT_INT64},      {"FP32", DT_FP32},     {"FP64", DT_FP64},
        {"BYTES", DT_BYTES},      {"FP16", DT_UNSUPPORTED}, /* half floats are refused by name, not misread */
        {"BF16", DT_UNSUPPORTED}, {"fp32", DT_UNSUPPORTED}, /* the protocol's names are upper case */
        {"FP3", DT_UNSUPPORTED},  {"", DT_UNSUPPORTED},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        if (tensor_dtype_of(cases[k].name) != cases[k].want) fail_msg("datatype \"%s\"", cases[k].name);
        if (tensor_dtype_of_n(cases[k].name, strlen(cases[k].name)) != cases[k].want)
            fail_msg("datatype \"%s\" by length", cases[k].name);
    }
    assert_int_equal(tensor_dtype_of_n("FP32xyz", 4), DT_FP32); /* only the bytes given */
}

static void test_shapes(void **state)
{
    (void)state;
    static const struct {
        const char *name, *shape;
        long count;        /* -1: refused */
        const char *error; /* a part of the message */
    } cases[] = {
        {"one dimension", "[3]", 3, NULL},
        {"rows and columns", "[2, 4]", 8, NULL},
        {"no rows at all", "[0]", 0, NULL},
        {"three dimensions", "[1, 2, 3]", -1, "$.inputs[0].shape"},
        {"a negative size", "[-1]", -1, "$.inputs[0].shape"},
        {"not an array", "3", -1, "$.inputs[0].shape"},
        {"a size that is not an integer", "[1.5]", -1, "$.inputs[0].shape"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        json_t *shape = json_loads(cases[k].shape, JSON_DECODE_ANY, NULL);
        assert_non_null(shape);
        tensor_in t = {.dtype = DT_FP32};
        char err[ERR_LEN] = "";
        int rc = tensor_set_shape(&t, shape, "$.inputs[0]", err);
        json_decref(shape);
        if (cases[k].count >= 0 ? rc != 0 || t.count != cases[k].count
                                : rc == 0 || !strstr(err, cases[k].error))
            fail_msg("shape case \"%s\": rc %d, count %ld, \"%s\"", cases[k].name, rc, t.count, err);
    }
}

/* A tensor of this datatype and shape with JSON data; element k read into *v (a
 * string copied out: the JSON is freed here). */
static int read_json(const char *dtype, const char *shape, const char *data, long k, raw_value *v, char *err)
{
    json_t *s = json_loads(shape, 0, NULL), *d = json_loads(data, JSON_DECODE_ANY, NULL);
    tensor_in t = {.dtype = tensor_dtype_of(dtype), .dtype_name = dtype};
    int rc = tensor_set_shape(&t, s, "$.inputs[1]", err);
    if (rc == 0) rc = tensor_set_json(&t, d, "$.inputs[1]", err);
    if (rc == 0) rc = tensor_get(&t, k, v, 1, err);
    static char copy[64];
    if (rc == 0 && v->kind == RAW_STRING && v->len < sizeof copy) {
        memcpy(copy, v->str, v->len);
        v->str = copy;
    }
    json_decref(s);
    json_decref(d);
    return rc;
}

static void test_json_elements(void **state)
{
    (void)state;
    static const struct {
        const char *name, *dtype, *shape, *data;
        long k;
        int kind; /* RAW_*, or -1: refused */
        double number;
        const char *text; /* RAW_STRING's bytes, or a part of the error */
    } cases[] = {
        {"a float, flat", "FP32", "[3]", "[1.5, 2.5, 3.5]", 2, RAW_NUMBER, 3.5, NULL},
        {"nested as the shape", "INT64", "[2, 2]", "[[1, 2], [3, 4]]", 2, RAW_NUMBER, 3, NULL},
        {"flat data of a two-dimensional shape", "INT64", "[2, 2]", "[1, 2, 3, 4]", 3, RAW_NUMBER, 4, NULL},
        {"a string", "BYTES", "[2]", "[\"S\", \"male\"]", 1, RAW_STRING, 0, "male"},
        {"a boolean", "BOOL", "[1]", "[true]", 0, RAW_BOOL, 1, NULL},
        {"null is missing", "FP32", "[2]", "[null, 1]", 0, RAW_MISSING, 0, NULL},
        {"a string where a number belongs", "FP32", "[1]", "[\"7\"]", 0, -1, 0, "$.inputs[1].data[0]"},
        {"a number where a string belongs", "BYTES", "[1]", "[7]", 0, -1, 0, "$.inputs[1].data[0]"},
        {"fewer elements than the shape holds", "FP32", "[3]", "[1, 2]", 0, -1, 0, "the shape holds 3"},
        {"more elements than the shape holds", "FP32", "[1]", "[1, 2]", 0, -1, 0, "the shape holds 1"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        raw_value v = {0};
        char err[ERR_LEN] = "";
        int rc = read_json(cases[k].dtype, cases[k].shape, cases[k].data, cases[k].k, &v, err);
        int ok = cases[k].kind < 0 ? rc != 0 && strstr(err, cases[k].text)
                 : cases[k].kind == RAW_STRING
                     ? rc == 0 && (int)v.kind == RAW_STRING && v.len == strlen(cases[k].text) &&
                           memcmp(v.str, cases[k].text, v.len) == 0
                     : rc == 0 && (int)v.kind == cases[k].kind &&
                           (cases[k].kind == RAW_MISSING || v.number == cases[k].number);
        if (!ok)
            fail_msg("JSON case \"%s\": rc %d, kind %d, %g, \"%s\"", cases[k].name, rc, v.kind, v.number,
                     err);
    }
}

static void test_binary_elements(void **state)
{
    (void)state;
    char err[ERR_LEN];
    /* FP32 little endian: 1.5 and -2 */
    const unsigned char fp32[] = {0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0};
    json_t *shape = json_loads("[2]", 0, NULL);
    tensor_in t = {.dtype = DT_FP32, .dtype_name = "FP32"};
    assert_int_equal(tensor_set_shape(&t, shape, "$.inputs[0]", err), 0);
    assert_int_equal(tensor_set_binary(&t, fp32, sizeof fp32, "$.inputs[0]", err), 0);
    raw_value v;
    assert_int_equal(tensor_get(&t, 1, &v, 0, err), 0);
    assert_true(v.kind == RAW_NUMBER && v.number == -2.0);
    /* a byte short of two floats */
    tensor_in short_t = {.dtype = DT_FP32, .dtype_name = "FP32"};
    assert_int_equal(tensor_set_shape(&short_t, shape, "$.inputs[0]", err), 0);
    assert_int_equal(tensor_set_binary(&short_t, fp32, sizeof fp32 - 1, "$.inputs[0]", err), -1);
    assert_non_null(strstr(err, "$.inputs[0]"));
    /* BYTES: each a 4-byte little-endian length and the bytes, read in order */
    const unsigned char strs[] = {1, 0, 0, 0, 'S', 4, 0, 0, 0, 'm', 'a', 'l', 'e'};
    tensor_in b = {.dtype = DT_BYTES, .dtype_name = "BYTES"};
    assert_int_equal(tensor_set_shape(&b, shape, "$.inputs[0]", err), 0);
    assert_int_equal(tensor_set_binary(&b, strs, sizeof strs, "$.inputs[0]", err), 0);
    assert_int_equal(tensor_get(&b, 0, &v, 0, err), 0);
    assert_true(v.kind == RAW_STRING && v.len == 1 && v.str[0] == 'S');
    assert_int_equal(tensor_get(&b, 1, &v, 0, err), 0);
    assert_true(v.kind == RAW_STRING && v.len == 4 && memcmp(v.str, "male", 4) == 0);
    /* a length past the end */
    const unsigned char cut[] = {9, 0, 0, 0, 'S', 1, 0, 0, 0, 'x'};
    tensor_in c = {.dtype = DT_BYTES, .dtype_name = "BYTES"};
    assert_int_equal(tensor_set_shape(&c, shape, "$.inputs[0]", err), 0);
    assert_int_equal(tensor_set_binary(&c, cut, sizeof cut, "$.inputs[0]", err), -1);
    json_decref(shape);
}

static void test_integer_ranges(void **state)
{
    (void)state;
    static const struct {
        tensor_dtype d;
        double v;
        int fits;
    } cases[] = {
        {DT_INT8, -128, 1},
        {DT_INT8, 127, 1},
        {DT_INT8, 128, 0},
        {DT_INT8, -129, 0},
        {DT_UINT8, 255, 1},
        {DT_UINT8, 256, 0},
        {DT_UINT8, -1, 0},
        {DT_INT16, 32767, 1},
        {DT_INT16, 32768, 0},
        {DT_UINT16, 65535, 1},
        {DT_UINT16, 65536, 0},
        {DT_INT32, 2147483647.0, 1},
        {DT_INT32, 2147483648.0, 0},
        {DT_UINT32, 4294967295.0, 1},
        {DT_UINT32, 4294967296.0, 0},
        {DT_FP32, 3.0e38, 1},
        {DT_FP32, 1.0e39, 0},
        {DT_FP64, 1.0e300, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        if (tensor_in_range(cases[k].d, cases[k].v) != cases[k].fits)
            fail_msg("range case %zu: %g in type %d", k, cases[k].v, cases[k].d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datatype_names), cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_json_elements),  cmocka_unit_test(test_binary_elements),
        cmocka_unit_test(test_integer_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
