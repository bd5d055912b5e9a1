/* onnx — an ONNX model as a tabserve model. The graph is read node by node, in
 * its (topological) order, and compiled onto tabserve's own parts rather than
 * interpreted: every tensor before the estimator is a list of symbolic
 * columns, each "input i, then these feature steps", so
 *
 *   Imputer, Scaler, Sub/Add/Mul by constants  ->  impute / scale steps
 *   OneHotEncoder on a string or integer input  ->  a vocabulary + one_hot
 *   Normalizer (a row norm over columns)        ->  a normalize predictor
 *                                                   around the estimator
 *   Cast to an integer, Gather from a table     ->  a categorical input with
 *   (an embedding lookup)                           a one_hot feature, the
 *                                                   table folded into the
 *                                                   first layer
 *   Concat, FeatureVectorizer, ArrayFeatureExtractor, Gather (columns),
 *   Where (constant condition), Cast, Identity,
 *   Reshape, Flatten, Squeeze, Unsqueeze        ->  column bookkeeping
 *   LinearClassifier, LinearRegressor           ->  the linear predictor
 *   TreeEnsembleClassifier / Regressor          ->  the tree predictor
 *   MatMul / Gemm (+ Add) with Relu, Tanh,
 *   Sigmoid between them                        ->  the MLP predictor
 *   a final Sigmoid or Softmax, post_transform  ->  the output's link
 *   ZipMap, ArgMax, the label output            ->  (tabserve answers the
 *                                                   probabilities)
 *
 * so an imported model runs on the same kernels as a native one. Any other
 * operator, or one of these in a place the compiler does not follow, is
 * refused at load with the node's name, its operator and what is supported.
 *
 * Tree nodes: BRANCH_LEQ (x <= t) becomes x < nextafter(t, +inf); BRANCH_GT
 * and BRANCH_GTE swap the branches; a missing value takes the true branch
 * when nodes_missing_value_tracks_true says so, else the false branch (every
 * comparison with NaN is false). */
#include "formats/onnx.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/scratch.h"
#include "estimators/graph.h"
#include "estimators/linear.h"
#include "estimators/mlp.h"
#include "estimators/normalize.h"
#include "estimators/trees.h"
#include "formats/onnx_graph.h"
#include "formats/onnx_proto.h"

#define MAX_NESTING    32 /* protobuf messages inside messages: ONNX needs < 10 */
#define MAX_LAYERS     64
#define MAX_EMBEDDINGS 64

/* ---- protobuf nesting check ---------------------------------------------------- */

/* protobuf-c unpacks nested messages recursively, without a depth limit: a
 * file of deeply nested messages would exhaust the stack. The wire format is
 * walked first: every length-delimited field that parses as a message counts
 * as one level. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* 1: p..end is a well-formed message of type desc whose message fields nest at
 * most `depth` levels; 0: it is not well-formed; -1: it nests too deep. The
 * descriptors protoc-c generated say which fields are messages, so each byte
 * is read once and only real messages are descended into; with !descend, not
 * even those (the message's own fields only). */
static int wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *p, const uint8_t *end, int depth,
                      int descend)
{
    if (depth < 0) return -1;
    while (p < end) {
        uint64_t key, n;
        if (varint(&p, end, &key) != 0 || key >> 3 == 0 || key >> 3 > 0x1fffffff) return 0;
        switch (key & 7) {
        case 0:
            if (varint(&p, end, &n) != 0) return 0;
            break;
        case 1:
            if (end - p < 8) return 0;
            p += 8;
            break;
        case 5:
            if (end - p < 4) return 0;
            p += 4;
            break;
        case 2: {
            if (varint(&p, end, &n) != 0 || n > (uint64_t)(end - p)) return 0;
            const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3));
            if (descend && f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                int inner = wire_check(f->descriptor, p, p + n, depth - 1, 1);
                if (inner <= 0) return inner;
            }
            p += n;
            break;
        }
        default: return 0;
        }
    }
    return 1;
}

int onnx_is(const char *buf, size_t len)
{
    /* a ModelProto starts with field 1 (ir_version, a varint) in every exporter;
     * its own fields tell it apart, and onnx_import reads the messages inside */
    if (len < 8 || (unsigned char)buf[0] != 0x08) return 0;
    return wire_check(&onnx__model_proto__descriptor, (const uint8_t *)buf, (const uint8_t *)buf + len,
                      MAX_NESTING, 0) != 0;
}

/* ---- the compiler's state ------------------------------------------------------- */

typedef struct {
    int input;   /* schema input */
    int n_steps; /* steps so far (impute, scale) */
    feature_step steps[FEATURE_MAX_STEPS];
    int one_hot; /* -1, or the category this column indicates */
    int norm;    /* 0, or 1 + its place among the columns a Normalizer divides */
    int index;   /* 1: the input cast to an integer (an embedding's index) */
    int emb;     /* 0, or 1 + the embedding table this column is a component of */
    int emb_j;   /* that component */
} column;

typedef enum { V_COLUMNS, V_DENSE, V_SCORES, V_IGNORED } value_kind;

typedef struct {
    char *name;
    value_kind kind;
    int n_cols;
    column *cols; /* V_COLUMNS */
    int width;    /* V_DENSE, V_SCORES: columns of the result */
} value;

typedef struct {
    const char *file;
    char *err;
    const import_limits *lim;
    scratch *scratch; /* the unpacked file's memory, for temporaries too (NULL: malloc) */
    Onnx__GraphProto *g;
    model_builder *mb;
    value *values;
    size_t n_values, cap_values;
    /* the estimator, once found */
    int estimator_seen;
    const node_t *estimator;
    column *est_cols; /* the columns the estimator reads */
    int n_est_cols;
    /* the dense chain (MatMul / Gemm) */
    int n_layers;
    int widths[MAX_LAYERS + 1];
    activation acts[MAX_LAYERS];
    float *w[MAX_LAYERS], *b[MAX_LAYERS];
    int pending_bias; /* the last layer's bias is still to come (MatMul then Add) */
    output_link link; /* a final Sigmoid / Softmax, or post_transform */
    int link_set;
    int scores; /* the classifier answers decision scores (no post transform): output_as_score */
    /* a Normalizer: its kind (-1: none), its columns, and where the estimator reads them */
    int norm_kind, n_norm, norm_used;
    int *norm_cols;
    /* embeddings (Gather from a table by an integer input): the tables, and for
     * each column the estimator reads, its feature column and table (fold_first) */
    struct {
        float *table; /* (V, d) */
        int V, d;
    } emb[MAX_EMBEDDINGS];
    int n_emb;
    int n_est, n_feat;         /* the estimator's columns; the feature columns they come from */
    int *est_feat, *est_table; /* per estimator column: feature column (a table's first); 1 + table, or 0 */
    int *est_first;            /* per estimator column: the first estimator column of its embedding */
} compiler;

static int fail(compiler *c, const node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(compiler *c, const node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset_node(c->err, c->file, n ? n->name : NULL, n ? (n->op_type ? n->op_type : "?") : NULL, fmt, ap);
    va_end(ap);
    return -1;
}

static value *find_value(compiler *c, const char *name)
{
    name = pb_str(name);
    for (size_t i = c->n_values; i-- > 0;)
        if (strcmp(c->values[i].name, name) == 0) return &c->values[i];
    return NULL;
}

static value *add_value(compiler *c, const char *name, value_kind kind)
{
    if (c->n_values == c->cap_values) {
        size_t cap = c->cap_values ? c->cap_values * 2 : 32;
        value *v = realloc(c->values, cap * sizeof *v);
        if (!v) return NULL;
        c->values = v;
        c->cap_values = cap;
    }
    value *v = &c->values[c->n_values];
    memset(v, 0, sizeof *v);
    if (!(v->name = strdup(pb_str(name)))) return NULL;
    v->kind = kind;
    c->n_values++;
    return v;
}

/* ---- inputs ------------------------------------------------------------------------ */

static int is_initializer(compiler *c, const char *name) { return pb_initializer(c->g, name) != NULL; }

/* The graph's inputs: one 2-D numeric tensor [N, F] (inputs f0..f{F-1}), or a
 * tensor per column [N, 1] (named as the graph names them; strings become
 * categorical inputs once an encoder gives their vocabulary). */
static int read_inputs(compiler *c)
{
    schema *s = model_builder_inputs(c->mb);
    size_t n_graph_inputs = 0;
    for (size_t i = 0; i < c->g->n_input; i++)
        if (!is_initializer(c, c->g->input[i]->name)) n_graph_inputs++;
    if (n_graph_inputs == 0) return fail(c, NULL, "the graph has no inputs");
    if (n_graph_inputs > SCHEMA_MAX_INPUTS)
        return fail(c, NULL, "more than %d graph inputs", SCHEMA_MAX_INPUTS);
    s->inputs = calloc(SCHEMA_MAX_INPUTS, sizeof *s->inputs);
    if (!s->inputs) return fail(c, NULL, "out of memory");
    for (size_t i = 0; i < c->g->n_input; i++) {
        const Onnx__ValueInfoProto *in = c->g->input[i];
        if (is_initializer(c, in->name)) continue;
        const char *iname = pb_str(in->name);
        const Onnx__TypeProto *tp = in->type;
        if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
            return fail(c, NULL, "input \"%.80s\" is not a tensor", iname);
        int elem = tp->tensor_type->elem_type;
        const Onnx__TensorShapeProto *shape = tp->tensor_type->shape;
        int64_t width = 1;
        if (shape && shape->n_dim == 2 &&
            shape->dim[1]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            width = shape->dim[1]->dim_value;
        else if (shape && shape->n_dim == 2 && (width = pb_input_width(c->g, iname)) < 1)
            return fail(c, NULL,
                        "input \"%.80s\" has no fixed number of columns, and the graph does not fix it",
                        iname);
        else if (shape && shape->n_dim > 2)
            return fail(c, NULL,
                        "input \"%.80s\" has %zu dimensions; tabserve takes [N, F] or [N, 1] tensors", iname,
                        shape->n_dim);
        int numeric =
            elem == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || elem == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ||
            elem == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || elem == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
        if (!numeric && elem != ONNX__TENSOR_PROTO__DATA_TYPE__STRING)
            return fail(c, NULL, "input \"%.80s\" has element type %d; tabserve takes numbers and strings",
                        iname, elem);
        if (width < 1 || width > SCHEMA_MAX_INPUTS || s->n_inputs + (size_t)width > SCHEMA_MAX_INPUTS)
            return fail(c, NULL, "input \"%.80s\" has %lld columns", iname, (long long)width);
        if (width > 1 && !numeric)
            return fail(c, NULL, "input \"%.80s\": a string tensor must have one column", iname);
        value *v = add_value(c, iname, V_COLUMNS);
        if (!v || !(v->cols = calloc((size_t)width, sizeof *v->cols))) return fail(c, NULL, "out of memory");
        v->n_cols = (int)width;
        for (int64_t j = 0; j < width; j++) {
            schema_input *si = &s->inputs[s->n_inputs];
            char name[300];
            if (width == 1 && *iname)
                snprintf(name, sizeof name, "%.256s", iname);
            else
                snprintf(name, sizeof name, "f%zu", s->n_inputs);
            if (schema_find(s, name, strlen(name)) >= 0)
                return fail(c, NULL, "two graph inputs are named \"%.80s\"", name);
            if (!(si->name = strdup(name))) return fail(c, NULL, "out of memory");
            si->type = numeric ? TYPE_NUMBER : TYPE_STRING;
            si->required = !numeric; /* a number may be missing (NaN), as in the runtime */
            si->unknown = UNKNOWN_REJECT;
            v->cols[j] = (column){(int)s->n_inputs, 0, {{0}}, -1, 0, 0, 0, 0};
            s->n_inputs++;
        }
    }
    return 0;
}

/* ---- column operators -------------------------------------------------------------- */

static value *columns_of(compiler *c, const node_t *n, size_t k)
{
    if (k >= n->n_input) {
        fail(c, n, "expected an input %zu, the node has %zu", k + 1, n->n_input);
        return NULL;
    }
    value *v = find_value(c, n->input[k]);
    if (!v) {
        fail(c, n, "input \"%.80s\" is not produced by an earlier node or a graph input", n->input[k]);
        return NULL;
    }
    return v;
}

static int add_step(compiler *c, const node_t *n, column *col, feature_step st)
{
    if (col->one_hot >= 0) return fail(c, n, "arithmetic on one-hot columns is not supported");
    if (col->norm) return fail(c, n, "arithmetic on a Normalizer's output is not supported");
    if (col->index || col->emb)
        return fail(c, n, "arithmetic on an embedding's index or output is not supported");
    if (col->n_steps >= FEATURE_MAX_STEPS - 1)
        return fail(c, n, "more than %d steps on one column", FEATURE_MAX_STEPS - 1);
    col->steps[col->n_steps++] = st;
    return 0;
}

/* out := in, with its columns copied (every later step edits the copy). */
static value *derive(compiler *c, const node_t *n, const value *in, size_t out_index)
{
    if (out_index >= n->n_output) {
        fail(c, n, "has no output %zu", out_index);
        return NULL;
    }
    int n_cols = in->n_cols, kind = in->kind, width = in->width;
    column *cols = NULL;
    if (n_cols) {
        cols = malloc((size_t)n_cols * sizeof *cols);
        if (!cols) return NULL;
        memcpy(cols, in->cols, (size_t)n_cols * sizeof *cols); /* in may move when values grow */
    }
    value *v = add_value(c, n->output[out_index], (value_kind)kind);
    if (!v) {
        free(cols);
        fail(c, n, "out of memory");
        return NULL;
    }
    v->cols = cols;
    v->n_cols = n_cols;
    v->width = width;
    return v;
}

static int op_imputer(compiler *c, const node_t *n)
{
    value *in = columns_of(c, n, 0);
    if (!in) return -1;
    if (in->kind != V_COLUMNS) return fail(c, n, "imputes something other than input columns");
    size_t k;
    float *vals = pb_attr_floats(c->lim->max_tensor, n, "imputed_value_floats", &k);
    float replaced = pb_attr_float(n, "replaced_value_float", 0.0f);
    if (!vals || (k != 1 && k != (size_t)in->n_cols)) {
        free(vals);
        return fail(c, n, "imputed_value_floats must hold 1 or %d values", in->n_cols);
    }
    if (!isnan(replaced)) {
        free(vals);
        return fail(c, n, "replaced_value_float is %g; tabserve imputes missing values (NaN) only", replaced);
    }
    value *out = derive(c, n, in, 0);
    int rc = out ? 0 : -1;
    for (int j = 0; rc == 0 && j < out->n_cols; j++)
        rc = add_step(c, n, &out->cols[j], (feature_step){STEP_IMPUTE, vals[k == 1 ? 0 : j], 0});
    free(vals);
    return rc;
}

static int op_scaler(compiler *c, const node_t *n)
{
    value *in = columns_of(c, n, 0);
    if (!in) return -1;
    if (in->kind != V_COLUMNS) return fail(c, n, "scales something other than input columns");
    size_t ko, ks;
    float *offset = pb_attr_floats(c->lim->max_tensor, n, "offset", &ko),
          *scale = pb_attr_floats(c->lim->max_tensor, n, "scale", &ks);
    int rc = 0;
    if (!offset || !scale || (ko != 1 && ko != (size_t)in->n_cols) || (ks != 1 && ks != (size_t)in->n_cols))
        rc = fail(c, n, "offset and scale must hold 1 or %d values each", in->n_cols);
    value *out = rc ? NULL : derive(c, n, in, 0);
    if (!rc && !out) rc = -1;
    for (int j = 0; rc == 0 && j < out->n_cols; j++)
        rc = add_step(c, n, &out->cols[j],
                      (feature_step){STEP_SCALE, offset[ko == 1 ? 0 : j], scale[ks == 1 ? 0 : j]});
    free(offset);
    free(scale);
    return rc;
}

/* Sub, Add, Mul of input columns by a constant (broadcast per column). */
static int op_arith(compiler *c, const node_t *n, char op)
{
    value *in = n->n_input == 2 ? columns_of(c, n, 0) : NULL;
    const tensor_t *k = n->n_input == 2 ? pb_initializer(c->g, n->input[1]) : NULL;
    if (!in) return n->n_input == 2 ? -1 : fail(c, n, "expected two inputs");
    if (in->kind == V_DENSE && op == 'A' && k) { /* MatMul then Add: the layer's bias */
        size_t count;
        float *b = pb_tensor_floats(c->lim->max_tensor, k, &count);
        int L = c->n_layers - 1;
        if (!b || !c->pending_bias || count != (size_t)c->widths[L + 1]) {
            free(b);
            return fail(c, n, "adds something other than a bias of %d values to the dense layer",
                        c->widths[L + 1]);
        }
        for (size_t j = 0; j < count; j++) c->b[L][j] = b[j];
        free(b);
        c->pending_bias = 0;
        return derive(c, n, in, 0) ? 0 : -1;
    }
    if (in->kind != V_COLUMNS || !k)
        return fail(c, n, "only input columns with a constant are supported here");
    size_t count;
    float *vals = pb_tensor_floats(c->lim->max_tensor, k, &count);
    if (!vals || (count != 1 && count != (size_t)in->n_cols)) {
        free(vals);
        return fail(c, n, "the constant must hold 1 or %d numbers", in->n_cols);
    }
    value *out = derive(c, n, in, 0);
    int rc = out ? 0 : -1;
    for (int j = 0; rc == 0 && j < out->n_cols; j++) {
        float v = vals[count == 1 ? 0 : j];
        if (op == 'D' && v == 0) {
            free(vals);
            return fail(c, n, "divides column %d by zero", j);
        }
        /* Div: times the reciprocal, in floats (within an ulp of the runtime's x / v) */
        feature_step st = op == 'S'   ? (feature_step){STEP_SCALE, v, 1}
                          : op == 'A' ? (feature_step){STEP_SCALE, -v, 1} /* x - (-v) == x + v exactly */
                          : op == 'D' ? (feature_step){STEP_SCALE, 0, (float)(1.0 / v)}
                                      : (feature_step){STEP_SCALE, 0, v};
        rc = add_step(c, n, &out->cols[j], st);
    }
    free(vals);
    return rc;
}

/* An input's vocabulary from a node (LabelEncoder keys, OneHotEncoder
 * categories, an embedding's rows), read as a model file's would be; vocab is
 * taken (freed). Errors name the node and what the list was. */
static int give_vocab(compiler *c, const node_t *n, schema_input *si, json_t *vocab, const char *what)
{
    reader r = {c->file, c->err};
    char path[160];
    snprintf(path, sizeof path, "node \"%.80s\" %s", n->name ? n->name : "", what);
    int rc = schema_read_vocab(&r, si, vocab, path);
    json_decref(vocab);
    return rc ? -1 : 0;
}

/* LabelEncoder from strings (or integers) to integer codes on one input
 * column: the input takes the keys as its vocabulary, ordered by their codes,
 * so the category's index is the code; unknown values get default_int64
 * (-1 is what exporters write, and what the index of an unknown category is). */
static int op_label_encoder(compiler *c, const node_t *n)
{
    value *in = columns_of(c, n, 0);
    if (!in) return -1;
    if (in->kind != V_COLUMNS || in->n_cols != 1 || in->cols[0].n_steps || in->cols[0].one_hot >= 0)
        return fail(c, n, "encodes something other than one input column as given");
    schema_input *si = &model_builder_inputs(c->mb)->inputs[in->cols[0].input];
    const attr_t *ks = pb_attr(n, "keys_strings"), *ki = pb_attr(n, "keys_int64s"),
                 *vi = pb_attr(n, "values_int64s");
    size_t k = ks ? ks->n_strings : ki ? ki->n_ints : 0;
    if (!k || k > SCHEMA_MAX_VOCAB || !vi || vi->n_ints != k)
        return fail(c, n, "expected keys (strings or int64s) and as many values_int64s, 1 to %d",
                    SCHEMA_MAX_VOCAB);
    if (pb_attr_int(n, "default_int64", -1) != -1)
        return fail(c, n, "default_int64 is %lld; tabserve reads -1 (an unknown category)",
                    (long long)pb_attr_int(n, "default_int64", -1));
    if (si->n_vocab) return fail(c, n, "input \"%s\" is encoded twice", si->name);
    /* the codes must be 0..k-1, each once: then the vocabulary in code order */
    json_t *vocab = json_array();
    size_t *at = calloc(k, sizeof *at);
    int rc = vocab && at ? 0 : fail(c, n, "out of memory");
    for (size_t i = 0; rc == 0 && i < k; i++) {
        long long code = vi->ints[i];
        if (code < 0 || (size_t)code >= k || at[code])
            rc = fail(c, n, "values_int64s must be the codes 0..%zu, each once", k - 1);
        else
            at[code] = i + 1;
    }
    for (size_t code = 0; rc == 0 && code < k; code++) {
        size_t i = at[code] - 1;
        json_array_append_new(vocab, ks ? json_stringn((const char *)ks->strings[i].data, ks->strings[i].len)
                                        : json_integer(ki->ints[i]));
    }
    free(at);
    if (rc != 0) {
        json_decref(vocab);
        return -1;
    }
    if (!ks) si->type = TYPE_INTEGER;
    if (give_vocab(c, n, si, vocab, "(LabelEncoder) keys") != 0) return -1;
    si->unknown = UNKNOWN_ZEROS; /* its index: -1, the default code */
    si->required = 1;
    value *out = derive(c, n, in, 0);
    if (!out) return -1;
    out->cols[0].n_steps = 0;
    out->cols[0].one_hot = -2; /* the category's index, as a number */
    return 0;
}

static int op_one_hot(compiler *c, const node_t *n)
{
    value *in = columns_of(c, n, 0);
    if (!in) return -1;
    if (in->kind != V_COLUMNS || in->n_cols != 1 || in->cols[0].n_steps || in->cols[0].one_hot >= 0)
        return fail(c, n, "encodes something other than one input column as given");
    schema_input *si = &model_builder_inputs(c->mb)->inputs[in->cols[0].input];
    const attr_t *strs = pb_attr(n, "cats_strings"), *ints = pb_attr(n, "cats_int64s");
    size_t n_cats = strs ? strs->n_strings : ints ? ints->n_ints : 0;
    if (n_cats == 0 || n_cats > SCHEMA_MAX_VOCAB)
        return fail(c, n, "expected 1 to %d categories", SCHEMA_MAX_VOCAB);
    if (si->n_vocab) return fail(c, n, "input \"%s\" is encoded twice", si->name);
    if (strs && si->type != TYPE_STRING)
        return fail(c, n, "string categories for the numeric input \"%s\"", si->name);
    json_t *vocab = json_array();
    for (size_t j = 0; j < n_cats; j++)
        json_array_append_new(vocab,
                              strs ? json_stringn((const char *)strs->strings[j].data, strs->strings[j].len)
                                   : json_integer(ints->ints[j]));
    if (!strs) si->type = TYPE_INTEGER;
    if (give_vocab(c, n, si, vocab, "(OneHotEncoder) categories") != 0) return -1;
    /* zeros=1 (the default): an unknown category encodes as all zeros; 0: an error */
    si->unknown = pb_attr_int(n, "zeros", 1) ? UNKNOWN_ZEROS : UNKNOWN_REJECT;
    si->required = 1;
    value *out = add_value(c, n->output[0], V_COLUMNS);
    if (!out || !(out->cols = calloc(n_cats, sizeof *out->cols))) return fail(c, n, "out of memory");
    out->n_cols = (int)n_cats;
    for (size_t j = 0; j < n_cats; j++)
        out->cols[j] = (column){in->cols[0].input, 0, {{0}}, (int)j, 0, 0, 0, 0};
    return 0;
}

static int op_concat(compiler *c, const node_t *n)
{
    int total = 0;
    for (size_t i = 0; i < n->n_input; i++) {
        value *v = columns_of(c, n, i);
        if (!v) return -1;
        if (v->kind != V_COLUMNS) return fail(c, n, "joins something other than input columns");
        total += v->n_cols;
    }
    if (strcmp(n->op_type, "Concat") == 0) {
        int64_t axis = pb_attr_int(n, "axis", 1);
        if (axis != 1 && axis != -1)
            return fail(c, n, "joins along axis %lld; tabserve joins columns (axis 1)", (long long)axis);
    }
    column *cols = malloc(((size_t)total + 1) * sizeof *cols);
    if (!cols) return fail(c, n, "out of memory");
    int at = 0;
    for (size_t i = 0; i < n->n_input; i++) {
        value *v = find_value(c, n->input[i]);
        if (v->n_cols) memcpy(cols + at, v->cols, (size_t)v->n_cols * sizeof *cols);
        at += v->n_cols;
    }
    value *out = add_value(c, n->output[0], V_COLUMNS);
    if (!out) {
        free(cols);
        return fail(c, n, "out of memory");
    }
    out->cols = cols;
    out->n_cols = total;
    return 0;
}

/* The node's output: the columns of `in` at indexes ix[0..k) (freed here);
 * with from_end, a negative index counts from the last column. */
static int pick_columns(compiler *c, const node_t *n, const value *in, int64_t *ix, size_t k, int from_end)
{
    column *cols = malloc((k ? k : 1) * sizeof *cols);
    int rc = cols ? 0 : fail(c, n, "out of memory");
    for (size_t j = 0; rc == 0 && j < k; j++) {
        int64_t at = from_end && ix[j] < 0 ? ix[j] + in->n_cols : ix[j];
        if (at < 0 || at >= in->n_cols)
            rc = from_end
                     ? fail(c, n, "index %lld is not a column (-%d..%d)", (long long)ix[j], in->n_cols,
                            in->n_cols - 1)
                     : fail(c, n, "index %lld is not a column (0..%d)", (long long)ix[j], in->n_cols - 1);
        else
            cols[j] = in->cols[at];
    }
    free(ix);
    value *out = rc ? NULL : add_value(c, n->output[0], V_COLUMNS);
    if (!out) {
        free(cols);
        return rc ? rc : fail(c, n, "out of memory");
    }
    out->cols = cols;
    out->n_cols = (int)k;
    return 0;
}

static int op_extract(compiler *c, const node_t *n)
{
    value *in = columns_of(c, n, 0);
    const tensor_t *idx = n->n_input == 2 ? pb_initializer(c->g, n->input[1]) : NULL;
    if (!in) return -1;
    if (in->kind != V_COLUMNS || !idx)
        return fail(c, n, "takes columns of input columns by constant indexes only");
    size_t k;
    int64_t *ix = pb_tensor_ints(idx, &k);
    if (!ix || k == 0) {
        free(ix);
        return fail(c, n, "the indexes must be a non-empty int64 constant");
    }
    return pick_columns(c, n, in, ix, k, 0);
}

/* Gather along axis 1 by constant indexes picks columns (negative indexes count
 * from the end, as the operator says); along axis 0 it would pick rows, and
 * from a constant table by an input it is an embedding lookup: neither is
 * column bookkeeping, so both are refused. */
static int op_embedding(compiler *c, const node_t *n, const tensor_t *table);

static int op_gather(compiler *c, const node_t *n)
{
    const tensor_t *table = n->n_input == 2 ? pb_initializer(c->g, n->input[0]) : NULL;
    if (table) return op_embedding(c, n, table);
    value *in = columns_of(c, n, 0);
    if (!in) return -1;
    const tensor_t *idx = n->n_input == 2 ? pb_initializer(c->g, n->input[1]) : NULL;
    int64_t axis = pb_attr_int(n, "axis", 0);
    if (!idx)
        return fail(c, n, "gathers by indexes computed in the graph; tabserve takes constant column indexes");
    if (in->kind != V_COLUMNS)
        return fail(c, n,
                    "gathers from something other than input columns (an embedding table or a layer's "
                    "output)");
    if (axis != 1 && axis != -1)
        return fail(c, n, "gathers along axis %lld (rows); tabserve gathers columns (axis 1)",
                    (long long)axis);
    size_t k;
    int64_t *ix = pb_tensor_indexes(idx, &k);
    if (!ix || k == 0) {
        free(ix);
        return fail(c, n, "the indexes must be a non-empty int64 or int32 constant");
    }
    return pick_columns(c, n, in, ix, k, 1);
}

/* Normalizer (ai.onnx.ml): each row's columns divided by their MAX, L1 or L2
 * norm. A norm mixes columns, so it is no feature step: the columns are
 * marked, and the estimator is wrapped in a normalize predictor that divides
 * them where the estimator reads them (estimators/normalize.h). */
static int op_normalizer(compiler *c, const node_t *n)
{
    value *in = columns_of(c, n, 0);
    if (!in) return -1;
    if (in->kind != V_COLUMNS) return fail(c, n, "normalizes something other than input columns");
    if (c->norm_kind >= 0) return fail(c, n, "a second Normalizer in one graph is not supported");
    char buf[16];
    const char *name = pb_attr_string(n, "norm", buf, sizeof buf, "MAX");
    int kind = normalize_kind(name);
    if (kind < 0) return fail(c, n, "norm \"%s\" is not MAX, L1 or L2", name);
    for (int j = 0; j < in->n_cols; j++) {
        if (in->cols[j].norm) return fail(c, n, "normalizes a Normalizer's output again");
        if (in->cols[j].emb || in->cols[j].index)
            return fail(c, n, "normalizes an embedding's index or output");
    }
    value *out = derive(c, n, in, 0);
    if (!out) return -1;
    for (int j = 0; j < out->n_cols; j++) out->cols[j].norm = j + 1;
    c->norm_kind = kind;
    c->n_norm = out->n_cols;
    return 0;
}

/* Gather(table, index): an embedding lookup (a Keras Embedding through
 * tf2onnx: Cast to an integer, Gather, Flatten). Row v of the table is
 * one_hot(v) times the table, so the input becomes a categorical input with
 * the vocabulary 0..V-1 and a one_hot feature, and the table is folded into
 * the first dense layer (or the linear model) that reads the lookup's columns
 * (fold_first). An index outside 0..V-1, or not an integer, is refused with
 * the input's name, where the runtime would fail the whole batch. */
static int op_embedding(compiler *c, const node_t *n, const tensor_t *table)
{
    value *idx = columns_of(c, n, 1);
    if (!idx) return -1;
    if (idx->kind != V_COLUMNS || idx->n_cols != 1 || !idx->cols[0].index)
        return fail(c, n, "looks up a table by something other than one input cast to an integer");
    if (pb_attr_int(n, "axis", 0) != 0)
        return fail(c, n, "gathers from a table along axis %lld; embeddings use 0",
                    (long long)pb_attr_int(n, "axis", 0));
    size_t count;
    float *t = pb_tensor_floats(c->lim->max_tensor, table, &count);
    if (!t || table->n_dims != 2 || table->dims[0] < 1 || table->dims[0] > SCHEMA_MAX_VOCAB ||
        table->dims[1] < 1 || table->dims[1] > 4096) {
        free(t);
        return fail(c, n, "the table must be a V x d matrix of floats (V up to %d, d up to 4096)",
                    SCHEMA_MAX_VOCAB);
    }
    if (c->n_emb >= MAX_EMBEDDINGS) {
        free(t);
        return fail(c, n, "more than %d embeddings", MAX_EMBEDDINGS);
    }
    int V = (int)table->dims[0], d = (int)table->dims[1], k = c->n_emb;
    c->emb[k].table = t;
    c->emb[k].V = V;
    c->emb[k].d = d;
    c->n_emb++;
    schema_input *si = &model_builder_inputs(c->mb)->inputs[idx->cols[0].input];
    if (si->n_vocab) return fail(c, n, "input \"%s\" is encoded twice", si->name);
    json_t *vocab = json_array();
    for (int v = 0; v < V; v++) json_array_append_new(vocab, json_integer(v));
    si->type = TYPE_INTEGER;
    if (give_vocab(c, n, si, vocab, "(Gather) table rows") != 0) return -1;
    si->unknown = UNKNOWN_REJECT;
    si->required = 1;
    value *out = add_value(c, n->output[0], V_COLUMNS);
    if (!out || !(out->cols = calloc((size_t)d, sizeof *out->cols))) return fail(c, n, "out of memory");
    out->n_cols = d;
    for (int j = 0; j < d; j++) out->cols[j] = (column){idx->cols[0].input, 0, {{0}}, -1, 0, 0, k + 1, j};
    return 0;
}

/* w (n_est rows, in the estimator's columns) -> the rows of the feature
 * columns: a plain column's row as it is; for an embedding's d columns, the
 * V rows table x w (row v: sum over j of table[v][j] * w[column j]). */
static float *fold_first(compiler *c, const float *w, int n_out)
{
    float *out = calloc((size_t)c->n_feat * (size_t)n_out, sizeof *out);
    if (!out) return NULL;
    for (int j = 0; j < c->n_est; j++) {
        const float *row = w + (size_t)j * (size_t)n_out;
        if (!c->est_table[j]) {
            memcpy(out + (size_t)c->est_feat[j] * (size_t)n_out, row, (size_t)n_out * sizeof *out);
            continue;
        }
        int k = c->est_table[j] - 1, comp = j - c->est_first[j];
        for (int v = 0; v < c->emb[k].V; v++) {
            float e = c->emb[k].table[(size_t)v * (size_t)c->emb[k].d + (size_t)comp];
            float *dst = out + (size_t)(c->est_feat[j] + v) * (size_t)n_out;
            for (int o = 0; o < n_out; o++) dst[o] += e * row[o];
        }
    }
    return out;
}

/* Where(condition, X, Y) with a constant condition per column: column j is
 * X's where the condition holds, else Y's. Either side may be input columns or
 * a constant; a constant that is picked becomes a column of that value (the
 * other side's column, imputed, times 0, plus the constant: exact, since
 * inputs are finite or missing). A condition computed from the data is not
 * column bookkeeping and is refused. */
static int op_where(compiler *c, const node_t *n)
{
    if (n->n_input != 3) return fail(c, n, "expected three inputs (condition, X, Y)");
    const tensor_t *cond_t = pb_initializer(c->g, n->input[0]);
    if (!cond_t)
        return fail(c, n, "selects by a condition computed in the graph; tabserve takes a constant one");
    value *side[2] = {NULL, NULL};
    float *konst[2] = {NULL, NULL};
    size_t n_konst[2] = {0, 0};
    int width = -1, rc = 0;
    for (int s = 0; s < 2; s++) {
        const char *name = n->input[1 + s];
        const tensor_t *t = pb_initializer(c->g, name);
        if (t) {
            if (!(konst[s] = pb_tensor_floats(c->lim->max_tensor, t, &n_konst[s])) || n_konst[s] == 0) {
                rc = fail(c, n, "input \"%.80s\": expected a float constant", pb_str(name));
                goto done;
            }
            continue;
        }
        if (!(side[s] = columns_of(c, n, (size_t)(1 + s)))) {
            rc = -1;
            goto done;
        }
        if (side[s]->kind != V_COLUMNS) {
            rc = fail(c, n, "selects from something other than input columns");
            goto done;
        }
        if (width >= 0 && width != side[s]->n_cols) {
            rc = fail(c, n, "X has %d columns and Y %d", width, side[s]->n_cols);
            goto done;
        }
        width = side[s]->n_cols;
    }
    if (width < 0) {
        rc = fail(c, n, "selects between two constants; fold it into a constant");
        goto done;
    }
    size_t n_cond;
    uint8_t *cond = pb_tensor_bools(cond_t, &n_cond);
    if (!cond || (n_cond != 1 && n_cond != (size_t)width)) {
        free(cond);
        rc = fail(c, n, "the condition must be a bool constant of 1 or %d values", width);
        goto done;
    }
    for (int s = 0; s < 2; s++)
        if (konst[s] && n_konst[s] != 1 && n_konst[s] != (size_t)width) {
            free(cond);
            rc = fail(c, n, "the constant %s must hold 1 or %d numbers", s ? "Y" : "X", width);
            goto done;
        }
    column *cols = malloc((size_t)width * sizeof *cols);
    if (!cols) {
        free(cond);
        rc = fail(c, n, "out of memory");
        goto done;
    }
    for (int j = 0; rc == 0 && j < width; j++) {
        int s = cond[n_cond == 1 ? 0 : j] ? 0 : 1;
        if (side[s]) {
            cols[j] = side[s]->cols[j];
            continue;
        }
        float v = konst[s][n_konst[s] == 1 ? 0 : j];
        cols[j] = side[1 - s]->cols[j]; /* a constant column, built on the other side's column */
        const schema_input *si = &model_builder_inputs(c->mb)->inputs[cols[j].input];
        if (si->type != TYPE_NUMBER || !isfinite(v)) {
            rc = fail(c, n, "picks the constant %g for column %d, whose other side is not a numeric input", v,
                      j);
            break;
        }
        rc = add_step(c, n, &cols[j], (feature_step){STEP_IMPUTE, 0, 0});
        if (rc == 0) rc = add_step(c, n, &cols[j], (feature_step){STEP_SCALE, 0, 0});
        if (rc == 0) rc = add_step(c, n, &cols[j], (feature_step){STEP_SCALE, -v, 1});
    }
    free(cond);
    value *out = rc ? NULL : add_value(c, n->output[0], V_COLUMNS);
    if (!out) {
        free(cols);
        if (!rc) rc = fail(c, n, "out of memory");
        goto done;
    }
    out->cols = cols;
    out->n_cols = width;
done:
    free(konst[0]);
    free(konst[1]);
    return rc;
}

/* ---- estimators -------------------------------------------------------------------- */

/* The columns an estimator reads become the feature steps. Consecutive one-hot
 * columns of one input, in category order, are its one_hot feature. */
static int columns_to_features(compiler *c, const node_t *n, const value *x)
{
    feature_steps *fs = model_builder_features(c->mb);
    c->n_est = x->n_cols;
    c->est_feat = calloc((size_t)x->n_cols + 1, sizeof *c->est_feat);
    c->est_table = calloc((size_t)x->n_cols + 1, sizeof *c->est_table);
    c->est_first = calloc((size_t)x->n_cols + 1, sizeof *c->est_first);
    if (!c->est_feat || !c->est_table || !c->est_first) return fail(c, n, "out of memory");
    if (c->n_norm && c->n_emb)
        return fail(c, n, "a Normalizer and an embedding in one graph are not supported");
    int at = 0;      /* the feature column the next estimator column comes from */
    if (c->n_norm) { /* the estimator's column j is feature column j */
        if (!(c->norm_cols = malloc((size_t)c->n_norm * sizeof *c->norm_cols)))
            return fail(c, n, "out of memory");
        for (int k = 0; k < c->n_norm; k++) c->norm_cols[k] = -1;
        for (int j = 0; j < x->n_cols; j++) {
            int k = x->cols[j].norm - 1;
            if (k < 0) continue;
            if (c->norm_cols[k] >= 0) return fail(c, n, "reads a Normalizer's column %d twice", k);
            c->norm_cols[k] = j;
            c->norm_used = 1;
        }
        for (int k = 0; c->norm_used && k < c->n_norm; k++)
            if (c->norm_cols[k] < 0)
                return fail(c, n,
                            "reads only some of a Normalizer's columns (not column %d), whose norm needs "
                            "them all",
                            k);
    }
    for (int j = 0; j < x->n_cols;) {
        const column *col = &x->cols[j];
        if (col->index)
            return fail(
                c, n,
                "reads the integer cast of \"%s\" itself; tabserve takes it as an embedding's index only",
                model_builder_inputs(c->mb)->inputs[col->input].name);
        if (col->emb) { /* an embedding's d columns: a one_hot of V columns, the table folded later */
            int k = col->emb - 1, d = c->emb[k].d, m = 0;
            while (j + m < x->n_cols && x->cols[j + m].emb == col->emb && x->cols[j + m].emb_j == m) m++;
            if (col->emb_j != 0 || m != d)
                return fail(c, n, "reads an embedding's columns out of order or in part");
            feature_step st = {STEP_ONE_HOT, 0, 0};
            if (features_add(fs, (size_t)col->input, &st, 1) != 0) return fail(c, n, "out of memory");
            for (int q = 0; q < d; q++) {
                c->est_feat[j + q] = at;
                c->est_table[j + q] = k + 1;
                c->est_first[j + q] = j;
            }
            at += c->emb[k].V;
            j += d;
            continue;
        }
        c->est_feat[j] = at++;    /* one estimator column, one feature column */
        if (col->one_hot == -2) { /* a LabelEncoder's code: the category's index */
            feature_step st = {STEP_CATEGORY_INDEX, 0, 0};
            if (features_add(fs, (size_t)col->input, &st, 1) != 0) return fail(c, n, "out of memory");
            j++;
            continue;
        }
        if (col->one_hot >= 0) {
            const schema_input *si = &model_builder_inputs(c->mb)->inputs[col->input];
            int k = 0;
            while (j + k < x->n_cols && x->cols[j + k].input == col->input && x->cols[j + k].one_hot == k)
                k++;
            if (col->one_hot != 0 || (size_t)k != si->n_vocab)
                return fail(c, n, "reads the one-hot columns of \"%s\" out of order or in part", si->name);
            feature_step st = {STEP_ONE_HOT, 0, 0};
            if (features_add(fs, (size_t)col->input, &st, 1) != 0) return fail(c, n, "out of memory");
            for (int q = 1; q < k; q++) c->est_feat[j + q] = at++;
            j += k;
            continue;
        }
        feature_step steps[FEATURE_MAX_STEPS];
        memcpy(steps, col->steps, (size_t)col->n_steps * sizeof *steps);
        int k = col->n_steps;
        if (k == 0) steps[k++] = (feature_step){STEP_PASSTHROUGH, 0, 0}; /* NaN kept: trees route it */
        if (features_add(fs, (size_t)col->input, steps, k) != 0) return fail(c, n, "out of memory");
        j++;
    }
    c->n_feat = at;
    return 0;
}

/* Class labels of a classifier into the output (2: binary, positive = the second). */
static int read_classes(compiler *c, const node_t *n, size_t *n_classes)
{
    const attr_t *ints = pb_attr(n, "classlabels_int64s"), *strs = pb_attr(n, "classlabels_strings");
    if (!ints) ints = pb_attr(n, "classlabels_ints");
    size_t k = ints ? ints->n_ints : strs ? strs->n_strings : 0;
    if (k < 2 || k > OUTPUT_MAX_CLASSES)
        return fail(c, n, "expected 2 to %d class labels", OUTPUT_MAX_CLASSES);
    output_spec *o = model_builder_output(c->mb);
    o->classes = calloc(k, sizeof *o->classes);
    if (!o->classes) return fail(c, n, "out of memory");
    o->n_classes = k;
    for (size_t j = 0; j < k; j++) {
        char buf[80];
        if (ints)
            snprintf(buf, sizeof buf, "%lld", (long long)ints->ints[j]);
        else
            snprintf(buf, sizeof buf, "%.*s", (int)(strs->strings[j].len < 64 ? strs->strings[j].len : 64),
                     (const char *)strs->strings[j].data);
        for (char *p = buf; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\' || *p == ',') *p = '_';
        if (!(o->classes[j] = strdup(buf))) return fail(c, n, "out of memory");
    }
    *n_classes = k;
    return 0;
}

/* A classifier's classes as the output: binary reports P(second class). */
static int classifier_output(compiler *c, size_t k)
{
    output_spec *o = model_builder_output(c->mb);
    o->label = strdup("label");
    if (k == 2) {
        o->task = TASK_BINARY;
        o->positive = strdup(o->classes[1]);
        for (size_t j = 0; j < k; j++) free(o->classes[j]);
        free(o->classes);
        o->classes = NULL;
        o->n_classes = 0;
        return o->label && o->positive ? 0 : -1;
    }
    o->task = TASK_MULTICLASS;
    return o->label ? 0 : -1;
}

static int post_transform(compiler *c, const node_t *n, size_t k, int *link)
{
    char buf[32];
    const char *pt = pb_attr_string(n, "post_transform", buf, sizeof buf, "NONE");
    if (strcmp(pt, "NONE") == 0)
        *link = LINK_IDENTITY;
    else if (strcmp(pt, "LOGISTIC") == 0 && k <= 2)
        *link = LINK_SIGMOID;
    else if (strcmp(pt, "SOFTMAX") == 0)
        *link = LINK_SOFTMAX;
    else
        return fail(
            c, n, "post_transform %s is not supported here (NONE, LOGISTIC for one or two classes, SOFTMAX)",
            pt);
    return 0;
}

static int op_linear(compiler *c, const node_t *n, int classifier)
{
    value *x = columns_of(c, n, 0);
    if (!x) return -1;
    if (x->kind != V_COLUMNS) return fail(c, n, "reads something other than input columns");
    if (columns_to_features(c, n, x) != 0) return -1;
    size_t nc, ni, k = 1;
    float *coef = pb_attr_floats(c->lim->max_tensor, n, "coefficients", &nc),
          *icpt = pb_attr_floats(c->lim->max_tensor, n, "intercepts", &ni);
    int rc = 0, link = LINK_IDENTITY;
    if (classifier && read_classes(c, n, &k) != 0) rc = -1;
    if (!classifier) k = (size_t)pb_attr_int(n, "targets", 1);
    size_t rows = rc ? 0 : nc / (size_t)x->n_cols;
    if (!rc &&
        (!coef || nc % (size_t)x->n_cols || rows == 0 || (rows != k && !(classifier && k == 2 && rows == 1))))
        rc = fail(c, n, "coefficients hold %zu values for %d columns and %zu classes or targets", nc,
                  x->n_cols, k);
    if (!rc && icpt && ni != rows) rc = fail(c, n, "intercepts hold %zu values for %zu rows", ni, rows);
    if (!rc) rc = post_transform(c, n, k, &link);
    if (!rc && !classifier && k != 1) rc = fail(c, n, "%zu targets; tabserve serves one", k);
    if (!rc && classifier && k > 2 && link != LINK_SOFTMAX && link != LINK_IDENTITY)
        rc = fail(c, n, "multiclass scores need SOFTMAX or NONE");
    if (rc) {
        free(coef);
        free(icpt);
        return -1;
    }
    /* w (n_features, n_out): one output for regression and binary (the second
     * class's score; with SOFTMAX the difference of the two), k for multiclass */
    int nf = x->n_cols, n_out = classifier && k > 2 ? (int)k : 1;
    float *w = calloc((size_t)nf * (size_t)n_out, sizeof *w), *b = calloc((size_t)n_out, sizeof *b);
    for (int o = 0; w && b && o < n_out; o++) {
        for (int f = 0; f < nf; f++) {
            if (n_out > 1)
                w[(size_t)f * n_out + o] = coef[(size_t)o * nf + f];
            else if (rows == 1)
                w[f] = coef[f];
            else if (link == LINK_SOFTMAX)
                w[f] = coef[(size_t)nf + f] - coef[f];
            else
                w[f] = coef[(size_t)nf + f];
        }
        b[o] = !icpt                  ? 0
               : n_out > 1            ? icpt[o]
               : rows == 1            ? icpt[0]
               : link == LINK_SOFTMAX ? icpt[1] - icpt[0]
                                      : icpt[1];
    }
    if (classifier && k == 2 && link == LINK_SOFTMAX)
        link = LINK_SIGMOID; /* softmax of two = sigmoid of the difference */
    if (w && c->n_emb) {     /* the embeddings' tables folded into the coefficients */
        float *folded = fold_first(c, w, n_out);
        free(w);
        w = folded;
        nf = c->n_feat;
    }
    predictor *lin = w && b ? linear_create(nf, n_out, w, b) : NULL;
    free(w);
    free(b);
    free(coef);
    free(icpt);
    if (!lin) return fail(c, n, "out of memory");
    model_builder_set_predictor(c->mb, lin);
    c->link = (output_link)link;
    c->link_set = 1;
    c->scores = classifier && link == LINK_IDENTITY; /* a margin, not a probability */
    if (classifier ? classifier_output(c, k)
                   : (model_builder_output(c->mb)->task = TASK_REGRESSION,
                      !(model_builder_output(c->mb)->label = strdup("label"))))
        return fail(c, n, "out of memory");
    for (size_t o = 0; o < n->n_output; o++)
        if (!add_value(c, n->output[o], o == (classifier ? 1u : 0u) ? V_SCORES : V_IGNORED))
            return fail(c, n, "out of memory");
    return 0;
}

typedef struct {
    int64_t tree, node, t, f; /* ids, true and false children */
    int feature;
    float value;
    const char *mode;
    size_t mode_len;
    int missing_true;
} onnx_node;

/* The index, among a tree's nodes (nodes[0..count)), of the node with id `id`:
 * exporters number a tree's nodes 0, 1, ... in order, so that place is tried
 * first, then the rest. -1 when there is none. */
static int find_node(const onnx_node *nodes, size_t count, int64_t id)
{
    if (id >= 0 && (uint64_t)id < count && nodes[id].node == id) return (int)id;
    for (size_t i = 0; i < count; i++)
        if (nodes[i].node == id) return (int)i;
    return -1;
}

static int op_trees(compiler *c, const node_t *n, int classifier)
{
    value *x = columns_of(c, n, 0);
    if (!x) return -1;
    if (x->kind != V_COLUMNS) return fail(c, n, "reads something other than input columns");
    if (c->n_emb) return fail(c, n, "trees on an embedding's output are not supported");
    if (columns_to_features(c, n, x) != 0) return -1;
    pb_trees ta;
    const char *pre = classifier ? "class" : "target";
    if (pb_tree_attrs(n, classifier, c->lim->max_tensor, &ta) != 0)
        return fail(c, n, "the nodes_* and %s_* attributes are missing or differ in length", pre);
    const attr_t *a_tree = ta.tree, *a_node = ta.node, *a_feat = ta.feature, *a_mode = ta.mode,
                 *a_true = ta.yes, *a_false = ta.no, *a_miss = ta.missing, *l_tree = ta.l_tree,
                 *l_node = ta.l_node, *l_id = ta.l_id;
    size_t nn = ta.n_nodes, nl = ta.n_leaves, n_values, n_weights, n_base = 0;
    const char *name = ta.weights;
    float *values = pb_attr_floats(c->lim->max_tensor, n, "nodes_values", &n_values),
          *weights = pb_attr_floats(c->lim->max_tensor, n, name, &n_weights);
    float *base = pb_attr_floats(c->lim->max_tensor, n, "base_values", &n_base);
    size_t k = 1;
    int rc = 0, link = LINK_IDENTITY;
    onnx_node *nodes = NULL;
    if (!values || n_values != nn || !weights || n_weights != nl)
        rc = fail(c, n, "nodes_values or %s has the wrong length", name);
    if (!rc && classifier) rc = read_classes(c, n, &k);
    if (!rc && !classifier && pb_attr_int(n, "n_targets", 1) != 1)
        rc = fail(c, n, "%lld targets; tabserve serves one", (long long)pb_attr_int(n, "n_targets", 1));
    if (!rc) rc = post_transform(c, n, k, &link);
    /* Two classes whose leaves all weigh one class id (skl2onnx's and onnxmltools'
     * binary trees put P(class 1), or the margin, on class id 0): that one sum is
     * the second class's score, as ONNX Runtime and the graph interpreter read it. */
    int one_class_weighted = 0;
    if (!rc && classifier && k == 2 && nl) {
        one_class_weighted = 1;
        for (size_t i = 1; i < nl; i++)
            if (l_id->ints[i] != l_id->ints[0]) one_class_weighted = 0;
        if (one_class_weighted && link == LINK_SOFTMAX) link = LINK_IDENTITY; /* one score is not spread */
    }
    if (!rc && n_base && n_base != k && !one_class_weighted)
        rc = fail(c, n, "base_values holds %zu values for %zu classes", n_base, k);
    char agg_buf[16];
    const char *agg = pb_attr_string(n, "aggregate_function", agg_buf, sizeof agg_buf, "SUM");
    if (!rc && strcmp(agg, "SUM") != 0 && strcmp(agg, "AVERAGE") != 0)
        rc = fail(c, n, "aggregate_function %s is not supported (SUM, AVERAGE)", agg);
    if (!rc && !(nodes = scratch_alloc(c->scratch, nn * sizeof *nodes))) rc = fail(c, n, "out of memory");
    for (size_t i = 0; !rc && i < nn; i++) {
        nodes[i] = (onnx_node){a_tree->ints[i],
                               a_node->ints[i],
                               a_true->ints[i],
                               a_false->ints[i],
                               0,
                               values[i],
                               (const char *)a_mode->strings[i].data,
                               a_mode->strings[i].len,
                               a_miss && a_miss->n_ints ? (int)a_miss->ints[i] : 0};
        if (a_feat->ints[i] < 0 || a_feat->ints[i] >= x->n_cols)
            rc = fail(c, n, "node %zu splits on feature %lld; the input has %d", i,
                      (long long)a_feat->ints[i], x->n_cols);
        else
            nodes[i].feature = (int)a_feat->ints[i];
    }
    /* which classes become outputs: binary keeps the second class (with SOFTMAX,
     * the second minus the first); multiclass keeps all */
    int n_out = classifier && k > 2 ? (int)k : 1;
    if (!rc && classifier && k > 2 && link == LINK_SIGMOID)
        rc = fail(c, n, "multiclass LOGISTIC is not supported");
    /* the trees: ids in order of first appearance */
    int64_t *tree_ids = NULL;
    size_t n_trees = 0;
    if (!rc && !(tree_ids = scratch_alloc(c->scratch, nn * sizeof *tree_ids)))
        rc = fail(c, n, "out of memory");
    for (size_t i = 0; !rc && i < nn; i++)
        if (i == 0 || nodes[i].tree != nodes[i - 1].tree) {
            for (size_t t = 0; t < n_trees; t++)
                if (tree_ids[t] == nodes[i].tree) {
                    rc = fail(c, n, "the nodes of tree %lld are not listed together",
                              (long long)nodes[i].tree);
                    break;
                }
            tree_ids[n_trees++] = nodes[i].tree;
        }
    if (!rc && (long)n_trees > c->lim->max_trees)
        rc = fail(c, n, "%zu trees; at most %ld are accepted (--max-trees)", n_trees, c->lim->max_trees);
    /* one tabserve tree per (tree, output), leaves holding that output's weight */
    tree_ensemble *e = rc ? NULL : trees_create(x->n_cols, n_out, n_trees * (size_t)n_out, NULL);
    if (!rc && !e) rc = fail(c, n, "out of memory");
    if (!rc) model_builder_set_predictor(c->mb, &e->base);
    /* each tree's nodes: the room its arrays take, all in one block (else malloc's) */
    size_t *room = rc ? NULL : scratch_alloc(c->scratch, n_trees * (size_t)n_out * sizeof *room);
    if (room) {
        memset(room, 0, n_trees * (size_t)n_out * sizeof *room);
        for (size_t i = 0, t = 0; i < nn; i++) {
            if (i > 0 && nodes[i].tree != nodes[i - 1].tree) t++; /* listed together: checked above */
            for (int o = 0; o < n_out; o++) room[t * (size_t)n_out + (size_t)o]++;
        }
        trees_reserve_nodes(e, room);
        scratch_free(c->scratch, room);
    }
    size_t start = 0;
    int *order = NULL, *where = NULL;
    size_t *tree_start = NULL;
    if (!rc && (!(order = scratch_alloc(c->scratch, nn * sizeof *order)) ||
                !(where = scratch_alloc(c->scratch, nn * sizeof *where)) ||
                !(tree_start = scratch_alloc(c->scratch, (n_trees + 1) * sizeof *tree_start))))
        rc = fail(c, n, "out of memory");
    for (size_t t = 0; !rc && t < n_trees; t++) {
        size_t end = start;
        while (end < nn && nodes[end].tree == tree_ids[t]) end++;
        size_t count = end - start;
        tree_start[t] = start;
        tree_start[t + 1] = end;
        if ((long)count > c->lim->max_nodes) {
            rc = fail(c, n, "tree %lld has %zu nodes; at most %ld are accepted (--max-nodes)",
                      (long long)tree_ids[t], count, c->lim->max_nodes);
            break;
        }
        /* breadth first from node id 0: children come after their parent;
         * where[start + i] is node i's place in the tabserve tree */
        for (size_t i = start; i < end; i++) where[i] = -1;
        int root = find_node(nodes + start, count, 0);
        if (root < 0) {
            rc = fail(c, n, "tree %lld has no node 0 (its root)", (long long)tree_ids[t]);
            break;
        }
        size_t head = 0, tail = 0;
        int *queue = order + start;
        queue[tail++] = root;
        where[start + (size_t)root] = 0;
        while (head < tail && !rc) {
            const onnx_node *on = &nodes[start + (size_t)queue[head++]];
            if (on->mode_len == 4 && memcmp(on->mode, "LEAF", 4) == 0) continue;
            int64_t kids[2] = {on->t, on->f};
            for (int q = 0; q < 2 && !rc; q++) {
                int child = find_node(nodes + start, count, kids[q]);
                if (child < 0)
                    rc = fail(c, n, "tree %lld node %lld: child %lld does not exist", (long long)tree_ids[t],
                              (long long)on->node, (long long)kids[q]);
                else if (where[start + (size_t)child] >= 0)
                    rc = fail(c, n,
                              "tree %lld node %lld: child %lld is reached twice (a cycle or a shared node)",
                              (long long)tree_ids[t], (long long)on->node, (long long)kids[q]);
                else {
                    where[start + (size_t)child] = (int)tail;
                    queue[tail++] = child;
                }
            }
        }
        for (int o = 0; !rc && o < n_out; o++) {
            tree *tr = &e->trees[t * (size_t)n_out + (size_t)o];
            if (trees_alloc_tree(tr, (int)tail) != 0) {
                rc = fail(c, n, "out of memory");
                break;
            }
            tr->output = o;
            for (size_t q = 0; q < tail && !rc; q++) {
                const onnx_node *on = &nodes[start + (size_t)queue[q]];
                if (on->mode_len == 4 && memcmp(on->mode, "LEAF", 4) == 0) continue;
                int tpos = where[start + (size_t)find_node(nodes + start, count, on->t)];
                int fpos = where[start + (size_t)find_node(nodes + start, count, on->f)];
                int true_left;
                float thr = on->value;
#define MODE(s) (on->mode_len == strlen(s) && memcmp(on->mode, s, on->mode_len) == 0)
                if (MODE("BRANCH_LEQ")) {
                    true_left = 1;
                    thr = nextafterf(thr, INFINITY);
                } else if (MODE("BRANCH_LT")) {
                    true_left = 1;
                } else if (MODE("BRANCH_GTE")) {
                    true_left = 0;
                } else if (MODE("BRANCH_GT")) {
                    true_left = 0;
                    thr = nextafterf(thr, INFINITY);
                } else {
                    rc = fail(c, n,
                              "tree %lld node %lld: mode %.*s is not supported (BRANCH_LEQ, BRANCH_LT, "
                              "BRANCH_GTE, BRANCH_GT, LEAF)",
                              (long long)on->tree, (long long)on->node,
                              (int)(on->mode_len < 20 ? on->mode_len : 20), on->mode);
                    break;
                }
#undef MODE
                if (isnan(thr)) {
                    rc = fail(c, n, "tree %lld node %lld has a NaN threshold", (long long)on->tree,
                              (long long)on->node);
                    break;
                }
                tr->feature[q] = on->feature;
                tr->threshold[q] = thr;
                tr->left[q] = true_left ? tpos : fpos;
                tr->right[q] = true_left ? fpos : tpos;
                /* NaN: the true branch if tracked, else false (comparisons with NaN are false) */
                tr->default_left[q] = (unsigned char)(on->missing_true ? true_left : !true_left);
            }
        }
        start = end;
    }
    /* leaf weights: class 1 for binary (minus class 0 under SOFTMAX), each class for multiclass */
    double divide = strcmp(agg, "AVERAGE") == 0 && n_trees ? (double)n_trees : 1.0;
    size_t last_tree = 0;
    for (size_t i = 0; !rc && i < nl; i++) {
        int64_t cls = l_id->ints[i];
        if (cls < 0 || (size_t)cls >= k) {
            rc = fail(c, n, "leaf weight %zu is for class %lld, of %zu", i, (long long)cls, k);
            break;
        }
        /* weights come tree by tree: try the last tree, then the next, then all */
        size_t t = last_tree;
        if (tree_ids[t] != l_tree->ints[i] && t + 1 < n_trees && tree_ids[t + 1] == l_tree->ints[i])
            t++;
        else if (tree_ids[t] != l_tree->ints[i])
            for (t = 0; t < n_trees && tree_ids[t] != l_tree->ints[i];) t++;
        last_tree = t < n_trees ? t : 0;
        if (t == n_trees) {
            rc = fail(c, n, "leaf weight %zu names tree %lld, which has no nodes", i,
                      (long long)l_tree->ints[i]);
            break;
        }
        int o;
        float sign = 1;
        if (n_out > 1)
            o = (int)cls;
        else if (!classifier || k == 1 || cls == 1 || one_class_weighted)
            o = 0;
        else if (link == LINK_SOFTMAX) /* class 0 of two under softmax: subtract */
            o = 0, sign = -1;
        else
            continue; /* class 0 of two: its probability is not reported */
        size_t s0 = tree_start[t], count = tree_start[t + 1] - s0;
        int local = find_node(nodes + s0, count, l_node->ints[i]);
        int pos = local < 0 ? -1 : where[s0 + (size_t)local];
        tree *tr = &e->trees[t * (size_t)n_out + (size_t)o];
        if (pos < 0 || tr->feature[pos] >= 0) {
            rc = fail(c, n, "leaf weight %zu names node %lld of tree %lld, which is not a leaf", i,
                      (long long)l_node->ints[i], (long long)l_tree->ints[i]);
            break;
        }
        tr->value[pos] += (float)(sign * weights[i] / divide);
    }
    if (!rc && e) {
        for (int o = 0; o < n_out; o++) {
            double b0 = n_base ? base[n_out > 1 ? o : k == 2 && n_base == 2 ? 1 : 0] : 0;
            if (n_out == 1 && k == 2 && link == LINK_SOFTMAX && n_base) b0 -= base[0];
            e->base_score[o] = (float)b0;
        }
        if (classifier && k == 2 && link == LINK_SOFTMAX) link = LINK_SIGMOID;
        c->link = (output_link)link;
        c->link_set = 1;
        /* weights of both signs without a post transform: margins, not probabilities */
        for (size_t i = 0; classifier && link == LINK_IDENTITY && i < n_weights; i++)
            if (weights[i] < 0) c->scores = 1;
        if (classifier ? classifier_output(c, k)
                       : (model_builder_output(c->mb)->task = TASK_REGRESSION,
                          !(model_builder_output(c->mb)->label = strdup("label"))))
            rc = fail(c, n, "out of memory");
    }
    for (size_t o = 0; !rc && o < n->n_output; o++)
        if (!add_value(c, n->output[o], o == (classifier ? 1u : 0u) ? V_SCORES : V_IGNORED))
            rc = fail(c, n, "out of memory");
    scratch_free(c->scratch, nodes);
    scratch_free(c->scratch, tree_ids);
    scratch_free(c->scratch, order);
    scratch_free(c->scratch, where);
    scratch_free(c->scratch, tree_start);
    free(values);
    free(weights);
    free(base);
    return rc;
}

/* MatMul(X, W) or Gemm(X, W, B): a dense layer; on input columns it starts the chain. */
static int op_dense(compiler *c, const node_t *n, int gemm)
{
    value *x = columns_of(c, n, 0);
    const tensor_t *wt = n->n_input >= 2 ? pb_initializer(c->g, n->input[1]) : NULL;
    if (!x) return -1;
    if (!wt) return fail(c, n, "the weights must be a constant (an initializer)");
    if (x->kind == V_COLUMNS) {
        if (c->estimator_seen) return fail(c, n, "a second estimator in one graph is not supported");
        if (columns_to_features(c, n, x) != 0) return -1;
        c->estimator_seen = 1;
        c->widths[0] = x->n_cols;
    } else if (x->kind != V_DENSE) {
        return fail(c, n, "multiplies something other than input columns or the previous layer");
    }
    c->pending_bias = 0; /* a MatMul with no Add after it: its bias is zero */
    if (c->n_layers >= MAX_LAYERS) return fail(c, n, "more than %d layers", MAX_LAYERS);
    int L = c->n_layers, n_in = c->widths[L];
    size_t count;
    float *w = pb_tensor_floats(c->lim->max_tensor, wt, &count);
    int64_t trans_b = gemm ? pb_attr_int(n, "transB", 0) : 0;
    if (gemm && (pb_attr_int(n, "transA", 0) || pb_attr_float(n, "alpha", 1) != 1 ||
                 pb_attr_float(n, "beta", 1) != 1)) {
        free(w);
        return fail(c, n, "Gemm with transA, alpha or beta other than the defaults is not supported");
    }
    if (!w || wt->n_dims != 2 || wt->dims[trans_b ? 1 : 0] != n_in) {
        free(w);
        return fail(c, n, "the weights are not a %d x H matrix of floats", n_in);
    }
    int n_out = (int)wt->dims[trans_b ? 0 : 1];
    c->w[L] = malloc((size_t)n_in * (size_t)n_out * sizeof(float));
    c->b[L] = calloc((size_t)n_out, sizeof(float));
    if (!c->w[L] || !c->b[L]) {
        free(w);
        return fail(c, n, "out of memory");
    }
    for (int i = 0; i < n_in; i++)
        for (int j = 0; j < n_out; j++)
            c->w[L][(size_t)i * n_out + j] = trans_b ? w[(size_t)j * n_in + i] : w[(size_t)i * n_out + j];
    free(w);
    if (L == 0 && c->n_emb) { /* the embeddings' tables folded into the first layer */
        float *folded = fold_first(c, c->w[0], n_out);
        if (!folded) return fail(c, n, "out of memory");
        free(c->w[0]);
        c->w[0] = folded;
        c->widths[0] = c->n_feat;
    }
    c->widths[L + 1] = n_out;
    c->acts[L] = ACT_LINEAR;
    c->n_layers++;
    c->pending_bias = !gemm;
    if (gemm && n->n_input >= 3) {
        const tensor_t *bt = pb_initializer(c->g, n->input[2]);
        float *b = bt ? pb_tensor_floats(c->lim->max_tensor, bt, &count) : NULL;
        if (!b || (count != (size_t)n_out && count != 1)) {
            free(b);
            return fail(c, n, "the bias is not a constant of %d floats", n_out);
        }
        for (int j = 0; j < n_out; j++) c->b[L][j] = b[count == 1 ? 0 : j];
        free(b);
    }
    value *v = add_value(c, n->output[0], V_DENSE);
    if (!v) return fail(c, n, "out of memory");
    v->width = n_out;
    return 0;
}

/* Relu, Tanh, Sigmoid, Softmax after a layer. */
static int op_activation(compiler *c, const node_t *n, activation act, int softmax)
{
    value *x = columns_of(c, n, 0);
    if (!x) return -1;
    if (x->kind == V_SCORES && (act == ACT_SIGMOID || softmax) && c->link == LINK_IDENTITY) {
        /* a link after a linear or tree estimator with post_transform NONE */
        if (softmax && model_builder_output(c->mb)->task != TASK_MULTICLASS)
            return fail(c, n, "softmax of a one-score estimator");
        c->link = softmax ? LINK_SOFTMAX : LINK_SIGMOID;
        c->scores = 0;
        if (!softmax && model_builder_output(c->mb)->task == TASK_REGRESSION)
            model_builder_output(c->mb)->task = TASK_BINARY;
        return derive(c, n, x, 0) ? 0 : -1;
    }
    if (x->kind != V_DENSE || c->acts[c->n_layers - 1] != ACT_LINEAR || c->link_set)
        return fail(c, n, "follows something other than a dense layer");
    c->pending_bias = 0;
    if (softmax)
        c->link = LINK_SOFTMAX, c->link_set = 1;
    else
        c->acts[c->n_layers - 1] = act;
    return derive(c, n, x, 0) ? 0 : -1;
}

/* The dense chain as an MLP; a last Sigmoid on one unit becomes the sigmoid link. */
static int finish_dense(compiler *c)
{
    int L = c->n_layers - 1, n_out = c->widths[L + 1];
    output_spec *o = model_builder_output(c->mb);
    if (c->link == LINK_SOFTMAX) {
        if (n_out < 2 || n_out > OUTPUT_MAX_CLASSES) return fail(c, NULL, "softmax over %d units", n_out);
        o->task = TASK_MULTICLASS;
        o->n_classes = (size_t)n_out;
        if (!(o->classes = calloc((size_t)n_out, sizeof *o->classes))) return -1;
        for (int j = 0; j < n_out; j++) {
            char num[16];
            snprintf(num, sizeof num, "%d", j);
            if (!(o->classes[j] = strdup(num))) return -1;
        }
    } else if (c->acts[L] == ACT_SIGMOID && n_out == 1) {
        c->acts[L] = ACT_LINEAR;
        c->link = LINK_SIGMOID;
        o->task = TASK_BINARY;
    } else if (n_out == 1) {
        c->link = LINK_IDENTITY;
        o->task = TASK_REGRESSION;
    } else {
        return fail(c, NULL, "the network ends in %d units without a softmax", n_out);
    }
    if (!(o->label = strdup("label"))) return -1;
    mlp *net = mlp_create(c->widths, c->acts, (size_t)c->n_layers);
    if (!net) return fail(c, NULL, "out of memory");
    for (int l = 0; l < c->n_layers; l++) {
        memcpy(net->layers[l].w, c->w[l], (size_t)c->widths[l] * c->widths[l + 1] * sizeof(float));
        memcpy(net->layers[l].b, c->b[l], (size_t)c->widths[l + 1] * sizeof(float));
    }
    model_builder_set_predictor(c->mb, &net->base);
    return 0;
}

static int op_passthrough(compiler *c, const node_t *n)
{
    value *x = columns_of(c, n, 0);
    if (!x) return -1;
    if (strcmp(n->op_type, "Cast") == 0 && x->kind == V_COLUMNS) {
        int64_t to = pb_attr_int(n, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
        int integer =
            to == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || to == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
        if (integer) { /* an index for an embedding lookup: only a numeric input as given */
            for (int j = 0; j < x->n_cols; j++) {
                const column *col = &x->cols[j];
                if (col->n_steps || col->one_hot != -1 || col->norm || col->index || col->emb ||
                    model_builder_inputs(c->mb)->inputs[col->input].type != TYPE_NUMBER)
                    return fail(c, n, "casts to integers something other than a numeric input as given");
            }
            value *out = derive(c, n, x, 0);
            if (!out) return -1;
            for (int j = 0; j < out->n_cols; j++) out->cols[j].index = 1;
            return 0;
        }
        if (to != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && to != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
            return fail(c, n, "casts input columns to type %lld; tabserve computes in floats", (long long)to);
    }
    return derive(c, n, x, 0) ? 0 : -1;
}

/* ---- the graph --------------------------------------------------------------------- */

#define supported onnx_supported_operators

static int compile_node(compiler *c, const node_t *n)
{
    const char *op = n->op_type ? n->op_type : "";
    const char *dom = n->domain ? n->domain : "";
    int ml = strcmp(dom, "ai.onnx.ml") == 0;
    if (!ml && *dom && strcmp(dom, "ai.onnx") != 0)
        return fail(c, n, "operator domain \"%.40s\" is not supported; supported operators: %s", dom,
                    supported);
    if (n->n_output == 0) return fail(c, n, "has no outputs");
#define IS(s) (strcmp(op, s) == 0)
    if (ml) {
        if (IS("Imputer")) return op_imputer(c, n);
        if (IS("Scaler")) return op_scaler(c, n);
        if (IS("OneHotEncoder")) return op_one_hot(c, n);
        if (IS("LabelEncoder")) return op_label_encoder(c, n);
        if (IS("FeatureVectorizer")) return op_concat(c, n);
        if (IS("ArrayFeatureExtractor")) return op_extract(c, n);
        if (IS("Normalizer")) return op_normalizer(c, n);
        if (IS("LinearClassifier") || IS("LinearRegressor") || IS("TreeEnsembleClassifier") ||
            IS("TreeEnsembleRegressor")) {
            if (c->estimator_seen) return fail(c, n, "a second estimator in one graph is not supported");
            c->estimator_seen = 1;
            c->estimator = n;
            return IS("LinearClassifier")  ? op_linear(c, n, 1)
                   : IS("LinearRegressor") ? op_linear(c, n, 0)
                                           : op_trees(c, n, IS("TreeEnsembleClassifier"));
        }
        if (IS("ZipMap")) { /* {label: probability} per row: the same probabilities */
            value *x = columns_of(c, n, 0);
            return x ? (derive(c, n, x, 0) ? 0 : -1) : -1;
        }
    } else {
        if (IS("Cast") || IS("CastLike") || IS("Identity") || IS("Reshape") || IS("Flatten") ||
            IS("Squeeze") || IS("Unsqueeze"))
            return op_passthrough(c, n);
        if (IS("Concat")) return op_concat(c, n);
        if (IS("Gather")) return op_gather(c, n);
        if (IS("Where")) return op_where(c, n);
        if (IS("MatMul")) return op_dense(c, n, 0);
        if (IS("Gemm")) return op_dense(c, n, 1);
        if (IS("Add")) return op_arith(c, n, 'A');
        if (IS("Sub")) return op_arith(c, n, 'S');
        if (IS("Mul")) return op_arith(c, n, 'M');
        if (IS("Div")) return op_arith(c, n, 'D');
        if (IS("Relu")) return op_activation(c, n, ACT_RELU, 0);
        if (IS("Tanh")) return op_activation(c, n, ACT_TANH, 0);
        if (IS("Sigmoid")) return op_activation(c, n, ACT_SIGMOID, 0);
        if (IS("Softmax")) return op_activation(c, n, ACT_LINEAR, 1);
        if (IS("ArgMax")) { /* a class index from the scores: not what tabserve answers */
            value *x = columns_of(c, n, 0);
            if (!x) return -1;
            value *v = add_value(c, n->output[0], V_IGNORED);
            return v ? 0 : fail(c, n, "out of memory");
        }
    }
#undef IS
    return fail(c, n, "operator %.40s is not supported; supported operators: %s", op, supported);
}

/* The opsets read: every operator tabserve runs keeps its meaning for numbers
 * and strings from ai.onnx 7 to 25 (later versions only add element types,
 * which the readers refuse where they appear) and through ai.onnx.ml 5. */
#define AI_ONNX_MIN    1
#define AI_ONNX_MAX    25
#define AI_ONNX_ML_MAX 5

static int check_opsets(compiler *c, const Onnx__ModelProto *mp)
{
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        const char *d = o->domain ? o->domain : "";
        int ml = strcmp(d, "ai.onnx.ml") == 0, core = !*d || strcmp(d, "ai.onnx") == 0;
        if (core && (o->version < AI_ONNX_MIN || o->version > AI_ONNX_MAX))
            return fail(c, NULL, "opset %lld of ai.onnx is outside what tabserve reads (%d to %d)",
                        (long long)o->version, AI_ONNX_MIN, AI_ONNX_MAX);
        if (ml && (o->version < 1 || o->version > AI_ONNX_ML_MAX))
            return fail(c, NULL, "opset %lld of ai.onnx.ml is outside what tabserve reads (1 to %d)",
                        (long long)o->version, AI_ONNX_ML_MAX);
    }
    return 0;
}

typedef struct {
    pthread_t th;
    int started;
    const Onnx__ModelProto *mp;
    const char *buf, *name;
    size_t len;
    const import_limits *lim;
    model_builder *m;
    char err[ERR_LEN];
} graph_job;

static void *graph_job_run(void *arg)
{
    graph_job *j = arg;
    j->m = onnx_graph_import(j->mp, j->buf, j->len, j->name, j->lim, j->err);
    return NULL;
}

/* protobuf-c's unpacking draws on the load's scratch (base/scratch.h) */
static void *scratch_pb_alloc(void *s, size_t n) { return scratch_alloc(s, n); }
static void scratch_pb_free(void *s, void *p) { scratch_free(s, p); }

/* Unpacking a tree ensemble takes ~10x the file (the arrays, and protobuf-c's
 * slabs that record each field while it scans); past the reserve, malloc. */
#define SCRATCH_PER_BYTE 32
#define SCRATCH_MIN      ((size_t)16 << 20)

model_builder *onnx_import(const char *buf, size_t len, const char *name, const import_limits *lim,
                           model_builder **reference, char *err)
{
    *err = 0;
    if (reference) *reference = NULL;
    compiler c = {.file = name, .err = err, .lim = lim, .norm_kind = -1};
    if (wire_check(&onnx__model_proto__descriptor, (const uint8_t *)buf, (const uint8_t *)buf + len,
                   MAX_NESTING, 1) < 0) {
        fail(&c, NULL, "messages nested deeper than %d levels: not an ONNX model tabserve reads",
             MAX_NESTING);
        return NULL;
    }
    scratch *sc = scratch_create(
        len < (SIZE_MAX - SCRATCH_MIN) / SCRATCH_PER_BYTE ? len * SCRATCH_PER_BYTE + SCRATCH_MIN : 0);
    /* without a reserve (no 2 MB pages here), malloc's own reuse serves better */
    ProtobufCAllocator in_scratch = {scratch_pb_alloc, scratch_pb_free, sc},
                       *pb_alloc = scratch_reserved(sc) ? &in_scratch : NULL;
    c.scratch = sc;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(pb_alloc, len, (const uint8_t *)buf);
    if (!mp) {
        scratch_destroy(sc);
        fail(&c, NULL, "not a valid ONNX model (the protobuf message does not parse)");
        return NULL;
    }
    model_builder *m = model_builder_new();
    int rc = m ? 0 : fail(&c, NULL, "out of memory");
    c.mb = m;
    c.g = mp->graph;
    if (!rc && !c.g) rc = fail(&c, NULL, "the model has no graph");
    int opsets_ok = 0; /* else the file is refused, not handed to the interpreter */
    if (!rc) opsets_ok = (rc = check_opsets(&c, mp)) == 0;
    /* the graph as the interpreter runs it, the compiled form's reference (probe.h),
     * read beside the compiler: both only read the unpacked message */
    graph_job graph = {.mp = mp, .buf = buf, .len = len, .name = name, .lim = lim};
    if (opsets_ok && !(graph.started = pthread_create(&graph.th, NULL, graph_job_run, &graph) == 0))
        graph_job_run(&graph);
    if (!rc) rc = read_inputs(&c);
    for (size_t i = 0; !rc && i < c.g->n_node; i++) rc = compile_node(&c, c.g->node[i]);
    if (!rc && !c.estimator_seen)
        rc = fail(&c, NULL, "the graph has no estimator (a linear model, trees or dense layers)");
    if (!rc && c.n_layers) {
        if (c.pending_bias) { /* MatMul without Add: a zero bias */
            c.pending_bias = 0;
        }
        rc = finish_dense(&c);
    }
    if (!rc && c.norm_used) { /* the estimator behind the Normalizer's division */
        predictor *inner = model_builder_take_predictor(m);
        normalize *z = normalize_create(inner, (norm_kind)c.norm_kind, c.norm_cols, c.n_norm);
        if (z) {
            model_builder_set_predictor(m, &z->base);
        } else {
            model_builder_set_predictor(m, inner);
            rc = fail(&c, NULL, "out of memory");
        }
    }
    /* the graph's answer: an output that carries the estimator's scores */
    int found = 0;
    for (size_t i = 0; !rc && i < c.g->n_output; i++) {
        value *v = find_value(&c, c.g->output[i]->name);
        if (v && (v->kind == V_SCORES || v->kind == V_DENSE)) found = 1;
    }
    if (!rc && !found) rc = fail(&c, NULL, "no graph output carries the estimator's scores or probabilities");
    /* what the compiler does not follow runs as the graph it is (onnx_graph.h);
     * a file that does not parse, or of a newer opset, is refused either way */
    if (graph.started) pthread_join(graph.th, NULL);
    char *ref_err = graph.err;
    model_builder *ref = NULL;
    if ((rc || lim->onnx_graph) && opsets_ok) {
        model_builder_free(m);
        m = graph.m;
        if (!m) snprintf(err, ERR_LEN, "%s", graph.err);
        rc = m ? 0 : -1;
        if (m) model_builder_output(m)->link = LINK_IDENTITY;
        *ref_err = 0;
    } else if (!rc) {
        model_builder_output(m)->link = c.link;
        if (c.scores && output_as_score(model_builder_output(m)) != 0)
            rc = -1, snprintf(err, ERR_LEN, "out of memory");
        if ((ref = reference ? graph.m : NULL) != NULL)
            model_builder_output(ref)->link = LINK_IDENTITY;
        else
            model_builder_free(graph.m);
        if (!reference) *ref_err = 0;
    }
    for (model_builder *each = rc ? NULL : m; each; each = each == m ? ref : NULL) {
        json_t *meta = json_pack("{s:{s:s,s:s,s:s,s:I,s:s,s:s}}", "source", "format", "onnx", "producer",
                                 mp->producer_name ? mp->producer_name : "", "producer_version",
                                 mp->producer_version ? mp->producer_version : "", "ir_version",
                                 (json_int_t)mp->ir_version, "file", name, "runs_as",
                                 onnx_graph_is(model_builder_predictor(each)) ? "graph" : "compiled");
        if (!meta || model_builder_set_metadata(each, meta) != 0) rc = fail(&c, NULL, "out of memory");
    }
    /* a graph the compiler follows but the interpreter does not: nothing to check it against */
    if (!rc && !ref && *ref_err &&
        json_object_set_new(json_object_get(model_builder_metadata(m), "source"), "unchecked",
                            json_string(ref_err)) != 0)
        rc = fail(&c, NULL, "out of memory");
    if (rc) {
        model_builder_free(ref);
        ref = NULL;
    }
    if (reference) *reference = ref;
    /* a numeric input no operator transforms keeps NaN for the estimator */
    for (size_t i = 0; i < c.n_values; i++) {
        free(c.values[i].name);
        free(c.values[i].cols);
    }
    free(c.values);
    free(c.norm_cols);
    free(c.est_feat);
    free(c.est_table);
    free(c.est_first);
    for (int k = 0; k < c.n_emb; k++) free(c.emb[k].table);
    for (int l = 0; l < c.n_layers; l++) {
        free(c.w[l]);
        free(c.b[l]);
    }
    if (!pb_alloc) onnx__model_proto__free_unpacked(mp, NULL); /* else all of it goes at once: */
    scratch_destroy(sc);
    if (rc && !*err) fail(&c, NULL, "the graph could not be compiled"); /* every failure says why; a net */
    if (rc) {
        model_builder_free(m);
        return NULL;
    }
    return m;
}
