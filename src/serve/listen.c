/* listen — address parsing and socket setup. */
#define _DEFAULT_SOURCE
#include "serve/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/err.h"

#define BACKLOG 2048 /* gunicorn's default */

static int finish(int fd, const char *addr, char *err)
{
    if (listen(fd, BACKLOG) != 0) {
        err_set(err, "cannot listen on %s: %s", addr, strerror(errno));
        close(fd);
        return -1;
    }
    /* workers share the socket through epoll: non-blocking accept, no one blocks the rest */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static int open_unix(const char *addr, char *err)
{
    const char *path = addr + strlen("unix:");
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (!*path || strlen(path) >= sizeof sun.sun_path)
        return err_set(err, "bad address \"%s\": unix:PATH with a path of 1 to %zu bytes", addr,
                       sizeof sun.sun_path - 1);
    strcpy(sun.sun_path, path);
    struct stat st;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return err_set(err, "socket: %s", strerror(errno));
    if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        /* a live server answers there: refuse (as gunicorn), or its socket would be
         * taken over and, when we exit, deleted; a stale one is removed */
        if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) {
            close(fd);
            return err_set(err, "cannot bind %s: a server is already listening on that socket", addr);
        }
        unlink(path);
        close(fd);
        if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) return err_set(err, "socket: %s", strerror(errno));
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
        err_set(err, "cannot bind %s: %s", addr, strerror(errno));
        close(fd);
        return -1;
    }
    return finish(fd, addr, err);
}

int listen_split(const char *addr, char host[256], char port[8], char *err)
{
    const char *host_start = addr, *host_end, *port_start;
    if (addr[0] == '[') {
        const char *close_br = strchr(addr, ']');
        if (!close_br || close_br[1] != ':')
            return err_set(err, "bad address \"%s\": expected [IPv6]:PORT", addr);
        host_start = addr + 1;
        host_end = close_br;
        port_start = close_br + 2;
    } else {
        const char *colon = strrchr(addr, ':');
        if (!colon)
            return err_set(err, "bad address \"%s\": expected HOST:PORT, :PORT, [IPv6]:PORT or unix:PATH",
                           addr);
        host_end = colon;
        port_start = colon + 1;
    }
    if ((size_t)(host_end - host_start) >= 256)
        return err_set(err, "bad address \"%s\": host too long", addr);
    memcpy(host, host_start, (size_t)(host_end - host_start));
    host[host_end - host_start] = 0;
    char *end;
    long p = strtol(port_start, &end, 10);
    if (!*port_start || *end || p < 0 || p > 65535)
        return err_set(err, "bad address \"%s\": the port must be 0 to 65535", addr);
    snprintf(port, 8, "%ld", p);
    return 0;
}

int listen_open(const char *addr, char *err)
{
    if (strncmp(addr, "unix:", 5) == 0) return open_unix(addr, err);
    char host[256], port[8];
    if (listen_split(addr, host, port, err) != 0) return -1;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    /* ":PORT" means every IPv4 interface, as in gunicorn */
    int rc = getaddrinfo(*host ? host : "0.0.0.0", port, &hints, &res);
    if (rc != 0) return err_set(err, "bad address \"%s\": %s", addr, gai_strerror(rc));
    int fd = socket(res->ai_family, SOCK_STREAM, 0), one = 1;
    if (fd < 0) {
        freeaddrinfo(res);
        return err_set(err, "socket: %s", strerror(errno));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (res->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
        err_set(err, "cannot bind %s: %s", addr, strerror(errno));
        freeaddrinfo(res);
        close(fd);
        return -1;
    }
    freeaddrinfo(res);
    return finish(fd, addr, err);
}

int listen_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}
