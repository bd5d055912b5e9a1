/* onnx_graph — an ONNX graph run as written (see onnx_graph.h).
 *
 * Values are tensors of four element kinds: float (ONNX's float and double,
 * computed in 32-bit floats as ONNX Runtime computes float models), int
 * (every integer type), bool, and string — a string is its index in the
 * graph's string pool (every string constant of the graph), or -1 for one the
 * graph never names, so string equality is integer equality. Each node's
 * attributes are read once, at load, into a gnode; a run allocates the
 * tensors it makes and frees them after, so one program serves every thread.
 *
 * A run fails only where ONNX Runtime fails a batch — it cannot after the dry
 * runs, except on data it could not foresee: an index out of range (Gather)
 * gives NaN there, and so a row that gets no finite prediction, which the
 * caller reports as that row's error. */
#include "formats/onnx_graph.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/files.h"

#define MAX_RANK         8
#define MAX_ROW_ELEMENTS (1L << 22) /* elements of one tensor per row of the batch */

const char onnx_supported_operators[] =
    "Imputer, Scaler, OneHotEncoder, LabelEncoder, Normalizer, LinearClassifier, LinearRegressor, "
    "TreeEnsembleClassifier, TreeEnsembleRegressor, SVMClassifier, SVMRegressor, Binarizer, "
    "ArrayFeatureExtractor, FeatureVectorizer, ZipMap (ai.onnx.ml); Constant, Cast, CastLike, Concat, "
    "Gather, "
    "Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout, MatMul, Gemm, Add, Sub, Mul, Div, Pow, Max, "
    "Min, "
    "Sum, Mean, Abs, Neg, Exp, Log, Sqrt, Reciprocal, Floor, Ceil, Round, Sign, Erf, Relu, Sigmoid, Tanh, "
    "Softplus, Softsign, Elu, Selu, LeakyRelu, HardSigmoid, Gelu, Clip, BatchNormalization, Equal, Less, "
    "Greater, LessOrEqual, GreaterOrEqual, And, Or, Xor, Not, Softmax, ArgMax, Where, Shape, Slice, "
    "Transpose, ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, "
    "ReduceSumSquare, ReduceLogSumExp, LayerNormalization, ArgMin, LogSoftmax, Size, IsNaN, PRelu, "
    "Mish, ConstantOfShape, Expand, Split, TopK, GatherElements (ai.onnx)";

/* ---- tensors ------------------------------------------------------------------ */

typedef enum { EL_FLOAT, EL_INT, EL_BOOL, EL_STRING } elem;
static const char *const elem_names[] = {"float", "int64", "bool", "string"};

typedef struct {
    elem type;
    int rank;
    int64_t dim[MAX_RANK];
    size_t n;
    float *f;     /* EL_FLOAT */
    int64_t *i;   /* EL_INT; EL_BOOL 0 or 1; EL_STRING a pool index, -1 for a string not in it */
    int constant; /* an initializer's: shared by every run, never freed by one */
} tensor;

static void tensor_release(tensor *t)
{
    if (!t->constant) {
        free(t->f);
        free(t->i);
    }
    memset(t, 0, sizeof *t);
}

/* ---- the program -------------------------------------------------------------- */

typedef enum {
    OP_IDENTITY,
    OP_DROPOUT,
    OP_UNARY_MATH, /* Abs, Neg, Exp, Log, Sqrt, Reciprocal, Floor, Ceil, Round, Sign, Erf, Softplus,
                      Softsign, Elu, Selu, LeakyRelu, HardSigmoid, Gelu: g->flag says which */
    OP_POW,
    OP_VARIADIC, /* Max, Min, Sum, Mean: g->flag */
    OP_COMPARE,  /* Equal, Less, Greater, LessOrEqual, GreaterOrEqual: g->flag */
    OP_LOGIC,    /* And, Or, Xor: g->flag */
    OP_NOT,
    OP_CLIP,
    OP_BATCHNORM,
    OP_BINARIZER,
    OP_SVM_CLS,
    OP_SVM_REG,

    OP_CAST,
    OP_CASTLIKE,
    OP_RESHAPE,
    OP_FLATTEN,
    OP_SQUEEZE,
    OP_UNSQUEEZE,
    OP_CONCAT,
    OP_GATHER,
    OP_MATMUL,
    OP_GEMM,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_RELU,
    OP_SIGMOID,
    OP_TANH,
    OP_SOFTMAX,
    OP_ARGMAX,
    OP_WHERE,
    OP_SHAPE,
    OP_SLICE,
    OP_TRANSPOSE,
    OP_REDUCE, /* ReduceSum, ReduceMean, ...: g->flag says which */
    OP_LAYERNORM,
    OP_SIZE,
    OP_ISNAN,
    OP_PRELU,
    OP_CONSTANT_OF_SHAPE,
    OP_EXPAND,
    OP_SPLIT,
    OP_TOPK,
    OP_GATHER_ELEMENTS,
    OP_IMPUTER,
    OP_SCALER,
    OP_ONEHOT,
    OP_LABELENC,
    OP_NORMALIZER,
    OP_LINCLS,
    OP_LINREG,
    OP_TREECLS,
    OP_TREEREG,
    OP_EXTRACT,
    OP_VECTORIZE,
    OP_ZIPMAP,
} opcode;

static const struct {
    const char *name;
    int ml;
    opcode op;
} op_table[] = {
    {"Identity", 0, OP_IDENTITY},
    {"Dropout", 0, OP_DROPOUT},
    {"Abs", 0, OP_UNARY_MATH},
    {"Neg", 0, OP_UNARY_MATH},
    {"Exp", 0, OP_UNARY_MATH},
    {"Log", 0, OP_UNARY_MATH},
    {"Sqrt", 0, OP_UNARY_MATH},
    {"Reciprocal", 0, OP_UNARY_MATH},
    {"Floor", 0, OP_UNARY_MATH},
    {"Ceil", 0, OP_UNARY_MATH},
    {"Round", 0, OP_UNARY_MATH},
    {"Sign", 0, OP_UNARY_MATH},
    {"Erf", 0, OP_UNARY_MATH},
    {"Softplus", 0, OP_UNARY_MATH},
    {"Softsign", 0, OP_UNARY_MATH},
    {"Elu", 0, OP_UNARY_MATH},
    {"Selu", 0, OP_UNARY_MATH},
    {"LeakyRelu", 0, OP_UNARY_MATH},
    {"Mish", 0, OP_UNARY_MATH},
    {"HardSigmoid", 0, OP_UNARY_MATH},
    {"Gelu", 0, OP_UNARY_MATH},
    {"Pow", 0, OP_POW},
    {"Max", 0, OP_VARIADIC},
    {"Min", 0, OP_VARIADIC},
    {"Sum", 0, OP_VARIADIC},
    {"Mean", 0, OP_VARIADIC},
    {"Equal", 0, OP_COMPARE},
    {"Less", 0, OP_COMPARE},
    {"Greater", 0, OP_COMPARE},
    {"LessOrEqual", 0, OP_COMPARE},
    {"GreaterOrEqual", 0, OP_COMPARE},
    {"And", 0, OP_LOGIC},
    {"Or", 0, OP_LOGIC},
    {"Xor", 0, OP_LOGIC},
    {"Not", 0, OP_NOT},
    {"Clip", 0, OP_CLIP},
    {"BatchNormalization", 0, OP_BATCHNORM},
    {"Binarizer", 1, OP_BINARIZER},
    {"SVMClassifier", 1, OP_SVM_CLS},
    {"SVMRegressor", 1, OP_SVM_REG},

    {"Cast", 0, OP_CAST},
    {"CastLike", 0, OP_CASTLIKE},
    {"Reshape", 0, OP_RESHAPE},
    {"Flatten", 0, OP_FLATTEN},
    {"Squeeze", 0, OP_SQUEEZE},
    {"Unsqueeze", 0, OP_UNSQUEEZE},
    {"Concat", 0, OP_CONCAT},
    {"Gather", 0, OP_GATHER},
    {"MatMul", 0, OP_MATMUL},
    {"Gemm", 0, OP_GEMM},
    {"Add", 0, OP_ADD},
    {"Sub", 0, OP_SUB},
    {"Mul", 0, OP_MUL},
    {"Div", 0, OP_DIV},
    {"Relu", 0, OP_RELU},
    {"Sigmoid", 0, OP_SIGMOID},
    {"Tanh", 0, OP_TANH},
    {"Softmax", 0, OP_SOFTMAX},
    {"ArgMax", 0, OP_ARGMAX},
    {"Shape", 0, OP_SHAPE},
    {"Slice", 0, OP_SLICE},
    {"Transpose", 0, OP_TRANSPOSE},
    {"ReduceSum", 0, OP_REDUCE},
    {"ReduceMean", 0, OP_REDUCE},
    {"ReduceMax", 0, OP_REDUCE},
    {"ReduceMin", 0, OP_REDUCE},
    {"ReduceProd", 0, OP_REDUCE},
    {"ReduceL1", 0, OP_REDUCE},
    {"ReduceL2", 0, OP_REDUCE},
    {"ReduceSumSquare", 0, OP_REDUCE},
    {"ReduceLogSumExp", 0, OP_REDUCE},
    {"LayerNormalization", 0, OP_LAYERNORM},
    {"ArgMin", 0, OP_ARGMAX},
    {"LogSoftmax", 0, OP_SOFTMAX},
    {"Size", 0, OP_SIZE},
    {"IsNaN", 0, OP_ISNAN},
    {"PRelu", 0, OP_PRELU},
    {"ConstantOfShape", 0, OP_CONSTANT_OF_SHAPE},
    {"Expand", 0, OP_EXPAND},
    {"Split", 0, OP_SPLIT},
    {"TopK", 0, OP_TOPK},
    {"GatherElements", 0, OP_GATHER_ELEMENTS},
    {"Where", 0, OP_WHERE},
    {"Imputer", 1, OP_IMPUTER},
    {"Scaler", 1, OP_SCALER},
    {"OneHotEncoder", 1, OP_ONEHOT},
    {"LabelEncoder", 1, OP_LABELENC},
    {"Normalizer", 1, OP_NORMALIZER},
    {"LinearClassifier", 1, OP_LINCLS},
    {"LinearRegressor", 1, OP_LINREG},
    {"TreeEnsembleClassifier", 1, OP_TREECLS},
    {"TreeEnsembleRegressor", 1, OP_TREEREG},
    {"ArrayFeatureExtractor", 1, OP_EXTRACT},
    {"FeatureVectorizer", 1, OP_VECTORIZE},
    {"ZipMap", 1, OP_ZIPMAP},
};

enum { POST_NONE, POST_LOGISTIC, POST_SOFTMAX, POST_SOFTMAX_ZERO };
enum { MODE_LEAF, MODE_LEQ, MODE_LT, MODE_GTE, MODE_GT, MODE_EQ, MODE_NEQ };
enum { AGG_SUM, AGG_AVERAGE, AGG_MIN, AGG_MAX };

typedef struct {
    int feature;
    float value;
    uint8_t mode, missing_true;
    int yes, no;          /* node indexes */
    int w_first, w_count; /* a leaf's weights */
} tnode;

typedef struct {
    tnode *nodes;
    size_t n_nodes;
    int *roots;
    size_t n_trees;
    int *w_class;
    float *w_value;
    size_t n_targets; /* classes, or regression targets */
    int agg, max_feature;
    float *base;
    size_t n_base;
    int binary_case, all_positive; /* two classes, every weight for one of them; all weights >= 0 */
} forest;

typedef struct {
    opcode op;
    char *name, *op_type;
    int n_in, n_out;
    int *in, *out; /* slots; -1: an optional input left out */
    int64_t axis, keepdims, flag, to;
    int trans_a, trans_b;
    float alpha, beta;
    float *fa, *fb; /* per operator: see read_node */
    size_t n_fa, n_fb;
    float *fc, *fd, *fe; /* SVM: rho, prob_a, prob_b */
    size_t n_fc, n_fd, n_fe;
    int64_t *ia, *ib;
    size_t n_ia, n_ib;
    elem key_type, value_type;
    int64_t idef;
    float fdef;
    int post;
    int64_t *classes; /* class labels: integers, or pool indexes (class_type EL_STRING) */
    size_t n_classes;
    elem class_type;
    forest *trees;
} gnode;

typedef struct {
    int slot;
    size_t first, width; /* its columns among the schema's inputs */
    int rank;            /* 1: [N], 2: [N, width] */
    elem type;
} graph_input;

typedef struct {
    predictor base;
    char *file;
    gnode *nodes;
    size_t n_nodes;
    tensor *consts; /* (n_slots,): the initializers' slots set, constant */
    size_t n_slots;
    char **slot_names;
    char **pool; /* the strings of the graph */
    size_t *pool_len, n_pool;
    graph_input *inputs;
    size_t n_inputs;
    int **cat_pool; /* per schema input: category index -> pool index (strings only) */
    size_t n_schema;
    int answer;     /* the slot answered */
    int answer_col; /* -1: every column; else the one reported (binary: 1) */
    int answer_width;
    uint64_t content;
    char summary[160];
} program;

/* ---- errors ------------------------------------------------------------------- */

typedef struct {
    const program *p;
    tensor *slots;
    char *err;
} run_ctx;

static int node_fail(char *err, const program *p, const gnode *g, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int node_fail(char *err, const program *p, const gnode *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pb_node_verror(err, p->file, g ? g->name : NULL, g ? g->op_type : NULL, fmt, ap);
    va_end(ap);
    return -1;
}

#define FAIL(...) node_fail(r->err, r->p, g, __VA_ARGS__)

static tensor *IN(run_ctx *r, const gnode *g, int k)
{
    return k < g->n_in && g->in[k] >= 0 ? &r->slots[g->in[k]] : NULL;
}
static tensor *OUT(run_ctx *r, const gnode *g, int k) { return &r->slots[g->out[k]]; }

/* Shapes an output (type, rank, dims) and allocates its data. */
static int make(run_ctx *r, const gnode *g, tensor *t, elem type, int rank, const int64_t *dim)
{
    if (rank > MAX_RANK) return FAIL("a result of %d dimensions; tabserve runs up to %d", rank, MAX_RANK);
    tensor_release(t);
    t->type = type;
    t->rank = rank;
    size_t n = 1;
    for (int d = 0; d < rank; d++) {
        if (dim[d] < 0) return FAIL("a result with a negative dimension");
        t->dim[d] = dim[d];
        if (dim[d] && n > (size_t)(MAX_ROW_ELEMENTS * 1024) / (size_t)dim[d])
            return FAIL("a result of more than %ld elements", MAX_ROW_ELEMENTS * 1024);
        n *= (size_t)dim[d];
    }
    t->n = n;
    if (type == EL_FLOAT)
        t->f = malloc((n ? n : 1) * sizeof *t->f);
    else
        t->i = malloc((n ? n : 1) * sizeof *t->i);
    if (!t->f && !t->i) return FAIL("out of memory");
    return 0;
}

static int same_shape_as(run_ctx *r, const gnode *g, tensor *out, elem type, const tensor *x)
{
    return make(r, g, out, type, x->rank, x->dim);
}

/* A float view of a numeric tensor (ints and bools converted), freed by the caller when *owned. */
static const float *as_floats(const tensor *t, int *owned)
{
    *owned = 0;
    if (t->type == EL_FLOAT) return t->f;
    if (t->type == EL_STRING) return NULL;
    float *f = malloc((t->n ? t->n : 1) * sizeof *f);
    if (!f) return NULL;
    for (size_t k = 0; k < t->n; k++) f[k] = (float)t->i[k];
    *owned = 1;
    return f;
}

static int norm_axis(run_ctx *r, const gnode *g, int64_t axis, int rank, int64_t *out)
{
    *out = 0;
    if (axis < -rank || axis >= rank)
        return FAIL("axis %lld of a tensor of %d dimensions", (long long)axis, rank);
    *out = axis < 0 ? axis + rank : axis;
    return 0;
}

static size_t prod(const int64_t *d, int from, int to)
{
    size_t p = 1;
    for (int k = from; k < to; k++) p *= (size_t)d[k];
    return p;
}

/* ---- broadcasting (numpy's rules, as ONNX's) ---------------------------------- */

typedef struct {
    int rank;
    int64_t dim[MAX_RANK];
    size_t stride[3][MAX_RANK]; /* 0 along a broadcast dimension */
} bplan;

static int broadcast(run_ctx *r, const gnode *g, const tensor *const *ts, int k, bplan *b)
{
    b->rank = 0;
    for (int a = 0; a < k; a++)
        if (ts[a]->rank > b->rank) b->rank = ts[a]->rank;
    for (int d = 0; d < b->rank; d++) {
        int64_t size = 1;
        for (int a = 0; a < k; a++) {
            int dd = d - (b->rank - ts[a]->rank);
            int64_t s = dd < 0 ? 1 : ts[a]->dim[dd];
            if (s != 1 && size != 1 && s != size)
                return FAIL("inputs of shapes that do not broadcast (dimension %d: %lld and %lld)", d,
                            (long long)size, (long long)s);
            if (s != 1) size = s;
        }
        b->dim[d] = size;
    }
    for (int a = 0; a < k; a++) {
        size_t st = 1;
        for (int d = b->rank - 1; d >= 0; d--) {
            int dd = d - (b->rank - ts[a]->rank);
            int64_t s = dd < 0 ? 1 : ts[a]->dim[dd];
            b->stride[a][d] = s == 1 ? 0 : st;
            st *= (size_t)s;
        }
    }
    return 0;
}

/* Walks the broadcast result: off[a] is input a's element for result element e. */
#define BROADCAST_LOOP(b, k, n, ...)                                                                         \
    do {                                                                                                     \
        size_t off[3] = {0, 0, 0};                                                                           \
        int64_t idx[MAX_RANK] = {0};                                                                         \
        for (size_t e = 0; e < (n); e++) {                                                                   \
            __VA_ARGS__;                                                                                     \
            for (int d = (b).rank - 1; d >= 0; d--) {                                                        \
                idx[d]++;                                                                                    \
                for (int a = 0; a < (k); a++) off[a] += (b).stride[a][d];                                    \
                if (idx[d] < (b).dim[d]) break;                                                              \
                for (int a = 0; a < (k); a++) off[a] -= (b).stride[a][d] * (size_t)(b).dim[d];               \
                idx[d] = 0;                                                                                  \
            }                                                                                                \
        }                                                                                                    \
    } while (0)

static int op_arith(run_ctx *r, const gnode *g)
{
    const tensor *a = IN(r, g, 0), *c = IN(r, g, 1);
    if (!a || !c) return FAIL("needs two inputs");
    int fl = a->type == EL_FLOAT;
    if (a->type != c->type || (a->type != EL_FLOAT && a->type != EL_INT))
        return FAIL("inputs of types %s and %s; it takes two floats or two integers", elem_names[a->type],
                    elem_names[c->type]);
    const tensor *ts[2] = {a, c};
    bplan b;
    if (broadcast(r, g, ts, 2, &b) != 0) return -1;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, a->type, b.rank, b.dim) != 0) return -1;
    opcode op = g->op;
    if (fl)
        BROADCAST_LOOP(b, 2, o->n, {
            float x = a->f[off[0]], y = c->f[off[1]];
            o->f[e] = op == OP_ADD ? x + y : op == OP_SUB ? x - y : op == OP_MUL ? x * y : x / y;
        });
    else
        BROADCAST_LOOP(b, 2, o->n, {
            int64_t x = a->i[off[0]], y = c->i[off[1]];
            /* wrapping, as the hardware does; division by zero gives 0 rather than a trap */
            o->i[e] = op == OP_ADD                            ? (int64_t)((uint64_t)x + (uint64_t)y)
                      : op == OP_SUB                          ? (int64_t)((uint64_t)x - (uint64_t)y)
                      : op == OP_MUL                          ? (int64_t)((uint64_t)x * (uint64_t)y)
                      : y == 0 || (x == INT64_MIN && y == -1) ? 0
                                                              : x / y;
        });
    return 0;
}

static int op_where(run_ctx *r, const gnode *g)
{
    const tensor *c = IN(r, g, 0), *x = IN(r, g, 1), *y = IN(r, g, 2);
    if (!c || !x || !y) return FAIL("needs three inputs");
    if (c->type != EL_BOOL) return FAIL("its condition is %s, not bool", elem_names[c->type]);
    if (x->type != y->type) return FAIL("picks between %s and %s", elem_names[x->type], elem_names[y->type]);
    const tensor *ts[3] = {c, x, y};
    bplan b;
    if (broadcast(r, g, ts, 3, &b) != 0) return -1;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, x->type, b.rank, b.dim) != 0) return -1;
    if (x->type == EL_FLOAT)
        BROADCAST_LOOP(b, 3, o->n, o->f[e] = c->i[off[0]] ? x->f[off[1]] : y->f[off[2]]);
    else
        BROADCAST_LOOP(b, 3, o->n, o->i[e] = c->i[off[0]] ? x->i[off[1]] : y->i[off[2]]);
    return 0;
}

/* ---- elementwise and shape operators ------------------------------------------ */

static float sigmoid(float z) { return z >= 0 ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z)); }

static int op_unary(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type != EL_FLOAT) return FAIL("takes a float tensor");
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, EL_FLOAT, x) != 0) return -1;
    for (size_t k = 0; k < x->n; k++) {
        float v = x->f[k];
        o->f[k] = g->op == OP_RELU ? (v > 0 ? v : 0) : g->op == OP_TANH ? tanhf(v) : sigmoid(v);
    }
    return 0;
}

static int copy_into(run_ctx *r, const gnode *g, tensor *o, const tensor *x, int rank, const int64_t *dim);

/* The unary elementwise functions, by the index read_node gives g->flag. */
static const char *const math_names[] = {
    "Abs", "Neg",      "Exp",      "Log", "Sqrt", "Reciprocal", "Floor",       "Ceil", "Round", "Sign",
    "Erf", "Softplus", "Softsign", "Elu", "Selu", "LeakyRelu",  "HardSigmoid", "Gelu", "Mish"};
enum {
    M_ABS,
    M_NEG,
    M_EXP,
    M_LOG,
    M_SQRT,
    M_RECIP,
    M_FLOOR,
    M_CEIL,
    M_ROUND,
    M_SIGN,
    M_ERF,
    M_SOFTPLUS,
    M_SOFTSIGN,
    M_ELU,
    M_SELU,
    M_LEAKY,
    M_HARDSIGMOID,
    M_GELU,
    M_MISH
};

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

static int op_math(run_ctx *r, const gnode *g)
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
static int op_dropout(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x) return FAIL("needs an input");
    tensor *o = OUT(r, g, 0);
    if (copy_into(r, g, o, x, x->rank, x->dim) != 0) return -1;
    if (g->n_out > 1 && g->out[1] >= 0) {
        tensor *mask = OUT(r, g, 1);
        if (same_shape_as(r, g, mask, EL_BOOL, x) != 0) return -1;
        for (size_t k = 0; k < x->n; k++) mask->i[k] = 1;
    }
    return 0;
}

static int op_pow(run_ctx *r, const gnode *g)
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

static int op_variadic(run_ctx *r, const gnode *g)
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

static int op_compare(run_ctx *r, const gnode *g)
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

static int op_logic(run_ctx *r, const gnode *g)
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
static int op_clip(run_ctx *r, const gnode *g)
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
static int op_batchnorm(run_ctx *r, const gnode *g)
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

static int op_binarizer(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type != EL_FLOAT) return FAIL("takes a float tensor");
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, EL_FLOAT, x) != 0) return -1;
    for (size_t k = 0; k < x->n; k++) o->f[k] = x->f[k] > g->alpha ? 1.0f : 0.0f;
    return 0;
}

static int copy_into(run_ctx *r, const gnode *g, tensor *o, const tensor *x, int rank, const int64_t *dim)
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

static elem elem_of_onnx(int64_t t, int *ok)
{
    *ok = 1;
    switch (t) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return EL_FLOAT;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: return EL_INT;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return EL_BOOL;
    case ONNX__TENSOR_PROTO__DATA_TYPE__STRING: return EL_STRING;
    default: *ok = 0; return EL_FLOAT;
    }
}

/* float -> integer as the hardware truncates; NaN and out of range give INT64_MIN, as x86's cvttss2si */
static int64_t to_int(float v)
{
    return isnan(v) || v >= 9.2233720e18f || v < -9.2233720e18f ? INT64_MIN : (int64_t)v;
}

static int op_cast(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x) return FAIL("needs an input");
    elem to = (elem)g->to;
    if (g->op == OP_CASTLIKE) {
        const tensor *like = IN(r, g, 1);
        if (!like) return FAIL("needs the tensor whose type it takes");
        to = like->type;
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
            o->i[k] = x->type == EL_FLOAT ? to_int(x->f[k]) : x->i[k];
    }
    return 0;
}

static int op_identity(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x) return FAIL("needs an input");
    return copy_into(r, g, OUT(r, g, 0), x, x->rank, x->dim);
}

static int op_reshape(run_ctx *r, const gnode *g)
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
    return copy_into(r, g, OUT(r, g, 0), x, (int)s->n, dim);
}

static int op_flatten(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x) return FAIL("needs an input");
    int64_t axis = g->axis < 0 ? g->axis + x->rank : g->axis;
    if (axis < 0 || axis > x->rank) return FAIL("axis %lld of %d dimensions", (long long)g->axis, x->rank);
    int64_t dim[2] = {(int64_t)prod(x->dim, 0, (int)axis), (int64_t)prod(x->dim, (int)axis, x->rank)};
    return copy_into(r, g, OUT(r, g, 0), x, 2, dim);
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

static int op_squeeze(run_ctx *r, const gnode *g)
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
    return copy_into(r, g, OUT(r, g, 0), x, rank, dim);
}

static int op_unsqueeze(run_ctx *r, const gnode *g)
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
    return copy_into(r, g, OUT(r, g, 0), x, rank, dim);
}

static int op_concat(run_ctx *r, const gnode *g)
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

static int op_gather(run_ctx *r, const gnode *g)
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

static int op_matmul(run_ctx *r, const gnode *g)
{
    const tensor *a = IN(r, g, 0), *b = IN(r, g, 1);
    if (!a || !b || a->type != EL_FLOAT || b->type != EL_FLOAT) return FAIL("multiplies float tensors");
    if (b->rank > 2 || a->rank < 1 || b->rank < 1)
        return FAIL("multiplies a %d-D tensor by a %d-D one; tabserve takes a 1-D or 2-D right side", a->rank,
                    b->rank);
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

static int op_gemm(run_ctx *r, const gnode *g)
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
static void softmax_rows(float *v, size_t rows, size_t k, int zero)
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

static int op_softmax(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type != EL_FLOAT) return FAIL("takes a float tensor");
    int64_t axis;
    if (norm_axis(r, g, g->axis, x->rank, &axis) != 0) return -1;
    tensor *o = OUT(r, g, 0);
    if (copy_into(r, g, o, x, x->rank, x->dim) != 0) return -1;
    if (g->flag) { /* opset < 13: rows of the tensor flattened at the axis */
        softmax_rows(o->f, prod(x->dim, 0, (int)axis), prod(x->dim, (int)axis, x->rank), 0);
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
            softmax_rows(line, 1, len, 0);
            for (size_t t = 0; t < len; t++) o->f[(q * len + t) * inner + j] = line[t];
        }
    free(line);
    if (g->to) log_all(o);
    return 0;
}

static int op_argmax(run_ctx *r, const gnode *g)
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
static int op_shape(run_ctx *r, const gnode *g)
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
static int op_transpose(run_ctx *r, const gnode *g)
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
static int op_slice(run_ctx *r, const gnode *g)
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

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_SUMSQUARE, R_LOGSUMEXP };
static const char *const reduce_names[] = {"ReduceSum", "ReduceMean",      "ReduceMax",
                                           "ReduceMin", "ReduceProd",      "ReduceL1",
                                           "ReduceL2",  "ReduceSumSquare", "ReduceLogSumExp"};

/* Reduce*: over the axes (the attribute, or the second input from ReduceSum's opset 13 and
 * every reduction's 18; none: all of them, or none with noop_with_empty_axes), in double. */
static int op_reduce(run_ctx *r, const gnode *g)
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
        return copy_into(r, g, OUT(r, g, 0), x, x->rank, x->dim); /* noop_with_empty_axes */
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
static int op_layernorm(run_ctx *r, const gnode *g)
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
static int op_size(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x) return FAIL("needs an input");
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, EL_INT, 0, NULL) != 0) return -1;
    o->i[0] = (int64_t)x->n;
    return 0;
}

static int op_isnan(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type != EL_FLOAT) return FAIL("takes a float tensor");
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, EL_BOOL, x) != 0) return -1;
    for (size_t k = 0; k < x->n; k++) o->i[k] = isnan(x->f[k]);
    return 0;
}

/* PRelu: x, or slope * x below 0, the slope broadcast over x. */
static int op_prelu(run_ctx *r, const gnode *g)
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
static int op_constant_of_shape(run_ctx *r, const gnode *g)
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
static int op_expand(run_ctx *r, const gnode *g)
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
static int op_split(run_ctx *r, const gnode *g)
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

static int op_topk(run_ctx *r, const gnode *g)
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
static int op_gather_elements(run_ctx *r, const gnode *g)
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

/* ---- ai.onnx.ml: preprocessing ------------------------------------------------ */

/* Per-column parameters: one value for every column, or one per column of the last dimension. */
static int per_column(run_ctx *r, const gnode *g, size_t count, const tensor *x, const char *what)
{
    size_t cols = x->rank ? (size_t)x->dim[x->rank - 1] : 1;
    if (count != 1 && count != cols) return FAIL("%s holds %zu values for %zu columns", what, count, cols);
    return 0;
}

static int op_imputer(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || (x->type != EL_FLOAT && x->type != EL_INT)) return FAIL("takes a numeric tensor");
    int fl = x->type == EL_FLOAT;
    size_t count = fl ? g->n_fa : g->n_ia;
    if (!count)
        return FAIL("has no imputed_value_%s for its %s input", fl ? "floats" : "int64s",
                    elem_names[x->type]);
    if (per_column(r, g, count, x, "imputed values") != 0) return -1;
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, x->type, x) != 0) return -1;
    size_t cols = x->rank ? (size_t)x->dim[x->rank - 1] : 1;
    for (size_t k = 0; k < x->n; k++) {
        size_t j = count == 1 ? 0 : k % cols;
        if (fl) {
            float v = x->f[k];
            int replace = isnan(g->fdef) ? isnan(v) : v == g->fdef;
            o->f[k] = replace ? g->fa[j] : v;
        } else
            o->i[k] = x->i[k] == g->idef ? g->ia[j] : x->i[k];
    }
    return 0;
}

static int op_scaler(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type == EL_STRING || x->type == EL_BOOL) return FAIL("takes a numeric tensor");
    if (per_column(r, g, g->n_fa, x, "offset") != 0 || per_column(r, g, g->n_fb, x, "scale") != 0) return -1;
    int owned;
    const float *v = as_floats(x, &owned);
    tensor *o = OUT(r, g, 0);
    if (!v || same_shape_as(r, g, o, EL_FLOAT, x) != 0) {
        if (owned) free((float *)v);
        return v ? -1 : FAIL("out of memory");
    }
    size_t cols = x->rank ? (size_t)x->dim[x->rank - 1] : 1;
    for (size_t k = 0; k < x->n; k++)
        o->f[k] = (v[k] - g->fa[g->n_fa == 1 ? 0 : k % cols]) * g->fb[g->n_fb == 1 ? 0 : k % cols];
    if (owned) free((float *)v);
    return 0;
}

/* The key of a value for the encoders: an integer, a pool index, or a float's bits. */
static int key_matches(run_ctx *r, const gnode *g, const tensor *x, elem key)
{
    int ok = x->type == key || (key == EL_INT && x->type == EL_FLOAT && g->op == OP_ONEHOT);
    return ok ? 0 : FAIL("its keys are %s but its input is %s", elem_names[key], elem_names[x->type]);
}

static int op_onehot(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || key_matches(r, g, x, g->key_type) != 0) return -1;
    if (x->rank >= MAX_RANK) return FAIL("a %d-D input", x->rank);
    int64_t dim[MAX_RANK];
    memcpy(dim, x->dim, sizeof dim);
    dim[x->rank] = (int64_t)g->n_ia;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, EL_FLOAT, x->rank + 1, dim) != 0) return -1;
    for (size_t k = 0; k < x->n; k++) {
        int64_t v = x->type == EL_FLOAT ? to_int(x->f[k]) : x->i[k];
        for (size_t c = 0; c < g->n_ia; c++) o->f[k * g->n_ia + c] = g->ia[c] == v && v != -1 ? 1.0f : 0.0f;
        /* a value of no category: zeros (zeros = 1); with zeros = 0 ONNX Runtime fails the batch,
           tabserve gives the row no finite prediction */
        if (!g->flag) {
            int any = 0;
            for (size_t c = 0; c < g->n_ia; c++) any |= g->ia[c] == v && v != -1;
            if (!any)
                for (size_t c = 0; c < g->n_ia; c++) o->f[k * g->n_ia + c] = NAN;
        }
    }
    return 0;
}

static int op_labelenc(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || key_matches(r, g, x, g->key_type) != 0) return -1;
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, g->value_type, x) != 0) return -1;
    size_t n_keys = g->key_type == EL_FLOAT ? g->n_fa : g->n_ia;
    for (size_t k = 0; k < x->n; k++) {
        size_t hit = n_keys;
        for (size_t c = 0; c < n_keys && hit == n_keys; c++)
            if (g->key_type == EL_FLOAT ? g->fa[c] == x->f[k] || (isnan(g->fa[c]) && isnan(x->f[k]))
                                        : g->ia[c] == x->i[k] && x->i[k] != -1)
                hit = c;
        if (g->value_type == EL_FLOAT)
            o->f[k] = hit < n_keys ? g->fb[hit] : g->fdef;
        else
            o->i[k] = hit < n_keys ? g->ib[hit] : g->idef;
    }
    return 0;
}

static int op_normalizer(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type == EL_STRING || x->type == EL_BOOL || x->rank < 1 || x->rank > 2)
        return FAIL("takes a 1-D or 2-D numeric tensor");
    int owned;
    const float *v = as_floats(x, &owned);
    tensor *o = OUT(r, g, 0);
    if (!v || same_shape_as(r, g, o, EL_FLOAT, x) != 0) {
        if (owned) free((float *)v);
        return v ? -1 : FAIL("out of memory");
    }
    size_t cols = (size_t)x->dim[x->rank - 1], rows = cols ? x->n / cols : 0;
    for (size_t q = 0; q < rows; q++) {
        const float *row = v + q * cols;
        float norm = g->flag == 0 ? -INFINITY : 0;
        for (size_t j = 0; j < cols; j++)
            norm = g->flag == 0   ? (row[j] > norm ? row[j] : norm)
                   : g->flag == 1 ? norm + fabsf(row[j])
                                  : norm + row[j] * row[j];
        if (g->flag == 2) norm = sqrtf(norm);
        for (size_t j = 0; j < cols; j++) o->f[q * cols + j] = row[j] / norm;
    }
    if (owned) free((float *)v);
    return 0;
}

static int op_extract(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0), *ix = IN(r, g, 1);
    if (!x || !ix || ix->type != EL_INT) return FAIL("needs data and int64 indexes");
    int64_t dim[MAX_RANK];
    int rank = x->rank < 1 ? 1 : x->rank;
    memcpy(dim, x->dim, sizeof dim);
    if (x->rank <= 1) rank = 2, dim[0] = 1; /* ONNX Runtime answers a 1-D input as one row */
    size_t cols = (size_t)x->dim[x->rank ? x->rank - 1 : 0];
    for (size_t k = 0; k < ix->n; k++)
        if (ix->i[k] < 0 || (size_t)ix->i[k] >= cols)
            return FAIL("index %lld of %zu columns", (long long)ix->i[k], cols);
    dim[rank - 1] = (int64_t)ix->n;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, x->type, rank, dim) != 0) return -1;
    size_t rows = cols ? x->n / cols : 0;
    for (size_t q = 0; q < rows; q++)
        for (size_t k = 0; k < ix->n; k++) {
            size_t from = q * cols + (size_t)ix->i[k], at = q * ix->n + k;
            if (x->type == EL_FLOAT)
                o->f[at] = x->f[from];
            else
                o->i[at] = x->i[from];
        }
    return 0;
}

static int op_vectorize(run_ctx *r, const gnode *g)
{
    const tensor *x0 = IN(r, g, 0);
    if (!x0) return FAIL("needs inputs");
    if ((size_t)g->n_in != g->n_ia) return FAIL("has %d inputs and %zu inputdimensions", g->n_in, g->n_ia);
    int64_t rows = x0->rank ? x0->dim[0] : 1, width = 0;
    for (size_t k = 0; k < g->n_ia; k++) width += g->ia[k];
    int64_t dim[2] = {rows, width};
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, EL_FLOAT, 2, dim) != 0) return -1;
    size_t at = 0;
    for (int k = 0; k < g->n_in; k++) {
        const tensor *x = IN(r, g, k);
        if (!x || x->type == EL_STRING || (x->rank ? x->dim[0] : 1) != rows)
            return FAIL("input %d is not numeric with %lld rows", k, (long long)rows);
        size_t cols = rows ? x->n / (size_t)rows : 0;
        for (int64_t q = 0; q < rows; q++)
            for (int64_t j = 0; j < g->ia[k]; j++) {
                size_t from = (size_t)q * cols + (size_t)j;
                float v = (size_t)j >= cols ? 0 : x->type == EL_FLOAT ? x->f[from] : (float)x->i[from];
                o->f[(size_t)q * (size_t)width + at + (size_t)j] = v;
            }
        at += (size_t)g->ia[k];
    }
    return 0;
}

/* ---- ai.onnx.ml: estimators --------------------------------------------------- */

static void post_transform(int post, float *s, size_t rows, size_t k)
{
    if (post == POST_LOGISTIC)
        for (size_t q = 0; q < rows * k; q++) s[q] = sigmoid(s[q]);
    else if (post == POST_SOFTMAX || post == POST_SOFTMAX_ZERO)
        softmax_rows(s, rows, k, post == POST_SOFTMAX_ZERO);
}

/* The classifiers' outputs: labels (the best class) and scores (rows, k). */
static int classifier_out(run_ctx *r, const gnode *g, int64_t rows, size_t k, tensor **label, tensor **scores)
{
    int64_t d1[1] = {rows}, d2[2] = {rows, (int64_t)k};
    *label = OUT(r, g, 0);
    if (make(r, g, *label, g->class_type, 1, d1) != 0) return -1;
    *scores = g->n_out > 1 ? OUT(r, g, 1) : NULL;
    if (*scores && make(r, g, *scores, EL_FLOAT, 2, d2) != 0) return -1;
    return 0;
}

static void set_label(const gnode *g, tensor *label, size_t q, const float *s, size_t k)
{
    size_t best = 0;
    for (size_t c = 1; c < k; c++)
        if (s[c] > s[best]) best = c;
    label->i[q] = g->classes[best];
}

/* ---- support vector machines (as ONNX Runtime runs them) ----------------------- */

enum { K_LINEAR, K_POLY, K_RBF, K_SIGMOID };

/* The kernel of x and a support vector (or coefficient row) v of n features:
 * parameters gamma (alpha), coef0 (beta), degree (fdef). */
static float svm_kernel(const gnode *g, const float *x, const float *v, size_t n)
{
    double sum = 0;
    if (g->to == K_RBF) {
        for (size_t f = 0; f < n; f++) sum += ((double)x[f] - v[f]) * ((double)x[f] - v[f]);
        return expf(-g->alpha * (float)sum);
    }
    for (size_t f = 0; f < n; f++) sum += (double)x[f] * v[f];
    if (g->to == K_POLY) return powf(g->alpha * (float)sum + g->beta, g->fdef);
    if (g->to == K_SIGMOID) return tanhf(g->alpha * (float)sum + g->beta);
    return (float)sum;
}

/* libsvm's pairwise coupling: class probabilities from pairwise ones r (k x k).
 * work: k * k + k doubles. */
static void svm_coupling(size_t k, const float *r, float *p, double *work)
{
    double *q = work, *qp = work + k * k;
    for (size_t t = 0; t < k; t++) {
        p[t] = 1.0f / (float)k;
        q[t * k + t] = 0;
        for (size_t j = 0; j < t; j++) {
            q[t * k + t] += (double)r[j * k + t] * r[j * k + t];
            q[t * k + j] = q[j * k + t];
        }
        for (size_t j = t + 1; j < k; j++) {
            q[t * k + t] += (double)r[j * k + t] * r[j * k + t];
            q[t * k + j] = -(double)r[j * k + t] * r[t * k + j];
        }
    }
    double eps = 0.005 / (double)k;
    for (int iter = 0; iter < 100; iter++) {
        double pqp = 0;
        for (size_t t = 0; t < k; t++) {
            qp[t] = 0;
            for (size_t j = 0; j < k; j++) qp[t] += q[t * k + j] * p[j];
            pqp += p[t] * qp[t];
        }
        double worst = 0;
        for (size_t t = 0; t < k; t++) worst = fmax(worst, fabs(qp[t] - pqp));
        if (worst < eps) break;
        for (size_t t = 0; t < k; t++) {
            double diff = (-qp[t] + pqp) / q[t * k + t];
            p[t] += (float)diff;
            pqp = (pqp + diff * (diff * q[t * k + t] + 2 * qp[t])) / (1 + diff) / (1 + diff);
            for (size_t j = 0; j < k; j++) {
                qp[j] = (qp[j] + diff * q[t * k + j]) / (1 + diff);
                p[j] /= (float)(1 + diff);
            }
        }
    }
}

static int op_svm(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type != EL_FLOAT || x->rank < 1 || x->rank > 2)
        return FAIL("takes a 1-D or 2-D float tensor");
    size_t cols = (size_t)x->dim[x->rank - 1], rows = x->rank == 2 ? (size_t)x->dim[0] : 1;
    size_t n_sv = 0, k = g->op == OP_SVM_CLS ? g->n_classes : 1;
    for (size_t c = 0; c < g->n_ia; c++) n_sv += (size_t)g->ia[c];
    size_t nf =
        n_sv ? g->n_fa / n_sv : g->n_fb / k; /* features: a support vector's, or a coefficient row's */
    if (nf != cols) return FAIL("is made for %zu features; the input has %zu", nf, cols);
    if (g->op == OP_SVM_REG) {
        int64_t d2[2] = {(int64_t)rows, 1};
        tensor *o = OUT(r, g, 0);
        if (make(r, g, o, EL_FLOAT, 2, d2) != 0) return -1;
        for (size_t q = 0; q < rows; q++) {
            const float *row = x->f + q * cols;
            double sum = 0;
            if (n_sv)
                for (size_t s = 0; s < n_sv; s++)
                    sum += (double)g->fb[s] * svm_kernel(g, row, g->fa + s * nf, nf);
            else
                sum = svm_kernel(g, row, g->fb, nf);
            float v = (float)(sum + g->fc[0]);
            o->f[q] = g->flag ? (v > 0 ? 1.0f : -1.0f) : v; /* one_class: inside or outside */
        }
        return 0;
    }
    size_t pairs = k * (k - 1) / 2, width = n_sv && !g->n_fd ? (k > 2 ? pairs : 2) : k;
    tensor *label, *scores;
    if (classifier_out(r, g, (int64_t)rows, width, &label, &scores) != 0) return -1;
    float *sc = malloc((width + pairs + k * k + n_sv + 1) * sizeof *sc), *dec = sc + width, *pr = dec + pairs,
          *kern = pr + k * k;
    int64_t votes[OUTPUT_MAX_CLASSES];
    double *work = g->n_fd ? malloc((k * k + k) * sizeof *work) : NULL;
    if (!sc || (g->n_fd && !work)) {
        free(sc);
        free(work);
        return FAIL("out of memory");
    }
    for (size_t q = 0; q < rows; q++) {
        const float *row = x->f + q * cols;
        size_t best = 0;
        if (!n_sv) { /* linear: a coefficient row a class, rho[0] for every class */
            for (size_t c = 0; c < k; c++) sc[c] = svm_kernel(g, row, g->fb + c * nf, nf) + g->fc[0];
            for (size_t c = 1; c < k; c++)
                if (sc[c] > sc[best]) best = c;
        } else {
            for (size_t s = 0; s < n_sv; s++) kern[s] = svm_kernel(g, row, g->fa + s * nf, nf);
            memset(votes, 0, sizeof votes);
            size_t pair = 0, start_i = 0;
            for (size_t i = 0; i + 1 < k; i++) {
                size_t start_j = start_i + (size_t)g->ia[i];
                for (size_t j = i + 1; j < k; j++) {
                    double sum = 0;
                    for (int64_t m = 0; m < g->ia[i]; m++)
                        sum +=
                            (double)g->fb[(j - 1) * n_sv + start_i + (size_t)m] * kern[start_i + (size_t)m];
                    for (int64_t m = 0; m < g->ia[j]; m++)
                        sum += (double)g->fb[i * n_sv + start_j + (size_t)m] * kern[start_j + (size_t)m];
                    sum += g->fc[pair];
                    dec[pair++] = (float)sum;
                    votes[sum > 0 ? i : j]++;
                    start_j += (size_t)g->ia[j];
                }
                start_i += (size_t)g->ia[i];
            }
            for (size_t c = 1; c < k; c++)
                if (votes[c] > votes[best]) best = c;
            if (g->n_fd) { /* Platt-scaled pairwise probabilities, coupled into one a class */
                pair = 0;
                for (size_t i = 0; i + 1 < k; i++)
                    for (size_t j = i + 1; j < k; j++, pair++) {
                        double v = (double)dec[pair] * g->fd[pair] + g->fe[pair];
                        float p = (float)(v >= 0 ? exp(-v) / (1 + exp(-v)) : 1 / (1 + exp(v)));
                        p = fminf(fmaxf(p, 1.0e-7f), 1 - 1.0e-7f);
                        pr[i * k + j] = p;
                        pr[j * k + i] = 1 - p;
                    }
                svm_coupling(k, pr, sc, work);
                best = 0;
                for (size_t c = 1; c < k; c++)
                    if (sc[c] > sc[best]) best = c;
            } else if (k == 2) { /* one decision value d: the scores [-d, d] */
                sc[0] = -dec[0];
                sc[1] = dec[0];
            } else
                memcpy(sc, dec, pairs * sizeof *sc);
        }
        label->i[q] = g->classes[best];
        if (scores) memcpy(scores->f + q * width, sc, width * sizeof *sc);
    }
    free(sc);
    free(work);
    return 0;
}

static int op_linear(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type == EL_STRING || x->type == EL_BOOL || x->rank < 1 || x->rank > 2)
        return FAIL("takes a 1-D or 2-D numeric tensor");
    size_t cols = (size_t)x->dim[x->rank - 1], rows = x->rank == 2 ? (size_t)x->dim[0] : 1;
    size_t targets = cols ? g->n_fa / cols : 0;
    if (!cols || g->n_fa % cols || !targets)
        return FAIL("coefficients hold %zu values for %zu columns", g->n_fa, cols);
    if (g->n_fb && g->n_fb != targets)
        return FAIL("intercepts hold %zu values for %zu rows", g->n_fb, targets);
    int classifier = g->op == OP_LINCLS;
    size_t k = classifier ? g->n_classes : targets;
    int two =
        classifier && targets == 1 && k == 2; /* one score: the second class's, the first its negative */
    if (classifier && targets != k && !two)
        return FAIL("%zu rows of coefficients for %zu classes", targets, k);
    int owned;
    const float *v = as_floats(x, &owned);
    if (!v) return FAIL("out of memory");
    float *s = malloc((rows * k + 1) * sizeof *s);
    tensor *label = NULL, *scores = NULL, *out = NULL;
    int rc = s ? 0 : FAIL("out of memory");
    if (!rc && classifier)
        rc = classifier_out(r, g, (int64_t)rows, k, &label, &scores);
    else if (!rc) {
        int64_t d2[2] = {(int64_t)rows, (int64_t)k};
        rc = make(r, g, out = OUT(r, g, 0), EL_FLOAT, 2, d2);
    }
    for (size_t q = 0; !rc && q < rows; q++) {
        float *row = s + q * k;
        for (size_t t = 0; t < targets; t++) {
            float z = g->n_fb ? g->fb[t] : 0;
            for (size_t j = 0; j < cols; j++) z += g->fa[t * cols + j] * v[q * cols + j];
            row[two ? 1 : t] = z;
        }
        if (two) row[0] = -row[1];
    }
    if (!rc) post_transform(g->post, s, rows, k);
    for (size_t q = 0; !rc && q < rows && label; q++) set_label(g, label, q, s + q * k, k);
    if (!rc && (scores || out)) memcpy((scores ? scores : out)->f, s, rows * k * sizeof *s);
    free(s);
    if (owned) free((float *)v);
    return rc;
}

static int tree_leaf(const forest *fo, int at, const float *row)
{
    for (;;) {
        const tnode *nd = &fo->nodes[at];
        if (nd->mode == MODE_LEAF) return at;
        float x = row[nd->feature], t = nd->value;
        int yes = nd->mode == MODE_LEQ   ? x <= t
                  : nd->mode == MODE_LT  ? x < t
                  : nd->mode == MODE_GTE ? x >= t
                  : nd->mode == MODE_GT  ? x > t
                  : nd->mode == MODE_EQ  ? x == t
                                         : x != t;
        if (isnan(x) && nd->missing_true) yes = 1;
        at = yes ? nd->yes : nd->no;
    }
}

static int op_trees(run_ctx *r, const gnode *g)
{
    const forest *fo = g->trees;
    const tensor *x = IN(r, g, 0);
    if (!x || x->type == EL_STRING || x->type == EL_BOOL || x->rank < 1 || x->rank > 2)
        return FAIL("takes a 1-D or 2-D numeric tensor");
    size_t cols = (size_t)x->dim[x->rank - 1], rows = x->rank == 2 ? (size_t)x->dim[0] : 1;
    if ((size_t)fo->max_feature >= cols)
        return FAIL("a node splits on feature %d; the input has %zu", fo->max_feature, cols);
    int classifier = g->op == OP_TREECLS;
    size_t k = fo->n_targets;
    int owned;
    const float *v = as_floats(x, &owned);
    if (!v) return FAIL("out of memory");
    double *sum = calloc(k, sizeof *sum);
    unsigned char *has = calloc(k, 1);
    float *s = malloc((rows * k + 1) * sizeof *s);
    tensor *label = NULL, *scores = NULL, *out = NULL;
    int rc = sum && has && s ? 0 : FAIL("out of memory");
    if (!rc && classifier)
        rc = classifier_out(r, g, (int64_t)rows, k, &label, &scores);
    else if (!rc) {
        int64_t d2[2] = {(int64_t)rows, (int64_t)k};
        rc = make(r, g, out = OUT(r, g, 0), EL_FLOAT, 2, d2);
    }
    for (size_t q = 0; !rc && q < rows; q++) {
        const float *row = v + q * cols;
        memset(sum, 0, k * sizeof *sum);
        memset(has, 0, k);
        for (size_t t = 0; t < fo->n_trees; t++) {
            const tnode *leaf = &fo->nodes[tree_leaf(fo, fo->roots[t], row)];
            for (int w = leaf->w_first; w < leaf->w_first + leaf->w_count; w++) {
                int c = fo->w_class[w];
                double val = fo->w_value[w];
                if (fo->agg == AGG_MIN)
                    sum[c] = has[c] && sum[c] < val ? sum[c] : val;
                else if (fo->agg == AGG_MAX)
                    sum[c] = has[c] && sum[c] > val ? sum[c] : val;
                else
                    sum[c] += val;
                has[c] = 1;
            }
        }
        if (fo->agg == AGG_AVERAGE)
            for (size_t c = 0; c < k; c++) sum[c] /= (double)fo->n_trees;
        float *sc = s + q * k;
        if (classifier && fo->binary_case) {
            /* one score, for the second class whichever id its weights carry; the first is its
             * complement (weights all >= 0: probabilities) or its negative (margins) */
            double z = sum[0] + sum[1] + (fo->n_base ? fo->base[fo->n_base > 1 ? 1 : 0] : 0);
            if (g->post == POST_LOGISTIC)
                sc[1] = sigmoid((float)z), sc[0] = sigmoid((float)-z);
            else /* NONE, and SOFTMAX too: ONNX Runtime does not spread one score over two classes */
                sc[1] = (float)z, sc[0] = (float)(fo->all_positive ? 1 - z : -z);
        } else {
            for (size_t c = 0; c < k; c++) sc[c] = (float)(sum[c] + (fo->n_base ? fo->base[c] : 0));
            post_transform(g->post, sc, 1, k);
        }
        if (label) set_label(g, label, q, sc, k);
    }
    if (!rc && (scores || out)) memcpy((scores ? scores : out)->f, s, rows * k * sizeof *s);
    free(sum);
    free(has);
    free(s);
    if (owned) free((float *)v);
    return rc;
}

static int op_zipmap(run_ctx *r, const gnode *g)
{
    /* a map per row, {label: probability}: tabserve answers the probabilities themselves */
    const tensor *x = IN(r, g, 0);
    if (!x || x->type != EL_FLOAT || x->rank != 2) return FAIL("takes a 2-D float tensor");
    return copy_into(r, g, OUT(r, g, 0), x, 2, x->dim);
}

/* ---- a run -------------------------------------------------------------------- */

static int run_node(run_ctx *r, const gnode *g)
{
    switch (g->op) {
    case OP_IDENTITY: return op_identity(r, g);
    case OP_CAST:
    case OP_CASTLIKE: return op_cast(r, g);
    case OP_RESHAPE: return op_reshape(r, g);
    case OP_FLATTEN: return op_flatten(r, g);
    case OP_SQUEEZE: return op_squeeze(r, g);
    case OP_UNSQUEEZE: return op_unsqueeze(r, g);
    case OP_CONCAT: return op_concat(r, g);
    case OP_GATHER: return op_gather(r, g);
    case OP_MATMUL: return op_matmul(r, g);
    case OP_GEMM: return op_gemm(r, g);
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV: return op_arith(r, g);
    case OP_RELU:
    case OP_SIGMOID:
    case OP_TANH: return op_unary(r, g);
    case OP_UNARY_MATH: return op_math(r, g);
    case OP_DROPOUT: return op_dropout(r, g);
    case OP_POW: return op_pow(r, g);
    case OP_VARIADIC: return op_variadic(r, g);
    case OP_COMPARE: return op_compare(r, g);
    case OP_LOGIC:
    case OP_NOT: return op_logic(r, g);
    case OP_CLIP: return op_clip(r, g);
    case OP_BATCHNORM: return op_batchnorm(r, g);
    case OP_BINARIZER: return op_binarizer(r, g);
    case OP_SVM_CLS:
    case OP_SVM_REG: return op_svm(r, g);

    case OP_SOFTMAX: return op_softmax(r, g);
    case OP_ARGMAX: return op_argmax(r, g);
    case OP_WHERE: return op_where(r, g);
    case OP_SHAPE: return op_shape(r, g);
    case OP_SLICE: return op_slice(r, g);
    case OP_TRANSPOSE: return op_transpose(r, g);
    case OP_REDUCE: return op_reduce(r, g);
    case OP_LAYERNORM: return op_layernorm(r, g);
    case OP_SIZE: return op_size(r, g);
    case OP_ISNAN: return op_isnan(r, g);
    case OP_PRELU: return op_prelu(r, g);
    case OP_CONSTANT_OF_SHAPE: return op_constant_of_shape(r, g);
    case OP_EXPAND: return op_expand(r, g);
    case OP_SPLIT: return op_split(r, g);
    case OP_TOPK: return op_topk(r, g);
    case OP_GATHER_ELEMENTS: return op_gather_elements(r, g);
    case OP_IMPUTER: return op_imputer(r, g);
    case OP_SCALER: return op_scaler(r, g);
    case OP_ONEHOT: return op_onehot(r, g);
    case OP_LABELENC: return op_labelenc(r, g);
    case OP_NORMALIZER: return op_normalizer(r, g);
    case OP_LINCLS:
    case OP_LINREG: return op_linear(r, g);
    case OP_TREECLS:
    case OP_TREEREG: return op_trees(r, g);
    case OP_EXTRACT: return op_extract(r, g);
    case OP_VECTORIZE: return op_vectorize(r, g);
    case OP_ZIPMAP: return op_zipmap(r, g);
    }
    return -1;
}

/* The graph's inputs from x (n, n_features): the schema's columns, strings
 * from their category index to the pool's. */
static int feed(run_ctx *r, const float *x, int n)
{
    const program *p = r->p;
    for (size_t k = 0; k < p->n_inputs; k++) {
        const graph_input *gi = &p->inputs[k];
        int64_t dim[2] = {n, (int64_t)gi->width};
        tensor *t = &r->slots[gi->slot];
        gnode none = {.name = "", .op_type = "input"};
        if (make(r, &none, t, gi->type, gi->rank, dim) != 0) return -1;
        for (int q = 0; q < n; q++)
            for (size_t j = 0; j < gi->width; j++) {
                size_t col = gi->first + j, at = (size_t)q * gi->width + j;
                float v = x[(size_t)q * p->n_schema + col];
                if (gi->type == EL_FLOAT)
                    t->f[at] = v;
                else if (gi->type == EL_STRING)
                    t->i[at] = v >= 0 && p->cat_pool && p->cat_pool[col] ? p->cat_pool[col][(int)v] : -1;
                else
                    t->i[at] = gi->type == EL_BOOL ? v != 0 : to_int(v);
            }
    }
    return 0;
}

/* Runs the graph on n rows; the slots hold every value after (the caller releases them). */
static int run_graph(const program *p, const float *x, int n, tensor *slots, char *err)
{
    run_ctx r = {p, slots, err};
    for (size_t s = 0; s < p->n_slots; s++) slots[s] = p->consts[s];
    if (feed(&r, x, n) != 0) return -1;
    for (size_t k = 0; k < p->n_nodes; k++)
        if (run_node(&r, &p->nodes[k]) != 0) return -1;
    return 0;
}

static void release_slots(tensor *slots, size_t n)
{
    for (size_t s = 0; s < n; s++) tensor_release(&slots[s]);
}

static void graph_predict(const predictor *pr, const float *x, int n, float *scratch, float *y)
{
    (void)scratch;
    const program *p = (const program *)pr;
    tensor *slots = calloc(p->n_slots, sizeof *slots);
    int w = pr->n_outputs;
    int ok = slots && run_graph(p, x, n, slots, NULL) == 0;
    const tensor *a = ok ? &slots[p->answer] : NULL;
    ok = ok && a->type == EL_FLOAT && a->n == (size_t)n * (size_t)p->answer_width;
    for (int q = 0; q < n; q++)
        for (int j = 0; j < w; j++)
            y[(size_t)q * (size_t)w + (size_t)j] = ok ? a->f[(size_t)q * (size_t)p->answer_width +
                                                             (size_t)(p->answer_col < 0 ? j : p->answer_col)]
                                                      : NAN;
    if (slots) release_slots(slots, p->n_slots);
    free(slots);
}

static size_t graph_scratch(const predictor *p, int n)
{
    (void)p;
    (void)n;
    return 0;
}

static int graph_prepare(predictor *p, char *err)
{
    (void)p;
    (void)err;
    return 0;
}

static json_t *graph_to_json(const predictor *pr, int with_params)
{
    (void)with_params; /* the graph is the ONNX file's: served from it, never rewritten */
    const program *p = (const program *)pr;
    json_t *ops = json_array();
    for (size_t k = 0; k < p->n_nodes; k++) json_array_append_new(ops, json_string(p->nodes[k].op_type));
    return json_pack("{s:s,s:I,s:o}", "kind", "onnx_graph", "nodes", (json_int_t)p->n_nodes, "operators",
                     ops);
}

static void graph_hash(const predictor *pr, fnv *f)
{
    fnv_str(f, "onnx_graph");
    fnv_i64(f, (int64_t)((const program *)pr)->content);
}

static void graph_describe(const predictor *pr, char *buf, size_t len)
{
    snprintf(buf, len, "%s", ((const program *)pr)->summary);
}

static void forest_free(forest *fo)
{
    if (!fo) return;
    free(fo->nodes);
    free(fo->roots);
    free(fo->w_class);
    free(fo->w_value);
    free(fo->base);
    free(fo);
}

static void program_free(program *p)
{
    for (size_t k = 0; k < p->n_nodes; k++) {
        gnode *g = &p->nodes[k];
        free(g->name);
        free(g->op_type);
        free(g->in);
        free(g->out);
        free(g->fa);
        free(g->fb);
        free(g->fc);
        free(g->fd);
        free(g->fe);
        free(g->ia);
        free(g->ib);
        free(g->classes);
        forest_free(g->trees);
    }
    free(p->nodes);
    for (size_t s = 0; s < p->n_slots; s++) {
        if (p->consts && p->consts[s].constant) {
            free(p->consts[s].f);
            free(p->consts[s].i);
        }
        if (p->slot_names) free(p->slot_names[s]);
    }
    free(p->consts);
    free(p->slot_names);
    for (size_t k = 0; k < p->n_pool; k++) free(p->pool[k]);
    free(p->pool);
    free(p->pool_len);
    free(p->inputs);
    for (size_t k = 0; p->cat_pool && k < p->n_schema; k++) free(p->cat_pool[k]);
    free(p->cat_pool);
    free(p->file);
    free(p);
}

static void graph_free(predictor *pr) { program_free((program *)pr); }

static const predictor_ops graph_ops = {"onnx_graph",  graph_predict, graph_scratch,  graph_prepare,
                                        graph_to_json, graph_hash,    graph_describe, graph_free};

int onnx_graph_is(const predictor *p) { return p && p->ops == &graph_ops; }

/* ---- loading ------------------------------------------------------------------ */

typedef struct {
    program *p;
    const Onnx__GraphProto *gp;
    const import_limits *lim;
    char *err;
    size_t cap_slots, cap_pool;
    int opset, ml_opset;
} loader;

static int load_fail(loader *l, const gnode *g, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int load_fail(loader *l, const gnode *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pb_node_verror(l->err, l->p->file, g ? g->name : NULL, g ? g->op_type : NULL, fmt, ap);
    va_end(ap);
    return -1;
}

static int find_slot(const program *p, const char *name)
{
    for (size_t s = p->n_slots; s-- > 0;)
        if (strcmp(p->slot_names[s], name) == 0) return (int)s;
    return -1;
}

static int add_slot(loader *l, const char *name)
{
    program *p = l->p;
    if (p->n_slots == l->cap_slots) {
        size_t cap = l->cap_slots ? 2 * l->cap_slots : 64;
        tensor *c = realloc(p->consts, cap * sizeof *c);
        if (c) p->consts = c;
        char **nm = c ? realloc(p->slot_names, cap * sizeof *nm) : NULL;
        if (!nm) return -1;
        p->slot_names = nm;
        l->cap_slots = cap;
    }
    memset(&p->consts[p->n_slots], 0, sizeof *p->consts);
    if (!(p->slot_names[p->n_slots] = strdup(name))) return -1;
    return (int)p->n_slots++;
}

/* A string's index in the pool, added when new; -1 out of memory. */
static int64_t intern(loader *l, const uint8_t *s, size_t len)
{
    program *p = l->p;
    for (size_t k = 0; k < p->n_pool; k++)
        if (p->pool_len[k] == len && (len == 0 || memcmp(p->pool[k], s, len) == 0)) return (int64_t)k;
    if (p->n_pool == l->cap_pool) {
        size_t cap = l->cap_pool ? 2 * l->cap_pool : 32;
        char **pl = realloc(p->pool, cap * sizeof *pl);
        if (pl) p->pool = pl;
        size_t *ln = pl ? realloc(p->pool_len, cap * sizeof *ln) : NULL;
        if (!ln) return -1;
        p->pool_len = ln;
        l->cap_pool = cap;
    }
    char *c = malloc(len + 1);
    if (!c) return -1;
    if (len) memcpy(c, s, len);
    c[len] = 0;
    p->pool[p->n_pool] = c;
    p->pool_len[p->n_pool] = len;
    return (int64_t)p->n_pool++;
}

/* An initializer as a constant tensor. */
static int load_constant(loader *l, const tensor_t *t, tensor *out)
{
    const char *name = pb_str(t->name);
    int ok;
    elem type = elem_of_onnx(t->data_type, &ok);
    if (!ok || t->n_dims > MAX_RANK)
        return load_fail(l, NULL, "initializer \"%.80s\": element type %d or %zu dimensions is not supported",
                         name, t->data_type, t->n_dims);
    long count = pb_tensor_count(l->lim->max_tensor, t);
    if (count < 0)
        return load_fail(l, NULL, "initializer \"%.80s\" has more than %ld elements (--max-tensor)", name,
                         l->lim->max_tensor);
    out->type = type;
    out->rank = (int)t->n_dims;
    for (size_t d = 0; d < t->n_dims; d++) out->dim[d] = t->dims[d];
    out->n = (size_t)count;
    out->constant = 1;
    size_t got = 0;
    if (type == EL_FLOAT) {
        out->f = pb_tensor_floats(l->lim->max_tensor, t, &got);
        if (!out->f) got = (size_t)-1;
    } else if (type == EL_STRING) {
        got = t->n_string_data;
        out->i = malloc((got ? got : 1) * sizeof *out->i);
        for (size_t k = 0; out->i && k < got && k < out->n; k++)
            if ((out->i[k] = intern(l, t->string_data[k].data, t->string_data[k].len)) < 0) return -1;
    } else if (type == EL_BOOL) {
        uint8_t *b = pb_tensor_bools(t, &got);
        out->i = b ? malloc((got ? got : 1) * sizeof *out->i) : NULL;
        for (size_t k = 0; out->i && k < got; k++) out->i[k] = b[k];
        free(b);
    } else if (!(out->i = pb_tensor_indexes(t, &got))) {
        return load_fail(l, NULL, "initializer \"%.80s\": integers of type %d are not supported", name,
                         t->data_type);
    }
    if ((!out->f && !out->i) || got != out->n)
        return load_fail(l, NULL, "initializer \"%.80s\" holds %zu values for %zu elements, or is damaged",
                         name, got == (size_t)-1 ? 0 : got, out->n);
    return 0;
}

static int64_t *copy_ints(const int64_t *v, size_t n)
{
    int64_t *c = malloc((n ? n : 1) * sizeof *c);
    if (c && n) memcpy(c, v, n * sizeof *c);
    return c;
}

/* Strings of an attribute as pool indexes. */
static int64_t *pool_strings(loader *l, const attr_t *a)
{
    int64_t *c = malloc((a->n_strings ? a->n_strings : 1) * sizeof *c);
    for (size_t k = 0; c && k < a->n_strings; k++)
        if ((c[k] = intern(l, a->strings[k].data, a->strings[k].len)) < 0) {
            free(c);
            return NULL;
        }
    return c;
}

static int read_post(loader *l, gnode *g, const node_t *n)
{
    char buf[32];
    const char *pt = pb_attr_string(n, "post_transform", buf, sizeof buf, "NONE");
    g->post = strcmp(pt, "NONE") == 0           ? POST_NONE
              : strcmp(pt, "LOGISTIC") == 0     ? POST_LOGISTIC
              : strcmp(pt, "SOFTMAX") == 0      ? POST_SOFTMAX
              : strcmp(pt, "SOFTMAX_ZERO") == 0 ? POST_SOFTMAX_ZERO
                                                : -1;
    if (g->post < 0)
        return load_fail(l, g, "post_transform %s is not supported (NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO)",
                         pt);
    return 0;
}

static int read_classes(loader *l, gnode *g, const node_t *n)
{
    const attr_t *ints = pb_attr(n, "classlabels_int64s"), *strs = pb_attr(n, "classlabels_strings");
    if (!ints) ints = pb_attr(n, "classlabels_ints");
    g->n_classes = ints ? ints->n_ints : strs ? strs->n_strings : 0;
    if (g->n_classes < 2 || g->n_classes > OUTPUT_MAX_CLASSES)
        return load_fail(l, g, "expected 2 to %d class labels, got %zu", OUTPUT_MAX_CLASSES, g->n_classes);
    g->class_type = ints ? EL_INT : EL_STRING;
    g->classes = ints ? copy_ints(ints->ints, ints->n_ints) : pool_strings(l, strs);
    return g->classes ? 0 : load_fail(l, g, "out of memory");
}

typedef struct {
    int64_t tree, node;
    size_t at;
} node_key;

static int key_cmp(const void *a, const void *b)
{
    const node_key *x = a, *y = b;
    return x->tree != y->tree   ? (x->tree < y->tree ? -1 : 1)
           : x->node != y->node ? (x->node < y->node ? -1 : 1)
                                : 0;
}

static long key_find(const node_key *keys, size_t n, int64_t tree, int64_t node)
{
    node_key k = {tree, node, 0};
    const node_key *hit = bsearch(&k, keys, n, sizeof *keys, key_cmp);
    return hit ? (long)hit->at : -1;
}

/* The same within one tree's keys (sorted, `count` of them): exporters number a
 * tree's nodes 0, 1, 2, ..., so node k is usually the k-th key. */
static long key_find_in(const node_key *tree_keys, size_t count, int64_t tree, int64_t node)
{
    if (node >= 0 && (uint64_t)node < count && tree_keys[node].node == node) return (long)tree_keys[node].at;
    return key_find(tree_keys, count, tree, node);
}

/* The first key of `tree` (lower bound), or n. */
static size_t tree_first_key(const node_key *keys, size_t n, int64_t tree)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (keys[mid].tree < tree)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int keys_sorted(const node_key *keys, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (key_cmp(&keys[i - 1], &keys[i]) > 0) return 0;
    return 1;
}

static void *zeroed_large(size_t n)
{
    void *p = memory_large(n);
    if (p) memset(p, 0, n);
    return p;
}

static int read_trees(loader *l, gnode *g, const node_t *n, int classifier)
{
    pb_trees ta;
    const char *pre = classifier ? "class" : "target";
    if (pb_tree_attrs(n, classifier, l->lim->max_tensor, &ta) != 0)
        return load_fail(l, g, "the nodes_* and %s_* attributes are missing or differ in length", pre);
    const attr_t *a_tree = ta.tree, *a_node = ta.node, *a_feat = ta.feature, *a_mode = ta.mode,
                 *a_true = ta.yes, *a_false = ta.no, *a_miss = ta.missing, *l_tree = ta.l_tree,
                 *l_node = ta.l_node, *l_id = ta.l_id;
    size_t nn = ta.n_nodes, nl = ta.n_leaves, n_values = 0, n_weights = 0;
    const char *name = ta.weights;
    forest *fo = g->trees = calloc(1, sizeof *fo);
    if (!fo) return load_fail(l, g, "out of memory");
    float *values = pb_attr_floats(l->lim->max_tensor, n, "nodes_values", &n_values);
    fo->w_value = pb_attr_floats(l->lim->max_tensor, n, name, &n_weights);
    fo->base = pb_attr_floats(l->lim->max_tensor, n, "base_values", &fo->n_base);
    /* a large ensemble's arrays in 2 MB pages: their first touches were most of this load */
    node_key *keys = memory_large(nn * sizeof *keys);
    fo->nodes = zeroed_large(nn * sizeof *fo->nodes);
    fo->n_nodes = nn;
    int rc = 0;
    if (!values || n_values != nn || !fo->w_value || n_weights != nl)
        rc = load_fail(l, g, "nodes_values or %s has the wrong length", name);
    else if (!keys || !fo->nodes)
        rc = load_fail(l, g, "out of memory");
    if (!rc && classifier) rc = read_classes(l, g, n);
    fo->n_targets = classifier ? g->n_classes : (size_t)pb_attr_int(n, "n_targets", 1);
    if (!rc && (fo->n_targets < 1 || fo->n_targets > OUTPUT_MAX_CLASSES))
        rc = load_fail(l, g, "%zu targets", fo->n_targets);
    if (!rc && fo->n_base && fo->n_base != fo->n_targets &&
        !(classifier && fo->n_targets == 2 && fo->n_base == 1))
        rc = load_fail(l, g, "base_values holds %zu values for %zu classes or targets", fo->n_base,
                       fo->n_targets);
    char agg_buf[16];
    const char *agg = pb_attr_string(n, "aggregate_function", agg_buf, sizeof agg_buf, "SUM");
    fo->agg = strcmp(agg, "SUM") == 0       ? AGG_SUM
              : strcmp(agg, "AVERAGE") == 0 ? AGG_AVERAGE
              : strcmp(agg, "MIN") == 0     ? AGG_MIN
              : strcmp(agg, "MAX") == 0     ? AGG_MAX
                                            : -1;
    if (!rc && fo->agg < 0) rc = load_fail(l, g, "aggregate_function %s (SUM, AVERAGE, MIN, MAX)", agg);
    if (!rc) rc = read_post(l, g, n);
    static const char *const modes[] = {"LEAF",      "BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE",
                                        "BRANCH_GT", "BRANCH_EQ",  "BRANCH_NEQ"};
    for (size_t i = 0; !rc && i < nn; i++) {
        tnode *nd = &fo->nodes[i];
        nd->mode = 255;
        for (uint8_t m = 0; m < 7; m++)
            if (a_mode->strings[i].len == strlen(modes[m]) &&
                memcmp(a_mode->strings[i].data, modes[m], a_mode->strings[i].len) == 0)
                nd->mode = m;
        if (nd->mode == 255) {
            rc = load_fail(l, g,
                           "tree %lld node %lld: mode %.*s is not one of LEAF, BRANCH_LEQ, BRANCH_LT, "
                           "BRANCH_GTE, BRANCH_GT, BRANCH_EQ, BRANCH_NEQ",
                           (long long)a_tree->ints[i], (long long)a_node->ints[i],
                           (int)(a_mode->strings[i].len < 20 ? a_mode->strings[i].len : 20),
                           (const char *)a_mode->strings[i].data);
            break;
        }
        if (nd->mode != MODE_LEAF && (a_feat->ints[i] < 0 || a_feat->ints[i] >= (1 << 20))) {
            rc = load_fail(l, g, "tree %lld node %lld splits on feature %lld", (long long)a_tree->ints[i],
                           (long long)a_node->ints[i], (long long)a_feat->ints[i]);
            break;
        }
        nd->feature = nd->mode == MODE_LEAF ? 0 : (int)a_feat->ints[i];
        if (nd->feature > fo->max_feature) fo->max_feature = nd->feature;
        nd->value = values[i];
        nd->missing_true = a_miss && a_miss->n_ints ? a_miss->ints[i] != 0 : 0;
        keys[i] = (node_key){a_tree->ints[i], a_node->ints[i], i};
    }
    if (!rc && !keys_sorted(keys, nn)) qsort(keys, nn, sizeof *keys, key_cmp); /* usually written in order */
    for (size_t i = 1; !rc && i < nn; i++)
        if (keys[i].tree == keys[i - 1].tree && keys[i].node == keys[i - 1].node)
            rc = load_fail(l, g, "tree %lld has two nodes %lld", (long long)keys[i].tree,
                           (long long)keys[i].node);
    /* the trees, in order of their ids; each from its node 0, every node reached once */
    int *seen = rc ? NULL : zeroed_large(nn * sizeof *seen),
        *stack = rc ? NULL : memory_large(nn * sizeof *stack);
    fo->roots = rc ? NULL : memory_large(nn * sizeof *fo->roots);
    if (!rc && (!seen || !stack || !fo->roots)) rc = load_fail(l, g, "out of memory");
    for (size_t i = 0; !rc && i < nn; i++) {
        if (i > 0 && keys[i].tree == keys[i - 1].tree) continue;
        int64_t tid = keys[i].tree;
        size_t count = 0;
        while (i + count < nn && keys[i + count].tree == tid) count++;
        if ((long)count > l->lim->max_nodes) {
            rc = load_fail(l, g, "tree %lld has %zu nodes; at most %ld are accepted (--max-nodes)",
                           (long long)tid, count, l->lim->max_nodes);
            break;
        }
        if ((long)fo->n_trees >= l->lim->max_trees) {
            rc = load_fail(l, g, "more than %ld trees (--max-trees)", l->lim->max_trees);
            break;
        }
        long root = key_find_in(keys + i, count, tid, 0);
        if (root < 0) {
            rc = load_fail(l, g, "tree %lld has no node 0 (its root)", (long long)tid);
            break;
        }
        fo->roots[fo->n_trees++] = (int)root;
        size_t top = 0;
        stack[top++] = (int)root;
        seen[root] = 1;
        while (top && !rc) {
            size_t at = (size_t)stack[--top];
            tnode *nd = &fo->nodes[at];
            if (nd->mode == MODE_LEAF) continue;
            int64_t kids[2] = {a_true->ints[at], a_false->ints[at]};
            for (int q = 0; q < 2 && !rc; q++) {
                long c = key_find_in(keys + i, count, tid, kids[q]);
                if (c < 0)
                    rc = load_fail(l, g, "tree %lld node %lld: child %lld does not exist", (long long)tid,
                                   (long long)a_node->ints[at], (long long)kids[q]);
                else if (seen[c])
                    rc = load_fail(
                        l, g, "tree %lld node %lld: child %lld is reached twice (a cycle or a shared node)",
                        (long long)tid, (long long)a_node->ints[at], (long long)kids[q]);
                else {
                    seen[c] = 1;
                    stack[top++] = (int)c;
                    *(q ? &nd->no : &nd->yes) = (int)c;
                }
            }
        }
    }
    /* leaf weights, grouped by leaf */
    int *w_of = NULL;
    fo->w_class = rc ? NULL : malloc((nl ? nl : 1) * sizeof *fo->w_class);
    w_of = rc ? NULL : malloc((nl ? nl : 1) * sizeof *w_of);
    if (!rc && (!fo->w_class || !w_of)) rc = load_fail(l, g, "out of memory");
    fo->all_positive = 1;
    int classes_used = 0;            /* bit 0: class 0, bit 1: class 1, bit 2: another */
    size_t w_first = 0, w_count = 0; /* the keys of the tree the last weight was for */
    for (size_t i = 0; !rc && i < nl; i++) {
        if (i == 0 || l_tree->ints[i] != l_tree->ints[i - 1]) { /* weights come tree by tree */
            w_first = tree_first_key(keys, nn, l_tree->ints[i]);
            for (w_count = 0; w_first + w_count < nn && keys[w_first + w_count].tree == l_tree->ints[i];)
                w_count++;
        }
        long at = key_find_in(keys + w_first, w_count, l_tree->ints[i], l_node->ints[i]);
        if (at < 0 || fo->nodes[at].mode != MODE_LEAF || !seen[at]) {
            rc = load_fail(l, g, "weight %zu names node %lld of tree %lld, which is not a leaf of it", i,
                           (long long)l_node->ints[i], (long long)l_tree->ints[i]);
            break;
        }
        if (l_id->ints[i] < 0 || (size_t)l_id->ints[i] >= fo->n_targets) {
            rc = load_fail(l, g, "weight %zu is for class or target %lld, of %zu", i,
                           (long long)l_id->ints[i], fo->n_targets);
            break;
        }
        w_of[i] = (int)at;
        fo->nodes[at].w_count++;
        classes_used |= l_id->ints[i] == 0 ? 1 : l_id->ints[i] == 1 ? 2 : 4;
        if (fo->w_value[i] < 0) fo->all_positive = 0;
    }
    fo->binary_case = classifier && fo->n_targets == 2 && (classes_used == 1 || classes_used == 2);
    if (!rc) {
        int first = 0;
        for (size_t i = 0; i < nn; i++) {
            fo->nodes[i].w_first = first;
            first += fo->nodes[i].w_count;
            fo->nodes[i].w_count = 0;
        }
        float *wv = malloc((nl ? nl : 1) * sizeof *wv);
        if (!wv) rc = load_fail(l, g, "out of memory");
        for (size_t i = 0; !rc && i < nl; i++) {
            tnode *nd = &fo->nodes[w_of[i]];
            int slot = nd->w_first + nd->w_count++;
            fo->w_class[slot] = fo->binary_case ? 0 : (int)l_id->ints[i]; /* one score: see op_trees */
            wv[slot] = fo->w_value[i];
        }
        if (!rc) {
            free(fo->w_value);
            fo->w_value = wv;
        }
    }
    free(values);
    free(keys);
    free(seen);
    free(stack);
    free(w_of);
    return rc;
}

/* LabelEncoder's keys_* or values_*: strings (as pool indexes), int64s or floats. */
static int typed_list(loader *l, const node_t *n, const char *what, elem *type, int64_t **ints,
                      float **floats, size_t *count)
{
    char name[32];
    snprintf(name, sizeof name, "%s_strings", what);
    const attr_t *strs = pb_attr(n, name);
    snprintf(name, sizeof name, "%s_int64s", what);
    const attr_t *is = pb_attr(n, name);
    snprintf(name, sizeof name, "%s_floats", what);
    if (strs && strs->n_strings) {
        *type = EL_STRING;
        *ints = pool_strings(l, strs);
        *count = strs->n_strings;
    } else if (is && is->n_ints) {
        *type = EL_INT;
        *ints = copy_ints(is->ints, *count = is->n_ints);
    } else if ((*floats = pb_attr_floats(l->lim->max_tensor, n, name, count)) != NULL) {
        *type = EL_FLOAT;
    } else
        return node_fail(l->err, l->p, NULL,
                         "node \"%.80s\" (LabelEncoder): has no %s (%s_strings, %s_int64s or "
                         "%s_floats)",
                         pb_str(n->name), what, what, what, what);
    if (!*ints && !*floats) return node_fail(l->err, l->p, NULL, "out of memory");
    return 0;
}

/* A node's attributes into g; what each operator keeps is listed in gnode. */
static int read_svm(loader *l, gnode *g, const node_t *n)
{
    long max = l->lim->max_tensor;
    char buf[16];
    const char *kt = pb_attr_string(n, "kernel_type", buf, sizeof buf, "LINEAR");
    g->to = strcmp(kt, "LINEAR") == 0    ? K_LINEAR
            : strcmp(kt, "POLY") == 0    ? K_POLY
            : strcmp(kt, "RBF") == 0     ? K_RBF
            : strcmp(kt, "SIGMOID") == 0 ? K_SIGMOID
                                         : -1;
    if (g->to < 0) return load_fail(l, g, "kernel_type %s (LINEAR, POLY, RBF, SIGMOID)", kt);
    size_t np = 0;
    float *kp = pb_attr_floats(max, n, "kernel_params", &np);
    g->alpha = np > 0 ? kp[0] : 0;
    g->beta = np > 1 ? kp[1] : 0;
    g->fdef = np > 2 ? kp[2] : 0;
    free(kp);
    const char *pt = pb_attr_string(n, "post_transform", buf, sizeof buf, "NONE");
    if (strcmp(pt, "NONE") != 0) return load_fail(l, g, "post_transform %s is not run (NONE)", pt);
    g->fa = pb_attr_floats(max, n, "support_vectors", &g->n_fa);
    g->fb = pb_attr_floats(max, n, "coefficients", &g->n_fb);
    g->fc = pb_attr_floats(max, n, "rho", &g->n_fc);
    if (!g->n_fb || !g->n_fc) return load_fail(l, g, "needs coefficients and rho");
    if (g->op == OP_SVM_REG) {
        int64_t ns = pb_attr_int(n, "n_supports", 0);
        g->flag = pb_attr_int(n, "one_class", 0);
        if (ns < 0 || (ns && (g->n_fb != (size_t)ns || !g->n_fa || g->n_fa % (size_t)ns)))
            return load_fail(l, g, "n_supports %lld does not fit its support vectors and coefficients",
                             (long long)ns);
        if (ns) { /* vectors_per_class for the regressor: one class holding every vector */
            g->ia = malloc(sizeof *g->ia);
            if (!g->ia) return load_fail(l, g, "out of memory");
            g->ia[0] = ns;
            g->n_ia = 1;
        }
        return 0;
    }
    if (read_classes(l, g, n) != 0) return -1;
    size_t k = g->n_classes, pairs = k * (k - 1) / 2, n_sv = 0;
    const attr_t *vpc = pb_attr(n, "vectors_per_class");
    if (vpc && vpc->n_ints) {
        if (vpc->n_ints != k)
            return load_fail(l, g, "vectors_per_class has %zu entries for %zu classes", vpc->n_ints, k);
        for (size_t c = 0; c < k; c++) {
            if (vpc->ints[c] < 0 || vpc->ints[c] > (1 << 24))
                return load_fail(l, g, "vectors_per_class out of range");
            n_sv += (size_t)vpc->ints[c];
        }
        if (!(g->ia = copy_ints(vpc->ints, g->n_ia = vpc->n_ints))) return load_fail(l, g, "out of memory");
    }
    g->fd = pb_attr_floats(max, n, "prob_a", &g->n_fd);
    g->fe = pb_attr_floats(max, n, "prob_b", &g->n_fe);
    if (g->n_fd != g->n_fe || (g->n_fd && g->n_fd < pairs))
        return load_fail(l, g, "prob_a and prob_b do not fit");
    if (n_sv ? !g->n_fa || g->n_fa % n_sv || g->n_fb < (k - 1) * n_sv || g->n_fc < pairs : g->n_fb % k != 0)
        return load_fail(l, g, "support vectors, coefficients and rho do not fit %zu classes", k);
    return 0;
}

static int read_node(loader *l, gnode *g, const node_t *n)
{
    long max = l->lim->max_tensor;
    const attr_t *a;
    switch (g->op) {
    case OP_UNARY_MATH: {
        static const float alpha[] = {
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1.0f, 1.67326319217681884765625f, 0.01f, 0.2f, 0, 0};
        static const float beta[] = {0, 0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1.05070102214813232421875f,
                                     0, 0.5f, 0, 0};
        for (g->flag = 0; g->flag < (int64_t)(sizeof math_names / sizeof *math_names) &&
                          strcmp(math_names[g->flag], g->op_type) != 0;)
            g->flag++;
        g->alpha = pb_attr_float(n, "alpha", alpha[g->flag]);
        g->beta = pb_attr_float(n, g->flag == M_SELU ? "gamma" : "beta", beta[g->flag]);
        char buf[16];
        g->keepdims = g->flag == M_GELU &&
                      strcmp(pb_attr_string(n, "approximate", buf, sizeof buf, "none"), "tanh") == 0;
        break;
    }
    case OP_VARIADIC: {
        static const char *const names[] = {"Max", "Min", "Sum", "Mean"};
        for (g->flag = 0; strcmp(names[g->flag], g->op_type) != 0;) g->flag++;
        break;
    }
    case OP_COMPARE: {
        static const char *const names[] = {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"};
        for (g->flag = 0; strcmp(names[g->flag], g->op_type) != 0;) g->flag++;
        break;
    }
    case OP_LOGIC:
        g->flag = strcmp(g->op_type, "And") == 0 ? 0 : strcmp(g->op_type, "Or") == 0 ? 1 : 2;
        break;
    case OP_CLIP: /* before opset 11: the bounds are attributes */
        g->alpha = pb_attr_float(n, "min", -INFINITY);
        g->beta = pb_attr_float(n, "max", INFINITY);
        break;
    case OP_BATCHNORM:
        g->alpha = pb_attr_float(n, "epsilon", 1e-5f);
        if (pb_attr_int(n, "training_mode", 0)) return load_fail(l, g, "runs in training mode");
        if (g->n_in != 5) return load_fail(l, g, "needs 5 inputs (X, scale, B, mean, var)");
        break;
    case OP_BINARIZER: g->alpha = pb_attr_float(n, "threshold", 0); break;
    case OP_SVM_CLS:
    case OP_SVM_REG: return read_svm(l, g, n);
    case OP_CAST: {
        int ok;
        g->to = elem_of_onnx(pb_attr_int(n, "to", 0), &ok);
        if (!ok)
            return load_fail(l, g, "casts to type %lld, which tabserve does not run",
                             (long long)pb_attr_int(n, "to", 0));
        break;
    }
    case OP_RESHAPE: g->flag = pb_attr_int(n, "allowzero", 0); break;
    case OP_FLATTEN: g->axis = pb_attr_int(n, "axis", 1); break;
    case OP_CONCAT:
        if (!pb_attr(n, "axis")) return load_fail(l, g, "has no axis");
        g->axis = pb_attr_int(n, "axis", 0);
        break;
    case OP_GATHER: g->axis = pb_attr_int(n, "axis", 0); break;
    case OP_SQUEEZE:
    case OP_UNSQUEEZE:
        if ((a = pb_attr(n, "axes")) && a->n_ints) {
            if (a->n_ints > MAX_RANK) return load_fail(l, g, "%zu axes", a->n_ints);
            g->ia = copy_ints(a->ints, g->n_ia = a->n_ints);
        }
        if (g->op == OP_UNSQUEEZE && !g->n_ia && g->n_in < 2) return load_fail(l, g, "has no axes");
        break;
    case OP_GEMM:
        g->alpha = pb_attr_float(n, "alpha", 1);
        g->beta = pb_attr_float(n, "beta", 1);
        g->trans_a = pb_attr_int(n, "transA", 0) != 0;
        g->trans_b = pb_attr_int(n, "transB", 0) != 0;
        break;
    case OP_SOFTMAX:
        g->to = strcmp(g->op_type, "LogSoftmax") == 0;
        g->flag = l->opset < 13;
        g->axis = pb_attr_int(n, "axis", g->flag ? 1 : -1);
        break;
    case OP_ARGMAX:
        g->to = strcmp(g->op_type, "ArgMin") == 0;
        g->axis = pb_attr_int(n, "axis", 0);
        g->keepdims = pb_attr_int(n, "keepdims", 1);
        g->flag = pb_attr_int(n, "select_last_index", 0);
        break;
    case OP_SHAPE: /* opset 15's start and end; kept as a pair in ia */
        if (pb_attr(n, "start") || pb_attr(n, "end")) {
            int64_t se[2] = {pb_attr_int(n, "start", 0), pb_attr_int(n, "end", INT32_MAX)};
            if (!(g->ia = copy_ints(se, g->n_ia = 2))) return load_fail(l, g, "out of memory");
        }
        break;
    case OP_TRANSPOSE:
        if ((a = pb_attr(n, "perm")) && a->n_ints) {
            if (a->n_ints > MAX_RANK) return load_fail(l, g, "a perm of %zu entries", a->n_ints);
            g->ia = copy_ints(a->ints, g->n_ia = a->n_ints);
        }
        break;
    case OP_SLICE: /* before opset 10 starts, ends and axes are attributes */
        g->flag = l->opset < 10;
        if (g->flag) {
            const attr_t *st = pb_attr(n, "starts"), *en = pb_attr(n, "ends"), *ax = pb_attr(n, "axes");
            if (!st || !en) return load_fail(l, g, "has no starts or ends");
            g->ia = copy_ints(st->ints, g->n_ia = st->n_ints);
            g->ib = copy_ints(en->ints, g->n_ib = en->n_ints);
            if (ax && ax->n_ints) g->classes = copy_ints(ax->ints, g->n_classes = ax->n_ints);
        } else if (g->n_in < 3)
            return load_fail(l, g, "needs data, starts and ends");
        break;
    case OP_REDUCE:
        for (g->flag = 0; strcmp(reduce_names[g->flag], g->op_type) != 0;) g->flag++;
        g->keepdims = pb_attr_int(n, "keepdims", 1);
        g->axis = pb_attr_int(n, "noop_with_empty_axes", 0); /* the axis field holds the flag */
        if ((a = pb_attr(n, "axes")) && a->n_ints) {
            if (a->n_ints > MAX_RANK) return load_fail(l, g, "%zu axes", a->n_ints);
            g->ia = copy_ints(a->ints, g->n_ia = a->n_ints);
        }
        break;
    case OP_CONSTANT_OF_SHAPE: { /* the value: a one-element tensor attribute (float 0 by default) */
        const attr_t *v = pb_attr(n, "value");
        g->key_type = EL_FLOAT;
        if (v && v->t) {
            tensor one = {0};
            if (load_constant(l, v->t, &one) != 0) return -1;
            if (one.n != 1 || one.type == EL_STRING) {
                free(one.f);
                free(one.i);
                return load_fail(l, g, "its value is not one number");
            }
            g->key_type = one.type;
            if (one.type == EL_FLOAT)
                g->fdef = one.f[0];
            else
                g->idef = one.i[0];
            free(one.f);
            free(one.i);
        }
        break;
    }
    case OP_SPLIT:
        g->axis = pb_attr_int(n, "axis", 0);
        g->flag = pb_attr(n, "num_outputs") != NULL; /* opset 18: the last part may be smaller */
        if ((a = pb_attr(n, "split")) && a->n_ints) g->ia = copy_ints(a->ints, g->n_ia = a->n_ints);
        if (g->n_out < 1) return load_fail(l, g, "has no outputs");
        break;
    case OP_TOPK:
        g->axis = pb_attr_int(n, "axis", -1);
        g->flag = pb_attr_int(n, "largest", 1);
        g->idef = pb_attr_int(n, "k", -1); /* opset 1's attribute; later the second input */
        break;
    case OP_GATHER_ELEMENTS: g->axis = pb_attr_int(n, "axis", 0); break;
    case OP_LAYERNORM:
        g->axis = pb_attr_int(n, "axis", -1);
        g->alpha = pb_attr_float(n, "epsilon", 1e-5f);
        if (g->n_in < 2) return load_fail(l, g, "needs X and a scale");
        break;
    case OP_IMPUTER:
        g->fa = pb_attr_floats(max, n, "imputed_value_floats", &g->n_fa);
        if ((a = pb_attr(n, "imputed_value_int64s")) && a->n_ints)
            g->ia = copy_ints(a->ints, g->n_ia = a->n_ints);
        g->fdef = pb_attr_float(n, "replaced_value_float", 0);
        g->idef = pb_attr_int(n, "replaced_value_int64", 0);
        if (!g->n_fa && !g->n_ia) return load_fail(l, g, "has no imputed values");
        break;
    case OP_SCALER:
        g->fa = pb_attr_floats(max, n, "offset", &g->n_fa);
        g->fb = pb_attr_floats(max, n, "scale", &g->n_fb);
        if (!g->n_fa || !g->n_fb) return load_fail(l, g, "needs offset and scale");
        break;
    case OP_ONEHOT:
        g->flag = pb_attr_int(n, "zeros", 1);
        if ((a = pb_attr(n, "cats_strings")) && a->n_strings) {
            g->key_type = EL_STRING;
            g->ia = pool_strings(l, a);
            g->n_ia = a->n_strings;
        } else if ((a = pb_attr(n, "cats_int64s")) && a->n_ints) {
            g->key_type = EL_INT;
            g->ia = copy_ints(a->ints, g->n_ia = a->n_ints);
        } else
            return load_fail(l, g, "has no categories (cats_strings or cats_int64s)");
        break;
    case OP_LABELENC: {
        size_t nk, nv;
        if (typed_list(l, n, "keys", &g->key_type, &g->ia, &g->fa, &nk) != 0) return -1;
        if (typed_list(l, n, "values", &g->value_type, &g->ib, &g->fb, &nv) != 0) return -1;
        g->n_ia = g->key_type == EL_FLOAT ? 0 : nk;
        g->n_fa = g->key_type == EL_FLOAT ? nk : 0;
        g->n_ib = g->value_type == EL_FLOAT ? 0 : nv;
        g->n_fb = g->value_type == EL_FLOAT ? nv : 0;
        if (nk != nv) return load_fail(l, g, "%zu keys and %zu values", nk, nv);
        g->fdef = pb_attr_float(n, "default_float", -0.0f);
        g->idef = pb_attr_int(n, "default_int64", -1);
        if (g->value_type == EL_STRING) {
            char buf[256];
            const char *d = pb_attr_string(n, "default_string", buf, sizeof buf, "_Unused");
            if ((g->idef = intern(l, (const uint8_t *)d, strlen(d))) < 0)
                return load_fail(l, g, "out of memory");
        }
        break;
    }
    case OP_NORMALIZER: {
        char buf[16];
        const char *nm = pb_attr_string(n, "norm", buf, sizeof buf, "MAX");
        g->flag = strcmp(nm, "MAX") == 0 ? 0 : strcmp(nm, "L1") == 0 ? 1 : strcmp(nm, "L2") == 0 ? 2 : -1;
        if (g->flag < 0) return load_fail(l, g, "norm %s is not MAX, L1 or L2", nm);
        break;
    }
    case OP_LINCLS:
    case OP_LINREG:
        g->fa = pb_attr_floats(max, n, "coefficients", &g->n_fa);
        g->fb = pb_attr_floats(max, n, "intercepts", &g->n_fb);
        if (!g->n_fa) return load_fail(l, g, "has no coefficients");
        if (read_post(l, g, n) != 0) return -1;
        if (g->op == OP_LINCLS) return read_classes(l, g, n);
        break;
    case OP_TREECLS:
    case OP_TREEREG: return read_trees(l, g, n, g->op == OP_TREECLS);
    case OP_VECTORIZE:
        if (!(a = pb_attr(n, "inputdimensions")) || !a->n_ints)
            return load_fail(l, g, "has no inputdimensions");
        for (size_t k = 0; k < a->n_ints; k++)
            if (a->ints[k] < 0 || a->ints[k] > (1 << 20))
                return load_fail(l, g, "inputdimensions %lld", (long long)a->ints[k]);
        g->ia = copy_ints(a->ints, g->n_ia = a->n_ints);
        break;
    default: break;
    }
    return 0;
}

/* A Constant node's value (a tensor, or value_float(s) / value_int(s)) into
 * the slot of its output, as an initializer's. */
static int read_constant_node(loader *l, gnode *g, const node_t *n)
{
    program *p = l->p;
    if (n->n_output != 1 || !*pb_str(n->output[0])) return load_fail(l, g, "needs one output");
    if (find_slot(p, pb_str(n->output[0])) >= 0)
        return load_fail(l, g, "makes \"%.80s\", which another node or input already makes",
                         pb_str(n->output[0]));
    int s = add_slot(l, pb_str(n->output[0]));
    if (s < 0) return load_fail(l, g, "out of memory");
    const attr_t *a;
    if ((a = pb_attr(n, "value")) && a->t) return load_constant(l, a->t, &p->consts[s]);
    tensor *t = &p->consts[s];
    t->constant = 1;
    if ((a = pb_attr(n, "value_float")) || (a = pb_attr(n, "value_floats"))) {
        size_t k = a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT ? 1 : a->n_floats;
        if (!(t->f = malloc((k ? k : 1) * sizeof *t->f))) return load_fail(l, g, "out of memory");
        for (size_t i = 0; i < k; i++) t->f[i] = k == 1 && !a->n_floats ? a->f : a->floats[i];
        t->type = EL_FLOAT;
        t->n = k;
        t->rank = a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT ? 0 : 1;
        t->dim[0] = (int64_t)k;
        return 0;
    }
    if ((a = pb_attr(n, "value_int")) || (a = pb_attr(n, "value_ints"))) {
        size_t k = a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT ? 1 : a->n_ints;
        if (!(t->i = malloc((k ? k : 1) * sizeof *t->i))) return load_fail(l, g, "out of memory");
        for (size_t i = 0; i < k; i++) t->i[i] = k == 1 && !a->n_ints ? a->i : a->ints[i];
        t->type = EL_INT;
        t->n = k;
        t->rank = a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT ? 0 : 1;
        t->dim[0] = (int64_t)k;
        return 0;
    }
    return load_fail(l, g, "has no value tabserve reads (value, value_float(s), value_int(s))");
}

static int read_graph_nodes(loader *l)
{
    program *p = l->p;
    const Onnx__GraphProto *gp = l->gp;
    p->nodes = calloc(gp->n_node ? gp->n_node : 1, sizeof *p->nodes);
    if (!p->nodes) return load_fail(l, NULL, "out of memory");
    for (size_t k = 0; k < gp->n_node; k++) {
        const node_t *n = gp->node[k];
        gnode *g = &p->nodes[p->n_nodes++];
        g->name = strdup(pb_str(n->name));
        g->op_type = strdup(pb_str(n->op_type));
        if (!g->name || !g->op_type) return load_fail(l, NULL, "out of memory");
        const char *dom = pb_str(n->domain);
        int ml = strcmp(dom, "ai.onnx.ml") == 0;
        if (!ml && *dom && strcmp(dom, "ai.onnx") != 0)
            return load_fail(l, g, "operator domain \"%.40s\" is not supported; supported operators: %s", dom,
                             onnx_supported_operators);
        if (!ml && strcmp(g->op_type, "Constant") == 0) { /* a constant: a slot set at load, no node */
            if (read_constant_node(l, g, n) != 0) return -1;
            free(g->name);
            free(g->op_type);
            memset(g, 0, sizeof *g);
            p->n_nodes--;
            continue;
        }
        size_t t = 0;
        while (t < sizeof op_table / sizeof *op_table &&
               (op_table[t].ml != ml || strcmp(op_table[t].name, g->op_type) != 0))
            t++;
        if (t == sizeof op_table / sizeof *op_table)
            return load_fail(l, g, "operator %.40s is not supported; supported operators: %s", g->op_type,
                             onnx_supported_operators);
        g->op = op_table[t].op;
        if (n->n_output == 0) return load_fail(l, g, "has no outputs");
        if (n->n_input > 1024 || n->n_output > 16)
            return load_fail(l, g, "has %zu inputs and %zu outputs", n->n_input, n->n_output);
        g->n_in = (int)n->n_input;
        g->n_out = (int)n->n_output;
        g->in = malloc((n->n_input ? n->n_input : 1) * sizeof *g->in);
        g->out = malloc(n->n_output * sizeof *g->out);
        if (!g->in || !g->out) return load_fail(l, g, "out of memory");
        for (size_t i = 0; i < n->n_input; i++) {
            const char *name = pb_str(n->input[i]);
            g->in[i] = *name ? find_slot(p, name) : -1;
            if (*name && g->in[i] < 0)
                return load_fail(
                    l, g, "reads \"%.80s\", which no graph input, initializer or earlier node makes", name);
        }
        if (read_node(l, g, n) != 0) return -1;
        for (size_t i = 0; i < n->n_output; i++) {
            const char *name = pb_str(n->output[i]);
            if (*name && find_slot(p, name) >= 0)
                return load_fail(l, g, "makes \"%.80s\", which another node or input already makes", name);
            if ((g->out[i] = add_slot(l, *name ? name : "")) < 0) return load_fail(l, g, "out of memory");
        }
    }
    return 0;
}

/* The graph's inputs as the model's: numbers (one per column of a [N, F] tensor,
 * named f0, f1, ...), strings (categorical once their categories are known). */
static int read_graph_inputs(loader *l, model_builder *m)
{
    program *p = l->p;
    const Onnx__GraphProto *gp = l->gp;
    schema *s = model_builder_inputs(m);
    s->inputs = calloc(SCHEMA_MAX_INPUTS, sizeof *s->inputs);
    p->inputs = calloc(gp->n_input ? gp->n_input : 1, sizeof *p->inputs);
    if (!s->inputs || !p->inputs) return load_fail(l, NULL, "out of memory");
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *in = gp->input[i];
        const char *iname = pb_str(in->name);
        if (pb_initializer(gp, iname)) continue;
        const Onnx__TypeProto *tp = in->type;
        if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
            return load_fail(l, NULL, "input \"%.80s\" is not a tensor", iname);
        int ok;
        elem type = elem_of_onnx(tp->tensor_type->elem_type, &ok);
        const Onnx__TensorShapeProto *shape = tp->tensor_type->shape;
        int rank = shape ? (int)shape->n_dim : 2; /* no shape given: one column, as [N, 1] */
        int64_t width = 1;
        if (shape && rank == 2 &&
            shape->dim[1]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            width = shape->dim[1]->dim_value;
        else if (shape && rank == 2 && (width = pb_input_width(gp, iname)) < 1)
            return load_fail(l, NULL,
                             "input \"%.80s\" has no fixed number of columns, and the graph does not fix it",
                             iname);
        if (!ok || rank < 1 || rank > 2)
            return load_fail(l, NULL,
                             "input \"%.80s\" is of element type %d with %d dimensions; tabserve takes "
                             "[N, F] or [N] tensors of numbers or strings",
                             iname, tp->tensor_type->elem_type, rank);
        if (width < 1 || s->n_inputs + (size_t)width > SCHEMA_MAX_INPUTS)
            return load_fail(l, NULL, "input \"%.80s\" has %lld columns (at most %d inputs in all)", iname,
                             (long long)width, SCHEMA_MAX_INPUTS);
        if (width > 1 && type == EL_STRING)
            return load_fail(l, NULL, "input \"%.80s\": a string tensor must have one column", iname);
        graph_input *gi = &p->inputs[p->n_inputs++];
        *gi = (graph_input){add_slot(l, iname), s->n_inputs, (size_t)width, rank, type};
        if (gi->slot < 0) return load_fail(l, NULL, "out of memory");
        for (int64_t j = 0; j < width; j++) {
            schema_input *si = &s->inputs[s->n_inputs];
            char name[300];
            if (width == 1 && *iname)
                snprintf(name, sizeof name, "%.256s", iname);
            else
                snprintf(name, sizeof name, "f%zu", s->n_inputs);
            if (schema_find(s, name, strlen(name)) >= 0)
                return load_fail(l, NULL, "two graph inputs are named \"%.80s\"", name);
            if (!(si->name = strdup(name))) return load_fail(l, NULL, "out of memory");
            si->type = type == EL_STRING ? TYPE_STRING
                       : type == EL_INT  ? TYPE_INTEGER
                       : type == EL_BOOL ? TYPE_BOOLEAN
                                         : TYPE_NUMBER;
            si->required = type != EL_FLOAT; /* a float may be missing (NaN), as in the runtime */
            si->unknown = UNKNOWN_ZEROS;     /* a string the graph does not know: as the runtime sees it */
            s->n_inputs++;
        }
    }
    if (!p->n_inputs) return load_fail(l, NULL, "the graph has no inputs");
    p->n_schema = s->n_inputs;
    return 0;
}

/* The categories of each string input: the strings of the encoders its values reach. */
static int string_vocabularies(loader *l, model_builder *m, const tensor *types)
{
    program *p = l->p;
    unsigned char *reach = malloc(p->n_slots ? p->n_slots : 1);
    p->cat_pool = calloc(p->n_schema, sizeof *p->cat_pool);
    int rc = reach && p->cat_pool ? 0 : load_fail(l, NULL, "out of memory");
    for (size_t k = 0; !rc && k < p->n_inputs; k++) {
        const graph_input *gi = &p->inputs[k];
        if (gi->type != EL_STRING) continue;
        schema_input *si = &model_builder_inputs(m)->inputs[gi->first];
        memset(reach, 0, p->n_slots);
        reach[gi->slot] = 1;
        json_t *vocab = json_array();
        int *map = calloc(p->n_pool ? p->n_pool : 1, sizeof *map);
        size_t n_vocab = 0;
        if (!vocab || !map) rc = load_fail(l, NULL, "out of memory");
        for (size_t q = 0; !rc && q < p->n_nodes; q++) {
            const gnode *g = &p->nodes[q];
            int hit = 0;
            for (int i = 0; i < g->n_in; i++)
                hit |= g->in[i] >= 0 && reach[g->in[i]] && types[g->in[i]].type == EL_STRING;
            if (!hit) continue;
            /* the input's own strings flow on through shape operators; a LabelEncoder's are its values */
            for (int o = 0; o < g->n_out; o++)
                reach[g->out[o]] = types[g->out[o]].type == EL_STRING && g->op != OP_LABELENC;
            if ((g->op == OP_ONEHOT || g->op == OP_LABELENC) && g->key_type == EL_STRING)
                for (size_t c = 0; c < g->n_ia; c++) {
                    int64_t s = g->ia[c];
                    int known = 0;
                    for (size_t v = 0; v < n_vocab; v++) known |= map[v] == s;
                    if (known) continue;
                    map[n_vocab++] = (int)s;
                    json_array_append_new(vocab, json_stringn(p->pool[s], p->pool_len[s]));
                }
        }
        if (!rc && !n_vocab)
            rc = load_fail(l, NULL,
                           "input \"%.80s\" (strings) reaches no OneHotEncoder or LabelEncoder, so its "
                           "categories are unknown",
                           si->name);
        if (!rc && n_vocab > SCHEMA_MAX_VOCAB)
            rc = load_fail(l, NULL, "input \"%.80s\": %zu categories (at most %d)", si->name, n_vocab,
                           SCHEMA_MAX_VOCAB);
        if (!rc) {
            char path[320];
            snprintf(path, sizeof path, "input \"%.256s\" categories", si->name);
            reader rd = {p->file, l->err};
            if (schema_read_vocab(&rd, si, vocab, path) != 0) rc = -1;
        }
        json_decref(vocab);
        p->cat_pool[gi->first] = map;
    }
    free(reach);
    return rc;
}

/* Runs the graph on rows of zeros (strings unknown): every shape and type checked. */
static int dry_run(loader *l, int n, tensor *types)
{
    program *p = l->p;
    float *x = calloc((size_t)n * (p->n_schema ? p->n_schema : 1), sizeof *x);
    tensor *slots = calloc(p->n_slots, sizeof *slots);
    int rc = x && slots ? 0 : load_fail(l, NULL, "out of memory");
    for (size_t k = 0; !rc && k < p->n_inputs; k++)
        if (p->inputs[k].type == EL_STRING)
            for (int q = 0; q < n; q++) x[(size_t)q * p->n_schema + p->inputs[k].first] = -1;
    if (!rc) rc = run_graph(p, x, n, slots, l->err);
    for (size_t s = 0; !rc && s < p->n_slots; s++)
        if (slots[s].n > (size_t)n * MAX_ROW_ELEMENTS)
            rc = load_fail(l, NULL, "value \"%.80s\" holds %zu elements for %d rows (at most %ld a row)",
                           p->slot_names[s], slots[s].n, n, MAX_ROW_ELEMENTS);
    if (!rc && types)
        for (size_t s = 0; s < p->n_slots; s++) {
            types[s] = slots[s];
            types[s].f = NULL;
            types[s].i = NULL;
        }
    if (slots) release_slots(slots, p->n_slots);
    free(slots);
    free(x);
    return rc;
}

/* The node that makes a slot, or NULL. */
static const gnode *maker_of(const program *p, int slot)
{
    for (size_t k = 0; k < p->n_nodes; k++)
        for (int o = 0; o < p->nodes[k].n_out; o++)
            if (p->nodes[k].out[o] == slot) return &p->nodes[k];
    return NULL;
}

/* The answer: the first float output of shape [N, k] or [N]; what it means. */
static int choose_answer(loader *l, model_builder *m, const tensor *t2, const tensor *t3)
{
    program *p = l->p;
    const Onnx__GraphProto *gp = l->gp;
    p->answer = -1;
    char seen[ERR_LEN / 2] = "";
    size_t at = 0;
    for (size_t i = 0; i < gp->n_output && p->answer < 0; i++) {
        const char *oname = pb_str(gp->output[i]->name);
        int s = find_slot(p, oname);
        if (s < 0) return load_fail(l, NULL, "output \"%.80s\" is made by no node", oname);
        const tensor *a = &t2[s], *b = &t3[s];
        if (a->type != EL_FLOAT || a->rank < 1 || a->rank > 2 || a->dim[0] != 2 || b->dim[0] != 3 ||
            (a->rank == 2 && a->dim[1] != b->dim[1])) {
            if (at < sizeof seen - 100) /* what it is instead, for the message */
                at += (size_t)snprintf(seen + at, sizeof seen - at,
                                       "%s\"%.40s\" is %s of %d dimensions, %lld "
                                       "long for 2 rows",
                                       at ? "; " : "", oname, elem_names[a->type], a->rank,
                                       a->rank ? (long long)a->dim[0] : 1LL);
            continue;
        }
        p->answer = s;
        p->answer_width = a->rank == 2 ? (int)a->dim[1] : 1;
    }
    if (p->answer < 0)
        return load_fail(
            l, NULL, "no graph output is a float tensor of one row per input row ([N] or [N, k]): %s", seen);
    int k = p->answer_width;
    if (k < 1 || k > OUTPUT_MAX_CLASSES) return load_fail(l, NULL, "the answer has %d columns", k);
    /* the classifier behind it, through ZipMap and shape operators */
    const gnode *g = maker_of(p, p->answer);
    while (g && (g->op == OP_ZIPMAP || g->op == OP_IDENTITY || g->op == OP_RESHAPE || g->op == OP_FLATTEN))
        g = g->in[0] >= 0 ? maker_of(p, g->in[0]) : NULL;
    const gnode *cls =
        g && (g->op == OP_LINCLS || g->op == OP_TREECLS) && g->n_classes == (size_t)k ? g : NULL;
    output_spec *o = model_builder_output(m);
    o->link = LINK_IDENTITY;
    o->label = strdup("label");
    if (!o->label) return load_fail(l, NULL, "out of memory");
    char buf[80];
    if (k == 1) {
        o->task = g && g->op == OP_SIGMOID ? TASK_BINARY : TASK_REGRESSION;
        p->answer_col = 0;
        return 0;
    }
    o->n_classes = (size_t)k;
    o->classes = calloc((size_t)k, sizeof *o->classes);
    if (!o->classes) return load_fail(l, NULL, "out of memory");
    for (int c = 0; c < k; c++) {
        if (cls && cls->class_type == EL_STRING)
            snprintf(buf, sizeof buf, "%.64s", p->pool[cls->classes[c]]);
        else
            snprintf(buf, sizeof buf, "%lld", cls ? (long long)cls->classes[c] : (long long)c);
        for (char *q = buf; *q; q++)
            if ((unsigned char)*q < 0x20 || *q == '"' || *q == '\\' || *q == ',') *q = '_';
        if (!(o->classes[c] = strdup(buf))) return load_fail(l, NULL, "out of memory");
    }
    p->answer_col = -1;
    if (k == 2) { /* binary: P(the second class) */
        o->task = TASK_BINARY;
        o->positive = o->classes[1];
        free(o->classes[0]);
        free(o->classes);
        o->classes = NULL;
        o->n_classes = 0;
        p->answer_col = 1;
    } else
        o->task = TASK_MULTICLASS;
    return 0;
}

static void summarize(program *p, const char *answer)
{
    size_t at = (size_t)snprintf(p->summary, sizeof p->summary, "onnx graph of %zu nodes (", p->n_nodes);
    for (size_t k = 0; k < p->n_nodes && at < sizeof p->summary - 40; k++) {
        int dup = 0;
        for (size_t j = 0; j < k; j++) dup |= strcmp(p->nodes[j].op_type, p->nodes[k].op_type) == 0;
        if (!dup)
            at += (size_t)snprintf(p->summary + at, sizeof p->summary - at, "%s%.24s", k ? ", " : "",
                                   p->nodes[k].op_type);
    }
    if (at < sizeof p->summary) snprintf(p->summary + at, sizeof p->summary - at, ") -> %.40s", answer);
}

model_builder *onnx_graph_import(const Onnx__ModelProto *mp, const char *buf, size_t len, const char *name,
                                 const import_limits *lim, char *err)
{
    *err = 0;
    program *p = calloc(1, sizeof *p);
    model_builder *m = model_builder_new();
    if (!p || !m || !(p->file = strdup(name))) {
        free(p);
        model_builder_free(m);
        err_set(err, "%s: out of memory", name);
        return NULL;
    }
    p->base.ops = &graph_ops;
    fnv content = FNV_INIT; /* the graph's identity for the model's hash: the file itself */
    fnv_bytes(&content, buf, len);
    p->content = content.h;
    loader l = {p, mp->graph, lim, err, 0, 0, 17, 3};
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const char *d = pb_str(mp->opset_import[i]->domain);
        if (!*d || strcmp(d, "ai.onnx") == 0) l.opset = (int)mp->opset_import[i]->version;
    }
    tensor *t2 = NULL, *t3 = NULL;
    int rc = 0;
    for (size_t i = 0; !rc && i < l.gp->n_initializer; i++) {
        const tensor_t *t = l.gp->initializer[i];
        int s = add_slot(&l, pb_str(t->name));
        rc = s < 0 ? load_fail(&l, NULL, "out of memory") : load_constant(&l, t, &p->consts[s]);
    }
    if (!rc) rc = read_graph_inputs(&l, m);
    if (!rc) rc = read_graph_nodes(&l);
    if (!rc && (!(t2 = calloc(p->n_slots, sizeof *t2)) || !(t3 = calloc(p->n_slots, sizeof *t3))))
        rc = load_fail(&l, NULL, "out of memory");
    if (!rc) rc = dry_run(&l, 2, t2);
    if (!rc) rc = string_vocabularies(&l, m, t2);
    if (!rc) rc = dry_run(&l, 3, t3);
    if (!rc) rc = choose_answer(&l, m, t2, t3);
    /* the model: every input a column as it is (numbers, NaN kept; a string's category index) */
    const schema *in = model_builder_inputs(m);
    for (size_t k = 0; !rc && k < in->n_inputs; k++) {
        feature_step st = {in->inputs[k].n_vocab ? STEP_CATEGORY_INDEX : STEP_PASSTHROUGH, 0, 0};
        if (features_add(model_builder_features(m), k, &st, 1) != 0)
            rc = load_fail(&l, NULL, "out of memory");
    }
    if (!rc) {
        p->base.n_features = (int)p->n_schema;
        p->base.n_outputs = p->answer_col < 0 ? p->answer_width : 1;
        char answer[120];
        if (p->answer_col < 0)
            snprintf(answer, sizeof answer, "%.80s", p->slot_names[p->answer]);
        else
            snprintf(answer, sizeof answer, "%.80s[:, %d]", p->slot_names[p->answer], p->answer_col);
        summarize(p, answer);
        model_builder_set_predictor(m, &p->base);
        p = NULL;
    }
    free(t2);
    free(t3);
    if (p) program_free(p);
    if (rc) {
        model_builder_free(m);
        return NULL;
    }
    return m;
}

/* ---- ONNX's backend node tests ------------------------------------------------ */

/* Whether got equals want as ONNX's test runner compares: the same type and
 * shape, floats within 1e-7 + 1e-3 |want| (NaN equal to NaN), the rest exact. */
static int node_test_equal(const tensor *got, const tensor *want, char *why, size_t len)
{
    if (got->type != want->type || got->rank != want->rank) {
        snprintf(why, len, "a %s tensor of %d dimensions, expected %s of %d", elem_names[got->type],
                 got->rank, elem_names[want->type], want->rank);
        return 0;
    }
    for (int d = 0; d < got->rank; d++)
        if (got->dim[d] != want->dim[d]) {
            snprintf(why, len, "dimension %d is %lld, expected %lld", d, (long long)got->dim[d],
                     (long long)want->dim[d]);
            return 0;
        }
    for (size_t k = 0; k < got->n; k++) {
        int same = got->type == EL_FLOAT
                       ? (isnan(got->f[k]) && isnan(want->f[k])) || got->f[k] == want->f[k] ||
                             fabs((double)got->f[k] - want->f[k]) <= 1e-7 + 1e-3 * fabs((double)want->f[k])
                       : got->i[k] == want->i[k];
        if (!same) {
            if (got->type == EL_FLOAT)
                snprintf(why, len, "element %zu is %.9g, expected %.9g", k, got->f[k], want->f[k]);
            else
                snprintf(why, len, "element %zu is %lld, expected %lld", k, (long long)got->i[k],
                         (long long)want->i[k]);
            return 0;
        }
    }
    return 1;
}

int onnx_graph_node_test(const Onnx__ModelProto *mp, const Onnx__TensorProto *const *inputs, size_t n_in,
                         const Onnx__TensorProto *const *want, size_t n_want, char *err, size_t err_len)
{
    static const import_limits lim = IMPORT_LIMITS_DEFAULT;
    char why[ERR_LEN] = "";
    program *p = calloc(1, sizeof *p);
    if (!p || !mp->graph || !(p->file = strdup("model.onnx"))) {
        free(p);
        snprintf(err, err_len, "%s", mp->graph ? "out of memory" : "no graph");
        return -1;
    }
    p->base.ops = &graph_ops;
    loader l = {p, mp->graph, &lim, why, 0, 0, 17, 3};
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const char *d = pb_str(mp->opset_import[i]->domain);
        if (!*d || strcmp(d, "ai.onnx") == 0) l.opset = (int)mp->opset_import[i]->version;
    }
    int rc = 0, result = -1;
    for (size_t i = 0; !rc && i < l.gp->n_initializer; i++) {
        int sl = add_slot(&l, pb_str(l.gp->initializer[i]->name));
        rc = sl < 0 ? load_fail(&l, NULL, "out of memory")
                    : load_constant(&l, l.gp->initializer[i], &p->consts[sl]);
    }
    /* the graph's inputs that no initializer fills, in order: the test's input_k.pb */
    int in_slot[64];
    size_t n_graph_in = 0;
    for (size_t i = 0; !rc && i < l.gp->n_input && n_graph_in < 64; i++) {
        const char *name = pb_str(l.gp->input[i]->name);
        if (find_slot(p, name) >= 0) continue;
        int sl = add_slot(&l, name);
        if (sl < 0) rc = load_fail(&l, NULL, "out of memory");
        in_slot[n_graph_in++] = sl;
    }
    if (!rc && n_graph_in != n_in)
        rc = load_fail(&l, NULL, "%zu inputs for %zu graph inputs", n_in, n_graph_in);
    if (!rc) rc = read_graph_nodes(&l);
    tensor *slots = rc ? NULL : calloc(p->n_slots, sizeof *slots);
    tensor *given = rc ? NULL : calloc((n_in + n_want) ? n_in + n_want : 1, sizeof *given);
    if (!rc && (!slots || !given)) rc = load_fail(&l, NULL, "out of memory");
    for (size_t k = 0; !rc && k < n_in + n_want; k++)
        rc = load_constant(&l, k < n_in ? inputs[k] : want[k - n_in], &given[k]);
    if (!rc) {
        run_ctx r = {p, slots, why};
        for (size_t sl = 0; sl < p->n_slots; sl++) slots[sl] = p->consts[sl];
        for (size_t k = 0; k < n_in; k++) slots[in_slot[k]] = given[k];
        for (size_t k = 0; !rc && k < p->n_nodes; k++) rc = run_node(&r, &p->nodes[k]);
        result = rc ? -1 : 1;
        for (size_t k = 0; result == 1 && k < n_want && k < l.gp->n_output; k++) {
            int sl = find_slot(p, pb_str(l.gp->output[k]->name));
            char diff[200];
            if (sl < 0 || !node_test_equal(&slots[sl], &given[n_in + k], diff, sizeof diff)) {
                snprintf(why, sizeof why, "output \"%.60s\": %s", pb_str(l.gp->output[k]->name),
                         sl < 0 ? "not computed" : diff);
                result = 0;
            }
        }
        for (size_t k = 0; k < n_in; k++) slots[in_slot[k]] = (tensor){0}; /* given's, freed below */
        release_slots(slots, p->n_slots);
    }
    for (size_t k = 0; given && k < n_in + n_want; k++) {
        free(given[k].f);
        free(given[k].i);
    }
    free(given);
    free(slots);
    snprintf(err, err_len, "%s", why);
    program_free(p);
    return result;
}
