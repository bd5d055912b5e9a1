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
#include "serve/docs.h"
#include "serve/exchange.h"
#include "serve/inflate.h"
#include "serve/oip.h"
#include "serve/openapi.h"
#include "serve/page.h"
#include "serve/routes.h"
#include "serve/tfs.h"
#include "serve/triton.h"

#define OUT_MIN (1 << 20) /* response buffer: /metrics fits */

struct api {
    const repository *repo;
    api_options o;
    char *decoded;     /* the last request's body, decoded from its Content-Encoding */
    char *encoded;     /* the last answer's body, compressed for its Accept-Encoding */
    model_batch batch; /* max_batch rows of the largest model */
    double *values;    /* one row's input values */
    char *out;         /* (out_cap,) response body */
    size_t out_cap;    /* OUT_MIN, or more when the largest batch needs it */
};

api *api_create(const repository *r, const api_options *o, char *err)
{
    api *a = calloc(1, sizeof *a);
    if (!a) goto oom;
    a->repo = r;
    a->o = *o;
    if (a->o.max_batch < 1) a->o.max_batch = 1;
    repo_sizes z = repository_sizes(r, a->o.max_batch);
    /* a batch entry: ", " and one row's value; or a tensor's numbers, 34 bytes each */
    size_t rows = (size_t)a->o.max_batch;
    a->out_cap = rows * (z.row_json_max + 2) + 64;
    if (a->out_cap < rows * (size_t)z.n_outputs * 34 + 4096)
        a->out_cap = rows * (size_t)z.n_outputs * 34 + 4096;
    if (a->out_cap < OUT_MIN) a->out_cap = OUT_MIN;
    a->out = malloc(a->out_cap);
    a->values = malloc(z.n_inputs * sizeof *a->values);
    if (!a->out || !a->values ||
        model_batch_init_sized(&a->batch, a->o.max_batch, z.n_features, z.n_outputs, z.scratch_floats, err) !=
            0)
        goto oom;
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
    free(a->decoded);
    free(a->encoded);
    free(a->out);
    free(a->values);
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

/* The cluster protocols' routes (KServe V2, TF Serving): their errors take
 * those protocols' own shape, {"error": "message"}, whoever decides them. */
static int protocol_path(const char *path)
{
    return path && ((strncmp(path, "/v2", 3) == 0 && (path[3] == 0 || path[3] == '/')) ||
                    strncmp(path, "/v1/models", 10) == 0);
}

static exchange exchange_of(api *a, const api_request *req, api_response *res);

/* A version's rendered document (serve/docs.h), as it is; a 500 if the version has none
 * (a repository loaded without docs_render as its describe hook). */
static void respond_doc(api *a, api_response *res, const repo_version *v, doc_kind d)
{
    size_t len;
    const char *doc = docs_get(v, d, &len);
    if (doc)
        respond(res, 200, "application/json", doc, len);
    else
        error_with(a, res, 500, "this model version has no rendered documents", NULL, -1);
}

/* An error in the shape of the route's API: the protocols' own on theirs, the house one elsewhere. */
static void route_error(api *a, api_response *res, int status, const char *message, const char *path)
{
    if (protocol_path(path)) {
        exchange x = exchange_of(a, NULL, res);
        exchange_error(&x, status, "%s", message);
    } else
        error_with(a, res, status, message, NULL, -1);
}

void api_error(api *a, api_response *res, int status, const char *message, const char *path)
{
    memset(res, 0, sizeof *res); /* no stale Allow header or route from the caller's stack */
    route_error(a, res, status, message, path);
}

/* One request's working state over a's buffers and options. */
static exchange exchange_of(api *a, const api_request *req, api_response *res)
{
    return (exchange){req,
                      res,
                      &a->batch,
                      a->values,
                      a->o.max_batch,
                      a->o.encode_rules,
                      !a->o.full_paths_only,
                      a->o.explain_budget,
                      a->out,
                      a->out_cap};
}

/* Reads the body into a->batch's rows: the fast path for one flat object,
 * else jansson (one object, or an array of up to max_batch). Returns the row
 * count with *batch set, or 0 after writing the error response. */
static size_t read_rows(api *a, const model *m, const api_request *req, api_response *res, int *batch)
{
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
        if (encode_json(m, root, "$", a->o.encode_rules, model_batch_row(&a->batch, 0), &bad, err) != 0) {
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
            if (encode_json(m, json_array_get(root, i), where, a->o.encode_rules,
                            model_batch_row(&a->batch, (int)i), &bad, err) != 0) {
                error_with(a, res, 400, err, bad >= 0 ? m->schema.inputs[bad].name : NULL, -1);
                rows = 0;
                break;
            }
        }
    }
    json_decref(root);
    return rows;
}

/* POST /model and POST /model/explain: rows -> model_predict -> {"predict": v}
 * or {"predict": [v1, v2, ...]}; or each row explained (explain/explain.h). */
static void predict(api *a, const repo_version *v, const api_request *req, api_response *res, int explain)
{
    const model *m = v->m;
    if (!exchange_is_json_type(req->content_type)) {
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
    a->batch.m = m; /* the buffers are shared by every model of the repository */
    size_t rows = read_rows(a, m, req, res, &batch);
    if (rows == 0) return;
    model_batch_run(&a->batch, (int)rows);
    for (size_t i = 0; i < rows; i++) { /* every answer a finite number, or a 400 naming the input */
        const float *y = a->batch.y + i * (size_t)m->n_outputs;
        if (model_output_finite(m, y)) continue;
        char where[32], err[ERR_LEN];
        int bad;
        snprintf(where, sizeof where, batch ? "$[%zu]" : "$", i);
        model_check_output(m, model_batch_row(&a->batch, (int)i), y, where, &bad, err);
        error_with(a, res, 400, err, m->schema.inputs[bad].name, -1);
        return;
    }
    if (explain) {
        exchange x = exchange_of(a, req, res);
        char err[ERR_LEN];
        int status = exchange_explain(&x, repository_explainer(v), (int)rows, batch, err);
        if (status) error_with(a, res, status, err, NULL, -1);
        return;
    }
    /* out_cap has room for max_batch rows */
    const output_spec *os = &m->output;
    char *o = a->out;
    o += sprintf(o, batch ? "{\"predict\": [" : "{\"predict\": ");
    for (size_t i = 0; i < rows; i++) {
        if (i) o += sprintf(o, ", ");
        o += output_row_json(os, a->batch.y + i * (size_t)m->n_outputs, o);
    }
    if (os->task == TASK_MULTICLASS) { /* and the class: the likeliest (ties: the first) */
        o += sprintf(o, batch ? "], \"class\": [" : ", \"class\": ");
        for (size_t i = 0; i < rows; i++) {
            const float *y = a->batch.y + i * (size_t)m->n_outputs;
            size_t best = 0;
            for (size_t c = 1; c < os->n_classes; c++)
                if (y[c] > y[best]) best = c;
            o += sprintf(o, "%s\"%s\"", i ? ", " : "", os->classes[best]);
        }
    }
    o += sprintf(o, batch ? "]}\n" : "}\n");
    res->predictions = (long)rows;
    respond(res, 200, "application/json", a->out, (size_t)(o - a->out));
}

static void method_not_allowed(api *a, api_response *res, const char *allow, const char *method,
                               const char *path)
{
    char msg[128];
    snprintf(msg, sizeof msg, "method %.16s is not allowed here; allowed: %s", method, allow);
    route_error(a, res, 405, msg, path);
    res->allow = allow;
    res->route = ROUTE_OTHER; /* counted as method="any", route="other" */
}

stats_route api_route(const char *method, const char *path)
{
    route_match rm;
    routes_match(method, path, &rm);
    return rm.route;
}

static void text_reply(api *a, api_response *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void text_reply(api *a, api_response *res, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(a->out, a->out_cap, fmt, ap);
    va_end(ap);
    respond(res, status, "application/json", a->out, n < 0 ? 0 : (size_t)n);
}

/* The model a model route names, or NULL after answering 404. */
static const repo_model *find_model(api *a, exchange *x, const route_match *rt)
{
    const repo_model *rm = repository_find(a->repo, rt->model, rt->model_len);
    if (rm && rm->unloaded) {
        exchange_error(x, 404, "model %s is unloaded; load it with POST /v2/repository/models/%s/load",
                       rm->name, rm->name);
        return NULL;
    }
    if (rm) return rm;
    char names[256] = "";
    size_t used = 0;
    for (int i = 0; i < a->repo->n && used < sizeof names - 8; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 a->repo->models[i].name);
    exchange_error(x, 404, "no model named \"%.*s\"; models: %s",
                   (int)(rt->model_len > 128 ? 128 : rt->model_len), rt->model,
                   a->repo->n ? names : "(none)");
    return NULL;
}

/* The version a model route names, or NULL after answering 400/404/503 in the
 * protocol's shape. need_ready: a version that failed to load is 503 (not
 * ready) rather than returned. */
static const repo_version *find_version(api *a, exchange *x, const route_match *rt, const repo_model **out_rm,
                                        int need_ready)
{
    const repo_model *rm = find_model(a, x, rt);
    if (!rm) return NULL;
    *out_rm = rm;
    route_match by_label;
    if (rt->label) { /* TF Serving's version label: the version it names */
        long named = repo_model_label(rm, rt->label, rt->label_len);
        if (!named) {
            char labels[160] = "";
            size_t used = 0;
            for (int k = 0; k < rm->n_labels && used < sizeof labels - 8; k++)
                used += (size_t)snprintf(labels + used, sizeof labels - used, "%s%s", k ? ", " : "",
                                         rm->label_names[k]);
            if (rm->labels_error)
                exchange_error(x, 503, "model %s's labels.json is refused: %s", rm->name, rm->labels_error);
            else
                exchange_error(x, 404, "model %s has no version label \"%.*s\"; labels: %s", rm->name,
                               (int)(rt->label_len > 64 ? 64 : rt->label_len), rt->label,
                               rm->n_labels ? labels : "(none: set them in labels.json beside its versions)");
            return NULL;
        }
        by_label = *rt;
        by_label.version = named;
        rt = &by_label;
    }
    if (rt->version < 0) {
        exchange_error(x, 400, "version \"%.*s\" of model %s is not a positive integer",
                       (int)(rt->version_len > 32 ? 32 : rt->version_len), rt->version_text, rm->name);
        return NULL;
    }
    const repo_version *v = repo_model_version(rm, rt->version);
    if (!v && rt->version == 0) {
        exchange_error(x, 503, "model %s has no version ready%s%s", rm->name, rm->n ? ": " : "",
                       rm->n ? rm->v[0].error : "");
        return NULL;
    }
    if (!v) {
        char versions[128] = "";
        size_t used = 0;
        for (int k = 0; k < rm->n && used < sizeof versions - 24; k++)
            used += (size_t)snprintf(versions + used, sizeof versions - used, "%s%ld", k ? ", " : "",
                                     rm->v[k].version);
        exchange_error(x, 404, "model %s has no version %ld; versions: %s", rm->name, rt->version,
                       rm->n ? versions : "(none)");
        return NULL;
    }
    if (need_ready && !v->m) {
        exchange_error(x, 503, "model %s version %ld is not ready: %s", rm->name, v->version, v->error);
        return NULL;
    }
    x->res->model_slot = v->stats_slot;
    return v;
}

static void readiness(api *a, api_response *res, int v2)
{
    const repo_model *which = NULL;
    if (a->o.draining && *a->o.draining) {
        if (v2)
            text_reply(a, res, 503, "{\"error\": \"shutting down: this worker is draining\"}\n");
        else
            error_with(a, res, 503, "shutting down: this worker is draining", NULL, -1);
    } else if (!repository_ready(a->repo, &which)) {
        char msg[ERR_LEN];
        snprintf(msg, sizeof msg, "model %s has no version ready", which->name);
        if (v2)
            text_reply(a, res, 503, "{\"error\": \"%s\"}\n", msg);
        else
            error_with(a, res, 503, msg, NULL, -1);
    } else if (v2) {
        text_reply(a, res, 200, "{\"live\": true, \"ready\": true}\n");
    } else {
        const repo_model *rm = repository_default(a->repo);
        const repo_version *v = rm ? repo_model_version(rm, 0) : NULL;
        text_reply(a, res, 200, "{\"status\": \"ready\", \"model\": \"%s\", \"models\": %d}\n",
                   v ? v->m->hash : "", a->repo->n);
    }
}

/* tabserve_model_info: which file each served version is, by hash */
static long model_info(api *a, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len,
                                   "# HELP tabserve_model_info The model versions served, by content hash; "
                                   "1 when ready, 0 when refused by the loader.\n"
                                   "# TYPE tabserve_model_info gauge\n");
    for (int i = 0; i < a->repo->n && used < len; i++) {
        const repo_model *rm = &a->repo->models[i];
        for (int k = 0; k < rm->n && used < len; k++)
            used += (size_t)snprintf(
                buf + used, len - used, "tabserve_model_info{model=\"%s\",version=\"%ld\",hash=\"%s\"} %d\n",
                rm->name, rm->v[k].version, rm->v[k].m ? rm->v[k].m->hash : "", rm->v[k].m != NULL);
    }
    return used < len ? (long)used : -1;
}

/* The seed's routes serve the default model's default version. */
static const repo_version *default_version(api *a, api_response *res)
{
    const repo_model *rm = repository_default(a->repo);
    const repo_version *v = rm ? repo_model_version(rm, 0) : NULL;
    if (!v && !rm && a->repo->n > 1) {
        char msg[ERR_LEN];
        snprintf(msg, sizeof msg,
                 "this server serves %d models and none is the default: start it with --default-model NAME, "
                 "or send the request to /v2/models/NAME/infer or /v1/models/NAME:predict",
                 a->repo->n);
        error_with(a, res, 404, msg, NULL, -1);
        return NULL;
    }
    if (!v) {
        error_with(a, res, 503,
                   rm ? "the default model has no version ready" : "the repository holds no model", NULL, -1);
        return NULL;
    }
    res->model_slot = v->stats_slot;
    return v;
}

static void handle(api *a, const api_request *req, api_response *res);

/* A 200 answer at least this long is compressed for a client that accepts it:
 * below about one packet there is nothing to gain (one-row answers are ~100 B) */
#define COMPRESS_MIN 1400

static void compress_answer(api *a, const api_request *req, api_response *res)
{
    free(a->encoded);
    a->encoded = NULL;
    const char *coding;
    if (res->status != 200 || res->body_len < COMPRESS_MIN ||
        !(coding = response_coding(req->accept_encoding)))
        return;
    size_t len;
    if (body_deflate(coding, res->body, res->body_len, &a->encoded, &len) != 0) return; /* sent as it is */
    res->body = a->encoded;
    res->body_len = len;
    res->content_encoding = coding;
}

static void decode_and_handle(api *a, const api_request *req, api_response *res);

void api_handle(api *a, const api_request *req, api_response *res)
{
    decode_and_handle(a, req, res);
    if (req->accept_encoding) compress_answer(a, req, res);
}

static void decode_and_handle(api *a, const api_request *req, api_response *res)
{
    const char *coding = req->content_encoding;
    if (!coding || !*coding || strcasecmp(coding, "identity") == 0) {
        handle(a, req, res);
        return;
    }
    /* a compressed body: decoded under the same limit, then read as any other */
    api_request decoded = *req;
    char *body = NULL, err[ERR_LEN];
    int status = body_inflate(coding, req->body, req->body_len, a->o.max_body > 0 ? a->o.max_body : 1 << 20,
                              &body, &decoded.body_len, err);
    if (status) {
        memset(res, 0, sizeof *res);
        res->model_slot = -1;
        res->route = api_route(req->method, req->path);
        route_error(a, res, status, err, req->path);
        return;
    }
    decoded.body = body;
    decoded.content_encoding = NULL;
    handle(a, &decoded, res);
    free(a->decoded); /* kept until the next request: the response may quote the body */
    a->decoded = body;
}

static void handle(api *a, const api_request *req, api_response *res)
{
    memset(res, 0, sizeof *res);
    res->model_slot = -1;
    route_match rt;
    routes_match(req->method, req->path, &rt);
    res->route = rt.route;
    exchange x = exchange_of(a, req, res);
    const repo_model *rm = NULL;
    const repo_version *v;
    long len;
    const char *doc;
    size_t doc_len;
    switch (rt.route) {
    case ROUTE_MODEL_POST:
        if ((v = default_version(a, res))) predict(a, v, req, res, 0);
        return;
    case ROUTE_MODEL_EXPLAIN:
        if ((v = default_version(a, res))) predict(a, v, req, res, 1);
        return;
    case ROUTE_MODEL_GET:
        if ((v = default_version(a, res))) respond_doc(a, res, v, DOC_DESCRIBE);
        return;
    case ROUTE_HEALTHZ: text_reply(a, res, 200, "{\"status\": \"ok\"}\n"); return;
    case ROUTE_READYZ: readiness(a, res, 0); return;
    case ROUTE_METRICS:
        len = a->o.stats ? stats_render(a->o.stats, a->out, a->out_cap) : 0;
        if (len >= 0) {
            long more = model_info(a, a->out + len, a->out_cap - (size_t)len);
            len = more < 0 ? -1 : len + more;
        }
        if (len < 0) {
            error_with(a, res, 500, "metrics do not fit the response buffer", NULL, -1);
            return;
        }
        respond(res, 200, "text/plain; version=0.0.4; charset=utf-8", a->out, (size_t)len);
        return;
    case ROUTE_OPENAPI:
        v = repository_default(a->repo) ? repo_model_version(repository_default(a->repo), 0) : NULL;
        if (v && (doc = docs_get(v, DOC_OPENAPI, &doc_len)))
            respond(res, 200, "application/yaml", doc, doc_len);
        else
            respond(res, 200, "application/yaml", openapi_yaml, openapi_yaml_len());
        return;
    case ROUTE_PAGE: respond(res, 200, "text/html; charset=utf-8", page_html, page_html_len()); return;
    case ROUTE_V2_LIVE: text_reply(a, res, 200, "{\"live\": true}\n"); return;
    case ROUTE_V2_READY: readiness(a, res, 1); return;
    case ROUTE_V2_SERVER:
        text_reply(a, res, 200,
                   "{\"name\": \"tabserve\", \"version\": \"%s\", \"extensions\": [\"binary_tensor_data\", "
                   "\"model_configuration\", \"statistics\", \"model_repository\"]}\n",
                   TABSERVE_VERSION);
        return;
    case ROUTE_V2_MODEL:
        if ((v = find_version(a, &x, &rt, &rm, 1))) respond_doc(a, res, v, DOC_V2_METADATA);
        return;
    case ROUTE_V2_MODEL_READY:
        if ((v = find_version(a, &x, &rt, &rm, 1)))
            text_reply(a, res, 200, "{\"name\": \"%s\", \"ready\": true}\n", rm->name);
        return;
    case ROUTE_V2_INFER:
        if ((v = find_version(a, &x, &rt, &rm, 1))) oip_infer(&x, v);
        return;
    case ROUTE_V1_STATUS: /* every version's state, even when none is ready */
        if (rt.version == 0 && !rt.label) {
            if ((rm = find_model(a, &x, &rt))) tfs_status(&x, rm, NULL);
        } else if ((v = find_version(a, &x, &rt, &rm, 0))) {
            tfs_status(&x, rm, v);
        }
        return;
    case ROUTE_V1_METADATA:
        if ((v = find_version(a, &x, &rt, &rm, 1))) respond_doc(a, res, v, DOC_TFS_METADATA);
        return;
    case ROUTE_V1_PREDICT:
        if ((v = find_version(a, &x, &rt, &rm, 1))) tfs_predict(&x, v, 0);
        return;
    case ROUTE_V1_EXPLAIN:
        if ((v = find_version(a, &x, &rt, &rm, 1))) tfs_predict(&x, v, 1);
        return;
    case ROUTE_V2_CONFIG:
        if ((v = find_version(a, &x, &rt, &rm, 1))) triton_config(&x, rm, v);
        return;
    case ROUTE_V2_STATS:
        if (!rt.model)
            triton_stats(&x, a->repo, a->o.stats, NULL, NULL);
        else if (rt.version == 0 && (rm = find_model(a, &x, &rt)))
            triton_stats(&x, a->repo, a->o.stats, rm, NULL);
        else if (rt.version != 0 && (v = find_version(a, &x, &rt, &rm, 1)))
            triton_stats(&x, a->repo, a->o.stats, rm, v);
        return;
    case ROUTE_V2_REPO_INDEX: triton_index(&x, a->repo); return;
    case ROUTE_V2_REPO_LOAD:
    case ROUTE_V2_REPO_UNLOAD:
        triton_control(&x, rt.model, rt.model_len, rt.route == ROUTE_V2_REPO_LOAD, a->o.model_control,
                       a->o.model_control_ctx);
        return;
    case ROUTE_V1_MODELS: tfs_models(&x, a->repo); return;
    case ROUTE_V1_CLASSIFY:
    case ROUTE_V1_REGRESS:
        if ((v = find_version(a, &x, &rt, &rm, 1))) tfs_examples(&x, v, rt.route == ROUTE_V1_CLASSIFY);
        return;
    case ROUTE_OTHER:
    case ROUTE_UNPARSED: /* never from routes_match */
    case ROUTE_COUNT: break;
    }
    if (rt.allow) {
        method_not_allowed(a, res, rt.allow, req->method, req->path);
        return;
    }
    char msg[400];
    snprintf(msg, sizeof msg,
             "no route %.100s; routes: /model, /healthz, /readyz, /metrics, /openapi.yaml, /v2/..., "
             "/v1/models/...",
             req->path);
    route_error(a, res, 404, msg, req->path);
}
