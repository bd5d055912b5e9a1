/* The request path in instructions: N seed requests through api_handle (the
 * worker's call, no socket), for `make bench-instructions`, which runs this
 * under callgrind with two N and prints the difference per request. Instruction
 * counts repeat exactly for one binary and input, so they compare builds where
 * seconds on a shared machine do not.
 *
 * usage: build/bench_request_path N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "model/encode.h"
#include "serve/docs.h"
#include "serve/api.h"
#include "serve/repository.h"
#include "serve/stats.h"

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    char err[ERR_LEN];
    volatile int draining = 0;
    repository_options ro = {
        .versions_kept = 1, .limits = IMPORT_LIMITS_DEFAULT, .describe = docs_render, .forget = docs_forget};
    repository *repo = repository_load(&ro, NULL, err);
    stats_shared *st = repo ? stats_create(err) : NULL;
    api_options o = {.max_batch = 1024,
                     .encode_rules = ENCODE_STRICT,
                     .stats = st,
                     .draining = (const int *)&draining,
                     .max_body = 1 << 20};
    api *a = st ? api_create(repo, &o, err) : NULL;
    if (!a) {
        fprintf(stderr, "bench_request_path: %s\n", err);
        return 1;
    }
    static const char seed[] =
        "{\"Age\": 22, \"Fare\": 7.25, \"Embarked\": \"S\", \"Sex\": \"male\", \"Pclass\": 3}";
    api_request req = {.method = "POST",
                       .path = "/model",
                       .content_type = "application/json",
                       .body = seed,
                       .body_len = sizeof seed - 1};
    long ok = 0;
    for (long i = 0; i < n; i++) {
        api_response res;
        api_handle(a, &req, &res);
        ok += res.status == 200;
    }
    printf("%ld requests, %ld answered 200\n", n, ok);
    api_free(a);
    repository_free(repo);
    return ok == n ? 0 : 1;
}
