/* reader — typed, path-named access to a model file's JSON. */
#include "model/reader.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/jsonx.h"

int read_fail(reader *r, const char *path, const char *fmt, ...)
{
    char what[ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return err_set(r->err, "%s: %s: %s", r->file, path, what);
}

static int has_type(const json_t *v, int want)
{
    if (want == READ_NUMBER) return json_is_number(v);
    if (want == READ_BOOL) return json_is_boolean(v);
    return (int)json_typeof(v) == want;
}

json_t *read_optional(reader *r, json_t *obj, const char *path, const char *key, int want,
                      const char *want_name, int *bad)
{
    json_t *v = json_object_get(obj, key);
    *bad = 0;
    if (!v || has_type(v, want)) return v;
    read_fail(r, path, "member \"%s\" must be %s, got %s", key, want_name, json_type_name(v));
    *bad = 1;
    return NULL;
}

json_t *read_member(reader *r, json_t *obj, const char *path, const char *key, int want,
                    const char *want_name)
{
    int bad;
    json_t *v = read_optional(r, obj, path, key, want, want_name, &bad);
    if (!v && !bad) read_fail(r, path, "missing member \"%s\" (expected %s)", key, want_name);
    return v;
}

int read_finite(reader *r, json_t *obj, const char *path, const char *key, double *out)
{
    json_t *v = read_member(r, obj, path, key, READ_NUMBER, "a finite number");
    if (!v) return -1;
    *out = json_number_value(v);
    if (!isfinite(*out)) return read_fail(r, path, "member \"%s\" must be finite", key);
    return 0;
}

const char *read_string(reader *r, json_t *obj, const char *path, const char *key)
{
    json_t *v = read_member(r, obj, path, key, JSON_STRING, "a string");
    return v ? json_string_value(v) : NULL;
}

const char *read_name(reader *r, json_t *obj, const char *path, const char *key)
{
    const char *s = read_string(r, obj, path, key);
    if (s && (!*s || strlen(s) > READ_MAX_NAME)) {
        read_fail(r, path, "member \"%s\" must be 1 to %d bytes", key, READ_MAX_NAME);
        return NULL;
    }
    return s;
}

int read_enum(reader *r, json_t *obj, const char *path, const char *key, const char *const *names, int n,
              const char *default_name)
{
    const char *s;
    if (default_name && !json_object_get(obj, key))
        s = default_name;
    else if (!(s = read_string(r, obj, path, key)))
        return -1;
    char allowed[256] = "";
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) return i;
        snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s\"%s\"", i ? ", " : "",
                 names[i]);
    }
    read_fail(r, path, "member \"%s\" is \"%.64s\", expected one of %s", key, s, allowed);
    return -1;
}

int read_floats(reader *r, json_t *arr, const char *path, float *out, size_t n)
{
    if (!json_is_array(arr)) return read_fail(r, path, "expected an array, got %s", json_type_name(arr));
    if (json_array_size(arr) != n)
        return read_fail(r, path, "expected %zu numbers, got %zu", n, json_array_size(arr));
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        double d = json_is_number(v) ? json_number_value(v) : NAN;
        if (!json_is_number(v) || !isfinite(d) || fabs(d) > 3.4e38)
            return read_fail(r, path, "[%zu]: expected a finite 32-bit number, got %s", i,
                             json_is_number(v) ? "a non-finite value" : json_type_name(v));
        out[i] = (float)d;
    }
    return 0;
}

int read_ints(reader *r, json_t *arr, const char *path, int *out, size_t n, long lo, long hi)
{
    if (!json_is_array(arr)) return read_fail(r, path, "expected an array, got %s", json_type_name(arr));
    if (json_array_size(arr) != n)
        return read_fail(r, path, "expected %zu integers, got %zu", n, json_array_size(arr));
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v))
            return read_fail(r, path, "[%zu]: expected an integer, got %s", i, json_type_name(v));
        json_int_t k = json_integer_value(v);
        if (k < lo || k > hi)
            return read_fail(r, path, "[%zu]: %lld is outside %ld..%ld", i, (long long)k, lo, hi);
        out[i] = (int)k;
    }
    return 0;
}
