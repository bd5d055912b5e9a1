/* control — explicit model control's request slot. */
#define _DEFAULT_SOURCE
#include "serve/control.h"

#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "base/clock.h"
#include "base/err.h"

static void pause_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

int control_ask(stats_shared *s, pid_t master, const char *name, int load, char *err)
{
    stats_control *c = &s->control;
    int64_t give_up = clock_coarse_ms() + 10000;
    int free_slot = 0;
    while (!atomic_compare_exchange_strong(&c->busy, &free_slot, 1)) {
        free_slot = 0;
        if (clock_coarse_ms() > give_up) {
            err_set(err, "another model load or unload has been in progress for 10 s; try again");
            return 503;
        }
        pause_ms(10);
    }
    snprintf(c->name, sizeof c->name, "%s", name);
    c->load = load;
    int64_t asked = atomic_load(&c->asked) + 1;
    atomic_store(&c->asked, asked);
    kill(master, SIGHUP);
    /* loading reads model files and starts new workers: allow for big models */
    give_up = clock_coarse_ms() + 120000;
    while (atomic_load(&c->done) < asked) {
        if (clock_coarse_ms() > give_up) {
            atomic_store(&c->busy, 0);
            err_set(err, "the %s of model %s did not finish within 120 s; see the server's log",
                    load ? "load" : "unload", name);
            return 504;
        }
        pause_ms(2);
    }
    int status = c->status;
    if (status) err_set(err, "%s", c->message);
    atomic_store(&c->busy, 0);
    return status;
}

int control_pending(stats_shared *s, char *name, int *load)
{
    stats_control *c = &s->control;
    if (atomic_load(&c->done) >= atomic_load(&c->asked)) return 0;
    snprintf(name, STATS_MODEL_NAME, "%s", c->name);
    *load = c->load;
    return 1;
}

void control_answer(stats_shared *s, int status, const char *message)
{
    stats_control *c = &s->control;
    c->status = status;
    snprintf(c->message, sizeof c->message, "%s", message ? message : "");
    atomic_store(&c->done, atomic_load(&c->asked));
}
