/* master — the prefork arbiter (nginx's cycle, gunicorn's signals). Binds the
 * sockets and validates the model before any fork, then keeps the wanted number
 * of workers alive: reaps and respawns (with back-off), kills workers stuck past
 * --timeout, and acts on TERM (graceful), INT/QUIT (quick), HUP (reload the
 * model, start new workers, retire old ones), TTIN/TTOU (one more/fewer).
 * Fit to be PID 1 in a container: it reaps every child. */
#ifndef TABSERVE_MASTER_H
#define TABSERVE_MASTER_H

#include "serve/config.h"

/* Runs the server; returns the process exit code (0 after a clean shutdown). */
int master_run(const serve_config *cfg);

#endif
