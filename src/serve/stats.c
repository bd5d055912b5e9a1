/* stats — shared counters and their Prometheus rendering. */
#define _DEFAULT_SOURCE
#include "serve/stats.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "base/err.h"

static const int status_codes[STATS_STATUS_COUNT] = {200, 400, 403, 404, 405, 408, 413, 414,
                                                     415, 431, 500, 501, 503, 505, 0};
#define STATUS_OTHER (STATS_STATUS_COUNT - 1)
static const double bucket_le[STATS_BUCKETS] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                0.01,    0.025,  0.05,    0.1,    0.25,  1,      10};
static const char *const route_labels[ROUTE_COUNT][2] = {
    {"POST", "/model"},
    {"GET", "/model"},
    {"POST", "/model/explain"},
    {"GET", "/healthz"},
    {"GET", "/readyz"},
    {"GET", "/metrics"},
    {"GET", "/openapi.yaml"},
    {"GET", "/"},
    {"GET", "/v2/health/live"},
    {"GET", "/v2/health/ready"},
    {"GET", "/v2"},
    {"GET", "/v2/models/{model}[/versions/{version}]"},
    {"GET", "/v2/models/{model}[/versions/{version}]/ready"},
    {"POST", "/v2/models/{model}[/versions/{version}]/infer"},
    {"GET", "/v1/models/{model}[/versions/{version}]"},
    {"GET", "/v1/models/{model}[/versions/{version}]/metadata"},
    {"POST", "/v1/models/{model}[/versions/{version}]:predict"},
    {"POST", "/v1/models/{model}[/versions/{version}]:explain"},
    {"POST", "/v1/models/{model}[/versions/{version}]:classify"},
    {"POST", "/v1/models/{model}[/versions/{version}]:regress"},
    {"GET", "/v1/models"},
    {"GET", "/v2/models/{model}[/versions/{version}]/config"},
    {"GET", "/v2/models[/{model}[/versions/{version}]]/stats"},
    {"POST", "/v2/repository/index"},
    {"POST", "/v2/repository/models/{model}/load"},
    {"POST", "/v2/repository/models/{model}/unload"},
    {"any", "other"},
    {"unknown", "unparsed"},
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

/* The histogram bucket of a latency, or -1 when slower than the last bound
 * (then it is only in +Inf, i.e. in _count). */
static int bucket_of(uint64_t latency_ns)
{
    double secs = latency_ns * 1e-9;
    int b = 0;
    while (b < STATS_BUCKETS - 1 && secs > bucket_le[b]) b++;
    return secs <= bucket_le[b] ? b : -1;
}

void stats_record(stats_worker *w, stats_route route, int status, uint64_t latency_ns)
{
    atomic_fetch_add_explicit(&w->requests[route][status_index(status)], 1, memory_order_relaxed);
    int b = bucket_of(latency_ns);
    if (b >= 0) atomic_fetch_add_explicit(&w->latency_buckets[route][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->latency_ns_sum[route], latency_ns, memory_order_relaxed);
}

void stats_record_model(stats_worker *w, int model_slot, int status, uint64_t latency_ns, long predictions,
                        int inference)
{
    if (model_slot < 0 || model_slot >= STATS_MAX_MODELS) return;
    stats_model_counts *m = &w->models[model_slot];
    atomic_fetch_add_explicit(&m->requests[status_index(status)], 1, memory_order_relaxed);
    int b = bucket_of(latency_ns);
    if (b >= 0) atomic_fetch_add_explicit(&m->latency_buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_ns_sum, latency_ns, memory_order_relaxed);
    if (predictions > 0)
        atomic_fetch_add_explicit(&m->predictions, (uint64_t)predictions, memory_order_relaxed);
    if (!inference) return;
    int ok = status >= 200 && status < 300;
    atomic_fetch_add_explicit(ok ? &m->infer_ok : &m->infer_fail, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(ok ? &m->infer_ok_ns : &m->infer_fail_ns, latency_ns, memory_order_relaxed);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    atomic_store_explicit(&m->last_infer_ms, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                          memory_order_relaxed);
}

stats_inference stats_model_inference(const stats_shared *s, int model_slot)
{
    stats_inference t = {0};
    if (!s || model_slot < 0 || model_slot >= STATS_MAX_MODELS) return t;
    for (int i = 0; i < STATS_MAX_WORKERS; i++) {
        const stats_model_counts *m = &s->w[i].models[model_slot];
        t.ok += atomic_load_explicit(&m->infer_ok, memory_order_relaxed);
        t.ok_ns += atomic_load_explicit(&m->infer_ok_ns, memory_order_relaxed);
        t.fail += atomic_load_explicit(&m->infer_fail, memory_order_relaxed);
        t.fail_ns += atomic_load_explicit(&m->infer_fail_ns, memory_order_relaxed);
        t.predictions += atomic_load_explicit(&m->predictions, memory_order_relaxed);
        int64_t last = atomic_load_explicit(&m->last_infer_ms, memory_order_relaxed);
        if (last > t.last_ms) t.last_ms = last;
    }
    return t;
}

int stats_model_slot(stats_shared *s, const char *name, long version)
{
    int free_slot = -1;
    for (int i = 0; i < STATS_MAX_MODELS; i++) {
        stats_model_label *l = &s->models[i];
        if (!l->used) {
            if (free_slot < 0) free_slot = i;
            continue;
        }
        if (l->version == version && strncmp(l->name, name, STATS_MODEL_NAME) == 0) return i;
    }
    if (free_slot < 0) return -1;
    stats_model_label *l = &s->models[free_slot];
    snprintf(l->name, sizeof l->name, "%s", name);
    l->version = version;
    l->used = 1;
    return free_slot;
}

const char *const stats_grpc_methods[GRPC_METHOD_COUNT] = {"ServerLive",
                                                           "ServerReady",
                                                           "ModelReady",
                                                           "ServerMetadata",
                                                           "ModelMetadata",
                                                           "ModelInfer",
                                                           "ModelConfig",
                                                           "ModelStatistics",
                                                           "RepositoryIndex",
                                                           "RepositoryModelLoad",
                                                           "RepositoryModelUnload",
                                                           "grpc.health.v1.Health/Check",
                                                           "other"};

static const char *const grpc_code_names[STATS_GRPC_CODES] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

void stats_record_grpc(stats_worker *w, grpc_method method, int code, uint64_t latency_ns)
{
    if (code < 0 || code >= STATS_GRPC_CODES) code = 2; /* UNKNOWN */
    atomic_fetch_add_explicit(&w->grpc_calls[method][code], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->grpc_latency_ns_sum[method], latency_ns, memory_order_relaxed);
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

/* The model-labelled families: one series per model version that has counts. */
static void render_models(out_buf *o, const stats_shared *s)
{
    put(o, "# HELP tabserve_model_requests_total Requests to a model version (any protocol), by status.\n"
           "# TYPE tabserve_model_requests_total counter\n");
    for (int m = 0; m < STATS_MAX_MODELS; m++) {
        if (!s->models[m].used) continue;
        for (int c = 0; c < STATS_STATUS_COUNT; c++) {
            uint64_t n = 0;
            for (int w = 0; w < STATS_MAX_WORKERS; w++) n += LOAD(s->w[w].models[m].requests[c]);
            if (n == 0) continue;
            char code[8];
            snprintf(code, sizeof code, status_codes[c] ? "%d" : "other", status_codes[c]);
            put(o, "tabserve_model_requests_total{model=\"%s\",version=\"%ld\",status=\"%s\"} %llu\n",
                s->models[m].name, s->models[m].version, code, (unsigned long long)n);
        }
    }
    put(o, "# HELP tabserve_model_request_duration_seconds Time to answer a request to a model version.\n"
           "# TYPE tabserve_model_request_duration_seconds histogram\n");
    for (int m = 0; m < STATS_MAX_MODELS; m++) {
        if (!s->models[m].used) continue;
        const char *name = s->models[m].name;
        long version = s->models[m].version;
        uint64_t total = 0, sum_ns = 0, cumulative = 0;
        for (int w = 0; w < STATS_MAX_WORKERS; w++) {
            for (int c = 0; c < STATS_STATUS_COUNT; c++) total += LOAD(s->w[w].models[m].requests[c]);
            sum_ns += LOAD(s->w[w].models[m].latency_ns_sum);
        }
        if (total == 0) continue;
        for (int b = 0; b < STATS_BUCKETS; b++) {
            for (int w = 0; w < STATS_MAX_WORKERS; w++)
                cumulative += LOAD(s->w[w].models[m].latency_buckets[b]);
            put(o,
                "tabserve_model_request_duration_seconds_bucket{model=\"%s\",version=\"%ld\",le=\"%g\"} "
                "%llu\n",
                name, version, bucket_le[b], (unsigned long long)cumulative);
        }
        put(o,
            "tabserve_model_request_duration_seconds_bucket{model=\"%s\",version=\"%ld\",le=\"+Inf\"} %llu\n",
            name, version, (unsigned long long)total);
        put(o, "tabserve_model_request_duration_seconds_sum{model=\"%s\",version=\"%ld\"} %.9f\n", name,
            version, sum_ns * 1e-9);
        put(o, "tabserve_model_request_duration_seconds_count{model=\"%s\",version=\"%ld\"} %llu\n", name,
            version, (unsigned long long)total);
    }
    static const char *const families[3][2] = {
        {"tabserve_model_predictions_total", "Rows scored by a model version."},
        {"tabserve_model_loads_total",
         "Times a model version was loaded and validated (start, reload, poll)."},
        {"tabserve_model_load_failures_total", "Times a model version was refused by the loader."}};
    for (int f = 0; f < 3; f++) {
        put(o, "# HELP %s %s\n# TYPE %s counter\n", families[f][0], families[f][1], families[f][0]);
        for (int m = 0; m < STATS_MAX_MODELS; m++) {
            if (!s->models[m].used) continue;
            uint64_t n = 0;
            if (f == 0)
                for (int w = 0; w < STATS_MAX_WORKERS; w++) n += LOAD(s->w[w].models[m].predictions);
            else
                n = f == 1 ? LOAD(s->models[m].loads) : LOAD(s->models[m].load_failures);
            put(o, "%s{model=\"%s\",version=\"%ld\"} %llu\n", families[f][0], s->models[m].name,
                s->models[m].version, (unsigned long long)n);
        }
    }
}

long stats_render(const stats_shared *s, char *buf, size_t len)
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
    put(&o, "# HELP tabserve_grpc_calls_total gRPC calls answered, by method and status code.\n"
            "# TYPE tabserve_grpc_calls_total counter\n");
    for (int m = 0; m < GRPC_METHOD_COUNT; m++)
        for (int c = 0; c < STATS_GRPC_CODES; c++) {
            uint64_t n = 0;
            for (int w = 0; w < STATS_MAX_WORKERS; w++) n += LOAD(s->w[w].grpc_calls[m][c]);
            if (n)
                put(&o, "tabserve_grpc_calls_total{method=\"%s\",code=\"%s\"} %llu\n", stats_grpc_methods[m],
                    grpc_code_names[c], (unsigned long long)n);
        }
    put(&o, "# HELP tabserve_grpc_call_seconds_total Time spent answering gRPC calls, by method.\n"
            "# TYPE tabserve_grpc_call_seconds_total counter\n");
    for (int m = 0; m < GRPC_METHOD_COUNT; m++) {
        uint64_t calls = 0, ns = 0;
        for (int w = 0; w < STATS_MAX_WORKERS; w++) {
            for (int c = 0; c < STATS_GRPC_CODES; c++) calls += LOAD(s->w[w].grpc_calls[m][c]);
            ns += LOAD(s->w[w].grpc_latency_ns_sum[m]);
        }
        if (calls)
            put(&o, "tabserve_grpc_call_seconds_total{method=\"%s\"} %.9f\n", stats_grpc_methods[m],
                ns * 1e-9);
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
    render_models(&o, s);
    return o.overflow ? -1 : (long)o.used;
}
