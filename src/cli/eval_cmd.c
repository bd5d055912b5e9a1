/* eval_cmd — `tabserve eval`: a model scored against a labelled CSV. */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/numtext.h"
#include "data/dataset.h"
#include "data/score.h"
#include "formats/default_model.h"
#include "formats/open.h"
#include "model/encode.h"
#include "model/model.h"
#include "train/evaluate.h"

/* ---- eval --------------------------------------------------------------- */

/* The one line eval prints, by the model's task; labels are column 0 of d. */
static int eval_report(const model *m, const dataset *d, const float *p, char *err)
{
    size_t n = d->n_rows;
    if (m->output.task == TASK_BINARY) {
        float *y = malloc((n + 1) * sizeof *y);
        metrics mt;
        if (!y || dataset_labels(d, 0, 1, y, err) != 0 || metrics_compute(p, y, n, &mt) != 0) {
            if (!y) err_set(err, "out of memory");
            free(y);
            return -1;
        }
        printf("accuracy=%.4f logloss=%.4f auc=%.4f rows=%zu\n", mt.accuracy, mt.logloss, mt.auc, mt.rows);
        free(y);
        return 0;
    }
    double *target = malloc((n + 1) * sizeof *target);
    int *cls = malloc((n + 1) * sizeof *cls);
    int rc = target && cls ? 0 : err_set(err, "out of memory");
    for (size_t r = 0; rc == 0 && r < n; r++) {
        const char *s = dataset_cell(d, r, 0);
        if (m->output.task == TASK_REGRESSION) {
            if (!s || parse_finite_double(s, strlen(s), &target[r]) != 0)
                rc = err_set(err, "%s: row %zu: column %s: the target must be a finite number, got \"%.40s\"",
                             d->path, r + 1, d->names[0], s ? s : "");
            continue;
        }
        cls[r] = -1;
        for (size_t j = 0; s && j < m->output.n_classes; j++)
            if (strcmp(s, m->output.classes[j]) == 0) cls[r] = (int)j;
        if (cls[r] < 0)
            rc = err_set(err, "%s: row %zu: column %s: \"%.40s\" is not one of the model's classes", d->path,
                         r + 1, d->names[0], s ? s : "");
    }
    if (rc == 0 && m->output.task == TASK_REGRESSION) {
        regression_metrics rm;
        metrics_regression(p, target, n, &rm);
        printf("rmse=%.6g mae=%.6g r2=%.4f rows=%zu\n", rm.rmse, rm.mae, rm.r2, rm.rows);
    } else if (rc == 0) {
        double acc, loss;
        metrics_multiclass(p, m->n_outputs, cls, n, &acc, &loss);
        printf("accuracy=%.4f logloss=%.4f rows=%zu\n", acc, loss, n);
    }
    free(target);
    free(cls);
    return rc;
}

static const char eval_usage[] =
    "usage: tabserve eval [MODEL] DATA.csv --label COL [options]\n"
    "  MODEL        a model file [the built-in model]\n"
    "  DATA.csv     rows with the model's inputs by name and the truth\n"
    "  --label COL  the column holding the truth (required): accuracy, log-loss and AUC for two\n"
    "               classes, accuracy and log-loss for classes, RMSE, MAE and R^2 for a regression\n";

int cmd_eval(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(eval_usage, stdout);
        fputs(cli_load_help, stdout);
        return 0;
    }
    const char *pos[2] = {NULL, NULL}, *label = NULL, *v = NULL;
    load_options lo = LOAD_OPTIONS_DEFAULT;
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        int r = cli_option(argc, argv, &i, "--label", &v), was_label = r > 0;
        if (r == 0) r = cli_load_option(argc, argv, &i, &lo);
        if (r < 0) return 2;
        if (r > 0 && was_label)
            label = v;
        else if (r > 0)
            continue;
        else if (argv[i][0] == '-' || npos == 2) {
            fprintf(stderr,
                    "usage: tabserve eval [MODEL] DATA.csv --label COL [--schema F] [--max-trees N ...]\n");
            return 2;
        } else
            pos[npos++] = argv[i];
    }
    if (npos == 0) {
        fprintf(stderr,
                "usage: tabserve eval [MODEL] DATA.csv --label COL [--schema F] [--max-trees N ...]\n");
        return 2;
    }
    const char *model_path = npos == 2 ? pos[0] : NULL, *data = pos[npos - 1];
    char err[ERR_LEN];
    int rc = 1;
    model *m = model_open(model_path, lo.schema_path, &lo.limits, err);
    dataset *d = NULL;
    float *p = NULL;
    const char **cols = NULL;
    if (!m) goto fail;
    if (m->output.task == TASK_REGRESSION && output_width(&m->output) > 1) {
        err_set(err,
                "this model answers %d targets a row; eval measures one label column (predict writes "
                "them all)",
                output_width(&m->output));
        goto fail;
    }
    if (!label) label = m->output.label;
    size_t n_in = m->schema.n_inputs;
    if (!(cols = calloc(n_in + 1, sizeof *cols))) goto fail;
    cols[0] = label;
    for (size_t i = 0; i < n_in; i++) cols[i + 1] = m->schema.inputs[i].name;
    if (!(d = dataset_load(data, cols, n_in + 1, err))) goto fail;
    if (!(p = malloc((d->n_rows + 1) * (size_t)m->n_outputs * sizeof *p))) goto fail;
    if (score_dataset(m, d, 1, NULL, 0, p, err) < 0) goto fail;
    if (eval_report(m, d, p, err) != 0) goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "tabserve eval: %s\n", err);
done:
    free(cols);
    free(p);
    dataset_free(d);
    model_free(m);
    return rc;
}
