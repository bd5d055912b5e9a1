/* explain — the three methods, and the grouping of columns into inputs. */
#include "explain/explain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "estimators/trees.h"
#include "explain/treeshap.h"

#define CHUNK_ROWS 1024 /* rows scored at once by the interventional method */

const char *explain_method_name(explain_method method)
{
    switch (method) {
    case EXPLAIN_TREES: return "tree_path_dependent";
    case EXPLAIN_LINEAR: return "linear";
    case EXPLAIN_INTERVENTIONAL: break;
    }
    return "interventional";
}

static const tree_ensemble *trees_of(const model *m)
{
    return strcmp(m->predictor->ops->kind, "trees") == 0 ? (const tree_ensemble *)m->predictor : NULL;
}

int explain_method_of(const model *m, explain_method *out, char *err)
{
    const tree_ensemble *e = trees_of(m);
    if (e && treeshap_possible(e)) {
        *out = EXPLAIN_TREES;
        return 0;
    }
    if (strcmp(m->predictor->ops->kind, "linear") == 0) {
        *out = EXPLAIN_LINEAR;
        return 0;
    }
    *out = EXPLAIN_INTERVENTIONAL;
    if (m->schema.n_inputs > EXPLAIN_MAX_INPUTS)
        return err_set(
            err,
            "this model has %zu inputs: exact Shapley values over its inputs take 2^%zu coalitions, and "
            "tabserve enumerates them for at most %d inputs",
            m->schema.n_inputs, m->schema.n_inputs, EXPLAIN_MAX_INPUTS);
    if (!m->n_background)
        return err_set(err,
                       "this model has no background sample to measure contributions against (%s); add "
                       "\"background\": [rows of input values] to its schema file, or retrain it with "
                       "tabserve train",
                       e ? "its trees carry no covers" : "it is not a tree ensemble or a linear model");
    return 0;
}

/* What explaining needs of a model, made once: the method, the feature
 * column -> input map, and for trees the per-leaf tables. */
struct explainer {
    const model *m;
    explain_method method;
    int *input_of;           /* (n_features,) the input whose feature writes each column */
    treeshap_tables *tables; /* NULL: the recursion (not built, or too large) */
};

/* column -> the input whose feature writes it */
static void column_inputs(const model *m, int *input_of)
{
    for (size_t f = 0; f < m->features.n; f++)
        for (int c = 0; c < m->features.f[f].width; c++)
            input_of[m->features.f[f].offset + c] = (int)m->features.f[f].input;
}

static int explain_trees(const explainer *ex, const float *x, double *margin, double *base, double *contrib)
{
    const model *m = ex->m;
    const tree_ensemble *e = trees_of(m);
    const int *input_of = ex->input_of;
    int nf = m->n_features, k = m->predictor->n_outputs;
    size_t ni = m->schema.n_inputs;
    double *phi = malloc((size_t)k * (size_t)(nf + 1) * sizeof *phi);
    if (!phi) return -1;
    if (ex->tables)
        treeshap_row_tables(e, ex->tables, x, phi);
    else
        treeshap_row(e, x, phi);
    for (int o = 0; o < k; o++) {
        const double *row = phi + (size_t)o * (size_t)(nf + 1);
        double *c = contrib + (size_t)o * ni;
        memset(c, 0, ni * sizeof *c);
        base[o] = row[nf];
        margin[o] = row[nf];
        for (int col = 0; col < nf; col++) {
            c[input_of[col]] += row[col];
            margin[o] += row[col];
        }
    }
    free(phi);
    return 0;
}

/* Scores rows (n, nf) into margins (n, k): the predictor, no link. */
static void margins(const model *m, const float *rows, int n, float *scratch, float *y)
{
    memset(y, 0, (size_t)n * (size_t)m->predictor->n_outputs * sizeof *y);
    m->predictor->ops->predict(m->predictor, rows, n, scratch, y);
}

/* Shapley's weight of a coalition of s of k players: s! (k - s - 1)! / k! */
static double coalition_weight(int s, int k)
{
    double w = 1.0 / k;
    for (int i = 1; i <= s; i++) w *= (double)i / (k - i);
    return w;
}

/* The coalition's mask gathered onto the bits of `differ` (pext): the index of
 * S's distinct row among background row b's rows. */
static size_t gather_bits(size_t s, size_t differ)
{
    size_t out = 0;
    for (int j = 0; differ; differ &= differ - 1, j++)
        if (s & (differ & -differ)) out |= (size_t)1 << j;
    return out;
}

/* v(S) for every coalition S: the mean over background rows b of the margin
 * of the row taking S's inputs from x and the rest from b. An input where b
 * already equals x (the same Sex, the same class: often) changes nothing, so
 * each b needs only the 2^|D_b| rows of the inputs D_b where it differs; each
 * distinct row is scored once, in batches, and v(S) reads b's row for S & D_b.
 * The same values as scoring all 2^k x background rows. */
static int explain_interventional(const explainer *ex, const float *x, double *margin, double *base,
                                  double *contrib)
{
    const model *m = ex->m;
    const int *input_of = ex->input_of;
    int nf = m->n_features, k = m->predictor->n_outputs, ni = (int)m->schema.n_inputs, nb = m->n_background;
    size_t coalitions = (size_t)1 << ni;
    size_t *differ = malloc((size_t)nb * sizeof *differ), *first = malloc(((size_t)nb + 1) * sizeof *first);
    double *value = calloc(coalitions * (size_t)k, sizeof *value); /* v(S): the mean margin */
    float *rows = NULL, *y = NULL, *scratch = NULL, *ys = NULL;
    int rc = -1;
    if (!differ || !first || !value) goto out;
    size_t total = 0;
    for (int bi = 0; bi < nb; bi++) {
        const float *bg = m->background + (size_t)bi * (size_t)nf;
        differ[bi] = 0;
        for (int c = 0; c < nf; c++)
            if (bg[c] != x[c]) differ[bi] |= (size_t)1 << input_of[c];
        first[bi] = total;
        total += (size_t)1 << __builtin_popcountll(differ[bi]);
    }
    first[nb] = total;
    int chunk = total < CHUNK_ROWS ? (int)total : CHUNK_ROWS;
    rows = malloc((size_t)chunk * (size_t)nf * sizeof *rows);
    y = malloc((size_t)chunk * (size_t)k * sizeof *y);
    ys = malloc(total * (size_t)k * sizeof *ys); /* every distinct row's margins */
    scratch = malloc((m->predictor->ops->scratch_floats(m->predictor, chunk) + 1) * sizeof *scratch);
    if (!rows || !y || !ys || !scratch) goto out;
    /* the distinct rows, chunk by chunk: row j of background row b takes from x
     * the inputs of D_b whose bit is set in j */
    int bi = 0;
    for (size_t start = 0; start < total; start += (size_t)chunk) {
        int n = (int)(total - start < (size_t)chunk ? total - start : (size_t)chunk);
        for (int r = 0; r < n; r++) {
            size_t at = start + (size_t)r;
            while (at >= first[bi + 1]) bi++;
            size_t j = at - first[bi], d = differ[bi], s = 0;
            for (int bit = 0; d; d &= d - 1, bit++) /* j's bits scattered onto D_b (pdep) */
                if (j >> bit & 1) s |= d & -d;
            const float *bg = m->background + (size_t)bi * (size_t)nf;
            float *out = rows + (size_t)r * (size_t)nf;
            for (int c = 0; c < nf; c++) out[c] = (s >> input_of[c] & 1) ? x[c] : bg[c];
        }
        margins(m, rows, n, scratch, y);
        memcpy(ys + start * (size_t)k, y, (size_t)n * (size_t)k * sizeof *y);
    }
    for (size_t s = 0; s < coalitions; s++)
        for (int b2 = 0; b2 < nb; b2++) {
            const float *yr = ys + (first[b2] + gather_bits(s, differ[b2])) * (size_t)k;
            for (int o = 0; o < k; o++) value[s * (size_t)k + (size_t)o] += yr[o];
        }
    for (size_t i = 0; i < coalitions * (size_t)k; i++) value[i] /= nb;
    for (int o = 0; o < k; o++) {
        base[o] = value[o];
        margin[o] = value[(coalitions - 1) * (size_t)k + (size_t)o];
        for (int i = 0; i < ni; i++) {
            double phi = 0;
            for (size_t s = 0; s < coalitions; s++) {
                if (s >> i & 1) continue;
                int size = __builtin_popcountll(s);
                phi += coalition_weight(size, ni) * (value[(s | (size_t)1 << i) * (size_t)k + (size_t)o] -
                                                     value[s * (size_t)k + (size_t)o]);
            }
            contrib[(size_t)o * (size_t)ni + (size_t)i] = phi;
        }
    }
    rc = 0;
out:
    free(differ);
    free(first);
    free(value);
    free(rows);
    free(y);
    free(ys);
    free(scratch);
    return rc;
}

/* Additive in the columns: input i's contribution is the margin with i's
 * columns at the row's values, the rest at the centre, less the centre's. */
static int explain_linear(const explainer *ex, const float *x, double *margin, double *base, double *contrib)
{
    const model *m = ex->m;
    const int *input_of = ex->input_of;
    int nf = m->n_features, k = m->predictor->n_outputs, ni = (int)m->schema.n_inputs;
    int n = ni + 2; /* the centre, each input moved, the row */
    float *rows = calloc((size_t)n * (size_t)nf, sizeof *rows),
          *y = malloc((size_t)n * (size_t)k * sizeof *y);
    float *scratch = malloc((m->predictor->ops->scratch_floats(m->predictor, n) + 1) * sizeof *scratch);
    int rc = -1;
    if (!rows || !y || !scratch) goto out;
    for (int c = 0; c < nf; c++) { /* the centre: the background's mean (0 without one) */
        double mean = 0;
        for (int b = 0; b < m->n_background; b++) mean += m->background[(size_t)b * (size_t)nf + (size_t)c];
        rows[c] = m->n_background ? (float)(mean / m->n_background) : 0.0f;
    }
    for (int r = 1; r < n; r++)
        for (int c = 0; c < nf; c++)
            rows[(size_t)r * (size_t)nf + (size_t)c] = (r == n - 1 || input_of[c] == r - 1) ? x[c] : rows[c];
    margins(m, rows, n, scratch, y);
    for (int o = 0; o < k; o++) {
        base[o] = y[o];
        margin[o] = y[(size_t)(n - 1) * (size_t)k + (size_t)o];
        for (int i = 0; i < ni; i++)
            contrib[(size_t)o * (size_t)ni + (size_t)i] =
                (double)y[(size_t)(i + 1) * (size_t)k + (size_t)o] - y[o];
    }
    rc = 0;
out:
    free(rows);
    free(y);
    free(scratch);
    return rc;
}

/* tables: build the trees' per-leaf tables (worth it for many rows) */
static explainer *make(const model *m, int tables, char *err)
{
    explain_method method;
    if (explain_method_of(m, &method, err) != 0) return NULL;
    explainer *ex = calloc(1, sizeof *ex);
    if (!ex || !(ex->input_of = malloc((size_t)m->n_features * sizeof *ex->input_of))) {
        free(ex);
        return err_set(err, "out of memory"), NULL;
    }
    ex->m = m;
    ex->method = method;
    column_inputs(m, ex->input_of);
    if (method == EXPLAIN_TREES && tables) ex->tables = treeshap_tables_build(trees_of(m));
    return ex;
}

explainer *explainer_create(const model *m, char *err) { return make(m, 1, err); }

void explainer_free(explainer *ex)
{
    if (!ex) return;
    treeshap_tables_free(ex->tables);
    free(ex->input_of);
    free(ex);
}

explain_method explainer_method(const explainer *ex) { return ex->method; }

int explainer_row(const explainer *ex, const float *x, double *margin, double *base, double *contrib,
                  char *err)
{
    int rc = ex->method == EXPLAIN_TREES    ? explain_trees(ex, x, margin, base, contrib)
             : ex->method == EXPLAIN_LINEAR ? explain_linear(ex, x, margin, base, contrib)
                                            : explain_interventional(ex, x, margin, base, contrib);
    return rc == 0 ? 0 : err_set(err, "out of memory explaining a row");
}

int explain_row(const model *m, const float *x, double *margin, double *base, double *contrib, char *err)
{
    explainer *ex = make(m, 0, err); /* one row: the recursion, no tables */
    int rc = ex ? explainer_row(ex, x, margin, base, contrib, err) : -1;
    explainer_free(ex);
    return rc;
}

size_t explain_json_max(const model *m)
{
    size_t names = 0;
    for (size_t i = 0; i < m->schema.n_inputs; i++) names += m->schema.inputs[i].name_len + 40;
    size_t classes = 64;
    for (size_t c = 0; c < m->output.n_classes; c++) classes += strlen(m->output.classes[c]) + 8;
    return output_row_max(&m->output) + (size_t)m->predictor->n_outputs * (names + classes + 128) + 256;
}

static char *put_number(char *p, double v)
{
    return p + sprintf(p, "%.12g", v); /* base + contributions = margin, to far below 1e-5 */
}

/* {"a": v, ...} or, per class, {"class": {...}} */
static char *per_output(const model *m, char *p, const double *v, size_t stride, int inputs)
{
    int k = m->predictor->n_outputs;
    if (k > 1) *p++ = '{';
    for (int o = 0; o < k; o++) {
        if (k > 1) p += sprintf(p, "%s\"%s\": ", o ? ", " : "", m->output.classes[o]);
        const double *row = v + (size_t)o * stride;
        if (!inputs) {
            p = put_number(p, row[0]);
            continue;
        }
        *p++ = '{';
        for (size_t i = 0; i < m->schema.n_inputs; i++) {
            p += sprintf(p, "%s\"%s\": ", i ? ", " : "", m->schema.inputs[i].name);
            p = put_number(p, row[i]);
        }
        *p++ = '}';
    }
    if (k > 1) *p++ = '}';
    return p;
}

size_t explain_json(const model *m, explain_method method, const float *y, const double *margin,
                    const double *base, const double *contrib, char *buf)
{
    char *p = buf;
    p += sprintf(p, "{\"predict\": ");
    p += output_row_json(&m->output, y, p);
    p += sprintf(p, ", \"base\": ");
    p = per_output(m, p, base, 1, 0);
    p += sprintf(p, ", \"margin\": ");
    p = per_output(m, p, margin, 1, 0);
    p += sprintf(p, ", \"contributions\": ");
    p = per_output(m, p, contrib, m->schema.n_inputs, 1);
    p += sprintf(p, ", \"method\": \"%s\"}", explain_method_name(method));
    return (size_t)(p - buf);
}
