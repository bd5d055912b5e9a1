/* xgboost — reads an XGBoost JSON model into a tabserve model (xgboost.c has
 * the objective table and the split rules). */
#ifndef TABSERVE_XGBOOST_H
#define TABSERVE_XGBOOST_H

#include "formats/open.h"
#include "formats/xgb_json.h"
#include "model/builder.h"
#include "model/reader.h"

struct json_t;

/* Whether a parsed JSON root is an XGBoost model (it has "learner"). */
int xgboost_is(const struct json_t *root);

/* The model's parts, to finish (model/builder.h); NULL with the reader's message naming the JSON path.
 * arrays: where the node arrays of a document from xgb_json_load lie; NULL for one jansson parsed. */
model_builder *xgboost_import(struct json_t *root, const xgb_arrays *arrays, reader *r,
                              const import_limits *lim);

#endif
