/* worker — one prefork worker: HTTP event loops (http.h) on the sockets the
 * master opened, each request handed to api_handle. The main thread only
 * waits for signals and beats the heartbeat the master watches.
 * TERM (or reaching --max-requests, or losing the master): stop accepting,
 * answer with "Connection: close", finish open connections within
 * --graceful-timeout, exit 0. INT/QUIT: stop at once. */
#ifndef TABSERVE_WORKER_H
#define TABSERVE_WORKER_H

#include "serve/config.h"
#include "serve/http.h"
#include "serve/repository.h"
#include "serve/stats.h"

#define WORKER_EXIT_BOOT_ERROR 3 /* failed to start: the master must not respawn it */

typedef struct {
    const serve_config *cfg;
    const repository *repo;
    stats_shared *stats;
    int slot; /* this worker's stats slot */
    const int *listen_fds;
    int n_listen;
    int grpc_fd;       /* -1: no gRPC */
    int access_fd;     /* -1: no access log */
    long max_requests; /* 0: never recycle; jitter already added */
    int test_hooks;    /* honour X-Tabserve-Test-Stall (tests only) */
} worker_args;

/* Runs until told to stop; returns the process exit code. */
int worker_run(const worker_args *a);

/* For the socket-level fuzzer: this worker's HTTP handling (limits, framing,
 * deadlines' bookkeeping, api_handle, metrics) on no listening socket, in this
 * process; hand it connections with http_add_connection. One per process. */
http_server *worker_start_detached(const worker_args *a, char *err);

#endif
