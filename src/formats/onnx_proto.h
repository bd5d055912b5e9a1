/* onnx_proto — reading values out of ONNX's protobuf messages (nodes'
 * attributes, initializer tensors), for the two ONNX readers: the compiler
 * (onnx.c) and the graph interpreter (onnx_graph.c). Every reader of an array
 * takes the largest element count it accepts (--max-tensor) and returns NULL
 * past it, on a damaged tensor, or out of memory; arrays are malloc'ed copies
 * the caller frees. Protobuf-c leaves absent strings NULL: pb_str gives "". */
#ifndef TABSERVE_ONNX_PROTO_H
#define TABSERVE_ONNX_PROTO_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"

typedef Onnx__NodeProto node_t;
typedef Onnx__AttributeProto attr_t;
typedef Onnx__TensorProto tensor_t;

static inline const char *pb_str(const char *s) { return s ? s : ""; }

const attr_t *pb_attr(const node_t *n, const char *name);
int64_t pb_attr_int(const node_t *n, const char *name, int64_t dflt);
float pb_attr_float(const node_t *n, const char *name, float dflt);
/* A string attribute, as a NUL-terminated copy in buf (cut to len - 1 bytes). */
const char *pb_attr_string(const node_t *n, const char *name, char *buf, size_t len, const char *dflt);
/* Float values of an attribute: its floats, or its *_as_tensor form. */
float *pb_attr_floats(long max, const node_t *n, const char *name, size_t *count);

/* A TreeEnsembleClassifier's or Regressor's attributes, looked up: nodes_* (missing
 * may be absent or empty), and the leaf lists class_* or target_*. */
typedef struct {
    const attr_t *tree, *node, *feature, *mode, *yes, *no, *missing;
    const attr_t *l_tree, *l_node, *l_id;
    size_t n_nodes, n_leaves;
    char weights[24]; /* the weights' attribute: "class_weights" or "target_weights" */
} pb_trees;
/* 0, or -1 when one is missing, the lists differ in length, or there are no
 * nodes or more than max. */
int pb_tree_attrs(const node_t *n, int classifier, long max, pb_trees *t);

/* The column count of a graph input declared [N, ?], as the nodes that read
 * it fix it (tree feature ids, a MatMul's or linear model's weights): 0 when
 * no node says, -1 when they disagree. */
int64_t pb_input_width(const Onnx__GraphProto *g, const char *input);

/* The initializer named name, or NULL. */
const tensor_t *pb_initializer(const Onnx__GraphProto *g, const char *name);
/* Elements of a tensor by its dims; -1 when a dim is negative or the count passes max. */
long pb_tensor_count(long max, const tensor_t *t);
/* A FLOAT or DOUBLE tensor as floats. */
float *pb_tensor_floats(long max, const tensor_t *t, size_t *count);
/* An INT64 tensor. */
int64_t *pb_tensor_ints(const tensor_t *t, size_t *count);
/* The integers of an integer tensor of any width, signed or not, as int64 (Gather's indexes,
 * Reshape's shape, the interpreter's integer constants); NULL for another type. */
int64_t *pb_tensor_indexes(const tensor_t *t, size_t *count);
/* The bit patterns of a tensor of count elements of `bits` bits each (16: float16,
 * bfloat16; 8: the float8s; 4: int4, uint4, float4e2m1; 2: int2, uint2), from
 * raw_data (packed little-endian, the low bits first) or int32_data (one
 * element each, or one packed byte each). NULL when neither holds count. */
uint32_t *pb_tensor_bits(const tensor_t *t, int bits, size_t count);
/* A BOOL tensor, one byte per value. */
uint8_t *pb_tensor_bools(const tensor_t *t, size_t *count);

#endif
