/* train — the options' defaults and train_fit, the one entry that fits any
 * kind for any task: gradient-boosted trees and the blend here; the MLP
 * ensemble in mlp_fit.c; the linear models (ridge, multinomial) in
 * linear_fit.c; the inputs in inputs.c. */
#define _POSIX_C_SOURCE 200809L
#include "train/train.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "data/score.h"
#include "estimators/blend.h"
#include "estimators/linear.h"
#include "estimators/trees.h"
#include "model/builder.h"
#include "model/encode.h"
#include "train/fit.h"

train_task train_task_of(const train_options *o)
{
    return o->gbt.objective == GBT_REGRESSION ? TASK_OF_REGRESSION
           : o->n_classes >= 3                ? TASK_OF_MULTICLASS
                                              : TASK_OF_BINARY;
}

void train_options_default(train_options *o)
{
    memset(o, 0, sizeof *o);
    o->hidden[0] = 16;
    o->hidden[1] = 8;
    o->n_hidden = 2;
    o->hidden_act = ACT_RELU;
    o->epochs = 200;
    o->patience = 20;
    o->batch = 32;
    o->lr = 0.003;
    o->l2 = 3e-3;
    o->ensemble = 8;
    o->val_fraction = 0.2;
    o->auto_features = 1;
    o->blend_mlp = 0.5;
    o->seed = 1;
    o->kind = TRAIN_MLP;
    gbt_options_default(&o->gbt);
}

void train_options_blend_default(train_options *o)
{
    train_options_default(o);
    o->kind = TRAIN_BLEND;
    /* chosen by 5-fold CV on Titanic (docs/maintainers/gbt.md, "The default model is a
     * blend"): a small MLP ensemble and 128 trees keep a request under a
     * microsecond and an explanation under 50 us */
    o->blend_mlp = 0.3;
    o->ensemble = 4;
    o->gbt.trees = 128;
    o->gbt.max_depth = 5;
    o->gbt.learning_rate = 0.08;
    o->gbt.min_child_weight = 5;
    o->gbt.l2 = 0.1;
    o->gbt.colsample = 0.6;
    o->gbt.subsample = 0.8;
    o->gbt.count_split = 1;
    o->gbt.early_stopping = 0;
}

/* ---- fitting ------------------------------------------------------------ */

void train_metadata(json_t *meta, size_t rows, json_t *hyperparameters)
{
    json_object_set_new(meta, "tabserve_version", json_string(TABSERVE_VERSION));
    json_object_set_new(meta, "training_rows", json_integer((json_int_t)rows));
    json_object_set_new(meta, "hyperparameters", hyperparameters);
}

void train_gbt_metadata(json_t *meta, const gbt_options *go, int rounds, size_t n)
{
    train_metadata(meta, n,
                   json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:f,s:f,s:f,s:f,s:f,s:i,s:f,s:i,s:i,s:I}", "model",
                             "gbt", "split_gain", go->count_split ? "count" : "hessian", "objective",
                             go->objective == GBT_BINARY       ? "binary"
                             : go->objective == GBT_MULTICLASS ? "multiclass"
                                                               : "regression",
                             "trees", go->trees, "trees_kept", rounds, "max_depth", go->max_depth,
                             "learning_rate", go->learning_rate, "min_child_weight", go->min_child_weight,
                             "l2", go->l2, "subsample", go->subsample, "colsample", go->colsample,
                             "early_stopping", go->early_stopping, "val_fraction", go->val_fraction,
                             "max_bins", go->max_bins, "bag", go->bag, "seed", (json_int_t)go->seed));
}

/* Gradient-boosted trees: the same inputs, but numbers pass through (the trees
 * route missing values) and categories become their index (the trees split on
 * sets of them); an unknown category counts as missing. */
static model *fit_gbt(const dataset *d, const float *y, const unsigned char *use, const train_options *o,
                      char *err)
{
    model_builder *mb = train_fit_inputs(d, use, o, err);
    if (!mb) return NULL;
    schema *s = model_builder_inputs(mb);
    feature_steps *fs = model_builder_features(mb);
    const model *m = NULL;
    size_t F = s->n_inputs, n = 0;
    int *is_cat = calloc(F, sizeof *is_cat), *n_cat = calloc(F, sizeof *n_cat);
    float *x = malloc((d->n_rows ? d->n_rows : 1) * F * sizeof *x),
          *yy = malloc((d->n_rows + 1) * sizeof *yy);
    if (!is_cat || !n_cat || !x || !yy) {
        err_set(err, "out of memory");
        goto fail;
    }
    features_clear(fs); /* the MLP's steps (impute, standardize, one-hot) are not wanted */
    for (size_t i = 0; i < F; i++) {
        schema_input *in = &s->inputs[i];
        is_cat[i] = in->n_vocab > 0;
        n_cat[i] = (int)in->n_vocab;
        if (in->n_vocab) in->unknown = UNKNOWN_MISSING;
        feature_step st = {in->n_vocab ? STEP_CATEGORY_INDEX : STEP_PASSTHROUGH, 0, 0};
        if (features_add(fs, i, &st, 1) != 0) {
            err_set(err, "out of memory");
            goto fail;
        }
    }
    if (!(m = model_builder_columns(mb, err))) goto fail;
    for (size_t r = 0; r < d->n_rows; r++) {
        if (use && !use[r]) continue;
        if (score_encode_row(m, d, r, 1, x + n * F, err) != 0) goto fail;
        yy[n++] = y[r];
    }
    gbt_options go = o->gbt;
    go.seed = o->seed;
    int rounds = 0;
    tree_ensemble *e = gbt_fit(x, yy, n, (int)F, is_cat, n_cat, &go, &rounds, err);
    if (!e) goto fail;
    model_builder_set_predictor(mb, &e->base); /* the output is the task's (train_fit_inputs) */
    train_gbt_metadata(model_builder_metadata(mb), &go, rounds, n);
    free(is_cat);
    free(n_cat);
    free(x);
    free(yy);
    return model_builder_finish(mb, err);
fail:
    free(is_cat);
    free(n_cat);
    free(x);
    free(yy);
    model_builder_free(mb);
    return NULL;
}

/* The MLP ensemble and the trees, fitted on the same rows, averaged in logit
 * space (weights blend_mlp and 1 - blend_mlp; 0.5 each by default): the MLP's
 * inputs and columns, then one column per input for the trees (the raw value,
 * or the category's index), one blend predictor. */
static model *fit_blend(const dataset *d, const float *y, const unsigned char *use, const train_options *o,
                        char *err)
{
    train_options om = *o, og = *o;
    om.kind = TRAIN_MLP;
    og.kind = TRAIN_GBT;
    model *fit_mlp = train_fit(d, y, use, &om, err);
    model *fit_trees = fit_mlp ? train_fit(d, y, use, &og, err) : NULL;
    if (!fit_trees) {
        model_free(fit_mlp);
        return NULL;
    }
    int mlp_width = fit_mlp->n_features, trees_width = fit_trees->n_features;
    /* both taken apart again: the MLP's inputs, columns and output, then the
     * trees' columns on the same inputs, one blend of the two predictors */
    model_builder *mb = model_builder_from(fit_mlp), *tb = model_builder_from(fit_trees);
    if (!mb || !tb) {
        err_set(err, "out of memory");
        model_builder_free(mb);
        model_builder_free(tb);
        return NULL;
    }
    feature_steps *fs = model_builder_features(mb);
    const feature_steps *tfs = model_builder_features(tb);
    int rc = 0;
    for (size_t i = 0; i < tfs->n && rc == 0; i++)
        rc = features_add(fs, tfs->f[i].input, tfs->f[i].steps, tfs->f[i].n_steps);
    blend_member members[2] = {{model_builder_predictor(mb), 0, (float)o->blend_mlp},
                               {model_builder_predictor(tb), mlp_width, (float)(1 - o->blend_mlp)}};
    int n_outputs = train_task_of(o) == TASK_OF_MULTICLASS ? o->n_classes : 1;
    blend *b = rc == 0 ? blend_create(mlp_width + trees_width, n_outputs, members, 2) : NULL;
    json_t *mlp_meta = model_builder_metadata(mb), *trees_meta = model_builder_metadata(tb);
    json_t *meta = b ? json_pack("{s:I,s:{s:s,s:f,s:O,s:O}}", "training_rows",
                                 json_integer_value(json_object_get(mlp_meta, "training_rows")),
                                 "hyperparameters", "model", "blend", "mlp_weight", o->blend_mlp, "mlp",
                                 json_object_get(mlp_meta, "hyperparameters"), "gbt",
                                 json_object_get(trees_meta, "hyperparameters"))
                     : NULL;
    if (!meta) {
        err_set(err, "out of memory");
        if (b) predictor_free(&b->base);
        model_builder_free(mb);
        model_builder_free(tb);
        return NULL;
    }
    /* the members now belong to the blend */
    model_builder_take_predictor(mb);
    trees_drop_covers(
        (tree_ensemble *)model_builder_take_predictor(tb)); /* explained by interventional values */
    model_builder_free(tb);
    model_builder_set_predictor(mb, &b->base);
    model_builder_set_metadata(mb, meta);
    return model_builder_finish(mb, err);
}

model *train_fit(const dataset *d, const float *y, const unsigned char *use, const train_options *o,
                 char *err)
{
    if (o->kind == TRAIN_GBT) return fit_gbt(d, y, use, o, err);
    if (o->kind == TRAIN_BLEND) return fit_blend(d, y, use, o, err);
    /* the linear model (an MLP without hidden layers): ridge for a regression,
     * multinomial for classes, logistic regression by the MLP's own fit for two */
    if (o->n_hidden == 0 && train_task_of(o) == TASK_OF_REGRESSION) return train_fit_ridge(d, y, use, o, err);
    if (o->n_hidden == 0 && train_task_of(o) == TASK_OF_MULTICLASS)
        return train_fit_softmax(d, y, use, o, err);
    return train_fit_mlp(d, y, use, o, err);
}
