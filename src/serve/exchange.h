/* exchange — one request's working state, shared by the handlers of the
 * protocols (api.c for the seed's API, oip.c, tfs.c): the request, the
 * response being built, and the worker's buffers, sized once for the largest
 * model it serves (so a worker's memory does not grow with the model count).
 * Also the two cluster protocols' error shape, {"error": "message"}. */
#ifndef TABSERVE_EXCHANGE_H
#define TABSERVE_EXCHANGE_H

#include <stddef.h>

#include "model/model.h"
#include "serve/api.h"

struct json_t;

typedef struct {
    const api_request *req;
    api_response *res;
    model_batch *batch; /* the handler sets batch->m */
    double *values;     /* one row's input values (the largest schema) */
    int max_batch;
    unsigned encode_rules; /* how request members are read (model/encode.h) */
    int fast_paths;        /* the protocols may read a body straight from its text */
    double explain_budget; /* seconds one request's explanations may take (0: no limit) */
    char *out;             /* the response body, out_cap bytes; valid until the next request */
    size_t out_cap;
} exchange;

void exchange_reply(exchange *x, int status, const char *content_type, const char *body, size_t len);

/* {"error": "message"}: the Open Inference Protocol's and TF Serving's shape.
 * Client text in the message is cut and made valid UTF-8. */
void exchange_error(exchange *x, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* absent, or application/json with any parameters */
int exchange_is_json_type(const char *content_type);

/* Parses len bytes of JSON; on failure answers 400 "malformed JSON at byte N
 * (line, column): why" and returns NULL. */
struct json_t *exchange_parse(exchange *x, const char *body, size_t len);

/* Scores rows 0..n-1 of x->batch; every output must be finite, else answers
 * 400 naming the row (where_fmt takes the row index) and the input to blame.
 * Returns 0, or -1 after answering. */
int exchange_score(exchange *x, int n, const char *where_fmt);

/* Explains rows 0..n-1 of x->batch (encoded, scored and checked): one
 * explanation object (explain.h), or {"explanations": [...]} when as_list.
 * ex is the served version's explainer (NULL: the model cannot be explained).
 * Returns 0 with the reply set, or an HTTP status (501: the model cannot be
 * explained; 413: the answer would not fit) with err. */
struct explainer;
int exchange_explain(exchange *x, const struct explainer *ex, int n, int as_list, char *err);

#endif
