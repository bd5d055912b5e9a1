/* normalize — a row norm over some columns, then the inner predictor. */
#define _POSIX_C_SOURCE 200809L
#include "estimators/estimators.h"
#include "estimators/normalize.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/jsonx.h"

static const char *const norm_names[] = {"MAX", "L1", "L2"};

int normalize_kind(const char *name)
{
    for (int k = 0; k < 3; k++)
        if (strcmp(name, norm_names[k]) == 0) return k;
    return -1;
}

/* scratch: the normalized rows, then the inner predictor's own */
static size_t normalize_scratch(const predictor *p, int n)
{
    const normalize *z = (const normalize *)p;
    return (size_t)n * (size_t)p->n_features + z->inner->ops->scratch_floats(z->inner, n);
}

/* The norm in double, the division in float, as the runtime divides floats.
 * A zero norm leaves the row as it is (scikit-learn's rule, and ONNX
 * Runtime's); a missing value makes an L1 or L2 norm missing. */
static void normalize_predict(const predictor *p, const float *x, int n, float *scratch, float *y)
{
    const normalize *z = (const normalize *)p;
    size_t nf = (size_t)p->n_features;
    float *xs = scratch;
    memcpy(xs, x, (size_t)n * nf * sizeof *xs);
    for (int r = 0; r < n; r++) {
        float *row = xs + (size_t)r * nf;
        double norm = 0;
        for (int j = 0; j < z->n_columns && !isnan(norm); j++) {
            double v = row[z->columns[j]];
            if (z->norm == NORM_L1)
                norm += fabs(v);
            else if (z->norm == NORM_L2)
                norm += v * v;
            else if (j == 0 || norm < v)
                norm = v; /* MAX: the largest value (signed, as the operator defines it and ONNX
                             Runtime computes it: a later missing value is passed over, a first one
                             makes the norm missing) */
        }
        if (z->norm == NORM_L2) norm = sqrt(norm);
        if (norm == 0) continue;
        float d = (float)norm;
        for (int j = 0; j < z->n_columns; j++) row[z->columns[j]] /= d;
    }
    z->inner->ops->predict(z->inner, xs, n, xs + (size_t)n * nf, y);
}

static int normalize_prepare(predictor *p, char *err)
{
    normalize *z = (normalize *)p;
    for (int j = 0; j < z->n_columns; j++)
        if (z->columns[j] < 0 || z->columns[j] >= p->n_features)
            return err_set(err, "$.predictor.columns[%d]: %d is not one of the %d feature columns", j,
                           z->columns[j], p->n_features);
    return z->inner->ops->prepare(z->inner, err);
}

static json_t *normalize_to_json(const predictor *p, int with_params)
{
    const normalize *z = (const normalize *)p;
    json_t *cols = json_array();
    for (int j = 0; j < z->n_columns; j++) json_array_append_new(cols, json_integer(z->columns[j]));
    return json_pack("{s:s,s:s,s:o,s:o}", "kind", "normalize", "norm", norm_names[z->norm], "columns", cols,
                     "predictor", z->inner->ops->to_json(z->inner, with_params));
}

static void normalize_hash(const predictor *p, fnv *f)
{
    const normalize *z = (const normalize *)p;
    fnv_i64(f, z->norm);
    fnv_i64(f, z->n_columns);
    for (int j = 0; j < z->n_columns; j++) fnv_i64(f, z->columns[j]);
    fnv_str(f, z->inner->ops->kind);
    z->inner->ops->hash(z->inner, f);
}

static void normalize_describe(const predictor *p, char *buf, size_t len)
{
    const normalize *z = (const normalize *)p;
    char sub[200];
    z->inner->ops->describe(z->inner, sub, sizeof sub);
    snprintf(buf, len, "%s norm of %d columns, then %s", norm_names[z->norm], z->n_columns, sub);
}

static void normalize_free(predictor *p)
{
    normalize *z = (normalize *)p;
    predictor_free(z->inner);
    free(z->columns);
    free(z);
}

static const predictor_ops normalize_ops = {"normalize",        normalize_predict, normalize_scratch,
                                            normalize_prepare,  normalize_to_json, normalize_hash,
                                            normalize_describe, normalize_free,    NULL /* inf / inf */};

normalize *normalize_create(predictor *inner, norm_kind norm, const int *columns, int n)
{
    normalize *z = calloc(1, sizeof *z);
    if (!z || !(z->columns = malloc((size_t)(n > 0 ? n : 1) * sizeof *z->columns))) {
        free(z);
        return NULL;
    }
    z->base.ops = &normalize_ops;
    z->base.n_features = inner->n_features;
    z->base.n_outputs = inner->n_outputs;
    z->inner = inner;
    z->norm = norm;
    z->n_columns = n;
    memcpy(z->columns, columns, (size_t)n * sizeof *columns);
    return z;
}

predictor *normalize_read(reader *r, json_t *obj, const char *path)
{
    char sub[200];
    json_t *nm = read_member(r, obj, path, "norm", JSON_STRING, "\"MAX\", \"L1\" or \"L2\"");
    json_t *cols = nm ? read_member(r, obj, path, "columns", JSON_ARRAY, "an array of column indexes") : NULL;
    json_t *pj = cols ? read_member(r, obj, path, "predictor", JSON_OBJECT, "an object") : NULL;
    if (!pj) return NULL;
    int kind = normalize_kind(json_string_value(nm));
    if (kind < 0) {
        snprintf(sub, sizeof sub, "%s.norm", path);
        read_fail(r, sub, "expected \"MAX\", \"L1\" or \"L2\"");
        return NULL;
    }
    size_t n = json_array_size(cols);
    if (n < 1 || n > (1 << 20)) {
        snprintf(sub, sizeof sub, "%s.columns", path);
        read_fail(r, sub, "expected 1 to %d column indexes", 1 << 20);
        return NULL;
    }
    json_t *kj = json_object_get(pj, "kind");
    if (json_is_string(kj) && strcmp(json_string_value(kj), "normalize") == 0) {
        snprintf(sub, sizeof sub, "%s.predictor", path);
        read_fail(r, sub, "a normalize inside a normalize is not supported");
        return NULL;
    }
    int *ix = malloc(n * sizeof *ix);
    if (!ix) {
        read_fail(r, path, "out of memory");
        return NULL;
    }
    for (size_t j = 0; j < n; j++) {
        json_t *v = json_array_get(cols, j);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= (1 << 20)) {
            snprintf(sub, sizeof sub, "%s.columns[%zu]", path, j);
            read_fail(r, sub, "expected a column index");
            free(ix);
            return NULL;
        }
        ix[j] = (int)json_integer_value(v);
    }
    snprintf(sub, sizeof sub, "%s.predictor", path);
    predictor *inner = estimators_read(r, pj, sub);
    normalize *z = inner ? normalize_create(inner, (norm_kind)kind, ix, (int)n) : NULL;
    if (inner && !z) {
        predictor_free(inner);
        read_fail(r, path, "out of memory");
    }
    free(ix);
    return z ? &z->base : NULL;
}
