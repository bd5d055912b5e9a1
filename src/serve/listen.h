/* listen — bind addresses to listening sockets, in the master, before any fork.
 * Accepted forms (gunicorn's): HOST:PORT, :PORT (all interfaces), [IPv6]:PORT,
 * unix:PATH. */
#ifndef TABSERVE_LISTEN_H
#define TABSERVE_LISTEN_H

/* Splits a TCP address (HOST:PORT, :PORT, [IPv6]:PORT) into host, empty for
 * ":PORT", and port, checked to be 0 to 65535. Returns 0, or -1 with err. */
int listen_split(const char *addr, char host[256], char port[8], char *err);

/* Opens a non-blocking listening socket for addr. Returns the fd, or -1 with err. */
int listen_open(const char *addr, char *err);
/* The port a TCP socket is bound to (for ":0"), or -1. */
int listen_port(int fd);

#endif
