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

typedef enum {
    DOC_DESCRIBE,
    DOC_V2_METADATA,
    DOC_TFS_METADATA,
    DOC_OPENAPI,
    DOC_V2_REPLY_HEAD,
    DOC_COUNT
} doc_kind;

/* Renders the documents of r's available versions that have none (their
 * attached); the repository's describe hook. Returns 0 or -1 with err. */
int docs_render(repository *r, char *err);
/* Frees one version's documents: the repository's forget hook. */
void docs_forget(void *attached);

/* Version v's document of kind d, its length in *len; NULL when it has none
 * (DOC_OPENAPI of the built-in model: the hand-written one is served). */
const char *docs_get(const repo_version *v, doc_kind d, size_t *len);

/* The Open Inference Protocol datatype an input is described with
 * (FP32, INT64, BYTES, BOOL). */
const char *docs_v2_datatype(value_type t);

#endif
