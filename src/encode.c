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

static int encode_json_value(const model_input *in, const json_t *v, const char *where, float *x, char *err)
{
    if (in->kind == INPUT_NUMERIC) {
        if (!json_is_number(v))
            return err_set(err, "%s.%s: expected a number, got %s", where, in->name, type_name(v));
        double d = json_number_value(v);
        /* jansson rejects NaN/Infinity literals; huge literals like 1e999 overflow */
        if (!isfinite(d)) return err_set(err, "%s.%s: the number is not finite", where, in->name);
        put_numeric(in, x, d, 0);
        return 0;
    }
    if (in->vtype == VALUE_STRING) {
        if (!json_is_string(v))
            return err_set(err, "%s.%s: expected a string (one of the categories), got %s", where, in->name,
                           type_name(v));
        const char *s = json_string_value(v);
        for (size_t i = 0; i < in->n_vocab; i++)
            if (strcmp(in->vocab[i], s) == 0) {
                put_category(in, x, (int)i);
                return 0;
            }
        char shown[80];
        snprintf(shown, sizeof shown, "\"%.60s\"", s);
        return unknown_category(in, x, where, shown, err);
    }
    /* integer categories: 3 and 3.0 are the same passenger class; 3.5 is not */
    double d = json_is_number(v) ? json_number_value(v) : NAN;
    if (!json_is_number(v) || d != floor(d) || fabs(d) > 9.0e15)
        return err_set(err, "%s.%s: expected an integer (one of the categories), got %s", where, in->name,
                       json_is_number(v) ? "a fractional number" : type_name(v));
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
