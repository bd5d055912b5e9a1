/* output — links, response and CSV formatting, and the output's JSON form. */
#define _POSIX_C_SOURCE 200809L
#include "model/output.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/jsonx.h"
#include "base/numtext.h"

static const char *const task_names[] = {"binary", "regression", "multiclass"};
static const char *const link_names[] = {"identity", "sigmoid", "softmax", "exp", "step"};

const char *output_task_name(output_task t) { return task_names[t]; }
const char *output_link_name(output_link l) { return link_names[l]; }

/* Named outputs: the classes of a multiclass model, the targets of a multi-target regression. */
static int named(const output_spec *o) { return o->task != TASK_BINARY && o->n_classes > 0; }

int output_width(const output_spec *o) { return named(o) ? (int)o->n_classes : 1; }

float link_sigmoid(float z)
{
    /* split by sign so exp never overflows */
    if (z >= 0) return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
}

void output_link_apply(const output_spec *o, float *y, int n)
{
    int k = output_width(o);
    if (o->link == LINK_SIGMOID)
        for (size_t i = 0; i < (size_t)n * k; i++) y[i] = link_sigmoid(y[i]);
    if (o->complement)
        for (size_t i = 0; i < (size_t)n * k; i++) y[i] = 1.0f - y[i];
    if (o->link == LINK_EXP)
        for (size_t i = 0; i < (size_t)n * k; i++) y[i] = expf(y[i]); /* overflow: caught as non-finite */
    if (o->link == LINK_STEP)
        for (size_t i = 0; i < (size_t)n * k; i++) y[i] = y[i] > 0 ? 1.0f : 0.0f;
    if (o->link != LINK_SOFTMAX) return;
    for (int r = 0; r < n; r++) {
        float *row = y + (size_t)r * k, top = row[0];
        double sum = 0;
        for (int j = 1; j < k; j++) top = row[j] > top ? row[j] : top;
        for (int j = 0; j < k; j++) sum += row[j] = expf(row[j] - top);
        for (int j = 0; j < k; j++) row[j] = (float)(row[j] / sum);
    }
}

size_t output_row_max(const output_spec *o)
{
    size_t n = 40, longest = 0;
    for (size_t j = 0; j < o->n_classes; j++) {
        n += strlen(o->classes[j]) + 40;
        if (strlen(o->classes[j]) > longest) longest = strlen(o->classes[j]);
    }
    return n + longest + 8; /* the seed route's "class" beside the probabilities */
}

size_t output_row_json(const output_spec *o, const float *y, char *buf)
{
    if (!named(o)) return (size_t)format_float(buf, y[0]);
    char *p = buf;
    *p++ = '{';
    for (size_t j = 0; j < o->n_classes; j++) {
        p += sprintf(p, "%s\"%s\": ", j ? ", " : "", o->classes[j]);
        p += format_float(p, y[j]);
    }
    *p++ = '}';
    return (size_t)(p - buf);
}

size_t output_csv_header(const output_spec *o, char *buf, size_t len)
{
    if (!named(o)) return (size_t)snprintf(buf, len, "predict");
    size_t used = 0;
    for (size_t j = 0; j < o->n_classes && used < len; j++)
        used += (size_t)snprintf(buf + used, len - used, "%spredict_%s", j ? "," : "", o->classes[j]);
    return used < len ? used : len - 1;
}

size_t output_csv_row(const output_spec *o, const float *y, char *buf)
{
    char *p = buf;
    for (int j = 0; j < output_width(o); j++) {
        if (j) *p++ = ',';
        p += format_float(p, y[j]);
    }
    return (size_t)(p - buf);
}

void output_meaning(const output_spec *o, char *buf, size_t len)
{
    if (o->task == TASK_BINARY)
        snprintf(buf, len, "probability that %s is %s", o->label, o->positive ? o->positive : "1");
    else if (o->task == TASK_MULTICLASS)
        snprintf(buf, len, "%s of each class of %s", o->scores ? "score" : "probability", o->label);
    else if (named(o))
        snprintf(buf, len, "predicted value of each target of %s", o->label);
    else
        snprintf(buf, len, "predicted %s", o->label);
}

int output_check(const output_spec *o, int n_outputs, char *err)
{
    if (o->task == TASK_MULTICLASS) {
        if (o->link == LINK_EXP || o->link == LINK_STEP) /* sigmoid: one-vs-all, a probability a class */
            return err_set(err, "$.output.link: a multiclass output takes softmax, sigmoid or identity");
        if ((int)o->n_classes != n_outputs)
            return err_set(err, "$.output.classes: %zu classes, but the predictor gives %d outputs",
                           o->n_classes, n_outputs);
        return 0;
    }
    if (named(o)) { /* a regression of several targets */
        if (o->link == LINK_SOFTMAX || o->link == LINK_STEP)
            return err_set(err,
                           "$.output.link: a regression of several targets takes identity, exp or sigmoid");
        if ((int)o->n_classes != n_outputs)
            return err_set(err, "$.output.targets: %zu targets, but the predictor gives %d outputs",
                           o->n_classes, n_outputs);
        return 0;
    }
    if (n_outputs != 1)
        return err_set(err, "$.output: a %s output takes 1 predictor output, got %d", task_names[o->task],
                       n_outputs);
    if (o->link == LINK_SOFTMAX) return err_set(err, "$.output.link: softmax needs a multiclass output");
    return 0;
}

/* A class label is written as it is into JSON keys and CSV headers. */
static int plain_label(const char *s)
{
    if (!*s || strlen(s) > 64) return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\' || *s == ',') return 0;
    return 1;
}

int output_read(output_spec *o, reader *r, json_t *obj, const char *path)
{
    char sub[96];
    if (!json_is_object(obj)) return read_fail(r, path, "expected an object, got %s", json_type_name(obj));
    const char *name = read_string(r, obj, path, "name");
    if (!name) return -1;
    snprintf(sub, sizeof sub, "%s.name", path);
    if (strcmp(name, "predict") != 0) return read_fail(r, sub, "expected \"predict\", got \"%.64s\"", name);
    const char *label = read_name(r, obj, path, "label");
    int task = label ? read_enum(r, obj, path, "task", task_names, 3, NULL) : -1;
    int link = task < 0 ? -1 : read_enum(r, obj, path, "link", link_names, 5, NULL);
    if (link < 0) return -1;
    o->task = (output_task)task;
    o->link = (output_link)link;
    if (!(o->label = strdup(label))) return read_fail(r, path, "out of memory");
    if (o->task == TASK_BINARY) {
        int bad;
        json_t *pos = read_optional(r, obj, path, "positive", JSON_STRING, "a class label", &bad);
        json_t *comp =
            bad ? NULL : read_optional(r, obj, path, "complement", READ_BOOL, "true or false", &bad);
        if (bad) return -1;
        if (pos && (!plain_label(json_string_value(pos)) || !(o->positive = strdup(json_string_value(pos)))))
            return read_fail(r, path, "member \"positive\" must be a plain label of 1 to 64 bytes");
        o->complement = comp && json_is_true(comp);
        return 0;
    }
    json_t *classes;
    if (o->task == TASK_REGRESSION) { /* several targets, by name; one: none */
        int bad;
        classes = read_optional(r, obj, path, "targets", JSON_ARRAY, "an array of target names", &bad);
        if (bad) return -1;
        if (!classes) return 0;
        snprintf(sub, sizeof sub, "%s.targets", path);
    } else {
        classes = read_member(r, obj, path, "classes", JSON_ARRAY, "an array of class labels");
        if (!classes) return -1;
        snprintf(sub, sizeof sub, "%s.classes", path);
    }
    size_t n = json_array_size(classes);
    if (n < 2 || n > OUTPUT_MAX_CLASSES)
        return read_fail(r, sub, "expected 2 to %d classes", OUTPUT_MAX_CLASSES);
    if (!(o->classes = calloc(n, sizeof *o->classes))) return read_fail(r, sub, "out of memory");
    o->n_classes = n;
    for (size_t j = 0; j < n; j++) {
        json_t *v = json_array_get(classes, j);
        if (!json_is_string(v) || !plain_label(json_string_value(v)))
            return read_fail(r, sub,
                             "[%zu]: expected a label of 1 to 64 bytes without control characters, "
                             "quotes, backslashes or commas",
                             j);
        if (!(o->classes[j] = strdup(json_string_value(v)))) return read_fail(r, sub, "out of memory");
        for (size_t i = 0; i < j; i++)
            if (strcmp(o->classes[i], o->classes[j]) == 0)
                return read_fail(r, sub, "[%zu]: duplicate class \"%s\"", j, o->classes[j]);
    }
    return 0;
}

json_t *output_to_json(const output_spec *o)
{
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string("predict"));
    json_object_set_new(j, "task", json_string(task_names[o->task]));
    json_object_set_new(j, "link", json_string(link_names[o->link]));
    json_object_set_new(j, "label", json_string(o->label));
    if (o->positive) json_object_set_new(j, "positive", json_string(o->positive));
    if (o->complement) json_object_set_new(j, "complement", json_true());
    if (named(o)) {
        json_t *c = json_array();
        for (size_t i = 0; i < o->n_classes; i++) json_array_append_new(c, json_string(o->classes[i]));
        json_object_set_new(j, o->task == TASK_MULTICLASS ? "classes" : "targets", c);
    }
    return j;
}

void output_hash(const output_spec *o, fnv *f)
{
    fnv_i64(f, o->link == LINK_STEP ? 1000 + o->task : o->task * 4 + o->link); /* older links: hashes stay */
    fnv_str(f, o->label);
    fnv_i64(f, (int64_t)o->n_classes);
    for (size_t i = 0; i < o->n_classes; i++) fnv_str(f, o->classes[i]);
    if (o->positive) fnv_str(f, o->positive); /* absent in older models: their hashes stay */
    if (o->complement) fnv_i64(f, 1);
    if (o->scores) fnv_i64(f, 2); /* absent before: those hashes stay */
}

int output_as_score(output_spec *o)
{
    if (o->task == TASK_MULTICLASS) o->scores = 1;
    if (o->task != TASK_BINARY) return 0;
    char buf[160];
    snprintf(buf, sizeof buf, "score of class %.100s", o->positive ? o->positive : "1");
    char *label = strdup(buf);
    if (!label) return -1;
    free(o->label);
    free(o->positive);
    o->label = label;
    o->positive = NULL;
    o->complement = 0;
    o->task = TASK_REGRESSION;
    return 0;
}

void output_clear(output_spec *o)
{
    for (size_t i = 0; o->classes && i < o->n_classes; i++) free(o->classes[i]);
    free(o->classes);
    free(o->label);
    free(o->positive);
    memset(o, 0, sizeof *o);
}
