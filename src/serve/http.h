/* http — the HTTP/1.1 side of one listening socket: an epoll loop on its own
 * thread, each connection's bytes parsed by llhttp (Node.js's parser, strict:
 * it refuses Content-Length with Transfer-Encoding, repeated or malformed
 * lengths, bad header bytes and bad chunk framing itself), and the rules of
 * RFC 9112 that are the server's to apply: one Host, a length for every body,
 * chunked as the only transfer coding, HTTP/1.x only, the gunicorn limits
 * (request line, header count, field size, header block, body), deadlines by
 * phase (conntrack.h), keep-alive and pipelining. Every error is answered once,
 * with the byte offset where the request went wrong, and the connection closed
 * after it (lingering, so the client reads the answer before the close).
 *
 * A whole request goes to handler.handle; answers the transport gives itself
 * (limits, framing) are built by handler.reject so that they look like the
 * API's own errors; handler.answered sees every answer just before it is
 * sent (metrics, access log: a client that has its answer finds it counted). */
#ifndef TABSERVE_HTTP_H
#define TABSERVE_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct http_server http_server;

typedef struct {
    /* the request line, as far as it was read (NULL: not read) */
    const char *method;  /* "GET" */
    const char *path;    /* the target's path, %XX-decoded, without the query */
    const char *target;  /* the target as sent (for logs) */
    const char *version; /* "HTTP/1.1", "HTTP/1.0" */
    int unreadable;      /* the parser refused it (or its HTTP version): no route to count it by */
    const char *content_type, *inference_header, *referer, *user_agent, *test_stall; /* NULL: absent */
    const char *content_encoding; /* NULL: absent (identity) */
    const char *accept_encoding;  /* NULL: absent */
    const char *body;
    size_t body_len;
    const char *client; /* the peer's address as text ("-" for a unix socket) */
    uint64_t start_ns;  /* when the request's headers were complete */
} http_request;

typedef struct {
    int status;
    const char *content_type;
    const char *allow;         /* NULL: no Allow header */
    long inference_header_len; /* > 0: send Inference-Header-Content-Length */
    const char
        *content_encoding; /* NULL: identity; else the body is encoded so (and varies by Accept-Encoding) */
    const char *body;      /* the handler's; valid until its next call */
    size_t body_len;
} http_response;

typedef struct {
    void *ctx;
    void (*handle)(void *ctx, const http_request *req, http_response *res);
    void (*reject)(void *ctx, const http_request *req, int status, const char *message, http_response *res);
    void (*answered)(void *ctx, const http_request *req, const http_response *res);
    /* NULL, or: 0 to leave a waiting connection to another process sharing the
     * socket (asked again on the next wake-up, at most a few times in a row) */
    int (*may_accept)(void *ctx);
} http_handler;

typedef struct {
    long limit_request_line, limit_request_fields, limit_request_field_size, limit_request_headers;
    long limit_request_body;
    long max_connections;         /* at the limit a new connection evicts the slowest sender of headers */
    int64_t keep_alive_ms;        /* a connection with no traffic this long is closed */
    const volatile int *draining; /* non-zero: every answer says "Connection: close" */
} http_limits;

/* Starts the loop thread on listen_fd (-1: none; connections come from
 * http_add_connection). NULL with err on failure. */
http_server *http_start(int listen_fd, const http_limits *lim, const http_handler *h, char *err);

/* Hands an accepted, connected socket to the loop (the fuzzer's way in). */
int http_add_connection(http_server *s, int fd);

/* Stops accepting and closes this process's copy of the listening socket. */
void http_quiesce(http_server *s);

/* Open connections now (for the drain). */
int http_open_connections(http_server *s);

/* Shuts down connections past their phase's deadline (0: none); any thread. */
void http_sweep(http_server *s, int64_t header_ms, int64_t body_ms);

/* Stops the loop, closes every connection, frees s. */
void http_stop(http_server *s);

#endif
