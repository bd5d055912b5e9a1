/* inputs — the schema and feature steps fitted on the training rows (train/fit.h). */
#define _POSIX_C_SOURCE 200809L
#include "train/fit.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/numtext.h"
#include "model/builder.h"
#include "model/encode.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int column_has_missing(const dataset *d, size_t col)
{
    for (size_t r = 0; r < d->n_rows; r++)
        if (!dataset_cell(d, r, col)) return 1;
    return 0;
}

/* A numeric column: impute the median, log1p when skewed, standardise; and a
 * missing-indicator column when values go missing. */
static int fit_numeric(model_builder *mb, size_t index, const dataset *d, size_t col,
                       const unsigned char *use, const train_options *o, char *err)
{
    schema_input *in = &model_builder_inputs(mb)->inputs[index];
    /* a column never empty in the data makes the field required: a request
     * without it is not one the model can have meant */
    if (o->kind == TRAIN_GBT) { /* trees need no statistics: the values pass through (fit_gbt) */
        in->type = TYPE_NUMBER;
        in->required = !column_has_missing(d, col);
        feature_step pass = {STEP_PASSTHROUGH, 0, 0};
        return features_add(model_builder_features(mb), index, &pass, 1) != 0 ? err_set(err, "out of memory")
                                                                              : 0;
    }
    double *v = malloc((d->n_rows + 1) * sizeof *v);
    if (!v) return err_set(err, "out of memory");
    size_t n = 0, used = 0;
    for (size_t r = 0; r < d->n_rows; r++) {
        if (use && !use[r]) continue;
        used++;
        const char *s = dataset_cell(d, r, col);
        if (!s) continue;
        if (parse_finite_double(s, strlen(s), &v[n]) != 0) {
            free(v);
            return err_set(err, "%s: row %zu: column %s: \"%.40s\" is not a finite number", d->path, r + 1,
                           d->names[col], s);
        }
        n++;
    }
    if (n == 0) {
        free(v);
        return err_set(err, "%s: column %s has no values in the training rows", d->path, d->names[col]);
    }
    qsort(v, n, sizeof *v, cmp_double);
    in->type = TYPE_NUMBER;
    in->required = !column_has_missing(d, col);
    double impute = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    int indicator = o->auto_features && column_has_missing(d, col);
    /* A long right tail (skewness > 1) of non-negative values, like a fare, is
     * compressed by log1p so that a few large values do not dominate. */
    double mean = 0, m2 = 0, m3 = 0;
    for (size_t i = 0; i < n; i++) mean += v[i] / n;
    for (size_t i = 0; i < n; i++) {
        double dv = v[i] - mean;
        m2 += dv * dv / n;
        m3 += dv * dv * dv / n;
    }
    double skew = m2 > 0 ? m3 / pow(m2, 1.5) : 0;
    int log_scale = o->auto_features && v[0] >= 0 && skew > 1.0;
    /* mean and std of what the encoder will see, imputed rows included */
    double t_mean = 0, t_m2 = 0;
    for (size_t i = 0; i < n; i++) v[i] = log_scale ? log1p(v[i]) : v[i];
    double t_impute = log_scale ? log1p(impute) : impute;
    for (size_t i = 0; i < used; i++) t_mean += (i < n ? v[i] : t_impute) / used;
    for (size_t i = 0; i < used; i++) {
        double dv = (i < n ? v[i] : t_impute) - t_mean;
        t_m2 += dv * dv / used;
    }
    free(v);
    feature_step steps[3], ind = {STEP_MISSING_INDICATOR, 0, 0};
    int k = 0;
    steps[k++] = (feature_step){STEP_IMPUTE, impute, 0};
    if (log_scale) steps[k++] = (feature_step){STEP_LOG1P, 0, 0};
    steps[k++] = (feature_step){STEP_STANDARDIZE, t_mean, t_m2 > 1e-12 ? sqrt(t_m2) : 1.0};
    if (features_add(model_builder_features(mb), index, steps, k) != 0 ||
        (indicator && features_add(model_builder_features(mb), index, &ind, 1) != 0))
        return err_set(err, "out of memory");
    return 0;
}

static int is_integer_text(const char *s, long long *out)
{
    char *end;
    if (!*s) return 0;
    long long v = strtoll(s, &end, 10);
    if (*end) return 0;
    *out = v;
    return 1;
}

typedef struct {
    const char *text;
    long long num;
    size_t count;
} category;

static int cmp_category_text(const void *a, const void *b)
{
    return strcmp(((const category *)a)->text, ((const category *)b)->text);
}
static int cmp_category_num(const void *a, const void *b)
{
    long long x = ((const category *)a)->num, y = ((const category *)b)->num;
    return (x > y) - (x < y);
}

/* A categorical column: its vocabulary (integers when every value is one),
 * sorted; the most frequent value imputed when values go missing; one-hot. */
static int fit_categorical(model_builder *mb, size_t index, const dataset *d, size_t col,
                           const unsigned char *use, char *err)
{
    schema_input *in = &model_builder_inputs(mb)->inputs[index];
    in->type = TYPE_INTEGER;
    long long num;
    for (size_t r = 0; r < d->n_rows; r++) {
        const char *s = dataset_cell(d, r, col);
        if (s && !is_integer_text(s, &num)) in->type = TYPE_STRING;
    }
    category *cats = calloc(d->n_rows + 1, sizeof *cats);
    if (!cats) return err_set(err, "out of memory");
    size_t n = 0;
    for (size_t r = 0; r < d->n_rows; r++) {
        const char *s = dataset_cell(d, r, col);
        if ((use && !use[r]) || !s) continue;
        size_t k = 0;
        while (k < n && strcmp(cats[k].text, s) != 0) k++;
        if (k == n) {
            cats[n].text = s;
            if (in->type == TYPE_INTEGER) is_integer_text(s, &cats[n].num);
            n++;
        }
        cats[k].count++;
    }
    if (n == 0) {
        free(cats);
        return err_set(err, "%s: column %s has no values in the training rows", d->path, d->names[col]);
    }
    qsort(cats, n, sizeof *cats, in->type == TYPE_INTEGER ? cmp_category_num : cmp_category_text);
    in->n_vocab = n;
    in->vocab = calloc(n, sizeof *in->vocab);
    in->vocab_int = in->type == TYPE_INTEGER ? calloc(n, sizeof *in->vocab_int) : NULL;
    if (!in->vocab || (in->type == TYPE_INTEGER && !in->vocab_int)) goto oom;
    size_t mode = 0;
    for (size_t k = 0; k < n; k++) {
        if (!(in->vocab[k] = strdup(cats[k].text))) goto oom;
        if (in->vocab_int) in->vocab_int[k] = cats[k].num;
        if (cats[k].count > cats[mode].count) mode = k;
    }
    /* a column that was never empty in the data makes the field required */
    in->required = !column_has_missing(d, col);
    in->unknown = UNKNOWN_REJECT;
    free(cats);
    feature_step steps[2];
    int k = 0;
    if (!in->required) steps[k++] = (feature_step){STEP_IMPUTE, (double)mode, 0};
    steps[k++] = (feature_step){STEP_ONE_HOT, 0, 0};
    if (features_add(model_builder_features(mb), index, steps, k) != 0) return err_set(err, "out of memory");
    return 0;
oom:
    free(cats);
    return err_set(err, "out of memory");
}

/* The schema and feature steps fitted on the rows in use: numeric inputs
 * first, then categorical ones, in the dataset's column order. */
model_builder *train_fit_inputs(const dataset *d, const unsigned char *use, const train_options *o, char *err)
{
    model_builder *mb = model_builder_new();
    if (!mb) goto oom;
    schema *s = model_builder_inputs(mb);
    output_spec *out = model_builder_output(mb);
    s->n_inputs = o->n_numeric + o->n_categorical;
    s->inputs = calloc(s->n_inputs, sizeof *s->inputs);
    if (!s->inputs || !(out->label = strdup(d->names[0]))) goto oom;
    /* the output the task needs: a probability, the classes' probabilities, a value */
    train_task task = train_task_of(o);
    out->task = task == TASK_OF_REGRESSION   ? TASK_REGRESSION
                : task == TASK_OF_MULTICLASS ? TASK_MULTICLASS
                                             : TASK_BINARY;
    out->link = task == TASK_OF_REGRESSION   ? LINK_IDENTITY
                : task == TASK_OF_MULTICLASS ? LINK_SOFTMAX
                                             : LINK_SIGMOID;
    if (task == TASK_OF_MULTICLASS) {
        if (!(out->classes = calloc((size_t)o->n_classes, sizeof *out->classes))) goto oom;
        out->n_classes = (size_t)o->n_classes;
        for (int c = 0; c < o->n_classes; c++)
            if (!(out->classes[c] = strdup(o->classes[c]))) goto oom;
    }
    for (size_t i = 0; i < s->n_inputs; i++) {
        size_t col = 1 + i;
        if (!(s->inputs[i].name = strdup(d->names[col]))) goto oom;
        int rc = i < o->n_numeric ? fit_numeric(mb, i, d, col, use, o, err)
                                  : fit_categorical(mb, i, d, col, use, err);
        if (rc != 0) goto fail;
    }
    if (!model_builder_columns(mb, err)) goto fail;
    return mb;
oom:
    err_set(err, "out of memory");
fail:
    model_builder_free(mb);
    return NULL;
}
