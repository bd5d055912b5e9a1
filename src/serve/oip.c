/* oip — an inference request, top to bottom: the JSON header (and the binary
 * part after it) -> tensors checked against their shape -> tensors matched to
 * the model's inputs -> each row's values through the schema and feature steps
 * -> the model -> the reply tensor. */
#include "serve/oip.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/jsonscan.h"
#include "base/jsonx.h"
#include "base/numtext.h"
#include "model/encode.h"
#include "serve/docs.h"
#include "serve/tensor.h"

#define MAX_ID_BYTES  1024
#define STACK_TENSORS 32

/* The length of the JSON part: all of the body, or Inference-Header-Content-Length. */
static int json_part(exchange *x, size_t *json_len)
{
    const api_request *req = x->req;
    *json_len = req->body_len;
    if (!req->inference_header) {
        if (exchange_is_json_type(req->content_type)) return 0;
        exchange_error(x, 415,
                       "Content-Type must be application/json, or the body must start with a JSON header of "
                       "Inference-Header-Content-Length bytes; got \"%.80s\"",
                       req->content_type);
        return -1;
    }
    const char *h = req->inference_header;
    char *end;
    unsigned long long n = strtoull(h, &end, 10);
    if (!*h || *end || *h < '0' || *h > '9' || n > req->body_len) {
        exchange_error(
            x, 400, "Inference-Header-Content-Length: \"%.40s\" is not a byte count within the %zu-byte body",
            h, req->body_len);
        return -1;
    }
    *json_len = (size_t)n;
    return 0;
}

/* Reads tensor j of $.inputs: name, datatype, shape, and data or its binary part. */
static int read_tensor(const json_t *jt, int j, tensor_in *t, const char **name, const unsigned char *bin,
                       size_t bin_len, size_t *bin_used, char *err)
{
    char where[40];
    snprintf(where, sizeof where, "$.inputs[%d]", j);
    memset(t, 0, sizeof *t);
    if (!json_is_object(jt))
        return err_set(err,
                       "%s: expected a tensor object {\"name\", \"shape\", \"datatype\", \"data\"}, got %s",
                       where, json_type_name(jt));
    const json_t *jname = json_object_get(jt, "name"), *jtype = json_object_get(jt, "datatype");
    if (!json_is_string(jname))
        return err_set(err, "%s.name: expected a string, got %s", where,
                       jname ? json_type_name(jname) : "nothing");
    *name = json_string_value(jname);
    if (!json_is_string(jtype))
        return err_set(err, "%s.datatype: expected a string such as \"FP32\" or \"BYTES\", got %s", where,
                       jtype ? json_type_name(jtype) : "nothing");
    t->dtype_name = json_string_value(jtype);
    if ((t->dtype = tensor_dtype_of(t->dtype_name)) == DT_UNSUPPORTED)
        return err_set(
            err, "%s.datatype: \"%.20s\" is not supported; use BOOL, INT8-64, UINT8-64, FP32, FP64 or BYTES",
            where, t->dtype_name);
    if (tensor_set_shape(t, json_object_get(jt, "shape"), where, err) != 0) return -1;
    const json_t *params = json_object_get(jt, "parameters"),
                 *size = json_object_get(params, "binary_data_size");
    const json_t *data = json_object_get(jt, "data");
    if (size) {
        if (!json_is_integer(size) || json_integer_value(size) < 0)
            return err_set(err, "%s.parameters.binary_data_size: expected a non-negative integer", where);
        size_t n = (size_t)json_integer_value(size);
        if (n > bin_len - *bin_used)
            return err_set(err,
                           "%s.parameters.binary_data_size: %zu bytes, but only %zu binary bytes are left",
                           where, n, bin_len - *bin_used);
        if (data) return err_set(err, "%s: both data and binary_data_size; send one", where);
        if (tensor_set_binary(t, bin + *bin_used, n, where, err) != 0) return -1;
        *bin_used += n;
        return 0;
    }
    if (!data) return err_set(err, "%s.data: missing (send data, or parameters.binary_data_size)", where);
    return tensor_set_json(t, data, where, err);
}

/* Which tensor feeds each input (col_of[i], -1: not sent: missing values), or
 * one matrix of all inputs (*matrix). Returns the row count, or -1 with err. */
static long match_inputs(const model *m, const char *const *names, tensor_in *t, int n_tensors, int *col_of,
                         int *matrix, char *err)
{
    const schema *s = &m->schema;
    *matrix = 0;
    for (size_t i = 0; i < s->n_inputs; i++) col_of[i] = -1;
    int all_numeric = 1;
    for (size_t i = 0; i < s->n_inputs; i++) all_numeric &= s->inputs[i].type != TYPE_STRING;
    if (n_tensors == 1 && schema_find(s, names[0], strlen(names[0])) < 0 && t[0].rank == 2 &&
        t[0].shape[1] == (long)s->n_inputs && all_numeric && t[0].dtype != DT_BYTES) {
        *matrix = 1;
        return t[0].shape[0];
    }
    long rows = -1;
    for (int j = 0; j < n_tensors; j++) {
        int i = schema_find(s, names[j], strlen(names[j]));
        if (i < 0) {
            char list[256] = "";
            size_t used = 0;
            for (size_t k = 0; k < s->n_inputs && used < sizeof list - 8; k++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
                                         s->inputs[k].name);
            return err_set(err, "$.inputs[%d].name: the model has no input \"%.64s\"; its inputs: %s%s", j,
                           names[j], list,
                           all_numeric ? " (or send one [rows, inputs] tensor of them in this order)" : "");
        }
        if (col_of[i] >= 0)
            return err_set(err, "$.inputs[%d].name: input \"%s\" is sent twice (also $.inputs[%d])", j,
                           names[j], col_of[i]);
        if (t[j].rank == 2 && t[j].shape[1] != 1)
            return err_set(err,
                           "$.inputs[%d].shape: input %s is one column: [rows] or [rows, 1], not [%ld, %ld]",
                           j, names[j], t[j].shape[0], t[j].shape[1]);
        if (rows >= 0 && t[j].shape[0] != rows)
            return err_set(
                err,
                "$.inputs[%d].shape: %ld rows, but $.inputs[0] has %ld; every input has one value per row", j,
                t[j].shape[0], rows);
        rows = t[j].shape[0];
        col_of[i] = j;
    }
    return rows;
}

/* Row r's values into x->batch row r. Returns 0, or -1 with err. Messages
 * are written only on failure: the places are formatted then. */
static int encode_row(exchange *x, const model *m, tensor_in *t, const int *col_of, int matrix, long r,
                      char *err)
{
    const schema *s = &m->schema;
    char where[64];
    for (size_t i = 0; i < s->n_inputs; i++) {
        raw_value v = {RAW_MISSING, 0, NULL, 0, NULL};
        int j = matrix ? 0 : col_of[i];
        long k = matrix ? r * (long)s->n_inputs + (long)i : r;
        if (j >= 0 && tensor_get(&t[j], k, &v, j, err) != 0) return -1;
        if (schema_value(&s->inputs[i], &v, "$", &x->values[i], NULL) == 0) continue;
        if (j >= 0)
            snprintf(where, sizeof where, "$.inputs[%d].data[%ld]", j, k);
        else
            snprintf(where, sizeof where, "$.inputs");
        return schema_value(&s->inputs[i], &v, where, &x->values[i], err);
    }
    int bad;
    if (encode_values(m, x->values, "$", model_batch_row(x->batch, (int)r), &bad, NULL) == 0) return 0;
    snprintf(where, sizeof where, "$.inputs[*].data[%ld]", r);
    return encode_values(m, x->values, where, model_batch_row(x->batch, (int)r), &bad, err);
}

/* binary_data_output for all outputs, or binary_data on the one asked for.
 * Returns 0/1, or -1 with err for an output that is not there. */
static int wants_binary(const json_t *root, char *err)
{
    int binary = json_is_true(json_object_get(json_object_get(root, "parameters"), "binary_data_output"));
    const json_t *outs = json_object_get(root, "outputs");
    if (!outs) return binary;
    if (!json_is_array(outs))
        return err_set(err, "$.outputs: expected an array, got %s", json_type_name(outs));
    for (size_t k = 0; k < json_array_size(outs); k++) {
        const json_t *o = json_array_get(outs, k), *name = json_object_get(o, "name");
        if (!json_is_string(name))
            return err_set(err, "$.outputs[%zu].name: expected a string, got %s", k,
                           name ? json_type_name(name) : "nothing");
        if (strcmp(json_string_value(name), OUTPUT_TENSOR) != 0)
            return err_set(
                err, "$.outputs[%zu].name: the model has no output \"%.64s\"; its output: " OUTPUT_TENSOR, k,
                json_string_value(name));
        const json_t *b = json_object_get(json_object_get(o, "parameters"), "binary_data");
        if (b) binary = json_is_true(b);
    }
    return binary;
}

/* Answers to requests without an id get one (KServe's response model requires
 * it): the worker's pid and a count, unique for the server's life. */
static atomic_ulong replies;

/* The reply tensor; id is the request's id as JSON text (quoted), or NULL. */
static void reply(exchange *x, const repo_version *v, const char *id, size_t id_len, long n, int binary)
{
    const model *m = v->m;
    int k = m->n_outputs;
    char *o = x->out;
    size_t head_len;
    const char *reply_head = docs_get(v, DOC_V2_REPLY_HEAD, &head_len);
    if (!reply_head) { /* a repository loaded without docs_render: never half an answer */
        exchange_error(x, 500, "this model version has no rendered documents");
        return;
    }
    memcpy(o, reply_head, head_len);
    o += head_len;
    if (id) {
        memcpy(o, ",\"id\":", 6);
        memcpy(o + 6, id, id_len);
        o += 6 + id_len;
    } else { /* "PID-N": unique across the workers; no printf and no getpid call per answer */
        static _Thread_local unsigned long long pid;
        if (!pid) pid = (unsigned long long)getpid(); /* first use is in the worker, after its fork */
        memcpy(o, ",\"id\":\"", 7);
        o += 7;
        o += format_unsigned(o, pid);
        *o++ = '-';
        o += format_unsigned(o, (unsigned long long)atomic_fetch_add(&replies, 1) + 1);
        *o++ = '"';
    }
    static const char head[] =
        ",\"outputs\":[{\"name\":\"" OUTPUT_TENSOR "\",\"datatype\":\"FP32\",\"shape\":[";
    memcpy(o, head, sizeof head - 1); /* the path every answer takes: no printf */
    o += sizeof head - 1;
    o += format_unsigned(o, (unsigned long long)n);
    if (k > 1) {
        *o++ = ',';
        o += format_unsigned(o, (unsigned long long)k);
    }
    size_t values = (size_t)n * (size_t)k;
    if (binary) {
        o += sprintf(o, "],\"parameters\":{\"binary_data_size\":%zu}}]}", values * sizeof(float));
        x->res->inference_header_len = (long)(o - x->out);
        memcpy(o, x->batch->y,
               values * sizeof(float)); /* x86 and arm64 are little-endian, as the extension is */
        o += values * sizeof(float);
        exchange_reply(x, 200, "application/octet-stream", x->out, (size_t)(o - x->out));
        return;
    }
    memcpy(o, "],\"data\":[", 10);
    o += 10;
    for (size_t i = 0; i < values; i++) {
        if (i) *o++ = ',';
        o += format_float(o, x->batch->y[i]);
    }
    memcpy(o, "]}]}\n", 6);
    o += 5;
    exchange_reply(x, 200, "application/json", x->out, (size_t)(o - x->out));
}

/* ---- the fast path ----------------------------------------------------------
 * The request nearly every JSON client sends: {"id"?, "inputs": [tensors]},
 * each tensor {"name", "shape": [n] or [n, 1], "datatype", "data": [flat
 * scalars]} naming a model input, in any order of members, nothing else. Read
 * straight from the text, each tensor through a cursor a row at a time: no
 * tree, no allocation. It only ever says yes; anything else, and every error,
 * goes to the full path below, which gives the message (fuzz/fuzz_api.c checks
 * that both answer alike). */

typedef struct {
    const char *cursor; /* the next element of data */
    tensor_dtype dtype;
} fast_tensor;

static const char *fast_key(const char *p, const char *end, const char **key, size_t *len)
{
    p = json_skip_ws(p, end);
    if (p == end || *p++ != '"' || !(p = json_scan_plain_string(p, end, key, len))) return NULL;
    p = json_skip_ws(p, end);
    if (p == end || *p++ != ':') return NULL;
    return json_skip_ws(p, end);
}

/* a member name against a literal: a length test, then a fixed-size compare */
#define is_key(key, len, literal)                                                                            \
    ((len) == sizeof(literal) - 1 && (key)[0] == (literal)[0] &&                                             \
     memcmp((key), literal, sizeof(literal) - 1) == 0)

/* One scalar element: its raw value if the datatype takes it; NULL otherwise.
 * DT_UNSUPPORTED takes any scalar (the syntax alone, before the datatype is known). */
static const char *fast_element(const char *p, const char *end, tensor_dtype dt, raw_value *v)
{
    int any = dt == DT_UNSUPPORTED;
    memset(v, 0, sizeof *v);
    if (p == end) return NULL;
    if (*p == 'n') {
        if (end - p < 4 || memcmp(p, "null", 4) != 0) return NULL;
        v->kind = RAW_MISSING;
        return p + 4;
    }
    if (*p == '"') {
        if (dt != DT_BYTES && !any) return NULL;
        v->kind = RAW_STRING;
        return json_scan_plain_string(p + 1, end, &v->str, &v->len);
    }
    if (*p == 't' || *p == 'f') {
        int t = *p == 't';
        size_t n = t ? 4 : 5;
        if ((dt != DT_BOOL && !any) || (size_t)(end - p) < n || memcmp(p, t ? "true" : "false", n) != 0)
            return NULL;
        v->kind = RAW_BOOL;
        v->number = t;
        return p + n;
    }
    if (dt == DT_BYTES || dt == DT_BOOL) return NULL;
    const char *q = json_scan_number(p, end, &v->number);
    if (!q) return NULL;
    if (dt <= DT_INT64) { /* integer datatypes take integers: no fraction, no exponent; unsigned, no sign */
        for (const char *c = p; c < q; c++)
            if (*c == '.' || *c == 'e' || *c == 'E') return NULL;
        if (dt <= DT_UINT64 && v->number < 0) return NULL;
    }
    if (!tensor_in_range(dt, v->number)) return NULL; /* the full path says which and why */
    if (dt == DT_FP32) v->number = (float)v->number;
    v->kind = RAW_NUMBER;
    return q;
}

/* [n] or [n, 1]: n, or -1 */
static const char *fast_shape(const char *p, const char *end, long *rows)
{
    long dims[2] = {-1, -1};
    int n = 0;
    if (p == end || *p++ != '[') return NULL;
    for (;;) {
        p = json_skip_ws(p, end);
        long d = 0;
        const char *start = p;
        while (p < end && *p >= '0' && *p <= '9' && p - start < 8) d = d * 10 + (*p++ - '0');
        if (p == start || n == 2 || (p - start > 1 && *start == '0') || d > (1 << 24)) return NULL;
        dims[n++] = d;
        int closed;
        if (!(p = json_scan_next(p, end, ']', &closed))) return NULL;
        if (closed) break;
    }
    if (n == 2 && dims[1] != 1) return NULL;
    *rows = dims[0];
    return p;
}

/* Past data's elements, counting them; each checked against dt. */
static const char *fast_data(const char *p, const char *end, tensor_dtype dt, long *count)
{
    *count = 0;
    if (p == end || *p++ != '[') return NULL;
    p = json_skip_ws(p, end);
    if (p < end && *p == ']') return p + 1;
    for (;;) {
        raw_value v;
        if (!(p = fast_element(p, end, dt, &v))) return NULL;
        ++*count;
        int closed;
        if (!(p = json_scan_next(p, end, ']', &closed)) || closed) return p;
        p = json_skip_ws(p, end);
    }
}

/* One tensor object: fills ft[input] and *rows. */
static const char *fast_tensor_of(const char *p, const char *end, const model *m, fast_tensor *ft,
                                  unsigned long long *seen, long *rows)
{
    int input = -1, have = 0;
    long n = -1, count = -1;
    tensor_dtype dt = DT_UNSUPPORTED;
    const char *data = NULL;
    if (p == end || *p++ != '{') return NULL;
    for (;;) {
        const char *key, *s;
        size_t len, slen;
        if (!(p = fast_key(p, end, &key, &len))) return NULL;
        if (is_key(key, len, "name") && !(have & 1)) {
            if (p == end || *p++ != '"' || !(p = json_scan_plain_string(p, end, &s, &slen))) return NULL;
            input = schema_find(&m->schema, s, slen);
            if (input < 0 || (*seen >> input & 1)) return NULL;
            have |= 1;
        } else if (is_key(key, len, "shape") && !(have & 2)) {
            if (!(p = fast_shape(p, end, &n))) return NULL;
            have |= 2;
        } else if (is_key(key, len, "datatype") && !(have & 4)) {
            if (p == end || *p++ != '"' || !(p = json_scan_plain_string(p, end, &s, &slen)) ||
                (dt = tensor_dtype_of_n(s, slen)) == DT_UNSUPPORTED)
                return NULL;
            have |= 4;
        } else if (is_key(key, len, "data") && !(have & 8)) {
            data = p; /* the syntax now, the datatype once it is known */
            if (!(p = fast_data(p, end, DT_UNSUPPORTED, &count))) return NULL;
            have |= 8;
        } else {
            return NULL; /* parameters (binary data), or anything else */
        }
        int closed;
        if (!(p = json_scan_next(p, end, '}', &closed))) return NULL;
        if (closed) break;
    }
    if (have != 15 || count != n || (*rows >= 0 && n != *rows)) return NULL; /* types: as the rows are read */
    *seen |= 1ull << input;
    *rows = n;
    ft[input].cursor = data + 1;
    ft[input].dtype = dt;
    return p;
}

/* Rows encoded into x->batch, with *id (quoted JSON text) or NULL; -1: not on the fast path. */
static long infer_fast(exchange *x, const model *m, size_t json_len, const char **id, size_t *id_len)
{
    const schema *s = &m->schema;
    const char *p = x->req->body, *end = p + json_len;
    fast_tensor ft[64];
    unsigned long long seen = 0;
    long rows = -1;
    int inputs_seen = 0;
    *id = NULL;
    if (!x->fast_paths || s->n_inputs > 64 || x->req->inference_header) return -1;
    p = json_skip_ws(p, end);
    if (p == end || *p++ != '{') return -1;
    for (;;) {
        const char *key;
        size_t len;
        if (!(p = fast_key(p, end, &key, &len))) return -1;
        if (is_key(key, len, "id") && !*id) {
            const char *text;
            size_t n;
            if (p == end || *p != '"' || !json_scan_plain_string(p + 1, end, &text, &n) || n > MAX_ID_BYTES)
                return -1;
            *id = p;
            *id_len = n + 2;
            p += n + 2;
        } else if (is_key(key, len, "inputs") && !inputs_seen++) {
            if (p == end || *p++ != '[') return -1;
            for (;;) {
                p = json_skip_ws(p, end);
                if (!(p = fast_tensor_of(p, end, m, ft, &seen, &rows))) return -1;
                int closed;
                if (!(p = json_scan_next(p, end, ']', &closed))) return -1;
                if (closed) break;
            }
        } else {
            return -1;
        }
        int closed;
        if (!(p = json_scan_next(p, end, '}', &closed))) return -1;
        if (closed) break;
    }
    if (json_skip_ws(p, end) != end || rows < 1 || rows > x->max_batch) return -1;
    /* the rows: each input's next element from its tensor, or missing */
    x->batch->m = m;
    for (long r = 0; r < rows; r++) {
        for (size_t i = 0; i < s->n_inputs; i++) {
            raw_value v = {RAW_MISSING, 0, NULL, 0, NULL};
            if (seen >> i & 1) {
                fast_tensor *t = &ft[i];
                t->cursor = json_skip_ws(t->cursor, end);
                if (!(t->cursor = fast_element(t->cursor, end, t->dtype, &v)))
                    return -1; /* not of its datatype */
                t->cursor = json_skip_ws(t->cursor, end);
                if (*t->cursor == ',') t->cursor++;
            }
            if (schema_value(&s->inputs[i], &v, "$", &x->values[i], NULL) != 0) return -1;
        }
        int bad;
        if (encode_values(m, x->values, "$", model_batch_row(x->batch, (int)r), &bad, NULL) != 0) return -1;
    }
    return rows;
}

void oip_infer(exchange *x, const repo_version *v)
{
    const model *m = v->m;
    size_t json_len;
    if (json_part(x, &json_len) != 0) return;
    const char *fast_id;
    size_t fast_id_len = 0;
    long fast_rows = infer_fast(x, m, json_len, &fast_id, &fast_id_len);
    if (fast_rows > 0) {
        if (exchange_score(x, (int)fast_rows, "$.inputs[*].data[%d]") == 0) {
            x->res->predictions = fast_rows;
            reply(x, v, fast_id, fast_id_len, fast_rows, 0);
        }
        return;
    }
    json_t *root = exchange_parse(x, x->req->body, json_len);
    if (!root) return;
    char err[ERR_LEN];
    tensor_in stack_tensors[STACK_TENSORS], *t = stack_tensors;
    const char *stack_names[STACK_TENSORS], **names = stack_names;
    int col_of[m->schema.n_inputs];
    const json_t *inputs = json_object_get(root, "inputs"), *id = json_object_get(root, "id");
    size_t n_tensors = json_array_size(inputs);
    int status = 400;
    if (!json_is_object(root)) {
        err_set(err, "$: expected an inference request object {\"inputs\": [...]}, got %s",
                json_type_name(root));
        goto fail;
    }
    if (id && (!json_is_string(id) || json_string_length(id) > MAX_ID_BYTES)) {
        err_set(err, "$.id: expected a string of up to %d bytes", MAX_ID_BYTES);
        goto fail;
    }
    if (!json_is_array(inputs) || n_tensors == 0) {
        err_set(err, "$.inputs: expected a non-empty array of tensors, got %s",
                inputs ? (json_is_array(inputs) ? "an empty array" : json_type_name(inputs)) : "nothing");
        goto fail;
    }
    if (n_tensors > m->schema.n_inputs) {
        err_set(err, "$.inputs: %zu tensors, but the model has %zu inputs", n_tensors, m->schema.n_inputs);
        goto fail;
    }
    if (n_tensors > STACK_TENSORS &&
        (!(t = malloc(n_tensors * sizeof *t)) || !(names = malloc(n_tensors * sizeof *names)))) {
        err_set(err, "out of memory for %zu tensors", n_tensors);
        status = 500;
        goto fail;
    }
    const unsigned char *bin = (const unsigned char *)x->req->body + json_len;
    size_t bin_len = x->req->body_len - json_len, bin_used = 0;
    for (size_t j = 0; j < n_tensors; j++)
        if (read_tensor(json_array_get(inputs, j), (int)j, &t[j], &names[j], bin, bin_len, &bin_used, err) !=
            0)
            goto fail;
    if (bin_used != bin_len) {
        err_set(err, "%zu bytes after the JSON header belong to no tensor (binary_data_size)",
                bin_len - bin_used);
        goto fail;
    }
    int matrix, binary = wants_binary(root, err);
    if (binary < 0) goto fail;
    long rows = match_inputs(m, names, t, (int)n_tensors, col_of, &matrix, err);
    if (rows < 0) goto fail;
    if (rows == 0) {
        err_set(err, "$.inputs: no rows (the shapes' first dimension is 0)");
        goto fail;
    }
    if (rows > x->max_batch) {
        err_set(err, "%ld rows is over the limit of %d (--max-batch)", rows, x->max_batch);
        status = 413;
        goto fail;
    }
    /* every JSON element against its tensor's datatype first, so that a wrong type
     * is reported where it is, whatever the other inputs hold (binary elements
     * are of their datatype by construction) */
    for (size_t j = 0; j < n_tensors; j++)
        for (long k = 0; !t[j].bin && k < t[j].count; k++) {
            raw_value v;
            if (tensor_get(&t[j], k, &v, (int)j, err) != 0) goto fail;
        }
    x->batch->m = m;
    for (long r = 0; r < rows; r++)
        if (encode_row(x, m, t, col_of, matrix, r, err) != 0) goto fail;
    if (exchange_score(x, (int)rows, "$.inputs[*].data[%d]") == 0) {
        char id_text[MAX_ID_BYTES * 6 + 8];
        size_t id_len = id ? json_dumpb(id, id_text, sizeof id_text, JSON_ENCODE_ANY | JSON_COMPACT) : 0;
        x->res->predictions = rows;
        reply(x, v, id ? id_text : NULL, id_len, rows, binary);
    }
    goto done;
fail:
    exchange_error(x, status, "%s", err);
done:
    if (t != stack_tensors) free(t);
    if (names != stack_names) free(names);
    json_decref(root);
}
