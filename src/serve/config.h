/* config — the options of `tabserve serve`, with gunicorn's names, meanings and
 * defaults where gunicorn has them. Each option can also come from the
 * environment (TABSERVE_ + the long name upper-cased, '-' as '_'); flags win. */
#ifndef TABSERVE_CONFIG_H
#define TABSERVE_CONFIG_H

#include <stdio.h>

#include "formats/open.h"

#define CONFIG_MAX_BINDS 16

typedef struct {
    const char *model_path;              /* NULL: the built-in model */
    const char *model_repository;        /* --model-repository DIR: many models; NULL: model_path */
    const char *model_name;              /* --model-name: what model_path is served as (default "model") */
    const char *default_model;           /* --default-model: the one POST /model serves */
    double repository_poll;              /* seconds between scans of the repository; 0 = SIGHUP only */
    int model_control_explicit;          /* --model-control-mode explicit: load/unload through the API */
    long versions_kept;                  /* --versions-kept: newest loadable versions served per model */
    int workers;                         /* -w, default 1 */
    const char *binds[CONFIG_MAX_BINDS]; /* -b, default 127.0.0.1:8000 (0.0.0.0:$PORT if PORT is set) */
    int n_binds;
    const char *grpc_bind;      /* --grpc-bind: gRPC's address (h2c); NULL: no gRPC */
    long grpc_max_message;      /* bytes of one gRPC request message */
    long grpc_max_streams;      /* gRPC streams open at once on one connection */
    double grpc_idle_timeout;   /* a gRPC connection without calls this long is closed; 0 = never */
    double timeout;             /* -t: a worker silent or stuck in a request this long is killed; 0 = never */
    double graceful_timeout;    /* after TERM, workers get this long to finish in-flight requests */
    double keep_alive;          /* idle keep-alive connections close after this many seconds */
    double header_timeout;      /* a request line and headers must arrive within this; 0 = no limit */
    double body_timeout;        /* a body must arrive within this once the headers did; 0 = no limit */
    long max_requests;          /* recycle a worker after this many requests; 0 = never */
    long max_requests_jitter;   /* + random 0..jitter, so workers do not recycle together */
    const char *access_logfile; /* NULL: no access log; "-": stdout */
    const char *error_logfile;  /* "-": stderr */
    int log_level;              /* LOG_DEBUG .. LOG_CRITICAL */
    long limit_request_body;    /* bytes; larger bodies get 413 */
    long limit_request_line;    /* bytes of the request target; longer gets 414 */
    long limit_request_fields;  /* header count; more gets 431 */
    long limit_request_field_size; /* bytes of one header line; more gets 431 */
    long limit_request_headers;    /* bytes of request line + all headers (the per-connection buffer) */
    long worker_connections;       /* open connections per worker */
    long max_batch;                /* rows in one POST /model array; more gets 413 */
    int ignore_unknown_fields;     /* request members that are no input: skipped, not a 400 */
    int links_outside_repository;  /* model files may be links out of --model-repository */
    double explain_budget;         /* --explain-budget; derived from --timeout when not given */
    int test_hooks;                /* TABSERVE_TEST_HOOKS=1 (tests only): honour X-Tabserve-Test-Stall */
    const char *schema_path;       /* --schema: for a foreign model; NULL: looked for beside it */
    import_limits limits;          /* --max-model-bytes, --max-trees, --max-nodes, --max-tensor */
    char *owned[CONFIG_MAX_BINDS]; /* storage for binds split from the environment */
} serve_config;

enum { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERROR, LOG_CRITICAL };

/* Fills c from the environment, then argv (the arguments after `serve`).
 * Returns 0, or -1 with err for an unknown option or a bad value. */
int config_parse(serve_config *c, int argc, char **argv, char *err);
void config_free(serve_config *c);
void config_usage(FILE *fp);

#endif
