/* linear — x @ w + b through the MLP's dense kernel. */
#include "estimators/estimators.h"
#include "estimators/linear.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/jsonx.h"
#include "estimators/mlp.h"

#define MAX_WIDTH 65536

typedef struct {
    predictor base;
    float *w; /* (n_features, n_outputs) */
    float *b; /* (n_outputs,) */
    nn_kernels kern;
} linear;

static void linear_predict(const predictor *p, const float *x, int n, float *scratch, float *y)
{
    (void)scratch;
    const linear *l = (const linear *)p;
    nn_dense(&l->kern, y, x, l->w, l->b, n, p->n_features, p->n_outputs, ACT_LINEAR);
}

static size_t linear_scratch(const predictor *p, int n)
{
    (void)p;
    (void)n;
    return 0;
}

static int linear_prepare(predictor *p, char *err)
{
    (void)err;
    ((linear *)p)->kern = nn_kernels_pick();
    return 0;
}

static json_t *linear_to_json(const predictor *p, int with_params)
{
    const linear *l = (const linear *)p;
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("linear"));
    if (!with_params) {
        json_object_set_new(o, "inputs", json_integer(p->n_features));
        json_object_set_new(o, "outputs", json_integer(p->n_outputs));
        return o;
    }
    json_t *w = json_array(), *b = json_array();
    for (int r = 0; r < p->n_features; r++) {
        json_t *row = json_array();
        for (int k = 0; k < p->n_outputs; k++)
            json_array_append_new(row, json_real(l->w[(size_t)r * p->n_outputs + k]));
        json_array_append_new(w, row);
    }
    for (int k = 0; k < p->n_outputs; k++) json_array_append_new(b, json_real(l->b[k]));
    json_object_set_new(o, "weights", w);
    json_object_set_new(o, "bias", b);
    return o;
}

static void linear_hash(const predictor *p, fnv *f)
{
    const linear *l = (const linear *)p;
    fnv_i64(f, p->n_features);
    fnv_i64(f, p->n_outputs);
    fnv_floats(f, l->w, (size_t)p->n_features * p->n_outputs);
    fnv_floats(f, l->b, (size_t)p->n_outputs);
}

static void linear_describe(const predictor *p, char *buf, size_t len)
{
    snprintf(buf, len, "linear %d -> %d", p->n_features, p->n_outputs);
}

static void linear_free(predictor *p)
{
    linear *l = (linear *)p;
    free(l->w);
    free(l->b);
    free(l);
}

static int linear_takes_infinity(const predictor *p)
{
    (void)p;
    return 1; /* two opposite infinities make a NaN margin, refused after scoring */
}

static const predictor_ops linear_ops = {"linear",        linear_predict, linear_scratch,
                                         linear_prepare,  linear_to_json, linear_hash,
                                         linear_describe, linear_free,    linear_takes_infinity};

int linear_is(const predictor *p) { return p && p->ops == &linear_ops; }

static linear *linear_alloc(int n_features, int n_outputs)
{
    linear *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->base.ops = &linear_ops;
    l->base.n_features = n_features;
    l->base.n_outputs = n_outputs;
    l->w = calloc((size_t)n_features * n_outputs, sizeof *l->w);
    l->b = calloc((size_t)n_outputs, sizeof *l->b);
    l->kern = nn_kernels_pick();
    if (l->w && l->b) return l;
    linear_free(&l->base);
    return NULL;
}

predictor *linear_create(int n_features, int n_outputs, const float *w, const float *b)
{
    linear *l = linear_alloc(n_features, n_outputs);
    if (!l) return NULL;
    memcpy(l->w, w, (size_t)n_features * n_outputs * sizeof *w);
    memcpy(l->b, b, (size_t)n_outputs * sizeof *b);
    return &l->base;
}

predictor *linear_read(reader *r, json_t *obj, const char *path)
{
    char sub[128];
    json_t *w = read_member(r, obj, path, "weights", JSON_ARRAY, "an array of rows (n_features, n_outputs)");
    json_t *b = w ? read_member(r, obj, path, "bias", JSON_ARRAY, "an array (n_outputs)") : NULL;
    if (!b) return NULL;
    size_t n_in = json_array_size(w), n_out = json_array_size(b);
    if (n_in == 0 || n_in > MAX_WIDTH || n_out == 0 || n_out > 1024) {
        read_fail(r, path,
                  "weights must be (n_features, n_outputs) with 1 <= n_features <= %d and "
                  "1 <= n_outputs <= 1024, got (%zu, %zu)",
                  MAX_WIDTH, n_in, n_out);
        return NULL;
    }
    linear *l = linear_alloc((int)n_in, (int)n_out);
    if (!l) {
        read_fail(r, path, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n_in; i++) {
        snprintf(sub, sizeof sub, "%s.weights[%zu]", path, i);
        if (read_floats(r, json_array_get(w, i), sub, l->w + i * n_out, n_out) != 0) goto fail;
    }
    snprintf(sub, sizeof sub, "%s.bias", path);
    if (read_floats(r, b, sub, l->b, n_out) == 0) return &l->base;
fail:
    linear_free(&l->base);
    return NULL;
}
