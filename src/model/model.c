/* model — the load steps and the scoring entry. */
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

/* ---- the load steps ------------------------------------------------------- */

static int model_validate(const model *m, char *err)
{
    if (features_validate(&m->features, &m->schema, err) != 0) return -1;
    if (!m->predictor) return err_set(err, "$.predictor: missing");
    return output_check(&m->output, m->predictor->n_outputs, err);
}

static int model_layout(model *m, char *err)
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
        if (encode_json(m, json_array_get(bg, i), where, ENCODE_IGNORE_UNKNOWN,
                        m->background + i * (size_t)m->n_features, &bad, err) != 0)
            return -1;
    }
    m->n_background = (int)n;
    return 0;
}

static int model_prepare(model *m, char *err)
{
    if (m->predictor->ops->prepare(m->predictor, err) != 0) return -1;
    const predictor_ops *ops = m->predictor->ops;
    m->features.finite_columns = !ops->takes_infinity || !ops->takes_infinity(m->predictor);
    return model_encode_background(m, err);
}

static void model_hash(model *m)
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
