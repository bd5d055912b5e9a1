/* model — load (validating everything), save, describe and hash model files. */
#include "model.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_LAYERS 64
#define MAX_WIDTH  65536
#define MAX_VOCAB  4096
#define MAX_NAME   256

const char *activation_name(activation a)
{
    static const char *names[] = {"linear", "relu", "tanh", "sigmoid"};
    return names[a];
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* ---- loading ------------------------------------------------------------ */

typedef struct {
    const char *file;
    char *err;
} load_ctx;

static int bad(load_ctx *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(load_ctx *c, const char *path, const char *fmt, ...)
{
    char what[ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return err_set(c->err, "%s: %s: %s", c->file, path, what);
}

/* Fetches obj[key] and checks its type; `want` is a JSON type or -1 for "number". */
static json_t *member(load_ctx *c, json_t *obj, const char *path, const char *key, int want,
                      const char *want_name)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        bad(c, path, "missing member \"%s\" (expected %s)", key, want_name);
        return NULL;
    }
    int ok = want == -1 ? json_is_number(v) : (int)json_typeof(v) == want;
    if (want == JSON_TRUE) ok = json_is_boolean(v);
    if (!ok) {
        bad(c, path, "member \"%s\" must be %s, got %s", key, want_name, json_type_name(v));
        return NULL;
    }
    return v;
}

static int get_finite(load_ctx *c, json_t *obj, const char *path, const char *key, double *out)
{
    json_t *v = member(c, obj, path, key, -1, "a finite number");
    if (!v) return -1;
    *out = json_number_value(v);
    if (!isfinite(*out)) return bad(c, path, "member \"%s\" must be finite", key);
    return 0;
}

static const char *get_string(load_ctx *c, json_t *obj, const char *path, const char *key)
{
    json_t *v = member(c, obj, path, key, JSON_STRING, "a string");
    return v ? json_string_value(v) : NULL;
}

/* Matches s against a list of names; returns the index or -1 with a message. */
static int get_enum(load_ctx *c, json_t *obj, const char *path, const char *key, const char *const *names,
                    int n, const char *default_name)
{
    const char *s;
    if (default_name && !json_object_get(obj, key))
        s = default_name;
    else if (!(s = get_string(c, obj, path, key)))
        return -1;
    char allowed[256] = "";
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) return i;
        snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s\"%s\"", i ? ", " : "",
                 names[i]);
    }
    bad(c, path, "member \"%s\" is \"%.64s\", expected one of %s", key, s, allowed);
    return -1;
}

static int load_floats(load_ctx *c, json_t *arr, const char *path, float *out, size_t n)
{
    if (!json_is_array(arr)) return bad(c, path, "expected an array, got %s", json_type_name(arr));
    if (json_array_size(arr) != n)
        return bad(c, path, "expected %zu numbers, got %zu", n, json_array_size(arr));
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        double d = json_is_number(v) ? json_number_value(v) : NAN;
        if (!json_is_number(v) || !isfinite(d) || fabs(d) > 3.4e38)
            return bad(c, path, "[%zu]: expected a finite 32-bit number, got %s", i,
                       json_is_number(v) ? "a non-finite value" : json_type_name(v));
        out[i] = (float)d;
    }
    return 0;
}

static int load_vocab(load_ctx *c, model_input *in, json_t *arr, const char *path)
{
    size_t n = json_array_size(arr);
    if (n == 0 || n > MAX_VOCAB) return bad(c, path, "vocabulary must hold 1 to %d values", MAX_VOCAB);
    in->n_vocab = n;
    in->vocab = calloc(n, sizeof *in->vocab);
    if (in->vtype == VALUE_INTEGER) in->vocab_int = calloc(n, sizeof *in->vocab_int);
    if (!in->vocab || (in->vtype == VALUE_INTEGER && !in->vocab_int)) return bad(c, path, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        char text[32];
        if (in->vtype == VALUE_STRING) {
            if (!json_is_string(v))
                return bad(c, path, "[%zu]: expected a string, got %s", i, json_type_name(v));
            in->vocab[i] = strdup(json_string_value(v));
        } else {
            if (!json_is_integer(v))
                return bad(c, path, "[%zu]: expected an integer, got %s", i, json_type_name(v));
            in->vocab_int[i] = json_integer_value(v);
            snprintf(text, sizeof text, "%lld", in->vocab_int[i]);
            in->vocab[i] = strdup(text);
        }
        if (!in->vocab[i]) return bad(c, path, "out of memory");
        for (size_t j = 0; j < i; j++)
            if (strcmp(in->vocab[j], in->vocab[i]) == 0)
                return bad(c, path, "[%zu]: duplicate value \"%s\"", i, in->vocab[i]);
    }
    return 0;
}

static int vocab_find(const model_input *in, const char *s)
{
    for (size_t i = 0; i < in->n_vocab; i++)
        if (strcmp(in->vocab[i], s) == 0) return (int)i;
    return -1;
}

static int load_input(load_ctx *c, model_input *in, json_t *obj, const char *path)
{
    static const char *const kinds[] = {"numeric", "categorical"};
    static const char *const rules[] = {"required", "impute"};
    char sub[192];
    if (!json_is_object(obj)) return bad(c, path, "expected an object, got %s", json_type_name(obj));
    const char *name = get_string(c, obj, path, "name");
    if (!name) return -1;
    if (!*name || strlen(name) > MAX_NAME) return bad(c, path, "name must be 1 to %d bytes", MAX_NAME);
    if (!(in->name = strdup(name))) return bad(c, path, "out of memory");
    int kind = get_enum(c, obj, path, "kind", kinds, 2, NULL);
    if (kind < 0) return -1;
    in->kind = (input_kind)kind;
    snprintf(sub, sizeof sub, "%s.missing", path);
    json_t *missing = member(c, obj, path, "missing", JSON_OBJECT, "an object");
    if (!missing) return -1;
    int rule = get_enum(c, missing, sub, "rule", rules, 2, NULL);
    if (rule < 0) return -1;
    in->missing = (missing_rule)rule;

    if (in->kind == INPUT_NUMERIC) {
        static const char *const transforms[] = {"none", "log1p"};
        int t = get_enum(c, obj, path, "transform", transforms, 2, "none");
        if (t < 0) return -1;
        in->transform = (numeric_transform)t;
        if (in->missing == MISSING_IMPUTE && get_finite(c, missing, sub, "value", &in->impute) != 0)
            return -1;
        json_t *ind = json_object_get(obj, "missing_indicator");
        if (ind && !json_is_boolean(ind))
            return bad(c, path, "member \"missing_indicator\" must be a boolean");
        in->missing_indicator = json_is_true(ind);
        snprintf(sub, sizeof sub, "%s.normalize", path);
        json_t *norm = member(c, obj, path, "normalize", JSON_OBJECT, "an object");
        if (!norm || get_finite(c, norm, sub, "mean", &in->mean) != 0 ||
            get_finite(c, norm, sub, "std", &in->std) != 0)
            return -1;
        if (!(in->std > 0)) return bad(c, sub, "member \"std\" must be positive");
        return 0;
    }

    static const char *const vtypes[] = {"string", "integer"};
    static const char *const unknowns[] = {"reject", "zeros"};
    int vt = get_enum(c, obj, path, "value_type", vtypes, 2, NULL);
    if (vt < 0) return -1;
    in->vtype = (value_type)vt;
    int u = get_enum(c, obj, path, "unknown", unknowns, 2, "reject");
    if (u < 0) return -1;
    in->unknown = (unknown_rule)u;
    json_t *vocab = member(c, obj, path, "vocabulary", JSON_ARRAY, "an array");
    snprintf(sub, sizeof sub, "%s.vocabulary", path);
    if (!vocab || load_vocab(c, in, vocab, sub) != 0) return -1;
    if (in->missing == MISSING_IMPUTE) {
        snprintf(sub, sizeof sub, "%s.missing", path);
        json_t *v = json_object_get(missing, "value");
        char text[32];
        const char *s = NULL;
        if (in->vtype == VALUE_STRING && json_is_string(v)) s = json_string_value(v);
        if (in->vtype == VALUE_INTEGER && json_is_integer(v)) {
            snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
            s = text;
        }
        int idx = s ? vocab_find(in, s) : -1;
        if (idx < 0) return bad(c, sub, "member \"value\" must be one of the vocabulary's values");
        in->impute_index = (size_t)idx;
    }
    return 0;
}

static int load_layer(load_ctx *c, model_layer *l, json_t *obj, const char *path)
{
    static const char *const acts[] = {"linear", "relu", "tanh", "sigmoid"};
    char sub[192];
    if (!json_is_object(obj)) return bad(c, path, "expected an object, got %s", json_type_name(obj));
    int act = get_enum(c, obj, path, "activation", acts, 4, NULL);
    if (act < 0) return -1;
    l->act = (activation)act;
    json_t *w = member(c, obj, path, "weights", JSON_ARRAY, "an array of rows (n_in, n_out)");
    json_t *b = member(c, obj, path, "bias", JSON_ARRAY, "an array (n_out)");
    if (!w || !b) return -1;
    size_t n_in = json_array_size(w), n_out = json_array_size(b);
    if (n_in == 0 || n_in > MAX_WIDTH || n_out == 0 || n_out > MAX_WIDTH)
        return bad(c, path, "weights must be (n_in, n_out) with 1 <= n <= %d, got (%zu, %zu)", MAX_WIDTH,
                   n_in, n_out);
    l->n_in = (int)n_in;
    l->n_out = (int)n_out;
    l->w = malloc(n_in * n_out * sizeof *l->w);
    l->b = malloc(n_out * sizeof *l->b);
    if (!l->w || !l->b) return bad(c, path, "out of memory");
    for (size_t i = 0; i < n_in; i++) {
        snprintf(sub, sizeof sub, "%s.weights[%zu]", path, i);
        if (load_floats(c, json_array_get(w, i), sub, l->w + i * n_out, n_out) != 0) return -1;
    }
    snprintf(sub, sizeof sub, "%s.bias", path);
    return load_floats(c, b, sub, l->b, n_out);
}

static model *load_json(json_t *root, load_ctx *c)
{
    char path[64];
    model *m = calloc(1, sizeof *m);
    if (!m) {
        err_set(c->err, "%s: out of memory", c->file);
        return NULL;
    }
    if (!json_is_object(root)) {
        bad(c, "$", "expected an object, got %s", json_type_name(root));
        goto fail;
    }
    const char *format = get_string(c, root, "$", "format");
    if (!format) goto fail;
    if (strcmp(format, MODEL_FORMAT) != 0) {
        bad(c, "$.format", "expected \"%s\", got \"%.64s\"", MODEL_FORMAT, format);
        goto fail;
    }
    json_t *ver = member(c, root, "$", "format_version", JSON_INTEGER, "an integer");
    if (!ver) goto fail;
    if (json_integer_value(ver) != MODEL_FORMAT_VERSION) {
        bad(c, "$.format_version", "version %lld is not supported (this tabserve reads %d)",
            (long long)json_integer_value(ver), MODEL_FORMAT_VERSION);
        goto fail;
    }

    json_t *inputs = member(c, root, "$", "inputs", JSON_ARRAY, "an array");
    if (!inputs) goto fail;
    m->n_inputs = json_array_size(inputs);
    if (m->n_inputs == 0 || m->n_inputs > MAX_WIDTH) {
        bad(c, "$.inputs", "expected 1 to %d inputs", MAX_WIDTH);
        goto fail;
    }
    if (!(m->inputs = calloc(m->n_inputs, sizeof *m->inputs))) goto oom;
    for (size_t i = 0; i < m->n_inputs; i++) {
        snprintf(path, sizeof path, "$.inputs[%zu]", i);
        if (load_input(c, &m->inputs[i], json_array_get(inputs, i), path) != 0) goto fail;
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->inputs[j].name, m->inputs[i].name) == 0) {
                bad(c, path, "duplicate input name \"%s\"", m->inputs[i].name);
                goto fail;
            }
    }

    json_t *net = member(c, root, "$", "network", JSON_OBJECT, "an object");
    json_t *layers = net ? member(c, net, "$.network", "layers", JSON_ARRAY, "an array") : NULL;
    if (!layers) goto fail;
    m->n_layers = json_array_size(layers);
    if (m->n_layers == 0 || m->n_layers > MAX_LAYERS) {
        bad(c, "$.network.layers", "expected 1 to %d layers, got %zu", MAX_LAYERS, m->n_layers);
        goto fail;
    }
    if (!(m->layers = calloc(m->n_layers, sizeof *m->layers))) goto oom;
    for (size_t i = 0; i < m->n_layers; i++) {
        snprintf(path, sizeof path, "$.network.layers[%zu]", i);
        if (load_layer(c, &m->layers[i], json_array_get(layers, i), path) != 0) goto fail;
    }

    json_t *out = member(c, root, "$", "output", JSON_OBJECT, "an object");
    if (!out) goto fail;
    const char *oname = get_string(c, out, "$.output", "name");
    const char *label = oname ? get_string(c, out, "$.output", "label") : NULL;
    if (!label) goto fail;
    if (strcmp(oname, "predict") != 0) {
        bad(c, "$.output.name", "expected \"predict\", got \"%.64s\"", oname);
        goto fail;
    }
    if (!(m->label = strdup(label))) goto oom;

    json_t *meta = json_object_get(root, "metadata");
    if (meta && !json_is_object(meta)) {
        bad(c, "$.metadata", "expected an object, got %s", json_type_name(meta));
        goto fail;
    }
    m->metadata = meta ? json_deep_copy(meta) : json_object();
    if (!m->metadata) goto oom;

    char ferr[ERR_LEN];
    if (model_finalize(m, ferr) != 0) {
        err_set(c->err, "%s: %s", c->file, ferr);
        goto fail;
    }
    json_t *hash = json_object_get(m->metadata, "content_hash");
    if (hash && (!json_is_string(hash) || strcmp(json_string_value(hash), m->hash) != 0)) {
        bad(c, "$.metadata.content_hash",
            "does not match the content (computed %s): the file was changed or damaged", m->hash);
        goto fail;
    }
    return m;
oom:
    err_set(c->err, "%s: out of memory", c->file);
fail:
    model_free(m);
    return NULL;
}

model *model_load_buffer(const char *buf, size_t len, const char *name, char *err)
{
    json_error_t jerr;
    load_ctx c = {name, err};
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        err_set(err, "%s: line %d, column %d (byte %d): invalid JSON: %s", name, jerr.line, jerr.column,
                jerr.position, jerr.text);
        return NULL;
    }
    model *m = load_json(root, &c);
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
    for (size_t i = 0; m->inputs && i < m->n_inputs; i++) {
        model_input *in = &m->inputs[i];
        for (size_t j = 0; in->vocab && j < in->n_vocab; j++) free(in->vocab[j]);
        free(in->vocab);
        free(in->vocab_int);
        free(in->name);
    }
    free(m->inputs);
    for (size_t i = 0; m->layers && i < m->n_layers; i++) {
        free(m->layers[i].w);
        free(m->layers[i].b);
        free(m->layers[i].block_start);
        free(m->layers[i].block_rows);
    }
    free(m->layers);
    free(m->label);
    json_decref(m->metadata);
    free(m);
}

/* ---- shape checks and the content hash ---------------------------------- */

typedef struct {
    uint64_t h;
} fnv;

static void fnv_bytes(fnv *f, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        f->h ^= b[i];
        f->h *= 1099511628211ull;
    }
}
static void fnv_str(fnv *f, const char *s) { fnv_bytes(f, s, strlen(s) + 1); }
static void fnv_i64(fnv *f, int64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)v >> (8 * i));
    fnv_bytes(f, b, 8);
}
static void fnv_f64(fnv *f, double d)
{
    int64_t bits;
    memcpy(&bits, &d, 8);
    fnv_i64(f, bits);
}
static void fnv_f32(fnv *f, float x)
{
    int32_t bits;
    memcpy(&bits, &x, 4);
    fnv_i64(f, bits);
}

int model_index_blocks(model_layer *l)
{
    free(l->block_start);
    free(l->block_rows);
    l->block_start = NULL;
    l->block_rows = NULL;
    size_t blocks = (size_t)l->n_out / 8;
    if (blocks == 0 || !l->w || (size_t)l->n_in * blocks > (1u << 22)) return 0; /* dense path */
    l->block_start = malloc((blocks + 1) * sizeof *l->block_start);
    l->block_rows = malloc((size_t)l->n_in * blocks * sizeof *l->block_rows);
    if (!l->block_start || !l->block_rows) return -1;
    int n = 0;
    for (size_t bi = 0; bi < blocks; bi++) {
        l->block_start[bi] = n;
        for (int r = 0; r < l->n_in; r++) {
            const float *wr = l->w + (size_t)r * l->n_out + bi * 8;
            int any = 0;
            for (int j = 0; j < 8; j++) any |= wr[j] != 0.0f;
            if (any) l->block_rows[n++] = r;
        }
    }
    l->block_start[blocks] = n;
    if ((size_t)n * 2 > (size_t)l->n_in * blocks) { /* mostly dense: the zero-skipping row path is faster */
        free(l->block_start);
        free(l->block_rows);
        l->block_start = NULL;
        l->block_rows = NULL;
    }
    return 0;
}

int model_finalize(model *m, char *err)
{
    int offset = 0;
    for (size_t i = 0; i < m->n_inputs; i++) {
        model_input *in = &m->inputs[i];
        in->offset = offset;
        in->width = in->kind == INPUT_NUMERIC ? 1 + (in->missing_indicator ? 1 : 0) : (int)in->n_vocab;
        offset += in->width;
    }
    m->n_features = offset;
    m->max_width = offset;
    for (size_t i = 0; i < m->n_layers; i++) {
        const model_layer *l = &m->layers[i];
        int want = i == 0 ? m->n_features : m->layers[i - 1].n_out;
        if (l->n_in != want)
            return err_set(err, "$.network.layers[%zu].weights: has %d rows, but its input is %d wide%s", i,
                           l->n_in, want, i == 0 ? " (the encoded features)" : "");
        if (l->n_out > m->max_width) m->max_width = l->n_out;
    }
    for (size_t i = 0; i < m->n_layers; i++)
        if (model_index_blocks(&m->layers[i]) != 0) return err_set(err, "out of memory");
    const model_layer *last = &m->layers[m->n_layers - 1];
    if (last->n_out != 1 || last->act != ACT_SIGMOID)
        return err_set(err,
                       "$.network.layers[%zu]: the last layer must have 1 unit and a sigmoid "
                       "activation (the output is a probability), got %d unit(s), %s",
                       m->n_layers - 1, last->n_out, activation_name(last->act));

    fnv f = {14695981039346656037ull};
    for (size_t i = 0; i < m->n_inputs; i++) {
        const model_input *in = &m->inputs[i];
        fnv_str(&f, in->name);
        fnv_i64(&f, in->kind * 16 + in->missing * 4 + in->transform * 2 + in->missing_indicator);
        fnv_f64(&f, in->impute);
        fnv_f64(&f, in->mean);
        fnv_f64(&f, in->std);
        fnv_i64(&f, in->vtype * 4 + in->unknown);
        fnv_i64(&f, (int64_t)in->n_vocab);
        for (size_t j = 0; j < in->n_vocab; j++) fnv_str(&f, in->vocab[j]);
        fnv_i64(&f, (int64_t)in->impute_index);
    }
    for (size_t i = 0; i < m->n_layers; i++) {
        const model_layer *l = &m->layers[i];
        fnv_i64(&f, l->n_in);
        fnv_i64(&f, l->n_out);
        fnv_i64(&f, l->act);
        for (size_t k = 0; k < (size_t)l->n_in * l->n_out; k++) fnv_f32(&f, l->w[k]);
        for (int k = 0; k < l->n_out; k++) fnv_f32(&f, l->b[k]);
    }
    fnv_str(&f, m->label);
    snprintf(m->hash, sizeof m->hash, "fnv1a64:%016llx", (unsigned long long)f.h);
    return 0;
}

/* ---- saving and describing ---------------------------------------------- */

static json_t *input_json(const model_input *in)
{
    json_t *o = json_object();
    json_t *missing = json_object();
    json_object_set_new(o, "name", json_string(in->name));
    json_object_set_new(o, "kind", json_string(in->kind == INPUT_NUMERIC ? "numeric" : "categorical"));
    json_object_set_new(missing, "rule", json_string(in->missing == MISSING_IMPUTE ? "impute" : "required"));
    if (in->kind == INPUT_NUMERIC) {
        if (in->missing == MISSING_IMPUTE) json_object_set_new(missing, "value", json_real(in->impute));
        json_object_set_new(o, "missing", missing);
        json_object_set_new(o, "transform", json_string(in->transform == TRANSFORM_LOG1P ? "log1p" : "none"));
        json_object_set_new(o, "missing_indicator", json_boolean(in->missing_indicator));
        json_t *norm = json_object();
        json_object_set_new(norm, "mean", json_real(in->mean));
        json_object_set_new(norm, "std", json_real(in->std));
        json_object_set_new(o, "normalize", norm);
        return o;
    }
    json_object_set_new(o, "value_type", json_string(in->vtype == VALUE_INTEGER ? "integer" : "string"));
    json_t *vocab = json_array();
    for (size_t j = 0; j < in->n_vocab; j++)
        json_array_append_new(vocab, in->vtype == VALUE_INTEGER ? json_integer(in->vocab_int[j])
                                                                : json_string(in->vocab[j]));
    json_object_set_new(o, "vocabulary", vocab);
    if (in->missing == MISSING_IMPUTE)
        json_object_set(missing, "value", json_array_get(vocab, in->impute_index));
    json_object_set_new(o, "missing", missing);
    json_object_set_new(o, "unknown", json_string(in->unknown == UNKNOWN_ZEROS ? "zeros" : "reject"));
    return o;
}

static json_t *output_json(const model *m)
{
    char meaning[MAX_NAME + 64];
    snprintf(meaning, sizeof meaning, "probability that %s is 1", m->label);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string("predict"));
    json_object_set_new(o, "label", json_string(m->label));
    json_object_set_new(o, "meaning", json_string(meaning));
    return o;
}

static json_t *model_json(const model *m, int with_weights)
{
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string(MODEL_FORMAT));
    json_object_set_new(root, "format_version", json_integer(MODEL_FORMAT_VERSION));
    json_t *inputs = json_array();
    for (size_t i = 0; i < m->n_inputs; i++) json_array_append_new(inputs, input_json(&m->inputs[i]));
    json_object_set_new(root, "inputs", inputs);
    json_t *layers = json_array();
    for (size_t i = 0; i < m->n_layers; i++) {
        const model_layer *l = &m->layers[i];
        json_t *lo = json_object();
        json_object_set_new(lo, "activation", json_string(activation_name(l->act)));
        if (with_weights) {
            json_t *w = json_array();
            for (int r = 0; r < l->n_in; r++) {
                json_t *row = json_array();
                for (int k = 0; k < l->n_out; k++)
                    json_array_append_new(row, json_real(l->w[(size_t)r * l->n_out + k]));
                json_array_append_new(w, row);
            }
            json_object_set_new(lo, "weights", w);
            json_t *b = json_array();
            for (int k = 0; k < l->n_out; k++) json_array_append_new(b, json_real(l->b[k]));
            json_object_set_new(lo, "bias", b);
        } else {
            json_object_set_new(lo, "inputs", json_integer(l->n_in));
            json_object_set_new(lo, "units", json_integer(l->n_out));
        }
        json_array_append_new(layers, lo);
    }
    json_t *net = json_object();
    json_object_set_new(net, "layers", layers);
    json_object_set_new(root, "network", net);
    json_object_set_new(root, "output", output_json(m));
    json_t *meta = json_deep_copy(m->metadata);
    json_object_set_new(meta, "content_hash", json_string(m->hash));
    json_object_set_new(root, "metadata", meta);
    return root;
}

int model_save(const model *m, const char *path, char *err)
{
    json_t *root = model_json(m, 1);
    /* 17 significant digits: doubles (normalisation statistics) round-trip exactly,
     * and floats widened to double do too, so a reload hashes to the same value. */
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
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

json_t *model_describe(const model *m) { return model_json(m, 0); }
