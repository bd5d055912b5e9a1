/* api — routing and handlers. Every answer is JSON (or Prometheus text / YAML);
 * bad input gets a 4xx naming what was wrong, never a 500. */
#define _POSIX_C_SOURCE 200809L
#include "serve/api.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/jsonx.h"
#include "model/encode.h"
#include "model/default_model.h"
#include "serve/openapi.h"

#define OUT_MIN (1 << 20) /* response buffer: /metrics fits */

struct api {
    const model *m;
    api_options o;
    model_batch batch; /* max_batch rows */
    char *out;         /* (out_cap,) response body */
    size_t out_cap;    /* OUT_MIN, or more when the largest batch needs it */
    char *describe;    /* GET /model, rendered once */
    size_t describe_len;
    char *spec; /* GET /openapi.yaml when generated for this model; NULL: the template */
    size_t spec_len;
};

/* The default model's spec is the hand-written template; any other model's is
 * generated from its schema (openapi.h). */
static int is_default_model(const model *m)
{
    char err[ERR_LEN];
    model *d = model_load_default(err);
    int same = d && strcmp(d->hash, m->hash) == 0;
    model_free(d);
    return same;
}

api *api_create(const model *m, const api_options *o, char *err)
{
    api *a = calloc(1, sizeof *a);
    if (!a) goto oom;
    a->m = m;
    a->o = *o;
    if (a->o.max_batch < 1) a->o.max_batch = 1;
    /* a batch entry: ", " and one row's value */
    a->out_cap = (size_t)a->o.max_batch * (output_row_max(&m->output) + 2) + 64;
    if (a->out_cap < OUT_MIN) a->out_cap = OUT_MIN;
    a->out = malloc(a->out_cap);
    json_t *d = model_describe(m);
    a->describe = d ? json_dumps(d, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(d);
    if (!a->out || !a->describe || model_batch_init(&a->batch, m, a->o.max_batch, err) != 0) goto oom;
    a->describe_len = strlen(a->describe);
    if (!is_default_model(m)) a->spec = openapi_generate(m, &a->spec_len); /* NULL: the template */
    return a;
oom:
    api_free(a);
    err_set(err, "out of memory creating the request handler");
    return NULL;
}

void api_free(api *a)
{
    if (!a) return;
    model_batch_free(&a->batch);
    free(a->out);
    free(a->describe);
    free(a->spec);
    free(a);
}

static void respond(api_response *res, int status, const char *type, const char *body, size_t len)
{
    res->status = status;
    res->content_type = type;
    res->body = body;
    res->body_len = len;
}

/* {"error": {"status": N, "message": "...", "field": "...", "offset": N}} */
static void error_with(api *a, api_response *res, int status, const char *message, const char *field,
                       long offset)
{
    /* messages quote client text, cut to a length: keep them valid UTF-8 */
    char text[ERR_LEN], name[READ_MAX_NAME + 1];
    snprintf(text, sizeof text, "%s", message);
    utf8_scrub(text);
    message = text;
    if (field) {
        snprintf(name, sizeof name, "%s", field);
        utf8_scrub(name);
        field = name;
    }
    json_t *e = json_object(), *root = json_object();
    json_object_set_new(e, "status", json_integer(status));
    json_object_set_new(e, "message", json_string(message));
    if (field) json_object_set_new(e, "field", json_string(field));
    if (offset >= 0) json_object_set_new(e, "offset", json_integer(offset));
    json_object_set_new(root, "error", e);
    size_t n = json_dumpb(root, a->out, a->out_cap - 1, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (n == 0 || n >= a->out_cap - 1)
        n = (size_t)snprintf(a->out, a->out_cap, "{\"error\":{\"status\":%d}}", status);
    a->out[n++] = '\n';
    respond(res, status, "application/json", a->out, n);
}

void api_error(api *a, api_response *res, int status, const char *message)
{
    memset(res, 0, sizeof *res); /* no stale Allow header or route from the caller's stack */
    error_with(a, res, status, message, NULL, -1);
}

static int is_json_type(const char *ct)
{
    /* absent is accepted (curl --data-binary without -H); else application/json, any parameters */
    if (!ct) return 1;
    while (*ct == ' ') ct++;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Reads the body into a->batch's rows: the fast path for one flat object,
 * else jansson (one object, or an array of up to max_batch). Returns the row
 * count with *batch set, or 0 after writing the error response. */
static size_t read_rows(api *a, const api_request *req, api_response *res, int *batch)
{
    const model *m = a->m;
    *batch = 0;
    if (encode_json_fast(m, req->body, req->body_len, model_batch_row(&a->batch, 0)) == 0) return 1;
    json_error_t jerr;
    json_t *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        char msg[ERR_LEN];
        snprintf(msg, sizeof msg, "malformed JSON at byte %d (line %d, column %d): %s", jerr.position,
                 jerr.line, jerr.column, jerr.text);
        error_with(a, res, 400, msg, NULL, jerr.position);
        return 0;
    }
    char err[ERR_LEN];
    int bad;
    size_t rows = 1;
    *batch = json_is_array(root);
    if (!*batch) {
        if (encode_json(m, root, "$", model_batch_row(&a->batch, 0), &bad, err) != 0) {
            error_with(a, res, 400, err, bad >= 0 ? m->schema.inputs[bad].name : NULL, -1);
            rows = 0;
        }
    } else if ((rows = json_array_size(root)) == 0) {
        error_with(a, res, 400, "empty batch: send at least one object", NULL, -1);
    } else if (rows > (size_t)a->o.max_batch) {
        snprintf(err, sizeof err, "batch of %zu rows is over the limit of %d (--max-batch)", rows,
                 a->o.max_batch);
        error_with(a, res, 413, err, NULL, -1);
        rows = 0;
    } else {
        for (size_t i = 0; i < rows; i++) {
            char where[32];
            snprintf(where, sizeof where, "$[%zu]", i);
            if (encode_json(m, json_array_get(root, i), where, model_batch_row(&a->batch, (int)i), &bad,
                            err) != 0) {
                error_with(a, res, 400, err, bad >= 0 ? m->schema.inputs[bad].name : NULL, -1);
                rows = 0;
                break;
            }
        }
    }
    json_decref(root);
    return rows;
}

/* POST /model: rows -> model_predict -> {"predict": v} or {"predict": [v1, v2, ...]},
 * each v a number, or an object of class probabilities for a multiclass model */
static void predict(api *a, const api_request *req, api_response *res)
{
    if (!is_json_type(req->content_type)) {
        char msg[160];
        snprintf(msg, sizeof msg, "Content-Type must be application/json, got \"%.80s\"", req->content_type);
        error_with(a, res, 415, msg, NULL, -1);
        return;
    }
    if (req->body_len == 0) {
        error_with(a, res, 400,
                   "empty body: expected a JSON object with the model's inputs, or an array of them", NULL,
                   0);
        return;
    }
    int batch;
    size_t rows = read_rows(a, req, res, &batch);
    if (rows == 0) return;
    model_batch_run(&a->batch, (int)rows);
    for (size_t i = 0; i < rows; i++) { /* every answer a finite number, or a 400 naming the input */
        const float *y = a->batch.y + i * (size_t)a->m->n_outputs;
        if (model_output_finite(a->m, y)) continue;
        char where[32], err[ERR_LEN];
        int bad;
        snprintf(where, sizeof where, batch ? "$[%zu]" : "$", i);
        model_check_output(a->m, model_batch_row(&a->batch, (int)i), y, where, &bad, err);
        error_with(a, res, 400, err, a->m->schema.inputs[bad].name, -1);
        return;
    }
    /* out_cap has room for max_batch rows */
    const output_spec *os = &a->m->output;
    char *o = a->out;
    o += sprintf(o, batch ? "{\"predict\": [" : "{\"predict\": ");
    for (size_t i = 0; i < rows; i++) {
        if (i) o += sprintf(o, ", ");
        o += output_row_json(os, a->batch.y + i * (size_t)a->m->n_outputs, o);
    }
    o += sprintf(o, batch ? "]}\n" : "}\n");
    res->predictions = (long)rows;
    respond(res, 200, "application/json", a->out, (size_t)(o - a->out));
}

static void method_not_allowed(api *a, api_response *res, const char *allow, const char *method)
{
    char msg[128];
    snprintf(msg, sizeof msg, "method %.16s is not allowed here; allowed: %s", method, allow);
    error_with(a, res, 405, msg, NULL, -1);
    res->allow = allow;
    res->route = ROUTE_OTHER; /* counted as method="any", route="other" */
}

static const struct {
    const char *path;
    stats_route route;
} get_routes[] = {{"/healthz", ROUTE_HEALTHZ},
                  {"/readyz", ROUTE_READYZ},
                  {"/metrics", ROUTE_METRICS},
                  {"/openapi.yaml", ROUTE_OPENAPI}};

stats_route api_route(const char *method, const char *path)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (strcmp(path, "/model") == 0)
        return strcmp(method, "POST") == 0 ? ROUTE_MODEL_POST : get ? ROUTE_MODEL_GET : ROUTE_OTHER;
    for (size_t i = 0; get && i < sizeof get_routes / sizeof *get_routes; i++)
        if (strcmp(path, get_routes[i].path) == 0) return get_routes[i].route;
    return ROUTE_OTHER;
}

void api_handle(api *a, const api_request *req, api_response *res)
{
    memset(res, 0, sizeof *res);
    const char *path = req->path, *method = req->method;
    size_t n;
    long len;
    switch (res->route = api_route(method, path)) {
    case ROUTE_MODEL_POST: predict(a, req, res); return;
    case ROUTE_MODEL_GET: respond(res, 200, "application/json", a->describe, a->describe_len); return;
    case ROUTE_HEALTHZ:
        n = (size_t)snprintf(a->out, a->out_cap, "{\"status\": \"ok\"}\n");
        respond(res, 200, "application/json", a->out, n);
        return;
    case ROUTE_READYZ:
        if (a->o.draining && *a->o.draining) {
            error_with(a, res, 503, "shutting down: this worker is draining", NULL, -1);
            return;
        }
        n = (size_t)snprintf(a->out, a->out_cap, "{\"status\": \"ready\", \"model\": \"%s\"}\n", a->m->hash);
        respond(res, 200, "application/json", a->out, n);
        return;
    case ROUTE_METRICS:
        len = a->o.stats ? stats_render(a->o.stats, a->m->hash, a->out, a->out_cap) : 0;
        if (len < 0) {
            error_with(a, res, 500, "metrics do not fit the response buffer", NULL, -1);
            return;
        }
        respond(res, 200, "text/plain; version=0.0.4; charset=utf-8", a->out, (size_t)len);
        return;
    case ROUTE_OPENAPI:
        if (a->spec)
            respond(res, 200, "application/yaml", a->spec, a->spec_len);
        else
            respond(res, 200, "application/yaml", openapi_yaml, openapi_yaml_len());
        return;
    case ROUTE_OTHER:
    case ROUTE_UNPARSED: /* never from api_route */
    case ROUTE_COUNT: break;
    }
    /* not a route: a path that takes other methods (405), or none (404) */
    if (strcmp(path, "/model") == 0) {
        method_not_allowed(a, res, "GET, HEAD, POST", method);
        return;
    }
    for (size_t i = 0; i < sizeof get_routes / sizeof *get_routes; i++)
        if (strcmp(path, get_routes[i].path) == 0) {
            method_not_allowed(a, res, "GET, HEAD", method);
            return;
        }
    char msg[256];
    snprintf(msg, sizeof msg, "no route %.100s; routes: /model, /healthz, /readyz, /metrics, /openapi.yaml",
             path);
    error_with(a, res, 404, msg, NULL, -1);
}
