/* grpc_service — the gRPC methods tabserve serves, with no socket: the Open
 * Inference Protocol's inference.GRPCInferenceService (ServerLive,
 * ServerReady, ModelReady, ServerMetadata, ModelMetadata, ModelInfer), the
 * Triton extensions its REST side also offers (ModelConfig, ModelStatistics,
 * RepositoryIndex, RepositoryModelLoad/Unload) and grpc.health.v1.Health's
 * Check. Each call is translated into the REST request that means the same
 * and answered by the same api_handle, so the two protocols give the same
 * answers and the same errors: ModelInfer goes through the binary tensor
 * extension (raw little-endian elements, no number printed and read back), so
 * its numbers are the REST answer's bit for bit.
 *
 * Errors are gRPC status codes with the REST side's message: 400 is
 * INVALID_ARGUMENT, 404 NOT_FOUND, 413 (over --max-batch) RESOURCE_EXHAUSTED,
 * 503 UNAVAILABLE, 403 (model control off) FAILED_PRECONDITION; a method
 * tabserve does not serve is UNIMPLEMENTED. The transport is grpc.h. */
#ifndef TABSERVE_GRPC_SERVICE_H
#define TABSERVE_GRPC_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "serve/api.h"
#include "serve/stats.h"

/* gRPC status codes (grpc/status.h's numbering) */
enum {
    GRPC_OK = 0,
    GRPC_CANCELLED = 1,
    GRPC_UNKNOWN = 2,
    GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4,
    GRPC_NOT_FOUND = 5,
    GRPC_RESOURCE_EXHAUSTED = 8,
    GRPC_FAILED_PRECONDITION = 9,
    GRPC_UNIMPLEMENTED = 12,
    GRPC_INTERNAL = 13,
    GRPC_UNAVAILABLE = 14,
};
#define GRPC_CODES 17

typedef struct {
    int code;          /* GRPC_OK, or the error */
    char message[512]; /* the error's message (empty for OK) */
    uint8_t *body;     /* OK: the serialized response message (malloc'd), else NULL */
    size_t len;
    grpc_method method; /* for the metrics */
    int model_slot;     /* the model version's metrics slot, -1: none */
    int http_status;    /* the REST answer behind it (0: none), for the model's counters */
    long predictions;   /* rows scored */
} grpc_reply;

/* Answers one call of `path` ("/inference.GRPCInferenceService/ModelInfer")
 * whose request message is msg[0..len). Always fills out; free it with
 * grpc_reply_free. */
void grpc_call(api *a, const char *path, const uint8_t *msg, size_t len, grpc_reply *out);
void grpc_reply_free(grpc_reply *r);

/* The method of a path, for counting calls the transport refuses itself. */
grpc_method grpc_method_of(const char *path);

#endif
