/* model — a model as a composition, whatever its origin:
 *
 *   inputs (schema.h) -> feature steps (features.h) -> predictor (predictor.h) -> output (output.h)
 *
 * plus metadata (training rows, hyper-parameters, CV figures) and a content
 * hash. Loading runs separate steps, in order, none as a side effect of
 * another: parse the file, validate the parts against each other, lay out the
 * feature columns, prepare the predictor's kernels, hash. Scoring has one entry,
 * model_predict, used by the server, `predict`, `eval` and cross-validation.
 * Not here: reading requests and rows (encode.h), arithmetic (src/estimators/),
 * fitting (src/train/). */
#ifndef TABSERVE_MODEL_H
#define TABSERVE_MODEL_H

#include <math.h>
#include <stddef.h>

#include "model/features.h"
#include "model/output.h"
#include "model/predictor.h"
#include "model/schema.h"

struct json_t;

#define TABSERVE_VERSION "0.2.0"

typedef struct model {
    schema schema;
    feature_steps features;
    predictor *predictor;
    output_spec output;
    struct json_t *metadata; /* owned object: training rows, hyper-parameters, metrics, ... */
    int n_features;          /* the predictor's input width = features.n_columns */
    int n_outputs;           /* numbers per row after the link = output_width(&output) */
    char hash[32];           /* "fnv1a64:<16 hex>" over inputs, features, predictor and output */
    /* The background sample explanations are measured against: $.metadata.background
     * (rows of input values, chosen by the trainer or given in a schema file),
     * encoded by model_assemble into (n_background, n_features). */
    float *background;
    int n_background;
} model;

/* Frees m and what it owns (NULL: nothing). */
void model_free(model *m);

/* The load steps after parsing, also for a model built in memory (the trainer,
 * the version-1 reader), in order: validate the parts against each other
 * (feature steps against the inputs, the output against the predictor's output
 * count); lay out the columns (and check the predictor takes exactly them);
 * prepare the predictor's derived state and the background's columns; hash.
 * Returns 0 or -1 with err. */
int model_assemble(model *m, char *err);
/* The background's columns again, after $.metadata.background changed. */
int model_encode_background(model *m, char *err);
/* The same for a large model: the content hash is computed on a second thread
 * while prepare runs (a 500-tree ensemble: ~3 ms each). */
int model_assemble_large(model *m, char *err);

/* The one scoring entry: x (n, n_features) -> y (n, n_outputs), the
 * predictor then the output's link. scratch: model_scratch_floats(m, n). */
void model_predict(const model *m, const float *x, int n, float *scratch, float *y);
size_t model_scratch_floats(const model *m, int n);

/* Every prediction is a finite number or an error: checks one row's outputs y
 * (n_outputs,) for NaN or infinity (huge finite inputs can overflow inside an
 * estimator), and if one is found names the input to blame — one whose column x
 * is NaN, else the largest column — as encode does ("$.Age: ...", or "column
 * Age: ..." when where is NULL). Returns 0, or -1 with err and *bad_input. */
int model_check_output(const model *m, const float *x, const float *y, const char *where, int *bad_input,
                       char *err);

/* The check's fast part: are all of one row's outputs finite? */
static inline int model_output_finite(const model *m, const float *y)
{
    for (int j = 0; j < m->n_outputs; j++)
        if (!isfinite(y[j])) return 0;
    return 1;
}

/* Buffers for scoring up to `cap` rows at a time: fill rows of x, then run. */
typedef struct {
    const model *m;
    int cap;
    float *x;       /* (cap, n_features) */
    float *y;       /* (cap, n_outputs) */
    float *scratch; /* model_scratch_floats(m, cap) */
} model_batch;

int model_batch_init(model_batch *b, const model *m, int cap, char *err);
/* Buffers that fit any model within the given sizes (a server's models share
 * one set); set b->m to the model before filling rows. */
int model_batch_init_sized(model_batch *b, int cap, int n_features, int n_outputs, size_t scratch_floats,
                           char *err);
void model_batch_free(model_batch *b);
static inline float *model_batch_row(model_batch *b, int i) { return b->x + (size_t)i * b->m->n_features; }
/* Scores rows 0..n-1 of b->x into b->y. */
void model_batch_run(model_batch *b, int n);

#endif
