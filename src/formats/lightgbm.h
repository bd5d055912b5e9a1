/* lightgbm — a LightGBM text model (booster.save_model("m.txt"), format v2
 * to v4) as a tabserve model, onto the same tree ensemble and kernels as
 * XGBoost's:
 *
 *   boosting    gbdt, goss, dart (leaves already scaled), rf (average_output:
 *               the trees' mean)
 *   objective   binary (sigmoid:S scales the margin), cross_entropy (sigmoid),
 *               multiclass (softmax), multiclassova (a sigmoid per class), the
 *               regression family (l2, l1, huber, fair, quantile, mape:
 *               identity), poisson, gamma, tweedie (exp), lambdarank and
 *               rank_xendcg (the margin)
 *   splits      numeric (x <= threshold goes left) with each missing type:
 *               None (NaN is 0), Zero (0 and NaN go the default way), NaN
 *               (NaN goes the default way); categorical (a bitset of
 *               category codes that go left; NaN and negatives go right)
 *
 * Inputs are the file's feature names; a categorical feature named in
 * pandas_categorical takes its category names. Linear trees (is_linear=1)
 * and a square-rooted regression are refused, saying so. Thresholds are
 * doubles in the file and inputs 32-bit floats here: each threshold becomes
 * the float comparison that agrees with it on every float. */
#ifndef TABSERVE_LIGHTGBM_H
#define TABSERVE_LIGHTGBM_H

#include <stddef.h>

#include "formats/open.h"
#include "model/builder.h"
#include "model/reader.h"

/* Whether buf starts as a LightGBM model file does ("tree" on its first line). */
int lightgbm_is(const char *buf, size_t len);

/* The model's parts (to finish: model/builder.h), or NULL with err naming the file, the line
 * or tree, and what was wrong. */
model_builder *lightgbm_import(const char *buf, size_t len, const char *name, const import_limits *lim,
                               char *err);

#endif
