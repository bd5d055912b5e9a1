/* openapi — api/openapi.yaml compiled into the binary, served at GET /openapi.yaml. */
#ifndef TABSERVE_OPENAPI_H
#define TABSERVE_OPENAPI_H

#include <stddef.h>

extern const char openapi_yaml[];
size_t openapi_yaml_len(void);

#endif
