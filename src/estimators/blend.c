/* blend — members run on copies of their column ranges; margins summed by weight. */
#define _POSIX_C_SOURCE 200809L
#include "estimators/estimators.h"
#include "estimators/blend.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/jsonx.h"

#define MAX_MEMBERS 16

static size_t member_scratch(const blend *b, int n)
{
    size_t most = 0;
    for (int i = 0; i < b->n_members; i++) {
        size_t s = b->members[i].p->ops->scratch_floats(b->members[i].p, n);
        if (s > most) most = s;
    }
    return most;
}

/* scratch: n * max_width (the member's columns), n * n_outputs (its margins),
 * then the member's own scratch */
static size_t blend_scratch(const predictor *p, int n)
{
    const blend *b = (const blend *)p;
    return (size_t)n * (size_t)(b->max_width + p->n_outputs) + member_scratch(b, n);
}

static void blend_predict(const predictor *p, const float *x, int n, float *scratch, float *y)
{
    const blend *b = (const blend *)p;
    int k = p->n_outputs;
    float *xs = scratch, *ys = xs + (size_t)n * (size_t)b->max_width, *rest = ys + (size_t)n * (size_t)k;
    memset(y, 0, (size_t)n * (size_t)k * sizeof *y);
    for (int i = 0; i < b->n_members; i++) {
        const blend_member *m = &b->members[i];
        int w = m->p->n_features;
        for (int r = 0; r < n; r++)
            memcpy(xs + (size_t)r * (size_t)w, x + (size_t)r * (size_t)p->n_features + (size_t)m->offset,
                   (size_t)w * sizeof *xs);
        m->p->ops->predict(m->p, xs, n, rest, ys);
        for (size_t j = 0; j < (size_t)n * (size_t)k; j++) y[j] += m->weight * ys[j];
    }
}

static int blend_prepare(predictor *p, char *err)
{
    blend *b = (blend *)p;
    b->max_width = 0;
    for (int i = 0; i < b->n_members; i++) {
        const blend_member *m = &b->members[i];
        if (m->offset < 0 || m->offset + m->p->n_features > p->n_features)
            return err_set(err, "$.predictor.members[%d]: columns %d..%d are outside the %d features", i,
                           m->offset, m->offset + m->p->n_features - 1, p->n_features);
        if (m->p->n_outputs != p->n_outputs)
            return err_set(err, "$.predictor.members[%d]: %d outputs, the blend has %d", i, m->p->n_outputs,
                           p->n_outputs);
        if (m->p->ops->prepare(m->p, err) != 0) return -1;
        if (m->p->n_features > b->max_width) b->max_width = m->p->n_features;
    }
    return 0;
}

static json_t *blend_to_json(const predictor *p, int with_params)
{
    const blend *b = (const blend *)p;
    json_t *o = json_object(), *arr = json_array();
    json_object_set_new(o, "kind", json_string("blend"));
    json_object_set_new(o, "n_features", json_integer(p->n_features));
    json_object_set_new(o, "n_outputs", json_integer(p->n_outputs));
    for (int i = 0; i < b->n_members; i++) {
        const blend_member *m = &b->members[i];
        json_array_append_new(arr,
                              json_pack("{s:i,s:f,s:o}", "offset", m->offset, "weight", (double)m->weight,
                                        "predictor", m->p->ops->to_json(m->p, with_params)));
    }
    json_object_set_new(o, "members", arr);
    return o;
}

static void blend_hash(const predictor *p, fnv *f)
{
    const blend *b = (const blend *)p;
    fnv_i64(f, p->n_features);
    fnv_i64(f, b->n_members);
    for (int i = 0; i < b->n_members; i++) {
        fnv_i64(f, b->members[i].offset);
        fnv_floats(f, &b->members[i].weight, 1);
        fnv_str(f, b->members[i].p->ops->kind);
        b->members[i].p->ops->hash(b->members[i].p, f);
    }
}

static void blend_describe(const predictor *p, char *buf, size_t len)
{
    const blend *b = (const blend *)p;
    size_t used = (size_t)snprintf(buf, len, "blend of %d:", b->n_members);
    for (int i = 0; i < b->n_members && used < len; i++) {
        char sub[192];
        const blend_member *m = &b->members[i];
        m->p->ops->describe(m->p, sub, sizeof sub);
        used += (size_t)snprintf(buf + used, len - used, "%s %g x [%s] on columns %d..%d", i ? ";" : "",
                                 (double)m->weight, sub, m->offset, m->offset + m->p->n_features - 1);
    }
}

static void blend_free(predictor *p)
{
    blend *b = (blend *)p;
    for (int i = 0; b->members && i < b->n_members; i++) predictor_free(b->members[i].p);
    free(b->members);
    free(b);
}

static int blend_takes_infinity(const predictor *p)
{
    const blend *b = (const blend *)p;
    for (int i = 0; i < b->n_members; i++) {
        const predictor_ops *ops = b->members[i].p->ops;
        if (!ops->takes_infinity || !ops->takes_infinity(b->members[i].p)) return 0;
    }
    return 1;
}

static const predictor_ops blend_ops = {"blend",        blend_predict, blend_scratch,
                                        blend_prepare,  blend_to_json, blend_hash,
                                        blend_describe, blend_free,    blend_takes_infinity};

const blend *blend_of(const predictor *p) { return p && p->ops == &blend_ops ? (const blend *)p : NULL; }

blend *blend_create(int n_features, int n_outputs, const blend_member *members, int n)
{
    blend *b = calloc(1, sizeof *b);
    if (!b || !(b->members = calloc((size_t)n, sizeof *b->members))) {
        free(b);
        return NULL;
    }
    b->base.ops = &blend_ops;
    b->base.n_features = n_features;
    b->base.n_outputs = n_outputs;
    b->n_members = n;
    memcpy(b->members, members, (size_t)n * sizeof *members);
    return b;
}

predictor *blend_read(reader *r, json_t *obj, const char *path)
{
    char sub[160];
    json_t *nf = read_member(r, obj, path, "n_features", JSON_INTEGER, "an integer");
    json_t *no = nf ? read_member(r, obj, path, "n_outputs", JSON_INTEGER, "an integer") : NULL;
    json_t *arr = no ? read_member(r, obj, path, "members", JSON_ARRAY, "an array of members") : NULL;
    if (!arr) return NULL;
    size_t n = json_array_size(arr);
    json_int_t n_features = json_integer_value(nf), n_outputs = json_integer_value(no);
    if (n < 1 || n > MAX_MEMBERS || n_features < 1 || n_features > (1 << 20) || n_outputs < 1 ||
        n_outputs > 1024) {
        read_fail(r, path, "expected 1 to %d members, 1 to %d features and 1 to 1024 outputs", MAX_MEMBERS,
                  1 << 20);
        return NULL;
    }
    blend *b = blend_create((int)n_features, (int)n_outputs, (blend_member[MAX_MEMBERS]){{0}}, (int)n);
    if (!b) {
        read_fail(r, path, "out of memory");
        return NULL;
    }
    b->n_members = 0; /* counts the members read, for freeing on failure */
    for (size_t i = 0; i < n; i++) {
        snprintf(sub, sizeof sub, "%s.members[%zu]", path, i);
        json_t *m = json_array_get(arr, i);
        if (!json_is_object(m)) {
            read_fail(r, sub, "expected an object, got %s", json_type_name(m));
            goto fail;
        }
        json_t *off = read_member(r, m, sub, "offset", JSON_INTEGER, "an integer");
        json_t *w = off ? read_member(r, m, sub, "weight", READ_NUMBER, "a number") : NULL;
        json_t *pj = w ? read_member(r, m, sub, "predictor", JSON_OBJECT, "an object") : NULL;
        if (!pj) goto fail;
        json_t *kind = json_object_get(pj, "kind");
        if (json_is_string(kind) && strcmp(json_string_value(kind), "blend") == 0) {
            read_fail(r, sub, "a blend inside a blend is not supported");
            goto fail;
        }
        char psub[192];
        snprintf(psub, sizeof psub, "%s.predictor", sub);
        predictor *p = estimators_read(r, pj, psub);
        if (!p) goto fail;
        b->members[i] = (blend_member){p, (int)json_integer_value(off), (float)json_number_value(w)};
        b->n_members = (int)i + 1;
    }
    return &b->base;
fail:
    blend_free(&b->base);
    return NULL;
}
