/* http — one listener's connections on an epoll loop. Path of a request, top
 * to bottom: on_readable (bytes into the connection's buffer) -> parse (llhttp
 * over the new bytes; it pauses at the end of the head and at the end of each
 * message) -> head_done (limits and framing rules) -> answer (handler, then
 * send). The current request's head always starts at in[0]: bytes of a next,
 * pipelined request are moved down once the current one is answered. */
#define _GNU_SOURCE
#include "serve/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/numtext.h"
#include "serve/conntrack.h"
#include "serve/log.h"

#define READ_ROOM       16384 /* the buffer's room past the header limit: a head and its body arrive together */
#define POOL_KEEP       64    /* idle connections' buffers kept for reuse */
#define LINGER_MS       2000 /* after a closing answer, read and drop what the client still sends this long */
#define LINGER_BYTES    1048576 /* ... or this much */
#define SWEEP_MS        250
#define ACCEPT_PAUSE_MS 100
#define FRESH_MS        100 /* a new connection's time to send its first bytes before it can be evicted */
#define MAX_DEFERRALS   64  /* wake-ups a connection may be left to others before this loop takes it */
#define CONTINUE_LINE   "HTTP/1.1 100 Continue\r\n\r\n"

typedef struct {
    uint32_t name, name_len, value, value_len; /* offsets into the connection's buffer */
} header_span;

typedef enum { C_READING, C_WRITING, C_LINGERING } conn_state;
typedef enum { AT_NONE, AT_FIELD, AT_VALUE } last_span;
typedef enum { PAUSE_NONE, PAUSE_HEAD, PAUSE_MESSAGE, PAUSE_CHUNK } pause_reason;
/* where in a chunk size line's extensions (RFC 9112 7.1.1) chunk_extensions is */
typedef enum {
    EXT_NONE,        /* not in one: llhttp reads */
    EXT_SIZE,        /* the chunk size's hex digits */
    EXT_BEFORE_SEMI, /* BWS after the size, then ";" */
    EXT_AFTER_NAME,  /* BWS, then "=", ";" or the line's end */
    EXT_BEFORE_VALUE,
    EXT_TOKEN,
    EXT_QUOTED,
    EXT_ESCAPED,     /* after a "\\" in a quoted string */
    EXT_AFTER_VALUE, /* BWS, then ";" or the line's end */
    EXT_BEFORE_NAME,
    EXT_NAME
} ext_state;

typedef struct conn {
    struct conn *prev, *next;
    http_server *s;
    int fd;
    conn_slot *slot;
    conn_phase phase; /* as conntrack has it: the eviction picks by it */
    int64_t phase_since;
    int heard; /* any byte came in: a connection that has said nothing yet is not evicted at once */
    llhttp_t parser;
    int64_t last_ms;
    conn_state state;
    char client[INET6_ADDRSTRLEN];

    /* bytes held: the current request's head from in[0], then (while it fits) its body */
    char *in;
    size_t in_len;
    header_span *hdrs;
    int n_hdrs;
    last_span last;
    uint32_t url, url_len;
    int url_done, version_done;
    pause_reason paused;
    ext_state ext;   /* in a chunk size line, perhaps cut by the end of a read */
    int ext_begun;   /* its extensions' first byte is rewritten */
    int last_chunk;  /* the chunk read is the last (size 0): no size line follows */
    long trailers;   /* trailer fields read */
    size_t head_len; /* once the head is complete */
    int in_message;  /* between the first byte of a request and its answer */

    /* the body: in place after the head while it fits, else on the heap */
    size_t body_len;
    char *heap;
    size_t heap_cap;
    int too_large;
    unsigned long long discarded;

    http_request req;

    /* an answer the socket did not take at once */
    char *out;
    size_t out_len, out_off;
    int close_after;
    int64_t linger_until;
    size_t lingered;
} conn;

struct http_server {
    http_limits lim;
    http_handler h;
    int listen_fd, epfd, wake_fd;
    pthread_t thread;
    int started;
    atomic_int stop;
    atomic_int open;
    conntrack *conns;
    conn *all;  /* every open connection (the sweep, the stop) */
    conn *dead; /* closed during this batch of events: freed after it (a later event may name one) */
    size_t in_cap;
    int max_hdrs;
    char *pool[POOL_KEEP]; /* idle buffers */
    int n_pool;
    pthread_mutex_t add_lock;    /* http_add_connection's queue */
    pthread_mutex_t listen_lock; /* accept against http_quiesce closing the socket */
    int64_t accept_paused_until; /* out of descriptors: not watching the socket until then */
    int deferrals;               /* wake-ups in a row that left the connection to another process */
    int *added;
    int n_added, cap_added;
    char *path; /* the decoded path of the request being answered */
    /* set by a callback that stopped the parse, read as llhttp returns (one parse at a time) */
    int reject_status;
    char reject_msg[200];
    char date[40];
    time_t date_at;
    llhttp_settings_t settings;
};

static unsigned long long discard_cap(const http_limits *lim)
{
    return 4ull * (unsigned long long)lim->limit_request_body + 65536;
}

/* ---- buffers --------------------------------------------------------------- */

static int take_buffer(conn *c)
{
    http_server *s = c->s;
    if (c->in) return 0;
    char *b =
        s->n_pool ? s->pool[--s->n_pool] : malloc(s->in_cap + sizeof(header_span) * (size_t)s->max_hdrs);
    if (!b) return -1;
    c->in = b;
    c->hdrs = (header_span *)(b + s->in_cap); /* in_cap is a multiple of 16 */
    c->in_len = 0;
    return 0;
}

static void give_buffer(conn *c)
{
    http_server *s = c->s;
    if (!c->in) return;
    if (s->n_pool < POOL_KEEP)
        s->pool[s->n_pool++] = c->in;
    else
        free(c->in);
    c->in = NULL;
    c->hdrs = NULL;
    c->in_len = 0;
}

/* ---- connections ----------------------------------------------------------- */

static void conn_close(conn *c)
{
    http_server *s = c->s;
    if (c->slot) conntrack_close(s->conns, c->slot); /* before close(): the sweep never sees a reused fd */
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->all = c->next;
    if (c->next) c->next->prev = c->prev;
    give_buffer(c);
    free(c->heap);
    free(c->out);
    c->heap = c->out = NULL;
    c->fd = -1;
    c->next = s->dead; /* an eviction can close a connection whose event is later in this batch */
    s->dead = c;
    atomic_fetch_sub(&s->open, 1);
}

static void bury_dead(http_server *s)
{
    while (s->dead) {
        conn *c = s->dead;
        s->dead = c->next;
        free(c);
    }
}

static void set_phase(conn *c, conn_phase p)
{
    c->phase = p;
    c->phase_since = clock_coarse_ms();
    if (c->slot) conntrack_phase(c->s->conns, c->slot, p, c->phase_since);
}

/* The connection that has waited longest for a request's headers (a slow
 * sender, or an idle keep-alive connection), or NULL. One accepted less than
 * FRESH_MS ago that has not sent a byte yet is spared: under a crowd of
 * reconnecting slow clients, a quick client between its connect and its
 * request would otherwise be the next one evicted. */
static conn *slowest_header_sender(http_server *s, int64_t now)
{
    conn *oldest = NULL; /* s->all is newest first: on a tie (one coarse clock tick), the later is older */
    for (conn *c = s->all; c; c = c->next)
        if (c->state == C_READING && c->phase == CONN_HEADERS &&
            (c->heard || now - c->phase_since >= FRESH_MS) &&
            (!oldest || c->phase_since <= oldest->phase_since))
            oldest = c;
    return oldest;
}

static int watch(conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    return epoll_ctl(c->s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void add_conn(http_server *s, int fd, const struct sockaddr *sa)
{
    int64_t now = clock_coarse_ms();
    /* at the limit, make room by closing the slowest sender of headers now (a
     * client that sends its request at once is never that one); with none to
     * evict (all are being answered), the new connection is refused */
    if (atomic_load(&s->open) >= s->lim.max_connections) {
        conn *victim = slowest_header_sender(s, now);
        if (victim) conn_close(victim);
    }
    conn *c = atomic_load(&s->open) < s->lim.max_connections ? calloc(1, sizeof *c) : NULL;
    conn_slot *slot = c ? conntrack_open(s->conns, fd, now) : NULL;
    if (!slot) {
        free(c);
        close(fd);
        return;
    }
    c->s = s;
    c->fd = fd;
    c->slot = slot;
    c->phase = CONN_HEADERS;
    c->phase_since = now;
    c->last_ms = now;
    llhttp_init(&c->parser, HTTP_REQUEST, &s->settings);
    c->parser.data = c;
    strcpy(c->client, "-");
    if (sa && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->client, sizeof c->client);
    } else if (sa && sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, c->client, sizeof c->client);
    }
    if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
        int one = 1; /* an answer is one write: nothing for Nagle to merge */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    c->next = s->all;
    if (s->all) s->all->prev = c;
    s->all = c;
    atomic_fetch_add(&s->open, 1);
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) conn_close(c);
}

/* ---- llhttp callbacks: spans into c->in ------------------------------------ */

static int stop_with(conn *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int stop_with(conn *c, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->s->reject_msg, sizeof c->s->reject_msg, fmt, ap);
    va_end(ap);
    c->s->reject_status = status;
    return -1;
}

static int on_message_begin(llhttp_t *p)
{
    conn *c = p->data;
    c->n_hdrs = 0;
    c->last = AT_NONE;
    c->url = c->url_len = 0;
    c->url_done = c->version_done = 0;
    c->head_len = 0;
    c->body_len = 0;
    c->too_large = 0;
    c->discarded = 0;
    c->in_message = 1;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    conn *c = p->data;
    if (!c->url_len) c->url = (uint32_t)(at - c->in);
    c->url_len += (uint32_t)len; /* pieces are adjacent: the buffer only grows during a head */
    if ((long)c->url_len > c->s->lim.limit_request_line)
        return stop_with(c, 414, "request target is over %ld bytes (--limit-request-line)",
                         c->s->lim.limit_request_line);
    return 0;
}

static int on_url_complete(llhttp_t *p)
{
    ((conn *)p->data)->url_done = 1;
    return 0;
}

static int on_version_complete(llhttp_t *p)
{
    ((conn *)p->data)->version_done = 1;
    return 0;
}

/* A chunked body's trailer fields (after the head) are counted against the
 * same limit and not kept: their bytes are framing, dropped between reads, and
 * tabserve reads no trailer. */
static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    conn *c = p->data;
    if (c->head_len) {
        if (c->last != AT_FIELD && ++c->trailers > c->s->max_hdrs)
            return stop_with(c, 431, "more than %ld trailer fields (--limit-request-fields)",
                             c->s->lim.limit_request_fields);
        c->last = AT_FIELD;
        return 0;
    }
    if (c->last != AT_FIELD) {
        if (c->n_hdrs >= c->s->max_hdrs)
            return stop_with(c, 431, "more than %ld header fields (--limit-request-fields)",
                             c->s->lim.limit_request_fields);
        c->hdrs[c->n_hdrs++] = (header_span){(uint32_t)(at - c->in), 0, 0, 0};
        c->last = AT_FIELD;
    }
    c->hdrs[c->n_hdrs - 1].name_len += (uint32_t)len;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    conn *c = p->data;
    if (c->head_len) { /* a trailer's */
        c->last = AT_VALUE;
        return 0;
    }
    header_span *h = &c->hdrs[c->n_hdrs - 1];
    if (c->last == AT_VALUE && at != c->in + h->value + h->value_len)
        return stop_with(c, 400, "header %.*s is folded over lines (obs-fold): not accepted",
                         (int)(h->name_len < 60 ? h->name_len : 60), c->in + h->name);
    if (c->last != AT_VALUE) h->value = (uint32_t)(at - c->in);
    h->value_len += (uint32_t)len;
    c->last = AT_VALUE;
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    ((conn *)p->data)->paused = PAUSE_HEAD;
    return HPE_PAUSED;
}

/* A chunk announcing more than could ever be kept is answered now: reading it
 * to the end to answer 413 after it could take for ever. */
static int on_chunk_header(llhttp_t *p)
{
    conn *c = p->data;
    c->last_chunk = p->content_length == 0;
    if (p->content_length > discard_cap(&c->s->lim) - c->body_len)
        return stop_with(c, 413,
                         "a chunk of %llu bytes is over the body limit of %ld bytes (--limit-request-body)",
                         (unsigned long long)p->content_length, c->s->lim.limit_request_body);
    return 0;
}

/* Chunk extensions (RFC 9112 7.1.1: `19 ; a=1;b="x y";c`). llhttp 8.1 reads one
 * extension with a token or plain quoted value, or several without values;
 * it refuses whitespace around the ";", a second extension after a value and
 * quoted-pairs (`\\"`). So tabserve reads each chunk size line before llhttp
 * does (it pauses where one begins: after the head of a chunked request and
 * after each chunk but the last), checks the extensions against the RFC's
 * grammar and overwrites them, in the read buffer, by ";" and as many "x"
 * bytes: one extension name llhttp reads, and which tabserve ignores like
 * every extension. A line cut by the end of a read is finished on the next. A
 * byte the grammar does not allow is overwritten by "@", which llhttp refuses
 * there, naming the byte. The size itself is llhttp's to read. */
static int on_chunk_complete(llhttp_t *p)
{
    conn *c = p->data;
    if (c->last_chunk) return 0; /* the trailer section and the message's end follow */
    c->paused = PAUSE_CHUNK;
    return HPE_PAUSED;
}

static int token_char(unsigned char b)
{
    return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
           (b && strchr("!#$%&'*+-.^_`|~", b));
}

static int quoted_char(unsigned char b) /* qdtext, and what a quoted-pair may escape */
{
    return b == '\t' || b == ' ' || (b >= 0x21 && b != 0x7f);
}

/* The next state after byte b, or EXT_NONE at the line's end (CR) or a byte the
 * grammar refuses (*bad set). */
static ext_state extension_step(ext_state st, unsigned char b, int *bad)
{
    int space = b == ' ' || b == '\t';
    *bad = 0;
    switch (st) {
    case EXT_SIZE:
        if ((b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F')) return EXT_SIZE;
        if (space) return EXT_BEFORE_SEMI;
        if (b == ';') return EXT_BEFORE_NAME;
        return EXT_NONE; /* the line's end, or a byte llhttp refuses in a size */
    case EXT_BEFORE_SEMI:
        if (space) return EXT_BEFORE_SEMI;
        if (b == ';') return EXT_BEFORE_NAME;
        break;
    case EXT_NAME: return token_char(b) ? EXT_NAME : extension_step(EXT_AFTER_NAME, b, bad);
    case EXT_AFTER_NAME:
        if (space) return EXT_AFTER_NAME;
        if (b == '=') return EXT_BEFORE_VALUE;
        if (b == ';') return EXT_BEFORE_NAME;
        break;
    case EXT_BEFORE_VALUE:
        if (space) return EXT_BEFORE_VALUE;
        if (b == '"') return EXT_QUOTED;
        if (token_char(b)) return EXT_TOKEN;
        break;
    case EXT_TOKEN: return token_char(b) ? EXT_TOKEN : extension_step(EXT_AFTER_VALUE, b, bad);
    case EXT_AFTER_VALUE:
        if (space) return EXT_AFTER_VALUE;
        if (b == ';') return EXT_BEFORE_NAME;
        break;
    case EXT_QUOTED:
        if (b == '"') return EXT_AFTER_VALUE;
        if (b == '\\') return EXT_ESCAPED;
        if (quoted_char(b)) return EXT_QUOTED;
        break;
    case EXT_ESCAPED:
        if (quoted_char(b)) return EXT_QUOTED;
        break;
    case EXT_BEFORE_NAME:
        if (space) return EXT_BEFORE_NAME;
        if (token_char(b)) return EXT_NAME;
        break;
    case EXT_NONE: return EXT_NONE;
    }
    /* the line's end where a name or value may end; anything else is refused */
    *bad = !(b == '\r' && (st == EXT_AFTER_NAME || st == EXT_AFTER_VALUE));
    return EXT_NONE;
}

static void chunk_extensions(conn *c, size_t at)
{
    for (; at < c->in_len && c->ext != EXT_NONE; at++) {
        int bad, in_size = c->ext == EXT_SIZE;
        c->ext = extension_step(c->ext, (unsigned char)c->in[at], &bad);
        if (bad) c->in[at] = '@'; /* a byte llhttp refuses here: the line is refused, naming it */
        if (c->ext == EXT_NONE || (in_size && c->ext == EXT_SIZE)) continue;
        c->in[at] = c->ext_begun++ ? 'x' : ';';
    }
}

/* Where a chunk size line begins: read it before llhttp does. */
static void chunk_line(conn *c, size_t at)
{
    c->ext = EXT_SIZE;
    c->ext_begun = 0;
    chunk_extensions(c, at);
}

static int keep_body(conn *c, const char *at, size_t len)
{
    size_t room = c->s->in_cap - READ_ROOM / 2; /* keep half the read room free for what follows */
    if (!c->heap && c->head_len + c->body_len + len <= room) {
        char *dst = c->in + c->head_len + c->body_len; /* chunked: move the data down over the framing */
        if (dst != at) memmove(dst, at, len);
        c->body_len += len;
        return 0;
    }
    if (c->body_len + len > c->heap_cap) {
        size_t cap = c->heap_cap ? c->heap_cap : 65536;
        while (cap < c->body_len + len) cap *= 2;
        char *nb = realloc(c->heap, cap);
        if (!nb) return -1;
        if (!c->heap) memcpy(nb, c->in + c->head_len, c->body_len); /* what was kept in place so far */
        c->heap = nb;
        c->heap_cap = cap;
    }
    memcpy(c->heap + c->body_len, at, len);
    c->body_len += len;
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    conn *c = p->data;
    const http_limits *lim = &c->s->lim;
    /* past the limit: read and drop to the end, then 413; a body that goes on
     * past the discard cap gets its connection closed */
    if (c->too_large || c->body_len + len > (size_t)lim->limit_request_body) {
        c->too_large = 1;
        c->discarded += len;
        if (c->discarded > discard_cap(lim)) {
            log_msg(LOG_WARNING, "closing a connection whose body went on past 4x --limit-request-body");
            c->s->reject_status = -1; /* close without an answer */
            return -1;
        }
        return 0;
    }
    if (keep_body(c, at, len) != 0) return stop_with(c, 500, "out of memory for the body");
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    ((conn *)p->data)->paused = PAUSE_MESSAGE;
    return HPE_PAUSED;
}

/* ---- answering --------------------------------------------------------------- */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

static const char *date_now(http_server *s)
{
    time_t now = time(NULL);
    if (now != s->date_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(s->date, sizeof s->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        s->date_at = now;
    }
    return s->date;
}

static void start_lingering(conn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->state = C_LINGERING;
    c->linger_until = clock_coarse_ms() + LINGER_MS;
    c->lingered = 0;
    set_phase(c, CONN_BUSY); /* our own deadline, not the header one */
    watch(c, EPOLLIN);
}

/* Sends one answer (HEAD: without its body); what the socket does not take is
 * kept and parsing stops until it is written. Returns 0, or -1: closed. */
static int send_answer(conn *c, const http_response *res, int head_only, int close_after, int keep_alive_10)
{
    /* built with stpcpy, not printf: this runs once per request (printf was 3% of a worker) */
    const char *type = res->content_type ? res->content_type : "application/json";
    char hdr[1024], *o = hdr;
    if (strlen(type) + (res->allow ? strlen(res->allow) : 0) > 600) return -1; /* ours, never this long */
    o = stpcpy(o, "HTTP/1.1 ");
    o += format_unsigned(o, (unsigned)res->status);
    *o++ = ' ';
    o = stpcpy(o, reason(res->status));
    o = stpcpy(stpcpy(o, "\r\nContent-Type: "), type);
    o = stpcpy(o, "\r\nContent-Length: ");
    o += format_unsigned(o, res->body_len);
    o = stpcpy(stpcpy(stpcpy(o, "\r\nDate: "), date_now(c->s)), "\r\n");
    if (res->allow) o = stpcpy(stpcpy(stpcpy(o, "Allow: "), res->allow), "\r\n");
    if (res->content_encoding)
        o = stpcpy(stpcpy(stpcpy(o, "Content-Encoding: "), res->content_encoding),
                   "\r\nVary: Accept-Encoding\r\n");
    if (res->inference_header_len > 0) {
        o = stpcpy(o, "Inference-Header-Content-Length: ");
        o += format_unsigned(o, (unsigned long long)res->inference_header_len);
        o = stpcpy(o, "\r\n");
    }
    if (close_after)
        o = stpcpy(o, "Connection: close\r\n");
    else if (keep_alive_10)
        o = stpcpy(o, "Connection: keep-alive\r\n");
    o = stpcpy(o, "\r\n");
    int n = (int)(o - hdr);
    struct iovec iov[2] = {{hdr, (size_t)n}, {(void *)res->body, head_only ? 0 : res->body_len}};
    size_t total = iov[0].iov_len + iov[1].iov_len;
    ssize_t w = writev(c->fd, iov, iov[1].iov_len ? 2 : 1);
    if (w < 0 && errno != EAGAIN && errno != EINTR) return -1;
    size_t sent = w > 0 ? (size_t)w : 0;
    c->close_after = close_after;
    if (sent == total) return 0;
    /* the socket is full: keep the rest and wait until it can take more */
    size_t left = total - sent;
    char *rest = malloc(left);
    if (!rest) return -1;
    size_t k = 0;
    for (int i = 0; i < 2; i++) {
        size_t len = iov[i].iov_len, skip = sent > len ? len : sent;
        sent -= skip;
        memcpy(rest + k, (char *)iov[i].iov_base + skip, len - skip);
        k += len - skip;
    }
    free(c->out);
    c->out = rest;
    c->out_len = left;
    c->out_off = 0;
    c->state = C_WRITING;
    return watch(c, EPOLLOUT) == 0 ? 0 : -1;
}

/* The path of a target: from an absolute form ("http://host/p", what a client
 * sends to a proxy; RFC 9112 3.2.2) the part from the first slash; the query
 * cut off; %XX decoded, unless the decoding holds a NUL ("/model%00.json"
 * would end at it and match /model: left as sent, it matches nothing). */
static int hex_value(char ch)
{
    return ch >= '0' && ch <= '9'                     ? ch - '0'
           : (ch | 0x20) >= 'a' && (ch | 0x20) <= 'f' ? (ch | 0x20) - 'a' + 10
                                                      : -1;
}

static const char *decode_path(http_server *s, const char *target)
{
    const char *t = target;
    size_t scheme = strncasecmp(t, "http://", 7) == 0 ? 7 : strncasecmp(t, "https://", 8) == 0 ? 8 : 0;
    if (scheme) {
        const char *slash = strpbrk(t + scheme, "/?");
        t = slash && *slash == '/' ? slash : "/";
    }
    size_t len = strcspn(t, "?"), k = 0;
    char *out = s->path;
    int nul = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (t[i] == '%' && i + 2 < len && (hi = hex_value(t[i + 1])) >= 0 &&
            (lo = hex_value(t[i + 2])) >= 0) {
            out[k] = (char)(hi << 4 | lo);
            nul |= !out[k++];
            i += 2;
        } else {
            out[k++] = t[i];
        }
    }
    if (nul) memcpy(out, t, k = len);
    out[k] = 0;
    return out;
}

/* The request line, as far as it was parsed (for errors found before the end
 * of the head). */
static void fill_line(conn *c)
{
    http_request *r = &c->req;
    memset(r, 0, sizeof *r);
    r->client = c->client;
    r->start_ns = clock_ns();
    if (c->url_len == 0) return; /* not even the method was read */
    r->method = llhttp_method_name((llhttp_method_t)c->parser.method);
    if (c->url_done) {
        c->in[c->url + c->url_len] = 0; /* the space after the target, already parsed */
        r->target = c->in + c->url;     /* its decoded path: when the request is handed over */
    }
    if (c->version_done) r->version = c->parser.http_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
}

/* The decoded path goes into the one buffer the server has for it (s->path), so it
 * holds the path of the request decoded last — on another connection, perhaps,
 * while this one's body was still arriving. So it is decoded from the connection's
 * own target when a request is handed over (the handler and the log run before any
 * other connection is read), and not before. */
static void path_now(conn *c)
{
    if (c->req.target) c->req.path = decode_path(c->s, c->req.target);
}

/* Answers an error found by the transport and closes after it. */
static int reject(conn *c, int status, const char *msg)
{
    path_now(c);
    http_response res = {0};
    c->s->h.reject(c->s->h.ctx, &c->req, status, msg, &res);
    c->s->h.answered(c->s->h.ctx, &c->req, &res); /* counted before it goes out: see answer() */
    return send_answer(c, &res, 0, 1, 0);
}

static int name_is(const conn *c, const header_span *h, const char *name, size_t len)
{
    return h->name_len == len && strncasecmp(c->in + h->name, name, len) == 0;
}

/* The head is complete (llhttp paused at its end, head_len bytes): the
 * server's own rules, then 100-continue. Returns 0 to go on reading the body,
 * 1 when an answer was given (the connection closes after it), -1 closed. */
static int head_done(conn *c)
{
    http_server *s = c->s;
    const http_limits *lim = &s->lim;
    http_request *r = &c->req;
    fill_line(c);
    set_phase(c, CONN_BODY);
    if (c->parser.http_major != 1) {
        r->unreadable = 1;
        return reject(c, 505, "only HTTP/1.0 and HTTP/1.1 are served") ? -1 : 1;
    }
    if ((long)c->head_len > lim->limit_request_headers) {
        char m[120];
        snprintf(m, sizeof m, "request line and headers are over %ld bytes (--limit-request-headers)",
                 lim->limit_request_headers);
        return reject(c, 431, m) ? -1 : 1;
    }
    int hosts = 0, tes = 0;
    const char *te = NULL, *expect = NULL;
    for (int i = 0; i < c->n_hdrs; i++) {
        header_span *h = &c->hdrs[i];
        if (!h->value_len) h->value = h->name + h->name_len; /* empty: the colon, made the terminator */
        for (uint32_t k = h->name + h->name_len; k < h->value; k++)
            if (c->in[k] == '\r' || c->in[k] == '\n') {
                char m[140];
                snprintf(m, sizeof m, "header %.*s is folded over lines (obs-fold): not accepted",
                         (int)(h->name_len < 60 ? h->name_len : 60), c->in + h->name);
                return reject(c, 400, m) ? -1 : 1;
            }
        while (h->value_len &&
               (c->in[h->value + h->value_len - 1] == ' ' || c->in[h->value + h->value_len - 1] == '\t'))
            h->value_len--;
        if ((long)(h->name_len + h->value_len + 2) > lim->limit_request_field_size) {
            char m[120];
            snprintf(m, sizeof m, "a header field is over %ld bytes (--limit-request-field_size)",
                     lim->limit_request_field_size);
            return reject(c, 431, m) ? -1 : 1;
        }
        c->in[h->name + h->name_len] = 0;   /* the colon */
        c->in[h->value + h->value_len] = 0; /* the CR, or trailing whitespace */
        const char *v = c->in + h->value;
        switch (h->name_len) {
        case 4:
            if (name_is(c, h, "Host", 4)) hosts++;
            break;
        case 6:
            if (name_is(c, h, "Expect", 6) && !expect) expect = v;
            break;
        case 7:
            if (name_is(c, h, "Referer", 7) && !r->referer) r->referer = v;
            break;
        case 10:
            if (name_is(c, h, "User-Agent", 10) && !r->user_agent) r->user_agent = v;
            break;
        case 12:
            if (name_is(c, h, "Content-Type", 12) && !r->content_type) r->content_type = v;
            break;
        case 15:
            if (name_is(c, h, "Accept-Encoding", 15) && !r->accept_encoding) r->accept_encoding = v;
            break;
        case 16:
            if (name_is(c, h, "Content-Encoding", 16)) {
                if (r->content_encoding)
                    return reject(c, 400, "more than one Content-Encoding header") ? -1 : 1;
                r->content_encoding = v;
            }
            break;
        case 17:
            if (name_is(c, h, "Transfer-Encoding", 17)) tes++, te = v;
            break;
        case 21:
            if (name_is(c, h, "X-Tabserve-Test-Stall", 21)) r->test_stall = v;
            break;
        case 31:
            if (name_is(c, h, "Inference-Header-Content-Length", 31) && !r->inference_header)
                r->inference_header = v;
            break;
        default: break;
        }
    }
    if (hosts == 0 && c->parser.http_minor >= 1)
        return reject(c, 400, "an HTTP/1.1 request needs a Host header") ? -1 : 1;
    if (hosts > 1) return reject(c, 400, "more than one Host header") ? -1 : 1;
    if (tes > 1) return reject(c, 400, "more than one Transfer-Encoding header") ? -1 : 1;
    int chunked = (c->parser.flags & F_CHUNKED) != 0;
    int has_length = (c->parser.flags & F_CONTENT_LENGTH) != 0;
    if (te && !chunked) /* llhttp would refuse it after this pause */
        return reject(c, 400, "Transfer-Encoding must end with chunked: the body's length cannot be known")
                   ? -1
                   : 1;
    if (te && strcasecmp(te, "chunked") != 0) /* llhttp took it as chunked: a coding before it */
        return reject(c, 501, "only the chunked transfer coding is supported") ? -1 : 1;
    /* neither Content-Length nor chunked: the body is empty (RFC 9112 6.3), as
     * Triton's client sends its body-less POSTs; the handler says what it missed */
    unsigned long long announced = has_length ? (unsigned long long)c->parser.content_length : 0;
    int wants_continue = expect && strcasecmp(expect, "100-continue") == 0 && c->parser.http_minor >= 1;
    if (announced > (unsigned long long)lim->limit_request_body) {
        /* Answering now is only safe if the client waits for "100 Continue" or
         * the body is too big to read anyway; otherwise it is read, dropped and
         * answered at its end (closing on a client still sending resets it). */
        if (wants_continue || announced > discard_cap(lim)) {
            char m[140];
            snprintf(m, sizeof m, "body of %llu bytes is over the limit of %ld (--limit-request-body)",
                     announced, lim->limit_request_body);
            return reject(c, 413, m) ? -1 : 1;
        }
        c->too_large = 1;
    }
    if (wants_continue && (chunked || announced > 0)) {
        ssize_t n = send(c->fd, CONTINUE_LINE, sizeof CONTINUE_LINE - 1, MSG_NOSIGNAL);
        (void)n; /* if the socket cannot take 25 bytes, the client sends after its own wait */
    }
    return 0;
}

/* The whole request is in: the handler's answer. Returns 0, or -1: closed. */
static int answer(conn *c)
{
    http_server *s = c->s;
    http_request *r = &c->req;
    set_phase(c, CONN_BUSY);
    if (c->too_large) {
        char m[120];
        snprintf(m, sizeof m, "body is over the limit of %ld bytes (--limit-request-body)",
                 s->lim.limit_request_body);
        return reject(c, 413, m);
    }
    r->body = c->heap ? c->heap : c->in + c->head_len;
    r->body_len = c->body_len;
    path_now(c);
    http_response res = {0};
    s->h.handle(s->h.ctx, r, &res);
    c->last_ms = clock_coarse_ms(); /* a slow answer is not an idle connection */
    /* CONNECT and Upgrade are not served: answered like any request, then closed
     * (llhttp would stop reading at the upgrade anyway) */
    int keep =
        llhttp_should_keep_alive(&c->parser) && !c->parser.upgrade && !(s->lim.draining && *s->lim.draining);
    /* counted (metrics, access log) before it goes out: a client that has its
     * answer finds it in /metrics, whichever worker it asks next */
    s->h.answered(s->h.ctx, r, &res);
    return send_answer(c, &res, strcmp(r->method, "HEAD") == 0, !keep, keep && c->parser.http_minor == 0);
}

/* A message was answered: what follows it in the buffer moves to in[0]. */
static void next_message(conn *c, size_t consumed)
{
    c->in_message = 0;
    c->body_len = 0;
    c->ext = EXT_NONE;
    c->last_chunk = 0;
    c->trailers = 0;
    if (c->heap) { /* only bodies too big for the buffer go there: not kept */
        free(c->heap);
        c->heap = NULL;
        c->heap_cap = 0;
    }
    memmove(c->in, c->in + consumed, c->in_len - consumed);
    c->in_len -= consumed;
    set_phase(c, CONN_HEADERS); /* from the previous answer, as the header deadline counts */
}

static const char *parse_error_message(conn *c, llhttp_errno_t e, char *buf, size_t cap, size_t at)
{
    const char *why = llhttp_get_error_reason(&c->parser);
    const char *what;
    switch (e) {
    case HPE_UNEXPECTED_CONTENT_LENGTH:
        what = why && strstr(why, "Duplicate")
                   ? "more than one Content-Length header: the body's length is ambiguous"
                   : "both Content-Length and Transfer-Encoding: the body's length is ambiguous";
        break;
    case HPE_INVALID_CONTENT_LENGTH: what = "Content-Length must be a decimal number of bytes"; break;
    case HPE_INVALID_TRANSFER_ENCODING:
        what = "Transfer-Encoding must end with chunked: the body's length cannot be known";
        break;
    case HPE_INVALID_HEADER_TOKEN:
        what = why && strstr(why, "field") ? "a header name is not a token (a space before the colon?)"
                                           : "a header value holds a NUL, CR, LF or control byte";
        break;
    case HPE_LF_EXPECTED:
    case HPE_CR_EXPECTED: what = "a line holds a bare CR or LF (lines end with CRLF)"; break;
    case HPE_INVALID_METHOD: what = "unknown method"; break;
    case HPE_INVALID_URL: what = "malformed request target"; break;
    case HPE_INVALID_VERSION: what = "malformed HTTP version"; break;
    case HPE_INVALID_CHUNK_SIZE: what = "malformed chunk size"; break;
    default: what = why ? why : llhttp_errno_name(e); break;
    }
    snprintf(buf, cap, "%s (byte %zu of the request)", what, at);
    return buf;
}

/* Parses in[from, in_len) and answers every request it completes. */
static void parse(conn *c, size_t from)
{
    int after_head = 0; /* llhttp ends a message with no body only when called again, even on no bytes */
    if (c->ext != EXT_NONE) chunk_extensions(c, from); /* extensions the last read cut */
    for (;;) {
        const char *start = c->in + from, *end = c->in + c->in_len;
        if (start == end && !after_head) break;
        after_head = 0;
        c->paused = PAUSE_NONE;
        c->s->reject_status = 0;
        llhttp_errno_t e = llhttp_execute(&c->parser, start, (size_t)(end - start));
        if (e == HPE_OK) {
            from = c->in_len;
            break;
        }
        if (e == HPE_PAUSED && c->paused != PAUSE_NONE) {
            size_t at = (size_t)(llhttp_get_error_pos(&c->parser) - c->in);
            llhttp_resume(&c->parser);
            if (c->paused == PAUSE_CHUNK) { /* the next chunk's size line begins at `at` */
                chunk_line(c, at);
                from = at;
                continue;
            }
            if (c->paused == PAUSE_HEAD) {
                c->head_len = at;
                int r = head_done(c);
                if (r < 0) {
                    conn_close(c);
                    return;
                }
                if (r > 0) goto answered_and_closing;
                from = at;
                after_head = 1;
                c->last_chunk = 0;
                if (c->parser.flags & F_CHUNKED) chunk_line(c, at); /* the first chunk's size line */
                continue;
            }
            if (answer(c) != 0) {
                conn_close(c);
                return;
            }
            if (c->close_after) goto answered_and_closing;
            next_message(c, at);
            from = 0;
            if (c->state == C_WRITING) return; /* the rest, now at in[0], once the answer is out */
            continue;
        }
        /* an error: ours (a callback stopped the parse) or llhttp's */
        if (c->s->reject_status < 0) { /* a body past the discard cap */
            conn_close(c);
            return;
        }
        size_t at = llhttp_get_error_pos(&c->parser) ? (size_t)(llhttp_get_error_pos(&c->parser) - c->in) : 0;
        char m[300];
        if (c->s->reject_status) {
            fill_line(c);
            if (reject(c, c->s->reject_status, c->s->reject_msg) != 0) {
                conn_close(c);
                return;
            }
        } else {
            fill_line(c); /* for the log: as far as it was read */
            c->req.unreadable = 1;
            if (reject(c, 400, parse_error_message(c, e, m, sizeof m, at)) != 0) {
                conn_close(c);
                return;
            }
        }
        goto answered_and_closing;
    }
    /* all parsed: keep the head (and an in-place body); the rest was framing */
    if (!c->in_message) {
        c->in_len = 0;
    } else if (c->head_len) {
        c->in_len = c->heap ? c->head_len : c->head_len + c->body_len;
    }
    if (c->in_message && !c->head_len && (long)c->in_len > c->s->lim.limit_request_headers) {
        fill_line(c);
        char m[120];
        snprintf(m, sizeof m, "request line and headers are over %ld bytes (--limit-request-headers)",
                 c->s->lim.limit_request_headers);
        if (reject(c, c->url_done || !c->url_len ? 431 : 414, m) != 0) {
            conn_close(c);
            return;
        }
        goto answered_and_closing;
    }
    if (!c->in_message && c->state == C_READING) give_buffer(c); /* idle: no memory held */
    return;

answered_and_closing:
    if (c->state == C_READING) start_lingering(c);
    /* else: lingering starts once the answer is written */
}

/* ---- events ---------------------------------------------------------------- */

static void on_readable(conn *c)
{
    http_server *s = c->s;
    if (c->state == C_LINGERING) {
        char drop[16384];
        ssize_t n = read(c->fd, drop, sizeof drop);
        if (n > 0) c->lingered += (size_t)n;
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || c->lingered > LINGER_BYTES)
            conn_close(c);
        return;
    }
    if (take_buffer(c) != 0) {
        conn_close(c);
        return;
    }
    size_t room = s->in_cap - c->in_len;
    if (room == 0) {
        conn_close(c);
        return;
    }
    ssize_t n = read(c->fd, c->in + c->in_len, room);
    if (n == 0) {
        conn_close(c);
        return;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        conn_close(c);
        return;
    }
    size_t from = c->in_len;
    c->in_len += (size_t)n;
    c->heard = 1;
    parse(c, from);
}

static void on_writable(conn *c)
{
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        conn_close(c);
        return;
    }
    c->out_off += (size_t)n;
    if (c->out_off < c->out_len) return;
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    c->state = C_READING;
    if (c->close_after) {
        start_lingering(c);
        return;
    }
    if (watch(c, EPOLLIN) != 0) {
        conn_close(c);
        return;
    }
    parse(c, 0); /* pipelined requests read while the answer waited */
}

static void sweep_idle(http_server *s, int64_t now)
{
    for (conn *c = s->all, *next; c; c = next) {
        next = c->next;
        if (c->state == C_LINGERING ? now > c->linger_until : now - c->last_ms > s->lim.keep_alive_ms)
            conn_close(c);
    }
}

static void take_added(http_server *s)
{
    pthread_mutex_lock(&s->add_lock);
    for (int i = 0; i < s->n_added; i++) add_conn(s, s->added[i], NULL);
    s->n_added = 0;
    pthread_mutex_unlock(&s->add_lock);
}

/* One connection per wake-up (nginx's multi_accept off): every worker waits on
 * the same socket, and accepting in a loop let one take a whole burst. Every
 * waiting worker is woken, so one that already holds more connections than
 * another may leave this one to it (may_accept); never for long, in case the
 * other is busy. Out of file descriptors, the socket is left alone for
 * ACCEPT_PAUSE_MS instead of waking this loop again at once, for ever. */
static void accept_one(http_server *s, int64_t now)
{
    if (s->h.may_accept && s->deferrals < MAX_DEFERRALS && !s->h.may_accept(s->h.ctx)) {
        s->deferrals++;
        sched_yield(); /* let the other worker run: on a busy core it is often waiting for this one */
        return;
    }
    s->deferrals = 0;
    pthread_mutex_lock(&s->listen_lock);
    if (s->listen_fd >= 0) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            add_conn(s, fd, (struct sockaddr *)&sa);
        } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            log_msg(LOG_WARNING, "accept: %s; not accepting for %d ms", strerror(errno), ACCEPT_PAUSE_MS);
            epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
            s->accept_paused_until = now + ACCEPT_PAUSE_MS;
        }
    }
    pthread_mutex_unlock(&s->listen_lock);
}

static void resume_accepting(http_server *s)
{
    pthread_mutex_lock(&s->listen_lock);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &s->listen_fd};
    if (s->listen_fd >= 0) epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &lev);
    s->accept_paused_until = 0;
    pthread_mutex_unlock(&s->listen_lock);
}

static void *loop(void *arg)
{
    http_server *s = arg;
    struct epoll_event ev[64];
    int64_t next_sweep = clock_coarse_ms() + SWEEP_MS;
    while (!atomic_load(&s->stop)) {
        int n = epoll_wait(s->epfd, ev, 64, SWEEP_MS);
        int64_t now = clock_coarse_ms();
        for (int i = 0; i < n; i++) {
            void *p = ev[i].data.ptr;
            if (p == &s->listen_fd) {
                accept_one(s, now);
                continue;
            }
            if (p == &s->wake_fd) {
                uint64_t v;
                ssize_t r = read(s->wake_fd, &v, sizeof v);
                (void)r;
                take_added(s);
                continue;
            }
            conn *c = p;
            if (c->fd < 0) continue; /* closed earlier in this batch */
            c->last_ms = now;
            if (c->state == C_WRITING)
                on_writable(c); /* also for errors and hang-ups: the call tells which */
            else
                on_readable(c);
        }
        bury_dead(s);
        if (s->accept_paused_until && now >= s->accept_paused_until) resume_accepting(s);
        if (now >= next_sweep) {
            sweep_idle(s, now);
            next_sweep = now + SWEEP_MS;
        }
    }
    return NULL;
}

/* ---- the server's life ---------------------------------------------------- */

http_server *http_start(int listen_fd, const http_limits *lim, const http_handler *h, char *err)
{
    http_server *s = calloc(1, sizeof *s);
    if (!s) return err_set(err, "out of memory"), NULL;
    s->lim = *lim;
    s->h = *h;
    s->listen_fd = listen_fd;
    s->epfd = s->wake_fd = -1;
    s->max_hdrs = (int)lim->limit_request_fields; /* N allowed: the (N + 1)th is refused */
    s->in_cap = ((size_t)lim->limit_request_headers + READ_ROOM + 15) & ~(size_t)15;
    pthread_mutex_init(&s->add_lock, NULL);
    pthread_mutex_init(&s->listen_lock, NULL);
    llhttp_settings_init(&s->settings);
    s->settings.on_message_begin = on_message_begin;
    s->settings.on_url = on_url;
    s->settings.on_url_complete = on_url_complete;
    s->settings.on_version_complete = on_version_complete;
    s->settings.on_header_field = on_header_field;
    s->settings.on_header_value = on_header_value;
    s->settings.on_headers_complete = on_headers_complete;
    s->settings.on_chunk_header = on_chunk_header;
    s->settings.on_chunk_complete = on_chunk_complete;
    s->settings.on_body = on_body;
    s->settings.on_message_complete = on_message_complete;
    if (!(s->path = malloc((size_t)lim->limit_request_line + 1)) ||
        !(s->conns = conntrack_create((int)lim->max_connections + 2)) ||
        (s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        (s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        err_set(err, "cannot start the HTTP loop: %s", strerror(errno));
        goto fail;
    }
    struct epoll_event wake = {.events = EPOLLIN, .data.ptr = &s->wake_fd};
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wake_fd, &wake);
    if (listen_fd >= 0) {
        /* every worker waits on the same socket: wake one of them per connection */
        struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &s->listen_fd};
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, listen_fd, &lev) != 0) {
            err_set(err, "cannot watch listening socket %d: %s", listen_fd, strerror(errno));
            goto fail;
        }
    }
    if (pthread_create(&s->thread, NULL, loop, s) != 0) {
        err_set(err, "cannot start the HTTP thread");
        goto fail;
    }
    s->started = 1;
    return s;
fail:
    s->listen_fd = -1; /* the caller's */
    http_stop(s);
    return NULL;
}

static void wake(http_server *s)
{
    uint64_t one = 1;
    ssize_t r = write(s->wake_fd, &one, sizeof one);
    (void)r;
}

int http_add_connection(http_server *s, int fd)
{
    if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0) return -1;
    pthread_mutex_lock(&s->add_lock);
    if (s->n_added == s->cap_added) {
        int cap = s->cap_added ? 2 * s->cap_added : 16;
        int *na = realloc(s->added, (size_t)cap * sizeof *na);
        if (!na) {
            pthread_mutex_unlock(&s->add_lock);
            return -1;
        }
        s->added = na;
        s->cap_added = cap;
    }
    s->added[s->n_added++] = fd;
    pthread_mutex_unlock(&s->add_lock);
    wake(s);
    return 0;
}

/* Done here, not by the loop: the loop may be inside a slow request, and a
 * draining worker must refuse new connections at once. */
void http_quiesce(http_server *s)
{
    pthread_mutex_lock(&s->listen_lock);
    if (s->listen_fd >= 0) {
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
        close(s->listen_fd); /* our copy; the master and other workers keep theirs */
        s->listen_fd = -1;
    }
    pthread_mutex_unlock(&s->listen_lock);
}

int http_open_connections(http_server *s) { return atomic_load(&s->open); }

void http_sweep(http_server *s, int64_t header_ms, int64_t body_ms)
{
    conntrack_sweep(s->conns, clock_coarse_ms(), header_ms, body_ms);
}

void http_stop(http_server *s)
{
    if (!s) return;
    if (s->started) {
        atomic_store(&s->stop, 1);
        wake(s);
        pthread_join(s->thread, NULL);
    }
    while (s->all) conn_close(s->all);
    take_added(s); /* connections handed in but never taken */
    while (s->all) conn_close(s->all);
    bury_dead(s);
    if (s->listen_fd >= 0) close(s->listen_fd);
    if (s->epfd >= 0) close(s->epfd);
    if (s->wake_fd >= 0) close(s->wake_fd);
    for (int i = 0; i < s->n_pool; i++) free(s->pool[i]);
    conntrack_free(s->conns);
    pthread_mutex_destroy(&s->add_lock);
    pthread_mutex_destroy(&s->listen_lock);
    free(s->added);
    free(s->path);
    free(s);
}
