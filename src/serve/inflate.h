/* inflate — a request body sent compressed (Content-Encoding: gzip or deflate,
 * as Triton's client offers), decoded with zlib before the body is read, under
 * the same size limit as an uncompressed one: a small body that inflates past
 * it is refused while inflating, not after. */
#ifndef TABSERVE_INFLATE_H
#define TABSERVE_INFLATE_H

#include <stddef.h>

/* Decodes len bytes of `coding` ("gzip", "x-gzip" or "deflate", any case;
 * deflate as the zlib format HTTP names, or raw as some clients send it) into
 * *out (malloc'd, *out_len bytes). Returns 0, or an HTTP status with err: 413
 * past max bytes decoded, 400 for damaged data, 415 for another coding. */
int body_inflate(const char *coding, const char *in, size_t len, long max, char **out, size_t *out_len,
                 char *err);

#endif
