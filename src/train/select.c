/* select — cross-validation and --model auto's choice among the candidates (train.h). */
#define _POSIX_C_SOURCE 200809L
#include "train/train.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/numtext.h"
#include "base/progress.h"
#include "data/columns.h"
#include "data/score.h"
#include "train/evaluate.h"

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
