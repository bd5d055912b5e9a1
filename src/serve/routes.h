/* routes — a request's method and path to the route it names, and for the
 * model routes of the two cluster protocols, the model and version in it:
 *
 *   /model /healthz /readyz /metrics /openapi.yaml    the seed's API and operations
 *   /v2 /v2/health/{live,ready}                       Open Inference Protocol (KServe V2)
 *   /v2/models/{m}[/versions/{v}][/ready|/infer|/config|/stats]
 *   /v2/models/stats /v2/repository/index             Triton's extensions
 *   /v2/repository/models/{m}/{load,unload}
 *   /v1/models                                        TensorFlow Serving REST
 *   /v1/models/{m}[/versions/{v}|/labels/{l}][/metadata|:predict|:classify|:regress|:explain]
 *
 * No allocation: the model name points into the path. */
#ifndef TABSERVE_ROUTES_H
#define TABSERVE_ROUTES_H

#include <stddef.h>

#include "serve/stats.h"

typedef struct {
    stats_route route; /* ROUTE_OTHER: no route for this method and path */
    const char *allow; /* the path names a route the method does not take: its methods (405) */
    const char *model; /* model routes: the name, model_len bytes */
    size_t model_len;
    long version;             /* 0: not given (the default version); -1: given but not a positive integer */
    const char *version_text; /* as given, version_len bytes (for messages) */
    size_t version_len;
    const char *label; /* TF Serving's /labels/{label} instead of a version: label_len bytes */
    size_t label_len;
} route_match;

void routes_match(const char *method, const char *path, route_match *out);

#endif
