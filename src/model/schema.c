/* schema — input validation and the schema's JSON form. */
#define _POSIX_C_SOURCE 200809L
#include "model/schema.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/jsonx.h"
#include "base/numtext.h"

static const char *const type_names[] = {"number", "integer", "string", "boolean"};
static const char *const unknown_names[] = {"reject", "zeros", "missing"};

const char *value_type_name(value_type t) { return type_names[t]; }

int schema_index(schema *s)
{
    for (size_t i = 0; i < s->n_inputs; i++) {
        schema_input *in = &s->inputs[i];
        in->name_len = strlen(in->name);
        free(in->vocab_len);
        in->vocab_len = NULL;
        if (in->n_vocab && !(in->vocab_len = malloc(in->n_vocab * sizeof *in->vocab_len))) return -1;
        for (size_t j = 0; j < in->n_vocab; j++) in->vocab_len[j] = strlen(in->vocab[j]);
    }
    return 0;
}

/* Both lookups work before schema_index (while a file is read) and faster after it. */
int schema_find(const schema *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->n_inputs; i++) {
        const schema_input *in = &s->inputs[i];
        if ((in->name_len ? in->name_len : strlen(in->name)) == len && (len == 0 || in->name[0] == name[0]) &&
            memcmp(in->name, name, len) == 0)
            return (int)i;
    }
    return -1;
}

int schema_vocab_find(const schema_input *in, const char *s, size_t len)
{
    for (size_t i = 0; i < in->n_vocab; i++)
        if ((in->vocab_len ? in->vocab_len[i] : strlen(in->vocab[i])) == len &&
            memcmp(in->vocab[i], s, len) == 0)
            return (int)i;
    return -1;
}

int schema_category_of_json(const schema_input *in, const json_t *v)
{
    char text[32];
    const char *s = NULL;
    if (in->type == TYPE_STRING && json_is_string(v)) s = json_string_value(v);
    if (in->type == TYPE_INTEGER && json_is_integer(v)) {
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
        s = text;
    }
    return s ? schema_vocab_find(in, s, strlen(s)) : -1;
}

/* The accepted values of a categorical input, as `"a", "b", "c"` or `1, 2, 3`, into buf. */
static void schema_vocab_list(const schema_input *in, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < in->n_vocab && used + 1 < len; i++) {
        int n = snprintf(buf + used, len - used, in->type == TYPE_STRING ? "%s\"%s\"" : "%s%s", i ? ", " : "",
                         in->vocab[i]);
        if (n < 0) break;
        used += (size_t)n;
    }
}

/* ---- validation ---------------------------------------------------------- */

/* "$[3].Age" for JSON, "column Age" for CSV */
static const char *subject(char *buf, size_t len, const char *where, const schema_input *in)
{
    if (where)
        snprintf(buf, len, "%s.%s", where, in->name);
    else
        snprintf(buf, len, "column %s", in->name);
    return buf;
}

static int fail(const schema_input *in, const char *where, char *err, const char *what, const char *detail)
{
    char who[READ_MAX_NAME + 40];
    return err_set(err, "%s: %s%s", subject(who, sizeof who, where, in), what, detail);
}

static int unknown_category(const schema_input *in, const char *where, const char *shown, double *out,
                            char *err)
{
    if (in->unknown == UNKNOWN_ZEROS) {
        *out = -1;
        return 0;
    }
    if (in->unknown == UNKNOWN_MISSING) {
        *out = NAN;
        return 0;
    }
    char who[READ_MAX_NAME + 40], accepted[512];
    schema_vocab_list(in, accepted, sizeof accepted);
    return err_set(err, "%s: unknown category %.64s; accepted values: %s",
                   subject(who, sizeof who, where, in), shown, accepted);
}

static int missing(const schema_input *in, const char *where, double *out, char *err)
{
    if (!in->required) {
        *out = NAN;
        return 0;
    }
    char detail[READ_MAX_NAME + 8];
    if (!where) return fail(in, where, err, "missing required value", "");
    snprintf(detail, sizeof detail, " \"%s\"", in->name);
    return fail(in, where, err, "missing required field", detail);
}

static const char *got(const raw_value *v)
{
    switch (v->kind) {
    case RAW_NUMBER: return "a number";
    case RAW_STRING: return "a string";
    case RAW_BOOL: return "a boolean";
    default: return v->type_name;
    }
}

int schema_value(const schema_input *in, const raw_value *v, const char *where, double *out, char *err)
{
    char detail[96];
    if (v->kind == RAW_MISSING) return missing(in, where, out, err);
    switch (in->type) {
    case TYPE_NUMBER:
        if (v->kind != RAW_NUMBER) return fail(in, where, err, "expected a number, got ", got(v));
        /* a NaN arrives as missing; an infinity is a value (features_apply
         * refuses it where the predictor has no answer for one) */
        if (isnan(v->number)) return fail(in, where, err, "the number is not a number", "");
        *out = v->number;
        return 0;
    case TYPE_BOOLEAN:
        if (v->kind != RAW_BOOL) return fail(in, where, err, "expected a boolean, got ", got(v));
        *out = v->number;
        return 0;
    case TYPE_STRING:
        if (v->kind != RAW_STRING)
            return fail(in, where, err, "expected a string (one of the categories), got ", got(v));
        int k = schema_vocab_find(in, v->str, v->len);
        if (k >= 0) {
            *out = k;
            return 0;
        }
        snprintf(detail, sizeof detail, "\"%.*s\"", (int)(v->len < 60 ? v->len : 60), v->str);
        return unknown_category(in, where, detail, out, err);
    case TYPE_INTEGER: {
        /* 3 and 3.0 are the same passenger class; 3.5 is not */
        double d = v->kind == RAW_NUMBER ? v->number : NAN;
        const char *what =
            in->n_vocab ? "expected an integer (one of the categories), got " : "expected an integer, got ";
        if (v->kind != RAW_NUMBER) return fail(in, where, err, what, got(v));
        if (isinf(d)) return fail(in, where, err, what, "an infinity");
        if (d != floor(d) || fabs(d) > 9.0e15) return fail(in, where, err, what, "a fractional number");
        if (!in->n_vocab) {
            *out = d;
            return 0;
        }
        long long key = (long long)d;
        for (size_t i = 0; i < in->n_vocab; i++)
            if (in->vocab_int[i] == key) {
                *out = (double)i;
                return 0;
            }
        snprintf(detail, sizeof detail, "%lld", key);
        return unknown_category(in, where, detail, out, err);
    }
    }
    return -1;
}

int schema_text_value(const schema_input *in, const char *s, size_t len, double *out, char *err)
{
    raw_value v = {RAW_MISSING, 0, s, len, "text"};
    if (len == 0) return schema_value(in, &v, NULL, out, err);
    /* the common cells take the short way: a number, or a category's exact text */
    if (in->type == TYPE_NUMBER && parse_finite_double(s, len, out) == 0) return 0;
    int k = in->n_vocab ? schema_vocab_find(in, s, len) : -1;
    if (k >= 0) { /* "3" is its vocabulary text: no need to parse it */
        *out = k;
        return 0;
    }
    if (in->type == TYPE_STRING) {
        v.kind = RAW_STRING;
        return schema_value(in, &v, NULL, out, err);
    }
    if (in->type == TYPE_BOOLEAN) {
        if ((len == 4 && memcmp(s, "true", 4) == 0) || (len == 1 && *s == '1'))
            v.number = 1;
        else if (!((len == 5 && memcmp(s, "false", 5) == 0) || (len == 1 && *s == '0')))
            return err_set(err, "column %s: \"%.*s\" is not a boolean (true, false, 1 or 0)", in->name,
                           (int)(len < 40 ? len : 40), s);
        v.kind = RAW_BOOL;
        return schema_value(in, &v, NULL, out, err);
    }
    if (parse_finite_double(s, len, &v.number) != 0) {
        if (in->n_vocab) {
            char shown[64];
            snprintf(shown, sizeof shown, "\"%.*s\"", (int)(len < 40 ? len : 40), s);
            return unknown_category(in, NULL, shown, out, err);
        }
        return err_set(err, "column %s: \"%.*s\" is not a finite number", in->name,
                       (int)(len < 40 ? len : 40), s);
    }
    v.kind = RAW_NUMBER; /* an integer input, or "3.0" for class 3 */
    return schema_value(in, &v, NULL, out, err);
}

/* ---- JSON form ------------------------------------------------------------ */

int schema_read_vocab(reader *r, schema_input *in, json_t *arr, const char *path)
{
    size_t n = json_array_size(arr);
    if (n == 0 || n > SCHEMA_MAX_VOCAB)
        return read_fail(r, path, "vocabulary must hold 1 to %d values", SCHEMA_MAX_VOCAB);
    if (in->type != TYPE_STRING && in->type != TYPE_INTEGER)
        return read_fail(r, path, "only string and integer inputs have a vocabulary");
    in->n_vocab = n;
    in->vocab = calloc(n, sizeof *in->vocab);
    if (in->type == TYPE_INTEGER) in->vocab_int = calloc(n, sizeof *in->vocab_int);
    if (!in->vocab || (in->type == TYPE_INTEGER && !in->vocab_int))
        return read_fail(r, path, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        char text[32];
        if (in->type == TYPE_STRING) {
            if (!json_is_string(v))
                return read_fail(r, path, "[%zu]: expected a string, got %s", i, json_type_name(v));
            in->vocab[i] = strdup(json_string_value(v));
        } else {
            if (!json_is_integer(v))
                return read_fail(r, path, "[%zu]: expected an integer, got %s", i, json_type_name(v));
            in->vocab_int[i] = json_integer_value(v);
            snprintf(text, sizeof text, "%lld", in->vocab_int[i]);
            in->vocab[i] = strdup(text);
        }
        if (!in->vocab[i]) return read_fail(r, path, "out of memory");
        if (schema_vocab_find(in, in->vocab[i], strlen(in->vocab[i])) < (int)i)
            return read_fail(r, path, "[%zu]: duplicate value \"%s\"", i, in->vocab[i]);
    }
    return 0;
}

static int read_input(reader *r, schema_input *in, json_t *obj, const char *path)
{
    static const char *const missing_names[] = {"allowed", "required"};
    char sub[192];
    if (!json_is_object(obj)) return read_fail(r, path, "expected an object, got %s", json_type_name(obj));
    const char *name = read_name(r, obj, path, "name");
    if (!name) return -1;
    if (!(in->name = strdup(name))) return read_fail(r, path, "out of memory");
    int t = read_enum(r, obj, path, "type", type_names, 4, NULL);
    int m = t < 0 ? -1 : read_enum(r, obj, path, "missing", missing_names, 2, "allowed");
    int u = m < 0 ? -1 : read_enum(r, obj, path, "unknown", unknown_names, 3, "reject");
    if (u < 0) return -1;
    in->type = (value_type)t;
    in->required = m == 1;
    in->unknown = (unknown_rule)u;
    int bad;
    json_t *vocab = read_optional(r, obj, path, "vocabulary", JSON_ARRAY, "an array", &bad);
    if (bad) return -1;
    snprintf(sub, sizeof sub, "%s.vocabulary", path);
    if (vocab && schema_read_vocab(r, in, vocab, sub) != 0) return -1;
    if (in->type == TYPE_STRING && !vocab)
        return read_fail(r, path, "a string input needs a \"vocabulary\" (its categories)");
    return 0;
}

int schema_read(schema *s, reader *r, json_t *arr, const char *path)
{
    char sub[64];
    s->n_inputs = json_array_size(arr);
    if (s->n_inputs == 0 || s->n_inputs > SCHEMA_MAX_INPUTS)
        return read_fail(r, path, "expected 1 to %d inputs", SCHEMA_MAX_INPUTS);
    if (!(s->inputs = calloc(s->n_inputs, sizeof *s->inputs))) return read_fail(r, path, "out of memory");
    for (size_t i = 0; i < s->n_inputs; i++) {
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        if (read_input(r, &s->inputs[i], json_array_get(arr, i), sub) != 0) return -1;
        if (schema_find(s, s->inputs[i].name, strlen(s->inputs[i].name)) < (int)i)
            return read_fail(r, sub, "duplicate input name \"%s\"", s->inputs[i].name);
    }
    return 0;
}

json_t *schema_to_json(const schema *s)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < s->n_inputs; i++) {
        const schema_input *in = &s->inputs[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(in->name));
        json_object_set_new(o, "type", json_string(type_names[in->type]));
        json_object_set_new(o, "missing", json_string(in->required ? "required" : "allowed"));
        if (in->n_vocab) {
            json_t *vocab = json_array();
            for (size_t j = 0; j < in->n_vocab; j++)
                json_array_append_new(vocab, in->vocab_int ? json_integer(in->vocab_int[j])
                                                           : json_string(in->vocab[j]));
            json_object_set_new(o, "vocabulary", vocab);
            json_object_set_new(o, "unknown", json_string(unknown_names[in->unknown]));
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

void schema_hash(const schema *s, fnv *f)
{
    fnv_i64(f, (int64_t)s->n_inputs);
    for (size_t i = 0; i < s->n_inputs; i++) {
        const schema_input *in = &s->inputs[i];
        fnv_str(f, in->name);
        fnv_i64(f, in->type * 16 + in->required * 4 + in->unknown);
        fnv_i64(f, (int64_t)in->n_vocab);
        for (size_t j = 0; j < in->n_vocab; j++) fnv_str(f, in->vocab[j]);
    }
}

void schema_clear(schema *s)
{
    for (size_t i = 0; s->inputs && i < s->n_inputs; i++) {
        schema_input *in = &s->inputs[i];
        for (size_t j = 0; in->vocab && j < in->n_vocab; j++) free(in->vocab[j]);
        free(in->vocab);
        free(in->vocab_int);
        free(in->vocab_len);
        free(in->name);
    }
    free(s->inputs);
    memset(s, 0, sizeof *s);
}

/* ---- misspelt names ------------------------------------------------------- */

/* name folded for comparison: lower case, separators dropped, at most cap bytes */
static size_t fold_name(const char *name, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n < cap; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch == ' ' || ch == '_' || ch == '-' || ch == '.') continue;
        out[n++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    return n;
}

/* Levenshtein distance of two short strings (each at most 64 bytes). */
static size_t edits(const char *a, size_t na, const char *b, size_t nb)
{
    size_t row[65];
    for (size_t j = 0; j <= nb; j++) row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[nb];
}

int schema_closest(const schema *s, const char *name, size_t len)
{
    char a[64], b[64];
    size_t na = fold_name(name, len, a, sizeof a), best_d = (size_t)-1;
    int best = -1;
    for (size_t i = 0; i < s->n_inputs; i++) {
        size_t nb = fold_name(s->inputs[i].name, strlen(s->inputs[i].name), b, sizeof b);
        size_t d = edits(a, na, b, nb), longer = na > nb ? na : nb;
        /* close: a third of the longer name's letters at most (one edit for short names) */
        if (d < best_d && d <= (longer < 6 ? 1 : longer / 3)) {
            best_d = d;
            best = (int)i;
        }
    }
    return best;
}
