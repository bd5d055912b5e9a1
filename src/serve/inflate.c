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
