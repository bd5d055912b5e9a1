/* graph_impl — the ONNX interpreter's private parts, shared by the files that
 * make it and by nothing else: graph.c (runs, the predictor), graph_ops.c (the
 * operators of ai.onnx), graph_ops_ml.c (those of ai.onnx.ml), and the reader
 * that builds its program from a file, formats/onnx_graph.c (as ggml's
 * *-impl.h headers are shared by a backend and its loader): tensors, the
 * program and its nodes, the helpers every operator uses, each operator's
 * entry (onnx_graph_run_node calls them) and the runs. */
#ifndef TABSERVE_GRAPH_IMPL_H
#define TABSERVE_GRAPH_IMPL_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "estimators/trees.h"
#include "model/predictor.h"

#define MAX_RANK         8
#define MAX_ROW_ELEMENTS (1L << 22) /* elements of one tensor per row of the batch */

/* ---- tensors ------------------------------------------------------------------ */

typedef enum { EL_FLOAT, EL_INT, EL_BOOL, EL_STRING } elem;
extern const char *const onnx_elem_names[]; /* "float", "int64", "bool", "string" */
#define elem_names onnx_elem_names

typedef struct {
    elem type;
    int rank;
    int64_t dim[MAX_RANK];
    size_t n;
    float *f;     /* EL_FLOAT */
    int64_t *i;   /* EL_INT; EL_BOOL 0 or 1; EL_STRING a pool index, -1 for a string not in it */
    int constant; /* an initializer's: shared by every run, never freed by one */
    int narrow;   /* a narrow ONNX element type the values are exact in (onnx_narrow_bits), or 0 */
} tensor;

/* ONNX's narrow element types: held as floats (or int64s) here, each value exact
 * in its type; a Cast to one rounds as ONNX defines. */
enum {
    ONNX_FLOAT16 = 10,
    ONNX_BFLOAT16 = 16,
    ONNX_FLOAT8E4M3FN,
    ONNX_FLOAT8E4M3FNUZ,
    ONNX_FLOAT8E5M2,
    ONNX_FLOAT8E5M2FNUZ,
    ONNX_UINT4,
    ONNX_INT4,
    ONNX_FLOAT4E2M1,
    ONNX_FLOAT8E8M0,
    ONNX_UINT2,
    ONNX_INT2,
};
/* Bits of one element of a narrow type; 0 for any other type. */
int onnx_narrow_bits(int type);
/* type when it is a narrow one, else 0 (a tensor's or a Cast's narrow field). */
int onnx_narrow_of(int type);
/* Whether a narrow type holds integers (int4, uint4, int2, uint2). */
int onnx_narrow_is_int(int type);
/* A narrow float type's bit pattern as its value. */
float onnx_narrow_value(int type, uint32_t bits);
/* v rounded to a narrow type's nearest value (ties to even), as Cast makes it:
 * saturate (the float8s) clamps what is past the largest finite value; e8m0
 * rounds by round_mode (0 up, 1 down, 2 nearest). An integer type wraps. */
float onnx_narrow_round(int type, float v, int saturate, int round_mode);
int64_t onnx_narrow_wrap(int type, int64_t v);

static inline void tensor_release(tensor *t)
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
    OP_CATEGORY_MAPPER, /* strings to int64s or back, by two lists (ia: pool indexes, ib: ints) */
    OP_NORMALIZER,
    OP_LINCLS,
    OP_LINREG,
    OP_TREECLS,
    OP_TREEREG,
    OP_TREE_ENSEMBLE, /* ai.onnx.ml 5's one operator for both */
    OP_EXTRACT,
    OP_VECTORIZE,
    OP_ZIPMAP,
} opcode;

enum { POST_NONE, POST_LOGISTIC, POST_SOFTMAX, POST_SOFTMAX_ZERO };
enum { AGG_SUM, AGG_AVERAGE, AGG_MIN, AGG_MAX };

/* A TreeEnsemble's trees: the nodes in trees.c's trees with the tests ONNX
 * wrote, walked by trees_leaf as every other tree is; the leaves' weights here,
 * as ONNX keeps them (any number a leaf, each for one class or target). */
typedef struct {
    tree_ensemble *e;
    int *span_at;           /* (n_trees,) where tree t's nodes start in w_first and w_count */
    int *w_first, *w_count; /* per node of every tree: a leaf's weights in w_class and w_value */
    int *w_class;
    float *w_value;
    size_t n_targets; /* classes, or regression targets */
    int agg;
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
    int to_narrow, saturate, round_mode; /* Cast to a narrow type: onnx_narrow_round's */
    int trans_a, trans_b;
    float alpha, beta;
    float *fa, *fb; /* per operator: see read_node */
    size_t n_fa, n_fb;
    float *fc, *fd, *fe; /* SVM: rho, prob_a, prob_b */
    size_t n_fc, n_fd, n_fe;
    int64_t *ia, *ib;
    size_t n_ia, n_ib;
    elem key_type, value_type;
    int64_t idef; /* LabelEncoder's and CategoryMapper's default int (or string: a pool index) */
    int64_t sdef; /* CategoryMapper's default string (a pool index) */
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
    int narrow; /* a narrow ONNX type (float16, ...): each value rounded to it */
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
    int answer_narrow; /* the answer's declared narrow type (a float16 output): rounded to it */
    /* every input declares a batch of exactly 1 ([1, F], as torch.onnx.export writes
     * without dynamic axes): run a row at a time, as its runtime takes it (a
     * Reshape to [1, -1] inside would merge the rows of a batch) */
    int one_row;
    uint64_t content;
    char summary[160];
} program;

/* ---- errors ------------------------------------------------------------------- */

typedef struct {
    const program *p;
    tensor *slots;
    char *err;
} run_ctx;

static inline int node_fail(char *err, const program *p, const gnode *g, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static inline int node_fail(char *err, const program *p, const gnode *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset_node(err, p->file, g ? g->name : NULL, g ? g->op_type : NULL, fmt, ap);
    va_end(ap);
    return -1;
}

#define FAIL(...) node_fail(r->err, r->p, g, __VA_ARGS__)

static inline tensor *IN(run_ctx *r, const gnode *g, int k)
{
    return k < g->n_in && g->in[k] >= 0 ? &r->slots[g->in[k]] : NULL;
}
static inline tensor *OUT(run_ctx *r, const gnode *g, int k) { return &r->slots[g->out[k]]; }

/* Shapes an output (type, rank, dims) and allocates its data. */
static inline int make(run_ctx *r, const gnode *g, tensor *t, elem type, int rank, const int64_t *dim)
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

static inline int same_shape_as(run_ctx *r, const gnode *g, tensor *out, elem type, const tensor *x)
{
    return make(r, g, out, type, x->rank, x->dim);
}

/* A float view of a numeric tensor (ints and bools converted), freed by the caller when *owned. */
static inline const float *as_floats(const tensor *t, int *owned)
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

static inline int norm_axis(run_ctx *r, const gnode *g, int64_t axis, int rank, int64_t *out)
{
    *out = 0;
    if (axis < -rank || axis >= rank)
        return FAIL("axis %lld of a tensor of %d dimensions", (long long)axis, rank);
    *out = axis < 0 ? axis + rank : axis;
    return 0;
}

static inline size_t prod(const int64_t *d, int from, int to)
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

static inline int broadcast(run_ctx *r, const gnode *g, const tensor *const *ts, int k, bplan *b)
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

static inline int op_arith(run_ctx *r, const gnode *g)
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

static inline int op_where(run_ctx *r, const gnode *g)
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

/* ---- the operators' entries and what the loader shares with them -------------- */

enum { K_LINEAR, K_POLY, K_RBF, K_SIGMOID }; /* an SVM's kernel */

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

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_SUMSQUARE, R_LOGSUMEXP };

int onnx_op_unary(run_ctx *r, const gnode *g);
int onnx_op_category_mapper(run_ctx *r, const gnode *g);
int onnx_op_math(run_ctx *r, const gnode *g);
int onnx_op_dropout(run_ctx *r, const gnode *g);
int onnx_op_pow(run_ctx *r, const gnode *g);
int onnx_op_variadic(run_ctx *r, const gnode *g);
int onnx_op_compare(run_ctx *r, const gnode *g);
int onnx_op_logic(run_ctx *r, const gnode *g);
int onnx_op_clip(run_ctx *r, const gnode *g);
int onnx_op_batchnorm(run_ctx *r, const gnode *g);
int onnx_op_binarizer(run_ctx *r, const gnode *g);
int onnx_copy_into(run_ctx *r, const gnode *g, tensor *o, const tensor *x, int rank, const int64_t *dim);
int64_t onnx_to_int(float v);
int onnx_op_cast(run_ctx *r, const gnode *g);
int onnx_op_identity(run_ctx *r, const gnode *g);
int onnx_op_reshape(run_ctx *r, const gnode *g);
int onnx_op_flatten(run_ctx *r, const gnode *g);
int onnx_op_squeeze(run_ctx *r, const gnode *g);
int onnx_op_unsqueeze(run_ctx *r, const gnode *g);
int onnx_op_concat(run_ctx *r, const gnode *g);
int onnx_op_gather(run_ctx *r, const gnode *g);
int onnx_op_matmul(run_ctx *r, const gnode *g);
int onnx_op_gemm(run_ctx *r, const gnode *g);
void onnx_softmax_rows(float *v, size_t rows, size_t k, int zero);
int onnx_op_softmax(run_ctx *r, const gnode *g);
int onnx_op_argmax(run_ctx *r, const gnode *g);
int onnx_op_shape(run_ctx *r, const gnode *g);
int onnx_op_transpose(run_ctx *r, const gnode *g);
int onnx_op_slice(run_ctx *r, const gnode *g);
int onnx_op_reduce(run_ctx *r, const gnode *g);
int onnx_op_layernorm(run_ctx *r, const gnode *g);
int onnx_op_size(run_ctx *r, const gnode *g);
int onnx_op_isnan(run_ctx *r, const gnode *g);
int onnx_op_prelu(run_ctx *r, const gnode *g);
int onnx_op_constant_of_shape(run_ctx *r, const gnode *g);
int onnx_op_expand(run_ctx *r, const gnode *g);
int onnx_op_split(run_ctx *r, const gnode *g);
int onnx_op_topk(run_ctx *r, const gnode *g);
int onnx_op_gather_elements(run_ctx *r, const gnode *g);
extern const char *const onnx_math_names[]; /* M_ABS .. M_MISH */
#define ONNX_MATH_COUNT (M_MISH + 1)
extern const char *const onnx_reduce_names[];
int onnx_op_imputer(run_ctx *r, const gnode *g);
int onnx_op_scaler(run_ctx *r, const gnode *g);
int onnx_op_onehot(run_ctx *r, const gnode *g);
int onnx_op_labelenc(run_ctx *r, const gnode *g);
int onnx_op_normalizer(run_ctx *r, const gnode *g);
int onnx_op_extract(run_ctx *r, const gnode *g);
int onnx_op_vectorize(run_ctx *r, const gnode *g);
void onnx_post_transform(int post, float *s, size_t rows, size_t k);
int onnx_op_svm(run_ctx *r, const gnode *g);
int onnx_op_linear(run_ctx *r, const gnode *g);
int onnx_op_trees(run_ctx *r, const gnode *g);
int onnx_op_zipmap(run_ctx *r, const gnode *g);
float onnx_sigmoid(float z);

/* ---- runs (graph.c) ---------------------------------------------------------- */

extern const predictor_ops onnx_graph_ops; /* a program's base.ops */
/* One node, on the slots of r. 0, or -1 with r->err naming the node. */
int onnx_graph_run_node(run_ctx *r, const gnode *g);
/* The whole program on n rows of x (n, n_schema); the slots hold every value after,
 * for the caller to release (onnx_graph_release). 0, or -1 with err. */
int onnx_graph_run(const program *p, const float *x, int n, tensor *slots, char *err);
void onnx_graph_release(tensor *slots, size_t n);
void onnx_graph_program_free(program *p);

#endif
