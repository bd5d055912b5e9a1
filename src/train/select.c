/* select — cross-validation and --model auto's choice among the candidates (train.h). */
#define _POSIX_C_SOURCE 200809L
#include "train/train.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/numtext.h"
#include "base/progress.h"
#include "data/columns.h"
#include "data/score.h"
#include "train/evaluate.h"
#include "train/rng.h"

/* ---- how good a model is, by its task ------------------------------------ */

static json_t *metrics_json(train_task task, const metrics *mt)
{
    json_t *o = json_object();
    if (task == TASK_OF_REGRESSION) {
        json_object_set_new(o, "r2", json_real(mt->r2));
        json_object_set_new(o, "rmse", json_real(mt->rmse));
        json_object_set_new(o, "mae", json_real(mt->mae));
    } else {
        json_object_set_new(o, "accuracy", json_real(mt->accuracy));
        json_object_set_new(o, "logloss", json_real(mt->logloss));
        if (task == TASK_OF_BINARY) json_object_set_new(o, "auc", json_real(mt->auc));
    }
    json_object_set_new(o, "rows", json_integer((json_int_t)mt->rows));
    return o;
}

/* "accuracy=... logloss=... auc=..." (two classes; classes without auc), or "r2=... rmse=... mae=...". */
static void metrics_print(FILE *f, train_task task, const metrics *mt)
{
    if (task == TASK_OF_REGRESSION)
        fprintf(f, "r2=%.4f rmse=%.4g mae=%.4g", mt->r2, mt->rmse, mt->mae);
    else if (task == TASK_OF_MULTICLASS)
        fprintf(f, "accuracy=%.4f logloss=%.4f", mt->accuracy, mt->logloss);
    else
        fprintf(f, "accuracy=%.4f logloss=%.4f auc=%.4f", mt->accuracy, mt->logloss, mt->auc);
}

/* What the choice among models minimizes: log-loss, or the squared error. */
static double selection_loss(train_task task, const metrics *mt)
{
    return task == TASK_OF_REGRESSION ? mt->rmse * mt->rmse : mt->logloss;
}

/* sum += mt / k, figure by figure (a mean over k folds; divided, not multiplied
 * by 1/k, so that the figures written are those of earlier versions to the bit) */
static void metrics_add(metrics *sum, const metrics *mt, double k)
{
    sum->accuracy += mt->accuracy / k;
    sum->logloss += mt->logloss / k;
    sum->auc += mt->auc / k;
    sum->rmse += mt->rmse / k;
    sum->mae += mt->mae / k;
    sum->r2 += mt->r2 / k;
    sum->rows += mt->rows;
}

/* m scored on the rows r of d with use[r] == want, against their labels y. 0, or -1 with err. */
static int measure(const model *m, const dataset *d, const float *y, const unsigned char *use, int want,
                   const train_options *o, metrics *mt, char *err)
{
    train_task task = train_task_of(o);
    size_t K = task == TASK_OF_MULTICLASS ? (size_t)o->n_classes : 1, n = 0;
    float *p = malloc((d->n_rows + 1) * K * sizeof *p), *yt = malloc((d->n_rows + 1) * sizeof *yt);
    int *cls = malloc((d->n_rows + 1) * sizeof *cls);
    double *target = malloc((d->n_rows + 1) * sizeof *target);
    long scored = -1;
    if (!p || !yt || !cls || !target)
        err_set(err, "out of memory");
    else
        scored = score_dataset(m, d, 1, use, want, p, err);
    for (size_t r = 0; scored >= 0 && r < d->n_rows; r++)
        if (!use || use[r] == want) cls[n] = (int)y[r], target[n] = y[r], yt[n++] = y[r];
    memset(mt, 0, sizeof *mt);
    if (scored >= 0) {
        mt->rows = (size_t)scored;
        mt->auc = NAN;
        if (task == TASK_OF_REGRESSION) {
            regression_metrics rm;
            metrics_regression(p, target, (size_t)scored, &rm);
            mt->rmse = rm.rmse, mt->mae = rm.mae, mt->r2 = rm.r2;
        } else if (task == TASK_OF_MULTICLASS) {
            metrics_multiclass(p, (int)K, cls, (size_t)scored, &mt->accuracy, &mt->logloss);
        } else if (metrics_compute(p, yt, (size_t)scored, mt) != 0) {
            scored = err_set(err, "out of memory");
        }
    }
    free(p);
    free(yt);
    free(cls);
    free(target);
    return scored < 0 ? -1 : 0;
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
    train_task task = train_task_of(o);
    unsigned char *in_fold = malloc(d->n_rows), *train_rows = malloc(d->n_rows);
    json_t *folds = json_array(), *result = NULL;
    metrics sum = {0};
    if (!in_fold || !train_rows || !folds) {
        err_set(err, "out of memory");
        goto done;
    }
    if (folds_of(d, fold_col, k, in_fold, err) != 0) goto done;
    for (long f = 0; f < k; f++) {
        for (size_t r = 0; r < d->n_rows; r++) train_rows[r] = in_fold[r] != f;
        double t0 = clock_seconds();
        model *m = train_fit(d, y, train_rows, o, err);
        double fit = clock_seconds() - t0;
        metrics mt;
        int rc = m ? measure(m, d, y, train_rows, 0, o, &mt, err) : -1;
        model_free(m);
        if (rc != 0) goto done;
        if (report) {
            fprintf(report, "fold %ld: rows=%zu ", f, mt.rows);
            metrics_print(report, task, &mt);
            fprintf(report, " fit=%.3fs\n", fit);
        }
        metrics_add(&sum, &mt, (double)k);
        json_t *fj = metrics_json(task, &mt);
        json_object_set_new(fj, "fold", json_integer(f));
        json_array_append_new(folds, fj);
    }
    if (report) {
        fprintf(report, "cv ");
        metrics_print(report, task, &sum);
        fprintf(report, "\n");
    }
    if (mean) *mean = sum;
    json_t *figures = metrics_json(task, &sum);
    json_object_del(figures, "rows");
    result = json_object();
    json_object_set_new(result, "k", json_integer(k));
    json_object_set_new(result, "fold_by",
                        json_string(fold_col == TRAIN_FOLD_BY_ROW ? "(row index)" : d->names[fold_col]));
    json_object_set_new(result, "fold_rule",
                        json_string(fold_col == TRAIN_FOLD_BY_ROW
                                        ? "fold = row index (from 0) mod k; metrics are the mean over folds"
                                        : "fold = value mod k; metrics are the mean over folds"));
    json_object_update(result, figures);
    json_decref(figures);
    json_object_set(result, "folds", folds);
done:
    json_decref(folds);
    free(in_fold);
    free(train_rows);
    return result;
}

json_t *train_held_out(const dataset *d, const float *y, double fraction, const train_options *o,
                       FILE *report, char *err)
{
    train_task task = train_task_of(o);
    size_t n = d->n_rows, *order = malloc((n + 1) * sizeof *order);
    unsigned char *train_rows = malloc(n + 1);
    json_t *result = NULL;
    if (!order || !train_rows) {
        err_set(err, "out of memory");
        goto done;
    }
    /* a seeded shuffle; the first `fraction` of it is held out */
    uint64_t rng = o->seed ^ 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) order[i] = i;
    rng_shuffle(order, n, &rng);
    size_t held = (size_t)((double)n * fraction);
    if (held < 1) held = 1;
    for (size_t i = 0; i < n; i++) train_rows[order[i]] = i >= held;
    model *m = train_fit(d, y, train_rows, o, err);
    metrics mt;
    int rc = m ? measure(m, d, y, train_rows, 0, o, &mt, err) : -1;
    model_free(m);
    if (rc != 0) goto done;
    if (report) {
        fprintf(report, "held out %zu of %zu rows (%.0f%%, seeded): ", mt.rows, n, fraction * 100);
        metrics_print(report, task, &mt);
        fprintf(report, "\n");
    }
    result = metrics_json(task, &mt);
    json_object_set_new(
        result, "rule",
        json_string("a seeded shuffle of the rows; the model fitted on the rest, scored on these"));
    json_object_set_new(result, "fraction", json_real(fraction));
    json_object_set_new(result, "seed", json_integer((json_int_t)o->seed));
done:
    free(order);
    free(train_rows);
    return result;
}

/* --model auto's candidates: the MLP ensemble (with the options' activation, and
 * with tanh: a smooth unit often fits small tables better, and which one does
 * is a property of the data that the folds measure), the trees and their blend;
 * the linear model too where the label is not two classes. */
typedef struct {
    const char *name;
    train_kind kind;
    int linear; /* no hidden layers */
    int tanh;   /* hidden units tanh, whatever the options say */
} candidate_spec;

static const candidate_spec candidate_table[] = {
    {"mlp", TRAIN_MLP, 0, 0},     {"mlp-tanh", TRAIN_MLP, 0, 1}, {"gbt", TRAIN_GBT, 0, 0},
    {"blend", TRAIN_BLEND, 0, 0}, {"linear", TRAIN_MLP, 1, 0},
};
#define N_CANDIDATES ((int)(sizeof candidate_table / sizeof candidate_table[0]))

/* The candidates for these options, into ids (indices of candidate_table). */
static int candidates_of(const train_options *o, int *ids)
{
    int n = 0;
    for (int c = 0; c < N_CANDIDATES; c++) {
        const candidate_spec *cs = &candidate_table[c];
        if (cs->tanh && o->hidden_act == ACT_TANH) continue; /* already the first */
        if (cs->linear && train_task_of(o) == TASK_OF_BINARY) continue;
        ids[n++] = c;
    }
    return n;
}

/* --model auto's nested estimate is made up to this many rows. */
#define AUTO_NESTED_MAX_ROWS 10000

static train_options candidate(const train_options *o, int id)
{
    const candidate_spec *cs = &candidate_table[id];
    train_options oc = *o;
    oc.kind = cs->kind;
    if (cs->linear) oc.n_hidden = 0;
    if (cs->tanh) oc.hidden_act = ACT_TANH;
    return oc;
}

/* Fits candidate c on the rows in train and scores the rows in test into mt. */
static int fit_and_score(const dataset *d, const float *y, const unsigned char *train,
                         const unsigned char *test, const train_options *o, int c, metrics *mt, char *err)
{
    train_options oc = candidate(o, c);
    model *m = train_fit(d, y, train, &oc, err);
    if (!m) return -1;
    int rc = measure(m, d, y, test, 1, &oc, mt, err);
    model_free(m);
    return rc;
}

model *train_auto(const dataset *d, const float *y, size_t fold_col, long k, const train_options *o,
                  FILE *report, char *err)
{
    train_task task = train_task_of(o);
    int ids[N_CANDIDATES];
    int n_cand = candidates_of(o, ids);
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
    metrics cv[N_CANDIDATES][64], mean[N_CANDIDATES];
    for (int c = 0; c < n_cand; c++) {
        memset(&mean[c], 0, sizeof mean[c]);
        for (long f = 0; f < k; f++) {
            progress_step(o->progress, "candidate folds", c * k + f + 1, n_cand * k);
            for (size_t r = 0; r < n; r++) {
                train[r] = fold[r] != f;
                test[r] = fold[r] == f;
            }
            if (fit_and_score(d, y, train, test, o, ids[c], &cv[c][f], err) != 0) goto done;
            metrics_add(&mean[c], &cv[c][f], (double)k);
        }
        if (report) {
            fprintf(report, "candidate %-8s cv ", candidate_table[ids[c]].name);
            metrics_print(report, task, &mean[c]);
            fprintf(report, "\n");
        }
        json_t *cj = metrics_json(task, &mean[c]);
        json_object_del(cj, "rows");
        json_object_set_new(cands, candidate_table[ids[c]].name, cj);
    }
    /* nested: for outer fold f, choose by the mean over inner folds g != f of
     * a fit on the folds other than f and g. It fits each candidate k (k - 1)
     * more times: on large data it is left out (32,000 rows: 4 min with it) */
    metrics est = {0};
    int nested_run = n <= AUTO_NESTED_MAX_ROWS;
    for (long f = 0; nested_run && f < k; f++) {
        double best = INFINITY;
        int pick = 0;
        for (int c = 0; c < n_cand; c++) {
            progress_step(o->progress, "nested folds", f * n_cand + c + 1, k * n_cand);
            double loss = 0;
            for (long g = 0; g < k; g++) {
                if (g == f) continue;
                for (size_t r = 0; r < n; r++) {
                    train[r] = fold[r] != f && fold[r] != g;
                    test[r] = fold[r] == g;
                }
                metrics mt;
                if (fit_and_score(d, y, train, test, o, ids[c], &mt, err) != 0) goto done;
                loss += selection_loss(task, &mt) / (double)(k - 1);
            }
            if (loss < best) {
                best = loss;
                pick = c;
            }
        }
        metrics_add(&est, &cv[pick][f], (double)k); /* the pick, fitted on the folds other than f, on f */
        json_array_append_new(picks, json_string(candidate_table[ids[pick]].name));
    }
    int chosen = 0;
    for (int c = 1; c < n_cand; c++)
        if (selection_loss(task, &mean[c]) < selection_loss(task, &mean[chosen])) chosen = c;
    if (report && nested_run) {
        fprintf(report, "nested cv ");
        metrics_print(report, task, &est);
        fprintf(report, " (each fold's model chosen without it)\n");
    } else if (report) {
        fprintf(report, "nested cv not run: %zu rows, over %d (it fits each candidate %ld more times)\n", n,
                AUTO_NESTED_MAX_ROWS, k * (k - 1));
    }
    if (report) fprintf(report, "chosen: %s\n", candidate_table[ids[chosen]].name);
    if (nested_run) {
        json_t *ej = metrics_json(task, &est);
        json_object_del(ej, "rows");
        json_object_update(nested, ej);
        json_decref(ej);
        json_object_set(nested, "picks", picks);
    } else {
        json_object_set_new(nested, "not_run", json_sprintf("%zu rows, over %d", n, AUTO_NESTED_MAX_ROWS));
    }
    train_options oc = candidate(o, ids[chosen]);
    if (!(m = train_fit(d, y, NULL, &oc, err))) goto done;
    json_object_set_new(
        m->metadata, "selection",
        json_pack("{s:s,s:s,s:O,s:O,s:i,s:s}", "rule",
                  task == TASK_OF_REGRESSION ? "the candidate with the lowest cross-validated squared error"
                                             : "the candidate with the lowest cross-validated log-loss",
                  "chosen", candidate_table[ids[chosen]].name, "candidates", cands, "nested_cv", nested, "k",
                  (int)k, "fold_by", fold_col == TRAIN_FOLD_BY_ROW ? "(row index)" : d->names[fold_col]));
done:
    json_decref(cands);
    json_decref(nested);
    json_decref(picks);
    free(fold);
    free(train);
    free(test);
    return m;
}
