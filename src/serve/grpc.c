/* grpc — gRPC over cleartext HTTP/2 with nghttp2 (grpc.h). One thread runs
 * an epoll loop over the listening socket, a wake-up eventfd and the
 * connections; each connection is an nghttp2 server session fed by
 * nghttp2_session_mem_recv and drained by nghttp2_session_mem_send into the
 * socket (what the socket does not take waits in the connection's buffer). */
#define _GNU_SOURCE
#include "serve/grpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "serve/inflate.h"

#define READ_CHUNK     65536
#define MAX_PENDING    ((size_t)64 << 20) /* bytes waiting for a socket that does not read: then close */
#define SWEEP_EVERY_MS 100
#define MAX_DEFERRALS  4
/* between the shutdown notice (GOAWAY with the largest stream id) and the final
 * GOAWAY: a round trip's room for streams the client sent before it heard */
#define GOAWAY_GRACE_MS 500

typedef struct conn conn;

typedef struct stream {
    conn *c;
    int32_t id;
    char path[256];
    char encoding[24];
    char user_agent[160];
    int post, grpc_type, path_too_long, bad_header;
    size_t header_bytes;
    uint8_t *body; /* the request's bytes: a 5-byte prefix, then the message */
    size_t len, cap;
    int over; /* the message passed the limit: answered, the rest discarded */
    int64_t start_ms;
    uint64_t start_ns;
    int answered;
    int64_t answered_ms;
    uint8_t *out; /* the framed reply */
    size_t out_len, out_sent;
    char status[8];
    char message[1600]; /* grpc-message, percent-encoded */
    struct stream *next, *prev;
} stream;

struct conn {
    grpc_server *s;
    int fd;
    nghttp2_session *h2;
    char client[64];
    uint8_t *wbuf;
    size_t wlen, wcap;
    int64_t opened_ms, idle_since_ms;
    int frames_seen, goaway, dead, out_interest, closing;
    int64_t goaway_ms; /* when the shutdown notice went (goaway 1), for the final GOAWAY */
    size_t buffered;   /* request bytes held by its streams */
    stream *streams;
    conn *next, *prev;
};

struct grpc_server {
    int listen_fd, epfd, wake_fd;
    grpc_limits lim;
    grpc_handler h;
    nghttp2_session_callbacks *cbs;
    nghttp2_option *opt;
    pthread_t th;
    atomic_int stop, quiesce, quiesced, n_open;
    int deferrals;
    pthread_mutex_t handed_lock; /* connections handed over by grpc_add_connection */
    int handed[64];
    int n_handed;
    conn *conns;
    int64_t next_sweep_ms;
};

/* ---- the answer ---------------------------------------------------------- */

/* grpc-message: percent-encoded outside printable ASCII, and '%' itself. */
static void percent_encode(char *dst, size_t cap, const char *src)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (; *src && k + 4 < cap; src++) {
        unsigned char ch = (unsigned char)*src;
        if (ch < 0x20 || ch > 0x7e || ch == '%') {
            dst[k++] = '%';
            dst[k++] = hex[ch >> 4];
            dst[k++] = hex[ch & 15];
        } else {
            dst[k++] = (char)ch;
        }
    }
    dst[k] = 0;
}

#define NV(n, v)                                                                                             \
    {                                                                                                        \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE                       \
    }

static ssize_t read_reply(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                          nghttp2_data_source *source, void *user)
{
    (void)user;
    stream *st = source->ptr;
    size_t n = st->out_len - st->out_sent;
    if (n > length) n = length;
    memcpy(buf, st->out + st->out_sent, n);
    st->out_sent += n;
    if (st->out_sent == st->out_len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_nv trailers[] = {NV("grpc-status", st->status)};
        if (nghttp2_submit_trailer(h2, id, trailers, 1) != 0) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return (ssize_t)n;
}

/* Sends r on st: headers, the framed message and the trailers, or for an
 * error the trailers alone (a trailers-only answer). */
static void submit_reply(stream *st, const grpc_reply *r, int http_status)
{
    conn *c = st->c;
    st->answered = 1;
    st->answered_ms = clock_coarse_ms();
    snprintf(st->status, sizeof st->status, "%d", r->code);
    char http[8];
    snprintf(http, sizeof http, "%d", http_status);
    if (r->code == GRPC_OK && r->body) {
        if ((st->out = malloc(r->len + 5))) {
            st->out[0] = 0; /* not compressed */
            st->out[1] = (uint8_t)(r->len >> 24);
            st->out[2] = (uint8_t)(r->len >> 16);
            st->out[3] = (uint8_t)(r->len >> 8);
            st->out[4] = (uint8_t)r->len;
            memcpy(st->out + 5, r->body, r->len);
            st->out_len = r->len + 5;
            nghttp2_nv head[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                                 NV("grpc-accept-encoding", "identity,deflate,gzip")};
            nghttp2_data_provider data = {.source.ptr = st, .read_callback = read_reply};
            if (nghttp2_submit_response(c->h2, st->id, head, 3, &data) == 0) return;
            free(st->out);
            st->out = NULL;
        }
        snprintf(st->status, sizeof st->status, "%d", GRPC_RESOURCE_EXHAUSTED);
        snprintf(st->message, sizeof st->message, "out of memory");
    } else {
        percent_encode(st->message, sizeof st->message, r->message);
    }
    nghttp2_nv only[] = {NV(":status", http), NV("content-type", "application/grpc"),
                         NV("grpc-status", st->status), NV("grpc-message", st->message)};
    nghttp2_submit_response(c->h2, st->id, only, 4, NULL);
}

static void reply_error(stream *st, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The transport's own refusal of st's call. */
static void reply_error(stream *st, int code, const char *fmt, ...)
{
    grpc_reply r = {.code = code, .model_slot = -1};
    r.method = grpc_method_of(st->path[0] ? st->path : NULL);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r.message, sizeof r.message, fmt, ap);
    va_end(ap);
    submit_reply(st, &r, 200);
    grpc_call_info info = {st->path[0] ? st->path : NULL, st->c->client, st->user_agent, st->start_ns};
    if (st->c->s->h.answered) st->c->s->h.answered(st->c->s->h.ctx, &info, &r);
}

/* ---- a whole call ----------------------------------------------------------- */

static void release_body(stream *st)
{
    st->c->buffered -= st->cap;
    free(st->body);
    st->body = NULL;
    st->len = st->cap = 0;
}

static void run_call(stream *st)
{
    grpc_server *s = st->c->s;
    long max = s->lim.max_message;
    if (!st->post) {
        reply_error(st, GRPC_UNIMPLEMENTED, "a gRPC call is a POST");
        return;
    }
    if (st->path_too_long || !st->path[0]) {
        reply_error(st, GRPC_UNIMPLEMENTED, "no such method (a :path of at most 255 bytes names one)");
        return;
    }
    if (!st->grpc_type) {
        grpc_reply r = {.code = GRPC_INVALID_ARGUMENT, .model_slot = -1, .method = grpc_method_of(st->path)};
        snprintf(r.message, sizeof r.message, "content-type must be application/grpc");
        submit_reply(st, &r, 415);
        grpc_call_info info = {st->path, st->c->client, st->user_agent, st->start_ns};
        if (s->h.answered) s->h.answered(s->h.ctx, &info, &r);
        return;
    }
    if (st->len < 5) {
        reply_error(st, GRPC_INTERNAL, "the request has %zu bytes: a message needs its 5-byte prefix",
                    st->len);
        return;
    }
    uint32_t n =
        (uint32_t)st->body[1] << 24 | (uint32_t)st->body[2] << 16 | (uint32_t)st->body[3] << 8 | st->body[4];
    if ((size_t)n + 5 > st->len) {
        reply_error(st, GRPC_INTERNAL, "the message is truncated: its prefix says %u bytes, %zu arrived", n,
                    st->len - 5);
        return;
    }
    if ((size_t)n + 5 < st->len) {
        reply_error(st, GRPC_UNIMPLEMENTED,
                    "%zu bytes follow the first message: these methods take one message (unary)",
                    st->len - 5 - n);
        return;
    }
    const uint8_t *msg = st->body + 5;
    char *plain = NULL;
    size_t plain_len = n;
    if (st->body[0] > 1) {
        reply_error(st, GRPC_INTERNAL, "the message's compressed flag is %u (0 or 1)", st->body[0]);
        return;
    }
    if (st->body[0] == 1) {
        if (!st->encoding[0] || strcmp(st->encoding, "identity") == 0) {
            reply_error(st, GRPC_INTERNAL, "a compressed message without grpc-encoding");
            return;
        }
        char err[ERR_LEN];
        int rc = body_inflate(st->encoding, (const char *)msg, n, max, &plain, &plain_len, err);
        if (rc == 413) {
            reply_error(st, GRPC_RESOURCE_EXHAUSTED,
                        "the message inflates past %ld bytes "
                        "(--grpc-max-message-bytes)",
                        max);
            return;
        }
        if (rc == 415) {
            reply_error(st, GRPC_UNIMPLEMENTED, "grpc-encoding %.20s is not one of gzip, deflate",
                        st->encoding);
            return;
        }
        if (rc) {
            reply_error(st, GRPC_INTERNAL, "the compressed message: %s", err);
            return;
        }
        msg = (const uint8_t *)plain;
    }
    grpc_call_info info = {st->path, st->c->client, st->user_agent, st->start_ns};
    grpc_reply r;
    s->h.call(s->h.ctx, &info, msg, plain_len, &r);
    free(plain);
    release_body(st);
    submit_reply(st, &r, 200);
    if (s->h.answered) s->h.answered(s->h.ctx, &info, &r);
    grpc_reply_free(&r);
}

/* ---- nghttp2's callbacks ---------------------------------------------------- */

static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *f, void *user)
{
    conn *c = user;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    stream *st = calloc(1, sizeof *st);
    if (!st) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    st->c = c;
    st->id = f->hd.stream_id;
    st->start_ms = clock_coarse_ms();
    st->start_ns = clock_ns();
    st->next = c->streams;
    if (c->streams) c->streams->prev = st;
    c->streams = st;
    nghttp2_session_set_stream_user_data(h2, st->id, st);
    return 0;
}

static int is(const uint8_t *a, size_t n, const char *b) { return n == strlen(b) && memcmp(a, b, n) == 0; }

static int on_header(nghttp2_session *h2, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
    (void)flags;
    conn *c = user;
    stream *st = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
    if (!st || f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    st->header_bytes += nlen + vlen + 32; /* as SETTINGS_MAX_HEADER_LIST_SIZE counts */
    if ((long)st->header_bytes > c->s->lim.max_header_bytes) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (is(name, nlen, ":method"))
        st->post = is(value, vlen, "POST");
    else if (is(name, nlen, ":path")) {
        if (vlen >= sizeof st->path)
            st->path_too_long = 1;
        else {
            memcpy(st->path, value, vlen);
            st->path[vlen] = 0;
        }
    } else if (is(name, nlen, "content-type"))
        st->grpc_type = vlen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
                        (vlen == 16 || value[16] == '+' || value[16] == ';');
    else if (is(name, nlen, "grpc-encoding")) {
        size_t n = vlen < sizeof st->encoding - 1 ? vlen : sizeof st->encoding - 1;
        memcpy(st->encoding, value, n);
        st->encoding[n] = 0;
    } else if (is(name, nlen, "user-agent")) {
        size_t n = vlen < sizeof st->user_agent - 1 ? vlen : sizeof st->user_agent - 1;
        memcpy(st->user_agent, value, n);
        st->user_agent[n] = 0;
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                         void *user)
{
    (void)flags;
    conn *c = user;
    stream *st = nghttp2_session_get_stream_user_data(h2, id);
    if (!st || st->answered || st->over) return 0; /* discarded */
    grpc_server *s = c->s;
    size_t limit = (size_t)s->lim.max_message + 5;
    if (st->len + len > limit) {
        st->over = 1;
        release_body(st);
        reply_error(st, GRPC_RESOURCE_EXHAUSTED,
                    "the request message is over the limit of %ld bytes (--grpc-max-message-bytes)",
                    s->lim.max_message);
        return 0;
    }
    if (st->len + len > st->cap) {
        size_t cap = st->cap ? st->cap : 1024;
        while (cap < st->len + len) cap *= 2;
        if (cap > limit) cap = limit;
        /* a connection holds at most a few messages' worth of requests at once */
        if (c->buffered - st->cap + cap > 4 * limit) {
            st->over = 1;
            release_body(st);
            reply_error(st, GRPC_RESOURCE_EXHAUSTED,
                        "this connection's unfinished requests hold more than %zu bytes", 4 * limit);
            return 0;
        }
        uint8_t *p = realloc(st->body, cap);
        if (!p) {
            st->over = 1;
            release_body(st);
            reply_error(st, GRPC_RESOURCE_EXHAUSTED, "out of memory");
            return 0;
        }
        c->buffered += cap - st->cap;
        st->body = p;
        st->cap = cap;
    }
    memcpy(st->body + st->len, data, len);
    st->len += len;
    return 0;
}

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *f, void *user)
{
    conn *c = user;
    c->frames_seen = 1;
    if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        stream *st = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
        if (st && !st->answered) run_call(st);
    }
    return 0;
}

static int on_stream_close(nghttp2_session *h2, int32_t id, uint32_t code, void *user)
{
    (void)code;
    conn *c = user;
    stream *st = nghttp2_session_get_stream_user_data(h2, id);
    if (!st || c->closing) return 0; /* closing: conn_close frees the streams */
    nghttp2_session_set_stream_user_data(h2, id, NULL);
    if (st->prev)
        st->prev->next = st->next;
    else
        c->streams = st->next;
    if (st->next) st->next->prev = st->prev;
    release_body(st);
    free(st->out);
    free(st);
    if (!c->streams) c->idle_since_ms = clock_coarse_ms();
    return 0;
}

/* ---- connections ------------------------------------------------------------ */

static void conn_close(conn *c)
{
    grpc_server *s = c->s;
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->closing = 1;
    nghttp2_session_del(c->h2);
    while (c->streams) { /* those nghttp2 still held, and any it never opened */
        stream *st = c->streams;
        c->streams = st->next;
        free(st->body);
        free(st->out);
        free(st);
    }
    free(c->wbuf);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    free(c);
    int open = atomic_fetch_sub(&s->n_open, 1) - 1;
    if (s->h.connections) s->h.connections(s->h.ctx, open);
}

static int pending(conn *c, const uint8_t *data, size_t n)
{
    if (c->wlen + n > MAX_PENDING) return -1;
    if (c->wlen + n > c->wcap) {
        size_t cap = c->wcap ? c->wcap : 16384;
        while (cap < c->wlen + n) cap *= 2;
        uint8_t *p = realloc(c->wbuf, cap);
        if (!p) return -1;
        c->wbuf = p;
        c->wcap = cap;
    }
    memcpy(c->wbuf + c->wlen, data, n);
    c->wlen += n;
    return 0;
}

/* Writes what nghttp2 has to send: every frame it has gathered into the
 * connection's buffer first, then as few write(2)s as the socket takes (one
 * per wake-up, however many calls it answers). 0, or -1: the connection is done. */
static int conn_flush(conn *c)
{
    int more = 1; /* nghttp2 may have frames to give */
    for (;;) {
        while (more && c->wlen < (1u << 20)) { /* up to 1 MiB a write; the rest after it */
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->h2, &data);
            if (n < 0) return -1;
            if (n == 0)
                more = 0;
            else if (pending(c, data, (size_t)n) != 0)
                return -1;
        }
        if (!c->wlen) break;
        ssize_t w = write(c->fd, c->wbuf, c->wlen);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return -1;
        }
        memmove(c->wbuf, c->wbuf + w, c->wlen - (size_t)w);
        c->wlen -= (size_t)w;
    }
    int want_out = c->wlen > 0;
    if (want_out != c->out_interest) {
        struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0u), .data.ptr = c};
        epoll_ctl(c->s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
        c->out_interest = want_out;
    }
    if (!c->wlen && !nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)) return -1;
    return 0;
}

static void conn_read(conn *c)
{
    uint8_t buf[READ_CHUNK];
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
        c->dead = 1;
        return;
    }
    ssize_t used = nghttp2_session_mem_recv(c->h2, buf, (size_t)n);
    if (used < 0) { /* a protocol error (not HTTP/2, a flood, bad frames): GOAWAY, then close */
        nghttp2_session_terminate_session(c->h2, used == NGHTTP2_ERR_FLOODED ? NGHTTP2_ENHANCE_YOUR_CALM
                                                                             : NGHTTP2_PROTOCOL_ERROR);
        conn_flush(c);
        c->dead = 1;
    }
}

/* Going away in two steps, as gRPC servers do: a shutdown notice (GOAWAY naming
 * the largest stream id: the client sends its new calls elsewhere, the ones on
 * their way are still taken), then, a grace period later (sweep), the GOAWAY
 * naming the last stream processed; the connection closes once those finish.
 * One GOAWAY at once would reset calls the client had already sent. */
static void goaway(conn *c)
{
    if (c->goaway) return;
    c->goaway = 1;
    c->goaway_ms = clock_coarse_ms();
    nghttp2_submit_shutdown_notice(c->h2);
}

static void goaway_final(conn *c)
{
    c->goaway = 2;
    nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->h2),
                          NGHTTP2_NO_ERROR, NULL, 0);
}

static void peer_text(int fd, char *out, size_t cap)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    snprintf(out, cap, "-");
    if (getpeername(fd, (struct sockaddr *)&sa, &len) != 0) return;
    if (sa.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, out, (socklen_t)cap);
    else if (sa.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, out, (socklen_t)cap);
}

static int conn_open(grpc_server *s, int fd)
{
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return -1;
    }
    c->s = s;
    c->fd = fd;
    c->opened_ms = c->idle_since_ms = clock_coarse_ms();
    peer_text(fd, c->client, sizeof c->client);
    if (nghttp2_session_server_new2(&c->h2, s->cbs, c, s->opt) != 0) {
        close(fd);
        free(c);
        return -1;
    }
    /* windows as large as a message: a large request is never throttled */
    uint32_t window =
        (uint32_t)(s->lim.max_message + 1024 < 0x7fffffff ? s->lim.max_message + 1024 : 0x7fffffff);
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)s->lim.max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)s->lim.max_header_bytes}};
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof *iv);
    nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0,
                                          (int32_t)(window < 0x3fffffff ? 2 * window : 0x7fffffff));
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    int open = atomic_fetch_add(&s->n_open, 1) + 1;
    if (s->h.connections) s->h.connections(s->h.ctx, open);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        conn_close(c);
        return -1;
    }
    if ((s->lim.draining && *s->lim.draining) || atomic_load(&s->quiesce)) goaway(c);
    if (conn_flush(c) != 0) conn_close(c);
    return 0;
}

/* One connection at a time, asking before each whether another worker
 * should take it (gRPC connections are few and long-lived: they are spread
 * one by one, not in batches). */
static void accept_some(grpc_server *s)
{
    for (int k = 0; k < 16; k++) {
        if (s->h.may_accept && s->deferrals < MAX_DEFERRALS && !s->h.may_accept(s->h.ctx)) {
            s->deferrals++;
            return;
        }
        s->deferrals = 0;
        if (s->lim.max_connections > 0 && atomic_load(&s->n_open) >= s->lim.max_connections) return;
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        conn_open(s, fd);
    }
}

/* Deadlines: a stream's request and its answer's delivery within body_ms, a
 * preface within header_ms, an idle connection within idle_ms. */
static void sweep(grpc_server *s, int64_t now)
{
    for (conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        const grpc_limits *l = &s->lim;
        if (!c->frames_seen && l->header_ms && now - c->opened_ms > l->header_ms) {
            conn_close(c);
            continue;
        }
        for (stream *st = c->streams; st; st = st->next) {
            int late = l->body_ms &&
                       ((!st->answered && now - st->start_ms > l->body_ms) ||
                        (st->answered && st->out_sent < st->out_len && now - st->answered_ms > l->body_ms));
            if (late) nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
        }
        if (!c->streams && l->idle_ms && now - c->idle_since_ms > l->idle_ms) goaway(c);
        if (c->goaway == 1 && now - c->goaway_ms >= GOAWAY_GRACE_MS) goaway_final(c);
        if (conn_flush(c) != 0) conn_close(c);
    }
}

static void wake(grpc_server *s)
{
    uint64_t one = 1;
    ssize_t r = write(s->wake_fd, &one, sizeof one);
    (void)r;
}

static void *loop(void *arg)
{
    grpc_server *s = arg;
    struct epoll_event evs[64];
    while (!atomic_load(&s->stop)) {
        int n = epoll_wait(s->epfd, evs, 64, SWEEP_EVERY_MS);
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &s->listen_fd) {
                accept_some(s);
            } else if (p == &s->wake_fd) {
                uint64_t v;
                ssize_t r = read(s->wake_fd, &v, sizeof v);
                (void)r;
                pthread_mutex_lock(&s->handed_lock);
                int fds[64], k = s->n_handed;
                memcpy(fds, s->handed, (size_t)k * sizeof *fds);
                s->n_handed = 0;
                pthread_mutex_unlock(&s->handed_lock);
                for (int j = 0; j < k; j++) conn_open(s, fds[j]);
            } else {
                conn *c = p;
                if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) conn_read(c);
                if (c->dead || conn_flush(c) != 0) conn_close(c);
            }
        }
        if (atomic_load(&s->quiesce) && !atomic_load(&s->quiesced)) {
            if (s->listen_fd >= 0) {
                epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
                close(s->listen_fd);
                s->listen_fd = -1;
            }
            for (conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                goaway(c);
                if (conn_flush(c) != 0) conn_close(c);
            }
            atomic_store(&s->quiesced, 1);
        }
        int64_t now = clock_coarse_ms();
        if (now >= s->next_sweep_ms) {
            sweep(s, now);
            s->next_sweep_ms = now + SWEEP_EVERY_MS;
        }
    }
    return NULL;
}

/* ---- the server ----------------------------------------------------------- */

grpc_server *grpc_start(int listen_fd, const grpc_limits *lim, const grpc_handler *h, char *err)
{
    grpc_server *s = calloc(1, sizeof *s);
    if (!s) return err_set(err, "out of memory"), NULL;
    s->listen_fd = listen_fd;
    pthread_mutex_init(&s->handed_lock, NULL);
    s->lim = *lim;
    s->h = *h;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->epfd < 0 || s->wake_fd < 0 || nghttp2_session_callbacks_new(&s->cbs) != 0 ||
        nghttp2_option_new(&s->opt) != 0) {
        err_set(err, "gRPC loop: %s", strerror(errno));
        goto fail;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(s->cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(s->cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(s->cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(s->cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(s->cbs, on_stream_close);
    /* streams past SETTINGS_MAX_CONCURRENT_STREAMS are refused even before the client acknowledges it */
    nghttp2_option_set_max_deflate_dynamic_table_size(s->opt, 4096);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->wake_fd};
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wake_fd, &ev);
    if (listen_fd >= 0) {
        struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &s->listen_fd};
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, listen_fd, &lev) != 0) {
            err_set(err, "gRPC loop: %s", strerror(errno));
            goto fail;
        }
    }
    if (pthread_create(&s->th, NULL, loop, s) != 0) {
        err_set(err, "gRPC loop: cannot start its thread");
        goto fail;
    }
    return s;
fail:
    if (s->cbs) nghttp2_session_callbacks_del(s->cbs);
    if (s->opt) nghttp2_option_del(s->opt);
    if (s->epfd >= 0) close(s->epfd);
    if (s->wake_fd >= 0) close(s->wake_fd);
    free(s);
    return NULL;
}

int grpc_add_connection(grpc_server *s, int fd)
{
    /* the loop thread owns the connections: the socket is handed to it */
    pthread_mutex_lock(&s->handed_lock);
    int ok = s->n_handed < (int)(sizeof s->handed / sizeof *s->handed);
    if (ok) s->handed[s->n_handed++] = fd;
    pthread_mutex_unlock(&s->handed_lock);
    if (!ok) return -1;
    wake(s);
    return 0;
}

void grpc_quiesce(grpc_server *s)
{
    if (!s) return;
    atomic_store(&s->quiesce, 1);
    wake(s);
    for (int i = 0; i < 200 && !atomic_load(&s->quiesced); i++) {
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
    }
}

int grpc_open_connections(grpc_server *s) { return s ? atomic_load(&s->n_open) : 0; }

void grpc_stop(grpc_server *s)
{
    if (!s) return;
    atomic_store(&s->stop, 1);
    wake(s);
    pthread_join(s->th, NULL);
    while (s->conns) conn_close(s->conns);
    for (int i = 0; i < s->n_handed; i++) close(s->handed[i]);
    pthread_mutex_destroy(&s->handed_lock);
    if (s->listen_fd >= 0) close(s->listen_fd);
    nghttp2_session_callbacks_del(s->cbs);
    nghttp2_option_del(s->opt);
    close(s->epfd);
    close(s->wake_fd);
    free(s);
}
