/* probe — the compiled form of an imported model against the model as written,
 * over rows made from the model itself (probe.h). */
#include "formats/probe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "estimators/trees.h"
#include "model/encode.h"

#define PROBE_MIN_ROWS 64
#define PROBE_MAX_ROWS 512
/* rows x trees walked by the interpreter at most: a large ensemble is probed
 * on fewer rows (each row still tries a threshold of every input), so that
 * the check stays a small part of its load */
#define PROBE_TREE_WALKS 16384
#define PROBE_THRESHOLDS 1024 /* per input */
#define PROBE_TOLERANCE  1e-6

/* Numbers every numeric input is tried with, besides its own thresholds. */
static const double plain_values[] = {0, 1, -1, 0.5, 2, 3, 7, 10, 100, -100, 1e4, -1e4, 1e6, 0.1, -0.5, 42};
#define N_PLAIN (sizeof plain_values / sizeof plain_values[0])

typedef struct {
    double *v; /* numbers; NaN stands for missing */
    size_t n, cap;
} values;

static int push(values *vs, double x)
{
    if (vs->n == vs->cap) {
        size_t cap = vs->cap ? vs->cap * 2 : 32;
        double *v = realloc(vs->v, cap * sizeof *v);
        if (!v) return -1;
        vs->v = v;
        vs->cap = cap;
    }
    vs->v[vs->n++] = x;
    return 0;
}

/* Each tree split's threshold, on the input it reads when the column is that
 * input passed straight through (no transform on the way). */
static int add_thresholds(const model *m, values *per_input)
{
    const tree_ensemble *e = trees_of(m->predictor);
    if (!e) return 0;
    int *input_of = malloc(((size_t)m->n_features + 1) * sizeof *input_of);
    if (!input_of) return -1;
    for (int j = 0; j < m->n_features; j++) input_of[j] = -1;
    for (size_t i = 0; i < m->features.n; i++) {
        const feature *f = &m->features.f[i];
        if (f->width == 1 && f->n_scalar == 0 && f->offset >= 0 && f->offset < m->n_features &&
            (f->write == STEP_PASSTHROUGH || f->write == STEP_SCALE))
            input_of[f->offset] = (int)f->input;
    }
    int rc = 0;
    for (size_t t = 0; t < e->n_trees; t++) {
        const tree *tr = &e->trees[t];
        for (int q = 0; q < tr->n_nodes; q++) {
            if (tr->feature[q] < 0 || tr->feature[q] >= m->n_features || (tr->cat_at && tr->cat_at[q] >= 0))
                continue;
            int in = input_of[tr->feature[q]];
            /* enough of them to fill the rows: a large ensemble's first thresholds */
            if (in >= 0 && per_input[in].n < PROBE_THRESHOLDS && push(&per_input[in], tr->threshold[q]) != 0)
                rc = -1;
        }
    }
    free(input_of);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return isnan(x) ? (isnan(y) ? 0 : 1) : isnan(y) ? -1 : (x > y) - (x < y);
}

/* Sorted, each value once. */
static void dedupe(values *vs)
{
    if (vs->n < 2) return;
    qsort(vs->v, vs->n, sizeof *vs->v, cmp_double);
    size_t w = 1;
    for (size_t i = 1; i < vs->n; i++)
        if (!(vs->v[i] == vs->v[w - 1] || (isnan(vs->v[i]) && isnan(vs->v[w - 1])))) vs->v[w++] = vs->v[i];
    vs->n = w;
}

/* Row r's value for input i into *out (NaN: missing), as each model's schema
 * codes it (a category is its index in that model's vocabulary): the input's
 * candidates cycled, with a stride per input so that inputs meet each other's
 * values in different rows; a number candidate is tried as it is and one float
 * either side (a split's threshold and its neighbours). Returns 0, or -1 when
 * the candidate is not one the reference accepts (then the row is skipped). */
static int cell(const schema_input *in, const schema_input *ref_in, const values *vs, size_t r, size_t i,
                double *out, double *ref_out)
{
    size_t n_cat = in->n_vocab, n = 3 * vs->n + n_cat + (in->unknown != UNKNOWN_REJECT && n_cat ? 1 : 0);
    if (n == 0) return -1;
    size_t k = (r * (2 * i + 1) + i * 7) % n;
    if (k < n_cat && !ref_in->n_vocab) { /* an integer category here, the number itself there */
        *out = (double)k;
        if (!in->vocab_int) return -1;
        *ref_out = (double)in->vocab_int[k];
        return 0;
    }
    if (k < n_cat) {
        *out = (double)k;
        int j = schema_vocab_find(ref_in, in->vocab[k], in->vocab_len[k]);
        *ref_out = j >= 0                               ? j
                   : ref_in->unknown == UNKNOWN_ZEROS   ? -1
                   : ref_in->unknown == UNKNOWN_MISSING ? NAN
                                                        : -2;
        return *ref_out == -2 ? -1 : 0;
    }
    if (k == 3 * vs->n + n_cat) { /* a category neither model knows */
        if (!ref_in->n_vocab) return -1;
        *out = in->unknown == UNKNOWN_ZEROS ? -1 : NAN;
        *ref_out = ref_in->unknown == UNKNOWN_ZEROS ? -1 : ref_in->unknown == UNKNOWN_MISSING ? NAN : -2;
        return *ref_out == -2 ? -1 : 0;
    }
    k -= n_cat;
    double x = vs->v[k / 3];
    if (!isnan(x) && k % 3) x = nextafterf((float)x, k % 3 == 1 ? -INFINITY : INFINITY);
    if (!isnan(x) && in->type == TYPE_INTEGER) x = nearbyint(x);
    if (!isnan(x) && in->type == TYPE_BOOLEAN) x = x != 0;
    *out = *ref_out = x;
    return 0;
}

static int close_enough(float a, float b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    double scale = fabs((double)b) > 1 ? fabs((double)b) : 1;
    return fabs((double)a - (double)b) <= PROBE_TOLERANCE * scale;
}

/* "Age=22, Sex=b" into buf, for the message. */
static void describe_row(const schema *s, const double *v, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < s->n_inputs && at + 1 < len; i++) {
        const schema_input *in = &s->inputs[i];
        char shown[48];
        if (isnan(v[i]))
            snprintf(shown, sizeof shown, "(missing)");
        else if (in->n_vocab && v[i] >= 0 && v[i] < (double)in->n_vocab)
            snprintf(shown, sizeof shown, "%.40s", in->vocab[(size_t)v[i]]);
        else if (in->n_vocab)
            snprintf(shown, sizeof shown, "(an unknown category)");
        else
            snprintf(shown, sizeof shown, "%.9g", v[i]);
        int w = snprintf(buf + at, len - at, "%s%s=%s", i ? ", " : "", in->name, shown);
        if (w < 0) break;
        at += (size_t)w;
    }
    if (at >= len && len > 4) strcpy(buf + len - 4, "...");
}

static int same_inputs(const schema *a, const schema *b)
{
    if (a->n_inputs != b->n_inputs) return 0;
    for (size_t i = 0; i < a->n_inputs; i++)
        if (strcmp(a->inputs[i].name, b->inputs[i].name) != 0 ||
            (b->inputs[i].n_vocab && !a->inputs[i].n_vocab))
            return 0;
    return 1;
}

int probe_agree(const model *fast, const model *ref, char *why, size_t len)
{
    const schema *s = &fast->schema;
    if (!same_inputs(s, &ref->schema)) {
        snprintf(why, len, "the compiled form reads other inputs than the graph");
        return 0;
    }
    if (fast->n_outputs != ref->n_outputs) {
        snprintf(why, len, "the compiled form answers %d numbers a row, the graph %d", fast->n_outputs,
                 ref->n_outputs);
        return 0;
    }
    size_t n_in = s->n_inputs, one = n_in ? n_in : 1;
    values *cand = calloc(one, sizeof *cand);
    int rc = cand && add_thresholds(fast, cand) == 0 ? 1 : -1;
    size_t rows = PROBE_MIN_ROWS;
    for (size_t i = 0; rc == 1 && i < n_in; i++) {
        const schema_input *in = &s->inputs[i];
        if (in->n_vocab) continue; /* its categories are its candidates */
        for (size_t k = 0; rc == 1 && k < N_PLAIN; k++)
            if (push(&cand[i], plain_values[k]) != 0) rc = -1;
        if (rc == 1 && !in->required && push(&cand[i], NAN) != 0) rc = -1;
        dedupe(&cand[i]);
        if (3 * cand[i].n + in->n_vocab > rows) rows = 3 * cand[i].n + in->n_vocab;
    }
    if (rows > PROBE_MAX_ROWS) rows = PROBE_MAX_ROWS;
    if (trees_of(fast->predictor)) {
        size_t n_trees = trees_of(fast->predictor)->n_trees;
        if (n_trees && rows * n_trees > PROBE_TREE_WALKS)
            rows = PROBE_TREE_WALKS / n_trees > PROBE_MIN_ROWS ? PROBE_TREE_WALKS / n_trees : PROBE_MIN_ROWS;
    }
    /* the rows, encoded for both; then each model scores them in one batch */
    double *va = malloc(rows * one * sizeof *va), *vb = malloc(rows * one * sizeof *vb);
    float *xa = malloc(rows * ((size_t)fast->n_features + 1) * sizeof *xa);
    float *xb = malloc(rows * ((size_t)ref->n_features + 1) * sizeof *xb);
    float *ya = malloc(rows * ((size_t)fast->n_outputs + 1) * sizeof *ya);
    float *yb = malloc(rows * ((size_t)ref->n_outputs + 1) * sizeof *yb);
    size_t scratch = model_scratch_floats(fast, (int)rows), scratch_b = model_scratch_floats(ref, (int)rows);
    float *sc = malloc(((scratch > scratch_b ? scratch : scratch_b) + 1) * sizeof *sc);
    if (!va || !vb || !xa || !xb || !ya || !yb || !sc) rc = -1;
    size_t kept = 0;
    for (size_t r = 0; rc == 1 && r < rows; r++) {
        double *a = va + kept * one, *b = vb + kept * one;
        int skip = 0;
        for (size_t i = 0; i < n_in && !skip; i++) {
            /* an input with more candidates than rows: spread the rows over them */
            size_t n = 3 * cand[i].n + s->inputs[i].n_vocab, step = n > rows ? n / rows : 1;
            skip = cell(&s->inputs[i], &ref->schema.inputs[i], &cand[i], r * step, i, &a[i], &b[i]) != 0;
        }
        char err[ERR_LEN];
        int bad;
        if (skip) continue;
        int fa = encode_values(fast, a, NULL, xa + kept * (size_t)fast->n_features, &bad, err);
        int fb = encode_values(ref, b, NULL, xb + kept * (size_t)ref->n_features, &bad, err);
        if (fa != fb) {
            char row[256];
            describe_row(s, a, row, sizeof row);
            snprintf(why, len, "probe row %zu (%s): %s", r, row,
                     fa != 0 ? "the compiled form refuses it, the graph answers"
                             : "the graph refuses it, the compiled form answers");
            rc = 0;
        } else if (fa == 0)
            kept++;
    }
    if (rc == 1 && kept) {
        model_predict(fast, xa, (int)kept, sc, ya);
        model_predict(ref, xb, (int)kept, sc, yb);
    }
    for (size_t r = 0; rc == 1 && r < kept; r++)
        for (int j = 0; j < fast->n_outputs; j++) {
            float ga = ya[r * (size_t)fast->n_outputs + (size_t)j],
                  gb = yb[r * (size_t)ref->n_outputs + (size_t)j];
            if (!close_enough(ga, gb)) {
                char row[256];
                describe_row(s, va + r * one, row, sizeof row);
                snprintf(why, len, "probe row (%s): output %d is %.9g compiled, %.9g as a graph", row, j,
                         (double)ga, (double)gb);
                rc = 0;
                break;
            }
        }
    for (size_t i = 0; cand && i < n_in; i++) free(cand[i].v);
    free(cand);
    free(va);
    free(vb);
    free(xa);
    free(xb);
    free(ya);
    free(yb);
    free(sc);
    if (rc < 0) snprintf(why, len, "out of memory");
    return rc;
}
