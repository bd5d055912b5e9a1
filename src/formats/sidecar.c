/* sidecar — applying a schema file to an imported model (format in sidecar.h). */
#define _POSIX_C_SOURCE 200809L
#include "formats/sidecar.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/files.h"
#include "base/jsonx.h"

void sidecar_path_for(const char *model_path, char *out, size_t len)
{
    const char *slash = strrchr(model_path, '/');
    const char *dot = strrchr(model_path, '.');
    size_t stem = dot && (!slash || dot > slash + 1) ? (size_t)(dot - model_path) : strlen(model_path);
    snprintf(out, len, "%.*s.schema.json", (int)stem, model_path);
}

static int apply_input(model_builder *mb, reader *r, size_t i, json_t *obj, const char *path)
{
    schema_input *in = &model_builder_inputs(mb)->inputs[i];
    if (!json_is_object(obj)) return read_fail(r, path, "expected an object, got %s", json_type_name(obj));
    int bad;
    json_t *name = read_optional(r, obj, path, "name", JSON_STRING, "a name", &bad);
    if (bad) return -1;
    if (name) {
        const char *s = read_name(r, obj, path, "name");
        if (!s) return -1;
        char *copy = strdup(s);
        if (!copy) return read_fail(r, path, "out of memory");
        free(in->name);
        in->name = copy;
    }
    json_t *vocab = read_optional(r, obj, path, "vocab", JSON_ARRAY, "an array of categories", &bad);
    if (bad) return -1;
    if (!vocab) return 0;
    if (in->n_vocab)
        return read_fail(r, path, "input \"%s\" already has a vocabulary in the model", in->name);
    /* the model sees the category's index: vocab[0] is code 0, vocab[1] code 1, ... */
    json_t *first = json_array_get(vocab, 0);
    in->type = json_is_integer(first) ? TYPE_INTEGER : TYPE_STRING;
    char sub[96];
    snprintf(sub, sizeof sub, "%s.vocab", path);
    if (schema_read_vocab(r, in, vocab, sub) != 0) return -1;
    static const char *const unknown[] = {"reject", "zeros", "missing"};
    int u = read_enum(r, obj, path, "unknown", unknown, 3, "missing");
    if (u < 0) return -1;
    if (u == UNKNOWN_ZEROS)
        return read_fail(r, path,
                         "\"zeros\" is for one-hot inputs; this input takes \"reject\" or \"missing\"");
    in->unknown = (unknown_rule)u;
    for (size_t k = 0; k < model_builder_features(mb)->n; k++) {
        feature *f = &model_builder_features(mb)->f[k];
        if (f->input != i) continue;
        if (f->n_steps != 1 || f->steps[0].op != STEP_PASSTHROUGH)
            return read_fail(r, path,
                             "input \"%s\" is transformed inside the model; it cannot take a vocabulary",
                             in->name);
        f->steps[0].op = STEP_CATEGORY_INDEX;
    }
    return 0;
}

static int apply_output(model_builder *mb, reader *r, json_t *obj)
{
    output_spec *o = model_builder_output(mb);
    if (!json_is_object(obj))
        return read_fail(r, "$.output", "expected an object, got %s", json_type_name(obj));
    int bad;
    json_t *label = read_optional(r, obj, "$.output", "label", JSON_STRING, "a name", &bad);
    json_t *classes = bad ? NULL : read_optional(r, obj, "$.output", "classes", JSON_ARRAY, "an array", &bad);
    json_t *positive =
        bad ? NULL : read_optional(r, obj, "$.output", "positive", JSON_STRING, "a label", &bad);
    if (bad) return -1;
    if (label) {
        const char *s = read_name(r, obj, "$.output", "label");
        char *copy = s ? strdup(s) : NULL;
        if (!copy) return -1;
        free(o->label);
        o->label = copy;
    }
    size_t want = o->task == TASK_MULTICLASS ? o->n_classes : o->task == TASK_BINARY ? 2 : 0;
    if (classes && json_array_size(classes) != want)
        return read_fail(r, "$.output.classes", "the model has %zu classes, got %zu labels", want,
                         json_array_size(classes));
    for (size_t j = 0; classes && j < want; j++) {
        json_t *c = json_array_get(classes, j);
        if (!json_is_string(c) || !*json_string_value(c) || strlen(json_string_value(c)) > 64 ||
            strpbrk(json_string_value(c), "\",\\\n\r\t"))
            return read_fail(r, "$.output.classes",
                             "[%zu]: expected a label of 1 to 64 bytes without quotes, "
                             "commas, backslashes or control characters",
                             j);
        for (size_t i = 0; i < j; i++)
            if (strcmp(json_string_value(json_array_get(classes, i)), json_string_value(c)) == 0)
                return read_fail(r, "$.output.classes", "[%zu]: duplicate class \"%s\"", j,
                                 json_string_value(c));
    }
    if (classes && o->task == TASK_MULTICLASS)
        for (size_t j = 0; j < want; j++) {
            char *copy = strdup(json_string_value(json_array_get(classes, j)));
            if (!copy) return read_fail(r, "$.output", "out of memory");
            free(o->classes[j]);
            o->classes[j] = copy;
        }
    if (o->task != TASK_BINARY) {
        if (positive) return read_fail(r, "$.output.positive", "only a binary model has a positive class");
        return 0;
    }
    /* binary: the model gives P(second class); report the positive one's */
    const char *neg = classes ? json_string_value(json_array_get(classes, 0)) : "0";
    const char *pos = classes ? json_string_value(json_array_get(classes, 1)) : "1";
    const char *want_pos = positive ? json_string_value(positive) : pos;
    if (strcmp(want_pos, pos) != 0 && strcmp(want_pos, neg) != 0)
        return read_fail(r, "$.output.positive", "\"%.64s\" is not one of the classes \"%s\" and \"%s\"",
                         want_pos, neg, pos);
    o->complement = strcmp(want_pos, pos) != 0;
    free(o->positive);
    if (!(o->positive = strdup(want_pos))) return read_fail(r, "$.output", "out of memory");
    return 0;
}

int sidecar_apply(model_builder *mb, const char *path, char *err)
{
    char *buf;
    size_t len;
    if (file_read_all(path, &buf, &len, err) != 0) return -1;
    reader r = {path, err};
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (!root)
        return err_set(err, "%s: line %d, column %d: invalid JSON: %s", path, jerr.line, jerr.column,
                       jerr.text);
    int rc = -1;
    if (!json_is_object(root)) {
        read_fail(&r, "$", "expected an object, got %s", json_type_name(root));
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) if (strcmp(key, "inputs") != 0 && strcmp(key, "output") != 0 &&
                                          strcmp(key, "background") != 0)
    {
        read_fail(&r, "$",
                  "unknown member \"%.64s\" (a schema file has \"inputs\", \"output\" and \"background\")",
                  key);
        goto out;
    }
    json_t *inputs = json_object_get(root, "inputs");
    if (inputs) {
        if (!json_is_array(inputs) || json_array_size(inputs) != model_builder_inputs(mb)->n_inputs) {
            read_fail(&r, "$.inputs", "expected an array of %zu entries, one per model input in order",
                      model_builder_inputs(mb)->n_inputs);
            goto out;
        }
        for (size_t i = 0; i < model_builder_inputs(mb)->n_inputs; i++) {
            char sub[48];
            snprintf(sub, sizeof sub, "$.inputs[%zu]", i);
            if (apply_input(mb, &r, i, json_array_get(inputs, i), sub) != 0) goto out;
        }
        for (size_t a = 0; a < model_builder_inputs(mb)->n_inputs; a++)
            for (size_t b = 0; b < a; b++)
                if (strcmp(model_builder_inputs(mb)->inputs[a].name,
                           model_builder_inputs(mb)->inputs[b].name) == 0) {
                    read_fail(&r, "$.inputs", "two inputs are named \"%.64s\"",
                              model_builder_inputs(mb)->inputs[a].name);
                    goto out;
                }
    }
    json_t *output = json_object_get(root, "output");
    if (output && apply_output(mb, &r, output) != 0) goto out;
    /* rows of input values to measure explanations against: checked (and
     * encoded) when the model is assembled, as $.metadata.background */
    json_t *background = json_object_get(root, "background");
    if (background) {
        if (!json_is_array(background) || json_array_size(background) == 0) {
            read_fail(&r, "$.background", "expected a non-empty array of rows (objects of input values)");
            goto out;
        }
        json_object_set(model_builder_metadata(mb), "background", background);
    }
    json_object_set_new(model_builder_metadata(mb), "schema_file", json_string(path));
    rc = 0;
out:
    json_decref(root);
    return rc;
}
