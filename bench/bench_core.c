/* bench_core — the core issue's performance figures, each beside an anchor
 * measured in the same run (machines are shared and noisy: ratios travel,
 * absolute times do not):
 *   1. one JSON object -> probability (parse + encode + forward), median;
 *      anchor: jansson parsing the same object alone.
 *   2. forward pass of a 10->128->128->1 MLP in batches of 1024, per row;
 *      anchor: the same arithmetic as a plain triple loop (what -O2 makes of it).
 *   3. training the default model on one CV fold; anchor: one epoch.
 * Prints one table. Usage: bench_core [TITANIC.csv] */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "formats/default_model.h"
#include "model/encode.h"
#include "estimators/mlp.h"
#include "model/model.h"
#include "train/train.h"
#include "base/clock.h"
#include "base/err.h"
#include "explain/explain.h"
#include "base/files.h"
#include "base/numtext.h"

static double now_ns(void) { return (double)clock_ns(); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* median over `reps` timings of `inner` calls each, in ns per call */
#define MEDIAN_NS(result, reps, inner, body)                                                                 \
    do {                                                                                                     \
        double t_[reps];                                                                                     \
        for (int r_ = 0; r_ < (reps); r_++) {                                                                \
            double s_ = now_ns();                                                                            \
            for (int i_ = 0; i_ < (inner); i_++) {                                                           \
                body;                                                                                        \
            }                                                                                                \
            t_[r_] = (now_ns() - s_) / (inner);                                                              \
        }                                                                                                    \
        qsort(t_, (reps), sizeof(double), cmp_double);                                                       \
        (result) = t_[(reps) / 2];                                                                           \
    } while (0)

static volatile float sink;

/* x (n, n_in) @ w (n_in, n_out) + b, plain loops */
static void naive_dense(float *y, const float *x, const float *w, const float *b, int n, int n_in, int n_out)
{
    for (int r = 0; r < n; r++)
        for (int j = 0; j < n_out; j++) {
            float s = b[j];
            for (int i = 0; i < n_in; i++) s += x[r * n_in + i] * w[i * n_out + j];
            y[r * n_out + j] = s > 0 ? s : 0;
        }
}

int main(int argc, char **argv)
{
    char err[ERR_LEN];
    model *m = model_load_default(err);
    if (!m) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const char *seed = "{\"Age\": 22, \"Fare\": 7.25, \"Embarked\": \"S\", \"Sex\": \"male\", \"Pclass\": 3}";
    size_t seed_len = strlen(seed);
    float x[64], scratch[4096], p;
    int bad;
    double t_predict, t_parse;
    MEDIAN_NS(t_predict, 101, 2000, {
        json_t *o = json_loadb(seed, seed_len, 0, NULL);
        encode_json(m, o, "$", ENCODE_STRICT, x, &bad, err);
        model_predict(m, x, 1, scratch, &p);
        json_decref(o);
        sink = p;
    });
    double t_request;
    MEDIAN_NS(t_request, 101, 2000, {
        if (encode_json_fast(m, seed, seed_len, x) != 0) abort();
        model_predict(m, x, 1, scratch, &p);
        sink = p;
    });
    MEDIAN_NS(t_parse, 101, 2000, {
        json_t *o = json_loadb(seed, seed_len, 0, NULL);
        json_decref(o);
    });
    json_t *parsed = json_loadb(seed, seed_len, 0, NULL);
    double t_encode_forward, t_forward;
    MEDIAN_NS(t_encode_forward, 101, 5000, {
        encode_json(m, parsed, "$", ENCODE_STRICT, x, &bad, err);
        model_predict(m, x, 1, scratch, &p);
        sink = p;
    });
    MEDIAN_NS(t_forward, 101, 5000, {
        model_predict(m, x, 1, scratch, &p);
        sink = p;
    });
    json_decref(parsed);
    /* the seed's passenger explained: exact Shapley values over the 5 inputs (the
     * MLP's 32 coalitions x the background rows; the trees' from their coalition
     * tables); anchor: one prediction */
    double t_explain, margin, base, contrib[8];
    explainer *ex = explainer_create(m, err);
    if (!ex) abort();
    if (encode_json_fast(m, seed, seed_len, x) != 0) abort();
    MEDIAN_NS(t_explain, 31, 20, {
        if (explainer_row(ex, x, &margin, &base, contrib, err) != 0) abort();
        sink = (float)contrib[0];
    });
    explainer_free(ex);

    /* 10 -> 128 -> 128 -> 1, batches of 1024 */
    enum { B = 1024 };
    int sizes[] = {10, 128, 128, 1};
    float *w[3], *bias[3];
    unsigned s = 1;
    for (int l = 0; l < 3; l++) {
        w[l] = malloc((size_t)sizes[l] * sizes[l + 1] * sizeof(float));
        bias[l] = calloc((size_t)sizes[l + 1], sizeof(float));
        for (int k = 0; k < sizes[l] * sizes[l + 1]; k++)
            w[l][k] = ((s = s * 1103515245 + 12345) >> 16) / 32768.0f - 1;
    }
    float *xb = malloc((size_t)B * 10 * sizeof(float)), *h1 = malloc((size_t)B * 128 * sizeof(float));
    float *h2 = malloc((size_t)B * 128 * sizeof(float)), *out = malloc(B * sizeof(float));
    for (int k = 0; k < B * 10; k++) xb[k] = ((s = s * 1103515245 + 12345) >> 16) / 32768.0f - 1;
    double t_mlp, t_naive;
    /* the network as a predictor, through its vtable: the path `predict` and batch requests take */
    activation acts[3] = {ACT_RELU, ACT_RELU, ACT_SIGMOID};
    mlp *net = mlp_create(sizes, acts, 3);
    for (int l = 0; l < 3; l++) {
        memcpy(net->layers[l].w, w[l], (size_t)sizes[l] * sizes[l + 1] * sizeof(float));
        memcpy(net->layers[l].b, bias[l], (size_t)sizes[l + 1] * sizeof(float));
    }
    predictor *pred = &net->base;
    if (pred->ops->prepare(pred, err) != 0) abort();
    float *mlp_scratch = malloc(pred->ops->scratch_floats(pred, B) * sizeof(float));
    MEDIAN_NS(t_mlp, 31, 5, {
        pred->ops->predict(pred, xb, B, mlp_scratch, out);
        sink = out[7];
    });
    MEDIAN_NS(t_naive, 11, 1, {
        naive_dense(h1, xb, w[0], bias[0], B, 10, 128);
        naive_dense(h2, h1, w[1], bias[1], B, 128, 128);
        naive_dense(out, h2, w[2], bias[2], B, 128, 1);
        sink = out[7];
    });
    t_mlp /= B;
    t_naive /= B;

    printf("%-52s %12s %12s %8s %s\n", "benchmark", "tabserve", "anchor", "ratio", "target (issue)");
    printf("%-52s %9.0f ns %9.0f ns %7.2fx %s\n", "JSON object -> probability (encode+forward), median",
           t_encode_forward, t_parse, t_encode_forward / t_parse, "<= 1000 ns (anchor: jansson parse)");
    printf("%-52s %9.0f ns %9.0f ns %7.2fx\n", "  forward pass alone", t_forward, t_parse,
           t_forward / t_parse);
    printf("%-52s %9.0f ns %9.0f ns %7.2fx\n", "  JSON text -> probability, jansson tree + encode", t_predict,
           t_parse, t_predict / t_parse);
    printf("%-52s %9.0f ns %9.0f ns %7.2fx\n", "  JSON text -> probability, request fast path", t_request,
           t_parse, t_request / t_parse);
    printf("%-52s %9.1f us %9.0f ns %7.0fx %s\n", "explain the seed's row (exact Shapley, 24 bg rows)",
           t_explain / 1000, t_forward, t_explain / t_forward, "<= 100 us (anchor: one prediction)");
    printf("%-52s %9.0f ns %9.0f ns %7.2fx %s\n", "MLP 10-128-128-1, batch 1024, per row (anchor: naive)",
           t_mlp, t_naive, t_mlp / t_naive, "<= 370 ns (ONNX Runtime 1 thread: 372 ns)");

    const char *data = argc > 1 ? argv[1] : NULL;
    if (data) {
        const char *cols[] = {"Survived", "Age", "Fare", "Sex", "Embarked", "Pclass", "PassengerId"};
        dataset *d = dataset_load(data, cols, 7, err);
        if (!d) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        float *y = malloc(d->n_rows * sizeof *y);
        dataset_labels(d, 0, 1, y, err);
        unsigned char *use = malloc(d->n_rows);
        for (size_t r = 0; r < d->n_rows; r++) use[r] = atoi(dataset_cell(d, r, 6)) % 5 != 0;
        train_options o;
        train_options_blend_default(&o); /* the default model's: --model blend */
        o.n_numeric = 2;
        o.n_categorical = 3;
        double t_fold, t_epoch;
        MEDIAN_NS(t_fold, 5, 1, {
            model *f = train_fit(d, y, use, &o, err);
            model_free(f);
        });
        train_options one = o;
        one.epochs = 1;
        one.ensemble = 1;
        MEDIAN_NS(t_epoch, 21, 1, {
            model *f = train_fit(d, y, use, &one, err);
            model_free(f);
        });
        printf("%-52s %9.3f s  %9.4f s  %7.0fx %s\n", "train default model, one CV fold (anchor: 1 epoch)",
               t_fold / 1e9, t_epoch / 1e9, t_fold / t_epoch, "<= 0.5 s (sklearn MLP early stop: 0.9 s)");
        free(y);
        free(use);
        dataset_free(d);
    } else {
        printf("(training benchmark skipped: no Titanic CSV given)\n");
    }
    model_free(m);
    return 0;
}
