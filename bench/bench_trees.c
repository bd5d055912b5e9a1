/* bench_trees — imported models against their own runtimes.
 *
 *   bench_trees DIR
 *     tree ensembles from XGBoost against XGBoost itself (Debian's libxgboost
 *     1.7.4 C API, XGBoosterPredictFromDense, one thread), on the same files
 *     and rows, in alternating rounds; medians: batch scoring per row at batch
 *     1024 and 20000, one JSON object -> probability, loading the file.
 *     DIR holds xgb_50x4.json, xgb_500x8.json, bench_rows.csv
 *     (tests/oracles/make_xgboost.py --big).
 *
 *   bench_trees --one MODEL ROWS.csv BATCH ROUNDS [SAVED.json]
 *     one round set for bench/onnx.sh, which alternates it with ONNX Runtime
 *     (tests/oracles/ort_predict.js --bench) and prints the ratios: a JSON line
 *     {load_ms, ns_per_row, one_row_ns}; with SAVED.json, the same model
 *     re-saved in tabserve's format and its figures as "native_*". */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

#include "base/clock.h"
#include "base/err.h"
#include "explain/explain.h"
#include "formats/open.h"
#include "model/encode.h"
#include "model/model.h"
#include "formats/tabserve.h"

#define ROUNDS 7

static double now_ns(void) { return (double)clock_ns(); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static float *read_rows(const char *path, int n_features, int *n_rows)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char line[8192];
    if (!fgets(line, sizeof line, f)) return NULL;
    size_t cap = 1024, n = 0;
    float *x = malloc(cap * n_features * sizeof *x);
    while (fgets(line, sizeof line, f)) {
        if (n == cap) x = realloc(x, (cap *= 2) * n_features * sizeof *x);
        char *p = line;
        for (int j = 0; j < n_features; j++) {
            x[n * n_features + j] = strtof(p, &p);
            if (*p == ',') p++;
        }
        n++;
    }
    fclose(f);
    *n_rows = (int)n;
    return x;
}

static BoosterHandle xgb_load(const char *path)
{
    BoosterHandle b;
    if (XGBoosterCreate(NULL, 0, &b) != 0 || XGBoosterLoadModel(b, path) != 0) return NULL;
    XGBoosterSetParam(b, "nthread", "1");
    return b;
}

static const float *xgb_predict_type(BoosterHandle b, const float *x, int n, int nf, int type)
{
    char values[256];
    snprintf(values, sizeof values,
             "{\"data\": [%llu, true], \"shape\": [%d, %d], \"typestr\": \"<f4\", \"version\": 3}",
             (unsigned long long)(uintptr_t)x, n, nf);
    char config[256];
    snprintf(config, sizeof config,
             "{\"type\": %d, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
             "\"strict_shape\": false, \"missing\": NaN, \"cache_id\": 0}",
             type);
    const bst_ulong *shape;
    bst_ulong dim;
    const float *out;
    if (XGBoosterPredictFromDense(b, values, config, NULL, &shape, &dim, &out) != 0) {
        fprintf(stderr, "xgboost: %s\n", XGBGetLastError());
        exit(1);
    }
    return out;
}

static const float *xgb_predict(BoosterHandle b, const float *x, int n, int nf)
{
    return xgb_predict_type(b, x, n, nf, 0);
}

/* Explanations: tabserve's TreeSHAP (explain_row) against XGBoost's pred_contribs,
 * per row over 1,024 rows, with the largest difference between them. */
static void bench_explain(const char *name, const model *m, BoosterHandle b, const float *rows, int n_rows,
                          int nf)
{
    int n = n_rows < 1024 ? n_rows : 1024;
    size_t ni = m->schema.n_inputs;
    double *contrib = malloc(ni * sizeof *contrib), margin, base, ts[ROUNDS], xs[ROUNDS], worst = 0;
    char err[ERR_LEN];
    explainer *ex = explainer_create(m, err); /* made once, as a server makes it at load */
    if (!ex) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    /* contributions need a DMatrix (in-place prediction gives none); made once, outside the timing */
    DMatrixHandle dm;
    if (XGDMatrixCreateFromMat(rows, (bst_ulong)n, (bst_ulong)nf, NAN, &dm) != 0) {
        fprintf(stderr, "xgboost: %s\n", XGBGetLastError());
        exit(1);
    }
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_ns();
        for (int i = 0; i < n; i++)
            if (explainer_row(ex, rows + (size_t)i * nf, &margin, &base, contrib, err) != 0) {
                fprintf(stderr, "%s\n", err);
                exit(1);
            }
        double t1 = now_ns();
        const char *config =
            "{\"type\": 2, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
            "\"strict_shape\": false}";
        const bst_ulong *shape;
        bst_ulong dim;
        const float *xo;
        if (XGBoosterPredictFromDMatrix(b, dm, config, &shape, &dim, &xo) != 0) {
            fprintf(stderr, "xgboost: %s\n", XGBGetLastError());
            exit(1);
        }
        double t2 = now_ns();
        ts[r] = (t1 - t0) / n / 1000;
        xs[r] = (t2 - t1) / n / 1000;
        explain_row(m, rows + (size_t)(n - 1) * nf, &margin, &base, contrib,
                    err); /* the last row against XGBoost's */
        for (size_t j = 0; j < ni; j++)
            worst = fmax(worst, fabs(contrib[j] - xo[(size_t)(n - 1) * (ni + 1) + j]));
        worst = fmax(worst, fabs(base - xo[(size_t)(n - 1) * (ni + 1) + ni]));
    }
    double a = median(ts, ROUNDS), x = median(xs, ROUNDS);
    printf("%-10s TreeSHAP         tabserve %8.2f us/row xgboost %8.2f us/row ratio %.3f  (max diff %.1e; "
           "targets <= 20 us, <= 0.5)\n",
           name, a, x, a / x, worst);
    XGDMatrixFree(dm);
    explainer_free(ex);
    free(contrib);
}

static void bench_model(const char *dir, const char *name, const float *rows, int n_rows, int nf)
{
    char path[1024], err[ERR_LEN];
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    double load_ts[ROUNDS], load_xgb[ROUNDS];
    model *m = NULL;
    BoosterHandle b = NULL;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_ns();
        model *mm = model_open(path, NULL, NULL, err);
        double t1 = now_ns();
        BoosterHandle bb = xgb_load(path);
        double t2 = now_ns();
        if (!mm || !bb) {
            fprintf(stderr, "%s: %s\n", path, mm ? "xgboost could not load it" : err);
            exit(1);
        }
        load_ts[r] = (t1 - t0) / 1e6;
        load_xgb[r] = (t2 - t1) / 1e6;
        if (r == ROUNDS - 1) {
            m = mm;
            b = bb;
        } else {
            model_free(mm);
            XGBoosterFree(bb);
        }
    }
    printf("%-10s load             tabserve %8.2f ms   xgboost %8.2f ms   ratio %.2f\n", name,
           median(load_ts, ROUNDS), median(load_xgb, ROUNDS),
           median(load_ts, ROUNDS) / median(load_xgb, ROUNDS));
    if (strcmp(name, "xgb_50x4") == 0) bench_explain(name, m, b, rows, n_rows, nf);

    static const int batches[] = {1024, 20000};
    for (int bi = 0; bi < 2; bi++) {
        int n = batches[bi] < n_rows ? batches[bi] : n_rows;
        model_batch mb;
        if (model_batch_init(&mb, m, n, err) != 0) exit(1);
        memcpy(mb.x, rows, (size_t)n * nf * sizeof *rows);
        double ts[ROUNDS], xs[ROUNDS], worst = 0;
        for (int r = 0; r < ROUNDS; r++) {
            double t0 = now_ns();
            model_batch_run(&mb, n);
            double t1 = now_ns();
            const float *xo = xgb_predict(b, rows, n, nf);
            double t2 = now_ns();
            ts[r] = (t1 - t0) / n;
            xs[r] = (t2 - t1) / n;
            for (int i = 0; i < n; i++) worst = fmax(worst, fabs(mb.y[i] - xo[i]));
        }
        double a = median(ts, ROUNDS), x = median(xs, ROUNDS);
        printf(
            "%-10s batch %-6d     tabserve %8.1f ns/row xgboost %8.1f ns/row ratio %.3f  (max diff %.1e)\n",
            name, n, a, x, a / x, worst);
        model_batch_free(&mb);
    }

    /* one JSON object -> probability */
    char obj[2048];
    size_t len = 0;
    len += (size_t)snprintf(obj + len, sizeof obj - len, "{");
    for (int j = 0; j < nf; j++)
        len += (size_t)snprintf(obj + len, sizeof obj - len, "%s\"f%d\": %.6g", j ? ", " : "", j, rows[j]);
    len += (size_t)snprintf(obj + len, sizeof obj - len, "}");
    float x1[64], y1[8], *scratch = malloc((model_scratch_floats(m, 1) + 1) * sizeof *scratch);
    double one[ROUNDS];
    int reps = 20000;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_ns();
        for (int i = 0; i < reps; i++) {
            if (encode_json_fast(m, obj, len, x1) != 0) exit(1);
            model_predict(m, x1, 1, scratch, y1);
        }
        one[r] = (now_ns() - t0) / reps;
    }
    printf("%-10s one JSON object  tabserve %8.0f ns\n", name, median(one, ROUNDS));
    free(scratch);
    model_free(m);
    XGBoosterFree(b);
}

/* --one: the figures bench/onnx.sh compares with ONNX Runtime's. */
static void one_model(const char *path, const char *rows_path, int batch, int rounds, const char *saved)
{
    char err[ERR_LEN];
    double t0 = now_ns();
    model *m = model_open(path, NULL, NULL, err);
    double load_ms = (now_ns() - t0) / 1e6;
    if (!m) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    int n_rows, nf = m->n_features;
    float *rows = read_rows(rows_path, nf, &n_rows);
    if (!rows) exit(1);
    int n = batch < n_rows ? batch : n_rows;
    double per[64], one[64], nat[64];
    model *native = NULL;
    if (saved) {
        if (model_save(m, saved, err) != 0 || !(native = model_open(saved, NULL, NULL, err))) {
            fprintf(stderr, "%s\n", err);
            exit(1);
        }
    }
    model_batch b, nb;
    if (model_batch_init(&b, m, n, err) != 0 || (native && model_batch_init(&nb, native, n, err) != 0))
        exit(1);
    memcpy(b.x, rows, (size_t)n * nf * sizeof *rows);
    if (native) memcpy(nb.x, rows, (size_t)n * nf * sizeof *rows);
    float *scratch = malloc((model_scratch_floats(m, 1) + 1) * sizeof *scratch), y[1024];
    if (rounds > 64) rounds = 64;
    for (int r = 0; r < rounds; r++) {
        double s = now_ns();
        model_batch_run(&b, n);
        per[r] = (now_ns() - s) / n;
        if (native) {
            s = now_ns();
            model_batch_run(&nb, n);
            nat[r] = (now_ns() - s) / n;
        }
        s = now_ns();
        for (int i = 0; i < 200; i++) model_predict(m, rows, 1, scratch, y);
        one[r] = (now_ns() - s) / 200;
    }
    printf("{\"load_ms\": %.3f, \"ns_per_row\": %.1f, \"one_row_ns\": %.1f", load_ms, median(per, rounds),
           median(one, rounds));
    if (native) printf(", \"native_ns_per_row\": %.1f", median(nat, rounds));
    printf("}\n");
    model_batch_free(&b);
    if (native) model_batch_free(&nb);
    model_free(native);
    model_free(m);
    free(scratch);
    free(rows);
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], "--one") == 0) {
        one_model(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), argc > 6 ? argv[6] : NULL);
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: bench_trees DIR\n");
        return 2;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/bench_rows.csv", argv[1]);
    int n_rows, nf = 20;
    float *rows = read_rows(path, nf, &n_rows);
    if (!rows) {
        fprintf(stderr, "%s: cannot read\n", path);
        return 1;
    }
    printf("medians of %d alternating rounds, one thread each; ratio = tabserve / xgboost\n", ROUNDS);
    bench_model(argv[1], "xgb_50x4", rows, n_rows, nf);
    bench_model(argv[1], "xgb_500x8", rows, n_rows, nf);
    free(rows);
    return 0;
}
