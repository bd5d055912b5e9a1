/* conntrack — a fixed table of connection slots under one mutex. */
#define _DEFAULT_SOURCE
#include "serve/conntrack.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct conn_slot {
    int fd; /* -1: free */
    int shut;
    conn_phase phase;
    int64_t since_ms;
    conn_slot *next_free;
};

struct conntrack {
    pthread_mutex_t lock;
    int cap, count;
    conn_slot *slots, *free_list;
};

conntrack *conntrack_create(int cap)
{
    conntrack *t = calloc(1, sizeof *t);
    if (!t || !(t->slots = calloc((size_t)cap, sizeof *t->slots))) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    t->cap = cap;
    for (int i = cap - 1; i >= 0; i--) {
        t->slots[i].fd = -1;
        t->slots[i].next_free = t->free_list;
        t->free_list = &t->slots[i];
    }
    return t;
}

void conntrack_free(conntrack *t)
{
    if (!t) return;
    pthread_mutex_destroy(&t->lock);
    free(t->slots);
    free(t);
}

conn_slot *conntrack_open(conntrack *t, int fd, int64_t now_ms)
{
    pthread_mutex_lock(&t->lock);
    conn_slot *s = t->free_list;
    if (s) {
        t->free_list = s->next_free;
        *s = (conn_slot){fd, 0, CONN_HEADERS, now_ms, NULL};
        t->count++;
    }
    pthread_mutex_unlock(&t->lock);
    return s;
}

void conntrack_phase(conntrack *t, conn_slot *s, conn_phase phase, int64_t now_ms)
{
    pthread_mutex_lock(&t->lock);
    s->phase = phase;
    s->since_ms = now_ms;
    pthread_mutex_unlock(&t->lock);
}

/* The HTTP library closes the socket only after telling us (conntrack_close),
 * so under the lock a slot's fd is still that connection's. */
void conntrack_close(conntrack *t, conn_slot *s)
{
    pthread_mutex_lock(&t->lock);
    s->fd = -1;
    s->next_free = t->free_list;
    t->free_list = s;
    t->count--;
    pthread_mutex_unlock(&t->lock);
}

static void shut(conn_slot *s)
{
    shutdown(s->fd, SHUT_RDWR);
    s->shut = 1;
}

int conntrack_sweep(conntrack *t, int64_t now_ms, int64_t header_ms, int64_t body_ms)
{
    int n = 0;
    pthread_mutex_lock(&t->lock);
    for (int i = 0; i < t->cap; i++) {
        conn_slot *s = &t->slots[i];
        if (s->fd < 0 || s->shut) continue;
        int64_t limit = s->phase == CONN_HEADERS ? header_ms : s->phase == CONN_BODY ? body_ms : 0;
        if (limit > 0 && now_ms - s->since_ms > limit) {
            shut(s);
            n++;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}
