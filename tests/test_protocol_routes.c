/* The cluster protocols (oip.c: KServe V2; tfs.c: TF Serving's REST API) through
 * api_handle, without a socket: one named case a row, each with its exact answer.
 * The server answers the built-in model as "model" version 1, --max-batch 3. The
 * protocols' documents and Triton's clients are checked end to end in
 * test_protocols.py and test_clients.py; this pins each answer's bytes. */
#include "guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "formats/default_model.h"
#include "model/encode.h"
#include "serve/api.h"
#include "serve/docs.h"
#include "serve/stats.h"

#define SEED_V2                                                                                              \
    "{\"name\":\"Age\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[22]},"                                  \
    "{\"name\":\"Fare\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[7.25]},"                               \
    "{\"name\":\"Embarked\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"S\"]},"                         \
    "{\"name\":\"Sex\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"male\"]},"                           \
    "{\"name\":\"Pclass\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[3]}"
#define SEED_ROW "{\"Age\":22,\"Fare\":7.25,\"Embarked\":\"S\",\"Sex\":\"male\",\"Pclass\":3}"

typedef struct {
    const char *name;
    const char *method, *path, *body;
    int status;
    const char *want; /* the whole answer; '*' stands for any run of bytes (a generated id) */
} route_case;

static const route_case cases[] = {
    {"V2 server metadata names the extensions", "GET", "/v2", NULL, 200,
     "{\"name\": \"tabserve\", \"version\": \"" TABSERVE_VERSION
     "\", \"extensions\": [\"binary_tensor_data\", "
     "\"model_configuration\", \"statistics\", \"model_repository\"]}\n"},
    {"V2 server metadata at /v2/ too", "GET", "/v2/", NULL, 200, "{\"name\": \"tabserve\", *}\n"},
    {"V2 model readiness", "GET", "/v2/models/model/ready", NULL, 200,
     "{\"name\": \"model\", \"ready\": true}\n"},
    {"V2 an unknown model is a 404 in the protocol's error shape", "GET", "/v2/models/nope", NULL, 404,
     "{\"error\":\"no model named \\\"nope\\\"; models: model\"}\n"},
    {"V2 an unknown version is a 404 listing the versions", "POST", "/v2/models/model/versions/7/infer", "{}",
     404, "{\"error\":\"model model has no version 7; versions: 1\"}\n"},
    {"V2 infer echoes the request's id", "POST", "/v2/models/model/infer",
     "{\"id\":\"a1\",\"inputs\":[" SEED_V2 "]}", 200,
     "{\"model_name\":\"model\",\"model_version\":\"1\",\"id\":\"a1\",\"outputs\":[{\"name\":\"predict\","
     "\"datatype\":\"FP32\",\"shape\":[1],\"data\":[0.0715020671]}]}\n"},
    {"V2 infer without an id gets one", "POST", "/v2/models/model/infer", "{\"inputs\":[" SEED_V2 "]}", 200,
     "{\"model_name\":\"model\",\"model_version\":\"1\",\"id\":\"*-*\",\"outputs\":[{\"name\":\"predict\","
     "\"datatype\":\"FP32\",\"shape\":[1],\"data\":[0.0715020671]}]}\n"},
    {"V2 a required input missing is named with its JSON path", "POST", "/v2/models/model/infer",
     "{\"inputs\":[{\"name\":\"Age\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[22]}]}", 400,
     "{\"error\":\"$.inputs.Fare: missing required field \\\"Fare\\\"\"}\n"},
    {"V2 a tensor that is no input is named, with the inputs", "POST", "/v2/models/model/infer",
     "{\"inputs\":[{\"name\":\"Agee\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[22]}]}", 400,
     "{\"error\":\"$.inputs[0].name: the model has no input \\\"Agee\\\"; its inputs: Age, Fare, Sex, "
     "Embarked, "
     "Pclass\"}\n"},
    {"V2 data that does not fill its shape", "POST", "/v2/models/model/infer",
     "{\"inputs\":[{\"name\":\"Age\",\"shape\":[2],\"datatype\":\"FP32\",\"data\":[22]}]}", 400,
     "{\"error\":\"$.inputs[0].data: 1 elements, but the shape holds 2\"}\n"},
    {"V2 a wrong method is a 405 in the protocol's shape", "DELETE", "/v2/models/model/infer", NULL, 405,
     "{\"error\":\"method DELETE is not allowed here; allowed: POST\"}\n"},
    {"TF Serving model status", "GET", "/v1/models/model", NULL, 200,
     "{\n  \"model_version_status\": [\n    {\n      \"version\": \"1\",\n      \"state\": \"AVAILABLE\",\n  "
     "    "
     "\"status\": {\n        \"error_code\": \"OK\",\n        \"error_message\": \"\"\n      }\n    }\n  "
     "]\n}\n"},
    {"TF Serving predict, row format", "POST", "/v1/models/model:predict", "{\"instances\":[" SEED_ROW "]}",
     200, "{\"predictions\": [0.0715020671]}\n"},
    {"TF Serving predict, columnar format", "POST", "/v1/models/model:predict",
     "{\"inputs\":{\"Age\":[22],\"Fare\":[7.25],\"Embarked\":[\"S\"],\"Sex\":[\"male\"],\"Pclass\":[3]}}",
     200, "{\"outputs\": [0.0715020671]}\n"},
    {"TF Serving classify: each class with its score", "POST", "/v1/models/model:classify",
     "{\"examples\":[" SEED_ROW "]}", 200, "{\"result\": [[[\"0\", 0.92849791], [\"1\", 0.0715020671]]]}\n"},
    {"TF Serving regress: the score", "POST", "/v1/models/model:regress", "{\"examples\":[" SEED_ROW "]}",
     200, "{\"result\": [0.0715020671]}\n"},
    {"TF Serving a misspelt member is named with the closest input", "POST", "/v1/models/model:predict",
     "{\"instances\":[{\"Agee\":22}]}", 400,
     "{\"error\":\"$.instances[0]: \\\"Agee\\\" is not an input of this model; did you mean "
     "\\\"Age\\\"?\"}\n"},
    {"TF Serving no rows", "POST", "/v1/models/model:predict", "{\"instances\":[]}", 400,
     "{\"error\":\"$.instances: expected a non-empty array of rows, got an empty array\"}\n"},
    {"TF Serving over --max-batch", "POST", "/v1/models/model:predict",
     "{\"instances\":[" SEED_ROW "," SEED_ROW "," SEED_ROW "," SEED_ROW "]}", 413,
     "{\"error\":\"4 rows is over the limit of 3 (--max-batch)\"}\n"},
    {"TF Serving an unknown version", "POST", "/v1/models/model/versions/2:predict", "{\"instances\":[{}]}",
     404, "{\"error\":\"model model has no version 2; versions: 1\"}\n"},
    {"TF Serving an unknown model", "GET", "/v1/models/nope", NULL, 404,
     "{\"error\":\"no model named \\\"nope\\\"; models: model\"}\n"},
};

/* Whether text is pattern, '*' matching any run of bytes. */
static int matches(const char *pattern, const char *text)
{
    if (!*pattern) return !*text;
    if (*pattern == '*') {
        for (const char *t = text;; t++) {
            if (matches(pattern + 1, t)) return 1;
            if (!*t) return 0;
        }
    }
    return *text == *pattern && matches(pattern + 1, text + 1);
}

static repository *repo;
static stats_shared *stats;
static api *served;
static volatile int draining;

static int setup(void **state)
{
    (void)state;
    char err[ERR_LEN];
    repository_options o = {
        .versions_kept = 1, .limits = IMPORT_LIMITS_DEFAULT, .describe = docs_render, .forget = docs_forget};
    if (!(repo = repository_load(&o, NULL, err)) || !(stats = stats_create(err))) return -1;
    api_options ao = {.max_batch = 3,
                      .encode_rules = ENCODE_STRICT,
                      .stats = stats,
                      .draining = (const int *)&draining,
                      .max_body = 1 << 20};
    return (served = api_create(repo, &ao, err)) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    api_free(served);
    stats_destroy(stats);
    repository_free(repo);
    return 0;
}

static void test_each_case_answers_exactly(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const route_case *c = &cases[k];
        api_request req = {.method = c->method,
                           .path = c->path,
                           .content_type = c->body ? "application/json" : NULL,
                           .body = c->body,
                           .body_len = c->body ? strlen(c->body) : 0};
        api_response res;
        api_handle(served, &req, &res);
        char text[8192];
        snprintf(text, sizeof text, "%.*s", (int)res.body_len, res.body ? res.body : "");
        if (res.status != c->status || !matches(c->want, text)) {
            print_error("case \"%s\": %s %s answered %d\n%s\nwanted %d\n%s\n", c->name, c->method, c->path,
                        res.status, text, c->status, c->want);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

static void test_the_matcher_itself(void **state)
{
    (void)state;
    assert_true(matches("\"id\":\"*-*\"", "\"id\":\"123-4\""));
    assert_false(matches("\"id\":\"*-*\"", "\"id\":\"1234\""));
    assert_false(matches("abc", "abcd"));
    assert_true(matches("a*", "a"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_matcher_itself),
        cmocka_unit_test(test_each_case_answers_exactly),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
