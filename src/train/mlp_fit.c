/* mlp_fit — the MLP ensemble: backpropagation, Adam, early stopping, members
 * placed side by side in one network (train/fit.h). The last layer and the
 * loss follow the task: one sigmoid unit and cross-entropy (two classes), a
 * unit a class and softmax cross-entropy (classes), one linear unit and half
 * the squared error on the standardized target (a regression). */
#define _POSIX_C_SOURCE 200809L
#include "train/fit.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/progress.h"
#include "data/score.h"
#include "estimators/linear.h"
#include "model/builder.h"
#include "train/evaluate.h"
#include "train/rng.h"

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
    train_task task;
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

static int work_init(grad_work *w, const mlp *m, int cap, train_task task)
{
    memset(w, 0, sizeof *w);
    w->task = task;
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

/* The loss of one row's last-layer outputs z (k,) against its label y (a
 * class index for classes), and its gradient in z into delta (k,), times 1/n. */
static double row_loss(train_task task, const float *z, const float *a, int k, float y, int n, float *delta)
{
    if (task == TASK_OF_BINARY) { /* BCE of sigmoid(z) written as softplus(z) - y z, stable for any z */
        delta[0] = (a[0] - y) / n;
        return (z[0] > 0 ? z[0] + log1p(exp(-z[0])) : log1p(exp(z[0]))) - y * z[0];
    }
    if (task == TASK_OF_REGRESSION) {
        delta[0] = (z[0] - y) / n;
        return 0.5 * (double)(z[0] - y) * (z[0] - y);
    }
    float top = z[0];
    for (int c = 1; c < k; c++) top = z[c] > top ? z[c] : top;
    double sum = 0;
    for (int c = 0; c < k; c++) sum += exp((double)z[c] - top);
    for (int c = 0; c < k; c++) delta[c] = (float)((exp((double)z[c] - top) / sum - (c == (int)y)) / n);
    return log(sum) + top - z[(int)y];
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
    int k = m->layers[last].n_out;
    double loss = 0;
    for (int r = 0; r < n; r++)
        loss += row_loss(w->task, w->z[last] + (size_t)r * k, w->a[last] + (size_t)r * k, k, y[r], n,
                         w->delta + (size_t)r * k);
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
    if (work_init(&w, m, n, TASK_OF_BINARY) == 0) loss = loss_grad(m, &w, x, y, n, l2, grad);
    work_free(&w, m->n_layers);
    return loss;
}

/* An MLP of the options' hidden widths (times `members`) on n_features inputs,
 * ending in the task's units: one sigmoid (the network trains on the
 * probability), one linear unit a class, or one linear unit. */
static mlp *new_network(int n_features, const train_options *o, int members)
{
    int widths[TRAIN_MAX_HIDDEN + 2];
    activation acts[TRAIN_MAX_HIDDEN + 1];
    widths[0] = n_features;
    for (int i = 0; i < o->n_hidden; i++) {
        widths[i + 1] = o->hidden[i] * members;
        acts[i] = o->hidden_act;
    }
    train_task task = train_task_of(o);
    widths[o->n_hidden + 1] = task == TASK_OF_MULTICLASS ? o->n_classes : 1;
    acts[o->n_hidden] = task == TASK_OF_BINARY ? ACT_SIGMOID : ACT_LINEAR;
    return mlp_create(widths, acts, (size_t)o->n_hidden + 1);
}

static void put_hyperparameters(json_t *meta, const train_options *o, int members, int epochs_run,
                                size_t rows)
{
    json_t *hp = json_object(), *hidden = json_array();
    for (int i = 0; i < o->n_hidden; i++) json_array_append_new(hidden, json_integer(o->hidden[i]));
    json_object_set_new(hp, "hidden", hidden);
    json_object_set_new(hp, "hidden_activation", json_string(activation_name(o->hidden_act)));
    json_object_set_new(hp, "optimizer", json_string("adam"));
    train_task task = train_task_of(o);
    json_object_set_new(hp, "loss",
                        json_string(task == TASK_OF_BINARY       ? "binary_crossentropy"
                                    : task == TASK_OF_MULTICLASS ? "softmax_crossentropy"
                                                                 : "squared_error"));
    json_object_set_new(hp, "learning_rate", json_real(o->lr));
    json_object_set_new(hp, "l2", json_real(o->l2));
    json_object_set_new(hp, "batch_size", json_integer(o->batch));
    json_object_set_new(hp, "max_epochs", json_integer(o->epochs));
    json_object_set_new(hp, "patience", json_integer(o->patience));
    json_object_set_new(hp, "validation_fraction", json_real(o->val_fraction));
    json_object_set_new(hp, "ensemble", json_integer(members));
    json_object_set_new(hp, "mean_epochs_run", json_integer(epochs_run));
    json_object_set_new(hp, "auto_features", json_boolean(o->auto_features));
    train_metadata(meta, rows, hp);
    json_object_set_new(meta, "seed", json_integer((json_int_t)o->seed));
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

/* The validation rows' loss: log-loss of the probabilities (two classes), of
 * the softmax of the k outputs (classes), the mean squared error (a regression). */
static double validation_loss(train_task task, const float *out, const float *y, size_t n, int k)
{
    double loss = 0;
    if (task == TASK_OF_BINARY) {
        metrics mv;
        metrics_compute(out, y, n, &mv);
        return mv.logloss;
    }
    for (size_t r = 0; r < n; r++) {
        const float *z = out + r * (size_t)k;
        if (task == TASK_OF_REGRESSION) {
            loss += (double)(z[0] - y[r]) * (z[0] - y[r]);
            continue;
        }
        float top = z[0];
        for (int c = 1; c < k; c++) top = z[c] > top ? z[c] : top;
        double sum = 0;
        for (int c = 0; c < k; c++) sum += exp((double)z[c] - top);
        loss += log(sum) + top - z[(int)y[r]];
    }
    return n ? loss / (double)n : 0;
}

/* Adam on the rows fit (n_fit,) of x (., F); keeps the weights of the epoch with the
 * lowest validation loss on the rows val (n_val,). Returns the number of epochs run. */
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
        double vloss = validation_loss(b->w.task, b->pv, yv, n_val, m->layers[m->n_layers - 1].n_out);
        if (vloss < best_loss - 1e-6) {
            best_loss = vloss;
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
 * last layer to the output's link (the same arithmetic; softmax is the link
 * of classes already), and a network with no hidden layer becomes a linear
 * predictor. */
static predictor *as_predictor(mlp *e)
{
    e->layers[e->n_layers - 1].act = ACT_LINEAR;
    if (e->n_layers > 1) return &e->base;
    predictor *lin = linear_create(e->base.n_features, e->layers[0].n_out, e->layers[0].w, e->layers[0].b);
    predictor_free(&e->base);
    return lin;
}

model *train_fit_mlp(const dataset *d, const float *y, const unsigned char *use, const train_options *o,
                     char *err)
{
    uint64_t rng = o->seed;
    int members = o->ensemble > 0 ? o->ensemble : 1;
    mlp *net = NULL, *e = NULL;
    fit_buffers b = {0};
    size_t *idx = NULL, *fit = NULL;
    float *x = NULL, *yy = NULL;
    model_builder *mb = train_fit_inputs(d, use, o, err);
    if (!mb) return NULL;
    const model *m = model_builder_view(mb);
    model *fitted = NULL;
    size_t F = (size_t)m->n_features;
    train_task task = train_task_of(o);
    size_t K = task == TASK_OF_MULTICLASS ? (size_t)o->n_classes : 1;
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
    b.pv = malloc(d->n_rows * K * sizeof *b.pv);
    b.scratch = malloc((d->n_rows * (F + 1) + mlp_scratch_floats(net, (int)d->n_rows)) * sizeof *b.scratch);
    if (!idx || !fit || !x || !yy || !b.grad || !b.best || !b.m1 || !b.m2 || !b.bx || !b.by || !b.pv ||
        !b.scratch || work_init(&b.w, net, o->batch, task) != 0) {
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
    /* a regression trains on the standardized target; the last layer undoes it */
    double y_mean = 0, y_sd = 1;
    if (task == TASK_OF_REGRESSION && n > 0) {
        double ss = 0;
        for (size_t i = 0; i < n; i++) y_mean += yy[i] / (double)n;
        for (size_t i = 0; i < n; i++) ss += (yy[i] - y_mean) * (yy[i] - y_mean);
        y_sd = ss > 0 ? sqrt(ss / (double)n) : 1;
        for (size_t i = 0; i < n; i++) yy[i] = (float)((yy[i] - y_mean) / y_sd);
    }

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
    if (task == TASK_OF_REGRESSION) {
        mlp_layer *out = &e->layers[e->n_layers - 1];
        for (int i = 0; i < out->n_in; i++) out->w[i] = (float)(out->w[i] * y_sd);
        out->b[0] = (float)(out->b[0] * y_sd + y_mean);
    }
    put_hyperparameters(model_builder_metadata(mb), o, members, epochs_run / members, n);
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
