/* libFuzzer: one HTTP request, from method, path, headers and body to the
 * response, through api_handle (the function the worker calls), no socket.
 * Input layout: "METHOD\nPATH\nCONTENT-TYPE\nINFERENCE-HEADER\n" then the body;
 * a missing line becomes an empty string; "-" as content type or as the
 * Inference-Header-Content-Length (the binary tensor extension) means absent. */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/encode.h"
#include "serve/docs.h"
#include "serve/api.h"
#include "serve/oip.h"
#include "serve/tfs.h"
#include "formats/default_model.h"
#include "base/err.h"
#include "base/files.h"
#include "base/numtext.h"

static api *a, *a_full; /* the second with the protocols' fast paths off */

/* Two answers equal but for the reply id generated when a request has none
 * ("PID-N", N counting replies). */
static int same_but_id(const char *x, size_t xn, const char *y, size_t yn)
{
    char needle[48];
    int n = snprintf(needle, sizeof needle, ",\"id\":\"%d-", (int)getpid());
    const char *ix = memmem(x, xn, needle, (size_t)n), *iy = memmem(y, yn, needle, (size_t)n);
    if (!ix || !iy) return xn == yn && memcmp(x, y, xn) == 0;
    if (ix - x != iy - y || memcmp(x, y, (size_t)(ix - x)) != 0) return 0;
    const char *ex = memchr(ix + n, '"', xn - (size_t)(ix + n - x)),
               *ey = memchr(iy + n, '"', yn - (size_t)(iy + n - y));
    if (!ex || !ey) return 0;
    size_t rx = xn - (size_t)(ex - x), ry = yn - (size_t)(ey - y);
    return rx == ry && memcmp(ex, ey, rx) == 0;
}

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
        repository_options ro = {.versions_kept = 1,
                                 .limits = IMPORT_LIMITS_DEFAULT,
                                 .describe = docs_render,
                                 .forget = docs_forget};
        repository *m = repository_load(&ro, NULL, err); /* lives for the whole run */
        stats_shared *stats = stats_create(err);
        api_options o = {.max_batch = 16,
                         .encode_rules = ENCODE_STRICT,
                         .stats = stats,
                         .explain_budget = 2,
                         .max_body = 1 << 20},
                    full = o;
        full.full_paths_only = 1;
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
    /* and an answer compressed for every other input (the deflater's input) */
    api_request req = {.method = method,
                       .path = path,
                       .content_type = strcmp(ctype, "-") == 0 ? NULL : ctype,
                       .body = body,
                       .body_len = body_len,
                       .inference_header = strcmp(ihcl, "-") == 0 ? NULL : ihcl,
                       .content_encoding = coding,
                       .accept_encoding = body_len % 2 ? "gzip" : NULL};
    api_response res;
    api_handle(a, &req, &res);
    /* every answer is a real status with a body; bad input is never a 500 */
    if (res.status < 200 || res.status > 599 || !res.body || !res.body_len) abort();
    if (res.status == 500) abort();
    /* the protocols' fast paths answer exactly as the full (jansson) paths do */
    if (res.route == ROUTE_V2_INFER || res.route == ROUTE_V1_PREDICT || res.route == ROUTE_V1_EXPLAIN) {
        /* uncompressed, so that the id each answer generates can be set aside */
        req.accept_encoding = NULL;
        api_handle(a, &req, &res);
        int status = res.status;
        size_t len = res.body_len;
        char *fast = malloc(len);
        memcpy(fast, res.body, len);
        api_handle(a_full, &req, &res);
        if (res.status != status || !same_but_id(fast, len, res.body, res.body_len)) abort();
        free(fast);
    }
    free(body);
    return 0;
}
