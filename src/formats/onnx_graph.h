/* onnx_graph — an ONNX graph read for the interpreter (estimators/graph.h), for
 * the graphs onnx.c cannot compile onto tabserve's own feature steps and
 * predictors, and as the reference the compiled ones are checked against. Any
 * graph of the supported operators runs; the compiled form stays the fast path.
 *
 * At load the graph is checked whole: every node's inputs made by an earlier
 * node, its attributes read and checked, then two dry runs (2 and 3 rows)
 * that catch every shape or type mismatch with the node's name, before any
 * request. The model's inputs are the graph's (numbers as they are, NaN for
 * missing; a string input takes as categories the strings its encoders know,
 * anything else unknown), its answer the first float output of shape [N, k]
 * (k = 2: the second column, binary). */
#ifndef TABSERVE_ONNX_GRAPH_H
#define TABSERVE_ONNX_GRAPH_H

#include <stddef.h>

#include "formats/open.h"
#include "model/builder.h"
#include "formats/onnx_proto.h"

/* The operators either reader accepts, for messages. */
extern const char onnx_supported_operators[];

/* The model's parts (to finish: model/builder.h) running graph mp->graph, unpacked from buf;
 * NULL with err naming the node and what was wrong. name: the file, for
 * messages. */
model_builder *onnx_graph_import(const Onnx__ModelProto *mp, const char *buf, size_t len, const char *name,
                                 const import_limits *lim, char *err);

/* ONNX's backend node tests (tests/onnx_node_tests.c): the graph of mp run once
 * on whole tensors (inputs: the graph's inputs no initializer fills, in order),
 * each output compared with want (in the graph's output order) as ONNX's test
 * runner compares: floats within 1e-7 + 1e-3 |want|. Returns 1 when they agree,
 * 0 when an output differs, -1 when the graph is refused or a node fails; err
 * says which and where. */
int onnx_graph_node_test(const Onnx__ModelProto *mp, const Onnx__TensorProto *const *inputs, size_t n_in,
                         const Onnx__TensorProto *const *want, size_t n_want, char *err, size_t err_len);

#endif
