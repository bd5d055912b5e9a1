/* oip — POST /v2/models/{m}[/versions/{v}]/infer, the Open Inference
 * Protocol's (KServe V2's) inference request, over JSON or the binary tensor
 * data extension:
 *
 *   inputs   one tensor per model input, named as the input ([n] or [n, 1];
 *            BYTES for strings, FP32, FP64, INTn or UINTn for numbers, BOOL), or for
 *            a model whose inputs are all numbers, one [n, inputs] tensor
 *            holding them in the model's order; data flat or nested; a JSON null
 *            or a NaN is a missing value
 *   outputs  optional: which outputs (there is one, "predict"), and per output
 *            parameters.binary_data; parameters.binary_data_output for all
 *   reply    {"model_name", "model_version", "id", "outputs": [{"name":
 *            "predict", "datatype": "FP32", "shape": [n] or [n, classes],
 *            "data": [...]}]}, or the data after the JSON as raw floats
 *
 * Errors are 400 with {"error": "$.inputs[1].data[3].Sex: ..."}: the JSON
 * path and the input, as POST /model names them. */
#ifndef TABSERVE_OIP_H
#define TABSERVE_OIP_H

#include "serve/exchange.h"
#include "serve/repository.h"

void oip_infer(exchange *x, const repo_version *v);

#endif
