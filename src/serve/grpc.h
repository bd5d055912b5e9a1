/* grpc — gRPC's transport on one listening socket: cleartext HTTP/2 with
 * prior knowledge (h2c, as gRPC clients speak it without TLS), framed by
 * nghttp2, on an epoll loop of its own thread, as http.h is for HTTP/1.1.
 *
 * A call is a stream: HEADERS (POST, :path the method, content-type
 * application/grpc), one length-prefixed message (compressed when the
 * client's grpc-encoding is gzip or deflate), END_STREAM. It is answered
 * once, when whole: headers, the length-prefixed reply and the trailers
 * (grpc-status, grpc-message), or a trailers-only answer for an error.
 *
 * Limits (grpc_limits): the message's size (RESOURCE_EXHAUSTED past it, the
 * rest of the stream discarded), streams open at once per connection
 * (SETTINGS_MAX_CONCURRENT_STREAMS; nghttp2 refuses more), the header
 * block's size, and deadlines: a stream whose request is not whole, or
 * whose answer the client does not take (a window of 0), within body_ms is
 * reset; a connection that sends no preface within header_ms, or has no
 * stream for idle_ms, gets GOAWAY and is closed. Flow-control windows are
 * sized to the message limit, so a large request is never throttled.
 * Draining (grpc_quiesce): GOAWAY to every connection, the calls begun
 * finish, then each connection closes. */
#ifndef TABSERVE_GRPC_H
#define TABSERVE_GRPC_H

#include <stddef.h>
#include <stdint.h>

#include "serve/grpc_service.h"

typedef struct grpc_server grpc_server;

/* What the handler hears of one call, besides its message. */
typedef struct {
    const char *path;   /* :path, the method ("/inference.GRPCInferenceService/ModelInfer"); NULL: none */
    const char *client; /* the peer's address as text */
    const char *user_agent;
    uint64_t start_ns; /* when its headers began */
} grpc_call_info;

typedef struct {
    void *ctx;
    /* one whole call: msg is the request message, decompressed */
    void (*call)(void *ctx, const grpc_call_info *info, const uint8_t *msg, size_t len, grpc_reply *out);
    /* every answer, the transport's own refusals included, as it is sent */
    void (*answered)(void *ctx, const grpc_call_info *info, const grpc_reply *r);
    /* NULL, or 0 to leave a waiting connection to another process (http.h) */
    int (*may_accept)(void *ctx);
    /* NULL, or told the open connections' count whenever it changes (for may_accept's peers) */
    void (*connections)(void *ctx, int open);
} grpc_handler;

typedef struct {
    long max_message;             /* bytes of one request message */
    long max_streams;             /* streams open at once on one connection */
    long max_header_bytes;        /* one stream's header block */
    long max_connections;         /* open at once; more wait in the backlog */
    int64_t header_ms;            /* a new connection's preface must arrive within this; 0: no limit */
    int64_t body_ms;              /* a stream's request, and its answer's delivery, within this; 0: none */
    int64_t idle_ms;              /* a connection without streams this long is closed (GOAWAY); 0: never */
    const volatile int *draining; /* non-zero: new connections are told GOAWAY at once */
} grpc_limits;

/* Starts the loop thread on listen_fd (-1: none; connections come from
 * grpc_add_connection). NULL with err on failure. */
grpc_server *grpc_start(int listen_fd, const grpc_limits *lim, const grpc_handler *h, char *err);

/* Hands an accepted, connected socket to the loop (the fuzzer's way in). */
int grpc_add_connection(grpc_server *s, int fd);

/* Stops accepting, closes this process's copy of the listening socket and
 * sends GOAWAY on every connection: the calls begun finish. */
void grpc_quiesce(grpc_server *s);

/* Open connections now (for the drain). */
int grpc_open_connections(grpc_server *s);

/* Stops the loop, closes every connection, frees s. */
void grpc_stop(grpc_server *s);

#endif
