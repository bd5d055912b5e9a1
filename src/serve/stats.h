/* stats — counters shared by the master and all workers through one anonymous
 * shared mapping made before any fork, so /metrics from any worker reports the
 * whole server. Each worker writes only its own slot (relaxed atomics, no locks);
 * a slot outlives its worker, so counts survive restarts. Also carries the
 * liveness signals the master watches: heartbeat and "busy since". */
#ifndef TABSERVE_STATS_H
#define TABSERVE_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STATS_MAX_WORKERS 64

typedef enum {
    ROUTE_MODEL_POST,
    ROUTE_MODEL_GET,
    ROUTE_MODEL_EXPLAIN, /* POST /model/explain */
    ROUTE_HEALTHZ,
    ROUTE_READYZ,
    ROUTE_METRICS,
    ROUTE_OPENAPI,
    ROUTE_PAGE,           /* GET / */
    ROUTE_V2_LIVE,        /* GET /v2/health/live */
    ROUTE_V2_READY,       /* GET /v2/health/ready */
    ROUTE_V2_SERVER,      /* GET /v2 */
    ROUTE_V2_MODEL,       /* GET /v2/models/{m}[/versions/{v}] */
    ROUTE_V2_MODEL_READY, /* GET /v2/models/{m}[/versions/{v}]/ready */
    ROUTE_V2_INFER,       /* POST /v2/models/{m}[/versions/{v}]/infer */
    ROUTE_V1_STATUS,      /* GET /v1/models/{m}[/versions/{v}] */
    ROUTE_V1_METADATA,    /* GET /v1/models/{m}[/versions/{v}]/metadata */
    ROUTE_V1_PREDICT,     /* POST /v1/models/{m}[/versions/{v}]:predict */
    ROUTE_V1_EXPLAIN,     /* POST /v1/models/{m}[/versions/{v}]:explain (KServe V1's verb) */
    ROUTE_V1_CLASSIFY,    /* POST /v1/models/{m}[/versions/{v}]:classify */
    ROUTE_V1_REGRESS,     /* POST /v1/models/{m}[/versions/{v}]:regress */
    ROUTE_V1_MODELS,      /* GET /v1/models */
    ROUTE_V2_CONFIG,      /* GET /v2/models/{m}[/versions/{v}]/config (Triton) */
    ROUTE_V2_STATS,       /* GET /v2/models[/{m}[/versions/{v}]]/stats (Triton) */
    ROUTE_V2_REPO_INDEX,  /* POST /v2/repository/index (Triton) */
    ROUTE_V2_REPO_LOAD,   /* POST /v2/repository/models/{m}/load (Triton) */
    ROUTE_V2_REPO_UNLOAD, /* POST /v2/repository/models/{m}/unload (Triton) */
    ROUTE_OTHER,
    ROUTE_UNPARSED, /* refused by the HTTP library before our handler saw a method or path */
    ROUTE_COUNT
} stats_route;

/* The gRPC methods (serve/grpc_service.h), counted apart from the HTTP routes. */
typedef enum {
    GRPC_SERVER_LIVE,
    GRPC_SERVER_READY,
    GRPC_MODEL_READY,
    GRPC_SERVER_METADATA,
    GRPC_MODEL_METADATA,
    GRPC_MODEL_INFER,
    GRPC_MODEL_CONFIG,
    GRPC_MODEL_STATISTICS,
    GRPC_REPOSITORY_INDEX,
    GRPC_REPOSITORY_MODEL_LOAD,
    GRPC_REPOSITORY_MODEL_UNLOAD,
    GRPC_HEALTH_CHECK,
    GRPC_OTHER, /* a method tabserve does not serve */
    GRPC_METHOD_COUNT
} grpc_method;
#define STATS_GRPC_CODES 17 /* gRPC status codes 0 (OK) .. 16 (UNAUTHENTICATED) */
extern const char *const stats_grpc_methods[GRPC_METHOD_COUNT]; /* "ModelInfer", ... */

#define STATS_STATUS_COUNT 15  /* the status codes we answer with, see stats.c */
#define STATS_BUCKETS      14  /* latency histogram upper bounds, see stats.c */
#define STATS_MAX_MODELS   128 /* model versions with their own counters (labels model, version) */
#define STATS_MODEL_NAME   128

/* One model version's counters in one worker. */
typedef struct {
    _Atomic uint64_t requests[STATS_STATUS_COUNT];
    _Atomic uint64_t latency_buckets[STATS_BUCKETS];
    _Atomic uint64_t latency_ns_sum;
    _Atomic uint64_t predictions;
    /* inference requests only (Triton's statistics extension): */
    _Atomic uint64_t infer_ok, infer_ok_ns, infer_fail, infer_fail_ns;
    _Atomic int64_t last_infer_ms; /* wall clock, ms since the epoch */
} stats_model_counts;

typedef struct {
    _Atomic uint64_t requests[ROUTE_COUNT][STATS_STATUS_COUNT];
    _Atomic uint64_t latency_buckets[ROUTE_COUNT][STATS_BUCKETS]; /* not cumulative */
    _Atomic uint64_t latency_ns_sum[ROUTE_COUNT];
    _Atomic uint64_t predictions; /* rows scored, batch rows included */
    _Atomic int64_t in_flight;
    _Atomic int64_t heartbeat_ms;  /* worker's main loop, monotonic clock */
    _Atomic int64_t busy_since_ms; /* handler running since, 0 when idle */
    _Atomic int pid;               /* 0: slot free */
    _Atomic int connections;       /* open now (a hint for spreading new ones over workers) */
    _Atomic int grpc_connections;  /* of them gRPC's: spread on their own (few, long-lived) */
    _Atomic int accepting;         /* may take new connections: from boot until its sockets close */
    stats_model_counts models[STATS_MAX_MODELS];
    _Atomic uint64_t grpc_calls[GRPC_METHOD_COUNT][STATS_GRPC_CODES];
    _Atomic uint64_t grpc_latency_ns_sum[GRPC_METHOD_COUNT];
    char pad[64];
} stats_worker;

/* A model version's labels and the master's load counters for it. Written by
 * the master only, before the workers that count into it are forked. */
typedef struct {
    char name[STATS_MODEL_NAME];
    long version;
    int used;
    _Atomic uint64_t loads, load_failures;
} stats_model_label;

/* Explicit model control's one request slot (serve/control.h). */
typedef struct {
    _Atomic int busy;            /* a worker holds the slot */
    _Atomic int64_t asked, done; /* the last request's number, and the last answered */
    int load;                    /* 1: load, 0: unload */
    char name[STATS_MODEL_NAME];
    int status; /* the answer: 0, or an HTTP status */
    char message[256];
} stats_control;

typedef struct {
    _Atomic uint64_t worker_restarts; /* replaced after dying or timing out */
    _Atomic uint64_t model_reloads;   /* successful SIGHUP reloads */
    _Atomic uint64_t reload_failures;
    _Atomic int64_t workers_wanted;
    _Atomic int64_t started_ms;
    stats_model_label models[STATS_MAX_MODELS];
    stats_control control;
    stats_worker w[STATS_MAX_WORKERS];
} stats_shared;

/* Maps the shared block (zeroed). Returns NULL with err. */
stats_shared *stats_create(char *err);
void stats_destroy(stats_shared *s);

/* Records one finished request of a worker slot. */
void stats_record(stats_worker *w, stats_route route, int status, uint64_t latency_ns);

/* Records one finished request to model version `model_slot` (-1: none);
 * inference: it asked for predictions (counted apart for Triton's statistics). */
void stats_record_model(stats_worker *w, int model_slot, int status, uint64_t latency_ns, long predictions,
                        int inference);

/* Records one finished gRPC call: its method and status code. */
void stats_record_grpc(stats_worker *w, grpc_method method, int code, uint64_t latency_ns);

/* One model version's inference requests summed over all workers. */
typedef struct {
    uint64_t ok, ok_ns, fail, fail_ns, predictions;
    int64_t last_ms; /* 0: none yet */
} stats_inference;
stats_inference stats_model_inference(const stats_shared *s, int model_slot);

/* The master's side: the slot of (name, version), taken when new (counters
 * start at zero); -1 when all STATS_MAX_MODELS are taken. */
int stats_model_slot(stats_shared *s, const char *name, long version);

/* Records a request the HTTP library answered itself (a 400 for bad framing, a
 * 505): counted under method="unknown", route="unparsed", with no latency. */
void stats_record_unparsed(stats_worker *w, int status);

/* Prometheus text exposition (format 0.0.4) of all slots, into buf. Returns
 * the length written, or -1 when buf is too small. */
long stats_render(const stats_shared *s, char *buf, size_t len);

#endif
