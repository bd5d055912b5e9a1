/* worker — the HTTP side of a worker process. Request path, top to bottom:
 * on_request (first call: limits; body calls: accumulate; last call: api_handle)
 * -> respond() (response, metrics, access log) -> on_completed (recycle state). */
#define _GNU_SOURCE
#include "serve/worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "serve/api.h"
#include "serve/conntrack.h"
#include "serve/log.h"
#include "base/clock.h"
#include "base/err.h"

#define ACCESS_BUF    32768
#define KEEP_BODY_CAP 65536 /* a recycled request keeps a body buffer up to this size */

typedef struct worker worker;

typedef struct request {
    struct request *next_free;
    char *body;
    size_t body_len, body_cap;
    uint64_t start_ns;
    const char *content_type;     /* the request's header (in MHD's connection pool), or NULL */
    const char *inference_header; /* Inference-Header-Content-Length, or NULL */
    int answered;                 /* a response is queued: ignore the rest of the upload */
    int too_large;                /* the body is over the limit: read and drop it, then 413 */
    size_t discarded;             /* body bytes read and dropped */
} request;

typedef struct {
    worker *w;
    api *api;
    struct MHD_Daemon *daemon;
    int fd;
    request *free_list; /* touched only by this listener's MHD thread */
    conntrack *conns;   /* open connections by phase: deadlines and eviction */
} listener;

struct worker {
    const worker_args *a;
    stats_worker *slot;
    listener l[CONFIG_MAX_BINDS];
    int n;
    volatile int draining;
    atomic_int open_connections;
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
static void access_log(worker *w, struct MHD_Connection *c, const char *method, const char *url,
                       const char *version, int status, size_t bytes)
{
    char host[INET6_ADDRSTRLEN] = "-", when[40], line[4096];
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof host);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof host);
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S +0000", &tm);
    const char *ref = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Referer");
    const char *ua = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent");
    char m[68], u[2052], v[68], rf[516], a[804];
    log_text(m, sizeof m, method, 16);
    log_text(u, sizeof u, url, 512);
    log_text(v, sizeof v, version, 16);
    log_text(rf, sizeof rf, ref ? ref : "-", 128);
    log_text(a, sizeof a, ua ? ua : "-", 200);
    int n = snprintf(line, sizeof line, "%s - - [%s] \"%s %s %s\" %d %zu \"%s\" \"%s\"\n", host, when, m, u,
                     v, status, bytes, rf, a);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = sizeof line - 1;
    pthread_mutex_lock(&w->access_lock);
    if (w->access_used + (size_t)n > ACCESS_BUF) access_flush_locked(w);
    memcpy(w->access_buf + w->access_used, line, (size_t)n);
    w->access_used += (size_t)n;
    pthread_mutex_unlock(&w->access_lock);
}

/* ---- the request path ---------------------------------------------------- */

static enum MHD_Result respond(listener *l, struct MHD_Connection *c, request *r, const api_response *res,
                               const char *method, const char *url, const char *version, int must_close)
{
    worker *w = l->w;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(res->body_len, (void *)res->body, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    if (res->allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, res->allow);
    if (res->inference_header_len > 0) {
        char n[24];
        snprintf(n, sizeof n, "%ld", res->inference_header_len);
        MHD_add_response_header(resp, "Inference-Header-Content-Length", n);
    }
    /* draining: each client learns to go elsewhere with its next answer */
    if (must_close || w->draining) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)res->status, resp);
    MHD_destroy_response(resp);
    r->answered = 1;
    uint64_t latency = clock_ns() - r->start_ns;
    stats_record(w->slot, res->route, res->status, latency);
    stats_record_model(w->slot, res->model_slot, res->status, latency, res->predictions);
    if (res->predictions)
        atomic_fetch_add_explicit(&w->slot->predictions, (uint64_t)res->predictions, memory_order_relaxed);
    if (w->a->access_fd >= 0) access_log(w, c, method, url, version, res->status, res->body_len);
    long done = atomic_fetch_add(&w->requests_done, 1) + 1;
    if (w->a->max_requests && done == w->a->max_requests) {
        atomic_store(&w->recycle, 1);
        kill(getpid(), SIGUSR2); /* wake the main thread now: stop accepting before the next tick */
    }
    return ok;
}

/* An error found by the transport: answer now and close the connection. */
static enum MHD_Result reject(listener *l, struct MHD_Connection *c, request *r, int status,
                              stats_route route, const char *msg, const char *method, const char *url,
                              const char *version)
{
    api_response res;
    api_error(l->api, &res, status, msg);
    res.route = route;
    return respond(l, c, r, &res, method, url, version, 1);
}

/* Bytes of an over-limit body read and dropped before giving up on the connection. */
static unsigned long long discard_cap(const serve_config *cfg)
{
    return 4ull * (unsigned long long)cfg->limit_request_body + 65536;
}

/* One pass over the request headers: counts and sizes for the limits, and the
 * few values the handler reads (the first of each, as MHD's lookup would give). */
typedef struct {
    long count, too_long, limit;
    size_t bytes;                                  /* request header block, as sent (name: value CRLF) */
    int content_lengths, transfer_encodings, host; /* how many of each */
    int bad_byte;                                  /* a NUL, CR or LF inside a name or value */
    int bad_name;                                  /* a name that is not a token (a space before the colon) */
    const char *content_type, *content_length, *expect, *transfer_encoding;
    const char *inference_header; /* Inference-Header-Content-Length (the binary tensor extension) */
} header_scan;

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || (c >= '0' && c <= '9') ||
           (c > 0x20 && c < 0x7f && strchr("!#$%&'*+.^_`|~", c));
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                   const char *value, size_t value_size)
{
    (void)kind;
    header_scan *h = cls;
    h->count++;
    h->bytes += key_size + value_size + 4;
    if (key_size + value_size + 2 > (size_t)h->limit) h->too_long++;
    /* libmicrohttpd splits lines at LF; a NUL or a bare CR would reach the handler */
    if (strlen(value) != value_size || memchr(value, '\r', value_size) || strlen(key) != key_size)
        h->bad_byte = 1;
    /* a name is a token (RFC 9110 5.1): "Content-Length :" must not pass as another header */
    for (size_t i = 0; i < key_size; i++)
        if (!is_tchar((unsigned char)key[i])) h->bad_name = 1;
    const char **slot = NULL;
    if (key_size == 12 && strcasecmp(key, MHD_HTTP_HEADER_CONTENT_TYPE) == 0)
        slot = &h->content_type;
    else if (key_size == 14 && strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        slot = &h->content_length, h->content_lengths++;
    else if (key_size == 6 && strcasecmp(key, MHD_HTTP_HEADER_EXPECT) == 0)
        slot = &h->expect;
    else if (key_size == 17 && strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        slot = &h->transfer_encoding, h->transfer_encodings++;
    else if (key_size == 4 && strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
        h->host++;
    else if (key_size == 31 && strcasecmp(key, "Inference-Header-Content-Length") == 0)
        slot = &h->inference_header;
    if (slot && !*slot) *slot = value;
    return MHD_YES;
}

/* RFC 9112 section 6.3, as nginx applies it: exactly one way to know where the
 * body ends, or an error answered with "Connection: close", so that bytes after
 * an ambiguous body are never read as a next request. Returns NULL, or the
 * message with *status (400, or 501 for a transfer coding tabserve lacks). */
static const char *framing_error(const header_scan *h, const char *method, const char *version, int *status)
{
    *status = 400;
    if (h->bad_byte) return "a header holds a NUL, CR or LF byte";
    if (h->bad_name) return "a header name is not a token (a space before the colon?)";
    if (h->host == 0 && strcmp(version, MHD_HTTP_VERSION_1_1) == 0)
        return "an HTTP/1.1 request needs a Host header";
    if (h->host > 1) return "more than one Host header";
    if (h->content_lengths > 1) return "more than one Content-Length header: the body's length is ambiguous";
    if (h->transfer_encodings > 1) return "more than one Transfer-Encoding header";
    if (h->content_length) {
        const char *p = h->content_length;
        if (!*p) return "Content-Length is empty";
        for (; *p; p++)
            if (*p < '0' || *p > '9') return "Content-Length must be a decimal number of bytes";
    }
    if (!h->transfer_encoding) {
        /* a body of unknown length: its bytes would be read as a next request */
        *status = 411;
        if (!h->content_length &&
            (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0))
            return "a request with a body needs Content-Length or Transfer-Encoding: chunked";
        return NULL;
    }
    if (h->content_length) return "both Content-Length and Transfer-Encoding: the body's length is ambiguous";
    /* the codings, comma-separated: chunked must be the last, and tabserve
     * (libmicrohttpd) decodes no other; "chunked" must be the value exactly */
    const char *te = h->transfer_encoding, *last = strrchr(te, ',');
    last = last ? last + 1 : te;
    while (*last == ' ' || *last == '\t') last++;
    if (strncasecmp(last, "chunked", 7) != 0 || (last[7] && last[7] != ' ' && last[7] != '\t'))
        return "Transfer-Encoding must end with chunked: the body's length cannot be known";
    *status = 501;
    if (last != te) return "only the chunked transfer coding is supported";
    if (strcasecmp(te, "chunked") != 0)
        return "Transfer-Encoding: only the exact value \"chunked\" is supported";
    return NULL;
}

/* The path of a request target: an absolute-form target ("http://host:port/healthz",
 * what a client sends to a proxy) is served by its path (RFC 9112 3.2.2). */
static const char *target_path(const char *url)
{
    size_t scheme = strncasecmp(url, "http://", 7) == 0 ? 7 : strncasecmp(url, "https://", 8) == 0 ? 8 : 0;
    if (!scheme) return url;
    const char *slash = strchr(url + scheme, '/');
    return slash ? slash : "/";
}

static void set_phase(listener *l, struct MHD_Connection *c, conn_phase phase)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci && ci->socket_context) conntrack_phase(l->conns, ci->socket_context, phase, clock_coarse_ms());
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **ctx)
{
    listener *l = cls;
    worker *w = l->w;
    const serve_config *cfg = w->a->cfg;
    request *r = *ctx;
    char msg[160];

    if (!r) { /* first call: headers are in; check the limits before any body */
        if ((r = l->free_list))
            l->free_list = r->next_free;
        else if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        r->body_len = 0;
        r->discarded = 0;
        r->too_large = 0;
        r->answered = 0;
        r->content_type = NULL;
        r->inference_header = NULL;
        r->start_ns = clock_ns();
        *ctx = r;
        set_phase(l, c, CONN_BODY);
        atomic_fetch_add_explicit(&w->slot->in_flight, 1, memory_order_relaxed);
        if ((long)strlen(url) > cfg->limit_request_line) {
            snprintf(msg, sizeof msg,
                     "request target is %zu bytes, over the limit of %ld (--limit-request-line)", strlen(url),
                     cfg->limit_request_line);
            return reject(l, c, r, 414, ROUTE_OTHER, msg, method, "(too long)", version);
        }
        header_scan h = {.limit = cfg->limit_request_field_size};
        MHD_get_connection_values_n(c, MHD_HEADER_KIND, scan_header, &h);
        r->content_type = h.content_type;
        r->inference_header = h.inference_header;
        int status;
        const char *framing = framing_error(&h, method, version, &status);
        if (framing)
            return reject(l, c, r, status, api_route(method, target_path(url)), framing, method, url,
                          version);
        if (strlen(url) + strlen(method) + h.bytes + 16 > (size_t)cfg->limit_request_headers) {
            snprintf(msg, sizeof msg, "request line and headers are over %ld bytes (--limit-request-headers)",
                     cfg->limit_request_headers);
            return reject(l, c, r, 431, api_route(method, target_path(url)), msg, method, url, version);
        }
        if (h.count > cfg->limit_request_fields || h.too_long) {
            snprintf(msg, sizeof msg,
                     h.too_long ? "a header field is over %ld bytes (--limit-request-field_size)"
                                : "more than %ld header fields (--limit-request-fields)",
                     h.too_long ? cfg->limit_request_field_size : cfg->limit_request_fields);
            return reject(l, c, r, 431, api_route(method, target_path(url)), msg, method, url, version);
        }
        const char *cl = h.content_length;
        unsigned long long announced = cl ? strtoull(cl, NULL, 10) : 0;
        if (announced > (unsigned long long)cfg->limit_request_body) {
            /* Answering now is only safe if the client waits for "100 Continue" or
             * the body is too big to read anyway: closing on a client that is still
             * sending makes the kernel reset the connection, and the client never
             * sees the 413. Otherwise the body is read, dropped, and answered. */
            if ((h.expect && strcasecmp(h.expect, "100-continue") == 0) || announced > discard_cap(cfg)) {
                snprintf(msg, sizeof msg,
                         "body of %.20s bytes is over the limit of %ld (--limit-request-body)", cl,
                         cfg->limit_request_body);
                return reject(l, c, r, 413, api_route(method, target_path(url)), msg, method, url, version);
            }
            r->too_large = 1;
        }
        return MHD_YES;
    }

    if (*upload_size) { /* a piece of the body */
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->answered) return MHD_YES;
        /* A body past the limit (announced, or chunked and growing): 0.9.75 takes a
         * response only before or after the body, so drop the rest and answer 413 at
         * its end; one that goes on past the discard cap (or never ends) gets its
         * connection closed. Memory stays at the limit either way. */
        if (r->too_large || r->body_len + n > (size_t)cfg->limit_request_body) {
            r->too_large = 1;
            r->discarded += n;
            if (r->discarded > discard_cap(cfg)) {
                log_msg(LOG_WARNING, "closing a connection whose body went on past 4x --limit-request-body");
                return MHD_NO;
            }
            return MHD_YES;
        }
        if (r->body_len + n > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 4096;
            while (cap < r->body_len + n) cap *= 2;
            char *nb = realloc(r->body, cap);
            if (!nb) return MHD_NO;
            r->body = nb;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload, n);
        r->body_len += n;
        return MHD_YES;
    }
    if (r->answered) return MHD_YES;
    if (r->too_large) {
        snprintf(msg, sizeof msg, "body is over the limit of %ld bytes (--limit-request-body)",
                 cfg->limit_request_body);
        return reject(l, c, r, 413, api_route(method, target_path(url)), msg, method, url, version);
    }

    /* the whole request is in: answer it */
    set_phase(l, c, CONN_BUSY);
    atomic_store_explicit(&w->slot->busy_since_ms, clock_coarse_ms(), memory_order_relaxed);
    if (w->a->test_hooks) {
        const char *stall = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Tabserve-Test-Stall");
        if (stall) sleep((unsigned)atoi(stall));
    }
    api_request req = {method,      target_path(url),   r->content_type, r->body ? r->body : "",
                       r->body_len, r->inference_header};
    api_response res;
    api_handle(l->api, &req, &res);
    atomic_store_explicit(&w->slot->busy_since_ms, 0, memory_order_relaxed);
    return respond(l, c, r, &res, method, url, version, 0);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    listener *l = cls;
    request *r = *ctx;
    set_phase(l, c, CONN_HEADERS); /* waiting for the next request on this connection */
    if (!r) return;
    *ctx = NULL;
    atomic_fetch_sub_explicit(&l->w->slot->in_flight, 1, memory_order_relaxed);
    if (r->body_cap > KEEP_BODY_CAP) {
        free(r->body);
        r->body = NULL;
        r->body_cap = 0;
    }
    r->next_free = l->free_list;
    l->free_list = r;
}

/* Connections come and go: counted for the drain, tracked for the deadlines.
 * At the connection limit a new one first evicts the connection that has waited
 * longest for its headers (a slow sender, or an idle keep-alive connection, as
 * nginx reuses those): a client that sends its request at once gets in past any
 * number of slow ones, which churn among themselves. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    listener *l = cls;
    if (code != MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_sub(&l->w->open_connections, 1);
        if (*socket_ctx) conntrack_close(l->conns, *socket_ctx);
        *socket_ctx = NULL;
        return;
    }
    atomic_fetch_add(&l->w->open_connections, 1);
    int64_t now = clock_coarse_ms();
    if (conntrack_count(l->conns) >= l->w->a->cfg->worker_connections)
        conntrack_evict_slowest(l->conns, now, 0);
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    *socket_ctx = ci ? conntrack_open(l->conns, ci->connect_fd, now) : NULL;
}

/* Decodes %XX in the request target as libmicrohttpd does, except that a target
 * whose decoding holds a NUL stays as sent: decoded, "/model%00.json" would end
 * at the NUL and match "/model"; as sent it matches nothing (404). */
static size_t unescape_target(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char buf[8192];
    size_t len = strlen(s);
    if (len >= sizeof buf) return len; /* over every limit anyway: 414 as sent */
    memcpy(buf, s, len + 1);
    size_t n = MHD_http_unescape(buf);
    if (memchr(buf, 0, n)) return len;
    memcpy(s, buf, n + 1);
    return n;
}

/* libmicrohttpd answers some malformed requests itself (bad Content-Length or
 * chunk framing, an unsupported HTTP version) before our handler runs, and
 * reports each through this logger as "... HTTP response code is NNN ...":
 * that line is where such a request is counted (route "unparsed"). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    listener *l = cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = 0;
    const char *code = strstr(line, "HTTP response code is ");
    if (code && l) {
        int status = atoi(code + strlen("HTTP response code is "));
        if (status >= 400 && status <= 599) stats_record_unparsed(l->w->slot, status);
    }
    log_msg(LOG_DEBUG, "libmicrohttpd: %s", line);
}

/* ---- the process --------------------------------------------------------- */

/* One listener's HTTP daemon: on l->fd, or on no listening socket (detached:
 * connections are handed in with MHD_add_connection, as the fuzzer does). */
static struct MHD_Daemon *start_http(listener *l, const worker_args *a, int detached)
{
    /* the per-connection pool holds the request line, headers and response
     * headers; it is most of a worker's memory (connections x pool) and
     * libmicrohttpd clears it for every request, so it is sized by its own
     * limit: twice the size measured 8% fewer requests a second and 0.4 MB more
     * per worker (docs/RELIABILITY.md) */
    size_t mem = (size_t)a->cfg->limit_request_headers;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_TURBO | MHD_USE_ERROR_LOG;
    /* detached, the listening socket's place carries a harmless option taking the
     * same int-sized argument (libmicrohttpd refuses a socket with no-listen) */
    return MHD_start_daemon(
        flags | (detached ? MHD_USE_NO_LISTEN_SOCKET : 0), 0, NULL, NULL, on_request, l,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, l, /* first, so that every message comes here */
        detached ? MHD_OPTION_LISTEN_BACKLOG_SIZE : MHD_OPTION_LISTEN_SOCKET, detached ? 16 : l->fd,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)(a->cfg->keep_alive + 0.5),
        /* one over the limit: a new connection is always accepted, and at the
         * limit it evicts the slowest sender of headers (on_connection) */
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)a->cfg->worker_connections + 1,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem, MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, l, MHD_OPTION_UNESCAPE_CALLBACK, unescape_target, NULL,
        MHD_OPTION_END);
}

/* The worker's shared state for the arguments (the access log lock, its stats slot). */
static void worker_init(worker *w, const worker_args *a)
{
    memset(w, 0, sizeof *w);
    w->a = a;
    w->slot = &a->stats->w[a->slot];
    pthread_mutex_init(&w->access_lock, NULL);
}

/* One listener of w on fd (-1: detached): its request handler, connection
 * table and HTTP daemon. Returns 0, or -1 with err. */
static int listener_start(worker *w, listener *l, int fd, char *err)
{
    const worker_args *a = w->a;
    api_options ao = {(int)a->cfg->max_batch, a->stats, &w->draining}; /* copied by api_create */
    l->w = w;
    l->fd = fd;
    if (!(l->api = api_create(a->repo, &ao, err))) return -1;
    if (!(l->conns = conntrack_create((int)a->cfg->worker_connections + 2)))
        return err_set(err, "out of memory");
    if (!(l->daemon = start_http(l, a, fd < 0)))
        return err_set(err, "libmicrohttpd could not start on fd %d", fd);
    return 0;
}

struct MHD_Daemon *worker_start_detached(const worker_args *a, char *err)
{
    static worker w;
    worker_init(&w, a);
    w.n = 1;
    return listener_start(&w, &w.l[0], -1, err) == 0 ? w.l[0].daemon : NULL;
}

static void free_listeners(worker *w)
{
    for (int i = 0; i < w->n; i++) {
        listener *l = &w->l[i];
        if (l->daemon) MHD_stop_daemon(l->daemon);
        l->daemon = NULL;
        while (l->free_list) {
            request *r = l->free_list;
            l->free_list = r->next_free;
            free(r->body);
            free(r);
        }
        api_free(l->api);
        l->api = NULL;
        conntrack_free(l->conns);
        l->conns = NULL;
    }
}

static void drain(worker *w, const char *why)
{
    const serve_config *cfg = w->a->cfg;
    log_msg(LOG_INFO, "Worker draining (%s)", why);
    w->draining = 1;
    for (int i = 0; i < w->n; i++) {
        int fd = MHD_quiesce_daemon(w->l[i].daemon);
        if (fd >= 0) close(fd); /* our copy only; the master and other workers keep theirs */
    }
    int64_t deadline = clock_coarse_ms() + (int64_t)(cfg->graceful_timeout * 1000);
    while (atomic_load(&w->open_connections) > 0 && clock_coarse_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
        atomic_store_explicit(&w->slot->heartbeat_ms, clock_coarse_ms(), memory_order_relaxed);
    }
    if (atomic_load(&w->open_connections) > 0)
        log_msg(LOG_WARNING, "Worker graceful timeout: closing %d connection(s)",
                atomic_load(&w->open_connections));
}

int worker_run(const worker_args *a)
{
    static worker w; /* one per process; static keeps 32 KiB of log buffer off the stack */
    worker_init(&w, a);
    pid_t master = getppid();
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
            conntrack_sweep(w.l[i].conns, now, (int64_t)(a->cfg->header_timeout * 1000),
                            (int64_t)(a->cfg->body_timeout * 1000));
        if (a->access_fd >= 0) access_flush(&w);
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
    return WORKER_EXIT_BOOT_ERROR;
}
