/* graph_narrow: ONNX's narrow element types, each value worked out by hand from
 * the type's layout (sign, exponent bits and bias, mantissa bits) and from the
 * rounding ONNX's Cast defines (nearest, ties to even; the float8s saturate
 * unless told not to). ONNX's own node tests check every Cast bit for bit. */
#include "guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "estimators/graph_impl.h"

/* the same value, a NaN equal to a NaN and a zero's sign counted */
static void assert_same(float got, float want, const char *what)
{
    int same = isnan(want) ? isnan(got) : got == want && !signbit(got) == !signbit(want);
    if (!same) fprintf(stderr, "%s: got %.9g, want %.9g\n", what, got, want);
    assert_true(same);
}

static void test_bit_patterns_read_as_their_values(void **state)
{
    (void)state;
    struct {
        const char *what;
        int type;
        uint32_t bits;
        float want;
    } cases[] = {
        {"float16 one", ONNX_FLOAT16, 0x3c00, 1.0f},
        {"float16 largest", ONNX_FLOAT16, 0x7bff, 65504.0f},
        {"float16 smallest subnormal", ONNX_FLOAT16, 0x0001, 0x1p-24f},
        {"float16 -inf", ONNX_FLOAT16, 0xfc00, -INFINITY},
        {"float16 NaN", ONNX_FLOAT16, 0x7e00, NAN},
        {"bfloat16 one third", ONNX_BFLOAT16, 0x3eab, 0.333984375f},
        {"e4m3fn largest", ONNX_FLOAT8E4M3FN, 0x7e, 448.0f},
        {"e4m3fn NaN (all ones)", ONNX_FLOAT8E4M3FN, 0x7f, NAN},
        {"e4m3fn -0", ONNX_FLOAT8E4M3FN, 0x80, -0.0f},
        {"e4m3fnuz largest", ONNX_FLOAT8E4M3FNUZ, 0x7f, 240.0f},
        {"e4m3fnuz NaN (the -0 pattern)", ONNX_FLOAT8E4M3FNUZ, 0x80, NAN},
        {"e5m2 largest", ONNX_FLOAT8E5M2, 0x7b, 57344.0f},
        {"e5m2 inf", ONNX_FLOAT8E5M2, 0x7c, INFINITY},
        {"e5m2fnuz smallest subnormal", ONNX_FLOAT8E5M2FNUZ, 0x01, 0x1p-17f},
        {"e2m1 six", ONNX_FLOAT4E2M1, 0x7, 6.0f},
        {"e2m1 -1.5", ONNX_FLOAT4E2M1, 0xb, -1.5f},
        {"e2m1 one half (subnormal)", ONNX_FLOAT4E2M1, 0x1, 0.5f},
        {"e8m0 one", ONNX_FLOAT8E8M0, 127, 1.0f},
        {"e8m0 2^-127", ONNX_FLOAT8E8M0, 0, 0x1p-127f},
        {"e8m0 NaN", ONNX_FLOAT8E8M0, 0xff, NAN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_same(onnx_narrow_value(cases[i].type, cases[i].bits), cases[i].want, cases[i].what);
}

static void test_a_cast_rounds_to_nearest_even_and_saturates(void **state)
{
    (void)state;
    struct {
        const char *what;
        int type, saturate, round_mode;
        float v, want;
    } cases[] = {
        {"float16 one third", ONNX_FLOAT16, 1, 0, 1.0f / 3, 0.333251953125f},
        {"float16 65519 stays the largest", ONNX_FLOAT16, 1, 0, 65519.0f, 65504.0f},
        {"float16 65520 ties to even: inf", ONNX_FLOAT16, 1, 0, 65520.0f, INFINITY},
        {"float16 a tiny value to -0", ONNX_FLOAT16, 1, 0, -1e-9f, -0.0f},
        {"bfloat16 one third", ONNX_BFLOAT16, 1, 0, 1.0f / 3, 0.333984375f},
        {"e4m3fn 464 ties down to 448", ONNX_FLOAT8E4M3FN, 0, 0, 464.0f, 448.0f},
        {"e4m3fn 1e6 saturates", ONNX_FLOAT8E4M3FN, 1, 0, 1e6f, 448.0f},
        {"e4m3fn 1e6 unsaturated: NaN", ONNX_FLOAT8E4M3FN, 0, 0, 1e6f, NAN},
        {"e4m3fn -inf saturates", ONNX_FLOAT8E4M3FN, 1, 0, -INFINITY, -448.0f},
        {"e4m3fnuz -1e-7: +0, no -0", ONNX_FLOAT8E4M3FNUZ, 1, 0, -1e-7f, 0.0f},
        {"e5m2 inf unsaturated: inf", ONNX_FLOAT8E5M2, 0, 0, INFINITY, INFINITY},
        {"e5m2 1e6 saturates", ONNX_FLOAT8E5M2, 1, 0, 1e6f, 57344.0f},
        {"e5m2fnuz inf unsaturated: NaN", ONNX_FLOAT8E5M2FNUZ, 0, 0, INFINITY, NAN},
        {"e2m1 0.25 ties to even: 0", ONNX_FLOAT4E2M1, 1, 0, 0.25f, 0.0f},
        {"e2m1 0.75 ties to even: 1", ONNX_FLOAT4E2M1, 1, 0, 0.75f, 1.0f},
        {"e2m1 -3.5 ties to even: -4", ONNX_FLOAT4E2M1, 1, 0, -3.5f, -4.0f},
        {"e2m1 9 clamps to 6", ONNX_FLOAT4E2M1, 0, 0, 9.0f, 6.0f},
        {"e2m1 NaN is written -0", ONNX_FLOAT4E2M1, 1, 0, NAN, -0.0f},
        {"e8m0 0.124 up", ONNX_FLOAT8E8M0, 1, 0, 0.124f, 0.125f},
        {"e8m0 1.1 down", ONNX_FLOAT8E8M0, 1, 1, 1.1f, 1.0f},
        {"e8m0 1.6 nearest", ONNX_FLOAT8E8M0, 1, 2, 1.6f, 2.0f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_same(onnx_narrow_round(cases[i].type, cases[i].v, cases[i].saturate, cases[i].round_mode),
                    cases[i].want, cases[i].what);
}

static void test_narrow_integers_wrap(void **state)
{
    (void)state;
    assert_int_equal(onnx_narrow_wrap(ONNX_INT4, -9), 7);
    assert_int_equal(onnx_narrow_wrap(ONNX_INT4, 8), -8);
    assert_int_equal(onnx_narrow_wrap(ONNX_UINT4, 17), 1);
    assert_int_equal(onnx_narrow_wrap(ONNX_INT2, 2), -2);
    assert_int_equal(onnx_narrow_wrap(ONNX_UINT2, -1), 3);
    assert_int_equal(onnx_narrow_bits(ONNX_INT4), 4);
    assert_int_equal(onnx_narrow_bits(ONNX_FLOAT16), 16);
    assert_int_equal(onnx_narrow_bits(1 /* float */), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bit_patterns_read_as_their_values),
        cmocka_unit_test(test_a_cast_rounds_to_nearest_even_and_saturates),
        cmocka_unit_test(test_narrow_integers_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
