/* mlp — dense layers and activations, and the MLP predictor. The matrix product
 * is blocked so that a tile of outputs stays in vector registers while one pass
 * streams over n_in. */
#define _POSIX_C_SOURCE 200809L
#include "estimators/estimators.h"
#include "estimators/mlp.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/jsonx.h"
#include "model/output.h"

#define MAX_LAYERS 64
#define MAX_WIDTH  65536

const char *activation_name(activation a)
{
    static const char *names[] = {"linear", "relu", "tanh", "sigmoid"};
    return names[a];
}

float nn_act(float z, activation act)
{
    switch (act) {
    case ACT_RELU: return z > 0 ? z : 0;
    case ACT_TANH: return tanhf(z);
    case ACT_SIGMOID: return link_sigmoid(z);
    case ACT_LINEAR: break;
    }
    return z;
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
        for (size_t i = 0; i < n; i++) y[i] = link_sigmoid(y[i]);
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

/* A full tile: ROWS rows by TILE_COLS columns kept in vector registers over all
 * of n_in (per step: one broadcast per row, TILE_VECS loads, ROWS * TILE_VECS
 * FMAs, so the FMA units set the pace). RELU applies max(y, 0) on the way out,
 * saving a pass over y.
 * x (ROWS, n_in) with row stride n_in, w (n_in, n_out), y (ROWS, n_out). */
#define DEFINE_TILE(name, ROWS, RELU, ATTR)                                                                  \
    ATTR static void name(float *restrict y, const float *restrict x, const float *restrict w,               \
                          const float *restrict b, int lo, int hi, int n_in, int n_out)                      \
    {                                                                                                        \
        v8 acc[ROWS][TILE_VECS], wv[TILE_VECS];                                                              \
        _Pragma("GCC unroll 16") for (int v = 0; v < TILE_VECS; v++) LOAD8(wv[v], b + 8 * v);                \
        _Pragma("GCC unroll 16") for (int r = 0; r < ROWS; r++)                                              \
            _Pragma("GCC unroll 16") for (int v = 0; v < TILE_VECS; v++) acc[r][v] = wv[v];                  \
        for (int i = lo; i < hi; i++) {                                                                      \
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

/* The same tile with one 16-float vector a row's 16 columns: with AVX-512 a
 * step is one load and ROWS FMAs on full-width registers (on a machine whose
 * FMA units are 512 bits wide, twice the work a cycle of 8-float halves). The
 * arithmetic per output is the same, in the same order. */
typedef float v16 __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));
#define DEFINE_TILE16(name, ROWS, RELU, ATTR)                                                                \
    ATTR static void name(float *restrict y, const float *restrict x, const float *restrict w,               \
                          const float *restrict b, int lo, int hi, int n_in, int n_out)                      \
    {                                                                                                        \
        v16 acc[ROWS], wv;                                                                                   \
        memcpy(&wv, b, sizeof wv);                                                                           \
        _Pragma("GCC unroll 32") for (int r = 0; r < ROWS; r++) acc[r] = wv;                                 \
        for (int i = lo; i < hi; i++) {                                                                      \
            memcpy(&wv, w + (size_t)i * n_out, sizeof wv);                                                   \
            _Pragma("GCC unroll 32") for (int r = 0; r < ROWS; r++) acc[r] += x[(size_t)r * n_in + i] * wv;  \
        }                                                                                                    \
        _Pragma("GCC unroll 32") for (int r = 0; r < ROWS; r++)                                              \
        {                                                                                                    \
            v16 out = acc[r], zero = {0};                                                                    \
            if (RELU) out = (v16)((v16i)out & (out > zero)); /* y > 0 ? y : +0, as activate() */             \
            memcpy(y + (size_t)r * n_out, &out, sizeof out);                                                 \
        }                                                                                                    \
    }

#define V4 __attribute__((target("arch=x86-64-v4")))
#define V3 __attribute__((target("arch=x86-64-v3")))
#ifdef X86_DISPATCH
/* AVX-512: 16 rows of one 16-float accumulator each (batch 1024 of a
 * 20-128-128-1 network on AMD EPYC: 365 -> 250 ns a row against 8-float
 * halves in 14 rows, which had room for 28 accumulators in 32 registers) */
DEFINE_TILE16(tile_z16, 16, 0, V4)
DEFINE_TILE16(tile_z16_relu, 16, 1, V4)
DEFINE_TILE(tile_v3, 6, 0, V3)
DEFINE_TILE(tile_v3_relu, 6, 1, V3)
#endif
DEFINE_TILE(tile_base, 6, 0, )
DEFINE_TILE(tile_base_relu, 6, 1, )

nn_kernels nn_kernels_pick(void)
{
#ifdef X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
        return (nn_kernels){tile_z16, tile_z16_relu, 16};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return (nn_kernels){tile_v3, tile_v3_relu, 6};
#endif
    return (nn_kernels){tile_base, tile_base_relu, 6};
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

/* Any leftover rectangle (fewer rows than the tile, or cols < TILE_COLS), and the
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

/* nn_dense, each full 16-column tile summed over its rows [lo, hi) of tile_range
 * only (NULL: all of n_in). */
static void nn_dense_ranged(const nn_kernels *t, float *y, const float *x, const float *w, const float *b,
                            int n, int n_in, int n_out, activation act, const int *tile_range)
{
    if (n_out == 1) {
        dense_one(y, x, w, b[0], n, n_in);
        activate(y, (size_t)n, act);
        return;
    }
    nn_tile_fn tile = act == ACT_RELU ? t->relu : t->plain;
    int rows = t->rows, full_rows = n - n % rows, full_cols = n_out - n_out % TILE_COLS;
    for (int r = 0; r < full_rows; r += rows)
        for (int c = 0; c < full_cols; c += TILE_COLS) {
            const int *range = tile_range ? tile_range + 2 * (c / TILE_COLS) : NULL;
            tile(y + (size_t)r * n_out + c, x + (size_t)r * n_in, w + c, b + c, range ? range[0] : 0,
                 range ? range[1] : n_in, n_in, n_out);
        }
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

void nn_dense(const nn_kernels *t, float *y, const float *x, const float *w, const float *b, int n, int n_in,
              int n_out, activation act)
{
    nn_dense_ranged(t, y, x, w, b, n, n_in, n_out, act, NULL);
}

/* One row through a layer: each block of 8 output columns is summed in
 * registers over just the input rows that touch it (the layer's block index).
 * One accumulator, bias first, inputs in ascending order: the batch kernels'
 * order, so a row alone and the same row in a batch give the same bits (zero
 * weights inside a block, skipped here, add exact zeros there); the blocks'
 * independent chains overlap in the out-of-order core. x (n_in,) -> y (n_out,). */
MULTIVERSION
static void row_blocked(float *restrict y, const float *restrict x, const mlp_layer *l)
{
    const float *restrict w = l->w;
    const int n_out = l->n_out, blocks = n_out / 8;
    for (int bi = 0; bi < blocks; bi++) {
        v8 acc, wv;
        LOAD8(acc, l->b + 8 * bi);
        for (int k = l->block_start[bi], end = l->block_start[bi + 1]; k < end; k++) {
            int i = l->block_rows[k];
            LOAD8(wv, w + (size_t)i * n_out + 8 * bi);
            acc += x[i] * wv;
        }
        memcpy(y + 8 * bi, &acc, sizeof acc);
    }
    for (int j = 8 * blocks; j < n_out; j++) { /* columns past the last whole block */
        float s = l->b[j];
        for (int i = 0; i < l->n_in; i++) s += x[i] * w[(size_t)i * n_out + j];
        y[j] = s;
    }
    activate(y, (size_t)n_out, l->act);
}

size_t mlp_scratch_floats(const mlp *net, int n) { return 2 * (size_t)net->max_width * (size_t)n; }

/* Subnormal numbers (|v| < FLT_MIN) as zero while a network runs: weight decay
 * leaves some weights there (31 in the default model), and an FMA with a
 * subnormal operand takes a microcode assist, ~100 times a normal one — it made
 * the default model's second layer 16x slower. As zero they move no output
 * beyond float precision; the weights themselves (and the hash) stay as they
 * are. x86's MXCSR, per thread: DAZ reads them as zero, FTZ writes zero. */
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define SUBNORMALS_AS_ZERO_BEGIN                                                                             \
    unsigned csr_ = _mm_getcsr();                                                                            \
    _mm_setcsr(csr_ | 0x8040u);
#define SUBNORMALS_AS_ZERO_END _mm_setcsr(csr_);
#else
#define SUBNORMALS_AS_ZERO_BEGIN
#define SUBNORMALS_AS_ZERO_END
#endif

void mlp_forward(const mlp *net, const float *x, int n, float *scratch, float *y)
{
    SUBNORMALS_AS_ZERO_BEGIN
    float *buf[2] = {scratch, scratch + (size_t)net->max_width * n};
    const float *in = x;
    for (size_t i = 0; i < net->n_layers; i++) {
        const mlp_layer *l = &net->layers[i];
        float *out = i + 1 == net->n_layers ? y : buf[i % 2];
        if (n == 1 && l->block_start && l->n_out >= 8) /* narrower: dense_one's 8-wide dot product */
            row_blocked(out, in, l);
        else
            nn_dense_ranged(&net->kern, out, in, l->w, l->b, n, l->n_in, l->n_out, l->act, l->tile_range);
        in = out;
    }
    SUBNORMALS_AS_ZERO_END
}

/* each full 16-column tile's rows [lo, hi) holding its non-zero weights */
static int index_tiles(mlp_layer *l)
{
    free(l->tile_range);
    l->tile_range = NULL;
    int tiles = l->n_out / TILE_COLS;
    if (tiles == 0 || !l->w) return 0;
    if (!(l->tile_range = malloc((size_t)tiles * 2 * sizeof *l->tile_range))) return -1;
    for (int t = 0; t < tiles; t++) {
        int lo = l->n_in, hi = 0;
        for (int r = 0; r < l->n_in; r++)
            for (int j = 0; j < TILE_COLS; j++)
                if (l->w[(size_t)r * l->n_out + (size_t)(t * TILE_COLS + j)] != 0.0f) {
                    if (r < lo) lo = r;
                    hi = r + 1;
                }
        l->tile_range[2 * t] = lo < hi ? lo : 0;
        l->tile_range[2 * t + 1] = hi;
    }
    return 0;
}

/* Rebuilds l's block index from its weights. Returns 0 or -1 (memory). */
static int mlp_index_blocks(mlp_layer *l)
{
    if (index_tiles(l) != 0) return -1;
    free(l->block_start);
    free(l->block_rows);
    l->block_start = NULL;
    l->block_rows = NULL;
    size_t blocks = (size_t)l->n_out / 8;
    if (blocks == 0 || !l->w || (size_t)l->n_in * blocks > (1u << 22)) return 0; /* dense path */
    l->block_start = malloc((blocks + 1) * sizeof *l->block_start);
    l->block_rows = malloc((size_t)l->n_in * blocks * sizeof *l->block_rows);
    if (!l->block_start || !l->block_rows) return -1;
    int n = 0;
    for (size_t bi = 0; bi < blocks; bi++) {
        l->block_start[bi] = n;
        for (int r = 0; r < l->n_in; r++) {
            const float *wr = l->w + (size_t)r * l->n_out + bi * 8;
            int any = 0;
            for (int j = 0; j < 8; j++) any |= wr[j] != 0.0f;
            if (any) l->block_rows[n++] = r;
        }
    }
    l->block_start[blocks] = n;
    if ((size_t)n * 2 > (size_t)l->n_in * blocks) { /* mostly dense: the zero-skipping row path is faster */
        free(l->block_start);
        free(l->block_rows);
        l->block_start = NULL;
        l->block_rows = NULL;
    }
    return 0;
}

/* ---- the predictor -------------------------------------------------------- */

static void mlp_predict(const predictor *p, const float *x, int n, float *scratch, float *y)
{
    mlp_forward((const mlp *)p, x, n, scratch, y);
}

static size_t mlp_scratch(const predictor *p, int n) { return mlp_scratch_floats((const mlp *)p, n); }

static int mlp_prepare(predictor *p, char *err)
{
    mlp *net = (mlp *)p;
    net->kern = nn_kernels_pick();
    for (size_t i = 0; i < net->n_layers; i++)
        if (mlp_index_blocks(&net->layers[i]) != 0) return err_set(err, "out of memory");
    return 0;
}

static json_t *mlp_to_json(const predictor *p, int with_params)
{
    const mlp *net = (const mlp *)p;
    json_t *o = json_object(), *layers = json_array();
    json_object_set_new(o, "kind", json_string("mlp"));
    for (size_t i = 0; i < net->n_layers; i++) {
        const mlp_layer *l = &net->layers[i];
        json_t *lo = json_object();
        json_object_set_new(lo, "activation", json_string(activation_name(l->act)));
        if (with_params) {
            json_t *w = json_array();
            for (int r = 0; r < l->n_in; r++) {
                json_t *row = json_array();
                for (int k = 0; k < l->n_out; k++)
                    json_array_append_new(row, json_real(l->w[(size_t)r * l->n_out + k]));
                json_array_append_new(w, row);
            }
            json_object_set_new(lo, "weights", w);
            json_t *b = json_array();
            for (int k = 0; k < l->n_out; k++) json_array_append_new(b, json_real(l->b[k]));
            json_object_set_new(lo, "bias", b);
        } else {
            json_object_set_new(lo, "inputs", json_integer(l->n_in));
            json_object_set_new(lo, "units", json_integer(l->n_out));
        }
        json_array_append_new(layers, lo);
    }
    json_object_set_new(o, "layers", layers);
    return o;
}

static void mlp_hash(const predictor *p, fnv *f)
{
    const mlp *net = (const mlp *)p;
    for (size_t i = 0; i < net->n_layers; i++) {
        const mlp_layer *l = &net->layers[i];
        fnv_i64(f, l->n_in);
        fnv_i64(f, l->n_out);
        fnv_i64(f, l->act);
        fnv_floats(f, l->w, (size_t)l->n_in * l->n_out);
        fnv_floats(f, l->b, (size_t)l->n_out);
    }
}

static void mlp_describe(const predictor *p, char *buf, size_t len)
{
    const mlp *net = (const mlp *)p;
    size_t used = (size_t)snprintf(buf, len, "mlp %d", p->n_features);
    for (size_t i = 0; i < net->n_layers && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, " -> %d %s", net->layers[i].n_out,
                                 activation_name(net->layers[i].act));
}

static void mlp_free(predictor *p)
{
    mlp *net = (mlp *)p;
    for (size_t i = 0; net->layers && i < net->n_layers; i++) {
        free(net->layers[i].w);
        free(net->layers[i].b);
        free(net->layers[i].block_start);
        free(net->layers[i].block_rows);
        free(net->layers[i].tile_range);
    }
    free(net->layers);
    free(net);
}

static const predictor_ops mlp_ops = {
    "mlp",    mlp_predict,  mlp_scratch, mlp_prepare, mlp_to_json,
    mlp_hash, mlp_describe, mlp_free,    NULL /* ReLU turns inf - inf into 0 */};

mlp *mlp_create(const int *widths, const activation *acts, size_t n_layers)
{
    mlp *net = calloc(1, sizeof *net);
    if (!net) return NULL;
    net->base.ops = &mlp_ops;
    net->base.n_features = widths[0];
    net->base.n_outputs = widths[n_layers];
    net->n_layers = n_layers;
    net->kern = nn_kernels_pick();
    net->max_width = widths[0];
    if (!(net->layers = calloc(n_layers, sizeof *net->layers))) goto fail;
    for (size_t i = 0; i < n_layers; i++) {
        mlp_layer *l = &net->layers[i];
        l->n_in = widths[i];
        l->n_out = widths[i + 1];
        l->act = acts[i];
        l->w = calloc((size_t)l->n_in * l->n_out, sizeof *l->w);
        l->b = calloc((size_t)l->n_out, sizeof *l->b);
        if (!l->w || !l->b) goto fail;
        if (l->n_out > net->max_width) net->max_width = l->n_out;
    }
    return net;
fail:
    mlp_free(&net->base);
    return NULL;
}

static int read_layer(reader *r, mlp_layer *l, json_t *obj, const char *path)
{
    static const char *const acts[] = {"linear", "relu", "tanh", "sigmoid"};
    char sub[192];
    if (!json_is_object(obj)) return read_fail(r, path, "expected an object, got %s", json_type_name(obj));
    int act = read_enum(r, obj, path, "activation", acts, 4, NULL);
    if (act < 0) return -1;
    l->act = (activation)act;
    json_t *w = read_member(r, obj, path, "weights", JSON_ARRAY, "an array of rows (n_in, n_out)");
    json_t *b = w ? read_member(r, obj, path, "bias", JSON_ARRAY, "an array (n_out)") : NULL;
    if (!b) return -1;
    size_t n_in = json_array_size(w), n_out = json_array_size(b);
    if (n_in == 0 || n_in > MAX_WIDTH || n_out == 0 || n_out > MAX_WIDTH)
        return read_fail(r, path, "weights must be (n_in, n_out) with 1 <= n <= %d, got (%zu, %zu)",
                         MAX_WIDTH, n_in, n_out);
    l->n_in = (int)n_in;
    l->n_out = (int)n_out;
    l->w = malloc(n_in * n_out * sizeof *l->w);
    l->b = malloc(n_out * sizeof *l->b);
    if (!l->w || !l->b) return read_fail(r, path, "out of memory");
    for (size_t i = 0; i < n_in; i++) {
        snprintf(sub, sizeof sub, "%s.weights[%zu]", path, i);
        if (read_floats(r, json_array_get(w, i), sub, l->w + i * n_out, n_out) != 0) return -1;
    }
    snprintf(sub, sizeof sub, "%s.bias", path);
    return read_floats(r, b, sub, l->b, n_out);
}

mlp *mlp_read_layers(reader *r, json_t *layers, const char *path)
{
    char sub[96];
    size_t n = json_array_size(layers);
    if (n == 0 || n > MAX_LAYERS) {
        read_fail(r, path, "expected 1 to %d layers, got %zu", MAX_LAYERS, n);
        return NULL;
    }
    mlp *net = calloc(1, sizeof *net);
    if (!net || !(net->layers = calloc(n, sizeof *net->layers))) {
        free(net);
        read_fail(r, path, "out of memory");
        return NULL;
    }
    net->base.ops = &mlp_ops;
    net->n_layers = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        if (read_layer(r, &net->layers[i], json_array_get(layers, i), sub) != 0) goto fail;
        if (i > 0 && net->layers[i].n_in != net->layers[i - 1].n_out) {
            read_fail(r, sub, "weights: has %d rows, but its input (the previous layer's output) is %d wide",
                      net->layers[i].n_in, net->layers[i - 1].n_out);
            goto fail;
        }
    }
    net->base.n_features = net->layers[0].n_in;
    net->base.n_outputs = net->layers[n - 1].n_out;
    net->max_width = net->base.n_features;
    for (size_t i = 0; i < n; i++)
        if (net->layers[i].n_out > net->max_width) net->max_width = net->layers[i].n_out;
    return net;
fail:
    mlp_free(&net->base);
    return NULL;
}

predictor *mlp_read(reader *r, json_t *obj, const char *path)
{
    char sub[96];
    json_t *layers = read_member(r, obj, path, "layers", JSON_ARRAY, "an array");
    snprintf(sub, sizeof sub, "%s.layers", path);
    mlp *net = layers ? mlp_read_layers(r, layers, sub) : NULL;
    return net ? &net->base : NULL;
}
