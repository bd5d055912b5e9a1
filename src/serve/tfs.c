/* tfs — TF Serving's row ("instances") and column ("inputs") request formats,
 * each value checked by the schema as POST /model checks it. */
#include "serve/tfs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/jsonscan.h"
#include "base/jsonx.h"
#include "base/numtext.h"
#include "model/encode.h"

void tfs_status(exchange *x, const repo_model *rm, const repo_version *v)
{
    json_t *list = json_array();
    for (int k = 0; k < rm->n; k++) {
        const repo_version *e = &rm->v[k];
        if (v && e != v) continue;
        char version[24];
        snprintf(version, sizeof version, "%ld", e->version);
        json_array_append_new(list,
                              json_pack("{s:s,s:s,s:{s:s,s:s}}", "version", version, "state",
                                        e->m ? "AVAILABLE" : "END", "status", "error_code",
                                        e->m ? "OK" : "UNKNOWN", "error_message", e->m ? "" : e->error));
    }
    json_t *root = json_pack("{s:o}", "model_version_status", list);
    size_t n = root ? json_dumpb(root, x->out, x->out_cap - 1, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : 0;
    json_decref(root);
    if (n == 0 || n >= x->out_cap - 1) {
        exchange_error(x, 500, "the version status does not fit the response buffer");
        return;
    }
    x->out[n++] = '\n';
    exchange_reply(x, 200, "application/json", x->out, n);
}

/* One row: the value of each input from get(input, ctx), validated, then the feature steps. */
static int encode_from(exchange *x, const model *m, long r, const json_t *(*get)(const void *, size_t, long),
                       const void *ctx, const char *where_fmt, char *err)
{
    char where[64];
    snprintf(where, sizeof where, where_fmt, r);
    for (size_t i = 0; i < m->schema.n_inputs; i++) {
        raw_value v = raw_value_of_json(get(ctx, i, r));
        if (schema_value(&m->schema.inputs[i], &v, where, &x->values[i], err) != 0) return -1;
    }
    int bad;
    return encode_values(m, x->values, where, model_batch_row(x->batch, (int)r), &bad, err);
}

/* instances: a plain value (one-input model) is input 0 of its row */
static const json_t *instance_value(const void *ctx, size_t i, long r)
{
    (void)i;
    return json_array_get(ctx, (size_t)r);
}

/* a row of the matrix form: input i is the row's i-th value */
static const json_t *matrix_value(const void *ctx, size_t i, long r)
{
    return json_array_get(json_array_get(ctx, (size_t)r), i);
}

/* Whether the model takes the matrix form, as V2 takes one [rows, inputs]
 * tensor: every input a number (an ONNX model's [N, F] input, a numeric
 * table), so a row may be a list of them in the model's order (TF Serving's
 * instance of a one-tensor signature). */
static int takes_matrix(const model *m)
{
    for (size_t i = 0; i < m->schema.n_inputs; i++)
        if (m->schema.inputs[i].type == TYPE_STRING) return 0;
    return m->schema.n_inputs > 1;
}

/* A row of the matrix form: a list of one value per input. 0, or -1 with err. */
static int matrix_row(const model *m, const json_t *row, const char *where, char *err)
{
    if (json_array_size(row) == m->schema.n_inputs) return 0;
    char list[200] = "";
    size_t used = 0;
    for (size_t k = 0; k < m->schema.n_inputs && used < sizeof list - 8; k++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
                                 m->schema.inputs[k].name);
    return err_set(err, "%s: a row of %zu values, but the model has %zu inputs (%s%s)", where,
                   json_array_size(row), m->schema.n_inputs, list, used >= sizeof list - 8 ? ", ..." : "");
}

/* inputs: {name: [values]} (or a plain list for a one-input model) */
typedef struct {
    const model *m;
    const json_t *inputs;
} columns;

static const json_t *column_value(const void *ctx, size_t i, long r)
{
    const columns *c = ctx;
    const json_t *col =
        json_is_array(c->inputs) ? c->inputs : json_object_get(c->inputs, c->m->schema.inputs[i].name);
    return json_array_get(col, (size_t)r);
}

/* Rows from "inputs": checks the names and that every column has the same length. */
static long column_rows(const model *m, const json_t *inputs, int matrix, char *err)
{
    if (json_is_array(inputs) && matrix) { /* one [rows, inputs] tensor: the matrix form */
        for (size_t r = 0; r < json_array_size(inputs); r++) {
            char where[40];
            snprintf(where, sizeof where, "$.inputs[%zu]", r);
            const json_t *row = json_array_get(inputs, r);
            if (!json_is_array(row))
                return err_set(err, "%s: expected a row (a list of %zu values), got %s", where,
                               m->schema.n_inputs, json_type_name(row));
            if (matrix_row(m, row, where, err) != 0) return -1;
        }
        return (long)json_array_size(inputs);
    }
    if (json_is_array(inputs)) {
        if (m->schema.n_inputs != 1)
            return err_set(
                err,
                "$.inputs: a list is for a one-input model; this one has %zu inputs: send an object "
                "{name: [values]}",
                m->schema.n_inputs);
        return (long)json_array_size(inputs);
    }
    if (!json_is_object(inputs))
        return err_set(err, "$.inputs: expected an object {name: [values]}, got %s", json_type_name(inputs));
    long rows = -1;
    const char *key;
    const json_t *col;
    json_object_foreach((json_t *)inputs, key, col)
    {
        if (schema_find(&m->schema, key, strlen(key)) < 0)
            return err_set(err, "$.inputs.%.64s: the model has no input of that name", key);
        if (!json_is_array(col))
            return err_set(err, "$.inputs.%s: expected an array, got %s", key, json_type_name(col));
        if (rows >= 0 && (long)json_array_size(col) != rows)
            return err_set(err, "$.inputs.%s: %zu values, but another input has %ld; send one value per row",
                           key, json_array_size(col), rows);
        rows = (long)json_array_size(col);
    }
    if (rows < 0) return err_set(err, "$.inputs: no input given");
    return rows;
}

static void reply(exchange *x, const model *m, long rows, int columnar)
{
    char *o = x->out;
    int k = m->n_outputs;
    o += sprintf(o, columnar ? "{\"outputs\": [" : "{\"predictions\": [");
    for (long r = 0; r < rows; r++) {
        const float *y = x->batch->y + (size_t)r * (size_t)k;
        if (r) o += sprintf(o, ", ");
        if (k > 1) *o++ = '[';
        for (int j = 0; j < k; j++) {
            if (j) o += sprintf(o, ", ");
            o += format_float(o, y[j]);
        }
        if (k > 1) *o++ = ']';
    }
    o += sprintf(o, "]}\n");
    exchange_reply(x, 200, "application/json", x->out, (size_t)(o - x->out));
}

/* The answer to scored rows: predictions, or explanations. */
static void finish(exchange *x, const repo_version *v, long rows, int columnar, int explain)
{
    const model *m = v->m;
    char err[ERR_LEN];
    int status;
    if (explain) {
        if ((status = exchange_explain(x, repository_explainer(v), (int)rows, 1, err)) != 0)
            exchange_error(x, status, "%s", err);
        return;
    }
    x->res->predictions = rows;
    reply(x, m, rows, columnar);
}

/* ---- the fast path ----------------------------------------------------------
 * {"instances": [row objects]} with an optional "signature_name": each row is a
 * flat object read by encode_json_fast (POST /model's fast path) from its
 * text, no tree. It only ever says yes; anything else, and every error, goes
 * to the full path, which gives the message. */

/* Past one flat object (no nested object or array; strings without escapes). */
static const char *flat_object_end(const char *p, const char *end)
{
    if (p == end || *p++ != '{') return NULL;
    while (p < end && *p != '}') {
        if (*p == '{' || *p == '[') return NULL;
        if (*p == '"') {
            const char *s;
            size_t n;
            if (!(p = json_scan_plain_string(p + 1, end, &s, &n))) return NULL;
        } else {
            p++;
        }
    }
    return p < end ? p + 1 : NULL;
}

static long predict_fast(exchange *x, const model *m)
{
    const char *p = x->req->body, *end = p + x->req->body_len;
    int instances = 0, signature = 0;
    long rows = 0;
    if (!x->fast_paths) return -1;
    p = json_skip_ws(p, end);
    if (p == end || *p++ != '{') return -1;
    x->batch->m = m;
    for (;;) {
        const char *key, *s;
        size_t len, n;
        p = json_skip_ws(p, end);
        if (p == end || *p++ != '"' || !(p = json_scan_plain_string(p, end, &key, &len))) return -1;
        p = json_skip_ws(p, end);
        if (p == end || *p++ != ':') return -1;
        p = json_skip_ws(p, end);
        if (len == 14 && memcmp(key, "signature_name", 14) == 0 && !signature++) {
            if (p == end || *p != '"' || !(p = json_scan_plain_string(p + 1, end, &s, &n))) return -1;
            if (n && !(n == 15 && memcmp(s, "serving_default", 15) == 0)) return -1;
        } else if (len == 9 && memcmp(key, "instances", 9) == 0 && !instances++) {
            if (p == end || *p++ != '[') return -1;
            for (;;) {
                p = json_skip_ws(p, end);
                const char *row_end = flat_object_end(p, end);
                if (!row_end || rows == x->max_batch ||
                    encode_json_fast(m, p, (size_t)(row_end - p), model_batch_row(x->batch, (int)rows)) != 0)
                    return -1;
                rows++;
                int closed;
                if (!(p = json_scan_next(row_end, end, ']', &closed))) return -1;
                if (closed) break;
            }
        } else {
            return -1;
        }
        int closed;
        if (!(p = json_scan_next(p, end, '}', &closed))) return -1;
        if (closed) break;
    }
    return instances && json_skip_ws(p, end) == end ? rows : -1;
}

/* ---- TF Serving's JSON extensions -------------------------------------------
 * Binary values as {"b64": "..."}: the string it encodes. (Its bare NaN and
 * Infinity tokens are read by exchange_parse.) */

static int b64_digit(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Standard or URL-safe base64, padding optional. Returns the length, or -1. */
static long b64_decode(const char *s, size_t len, char *out)
{
    while (len && s[len - 1] == '=') len--;
    if (len % 4 == 1) return -1;
    long o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int d = b64_digit((unsigned char)s[i]);
        if (d < 0) return -1;
        acc = (acc << 6) | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    return o;
}

/* e as the string its {"b64": "..."} encodes, into *out: 1; 0: e is not such
 * an object; -1: it is, but its text is not base64. */
static int b64_of(const json_t *e, json_t **out)
{
    const json_t *t = json_is_object(e) && json_object_size(e) == 1 ? json_object_get(e, "b64") : NULL;
    if (!t) return 0;
    *out = NULL;
    char *buf = json_is_string(t) ? malloc(json_string_length(t) + 1) : NULL;
    long n = buf ? b64_decode(json_string_value(t), json_string_length(t), buf) : -1;
    if (n >= 0) *out = json_stringn_nocheck(buf, (size_t)n);
    free(buf);
    return *out ? 1 : -1;
}

/* Replaces every {"b64": "..."} under j by the string it encodes. Returns 0, or
 * -1 with err naming the JSON path. */
static int b64_values(json_t *j, char *path, size_t plen, char *err)
{
    size_t cap = 200;
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++) {
            json_t *e = json_array_get(j, i);
            snprintf(path + plen, cap - plen, "[%zu]", i);
            json_t *d;
            int b64 = b64_of(e, &d);
            if (b64 < 0) return err_set(err, "%s.b64: not base64 text", path);
            if (b64)
                json_array_set_new(j, i, d);
            else if (b64_values(e, path, strlen(path), err) != 0)
                return -1;
        }
    } else if (json_is_object(j)) {
        const char *key;
        json_t *e;
        void *tmp;
        json_object_foreach_safe(j, tmp, key, e)
        {
            snprintf(path + plen, cap - plen, ".%.40s", key);
            json_t *d;
            int b64 = b64_of(e, &d);
            if (b64 < 0) return err_set(err, "%s.b64: not base64 text", path);
            if (b64)
                json_object_set_new(j, key, d);
            else if (b64_values(e, path, strlen(path), err) != 0)
                return -1;
        }
    }
    path[plen] = 0;
    return 0;
}

/* The body as JSON with TF Serving's extensions, or NULL after answering 400. */
static json_t *parse_body(exchange *x)
{
    char err[ERR_LEN], path[200] = "$";
    json_t *root = exchange_parse(x, x->req->body, x->req->body_len);
    if (root && b64_values(root, path, 1, err) != 0) {
        json_decref(root);
        exchange_error(x, 400, "%s", err);
        return NULL;
    }
    return root;
}

void tfs_predict(exchange *x, const repo_version *v, int explain)
{
    const model *m = v->m;
    /* no Content-Type check: TF Serving reads the body as JSON whatever the header says
     * (its own documentation's `curl -d` sends a form type) */
    long fast_rows = predict_fast(x, m);
    if (fast_rows > 0) {
        if (exchange_score(x, (int)fast_rows, "$.instances[%d]") == 0) finish(x, v, fast_rows, 0, explain);
        return;
    }
    json_t *root = parse_body(x);
    if (!root) return;
    char err[ERR_LEN];
    int status = 400;
    const json_t *instances = json_object_get(root, "instances"), *inputs = json_object_get(root, "inputs");
    const json_t *sig = json_object_get(root, "signature_name");
    long rows = 0;
    /* {"inputs": {"float_input": [[...], ...]}}: the matrix form's one tensor, by
     * its own name (an ONNX graph input's), as V2 takes it */
    int matrix = takes_matrix(m);
    if (json_is_object(inputs) && json_object_size(inputs) == 1 && matrix) {
        void *it = json_object_iter((json_t *)inputs);
        const char *key = json_object_iter_key(it);
        if (schema_find(&m->schema, key, strlen(key)) < 0 && json_is_array(json_object_iter_value(it)))
            inputs = json_object_iter_value(it);
    }
    columns cols = {m, inputs};
    if (!json_is_object(root)) {
        err_set(err, "$: expected an object with \"instances\" or \"inputs\", got %s", json_type_name(root));
        goto fail;
    }
    if (sig && (!json_is_string(sig) ||
                (strcmp(json_string_value(sig), "serving_default") != 0 && json_string_length(sig) != 0))) {
        err_set(err, "$.signature_name: the model has one signature, \"serving_default\"");
        goto fail;
    }
    if (!instances == !inputs) {
        err_set(err, "$: send exactly one of \"instances\" (rows) or \"inputs\" (columns)");
        goto fail;
    }
    if (instances) {
        if (!json_is_array(instances) || !(rows = (long)json_array_size(instances))) {
            err_set(err, "$.instances: expected a non-empty array of rows, got %s",
                    json_is_array(instances) ? "an empty array" : json_type_name(instances));
            goto fail;
        }
    } else if ((rows = column_rows(m, inputs, matrix, err)) < 0) {
        goto fail;
    } else if (rows == 0) {
        err_set(err, "$.inputs: no rows");
        goto fail;
    }
    if (rows > x->max_batch) {
        err_set(err, "%ld rows is over the limit of %d (--max-batch)", rows, x->max_batch);
        status = 413;
        goto fail;
    }
    x->batch->m = m;
    for (long r = 0; r < rows; r++) {
        const json_t *row = instances ? json_array_get(instances, (size_t)r) : NULL;
        char where[40];
        int bad, rc;
        if (row) snprintf(where, sizeof where, "$.instances[%ld]", r);
        if (row && json_is_object(row)) {
            rc = encode_json(m, row, where, x->encode_rules, model_batch_row(x->batch, (int)r), &bad, err);
        } else if (row && json_is_array(row) && matrix) {
            rc = matrix_row(m, row, where, err);
            if (rc == 0) rc = encode_from(x, m, r, matrix_value, instances, "$.instances[%ld]", err);
        } else if (row && m->schema.n_inputs != 1) {
            rc = err_set(err, "$.instances[%ld]: expected an object keyed by input name, got %s", r,
                         json_type_name(row));
        } else if (row) {
            rc = encode_from(x, m, r, instance_value, instances, "$.instances[%ld]", err);
        } else {
            rc = json_is_array(inputs) && matrix
                     ? encode_from(x, m, r, matrix_value, inputs, "$.inputs[%ld]", err)
                     : encode_from(x, m, r, column_value, &cols, "$.inputs[*][%ld]", err);
        }
        if (rc != 0) goto fail;
    }
    if (exchange_score(x, (int)rows, instances ? "$.instances[%d]" : "$.inputs[*][%d]") == 0)
        finish(x, v, rows, instances == NULL, explain);
    json_decref(root);
    return;
fail:
    exchange_error(x, status, "%s", err);
    json_decref(root);
}

/* ---- GET /v1/models, :classify and :regress ------------------------------- */

void tfs_models(exchange *x, const repository *r)
{
    /* TF Serving answers a status request without a model name with this 400 */
    char names[256] = "";
    size_t used = 0;
    for (int i = 0; i < r->n && used < sizeof names - 8; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", r->models[i].name);
    exchange_error(x, 400, "Missing model name in request. (GET /v1/models/NAME; models: %s)",
                   r->n ? names : "(none)");
}

/* One example as a row object: its features and the context's, each feature's
 * value plain or a list of one (Example's feature lists). Returns a new object,
 * or NULL with err. */
static json_t *example_row(const json_t *example, const json_t *context, long r, char *err)
{
    if (!json_is_object(example))
        return err_set(err, "$.examples[%ld]: expected an object of features, got %s", r,
                       json_type_name(example)),
               NULL;
    json_t *row = json_object();
    const char *key;
    json_t *value;
    for (int from_context = 0; from_context < 2; from_context++) {
        const json_t *src = from_context ? context : example;
        json_object_foreach((json_t *)src, key, value)
        {
            if (from_context && json_object_get(example, key)) {
                json_decref(row);
                return err_set(err, "$.examples[%ld].%.64s: also in $.context; a feature is in one of them",
                               r, key),
                       NULL;
            }
            if (json_is_array(value) && json_array_size(value) > 1) {
                json_decref(row);
                return err_set(err, "%s.%.64s: %zu values; each input of this model takes one",
                               from_context ? "$.context" : "$.examples[...]", key, json_array_size(value)),
                       NULL;
            }
            json_t *one = json_is_array(value) ? json_array_get(value, 0) : value;
            json_object_set(row, key, one ? one : json_null());
        }
    }
    return row;
}

/* classify's label/score pairs of one row, into o (at most cap bytes).
 * Returns the length, or -1 when it does not fit. */
static long classify_row(const output_spec *os, const float *y, char *o, size_t cap)
{
    size_t used = 0;
    int n;
    char num[32];
    if (os->task == TASK_MULTICLASS) {
        n = snprintf(o, cap, "[");
        for (size_t j = 0; n >= 0 && (size_t)n < cap - used && j < os->n_classes; j++) {
            used += (size_t)n;
            num[format_float(num, y[j])] = 0;
            json_t *label = json_string(os->classes[j]);
            char *lt = json_dumps(label, JSON_ENCODE_ANY);
            n = snprintf(o + used, cap - used, "%s[%s, %s]", j ? ", " : "", lt ? lt : "\"\"", num);
            free(lt);
            json_decref(label);
        }
    } else { /* binary: the other class, then the one whose probability the model reports */
        char yes[300] = "\"1\"", no[8] = "\"0\"", p0[32];
        if (os->positive) {
            json_t *label = json_string(os->positive);
            char *lt = json_dumps(label, JSON_ENCODE_ANY);
            snprintf(yes, sizeof yes, "%s", lt ? lt : "\"\"");
            snprintf(no, sizeof no, "\"\""); /* the other class's text is not kept */
            free(lt);
            json_decref(label);
        }
        num[format_float(num, y[0])] = 0;
        p0[format_float(p0, 1.0f - y[0])] = 0;
        n = snprintf(o, cap, "[[%s, %s], [%s, %s]", no, p0, yes, num);
    }
    if (n < 0 || (size_t)n >= cap - used) return -1;
    used += (size_t)n;
    if (used + 1 >= cap) return -1;
    o[used++] = ']';
    return (long)used;
}

void tfs_examples(exchange *x, const repo_version *v, int classify)
{
    const model *m = v->m;
    const output_spec *os = &m->output;
    if (!classify && output_width(os) > 1 && os->task == TASK_REGRESSION) {
        exchange_error(x, 400, "this model answers %d targets a row: ask it with :predict", output_width(os));
        return;
    }
    if (classify ? os->task == TASK_REGRESSION : os->task == TASK_MULTICLASS) {
        exchange_error(x, 400, "this model is %s: ask it with :%s",
                       classify ? "a regression" : "a multiclass classifier",
                       classify ? "regress" : "classify (or :predict)");
        return;
    }
    json_t *root = parse_body(x);
    if (!root) return;
    char err[ERR_LEN];
    int status = 400;
    const json_t *examples = json_object_get(root, "examples"), *context = json_object_get(root, "context");
    const json_t *sig = json_object_get(root, "signature_name");
    long rows = 0;
    if (!json_is_object(root)) {
        err_set(err, "$: expected an object with \"examples\", got %s", json_type_name(root));
        goto fail;
    }
    if (sig && (!json_is_string(sig) ||
                (strcmp(json_string_value(sig), "serving_default") != 0 && json_string_length(sig) != 0))) {
        err_set(err, "$.signature_name: the model has one signature, \"serving_default\"");
        goto fail;
    }
    if (context && !json_is_object(context)) {
        err_set(err, "$.context: expected an object of features, got %s", json_type_name(context));
        goto fail;
    }
    if (!json_is_array(examples) || !(rows = (long)json_array_size(examples))) {
        err_set(err, "$.examples: expected a non-empty array of examples, got %s",
                json_is_array(examples) ? "an empty array" : json_type_name(examples));
        goto fail;
    }
    if (rows > x->max_batch) {
        err_set(err, "%ld examples is over the limit of %d (--max-batch)", rows, x->max_batch);
        status = 413;
        goto fail;
    }
    x->batch->m = m;
    for (long r = 0; r < rows; r++) {
        json_t *row = example_row(json_array_get(examples, (size_t)r), context, r, err);
        if (!row) goto fail;
        char where[40];
        int bad;
        snprintf(where, sizeof where, "$.examples[%ld]", r);
        int rc = encode_json(m, row, where, x->encode_rules, model_batch_row(x->batch, (int)r), &bad, err);
        json_decref(row);
        if (rc != 0) goto fail;
    }
    json_decref(root);
    root = NULL;
    if (exchange_score(x, (int)rows, "$.examples[%d]") != 0) return;
    char *o = x->out, *end = x->out + x->out_cap - 8;
    o += sprintf(o, "{\"result\": [");
    for (long r = 0; r < rows; r++) {
        const float *y = x->batch->y + (size_t)r * (size_t)m->n_outputs;
        if (r) o += sprintf(o, ", ");
        long n = classify ? classify_row(os, y, o, (size_t)(end - o))
                          : (end - o > 40 ? (long)format_float(o, y[0]) : -1);
        if (n < 0) {
            exchange_error(x, 413, "the answer to %ld examples does not fit the response buffer; send fewer",
                           rows);
            return;
        }
        o += n;
    }
    o += sprintf(o, "]}\n");
    x->res->predictions = rows;
    exchange_reply(x, 200, "application/json", x->out, (size_t)(o - x->out));
    return;
fail:
    exchange_error(x, status, "%s", err);
    json_decref(root);
}
