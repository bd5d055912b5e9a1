/* reader — strict reading of a model file's JSON: every failure names the file,
 * the JSON path and what was expected ("m.json: $.inputs[2]: member \"name\"
 * must be a string, got an integer"). Shared by every part of the model that
 * reads itself from JSON (schema, feature steps, predictors, output). */
#ifndef TABSERVE_READER_H
#define TABSERVE_READER_H

#include <stddef.h>

struct json_t;

typedef struct {
    const char *file; /* shown first in messages */
    char *err;        /* ERR_LEN bytes, or NULL */
} reader;

#define READ_NUMBER -1 /* `want` for any JSON number */
#define READ_BOOL   -2 /* `want` for true or false */

/* Formats "file: path: what" into r->err; returns -1. */
int read_fail(reader *r, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* obj[key], checked to be of JSON type `want` (a json_type, READ_NUMBER or
 * READ_BOOL); NULL with a message when absent or mistyped. */
struct json_t *read_member(reader *r, struct json_t *obj, const char *path, const char *key, int want,
                           const char *want_name);
/* obj[key] when present (checked like read_member), NULL without a message when absent;
 * *bad is set when present but mistyped. */
struct json_t *read_optional(reader *r, struct json_t *obj, const char *path, const char *key, int want,
                             const char *want_name, int *bad);

int read_finite(reader *r, struct json_t *obj, const char *path, const char *key, double *out);
const char *read_string(reader *r, struct json_t *obj, const char *path, const char *key);
/* A name (1 to 256 bytes) from obj[key]. */
const char *read_name(reader *r, struct json_t *obj, const char *path, const char *key);
/* One of names[0..n) from obj[key] (or default_name when absent and it is not
 * NULL); returns the index or -1 with a message listing the allowed names. */
int read_enum(reader *r, struct json_t *obj, const char *path, const char *key, const char *const *names,
              int n, const char *default_name);
/* An array of exactly n finite 32-bit numbers into out. */
int read_floats(reader *r, struct json_t *arr, const char *path, float *out, size_t n);
/* An array of exactly n integers in [lo, hi] into out. */
int read_ints(reader *r, struct json_t *arr, const char *path, int *out, size_t n, long lo, long hi);

#define READ_MAX_NAME 256

#endif
