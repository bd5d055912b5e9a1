/* ubjson — UBJSON into a jansson document (ubjson.h). A recursive descent
 * over a cursor; each container's members are appended as they are read. */
#include "formats/ubjson.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

typedef struct {
    const unsigned char *p, *start, *end;
    char *err;
    int depth;
} cursor;

static int fail(cursor *c, const char *what)
{
    return err_set(c->err, "byte %zu: %s", (size_t)(c->p - c->start), what);
}

static size_t left(const cursor *c) { return (size_t)(c->end - c->p); }

/* n big-endian bytes as an unsigned integer */
static uint64_t big_endian(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

static int size_of(unsigned char marker)
{
    switch (marker) {
    case 'i':
    case 'U':
    case 'C': return 1;
    case 'I': return 2;
    case 'l':
    case 'd': return 4;
    case 'L':
    case 'D': return 8;
    default: return 0;
    }
}

/* An integer of the given marker, read into *out. */
static int integer(cursor *c, unsigned char marker, int64_t *out)
{
    int n = size_of(marker);
    if (!n || marker == 'd' || marker == 'D' || marker == 'C') return fail(c, "expected an integer marker");
    if (left(c) < (size_t)n) return fail(c, "the data ends inside an integer");
    uint64_t u = big_endian(c->p, n);
    c->p += n;
    if (marker == 'U')
        *out = (int64_t)u;
    else if (n == 1)
        *out = (int8_t)u;
    else if (n == 2)
        *out = (int16_t)u;
    else if (n == 4)
        *out = (int32_t)u;
    else
        *out = (int64_t)u;
    return 0;
}

/* A length: an integer marker and value, not negative. */
static int length(cursor *c, size_t *out)
{
    if (left(c) < 1) return fail(c, "the data ends where a length was expected");
    int64_t v;
    unsigned char m = *c->p++;
    if (integer(c, m, &v) != 0) return -1;
    if (v < 0) return fail(c, "a negative length");
    *out = (size_t)v;
    return 0;
}

static json_t *value_of(cursor *c, unsigned char marker);

static json_t *number(cursor *c, unsigned char marker)
{
    if (marker == 'd' || marker == 'D') {
        int n = marker == 'd' ? 4 : 8;
        if (left(c) < (size_t)n) return fail(c, "the data ends inside a float"), NULL;
        uint64_t u = big_endian(c->p, n);
        c->p += n;
        double v;
        if (n == 4) {
            uint32_t u32 = (uint32_t)u;
            float f;
            memcpy(&f, &u32, sizeof f);
            v = f;
        } else
            memcpy(&v, &u, sizeof v);
        return isfinite(v) ? json_real(v) : json_null(); /* as XGBoost's bare NaN is read */
    }
    int64_t v;
    if (integer(c, marker, &v) != 0) return NULL;
    return json_integer((json_int_t)v);
}

static json_t *string(cursor *c, int is_char)
{
    size_t n = 1;
    if (!is_char && length(c, &n) != 0) return NULL;
    if (left(c) < n) return fail(c, "the data ends inside a string"), NULL;
    json_t *s = json_stringn((const char *)c->p, n);
    if (!s) return fail(c, "a string that is not UTF-8"), NULL;
    c->p += n;
    return s;
}

static json_t *high_precision(cursor *c)
{
    size_t n;
    if (length(c, &n) != 0) return NULL;
    if (left(c) < n || n == 0 || n > 64) return fail(c, "a high-precision number of a bad length"), NULL;
    char text[65];
    memcpy(text, c->p, n);
    text[n] = 0;
    char *end;
    double v = strtod(text, &end);
    if (*end || !isfinite(v)) return fail(c, "a high-precision number that is not a number"), NULL;
    c->p += n;
    return json_real(v);
}

/* After '[' or '{': an optional '$' type and '#' count. */
static int container_head(cursor *c, unsigned char *type, size_t *count, int *counted)
{
    *type = 0;
    *counted = 0;
    if (left(c) >= 2 && *c->p == '$') {
        c->p++;
        *type = *c->p++;
        if (!size_of(*type) && !strchr("ZTFSH", *type)) return fail(c, "an unknown container type marker");
        if (left(c) < 1 || *c->p != '#') return fail(c, "a container type without a count ('#')");
    }
    if (left(c) >= 1 && *c->p == '#') {
        c->p++;
        if (length(c, count) != 0) return -1;
        *counted = 1;
        /* every element takes at least one byte (a typed one its size) */
        size_t each = *type && size_of(*type) ? (size_t)size_of(*type) : 1;
        if (*type && strchr("ZTF", *type)) each = 0;
        if (each && *count > left(c) / each) return fail(c, "a count larger than the data left");
        if (!each && *count > ((size_t)1 << 24)) return fail(c, "a count of empty values over 16 million");
    }
    return 0;
}

static json_t *array(cursor *c)
{
    unsigned char type;
    size_t count;
    int counted;
    if (container_head(c, &type, &count, &counted) != 0) return NULL;
    json_t *a = json_array();
    if (!a) return fail(c, "out of memory"), NULL;
    for (size_t i = 0; !counted || i < count; i++) {
        if (!counted) {
            while (left(c) && *c->p == 'N') c->p++; /* no-op */
            if (!left(c)) return json_decref(a), fail(c, "the data ends inside an array"), NULL;
            if (*c->p == ']') {
                c->p++;
                break;
            }
        }
        unsigned char m = type;
        if (!m) {
            if (!left(c)) return json_decref(a), fail(c, "the data ends inside an array"), NULL;
            m = *c->p++;
        }
        json_t *v = value_of(c, m);
        if (!v || json_array_append_new(a, v) != 0) {
            json_decref(a);
            return v ? fail(c, "out of memory"), NULL : NULL;
        }
    }
    return a;
}

static json_t *object(cursor *c)
{
    unsigned char type;
    size_t count;
    int counted;
    if (container_head(c, &type, &count, &counted) != 0) return NULL;
    json_t *o = json_object();
    if (!o) return fail(c, "out of memory"), NULL;
    for (size_t i = 0; !counted || i < count; i++) {
        if (!counted) {
            while (left(c) && *c->p == 'N') c->p++;
            if (!left(c)) return json_decref(o), fail(c, "the data ends inside an object"), NULL;
            if (*c->p == '}') {
                c->p++;
                break;
            }
        }
        size_t n;
        if (length(c, &n) != 0) return json_decref(o), NULL;
        if (left(c) < n) return json_decref(o), fail(c, "the data ends inside a key"), NULL;
        if (memchr(c->p, 0, n)) return json_decref(o), fail(c, "a key with a NUL byte"), NULL;
        char *key = malloc(n + 1);
        if (!key) return json_decref(o), fail(c, "out of memory"), NULL;
        memcpy(key, c->p, n);
        key[n] = 0;
        const unsigned char *key_at = c->p;
        c->p += n;
        unsigned char m = type;
        if (!m) {
            if (!left(c)) {
                free(key);
                return json_decref(o), fail(c, "the data ends before a member's value"), NULL;
            }
            m = *c->p++;
        }
        if (json_object_get(o, key)) {
            free(key);
            c->p = key_at;
            return json_decref(o), fail(c, "a key given twice"), NULL;
        }
        json_t *v = value_of(c, m);
        int bad = !v || json_object_set_new(o, key, v) != 0;
        if (bad && v) { /* set_new took v: it fails on a key that is not UTF-8 */
            free(key);
            c->p = key_at;
            return json_decref(o), fail(c, "a key that is not UTF-8"), NULL;
        }
        free(key);
        if (bad) return json_decref(o), NULL;
    }
    return o;
}

static json_t *value_of(cursor *c, unsigned char marker)
{
    switch (marker) {
    case 'Z': return json_null();
    case 'T': return json_true();
    case 'F': return json_false();
    case 'S': return string(c, 0);
    case 'C': return string(c, 1);
    case 'H': return high_precision(c);
    case '[':
    case '{': {
        if (++c->depth > UBJSON_MAX_DEPTH) return fail(c, "containers nested deeper than 64"), NULL;
        json_t *v = marker == '[' ? array(c) : object(c);
        c->depth--;
        return v;
    }
    default:
        if (size_of(marker)) return number(c, marker);
        c->p--;
        return fail(c, "an unknown type marker"), NULL;
    }
}

int ubjson_is(const char *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf;
    return len >= 2 && p[0] == '{' && strchr("iUIlL$#", p[1]) && p[1];
}

json_t *ubjson_load(const char *buf, size_t len, char *err)
{
    cursor c = {(const unsigned char *)buf, (const unsigned char *)buf, (const unsigned char *)buf + len, err,
                0};
    if (!len) return fail(&c, "no data"), NULL;
    unsigned char m = *c.p++;
    json_t *v = value_of(&c, m);
    if (v && c.p != c.end) {
        json_decref(v);
        return fail(&c, "more data after the document"), NULL;
    }
    return v;
}
