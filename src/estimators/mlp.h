/* mlp — a multilayer perceptron: dense layers over row-major float matrices,
 * as a predictor (model/predictor.h), and the kernels the trainer shares.
 * Kernels are pure, output first, with their shapes in a comment; none
 * allocates. The batch kernel is compiled for several x86-64 levels; the level
 * is picked once, when a network is prepared (nn_kernels_pick), and kept in it. */
#ifndef TABSERVE_MLP_H
#define TABSERVE_MLP_H

#include <stddef.h>

#include "model/predictor.h"

typedef enum { ACT_LINEAR, ACT_RELU, ACT_TANH, ACT_SIGMOID } activation;

typedef struct {
    int n_in, n_out;
    activation act;
    float *w; /* (n_in, n_out) row-major: y = act(x @ w + b) */
    float *b; /* (n_out,) */
    /* derived by mlp prepare, for one-row forward passes: for each block of 8
     * output columns, the input rows with a non-zero weight in it (ensembles
     * merged block-diagonally are mostly zero); NULL when not worth it */
    int *block_start; /* (n_out / 8 + 1,) offsets into block_rows */
    int *block_rows;  /* (block_start[n_out / 8],) */
    /* derived by mlp prepare, for batches: for each full tile of 16 output
     * columns, the input rows [lo, hi) outside which its weights are all zero
     * (block-diagonal ensembles: a tile reads its members' inputs only) */
    int *tile_range; /* (n_out / 16, 2) */
} mlp_layer;

/* The batch kernel for this CPU: a register tile of `rows` rows by 16 columns. */
typedef void (*nn_tile_fn)(float *restrict y, const float *restrict x, const float *restrict w,
                           const float *restrict b, int lo, int hi, int n_in, int n_out);
typedef struct {
    nn_tile_fn plain, relu;
    int rows;
} nn_kernels;

nn_kernels nn_kernels_pick(void);

typedef struct {
    predictor base; /* first: a predictor* is an mlp* */
    size_t n_layers;
    mlp_layer *layers;
    int max_width; /* widest layer input or output, for scratch buffers */
    nn_kernels kern;
} mlp;

/* A network of the given widths (widths[0] inputs, then each layer's units),
 * weights zeroed, kernels picked. NULL when memory runs out. */
mlp *mlp_create(const int *widths, const activation *acts, size_t n_layers);

/* Reads an array of layers {"activation", "weights" (n_in rows of n_out), "bias"},
 * checking that each layer's input is the previous one's output. */
mlp *mlp_read_layers(reader *r, struct json_t *layers, const char *path);

/* x (n, n_in) @ w (n_in, n_out) + b (n_out,) -> y (n, n_out), then act in place. */
void nn_dense(const nn_kernels *k, float *y, const float *x, const float *w, const float *b, int n, int n_in,
              int n_out, activation act);

/* x (n, layers[0].n_in) -> y (n, last n_out), every layer with its activation.
 * scratch: mlp_scratch_floats(net, n). */
void mlp_forward(const mlp *net, const float *x, int n, float *scratch, float *y);
size_t mlp_scratch_floats(const mlp *net, int n);

const char *activation_name(activation a);
float nn_act(float z, activation act);

#endif
