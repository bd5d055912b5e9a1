/* tabserve — tabserve's own model files: JSON with "format": "tabserve-model",
 * version 2 read and written (tabserve.c), version 1 (tabserve 0.1.0) read
 * into the same composition (tabserve_v1.c). A file carries everything a
 * model is: inputs, feature steps, the predictor and its parameters (each
 * estimator reads and writes its own part: estimators/estimators.h), the
 * output, metadata and a content hash checked on load. */
#ifndef TABSERVE_FORMAT_TABSERVE_H
#define TABSERVE_FORMAT_TABSERVE_H

#include <stddef.h>

#include "model/model.h"

struct json_t;

#define MODEL_FORMAT         "tabserve-model"
#define MODEL_FORMAT_VERSION 2 /* written; version 1 (tabserve 0.1.0) is still read */

/* Loads a model file of any supported version, fully validated. On failure
 * returns NULL with err naming the file, the JSON path and what was expected. */
model *model_load_file(const char *path, char *err);
model *model_load_buffer(const char *buf, size_t len, const char *name, char *err);

/* Writes the model (format 2) through a temporary file renamed into place. */
int model_save(const model *m, const char *path, char *err);

/* The model without its parameters: inputs, features, predictor shape,
 * output, metadata, hash. A new reference (caller json_decref's it). */
struct json_t *model_describe(const model *m);

/* The version-1 reader (tabserve_v1.c): the model's parts from a parsed v1 root, to finish. */
struct model_builder;
struct model_builder *model_from_v1(struct json_t *root, reader *r);

#endif
