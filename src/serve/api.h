/* api — one HTTP request to one response, with no socket: routing (routes.h),
 * the seed's POST /model contract, the Open Inference Protocol (oip.h) and TF
 * Serving (tfs.h) for every model of the repository (repository.h), metadata,
 * health, metrics and JSON errors. The worker (worker.c) and the fuzzer call
 * exactly this. Not here: connection handling, limits enforced while reading
 * (the transport reports them in api_request). */
#ifndef TABSERVE_API_H
#define TABSERVE_API_H

#include <stddef.h>

#include "serve/repository.h"
#include "serve/stats.h"

typedef struct api api;

typedef struct {
    int max_batch;                /* most rows in one POST /model array */
    unsigned encode_rules;        /* ENCODE_STRICT, or ENCODE_IGNORE_UNKNOWN (--ignore-unknown-fields) */
    stats_shared *stats;          /* may be NULL (no /metrics counts) */
    const volatile int *draining; /* non-zero: /readyz answers 503; may be NULL */
    int full_paths_only;          /* tests and fuzzers: the protocols' fast paths off, to compare */
    double explain_budget;        /* seconds of explaining one request may take; 0: no limit */
    long max_body;                /* --limit-request-body: a compressed body's size once decoded */
    /* explicit model control (serve/triton.h): NULL answers 403 */
    int (*model_control)(void *ctx, const char *name, int load, char *err);
    void *model_control_ctx;
} api_options;

typedef struct {
    const char *method;
    const char *path;         /* without the query string */
    const char *content_type; /* NULL when absent */
    const char *body;
    size_t body_len;
    const char *inference_header; /* Inference-Header-Content-Length (binary tensors), or NULL */
    const char *content_encoding; /* gzip, deflate or identity (NULL: identity): decoded before routing */
    const char *accept_encoding;  /* NULL: absent; a large 200 answer is compressed when it allows */
} api_request;

typedef struct {
    int status;
    const char *content_type;
    const char *allow; /* the Allow header for 405, else NULL */
    const char *body;  /* owned by the api, valid until the next api_handle */
    size_t body_len;
    stats_route route;
    long predictions;             /* rows scored by this request */
    int model_slot;               /* the model version's metrics slot, -1: not a model request */
    long inference_header_len;    /* > 0: send Inference-Header-Content-Length (binary outputs) */
    const char *content_encoding; /* NULL: identity, else "gzip" or "deflate" */
} api_response;

/* The api keeps a pointer to r (which must outlive it) and allocates its
 * scratch once here, sized for r's largest model; api_handle allocates nothing
 * of its own beyond the JSON parser's. */
api *api_create(const repository *r, const api_options *o, char *err);
void api_free(api *a);

void api_handle(api *a, const api_request *req, api_response *res);

/* The metrics route of a request (method and route labels): what api_handle
 * counts it as, for answers the transport gives before api_handle runs.
 * A method a path does not take counts as ROUTE_OTHER ("any", "other"). */
stats_route api_route(const char *method, const char *path);

/* An error response for errors the transport detects (411 no length, 413 body
 * too large, 431 headers too large, 408 timeout): in the shape of the API the
 * path belongs to (KServe V2's and TF Serving's {"error": "..."} on theirs, the
 * house shape elsewhere and when no path was read: NULL). */
void api_error(api *a, api_response *res, int status, const char *message, const char *path);

#endif
