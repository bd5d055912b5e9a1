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

#define TILE_COLS 16
#define TILE_VECS (TILE_COLS / 8)

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(TABSERVE_NO_CLONES)
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define X86_DISPATCH 1
#else
#define MULTIVERSION
#endif

/* 8 floats: GCC lowers it to one AVX register, two SSE or two NEON registers */
typedef float v8 __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

/* a macro, not a function: passing vectors by value across calls changes the ABI per ISA */
#define LOAD8(dst, p) memcpy(&(dst), (p), sizeof(v8))

typedef void (*tile_fn)(float *restrict y, const float *restrict x, const float *restrict w,
                        const float *restrict b, int n_in, int n_out);

/* A full tile: ROWS rows by TILE_COLS columns kept in vector registers over all
 * of n_in (per step: one broadcast per row, TILE_VECS loads, ROWS * TILE_VECS
 * FMAs, so the FMA units set the pace). RELU applies max(y, 0) on the way out,
 * saving a pass over y.
 * x (ROWS, n_in) with row stride n_in, w (n_in, n_out), y (ROWS, n_out). */
#define DEFINE_TILE(name, ROWS, RELU, ATTR)                                                                  \
    ATTR static void name(float *restrict y, const float *restrict x, const float *restrict w,               \
                          const float *restrict b, int n_in, int n_out)                                      \
    {                                                                                                        \
        v8 acc[ROWS][TILE_VECS], wv[TILE_VECS];                                                              \
        _Pragma("GCC unroll 16") for (int v = 0; v < TILE_VECS; v++) LOAD8(wv[v], b + 8 * v);                \
        _Pragma("GCC unroll 16") for (int r = 0; r < ROWS; r++)                                              \
            _Pragma("GCC unroll 16") for (int v = 0; v < TILE_VECS; v++) acc[r][v] = wv[v];                  \
        for (int i = 0; i < n_in; i++) {                                                                     \
            const float *wi = w + (size_t)i * n_out;                                                         \
            _Pragma("GCC unroll 16") for (int v = 0; v < TILE_VECS; v++) LOAD8(wv[v], wi + 8 * v);           \
            _Pragma("GCC unroll 16") for (int r = 0; r < ROWS; r++)                                          \
            {                                                                                                \
                float xv = x[(size_t)r * n_in + i];                                                          \
                _Pragma("GCC unroll 16") for (int v = 0; v < TILE_VECS; v++) acc[r][v] += xv * wv[v];        \
            }                                                                                                \
        }                                                                                                    \
        _Pragma("GCC unroll 16") for (int r = 0; r < ROWS; r++)                                              \
            _Pragma("GCC unroll 16") for (int v = 0; v < TILE_VECS; v++)                                     \
        {                                                                                                    \
            v8 out = acc[r][v], zero = {0};                                                                  \
            if (RELU) out = (v8)((v8i)out & (out > zero)); /* y > 0 ? y : +0, as activate() */               \
            memcpy(y + (size_t)r * n_out + 8 * v, &out, sizeof out);                                         \
        }                                                                                                    \
    }

#define V4 __attribute__((target("arch=x86-64-v4")))
#define V3 __attribute__((target("arch=x86-64-v3")))
#ifdef X86_DISPATCH
/* AVX-512VL has 32 vector registers: room for 28 accumulators */
DEFINE_TILE(tile_v4, 14, 0, V4)
DEFINE_TILE(tile_v4_relu, 14, 1, V4)
DEFINE_TILE(tile_v3, 6, 0, V3)
DEFINE_TILE(tile_v3_relu, 6, 1, V3)
#endif
DEFINE_TILE(tile_base, 6, 0, )
DEFINE_TILE(tile_base_relu, 6, 1, )

typedef struct {
    tile_fn plain, relu;
    int rows;
} tile_kind;

static tile_kind pick_tile(void)
{
#ifdef X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
        return (tile_kind){tile_v4, tile_v4_relu, 14};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return (tile_kind){tile_v3, tile_v3_relu, 6};
#endif
    return (tile_kind){tile_base, tile_base_relu, 6};
}

/* chosen once; every thread would choose the same */
static const tile_kind *the_tile(void)
{
    static tile_kind kind;
    static int chosen;
    if (!chosen) {
        kind = pick_tile();
        chosen = 1;
    }
    return &kind;
}

/* One output unit: y[r] = b + x[r] . w, a dot product per row. x (n, n_in), w (n_in,).
 * ROWS rows at a time so that independent FMA chains overlap; each row's sum keeps
 * one fixed order (8 partial sums, then lanes 0..7, then the tail), whatever ROWS. */
#define DOT_ROWS(ROWS)                                                                                       \
    do {                                                                                                     \
        v8 acc[ROWS] = {{0}}, xv, wv;                                                                        \
        int i = 0;                                                                                           \
        for (; i + 8 <= n_in; i += 8) {                                                                      \
            LOAD8(wv, w + i);                                                                                \
            _Pragma("GCC unroll 4") for (int k = 0; k < ROWS; k++)                                           \
            {                                                                                                \
                LOAD8(xv, x + (size_t)(r + k) * n_in + i);                                                   \
                acc[k] += xv * wv;                                                                           \
            }                                                                                                \
        }                                                                                                    \
        _Pragma("GCC unroll 4") for (int k = 0; k < ROWS; k++)                                               \
        {                                                                                                    \
            const float *xr = x + (size_t)(r + k) * n_in;                                                    \
            float s = 0;                                                                                     \
            for (int j = 0; j < 8; j++) s += acc[k][j];                                                      \
            for (int t = i; t < n_in; t++) s += xr[t] * w[t];                                                \
            y[r + k] = b + s;                                                                                \
        }                                                                                                    \
    } while (0)

MULTIVERSION
static void dense_one(float *restrict y, const float *restrict x, const float *restrict w, float b, int n,
                      int n_in)
{
    int r = 0;
    for (; r + 4 <= n; r += 4) DOT_ROWS(4);
    for (; r < n; r++) DOT_ROWS(1);
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
    const tile_kind *t = the_tile();
    if (n_out == 1) {
        dense_one(y, x, w, b[0], n, n_in);
        activate(y, (size_t)n, act);
        return;
    }
    tile_fn tile = act == ACT_RELU ? t->relu : t->plain;
    int rows = t->rows, full_rows = n - n % rows, full_cols = n_out - n_out % TILE_COLS;
    for (int r = 0; r < full_rows; r += rows)
        for (int c = 0; c < full_cols; c += TILE_COLS)
            tile(y + (size_t)r * n_out + c, x + (size_t)r * n_in, w + c, b + c, n_in, n_out);
    if (act != ACT_RELU && full_cols > 0)
        for (int r = 0; r < full_rows; r++) activate(y + (size_t)r * n_out, (size_t)full_cols, act);
    if (full_cols < n_out) /* the columns right of the last full tile, full rows */
        for (int r = 0; r < full_rows; r++) {
            float *yr = y + (size_t)r * n_out + full_cols;
            tile_edge(yr, x + (size_t)r * n_in, w + full_cols, b + full_cols, 1, n_out - full_cols, n_in,
                      n_out);
            activate(yr, (size_t)(n_out - full_cols), act);
        }
    if (full_rows < n) { /* the rows below the last full tile, all columns */
        tile_edge(y + (size_t)full_rows * n_out, x + (size_t)full_rows * n_in, w, b, n - full_rows, n_out,
                  n_in, n_out);
        activate(y + (size_t)full_rows * n_out, (size_t)(n - full_rows) * n_out, act);
    }
}

/* One row through a layer: each block of 8 output columns is summed in
 * registers over just the input rows that touch it (the layer's block index),
 * two accumulators to hide FMA latency. Zero inputs, and zero weights inside a
 * block, add exact zeros. x (n_in,) -> y (n_out,). */
MULTIVERSION
static void row_blocked(float *restrict y, const float *restrict x, const model_layer *l)
{
    const float *restrict w = l->w;
    const int n_out = l->n_out, blocks = n_out / 8;
    for (int bi = 0; bi < blocks; bi++) {
        v8 acc0, acc1 = {0}, w0, w1;
        LOAD8(acc0, l->b + 8 * bi);
        int k = l->block_start[bi], end = l->block_start[bi + 1];
        for (; k + 1 < end; k += 2) {
            int i0 = l->block_rows[k], i1 = l->block_rows[k + 1];
            LOAD8(w0, w + (size_t)i0 * n_out + 8 * bi);
            LOAD8(w1, w + (size_t)i1 * n_out + 8 * bi);
            acc0 += x[i0] * w0;
            acc1 += x[i1] * w1;
        }
        if (k < end) {
            LOAD8(w0, w + (size_t)l->block_rows[k] * n_out + 8 * bi);
            acc0 += x[l->block_rows[k]] * w0;
        }
        acc0 += acc1;
        memcpy(y + 8 * bi, &acc0, sizeof acc0);
    }
    for (int j = 8 * blocks; j < n_out; j++) { /* columns past the last whole block */
        float s = l->b[j];
        for (int i = 0; i < l->n_in; i++) s += x[i] * w[(size_t)i * n_out + j];
        y[j] = s;
    }
    activate(y, (size_t)n_out, l->act);
}

size_t nn_scratch_floats(const model *m, int n) { return 2 * (size_t)m->max_width * (size_t)n; }

void nn_forward(const model *m, const float *x, int n, float *scratch, float *p)
{
    float *buf[2] = {scratch, scratch + (size_t)m->max_width * n};
    const float *in = x;
    for (size_t i = 0; i < m->n_layers; i++) {
        const model_layer *l = &m->layers[i];
        float *out = i + 1 == m->n_layers ? p : buf[i % 2];
        if (n == 1 && l->block_start && l->n_out >= 8) /* narrower: dense_one's 8-wide dot product */
            row_blocked(out, in, l);
        else
            nn_dense(out, in, l->w, l->b, n, l->n_in, l->n_out, l->act);
        in = out;
    }
}
