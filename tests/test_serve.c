/* serve: the request handler (api) without a socket, option parsing (config),
 * the metrics exposition (stats) and bind addresses (listen). The real server
 * is tested end to end in test_server.py; these pin the pieces' own contracts. */
#include "guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "base/err.h"
#include "base/jsonx.h"
#include "formats/default_model.h"
#include "data/score.h"
#include "model/encode.h"
#include "serve/docs.h"
#include "serve/api.h"
#include "serve/config.h"
#include "serve/listen.h"
#include "serve/stats.h"

static repository *repo; /* the built-in model, served as "model" version 1 */
static model *m;
static int setup(void **state)
{
    (void)state;
    char err[ERR_LEN];
    repository_options o = {
        .versions_kept = 1, .limits = IMPORT_LIMITS_DEFAULT, .describe = docs_render, .forget = docs_forget};
    if (!(repo = repository_load(&o, NULL, err))) return -1;
    m = repo->models[0].v[0].m;
    return 0;
}
static int teardown(void **state)
{
    (void)state;
    repository_free(repo);
    return 0;
}

static api_response call(api *a, const char *method, const char *path, const char *ctype, const char *body)
{
    api_request req = {.method = method,
                       .path = path,
                       .content_type = ctype,
                       .body = body,
                       .body_len = body ? strlen(body) : 0};
    api_response res;
    api_handle(a, &req, &res);
    return res;
}

static char *text_of(const api_response *r)
{
    static char buf[1 << 16];
    size_t n = r->body_len < sizeof buf - 1 ? r->body_len : sizeof buf - 1;
    memcpy(buf, r->body, n);
    buf[n] = 0;
    return buf;
}

#define SEED_ROW "{\"Age\": 22, \"Fare\": 7.25, \"Embarked\": \"S\", \"Sex\": \"male\", \"Pclass\": 3}"

typedef struct {
    const char *name;
    const char *method, *path, *content_type, *body;
    int status;
    const char *want;  /* the whole body, or NULL */
    const char *part;  /* a part of it, or NULL */
    const char *allow; /* the Allow header of a 405, or NULL */
} api_case;

static const api_case api_cases[] = {
    {"the seed's request on the fast path", "POST", "/model", "application/json; charset=utf-8", SEED_ROW,
     200, "{\"predict\": 0.0715020671}\n", NULL, NULL},
    {"a member that is no input, through jansson (spaces the fast path declines)", "POST", "/model", NULL,
     "{ \"Age\" : 22 , \"Fare\": 7.25, \"Embarked\": \"S\", \"Sex\": \"male\", \"Pclass\": 3, \"Age2\": "
     "null}",
     400,
     "{\"error\":{\"status\":400,\"message\":\"$: \\\"Age2\\\" is not an input of this model; did you mean "
     "\\\"Age\\\"?\"}}\n",
     NULL, NULL},
    {"a batch of two", "POST", "/model", NULL, "[" SEED_ROW ", " SEED_ROW "]", 200,
     "{\"predict\": [0.0715020671, 0.0715020671]}\n", NULL, NULL},
    {"a batch over --max-batch", "POST", "/model", NULL,
     "[" SEED_ROW ", " SEED_ROW ", " SEED_ROW ", " SEED_ROW "]", 413, NULL,
     "batch of 4 rows is over the limit of 3 (--max-batch)", NULL},
    {"malformed JSON names the byte offset", "POST", "/model", NULL, "{\"Age\": 22,, }", 400, NULL,
     "\"offset\":12", NULL},
    {"an unknown category lists the accepted ones", "POST", "/model", NULL,
     "{\"Sex\": \"robot\", \"Pclass\": 1, \"Fare\": 30}", 400,
     "{\"error\":{\"status\":400,\"message\":\"$.Sex: unknown category \\\"robot\\\"; accepted values: "
     "\\\"female\\\", \\\"male\\\"\",\"field\":\"Sex\"}}\n",
     NULL, NULL},
    {"a body that is not JSON by its type", "POST", "/model", "text/plain", SEED_ROW, 415, NULL, NULL, NULL},
    {"an empty body", "POST", "/model", NULL, "", 400, NULL, NULL, NULL},
    {"a wrong method lists the allowed ones", "DELETE", "/model", NULL, NULL, 405, NULL, NULL,
     "GET, HEAD, POST"},
    {"health takes no POST", "POST", "/healthz", NULL, NULL, 405, NULL, NULL, "GET, HEAD"},
    {"an unknown route", "GET", "/nowhere", NULL, NULL, 404, NULL, NULL, NULL},
    {"health answers HEAD", "HEAD", "/healthz", NULL, NULL, 200, NULL, NULL, NULL},
};

static void test_api_routes(void **state)
{
    (void)state;
    char err[ERR_LEN];
    volatile int draining = 0;
    stats_shared *st = stats_create(err);
    assert_non_null(st);
    api_options o = {.max_batch = 3,
                     .encode_rules = ENCODE_STRICT,
                     .stats = st,
                     .draining = (const int *)&draining,
                     .max_body = 1 << 20};
    api *a = api_create(repo, &o, err);
    assert_non_null(a);
    for (size_t k = 0; k < sizeof api_cases / sizeof api_cases[0]; k++) {
        const api_case *c = &api_cases[k];
        api_response r = call(a, c->method, c->path, c->content_type, c->body);
        const char *text = text_of(&r);
        if (r.status != c->status || (c->want && strcmp(text, c->want) != 0) ||
            (c->part && !strstr(text, c->part)) || (c->allow && (!r.allow || strcmp(r.allow, c->allow) != 0)))
            fail_msg("case \"%s\": %d %s (Allow: %s)", c->name, r.status, text, r.allow ? r.allow : "-");
    }
    api_response r = call(a, "POST", "/model", NULL, SEED_ROW);
    assert_int_equal(r.route, ROUTE_MODEL_POST);
    assert_int_equal(r.predictions, 1);
    assert_int_equal(call(a, "GET", "/nowhere", NULL, NULL).route, ROUTE_OTHER);
    /* metadata, readiness (503 once draining), the spec */
    r = call(a, "GET", "/model", NULL, NULL);
    json_t *d = json_loadb(r.body, r.body_len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(d, "hash")), m->hash);
    assert_int_equal(json_integer_value(json_object_get(d, "format_version")), 2);
    json_decref(d);
    r = call(a, "GET", "/readyz", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(text_of(&r), m->hash));
    draining = 1;
    assert_int_equal(call(a, "GET", "/readyz", NULL, NULL).status, 503);
    r = call(a, "GET", "/openapi.yaml", NULL, NULL);
    assert_string_equal(r.content_type, "application/yaml");
    assert_int_equal(strncmp(r.body, "openapi: 3.1", 12), 0);
    /* a transport error in the house shape, with no stale Allow */
    api_error(a, &r, 431, "headers too large", NULL);
    assert_int_equal(r.status, 431);
    assert_null(r.allow);
    assert_string_equal(text_of(&r), "{\"error\":{\"status\":431,\"message\":\"headers too large\"}}\n");
    api_free(a);
    stats_destroy(st);
}

/* No 200 for a request the model cannot have meant: a member that is no input
 * is a 400 naming it and the closest input (unless --ignore-unknown-fields), an
 * object with none of the inputs is a 400, on the fast path and jansson's. */
static void test_members_the_model_cannot_mean(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        unsigned rules;
        const char *body;
        int status;
        const char *in_answer;
    } cases[] = {
        {"misspelt field", ENCODE_STRICT, "{\"age\": 22, \"Fare\": 7.25, \"Sex\": \"male\", \"Pclass\": 3}",
         400, "$: \\\"age\\\" is not an input of this model; did you mean \\\"Age\\\"?"},
        {"separator misspelt", ENCODE_STRICT, "{\"P class\": 3, \"Sex\": \"male\", \"Fare\": 7.25}", 400,
         "did you mean \\\"Pclass\\\"?"},
        {"nothing close", ENCODE_STRICT,
         "{\"Name\": \"Braund\", \"Sex\": \"male\", \"Pclass\": 3, \"Fare\": 7.25}", 400,
         "$: \\\"Name\\\" is not an input of this model (GET /model lists its 5 inputs)"},
        {"empty object", ENCODE_STRICT, "{}", 400, "$: none of the model's inputs was sent"},
        {"empty object, extra members ignored", ENCODE_IGNORE_UNKNOWN, "{}", 400,
         "none of the model's inputs"},
        {"only unknown members, ignored", ENCODE_IGNORE_UNKNOWN, "{\"Name\": \"x\"}", 400,
         "none of the model's inputs"},
        {"in a batch", ENCODE_STRICT,
         "[{\"Age\": 22, \"Sex\": \"male\", \"Pclass\": 3, \"Fare\": 7.25}, {\"Sexx\": 1}]", 400,
         "$[1]: \\\"Sexx\\\" is not an input of this model; did you mean \\\"Sex\\\"?"},
        {"extra member ignored when asked", ENCODE_IGNORE_UNKNOWN,
         "{\"Name\": \"Braund\", \"Age\": 22, \"Fare\": 7.25, \"Embarked\": \"S\", \"Sex\": \"male\", "
         "\"Pclass\": 3}",
         200, "{\"predict\": 0.0715020671}"},
    };
    char err[ERR_LEN];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        api_options o = {.max_batch = 4, .encode_rules = cases[i].rules, .max_body = 1 << 20};
        api *a = api_create(repo, &o, err);
        assert_non_null(a);
        api_response r = call(a, "POST", "/model", NULL, cases[i].body);
        if (r.status != cases[i].status || !strstr(text_of(&r), cases[i].in_answer))
            fail_msg("%s: %d %s", cases[i].name, r.status, text_of(&r));
        api_free(a);
    }
}

/* Every prediction is a finite number or a 400 naming the input, the same for a
 * single object, a batch, CSV and JSON lines (malformed input of every shape). */
static void test_extreme_values_finite_or_refused(void **state)
{
    (void)state;
    char err[ERR_LEN];
    api_options o = {.max_batch = 4, .encode_rules = ENCODE_STRICT, .max_body = 1 << 20};
    api *a = api_create(repo, &o, err);
    assert_non_null(a);
    const double extremes[] = {1e300,
                               -1e300,
                               5e39,
                               -5e39,
                               1.7976931348623157e308,
                               -1.7976931348623157e308,
                               3.4e38,
                               -3.4e38,
                               1e38,
                               -1e38,
                               1e30,
                               -1e30,
                               1e20,
                               -1e20,
                               1e-300,
                               -0.0};
    const char *inputs[] = {"Age", "Fare", "Sex", "Embarked", "Pclass"};
    int refused = 0, answered = 0;
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++)
        for (size_t k = 0; k < sizeof extremes / sizeof *extremes; k++) {
            char one[256], batch[600], csv[256], jsonl[260];
            const char *names[] = {"Age", "Fare", "Embarked", "Sex", "Pclass"};
            const char *json_vals[] = {"22", "7.25", "\"S\"", "\"male\"", "3"},
                       *vals[] = {"22", "7.25", "S", "male", "3"};
            char num[40];
            snprintf(num, sizeof num, "%.17g", extremes[k]);
            size_t at = (size_t)snprintf(one, sizeof one, "{");
            for (size_t c = 0; c < 5; c++)
                at += (size_t)snprintf(one + at, sizeof one - at, "%s\"%s\": %s", c ? ", " : "", names[c],
                                       strcmp(names[c], inputs[i]) == 0 ? num : json_vals[c]);
            snprintf(one + at, sizeof one - at, "}");
            snprintf(batch, sizeof batch, "[{\"Sex\": \"female\", \"Pclass\": 1, \"Fare\": 30}, %s]", one);
            api_response r1 = call(a, "POST", "/model", NULL, one);
            char single[512];
            size_t n1 = r1.body_len < sizeof single - 1 ? r1.body_len : sizeof single - 1;
            memcpy(single, r1.body, n1);
            single[n1] = 0;
            api_response r2 = call(a, "POST", "/model", NULL, batch);
            const char *b = text_of(&r2);
            /* CSV and JSON lines through tabserve predict's path */
            size_t used = (size_t)snprintf(csv, sizeof csv, "Age,Fare,Embarked,Sex,Pclass\n");
            for (size_t c = 0; c < 5; c++)
                used += (size_t)snprintf(csv + used, sizeof csv - used, "%s%s", c ? "," : "",
                                         strcmp(names[c], inputs[i]) == 0 ? num : vals[c]);
            snprintf(csv + used, sizeof csv - used, "\n");
            snprintf(jsonl, sizeof jsonl, "%s\n", one);
            char *out_csv = NULL, *out_jsonl = NULL, e_csv[ERR_LEN] = "", e_jsonl[ERR_LEN] = "";
            size_t lo;
            score_options so = {SCORE_CSV, 0, ENCODE_STRICT};
            score_result res;
            FILE *in = fmemopen(csv, strlen(csv), "r"), *out = open_memstream(&out_csv, &lo);
            int rc_csv = score_stream(m, in, "x.csv", out, &so, stderr, &res, e_csv);
            fclose(in);
            fclose(out);
            so.format = SCORE_JSONL;
            in = fmemopen(jsonl, strlen(jsonl), "r");
            out = open_memstream(&out_jsonl, &lo);
            int rc_jsonl = score_stream(m, in, "x.jsonl", out, &so, stderr, &res, e_jsonl);
            fclose(in);
            fclose(out);
            if (r1.status == 400) {
                refused++;
                /* refused everywhere, naming the input */
                char field[64];
                snprintf(field, sizeof field, "\"field\":\"%s\"", inputs[i]);
                if (!strstr(single, field)) fail_msg("%s = %g: %s", inputs[i], extremes[k], single);
                assert_int_equal(r2.status, 400);
                assert_non_null(strstr(b, field));
                assert_non_null(strstr(b, "$[1]."));
                assert_int_equal(rc_csv, -1);
                assert_int_equal(rc_jsonl, -1);
                char col[64];
                snprintf(col, sizeof col, "row 1: column %s: ", inputs[i]);
                if (!strstr(e_csv, col)) fail_msg("csv: %s", e_csv);
                snprintf(col, sizeof col, "line 1: $.%s: ", inputs[i]);
                if (!strstr(e_jsonl, col)) fail_msg("jsonl: %s", e_jsonl);
            } else {
                answered++;
                /* a finite number, the same in the batch, in CSV and in JSON lines */
                assert_int_equal(r1.status, 200);
                assert_int_equal(r2.status, 200);
                const char *p1 = strstr(single, ": ") + 2;
                char *end;
                double p = strtod(p1, &end);
                if (!isfinite(p) || p < 0 || p > 1)
                    fail_msg("%s = %g answered %s", inputs[i], extremes[k], single);
                char value[40];
                snprintf(value, sizeof value, "%.*s", (int)(end - p1), p1);
                char in_batch[64];
                snprintf(in_batch, sizeof in_batch, ", %s]}", value);
                if (!strstr(b, in_batch))
                    fail_msg("%s = %g: single %s, batch %s", inputs[i], extremes[k], single, b);
                assert_int_equal(rc_csv, 0);
                assert_int_equal(rc_jsonl, 0);
                char tail[64];
                snprintf(tail, sizeof tail, ",%s\n", value);
                assert_non_null(strstr(out_csv, tail));
                snprintf(tail, sizeof tail, "\"predict\":%s}\n", value);
                assert_non_null(strstr(out_jsonl, tail));
            }
            free(out_csv);
            free(out_jsonl);
        }
    /* both outcomes occur: the huge values are refused, the large-but-usable answered */
    assert_true(refused > 0 && answered > 0);
    api_free(a);
}

static void test_stats_exposition(void **state)
{
    (void)state;
    char err[ERR_LEN], buf[1 << 16];
    stats_shared *st = stats_create(err);
    assert_non_null(st);
    stats_record(&st->w[0], ROUTE_MODEL_POST, 200, 30000);    /* 30 us */
    stats_record(&st->w[1], ROUTE_MODEL_POST, 200, 2000000);  /* 2 ms, another worker */
    stats_record(&st->w[0], ROUTE_MODEL_GET, 200, 40000);     /* same route name, other method */
    stats_record(&st->w[0], ROUTE_MODEL_POST, 418, 20000000); /* a status of no column: "other" */
    atomic_store(&st->w[0].predictions, 5);
    /* a model version's counters, summed over workers, with its labels */
    int slot = stats_model_slot(st, "titanic", 3);
    assert_int_equal(stats_model_slot(st, "titanic", 3), slot); /* the same (name, version): the same slot */
    assert_int_not_equal(stats_model_slot(st, "titanic", 4), slot);
    stats_record_model(&st->w[0], slot, 200, 30000, 2, 1);
    stats_record_model(&st->w[1], slot, 400, 3000000, 0, 1);
    /* Triton's statistics: inference requests by outcome, over all workers */
    stats_inference inf = stats_model_inference(st, slot);
    assert_int_equal(inf.ok, 1);
    assert_int_equal(inf.ok_ns, 30000);
    assert_int_equal(inf.fail, 1);
    assert_int_equal(inf.fail_ns, 3000000);
    assert_int_equal(inf.predictions, 2);
    assert_true(inf.last_ms > 1700000000000LL);
    int other = stats_model_slot(st, "titanic", 4);
    stats_record_model(&st->w[1], other, 200, 7000, 0, 0); /* metadata: not an inference */
    inf = stats_model_inference(st, other);
    assert_int_equal(inf.ok + inf.fail + (uint64_t)inf.last_ms, 0);
    atomic_store(&st->models[slot].loads, 1);
    long n = stats_render(st, buf, sizeof buf);
    assert_true(n > 0);
    buf[n] = 0;
    const char *want[] = {
        "tabserve_requests_total{method=\"POST\",route=\"/model\",status=\"200\"} 2\n",
        "tabserve_requests_total{method=\"POST\",route=\"/model\",status=\"other\"} 1\n",
        "tabserve_requests_total{method=\"GET\",route=\"/model\",status=\"200\"} 1\n",
        "tabserve_request_duration_seconds_bucket{method=\"POST\",route=\"/model\",le=\"5e-05\"} 1\n",
        "tabserve_request_duration_seconds_bucket{method=\"POST\",route=\"/model\",le=\"0.0025\"} 2\n",
        "tabserve_request_duration_seconds_bucket{method=\"POST\",route=\"/model\",le=\"+Inf\"} 3\n",
        "tabserve_request_duration_seconds_sum{method=\"POST\",route=\"/model\"} 0.022030000\n",
        "tabserve_request_duration_seconds_count{method=\"GET\",route=\"/model\"} 1\n",
        "tabserve_predictions_total 5\n",
        "tabserve_model_requests_total{model=\"titanic\",version=\"3\",status=\"200\"} 1\n",
        "tabserve_model_requests_total{model=\"titanic\",version=\"3\",status=\"400\"} 1\n",
        "tabserve_model_request_duration_seconds_bucket{model=\"titanic\",version=\"3\",le=\"5e-05\"} 1\n",
        "tabserve_model_request_duration_seconds_bucket{model=\"titanic\",version=\"3\",le=\"0.005\"} 2\n",
        "tabserve_model_request_duration_seconds_sum{model=\"titanic\",version=\"3\"} 0.003030000\n",
        "tabserve_model_predictions_total{model=\"titanic\",version=\"3\"} 2\n",
        "tabserve_model_loads_total{model=\"titanic\",version=\"3\"} 1\n",
        "tabserve_model_load_failures_total{model=\"titanic\",version=\"4\"} 0\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(buf, want[i])) fail_msg("missing: %s", want[i]);
    /* every sample is unique by name and labels */
    char *save, *line = strtok_r(buf, "\n", &save);
    char seen[256][160];
    int k = 0;
    for (; line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        *strrchr(line, ' ') = 0;
        for (int j = 0; j < k; j++)
            if (strcmp(seen[j], line) == 0) fail_msg("duplicate sample %s", line);
        snprintf(seen[k++], sizeof seen[0], "%s", line);
    }
    /* a buffer too small is refused, not overrun */
    assert_int_equal(stats_render(st, buf, 100), -1);
    stats_destroy(st);
}

static void test_route_and_utf8(void **state)
{
    (void)state;
    assert_int_equal(api_route("POST", "/model"), ROUTE_MODEL_POST);
    assert_int_equal(api_route("GET", "/model"), ROUTE_MODEL_GET);
    assert_int_equal(api_route("HEAD", "/model"), ROUTE_MODEL_GET);
    assert_int_equal(api_route("DELETE", "/model"), ROUTE_OTHER);
    assert_int_equal(api_route("GET", "/metrics"), ROUTE_METRICS);
    assert_int_equal(api_route("POST", "/metrics"), ROUTE_OTHER);
    assert_int_equal(api_route("GET", "/model.json"), ROUTE_OTHER);
    struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},                 /* é */
        {"cut \xc3", "cut ?"},                          /* a character cut short */
        {"\xff\xfe", "??"},                             /* not UTF-8 at all */
        {"\xc0\xaf", "??"},                             /* overlong '/' */
        {"\xed\xa0\x80", "???"},                        /* a surrogate */
        {"\xf0\x9f\x98\x80 ok", "\xf0\x9f\x98\x80 ok"}, /* 4 bytes */
        {"\xf4\x90\x80\x80", "????"},                   /* past U+10FFFF */
        {"\x80x", "?x"},                                /* a stray continuation byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%s", cases[i].in);
        utf8_scrub(buf);
        assert_string_equal(buf, cases[i].out);
    }
}

static void test_config(void **state)
{
    (void)state;
    serve_config c;
    char err[ERR_LEN];
    setenv("TABSERVE_WORKERS", "3", 1);
    setenv("TABSERVE_MAX_BATCH", "16", 1);
    char *argv[] = {"m.json", "-w", "2", "-b", ":9000", "--bind=unix:/tmp/t.sock", "--timeout", "7.5"};
    assert_int_equal(config_parse(&c, 8, argv, err), 0);
    assert_string_equal(c.model_path, "m.json");
    assert_int_equal(c.workers, 2); /* the flag wins over TABSERVE_WORKERS */
    assert_int_equal(c.max_batch, 16);
    assert_int_equal(c.n_binds, 2);
    assert_string_equal(c.binds[1], "unix:/tmp/t.sock");
    assert_float_equal(c.timeout, 7.5, 0);
    config_free(&c);
    unsetenv("TABSERVE_WORKERS");
    unsetenv("TABSERVE_MAX_BATCH");
    struct {
        int argc;
        char *argv[3];
        const char *msg;
    } bad[] = {
        {2, {"-w", "0"}, "--workers: \"0\" must be an integer from 1 to 64"},
        {2, {"--timeout", "soon"}, "--timeout: \"soon\" must be"},
        {1, {"--nope"}, "unknown option --nope"},
        {1, {"-w"}, "option -w needs a value"},
        {2, {"a.json", "b.json"}, "unexpected argument b.json: only one MODEL"},
        {2, {"--log-level", "loud"}, "is not one of debug, info, warning, error, critical"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(config_parse(&c, bad[i].argc, bad[i].argv, err), -1);
        if (!strstr(err, bad[i].msg)) fail_msg("case %zu: %s", i, err);
        config_free(&c);
    }
}

static void test_listen(void **state)
{
    (void)state;
    char host[256], port[8], err[ERR_LEN];
    assert_int_equal(listen_split(":8080", host, port, err), 0);
    assert_string_equal(host, "");
    assert_string_equal(port, "8080");
    assert_int_equal(listen_split("[::1]:0", host, port, err), 0);
    assert_string_equal(host, "::1");
    assert_string_equal(port, "0");
    assert_int_equal(listen_split("example.org:80", host, port, err), 0);
    assert_string_equal(host, "example.org");
    assert_int_equal(listen_split("nohost", host, port, err), -1);
    assert_non_null(strstr(err, "expected HOST:PORT"));
    assert_int_equal(listen_split("h:65536", host, port, err), -1);
    assert_non_null(strstr(err, "the port must be 0 to 65535"));
    assert_int_equal(listen_split("[::1:80", host, port, err), -1);
    int fd = listen_open("127.0.0.1:0", err);
    assert_true(fd >= 0);
    assert_true(listen_port(fd) > 0);
    close(fd);
    char path[] = "/tmp/tabserve-listen-XXXXXX", addr[64];
    assert_non_null(mkdtemp(path));
    snprintf(addr, sizeof addr, "unix:%s/s", path);
    fd = listen_open(addr, err);
    assert_true(fd >= 0);
    close(fd);
    snprintf(addr, sizeof addr, "%s/s", path);
    unlink(addr);
    rmdir(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_routes),
        cmocka_unit_test(test_members_the_model_cannot_mean),
        cmocka_unit_test(test_extreme_values_finite_or_refused),
        cmocka_unit_test(test_stats_exposition),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_listen),
        cmocka_unit_test(test_route_and_utf8),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
