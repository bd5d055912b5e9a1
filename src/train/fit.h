/* fit — what the fitting files of src/train/ share (not for outside it):
 * inputs.c fits the schema, feature steps and output, mlp_fit.c the MLP ensemble,
 * linear_fit.c the linear models, train.c the rest and the dispatch (train.h: train_fit). */
#ifndef TABSERVE_TRAIN_FIT_H
#define TABSERVE_TRAIN_FIT_H

#include <stddef.h>

#include "model/builder.h"
#include "train/gbt.h"
#include "train/train.h"

struct json_t;

/* The schema and feature steps fitted on the rows in use (use NULL: all):
 * numeric inputs first, then categorical ones, in the dataset's column order;
 * laid out (model_builder_columns), the output the task needs (a probability,
 * the classes', a value), no predictor yet. NULL with err. */
model_builder *train_fit_inputs(const dataset *d, const unsigned char *use, const train_options *o,
                                char *err);

/* The MLP ensemble (train_fit for TRAIN_MLP with hidden layers, or binary logistic
 * regression without). */
model *train_fit_mlp(const dataset *d, const float *y, const unsigned char *use, const train_options *o,
                     char *err);

/* The linear models (linear_fit.c): ridge for a regression (alpha 1), multinomial
 * logistic regression for classes. NULL with err. */
model *train_fit_ridge(const dataset *d, const float *y, const unsigned char *use, const train_options *o,
                       char *err);
model *train_fit_softmax(const dataset *d, const float *y, const unsigned char *use, const train_options *o,
                         char *err);

/* What every trained model's $.metadata says of its fit: the tabserve version, the
 * rows it was trained on and its hyper-parameters (taken: the reference is stolen). */
void train_metadata(struct json_t *meta, size_t rows, struct json_t *hyperparameters);

/* $.metadata's version, rows and hyper-parameters of a GBT fit. */
void train_gbt_metadata(struct json_t *meta, const gbt_options *go, int rounds, size_t n);

#endif
