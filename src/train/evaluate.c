/* evaluate — evaluation measures; AUC by sorting (O(n log n)), ties averaged. */
#include "train/evaluate.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    float p, y;
} scored;

static int by_p(const void *a, const void *b)
{
    float x = ((const scored *)a)->p, z = ((const scored *)b)->p;
    return (x > z) - (x < z);
}

int metrics_compute(const float *p, const float *y, size_t n, metrics *out)
{
    double correct = 0, loss = 0, pos = 0;
    for (size_t i = 0; i < n; i++) {
        double q = fmin(fmax(p[i], 1e-15), 1 - 1e-15);
        correct += (p[i] >= 0.5f) == (y[i] > 0.5f);
        loss -= y[i] > 0.5f ? log(q) : log(1 - q);
        pos += y[i] > 0.5f;
    }
    out->rows = n;
    out->accuracy = n ? correct / n : 0;
    out->logloss = n ? loss / n : 0;
    out->auc = 0.5;
    double neg = (double)n - pos;
    if (pos == 0 || neg == 0) return 0;
    scored *s = malloc(n * sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < n; i++) s[i] = (scored){p[i], y[i]};
    qsort(s, n, sizeof *s, by_p);
    /* Mann-Whitney U: sum of the positives' ranks, tied groups get their mean rank */
    double rank_sum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double pos_in_group = 0;
        while (j < n && s[j].p == s[i].p) pos_in_group += s[j++].y > 0.5f;
        rank_sum += pos_in_group * ((double)(i + 1 + j) / 2.0);
        i = j;
    }
    out->auc = (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
    free(s);
    return 0;
}

void metrics_multiclass(const float *p, int k, const int *y, size_t n, double *accuracy, double *logloss)
{
    double correct = 0, loss = 0;
    for (size_t i = 0; i < n; i++) {
        const float *row = p + i * (size_t)k;
        int best = 0;
        for (int j = 1; j < k; j++)
            if (row[j] > row[best]) best = j;
        correct += best == y[i];
        loss -= log(fmax(row[y[i]], 1e-15));
    }
    *accuracy = n ? correct / n : 0;
    *logloss = n ? loss / n : 0;
}

void metrics_regression(const float *p, const double *y, size_t n, regression_metrics *out)
{
    double mean = 0, sse = 0, sst = 0, sae = 0;
    for (size_t i = 0; i < n; i++) mean += y[i] / n;
    for (size_t i = 0; i < n; i++) {
        double e = p[i] - y[i];
        sse += e * e;
        sae += fabs(e);
        sst += (y[i] - mean) * (y[i] - mean);
    }
    out->rows = n;
    out->rmse = n ? sqrt(sse / n) : 0;
    out->mae = n ? sae / n : 0;
    out->r2 = sst > 0 ? 1 - sse / sst : 0;
}
