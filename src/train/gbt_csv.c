/* gbt_csv — gradient-boosted trees straight from a CSV file, 4 bytes a cell
 * (train.h: train_gbt_csv). */
#define _POSIX_C_SOURCE 200809L
#include "train/train.h"

#include <jansson.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "data/columns.h"
#include "estimators/trees.h"
#include "model/builder.h"
#include "train/fit.h"

static const columns *sort_ctx; /* qsort's comparison needs the column */
static size_t sort_col;

static int cmp_code(const void *a, const void *b)
{
    const char *x = sort_ctx->cats[sort_col][*(const int *)a], *y = sort_ctx->cats[sort_col][*(const int *)b];
    if (sort_ctx->all_integer[sort_col]) {
        long long p = strtoll(x, NULL, 10), q = strtoll(y, NULL, 10);
        return (p > q) - (p < q);
    }
    return strcmp(x, y);
}

model *train_gbt_csv(const char *path, const char *label, const char *const *names, size_t n_numeric,
                     size_t n_categorical, const train_options *o, char *err)
{
    /* large buffers straight from mmap, each given back when freed: glibc would
     * otherwise raise its threshold after the first such free and keep later
     * scratch (the cuts' sort buffers) resident beside the bins */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    size_t F = n_numeric + n_categorical;
    int *is_cat = calloc(F + 1, sizeof *is_cat), *n_cat = calloc(F + 1, sizeof *n_cat);
    model_builder *mb = model_builder_new();
    columns *c = NULL;
    if (!is_cat || !n_cat || !mb) goto oom;
    schema *s = model_builder_inputs(mb);
    output_spec *out = model_builder_output(mb);
    for (size_t j = 0; j < F; j++) is_cat[j] = j >= n_numeric;
    gbt_options go = o->gbt;
    go.seed = o->seed;
    int threads = go.threads > 0 ? go.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (!(c = columns_load(path, label, go.objective == GBT_BINARY, names, is_cat, F, threads, err)))
        goto fail;
    if (c->n_rows < 2) {
        err_set(err, "%s: need at least 2 data rows, got %zu", path, c->n_rows);
        goto fail;
    }
    s->n_inputs = F;
    s->inputs = calloc(F, sizeof *s->inputs);
    if (!s->inputs || !(out->label = strdup(label))) goto oom;
    out->task = go.objective == GBT_BINARY ? TASK_BINARY : TASK_REGRESSION;
    out->link = go.objective == GBT_BINARY ? LINK_SIGMOID : LINK_IDENTITY;
    for (size_t j = 0; j < F; j++) {
        schema_input *in = &s->inputs[j];
        if (!(in->name = strdup(names[j]))) goto oom;
        feature_step st = {is_cat[j] ? STEP_CATEGORY_INDEX : STEP_PASSTHROUGH, 0, 0};
        if (features_add(model_builder_features(mb), j, &st, 1) != 0) goto oom;
        if (!is_cat[j]) {
            in->type = TYPE_NUMBER;
            in->required = 1; /* unless a value is missing in the data */
            for (size_t r = 0; r < c->n_rows && in->required; r++)
                if (c->x[r * F + j] != c->x[r * F + j]) in->required = 0;
            continue;
        }
        /* the vocabulary in order (numeric when every category is an integer),
         * and the codes rewritten to its indexes */
        size_t k = c->n_cats[j];
        if (k == 0) {
            err_set(err, "%s: column %s has no values", path, names[j]);
            goto fail;
        }
        int *order = malloc(k * sizeof *order), *index_of = malloc(k * sizeof *index_of);
        in->vocab = calloc(k, sizeof *in->vocab);
        in->vocab_int = c->all_integer[j] ? calloc(k, sizeof *in->vocab_int) : NULL;
        if (!order || !index_of || !in->vocab || (c->all_integer[j] && !in->vocab_int)) {
            free(order);
            free(index_of);
            goto oom;
        }
        for (size_t q = 0; q < k; q++) order[q] = (int)q;
        sort_ctx = c;
        sort_col = j;
        qsort(order, k, sizeof *order, cmp_code);
        for (size_t q = 0; q < k; q++) {
            index_of[order[q]] = (int)q;
            in->vocab[q] = strdup(c->cats[j][order[q]]);
            if (in->vocab_int) in->vocab_int[q] = strtoll(c->cats[j][order[q]], NULL, 10);
        }
        in->n_vocab = k;
        in->type = c->all_integer[j] ? TYPE_INTEGER : TYPE_STRING;
        in->unknown = UNKNOWN_MISSING;
        int missing = 0;
        for (size_t r = 0; r < c->n_rows; r++) {
            float *v = &c->x[r * F + j];
            if (*v != *v)
                missing = 1;
            else
                *v = (float)index_of[(int)*v];
        }
        in->required = !missing;
        is_cat[j] = 1;
        n_cat[j] = (int)k;
        free(order);
        free(index_of);
        for (size_t q = 0; q < k; q++)
            if (!in->vocab[q]) goto oom;
    }
    /* background rows for explanations and the page's form, as every trained
     * model keeps: spread evenly over the file (the floats are gone once binned) */
    json_t *bg = json_array();
    if (!bg || json_object_set_new(model_builder_metadata(mb), "background", bg) != 0) goto oom;
    size_t n_bg = c->n_rows < TRAIN_BACKGROUND_ROWS ? c->n_rows : TRAIN_BACKGROUND_ROWS;
    for (size_t k = 0; k < n_bg; k++) {
        size_t r = k * c->n_rows / n_bg;
        json_t *row = json_object();
        if (!row || json_array_append_new(bg, row) != 0) goto oom;
        for (size_t j = 0; j < F; j++) {
            const schema_input *in = &s->inputs[j];
            float v = c->x[r * F + j];
            json_t *val = v != v          ? json_null()
                          : !is_cat[j]    ? json_real(v)
                          : in->vocab_int ? json_integer((json_int_t)in->vocab_int[(size_t)v])
                                          : json_string(in->vocab[(size_t)v]);
            if (!val || json_object_set_new(row, in->name, val) != 0) goto oom;
        }
    }
    int rounds = 0;
    size_t n = c->n_rows;
    float *x = c->x;
    c->x = NULL; /* the trainer frees the floats once they are binned */
    tree_ensemble *e = gbt_fit_owned(x, c->label, n, (int)F, is_cat, n_cat, &go, &rounds, err);
    if (!e) goto fail;
    model_builder_set_predictor(mb, &e->base);
    train_gbt_metadata(model_builder_metadata(mb), &go, rounds, n);
    columns_free(c);
    free(is_cat);
    free(n_cat);
    return model_builder_finish(mb, err);
oom:
    err_set(err, "out of memory");
fail:
    columns_free(c);
    free(is_cat);
    free(n_cat);
    model_builder_free(mb);
    return NULL;
}
