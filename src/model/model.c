/* model — the load steps, saving, describing and the scoring entry. */
#define _POSIX_C_SOURCE 200809L
#include "model/model.h"

#include "model/encode.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/files.h"
#include "base/jsonx.h"

/* ---- the load steps ------------------------------------------------------- */

int model_validate(const model *m, char *err)
{
    if (features_validate(&m->features, &m->schema, err) != 0) return -1;
    if (!m->predictor) return err_set(err, "$.predictor: missing");
    return output_check(&m->output, m->predictor->n_outputs, err);
}

int model_layout(model *m, char *err)
{
    if (schema_index(&m->schema) != 0) return err_set(err, "out of memory");
    features_layout(&m->features, &m->schema);
    m->n_features = m->features.n_columns;
    m->n_outputs = output_width(&m->output);
    if (m->predictor->n_features != m->n_features)
        return err_set(err, "$.predictor: takes %d features, but the feature steps write %d columns",
                       m->predictor->n_features, m->n_features);
    return 0;
}

#define MODEL_MAX_BACKGROUND 1024

/* $.metadata.background: rows of input values, each encoded as a request is. */
int model_encode_background(model *m, char *err)
{
    free(m->background);
    m->background = NULL;
    m->n_background = 0;
    json_t *bg = json_object_get(m->metadata, "background");
    if (!bg) return 0;
    size_t n = json_array_size(bg);
    if (!json_is_array(bg) || n == 0 || n > MODEL_MAX_BACKGROUND)
        return err_set(err, "$.metadata.background: expected an array of 1 to %d rows of input values",
                       MODEL_MAX_BACKGROUND);
    if (!(m->background = malloc(n * (size_t)m->n_features * sizeof *m->background)))
        return err_set(err, "out of memory for the background rows");
    for (size_t i = 0; i < n; i++) {
        char where[48];
        int bad;
        snprintf(where, sizeof where, "$.metadata.background[%zu]", i);
        if (encode_json(m, json_array_get(bg, i), where, ENCODE_IGNORE_UNKNOWN, m->background + i * (size_t)m->n_features, &bad,
                        err) != 0)
            return -1;
    }
    m->n_background = (int)n;
    return 0;
}

int model_prepare(model *m, char *err)
{
    if (m->predictor->ops->prepare(m->predictor, err) != 0) return -1;
    return model_encode_background(m, err);
}

void model_hash(model *m)
{
    fnv f = FNV_INIT;
    schema_hash(&m->schema, &f);
    features_hash(&m->features, &f);
    fnv_str(&f, m->predictor->ops->kind);
    m->predictor->ops->hash(m->predictor, &f);
    output_hash(&m->output, &f);
    snprintf(m->hash, sizeof m->hash, "fnv1a64:%016llx", (unsigned long long)f.h);
}

static void *hash_thread(void *arg)
{
    model_hash(arg);
    return NULL;
}

/* hash_beside: the hash on a second thread while prepare runs (it reads the
 * parameters; prepare only derives state beside them) */
static int assemble(model *m, int hash_beside, char *err)
{
    if (model_validate(m, err) != 0 || model_layout(m, err) != 0) return -1;
    pthread_t th;
    int started = hash_beside && pthread_create(&th, NULL, hash_thread, m) == 0;
    int rc = model_prepare(m, err);
    if (started)
        pthread_join(th, NULL);
    else if (rc == 0)
        model_hash(m);
    return rc;
}

int model_assemble(model *m, char *err) { return assemble(m, 0, err); }

int model_assemble_large(model *m, char *err) { return assemble(m, 1, err); }

/* ---- parsing ---------------------------------------------------------------- */

static int read_metadata(model *m, reader *r, json_t *root)
{
    int bad;
    json_t *meta = read_optional(r, root, "$", "metadata", JSON_OBJECT, "an object", &bad);
    if (bad) return -1;
    m->metadata = meta ? json_deep_copy(meta) : json_object();
    if (!m->metadata) return read_fail(r, "$.metadata", "out of memory");
    return 0;
}

static model *model_from_v2(json_t *root, reader *r)
{
    model *m = calloc(1, sizeof *m);
    if (!m) {
        read_fail(r, "$", "out of memory");
        return NULL;
    }
    json_t *inputs = read_member(r, root, "$", "inputs", JSON_ARRAY, "an array");
    if (!inputs || schema_read(&m->schema, r, inputs, "$.inputs") != 0) goto fail;
    json_t *features = read_member(r, root, "$", "features", JSON_ARRAY, "an array");
    if (!features || features_read(&m->features, &m->schema, r, features, "$.features") != 0) goto fail;
    json_t *pred = read_member(r, root, "$", "predictor", JSON_OBJECT, "an object");
    if (!pred || !(m->predictor = predictor_read(r, pred, "$.predictor"))) goto fail;
    json_t *out = read_member(r, root, "$", "output", JSON_OBJECT, "an object");
    if (!out || output_read(&m->output, r, out, "$.output") != 0) goto fail;
    if (read_metadata(m, r, root) != 0) goto fail;
    return m;
fail:
    model_free(m);
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
    model *m = version == 1 ? model_from_v1(root, r) : model_from_v2(root, r);
    if (!m) return NULL;
    char why[ERR_LEN];
    if (version == 2 && (model_validate(m, why) != 0 || model_layout(m, why) != 0)) goto fail;
    if (model_prepare(m, why) != 0) goto fail;
    model_hash(m);
    json_t *hash = json_object_get(m->metadata, "content_hash");
    if (version == 2 && hash && (!json_is_string(hash) || strcmp(json_string_value(hash), m->hash) != 0)) {
        read_fail(r, "$.metadata.content_hash",
                  "does not match the content (computed %s): the file was changed or damaged", m->hash);
        model_free(m);
        return NULL;
    }
    json_object_del(m->metadata, "content_hash"); /* derived: written afresh by model_save */
    return m;
fail:
    err_set(r->err, "%s: %s", r->file, why);
    model_free(m);
    return NULL;
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

void model_free(model *m)
{
    if (!m) return;
    schema_clear(&m->schema);
    features_clear(&m->features);
    predictor_free(m->predictor);
    output_clear(&m->output);
    json_decref(m->metadata);
    free(m->background);
    free(m);
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

/* ---- scoring -------------------------------------------------------------- */

size_t model_scratch_floats(const model *m, int n)
{
    return m->predictor->ops->scratch_floats(m->predictor, n);
}

void model_predict(const model *m, const float *x, int n, float *scratch, float *y)
{
    m->predictor->ops->predict(m->predictor, x, n, scratch, y);
    output_link_apply(&m->output, y, n);
}

int model_check_output(const model *m, const float *x, const float *y, const char *where, int *bad_input,
                       char *err)
{
    if (model_output_finite(m, y)) return 0;
    /* the input to blame: one whose column is NaN (a missing value the estimator
     * cannot route), else the one with the largest column */
    int worst = 0;
    for (int c = 0; c < m->n_features; c++) {
        if (isnan(x[c])) {
            worst = c;
            break;
        }
        if (fabsf(x[c]) > fabsf(x[worst])) worst = c;
    }
    size_t in = 0;
    for (size_t i = 0; i < m->features.n; i++)
        if (worst >= m->features.f[i].offset && worst < m->features.f[i].offset + m->features.f[i].width)
            in = m->features.f[i].input;
    *bad_input = (int)in;
    return err_set(
        err,
        "%s%s%s: the model gives no finite prediction with this value (its feature column is %g): it is "
        "too far outside the data the model was made for",
        where ? where : "column ", where ? "." : "", m->schema.inputs[in].name, (double)x[worst]);
}

int model_batch_init_sized(model_batch *b, int cap, int n_features, int n_outputs, size_t scratch_floats,
                           char *err)
{
    memset(b, 0, sizeof *b);
    b->cap = cap < 1 ? 1 : cap;
    b->x = malloc((size_t)b->cap * (size_t)n_features * sizeof *b->x);
    b->y = malloc((size_t)b->cap * (size_t)n_outputs * sizeof *b->y);
    b->scratch = malloc((scratch_floats + 1) * sizeof *b->scratch);
    if (b->x && b->y && b->scratch) return 0;
    model_batch_free(b);
    return err_set(err, "out of memory for a batch of %d rows", cap);
}

int model_batch_init(model_batch *b, const model *m, int cap, char *err)
{
    cap = cap < 1 ? 1 : cap;
    if (model_batch_init_sized(b, cap, m->n_features, m->n_outputs, model_scratch_floats(m, cap), err) != 0)
        return -1;
    b->m = m;
    return 0;
}

void model_batch_free(model_batch *b)
{
    free(b->x);
    free(b->y);
    free(b->scratch);
    b->x = b->y = b->scratch = NULL;
}

void model_batch_run(model_batch *b, int n) { model_predict(b->m, b->x, n, b->scratch, b->y); }
