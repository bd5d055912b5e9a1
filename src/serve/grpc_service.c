/* grpc_service — each gRPC method as the REST request that means the same
 * (grpc_service.h). Messages are protobuf-c's, generated at build time from
 * proto/inference.proto and proto/health.proto. */
#define _POSIX_C_SOURCE 200809L
#include "serve/grpc_service.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.pb-c.h"
#include "inference.pb-c.h"

#define SERVICE "/inference.GRPCInferenceService/"
#define HEALTH  "/grpc.health.v1.Health/"

/* ---- the answer ---------------------------------------------------------- */

static void fail(grpc_reply *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(grpc_reply *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    r->code = code;
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

/* The response message, serialized into r. */
static void answer(grpc_reply *r, const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (!(r->body = malloc(n ? n : 1))) {
        fail(r, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    r->len = protobuf_c_message_pack(msg, r->body);
    r->code = GRPC_OK;
}

void grpc_reply_free(grpc_reply *r)
{
    free(r->body);
    r->body = NULL;
}

/* The REST status's gRPC code (the mapping of grpc_service.h). */
static int code_of(int status)
{
    switch (status) {
    case 200: return GRPC_OK;
    case 400:
    case 415: return GRPC_INVALID_ARGUMENT;
    case 403: return GRPC_FAILED_PRECONDITION;
    case 404: return GRPC_NOT_FOUND;
    case 405: return GRPC_UNIMPLEMENTED;
    case 408: return GRPC_DEADLINE_EXCEEDED;
    case 413: return GRPC_RESOURCE_EXHAUSTED;
    case 503: return GRPC_UNAVAILABLE;
    case 500: return GRPC_INTERNAL;
    default: return GRPC_UNKNOWN;
    }
}

/* ---- the REST side ------------------------------------------------------- */

typedef struct {
    api *a;
    grpc_reply *r;
    api_response res;
} call;

/* One REST request through api_handle; res holds its answer. */
static int rest(call *c, const char *method, const char *path, const char *body, size_t len,
                const char *inference_header)
{
    api_request req = {.method = method,
                       .path = path,
                       .content_type = "application/json",
                       .body = body,
                       .body_len = len,
                       .inference_header = inference_header};
    api_handle(c->a, &req, &c->res);
    c->r->model_slot = c->res.model_slot;
    c->r->http_status = c->res.status;
    c->r->predictions = c->res.predictions;
    return c->res.status;
}

/* A REST error as the call's status: the protocols' {"error": "..."}
 * message (the house shape's error.message elsewhere). */
static void rest_error(call *c)
{
    json_t *root = json_loadb(c->res.body, c->res.body_len, 0, NULL);
    json_t *e = json_object_get(root, "error");
    const char *msg = json_is_string(e) ? json_string_value(e)
                      : json_is_string(json_object_get(e, "message"))
                          ? json_string_value(json_object_get(e, "message"))
                          : "the request failed";
    fail(c->r, code_of(c->res.status), "%s", msg);
    json_decref(root);
}

/* The REST path of a model (and version): NULL and INVALID_ARGUMENT or
 * NOT_FOUND when the names cannot be one (a name never holds '/'). */
static const char *model_path(call *c, char *out, size_t cap, const char *name, const char *version,
                              const char *suffix)
{
    if (!name || !*name) return fail(c->r, GRPC_INVALID_ARGUMENT, "name: a model name is required"), NULL;
    if (strchr(name, '/') || strlen(name) > 256)
        return fail(c->r, GRPC_NOT_FOUND, "no model named \"%.64s\"", name), NULL;
    if (version && strchr(version, '/'))
        return fail(c->r, GRPC_NOT_FOUND, "model \"%.64s\" has no version \"%.32s\"", name, version), NULL;
    if (version && *version)
        snprintf(out, cap, "/v2/models/%s/versions/%s%s", name, version, suffix);
    else
        snprintf(out, cap, "/v2/models/%s%s", name, suffix);
    return out;
}

/* ---- JSON documents into messages ---------------------------------------- */

/* Fills msg from the REST side's JSON document, member by member by the
 * field's name (the REST documents are the messages' JSON forms); members
 * without a field are skipped. 0, or -1 with the member's path in err. */
static int from_json(ProtobufCMessage *msg, const json_t *obj, const char *path, char *err, size_t cap);

static size_t element_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM: return 4;
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    default: return 8;
    }
}

/* One value of field f at `at`. */
static int value_from_json(const ProtobufCFieldDescriptor *f, void *at, const json_t *v, const char *path,
                           char *err, size_t cap)
{
    int integral = json_is_integer(v);
    json_int_t i = integral ? json_integer_value(v) : 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (!integral) break;
        *(int32_t *)at = (int32_t)i;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (!integral || i < 0) break;
        *(uint32_t *)at = (uint32_t)i;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (!integral) break;
        *(int64_t *)at = (int64_t)i;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (!integral || i < 0) break;
        *(uint64_t *)at = (uint64_t)i;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
        if (!json_is_number(v)) break;
        *(float *)at = (float)json_number_value(v);
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!json_is_number(v)) break;
        *(double *)at = json_number_value(v);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v)) break;
        *(protobuf_c_boolean *)at = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *e =
            json_is_string(v)
                ? protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, json_string_value(v))
                : NULL;
        if (!e) break;
        *(int *)at = e->value;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING: {
        if (!json_is_string(v)) break;
        char *s = strdup(json_string_value(v));
        if (!s) return snprintf(err, cap, "out of memory"), -1;
        *(char **)at = s;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        if (!json_is_string(v)) break;
        size_t n = json_string_length(v);
        uint8_t *b = malloc(n ? n : 1);
        if (!b) return snprintf(err, cap, "out of memory"), -1;
        memcpy(b, json_string_value(v), n);
        *(ProtobufCBinaryData *)at = (ProtobufCBinaryData){n, b};
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *d = f->descriptor;
        if (!json_is_object(v)) break;
        ProtobufCMessage *sub = calloc(1, d->sizeof_message);
        if (!sub) return snprintf(err, cap, "out of memory"), -1;
        protobuf_c_message_init(d, sub);
        *(ProtobufCMessage **)at = sub;
        return from_json(sub, v, path, err, cap);
    }
    }
    snprintf(err, cap, "%.200s: not a value of the message's field", path);
    return -1;
}

static int from_json(ProtobufCMessage *msg, const json_t *obj, const char *path, char *err, size_t cap)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
        if (!f || json_is_null(v)) continue;
        char sub[256];
        snprintf(sub, sizeof sub, "%s.%s", path, key);
        char *base = (char *)msg;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (!json_is_array(v)) return snprintf(err, cap, "%.200s: expected an array", sub), -1;
            size_t n = json_array_size(v), size = element_size(f);
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor &&
                ((const ProtobufCMessageDescriptor *)f->descriptor)->n_fields == 2 &&
                strstr(((const ProtobufCMessageDescriptor *)f->descriptor)->name, "Entry"))
                continue; /* a map: none of the REST documents fill one */
            char *array = calloc(n ? n : 1, size);
            if (!array) return snprintf(err, cap, "out of memory"), -1;
            *(void **)(base + f->offset) = array;
            *(size_t *)(base + f->quantifier_offset) = n;
            for (size_t k = 0; k < n; k++)
                if (value_from_json(f, array + k * size, json_array_get(v, k), sub, err, cap) != 0) return -1;
            continue;
        }
        if (value_from_json(f, base + f->offset, v, sub, err, cap) != 0) return -1;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            *(uint32_t *)(base + f->quantifier_offset) = f->id;
        else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset)
            *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
    }
    return 0;
}

/* A GET whose JSON answer is the response message (or fills `field` of it). */
static void get_document(call *c, const char *path, const ProtobufCMessageDescriptor *d, const char *field)
{
    if (rest(c, "GET", path, NULL, 0, NULL) != 200) {
        rest_error(c);
        return;
    }
    json_t *doc = json_loadb(c->res.body, c->res.body_len, 0, NULL);
    ProtobufCMessage *msg = calloc(1, d->sizeof_message);
    char err[256] = "";
    if (!doc || !msg) {
        fail(c->r, GRPC_INTERNAL, "the answer could not be read");
    } else {
        protobuf_c_message_init(d, msg);
        int rc;
        if (field) { /* {field: document} */
            json_t *wrap = json_pack("{s:O}", field, doc);
            rc = wrap ? from_json(msg, wrap, "$", err, sizeof err) : -1;
            json_decref(wrap);
        } else {
            rc = from_json(msg, doc, "$", err, sizeof err);
        }
        if (rc != 0)
            fail(c->r, GRPC_INTERNAL, "the answer does not fit the message: %s", err);
        else
            answer(c->r, msg);
    }
    if (msg) protobuf_c_message_free_unpacked(msg, NULL);
    json_decref(doc);
}

/* ---- the methods ---------------------------------------------------------- */

static void server_live(call *c)
{
    Inference__ServerLiveResponse out = INFERENCE__SERVER_LIVE_RESPONSE__INIT;
    out.live = rest(c, "GET", "/v2/health/live", NULL, 0, NULL) == 200;
    answer(c->r, &out.base);
}

static void server_ready(call *c)
{
    Inference__ServerReadyResponse out = INFERENCE__SERVER_READY_RESPONSE__INIT;
    out.ready = rest(c, "GET", "/v2/health/ready", NULL, 0, NULL) == 200;
    answer(c->r, &out.base);
}

static void model_ready(call *c, const Inference__ModelReadyRequest *in)
{
    char path[640];
    if (!model_path(c, path, sizeof path, in->name, in->version, "/ready")) return;
    int status = rest(c, "GET", path, NULL, 0, NULL);
    if (status != 200 && status != 503) {
        rest_error(c);
        return;
    }
    Inference__ModelReadyResponse out = INFERENCE__MODEL_READY_RESPONSE__INIT;
    out.ready = status == 200;
    answer(c->r, &out.base);
}

static void model_metadata(call *c, const Inference__ModelMetadataRequest *in)
{
    char path[640];
    if (model_path(c, path, sizeof path, in->name, in->version, ""))
        get_document(c, path, &inference__model_metadata_response__descriptor, NULL);
}

static void model_config(call *c, const Inference__ModelConfigRequest *in)
{
    char path[640];
    if (model_path(c, path, sizeof path, in->name, in->version, "/config"))
        get_document(c, path, &inference__model_config_response__descriptor, "config");
}

static void model_statistics(call *c, const Inference__ModelStatisticsRequest *in)
{
    char path[640];
    if (!in->name || !*in->name) /* every model's */
    {
        get_document(c, "/v2/models/stats", &inference__model_statistics_response__descriptor, NULL);
        return;
    }
    if (model_path(c, path, sizeof path, in->name, in->version, "/stats"))
        get_document(c, path, &inference__model_statistics_response__descriptor, NULL);
}

static void repository_index(call *c, const Inference__RepositoryIndexRequest *in)
{
    const char *body = in->ready ? "{\"ready\":true}" : "{}";
    if (rest(c, "POST", "/v2/repository/index", body, strlen(body), NULL) != 200) {
        rest_error(c);
        return;
    }
    json_t *list = json_loadb(c->res.body, c->res.body_len, 0, NULL);
    json_t *doc = json_pack("{s:o}", "models", list); /* REST answers the array alone */
    Inference__RepositoryIndexResponse *out = calloc(1, sizeof *out);
    char err[256] = "";
    if (!doc || !out) {
        fail(c->r, GRPC_INTERNAL, "the answer could not be read");
    } else {
        inference__repository_index_response__init(out);
        if (from_json(&out->base, doc, "$", err, sizeof err) != 0)
            fail(c->r, GRPC_INTERNAL, "the answer does not fit the message: %s", err);
        else
            answer(c->r, &out->base);
    }
    if (out) protobuf_c_message_free_unpacked(&out->base, NULL);
    json_decref(doc);
}

static void repository_model(call *c, const char *model_name, int load)
{
    char path[640];
    if (!model_name || !*model_name) {
        fail(c->r, GRPC_INVALID_ARGUMENT, "model_name: a model name is required");
        return;
    }
    if (strchr(model_name, '/') || strlen(model_name) > 256) {
        fail(c->r, GRPC_NOT_FOUND, "no model named \"%.64s\"", model_name);
        return;
    }
    snprintf(path, sizeof path, "/v2/repository/models/%s/%s", model_name, load ? "load" : "unload");
    if (rest(c, "POST", path, NULL, 0, NULL) != 200) {
        rest_error(c);
        return;
    }
    Inference__RepositoryModelLoadResponse out = INFERENCE__REPOSITORY_MODEL_LOAD_RESPONSE__INIT;
    answer(c->r, &out.base); /* both responses are empty messages */
}

static void health_check(call *c, const Grpc__Health__V1__HealthCheckRequest *in)
{
    /* the server as a whole (""), or the inference service by its name */
    if (in->service && *in->service && strcmp(in->service, "inference.GRPCInferenceService") != 0) {
        fail(c->r, GRPC_NOT_FOUND, "unknown service \"%.64s\"", in->service);
        return;
    }
    Grpc__Health__V1__HealthCheckResponse out = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    out.status = rest(c, "GET", "/v2/health/ready", NULL, 0, NULL) == 200
                     ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                     : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    answer(c->r, &out.base);
}

/* ---- ModelInfer through the binary tensor extension ----------------------- */

typedef struct {
    char *p;
    size_t len, cap;
} bytes;

static int put_bytes(bytes *b, const void *src, size_t n)
{
    if (n == 0) return 0; /* src may be NULL (an empty repeated field) */
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
    return 0;
}

static int contents_used(const Inference__InferTensorContents *t)
{
    return t && (t->n_bool_contents || t->n_int_contents || t->n_int64_contents || t->n_uint_contents ||
                 t->n_uint64_contents || t->n_fp32_contents || t->n_fp64_contents || t->n_bytes_contents);
}

/* An integer of `width` bytes, signed or not, little-endian: refused out of range. */
static int put_int(bytes *b, long long v, int width, int is_signed)
{
    long long lo = is_signed ? -(1LL << (8 * width - 1)) : 0;
    long long hi =
        is_signed ? (1LL << (8 * width - 1)) - 1 : (width == 4 ? 0xffffffffLL : (1LL << (8 * width)) - 1);
    if (v < lo || v > hi) return 1;
    unsigned char le[4];
    for (int k = 0; k < width; k++) le[k] = (unsigned char)((unsigned long long)v >> (8 * k));
    return put_bytes(b, le, (size_t)width) ? -1 : 0;
}

/* Input i's typed contents as the binary form's bytes (little-endian; BYTES
 * elements each after a 4-byte length). 0, or -1 having failed the call. */
static int pack_contents(call *c, size_t i, const Inference__ModelInferRequest__InferInputTensor *t, bytes *b)
{
    const Inference__InferTensorContents *in = t->contents;
    const char *dt = t->datatype ? t->datatype : "";
    static const struct {
        const char *type;
        int width, is_signed;
        const char *field;
    } ints[] = {{"INT8", 1, 1, "int_contents"},    {"INT16", 2, 1, "int_contents"},
                {"INT32", 4, 1, "int_contents"},   {"UINT8", 1, 0, "uint_contents"},
                {"UINT16", 2, 0, "uint_contents"}, {"UINT32", 4, 0, "uint_contents"}};
    size_t expected_n = 0;
    const char *field = NULL;
    for (size_t k = 0; k < sizeof ints / sizeof *ints; k++) {
        if (strcmp(dt, ints[k].type) != 0) continue;
        field = ints[k].field;
        size_t n = ints[k].is_signed ? in->n_int_contents : in->n_uint_contents;
        expected_n = n;
        for (size_t e = 0; e < n; e++) {
            long long v = ints[k].is_signed ? in->int_contents[e] : (long long)in->uint_contents[e];
            int rc = put_int(b, v, ints[k].width, ints[k].is_signed);
            if (rc > 0)
                return fail(c->r, GRPC_INVALID_ARGUMENT,
                            "inputs[%zu].contents.%s[%zu]: %lld is out of the range of %s", i, field, e, v,
                            dt),
                       -1;
            if (rc < 0) return fail(c->r, GRPC_RESOURCE_EXHAUSTED, "out of memory"), -1;
        }
    }
    int rc = 0;
    if (field) {
    } else if (strcmp(dt, "BOOL") == 0) {
        field = "bool_contents";
        expected_n = in->n_bool_contents;
        for (size_t e = 0; e < in->n_bool_contents && !rc; e++) {
            unsigned char v = in->bool_contents[e] ? 1 : 0;
            rc = put_bytes(b, &v, 1);
        }
    } else if (strcmp(dt, "INT64") == 0) {
        field = "int64_contents";
        expected_n = in->n_int64_contents;
        rc = put_bytes(b, in->int64_contents, in->n_int64_contents * sizeof(int64_t));
    } else if (strcmp(dt, "UINT64") == 0) {
        field = "uint64_contents";
        expected_n = in->n_uint64_contents;
        rc = put_bytes(b, in->uint64_contents, in->n_uint64_contents * sizeof(uint64_t));
    } else if (strcmp(dt, "FP32") == 0) {
        field = "fp32_contents";
        expected_n = in->n_fp32_contents;
        rc = put_bytes(b, in->fp32_contents, in->n_fp32_contents * sizeof(float));
    } else if (strcmp(dt, "FP64") == 0) {
        field = "fp64_contents";
        expected_n = in->n_fp64_contents;
        rc = put_bytes(b, in->fp64_contents, in->n_fp64_contents * sizeof(double));
    } else if (strcmp(dt, "BYTES") == 0) {
        field = "bytes_contents";
        expected_n = in->n_bytes_contents;
        for (size_t e = 0; e < in->n_bytes_contents && !rc; e++) {
            uint32_t n = (uint32_t)in->bytes_contents[e].len;
            unsigned char le[4] = {(unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16),
                                   (unsigned char)(n >> 24)};
            rc = put_bytes(b, le, 4) || put_bytes(b, in->bytes_contents[e].data, n);
        }
    } else {
        return fail(c->r, GRPC_INVALID_ARGUMENT,
                    "inputs[%zu].datatype: %.32s has no typed contents; send it in raw_input_contents", i,
                    dt),
               -1;
    }
    if (rc) return fail(c->r, GRPC_RESOURCE_EXHAUSTED, "out of memory"), -1;
    /* the elements must be in the datatype's own field: any other is a mistake */
    size_t all = in->n_bool_contents + in->n_int_contents + in->n_int64_contents + in->n_uint_contents +
                 in->n_uint64_contents + in->n_fp32_contents + in->n_fp64_contents + in->n_bytes_contents;
    if (all != expected_n)
        return fail(c->r, GRPC_INVALID_ARGUMENT,
                    "inputs[%zu].contents: a %s tensor's elements go in %s, and only there", i, dt, field),
               -1;
    return 0;
}

/* JSON text into a byte buffer: a string escaped as JSON wants it (bytes
 * that are not UTF-8 pass through: the REST parser then refuses them, naming
 * where), and numbers. */
static int put_text(bytes *b, const char *s) { return put_bytes(b, s, strlen(s)); }

static int put_json_string(bytes *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (put_bytes(b, "\"", 1)) return -1;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
        int rc = *p == '"' || *p == '\\' ? put_bytes(b, esc, 1) || put_bytes(b, p, 1)
                 : *p < 0x20             ? put_bytes(b, esc, 6)
                                         : put_bytes(b, p, 1);
        if (rc) return -1;
    }
    return put_bytes(b, "\"", 1);
}

static int put_long(bytes *b, long long v)
{
    char num[24];
    return put_bytes(b, num, (size_t)snprintf(num, sizeof num, "%lld", v));
}

/* The REST request's JSON header for the call into head; typed inputs packed
 * into b (raw ones only counted in b->len: model_infer copies them into the
 * body once). 0, or -1 having failed the call. */
static int infer_header(call *c, const Inference__ModelInferRequest *in, bytes *head, bytes *b)
{
    if (in->n_raw_input_contents && in->n_raw_input_contents != in->n_inputs) {
        fail(c->r, GRPC_INVALID_ARGUMENT,
             "raw_input_contents: %zu entries for %zu inputs (one each, in order)", in->n_raw_input_contents,
             in->n_inputs);
        return -1;
    }
    int rc = put_text(head, "{");
    if (in->id && *in->id)
        rc = rc || put_text(head, "\"id\":") || put_json_string(head, in->id) || put_text(head, ",");
    rc = rc || put_text(head, "\"inputs\":[");
    for (size_t i = 0; i < in->n_inputs && !rc; i++) {
        const Inference__ModelInferRequest__InferInputTensor *t = in->inputs[i];
        if (contents_used(t->contents) && in->n_raw_input_contents) {
            fail(c->r, GRPC_INVALID_ARGUMENT,
                 "inputs[%zu]: both contents and raw_input_contents; send one form for every input", i);
            return -1;
        }
        size_t before = b->len;
        if (in->n_raw_input_contents)
            b->len += in->raw_input_contents[i].len;
        else if (t->contents && pack_contents(c, i, t, b) != 0)
            return -1;
        rc = (i && put_text(head, ",")) || put_text(head, "{\"name\":") || put_json_string(head, t->name) ||
             put_text(head, ",\"datatype\":") || put_json_string(head, t->datatype) ||
             put_text(head, ",\"shape\":[");
        for (size_t k = 0; k < t->n_shape && !rc; k++)
            rc = (k && put_text(head, ",")) || put_long(head, (long long)t->shape[k]);
        rc = rc || put_text(head, "],\"parameters\":{\"binary_data_size\":") ||
             put_long(head, (long long)(b->len - before)) || put_text(head, "}}");
    }
    rc = rc || put_text(head, "]");
    if (in->n_outputs) { /* the outputs asked for, each as raw bytes */
        rc = rc || put_text(head, ",\"outputs\":[");
        for (size_t k = 0; k < in->n_outputs && !rc; k++)
            rc = (k && put_text(head, ",")) || put_text(head, "{\"name\":") ||
                 put_json_string(head, in->outputs[k]->name) ||
                 put_text(head, ",\"parameters\":{\"binary_data\":true}}");
        rc = rc || put_text(head, "]");
    } else {
        rc = rc || put_text(head, ",\"parameters\":{\"binary_data_output\":true}");
    }
    if (rc || put_text(head, "}")) {
        fail(c->r, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return -1;
    }
    return 0;
}

/* The REST answer (a JSON header, then each output's raw floats) as the
 * response: raw_output_contents when the request came raw, else typed. */
static void infer_response(call *c, int raw)
{
    long head = c->res.inference_header_len;
    json_error_t je;
    json_t *doc =
        head > 0 && (size_t)head <= c->res.body_len ? json_loadb(c->res.body, (size_t)head, 0, &je) : NULL;
    json_t *outs = json_object_get(doc, "outputs");
    size_t n_out = json_array_size(outs);
    Inference__ModelInferResponse out = INFERENCE__MODEL_INFER_RESPONSE__INIT;
    Inference__ModelInferResponse__InferOutputTensor *tensors = calloc(n_out ? n_out : 1, sizeof *tensors);
    Inference__ModelInferResponse__InferOutputTensor **tp = calloc(n_out ? n_out : 1, sizeof *tp);
    Inference__InferTensorContents *contents = calloc(n_out ? n_out : 1, sizeof *contents);
    ProtobufCBinaryData *rawv = calloc(n_out ? n_out : 1, sizeof *rawv);
    int64_t *shapes = calloc(n_out * 8 + 1, sizeof *shapes);
    if (!doc || !json_is_array(outs) || !tensors || !tp || !contents || !rawv || !shapes) {
        fail(c->r, GRPC_INTERNAL, "the answer could not be read");
        goto done;
    }
    out.model_name = (char *)json_string_value(json_object_get(doc, "model_name"));
    out.model_version = (char *)json_string_value(json_object_get(doc, "model_version"));
    out.id = (char *)json_string_value(json_object_get(doc, "id"));
    if (!out.model_name) out.model_name = "";
    if (!out.model_version) out.model_version = "";
    if (!out.id) out.id = "";
    const char *data = c->res.body + head;
    size_t left = c->res.body_len - (size_t)head;
    for (size_t k = 0; k < n_out; k++) {
        json_t *o = json_array_get(outs, k), *shape = json_object_get(o, "shape");
        size_t size =
            (size_t)json_integer_value(json_object_get(json_object_get(o, "parameters"), "binary_data_size"));
        if (size > left || json_array_size(shape) > 8) {
            fail(c->r, GRPC_INTERNAL, "the answer could not be read");
            goto done;
        }
        inference__model_infer_response__infer_output_tensor__init(&tensors[k]);
        tensors[k].name = (char *)json_string_value(json_object_get(o, "name"));
        tensors[k].datatype = (char *)json_string_value(json_object_get(o, "datatype"));
        tensors[k].n_shape = json_array_size(shape);
        tensors[k].shape = shapes + 8 * k;
        for (size_t d = 0; d < tensors[k].n_shape; d++)
            tensors[k].shape[d] = (int64_t)json_integer_value(json_array_get(shape, d));
        if (raw) {
            rawv[k] = (ProtobufCBinaryData){size, (uint8_t *)data};
        } else { /* FP32, the only output datatype: the floats' bytes as they are */
            inference__infer_tensor_contents__init(&contents[k]);
            contents[k].n_fp32_contents = size / sizeof(float);
            contents[k].fp32_contents = malloc(size ? size : 1);
            if (!contents[k].fp32_contents) {
                fail(c->r, GRPC_RESOURCE_EXHAUSTED, "out of memory");
                goto done;
            }
            memcpy(contents[k].fp32_contents, data, size);
            tensors[k].contents = &contents[k];
        }
        tp[k] = &tensors[k];
        data += size;
        left -= size;
    }
    out.n_outputs = n_out;
    out.outputs = tp;
    if (raw) {
        out.n_raw_output_contents = n_out;
        out.raw_output_contents = rawv;
    }
    answer(c->r, &out.base);
done:
    for (size_t k = 0; contents && k < n_out; k++) free(contents[k].fp32_contents);
    free(contents);
    free(tensors);
    free(tp);
    free(rawv);
    free(shapes);
    json_decref(doc);
}

static void model_infer(call *c, const Inference__ModelInferRequest *in)
{
    char path[640];
    if (!model_path(c, path, sizeof path, in->model_name, in->model_version, "/infer")) return;
    bytes head = {0}, b = {0};
    if (infer_header(c, in, &head, &b) == 0) {
        /* the body: the header, then the binary part (raw inputs copied once, from the request) */
        size_t head_len = head.len, total = head_len + b.len;
        char *body = realloc(head.p, total ? total : 1);
        if (!body) {
            fail(c->r, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        } else {
            head.p = body;
            if (in->n_raw_input_contents)
                for (size_t i = 0, at = head_len; i < in->n_raw_input_contents; i++) {
                    if (in->raw_input_contents[i].len)
                        memcpy(body + at, in->raw_input_contents[i].data, in->raw_input_contents[i].len);
                    at += in->raw_input_contents[i].len;
                }
            else if (b.len)
                memcpy(body + head_len, b.p, b.len);
            char head_text[24];
            snprintf(head_text, sizeof head_text, "%zu", head_len);
            if (rest(c, "POST", path, body, total, head_text) == 200)
                infer_response(c, in->n_raw_input_contents > 0);
            else
                rest_error(c);
        }
    }
    free(head.p);
    free(b.p);
}

/* ---- dispatch ------------------------------------------------------------ */

static const struct {
    const char *path;
    grpc_method method;
    const ProtobufCMessageDescriptor *request;
} methods[] = {
    {SERVICE "ServerLive", GRPC_SERVER_LIVE, &inference__server_live_request__descriptor},
    {SERVICE "ServerReady", GRPC_SERVER_READY, &inference__server_ready_request__descriptor},
    {SERVICE "ModelReady", GRPC_MODEL_READY, &inference__model_ready_request__descriptor},
    {SERVICE "ServerMetadata", GRPC_SERVER_METADATA, &inference__server_metadata_request__descriptor},
    {SERVICE "ModelMetadata", GRPC_MODEL_METADATA, &inference__model_metadata_request__descriptor},
    {SERVICE "ModelInfer", GRPC_MODEL_INFER, &inference__model_infer_request__descriptor},
    {SERVICE "ModelConfig", GRPC_MODEL_CONFIG, &inference__model_config_request__descriptor},
    {SERVICE "ModelStatistics", GRPC_MODEL_STATISTICS, &inference__model_statistics_request__descriptor},
    {SERVICE "RepositoryIndex", GRPC_REPOSITORY_INDEX, &inference__repository_index_request__descriptor},
    {SERVICE "RepositoryModelLoad", GRPC_REPOSITORY_MODEL_LOAD,
     &inference__repository_model_load_request__descriptor},
    {SERVICE "RepositoryModelUnload", GRPC_REPOSITORY_MODEL_UNLOAD,
     &inference__repository_model_unload_request__descriptor},
    {HEALTH "Check", GRPC_HEALTH_CHECK, &grpc__health__v1__health_check_request__descriptor},
};
#define N_METHODS (sizeof methods / sizeof *methods)

grpc_method grpc_method_of(const char *path)
{
    for (size_t i = 0; path && i < N_METHODS; i++)
        if (strcmp(path, methods[i].path) == 0) return methods[i].method;
    return GRPC_OTHER;
}

void grpc_call(api *a, const char *path, const uint8_t *msg, size_t len, grpc_reply *out)
{
    *out = (grpc_reply){.code = GRPC_OK, .model_slot = -1};
    out->method = grpc_method_of(path);
    size_t i = 0;
    while (i < N_METHODS && methods[i].method != out->method) i++;
    if (i == N_METHODS) {
        fail(out, GRPC_UNIMPLEMENTED, "tabserve does not serve the method %.200s", path ? path : "");
        return;
    }
    ProtobufCMessage *in = protobuf_c_message_unpack(methods[i].request, NULL, len, msg);
    if (!in) {
        fail(out, GRPC_INVALID_ARGUMENT, "the request is not a valid %s message", methods[i].request->name);
        return;
    }
    call c = {.a = a, .r = out};
    switch (out->method) {
    case GRPC_SERVER_LIVE: server_live(&c); break;
    case GRPC_SERVER_READY: server_ready(&c); break;
    case GRPC_MODEL_READY: model_ready(&c, (const Inference__ModelReadyRequest *)in); break;
    case GRPC_SERVER_METADATA:
        get_document(&c, "/v2", &inference__server_metadata_response__descriptor, NULL);
        break;
    case GRPC_MODEL_METADATA: model_metadata(&c, (const Inference__ModelMetadataRequest *)in); break;
    case GRPC_MODEL_INFER: model_infer(&c, (const Inference__ModelInferRequest *)in); break;
    case GRPC_MODEL_CONFIG: model_config(&c, (const Inference__ModelConfigRequest *)in); break;
    case GRPC_MODEL_STATISTICS: model_statistics(&c, (const Inference__ModelStatisticsRequest *)in); break;
    case GRPC_REPOSITORY_INDEX: repository_index(&c, (const Inference__RepositoryIndexRequest *)in); break;
    case GRPC_REPOSITORY_MODEL_LOAD:
        repository_model(&c, ((const Inference__RepositoryModelLoadRequest *)in)->model_name, 1);
        break;
    case GRPC_REPOSITORY_MODEL_UNLOAD:
        repository_model(&c, ((const Inference__RepositoryModelUnloadRequest *)in)->model_name, 0);
        break;
    case GRPC_HEALTH_CHECK: health_check(&c, (const Grpc__Health__V1__HealthCheckRequest *)in); break;
    default: fail(out, GRPC_UNIMPLEMENTED, "tabserve does not serve the method %.200s", path); break;
    }
    protobuf_c_message_free_unpacked(in, NULL);
}
