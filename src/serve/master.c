/* master — the loop: sleep in sigsuspend; on waking act in a fixed order:
 * reap -> exit if stopping and none left -> stop -> reload -> resize ->
 * kill stuck workers -> respawn. Signal handlers only set flags. */
#define _GNU_SOURCE
#include "serve/master.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "formats/open.h"
#include "formats/default_model.h"
#include "serve/control.h"
#include "serve/listen.h"
#include "serve/repository.h"
#include "serve/docs.h"
#include "serve/log.h"
#include "serve/stats.h"
#include "base/clock.h"
#include "base/err.h"
#include "serve/worker.h"

#define MAX_PROCS STATS_MAX_WORKERS

typedef struct {
    pid_t pid;      /* 0: free */
    int generation; /* which model the worker serves */
    int retiring;   /* told to drain; not counted as serving */
    int64_t started_ms;
    int64_t kill_at_ms; /* retiring: SIGKILL if still alive then */
} proc;

typedef struct {
    const serve_config *cfg;
    repository_options ropt;
    repository *repo;
    int64_t next_poll_ms; /* the repository's next scan */
    int generation;
    int fds[CONFIG_MAX_BINDS];
    int n_fds;
    int grpc_fd; /* -1: no gRPC */
    int access_fd;
    stats_shared *stats;
    proc procs[MAX_PROCS];
    int wanted;
    int stopping; /* 0, STOP_GRACEFUL or STOP_QUICK */
    int64_t stop_deadline_ms;
    int crash_streak; /* workers that died young in a row: drives the back-off */
    int64_t respawn_after_ms;
    int test_hooks;
    unsigned long long jitter_state;
} master;

enum { STOP_GRACEFUL = 1, STOP_QUICK = 2 };

static volatile sig_atomic_t sig_term, sig_quick, sig_hup, sig_ttin, sig_ttou, sig_chld, sig_alarm;

static void on_signal(int sig)
{
    switch (sig) {
    case SIGTERM: sig_term = 1; break;
    case SIGINT:
    case SIGQUIT: sig_quick = 1; break;
    case SIGHUP: sig_hup = 1; break;
    case SIGTTIN: sig_ttin++; break;
    case SIGTTOU: sig_ttou++; break;
    case SIGCHLD: sig_chld = 1; break;
    case SIGALRM: sig_alarm = 1; break;
    }
}

static const int handled_signals[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTTIN, SIGTTOU, SIGCHLD, SIGALRM};
#define N_HANDLED (int)(sizeof handled_signals / sizeof *handled_signals)

static int serving_count(const master *ms)
{
    int n = 0;
    for (int i = 0; i < MAX_PROCS; i++) n += ms->procs[i].pid && !ms->procs[i].retiring;
    return n;
}

static int alive_count(const master *ms)
{
    int n = 0;
    for (int i = 0; i < MAX_PROCS; i++) n += ms->procs[i].pid != 0;
    return n;
}

static long requests_limit(master *ms)
{
    if (!ms->cfg->max_requests) return 0;
    long jitter = 0;
    if (ms->cfg->max_requests_jitter) {
        ms->jitter_state = ms->jitter_state * 6364136223846793005ull + 1442695040888963407ull;
        jitter = (long)((ms->jitter_state >> 33) % (unsigned long long)(ms->cfg->max_requests_jitter + 1));
    }
    return ms->cfg->max_requests + jitter;
}

static void spawn(master *ms)
{
    int slot = 0;
    while (slot < MAX_PROCS && ms->procs[slot].pid) slot++;
    if (slot == MAX_PROCS) {
        log_msg(LOG_ERROR, "no free worker slot (at most %d processes)", MAX_PROCS);
        return;
    }
    stats_worker *sw = &ms->stats->w[slot];
    atomic_store(&sw->heartbeat_ms, clock_coarse_ms()); /* boot time counts as alive */
    atomic_store(&sw->busy_since_ms, 0);
    atomic_store(&sw->in_flight, 0);
    atomic_store(&sw->connections, 0);
    /* from before the fork: a reload that retires this worker while it boots
     * waits for its drain too (wait_until_not_accepting) */
    atomic_store(&sw->accepting, 1);
    atomic_store(&sw->grpc_connections, 0); /* the slot's previous worker's count is not this one's */
    long limit = requests_limit(ms);
    fflush(NULL); /* nothing buffered is inherited, so the worker may exit() normally */
    pid_t pid = fork();
    if (pid < 0) {
        atomic_store(&sw->accepting, 0);
        log_msg(LOG_ERROR, "fork failed: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        for (int i = 0; i < N_HANDLED; i++) signal(handled_signals[i], SIG_DFL);
        worker_args wa = {ms->cfg,   ms->repo,    ms->stats,     slot,  ms->fds,
                          ms->n_fds, ms->grpc_fd, ms->access_fd, limit, ms->test_hooks};
        /* exit(), not _exit(): leak checkers see the worker's end too */
        exit(worker_run(&wa));
    }
    ms->procs[slot] = (proc){pid, ms->generation, 0, clock_coarse_ms(), 0};
    atomic_store(&sw->pid, (int)pid);
}

static void retire(master *ms, proc *p)
{
    if (p->retiring) return;
    p->retiring = 1;
    p->kill_at_ms = clock_coarse_ms() + (int64_t)(ms->cfg->graceful_timeout * 1000) + 1000;
    kill(p->pid, SIGTERM);
}

static void reap(master *ms)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        int i = 0;
        while (i < MAX_PROCS && ms->procs[i].pid != pid) i++;
        if (i == MAX_PROCS) continue; /* not ours: as PID 1 we reap orphans too */
        proc *p = &ms->procs[i];
        stats_worker *sw = &ms->stats->w[i];
        atomic_store(&sw->pid, 0);
        atomic_store(&sw->accepting, 0);
        atomic_store(&sw->in_flight, 0);
        atomic_store(&sw->busy_since_ms, 0);
        int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_BOOT_ERROR && !ms->stopping) {
            log_msg(LOG_CRITICAL, "Worker (pid:%d) failed to boot: shutting down", (int)pid);
            ms->stopping = STOP_QUICK;
            ms->stop_deadline_ms = clock_coarse_ms() + 1000;
        } else if (clean) {
            log_msg(p->retiring || ms->stopping ? LOG_DEBUG : LOG_INFO, "Worker exited (pid:%d)%s", (int)pid,
                    p->retiring || ms->stopping ? "" : ": recycled after --max-requests");
        } else if (WIFSIGNALED(status)) {
            log_msg(ms->stopping ? LOG_INFO : LOG_ERROR, "Worker (pid:%d) was killed by signal %d (%s)",
                    (int)pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
        } else {
            log_msg(LOG_ERROR, "Worker (pid:%d) exited with code %d", (int)pid, WEXITSTATUS(status));
        }
        if (!clean && !p->retiring && !ms->stopping) {
            atomic_fetch_add(&ms->stats->worker_restarts, 1);
            /* a worker that dies within a second of starting is a crash loop in the
             * making: wait 0.1 s, 0.2 s, ... up to 10 s before the next one */
            if (clock_coarse_ms() - p->started_ms < 1000) {
                int k = ms->crash_streak < 7 ? ms->crash_streak : 7;
                ms->crash_streak++;
                ms->respawn_after_ms = clock_coarse_ms() + (100 << k) > clock_coarse_ms() + 10000
                                           ? clock_coarse_ms() + 10000
                                           : clock_coarse_ms() + (100 << k);
                if (k) log_msg(LOG_WARNING, "Workers keep dying at start: next spawn in %d ms", 100 << k);
            } else {
                ms->crash_streak = 0;
            }
        }
        memset(p, 0, sizeof *p);
    }
}

/* Gives each version of r its metrics slot, and counts the loads this
 * repository_load did (taken-over versions were counted when first loaded). */
static void account(master *ms, repository *r)
{
    for (int i = 0; i < r->n; i++)
        for (int k = 0; k < r->models[i].n; k++) {
            repo_version *v = &r->models[i].v[k];
            v->stats_slot = stats_model_slot(ms->stats, r->models[i].name, v->version);
            if (v->stats_slot < 0 || !v->fresh) continue;
            stats_model_label *l = &ms->stats->models[v->stats_slot];
            atomic_fetch_add(v->m ? &l->loads : &l->load_failures, 1);
        }
}

static void describe_repository(const repository *r)
{
    if (r->n > 1 && r->default_model < 0)
        log_msg(LOG_INFO,
                "%d models and no --default-model: POST /model answers 404; each model is served at "
                "/v2/models/NAME and /v1/models/NAME",
                r->n);
    for (int i = 0; i < r->n; i++) {
        const repo_model *rm = &r->models[i];
        const repo_version *v = repo_model_version(rm, 0);
        if (rm->unloaded)
            log_msg(LOG_INFO, "Model %s is unloaded (explicit model control)", rm->name);
        else if (v)
            log_msg(LOG_INFO, "Serving model %s version %ld (%s)%s", rm->name, v->version, v->m->hash,
                    i == r->default_model ? ", the default model" : "");
        else
            log_msg(LOG_ERROR, "Model %s has no version ready: not serving it", rm->name);
    }
}

/* The old generation has closed its copies of the listening sockets before
 * the new one starts, so that once any client has had an answer from the new
 * models no later connection is answered from the old ones (a removed version
 * stays removed). No connection is lost meanwhile: the master's sockets stay
 * open and the kernel queues them until a new worker, a millisecond later,
 * takes them. Bounded: a worker that cannot say it stopped within a second is
 * not waited for. */
static void wait_until_not_accepting(master *ms, int generation)
{
    int64_t give_up = clock_coarse_ms() + 1000;
    for (;;) {
        int still = 0;
        for (int i = 0; i < MAX_PROCS; i++)
            if (ms->procs[i].pid && ms->procs[i].generation == generation &&
                atomic_load(&ms->stats->w[i].accepting))
                still++;
        if (!still || clock_coarse_ms() > give_up) return;
        struct timespec ts = {0, 100 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void swap_in(master *ms, repository *r);

/* Loads the model(s) again and, when that succeeds, replaces the workers. why:
 * "hup", or "poll" (the repository changed on disk). */
static void reload(master *ms, const char *why)
{
    char err[ERR_LEN];
    const char *what = ms->ropt.dir          ? ms->ropt.dir
                       : ms->cfg->model_path ? ms->cfg->model_path
                                             : DEFAULT_MODEL_NAME;
    if (strcmp(why, "hup") == 0)
        log_msg(LOG_INFO, "Handling signal: hup (reloading %s)", what);
    else
        log_msg(LOG_INFO, "Repository %s changed: reloading", what);
    repository *r = repository_load(&ms->ropt, ms->repo, err);
    if (!r) {
        atomic_fetch_add(&ms->stats->reload_failures, 1);
        int slot = ms->repo && !ms->ropt.dir ? ms->repo->models[0].v[0].stats_slot : -1;
        if (slot >= 0) atomic_fetch_add(&ms->stats->models[slot].load_failures, 1);
        log_msg(LOG_ERROR, "Reload refused, the old workers go on serving: %s", err);
        return;
    }
    swap_in(ms, r);
}

/* r becomes what is served: a new generation of workers replaces the old. */
static void swap_in(master *ms, repository *r)
{
    account(ms, r);
    if (ms->ropt.dir) describe_repository(r);
    repository *old = ms->repo;
    ms->repo = r;
    int old_gen = ms->generation++;
    for (int i = 0; i < MAX_PROCS; i++)
        if (ms->procs[i].pid && ms->procs[i].generation == old_gen) retire(ms, &ms->procs[i]);
    wait_until_not_accepting(ms, old_gen);
    for (int i = 0; i < ms->wanted; i++) spawn(ms);
    repository_free(old); /* the old workers have their own copy since fork */
    malloc_trim(0);
    atomic_fetch_add(&ms->stats->model_reloads, 1);
    if (!ms->ropt.dir) log_msg(LOG_INFO, "Reloaded model %s", r->models[0].v[0].m->hash);
}

static int name_listed(char **names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

/* Takes name out of the unloaded list (load) or puts it in (unload). Returns 0, or -1: out of memory. */
static int set_unloaded(master *ms, const char *name, int unloaded)
{
    repository_options *o = &ms->ropt;
    int at = name_listed(o->unloaded, o->n_unloaded, name);
    if (!unloaded && at >= 0) {
        free(o->unloaded[at]);
        o->unloaded[at] = o->unloaded[--o->n_unloaded];
    } else if (unloaded && at < 0) {
        char **more = realloc(o->unloaded, (size_t)(o->n_unloaded + 1) * sizeof *more);
        if (!more) return -1;
        o->unloaded = more;
        if (!(o->unloaded[o->n_unloaded] = strdup(name))) return -1;
        o->n_unloaded++;
    }
    return 0;
}

/* Explicit model control: a worker asked for a model to be loaded (again:
 * read from the repository afresh) or unloaded. Done as a reload, with its
 * guarantees: what fails to load is refused while the rest serves on. */
static void model_control(master *ms, const char *name, int load)
{
    char err[ERR_LEN], msg[ERR_LEN];
    const repo_model *now = repository_find(ms->repo, name, strlen(name));
    int was_unloaded = now && now->unloaded;
    log_msg(LOG_INFO, "Model control: %s %s", load ? "load" : "unload", name);
    if (!load && !now) {
        snprintf(msg, sizeof msg, "no model named \"%s\" in the repository", name);
        control_answer(ms->stats, 404, msg);
        return;
    }
    if (set_unloaded(ms, name, !load) != 0) {
        control_answer(ms->stats, 500, "out of memory");
        return;
    }
    repository *r = repository_load(&ms->ropt, ms->repo, err);
    if (!r) { /* nothing servable: the old workers go on */
        set_unloaded(ms, name, was_unloaded);
        snprintf(msg, sizeof msg, "%s of %s refused: %.200s", load ? "load" : "unload", name, err);
        control_answer(ms->stats, 400, msg);
        return;
    }
    const repo_model *rm = repository_find(r, name, strlen(name));
    int status = 0;
    if (load && (!rm || rm->default_v < 0)) {
        /* not there, or no version loads: answered as an error, and the model
         * stays as it was (unloaded, or not in the repository at all) */
        if (!rm)
            snprintf(msg, sizeof msg, "no model directory named \"%s\" in the repository", name);
        else
            snprintf(msg, sizeof msg, "failed to load model %s: %.200s", name,
                     rm->n ? (rm->v[0].error ? rm->v[0].error : "no version loads") : "it has no version");
        status = rm ? 400 : 404;
        if (rm) {
            set_unloaded(ms, name, 1);
            repository *again = repository_load(&ms->ropt, r, err);
            if (again) {
                repository_free(r);
                r = again;
            }
        }
        log_msg(LOG_ERROR, "Model control: %s", msg);
    }
    swap_in(ms, r);
    control_answer(ms->stats, status, status ? msg : "");
}

/* The repository's scan every --repository-poll seconds: reload when what is
 * on disk differs from what was loaded. */
static void poll_repository(master *ms)
{
    if (!ms->ropt.dir || ms->cfg->repository_poll <= 0 || clock_coarse_ms() < ms->next_poll_ms) return;
    ms->next_poll_ms = clock_coarse_ms() + (int64_t)(ms->cfg->repository_poll * 1000);
    char *now = repository_scan_fingerprint(&ms->ropt);
    int changed = now && (!ms->repo->fingerprint || strcmp(now, ms->repo->fingerprint) != 0);
    free(now);
    if (changed) reload(ms, "poll");
}

static void kill_stuck(master *ms)
{
    int64_t now = clock_coarse_ms(), limit = (int64_t)(ms->cfg->timeout * 1000);
    for (int i = 0; i < MAX_PROCS; i++) {
        proc *p = &ms->procs[i];
        if (!p->pid) continue;
        if (p->retiring) {
            if (now > p->kill_at_ms) kill(p->pid, SIGKILL);
            continue;
        }
        if (ms->cfg->timeout <= 0) continue;
        stats_worker *sw = &ms->stats->w[i];
        int64_t beat = atomic_load(&sw->heartbeat_ms), busy = atomic_load(&sw->busy_since_ms);
        if (now - beat > limit || (busy && now - busy > limit)) {
            log_msg(LOG_CRITICAL, "WORKER TIMEOUT (pid:%d): %s for more than %g s", (int)p->pid,
                    busy && now - busy > limit ? "stuck in a request" : "no heartbeat", ms->cfg->timeout);
            kill(p->pid, SIGKILL);
            p->started_ms = 0; /* a timeout is not a boot crash */
        }
    }
}

static void signal_all(master *ms, int sig)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (ms->procs[i].pid) kill(ms->procs[i].pid, sig);
}

static int setup(master *ms, const serve_config *cfg)
{
    char err[ERR_LEN];
    memset(ms, 0, sizeof *ms);
    ms->grpc_fd = -1;
    ms->cfg = cfg;
    ms->access_fd = -1;
    ms->wanted = cfg->workers;
    ms->jitter_state = (unsigned long long)getpid();
    ms->test_hooks = cfg->test_hooks;
    if (log_open(cfg->error_logfile, cfg->log_level, err) != 0) {
        fprintf(stderr, "tabserve serve: %s\n", err);
        return -1;
    }
    /* the models are validated before anything else exists: a bad file fails here */
    ms->ropt = (repository_options){.dir = cfg->model_repository,
                                    .model_path = cfg->model_path,
                                    .schema_path = cfg->schema_path,
                                    .model_name = cfg->model_name,
                                    .default_model = cfg->default_model,
                                    .versions_kept = cfg->versions_kept,
                                    .limits = cfg->limits,
                                    .links_outside = cfg->links_outside_repository,
                                    .describe = docs_render,
                                    .forget = docs_forget};
    if (cfg->model_control_explicit && !cfg->model_repository) {
        log_msg(LOG_CRITICAL, "--model-control-mode explicit needs --model-repository");
        return -1;
    }
    if (!(ms->repo = repository_load(&ms->ropt, NULL, err))) {
        log_msg(LOG_CRITICAL, "cannot load the model%s: %s", cfg->model_repository ? "s" : "", err);
        return -1;
    }
    if (cfg->access_logfile) {
        ms->access_fd = strcmp(cfg->access_logfile, "-") == 0
                            ? dup(1)
                            : open(cfg->access_logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (ms->access_fd < 0) {
            log_msg(LOG_CRITICAL, "--access-logfile %s: %s", cfg->access_logfile, strerror(errno));
            return -1;
        }
    }
    if (!(ms->stats = stats_create(err))) {
        log_msg(LOG_CRITICAL, "%s", err);
        return -1;
    }
    account(ms, ms->repo);
    if (cfg->model_repository)
        log_msg(LOG_INFO, "Starting tabserve %s, %d model(s) from %s", TABSERVE_VERSION, ms->repo->n,
                cfg->model_repository);
    else
        log_msg(LOG_INFO, "Starting tabserve %s, model %s", TABSERVE_VERSION,
                ms->repo->models[0].v[0].m->hash);
    if (cfg->model_repository) describe_repository(ms->repo);
    ms->next_poll_ms = clock_coarse_ms() + (int64_t)(cfg->repository_poll * 1000);
    for (int i = 0; i < cfg->n_binds; i++) {
        int fd = listen_open(cfg->binds[i], err);
        if (fd < 0) {
            log_msg(LOG_CRITICAL, "%s", err);
            return -1;
        }
        ms->fds[ms->n_fds++] = fd;
        /* as gunicorn: "http://0.0.0.0:8080" for ":8080", the bound port for ":0" */
        char host[256], port_text[8];
        int port = listen_port(fd);
        if (port >= 0 && listen_split(cfg->binds[i], host, port_text, NULL) == 0)
            log_msg(LOG_INFO, "Listening at: http://%s%s%s:%d (%d)", strchr(host, ':') ? "[" : "",
                    *host ? host : "0.0.0.0", strchr(host, ':') ? "]" : "", port, (int)getpid());
        else
            log_msg(LOG_INFO, "Listening at: %s (%d)", cfg->binds[i], (int)getpid());
    }
    if (cfg->grpc_bind) {
        if ((ms->grpc_fd = listen_open(cfg->grpc_bind, err)) < 0) {
            log_msg(LOG_CRITICAL, "--grpc-bind: %s", err);
            return -1;
        }
        char host[256], port_text[8];
        int port = listen_port(ms->grpc_fd);
        if (port >= 0 && listen_split(cfg->grpc_bind, host, port_text, NULL) == 0)
            log_msg(LOG_INFO, "Listening at: grpc://%s%s%s:%d (%d)", strchr(host, ':') ? "[" : "",
                    *host ? host : "0.0.0.0", strchr(host, ':') ? "]" : "", port, (int)getpid());
        else
            log_msg(LOG_INFO, "Listening at: grpc %s (%d)", cfg->grpc_bind, (int)getpid());
    }
    /* parsing the model file freed a few MB of small blocks; give the pages back
     * before forking so that no worker starts with them resident */
    malloc_trim(0);
    atomic_store(&ms->stats->workers_wanted, ms->wanted);
    atomic_store(&ms->stats->started_ms, clock_coarse_ms());
    return 0;
}

/* Closes the master's copies of the listening sockets. Once every worker has
 * closed its own too (they do as they drain), connecting fails at once, so a
 * client or load balancer goes elsewhere instead of waiting in the backlog. */
static void close_listeners(master *ms)
{
    for (int i = 0; i < ms->n_fds; i++)
        if (ms->fds[i] >= 0) {
            close(ms->fds[i]);
            ms->fds[i] = -1;
            if (strncmp(ms->cfg->binds[i], "unix:", 5) == 0) unlink(ms->cfg->binds[i] + 5);
        }
    if (ms->grpc_fd >= 0) {
        close(ms->grpc_fd);
        ms->grpc_fd = -1;
        if (strncmp(ms->cfg->grpc_bind, "unix:", 5) == 0) unlink(ms->cfg->grpc_bind + 5);
    }
}

static void teardown(master *ms)
{
    close_listeners(ms);
    if (ms->access_fd >= 0) close(ms->access_fd);
    stats_destroy(ms->stats);
    repository_free(ms->repo);
    for (int i = 0; i < ms->ropt.n_unloaded; i++) free(ms->ropt.unloaded[i]);
    free(ms->ropt.unloaded);
}

int master_run(const serve_config *cfg)
{
    static master ms; /* large (the process table); one per process */
    if (setup(&ms, cfg) != 0) {
        teardown(&ms);
        return 1;
    }
    sigset_t block, old;
    sigemptyset(&block);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < N_HANDLED; i++) {
        sigaddset(&block, handled_signals[i]);
        sigaction(handled_signals[i], &sa, NULL);
    }
    signal(SIGPIPE, SIG_IGN);
    sigprocmask(SIG_BLOCK, &block, &old);
    struct itimerval tick = {{0, 250000}, {0, 250000}}; /* wakes the loop to check timeouts */
    setitimer(ITIMER_REAL, &tick, NULL);

    for (int i = 0; i < ms.wanted; i++) spawn(&ms);
    for (;;) {
        sigsuspend(&old);
        reap(&ms);
        if (ms.stopping && alive_count(&ms) == 0) break;
        if (ms.stopping && clock_coarse_ms() > ms.stop_deadline_ms) signal_all(&ms, SIGKILL);
        if (sig_quick && ms.stopping != STOP_QUICK) {
            log_msg(LOG_INFO, "Handling signal: int/quit (quick shutdown)");
            ms.stopping = STOP_QUICK;
            ms.stop_deadline_ms = clock_coarse_ms() + 2000;
            signal_all(&ms, SIGQUIT);
            close_listeners(&ms);
        }
        if (sig_term && !ms.stopping) {
            log_msg(LOG_INFO, "Handling signal: term (graceful shutdown, up to %g s)", cfg->graceful_timeout);
            ms.stopping = STOP_GRACEFUL;
            ms.stop_deadline_ms = clock_coarse_ms() + (int64_t)(cfg->graceful_timeout * 1000) + 1000;
            signal_all(&ms, SIGTERM);
            close_listeners(&ms);
        }
        char control_name[STATS_MODEL_NAME];
        int control_load;
        if (ms.stopping) {
            sig_term = sig_quick = sig_hup = sig_ttin = sig_ttou = 0;
            if (control_pending(ms.stats, control_name, &control_load))
                control_answer(ms.stats, 503, "the server is shutting down");
            continue;
        }
        if (sig_hup) {
            sig_hup = 0;
            if (cfg->model_control_explicit && control_pending(ms.stats, control_name, &control_load))
                model_control(&ms, control_name, control_load);
            else
                reload(&ms, "hup");
        }
        poll_repository(&ms);
        for (; sig_ttin > 0; sig_ttin--)
            if (ms.wanted < MAX_PROCS / 2)
                ms.wanted++, log_msg(LOG_INFO, "Handling signal: ttin (%d workers)", ms.wanted);
        for (; sig_ttou > 0; sig_ttou--)
            if (ms.wanted > 1)
                ms.wanted--, log_msg(LOG_INFO, "Handling signal: ttou (%d workers)", ms.wanted);
            else
                log_msg(LOG_WARNING, "Handling signal: ttou ignored: 1 worker is the fewest");
        atomic_store(&ms.stats->workers_wanted, ms.wanted);
        /* too many serving: retire the newest first */
        while (serving_count(&ms) > ms.wanted) {
            proc *newest = NULL;
            for (int i = 0; i < MAX_PROCS; i++)
                if (ms.procs[i].pid && !ms.procs[i].retiring &&
                    (!newest || ms.procs[i].started_ms >= newest->started_ms))
                    newest = &ms.procs[i];
            retire(&ms, newest);
        }
        kill_stuck(&ms);
        sig_alarm = sig_chld = 0;
        if (clock_coarse_ms() >= ms.respawn_after_ms)
            while (serving_count(&ms) < ms.wanted && alive_count(&ms) < MAX_PROCS) {
                int before = serving_count(&ms);
                spawn(&ms);
                if (serving_count(&ms) == before) break;
            }
    }
    log_msg(LOG_INFO, "Shutting down: Master");
    teardown(&ms);
    return 0;
}
