/* graph — an ONNX graph run as it is written, node by node on tensors: the
 * predictor of the graphs formats/onnx.c cannot compile onto tabserve's own
 * feature steps and predictors (arithmetic between computed tensors, a
 * condition computed from the data, two estimators blended, a Softmax in the
 * middle, ...), and the reference that every compiled ONNX model is checked
 * against at load. formats/onnx_graph.c reads a file into it; its parts are
 * private to the two (graph_impl.h). */
#ifndef TABSERVE_GRAPH_H
#define TABSERVE_GRAPH_H

#include "model/predictor.h"

/* Whether p is the graph interpreter (else the graph was compiled onto tabserve's estimators). */
int onnx_graph_is(const predictor *p);

#endif
