/* model — the model file: its schema, loading with full validation, saving, hashing.
 * A model is five things: the inputs (how raw values become feature columns), the
 * network (dense layers), the output, and metadata. Nothing is implicit: every
 * statistic the encoder needs is in the file. Not here: encoding (features.h),
 * arithmetic (nn.h), fitting (train.h). */
#ifndef TABSERVE_MODEL_H
#define TABSERVE_MODEL_H

#include <stddef.h>

struct json_t;

#define MODEL_FORMAT         "tabserve-model"
#define MODEL_FORMAT_VERSION 1
#define TABSERVE_VERSION     "0.1.0"

typedef enum { INPUT_NUMERIC, INPUT_CATEGORICAL } input_kind;
typedef enum { VALUE_STRING, VALUE_INTEGER } value_type;
typedef enum { MISSING_REQUIRED, MISSING_IMPUTE } missing_rule;
typedef enum { UNKNOWN_REJECT, UNKNOWN_ZEROS } unknown_rule;
typedef enum { TRANSFORM_NONE, TRANSFORM_LOG1P } numeric_transform;
typedef enum { ACT_LINEAR, ACT_RELU, ACT_TANH, ACT_SIGMOID } activation;

typedef struct {
    char *name;
    input_kind kind;
    missing_rule missing;
    int offset; /* first feature column this input fills */
    int width;  /* number of feature columns it fills */
    /* numeric: x -> (transform(x) - mean) / std, then a 0/1 missing column if asked */
    numeric_transform transform;
    double impute; /* raw value used when missing (MISSING_IMPUTE) */
    int missing_indicator;
    double mean, std;
    /* categorical: one-hot over the vocabulary */
    value_type vtype;
    unknown_rule unknown;
    size_t n_vocab;
    char **vocab;         /* (n_vocab,) the values; integers as decimal text */
    long long *vocab_int; /* (n_vocab,) VALUE_INTEGER only */
    size_t impute_index;  /* vocabulary entry used when missing (MISSING_IMPUTE) */
} model_input;

typedef struct {
    int n_in, n_out;
    activation act;
    float *w; /* (n_in, n_out) row-major: y = act(x @ w + b) */
    float *b; /* (n_out,) */
    /* derived by model_finalize, for one-row forward passes: for each block of 8
     * output columns, the input rows with a non-zero weight in it (ensembles
     * merged block-diagonally are mostly zero); NULL when not worth it */
    int *block_start; /* (n_out / 8 + 1,) offsets into block_rows */
    int *block_rows;  /* (block_start[n_out / 8],) */
} model_layer;

typedef struct model {
    size_t n_inputs;
    model_input *inputs;
    int n_features; /* width of the encoded feature vector = layers[0].n_in */
    size_t n_layers;
    model_layer *layers;
    int max_width;           /* widest layer input or output, for scratch buffers */
    char *label;             /* name of the training label column */
    struct json_t *metadata; /* owned object: training rows, hyper-parameters, metrics, ... */
    char hash[32];           /* "fnv1a64:<16 hex>" over inputs, network and output */
} model;

/* Loads and validates a model file. On failure returns NULL with err naming the
 * file, the JSON path and what was expected. The caller frees with model_free. */
model *model_load_file(const char *path, char *err);
model *model_load_buffer(const char *buf, size_t len, const char *name, char *err);
void model_free(model *m);

/* Lays out offsets/widths, checks shapes and fills m->hash. Used by the loader and
 * by the trainer before saving. Returns 0 or -1 with err. */
int model_finalize(model *m, char *err);

/* Rebuilds l's block index from its weights (after they change). Returns 0 or -1 (memory). */
int model_index_blocks(model_layer *l);

/* Writes the model as JSON through a temporary file renamed into place. */
int model_save(const model *m, const char *path, char *err);

/* The model without its weights: inputs, output, network shape, metadata, hash.
 * Returns a new reference (caller json_decref's it), NULL on allocation failure. */
struct json_t *model_describe(const model *m);

const char *activation_name(activation a);

#endif
