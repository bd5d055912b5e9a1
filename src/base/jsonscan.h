/* jsonscan — the pieces of the request fast paths (model/encode.c for POST
 * /model, serve/oip.c and serve/tfs.c for the cluster protocols): hand-rolled
 * scanners for the plain JSON that nearly every request is. Each only ever
 * says yes or "not on the fast path" (NULL): a no sends the request to
 * jansson, so every message and every corner of JSON stays jansson's. What
 * they take is a strict subset of what jansson takes, read to the same values
 * (fuzz/fuzz_encode.c checks that, bit for bit). */
#ifndef TABSERVE_JSONSCAN_H
#define TABSERVE_JSONSCAN_H

#include <stddef.h>

/* Past JSON whitespace. (These two are inline: a request calls them a few
 * times per member, and a call cost as much as the scan.) */
static inline const char *json_skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* A string with no escapes, control or non-ASCII bytes (those go to jansson,
 * which checks UTF-8 and decodes \u escapes). p is past the opening quote;
 * returns past the closing one, with the contents in *s, *len. */
static inline const char *json_scan_plain_string(const char *p, const char *end, const char **s, size_t *len)
{
    const char *start = p;
    while (p < end && *p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c >= 0x80 || c == '\\') return NULL;
        p++;
    }
    if (p == end) return NULL;
    *s = start;
    *len = (size_t)(p - start);
    return p + 1;
}

/* A number, read to the double jansson reads it as; returns past it, or NULL
 * (not a number, or one for jansson to judge). */
const char *json_scan_number(const char *p, const char *end, double *out);

/* After a member or an element: past the ',' before the next one (*closed 0)
 * or past `close` ('}' or ']') ending the object or array (*closed 1);
 * NULL for anything else. */
const char *json_scan_next(const char *p, const char *end, char close, int *closed);

#endif
