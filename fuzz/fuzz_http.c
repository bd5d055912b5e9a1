/* libFuzzer: bytes from a client socket into one worker's HTTP handling, as the
 * worker runs it (worker_start_detached): llhttp and tabserve's HTTP loop, its
 * limits and framing rules, the deadlines' bookkeeping, api_handle, metrics.
 * Each input is one connection, handed to the server through a socket pair,
 * written, half-closed, and read until the server closes it (or 2 s pass).
 * Whatever comes back starts with an HTTP status line; ASan watches the rest. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/err.h"
#include "formats/default_model.h"
#include "serve/docs.h"
#include "serve/config.h"
#include "serve/stats.h"
#include "serve/worker.h"

static http_server *server;

static void start(void)
{
    static serve_config cfg;
    static worker_args wa;
    char err[ERR_LEN];
    char *argv[] = {"--max-batch", "8", "--limit-request-body", "4096", "--keep-alive", "1"};
    repository_options ro = {
        .versions_kept = 1, .limits = IMPORT_LIMITS_DEFAULT, .describe = docs_render, .forget = docs_forget};
    repository *m = repository_load(&ro, NULL, err); /* lives for the whole run */
    stats_shared *stats = stats_create(err);
    if (!m || !stats || config_parse(&cfg, 6, argv, err) != 0) abort();
    wa = (worker_args){.cfg = &cfg, .repo = m, .stats = stats, .slot = 0, .access_fd = -1};
    if (!(server = worker_start_detached(&wa, err))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!server) start();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) abort();
    if (http_add_connection(server, sv[0]) != 0) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(sv[1], data + off, size - off);
        if (n <= 0) break; /* the server closed early: fine */
        off += (size_t)n;
    }
    shutdown(sv[1], SHUT_WR);
    char reply[512];
    size_t got = 0;
    for (;;) {
        struct pollfd p = {sv[1], POLLIN, 0};
        if (poll(&p, 1, 2000) <= 0) break;
        char buf[4096];
        ssize_t n = read(sv[1], buf, sizeof buf);
        if (n <= 0) break;
        if (got < sizeof reply) {
            size_t k = (size_t)n < sizeof reply - got ? (size_t)n : sizeof reply - got;
            memcpy(reply + got, buf, k);
            got += k;
        }
    }
    close(sv[1]);
    if (got >= 9 && memcmp(reply, "HTTP/1.1 ", 9) != 0 && memcmp(reply, "HTTP/1.0 ", 9) != 0) abort();
    return 0;
}
