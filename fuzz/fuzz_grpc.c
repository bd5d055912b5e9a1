/* libFuzzer: bytes from a client socket into the gRPC side as a worker runs
 * it: nghttp2's framing, tabserve's streams, limits and gRPC message framing,
 * the methods (grpc_service.h) and api_handle behind them. Each input is one
 * connection, handed to the loop through a socket pair, written, half-closed,
 * and read until the server closes it (or 2 s pass). Whatever comes back
 * starts with the server's SETTINGS frame; ASan watches the rest. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/err.h"
#include "serve/docs.h"
#include "serve/api.h"
#include "serve/grpc.h"
#include "serve/repository.h"

static grpc_server *server;
static api *the_api;

static void on_call(void *ctx, const grpc_call_info *info, const uint8_t *msg, size_t len, grpc_reply *out)
{
    (void)ctx;
    grpc_call(the_api, info->path, msg, len, out);
}

static void start(void)
{
    char err[ERR_LEN];
    repository_options ro = {
        .versions_kept = 1, .limits = IMPORT_LIMITS_DEFAULT, .describe = docs_render, .forget = docs_forget};
    repository *r = repository_load(&ro, NULL, err); /* lives for the whole run */
    api_options ao = {.max_batch = 8, .max_body = 4096};
    if (!r || !(the_api = api_create(r, &ao, err))) abort();
    grpc_limits lim = {.max_message = 4096,
                       .max_streams = 8,
                       .max_header_bytes = 8192,
                       .max_connections = 64,
                       .header_ms = 1000,
                       .body_ms = 1000,
                       .idle_ms = 1000};
    grpc_handler h = {.call = on_call};
    if (!(server = grpc_start(-1, &lim, &h, err))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!server) start();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0) abort();
    if (grpc_add_connection(server, sv[0]) != 0) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    size_t off = 0;
    while (off < size) {
        struct pollfd p = {sv[1], POLLOUT, 0};
        if (poll(&p, 1, 2000) <= 0) break;
        ssize_t n = write(sv[1], data + off, size - off);
        if (n <= 0) break; /* the server closed early: fine */
        off += (size_t)n;
    }
    shutdown(sv[1], SHUT_WR);
    unsigned char reply[64];
    size_t got = 0;
    for (;;) {
        struct pollfd p = {sv[1], POLLIN, 0};
        if (poll(&p, 1, 2000) <= 0) break;
        unsigned char buf[4096];
        ssize_t n = read(sv[1], buf, sizeof buf);
        if (n < 0) continue;
        if (n == 0) break;
        if (got < sizeof reply) {
            size_t k = (size_t)n < sizeof reply - got ? (size_t)n : sizeof reply - got;
            memcpy(reply + got, buf, k);
            got += k;
        }
    }
    close(sv[1]);
    if (got >= 9 && reply[3] != 0x04) abort(); /* the server's preface is a SETTINGS frame */
    return 0;
}
