/* tensor — shape and data checks up front, then element reads that cannot run
 * past what was checked. */
#include "serve/tensor.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"
#include "base/jsonx.h"

static const struct {
    const char *name;
    tensor_dtype dtype;
    int size; /* bytes per element in binary form; 0: BYTES (length-prefixed) */
} dtypes[] = {
    {"BOOL", DT_BOOL, 1},     {"UINT8", DT_UINT8, 1}, {"UINT16", DT_UINT16, 2}, {"UINT32", DT_UINT32, 4},
    {"UINT64", DT_UINT64, 8}, {"INT8", DT_INT8, 1},   {"INT16", DT_INT16, 2},   {"INT32", DT_INT32, 4},
    {"INT64", DT_INT64, 8},   {"FP32", DT_FP32, 4},   {"FP64", DT_FP64, 8},     {"BYTES", DT_BYTES, 0},
};

tensor_dtype tensor_dtype_of_n(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (dtypes[i].name[0] == name[0] && strlen(dtypes[i].name) == len &&
            memcmp(name, dtypes[i].name, len) == 0)
            return dtypes[i].dtype;
    return DT_UNSUPPORTED;
}

tensor_dtype tensor_dtype_of(const char *name) { return tensor_dtype_of_n(name, strlen(name)); }

static int size_of(tensor_dtype d) { return d < DT_UNSUPPORTED ? dtypes[d].size : 0; }

int tensor_set_shape(tensor_in *t, const json_t *shape, const char *where, char *err)
{
    size_t rank = json_array_size(shape);
    if (!json_is_array(shape) || rank < 1 || rank > TENSOR_MAX_RANK)
        return err_set(err, "%s.shape: expected [rows] or [rows, columns], got %s", where,
                       json_is_array(shape) ? "an array of another length" : json_type_name(shape));
    t->rank = (int)rank;
    t->count = 1;
    for (size_t i = 0; i < rank; i++) {
        const json_t *d = json_array_get(shape, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > (1 << 24))
            return err_set(err, "%s.shape[%zu]: expected an integer from 0 to %d", where, i, 1 << 24);
        t->shape[i] = (long)json_integer_value(d);
        t->count *= t->shape[i];
    }
    if (t->count > (1L << 26)) return err_set(err, "%s.shape: %ld elements is too many", where, t->count);
    return 0;
}

int tensor_set_json(tensor_in *t, const json_t *data, const char *where, char *err)
{
    t->data = data;
    t->nested = 0;
    if (!json_is_array(data))
        return err_set(err, "%s.data: expected an array, got %s", where, json_type_name(data));
    size_t n = json_array_size(data);
    if (n == (size_t)t->count && !(n > 0 && json_is_array(json_array_get(data, 0)))) return 0;
    /* nested: one array per row, each of shape[1] elements ([n, 1] as [[a], [b]]) */
    long cols = t->rank == 2 ? t->shape[1] : 1;
    if (n == (size_t)t->shape[0] && (t->rank == 2 || n == 0)) {
        for (size_t r = 0; r < n; r++) {
            const json_t *row = json_array_get(data, r);
            if (!json_is_array(row) || json_array_size(row) != (size_t)cols)
                return err_set(err, "%s.data[%zu]: expected an array of %ld elements (the shape's columns)",
                               where, r, cols);
        }
        t->nested = 1;
        return 0;
    }
    return err_set(err, "%s.data: %zu elements, but the shape holds %ld", where, n, t->count);
}

int tensor_set_binary(tensor_in *t, const unsigned char *bytes, size_t len, const char *where, char *err)
{
    t->bin = bytes;
    t->bin_len = len;
    t->cursor = 0;
    t->cursor_index = 0;
    int size = size_of(t->dtype);
    if (size) {
        if (len != (size_t)t->count * (size_t)size)
            return err_set(err, "%s: binary_data_size is %zu bytes, but %ld %s elements take %zu", where, len,
                           t->count, t->dtype_name, (size_t)t->count * (size_t)size);
        return 0;
    }
    size_t at = 0; /* BYTES: each element a 4-byte little-endian length, then the bytes */
    for (long k = 0; k < t->count; k++) {
        uint32_t n;
        if (len - at < 4) return err_set(err, "%s: binary data ends inside element %ld's length", where, k);
        memcpy(&n, bytes + at, 4);
        if (len - at - 4 < n) return err_set(err, "%s: binary data ends inside element %ld", where, k);
        at += 4 + n;
    }
    if (at != len)
        return err_set(err, "%s: %zu bytes after the %ld elements of the shape", where, len - at, t->count);
    return 0;
}

static int is_integer_type(tensor_dtype d) { return d >= DT_UINT8 && d <= DT_INT64; }

int tensor_in_range(tensor_dtype d, double v)
{
    switch (d) {
    case DT_UINT8: return v >= 0 && v <= UINT8_MAX;
    case DT_UINT16: return v >= 0 && v <= UINT16_MAX;
    case DT_UINT32: return v >= 0 && v <= UINT32_MAX;
    case DT_UINT64: return v >= 0 && v <= 18446744073709551615.0;
    case DT_INT8: return v >= INT8_MIN && v <= INT8_MAX;
    case DT_INT16: return v >= INT16_MIN && v <= INT16_MAX;
    case DT_INT32: return v >= INT32_MIN && v <= INT32_MAX;
    case DT_INT64: return v >= -9223372036854775808.0 && v < 9223372036854775808.0;
    case DT_FP32: return isfinite((float)v) || !isfinite(v); /* a finite number past FP32's range */
    default: return 1;
    }
}

static int json_element(tensor_in *t, long k, raw_value *out, int index, char *err)
{
    const json_t *e;
    if (t->nested) {
        long cols = t->rank == 2 ? t->shape[1] : 1;
        e = json_array_get(json_array_get(t->data, (size_t)(k / cols)), (size_t)(k % cols));
    } else {
        e = json_array_get(t->data, (size_t)k);
    }
    memset(out, 0, sizeof *out);
    if (json_is_null(e)) {
        out->kind = RAW_MISSING;
        return 0;
    }
    switch (t->dtype) {
    case DT_BOOL:
        if (!json_is_boolean(e)) break;
        out->kind = RAW_BOOL;
        out->number = json_is_true(e);
        return 0;
    case DT_BYTES:
        if (!json_is_string(e)) break;
        out->kind = RAW_STRING;
        out->str = json_string_value(e);
        out->len = json_string_length(e);
        return 0;
    default:
        if (!json_is_number(e) || (is_integer_type(t->dtype) && !json_is_integer(e))) break;
        out->kind = RAW_NUMBER;
        out->number = json_number_read(e);
        if (t->dtype <= DT_UINT64 && out->number < 0)
            return err_set(err, "$.inputs[%d].data[%ld]: %g is negative, but the datatype is %s", index, k,
                           out->number, t->dtype_name);
        if (!tensor_in_range(t->dtype, out->number))
            return err_set(err, "$.inputs[%d].data[%ld]: %.17g is out of the range of %s", index, k,
                           out->number, t->dtype_name);
        if (t->dtype == DT_FP32) out->number = (float)out->number; /* as the client's float would be */
        return 0;
    }
    return err_set(err, "$.inputs[%d].data[%ld]: expected %s (%s), got %s", index, k,
                   t->dtype == DT_BOOL         ? "a boolean"
                   : t->dtype == DT_BYTES      ? "a string"
                   : is_integer_type(t->dtype) ? "an integer"
                                               : "a number",
                   t->dtype_name, json_type_name(e));
}

static void binary_element(tensor_in *t, long k, raw_value *out)
{
    memset(out, 0, sizeof *out);
    if (t->dtype == DT_BYTES) {
        if (k < t->cursor_index) t->cursor = 0, t->cursor_index = 0;
        uint32_t n;
        for (;;) {
            memcpy(&n, t->bin + t->cursor, 4);
            if (t->cursor_index == k) break;
            t->cursor += 4 + n;
            t->cursor_index++;
        }
        out->kind = RAW_STRING;
        out->str = (const char *)t->bin + t->cursor + 4;
        out->len = n;
        return;
    }
    const unsigned char *p = t->bin + (size_t)k * (size_t)size_of(t->dtype);
    double v = 0;
    switch (t->dtype) { /* little-endian, as the extension sends them (and x86 and arm64 hold them) */
    case DT_BOOL: v = *p != 0; break;
    case DT_UINT8: v = *p; break;
    case DT_INT8: v = (int8_t)*p; break;
#define READ(type)                                                                                           \
    {                                                                                                        \
        type x;                                                                                              \
        memcpy(&x, p, sizeof x);                                                                             \
        v = (double)x;                                                                                       \
    }                                                                                                        \
    break;
    case DT_UINT16: READ(uint16_t)
    case DT_UINT32: READ(uint32_t)
    case DT_UINT64: READ(uint64_t)
    case DT_INT16: READ(int16_t)
    case DT_INT32: READ(int32_t)
    case DT_INT64: READ(int64_t)
    case DT_FP32: READ(float)
    case DT_FP64: READ(double)
#undef READ
    default: break;
    }
    if (isnan(v)) {
        out->kind = RAW_MISSING;
        return;
    }
    out->kind = t->dtype == DT_BOOL ? RAW_BOOL : RAW_NUMBER;
    out->number = v;
}

int tensor_get(tensor_in *t, long k, raw_value *out, int index, char *err)
{
    if (t->bin || !t->data) {
        binary_element(t, k, out);
        return 0;
    }
    return json_element(t, k, out, index, err);
}
