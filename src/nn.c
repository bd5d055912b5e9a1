/* nn — dense layers and activations. The matrix product is blocked so that a
 * tile of outputs stays in vector registers while one pass streams over n_in. */
#include "nn.h"

#include <math.h>
#include <string.h>

float nn_sigmoid(float z)
{
    /* split by sign so exp never overflows */
    if (z >= 0) return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
}

static void activate(float *y, size_t n, activation act)
{
    switch (act) {
    case ACT_LINEAR: break;
    case ACT_RELU:
        for (size_t i = 0; i < n; i++) y[i] = y[i] > 0 ? y[i] : 0;
        break;
    case ACT_TANH:
        for (size_t i = 0; i < n; i++) y[i] = tanhf(y[i]);
        break;
    case ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) y[i] = nn_sigmoid(y[i]);
        break;
    }
}

#define TILE_ROWS 4
#define TILE_COLS 32

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(TABSERVE_NO_CLONES)
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MULTIVERSION
#endif

/* A full tile: rows r..r+TILE_ROWS, columns c..c+TILE_COLS, accumulated in
 * registers over all of n_in. x (., n_in), w (n_in, n_out), y (., n_out). */
MULTIVERSION
static void tile_full(float *restrict y, const float *restrict x, const float *restrict w,
                      const float *restrict b, int n_in, int n_out)
{
    float acc[TILE_ROWS][TILE_COLS];
    for (int r = 0; r < TILE_ROWS; r++)
        for (int j = 0; j < TILE_COLS; j++) acc[r][j] = b[j];
    for (int i = 0; i < n_in; i++) {
        const float *wi = w + (size_t)i * n_out;
        for (int r = 0; r < TILE_ROWS; r++) {
            float xv = x[(size_t)r * n_in + i];
            for (int j = 0; j < TILE_COLS; j++) acc[r][j] += xv * wi[j];
        }
    }
    for (int r = 0; r < TILE_ROWS; r++) memcpy(y + (size_t)r * n_out, acc[r], sizeof acc[r]);
}

/* Any leftover rectangle (rows < TILE_ROWS or cols < TILE_COLS), and the
 * single-row case a request takes: y_r += x[r][i] * w[i] over the columns,
 * skipping zero inputs (one-hot columns and ReLU outputs are mostly zero). */
MULTIVERSION
static void tile_edge(float *restrict y, const float *restrict x, const float *restrict w,
                      const float *restrict b, int rows, int cols, int n_in, int n_out)
{
    for (int r = 0; r < rows; r++) {
        float *restrict yr = y + (size_t)r * n_out;
        for (int j = 0; j < cols; j++) yr[j] = b[j];
        for (int i = 0; i < n_in; i++) {
            float xv = x[(size_t)r * n_in + i];
            if (xv == 0.0f) continue;
            const float *restrict wi = w + (size_t)i * n_out;
            for (int j = 0; j < cols; j++) yr[j] += xv * wi[j];
        }
    }
}

void nn_dense(float *y, const float *x, const float *w, const float *b, int n, int n_in, int n_out,
              activation act)
{
    int full_rows = n - n % TILE_ROWS, full_cols = n_out - n_out % TILE_COLS;
    for (int r = 0; r < n; r += TILE_ROWS) {
        int rows = r < full_rows ? TILE_ROWS : n - r;
        for (int c = 0; c < n_out; c += TILE_COLS) {
            float *yt = y + (size_t)r * n_out + c;
            const float *xt = x + (size_t)r * n_in;
            if (rows == TILE_ROWS && c < full_cols)
                tile_full(yt, xt, w + c, b + c, n_in, n_out);
            else if (rows < TILE_ROWS) /* whole rows at once: long vectors, zero skipping */
                tile_edge(yt, xt, w, b, rows, n_out, n_in, n_out), c = n_out;
            else
                tile_edge(yt, xt, w + c, b + c, rows, n_out - c, n_in, n_out);
        }
    }
    activate(y, (size_t)n * n_out, act);
}

/* One row through a layer, touching only the non-zero span of each weight row
 * and skipping zero inputs. x (n_in,) -> y (n_out,); exact, zeros add nothing. */
MULTIVERSION
static void row_sparse(float *restrict y, const float *restrict x, const model_layer *l)
{
    const float *restrict w = l->w;
    for (int j = 0; j < l->n_out; j++) y[j] = l->b[j];
    for (int i = 0; i < l->n_in; i++) {
        float xv = x[i];
        int lo = l->span[2 * i], hi = l->span[2 * i + 1];
        if (xv == 0.0f) continue;
        const float *restrict wi = w + (size_t)i * l->n_out;
        for (int j = lo; j < hi; j++) y[j] += xv * wi[j];
    }
    activate(y, (size_t)l->n_out, l->act);
}

size_t nn_scratch_floats(const model *m, int n) { return 2 * (size_t)m->max_width * (size_t)n; }

void nn_forward(const model *m, const float *x, int n, float *scratch, float *p)
{
    float *buf[2] = {scratch, scratch + (size_t)m->max_width * n};
    const float *in = x;
    for (size_t i = 0; i < m->n_layers; i++) {
        const model_layer *l = &m->layers[i];
        float *out = i + 1 == m->n_layers ? p : buf[i % 2];
        if (n == 1 && l->span)
            row_sparse(out, in, l);
        else
            nn_dense(out, in, l->w, l->b, n, l->n_in, l->n_out, l->act);
        in = out;
    }
}
