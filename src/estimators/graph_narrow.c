/* graph_narrow — ONNX's narrow element types (float16, bfloat16, the float8s,
 * float4e2m1, e8m0, int4, uint4, int2, uint2). The interpreter holds their
 * values as floats or int64s, each exact in its type: these functions read a
 * type's bit patterns and round a value to the type as Cast does. */
#include "estimators/graph_impl.h"

/* A float type: exponent and mantissa bits, its bias, and how the top of its
 * range is used. */
typedef enum {
    TOP_IEEE, /* the all-ones exponent holds the infinities and NaNs */
    TOP_FN,   /* no infinity; all ones is NaN */
    TOP_FNUZ, /* no infinity, no -0: the negative zero's pattern is NaN */
    TOP_NONE, /* every pattern a finite number */
} top_kind;

typedef struct {
    int type, exp_bits, mant_bits, bias;
    top_kind top;
} float_type;

static const float_type float_types[] = {
    {ONNX_FLOAT16, 5, 10, 15, TOP_IEEE},   {ONNX_BFLOAT16, 8, 7, 127, TOP_IEEE},
    {ONNX_FLOAT8E4M3FN, 4, 3, 7, TOP_FN},  {ONNX_FLOAT8E4M3FNUZ, 4, 3, 8, TOP_FNUZ},
    {ONNX_FLOAT8E5M2, 5, 2, 15, TOP_IEEE}, {ONNX_FLOAT8E5M2FNUZ, 5, 2, 16, TOP_FNUZ},
    {ONNX_FLOAT4E2M1, 2, 1, 1, TOP_NONE},
};

static const float_type *float_type_of(int type)
{
    for (size_t k = 0; k < sizeof float_types / sizeof *float_types; k++)
        if (float_types[k].type == type) return &float_types[k];
    return NULL;
}

int onnx_narrow_bits(int type)
{
    const float_type *ft = float_type_of(type);
    if (ft) return 1 + ft->exp_bits + ft->mant_bits;
    switch (type) {
    case ONNX_FLOAT8E8M0: return 8;
    case ONNX_INT4:
    case ONNX_UINT4: return 4;
    case ONNX_INT2:
    case ONNX_UINT2: return 2;
    default: return 0;
    }
}

int onnx_narrow_of(int type) { return onnx_narrow_bits(type) ? type : 0; }

int onnx_narrow_is_int(int type)
{
    return type == ONNX_INT4 || type == ONNX_UINT4 || type == ONNX_INT2 || type == ONNX_UINT2;
}

int64_t onnx_narrow_wrap(int type, int64_t v)
{
    uint64_t u = (uint64_t)v;
    switch (type) {
    case ONNX_UINT4: return (int64_t)(u & 15);
    case ONNX_INT4: return (int64_t)((u & 15) ^ 8) - 8;
    case ONNX_UINT2: return (int64_t)(u & 3);
    case ONNX_INT2: return (int64_t)((u & 3) ^ 2) - 2;
    default: return v;
    }
}

float onnx_narrow_value(int type, uint32_t bits)
{
    if (type == ONNX_FLOAT8E8M0) return bits == 0xff ? NAN : ldexpf(1.0f, (int)bits - 127);
    const float_type *ft = float_type_of(type);
    if (!ft) return NAN;
    int width = 1 + ft->exp_bits + ft->mant_bits;
    uint32_t exp_all = (1u << ft->exp_bits) - 1, mant_all = (1u << ft->mant_bits) - 1;
    uint32_t sign = bits >> (width - 1) & 1, e = bits >> ft->mant_bits & exp_all, m = bits & mant_all;
    if (ft->top == TOP_IEEE && e == exp_all) return m ? NAN : sign ? -INFINITY : INFINITY;
    if (ft->top == TOP_FN && e == exp_all && m == mant_all) return NAN;
    if (ft->top == TOP_FNUZ && sign && !e && !m) return NAN;
    double v = e ? ldexp((double)((1u << ft->mant_bits) + m), (int)e - ft->bias - ft->mant_bits)
                 : ldexp((double)m, 1 - ft->bias - ft->mant_bits);
    return (float)(sign ? -v : v);
}

/* e8m0 (a power of two, 2^-127 to 2^127): from the float's own exponent and
 * mantissa, as ONNX's reference rounds it */
static float round_e8m0(float v, int saturate, int round_mode)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    uint32_t e = b >> 23 & 0xff, m = b & 0x7fffff;
    if (e == 0xff) return m ? NAN : saturate ? ldexpf(1.0f, 127) : NAN;
    if ((round_mode == 0 && m) || (round_mode == 2 && (m & 0x400000))) e++;
    if (e == 0xff) return saturate ? ldexpf(1.0f, 127) : NAN;
    return ldexpf(1.0f, (int)e - 127);
}

float onnx_narrow_round(int type, float v, int saturate, int round_mode)
{
    if (type == ONNX_FLOAT8E8M0) return round_e8m0(v, saturate, round_mode);
    const float_type *ft = float_type_of(type);
    if (!ft) return v;
    if (isnan(v)) return ft->top == TOP_NONE ? -0.0f : NAN; /* float4e2m1 writes NaN as -0 */
    int emax = (1 << ft->exp_bits) - 1 - ft->bias - (ft->top == TOP_IEEE);
    int top_mant = (1 << ft->mant_bits) - 1 - (ft->top == TOP_FN);
    double most = ldexp((double)((1 << ft->mant_bits) + top_mant), emax - ft->mant_bits);
    /* past the largest finite value: float16 and bfloat16 have no saturation
     * (an infinity); the float8s clamp when saturating, else become their
     * infinity or NaN; float4e2m1 has nothing past it */
    int clamps = ft->top == TOP_NONE || (saturate && type != ONNX_FLOAT16 && type != ONNX_BFLOAT16);
    double over = clamps ? most : ft->top == TOP_IEEE ? INFINITY : NAN;
    double a = fabs((double)v), r = INFINITY;
    if (!isinf(v)) {
        int e2;
        frexp(a, &e2);
        int e = e2 - 1; /* a in [2^e, 2^(e+1)) */
        if (e < 1 - ft->bias) e = 1 - ft->bias;
        if (e <= emax) {
            double q = ldexp(1.0, e - ft->mant_bits);
            r = nearbyint(a / q) * q; /* exact: a power-of-two quantum; ties to even */
        }
    }
    if (r > most) return isnan(over) ? NAN : (float)copysign(over, v);
    if (r == 0 && ft->top == TOP_FNUZ) return 0.0f; /* no -0 */
    return (float)copysign(r, v);
}
