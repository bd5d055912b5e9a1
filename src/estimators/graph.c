/* graph — the ONNX interpreter as a predictor (graph.h): a program (graph_impl.h)
 * run node by node on tensors.
 *
 * Values are tensors of four element kinds: float (ONNX's float and double,
 * computed in 32-bit floats as ONNX Runtime computes float models), int
 * (every integer type), bool, and string — a string is its index in the
 * graph's string pool (every string constant of the graph), or -1 for one the
 * graph never names, so string equality is integer equality. The narrow types
 * (float16, bfloat16, the float8s, int4, ...: graph_narrow.c) are floats and
 * ints exact in their type where they are made (initializers, inputs, Cast, a
 * float16 answer); the operators compute on them in float without rounding
 * each answer down, as ONNX Runtime's CPU provider widens a half-precision
 * graph (docs/decisions/0013). A run allocates
 * the tensors it makes and frees them after, so one program serves every
 * thread.
 *
 * A run fails only where ONNX Runtime fails a batch — it cannot after the
 * loader's dry runs, except on data it could not foresee: an index out of range
 * (Gather) gives NaN there, and so a row that gets no finite prediction, which
 * the caller reports as that row's error. The program is made by
 * formats/onnx_graph.c; the operators are graph_ops.c and graph_ops_ml.c. */
#include "estimators/graph.h"

#include <jansson.h>

#include "estimators/graph_impl.h"

/* ---- a run -------------------------------------------------------------------- */

int onnx_graph_run_node(run_ctx *r, const gnode *g)
{
    switch (g->op) {
    case OP_IDENTITY: return onnx_op_identity(r, g);
    case OP_CAST:
    case OP_CASTLIKE: return onnx_op_cast(r, g);
    case OP_RESHAPE: return onnx_op_reshape(r, g);
    case OP_FLATTEN: return onnx_op_flatten(r, g);
    case OP_SQUEEZE: return onnx_op_squeeze(r, g);
    case OP_UNSQUEEZE: return onnx_op_unsqueeze(r, g);
    case OP_CONCAT: return onnx_op_concat(r, g);
    case OP_GATHER: return onnx_op_gather(r, g);
    case OP_MATMUL: return onnx_op_matmul(r, g);
    case OP_GEMM: return onnx_op_gemm(r, g);
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV: return op_arith(r, g);
    case OP_RELU:
    case OP_SIGMOID:
    case OP_TANH: return onnx_op_unary(r, g);
    case OP_UNARY_MATH: return onnx_op_math(r, g);
    case OP_DROPOUT: return onnx_op_dropout(r, g);
    case OP_POW: return onnx_op_pow(r, g);
    case OP_VARIADIC: return onnx_op_variadic(r, g);
    case OP_COMPARE: return onnx_op_compare(r, g);
    case OP_LOGIC:
    case OP_NOT: return onnx_op_logic(r, g);
    case OP_CLIP: return onnx_op_clip(r, g);
    case OP_BATCHNORM: return onnx_op_batchnorm(r, g);
    case OP_BINARIZER: return onnx_op_binarizer(r, g);
    case OP_SVM_CLS:
    case OP_SVM_REG: return onnx_op_svm(r, g);

    case OP_SOFTMAX: return onnx_op_softmax(r, g);
    case OP_ARGMAX: return onnx_op_argmax(r, g);
    case OP_WHERE: return op_where(r, g);
    case OP_SHAPE: return onnx_op_shape(r, g);
    case OP_SLICE: return onnx_op_slice(r, g);
    case OP_TRANSPOSE: return onnx_op_transpose(r, g);
    case OP_REDUCE: return onnx_op_reduce(r, g);
    case OP_LAYERNORM: return onnx_op_layernorm(r, g);
    case OP_SIZE: return onnx_op_size(r, g);
    case OP_ISNAN: return onnx_op_isnan(r, g);
    case OP_PRELU: return onnx_op_prelu(r, g);
    case OP_CONSTANT_OF_SHAPE: return onnx_op_constant_of_shape(r, g);
    case OP_EXPAND: return onnx_op_expand(r, g);
    case OP_SPLIT: return onnx_op_split(r, g);
    case OP_TOPK: return onnx_op_topk(r, g);
    case OP_GATHER_ELEMENTS: return onnx_op_gather_elements(r, g);
    case OP_IMPUTER: return onnx_op_imputer(r, g);
    case OP_SCALER: return onnx_op_scaler(r, g);
    case OP_ONEHOT: return onnx_op_onehot(r, g);
    case OP_LABELENC: return onnx_op_labelenc(r, g);
    case OP_CATEGORY_MAPPER: return onnx_op_category_mapper(r, g);
    case OP_NORMALIZER: return onnx_op_normalizer(r, g);
    case OP_LINCLS:
    case OP_LINREG: return onnx_op_linear(r, g);
    case OP_TREECLS:
    case OP_TREEREG:
    case OP_TREE_ENSEMBLE: return onnx_op_trees(r, g);
    case OP_EXTRACT: return onnx_op_extract(r, g);
    case OP_VECTORIZE: return onnx_op_vectorize(r, g);
    case OP_ZIPMAP: return onnx_op_zipmap(r, g);
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
                    t->f[at] = gi->narrow ? onnx_narrow_round(gi->narrow, v, 1, 0) : v;
                else if (gi->type == EL_STRING)
                    t->i[at] = v >= 0 && p->cat_pool && p->cat_pool[col] ? p->cat_pool[col][(int)v] : -1;
                else
                    t->i[at] = gi->type == EL_BOOL ? v != 0 : onnx_narrow_wrap(gi->narrow, onnx_to_int(v));
            }
        t->narrow = gi->narrow;
    }
    return 0;
}

/* Runs the graph on n rows; the slots hold every value after (the caller releases them). */
int onnx_graph_run(const program *p, const float *x, int n, tensor *slots, char *err)
{
    run_ctx r = {p, slots, err};
    for (size_t s = 0; s < p->n_slots; s++) slots[s] = p->consts[s];
    if (feed(&r, x, n) != 0) return -1;
    for (size_t k = 0; k < p->n_nodes; k++)
        if (onnx_graph_run_node(&r, &p->nodes[k]) != 0) return -1;
    return 0;
}

void onnx_graph_release(tensor *slots, size_t n)
{
    for (size_t s = 0; s < n; s++) tensor_release(&slots[s]);
}

static void graph_predict(const predictor *pr, const float *x, int n, float *scratch, float *y)
{
    (void)scratch;
    const program *p = (const program *)pr;
    tensor *slots = calloc(p->n_slots, sizeof *slots);
    int w = pr->n_outputs, step = p->one_row ? 1 : n; /* rows a run */
    for (int at = 0; at < n; at += step) {
        int ok = slots && onnx_graph_run(p, x + (size_t)at * p->n_schema, step, slots, NULL) == 0;
        const tensor *a = ok ? &slots[p->answer] : NULL;
        ok = ok && a->type == EL_FLOAT && a->n == (size_t)step * (size_t)p->answer_width;
        for (int q = 0; q < step; q++)
            for (int j = 0; j < w; j++) {
                float v = ok ? a->f[(size_t)q * (size_t)p->answer_width +
                                    (size_t)(p->answer_col < 0 ? j : p->answer_col)]
                             : NAN;
                /* a float16 output: the value the graph answers in its type */
                y[(size_t)(at + q) * (size_t)w + (size_t)j] =
                    p->answer_narrow ? onnx_narrow_round(p->answer_narrow, v, 1, 0) : v;
            }
        if (slots) onnx_graph_release(slots, p->n_slots);
    }
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
    predictor_free(fo->e ? &fo->e->base : NULL);
    free(fo->span_at);
    free(fo->w_first);
    free(fo->w_count);
    free(fo->w_class);
    free(fo->w_value);
    free(fo->base);
    free(fo);
}

void onnx_graph_program_free(program *p)
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

static void graph_free(predictor *pr) { onnx_graph_program_free((program *)pr); }

const predictor_ops onnx_graph_ops = {"onnx_graph",   graph_predict, graph_scratch,
                                      graph_prepare,  graph_to_json, graph_hash,
                                      graph_describe, graph_free,    NULL /* any operator: no infinity */};

int onnx_graph_is(const predictor *p) { return p && p->ops == &onnx_graph_ops; }
