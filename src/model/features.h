/* features — the feature steps: an ordered list of column transforms that turn
 * validated input values (schema.h) into the estimator's input vector. Each
 * feature reads one input and runs a short chain of steps on its value:
 *
 *   impute(v)           NaN -> v (a number, or a category's index)
 *   log1p               log1p(max(value, 0)): a long right tail compressed
 *   standardize(m, s)   (value - m) / s
 *   scale(o, s)         (value - o) * s in 32-bit floats, as ONNX's Scaler (and
 *                       Sub, Add, Mul by constants) computes it: imported
 *                       models score exactly as their runtime does
 *   then it writes its columns, by the chain's last step:
 *   one_hot             n_vocab columns, 1 at the category's index (zeros when
 *                       missing or unknown)
 *   missing_indicator   1 column: 1 if the value is NaN here, else 0
 *   category_index      1 column: the category's index (ordinal code)
 *   passthrough         1 column: the value as it is, NaN kept (for estimators
 *                       that route missing values themselves, as trees do)
 *   anything else       1 column: the value
 * Arithmetic is in double, rounded to float once per column. */
#ifndef TABSERVE_FEATURES_H
#define TABSERVE_FEATURES_H

#include <stddef.h>

#include "model/hash.h"
#include "model/reader.h"
#include "model/schema.h"

struct json_t;

typedef enum {
    STEP_IMPUTE,
    STEP_LOG1P,
    STEP_STANDARDIZE,
    STEP_ONE_HOT,
    STEP_MISSING_INDICATOR,
    STEP_CATEGORY_INDEX,
    STEP_PASSTHROUGH,
    STEP_SCALE,
} step_op;

#define FEATURE_MAX_STEPS 8

typedef struct {
    step_op op;
    double a, b; /* impute: a = the value; standardize: a = mean, b = std; scale: a = offset, b = scale */
} feature_step;

typedef struct {
    size_t input; /* index into the schema's inputs */
    int n_steps;
    feature_step steps[FEATURE_MAX_STEPS];
    /* derived by features_layout: the columns it writes, how many leading steps
     * transform the value, and the step that writes (STEP_PASSTHROUGH: the value) */
    int offset, width, n_scalar;
    step_op write;
} feature;

typedef struct {
    size_t n;
    feature *f;
    int n_columns; /* features_layout */
    /* set by the model when its predictor has no answer for an infinite
     * column: an infinite input is then refused as an overflow is */
    int finite_columns;
} feature_steps;

/* Appends a feature of input `input` with the given steps. Returns 0 or -1 (memory). */
int features_add(feature_steps *fs, size_t input, const feature_step *steps, int n_steps);

#define FEATURES_MAX_COLUMNS (1 << 20)

/* Checks every chain against the schema (one_hot and category_index need a
 * vocabulary, the step that writes comes last, std > 0, imputed categories
 * exist, at most FEATURES_MAX_COLUMNS columns). Returns 0 or -1 with err naming
 * $.features[i]. */
int features_validate(const feature_steps *fs, const schema *s, char *err);
/* Lays out the columns of validated features (offset, width, n_columns). */
void features_layout(feature_steps *fs, const schema *s);

/* values (n_inputs,) -> x (n_columns,). Returns -1, or the index of the first
 * feature whose column overflowed to an infinity (a finite input far past what
 * a 32-bit float holds once transformed): the caller refuses that row. */
int features_apply(const feature_steps *fs, const double *values, float *x);

/* Reads $.features (format 2); category imputations are read as categories. */
int features_read(feature_steps *fs, const schema *s, reader *r, struct json_t *arr, const char *path);
struct json_t *features_to_json(const feature_steps *fs, const schema *s);
void features_hash(const feature_steps *fs, fnv *f);
void features_clear(feature_steps *fs);

/* "impute(28) -> standardize(29.7, 13)" into buf, for inspect. */
void feature_describe(const feature *f, const schema *s, char *buf, size_t len);

#endif
