/* train — fitting a model to a dataset, for the task its label asks (two
 * classes, classes, a regression): the input schema and feature steps
 * (statistics, vocabularies, transforms), then an MLP ensemble by Adam with L2
 * and early stopping, gradient-boosted trees, their blend, or a linear model
 * (logistic, softmax, ridge); a held-out figure, cross-validation and the
 * choice among kinds (auto). Deterministic:
 * the same data, options and seed give the same model, bit for bit, on one machine. */
#ifndef TABSERVE_TRAIN_H
#define TABSERVE_TRAIN_H

#include <stddef.h>
#include <stdio.h>

#include "data/dataset.h"
#include "estimators/mlp.h"
#include "model/model.h"
#include "train/evaluate.h"
#include "train/gbt.h"

struct json_t;

#define TRAIN_MAX_HIDDEN 8

typedef enum { TRAIN_MLP, TRAIN_GBT, TRAIN_BLEND } train_kind;

typedef struct {
    size_t n_numeric, n_categorical; /* the dataset's columns: label, numeric..., categorical... */
    train_kind kind;                 /* --model mlp (the ensemble; --hidden "" linear), gbt or blend */
    gbt_options gbt;                 /* --model gbt */
    int hidden[TRAIN_MAX_HIDDEN];    /* hidden layer widths; none = logistic regression */
    int n_hidden;
    activation hidden_act;
    int epochs;          /* at most this many passes; early stopping usually ends sooner */
    int patience;        /* epochs without validation improvement before stopping */
    int batch;           /* minibatch rows */
    double lr;           /* Adam step size */
    double l2;           /* weight decay on weights (not biases) */
    double val_fraction; /* share of the training rows held out for early stopping */
    int ensemble;        /* members, each early-stopped on its own 1/N of the rows; merged exactly */
    int auto_features;   /* log1p for skewed non-negative numerics; indicator if values go missing */
    double blend_mlp;    /* --model blend: the MLP's weight in the logit mean (the trees': 1 - it) */
    unsigned long long seed;
    struct progress_s *progress; /* epochs, on stderr once a second (NULL: silent) */
    /* a multiclass label (gbt.objective GBT_MULTICLASS): y holds class indexes
     * into these names, which the model's output keeps */
    char **classes;
    int n_classes;
} train_options;

/* What the label asks for, from the options: a regression (gbt.objective
 * GBT_REGRESSION), classes (n_classes >= 3), or a binary label (0/1). */
typedef enum { TASK_OF_BINARY, TASK_OF_MULTICLASS, TASK_OF_REGRESSION } train_task;
train_task train_task_of(const train_options *o);

void train_options_default(train_options *o);
/* --model blend's own defaults: the default model's settings (docs/training.md, "The
 * default model"), which the other flags then override. */
void train_options_blend_default(train_options *o);

/* Fits a model on the rows r with use[r] != 0 (all rows when use is NULL) of d,
 * whose column 0 is the label y (n_rows,: 0/1, a class index, or a value, by
 * train_task_of) and columns 1.. are the inputs.
 * Returns a model with metadata filled, or NULL with err. */
model *train_fit(const dataset *d, const float *y, const unsigned char *use, const train_options *o,
                 char *err);

/* fold_col for folds by row index (row mod k) when no --fold-by column is given */
#define TRAIN_FOLD_BY_ROW ((size_t)-1)

/* K-fold cross-validation with fold = (integer in column fold_col) mod k: fits on
 * k-1 folds, scores the held-out one. Writes a line per fold and the summary
 * line `cv accuracy=... logloss=... auc=...` (classes: no auc; a regression:
 * `cv r2=... rmse=... mae=...`) to report (if not NULL); the
 * summary (means over folds) goes to *mean (if not NULL) and, with the per-fold
 * figures, into the returned JSON object (NULL with err on failure). */
struct json_t *train_cross_validate(const dataset *d, const float *y, size_t fold_col, long k,
                                    const train_options *o, FILE *report, metrics *mean, char *err);

/* The figure printed by default: a seeded `fraction` of the rows held out, the
 * model fitted on the rest and scored on them (by task: accuracy, log-loss and
 * AUC; accuracy and log-loss; R^2, RMSE and MAE). The line goes to report (if
 * not NULL), the figures into the returned object (NULL with err). */
struct json_t *train_held_out(const dataset *d, const float *y, double fraction, const train_options *o,
                              FILE *report, char *err);

/* --model gbt without --cv: the CSV file read straight into float columns
 * (numbers names[0..n_numeric), then categories), 4 bytes a cell, and freed
 * once binned: large data trains in about 1.3x its floats. */
model *train_gbt_csv(const char *path, const char *label, const char *const *names, size_t n_numeric,
                     size_t n_categorical, const train_options *o, char *err);

/* --model auto: each candidate (MLP ensemble, GBT, their blend; and the linear
 * model unless the label is binary) cross-validated on the same folds; the best
 * by log-loss (a regression: squared error) is fitted on all rows. A nested
 * estimate (each outer fold's candidate chosen by CV on the other folds only)
 * says how good the choice is without flattering it. The choice, every
 * candidate's CV figures and the nested estimate go into the model's metadata
 * and, line by line, to report. NULL with err. */
model *train_auto(const dataset *d, const float *y, size_t fold_col, long k, const train_options *o,
                  FILE *report, char *err);

/* For tests: mean BCE + l2/2 |W|^2 of the network m (last layer: one sigmoid
 * unit) on x (n, n_features), y (n,), and its gradient into grad, laid out
 * layer by layer as (w, b). */
size_t train_param_count(const mlp *m);
double train_loss_grad(const mlp *m, const float *x, const float *y, int n, double l2, float *grad);

/* The background sample for explanations: TRAIN_BACKGROUND_ROWS rows of d
 * (a seeded shuffle, kept in file order), their values of m's inputs written
 * to m->metadata.background as request objects and encoded (model_assemble).
 * Explanations of models that have no exact tree or linear form are measured
 * against these rows. Returns 0 or -1 with err. */
#define TRAIN_BACKGROUND_ROWS 24
int train_background(model *m, const dataset *d, unsigned long long seed, char *err);

#endif
