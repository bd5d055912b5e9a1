/* inflate — compressed request bodies (inflate.h), with zlib. */
#define _DEFAULT_SOURCE /* strcasecmp */
#include "serve/inflate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "base/err.h"

/* One pass of zlib with window bits wbits; 0, Z_DATA_ERROR (damaged or another
 * format), or an HTTP status with err. */
static int run(int wbits, const char *in, size_t len, long max, char **out, size_t *out_len, char *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, wbits) != Z_OK) return err_set(err, "out of memory decoding the body"), 500;
    size_t cap = len * 4 + 1024, used = 0;
    if (cap > (size_t)max + 1) cap = (size_t)max + 1;
    char *buf = malloc(cap + 1);
    int rc = buf ? 0 : (err_set(err, "out of memory decoding the body"), 500);
    z.next_in = (unsigned char *)(uintptr_t)in;
    z.avail_in = (uInt)(len > 0xffffffffu ? 0xffffffffu : len);
    while (rc == 0) {
        if (used == cap) {
            if (cap > (size_t)max) { /* found while inflating: the limit, not the whole bomb */
                rc = (err_set(err, "the body decodes to more than %ld bytes (--limit-request-body)", max),
                      413);
                break;
            }
            size_t grown = cap * 2 > (size_t)max + 1 ? (size_t)max + 1 : cap * 2;
            char *b = realloc(buf, grown + 1);
            if (!b) {
                rc = (err_set(err, "out of memory decoding the body"), 500);
                break;
            }
            buf = b;
            cap = grown;
        }
        z.next_out = (unsigned char *)buf + used;
        z.avail_out = (uInt)(cap - used);
        int zr = inflate(&z, Z_NO_FLUSH);
        used = cap - z.avail_out;
        if (zr == Z_STREAM_END) {
            if (z.avail_in != 0) rc = (err_set(err, "bytes after the end of the compressed body"), 400);
            break;
        }
        if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT) {
            rc = Z_DATA_ERROR;
            err_set(err, "the compressed body is damaged at byte %lu: %s", (unsigned long)z.total_in,
                    z.msg ? z.msg : "invalid data");
            break;
        }
        if (zr == Z_BUF_ERROR && z.avail_in == 0 && used < cap) {
            rc = (err_set(err, "the compressed body ends early (byte %lu)", (unsigned long)z.total_in), 400);
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = (err_set(err, "the compressed body could not be decoded"), 400);
            break;
        }
    }
    inflateEnd(&z);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[used] = 0;
    *out = buf;
    *out_len = used;
    return 0;
}

int body_inflate(const char *coding, const char *in, size_t len, long max, char **out, size_t *out_len,
                 char *err)
{
    *out = NULL;
    *out_len = 0;
    if (!strcasecmp(coding, "gzip") || !strcasecmp(coding, "x-gzip")) {
        int rc = run(16 + MAX_WBITS, in, len, max, out, out_len, err);
        return rc == Z_DATA_ERROR ? 400 : rc;
    }
    if (!strcasecmp(coding, "deflate")) { /* the zlib format; raw deflate as some clients send it */
        int rc = run(MAX_WBITS, in, len, max, out, out_len, err);
        if (rc == Z_DATA_ERROR) rc = run(-MAX_WBITS, in, len, max, out, out_len, err);
        return rc == Z_DATA_ERROR ? 400 : rc;
    }
    return err_set(err, "Content-Encoding %.40s is not one tabserve decodes (gzip, deflate, identity)",
                   coding),
           415;
}

/* ---- responses ----------------------------------------------------------- */

/* q of one Accept-Encoding element's parameters ("; q=0.5"): 1 when absent */
static double quality(const char *p, const char *end)
{
    while (p < end) {
        while (p < end && (*p == ';' || *p == ' ' || *p == '\t')) p++;
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') return strtod(p + 2, NULL);
        while (p < end && *p != ';') p++;
    }
    return 1;
}

const char *response_coding(const char *accept)
{
    if (!accept) return NULL;
    double gzip = 0, deflate = 0, any = 0;
    for (const char *p = accept; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *name = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t') p++;
        size_t n = (size_t)(p - name);
        const char *params = p;
        while (*p && *p != ',') p++;
        double q = quality(params, p);
        if ((n == 4 && !strncasecmp(name, "gzip", 4)) || (n == 6 && !strncasecmp(name, "x-gzip", 6)))
            gzip = q > 0 ? q : -1;
        else if (n == 7 && !strncasecmp(name, "deflate", 7))
            deflate = q > 0 ? q : -1;
        else if (n == 1 && *name == '*')
            any = q;
    }
    if (gzip == 0 && any > 0) gzip = any; /* "*" takes the codings not named */
    if (gzip > 0 && gzip >= deflate) return "gzip";
    if (deflate > 0) return "deflate";
    return NULL;
}

int body_deflate(const char *coding, const char *in, size_t len, char **out, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    int gzip = strcmp(coding, "gzip") == 0;
    /* level 1: most of the gain at a fraction of the time; a number-heavy JSON
     * answer shrinks 3-4x */
    if (deflateInit2(&z, 1, Z_DEFLATED, gzip ? 16 + MAX_WBITS : MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound(&z, (uLong)len);
    char *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (unsigned char *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (unsigned char *)buf;
    z.avail_out = (uInt)cap;
    int zr = deflate(&z, Z_FINISH);
    size_t used = cap - z.avail_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = used;
    return 0;
}
