/* encode — encoding and validation of model inputs. */
#include "encode.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void encode_vocab_list(const model_input *in, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < in->n_vocab && used + 1 < len; i++) {
        int n = snprintf(buf + used, len - used, in->vtype == VALUE_STRING ? "%s\"%s\"" : "%s%s",
                         i ? ", " : "", in->vocab[i]);
        if (n < 0) break;
        used += (size_t)n;
    }
}

static void put_numeric(const model_input *in, float *x, double v, int missing)
{
    if (missing) v = in->impute;
    if (in->transform == TRANSFORM_LOG1P) v = log1p(v > 0 ? v : 0);
    x[in->offset] = (float)((v - in->mean) / in->std);
    if (in->missing_indicator) x[in->offset + 1] = missing ? 1.0f : 0.0f;
}

/* index < 0: unknown category (encoded as zeros when the rule allows) */
static void put_category(const model_input *in, float *x, int index)
{
    memset(x + in->offset, 0, (size_t)in->width * sizeof *x);
    if (index >= 0) x[in->offset + index] = 1.0f;
}

static int unknown_category(const model_input *in, float *x, const char *where, const char *shown, char *err)
{
    if (in->unknown == UNKNOWN_ZEROS) {
        put_category(in, x, -1);
        return 0;
    }
    char accepted[512];
    encode_vocab_list(in, accepted, sizeof accepted);
    return err_set(err, "%s.%s: unknown category %.64s; accepted values: %s", where, in->name, shown,
                   accepted);
}

/* where == NULL: the value came from a CSV column */
static int missing_value(const model_input *in, float *x, const char *where, char *err)
{
    if (in->missing == MISSING_REQUIRED)
        return where ? err_set(err, "%s.%s: missing required field \"%s\"", where, in->name, in->name)
                     : err_set(err, "column %s: missing required value", in->name);
    if (in->kind == INPUT_NUMERIC)
        put_numeric(in, x, 0, 1);
    else
        put_category(in, x, (int)in->impute_index);
    return 0;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* One JSON value as the encoder sees it, whichever parser produced it. */
typedef struct {
    enum { SCALAR_NUMBER, SCALAR_STRING, SCALAR_OTHER } kind;
    double number;
    const char *str; /* SCALAR_STRING: len bytes, not NUL-terminated */
    size_t len;
    const char *type; /* "a number", "a string", "an object", ... for messages */
} scalar;

static int encode_scalar(const model_input *in, const scalar *v, const char *where, float *x, char *err)
{
    if (in->kind == INPUT_NUMERIC) {
        if (v->kind != SCALAR_NUMBER)
            return err_set(err, "%s.%s: expected a number, got %s", where, in->name, v->type);
        /* jansson rejects NaN/Infinity literals; huge literals like 1e999 overflow */
        if (!isfinite(v->number)) return err_set(err, "%s.%s: the number is not finite", where, in->name);
        put_numeric(in, x, v->number, 0);
        return 0;
    }
    if (in->vtype == VALUE_STRING) {
        if (v->kind != SCALAR_STRING)
            return err_set(err, "%s.%s: expected a string (one of the categories), got %s", where, in->name,
                           v->type);
        for (size_t i = 0; i < in->n_vocab; i++)
            if (strlen(in->vocab[i]) == v->len && memcmp(in->vocab[i], v->str, v->len) == 0) {
                put_category(in, x, (int)i);
                return 0;
            }
        char shown[80];
        snprintf(shown, sizeof shown, "\"%.*s\"", (int)(v->len < 60 ? v->len : 60), v->str);
        return unknown_category(in, x, where, shown, err);
    }
    /* integer categories: 3 and 3.0 are the same passenger class; 3.5 is not */
    double d = v->kind == SCALAR_NUMBER ? v->number : NAN;
    if (v->kind != SCALAR_NUMBER || d != floor(d) || fabs(d) > 9.0e15)
        return err_set(err, "%s.%s: expected an integer (one of the categories), got %s", where, in->name,
                       v->kind == SCALAR_NUMBER ? "a fractional number" : v->type);
    long long k = (long long)d;
    for (size_t i = 0; i < in->n_vocab; i++)
        if (in->vocab_int[i] == k) {
            put_category(in, x, (int)i);
            return 0;
        }
    char shown[32];
    snprintf(shown, sizeof shown, "%lld", k);
    return unknown_category(in, x, where, shown, err);
}

static int encode_json_value(const model_input *in, const json_t *v, const char *where, float *x, char *err)
{
    scalar s = {SCALAR_OTHER, 0, NULL, 0, type_name(v)};
    if (json_is_number(v)) {
        s.kind = SCALAR_NUMBER;
        s.number = json_number_value(v);
    } else if (json_is_string(v)) {
        s.kind = SCALAR_STRING;
        s.str = json_string_value(v);
        s.len = json_string_length(v);
    }
    return encode_scalar(in, &s, where, x, err);
}

int encode_json(const model *m, const json_t *obj, const char *where, float *x, int *bad_input, char *err)
{
    *bad_input = -1;
    if (!json_is_object(obj))
        return err_set(err, "%s: expected an object with the model's inputs, got %s", where, type_name(obj));
    for (size_t i = 0; i < m->n_inputs; i++) {
        const model_input *in = &m->inputs[i];
        const json_t *v = json_object_get(obj, in->name);
        int rc = (!v || json_is_null(v)) ? missing_value(in, x, where, err)
                                         : encode_json_value(in, v, where, x, err);
        if (rc != 0) {
            *bad_input = (int)i;
            return -1;
        }
    }
    return 0;
}

/* The fast path: a hand-rolled scanner for the one shape nearly every request
 * has. It only ever says yes; a no means "ask jansson", so every message and every
 * corner of JSON stays jansson's. What it takes is a strict subset of what
 * jansson takes, read to the same values (fuzz/fuzz_encode.c checks both, bit for
 * bit). It saves the ~1.2 us jansson spends building a tree for a 70-byte body. */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* A string with no escapes, control or non-ASCII bytes (those go to jansson,
 * which checks UTF-8 and decodes \u escapes). p is past the opening quote. */
static const char *scan_plain_string(const char *p, const char *end, const char **s, size_t *len)
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

/* RFC 8259's number grammar, read as jansson reads it: an integer (no fraction or
 * exponent) through strtoll then to double, anything else through strtod. */
static const char *scan_number(const char *p, const char *end, double *out)
{
    char buf[40];
    const char *q = p;
    int integer = 1;
    if (q < end && *q == '-') q++;
    if (q == end || *q < '0' || *q > '9') return NULL;
    if (*q == '0')
        q++;
    else
        while (q < end && *q >= '0' && *q <= '9') q++;
    if (q < end && *q == '.') {
        integer = 0;
        if (++q == end || *q < '0' || *q > '9') return NULL;
        while (q < end && *q >= '0' && *q <= '9') q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        integer = 0;
        if (++q < end && (*q == '+' || *q == '-')) q++;
        if (q == end || *q < '0' || *q > '9') return NULL;
        while (q < end && *q >= '0' && *q <= '9') q++;
    }
    size_t n = (size_t)(q - p);
    if (n >= sizeof buf || (integer && n > 18)) return NULL; /* no overflow for strtoll to report */
    memcpy(buf, p, n);
    buf[n] = '\0';
    *out = integer ? (double)strtoll(buf, NULL, 10) : strtod(buf, NULL);
    if (!isfinite(*out)) return NULL; /* jansson calls that an overflow */
    return q;
}

int encode_json_fast(const model *m, const char *text, size_t len, float *x)
{
    const char *p = text, *end = text + len;
    unsigned long long seen = 0;
    char *err = NULL; /* no messages on this path */
    if (m->n_inputs > 64) return -1;
    p = skip_ws(p, end);
    if (p == end || *p++ != '{') return -1;
    p = skip_ws(p, end);
    if (p < end && *p == '}') {
        p++;
    } else {
        for (;;) {
            const char *key;
            size_t key_len;
            if (p == end || *p++ != '"' || !(p = scan_plain_string(p, end, &key, &key_len))) return -1;
            size_t i = 0;
            while (i < m->n_inputs &&
                   !(strlen(m->inputs[i].name) == key_len && memcmp(m->inputs[i].name, key, key_len) == 0))
                i++;
            if (i == m->n_inputs || (seen >> i & 1)) return -1; /* other members, duplicates: jansson */
            seen |= 1ull << i;
            p = skip_ws(p, end);
            if (p == end || *p++ != ':') return -1;
            p = skip_ws(p, end);
            if (p == end) return -1;
            scalar v = {SCALAR_OTHER, 0, NULL, 0, ""};
            int rc;
            if (*p == '"') {
                v.kind = SCALAR_STRING;
                if (!(p = scan_plain_string(p + 1, end, &v.str, &v.len))) return -1;
                rc = encode_scalar(&m->inputs[i], &v, "$", x, err);
            } else if (*p == 'n') {
                if (end - p < 4 || memcmp(p, "null", 4) != 0) return -1;
                p += 4;
                rc = missing_value(&m->inputs[i], x, "$", err);
            } else {
                v.kind = SCALAR_NUMBER;
                if (!(p = scan_number(p, end, &v.number))) return -1;
                rc = encode_scalar(&m->inputs[i], &v, "$", x, err);
            }
            if (rc != 0) return -1; /* the message comes from the jansson path */
            p = skip_ws(p, end);
            if (p == end) return -1;
            if (*p == '}') {
                p++;
                break;
            }
            if (*p++ != ',') return -1;
            p = skip_ws(p, end);
        }
    }
    if (skip_ws(p, end) != end) return -1;
    for (size_t i = 0; i < m->n_inputs; i++)
        if (!(seen >> i & 1) && missing_value(&m->inputs[i], x, "$", err) != 0) return -1;
    return 0;
}

int encode_text(const model *m, const char *const *values, const size_t *lens, float *x, int *bad_input,
                char *err)
{
    *bad_input = -1;
    for (size_t i = 0; i < m->n_inputs; i++) {
        const model_input *in = &m->inputs[i];
        const char *s = values[i];
        size_t len = s ? lens[i] : 0;
        int rc = 0;
        if (len == 0) {
            rc = missing_value(in, x, NULL, err);
        } else if (in->kind == INPUT_NUMERIC) {
            double d;
            if (parse_finite_double(s, len, &d) != 0)
                rc = err_set(err, "column %s: \"%.40s\" is not a finite number", in->name, s);
            else
                put_numeric(in, x, d, 0);
        } else {
            int found = -1;
            for (size_t k = 0; k < in->n_vocab && found < 0; k++)
                if (strlen(in->vocab[k]) == len && memcmp(in->vocab[k], s, len) == 0) found = (int)k;
            if (found < 0 && in->vtype == VALUE_INTEGER) {
                /* "3.0" in a CSV is class 3 */
                double d;
                if (parse_finite_double(s, len, &d) == 0 && d == floor(d))
                    for (size_t k = 0; k < in->n_vocab && found < 0; k++)
                        if ((double)in->vocab_int[k] == d) found = (int)k;
            }
            if (found >= 0) {
                put_category(in, x, found);
            } else if (in->unknown == UNKNOWN_ZEROS) {
                put_category(in, x, -1);
            } else {
                char accepted[512];
                encode_vocab_list(in, accepted, sizeof accepted);
                rc = err_set(err, "column %s: unknown category \"%.40s\"; accepted values: %s", in->name, s,
                             accepted);
            }
        }
        if (rc != 0) {
            *bad_input = (int)i;
            return -1;
        }
    }
    return 0;
}
