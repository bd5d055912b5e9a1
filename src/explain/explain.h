/* explain — why a model gives a row its prediction: one contribution per
 * model *input* (Shapley values; the one-hot columns of Sex add up to one Sex
 * contribution), in the model's margin (the logit for a classifier), with
 *
 *   base + sum of contributions = margin   (to rounding)
 *
 * for each output. Three exact methods, by predictor:
 *   trees        path-dependent TreeSHAP over the trees' covers (treeshap.h),
 *                as XGBoost's pred_contribs; then the columns grouped by input
 *   linear       each input's columns at the row's values against the
 *                background's mean: coefficient x centred feature, exactly
 *   any other    (MLP, blend, ONNX graphs, trees without covers) interventional
 *                Shapley values against the model's background sample: v(S)
 *                is the mean margin over the background rows with the
 *                coalition S's inputs taken from the row. Trees (alone, or a
 *                blend's members) leaf by leaf: with k <= 12 inputs from
 *                per-leaf coalition tables made once per explainer (the share
 *                of background rows reaching the leaf, by coalition); above,
 *                each leaf a walk reaches for x and a background row is a game
 *                on the inputs where the walk followed one against the other
 *                (k <= EXPLAIN_MAX_TREE_INPUTS);
 *                anything else by scoring every coalition (2^k, k <=
 *                EXPLAIN_MAX_INPUTS). A blend's values are its members' by
 *                weight. Refused with no background.
 *   sampled      above those limits, the same interventional values
 *                estimated by antithetic permutations: each sample a random
 *                order of the inputs and a background row (the rows taken in
 *                turn, so base + contributions = margin still holds), walked
 *                forwards and backwards from the background row to x; the
 *                mean of the inputs' marginal contributions, with a standard
 *                error each. Seeded: a row gets the same values every time.
 *                The number of samples is chosen when the explainer is made,
 *                from EXPLAIN_SAMPLE_SECONDS a row. */
#ifndef TABSERVE_EXPLAIN_H
#define TABSERVE_EXPLAIN_H

#include "model/model.h"

#define EXPLAIN_MAX_INPUTS      12
#define EXPLAIN_MAX_TREE_INPUTS 64
#define EXPLAIN_SAMPLE_SECONDS  0.02 /* a sampled row's budget, when the explainer is made */
#define EXPLAIN_MAX_PAIRS       4096 /* antithetic pairs a row, at most */

typedef enum { EXPLAIN_TREES, EXPLAIN_LINEAR, EXPLAIN_INTERVENTIONAL, EXPLAIN_SAMPLED } explain_method;

/* How m's rows are explained. Returns 0, or -1 with err saying why none can be. */
int explain_method_of(const model *m, explain_method *out, char *err);
/* "tree_path_dependent", "linear", "interventional", "interventional_sampled" */
const char *explain_method_name(explain_method method);

/* One row's feature vector x (m->n_features) -> for each output o (m's
 * predictor outputs): margin[o], base[o] and contrib[o * n_inputs + i].
 * Allocates its scratch. Returns 0, or -1 with err. */
int explain_row(const model *m, const float *x, double *margin, double *base, double *contrib, char *err);

/* The ways interventional values are computed: the fastest that applies, or
 * a slower one asked for (tests and benchmarks compare them all): every
 * member's coalitions enumerated, trees walked per background row instead of
 * their coalition tables, the tables added without vectors. */
typedef enum {
    EXPLAIN_WAY_FASTEST,
    EXPLAIN_WAY_ENUMERATE,
    EXPLAIN_WAY_WALK,
    EXPLAIN_WAY_PORTABLE,
    EXPLAIN_WAY_SAMPLE /* the sampled estimate even where exact values can be had (tests) */
} explain_way;
int explain_row_way(const model *m, explain_way way, const float *x, double *margin, double *base,
                    double *contrib, char *err);

/* What explains a served model's rows many times: the method, and for tree
 * ensembles the per-leaf tables (treeshap.h), made once. Immutable: threads
 * share it. NULL with err when the model cannot be explained. */
typedef struct explainer explainer;
explainer *explainer_create(const model *m, char *err);
void explainer_free(explainer *ex);
explain_method explainer_method(const explainer *ex);
/* What explaining one row takes, in seconds, measured on a row of the model's
 * own when ex was made: a request's cost is known from its row count before
 * any work starts. */
double explainer_row_seconds(const explainer *ex);
/* explain_row through ex (ex's model). */
int explainer_row(const explainer *ex, const float *x, double *margin, double *base, double *contrib,
                  char *err);
/* The same with each contribution's standard error into se (k * n_inputs; 0
 * for the exact methods). */
int explainer_row_se(const explainer *ex, const float *x, double *margin, double *base, double *contrib,
                     double *se, char *err);
/* The antithetic pairs a sampled row draws (0: an exact method). */
int explainer_samples(const explainer *ex);
/* An explainer of m made the way asked (explain_row_way's), its sample count
 * (sampled: 0 chooses from the time budget). For tests and benchmarks. */
explainer *explainer_create_way(const model *m, explain_way way, int pairs, char *err);

/* One explained row as JSON into buf (explain_json_max(m) bytes):
 *   {"predict": <as POST /model answers it>, "base": b, "margin": f,
 *    "contributions": {"Age": c1, ...}, "method": "..."}
 * and, sampled (se not NULL, samples > 0), "standard_errors": {"Age": s1, ...}
 * and "samples": n (antithetic pairs).
 * (for a multiclass model base, margin and contributions are per class:
 * {"class": ...}). y is the row's output (after the link). Returns the length. */
size_t explain_json(const model *m, explain_method method, const float *y, const double *margin,
                    const double *base, const double *contrib, const double *se, int samples, char *buf);
size_t explain_json_max(const model *m);

#endif
