/* docs — JSON documents built with jansson, dumped once. */
#define _GNU_SOURCE
#include "formats/tabserve.h"
#include "serve/docs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "formats/default_model.h"
#include "serve/openapi.h"

const char *docs_v2_datatype(value_type t)
{
    switch (t) {
    case TYPE_INTEGER: return "INT64";
    case TYPE_STRING: return "BYTES";
    case TYPE_BOOLEAN: return "BOOL";
    case TYPE_NUMBER: break;
    }
    return "FP32";
}

static const char *docs_tfs_dtype(value_type t)
{
    switch (t) {
    case TYPE_INTEGER: return "DT_INT64";
    case TYPE_STRING: return "DT_STRING";
    case TYPE_BOOLEAN: return "DT_BOOL";
    case TYPE_NUMBER: break;
    }
    return "DT_FLOAT";
}

static char *dump(json_t *j, size_t *len)
{
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(j);
    if (s) {
        size_t n = strlen(s);
        char *t = realloc(s, n + 2); /* a final newline, as every other answer has */
        if (!t) {
            free(s);
            return NULL;
        }
        t[n] = '\n';
        t[n + 1] = 0;
        s = t;
        *len = n + 1;
    }
    return s;
}

static json_t *version_text(long v)
{
    char s[24];
    snprintf(s, sizeof s, "%ld", v);
    return json_string(s);
}

/* [-1] for one number per row, [-1, k] for k class probabilities */
static json_t *output_shape(const model *m, int tfs)
{
    json_t *shape = json_array();
    if (tfs) {
        json_t *dims = json_array();
        json_array_append_new(dims, json_pack("{s:s,s:s}", "size", "-1", "name", ""));
        if (m->n_outputs > 1) {
            char k[24];
            snprintf(k, sizeof k, "%d", m->n_outputs);
            json_array_append_new(dims, json_pack("{s:s,s:s}", "size", k, "name", ""));
        }
        json_decref(shape);
        return json_pack("{s:o,s:b}", "dim", dims, "unknown_rank", 0);
    }
    json_array_append_new(shape, json_integer(-1));
    if (m->n_outputs > 1) json_array_append_new(shape, json_integer(m->n_outputs));
    return shape;
}

static json_t *describe(const repo_model *rm, const repo_version *v)
{
    json_t *d = model_describe(v->m);
    json_object_set_new(d, "name", json_string(rm->name));
    json_object_set_new(d, "version", version_text(v->version));
    return d;
}

static json_t *v2_metadata(const repo_model *rm, const model *m)
{
    json_t *versions = json_array(), *inputs = json_array(), *outputs = json_array();
    for (int k = 0; k < rm->n; k++)
        if (rm->v[k].m) json_array_append_new(versions, version_text(rm->v[k].version));
    for (size_t i = 0; i < m->schema.n_inputs; i++)
        json_array_append_new(inputs,
                              json_pack("{s:s,s:s,s:[i]}", "name", m->schema.inputs[i].name, "datatype",
                                        docs_v2_datatype(m->schema.inputs[i].type), "shape", -1));
    json_array_append_new(outputs, json_pack("{s:s,s:s,s:o}", "name", OUTPUT_TENSOR, "datatype", "FP32",
                                             "shape", output_shape(m, 0)));
    return json_pack("{s:s,s:o,s:s,s:o,s:o}", "name", rm->name, "versions", versions, "platform", "tabserve",
                     "inputs", inputs, "outputs", outputs);
}

static json_t *tfs_metadata(const repo_model *rm, const repo_version *v)
{
    const model *m = v->m;
    json_t *inputs = json_object();
    for (size_t i = 0; i < m->schema.n_inputs; i++) {
        const schema_input *in = &m->schema.inputs[i];
        json_object_set_new(inputs, in->name,
                            json_pack("{s:s,s:{s:[{s:s,s:s}],s:b},s:s}", "dtype", docs_tfs_dtype(in->type),
                                      "tensor_shape", "dim", "size", "-1", "name", "", "unknown_rank", 0,
                                      "name", in->name));
    }
    json_t *outputs = json_object();
    json_object_set_new(outputs, OUTPUT_TENSOR,
                        json_pack("{s:s,s:o,s:s}", "dtype", "DT_FLOAT", "tensor_shape", output_shape(m, 1),
                                  "name", OUTPUT_TENSOR));
    json_t *sig = json_pack("{s:o,s:o,s:s,s:{}}", "inputs", inputs, "outputs", outputs, "method_name",
                            "tensorflow/serving/predict", "defaults");
    json_t *ver = version_text(v->version);
    return json_pack("{s:{s:s,s:s,s:o},s:{s:{s:{s:o}}}}", "model_spec", "name", rm->name, "signature_name",
                     "", "version", ver, "metadata", "signature_def", "signature_def", "serving_default",
                     sig);
}

/* What a version keeps: its documents (attached to it in the repository). */
typedef struct {
    char *text[DOC_COUNT];
    size_t len[DOC_COUNT];
} version_docs;

void docs_forget(void *attached)
{
    version_docs *d = attached;
    if (!d) return;
    for (int k = 0; k < DOC_COUNT; k++) free(d->text[k]);
    free(d);
}

const char *docs_get(const repo_version *v, doc_kind d, size_t *len)
{
    const version_docs *vd = v->attached;
    *len = vd && vd->text[d] ? vd->len[d] : 0;
    return vd ? vd->text[d] : NULL;
}

int docs_render(repository *r, char *err)
{
    char lerr[ERR_LEN];
    model *builtin = NULL; /* loaded only to compare a model file with it */
    int builtin_tried = 0, rc = 0;
    for (int i = 0; i < r->n && rc == 0; i++) {
        repo_model *rm = &r->models[i];
        for (int k = 0; k < rm->n && rc == 0; k++) {
            repo_version *v = &rm->v[k];
            if (!v->m || v->attached) continue;
            version_docs *d = calloc(1, sizeof *d);
            if (!d) {
                rc = -1;
                break;
            }
            v->attached = d;
            d->text[DOC_DESCRIBE] = dump(describe(rm, v), &d->len[DOC_DESCRIBE]);
            d->text[DOC_V2_METADATA] = dump(v2_metadata(rm, v->m), &d->len[DOC_V2_METADATA]);
            d->text[DOC_TFS_METADATA] = dump(tfs_metadata(rm, v), &d->len[DOC_TFS_METADATA]);
            int n = asprintf(&d->text[DOC_V2_REPLY_HEAD], "{\"model_name\":\"%s\",\"model_version\":\"%ld\"",
                             rm->name, v->version);
            d->len[DOC_V2_REPLY_HEAD] = n > 0 ? (size_t)n : 0;
            if (n < 0) d->text[DOC_V2_REPLY_HEAD] = NULL;
            if (!d->text[DOC_DESCRIBE] || !d->text[DOC_V2_METADATA] || !d->text[DOC_TFS_METADATA] ||
                !d->text[DOC_V2_REPLY_HEAD])
                rc = -1;
            /* the default model's spec: the hand-written template for the built-in
             * model (or a file of the same content), else generated from the model
             * (NULL: serve the template) */
            if (i != r->default_model) continue;
            int is_builtin = !v->path;
            if (!is_builtin) {
                if (!builtin_tried) builtin = model_load_default(lerr);
                builtin_tried = 1;
                is_builtin = builtin && strcmp(builtin->hash, v->m->hash) == 0;
            }
            if (!is_builtin) d->text[DOC_OPENAPI] = openapi_generate(v->m, &d->len[DOC_OPENAPI]);
        }
    }
    model_free(builtin);
    return rc == 0 ? 0 : err_set(err, "out of memory describing the models");
}
