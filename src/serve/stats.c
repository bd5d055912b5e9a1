/* stats — shared counters and their Prometheus rendering. */
#define _DEFAULT_SOURCE
#include "serve/stats.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>

#include "base/err.h"

static const int status_codes[STATS_STATUS_COUNT] = {200, 400, 404, 405, 408, 411, 413, 414,
                                                     415, 431, 500, 501, 503, 505, 0};
#define STATUS_OTHER (STATS_STATUS_COUNT - 1)
static const double bucket_le[STATS_BUCKETS] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                0.01,    0.025,  0.05,    0.1,    0.25,  1,      10};
static const char *const route_labels[ROUTE_COUNT][2] = {
    {"POST", "/model"},  {"GET", "/model"},        {"GET", "/healthz"}, {"GET", "/readyz"},
    {"GET", "/metrics"}, {"GET", "/openapi.yaml"}, {"any", "other"},    {"unknown", "unparsed"},
};

stats_shared *stats_create(char *err)
{
    void *p = mmap(NULL, sizeof(stats_shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        err_set(err, "cannot map shared memory for metrics: %s", strerror(errno));
        return NULL;
    }
    return p; /* anonymous mappings start zeroed */
}

void stats_destroy(stats_shared *s)
{
    if (s) munmap(s, sizeof *s);
}

static int status_index(int status)
{
    for (int i = 0; i < STATS_STATUS_COUNT && status_codes[i]; i++)
        if (status_codes[i] == status) return i;
    return STATUS_OTHER;
}

void stats_record(stats_worker *w, stats_route route, int status, uint64_t latency_ns)
{
    atomic_fetch_add_explicit(&w->requests[route][status_index(status)], 1, memory_order_relaxed);
    double secs = latency_ns * 1e-9;
    int b = 0;
    while (b < STATS_BUCKETS - 1 && secs > bucket_le[b]) b++;
    if (secs <= bucket_le[b])
        atomic_fetch_add_explicit(&w->latency_buckets[route][b], 1, memory_order_relaxed);
    /* slower than the last bound: only in +Inf, i.e. in _count */
    atomic_fetch_add_explicit(&w->latency_ns_sum[route], latency_ns, memory_order_relaxed);
}

void stats_record_unparsed(stats_worker *w, int status)
{
    atomic_fetch_add_explicit(&w->requests[ROUTE_UNPARSED][status_index(status)], 1, memory_order_relaxed);
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

typedef struct {
    char *buf;
    size_t len, used;
    int overflow;
} out_buf;

static void put(out_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out_buf *o, const char *fmt, ...)
{
    if (o->overflow) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->len - o->used)
        o->overflow = 1;
    else
        o->used += (size_t)n;
}

long stats_render(const stats_shared *s, const char *model_hash, char *buf, size_t len)
{
    out_buf o = {buf, len, 0, 0};
    put(&o, "# HELP tabserve_requests_total HTTP requests answered, by route and status.\n"
            "# TYPE tabserve_requests_total counter\n");
    for (int r = 0; r < ROUTE_COUNT; r++)
        for (int c = 0; c < STATS_STATUS_COUNT; c++) {
            uint64_t n = 0;
            for (int w = 0; w < STATS_MAX_WORKERS; w++) n += LOAD(s->w[w].requests[r][c]);
            if (n == 0) continue;
            if (status_codes[c])
                put(&o, "tabserve_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
                    route_labels[r][0], route_labels[r][1], status_codes[c], (unsigned long long)n);
            else if (c == STATUS_OTHER)
                put(&o, "tabserve_requests_total{method=\"%s\",route=\"%s\",status=\"other\"} %llu\n",
                    route_labels[r][0], route_labels[r][1], (unsigned long long)n);
        }
    put(&o, "# HELP tabserve_request_duration_seconds Time from the request's arrival to its response.\n"
            "# TYPE tabserve_request_duration_seconds histogram\n");
    for (int r = 0; r < ROUTE_COUNT; r++) {
        if (r == ROUTE_UNPARSED) continue; /* no timing: the library answered it */
        uint64_t cumulative = 0, total = 0, sum_ns = 0;
        for (int w = 0; w < STATS_MAX_WORKERS; w++) {
            for (int c = 0; c < STATS_STATUS_COUNT; c++) total += LOAD(s->w[w].requests[r][c]);
            sum_ns += LOAD(s->w[w].latency_ns_sum[r]);
        }
        if (total == 0) continue;
        for (int b = 0; b < STATS_BUCKETS; b++) {
            for (int w = 0; w < STATS_MAX_WORKERS; w++) cumulative += LOAD(s->w[w].latency_buckets[r][b]);
            put(&o, "tabserve_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
                route_labels[r][0], route_labels[r][1], bucket_le[b], (unsigned long long)cumulative);
        }
        put(&o, "tabserve_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n",
            route_labels[r][0], route_labels[r][1], (unsigned long long)total);
        put(&o, "tabserve_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.9f\n",
            route_labels[r][0], route_labels[r][1], sum_ns * 1e-9);
        put(&o, "tabserve_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n",
            route_labels[r][0], route_labels[r][1], (unsigned long long)total);
    }
    uint64_t predictions = 0;
    int64_t in_flight = 0, alive = 0;
    for (int w = 0; w < STATS_MAX_WORKERS; w++) {
        predictions += LOAD(s->w[w].predictions);
        if (LOAD(s->w[w].pid)) {
            in_flight += LOAD(s->w[w].in_flight);
            alive++;
        }
    }
    put(&o,
        "# HELP tabserve_predictions_total Rows scored (each row of a batch counts).\n"
        "# TYPE tabserve_predictions_total counter\ntabserve_predictions_total %llu\n",
        (unsigned long long)predictions);
    put(&o,
        "# HELP tabserve_requests_in_flight Requests being handled now.\n"
        "# TYPE tabserve_requests_in_flight gauge\ntabserve_requests_in_flight %lld\n",
        (long long)in_flight);
    put(&o,
        "# HELP tabserve_workers Worker processes alive.\n"
        "# TYPE tabserve_workers gauge\ntabserve_workers %lld\n",
        (long long)alive);
    put(&o,
        "# HELP tabserve_worker_restarts_total Workers replaced after dying or timing out.\n"
        "# TYPE tabserve_worker_restarts_total counter\ntabserve_worker_restarts_total %llu\n",
        (unsigned long long)LOAD(s->worker_restarts));
    put(&o,
        "# HELP tabserve_model_reloads_total Successful model reloads (SIGHUP).\n"
        "# TYPE tabserve_model_reloads_total counter\ntabserve_model_reloads_total %llu\n",
        (unsigned long long)LOAD(s->model_reloads));
    put(&o,
        "# HELP tabserve_model_reload_failures_total Reloads refused because the new model was invalid.\n"
        "# TYPE tabserve_model_reload_failures_total counter\ntabserve_model_reload_failures_total %llu\n",
        (unsigned long long)LOAD(s->reload_failures));
    put(&o,
        "# HELP tabserve_model_info The model this worker serves.\n"
        "# TYPE tabserve_model_info gauge\ntabserve_model_info{hash=\"%s\"} 1\n",
        model_hash);
    return o.overflow ? -1 : (long)o.used;
}
