/* http: the HTTP/1.1 loop alone, with a handler of its own (no model, no
 * routes), each connection handed over through a socket pair as the fuzzer
 * does: framing, limits at their edges, chunked bodies and their extensions,
 * pipelining, one byte a read. The whole server is tested end to end in
 * test_server.py; this is the layer by itself. */
#define _GNU_SOURCE
#include "guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/err.h"
#include "serve/http.h"

/* The handler answers "METHOD PATH LEN:BODY" as text/plain. */
typedef struct {
    char out[8192];
} echo_ctx;

static void echo(void *ctx, const http_request *req, http_response *res)
{
    echo_ctx *e = ctx;
    int n = snprintf(e->out, sizeof e->out, "%s %s %zu:%.*s", req->method, req->path, req->body_len,
                     (int)(req->body_len < 4096 ? req->body_len : 4096), req->body ? req->body : "");
    *res =
        (http_response){.status = 200, .content_type = "text/plain", .body = e->out, .body_len = (size_t)n};
}

static void refuse(void *ctx, const http_request *req, int status, const char *message, http_response *res)
{
    (void)req;
    echo_ctx *e = ctx;
    int n = snprintf(e->out, sizeof e->out, "refused: %s", message);
    *res = (http_response){
        .status = status, .content_type = "text/plain", .body = e->out, .body_len = (size_t)n};
}

static void answered(void *ctx, const http_request *req, const http_response *res)
{
    (void)ctx, (void)req, (void)res; /* the server's metrics and access log: none here */
}

static echo_ctx ctx;
static http_server *server;

static int setup(void **state)
{
    (void)state;
    static const volatile int not_draining = 0;
    http_limits lim = {.limit_request_line = 256,
                       .limit_request_fields = 5,
                       .limit_request_field_size = 256,
                       .limit_request_headers = 2048,
                       .limit_request_body = 1000,
                       .max_connections = 16,
                       .keep_alive_ms = 2000,
                       .draining = &not_draining};
    http_handler h = {.ctx = &ctx, .handle = echo, .reject = refuse, .answered = answered};
    char err[ERR_LEN];
    server = http_start(-1, &lim, &h, err);
    return server ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    http_stop(server);
    return 0;
}

/* Sends the pieces on one connection (one write each, a millisecond apart),
 * half-closes it and returns all the server answers until it closes (malloc'd). */
static char *exchange(const char *const *pieces, const size_t *lens, int n)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(http_add_connection(server, sv[0]), 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(write(sv[1], pieces[i], lens[i]), (ssize_t)lens[i]);
        if (n > 1) usleep(1000);
    }
    shutdown(sv[1], SHUT_WR);
    size_t cap = 1 << 16, got = 0;
    char *reply = calloc(cap + 1, 1);
    for (;;) {
        struct pollfd p = {sv[1], POLLIN, 0};
        if (poll(&p, 1, 3000) <= 0) break;
        ssize_t k = read(sv[1], reply + got, cap - got);
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(sv[1]);
    return reply;
}

static char *send_all(const char *text)
{
    const char *pieces[] = {text};
    size_t lens[] = {strlen(text)};
    return exchange(pieces, lens, 1);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

#define POST "POST /p HTTP/1.1\r\nHost: x\r\n"

static void test_pipelined_requests_answered_in_order(void **state)
{
    (void)state;
    char *r = send_all("GET /a HTTP/1.1\r\nHost: x\r\n\r\n" POST "Content-Length: 3\r\n\r\nabc"
                       "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_int_equal(count(r, "HTTP/1.1 200 "), 3);
    const char *a = strstr(r, "GET /a 0:"), *b = strstr(r, "POST /p 3:abc"), *c = strstr(r, "GET /c 0:");
    assert_non_null(a);
    assert_true(b > a && c > b);
    free(r);
}

static void test_limits_exact_at_their_edges(void **state)
{
    (void)state;
    /* 5 fields (Host and 4 more) are served, the 6th refused; a body of 1000 bytes is
     * read and served, 1001 read, dropped and refused */
    char *r = send_all("GET /f HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.1 200 "));
    free(r);
    r = send_all("GET /f HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.1 431 "));
    assert_non_null(strstr(r, "more than 5 header fields"));
    free(r);
    char big[1200];
    int n = snprintf(big, sizeof big, POST "Content-Length: 1000\r\nConnection: close\r\n\r\n");
    memset(big + n, 'z', 1000);
    big[n + 1000] = 0;
    r = send_all(big);
    assert_non_null(strstr(r, "HTTP/1.1 200 "));
    assert_non_null(strstr(r, "POST /p 1000:zzz"));
    free(r);
    n = snprintf(big, sizeof big, POST "Content-Length: 1001\r\nConnection: close\r\n\r\n");
    memset(big + n, 'z', 1001); /* read and dropped to its end, then answered */
    big[n + 1001] = 0;
    r = send_all(big);
    assert_non_null(strstr(r, "HTTP/1.1 413 "));
    assert_non_null(strstr(r, "body is over the limit of 1000 bytes"));
    free(r);
}

static void test_ambiguous_framing_answered_once_then_closed(void **state)
{
    (void)state;
    char *r = send_all(POST "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                            "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(count(r, "HTTP/1.1 "), 1);
    assert_non_null(strstr(r, "HTTP/1.1 400 "));
    assert_null(strstr(r, "/next"));
    free(r);
}

/* Every legal shape of chunk extensions, on every chunk and the last, also
 * one byte a read; trailer fields too; malformed extensions refused. */
static void test_chunked_bodies_and_their_extensions(void **state)
{
    (void)state;
    static const char body[] = POST "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                    "4 ; a=1;b=\"x \\\" ; y\"\t;c\r\nabcd\r\n"
                                    "3;d=\"\"\r\nefg\r\n"
                                    "0 ; e\r\nX-Trailer: 1\r\n\r\n";
    char *r = send_all(body);
    assert_non_null(strstr(r, "HTTP/1.1 200 "));
    assert_non_null(strstr(r, "POST /p 7:abcdefg"));
    free(r);
    size_t n = sizeof body - 1;
    const char *pieces[sizeof body];
    size_t lens[sizeof body];
    for (size_t i = 0; i < n; i++) pieces[i] = body + i, lens[i] = 1;
    r = exchange(pieces, lens, (int)n);
    assert_non_null(strstr(r, "POST /p 7:abcdefg"));
    free(r);
    static const char *const bad[] = {"4;a=\r\n", "4;a=\"x\r\n", "4;a=1 2\r\n", "4;;a\r\n", "4;=1\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char req[256];
        snprintf(req, sizeof req, POST "Transfer-Encoding: chunked\r\n\r\n%sabcd\r\n0\r\n\r\n", bad[i]);
        r = send_all(req);
        assert_non_null(strstr(r, "HTTP/1.1 400 "));
        assert_non_null(strstr(r, "chunk extensions"));
        free(r);
    }
}

/* Reads from fd until the reply holds `want` or the server closes; returns it (malloc'd). */
static char *read_reply(int fd, const char *want)
{
    size_t cap = 1 << 14, got = 0;
    char *reply = calloc(cap + 1, 1);
    while (!strstr(reply, want)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 3000) <= 0) break;
        ssize_t k = read(fd, reply + got, cap - got);
        if (k <= 0) break;
        got += (size_t)k;
    }
    return reply;
}

/* One connection's head is read, its body waits; another connection's whole
 * request is answered meanwhile; then the first body arrives. Each answer names
 * its own path: the decoded path of the first must not be the second's (it was,
 * while one buffer a worker held it, and a POST /model was routed as GET /metrics). */
static void test_interleaved_connections_keep_their_own_paths(void **state)
{
    (void)state;
    int a[2], b[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);
    assert_int_equal(http_add_connection(server, a[0]), 0);
    assert_int_equal(http_add_connection(server, b[0]), 0);
    const char *head = "POST /first%2Dpath HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";
    assert_int_equal(write(a[1], head, strlen(head)), (ssize_t)strlen(head));
    usleep(20000); /* the head read and parsed before the other request arrives */
    const char *other = "GET /second HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(write(b[1], other, strlen(other)), (ssize_t)strlen(other));
    char *rb = read_reply(b[1], "GET /second 0:");
    assert_non_null(strstr(rb, "GET /second 0:"));
    assert_int_equal(write(a[1], "hello", 5), 5);
    char *ra = read_reply(a[1], "hello");
    assert_non_null(strstr(ra, "POST /first-path 5:hello"));
    free(ra);
    free(rb);
    for (int i = 0; i < 2; i++) close(i ? a[1] : b[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipelined_requests_answered_in_order),
        cmocka_unit_test(test_limits_exact_at_their_edges),
        cmocka_unit_test(test_ambiguous_framing_answered_once_then_closed),
        cmocka_unit_test(test_chunked_bodies_and_their_extensions),
        cmocka_unit_test(test_interleaved_connections_keep_their_own_paths),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
