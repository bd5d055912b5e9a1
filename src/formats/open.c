/* open — telling model formats apart by content, and the steps every
 * imported model shares: import, the schema file, assembly. */
#define _GNU_SOURCE /* memmem */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/tabserve.h"
#include "base/err.h"
#include "base/files.h"
#include "formats/open.h"
#include "formats/lightgbm.h"
#include "formats/onnx.h"
#include "formats/probe.h"
#include "formats/sidecar.h"
#include "formats/ubjson.h"
#include "formats/xgb_json.h"
#include "formats/xgboost.h"
#include "formats/default_model.h"

static const import_limits default_limits = IMPORT_LIMITS_DEFAULT;

/* The format model_open reads buf as: "json" (tabserve or XGBoost), "ubjson", "lightgbm", "onnx", or
 * NULL with err saying why it is none of them. */
static const char *model_format_of(const char *buf, size_t len, char *err)
{
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", buf[i]) && buf[i]) i++;
    if (ubjson_is(buf, len)) return "ubjson"; /* XGBoost's binary form, whatever the file's name */
    if (lightgbm_is(buf, len)) return "lightgbm";
    if (i < len && buf[i] == '{') return "json"; /* a tabserve or XGBoost model: the parse tells */
    if (onnx_is(buf, len)) return "onnx";
    /* its bytes are not shown: a served model's error reaches clients */
    err_set(
        err,
        "not a tabserve model, an XGBoost model (JSON or UBJSON), a LightGBM text model or an ONNX model");
    return NULL;
}

/* XGBoost writes NaN (the threshold of a categorical split) as a bare NaN,
 * which is not JSON: a copy with each NaN outside strings written null. */
static char *nan_to_null(const char *buf, size_t len, size_t *out_len)
{
    size_t extra = 0;
    for (size_t i = 0; i + 3 <= len; i++)
        if (memcmp(buf + i, "NaN", 3) == 0) extra++;
    char *out = malloc(len + extra + 1);
    if (!out) return NULL;
    size_t o = 0;
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (c == '\\' && i + 1 < len) {
                out[o++] = c;
                c = buf[++i];
            } else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == 'N' && i + 3 <= len && memcmp(buf + i, "NaN", 3) == 0) {
            memcpy(out + o, "null", 4);
            o += 4;
            i += 2;
            continue;
        }
        out[o++] = c;
    }
    out[o] = 0;
    *out_len = o;
    return out;
}

/* What reading a large model leaves to free (a 500-tree XGBoost document takes
 * ~4 ms to free), released on a second thread while the model is assembled. */
typedef struct {
    json_t *doc;
    xgb_arrays *arrays;
    char *text, *buf;
    pthread_t th;
    int started;
} leftovers;

#define LEFTOVERS_MIN (1u << 20) /* bytes of model file worth a thread */

static void *release_leftovers(void *arg)
{
    leftovers *l = arg;
    json_decref(l->doc);
    xgb_arrays_free(l->arrays);
    free(l->text);
    free(l->buf);
    return NULL;
}

static void leftovers_start(leftovers *l)
{
    if (pthread_create(&l->th, NULL, release_leftovers, l) == 0)
        l->started = 1;
    else
        release_leftovers(l);
}

static void leftovers_wait(leftovers *l)
{
    if (l->started) pthread_join(l->th, NULL);
}

/* XGBoost writes "learner" as the first member of its document. */
static int starts_with_learner(const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", buf[i]) && buf[i]) i++;
    if (i >= len || buf[i++] != '{') return 0;
    while (i < len && strchr(" \t\r\n", buf[i]) && buf[i]) i++;
    return len - i >= 9 && memcmp(buf + i, "\"learner\"", 9) == 0;
}

/* An XGBoost document through the streaming reader (xgb_json.h); its bare
 * NaNs rewritten to null first when it has any. */
static model_builder *open_xgboost(const char *buf, size_t len, const char *name, const import_limits *lim,
                                   leftovers *left, char *err)
{
    xgb_arrays *arrays = NULL;
    json_t *root = xgb_json_load(buf, len, name, err, &arrays);
    char *fixed = NULL;
    if (!root && memmem(buf, len, "NaN", 3)) { /* refused for its bare NaNs: once more without them */
        size_t fixed_len;
        if (!(fixed = nan_to_null(buf, len, &fixed_len)))
            return err_set(err, "%s: out of memory", name), NULL;
        root = xgb_json_load(fixed, fixed_len, name, err, &arrays);
    }
    model_builder *m = NULL;
    if (root) {
        reader r = {name, err};
        m = xgboost_is(root) ? xgboost_import(root, arrays, &r, lim) : NULL;
        if (!m && !xgboost_is(root)) err_set(err, "%s: \"learner\" must be an object", name);
    }
    if (left && len >= LEFTOVERS_MIN) { /* freed while the model is assembled */
        left->doc = root;
        left->arrays = arrays;
        left->text = fixed;
        return m;
    }
    json_decref(root);
    xgb_arrays_free(arrays);
    free(fixed);
    return m;
}

/* What a file opened as: a tabserve model (whole: it checks itself), or the
 * parts of another format's model, to finish, with its reference (probe.h). */
typedef struct {
    model *whole;
    model_builder *parts, *reference;
} opened;

static void opened_free(opened *o)
{
    model_free(o->whole);
    model_builder_free(o->parts);
    model_builder_free(o->reference);
    *o = (opened){0};
}

static int open_json(const char *buf, size_t len, const char *name, const import_limits *lim, leftovers *left,
                     opened *o, char *err)
{
    if (starts_with_learner(buf, len))
        return (o->parts = open_xgboost(buf, len, name, lim, left, err)) ? 0 : -1;
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root && memmem(buf, len, "NaN", 3)) {
        size_t fixed_len;
        char *fixed = nan_to_null(buf, len, &fixed_len);
        if (fixed) root = json_loadb(fixed, fixed_len, JSON_REJECT_DUPLICATES, &jerr);
        free(fixed);
    }
    if (!root)
        return err_set(err, "%s: line %d, column %d (byte %d): invalid JSON: %s", name, jerr.line,
                       jerr.column, jerr.position, jerr.text);
    if (xgboost_is(root)) {
        reader r = {name, err};
        o->parts = xgboost_import(root, NULL, &r, lim);
    } else {
        o->whole = model_load_buffer(buf, len, name, err); /* a tabserve model checks itself */
    }
    json_decref(root);
    return o->parts || o->whole ? 0 : -1;
}

/* XGBoost's UBJSON: the same document as its JSON, so the same reader. */
static model_builder *open_ubjson(const char *buf, size_t len, const char *name, const import_limits *lim,
                                  char *err)
{
    char why[ERR_LEN];
    json_t *root = ubjson_load(buf, len, why);
    if (!root) return err_set(err, "%s: UBJSON: %s", name, why), NULL;
    model_builder *m = NULL;
    if (!xgboost_is(root))
        err_set(err, "%s: a UBJSON document that is not an XGBoost model (no \"learner\" object)", name);
    else {
        reader r = {name, err};
        m = xgboost_import(root, NULL, &r, lim);
    }
    json_decref(root);
    return m;
}

static int open_any(const char *buf, size_t len, const char *name, const import_limits *lim, leftovers *left,
                    opened *o, char *err)
{
    *o = (opened){0};
    if ((long)len > lim->max_file_bytes)
        return err_set(err, "%s: %zu bytes, over the limit of %ld (--max-model-bytes)", name, len,
                       lim->max_file_bytes);
    char why[ERR_LEN];
    const char *format = model_format_of(buf, len, why);
    if (!format) return err_set(err, "%s: %s", name, why);
    if (strcmp(format, "json") == 0) return open_json(buf, len, name, lim, left, o, err);
    if (strcmp(format, "ubjson") == 0)
        o->parts = open_ubjson(buf, len, name, lim, err);
    else if (strcmp(format, "lightgbm") == 0)
        o->parts = lightgbm_import(buf, len, name, lim, err);
    else
        o->parts = onnx_import(buf, len, name, lim, &o->reference, err);
    return o->parts ? 0 : -1;
}

static model *finish(model_builder *b, const char *name, size_t len, char *err)
{
    char why[ERR_LEN];
    model *m = len >= LEFTOVERS_MIN ? model_builder_finish_large(b, why) : model_builder_finish(b, why);
    if (!m) err_set(err, "%s: %s", name, why);
    return m;
}

/* One truth per format (probe.h): the assembled compiled model if it answers
 * as the reference does, else the reference, saying why in its metadata. Takes
 * both; NULL only when memory runs out. */
typedef struct {
    pthread_t th;
    model_builder *parts;
    model *m;
    const char *name;
    size_t len;
    char err[ERR_LEN];
} assembly;

static void *assemble_thread(void *arg)
{
    assembly *a = arg;
    a->m = finish(a->parts, a->name, a->len, a->err);
    return NULL;
}

/* The compiled model m and its reference assembled side by side (two cores:
 * the reference's cost hidden behind the compiled model's own), then checked
 * against each other. Takes both. */
static model *one_truth(model_builder *parts, model_builder *ref_parts, const char *name, size_t len,
                        char *err)
{
    char why[ERR_LEN];
    if (!ref_parts) return finish(parts, name, len, err);
    assembly a = {.parts = ref_parts, .name = name, .len = len};
    int threaded = pthread_create(&a.th, NULL, assemble_thread, &a) == 0;
    if (!threaded) assemble_thread(&a);
    model *m = finish(parts, name, len, err);
    if (threaded) pthread_join(a.th, NULL);
    model *ref = a.m;
    if (!m) {
        model_free(ref);
        return NULL;
    }
    if (!ref) { /* the compiled model assembled: the reference should have */
        json_object_set_new(json_object_get(m->metadata, "source"), "unchecked", json_string(a.err));
        return m;
    }
    int agree = probe_agree(m, ref, why, sizeof why);
    if (agree < 0) {
        model_free(m);
        model_free(ref);
        return err_set(err, "%s: out of memory", name), NULL;
    }
    if (agree) {
        model_free(ref);
        return m;
    }
    model_free(m);
    json_t *source = json_object_get(ref->metadata, "source");
    if (json_object_set_new(source, "compiled_disagreed", json_string(why)) != 0) {
        model_free(ref);
        return err_set(err, "%s: out of memory", name), NULL;
    }
    return ref;
}

model *model_open_buffer(const char *buf, size_t len, const char *name, const import_limits *limits,
                         char *err)
{
    opened o;
    if (open_any(buf, len, name, limits ? limits : &default_limits, NULL, &o, err) != 0) return NULL;
    return o.whole ? o.whole : one_truth(o.parts, o.reference, name, len, err);
}

model *model_open(const char *path, const char *schema_path, const import_limits *limits, char *err)
{
    if (!path || !*path || strcmp(path, "default") == 0) {
        if (schema_path) return err_set(err, "a schema file is for a model of another format"), NULL;
        return model_load_default(err);
    }
    const import_limits *lim = limits ? limits : &default_limits;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > lim->max_file_bytes)
        return err_set(err, "%s: %lld bytes, over the limit of %ld (--max-model-bytes)", path,
                       (long long)st.st_size, lim->max_file_bytes),
               NULL;
    char *buf;
    size_t len;
    if (file_read_all(path, &buf, &len, err) != 0) return NULL;
    leftovers left = {0};
    opened o;
    model *m = NULL;
    int rc = open_any(buf, len, path, lim, &left, &o, err);
    left.buf = buf;
    leftovers_start(&left);
    if (rc == 0 && o.whole && schema_path) {
        err_set(err, "%s: a tabserve model carries its own schema; --schema is for XGBoost and ONNX models",
                path);
    } else if (rc == 0 && o.whole) {
        m = o.whole;
        o.whole = NULL;
    } else if (rc == 0) {
        char beside[4096];
        const char *sidecar = schema_path;
        if (!sidecar) {
            sidecar_path_for(path, beside, sizeof beside);
            if (access(beside, R_OK) == 0) sidecar = beside;
        }
        if (!(sidecar && sidecar_apply(o.parts, sidecar, err) != 0) &&
            !(o.reference && sidecar && sidecar_apply(o.reference, sidecar, err) != 0)) {
            m = one_truth(o.parts, o.reference, path, len, err);
            o.parts = o.reference = NULL;
        }
    }
    opened_free(&o);
    leftovers_wait(&left);
    return m;
}
