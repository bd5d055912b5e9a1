/* libFuzzer: one HTTP request, from method, path, headers and body to the
 * response, through api_handle (the function the worker calls), no socket.
 * Input layout: "METHOD\nPATH\nCONTENT-TYPE\nINFERENCE-HEADER\n" then the body;
 * a missing line becomes an empty string; "-" as content type or as the
 * Inference-Header-Content-Length (the binary tensor extension) means absent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/encode.h"
#include "serve/api.h"
#include "serve/oip.h"
#include "serve/tfs.h"
#include "formats/default_model.h"
#include "base/err.h"
#include "base/files.h"
#include "base/numtext.h"

static api *a, *a_full; /* the second with the protocols' fast paths off */

static const char *take_line(const uint8_t **p, const uint8_t *end, char *buf, size_t cap)
{
    size_t n = 0;
    while (*p < end && **p != '\n' && n + 1 < cap) buf[n++] = (char)*(*p)++;
    if (*p < end && **p == '\n') (*p)++;
    buf[n] = 0;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!a) {
        char err[ERR_LEN];
        repository_options ro = {.versions_kept = 1, .limits = IMPORT_LIMITS_DEFAULT};
        repository *m = repository_load(&ro, NULL, err); /* lives for the whole run */
        stats_shared *stats = stats_create(err);
        api_options o = {16, ENCODE_STRICT, stats, NULL, 0, 2, 1 << 20},
                    full = {16, ENCODE_STRICT, stats, NULL, 1, 2, 1 << 20};
        if (!m || !stats || !(a = api_create(m, &o, err)) || !(a_full = api_create(m, &full, err))) abort();
    }
    const uint8_t *p = data, *end = data + size;
    char method[16], path[256], ctype[128], ihcl[32];
    take_line(&p, end, method, sizeof method);
    take_line(&p, end, path, sizeof path);
    take_line(&p, end, ctype, sizeof ctype);
    take_line(&p, end, ihcl, sizeof ihcl);
    /* the body in its own exact-size allocation, so over-reads are caught */
    size_t body_len = (size_t)(end - p);
    char *body = malloc(body_len ? body_len : 1);
    memcpy(body, p, body_len);
    /* a body that starts as gzip does is sent as Content-Encoding: gzip (the inflater's input) */
    const char *coding =
        body_len > 2 && (unsigned char)body[0] == 0x1f && (unsigned char)body[1] == 0x8b ? "gzip" : NULL;
    api_request req = {method, path,     strcmp(ctype, "-") == 0 ? NULL : ctype,
                       body,   body_len, strcmp(ihcl, "-") == 0 ? NULL : ihcl,
                       coding};
    api_response res;
    api_handle(a, &req, &res);
    /* every answer is a real status with a body; bad input is never a 500 */
    if (res.status < 200 || res.status > 599 || !res.body || !res.body_len) abort();
    if (res.status == 500) abort();
    /* the protocols' fast paths answer exactly as the full (jansson) paths do */
    if (res.route == ROUTE_V2_INFER || res.route == ROUTE_V1_PREDICT || res.route == ROUTE_V1_EXPLAIN) {
        int status = res.status;
        size_t len = res.body_len;
        char *fast = malloc(len);
        memcpy(fast, res.body, len);
        api_handle(a_full, &req, &res);
        if (res.status != status || res.body_len != len || memcmp(res.body, fast, len) != 0) abort();
        free(fast);
    }
    free(body);
    return 0;
}
