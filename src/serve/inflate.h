/* inflate — HTTP compression with zlib, both ways. A request body sent
 * compressed (Content-Encoding: gzip or deflate, as Triton's client offers) is
 * decoded before the body is read, under
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

/* The coding to answer with for an Accept-Encoding header: "gzip", "deflate",
 * or NULL (identity), by the client's q-values; gzip when they tie. */
const char *response_coding(const char *accept_encoding);

/* Encodes len bytes as `coding` ("gzip" or "deflate", the zlib format) into
 * *out (malloc'd, *out_len bytes). Returns 0, or -1: out of memory. */
int body_deflate(const char *coding, const char *in, size_t len, char **out, size_t *out_len);

#endif
