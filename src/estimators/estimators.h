/* estimators — every estimator tabserve has, by the kind a model file names:
 * the one place that knows them all, so that neither the model core nor a
 * format names one. A format reads $.predictor through estimators_read; each
 * estimator (mlp.c, linear.c, trees.c, blend.c, normalize.c) provides its
 * reader, and its writer as predictor_ops.to_json. */
#ifndef TABSERVE_ESTIMATORS_H
#define TABSERVE_ESTIMATORS_H

#include "model/predictor.h"

struct json_t;

/* Reads $.predictor (obj, at path), dispatching on its "kind". NULL with the
 * reader's message. */
predictor *estimators_read(reader *r, struct json_t *obj, const char *path);

/* The readers each estimator provides. */
predictor *mlp_read(reader *r, struct json_t *obj, const char *path);
predictor *linear_read(reader *r, struct json_t *obj, const char *path);
predictor *trees_read(reader *r, struct json_t *obj, const char *path);
predictor *blend_read(reader *r, struct json_t *obj, const char *path);
predictor *normalize_read(reader *r, struct json_t *obj, const char *path);

#endif
