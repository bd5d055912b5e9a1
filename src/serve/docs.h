/* docs — the documents that describe a served model, rendered once per
 * version in the master (so workers share them) and served as they are:
 *   DOC_DESCRIBE      GET /model: inputs, features, predictor, output, metadata,
 *                     hash, plus the name and version it is served as
 *   DOC_V2_METADATA   GET /v2/models/{m}[/versions/{v}] (Open Inference Protocol)
 *   DOC_TFS_METADATA  GET /v1/models/{m}[/versions/{v}]/metadata (TF Serving)
 *   DOC_OPENAPI       GET /openapi.yaml, for the default model's versions only
 *   DOC_V2_REPLY_HEAD the start of every inference reply: {"model_name":..,"model_version":..
 * and the tensor vocabulary both protocols share: an input's datatype from its
 * schema type, the output tensor's name and shape. */
#ifndef TABSERVE_DOCS_H
#define TABSERVE_DOCS_H

#include "serve/repository.h"

#define OUTPUT_TENSOR "predict" /* the one output tensor: what POST /model calls it too */

/* Renders every missing document of r's available versions. Returns 0 or -1 with err. */
int docs_render(repository *r, char *err);

/* The Open Inference Protocol datatype an input is described with
 * (FP32, INT64, BYTES, BOOL), and TF Serving's (DT_FLOAT, ...). */
const char *docs_v2_datatype(value_type t);
const char *docs_tfs_dtype(value_type t);

#endif
