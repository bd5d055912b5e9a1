/* evaluate — how good predictions are, by the model's task: accuracy, log-loss
 * and ROC AUC of probabilities against 0/1 labels (binary); accuracy and
 * log-loss of class probabilities (multiclass); RMSE, MAE and R^2 (regression). */
#ifndef TABSERVE_EVALUATE_H
#define TABSERVE_EVALUATE_H

#include <stddef.h>

typedef struct {
    double accuracy; /* threshold 0.5 */
    double logloss;  /* mean binary cross-entropy, p clipped to [1e-15, 1-1e-15] */
    double auc;      /* area under the ROC curve; ties count one half; 0.5 if one class is absent */
    size_t rows;
    double rmse, mae, r2; /* a regression's (the classifiers' figures are then unused) */
} metrics;

/* p (n,) probabilities, y (n,) labels. Returns 0, or -1 if memory runs out. */
int metrics_compute(const float *p, const float *y, size_t n, metrics *out);

/* p (n, k) class probabilities, y (n,) class indices: accuracy of the most
 * probable class (ties: the first), mean -log p[y] with p clipped to 1e-15. */
void metrics_multiclass(const float *p, int k, const int *y, size_t n, double *accuracy, double *logloss);

typedef struct {
    double rmse, mae, r2; /* r2 = 1 - SSE / SST; 0 when the labels are constant */
    size_t rows;
} regression_metrics;

/* p (n,) predictions, y (n,) targets. */
void metrics_regression(const float *p, const double *y, size_t n, regression_metrics *out);

#endif
