/* openapi — api/openapi.yaml compiled into the binary: the spec of the default
 * model, served as it is; for any other model, the same document with the input
 * schema, the prediction schema, the summary and the examples generated from
 * the model (its schema and output spec). */
#ifndef TABSERVE_OPENAPI_H
#define TABSERVE_OPENAPI_H

#include <stddef.h>

#include "model/model.h"

extern const char openapi_yaml[];
size_t openapi_yaml_len(void);

/* The spec for model m (malloc'd, *len bytes), or NULL when memory runs out or
 * the template lacks a place it rewrites (then serve the template). */
char *openapi_generate(const model *m, size_t *len);

#endif
