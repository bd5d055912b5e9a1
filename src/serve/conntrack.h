/* conntrack — the open connections of one listener and what each is waiting
 * for, so that a slow client cannot hold a slot for ever (nginx's
 * client_header_timeout and client_body_timeout; gunicorn has none):
 *   headers  since accept, or since the previous answer on a keep-alive connection
 *   body     since the headers arrived
 *   busy     being answered (--timeout covers this)
 * A connection past its phase's deadline is shut down (the HTTP loop then
 * closes it). (At the connection limit the loop itself evicts the slowest
 * sender of headers: http.c.) Thread-safe: the HTTP thread moves connections
 * between phases, the worker's main thread sweeps. */
#ifndef TABSERVE_CONNTRACK_H
#define TABSERVE_CONNTRACK_H

#include <stdint.h>

typedef struct conntrack conntrack;
typedef struct conn_slot conn_slot;

typedef enum { CONN_HEADERS, CONN_BODY, CONN_BUSY } conn_phase;

/* Room for cap connections. NULL when memory runs out. */
conntrack *conntrack_create(int cap);
void conntrack_free(conntrack *t);

/* A newly accepted connection on socket fd, reading its headers; NULL when full. */
conn_slot *conntrack_open(conntrack *t, int fd, int64_t now_ms);
void conntrack_phase(conntrack *t, conn_slot *s, conn_phase phase, int64_t now_ms);
void conntrack_close(conntrack *t, conn_slot *s);

/* Shuts down every connection in its headers phase longer than header_ms or its
 * body phase longer than body_ms (0: no deadline). Returns how many. */
int conntrack_sweep(conntrack *t, int64_t now_ms, int64_t header_ms, int64_t body_ms);

#endif
