/* graph_ops_ml — the interpreter's ai.onnx.ml operators (graph_impl.h):
 * preprocessing (Imputer, Scaler, OneHotEncoder, LabelEncoder, Normalizer,
 * Binarizer...), linear models, tree ensembles and support vector machines, as
 * ONNX Runtime runs them. */
#define _GNU_SOURCE
#include "estimators/graph_impl.h"
#include "model/output.h"

/* ---- ai.onnx.ml: preprocessing ------------------------------------------------ */

/* Per-column parameters: one value for every column, or one per column of the last dimension. */
static int per_column(run_ctx *r, const gnode *g, size_t count, const tensor *x, const char *what)
{
    size_t cols = x->rank ? (size_t)x->dim[x->rank - 1] : 1;
    if (count != 1 && count != cols) return FAIL("%s holds %zu values for %zu columns", what, count, cols);
    return 0;
}

int onnx_op_imputer(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || (x->type != EL_FLOAT && x->type != EL_INT)) return FAIL("takes a numeric tensor");
    int fl = x->type == EL_FLOAT;
    size_t count = fl ? g->n_fa : g->n_ia;
    if (!count)
        return FAIL("has no imputed_value_%s for its %s input", fl ? "floats" : "int64s",
                    elem_names[x->type]);
    if (per_column(r, g, count, x, "imputed values") != 0) return -1;
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, x->type, x) != 0) return -1;
    size_t cols = x->rank ? (size_t)x->dim[x->rank - 1] : 1;
    for (size_t k = 0; k < x->n; k++) {
        size_t j = count == 1 ? 0 : k % cols;
        if (fl) {
            float v = x->f[k];
            int replace = isnan(g->fdef) ? isnan(v) : v == g->fdef;
            o->f[k] = replace ? g->fa[j] : v;
        } else
            o->i[k] = x->i[k] == g->idef ? g->ia[j] : x->i[k];
    }
    return 0;
}

int onnx_op_scaler(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type == EL_STRING || x->type == EL_BOOL) return FAIL("takes a numeric tensor");
    if (per_column(r, g, g->n_fa, x, "offset") != 0 || per_column(r, g, g->n_fb, x, "scale") != 0) return -1;
    int owned;
    const float *v = as_floats(x, &owned);
    tensor *o = OUT(r, g, 0);
    if (!v || same_shape_as(r, g, o, EL_FLOAT, x) != 0) {
        if (owned) free((float *)v);
        return v ? -1 : FAIL("out of memory");
    }
    size_t cols = x->rank ? (size_t)x->dim[x->rank - 1] : 1;
    for (size_t k = 0; k < x->n; k++)
        o->f[k] = (v[k] - g->fa[g->n_fa == 1 ? 0 : k % cols]) * g->fb[g->n_fb == 1 ? 0 : k % cols];
    if (owned) free((float *)v);
    return 0;
}

/* The key of a value for the encoders: an integer, a pool index, or a float's bits. */
static int key_matches(run_ctx *r, const gnode *g, const tensor *x, elem key)
{
    int ok = x->type == key || (key == EL_INT && x->type == EL_FLOAT && g->op == OP_ONEHOT);
    return ok ? 0 : FAIL("its keys are %s but its input is %s", elem_names[key], elem_names[x->type]);
}

int onnx_op_onehot(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || key_matches(r, g, x, g->key_type) != 0) return -1;
    if (x->rank >= MAX_RANK) return FAIL("a %d-D input", x->rank);
    int64_t dim[MAX_RANK];
    memcpy(dim, x->dim, sizeof dim);
    dim[x->rank] = (int64_t)g->n_ia;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, EL_FLOAT, x->rank + 1, dim) != 0) return -1;
    for (size_t k = 0; k < x->n; k++) {
        int64_t v = x->type == EL_FLOAT ? onnx_to_int(x->f[k]) : x->i[k];
        for (size_t c = 0; c < g->n_ia; c++) o->f[k * g->n_ia + c] = g->ia[c] == v && v != -1 ? 1.0f : 0.0f;
        /* a value of no category: zeros (zeros = 1); with zeros = 0 ONNX Runtime fails the batch,
           tabserve gives the row no finite prediction */
        if (!g->flag) {
            int any = 0;
            for (size_t c = 0; c < g->n_ia; c++) any |= g->ia[c] == v && v != -1;
            if (!any)
                for (size_t c = 0; c < g->n_ia; c++) o->f[k * g->n_ia + c] = NAN;
        }
    }
    return 0;
}

int onnx_op_labelenc(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || key_matches(r, g, x, g->key_type) != 0) return -1;
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, g->value_type, x) != 0) return -1;
    size_t n_keys = g->key_type == EL_FLOAT ? g->n_fa : g->n_ia;
    for (size_t k = 0; k < x->n; k++) {
        size_t hit = n_keys;
        for (size_t c = 0; c < n_keys && hit == n_keys; c++)
            if (g->key_type == EL_FLOAT ? g->fa[c] == x->f[k] || (isnan(g->fa[c]) && isnan(x->f[k]))
                                        : g->ia[c] == x->i[k] && x->i[k] != -1)
                hit = c;
        if (g->value_type == EL_FLOAT)
            o->f[k] = hit < n_keys ? g->fb[hit] : g->fdef;
        else
            o->i[k] = hit < n_keys ? g->ib[hit] : g->idef;
    }
    return 0;
}

/* CategoryMapper: a string input maps to the int64 at its place in cats_strings
 * (default_int64 when absent), an int64 input to the string at its place in
 * cats_int64s (default_string). */
int onnx_op_category_mapper(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || (x->type != EL_STRING && x->type != EL_INT)) return FAIL("maps strings or int64s");
    int to_ints = x->type == EL_STRING;
    tensor *o = OUT(r, g, 0);
    if (same_shape_as(r, g, o, to_ints ? EL_INT : EL_STRING, x) != 0) return -1;
    const int64_t *keys = to_ints ? g->ia : g->ib, *values = to_ints ? g->ib : g->ia;
    for (size_t k = 0; k < x->n; k++) {
        size_t hit = g->n_ia;
        for (size_t c = 0; c < g->n_ia && hit == g->n_ia; c++)
            if (keys[c] == x->i[k] && !(to_ints && x->i[k] == -1)) hit = c; /* -1: a string not in the pool */
        o->i[k] = hit < g->n_ia ? values[hit] : to_ints ? g->idef : g->sdef;
    }
    return 0;
}

int onnx_op_normalizer(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type == EL_STRING || x->type == EL_BOOL || x->rank < 1 || x->rank > 2)
        return FAIL("takes a 1-D or 2-D numeric tensor");
    int owned;
    const float *v = as_floats(x, &owned);
    tensor *o = OUT(r, g, 0);
    if (!v || same_shape_as(r, g, o, EL_FLOAT, x) != 0) {
        if (owned) free((float *)v);
        return v ? -1 : FAIL("out of memory");
    }
    size_t cols = (size_t)x->dim[x->rank - 1], rows = cols ? x->n / cols : 0;
    for (size_t q = 0; q < rows; q++) {
        const float *row = v + q * cols;
        float norm = g->flag == 0 ? -INFINITY : 0;
        for (size_t j = 0; j < cols; j++)
            norm = g->flag == 0   ? (row[j] > norm ? row[j] : norm)
                   : g->flag == 1 ? norm + fabsf(row[j])
                                  : norm + row[j] * row[j];
        if (g->flag == 2) norm = sqrtf(norm);
        for (size_t j = 0; j < cols; j++) o->f[q * cols + j] = row[j] / norm;
    }
    if (owned) free((float *)v);
    return 0;
}

int onnx_op_extract(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0), *ix = IN(r, g, 1);
    if (!x || !ix || ix->type != EL_INT) return FAIL("needs data and int64 indexes");
    int64_t dim[MAX_RANK];
    int rank = x->rank < 1 ? 1 : x->rank;
    memcpy(dim, x->dim, sizeof dim);
    if (x->rank <= 1) rank = 2, dim[0] = 1; /* ONNX Runtime answers a 1-D input as one row */
    size_t cols = (size_t)x->dim[x->rank ? x->rank - 1 : 0];
    for (size_t k = 0; k < ix->n; k++)
        if (ix->i[k] < 0 || (size_t)ix->i[k] >= cols)
            return FAIL("index %lld of %zu columns", (long long)ix->i[k], cols);
    dim[rank - 1] = (int64_t)ix->n;
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, x->type, rank, dim) != 0) return -1;
    size_t rows = cols ? x->n / cols : 0;
    for (size_t q = 0; q < rows; q++)
        for (size_t k = 0; k < ix->n; k++) {
            size_t from = q * cols + (size_t)ix->i[k], at = q * ix->n + k;
            if (x->type == EL_FLOAT)
                o->f[at] = x->f[from];
            else
                o->i[at] = x->i[from];
        }
    return 0;
}

int onnx_op_vectorize(run_ctx *r, const gnode *g)
{
    const tensor *x0 = IN(r, g, 0);
    if (!x0) return FAIL("needs inputs");
    if ((size_t)g->n_in != g->n_ia) return FAIL("has %d inputs and %zu inputdimensions", g->n_in, g->n_ia);
    int64_t rows = x0->rank ? x0->dim[0] : 1, width = 0;
    for (size_t k = 0; k < g->n_ia; k++) width += g->ia[k];
    int64_t dim[2] = {rows, width};
    tensor *o = OUT(r, g, 0);
    if (make(r, g, o, EL_FLOAT, 2, dim) != 0) return -1;
    size_t at = 0;
    for (int k = 0; k < g->n_in; k++) {
        const tensor *x = IN(r, g, k);
        if (!x || x->type == EL_STRING || (x->rank ? x->dim[0] : 1) != rows)
            return FAIL("input %d is not numeric with %lld rows", k, (long long)rows);
        size_t cols = rows ? x->n / (size_t)rows : 0;
        for (int64_t q = 0; q < rows; q++)
            for (int64_t j = 0; j < g->ia[k]; j++) {
                size_t from = (size_t)q * cols + (size_t)j;
                float v = (size_t)j >= cols ? 0 : x->type == EL_FLOAT ? x->f[from] : (float)x->i[from];
                o->f[(size_t)q * (size_t)width + at + (size_t)j] = v;
            }
        at += (size_t)g->ia[k];
    }
    return 0;
}

/* ---- ai.onnx.ml: estimators --------------------------------------------------- */

void onnx_post_transform(int post, float *s, size_t rows, size_t k)
{
    if (post == POST_LOGISTIC)
        for (size_t q = 0; q < rows * k; q++) s[q] = onnx_sigmoid(s[q]);
    else if (post == POST_SOFTMAX || post == POST_SOFTMAX_ZERO)
        onnx_softmax_rows(s, rows, k, post == POST_SOFTMAX_ZERO);
}

/* The classifiers' outputs: labels (the best class) and scores (rows, k). */
static int classifier_out(run_ctx *r, const gnode *g, int64_t rows, size_t k, tensor **label, tensor **scores)
{
    int64_t d1[1] = {rows}, d2[2] = {rows, (int64_t)k};
    *label = OUT(r, g, 0);
    if (make(r, g, *label, g->class_type, 1, d1) != 0) return -1;
    *scores = g->n_out > 1 ? OUT(r, g, 1) : NULL;
    if (*scores && make(r, g, *scores, EL_FLOAT, 2, d2) != 0) return -1;
    return 0;
}

/* A classifier's label and scores outputs, or a regressor's one [rows, k] output. */
static int estimator_outputs(run_ctx *r, const gnode *g, int classifier, size_t rows, size_t k,
                             tensor **label, tensor **scores, tensor **out)
{
    if (classifier) return classifier_out(r, g, (int64_t)rows, k, label, scores);
    int64_t d2[2] = {(int64_t)rows, (int64_t)k};
    return make(r, g, *out = OUT(r, g, 0), EL_FLOAT, 2, d2);
}

static void set_label(const gnode *g, tensor *label, size_t q, const float *s, size_t k)
{
    size_t best = 0;
    for (size_t c = 1; c < k; c++)
        if (s[c] > s[best]) best = c;
    label->i[q] = g->classes[best];
}

/* ---- support vector machines (as ONNX Runtime runs them) ----------------------- */

/* The kernel of x and a support vector (or coefficient row) v of n features:
 * parameters gamma (alpha), coef0 (beta), degree (fdef). */
static float svm_kernel(const gnode *g, const float *x, const float *v, size_t n)
{
    double sum = 0;
    if (g->to == K_RBF) {
        for (size_t f = 0; f < n; f++) sum += ((double)x[f] - v[f]) * ((double)x[f] - v[f]);
        return expf(-g->alpha * (float)sum);
    }
    for (size_t f = 0; f < n; f++) sum += (double)x[f] * v[f];
    if (g->to == K_POLY) return powf(g->alpha * (float)sum + g->beta, g->fdef);
    if (g->to == K_SIGMOID) return tanhf(g->alpha * (float)sum + g->beta);
    return (float)sum;
}

/* libsvm's pairwise coupling: class probabilities from pairwise ones r (k x k).
 * work: k * k + k doubles. */
static void svm_coupling(size_t k, const float *r, float *p, double *work)
{
    double *q = work, *qp = work + k * k;
    for (size_t t = 0; t < k; t++) {
        p[t] = 1.0f / (float)k;
        q[t * k + t] = 0;
        for (size_t j = 0; j < t; j++) {
            q[t * k + t] += (double)r[j * k + t] * r[j * k + t];
            q[t * k + j] = q[j * k + t];
        }
        for (size_t j = t + 1; j < k; j++) {
            q[t * k + t] += (double)r[j * k + t] * r[j * k + t];
            q[t * k + j] = -(double)r[j * k + t] * r[t * k + j];
        }
    }
    double eps = 0.005 / (double)k;
    for (int iter = 0; iter < 100; iter++) {
        double pqp = 0;
        for (size_t t = 0; t < k; t++) {
            qp[t] = 0;
            for (size_t j = 0; j < k; j++) qp[t] += q[t * k + j] * p[j];
            pqp += p[t] * qp[t];
        }
        double worst = 0;
        for (size_t t = 0; t < k; t++) worst = fmax(worst, fabs(qp[t] - pqp));
        if (worst < eps) break;
        for (size_t t = 0; t < k; t++) {
            double diff = (-qp[t] + pqp) / q[t * k + t];
            p[t] += (float)diff;
            pqp = (pqp + diff * (diff * q[t * k + t] + 2 * qp[t])) / (1 + diff) / (1 + diff);
            for (size_t j = 0; j < k; j++) {
                qp[j] = (qp[j] + diff * q[t * k + j]) / (1 + diff);
                p[j] /= (float)(1 + diff);
            }
        }
    }
}

int onnx_op_svm(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type != EL_FLOAT || x->rank < 1 || x->rank > 2)
        return FAIL("takes a 1-D or 2-D float tensor");
    size_t cols = (size_t)x->dim[x->rank - 1], rows = x->rank == 2 ? (size_t)x->dim[0] : 1;
    size_t n_sv = 0, k = g->op == OP_SVM_CLS ? g->n_classes : 1;
    for (size_t c = 0; c < g->n_ia; c++) n_sv += (size_t)g->ia[c];
    size_t nf =
        n_sv ? g->n_fa / n_sv : g->n_fb / k; /* features: a support vector's, or a coefficient row's */
    if (nf != cols) return FAIL("is made for %zu features; the input has %zu", nf, cols);
    if (g->op == OP_SVM_REG) {
        int64_t d2[2] = {(int64_t)rows, 1};
        tensor *o = OUT(r, g, 0);
        if (make(r, g, o, EL_FLOAT, 2, d2) != 0) return -1;
        for (size_t q = 0; q < rows; q++) {
            const float *row = x->f + q * cols;
            double sum = 0;
            if (n_sv)
                for (size_t s = 0; s < n_sv; s++)
                    sum += (double)g->fb[s] * svm_kernel(g, row, g->fa + s * nf, nf);
            else
                sum = svm_kernel(g, row, g->fb, nf);
            float v = (float)(sum + g->fc[0]);
            o->f[q] = g->flag ? (v > 0 ? 1.0f : -1.0f) : v; /* one_class: inside or outside */
        }
        return 0;
    }
    size_t pairs = k * (k - 1) / 2, width = n_sv && !g->n_fd ? (k > 2 ? pairs : 2) : k;
    tensor *label, *scores;
    if (classifier_out(r, g, (int64_t)rows, width, &label, &scores) != 0) return -1;
    float *sc = malloc((width + pairs + k * k + n_sv + 1) * sizeof *sc), *dec = sc + width, *pr = dec + pairs,
          *kern = pr + k * k;
    int64_t votes[OUTPUT_MAX_CLASSES];
    double *work = g->n_fd ? malloc((k * k + k) * sizeof *work) : NULL;
    if (!sc || (g->n_fd && !work)) {
        free(sc);
        free(work);
        return FAIL("out of memory");
    }
    for (size_t q = 0; q < rows; q++) {
        const float *row = x->f + q * cols;
        size_t best = 0;
        if (!n_sv) { /* linear: a coefficient row a class, rho[0] for every class */
            for (size_t c = 0; c < k; c++) sc[c] = svm_kernel(g, row, g->fb + c * nf, nf) + g->fc[0];
            for (size_t c = 1; c < k; c++)
                if (sc[c] > sc[best]) best = c;
        } else {
            for (size_t s = 0; s < n_sv; s++) kern[s] = svm_kernel(g, row, g->fa + s * nf, nf);
            memset(votes, 0, sizeof votes);
            size_t pair = 0, start_i = 0;
            for (size_t i = 0; i + 1 < k; i++) {
                size_t start_j = start_i + (size_t)g->ia[i];
                for (size_t j = i + 1; j < k; j++) {
                    double sum = 0;
                    for (int64_t m = 0; m < g->ia[i]; m++)
                        sum +=
                            (double)g->fb[(j - 1) * n_sv + start_i + (size_t)m] * kern[start_i + (size_t)m];
                    for (int64_t m = 0; m < g->ia[j]; m++)
                        sum += (double)g->fb[i * n_sv + start_j + (size_t)m] * kern[start_j + (size_t)m];
                    sum += g->fc[pair];
                    dec[pair++] = (float)sum;
                    votes[sum > 0 ? i : j]++;
                    start_j += (size_t)g->ia[j];
                }
                start_i += (size_t)g->ia[i];
            }
            for (size_t c = 1; c < k; c++)
                if (votes[c] > votes[best]) best = c;
            if (g->n_fd) { /* Platt-scaled pairwise probabilities, coupled into one a class */
                pair = 0;
                for (size_t i = 0; i + 1 < k; i++)
                    for (size_t j = i + 1; j < k; j++, pair++) {
                        double v = (double)dec[pair] * g->fd[pair] + g->fe[pair];
                        float p = (float)(v >= 0 ? exp(-v) / (1 + exp(-v)) : 1 / (1 + exp(v)));
                        p = fminf(fmaxf(p, 1.0e-7f), 1 - 1.0e-7f);
                        pr[i * k + j] = p;
                        pr[j * k + i] = 1 - p;
                    }
                svm_coupling(k, pr, sc, work);
                best = 0;
                for (size_t c = 1; c < k; c++)
                    if (sc[c] > sc[best]) best = c;
            } else if (k == 2) { /* one decision value d: the scores [-d, d] */
                sc[0] = -dec[0];
                sc[1] = dec[0];
            } else
                memcpy(sc, dec, pairs * sizeof *sc);
        }
        label->i[q] = g->classes[best];
        if (scores) memcpy(scores->f + q * width, sc, width * sizeof *sc);
    }
    free(sc);
    free(work);
    return 0;
}

int onnx_op_linear(run_ctx *r, const gnode *g)
{
    const tensor *x = IN(r, g, 0);
    if (!x || x->type == EL_STRING || x->type == EL_BOOL || x->rank < 1 || x->rank > 2)
        return FAIL("takes a 1-D or 2-D numeric tensor");
    size_t cols = (size_t)x->dim[x->rank - 1], rows = x->rank == 2 ? (size_t)x->dim[0] : 1;
    size_t targets = cols ? g->n_fa / cols : 0;
    if (!cols || g->n_fa % cols || !targets)
        return FAIL("coefficients hold %zu values for %zu columns", g->n_fa, cols);
    if (g->n_fb && g->n_fb != targets)
        return FAIL("intercepts hold %zu values for %zu rows", g->n_fb, targets);
    int classifier = g->op == OP_LINCLS;
    size_t k = classifier ? g->n_classes : targets;
    int two =
        classifier && targets == 1 && k == 2; /* one score: the second class's, the first its negative */
    if (classifier && targets != k && !two)
        return FAIL("%zu rows of coefficients for %zu classes", targets, k);
    int owned;
    const float *v = as_floats(x, &owned);
    if (!v) return FAIL("out of memory");
    float *s = malloc((rows * k + 1) * sizeof *s);
    tensor *label = NULL, *scores = NULL, *out = NULL;
    int rc = s ? 0 : FAIL("out of memory");
    if (!rc) rc = estimator_outputs(r, g, classifier, rows, k, &label, &scores, &out);
    for (size_t q = 0; !rc && q < rows; q++) {
        float *row = s + q * k;
        for (size_t t = 0; t < targets; t++) {
            float z = g->n_fb ? g->fb[t] : 0;
            for (size_t j = 0; j < cols; j++) z += g->fa[t * cols + j] * v[q * cols + j];
            row[two ? 1 : t] = z;
        }
        if (two) row[0] = -row[1];
    }
    if (!rc) onnx_post_transform(g->post, s, rows, k);
    for (size_t q = 0; !rc && q < rows && label; q++) set_label(g, label, q, s + q * k, k);
    if (!rc && (scores || out)) memcpy((scores ? scores : out)->f, s, rows * k * sizeof *s);
    free(s);
    if (owned) free((float *)v);
    return rc;
}

int onnx_op_trees(run_ctx *r, const gnode *g)
{
    const forest *fo = g->trees;
    const tensor *x = IN(r, g, 0);
    if (!x || x->type == EL_STRING || x->type == EL_BOOL || x->rank < 1 || x->rank > 2)
        return FAIL("takes a 1-D or 2-D numeric tensor");
    size_t cols = (size_t)x->dim[x->rank - 1], rows = x->rank == 2 ? (size_t)x->dim[0] : 1;
    if ((size_t)fo->e->base.n_features > cols) /* the trees' columns: 1 + the largest split feature */
        return FAIL("a node splits on feature %d; the input has %zu", fo->e->base.n_features - 1, cols);
    int classifier = g->op == OP_TREECLS;
    size_t k = fo->n_targets;
    int owned;
    const float *v = as_floats(x, &owned);
    if (!v) return FAIL("out of memory");
    double *sum = calloc(k, sizeof *sum);
    unsigned char *has = calloc(k, 1);
    float *s = malloc((rows * k + 1) * sizeof *s);
    tensor *label = NULL, *scores = NULL, *out = NULL;
    int rc = sum && has && s ? 0 : FAIL("out of memory");
    if (!rc) rc = estimator_outputs(r, g, classifier, rows, k, &label, &scores, &out);
    for (size_t q = 0; !rc && q < rows; q++) {
        const float *row = v + q * cols;
        memset(sum, 0, k * sizeof *sum);
        memset(has, 0, k);
        for (size_t t = 0; t < fo->e->n_trees; t++) {
            int at = fo->span_at[t] + trees_leaf(&fo->e->trees[t], row);
            for (int w = fo->w_first[at]; w < fo->w_first[at] + fo->w_count[at]; w++) {
                int c = fo->w_class[w];
                double val = fo->w_value[w];
                if (fo->agg == AGG_MIN)
                    sum[c] = has[c] && sum[c] < val ? sum[c] : val;
                else if (fo->agg == AGG_MAX)
                    sum[c] = has[c] && sum[c] > val ? sum[c] : val;
                else
                    sum[c] += val;
                has[c] = 1;
            }
        }
        if (fo->agg == AGG_AVERAGE)
            for (size_t c = 0; c < k; c++) sum[c] /= (double)fo->e->n_trees;
        float *sc = s + q * k;
        if (classifier && fo->binary_case) {
            /* one score, for the second class whichever id its weights carry; the first is its
             * complement (weights all >= 0: probabilities) or its negative (margins) */
            double z = sum[0] + sum[1] + (fo->n_base ? fo->base[fo->n_base > 1 ? 1 : 0] : 0);
            if (g->post == POST_LOGISTIC)
                sc[1] = onnx_sigmoid((float)z), sc[0] = onnx_sigmoid((float)-z);
            else /* NONE, and SOFTMAX too: ONNX Runtime does not spread one score over two classes */
                sc[1] = (float)z, sc[0] = (float)(fo->all_positive ? 1 - z : -z);
        } else {
            for (size_t c = 0; c < k; c++) sc[c] = (float)(sum[c] + (fo->n_base ? fo->base[c] : 0));
            onnx_post_transform(g->post, sc, 1, k);
        }
        if (label) set_label(g, label, q, sc, k);
    }
    if (!rc && (scores || out)) memcpy((scores ? scores : out)->f, s, rows * k * sizeof *s);
    free(sum);
    free(has);
    free(s);
    if (owned) free((float *)v);
    return rc;
}

int onnx_op_zipmap(run_ctx *r, const gnode *g)
{
    /* a map per row, {label: probability}: tabserve answers the probabilities themselves */
    const tensor *x = IN(r, g, 0);
    if (!x || x->type != EL_FLOAT || x->rank != 2) return FAIL("takes a 2-D float tensor");
    return onnx_copy_into(r, g, OUT(r, g, 0), x, 2, x->dim);
}
