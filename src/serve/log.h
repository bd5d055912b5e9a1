/* log — the error log, in gunicorn's shape: "[time] [pid] [LEVEL] message".
 * One process-wide sink (like redis's serverLog): set once by the master before
 * forking, inherited by the workers. Lines are written whole with one write(2). */
#ifndef TABSERVE_LOG_H
#define TABSERVE_LOG_H

#include "serve/config.h"

/* path "-" or NULL: stderr. Returns 0 or -1 with err. */
int log_open(const char *path, int level, char *err);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
