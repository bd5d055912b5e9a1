/* output — what a model's numbers mean, and how they are written out.
 *   binary      one probability of the positive class: {"predict": p}
 *   regression  one number: {"predict": y}; of several targets (n_classes
 *               names in classes), a number each: {"predict": {"y0": 1.5, ...}}
 *   multiclass  a probability per class label: {"predict": {"setosa": 0.9, ...}},
 *               CSV columns predict_<label>
 * The link turns the predictor's margins into those numbers: sigmoid (binary),
 * softmax (multiclass), identity (regression, or a predictor that already
 * gives probabilities), exp (a log-link regression: XGBoost's count:poisson). */
#ifndef TABSERVE_OUTPUT_H
#define TABSERVE_OUTPUT_H

#include <stddef.h>

#include "model/hash.h"
#include "model/reader.h"

struct json_t;

typedef enum { TASK_BINARY, TASK_REGRESSION, TASK_MULTICLASS } output_task;
/* step: 1 where the margin is above 0, else 0 (XGBoost's binary:hinge) */
typedef enum { LINK_IDENTITY, LINK_SIGMOID, LINK_SOFTMAX, LINK_EXP, LINK_STEP } output_link;

#define OUTPUT_MAX_CLASSES 1024

typedef struct {
    output_task task;
    output_link link;
    char *label; /* the training label column */
    size_t
        n_classes; /* multiclass: (n_classes,) labels; a regression of several targets: their names; else 0 */
    char **classes;
    /* binary: the class whose probability is reported ("1" when NULL), and
     * whether that is the complement of the predictor's (1 - p) */
    char *positive;
    int complement;
    /* multiclass: the numbers are decision scores, one a class (an ONNX classifier
     * without a post transform), not probabilities; the class is still the highest */
    int scores;
} output_spec;

/* Numbers per row: n_classes for multiclass and several targets, else 1. */
int output_width(const output_spec *o);

/* In place over y (n, output_width): margins -> the numbers the task reports. */
void output_link_apply(const output_spec *o, float *y, int n);

/* One row's JSON value, `0.25` or `{"a": 0.7, "b": 0.3}`, into buf, which has
 * output_row_max(o) bytes. Returns the length (no NUL). */
size_t output_row_json(const output_spec *o, const float *y, char *buf);
size_t output_row_max(const output_spec *o);

/* CSV: the header's added columns (",predict" or ",predict_a,predict_b") and a
 * row's values (",0.25" ...). Each returns the length written into buf
 * (output_row_max(o) bytes for a row). */
size_t output_csv_header(const output_spec *o, char *buf, size_t len);
size_t output_csv_row(const output_spec *o, const float *y, char *buf);

/* "probability that Survived is 1", for people (GET /model, inspect). */
void output_meaning(const output_spec *o, char *buf, size_t len);

/* A binary output whose predictor answers a decision score, not a probability
 * (an ONNX linear or SVM classifier without a post transform): served as the
 * score it is, a regression labelled "score of class <positive>", so that no
 * route reads it as a probability (TF Serving's classify would answer 1 - s);
 * a multiclass one keeps its classes, marked as scores ("score of each class").
 * 0, or -1 out of memory. */
int output_as_score(output_spec *o);

/* Checks the spec against the predictor's output count. */
int output_check(const output_spec *o, int n_outputs, char *err);

int output_read(output_spec *o, reader *r, struct json_t *obj, const char *path);
struct json_t *output_to_json(const output_spec *o);
void output_hash(const output_spec *o, fnv *f);
void output_clear(output_spec *o);
const char *output_task_name(output_task t);
const char *output_link_name(output_link l);

float link_sigmoid(float z);

#endif
