/* grpc_service: each gRPC method answered by api_handle, without a socket.
 * ModelInfer's numbers against the REST binary answer for the same rows, bit
 * for bit; the errors as status codes with the REST messages; the messages
 * built and read with protobuf-c from proto/inference.proto. The transport
 * (grpc.c) is tested end to end in test_grpc.py and fuzzed by fuzz_grpc. */
#include "guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "base/err.h"
#include "health.pb-c.h"
#include "inference.pb-c.h"
#include "serve/docs.h"
#include "serve/api.h"
#include "serve/grpc_service.h"
#include "serve/repository.h"

#define SERVICE "/inference.GRPCInferenceService/"

static repository *repo; /* the built-in model, served as "model" version 1 */
static api *the_api;

static int setup(void **state)
{
    (void)state;
    char err[ERR_LEN];
    repository_options o = {
        .versions_kept = 1, .limits = IMPORT_LIMITS_DEFAULT, .describe = docs_render, .forget = docs_forget};
    api_options ao = {.max_batch = 4, .max_body = 1 << 20};
    if (!(repo = repository_load(&o, NULL, err)) || !(the_api = api_create(repo, &ao, err))) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    api_free(the_api);
    repository_free(repo);
    return 0;
}

/* Calls path with msg packed; the reply (free with grpc_reply_free). */
static grpc_reply call(const char *path, const ProtobufCMessage *msg)
{
    size_t n = msg ? protobuf_c_message_get_packed_size(msg) : 0;
    uint8_t *buf = malloc(n ? n : 1);
    if (msg) protobuf_c_message_pack(msg, buf);
    grpc_reply r;
    grpc_call(the_api, path, buf, n, &r);
    free(buf);
    return r;
}

/* The seed's passenger (and a second one) as typed tensors of `rows` rows. */
typedef struct {
    Inference__ModelInferRequest req;
    Inference__ModelInferRequest__InferInputTensor t[5], *tp[5];
    Inference__InferTensorContents c[5];
    float age[5], fare[5];
    int64_t pclass[5], shape[1];
    ProtobufCBinaryData sex[5], embarked[5];
} passengers;

static void passengers_init(passengers *p, size_t rows)
{
    static const char *names[5] = {"Age", "Fare", "Sex", "Embarked", "Pclass"};
    static const char *types[5] = {"FP32", "FP32", "BYTES", "BYTES", "INT64"};
    inference__model_infer_request__init(&p->req);
    p->req.model_name = "model";
    for (int r = 0; r < 5; r++) { /* the seed's passenger, then a first-class woman, in turn */
        int even = r % 2 == 0;
        p->age[r] = even ? 22 : 38;
        p->fare[r] = even ? 7.25f : 71.2833f;
        p->pclass[r] = even ? 3 : 1;
        p->sex[r] = even ? (ProtobufCBinaryData){4, (uint8_t *)"male"}
                         : (ProtobufCBinaryData){6, (uint8_t *)"female"};
        p->embarked[r] = (ProtobufCBinaryData){1, (uint8_t *)(even ? "S" : "C")};
    }
    p->shape[0] = (int64_t)rows;
    for (int i = 0; i < 5; i++) {
        inference__model_infer_request__infer_input_tensor__init(&p->t[i]);
        inference__infer_tensor_contents__init(&p->c[i]);
        p->t[i].name = (char *)names[i];
        p->t[i].datatype = (char *)types[i];
        p->t[i].n_shape = 1;
        p->t[i].shape = p->shape;
        p->t[i].contents = &p->c[i];
        p->tp[i] = &p->t[i];
    }
    p->c[0].n_fp32_contents = rows, p->c[0].fp32_contents = p->age;
    p->c[1].n_fp32_contents = rows, p->c[1].fp32_contents = p->fare;
    p->c[2].n_bytes_contents = rows, p->c[2].bytes_contents = p->sex;
    p->c[3].n_bytes_contents = rows, p->c[3].bytes_contents = p->embarked;
    p->c[4].n_int64_contents = rows, p->c[4].int64_contents = p->pclass;
    p->req.n_inputs = 5;
    p->req.inputs = p->tp;
}

static void test_model_infer_is_the_rest_answer_bit_for_bit(void **state)
{
    (void)state;
    passengers p;
    passengers_init(&p, 2);
    p.req.id = "grpc-1";
    grpc_reply r = call(SERVICE "ModelInfer", &p.req.base);
    assert_int_equal(r.code, GRPC_OK);
    assert_int_equal(r.method, GRPC_MODEL_INFER);
    assert_int_equal(r.predictions, 2);
    Inference__ModelInferResponse *out = inference__model_infer_response__unpack(NULL, r.len, r.body);
    assert_non_null(out);
    assert_string_equal(out->model_name, "model");
    assert_string_equal(out->model_version, "1");
    assert_string_equal(out->id, "grpc-1");
    assert_int_equal(out->n_outputs, 1);
    assert_string_equal(out->outputs[0]->datatype, "FP32");
    assert_int_equal(out->outputs[0]->n_shape, 1);
    assert_int_equal(out->outputs[0]->shape[0], 2);
    assert_int_equal(out->n_raw_output_contents, 0); /* typed in, typed out */
    assert_int_equal(out->outputs[0]->contents->n_fp32_contents, 2);
    float got[2];
    memcpy(got, out->outputs[0]->contents->fp32_contents, sizeof got);
    inference__model_infer_response__free_unpacked(out, NULL);
    grpc_reply_free(&r);

    /* the same rows through REST's binary extension */
    const char *body =
        "{\"inputs\":["
        "{\"name\":\"Age\",\"datatype\":\"FP32\",\"shape\":[2],\"data\":[22,38]},"
        "{\"name\":\"Fare\",\"datatype\":\"FP32\",\"shape\":[2],\"data\":[7.25,71.2833]},"
        "{\"name\":\"Sex\",\"datatype\":\"BYTES\",\"shape\":[2],\"data\":[\"male\",\"female\"]},"
        "{\"name\":\"Embarked\",\"datatype\":\"BYTES\",\"shape\":[2],\"data\":[\"S\",\"C\"]},"
        "{\"name\":\"Pclass\",\"datatype\":\"INT64\",\"shape\":[2],\"data\":[3,1]}],"
        "\"parameters\":{\"binary_data_output\":true}}";
    api_request req = {.method = "POST",
                       .path = "/v2/models/model/infer",
                       .content_type = "application/json",
                       .body = body,
                       .body_len = strlen(body)};
    api_response res;
    api_handle(the_api, &req, &res);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.body_len - (size_t)res.inference_header_len, sizeof got);
    assert_memory_equal(res.body + res.inference_header_len, got, sizeof got);
}

static void test_raw_input_contents_answer_raw(void **state)
{
    (void)state;
    Inference__ModelInferRequest req = INFERENCE__MODEL_INFER_REQUEST__INIT;
    Inference__ModelInferRequest__InferInputTensor t[4], *tp[4] = {&t[0], &t[1], &t[2], &t[3]};
    int64_t shape[1] = {1}, pclass = 3;
    float age = 22, fare = 7.25f;
    uint8_t sex[8] = {4, 0, 0, 0, 'm', 'a', 'l', 'e'}; /* a 4-byte length, then the bytes */
    ProtobufCBinaryData raw[4] = {
        {4, (uint8_t *)&age}, {4, (uint8_t *)&fare}, {8, sex}, {8, (uint8_t *)&pclass}};
    static const char *names[4] = {"Age", "Fare", "Sex", "Pclass"},
                      *types[4] = {"FP32", "FP32", "BYTES", "INT64"};
    for (int i = 0; i < 4; i++) {
        inference__model_infer_request__infer_input_tensor__init(&t[i]);
        t[i].name = (char *)names[i];
        t[i].datatype = (char *)types[i];
        t[i].n_shape = 1;
        t[i].shape = shape;
    }
    req.model_name = "model";
    req.n_inputs = 4, req.inputs = tp;
    req.n_raw_input_contents = 4, req.raw_input_contents = raw;
    grpc_reply r = call(SERVICE "ModelInfer", &req.base);
    if (r.code != GRPC_OK) fail_msg("%d %s", r.code, r.message);
    Inference__ModelInferResponse *out = inference__model_infer_response__unpack(NULL, r.len, r.body);
    assert_non_null(out);
    assert_int_equal(out->n_raw_output_contents, 1);
    assert_int_equal(out->raw_output_contents[0].len, 4);
    assert_null(out->outputs[0]->contents);
    assert_true(out->id[0] != 0); /* generated, as REST does */
    inference__model_infer_response__free_unpacked(out, NULL);
    grpc_reply_free(&r);
}

static void test_errors_are_status_codes_with_the_rest_message(void **state)
{
    (void)state;
    passengers p;
    struct {
        const char *what;
        void (*change)(passengers *p);
        int code;
        const char *message;
    } cases[] = {
        {"a misspelt input", NULL, GRPC_INVALID_ARGUMENT,
         "$.inputs[0].name: the model has no input \"Agee\"; its inputs: Age, Fare, Sex, Embarked, Pclass"},
        {"an unknown model", NULL, GRPC_NOT_FOUND, "no model named \"nope\"; models: model"},
        {"over --max-batch", NULL, GRPC_RESOURCE_EXHAUSTED, "5 rows is over the limit of 4 (--max-batch)"},
        {"INT8 out of range", NULL, GRPC_INVALID_ARGUMENT,
         "inputs[4].contents.int_contents[0]: 300 is out of the range of INT8"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        passengers_init(&p, 1);
        int32_t big[1] = {300};
        if (k == 0) p.t[0].name = "Agee";
        if (k == 1) p.req.model_name = "nope";
        if (k == 2) passengers_init(&p, 5);
        if (k == 3) {
            p.t[4].datatype = "INT8";
            p.c[4].n_int64_contents = 0;
            p.c[4].n_int_contents = 1, p.c[4].int_contents = big;
        }
        grpc_reply r = call(SERVICE "ModelInfer", &p.req.base);
        if (r.code != cases[k].code || strcmp(r.message, cases[k].message) != 0)
            fail_msg("%s: got %d \"%s\"", cases[k].what, r.code, r.message);
        assert_null(r.body);
        grpc_reply_free(&r);
    }
}

static void test_methods_and_health(void **state)
{
    (void)state;
    Inference__ServerLiveRequest live = INFERENCE__SERVER_LIVE_REQUEST__INIT;
    grpc_reply r = call(SERVICE "ServerLive", &live.base);
    assert_int_equal(r.code, GRPC_OK);
    Inference__ServerLiveResponse *l = inference__server_live_response__unpack(NULL, r.len, r.body);
    assert_true(l->live);
    inference__server_live_response__free_unpacked(l, NULL);
    grpc_reply_free(&r);

    Inference__ModelMetadataRequest mq = INFERENCE__MODEL_METADATA_REQUEST__INIT;
    mq.name = "model";
    r = call(SERVICE "ModelMetadata", &mq.base);
    assert_int_equal(r.code, GRPC_OK);
    Inference__ModelMetadataResponse *md = inference__model_metadata_response__unpack(NULL, r.len, r.body);
    assert_string_equal(md->name, "model");
    assert_int_equal(md->n_inputs, 5);
    assert_string_equal(md->inputs[2]->name, "Sex");
    assert_string_equal(md->inputs[2]->datatype, "BYTES");
    assert_string_equal(md->outputs[0]->name, "predict");
    inference__model_metadata_response__free_unpacked(md, NULL);
    grpc_reply_free(&r);

    Grpc__Health__V1__HealthCheckRequest hq = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    r = call("/grpc.health.v1.Health/Check", &hq.base);
    assert_int_equal(r.code, GRPC_OK);
    Grpc__Health__V1__HealthCheckResponse *h =
        grpc__health__v1__health_check_response__unpack(NULL, r.len, r.body);
    assert_int_equal(h->status, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    grpc__health__v1__health_check_response__free_unpacked(h, NULL);
    grpc_reply_free(&r);

    r = call(SERVICE "ModelStreamInfer", NULL);
    assert_int_equal(r.code, GRPC_UNIMPLEMENTED);
    assert_int_equal(r.method, GRPC_OTHER);
    grpc_reply_free(&r);

    grpc_call(the_api, SERVICE "ModelInfer", (const uint8_t *)"\xff\xff\xff", 3, &r);
    assert_int_equal(r.code, GRPC_INVALID_ARGUMENT);
    assert_string_equal(r.message, "the request is not a valid inference.ModelInferRequest message");
    grpc_reply_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_infer_is_the_rest_answer_bit_for_bit),
        cmocka_unit_test(test_raw_input_contents_answer_raw),
        cmocka_unit_test(test_errors_are_status_codes_with_the_rest_message),
        cmocka_unit_test(test_methods_and_health),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
