/* control — explicit model control's hand-over between processes: a worker
 * asks for a model to be loaded or unloaded, the master (which alone builds
 * repositories) does it and answers. One request at a time, through a slot in
 * the shared statistics block (stats.h), woken by SIGHUP:
 *
 *   worker  control_ask: take the slot, write the request, signal the
 *           master, wait for its answer
 *   master  control_pending on SIGHUP: a request is waiting; control_answer
 *           once it is done (the new workers are then serving) */
#ifndef TABSERVE_CONTROL_H
#define TABSERVE_CONTROL_H

#include <sys/types.h>

#include "serve/stats.h"

/* Returns 0 once done, or an HTTP status with err (503: another request holds
 * the slot too long; 504: the master did not answer in time). */
int control_ask(stats_shared *s, pid_t master, const char *name, int load, char *err);

/* A request is waiting: 1 with its model name (STATS_MODEL_NAME bytes) and
 * whether to load it, else 0. */
int control_pending(stats_shared *s, char *name, int *load);
void control_answer(stats_shared *s, int status, const char *message);

#endif
