/* metrics — accuracy, log-loss and ROC AUC of probabilities against 0/1 labels. */
#ifndef TABSERVE_METRICS_H
#define TABSERVE_METRICS_H

#include <stddef.h>

typedef struct {
    double accuracy; /* threshold 0.5 */
    double logloss;  /* mean binary cross-entropy, p clipped to [1e-15, 1-1e-15] */
    double auc;      /* area under the ROC curve; ties count one half; 0.5 if one class is absent */
    size_t rows;
} metrics;

/* p (n,) probabilities, y (n,) labels. Returns 0, or -1 if memory runs out. */
int metrics_compute(const float *p, const float *y, size_t n, metrics *out);

#endif
