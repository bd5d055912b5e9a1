/* healthcheck — a minimal HTTP/1.0 client for one GET, with a deadline; and the
 * serve command's entry point, which only parses options and runs the master. */
#define _DEFAULT_SOURCE
#include "healthcheck.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "listen.h"
#include "master.h"
#include "stats.h"
#include "util.h"

int cmd_serve(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            config_usage(stdout);
            return 0;
        }
    serve_config cfg;
    char err[ERR_LEN];
    if (config_parse(&cfg, argc, argv, err) != 0) {
        fprintf(stderr, "tabserve serve: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    int rc = master_run(&cfg);
    config_free(&cfg);
    return rc;
}

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

int cmd_healthcheck(int argc, char **argv)
{
    const char *addr = NULL, *path = "/readyz", *v = NULL;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = cli_option(argc, argv, &i, "--bind", &v)) > 0 ||
            (r == 0 && (r = cli_option(argc, argv, &i, "-b", &v)) > 0))
            addr = v;
        else if (r == 0 && (r = cli_option(argc, argv, &i, "--path", &v)) > 0)
            path = v;
        else if (r == 0 && argv[i][0] != '-' && !addr)
            addr = argv[i];
        else {
            fprintf(stderr,
                    "usage: tabserve healthcheck [ADDR] [--path /readyz]   (ADDR: as --bind; default: "
                    "the first of TABSERVE_BIND, else 127.0.0.1:$PORT, else 127.0.0.1:8000)\n");
            return 2;
        }
    }
    char fallback[64], first[256];
    if (!addr) {
        const char *env = getenv("TABSERVE_BIND"), *port = getenv("PORT");
        if (env && *env) {
            snprintf(first, sizeof first, "%.*s", (int)strcspn(env, ", "), env);
            addr = first;
        } else {
            snprintf(fallback, sizeof fallback, "127.0.0.1:%.20s", port && *port ? port : "8000");
            addr = fallback;
        }
    }
    char err[ERR_LEN];
    int fd = connect_to(addr, err);
    if (fd < 0) {
        fprintf(stderr, "tabserve healthcheck: not ready: %s\n", err);
        return 1;
    }
    char req[512], resp[256];
    int n =
        snprintf(req, sizeof req,
                 "GET %.256s HTTP/1.0\r\nHost: localhost\r\nUser-Agent: tabserve-healthcheck\r\n\r\n", path);
    size_t got = 0;
    int64_t deadline = stats_now_ms() + 3000;
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        fprintf(stderr, "tabserve healthcheck: not ready: write failed\n");
        return 1;
    }
    while (got < sizeof resp - 1 && stats_now_ms() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)(deadline - stats_now_ms())) <= 0) break;
        ssize_t k = read(fd, resp + got, sizeof resp - 1 - got);
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    resp[got] = 0;
    int status = 0;
    if (sscanf(resp, "HTTP/%*d.%*d %d", &status) != 1) status = 0;
    if (status == 200) {
        printf("ready: %s%s answered 200\n", addr, path);
        return 0;
    }
    fprintf(stderr, "tabserve healthcheck: not ready: %s%s answered %d\n", addr, path, status);
    return 1;
}
