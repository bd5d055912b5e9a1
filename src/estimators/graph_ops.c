/* graph_ops — the interpreter's ai.onnx operators (graph_impl.h): elementwise
 * math, comparisons and logic, casts and shapes, linear algebra, softmax, slices,
 * transposes, reductions, normalization. Each reads its inputs' tensors and makes
 * its outputs'; none keeps state between runs. */
#define _GNU_SOURCE
#include "estimators/graph_impl.h"

const char *const onnx_elem_names[] = {"float", "int64", "bool", "string"};

/* ---- elementwise and shape operators ------------------------------------------ */

float onnx_sigmoid(float z) { return z >= 0 ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z)); }

int onnx_op_unary(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type != EL_FLOAT) return FAIL("takes a float tensor");
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, EL_FLOAT, x) != 0) return -1;
    for (size_t k = 0; k < x->n; k++) {
        float v = x->f[k];
        o->f[k] = g->op == OP_RELU ? (v > 0 ? v : 0) : g->op == OP_TANH ? tanhf(v) : onnx_sigmoid(v);
    }
    return 0;
}

int onnx_copy_into(run_ctx *r, const gnode *g, tensor *o, const tensor *x, int rank, const int64_t *dim);

/* The unary elementwise functions, by the index read_node gives g->flag. */
const char *const onnx_math_names[] = {
    "Abs", "Neg",      "Exp",      "Log", "Sqrt", "Reciprocal", "Floor",       "Ceil", "Round", "Sign",
    "Erf", "Softplus", "Softsign", "Elu", "Selu", "LeakyRelu",  "HardSigmoid", "Gelu", "Mish"};

static float math_one(int f, float v, float alpha, float beta, int tanh_form)
{
    switch (f) {
    case M_ABS: return fabsf(v);
    case M_NEG: return -v;
    case M_EXP: return expf(v);
    case M_LOG: return logf(v);
    case M_SQRT: return sqrtf(v);
    case M_RECIP: return 1.0f / v;
    case M_FLOOR: return floorf(v);
    case M_CEIL: return ceilf(v);
    case M_ROUND: return nearbyintf(v); /* halves to even, as ONNX defines */
    case M_SIGN: return v > 0 ? 1.0f : v < 0 ? -1.0f : v;
    case M_ERF: return erff(v);
    case M_SOFTPLUS: return v > 20 ? v : log1pf(expf(v));
    case M_SOFTSIGN: return v / (1 + fabsf(v));
    case M_ELU: return v < 0 ? alpha * (expf(v) - 1) : v;
    case M_SELU: return v > 0 ? beta * v : beta * alpha * (expf(v) - 1);
    case M_LEAKY: return v < 0 ? alpha * v : v;
    case M_HARDSIGMOID: return fmaxf(0, fminf(1, alpha * v + beta));
    case M_MISH: return v * tanhf(v > 20 ? v : log1pf(expf(v)));
    default: /* M_GELU */
        if (tanh_form) return 0.5f * v * (1 + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
        return 0.5f * v * (1 + erff(v * 0.7071067811865476f));
    }
}

int onnx_op_math(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    int f = (int)g->flag;
    int int_ok = f == M_ABS || f == M_NEG || f == M_SIGN;
    if (!x || !(x->type == EL_FLOAT || (x->type == EL_INT && int_ok)))
        return FAIL("takes a float tensor%s", int_ok ? " or an integer one" : "");
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, x->type, x) != 0) return -1;
    if (x->type == EL_INT)
        for (size_t k = 0; k < x->n; k++) {
            int64_t v = x->i[k];
            o->i[k] = f == M_ABS   ? (v < 0 ? (int64_t)(0 - (uint64_t)v) : v)
                      : f == M_NEG ? (int64_t)(0 - (uint64_t)v)
                                   : (v > 0) - (v < 0);
        }
    else
        for (size_t k = 0; k < x->n; k++) o->f[k] = math_one(f, x->f[k], g->alpha, g->beta, g->keepdims != 0);
    return 0;
}

/* Dropout at inference: the input as it is, and a mask of all true when asked. */
int onnx_op_dropout(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x) return FAIL("needs an input");
    tensor *o = OUT(r, g, 0);
    if (onnx_copy_into(r, g, o, x, x->rank, x->dim) != 0) return -1;
    if (g->n_out > 1 && g->out[1] >= 0) {
        tensor *mask = OUT(r, g, 1);
        if (same_shape_as(r, g, mask, EL_BOOL, x) != 0) return -1;
        for (size_t k = 0; k < x->n; k++) mask->i[k] = 1;
    }
    return 0;
}

int onnx_op_pow(run_ctx *r, const gnode *g)
{
    const tensor *a = IN(r, g, 0), *c = IN(r, g, 1);
    if (!a || !c || (a->type != EL_FLOAT && a->type != EL_INT) || (c->type != EL_FLOAT && c->type != EL_INT))
        return FAIL("takes two numeric tensors");
    const tensor *ts[2] = {a, c};
    bplan b;
    if (broadcast(r, g, ts, 2, &b) != 0) return -1;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, a->type, b.rank, b.dim) != 0) return -1;
    BROADCAST_LOOP(b, 2, o->n, {
        double x = a->type == EL_FLOAT ? a->f[off[0]] : (double)a->i[off[0]];
        double y = c->type == EL_FLOAT ? c->f[off[1]] : (double)c->i[off[1]];
        if (a->type == EL_FLOAT)
            o->f[e] = powf((float)x, (float)y);
        else
            o->i[e] = (int64_t)pow(x, y);
    });
    return 0;
}

enum { V_MAX, V_MIN, V_SUM, V_MEAN };

int onnx_op_variadic(run_ctx *r, const gnode *g)
{
    if (g->n_in < 1 || g->n_in > 3) return FAIL("takes 1 to 3 inputs here, got %d", g->n_in);
    const tensor *ts[3];
    for (int k = 0; k < g->n_in; k++) {
        ts[k] = IN(r, g, k);
        if (!ts[k] || (ts[k]->type != EL_FLOAT && ts[k]->type != EL_INT) || ts[k]->type != ts[0]->type)
            return FAIL("takes numeric inputs of one type");
    }
    bplan b;
    if (broadcast(r, g, ts, g->n_in, &b) != 0) return -1;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, ts[0]->type, b.rank, b.dim) != 0) return -1;
    int f = (int)g->flag, n = g->n_in, fl = ts[0]->type == EL_FLOAT;
    BROADCAST_LOOP(b, n, o->n, {
        double acc = fl ? ts[0]->f[off[0]] : (double)ts[0]->i[off[0]];
        int64_t iacc = fl ? 0 : ts[0]->i[off[0]];
        for (int k = 1; k < n; k++) {
            double v = fl ? ts[k]->f[off[k]] : (double)ts[k]->i[off[k]];
            int64_t iv = fl ? 0 : ts[k]->i[off[k]];
            if (f == V_MAX) {
                acc = v > acc || v != v ? v : acc;
                iacc = iv > iacc ? iv : iacc;
            } else if (f == V_MIN) {
                acc = v < acc || v != v ? v : acc;
                iacc = iv < iacc ? iv : iacc;
            } else {
                acc += v;
                iacc = (int64_t)((uint64_t)iacc + (uint64_t)iv);
            }
        }
        if (f == V_MEAN) acc /= n, iacc /= n;
        if (fl)
            o->f[e] = (float)acc;
        else
            o->i[e] = iacc;
    });
    return 0;
}

enum { C_EQ, C_LT, C_GT, C_LE, C_GE };

int onnx_op_compare(run_ctx *r, const gnode *g)
{
    const tensor *a = IN(r, g, 0), *c = IN(r, g, 1);
    if (!a || !c || a->type != c->type) return FAIL("compares two tensors of one type");
    int f = (int)g->flag;
    if ((a->type == EL_STRING || a->type == EL_BOOL) && f != C_EQ)
        return FAIL("orders numbers only (%s)", elem_names[a->type]);
    const tensor *ts[2] = {a, c};
    bplan b;
    if (broadcast(r, g, ts, 2, &b) != 0) return -1;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, EL_BOOL, b.rank, b.dim) != 0) return -1;
    int fl = a->type == EL_FLOAT;
    BROADCAST_LOOP(b, 2, o->n, {
        int lt, eq;
        if (fl)
            lt = a->f[off[0]] < c->f[off[1]], eq = a->f[off[0]] == c->f[off[1]];
        else
            lt = a->i[off[0]] < c->i[off[1]], eq = a->i[off[0]] == c->i[off[1]];
        int gt = fl ? a->f[off[0]] > c->f[off[1]] : a->i[off[0]] > c->i[off[1]];
        o->i[e] = f == C_EQ ? eq : f == C_LT ? lt : f == C_GT ? gt : f == C_LE ? lt || eq : gt || eq;
    });
    return 0;
}

int onnx_op_logic(run_ctx *r, const gnode *g)
{
    const tensor *a = IN(r, g, 0), *c = g->op == OP_NOT ? a : IN(r, g, 1);
    if (!a || !c || a->type != EL_BOOL || c->type != EL_BOOL) return FAIL("takes bool tensors");
    tensor *o = OUT(r, g, 0);
    if (g->op == OP_NOT) {
        if (same_shape_as(r, g, o, EL_BOOL, a) != 0) return -1;
        for (size_t k = 0; k < a->n; k++) o->i[k] = !a->i[k];
        return 0;
    }
    const tensor *ts[2] = {a, c};
    bplan b;
    if (broadcast(r, g, ts, 2, &b) != 0) return -1;
    if (make(r, g, o, EL_BOOL, b.rank, b.dim) != 0) return -1;
    int f = (int)g->flag;
    BROADCAST_LOOP(b, 2, o->n, {
        int x = a->i[off[0]] != 0, y = c->i[off[1]] != 0;
        o->i[e] = f == 0 ? x && y : f == 1 ? x || y : x != y;
    });
    return 0;
}

/* Clip: bounds from the inputs (opset 11 on; absent: none) or the attributes. */
int onnx_op_clip(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0), *lo = g->n_in > 1 ? IN(r, g, 1) : NULL,
                 *hi = g->n_in > 2 ? IN(r, g, 2) : NULL;
    if (!x || (x->type != EL_FLOAT && x->type != EL_INT)) return FAIL("takes a numeric tensor");
    if ((lo && (lo->n != 1 || lo->type != x->type)) || (hi && (hi->n != 1 || hi->type != x->type)))
        return FAIL("takes scalar bounds of its input's type");
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, x->type, x) != 0) return -1;
    if (x->type == EL_FLOAT) {
        float a = lo            ? lo->f[0]
                  : g->n_in > 1 ? -INFINITY
                                : g->alpha,
              b = hi            ? hi->f[0]
                  : g->n_in > 1 ? INFINITY
                                : g->beta;
        for (size_t k = 0; k < x->n; k++) {
            float v = x->f[k];
            v = v < a ? a : v;
            o->f[k] = v > b ? b : v; /* min above max: max, as ONNX defines it */
        }
    } else {
        int64_t a = lo ? lo->i[0] : INT64_MIN, b = hi ? hi->i[0] : INT64_MAX;
        for (size_t k = 0; k < x->n; k++) {
            int64_t v = x->i[k];
            v = v < a ? a : v;
            o->i[k] = v > b ? b : v;
        }
    }
    return 0;
}

/* BatchNormalization at inference: per channel (axis 1), (x - mean) / sqrt(var + eps) * scale + B. */
int onnx_op_batchnorm(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0), *sc = IN(r, g, 1), *bias = IN(r, g, 2), *mean = IN(r, g, 3),
                 *var = IN(r, g, 4);
    if (!x || !sc || !bias || !mean || !var || x->type != EL_FLOAT || x->rank < 2)
        return FAIL("takes a float tensor of rank 2 or more and its four per-channel tensors");
    int64_t c = x->dim[1];
    const tensor *per[4] = {sc, bias, mean, var};
    for (int k = 0; k < 4; k++)
        if (per[k]->type != EL_FLOAT || (int64_t)per[k]->n != c)
            return FAIL("needs %lld values a channel", (long long)c);
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, EL_FLOAT, x) != 0) return -1;
    size_t inner = prod(x->dim, 2, x->rank);
    for (size_t k = 0; k < x->n; k++) {
        size_t ch = (k / (inner ? inner : 1)) % (size_t)c;
        o->f[k] = (x->f[k] - mean->f[ch]) / sqrtf(var->f[ch] + g->alpha) * sc->f[ch] + bias->f[ch];
    }
    return 0;
}

int onnx_op_binarizer(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type != EL_FLOAT) return FAIL("takes a float tensor");
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, EL_FLOAT, x) != 0) return -1;
    for (size_t k = 0; k < x->n; k++) o->f[k] = x->f[k] > g->alpha ? 1.0f : 0.0f;
    return 0;
}

int onnx_copy_into(run_ctx *r, const gnode *g, tensor *o, const tensor *x, int rank, const int64_t *dim)
{
    if (make(r, g, o, x->type, rank, dim) != 0) return -1;
    if (o->n != x->n) return FAIL("reshapes %zu elements into %zu", x->n, o->n);
    if (x->n) {
        if (x->type == EL_FLOAT)
            memcpy(o->f, x->f, x->n * sizeof *o->f);
        else
            memcpy(o->i, x->i, x->n * sizeof *o->i);
    }
    return 0;
}

/* float -> integer as the hardware truncates; NaN and out of range give INT64_MIN, as x86's cvttss2si */
int64_t onnx_to_int(float v)
{
    return isnan(v) || v >= 9.2233720e18f || v < -9.2233720e18f ? INT64_MIN : (int64_t)v;
}

int onnx_op_cast(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x) return FAIL("needs an input");
    elem to = (elem)g->to;
    int narrow = g->to_narrow;
    if (g->op == OP_CASTLIKE) {
        const tensor *like = IN(r, g, 1);
        if (!like) return FAIL("needs the tensor whose type it takes");
        to = like->type;
        narrow = like->narrow;
    }
    if ((to == EL_STRING) != (x->type == EL_STRING))
        return FAIL("casts %s to %s; tabserve casts strings only to strings", elem_names[x->type],
                    elem_names[to]);
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, to, x) != 0) return -1;
    for (size_t k = 0; k < x->n; k++) {
        if (to == EL_FLOAT)
            o->f[k] = x->type == EL_FLOAT ? x->f[k] : (float)x->i[k];
        else if (to == EL_BOOL)
            o->i[k] = x->type == EL_FLOAT ? x->f[k] != 0 : x->i[k] != 0;
        else
            o->i[k] = x->type == EL_FLOAT ? onnx_to_int(x->f[k]) : x->i[k];
    }
    o->narrow = narrow;
    for (size_t k = 0; narrow && k < x->n; k++) {
        if (to == EL_FLOAT)
            o->f[k] = onnx_narrow_round(narrow, o->f[k], g->saturate, g->round_mode);
        else
            o->i[k] = onnx_narrow_wrap(narrow, o->i[k]);
    }
    return 0;
}

int onnx_op_identity(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x) return FAIL("needs an input");
    return onnx_copy_into(r, g, OUT(r, g, 0), x, x->rank, x->dim);
}

int onnx_op_reshape(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0), *s = IN(r, g, 1);
    if (!x || !s || s->type != EL_INT || s->rank != 1)
        return FAIL("needs a data input and a 1-D int64 shape");
    if (s->n > MAX_RANK) return FAIL("a shape of %zu dimensions", s->n);
    int64_t dim[MAX_RANK];
    int infer = -1;
    size_t known = 1;
    for (size_t d = 0; d < s->n; d++) {
        int64_t v = s->i[d];
        if (v == 0 && !g->flag) {
            if ((int)d >= x->rank) return FAIL("shape entry %zu is 0 (copy) past the input's dimensions", d);
            v = x->dim[d];
        }
        if (v == -1) {
            if (infer >= 0) return FAIL("two -1 entries in the shape");
            infer = (int)d;
            v = 1;
        } else if (v < 0)
            return FAIL("shape entry %lld", (long long)v);
        dim[d] = v;
        known *= (size_t)v;
    }
    if (infer >= 0) {
        if (known == 0 || x->n % known) return FAIL("%zu elements do not reshape to that shape", x->n);
        dim[infer] = (int64_t)(x->n / known);
    }
    return onnx_copy_into(r, g, OUT(r, g, 0), x, (int)s->n, dim);
}

int onnx_op_flatten(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x) return FAIL("needs an input");
    int64_t axis = g->axis < 0 ? g->axis + x->rank : g->axis;
    if (axis < 0 || axis > x->rank) return FAIL("axis %lld of %d dimensions", (long long)g->axis, x->rank);
    int64_t dim[2] = {(int64_t)prod(x->dim, 0, (int)axis), (int64_t)prod(x->dim, (int)axis, x->rank)};
    return onnx_copy_into(r, g, OUT(r, g, 0), x, 2, dim);
}

/* Squeeze / Unsqueeze's axes: the attribute (opset < 13) or the second input. */
static int axes_of(run_ctx *r, const gnode *g, const int64_t **axes, size_t *n)
{
    const tensor *a = IN(r, g, 1);
    if (a) {
        if (a->type != EL_INT) return FAIL("its axes are not int64");
        *axes = a->i;
        *n = a->n;
    } else {
        *axes = g->ia;
        *n = g->n_ia;
    }
    return 0;
}

int onnx_op_squeeze(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x) return FAIL("needs an input");
    const int64_t *axes;
    size_t n_axes;
    if (axes_of(r, g, &axes, &n_axes) != 0) return -1;
    int drop[MAX_RANK] = {0};
    for (size_t k = 0; k < n_axes; k++) {
        int64_t a;
        if (norm_axis(r, g, axes[k], x->rank, &a) != 0) return -1;
        if (x->dim[a] != 1)
            return FAIL("squeezes axis %lld, of size %lld", (long long)a, (long long)x->dim[a]);
        drop[a] = 1;
    }
    int64_t dim[MAX_RANK];
    int rank = 0;
    for (int d = 0; d < x->rank; d++)
        if (!(n_axes ? drop[d] : x->dim[d] == 1)) dim[rank++] = x->dim[d];
    return onnx_copy_into(r, g, OUT(r, g, 0), x, rank, dim);
}

int onnx_op_unsqueeze(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x) return FAIL("needs an input");
    const int64_t *axes;
    size_t n_axes;
    if (axes_of(r, g, &axes, &n_axes) != 0) return -1;
    int rank = x->rank + (int)n_axes;
    if (rank > MAX_RANK) return FAIL("a result of %d dimensions", rank);
    int add[MAX_RANK] = {0};
    for (size_t k = 0; k < n_axes; k++) {
        int64_t a;
        if (norm_axis(r, g, axes[k], rank, &a) != 0) return -1;
        if (add[a]) return FAIL("axis %lld is named twice", (long long)a);
        add[a] = 1;
    }
    int64_t dim[MAX_RANK];
    for (int d = 0, s = 0; d < rank; d++) dim[d] = add[d] ? 1 : x->dim[s++];
    return onnx_copy_into(r, g, OUT(r, g, 0), x, rank, dim);
}

int onnx_op_concat(run_ctx *r, const gnode *g)
{
    const tensor *x0 = IN(r, g, 0);
    if (!x0) return FAIL("needs inputs");
    int64_t axis;
    if (norm_axis(r, g, g->axis, x0->rank, &axis) != 0) return -1;
    int64_t dim[MAX_RANK];
    memcpy(dim, x0->dim, sizeof dim);
    dim[axis] = 0;
    for (int k = 0; k < g->n_in; k++) {
        const tensor *x = IN(r, g, k);
        if (!x || x->type != x0->type || x->rank != x0->rank)
            return FAIL("input %d is not a %s tensor of %d dimensions like the first", k,
                        elem_names[x0->type], x0->rank);
        for (int d = 0; d < x->rank; d++)
            if (d != axis && x->dim[d] != x0->dim[d])
                return FAIL("input %d has %lld along dimension %d, the first %lld", k, (long long)x->dim[d],
                            d, (long long)x0->dim[d]);
        dim[axis] += x->dim[axis];
    }
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, x0->type, x0->rank, dim) != 0) return -1;
    size_t outer = prod(dim, 0, (int)axis), inner = prod(dim, (int)axis + 1, x0->rank), at = 0;
    for (size_t q = 0; q < outer; q++)
        for (int k = 0; k < g->n_in; k++) {
            const tensor *x = IN(r, g, k);
            size_t len = (size_t)x->dim[axis] * inner;
            if (len && x->type == EL_FLOAT)
                memcpy(o->f + at, x->f + q * len, len * sizeof *o->f);
            else if (len)
                memcpy(o->i + at, x->i + q * len, len * sizeof *o->i);
            at += len;
        }
    return 0;
}

int onnx_op_gather(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0), *ix = IN(r, g, 1);
    if (!x || !ix || ix->type != EL_INT) return FAIL("needs data and int64 indexes");
    int64_t axis;
    if (norm_axis(r, g, g->axis, x->rank, &axis) != 0) return -1;
    int64_t dim[MAX_RANK];
    int rank = 0;
    if (x->rank - 1 + ix->rank > MAX_RANK) return FAIL("a result of more than %d dimensions", MAX_RANK);
    for (int d = 0; d < axis; d++) dim[rank++] = x->dim[d];
    for (int d = 0; d < ix->rank; d++) dim[rank++] = ix->dim[d];
    for (int d = (int)axis + 1; d < x->rank; d++) dim[rank++] = x->dim[d];
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, x->type, rank, dim) != 0) return -1;
    size_t outer = prod(x->dim, 0, (int)axis), inner = prod(x->dim, (int)axis + 1, x->rank), at = 0;
    int64_t size = x->dim[axis];
    /* indexes the model fixes are the model's fault when outside (found by the load's dry
     * runs); indexes computed from a request leave that row without a finite answer */
    for (size_t k = 0; ix->constant && k < ix->n; k++)
        if (ix->i[k] < -size || ix->i[k] >= size)
            return FAIL("its constant index %lld is outside the %lld entries of axis %lld",
                        (long long)ix->i[k], (long long)size, (long long)axis);
    for (size_t q = 0; q < outer; q++)
        for (size_t k = 0; k < ix->n; k++) {
            int64_t v = ix->i[k] < 0 ? ix->i[k] + size : ix->i[k];
            for (size_t j = 0; j < inner; j++, at++) {
                int inside = v >= 0 && v < size;
                size_t from = (q * (size_t)size + (size_t)(inside ? v : 0)) * inner + j;
                if (x->type == EL_FLOAT)
                    o->f[at] = inside ? x->f[from] : NAN; /* the row gets no finite prediction */
                else
                    o->i[at] = inside ? x->i[from] : (x->type == EL_STRING ? -1 : 0);
            }
        }
    return 0;
}

/* ---- linear algebra ----------------------------------------------------------- */

/* out (m, n) = alpha * A (m, k) . B (k, n), A and B read through strides (transposes). */
static void gemm(size_t m, size_t n, size_t k, float alpha, const float *a, size_t a_row, size_t a_col,
                 const float *b, size_t b_row, size_t b_col, float *out)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            float s = 0;
            for (size_t q = 0; q < k; q++) s += a[i * a_row + q * a_col] * b[q * b_row + j * b_col];
            out[i * n + j] = alpha * s;
        }
}

/* MatMul with a right side of 3 or more dimensions: a stack of matrix products,
 * the leading (batch) dimensions of the two sides broadcast as numpy does; a
 * 1-D left side is a row, dropped from the answer's shape. */
static int matmul_batched(run_ctx *r, const gnode *g, const tensor *a, const tensor *b)
{
    int ra = a->rank == 1 ? 2 : a->rank, rb = b->rank, R = (ra > rb ? ra : rb) - 2;
    int64_t ad[MAX_RANK], dim[MAX_RANK];
    for (int d = 0; d < ra; d++) ad[d] = a->rank == 1 ? (d == 0 ? 1 : a->dim[0]) : a->dim[d];
    size_t m = (size_t)ad[ra - 2], k = (size_t)ad[ra - 1], kb = (size_t)b->dim[rb - 2],
           n = (size_t)b->dim[rb - 1];
    if (k != kb) return FAIL("inner dimensions %zu and %zu differ", k, kb);
    /* the batch dimensions, right-aligned, and each side's stride along them (0: broadcast) */
    size_t stride_a[MAX_RANK], stride_b[MAX_RANK], sa = m * k, sb = k * n, batches = 1;
    for (int i = R - 1; i >= 0; i--) {
        int ia = i - (R - (ra - 2)), ib = i - (R - (rb - 2));
        int64_t da = ia >= 0 ? ad[ia] : 1, db = ib >= 0 ? b->dim[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return FAIL("batch dimensions %lld and %lld do not broadcast", (long long)da, (long long)db);
        dim[i] = da > db ? da : db;
        stride_a[i] = da == 1 ? 0 : sa;
        stride_b[i] = db == 1 ? 0 : sb;
        sa *= (size_t)da;
        sb *= (size_t)db;
        batches *= (size_t)dim[i];
    }
    int rank = R;
    if (a->rank > 1) dim[rank++] = (int64_t)m;
    dim[rank++] = (int64_t)n;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, EL_FLOAT, rank, dim) != 0) return -1;
    for (size_t t = 0; t < batches; t++) {
        size_t offa = 0, offb = 0, rest = t;
        for (int i = R - 1; i >= 0; i--) {
            size_t at = rest % (size_t)dim[i];
            rest /= (size_t)dim[i];
            offa += at * stride_a[i];
            offb += at * stride_b[i];
        }
        gemm(m, n, k, 1, a->f + offa, k, 1, b->f + offb, n, 1, o->f + t * m * n);
    }
    return 0;
}

int onnx_op_matmul(run_ctx *r, const gnode *g)
{
    const tensor *a = IN(r, g, 0), *b = IN(r, g, 1);
    if (!a || !b || a->type != EL_FLOAT || b->type != EL_FLOAT) return FAIL("multiplies float tensors");
    if (a->rank < 1 || b->rank < 1) return FAIL("multiplies a %d-D tensor by a %d-D one", a->rank, b->rank);
    if (b->rank > 2) return matmul_batched(r, g, a, b);
    size_t k = (size_t)a->dim[a->rank - 1];
    size_t kb = (size_t)b->dim[0], n = b->rank == 2 ? (size_t)b->dim[1] : 1;
    if (k != kb) return FAIL("inner dimensions %zu and %zu differ", k, kb);
    int64_t dim[MAX_RANK];
    int rank = 0;
    for (int d = 0; d < a->rank - 1; d++) dim[rank++] = a->dim[d];
    if (b->rank == 2) dim[rank++] = (int64_t)n;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, EL_FLOAT, rank, dim) != 0) return -1;
    gemm(prod(a->dim, 0, a->rank - 1), n, k, 1, a->f, k, 1, b->f, n, 1, o->f);
    return 0;
}

int onnx_op_gemm(run_ctx *r, const gnode *g)
{
    const tensor *a = IN(r, g, 0), *b = IN(r, g, 1), *c = IN(r, g, 2);
    if (!a || !b || a->type != EL_FLOAT || b->type != EL_FLOAT || a->rank != 2 || b->rank != 2)
        return FAIL("multiplies two 2-D float tensors");
    size_t m = (size_t)a->dim[g->trans_a ? 1 : 0], k = (size_t)a->dim[g->trans_a ? 0 : 1];
    size_t kb = (size_t)b->dim[g->trans_b ? 1 : 0], n = (size_t)b->dim[g->trans_b ? 0 : 1];
    if (k != kb) return FAIL("inner dimensions %zu and %zu differ", k, kb);
    int64_t dim[2] = {(int64_t)m, (int64_t)n};
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, EL_FLOAT, 2, dim) != 0) return -1;
    gemm(m, n, k, g->alpha, a->f, g->trans_a ? 1 : k, g->trans_a ? m : 1, b->f, g->trans_b ? 1 : n,
         g->trans_b ? k : 1, o->f);
    if (c) {
        if (c->type != EL_FLOAT) return FAIL("its C input is not float");
        const tensor *ts[2] = {o, c};
        bplan bp;
        if (broadcast(r, g, ts, 2, &bp) != 0) return -1;
        if (bp.rank != 2 || bp.dim[0] != (int64_t)m || bp.dim[1] != (int64_t)n)
            return FAIL("its C input does not broadcast to (%zu, %zu)", m, n);
        float beta = g->beta;
        BROADCAST_LOOP(bp, 2, o->n, o->f[e] += beta * c->f[off[1]]);
    }
    return 0;
}

/* In place over rows of width k. */
void onnx_softmax_rows(float *v, size_t rows, size_t k, int zero)
{
    for (size_t q = 0; q < rows; q++) {
        float *x = v + q * k, hi = -INFINITY;
        for (size_t j = 0; j < k; j++)
            if (!(zero && x[j] == 0) && x[j] > hi) hi = x[j];
        float s = 0;
        for (size_t j = 0; j < k; j++) {
            x[j] = zero && x[j] == 0 ? 0 : expf(x[j] - hi);
            s += x[j];
        }
        for (size_t j = 0; j < k; j++) x[j] = s == 0 ? 0 : x[j] / s; /* NaN stays NaN */
    }
}

/* LogSoftmax: the log of the softmax, each element (the softmax is taken stably first) */
static void log_all(tensor *o)
{
    for (size_t k = 0; k < o->n; k++) o->f[k] = logf(o->f[k]);
}

int onnx_op_softmax(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type != EL_FLOAT) return FAIL("takes a float tensor");
    int64_t axis;
    if (norm_axis(r, g, g->axis, x->rank, &axis) != 0) return -1;
    tensor *o = OUT(r, g, 0);
    if (onnx_copy_into(r, g, o, x, x->rank, x->dim) != 0) return -1;
    if (g->flag) { /* opset < 13: rows of the tensor flattened at the axis */
        onnx_softmax_rows(o->f, prod(x->dim, 0, (int)axis), prod(x->dim, (int)axis, x->rank), 0);
        if (g->to) log_all(o);
        return 0;
    }
    size_t outer = prod(x->dim, 0, (int)axis), len = (size_t)x->dim[axis],
           inner = prod(x->dim, (int)axis + 1, x->rank);
    float *line = malloc((len ? len : 1) * sizeof *line);
    if (!line) return FAIL("out of memory");
    for (size_t q = 0; q < outer; q++)
        for (size_t j = 0; j < inner; j++) {
            for (size_t t = 0; t < len; t++) line[t] = o->f[(q * len + t) * inner + j];
            onnx_softmax_rows(line, 1, len, 0);
            for (size_t t = 0; t < len; t++) o->f[(q * len + t) * inner + j] = line[t];
        }
    free(line);
    if (g->to) log_all(o);
    return 0;
}

int onnx_op_argmax(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || (x->type != EL_FLOAT && x->type != EL_INT)) return FAIL("takes a numeric tensor");
    int64_t axis;
    if (norm_axis(r, g, g->axis, x->rank, &axis) != 0) return -1;
    int64_t dim[MAX_RANK];
    int rank = 0;
    for (int d = 0; d < x->rank; d++)
        if (d != axis)
            dim[rank++] = x->dim[d];
        else if (g->keepdims)
            dim[rank++] = 1;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, EL_INT, rank, dim) != 0) return -1;
    size_t outer = prod(x->dim, 0, (int)axis), len = (size_t)x->dim[axis],
           inner = prod(x->dim, (int)axis + 1, x->rank);
    for (size_t q = 0; q < outer; q++)
        for (size_t j = 0; j < inner; j++) {
            size_t best = 0;
            for (size_t t = 1; t < len; t++) {
                size_t at = (q * len + t) * inner + j, b = (q * len + best) * inner + j;
                double v = x->type == EL_FLOAT ? x->f[at] : (double)x->i[at];
                double w = x->type == EL_FLOAT ? x->f[b] : (double)x->i[b];
                if ((g->to ? v < w : v > w) || (g->flag && v == w)) best = t; /* g->to: ArgMin */
            }
            o->i[q * inner + j] = (int64_t)best;
        }
    return 0;
}

/* ---- shapes, slices, transposes, reductions ------------------------------------ */

/* Shape: the input's dimensions [start, end) as a 1-D int64 tensor. */
int onnx_op_shape(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x) return FAIL("needs an input");
    int64_t start = g->ia ? g->ia[0] : 0, end = g->ia ? g->ia[1] : x->rank;
    if (start < 0) start += x->rank;
    if (end < 0) end += x->rank;
    start = start < 0 ? 0 : start > x->rank ? x->rank : start;
    end = end < start ? start : end > x->rank ? x->rank : end;
    int64_t n = end - start;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, EL_INT, 1, &n) != 0) return -1;
    for (int64_t d = 0; d < n; d++) o->i[d] = x->dim[start + d];
    return 0;
}

/* The element of x at the flat index `from` copied to o's `to`. */
static void copy_element(tensor *o, size_t to, const tensor *x, size_t from)
{
    if (x->type == EL_FLOAT)
        o->f[to] = x->f[from];
    else
        o->i[to] = x->i[from];
}

/* Transpose: dimension d of the result is dimension perm[d] of the input. */
int onnx_op_transpose(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x) return FAIL("needs an input");
    int64_t perm[MAX_RANK], dim[MAX_RANK];
    int seen[MAX_RANK] = {0};
    if (g->ia && (int)g->n_ia != x->rank)
        return FAIL("perm has %zu entries for %d dimensions", g->n_ia, x->rank);
    for (int d = 0; d < x->rank; d++) {
        perm[d] = g->ia ? g->ia[d] : x->rank - 1 - d;
        if (perm[d] < 0 || perm[d] >= x->rank || seen[perm[d]]++) return FAIL("perm is not a permutation");
        dim[d] = x->dim[perm[d]];
    }
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, x->type, x->rank, dim) != 0) return -1;
    size_t stride[MAX_RANK]; /* the input's stride of each result dimension */
    for (int d = 0; d < x->rank; d++) stride[d] = prod(x->dim, (int)perm[d] + 1, x->rank);
    int64_t at[MAX_RANK] = {0};
    for (size_t k = 0; k < o->n; k++) {
        size_t from = 0;
        for (int d = 0; d < x->rank; d++) from += (size_t)at[d] * stride[d];
        copy_element(o, k, x, from);
        for (int d = x->rank - 1; d >= 0 && ++at[d] == dim[d]; d--) at[d] = 0;
    }
    return 0;
}

/* One of Slice's int64 inputs (starts, ends, axes, steps), or the attribute before opset 10. */
static int slice_list(run_ctx *r, const gnode *g, int input, const int64_t *attr, size_t n_attr,
                      const int64_t **v, size_t *n)
{
    const tensor *t = IN(r, g, input);
    *v = NULL;
    *n = 0;
    if (t) {
        if (t->type != EL_INT || t->rank != 1) return FAIL("input %d is not a 1-D int64 tensor", input);
        *v = t->i;
        *n = t->n;
    } else if (attr) {
        *v = attr;
        *n = n_attr;
    }
    return 0;
}

/* Slice: along each named axis, from start towards end by step (ONNX's clamping). */
int onnx_op_slice(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x) return FAIL("needs an input");
    const int64_t *starts, *ends, *axes, *steps;
    size_t ns, ne, na, nst;
    int legacy = g->flag; /* opset < 10: starts, ends and axes are attributes (ia, ib, fa as ints) */
    if (slice_list(r, g, 1, legacy ? g->ia : NULL, g->n_ia, &starts, &ns) != 0 ||
        slice_list(r, g, 2, legacy ? g->ib : NULL, g->n_ib, &ends, &ne) != 0 ||
        slice_list(r, g, 3, legacy ? g->classes : NULL, g->n_classes, &axes, &na) != 0 ||
        slice_list(r, g, 4, NULL, 0, &steps, &nst) != 0)
        return -1;
    if (!starts || !ends || ns != ne || (axes && na != ns) || (steps && nst != ns))
        return FAIL("starts, ends, axes and steps must be as long as each other");
    int64_t first[MAX_RANK], step[MAX_RANK], dim[MAX_RANK];
    int named[MAX_RANK] = {0};
    for (int d = 0; d < x->rank; d++) first[d] = 0, step[d] = 1, dim[d] = x->dim[d];
    for (size_t k = 0; k < ns; k++) {
        int64_t a;
        if (norm_axis(r, g, axes ? axes[k] : (int64_t)k, x->rank, &a) != 0) return -1;
        if (named[a]++) return FAIL("axis %lld is sliced twice", (long long)a);
        int64_t len = x->dim[a], st = steps ? steps[k] : 1, b = starts[k], e = ends[k];
        if (st == 0) return FAIL("a step of 0");
        if (b < 0) b += len;
        if (e < 0) e += len;
        if (st > 0) {
            b = b < 0 ? 0 : b > len ? len : b;
            e = e < 0 ? 0 : e > len ? len : e;
            dim[a] = e > b ? (e - b + st - 1) / st : 0;
        } else {
            b = b < 0 ? -1 : b > len - 1 ? len - 1 : b;
            e = e < -1 ? -1 : e > len - 1 ? len - 1 : e;
            dim[a] = b > e ? (b - e + (-st) - 1) / (-st) : 0;
        }
        first[a] = b;
        step[a] = st;
    }
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, x->type, x->rank, dim) != 0) return -1;
    int64_t at[MAX_RANK] = {0};
    for (size_t k = 0; k < o->n; k++) {
        size_t from = 0;
        for (int d = 0; d < x->rank; d++)
            from = from * (size_t)x->dim[d] + (size_t)(first[d] + at[d] * step[d]);
        copy_element(o, k, x, from);
        for (int d = x->rank - 1; d >= 0 && ++at[d] == dim[d]; d--) at[d] = 0;
    }
    return 0;
}

const char *const onnx_reduce_names[] = {"ReduceSum", "ReduceMean",      "ReduceMax",
                                         "ReduceMin", "ReduceProd",      "ReduceL1",
                                         "ReduceL2",  "ReduceSumSquare", "ReduceLogSumExp"};

/* Reduce*: over the axes (the attribute, or the second input from ReduceSum's opset 13 and
 * every reduction's 18; none: all of them, or none with noop_with_empty_axes), in double. */
int onnx_op_reduce(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0), *ax = IN(r, g, 1);
    if (!x || x->type == EL_STRING) return FAIL("takes a numeric tensor");
    const int64_t *axes = g->ia;
    size_t n_axes = g->n_ia;
    if (ax) {
        if (ax->type != EL_INT || ax->rank > 1) return FAIL("its axes are not a 1-D int64 tensor");
        axes = ax->i;
        n_axes = ax->n;
    }
    int reduced[MAX_RANK] = {0};
    for (size_t k = 0; k < n_axes; k++) {
        int64_t a;
        if (norm_axis(r, g, axes[k], x->rank, &a) != 0) return -1;
        reduced[a] = 1;
    }
    if (!n_axes && g->axis)
        return onnx_copy_into(r, g, OUT(r, g, 0), x, x->rank, x->dim); /* noop_with_empty_axes */
    int64_t dim[MAX_RANK];
    int rank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (!n_axes) reduced[d] = 1;
        if (!reduced[d])
            dim[rank++] = x->dim[d];
        else if (g->keepdims)
            dim[rank++] = 1;
    }
    int flt = x->type == EL_FLOAT || g->flag == R_MEAN || g->flag == R_L2 || g->flag == R_LOGSUMEXP;
    int bools = x->type == EL_BOOL && (g->flag == R_MAX || g->flag == R_MIN); /* any, all */
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, flt ? EL_FLOAT : bools ? EL_BOOL : EL_INT, rank, dim) != 0) return -1;
    double *acc = malloc((o->n ? o->n : 1) * sizeof *acc);
    size_t *count = calloc(o->n ? o->n : 1, sizeof *count);
    if (!acc || !count) {
        free(acc);
        free(count);
        return FAIL("out of memory");
    }
    int64_t at[MAX_RANK] = {0};
    for (size_t k = 0; k < x->n; k++) {
        size_t to = 0; /* the result's element this one reduces into */
        for (int d = 0; d < x->rank; d++)
            if (!reduced[d]) to = to * (size_t)x->dim[d] + (size_t)at[d];
        double v = x->type == EL_FLOAT ? (double)x->f[k] : (double)x->i[k];
        double *a = &acc[to];
        if (!count[to]++) {
            *a = g->flag == R_L1 ? fabs(v) : g->flag == R_L2 || g->flag == R_SUMSQUARE ? v * v : v;
        } else {
            switch (g->flag) {
            case R_MAX: *a = v > *a || isnan(v) ? v : *a; break;
            case R_MIN: *a = v < *a || isnan(v) ? v : *a; break;
            case R_PROD: *a *= v; break;
            case R_L1: *a += fabs(v); break;
            case R_L2:
            case R_SUMSQUARE: *a += v * v; break;
            case R_LOGSUMEXP: *a = fmax(*a, v) + log1p(exp(-fabs(*a - v))); break;
            default: *a += v; break;
            }
        }
        for (int d = x->rank - 1; d >= 0 && ++at[d] == x->dim[d]; d--) at[d] = 0;
    }
    for (size_t k = 0; k < o->n; k++) {
        double v = acc[k];
        if (!count[k]) /* an empty reduction: the operator's identity */
            v = g->flag == R_PROD        ? 1
                : g->flag == R_MAX       ? -INFINITY
                : g->flag == R_MIN       ? INFINITY
                : g->flag == R_LOGSUMEXP ? -INFINITY
                                         : 0;
        else if (g->flag == R_MEAN)
            v /= (double)count[k];
        else if (g->flag == R_L2)
            v = sqrt(v);
        if (flt)
            o->f[k] = (float)v;
        else
            o->i[k] = (int64_t)v;
    }
    free(acc);
    free(count);
    return 0;
}

/* LayerNormalization: over the dimensions from axis on, (x - mean) / sqrt(var + epsilon)
 * * scale + bias (both broadcast over those dimensions); Mean and InvStdDev when asked for. */
int onnx_op_layernorm(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0), *sc = IN(r, g, 1), *b = IN(r, g, 2);
    if (!x || x->type != EL_FLOAT || !sc || sc->type != EL_FLOAT || (b && b->type != EL_FLOAT))
        return FAIL("takes float X, scale and an optional float bias");
    int64_t axis;
    if (norm_axis(r, g, g->axis, x->rank, &axis) != 0) return -1;
    size_t outer = prod(x->dim, 0, (int)axis), inner = prod(x->dim, (int)axis, x->rank);
    if (!inner || inner % sc->n || (b && inner % b->n))
        return FAIL("scale (%zu) and bias do not broadcast over the %zu normalized elements", sc->n, inner);
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, EL_FLOAT, x) != 0) return -1;
    tensor *mo = g->n_out > 1 && g->out[1] >= 0 ? OUT(r, g, 1) : NULL;
    tensor *io = g->n_out > 2 && g->out[2] >= 0 ? OUT(r, g, 2) : NULL;
    int64_t stat_dim[MAX_RANK] = {0};
    for (int d = 0; d < x->rank; d++) stat_dim[d] = d < axis ? x->dim[d] : 1;
    if ((mo && make(r, g, mo, EL_FLOAT, x->rank, stat_dim) != 0) ||
        (io && make(r, g, io, EL_FLOAT, x->rank, stat_dim) != 0))
        return -1;
    for (size_t q = 0; q < outer; q++) {
        const float *xr = x->f + q * inner;
        double mean = 0, var = 0;
        for (size_t j = 0; j < inner; j++) mean += xr[j];
        mean /= (double)inner;
        for (size_t j = 0; j < inner; j++) var += (xr[j] - mean) * (xr[j] - mean);
        var /= (double)inner;
        double inv = 1.0 / sqrt(var + (double)g->alpha);
        for (size_t j = 0; j < inner; j++)
            o->f[q * inner + j] =
                (float)((xr[j] - mean) * inv * sc->f[j % sc->n] + (b ? b->f[j % b->n] : 0.0));
        if (mo) mo->f[q] = (float)mean;
        if (io) io->f[q] = (float)inv;
    }
    return 0;
}

/* Size: the input's element count, a scalar int64. */
int onnx_op_size(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x) return FAIL("needs an input");
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, EL_INT, 0, NULL) != 0) return -1;
    o->i[0] = (int64_t)x->n;
    return 0;
}

int onnx_op_isnan(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type != EL_FLOAT) return FAIL("takes a float tensor");
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, EL_BOOL, x) != 0) return -1;
    for (size_t k = 0; k < x->n; k++) o->i[k] = isnan(x->f[k]);
    return 0;
}

/* PRelu: x, or slope * x below 0, the slope broadcast over x. */
int onnx_op_prelu(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0), *slope = IN(r, g, 1);
    if (!x || !slope || x->type != EL_FLOAT || slope->type != EL_FLOAT)
        return FAIL("takes float X and slope");
    const tensor *ts[2] = {x, slope};
    bplan b;
    if (broadcast(r, g, ts, 2, &b) != 0) return -1;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, EL_FLOAT, b.rank, b.dim) != 0) return -1;
    BROADCAST_LOOP(b, 2, o->n, {
        float v = x->f[off[0]];
        o->f[e] = v < 0 ? v * slope->f[off[1]] : v;
    });
    return 0;
}

/* The dimensions a 1-D int64 shape input names (ConstantOfShape, Expand). */
static int shape_input(run_ctx *r, const gnode *g, const tensor *s, int64_t *dim, int *rank)
{
    if (!s || s->type != EL_INT || s->rank != 1) return FAIL("takes a 1-D int64 shape");
    if (s->n > MAX_RANK) return FAIL("a shape of %zu dimensions", s->n);
    for (size_t d = 0; d < s->n; d++) {
        if (s->i[d] < 0) return FAIL("a shape entry of %lld", (long long)s->i[d]);
        dim[d] = s->i[d];
    }
    *rank = (int)s->n;
    return 0;
}

/* ConstantOfShape: a tensor of the shape given, every element the value attribute (0.0f by default). */
int onnx_op_constant_of_shape(run_ctx *r, const gnode *g)
{
    int64_t dim[MAX_RANK];
    int rank;
    if (shape_input(r, g, IN(r, g, 0), dim, &rank) != 0) return -1;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, (elem)g->key_type, rank, dim) != 0) return -1;
    for (size_t k = 0; k < o->n; k++)
        if (o->type == EL_FLOAT)
            o->f[k] = g->fdef;
        else
            o->i[k] = g->idef;
    return 0;
}

/* Expand: the input broadcast to the shape given (numpy's rules, both ways). */
int onnx_op_expand(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    int64_t dim[MAX_RANK];
    int rank;
    if (!x || shape_input(r, g, IN(r, g, 1), dim, &rank) != 0) return -1;
    tensor shape = {.type = x->type, .rank = rank};
    memcpy(shape.dim, dim, sizeof dim);
    const tensor *ts[2] = {x, &shape};
    bplan b;
    if (broadcast(r, g, ts, 2, &b) != 0) return -1;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, x->type, b.rank, b.dim) != 0) return -1;
    BROADCAST_LOOP(b, 2, o->n, copy_element(o, e, x, off[0]));
    return 0;
}

/* Split: along the axis into the outputs, by the sizes given (the second input, or the
 * attribute before opset 13), else evenly (the last part smaller with num_outputs). */
int onnx_op_split(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0), *sz = IN(r, g, 1);
    if (!x) return FAIL("needs an input");
    int64_t axis;
    if (norm_axis(r, g, g->axis, x->rank, &axis) != 0) return -1;
    const int64_t *sizes = sz ? sz->i : g->ia;
    size_t n_sizes = sz ? sz->n : g->n_ia;
    if (sz && sz->type != EL_INT) return FAIL("its split sizes are not int64");
    int64_t len = x->dim[axis], at = 0;
    if (sizes && n_sizes != (size_t)g->n_out) return FAIL("%zu sizes for %d outputs", n_sizes, g->n_out);
    int64_t part = sizes ? 0 : (len + g->n_out - 1) / g->n_out;
    if (!sizes && !g->flag && len % g->n_out)
        return FAIL("%lld does not split evenly in %d", (long long)len, g->n_out);
    size_t outer = prod(x->dim, 0, (int)axis), inner = prod(x->dim, (int)axis + 1, x->rank);
    for (int k = 0; k < g->n_out; k++) {
        int64_t size = sizes ? sizes[k] : (at + part > len ? len - at : part);
        if (size < 0 || at + size > len)
            return FAIL("sizes that do not fit the %lld along axis %lld", (long long)len, (long long)axis);
        if (g->out[k] < 0) {
            at += size;
            continue;
        }
        int64_t dim[MAX_RANK];
        memcpy(dim, x->dim, sizeof dim);
        dim[axis] = size;
        tensor *o = OUT(r, g, k);
        if (make(r, g, o, x->type, x->rank, dim) != 0) return -1;
        for (size_t q = 0, e = 0; q < outer; q++)
            for (int64_t t = 0; t < size; t++)
                for (size_t j = 0; j < inner; j++)
                    copy_element(o, e++, x, (q * (size_t)len + (size_t)(at + t)) * inner + j);
        at += size;
    }
    if (sizes && at != len)
        return FAIL("sizes summing to %lld for %lld along the axis", (long long)at, (long long)len);
    return 0;
}

/* TopK: the k largest (or smallest) along the axis, and their indexes; ties in index order.
 * Each line is sorted as (key, index) pairs, the key negated for the largest: the
 * comparison needs no state, so threads may run it side by side. */
typedef struct {
    double key;
    size_t index;
} topk_pair;

static int topk_cmp(const void *a, const void *b)
{
    const topk_pair *u = a, *v = b;
    if (u->key != v->key) return u->key < v->key ? -1 : 1;
    return u->index < v->index ? -1 : u->index > v->index;
}

int onnx_op_topk(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0), *kt = IN(r, g, 1);
    if (!x || (x->type != EL_FLOAT && x->type != EL_INT)) return FAIL("takes a numeric tensor");
    int64_t k = kt ? (kt->type == EL_INT && kt->n == 1 ? kt->i[0] : -1) : g->idef;
    int64_t axis;
    if (norm_axis(r, g, g->axis, x->rank, &axis) != 0) return -1;
    if (k < 0 || k > x->dim[axis])
        return FAIL("k %lld for %lld along the axis", (long long)k, (long long)x->dim[axis]);
    int64_t dim[MAX_RANK];
    memcpy(dim, x->dim, sizeof dim);
    dim[axis] = k;
    tensor *vo = OUT(r, g, 0), *io = g->n_out > 1 && g->out[1] >= 0 ? OUT(r, g, 1) : NULL;
    if (make(r, g, vo, x->type, x->rank, dim) != 0 || (io && make(r, g, io, EL_INT, x->rank, dim) != 0))
        return -1;
    size_t len = (size_t)x->dim[axis], outer = prod(x->dim, 0, (int)axis),
           inner = prod(x->dim, (int)axis + 1, x->rank);
    topk_pair *order = malloc((len ? len : 1) * sizeof *order);
    if (!order) return FAIL("out of memory");
    for (size_t q = 0; q < outer; q++)
        for (size_t j = 0; j < inner; j++) {
            size_t base = q * len * inner + j;
            for (size_t t = 0; t < len; t++) {
                double v =
                    x->type == EL_FLOAT ? (double)x->f[base + t * inner] : (double)x->i[base + t * inner];
                order[t] = (topk_pair){g->flag ? -v : v, t};
            }
            qsort(order, len, sizeof *order, topk_cmp);
            for (int64_t t = 0; t < k; t++) {
                size_t to = (q * (size_t)k + (size_t)t) * inner + j;
                copy_element(vo, to, x, base + order[t].index * inner);
                if (io) io->i[to] = (int64_t)order[t].index;
            }
        }
    free(order);
    return 0;
}

/* GatherElements: out[..., i, ...] = x[..., index[..., i, ...], ...] along the axis. */
int onnx_op_gather_elements(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0), *ix = IN(r, g, 1);
    if (!x || !ix || ix->type != EL_INT || ix->rank != x->rank)
        return FAIL("needs data and int64 indexes of its rank");
    int64_t axis;
    if (norm_axis(r, g, g->axis, x->rank, &axis) != 0) return -1;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, x->type, ix->rank, ix->dim) != 0) return -1;
    int64_t at[MAX_RANK] = {0};
    for (size_t e = 0; e < ix->n; e++) {
        int64_t v = ix->i[e];
        if (v < 0) v += x->dim[axis];
        if (v < 0 || v >= x->dim[axis])
            return FAIL("index %lld is outside the %lld along axis %lld", (long long)ix->i[e],
                        (long long)x->dim[axis], (long long)axis);
        size_t from = 0;
        for (int d = 0; d < x->rank; d++) {
            int64_t c = d == axis ? v : at[d];
            if (c >= x->dim[d]) return FAIL("indexes wider than the data along dimension %d", d);
            from = from * (size_t)x->dim[d] + (size_t)c;
        }
        copy_element(o, e, x, from);
        for (int d = ix->rank - 1; d >= 0 && ++at[d] == ix->dim[d]; d--) at[d] = 0;
    }
    return 0;
}
