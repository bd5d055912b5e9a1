/* triton — Triton's configuration, statistics and repository extensions. */
#include "serve/triton.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "serve/docs.h"

/* Answers a JSON document (consumed), or 500 when it cannot be written. */
static void reply_json(exchange *x, json_t *doc)
{
    size_t n = doc ? json_dumpb(doc, x->out, x->out_cap - 1, JSON_COMPACT) : 0;
    json_decref(doc);
    if (n == 0 || n >= x->out_cap - 1) {
        exchange_error(x, 500, "the answer does not fit the response buffer");
        return;
    }
    x->out[n++] = '\n';
    exchange_reply(x, 200, "application/json", x->out, n);
}

static json_t *version_text(long v)
{
    char t[24];
    snprintf(t, sizeof t, "%ld", v);
    return json_string(t);
}

/* ModelConfig's data types: TYPE_ and the protocol's datatype, but strings are TYPE_STRING */
static json_t *config_type(value_type t)
{
    const char *dt = docs_v2_datatype(t);
    char name[32];
    snprintf(name, sizeof name, "TYPE_%s", strcmp(dt, "BYTES") == 0 ? "STRING" : dt);
    return json_string(name);
}

void triton_config(exchange *x, const repo_model *rm, const repo_version *v)
{
    const model *m = v->m;
    json_t *inputs = json_array();
    for (size_t i = 0; i < m->schema.n_inputs; i++) {
        const schema_input *in = &m->schema.inputs[i];
        json_array_append_new(inputs, json_pack("{s:s,s:o,s:s,s:[i],s:b,s:b,s:b}", "name", in->name,
                                                "data_type", config_type(in->type), "format", "FORMAT_NONE",
                                                "dims", 1, "is_shape_tensor", 0, "allow_ragged_batch", 0,
                                                "optional", !in->required));
    }
    /* with batching, dims leave out the batch dimension: [classes] or [1] */
    int width = m->n_outputs;
    json_t *output = json_pack("[{s:s,s:s,s:[i],s:s,s:b}]", "name", OUTPUT_TENSOR, "data_type", "TYPE_FP32",
                               "dims", width, "label_filename", "", "is_shape_tensor", 0);
    reply_json(x, json_pack("{s:s,s:s,s:s,s:o,s:i,s:o,s:o}", "name", rm->name, "platform", "tabserve",
                            "backend", "tabserve", "version_policy",
                            json_pack("{s:{s:i}}", "latest", "num_versions", rm->n), "max_batch_size",
                            x->max_batch, "input", inputs, "output", output));
}

/* {"count", "ns"}: Triton's StatisticDuration */
static json_t *duration(uint64_t count, uint64_t ns)
{
    return json_pack("{s:I,s:I}", "count", (json_int_t)count, "ns", (json_int_t)ns);
}

static json_t *version_stats(const repo_model *rm, const repo_version *v, const stats_shared *s)
{
    stats_inference t = stats_model_inference(s, v->stats_slot);
    json_t *zero = duration(0, 0);
    /* tabserve does not queue or time the phases of a request apart: the whole
     * request is compute_infer; queue and the input/output phases are zero */
    json_t *inf =
        json_pack("{s:o,s:o,s:O,s:O,s:o,s:O,s:O,s:O}", "success", duration(t.ok, t.ok_ns), "fail",
                  duration(t.fail, t.fail_ns), "queue", zero, "compute_input", zero, "compute_infer",
                  duration(t.ok, t.ok_ns), "compute_output", zero, "cache_hit", zero, "cache_miss", zero);
    json_decref(zero);
    return json_pack("{s:s,s:o,s:I,s:I,s:I,s:o,s:[]}", "name", rm->name, "version", version_text(v->version),
                     "last_inference", (json_int_t)t.last_ms, "inference_count", (json_int_t)t.predictions,
                     "execution_count", (json_int_t)t.ok, "inference_stats", inf, "batch_stats");
}

void triton_stats(exchange *x, const repository *r, const stats_shared *s, const repo_model *rm,
                  const repo_version *v)
{
    json_t *list = json_array();
    for (int i = 0; i < r->n; i++) {
        const repo_model *each = &r->models[i];
        if (rm && each != rm) continue;
        for (int k = 0; k < each->n; k++)
            if (each->v[k].m && (!v || &each->v[k] == v))
                json_array_append_new(list, version_stats(each, &each->v[k], s));
    }
    reply_json(x, json_pack("{s:o}", "model_stats", list));
}

void triton_index(exchange *x, const repository *r)
{
    /* the request's optional {"ready": true} lists only what is ready */
    int ready_only = 0;
    if (x->req->body_len) {
        json_t *body = exchange_parse(x, x->req->body, x->req->body_len);
        if (!body) return;
        json_t *ready = json_object_get(body, "ready");
        if (!json_is_object(body) || (ready && !json_is_boolean(ready))) {
            json_decref(body);
            exchange_error(x, 400, "$: the index request is an object with an optional boolean \"ready\"");
            return;
        }
        ready_only = json_is_true(ready);
        json_decref(body);
    }
    json_t *list = json_array();
    for (int i = 0; i < r->n; i++) {
        const repo_model *rm = &r->models[i];
        if (rm->unloaded) {
            if (!ready_only)
                json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "name", rm->name, "state", "UNLOADED",
                                                      "reason", "unloaded through the repository API"));
            continue;
        }
        for (int k = 0; k < rm->n; k++) {
            const repo_version *v = &rm->v[k];
            if (ready_only && !v->m) continue;
            json_t *e = json_pack("{s:s,s:o,s:s}", "name", rm->name, "version", version_text(v->version),
                                  "state", v->m ? "READY" : "UNAVAILABLE");
            if (!v->m) json_object_set_new(e, "reason", json_string(v->error ? v->error : ""));
            json_array_append_new(list, e);
        }
    }
    reply_json(x, list);
}

void triton_control(exchange *x, const char *name, size_t name_len, int load, model_control_fn fn, void *ctx)
{
    char n[REPO_MAX_NAME], err[ERR_LEN];
    if (!fn) {
        exchange_error(
            x, 403,
            "explicit model control is off: models are loaded from the repository directory and "
            "follow it; start the server with --model-control-mode explicit to %s models through the API",
            load ? "load" : "unload");
        return;
    }
    if (name_len >= sizeof n) {
        exchange_error(x, 400, "no model named \"%.64s...\": names are at most %d bytes", name,
                       REPO_MAX_NAME - 1);
        return;
    }
    memcpy(n, name, name_len);
    n[name_len] = 0;
    if (x->req->body_len) { /* Triton's optional parameters: none taken here, but the JSON is checked */
        json_t *body = exchange_parse(x, x->req->body, x->req->body_len);
        if (!body) return;
        int is_object = json_is_object(body);
        json_decref(body);
        if (!is_object) {
            exchange_error(x, 400, "$: the %s request is a JSON object", load ? "load" : "unload");
            return;
        }
    }
    int status = fn(ctx, n, load, err);
    if (status) {
        exchange_error(x, status, "%s", err);
        return;
    }
    exchange_reply(x, 200, "application/json", "", 0);
}
