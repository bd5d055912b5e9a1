/* linear_fit — the linear models on the MLP's inputs (train/fit.h): ridge
 * regression in closed form, and multinomial logistic regression by Adam. */
#define _POSIX_C_SOURCE 200809L
#include "train/fit.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "data/score.h"
#include "estimators/linear.h"
#include "model/builder.h"

/* Multinomial logistic regression (--model linear with three or more
 * classes) on the MLP's inputs (imputed, standardized, one-hot): the mean
 * cross-entropy plus scikit-learn's default penalty, |W|^2 / (2 n), minimized
 * by full-batch Adam; the convex loss is run down until it stops moving. */
model *train_fit_softmax(const dataset *d, const float *y, const unsigned char *use, const train_options *o,
                         char *err)
{
    model_builder *mb = train_fit_inputs(d, use, o, err);
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
    model_builder_set_predictor(mb, lin); /* the output, the classes' (train_fit_inputs) */
    train_metadata(model_builder_metadata(mb), n,
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

/* Ridge regression (--model linear for a regression) on the MLP's inputs
 * (imputed, standardized, one-hot): the least squares of the centred rows plus
 * alpha |w|^2, alpha 1 as scikit-learn's Ridge, the intercept unpenalized,
 * solved in closed form (the normal equations by Cholesky, in doubles). */
model *train_fit_ridge(const dataset *d, const float *y, const unsigned char *use, const train_options *o,
                       char *err)
{
    const double alpha = 1.0;
    model_builder *mb = train_fit_inputs(d, use, o, err);
    if (!mb) return NULL;
    const model *m = model_builder_view(mb);
    model *fitted = NULL;
    size_t F = (size_t)m->n_features, n = 0;
    float *x = malloc((d->n_rows ? d->n_rows : 1) * F * sizeof *x), *wf = malloc((F + 1) * sizeof *wf);
    double *yy = malloc((d->n_rows ? d->n_rows : 1) * sizeof *yy), *mean = calloc(F + 1, sizeof *mean),
           *a = calloc(F * F + 1, sizeof *a), *b = calloc(F + 1, sizeof *b);
    if (!x || !wf || !yy || !mean || !a || !b) {
        err_set(err, "out of memory");
        goto fail;
    }
    double ybar = 0;
    for (size_t r = 0; r < d->n_rows; r++) {
        if (use && !use[r]) continue;
        if (score_encode_row(m, d, r, 1, x + n * F, err) != 0) goto fail;
        yy[n] = y[r];
        ybar += y[r];
        n++;
    }
    if (n == 0) {
        err_set(err, "no rows to fit");
        goto fail;
    }
    ybar /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < F; j++) mean[j] += x[i * F + j] / (double)n;
    /* a = Xc^T Xc + alpha I, b = Xc^T yc (Xc, yc: centred) */
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * F;
        for (size_t j = 0; j < F; j++) {
            double cj = xi[j] - mean[j];
            b[j] += cj * (yy[i] - ybar);
            for (size_t k = 0; k <= j; k++) a[j * F + k] += cj * (xi[k] - mean[k]);
        }
    }
    for (size_t j = 0; j < F; j++) a[j * F + j] += alpha;
    /* Cholesky a = L L^T in the lower triangle (positive definite: alpha > 0) */
    for (size_t j = 0; j < F; j++) {
        for (size_t k = 0; k < j; k++) a[j * F + j] -= a[j * F + k] * a[j * F + k];
        double djj = sqrt(a[j * F + j]);
        a[j * F + j] = djj;
        for (size_t i = j + 1; i < F; i++) {
            for (size_t k = 0; k < j; k++) a[i * F + j] -= a[i * F + k] * a[j * F + k];
            a[i * F + j] /= djj;
        }
    }
    for (size_t i = 0; i < F; i++) { /* L z = b, then L^T w = z, in place in b */
        for (size_t k = 0; k < i; k++) b[i] -= a[i * F + k] * b[k];
        b[i] /= a[i * F + i];
    }
    for (size_t i = F; i-- > 0;) {
        for (size_t k = i + 1; k < F; k++) b[i] -= a[k * F + i] * b[k];
        b[i] /= a[i * F + i];
    }
    double intercept = ybar;
    for (size_t j = 0; j < F; j++) {
        wf[j] = (float)b[j];
        intercept -= b[j] * mean[j];
    }
    wf[F] = (float)intercept;
    predictor *lin = linear_create((int)F, 1, wf, wf + F);
    if (!lin) {
        err_set(err, "out of memory");
        goto fail;
    }
    model_builder_set_predictor(mb, lin); /* the output, a value (train_fit_inputs) */
    train_metadata(
        model_builder_metadata(mb), n,
        json_pack("{s:s,s:s,s:f}", "model", "linear", "loss", "squared error (ridge)", "alpha", alpha));
    fitted = model_builder_finish(mb, err);
    mb = NULL;
fail:
    model_builder_free(mb);
    free(x);
    free(wf);
    free(yy);
    free(mean);
    free(a);
    free(b);
    return fitted;
}
