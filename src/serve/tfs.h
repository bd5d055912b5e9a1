/* tfs — TensorFlow Serving's REST API:
 *   GET  /v1/models/{m}[/versions/{v}]          the versions' status
 *   POST /v1/models/{m}[/versions/{v}]:predict  "instances" (row objects keyed
 *        by input name, or plain values for a one-input model) -> {"predictions":
 *        [...]}, or "inputs" (columns: {name: [values]}) -> {"outputs": [...]}
 *   POST /v1/models/{m}[/versions/{v}]:explain  (KServe V1's verb) the same rows
 *        -> {"explanations": [...]} (explain/explain.h)
 *   POST /v1/models/{m}[/versions/{v}]:classify|:regress  "examples" -> "result"
 * The bodies may use TF Serving's JSON extensions: NaN (a missing value),
 * {"b64": "..."} (the string it encodes); an infinity is a value (see exchange_parse).
 * (metadata is a document: docs.h). Errors are {"error": "message"}. */
#ifndef TABSERVE_TFS_H
#define TABSERVE_TFS_H

#include "serve/exchange.h"
#include "serve/repository.h"

/* v NULL: every version of rm */
void tfs_status(exchange *x, const repo_model *rm, const repo_version *v);
void tfs_predict(exchange *x, const repo_version *v, int explain);

/* GET /v1/models: TF Serving's 400 for a status request without a model name */
void tfs_models(exchange *x, const repository *r);

/* :classify (label/score pairs per example) and :regress (one number per
 * example) over "examples" (and "context") */
void tfs_examples(exchange *x, const repo_version *v, int classify);

#endif
