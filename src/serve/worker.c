/* worker — the HTTP side of a worker process: one http server (http.h) per
 * listening socket, each request handed to api_handle. Request path, top to
 * bottom: http parses and checks the request -> on_handle (api_handle) ->
 * on_answered (metrics, access log, --max-requests). */
#define _GNU_SOURCE
#include "serve/worker.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "model/encode.h"
#include "serve/api.h"
#include "serve/control.h"
#include "serve/grpc.h"
#include "serve/log.h"
#include "base/clock.h"
#include "base/err.h"

#define ACCESS_BUF 32768

typedef struct worker worker;

typedef struct {
    worker *w;
    api *api;
    http_server *http;
    api_response res; /* the answer being given (one at a time: one HTTP thread per listener) */
    int unparsed;     /* it answers a request the parser could not read */
} listener;

typedef struct {
    worker *w;
    api *api;
    grpc_server *grpc;
} grpc_listener;

struct worker {
    const worker_args *a;
    stats_worker *slot;
    listener l[CONFIG_MAX_BINDS];
    int n;
    grpc_listener g; /* g.grpc NULL: no gRPC */
    volatile int draining;
    pid_t master; /* carries out explicit model control (control.h) */
    atomic_long requests_done;
    atomic_int recycle;
    pthread_mutex_t access_lock;
    char access_buf[ACCESS_BUF];
    size_t access_used;
};

/* ---- access log: gunicorn's default format, whole lines per write(2) ---- */

static void access_flush_locked(worker *w)
{
    if (w->access_used == 0) return;
    ssize_t n = write(w->a->access_fd, w->access_buf, w->access_used);
    (void)n; /* a full disk must not stop the serving */
    w->access_used = 0;
}

static void access_flush(worker *w)
{
    pthread_mutex_lock(&w->access_lock);
    access_flush_locked(w);
    pthread_mutex_unlock(&w->access_lock);
}

/* Client text as nginx logs it: '"', '\\', control bytes and bytes >= 0x7f as
 * \xHH, so no request can forge a line or a field; at most max source bytes. */
static void log_text(char *dst, size_t cap, const char *src, size_t max)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (size_t i = 0; src[i] && i < max && k + 5 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            dst[k++] = '\\';
            dst[k++] = 'x';
            dst[k++] = hex[c >> 4];
            dst[k++] = hex[c & 15];
        } else {
            dst[k++] = (char)c;
        }
    }
    dst[k] = 0;
}

/* h l u t "r" s b "f" "a" */
static void access_log(worker *w, const http_request *r, int status, size_t bytes)
{
    char when[40], line[4096];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S +0000", &tm);
    const char *ref = r->referer, *ua = r->user_agent;
    char m[68], u[2052], v[68], rf[516], a[804];
    log_text(m, sizeof m, r->method ? r->method : "-", 16);
    log_text(u, sizeof u, r->target ? r->target : "-", 512);
    log_text(v, sizeof v, r->version ? r->version : "-", 16);
    log_text(rf, sizeof rf, ref ? ref : "-", 128);
    log_text(a, sizeof a, ua ? ua : "-", 200);
    int n = snprintf(line, sizeof line, "%s - - [%s] \"%s %s %s\" %d %zu \"%s\" \"%s\"\n", r->client, when, m,
                     u, v, status, bytes, rf, a);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = sizeof line - 1;
    pthread_mutex_lock(&w->access_lock);
    if (w->access_used + (size_t)n > ACCESS_BUF) access_flush_locked(w);
    memcpy(w->access_buf + w->access_used, line, (size_t)n);
    w->access_used += (size_t)n;
    pthread_mutex_unlock(&w->access_lock);
}

/* ---- the request path ---------------------------------------------------- */

static void to_http(const api_response *a, http_response *h)
{
    *h = (http_response){a->status,           a->content_type, a->allow,   a->inference_header_len,
                         a->content_encoding, a->body,         a->body_len};
}

static void on_handle(void *ctx, const http_request *hr, http_response *out)
{
    listener *l = ctx;
    worker *w = l->w;
    atomic_fetch_add_explicit(&w->slot->in_flight, 1, memory_order_relaxed);
    atomic_store_explicit(&w->slot->busy_since_ms, clock_coarse_ms(), memory_order_relaxed);
    if (w->a->test_hooks && hr->test_stall) sleep((unsigned)atoi(hr->test_stall));
    api_request req = {.method = hr->method,
                       .path = hr->path,
                       .content_type = hr->content_type,
                       .body = hr->body,
                       .body_len = hr->body_len,
                       .inference_header = hr->inference_header,
                       .content_encoding = hr->content_encoding,
                       .accept_encoding = hr->accept_encoding};
    api_handle(l->api, &req, &l->res);
    atomic_store_explicit(&w->slot->busy_since_ms, 0, memory_order_relaxed);
    l->unparsed = 0;
    to_http(&l->res, out);
}

/* An error the transport found: the API's error shape, counted by the route
 * the request would have taken (its method and path, when they were read). */
static void on_reject(void *ctx, const http_request *hr, int status, const char *msg, http_response *out)
{
    listener *l = ctx;
    atomic_fetch_add_explicit(&l->w->slot->in_flight, 1, memory_order_relaxed);
    api_error(l->api, &l->res, status, msg, hr->path);
    l->res.route = hr->method && hr->path ? api_route(hr->method, hr->path) : ROUTE_OTHER;
    l->unparsed = hr->unreadable;
    to_http(&l->res, out);
}

static int open_connections(worker *w);

/* Whether another worker taking connections should take a new one instead of w:
 * one that holds fewer than `below` connections of the kind `grpc` says (and,
 * for HTTP, is not inside a request). */
static int another_takes_it(const worker *w, int below, int grpc)
{
    const stats_shared *st = w->a->stats;
    for (int i = 0; i < STATS_MAX_WORKERS; i++) {
        const stats_worker *o = &st->w[i];
        if (o == w->slot || !atomic_load_explicit(&o->pid, memory_order_relaxed) ||
            !atomic_load_explicit(&o->accepting, memory_order_relaxed))
            continue;
        int theirs =
            atomic_load_explicit(grpc ? &o->grpc_connections : &o->connections, memory_order_relaxed);
        if (theirs < below && (grpc || atomic_load_explicit(&o->busy_since_ms, memory_order_relaxed) == 0))
            return 1;
    }
    return 0;
}

/* Spreads connections over the workers sharing a socket: leave a new one to a
 * worker that is taking connections, not inside a request, and holds at least
 * two fewer (the kernel wakes every waiting worker, and the first to call
 * accept wins; without this one worker took 14 of wrk's 16 connections). */
static int may_accept(void *ctx)
{
    worker *w = ((listener *)ctx)->w;
    int mine = open_connections(w);
    atomic_store_explicit(&w->slot->connections, mine + 1, memory_order_relaxed);
    return !another_takes_it(w, mine - 1, 0);
}

/* gRPC clients open few connections and keep them (a channel is one), so
 * they are spread strictly: a worker leaves a new one to any worker taking
 * connections that holds fewer gRPC connections than it does (each count
 * kept current as connections open and close). */
static void grpc_connections_now(void *ctx, int open)
{
    atomic_store_explicit(&((grpc_listener *)ctx)->w->slot->grpc_connections, open, memory_order_relaxed);
}

static int may_accept_grpc(void *ctx)
{
    worker *w = ((grpc_listener *)ctx)->w;
    return !another_takes_it(w, grpc_open_connections(w->g.grpc), 1);
}

static void on_answered(void *ctx, const http_request *hr, const http_response *out)
{
    listener *l = ctx;
    worker *w = l->w;
    const api_response *res = &l->res;
    atomic_fetch_sub_explicit(&w->slot->in_flight, 1, memory_order_relaxed);
    if (l->unparsed) { /* no method or route to count it by, and nothing timed it */
        stats_record_unparsed(w->slot, out->status);
    } else {
        uint64_t latency = clock_ns() - hr->start_ns;
        stats_record(w->slot, res->route, res->status, latency);
        int inference = res->route == ROUTE_MODEL_POST || res->route == ROUTE_V2_INFER ||
                        res->route == ROUTE_V1_PREDICT || res->route == ROUTE_V1_CLASSIFY ||
                        res->route == ROUTE_V1_REGRESS;
        stats_record_model(w->slot, res->model_slot, res->status, latency, res->predictions, inference);
        if (res->predictions)
            atomic_fetch_add_explicit(&w->slot->predictions, (uint64_t)res->predictions,
                                      memory_order_relaxed);
    }
    if (w->a->access_fd >= 0) access_log(w, hr, out->status, out->body_len);
    long done = atomic_fetch_add(&w->requests_done, 1) + 1;
    if (w->a->max_requests && done == w->a->max_requests) {
        atomic_store(&w->recycle, 1);
        kill(getpid(), SIGUSR2); /* wake the main thread now: stop accepting before the next tick */
    }
}

/* ---- the gRPC side: the same accounting, by method and status code ------- */

static int model_control(void *ctx, const char *name, int load, char *err);

static void count_done(worker *w)
{
    long done = atomic_fetch_add(&w->requests_done, 1) + 1;
    if (w->a->max_requests && done == w->a->max_requests) {
        atomic_store(&w->recycle, 1);
        kill(getpid(), SIGUSR2);
    }
}

static void on_grpc_call(void *ctx, const grpc_call_info *info, const uint8_t *msg, size_t len,
                         grpc_reply *out)
{
    (void)info;
    grpc_listener *g = ctx;
    worker *w = g->w;
    atomic_fetch_add_explicit(&w->slot->in_flight, 1, memory_order_relaxed);
    atomic_store_explicit(&w->slot->busy_since_ms, clock_coarse_ms(), memory_order_relaxed);
    grpc_call(g->api, info->path, msg, len, out);
    atomic_store_explicit(&w->slot->busy_since_ms, 0, memory_order_relaxed);
    atomic_fetch_sub_explicit(&w->slot->in_flight, 1, memory_order_relaxed);
}

static void on_grpc_answered(void *ctx, const grpc_call_info *info, const grpc_reply *r)
{
    grpc_listener *g = ctx;
    worker *w = g->w;
    uint64_t latency = clock_ns() - info->start_ns;
    stats_record_grpc(w->slot, r->method, r->code, latency);
    if (r->model_slot >= 0 && r->http_status)
        stats_record_model(w->slot, r->model_slot, r->http_status, latency, r->predictions,
                           r->method == GRPC_MODEL_INFER);
    if (r->predictions)
        atomic_fetch_add_explicit(&w->slot->predictions, (uint64_t)r->predictions, memory_order_relaxed);
    if (w->a->access_fd >= 0) { /* the status field holds the gRPC status code */
        http_request hr = {.method = "POST",
                           .target = info->path ? info->path : "-",
                           .version = "HTTP/2.0",
                           .user_agent = info->user_agent,
                           .client = info->client};
        access_log(w, &hr, r->code, r->len);
    }
    count_done(w);
}

static int grpc_start_listener(worker *w, int fd, char *err)
{
    const worker_args *a = w->a;
    const serve_config *cfg = a->cfg;
    api_options ao = {.max_batch = (int)cfg->max_batch,
                      .encode_rules = cfg->ignore_unknown_fields ? ENCODE_IGNORE_UNKNOWN : ENCODE_STRICT,
                      .stats = a->stats,
                      .draining = &w->draining,
                      .explain_budget = cfg->explain_budget,
                      .max_body = cfg->grpc_max_message};
    if (cfg->model_control_explicit && a->stats && w->master > 1) {
        ao.model_control = model_control;
        ao.model_control_ctx = w;
    }
    w->g.w = w;
    if (!(w->g.api = api_create(a->repo, &ao, err))) return -1;
    grpc_limits lim = {.max_message = cfg->grpc_max_message,
                       .max_streams = cfg->grpc_max_streams,
                       .max_header_bytes =
                           cfg->limit_request_headers > 16384 ? cfg->limit_request_headers : 16384,
                       .max_connections = cfg->worker_connections,
                       .header_ms = (int64_t)(cfg->header_timeout * 1000),
                       .body_ms = (int64_t)(cfg->body_timeout * 1000),
                       .idle_ms = (int64_t)(cfg->grpc_idle_timeout * 1000),
                       .draining = &w->draining};
    grpc_handler h = {&w->g, on_grpc_call, on_grpc_answered, fd >= 0 ? may_accept_grpc : NULL,
                      grpc_connections_now};
    return (w->g.grpc = grpc_start(fd, &lim, &h, err)) ? 0 : -1;
}

/* ---- the process --------------------------------------------------------- */

/* The worker's shared state for the arguments (the access log lock, its stats slot). */
static void worker_init(worker *w, const worker_args *a)
{
    memset(w, 0, sizeof *w);
    w->a = a;
    w->slot = &a->stats->w[a->slot];
    pthread_mutex_init(&w->access_lock, NULL);
}

/* explicit model control: the master does it (control.h) */
static int model_control(void *ctx, const char *name, int load, char *err)
{
    worker *w = ctx;
    return control_ask(w->a->stats, w->master, name, load, err);
}

/* One listener of w on fd (-1: detached): its request handler, connection
 * table and HTTP daemon. Returns 0, or -1 with err. */
static int listener_start(worker *w, listener *l, int fd, char *err)
{
    const worker_args *a = w->a;
    api_options ao = {.max_batch = (int)a->cfg->max_batch,
                      .encode_rules = a->cfg->ignore_unknown_fields ? ENCODE_IGNORE_UNKNOWN : ENCODE_STRICT,
                      .stats = a->stats,
                      .draining = &w->draining,
                      .explain_budget = a->cfg->explain_budget,
                      .max_body = a->cfg->limit_request_body}; /* copied by api_create */
    if (a->cfg->model_control_explicit && a->stats && w->master > 1) {
        ao.model_control = model_control;
        ao.model_control_ctx = w;
    }
    l->w = w;
    if (!(l->api = api_create(a->repo, &ao, err))) return -1;
    const serve_config *cfg = a->cfg;
    http_limits lim = {cfg->limit_request_line,           cfg->limit_request_fields,
                       cfg->limit_request_field_size,     cfg->limit_request_headers,
                       cfg->limit_request_body,           cfg->worker_connections,
                       (int64_t)(cfg->keep_alive * 1000), &w->draining};
    http_handler h = {l, on_handle, on_reject, on_answered, fd >= 0 ? may_accept : NULL};
    return (l->http = http_start(fd, &lim, &h, err)) ? 0 : -1;
}

http_server *worker_start_detached(const worker_args *a, char *err)
{
    static worker w;
    worker_init(&w, a);
    w.n = 1;
    return listener_start(&w, &w.l[0], -1, err) == 0 ? w.l[0].http : NULL;
}

static void free_listeners(worker *w)
{
    grpc_stop(w->g.grpc);
    w->g.grpc = NULL;
    api_free(w->g.api);
    w->g.api = NULL;
    for (int i = 0; i < w->n; i++) {
        listener *l = &w->l[i];
        http_stop(l->http);
        l->http = NULL;
        api_free(l->api);
        l->api = NULL;
    }
}

static int open_connections(worker *w)
{
    int n = grpc_open_connections(w->g.grpc);
    for (int i = 0; i < w->n; i++) n += http_open_connections(w->l[i].http);
    return n;
}

static void drain(worker *w, const char *why)
{
    const serve_config *cfg = w->a->cfg;
    log_msg(LOG_INFO, "Worker draining (%s)", why);
    w->draining = 1;
    for (int i = 0; i < w->n; i++) http_quiesce(w->l[i].http); /* closes our copy of the socket */
    grpc_quiesce(w->g.grpc);                                   /* and GOAWAY on every gRPC connection */
    /* only now: a reload waits for this before it starts the new workers (master.c) */
    atomic_store(&w->slot->accepting, 0);
    int64_t deadline = clock_coarse_ms() + (int64_t)(cfg->graceful_timeout * 1000);
    while (open_connections(w) > 0 && clock_coarse_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
        atomic_store_explicit(&w->slot->heartbeat_ms, clock_coarse_ms(), memory_order_relaxed);
    }
    if (open_connections(w) > 0)
        log_msg(LOG_WARNING, "Worker graceful timeout: closing %d connection(s)", open_connections(w));
}

int worker_run(const worker_args *a)
{
    static worker w; /* one per process; static keeps 32 KiB of log buffer off the stack */
    worker_init(&w, a);
    pid_t master = getppid();
    w.master = master;
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* an orphaned worker drains and leaves */

    /* signals stay blocked in every thread; the main loop takes them with sigtimedwait */
    sigset_t all, wanted;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGTERM);
    sigaddset(&wanted, SIGINT);
    sigaddset(&wanted, SIGQUIT);
    sigaddset(&wanted, SIGUSR2);
    char err[ERR_LEN];
    for (int i = 0; i < a->n_listen; i++, w.n++)
        if (listener_start(&w, &w.l[i], a->listen_fds[i], err) != 0) {
            log_msg(LOG_ERROR, "Worker failed to boot: %s", err);
            w.n++; /* free_listeners releases what the failed one holds */
            goto boot_error;
        }
    if (a->grpc_fd >= 0 && grpc_start_listener(&w, a->grpc_fd, err) != 0) {
        log_msg(LOG_ERROR, "Worker failed to boot: %s", err);
        goto boot_error;
    }
    atomic_store(&w.slot->pid, (int)getpid());
    log_msg(LOG_INFO, "Booting worker with pid: %d", (int)getpid());

    const char *why = NULL;
    int quick = 0;
    while (!why) {
        struct timespec tick = {0, 200 * 1000000};
        int sig = sigtimedwait(&wanted, NULL, &tick);
        int64_t now = clock_coarse_ms();
        atomic_store_explicit(&w.slot->heartbeat_ms, now, memory_order_relaxed);
        for (int i = 0; i < w.n; i++) /* slow clients: past their deadline, shut down */
            http_sweep(w.l[i].http, (int64_t)(a->cfg->header_timeout * 1000),
                       (int64_t)(a->cfg->body_timeout * 1000));
        if (a->access_fd >= 0) access_flush(&w);
        atomic_store_explicit(&w.slot->connections, open_connections(&w), memory_order_relaxed);
        if (sig == SIGTERM)
            why = "TERM";
        else if (sig == SIGINT || sig == SIGQUIT)
            why = "quick shutdown", quick = 1;
        else if (atomic_load(&w.recycle))
            why = "max requests reached";
        else if (getppid() != master)
            why = "master is gone";
    }
    if (!quick) drain(&w, why);
    free_listeners(&w);
    if (a->access_fd >= 0) access_flush(&w);
    log_msg(LOG_INFO, "Worker exiting (pid: %d)", (int)getpid());
    return 0;

boot_error:
    free_listeners(&w);
    atomic_store(&w.slot->accepting, 0);
    return WORKER_EXIT_BOOT_ERROR;
}
