/* openapi — the spec's bytes, placed by the assembler's .incbin like the default
 * model; and the spec for any other model, generated from its schema and output. */
#define _POSIX_C_SOURCE 200809L
#include "serve/openapi.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__asm__(".section .rodata\n"
        ".global openapi_yaml\n"
        "openapi_yaml:\n"
        ".incbin \"api/openapi.yaml\"\n"
        ".global openapi_yaml_end\n"
        "openapi_yaml_end:\n"
        ".byte 0\n"
        ".previous\n");
extern const char openapi_yaml_end[];

size_t openapi_yaml_len(void) { return (size_t)(openapi_yaml_end - openapi_yaml); }

/* ---- generation: a growing buffer ------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0 || t->oom) {
            t->oom = 1;
            return;
        }
        if (t->p && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap ? t->cap : 4096) * 2 + (size_t)n;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->oom = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
}

/* Template bytes, with the references to the input schema renamed: the
 * generated one is "Input" (the default model's is "Passenger"). */
static void put_bytes(text *t, const char *s, size_t n)
{
    static const char old[] = "#/components/schemas/Passenger";
    const char *end = s + n;
    while (s < end) {
        const char *hit = strstr(s, old);
        size_t k = hit && hit < end ? (size_t)(hit - s) : (size_t)(end - s);
        put(t, "%.*s", (int)k, s);
        s += k;
        if (s < end) {
            put(t, "#/components/schemas/Input");
            s += sizeof old - 1;
        }
    }
}

/* A YAML scalar as a JSON string ("..." is valid YAML): names and categories
 * may hold any character. */
static void put_quoted(text *t, const char *s)
{
    json_t *j = json_string(s);
    char *q = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    put(t, "%s", q ? q : "\"?\"");
    free(q);
    json_decref(j);
}

static const char *json_type_of(value_type v)
{
    return v == TYPE_INTEGER   ? "integer"
           : v == TYPE_STRING  ? "string"
           : v == TYPE_BOOLEAN ? "boolean"
                               : "number";
}

static void category(text *t, const schema_input *in, size_t j)
{
    if (in->vocab_int)
        put(t, "%lld", in->vocab_int[j]);
    else
        put_quoted(t, in->vocab[j]);
}

static void input_schema(text *t, const model *m)
{
    const schema *s = &m->schema;
    put(t,
        "    Input:\n      type: object\n      minProperties: 1\n      description: One row of the model's "
        "inputs. A member that is not an input is a 400 naming it and the closest input (unless the server "
        "runs with --ignore-unknown-fields); an object with none of the inputs is a 400.\n");
    int any_required = 0;
    for (size_t i = 0; i < s->n_inputs; i++) any_required |= s->inputs[i].required;
    if (any_required) {
        put(t, "      required: [");
        for (size_t i = 0, k = 0; i < s->n_inputs; i++)
            if (s->inputs[i].required) {
                put(t, "%s", k++ ? ", " : "");
                put_quoted(t, s->inputs[i].name);
            }
        put(t, "]\n");
    }
    put(t, "      properties:\n");
    for (size_t i = 0; i < s->n_inputs; i++) {
        const schema_input *in = &s->inputs[i];
        put(t, "        ");
        put_quoted(t, in->name);
        put(t, ":\n");
        if (in->required)
            put(t, "          type: %s\n", json_type_of(in->type));
        else
            put(t, "          type: [%s, \"null\"]\n", json_type_of(in->type));
        if (in->n_vocab && in->unknown == UNKNOWN_REJECT) {
            put(t, "          enum: [");
            for (size_t j = 0; j < in->n_vocab; j++) {
                put(t, "%s", j ? ", " : "");
                category(t, in, j);
            }
            put(t, "%s]\n", in->required ? "" : ", null");
        }
        put(t, "          description: \"");
        if (in->n_vocab) {
            put(t, "One of %zu categories", in->n_vocab);
            if (in->unknown != UNKNOWN_REJECT && in->n_vocab <= 64) { /* no enum: list them here */
                put(t, ": ");
                for (size_t j = 0; j < in->n_vocab; j++) {
                    put(t, "%s", j ? ", " : "");
                    if (in->vocab_int)
                        put(t, "%lld", in->vocab_int[j]);
                    else /* inside a quoted scalar: quotes and backslashes escaped */
                        for (const char *c = in->vocab[j]; *c; c++)
                            put(t,
                                (*c == '"' || *c == '\\')  ? "\\%c"
                                : (unsigned char)*c < 0x20 ? "?"
                                                           : "%c",
                                *c);
                }
            }
            if (in->unknown != UNKNOWN_REJECT)
                put(t, "; any other value counts as %s",
                    in->unknown == UNKNOWN_ZEROS ? "none of them" : "missing");
        } else {
            put(t, "A %s", in->type == TYPE_INTEGER ? "whole number" : "number");
        }
        put(t, "%s.\"\n", in->required ? "" : "; missing or null is allowed");
    }
}

/* One prediction's schema as YAML lines at `indent` spaces (the first line's
 * indent left to the caller, after a "- "). */
static void value_schema(text *t, const output_spec *o, int indent)
{
    if (o->task == TASK_REGRESSION && o->n_classes) { /* several targets: a number each, by name */
        put(t, "type: object\n%*sproperties:\n", indent, "");
        for (size_t j = 0; j < o->n_classes; j++) {
            put(t, "%*s", indent + 2, "");
            put_quoted(t, o->classes[j]);
            put(t, ": {type: number}\n");
        }
        return;
    }
    if (o->task == TASK_REGRESSION) {
        put(t, "type: number\n");
        return;
    }
    if (o->task == TASK_BINARY) {
        put(t, "type: number\n%*sminimum: 0\n%*smaximum: 1\n", indent, "", indent, "");
        return;
    }
    put(t, "type: object\n%*srequired: [", indent, "");
    for (size_t j = 0; j < o->n_classes; j++) {
        put(t, "%s", j ? ", " : "");
        put_quoted(t, o->classes[j]);
    }
    put(t, "]\n%*sproperties:\n", indent, "");
    for (size_t j = 0; j < o->n_classes; j++) {
        put(t, "%*s", indent + 2, "");
        put_quoted(t, o->classes[j]);
        put(t, o->scores ? ": {type: number}\n" : ": {type: number, minimum: 0, maximum: 1}\n");
    }
}

static void prediction_schema(text *t, const model *m)
{
    const output_spec *o = &m->output;
    char meaning[256];
    output_meaning(o, meaning, sizeof meaning);
    put(t,
        "    Prediction:\n      type: object\n      required: [predict]\n      additionalProperties: false\n"
        "      properties:\n        predict:\n          oneOf:\n            - ");
    value_schema(t, o, 14);
    put(t, "            - type: array\n              items:\n                ");
    value_schema(t, o, 16);
    put(t, "          description: ");
    put_quoted(t, meaning);
    put(t, "\n");
    if (o->task != TASK_MULTICLASS) return;
    put(t, "        class:\n          oneOf:\n            - type: string\n              enum: [");
    for (size_t j = 0; j < o->n_classes; j++) {
        put(t, "%s", j ? ", " : "");
        put_quoted(t, o->classes[j]);
    }
    put(t, "]\n            - type: array\n              items: {type: string}\n"
           "          description: \"the likeliest class (of a batch: each row's)\"\n");
}

/* A typical row of the model's inputs as JSON: its first background row (a
 * training row) where it keeps one, else the first category or zero. */
static void example_row(text *t, const model *m)
{
    json_t *bg = json_array_get(json_object_get(m->metadata, "background"), 0);
    put(t, "{");
    for (size_t i = 0; i < m->schema.n_inputs; i++) {
        const schema_input *in = &m->schema.inputs[i];
        put(t, "%s", i ? ", " : "");
        put_quoted(t, in->name);
        put(t, ": ");
        json_t *v = json_object_get(bg, in->name);
        char *text_v = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
        if (text_v) {
            put(t, "%s", text_v);
            free(text_v);
        } else if (in->n_vocab)
            category(t, in, 0);
        else if (in->type == TYPE_BOOLEAN)
            put(t, "false");
        else
            put(t, "0");
    }
    put(t, "}");
}

static void request_examples(text *t, const model *m)
{
    put(t, "            examples:\n              row:\n                summary: %s\n                value: ",
        json_array_size(json_object_get(m->metadata, "background"))
            ? "A typical row (a training row the model keeps)"
            : "One row (the first category, or zero, for each input)");
    example_row(t, m);
    put(t, "\n");
}

/* s with every occurrence of from replaced by to (a new string), or NULL. */
static char *replace_all(const char *s, size_t len, const char *from, const char *to, size_t *out_len)
{
    size_t nf = strlen(from), nt = strlen(to), count = 0;
    for (const char *p = s; (p = strstr(p, from)); p += nf) count++;
    char *out = malloc(len + count * (nt > nf ? nt - nf : 0) + 1), *o = out;
    if (!out) return NULL;
    for (const char *p = s;;) {
        const char *hit = strstr(p, from);
        size_t k = hit ? (size_t)(hit - p) : strlen(p);
        memcpy(o, p, k);
        o += k;
        if (!hit) break;
        memcpy(o, to, nt);
        o += nt;
        p = hit + nf;
    }
    *o = 0;
    *out_len = (size_t)(o - out);
    return out;
}

static const char *find(const char *hay, const char *needle) { return strstr(hay, needle); }

char *openapi_generate(const model *m, size_t *len)
{
    const char *tpl = openapi_yaml;
    /* the places the template is rewritten; if one is missing the template changed
     * and the caller serves it as it is */
    const char *desc = find(tpl, "    The seed's Flask + gunicorn + Keras service");
    const char *desc_end = desc ? find(desc, "  license:") : NULL;
    const char *summary = find(tpl, "      summary: Probability that the passenger survived\n");
    const char *req_ex = find(tpl, "            examples:\n              seed:\n");
    const char *req_ex_end = req_ex ? find(req_ex, "      responses:\n") : NULL;
    const char *res_ex = req_ex_end ? find(req_ex_end, "              examples:\n") : NULL;
    const char *res_ex_end = res_ex ? find(res_ex, "        \"400\":") : NULL;
    const char *input = find(tpl, "    Passenger:\n");
    const char *pred = input ? find(input, "    Prediction:\n") : NULL;
    const char *error = pred ? find(pred, "    Error:\n") : NULL;
    if (!desc_end || !summary || !req_ex_end || !res_ex_end || !error ||
        !(summary < req_ex && res_ex_end < input))
        return NULL;
    text t = {0};
    char meaning[256];
    output_meaning(&m->output, meaning, sizeof meaning);
    put_bytes(&t, tpl, (size_t)(desc - tpl));
    put(&t,
        "    `POST /model` takes one row of the served model's inputs (or an array of rows) and answers\n"
        "    %s. Every error is JSON in one shape (`Error`), with the status that fits: bad input is\n"
        "    a 4xx naming the field and, for malformed JSON, the byte offset; never a 500.\n\n"
        "    This document was generated for the model being served (%s), from its input schema,\n"
        "    output and background rows; `GET /model` describes the same model.\n",
        meaning, m->hash);
    put_bytes(&t, desc_end, (size_t)(summary - desc_end));
    put(&t, "      summary: ");
    put_quoted(&t, meaning);
    put(&t, "\n");
    const char *after_summary = summary + strlen("      summary: Probability that the passenger survived\n");
    put_bytes(&t, after_summary, (size_t)(req_ex - after_summary));
    request_examples(&t, m);
    put_bytes(&t, req_ex_end, (size_t)(res_ex - req_ex_end));
    put_bytes(&t, res_ex_end, (size_t)(input - res_ex_end));
    input_schema(&t, m);
    prediction_schema(&t, m);
    put(&t, "%s", error);
    /* the template's other examples of the default model's row: this model's row */
    text row = {0};
    example_row(&row, m);
    /* and the explanation's example: this model's inputs, each contributing 0 */
    text why = {0};
    put(&why, "{\"predict\": 0.5, \"base\": 0, \"margin\": 0, \"contributions\": {");
    for (size_t i = 0; i < m->schema.n_inputs; i++) {
        put(&why, "%s", i ? ", " : "");
        put_quoted(&why, m->schema.inputs[i].name);
        put(&why, ": 0");
    }
    put(&why, "}, \"method\": \"interventional\"}");
    /* the KServe V2 request's tensors and TF Serving's examples: this model's row */
    text tensors = {0}, examples = {0};
    json_t *bg = json_array_get(json_object_get(m->metadata, "background"), 0);
    for (size_t i = 0; i < m->schema.n_inputs; i++) {
        const schema_input *in = &m->schema.inputs[i];
        static const char *const v2_type[] = {[TYPE_NUMBER] = "FP32",
                                              [TYPE_INTEGER] = "INT64",
                                              [TYPE_STRING] = "BYTES",
                                              [TYPE_BOOLEAN] = "BOOL"};
        put(&tensors, "%s              - {\"name\": ", i ? "\n" : "");
        put_quoted(&tensors, in->name);
        put(&tensors, ", \"shape\": [1], \"datatype\": \"%s\", \"data\": [", v2_type[in->type]);
        json_t *v = json_object_get(bg, in->name);
        char *text_v = v && !json_is_null(v)
                           ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(9))
                           : NULL;
        if (text_v)
            put(&tensors, "%s", text_v);
        else if (in->n_vocab)
            category(&tensors, in, 0);
        else
            put(&tensors, "%s", in->type == TYPE_BOOLEAN ? "false" : "0");
        free(text_v);
        put(&tensors, "]}");
    }
    put(&examples, "{\"examples\": [%s]}", row.p ? row.p : "{}");
    /* the error examples and paths: this model's first and last inputs, and its name as served alone */
    const schema_input *first = &m->schema.inputs[0], *last = &m->schema.inputs[m->schema.n_inputs - 1];
    text paths = {0}, v2_path = {0}, v2_error = {0};
    put(&paths, "(`$.%s`, `$[3].%s`)", first->name, last->name);
    put(&v2_path, "($.inputs[0].data[3].%s)", first->name);
    put(&v2_error, "{\"error\": \"$.inputs[0].data[0].%s: %s\"}", first->name,
        first->type == TYPE_STRING ? "expected a string, got a number" : "expected a number, got a string");
    /* each template text of the default model, and what stands for it here */
    const char *swaps[][2] = {
        {"{\"Age\": 22, \"Fare\": 7.25, \"Embarked\": \"S\", \"Sex\": \"male\", \"Pclass\": 3}", row.p},
        {"{\"predict\": 0.0715020671, \"base\": -0.3626, \"margin\": -2.5638, "
         "\"contributions\": {\"Age\": 0.0806, \"Fare\": -0.228, \"Sex\": -1.1388, "
         "\"Embarked\": -0.1964, \"Pclass\": -0.7187}, \"method\": \"interventional\"}",
         why.p},
        {"              - {\"name\": \"Age\", \"shape\": [1], \"datatype\": \"FP32\", \"data\": [22]}\n"
         "              - {\"name\": \"Fare\", \"shape\": [1], \"datatype\": \"FP32\", \"data\": [7.25]}\n"
         "              - {\"name\": \"Sex\", \"shape\": [1], \"datatype\": \"BYTES\", \"data\": "
         "[\"male\"]}\n"
         "              - {\"name\": \"Embarked\", \"shape\": [1], \"datatype\": \"BYTES\", \"data\": "
         "[\"S\"]}\n"
         "              - {\"name\": \"Pclass\", \"shape\": [1], \"datatype\": \"INT64\", \"data\": [3]}",
         tensors.p},
        {"{\"context\": {\"Embarked\": \"S\"}, \"examples\": [{\"Age\": 22, \"Fare\": 7.25, \"Sex\": "
         "\"male\", "
         "\"Pclass\": 3}]}",
         examples.p},
        {"(`$.Age`, `$[3].Sex`)", paths.p},
        {"($.inputs[1].data[3].Sex)", v2_path.p},
        {"{\"error\": \"$.inputs[2].data[0].Sex: unknown category \\\"robot\\\"; accepted values: "
         "\\\"female\\\", "
         "\\\"male\\\"\"}",
         v2_error.p},
        {"model titanic has no version 7", "model model has no version 7"},
        {"\"model_name\": \"titanic\"", "\"model_name\": \"model\""},
    };
    char *out =
        t.oom || row.oom || why.oom || tensors.oom || examples.oom || paths.oom || v2_path.oom || v2_error.oom
            ? NULL
            : t.p;
    size_t out_len = t.len;
    t.p = NULL;
    for (size_t k = 0; out && k < sizeof swaps / sizeof *swaps; k++) {
        char *next = replace_all(out, out_len, swaps[k][0], swaps[k][1], &out_len);
        free(out);
        out = next;
    }
    *len = out_len;
    free(t.p);
    free(row.p);
    free(why.p);
    free(tensors.p);
    free(examples.p);
    free(paths.p);
    free(v2_path.p);
    free(v2_error.p);
    return out;
}
