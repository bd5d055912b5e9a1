/* encode — validation against the schema, then the feature steps. */
#include "model/encode.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/numtext.h"
#include "base/jsonscan.h"
#include "base/jsonx.h"

/* values -> x by the feature steps; an input that overflows a column is refused,
 * naming it ("$.Age: ..." for JSON, "column Age: ..." for CSV when where is NULL). */
int encode_values(const model *m, const double *values, const char *where, float *x, int *bad_input,
                  char *err)
{
    int f = features_apply(&m->features, values, x);
    if (f < 0) return 0;
    size_t in = m->features.f[f].input;
    *bad_input = (int)in;
    if (isinf(values[in]))
        return err_set(err,
                       "%s%s%s: this model has no answer for an infinity (its %s predictor computes with the "
                       "value; trees and linear models take one): send a finite number",
                       where ? where : "column ", where ? "." : "", m->schema.inputs[in].name,
                       m->predictor->ops->kind);
    return err_set(
        err,
        "%s%s%s: %g is out of range: the model's feature steps turn it into a number beyond 32-bit float "
        "range (about 3.4e38)",
        where ? where : "column ", where ? "." : "", m->schema.inputs[in].name, values[in]);
}

raw_value raw_value_of_json(const json_t *j)
{
    raw_value v = {RAW_OTHER, 0, NULL, 0, json_type_name(j)};
    if (!j || json_is_null(j)) {
        v.kind = RAW_MISSING;
    } else if (json_is_number(j)) {
        v.kind = RAW_NUMBER;
        v.number = json_number_read(j);
    } else if (json_is_string(j)) {
        v.kind = RAW_STRING;
        v.str = json_string_value(j);
        v.len = json_string_length(j);
    } else if (json_is_boolean(j)) {
        v.kind = RAW_BOOL;
        v.number = json_is_true(j);
    }
    return v;
}

/* A member name as shown in a message: at most 64 bytes, control bytes as '?'. */
static void shown_name(const char *key, char *out, size_t cap)
{
    size_t n = 0;
    for (; key[n] && n + 4 < cap && n < 64; n++)
        out[n] = (unsigned char)key[n] < 0x20 || key[n] == 0x7f ? '?' : key[n];
    if (key[n]) out[n++] = '.', out[n++] = '.', out[n++] = '.';
    out[n] = 0;
}

/* The members that are no input (an error unless ignored), and an object with
 * none of the inputs (never a request the model can have meant). */
static int check_members(const schema *s, const json_t *obj, const char *where, unsigned rules, char *err)
{
    const char *key;
    json_t *value;
    size_t known = 0;
    json_object_foreach((json_t *)obj, key, value)
    {
        if (schema_find(s, key, strlen(key)) >= 0) {
            known++;
            continue;
        }
        if (rules & ENCODE_IGNORE_UNKNOWN) continue;
        char shown[80];
        shown_name(key, shown, sizeof shown);
        int near = schema_closest(s, key, strlen(key));
        if (near >= 0)
            return err_set(err, "%s: \"%s\" is not an input of this model; did you mean \"%s\"?", where,
                           shown, s->inputs[near].name);
        return err_set(err, "%s: \"%s\" is not an input of this model (GET /model lists its %zu inputs)",
                       where, shown, s->n_inputs);
    }
    if (known == 0 && s->n_inputs > 0)
        return err_set(err, "%s: none of the model's inputs was sent (it takes %s%s%s%s); send at least one",
                       where, s->inputs[0].name, s->n_inputs > 1 ? ", " : "",
                       s->n_inputs > 1 ? s->inputs[1].name : "", s->n_inputs > 2 ? ", ..." : "");
    return 0;
}

int encode_json(const model *m, const json_t *obj, const char *where, unsigned rules, float *x,
                int *bad_input, char *err)
{
    const schema *s = &m->schema;
    double values[s->n_inputs];
    *bad_input = -1;
    if (!json_is_object(obj))
        return err_set(err, "%s: expected an object with the model's inputs, got %s", where,
                       json_type_name(obj));
    if (check_members(s, obj, where, rules, err) != 0) return -1;
    for (size_t i = 0; i < s->n_inputs; i++) {
        raw_value v = raw_value_of_json(json_object_get(obj, s->inputs[i].name));
        if (schema_value(&s->inputs[i], &v, where, &values[i], err) != 0) {
            *bad_input = (int)i;
            return -1;
        }
    }
    return encode_values(m, values, where, x, bad_input, err);
}

int encode_text(const model *m, const char *const *texts, const size_t *lens, float *x, int *bad_input,
                char *err)
{
    const schema *s = &m->schema;
    double values[s->n_inputs];
    *bad_input = -1;
    for (size_t i = 0; i < s->n_inputs; i++)
        if (schema_text_value(&s->inputs[i], texts[i], texts[i] ? lens[i] : 0, &values[i], err) != 0) {
            *bad_input = (int)i;
            return -1;
        }
    return encode_values(m, values, NULL, x, bad_input, err);
}

/* The fast path: a hand-rolled scanner for the one shape nearly every request
 * has. It only ever says yes; a no means "ask jansson", so every message and every
 * corner of JSON stays jansson's. What it takes is a strict subset of what
 * jansson takes, read to the same values (fuzz/fuzz_encode.c checks both, bit for
 * bit). It saves the ~1.2 us jansson spends building a tree for a 70-byte body. */

static inline int same_name(const schema_input *in, const char *key, size_t len)
{
    if (in->name_len != len) return 0;
    for (size_t i = 0; i < len; i++)
        if (in->name[i] != key[i]) return 0;
    return 1;
}

int encode_json_fast(const model *m, const char *text, size_t len, float *x)
{
    const schema *s = &m->schema;
    const char *p = text, *end = text + len;
    unsigned long long seen = 0;
    size_t next = 0;
    double values[s->n_inputs > 64 ? 1 : s->n_inputs];
    if (s->n_inputs > 64) return -1;
    p = json_skip_ws(p, end);
    if (p == end || *p++ != '{') return -1;
    p = json_skip_ws(p, end);
    if (p < end && *p == '}') {
        p++;
    } else {
        for (;;) {
            const char *key;
            size_t key_len;
            if (p == end || *p++ != '"' || !(p = json_scan_plain_string(p, end, &key, &key_len))) return -1;
            /* clients send the members in the model's order: try the next input first */
            int i = next < s->n_inputs && same_name(&s->inputs[next], key, key_len)
                        ? (int)next
                        : schema_find(s, key, key_len);
            next = (size_t)i + 1;
            if (i < 0 || (seen >> i & 1)) return -1; /* other members, duplicates: jansson */
            seen |= 1ull << i;
            p = json_skip_ws(p, end);
            if (p == end || *p++ != ':') return -1;
            p = json_skip_ws(p, end);
            if (p == end) return -1;
            raw_value v = {RAW_MISSING, 0, NULL, 0, ""};
            if (*p == '"') {
                v.kind = RAW_STRING;
                if (!(p = json_scan_plain_string(p + 1, end, &v.str, &v.len))) return -1;
            } else if (*p == 'n') {
                if (end - p < 4 || memcmp(p, "null", 4) != 0) return -1;
                p += 4;
            } else {
                v.kind = RAW_NUMBER;
                if (!(p = json_scan_number(p, end, &v.number))) return -1;
            }
            /* no message on this path: the jansson path gives it */
            if (schema_value(&s->inputs[i], &v, "$", &values[i], NULL) != 0) return -1;
            p = json_skip_ws(p, end);
            if (p == end) return -1;
            if (*p == '}') {
                p++;
                break;
            }
            if (*p++ != ',') return -1;
            p = json_skip_ws(p, end);
        }
    }
    if (json_skip_ws(p, end) != end || !seen) return -1; /* {}: jansson's path refuses it */
    raw_value absent = {RAW_MISSING, 0, NULL, 0, ""};
    for (size_t i = 0; i < s->n_inputs; i++)
        if (!(seen >> i & 1) && schema_value(&s->inputs[i], &absent, "$", &values[i], NULL) != 0) return -1;
    return features_apply(&m->features, values, x) < 0 ? 0 : -1; /* an overflow: jansson's path says which */
}
