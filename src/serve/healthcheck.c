/* healthcheck — a minimal HTTP/1.0 client for one GET, with a deadline. */
#define _DEFAULT_SOURCE
#include "serve/healthcheck.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "serve/listen.h"
#include "base/clock.h"
#include "base/err.h"

/* Connects to addr (the forms --bind takes; a wildcard host means this host). */
static int connect_to(const char *addr, char *err)
{
    if (strncmp(addr, "unix:", 5) == 0) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof sun.sun_path, "%s", addr + 5);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) return fd;
        err_set(err, "%s: %s", addr, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    char host[256], port[8];
    if (listen_split(addr, host, port, err) != 0) return -1;
    if (!*host || strcmp(host, "0.0.0.0") == 0) strcpy(host, "127.0.0.1");
    if (strcmp(host, "::") == 0) strcpy(host, "::1");
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) return err_set(err, "%s: %s", addr, gai_strerror(rc));
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        err_set(err, "%s: %s", addr, strerror(errno));
        if (fd >= 0) close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

int healthcheck_get(const char *addr, const char *path, int timeout_ms, int *status, char *err)
{
    int fd = connect_to(addr, err);
    if (fd < 0) return -1;
    char req[512], resp[256];
    int n =
        snprintf(req, sizeof req,
                 "GET %.256s HTTP/1.0\r\nHost: localhost\r\nUser-Agent: tabserve-healthcheck\r\n\r\n", path);
    size_t got = 0;
    int64_t deadline = clock_coarse_ms() + timeout_ms;
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return err_set(err, "%s: write failed", addr);
    }
    while (got < sizeof resp - 1 && clock_coarse_ms() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)(deadline - clock_coarse_ms())) <= 0) break;
        ssize_t k = read(fd, resp + got, sizeof resp - 1 - got);
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    resp[got] = 0;
    if (sscanf(resp, "HTTP/%*d.%*d %d", status) != 1) *status = 0;
    return 0;
}
