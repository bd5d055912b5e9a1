/* tensor — one input tensor of a request, as the Open Inference Protocol
 * sends it: a datatype, a shape, and its elements either as JSON `data` (flat,
 * or nested as the shape) or as raw little-endian bytes (the binary tensor
 * data extension; BYTES elements each a 4-byte length and the bytes). Read one
 * element at a time as a raw_value, which the schema then validates, so a
 * value from a tensor is checked exactly as one from POST /model. */
#ifndef TABSERVE_TENSOR_H
#define TABSERVE_TENSOR_H

#include <stddef.h>

#include "model/schema.h"

struct json_t;

typedef enum {
    DT_BOOL,
    DT_UINT8,
    DT_UINT16,
    DT_UINT32,
    DT_UINT64,
    DT_INT8,
    DT_INT16,
    DT_INT32,
    DT_INT64,
    DT_FP32,
    DT_FP64,
    DT_BYTES,
    DT_UNSUPPORTED
} tensor_dtype;

#define TENSOR_MAX_RANK 2

typedef struct {
    tensor_dtype dtype;
    const char *dtype_name;
    int rank;
    long shape[TENSOR_MAX_RANK];
    long count; /* elements: the shape's product */
    /* JSON: data as sent; nested when it is an array of rows */
    const struct json_t *data;
    int nested;
    /* binary: the tensor's bytes; BYTES elements are read in order through a cursor */
    const unsigned char *bin;
    size_t bin_len;
    size_t cursor;
    long cursor_index;
} tensor_in;

/* The datatype named (FP32, INT64, BYTES, ...); DT_UNSUPPORTED for FP16, BF16
 * and names that are none. */
tensor_dtype tensor_dtype_of(const char *name);
/* The same for len bytes of text (the request fast path: no copy, no strcmp scan). */
tensor_dtype tensor_dtype_of_n(const char *name, size_t len);

/* Reads "shape" (an array of 1 or 2 non-negative integers) into t. Returns 0,
 * or -1 with err saying what the shape must be; `where` prefixes messages. */
int tensor_set_shape(tensor_in *t, const struct json_t *shape, const char *where, char *err);

/* Attaches JSON data, checking it holds exactly count elements, flat or nested
 * by the shape. Returns 0 or -1 with err. */
int tensor_set_json(tensor_in *t, const struct json_t *data, const char *where, char *err);

/* Attaches len raw bytes, checking they hold exactly count elements. */
int tensor_set_binary(tensor_in *t, const unsigned char *bytes, size_t len, const char *where, char *err);

/* Element k (0 <= k < count) of $.inputs[index] as a raw value: numbers for
 * the numeric types, booleans for BOOL, strings for BYTES, missing for a JSON
 * null or a NaN. Returns 0, or -1 with err ("$.inputs[2].data[5]: expected
 * ...", err may be NULL) when a JSON element is not of the datatype. */
int tensor_get(tensor_in *t, long k, raw_value *out, int index, char *err);

/* Whether v fits datatype d (INT8 -128..127, UINT8 0..255, ..., FP32 within
 * about 3.4e38): a value out of its declared type's range is refused, never
 * scored as the number it is. */
int tensor_in_range(tensor_dtype d, double v);

#endif
