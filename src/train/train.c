/* train — schema fitting, backpropagation, Adam, early stopping. */
#define _POSIX_C_SOURCE 200809L
#include "train/train.h"

#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/progress.h"
#include "base/numtext.h"
#include "data/columns.h"
#include "data/score.h"
#include "estimators/blend.h"
#include "estimators/trees.h"
#include "estimators/linear.h"
#include "model/builder.h"
#include "model/encode.h"
#include "train/evaluate.h"
#include "train/rng.h"

void train_options_default(train_options *o)
{
    memset(o, 0, sizeof *o);
    o->hidden[0] = 16;
    o->hidden[1] = 8;
    o->n_hidden = 2;
    o->hidden_act = ACT_RELU;
    o->epochs = 200;
    o->patience = 20;
    o->batch = 32;
    o->lr = 0.003;
    o->l2 = 3e-3;
    o->ensemble = 8;
    o->val_fraction = 0.2;
    o->auto_features = 1;
    o->blend_mlp = 0.5;
    o->seed = 1;
    o->kind = TRAIN_MLP;
    gbt_options_default(&o->gbt);
}

void train_options_blend_default(train_options *o)
{
    train_options_default(o);
    o->kind = TRAIN_BLEND;
    /* chosen by 5-fold CV on Titanic (docs/maintainers/gbt.md, "The default model is a
     * blend"): a small MLP ensemble and 128 trees keep a request under a
     * microsecond and an explanation under 50 us */
    o->blend_mlp = 0.3;
    o->ensemble = 4;
    o->gbt.trees = 128;
    o->gbt.max_depth = 5;
    o->gbt.learning_rate = 0.08;
    o->gbt.min_child_weight = 5;
    o->gbt.l2 = 0.1;
    o->gbt.colsample = 0.6;
    o->gbt.subsample = 0.8;
    o->gbt.count_split = 1;
    o->gbt.early_stopping = 0;
}

/* ---- schema: statistics of the training rows ---------------------------- */

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

/* ---- the network -------------------------------------------------------- */

size_t train_param_count(const mlp *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_layers; i++)
        n += (size_t)m->layers[i].n_in * m->layers[i].n_out + m->layers[i].n_out;
    return n;
}

static void init_layers(mlp *m, uint64_t *rng)
{
    for (size_t i = 0; i < m->n_layers; i++) {
        mlp_layer *l = &m->layers[i];
        /* He initialisation for ReLU, Glorot otherwise */
        double a = l->act == ACT_RELU ? sqrt(6.0 / l->n_in) : sqrt(6.0 / (l->n_in + l->n_out));
        for (size_t k = 0; k < (size_t)l->n_in * l->n_out; k++)
            l->w[k] = (float)((2 * rng_uniform(rng) - 1) * a);
        memset(l->b, 0, (size_t)l->n_out * sizeof *l->b);
    }
}

typedef struct {
    int cap;       /* rows the buffers hold */
    float **z;     /* (n_layers) each (cap, n_out): pre-activations */
    float **a;     /* (n_layers) each (cap, n_out): activations */
    float *delta;  /* (cap, max_width) */
    float *delta2; /* (cap, max_width) */
} grad_work;

static void work_free(grad_work *w, size_t n_layers)
{
    for (size_t i = 0; i < n_layers; i++) {
        if (w->z) free(w->z[i]);
        if (w->a) free(w->a[i]);
    }
    free(w->z);
    free(w->a);
    free(w->delta);
    free(w->delta2);
}

static int work_init(grad_work *w, const mlp *m, int cap)
{
    memset(w, 0, sizeof *w);
    w->cap = cap;
    w->z = calloc(m->n_layers, sizeof *w->z);
    w->a = calloc(m->n_layers, sizeof *w->a);
    w->delta = malloc((size_t)cap * m->max_width * sizeof(float));
    w->delta2 = malloc((size_t)cap * m->max_width * sizeof(float));
    if (!w->z || !w->a || !w->delta || !w->delta2) return -1;
    for (size_t i = 0; i < m->n_layers; i++) {
        w->z[i] = malloc((size_t)cap * m->layers[i].n_out * sizeof(float));
        w->a[i] = malloc((size_t)cap * m->layers[i].n_out * sizeof(float));
        if (!w->z[i] || !w->a[i]) return -1;
    }
    return 0;
}

static float act_grad(float z, float a, activation act)
{
    switch (act) {
    case ACT_RELU: return z > 0 ? 1.0f : 0.0f;
    case ACT_TANH: return 1 - a * a;
    case ACT_SIGMOID: return a * (1 - a);
    case ACT_LINEAR: break;
    }
    return 1.0f;
}

/* x (n, n_features), y (n,) -> loss; grad laid out per layer (w (n_in, n_out), b (n_out)) */
static double loss_grad(const mlp *m, grad_work *w, const float *x, const float *y, int n, double l2,
                        float *grad)
{
    const float *in = x;
    for (size_t i = 0; i < m->n_layers; i++) {
        const mlp_layer *l = &m->layers[i];
        nn_dense(&m->kern, w->z[i], in, l->w, l->b, n, l->n_in, l->n_out, ACT_LINEAR);
        for (size_t k = 0; k < (size_t)n * l->n_out; k++) w->a[i][k] = nn_act(w->z[i][k], l->act);
        in = w->a[i];
    }
    size_t last = m->n_layers - 1;
    double loss = 0;
    for (int r = 0; r < n; r++) {
        float z = w->z[last][r];
        /* BCE of sigmoid(z) written as softplus(z) - y z, stable for any z */
        loss += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - y[r] * z;
        w->delta[r] = (w->a[last][r] - y[r]) / n;
    }
    loss /= n;
    size_t offset = train_param_count(m);
    for (size_t li = m->n_layers; li-- > 0;) {
        const mlp_layer *l = &m->layers[li];
        size_t nw = (size_t)l->n_in * l->n_out;
        offset -= nw + l->n_out;
        float *gw = grad + offset, *gb = gw + nw;
        const float *a_prev = li ? w->a[li - 1] : x;
        /* gw (n_in, n_out) = a_prev^T (n_in, n) @ delta (n, n_out) + l2 W */
        for (size_t k = 0; k < nw; k++) {
            gw[k] = (float)(l2 * l->w[k]);
            loss += 0.5 * l2 * l->w[k] * l->w[k];
        }
        memset(gb, 0, (size_t)l->n_out * sizeof *gb);
        for (int r = 0; r < n; r++) {
            const float *dr = w->delta + (size_t)r * l->n_out;
            const float *ar = a_prev + (size_t)r * l->n_in;
            for (int i = 0; i < l->n_in; i++) {
                float av = ar[i];
                if (av == 0) continue;
                float *gwi = gw + (size_t)i * l->n_out;
                for (int j = 0; j < l->n_out; j++) gwi[j] += av * dr[j];
            }
            for (int j = 0; j < l->n_out; j++) gb[j] += dr[j];
        }
        if (li == 0) break;
        /* delta_prev (n, n_in) = (delta (n, n_out) @ W^T) * act'(z_prev) */
        const mlp_layer *pl = &m->layers[li - 1];
        for (int r = 0; r < n; r++) {
            const float *dr = w->delta + (size_t)r * l->n_out;
            float *pr = w->delta2 + (size_t)r * l->n_in;
            for (int i = 0; i < l->n_in; i++) {
                const float *wi = l->w + (size_t)i * l->n_out;
                float s = 0;
                for (int j = 0; j < l->n_out; j++) s += dr[j] * wi[j];
                size_t k = (size_t)r * l->n_in + i;
                pr[i] = s * act_grad(w->z[li - 1][k], w->a[li - 1][k], pl->act);
            }
        }
        float *t = w->delta;
        w->delta = w->delta2;
        w->delta2 = t;
    }
    return loss;
}

double train_loss_grad(const mlp *m, const float *x, const float *y, int n, double l2, float *grad)
{
    grad_work w;
    double loss = NAN;
    if (work_init(&w, m, n) == 0) loss = loss_grad(m, &w, x, y, n, l2, grad);
    work_free(&w, m->n_layers);
    return loss;
}

/* ---- fitting ------------------------------------------------------------ */

/* The schema and feature steps fitted on the rows in use: numeric inputs
 * first, then categorical ones, in the dataset's column order. */
static model_builder *fit_inputs(const dataset *d, const unsigned char *use, const train_options *o,
                                 char *err)
{
    model_builder *mb = model_builder_new();
    if (!mb) goto oom;
    schema *s = model_builder_inputs(mb);
    output_spec *out = model_builder_output(mb);
    s->n_inputs = o->n_numeric + o->n_categorical;
    s->inputs = calloc(s->n_inputs, sizeof *s->inputs);
    if (!s->inputs || !(out->label = strdup(d->names[0]))) goto oom;
    out->task = TASK_BINARY;
    out->link = LINK_SIGMOID;
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

/* An MLP of the options' hidden widths (times `members`) on n_features inputs,
 * ending in one sigmoid unit: the network trains on the probability. */
static mlp *new_network(int n_features, const train_options *o, int members)
{
    int widths[TRAIN_MAX_HIDDEN + 2];
    activation acts[TRAIN_MAX_HIDDEN + 1];
    widths[0] = n_features;
    for (int i = 0; i < o->n_hidden; i++) {
        widths[i + 1] = o->hidden[i] * members;
        acts[i] = o->hidden_act;
    }
    widths[o->n_hidden + 1] = 1;
    acts[o->n_hidden] = ACT_SIGMOID;
    return mlp_create(widths, acts, (size_t)o->n_hidden + 1);
}

static void put_hyperparameters(json_t *meta, const train_options *o, int epochs_run, size_t rows)
{
    json_t *hp = json_object(), *hidden = json_array();
    for (int i = 0; i < o->n_hidden; i++) json_array_append_new(hidden, json_integer(o->hidden[i]));
    json_object_set_new(hp, "hidden", hidden);
    json_object_set_new(hp, "hidden_activation", json_string(activation_name(o->hidden_act)));
    json_object_set_new(hp, "optimizer", json_string("adam"));
    json_object_set_new(hp, "loss", json_string("binary_crossentropy"));
    json_object_set_new(hp, "learning_rate", json_real(o->lr));
    json_object_set_new(hp, "l2", json_real(o->l2));
    json_object_set_new(hp, "batch_size", json_integer(o->batch));
    json_object_set_new(hp, "max_epochs", json_integer(o->epochs));
    json_object_set_new(hp, "patience", json_integer(o->patience));
    json_object_set_new(hp, "validation_fraction", json_real(o->val_fraction));
    json_object_set_new(hp, "ensemble", json_integer(o->ensemble));
    json_object_set_new(hp, "mean_epochs_run", json_integer(epochs_run));
    json_object_set_new(hp, "auto_features", json_boolean(o->auto_features));
    json_object_set_new(meta, "tabserve_version", json_string(TABSERVE_VERSION));
    json_object_set_new(meta, "training_rows", json_integer((json_int_t)rows));
    json_object_set_new(meta, "seed", json_integer((json_int_t)o->seed));
    json_object_set_new(meta, "hyperparameters", hp);
}

typedef struct {
    float *grad, *best, *m1, *m2; /* (n_params,) */
    float *bx, *by;               /* (batch, F), (batch,) */
    float *pv, *scratch;          /* validation predictions and forward scratch */
    grad_work w;
} fit_buffers;

static void copy_params(mlp *m, float *flat, int to_flat)
{
    size_t k = 0;
    for (size_t li = 0; li < m->n_layers; li++) {
        mlp_layer *l = &m->layers[li];
        size_t nw = (size_t)l->n_in * l->n_out;
        if (to_flat) {
            memcpy(flat + k, l->w, nw * sizeof *flat);
            memcpy(flat + k + nw, l->b, (size_t)l->n_out * sizeof *flat);
        } else {
            memcpy(l->w, flat + k, nw * sizeof *flat);
            memcpy(l->b, flat + k + nw, (size_t)l->n_out * sizeof *flat);
        }
        k += nw + (size_t)l->n_out;
    }
}

/* Adam on the rows fit (n_fit,) of x (., F); keeps the weights of the epoch with the
 * lowest log-loss on the rows val (n_val,). Returns the number of epochs run. */
static int fit_network(mlp *m, const float *x, const float *y, size_t *fit, size_t n_fit, const size_t *val,
                       size_t n_val, const train_options *o, uint64_t *rng, fit_buffers *b)
{
    size_t F = (size_t)m->base.n_features, n_params = train_param_count(m);
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    double best_loss = INFINITY;
    int best_epoch = 0, epoch;
    long step = 0;
    init_layers(m, rng);
    memset(b->m1, 0, n_params * sizeof *b->m1);
    memset(b->m2, 0, n_params * sizeof *b->m2);
    float *xv = b->scratch, *yv = b->scratch + n_val * F, *scratch = yv + n_val;
    for (size_t i = 0; i < n_val; i++) {
        memcpy(xv + i * F, x + val[i] * F, F * sizeof *x);
        yv[i] = y[val[i]];
    }
    for (epoch = 1; epoch <= o->epochs; epoch++) {
        progress_step(o->progress, "epochs", epoch, o->epochs);
        rng_shuffle(fit, n_fit, rng);
        for (size_t s = 0; s < n_fit; s += (size_t)o->batch) {
            int bn = (int)(n_fit - s < (size_t)o->batch ? n_fit - s : (size_t)o->batch);
            for (int r = 0; r < bn; r++) {
                memcpy(b->bx + (size_t)r * F, x + fit[s + r] * F, F * sizeof *x);
                b->by[r] = y[fit[s + r]];
            }
            loss_grad(m, &b->w, b->bx, b->by, bn, o->l2, b->grad);
            step++;
            double c1 = 1 - pow(b1, (double)step), c2 = 1 - pow(b2, (double)step);
            size_t k = 0;
            for (size_t li = 0; li < m->n_layers; li++) {
                mlp_layer *l = &m->layers[li];
                size_t nw = (size_t)l->n_in * l->n_out;
                for (size_t q = 0; q < nw + (size_t)l->n_out; q++, k++) {
                    float g = b->grad[k], *param = q < nw ? &l->w[q] : &l->b[q - nw];
                    b->m1[k] = (float)(b1 * b->m1[k] + (1 - b1) * g);
                    b->m2[k] = (float)(b2 * b->m2[k] + (1 - b2) * g * g);
                    *param -= (float)(o->lr * (b->m1[k] / c1) / (sqrt(b->m2[k] / c2) + eps));
                }
            }
        }
        if (n_val == 0) continue;
        mlp_forward(m, xv, (int)n_val, scratch, b->pv);
        metrics mv;
        metrics_compute(b->pv, yv, n_val, &mv);
        if (mv.logloss < best_loss - 1e-6) {
            best_loss = mv.logloss;
            best_epoch = epoch;
            copy_params(m, b->best, 1);
        } else if (epoch - best_epoch >= o->patience) {
            break;
        }
    }
    if (best_epoch > 0) copy_params(m, b->best, 0);
    return epoch > o->epochs ? o->epochs : epoch;
}

/* Places member j's layers (shapes of m) into the ensemble e, whose hidden layers
 * are n times wider: the first layer side by side, later hidden layers block-
 * diagonal, the output layer stacked and scaled by 1/n, so e's logit is the mean
 * of the members' logits — exactly, in one ordinary dense network. */
static void place_member(mlp *e, const mlp *m, int j, int n)
{
    for (size_t li = 0; li < m->n_layers; li++) {
        const mlp_layer *src = &m->layers[li];
        mlp_layer *dst = &e->layers[li];
        int last = li + 1 == m->n_layers;
        size_t row0 = li == 0 ? 0 : (size_t)j * src->n_in, col0 = last ? 0 : (size_t)j * src->n_out;
        float scale = last ? 1.0f / n : 1.0f;
        for (int i = 0; i < src->n_in; i++)
            for (int k = 0; k < src->n_out; k++)
                dst->w[(row0 + i) * dst->n_out + col0 + k] = scale * src->w[(size_t)i * src->n_out + k];
        for (int k = 0; k < src->n_out; k++) dst->b[col0 + k] += scale * src->b[k];
    }
}

/* The trained network as the model's predictor: the sigmoid moves from the
 * last layer to the output's link (the same arithmetic), and a network with
 * no hidden layer becomes a linear predictor. */
static predictor *as_predictor(mlp *e)
{
    e->layers[e->n_layers - 1].act = ACT_LINEAR;
    if (e->n_layers > 1) return &e->base;
    predictor *lin = linear_create(e->base.n_features, 1, e->layers[0].w, e->layers[0].b);
    predictor_free(&e->base);
    return lin;
}

static void gbt_metadata(json_t *meta, const gbt_options *go, int rounds, size_t n)
{
    json_object_set_new(meta, "tabserve_version", json_string(TABSERVE_VERSION));
    json_object_set_new(meta, "training_rows", json_integer((json_int_t)n));
    json_object_set_new(
        meta, "hyperparameters",
        json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:f,s:f,s:f,s:f,s:f,s:i,s:f,s:i,s:i,s:I}", "model", "gbt",
                  "split_gain", go->count_split ? "count" : "hessian", "objective",
                  go->objective == GBT_BINARY       ? "binary"
                  : go->objective == GBT_MULTICLASS ? "multiclass"
                                                    : "regression",
                  "trees", go->trees, "trees_kept", rounds, "max_depth", go->max_depth, "learning_rate",
                  go->learning_rate, "min_child_weight", go->min_child_weight, "l2", go->l2, "subsample",
                  go->subsample, "colsample", go->colsample, "early_stopping", go->early_stopping,
                  "val_fraction", go->val_fraction, "max_bins", go->max_bins, "bag", go->bag, "seed",
                  (json_int_t)go->seed));
}

static int set_classes(output_spec *out, const train_options *o, char *err);

/* Gradient-boosted trees: the same inputs, but numbers pass through (the trees
 * route missing values) and categories become their index (the trees split on
 * sets of them); an unknown category counts as missing. */
static model *fit_gbt(const dataset *d, const float *y, const unsigned char *use, const train_options *o,
                      char *err)
{
    model_builder *mb = fit_inputs(d, use, o, err);
    if (!mb) return NULL;
    schema *s = model_builder_inputs(mb);
    feature_steps *fs = model_builder_features(mb);
    const model *m = NULL;
    size_t F = s->n_inputs, n = 0;
    int *is_cat = calloc(F, sizeof *is_cat), *n_cat = calloc(F, sizeof *n_cat);
    float *x = malloc((d->n_rows ? d->n_rows : 1) * F * sizeof *x),
          *yy = malloc((d->n_rows + 1) * sizeof *yy);
    if (!is_cat || !n_cat || !x || !yy) {
        err_set(err, "out of memory");
        goto fail;
    }
    features_clear(fs); /* the MLP's steps (impute, standardize, one-hot) are not wanted */
    for (size_t i = 0; i < F; i++) {
        schema_input *in = &s->inputs[i];
        is_cat[i] = in->n_vocab > 0;
        n_cat[i] = (int)in->n_vocab;
        if (in->n_vocab) in->unknown = UNKNOWN_MISSING;
        feature_step st = {in->n_vocab ? STEP_CATEGORY_INDEX : STEP_PASSTHROUGH, 0, 0};
        if (features_add(fs, i, &st, 1) != 0) {
            err_set(err, "out of memory");
            goto fail;
        }
    }
    if (!(m = model_builder_columns(mb, err))) goto fail;
    for (size_t r = 0; r < d->n_rows; r++) {
        if (use && !use[r]) continue;
        if (score_encode_row(m, d, r, 1, x + n * F, err) != 0) goto fail;
        yy[n++] = y[r];
    }
    gbt_options go = o->gbt;
    go.seed = o->seed;
    int rounds = 0;
    tree_ensemble *e = gbt_fit(x, yy, n, (int)F, is_cat, n_cat, &go, &rounds, err);
    if (!e) goto fail;
    model_builder_set_predictor(mb, &e->base);
    output_spec *out = model_builder_output(mb);
    if (go.objective == GBT_REGRESSION) {
        out->task = TASK_REGRESSION;
        out->link = LINK_IDENTITY;
    } else if (go.objective == GBT_MULTICLASS && set_classes(out, o, err) != 0) {
        goto fail;
    }
    gbt_metadata(model_builder_metadata(mb), &go, rounds, n);
    free(is_cat);
    free(n_cat);
    free(x);
    free(yy);
    return model_builder_finish(mb, err);
fail:
    free(is_cat);
    free(n_cat);
    free(x);
    free(yy);
    model_builder_free(mb);
    return NULL;
}

static model *fit_blend(const dataset *d, const float *y, const unsigned char *use, const train_options *o,
                        char *err);

/* Puts the label's classes on a model's output: softmax over one margin each. */
static int set_classes(output_spec *out, const train_options *o, char *err)
{
    out->task = TASK_MULTICLASS;
    out->link = LINK_SOFTMAX;
    if (!(out->classes = calloc((size_t)o->n_classes, sizeof *out->classes)))
        return err_set(err, "out of memory");
    out->n_classes = (size_t)o->n_classes;
    for (int c = 0; c < o->n_classes; c++)
        if (!(out->classes[c] = strdup(o->classes[c]))) return err_set(err, "out of memory");
    return 0;
}

/* Multinomial logistic regression (--model linear with three or more
 * classes) on the MLP's inputs (imputed, standardized, one-hot): the mean
 * cross-entropy plus scikit-learn's default penalty, |W|^2 / (2 n), minimized
 * by full-batch Adam; the convex loss is run down until it stops moving. */
static model *fit_softmax(const dataset *d, const float *y, const unsigned char *use, const train_options *o,
                          char *err)
{
    model_builder *mb = fit_inputs(d, use, o, err);
    if (!mb) return NULL;
    const model *m = model_builder_view(mb);
    model *fitted = NULL;
    int K = o->n_classes;
    size_t F = (size_t)m->n_features, n = 0, P = (F + 1) * (size_t)K;
    float *x = malloc((d->n_rows ? d->n_rows : 1) * F * sizeof *x);
    int *cls = malloc((d->n_rows ? d->n_rows : 1) * sizeof *cls);
    double *w = calloc(P, sizeof *w), *g = calloc(P, sizeof *g), *m1 = calloc(P, sizeof *m1),
           *m2 = calloc(P, sizeof *m2), *z = malloc((size_t)K * sizeof *z);
    float *wf = malloc(P * sizeof *wf);
    if (!x || !cls || !w || !g || !m1 || !m2 || !z || !wf) {
        err_set(err, "out of memory");
        goto fail;
    }
    for (size_t r = 0; r < d->n_rows; r++) {
        if (use && !use[r]) continue;
        if (score_encode_row(m, d, r, 1, x + n * F, err) != 0) goto fail;
        cls[n++] = (int)y[r];
    }
    double *b = w + F * (size_t)K; /* weights (F, K) row-major, then the K biases */
    for (size_t i = 0; i < n; i++) b[cls[i]] += 1.0 / (double)n;
    for (int c = 0; c < K; c++) b[c] = log(b[c] > 1e-6 ? b[c] : 1e-6);
    /* iterations: up to 3000, fewer on big data (each is a pass over every row) */
    double work = (double)n * (double)P;
    int iters = work > 0 ? (int)fmin(3000, fmax(200, 3e9 / work)) : 1;
    double prev = INFINITY, lr = 0.05;
    int it = 0;
    for (; it < iters; it++) {
        memset(g, 0, P * sizeof *g);
        double loss = 0;
        for (size_t i = 0; i < n; i++) {
            const float *xi = x + i * F;
            double top = -INFINITY, sum = 0;
            for (int c = 0; c < K; c++) {
                double v = b[c];
                for (size_t j = 0; j < F; j++) v += xi[j] * w[j * (size_t)K + (size_t)c];
                z[c] = v;
                if (v > top) top = v;
            }
            for (int c = 0; c < K; c++) sum += z[c] = exp(z[c] - top);
            loss -= log(z[cls[i]] / sum);
            for (int c = 0; c < K; c++) {
                double gc = z[c] / sum - (c == cls[i]);
                for (size_t j = 0; j < F; j++) g[j * (size_t)K + (size_t)c] += gc * xi[j];
                g[F * (size_t)K + (size_t)c] += gc;
            }
        }
        double reg = 0;
        for (size_t k = 0; k < F * (size_t)K; k++) {
            reg += w[k] * w[k];
            g[k] = g[k] / (double)n + w[k] / (double)n;
        }
        for (int c = 0; c < K; c++) g[F * (size_t)K + (size_t)c] /= (double)n;
        loss = loss / (double)n + reg / (2.0 * (double)n);
        if (fabs(prev - loss) < 1e-9 * (1 + fabs(loss))) break;
        prev = loss;
        double c1 = 1 - pow(0.9, it + 1), c2 = 1 - pow(0.999, it + 1);
        for (size_t k = 0; k < P; k++) {
            m1[k] = 0.9 * m1[k] + 0.1 * g[k];
            m2[k] = 0.999 * m2[k] + 0.001 * g[k] * g[k];
            w[k] -= lr * (m1[k] / c1) / (sqrt(m2[k] / c2) + 1e-8);
        }
    }
    for (size_t k = 0; k < P; k++) wf[k] = (float)w[k];
    predictor *lin = linear_create((int)F, K, wf, wf + F * (size_t)K);
    if (!lin) {
        err_set(err, "out of memory");
        goto fail;
    }
    model_builder_set_predictor(mb, lin);
    if (set_classes(model_builder_output(mb), o, err) != 0) goto fail;
    json_t *meta = model_builder_metadata(mb);
    json_object_set_new(meta, "tabserve_version", json_string(TABSERVE_VERSION));
    json_object_set_new(meta, "training_rows", json_integer((json_int_t)n));
    json_object_set_new(meta, "hyperparameters",
                        json_pack("{s:s,s:s,s:s,s:f,s:i}", "model", "linear", "loss", "softmax cross-entropy",
                                  "penalty", "|W|^2 / (2 n)", "learning_rate", lr, "iterations", it));
    fitted = model_builder_finish(mb, err);
    mb = NULL;
fail:
    model_builder_free(mb);
    free(x);
    free(cls);
    free(w);
    free(g);
    free(m1);
    free(m2);
    free(z);
    free(wf);
    return fitted;
}

model *train_fit(const dataset *d, const float *y, const unsigned char *use, const train_options *o,
                 char *err)
{
    if (o->kind == TRAIN_GBT) return fit_gbt(d, y, use, o, err);
    if (o->n_classes >= 3 && o->kind == TRAIN_MLP && o->n_hidden == 0) return fit_softmax(d, y, use, o, err);
    if (o->kind == TRAIN_BLEND) return fit_blend(d, y, use, o, err);
    uint64_t rng = o->seed;
    int members = o->ensemble > 0 ? o->ensemble : 1;
    mlp *net = NULL, *e = NULL;
    fit_buffers b = {0};
    size_t *idx = NULL, *fit = NULL;
    float *x = NULL, *yy = NULL;
    model_builder *mb = fit_inputs(d, use, o, err);
    if (!mb) return NULL;
    const model *m = model_builder_view(mb);
    model *fitted = NULL;
    size_t F = (size_t)m->n_features;
    if (!(net = new_network(m->n_features, o, 1)) || !(e = new_network(m->n_features, o, members))) {
        err_set(err, "out of memory");
        goto fail;
    }
    size_t n_params = train_param_count(net);
    idx = malloc(d->n_rows * sizeof *idx);
    fit = malloc(d->n_rows * sizeof *fit);
    x = malloc(d->n_rows * F * sizeof *x);
    yy = malloc(d->n_rows * sizeof *yy);
    b.grad = malloc(n_params * sizeof *b.grad);
    b.best = malloc(n_params * sizeof *b.best);
    b.m1 = malloc(n_params * sizeof *b.m1);
    b.m2 = malloc(n_params * sizeof *b.m2);
    b.bx = malloc((size_t)o->batch * F * sizeof *b.bx);
    b.by = malloc((size_t)o->batch * sizeof *b.by);
    b.pv = malloc(d->n_rows * sizeof *b.pv);
    b.scratch = malloc((d->n_rows * (F + 1) + mlp_scratch_floats(net, (int)d->n_rows)) * sizeof *b.scratch);
    if (!idx || !fit || !x || !yy || !b.grad || !b.best || !b.m1 || !b.m2 || !b.bx || !b.by || !b.pv ||
        !b.scratch || work_init(&b.w, net, o->batch) != 0) {
        err_set(err, "out of memory");
        goto fail;
    }

    size_t n = 0; /* encode the training rows once */
    for (size_t r = 0; r < d->n_rows; r++) {
        if (use && !use[r]) continue;
        if (score_encode_row(m, d, r, 1, x + n * F, err) != 0) goto fail;
        yy[n++] = y[r];
    }
    for (size_t i = 0; i < n; i++) idx[i] = i;
    rng_shuffle(idx, n, &rng);

    /* member j validates on the j-th of `members` slices of the shuffled rows
     * (one member: the last val_fraction of them) and fits on the rest */
    int epochs_run = 0;
    for (int j = 0; j < members; j++) {
        size_t v0, v1;
        if (members == 1) {
            v0 = n - (size_t)(n * o->val_fraction);
            v1 = n;
        } else {
            v0 = n * (size_t)j / (size_t)members;
            v1 = n * (size_t)(j + 1) / (size_t)members;
        }
        size_t n_fit = 0;
        for (size_t i = 0; i < n; i++)
            if (i < v0 || i >= v1) fit[n_fit++] = idx[i];
        epochs_run += fit_network(net, x, yy, fit, n_fit, idx + v0, v1 - v0, o, &rng, &b);
        place_member(e, net, j, members);
    }
    put_hyperparameters(model_builder_metadata(mb), o, epochs_run / members, n);
    predictor *p = as_predictor(e);
    e = NULL;
    if (!p) {
        err_set(err, "out of memory");
        goto fail;
    }
    model_builder_set_predictor(mb, p);
    fitted = model_builder_finish(mb, err);
    mb = NULL;
fail:
    model_builder_free(mb);
    if (net) {
        work_free(&b.w, net->n_layers);
        predictor_free(&net->base);
    }
    if (e) predictor_free(&e->base);
    free(idx);
    free(fit);
    free(x);
    free(yy);
    free(b.grad);
    free(b.best);
    free(b.m1);
    free(b.m2);
    free(b.bx);
    free(b.by);
    free(b.pv);
    free(b.scratch);
    return fitted;
}

/* ---- cross-validation --------------------------------------------------- */

static json_t *metrics_json(const metrics *mt)
{
    json_t *o = json_object();
    json_object_set_new(o, "accuracy", json_real(mt->accuracy));
    json_object_set_new(o, "logloss", json_real(mt->logloss));
    if (!isnan(mt->auc)) json_object_set_new(o, "auc", json_real(mt->auc));
    json_object_set_new(o, "rows", json_integer((json_int_t)mt->rows));
    return o;
}

/* Each row's fold: its integer key in column fold_col, mod k (TRAIN_FOLD_BY_ROW:
 * its row index, from 0, mod k). 0 or -1 with err. */
static int folds_of(const dataset *d, size_t fold_col, long k, unsigned char *fold, char *err)
{
    for (size_t r = 0; r < d->n_rows && fold_col == TRAIN_FOLD_BY_ROW; r++)
        fold[r] = (unsigned char)(r % (size_t)k);
    for (size_t r = 0; r < d->n_rows && fold_col != TRAIN_FOLD_BY_ROW; r++) {
        const char *s = dataset_cell(d, r, fold_col);
        char *end;
        long long v = s ? strtoll(s, &end, 10) : 0;
        if (!s || *end)
            return err_set(err, "%s: row %zu: column %s: fold key must be an integer, got \"%.40s\"", d->path,
                           r + 1, d->names[fold_col], s ? s : "");
        fold[r] = (unsigned char)(((v % k) + k) % k);
    }
    return 0;
}

json_t *train_cross_validate(const dataset *d, const float *y, size_t fold_col, long k,
                             const train_options *o, FILE *report, metrics *mean, char *err)
{
    int K = o->n_classes >= 3 ? o->n_classes : 1;
    unsigned char *in_fold = malloc(d->n_rows);
    float *p = malloc(d->n_rows * (size_t)K * sizeof *p), *yt = malloc(d->n_rows * sizeof *yt);
    int *cls = malloc(d->n_rows * sizeof *cls);
    json_t *folds = json_array(), *result = NULL;
    metrics sum = {0};
    if (!in_fold || !p || !yt || !cls) {
        err_set(err, "out of memory");
        goto done;
    }
    if (folds_of(d, fold_col, k, in_fold, err) != 0) goto done;
    for (long f = 0; f < k; f++) {
        unsigned char *train_rows = malloc(d->n_rows);
        if (!train_rows) {
            err_set(err, "out of memory");
            goto done;
        }
        size_t nt = 0;
        for (size_t r = 0; r < d->n_rows; r++) {
            train_rows[r] = in_fold[r] != f;
            if (in_fold[r] == f) cls[nt] = (int)y[r], yt[nt++] = y[r];
        }
        double t0 = clock_seconds();
        model *m = train_fit(d, y, train_rows, o, err);
        double fit = clock_seconds() - t0;
        long scored = m ? score_dataset(m, d, 1, train_rows, 0, p, err) : -1;
        free(train_rows);
        model_free(m);
        if (scored < 0) goto done;
        metrics mt = {0};
        if (K > 1) { /* classes: accuracy and log-loss (AUC is for two) */
            metrics_multiclass(p, K, cls, (size_t)scored, &mt.accuracy, &mt.logloss);
            mt.rows = (size_t)scored;
            mt.auc = NAN;
        } else {
            metrics_compute(p, yt, (size_t)scored, &mt);
        }
        if (report && K > 1)
            fprintf(report, "fold %ld: rows=%zu accuracy=%.4f logloss=%.4f fit=%.3fs\n", f, mt.rows,
                    mt.accuracy, mt.logloss, fit);
        else if (report)
            fprintf(report, "fold %ld: rows=%zu accuracy=%.4f logloss=%.4f auc=%.4f fit=%.3fs\n", f, mt.rows,
                    mt.accuracy, mt.logloss, mt.auc, fit);
        sum.accuracy += mt.accuracy / k;
        sum.logloss += mt.logloss / k;
        sum.auc += mt.auc / k;
        json_t *fj = metrics_json(&mt);
        json_object_set_new(fj, "fold", json_integer(f));
        json_array_append_new(folds, fj);
    }
    if (report && K > 1)
        fprintf(report, "cv accuracy=%.4f logloss=%.4f\n", sum.accuracy, sum.logloss);
    else if (report)
        fprintf(report, "cv accuracy=%.4f logloss=%.4f auc=%.4f\n", sum.accuracy, sum.logloss, sum.auc);
    if (mean) *mean = sum;
    result = json_object();
    json_object_set_new(result, "k", json_integer(k));
    json_object_set_new(result, "fold_by",
                        json_string(fold_col == TRAIN_FOLD_BY_ROW ? "(row index)" : d->names[fold_col]));
    json_object_set_new(result, "fold_rule",
                        json_string(fold_col == TRAIN_FOLD_BY_ROW
                                        ? "fold = row index (from 0) mod k; metrics are the mean over folds"
                                        : "fold = value mod k; metrics are the mean over folds"));
    json_object_set_new(result, "accuracy", json_real(sum.accuracy));
    json_object_set_new(result, "logloss", json_real(sum.logloss));
    if (K == 1) json_object_set_new(result, "auc", json_real(sum.auc));
    json_object_set(result, "folds", folds);
done:
    json_decref(folds);
    free(cls);
    free(in_fold);
    free(p);
    free(yt);
    return result;
}

/* ---- blend and auto ----------------------------------------------------- */

/* The MLP ensemble and the trees, fitted on the same rows, averaged in logit
 * space (weights blend_mlp and 1 - blend_mlp; 0.5 each by default): the MLP's
 * inputs and columns, then one column per input for the trees (the raw value,
 * or the category's index), one blend predictor. */
static model *fit_blend(const dataset *d, const float *y, const unsigned char *use, const train_options *o,
                        char *err)
{
    train_options om = *o, og = *o;
    om.kind = TRAIN_MLP;
    og.kind = TRAIN_GBT;
    model *fit_mlp = train_fit(d, y, use, &om, err);
    model *fit_trees = fit_mlp ? train_fit(d, y, use, &og, err) : NULL;
    if (!fit_trees) {
        model_free(fit_mlp);
        return NULL;
    }
    int mlp_width = fit_mlp->n_features, trees_width = fit_trees->n_features;
    /* both taken apart again: the MLP's inputs, columns and output, then the
     * trees' columns on the same inputs, one blend of the two predictors */
    model_builder *mb = model_builder_from(fit_mlp), *tb = model_builder_from(fit_trees);
    if (!mb || !tb) {
        err_set(err, "out of memory");
        model_builder_free(mb);
        model_builder_free(tb);
        return NULL;
    }
    feature_steps *fs = model_builder_features(mb);
    const feature_steps *tfs = model_builder_features(tb);
    int rc = 0;
    for (size_t i = 0; i < tfs->n && rc == 0; i++)
        rc = features_add(fs, tfs->f[i].input, tfs->f[i].steps, tfs->f[i].n_steps);
    blend_member members[2] = {{model_builder_predictor(mb), 0, (float)o->blend_mlp},
                               {model_builder_predictor(tb), mlp_width, (float)(1 - o->blend_mlp)}};
    blend *b = rc == 0 ? blend_create(mlp_width + trees_width, 1, members, 2) : NULL;
    json_t *mlp_meta = model_builder_metadata(mb), *trees_meta = model_builder_metadata(tb);
    json_t *meta = b ? json_pack("{s:I,s:{s:s,s:f,s:O,s:O}}", "training_rows",
                                 json_integer_value(json_object_get(mlp_meta, "training_rows")),
                                 "hyperparameters", "model", "blend", "mlp_weight", o->blend_mlp, "mlp",
                                 json_object_get(mlp_meta, "hyperparameters"), "gbt",
                                 json_object_get(trees_meta, "hyperparameters"))
                     : NULL;
    if (!meta) {
        err_set(err, "out of memory");
        if (b) predictor_free(&b->base);
        model_builder_free(mb);
        model_builder_free(tb);
        return NULL;
    }
    /* the members now belong to the blend */
    model_builder_take_predictor(mb);
    trees_drop_covers(
        (tree_ensemble *)model_builder_take_predictor(tb)); /* explained by interventional values */
    model_builder_free(tb);
    model_builder_set_predictor(mb, &b->base);
    model_builder_set_metadata(mb, meta);
    return model_builder_finish(mb, err);
}

static const char *const candidate_names[] = {"mlp", "gbt", "blend"};
#define N_CANDIDATES 3

/* Fits candidate c on the rows in train and scores the rows in test into mt. */
static int fit_and_score(const dataset *d, const float *y, const unsigned char *train,
                         const unsigned char *test, const train_options *o, int c, metrics *mt, char *err)
{
    train_options oc = *o;
    oc.kind = c == 0 ? TRAIN_MLP : c == 1 ? TRAIN_GBT : TRAIN_BLEND;
    model *m = train_fit(d, y, train, &oc, err);
    if (!m) return -1;
    float *p = malloc((d->n_rows + 1) * sizeof *p), *yt = malloc((d->n_rows + 1) * sizeof *yt);
    size_t nt = 0;
    for (size_t r = 0; r < d->n_rows; r++)
        if (test[r]) yt[nt++] = y[r];
    long scored = p && yt ? score_dataset(m, d, 1, test, 1, p, err) : -1; /* the rows with test[r] == 1 */
    model_free(m);
    if (scored >= 0) metrics_compute(p, yt, (size_t)scored, mt);
    free(p);
    free(yt);
    return scored < 0 ? -1 : 0;
}

model *train_auto(const dataset *d, const float *y, size_t fold_col, long k, const train_options *o,
                  FILE *report, char *err)
{
    size_t n = d->n_rows;
    unsigned char *fold = malloc(n), *train = malloc(n), *test = malloc(n);
    json_t *cands = json_object(), *nested = json_object(), *picks = json_array();
    model *m = NULL;
    if (k < 2 || k > 64) {
        err_set(err, "--model auto takes 2 to 64 folds, got %ld", k);
        goto done;
    }
    if (!fold || !train || !test || !cands || !nested || !picks) {
        err_set(err, "out of memory");
        goto done;
    }
    if (folds_of(d, fold_col, k, fold, err) != 0) goto done;
    /* cv[c][f]: candidate c fitted on the folds other than f, scored on f */
    metrics cv[N_CANDIDATES][64];
    for (int c = 0; c < N_CANDIDATES; c++) {
        metrics mean = {0};
        for (long f = 0; f < k; f++) {
            for (size_t r = 0; r < n; r++) {
                train[r] = fold[r] != f;
                test[r] = fold[r] == f;
            }
            if (fit_and_score(d, y, train, test, o, c, &cv[c][f], err) != 0) goto done;
            mean.accuracy += cv[c][f].accuracy / k;
            mean.logloss += cv[c][f].logloss / k;
            mean.auc += cv[c][f].auc / k;
        }
        if (report)
            fprintf(report, "candidate %-5s cv accuracy=%.4f logloss=%.4f auc=%.4f\n", candidate_names[c],
                    mean.accuracy, mean.logloss, mean.auc);
        json_object_set_new(
            cands, candidate_names[c],
            json_pack("{s:f,s:f,s:f}", "accuracy", mean.accuracy, "logloss", mean.logloss, "auc", mean.auc));
    }
    /* nested: for outer fold f, choose by the mean over inner folds g != f of
     * a fit on the folds other than f and g */
    metrics est = {0};
    for (long f = 0; f < k; f++) {
        double best = INFINITY;
        int pick = 0;
        for (int c = 0; c < N_CANDIDATES; c++) {
            double ll = 0;
            for (long g = 0; g < k; g++) {
                if (g == f) continue;
                for (size_t r = 0; r < n; r++) {
                    train[r] = fold[r] != f && fold[r] != g;
                    test[r] = fold[r] == g;
                }
                metrics mt;
                if (fit_and_score(d, y, train, test, o, c, &mt, err) != 0) goto done;
                ll += mt.logloss / (double)(k - 1);
            }
            if (ll < best) {
                best = ll;
                pick = c;
            }
        }
        est.accuracy += cv[pick][f].accuracy / k; /* the pick, fitted on the folds other than f, on f */
        est.logloss += cv[pick][f].logloss / k;
        est.auc += cv[pick][f].auc / k;
        json_array_append_new(picks, json_string(candidate_names[pick]));
    }
    int chosen = 0;
    double best = INFINITY;
    for (int c = 0; c < N_CANDIDATES; c++) {
        double ll = json_real_value(json_object_get(json_object_get(cands, candidate_names[c]), "logloss"));
        if (ll < best) {
            best = ll;
            chosen = c;
        }
    }
    if (report) {
        fprintf(report,
                "nested cv accuracy=%.4f logloss=%.4f auc=%.4f (each fold's model chosen without it)\n",
                est.accuracy, est.logloss, est.auc);
        fprintf(report, "chosen: %s\n", candidate_names[chosen]);
    }
    json_object_set_new(nested, "accuracy", json_real(est.accuracy));
    json_object_set_new(nested, "logloss", json_real(est.logloss));
    json_object_set_new(nested, "auc", json_real(est.auc));
    json_object_set(nested, "picks", picks);
    train_options oc = *o;
    oc.kind = chosen == 0 ? TRAIN_MLP : chosen == 1 ? TRAIN_GBT : TRAIN_BLEND;
    if (!(m = train_fit(d, y, NULL, &oc, err))) goto done;
    json_object_set_new(m->metadata, "selection",
                        json_pack("{s:s,s:s,s:O,s:O,s:i,s:s}", "rule",
                                  "the candidate with the lowest cross-validated log-loss", "chosen",
                                  candidate_names[chosen], "candidates", cands, "nested_cv", nested, "k",
                                  (int)k, "fold_by",
                                  fold_col == TRAIN_FOLD_BY_ROW ? "(row index)" : d->names[fold_col]));
done:
    json_decref(cands);
    json_decref(nested);
    json_decref(picks);
    free(fold);
    free(train);
    free(test);
    return m;
}

/* ---- gradient-boosted trees straight from a CSV file -------------------- */

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
    gbt_metadata(model_builder_metadata(mb), &go, rounds, n);
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
