/* predictor — the estimator behind a model, as one small interface: a batch of
 * feature rows in, a batch of raw outputs (margins: logits for classifiers)
 * out. The output spec (output.h) applies the link. Implementations live in
 * src/estimators/ (estimators.h reads any of them by kind). A predictor is immutable once prepared,
 * so worker threads share it freely. */
#ifndef TABSERVE_PREDICTOR_H
#define TABSERVE_PREDICTOR_H

#include <stddef.h>
#include <stdio.h>

#include "model/hash.h"
#include "model/reader.h"

struct json_t;

typedef struct predictor predictor;

typedef struct {
    const char *kind; /* "mlp", "linear", "trees", "blend", "normalize": $.predictor.kind */
    /* x (n, n_features) -> y (n, n_outputs). scratch: scratch_floats(p, n) floats. */
    void (*predict)(const predictor *p, const float *x, int n, float *scratch, float *y);
    size_t (*scratch_floats)(const predictor *p, int n);
    /* Derived state for fast prediction (indexes, kernels), once, after the
     * parameters are final. Returns 0 or -1 with err. */
    int (*prepare)(predictor *p, char *err);
    /* $.predictor, with or without its parameters (weights, trees). */
    struct json_t *(*to_json)(const predictor *p, int with_params);
    void (*hash)(const predictor *p, fnv *f);
    /* One line for inspect: "10 -> 128 relu -> 1 linear". */
    void (*describe)(const predictor *p, char *buf, size_t len);
    void (*free)(predictor *p);
    /* Optional: 1 when an infinite column has a defined answer (trees compare
     * it; a linear margin goes to its limit). NULL or 0: the predictor computes
     * with the columns in ways an infinity makes meaningless (an MLP's ReLU
     * turns inf - inf into 0), so such a row is refused before scoring. */
    int (*takes_infinity)(const predictor *p);
} predictor_ops;

struct predictor {
    const predictor_ops *ops;
    int n_features, n_outputs;
};

static inline void predictor_free(predictor *p)
{
    if (p) p->ops->free(p);
}

#endif
