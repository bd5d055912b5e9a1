/* routes — fixed paths by table, model paths by segments. */
#include "serve/routes.h"

#include <string.h>

static const struct {
    const char *path;
    const char *method; /* GET also takes HEAD */
    stats_route route;
} fixed[] = {
    {"/model", "POST", ROUTE_MODEL_POST},
    {"/model", "GET", ROUTE_MODEL_GET},
    {"/model/explain", "POST", ROUTE_MODEL_EXPLAIN},
    {"/healthz", "GET", ROUTE_HEALTHZ},
    {"/readyz", "GET", ROUTE_READYZ},
    {"/metrics", "GET", ROUTE_METRICS},
    {"/openapi.yaml", "GET", ROUTE_OPENAPI},
    {"/v2/health/live", "GET", ROUTE_V2_LIVE},
    {"/v2/health/ready", "GET", ROUTE_V2_READY},
    {"/v2", "GET", ROUTE_V2_SERVER},
    {"/v2/", "GET", ROUTE_V2_SERVER}, /* the OpenAPI document's literal server-metadata path */
    {"/", "GET", ROUTE_PAGE},
    {"/v1/models", "GET", ROUTE_V1_MODELS},
    {"/v2/repository/index", "POST", ROUTE_V2_REPO_INDEX},
};

static int method_is(const char *method, const char *want)
{
    return strcmp(method, want) == 0 || (strcmp(want, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

/* "/versions/{v}" at p: fills the version and returns what follows, else p */
static const char *versions_part(const char *p, const char *stop, route_match *out)
{
    static const char seg[] = "/versions/";
    if (strncmp(p, seg, sizeof seg - 1) != 0) return p;
    const char *v = p + sizeof seg - 1, *e = v + strcspn(v, stop);
    out->version_text = v;
    out->version_len = (size_t)(e - v);
    long n = 0;
    int ok = e > v && *v != '0' && e - v <= 15;
    for (const char *c = v; ok && c < e; c++) {
        if (*c < '0' || *c > '9') ok = 0;
        n = n * 10 + (*c - '0');
    }
    out->version = ok ? n : -1;
    return e;
}

/* the rest of a model path after the name (and version): which route, by method */
static void model_route(const char *rest, const char *method, const char *const tails[][3], route_match *out,
                        const stats_route *routes, int n_tails)
{
    for (int i = 0; i < n_tails; i++)
        if (strcmp(rest, tails[i][0]) == 0) {
            if (method_is(method, tails[i][1])) {
                out->route = routes[i];
            } else {
                out->allow = tails[i][2];
                out->model = NULL;
            }
            return;
        }
    out->model = NULL; /* not a route */
}

static void model_path(const char *method, const char *path, int is_v2, route_match *out);

/* Triton's model repository extension: {m}/load and {m}/unload */
static void repository_path(const char *method, const char *rest, route_match *out)
{
    size_t len = strcspn(rest, "/");
    const char *verb = rest + len;
    stats_route r = strcmp(verb, "/load") == 0     ? ROUTE_V2_REPO_LOAD
                    : strcmp(verb, "/unload") == 0 ? ROUTE_V2_REPO_UNLOAD
                                                   : ROUTE_OTHER;
    if (len == 0 || r == ROUTE_OTHER) return;
    if (strcmp(method, "POST") != 0) {
        out->allow = "POST";
        return;
    }
    out->route = r;
    out->model = rest;
    out->model_len = len;
}

void routes_match(const char *method, const char *path, route_match *out)
{
    memset(out, 0, sizeof *out);
    out->route = ROUTE_OTHER;
    /* the model routes first: the inference paths are the busy ones */
    static const char v2[] = "/v2/models/", v1[] = "/v1/models/", repo[] = "/v2/repository/models/";
    if (strncmp(path, repo, sizeof repo - 1) == 0) {
        repository_path(method, path + sizeof repo - 1, out);
        return;
    }
    if (strcmp(path, "/v2/models/stats") == 0) { /* every model's statistics (Triton) */
        if (method_is(method, "GET"))
            out->route = ROUTE_V2_STATS;
        else
            out->allow = "GET, HEAD";
        return;
    }
    int is_v2 = strncmp(path, v2, sizeof v2 - 1) == 0,
        is_v1 = !is_v2 && strncmp(path, v1, sizeof v1 - 1) == 0;
    if (is_v2 || is_v1) {
        model_path(method, path, is_v2, out);
        return;
    }
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (strcmp(path, fixed[i].path) == 0) {
            if (method_is(method, fixed[i].method)) {
                out->route = fixed[i].route;
                return;
            }
            out->allow = strcmp(path, "/model") == 0           ? "GET, HEAD, POST"
                         : strcmp(path, "/model/explain") == 0 ? "POST"
                                                               : "GET, HEAD";
        }
}

static void model_path(const char *method, const char *path, int is_v2, route_match *out)
{
    const char *name = path + sizeof "/v2/models/" - 1;
    const char *stop = is_v2 ? "/" : "/:";
    size_t len = strcspn(name, stop);
    if (len == 0) return;
    out->model = name;
    out->model_len = len;
    const char *rest = versions_part(name + len, stop, out);
    static const char labels[] = "/labels/";
    if (!is_v2 && rest == name + len && strncmp(rest, labels, sizeof labels - 1) == 0) {
        out->label = rest + sizeof labels - 1;
        out->label_len = strcspn(out->label, stop);
        rest = out->label + out->label_len;
        if (!out->label_len) {
            out->model = NULL;
            return;
        }
    }
    if (is_v2) {
        static const char *const tails[][3] = {{"", "GET", "GET, HEAD"},
                                               {"/ready", "GET", "GET, HEAD"},
                                               {"/infer", "POST", "POST"},
                                               {"/config", "GET", "GET, HEAD"},
                                               {"/stats", "GET", "GET, HEAD"}};
        static const stats_route routes[] = {ROUTE_V2_MODEL, ROUTE_V2_MODEL_READY, ROUTE_V2_INFER,
                                             ROUTE_V2_CONFIG, ROUTE_V2_STATS};
        model_route(rest, method, tails, out, routes, 5);
    } else {
        static const char *const tails[][3] = {
            {"", "GET", "GET, HEAD"},     {"/metadata", "GET", "GET, HEAD"}, {":predict", "POST", "POST"},
            {":explain", "POST", "POST"}, {":classify", "POST", "POST"},     {":regress", "POST", "POST"}};
        static const stats_route routes[] = {ROUTE_V1_STATUS,  ROUTE_V1_METADATA, ROUTE_V1_PREDICT,
                                             ROUTE_V1_EXPLAIN, ROUTE_V1_CLASSIFY, ROUTE_V1_REGRESS};
        model_route(rest, method, tails, out, routes, 6);
    }
}
