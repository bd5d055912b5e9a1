/* tfs — TensorFlow Serving's REST API:
 *   GET  /v1/models/{m}[/versions/{v}]          the versions' status
 *   POST /v1/models/{m}[/versions/{v}]:predict  "instances" (row objects keyed
 *        by input name, or plain values for a one-input model) -> {"predictions":
 *        [...]}, or "inputs" (columns: {name: [values]}) -> {"outputs": [...]}
 *   POST /v1/models/{m}[/versions/{v}]:explain  (KServe V1's verb) the same rows
 *        -> {"explanations": [...]} (explain/explain.h)
 * (metadata is a document: docs.h). Errors are {"error": "message"}. */
#ifndef TABSERVE_TFS_H
#define TABSERVE_TFS_H

#include "serve/exchange.h"
#include "serve/repository.h"

/* v NULL: every version of rm */
void tfs_status(exchange *x, const repo_model *rm, const repo_version *v);
void tfs_predict(exchange *x, const repo_version *v, int explain);

#endif
