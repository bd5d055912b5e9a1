/* format_v1 — reads tabserve 0.1.0's model files (format_version 1) into the
 * composition, so that they keep loading and predict bit for bit as before.
 * A v1 input carried its own encoding; here each becomes a schema input plus
 * feature steps:
 *   numeric      [impute(value)] [log1p] standardize(mean, std), and a separate
 *                missing_indicator feature right after it when asked
 *   categorical  [impute(category)] one_hot
 * The network's last layer (1 unit, sigmoid) becomes a linear layer and the
 * output a binary classifier with the sigmoid link: the same float operations
 * in the same order. The file's content hash is checked the 0.1.0 way. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/jsonx.h"
#include "estimators/mlp.h"
#include "model/builder.h"
#include "formats/tabserve.h"

/* what a v1 input said, kept for the 0.1.0 content hash */
typedef struct {
    int kind, missing, transform, indicator, vtype, unknown;
    double impute, mean, std;
    size_t impute_index;
} v1_input;

static int read_v1_input(reader *r, schema_input *in, v1_input *v, json_t *obj, const char *path)
{
    static const char *const kinds[] = {"numeric", "categorical"};
    static const char *const rules[] = {"required", "impute"};
    char sub[192];
    if (!json_is_object(obj)) return read_fail(r, path, "expected an object, got %s", json_type_name(obj));
    const char *name = read_name(r, obj, path, "name");
    if (!name || !(in->name = strdup(name))) return name ? read_fail(r, path, "out of memory") : -1;
    if ((v->kind = read_enum(r, obj, path, "kind", kinds, 2, NULL)) < 0) return -1;
    snprintf(sub, sizeof sub, "%s.missing", path);
    json_t *missing = read_member(r, obj, path, "missing", JSON_OBJECT, "an object");
    if (!missing || (v->missing = read_enum(r, missing, sub, "rule", rules, 2, NULL)) < 0) return -1;
    in->required = v->missing == 0;
    if (v->kind == 0) {
        static const char *const transforms[] = {"none", "log1p"};
        in->type = TYPE_NUMBER;
        if ((v->transform = read_enum(r, obj, path, "transform", transforms, 2, "none")) < 0) return -1;
        if (v->missing == 1 && read_finite(r, missing, sub, "value", &v->impute) != 0) return -1;
        int bad;
        json_t *ind = read_optional(r, obj, path, "missing_indicator", READ_BOOL, "a boolean", &bad);
        if (bad) return -1;
        v->indicator = json_is_true(ind);
        snprintf(sub, sizeof sub, "%s.normalize", path);
        json_t *norm = read_member(r, obj, path, "normalize", JSON_OBJECT, "an object");
        if (!norm || read_finite(r, norm, sub, "mean", &v->mean) != 0 ||
            read_finite(r, norm, sub, "std", &v->std) != 0)
            return -1;
        if (!(v->std > 0)) return read_fail(r, sub, "member \"std\" must be positive");
        return 0;
    }
    static const char *const vtypes[] = {"string", "integer"};
    static const char *const unknowns[] = {"reject", "zeros"};
    if ((v->vtype = read_enum(r, obj, path, "value_type", vtypes, 2, NULL)) < 0) return -1;
    if ((v->unknown = read_enum(r, obj, path, "unknown", unknowns, 2, "reject")) < 0) return -1;
    in->type = v->vtype == 0 ? TYPE_STRING : TYPE_INTEGER;
    in->unknown = v->unknown == 0 ? UNKNOWN_REJECT : UNKNOWN_ZEROS;
    json_t *vocab = read_member(r, obj, path, "vocabulary", JSON_ARRAY, "an array");
    snprintf(sub, sizeof sub, "%s.vocabulary", path);
    if (!vocab || schema_read_vocab(r, in, vocab, sub) != 0) return -1;
    if (v->missing == 1) {
        snprintf(sub, sizeof sub, "%s.missing", path);
        int idx = schema_category_of_json(in, json_object_get(missing, "value"));
        if (idx < 0) return read_fail(r, sub, "member \"value\" must be one of the vocabulary's values");
        v->impute_index = (size_t)idx;
    }
    return 0;
}

static int add_v1_features(feature_steps *fs, size_t i, const v1_input *v)
{
    feature_step st[3];
    int n = 0;
    if (v->kind == 0) {
        if (v->missing == 1) st[n++] = (feature_step){STEP_IMPUTE, v->impute, 0};
        if (v->transform == 1) st[n++] = (feature_step){STEP_LOG1P, 0, 0};
        st[n++] = (feature_step){STEP_STANDARDIZE, v->mean, v->std};
        if (features_add(fs, i, st, n) != 0) return -1;
        feature_step ind = {STEP_MISSING_INDICATOR, 0, 0};
        return v->indicator ? features_add(fs, i, &ind, 1) : 0;
    }
    if (v->missing == 1) st[n++] = (feature_step){STEP_IMPUTE, (double)v->impute_index, 0};
    st[n++] = (feature_step){STEP_ONE_HOT, 0, 0};
    return features_add(fs, i, st, n);
}

/* tabserve 0.1.0's content hash, field for field */
static void v1_hash(const model *m, const v1_input *v, const mlp *net, char out[32])
{
    fnv f = FNV_INIT;
    for (size_t i = 0; i < m->schema.n_inputs; i++) {
        const schema_input *in = &m->schema.inputs[i];
        fnv_str(&f, in->name);
        fnv_i64(&f, v[i].kind * 16 + v[i].missing * 4 + v[i].transform * 2 + v[i].indicator);
        fnv_f64(&f, v[i].impute);
        fnv_f64(&f, v[i].mean);
        fnv_f64(&f, v[i].std);
        fnv_i64(&f, v[i].vtype * 4 + v[i].unknown);
        fnv_i64(&f, (int64_t)in->n_vocab);
        for (size_t j = 0; j < in->n_vocab; j++) fnv_str(&f, in->vocab[j]);
        fnv_i64(&f, (int64_t)v[i].impute_index);
    }
    for (size_t i = 0; i < net->n_layers; i++) {
        const mlp_layer *l = &net->layers[i];
        fnv_i64(&f, l->n_in);
        fnv_i64(&f, l->n_out);
        fnv_i64(&f, l->act);
        fnv_floats(&f, l->w, (size_t)l->n_in * l->n_out);
        fnv_floats(&f, l->b, (size_t)l->n_out);
    }
    fnv_str(&f, m->output.label);
    snprintf(out, 32, "fnv1a64:%016llx", (unsigned long long)f.h);
}

model_builder *model_from_v1(json_t *root, reader *r)
{
    char path[64], why[ERR_LEN];
    v1_input *v = NULL;
    model_builder *b = model_builder_new();
    if (!b) goto oom;
    schema *s = model_builder_inputs(b);
    json_t *inputs = read_member(r, root, "$", "inputs", JSON_ARRAY, "an array");
    if (!inputs) goto fail;
    size_t n = json_array_size(inputs);
    if (n == 0 || n > SCHEMA_MAX_INPUTS) {
        read_fail(r, "$.inputs", "expected 1 to %d inputs", SCHEMA_MAX_INPUTS);
        goto fail;
    }
    s->inputs = calloc(n, sizeof *s->inputs);
    v = calloc(n, sizeof *v);
    if (!s->inputs || !v) goto oom;
    s->n_inputs = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "$.inputs[%zu]", i);
        if (read_v1_input(r, &s->inputs[i], &v[i], json_array_get(inputs, i), path) != 0) goto fail;
        if (schema_find(s, s->inputs[i].name, strlen(s->inputs[i].name)) < (int)i) {
            read_fail(r, path, "duplicate input name \"%s\"", s->inputs[i].name);
            goto fail;
        }
        if (add_v1_features(model_builder_features(b), i, &v[i]) != 0) goto oom;
    }

    json_t *net_obj = read_member(r, root, "$", "network", JSON_OBJECT, "an object");
    json_t *layers = net_obj ? read_member(r, net_obj, "$.network", "layers", JSON_ARRAY, "an array") : NULL;
    mlp *net = layers ? mlp_read_layers(r, layers, "$.network.layers") : NULL;
    if (!net) goto fail;
    model_builder_set_predictor(b, &net->base);

    json_t *out = read_member(r, root, "$", "output", JSON_OBJECT, "an object");
    const char *oname = out ? read_string(r, out, "$.output", "name") : NULL;
    const char *label = oname ? read_name(r, out, "$.output", "label") : NULL;
    if (!label) goto fail;
    if (strcmp(oname, "predict") != 0) {
        read_fail(r, "$.output.name", "expected \"predict\", got \"%.64s\"", oname);
        goto fail;
    }
    output_spec *o = model_builder_output(b);
    if (!(o->label = strdup(label))) goto oom;
    o->task = TASK_BINARY;
    o->link = LINK_SIGMOID;

    int bad;
    json_t *meta = read_optional(r, root, "$", "metadata", JSON_OBJECT, "an object", &bad);
    if (bad) goto fail;
    if (meta && model_builder_set_metadata(b, json_deep_copy(meta)) != 0) goto oom;

    const model *m = model_builder_columns(b, why);
    if (!m) goto why;
    if (net->layers[0].n_in != m->n_features) {
        read_fail(r, "$.network.layers[0].weights",
                  "has %d rows, but its input is %d wide (the encoded features)", net->layers[0].n_in,
                  m->n_features);
        goto fail;
    }
    mlp_layer *last = &net->layers[net->n_layers - 1];
    if (last->n_out != 1 || last->act != ACT_SIGMOID) {
        snprintf(path, sizeof path, "$.network.layers[%zu]", net->n_layers - 1);
        read_fail(r, path,
                  "the last layer must have 1 unit and a sigmoid activation (the output is a probability), "
                  "got %d unit(s), %s",
                  last->n_out, activation_name(last->act));
        goto fail;
    }
    char hash[32];
    v1_hash(m, v, net, hash);
    json_t *stored = json_object_get(m->metadata, "content_hash");
    if (stored && (!json_is_string(stored) || strcmp(json_string_value(stored), hash) != 0)) {
        read_fail(r, "$.metadata.content_hash",
                  "does not match the content (computed %s): the file was changed or damaged", hash);
        goto fail;
    }
    last->act = ACT_LINEAR; /* the sigmoid moves to the output's link */
    free(v);
    return b;
why:
    err_set(r->err, "%s: %s", r->file, why);
    goto fail;
oom:
    err_set(r->err, "%s: out of memory", r->file);
fail:
    free(v);
    model_builder_free(b);
    return NULL;
}
