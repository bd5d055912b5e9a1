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
 * caller reports as that row's error.
 *
 * This file reads an ONNX graph into a program, the interpreter's form
 * (estimators/graph_impl.h); the interpreter that runs it, a predictor like any
 * other, is estimators/graph.c with its operators in graph_ops.c (ai.onnx) and
 * graph_ops_ml.c (ai.onnx.ml). */
#include "formats/onnx_graph.h"

#include <jansson.h>

#include "base/files.h"
#include "estimators/graph_impl.h"

const char onnx_supported_operators[] =
    "Imputer, Scaler, OneHotEncoder, LabelEncoder, CategoryMapper, Normalizer, LinearClassifier, "
    "LinearRegressor, "
    "TreeEnsembleClassifier, TreeEnsembleRegressor, TreeEnsemble, SVMClassifier, SVMRegressor, Binarizer, "
    "ArrayFeatureExtractor, FeatureVectorizer, ZipMap (ai.onnx.ml); Constant, Cast, CastLike, Concat, "
    "Gather, Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout, MatMul, Gemm, Add, Sub, Mul, "
    "Div, Pow, Max, Min, Sum, Mean, Abs, Neg, Exp, Log, Sqrt, Reciprocal, Floor, Ceil, Round, Sign, "
    "Erf, Relu, Sigmoid, Tanh, Softplus, Softsign, Elu, Selu, LeakyRelu, HardSigmoid, Gelu, Clip, "
    "BatchNormalization, Equal, Less, Greater, LessOrEqual, GreaterOrEqual, And, Or, Xor, Not, "
    "Softmax, ArgMax, Where, Shape, Slice, Transpose, ReduceSum, ReduceMean, ReduceMax, ReduceMin, "
    "ReduceProd, ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSumExp, LayerNormalization, ArgMin, "
    "LogSoftmax, Size, IsNaN, PRelu, Mish, ConstantOfShape, Expand, Split, TopK, GatherElements "
    "(ai.onnx)";

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
    {"CategoryMapper", 1, OP_CATEGORY_MAPPER},
    {"Normalizer", 1, OP_NORMALIZER},
    {"LinearClassifier", 1, OP_LINCLS},
    {"LinearRegressor", 1, OP_LINREG},
    {"TreeEnsembleClassifier", 1, OP_TREECLS},
    {"TreeEnsembleRegressor", 1, OP_TREEREG},
    {"TreeEnsemble", 1, OP_TREE_ENSEMBLE},
    {"ArrayFeatureExtractor", 1, OP_EXTRACT},
    {"FeatureVectorizer", 1, OP_VECTORIZE},
    {"ZipMap", 1, OP_ZIPMAP},
};

/* ---- loading ------------------------------------------------------------------ */

/* The interpreter's element kind of an ONNX TensorProto data type; *ok 0 for one it has none for. */
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
    default:
        /* the narrow types: values held exact in float or int64 (graph_narrow.c) */
        *ok = onnx_narrow_bits((int)t) > 0;
        return onnx_narrow_is_int((int)t) ? EL_INT : EL_FLOAT;
    }
}

typedef struct {
    size_t *at, cap;
} name_index;

typedef struct {
    program *p;
    const Onnx__GraphProto *gp;
    const import_limits *lim;
    char *err;
    size_t cap_slots, cap_pool;
    int opset, ml_opset;
    const Onnx__ModelProto *mp; /* its local functions (NULL: none) */
    name_index slots, strings;  /* the named slots, the pool's strings (index_find) */
    size_t cap_nodes;           /* p->nodes' room */
    int n_calls;                /* function calls expanded so far: each one's values are named apart */
} loader;

static int load_fail(loader *l, const gnode *g, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int load_fail(loader *l, const gnode *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset_node(l->err, l->p->file, g ? g->name : NULL, g ? g->op_type : NULL, fmt, ap);
    va_end(ap);
    return -1;
}

/* Slot names and pool strings are found through a hash, so that loading a graph
 * of n nodes or strings is not n^2 comparisons (91 s for a file that expands to
 * 10^5 nodes, 38 s for a LabelEncoder of 2 * 10^5 strings). An entry is 1 + an
 * index into the names, 0 empty; open addressing, at most half full. A name's
 * length is lens[k], or strlen where lens is NULL (slot names: the unnamed ""
 * ones are not indexed). */
static size_t bytes_hash(const char *s, size_t len)
{
    size_t h = 1469598103934665603u;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

static int same_name(char *const *names, const size_t *lens, size_t k, const char *s, size_t len)
{
    return (lens ? lens[k] : strlen(names[k])) == len && (len == 0 || memcmp(names[k], s, len) == 0);
}

/* The index of that name (the latest added), or -1. */
static long index_find(const name_index *x, char *const *names, const size_t *lens, const char *s, size_t len)
{
    for (size_t at = x->cap ? bytes_hash(s, len) & (x->cap - 1) : 0; x->cap && x->at[at];
         at = (at + 1) & (x->cap - 1))
        if (same_name(names, lens, x->at[at] - 1, s, len)) return (long)(x->at[at] - 1);
    return -1;
}

/* names[k] into the index, the k before it already there; 0 or -1. */
static int index_add(name_index *x, char *const *names, const size_t *lens, size_t k)
{
    if (2 * (k + 1) >= x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 128;
        while (2 * (k + 1) >= cap) cap *= 2;
        size_t *grown = calloc(cap, sizeof *grown);
        if (!grown) return -1;
        free(x->at);
        x->at = grown;
        x->cap = cap;
        for (size_t j = 0; j < k; j++)
            if ((lens || *names[j]) && index_add(x, names, lens, j) != 0) return -1;
    }
    size_t len = lens ? lens[k] : strlen(names[k]);
    size_t at = bytes_hash(names[k], len) & (x->cap - 1);
    while (x->at[at] && !same_name(names, lens, x->at[at] - 1, names[k], len)) at = (at + 1) & (x->cap - 1);
    x->at[at] = k + 1;
    return 0;
}

/* The slot of that name (the latest made), or -1. */
static int find_slot(const loader *l, const char *name)
{
    return *name ? (int)index_find(&l->slots, l->p->slot_names, NULL, name, strlen(name)) : -1;
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
    if (*name && index_add(&l->slots, p->slot_names, NULL, p->n_slots) != 0) {
        free(p->slot_names[p->n_slots]);
        return -1;
    }
    return (int)p->n_slots++;
}

/* A string's index in the pool, added when new; -1 out of memory. */
static int64_t intern(loader *l, const uint8_t *s, size_t len)
{
    program *p = l->p;
    long known = index_find(&l->strings, p->pool, p->pool_len, (const char *)s, len);
    if (known >= 0) return known;
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
    if (index_add(&l->strings, p->pool, p->pool_len, p->n_pool) != 0) {
        free(c);
        return -1;
    }
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
    int bits = onnx_narrow_bits(t->data_type);
    if (bits) {
        uint32_t *b = pb_tensor_bits(t, bits, out->n);
        if (!b)
            got = (size_t)-1;
        else if (type == EL_FLOAT && (out->f = malloc((out->n ? out->n : 1) * sizeof *out->f)))
            for (size_t k = 0; k < out->n; k++) out->f[k] = onnx_narrow_value(t->data_type, b[k]);
        else if (type == EL_INT && (out->i = malloc((out->n ? out->n : 1) * sizeof *out->i)))
            for (size_t k = 0; k < out->n; k++) out->i[k] = onnx_narrow_wrap(t->data_type, b[k]);
        if (b) got = out->n;
        out->narrow = t->data_type;
        free(b);
    } else if (type == EL_FLOAT) {
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

/* A tree ensemble's nodes as its attributes list them (a TreeEnsemble's leaves
 * after its branches), each tree by its root; forest_build makes them trees.c's
 * trees. */
enum { MODE_LEAF, MODE_LEQ, MODE_LT, MODE_GTE, MODE_GT, MODE_EQ, MODE_NEQ, MODE_MEMBER };

typedef struct {
    int feature;
    float value;
    uint8_t mode, missing_true;
    int yes, no;          /* node indexes */
    int w_first, w_count; /* a leaf's weights; a MODE_MEMBER node's set in read_forest.members */
} tnode;

typedef struct {
    tnode *nodes;
    size_t n_nodes;
    int *roots;
    size_t n_trees;
    float *members; /* the sets of MODE_MEMBER nodes (TreeEnsemble's membership_values) */
    int max_feature;
} read_forest;

static void read_forest_free(read_forest *rf)
{
    free(rf->nodes);
    free(rf->roots);
    free(rf->members);
}

/* The read nodes into g's forest: one trees.c tree per tree, its nodes in the
 * order a walk from the root first meets them (children after their parent, as
 * trees.c keeps every tree), each with its ONNX test; NaN goes the true way when
 * the node tracks missing values, else where its test sends a NaN (only
 * BRANCH_NEQ holds for one). Each leaf's weights stay where the reader grouped
 * them, at span_at[t] + the leaf's place. stack and place: room for
 * rf->n_nodes ints each (the reader's, done with). */
static int forest_build(loader *l, gnode *g, const read_forest *rf, int *stack, int *place)
{
    static const unsigned char tests[] = {
        [MODE_LEQ] = TREES_LEQ, [MODE_LT] = TREES_LT,   [MODE_GTE] = TREES_GTE,      [MODE_GT] = TREES_GT,
        [MODE_EQ] = TREES_EQ,   [MODE_NEQ] = TREES_NEQ, [MODE_MEMBER] = TREES_MEMBER};
    forest *fo = g->trees;
    size_t nt = rf->n_trees, total = 0;
    int *count = calloc(nt ? nt : 1, sizeof *count), *n_members = calloc(nt ? nt : 1, sizeof *n_members);
    int rc = count && n_members ? 0 : load_fail(l, g, "out of memory");
    for (size_t t = 0; !rc && t < nt; t++) { /* the size of each tree and of its sets */
        size_t top = 0;
        stack[top++] = rf->roots[t];
        while (top) {
            const tnode *nd = &rf->nodes[stack[--top]];
            count[t]++;
            if (nd->mode == MODE_LEAF) continue;
            if (nd->mode == MODE_MEMBER) n_members[t] += nd->w_count;
            stack[top++] = nd->no;
            stack[top++] = nd->yes;
        }
        total += (size_t)count[t];
    }
    fo->e = rc ? NULL : trees_create(rf->max_feature + 1, (int)fo->n_targets, nt, NULL);
    size_t *room = fo->e ? malloc((nt ? nt : 1) * sizeof *room) : NULL;
    for (size_t t = 0; room && t < nt; t++) room[t] = (size_t)count[t];
    if (room) trees_reserve_nodes(fo->e, room); /* in 2 MB pages (else malloc's): see read_trees */
    free(room);
    for (size_t t = 0; fo->e && t < nt; t++)
        if (trees_alloc_tree(&fo->e->trees[t], count[t]) != 0) rc = load_fail(l, g, "out of memory");
    fo->span_at = malloc((nt ? nt : 1) * sizeof *fo->span_at);
    fo->w_first = memory_large((total ? total : 1) * sizeof *fo->w_first);
    fo->w_count = memory_large((total ? total : 1) * sizeof *fo->w_count);
    if (!rc && (!fo->e || !fo->span_at || !fo->w_first || !fo->w_count))
        rc = load_fail(l, g, "out of memory");
    for (size_t t = 0, span = 0; !rc && t < nt; span += (size_t)count[t++]) {
        tree *tr = &fo->e->trees[t];
        fo->span_at[t] = (int)span;
        tr->test = malloc((size_t)count[t]);
        if (n_members[t]) {
            tr->members = malloc((size_t)n_members[t] * sizeof *tr->members);
            tr->cat_at = malloc((size_t)count[t] * sizeof *tr->cat_at);
            tr->cat_len = calloc((size_t)count[t], sizeof *tr->cat_len);
        }
        if (!tr->test || (n_members[t] && (!tr->members || !tr->cat_at || !tr->cat_len))) {
            rc = load_fail(l, g, "out of memory");
            break;
        }
        int next = 1, members = 0;
        size_t top = 0;
        place[rf->roots[t]] = 0;
        stack[top++] = rf->roots[t];
        while (top) {
            int at = stack[--top], q = place[at];
            const tnode *nd = &rf->nodes[at];
            int leaf = nd->mode == MODE_LEAF;
            fo->w_first[span + (size_t)q] = leaf ? nd->w_first : 0;
            fo->w_count[span + (size_t)q] = leaf ? nd->w_count : 0;
            tr->test[q] = leaf ? TREES_LT : tests[nd->mode];
            if (tr->cat_at) tr->cat_at[q] = -1;
            if (leaf) continue;
            tr->feature[q] = nd->feature;
            tr->threshold[q] = nd->value;
            tr->default_left[q] = nd->missing_true || nd->mode == MODE_NEQ;
            if (nd->mode == MODE_MEMBER) {
                memcpy(tr->members + members, rf->members + nd->w_first, (size_t)nd->w_count * sizeof(float));
                tr->cat_at[q] = members;
                tr->cat_len[q] = nd->w_count;
                members += nd->w_count;
            }
            tr->left[q] = place[nd->yes] = next++;
            tr->right[q] = place[nd->no] = next++;
            stack[top++] = nd->no;
            stack[top++] = nd->yes;
        }
    }
    free(count);
    free(n_members);
    return rc;
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
    read_forest rf = {0};
    float *values = pb_attr_floats(l->lim->max_tensor, n, "nodes_values", &n_values);
    fo->w_value = pb_attr_floats(l->lim->max_tensor, n, name, &n_weights);
    fo->base = pb_attr_floats(l->lim->max_tensor, n, "base_values", &fo->n_base);
    /* a large ensemble's arrays in 2 MB pages: their first touches were most of this load */
    node_key *keys = memory_large(nn * sizeof *keys);
    rf.nodes = zeroed_large(nn * sizeof *rf.nodes);
    rf.n_nodes = nn;
    int rc = 0;
    if (!values || n_values != nn || !fo->w_value || n_weights != nl)
        rc = load_fail(l, g, "nodes_values or %s has the wrong length", name);
    else if (!keys || !rf.nodes)
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
        tnode *nd = &rf.nodes[i];
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
        if (nd->feature > rf.max_feature) rf.max_feature = nd->feature;
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
    rf.roots = rc ? NULL : memory_large(nn * sizeof *rf.roots);
    if (!rc && (!seen || !stack || !rf.roots)) rc = load_fail(l, g, "out of memory");
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
        if ((long)rf.n_trees >= l->lim->max_trees) {
            rc = load_fail(l, g, "more than %ld trees (--max-trees)", l->lim->max_trees);
            break;
        }
        long root = key_find_in(keys + i, count, tid, 0);
        if (root < 0) {
            rc = load_fail(l, g, "tree %lld has no node 0 (its root)", (long long)tid);
            break;
        }
        rf.roots[rf.n_trees++] = (int)root;
        size_t top = 0;
        stack[top++] = (int)root;
        seen[root] = 1;
        while (top && !rc) {
            size_t at = (size_t)stack[--top];
            tnode *nd = &rf.nodes[at];
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
        if (at < 0 || rf.nodes[at].mode != MODE_LEAF || !seen[at]) {
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
        rf.nodes[at].w_count++;
        classes_used |= l_id->ints[i] == 0 ? 1 : l_id->ints[i] == 1 ? 2 : 4;
        if (fo->w_value[i] < 0) fo->all_positive = 0;
    }
    fo->binary_case = classifier && fo->n_targets == 2 && (classes_used == 1 || classes_used == 2);
    if (!rc) {
        int first = 0;
        for (size_t i = 0; i < nn; i++) {
            rf.nodes[i].w_first = first;
            first += rf.nodes[i].w_count;
            rf.nodes[i].w_count = 0;
        }
        float *wv = malloc((nl ? nl : 1) * sizeof *wv);
        if (!wv) rc = load_fail(l, g, "out of memory");
        for (size_t i = 0; !rc && i < nl; i++) {
            tnode *nd = &rf.nodes[w_of[i]];
            int slot = nd->w_first + nd->w_count++;
            fo->w_class[slot] = fo->binary_case ? 0 : (int)l_id->ints[i]; /* one score: see onnx_op_trees */
            wv[slot] = fo->w_value[i];
        }
        if (!rc) {
            free(fo->w_value);
            fo->w_value = wv;
        }
    }
    free(values);
    free(keys);
    free(w_of);
    if (!rc) rc = forest_build(l, g, &rf, stack, seen);
    free(seen);
    free(stack);
    read_forest_free(&rf);
    return rc;
}

/* A tensor attribute's values as floats (NULL and *count 0 when absent), or its
 * integers (pb_tensor_indexes: every width). */
static float *tensor_attr_floats(loader *l, const node_t *n, const char *name, size_t *count)
{
    const attr_t *a = pb_attr(n, name);
    *count = 0;
    return a && a->t ? pb_tensor_floats(l->lim->max_tensor, a->t, count) : NULL;
}

/* TreeEnsemble (ai.onnx.ml 5): the nodes are indexes into the nodes_* lists, a
 * branch's children are nodes or, where nodes_trueleafs/falseleafs say so,
 * leaves (indexes into leaf_targetids and leaf_weights); each tree starts at
 * one of tree_roots. Read into the same forest as the older two operators: the
 * leaves after the branches, one weight each. A BRANCH_MEMBER node (mode 6)
 * tests x against its set, the next run of membership_values up to a NaN, in
 * the order the member nodes come in nodes_modes. Every branch and leaf is
 * reached at most once, by one tree. */
static int read_tree_ensemble(loader *l, gnode *g, const node_t *n)
{
    static const char *const lists[] = {"nodes_featureids", "nodes_truenodeids", "nodes_falsenodeids",
                                        "nodes_trueleafs", "nodes_falseleafs"};
    const attr_t *a[5], *roots = pb_attr(n, "tree_roots"), *targets = pb_attr(n, "leaf_targetids"),
                        *miss = pb_attr(n, "nodes_missing_value_tracks_true");
    const attr_t *modes_attr = pb_attr(n, "nodes_modes");
    size_t nn = 0, nl = targets ? targets->n_ints : 0, n_splits = 0, n_weights = 0, n_members = 0,
           n_modes = 0;
    for (int k = 0; k < 5; k++) {
        a[k] = pb_attr(n, lists[k]);
        if (!a[k] || (k && a[k]->n_ints != nn))
            return load_fail(l, g, "%s is missing or of another length than nodes_featureids", lists[k]);
        nn = a[k]->n_ints;
    }
    if (!roots || !roots->n_ints || !nl || !modes_attr || !modes_attr->t)
        return load_fail(l, g, "needs tree_roots, leaf_targetids, leaf_weights and nodes_modes");
    if ((long)(nn + nl) > l->lim->max_tensor)
        return load_fail(l, g, "%zu nodes and leaves (--max-tensor)", nn + nl);
    if ((long)roots->n_ints > l->lim->max_trees)
        return load_fail(l, g, "%zu trees; at most %ld are accepted (--max-trees)", roots->n_ints,
                         l->lim->max_trees);
    if (miss && miss->n_ints && miss->n_ints != nn)
        return load_fail(l, g, "nodes_missing_value_tracks_true has %zu entries for %zu nodes", miss->n_ints,
                         nn);
    forest *fo = g->trees = calloc(1, sizeof *fo);
    if (!fo) return load_fail(l, g, "out of memory");
    read_forest rf = {0};
    float *splits = tensor_attr_floats(l, n, "nodes_splits", &n_splits);
    int64_t *modes = pb_tensor_indexes(modes_attr->t, &n_modes);
    fo->w_value = tensor_attr_floats(l, n, "leaf_weights", &n_weights);
    rf.members = tensor_attr_floats(l, n, "membership_values", &n_members);
    rf.nodes = zeroed_large((nn + nl) * sizeof *rf.nodes);
    rf.roots = malloc(roots->n_ints * sizeof *rf.roots);
    fo->w_class = malloc(nl * sizeof *fo->w_class);
    int *seen = zeroed_large((nn + nl) * sizeof *seen), *stack = memory_large((nn + nl) * sizeof *stack);
    rf.n_nodes = nn + nl;
    fo->n_targets = (size_t)pb_attr_int(n, "n_targets", 1);
    int rc = 0;
    if (!splits || n_splits != nn || !modes || n_modes != nn || !fo->w_value || n_weights != nl)
        rc = load_fail(l, g,
                       "nodes_splits and nodes_modes must hold a value per node, leaf_weights one per leaf");
    else if (!rf.nodes || !rf.roots || !fo->w_class || !seen || !stack)
        rc = load_fail(l, g, "out of memory");
    else if (fo->n_targets < 1 || fo->n_targets > OUTPUT_MAX_CLASSES)
        rc = load_fail(l, g, "n_targets %zu (1 to %d)", fo->n_targets, OUTPUT_MAX_CLASSES);
    int64_t agg = pb_attr_int(n, "aggregate_function", 1), post = pb_attr_int(n, "post_transform", 0);
    /* the enums of ai.onnx.ml 5, in the older operators' terms */
    static const int aggs[] = {AGG_AVERAGE, AGG_SUM, AGG_MIN, AGG_MAX};
    static const int posts[] = {POST_NONE, POST_SOFTMAX, POST_LOGISTIC, POST_SOFTMAX_ZERO};
    if (!rc && (agg < 0 || agg > 3)) rc = load_fail(l, g, "aggregate_function %lld (0 to 3)", (long long)agg);
    if (!rc && (post < 0 || post > 3))
        rc = load_fail(l, g, "post_transform %lld is not supported (NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO)",
                       (long long)post);
    if (!rc) fo->agg = aggs[agg], g->post = posts[post];
    size_t member_at = 0;
    for (size_t i = 0; !rc && i < nn; i++) {
        tnode *nd = &rf.nodes[i];
        int64_t m = modes[i], f = a[0]->ints[i];
        if (m < 0 || m > 6) {
            rc = load_fail(l, g,
                           "node %zu: mode %lld is not one of 0 to 6 (LEQ, LT, GTE, GT, EQ, NEQ, MEMBER)", i,
                           (long long)m);
            break;
        }
        if (f < 0 || f >= (1 << 20)) {
            rc = load_fail(l, g, "node %zu splits on feature %lld", i, (long long)f);
            break;
        }
        nd->mode = (uint8_t)(m + 1); /* 0 is LEAF in the older operators' modes */
        nd->feature = (int)f;
        if (nd->feature > rf.max_feature) rf.max_feature = nd->feature;
        nd->value = splits[i];
        nd->missing_true = miss && miss->n_ints ? miss->ints[i] != 0 : 0;
        if (nd->mode == MODE_MEMBER) {
            nd->w_first = (int)member_at;
            while (member_at < n_members && !isnan(rf.members[member_at])) member_at++;
            if (member_at == n_members) {
                rc = load_fail(
                    l, g, "node %zu: membership_values holds no set for it (each set ends with a NaN)", i);
                break;
            }
            nd->w_count = (int)member_at++ - nd->w_first;
        }
    }
    if (!rc && member_at != n_members)
        rc = load_fail(l, g, "membership_values holds %zu values past the last member node's set",
                       n_members - member_at);
    for (size_t k = 0; !rc && k < nl; k++) {
        tnode *leaf = &rf.nodes[nn + k];
        int64_t t = targets->ints[k];
        if (t < 0 || (size_t)t >= fo->n_targets) {
            rc = load_fail(l, g, "leaf %zu is for target %lld, of %zu", k, (long long)t, fo->n_targets);
            break;
        }
        leaf->mode = MODE_LEAF, leaf->w_first = (int)k, leaf->w_count = 1;
        fo->w_class[k] = (int)t;
    }
    /* each tree from its root, every branch and leaf reached once */
    for (size_t t = 0; !rc && t < roots->n_ints; t++) {
        int64_t r0 = roots->ints[t];
        if (r0 < 0 || (size_t)r0 >= nn) {
            rc = load_fail(l, g, "tree %zu: root %lld is not a node", t, (long long)r0);
            break;
        }
        size_t at0 = (size_t)r0;
        /* a tree that is one leaf: a root whose two ways are that leaf */
        if (a[3]->ints[at0] && a[4]->ints[at0] && a[1]->ints[at0] == a[2]->ints[at0]) {
            int64_t lf = a[1]->ints[at0];
            if (lf < 0 || (size_t)lf >= nl || seen[nn + (size_t)lf]) {
                rc = load_fail(l, g, "tree %zu: leaf %lld does not exist or is reached twice", t,
                               (long long)lf);
                break;
            }
            seen[nn + (size_t)lf] = 1;
            rf.roots[rf.n_trees++] = (int)(nn + (size_t)lf);
            continue;
        }
        if (seen[at0]) {
            rc = load_fail(l, g, "tree %zu: root %zu is reached twice", t, at0);
            break;
        }
        rf.roots[rf.n_trees++] = (int)at0;
        size_t top = 0;
        stack[top++] = (int)at0;
        seen[at0] = 1;
        while (top && !rc) {
            size_t at = (size_t)stack[--top];
            for (int q = 0; q < 2 && !rc; q++) {
                int64_t c = a[1 + q]->ints[at];
                int leaf = a[3 + q]->ints[at] != 0;
                size_t limit = leaf ? nl : nn, slot = leaf ? nn + (size_t)c : (size_t)c;
                if (c < 0 || (size_t)c >= limit)
                    rc = load_fail(l, g, "node %zu: %s child %lld is not a %s", at, q ? "false" : "true",
                                   (long long)c, leaf ? "leaf" : "node");
                else if (seen[slot])
                    rc =
                        load_fail(l, g, "node %zu: %s child %lld is reached twice (a cycle or a shared node)",
                                  at, q ? "false" : "true", (long long)c);
                else {
                    seen[slot] = 1;
                    if (!leaf) stack[top++] = (int)slot;
                    *(q ? &rf.nodes[at].no : &rf.nodes[at].yes) = (int)slot;
                }
            }
        }
    }
    free(splits);
    free(modes);
    if (!rc) rc = forest_build(l, g, &rf, stack, seen);
    free(seen);
    free(stack);
    read_forest_free(&rf);
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
    snprintf(name, sizeof name, "%s_tensor", what); /* ai.onnx.ml 4: any element type, as a tensor */
    const attr_t *ta = pb_attr(n, name);
    snprintf(name, sizeof name, "%s_floats", what);
    if (ta && ta->t) {
        tensor t = {0};
        if (load_constant(l, ta->t, &t) != 0) {
            free(t.f);
            free(t.i);
            return -1;
        }
        *type = t.type == EL_BOOL ? EL_INT : t.type;
        *count = t.n;
        *ints = t.i;
        *floats = t.f;
        if (!t.n)
            return node_fail(l->err, l->p, NULL, "node \"%.80s\" (LabelEncoder): %s_tensor is empty",
                             pb_str(n->name), what);
    } else if (strs && strs->n_strings) {
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
                         "node \"%.80s\" (LabelEncoder): has no %s (%s_strings, %s_int64s, "
                         "%s_floats or %s_tensor)",
                         pb_str(n->name), what, what, what, what, what);
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
        for (g->flag = 0; g->flag < ONNX_MATH_COUNT && strcmp(onnx_math_names[g->flag], g->op_type) != 0;)
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
    case OP_CAST:
    case OP_CASTLIKE: {
        int ok = 1;
        int64_t to = pb_attr_int(n, "to", 0);
        if (g->op == OP_CAST) g->to = elem_of_onnx(to, &ok); /* CastLike: its second input's type */
        if (!ok) return load_fail(l, g, "casts to type %lld, which tabserve does not run", (long long)to);
        g->to_narrow = g->op == OP_CAST ? onnx_narrow_of((int)to) : 0;
        g->saturate = (int)pb_attr_int(n, "saturate", 1);
        char mode[16];
        const char *m = pb_attr_string(n, "round_mode", mode, sizeof mode, "up");
        g->round_mode = strcmp(m, "up") == 0        ? 0
                        : strcmp(m, "down") == 0    ? 1
                        : strcmp(m, "nearest") == 0 ? 2
                                                    : -1;
        if (g->round_mode < 0) return load_fail(l, g, "has round_mode \"%.16s\" (up, down or nearest)", m);
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
        for (g->flag = 0; strcmp(onnx_reduce_names[g->flag], g->op_type) != 0;) g->flag++;
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
        if ((a = pb_attr(n, "default_tensor")) && a->t) { /* ai.onnx.ml 4: one value of the values' type */
            tensor d = {0};
            int rc = load_constant(l, a->t, &d);
            elem dt = d.type == EL_BOOL ? EL_INT : d.type;
            if (rc == 0 && (d.n != 1 || dt != g->value_type))
                rc = load_fail(l, g, "default_tensor must be one value of the values' type");
            if (rc == 0 && dt == EL_FLOAT) g->fdef = d.f[0];
            if (rc == 0 && dt != EL_FLOAT) g->idef = d.i[0];
            free(d.f);
            free(d.i);
            if (rc != 0) return -1;
        }
        break;
    }
    case OP_CATEGORY_MAPPER: { /* cats_strings[i] <-> cats_int64s[i]; the direction is the input's type */
        const attr_t *strs = pb_attr(n, "cats_strings"), *ints = pb_attr(n, "cats_int64s");
        if (!strs || !ints || strs->n_strings != ints->n_ints || !strs->n_strings)
            return load_fail(l, g, "cats_strings and cats_int64s must be lists of the same length");
        if (!(g->ia = pool_strings(l, strs)) || !(g->ib = copy_ints(ints->ints, ints->n_ints)))
            return load_fail(l, g, "out of memory");
        g->n_ia = strs->n_strings;
        g->n_ib = ints->n_ints;
        g->idef = pb_attr_int(n, "default_int64", -1);
        char buf[256];
        const char *d = pb_attr_string(n, "default_string", buf, sizeof buf, "_Unused");
        if ((g->sdef = intern(l, (const uint8_t *)d, strlen(d))) < 0) return load_fail(l, g, "out of memory");
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
    case OP_TREE_ENSEMBLE: return read_tree_ensemble(l, g, n);
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
    if (find_slot(l, pb_str(n->output[0])) >= 0)
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

/* ---- model-local functions ------------------------------------------------------- */

/* A node that calls one of the model's own functions (ModelProto.functions, as
 * exporters built on onnxscript write them) is read as the function's nodes,
 * each as if the graph held it: the function's formal inputs and outputs are the
 * call's values, its other values are named apart for each call ("Fn#3:x"), and
 * an attribute that refers to the caller's (ref_attr_name) takes the value the
 * call gives (absent: the operator's default). Functions may call functions, at
 * most MAX_CALL_DEPTH deep (ONNX forbids recursion; a file may still hold it),
 * and a graph expands to at most MAX_PROGRAM_NODES nodes and calls (a small
 * file whose functions each call the next ten times would otherwise ask for
 * 10^8). */
#define MAX_CALL_DEPTH    8
#define MAX_PROGRAM_NODES (1 << 17)

static int read_graph_node(loader *l, const node_t *n, int depth);

/* The model's function that node n calls, or NULL. */
static const Onnx__FunctionProto *function_of(const loader *l, const node_t *n)
{
    for (size_t i = 0; l->mp && i < l->mp->n_functions; i++) {
        const Onnx__FunctionProto *f = l->mp->functions[i];
        if (strcmp(pb_str(f->name), pb_str(n->op_type)) == 0 &&
            strcmp(pb_str(f->domain), pb_str(n->domain)) == 0)
            return f;
    }
    return NULL;
}

/* The name a value of function f's body has in call number id (malloc'd). */
static char *call_value_name(const node_t *call, const Onnx__FunctionProto *f, int id, const char *name)
{
    for (size_t i = 0; *name && i < f->n_input; i++)
        if (strcmp(pb_str(f->input[i]), name) == 0)
            return strdup(i < call->n_input ? pb_str(call->input[i]) : "");
    for (size_t i = 0; *name && i < f->n_output && i < call->n_output; i++)
        if (strcmp(pb_str(f->output[i]), name) == 0) return strdup(pb_str(call->output[i]));
    if (!*name) return strdup("");
    size_t len = strlen(pb_str(f->name)) + strlen(name) + 16;
    char *out = malloc(len);
    if (out) snprintf(out, len, "%s#%d:%s", pb_str(f->name), id, name);
    return out;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) free(v[i]);
    free(v);
}

/* call's function f, node by node. */
static int expand_call(loader *l, const node_t *call, const Onnx__FunctionProto *f, int depth)
{
    gnode where = {.name = (char *)pb_str(call->name), .op_type = (char *)pb_str(call->op_type)};
    if (depth >= MAX_CALL_DEPTH)
        return load_fail(l, &where, "calls functions more than %d deep (a function that calls itself?)",
                         MAX_CALL_DEPTH);
    if (call->n_input > f->n_input || call->n_output > f->n_output)
        return load_fail(l, &where,
                         "passes %zu inputs and takes %zu outputs of function %.80s, which has %zu and %zu",
                         call->n_input, call->n_output, pb_str(f->name), f->n_input, f->n_output);
    if ((size_t)l->n_calls + l->p->n_nodes >= MAX_PROGRAM_NODES)
        return load_fail(l, &where, "its functions expand to more than %d nodes and calls",
                         MAX_PROGRAM_NODES);
    int id = ++l->n_calls, rc = 0;
    for (size_t k = 0; !rc && k < f->n_node; k++) {
        const node_t *b = f->node[k];
        node_t in_call = *b; /* the body node as this call reads it */
        char **ins = calloc(b->n_input + 1, sizeof *ins), **outs = calloc(b->n_output + 1, sizeof *outs);
        attr_t **attrs = calloc(b->n_attribute + 1, sizeof *attrs);
        attr_t *given = calloc(b->n_attribute + 1, sizeof *given);
        /* the body node's name for messages: the call's and its own (each its operator when unnamed) */
        const char *outer = *pb_str(call->name) ? pb_str(call->name) : pb_str(call->op_type),
                   *own = *pb_str(b->name) ? pb_str(b->name) : pb_str(b->op_type);
        size_t name_len = strlen(outer) + strlen(own) + 2;
        char *name = malloc(name_len);
        rc = ins && outs && attrs && given && name ? 0 : load_fail(l, &where, "out of memory");
        if (!rc) snprintf(name, name_len, "%s/%s", outer, own);
        for (size_t i = 0; !rc && i < b->n_input; i++)
            if (!(ins[i] = call_value_name(call, f, id, pb_str(b->input[i]))))
                rc = load_fail(l, &where, "out of memory");
        for (size_t i = 0; !rc && i < b->n_output; i++)
            if (!(outs[i] = call_value_name(call, f, id, pb_str(b->output[i]))))
                rc = load_fail(l, &where, "out of memory");
        size_t n_attrs = 0;
        for (size_t i = 0; !rc && i < b->n_attribute; i++) {
            const attr_t *a = b->attribute[i];
            const char *ref = pb_str(a->ref_attr_name);
            if (!*ref) {
                attrs[n_attrs++] = (attr_t *)a;
                continue;
            }
            for (size_t j = 0; j < call->n_attribute; j++)
                if (strcmp(pb_str(call->attribute[j]->name), ref) == 0) {
                    given[i] = *call->attribute[j];
                    given[i].name = a->name;
                    attrs[n_attrs++] = &given[i];
                    break;
                }
        }
        if (!rc) {
            in_call.name = name;
            in_call.input = ins;
            in_call.output = outs;
            in_call.attribute = attrs;
            in_call.n_attribute = n_attrs;
            rc = read_graph_node(l, &in_call, depth + 1);
        }
        free_names(ins, b->n_input);
        free_names(outs, b->n_output);
        free(attrs);
        free(given);
        free(name);
    }
    return rc;
}

/* One node of the graph (or of a function it calls) into the program. */
static int read_graph_node(loader *l, const node_t *n, int depth)
{
    program *p = l->p;
    const Onnx__FunctionProto *f = function_of(l, n);
    if (f) return expand_call(l, n, f, depth);
    if ((size_t)l->n_calls + p->n_nodes >= MAX_PROGRAM_NODES)
        return load_fail(l, NULL, "the graph and its functions hold more than %d nodes and calls",
                         MAX_PROGRAM_NODES);
    if (p->n_nodes == l->cap_nodes) {
        size_t cap = l->cap_nodes ? 2 * l->cap_nodes : 16;
        gnode *grown = realloc(p->nodes, cap * sizeof *grown);
        if (!grown) return load_fail(l, NULL, "out of memory");
        memset(grown + l->cap_nodes, 0, (cap - l->cap_nodes) * sizeof *grown);
        p->nodes = grown;
        l->cap_nodes = cap;
    }
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
        return 0;
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
        g->in[i] = *name ? find_slot(l, name) : -1;
        if (*name && g->in[i] < 0)
            return load_fail(l, g, "reads \"%.80s\", which no graph input, initializer or earlier node makes",
                             name);
    }
    if (read_node(l, g, n) != 0) return -1;
    for (size_t i = 0; i < n->n_output; i++) {
        const char *name = pb_str(n->output[i]);
        if (*name && find_slot(l, name) >= 0)
            return load_fail(l, g, "makes \"%.80s\", which another node or input already makes", name);
        if ((g->out[i] = add_slot(l, *name ? name : "")) < 0) return load_fail(l, g, "out of memory");
    }
    return 0;
}

static int read_graph_nodes(loader *l)
{
    for (size_t k = 0; k < l->gp->n_node; k++)
        if (read_graph_node(l, l->gp->node[k], 0) != 0) return -1;
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
        /* a batch of exactly 1 declared by every input: rows run one at a time */
        int batch_of_one =
            shape && rank >= 1 &&
            shape->dim[0]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
            shape->dim[0]->dim_value == 1;
        p->one_row = (p->n_inputs == 0 || p->one_row) && batch_of_one;
        graph_input *gi = &p->inputs[p->n_inputs++];
        *gi = (graph_input){add_slot(l, iname),
                            s->n_inputs,
                            (size_t)width,
                            rank,
                            type,
                            onnx_narrow_of(tp->tensor_type->elem_type)};
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
        unsigned char *seen = calloc(p->n_pool ? p->n_pool : 1, 1); /* pool strings in the vocabulary */
        size_t n_vocab = 0;
        if (!vocab || !map || !seen) rc = load_fail(l, NULL, "out of memory");
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
                for (size_t c = 0; c < g->n_ia && n_vocab <= SCHEMA_MAX_VOCAB; c++) {
                    int64_t s = g->ia[c];
                    if (s < 0 || (size_t)s >= p->n_pool || seen[s]) continue;
                    seen[s] = 1;
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
            rc = load_fail(l, NULL, "input \"%.80s\": more than %d categories", si->name, SCHEMA_MAX_VOCAB);
        if (!rc) {
            char path[320];
            snprintf(path, sizeof path, "input \"%.256s\" categories", si->name);
            reader rd = {p->file, l->err};
            if (schema_read_vocab(&rd, si, vocab, path) != 0) rc = -1;
        }
        json_decref(vocab);
        free(seen);
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
    if (!rc) rc = onnx_graph_run(p, x, n, slots, l->err);
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
    if (slots) onnx_graph_release(slots, p->n_slots);
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

/* The answer: the first float output of shape [N, k] or [N] (t2 and t3: every
 * value's shape for 2 and 3 rows); for a graph of one row a run (t3 NULL), the
 * first of [1, k], [k] or a scalar for its row (t2: for 1 row). What it means. */
static int choose_answer(loader *l, model_builder *m, const tensor *t2, const tensor *t3)
{
    program *p = l->p;
    const Onnx__GraphProto *gp = l->gp;
    p->answer = -1;
    char seen[ERR_LEN / 2] = "";
    size_t at = 0;
    for (size_t i = 0; i < gp->n_output && p->answer < 0; i++) {
        const char *oname = pb_str(gp->output[i]->name);
        int s = find_slot(l, oname);
        if (s < 0) return load_fail(l, NULL, "output \"%.80s\" is made by no node", oname);
        const tensor *a = &t2[s], *b = t3 ? &t3[s] : NULL;
        int fits = b ? a->type == EL_FLOAT && a->rank >= 1 && a->rank <= 2 && a->dim[0] == 2 &&
                           b->dim[0] == 3 && (a->rank == 1 || a->dim[1] == b->dim[1])
                     : a->type == EL_FLOAT && a->rank <= 2 && (a->rank < 2 || a->dim[0] == 1) && a->n >= 1;
        if (!fits) {
            if (at < sizeof seen - 100) /* what it is instead, for the message */
                at += (size_t)snprintf(seen + at, sizeof seen - at,
                                       "%s\"%.40s\" is %s of %d dimensions, %lld "
                                       "long for %d row%s",
                                       at ? "; " : "", oname, elem_names[a->type], a->rank,
                                       a->rank ? (long long)a->dim[0] : 1LL, b ? 2 : 1, b ? "s" : "");
            continue;
        }
        p->answer = s;
        p->answer_width = b ? (a->rank == 2 ? (int)a->dim[1] : 1) : (int)a->n;
        const Onnx__TypeProto *ty = gp->output[i]->type;
        int et = ty && ty->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ? ty->tensor_type->elem_type : 0;
        p->answer_narrow = onnx_narrow_of(et);
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
    /* columns of a regressor's targets (no probabilities: no post transform) are
     * not classes; serving one of them would answer a number not asked for */
    if (g && (g->op == OP_TREEREG || g->op == OP_LINREG || g->op == OP_SVM_REG ||
              (g->op == OP_TREE_ENSEMBLE && g->post == POST_NONE)))
        return load_fail(l, g,
                         "the answer has %d columns, the targets of a regressor; tabserve serves one value a "
                         "model (export one target a model, or select the one to serve in the graph)",
                         k);
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
    /* a linear or SVM classifier without a post transform (and without
     * Platt's probA/probB), or trees whose weights are margins, answer
     * decision scores: served as scores, never as probabilities */
    int scores = g && g->post == POST_NONE &&
                 (g->op == OP_LINCLS || (g->op == OP_SVM_CLS && !g->n_fd) ||
                  (g->op == OP_TREECLS && g->trees && !g->trees->all_positive));
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
    if (scores && output_as_score(o) != 0) return load_fail(l, NULL, "out of memory");
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
    p->base.ops = &onnx_graph_ops;
    fnv content = FNV_INIT; /* the graph's identity for the model's hash: the file itself */
    fnv_bytes(&content, buf, len);
    p->content = content.h;
    loader l = {.p = p, .gp = mp->graph, .lim = lim, .err = err, .opset = 17, .ml_opset = 3, .mp = mp};
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
    /* two runs of 2 and 3 rows tell each value's row dimension; a graph of one
     * row a run has one run of 1 */
    if (!rc) rc = dry_run(&l, p->one_row ? 1 : 2, t2);
    if (!rc) rc = string_vocabularies(&l, m, t2);
    if (!rc && !p->one_row) rc = dry_run(&l, 3, t3);
    if (!rc) rc = choose_answer(&l, m, t2, p->one_row ? NULL : t3);
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
    free(l.slots.at);
    free(l.strings.at);
    if (p) onnx_graph_program_free(p);
    if (rc) {
        model_builder_free(m);
        return NULL;
    }
    return m;
}

/* ---- ONNX's backend node tests ------------------------------------------------ */

/* Whether got equals want as ONNX's test runner compares: the same type and
 * shape, floats within 1e-7 + 1e-3 |want| (NaN equal to NaN), the rest exact;
 * a narrow type's floats exactly (each value, and the sign of a zero). */
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
        int same = got->type != EL_FLOAT ? got->i[k] == want->i[k]
                   : isnan(want->f[k])   ? isnan(got->f[k])
                   : want->narrow ? got->f[k] == want->f[k] && !signbit(got->f[k]) == !signbit(want->f[k])
                                  : got->f[k] == want->f[k] || fabs((double)got->f[k] - want->f[k]) <=
                                                                   1e-7 + 1e-3 * fabs((double)want->f[k]);
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
    p->base.ops = &onnx_graph_ops;
    loader l = {.p = p, .gp = mp->graph, .lim = &lim, .err = why, .opset = 17, .ml_opset = 3, .mp = mp};
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
        if (find_slot(&l, name) >= 0) continue;
        const Onnx__TypeProto *ty = l.gp->input[i]->type;
        if (ty && ty->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
            rc = load_fail(&l, NULL, "input \"%.80s\" is %s, not a tensor: tabserve runs tensors", name,
                           ty->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE   ? "a sequence"
                           : ty->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE ? "an optional"
                           : ty->value_case == ONNX__TYPE_PROTO__VALUE_MAP_TYPE      ? "a map"
                                                                                     : "a sparse tensor");
            break;
        }
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
        for (size_t k = 0; !rc && k < p->n_nodes; k++) rc = onnx_graph_run_node(&r, &p->nodes[k]);
        result = rc ? -1 : 1;
        for (size_t k = 0; result == 1 && k < n_want && k < l.gp->n_output; k++) {
            int sl = find_slot(&l, pb_str(l.gp->output[k]->name));
            char diff[200];
            if (sl < 0 || !node_test_equal(&slots[sl], &given[n_in + k], diff, sizeof diff)) {
                snprintf(why, sizeof why, "output \"%.60s\": %s", pb_str(l.gp->output[k]->name),
                         sl < 0 ? "not computed" : diff);
                result = 0;
            }
        }
        for (size_t k = 0; k < n_in; k++) slots[in_slot[k]] = (tensor){0}; /* given's, freed below */
        onnx_graph_release(slots, p->n_slots);
    }
    for (size_t k = 0; given && k < n_in + n_want; k++) {
        free(given[k].f);
        free(given[k].i);
    }
    free(given);
    free(slots);
    snprintf(err, err_len, "%s", why);
    onnx_graph_program_free(p);
    return result;
}
