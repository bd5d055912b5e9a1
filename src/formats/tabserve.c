/* tabserve — tabserve's own model files (formats/tabserve.h). */
#define _POSIX_C_SOURCE 200809L
#include "formats/tabserve.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/files.h"
#include "base/jsonx.h"
#include "estimators/estimators.h"
#include "model/builder.h"

/* ---- parsing ---------------------------------------------------------------- */

static int read_metadata(model_builder *b, reader *r, json_t *root)
{
    int bad;
    json_t *meta = read_optional(r, root, "$", "metadata", JSON_OBJECT, "an object", &bad);
    if (bad) return -1;
    if (meta && model_builder_set_metadata(b, json_deep_copy(meta)) != 0)
        return read_fail(r, "$.metadata", "out of memory");
    return 0;
}

static model_builder *model_from_v2(json_t *root, reader *r)
{
    model_builder *b = model_builder_new();
    if (!b) {
        read_fail(r, "$", "out of memory");
        return NULL;
    }
    schema *s = model_builder_inputs(b);
    json_t *inputs = read_member(r, root, "$", "inputs", JSON_ARRAY, "an array");
    if (!inputs || schema_read(s, r, inputs, "$.inputs") != 0) goto fail;
    json_t *features = read_member(r, root, "$", "features", JSON_ARRAY, "an array");
    if (!features || features_read(model_builder_features(b), s, r, features, "$.features") != 0) goto fail;
    json_t *pred_obj = read_member(r, root, "$", "predictor", JSON_OBJECT, "an object");
    predictor *pred = pred_obj ? estimators_read(r, pred_obj, "$.predictor") : NULL;
    if (!pred) goto fail;
    model_builder_set_predictor(b, pred);
    json_t *out = read_member(r, root, "$", "output", JSON_OBJECT, "an object");
    if (!out || output_read(model_builder_output(b), r, out, "$.output") != 0) goto fail;
    if (read_metadata(b, r, root) != 0) goto fail;
    return b;
fail:
    model_builder_free(b);
    return NULL;
}

static model *load_json(json_t *root, reader *r)
{
    if (!json_is_object(root)) {
        read_fail(r, "$", "expected an object, got %s", json_type_name(root));
        return NULL;
    }
    const char *format = read_string(r, root, "$", "format");
    if (!format) return NULL;
    if (strcmp(format, MODEL_FORMAT) != 0) {
        read_fail(r, "$.format", "expected \"%s\", got \"%.64s\"", MODEL_FORMAT, format);
        return NULL;
    }
    json_t *ver = read_member(r, root, "$", "format_version", JSON_INTEGER, "an integer");
    if (!ver) return NULL;
    json_int_t version = json_integer_value(ver);
    if (version != 1 && version != 2) {
        read_fail(r, "$.format_version", "version %lld is not supported (this tabserve reads 1 and 2)",
                  (long long)version);
        return NULL;
    }
    /* version 1 checks its own content hash (computed the 0.1.0 way) while reading */
    model_builder *b = version == 1 ? model_from_v1(root, r) : model_from_v2(root, r);
    if (!b) return NULL;
    char why[ERR_LEN];
    model *m = model_builder_finish(b, why);
    if (!m) {
        err_set(r->err, "%s: %s", r->file, why);
        return NULL;
    }
    json_t *hash = json_object_get(m->metadata, "content_hash");
    if (version == 2 && hash && (!json_is_string(hash) || strcmp(json_string_value(hash), m->hash) != 0)) {
        read_fail(r, "$.metadata.content_hash",
                  "does not match the content (computed %s): the file was changed or damaged", m->hash);
        model_free(m);
        return NULL;
    }
    json_object_del(m->metadata, "content_hash"); /* derived: written afresh by model_save */
    return m;
}

model *model_load_buffer(const char *buf, size_t len, const char *name, char *err)
{
    json_error_t jerr;
    reader r = {name, err};
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        err_set(err, "%s: line %d, column %d (byte %d): invalid JSON: %s", name, jerr.line, jerr.column,
                jerr.position, jerr.text);
        return NULL;
    }
    model *m = load_json(root, &r);
    json_decref(root);
    return m;
}

model *model_load_file(const char *path, char *err)
{
    char *buf;
    size_t len;
    if (file_read_all(path, &buf, &len, err) != 0) return NULL;
    model *m = model_load_buffer(buf, len, path, err);
    free(buf);
    return m;
}

/* ---- saving and describing ------------------------------------------------ */

static json_t *model_json(const model *m, int with_params)
{
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string(MODEL_FORMAT));
    json_object_set_new(root, "format_version", json_integer(MODEL_FORMAT_VERSION));
    json_object_set_new(root, "inputs", schema_to_json(&m->schema));
    json_object_set_new(root, "features", features_to_json(&m->features, &m->schema));
    json_object_set_new(root, "predictor", m->predictor->ops->to_json(m->predictor, with_params));
    json_object_set_new(root, "output", output_to_json(&m->output));
    json_t *meta = json_deep_copy(m->metadata);
    json_object_set_new(meta, "content_hash", json_string(m->hash));
    json_object_set_new(root, "metadata", meta);
    return root;
}

int model_save(const model *m, const char *path, char *err)
{
    json_t *root = model_json(m, 1);
    /* 17 significant digits: doubles (normalisation statistics) round-trip exactly,
     * and floats widened to double do too, so a reload hashes to the same value.
     * Compact: parsing is most of a load (a served model's readiness), and
     * indentation cost a fifth of it; `tabserve inspect` is the readable view. */
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!text) return err_set(err, "%s: out of memory while serialising the model", path);
    atomic_file af;
    int rc = atomic_open(&af, path, err);
    if (rc == 0) {
        fputs(text, af.fp);
        fputc('\n', af.fp);
        rc = atomic_commit(&af, err);
    }
    free(text);
    return rc;
}

json_t *model_describe(const model *m)
{
    json_t *d = model_json(m, 0);
    json_t *out = json_object_get(d, "output");
    char meaning[READ_MAX_NAME + 64];
    output_meaning(&m->output, meaning, sizeof meaning);
    json_object_set_new(out, "meaning", json_string(meaning));
    json_object_set_new(d, "hash", json_string(m->hash));
    return d;
}
